//! RDS PostgreSQL: the DB subnet group and the instance (encrypted, settings
//! from the spec), waited for until available, deleted with a final
//! snapshot unless told otherwise; deletion protection is never turned off
//! silently. The master password comes from [`super::password`].

use std::time::Duration;

use aws_sdk_rds::types::Tag;
use serde_json::{Value, json};

use super::kind::DB_SUBNET_GROUP;
pub use super::password::{MASTER_USER, password, password_path};
use super::props;
use super::{Aws, base_props, error, id_of, ids_of, lookup_props};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Failure, Lookup, Observed};
use crate::wait::{self, Poll};

fn rds_tags(a: &Aws, address: &str, name: &str) -> Vec<Tag> {
    a.opts
        .tags(address, name)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn owned(a: &Aws, address: &str, tags: &[Tag]) -> bool {
    a.opts.owns(
        address,
        tags.iter()
            .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))),
    )
}

fn instance_view(d: &aws_sdk_rds::types::DbInstance, a: &Aws) -> (Value, Value) {
    let endpoint = d.endpoint();
    let outputs = json!({
        "id": d.db_instance_identifier(),
        "arn": d.db_instance_arn(),
        "endpoint": endpoint.and_then(|e| e.address()),
        "port": endpoint.and_then(|e| e.port()),
        "username": MASTER_USER,
        "passwordFile": password_path(a),
        "publiclyAccessible": d.publicly_accessible(),
    });
    let props = json!({
        "engineVersion": d.engine_version(),
        "instanceClass": d.db_instance_class(),
        "storageGb": d.allocated_storage(),
        "multiAz": d.multi_az(),
        "encrypted": d.storage_encrypted(),
        "deletionProtection": d.deletion_protection(),
        "backupRetentionDays": d.backup_retention_period(),
    });
    (props, outputs)
}

pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let addr = l.address.as_str();
    let mut props = base_props(l);
    let rds = &a.c.rds;
    if l.kind == DB_SUBNET_GROUP {
        let name = lookup_props::<props::DbSubnetGroup>(l)?.name;
        let out = match rds
            .describe_db_subnet_groups()
            .db_subnet_group_name(&name)
            .send()
            .await
        {
            Err(e) if error::is_not_found(&e) => return Ok(None),
            r => r.map_err(|e| error::map("DescribeDBSubnetGroups", e))?,
        };
        let Some(g) = out.db_subnet_groups().first() else {
            return Ok(None);
        };
        let arn = g.db_subnet_group_arn().ok_or_else(|| {
            DriverError::permanent(format!(
                "RDS reported DB subnet group {name} without an ARN"
            ))
        })?;
        let tags = rds.list_tags_for_resource().resource_name(arn).send().await;
        let tags = tags.map_err(|e| error::map("ListTagsForResource", e))?;
        if !owned(a, addr, tags.tag_list()) {
            return Ok(None);
        }
        return Ok(Some(Observed {
            id: name.clone(),
            props: Value::Object(props),
            outputs: json!({"id": name}),
        }));
    }
    let ident = lookup_props::<props::Database>(l)?.identifier;
    let out = match rds
        .describe_db_instances()
        .db_instance_identifier(&ident)
        .send()
        .await
    {
        Err(e) if error::is_not_found(&e) => return Ok(None),
        r => r.map_err(|e| error::map("DescribeDBInstances", e))?,
    };
    let Some(d) = out
        .db_instances()
        .first()
        .filter(|d| owned(a, addr, d.tag_list()))
    else {
        return Ok(None);
    };
    if d.db_instance_status() == Some("deleting") {
        return Ok(None);
    }
    let (seen, outputs) = instance_view(d, a);
    for (k, v) in seen.as_object().into_iter().flatten() {
        props.insert(k.clone(), v.clone());
    }
    if d.db_instance_status() != Some("available") {
        props.insert(super::NOT_READY.into(), Value::Bool(false));
    }
    Ok(Some(Observed {
        id: ident,
        props: Value::Object(props),
        outputs,
    }))
}

pub async fn create(a: &Aws, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let addr = r.address.as_str();
    let rds = &a.c.rds;
    if r.kind == DB_SUBNET_GROUP {
        let p: props::DbSubnetGroup = props::of(r)?;
        let name = p.name.as_str();
        rds.create_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description(format!("liftoff {}", a.opts.installation))
            .set_subnet_ids(Some(ids_of(ctx, &p.subnets)?))
            .set_tags(Some(rds_tags(a, addr, name)))
            .send()
            .await
            .map_err(|e| error::map("CreateDBSubnetGroup", e))?;
        let outputs = json!({"id": name});
        ctx.recorder.created(name, outputs.clone()).await?;
        return Ok(Observed {
            id: name.into(),
            props: r.props.clone(),
            outputs,
        });
    }
    let p: props::Database = props::of(r)?;
    let ident = p.identifier.as_str();
    let class = p.instance_class.as_deref().ok_or_else(|| {
        DriverError::permanent(format!("{}: no instance class", r.address))
            .with_hint("set database.instanceClass in the spec")
    })?;
    let password = password(a)?;
    let mut call = rds
        .create_db_instance()
        .db_instance_identifier(ident)
        .engine(&p.engine)
        .db_instance_class(class)
        .allocated_storage(int(p.storage_gb))
        .multi_az(p.multi_az)
        .storage_encrypted(p.encrypted)
        .deletion_protection(p.deletion_protection)
        .backup_retention_period(i32::from(p.backup_retention_days))
        .publicly_accessible(false)
        .master_username(MASTER_USER)
        .master_user_password(password.expose())
        .db_subnet_group_name(id_of(ctx, &p.subnet_group)?)
        .set_engine_version(p.engine_version.clone())
        .set_tags(Some(rds_tags(a, addr, ident)));
    if let Some(sg) = &p.security_group {
        call = call.vpc_security_group_ids(id_of(ctx, sg)?);
    }
    let out = call
        .send()
        .await
        .map_err(|e| error::map("CreateDBInstance", e))?;
    let d = out
        .db_instance()
        .ok_or_else(|| DriverError::permanent("CreateDBInstance returned no instance"))?;
    ctx.recorder.created(ident, instance_view(d, a).1).await?;
    let outputs = wait_available(a, ident, ctx).await?;
    Ok(Observed {
        id: ident.into(),
        props: r.props.clone(),
        outputs,
    })
}

/// A size or count as the SDK's `i32` (sizes the spec validated).
fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

async fn wait_available(a: &Aws, ident: &str, ctx: &Context<'_>) -> Result<Value, DriverError> {
    let limit = wait::deadline(&a.opts.timeouts.database, Duration::from_secs(2400));
    wait::until_fitted(
        &format!("database {ident}"),
        "database",
        limit,
        a.opts.backoff,
        super::expected::DATABASE,
        ctx.recorder,
        || async {
            let out =
                a.c.rds
                    .describe_db_instances()
                    .db_instance_identifier(ident)
                    .send()
                    .await;
            let out = out.map_err(|e| error::map("DescribeDBInstances", e))?;
            let Some(d) = out.db_instances().first() else {
                return Ok(Poll::Pending("not visible yet".into()));
            };
            match d.db_instance_status() {
                Some("available") => Ok(Poll::Ready(instance_view(d, a).1)),
                Some(
                    s @ ("failed"
                    | "incompatible-parameters"
                    | "incompatible-network"
                    | "storage-full"),
                ) => Err(DriverError::permanent(format!("database {ident} is {s}"))),
                s => Ok(Poll::Pending(s.unwrap_or("unknown").to_string())),
            }
        },
    )
    .await
}

pub async fn update(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    if r.kind == DB_SUBNET_GROUP {
        let p: props::DbSubnetGroup = props::of(r)?;
        a.c.rds
            .modify_db_subnet_group()
            .db_subnet_group_name(&o.id)
            .set_subnet_ids(Some(ids_of(ctx, &p.subnets)?))
            .send()
            .await
            .map_err(|e| error::map("ModifyDBSubnetGroup", e))?;
        return Ok(Observed {
            props: r.props.clone(),
            ..o.clone()
        });
    }
    let p: props::Database = props::of(r)?;
    // Only what differs from what RDS reports is sent.
    let changed = |key: &str| o.props.get(key) != r.props.get(key);
    let mut call =
        a.c.rds
            .modify_db_instance()
            .db_instance_identifier(&o.id)
            .apply_immediately(true);
    let mut modify = false;
    if changed("instanceClass") {
        call = call.set_db_instance_class(p.instance_class.clone());
        modify = true;
    }
    if changed("storageGb") {
        call = call.allocated_storage(int(p.storage_gb));
        modify = true;
    }
    if changed("multiAz") {
        call = call.multi_az(p.multi_az);
        modify = true;
    }
    if changed("deletionProtection") {
        call = call.deletion_protection(p.deletion_protection);
        modify = true;
    }
    if changed("backupRetentionDays") {
        call = call.backup_retention_period(i32::from(p.backup_retention_days));
        modify = true;
    }
    if changed("engineVersion") {
        call = call
            .set_engine_version(p.engine_version.clone())
            .allow_major_version_upgrade(false);
        modify = true;
    }
    if modify {
        call.send()
            .await
            .map_err(|e| error::map("ModifyDBInstance", e))?;
    }
    let outputs = wait_available(a, &o.id, ctx).await?;
    Ok(Observed {
        id: o.id.clone(),
        props: r.props.clone(),
        outputs,
    })
}

pub async fn delete(
    a: &Aws,
    kind: &str,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    let rds = &a.c.rds;
    if kind == DB_SUBNET_GROUP {
        return match rds
            .delete_db_subnet_group()
            .db_subnet_group_name(&o.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error::is_not_found(&e) => Ok(()),
            Err(e) => Err(error::map("DeleteDBSubnetGroup", e)),
        };
    }
    if o.props.get("deletionProtection") == Some(&Value::Bool(true)) {
        return Err(DriverError::new(Failure::Blocked, format!("database {} has deletion protection on", o.id))
            .with_hint("liftoff does not turn it off by itself: set `database.deletionProtection: false` in the spec, run `liftoff install` (which turns it off), then `liftoff destroy` again"));
    }
    let mut call = rds
        .delete_db_instance()
        .db_instance_identifier(&o.id)
        .delete_automated_backups(false);
    let snapshot = format!(
        "{}-final-{}",
        o.id,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    if a.opts.skip_final_snapshot {
        call = call.skip_final_snapshot(true);
    } else {
        ctx.recorder
            .progress(&format!("taking final snapshot {snapshot}"));
        call = call
            .skip_final_snapshot(false)
            .final_db_snapshot_identifier(&snapshot);
    }
    match call.send().await {
        Err(e) if error::is_not_found(&e) => {}
        Err(e) => return Err(error::map("DeleteDBInstance", e)),
        Ok(_) => {}
    }
    let limit = wait::deadline(&a.opts.timeouts.database, Duration::from_secs(2400));
    wait::until_fitted(
        &format!("database {} deletion", o.id),
        "database",
        limit,
        a.opts.backoff,
        super::expected::DATABASE_DELETE,
        ctx.recorder,
        || async {
            match rds
                .describe_db_instances()
                .db_instance_identifier(&o.id)
                .send()
                .await
            {
                Err(e) if error::is_not_found(&e) => Ok(Poll::Ready(())),
                Err(e) => Err(error::map("DescribeDBInstances", e)),
                Ok(out) => match out.db_instances().first() {
                    None => Ok(Poll::Ready(())),
                    Some(d) => Ok(Poll::Pending(
                        d.db_instance_status().unwrap_or("deleting").to_string(),
                    )),
                },
            }
        },
    )
    .await?;
    // With a final snapshot the password is still needed to use a restore.
    if a.opts.skip_final_snapshot {
        let _ = a
            .opts
            .secrets
            .remove(&super::password::name(&a.opts.installation));
    }
    Ok(())
}
