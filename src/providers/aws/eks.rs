//! The EKS cluster and its managed node groups. Each create passes the
//! idempotency token, is recorded as soon as AWS accepts it, then waited
//! for until ACTIVE (`timeouts.cluster`, `timeouts.nodeGroup`).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair};
use aws_sdk_eks::types::{
    ClusterStatus, KubernetesNetworkConfigRequest, LogSetup, LogType, Logging, VpcConfigRequest,
};
use serde_json::{Value, json};

use super::props::{self, EksCluster};
use super::{Aws, base_props, dep_string, error, id_of, ids_of, lookup_props};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Failure, Lookup, Observed};
use crate::wait::{self, Poll};

pub(super) fn tags(a: &Aws, address: &str, name: &str) -> HashMap<String, String> {
    a.opts.tags(address, name).into_iter().collect()
}

pub(super) fn owned(a: &Aws, address: &str, t: Option<&HashMap<String, String>>) -> bool {
    t.is_some_and(|t| {
        a.opts
            .owns(address, t.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    })
}

fn cluster_view(c: &aws_sdk_eks::types::Cluster) -> (Value, Value) {
    let vpc = c.resources_vpc_config();
    let props = json!({
        "version": c.version(),
        "endpointPrivate": vpc.map(|v| v.endpoint_private_access()),
        "endpointPublic": vpc.map(|v| v.endpoint_public_access()),
    });
    let outputs = json!({
        "id": c.name(), "name": c.name(), "arn": c.arn(), "endpoint": c.endpoint(), "version": c.version(),
        "certificateAuthority": c.certificate_authority().and_then(|x| x.data()),
        "clusterSecurityGroup": vpc.and_then(|v| v.cluster_security_group_id()),
    });
    (props, outputs)
}

pub(super) fn merge(mut base: serde_json::Map<String, Value>, seen: Value) -> Value {
    for (k, v) in seen.as_object().into_iter().flatten() {
        if base.contains_key(k) {
            base.insert(k.clone(), v.clone());
        }
    }
    Value::Object(base)
}

pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let props = base_props(l);
    let name = lookup_props::<EksCluster>(l)?.name;
    let eks = &a.c.eks;
    let out = match eks.describe_cluster().name(&name).send().await {
        Err(e) if error::is_not_found(&e) => return Ok(None),
        r => r.map_err(|e| error::map("DescribeCluster", e))?,
    };
    let Some(c) = out
        .cluster()
        .filter(|c| owned(a, l.address.as_str(), c.tags()))
    else {
        return Ok(None);
    };
    if c.status() == Some(&ClusterStatus::Deleting) {
        return Ok(None);
    }
    let (seen, outputs) = cluster_view(c);
    let mut props = merge(props, seen);
    if c.status() != Some(&ClusterStatus::Active) {
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
    let p: EksCluster = props::of(r)?;
    let name = p.name.as_str();
    let eks = &a.c.eks;
    let role = dep_string(ctx, &p.role, "arn")?;
    let mut vpc = VpcConfigRequest::builder()
        .set_subnet_ids(Some(ids_of(ctx, &p.subnets)?))
        .endpoint_private_access(p.endpoint_private)
        .endpoint_public_access(p.endpoint_public);
    if let Some(sg) = &p.security_group {
        vpc = vpc.security_group_ids(id_of(ctx, sg)?);
    }
    if !p.public_access_cidrs.is_empty() {
        vpc = vpc.set_public_access_cidrs(Some(p.public_access_cidrs.clone()));
    }
    let types: Vec<LogType> = p
        .logging
        .iter()
        .map(|t| LogType::from(t.as_str()))
        .collect();
    let call = eks
        .create_cluster()
        .name(name)
        .role_arn(role)
        .resources_vpc_config(vpc.build())
        .logging(
            Logging::builder()
                .cluster_logging(
                    LogSetup::builder()
                        .set_types(Some(types))
                        .enabled(true)
                        .build(),
                )
                .build(),
        )
        .client_request_token(&ctx.idempotency_token)
        .set_tags(Some(tags(a, addr, name)))
        .set_version(p.version.clone())
        .kubernetes_network_config(
            KubernetesNetworkConfigRequest::builder()
                .service_ipv4_cidr(&p.service_cidr)
                .build(),
        );
    // A role made moments ago may not be usable yet; the request token
    // makes the retried create idempotent.
    let what = format!("EKS cluster {name} create");
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
                Err(e) => Err(error::map("CreateCluster", e)),
            }
        },
    )
    .await?;
    let outputs = out
        .cluster()
        .map(|c| cluster_view(c).1)
        .unwrap_or_else(|| json!({"id": name}));
    ctx.recorder.created(name, outputs).await?;
    let outputs = wait_cluster(a, name, ctx).await?;
    Ok(Observed {
        id: name.into(),
        props: r.props.clone(),
        outputs,
    })
}

async fn wait_cluster(a: &Aws, name: &str, ctx: &Context<'_>) -> Result<Value, DriverError> {
    let limit = wait::deadline(&a.opts.timeouts.cluster, Duration::from_secs(1800));
    wait::until_fitted(
        &format!("EKS cluster {name}"),
        "cluster",
        limit,
        a.opts.backoff,
        super::expected::CLUSTER,
        ctx.recorder,
        || async {
            let out =
                a.c.eks
                    .describe_cluster()
                    .name(name)
                    .send()
                    .await
                    .map_err(|e| error::map("DescribeCluster", e))?;
            let Some(c) = out.cluster() else {
                return Ok(Poll::Pending("not visible yet".into()));
            };
            match c.status() {
                Some(ClusterStatus::Active) => Ok(Poll::Ready(cluster_view(c).1)),
                Some(ClusterStatus::Failed) => Err(DriverError::permanent(format!(
                    "EKS cluster {name} failed to create"
                ))
                .with_hint(
                    "see the cluster's health in the EKS console; destroy and install again",
                )),
                s => Ok(Poll::Pending(
                    s.map_or("unknown", |s| s.as_str()).to_string(),
                )),
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
    let other: Vec<_> = crate::plan::driver::diff_props(&r.props, &o.props, &[])
        .into_iter()
        .filter(|f| !(f.field == "version" && a.opts.kubernetes_upgrade))
        .collect();
    if !other.is_empty() {
        return Err(DriverError::permanent(format!(
            "changing {} of {} in place is not supported yet",
            other.iter().map(|f| f.field.as_str()).collect::<Vec<_>>().join(", "),
            r.address
        ))
        .with_hint("revert the change, or change the cluster (version, endpoint access) in the EKS console"));
    }
    // Found before it was ready (an earlier run stopped while waiting).
    let mut outputs = wait_cluster(a, &o.id, ctx).await?;
    if let (Some(from), Some(to)) = (
        super::changes::minor(&o.props["version"]),
        super::changes::minor(&r.props["version"]),
    ) {
        // The control plane one minor at a time (EKS allows no more).
        for step in from + 1..=to {
            let version = format!("1.{step}");
            ctx.recorder.progress(&format!(
                "upgrading the control plane to Kubernetes {version}"
            ));
            let out =
                a.c.eks
                    .update_cluster_version()
                    .name(&o.id)
                    .version(&version)
                    .client_request_token(format!("{}-{version}", ctx.idempotency_token))
                    .send()
                    .await
                    .map_err(|e| error::map("UpdateClusterVersion", e))?;
            let id = out.update().and_then(|u| u.id()).unwrap_or_default();
            wait_update(a, &o.id, None, id, &format!("Kubernetes {version}"), ctx).await?;
            outputs = wait_cluster(a, &o.id, ctx).await?;
        }
    }
    Ok(Observed {
        id: o.id.clone(),
        props: r.props.clone(),
        outputs,
    })
}

/// Waits for an EKS update (of the cluster, or of a node group) to `target`
/// ("Kubernetes 1.34", a launch template version) to succeed, until
/// `timeouts.cluster` (`timeouts.nodeGroup` for a node group).
pub(super) async fn wait_update(
    a: &Aws,
    cluster: &str,
    nodegroup: Option<&str>,
    id: &str,
    target: &str,
    ctx: &Context<'_>,
) -> Result<(), DriverError> {
    use aws_sdk_eks::types::UpdateStatus;
    let (key, text) = match nodegroup {
        None => ("cluster", &a.opts.timeouts.cluster),
        Some(_) => ("nodeGroup", &a.opts.timeouts.node_group),
    };
    let limit = wait::deadline(text, Duration::from_secs(3600));
    let what = match nodegroup {
        None => format!("EKS cluster {cluster} to {target}"),
        Some(g) => format!("node group {g} to {target}"),
    };
    wait::until(&what, key, limit, a.opts.backoff, ctx.recorder, || async {
        let out =
            a.c.eks
                .describe_update()
                .name(cluster)
                .set_nodegroup_name(nodegroup.map(String::from))
                .update_id(id)
                .send()
                .await
                .map_err(|e| error::map("DescribeUpdate", e))?;
        let Some(u) = out.update() else {
            return Ok(Poll::Pending("not visible yet".into()));
        };
        match u.status() {
            Some(UpdateStatus::Successful) => Ok(Poll::Ready(())),
            Some(s @ (UpdateStatus::Failed | UpdateStatus::Cancelled)) => {
                let errors: Vec<String> = u
                    .errors()
                    .iter()
                    .filter_map(|e| e.error_message().map(String::from))
                    .collect();
                Err(DriverError::permanent(format!(
                    "the upgrade of {what} is {}: {}",
                    s.as_str(),
                    if errors.is_empty() {
                        "EKS gave no reason".into()
                    } else {
                        errors.join("; ")
                    }
                ))
                .with_hint(
                    "see the update in the EKS console; it keeps running what it ran before",
                ))
            }
            s => Ok(Poll::Pending(
                s.map_or("unknown", |s| s.as_str()).to_string(),
            )),
        }
    })
    .await
}

/// The security group rule admitting the EKS cluster security group (the
/// one managed nodes carry) to PostgreSQL in the database's group.
fn database_rule(ctx: &Context<'_>, group: &str, source: &str) -> Option<(String, IpPermission)> {
    let db = id_of(ctx, group).ok()?;
    let pair = UserIdGroupPair::builder().group_id(source).build();
    let perm = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(5432)
        .to_port(5432)
        .user_id_group_pairs(pair)
        .build();
    Some((db, perm))
}

/// Drops the rule an installation made before the rule became a resource of
/// its own (`aws.database_access`; its state records the database's group
/// with the cluster), so EKS can delete its cluster security group.
async fn revoke_database(a: &Aws, o: &Observed, ctx: &Context<'_>) -> Result<(), DriverError> {
    let Some(source) = o.outputs["clusterSecurityGroup"].as_str() else {
        return Ok(());
    };
    let Some(group) = o.props.get("databaseSecurityGroup").and_then(Value::as_str) else {
        return Ok(());
    };
    let Some((db, perm)) = database_rule(ctx, group, source) else {
        return Ok(());
    };
    let res =
        a.c.ec2
            .revoke_security_group_ingress()
            .group_id(&db)
            .ip_permissions(perm)
            .send()
            .await;
    error::undone("RevokeSecurityGroupIngress", res)
}

pub async fn delete(a: &Aws, o: &Observed, ctx: &Context<'_>) -> Result<(), DriverError> {
    let eks = &a.c.eks;
    revoke_database(a, o, ctx).await?;
    match eks.delete_cluster().name(&o.id).send().await {
        Err(e) if error::is_not_found(&e) => return Ok(()),
        Err(e) if error::is_dependency_violation(&e) => {
            let groups = eks
                .list_nodegroups()
                .cluster_name(&o.id)
                .send()
                .await
                .map(|g| g.nodegroups().join(", "))
                .unwrap_or_default();
            return Err(DriverError::new(Failure::Blocked, format!("EKS cluster {} still has node groups: {groups}", o.id))
                .with_hint("delete those node groups (EKS console or `aws eks delete-nodegroup`), then rerun `liftoff destroy`"));
        }
        r => {
            r.map_err(|e| error::map("DeleteCluster", e))?;
        }
    }
    let limit = wait::deadline(&a.opts.timeouts.cluster, Duration::from_secs(1800));
    wait::until_fitted(
        &format!("EKS cluster {} deletion", o.id),
        "cluster",
        limit,
        a.opts.backoff,
        super::expected::CLUSTER_DELETE,
        ctx.recorder,
        || async {
            match eks.describe_cluster().name(&o.id).send().await {
                Err(e) if error::is_not_found(&e) => Ok(Poll::Ready(())),
                Err(e) => Err(error::map("DescribeCluster", e)),
                Ok(out) => Ok(Poll::Pending(
                    out.cluster()
                        .and_then(|c| c.status())
                        .map_or("deleting", |s| s.as_str())
                        .to_string(),
                )),
            }
        },
    )
    .await
}

/// What the cluster phase needs to talk to the API server: the endpoint, the
/// CA certificate (PEM) and a short-lived bearer token.
pub async fn eks_access(
    sdk: &aws_config::SdkConfig,
    cluster: &str,
) -> Result<(String, Option<String>, crate::secret::Redacted<String>), DriverError> {
    use base64::Engine;
    let eks = aws_sdk_eks::Client::new(sdk);
    let out = eks
        .describe_cluster()
        .name(cluster)
        .send()
        .await
        .map_err(|e| error::map("DescribeCluster", e))?;
    let c = out
        .cluster()
        .ok_or_else(|| DriverError::permanent(format!("EKS cluster {cluster} not found")))?;
    let endpoint = c
        .endpoint()
        .ok_or_else(|| {
            DriverError::permanent(format!(
                "EKS reported cluster {cluster} without an endpoint"
            ))
        })?
        .to_string();
    let pem = match c.certificate_authority().and_then(|x| x.data()) {
        None | Some("") => None,
        Some(data) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    DriverError::permanent(format!(
                        "the CA certificate EKS reported for cluster {cluster} is not base64 PEM"
                    ))
                })?,
        ),
    };
    let token = super::token::token(sdk, cluster).await?;
    Ok((endpoint, pem, token))
}
