//! The AWS driver: VPC networking, RDS PostgreSQL, IAM roles and EKS, each
//! created with ownership tags so a rerun finds what an interrupted run
//! made, and deleted only when it carries them.
//!
//! Dispatch by kind lives here; each family has its own module. SDK error
//! types are known only to [`error`].

pub mod blocked;
pub mod database;
pub mod eks;
pub mod error;
pub mod existing;
pub mod gateways;
pub mod handoff;
pub mod iam;
pub mod network;
pub mod network_delete;
pub mod nodegroup;
pub mod outputs;
pub mod password;
pub mod routing;
pub mod token;

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig};
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use serde_json::{Map, Value};

use crate::plan::driver::{Context, Driver, DriverError, Lookup, Observed, diff_props};
use crate::plan::{FieldChange, Resource};
use crate::spec::{Spec, Timeouts};

use crate::wait;
pub use crate::wait::Backoff;

/// Tag naming the installation that owns a resource.
pub const TAG_INSTALLATION: &str = "liftoff.dev/installation";
/// An observed-only prop: `false` while a resource that is waited for
/// (NAT gateway, database, cluster, node group) is not ready yet, so a rerun
/// after an interrupted wait plans an update that waits again.
pub const NOT_READY: &str = "ready";

/// Tag naming the resource's address in the plan.
pub const TAG_ADDRESS: &str = "liftoff.dev/address";

/// How the AWS driver is set up for one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub installation: String,
    pub region: String,
    /// Where the state file lives; generated secrets are kept beside it.
    pub state_dir: PathBuf,
    pub timeouts: Timeouts,
    /// Extra tags from `metadata.tags`, set on every resource.
    pub tags: BTreeMap<String, String>,
    /// `destroy --skip-final-snapshot`.
    pub skip_final_snapshot: bool,
    pub backoff: Backoff,
}

impl Options {
    pub fn from_spec(spec: &Spec, state_dir: PathBuf, skip_final_snapshot: bool) -> Self {
        Options {
            installation: spec.metadata.name.clone(),
            region: spec
                .cloud
                .region
                .clone()
                .unwrap_or_else(|| "us-east-1".into()),
            state_dir,
            timeouts: spec.timeouts.clone(),
            tags: spec.metadata.tags.clone(),
            skip_final_snapshot,
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
        t.push((TAG_INSTALLATION.into(), self.installation.clone()));
        t.push((TAG_ADDRESS.into(), address.into()));
        t.push(("Name".into(), name.into()));
        t
    }

    /// Whether tags (as key/value pairs) mark a resource as ours at `address`.
    pub fn owns<'a>(
        &self,
        address: &str,
        mut tags: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> bool {
        let (mut inst, mut addr) = (false, false);
        for (k, v) in tags.by_ref() {
            inst |= k == TAG_INSTALLATION && v == self.installation;
            addr |= k == TAG_ADDRESS && v == address;
        }
        inst && addr
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
    aws_config::defaults(BehaviorVersion::latest())
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

/// A driver and its options, handed to every module function.
pub struct Aws {
    pub opts: Options,
    pub c: Clients,
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
                }
            })
            .await
    }
}

async fn read_once(a: &Aws, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    match l.kind {
        "aws.vpc" | "aws.internet_gateway" | "aws.subnet" => network::read(a, l).await,
        "aws.eip" | "aws.nat" => gateways::read(a, l).await,
        "aws.route_table" | "aws.security_group" => routing::read(a, l).await,
        "aws.db_subnet_group" | "aws.database" => database::read(a, l).await,
        "aws.iam_role" => iam::read(a, l).await,
        "aws.eks_cluster" => eks::read(a, l).await,
        "aws.eks_nodegroup" => nodegroup::read(a, l).await,
        k => Err(unknown(k)),
    }
}

fn unknown(kind: &str) -> DriverError {
    DriverError::permanent(format!("the AWS driver does not handle `{kind}`"))
}

#[async_trait]
impl Driver for AwsDriver {
    async fn read(&self, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
        let a = self.aws().await;
        wait::retry(a.opts.backoff, || read_once(a, l)).await
    }

    fn diff(&self, desired: &Resource, observed: &Observed) -> Vec<FieldChange> {
        let immutable: &[&str] = match desired.kind.as_str() {
            "aws.vpc" => &["cidr"],
            "aws.subnet" => &["cidr", "zone"],
            "aws.security_group" => &["description"],
            "aws.database" => &["engine"],
            "aws.iam_role" => &["service"],
            "aws.eks_nodegroup" => &["instanceTypes", "diskGb"],
            "aws.eks_cluster" => &["serviceCidr"],
            _ => &[],
        };
        let mut fields = diff_props(&desired.props, &observed.props, immutable);
        if observed.props.get(NOT_READY) == Some(&Value::Bool(false)) {
            fields.push(FieldChange {
                field: NOT_READY.into(),
                from: Value::Bool(false),
                to: Value::Bool(true),
                forces_replace: false,
            });
        }
        fields
    }

    async fn create(&self, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
        let a = self.aws().await;
        match r.kind.as_str() {
            "aws.vpc" | "aws.internet_gateway" | "aws.subnet" => network::create(a, r, ctx).await,
            "aws.eip" | "aws.nat" => gateways::create(a, r, ctx).await,
            "aws.route_table" | "aws.security_group" => routing::create(a, r, ctx).await,
            "aws.db_subnet_group" | "aws.database" => database::create(a, r, ctx).await,
            "aws.iam_role" => iam::create(a, r, ctx).await,
            "aws.eks_cluster" => eks::create(a, r, ctx).await,
            "aws.eks_nodegroup" => nodegroup::create(a, r, ctx).await,
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
        match r.kind.as_str() {
            "aws.vpc" | "aws.internet_gateway" | "aws.subnet" => {
                network::update(a, r, o, ctx).await
            }
            "aws.route_table" | "aws.security_group" => routing::update(a, r, o, ctx).await,
            "aws.nat" => gateways::update(a, r, o, ctx).await,
            "aws.db_subnet_group" | "aws.database" => database::update(a, r, o, ctx).await,
            "aws.iam_role" => iam::update(a, r, o, ctx).await,
            "aws.eks_cluster" => eks::update(a, r, o, ctx).await,
            "aws.eks_nodegroup" => nodegroup::update(a, r, o, ctx).await,
            k => Err(DriverError::permanent(format!(
                "`{k}` ({}) cannot be changed in place",
                r.address
            ))
            .with_hint("change the spec back, or destroy and reinstall")),
        }
    }

    async fn delete(&self, kind: &str, o: &Observed, ctx: &Context<'_>) -> Result<(), DriverError> {
        let a = self.aws().await;
        match kind {
            "aws.vpc" | "aws.internet_gateway" | "aws.subnet" => {
                network_delete::delete(a, kind, o, ctx).await
            }
            "aws.eip" | "aws.nat" => gateways::delete(a, kind, o, ctx).await,
            "aws.route_table" | "aws.security_group" => routing::delete(a, kind, o, ctx).await,
            "aws.db_subnet_group" | "aws.database" => database::delete(a, kind, o, ctx).await,
            "aws.iam_role" => iam::delete(a, o).await,
            "aws.eks_cluster" => eks::delete(a, o, ctx).await,
            "aws.eks_nodegroup" => nodegroup::delete(a, o, ctx).await,
            k => Err(unknown(k)),
        }
    }
}

// ---- small helpers shared by the modules ----

/// EC2 tags for a create, as a TagSpecification of `rt`.
pub fn tag_spec(rt: ResourceType, tags: &[(String, String)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// EC2 tags as key/value pairs.
/// Records a just-created object (before anything else can go wrong), then
/// brings in line what the create call could not set, and reports it with
/// the desired props.
pub async fn record_then_converge(
    r: &Resource,
    ctx: &Context<'_>,
    id: String,
    outputs: Value,
    converge: impl AsyncFnOnce(&Observed) -> Result<(), DriverError>,
) -> Result<Observed, DriverError> {
    ctx.recorder.created(&id, outputs.clone()).await?;
    let o = Observed {
        id,
        props: Value::Null,
        outputs,
    };
    converged(r, &o, converge).await
}

/// Brings an existing object in line and reports it with the desired props.
pub async fn converged(
    r: &Resource,
    o: &Observed,
    converge: impl AsyncFnOnce(&Observed) -> Result<(), DriverError>,
) -> Result<Observed, DriverError> {
    converge(o).await?;
    Ok(Observed {
        props: r.props.clone(),
        ..o.clone()
    })
}

/// Of the EC2 objects that carry `l`'s ownership tags, the one the state
/// recorded when it is among them, else the first.
pub fn pick_owned<'t, T>(
    a: &Aws,
    l: &Lookup<'_>,
    items: &'t [T],
    tags: impl Fn(&T) -> &[Tag],
    id: impl Fn(&T) -> Option<&str>,
) -> Option<&'t T> {
    let mut owned = items
        .iter()
        .filter(|x| a.opts.owns(l.address.as_str(), ec2_pairs(tags(x))));
    let first = owned.next()?;
    let recorded = recorded_id(l);
    Some(
        std::iter::once(first)
            .chain(owned)
            .find(|x| recorded.is_some() && id(x) == recorded)
            .unwrap_or(first),
    )
}

pub fn ec2_pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
}

/// A string prop.
pub fn prop<'a>(r: &'a Resource, key: &str) -> Result<&'a str, DriverError> {
    r.props
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| DriverError::permanent(format!("{}: prop `{key}` is missing", r.address)))
}

/// The id of the resource whose address is the string prop `key`.
pub fn dep_id(r: &Resource, ctx: &Context<'_>, key: &str) -> Result<String, DriverError> {
    let addr = prop(r, key)?;
    id_of(ctx, addr)
}

/// The `id` output of a dependency, or the value itself when it is already
/// an AWS id (existing networks pass subnet ids directly).
pub fn id_of(ctx: &Context<'_>, value: &str) -> Result<String, DriverError> {
    if !value.starts_with("aws.") {
        return Ok(value.to_string());
    }
    ctx.dep_output(value, "id")?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| DriverError::permanent(format!("{value} has no id")))
}

/// The ids behind a prop that lists addresses (or raw ids).
pub fn dep_ids(r: &Resource, ctx: &Context<'_>, key: &str) -> Result<Vec<String>, DriverError> {
    r.props
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|v| id_of(ctx, v))
        .collect()
}

/// What a read starts from: the desired props (or the recorded ones) as an
/// object. Fields that name other resources by address cannot be observed
/// back as addresses and are carried over; every field AWS reports is
/// overwritten with what AWS says.
pub fn base_props(l: &Lookup<'_>) -> Map<String, Value> {
    l.props
        .or(l.recorded.map(|e| &e.props))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The recorded id, when there is one.
pub fn recorded_id<'a>(l: &'a Lookup<'_>) -> Option<&'a str> {
    l.recorded.and_then(|e| e.id.as_deref())
}
