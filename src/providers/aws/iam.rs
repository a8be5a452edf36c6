//! IAM roles for the EKS cluster and its nodes, trusted by the service that
//! assumes them, with the AWS managed policies attached.

use aws_sdk_iam::types::Tag;
use serde_json::{Value, json};

use super::props::{self, IamRole};
use super::{Aws, base_props, error, lookup_props};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Lookup, Observed};

/// The ARN of an AWS managed policy.
pub fn managed_policy_arn(name: &str) -> String {
    format!("arn:aws:iam::aws:policy/{name}")
}

fn trust_policy(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    })
    .to_string()
}

async fn attached(a: &Aws, role: &str) -> Result<Vec<String>, DriverError> {
    let out =
        a.c.iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await;
    let out = out.map_err(|e| error::map("ListAttachedRolePolicies", e))?;
    Ok(out
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_name().map(str::to_string))
        .collect())
}

pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let mut props = base_props(l);
    let want: IamRole = lookup_props(l)?;
    let name = want.name;
    let out = match a.c.iam.get_role().role_name(&name).send().await {
        Err(e) if error::is_not_found(&e) => return Ok(None),
        r => r.map_err(|e| error::map("GetRole", e))?,
    };
    let Some(role) = out.role() else {
        return Ok(None);
    };
    let tags = role.tags().iter().map(|t| (t.key(), t.value()));
    if !a.opts.owns(l.address.as_str(), tags) {
        return Ok(None);
    }
    let have = attached(a, &name).await?;
    let kept: Vec<&String> = want.policies.iter().filter(|p| have.contains(p)).collect();
    props.insert("policies".into(), json!(kept));
    let arn = role.arn();
    Ok(Some(Observed {
        id: name.clone(),
        props: Value::Object(props),
        outputs: json!({"id": name, "arn": arn}),
    }))
}

pub async fn create(a: &Aws, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let p: IamRole = props::of(r)?;
    let name = p.name.as_str();
    let tags: Vec<Tag> = a
        .opts
        .tags(r.address.as_str(), name)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value set")
        })
        .collect();
    let out =
        a.c.iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust_policy(&p.service))
            .description(format!("liftoff {}: {}", a.opts.installation, r.address))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| error::map("CreateRole", e))?;
    let arn = out
        .role()
        .map(|x| x.arn().to_string())
        .ok_or_else(|| DriverError::permanent(format!("CreateRole {name} returned no role")))?;
    let outputs = json!({"id": name, "arn": arn});
    ctx.recorder.created(name, outputs.clone()).await?;
    attach_missing(a, &p, name).await?;
    Ok(Observed {
        id: name.into(),
        props: r.props.clone(),
        outputs,
    })
}

async fn attach_missing(a: &Aws, role: &IamRole, name: &str) -> Result<(), DriverError> {
    let have = attached(a, name).await?;
    for p in &role.policies {
        if !have.contains(p) {
            a.c.iam
                .attach_role_policy()
                .role_name(name)
                .policy_arn(managed_policy_arn(p))
                .send()
                .await
                .map_err(|e| error::map("AttachRolePolicy", e))?;
        }
    }
    Ok(())
}

pub async fn update(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    _ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    attach_missing(a, &props::of(r)?, &o.id).await?;
    Ok(Observed {
        props: r.props.clone(),
        ..o.clone()
    })
}

pub async fn delete(a: &Aws, o: &Observed) -> Result<(), DriverError> {
    let iam = &a.c.iam;
    let detach = |arn: String| async move {
        let r = iam
            .detach_role_policy()
            .role_name(&o.id)
            .policy_arn(arn)
            .send()
            .await;
        error::undone("DetachRolePolicy", r)
    };
    // The policies liftoff attached are detached while the role's list is
    // read (one round trip less before the role goes), then whatever else
    // the list shows; all at once.
    let ours: Vec<String> = o
        .props
        .get("policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(managed_policy_arn)
        .collect();
    let listed = async {
        iam.list_attached_role_policies()
            .role_name(&o.id)
            .send()
            .await
    };
    let (listed, detached) = tokio::join!(
        listed,
        futures::future::join_all(ours.iter().cloned().map(detach))
    );
    let have = match listed {
        Err(e) if error::is_not_found(&e) => return Ok(()),
        r => r.map_err(|e| error::map("ListAttachedRolePolicies", e))?,
    };
    detached.into_iter().collect::<Result<Vec<()>, _>>()?;
    let others = have
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .filter(|arn| !ours.iter().any(|o| o == arn))
        .map(|arn| detach(arn.to_string()));
    futures::future::try_join_all(others).await?;
    match iam.delete_role().role_name(&o.id).send().await {
        Ok(_) => Ok(()),
        Err(e) if error::is_not_found(&e) => Ok(()),
        Err(e) => Err(error::map("DeleteRole", e)),
    }
}
