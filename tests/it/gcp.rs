//! The GCP cloud phase against the loopback fake (`support::gcp_fake`): the
//! real `liftoff` binary with Application Default Credentials from an
//! `authorized_user` file whose token endpoint is the fake, every endpoint
//! pointed at it through `LIFTOFF_GCP_ENDPOINT`.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::support::gcp_fake::GcpFake;

pub(crate) struct Env {
    pub(crate) fake: GcpFake,
    pub(crate) dir: tempfile::TempDir,
    /// A recording `helm` on PATH, for runs with the cluster phase.
    pub(crate) helm: Option<crate::support::helm::FakeHelm>,
}

pub(crate) const PROJECT: &str = "acme-test";

impl Env {
    pub(crate) async fn start(pending_polls: u32) -> Env {
        Env {
            fake: GcpFake::start(pending_polls).await,
            dir: tempfile::tempdir().unwrap(),
            helm: None,
        }
    }

    pub(crate) fn spec_path(&self) -> PathBuf {
        self.dir.path().join("liftoff.yaml")
    }

    pub(crate) fn write_spec(&self, name: &str, extra: &str) {
        let m = &crate::cli_render::materials()[0];
        std::fs::write(self.dir.path().join("cert.pem"), &m.chain_pem).unwrap();
        std::fs::write(self.dir.path().join("key.pem"), m.key_pem.expose()).unwrap();
        // Unprotected unless the test says otherwise.
        let database = if extra.contains("database:") {
            ""
        } else {
            "database:\n  deletionProtection: false\n"
        };
        let text = format!(
            r#"apiVersion: liftoff.dev/v1
kind: Installation
profile: gcp-standard
metadata:
  name: {name}
cloud:
  project: {PROJECT}
{database}platform:
  baseDomain: astro.example.com
  tls: {{certFile: ./cert.pem, keyFile: ./key.pem}}
{extra}"#
        );
        std::fs::write(self.spec_path(), text).unwrap();
    }

    pub(crate) async fn liftoff(&self, args: &[&str]) -> Output {
        self.liftoff_with(args, &[]).await
    }

    pub(crate) async fn liftoff_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().await.unwrap()
    }

    /// The `liftoff` command these runs use, not started.
    pub(crate) fn command(&self, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
        let adc = self.fake.credentials_file(self.dir.path());
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_liftoff"));
        cmd.args(args)
            .arg("-f")
            .arg(self.spec_path())
            .stdin(std::process::Stdio::null())
            .env("LIFTOFF_GCP_ENDPOINT", &self.fake.url)
            .env("GOOGLE_APPLICATION_CREDENTIALS", adc)
            .env("LIFTOFF_POLL_MS", "2")
            .env_remove("LIFTOFF_STATE_DIR")
            .env_remove("LIFTOFF_FAULT")
            .env_remove("KUBECONFIG");
        if let Some(helm) = &self.helm {
            let mut paths = vec![helm.path().to_path_buf()];
            paths.extend(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            ));
            cmd.env("PATH", std::env::join_paths(paths).unwrap())
                .env_remove("LIFTOFF_HELM");
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }
}

pub(crate) fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The position of the first call starting with `prefix`.
pub(crate) fn position(calls: &[String], prefix: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no call {prefix} in {calls:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn gcp_install_reruns_as_noop_reports_outputs_and_destroys_in_reverse() {
    let env = Env::start(2).await;
    env.write_spec("gdemo", "");
    let out = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let p = format!("projects/{PROJECT}");
    let net = env.fake.get(&format!("{p}/global/networks/gdemo")).unwrap();
    assert_eq!(net["autoCreateSubnetworks"], false);
    assert!(
        net["description"]
            .as_str()
            .unwrap()
            .contains("liftoff-installation=gdemo")
    );
    let subnet = env
        .fake
        .get(&format!("{p}/regions/us-central1/subnetworks/gdemo-nodes"))
        .unwrap();
    assert_eq!(subnet["ipCidrRange"], "10.10.0.0/16");
    assert_eq!(subnet["privateIpGoogleAccess"], true);
    let ranges: Vec<(&str, &str)> = subnet["secondaryIpRanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rangeName"].as_str().unwrap(),
                r["ipCidrRange"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ranges,
        [("pods", "10.32.0.0/14"), ("services", "10.98.0.0/20")]
    );
    let fw = env
        .fake
        .get(&format!("{p}/global/firewalls/gdemo-gke-webhooks"))
        .unwrap();
    assert_eq!(
        fw["allowed"][0]["ports"],
        serde_json::json!(["6443", "8443", "9443"])
    );
    assert_eq!(fw["sourceRanges"], serde_json::json!(["172.16.0.32/28"]));
    let router = env
        .fake
        .get(&format!("{p}/regions/us-central1/routers/gdemo-router"))
        .unwrap();
    assert_eq!(router["nats"][0]["natIpAllocateOption"], "MANUAL_ONLY");
    assert!(
        env.fake
            .get(&format!("servicenetworking/{p}/global/networks/gdemo"))
            .is_some()
    );
    let db = env.fake.get(&format!("{p}/instances/gdemo-db")).unwrap();
    assert_eq!(db["settings"]["ipConfiguration"]["ipv4Enabled"], false);
    assert_eq!(
        db["settings"]["availabilityType"], 2,
        "REGIONAL, as an integer"
    );
    assert_eq!(
        db["settings"]["userLabels"]["liftoff-installation"],
        "gdemo"
    );
    let cluster = env
        .fake
        .get(&format!("{p}/locations/us-central1/clusters/gdemo"))
        .unwrap();
    assert_eq!(
        cluster["releaseChannel"]["channel"], 2,
        "REGULAR, as an integer"
    );
    assert_eq!(cluster["networkConfig"]["defaultEnablePrivateNodes"], true);
    assert_eq!(
        cluster["locations"],
        serde_json::json!(["us-central1-a", "us-central1-b", "us-central1-c"])
    );
    assert!(
        env.fake
            .get(&format!(
                "{p}/locations/us-central1/clusters/gdemo/nodePools/platform"
            ))
            .is_some()
    );
    // The password is kept beside the state, never in it.
    let state_dir = env.dir.path().join(".liftoff");
    let password = std::fs::read_to_string(state_dir.join("gdemo.db-password")).unwrap();
    for entry in std::fs::read_dir(&state_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let t = std::fs::read_to_string(&path).unwrap();
            assert!(
                !t.contains(password.trim()),
                "password in {}",
                path.display()
            );
        }
    }
    let calls = env.fake.writes();
    assert!(
        position(
            &calls,
            "POST /compute/v1/projects/acme-test/global/networks"
        ) < position(
            &calls,
            "POST /compute/v1/projects/acme-test/regions/us-central1/subnetworks"
        )
    );
    assert!(
        position(&calls, "POST /v1/services/servicenetworking")
            < position(&calls, "POST /v1/projects/acme-test/instances")
    );
    assert!(
        position(
            &calls,
            "PUT /compute/v1/projects/acme-test/regions/us-central1/routers/gdemo-router"
        ) < position(
            &calls,
            "POST /v1/projects/acme-test/locations/us-central1/clusters"
        )
    );

    // Outputs, in text and JSON, also from status.
    let combined = text(&out);
    for want in [
        "34.1.2.",
        "gdemo-nodes",
        "10.200.0.3",
        "203.0.113.10",
        "1.33.5-gke.1200",
    ] {
        assert!(combined.contains(want), "{want} missing from {combined}");
    }
    let status = env.liftoff(&["status", "--output", "json"]).await;
    assert!(status.status.success(), "{}", text(&status));
    let doc: Value = serde_json::from_slice(&status.stdout).unwrap();
    let outputs = doc
        .pointer("/outputs/gcp")
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(outputs["database"]["privateIp"], "10.200.0.3");
    assert_eq!(outputs["network"], "gdemo");
    assert_eq!(outputs["cluster"]["endpoint"], "203.0.113.10");
    assert!(
        outputs["natAddresses"][0]
            .as_str()
            .unwrap()
            .starts_with("34.1.2.")
    );

    // A rerun changes nothing.
    let before = env.fake.writes().len();
    let plan = env
        .liftoff(&["plan", "--phase", "cloud", "--output", "json"])
        .await;
    assert!(plan.status.success(), "{}", text(&plan));
    let plan_doc: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let actions: Vec<String> = plan_doc["changes"]
        .as_array()
        .or(plan_doc["resources"].as_array())
        .unwrap_or_else(|| panic!("{plan_doc:#}"))
        .iter()
        .map(|c| format!("{} {}", c["action"], c["address"]))
        .filter(|a| !a.starts_with("\"no-op\""))
        .collect();
    assert!(actions.is_empty(), "{actions:#?}\n{plan_doc:#}");
    let again = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(
        env.fake.writes().len(),
        before,
        "{:#?}",
        &env.fake.writes()[before..]
    );

    // Destroy: reverse order, everything liftoff made, nothing else.
    let other = format!("{p}/global/networks/someone-elses");
    env.fake.put(
        &other,
        serde_json::json!({"name": "someone-elses", "autoCreateSubnetworks": false}),
    );
    let start = env.fake.writes().len();
    let out = env.liftoff(&["destroy", "--yes", "--phase", "cloud"]).await;
    assert!(
        out.status.success(),
        "{}\n{:#?}",
        text(&out),
        &env.fake.writes()[start..]
    );
    let calls = env.fake.writes()[start..].to_vec();
    let pool = position(
        &calls,
        "DELETE /v1/projects/acme-test/locations/us-central1/clusters/gdemo/nodePools/platform",
    );
    let cl = calls
        .iter()
        .position(|c| c == "DELETE /v1/projects/acme-test/locations/us-central1/clusters/gdemo")
        .unwrap();
    let sqlx = position(&calls, "DELETE /v1/projects/acme-test/instances/gdemo-db");
    let peering = position(
        &calls,
        "POST /compute/v1/projects/acme-test/global/networks/gdemo/removePeering",
    );
    let network = position(
        &calls,
        "DELETE /compute/v1/projects/acme-test/global/networks/gdemo",
    );
    assert!(
        pool < cl && cl < sqlx && sqlx < peering && peering < network,
        "{calls:#?}"
    );
    let left: Vec<String> = env.fake.paths();
    assert_eq!(left, vec![other], "only what liftoff did not make is left");
}

#[tokio::test(flavor = "multi_thread")]
async fn gcp_existing_network_failures_are_each_named() {
    let env = Env::start(0).await;
    let existing = "network:\n  mode: existing\n  vpcId: shared\n  cidr: null\ngcp:\n  subnetwork: gke-nodes\n";
    env.write_spec("gexist", existing);
    let p = format!("projects/{PROJECT}");
    // Nothing exists: both named.
    let out = env.liftoff(&["plan", "--phase", "cloud"]).await;
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("network shared does not exist"), "{err}");
    assert!(
        err.contains("subnetwork gke-nodes does not exist in us-central1"),
        "{err}"
    );
    // The network and a subnetwork without the services range, no NAT.
    let link = format!("https://www.googleapis.com/compute/v1/{p}/global/networks/shared");
    env.fake.put(
        &format!("{p}/global/networks/shared"),
        serde_json::json!({"name": "shared"}),
    );
    env.fake.put(
        &format!("{p}/regions/us-central1/subnetworks/gke-nodes"),
        serde_json::json!({"name": "gke-nodes", "network": link, "ipCidrRange": "10.0.0.0/20",
            "secondaryIpRanges": [{"rangeName": "pods", "ipCidrRange": "10.32.0.0/14"}]}),
    );
    let out = env.liftoff(&["plan", "--phase", "cloud"]).await;
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("subnetwork gke-nodes has no secondary range named services"),
        "{err}"
    );
    assert!(
        err.contains("no Cloud NAT in us-central1 covers subnetwork gke-nodes"),
        "{err}"
    );
    assert!(!err.contains("does not exist"), "{err}");
    // Ranges and a NAT for every subnetwork: only Private Services Access is missing.
    env.fake.put(
        &format!("{p}/regions/us-central1/subnetworks/gke-nodes"),
        serde_json::json!({"name": "gke-nodes", "network": link, "ipCidrRange": "10.0.0.0/20",
            "secondaryIpRanges": [{"rangeName": "pods", "ipCidrRange": "10.32.0.0/14"}, {"rangeName": "services", "ipCidrRange": "10.98.0.0/20"}]}),
    );
    env.fake.put(
        &format!("{p}/regions/us-central1/routers/edge"),
        serde_json::json!({"name": "edge", "network": link, "nats": [{"name": "all", "sourceSubnetworkIpRangesToNat": "ALL_SUBNETWORKS_ALL_IP_RANGES", "natIpAllocateOption": "AUTO_ONLY"}]}),
    );
    let out = env.liftoff(&["plan", "--phase", "cloud"]).await;
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("network shared has no Private Services Access connection"),
        "{err}"
    );
    assert!(!err.contains("Cloud NAT"), "{err}");
    assert!(
        env.fake.writes().is_empty(),
        "a check changes nothing: {:#?}",
        env.fake.writes()
    );
    // With Private Services Access in place, the install uses the network:
    // Cloud SQL on its private range, GKE on its subnetwork and ranges.
    let before = env.fake.paths();
    env.fake.put(
        &format!("servicenetworking/{p}/global/networks/shared"),
        serde_json::json!({"network": format!("{p}/global/networks/shared"), "reservedPeeringRanges": ["google-managed"], "peering": "servicenetworking-googleapis-com"}),
    );
    let out = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let cluster = env
        .fake
        .get(&format!("{p}/locations/us-central1/clusters/gexist"))
        .unwrap();
    assert_eq!(cluster["subnetwork"], "gke-nodes");
    assert_eq!(cluster["network"], "shared");
    let db = env.fake.get(&format!("{p}/instances/gexist-db")).unwrap();
    assert!(
        db["settings"]["ipConfiguration"]["privateNetwork"]
            .as_str()
            .unwrap()
            .ends_with("/networks/shared")
    );
    assert!(
        !env.fake.writes().iter().any(|w| w.contains("/compute/v1/")),
        "nothing in the existing network is changed: {:#?}",
        env.fake.writes()
    );
    let out = env.liftoff(&["destroy", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let mut after = env.fake.paths();
    after.retain(|p| !p.starts_with("servicenetworking/"));
    assert_eq!(after, before, "only what liftoff made is gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn gcp_crash_after_each_create_converges_on_rerun() {
    for address in [
        "gcp.network",
        "gcp.subnetwork",
        "gcp.firewall[webhooks]",
        "gcp.router",
        "gcp.nat_address[0]",
        "gcp.nat",
        "gcp.services_range",
        "gcp.services_connection",
        "gcp.sql_instance",
        "gcp.gke_cluster",
        "gcp.node_pool[platform]",
    ] {
        let env = Env::start(0).await;
        env.write_spec("gcrash", "");
        let fault = format!("crash-after-create:{address}");
        let out = env
            .liftoff_with(
                &["install", "--yes", "--phase", "cloud", "--parallelism", "1"],
                &[("LIFTOFF_FAULT", &fault)],
            )
            .await;
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("fault injected"),
            "the crash at {address} did not happen: {}",
            text(&out)
        );
        // The resource was made but not recorded: the rerun finds it by its
        // ownership marks (or through its parent) and adopts it; nothing is
        // made twice (names are deterministic: a second create is refused).
        let plan = env
            .liftoff(&["plan", "--phase", "cloud", "--output", "json"])
            .await;
        let doc: Value =
            serde_json::from_slice(&plan.stdout).unwrap_or_else(|_| panic!("{}", text(&plan)));
        let change = doc["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .unwrap()
            .clone();
        assert_eq!(change["action"], "adopt", "{address}: {change:#}");
        let out = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
        assert!(out.status.success(), "{address}: {}", text(&out));
        let out = env.liftoff(&["destroy", "--yes", "--phase", "cloud"]).await;
        assert!(out.status.success(), "{address}: {}", text(&out));
        assert!(
            env.fake.paths().is_empty(),
            "{address}: {:#?}",
            env.fake.paths()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn gcp_failed_operation_is_named_and_deletion_protection_needs_the_spec() {
    let env = Env::start(1).await;
    env.write_spec("gprot", "database:\n  deletionProtection: true\n");
    env.fake.fail_next_operation(
        "POST /v1/projects/acme-test/instances",
        "Quota exceeded for quota metric 'Instances'",
    );
    let out = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("Cloud SQL instance gprot-db creation failed: Quota exceeded"),
        "{err}"
    );
    // The rerun makes it (the failed instance is gone, as on GCP).
    let out = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let path = format!("projects/{PROJECT}/instances/gprot-db");
    assert_eq!(
        env.fake.get(&path).unwrap()["settings"]["deletionProtectionEnabled"],
        true
    );
    // Destroy leaves the protected database (and what it needs) alone.
    let out = env.liftoff(&["destroy", "--yes", "--phase", "cloud"]).await;
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("Cloud SQL instance gprot-db has deletion protection on"),
        "{err}"
    );
    assert!(
        err.contains("set `database.deletionProtection: false`"),
        "{err}"
    );
    assert!(env.fake.get(&path).is_some());
    // Lifted only when the spec says so: install turns it off in place.
    env.write_spec("gprot", "");
    let out = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        env.fake.get(&path).unwrap()["settings"]["deletionProtectionEnabled"],
        false
    );
    assert!(
        env.fake
            .writes()
            .contains(&"PATCH /v1/projects/acme-test/instances/gprot-db".to_string())
    );
    let out = env.liftoff(&["destroy", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(env.fake.paths().is_empty(), "{:#?}", env.fake.paths());
}

#[tokio::test(flavor = "multi_thread")]
async fn gcp_install_goes_on_into_the_new_gke_cluster_with_dns_and_destroys_it_all() {
    use crate::support::kube::FakeKube;
    let mut env = Env::start(1).await;
    env.helm = Some(crate::support::helm::FakeHelm::new("v3.17.0"));
    // The new GKE cluster answers at a fake Kubernetes API; the platform's
    // load balancer gets an address, as GCP gives one.
    let kube = FakeKube::start("33").await;
    kube.ready_cluster("astronomer", "astronomer-nginx", "unused.example");
    kube.put(
        "/api/v1/namespaces/astronomer/services",
        serde_json::json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "astronomer-nginx", "namespace": "astronomer"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "34.120.0.5"}]}}}),
    );
    env.fake
        .serve_clusters_at(&kube.url, "", "adc-token-for-gke");
    env.fake.put(
        "dns/projects/acme-test/managedZones/example-zone",
        serde_json::json!({"name": "example-zone", "dnsName": "example.com."}),
    );
    env.write_spec("gfull", "dns:\n  zone: example-zone\n");
    let out = env.liftoff(&["install", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let record = env
        .fake
        .get("dns/projects/acme-test/managedZones/example-zone/rrsets/*.astro.example.com./A")
        .unwrap_or_else(|| panic!("no record: {:#?}", env.fake.paths()));
    assert_eq!(record["rrdatas"], serde_json::json!(["34.120.0.5"]));
    // The cluster phase reached the cluster with the endpoint GKE reported
    // and wrote the database login from Cloud SQL's private IP.
    let bootstrap = kube
        .get(
            "/api/v1/namespaces/astronomer/secrets",
            "astronomer-bootstrap",
        )
        .expect("bootstrap secret");
    use base64::Engine as _;
    let connection = base64::engine::general_purpose::STANDARD
        .decode(bootstrap["data"]["connection"].as_str().unwrap())
        .unwrap();
    let connection = String::from_utf8(connection).unwrap();
    assert!(
        connection.starts_with("postgres://postgres:"),
        "{connection}"
    );
    assert!(connection.ends_with("@10.200.0.3:5432"), "{connection}");
    assert_eq!(env.helm.as_ref().unwrap().upgrades().len(), 1);
    let plan = env.liftoff(&["plan", "--output", "json"]).await;
    assert!(plan.status.success(), "{}", text(&plan));
    let doc: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let busy: Vec<&Value> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .collect();
    assert!(busy.is_empty(), "{busy:#?}");
    let out = env.liftoff(&["destroy", "--yes"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let left: Vec<String> = env.fake.paths();
    assert_eq!(
        left,
        vec!["dns/projects/acme-test/managedZones/example-zone".to_string()]
    );
}

/// From an empty fake project to a deployed release on a real API server:
/// the fake GKE reports `../shared/k8s`'s API server as the new cluster's
/// endpoint (with its CA), and the token endpoint of the ADC file hands out
/// a token that API server issued for a cluster-admin ServiceAccount, so the
/// cluster phase reaches it exactly as it reaches GKE.
#[tokio::test(flavor = "multi_thread")]
async fn gcp_empty_project_to_a_deployed_release_on_a_real_api_server() {
    use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
    use kube::api::{Api, PostParams};
    let cluster = crate::real_cluster!();
    let env = Env::start(1).await;
    let (kubeconfig, user) = cluster.identity(env.dir.path()).await;
    let token = std::fs::read_to_string(&kubeconfig)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: ").map(str::to_string))
        .unwrap();
    let binding = crate::support::realkube::unique("gke-admin");
    let (ns_of_user, sa) = {
        let rest = user.trim_start_matches("system:serviceaccount:");
        let (ns, sa) = rest.split_once(':').unwrap();
        (ns.to_string(), sa.to_string())
    };
    Api::<ClusterRoleBinding>::all(cluster.admin().await)
        .create(
            &PostParams::default(),
            &serde_json::from_value(serde_json::json!({
                "metadata": {"name": binding},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns_of_user}],
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let ca = std::fs::read_to_string(&cluster.env["K8S_CA_FILE"]).unwrap();
    env.fake
        .serve_clusters_at(&cluster.env["K8S_APISERVER_URL"], &ca, &token);
    let namespace = crate::support::realkube::unique("gns");
    let release = crate::support::realkube::unique("grel");
    env.write_spec("greal", "");
    // The fixture chart, in this test's own namespace and release.
    let spec = std::fs::read_to_string(env.spec_path()).unwrap().replace(
        "platform:\n",
        &format!(
            "timeouts: {{helm: 60s, namespace: 2m, loadBalancer: 60s}}\nplatform:\n  chart: {{repository: {chart}, name: astronomer, version: 0.37.7}}\n  namespace: {namespace}\n  releaseName: {release}\n  values:\n    forceIncompatibleKubernetes: true\n",
            chart = cluster.chart.display()
        ),
    );
    std::fs::write(env.spec_path(), spec).unwrap();
    let helm_dir = cluster.helm.parent().unwrap().to_path_buf();
    let path = {
        let mut paths = vec![helm_dir];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(paths).unwrap()
    };
    let path = path.to_string_lossy().to_string();
    let out = env
        .liftoff_with(&["install", "--yes"], &[("PATH", &path)])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    let status = cluster.helm(&["status", &release, "-n", &namespace]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("deployed"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    let out = env
        .liftoff_with(&["destroy", "--yes"], &[("PATH", &path)])
        .await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(env.fake.paths().is_empty(), "{:#?}", env.fake.paths());
}

#[tokio::test(flavor = "multi_thread")]
async fn gcp_zonal_pinned_cluster_with_two_pools_and_a_blocked_network_named_on_destroy() {
    let env = Env::start(1).await;
    let extra = r#"cluster:
  endpointAccess: public
  publicAccessCidrs: [203.0.113.0/24]
  nodeGroups:
    - {name: platform, instanceTypes: [n2-standard-8], min: 1, max: 3, desired: 1, labels: {astronomer.io/pool: platform}}
    - name: tenants
      instanceTypes: [n2-standard-4]
      min: 0
      max: 10
      desired: 1
      labels: {astronomer.io/multi-tenant: "true"}
      taints: [{key: astronomer.io/multi-tenant, value: "true", effect: NoSchedule}]
gcp:
  zonal: true
  releaseChannel: none
  natAddresses: 0
"#;
    env.write_spec("gzonal", extra);
    let out = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let p = format!("projects/{PROJECT}");
    let cluster = env
        .fake
        .get(&format!("{p}/locations/us-central1-a/clusters/gzonal"))
        .unwrap_or_else(|| panic!("{:#?}", env.fake.paths()));
    assert_eq!(cluster["locations"], serde_json::json!(["us-central1-a"]));
    assert_eq!(cluster["initialClusterVersion"], "1.33");
    assert!(cluster["releaseChannel"]["channel"].as_i64().unwrap_or(0) == 0);
    let ip = &cluster["controlPlaneEndpointsConfig"]["ipEndpointsConfig"];
    assert_eq!(ip["enablePublicEndpoint"], true);
    assert_eq!(ip["authorizedNetworksConfig"]["enabled"], true);
    assert_eq!(
        ip["authorizedNetworksConfig"]["cidrBlocks"][0]["cidrBlock"],
        "203.0.113.0/24"
    );
    let tenants = env
        .fake
        .get(&format!(
            "{p}/locations/us-central1-a/clusters/gzonal/nodePools/tenants"
        ))
        .unwrap();
    assert_eq!(tenants["config"]["imageType"], "COS_CONTAINERD");
    assert_eq!(
        tenants["config"]["taints"][0]["effect"], 1,
        "NO_SCHEDULE as an integer"
    );
    assert_eq!(
        tenants["config"]["labels"]["astronomer.io/multi-tenant"],
        "true"
    );
    assert_eq!(tenants["autoscaling"]["maxNodeCount"], 10);
    let router = env
        .fake
        .get(&format!("{p}/regions/us-central1/routers/gzonal-router"))
        .unwrap();
    assert_eq!(router["nats"][0]["natIpAllocateOption"], "AUTO_ONLY");
    assert!(
        text(&out).contains("Cloud NAT addresses: allocated automatically"),
        "{}",
        text(&out)
    );
    let plan = env
        .liftoff(&["plan", "--phase", "cloud", "--output", "json"])
        .await;
    let doc: Value = serde_json::from_slice(&plan.stdout).unwrap();
    let busy: Vec<&Value> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .collect();
    assert!(busy.is_empty(), "{busy:#?}");

    // A firewall rule GKE made for a Service (not liftoff's) still uses the
    // network: destroy removes everything else and names it.
    let foreign = format!("{p}/global/firewalls/k8s-fw-a1b2c3");
    env.fake.put(
        &foreign,
        serde_json::json!({"name": "k8s-fw-a1b2c3", "network": format!("https://www.googleapis.com/compute/v1/{p}/global/networks/gzonal")}),
    );
    let out = env.liftoff(&["destroy", "--yes", "--phase", "cloud"]).await;
    let err = text(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(
            "is already being used by 'projects/acme-test/global/firewalls/k8s-fw-a1b2c3'"
        ),
        "{err}"
    );
    assert!(err.contains("delete the ones named"), "{err}");
    assert!(
        env.fake.get(&foreign).is_some(),
        "liftoff never deletes what is not its own"
    );
    env.fake.remove(&foreign);
    let out = env.liftoff(&["destroy", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(env.fake.paths().is_empty(), "{:#?}", env.fake.paths());
}

#[tokio::test(flavor = "multi_thread")]
async fn gcp_destroy_without_the_state_finds_everything_by_its_marks() {
    let env = Env::start(0).await;
    env.write_spec("gleft", "");
    let out = env.liftoff(&["install", "--yes", "--phase", "cloud"]).await;
    assert!(out.status.success(), "{}", text(&out));
    std::fs::remove_dir_all(env.dir.path().join(".liftoff")).unwrap();
    let other = format!("projects/{PROJECT}/global/networks/gleft-other");
    env.fake.put(
        &other,
        serde_json::json!({"name": "gleft-other", "description": "made by hand"}),
    );
    let out = env.liftoff(&["destroy", "--yes", "--phase", "cloud"]).await;
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("found by ownership tags as projects/acme-test/global/networks/gleft\n"),
        "{all}"
    );
    // The check for leftovers after the destroy looked everything up again.
    let calls = env.fake.calls();
    let last_delete = calls
        .iter()
        .rposition(|c| c.starts_with("DELETE "))
        .unwrap();
    assert!(
        calls[last_delete..]
            .iter()
            .any(|c| c == "GET /v1/projects/acme-test/instances/gleft-db"),
        "{calls:#?}"
    );
    assert_eq!(env.fake.paths(), vec![other]);
}
