//! The wildcard record `*.<baseDomain>` in a Cloud DNS managed zone (the
//! spec's `dns.zone` is the zone's name), an A record to the platform's load
//! balancer address; and the zone lookup for the preflight.

use async_trait::async_trait;
use google_cloud_dns_v1::model::ResourceRecordSet;
use serde_json::{Value, json};

use super::driver::{credentials, endpoint};
use super::error;
use crate::cluster::preflight::ZoneLookup;
use crate::plan::Resource;
use crate::plan::driver::{Context, Driver, DriverError, Lookup, Observed};

/// Cloud DNS in one project.
pub struct CloudDns {
    project: String,
    clients: tokio::sync::OnceCell<Clients>,
}

struct Clients {
    zones: google_cloud_dns_v1::client::ManagedZones,
    records: google_cloud_dns_v1::client::ResourceRecordSets,
}

/// The fully qualified name (with the final dot) Cloud DNS keeps.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.').to_ascii_lowercase())
}

fn prop<'a>(props: &'a Value, key: &str) -> Result<&'a str, DriverError> {
    props
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| DriverError::permanent(format!("dns record has no `{key}`")))
}

impl CloudDns {
    pub fn new(project: String) -> Self {
        CloudDns {
            project,
            clients: tokio::sync::OnceCell::new(),
        }
    }

    async fn clients(&self) -> Result<&Clients, DriverError> {
        self.clients
            .get_or_try_init(|| async {
                let creds: google_cloud_auth::credentials::Credentials = credentials()?.into();
                let at = endpoint("dns", "https://dns.googleapis.com");
                Ok(Clients {
                    zones: google_cloud_dns_v1::client::ManagedZones::builder()
                        .with_endpoint(&at)
                        .with_credentials(creds.clone())
                        .build()
                        .await
                        .map_err(|e| error::client("dns", e))?,
                    records: google_cloud_dns_v1::client::ResourceRecordSets::builder()
                        .with_endpoint(&at)
                        .with_credentials(creds)
                        .build()
                        .await
                        .map_err(|e| error::client("dns", e))?,
                })
            })
            .await
    }

    /// Whether the managed zone exists (its DNS name when it does).
    pub async fn zone(&self, zone: &str) -> Result<Option<String>, DriverError> {
        let c = self.clients().await?;
        match c
            .zones
            .get()
            .set_project(&self.project)
            .set_managed_zone(zone)
            .send()
            .await
        {
            Err(e) if error::is_not_found(&e) => Ok(None),
            Err(e) => Err(error::map("managedZones.get", e)),
            Ok(z) => Ok(Some(z.dns_name.unwrap_or_default())),
        }
    }

    async fn record(
        &self,
        zone: &str,
        name: &str,
    ) -> Result<Option<ResourceRecordSet>, DriverError> {
        let c = self.clients().await?;
        let got = c
            .records
            .get()
            .set_project(&self.project)
            .set_managed_zone(zone)
            .set_name(fqdn(name))
            .set_type("A")
            .send()
            .await;
        match got {
            Err(e) if error::is_not_found(&e) => Ok(None),
            Err(e) => Err(error::map("resourceRecordSets.get", e)),
            Ok(r) => Ok(Some(r)),
        }
    }

    fn observed(&self, zone: &str, name: &str, target: &str, value: &str) -> Observed {
        Observed {
            id: format!(
                "projects/{}/managedZones/{zone}/rrsets/{}/A",
                self.project,
                fqdn(name)
            ),
            props: json!({"zone": zone, "name": name, "target": target}),
            outputs: json!({"zone": zone, "name": fqdn(name), "type": "A", "value": value}),
        }
    }
}

#[async_trait]
impl ZoneLookup for CloudDns {
    async fn find_zone(&self, zone: &str) -> Result<Option<String>, String> {
        self.zone(zone).await.map_err(|e| e.message)
    }
}

#[async_trait]
impl Driver for CloudDns {
    async fn read(&self, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
        let Some(props) = l.props.or(l.recorded.map(|e| &e.props)) else {
            return Ok(None);
        };
        let (zone, name, target) = (
            prop(props, "zone")?,
            prop(props, "name")?,
            prop(props, "target")?,
        );
        if self.zone(zone).await?.is_none() {
            return Ok(None);
        }
        Ok(self.record(zone, name).await?.map(|r| {
            let value = r.rrdatas.first().cloned().unwrap_or_default();
            self.observed(zone, name, target, &value)
        }))
    }

    async fn create(&self, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
        let (zone, name, target) = (
            prop(&r.props, "zone")?,
            prop(&r.props, "name")?,
            prop(&r.props, "target")?,
        );
        let address = ctx
            .dep_output(target, "loadBalancer")?
            .as_str()
            .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
            .ok_or_else(|| {
                DriverError::permanent(format!("{target} has no load balancer IP address"))
            })?
            .to_string();
        if self.zone(zone).await?.is_none() {
            return Err(DriverError::permanent(format!(
                "Cloud DNS managed zone {zone} does not exist in project {}",
                self.project
            ))
            .with_hint(
                "dns.zone is the managed zone's name (not its DNS name); create it or fix the spec",
            ));
        }
        let c = self.clients().await?;
        if self.record(zone, name).await?.is_some() {
            c.records
                .delete()
                .set_project(&self.project)
                .set_managed_zone(zone)
                .set_name(fqdn(name))
                .set_type("A")
                .send()
                .await
                .map_err(|e| error::map("resourceRecordSets.delete", e))?;
        }
        let body = ResourceRecordSet::new()
            .set_name(fqdn(name))
            .set_type("A")
            .set_ttl(300)
            .set_rrdatas([address.clone()]);
        ctx.recorder
            .progress(&format!("A {} -> {address}", fqdn(name)));
        c.records
            .create()
            .set_project(&self.project)
            .set_managed_zone(zone)
            .set_body(body)
            .send()
            .await
            .map_err(|e| error::map("resourceRecordSets.create", e))?;
        let o = self.observed(zone, name, target, &address);
        ctx.recorder.created(&o.id, o.outputs.clone()).await?;
        Ok(o)
    }

    async fn update(
        &self,
        r: &Resource,
        _: &Observed,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        self.create(r, ctx).await
    }

    async fn delete(&self, _: &str, o: &Observed, _: &Context<'_>) -> Result<(), DriverError> {
        let zone = o
            .outputs
            .get("zone")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = o
            .outputs
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let c = self.clients().await?;
        match c
            .records
            .delete()
            .set_project(&self.project)
            .set_managed_zone(zone)
            .set_name(name)
            .set_type("A")
            .send()
            .await
        {
            Err(e) if error::is_not_found(&e) => Ok(()),
            Err(e) => Err(error::map("resourceRecordSets.delete", e)),
            Ok(_) => Ok(()),
        }
    }
}
