//! Layering a spec over its profile: maps deep-merge, lists replace, the
//! spec wins. A key the spec sets to null removes the profile's value. A
//! one-of value (a secret source: `fromFile` or `fromEnv`) replaces the
//! profile's as a whole, so a spec can switch a profile's source.

use super::yaml::{Node, Value};

/// The keys of a one-of value: a map holding any of them is taken whole.
const ONE_OF: &[&str] = &["fromFile", "fromEnv"];

fn is_one_of(entries: &[(super::yaml::Key, Node)]) -> bool {
    entries
        .iter()
        .any(|(k, _)| ONE_OF.contains(&k.name.as_str()))
}

/// Merges `over` onto `base`, keeping each value's own position.
pub fn merge(base: &Node, over: &Node) -> Node {
    match (&base.value, &over.value) {
        (Value::Map(_), Value::Map(o)) if is_one_of(o) => over.clone(),
        (Value::Map(b), Value::Map(o)) => {
            let mut entries = b.clone();
            for (key, value) in o {
                match entries.iter_mut().find(|(k, _)| k.name == key.name) {
                    Some(slot) => *slot = (key.clone(), merge(&slot.1, value)),
                    None => entries.push((key.clone(), value.clone())),
                }
            }
            Node {
                value: Value::Map(entries),
                pos: over.pos.clone(),
            }
        }
        _ => over.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::yaml::parse;

    #[test]
    fn maps_deep_merge_lists_replace_spec_wins() {
        let base = parse(
            "p.yaml",
            "a: {x: 1, y: 2}\nl: [1, 2, 3]\ns: base\nkeep: yes\n",
        )
        .unwrap();
        let over = parse("s.yaml", "a: {y: 20, z: 30}\nl: [9]\ns: spec\n").unwrap();
        let m = merge(&base, &over);
        assert_eq!(
            m.to_json(),
            serde_json::json!({"a": {"x": 1, "y": 20, "z": 30}, "l": [9], "s": "spec", "keep": "yes"})
        );
        // Each value keeps the file it came from.
        assert_eq!(&*m.locate("a.x").pos.file, "p.yaml");
        assert_eq!(&*m.locate("a.y").pos.file, "s.yaml");
    }

    #[test]
    fn a_secret_source_replaces_the_profiles_whole() {
        let base = parse(
            "p.yaml",
            "database: {mode: external, connection: {fromEnv: LIFTOFF_DATABASE_URL}}\n",
        )
        .unwrap();
        let over = parse("s.yaml", "database: {connection: {fromFile: ./db-url}}\n").unwrap();
        assert_eq!(
            merge(&base, &over).to_json(),
            serde_json::json!({"database": {"mode": "external", "connection": {"fromFile": "./db-url"}}})
        );
    }

    #[test]
    fn null_in_spec_clears_profile_value() {
        let base = parse("p.yaml", "dns: {zone: example.com}\n").unwrap();
        let over = parse("s.yaml", "dns: null\n").unwrap();
        assert_eq!(
            merge(&base, &over).to_json(),
            serde_json::json!({"dns": null})
        );
    }
}
