//! One function per command. What they share lives in [`super::session`]
//! (the loaded spec, drivers, state) and [`super::report`] (printing).

use std::io::IsTerminal;
use std::path::Path;

use serde_json::json;

use super::caller::identify;
use super::report::{cloud_outputs, print_json, print_outputs_text, report_done};
use super::session::{Intent, Session, certificate_checks, load, open, preflight};
use super::{Cli, Command, Output};
use crate::compose::{self, Phase};
use crate::error::Error;
use crate::plan::{self, Plan, compute, display};
use crate::spec::{self, SpecError};

pub async fn run(cli: &Cli) -> Result<(), Error> {
    match &cli.command {
        Command::Init {
            profile,
            trial,
            name,
            force,
        } => init(cli, profile, *trial, name, *force),
        Command::Validate => validate(cli),
        Command::Plan {
            out, parallelism, ..
        } => plan_cmd(cli, out.as_deref(), *parallelism).await,
        Command::Install {
            plan,
            parallelism,
            tag_subnets,
            yes,
            ..
        } => install(cli, plan.as_deref(), *parallelism, *tag_subnets, *yes).await,
        Command::Destroy {
            yes,
            parallelism,
            skip_final_snapshot,
            ..
        } => destroy(cli, *yes, *parallelism, *skip_final_snapshot).await,
        Command::Status { history } => status(cli, *history).await,
        Command::Upgrade {
            kubernetes: Some(version),
            plan,
            yes,
            ..
        } => super::upgrade::kubernetes(cli, version, *plan, *yes).await,
        Command::Upgrade {
            to,
            through,
            plan,
            skip_snapshot,
            yes,
            kubernetes: None,
            bundle,
        } => {
            super::upgrade::upgrade(
                cli,
                super::upgrade::UpgradeArgs {
                    to: to.as_deref(),
                    through: *through,
                    plan: *plan,
                    skip_snapshot: *skip_snapshot,
                    yes: *yes,
                    bundle: bundle.install(),
                },
            )
            .await
        }
        Command::Rollback { revision, yes } => super::upgrade::rollback(cli, *revision, *yes).await,
        Command::State { action } => super::state_cmd::run(cli, action),
        Command::Render { resolved: true, .. } => render_resolved(cli),
        Command::Render {
            resolved: false,
            manifests,
            out,
        } => render(cli, *manifests, out.as_deref()),
        Command::Doctor => doctor(cli).await,
        Command::Bundle { command } => super::bundle::run(cli, command).await,
    }
}

fn init(cli: &Cli, profile: &str, trial: bool, name: &str, force: bool) -> Result<(), Error> {
    let text = super::init::starter(profile, name, trial).ok_or_else(|| {
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
    let file = cli.file.display();
    let needs_certificate = profile != "sandbox" && !trial;
    if trial && profile != "sandbox" {
        eprintln!(
            "WARNING: TRIAL spec: a self-signed certificate that no browser or client trusts. \
             Use this installation to try liftoff out, never for real work."
        );
    }
    match cli.output {
        Output::Text => {
            outln!("Wrote {file} (profile {profile}).");
            if needs_certificate {
                outln!(
                    "It needs a wildcard certificate for *.<baseDomain> at ./tls/fullchain.pem and \
                     ./tls/privkey.pem: the comment above `tls:` in {file} says how to get one. \
                     To try liftoff without one, `liftoff init --profile {profile} --trial` writes \
                     a throwaway spec with a self-signed certificate."
                );
            }
            outln!("Edit it, then run `liftoff validate -f {file}`.");
        }
        Output::Json => print_json(&json!({
            "written": cli.file,
            "profile": profile,
            "trial": trial,
            "needsCertificate": needs_certificate,
        })),
    }
    Ok(())
}

fn validate(cli: &Cli) -> Result<(), Error> {
    let loaded = crate::compose::validate(&cli.file);
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
                outln!("{w}");
            }
            outln!(
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
    let caller = identify(cli, &session.loaded.spec).await?;
    preflight(cli, &session, false).await?;
    let plan = session.plan_install(parallelism, cli).await?;
    match cli.output {
        Output::Text => out!("{}{}", header(&caller), show_plan(&plan)),
        Output::Json => print_json(&plan),
    }
    if let Some(path) = out {
        let bytes = serde_json::to_vec_pretty(&plan).expect("plan serializes");
        crate::files::write_atomic(path, &bytes).map_err(|source| Error::Io {
            what: format!("cannot write {}", path.display()),
            source,
        })?;
        if cli.output == Output::Text {
            outln!(
                "Saved to {}. Apply exactly this plan with `liftoff install {}`.",
                path.display(),
                path.display()
            );
        }
    }
    Ok(())
}

/// The plan for standard output: in colour on a terminal without NO_COLOR.
fn show_plan(plan: &Plan) -> String {
    display::render_styled(plan, super::colour_on(std::io::stdout().is_terminal()))
}

/// The identity line above a plan, when there is one.
fn header(caller: &Option<String>) -> String {
    caller
        .as_ref()
        .map(|line| format!("{line}\n"))
        .unwrap_or_default()
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
    yes: bool,
) -> Result<(), Error> {
    let session = open(cli, Intent::Install)?;
    if let Command::Install { bundle, .. } = &cli.command
        && let Some(options) = bundle.install()
    {
        super::bundle::check_registry(&options, &session.loaded).await?;
    }
    let caller = identify(cli, &session.loaded.spec).await?;
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
        out!("{}{}", header(&caller), show_plan(&plan));
    }
    if plan.is_noop() {
        if cli.output == Output::Json {
            print_json(&json!({"event": "result", "status": "up-to-date"}));
        }
        return Ok(());
    }
    // A saved plan was reviewed when it was made; otherwise ask.
    if saved.is_none() && !yes {
        confirm_install(cli, &plan).await?;
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
            out!(
                "\n{}",
                crate::cluster::loadbalancer::next_steps(&session.loaded.spec, lb)
            );
        }
    }
    Ok(())
}

/// Asks on the terminal before an install that was not planned ahead.
/// Refuses (exit 3) when there is no terminal to ask on.
async fn confirm_install(cli: &Cli, plan: &Plan) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Input(
            "install needs confirmation, and there is no terminal to ask on; nothing was changed"
                .into(),
            Some("pass --yes to apply without a prompt, or review a saved plan (`liftoff plan --out plan.json`) and run `liftoff install plan.json`".into()),
        ));
    }
    // With text output the plan is on stdout already; with JSON, stdout
    // keeps its one document and the person asked reads the plan here.
    if cli.output == Output::Json {
        eprint!(
            "{}",
            display::render_styled(plan, super::colour_on(std::io::stderr().is_terminal()))
        );
    }
    let counts = plan.counts();
    let changes: usize = counts
        .iter()
        .filter(|(action, _)| **action != plan::Action::NoOp)
        .map(|(_, n)| n)
        .sum();
    eprint!(
        "Apply these {changes} change(s) to `{}`? Type yes to continue: ",
        plan.installation
    );
    if read_answer().await? != "yes" {
        return Err(Error::Input(
            "not confirmed; nothing was changed".into(),
            Some("answer `yes` to apply, or pass --yes".into()),
        ));
    }
    Ok(())
}

/// One line from the terminal, trimmed. Read on a blocking thread, so
/// Ctrl-C at the prompt still ends the run at once.
pub(super) async fn read_answer() -> Result<String, Error> {
    let read = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map(|_| answer)
    });
    match read.await {
        Ok(Ok(answer)) => Ok(answer.trim().to_string()),
        Ok(Err(source)) => Err(Error::Io {
            what: "cannot read the answer".into(),
            source,
        }),
        Err(join) => Err(Error::Io {
            what: "cannot read the answer".into(),
            source: std::io::Error::other(join.to_string()),
        }),
    }
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
    let caller = identify(cli, &session.loaded.spec).await?;
    let mut observed = session.observe(parallelism, cli).await?;
    let state = session.state();
    if session.phase != Phase::Cluster {
        compute::find_strays(session.name(), &state, &session.drivers, &mut observed).await?;
    }
    let plan = compute::plan_destroy(
        session.name(),
        &session.loaded.digest,
        &session.desired,
        &state,
        &observed,
    );
    if cli.output == Output::Text {
        out!("{}{}", header(&caller), show_plan(&plan));
    }
    if plan.changes.is_empty() {
        session.store.remove_if_empty()?;
        check_leftovers(&session).await?;
        if cli.output == Output::Json {
            print_json(&json!({"event": "result", "status": "nothing-to-destroy"}));
        }
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
        if read_answer().await? != session.name() {
            return Err(Error::Input(
                "not confirmed; nothing was deleted".into(),
                None,
            ));
        }
    }
    session.apply(&plan, parallelism, cli).await?;
    session.store.remove_if_empty()?;
    check_leftovers(&session).await?;
    if session.store.snapshot().resources.is_empty() {
        crate::tls::forget_kept(&session.loaded.spec, session.secrets.as_ref()).map_err(|e| {
            Error::Io {
                what: "cannot remove the kept sandbox certificate".into(),
                source: std::io::Error::other(crate::chain::one_line(&e)),
            }
        })?;
    }
    report_done(cli, &session, "destroyed");
    Ok(())
}

/// After a destroy of the cloud: nothing may be left carrying the
/// installation's tags, or the destroy fails naming it.
async fn check_leftovers(session: &Session) -> Result<(), Error> {
    if session.phase == Phase::Cluster {
        return Ok(());
    }
    let Some(cloud) = compose::cloud(&session.loaded.spec) else {
        return Ok(());
    };
    let left = cloud.leftovers(&session.loaded.spec).await?;
    if left.is_empty() {
        Ok(())
    } else {
        Err(Error::Leftovers(left))
    }
}

async fn status(cli: &Cli, history: bool) -> Result<(), Error> {
    let loaded = load(cli)?;
    // Read only: no lock, no files made, so it works during another run.
    let settings = super::session::settings(cli, &loaded)?;
    let (state_path, state) = crate::state::read(&settings.location, &loaded.spec.metadata.name)?;
    // The release as the state records it; its revisions as Helm keeps
    // them when that needs no cloud call (an existing cluster), or when
    // asked.
    let recorded = state
        .resources
        .get(&plan::Address::new(crate::cluster::graph::HELM_RELEASE));
    let release = recorded.map(|e| {
        let mut r = json!({
            "chartVersion": e.props.pointer("/chart/version"),
            "revision": e.outputs.get("revision"),
        });
        if history || loaded.spec.cluster.mode == crate::spec::Mode::Existing {
            r["helm"] = json!(null);
        }
        r
    });
    let release = match release {
        Some(mut r) if r.get("helm").is_some() => {
            r["helm"] = super::upgrade::release_status(cli, &loaded).await;
            Some(r)
        }
        other => other,
    };
    let last = state.operations.last();
    match cli.output {
        Output::Json => print_json(&json!({
            "installation": state.installation,
            "stateFile": state_path,
            "resources": state.resources.iter().map(|(a, e)| json!({"address": a, "kind": e.kind, "status": e.status, "id": e.id, "outputs": display::redact(&e.outputs)})).collect::<Vec<_>>(),
            "outputs": cloud_outputs(&loaded.spec, &state),
            "release": release,
            "lastOperation": last,
        })),
        Output::Text => {
            if state.resources.is_empty() {
                outln!(
                    "`{}` has no resources recorded ({}).",
                    state.installation,
                    state_path
                );
            }
            let width = state
                .resources
                .keys()
                .map(|a| a.as_str().len())
                .max()
                .unwrap_or(0);
            for (a, e) in &state.resources {
                outln!(
                    "{:<width$}  {:<9} {}",
                    a.as_str(),
                    format!("{:?}", e.status).to_lowercase(),
                    e.id.as_deref().unwrap_or("-")
                );
            }
            print_outputs_text(&loaded.spec, &cloud_outputs(&loaded.spec, &state));
            if let Some(r) = &release {
                outln!("{}", release_text(&loaded.spec, r));
            }
            if let Some(op) = last {
                outln!("{}", operation_text(op));
            }
        }
    }
    Ok(())
}

/// The release's version and revisions, as `status` prints them.
fn release_text(spec: &spec::Spec, recorded: &serde_json::Value) -> String {
    let name = &spec.platform.release_name;
    let r = &recorded["helm"];
    if r.is_null() {
        return format!(
            "\nRelease {name}: chart {} (revision {}), as last recorded; `liftoff status --history` reads its revisions from the cluster",
            recorded["chartVersion"].as_str().unwrap_or("?"),
            recorded["revision"]
        );
    }
    if let Some(e) = r["error"].as_str() {
        return format!("\nRelease {name}: cannot read it from the cluster: {e}");
    }
    if r["installed"] == false {
        return format!("\nRelease {name}: not installed in the cluster.");
    }
    let mut text = format!(
        "\nRelease {name}: chart {} (revision {}, {})\nRevisions:\n",
        r["chartVersion"].as_str().unwrap_or("?"),
        r["revision"],
        r["status"].as_str().unwrap_or("?")
    );
    for rev in r["revisions"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "  {:>3}  {:<11} {:<24} {}  {}\n",
            rev["revision"],
            rev["status"].as_str().unwrap_or(""),
            rev["chart"].as_str().unwrap_or(""),
            rev["updated"].as_str().unwrap_or(""),
            rev["description"].as_str().unwrap_or("")
        ));
    }
    text.trim_end().to_string()
}

/// The last operation, as `status` prints it.
fn operation_text(op: &plan::state::Operation) -> String {
    let d = &op.detail;
    let mut text = format!(
        "\nLast operation: {} {}, started {}{}",
        op.command,
        op.outcome,
        op.started,
        op.finished
            .as_deref()
            .map(|f| format!(", finished {f}"))
            .unwrap_or_default()
    );
    match op.command.as_str() {
        "upgrade" => text.push_str(&format!(
            "\n  {} → {}",
            d["from"].as_str().unwrap_or("?"),
            d["to"].as_str().unwrap_or("?")
        )),
        "upgrade-kubernetes" => text.push_str(&format!(
            "\n  Kubernetes → {}",
            d["to"].as_str().unwrap_or("?")
        )),
        _ => text.push_str(&format!("\n  revision {} → {}", d["from"], d["to"])),
    }
    if let Some(s) = d["snapshot"]["location"].as_str() {
        text.push_str(&format!("\n  database snapshot: {s}"));
    }
    if let Some(r) = d.get("rolledBackTo") {
        text.push_str(&format!("\n  rolled back to revision {r}"));
    }
    if let Some(e) = d["error"].as_str() {
        text.push_str(&format!("\n  error: {e}"));
    }
    text
}

fn render_resolved(cli: &Cli) -> Result<(), Error> {
    let loaded = load(cli)?;
    match cli.output {
        Output::Json => print_json(&loaded.spec),
        Output::Text => out!(
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
    if cli.output == Output::Text {
        for m in crate::render::migrations(spec) {
            eprintln!(
                "warning: moved for chart {}: {m}",
                spec.platform.chart.version
            );
        }
    }
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
        None => out!("{values}"),
    }
    if manifests {
        out!(
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
    let settings = super::session::settings(cli, &loaded)?;
    let opened = crate::state::open(&settings, &loaded.spec.metadata.name).ok();
    let secrets: std::sync::Arc<dyn crate::secret::Vault> = match &opened {
        Some(o) => o.secrets.clone(),
        None => crate::state::secrets(&settings.location)?,
    };
    let store = opened.map(|o| std::sync::Arc::new(o.store));
    let setup = crate::providers::Setup {
        secrets: secrets.clone(),
        skip_final_snapshot: false,
        kubernetes_upgrade: false,
        records: store.map(|s| s as std::sync::Arc<dyn crate::plan::driver::Records>),
    };
    let mut unused = crate::plan::driver::Drivers::new();
    let handoff = match crate::compose::cloud(&loaded.spec) {
        Some(c) => c.register(&loaded.spec, &setup, &mut unused)?,
        None => Default::default(),
    };
    let inputs = super::session::cluster_inputs(cli, &loaded, secrets.as_ref())
        .map(|(inputs, _, _)| inputs)
        .unwrap_or_default();
    let report = crate::cluster::doctor(
        &loaded.spec,
        &loaded.base_dir,
        handoff,
        inputs,
        certificate_checks(&loaded, secrets.as_ref()),
    )
    .await;
    match cli.output {
        Output::Text => out!("{}", report.render()),
        Output::Json => print_json(&report),
    }
    match report.failed().len() {
        0 => Ok(()),
        n => Err(Error::ChecksFailed(n)),
    }
}
