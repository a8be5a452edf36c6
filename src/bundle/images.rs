//! The images the platform pulls: every container, init container and
//! ephemeral container image of the chart rendered with every
//! image-affecting feature on, plus the images the chart's values hand to
//! Airflow deployments later (`global.airflow.images.*`, the git-sync
//! relay, the cert generator), which no manifest of the platform names, and
//! the Astro Runtime images of every version the runtime versions file
//! (`--runtime-versions`) offers to new deployments.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;

use serde_json::{Value, json};

use super::BundleError;
use crate::cluster::helm::Helm;
use crate::render::ChartLine;
use crate::spec::Spec;

/// A Kubernetes version inside every supported chart line's tested range.
const KUBE_VERSION: &str = "1.33.0";

/// Values that turn on every optional part of the chart that brings an
/// image of its own (in-chart database and its exporter, sidecars, the
/// DaemonSet that adds a CA to nodes, JetStream, pgbouncer, node exporter…).
pub fn features_on(line: ChartLine) -> Value {
    match line {
        ChartLine::V0_37 | ChartLine::V1 => json!({"global": {
            "postgresqlEnabled": true,
            "prometheusPostgresExporterEnabled": true,
            "nats": {"jetStream": {"enabled": true}},
            "dagOnlyDeployment": {"enabled": true},
            "loggingSidecar": {"enabled": true},
            "authSidecar": {"enabled": true},
            "privateCaCerts": ["private-root-ca"],
            "privateCaCertsAddToHost": {"enabled": true},
            "pgbouncer": {"enabled": true},
            "airflowOperator": {"enabled": true},
        }}),
        ChartLine::V2 => json!({"global": {
            "postgresql": {"enabled": true},
            "prometheusPostgresExporter": {"enabled": true},
            "nodeExporter": {"enabled": true},
            "cadvisor": {"enabled": true},
            "nats": {"jetStream": {"enabled": true}},
            "authSidecar": {"enabled": true},
            "privateCaCerts": ["private-root-ca"],
            "privateCaCertsAddToHost": {"enabled": true},
            "airflowOperator": {"enabled": true},
        }}),
    }
}

/// Every `image` of a container, init container or ephemeral container in
/// the manifests (`helm template` output, any number of documents). Read
/// from the YAML event stream, so what Helm accepts and a strict reader
/// refuses (a key twice in one mapping, which the real chart renders) does
/// not get in the way.
pub fn from_manifests(text: &str) -> Result<BTreeSet<String>, BundleError> {
    use saphyr_parser::{Event, Parser};
    enum Frame {
        Map {
            key: Option<String>,
            container: bool,
            as_key: bool,
        },
        Seq {
            containers: bool,
            as_key: bool,
        },
    }
    fn is_key_slot(stack: &[Frame]) -> bool {
        matches!(stack.last(), Some(Frame::Map { key: None, .. }))
    }
    // A value (or key) ended in the frame on top.
    fn done(stack: &mut [Frame], was_key: bool) {
        if let Some(Frame::Map { key, .. }) = stack.last_mut() {
            *key = if was_key { Some(String::new()) } else { None };
        }
    }
    let mut out = BTreeSet::new();
    let mut stack: Vec<Frame> = Vec::new();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            BundleError::Input(
                format!(
                    "cannot read the rendered chart: line {}: {}",
                    e.marker().line(),
                    e.info()
                ),
                None,
            )
        })?;
        let _ = span;
        match event {
            Event::Scalar(value, ..) => match stack.last_mut() {
                Some(Frame::Map {
                    key: key @ None, ..
                }) => *key = Some(value.into_owned()),
                Some(Frame::Map {
                    key: key @ Some(_),
                    container,
                    ..
                }) => {
                    if *container && key.as_deref() == Some("image") {
                        out.insert(value.trim().to_string());
                    }
                    *key = None;
                }
                _ => {}
            },
            Event::Alias(_) => {
                let as_key = is_key_slot(&stack);
                done(&mut stack, as_key);
            }
            Event::MappingStart(..) => {
                let container = matches!(
                    stack.last(),
                    Some(Frame::Seq {
                        containers: true,
                        ..
                    })
                );
                let as_key = is_key_slot(&stack);
                stack.push(Frame::Map {
                    key: None,
                    container,
                    as_key,
                });
            }
            Event::SequenceStart(..) => {
                let containers = matches!(
                    stack.last(),
                    Some(Frame::Map { key: Some(k), .. })
                        if k == "containers" || k == "initContainers" || k == "ephemeralContainers"
                );
                let as_key = is_key_slot(&stack);
                stack.push(Frame::Seq { containers, as_key });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let as_key = match stack.pop() {
                    Some(Frame::Map { as_key, .. } | Frame::Seq { as_key, .. }) => as_key,
                    None => false,
                };
                done(&mut stack, as_key);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The chart's `values.yaml` from its archive.
pub fn chart_values(archive: &Path) -> Result<Value, BundleError> {
    let io_err = |source| BundleError::Io {
        what: format!("cannot read the chart {}", archive.display()),
        source,
    };
    let file = std::fs::File::open(archive).map_err(io_err)?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries().map_err(io_err)? {
        let mut entry = entry.map_err(io_err)?;
        let path = entry.path().map_err(io_err)?.into_owned();
        if path.components().count() == 2 && path.ends_with("values.yaml") {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(io_err)?;
            return crate::spec::yaml::parse("values.yaml", &text)
                .map(|n| n.to_json())
                .map_err(|e| {
                    BundleError::Input(
                        format!(
                            "cannot read the chart's values.yaml: {}",
                            crate::chain::one_line(&e)
                        ),
                        None,
                    )
                });
        }
    }
    Err(BundleError::Input(
        format!("{} has no values.yaml", archive.display()),
        Some("give the platform chart's archive, as `helm pull` writes it".into()),
    ))
}

/// Images the platform hands to Airflow deployments, from the chart's values.
pub fn handed_to_airflow(values: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn images(v: &Value, out: &mut BTreeSet<String>) {
        if let (Some(r), Some(t)) = (v["repository"].as_str(), v.get("tag")) {
            let tag = match t {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(format!("{r}:{tag}"));
            return;
        }
        if let Value::Object(m) = v {
            m.values().for_each(|c| images(c, out));
        }
    }
    for key in ["airflow", "gitSyncRelay", "certgenerator"] {
        images(&values["global"][key]["images"], &mut out);
    }
    out
}

/// The repository of the Astro Runtime images Airflow deployments run.
pub const RUNTIME_REPOSITORY: &str = "quay.io/astronomer/astro-runtime";

/// The Astro Runtime images of a runtime versions file, the document the
/// platform reads at `astronomer.houston.updateRuntimeCheck.url`
/// (`{"runtimeVersions": {"<version>": {"metadata": {…}}, …}}`): one
/// image per version, the default (newest) one included.
pub fn of_runtime_versions(path: &Path) -> Result<BTreeSet<String>, BundleError> {
    let bad = |why: String| {
        BundleError::Input(
            format!("{}: {why}", path.display()),
            Some("give the runtime versions JSON as the platform's update check serves it ({\"runtimeVersions\": {\"<version>\": …}})".into()),
        )
    };
    let text = std::fs::read(path).map_err(|source| BundleError::Io {
        what: format!("cannot read {}", path.display()),
        source,
    })?;
    let doc: Value = serde_json::from_slice(&text).map_err(|e| bad(format!("not JSON ({e})")))?;
    let versions = doc["runtimeVersions"]
        .as_object()
        .ok_or_else(|| bad("no `runtimeVersions` object".into()))?;
    let mut out = BTreeSet::new();
    for version in versions.keys() {
        let valid = !version.is_empty()
            && version.len() <= 128
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !valid {
            return Err(bad(format!(
                "`{version}` is not a version an image tag can carry"
            )));
        }
        out.insert(format!("{RUNTIME_REPOSITORY}:{version}"));
    }
    Ok(out)
}

/// Every image of the platform for `spec` with the chart archive `chart`:
/// rendered with `helm template`, every optional image on, with the
/// source registries (the spec's air-gap settings left out).
pub async fn of_chart(
    helm: &Helm,
    spec: &Spec,
    chart: &Path,
) -> Result<BTreeSet<String>, BundleError> {
    let line = ChartLine::of(&spec.platform.chart.version)
        .map_err(|e| BundleError::Input(e.to_string(), Some(e.hint())))?;
    let mut source = spec.clone();
    source.airgap = None;
    source.platform.chart.repository = chart.display().to_string();
    let mut values = crate::render::values(&source, &crate::render::Inputs::default())
        .map_err(|e| BundleError::Input(crate::chain::one_line(&e), e.hint()))?;
    crate::render::deep_merge(&mut values, &features_on(line));
    let yaml = crate::spec::to_yaml(&values);
    let text = helm
        .template(&source, Path::new("/"), &yaml, KUBE_VERSION)
        .await
        .map_err(|e| BundleError::Helm(crate::chain::one_line(&e)))?;
    let mut images = from_manifests(&text)?;
    images.extend(handed_to_airflow(&chart_values(chart)?));
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_container() {
        let text = "kind: Pod\nmetadata: {a: 1, a: 2}\nspec:\n  env: [{image: not-a-container}]\n  containers:\n  - image: a:1\n  initContainers:\n  - image: b:2\n  ephemeralContainers:\n  - {image: c:3}\n---\nkind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - image: d:4\n---\n";
        let got: Vec<_> = from_manifests(text).unwrap().into_iter().collect();
        assert_eq!(got, ["a:1", "b:2", "c:3", "d:4"]);
    }

    #[test]
    fn runtime_versions_give_one_image_each_and_bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("versions.json");
        std::fs::write(
            &good,
            r#"{"runtimeVersions": {"9.1.0": {"metadata": {"airflowVersion": "2.7.2", "channel": "stable"}},
                "12.0.0": {"metadata": {"airflowVersion": "2.10.0", "channel": "stable"}}}}"#,
        )
        .unwrap();
        let got: Vec<_> = of_runtime_versions(&good).unwrap().into_iter().collect();
        assert_eq!(
            got,
            [
                "quay.io/astronomer/astro-runtime:12.0.0",
                "quay.io/astronomer/astro-runtime:9.1.0"
            ]
        );
        for (text, why) in [
            ("not json", "not JSON"),
            ("{\"versions\": {}}", "no `runtimeVersions`"),
            (
                "{\"runtimeVersions\": {\"1.0/../x\": {}}}",
                "is not a version",
            ),
        ] {
            let bad = dir.path().join("bad.json");
            std::fs::write(&bad, text).unwrap();
            let err = of_runtime_versions(&bad).unwrap_err().to_string();
            assert!(err.contains(why) && err.contains("bad.json"), "{err}");
        }
    }

    #[test]
    fn images_handed_to_airflow() {
        let v = json!({"global": {"airflow": {"images": {"redis": {"repository": "q/r", "tag": "7"}}},
            "certgenerator": {"images": {"repository": "q/c", "tag": 1.5}}}});
        let got: Vec<_> = handed_to_airflow(&v).into_iter().collect();
        assert_eq!(got, ["q/c:1.5", "q/r:7"]);
    }
}
