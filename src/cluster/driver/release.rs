//! The Helm release: read live (status, revision and the values it holds,
//! so a change made outside liftoff shows in the plan), installed with
//! `helm upgrade --install` and then required to be `deployed`, and
//! recovered when an interrupted run left it `pending-*`.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::Digest;

use super::ClusterDriver;
use super::errors::{helm_err, to_driver};
use crate::cluster::connect::Connection;
use crate::cluster::helm::process;
use crate::cluster::{loadbalancer, pods};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Failure, Lookup, Observed};

/// What `helm status` says about the release.
pub(crate) struct Live {
    pub status: String,
    pub revision: u64,
    pub chart_version: Value,
    /// A digest of the values the release holds (`helm get values`).
    pub config_digest: String,
}

impl Live {
    fn from_status(status: &Value) -> Live {
        Live {
            status: status
                .pointer("/info/status")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string(),
            revision: status.get("version").and_then(Value::as_u64).unwrap_or(0),
            chart_version: status
                .pointer("/chart/metadata/version")
                .cloned()
                .unwrap_or(Value::Null),
            config_digest: digest(status.get("config").unwrap_or(&Value::Null)),
        }
    }

    pub fn pending(&self) -> bool {
        self.status.starts_with("pending-")
    }
}

fn digest(v: &Value) -> String {
    hex::encode(&sha2::Sha256::digest(v.to_string())[..16])
}

impl ClusterDriver {
    pub(crate) async fn live_release(
        &self,
        conn: &Connection,
    ) -> Result<Option<Live>, DriverError> {
        let target = conn.helm_target().map_err(|e| to_driver(e, self.ns()))?;
        Ok(self
            .helm
            .status(self.release(), self.ns(), &target.args)
            .await
            .map_err(helm_err)?
            .map(|s| Live::from_status(&s)))
    }

    pub(super) async fn read_release(
        &self,
        conn: &Connection,
        client: &kube::Client,
        lookup: &Lookup<'_>,
    ) -> Result<Option<Observed>, DriverError> {
        let Some(live) = self.live_release(conn).await? else {
            return Ok(None);
        };
        // The values digest recorded at install holds only while the
        // release is the revision liftoff made with the values it gave: an
        // outside `helm rollback` or `helm upgrade` makes the plan update.
        let recorded = lookup.recorded;
        // A state written before liftoff recorded the revision is trusted
        // as it is.
        let same_release =
            recorded.is_some_and(
                |e| match e.outputs.get("revision").and_then(Value::as_u64) {
                    None => true,
                    Some(revision) => {
                        revision == live.revision
                            && e.outputs.get("configDigest").and_then(Value::as_str)
                                == Some(live.config_digest.as_str())
                    }
                },
            );
        let digest = match recorded {
            Some(e) if same_release => e.props.get("valuesDigest").cloned().unwrap_or(Value::Null),
            Some(_) => json!(format!(
                "changed outside liftoff (revision {})",
                live.revision
            )),
            None => Value::Null,
        };
        let c = &self.spec.platform.chart;
        let lb = loadbalancer::address(client, self.ns(), &loadbalancer::nginx_service(&self.spec))
            .await
            .map_err(|e| to_driver(e, self.ns()))?;
        Ok(Some(Observed {
            id: format!("{}/{}", self.ns(), self.release()),
            props: json!({
                "release": self.release(),
                "namespace": self.ns(),
                "chart": {"repository": c.repository, "name": c.name, "version": live.chart_version},
                "valuesDigest": digest,
                "status": live.status,
            }),
            outputs: json!({
                "release": self.release(),
                "namespace": self.ns(),
                "loadBalancer": lb,
                "revision": live.revision,
                "configDigest": live.config_digest,
            }),
        }))
    }

    /// A release an interrupted run left `pending-*` blocks every later
    /// helm ("another operation is in progress"). Once no helm on this
    /// machine works on it (a helm that is still cancelling is waited
    /// for), it is rolled back to its last deployed revision, or, never
    /// deployed, uninstalled. Returns what was done.
    async fn recover(
        &self,
        conn: &Connection,
        ctx: &Context<'_>,
    ) -> Result<Option<String>, DriverError> {
        self.recover_with(conn, ctx.recorder).await
    }

    /// [`recover`](Self::recover), reporting to `recorder`.
    pub(super) async fn recover_with(
        &self,
        conn: &Connection,
        recorder: &dyn crate::plan::driver::Recorder,
    ) -> Result<Option<String>, DriverError> {
        let limit = crate::spec::parse_duration(&self.spec.timeouts.helm)
            .unwrap_or(Duration::from_secs(1200));
        let start = tokio::time::Instant::now();
        let live = loop {
            let Some(live) = self.live_release(conn).await? else {
                return Ok(None);
            };
            if !live.pending() {
                return Ok(None);
            }
            let holders = process::holders(self.release(), self.ns());
            if holders.is_empty() {
                break live;
            }
            if start.elapsed() >= limit {
                return Err(DriverError::new(
                    Failure::Timeout,
                    format!(
                        "release {} is {}: helm (process {}) is still working on it",
                        self.release(),
                        live.status,
                        holders
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .with_hint("wait for that helm to finish (or stop it), then re-run"));
            }
            recorder.progress(&format!(
                "release {} is {}: waiting for helm (process {}) to finish",
                self.release(),
                live.status,
                holders[0]
            ));
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let target = conn.helm_target().map_err(|e| to_driver(e, self.ns()))?;
        let history = self
            .helm
            .history(self.release(), self.ns(), &target.args)
            .await
            .map_err(helm_err)?;
        let deployed = history
            .iter()
            .rev()
            .find(|(rev, status)| {
                *rev != live.revision && matches!(status.as_str(), "deployed" | "superseded")
            })
            .map(|(rev, _)| *rev);
        let done = match deployed {
            Some(rev) => {
                self.helm
                    .rollback(self.release(), self.ns(), rev, &target.args)
                    .await
                    .map_err(helm_err)?;
                format!(
                    "release {} was left {} by an interrupted run (revision {}): rolled back to revision {rev}, the last deployed",
                    self.release(),
                    live.status,
                    live.revision
                )
            }
            None => {
                self.helm
                    .uninstall(self.release(), self.ns(), &target.args)
                    .await
                    .map_err(helm_err)?;
                format!(
                    "release {} was left {} by an interrupted run and was never deployed: uninstalled it to install again",
                    self.release(),
                    live.status
                )
            }
        };
        recorder.progress(&done);
        tracing::warn!("{done}");
        Ok(Some(done))
    }

    pub(super) async fn install_release(
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
                .map_err(|e| to_driver(e, self.ns()))?
            {
                ctx.recorder.progress(&format!(
                    "the {} runs in the cluster: the nginx Service gets its annotations",
                    controller.name
                ));
                values = with_controller;
            }
        }
        let (version, _) = self.helm.version().await.map_err(helm_err)?;
        self.recover(conn, ctx).await?;
        let target = conn.helm_target().map_err(|e| to_driver(e, self.ns()))?;
        let progress = |line: &str| {
            if !line.is_empty() {
                ctx.recorder.progress(line);
            }
        };
        let installed = self
            .helm
            .upgrade_install(
                &self.spec,
                &self.base_dir,
                version,
                values,
                &target.args,
                &progress,
            )
            .await;
        // helm's exit status is not enough: the release must be recorded
        // as deployed (without the right to update its record, helm may
        // exit 0 and leave it pending).
        let live = match installed {
            Ok(()) => self.live_release(conn).await?,
            Err(e) => return Err(self.install_failed(e.to_string()).await),
        };
        let live =
            match live {
                Some(l) if l.status == "deployed" => l,
                Some(l) => return Err(self
                    .install_failed(format!(
                        "helm exited successfully but release {} is {} (revision {}), not deployed",
                        self.release(),
                        l.status,
                        l.revision
                    ))
                    .await),
                None => {
                    return Err(self
                        .install_failed(format!(
                            "helm exited successfully but release {} does not exist",
                            self.release()
                        ))
                        .await);
                }
            };
        let id = format!("{}/{}", self.ns(), self.release());
        let base = json!({
            "release": self.release(),
            "namespace": self.ns(),
            "revision": live.revision,
            "configDigest": live.config_digest,
        });
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

    /// The failure of an install, with why the platform's pods are not
    /// running (or why there are none).
    async fn install_failed(&self, message: String) -> DriverError {
        // A fresh client: the install may have outlived a short token.
        let reasons = match self.require().await {
            Ok((_, client)) => pods::explain(&client, self.ns()).await,
            Err(e) => vec![format!("cannot read the pods: {e}")],
        };
        let mut message = message;
        if !reasons.is_empty() {
            message.push_str("\nwhy the platform is not running:\n  ");
            message.push_str(&reasons.join("\n  "));
        }
        DriverError::permanent(message).with_hint(
            "fix the cause above, then re-run `liftoff install`: Helm picks up where it stopped",
        )
    }

    pub(super) async fn uninstall_release(&self, conn: &Connection) -> Result<(), DriverError> {
        let target = conn.helm_target().map_err(|e| to_driver(e, self.ns()))?;
        self.helm
            .uninstall(self.release(), self.ns(), &target.args)
            .await
            .map_err(helm_err)
    }
}
