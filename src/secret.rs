//! `Redacted<T>`: a secret that cannot leak through Debug, Display or serde.

use std::fmt;

/// Holds a secret value. Debug and Display print `(redacted)`; it does not
/// implement Serialize, so it cannot end up in a plan or the state file.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    pub fn new(value: T) -> Self {
        Redacted(value)
    }
    /// The secret itself: call only where it is handed to its destination.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Redacted::new("hunter2".to_string());
        assert_eq!(
            format!("{s} {s:?} {:?}", Some(&s)),
            "(redacted) (redacted) Some((redacted))"
        );
        assert_eq!(s.expose(), "hunter2");
    }
}
