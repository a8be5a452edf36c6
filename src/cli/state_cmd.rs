//! `liftoff state show | pull | push | migrate | unlock`: the stored state
//! itself (the work is `crate::state::admin`'s; this prints it).

use std::path::Path;

use serde_json::json;

use super::report::print_json;
use super::session::{load, settings, warn};
use super::{Cli, Output, StateAction};
use crate::error::Error;
use crate::state::admin;

pub(super) fn run(cli: &Cli, action: &StateAction) -> Result<(), Error> {
    let loaded = load(cli)?;
    let name = loaded.spec.metadata.name.clone();
    let settings = settings(cli, &loaded)?;
    match action {
        StateAction::Show => {
            let (url, state) = crate::state::read(&settings.location, &name)?;
            let lock = admin::lock_info(&settings.location, &name)?;
            match cli.output {
                Output::Json => print_json(&json!({
                    "location": url,
                    "lock": lock,
                    "serial": state.serial,
                    "format": state.format,
                    "digest": admin::digest(&state),
                    "resources": state.resources.len(),
                })),
                Output::Text => {
                    outln!("state:     {url}");
                    outln!("serial:    {}", state.serial);
                    outln!("resources: {}", state.resources.len());
                    outln!("digest:    {}", admin::digest(&state));
                    match lock {
                        None => outln!("lock:      free"),
                        Some(l) => outln!(
                            "lock:      held by {} since {}{}",
                            l.holder.as_deref().unwrap_or("an unknown run"),
                            l.since.as_deref().unwrap_or("?"),
                            match (&l.lease_left, l.expired) {
                                (_, true) =>
                                    ", lease expired (the next run takes it over)".to_string(),
                                (Some(left), false) => format!(", lease left {left}"),
                                (None, false) => String::new(),
                            }
                        ),
                    }
                }
            }
        }
        StateAction::Pull { out } => {
            let (url, bytes) = admin::pull(&settings.location, &name)?;
            let bytes = bytes.ok_or_else(|| {
                Error::Input(
                    format!("no state of `{name}` at {url}"),
                    Some("check `--state` / the spec's `state:`".into()),
                )
            })?;
            match out {
                Some(path) => {
                    write_private(path, &bytes)?;
                    eprintln!("Wrote the state from {url} to {}.", path.display());
                }
                None => out!("{}", String::from_utf8_lossy(&bytes)),
            }
        }
        StateAction::Push {
            document: file,
            force,
        } => {
            let bytes = std::fs::read(file).map_err(|source| Error::Io {
                what: format!("cannot read {}", file.display()),
                source,
            })?;
            let (serial, warnings) = admin::push(&settings, &name, &bytes, *force)?;
            warn(cli, &warnings);
            report(
                cli,
                json!({"pushed": file, "to": settings.location.display(), "serial": serial}),
                || {
                    format!(
                        "Pushed {} to {} (serial {serial}).",
                        file.display(),
                        settings.location.display()
                    )
                },
            );
        }
        StateAction::Migrate { to } => {
            let to = crate::state::Location::parse(to, Path::new(""))?;
            let done = admin::migrate(&settings, &name, to)?;
            warn(cli, &done.warnings);
            let text = format!(
                "Moved the state of `{name}` ({} resources, digest {}) and {} secret file(s) from {} to {}; verified, and removed from {}.\nUse it from now on with `--state {}` or the spec's `state:`.",
                done.resources,
                &done.digest[..12],
                done.secrets.len(),
                done.from,
                done.to,
                done.from,
                done.to
            );
            report(
                cli,
                serde_json::to_value(&done).expect("serializes"),
                || text,
            );
        }
        StateAction::Unlock { force } => {
            let holder = admin::unlock(&settings.location, &name, *force)?;
            report(
                cli,
                json!({"unlocked": settings.location.display(), "holder": holder}),
                || format!("Removed the lock of {holder}."),
            );
        }
    }
    Ok(())
}

fn report(cli: &Cli, doc: serde_json::Value, text: impl FnOnce() -> String) {
    match cli.output {
        Output::Json => print_json(&doc),
        Output::Text => eprintln!("{}", text()),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    crate::files::write_atomic(path, bytes).map_err(|source| Error::Io {
        what: format!("cannot write {}", path.display()),
        source,
    })
}
