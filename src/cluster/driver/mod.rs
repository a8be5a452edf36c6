//! The engine's driver for `cluster.*`: the namespace ([`namespace`]) and
//! secrets ([`secrets`]) by server-side apply (field manager `liftoff`),
//! the Helm release ([`release`]) through the `helm` binary. Preflight
//! (the same checks `liftoff doctor` runs) passes once, before the first
//! change.

mod errors;
mod namespace;
mod release;
mod secrets;
pub mod upgrade;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::OnceCell;

pub(crate) use self::errors::to_driver;
use super::connect::{Connection, Connector, DatabaseSource};
use super::helm::Helm;
use super::inputs::Inputs;
use super::objects::SecretKind;
use super::preflight::{self, Check, Status, ZoneLookup};
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
    load_balancer_controller: Option<super::loadbalancer::Controller>,
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
        match source.login().await.map_err(|e| to_driver(e, self.ns()))? {
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
    pub fn with_load_balancer_controller(
        mut self,
        controller: super::loadbalancer::Controller,
    ) -> Self {
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
        let Some(conn) = self
            .connector
            .connection()
            .await
            .map_err(|e| to_driver(e, self.ns()))?
        else {
            return Ok(None);
        };
        let client = conn.client().await.map_err(|e| to_driver(e, self.ns()))?;
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

    /// Every preflight check, changing nothing: what `liftoff doctor`
    /// prints and what an install requires to pass. When the cluster
    /// cannot be reached (or does not exist yet), the checks that do not
    /// need it still run.
    pub async fn preflight_report(&self) -> preflight::Report {
        let mut checks: Vec<Check> = self
            .input_problems
            .iter()
            .map(|p| Check::new("inputs", Status::Fail, p.clone()))
            .collect();
        let inputs = match self.inputs().await {
            Ok(i) => i.into_owned(),
            Err(e) => {
                checks.push(Check::new("database", Status::Fail, e.message.clone()));
                self.inputs.clone()
            }
        };
        let env = preflight::Env {
            helm: &self.helm,
            database: inputs.database.as_ref(),
            dns: self.zone_lookup.as_deref(),
            values_yaml: inputs.values_yaml.as_deref(),
            base_dir: &self.base_dir,
            load_balancer_controller: self.load_balancer_controller.as_ref(),
        };
        let connected = match self.connector.connection().await {
            Ok(Some(conn)) => conn
                .client()
                .await
                .map(|c| (conn, c))
                .map_err(|e| e.to_string()),
            Ok(None) => Err(String::new()),
            Err(e) => Err(e.to_string()),
        };
        match connected {
            Ok((conn, client)) => {
                checks.extend(preflight::run(&client, &self.spec, &env).await.checks);
                checks.push(self.release_check(&conn).await);
            }
            Err(e) => {
                checks.push(match (e.is_empty(), self.spec.cluster.mode) {
                    (true, _) => Check::new(
                        "cluster",
                        Status::Skip,
                        "the cluster does not exist yet: `liftoff install` creates it, then runs the cluster checks",
                    ),
                    (false, crate::spec::Mode::Existing) => Check::new("cluster", Status::Fail, e)
                        .hint("check cluster.kubeconfig and cluster.context, or $KUBECONFIG"),
                    (false, crate::spec::Mode::Create) => Check::new("cluster", Status::Fail, e)
                        .hint("the cluster liftoff created could not be reached: check the cloud credentials and network access to its endpoint"),
                });
                checks.push(preflight::helm(&self.helm).await);
                checks.push(preflight::database(env.database).await);
            }
        }
        checks.extend(self.extra_checks.iter().cloned());
        preflight::Report { checks }
    }

    /// The release is not stuck: `pending-*` with no helm working on it
    /// blocks every helm until recovered (an install recovers it).
    async fn release_check(&self, conn: &Connection) -> Check {
        const NAME: &str = "release";
        match self.live_release(conn).await {
            Ok(None) => Check::new(NAME, Status::Pass, format!("release {} not installed yet", self.release())),
            Ok(Some(live)) if live.pending() => {
                let holders = super::helm::process::holders(self.release(), self.ns());
                if holders.is_empty() {
                    Check::new(
                        NAME,
                        Status::Fail,
                        format!(
                            "release {} is stuck {} (revision {}): no helm is working on it, so every helm call fails with \"another operation is in progress\"",
                            self.release(),
                            live.status,
                            live.revision
                        ),
                    )
                    .hint("run `liftoff install`: it rolls the release back to its last deployed revision (or uninstalls a never-deployed one) and installs again")
                } else {
                    Check::new(
                        NAME,
                        Status::Warn,
                        format!("release {} is {}: helm (process {}) is working on it", self.release(), live.status, holders[0]),
                    )
                }
            }
            Ok(Some(live)) => Check::new(
                NAME,
                if live.status == "deployed" { Status::Pass } else { Status::Warn },
                format!("release {} is {} (revision {})", self.release(), live.status, live.revision),
            ),
            Err(e) => Check::new(NAME, Status::Fail, e.message).hint(
                "Helm reads its release records (secrets) in the namespace: `permissions` above names a missing right",
            ),
        }
    }

    /// Runs the preflight once; every write waits for it to pass. A stuck
    /// release does not stop an install: the install recovers it.
    async fn ensure_preflight(&self, ctx: &Context<'_>) -> Result<(), DriverError> {
        let outcome = self
            .preflight
            .get_or_init(|| async {
                ctx.recorder.progress("preflight checks");
                let report = self.preflight_report().await;
                for c in &report.checks {
                    ctx.recorder
                        .progress(&format!("{}: {:?}: {}", c.name, c.status, c.message));
                }
                let failed: Vec<String> = report
                    .failed()
                    .iter()
                    .filter(|c| c.name != "release")
                    .map(|c| match &c.hint {
                        Some(h) => format!("{}: {} (hint: {h})", c.name, c.message),
                        None => format!("{}: {}", c.name, c.message),
                    })
                    .collect();
                if failed.is_empty() {
                    Ok(())
                } else {
                    Err(failed.join("; "))
                }
            })
            .await;
        outcome.clone().map_err(|m| {
            DriverError::permanent(format!("preflight failed, nothing was changed: {m}"))
                .with_hint("fix the failed checks (`liftoff doctor` runs them alone), then re-run")
        })
    }

    async fn apply(&self, resource: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
        self.ensure_preflight(ctx).await?;
        let (conn, client) = self.require().await?;
        match resource.kind.as_str() {
            super::graph::NAMESPACE => self.apply_namespace(&client, ctx).await,
            super::graph::DEPLOYMENT_NAMESPACE => {
                self.apply_deployment_namespace(&client, &resource.address, ctx)
                    .await
            }
            super::graph::SECRET => self.apply_secret(&client, resource, ctx).await,
            super::graph::HELM_RELEASE => self.install_release(resource, &conn, ctx).await,
            other => Err(DriverError::permanent(format!("unknown kind {other}"))),
        }
    }
}

#[async_trait]
impl Driver for ClusterDriver {
    async fn read(&self, lookup: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
        let Some((conn, client)) = self.connect().await? else {
            return Ok(None);
        };
        // The platform's namespace gone or being deleted holds nothing to
        // keep (a deployment namespace is looked up on its own).
        if lookup.kind != super::graph::DEPLOYMENT_NAMESPACE
            && self.live_namespace(&client).await?.is_none()
        {
            return Ok(None);
        }
        match lookup.kind {
            super::graph::NAMESPACE => Ok(Some(namespace::observed(self.ns()))),
            super::graph::DEPLOYMENT_NAMESPACE => {
                self.read_deployment_namespace(&client, lookup.address)
                    .await
            }
            super::graph::SECRET => match SecretKind::from_address(lookup.address.as_str()) {
                Some(kind) => self.read_secret(&client, kind).await,
                None => Ok(None),
            },
            super::graph::HELM_RELEASE => self.read_release(&conn, &client, lookup).await,
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
        match kind {
            super::graph::NAMESPACE => {
                let keep = self.spec.platform.least_privilege;
                self.delete_namespace(&client, &observed.id, keep, ctx)
                    .await
            }
            // Deleted only when liftoff made it (its label), in
            // least-privilege mode too.
            super::graph::DEPLOYMENT_NAMESPACE => {
                self.delete_namespace(&client, &observed.id, false, ctx)
                    .await
            }
            super::graph::SECRET => self.delete_secret(&client, &observed.id).await,
            super::graph::HELM_RELEASE => self.uninstall_release(&conn).await,
            other => Err(DriverError::permanent(format!("unknown kind {other}"))),
        }
    }
}
