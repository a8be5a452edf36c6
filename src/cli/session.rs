//! What a command that plans works with: the loaded spec, its drivers, the
//! locked state and the desired resources, plus the checks made before
//! planning.

use std::path::Path;
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
    /// Where liftoff's generated secrets are kept, beside the state.
    pub secrets: Arc<dyn crate::secret::Vault>,
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
        let summary = engine.apply(plan).await.map_err(|mut e| {
            // A state write that failed stops the apply: say it as such.
            match e
                .source
                .take()
                .map(|s| s.downcast::<crate::plan::state::StateError>())
            {
                Some(Ok(state)) => Error::State(*state),
                Some(Err(other)) => {
                    e.source = Some(other);
                    Error::Driver(e)
                }
                None => Error::Driver(e),
            }
        })?;
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
    let loaded = compose::load(&cli.file)?;
    // `install --bundle`: the bundle's chart (and helm), verified first.
    if let super::Command::Install { bundle, .. } = &cli.command
        && let Some(options) = bundle.install()
    {
        super::bundle::prepare_install(&options, &loaded)?;
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
    let opened = crate::state::open(&settings(cli, &loaded)?, &loaded.spec.metadata.name)?;
    warn(cli, &opened.warnings);
    let store = Arc::new(opened.store);
    let secrets: Arc<dyn crate::secret::Vault> = opened.secrets;
    let setup = crate::providers::Setup {
        secrets: secrets.clone(),
        skip_final_snapshot: matches!(
            intent,
            Intent::Destroy {
                skip_final_snapshot: true
            }
        ),
        kubernetes_upgrade: intent == Intent::KubernetesUpgrade,
        records: Some(store.clone()),
    };
    let (inputs, checks, facts) = match intent {
        // The certificate checks doctor shows, so the preflights agree.
        Intent::Install | Intent::KubernetesUpgrade => {
            let (inputs, _, facts) = cluster_inputs(cli, &loaded, secrets.as_ref())?;
            (inputs, certificate_checks(&loaded, secrets.as_ref()), facts)
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
        secrets,
        desired,
    })
}

/// The certificate (checked; the sandbox's kept in the state folder) and
/// the chart values rendered for it, as the cluster phase's inputs, with
/// the certificate's warnings as preflight checks.
pub(super) fn cluster_inputs(
    cli: &Cli,
    loaded: &Loaded,
    secrets: &dyn crate::secret::Vault,
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
    let material = crate::tls::load_kept(spec, &loaded.base_dir, secrets)?;
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

/// Where the state lives, and a bucket lock's lease: `--state URL`, else
/// `--state-dir`, else the spec's `state:`, else `.liftoff` next to the
/// spec. `LIFTOFF_LOCK_LEASE` overrides `state.lockLease`.
pub(super) fn settings(cli: &Cli, loaded: &Loaded) -> Result<crate::state::Settings, Error> {
    use crate::state::Location;
    let spec_state = loaded.spec.state.clone().unwrap_or_default();
    let from_spec = Location::from_spec(&spec_state, &loaded.base_dir)?;
    let location = match (&cli.state, &cli.state_dir) {
        (Some(url), _) => {
            let mut location = Location::parse(url, Path::new(""))?;
            // The spec's bucket options apply to a URL of the same kind.
            match (&mut location, &spec_state) {
                (
                    Location::S3 {
                        region, kms_key, ..
                    },
                    s,
                ) if s.backend == crate::spec::model::StateBackend::S3 => {
                    *region = s.region.clone();
                    *kms_key = s.kms_key.clone();
                }
                (
                    Location::Gcs {
                        endpoint, kms_key, ..
                    },
                    s,
                ) if s.backend == crate::spec::model::StateBackend::Gcs => {
                    *endpoint = s.endpoint.clone();
                    *kms_key = s.kms_key.clone();
                }
                _ => {}
            }
            location
        }
        (None, Some(dir)) => Location::Local(dir.clone()),
        (None, None) => {
            from_spec.unwrap_or_else(|| Location::Local(loaded.base_dir.join(".liftoff")))
        }
    };
    let lease_text = std::env::var("LIFTOFF_LOCK_LEASE")
        .ok()
        .or(spec_state.lock_lease.clone());
    let lease = match lease_text {
        None => crate::state::DEFAULT_LEASE,
        Some(text) => crate::spec::model::parse_duration(&text)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                Error::Input(
                    format!("invalid lock lease `{text}`"),
                    Some("give a duration such as `90s` or `2m` (state.lockLease, LIFTOFF_LOCK_LEASE)".into()),
                )
            })?,
    };
    Ok(crate::state::Settings { location, lease })
}

/// Prints warnings on stderr (both outputs: stdout carries only the document).
pub(super) fn warn(_cli: &Cli, warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
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
    loaded: &Loaded,
    secrets: &dyn crate::secret::Vault,
) -> Vec<crate::cluster::preflight::Check> {
    use crate::cluster::preflight::{Check, Status};
    let spec = &loaded.spec;
    match crate::tls::load_kept(spec, &loaded.base_dir, secrets) {
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
