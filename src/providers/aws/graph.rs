//! The AWS resources of a spec, with stable addresses and dependencies:
//! the network (VPC, subnets per tier and zone, routes, NAT), the database,
//! the IAM roles, the EKS cluster and its node groups. Pure: nothing here
//! talks to AWS.

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use super::names;
use crate::plan::Resource;
use crate::plan::graph::Builder;
use crate::spec::{DatabaseMode, Mode, NatMode, Spec};

/// Every AWS resource the spec asks for, dependencies first.
pub fn desired(spec: &Spec) -> Vec<Resource> {
    let mut b = Builder::new();
    build(spec, &mut b);
    b.finish()
}

fn build(spec: &Spec, b: &mut Builder) {
    let name = &spec.metadata.name;
    let zones = names::zones(spec);
    let mut private_subnets: Vec<String> = Vec::new();
    let mut database_subnets: Vec<String> = Vec::new();
    let mut cluster_deps: Vec<String> = Vec::new();

    if let Some(net) = spec.network.as_ref().filter(|n| n.mode == Mode::Create) {
        let vpc_cidr: Ipv4Net = net
            .cidr
            .as_deref()
            .unwrap_or("10.0.0.0/16")
            .parse()
            .expect("validated CIDR");
        let prefix = names::subnet_prefix(vpc_cidr.prefix_len(), zones.len() as u8);
        let mut subnets = vpc_cidr.subnets(prefix).expect("validated prefix");
        let vpc = b.add("aws.vpc", "aws.vpc", json!({"name": name, "cidr": vpc_cidr.to_string(), "dnsSupport": true, "dnsHostnames": true}), &[]);
        let igw = b.add(
            "aws.internet_gateway",
            "aws.internet_gateway",
            json!({"name": name, "vpc": vpc}),
            &[&vpc],
        );
        let cluster_tag = format!("kubernetes.io/cluster/{name}");
        let mut public_subnets = Vec::new();
        for (tier, role) in [
            ("private", "kubernetes.io/role/internal-elb"),
            ("public", "kubernetes.io/role/elb"),
            ("database", ""),
        ] {
            for (letter, zone) in &zones {
                let cidr = subnets.next().expect("enough subnets").to_string();
                let mut tags = serde_json::Map::new();
                if !role.is_empty() {
                    tags.insert(role.into(), json!("1"));
                    tags.insert(cluster_tag.clone(), json!("shared"));
                }
                let addr = b.add(
                    format!("aws.subnet.{tier}[{letter}]"),
                    "aws.subnet",
                    json!({"name": format!("{name}-{tier}-{letter}"), "vpc": vpc, "cidr": cidr, "zone": zone, "tier": tier, "public": tier == "public", "tags": tags}),
                    &[&vpc],
                );
                match tier {
                    "private" => private_subnets.push(addr),
                    "public" => public_subnets.push(addr),
                    _ => database_subnets.push(addr),
                }
            }
        }
        let mut public_rt_deps = vec![vpc.as_str(), igw.as_str()];
        public_rt_deps.extend(public_subnets.iter().map(String::as_str));
        b.add(
            "aws.route_table.public",
            "aws.route_table",
            json!({"name": format!("{name}-public"), "vpc": vpc, "subnets": public_subnets, "defaultRoute": {"gateway": igw}}),
            &public_rt_deps,
        );
        // NAT gateways with their Elastic IPs, in the public subnets.
        let nat_letters: Vec<&String> = match net.nat {
            NatMode::None => vec![],
            NatMode::Single => zones.iter().take(1).map(|(l, _)| l).collect(),
            NatMode::PerZone => zones.iter().map(|(l, _)| l).collect(),
        };
        for letter in &nat_letters {
            let eip = b.add(
                format!("aws.eip.nat[{letter}]"),
                "aws.eip",
                json!({"name": format!("{name}-nat-{letter}")}),
                &[&igw],
            );
            let subnet = format!("aws.subnet.public[{letter}]");
            b.add(
                format!("aws.nat[{letter}]"),
                "aws.nat",
                json!({"name": format!("{name}-nat-{letter}"), "subnet": subnet, "eip": eip}),
                &[&subnet, &eip],
            );
        }
        for (letter, _) in &zones {
            let subnet = format!("aws.subnet.private[{letter}]");
            let nat = match net.nat {
                NatMode::None => None,
                NatMode::Single => Some(format!("aws.nat[{}]", nat_letters[0])),
                NatMode::PerZone => Some(format!("aws.nat[{letter}]")),
            };
            let mut deps = vec![vpc.as_str(), subnet.as_str()];
            if let Some(n) = &nat {
                deps.push(n);
            }
            let route = nat.as_ref().map_or(Value::Null, |n| json!({"nat": n}));
            b.add(
                format!("aws.route_table.private[{letter}]"),
                "aws.route_table",
                json!({"name": format!("{name}-private-{letter}"), "vpc": vpc, "subnets": [subnet], "defaultRoute": route}),
                &deps,
            );
        }
        b.add("aws.security_group.cluster", "aws.security_group", json!({"name": format!("{name}-cluster"), "vpc": vpc, "description": "EKS control plane", "ingress": []}), &[&vpc]);
        b.add(
            "aws.security_group.nodes",
            "aws.security_group",
            json!({"name": format!("{name}-nodes"), "vpc": vpc, "description": "EKS nodes", "ingress": [{"port": "all", "from": "self"}, {"port": "all", "from": "aws.security_group.cluster"}]}),
            &[&vpc, "aws.security_group.cluster"],
        );
        cluster_deps.push("aws.security_group.cluster".into());
        cluster_deps.extend(private_subnets.iter().cloned());
        // Private subnets must route out before nodes boot.
        cluster_deps.extend(
            zones
                .iter()
                .map(|(l, _)| format!("aws.route_table.private[{l}]")),
        );
    }

    let existing_net = spec.network.as_ref().filter(|n| n.mode == Mode::Existing);
    let subnet_refs: Value = match existing_net {
        Some(n) => json!(n.private_subnet_ids),
        None => json!(private_subnets),
    };

    // The database's own security group, which also admits the EKS
    // cluster security group that managed nodes carry (see the cluster).
    let mut database_sg: Option<&str> = None;
    if let Some(db) = spec
        .database
        .as_ref()
        .filter(|d| d.mode == DatabaseMode::Create)
    {
        let db_subnets: Value = match existing_net {
            Some(n) if !n.database_subnet_ids.is_empty() => json!(n.database_subnet_ids),
            Some(n) => json!(n.private_subnet_ids),
            None => json!(database_subnets),
        };
        let mut deps: Vec<&str> = database_subnets.iter().map(String::as_str).collect();
        b.add(
            "aws.db_subnet_group",
            "aws.db_subnet_group",
            json!({"name": names::database(name), "subnets": db_subnets}),
            &deps,
        );
        let sg = if existing_net.is_none() {
            b.add(
                "aws.security_group.database",
                "aws.security_group",
                json!({"name": format!("{name}-database"), "vpc": "aws.vpc", "description": "PostgreSQL from the nodes", "ingress": [{"port": 5432, "from": "aws.security_group.nodes"}]}),
                &["aws.vpc", "aws.security_group.nodes"],
            );
            Some("aws.security_group.database")
        } else {
            None
        };
        database_sg = sg;
        deps = vec!["aws.db_subnet_group"];
        deps.extend(sg);
        // Deleted before the NAT gateways go (destroy runs in reverse).
        let routes: Vec<String> = if existing_net.is_none() {
            zones
                .iter()
                .map(|(l, _)| format!("aws.route_table.private[{l}]"))
                .collect()
        } else {
            Vec::new()
        };
        deps.extend(routes.iter().map(String::as_str));
        b.add(
            "aws.database",
            "aws.database",
            json!({
                "identifier": names::database(name),
                "engine": "postgres",
                "engineVersion": db.engine_version,
                "instanceClass": db.instance_class,
                "storageGb": db.storage_gb,
                "multiAz": db.multi_zone,
                "encrypted": true,
                "deletionProtection": db.deletion_protection,
                "backupRetentionDays": db.backup_retention_days,
                "subnetGroup": "aws.db_subnet_group",
                "securityGroup": sg,
            }),
            &deps,
        );
    }

    if spec.cluster.mode == Mode::Create {
        let cl = &spec.cluster;
        b.add(
            "aws.iam_role.cluster",
            "aws.iam_role",
            json!({"name": names::cluster_role(name), "service": "eks.amazonaws.com", "policies": ["AmazonEKSClusterPolicy"]}),
            &[],
        );
        b.add(
            "aws.iam_role.nodes",
            "aws.iam_role",
            json!({"name": names::nodes_role(name), "service": "ec2.amazonaws.com", "policies": ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]}),
            &[],
        );
        let mut deps: Vec<&str> = vec!["aws.iam_role.cluster"];
        deps.extend(cluster_deps.iter().map(String::as_str));
        deps.extend(database_sg);
        let (private, public) = match cl.endpoint_access {
            crate::spec::EndpointAccess::Private => (true, false),
            crate::spec::EndpointAccess::Public => (false, true),
            crate::spec::EndpointAccess::PublicAndPrivate => (true, true),
        };
        b.add(
            "aws.eks_cluster",
            "aws.eks_cluster",
            json!({
                "name": names::cluster(name),
                "version": cl.kubernetes_version,
                "role": "aws.iam_role.cluster",
                "subnets": subnet_refs,
                "securityGroup": existing_net.is_none().then_some("aws.security_group.cluster"),
                "endpointPrivate": private,
                "endpointPublic": public,
                "publicAccessCidrs": cl.public_access_cidrs,
                "serviceCidr": cl.service_cidr,
                "logging": ["api", "audit", "authenticator"],
                "databaseSecurityGroup": database_sg,
            }),
            &deps,
        );
        let mut group_deps: Vec<&str> = vec!["aws.eks_cluster", "aws.iam_role.nodes"];
        group_deps.extend(private_subnets.iter().map(String::as_str));
        for g in &cl.node_groups {
            b.add(
                format!("aws.eks_nodegroup[{}]", g.name),
                "aws.eks_nodegroup",
                json!({
                    "name": g.name,
                    "cluster": "aws.eks_cluster",
                    "role": "aws.iam_role.nodes",
                    "subnets": subnet_refs,
                    "version": cl.kubernetes_version,
                    "instanceTypes": g.instance_types,
                    "min": g.min, "max": g.max, "desired": g.desired,
                    "diskGb": g.disk_gb,
                    "labels": g.labels,
                    "taints": g.taints,
                }),
                &group_deps,
            );
        }
        // The database outlives the cluster on destroy (the order:
        // node groups, cluster, database) without holding up creation.
        b.delete_after("aws.database", &["aws.eks_cluster"]);
    }
}
