//! The platform's namespace: created by server-side apply with the
//! installation's label, deleted only when liftoff made it, and waited for
//! until it is really gone (a namespace being deleted refuses new content
//! and must not be adopted).

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

use super::ClusterDriver;
use super::errors::api_err;
use crate::cluster::FIELD_MANAGER;
use crate::cluster::objects::{self, INSTALLATION_LABEL};
use crate::plan::driver::{Context, DriverError, Failure, Observed};

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
        let ns = Api::<Namespace>::all(client.clone())
            .get_opt(self.ns())
            .await
            .map_err(api_err("read namespace", self.ns()))?;
        Ok(ns.filter(|n| !terminating(n)))
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
        self.wait_namespace_gone(
            client,
            ctx,
            "being deleted: waiting for it to go before creating it again",
        )
        .await?;
        let manifest = objects::namespace_manifest(self.ns(), ctx.installation);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        Api::<Namespace>::all(client.clone())
            .patch(self.ns(), &params, &Patch::Apply(&manifest))
            .await
            .map_err(api_err(format!("apply namespace {}", self.ns()), self.ns()))?;
        let o = observed(self.ns());
        ctx.recorder.created(&o.id, o.outputs.clone()).await?;
        Ok(o)
    }

    /// Deletes the namespace when liftoff made it for this installation and
    /// returns once it is gone (`timeouts.namespace`).
    pub(super) async fn delete_namespace(
        &self,
        client: &kube::Client,
        name: &str,
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
        if !ours || self.spec.platform.least_privilege {
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
        self.wait_namespace_gone(client, ctx, "being deleted").await
    }

    /// Waits until the namespace no longer exists, reporting progress.
    async fn wait_namespace_gone(
        &self,
        client: &kube::Client,
        ctx: &Context<'_>,
        doing: &str,
    ) -> Result<(), DriverError> {
        let api = Api::<Namespace>::all(client.clone());
        let limit = crate::spec::parse_duration(&self.spec.timeouts.namespace)
            .unwrap_or(Duration::from_secs(600));
        let start = tokio::time::Instant::now();
        let mut poll = Duration::from_millis(200);
        loop {
            let live = api
                .get_opt(self.ns())
                .await
                .map_err(api_err(format!("read namespace {}", self.ns()), self.ns()))?;
            let Some(ns) = live.filter(terminating) else {
                return Ok(());
            };
            let waited = start.elapsed();
            if waited >= limit {
                let left = ns
                    .status
                    .and_then(|s| s.conditions)
                    .into_iter()
                    .flatten()
                    .filter(|c| c.status == "True")
                    .filter_map(|c| c.message)
                    .collect::<Vec<_>>();
                let mut message = format!(
                    "namespace {} is still being deleted after {}s",
                    self.ns(),
                    waited.as_secs()
                );
                if !left.is_empty() {
                    message.push_str(&format!(": {}", left.join("; ")));
                }
                return Err(DriverError::new(Failure::Timeout, message).with_hint(
                    "raise `timeouts.namespace` in the spec, or re-run: liftoff waits again",
                ));
            }
            ctx.recorder.progress(&format!(
                "namespace {} {doing} ({}s)",
                self.ns(),
                waited.as_secs()
            ));
            tokio::time::sleep(poll.min(limit - waited)).await;
            poll = (poll * 2).min(Duration::from_secs(2));
        }
    }
}
