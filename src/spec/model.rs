//! The typed installation spec: what the user asks for, after profile merge.
//!
//! Field names are the YAML keys (camelCase). Everything a profile can
//! supply is optional or defaulted here; [`super::validate`] decides what a
//! given combination requires.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub const API_VERSION: &str = "liftoff.dev/v1";
pub const KIND: &str = "Installation";

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    /// The profile this spec builds on: a built-in name or a file path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub cloud: Cloud,
    #[serde(default)]
    pub network: Option<Network>,
    #[serde(default)]
    pub database: Option<Database>,
    pub cluster: Cluster,
    pub platform: Platform,
    #[serde(default)]
    pub dns: Option<Dns>,
    #[serde(default)]
    pub airgap: Option<Airgap>,
    /// Settings only Google Cloud has (ranges, NAT addresses, GKE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<Gcp>,
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Where the state, its lock and liftoff's secret files live
    /// (docs/state.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateSpec>,
}

/// `state:`: the backend that keeps the state.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StateSpec {
    #[serde(default)]
    pub backend: StateBackend,
    /// s3 | gcs: the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// s3 | gcs: the folder inside the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// s3: the bucket's region (default: the AWS chain's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// s3: a KMS key id or ARN for the secret objects (SSE-KMS; default
    /// SSE-S3). gcs: a Cloud KMS key name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    /// gcs: another endpoint than storage.googleapis.com (called without
    /// credentials, as `STORAGE_EMULATOR_HOST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// local: the folder (default `.liftoff` next to the spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<String>,
    /// s3 | gcs: how long a lock lasts without renewal (renewed every third
    /// of it while liftoff runs), as `90s`, `2m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_lease: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum StateBackend {
    #[default]
    Local,
    S3,
    Gcs,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Installation name: prefixes cloud resource names and ownership tags.
    pub name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// A throwaway trial install: the only kind besides the sandbox that
    /// may use a self-signed certificate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trial: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    Aws,
    Gcp,
    /// No cloud phase: the user brings a cluster (and database).
    Existing,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cloud {
    pub provider: Provider,
    #[serde(default)]
    pub region: Option<String>,
    /// Zones to spread over; when empty, the first `network.zoneCount` zones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// GCP project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// liftoff creates and owns it.
    #[default]
    Create,
    /// It exists already; liftoff validates and uses it, never changes it.
    Existing,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NatMode {
    None,
    #[default]
    Single,
    PerZone,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    #[serde(default)]
    pub mode: Mode,
    /// VPC CIDR when created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<String>,
    #[serde(default = "default_zone_count")]
    pub zone_count: u8,
    #[serde(default)]
    pub nat: NatMode,
    /// Existing VPC (AWS) or network (GCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub private_subnet_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_subnet_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub database_subnet_ids: Vec<String>,
    /// Existing private subnets reach AWS through VPC endpoints, not a NAT.
    #[serde(default)]
    pub private_only: bool,
}

fn default_zone_count() -> u8 {
    3
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    #[serde(default)]
    pub mode: DatabaseMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<String>,
    #[serde(default = "default_storage")]
    pub storage_gb: u32,
    #[serde(default)]
    pub multi_zone: bool,
    #[serde(default = "yes")]
    pub deletion_protection: bool,
    #[serde(default = "default_backups")]
    pub backup_retention_days: u8,
    /// External database: where the connection string comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<SecretSource>,
    /// Connect to the database with TLS.
    #[serde(default = "yes")]
    pub ssl: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatabaseMode {
    #[default]
    Create,
    External,
}

fn default_storage() -> u32 {
    100
}
fn default_backups() -> u8 {
    7
}
fn yes() -> bool {
    true
}

/// A secret value kept outside the spec: a file or an environment variable.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SecretSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_env: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointAccess {
    #[default]
    Private,
    Public,
    PublicAndPrivate,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    #[serde(default)]
    pub mode: Mode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    #[serde(default)]
    pub endpoint_access: EndpointAccess,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_access_cidrs: Vec<String>,
    /// Kubernetes service addresses; must not overlap the network.
    #[serde(default = "default_service_cidr")]
    pub service_cidr: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_groups: Vec<NodeGroup>,
    /// Existing cluster: kubeconfig file (default: $KUBECONFIG or ~/.kube/config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeGroup {
    pub name: String,
    pub instance_types: Vec<String>,
    pub min: u32,
    pub max: u32,
    pub desired: u32,
    #[serde(default = "default_disk")]
    pub disk_gb: u32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
}

fn default_service_cidr() -> String {
    "172.20.0.0/16".into()
}

fn default_disk() -> u32 {
    100
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Taint {
    pub key: String,
    #[serde(default)]
    pub value: String,
    pub effect: TaintEffect,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Platform {
    pub chart: Chart,
    #[serde(default = "default_release")]
    pub release_name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub base_domain: String,
    pub tls: Tls,
    #[serde(default)]
    pub private_load_balancer: bool,
    /// A reserved static address for the load balancer (GCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_ip: Option<String>,
    #[serde(default)]
    pub auth: Auth,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Smtp>,
    /// Install with the fewest cluster-wide rights the chart line allows:
    /// no chart cluster roles where the chart can do without them, Airflow
    /// deployments only in `deploymentNamespaces` (docs/values.md).
    #[serde(default)]
    pub least_privilege: bool,
    /// The namespaces Airflow deployments may use (the chart's namespace
    /// pools). liftoff creates them, labelled as this installation's;
    /// required with `leastPrivilege`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployment_namespaces: Vec<String>,
    /// Node labels the platform's own pods are scheduled on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default = "default_retention")]
    pub log_retention_days: u16,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_emails: Vec<String>,
    /// When the platform is upgraded, Houston upgrades every Airflow
    /// deployment's chart too (the chart's
    /// `astronomer.houston.upgradeDeployments.enabled`; on by default, as
    /// in the chart).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub upgrade_deployments: bool,
    /// Chart values merged last, over everything liftoff renders.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub values: serde_json::Value,
}

fn default_release() -> String {
    "astronomer".into()
}
fn default_namespace() -> String {
    "astronomer".into()
}
fn is_true(b: &bool) -> bool {
    *b
}
fn default_retention() -> u16 {
    15
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Chart {
    /// A Helm repository URL, an `oci://` reference, or a local `.tgz`.
    pub repository: String,
    #[serde(default = "default_chart_name")]
    pub name: String,
    /// Pinned chart version.
    pub version: String,
}

fn default_chart_name() -> String {
    "astronomer".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Tls {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// A private CA's root certificate (PEM, and any intermediates it needs)
    /// given apart from certFile: the chain is checked up to it and the
    /// platform is told to trust it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Sandbox only: generate a self-signed wildcard certificate.
    #[serde(default)]
    pub self_signed: bool,
    /// Accept an ECDSA key although the platform's registry needs RSA.
    #[serde(default)]
    pub allow_ecdsa: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Auth {
    /// Username/password sign-in handled by the platform itself.
    #[serde(default = "yes")]
    pub local: bool,
    #[serde(default)]
    pub public_signups: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<AuthProvider>,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            local: true,
            public_signups: false,
            providers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuthProvider {
    #[serde(rename = "type")]
    pub kind: AuthKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Okta / Auth0 / OIDC issuer or discovery URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    Google,
    Okta,
    Auth0,
    Oidc,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Smtp {
    /// The SMTP URL (`smtps://user:pass@host:465`), kept out of the spec.
    pub url: SecretSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Dns {
    /// The hosted zone (AWS Route53 name or id; GCP Cloud DNS zone name).
    pub zone: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Airgap {
    #[serde(default)]
    pub enabled: bool,
    /// A bundle built by `liftoff bundle`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<Registry>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Registry {
    /// `host[:port][/path]` of the private registry.
    pub repository: String,
    /// A docker config JSON with the pull credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<SecretSource>,
}

/// What only a Google Cloud install sets (`gcp:`); every field has a default.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Gcp {
    /// The subnetwork's secondary range for pods.
    #[serde(default = "default_pods_cidr")]
    pub pods_cidr: String,
    /// The subnetwork's secondary range for Kubernetes services.
    #[serde(default = "default_services_cidr")]
    pub services_cidr: String,
    /// The names of the two secondary ranges (an existing subnetwork's own).
    #[serde(default = "default_pods_range")]
    pub pods_range_name: String,
    #[serde(default = "default_services_range")]
    pub services_range_name: String,
    /// Existing network: the subnetwork's name (`network.vpcId` is the network's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnetwork: Option<String>,
    /// Static external addresses reserved for Cloud NAT (0: automatic).
    #[serde(default = "one")]
    pub nat_addresses: u8,
    /// The GKE control plane's private range, a /28.
    #[serde(default = "default_master_cidr")]
    pub master_cidr: String,
    /// The prefix length of the range reserved for Private Services Access.
    #[serde(default = "default_services_prefix")]
    pub private_services_prefix: u8,
    /// GKE release channel: rapid, regular, stable, or none (pinned version).
    #[serde(default)]
    pub release_channel: ReleaseChannel,
    /// A zonal cluster in the first zone instead of a regional one.
    #[serde(default)]
    pub zonal: bool,
    /// GKE Autopilot: refused (the platform needs host paths).
    #[serde(default)]
    pub autopilot: bool,
}

impl Default for Gcp {
    fn default() -> Self {
        Gcp {
            pods_cidr: default_pods_cidr(),
            services_cidr: default_services_cidr(),
            pods_range_name: default_pods_range(),
            services_range_name: default_services_range(),
            subnetwork: None,
            nat_addresses: 1,
            master_cidr: default_master_cidr(),
            private_services_prefix: default_services_prefix(),
            release_channel: ReleaseChannel::default(),
            zonal: false,
            autopilot: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseChannel {
    Rapid,
    #[default]
    Regular,
    Stable,
    /// No channel: `cluster.kubernetesVersion` is pinned.
    None,
}

fn default_pods_cidr() -> String {
    "10.32.0.0/14".into()
}
fn default_services_cidr() -> String {
    "10.98.0.0/20".into()
}
fn default_pods_range() -> String {
    "pods".into()
}
fn default_services_range() -> String {
    "services".into()
}
fn default_master_cidr() -> String {
    "172.16.0.32/28".into()
}
fn default_services_prefix() -> u8 {
    16
}
fn one() -> u8 {
    1
}

/// Deadlines for long waits, as `30s`, `20m`, `1h`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    #[serde(default = "t30m")]
    pub cluster: String,
    #[serde(default = "t20m")]
    pub node_group: String,
    #[serde(default = "t40m")]
    pub database: String,
    #[serde(default = "t10m")]
    pub nat: String,
    #[serde(default = "t20m")]
    pub helm: String,
    /// How long the platform's load balancer may take to get its address
    /// after the Helm release is installed.
    #[serde(default = "t10m")]
    pub load_balancer: String,
    /// How long `destroy` (and an install that finds the namespace being
    /// deleted) waits for the platform's namespace to be gone.
    #[serde(default = "t10m")]
    pub namespace: String,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            cluster: t30m(),
            node_group: t20m(),
            database: t40m(),
            nat: t10m(),
            helm: t20m(),
            load_balancer: t10m(),
            namespace: t10m(),
        }
    }
}

fn t10m() -> String {
    "10m".into()
}
fn t20m() -> String {
    "20m".into()
}
fn t30m() -> String {
    "30m".into()
}
fn t40m() -> String {
    "40m".into()
}

/// Parses `90s`, `20m`, `1h30m`.
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let mut total = 0u64;
    let mut num = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return None,
        };
    }
    (num.is_empty() && total > 0).then(|| std::time::Duration::from_secs(total))
}
