//! The path of a platform upgrade: the chart's minor versions in release
//! order, one hop each. Skipping a minor version is refused (the platform's
//! database migrations and Houston's deployment upgrades run per minor);
//! `--through` takes the hops one at a time. Each hop's chart: for a local
//! archive the newest `<name>-<major>.<minor>.<patch>.tgz` beside the
//! spec's archive, for a repository the newest patch of that minor (a Helm
//! version constraint).

use std::path::{Path, PathBuf};

/// A chart version, `major.minor.patch` (a pre-release or build suffix is
/// kept in `text` only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub text: String,
}

impl ChartVersion {
    pub fn parse(text: &str) -> Option<ChartVersion> {
        let t = text.trim().trim_start_matches('v');
        let core = t.split(['-', '+']).next()?;
        let mut it = core.split('.');
        let v = ChartVersion {
            major: it.next()?.parse().ok()?,
            minor: it.next()?.parse().ok()?,
            patch: it.next().unwrap_or("0").parse().ok()?,
            text: t.to_string(),
        };
        it.next().is_none().then_some(v)
    }

    pub fn minor_line(&self) -> Minor {
        Minor(self.major, self.minor)
    }

    fn key(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }
}

impl std::fmt::Display for ChartVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A minor line of the chart, e.g. 0.37 or 1.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Minor(pub u64, pub u64);

impl std::fmt::Display for Minor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// The platform chart's minor lines in release order, where a major
/// version ends: after 0.37 comes 1.0, after 1.2 comes 2.0. Within a major
/// the next minor is the next number.
pub const MINOR_LINES: &[Minor] = &[
    Minor(0, 37),
    Minor(1, 0),
    Minor(1, 1),
    Minor(1, 2),
    Minor(2, 0),
    Minor(2, 1),
];

fn next(m: Minor) -> Minor {
    match MINOR_LINES.iter().position(|l| *l == m) {
        Some(i) if i + 1 < MINOR_LINES.len() => MINOR_LINES[i + 1],
        _ => Minor(m.0, m.1 + 1),
    }
}

/// Why no upgrade path is taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HopError {
    #[error("`{0}` is not a chart version (major.minor.patch)")]
    NotAVersion(String),
    #[error("{installed} → {target} is a downgrade: liftoff upgrade only goes forward")]
    Downgrade { installed: String, target: String },
    #[error("no known upgrade path from {installed} to {target}")]
    NoPath { installed: String, target: String },
    #[error("{installed} → {target} skips minor versions: the path is {path}, one minor at a time")]
    Skip {
        installed: String,
        target: String,
        path: String,
        first: Minor,
    },
}

impl HopError {
    pub fn hint(&self) -> String {
        match self {
            HopError::NotAVersion(_) => "give --to a version like 0.37.8".into(),
            HopError::Downgrade { .. } => {
                "to go back to an earlier revision, run `liftoff rollback [--revision N]`".into()
            }
            HopError::NoPath { .. } => format!(
                "liftoff knows the chart's minor lines {}: upgrade to one of them first",
                MINOR_LINES
                    .iter()
                    .map(Minor::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            HopError::Skip { first, .. } => format!(
                "run `liftoff upgrade --through` to take every hop in turn, or upgrade to {first}.x first (`--to {first}.<patch>`)"
            ),
        }
    }
}

/// The minor lines an upgrade from `installed` to `target` passes through,
/// `target`'s last. The same minor (a patch upgrade) is one hop; the same
/// version none.
pub fn path(installed: &ChartVersion, target: &ChartVersion) -> Result<Vec<Minor>, HopError> {
    if target.key() < installed.key() {
        return Err(HopError::Downgrade {
            installed: installed.text.clone(),
            target: target.text.clone(),
        });
    }
    if target.key() == installed.key() {
        return Ok(Vec::new());
    }
    let (from, to) = (installed.minor_line(), target.minor_line());
    if from == to {
        return Ok(vec![to]);
    }
    let mut hops = Vec::new();
    let mut at = from;
    while at != to {
        at = next(at);
        if at > to || hops.len() > 64 {
            return Err(HopError::NoPath {
                installed: installed.text.clone(),
                target: target.text.clone(),
            });
        }
        hops.push(at);
    }
    Ok(hops)
}

/// [`path`], refusing more than one hop unless `through`.
pub fn checked_path(
    installed: &ChartVersion,
    target: &ChartVersion,
    through: bool,
) -> Result<Vec<Minor>, HopError> {
    let hops = path(installed, target)?;
    if hops.len() > 1 && !through {
        let mut names = vec![installed.minor_line().to_string()];
        names.extend(hops.iter().map(Minor::to_string));
        return Err(HopError::Skip {
            installed: installed.text.clone(),
            target: target.text.clone(),
            path: names.join(" → "),
            first: hops[0],
        });
    }
    Ok(hops)
}

/// Where a hop's chart comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopChart {
    /// `platform.chart.repository` for the hop: the archive's path for a
    /// local chart, the spec's repository otherwise.
    pub repository: String,
    /// `platform.chart.version` for the hop: an exact version, or a Helm
    /// constraint (`~1.1.0`) for a repository's newest patch.
    pub version: String,
}

/// Why a hop's chart cannot be found.
#[derive(Debug, thiserror::Error)]
#[error("no chart archive for {minor}.x beside {}: {detail}", dir.display())]
pub struct MissingChart {
    pub minor: String,
    pub dir: PathBuf,
    pub detail: String,
}

/// The chart for one hop. `repository` and `pinned` are the spec's
/// (`platform.chart`); `target` is the version the last hop installs
/// (exact), `name` the chart's name.
pub fn hop_chart(
    repository: &str,
    pinned: &str,
    name: &str,
    base_dir: &Path,
    hop: Minor,
    target: &ChartVersion,
) -> Result<HopChart, MissingChart> {
    let local = repository.trim_end_matches('/').ends_with(".tgz");
    if hop == target.minor_line() && ChartVersion::parse(pinned).as_ref() == Some(target) {
        return Ok(HopChart {
            repository: repository.into(),
            version: pinned.into(),
        });
    }
    if !local {
        let version = if hop == target.minor_line() {
            target.text.clone()
        } else {
            format!("~{}.{}.0", hop.0, hop.1)
        };
        return Ok(HopChart {
            repository: repository.into(),
            version,
        });
    }
    let archive = base_dir.join(repository);
    let dir = archive.parent().unwrap_or(Path::new(".")).to_path_buf();
    let missing = |detail: String| MissingChart {
        minor: hop.to_string(),
        dir: dir.clone(),
        detail,
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| missing(e.to_string()))?;
    let prefix = format!("{name}-");
    let mut best: Option<(ChartVersion, PathBuf)> = None;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(v) = file
            .strip_prefix(&prefix)
            .and_then(|f| f.strip_suffix(".tgz"))
            .and_then(ChartVersion::parse)
        else {
            continue;
        };
        let wanted = if hop == target.minor_line() {
            v.key() == target.key()
        } else {
            v.minor_line() == hop
        };
        if wanted && best.as_ref().is_none_or(|(b, _)| v.key() > b.key()) {
            best = Some((v, entry.path()));
        }
    }
    let (v, path) = best.ok_or_else(|| {
        missing(if hop == target.minor_line() {
            format!("put {name}-{target}.tgz there")
        } else {
            format!("put {name}-{hop}.<patch>.tgz there (the newest patch of {hop})")
        })
    })?;
    Ok(HopChart {
        repository: path.display().to_string(),
        version: v.text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ChartVersion {
        ChartVersion::parse(s).unwrap()
    }

    #[test]
    fn patch_and_next_minor_are_one_hop() {
        assert_eq!(path(&v("0.37.7"), &v("0.37.8")).unwrap(), [Minor(0, 37)]);
        assert_eq!(path(&v("0.37.7"), &v("1.0.2")).unwrap(), [Minor(1, 0)]);
        assert_eq!(path(&v("1.2.0"), &v("2.0.0")).unwrap(), [Minor(2, 0)]);
        assert_eq!(path(&v("2.1.0"), &v("2.2.1")).unwrap(), [Minor(2, 2)]);
        assert!(path(&v("1.2.0"), &v("1.2.0")).unwrap().is_empty());
    }

    #[test]
    fn a_skip_is_refused_with_the_hops_unless_through() {
        let e = checked_path(&v("0.37.7"), &v("1.2.0"), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "0.37.7 → 1.2.0 skips minor versions: the path is 0.37 → 1.0 → 1.1 → 1.2, one minor at a time"
        );
        assert!(e.hint().contains("--through"), "{}", e.hint());
        assert_eq!(
            checked_path(&v("0.37.7"), &v("2.1.0"), true).unwrap(),
            [
                Minor(1, 0),
                Minor(1, 1),
                Minor(1, 2),
                Minor(2, 0),
                Minor(2, 1)
            ]
        );
    }

    #[test]
    fn downgrades_and_unknown_paths_are_refused() {
        assert!(matches!(
            path(&v("1.0.0"), &v("0.37.7")),
            Err(HopError::Downgrade { .. })
        ));
        // 1.3 is past the last 1.x line liftoff knows: no way to 2.0.
        assert!(matches!(
            path(&v("1.3.0"), &v("2.0.0")),
            Err(HopError::NoPath { .. })
        ));
        assert_eq!(
            path(&v("0.36.1"), &v("1.0.0")).unwrap(),
            [Minor(0, 37), Minor(1, 0)]
        );
        assert!(ChartVersion::parse("1.x").is_none());
        assert_eq!(v("v1.2.3-rc.1").patch, 3);
    }

    #[test]
    fn local_hop_charts_are_the_newest_patch_beside_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "astronomer-0.37.7.tgz",
            "astronomer-1.0.0.tgz",
            "astronomer-1.0.3.tgz",
            "astronomer-1.1.0.tgz",
            "other-1.0.9.tgz",
        ] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let target = v("1.1.0");
        let hop = hop_chart(
            "charts/astronomer-1.1.0.tgz",
            "1.1.0",
            "astronomer",
            dir.path().parent().unwrap(),
            Minor(1, 0),
            &target,
        );
        assert!(hop.is_err(), "relative to the spec's folder");
        let repo = dir.path().join("astronomer-1.1.0.tgz");
        let hop = hop_chart(
            repo.to_str().unwrap(),
            "1.1.0",
            "astronomer",
            Path::new("/"),
            Minor(1, 0),
            &target,
        )
        .unwrap();
        assert_eq!(hop.version, "1.0.3");
        assert!(hop.repository.ends_with("astronomer-1.0.3.tgz"));
        let e = hop_chart(
            repo.to_str().unwrap(),
            "1.1.0",
            "astronomer",
            Path::new("/"),
            Minor(1, 2),
            &v("1.2.0"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("put astronomer-1.2.0.tgz there"),
            "{e}"
        );
        // The spec's own archive for the version it pins, whatever its name.
        let own = hop_chart(
            "./platform.tgz",
            "1.1.0",
            "astronomer",
            Path::new("/"),
            Minor(1, 1),
            &target,
        )
        .unwrap();
        assert_eq!(own.repository, "./platform.tgz");
        let remote = hop_chart(
            "https://helm.astronomer.io",
            "1.1.0",
            "astronomer",
            Path::new("/"),
            Minor(1, 0),
            &target,
        )
        .unwrap();
        assert_eq!(remote.version, "~1.0.0");
    }
}
