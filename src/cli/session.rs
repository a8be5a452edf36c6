//! What a command that plans works with: the loaded spec, its drivers, the
//! locked state and the desired resources, plus the checks made before
//! planning.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::progress;
use super::{Cli, Output};
use crate::cluster::graph::Facts;
use crate::compose::{self, Phase};
use crate::error::Error;
use crate::plan::apply::{Engine, Fault, Options};
use crate::plan::driver::Drivers;
use crate::plan::state::Store;
use crate::plan::{Plan, Resource, compute};
use crate::spec::Loaded;

/// Everything a command that plans needs: the spec, its drivers, the locked
/// state and the desired resources.
pub(super) struct Session {
    pub phase: Phase,
    pub loaded: Loaded,
    pub drivers: Drivers,
    pub store: Arc<Store>,
    pub desired: Vec<Resource>,
}

impl Session {
    pub(super) fn name(&self) -> &str {
        &self.loaded.spec.metadata.name
    }

    /// The state of the resources this run's phase covers.
    pub(super) fn state(&self) -> crate::plan::state::State {
        self.phase.state(&self.store.snapshot())
    }

    pub(super) async fn observe(
        &self,
        parallelism: usize,
        cli: &Cli,
    ) -> Result<compute::Observations, Error> {
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

    pub(super) async fn plan_install(&self, parallelism: usize, cli: &Cli) -> Result<Plan, Error> {
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

    pub(super) async fn apply(
        &self,
        plan: &Plan,
        parallelism: usize,
        cli: &Cli,
    ) -> Result<(), Error> {
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
        // Ctrl-C is handled for the whole command (`super::interrupt`).
        super::interrupt::applying();
        let summary = engine.apply(plan).await?;
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

pub(super) fn load(cli: &Cli) -> Result<Loaded, Error> {
    let mut loaded = compose::load(&cli.file)?;
    // `install --bundle`: the bundle's chart (and helm), verified first.
    if let super::Command::Install { bundle, .. } = &cli.command
        && let Some(options) = bundle.install()
    {
        super::bundle::prepare_install(&options, &mut loaded)?;
    }
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
pub(super) enum Intent {
    Install,
    /// `upgrade --kubernetes`: an install of the cloud phase in which the
    /// cluster's Kubernetes version may change in place.
    KubernetesUpgrade,
    Destroy {
        skip_final_snapshot: bool,
    },
}

pub(super) fn open(cli: &Cli, intent: Intent) -> Result<Session, Error> {
    let loaded = load(cli)?;
    let dir = state_dir(cli, &loaded);
    let store = Arc::new(Store::open(&dir, &loaded.spec.metadata.name)?);
    let setup = crate::providers::Setup {
        state_dir: dir.clone(),
        skip_final_snapshot: matches!(
            intent,
            Intent::Destroy {
                skip_final_snapshot: true
            }
        ),
        records: Some(store.clone()),
        kubernetes_upgrade: intent == Intent::KubernetesUpgrade,
    };
    let (inputs, checks, facts) = match intent {
        // The certificate checks doctor shows, so the preflights agree.
        Intent::Install | Intent::KubernetesUpgrade => {
            let (inputs, _, facts) = cluster_inputs(cli, &loaded, &dir)?;
            (inputs, certificate_checks(cli, &loaded), facts)
        }
        // Every secret liftoff may have made is looked for.
        Intent::Destroy { .. } => (
            Default::default(),
            Vec::new(),
            compose::facts(&loaded.spec, true),
        ),
    };
    let drivers = compose::drivers(&loaded, &setup, inputs, checks)?;
    let phase = match intent {
        Intent::KubernetesUpgrade => Phase::Cloud,
        _ => cli.phase(),
    };
    let mut desired = compose::desired(&loaded.spec, &facts);
    desired.retain(|r| phase.includes(&r.address));
    Ok(Session {
        phase,
        loaded,
        drivers,
        store,
        desired,
    })
}

/// The certificate (checked; the sandbox's kept in the state folder) and
/// the chart values rendered for it, as the cluster phase's inputs, with
/// the certificate's warnings as preflight checks.
pub(super) fn cluster_inputs(
    cli: &Cli,
    loaded: &Loaded,
    state_dir: &Path,
) -> Result<
    (
        crate::cluster::Inputs,
        Vec<crate::cluster::preflight::Check>,
        Facts,
    ),
    Error,
> {
    use crate::cluster::preflight::{Check, Status};
    let spec = &loaded.spec;
    let material = crate::tls::load_kept(spec, &loaded.base_dir, state_dir)?;
    let facts = compose::facts(spec, material.private_ca_pem.is_some());
    let render_inputs = compose::render_inputs(spec, facts.private_ca);
    let values = crate::render::values_yaml(spec, &render_inputs)?;
    // The values for a cluster running the cloud's load balancer controller:
    // the cluster phase picks them when its preflight finds the controller.
    let values_with_controller = match render_inputs.load_balancer.controller_annotations {
        Some(_) => Some(crate::render::values_yaml(
            spec,
            &crate::render::Inputs {
                load_balancer_controller: true,
                ..render_inputs
            },
        )?),
        None => None,
    };
    let checks = material
        .warnings
        .iter()
        .map(|w| Check::new("certificate", Status::Warn, w.clone()))
        .collect();
    if cli.output == Output::Text {
        for w in &material.warnings {
            eprintln!("warning: {w}");
        }
        for m in crate::render::migrations(spec) {
            eprintln!(
                "warning: moved for chart {}: {m}",
                spec.platform.chart.version
            );
        }
    }
    let inputs = crate::cluster::Inputs {
        tls_chain_pem: Some(material.chain_pem),
        tls_key_pem: Some(material.key_pem),
        private_ca_pem: material.private_ca_pem,
        values_yaml: Some(values),
        values_yaml_with_controller: values_with_controller,
        ..Default::default()
    };
    Ok((inputs, checks, facts))
}

pub(super) fn state_dir(cli: &Cli, loaded: &Loaded) -> PathBuf {
    cli.state_dir
        .clone()
        .unwrap_or_else(|| loaded.base_dir.join(".liftoff"))
}

/// Checks that must pass before planning: the cloud checks the existing
/// resources the spec names (an existing network is validated; nothing is
/// created or deleted in it).
pub(super) async fn preflight(
    cli: &Cli,
    session: &Session,
    tag_subnets: bool,
) -> Result<(), Error> {
    let spec = &session.loaded.spec;
    let Some(cloud) = compose::cloud(spec) else {
        return Ok(());
    };
    let report = cloud.preflight(spec, tag_subnets).await?;
    if cli.output == Output::Text {
        for note in &report.notes {
            eprintln!("{note}");
        }
    }
    if !report.problems.is_empty() {
        return Err(Error::Input(
            format!(
                "the existing network is not usable:\n  - {}",
                report.problems.join("\n  - ")
            ),
            report.hint,
        ));
    }
    Ok(())
}

/// The certificate as preflight checks: a failure, or a pass and its warnings.
pub(super) fn certificate_checks(
    cli: &Cli,
    loaded: &Loaded,
) -> Vec<crate::cluster::preflight::Check> {
    use crate::cluster::preflight::{Check, Status};
    let spec = &loaded.spec;
    match crate::tls::load_kept(spec, &loaded.base_dir, &state_dir(cli, loaded)) {
        Err(e) => {
            let check = Check::new("certificate", Status::Fail, crate::chain::one_line(&e));
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
