//! Semantic checks on a spec that parsed: names, CIDRs, zones, domains,
//! files, and options that contradict each other. Every check runs; each
//! finding points at the value it concerns.

use std::net::Ipv4Addr;
use std::path::Path;

use ipnet::Ipv4Net;

use super::model::*;
use super::yaml::Node;
use super::{Diagnostic, Severity};

struct Checker<'a> {
    tree: &'a Node,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn report(
        &mut self,
        severity: Severity,
        path: &str,
        message: impl Into<String>,
        hint: Option<&str>,
    ) {
        // A scalar is pointed at directly; a block at the key that names it.
        let node = self.tree.locate(path);
        let pos = match node.value {
            super::yaml::Value::Scalar { .. } => node.pos.clone(),
            _ => self.tree.key_pos(path).unwrap_or_else(|| node.pos.clone()),
        };
        self.out.push(Diagnostic {
            severity,
            pos,
            path: path.into(),
            message: message.into(),
            hint: hint.map(Into::into),
        });
    }
    fn error(&mut self, path: &str, message: impl Into<String>, hint: &str) {
        self.report(
            Severity::Error,
            path,
            message,
            (!hint.is_empty()).then_some(hint),
        );
    }
    fn warn(&mut self, path: &str, message: impl Into<String>, hint: &str) {
        self.report(
            Severity::Warning,
            path,
            message,
            (!hint.is_empty()).then_some(hint),
        );
    }
}

/// Runs every check; returns errors and warnings.
pub fn validate(spec: &Spec, tree: &Node, base_dir: &Path) -> Vec<Diagnostic> {
    let mut c = Checker {
        tree,
        out: Vec::new(),
    };
    header(&mut c, spec);
    name(&mut c, spec);
    cloud(&mut c, spec);
    network(&mut c, spec);
    database(&mut c, spec, base_dir);
    cluster(&mut c, spec);
    platform(&mut c, spec, base_dir);
    dns(&mut c, spec);
    airgap(&mut c, spec, base_dir);
    timeouts(&mut c, spec);
    c.out
}

fn header(c: &mut Checker, spec: &Spec) {
    if spec.api_version != API_VERSION {
        c.error(
            "apiVersion",
            format!("unsupported apiVersion `{}`", spec.api_version),
            &format!("use `{API_VERSION}`"),
        );
    }
    if spec.kind != KIND {
        c.error(
            "kind",
            format!("unsupported kind `{}`", spec.kind),
            &format!("use `{KIND}`"),
        );
    }
}

/// Longest name derived from the installation name, per cloud, with its limit.
fn derived_names(spec: &Spec) -> Vec<(String, &'static str, usize)> {
    let n = &spec.metadata.name;
    match spec.cloud.provider {
        Provider::Aws => vec![
            (format!("{n}-eks-nodes"), "IAM role name", 64),
            (format!("{n}-db"), "RDS instance identifier", 63),
            (n.clone(), "EKS cluster name", 100),
        ],
        Provider::Gcp => vec![
            (n.clone(), "GKE cluster name", 40),
            (format!("{n}-db"), "Cloud SQL instance name", 98),
        ],
        Provider::Existing => vec![],
    }
}

fn name(c: &mut Checker, spec: &Spec) {
    let n = &spec.metadata.name;
    if !is_dns_label(n) {
        c.error(
            "metadata.name",
            format!("`{n}` is not a valid installation name"),
            "use lowercase letters, digits and '-', starting with a letter (e.g. `acme-prod`)",
        );
        return;
    }
    for (derived, what, limit) in derived_names(spec) {
        if derived.len() > limit {
            c.error(
                "metadata.name",
                format!(
                    "name too long: the {what} `{derived}` would be {} characters (limit {limit})",
                    derived.len()
                ),
                &format!(
                    "shorten metadata.name by {} characters",
                    derived.len() - limit
                ),
            );
        }
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A DNS name such as `astro.example.com`: two labels or more, no wildcard.
pub fn is_domain(s: &str) -> bool {
    let labels: Vec<_> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

fn cloud(c: &mut Checker, spec: &Spec) {
    let cloud = &spec.cloud;
    match cloud.provider {
        Provider::Aws | Provider::Gcp => {
            let Some(region) = &cloud.region else {
                c.error(
                    "cloud",
                    "cloud.region is required for a cloud install",
                    "e.g. `region: us-east-1`",
                );
                return;
            };
            for (i, z) in cloud.zones.iter().enumerate() {
                let ok = match cloud.provider {
                    Provider::Aws => z
                        .strip_prefix(region.as_str())
                        .is_some_and(|s| s.len() == 1),
                    _ => z
                        .strip_prefix(region.as_str())
                        .is_some_and(|s| s.len() == 2 && s.starts_with('-')),
                };
                if !ok {
                    c.error(&format!("cloud.zones[{i}]"), format!("zone `{z}` is not in region `{region}`"), "zones are the region plus a letter, e.g. us-east-1a (AWS) or us-central1-a (GCP)");
                }
                if cloud.zones[..i].contains(z) {
                    c.error(
                        &format!("cloud.zones[{i}]"),
                        format!("zone `{z}` is listed twice"),
                        "",
                    );
                }
            }
        }
        Provider::Existing => {
            if cloud.region.is_some() || !cloud.zones.is_empty() {
                c.warn(
                    "cloud",
                    "region and zones are ignored with `provider: existing`",
                    "",
                );
            }
        }
    }
    if cloud.provider == Provider::Gcp && cloud.project.is_none() {
        c.error(
            "cloud",
            "cloud.project is required on GCP",
            "set `project: <your-project-id>`",
        );
    }
}

fn parse_cidr(c: &mut Checker, path: &str, text: &str) -> Option<Ipv4Net> {
    match text.parse::<Ipv4Net>() {
        Ok(net) if net.network() == net.addr() => Some(net),
        Ok(net) => {
            c.error(
                path,
                format!("`{text}` has host bits set"),
                &format!("did you mean `{}`?", net.trunc()),
            );
            None
        }
        Err(_) => {
            c.error(
                path,
                format!("`{text}` is not an IPv4 CIDR"),
                "write it as address/prefix, e.g. 10.0.0.0/16",
            );
            None
        }
    }
}

fn network(c: &mut Checker, spec: &Spec) {
    let Some(net) = &spec.network else {
        if spec.cloud.provider != Provider::Existing {
            c.error(
                "cloud",
                "a cloud install needs a `network` section",
                "use `mode: create` with a cidr, or `mode: existing` with a vpcId and subnet ids",
            );
        }
        return;
    };
    if spec.cloud.provider == Provider::Existing {
        c.error(
            "network",
            "`network` contradicts `cloud.provider: existing`",
            "remove the network section: an existing cluster brings its own network",
        );
        return;
    }
    if !(2..=6).contains(&net.zone_count) {
        c.error(
            "network.zoneCount",
            format!("zoneCount {} is out of range", net.zone_count),
            "use 2 to 6 zones (3 is the default)",
        );
    }
    if !spec.cloud.zones.is_empty() && spec.cloud.zones.len() != net.zone_count as usize {
        c.error(
            "cloud.zones",
            format!(
                "{} zones listed but network.zoneCount is {}",
                spec.cloud.zones.len(),
                net.zone_count
            ),
            "list exactly zoneCount zones, or drop the list to use the region's first zones",
        );
    }
    match net.mode {
        Mode::Create => {
            for (field, set) in [
                ("vpcId", net.vpc_id.is_some()),
                ("privateSubnetIds", !net.private_subnet_ids.is_empty()),
                ("publicSubnetIds", !net.public_subnet_ids.is_empty()),
            ] {
                if set {
                    c.error(
                        &format!("network.{field}"),
                        format!("`{field}` contradicts `network.mode: create`"),
                        "use `mode: existing` to install into an existing VPC",
                    );
                }
            }
            let Some(cidr) = &net.cidr else {
                c.error(
                    "network",
                    "network.cidr is required with `mode: create`",
                    "e.g. `cidr: 10.0.0.0/16`",
                );
                return;
            };
            let Some(vpc) = parse_cidr(c, "network.cidr", cidr) else {
                return;
            };
            if !(16..=24).contains(&vpc.prefix_len()) {
                c.error("network.cidr", format!("prefix /{} is out of range", vpc.prefix_len()), "use a prefix from /16 to /24 (AWS allows /16 at most; /24 leaves room for 3 small zones)");
            } else if crate::plan::graph::subnet_prefix(vpc.prefix_len(), net.zone_count) > 28 {
                c.error(
                    "network.cidr",
                    format!("{cidr} is too small for {} zones", net.zone_count),
                    "use a larger network (a smaller prefix) or fewer zones",
                );
            }
            if let Ok(service) = spec.cluster.service_cidr.parse::<Ipv4Net>()
                && (vpc.contains(&service.network()) || service.contains(&vpc.network()))
            {
                c.error(
                    "network.cidr",
                    format!("{cidr} overlaps the Kubernetes service range {service}"),
                    "pick a network outside it, or set cluster.serviceCidr",
                );
            }
            if !vpc.network().is_private() {
                c.warn(
                    "network.cidr",
                    format!("{cidr} is not a private (RFC 1918) range"),
                    "",
                );
            }
        }
        Mode::Existing => {
            if net.cidr.is_some() {
                c.error(
                    "network.cidr",
                    "`cidr` contradicts `network.mode: existing`",
                    "remove it: the existing VPC has its own CIDR",
                );
            }
            match &net.vpc_id {
                None => c.error(
                    "network",
                    "network.vpcId is required with `mode: existing`",
                    "",
                ),
                Some(id) if spec.cloud.provider == Provider::Aws && !id.starts_with("vpc-") => c
                    .error(
                        "network.vpcId",
                        format!("`{id}` is not a VPC id"),
                        "AWS VPC ids look like vpc-0123456789abcdef0",
                    ),
                Some(_) => {}
            }
            if net.private_subnet_ids.len() < 2 {
                c.error(
                    "network",
                    "at least two private subnets (in two zones) are required",
                    "list them in network.privateSubnetIds",
                );
            }
            for (field, ids) in [
                ("privateSubnetIds", &net.private_subnet_ids),
                ("publicSubnetIds", &net.public_subnet_ids),
                ("databaseSubnetIds", &net.database_subnet_ids),
            ] {
                for (i, id) in ids.iter().enumerate() {
                    if spec.cloud.provider == Provider::Aws && !id.starts_with("subnet-") {
                        c.error(
                            &format!("network.{field}[{i}]"),
                            format!("`{id}` is not a subnet id"),
                            "AWS subnet ids look like subnet-0123456789abcdef0",
                        );
                    }
                    if ids[..i].contains(id) {
                        c.error(
                            &format!("network.{field}[{i}]"),
                            format!("subnet `{id}` is listed twice"),
                            "",
                        );
                    }
                }
            }
        }
    }
}

fn secret_source(c: &mut Checker, path: &str, src: &SecretSource, base_dir: &Path) {
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

fn database(c: &mut Checker, spec: &Spec, base_dir: &Path) {
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
                    "",
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

fn is_k8s_version(v: &str) -> bool {
    v.strip_prefix("1.")
        .is_some_and(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()))
}

fn cluster(c: &mut Checker, spec: &Spec) {
    let cl = &spec.cluster;
    if spec.cloud.provider == Provider::Existing && cl.mode == Mode::Create {
        c.error(
            "cluster.mode",
            "`cluster.mode: create` contradicts `cloud.provider: existing`",
            "use `mode: existing` with a kubeconfig context",
        );
    }
    let _ = parse_cidr(c, "cluster.serviceCidr", &cl.service_cidr);
    match cl.mode {
        Mode::Create => {
            match &cl.kubernetes_version {
                None => c.error(
                    "cluster",
                    "cluster.kubernetesVersion is required",
                    "e.g. `kubernetesVersion: \"1.33\"`",
                ),
                Some(v) if !is_k8s_version(v) => c.error(
                    "cluster.kubernetesVersion",
                    format!("`{v}` is not a Kubernetes minor version"),
                    "write it as \"1.33\" (quoted)",
                ),
                Some(_) => {}
            }
            if cl.node_groups.is_empty() {
                c.error("cluster", "at least one node group is required", "add `nodeGroups: [{name: platform, instanceTypes: [m6i.2xlarge], min: 3, max: 6, desired: 3}]`");
            }
            for (i, g) in cl.node_groups.iter().enumerate() {
                let p = format!("cluster.nodeGroups[{i}]");
                if !is_dns_label(&g.name) {
                    c.error(
                        &format!("{p}.name"),
                        format!("`{}` is not a valid node group name", g.name),
                        "lowercase letters, digits and '-'",
                    );
                }
                if cl.node_groups[..i].iter().any(|o| o.name == g.name) {
                    c.error(
                        &format!("{p}.name"),
                        format!("node group `{}` is defined twice", g.name),
                        "",
                    );
                }
                if g.instance_types.is_empty() {
                    c.error(
                        &format!("{p}.instanceTypes"),
                        "no instance types",
                        "list at least one",
                    );
                }
                if !(g.min <= g.desired && g.desired <= g.max) || g.max == 0 {
                    c.error(
                        &p,
                        format!(
                            "sizes must satisfy min <= desired <= max and max >= 1 (got {}/{}/{})",
                            g.min, g.desired, g.max
                        ),
                        "",
                    );
                }
            }
        }
        Mode::Existing => {
            if !cl.node_groups.is_empty() {
                c.error(
                    "cluster.nodeGroups",
                    "`nodeGroups` contradicts `cluster.mode: existing`",
                    "node groups of an existing cluster are managed outside liftoff",
                );
            }
        }
    }
    if cl.endpoint_access == EndpointAccess::Private && !cl.public_access_cidrs.is_empty() {
        c.error(
            "cluster.publicAccessCidrs",
            "`publicAccessCidrs` contradicts `endpointAccess: private`",
            "use `endpointAccess: public-and-private` or drop the list",
        );
    }
    for (i, cidr) in cl.public_access_cidrs.iter().enumerate() {
        parse_cidr(c, &format!("cluster.publicAccessCidrs[{i}]"), cidr);
    }
}

fn platform(c: &mut Checker, spec: &Spec, base_dir: &Path) {
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
    if !p
        .chart
        .version
        .split('.')
        .take(3)
        .all(|s| s.chars().next().is_some_and(|c| c.is_ascii_digit()))
        || p.chart.version.split('.').count() < 3
    {
        c.error(
            "platform.chart.version",
            format!("`{}` is not a pinned chart version", p.chart.version),
            "pin an exact version, e.g. 0.37.7",
        );
    }
    tls(c, spec, base_dir);
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
            "",
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
                "",
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
                "",
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

fn tls(c: &mut Checker, spec: &Spec, base_dir: &Path) {
    let t = &spec.platform.tls;
    let has_files = t.cert_file.is_some() || t.key_file.is_some();
    if t.self_signed && has_files {
        c.error(
            "platform.tls.selfSigned",
            "`selfSigned` contradicts certFile/keyFile",
            "use your certificate files, or selfSigned alone",
        );
    }
    if t.self_signed && spec.profile.as_deref() != Some("sandbox") {
        c.error(
            "platform.tls.selfSigned",
            "a self-signed certificate is only allowed with the sandbox profile",
            "give your wildcard certificate with certFile and keyFile",
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
                Some(f) if !base_dir.join(f).is_file() => c.error(
                    &format!("platform.tls.{field}"),
                    format!("file not found: {}", f.display()),
                    "paths are relative to the spec's folder",
                ),
                Some(_) => {}
            }
        }
    }
}

fn dns(c: &mut Checker, spec: &Spec) {
    let Some(dns) = &spec.dns else { return };
    if spec.cloud.provider == Provider::Existing {
        c.error("dns", "DNS records need a cloud provider", "remove `dns` and create the wildcard record yourself; liftoff prints the load balancer address");
        return;
    }
    let zone = dns.zone.trim_end_matches('.');
    let base = &spec.platform.base_domain;
    if !zone.starts_with("Z") && base != zone && !base.ends_with(&format!(".{zone}")) {
        c.error(
            "dns.zone",
            format!("base domain `{base}` is not inside zone `{zone}`"),
            "the wildcard record *.<baseDomain> must live in this zone",
        );
    }
}

fn airgap(c: &mut Checker, spec: &Spec, base_dir: &Path) {
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
                    "",
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
            "build one with `liftoff bundle create` on a connected machine",
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

fn timeouts(c: &mut Checker, spec: &Spec) {
    let t = &spec.timeouts;
    for (field, value) in [
        ("cluster", &t.cluster),
        ("nodeGroup", &t.node_group),
        ("database", &t.database),
        ("nat", &t.nat),
        ("helm", &t.helm),
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
