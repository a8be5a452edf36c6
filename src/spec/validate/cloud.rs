//! Checks of the cloud side: region and zones, the network (CIDRs, subnet
//! ids, contradictions) and the Kubernetes cluster.

use ipnet::Ipv4Net;

use super::{Checker, is_dns_label};
use crate::spec::model::*;

pub(super) fn cloud(c: &mut Checker, spec: &Spec) {
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
                        "remove the second entry",
                    );
                }
            }
        }
        Provider::Existing => {
            if cloud.region.is_some() || !cloud.zones.is_empty() {
                c.warn(
                    "cloud",
                    "region and zones are ignored with `provider: existing`",
                    "remove them, or set the provider whose cloud liftoff should use",
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

pub(super) fn parse_cidr(c: &mut Checker, path: &str, text: &str) -> Option<Ipv4Net> {
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

pub(super) fn network(c: &mut Checker, spec: &Spec, rules: &dyn crate::spec::CloudRules) {
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
            } else if rules
                .subnet_prefix(spec, vpc.prefix_len(), net.zone_count)
                .is_some_and(|p| p > 28)
            {
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
                    "use a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 unless you own this one",
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
                    "add `vpcId: vpc-…` (the VPC to install into), or use `mode: create`",
                ),
                Some(id) if spec.cloud.provider == Provider::Aws && !id.starts_with("vpc-") => c
                    .error(
                        "network.vpcId",
                        format!("`{id}` is not a VPC id"),
                        "AWS VPC ids look like vpc-0123456789abcdef0",
                    ),
                Some(_) => {}
            }
            if spec.cloud.provider == Provider::Gcp {
                let named = spec.gcp.as_ref().is_some_and(|g| g.subnetwork.is_some())
                    || !net.private_subnet_ids.is_empty();
                if !named {
                    c.error(
                        "network",
                        "an existing GCP network needs its subnetwork's name",
                        "set gcp.subnetwork (network.vpcId is the network's name)",
                    );
                }
            } else if net.private_subnet_ids.len() < 2 {
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
                            "remove the second entry",
                        );
                    }
                }
            }
        }
    }
}

pub(super) fn is_k8s_version(v: &str) -> bool {
    v.strip_prefix("1.")
        .is_some_and(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()))
}

pub(super) fn cluster(c: &mut Checker, spec: &Spec) {
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
                        "give each node group its own name",
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
                        "set them so that min <= desired <= max, e.g. `min: 3, desired: 3, max: 6`",
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

/// Google Cloud's own settings (`gcp:`): its ranges must not overlap the
/// network or each other, Autopilot is refused, and a pinned version needs
/// a version.
pub(super) fn gcp(c: &mut Checker, spec: &Spec) {
    let Some(g) = &spec.gcp else {
        return;
    };
    if spec.cloud.provider != Provider::Gcp {
        c.error(
            "gcp",
            "`gcp` settings need `cloud.provider: gcp`",
            "remove the gcp section",
        );
        return;
    }
    if g.autopilot {
        c.error(
            "gcp.autopilot",
            "GKE Autopilot cannot run the platform: its fluentd DaemonSet needs host paths, which Autopilot refuses",
            "remove `autopilot` (liftoff makes a GKE Standard cluster)",
        );
    }
    if g.release_channel == crate::spec::ReleaseChannel::None
        && spec.cluster.kubernetes_version.is_none()
    {
        c.error(
            "gcp.releaseChannel",
            "`releaseChannel: none` pins the version, but cluster.kubernetesVersion is not set",
            "set cluster.kubernetesVersion, or use a release channel (regular is the default)",
        );
    }
    let mut ranges: Vec<(String, Ipv4Net)> = Vec::new();
    if let Some(cidr) = spec
        .network
        .as_ref()
        .filter(|n| n.mode == Mode::Create)
        .and_then(|n| n.cidr.as_ref())
        && let Ok(net) = cidr.parse::<Ipv4Net>()
    {
        ranges.push(("network.cidr".into(), net));
    }
    for (field, text) in [
        ("gcp.podsCidr", &g.pods_cidr),
        ("gcp.servicesCidr", &g.services_cidr),
        ("gcp.masterCidr", &g.master_cidr),
    ] {
        let Some(net) = parse_cidr(c, field, text) else {
            continue;
        };
        if field == "gcp.masterCidr" && net.prefix_len() != 28 {
            c.error(
                field,
                format!("{text} is not a /28"),
                "GKE's control plane range is a /28, e.g. 172.16.0.32/28",
            );
        }
        for (other, o) in &ranges {
            if o.contains(&net.network()) || net.contains(&o.network()) {
                c.error(
                    field,
                    format!("{text} overlaps {other} ({o})"),
                    "pick ranges that do not overlap: the defaults are 10.32.0.0/14 for pods and 10.98.0.0/20 for services",
                );
            }
        }
        ranges.push((field.to_string(), net));
    }
    if !(8..=24).contains(&g.private_services_prefix) {
        c.error(
            "gcp.privateServicesPrefix",
            format!("/{} is out of range", g.private_services_prefix),
            "use a prefix from /8 to /24 (/16 is the default; Cloud SQL needs at least /24)",
        );
    }
}
