//! `liftoff upgrade` and `liftoff rollback`: platform upgrades one chart
//! minor version at a time, with the values diff (and, with `--plan`, the
//! manifest diff) shown first, the database snapshotted and waited for
//! before Helm is called, the health checked after each hop and an
//! automatic rollback when a hop fails; and the rollback of the release to
//! an earlier revision. Both record what they did in the state file
//! (the release's revision, and the operation `status` shows last).
//! Air-gapped, `upgrade --bundle` takes its one hop's chart (and helm) from
//! a verified bundle and refuses, before anything changes, while the
//! private registry lacks an image the new release needs.

mod bundle;
mod kubernetes;
mod rollback;

use bundle::{bundle_target, check_images, pin_bundle_chart, spec_for_bundle};
pub(super) use kubernetes::kubernetes;
pub(super) use rollback::{release_status, rollback};

use std::io::IsTerminal;
use std::sync::Arc;

use serde_json::{Value, json};

use super::report::print_json;
use super::session::{cluster_inputs, load, settings, warn};
use super::{Cli, Output};
use crate::cluster::ClusterDriver;
use crate::cluster::driver::upgrade::{Deployed, HopFailed, ReleaseView};
use crate::cluster::graph::{self, Facts};
use crate::cluster::upgrade::{diff, hops};
use crate::compose;
use crate::error::Error;
use crate::plan::driver::{DriverError, Recorder};
use crate::plan::state::{Entry, Operation, Status, Store, now_utc};
use crate::plan::{Address, events};
use crate::providers::{Setup, Snapshot};
use crate::spec::{Loaded, Spec};

/// `liftoff upgrade`'s options.
pub(super) struct UpgradeArgs<'a> {
    pub to: Option<&'a str>,
    pub through: bool,
    pub plan: bool,
    pub skip_snapshot: bool,
    pub yes: bool,
    /// `--bundle`: the chart and helm from this bundle.
    pub bundle: Option<super::bundle::InstallBundle<'a>>,
}

/// Progress lines of the release, drawn as the engine's events are.
struct Lines {
    events: Box<dyn events::Events>,
    address: Address,
}

impl Lines {
    fn new(cli: &Cli) -> Lines {
        Lines {
            events: match cli.output {
                Output::Json => Box::new(super::progress::JsonLines),
                Output::Text => Box::new(super::progress::Lines),
            },
            address: Address::new(graph::HELM_RELEASE),
        }
    }
}

#[async_trait::async_trait]
impl Recorder for Lines {
    async fn created(&self, _: &str, _: Value) -> Result<(), DriverError> {
        Ok(())
    }
    fn progress(&self, message: &str) {
        self.events.emit(events::Event::Progress {
            address: self.address.clone(),
            message: message.to_string(),
        });
    }
}

/// What both commands work with: the spec, the locked state, the cloud's
/// set-up and the cluster driver (the connection install uses).
struct Upgrading {
    loaded: Loaded,
    store: Arc<Store>,
    setup: Setup,
    driver: ClusterDriver,
    facts: Facts,
    /// `upgrade --bundle`: the bundle's chart, the one hop's.
    bundle: Option<super::bundle::BundleChart>,
}

fn open(cli: &Cli, bundle: Option<&super::bundle::InstallBundle<'_>>) -> Result<Upgrading, Error> {
    let loaded = load(cli)?;
    // Before the driver is built: it runs the bundle's helm.
    let bundle = bundle
        .map(|b| super::bundle::prepare_upgrade(b, &loaded.spec))
        .transpose()?;
    let opened = crate::state::open(&settings(cli, &loaded)?, &loaded.spec.metadata.name)?;
    warn(cli, &opened.warnings);
    let store = Arc::new(opened.store);
    let secrets: Arc<dyn crate::secret::Vault> = opened.secrets;
    let setup = Setup {
        secrets: secrets.clone(),
        skip_final_snapshot: false,
        kubernetes_upgrade: false,
        records: Some(store.clone() as Arc<dyn crate::plan::driver::Records>),
    };
    let mut unused = crate::plan::driver::Drivers::new();
    let handoff = match compose::cloud(&loaded.spec) {
        Some(c) => c.register(&loaded.spec, &setup, &mut unused)?,
        None => Default::default(),
    };
    let (inputs, _, facts) = cluster_inputs(cli, &loaded, secrets.as_ref())?;
    let driver = crate::cluster::build(&loaded.spec, &loaded.base_dir, handoff, inputs, Vec::new());
    Ok(Upgrading {
        loaded,
        store,
        setup,
        driver,
        facts,
        bundle,
    })
}

fn refused(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::UpgradeRefused {
        message: message.into(),
        hint: hint.into(),
    }
}

/// One hop of the upgrade: the spec as it pins the hop's chart, and the
/// values for it.
struct Hop {
    minor: hops::Minor,
    spec: Spec,
    values_yaml: String,
    values: Value,
    migrations: Vec<crate::render::migrate::Move>,
}

/// The spec for a hop, and the values rendered for it.
async fn hop(u: &Upgrading, minor: hops::Minor, target: &hops::ChartVersion) -> Result<Hop, Error> {
    let spec = &u.loaded.spec;
    let mut hop_spec = spec.clone();
    match &u.bundle {
        // One hop, to the bundle's chart (the caller holds the path to it).
        Some(b) => {
            hop_spec.platform.chart.repository = b.archive.display().to_string();
            hop_spec.platform.chart.version = b.version.clone();
        }
        None => {
            let chart = hops::hop_chart(
                &spec.platform.chart.repository,
                &spec.platform.chart.version,
                &spec.platform.chart.name,
                &u.loaded.base_dir,
                minor,
                target,
            )
            .map_err(|e| {
                refused(
                    e.to_string(),
                    "each hop needs its chart archive; nothing was changed",
                )
            })?;
            hop_spec.platform.chart.repository = chart.repository;
            hop_spec.platform.chart.version = chart.version;
        }
    }
    // The values template follows the hop's line (a constraint names it too).
    let mut for_render = hop_spec.clone();
    for_render.platform.chart.version = format!("{}.{}.0", minor.0, minor.1);
    let inputs = compose::render_inputs(&for_render, u.facts.private_ca);
    let plain = crate::render::values_yaml(&for_render, &inputs)?;
    let with_controller = match inputs.load_balancer.controller_annotations {
        Some(_) => Some(crate::render::values_yaml(
            &for_render,
            &crate::render::Inputs {
                load_balancer_controller: true,
                ..inputs
            },
        )?),
        None => None,
    };
    let values_yaml = u
        .driver
        .pick_values(&plain, with_controller.as_deref())
        .await?
        .to_string();
    let values = crate::spec::yaml::parse("values", &values_yaml)
        .map(|n| n.to_json())
        .unwrap_or(Value::Null);
    Ok(Hop {
        minor,
        migrations: crate::render::migrations(&for_render),
        spec: hop_spec,
        values_yaml,
        values,
    })
}

/// The Kubernetes minor range a chart minor line was tested with.
fn check_range(minor: hops::Minor, cluster_minor: u32, spec: &Spec) -> Result<(), Error> {
    let Some((lo, hi)) =
        crate::cluster::preflight::tested_range(&format!("{}.{}.0", minor.0, minor.1))
    else {
        return Ok(());
    };
    let forced =
        spec.platform.values.get("forceIncompatibleKubernetes") == Some(&Value::Bool(true));
    if (lo..=hi).contains(&cluster_minor) || forced {
        return Ok(());
    }
    Err(refused(
        format!(
            "chart {minor}.x is tested with Kubernetes 1.{lo}–1.{hi}, and the cluster runs 1.{cluster_minor}"
        ),
        "upgrade Kubernetes into the tested range first (one minor at a time), or set platform.values.forceIncompatibleKubernetes: true to upgrade anyway; nothing was changed",
    ))
}

pub(super) async fn upgrade(cli: &Cli, args: UpgradeArgs<'_>) -> Result<(), Error> {
    let u = open(cli, args.bundle.as_ref())?;
    let spec = &u.loaded.spec;
    let release = u.driver.release_view().await?.ok_or_else(|| {
        refused(
            format!(
                "release {} is not installed in namespace {}: there is nothing to upgrade",
                spec.platform.release_name, spec.platform.namespace
            ),
            "install the platform first: `liftoff install`",
        )
    })?;
    let running = release.running_version();
    let target_text = match &u.bundle {
        Some(b) => bundle_target(b, &args)?,
        None => args.to.unwrap_or(&spec.platform.chart.version),
    };
    let not_version = |v: &str| {
        refused(
            hops::HopError::NotAVersion(v.into()).to_string(),
            hops::HopError::NotAVersion(v.into()).hint(),
        )
    };
    let installed = hops::ChartVersion::parse(&running).ok_or_else(|| not_version(&running))?;
    let target = hops::ChartVersion::parse(target_text).ok_or_else(|| not_version(target_text))?;
    let mut path = hops::checked_path(&installed, &target, args.through).map_err(|e| {
        let hint = match (&e, &u.bundle) {
            (hops::HopError::Skip { first, .. }, Some(b)) => format!(
                "a bundle carries one chart, so a path of several hops needs one bundle per hop: make a bundle of {first}.x (`liftoff bundle create` with platform.chart.version {first}.<patch>), push it and upgrade with it, then the next, up to {}; nothing was changed",
                b.version
            ),
            _ => e.hint(),
        };
        refused(e.to_string(), hint)
    })?;
    // The same version, but the release is not deployed on it (an upgrade
    // that was cut short): the last hop again.
    if path.is_empty() && (release.status != "deployed" || release.chart_version != target.text) {
        path.push(target.minor_line());
    }
    if path.is_empty() {
        // Recorded as the spec says only when the spec pins that version.
        let mut at = spec.clone();
        if at.platform.chart.version != release.chart_version {
            at = match &u.bundle {
                // A run cut off after the hop: recorded, and the chart put
                // beside the spec's, as when it finishes.
                Some(_) => spec_for_bundle(spec, &release.chart_version),
                None => {
                    at.platform.chart.version = release.chart_version.clone();
                    at
                }
            };
        }
        record_release(&u, &at, &release_as_deployed(&release))?;
        done_nothing(cli, &release)?;
        if let Some(b) = &u.bundle
            && b.version != spec.platform.chart.version
        {
            pin_bundle_chart(cli, &u, b);
        }
        return Ok(());
    }
    let cluster_minor = u.driver.kubernetes_minor().await?;
    let mut steps = Vec::new();
    for minor in &path {
        check_range(*minor, cluster_minor, spec)?;
        steps.push(hop(&u, *minor, &target).await?);
    }
    show(
        cli,
        &u,
        &release,
        &installed,
        &steps,
        cluster_minor,
        args.plan,
    )
    .await?;
    // Air-gapped: every image the new release needs is in the private
    // registry, or nothing starts (no snapshot, no helm).
    if let (Some(options), Some(step)) = (&args.bundle, steps.last()) {
        check_images(cli, &u, options, step, cluster_minor).await?;
    }
    if args.plan {
        return Ok(());
    }
    if !args.yes {
        confirm(&format!(
            "Upgrade `{}` from {installed} to {target} ({} hop(s))?",
            spec.metadata.name,
            steps.len()
        ))
        .await?;
    }
    super::interrupt::applying();
    let recorder = Lines::new(cli);
    // A run cut off (killed) while upgrading to the same version is taken
    // up again as the same operation: its snapshot, named after the
    // operation's start, is waited for instead of being taken twice.
    let resumed = u
        .store
        .snapshot()
        .operations
        .last()
        .filter(|o| o.command == "upgrade" && o.outcome == "running")
        .filter(|o| o.detail["to"] == json!(target.text))
        .map(|o| o.started.clone());
    if resumed.is_some() {
        recorder.progress("taking up the upgrade an interrupted run started");
    }
    let mut op = Operation {
        command: "upgrade".into(),
        started: resumed.unwrap_or_else(now_utc),
        finished: None,
        outcome: "running".into(),
        detail: json!({
            "from": installed.text,
            "to": target.text,
            "hops": steps.iter().map(|s| s.spec.platform.chart.version.clone()).collect::<Vec<_>>(),
            "revisionBefore": release.revision,
        }),
    };
    u.store.put_operation(op.clone())?;
    let snapshot = if args.skip_snapshot {
        recorder.progress("no database snapshot: --skip-snapshot");
        None
    } else {
        snapshot(&u, &target, &op.started, &recorder)
            .await
            .inspect_err(|_| {
                op.outcome = "failed".into();
                op.finished = Some(now_utc());
                op.detail["error"] = "the database snapshot failed; nothing was upgraded".into();
                let _ = u.store.put_operation(op.clone());
            })?
    };
    op.detail["snapshot"] = json!(snapshot);
    u.store.put_operation(op.clone())?;
    let before = u.store.get(&Address::new(graph::HELM_RELEASE));
    let mut last = None;
    for step in &steps {
        match u
            .driver
            .upgrade_release(&step.spec, &step.values_yaml, &recorder)
            .await
        {
            Ok(done) => {
                // Recorded with the spec's own chart source when it pins this
                // version (a bundle's is a temporary folder).
                let props_spec = if step.spec.platform.chart.version == spec.platform.chart.version
                {
                    spec.clone()
                } else if u.bundle.is_some() {
                    spec_for_bundle(spec, &step.spec.platform.chart.version)
                } else {
                    step.spec.clone()
                };
                record_release(&u, &props_spec, &done)?;
                op.detail["revision"] = done.revision.into();
                op.detail["reached"] = done.chart_version.clone().into();
                u.store.put_operation(op.clone())?;
                last = Some(done);
            }
            Err(failed) => {
                return Err(hop_failed(&u, op, before, failed, step, snapshot.as_ref()));
            }
        }
    }
    op.outcome = "succeeded".into();
    op.finished = Some(now_utc());
    u.store.put_operation(op.clone())?;
    let done = last.expect("at least one hop");
    match cli.output {
        Output::Json => print_json(&json!({
            "event": "result",
            "status": "upgraded",
            "from": installed.text,
            "to": done.chart_version,
            "revision": done.revision,
            "loadBalancer": done.load_balancer,
            "snapshot": snapshot,
        })),
        Output::Text => {
            outln!(
                "Upgraded `{}` from {installed} to {} (revision {}).",
                spec.metadata.name,
                done.chart_version,
                done.revision
            );
            if let Some(s) = &snapshot {
                outln!("The database snapshot taken first: {}.", s.location);
            }
        }
    }
    if target.text != spec.platform.chart.version
        && let Some(b) = &u.bundle
    {
        pin_bundle_chart(cli, &u, b);
    } else if target.text != spec.platform.chart.version && cli.output == Output::Text {
        outln!(
            "Set platform.chart.version: {} in {} (the chart archive too), or `liftoff install` will plan to move the release back to {}.",
            target.text,
            cli.file.display(),
            spec.platform.chart.version
        );
    }
    Ok(())
}

/// The release already runs the target: recorded, nothing else.
fn done_nothing(cli: &Cli, release: &ReleaseView) -> Result<(), Error> {
    match cli.output {
        Output::Json => print_json(&json!({
            "event": "result",
            "status": "up-to-date",
            "version": release.chart_version,
            "revision": release.revision,
        })),
        Output::Text => outln!(
            "The release runs chart {} (revision {}, {}) already: nothing to upgrade.",
            release.chart_version,
            release.revision,
            release.status
        ),
    }
    Ok(())
}

fn release_as_deployed(release: &ReleaseView) -> Deployed {
    Deployed {
        revision: release.revision,
        chart_version: release.chart_version.clone(),
        config_digest: release.config_digest.clone(),
        load_balancer: String::new(),
    }
}

/// Snapshots the database first (unless the cloud has none to take).
async fn snapshot(
    u: &Upgrading,
    target: &hops::ChartVersion,
    started: &str,
    recorder: &dyn Recorder,
) -> Result<Option<Snapshot>, Error> {
    let spec = &u.loaded.spec;
    let Some(cloud) = compose::cloud(spec) else {
        recorder.progress(
            "no database snapshot: liftoff manages no database here (external); back it up yourself",
        );
        return Ok(None);
    };
    // Unique to this operation, and the same when an interrupted one is
    // taken up again: the cloud finds the snapshot it began by this label.
    let moment: String = started.chars().filter(char::is_ascii_digit).collect();
    let label = format!("before-{}-{moment}", target.text);
    match cloud
        .snapshot_database(spec, &u.setup, &label, recorder)
        .await
    {
        Ok(Some(s)) => {
            recorder.progress(&format!("database snapshot ready: {}", s.location));
            Ok(Some(s))
        }
        Ok(None) => {
            recorder.progress("no database snapshot: the state records no database liftoff created; back up the external database yourself");
            Ok(None)
        }
        Err(e) => Err(Error::UpgradeFailed {
            message: "the database snapshot before the upgrade failed; nothing was upgraded".into(),
            hint: e
                .hint
                .clone()
                .unwrap_or_else(|| "fix the cause, then run `liftoff upgrade` again".into()),
            cause: Some(e),
        }),
    }
}

/// After a failed hop: the state and operation say where the release is,
/// and the error says where the snapshot is.
fn hop_failed(
    u: &Upgrading,
    mut op: Operation,
    before: Option<Entry>,
    failed: HopFailed,
    step: &Hop,
    snapshot: Option<&Snapshot>,
) -> Error {
    let where_snapshot = snapshot.map_or_else(
        || "no database snapshot was taken".to_string(),
        |s| format!("the database snapshot taken first is {}", s.location),
    );
    op.finished = Some(now_utc());
    op.detail["error"] = crate::chain::one_line(&failed.cause).into();
    let message = match &failed.rolled_back_to {
        Some(done) => {
            // The entry as it was, at the rollback's new revision.
            if let Some(mut entry) = before {
                entry.outputs["revision"] = done.revision.into();
                entry.outputs["configDigest"] = done.config_digest.clone().into();
                let _ = u.store.put(&Address::new(graph::HELM_RELEASE), Some(entry));
            }
            op.outcome = "rolled-back".into();
            op.detail["rolledBackTo"] = done.revision.into();
            format!(
                "the upgrade to chart {} failed and was rolled back: release {} is deployed on chart {} again (revision {}); {where_snapshot}",
                step.spec.platform.chart.version,
                u.loaded.spec.platform.release_name,
                done.chart_version,
                done.revision
            )
        }
        None => {
            op.outcome = "failed".into();
            let why = failed
                .rollback_error
                .as_ref()
                .map(|e| crate::chain::one_line(e))
                .unwrap_or_default();
            op.detail["rollbackError"] = why.clone().into();
            format!(
                "the upgrade to chart {} failed and could not be rolled back ({why}); {where_snapshot}",
                step.spec.platform.chart.version
            )
        }
    };
    let _ = u.store.put_operation(op);
    Error::UpgradeFailed {
        message,
        hint: "fix the cause above (`liftoff status` shows the release's revisions), then run `liftoff upgrade` again; restore the database from the snapshot only if the platform's data needs it".into(),
        cause: Some(failed.cause),
    }
}

/// Records the release as the upgrade or rollback left it, so a plan
/// afterwards compares with it.
fn record_release(u: &Upgrading, props_spec: &Spec, done: &Deployed) -> Result<(), Error> {
    let address = Address::new(graph::HELM_RELEASE);
    let Some(mut entry) = u.store.get(&address) else {
        // Not installed through liftoff: the next install adopts it.
        return Ok(());
    };
    let p = &props_spec.platform;
    entry.status = Status::Ready;
    entry.props = graph::release_props(props_spec, &u.facts);
    let mut outputs = json!({
        "release": p.release_name,
        "namespace": p.namespace,
        "revision": done.revision,
        "configDigest": done.config_digest,
    });
    if !done.load_balancer.is_empty() {
        outputs["loadBalancer"] = done.load_balancer.clone().into();
    } else if let Some(lb) = entry.outputs.get("loadBalancer") {
        outputs["loadBalancer"] = lb.clone();
    }
    entry.outputs = outputs;
    u.store.put(&address, Some(entry))?;
    Ok(())
}

/// Hops, migrations, values diff per hop; with `plan`, the manifest diff too.
async fn show(
    cli: &Cli,
    u: &Upgrading,
    release: &ReleaseView,
    installed: &hops::ChartVersion,
    steps: &[Hop],
    cluster_minor: u32,
    plan: bool,
) -> Result<(), Error> {
    let mut old_values = release.values.clone();
    let mut old_manifest = release.manifest.clone();
    let mut out = Vec::new();
    let mut from = installed.text.clone();
    for step in steps {
        let to = step.spec.platform.chart.version.clone();
        let values_diff = diff::values_diff(
            &old_values,
            &step.values,
            &format!("values of {from} (revision {})", release.revision),
            &format!("values for {to}"),
        );
        let manifests = if plan {
            let rendered = u
                .driver
                .render_chart(&step.spec, &step.values_yaml, &format!("1.{cluster_minor}"))
                .await?;
            let removed =
                crate::cluster::upgrade::apis::removed_uses(&rendered, cluster_minor, "new chart");
            if !removed.is_empty() {
                return Err(refused(
                    format!(
                        "chart {to} renders objects the cluster's Kubernetes 1.{cluster_minor} no longer serves:\n  {}",
                        removed
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("\n  ")
                    ),
                    "pick a chart version made for this Kubernetes version; nothing was changed",
                ));
            }
            let changes = diff::manifest_diff(&old_manifest, &rendered);
            old_manifest = rendered;
            Some(changes)
        } else {
            None
        };
        out.push(json!({
            "from": from,
            "to": to,
            "line": step.minor.to_string(),
            "migrations": step.migrations,
            "valuesDiff": values_diff,
            "manifests": manifests,
        }));
        old_values = step.values.clone();
        from = to;
    }
    match cli.output {
        Output::Json if plan => print_json(&json!({
            "release": u.loaded.spec.platform.release_name,
            "installed": installed.text,
            "revision": release.revision,
            "status": release.status,
            "kubernetes": format!("1.{cluster_minor}"),
            "hops": out,
        })),
        Output::Json => {}
        Output::Text => {
            let mut text = format!(
                "Release {} runs chart {installed} (revision {}, {}) on Kubernetes 1.{cluster_minor}.\nUpgrade path: {}\n",
                u.loaded.spec.platform.release_name,
                release.revision,
                release.status,
                std::iter::once(installed.text.clone())
                    .chain(
                        out.iter()
                            .map(|h| h["to"].as_str().unwrap_or_default().to_string())
                    )
                    .collect::<Vec<_>>()
                    .join(" → ")
            );
            for h in &out {
                text.push_str(&format!(
                    "\n== {} → {}\n",
                    h["from"].as_str().unwrap_or_default(),
                    h["to"].as_str().unwrap_or_default()
                ));
                if let Some(moves) = h["migrations"].as_array().filter(|m| !m.is_empty()) {
                    text.push_str("Values migrated for this chart line:\n");
                    for m in moves {
                        match m["to"].as_str() {
                            Some(to) => text.push_str(&format!(
                                "  platform.values.{} → {to} ({})\n",
                                m["from"].as_str().unwrap_or_default(),
                                m["note"].as_str().unwrap_or_default()
                            )),
                            None => text.push_str(&format!(
                                "  platform.values.{} dropped ({})\n",
                                m["from"].as_str().unwrap_or_default(),
                                m["note"].as_str().unwrap_or_default()
                            )),
                        }
                    }
                    text.push_str("  Update platform.values in the spec to the new keys.\n");
                }
                match h["valuesDiff"].as_str() {
                    Some("") | None => text.push_str("Values: unchanged.\n"),
                    Some(d) => text.push_str(&format!("Values (secrets redacted):\n{d}")),
                }
                if let Some(changes) = h["manifests"].as_array() {
                    if changes.is_empty() {
                        text.push_str("Manifests: unchanged.\n");
                    } else {
                        text.push_str(&format!(
                            "Manifests: {} object(s) change (secrets redacted):\n",
                            changes.len()
                        ));
                        for c in changes {
                            text.push_str(&format!(
                                "  {} {}\n",
                                c["change"].as_str().unwrap_or_default(),
                                c["object"].as_str().unwrap_or_default()
                            ));
                        }
                        for c in changes {
                            text.push_str(c["diff"].as_str().unwrap_or_default());
                        }
                    }
                }
            }
            if plan {
                text.push_str("\nNothing was changed (--plan).\n");
            }
            out!("{text}");
        }
    }
    Ok(())
}

/// Asks on the terminal; refuses without one (exit 3).
async fn confirm(question: &str) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::Input(
            "this needs confirmation, and there is no terminal to ask on; nothing was changed"
                .into(),
            Some(
                "pass --yes to go ahead without a prompt (`--plan` shows what would change)".into(),
            ),
        ));
    }
    eprint!("{question} Type yes to continue: ");
    if super::commands::read_answer().await? != "yes" {
        return Err(Error::Input(
            "not confirmed; nothing was changed".into(),
            Some("answer `yes`, or pass --yes".into()),
        ));
    }
    Ok(())
}
