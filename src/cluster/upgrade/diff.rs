//! What an upgrade changes, shown before it changes anything: the chart
//! values (the release's against the new ones) and the rendered manifests
//! (the deployed revision's manifest against the new chart rendered with
//! the new values), each object as a unified diff. Secrets are redacted on
//! both sides: a Secret's `data`/`stringData` values, and any value whose
//! key names a password, token, secret or private key.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

const REDACTED: &str = "(redacted)";

/// Whether a values key names a secret value.
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    // Names of secrets (`tlsSecret: astronomer-tls`) are references, not
    // secret values.
    if k.ends_with("secretname") || k == "tlssecret" || k.ends_with("secretref") {
        return false;
    }
    [
        "password",
        "passwd",
        "token",
        "secret",
        "privatekey",
        "apikey",
        "connection",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// `values` with every secret-named scalar replaced.
pub fn redact_values(values: &Value) -> Value {
    match values {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(_) | Value::Number(_) if secret_key(k) => {
                            Value::String(REDACTED.into())
                        }
                        other => redact_values(other),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact_values).collect()),
        other => other.clone(),
    }
}

/// A unified diff of two texts (`---`/`+++` headers, three lines of
/// context); empty when they are equal.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string()
}

/// `v` with every map's keys in order, so two documents that differ only
/// in key order (Helm's stored values and liftoff's rendering) compare equal.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The values diff, redacted, as YAML lines (keys in order).
pub fn values_diff(old: &Value, new: &Value, old_name: &str, new_name: &str) -> String {
    unified(
        &crate::spec::to_yaml(&sorted(&redact_values(old))),
        &crate::spec::to_yaml(&sorted(&redact_values(new))),
        old_name,
        new_name,
    )
}

/// One object's change between two manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    /// `Kind namespace/name` (or `Kind name` cluster-wide).
    pub object: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// The unified diff (secrets redacted).
    pub diff: String,
}

/// The objects of a multi-document YAML manifest, by `Kind ns/name`, each
/// redacted and written back as YAML.
pub fn objects(manifest: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for doc in split_documents(manifest) {
        let Ok(parsed) = crate::spec::yaml::parse("manifest", &doc) else {
            continue;
        };
        let mut v = parsed.to_json();
        let Some(kind) = v.get("kind").and_then(Value::as_str).map(String::from) else {
            continue;
        };
        let name = v
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let key = match v.pointer("/metadata/namespace").and_then(Value::as_str) {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        };
        if kind == "Secret" {
            for field in ["data", "stringData"] {
                if let Some(Value::Object(m)) = v.get_mut(field) {
                    for value in m.values_mut() {
                        *value = Value::String(REDACTED.into());
                    }
                }
            }
        }
        out.insert(
            key,
            crate::spec::to_yaml(&sorted(&redact_values_in_env(&v))),
        );
    }
    out
}

/// Environment variables named like secrets with literal values.
fn redact_values_in_env(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let named_secret = m
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(secret_key);
            Value::Object(
                m.iter()
                    .map(|(k, x)| {
                        let x = if k == "value" && named_secret && x.is_string() {
                            Value::String(REDACTED.into())
                        } else {
                            redact_values_in_env(x)
                        };
                        (k.clone(), x)
                    })
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(redact_values_in_env).collect()),
        other => other.clone(),
    }
}

/// The documents of a YAML stream (split at `---` lines), empty ones left out.
pub fn split_documents(manifest: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in manifest.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        } else {
            let d = docs.last_mut().expect("one document");
            d.push_str(line);
            d.push('\n');
        }
    }
    docs.into_iter()
        .filter(|d| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .collect()
}

/// Objects added, removed and changed from `old` to `new` (manifests).
pub fn manifest_diff(old: &str, new: &str) -> Vec<ObjectChange> {
    let (old, new) = (objects(old), objects(new));
    let mut out = Vec::new();
    for (key, before) in &old {
        match new.get(key) {
            None => out.push(ObjectChange {
                object: key.clone(),
                change: "removed",
                diff: unified(before, "", key, "/dev/null"),
            }),
            Some(after) if after != before => out.push(ObjectChange {
                object: key.clone(),
                change: "changed",
                diff: unified(before, after, key, key),
            }),
            Some(_) => {}
        }
    }
    for (key, after) in &new {
        if !old.contains_key(key) {
            out.push(ObjectChange {
                object: key.clone(),
                change: "added",
                diff: unified("", after, "/dev/null", key),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_are_redacted_and_secret_names_kept() {
        let v = json!({"global": {"tlsSecret": "astronomer-tls", "privateRegistry": {"secretName": "reg", "password": "hunter2"}}, "smtp": {"connection": "smtp://u:p@h"}, "list": [{"apiToken": 5}]});
        let r = redact_values(&v);
        assert_eq!(r["global"]["tlsSecret"], "astronomer-tls");
        assert_eq!(r["global"]["privateRegistry"]["secretName"], "reg");
        assert_eq!(r["global"]["privateRegistry"]["password"], REDACTED);
        assert_eq!(r["smtp"]["connection"], REDACTED);
        assert_eq!(r["list"][0]["apiToken"], REDACTED);
        let d = values_diff(&json!({"a": 1, "password": "old"}), &r, "old", "new");
        assert!(
            !d.contains("hunter2") && !d.contains(": old") && d.contains("+global:"),
            "{d}"
        );
    }

    #[test]
    fn manifests_diff_per_object_with_secret_data_redacted() {
        let old = "---\n# Source: x\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: n\ndata:\n  note: one\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\ndata:\n  key: c2VjcmV0MQ==\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: gone\n  namespace: n\n";
        let new = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: n\ndata:\n  note: two\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: n\ndata:\n  key: c2VjcmV0Mg==\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: new\n";
        let changes = manifest_diff(old, new);
        let summary: Vec<(&str, &str)> = changes
            .iter()
            .map(|c| (c.object.as_str(), c.change))
            .collect();
        assert_eq!(
            summary,
            [
                ("ConfigMap n/c", "changed"),
                ("Service n/gone", "removed"),
                ("ClusterRole new", "added")
            ]
        );
        assert!(
            changes[0].diff.contains("-  note: one\n+  note: two"),
            "{}",
            changes[0].diff
        );
        let all: String = changes.iter().map(|c| c.diff.clone()).collect();
        assert!(!all.contains("c2VjcmV0"), "{all}");
    }
}
