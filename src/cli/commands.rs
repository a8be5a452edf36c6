//! One function per command. What they share lives in [`super::session`]
//! (the loaded spec, drivers, state) and [`super::report`] (printing).

use std::io::IsTerminal;
use std::path::Path;

use serde_json::json;

use super::report::{cloud_outputs, print_json, print_outputs_text, report_done};
use super::session::{Intent, certificate_checks, load, open, preflight, state_dir};
use super::{Cli, Command, Output};
use crate::error::Error;
use crate::plan::state::Store;
use crate::plan::{self, Plan, compute, display};
use crate::spec::{self, SpecError};

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
        Command::Render { resolved: true, .. } => render_resolved(cli),
        Command::Render {
            resolved: false,
            manifests,
            out,
        } => render(cli, *manifests, out.as_deref()),
        Command::Doctor => doctor(cli).await,
    }
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
    let loaded = crate::compose::load(&cli.file).and_then(|mut l| {
        // The certificate is checked here rather than in spec::load: reading
        // and verifying it is the command's job, not every loader's.
        let (errors, warnings): (Vec<_>, Vec<_>) =
            crate::tls::diagnose(&l.spec, &l.tree, &l.base_dir)
                .into_iter()
                .partition(|d| d.severity == spec::Severity::Error);
        l.warnings.extend(warnings);
        if errors.is_empty() {
            Ok(l)
        } else {
            Err(SpecError::Invalid(spec::Diagnostics(
                errors.into_iter().chain(l.warnings).collect(),
            )))
        }
    });
    let loaded = match loaded {
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
    let session = open(cli, Intent::Install)?;
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
    let mut value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| plan_err(Box::new(e)))?;
    plan::PLAN_FILE
        .upgrade(&mut value)
        .map_err(|e| plan_err(Box::new(e)))?;
    serde_json::from_value(value).map_err(|e| plan_err(Box::new(e)))
}

async fn install(
    cli: &Cli,
    saved: Option<&Path>,
    parallelism: usize,
    tag_subnets: bool,
) -> Result<(), Error> {
    let session = open(cli, Intent::Install)?;
    preflight(cli, &session, tag_subnets).await?;
    let plan = match saved {
        None => session.plan_install(parallelism, cli).await?,
        Some(path) => {
            let saved = read_plan(path)?;
            let fresh = session.plan_install(parallelism, cli).await?;
            if let Some(reason) = plan::staleness(&saved, &fresh) {
                return Err(Error::StalePlan {
                    path: path.into(),
                    reason,
                });
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
    if cli.output == Output::Text {
        let state = session.store.snapshot();
        if let Some(release) = state
            .resources
            .get(&plan::Address::new("cluster.helm_release"))
        {
            let lb = release.outputs.get("loadBalancer").and_then(|v| v.as_str());
            print!(
                "\n{}",
                crate::cluster::loadbalancer::next_steps(&session.loaded.spec, lb)
            );
        }
    }
    Ok(())
}

async fn destroy(
    cli: &Cli,
    yes: bool,
    parallelism: usize,
    skip_final_snapshot: bool,
) -> Result<(), Error> {
    let session = open(
        cli,
        Intent::Destroy {
            skip_final_snapshot,
        },
    )?;
    let observed = session.observe(parallelism, cli).await?;
    let state = session.state();
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
    if session.store.snapshot().resources.is_empty() {
        let dir = state_dir(cli, &session.loaded);
        crate::tls::forget_kept(&session.loaded.spec, &dir).map_err(|source| Error::Io {
            what: "cannot remove the kept sandbox certificate".into(),
            source,
        })?;
    }
    report_done(cli, &session, "destroyed");
    Ok(())
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
            "outputs": cloud_outputs(&loaded.spec, &state),
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
            print_outputs_text(&loaded.spec, &cloud_outputs(&loaded.spec, &state));
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

/// The chart values (to `out` or stdout) and, with `manifests`, the
/// namespace and secrets, redacted. Touches no cloud or cluster.
fn render(cli: &Cli, manifests: bool, out: Option<&Path>) -> Result<(), Error> {
    use crate::render;
    let loaded = load(cli)?;
    let material = crate::tls::load(&loaded.spec, &loaded.base_dir)?;
    if cli.output == Output::Text {
        for w in &material.warnings {
            eprintln!("warning: {w}");
        }
    }
    let inputs = crate::compose::render_inputs(&loaded.spec, material.private_ca_pem.is_some());
    let spec = &loaded.spec;
    if cli.output == Output::Json {
        let mut doc = json!({
            "values": render::values(spec, &inputs)?,
            "warnings": material.warnings,
        });
        if manifests {
            doc["manifests"] = json!(render::manifests::manifests(spec, inputs.private_ca));
        }
        if let Some(path) = out {
            write_file(path, &render::values_yaml(spec, &inputs)?)?;
            doc["written"] = json!(path);
        }
        print_json(&doc);
        return Ok(());
    }
    let values = render::values_yaml(spec, &inputs)?;
    match out {
        Some(path) => {
            write_file(path, &values)?;
            eprintln!("Wrote the chart values to {}.", path.display());
        }
        None => print!("{values}"),
    }
    if manifests {
        print!(
            "{}",
            render::manifests::manifests_yaml(spec, inputs.private_ca)
        );
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|source| Error::Io {
        what: format!("cannot write {}", path.display()),
        source,
    })
}

async fn doctor(cli: &Cli) -> Result<(), Error> {
    let loaded = load(cli)?;
    // The same connection, inputs and checks an install uses: for a
    // cluster liftoff creates, the cloud phase's hand-off (from the
    // recorded outputs, when no other run holds the state).
    let dir = super::session::state_dir(cli, &loaded);
    let store = crate::plan::state::Store::open(&dir, &loaded.spec.metadata.name)
        .ok()
        .map(std::sync::Arc::new);
    let setup = crate::providers::Setup {
        state_dir: dir.clone(),
        skip_final_snapshot: false,
        records: store.map(|s| s as std::sync::Arc<dyn crate::plan::driver::Records>),
    };
    let mut unused = crate::plan::driver::Drivers::new();
    let handoff = match crate::compose::cloud(&loaded.spec) {
        Some(c) => c.register(&loaded.spec, &setup, &mut unused)?,
        None => Default::default(),
    };
    let inputs = super::session::cluster_inputs(cli, &loaded, &dir)
        .map(|(inputs, _, _)| inputs)
        .unwrap_or_default();
    let report = crate::cluster::doctor(
        &loaded.spec,
        &loaded.base_dir,
        handoff,
        inputs,
        certificate_checks(cli, &loaded),
    )
    .await;
    match cli.output {
        Output::Text => print!("{}", report.render()),
        Output::Json => print_json(&report),
    }
    match report.failed().len() {
        0 => Ok(()),
        n => Err(Error::Input(
            format!("{n} preflight check(s) failed"),
            Some("fix the failed checks above, then run `liftoff doctor` again".into()),
        )),
    }
}
