//! Small helpers the resource modules share: EC2 tag specifications,
//! recording a create before converging, picking the owned object among
//! those found, and reading props and dependency ids.

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use serde_json::{Map, Value};

use super::driver::Aws;
use crate::plan::Resource;
use crate::plan::driver::{Context, DriverError, Lookup, Observed};

/// EC2 tags for a create, as a TagSpecification of `rt`.
pub fn tag_spec(rt: ResourceType, tags: &[(String, String)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// Records a just-created object (before anything else can go wrong), then
/// brings in line what the create call could not set, and reports it with
/// the desired props.
pub async fn record_then_converge(
    r: &Resource,
    ctx: &Context<'_>,
    id: String,
    outputs: Value,
    converge: impl AsyncFnOnce(&Observed) -> Result<(), DriverError>,
) -> Result<Observed, DriverError> {
    ctx.recorder.created(&id, outputs.clone()).await?;
    let o = Observed {
        id,
        props: Value::Null,
        outputs,
    };
    converged(r, &o, converge).await
}

/// Brings an existing object in line and reports it with the desired props.
pub async fn converged(
    r: &Resource,
    o: &Observed,
    converge: impl AsyncFnOnce(&Observed) -> Result<(), DriverError>,
) -> Result<Observed, DriverError> {
    converge(o).await?;
    Ok(Observed {
        props: r.props.clone(),
        ..o.clone()
    })
}

/// Of the EC2 objects that carry `l`'s ownership tags, the copy to keep and
/// every other copy. A create without an idempotency token that AWS applied
/// and then answered with an error is retried and leaves two; a crash right
/// after the create can too. Kept: the one the state recorded, else the one
/// tagged with the recorded attempt's token, else the lowest id (the same
/// choice on every run).
pub fn pick_copies<'t, T>(
    a: &Aws,
    l: &Lookup<'_>,
    items: &'t [T],
    tags: impl Fn(&T) -> &[Tag],
    id: impl Fn(&T) -> Option<&str>,
) -> Option<(&'t T, Vec<&'t T>)> {
    let mut owned: Vec<&T> = items
        .iter()
        .filter(|x| a.opts.owns(l.address.as_str(), ec2_pairs(tags(x))))
        .collect();
    owned.sort_by(|x, y| id(x).cmp(&id(y)));
    owned.dedup_by(|x, y| id(x) == id(y));
    let recorded = recorded_id(l);
    let attempt = l
        .recorded
        .map(|e| e.token.as_str())
        .filter(|t| !t.is_empty());
    let keep = owned
        .iter()
        .position(|x| recorded.is_some() && id(x) == recorded)
        .or_else(|| {
            owned.iter().position(|x| {
                attempt.is_some_and(|t| {
                    ec2_pairs(tags(x)).any(|(k, v)| k == super::TAG_ATTEMPT && v == t)
                })
            })
        })
        .unwrap_or(0);
    if owned.is_empty() {
        return None;
    }
    let kept = owned.remove(keep);
    Some((kept, owned))
}

/// An extra copy as the plan deletes it: its id, nothing else.
pub fn duplicate(id: &str) -> Observed {
    Observed {
        id: id.to_string(),
        props: Value::Null,
        outputs: serde_json::json!({ "id": id }),
    }
}

pub fn ec2_pairs(tags: &[Tag]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
}

/// The `id` output of a dependency, or the value itself when it is already
/// an AWS id (existing networks pass subnet ids directly).
pub fn id_of(ctx: &Context<'_>, value: &str) -> Result<String, DriverError> {
    if !value.starts_with(super::kind::PREFIX) {
        return Ok(value.to_string());
    }
    ctx.dep_output(value, "id")?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| DriverError::permanent(format!("{value} has no id")))
}

/// The ids behind a list of addresses (or raw ids).
pub fn ids_of(ctx: &Context<'_>, values: &[String]) -> Result<Vec<String>, DriverError> {
    values.iter().map(|v| id_of(ctx, v)).collect()
}

/// A string output of a dependency (an ARN, a name).
pub fn dep_string(ctx: &Context<'_>, address: &str, key: &str) -> Result<String, DriverError> {
    ctx.dep_output(address, key)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| DriverError::permanent(format!("{address} has no `{key}`")))
}

/// The props a read looks for, as `T`: the desired ones, else the recorded.
pub fn lookup_props<T: serde::de::DeserializeOwned>(l: &Lookup<'_>) -> Result<T, DriverError> {
    let props = l.props.or(l.recorded.map(|e| &e.props)).ok_or_else(|| {
        DriverError::permanent(format!("{}: neither wanted nor recorded", l.address))
    })?;
    super::props::from_value(l.address.as_str(), props)
}

/// An id AWS must return: its absence is an error, not an empty id.
pub fn required<'a>(what: &str, id: Option<&'a str>) -> Result<&'a str, DriverError> {
    id.filter(|i| !i.is_empty())
        .ok_or_else(|| DriverError::permanent(format!("AWS returned no id for {what}")))
}

/// What a read starts from: the desired props (or the recorded ones) as an
/// object. Fields that name other resources by address cannot be observed
/// back as addresses and are carried over; every field AWS reports is
/// overwritten with what AWS says.
pub fn base_props(l: &Lookup<'_>) -> Map<String, Value> {
    l.props
        .or(l.recorded.map(|e| &e.props))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The recorded id, when there is one.
pub fn recorded_id<'a>(l: &'a Lookup<'_>) -> Option<&'a str> {
    l.recorded.and_then(|e| e.id.as_deref())
}
