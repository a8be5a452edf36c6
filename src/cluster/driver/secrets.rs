//! The platform's secrets: server-side applied by `liftoff` with Helm's
//! adoption metadata, compared with the live objects (never printing a
//! value).

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;

use super::ClusterDriver;
use super::errors::{api_err, to_driver};
use crate::cluster::FIELD_MANAGER;
use crate::cluster::objects::{self, SecretKind};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Observed};

impl ClusterDriver {
    pub(super) async fn read_secret(
        &self,
        client: &kube::Client,
        kind: SecretKind,
    ) -> Result<Option<Observed>, DriverError> {
        let live = Api::<Secret>::namespaced(client.clone(), self.ns())
            .get_opt(kind.name())
            .await
            .map_err(api_err(format!("read secret {}", kind.name()), self.ns()))?;
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

    pub(super) async fn apply_secret(
        &self,
        client: &kube::Client,
        resource: &Resource,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        let kind = SecretKind::from_address(resource.address.as_str()).ok_or_else(|| {
            DriverError::permanent(format!("unknown secret {}", resource.address))
        })?;
        let data = kind.data(&*self.inputs().await?).map_err(|e| {
            let mut d = to_driver(e, self.ns());
            if !self.input_problems.is_empty() {
                d.message
                    .push_str(&format!(" ({})", self.input_problems.join("; ")));
            }
            d
        })?;
        let manifest = objects::secret_manifest(kind, &data, self.ns(), self.release());
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let live = Api::<Secret>::namespaced(client.clone(), self.ns())
            .patch(kind.name(), &params, &Patch::Apply(&manifest))
            .await
            .map_err(api_err(format!("apply secret {}", kind.name()), self.ns()))?;
        let o = self.secret_observed(kind, &live, Some(&data));
        ctx.recorder.created(&o.id, o.outputs.clone()).await?;
        Ok(o)
    }

    pub(super) async fn delete_secret(
        &self,
        client: &kube::Client,
        id: &str,
    ) -> Result<(), DriverError> {
        let (ns, name) = id.split_once('/').unwrap_or((self.ns(), id));
        match Api::<Secret>::namespaced(client.clone(), ns)
            .delete(name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(api_err(format!("delete secret {id}"), ns)(e)),
        }
    }
}
