//! `upgrade --bundle`: the bundle's chart as the one hop's target, the
//! private registry checked for every image the new release needs before
//! anything changes, and the chart copied beside the spec's afterwards.

use super::*;

/// The spec as it will read once it pins the bundle's chart `version`: a
/// local archive named `<chart>-<version>.tgz` beside the one it names now
/// (what `upgrade --bundle` copies there), so the release is recorded as
/// that spec plans it.
pub(super) fn spec_for_bundle(spec: &Spec, version: &str) -> Spec {
    let mut at = spec.clone();
    if let Some(repository) = archive_beside(&spec.platform.chart, version) {
        at.platform.chart.repository = repository;
    }
    at.platform.chart.version = version.to_string();
    at
}

/// `<chart>-<version>.tgz` in the folder of the spec's local chart archive,
/// written as the spec writes paths; none for a chart from a registry.
pub(super) fn archive_beside(chart: &crate::spec::Chart, version: &str) -> Option<String> {
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
pub(super) fn pin_bundle_chart(cli: &Cli, u: &Upgrading, b: &crate::cli::bundle::BundleChart) {
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
pub(super) fn bundle_target<'a>(
    b: &'a crate::cli::bundle::BundleChart,
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
pub(super) async fn check_images(
    cli: &Cli,
    u: &Upgrading,
    options: &crate::cli::bundle::InstallBundle<'_>,
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
    let found = crate::cli::bundle::check_upgrade_images(options, &u.loaded, &images).await?;
    if cli.output == Output::Text {
        outln!(
            "The private registry {registry} has every image the upgrade needs: the bundle's {} (by digest) and the {} the new chart names (by tag).",
            found.of_bundle,
            found.of_chart
        );
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
