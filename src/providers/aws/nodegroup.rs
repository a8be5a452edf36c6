//! EKS managed node groups: created with the idempotency token, recorded as
//! soon as AWS accepts them, waited for until ACTIVE (`timeouts.nodeGroup`);
//! scaling changes in place.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_eks::types::{NodegroupScalingConfig, NodegroupStatus, Taint, TaintEffect};
use serde_json::{Value, json};

use super::eks::{merge, owned, strings, tags};
use super::{Aws, base_props, dep_ids, error, prop};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Lookup, Observed};
use crate::wait::{self, Poll};

fn group_view(g: &aws_sdk_eks::types::Nodegroup) -> (Value, Value) {
    let s = g.scaling_config();
    let props = json!({
        "version": g.version(),
        "instanceTypes": g.instance_types(),
        "min": s.and_then(|s| s.min_size()), "max": s.and_then(|s| s.max_size()), "desired": s.and_then(|s| s.desired_size()),
    });
    (
        props,
        json!({"id": g.nodegroup_name(), "arn": g.nodegroup_arn(), "version": g.version()}),
    )
}

pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let props = base_props(l);
    let name = props
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let eks = &a.c.eks;
    let cluster = a.opts.installation.clone();
    let out = match eks
        .describe_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(&name)
        .send()
        .await
    {
        Err(e) if error::is_not_found(&e) => return Ok(None),
        r => r.map_err(|e| error::map("DescribeNodegroup", e))?,
    };
    let Some(g) = out
        .nodegroup()
        .filter(|g| owned(a, l.address.as_str(), g.tags()))
    else {
        return Ok(None);
    };
    if g.status() == Some(&NodegroupStatus::Deleting) {
        return Ok(None);
    }
    let (seen, outputs) = group_view(g);
    let mut props = merge(props, seen);
    if g.status() != Some(&NodegroupStatus::Active) {
        props[super::NOT_READY] = Value::Bool(false);
    }
    Ok(Some(Observed {
        id: name,
        props,
        outputs,
    }))
}

pub async fn create(a: &Aws, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let addr = r.address.as_str();
    let name = prop(r, "name")?;
    let p = &r.props;
    let eks = &a.c.eks;
    let role = ctx
        .dep_output(prop(r, "role")?, "arn")?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let cluster = ctx
        .dep_output("aws.eks_cluster", "name")?
        .as_str()
        .unwrap_or_default()
        .to_string();
    let taints: Vec<Taint> = p["taints"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let effect = match t["effect"].as_str() {
                Some("NoExecute") => TaintEffect::NoExecute,
                Some("PreferNoSchedule") => TaintEffect::PreferNoSchedule,
                _ => TaintEffect::NoSchedule,
            };
            Taint::builder()
                .key(t["key"].as_str().unwrap_or(""))
                .value(t["value"].as_str().unwrap_or(""))
                .effect(effect)
                .build()
        })
        .collect();
    let labels: HashMap<String, String> = p["labels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
        .collect();
    let mut call = eks
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(name)
        .node_role(role)
        .set_subnets(Some(dep_ids(r, ctx, "subnets")?))
        .scaling_config(scaling(p))
        .set_instance_types(Some(strings(&p["instanceTypes"])))
        .disk_size(p["diskGb"].as_i64().unwrap_or(100) as i32)
        .set_labels((!labels.is_empty()).then_some(labels))
        .set_taints((!taints.is_empty()).then_some(taints))
        .client_request_token(&ctx.idempotency_token)
        .set_tags(Some(tags(
            a,
            addr,
            &format!("{}-{name}", a.opts.installation),
        )));
    if let Some(v) = p["version"].as_str() {
        call = call.version(v);
    }
    // A role made moments ago may not be usable yet; the request token
    // makes the retried create idempotent.
    let what = format!("node group {name} create");
    let out = wait::until(
        &what,
        "",
        a.opts.backoff.patience(),
        a.opts.backoff,
        ctx.recorder,
        || async {
            match call.clone().send().await {
                Ok(out) => Ok(Poll::Ready(out)),
                Err(e) if error::is_role_not_ready(&e) => Ok(Poll::Pending(
                    "waiting for the IAM role to propagate".into(),
                )),
                Err(e) => Err(error::map("CreateNodegroup", e)),
            }
        },
    )
    .await?;
    let outputs = out
        .nodegroup()
        .map(|g| group_view(g).1)
        .unwrap_or_else(|| json!({"id": name}));
    ctx.recorder.created(name, outputs).await?;
    let outputs = wait_group(a, &cluster, name, ctx).await?;
    Ok(Observed {
        id: name.into(),
        props: r.props.clone(),
        outputs,
    })
}

fn scaling(p: &Value) -> NodegroupScalingConfig {
    let n = |k: &str| p[k].as_i64().map(|v| v as i32);
    NodegroupScalingConfig::builder()
        .set_min_size(n("min"))
        .set_max_size(n("max"))
        .set_desired_size(n("desired"))
        .build()
}

async fn wait_group(
    a: &Aws,
    cluster: &str,
    name: &str,
    ctx: &Context<'_>,
) -> Result<Value, DriverError> {
    let limit = wait::deadline(&a.opts.timeouts.node_group, Duration::from_secs(1200));
    wait::until(&format!("node group {name}"), "nodeGroup", limit, a.opts.backoff, ctx.recorder, || async {
        let out = a.c.eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await;
        let out = out.map_err(|e| error::map("DescribeNodegroup", e))?;
        let Some(g) = out.nodegroup() else { return Ok(Poll::Pending("not visible yet".into())) };
        match g.status() {
            Some(NodegroupStatus::Active) => Ok(Poll::Ready(group_view(g).1)),
            Some(NodegroupStatus::CreateFailed | NodegroupStatus::Degraded) => Err(DriverError::permanent(format!(
                "node group {name} is {}", g.status().map_or("failed", |s| s.as_str())
            )).with_hint("check the node group's health issues in the EKS console (instance quota, subnet IPs)")),
            s => Ok(Poll::Pending(s.map_or("unknown", |s| s.as_str()).to_string())),
        }
    })
    .await
}

pub async fn update(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    let changed = |k: &str| o.props.get(k) != r.props.get(k);
    if changed("version") {
        return Err(DriverError::permanent(format!(
            "changing the Kubernetes version of {} in place is not supported yet",
            r.address
        ))
        .with_hint("revert the change, or upgrade the node group in the EKS console"));
    }
    let cluster = a.opts.installation.clone();
    if changed("min") || changed("max") || changed("desired") {
        a.c.eks
            .update_nodegroup_config()
            .cluster_name(&cluster)
            .nodegroup_name(&o.id)
            .scaling_config(scaling(&r.props))
            .send()
            .await
            .map_err(|e| error::map("UpdateNodegroupConfig", e))?;
    }
    // Also when it was found before it was ready.
    wait_group(a, &cluster, &o.id, ctx).await?;
    Ok(Observed {
        props: r.props.clone(),
        ..o.clone()
    })
}

pub async fn delete(a: &Aws, o: &Observed, ctx: &Context<'_>) -> Result<(), DriverError> {
    let eks = &a.c.eks;
    let cluster = a.opts.installation.clone();
    match eks
        .delete_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(&o.id)
        .send()
        .await
    {
        Err(e) if error::is_not_found(&e) => return Ok(()),
        r => {
            r.map_err(|e| error::map("DeleteNodegroup", e))?;
        }
    }
    let limit = wait::deadline(&a.opts.timeouts.node_group, Duration::from_secs(1200));
    wait::until(
        &format!("node group {} deletion", o.id),
        "nodeGroup",
        limit,
        a.opts.backoff,
        ctx.recorder,
        || async {
            match eks
                .describe_nodegroup()
                .cluster_name(&cluster)
                .nodegroup_name(&o.id)
                .send()
                .await
            {
                Err(e) if error::is_not_found(&e) => Ok(Poll::Ready(())),
                Err(e) => Err(error::map("DescribeNodegroup", e)),
                Ok(out) => Ok(Poll::Pending(
                    out.nodegroup()
                        .and_then(|g| g.status())
                        .map_or("deleting", |s| s.as_str())
                        .to_string(),
                )),
            }
        },
    )
    .await
}
