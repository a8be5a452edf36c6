//! Values migration between chart lines: the user's own chart values
//! (`platform.values`) written for the 0.37 or 1.x chart use keys that 2.x
//! renamed (`global.postgresqlEnabled` became `global.postgresql.enabled`,
//! the namespace pools moved under `global.namespaceManagement`, …), and
//! some keys the 1.x and 2.x charts no longer have at all (stan, velero).
//! Helm ignores a key the chart does not read, so such a value would
//! silently stop working after an upgrade. [`migrate`] moves each renamed
//! key to its new place, drops the keys with no successor, and says what it
//! did, so `liftoff upgrade` and `liftoff render` can report it.
//!
//! The table was made by comparing the keys the real charts 0.37.7, 1.2.0
//! and 2.1.0 declare (their `values.yaml` and their subcharts'); the test
//! in `tests/it/chart.rs` holds every new key to the chart that must have it.

use serde::Serialize;
use serde_json::Value;

use crate::spec::chart::ChartLine;

/// How a value changes when it moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Moves as it is.
    Same,
    /// A boolean whose meaning flipped (`disableX` → `x.enabled`).
    Inverted,
}

/// One rename: `from` (dotted path) becomes `to` on the chart lines after
/// `since` (the first line with the new name).
struct Rename {
    from: &'static str,
    to: &'static str,
    since: ChartLine,
    change: Change,
}

const fn rename(from: &'static str, to: &'static str) -> Rename {
    Rename {
        from,
        to,
        since: ChartLine::V2,
        change: Change::Same,
    }
}

/// Keys 2.x renamed (0.37 and 1.x share the old names). A key whose
/// subkeys all moved together is listed once, as the map.
const RENAMES: &[Rename] = &[
    rename("global.postgresqlEnabled", "global.postgresql.enabled"),
    rename(
        "global.features.namespacePools",
        "global.namespaceManagement.namespacePools",
    ),
    rename(
        "global.manualNamespaceNamesEnabled",
        "global.namespaceManagement.manualNamespaceNames.enabled",
    ),
    rename(
        "global.namespaceFreeFormEntry",
        "global.namespaceManagement.namespaceFreeFormEntry.enabled",
    ),
    rename(
        "global.dagOnlyDeployment",
        "global.deployMechanisms.dagOnlyDeployment",
    ),
    rename(
        "global.deployRollbackEnabled",
        "global.deploymentLifecycle.deployRollback.enabled",
    ),
    rename(
        "global.enableArgoCDAnnotation",
        "global.argoCD.annotation.enabled",
    ),
    rename(
        "global.enablePerHostIngress",
        "global.perHostIngress.enabled",
    ),
    rename("global.loggingSidecar", "global.logging.loggingSidecar"),
    rename("global.openshiftEnabled", "global.openshift.enabled"),
    rename(
        "global.podDisruptionBudgetsEnabled",
        "global.podDisruptionBudgets.enabled",
    ),
    rename(
        "global.prometheusPostgresExporterEnabled",
        "global.prometheusPostgresExporter.enabled",
    ),
    rename("global.rbacEnabled", "global.rbac.enabled"),
    rename("global.sccEnabled", "global.scc.enabled"),
    rename(
        "global.taskUsageMetricsEnabled",
        "global.metricsReporting.taskUsageMetrics.enabled",
    ),
    Rename {
        from: "global.disableManageClusterScopedResources",
        to: "global.manageClusterScopedResources.enabled",
        since: ChartLine::V2,
        change: Change::Inverted,
    },
    // Houston's own configuration (free-form, written as Houston's
    // local-production.yaml): 2.x reads these as maps.
    rename(
        "astronomer.houston.config.publicSignups",
        "astronomer.houston.config.publicSignups.enabled",
    ),
    rename(
        "astronomer.houston.config.emailConfirmation",
        "astronomer.houston.config.emailConfirmation.enabled",
    ),
];

/// Keys the 1.x and 2.x charts no longer have, with what replaced the
/// feature (for the report).
const DROPPED: &[(&str, &str)] = &[
    ("global.stan", "NATS JetStream replaced STAN"),
    ("stan", "NATS JetStream replaced STAN"),
    ("global.singleNamespace", "no longer supported"),
    ("global.veleroEnabled", "no longer part of the chart"),
    ("global.acme", "no longer part of the chart"),
    (
        "global.enableHoustonInternalAuthorization",
        "always on since 1.0",
    ),
    (
        "global.nodeExporterSccEnabled",
        "no longer part of the chart",
    ),
    ("fluentd", "Vector replaced Fluentd as the log collector"),
];

/// What the migration did to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Move {
    /// The key as the user wrote it (dotted, under `platform.values`).
    pub from: String,
    /// Its new place; `None` when the target chart has no such key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Why, in a few words.
    pub note: String,
}

impl std::fmt::Display for Move {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.to {
            Some(to) => write!(f, "platform.values.{} → {to} ({})", self.from, self.note),
            None => write!(f, "platform.values.{} dropped ({})", self.from, self.note),
        }
    }
}

fn path(dotted: &str) -> Vec<&str> {
    dotted.split('.').collect()
}

fn take(values: &mut Value, keys: &[&str]) -> Option<Value> {
    let (last, parents) = keys.split_last()?;
    let mut node = values;
    for k in parents {
        node = node.get_mut(*k)?;
    }
    node.as_object_mut()?.remove(*last)
}

fn get<'a>(values: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(values, |node, k| node.get(*k))
}

/// Puts `value` at `keys`, making the maps on the way; a value already
/// there (the user wrote both names) wins over the moved one.
fn put(values: &mut Value, keys: &[&str], value: Value) -> bool {
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let mut node = values;
    for k in parents {
        let Some(map) = node.as_object_mut() else {
            return false;
        };
        node = map
            .entry(k.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    let Some(map) = node.as_object_mut() else {
        return false;
    };
    if map.contains_key(*last) {
        return false;
    }
    map.insert(last.to_string(), value);
    true
}

/// `values` (the user's `platform.values`) made right for the chart `line`:
/// renamed keys moved, keys the line lacks dropped, with what was done.
pub fn migrate(values: &Value, line: ChartLine) -> (Value, Vec<Move>) {
    let mut out = values.clone();
    let mut moves = Vec::new();
    if !out.is_object() {
        return (out, moves);
    }
    if line == ChartLine::V0_37 {
        return (out, moves);
    }
    for r in RENAMES.iter().filter(|r| line == r.since) {
        let from = path(r.from);
        // `publicSignups: true` → `publicSignups.enabled: true`: the old
        // key is a prefix of the new one, so only a scalar moves.
        if r.to.starts_with(&format!("{}.", r.from))
            && get(&out, &from).is_none_or(Value::is_object)
        {
            continue;
        }
        let Some(mut value) = take(&mut out, &from) else {
            continue;
        };
        if let (Change::Inverted, Some(b)) = (r.change, value.as_bool()) {
            value = Value::Bool(!b);
        }
        let note = match (r.change, put(&mut out, &path(r.to), value)) {
            (_, false) => "the new key was set already and wins".to_string(),
            (Change::Inverted, true) => "renamed, true and false swapped".into(),
            (Change::Same, true) => "renamed".into(),
        };
        moves.push(Move {
            from: r.from.into(),
            to: Some(r.to.into()),
            note,
        });
    }
    for (key, note) in DROPPED {
        if take(&mut out, &path(key)).is_some() {
            moves.push(Move {
                from: (*key).into(),
                to: None,
                note: (*note).into(),
            });
        }
    }
    (out, moves)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renamed_keys_move_for_2x_and_stay_for_0_37() {
        let user = json!({
            "global": {"postgresqlEnabled": false, "features": {"namespacePools": {"enabled": true, "namespaces": {"names": ["a"]}}}, "baseDomain": "x"},
            "astronomer": {"houston": {"config": {"publicSignups": false}}},
        });
        let (same, moves) = migrate(&user, ChartLine::V0_37);
        assert_eq!(same, user);
        assert!(moves.is_empty());
        let (v2, moves) = migrate(&user, ChartLine::V2);
        assert_eq!(
            v2,
            json!({
                "global": {"postgresql": {"enabled": false}, "features": {}, "namespaceManagement": {"namespacePools": {"enabled": true, "namespaces": {"names": ["a"]}}}, "baseDomain": "x"},
                "astronomer": {"houston": {"config": {"publicSignups": {"enabled": false}}}},
            })
        );
        let from: Vec<&str> = moves.iter().map(|m| m.from.as_str()).collect();
        assert_eq!(
            from,
            [
                "global.postgresqlEnabled",
                "global.features.namespacePools",
                "astronomer.houston.config.publicSignups"
            ]
        );
        assert_eq!(
            moves[0].to_string(),
            "platform.values.global.postgresqlEnabled → global.postgresql.enabled (renamed)"
        );
    }

    #[test]
    fn an_inverted_flag_flips_and_a_key_set_twice_keeps_the_new_one() {
        let user = json!({"global": {"disableManageClusterScopedResources": true, "rbacEnabled": false, "rbac": {"enabled": true}}});
        let (v2, moves) = migrate(&user, ChartLine::V2);
        assert_eq!(
            v2,
            json!({"global": {"manageClusterScopedResources": {"enabled": false}, "rbac": {"enabled": true}}})
        );
        assert_eq!(moves[0].note, "the new key was set already and wins");
        assert_eq!(moves[1].note, "renamed, true and false swapped");
    }

    #[test]
    fn keys_without_a_successor_are_dropped_for_1x_and_2x() {
        let user = json!({"global": {"stan": {"enabled": true}, "veleroEnabled": true}, "fluentd": {"a": 1}, "nginx": {"x": 1}});
        for line in [ChartLine::V1, ChartLine::V2] {
            let (v, moves) = migrate(&user, line);
            assert_eq!(v, json!({"global": {}, "nginx": {"x": 1}}));
            assert_eq!(moves.len(), 3);
            assert!(moves.iter().all(|m| m.to.is_none()));
        }
        // 1.x keeps 0.37's names for what 2.x renamed.
        let (v, moves) = migrate(
            &json!({"global": {"postgresqlEnabled": false}}),
            ChartLine::V1,
        );
        assert_eq!(v, json!({"global": {"postgresqlEnabled": false}}));
        assert!(moves.is_empty());
    }

    #[test]
    fn values_already_in_the_new_shape_are_left_alone() {
        let user = json!({"astronomer": {"houston": {"config": {"publicSignups": {"enabled": true}}}}, "global": {"postgresql": {"enabled": false}}});
        let (v, moves) = migrate(&user, ChartLine::V2);
        assert_eq!(v, user);
        assert!(moves.is_empty());
    }
}
