//! The engine's driver for `cluster.*`: namespace and secrets by
//! server-side apply (field manager `liftoff`), the Helm release through
//! the `helm` binary. Preflight runs once, before the first change.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::connect::{Connection, Connector, DatabaseSource};
use super::helm::{Helm, HelmError};
use super::inputs::Inputs;
use super::objects::INSTALLATION_LABEL;
use super::objects::{self, SecretKind};
use super::preflight::{self, Check, ZoneLookup};
use super::{ClusterError, FIELD_MANAGER, graph, loadbalancer, pods};
use crate::plan::Resource;
use crate::plan::driver::{Context, Driver, DriverError, Failure, Lookup, Observed};
use crate::spec::Spec;
use crate::wait::{self, Backoff};

/// Drives `cluster.namespace`, `cluster.secret.*` and `cluster.helm_release`.
pub struct ClusterDriver {
    spec: Spec,
    base_dir: PathBuf,
    connector: Arc<dyn Connector>,
    inputs: Inputs,
    helm: Helm,
    zone_lookup: Option<Arc<dyn ZoneLookup>>,
    load_balancer_controller: Option<loadbalancer::Controller>,
    extra_checks: Vec<Check>,
    input_problems: Vec<String>,
    /// `timeouts.loadBalancer`.
    lb_deadline: Duration,
    lb_backoff: Backoff,
    connected: OnceCell<(Connection, kube::Client)>,
    preflight: OnceCell<Result<(), String>>,
    /// Where the database login comes from when the cloud phase creates it.
    database_source: Option<Arc<dyn DatabaseSource>>,
    /// `inputs` completed with the database login, once it exists.
    resolved: OnceCell<Inputs>,
}

impl ClusterDriver {
    pub fn new(
        spec: Spec,
        base_dir: PathBuf,
        connector: Arc<dyn Connector>,
        inputs: Inputs,
    ) -> Self {
        let lb_deadline = wait::deadline(&spec.timeouts.load_balancer, Duration::from_secs(600));
        ClusterDriver {
            spec,
            base_dir,
            connector,
            inputs,
            helm: Helm::default(),
            zone_lookup: None,
            load_balancer_controller: None,
            extra_checks: Vec::new(),
            input_problems: Vec::new(),
            lb_deadline,
            lb_backoff: Backoff::from_env(),
            connected: OnceCell::new(),
            preflight: OnceCell::new(),
            database_source: None,
            resolved: OnceCell::new(),
        }
    }
    /// The database login comes from the cloud phase (RDS, Cloud SQL).
    pub fn with_database_source(mut self, source: Arc<dyn DatabaseSource>) -> Self {
        self.database_source = Some(source);
        self
    }

    /// The inputs, with the database login from the cloud phase once the
    /// database exists (until then, without it).
    async fn inputs(&self) -> Result<std::borrow::Cow<'_, Inputs>, DriverError> {
        use std::borrow::Cow;
        let Some(source) = self
            .database_source
            .as_ref()
            .filter(|_| self.inputs.database.is_none())
        else {
            return Ok(Cow::Borrowed(&self.inputs));
        };
        if let Some(done) = self.resolved.get() {
            return Ok(Cow::Borrowed(done));
        }
        match source.login().await.map_err(to_driver)? {
            None => Ok(Cow::Borrowed(&self.inputs)),
            Some(login) => {
                let mut inputs = self.inputs.clone();
                inputs.database = Some(login);
                Ok(Cow::Borrowed(
                    self.resolved.get_or_init(|| async { inputs }).await,
                ))
            }
        }
    }
    pub fn with_helm(mut self, helm: Helm) -> Self {
        self.helm = helm;
        self
    }
    /// The DNS zone lookup for the preflight.
    pub fn with_zone_lookup(mut self, lookup: Arc<dyn ZoneLookup>) -> Self {
        self.zone_lookup = Some(lookup);
        self
    }
    /// The cloud's load balancer controller add-on: with it running, the
    /// chart gets the values for it.
    pub fn with_load_balancer_controller(mut self, controller: loadbalancer::Controller) -> Self {
        self.load_balancer_controller = Some(controller);
        self
    }
    /// Checks made elsewhere (the TLS phase's certificate checks) that join
    /// the preflight; a failing one stops the phase like any other.
    pub fn with_extra_checks(mut self, checks: Vec<Check>) -> Self {
        self.extra_checks = checks;
        self
    }
    /// Why some inputs could not be read (named sources, never values):
    /// told when a secret lacks its data.
    pub fn with_input_problems(mut self, problems: Vec<String>) -> Self {
        self.input_problems = problems;
        self
    }
    /// How long to wait for the load balancer's address (instead of
    /// `timeouts.loadBalancer`), and the first delay between looks (doubling
    /// up to 15 times that).
    pub fn with_load_balancer_wait(mut self, deadline: Duration, poll: Duration) -> Self {
        self.lb_deadline = deadline;
        self.lb_backoff = Backoff::from_base(poll);
        self
    }

    fn ns(&self) -> &str {
        &self.spec.platform.namespace
    }
    fn release(&self) -> &str {
        &self.spec.platform.release_name
    }

    /// The connection and client; `None` while the cluster does not exist.
    /// A kubeconfig connection is kept; a token connection is asked for
    /// anew each time, so a connector can hand out fresh (short-lived,
    /// e.g. EKS) tokens during a long install.
    async fn connect(&self) -> Result<Option<(Connection, kube::Client)>, DriverError> {
        if let Some(c) = self.connected.get() {
            return Ok(Some(c.clone()));
        }
        let Some(conn) = self.connector.connection().await.map_err(to_driver)? else {
            return Ok(None);
        };
        let client = conn.client().await.map_err(to_driver)?;
        if matches!(conn, Connection::Kubeconfig { .. }) {
            let _ = self.connected.set((conn.clone(), client.clone()));
        }
        Ok(Some((conn, client)))
    }

    async fn require(&self) -> Result<(Connection, kube::Client), DriverError> {
        self.connect().await?.ok_or_else(|| {
            DriverError::new(
                Failure::Transient,
                "no connection to the cluster was handed to the cluster phase",
            )
            .with_hint("the cluster must exist first; re-run once the cloud phase has created it")
        })
    }

    /// Runs the preflight once; every write waits for it to pass.
    pub async fn preflight_report(&self) -> Result<preflight::Report, DriverError> {
        let (_, client) = self.require().await?;
        let inputs = self.inputs().await?;
        let env = preflight::Env {
            helm: &self.helm,
            database: inputs.database.as_ref(),
            dns: self.zone_lookup.as_deref(),
            load_balancer_controller: self.load_balancer_controller.as_ref(),
        };
        let mut report = preflight::run(&client, &self.spec, &env).await;
        preflight::add_certificate_checks(&mut report, self.extra_checks.clone());
        Ok(report)
    }

    async fn ensure_preflight(&self, ctx: &Context<'_>) -> Result<(), DriverError> {
        let outcome = self
            .preflight
            .get_or_try_init(|| async {
                ctx.recorder.progress("preflight checks");
                let report = self.preflight_report().await?;
                for c in &report.checks {
                    ctx.recorder
                        .progress(&format!("{}: {:?}: {}", c.name, c.status, c.message));
                }
                let failed = report.failed();
                Ok::<_, DriverError>(if failed.is_empty() {
                    Ok(())
                } else {
                    Err(failed
                        .iter()
                        .map(|c| match &c.hint {
                            Some(h) => format!("{}: {} (hint: {h})", c.name, c.message),
                            None => format!("{}: {}", c.name, c.message),
                        })
                        .collect::<Vec<_>>()
                        .join("; "))
                })
            })
            .await?;
        outcome.clone().map_err(|m| {
            DriverError::permanent(format!("preflight failed, nothing was changed: {m}"))
                .with_hint("fix the failed checks (`liftoff doctor` runs them alone), then re-run")
        })
    }

    async fn read_namespace(&self, client: &kube::Client) -> Result<Option<Observed>, DriverError> {
        let ns = Api::<Namespace>::all(client.clone())
            .get_opt(self.ns())
            .await
            .map_err(api_err("read namespace"))?;
        Ok(ns.map(|_| namespace_observed(self.ns())))
    }

    /// A namespace for Airflow deployments: found by name, whoever made it
    /// (one an administrator created first is used as it is).
    async fn read_deployment_namespace(
        &self,
        client: &kube::Client,
        address: &crate::plan::Address,
    ) -> Result<Option<Observed>, DriverError> {
        let name = deployment_namespace(address)?;
        let ns = Api::<Namespace>::all(client.clone())
            .get_opt(name)
            .await
            .map_err(api_err(format!("read namespace {name}")))?;
        Ok(ns.map(|_| namespace_observed(name)))
    }

    async fn read_secret(
        &self,
        client: &kube::Client,
        kind: SecretKind,
    ) -> Result<Option<Observed>, DriverError> {
        let live = Api::<Secret>::namespaced(client.clone(), self.ns())
            .get_opt(kind.name())
            .await
            .map_err(api_err(format!("read secret {}", kind.name())))?;
        let desired = kind.data(&*self.inputs().await?).ok();
        Ok(live.map(|s| self.secret_observed(kind, &s, desired.as_ref())))
    }

    fn secret_observed(
        &self,
        kind: SecretKind,
        live: &Secret,
        desired: Option<&objects::SecretData>,
    ) -> Observed {
        Observed {
            id: format!("{}/{}", self.ns(), kind.name()),
            props: objects::observed_secret_props(live, desired, self.release(), self.ns()),
            outputs: json!({"name": kind.name(), "namespace": self.ns()}),
        }
    }

    async fn read_release(
        &self,
        conn: &Connection,
        client: &kube::Client,
        lookup: &Lookup<'_>,
    ) -> Result<Option<Observed>, DriverError> {
        let target = conn.helm_target().map_err(to_driver)?;
        let Some(status) = self
            .helm
            .status(self.release(), self.ns(), &target.args)
            .await
            .map_err(helm_err)?
        else {
            return Ok(None);
        };
        let state = status
            .pointer("/info/status")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let version = status
            .pointer("/chart/metadata/version")
            .cloned()
            .unwrap_or(Value::Null);
        let c = &self.spec.platform.chart;
        let digest = lookup
            .recorded
            .and_then(|e| e.props.get("valuesDigest").cloned())
            .unwrap_or(Value::Null);
        let lb = loadbalancer::address(client, self.ns(), &loadbalancer::nginx_service(&self.spec))
            .await
            .map_err(to_driver)?;
        Ok(Some(Observed {
            id: format!("{}/{}", self.ns(), self.release()),
            props: json!({
                "release": self.release(),
                "namespace": self.ns(),
                "chart": {"repository": c.repository, "name": c.name, "version": version},
                "valuesDigest": digest,
                "status": state,
            }),
            outputs: json!({"release": self.release(), "namespace": self.ns(), "loadBalancer": lb}),
        }))
    }

    async fn apply(&self, resource: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
        self.ensure_preflight(ctx).await?;
        let (conn, client) = self.require().await?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match resource.kind.as_str() {
            graph::NAMESPACE => {
                if self.spec.platform.least_privilege {
                    return Err(DriverError::permanent(format!(
                        "namespace {} does not exist and leastPrivilege forbids creating it",
                        self.ns()
                    ))
                    .with_hint("an administrator creates the namespace first"));
                }
                let manifest = objects::namespace_manifest(self.ns(), ctx.installation);
                Api::<Namespace>::all(client.clone())
                    .patch(self.ns(), &params, &Patch::Apply(&manifest))
                    .await
                    .map_err(api_err(format!("apply namespace {}", self.ns())))?;
                let o = namespace_observed(self.ns());
                ctx.recorder.created(&o.id, o.outputs.clone()).await?;
                Ok(o)
            }
            graph::DEPLOYMENT_NAMESPACE => {
                let name = deployment_namespace(&resource.address)?;
                let manifest = objects::namespace_manifest(name, ctx.installation);
                Api::<Namespace>::all(client.clone())
                    .patch(name, &params, &Patch::Apply(&manifest))
                    .await
                    .map_err(api_err(format!("apply namespace {name}")))?;
                let o = namespace_observed(name);
                ctx.recorder.created(&o.id, o.outputs.clone()).await?;
                Ok(o)
            }
            graph::SECRET => {
                let kind =
                    SecretKind::from_address(resource.address.as_str()).ok_or_else(|| {
                        DriverError::permanent(format!("unknown secret {}", resource.address))
                    })?;
                let data = kind.data(&*self.inputs().await?).map_err(|e| {
                    let mut d = to_driver(e);
                    if !self.input_problems.is_empty() {
                        d.message
                            .push_str(&format!(" ({})", self.input_problems.join("; ")));
                    }
                    d
                })?;
                let manifest = objects::secret_manifest(kind, &data, self.ns(), self.release());
                let live = Api::<Secret>::namespaced(client.clone(), self.ns())
                    .patch(kind.name(), &params, &Patch::Apply(&manifest))
                    .await
                    .map_err(api_err(format!("apply secret {}", kind.name())))?;
                let o = self.secret_observed(kind, &live, Some(&data));
                ctx.recorder.created(&o.id, o.outputs.clone()).await?;
                Ok(o)
            }
            graph::HELM_RELEASE => self.install_release(resource, &conn, ctx).await,
            other => Err(DriverError::permanent(format!("unknown kind {other}"))),
        }
    }

    async fn install_release(
        &self,
        resource: &Resource,
        conn: &Connection,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        let mut values = self.inputs.values_yaml.as_deref().ok_or_else(|| {
            DriverError::permanent("the chart values were not rendered for this run")
        })?;
        if let (Some(with_controller), Some(controller)) = (
            self.inputs.values_yaml_with_controller.as_deref(),
            &self.load_balancer_controller,
        ) {
            let (_, client) = self.require().await?;
            if loadbalancer::controller_installed(&client, controller)
                .await
                .map_err(to_driver)?
            {
                ctx.recorder.progress(&format!(
                    "the {} runs in the cluster: the nginx Service gets its annotations",
                    controller.name
                ));
                values = with_controller;
            }
        }
        let (version, _) = self.helm.version().await.map_err(helm_err)?;
        let target = conn.helm_target().map_err(to_driver)?;
        let progress = |line: &str| {
            if !line.is_empty() {
                ctx.recorder.progress(line);
            }
        };
        if let Err(e) = self
            .helm
            .upgrade_install(
                &self.spec,
                &self.base_dir,
                version,
                values,
                &target.args,
                &progress,
            )
            .await
        {
            // A fresh client: the install may have outlived a short token.
            let reasons = match self.require().await {
                Ok((_, client)) => pods::explain(&client, self.ns()).await,
                Err(e) => vec![format!("cannot read the pods: {e}")],
            };
            let mut message = e.to_string();
            if !reasons.is_empty() {
                message.push_str("\nfailing pods:\n  ");
                message.push_str(&reasons.join("\n  "));
            }
            return Err(DriverError::permanent(message).with_hint(
                "fix the cause above, then re-run `liftoff install`: Helm picks up where it stopped",
            ));
        }
        let id = format!("{}/{}", self.ns(), self.release());
        let base = json!({"release": self.release(), "namespace": self.ns()});
        ctx.recorder.created(&id, base.clone()).await?;
        let service = loadbalancer::nginx_service(&self.spec);
        let (_, client) = self.require().await?;
        let lb = loadbalancer::wait(
            &client,
            self.ns(),
            &service,
            self.lb_deadline,
            self.lb_backoff,
            ctx.recorder,
        )
        .await?;
        ctx.recorder.progress(&format!("load balancer {lb}"));
        let mut outputs = base;
        outputs["loadBalancer"] = lb.into();
        Ok(Observed {
            id,
            props: resource.props.clone(),
            outputs,
        })
    }
}

/// The namespace name of a `cluster.deployment_namespace[NAME]` address.
fn deployment_namespace(address: &crate::plan::Address) -> Result<&str, DriverError> {
    super::graph::deployment_namespace_name(address)
        .ok_or_else(|| DriverError::permanent(format!("not a namespace address: {address}")))
}

fn namespace_observed(name: &str) -> Observed {
    Observed {
        id: name.into(),
        props: json!({"name": name}),
        outputs: json!({"name": name}),
    }
}

pub(super) fn to_driver(e: ClusterError) -> DriverError {
    match e {
        ClusterError::Connect(m) => DriverError::new(Failure::Transient, format!("cannot connect to Kubernetes: {m}"))
            .with_hint("check the kubeconfig and context (cluster.kubeconfig, cluster.context) and network access"),
        ClusterError::Api { what, source } => api_err(what)(source),
        ClusterError::Input(m) => DriverError::permanent(m),
        ClusterError::Read { path, source } => {
            DriverError::permanent(format!("cannot read {}", path.display())).with_source(source)
        }
        ClusterError::Handoff(e) => e,
    }
}

fn api_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> DriverError {
    let what = what.into();
    move |e| {
        let failure = match &e {
            kube::Error::Api(s) if s.code == 429 || s.code >= 500 => Failure::Transient,
            kube::Error::Api(_) => Failure::Permanent,
            _ => Failure::Transient,
        };
        let hint = matches!(&e, kube::Error::Api(s) if s.code == 403).then_some(
            "the Kubernetes identity lacks a right: `liftoff doctor` lists what is missing",
        );
        let mut d = DriverError::new(failure, format!("{what}: {e}"));
        if let Some(h) = hint {
            d = d.with_hint(h);
        }
        d
    }
}

fn helm_err(e: HelmError) -> DriverError {
    let hint = match &e {
        HelmError::Spawn { .. } => {
            "install Helm 3.6 or later and put it on PATH (or set LIFTOFF_HELM)"
        }
        HelmError::Failed { .. } => "see Helm's message above",
    };
    DriverError::permanent(e.to_string()).with_hint(hint)
}

#[async_trait]
impl Driver for ClusterDriver {
    async fn read(&self, lookup: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
        let Some((conn, client)) = self.connect().await? else {
            return Ok(None);
        };
        match lookup.kind {
            graph::NAMESPACE => self.read_namespace(&client).await,
            graph::DEPLOYMENT_NAMESPACE => {
                self.read_deployment_namespace(&client, lookup.address)
                    .await
            }
            graph::SECRET => match SecretKind::from_address(lookup.address.as_str()) {
                Some(kind) => self.read_secret(&client, kind).await,
                None => Ok(None),
            },
            graph::HELM_RELEASE => self.read_release(&conn, &client, lookup).await,
            other => Err(DriverError::permanent(format!("unknown kind {other}"))),
        }
    }

    async fn create(
        &self,
        resource: &Resource,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        self.apply(resource, ctx).await
    }

    async fn update(
        &self,
        resource: &Resource,
        _observed: &Observed,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        self.apply(resource, ctx).await
    }

    async fn delete(
        &self,
        kind: &str,
        observed: &Observed,
        ctx: &Context<'_>,
    ) -> Result<(), DriverError> {
        let (conn, client) = self.require().await?;
        let dp = DeleteParams::default();
        let gone = |r: Result<(), kube::Error>, what: String| match r {
            Ok(()) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api_err(what)(e)),
        };
        match kind {
            graph::NAMESPACE | graph::DEPLOYMENT_NAMESPACE => {
                // Only a namespace liftoff made for this installation: one
                // that existed before (leastPrivilege, or adopted) stays.
                let api = Api::<Namespace>::all(client.clone());
                let live = api
                    .get_opt(&observed.id)
                    .await
                    .map_err(api_err(format!("read namespace {}", observed.id)))?;
                let ours = live.is_some_and(|ns| {
                    ns.metadata
                        .labels
                        .unwrap_or_default()
                        .get(INSTALLATION_LABEL)
                        .map(String::as_str)
                        == Some(ctx.installation)
                });
                // A deployment namespace is deleted only when liftoff made
                // it (its label), in least-privilege mode too.
                let keep = if kind == graph::NAMESPACE {
                    self.spec.platform.least_privilege
                } else {
                    false
                };
                if !ours || keep {
                    ctx.recorder.progress(&format!(
                        "namespace {} was not created by liftoff: left in place",
                        observed.id
                    ));
                    return Ok(());
                }
                let r = api.delete(&observed.id, &dp).await.map(|_| ());
                gone(r, format!("delete namespace {}", observed.id))
            }
            graph::SECRET => {
                let (ns, name) = observed
                    .id
                    .split_once('/')
                    .unwrap_or((self.ns(), &observed.id));
                let r = Api::<Secret>::namespaced(client.clone(), ns)
                    .delete(name, &dp)
                    .await
                    .map(|_| ());
                gone(r, format!("delete secret {}", observed.id))
            }
            graph::HELM_RELEASE => {
                let target = conn.helm_target().map_err(to_driver)?;
                self.helm
                    .uninstall(self.release(), self.ns(), &target.args)
                    .await
                    .map_err(helm_err)
            }
            other => Err(DriverError::permanent(format!("unknown kind {other}"))),
        }
    }
}
