//! The platform's namespace (and the namespaces for Airflow deployments):
//! created by server-side apply with the installation's label, deleted
//! only when liftoff made it, and waited for until it is really gone (a
//! namespace being deleted refuses new content and must not be adopted).

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

use super::ClusterDriver;
use super::errors::api_err;
use crate::cluster::FIELD_MANAGER;
use crate::cluster::objects::{self, INSTALLATION_LABEL};
use crate::plan::Address;
use crate::plan::driver::{Context, DriverError, Observed};
use crate::wait::{self, Backoff, Poll};

/// The spec key that sets how long to wait for a namespace to go.
const TIMEOUT_KEY: &str = "namespace";

/// The namespace name of a `cluster.deployment_namespace[NAME]` address.
fn deployment_namespace(address: &Address) -> Result<&str, DriverError> {
    crate::cluster::graph::deployment_namespace_name(address)
        .ok_or_else(|| DriverError::permanent(format!("not a namespace address: {address}")))
}

pub(super) fn observed(name: &str) -> Observed {
    Observed {
        id: name.into(),
        props: json!({"name": name}),
        outputs: json!({"name": name}),
    }
}

/// Whether a namespace is being deleted.
pub(super) fn terminating(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_some()
}

impl ClusterDriver {
    /// The live namespace; `None` also while it is being deleted: it is
    /// going, so the plan creates it again (after waiting), never adopts it.
    pub(super) async fn live_namespace(
        &self,
        client: &kube::Client,
    ) -> Result<Option<Namespace>, DriverError> {
        live(client, self.ns()).await
    }

    /// A namespace for Airflow deployments: found by name, whoever made it
    /// (one an administrator created first is used as it is).
    pub(super) async fn read_deployment_namespace(
        &self,
        client: &kube::Client,
        address: &Address,
    ) -> Result<Option<Observed>, DriverError> {
        let name = deployment_namespace(address)?;
        Ok(live(client, name).await?.map(|_| observed(name)))
    }

    pub(super) async fn apply_deployment_namespace(
        &self,
        client: &kube::Client,
        address: &Address,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        let name = deployment_namespace(address)?;
        self.wait_gone(client, name, ctx).await?;
        apply(client, name, ctx).await
    }

    pub(super) async fn apply_namespace(
        &self,
        client: &kube::Client,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        if self.spec.platform.least_privilege {
            return Err(DriverError::permanent(format!(
                "namespace {} does not exist and leastPrivilege forbids creating it",
                self.ns()
            ))
            .with_hint("an administrator creates the namespace first"));
        }
        // A namespace still being deleted (a destroy just before) refuses
        // every object: wait for it to go first.
        self.wait_gone(client, self.ns(), ctx).await?;
        apply(client, self.ns(), ctx).await
    }

    /// Deletes the namespace when liftoff made it for this installation
    /// (and `keep` is false) and returns once it is gone
    /// (`timeouts.namespace`).
    pub(super) async fn delete_namespace(
        &self,
        client: &kube::Client,
        name: &str,
        keep: bool,
        ctx: &Context<'_>,
    ) -> Result<(), DriverError> {
        // Only a namespace liftoff made for this installation: one that
        // existed before (leastPrivilege, or adopted) stays.
        let api = Api::<Namespace>::all(client.clone());
        let live = api
            .get_opt(name)
            .await
            .map_err(api_err(format!("read namespace {name}"), name))?;
        let ours = live.as_ref().is_some_and(|ns| {
            ns.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(INSTALLATION_LABEL))
                .map(String::as_str)
                == Some(ctx.installation)
        });
        if !ours || keep {
            ctx.recorder.progress(&format!(
                "namespace {name} was not created by liftoff: left in place"
            ));
            return Ok(());
        }
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) => return Err(api_err(format!("delete namespace {name}"), name)(e)),
        }
        self.wait_gone(client, name, ctx).await
    }

    /// Waits until namespace `name` is not being deleted any more (gone),
    /// reporting progress; the deadline is `timeouts.namespace`.
    async fn wait_gone(
        &self,
        client: &kube::Client,
        name: &str,
        ctx: &Context<'_>,
    ) -> Result<(), DriverError> {
        let api = Api::<Namespace>::all(client.clone());
        let limit = wait::deadline(&self.spec.timeouts.namespace, Duration::from_secs(600));
        let backoff = Backoff::from_base(Duration::from_millis(200));
        wait::until(
            &format!("namespace {name}"),
            TIMEOUT_KEY,
            limit,
            backoff,
            ctx.recorder,
            || async {
                let live = api
                    .get_opt(name)
                    .await
                    .map_err(api_err(format!("read namespace {name}"), name))?;
                Ok(match live.filter(terminating) {
                    None => Poll::Ready(()),
                    Some(ns) => {
                        let why: Vec<String> = ns
                            .status
                            .and_then(|s| s.conditions)
                            .into_iter()
                            .flatten()
                            .filter(|c| c.status == "True")
                            .filter_map(|c| c.message)
                            .collect();
                        Poll::Pending(if why.is_empty() {
                            "being deleted".into()
                        } else {
                            format!("being deleted: {}", why.join("; "))
                        })
                    }
                })
            },
        )
        .await
    }
}

/// The live namespace `name`; `None` also while it is being deleted.
async fn live(client: &kube::Client, name: &str) -> Result<Option<Namespace>, DriverError> {
    let ns = Api::<Namespace>::all(client.clone())
        .get_opt(name)
        .await
        .map_err(api_err(format!("read namespace {name}"), name))?;
    Ok(ns.filter(|n| !terminating(n)))
}

/// Server-side applies namespace `name` with the installation's label.
async fn apply(
    client: &kube::Client,
    name: &str,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    let manifest = objects::namespace_manifest(name, ctx.installation);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    Api::<Namespace>::all(client.clone())
        .patch(name, &params, &Patch::Apply(&manifest))
        .await
        .map_err(api_err(format!("apply namespace {name}"), name))?;
    let o = observed(name);
    ctx.recorder.created(&o.id, o.outputs.clone()).await?;
    Ok(o)
}
