//! Printing results: JSON lines, the outputs after install and in
//! `status`, and errors as JSON.

use serde_json::json;

use super::session::Session;
use super::{Cli, Output};
use crate::error::Error;
use crate::plan;
use crate::spec::{Spec, SpecError};

/// One JSON document per line: `--output json` is a stream of JSON lines.
pub(super) fn print_json(v: &impl serde::Serialize) {
    outln!("{}", serde_json::to_string(v).expect("serializable"));
}

pub(super) fn report_done(cli: &Cli, session: &Session, what: &str) {
    let state = session.store.snapshot();
    let outputs = cloud_outputs(&session.loaded.spec, &state);
    match cli.output {
        Output::Text => {
            outln!(
                "\n`{}` {what}. State: {}",
                session.name(),
                session.store.location()
            );
            print_outputs_text(&session.loaded.spec, &outputs);
        }
        Output::Json => outln!(
            "{}",
            json!({"event": "result", "status": what, "resources": state.resources.len(), "outputs": outputs})
        ),
    }
}

/// The cloud phase's outputs (NAT IPs, ids, endpoints, secret locations),
/// under the cloud's key.
pub(super) fn cloud_outputs(spec: &Spec, state: &plan::state::State) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    if let Some(cloud) = crate::compose::cloud(spec)
        && let Some(v) = cloud.outputs(state)
    {
        out.insert(cloud.key().into(), v);
    }
    serde_json::Value::Object(out)
}

pub(super) fn print_outputs_text(spec: &Spec, outputs: &serde_json::Value) {
    if let Some(cloud) = crate::compose::cloud(spec)
        && let Some(v) = outputs.get(cloud.key())
    {
        out!("{}", cloud.outputs_text(v));
    }
}

/// The error as one JSON object (for `--output json`).
pub fn error_json(e: &Error) -> String {
    let causes = crate::chain::causes(e);
    let diagnostics = match e {
        Error::Spec(SpecError::Invalid(d)) => json!(d.0),
        _ => json!([]),
    };
    json!({"event": "error", "error": e.to_string(), "causes": causes, "hint": e.hint(), "exitCode": e.exit_code(), "diagnostics": diagnostics}).to_string()
}
