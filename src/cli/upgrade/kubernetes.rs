//! `liftoff upgrade --kubernetes 1.N`: the cluster's Kubernetes, through
//! the cloud phase's plan, after the platform and removed-API checks.

use super::*;

/// `liftoff upgrade --kubernetes 1.N`: the cluster liftoff created, to the
/// version `cluster.kubernetesVersion` says. Refused first when the
/// installed platform is not tested with it, or when an object of the
/// deployed release or of the chart rendered for it uses an API version it
/// removed. Then the cloud phase's plan with the version change made in
/// place (the control plane one minor at a time, then the node groups),
/// shown, confirmed and applied.
pub(in crate::cli) async fn kubernetes(
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
    let session = crate::cli::session::open(cli, crate::cli::session::Intent::KubernetesUpgrade)?;
    let caller = crate::cli::caller::identify(cli, spec).await?;
    let planned = session.plan_install(10, cli).await?;
    if cli.output == Output::Text || plan {
        match cli.output {
            Output::Text => out!(
                "{}{}",
                caller.map(|c| format!("{c}\n")).unwrap_or_default(),
                crate::plan::display::render_styled(
                    &planned,
                    crate::cli::colour_on(std::io::stdout().is_terminal())
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
