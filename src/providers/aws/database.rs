//! RDS PostgreSQL: the DB subnet group and the instance (encrypted, settings
//! from the spec), waited for until available, deleted with a final
//! snapshot unless told otherwise; deletion protection is never turned off
//! silently. The master password comes from [`super::password`].

use std::time::Duration;

use aws_sdk_rds::types::Tag;
use serde_json::{Value, json};

pub use super::password::{MASTER_USER, password, password_path};
use super::{Aws, base_props, dep_ids, error, id_of, prop};
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
    if l.kind == "aws.db_subnet_group" {
        let name = props
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
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
        let tags = rds
            .list_tags_for_resource()
            .resource_name(g.db_subnet_group_arn().unwrap_or_default())
            .send()
            .await;
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
    let ident = props
        .get("identifier")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
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
    if r.kind == "aws.db_subnet_group" {
        let name = prop(r, "name")?;
        rds.create_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description(format!("liftoff {}", a.opts.installation))
            .set_subnet_ids(Some(dep_ids(r, ctx, "subnets")?))
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
    let ident = prop(r, "identifier")?;
    let password = password(a)?;
    let p = &r.props;
    let mut call = rds
        .create_db_instance()
        .db_instance_identifier(ident)
        .engine("postgres")
        .db_instance_class(p["instanceClass"].as_str().unwrap_or("db.t4g.medium"))
        .allocated_storage(p["storageGb"].as_i64().unwrap_or(100) as i32)
        .multi_az(p["multiAz"].as_bool().unwrap_or(false))
        .storage_encrypted(true)
        .deletion_protection(p["deletionProtection"].as_bool().unwrap_or(true))
        .backup_retention_period(p["backupRetentionDays"].as_i64().unwrap_or(7) as i32)
        .publicly_accessible(false)
        .master_username(MASTER_USER)
        .master_user_password(password.expose())
        .db_subnet_group_name(id_of(ctx, prop(r, "subnetGroup")?)?)
        .set_tags(Some(rds_tags(a, addr, ident)));
    if let Some(v) = p["engineVersion"].as_str() {
        call = call.engine_version(v);
    }
    if let Some(sg) = p["securityGroup"].as_str() {
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

async fn wait_available(a: &Aws, ident: &str, ctx: &Context<'_>) -> Result<Value, DriverError> {
    let limit = wait::deadline(&a.opts.timeouts.database, Duration::from_secs(2400));
    wait::until(
        &format!("database {ident}"),
        "database",
        limit,
        a.opts.backoff,
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
    if r.kind == "aws.db_subnet_group" {
        a.c.rds
            .modify_db_subnet_group()
            .db_subnet_group_name(&o.id)
            .set_subnet_ids(Some(dep_ids(r, ctx, "subnets")?))
            .send()
            .await
            .map_err(|e| error::map("ModifyDBSubnetGroup", e))?;
        return Ok(Observed {
            props: r.props.clone(),
            ..o.clone()
        });
    }
    let p = &r.props;
    let mut call =
        a.c.rds
            .modify_db_instance()
            .db_instance_identifier(&o.id)
            .apply_immediately(true);
    let changed = |k: &str| o.props.get(k) != p.get(k);
    let modify = [
        "instanceClass",
        "storageGb",
        "multiAz",
        "deletionProtection",
        "backupRetentionDays",
        "engineVersion",
    ]
    .iter()
    .any(|k| changed(k));
    if changed("instanceClass") {
        call = call.set_db_instance_class(p["instanceClass"].as_str().map(str::to_string));
    }
    if changed("storageGb") {
        call = call.set_allocated_storage(p["storageGb"].as_i64().map(|v| v as i32));
    }
    if changed("multiAz") {
        call = call.set_multi_az(p["multiAz"].as_bool());
    }
    if changed("deletionProtection") {
        call = call.set_deletion_protection(p["deletionProtection"].as_bool());
    }
    if changed("backupRetentionDays") {
        call =
            call.set_backup_retention_period(p["backupRetentionDays"].as_i64().map(|v| v as i32));
    }
    if changed("engineVersion") {
        call = call
            .set_engine_version(p["engineVersion"].as_str().map(str::to_string))
            .allow_major_version_upgrade(false);
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
    if kind == "aws.db_subnet_group" {
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
    wait::until(
        &format!("database {} deletion", o.id),
        "database",
        limit,
        a.opts.backoff,
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
        let _ = std::fs::remove_file(password_path(a));
    }
    Ok(())
}
