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

/// ANSI colour of an action in a plan on a terminal: create green, delete
/// red, update yellow, replace magenta, adopt cyan.
fn colour(action: Action) -> Option<&'static str> {
    match action {
        Action::Create => Some("32"),
        Action::Delete => Some("31"),
        Action::Update => Some("33"),
        Action::Replace => Some("35"),
        Action::Adopt => Some("36"),
        Action::NoOp => None,
    }
}

fn paint(text: &str, code: Option<&str>, on: bool) -> String {
    match code {
        Some(code) if on => format!("\x1b[{code}m{text}\x1b[0m"),
        _ => text.to_string(),
    }
}

/// Renders the plan for a log or a pipe: no colour codes.
pub fn render(plan: &Plan) -> String {
    render_styled(plan, false)
}

/// Renders the plan, with each action's symbol and verb in its colour when
/// `colour` is on (stdout is a terminal and `NO_COLOR` is unset). Every
/// property and every changed field has its own line.
pub fn render_styled(plan: &Plan, colour_on: bool) -> String {
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
        let tint = colour(c.action);
        let _ = writeln!(
            out,
            "{} {:<width$}  {}: {}",
            paint(&format!("{:>3}", c.action.symbol()), tint, colour_on),
            c.address.as_str(),
            paint(c.action.verb(), tint, colour_on),
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
                        .map(|(k, v)| format!("{k} = {}", short(v)))
                        .collect();
                    for property in scalars {
                        let _ = writeln!(out, "    {:width$}    {property}", "");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Address, Change, PLAN_FORMAT};

    fn change(address: &str, action: Action) -> Change {
        Change {
            address: Address::new(address),
            kind: "x".into(),
            action,
            reason: "because".into(),
            props: Some(serde_json::json!({"name": "n", "cidr": "10.0.0.0/16"})),
            deps: vec![],
            delete_after: vec![],
            observed: None,
            fields: vec![],
        }
    }

    fn plan() -> Plan {
        Plan {
            format: PLAN_FORMAT,
            installation: "demo".into(),
            purpose: Purpose::Install,
            spec_digest: String::new(),
            observed_digest: String::new(),
            changes: vec![
                change("x.new", Action::Create),
                change("x.old", Action::Delete),
                change("x.moved", Action::Update),
                change("x.swapped", Action::Replace),
            ],
        }
    }

    #[test]
    fn colours_each_action_only_when_asked() {
        let plain = render(&plan());
        assert!(!plain.contains('\x1b'), "{plain}");
        let styled = render_styled(&plan(), true);
        for (code, verb) in [
            ("32", "create"),
            ("31", "delete"),
            ("33", "update"),
            ("35", "replace"),
        ] {
            assert!(
                styled.contains(&format!("\x1b[{code}m{verb}\x1b[0m")),
                "{verb} not in colour {code}:\n{styled}"
            );
        }
    }

    #[test]
    fn puts_each_property_on_its_own_line() {
        let text = render(&plan());
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        assert!(lines.contains(&"name = n"), "{text}");
        assert!(lines.contains(&"cidr = 10.0.0.0/16"), "{text}");
    }
}
