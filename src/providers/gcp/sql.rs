//! The Cloud SQL for PostgreSQL instance: private IP only (in the network,
//! over the Private Services Access range), tier, version, availability,
//! backups and deletion protection from the spec, and a generated password
//! for `postgres`. Labelled with the ownership marks.

use std::collections::HashMap;

use google_cloud_sql_v1::model::{self as m, database_instance::SqlInstanceState};
use serde_json::{Value, json};

use super::driver::Gcp;
use super::ownership::{self, Labels};
use super::props::{self, SqlInstance};
use super::support::*;
use super::{error, operations, password};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Failure, Lookup, Observed};
use crate::providers::Ownership;

/// An observed-only prop: `false` while the instance is not RUNNABLE, so a
/// rerun after an interrupted wait plans an update that waits again.
pub const READY: &str = "ready";

async fn get(g: &Gcp, name: &str) -> Result<Option<m::DatabaseInstance>, DriverError> {
    match g
        .c
        .sql
        .get()
        .set_project(&g.opts.project)
        .set_instance(name)
        .send()
        .await
    {
        Err(e) if error::is_not_found(&e) => Ok(None),
        Err(e) => Err(error::map("instances.get", e)),
        Ok(i) => Ok(Some(i)),
    }
}

fn private_ip(i: &m::DatabaseInstance) -> Option<String> {
    i.ip_addresses
        .iter()
        .find(|a| a.r#type == m::SqlIpAddressType::Private)
        .map(|a| a.ip_address.clone())
}

fn outputs(g: &Gcp, i: &m::DatabaseInstance) -> Value {
    json!({
        "id": i.name, "name": i.name, "privateIp": private_ip(i), "port": 5432,
        "username": password::USER, "connectionName": i.connection_name,
        "passwordFile": g.opts.secrets.location(&password::name(&g.opts.installation)),
    })
}

pub async fn read(g: &Gcp, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let want: SqlInstance = lookup_props(l)?;
    let Some(i) = get(g, &want.name).await? else {
        return Ok(None);
    };
    let s = i.settings.clone().unwrap_or_default();
    if !ownership::owns_labels(&g.opts.installation, l.address.as_str(), &s.user_labels) {
        return Ok(None);
    }
    let mut props = base_props(l);
    props.insert(
        "version".into(),
        json!(i.database_version.name().unwrap_or_default()),
    );
    props.insert("tier".into(), json!(s.tier));
    props.insert(
        "storageGb".into(),
        json!(s.data_disk_size_gb.unwrap_or_default()),
    );
    props.insert(
        "regional".into(),
        json!(s.availability_type == m::SqlAvailabilityType::Regional),
    );
    props.insert(
        "deletionProtection".into(),
        json!(s.deletion_protection_enabled.unwrap_or(false)),
    );
    let retained = s
        .backup_configuration
        .as_ref()
        .filter(|b| b.enabled == Some(true))
        .and_then(|b| b.backup_retention_settings.as_ref())
        .and_then(|r| r.retained_backups)
        .unwrap_or(0);
    props.insert("backupRetentionDays".into(), json!(retained));
    if i.state != SqlInstanceState::Runnable || private_ip(&i).is_none() {
        props.insert(READY.into(), Value::Bool(false));
    }
    Ok(Some(observed(i.name.clone(), props, outputs(g, &i))))
}

fn settings(
    g: &Gcp,
    r: &Resource,
    p: &SqlInstance,
    network: &str,
    range: Option<String>,
) -> m::Settings {
    let labels: HashMap<String, String> = Labels
        .marks(&g.opts.installation, r.address.as_str())
        .into_iter()
        .collect();
    let mut ip = m::IpConfiguration::new()
        .set_ipv4_enabled(false)
        .set_private_network(network_path(&g.opts.project, network));
    if let Some(range) = range {
        ip = ip.set_allocated_ip_range(range);
    }
    m::Settings::new()
        .set_tier(&p.tier)
        .set_user_labels(labels)
        .set_availability_type(if p.regional {
            m::SqlAvailabilityType::Regional
        } else {
            m::SqlAvailabilityType::Zonal
        })
        .set_ip_configuration(ip)
        .set_data_disk_size_gb(i64::from(p.storage_gb))
        .set_deletion_protection_enabled(p.deletion_protection)
        .set_backup_configuration(
            m::BackupConfiguration::new()
                .set_enabled(p.backup_retention_days > 0)
                .set_backup_retention_settings(
                    m::BackupRetentionSettings::new()
                        .set_retained_backups(i32::from(p.backup_retention_days.max(1))),
                ),
        )
}

/// Waits until the instance is RUNNABLE with its private IP, and reports it.
async fn ready(
    g: &Gcp,
    r: &Resource,
    name: &str,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    let what = format!("Cloud SQL instance {name}");
    let i = crate::wait::until(
        &what,
        "database",
        g.limit("database"),
        g.opts.backoff,
        ctx.recorder,
        || async {
            match get(g, name).await? {
                Some(i) if i.state == SqlInstanceState::Runnable && private_ip(&i).is_some() => {
                    Ok(crate::wait::Poll::Ready(i))
                }
                Some(i) => Ok(crate::wait::Poll::Pending(
                    format!("{:?}", i.state).to_lowercase(),
                )),
                None => Err(DriverError::permanent(format!("{what} is gone"))),
            }
        },
    )
    .await?;
    Ok(Observed {
        id: i.name.clone(),
        props: r.props.clone(),
        outputs: outputs(g, &i),
    })
}

pub async fn create(g: &Gcp, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let p: SqlInstance = props::of(r)?;
    let network = name_of(ctx, &p.network)?;
    let range = p.range.as_deref().map(|a| name_of(ctx, a)).transpose()?;
    let secret = password::password(g.opts.secrets.as_ref(), &g.opts.installation)?;
    let body = m::DatabaseInstance::new()
        .set_name(&p.name)
        .set_region(&p.region)
        .set_database_version(m::SqlDatabaseVersion::from(p.version.as_str()))
        .set_root_password(secret.expose().as_str())
        .set_settings(settings(g, r, &p, &network, range));
    let op = match g
        .c
        .sql
        .insert()
        .set_project(&g.opts.project)
        .set_body(body)
        .send()
        .await
    {
        Err(e) if error::is_conflict(&e) => {
            return Err(DriverError::permanent(format!(
                "a Cloud SQL instance named {} exists but liftoff did not create it for this installation (or it was deleted recently: names are kept for a week)",
                p.name
            ))
            .with_hint("choose another metadata.name"));
        }
        Err(e) => return Err(error::map("instances.insert", e)),
        Ok(op) => op,
    };
    ctx.recorder
        .created(&p.name, json!({"id": p.name, "name": p.name, "privateIp": null, "port": 5432, "username": password::USER}))
        .await?;
    operations::sql(
        g,
        ctx.recorder,
        &format!("Cloud SQL instance {} creation", p.name),
        "database",
        &op.name,
    )
    .await?;
    ready(g, r, &p.name, ctx).await
}

pub async fn update(
    g: &Gcp,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    let p: SqlInstance = props::of(r)?;
    let changed = |k: &str| o.props.get(k) != r.props.get(k);
    if [
        "tier",
        "storageGb",
        "regional",
        "deletionProtection",
        "backupRetentionDays",
    ]
    .iter()
    .any(|k| changed(k))
    {
        let network = name_of(ctx, &p.network)?;
        let range = p.range.as_deref().map(|a| name_of(ctx, a)).transpose()?;
        let body = m::DatabaseInstance::new().set_settings(settings(g, r, &p, &network, range));
        let op =
            g.c.sql
                .patch()
                .set_project(&g.opts.project)
                .set_instance(&p.name)
                .set_body(body)
                .send()
                .await
                .map_err(|e| error::map("instances.patch", e))?;
        operations::sql(
            g,
            ctx.recorder,
            &format!("Cloud SQL instance {} update", p.name),
            "database",
            &op.name,
        )
        .await?;
    }
    ready(g, r, &p.name, ctx).await
}

pub async fn delete(g: &Gcp, o: &Observed, ctx: &Context<'_>) -> Result<(), DriverError> {
    let name = o
        .outputs
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(&o.id)
        .to_string();
    if o.props.get("deletionProtection") == Some(&Value::Bool(true)) {
        return Err(DriverError::new(Failure::Blocked, format!("Cloud SQL instance {name} has deletion protection on"))
            .with_hint("liftoff does not turn it off by itself: set `database.deletionProtection: false` in the spec, run `liftoff install` (which turns it off), then `liftoff destroy` again"));
    }
    let op = match g
        .c
        .sql
        .delete()
        .set_project(&g.opts.project)
        .set_instance(&name)
        .send()
        .await
    {
        Err(e) if error::is_not_found(&e) => return Ok(()),
        Err(e) => return Err(error::map("instances.delete", e)),
        Ok(op) => op,
    };
    operations::sql(
        g,
        ctx.recorder,
        &format!("Cloud SQL instance {name} deletion"),
        "database",
        &op.name,
    )
    .await
    .map(|_| ())
}
