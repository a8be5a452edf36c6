//! Plans: what liftoff will create, adopt, change or delete, as a value
//! computed from desired resources and the observed state, and the engine
//! that carries one out. Nothing here knows a cloud, a phase or the command
//! line: resources, kinds and addresses are opaque to it.

pub mod apply;
pub mod compute;
pub mod display;
pub mod driver;
pub mod events;
pub mod format;
pub mod graph;
pub mod state;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A resource's stable name, given by the side that makes it (e.g. a
/// cloud's subnet in one zone); the engine only compares them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Address(pub String);

impl Address {
    pub fn new(s: impl Into<String>) -> Self {
        Address(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One resource liftoff wants to exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub address: Address,
    /// Which driver handles it: drivers are registered by kind prefix.
    pub kind: String,
    /// Desired configuration. Never holds a secret value.
    pub props: Value,
    /// Resources that must exist first.
    pub deps: Vec<Address>,
    /// On destroy, delete this one only after these are gone (an order that
    /// must not hold up creation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_after: Vec<Address>,
}

/// What a plan does to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    /// Found by its ownership tags but not in the state file: take it over.
    Adopt,
    Update,
    Replace,
    Delete,
    NoOp,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Adopt => "=",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::NoOp => " ",
        }
    }
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Adopt => "adopt",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::NoOp => "no change",
        }
    }
}

/// One field whose observed value differs from the desired one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
    /// The cloud cannot change it in place: the resource is replaced.
    pub forces_replace: bool,
    /// liftoff does not make this change at all: the plan is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
}

impl FieldChange {
    /// A change made in place.
    pub fn in_place(field: impl Into<String>, from: Value, to: Value) -> Self {
        FieldChange {
            field: field.into(),
            from,
            to,
            forces_replace: false,
            refused: None,
        }
    }

    /// The change cannot be made in place: plan a replace.
    pub fn replacing(mut self) -> Self {
        self.forces_replace = true;
        self
    }

    /// The change is not supported: the plan refuses it, saying why and what
    /// to do instead.
    pub fn refusing(mut self, reason: impl Into<String>, hint: impl Into<String>) -> Self {
        self.refused = Some(Refusal {
            reason: reason.into(),
            hint: hint.into(),
        });
        self
    }
}

/// Why a change is not made, and what to do instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refusal {
    pub reason: String,
    pub hint: String,
}

/// The plan for one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Address,
    pub kind: String,
    pub action: Action,
    pub reason: String,
    /// Desired configuration (absent for a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<Value>,
    pub deps: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_after: Vec<Address>,
    /// What exists now (absent for a create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<driver::Observed>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

impl Change {
    pub fn resource(&self) -> Resource {
        Resource {
            address: self.address.clone(),
            kind: self.kind.clone(),
            props: self.props.clone().unwrap_or(Value::Null),
            deps: self.deps.clone(),
            delete_after: self.delete_after.clone(),
        }
    }
}

/// The format version of saved plans.
pub const PLAN_FORMAT: u32 = 1;

/// The saved plan's format and the steps from each older one.
pub const PLAN_FILE: format::Format = format::Format {
    what: "saved plan",
    current: PLAN_FORMAT,
    // One step per format after 1, in order (see `format`).
    steps: &[],
};

/// A plan: computed from spec + observed state, applied exactly as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub installation: String,
    /// `install` or `destroy`.
    pub purpose: Purpose,
    /// Digest of the resolved spec the plan was made from.
    pub spec_digest: String,
    /// Digest of everything observed; a saved plan is stale when it moved.
    pub observed_digest: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    Install,
    Destroy,
}

impl Plan {
    /// How many resources each action touches, in display order.
    pub fn counts(&self) -> BTreeMap<Action, usize> {
        let mut m = BTreeMap::new();
        for c in &self.changes {
            *m.entry(c.action).or_default() += 1;
        }
        m
    }

    pub fn is_noop(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::NoOp)
    }
}

/// Why a saved plan may no longer be applied, if it may not: it must be for
/// this installation and purpose, made from this exact spec, and the world
/// must look as it did when the plan was made.
pub fn staleness(saved: &Plan, fresh: &Plan) -> Option<String> {
    if saved.installation != fresh.installation {
        return Some(format!(
            "it is for installation `{}`, not `{}`",
            saved.installation, fresh.installation
        ));
    }
    if saved.purpose != fresh.purpose {
        return Some(format!("it is a {:?} plan", saved.purpose).to_lowercase());
    }
    if saved.spec_digest != fresh.spec_digest {
        return Some("the spec changed since it was made".into());
    }
    if saved.observed_digest != fresh.observed_digest {
        return Some("the infrastructure or the state changed since it was made".into());
    }
    None
}
