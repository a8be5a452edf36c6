//! The chart the spec pins: which chart line a version belongs to (each
//! line has its own values template), and a local chart archive
//! (`platform.chart.repository: ./astronomer-X.tgz`): its own name and
//! version, read from the `Chart.yaml` at the top of the archive (as `helm
//! package` makes it), so validation can hold the pinned
//! `platform.chart.version` to what will really be installed.

use std::io::Read;
use std::path::Path;

/// The chart lines liftoff has values for.
pub const SUPPORTED_LINES: &str = "0.37.x, 1.x and 2.x";

/// A chart version outside every supported line.
#[derive(Debug, thiserror::Error)]
#[error(
    "chart version `{0}` is not supported: liftoff has values for the chart lines {SUPPORTED_LINES}"
)]
pub struct UnsupportedChart(pub String);

impl UnsupportedChart {
    pub fn hint(&self) -> String {
        format!(
            "pin a version of one of those lines ({SUPPORTED_LINES}) in platform.chart.version, and use a chart archive of that version"
        )
    }
}

/// The chart line a version belongs to: each has its own template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartLine {
    /// 0.37.x: flat `global` keys.
    V0_37,
    /// 1.x: `global.plane`; still `global.features` and
    /// `global.postgresqlEnabled`.
    V1,
    /// 2.x: `global.namespaceManagement`, `global.postgresql.enabled`.
    V2,
}

impl ChartLine {
    pub fn of(version: &str) -> Result<ChartLine, UnsupportedChart> {
        let unsupported = || UnsupportedChart(version.into());
        let v = version.trim_start_matches('v');
        let mut parts = v.split(['.', '-', '+']);
        let major: u64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(unsupported)?;
        let minor: u64 = parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(unsupported)?;
        match (major, minor) {
            (0, 37) => Ok(ChartLine::V0_37),
            (1, _) => Ok(ChartLine::V1),
            (2, _) => Ok(ChartLine::V2),
            _ => Err(unsupported()),
        }
    }
}

/// What a chart archive says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartMeta {
    pub name: String,
    pub version: String,
}

/// Why a chart archive cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read the chart archive {}: {detail}", path.display())]
    Unreadable {
        path: std::path::PathBuf,
        detail: String,
    },
    #[error("{} holds no Chart.yaml at its top folder: it is not a packaged Helm chart", path.display())]
    NoChartYaml { path: std::path::PathBuf },
    #[error("the Chart.yaml in {} has no {field}", path.display())]
    MissingField {
        path: std::path::PathBuf,
        field: &'static str,
    },
}

/// Reads the top-level `Chart.yaml` (`<chart>/Chart.yaml`) of a `.tgz`.
pub fn read(path: &Path) -> Result<ChartMeta, ArchiveError> {
    let unreadable = |detail: String| ArchiveError::Unreadable {
        path: path.into(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive.entries().map_err(|e| unreadable(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| unreadable(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let parts: Vec<&str> = name.trim_start_matches("./").split('/').collect();
        if parts.len() != 2 || parts[1] != "Chart.yaml" {
            continue;
        }
        let mut text = String::new();
        entry
            .take(1 << 20)
            .read_to_string(&mut text)
            .map_err(|e| unreadable(e.to_string()))?;
        let doc = super::yaml::parse("Chart.yaml", &text)
            .map_err(|e| unreadable(format!("Chart.yaml: {e}")))?
            .to_json();
        let field = |field: &'static str| match &doc[field] {
            serde_json::Value::String(s) => Ok(s.clone()),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            _ => Err(ArchiveError::MissingField {
                path: path.into(),
                field,
            }),
        };
        return Ok(ChartMeta {
            name: field("name")?,
            version: field("version")?,
        });
    }
    Err(ArchiveError::NoChartYaml { path: path.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(dir: &Path, files: &[(&str, &str)]) -> std::path::PathBuf {
        let path = dir.join("chart.tgz");
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        for (name, text) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, text.as_bytes()).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        path
    }

    #[test]
    fn reads_the_top_chart_yaml_not_a_subchart_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = archive(
            dir.path(),
            &[
                (
                    "astronomer/charts/nginx/Chart.yaml",
                    "name: nginx\nversion: 9.9.9\n",
                ),
                (
                    "astronomer/Chart.yaml",
                    "apiVersion: v2\nname: astronomer\nversion: 1.2.0\n",
                ),
            ],
        );
        assert_eq!(
            read(&path).unwrap(),
            ChartMeta {
                name: "astronomer".into(),
                version: "1.2.0".into()
            }
        );
    }

    #[test]
    fn an_archive_without_chart_yaml_or_not_gzip_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = archive(dir.path(), &[("astronomer/values.yaml", "a: 1\n")]);
        assert!(matches!(read(&path), Err(ArchiveError::NoChartYaml { .. })));
        std::fs::write(&path, "not gzip").unwrap();
        let e = read(&path).unwrap_err();
        assert!(
            e.to_string().starts_with("cannot read the chart archive"),
            "{e}"
        );
        let path = archive(
            dir.path(),
            &[("astronomer/Chart.yaml", "name: astronomer\n")],
        );
        assert_eq!(
            read(&path).unwrap_err().to_string(),
            format!("the Chart.yaml in {} has no version", path.display())
        );
    }
}
