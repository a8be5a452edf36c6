//! What an AWS install leaves the user with, read from the state entries'
//! outputs: NAT public IPs (to allow-list), VPC and subnet ids, the database
//! endpoint, the cluster, and where generated secrets are kept.

use serde_json::{Map, Value, json};

use crate::plan::state::State;

/// The outputs as JSON, or `None` when the state holds no AWS resource.
pub fn summary(state: &State) -> Option<Value> {
    let mut nat_ips = Vec::new();
    let mut subnets = Map::new();
    let mut out = Map::new();
    for (addr, e) in &state.resources {
        let o = &e.outputs;
        match e.kind.as_str() {
            "aws.vpc" => {
                out.insert("vpcId".into(), o["id"].clone());
            }
            "aws.subnet" => {
                subnets.insert(addr.to_string(), o["id"].clone());
            }
            "aws.nat" => nat_ips.push(o["publicIp"].clone()),
            "aws.database" => {
                out.insert(
                    "database".into(),
                    json!({"identifier": o["id"], "endpoint": o["endpoint"], "port": o["port"], "username": o["username"]}),
                );
                out.insert(
                    "secrets".into(),
                    json!({"databasePasswordFile": o["passwordFile"]}),
                );
            }
            "aws.eks_cluster" => {
                out.insert(
                    "cluster".into(),
                    json!({"name": o["name"], "endpoint": o["endpoint"], "version": o["version"]}),
                );
            }
            _ => {}
        }
    }
    if !state
        .resources
        .keys()
        .any(|a| a.as_str().starts_with("aws."))
    {
        return None;
    }
    out.insert("natPublicIps".into(), json!(nat_ips));
    out.insert("subnets".into(), Value::Object(subnets));
    Some(Value::Object(out))
}

/// The same as indented text lines.
pub fn text(v: &Value) -> String {
    let s = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let mut t = String::from("\nAWS outputs:\n");
    let ips: Vec<String> = v["natPublicIps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect();
    if !ips.is_empty() {
        t.push_str(&format!(
            "  NAT public IPs (allow-list these): {}\n",
            ips.join(", ")
        ));
    }
    if !v["vpcId"].is_null() {
        t.push_str(&format!("  VPC: {}\n", s(&v["vpcId"])));
    }
    for (addr, id) in v["subnets"].as_object().into_iter().flatten() {
        t.push_str(&format!("  {addr}: {}\n", s(id)));
    }
    let db = &v["database"];
    if !db.is_null() {
        t.push_str(&format!(
            "  Database: {}:{} (user {})\n",
            s(&db["endpoint"]),
            s(&db["port"]),
            s(&db["username"])
        ));
    }
    let cl = &v["cluster"];
    if !cl.is_null() {
        t.push_str(&format!(
            "  EKS cluster: {} (Kubernetes {}) at {}\n",
            s(&cl["name"]),
            s(&cl["version"]),
            s(&cl["endpoint"])
        ));
    }
    if let Some(f) = v["secrets"]["databasePasswordFile"].as_str() {
        t.push_str(&format!(
            "  Database master password: kept in {f} (mode 0600)\n"
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Address;
    use crate::plan::state::{Entry, Status};

    fn entry(kind: &str, outputs: Value) -> Entry {
        Entry {
            kind: kind.into(),
            status: Status::Ready,
            id: None,
            token: String::new(),
            props: Value::Null,
            outputs,
            deps: vec![],
            delete_after: vec![],
        }
    }

    #[test]
    fn lists_nat_ips_database_cluster_and_secret_location() {
        let mut st = State::empty("demo");
        let mut put = |a: &str, e| st.resources.insert(Address::new(a), e);
        put("aws.vpc", entry("aws.vpc", json!({"id": "vpc-1"})));
        put(
            "aws.nat[a]",
            entry("aws.nat", json!({"id": "nat-1", "publicIp": "3.3.3.3"})),
        );
        put(
            "aws.subnet.private[a]",
            entry("aws.subnet", json!({"id": "subnet-1"})),
        );
        put(
            "aws.database",
            entry(
                "aws.database",
                json!({"id": "demo-db", "endpoint": "db.host", "port": 5432, "username": "u", "passwordFile": "/s/demo.db-password"}),
            ),
        );
        put(
            "aws.eks_cluster",
            entry(
                "aws.eks_cluster",
                json!({"name": "demo", "endpoint": "https://k", "version": "1.33"}),
            ),
        );
        let v = summary(&st).unwrap();
        assert_eq!(v["natPublicIps"], json!(["3.3.3.3"]));
        assert_eq!(v["subnets"]["aws.subnet.private[a]"], "subnet-1");
        let t = text(&v);
        for want in [
            "3.3.3.3",
            "vpc-1",
            "subnet-1",
            "db.host:5432",
            "Kubernetes 1.33",
            "/s/demo.db-password",
        ] {
            assert!(t.contains(want), "{want} missing from {t}");
        }
        assert!(summary(&State::empty("x")).is_none());
    }
}
