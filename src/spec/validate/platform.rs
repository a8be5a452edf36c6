//! Checks of the platform side: the database, secrets kept outside the
//! spec, the chart, certificate files, sign-in, DNS, air gap and timeouts.

use std::net::Ipv4Addr;
use std::path::Path;

use super::{Checker, is_dns_label, is_domain};
use crate::spec::model::*;

pub(super) fn secret_source(c: &mut Checker, path: &str, src: &SecretSource, base_dir: &Path) {
    match (&src.from_file, &src.from_env) {
        (Some(_), Some(_)) => c.error(path, "give either fromFile or fromEnv, not both", ""),
        (None, None) => c.error(
            path,
            "no source given",
            "set `fromFile: PATH` or `fromEnv: VARIABLE`; secrets are never written inline",
        ),
        (Some(f), None) => {
            if !base_dir.join(f).is_file() {
                c.error(
                    &format!("{path}.fromFile"),
                    format!("file not found: {}", f.display()),
                    "paths are relative to the spec's folder",
                );
            }
        }
        (None, Some(_)) => {}
    }
}

pub(super) fn database(c: &mut Checker, spec: &Spec, base_dir: &Path) {
    let Some(db) = &spec.database else {
        c.error(
            "platform",
            "a `database` section is required",
            "the platform needs PostgreSQL: `mode: create` or `mode: external`",
        );
        return;
    };
    match db.mode {
        DatabaseMode::Create => {
            if spec.cloud.provider == Provider::Existing {
                c.error(
                    "database.mode",
                    "`database.mode: create` contradicts `cloud.provider: existing`",
                    "use `mode: external` with a connection, or a cloud provider",
                );
            }
            if db.connection.is_some() {
                c.error(
                    "database.connection",
                    "`connection` contradicts `database.mode: create`",
                    "liftoff generates the credentials of a database it creates",
                );
            }
            match &db.engine_version {
                None => c.error(
                    "database",
                    "database.engineVersion is required",
                    "e.g. `engineVersion: \"16.4\"`",
                ),
                Some(v)
                    if !v
                        .split('.')
                        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) =>
                {
                    c.error(
                        "database.engineVersion",
                        format!("`{v}` is not a PostgreSQL version"),
                        "e.g. \"16.4\"",
                    )
                }
                Some(_) => {}
            }
            if db.instance_class.is_none() {
                c.error(
                    "database",
                    "database.instanceClass is required",
                    "e.g. `instanceClass: db.r6g.large`",
                );
            }
            if !(20..=65536).contains(&db.storage_gb) {
                c.error(
                    "database.storageGb",
                    format!("{} GB is out of range", db.storage_gb),
                    "use 20 to 65536",
                );
            }
            if db.backup_retention_days > 35 {
                c.error(
                    "database.backupRetentionDays",
                    "backups are kept 35 days at most",
                    "use 0 to 35",
                );
            }
        }
        DatabaseMode::External => match &db.connection {
            None => c.error(
                "database",
                "an external database needs `connection`",
                "`connection: {fromEnv: DATABASE_URL}` or `{fromFile: ./db-url}`",
            ),
            Some(src) => secret_source(c, "database.connection", src, base_dir),
        },
    }
}

pub(super) fn platform(c: &mut Checker, spec: &Spec, base_dir: &Path) {
    let p = &spec.platform;
    if !is_domain(&p.base_domain) {
        c.error(
            "platform.baseDomain",
            format!("`{}` is not a valid base domain", p.base_domain),
            "a lowercase DNS name with at least two labels and no wildcard, e.g. astro.example.com",
        );
    }
    if !is_dns_label(&p.namespace) {
        c.error(
            "platform.namespace",
            format!("`{}` is not a valid namespace", p.namespace),
            "lowercase letters, digits and '-'",
        );
    }
    if !is_dns_label(&p.release_name) || p.release_name.len() > 53 {
        c.error(
            "platform.releaseName",
            format!("`{}` is not a valid Helm release name", p.release_name),
            "lowercase letters, digits and '-', at most 53 characters",
        );
    }
    let repo = &p.chart.repository;
    if repo.ends_with(".tgz") && !repo.contains("://") && !base_dir.join(repo).is_file() {
        c.error(
            "platform.chart.repository",
            format!("chart archive not found: {repo}"),
            "paths are relative to the spec's folder",
        );
    } else if !(repo.starts_with("https://")
        || repo.starts_with("http://")
        || repo.starts_with("oci://")
        || repo.ends_with(".tgz"))
    {
        c.error(
            "platform.chart.repository",
            format!("`{repo}` is not a chart repository"),
            "use a Helm repository URL (https://...), an oci:// reference or a local .tgz",
        );
    }
    let pinned = p
        .chart
        .version
        .split('.')
        .take(3)
        .all(|s| s.chars().next().is_some_and(|c| c.is_ascii_digit()))
        && p.chart.version.split('.').count() >= 3;
    if !pinned {
        c.error(
            "platform.chart.version",
            format!("`{}` is not a pinned chart version", p.chart.version),
            "pin an exact version, e.g. 0.37.7",
        );
    } else if let Err(e) = crate::spec::chart::ChartLine::of(&p.chart.version) {
        c.error("platform.chart.version", e.to_string(), &e.hint());
    }
    local_chart(c, p, base_dir);
    tls(c, spec, base_dir);
    deployment_namespaces(c, p);
    if p.load_balancer_ip.is_some() && spec.cloud.provider == Provider::Aws {
        c.error(
            "platform.loadBalancerIp",
            "a static load balancer IP is not supported on AWS",
            "remove it; AWS load balancers have DNS names",
        );
    }
    if let Some(ip) = &p.load_balancer_ip
        && ip.parse::<Ipv4Addr>().is_err()
    {
        c.error(
            "platform.loadBalancerIp",
            format!("`{ip}` is not an IPv4 address"),
            "write four numbers separated by dots, e.g. 10.0.0.5",
        );
    }
    if !p.auth.local && p.auth.providers.is_empty() {
        c.error(
            "platform.auth",
            "no way to sign in: local auth is off and no provider is configured",
            "set `local: true` or add a provider",
        );
    }
    for (i, a) in p.auth.providers.iter().enumerate() {
        if a.client_id.is_none() {
            c.error(
                &format!("platform.auth.providers[{i}]"),
                "clientId is required",
                "add the OAuth client id your identity provider issued for the platform",
            );
        }
        if matches!(a.kind, AuthKind::Okta | AuthKind::Auth0 | AuthKind::Oidc)
            && a.discovery_url.is_none()
        {
            c.error(
                &format!("platform.auth.providers[{i}]"),
                "discoveryUrl is required for this provider",
                "the issuer's .well-known/openid-configuration URL",
            );
        }
    }
    if let Some(smtp) = &p.smtp {
        secret_source(c, "platform.smtp.url", &smtp.url, base_dir);
    }
    if p.log_retention_days == 0 {
        c.error(
            "platform.logRetentionDays",
            "log retention must be at least one day",
            "the platform promises 15",
        );
    }
    for (i, e) in p.alert_emails.iter().enumerate() {
        if !e.contains('@') {
            c.error(
                &format!("platform.alertEmails[{i}]"),
                format!("`{e}` is not an e-mail address"),
                "write it as name@example.com",
            );
        }
    }
    if !p.values.is_null() && !p.values.is_object() {
        c.error("platform.values", "values overrides must be a mapping", "");
    }
    // Secrets liftoff creates under fixed names: renaming them in the values
    // would point the chart at secrets that do not exist.
    for key in ["tlsSecret", "privateCaCerts", "privateRegistry.secretName"] {
        let path = format!("platform.values.global.{key}");
        let set = key
            .split('.')
            .try_fold(&p.values["global"], |v, k| v.get(k))
            .is_some();
        if set {
            c.warn(
                &path,
                format!("platform.values overrides global.{key}, a secret name liftoff sets"),
                "liftoff creates the secrets astronomer-tls, private-root-ca and astronomer-registry; remove the override unless you create the renamed secret yourself",
            );
        }
    }
}

/// A local chart archive must be the chart the spec pins: its own
/// Chart.yaml names the chart and version that Helm will install, and the
/// values are rendered for that version's chart line.
fn local_chart(c: &mut Checker, p: &Platform, base_dir: &Path) {
    let repo = &p.chart.repository;
    let path = base_dir.join(repo);
    if !repo.ends_with(".tgz") || repo.contains("://") || !path.is_file() {
        return;
    }
    match crate::spec::chart::read(&path) {
        Err(e) => c.error(
            "platform.chart.repository",
            e.to_string(),
            "point at the chart archive from the bundle (as `helm package` makes it)",
        ),
        Ok(meta) => {
            if meta.name != p.chart.name {
                c.error(
                    "platform.chart.name",
                    format!(
                        "the chart archive {repo} holds the chart `{}`, not `{}`",
                        meta.name, p.chart.name
                    ),
                    &format!(
                        "set platform.chart.name to `{}`, or point at the {} chart's archive",
                        meta.name, p.chart.name
                    ),
                );
            }
            if meta.version != p.chart.version {
                c.error(
                    "platform.chart.version",
                    format!(
                        "the chart archive {repo} is version {}, not {}",
                        meta.version, p.chart.version
                    ),
                    &format!(
                        "set platform.chart.version to {}, or point at the archive of {}",
                        meta.version, p.chart.version
                    ),
                );
            }
        }
    }
}

/// The namespaces Airflow deployments may use: required in least-privilege
/// mode (namespace pools are the only way the chart hosts Airflow without
/// cluster roles), each a valid, distinct namespace other than the
/// platform's own.
fn deployment_namespaces(c: &mut Checker, p: &Platform) {
    if p.least_privilege && p.deployment_namespaces.is_empty() {
        c.error(
            "platform.leastPrivilege",
            "leastPrivilege needs the namespaces Airflow deployments may use",
            "list them in platform.deploymentNamespaces, e.g. `deploymentNamespaces: [airflow-team-a, airflow-team-b]`",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, ns) in p.deployment_namespaces.iter().enumerate() {
        let path = format!("platform.deploymentNamespaces[{i}]");
        if !is_dns_label(ns) {
            c.error(
                &path,
                format!("`{ns}` is not a valid namespace"),
                "lowercase letters, digits and '-', at most 63 characters",
            );
        } else if ns == &p.namespace {
            c.error(
                &path,
                format!("`{ns}` is the platform's own namespace"),
                "Airflow deployments need namespaces of their own",
            );
        } else if ns.starts_with("kube-") || ns == "default" {
            c.error(
                &path,
                format!("`{ns}` is a namespace Kubernetes keeps for itself"),
                "choose a namespace of your own",
            );
        } else if !seen.insert(ns.as_str()) {
            c.error(&path, format!("`{ns}` is listed twice"), "");
        }
    }
}

pub(super) fn tls(c: &mut Checker, spec: &Spec, base_dir: &Path) {
    let t = &spec.platform.tls;
    let has_files = t.cert_file.is_some() || t.key_file.is_some();
    if t.self_signed && has_files {
        c.error(
            "platform.tls.selfSigned",
            "`selfSigned` contradicts certFile/keyFile",
            "use your certificate files, or selfSigned alone",
        );
    }
    let sandbox = spec.profile.as_deref() == Some("sandbox");
    if t.self_signed && !sandbox && !spec.metadata.trial {
        c.error(
            "platform.tls.selfSigned",
            "a self-signed certificate is only allowed on the sandbox profile or for a trial",
            "give your wildcard certificate with certFile and keyFile; only for a throwaway trial, set `metadata.trial: true` (what `liftoff init --trial` writes)",
        );
    }
    if t.self_signed && !sandbox && spec.metadata.trial {
        c.warn(
            "platform.tls.selfSigned",
            "TRIAL ONLY: a self-signed certificate; browsers, the Astro CLI and Airflow clients will not trust this installation",
            "for real use, give your wildcard certificate with certFile and keyFile and remove `metadata.trial`",
        );
    }
    if t.self_signed && t.ca_file.is_some() {
        c.error(
            "platform.tls.caFile",
            "`caFile` contradicts `selfSigned`",
            "the sandbox generates its own CA; remove caFile",
        );
    }
    if !t.self_signed {
        for (field, file) in [("certFile", &t.cert_file), ("keyFile", &t.key_file)] {
            match file {
                None => c.error(
                    "platform.tls",
                    format!("platform.tls.{field} is required"),
                    "a wildcard certificate for *.<baseDomain>, PEM",
                ),
                Some(f) => file_exists(c, &format!("platform.tls.{field}"), base_dir, f),
            }
        }
        if let Some(f) = &t.ca_file {
            file_exists(c, "platform.tls.caFile", base_dir, f);
        }
    }
}

/// A file the spec names must be a file: a directory is said to be one.
fn file_exists(c: &mut Checker, path: &str, base_dir: &Path, file: &Path) {
    let full = base_dir.join(file);
    if full.is_dir() {
        c.error(
            path,
            format!("{} is a directory, not a file", file.display()),
            "name the PEM file itself",
        );
    } else if !full.is_file() {
        let hint = if path == "platform.tls.certFile" || path == "platform.tls.keyFile" {
            "paths are relative to the spec's folder; get a wildcard certificate from your CA or Let's Encrypt (see the README's TLS certificate section), or for a throwaway trial only, `liftoff init --profile NAME --trial` writes a spec with a self-signed one"
        } else {
            "paths are relative to the spec's folder"
        };
        c.error(path, format!("file not found: {}", file.display()), hint);
    }
}

pub(super) fn dns(c: &mut Checker, spec: &Spec) {
    let Some(dns) = &spec.dns else { return };
    if spec.cloud.provider == Provider::Existing {
        c.error("dns", "DNS records need a cloud provider", "remove `dns` and create the wildcard record yourself; liftoff prints the load balancer address");
        return;
    }
    let zone = dns.zone.trim_end_matches('.');
    let base = &spec.platform.base_domain;
    // On GCP the zone is a Cloud DNS managed zone's name, not a domain: the
    // record is checked against the zone's DNS name when it is made.
    if spec.cloud.provider == Provider::Aws
        && !zone.starts_with("Z")
        && base != zone
        && !base.ends_with(&format!(".{zone}"))
    {
        c.error(
            "dns.zone",
            format!("base domain `{base}` is not inside zone `{zone}`"),
            "the wildcard record *.<baseDomain> must live in this zone",
        );
    }
}

pub(super) fn airgap(c: &mut Checker, spec: &Spec, base_dir: &Path) {
    let Some(a) = &spec.airgap else { return };
    if !a.enabled {
        return;
    }
    match &a.registry {
        None => c.error(
            "airgap",
            "air-gapped installs need a private registry",
            "set airgap.registry.repository",
        ),
        Some(r) => {
            if r.repository.contains("://") {
                c.error(
                    "airgap.registry.repository",
                    "the registry is `host[:port]/path`, without a scheme",
                    "drop the `https://`, e.g. registry.example.com/astronomer",
                );
            }
            if let Some(src) = &r.pull_secret {
                secret_source(c, "airgap.registry.pullSecret", src, base_dir);
            }
        }
    }
    if let Some(b) = &a.bundle
        && !base_dir.join(b).exists()
    {
        c.error(
            "airgap.bundle",
            format!("bundle not found: {}", b.display()),
            "copy the bundle folder (the chart archive; on a connected machine `helm pull astronomer --repo https://helm.astronomer.io --version VERSION`) next to the spec, or correct the path (relative to the spec's folder)",
        );
    }
    if spec.platform.chart.repository.starts_with("http") {
        c.error(
            "platform.chart.repository",
            "an air-gapped install cannot fetch the chart from a repository",
            "point at the chart .tgz from the bundle",
        );
    }
}

pub(super) fn timeouts(c: &mut Checker, spec: &Spec) {
    let t = &spec.timeouts;
    for (field, value) in [
        ("cluster", &t.cluster),
        ("nodeGroup", &t.node_group),
        ("database", &t.database),
        ("nat", &t.nat),
        ("helm", &t.helm),
        ("loadBalancer", &t.load_balancer),
        ("namespace", &t.namespace),
    ] {
        if parse_duration(value).is_none() {
            c.error(
                &format!("timeouts.{field}"),
                format!("`{value}` is not a duration"),
                "write it as 90s, 20m or 1h30m",
            );
        }
    }
}

/// `state:`: a bucket backend needs its bucket; the lease is a duration;
/// options that do not apply to the backend are refused.
pub(super) fn state(c: &mut Checker, spec: &Spec) {
    use crate::spec::model::StateBackend;
    let Some(st) = &spec.state else {
        return;
    };
    let bucketed = st.backend != StateBackend::Local;
    if bucketed && st.bucket.as_deref().is_none_or(str::is_empty) {
        c.error(
            "state.backend",
            "a bucket backend needs `state.bucket`".to_string(),
            "name the bucket that keeps the state (docs/state.md)",
        );
    }
    if let Some(lease) = &st.lock_lease
        && parse_duration(lease).is_none_or(|d| d.is_zero())
    {
        c.error(
            "state.lockLease",
            format!("`{lease}` is not a duration"),
            "write it as 90s or 2m",
        );
    }
    let misplaced: &[(&str, bool)] = &[
        ("state.dir", !bucketed || st.dir.is_none()),
        ("state.bucket", bucketed || st.bucket.is_none()),
        ("state.prefix", bucketed || st.prefix.is_none()),
        ("state.kmsKey", bucketed || st.kms_key.is_none()),
        (
            "state.region",
            st.backend == StateBackend::S3 || st.region.is_none(),
        ),
        (
            "state.endpoint",
            st.backend == StateBackend::Gcs || st.endpoint.is_none(),
        ),
    ];
    for (field, fine) in misplaced {
        if !fine {
            c.error(
                field,
                format!(
                    "`{field}` does not apply to the `{}` backend",
                    format!("{:?}", st.backend).to_lowercase()
                ),
                "remove it, or change `state.backend`",
            );
        }
    }
}
