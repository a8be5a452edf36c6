//! A spec, inputs and one engine run of the cluster phase.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use liftoff::cluster::graph::Facts;
use liftoff::cluster::helm::Helm;
use liftoff::cluster::{ClusterDriver, Connection, DbLogin, Inputs};
use liftoff::plan::apply::{Engine, Options};
use liftoff::plan::driver::{Driver, Drivers};
use liftoff::plan::events::{Event, Recording, Silent, Summary};
use liftoff::plan::state::Store;
use liftoff::plan::{Plan, compute};
use liftoff::secret::Redacted;
use liftoff::spec::Spec;
use serde_json::{Value, json};

use crate::support::helm::FakeHelm;
use crate::support::kube::FakeKube;

pub const CHAIN: &str = "-----BEGIN CERTIFICATE-----\nMIIBchain\n-----END CERTIFICATE-----\n";
pub const KEY: &str = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEY\n-----END PRIVATE KEY-----\n";
pub const CA: &str = "-----BEGIN CERTIFICATE-----\nMIIBrootca\n-----END CERTIFICATE-----\n";
pub const DB_PASSWORD: &str = "pa:ss@word/1";
pub const SMTP: &str = "smtps://mailer:SMTPSECRET@smtp.example.com:465";
pub const VALUES: &str = "global:\n  baseDomain: astro.example.com\n  tlsSecret: astronomer-tls\n";
pub const LB: &str = "abc-123.elb.us-east-1.amazonaws.com";

/// An existing-cluster spec on chart 0.37.7, self-signed TLS, SMTP, an
/// external database; `edit` changes the JSON before it is typed.
pub fn spec(edit: impl FnOnce(&mut Value)) -> Spec {
    let mut v = json!({
        "apiVersion": "liftoff.dev/v1", "kind": "Installation",
        "metadata": {"name": "acme"},
        "cloud": {"provider": "existing"},
        "database": {"mode": "external", "ssl": false},
        "cluster": {"mode": "existing"},
        "platform": {
            "chart": {"repository": "https://helm.astronomer.io", "name": "astronomer", "version": "0.37.7"},
            "baseDomain": "astro.example.com",
            "tls": {"selfSigned": true},
            "smtp": {"url": {"fromEnv": "SMTP_URL"}},
        },
    });
    edit(&mut v);
    serde_json::from_value(v).unwrap()
}

pub fn inputs() -> Inputs {
    Inputs {
        tls_chain_pem: Some(CHAIN.into()),
        tls_key_pem: Some(Redacted::new(KEY.into())),
        private_ca_pem: Some(CA.into()),
        database: Some(DbLogin {
            host: "db.internal".into(),
            port: 5432,
            user: "astro".into(),
            password: Redacted::new(DB_PASSWORD.into()),
            ssl: false,
            // Private: the preflight skips it (nothing listens there).
            private: true,
        }),
        smtp_url: Some(Redacted::new(SMTP.into())),
        registry_dockerconfig: None,
        values_yaml: Some(VALUES.into()),
        values_yaml_with_controller: None,
    }
}

/// A fake cluster ready for the platform (default storage class, nginx
/// service with a load balancer) and a fake helm.
pub async fn world(minor: &str, helm_version: &str) -> (FakeKube, FakeHelm) {
    let kube = FakeKube::start(minor).await;
    kube.ready_cluster("astronomer", "astronomer-nginx", LB);
    (kube, FakeHelm::new(helm_version))
}

pub fn driver(spec: &Spec, kube: &FakeKube, helm: &FakeHelm, inputs: Inputs) -> ClusterDriver {
    let conn = Connection::Token {
        endpoint: kube.url.clone(),
        ca_pem: None,
        token: Redacted::new("test-token".into()),
    };
    ClusterDriver::new(
        spec.clone(),
        helm.path().to_path_buf(),
        Arc::new(conn),
        inputs,
    )
    .with_helm(Helm {
        program: helm.program(),
    })
    .with_load_balancer_wait(Duration::from_secs(10), Duration::from_millis(20))
}

pub struct Run {
    pub plan: Plan,
    pub summary: Summary,
    pub events: Vec<Event>,
}

/// Plans and applies the cluster phase once with `drivers`.
pub async fn run(spec: &Spec, drivers: &Drivers, state_dir: &Path) -> Run {
    let desired = liftoff::cluster::graph::resources(
        spec,
        &[],
        &Facts {
            private_ca: spec.platform.tls.self_signed,
            dns_records: spec.dns.is_some(),
        },
    );
    let store = crate::support::open_store(state_dir, "acme");
    let observed = compute::observe("acme", &desired, &store.snapshot(), drivers, 4, &Silent)
        .await
        .unwrap();
    let plan = compute::plan_install("acme", "d", &desired, &store.snapshot(), &observed, drivers)
        .unwrap();
    apply(plan, drivers, &store).await
}

/// Applies `plan` and collects what happened.
async fn apply(plan: Plan, drivers: &Drivers, store: &Store) -> Run {
    let events = Recording::default();
    let engine = Engine {
        installation: "acme",
        drivers,
        store,
        events: &events,
        options: Options::default(),
    };
    let summary = engine.apply(&plan).await.unwrap();
    Run {
        plan,
        summary,
        events: events.events(),
    }
}

pub fn drivers(cluster: ClusterDriver) -> Drivers {
    let mut d = Drivers::new();
    d.register("cluster.", Arc::new(cluster) as Arc<dyn Driver>);
    d
}

/// The failure messages of a run.
pub fn failures(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Failed { address, error, .. } => Some(format!("{address}: {error}")),
            _ => None,
        })
        .collect()
}

/// Plans and applies a destroy of what the state records.
pub async fn destroy(spec: &Spec, drivers: &Drivers, state_dir: &Path) -> Run {
    let desired = liftoff::cluster::graph::resources(
        spec,
        &[],
        &Facts {
            private_ca: spec.platform.tls.self_signed,
            dns_records: spec.dns.is_some(),
        },
    );
    let store = crate::support::open_store(state_dir, "acme");
    let observed = compute::observe("acme", &desired, &store.snapshot(), drivers, 4, &Silent)
        .await
        .unwrap();
    let plan = compute::plan_destroy("acme", "d", &desired, &store.snapshot(), &observed);
    apply(plan, drivers, &store).await
}
