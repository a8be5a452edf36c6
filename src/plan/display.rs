//! The human-readable plan: one line per resource with its symbol and
//! reason, the fields that change, and the totals.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, Plan, Purpose};

/// Keys whose values are never shown, whatever a driver put there.
pub fn is_sensitive(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "privatekey",
        "private_key",
        "connection",
    ]
    .iter()
    .any(|s| k.contains(s))
}

/// A copy of `v` with sensitive values masked.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        if is_sensitive(k) {
                            Value::String("(sensitive)".into())
                        } else {
                            redact(v)
                        },
                    )
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        other => other.clone(),
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// Renders the plan for a terminal or a log.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let purpose = match plan.purpose {
        Purpose::Install => "install",
        Purpose::Destroy => "destroy",
    };
    let _ = writeln!(out, "Plan to {purpose} `{}`:", plan.installation);
    let _ = writeln!(out);
    let width = plan
        .changes
        .iter()
        .map(|c| c.address.as_str().len())
        .max()
        .unwrap_or(0);
    for c in &plan.changes {
        let _ = writeln!(
            out,
            "{:>3} {:<width$}  {}: {}",
            c.action.symbol(),
            c.address.as_str(),
            c.action.verb(),
            c.reason
        );
        match c.action {
            Action::Create | Action::Replace => {
                if let Some(Value::Object(props)) = c.props.as_ref().map(redact) {
                    let scalars: Vec<String> = props
                        .iter()
                        .filter(|(_, v)| {
                            !v.is_null() && !v.is_object() && !v.is_array()
                                || v.as_array().is_some_and(|a| {
                                    !a.is_empty() && a.iter().all(|x| !x.is_object())
                                })
                        })
                        .map(|(k, v)| format!("{k}={}", short(v)))
                        .collect();
                    if !scalars.is_empty() {
                        let _ = writeln!(out, "    {:width$}    {}", "", scalars.join(" "));
                    }
                }
            }
            _ => {}
        }
        for f in &c.fields {
            let (from, to) = if is_sensitive(&f.field) {
                ("(sensitive)".into(), "(sensitive)".into())
            } else {
                (short(&redact(&f.from)), short(&redact(&f.to)))
            };
            let forces = if f.forces_replace {
                "  (forces replacement)"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "    {:width$}    {}: {from} -> {to}{forces}",
                "", f.field
            );
        }
    }
    let counts = plan.counts();
    let n = |a: Action| counts.get(&a).copied().unwrap_or(0);
    let _ = writeln!(out);
    if plan.is_noop() {
        let _ = writeln!(out, "No changes: {} resources up to date.", n(Action::NoOp));
    } else {
        let _ = writeln!(
            out,
            "Plan: {} to create, {} to adopt, {} to update, {} to replace, {} to delete, {} unchanged.",
            n(Action::Create),
            n(Action::Adopt),
            n(Action::Update),
            n(Action::Replace),
            n(Action::Delete),
            n(Action::NoOp)
        );
    }
    out
}
