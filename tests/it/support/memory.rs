//! An in-memory cloud and its driver, for engine tests. Resources carry
//! ownership tags like real ones; creates check that dependencies exist and
//! deletes check that nothing still depends on them, so ordering mistakes
//! fail loudly. Delays and failures are configurable per address.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use liftoff::plan::driver::{Context, Driver, DriverError, Failure, Lookup, Observed};
use liftoff::plan::{Address, Resource};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Object {
    pub installation: String,
    pub address: Address,
    pub props: Value,
    pub deps: Vec<Address>,
}

#[derive(Default)]
pub struct Cloud {
    pub objects: Mutex<BTreeMap<String, Object>>,
    /// `create <address>`, `update …`, `delete …`, in call order.
    pub calls: Mutex<Vec<String>>,
    pub delays: Mutex<HashMap<String, Duration>>,
    pub failing: Mutex<HashSet<String>>,
    counter: AtomicUsize,
    in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

impl Cloud {
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    pub fn count(&self, address: &str) -> usize {
        self.objects
            .lock()
            .unwrap()
            .values()
            .filter(|o| o.address.as_str() == address)
            .count()
    }
    pub fn len(&self) -> usize {
        self.objects.lock().unwrap().len()
    }
    pub fn fail(&self, address: &str) {
        self.failing.lock().unwrap().insert(address.into());
    }
    pub fn delay(&self, address: &str, d: Duration) {
        self.delays.lock().unwrap().insert(address.into(), d);
    }
    fn find(
        &self,
        installation: &str,
        address: &Address,
        id: Option<&str>,
    ) -> Option<(String, Object)> {
        let objects = self.objects.lock().unwrap();
        if let Some(id) = id
            && let Some(o) = objects.get(id)
        {
            return Some((id.into(), o.clone()));
        }
        objects
            .iter()
            .find(|(_, o)| o.installation == installation && &o.address == address)
            .map(|(k, o)| (k.clone(), o.clone()))
    }
    fn exists(&self, installation: &str, address: &Address) -> bool {
        self.find(installation, address, None).is_some()
    }
}

pub struct MemoryDriver {
    pub cloud: std::sync::Arc<Cloud>,
}

fn observed(id: &str, o: &Object) -> Observed {
    Observed {
        id: id.into(),
        props: o.props.clone(),
        outputs: json!({"id": id}),
    }
}

#[async_trait]
impl Driver for MemoryDriver {
    /// `cidr` cannot change in place, like a real subnet's.
    fn diff(&self, desired: &Resource, observed: &Observed) -> Vec<liftoff::plan::FieldChange> {
        liftoff::plan::driver::diff_props(&desired.props, &observed.props, &["cidr"])
    }

    async fn read(&self, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
        let id = l.recorded.and_then(|e| e.id.as_deref());
        Ok(self
            .cloud
            .find(l.installation, l.address, id)
            .map(|(id, o)| observed(&id, &o)))
    }

    async fn create(&self, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
        let cloud = &self.cloud;
        cloud
            .calls
            .lock()
            .unwrap()
            .push(format!("create {}", r.address));
        for d in &r.deps {
            if !cloud.exists(ctx.installation, d) {
                return Err(DriverError::permanent(format!(
                    "{} created before its dependency {d}",
                    r.address
                )));
            }
            if !ctx.deps.contains_key(d) {
                return Err(DriverError::permanent(format!(
                    "{} got no outputs for {d}",
                    r.address
                )));
            }
        }
        if cloud.failing.lock().unwrap().contains(r.address.as_str()) {
            return Err(
                DriverError::permanent(format!("{} refused by the cloud", r.address))
                    .with_hint("injected failure"),
            );
        }
        let now = cloud.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        cloud.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let id = format!(
            "{}-{}",
            r.kind.replace('.', "-"),
            cloud.counter.fetch_add(1, Ordering::SeqCst)
        );
        let obj = Object {
            installation: ctx.installation.into(),
            address: r.address.clone(),
            props: r.props.clone(),
            deps: r.deps.clone(),
        };
        cloud
            .objects
            .lock()
            .unwrap()
            .insert(id.clone(), obj.clone());
        let recorded = ctx.recorder.created(&id, json!({"id": id})).await;
        if recorded.is_ok() {
            let delay = cloud
                .delays
                .lock()
                .unwrap()
                .get(r.address.as_str())
                .copied();
            if let Some(d) = delay {
                ctx.recorder.progress("pending");
                tokio::time::sleep(d).await;
            }
        }
        cloud.in_flight.fetch_sub(1, Ordering::SeqCst);
        recorded?;
        Ok(observed(&id, &obj))
    }

    async fn update(
        &self,
        r: &Resource,
        o: &Observed,
        _: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        self.cloud
            .calls
            .lock()
            .unwrap()
            .push(format!("update {}", r.address));
        let mut objects = self.cloud.objects.lock().unwrap();
        let obj = objects
            .get_mut(&o.id)
            .ok_or_else(|| DriverError::permanent("gone"))?;
        obj.props = r.props.clone();
        Ok(observed(&o.id, obj))
    }

    async fn delete(&self, _: &str, o: &Observed, _: &Context<'_>) -> Result<(), DriverError> {
        let cloud = &self.cloud;
        let mut objects = cloud.objects.lock().unwrap();
        let Some(obj) = objects.get(&o.id).cloned() else {
            return Ok(());
        };
        cloud
            .calls
            .lock()
            .unwrap()
            .push(format!("delete {}", obj.address));
        if let Some((_, user)) = objects.iter().find(|(_, other)| {
            other.installation == obj.installation && other.deps.contains(&obj.address)
        }) {
            return Err(DriverError::new(
                Failure::Blocked,
                format!("{} is still used by {}", obj.address, user.address),
            ));
        }
        objects.remove(&o.id);
        Ok(())
    }
}

/// A resource for tests.
pub fn res(address: &str, deps: &[&str]) -> Resource {
    Resource {
        address: Address::new(address),
        kind: format!("mem.{}", address.split(['.', '[']).next().unwrap_or("x")),
        props: json!({"name": address}),
        deps: deps.iter().map(|d| Address::new(*d)).collect(),
        delete_after: Vec::new(),
    }
}
