//! The seam between the engine and every external system: a driver reads,
//! diffs, creates, updates and deletes one kind of resource.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::state::Entry;
use super::{Address, FieldChange, Resource};

/// What exists in the cloud or cluster for one address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// The provider's id (vpc-…, an ARN, a namespace/name).
    pub id: String,
    /// The configuration as observed, comparable with the desired props.
    pub props: Value,
    /// Values dependents need (ids, endpoints). Never secrets.
    pub outputs: Value,
}

/// Everything a read found for one address: the copy to keep (the one the
/// state recorded, else the driver's deterministic choice) and any other
/// copies carrying the same ownership marks, left by a create that was
/// applied and then answered with an error and retried, or cut off by a
/// crash. The plan deletes the extra copies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub kept: Option<Observed>,
    pub duplicates: Vec<Observed>,
}

impl Found {
    /// One copy (or none) and no duplicates.
    pub fn single(kept: Option<Observed>) -> Self {
        Found {
            kept,
            duplicates: Vec::new(),
        }
    }
}

/// A resource that carries the installation's ownership marks at an address
/// that is neither wanted nor recorded (made for an earlier spec whose state
/// was lost): a destroy deletes it too.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stray {
    /// Its own address in the plan (the address it was made for and its id).
    pub address: Address,
    pub kind: String,
    pub observed: Observed,
    /// For the order of deletes, as a resource's deps: these are deleted
    /// only after it.
    pub deps: Vec<Address>,
}

/// Why a driver call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Retrying will not help (bad input, permission, quota).
    Permanent,
    /// Throttled, a 5xx, a timeout on the way: retrying may help.
    Transient,
    /// A deadline passed while waiting.
    Timeout,
    /// Something else holds on to the resource (delete blocked).
    Blocked,
    /// The run stopped (crash injection, interruption).
    Aborted,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DriverError {
    pub failure: Failure,
    pub message: String,
    pub hint: Option<String>,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl DriverError {
    pub fn new(failure: Failure, message: impl Into<String>) -> Self {
        DriverError {
            failure,
            message: message.into(),
            hint: None,
            source: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(Failure::Permanent, message)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// What a driver is told when asked to read a resource.
pub struct Lookup<'a> {
    pub installation: &'a str,
    pub address: &'a Address,
    pub kind: &'a str,
    /// Desired props, when the resource is wanted.
    pub props: Option<&'a Value>,
    /// What the state file recorded, when anything.
    pub recorded: Option<&'a Entry>,
}

/// Hands a create's id to the state file before any waiting, and reports
/// progress while waiting.
#[async_trait]
pub trait Recorder: Send + Sync {
    /// Call as soon as the create call returned an id.
    async fn created(&self, id: &str, outputs: Value) -> Result<(), DriverError>;
    /// A short status line ("pending", "3/5 nodes ready").
    fn progress(&self, message: &str);
}

/// Everything a create/update/delete needs besides the resource.
pub struct Context<'a> {
    pub installation: &'a str,
    /// Outputs of the resource's dependencies, by address.
    pub deps: &'a BTreeMap<Address, Value>,
    /// The create attempt's idempotency token: fresh for every create attempt
    /// (see [`idempotency_token`]), and the same again when an attempt cut off
    /// before its id was recorded is re-run (it is kept with the intent).
    pub idempotency_token: String,
    pub recorder: &'a dyn Recorder,
}

impl Context<'_> {
    /// One output of a dependency, by the dependency's address.
    pub fn dep_output(&self, address: &str, key: &str) -> Result<&Value, DriverError> {
        self.deps
            .get(&Address::new(address))
            .and_then(|o| o.get(key))
            .ok_or_else(|| {
                DriverError::permanent(format!("dependency {address} has no output `{key}`"))
            })
    }
}

/// A driver for one family of resources.
#[async_trait]
pub trait Driver: Send + Sync {
    /// Finds the resource: by the recorded id first, then by ownership tags.
    async fn read(&self, lookup: &Lookup<'_>) -> Result<Option<Observed>, DriverError>;

    /// Like [`Driver::read`], and also every other copy carrying the
    /// address's ownership marks. Drivers of kinds whose create can leave
    /// a second copy (no idempotency token, no unique name) override it;
    /// the default finds none.
    async fn read_copies(&self, lookup: &Lookup<'_>) -> Result<Found, DriverError> {
        Ok(Found::single(self.read(lookup).await?))
    }

    /// What carries the installation's ownership marks, of the kinds this
    /// driver handles, at addresses not in `known` (see [`Stray`]). The
    /// default finds none.
    async fn strays(
        &self,
        _installation: &str,
        _known: &[Address],
    ) -> Result<Vec<Stray>, DriverError> {
        Ok(Vec::new())
    }

    /// Fields that differ. The default compares the desired props' top-level
    /// keys with the observed ones. A field the driver cannot change in place
    /// is marked [`FieldChange::replacing`]; one it does not change at all,
    /// [`FieldChange::refusing`] (the plan then refuses), so that apply never
    /// fails on a change the plan accepted.
    fn diff(&self, desired: &Resource, observed: &Observed) -> Vec<FieldChange> {
        diff_props(&desired.props, &observed.props, &[])
    }

    async fn create(&self, resource: &Resource, ctx: &Context<'_>)
    -> Result<Observed, DriverError>;

    async fn update(
        &self,
        resource: &Resource,
        observed: &Observed,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError>;

    async fn delete(
        &self,
        kind: &str,
        observed: &Observed,
        ctx: &Context<'_>,
    ) -> Result<(), DriverError>;
}

/// Compares desired top-level keys against observed ones.
pub fn diff_props(desired: &Value, observed: &Value, immutable: &[&str]) -> Vec<FieldChange> {
    let Some(want) = desired.as_object() else {
        return Vec::new();
    };
    want.iter()
        .filter_map(|(k, v)| {
            let have = observed.get(k).cloned().unwrap_or(Value::Null);
            (have != *v).then(|| {
                let change = FieldChange::in_place(k.clone(), have, v.clone());
                if immutable.contains(&k.as_str()) {
                    change.replacing()
                } else {
                    change
                }
            })
        })
        .collect()
}

/// The drivers available to this run, each for the kinds under a prefix.
#[derive(Clone, Default)]
pub struct Drivers {
    by_prefix: Vec<(String, Arc<dyn Driver>)>,
}

impl Drivers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `driver` for every kind starting with `prefix` (longest wins).
    pub fn register(&mut self, prefix: &str, driver: Arc<dyn Driver>) {
        self.by_prefix.push((prefix.to_string(), driver));
        self.by_prefix
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    }

    /// Every registered driver, once each.
    pub fn all(&self) -> Vec<&Arc<dyn Driver>> {
        let mut out: Vec<&Arc<dyn Driver>> = Vec::new();
        for (_, d) in &self.by_prefix {
            if !out.iter().any(|o| Arc::ptr_eq(o, d)) {
                out.push(d);
            }
        }
        out
    }

    pub fn for_kind(&self, kind: &str) -> Result<&Arc<dyn Driver>, DriverError> {
        self.by_prefix.iter().find(|(p, _)| kind.starts_with(p.as_str())).map(|(_, d)| d).ok_or_else(|| {
            DriverError::permanent(format!("no driver for `{kind}` in this build"))
                .with_hint("this build of liftoff lacks that provider (cargo features) or it is not implemented yet")
        })
    }
}

/// A fresh idempotency token for one create attempt: 128 random bits in hex.
///
/// It is written with the intent into the state before the create call and
/// reused from there when that attempt is re-run after a crash, so AWS
/// answers the re-run with what the first call made. A new attempt (after a
/// destroy, a replace, or a create that returned an id) gets a new token:
/// AWS remembers tokens for a while after the resource is gone, and a token
/// derived from the name and address alone would replay the old answer.
pub fn idempotency_token() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random number generator works");
    hex::encode(bytes)
}

/// What the state has recorded so far in a run: a phase reads the outputs
/// of another (the database endpoint) from here instead of asking the cloud
/// again.
pub trait Records: Send + Sync {
    /// The outputs recorded for `address`, when it is recorded.
    fn outputs(&self, address: &Address) -> Option<Value>;
}

impl Records for super::state::Store {
    fn outputs(&self, address: &Address) -> Option<Value> {
        self.get(address).map(|e| e.outputs)
    }
}
