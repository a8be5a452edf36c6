//! EC2 launch templates of the node groups: the instance type and root
//! volume the nodes start with. Created with the ownership and attempt tags
//! and a client token, found again by tags; a change of instance type or
//! disk is a new version of the template (in place), which the node group
//! then moves to ([`super::nodegroup`]); deleted after its node group.

use aws_sdk_ec2::types::{
    LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    RequestLaunchTemplateData, ResourceType, VolumeType,
};
use serde_json::{Value, json};

use super::network::tag_filters;
use super::props::{self, LaunchTemplate};
use super::{Aws, base_props, duplicate, error, pick_copies, required, tag_spec};
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Found, Lookup, Observed};

/// The root volume of the EKS AMIs (Amazon Linux and Bottlerocket's OS disk).
pub const ROOT_DEVICE: &str = "/dev/xvda";

/// What a template version holds: its instance type and the size of its
/// root volume, as the props name them.
pub fn contents(data: Option<&aws_sdk_ec2::types::ResponseLaunchTemplateData>) -> (Value, Value) {
    let instance_type = data
        .and_then(|d| d.instance_type())
        .map(|t| t.as_str().to_string());
    let disk = data.and_then(|d| {
        d.block_device_mappings()
            .iter()
            .find(|m| m.device_name() == Some(ROOT_DEVICE))
            .and_then(|m| m.ebs())
            .and_then(|e| e.volume_size())
    });
    (json!(instance_type), json!(disk))
}

/// The data of a template version made from `p`.
fn data(p: &LaunchTemplate) -> RequestLaunchTemplateData {
    let root = LaunchTemplateBlockDeviceMappingRequest::builder()
        .device_name(ROOT_DEVICE)
        .ebs(
            LaunchTemplateEbsBlockDeviceRequest::builder()
                .volume_size(i32::try_from(p.disk_gb).unwrap_or(i32::MAX))
                .volume_type(VolumeType::Gp3)
                .encrypted(true)
                .delete_on_termination(true)
                .build(),
        )
        .build();
    RequestLaunchTemplateData::builder()
        .set_instance_type(p.instance_type.as_deref().map(Into::into))
        .block_device_mappings(root)
        .build()
}

/// The template's outputs: its id, name and latest version (the one the
/// node group is to use).
fn outputs(id: &str, name: &str, version: i64) -> Value {
    json!({"id": id, "name": name, "version": version.to_string()})
}

pub async fn read(a: &Aws, l: &Lookup<'_>) -> Result<Found, DriverError> {
    let ec2 = &a.c.ec2;
    let out = ec2
        .describe_launch_templates()
        .set_filters(Some(tag_filters(a, l.address.as_str())))
        .send()
        .await
        .map_err(|e| error::map("DescribeLaunchTemplates", e))?;
    let Some((t, extra)) = pick_copies(
        a,
        l,
        out.launch_templates(),
        |t| t.tags(),
        |t| t.launch_template_id(),
    ) else {
        return Ok(Found::default());
    };
    let id = required("a launch template", t.launch_template_id())?;
    let latest = ec2
        .describe_launch_template_versions()
        .launch_template_id(id)
        .versions("$Latest")
        .send()
        .await
        .map_err(|e| error::map("DescribeLaunchTemplateVersions", e))?;
    let version = latest.launch_template_versions().first();
    let (instance_type, disk) = contents(version.and_then(|v| v.launch_template_data()));
    let mut props = base_props(l);
    props.insert("name".into(), json!(t.launch_template_name()));
    props.insert("instanceType".into(), instance_type);
    props.insert("diskGb".into(), disk);
    let number = version
        .and_then(|v| v.version_number())
        .or(t.latest_version_number())
        .unwrap_or(1);
    Ok(Found {
        kept: Some(Observed {
            id: id.to_string(),
            props: Value::Object(props),
            outputs: outputs(id, t.launch_template_name().unwrap_or_default(), number),
        }),
        duplicates: extra
            .iter()
            .filter_map(|t| t.launch_template_id())
            .map(duplicate)
            .collect(),
    })
}

pub async fn create(a: &Aws, r: &Resource, ctx: &Context<'_>) -> Result<Observed, DriverError> {
    let p: LaunchTemplate = props::of(r)?;
    let tags = a
        .opts
        .create_tags(r.address.as_str(), &p.name, &ctx.idempotency_token);
    let out =
        a.c.ec2
            .create_launch_template()
            .launch_template_name(&p.name)
            .launch_template_data(data(&p))
            .tag_specifications(tag_spec(ResourceType::LaunchTemplate, &tags))
            .client_token(&ctx.idempotency_token)
            .send()
            .await
            .map_err(|e| {
                let taken = error::code_of(&e).as_deref()
                    == Some("InvalidLaunchTemplateName.AlreadyExistsException");
                let mapped = error::map("CreateLaunchTemplate", e);
                if taken {
                    mapped.with_hint(format!(
                        "a launch template named {} exists without this installation's tags; delete or rename it",
                        p.name
                    ))
                } else {
                    mapped
                }
            })?;
    let t = out.launch_template();
    let id = required(
        "CreateLaunchTemplate",
        t.and_then(|t| t.launch_template_id()),
    )?;
    let version = t.and_then(|t| t.latest_version_number()).unwrap_or(1);
    let outputs = outputs(id, &p.name, version);
    ctx.recorder.created(id, outputs.clone()).await?;
    Ok(Observed {
        id: id.to_string(),
        props: r.props.clone(),
        outputs,
    })
}

/// A new version with the desired instance type and disk: the node group
/// moves to it in its own update, which depends on this one.
pub async fn update(
    a: &Aws,
    r: &Resource,
    o: &Observed,
    ctx: &Context<'_>,
) -> Result<Observed, DriverError> {
    let p: LaunchTemplate = props::of(r)?;
    let out =
        a.c.ec2
            .create_launch_template_version()
            .launch_template_id(&o.id)
            .launch_template_data(data(&p))
            .client_token(&ctx.idempotency_token)
            .send()
            .await
            .map_err(|e| error::map("CreateLaunchTemplateVersion", e))?;
    let version = out
        .launch_template_version()
        .and_then(|v| v.version_number())
        .ok_or_else(|| {
            DriverError::permanent("AWS returned no version for CreateLaunchTemplateVersion")
        })?;
    ctx.recorder
        .progress(&format!("launch template {} version {version}", p.name));
    Ok(Observed {
        id: o.id.clone(),
        props: r.props.clone(),
        outputs: outputs(&o.id, &p.name, version),
    })
}

pub async fn delete(a: &Aws, o: &Observed) -> Result<(), DriverError> {
    let r =
        a.c.ec2
            .delete_launch_template()
            .launch_template_id(&o.id)
            .send()
            .await;
    match error::deleted("DeleteLaunchTemplate", r) {
        error::Deleted::Done => Ok(()),
        error::Deleted::Blocked => Err(DriverError::permanent(format!(
            "launch template {} is still in use",
            o.id
        ))
        .with_hint("delete the node group that uses it first, then rerun")),
        error::Deleted::Failed(e) => Err(e),
    }
}
