//! The database's access from the cluster: one ingress rule in the
//! database's security group admitting the EKS cluster security group (the
//! group EKS makes with the cluster, which managed nodes carry) on the
//! PostgreSQL port. A resource of its own, after the cluster and the
//! database's group, so the cluster's create does not wait for the
//! database's group and the rule is revoked before the cluster is deleted
//! (EKS cannot delete its group while another group's rule names it).
//!
//! Its id is `DATABASE_GROUP_ID/CLUSTER_GROUP_ID`; `-` stands for a cluster
//! group EKS did not report (an emulator), for which nothing is made.

use aws_sdk_ec2::types::{IpPermission, SecurityGroup, UserIdGroupPair};
use serde_json::{Value, json};

use super::props::{self, DatabaseAccess};
use super::{Aws, base_props, error, id_of, lookup_props, recorded_id};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Lookup, Observed};

/// Stands for "no cluster security group" in an id.
const NONE: &str = "-";

fn rule(port: u16, source: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(i32::from(port))
        .to_port(i32::from(port))
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(source).build())
        .build()
}

/// The groups that admit `source` on `port` in `group`.
fn admits(group: &SecurityGroup, port: u16, source: &str) -> bool {
    sources(group, port).any(|s| s == source)
}

/// Every group `group` admits on `port`.
fn sources(group: &SecurityGroup, port: u16) -> impl Iterator<Item = &str> {
    group
        .ip_permissions()
        .iter()
        .filter(move |p| {
            p.from_port() == Some(i32::from(port)) && p.to_port() == Some(i32::from(port))
        })
        .flat_map(|p| p.user_id_group_pairs())
        .filter_map(|pair| pair.group_id())
}

fn observed(l: &Lookup<'_>, group: &str, source: &str) -> Observed {
    Observed {
        id: format!("{group}/{source}"),
        props: Value::Object(base_props(l)),
        outputs: json!({"group": group, "source": source}),
    }
}

/// Finds the rule in the database's group (from the shared describe of the
/// installation's security groups): the recorded one when the state has
/// it, else the one admitting a group that is not the installation's own
/// (the cluster's, made by EKS).
pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Option<Observed>, DriverError> {
    let p: DatabaseAccess = lookup_props(l)?;
    let groups = a.reads.security_groups(a).await?;
    let by_address = |address: &str| {
        groups
            .iter()
            .find(|g| a.opts.owns(address, super::ec2_pairs(g.tags())))
    };
    if let Some((group, source)) = recorded_id(l).and_then(|id| id.split_once('/')) {
        let Some(found) = groups.iter().find(|g| g.group_id() == Some(group)) else {
            return Ok(None);
        };
        return Ok(
            (source == NONE || admits(found, p.port, source)).then(|| observed(l, group, source))
        );
    }
    let Some(found) = by_address(&p.group) else {
        return Ok(None);
    };
    let group = found.group_id().unwrap_or_default();
    let ours: Vec<&str> = groups.iter().filter_map(|g| g.group_id()).collect();
    if let Some(source) = sources(found, p.port).find(|s| !ours.contains(s)) {
        return Ok(Some(observed(l, group, source)));
    }
    // Not recorded and not found (a state from before this was a resource
    // of its own, or a create cut off): the cluster says which group is to
    // be admitted, or that it has none.
    let name = super::names::cluster(l.installation);
    let cluster = match a.c.eks.describe_cluster().name(&name).send().await {
        Err(e) if error::is_not_found(&e) => return Ok(None),
        r => r.map_err(|e| error::map("DescribeCluster", e))?,
    };
    let source = cluster
        .cluster()
        .and_then(|c| c.resources_vpc_config())
        .and_then(|v| v.cluster_security_group_id());
    Ok(match source {
        None if cluster.cluster().is_some() => Some(observed(l, group, NONE)),
        _ => None,
    })
}

pub async fn create(a: &Aws, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let p: DatabaseAccess = props::of(r)?;
    let group = id_of(ctx, &p.group)?;
    let Some(source) = ctx
        .dep_output(&p.cluster, "clusterSecurityGroup")
        .ok()
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        ctx.recorder.progress(
            "EKS reported no cluster security group: the database admits aws.security_group.nodes only",
        );
        return Ok(Observed {
            id: format!("{group}/{NONE}"),
            props: r.props.clone(),
            outputs: json!({"group": group, "source": Value::Null}),
        });
    };
    let res =
        a.c.ec2
            .authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(rule(p.port, &source))
            .send()
            .await;
    match res {
        // Already there: a re-run after an interrupted create.
        Err(e) if error::code_of(&e).as_deref() != Some("InvalidPermission.Duplicate") => {
            return Err(error::map("AuthorizeSecurityGroupIngress", e));
        }
        _ => {}
    }
    Ok(Observed {
        id: format!("{group}/{source}"),
        props: r.props.clone(),
        outputs: json!({"group": group, "source": source}),
    })
}

pub async fn delete(a: &Aws, o: &Observed) -> Result<(), DriverError> {
    let Some((group, source)) = o.id.split_once('/') else {
        return Ok(());
    };
    if source == NONE {
        return Ok(());
    }
    let port = o
        .props
        .get("port")
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(5432);
    let res =
        a.c.ec2
            .revoke_security_group_ingress()
            .group_id(group)
            .ip_permissions(rule(port, source))
            .send()
            .await;
    error::undone("RevokeSecurityGroupIngress", res)
}
