//! EKS managed node groups: created with the idempotency token and their
//! launch template ([`super::launch_template`], which holds the instance
//! type and disk), recorded as soon as AWS accepts them, waited for until
//! ACTIVE (`timeouts.nodeGroup`); scaling changes in place, and so do the
//! instance type and disk: the group moves to its template's new version
//! (UpdateNodegroupVersion, a rolling update). A group found without a
//! launch template (made by an earlier liftoff) is kept as it is.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_eks::types::{
    LaunchTemplateSpecification, NodegroupScalingConfig, NodegroupStatus, Taint, TaintEffect,
};
use serde_json::{Value, json};

use super::eks::{merge, owned, tags};
use super::props::{self, EksNodegroup};
use super::{Aws, base_props, dep_string, error, ids_of, lookup_props};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Lookup, Observed};
use crate::wait::{self, Poll};

/// The group's props as EKS reports them (instance types and disk as the
/// group itself has them), and its outputs, with the launch template it
/// uses (`null` for a group made without one).
fn group_view(g: &aws_sdk_eks::types::Nodegroup) -> (Value, Value) {
    let s = g.scaling_config();
    let props = json!({
        "version": g.version(),
        "instanceTypes": g.instance_types(),
        "diskGb": g.disk_size(),
        "min": s.and_then(|s| s.min_size()), "max": s.and_then(|s| s.max_size()), "desired": s.and_then(|s| s.desired_size()),
    });
    let template = g
        .launch_template()
        .map(|t| json!({"id": t.id(), "version": t.version()}));
    (
        props,
        json!({"id": g.nodegroup_name(), "arn": g.nodegroup_arn(), "version": g.version(), "launchTemplate": template}),
    )
}

/// With a launch template, the instance type and disk are the template
/// version's the group uses (several instance types stay the group's own).
async fn template_view(
    a: &Aws,
    g: &aws_sdk_eks::types::Nodegroup,
    props: &mut Value,
) -> Result<(), DriverError> {
    let Some((Some(id), Some(version))) = g.launch_template().map(|t| (t.id(), t.version())) else {
        return Ok(());
    };
    let out =
        a.c.ec2
            .describe_launch_template_versions()
            .launch_template_id(id)
            .versions(version)
            .send()
            .await;
    let out = match out {
        Err(e) if error::is_not_found(&e) => return Ok(()),
        r => r.map_err(|e| error::map("DescribeLaunchTemplateVersions", e))?,
    };
    let data = out
        .launch_template_versions()
        .first()
        .and_then(|v| v.launch_template_data());
    let (instance_type, disk) = super::launch_template::contents(data);
    if !instance_type.is_null() {
        props["instanceTypes"] = json!([instance_type]);
    }
    props["diskGb"] = disk;
    Ok(())
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
    let (mut seen, outputs) = group_view(g);
    template_view(a, g, &mut seen).await?;
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
    // With a launch template, EKS takes the instance type and disk from it
    // and refuses a disk size (and an instance type the template names).
    let (template, instance_types, disk) = match &p.launch_template {
        Some(t) => (
            Some(template_spec(ctx, t)?),
            (p.instance_types.len() > 1).then(|| p.instance_types.clone()),
            None,
        ),
        None => (None, Some(p.instance_types.clone()), Some(int(p.disk_gb))),
    };
    let call = eks
        .create_nodegroup()
        .cluster_name(&cluster)
        .nodegroup_name(name)
        .node_role(role)
        .set_subnets(Some(ids_of(ctx, &p.subnets)?))
        .scaling_config(scaling(&p))
        .set_launch_template(template)
        .set_instance_types(instance_types)
        .set_disk_size(disk)
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

/// The launch template at `address` in its latest version (its outputs).
fn template_spec(
    ctx: &Context<'_>,
    address: &str,
) -> Result<LaunchTemplateSpecification, DriverError> {
    Ok(LaunchTemplateSpecification::builder()
        .id(dep_string(ctx, address, "id")?)
        .version(dep_string(ctx, address, "version")?)
        .build())
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
    let cluster = a.opts.installation.clone();
    if changed("version") {
        if !a.opts.kubernetes_upgrade {
            return Err(DriverError::permanent(format!(
                "the Kubernetes version of {} changes only through `liftoff upgrade --kubernetes`",
                r.address
            ))
            .with_hint("revert the change, or run `liftoff upgrade --kubernetes <version>`"));
        }
        // After the control plane (the node group depends on the cluster):
        // the nodes are replaced by new ones of the new version.
        let version = r.props["version"].as_str().unwrap_or_default().to_string();
        ctx.recorder
            .progress(&format!("upgrading the nodes to Kubernetes {version}"));
        let out =
            a.c.eks
                .update_nodegroup_version()
                .cluster_name(&cluster)
                .nodegroup_name(&o.id)
                .version(&version)
                .client_request_token(format!("{}-{version}", ctx.idempotency_token))
                .send()
                .await
                .map_err(|e| error::map("UpdateNodegroupVersion", e))?;
        let id = out.update().and_then(|u| u.id()).unwrap_or_default();
        let target = format!("Kubernetes {version}");
        super::eks::wait_update(a, &cluster, Some(&o.id), id, &target, ctx).await?;
    }
    if changed("instanceTypes") || changed("diskGb") {
        // The plan allows this only for a group with a launch template,
        // whose new version (made by the template's update, which this one
        // depends on) the nodes move to, a rolling update.
        let p: EksNodegroup = props::of(r)?;
        let address = p.launch_template.as_deref().ok_or_else(|| {
            DriverError::permanent(format!("{} has no launch template", r.address))
        })?;
        let template = template_spec(ctx, address)?;
        let version = template.version().unwrap_or_default().to_string();
        ctx.recorder.progress(&format!(
            "moving the nodes to launch template version {version}"
        ));
        let out =
            a.c.eks
                .update_nodegroup_version()
                .cluster_name(&cluster)
                .nodegroup_name(&o.id)
                .launch_template(template)
                .client_request_token(format!("{}-template-{version}", ctx.idempotency_token))
                .send()
                .await
                .map_err(|e| error::map("UpdateNodegroupVersion", e))?;
        let id = out.update().and_then(|u| u.id()).unwrap_or_default();
        let target = format!("launch template version {version}");
        super::eks::wait_update(a, &cluster, Some(&o.id), id, &target, ctx).await?;
    }
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
