//! The driver registered for `gcp.*`: its options for a run, the SDK clients
//! (made on first use, after liftoff's rustls provider is installed, with
//! Application Default Credentials and every endpoint overridable) and
//! dispatch of every call by kind to the module of that family.

use async_trait::async_trait;
use google_cloud_auth::credentials::{AccessTokenCredentials, Credentials};

use super::kind::*;
use super::{changes, error, gke, network, router, services, sql};
use crate::plan::driver::{Context, Driver, DriverError, Lookup, Observed};
use crate::plan::{FieldChange, Resource};
use crate::spec::{Spec, Timeouts};
use crate::wait::{self, Backoff};

/// How the GCP driver is set up for one run.
#[derive(Debug, Clone)]
pub struct Options {
    pub installation: String,
    pub project: String,
    pub region: String,
    /// Where the generated database password is kept.
    pub secrets: std::sync::Arc<dyn crate::secret::Vault>,
    pub timeouts: Timeouts,
    pub backoff: Backoff,
    /// `upgrade --kubernetes`: the Kubernetes version of the cluster and its
    /// node pools may change in place (forward only).
    pub kubernetes_upgrade: bool,
}

impl Options {
    pub fn from_spec(spec: &Spec, secrets: std::sync::Arc<dyn crate::secret::Vault>) -> Self {
        Options {
            installation: spec.metadata.name.clone(),
            project: super::names::project(spec),
            region: super::names::region(spec),
            secrets,
            timeouts: spec.timeouts.clone(),
            backoff: Backoff::from_env(),
            kubernetes_upgrade: false,
        }
    }
}

/// Where a Google API is reached: `LIFTOFF_GCP_<SERVICE>_ENDPOINT`, else
/// `LIFTOFF_GCP_ENDPOINT` (one server for all, e.g. a test fake), else
/// Google's.
pub fn endpoint(service: &str, default: &str) -> String {
    let key = format!("LIFTOFF_GCP_{}_ENDPOINT", service.to_ascii_uppercase());
    std::env::var(key)
        .or_else(|_| std::env::var("LIFTOFF_GCP_ENDPOINT"))
        .map(|e| e.trim_end_matches('/').to_string())
        .unwrap_or_else(|_| default.to_string())
}

/// Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the
/// gcloud file, or the metadata server), as a token source.
pub fn credentials() -> Result<AccessTokenCredentials, DriverError> {
    // The GCP crates are built without their own rustls provider: ours
    // (ring) must be installed before any of their clients is made.
    let _ = rustls::crypto::ring::default_provider().install_default();
    google_cloud_auth::credentials::Builder::default()
        .build_access_token_credentials()
        .map_err(error::credentials)
}

/// The SDK clients.
pub struct Clients {
    pub token: AccessTokenCredentials,
    pub container: google_cloud_container_v1::client::ClusterManager,
    pub networks: google_cloud_compute_v1::client::Networks,
    pub subnetworks: google_cloud_compute_v1::client::Subnetworks,
    pub firewalls: google_cloud_compute_v1::client::Firewalls,
    pub routers: google_cloud_compute_v1::client::Routers,
    pub addresses: google_cloud_compute_v1::client::Addresses,
    pub global_addresses: google_cloud_compute_v1::client::GlobalAddresses,
    pub sql: google_cloud_sql_v1::client::SqlInstancesService,
    pub sql_operations: google_cloud_sql_v1::client::SqlOperationsService,
    pub sql_backup_runs: google_cloud_sql_v1::client::SqlBackupRunsService,
    /// For Service Networking, which has no crate.
    pub http: reqwest::Client,
    pub service_networking: String,
}

macro_rules! build {
    ($client:ty, $service:literal, $default:literal, $creds:expr) => {
        <$client>::builder()
            .with_endpoint(endpoint($service, $default))
            .with_credentials($creds.clone())
            .build()
            .await
            .map_err(|e| error::client($service, e))?
    };
}

impl Clients {
    pub async fn new() -> Result<Self, DriverError> {
        let token = credentials()?;
        let creds: Credentials = token.clone().into();
        use google_cloud_compute_v1::client as compute;
        Ok(Clients {
            container: build!(
                google_cloud_container_v1::client::ClusterManager,
                "container",
                "https://container.googleapis.com",
                creds
            ),
            networks: build!(
                compute::Networks,
                "compute",
                "https://compute.googleapis.com",
                creds
            ),
            subnetworks: build!(
                compute::Subnetworks,
                "compute",
                "https://compute.googleapis.com",
                creds
            ),
            firewalls: build!(
                compute::Firewalls,
                "compute",
                "https://compute.googleapis.com",
                creds
            ),
            routers: build!(
                compute::Routers,
                "compute",
                "https://compute.googleapis.com",
                creds
            ),
            addresses: build!(
                compute::Addresses,
                "compute",
                "https://compute.googleapis.com",
                creds
            ),
            global_addresses: build!(
                compute::GlobalAddresses,
                "compute",
                "https://compute.googleapis.com",
                creds
            ),
            sql: build!(
                google_cloud_sql_v1::client::SqlInstancesService,
                "sqladmin",
                "https://sqladmin.googleapis.com",
                creds
            ),
            sql_operations: build!(
                google_cloud_sql_v1::client::SqlOperationsService,
                "sqladmin",
                "https://sqladmin.googleapis.com",
                creds
            ),
            sql_backup_runs: build!(
                google_cloud_sql_v1::client::SqlBackupRunsService,
                "sqladmin",
                "https://sqladmin.googleapis.com",
                creds
            ),
            http: reqwest::Client::builder()
                .build()
                .map_err(|e| error::client("servicenetworking", e))?,
            service_networking: endpoint(
                "servicenetworking",
                "https://servicenetworking.googleapis.com",
            ),
            token,
        })
    }
}

/// A driver's options and clients, handed to every module function.
pub struct Gcp {
    pub opts: Options,
    pub c: Clients,
}

impl Gcp {
    /// `projects/<project>`.
    pub fn project_path(&self) -> String {
        format!("projects/{}", self.opts.project)
    }

    /// A deadline from `timeouts.<key>`.
    pub fn limit(&self, key: &str) -> std::time::Duration {
        let t = &self.opts.timeouts;
        let text = match key {
            "cluster" => &t.cluster,
            "nodeGroup" => &t.node_group,
            "database" => &t.database,
            _ => &t.nat,
        };
        wait::deadline(text, std::time::Duration::from_secs(600))
    }
}

/// The driver registered for `gcp.*`.
pub struct GcpDriver {
    opts: Options,
    gcp: tokio::sync::OnceCell<Gcp>,
}

impl GcpDriver {
    pub fn new(opts: Options) -> Self {
        GcpDriver {
            opts,
            gcp: tokio::sync::OnceCell::new(),
        }
    }

    pub(crate) async fn gcp(&self) -> Result<&Gcp, DriverError> {
        self.gcp
            .get_or_try_init(|| async {
                Ok(Gcp {
                    opts: self.opts.clone(),
                    c: Clients::new().await?,
                })
            })
            .await
    }
}

pub(super) fn unknown(kind: &str) -> DriverError {
    DriverError::permanent(format!("the GCP driver does not handle `{kind}`"))
}

async fn read_once(g: &Gcp, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    match l.kind {
        NETWORK | SUBNETWORK | FIREWALL => network::read(g, l).await,
        ROUTER | NAT_ADDRESS | NAT => router::read(g, l).await,
        SERVICES_RANGE | SERVICES_CONNECTION => services::read(g, l).await,
        SQL_INSTANCE => sql::read(g, l).await,
        GKE_CLUSTER | NODE_POOL => gke::read(g, l).await,
        k => Err(unknown(k)),
    }
}

#[async_trait]
impl Driver for GcpDriver {
    async fn read(&self, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
        let g = self.gcp().await?;
        wait::retry(g.opts.backoff, || read_once(g, l)).await
    }

    fn diff(&self, desired: &Resource, observed: &Observed) -> Vec<FieldChange> {
        changes::diff_for(desired, observed, self.opts.kubernetes_upgrade)
    }

    async fn create(&self, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
        let g = self.gcp().await?;
        match r.kind.as_str() {
            NETWORK | SUBNETWORK | FIREWALL => network::create(g, r, ctx).await,
            ROUTER | NAT_ADDRESS | NAT => router::create(g, r, ctx).await,
            SERVICES_RANGE | SERVICES_CONNECTION => services::create(g, r, ctx).await,
            SQL_INSTANCE => sql::create(g, r, ctx).await,
            GKE_CLUSTER | NODE_POOL => gke::create(g, r, ctx).await,
            k => Err(unknown(k)),
        }
    }

    async fn update(
        &self,
        r: &Resource,
        o: &Observed,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        let g = self.gcp().await?;
        match r.kind.as_str() {
            SQL_INSTANCE => sql::update(g, r, o, ctx).await,
            GKE_CLUSTER | NODE_POOL => gke::update(g, r, o, ctx).await,
            k => Err(DriverError::permanent(format!(
                "`{k}` ({}) cannot be changed in place",
                r.address
            ))
            .with_hint("change the spec back, or destroy and reinstall")),
        }
    }

    async fn delete(&self, kind: &str, o: &Observed, ctx: &Context<'_>) -> Result<(), DriverError> {
        let g = self.gcp().await?;
        match kind {
            NETWORK | SUBNETWORK | FIREWALL => network::delete(g, kind, o, ctx).await,
            ROUTER | NAT_ADDRESS | NAT => router::delete(g, kind, o, ctx).await,
            SERVICES_RANGE | SERVICES_CONNECTION => services::delete(g, kind, o, ctx).await,
            SQL_INSTANCE => sql::delete(g, o, ctx).await,
            GKE_CLUSTER | NODE_POOL => gke::delete(g, kind, o, ctx).await,
            k => Err(unknown(k)),
        }
    }
}
