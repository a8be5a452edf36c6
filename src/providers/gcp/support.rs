//! Small helpers the GCP resource modules share: what a read starts from,
//! names behind dependency addresses, and the observed result.

use serde_json::{Map, Value};

use super::kind::PREFIX;
use crate::plan::driver::{Context, DriverError, Lookup, Observed};

/// The props a read looks for, as `T`: the desired ones, else the recorded.
pub fn lookup_props<T: serde::de::DeserializeOwned>(l: &Lookup<'_>) -> Result<T, DriverError> {
    let props = l.props.or(l.recorded.map(|e| &e.props)).ok_or_else(|| {
        DriverError::permanent(format!("{}: neither wanted nor recorded", l.address))
    })?;
    super::props::from_value(l.address.as_str(), props)
}

/// The desired (or recorded) props as an object: fields GCP reports are
/// overwritten with what it says; addresses of other resources carry over.
pub fn base_props(l: &Lookup<'_>) -> Map<String, Value> {
    l.props
        .or(l.recorded.map(|e| &e.props))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The name behind `value`: a dependency's `name` output when it is one of
/// our addresses, else the value itself (an existing resource's name).
pub fn name_of(ctx: &Context<'_>, value: &str) -> Result<String, DriverError> {
    if !value.starts_with(PREFIX) {
        return Ok(value.to_string());
    }
    ctx.dep_output(value, "name")?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| DriverError::permanent(format!("{value} has no name")))
}

/// The name behind `value` as far as a read can know it: the address's
/// resource name is its props' `name` when wanted, so reads take the value
/// recorded in outputs elsewhere; here only raw names are resolved.
pub fn observed(id: String, props: Map<String, Value>, outputs: Value) -> Observed {
    Observed {
        id,
        props: Value::Object(props),
        outputs,
    }
}

/// `projects/<project>/global/networks/<name>`.
pub fn network_path(project: &str, name: &str) -> String {
    format!("projects/{project}/global/networks/{name}")
}

/// The last segment of a self link or path.
pub fn last_segment(link: &str) -> &str {
    link.rsplit('/').next().unwrap_or(link)
}
