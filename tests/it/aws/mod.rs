//! The AWS cloud phase against moto: the real `liftoff` binary talks to moto
//! through the recording proxy; assertions read moto with the SDK.

mod bench;
mod changes;
mod destroy;
mod duplicates;
mod existing;
mod faults;
mod install;
mod kill_anywhere;
mod kubernetes;
mod refusals;
mod routes;
mod secrets;
mod state_format;
mod upgrade;

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::helm::FakeHelm;
use crate::support::kube::FakeKube;
use crate::support::moto::Moto;
use crate::support::proxy::{Proxy, Rule};

pub const REGION: &str = "us-east-1";

/// moto, the proxy in front of it, the Kubernetes API the EKS cluster
/// answers with (moto has none), a recording helm, and a folder for the
/// spec and state.
pub struct Env {
    pub moto: Moto,
    pub proxy: Proxy,
    pub kube: FakeKube,
    pub helm: FakeHelm,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub async fn start(rules: Vec<Rule>) -> Env {
        let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
        let kube = FakeKube::start("33").await;
        // What a ready EKS cluster has: a default storage class, and the
        // platform's nginx Service gets a load balancer.
        kube.ready_cluster(
            "astronomer",
            "astronomer-nginx",
            "platform-lb.elb.us-east-1.amazonaws.com",
        );
        let proxy = proxy_for(moto.port, &kube, rules).await;
        Env {
            moto,
            proxy,
            kube,
            helm: FakeHelm::new("v3.17.0"),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The same world behind a new proxy with other rules.
    pub async fn with_rules(self, rules: Vec<Rule>) -> Env {
        let proxy = proxy_for(self.moto.port, &self.kube, rules).await;
        Env { proxy, ..self }
    }

    pub fn spec_path(&self) -> PathBuf {
        self.dir.path().join("liftoff.yaml")
    }

    pub fn write_spec(&self, text: &str) {
        std::fs::write(self.spec_path(), text).unwrap();
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join(".liftoff")
    }

    /// Runs `liftoff ARGS -f <spec>` against the proxy, with extra env.
    pub async fn liftoff(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().await.unwrap()
    }

    /// The command [`Env::liftoff`] runs, to start it and stop it at will.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_liftoff"));
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .arg("-f")
            .arg(self.spec_path())
            .env("AWS_ENDPOINT_URL", self.proxy.url())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("LIFTOFF_AWS_POLL_MS", "5")
            .env("PATH", {
                let mut paths = vec![self.helm.path().to_path_buf()];
                paths.extend(std::env::split_paths(
                    &std::env::var_os("PATH").unwrap_or_default(),
                ));
                std::env::join_paths(paths).unwrap()
            })
            .env_remove("LIFTOFF_HELM")
            .env_remove("KUBECONFIG")
            .env_remove("AWS_PROFILE")
            .env_remove("LIFTOFF_FAULT")
            .env_remove("LIFTOFF_STATE_DIR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// An SDK config pointing straight at moto (not through the proxy).
    pub async fn sdk(&self) -> aws_config::SdkConfig {
        liftoff::providers::aws::config_loader()
            .region(aws_config::Region::new(REGION))
            .endpoint_url(self.moto.url())
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await
    }
}

/// A proxy in front of moto whose EKS clusters answer at `kube`.
async fn proxy_for(moto: u16, kube: &FakeKube, rules: Vec<Rule>) -> Proxy {
    let proxy = Proxy::start(moto, rules).await;
    let ca = crate::cli_render::materials()[0]
        .private_ca_pem
        .clone()
        .unwrap();
    proxy.serve_clusters_from(&kube.url, &ca);
    proxy
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A sandbox-like spec for installation `name` (two zones, one NAT, a small
/// database, a public EKS endpoint, one node group).
pub fn sandbox_spec(name: &str, nat: &str) -> String {
    format!(
        r#"apiVersion: liftoff.dev/v1
kind: Installation
metadata:
  name: {name}
profile: sandbox
network:
  nat: {nat}
platform:
  baseDomain: {name}.example.com
"#
    )
}

/// Counts the EC2 resources tagged for `installation`, by type.
pub async fn tagged_ec2(
    sdk: &aws_config::SdkConfig,
    installation: &str,
) -> std::collections::BTreeMap<String, usize> {
    use aws_sdk_ec2::types::Filter;
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let f = || {
        Filter::builder()
            .name("tag:liftoff.dev/installation")
            .values(installation)
            .build()
    };
    let mine = |tags: &[aws_sdk_ec2::types::Tag]| {
        tags.iter()
            .any(|t| t.key() == Some("liftoff.dev/installation") && t.value() == Some(installation))
    };
    let mut m = std::collections::BTreeMap::new();
    let vpcs = ec2.describe_vpcs().filters(f()).send().await.unwrap();
    m.insert(
        "vpc".into(),
        vpcs.vpcs().iter().filter(|x| mine(x.tags())).count(),
    );
    let s = ec2.describe_subnets().filters(f()).send().await.unwrap();
    m.insert(
        "subnet".into(),
        s.subnets().iter().filter(|x| mine(x.tags())).count(),
    );
    let g = ec2
        .describe_internet_gateways()
        .filters(f())
        .send()
        .await
        .unwrap();
    m.insert(
        "igw".into(),
        g.internet_gateways()
            .iter()
            .filter(|x| mine(x.tags()))
            .count(),
    );
    let r = ec2
        .describe_route_tables()
        .filters(f())
        .send()
        .await
        .unwrap();
    m.insert(
        "route_table".into(),
        r.route_tables().iter().filter(|x| mine(x.tags())).count(),
    );
    let sg = ec2
        .describe_security_groups()
        .filters(f())
        .send()
        .await
        .unwrap();
    m.insert(
        "security_group".into(),
        sg.security_groups()
            .iter()
            .filter(|x| mine(x.tags()))
            .count(),
    );
    let e = ec2.describe_addresses().filters(f()).send().await.unwrap();
    m.insert(
        "eip".into(),
        e.addresses().iter().filter(|x| mine(x.tags())).count(),
    );
    let t = ec2
        .describe_launch_templates()
        .filters(f())
        .send()
        .await
        .unwrap();
    m.insert(
        "launch_template".into(),
        t.launch_templates()
            .iter()
            .filter(|x| mine(x.tags()))
            .count(),
    );
    let n = ec2.describe_nat_gateways().send().await.unwrap();
    let live = n
        .nat_gateways()
        .iter()
        .filter(|x| mine(x.tags()) && x.state().map(|s| s.as_str()) != Some("deleted"));
    m.insert("nat".into(), live.count());
    m
}

/// What one sandbox install with a single NAT gateway leaves, by EC2 type.
pub fn one_of_each() -> std::collections::BTreeMap<String, usize> {
    [
        ("eip", 1),
        ("igw", 1),
        ("launch_template", 1),
        ("nat", 1),
        ("route_table", 3),
        ("security_group", 3),
        ("subnet", 6),
        ("vpc", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Counts the database, cluster, node groups and roles named for `name`.
pub async fn other_resources(
    sdk: &aws_config::SdkConfig,
    name: &str,
) -> (usize, usize, usize, usize) {
    let rds = aws_sdk_rds::Client::new(sdk);
    let dbs = rds.describe_db_instances().send().await.unwrap();
    let db = dbs
        .db_instances()
        .iter()
        .filter(|d| d.db_instance_identifier() == Some(&format!("{name}-db")))
        .count();
    let eks = aws_sdk_eks::Client::new(sdk);
    let clusters = eks.list_clusters().send().await.unwrap();
    let cl = clusters.clusters().iter().filter(|c| *c == name).count();
    let groups = if cl > 0 {
        eks.list_nodegroups()
            .cluster_name(name)
            .send()
            .await
            .unwrap()
            .nodegroups()
            .len()
    } else {
        0
    };
    let iam = aws_sdk_iam::Client::new(sdk);
    let roles = iam.list_roles().send().await.unwrap();
    let r = roles
        .roles()
        .iter()
        .filter(|r| r.role_name().starts_with(&format!("{name}-eks-")))
        .count();
    (db, cl, groups, r)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The last JSON value printed (the plan after the event lines).
pub fn last_json(stdout: &[u8]) -> serde_json::Value {
    serde_json::Deserializer::from_slice(stdout)
        .into_iter::<serde_json::Value>()
        .filter_map(Result::ok)
        .last()
        .expect("some JSON output")
}
