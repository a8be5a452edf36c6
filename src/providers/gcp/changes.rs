//! What the GCP driver can change on an existing resource: node pool
//! autoscaling bounds and the Cloud SQL settings in place; a resource found
//! not ready yet is waited for; everything else is refused by the plan
//! (saying what to do), so apply never meets a change it cannot make.

use serde_json::Value;

use super::kind::*;
use crate::plan::driver::{Observed, diff_props};
use crate::plan::{FieldChange, Resource};

/// Whether `field` of `kind` changes in place.
fn in_place(kind: &str, field: &str) -> bool {
    matches!(
        (kind, field),
        (NODE_POOL, "min" | "max" | "desired")
            | (
                SQL_INSTANCE,
                "tier" | "storageGb" | "regional" | "deletionProtection" | "backupRetentionDays"
            )
    )
}

/// The fields of `desired` that differ from `observed`.
pub fn diff(desired: &Resource, observed: &Observed) -> Vec<FieldChange> {
    let kind = desired.kind.as_str();
    let mut fields: Vec<FieldChange> = diff_props(&desired.props, &observed.props, &[])
        .into_iter()
        .filter(|f| !(kind == NODE_POOL && f.field == "desired"))
        .map(|f| {
            if in_place(kind, &f.field) {
                f
            } else {
                let field = f.field.clone();
                f.refusing(
                    format!("liftoff does not change `{field}` of an existing {kind}"),
                    "set it back in the spec, or change it in Google Cloud and then in the spec",
                )
            }
        })
        .collect();
    if observed.props.get(super::sql::READY) == Some(&Value::Bool(false)) {
        fields.push(FieldChange::in_place(
            super::sql::READY,
            Value::Bool(false),
            Value::Bool(true),
        ));
    }
    fields
}
