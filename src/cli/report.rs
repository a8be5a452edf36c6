//! Printing results: JSON lines, the outputs after install and in
//! `status`, and errors as JSON.

use serde_json::json;

use super::session::Session;
use super::{Cli, Output};
use crate::error::Error;
use crate::plan;
use crate::spec::SpecError;

/// One JSON document per line: `--output json` is a stream of JSON lines.
pub(super) fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string(v).expect("serializable"));
}

pub(super) fn report_done(cli: &Cli, session: &Session, what: &str) {
    let state = session.store.snapshot();
    let outputs = cloud_outputs(&state);
    match cli.output {
        Output::Text => {
            println!(
                "\n`{}` {what}. State: {}",
                session.name(),
                session.store.path().display()
            );
            print_outputs_text(&outputs);
        }
        Output::Json => println!(
            "{}",
            json!({"event": "result", "status": what, "resources": state.resources.len(), "outputs": outputs})
        ),
    }
}

/// The cloud phase's outputs (NAT IPs, ids, endpoints, secret locations).
pub(super) fn cloud_outputs(state: &plan::state::State) -> serde_json::Value {
    #[cfg(feature = "aws")]
    if let Some(v) = crate::providers::aws::outputs::summary(state) {
        return json!({"aws": v});
    }
    let _ = state;
    json!({})
}

pub(super) fn print_outputs_text(outputs: &serde_json::Value) {
    #[cfg(feature = "aws")]
    if let Some(v) = outputs.get("aws") {
        print!("{}", crate::providers::aws::outputs::text(v));
    }
    let _ = outputs;
}

/// The error as one JSON object (for `--output json`).
pub fn error_json(e: &Error) -> String {
    let causes = crate::error::causes(e);
    let diagnostics = match e {
        Error::Spec(SpecError::Invalid(d)) => json!(d.0),
        _ => json!([]),
    };
    json!({"event": "error", "error": e.to_string(), "causes": causes, "hint": e.hint(), "exitCode": e.exit_code(), "diagnostics": diagnostics}).to_string()
}
