//! Computing a plan: read what exists for every wanted or recorded address,
//! then decide per resource what to do and why.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt};
use sha2::Digest;

use serde::Serialize;

use super::driver::{DriverError, Drivers, Lookup, Observed};
use super::events::{Event, Events};
use super::state::{State, Status};
use super::{Action, Address, Change, PLAN_FORMAT, Plan, Purpose, Resource};

/// A read failed while planning.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {address}")]
pub struct ObserveError {
    pub address: Address,
    #[source]
    pub source: DriverError,
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Driver(#[from] DriverError),
    /// The spec asks for changes liftoff does not make.
    #[error("{}", refused_message(.0))]
    Refused(Vec<Refused>),
}

/// One change the plan refuses.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub address: Address,
    pub field: String,
    pub from: serde_json::Value,
    pub to: serde_json::Value,
    pub refusal: super::Refusal,
}

fn refused_message(all: &[Refused]) -> String {
    let mut m =
        String::from("the spec asks for changes liftoff does not make; nothing was changed:");
    for r in all {
        m.push_str(&format!(
            "\n  - {}: {} {} -> {}: {}",
            r.address, r.field, r.from, r.to, r.refusal.reason
        ));
    }
    m
}

impl PlanError {
    /// What to do instead of each refused change.
    pub fn hint(&self) -> Option<String> {
        match self {
            PlanError::Driver(e) => e.hint.clone(),
            PlanError::Refused(all) => {
                let mut hints: Vec<&str> = all.iter().map(|r| r.refusal.hint.as_str()).collect();
                hints.dedup();
                Some(hints.join("; "))
            }
        }
    }
}

/// What exists: by address (`None`: nothing found), and the extra copies
/// of an address that a read found besides the one kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Observations {
    pub found: BTreeMap<Address, Option<Observed>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<Duplicate>,
    /// Found by [`find_strays`] (for a destroy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub strays: Vec<super::driver::Stray>,
}

impl Observations {
    /// What was found for `address`, when anything.
    pub fn get(&self, address: &Address) -> Option<&Observed> {
        self.found.get(address).and_then(Option::as_ref)
    }
}

/// A second copy of an address (same ownership marks, another id).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicate {
    /// The address it is a copy of.
    pub of: Address,
    pub kind: String,
    pub observed: Observed,
}

impl Duplicate {
    /// The address its deletion has in a plan: the address it copies and
    /// its own id.
    pub fn address(&self) -> Address {
        Address::new(format!("{}#{}", self.of, self.observed.id))
    }

    /// Its deletion: after what the address's own deletion waits for, and
    /// before what depends on the address (the same deps as the kept copy).
    fn deletion(&self, deps: &[Address]) -> Change {
        Change {
            address: self.address(),
            kind: self.kind.clone(),
            action: Action::Delete,
            reason: format!(
                "duplicate {} of {} (left by an interrupted create)",
                self.observed.id, self.of
            ),
            props: None,
            deps: deps.to_vec(),
            delete_after: Vec::new(),
            observed: Some(self.observed.clone()),
            fields: vec![],
        }
    }
}

/// Reads every address that is wanted or recorded, `parallelism` at a time.
pub async fn observe(
    installation: &str,
    desired: &[Resource],
    state: &State,
    drivers: &Drivers,
    parallelism: usize,
    events: &dyn Events,
) -> Result<Observations, ObserveError> {
    let mut targets: BTreeMap<&Address, (&str, Option<&serde_json::Value>)> = BTreeMap::new();
    for (addr, entry) in &state.resources {
        targets.insert(addr, (entry.kind.as_str(), None));
    }
    for r in desired {
        targets.insert(&r.address, (r.kind.as_str(), Some(&r.props)));
    }
    events.emit(Event::Observing {
        resources: targets.len(),
    });
    let reads = targets
        .into_iter()
        .map(|(address, (kind, props))| async move {
            let lookup = Lookup {
                installation,
                address,
                kind,
                props,
                recorded: state.resources.get(address),
            };
            let driver = drivers.for_kind(kind).map_err(|source| ObserveError {
                address: address.clone(),
                source,
            })?;
            let found = driver
                .read_copies(&lookup)
                .await
                .map_err(|source| ObserveError {
                    address: address.clone(),
                    source,
                })?;
            Ok::<_, ObserveError>((address.clone(), kind, found))
        });
    let mut observations = Observations::default();
    let all = stream::iter(reads)
        .buffer_unordered(parallelism.max(1))
        .collect::<Vec<_>>()
        .await;
    for read in all {
        let (address, kind, found) = read?;
        observations
            .duplicates
            .extend(found.duplicates.into_iter().map(|observed| Duplicate {
                of: address.clone(),
                kind: kind.to_string(),
                observed,
            }));
        observations.found.insert(address, found.kept);
    }
    observations.duplicates.sort_by_key(|d| d.address());
    Ok(observations)
}

/// Asks every driver for what carries the installation's ownership marks at
/// an address that is neither observed here nor recorded, and adds it to
/// `observed` for [`plan_destroy`] to delete.
pub async fn find_strays(
    installation: &str,
    state: &State,
    drivers: &Drivers,
    observed: &mut Observations,
) -> Result<(), DriverError> {
    let mut known: Vec<Address> = observed.found.keys().cloned().collect();
    known.extend(state.resources.keys().cloned());
    known.sort();
    known.dedup();
    for driver in drivers.all() {
        observed
            .strays
            .extend(driver.strays(installation, &known).await?);
    }
    observed.strays.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(())
}

/// The deletions of every duplicate copy, each with the deps of the address
/// it copies (from `deps_of`).
fn duplicate_deletions(
    observed: &Observations,
    deps_of: impl Fn(&Address) -> Vec<Address>,
) -> Vec<Change> {
    observed
        .duplicates
        .iter()
        .map(|d| d.deletion(&deps_of(&d.of)))
        .collect()
}

/// Digest of everything observed: a saved plan is stale once it changes.
pub fn observed_digest(observed: &Observations) -> String {
    hex::encode(sha2::Sha256::digest(
        serde_json::to_vec(observed).expect("observations serialize"),
    ))
}

/// The plan that makes the world match `desired`.
pub fn plan_install(
    installation: &str,
    spec_digest: &str,
    desired: &[Resource],
    state: &State,
    observed: &Observations,
    drivers: &Drivers,
) -> Result<Plan, PlanError> {
    let mut changes = Vec::new();
    let mut refused = Vec::new();
    let wanted: BTreeSet<&Address> = desired.iter().map(|r| &r.address).collect();
    for r in desired {
        let recorded = state.resources.get(&r.address);
        let found = observed.get(&r.address).cloned();
        let (action, reason, fields) = match (&found, recorded) {
            (None, None) => (Action::Create, "does not exist yet".to_string(), vec![]),
            (None, Some(e)) if e.status == Status::Intent => (
                Action::Create,
                "an earlier run stopped before the create returned; nothing was found by tag"
                    .into(),
                vec![],
            ),
            (None, Some(e)) => (
                Action::Create,
                format!(
                    "recorded as {} but no longer exists",
                    e.id.as_deref().unwrap_or("?")
                ),
                vec![],
            ),
            (Some(o), recorded) => {
                let fields = drivers.for_kind(&r.kind)?.diff(r, o);
                refused.extend(fields.iter().filter_map(|f| {
                    f.refused.clone().map(|refusal| Refused {
                        address: r.address.clone(),
                        field: f.field.clone(),
                        from: f.from.clone(),
                        to: f.to.clone(),
                        refusal,
                    })
                }));
                let adopt = recorded.is_none_or(|e| e.status == Status::Intent);
                if fields.iter().any(|f| f.forces_replace) {
                    let names: Vec<_> = fields
                        .iter()
                        .filter(|f| f.forces_replace)
                        .map(|f| f.field.as_str())
                        .collect();
                    (
                        Action::Replace,
                        format!("{} cannot change in place", names.join(", ")),
                        fields,
                    )
                } else if adopt {
                    let mut why = format!("found by ownership tags as {}, not in state", o.id);
                    if !fields.is_empty() {
                        why.push_str(&format!("; will update {}", field_names(&fields)));
                    }
                    (Action::Adopt, why, fields)
                } else if fields.is_empty() {
                    (Action::NoOp, "up to date".into(), fields)
                } else {
                    (
                        Action::Update,
                        format!("{} changed", field_names(&fields)),
                        fields,
                    )
                }
            }
        };
        changes.push(Change {
            address: r.address.clone(),
            kind: r.kind.clone(),
            action,
            reason,
            props: Some(r.props.clone()),
            deps: r.deps.clone(),
            delete_after: r.delete_after.clone(),
            observed: found,
            fields,
        });
    }
    if !refused.is_empty() {
        return Err(PlanError::Refused(refused));
    }
    for (addr, entry) in state.resources.iter().filter(|(a, _)| !wanted.contains(a)) {
        let mut change = deletion(addr, entry, observed, "no longer in the spec");
        // What used it when it was made (a route table whose route pointed
        // at this NAT gateway) is changed first: it may still be using it.
        change.delete_after.extend(
            state
                .resources
                .iter()
                .filter(|(other, e)| wanted.contains(other) && e.deps.contains(addr))
                .map(|(other, _)| other.clone()),
        );
        changes.push(change);
    }
    changes.extend(duplicate_deletions(observed, |of| {
        desired
            .iter()
            .find(|r| &r.address == of)
            .map(|r| r.deps.clone())
            .or_else(|| state.resources.get(of).map(|e| e.deps.clone()))
            .unwrap_or_default()
    }));
    Ok(Plan {
        format: PLAN_FORMAT,
        installation: installation.into(),
        purpose: Purpose::Install,
        spec_digest: spec_digest.into(),
        observed_digest: observed_digest(observed),
        changes,
    })
}

/// The plan that removes everything liftoff created: recorded in state or
/// found by ownership tags. Dependencies come from the state, else the spec.
pub fn plan_destroy(
    installation: &str,
    spec_digest: &str,
    desired: &[Resource],
    state: &State,
    observed: &Observations,
) -> Plan {
    let mut changes = Vec::new();
    for (addr, found) in &observed.found {
        let change = match (state.resources.get(addr), found) {
            (Some(entry), _) => deletion(addr, entry, observed, "destroy"),
            (None, Some(o)) => {
                let r = desired
                    .iter()
                    .find(|r| &r.address == addr)
                    .expect("observed addresses are wanted or recorded");
                Change {
                    address: addr.clone(),
                    kind: r.kind.clone(),
                    action: Action::Delete,
                    reason: format!("destroy; found by ownership tags as {}", o.id),
                    props: None,
                    deps: r.deps.clone(),
                    delete_after: r.delete_after.clone(),
                    observed: Some(o.clone()),
                    fields: vec![],
                }
            }
            (None, None) => continue,
        };
        changes.push(change);
    }
    changes.extend(observed.strays.iter().map(|s| Change {
        address: s.address.clone(),
        kind: s.kind.clone(),
        action: Action::Delete,
        reason: format!(
            "destroy; found by ownership tags as {}, made for an address this spec does not have",
            s.observed.id
        ),
        props: None,
        deps: s.deps.clone(),
        delete_after: Vec::new(),
        observed: Some(s.observed.clone()),
        fields: vec![],
    }));
    changes.extend(duplicate_deletions(observed, |of| {
        state
            .resources
            .get(of)
            .map(|e| e.deps.clone())
            .or_else(|| {
                desired
                    .iter()
                    .find(|r| &r.address == of)
                    .map(|r| r.deps.clone())
            })
            .unwrap_or_default()
    }));
    Plan {
        format: PLAN_FORMAT,
        installation: installation.into(),
        purpose: Purpose::Destroy,
        spec_digest: spec_digest.into(),
        observed_digest: observed_digest(observed),
        changes,
    }
}

fn deletion(
    addr: &Address,
    entry: &super::state::Entry,
    observed: &Observations,
    why: &str,
) -> Change {
    let found = observed.get(addr).cloned();
    let reason = match &found {
        Some(_) => why.to_string(),
        None => format!("{why}; already gone, only the state entry is removed"),
    };
    Change {
        address: addr.clone(),
        kind: entry.kind.clone(),
        action: Action::Delete,
        reason,
        props: None,
        deps: entry.deps.clone(),
        delete_after: entry.delete_after.clone(),
        observed: found,
        fields: vec![],
    }
}

fn field_names(fields: &[super::FieldChange]) -> String {
    fields
        .iter()
        .map(|f| f.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
