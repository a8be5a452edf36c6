//! Carrying out a plan: walk the dependency graph with bounded parallelism,
//! start each change as soon as what it depends on is done, skip the
//! dependents of a failure and let independent branches finish.
//!
//! Deletes run in reverse: a resource is deleted only after everything that
//! depends on it is gone.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use async_trait::async_trait;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;

use super::driver::{
    Context, DriverError, Drivers, Failure, Observed, Recorder, idempotency_token,
};
use super::events::{Event, Events, Summary};
use super::state::{Entry, Status, Store};
use super::{Action, Address, Change, Plan};
use crate::chain::one_line;

/// A fault injected on purpose (crash-safety tests; `LIFTOFF_FAULT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Stop right after the create call for this address returned, before
    /// its id reaches the state file. `abort` kills the process (kill -9
    /// alike); otherwise the apply returns [`Failure::Aborted`].
    CrashAfterCreate { address: Address, abort: bool },
}

impl Fault {
    /// Reads `LIFTOFF_FAULT=crash-after-create:<address>`.
    pub fn from_env() -> Option<Fault> {
        let v = std::env::var("LIFTOFF_FAULT").ok()?;
        let address = v.strip_prefix("crash-after-create:")?;
        Some(Fault::CrashAfterCreate {
            address: Address::new(address),
            abort: true,
        })
    }
}

pub struct Options {
    pub parallelism: usize,
    pub fault: Option<Fault>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parallelism: 10,
            fault: None,
        }
    }
}

pub struct Engine<'a> {
    pub installation: &'a str,
    pub drivers: &'a Drivers,
    pub store: &'a Store,
    pub events: &'a dyn Events,
    pub options: Options,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

impl Engine<'_> {
    /// Applies `plan`. Returns the summary; an `Aborted` failure (injected
    /// crash) stops everything at once and is returned as an error.
    pub async fn apply(&self, plan: &Plan) -> Result<Summary, DriverError> {
        let changes = &plan.changes;
        let index: HashMap<&Address, usize> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| (&c.address, i))
            .collect();
        let active = |i: usize| changes[i].action != Action::NoOp;
        let mut prereqs: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
        for (i, c) in changes.iter().enumerate().filter(|(i, _)| active(*i)) {
            if c.action == Action::Delete {
                // Deleted after every deleted resource that depends on it,
                // and after the changes it must wait for (`delete_after`),
                // whatever they are: a route moved off a NAT gateway before
                // that gateway goes.
                for (j, d) in changes.iter().enumerate() {
                    if (d.action == Action::Delete && d.deps.contains(&c.address))
                        || (active(j) && c.delete_after.contains(&d.address))
                    {
                        prereqs[i].push(j);
                    }
                }
            } else {
                for dep in &c.deps {
                    if let Some(&j) = index
                        .get(dep)
                        .filter(|&&j| active(j) && changes[j].action != Action::Delete)
                    {
                        prereqs[i].push(j);
                    }
                }
            }
        }
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
        for (i, ps) in prereqs.iter().enumerate() {
            for &p in ps {
                dependents[p].push(i);
            }
        }
        let mut remaining: Vec<usize> = prereqs.iter().map(Vec::len).collect();
        let mut step: Vec<Step> = (0..changes.len())
            .map(|i| if active(i) { Step::Waiting } else { Step::Done })
            .collect();
        let mut ready: VecDeque<usize> = (0..changes.len())
            .filter(|&i| active(i) && remaining[i] == 0)
            .collect();
        let mut running = FuturesUnordered::new();
        self.events.emit(Event::Applying {
            changes: (0..changes.len()).filter(|&i| active(i)).count(),
        });
        let mut summary = Summary {
            unchanged: changes.len() - (0..changes.len()).filter(|&i| active(i)).count(),
            ..Summary::default()
        };

        loop {
            while running.len() < self.options.parallelism.max(1) {
                let Some(i) = ready.pop_front() else { break };
                step[i] = Step::Running;
                let change = &changes[i];
                self.events.emit(Event::Started {
                    address: change.address.clone(),
                    action: change.action,
                });
                running.push(async move {
                    let started = Instant::now();
                    (i, started, self.run(change).await)
                });
            }
            let Some((i, started, result)) = running.next().await else {
                break;
            };
            let change = &changes[i];
            match result {
                Ok(()) => {
                    tracing::info!(address = %change.address, elapsed = ?started.elapsed(), "done");
                    step[i] = Step::Done;
                    summary.done += 1;
                    self.events.emit(Event::Finished {
                        address: change.address.clone(),
                        action: change.action,
                        elapsed_ms: started.elapsed().as_millis() as u64,
                    });
                    for &d in &dependents[i] {
                        remaining[d] -= 1;
                        if remaining[d] == 0 && step[d] == Step::Waiting {
                            ready.push_back(d);
                        }
                    }
                }
                Err(e) if e.failure == Failure::Aborted => return Err(e),
                Err(e) => {
                    tracing::warn!(address = %change.address, error = %one_line(&e), "failed");
                    step[i] = Step::Failed;
                    summary.failed += 1;
                    self.events.emit(Event::Failed {
                        address: change.address.clone(),
                        action: change.action,
                        error: one_line(&e),
                        hint: e.hint.clone(),
                    });
                    let mut queue: VecDeque<usize> = dependents[i].iter().copied().collect();
                    while let Some(d) = queue.pop_front() {
                        if step[d] == Step::Waiting {
                            step[d] = Step::Skipped;
                            summary.skipped += 1;
                            self.events.emit(Event::Skipped {
                                address: changes[d].address.clone(),
                                because: change.address.clone(),
                            });
                            queue.extend(dependents[d].iter().copied());
                        }
                    }
                }
            }
        }
        self.events.emit(Event::Summary(summary.clone()));
        Ok(summary)
    }

    async fn run(&self, change: &Change) -> Result<(), DriverError> {
        let driver = self.drivers.for_kind(&change.kind)?;
        let resource = change.resource();
        let mut deps = BTreeMap::new();
        for d in &change.deps {
            if let Some(e) = self.store.get(d) {
                deps.insert(d.clone(), e.outputs);
            }
        }
        let recorder = EntryRecorder {
            engine: self,
            change,
        };
        let token = match self.store.get(&change.address) {
            Some(e) if e.status == Status::Intent => e.token,
            _ => idempotency_token(),
        };
        let ctx = Context {
            installation: self.installation,
            deps: &deps,
            idempotency_token: token.clone(),
            recorder: &recorder,
        };
        match change.action {
            Action::NoOp => Ok(()),
            Action::Create => self.create(driver.as_ref(), &resource, &ctx).await,
            Action::Adopt => {
                let observed = change
                    .observed
                    .as_ref()
                    .ok_or_else(|| DriverError::permanent("adopt without observation"))?;
                self.record(change, Status::Ready, observed, &token)?;
                if !change.fields.is_empty() {
                    let updated = driver.update(&resource, observed, &ctx).await?;
                    self.record(change, Status::Ready, &updated, &token)?;
                }
                Ok(())
            }
            Action::Update => {
                let observed = change
                    .observed
                    .as_ref()
                    .ok_or_else(|| DriverError::permanent("update without observation"))?;
                let updated = driver.update(&resource, observed, &ctx).await?;
                self.record(change, Status::Ready, &updated, &token)
            }
            Action::Replace => {
                if let Some(observed) = &change.observed {
                    self.record(change, Status::Deleting, observed, &token)?;
                    driver.delete(&change.kind, observed, &ctx).await?;
                }
                self.store.put(&change.address, None).map_err(state_error)?;
                let token = idempotency_token();
                let ctx = Context {
                    idempotency_token: token,
                    ..ctx
                };
                self.create(driver.as_ref(), &resource, &ctx).await
            }
            Action::Delete => {
                if let Some(observed) = &change.observed {
                    if self.store.get(&change.address).is_some() {
                        self.record(change, Status::Deleting, observed, &token)?;
                    }
                    driver.delete(&change.kind, observed, &ctx).await?;
                }
                self.store.put(&change.address, None).map_err(state_error)
            }
        }
    }

    async fn create(
        &self,
        driver: &dyn super::driver::Driver,
        resource: &super::Resource,
        ctx: &Context<'_>,
    ) -> Result<(), DriverError> {
        let intent = Entry {
            kind: resource.kind.clone(),
            status: Status::Intent,
            id: None,
            token: ctx.idempotency_token.clone(),
            props: resource.props.clone(),
            outputs: Value::Null,
            deps: resource.deps.clone(),
            delete_after: resource.delete_after.clone(),
        };
        self.store
            .put(&resource.address, Some(intent))
            .map_err(state_error)?;
        let observed = match driver.create(resource, ctx).await {
            Ok(o) => o,
            Err(e) => {
                // Refused before anything was made (the driver recorded no
                // id): the create returned, so the intent is dropped and the
                // next plan says "does not exist yet", not that a run
                // stopped mid-create.
                let untouched = self
                    .store
                    .get(&resource.address)
                    .is_some_and(|e| e.status == Status::Intent && e.id.is_none());
                if e.failure == super::driver::Failure::Permanent && untouched {
                    self.store
                        .put(&resource.address, None)
                        .map_err(state_error)?;
                }
                return Err(e);
            }
        };
        let entry = Entry {
            kind: resource.kind.clone(),
            status: Status::Ready,
            id: Some(observed.id),
            token: ctx.idempotency_token.clone(),
            props: resource.props.clone(),
            outputs: observed.outputs,
            deps: resource.deps.clone(),
            delete_after: resource.delete_after.clone(),
        };
        self.store
            .put(&resource.address, Some(entry))
            .map_err(state_error)
    }

    fn record(
        &self,
        change: &Change,
        status: Status,
        observed: &Observed,
        token: &str,
    ) -> Result<(), DriverError> {
        let entry = Entry {
            kind: change.kind.clone(),
            status,
            id: Some(observed.id.clone()),
            token: token.into(),
            props: change.props.clone().unwrap_or(Value::Null),
            outputs: observed.outputs.clone(),
            deps: change.deps.clone(),
            delete_after: change.delete_after.clone(),
        };
        self.store
            .put(&change.address, Some(entry))
            .map_err(state_error)
    }
}

struct EntryRecorder<'e, 'a> {
    engine: &'e Engine<'a>,
    change: &'e Change,
}

#[async_trait]
impl Recorder for EntryRecorder<'_, '_> {
    async fn created(&self, id: &str, outputs: Value) -> Result<(), DriverError> {
        if let Some(Fault::CrashAfterCreate { address, abort }) = &self.engine.options.fault
            && address == &self.change.address
        {
            if *abort {
                eprintln!(
                    "liftoff: fault injected: crashing after the create of {address} returned {id}"
                );
                std::process::abort();
            }
            return Err(DriverError::new(
                Failure::Aborted,
                format!("fault injected after create of {address}"),
            ));
        }
        let token = self
            .engine
            .store
            .get(&self.change.address)
            .map(|e| e.token)
            .unwrap_or_default();
        let entry = Entry {
            kind: self.change.kind.clone(),
            status: Status::Creating,
            id: Some(id.to_string()),
            token,
            props: self.change.props.clone().unwrap_or(Value::Null),
            outputs,
            deps: self.change.deps.clone(),
            delete_after: self.change.delete_after.clone(),
        };
        self.engine
            .store
            .put(&self.change.address, Some(entry))
            .map_err(state_error)
    }

    fn progress(&self, message: &str) {
        self.engine.events.emit(Event::Progress {
            address: self.change.address.clone(),
            message: message.into(),
        });
    }
}

fn state_error(e: super::state::StateError) -> DriverError {
    DriverError::new(Failure::Aborted, "cannot write the state").with_source(e)
}
