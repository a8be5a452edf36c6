//! The plan/apply engine against the in-memory cloud: ordering, the
//! parallelism bound, failure isolation, crash safety, destroy order and
//! stale plans.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use liftoff::plan::apply::{Engine, Fault, Options};
use liftoff::plan::compute::{Observations, observe, plan_destroy, plan_install};
use liftoff::plan::driver::{Drivers, Failure};
use liftoff::plan::events::{Event, Recording, Silent, Summary};
use liftoff::plan::state::{State, Status, Store};
use liftoff::plan::{Action, Address, Plan, Resource, staleness};

use crate::support::memory::{Cloud, MemoryDriver, res};

const NAME: &str = "demo";

struct World {
    cloud: Arc<Cloud>,
    drivers: Drivers,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let cloud = Arc::new(Cloud::default());
        let mut drivers = Drivers::new();
        drivers.register(
            "mem.",
            Arc::new(MemoryDriver {
                cloud: cloud.clone(),
            }),
        );
        World {
            cloud,
            drivers,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn store(&self) -> Store {
        crate::support::open_store(self.dir.path(), NAME)
    }

    async fn observe(&self, store: &Store, desired: &[Resource]) -> (State, Observations) {
        let state = store.snapshot();
        let observed = observe(NAME, desired, &state, &self.drivers, 4, &Silent)
            .await
            .unwrap();
        (state, observed)
    }

    async fn plan(&self, store: &Store, desired: &[Resource]) -> Plan {
        let (state, observed) = self.observe(store, desired).await;
        plan_install(NAME, "digest", desired, &state, &observed, &self.drivers).unwrap()
    }

    async fn destroy_plan(&self, store: &Store, desired: &[Resource]) -> Plan {
        let (state, observed) = self.observe(store, desired).await;
        plan_destroy(NAME, "digest", desired, &state, &observed)
    }

    async fn apply(
        &self,
        store: &Store,
        plan: &Plan,
        options: Options,
    ) -> (
        Result<Summary, liftoff::plan::driver::DriverError>,
        Vec<Event>,
    ) {
        let events = Recording::default();
        let engine = Engine {
            installation: NAME,
            drivers: &self.drivers,
            store,
            events: &events,
            options,
        };
        let r = engine.apply(plan).await;
        (r, events.events())
    }
}

/// vpc <- subnet[a], subnet[b] <- nat[a] ; cluster <- nodes
fn network() -> Vec<Resource> {
    vec![
        res("net.vpc", &[]),
        res("net.subnet[a]", &["net.vpc"]),
        res("net.subnet[b]", &["net.vpc"]),
        res("net.nat[a]", &["net.subnet[a]"]),
        res("net.cluster", &["net.subnet[a]", "net.subnet[b]"]),
        res("net.nodes", &["net.cluster"]),
    ]
}

fn position(events: &[Event], pred: impl Fn(&Event) -> bool) -> usize {
    events.iter().position(pred).expect("event present")
}

#[tokio::test]
async fn creates_everything_and_nothing_starts_before_its_dependencies() {
    let w = World::new();
    let store = w.store();
    let desired = network();
    let plan = w.plan(&store, &desired).await;
    assert!(plan.changes.iter().all(|c| c.action == Action::Create));
    let (r, events) = w.apply(&store, &plan, Options::default()).await;
    assert_eq!(
        r.unwrap(),
        Summary {
            done: 6,
            failed: 0,
            skipped: 0,
            unchanged: 0
        }
    );
    for r in &desired {
        let started = position(
            &events,
            |e| matches!(e, Event::Started { address, .. } if *address == r.address),
        );
        for d in &r.deps {
            let finished = position(
                &events,
                |e| matches!(e, Event::Finished { address, .. } if address == d),
            );
            assert!(
                finished < started,
                "{} started before {d} finished",
                r.address
            );
        }
        assert_eq!(w.cloud.count(r.address.as_str()), 1);
        assert_eq!(store.get(&r.address).unwrap().status, Status::Ready);
    }
    // A second plan changes nothing.
    let again = w.plan(&store, &desired).await;
    assert!(again.is_noop(), "{again:#?}");
}

#[tokio::test(start_paused = true)]
async fn parallelism_bound_holds_and_is_used() {
    let w = World::new();
    let store = w.store();
    let desired: Vec<Resource> = (0..12).map(|i| res(&format!("many.r[{i}]"), &[])).collect();
    for r in &desired {
        w.cloud.delay(r.address.as_str(), Duration::from_secs(5));
    }
    let plan = w.plan(&store, &desired).await;
    let (r, _) = w
        .apply(
            &store,
            &plan,
            Options {
                parallelism: 3,
                fault: None,
            },
        )
        .await;
    assert_eq!(r.unwrap().done, 12);
    assert_eq!(w.cloud.max_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_dependent_starts_as_soon_as_its_own_dependencies_are_done() {
    let w = World::new();
    let store = w.store();
    // slow has no dependents; fast <- after. `after` must not wait for `slow`.
    let desired = vec![
        res("x.slow", &[]),
        res("x.fast", &[]),
        res("x.after", &["x.fast"]),
    ];
    w.cloud.delay("x.slow", Duration::from_secs(60));
    let plan = w.plan(&store, &desired).await;
    let (r, events) = w.apply(&store, &plan, Options::default()).await;
    assert_eq!(r.unwrap().done, 3);
    let after_done = position(
        &events,
        |e| matches!(e, Event::Finished { address, .. } if address.as_str() == "x.after"),
    );
    let slow_done = position(
        &events,
        |e| matches!(e, Event::Finished { address, .. } if address.as_str() == "x.slow"),
    );
    assert!(after_done < slow_done);
}

#[tokio::test]
async fn a_failure_skips_its_dependents_and_lets_the_rest_finish() {
    let w = World::new();
    let store = w.store();
    let desired = network();
    w.cloud.fail("net.subnet[a]");
    let plan = w.plan(&store, &desired).await;
    let (r, events) = w.apply(&store, &plan, Options::default()).await;
    assert_eq!(
        r.unwrap(),
        Summary {
            done: 2,
            failed: 1,
            skipped: 3,
            unchanged: 0
        }
    );
    let skipped: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Skipped { address, .. } => Some(address.as_str().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 3);
    for a in ["net.nat[a]", "net.cluster", "net.nodes"] {
        assert!(
            skipped.contains(&a.to_string()),
            "{a} not skipped: {skipped:?}"
        );
    }
    assert_eq!(w.cloud.count("net.subnet[b]"), 1);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Failed { hint: Some(h), .. } if h == "injected failure"))
    );
    // Once the cause is fixed, a re-run finishes the rest.
    w.cloud.failing.lock().unwrap().clear();
    let plan = w.plan(&store, &desired).await;
    assert_eq!(
        plan.changes
            .iter()
            .filter(|c| c.action == Action::Create)
            .count(),
        4
    );
    assert_eq!(
        w.apply(&store, &plan, Options::default())
            .await
            .0
            .unwrap()
            .done,
        4
    );
}

#[tokio::test]
async fn crash_between_create_and_state_write_converges_without_duplicates() {
    let w = World::new();
    let desired = network();
    for crash_at in ["net.vpc", "net.subnet[b]", "net.nodes"] {
        let w = World::new();
        let store = w.store();
        let plan = w.plan(&store, &desired).await;
        let fault = Fault::CrashAfterCreate {
            address: Address::new(crash_at),
            abort: false,
        };
        let (r, _) = w
            .apply(
                &store,
                &plan,
                Options {
                    parallelism: 10,
                    fault: Some(fault),
                },
            )
            .await;
        assert_eq!(r.unwrap_err().failure, Failure::Aborted);
        // The object exists in the cloud; the state only has the intent.
        assert_eq!(w.cloud.count(crash_at), 1);
        let entry = store.get(&Address::new(crash_at)).unwrap();
        assert_eq!((entry.status, entry.id.clone()), (Status::Intent, None));
        drop(store);

        // Re-run from a fresh process view: the object is found by tag and adopted.
        let store = w.store();
        let plan = w.plan(&store, &desired).await;
        let change = plan
            .changes
            .iter()
            .find(|c| c.address.as_str() == crash_at)
            .unwrap();
        assert_eq!(change.action, Action::Adopt, "{}", change.reason);
        w.apply(&store, &plan, Options::default()).await.0.unwrap();
        for r in &desired {
            assert_eq!(
                w.cloud.count(r.address.as_str()),
                1,
                "{} duplicated after crash at {crash_at}",
                r.address
            );
        }
        assert_eq!(
            w.cloud
                .calls()
                .iter()
                .filter(|c| *c == &format!("create {crash_at}"))
                .count(),
            1
        );
        assert!(w.plan(&store, &desired).await.is_noop());
    }
    drop(w);
}

#[tokio::test]
async fn destroy_runs_in_reverse_dependency_order_and_removes_only_what_it_owns() {
    let w = World::new();
    let store = w.store();
    let desired = network();
    let plan = w.plan(&store, &desired).await;
    w.apply(&store, &plan, Options::default()).await.0.unwrap();
    // Something liftoff did not create, in the same cloud.
    w.cloud.objects.lock().unwrap().insert(
        "foreign-1".into(),
        crate::support::memory::Object {
            installation: "someone-else".into(),
            address: Address::new("net.vpc"),
            props: serde_json::json!({}),
            deps: vec![],
        },
    );

    let plan = w.destroy_plan(&store, &desired).await;
    assert_eq!(plan.changes.len(), 6);
    assert!(plan.changes.iter().all(|c| c.action == Action::Delete));
    let (r, _) = w.apply(&store, &plan, Options::default()).await;
    assert_eq!(r.unwrap().done, 6);
    let deletes: Vec<String> = w
        .cloud
        .calls()
        .into_iter()
        .filter_map(|c| c.strip_prefix("delete ").map(String::from))
        .collect();
    let at = |a: &str| deletes.iter().position(|d| d == a).unwrap();
    for r in &desired {
        for d in &r.deps {
            assert!(
                at(r.address.as_str()) < at(d.as_str()),
                "{d} deleted before its dependent {}",
                r.address
            );
        }
    }
    assert_eq!(w.cloud.len(), 1, "only the foreign object is left");
    assert!(store.snapshot().resources.is_empty());
}

#[tokio::test]
async fn destroy_finds_tagged_resources_missing_from_state() {
    let w = World::new();
    let desired = network();
    {
        let store = w.store();
        let plan = w.plan(&store, &desired).await;
        w.apply(&store, &plan, Options::default()).await.0.unwrap();
    }
    // The state file is lost.
    std::fs::remove_file(w.dir.path().join(format!("{NAME}.state.json"))).unwrap();
    let store = w.store();
    let plan = w.destroy_plan(&store, &desired).await;
    assert_eq!(plan.changes.len(), 6);
    w.apply(&store, &plan, Options::default()).await.0.unwrap();
    assert_eq!(w.cloud.len(), 0);
}

#[tokio::test]
async fn changed_props_update_and_removed_resources_are_deleted() {
    let w = World::new();
    let store = w.store();
    let mut desired = network();
    let plan = w.plan(&store, &desired).await;
    w.apply(&store, &plan, Options::default()).await.0.unwrap();

    desired[5].props = serde_json::json!({"name": "net.nodes", "size": 4});
    desired.remove(3); // net.nat[a]
    let plan = w.plan(&store, &desired).await;
    let action = |a: &str| {
        plan.changes
            .iter()
            .find(|c| c.address.as_str() == a)
            .unwrap()
            .action
    };
    assert_eq!(action("net.nodes"), Action::Update);
    assert_eq!(action("net.nat[a]"), Action::Delete);
    assert_eq!(action("net.vpc"), Action::NoOp);
    let nodes = plan
        .changes
        .iter()
        .find(|c| c.address.as_str() == "net.nodes")
        .unwrap();
    assert_eq!(nodes.fields[0].field, "size");
    w.apply(&store, &plan, Options::default()).await.0.unwrap();
    assert_eq!(w.cloud.count("net.nat[a]"), 0);
    assert!(w.plan(&store, &desired).await.is_noop());
}

#[tokio::test]
async fn a_saved_plan_goes_stale_when_the_world_moves() {
    let w = World::new();
    let store = w.store();
    let desired = network();
    let saved = w.plan(&store, &desired).await;
    let fresh = w.plan(&store, &desired).await;
    assert_eq!(staleness(&saved, &fresh), None);

    // Someone creates the VPC meanwhile (a concurrent run, say).
    let partial = w.plan(&store, &desired[..1]).await;
    w.apply(&store, &partial, Options::default())
        .await
        .0
        .unwrap();
    let fresh = w.plan(&store, &desired).await;
    assert_eq!(
        staleness(&saved, &fresh).as_deref(),
        Some("the infrastructure or the state changed since it was made")
    );

    let mut other_spec = saved.clone();
    other_spec.spec_digest = "other".into();
    assert_eq!(
        staleness(&other_spec, &saved).as_deref(),
        Some("the spec changed since it was made")
    );
}

#[tokio::test]
async fn a_plan_survives_a_json_round_trip() {
    let w = World::new();
    let store = w.store();
    let plan = w.plan(&store, &network()).await;
    let json = serde_json::to_string(&plan).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
}

#[tokio::test]
async fn plan_display_shows_every_action() {
    let w = World::new();
    let store = w.store();
    let mut desired = network();
    let plan = w.plan(&store, &desired).await;
    w.apply(&store, &plan, Options::default()).await.0.unwrap();

    desired[5].props =
        serde_json::json!({"name": "net.nodes", "desired": 4, "password": "never-shown"});
    desired[2].props = serde_json::json!({"name": "net.subnet[b]", "cidr": "10.0.32.0/20"});
    desired.remove(3); // net.nat[a]
    desired.push(res("net.dns", &["net.nodes"]));
    store.put(&Address::new("net.vpc"), None).unwrap(); // lost from state, still tagged
    let plan = w.plan(&store, &desired).await;
    let text = liftoff::plan::display::render(&plan);
    assert!(!text.contains("never-shown"));
    insta::assert_snapshot!(text);
}

#[tokio::test]
async fn delete_after_orders_a_destroy_without_holding_up_creation() {
    let w = World::new();
    let store = w.store();
    let mut db = res("x.a-db", &[]);
    db.delete_after = vec![Address::new("x.b-cluster")];
    let desired = vec![db, res("x.b-cluster", &[])];
    w.cloud.delay("x.b-cluster", Duration::from_millis(50));
    let plan = w.plan(&store, &desired).await;
    let (r, events) = w.apply(&store, &plan, Options::default()).await;
    assert_eq!(r.unwrap().done, 2);
    // Created side by side: the database does not wait for the cluster.
    let started = |a: &str| {
        position(
            &events,
            |e| matches!(e, Event::Started { address, .. } if address.as_str() == a),
        )
    };
    let finished = |a: &str| {
        position(
            &events,
            |e| matches!(e, Event::Finished { address, .. } if address.as_str() == a),
        )
    };
    assert!(
        started("x.b-cluster") < finished("x.a-db") && started("x.a-db") < finished("x.b-cluster")
    );
    assert_eq!(
        store.get(&Address::new("x.a-db")).unwrap().delete_after,
        vec![Address::new("x.b-cluster")]
    );

    // Destroyed in order, from what the state recorded (left alone, the
    // two would start in address order: the database first).
    let plan = w.destroy_plan(&store, &[]).await;
    w.apply(&store, &plan, Options::default()).await.0.unwrap();
    let deletes: Vec<String> = w
        .cloud
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("delete"))
        .collect();
    assert_eq!(deletes, ["delete x.b-cluster", "delete x.a-db"]);
}
