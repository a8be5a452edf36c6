//! EKS managed node groups: created with the idempotency token, recorded as
//! soon as AWS accepts them, waited for until ACTIVE (`timeouts.nodeGroup`);
//! scaling changes in place.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_eks::types::{NodegroupScalingConfig, NodegroupStatus, Taint, TaintEffect};
use serde_json::{Value, json};

use super::eks::{merge, owned, tags};
use super::props::{self, EksNodegroup};
use super::{Aws, base_props, dep_string, error, ids_of, lookup_props};
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
    let name = lookup_props::<EksNodegroup>(l)?.name;
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
    let p: EksNodegroup = props::of(r)?;
    let name = p.name.as_str();
    let eks = &a.c.eks;
    let role = dep_string(ctx, &p.role, "arn")?;
    let cluster = dep_string(ctx, &p.cluster, "name")?;
    let taints: Vec<Taint> = p
        .taints
        .iter()
        .map(|t| {
            let effect = match t.effect {
                crate::spec::TaintEffect::NoExecute => TaintEffect::NoExecute,
                crate::spec::TaintEffect::PreferNoSchedule => TaintEffect::PreferNoSchedule,
                crate::spec::TaintEffect::NoSchedule => TaintEffect::NoSchedule,
            };
            Taint::builder()
                .key(&t.key)
                .value(&t.value)
                .effect(effect)
                .build()
        })
        .collect();
    let labels: HashMap<String, String> = p.labels.clone().into_iter().collect();
    let call = eks
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(name)
        .node_role(role)
        .set_subnets(Some(ids_of(ctx, &p.subnets)?))
        .scaling_config(scaling(&p))
        .set_instance_types(Some(p.instance_types.clone()))
        .disk_size(int(p.disk_gb))
        .set_labels((!labels.is_empty()).then_some(labels))
        .set_taints((!taints.is_empty()).then_some(taints))
        .client_request_token(&ctx.idempotency_token)
        .set_tags(Some(tags(
            a,
            addr,
            &format!("{}-{name}", a.opts.installation),
        )))
        .set_version(p.version.clone());
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

fn scaling(p: &EksNodegroup) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder()
        .min_size(int(p.min))
        .max_size(int(p.max))
        .desired_size(int(p.desired))
        .build()
}

/// A size or count as the SDK's `i32` (sizes the spec validated).
fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

async fn wait_group(
    a: &Aws,
    cluster: &str,
    name: &str,
    ctx: &Context<'_>,
) -> Result<Value, DriverError> {
    let limit = wait::deadline(&a.opts.timeouts.node_group, Duration::from_secs(1200));
    wait::until_fitted(&format!("node group {name}"), "nodeGroup", limit, a.opts.backoff,
        super::expected::NODE_GROUP, ctx.recorder, || async {
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
            .scaling_config(scaling(&props::of(r)?))
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
    wait::until_fitted(
        &format!("node group {} deletion", o.id),
        "nodeGroup",
        limit,
        a.opts.backoff,
        super::expected::NODE_GROUP_DELETE,
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
