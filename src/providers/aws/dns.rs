//! The wildcard DNS record `*.<baseDomain>` in Route53, pointing at the
//! platform's load balancer (a CNAME to its hostname, or an A record to
//! its address), and the zone lookup for the preflight. Errors are mapped
//! like every AWS call's ([`super::error::map`]): throttling and 5xx are
//! transient, the rest permanent.

use std::net::IpAddr;

use async_trait::async_trait;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use serde_json::json;

use super::error;
use crate::cluster::preflight::ZoneLookup;
use crate::plan::Resource;
use crate::plan::driver::{Context, Driver, DriverError, Lookup, Observed};

/// Route53, for the zone named in the spec.
pub struct Route53 {
    endpoint_url: Option<String>,
    region: Option<String>,
    client: tokio::sync::OnceCell<aws_sdk_route53::Client>,
}

/// A record as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub kind: String,
    pub value: String,
    pub ttl: i64,
}

fn normalize(name: &str) -> String {
    name.replace("\\052", "*")
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

impl Route53 {
    pub fn new(client: aws_sdk_route53::Client) -> Self {
        Route53 {
            endpoint_url: None,
            region: None,
            client: tokio::sync::OnceCell::new_with(Some(client)),
        }
    }

    /// A client from the usual AWS configuration (environment, profile),
    /// made on first use, in `region` (the spec's `cloud.region`) when given;
    /// optionally at another endpoint (tests).
    pub fn from_env(region: Option<String>, endpoint_url: Option<String>) -> Self {
        Route53 {
            endpoint_url,
            region,
            client: tokio::sync::OnceCell::new(),
        }
    }

    async fn client(&self) -> &aws_sdk_route53::Client {
        self.client
            .get_or_init(|| async {
                // The same configuration (credentials, retries) as every
                // other AWS call; Route53 itself is global.
                let region = self.region.as_deref().unwrap_or("us-east-1");
                let sdk = super::sdk_config(region, super::Backoff::from_env()).await;
                let mut config = aws_sdk_route53::config::Builder::from(&sdk);
                if let Some(url) = &self.endpoint_url {
                    config = config.endpoint_url(url);
                }
                aws_sdk_route53::Client::from_conf(config.build())
            })
            .await
    }

    /// The hosted zone id for a zone given by id (`Z…`) or by name.
    pub async fn zone_id(&self, zone: &str) -> Result<Option<String>, DriverError> {
        let strip = |id: &str| id.trim_start_matches("/hostedzone/").to_string();
        if !zone.contains('.') {
            return match self.client().await.get_hosted_zone().id(zone).send().await {
                Ok(out) => Ok(out.hosted_zone().map(|z| strip(z.id()))),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_hosted_zone()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(error::map("GetHostedZone", e)),
            };
        }
        let want = normalize(zone);
        let out = self
            .client()
            .await
            .list_hosted_zones_by_name()
            .dns_name(zone)
            .send()
            .await
            .map_err(|e| error::map("ListHostedZonesByName", e))?;
        Ok(out
            .hosted_zones()
            .iter()
            .find(|z| normalize(z.name()) == want)
            .map(|z| strip(z.id())))
    }

    async fn require_zone(&self, zone: &str) -> Result<String, DriverError> {
        self.zone_id(zone).await?.ok_or_else(|| {
            DriverError::permanent(format!("hosted zone {zone} not found"))
                .with_hint("create the zone, or remove dns.zone and create the record yourself")
        })
    }

    /// The record `name` (CNAME or A) in the zone.
    pub async fn record(&self, zone_id: &str, name: &str) -> Result<Option<Record>, DriverError> {
        let out = self
            .client()
            .await
            .list_resource_record_sets()
            .hosted_zone_id(zone_id)
            .start_record_name(name)
            .max_items(20)
            .send()
            .await
            .map_err(|e| error::map("ListResourceRecordSets", e))?;
        let want = normalize(name);
        Ok(out
            .resource_record_sets()
            .iter()
            .find(|r| {
                normalize(r.name()) == want && matches!(r.r#type(), RrType::Cname | RrType::A)
            })
            .map(|r| Record {
                name: want.clone(),
                kind: r.r#type().as_str().to_string(),
                value: r
                    .resource_records()
                    .first()
                    .map(|v| v.value().trim_end_matches('.').to_string())
                    .unwrap_or_default(),
                ttl: r.ttl().unwrap_or_default(),
            }))
    }

    async fn change(
        &self,
        zone_id: &str,
        action: ChangeAction,
        record: &Record,
    ) -> Result<(), DriverError> {
        let build = |e: aws_sdk_route53::error::BuildError| {
            DriverError::permanent(format!("record change: {e}"))
        };
        let set = ResourceRecordSet::builder()
            .name(&record.name)
            .r#type(RrType::from(record.kind.as_str()))
            .ttl(record.ttl)
            .resource_records(
                ResourceRecord::builder()
                    .value(&record.value)
                    .build()
                    .map_err(build)?,
            )
            .build()
            .map_err(build)?;
        let batch = ChangeBatch::builder()
            .changes(
                Change::builder()
                    .action(action)
                    .resource_record_set(set)
                    .build()
                    .map_err(build)?,
            )
            .build()
            .map_err(build)?;
        self.client()
            .await
            .change_resource_record_sets()
            .hosted_zone_id(zone_id)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| error::map("ChangeResourceRecordSets", e))?;
        Ok(())
    }

    fn observed(
        &self,
        lookup_zone: &str,
        zone_id: &str,
        record: &Record,
        target: &str,
    ) -> Observed {
        Observed {
            id: format!("{zone_id}/{}", record.name),
            props: json!({"zone": lookup_zone, "name": record.name, "target": target}),
            outputs: json!({"zoneId": zone_id, "name": record.name, "type": record.kind, "value": record.value}),
        }
    }
}

/// The record pointing at `target`: A for an address, else CNAME.
pub fn record_for(name: &str, target: &str) -> Record {
    let kind = if target.parse::<IpAddr>().is_ok() {
        "A"
    } else {
        "CNAME"
    };
    Record {
        name: normalize(name),
        kind: kind.into(),
        value: target.trim_end_matches('.').to_string(),
        ttl: 300,
    }
}

#[async_trait]
impl ZoneLookup for Route53 {
    async fn find_zone(&self, zone: &str) -> Result<Option<String>, String> {
        self.zone_id(zone).await.map_err(|e| e.message)
    }
}

fn prop<'a>(props: &'a serde_json::Value, key: &str) -> Result<&'a str, DriverError> {
    props
        .get(key)
        .and_then(|v| v.as_str())
        .ok_or_else(|| DriverError::permanent(format!("dns record has no `{key}`")))
}

#[async_trait]
impl Driver for Route53 {
    async fn read(&self, lookup: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
        let props = match (lookup.props, lookup.recorded) {
            (Some(p), _) => p.clone(),
            (None, Some(e)) => e.props.clone(),
            (None, None) => return Ok(None),
        };
        let zone = prop(&props, "zone")?;
        let Some(zone_id) = self.zone_id(zone).await? else {
            return Ok(None);
        };
        let name = prop(&props, "name")?;
        let target = prop(&props, "target")?;
        Ok(self
            .record(&zone_id, name)
            .await?
            .map(|r| self.observed(zone, &zone_id, &r, target)))
    }

    async fn create(
        &self,
        resource: &Resource,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        let zone = prop(&resource.props, "zone")?;
        let target = prop(&resource.props, "target")?;
        let lb = ctx
            .dep_output(target, "loadBalancer")?
            .as_str()
            .ok_or_else(|| {
                DriverError::permanent(format!("{target} has no load balancer address"))
            })?
            .to_string();
        let zone_id = self.require_zone(zone).await?;
        let record = record_for(prop(&resource.props, "name")?, &lb);
        ctx.recorder.progress(&format!(
            "{} {} -> {}",
            record.kind, record.name, record.value
        ));
        self.change(&zone_id, ChangeAction::Upsert, &record).await?;
        let o = self.observed(zone, &zone_id, &record, target);
        ctx.recorder.created(&o.id, o.outputs.clone()).await?;
        Ok(o)
    }

    async fn update(
        &self,
        resource: &Resource,
        _observed: &Observed,
        ctx: &Context<'_>,
    ) -> Result<Observed, DriverError> {
        self.create(resource, ctx).await
    }

    async fn delete(
        &self,
        _kind: &str,
        observed: &Observed,
        _ctx: &Context<'_>,
    ) -> Result<(), DriverError> {
        let output = |key: &str| {
            observed
                .outputs
                .get(key)
                .and_then(|v| v.as_str())
                .ok_or_else(|| {
                    DriverError::permanent(format!("dns record {} has no `{key}`", observed.id))
                })
        };
        let (zone_id, name) = (output("zoneId")?, output("name")?);
        match self.record(zone_id, name).await? {
            Some(r) => self.change(zone_id, ChangeAction::Delete, &r).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cname_for_a_hostname_a_for_an_address() {
        let r = record_for("*.astro.example.com.", "lb-1.elb.amazonaws.com.");
        assert_eq!(
            (r.name.as_str(), r.kind.as_str(), r.value.as_str(), r.ttl),
            (
                "*.astro.example.com",
                "CNAME",
                "lb-1.elb.amazonaws.com",
                300
            )
        );
        assert_eq!(record_for("*.a.b", "34.1.2.3").kind, "A");
        assert_eq!(normalize("\\052.Astro.Example.com."), "*.astro.example.com");
    }
}
