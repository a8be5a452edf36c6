//! What AWS does and moto does not, for the proxy in front of moto:
//!
//! - time: NAT gateways, databases, EKS clusters and node groups stay
//!   pending for a set duration after their create, and deleting for
//!   another after their delete (moto makes and removes them at once);
//! - refusals of deletes AWS refuses and moto allows: releasing an Elastic
//!   IP still used by a NAT gateway (AWS answers `AuthFailure`), deleting a
//!   subnet a NAT gateway is in, or a VPC with an internet gateway attached
//!   (`DependencyViolation`), and an EKS cluster that still has node groups
//!   (`ResourceInUseException`).
//!
//! Each rule names the AWS behaviour it copies; the durations default to
//! zero, so only the refusals apply unless a test sets durations.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long each waited-for kind stays pending after its create, and
/// deleting after its delete.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Durations {
    pub nat: Duration,
    pub database: Duration,
    pub cluster: Duration,
    pub node_group: Duration,
    pub nat_delete: Duration,
    pub database_delete: Duration,
    pub cluster_delete: Duration,
    pub node_group_delete: Duration,
}

impl Durations {
    /// The scaled real durations of issue 10: NAT 1.2 s, RDS 6 s, EKS 10 s,
    /// node group 4 s; deletes 1 / 2 / 3 / 2 s. `scale` multiplies them all.
    pub fn issue(scale: f64) -> Durations {
        let s = |secs: f64| Duration::from_secs_f64(secs * scale);
        Durations {
            nat: s(1.2),
            database: s(6.0),
            cluster: s(10.0),
            node_group: s(4.0),
            nat_delete: s(1.0),
            database_delete: s(2.0),
            cluster_delete: s(3.0),
            node_group_delete: s(2.0),
        }
    }
}

/// A response: status, headers, body.
pub type Answer = (u16, String, Vec<u8>);

/// What the proxy knows of the waited-for resources it saw made.
#[derive(Default)]
pub struct World {
    pub durations: Durations,
    /// Key (`nat:ID`, `db:ID`, `eks:NAME`, `ng:CLUSTER/NAME`) → pending until.
    creating: HashMap<String, Instant>,
    /// Key → deleting until.
    deleting: HashMap<String, Instant>,
    /// NAT gateway id → (allocation id, subnet id).
    nats: HashMap<String, (String, String)>,
    /// Key → a describe answer to give while it is deleting.
    last_seen: HashMap<String, Answer>,
}

/// What the proxy does with a request before moto sees it.
pub enum Before {
    /// Pass it on.
    Forward,
    /// Answer this, without moto.
    Answer(Answer),
    /// Pass it on unless moto says this VPC has an internet gateway attached.
    UnlessGatewayAttached(String),
}

/// A form parameter of an EC2/RDS query body.
pub fn param(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| v.replace("%2F", "/").replace("%3A", ":"))
    })
}

/// The text between `<tag>` and `</tag>`, first occurrence.
fn element<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(&body[start..end])
}

/// An EC2-shaped error (400).
pub fn ec2_error(code: &str, message: &str) -> Answer {
    (
        400,
        "Content-Type: text/xml\r\n".into(),
        format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>").into_bytes(),
    )
}

fn json_error(kind: &str, message: &str) -> Answer {
    (
        409,
        format!("Content-Type: application/json\r\nX-Amzn-ErrorType: {kind}\r\n"),
        format!("{{\"message\": \"{message}\"}}").into_bytes(),
    )
}

/// EKS paths: `/clusters/NAME` and `/clusters/NAME/node-groups/GROUP`.
fn eks_key(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/clusters/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [name] if !name.is_empty() => Some(format!("eks:{name}")),
        [name, "node-groups", group] => Some(format!("ng:{name}/{group}")),
        _ => None,
    }
}

impl World {
    fn open(&self, map: &HashMap<String, Instant>, key: &str) -> bool {
        map.get(key).is_some_and(|until| Instant::now() < *until)
    }

    /// A NAT gateway that exists for AWS: made and not yet fully deleted.
    fn nat_live(&self, nat: &str) -> bool {
        let key = format!("nat:{nat}");
        !self.deleting.contains_key(&key) || self.open(&self.deleting, &key)
    }

    /// The waited-for key of an EKS path that still exists for AWS.
    fn eks_live(&self, key: &str) -> bool {
        self.last_seen.contains_key(key)
            && (!self.deleting.contains_key(key) || self.open(&self.deleting, key))
    }

    pub fn before(&self, name: &str, path: &str, body: &str) -> Before {
        match name {
            // AWS refuses to release an address a NAT gateway uses, until the
            // gateway is deleted, with a misleading AuthFailure.
            "ReleaseAddress" => {
                let alloc = param(body, "AllocationId").unwrap_or_default();
                if self
                    .nats
                    .iter()
                    .any(|(nat, (a, _))| *a == alloc && self.nat_live(nat))
                {
                    return Before::Answer(ec2_error(
                        "AuthFailure",
                        "You do not have permission to access the specified resource.",
                    ));
                }
            }
            "DeleteSubnet" => {
                let subnet = param(body, "SubnetId").unwrap_or_default();
                if self
                    .nats
                    .iter()
                    .any(|(nat, (_, s))| *s == subnet && self.nat_live(nat))
                {
                    return Before::Answer(ec2_error(
                        "DependencyViolation",
                        &format!("The subnet '{subnet}' has dependencies and cannot be deleted."),
                    ));
                }
            }
            "DeleteVpc" => {
                return Before::UnlessGatewayAttached(param(body, "VpcId").unwrap_or_default());
            }
            "DescribeDBInstances" => {
                if let Some(id) = param(body, "DBInstanceIdentifier") {
                    let key = format!("db:{id}");
                    if self.open(&self.deleting, &key)
                        && let Some(answer) = self.last_seen.get(&key)
                    {
                        return Before::Answer(answer.clone());
                    }
                }
            }
            _ => {}
        }
        let Some((method, path)) = name.split_once(' ').map(|(m, _)| (m, path)) else {
            return Before::Forward;
        };
        let Some(key) = eks_key(path) else {
            return Before::Forward;
        };
        match method {
            "GET" if self.open(&self.deleting, &key) => {
                if let Some(answer) = self.last_seen.get(&key) {
                    return Before::Answer(answer.clone());
                }
            }
            // EKS refuses to delete a cluster that still has node groups.
            "DELETE" if key.starts_with("eks:") => {
                let prefix = format!("ng:{}/", &key[4..]);
                let groups: Vec<&str> = self
                    .last_seen
                    .keys()
                    .filter(|k| k.starts_with(&prefix) && self.eks_live(k))
                    .map(|k| &k[prefix.len()..])
                    .collect();
                if !groups.is_empty() {
                    return Before::Answer(json_error(
                        "ResourceInUseException",
                        &format!("Cluster has nodegroups attached: {}", groups.join(", ")),
                    ));
                }
            }
            _ => {}
        }
        Before::Forward
    }

    /// Notes creates and deletes, and rewrites what describes say while a
    /// resource is pending or deleting.
    pub fn after(&mut self, name: &str, path: &str, request: &str, answer: Answer) -> Answer {
        let (status, headers, body) = answer;
        if status != 200 {
            return (status, headers, body);
        }
        let now = Instant::now();
        let d = self.durations;
        let text = String::from_utf8_lossy(&body).to_string();
        let text = match name {
            "CreateNatGateway" => {
                if let Some(id) = element(&text, "natGatewayId") {
                    let alloc = param(request, "AllocationId").unwrap_or_default();
                    let subnet = param(request, "SubnetId").unwrap_or_default();
                    self.nats.insert(id.to_string(), (alloc, subnet));
                    self.creating.insert(format!("nat:{id}"), now + d.nat);
                }
                text.replace("<state>available</state>", "<state>pending</state>")
            }
            "DeleteNatGateway" => {
                if let Some(id) = param(request, "NatGatewayId") {
                    self.deleting
                        .insert(format!("nat:{id}"), now + d.nat_delete);
                }
                text
            }
            "DescribeNatGateways" => {
                let mut text = text;
                for nat in self.nats.keys() {
                    let key = format!("nat:{nat}");
                    let id = format!("<natGatewayId>{nat}</natGatewayId>");
                    if self.open(&self.creating, &key) {
                        text = text.replace(
                            &format!("{id}<state>available</state>"),
                            &format!("{id}<state>pending</state>"),
                        );
                    }
                    if self.open(&self.deleting, &key) {
                        text = text.replace(
                            &format!("{id}<state>deleted</state>"),
                            &format!("{id}<state>deleting</state>"),
                        );
                    }
                }
                text
            }
            "CreateDBInstance" => {
                if let Some(id) = param(request, "DBInstanceIdentifier") {
                    self.creating.insert(format!("db:{id}"), now + d.database);
                }
                text
            }
            "DescribeDBInstances" => {
                let mut text = text;
                let ids: Vec<String> = self
                    .creating
                    .keys()
                    .filter_map(|k| k.strip_prefix("db:").map(str::to_string))
                    .collect();
                for id in ids {
                    if self.open(&self.creating, &format!("db:{id}")) {
                        text = db_status(&text, &id, "creating");
                    }
                }
                text
            }
            "DeleteDBInstance" => {
                if let Some(id) = param(request, "DBInstanceIdentifier")
                    && let Some(instance) = element(&text, "DBInstance")
                {
                    let key = format!("db:{id}");
                    self.deleting.insert(key.clone(), now + d.database_delete);
                    let described = format!(
                        "<DescribeDBInstancesResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><DescribeDBInstancesResult><DBInstances><DBInstance>{instance}</DBInstance></DBInstances></DescribeDBInstancesResult><ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></DescribeDBInstancesResponse>"
                    );
                    let described = db_status(&described, &id, "deleting");
                    self.last_seen
                        .insert(key, (200, headers.clone(), described.into_bytes()));
                }
                text
            }
            _ => text,
        };
        let mut body = text.into_bytes();
        let Some((method, _)) = name.split_once(' ') else {
            return (status, headers, body);
        };
        let created_key = match (method, eks_key(path)) {
            ("POST", None) if path == "/clusters" => {
                json_field(request, "name").map(|n| format!("eks:{n}"))
            }
            ("POST", None) => path
                .strip_prefix("/clusters/")
                .and_then(|rest| rest.strip_suffix("/node-groups"))
                .and_then(|cluster| {
                    json_field(request, "nodegroupName").map(|g| format!("ng:{cluster}/{g}"))
                }),
            (_, key) => key,
        };
        let Some(key) = created_key else {
            return (status, headers, body);
        };
        let (pending, deleting) = if key.starts_with("eks:") {
            (d.cluster, d.cluster_delete)
        } else {
            (d.node_group, d.node_group_delete)
        };
        match method {
            "POST" => {
                self.creating.insert(key.clone(), now + pending);
                body = eks_status(&body, "CREATING");
                self.last_seen
                    .insert(key, (status, headers.clone(), body.clone()));
            }
            "GET" => {
                if self.open(&self.creating, &key) {
                    body = eks_status(&body, "CREATING");
                }
                self.last_seen
                    .insert(key, (status, headers.clone(), body.clone()));
            }
            "DELETE" => {
                self.deleting.insert(key.clone(), now + deleting);
                body = eks_status(&body, "DELETING");
                self.last_seen
                    .insert(key, (status, headers.clone(), body.clone()));
            }
            _ => {}
        }
        (status, headers, body)
    }
}

fn json_field(body: &str, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get(key)?.as_str().map(str::to_string)
}

/// Sets the status of the database `id` in an RDS answer.
fn db_status(text: &str, id: &str, status: &str) -> String {
    let marker = format!("<DBInstanceIdentifier>{id}</DBInstanceIdentifier>");
    let Some(at) = text.find(&marker) else {
        return text.to_string();
    };
    let rest = &text[at..];
    let (Some(open), Some(close)) = (
        rest.find("<DBInstanceStatus>"),
        rest.find("</DBInstanceStatus>"),
    ) else {
        return text.to_string();
    };
    let open = at + open + "<DBInstanceStatus>".len();
    let close = at + close;
    format!("{}{status}{}", &text[..open], &text[close..])
}

/// Sets `cluster.status` or `nodegroup.status` in an EKS answer.
fn eks_status(body: &[u8], status: &str) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    for key in ["cluster", "nodegroup"] {
        if v[key].is_object() {
            v[key]["status"] = status.into();
        }
    }
    serde_json::to_vec(&v).unwrap()
}
