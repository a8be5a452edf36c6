//! One function per command.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::progress;
use super::{Cli, Command, Output};
use crate::error::Error;
use crate::plan::apply::{Engine, Fault, Options};
use crate::plan::driver::Drivers;
use crate::plan::state::Store;
use crate::plan::{self, Plan, Purpose, Resource, compute, display};
use crate::spec::{self, Loaded, SpecError};

pub async fn run(cli: &Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Init {
            profile,
            name,
            force,
        } => init(cli, profile, name, *force),
        Command::Validate => validate(cli),
        Command::Plan { out, parallelism } => plan_cmd(cli, out.as_deref(), *parallelism).await,
        Command::Install {
            plan,
            parallelism,
            tag_subnets,
        } => install(cli, plan.as_deref(), *parallelism, *tag_subnets).await,
        Command::Destroy {
            yes,
            parallelism,
            skip_final_snapshot,
        } => destroy(cli, *yes, *parallelism, *skip_final_snapshot).await,
        Command::Status => status(cli),
        Command::Render { resolved: _ } => render_resolved(cli),
    }
}

/// Everything a command that plans needs: the spec, its drivers, the locked
/// state and the desired resources.
struct Session {
    loaded: Loaded,
    drivers: Drivers,
    store: Store,
    desired: Vec<Resource>,
}

impl Session {
    fn name(&self) -> &str {
        &self.loaded.spec.metadata.name
    }

    async fn observe(&self, parallelism: usize, cli: &Cli) -> Result<compute::Observations, Error> {
        let events = progress::for_output(cli.output, "Reading what exists");
        let state = self.store.snapshot();
        Ok(compute::observe(
            self.name(),
            &self.desired,
            &state,
            &self.drivers,
            parallelism,
            events.as_ref(),
        )
        .await?)
    }

    async fn plan_install(&self, parallelism: usize, cli: &Cli) -> Result<Plan, Error> {
        let observed = self.observe(parallelism, cli).await?;
        let state = self.store.snapshot();
        Ok(compute::plan_install(
            self.name(),
            &self.loaded.digest,
            &self.desired,
            &state,
            &observed,
            &self.drivers,
        )?)
    }

    async fn apply(&self, plan: &Plan, parallelism: usize, cli: &Cli) -> Result<(), Error> {
        let events = progress::for_output(cli.output, "Applying");
        let engine = Engine {
            installation: self.name(),
            drivers: &self.drivers,
            store: &self.store,
            events: events.as_ref(),
            options: Options {
                parallelism,
                fault: Fault::from_env(),
            },
        };
        let summary = tokio::select! {
            r = engine.apply(plan) => r?,
            _ = tokio::signal::ctrl_c() => return Err(Error::Interrupted),
        };
        drop(events);
        if summary.failed > 0 {
            return Err(Error::ApplyFailed {
                failed: summary.failed,
                skipped: summary.skipped,
            });
        }
        Ok(())
    }
}

fn load(cli: &Cli) -> Result<Loaded, Error> {
    let loaded = spec::load(&cli.file)?;
    if cli.output == Output::Text {
        for w in &loaded.warnings {
            eprintln!("{w}");
        }
    }
    Ok(loaded)
}

fn open(cli: &Cli, skip_final_snapshot: bool) -> Result<Session, Error> {
    let loaded = load(cli)?;
    let dir = state_dir(cli, &loaded);
    let store = Store::open(&dir, &loaded.spec.metadata.name)?;
    let setup = crate::providers::Setup {
        state_dir: dir,
        skip_final_snapshot,
    };
    let drivers = crate::providers::drivers(&loaded.spec, &setup);
    let desired = plan::graph::desired(&loaded.spec);
    Ok(Session {
        loaded,
        drivers,
        store,
        desired,
    })
}

fn state_dir(cli: &Cli, loaded: &Loaded) -> PathBuf {
    cli.state_dir
        .clone()
        .unwrap_or_else(|| loaded.base_dir.join(".liftoff"))
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("serializable"));
}

fn init(cli: &Cli, profile: &str, name: &str, force: bool) -> Result<(), Error> {
    let text = super::init::starter(profile, name).ok_or_else(|| {
        Error::Input(
            format!("unknown profile `{profile}`"),
            Some(format!(
                "built-in profiles: {}",
                spec::profiles::names().join(", ")
            )),
        )
    })?;
    if cli.file.exists() && !force {
        return Err(Error::Input(
            format!("{} exists already", cli.file.display()),
            Some("pass --force to overwrite it, or -f to write elsewhere".into()),
        ));
    }
    std::fs::write(&cli.file, text).map_err(|source| Error::Io {
        what: format!("cannot write {}", cli.file.display()),
        source,
    })?;
    match cli.output {
        Output::Text => println!(
            "Wrote {} (profile {profile}). Edit it, then run `liftoff validate -f {}`.",
            cli.file.display(),
            cli.file.display()
        ),
        Output::Json => print_json(&json!({"written": cli.file, "profile": profile})),
    }
    Ok(())
}

fn validate(cli: &Cli) -> Result<(), Error> {
    let loaded = match spec::load(&cli.file) {
        Ok(l) => l,
        Err(SpecError::Invalid(d)) if cli.output == Output::Json => {
            print_json(&json!({"valid": false, "diagnostics": d.0}));
            return Err(Error::Spec(SpecError::Invalid(d)));
        }
        Err(e) => return Err(e.into()),
    };
    match cli.output {
        Output::Text => {
            for w in &loaded.warnings {
                println!("{w}");
            }
            println!(
                "{} is valid: installation `{}`{}.",
                cli.file.display(),
                loaded.spec.metadata.name,
                loaded
                    .spec
                    .profile
                    .as_deref()
                    .map(|p| format!(" on profile `{p}`"))
                    .unwrap_or_default()
            );
        }
        Output::Json => print_json(&json!({"valid": true, "diagnostics": loaded.warnings})),
    }
    Ok(())
}

async fn plan_cmd(cli: &Cli, out: Option<&Path>, parallelism: usize) -> Result<(), Error> {
    let session = open(cli, false)?;
    preflight(cli, &session, false).await?;
    let plan = session.plan_install(parallelism, cli).await?;
    match cli.output {
        Output::Text => print!("{}", display::render(&plan)),
        Output::Json => print_json(&plan),
    }
    if let Some(path) = out {
        let bytes = serde_json::to_vec_pretty(&plan).expect("plan serializes");
        plan::state::write_atomic(path, &bytes).map_err(|source| Error::Io {
            what: format!("cannot write {}", path.display()),
            source,
        })?;
        if cli.output == Output::Text {
            println!(
                "Saved to {}. Apply exactly this plan with `liftoff install {}`.",
                path.display(),
                path.display()
            );
        }
    }
    Ok(())
}

fn read_plan(path: &Path) -> Result<Plan, Error> {
    let plan_err = |source: Box<dyn std::error::Error + Send + Sync>| Error::PlanFile {
        path: path.into(),
        source,
    };
    let bytes = std::fs::read(path).map_err(|e| plan_err(Box::new(e)))?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| plan_err(Box::new(e)))?;
    if plan.format != plan::PLAN_FORMAT {
        return Err(plan_err(
            format!(
                "plan format {} is not supported (expected {})",
                plan.format,
                plan::PLAN_FORMAT
            )
            .into(),
        ));
    }
    Ok(plan)
}

/// Checks that must pass before planning: an existing AWS network is
/// validated (nothing is created or deleted in it).
async fn preflight(cli: &Cli, session: &Session, tag_subnets: bool) -> Result<(), Error> {
    #[cfg(feature = "aws")]
    {
        let spec = &session.loaded.spec;
        if let (spec::Provider::Aws, Some(net)) = (spec.cloud.provider, spec.network.as_ref())
            && net.mode == spec::Mode::Existing
        {
            let region = spec.cloud.region.as_deref().unwrap_or("us-east-1");
            let report =
                crate::providers::aws::existing::validate(region, net, tag_subnets).await?;
            if cli.output == Output::Text {
                for t in &report.tagged {
                    eprintln!("tagged subnet {t}");
                }
            }
            if !report.problems.is_empty() {
                return Err(Error::Input(
                    format!(
                        "the existing network is not usable:\n  - {}",
                        report.problems.join("\n  - ")
                    ),
                    Some("fix these in AWS (or the spec), then rerun; liftoff never changes an existing network except for --tag-subnets".into()),
                ));
            }
        }
    }
    let _ = (cli, session, tag_subnets);
    Ok(())
}

async fn install(
    cli: &Cli,
    saved: Option<&Path>,
    parallelism: usize,
    tag_subnets: bool,
) -> Result<(), Error> {
    let session = open(cli, false)?;
    preflight(cli, &session, tag_subnets).await?;
    let plan = match saved {
        None => session.plan_install(parallelism, cli).await?,
        Some(path) => {
            let saved = read_plan(path)?;
            let stale = |reason: String| Error::StalePlan {
                path: path.into(),
                reason,
            };
            if saved.installation != session.name() {
                return Err(stale(format!(
                    "it is for installation `{}`",
                    saved.installation
                )));
            }
            if saved.purpose != Purpose::Install {
                return Err(stale("it is a destroy plan".into()));
            }
            if saved.spec_digest != session.loaded.digest {
                return Err(stale("the spec changed since it was made".into()));
            }
            let fresh = session.plan_install(parallelism, cli).await?;
            if fresh.observed_digest != saved.observed_digest {
                return Err(stale(
                    "the infrastructure or the state changed since it was made".into(),
                ));
            }
            saved
        }
    };
    if cli.output == Output::Text {
        print!("{}", display::render(&plan));
    }
    if plan.is_noop() {
        if cli.output == Output::Json {
            print_json(&json!({"event": "result", "status": "up-to-date"}));
        }
        return Ok(());
    }
    session.apply(&plan, parallelism, cli).await?;
    report_done(cli, &session, "installed");
    Ok(())
}

async fn destroy(
    cli: &Cli,
    yes: bool,
    parallelism: usize,
    skip_final_snapshot: bool,
) -> Result<(), Error> {
    let session = open(cli, skip_final_snapshot)?;
    let observed = session.observe(parallelism, cli).await?;
    let state = session.store.snapshot();
    let plan = compute::plan_destroy(
        session.name(),
        &session.loaded.digest,
        &session.desired,
        &state,
        &observed,
    );
    if cli.output == Output::Text {
        print!("{}", display::render(&plan));
    }
    if plan.changes.is_empty() {
        session.store.remove_if_empty()?;
        return Ok(());
    }
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Input(
                "destroy needs confirmation".into(),
                Some("pass --yes to destroy without a prompt".into()),
            ));
        }
        eprint!(
            "Delete these {} resources of `{}`? Type the installation name to confirm: ",
            plan.changes.len(),
            session.name()
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|source| Error::Io {
                what: "cannot read the answer".into(),
                source,
            })?;
        if answer.trim() != session.name() {
            return Err(Error::Input(
                "not confirmed; nothing was deleted".into(),
                None,
            ));
        }
    }
    session.apply(&plan, parallelism, cli).await?;
    session.store.remove_if_empty()?;
    report_done(cli, &session, "destroyed");
    Ok(())
}

fn report_done(cli: &Cli, session: &Session, what: &str) {
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
fn cloud_outputs(state: &plan::state::State) -> serde_json::Value {
    #[cfg(feature = "aws")]
    if let Some(v) = crate::providers::aws::outputs::summary(state) {
        return json!({"aws": v});
    }
    let _ = state;
    json!({})
}

fn print_outputs_text(outputs: &serde_json::Value) {
    #[cfg(feature = "aws")]
    if let Some(v) = outputs.get("aws") {
        print!("{}", crate::providers::aws::outputs::text(v));
    }
    let _ = outputs;
}

fn status(cli: &Cli) -> Result<(), Error> {
    let loaded = load(cli)?;
    let store = Store::open(&state_dir(cli, &loaded), &loaded.spec.metadata.name)?;
    let state = store.snapshot();
    match cli.output {
        Output::Json => print_json(&json!({
            "installation": state.installation,
            "stateFile": store.path(),
            "resources": state.resources.iter().map(|(a, e)| json!({"address": a, "kind": e.kind, "status": e.status, "id": e.id, "outputs": display::redact(&e.outputs)})).collect::<Vec<_>>(),
            "outputs": cloud_outputs(&state),
        })),
        Output::Text => {
            if state.resources.is_empty() {
                println!(
                    "`{}` has no resources recorded ({}).",
                    state.installation,
                    store.path().display()
                );
            }
            let width = state
                .resources
                .keys()
                .map(|a| a.as_str().len())
                .max()
                .unwrap_or(0);
            for (a, e) in &state.resources {
                println!(
                    "{:<width$}  {:<9} {}",
                    a.as_str(),
                    format!("{:?}", e.status).to_lowercase(),
                    e.id.as_deref().unwrap_or("-")
                );
            }
            print_outputs_text(&cloud_outputs(&state));
        }
    }
    Ok(())
}

fn render_resolved(cli: &Cli) -> Result<(), Error> {
    let loaded = load(cli)?;
    match cli.output {
        Output::Json => print_json(&loaded.spec),
        Output::Text => print!(
            "{}",
            spec::to_yaml(&serde_json::to_value(&loaded.spec).expect("spec serializes"))
        ),
    }
    Ok(())
}

/// The error as one JSON object (for `--output json`).
pub fn error_json(e: &Error) -> String {
    let mut causes = Vec::new();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        causes.push(c.to_string());
        cur = c.source();
    }
    let diagnostics = match e {
        Error::Spec(SpecError::Invalid(d)) => json!(d.0),
        _ => json!([]),
    };
    json!({"event": "error", "error": e.to_string(), "causes": causes, "hint": e.hint(), "exitCode": e.exit_code(), "diagnostics": diagnostics}).to_string()
}
