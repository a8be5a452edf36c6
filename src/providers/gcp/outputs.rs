//! What a GCP install leaves the user with, read from the state entries'
//! outputs: the Cloud NAT addresses (to allow-list), network and
//! subnetwork, the Cloud SQL private IP, and the cluster.

use serde_json::{Map, Value, json};

use super::kind::*;
use crate::plan::state::State;

/// The outputs as JSON, or `None` when the state holds no GCP resource.
pub fn summary(state: &State) -> Option<Value> {
    if !state
        .resources
        .keys()
        .any(|a| a.as_str().starts_with(PREFIX))
    {
        return None;
    }
    let mut out = Map::new();
    let mut nat_ips = Vec::new();
    let mut automatic_nat = false;
    for e in state.resources.values() {
        let o = &e.outputs;
        match e.kind.as_str() {
            NETWORK => {
                out.insert("network".into(), o["name"].clone());
            }
            SUBNETWORK => {
                out.insert(
                    "subnetwork".into(),
                    json!({"name": o["name"], "cidr": o["cidr"]}),
                );
            }
            NAT_ADDRESS => nat_ips.push(o["address"].clone()),
            NAT => automatic_nat = o["natIps"].as_array().is_none_or(Vec::is_empty),
            SQL_INSTANCE => {
                out.insert(
                    "database".into(),
                    json!({"instance": o["name"], "privateIp": o["privateIp"], "port": o["port"], "username": o["username"], "connectionName": o["connectionName"]}),
                );
                out.insert(
                    "secrets".into(),
                    json!({"databasePasswordFile": o["passwordFile"]}),
                );
            }
            GKE_CLUSTER => {
                out.insert(
                    "cluster".into(),
                    json!({"name": o["name"], "location": o["location"], "endpoint": o["endpoint"], "version": o["version"]}),
                );
            }
            _ => {}
        }
    }
    out.insert("natAddresses".into(), json!(nat_ips));
    if automatic_nat && nat_ips.is_empty() {
        out.insert("natAllocation".into(), json!("automatic"));
    }
    Some(Value::Object(out))
}

/// The same as indented text lines.
pub fn text(v: &Value) -> String {
    let s = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let mut t = String::from("\nGCP outputs:\n");
    let ips: Vec<String> = v["natAddresses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect();
    if !ips.is_empty() {
        t.push_str(&format!(
            "  Cloud NAT addresses (allow-list these): {}\n",
            ips.join(", ")
        ));
    } else if v["natAllocation"] == "automatic" {
        t.push_str("  Cloud NAT addresses: allocated automatically (set gcp.natAddresses to reserve fixed ones)\n");
    }
    if !v["network"].is_null() {
        t.push_str(&format!("  Network: {}\n", s(&v["network"])));
    }
    if !v["subnetwork"].is_null() {
        t.push_str(&format!(
            "  Subnetwork: {} ({})\n",
            s(&v["subnetwork"]["name"]),
            s(&v["subnetwork"]["cidr"])
        ));
    }
    let db = &v["database"];
    if !db.is_null() {
        t.push_str(&format!(
            "  Cloud SQL: {} at {}:{} (user {})\n",
            s(&db["instance"]),
            s(&db["privateIp"]),
            s(&db["port"]),
            s(&db["username"])
        ));
    }
    let cl = &v["cluster"];
    if !cl.is_null() {
        t.push_str(&format!(
            "  GKE cluster: {} in {} (Kubernetes {}) at {}\n",
            s(&cl["name"]),
            s(&cl["location"]),
            s(&cl["version"]),
            s(&cl["endpoint"])
        ));
    }
    if let Some(f) = v["secrets"]["databasePasswordFile"].as_str() {
        t.push_str(&format!("  Database password: kept in {f} (mode 0600)\n"));
    }
    t
}
