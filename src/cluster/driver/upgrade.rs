//! Platform upgrades and rollbacks of the Helm release (`liftoff upgrade`,
//! `liftoff rollback`): the release as it is (status, history, values,
//! manifest), one upgrade hop (`helm upgrade --reset-values --wait
//! --timeout`, hooks always run), the health check after it (the release
//! `deployed` on the hop's chart, its Deployments and StatefulSets ready,
//! the load balancer's address), and the automatic rollback to the last
//! deployed revision when any of that fails.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::Api;
use serde_json::Value;

use super::ClusterDriver;
use super::errors::{api_err, helm_err, to_driver};
use crate::cluster::helm::{Mode, Revision};
use crate::cluster::loadbalancer;
use crate::plan::driver::{DriverError, Recorder};
use crate::spec::Spec;
use crate::wait::{self, Poll};

/// The release as Helm records it.
#[derive(Debug, Clone)]
pub struct ReleaseView {
    pub status: String,
    pub revision: u64,
    /// The chart version of the current revision.
    pub chart_version: String,
    /// The values the current revision was given (`helm get values`).
    pub values: Value,
    /// The current revision's rendered manifest.
    pub manifest: String,
    /// Every revision, oldest first.
    pub revisions: Vec<Revision>,
    /// A digest of `values`, as the install records it.
    pub config_digest: String,
}

impl ReleaseView {
    /// The last revision that was deployed (the current one when it is).
    pub fn last_deployed(&self) -> Option<&Revision> {
        if self.status == "deployed" {
            return self.revisions.iter().rfind(|r| r.revision == self.revision);
        }
        self.revisions
            .iter()
            .rev()
            .find(|r| matches!(r.status.as_str(), "deployed" | "superseded"))
    }

    /// The chart version that runs: the last deployed revision's.
    pub fn running_version(&self) -> String {
        match self.last_deployed() {
            Some(r) if !r.chart_version().is_empty() => r.chart_version().to_string(),
            _ => self.chart_version.clone(),
        }
    }

    /// The deployed revision before the current one: where `rollback`
    /// goes by default.
    pub fn previous(&self) -> Option<u64> {
        self.revisions
            .iter()
            .rev()
            .find(|r| {
                r.revision < self.revision && matches!(r.status.as_str(), "deployed" | "superseded")
            })
            .map(|r| r.revision)
    }
}

/// A release the upgrade or rollback left deployed.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub revision: u64,
    pub chart_version: String,
    pub config_digest: String,
    pub load_balancer: String,
}

/// An upgrade hop that failed, and the rollback that followed.
#[derive(Debug)]
pub struct HopFailed {
    pub cause: DriverError,
    /// The revision the release was rolled back to, when that worked.
    pub rolled_back_to: Option<Deployed>,
    /// Why the rollback did not happen or failed.
    pub rollback_error: Option<DriverError>,
}

fn digest(v: &Value) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(v.to_string())[..16])
}

impl ClusterDriver {
    /// The release: `None` when it is not installed.
    pub async fn release_view(&self) -> Result<Option<ReleaseView>, DriverError> {
        let (conn, _) = self.require().await?;
        let target = conn.helm_target().map_err(|e| to_driver(e, self.ns()))?;
        let Some(status) = self
            .helm
            .status(self.release(), self.ns(), &target.args)
            .await
            .map_err(helm_err)?
        else {
            return Ok(None);
        };
        let revisions = self
            .helm
            .revisions(self.release(), self.ns(), &target.args)
            .await
            .map_err(helm_err)?;
        let text = |p: &str| {
            status
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let values = status.get("config").cloned().unwrap_or(Value::Null);
        Ok(Some(ReleaseView {
            status: text("/info/status"),
            revision: status.get("version").and_then(Value::as_u64).unwrap_or(0),
            chart_version: text("/chart/metadata/version"),
            config_digest: digest(&values),
            values,
            manifest: text("/manifest"),
            revisions,
        }))
    }

    /// The cluster's Kubernetes minor version.
    pub async fn kubernetes_minor(&self) -> Result<u32, DriverError> {
        let (_, client) = self.require().await?;
        let info = client
            .apiserver_version()
            .await
            .map_err(api_err("read the Kubernetes version", self.ns()))?;
        crate::cluster::preflight::parse_minor(&info.minor).ok_or_else(|| {
            DriverError::permanent(format!(
                "the API server reports an unreadable version `{}`",
                info.git_version
            ))
        })
    }

    /// The chart of `spec` rendered with `values_yaml` for Kubernetes
    /// `kube_version` (`helm template`).
    pub async fn render_chart(
        &self,
        spec: &Spec,
        values_yaml: &str,
        kube_version: &str,
    ) -> Result<String, DriverError> {
        self.helm
            .template(spec, &self.base_dir, values_yaml, kube_version)
            .await
            .map_err(helm_err)
    }

    /// One upgrade hop to the chart `hop` pins, with `values_yaml`. A
    /// release an interrupted run left pending is recovered first. On any
    /// failure (helm's, a hook's, the health check's) the release is rolled
    /// back to its last deployed revision.
    pub async fn upgrade_release(
        &self,
        hop: &Spec,
        values_yaml: &str,
        recorder: &dyn Recorder,
    ) -> Result<Deployed, HopFailed> {
        let failed = |cause: DriverError| HopFailed {
            cause,
            rolled_back_to: None,
            rollback_error: None,
        };
        let (conn, _) = self.require().await.map_err(failed)?;
        self.recover_with(&conn, recorder).await.map_err(failed)?;
        let Some(before) = self.release_view().await.map_err(failed)? else {
            return Err(failed(
                DriverError::permanent(format!(
                    "release {} is not installed in namespace {}",
                    self.release(),
                    self.ns()
                ))
                .with_hint("install the platform first: `liftoff install`"),
            ));
        };
        let back_to = before.last_deployed().map(|r| r.revision);
        let (version, _) = self
            .helm
            .version()
            .await
            .map_err(helm_err)
            .map_err(failed)?;
        let target = conn
            .helm_target()
            .map_err(|e| failed(to_driver(e, self.ns())))?;
        let progress = |line: &str| {
            if !line.is_empty() {
                recorder.progress(line);
            }
        };
        recorder.progress(&format!(
            "helm upgrade {} to chart {} (revision {} is {})",
            self.release(),
            hop.platform.chart.version,
            before.revision,
            before.status
        ));
        let upgraded = self
            .helm
            .upgrade(
                hop,
                &self.base_dir,
                version,
                values_yaml,
                &target.args,
                Mode::Upgrade,
                &progress,
            )
            .await
            .map_err(helm_err);
        let outcome = match upgraded {
            Ok(()) => self.health(hop, recorder).await,
            Err(e) => Err(e),
        };
        let cause = match outcome {
            Ok(done) => return Ok(done),
            Err(cause) => cause,
        };
        recorder.progress(&format!("upgrade failed: {}", cause.message));
        let Some(back_to) = back_to else {
            return Err(HopFailed {
                cause,
                rolled_back_to: None,
                rollback_error: Some(DriverError::permanent(
                    "the release has no deployed revision to roll back to",
                )),
            });
        };
        match self.rollback_release(back_to, recorder).await {
            Ok(done) => Err(HopFailed {
                cause,
                rolled_back_to: Some(done),
                rollback_error: None,
            }),
            Err(e) => Err(HopFailed {
                cause,
                rolled_back_to: None,
                rollback_error: Some(e),
            }),
        }
    }

    /// `helm rollback` to `revision` (hooks run, waited for until
    /// `timeouts.helm`), then the release must read `deployed`.
    pub async fn rollback_release(
        &self,
        revision: u64,
        recorder: &dyn Recorder,
    ) -> Result<Deployed, DriverError> {
        let (conn, _) = self.require().await?;
        self.recover_with(&conn, recorder).await?;
        let target = conn.helm_target().map_err(|e| to_driver(e, self.ns()))?;
        recorder.progress(&format!(
            "helm rollback {} to revision {revision}",
            self.release()
        ));
        self.helm
            .rollback_wait(
                self.release(),
                self.ns(),
                revision,
                &self.spec.timeouts.helm,
                &target.args,
            )
            .await
            .map_err(helm_err)?;
        let view = self.release_view().await?.ok_or_else(|| {
            DriverError::permanent(format!(
                "release {} vanished during the rollback",
                self.release()
            ))
        })?;
        if view.status != "deployed" {
            return Err(DriverError::permanent(format!(
                "after the rollback release {} is {} (revision {}), not deployed",
                self.release(),
                view.status,
                view.revision
            )));
        }
        let lb = self.load_balancer_now(&view).await.unwrap_or_default();
        Ok(Deployed {
            revision: view.revision,
            chart_version: view.chart_version,
            config_digest: view.config_digest,
            load_balancer: lb,
        })
    }

    async fn load_balancer_now(&self, view: &ReleaseView) -> Result<String, DriverError> {
        let (_, client) = self.require().await?;
        let mut spec = self.spec.clone();
        spec.platform.chart.version = view.chart_version.clone();
        let service = loadbalancer::nginx_service(&spec);
        Ok(loadbalancer::address(&client, self.ns(), &service)
            .await
            .map_err(|e| to_driver(e, self.ns()))?
            .unwrap_or_default())
    }

    /// After an upgrade: the release is `deployed` on the hop's chart, the
    /// Deployments and StatefulSets of its manifest are ready, and the
    /// load balancer has its address, within `timeouts.helm` and
    /// `timeouts.loadBalancer`.
    async fn health(&self, hop: &Spec, recorder: &dyn Recorder) -> Result<Deployed, DriverError> {
        let view = self.release_view().await?.ok_or_else(|| {
            DriverError::permanent(format!(
                "helm exited successfully but release {} does not exist",
                self.release()
            ))
        })?;
        let wanted = &hop.platform.chart.version;
        let exact = !wanted.starts_with(['~', '^', '>', '<', '=']);
        if view.status != "deployed" || (exact && view.chart_version != *wanted) {
            return Err(DriverError::permanent(format!(
                "helm exited successfully but release {} is {} on chart {} (revision {}), not deployed on {wanted}",
                self.release(),
                view.status,
                view.chart_version,
                view.revision
            )));
        }
        let (_, client) = self.require().await?;
        let workloads = workloads(&view.manifest, self.ns());
        let limit = wait::deadline(&self.spec.timeouts.helm, Duration::from_secs(1200));
        wait::until(
            &format!("the workloads of {}", self.release()),
            "helm",
            limit,
            self.lb_backoff,
            recorder,
            || {
                let client = client.clone();
                let workloads = &workloads;
                async move {
                    let mut waiting = Vec::new();
                    for (kind, ns, name) in workloads {
                        if !ready(&client, kind, ns, name)
                            .await
                            .map_err(api_err(format!("read {kind} {ns}/{name}"), ns))?
                        {
                            waiting.push(format!("{kind} {name}"));
                        }
                    }
                    Ok(if waiting.is_empty() {
                        Poll::Ready(())
                    } else {
                        Poll::Pending(format!("not ready: {}", waiting.join(", ")))
                    })
                }
            },
        )
        .await?;
        let service = loadbalancer::nginx_service(hop);
        let lb = loadbalancer::wait(
            &client,
            self.ns(),
            &service,
            self.lb_deadline,
            self.lb_backoff,
            recorder,
        )
        .await?;
        recorder.progress(&format!(
            "release {} is deployed on chart {} (revision {}), its workloads ready, load balancer {lb}",
            self.release(),
            view.chart_version,
            view.revision
        ));
        Ok(Deployed {
            revision: view.revision,
            chart_version: view.chart_version,
            config_digest: view.config_digest,
            load_balancer: lb,
        })
    }
}

/// The Deployments and StatefulSets a manifest holds: `(kind, namespace, name)`.
fn workloads(manifest: &str, default_ns: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for doc in crate::cluster::upgrade::diff::split_documents(manifest) {
        let Ok(v) = crate::spec::yaml::parse("manifest", &doc) else {
            continue;
        };
        let v = v.to_json();
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or_default();
        if !matches!(kind, "Deployment" | "StatefulSet") {
            continue;
        }
        let Some(name) = v.pointer("/metadata/name").and_then(Value::as_str) else {
            continue;
        };
        let ns = v
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(default_ns);
        out.push((kind.to_string(), ns.to_string(), name.to_string()));
    }
    out
}

/// Whether a workload has all its replicas ready on its current generation.
async fn ready(
    client: &kube::Client,
    kind: &str,
    ns: &str,
    name: &str,
) -> Result<bool, kube::Error> {
    let (wanted, ready, observed, generation) = match kind {
        "Deployment" => {
            let Some(d) = Api::<Deployment>::namespaced(client.clone(), ns)
                .get_opt(name)
                .await?
            else {
                return Ok(false);
            };
            let s = d.status.unwrap_or_default();
            (
                d.spec.and_then(|s| s.replicas).unwrap_or(1),
                s.ready_replicas.unwrap_or(0),
                s.observed_generation,
                d.metadata.generation,
            )
        }
        _ => {
            let Some(d) = Api::<StatefulSet>::namespaced(client.clone(), ns)
                .get_opt(name)
                .await?
            else {
                return Ok(false);
            };
            let s = d.status.unwrap_or_default();
            (
                d.spec.and_then(|s| s.replicas).unwrap_or(1),
                s.ready_replicas.unwrap_or(0),
                s.observed_generation,
                d.metadata.generation,
            )
        }
    };
    let current = match (observed, generation) {
        (Some(o), Some(g)) => o >= g,
        _ => true,
    };
    Ok(ready >= wanted && current)
}

impl ClusterDriver {
    /// Of two renderings of the values, the one for the cloud's load
    /// balancer controller when it runs in the cluster (as install picks).
    pub async fn pick_values<'a>(
        &self,
        plain: &'a str,
        with_controller: Option<&'a str>,
    ) -> Result<&'a str, DriverError> {
        let (Some(with_controller), Some(controller)) =
            (with_controller, &self.load_balancer_controller)
        else {
            return Ok(plain);
        };
        let (_, client) = self.require().await?;
        let installed = loadbalancer::controller_installed(&client, controller)
            .await
            .map_err(|e| to_driver(e, self.ns()))?;
        Ok(if installed { with_controller } else { plain })
    }
}
