//! The AWS resources of a spec, with stable addresses and dependencies:
//! the network (VPC, subnets per tier and zone, routes, NAT), the database,
//! the IAM roles, the EKS cluster and its node groups with their launch
//! templates. Pure: nothing here
//! talks to AWS. Each resource's props are its kind's struct in [`props`].

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use super::kind;
use super::names;
use super::props::{self, DefaultRoute, Ingress, Port, to_value};
use crate::plan::Resource;
use crate::plan::graph::Builder;
use crate::spec::{DatabaseMode, EndpointAccess, Mode, NatMode, Spec};

// Addresses other resources refer to.
const VPC: &str = "aws.vpc";
const INTERNET_GATEWAY: &str = "aws.internet_gateway";
const CLUSTER_GROUP: &str = "aws.security_group.cluster";
const NODES_GROUP: &str = "aws.security_group.nodes";
const DATABASE_GROUP: &str = "aws.security_group.database";
const DB_SUBNET_GROUP: &str = "aws.db_subnet_group";
const DATABASE: &str = "aws.database";
const CLUSTER_ROLE: &str = "aws.iam_role.cluster";
const NODES_ROLE: &str = "aws.iam_role.nodes";
const EKS_CLUSTER: &str = "aws.eks_cluster";
const DATABASE_ACCESS: &str = "aws.database_access";

/// The address of a zone's subnet in a tier.
fn subnet(tier: &str, letter: &str) -> String {
    format!("aws.subnet.{tier}[{letter}]")
}

fn private_route_table(letter: &str) -> String {
    format!("aws.route_table.private[{letter}]")
}

/// Every AWS resource the spec asks for, dependencies first.
pub fn desired(spec: &Spec) -> Vec<Resource> {
    let mut b = Builder::new();
    let net = network(spec, &mut b);
    let database_group = database(spec, &net, &mut b);
    cluster(spec, &net, database_group, &mut b);
    b.finish()
}

/// What the network leaves for the database and the cluster.
#[derive(Default)]
struct Network {
    /// Created: addresses of the private and database subnets.
    private_subnets: Vec<String>,
    database_subnets: Vec<String>,
    /// What the cluster waits for: its security group, the private subnets
    /// and their routes out.
    cluster_deps: Vec<String>,
    /// The private route tables (the database is deleted before them).
    private_routes: Vec<String>,
    /// An existing network's subnet ids: private, and for the database.
    existing: Option<(Vec<String>, Vec<String>)>,
}

impl Network {
    /// The cluster's and node groups' subnets: addresses, or existing ids.
    fn node_subnets(&self) -> Vec<String> {
        match &self.existing {
            Some((private, _)) => private.clone(),
            None => self.private_subnets.clone(),
        }
    }
}

fn network(spec: &Spec, b: &mut Builder) -> Network {
    let mut out = Network::default();
    if let Some(n) = spec.network.as_ref().filter(|n| n.mode == Mode::Existing) {
        let database = if n.database_subnet_ids.is_empty() {
            n.private_subnet_ids.clone()
        } else {
            n.database_subnet_ids.clone()
        };
        out.existing = Some((n.private_subnet_ids.clone(), database));
        return out;
    }
    let Some(net) = spec.network.as_ref().filter(|n| n.mode == Mode::Create) else {
        return out;
    };
    let name = &spec.metadata.name;
    let zones = names::zones(spec);
    let vpc_cidr: Ipv4Net = net
        .cidr
        .as_deref()
        .unwrap_or("10.0.0.0/16")
        .parse()
        .expect("validated CIDR");
    let prefix = names::subnet_prefix(vpc_cidr.prefix_len(), zones.len() as u8);
    let mut cidrs = vpc_cidr.subnets(prefix).expect("validated prefix");
    let vpc = b.add(
        VPC,
        kind::VPC,
        to_value(&props::Vpc {
            name: name.clone(),
            cidr: vpc_cidr.to_string(),
            dns_support: true,
            dns_hostnames: true,
        }),
        &[],
    );
    let igw = b.add(
        INTERNET_GATEWAY,
        kind::INTERNET_GATEWAY,
        to_value(&props::InternetGateway {
            name: name.clone(),
            vpc: vpc.clone(),
        }),
        &[&vpc],
    );
    let cluster_tag = format!("kubernetes.io/cluster/{name}");
    let mut public_subnets = Vec::new();
    for (tier, role) in [
        ("private", Some("kubernetes.io/role/internal-elb")),
        ("public", Some("kubernetes.io/role/elb")),
        ("database", None),
    ] {
        for (letter, zone) in &zones {
            let mut tags = BTreeMap::new();
            if let Some(role) = role {
                tags.insert(role.to_string(), "1".to_string());
                tags.insert(cluster_tag.clone(), "shared".to_string());
            }
            let addr = b.add(
                subnet(tier, letter),
                kind::SUBNET,
                to_value(&props::Subnet {
                    name: format!("{name}-{tier}-{letter}"),
                    vpc: vpc.clone(),
                    cidr: cidrs.next().expect("enough subnets").to_string(),
                    zone: zone.clone(),
                    tier: tier.into(),
                    public: tier == "public",
                    tags,
                }),
                &[&vpc],
            );
            match tier {
                "private" => out.private_subnets.push(addr),
                "public" => public_subnets.push(addr),
                _ => out.database_subnets.push(addr),
            }
        }
    }
    let mut public_rt_deps = vec![vpc.as_str(), igw.as_str()];
    public_rt_deps.extend(public_subnets.iter().map(String::as_str));
    b.add(
        "aws.route_table.public",
        kind::ROUTE_TABLE,
        to_value(&props::RouteTable {
            name: format!("{name}-public"),
            vpc: vpc.clone(),
            subnets: public_subnets.clone(),
            default_route: Some(DefaultRoute::Gateway(igw.clone())),
        }),
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
            kind::EIP,
            to_value(&props::Eip {
                name: format!("{name}-nat-{letter}"),
            }),
            &[&igw],
        );
        let public = subnet("public", letter);
        b.add(
            format!("aws.nat[{letter}]"),
            kind::NAT,
            to_value(&props::Nat {
                name: format!("{name}-nat-{letter}"),
                subnet: public.clone(),
                eip: eip.clone(),
            }),
            &[&public, &eip],
        );
    }
    for (letter, _) in &zones {
        let private = subnet("private", letter);
        let nat = match net.nat {
            NatMode::None => None,
            NatMode::Single => Some(format!("aws.nat[{}]", nat_letters[0])),
            NatMode::PerZone => Some(format!("aws.nat[{letter}]")),
        };
        let mut deps = vec![vpc.as_str(), private.as_str()];
        deps.extend(nat.as_deref());
        let route = b.add(
            private_route_table(letter),
            kind::ROUTE_TABLE,
            to_value(&props::RouteTable {
                name: format!("{name}-private-{letter}"),
                vpc: vpc.clone(),
                subnets: vec![private.clone()],
                default_route: nat.clone().map(DefaultRoute::Nat),
            }),
            &deps,
        );
        out.private_routes.push(route);
    }
    b.add(
        CLUSTER_GROUP,
        kind::SECURITY_GROUP,
        to_value(&props::SecurityGroup {
            name: format!("{name}-cluster"),
            vpc: vpc.clone(),
            description: "EKS control plane".into(),
            ingress: vec![],
        }),
        &[&vpc],
    );
    let all = |from: &str| Ingress {
        port: Port::Named("all".into()),
        from: from.into(),
    };
    b.add(
        NODES_GROUP,
        kind::SECURITY_GROUP,
        to_value(&props::SecurityGroup {
            name: format!("{name}-nodes"),
            vpc: vpc.clone(),
            description: "EKS nodes".into(),
            ingress: vec![all("self"), all(CLUSTER_GROUP)],
        }),
        &[&vpc, CLUSTER_GROUP],
    );
    out.cluster_deps.push(CLUSTER_GROUP.into());
    out.cluster_deps.extend(out.private_subnets.iter().cloned());
    // Only nodes need the private subnets to route out (through the NAT
    // gateways): the cluster and the database do not wait for them.
    out
}

/// The database, its subnet group and (in a created network) its own
/// security group, which also admits the EKS cluster security group that
/// managed nodes carry (see the cluster). Returns that group's address.
fn database(spec: &Spec, net: &Network, b: &mut Builder) -> Option<&'static str> {
    let db = spec
        .database
        .as_ref()
        .filter(|d| d.mode == DatabaseMode::Create)?;
    let name = &spec.metadata.name;
    let subnets = match &net.existing {
        Some((_, database)) => database.clone(),
        None => net.database_subnets.clone(),
    };
    let deps: Vec<&str> = net.database_subnets.iter().map(String::as_str).collect();
    b.add(
        DB_SUBNET_GROUP,
        kind::DB_SUBNET_GROUP,
        to_value(&props::DbSubnetGroup {
            name: names::database(name),
            subnets,
        }),
        &deps,
    );
    let group = net.existing.is_none().then(|| {
        b.add(
            DATABASE_GROUP,
            kind::SECURITY_GROUP,
            to_value(&props::SecurityGroup {
                name: format!("{name}-database"),
                vpc: VPC.into(),
                description: "PostgreSQL from the nodes".into(),
                ingress: vec![Ingress {
                    port: Port::Number(5432),
                    from: NODES_GROUP.into(),
                }],
            }),
            &[VPC, NODES_GROUP],
        );
        DATABASE_GROUP
    });
    let mut deps = vec![DB_SUBNET_GROUP];
    deps.extend(group);
    b.add(
        DATABASE,
        kind::DATABASE,
        to_value(&props::Database {
            identifier: names::database(name),
            engine: "postgres".into(),
            engine_version: db.engine_version.clone(),
            instance_class: db.instance_class.clone(),
            storage_gb: db.storage_gb,
            multi_az: db.multi_zone,
            encrypted: true,
            deletion_protection: db.deletion_protection,
            backup_retention_days: db.backup_retention_days,
            subnet_group: DB_SUBNET_GROUP.into(),
            security_group: group.map(Into::into),
        }),
        &deps,
    );
    group
}

/// The IAM roles, the EKS cluster and its node groups.
fn cluster(spec: &Spec, net: &Network, database_group: Option<&str>, b: &mut Builder) {
    if spec.cluster.mode != Mode::Create {
        return;
    }
    let name = &spec.metadata.name;
    let cl = &spec.cluster;
    b.add(
        CLUSTER_ROLE,
        kind::IAM_ROLE,
        to_value(&props::IamRole {
            name: names::cluster_role(name),
            service: "eks.amazonaws.com".into(),
            policies: vec!["AmazonEKSClusterPolicy".into()],
        }),
        &[],
    );
    b.add(
        NODES_ROLE,
        kind::IAM_ROLE,
        to_value(&props::IamRole {
            name: names::nodes_role(name),
            service: "ec2.amazonaws.com".into(),
            policies: [
                "AmazonEKSWorkerNodePolicy",
                "AmazonEKS_CNI_Policy",
                "AmazonEC2ContainerRegistryReadOnly",
            ]
            .map(String::from)
            .to_vec(),
        }),
        &[],
    );
    let mut deps: Vec<&str> = vec![CLUSTER_ROLE];
    deps.extend(net.cluster_deps.iter().map(String::as_str));
    let (private, public) = match cl.endpoint_access {
        EndpointAccess::Private => (true, false),
        EndpointAccess::Public => (false, true),
        EndpointAccess::PublicAndPrivate => (true, true),
    };
    let subnets = net.node_subnets();
    b.add(
        EKS_CLUSTER,
        kind::EKS_CLUSTER,
        to_value(&props::EksCluster {
            name: names::cluster(name),
            version: cl.kubernetes_version.clone(),
            role: CLUSTER_ROLE.into(),
            subnets: subnets.clone(),
            security_group: net.existing.is_none().then(|| CLUSTER_GROUP.into()),
            endpoint_private: private,
            endpoint_public: public,
            public_access_cidrs: cl.public_access_cidrs.clone(),
            service_cidr: cl.service_cidr.clone(),
            logging: ["api", "audit", "authenticator"].map(String::from).to_vec(),
        }),
        &deps,
    );
    // The rule admitting the cluster's group to the database: after both,
    // so neither the cluster nor the database waits for the other's group.
    if let Some(group) = database_group {
        b.add(
            DATABASE_ACCESS,
            kind::DATABASE_ACCESS,
            to_value(&props::DatabaseAccess {
                group: group.into(),
                cluster: EKS_CLUSTER.into(),
                port: 5432,
            }),
            &[group, EKS_CLUSTER],
        );
    }
    let mut group_deps: Vec<&str> = vec![EKS_CLUSTER, NODES_ROLE];
    group_deps.extend(net.private_subnets.iter().map(String::as_str));
    // Nodes boot only with a way out: the private route tables (and so the
    // NAT gateways their routes name) come first.
    group_deps.extend(net.private_routes.iter().map(String::as_str));
    for g in &cl.node_groups {
        // No dependencies: made early, off the critical path.
        let template = b.add(
            format!("aws.launch_template[{}]", g.name),
            kind::LAUNCH_TEMPLATE,
            to_value(&props::LaunchTemplate {
                name: names::launch_template(name, &g.name),
                instance_type: match g.instance_types.as_slice() {
                    [one] => Some(one.clone()),
                    _ => None,
                },
                disk_gb: g.disk_gb,
            }),
            &[],
        );
        let mut deps = group_deps.clone();
        deps.push(&template);
        b.add(
            format!("aws.eks_nodegroup[{}]", g.name),
            kind::EKS_NODEGROUP,
            to_value(&props::EksNodegroup {
                name: g.name.clone(),
                cluster: EKS_CLUSTER.into(),
                role: NODES_ROLE.into(),
                subnets: subnets.clone(),
                version: cl.kubernetes_version.clone(),
                instance_types: g.instance_types.clone(),
                min: g.min,
                max: g.max,
                desired: g.desired,
                disk_gb: g.disk_gb,
                labels: g.labels.clone(),
                taints: g.taints.clone(),
                launch_template: Some(template.clone()),
            }),
            &deps,
        );
    }
}
