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

/// The spec as it will read once it pins the bundle's chart `version`: a
/// local archive named `<chart>-<version>.tgz` beside the one it names now
/// (what `upgrade --bundle` copies there), so the release is recorded as
/// that spec plans it.
fn spec_for_bundle(spec: &Spec, version: &str) -> Spec {
    let mut at = spec.clone();
    if let Some(repository) = archive_beside(&spec.platform.chart, version) {
        at.platform.chart.repository = repository;
    }
    at.platform.chart.version = version.to_string();
    at
}

/// `<chart>-<version>.tgz` in the folder of the spec's local chart archive,
/// written as the spec writes paths; none for a chart from a registry.
fn archive_beside(chart: &crate::spec::Chart, version: &str) -> Option<String> {
    let repository = chart.repository.trim_end_matches('/');
    if !repository.ends_with(".tgz") || repository.contains("://") {
        return None;
    }
    let file = format!("{}-{version}.tgz", chart.name);
    Some(match repository.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{file}"),
        None => file,
    })
}

/// After `upgrade --bundle` to a version the spec does not pin: the
/// bundle's (verified) chart archive copied beside the spec's, unless a
/// file is there already, and the two lines to change in the spec.
fn pin_bundle_chart(cli: &Cli, u: &Upgrading, b: &super::bundle::BundleChart) {
    let spec = &u.loaded.spec;
    let beside = archive_beside(&spec.platform.chart, &b.version);
    let mut copied = String::new();
    if let Some(repository) = &beside {
        let path = u.loaded.base_dir.join(repository);
        if !path.exists() {
            match std::fs::copy(&b.archive, &path) {
                Ok(_) => copied = " (the bundle's chart, copied there)".into(),
                Err(e) => warn(
                    cli,
                    &[format!(
                        "cannot copy the bundle's chart to {}: {e}",
                        path.display()
                    )],
                ),
            }
        }
    }
    if cli.output != Output::Text {
        return;
    }
    let repository = beside
        .map(|r| format!(" and platform.chart.repository: {r}{copied}"))
        .unwrap_or_default();
    outln!(
        "Set platform.chart.version: {}{repository} in {}, or `liftoff install` will plan to move the release back to {}.",
        b.version,
        cli.file.display(),
        spec.platform.chart.version
    );
}

/// `upgrade --bundle`'s target: the bundle's chart version. A different
/// `--to` is refused, and so is `--through` (a bundle carries one chart).
fn bundle_target<'a>(
    b: &'a super::bundle::BundleChart,
    args: &UpgradeArgs<'_>,
) -> Result<&'a str, Error> {
    if let Some(to) = args.to
        && to.trim_start_matches('v') != b.version
    {
        return Err(refused(
            format!(
                "--to {to} differs from the bundle's chart version ({} {})",
                b.name, b.version
            ),
            format!(
                "a bundle upgrades to its own chart: leave --to out (or give --to {}), or use the bundle made for {to}; nothing was changed",
                b.version
            ),
        ));
    }
    if args.through {
        return Err(refused(
            "--through takes several charts, and a bundle carries one",
            "upgrade one hop at a time, with one bundle per hop (`liftoff upgrade --bundle` with each in turn); nothing was changed",
        ));
    }
    Ok(&b.version)
}

/// Renders the bundle's chart with the upgrade's values and refuses,
/// naming each, an image outside the private registry, then an image the
/// registry lacks (the bundle's by digest, the chart's by tag).
async fn check_images(
    cli: &Cli,
    u: &Upgrading,
    options: &super::bundle::InstallBundle<'_>,
    step: &Hop,
    cluster_minor: u32,
) -> Result<(), Error> {
    let registry = u
        .loaded
        .spec
        .airgap
        .as_ref()
        .and_then(|a| a.registry.as_ref())
        .map(|r| r.repository.trim_end_matches('/').to_string())
        .unwrap_or_default();
    let rendered = u
        .driver
        .render_chart(&step.spec, &step.values_yaml, &format!("1.{cluster_minor}"))
        .await?;
    let images: Vec<String> = crate::bundle::images::from_manifests(&rendered)?
        .into_iter()
        .collect();
    let outside: Vec<&String> = images
        .iter()
        .filter(|i| !i.starts_with(&format!("{registry}/")))
        .collect();
    if !outside.is_empty() {
        return Err(refused(
            format!(
                "chart {} rendered with the upgrade's values pulls {} image(s) from outside the private registry {registry}: {}",
                step.spec.platform.chart.version,
                outside.len(),
                outside
                    .iter()
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "air-gapped, every image must come from airgap.registry.repository: remove image overrides under platform.values that name another registry; nothing was changed",
        ));
    }
    let found = super::bundle::check_upgrade_images(options, &u.loaded, &images).await?;
    if cli.output == Output::Text {
        outln!(
            "The private registry {registry} has every image the upgrade needs: the bundle's {} (by digest) and the {} the new chart names (by tag).",
            found.of_bundle,
            found.of_chart
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

pub(super) async fn rollback(cli: &Cli, revision: Option<u64>, yes: bool) -> Result<(), Error> {
    let u = open(cli, None)?;
    let spec = &u.loaded.spec;
    let release = u.driver.release_view().await?.ok_or_else(|| {
        refused(
            format!(
                "release {} is not installed in namespace {}: there is nothing to roll back",
                spec.platform.release_name, spec.platform.namespace
            ),
            "install the platform first: `liftoff install`",
        )
    })?;
    let to = match revision {
        Some(r) => {
            if !release.revisions.iter().any(|x| x.revision == r) {
                return Err(refused(
                    format!(
                        "release {} has no revision {r} (it has {})",
                        spec.platform.release_name,
                        release
                            .revisions
                            .iter()
                            .map(|x| x.revision.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "`liftoff status` lists the revisions Helm keeps",
                ));
            }
            r
        }
        None => release.previous().ok_or_else(|| {
            refused(
                format!(
                    "release {} has no earlier deployed revision to roll back to",
                    spec.platform.release_name
                ),
                "`liftoff status` lists the revisions Helm keeps",
            )
        })?,
    };
    let chart = release
        .revisions
        .iter()
        .find(|r| r.revision == to)
        .map(|r| r.chart_version().to_string())
        .unwrap_or_default();
    if cli.output == Output::Text {
        outln!(
            "Release {} is at revision {} (chart {}, {}); rolling back to revision {to} (chart {chart}).",
            spec.platform.release_name,
            release.revision,
            release.chart_version,
            release.status
        );
    }
    if !yes {
        confirm(&format!(
            "Roll `{}` back to revision {to}?",
            spec.metadata.name
        ))
        .await?;
    }
    super::interrupt::applying();
    let recorder = Lines::new(cli);
    let mut op = Operation {
        command: "rollback".into(),
        started: now_utc(),
        finished: None,
        outcome: "running".into(),
        detail: json!({"from": release.revision, "to": to, "chart": chart}),
    };
    u.store.put_operation(op.clone())?;
    match u.driver.rollback_release(to, &recorder).await {
        Ok(done) => {
            // The spec's digest no longer describes what runs: the next
            // install plans the spec's chart and values again.
            let mut rolled = spec.clone();
            rolled.platform.chart.version = done.chart_version.clone();
            record_release(&u, &rolled, &done)?;
            if let Some(mut entry) = u.store.get(&Address::new(graph::HELM_RELEASE)) {
                entry.props["valuesDigest"] = format!("rolled back to revision {to}").into();
                u.store
                    .put(&Address::new(graph::HELM_RELEASE), Some(entry))?;
            }
            op.outcome = "succeeded".into();
            op.finished = Some(now_utc());
            op.detail["revision"] = done.revision.into();
            u.store.put_operation(op)?;
            match cli.output {
                Output::Json => print_json(&json!({
                    "event": "result",
                    "status": "rolled-back",
                    "revision": done.revision,
                    "chart": done.chart_version,
                    "rolledBackTo": to,
                })),
                Output::Text => {
                    outln!(
                        "Rolled back: release {} is deployed on chart {} (revision {}, a copy of revision {to}).",
                        spec.platform.release_name,
                        done.chart_version,
                        done.revision
                    );
                    outln!(
                        "The database was not restored: if an upgrade changed its schema, restore the snapshot taken before it (`liftoff status` shows the last operation)."
                    );
                }
            }
            Ok(())
        }
        Err(e) => {
            op.outcome = "failed".into();
            op.finished = Some(now_utc());
            op.detail["error"] = crate::chain::one_line(&e).into();
            let _ = u.store.put_operation(op);
            Err(Error::UpgradeFailed {
                message: format!("the rollback to revision {to} failed"),
                hint: e.hint.clone().unwrap_or_else(|| {
                    "fix the cause above, then run `liftoff rollback` again".into()
                }),
                cause: Some(e),
            })
        }
    }
}

/// The release's part of `status`: installed version and revisions, read
/// from the cluster when it can be reached within a few seconds.
pub(super) async fn release_status(cli: &Cli, loaded: &Loaded) -> Value {
    let secrets: Arc<dyn crate::secret::Vault> = match settings(cli, loaded)
        .map_err(|e| e.to_string())
        .and_then(|s| crate::state::secrets(&s.location).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => return json!({"error": e}),
    };
    let setup = Setup {
        secrets: secrets.clone(),
        skip_final_snapshot: false,
        kubernetes_upgrade: false,
        // Read only: no lock taken (status works during another run).
        records: None,
    };
    let mut unused = crate::plan::driver::Drivers::new();
    let handoff =
        match compose::cloud(&loaded.spec).map(|c| c.register(&loaded.spec, &setup, &mut unused)) {
            Some(Ok(h)) => h,
            Some(Err(e)) => return json!({"error": e.message}),
            None => Default::default(),
        };
    let driver = crate::cluster::build(
        &loaded.spec,
        &loaded.base_dir,
        handoff,
        Default::default(),
        Vec::new(),
    );
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(20), driver.release_view()).await;
    match read {
        Err(_) => json!({"error": "the cluster did not answer within 20 seconds"}),
        Ok(Err(e)) => json!({"error": crate::chain::one_line(&e)}),
        Ok(Ok(None)) => json!({"installed": false}),
        Ok(Ok(Some(r))) => json!({
            "installed": true,
            "status": r.status,
            "revision": r.revision,
            "chartVersion": r.chart_version,
            "revisions": r.revisions,
        }),
    }
}

/// `liftoff upgrade --kubernetes 1.N`: the cluster liftoff created, to the
/// version `cluster.kubernetesVersion` says. Refused first when the
/// installed platform is not tested with it, or when an object of the
/// deployed release or of the chart rendered for it uses an API version it
/// removed. Then the cloud phase's plan with the version change made in
/// place (the control plane one minor at a time, then the node groups),
/// shown, confirmed and applied.
pub(super) async fn kubernetes(
    cli: &Cli,
    version: &str,
    plan: bool,
    yes: bool,
) -> Result<(), Error> {
    let loaded = load(cli)?;
    let spec = &loaded.spec;
    let wanted = version.trim_start_matches('v');
    let target: u32 = match wanted.split_once('.') {
        Some(("1", minor)) => minor.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        refused(
            format!("`{version}` is not a Kubernetes version 1.N"),
            "for example --kubernetes 1.34",
        )
    })?;
    if spec.cluster.mode != crate::spec::Mode::Create {
        return Err(refused(
            "liftoff upgrades Kubernetes only on a cluster it created (cluster.mode: create)",
            "upgrade an existing cluster with its own tools; liftoff's preflight checks the platform supports the version it runs",
        ));
    }
    if compose::cloud(spec).is_none() {
        return Err(refused(
            format!(
                "this build of liftoff has no {:?} cloud to upgrade the cluster with",
                spec.cloud.provider
            )
            .to_lowercase(),
            "upgrade the cluster in the cloud's console or CLI, then set cluster.kubernetesVersion to the version it runs",
        ));
    }
    let pinned = spec.cluster.kubernetes_version.as_deref().unwrap_or("");
    if pinned.trim_start_matches('v') != wanted {
        return Err(refused(
            format!("the spec says cluster.kubernetesVersion: \"{pinned}\", not {wanted}"),
            format!(
                "set cluster.kubernetesVersion: \"{wanted}\" in the spec first, so later plans agree with the cluster"
            ),
        ));
    }
    // The platform must be fit for the new version (checked on the cluster
    // as it is, before anything changes).
    {
        let u = open(cli, None)?;
        let current = u.driver.kubernetes_minor().await?;
        if current >= target {
            if cli.output == Output::Text {
                outln!(
                    "The cluster runs Kubernetes 1.{current} already: checking the node groups."
                );
            }
        } else if target > current + 1 && cli.output == Output::Text {
            outln!(
                "The control plane goes 1.{current} → {} one minor at a time.",
                (current + 1..=target)
                    .map(|m| format!("1.{m}"))
                    .collect::<Vec<_>>()
                    .join(" → ")
            );
        }
        if let Some(release) = u.driver.release_view().await? {
            let running = release.running_version();
            let forced =
                spec.platform.values.get("forceIncompatibleKubernetes") == Some(&Value::Bool(true));
            if let Some((lo, hi)) = crate::cluster::preflight::tested_range(&running)
                && !(lo..=hi).contains(&target)
                && !forced
            {
                return Err(refused(
                    format!(
                        "the installed platform (chart {running}) is tested with Kubernetes 1.{lo}–1.{hi}, not 1.{target}"
                    ),
                    "upgrade the platform to a chart version tested with it first (`liftoff upgrade`); nothing was changed",
                ));
            }
            let mut removed = crate::cluster::upgrade::apis::removed_uses(
                &release.manifest,
                target,
                "deployed release",
            );
            let minor = hops::ChartVersion::parse(&running).map(|v| v.minor_line());
            if let (Some(minor), Some(v)) = (minor, hops::ChartVersion::parse(&running))
                && v.text == spec.platform.chart.version
            {
                let step = hop(&u, minor, &v).await?;
                let rendered = u
                    .driver
                    .render_chart(&step.spec, &step.values_yaml, &format!("1.{target}"))
                    .await?;
                removed.extend(crate::cluster::upgrade::apis::removed_uses(
                    &rendered,
                    target,
                    "chart rendered for the new version",
                ));
            }
            if !removed.is_empty() {
                return Err(refused(
                    format!(
                        "objects use API versions Kubernetes 1.{target} no longer serves:\n  {}",
                        removed
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("\n  ")
                    ),
                    "upgrade the platform (or the objects) to current API versions first; nothing was changed",
                ));
            }
        }
    }
    let session = super::session::open(cli, super::session::Intent::KubernetesUpgrade)?;
    let caller = super::caller::identify(cli, spec).await?;
    let planned = session.plan_install(10, cli).await?;
    if cli.output == Output::Text || plan {
        match cli.output {
            Output::Text => out!(
                "{}{}",
                caller.map(|c| format!("{c}\n")).unwrap_or_default(),
                crate::plan::display::render_styled(
                    &planned,
                    super::colour_on(std::io::stdout().is_terminal())
                )
            ),
            Output::Json => print_json(&planned),
        }
    }
    if plan || planned.is_noop() {
        if planned.is_noop() && cli.output == Output::Json && !plan {
            print_json(&json!({"event": "result", "status": "up-to-date"}));
        }
        return Ok(());
    }
    if !yes {
        confirm(&format!(
            "Upgrade the Kubernetes of `{}` to {wanted}?",
            spec.metadata.name
        ))
        .await?;
    }
    let mut op = Operation {
        command: "upgrade-kubernetes".into(),
        started: now_utc(),
        finished: None,
        outcome: "running".into(),
        detail: json!({"to": wanted}),
    };
    session.store.put_operation(op.clone())?;
    let applied = session.apply(&planned, 10, cli).await;
    op.finished = Some(now_utc());
    op.outcome = if applied.is_ok() {
        "succeeded"
    } else {
        "failed"
    }
    .into();
    session.store.put_operation(op)?;
    applied?;
    match cli.output {
        Output::Json => {
            print_json(&json!({"event": "result", "status": "upgraded", "kubernetes": wanted}))
        }
        Output::Text => outln!(
            "Kubernetes of `{}` upgraded to {wanted}: control plane, then node groups.",
            spec.metadata.name
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::archive_beside;

    fn chart(repository: &str) -> crate::spec::Chart {
        crate::spec::Chart {
            repository: repository.into(),
            name: "astronomer".into(),
            version: "0.37.7".into(),
        }
    }

    #[test]
    fn the_bundle_chart_goes_beside_the_spec_archive_written_as_the_spec_writes_it() {
        for (repository, beside) in [
            ("./astronomer-0.37.7.tgz", Some("./astronomer-0.37.8.tgz")),
            ("astronomer-0.37.7.tgz", Some("astronomer-0.37.8.tgz")),
            ("charts/old.tgz", Some("charts/astronomer-0.37.8.tgz")),
            (
                "/srv/charts/astronomer-0.37.7.tgz",
                Some("/srv/charts/astronomer-0.37.8.tgz"),
            ),
            ("oci://registry.internal/charts/astronomer", None),
            ("https://helm.astronomer.io", None),
        ] {
            assert_eq!(
                archive_beside(&chart(repository), "0.37.8").as_deref(),
                beside,
                "{repository}"
            );
        }
    }
}
