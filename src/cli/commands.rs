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
use crate::plan::{self, Plan, Resource, compute, display};
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
        Command::Render { resolved: true, .. } => render_resolved(cli),
        Command::Render {
            resolved: false,
            manifests,
            out,
        } => render(cli, *manifests, out.as_deref()),
        Command::Doctor => doctor(cli).await,
    }
}

/// Everything a command that plans needs: the spec, its drivers, the locked
/// state and the desired resources.
struct Session {
    phase: plan::Phase,
    loaded: Loaded,
    drivers: Drivers,
    store: Store,
    desired: Vec<Resource>,
}

impl Session {
    fn name(&self) -> &str {
        &self.loaded.spec.metadata.name
    }

    /// The state of the resources this run's phase covers.
    fn state(&self) -> crate::plan::state::State {
        self.phase.state(&self.store.snapshot())
    }

    async fn observe(&self, parallelism: usize, cli: &Cli) -> Result<compute::Observations, Error> {
        let events = progress::for_output(cli.output, "Reading what exists");
        let state = self.state();
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
        let state = self.state();
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

/// What a session is opened for: an install needs the certificate and the
/// chart values; a destroy must work even when they no longer do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Intent {
    Install,
    Destroy { skip_final_snapshot: bool },
}

fn open(cli: &Cli, intent: Intent) -> Result<Session, Error> {
    let loaded = load(cli)?;
    let dir = state_dir(cli, &loaded);
    let store = Store::open(&dir, &loaded.spec.metadata.name)?;
    let setup = crate::providers::Setup {
        state_dir: dir.clone(),
        skip_final_snapshot: matches!(
            intent,
            Intent::Destroy {
                skip_final_snapshot: true
            }
        ),
    };
    let (mut drivers, handoff) = crate::providers::drivers(&loaded.spec, &setup);
    let (inputs, checks, facts) = match intent {
        Intent::Install => cluster_inputs(cli, &loaded, &dir)?,
        // Every secret liftoff may have made is looked for.
        Intent::Destroy { .. } => (
            Default::default(),
            Vec::new(),
            plan::graph::Facts { private_ca: true },
        ),
    };
    crate::cluster::register(
        &mut drivers,
        &loaded.spec,
        &loaded.base_dir,
        handoff,
        inputs,
        checks,
    );
    let mut desired = plan::graph::desired(&loaded.spec, &facts);
    desired.retain(|r| cli.phase.includes(&r.address));
    Ok(Session {
        phase: cli.phase,
        loaded,
        drivers,
        store,
        desired,
    })
}

/// The certificate (checked; the sandbox's kept in the state folder) and
/// the chart values rendered for it, as the cluster phase's inputs, with
/// the certificate's warnings as preflight checks.
fn cluster_inputs(
    cli: &Cli,
    loaded: &Loaded,
    state_dir: &Path,
) -> Result<
    (
        crate::cluster::Inputs,
        Vec<crate::cluster::preflight::Check>,
        plan::graph::Facts,
    ),
    Error,
> {
    use crate::cluster::preflight::{Check, Status};
    let spec = &loaded.spec;
    let material = crate::tls::load_kept(spec, &loaded.base_dir, state_dir)?;
    let facts = plan::graph::Facts {
        private_ca: material.private_ca_pem.is_some(),
    };
    let values = crate::render::values_yaml(
        spec,
        &crate::render::Inputs {
            private_ca: facts.private_ca,
        },
    )?;
    let checks = material
        .warnings
        .iter()
        .map(|w| Check::new("certificate", Status::Warn, w.clone()))
        .collect();
    if cli.output == Output::Text {
        for w in &material.warnings {
            eprintln!("warning: {w}");
        }
    }
    let inputs = crate::cluster::Inputs {
        tls_chain_pem: Some(material.chain_pem),
        tls_key_pem: Some(material.key_pem),
        private_ca_pem: material.private_ca_pem,
        values_yaml: Some(values),
        ..Default::default()
    };
    Ok((inputs, checks, facts))
}

fn state_dir(cli: &Cli, loaded: &Loaded) -> PathBuf {
    cli.state_dir
        .clone()
        .unwrap_or_else(|| loaded.base_dir.join(".liftoff"))
}

/// One JSON document per line: `--output json` is a stream of JSON lines.
fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string(v).expect("serializable"));
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
    let loaded = spec::load(&cli.file).and_then(|mut l| {
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
    let inputs = render::Inputs {
        private_ca: material.private_ca_pem.is_some(),
    };
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
    let mut report = crate::cluster::doctor(&loaded.spec, &loaded.base_dir, None).await;
    crate::cluster::preflight::add_certificate_checks(
        &mut report,
        certificate_checks(cli, &loaded),
    );
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

/// The certificate as preflight checks: a failure, or a pass and its warnings.
fn certificate_checks(cli: &Cli, loaded: &Loaded) -> Vec<crate::cluster::preflight::Check> {
    use crate::cluster::preflight::{Check, Status};
    let spec = &loaded.spec;
    match crate::tls::load_kept(spec, &loaded.base_dir, &state_dir(cli, loaded)) {
        Err(e) => {
            let check = Check::new("certificate", Status::Fail, e.to_string());
            vec![match e.hint() {
                Some(h) => check.hint(h),
                None => check,
            }]
        }
        Ok(m) => {
            let base = &spec.platform.base_domain;
            let mut out = vec![Check::new(
                "certificate",
                Status::Pass,
                format!("covers *.{base} and {base}; the chain links up"),
            )];
            out.extend(
                m.warnings
                    .into_iter()
                    .map(|w| Check::new("certificate", Status::Warn, w)),
            );
            out
        }
    }
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
