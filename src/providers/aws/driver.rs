//! The driver registered for `aws.*`: its options for a run, the SDK
//! clients (made on first use) and dispatch of every call by kind to the
//! module of that family.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};

use super::kind::*;
use super::ownership::Tags;
use super::{
    access, changes, database, eks, gateways, iam, launch_template, network, network_delete,
    nodegroup, routing,
};
use crate::plan::driver::{Context, Driver, DriverError, Found, Lookup, Observed};
use crate::plan::{FieldChange, Resource};
use crate::providers::Ownership;
use crate::spec::{Spec, Timeouts};
use crate::wait::{self, Backoff};

/// An observed-only prop: `false` while a resource that is waited for
/// (NAT gateway, database, cluster, node group) is not ready yet, so a rerun
/// after an interrupted wait plans an update that waits again.
pub const NOT_READY: &str = "ready";

/// How long AWS usually takes to make or delete what liftoff waits for:
/// the polls of each wait are fitted to it ([`wait::until_fitted`]).
pub mod expected {
    use std::time::Duration;

    pub const NAT: Duration = Duration::from_secs(72);
    pub const DATABASE: Duration = Duration::from_secs(360);
    pub const CLUSTER: Duration = Duration::from_secs(600);
    pub const NODE_GROUP: Duration = Duration::from_secs(240);
    pub const NAT_DELETE: Duration = Duration::from_secs(60);
    pub const DATABASE_DELETE: Duration = Duration::from_secs(120);
    pub const CLUSTER_DELETE: Duration = Duration::from_secs(180);
    pub const NODE_GROUP_DELETE: Duration = Duration::from_secs(120);
}

/// How the AWS driver is set up for one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub installation: String,
    pub region: String,
    /// Where generated secrets (the database password) are kept.
    pub secrets: std::sync::Arc<dyn crate::secret::Vault>,
    pub timeouts: Timeouts,
    /// Extra tags from `metadata.tags`, set on every resource.
    pub tags: BTreeMap<String, String>,
    /// `destroy --skip-final-snapshot`.
    pub skip_final_snapshot: bool,
    /// `upgrade --kubernetes`: version changes are made in place.
    pub kubernetes_upgrade: bool,
    pub backoff: Backoff,
}

impl Options {
    pub fn from_spec(
        spec: &Spec,
        secrets: std::sync::Arc<dyn crate::secret::Vault>,
        skip_final_snapshot: bool,
    ) -> Self {
        Options {
            installation: spec.metadata.name.clone(),
            region: spec
                .cloud
                .region
                .clone()
                .unwrap_or_else(|| "us-east-1".into()),
            secrets,
            timeouts: spec.timeouts.clone(),
            tags: spec.metadata.tags.clone(),
            skip_final_snapshot,
            kubernetes_upgrade: false,
            backoff: Backoff::from_env(),
        }
    }

    /// Every tag a resource gets at create: the ownership pair, `Name`, and
    /// the spec's own tags.
    pub fn tags(&self, address: &str, name: &str) -> Vec<(String, String)> {
        let mut t: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        t.extend(Tags.marks(&self.installation, address));
        t.push(("Name".into(), name.into()));
        t
    }

    /// The tags of an EC2 create: [`Options::tags`] and the attempt's token,
    /// which tells the copies one attempt left apart from another's.
    pub fn create_tags(&self, address: &str, name: &str, attempt: &str) -> Vec<(String, String)> {
        let mut t = self.tags(address, name);
        t.push((super::TAG_ATTEMPT.into(), attempt.into()));
        t
    }

    /// Whether tags (as key/value pairs) mark a resource as ours at `address`.
    pub fn owns<'a>(
        &self,
        address: &str,
        mut tags: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> bool {
        Tags.owns(&self.installation, address, &mut tags)
    }
}

/// The SDK clients, made on first use.
pub struct Clients {
    pub sdk: SdkConfig,
    pub ec2: aws_sdk_ec2::Client,
    pub rds: aws_sdk_rds::Client,
    pub eks: aws_sdk_eks::Client,
    pub iam: aws_sdk_iam::Client,
}

/// Loads the AWS configuration (credentials chain, `AWS_ENDPOINT_URL`, …)
/// for `region`. The SDK retries throttling itself a few times, starting
/// from the same base delay as our polls.
pub async fn sdk_config(region: &str, backoff: Backoff) -> SdkConfig {
    config_loader()
        .region(Region::new(region.to_string()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(backoff.base)
                .with_max_backoff(backoff.cap),
        )
        .load()
        .await
}

/// The SDK's configuration loader with liftoff's HTTPS client (rustls on
/// ring; the SDK's default client would compile aws-lc-rs in as well).
/// Every AWS client liftoff makes starts here.
pub fn config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client())
}

/// The HTTPS client every AWS SDK client uses: rustls with ring.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A driver and its options, handed to every module function.
pub struct Aws {
    pub opts: Options,
    pub c: Clients,
    /// Describe answers the reads of a plan share.
    pub reads: super::reads::Reads,
}

/// The driver registered for `aws.*`.
pub struct AwsDriver {
    opts: Options,
    aws: tokio::sync::OnceCell<Aws>,
}

impl AwsDriver {
    pub fn new(opts: Options) -> Self {
        AwsDriver {
            opts,
            aws: tokio::sync::OnceCell::new(),
        }
    }

    pub(crate) async fn aws(&self) -> &Aws {
        self.aws
            .get_or_init(|| async {
                let sdk = sdk_config(&self.opts.region, self.opts.backoff).await;
                Aws {
                    opts: self.opts.clone(),
                    c: Clients {
                        ec2: aws_sdk_ec2::Client::new(&sdk),
                        rds: aws_sdk_rds::Client::new(&sdk),
                        eks: aws_sdk_eks::Client::new(&sdk),
                        iam: aws_sdk_iam::Client::new(&sdk),
                        sdk,
                    },
                    reads: super::reads::Reads::default(),
                }
            })
            .await
    }
}

/// Every tagged copy for the address: EC2 kinds can have several (a create
/// without a token that AWS applied and the SDK retried); RDS, IAM and EKS
/// names are unique, so those have at most one.
async fn read_once(a: &Aws, l: &Lookup<'_>) -> Result<Found, DriverError> {
    let single = Found::single;
    match l.kind {
        VPC | INTERNET_GATEWAY | SUBNET => network::read(a, l).await,
        EIP | NAT => gateways::read(a, l).await,
        ROUTE_TABLE | SECURITY_GROUP => routing::read(a, l).await,
        DB_SUBNET_GROUP | DATABASE => database::read(a, l).await.map(single),
        IAM_ROLE => iam::read(a, l).await.map(single),
        EKS_CLUSTER => eks::read(a, l).await.map(single),
        EKS_NODEGROUP => nodegroup::read(a, l).await.map(single),
        LAUNCH_TEMPLATE => launch_template::read(a, l).await,
        DATABASE_ACCESS => access::read(a, l).await.map(single),
        k => Err(unknown(k)),
    }
}

/// Moves the shared reads' generation on when a change ends (however it
/// ends), as its start did: a read made meanwhile is stale after it.
struct Changed<'a>(&'a Aws);

impl Drop for Changed<'_> {
    fn drop(&mut self) {
        self.0.reads.changed();
    }
}

pub(super) fn unknown(kind: &str) -> DriverError {
    DriverError::permanent(format!("the AWS driver does not handle `{kind}`"))
}

#[async_trait]
impl Driver for AwsDriver {
    async fn read(&self, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
        Ok(self.read_copies(l).await?.kept)
    }

    async fn read_copies(&self, l: &Lookup<'_>) -> Result<Found, DriverError> {
        let a = self.aws().await;
        wait::retry(a.opts.backoff, || read_once(a, l)).await
    }

    async fn strays(
        &self,
        _installation: &str,
        known: &[crate::plan::Address],
    ) -> Result<Vec<crate::plan::driver::Stray>, DriverError> {
        let a = self.aws().await;
        wait::retry(a.opts.backoff, || super::leftovers::strays(a, known)).await
    }

    fn diff(&self, desired: &Resource, observed: &Observed) -> Vec<FieldChange> {
        changes::diff_for(desired, observed, self.opts.kubernetes_upgrade)
    }

    async fn create(&self, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
        let a = self.aws().await;
        a.reads.changed();
        let _after = Changed(a);
        match r.kind.as_str() {
            VPC | INTERNET_GATEWAY | SUBNET => network::create(a, r, ctx).await,
            EIP | NAT => gateways::create(a, r, ctx).await,
            ROUTE_TABLE | SECURITY_GROUP => routing::create(a, r, ctx).await,
            DB_SUBNET_GROUP | DATABASE => database::create(a, r, ctx).await,
            IAM_ROLE => iam::create(a, r, ctx).await,
            EKS_CLUSTER => eks::create(a, r, ctx).await,
            EKS_NODEGROUP => nodegroup::create(a, r, ctx).await,
            LAUNCH_TEMPLATE => launch_template::create(a, r, ctx).await,
            DATABASE_ACCESS => access::create(a, r, ctx).await,
            k => Err(unknown(k)),
        }
    }

    async fn update(
        &self,
        r: &Resource,
        o: &Observed,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        let a = self.aws().await;
        a.reads.changed();
        let _after = Changed(a);
        match r.kind.as_str() {
            VPC | INTERNET_GATEWAY | SUBNET => network::update(a, r, o, ctx).await,
            ROUTE_TABLE | SECURITY_GROUP => routing::update(a, r, o, ctx).await,
            NAT => gateways::update(a, r, o, ctx).await,
            DB_SUBNET_GROUP | DATABASE => database::update(a, r, o, ctx).await,
            IAM_ROLE => iam::update(a, r, o, ctx).await,
            EKS_CLUSTER => eks::update(a, r, o, ctx).await,
            EKS_NODEGROUP => nodegroup::update(a, r, o, ctx).await,
            LAUNCH_TEMPLATE => launch_template::update(a, r, o, ctx).await,
            k => Err(DriverError::permanent(format!(
                "`{k}` ({}) cannot be changed in place",
                r.address
            ))
            .with_hint("change the spec back, or destroy and reinstall")),
        }
    }

    async fn delete(&self, kind: &str, o: &Observed, ctx: &Context<'_>) -> Result<(), DriverError> {
        let a = self.aws().await;
        a.reads.changed();
        let _after = Changed(a);
        match kind {
            VPC | INTERNET_GATEWAY | SUBNET => network_delete::delete(a, kind, o, ctx).await,
            EIP | NAT => gateways::delete(a, kind, o, ctx).await,
            ROUTE_TABLE | SECURITY_GROUP => routing::delete(a, kind, o, ctx).await,
            DB_SUBNET_GROUP | DATABASE => database::delete(a, kind, o, ctx).await,
            IAM_ROLE => iam::delete(a, o).await,
            EKS_CLUSTER => eks::delete(a, o, ctx).await,
            EKS_NODEGROUP => nodegroup::delete(a, o, ctx).await,
            LAUNCH_TEMPLATE => launch_template::delete(a, o).await,
            DATABASE_ACCESS => access::delete(a, o).await,
            k => Err(unknown(k)),
        }
    }
}
