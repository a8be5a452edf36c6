//! Format versions of the files liftoff writes and reads back (the state
//! file, saved plans), and the steps that bring a file of an older format up
//! to the current one, so a newer liftoff reads what an older one wrote
//! without planning spurious changes. A file of a newer format than this
//! liftoff knows is refused, never guessed at.
//!
//! To change a format: bump its `current`, and append one [`Step`] that turns
//! a file of the previous format into the new one (JSON in, JSON out: rename
//! a kind, move a prop, fill in what the old format left out). Keep the
//! fixture of every older format under `tests/fixtures/state/` with a test
//! that it still loads and plans a no-op.

use serde_json::Value;

/// Turns a file of format N (as JSON) into format N + 1. An error says why
/// the file cannot be upgraded.
pub type Step = fn(&mut Value) -> Result<(), String>;

/// One file format: its current version and the steps from version 1.
pub struct Format {
    /// What the file is, for messages ("state file", "saved plan").
    pub what: &'static str,
    /// The version this liftoff writes.
    pub current: u32,
    /// `steps[i]` turns format `i + 1` into `i + 2`; there are
    /// `current - 1` of them.
    pub steps: &'static [Step],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("the {what} has format {found}, newer than this liftoff reads (up to {current})")]
    TooNew {
        what: &'static str,
        found: u64,
        current: u32,
    },
    #[error("the {what} has no valid `format` version")]
    Missing { what: &'static str },
    #[error("cannot upgrade the {what} from format {from} to {}: {reason}", from + 1)]
    Step {
        what: &'static str,
        from: u32,
        reason: String,
    },
}

impl FormatError {
    pub fn hint(&self) -> Option<String> {
        match self {
            FormatError::TooNew { .. } => Some(
                "a newer liftoff wrote it: run that version (or a later one); an older liftoff must not change what a newer one manages".into(),
            ),
            FormatError::Missing { .. } | FormatError::Step { .. } => None,
        }
    }
}

impl Format {
    /// Brings `file` up to the current format in place and returns the
    /// format it had (equal to `current` when nothing changed).
    pub fn upgrade(&self, file: &mut Value) -> Result<u32, FormatError> {
        debug_assert_eq!(self.steps.len() + 1, self.current as usize);
        let found = file
            .get("format")
            .and_then(Value::as_u64)
            .filter(|f| *f >= 1)
            .ok_or(FormatError::Missing { what: self.what })?;
        if found > u64::from(self.current) {
            return Err(FormatError::TooNew {
                what: self.what,
                found,
                current: self.current,
            });
        }
        let original = found as u32;
        for from in original..self.current {
            let step = self.steps[(from - 1) as usize];
            step(file).map_err(|reason| FormatError::Step {
                what: self.what,
                from,
                reason,
            })?;
            file["format"] = Value::from(from + 1);
        }
        Ok(original)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// v1 → v2 renames `kind` to `type`; v2 → v3 adds `labels`.
    const STEPS: &[Step] = &[
        |v| {
            let kind = v
                .as_object_mut()
                .and_then(|o| o.remove("kind"))
                .ok_or("no kind")?;
            v["type"] = kind;
            Ok(())
        },
        |v| {
            v["labels"] = json!({});
            Ok(())
        },
    ];
    const THREE: Format = Format {
        what: "test file",
        current: 3,
        steps: STEPS,
    };

    #[test]
    fn an_older_file_is_upgraded_step_by_step() {
        let mut v = json!({"format": 1, "kind": "net.vpc"});
        assert_eq!(THREE.upgrade(&mut v), Ok(1));
        assert_eq!(v, json!({"format": 3, "type": "net.vpc", "labels": {}}));
        let mut v = json!({"format": 2, "type": "net.vpc"});
        assert_eq!(THREE.upgrade(&mut v), Ok(2));
        assert_eq!(v, json!({"format": 3, "type": "net.vpc", "labels": {}}));
        let current = v.clone();
        assert_eq!(THREE.upgrade(&mut v), Ok(3));
        assert_eq!(v, current, "the current format is left alone");
    }

    #[test]
    fn a_newer_or_unversioned_file_is_refused() {
        let e = THREE.upgrade(&mut json!({"format": 4})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the test file has format 4, newer than this liftoff reads (up to 3)"
        );
        assert!(e.hint().unwrap().contains("a newer liftoff wrote it"));
        for bad in [
            json!({}),
            json!({"format": 0}),
            json!({"format": "1"}),
            json!([]),
        ] {
            assert_eq!(
                THREE.upgrade(&mut bad.clone()),
                Err(FormatError::Missing { what: "test file" }),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_failing_step_says_which() {
        let e = THREE.upgrade(&mut json!({"format": 1})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot upgrade the test file from format 1 to 2: no kind"
        );
    }
}
