//! How AWS resources are marked as an installation's: tags, whose keys and
//! values may hold `/`, `:` and `[` `]`, so the address goes in as it is.

use crate::providers::Ownership;

/// Tag naming the installation that owns a resource.
pub const TAG_INSTALLATION: &str = "liftoff.dev/installation";

/// Tag naming the resource's address in the plan.
pub const TAG_ADDRESS: &str = "liftoff.dev/address";

/// Tag naming the create attempt that made a resource (its idempotency
/// token): copies left by one attempt's retried create carry the same one.
pub const TAG_ATTEMPT: &str = "liftoff.dev/attempt";

/// The AWS tag encoding of ownership.
pub struct Tags;

impl Ownership for Tags {
    fn marks(&self, installation: &str, address: &str) -> Vec<(String, String)> {
        vec![
            (TAG_INSTALLATION.into(), installation.into()),
            (TAG_ADDRESS.into(), address.into()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tags_are_needed() {
        let mine = [
            (TAG_INSTALLATION, "demo"),
            (TAG_ADDRESS, "aws.subnet.private[a]"),
            ("Name", "x"),
        ];
        assert!(Tags.owns("demo", "aws.subnet.private[a]", &mut mine.iter().copied()));
        assert!(!Tags.owns("demo", "aws.vpc", &mut mine.iter().copied()));
        assert!(!Tags.owns("other", "aws.subnet.private[a]", &mut mine.iter().copied()));
        assert!(!Tags.owns(
            "demo",
            "aws.subnet.private[a]",
            &mut mine[..1].iter().copied()
        ));
    }
}
