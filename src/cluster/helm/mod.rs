//! Running the `helm` binary: its version, `upgrade --install` with the
//! values in a private temporary file, `status`, `history`, `rollback` and
//! `uninstall`. Output lines stream to a callback (the progress display).
//! Every helm runs through [`process`]: its own process group, interrupts
//! forwarded, ended when liftoff dies.

pub mod process;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::spec::Spec;

/// The `helm` program: `$LIFTOFF_HELM`, else `helm` on PATH.
#[derive(Debug, Clone)]
pub struct Helm {
    pub program: PathBuf,
}

/// A `helm` chosen for the whole run (`install --bundle` uses the bundle's).
static PROGRAM: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes every [`Helm::default`] of this process run `program`.
pub fn use_program(program: PathBuf) {
    let _ = PROGRAM.set(program);
}

impl Default for Helm {
    fn default() -> Self {
        Helm {
            program: PROGRAM.get().cloned().unwrap_or_else(|| {
                std::env::var_os("LIFTOFF_HELM")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("helm"))
            }),
        }
    }
}

/// Helm's version, e.g. 3.16 or 4.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

impl Version {
    /// Parses `helm version --short` (`v3.16.2+g13654a5`).
    pub fn parse(text: &str) -> Option<Version> {
        let v = text.trim().trim_start_matches('v');
        let mut parts = v.split(['.', '+', '-']);
        Some(Version {
            major: parts.next()?.parse().ok()?,
            minor: parts.next()?.parse().ok()?,
        })
    }

    /// Helm 4 applies server-side by default; this chart needs client-side.
    pub fn needs_client_side_apply(self) -> bool {
        self.major >= 4
    }
}

/// Why a helm call failed. The message is Helm's own error output.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("helm {command} failed: {output}")]
    Failed { command: String, output: String },
}

/// A chart archive that stands in for the spec's chart at one version
/// (`install --bundle`: the bundle's, verified), so the spec — and what
/// liftoff records of it — keeps naming its own chart source.
static CHART: std::sync::OnceLock<(String, PathBuf)> = std::sync::OnceLock::new();

/// Makes every chart reference of this process at `version` name `archive`.
pub fn use_chart(version: &str, archive: PathBuf) {
    let _ = CHART.set((version.to_string(), archive));
}

/// The chart reference and its extra arguments: `--repo URL NAME` for a
/// Helm repository, `oci://…/NAME` for OCI, a path for a local `.tgz`.
pub fn chart_args(spec: &Spec, base_dir: &Path) -> Vec<String> {
    let c = &spec.platform.chart;
    if let Some((version, archive)) = CHART.get()
        && *version == c.version
    {
        return vec![archive.display().to_string()];
    }
    let repo = c.repository.trim_end_matches('/');
    if repo.starts_with("oci://") {
        if repo.ends_with(&format!("/{}", c.name)) {
            vec![repo.to_string()]
        } else {
            vec![format!("{repo}/{}", c.name)]
        }
    } else if repo.ends_with(".tgz") {
        vec![base_dir.join(repo).display().to_string()]
    } else {
        vec!["--repo".into(), repo.to_string(), c.name.clone()]
    }
}

/// What an upgrade call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `liftoff install`: `upgrade --install`, creating the release or
    /// converging it to the spec.
    Install,
    /// `liftoff upgrade`: the release must exist; `--reset-values` so only
    /// the values liftoff gives count, never `--no-hooks`.
    Upgrade,
}

/// The `upgrade --install` arguments, without the values file.
pub fn upgrade_args(spec: &Spec, base_dir: &Path, version: Version, values: &Path) -> Vec<String> {
    mode_args(spec, base_dir, version, values, Mode::Install)
}

/// The `upgrade` arguments for `mode`.
pub fn mode_args(
    spec: &Spec,
    base_dir: &Path,
    version: Version,
    values: &Path,
    mode: Mode,
) -> Vec<String> {
    let p = &spec.platform;
    let mut args = vec!["upgrade".into()];
    if mode == Mode::Install {
        args.push("--install".into());
    }
    args.push(p.release_name.clone());
    args.extend(chart_args(spec, base_dir));
    args.extend([
        "--namespace".into(),
        p.namespace.clone(),
        "--version".into(),
        p.chart.version.clone(),
        "-f".into(),
        values.display().to_string(),
        "--wait".into(),
        "--timeout".into(),
        spec.timeouts.helm.clone(),
    ]);
    if version.needs_client_side_apply() {
        args.push("--server-side=false".into());
    }
    if mode == Mode::Upgrade {
        args.push("--reset-values".into());
        args.push("--description".into());
        args.push(format!("liftoff upgrade to {}", p.chart.version));
    }
    args
}

/// One row of `helm history -o json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub revision: u64,
    #[serde(default)]
    pub updated: String,
    #[serde(default)]
    pub status: String,
    /// `name-version`, as helm prints it.
    #[serde(default)]
    pub chart: String,
    #[serde(default, alias = "app_version")]
    pub app_version: String,
    #[serde(default)]
    pub description: String,
}

impl Revision {
    /// The chart version of `chart` (`astronomer-0.37.7` → `0.37.7`).
    pub fn chart_version(&self) -> &str {
        self.chart
            .rsplit_once('-')
            .map(|(_, v)| v)
            .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            .or_else(|| {
                // A pre-release version holds a dash too: the version is what
                // follows the first dash before a digit.
                self.chart
                    .char_indices()
                    .find(|(i, c)| {
                        *c == '-' && self.chart[i + 1..].starts_with(|d: char| d.is_ascii_digit())
                    })
                    .map(|(i, _)| &self.chart[i + 1..])
            })
            .unwrap_or("")
    }
}

/// Writes the values to a new temporary file only the owner can read.
/// The file is removed when the returned handle drops.
pub fn values_file(values_yaml: &str) -> std::io::Result<tempfile::NamedTempFile> {
    // tempfile creates files with mode 0600 on Unix.
    let mut f = tempfile::Builder::new()
        .prefix("liftoff-values-")
        .suffix(".yaml")
        .tempfile()?;
    f.write_all(values_yaml.as_bytes())?;
    f.flush()?;
    Ok(f)
}

impl Helm {
    /// `helm version --short`.
    pub async fn version(&self) -> Result<(Version, String), HelmError> {
        let out = self.output(&["version", "--short"], &[]).await?;
        let text = out.trim().to_string();
        Version::parse(&text)
            .map(|v| (v, text.clone()))
            .ok_or(HelmError::Failed {
                command: "version".into(),
                output: format!("unrecognised version `{text}`"),
            })
    }

    async fn output(&self, args: &[&str], target: &[String]) -> Result<String, HelmError> {
        let child = process::command(&self.program)
            .args(args)
            .args(target)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| self.spawn_error(source))?;
        let running = process::Running::register(&child);
        let out = child
            .wait_with_output()
            .await
            .map_err(|source| self.spawn_error(source))?;
        if let Some(r) = running {
            r.finished();
        }
        if !out.status.success() {
            return Err(HelmError::Failed {
                command: args.first().copied().unwrap_or_default().into(),
                output: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn spawn_error(&self, source: std::io::Error) -> HelmError {
        HelmError::Spawn {
            program: self.program.display().to_string(),
            source,
        }
    }

    /// `helm status -o json`: `None` when the release does not exist.
    pub async fn status(
        &self,
        release: &str,
        namespace: &str,
        target: &[String],
    ) -> Result<Option<serde_json::Value>, HelmError> {
        match self
            .output(
                &["status", release, "--namespace", namespace, "-o", "json"],
                target,
            )
            .await
        {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| HelmError::Failed {
                    command: "status".into(),
                    output: format!("unreadable output: {e}"),
                }),
            Err(HelmError::Failed { output, .. }) if output.contains("not found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `helm template`: the chart's manifests with `values_yaml`, as the
    /// given Kubernetes version would get them.
    pub async fn template(
        &self,
        spec: &Spec,
        base_dir: &Path,
        values_yaml: &str,
        kube_version: &str,
    ) -> Result<String, HelmError> {
        let file = values_file(values_yaml).map_err(|source| self.spawn_error(source))?;
        let p = &spec.platform;
        let mut args: Vec<String> = vec!["template".into(), p.release_name.clone()];
        args.extend(chart_args(spec, base_dir));
        args.extend([
            "--namespace".into(),
            p.namespace.clone(),
            "--version".into(),
            p.chart.version.clone(),
            "-f".into(),
            file.path().display().to_string(),
            "--kube-version".into(),
            kube_version.into(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.output(&args, &[]).await
    }

    /// `helm pull` of the spec's chart into `dest`: the archive's path.
    pub async fn pull(
        &self,
        spec: &Spec,
        base_dir: &Path,
        dest: &Path,
    ) -> Result<PathBuf, HelmError> {
        let c = &spec.platform.chart;
        let mut args: Vec<String> = vec!["pull".into()];
        args.extend(chart_args(spec, base_dir));
        args.extend([
            "--version".into(),
            c.version.clone(),
            "--destination".into(),
            dest.display().to_string(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.output(&args, &[]).await?;
        Ok(dest.join(format!("{}-{}.tgz", c.name, c.version)))
    }

    /// The release's revisions, oldest first: `(revision, status)`.
    pub async fn history(
        &self,
        release: &str,
        namespace: &str,
        target: &[String],
    ) -> Result<Vec<(u64, String)>, HelmError> {
        let text = self
            .output(
                &["history", release, "--namespace", namespace, "-o", "json"],
                target,
            )
            .await?;
        let rows: Vec<serde_json::Value> =
            serde_json::from_str(&text).map_err(|e| HelmError::Failed {
                command: "history".into(),
                output: format!("unreadable output: {e}"),
            })?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some((
                    r.get("revision")?.as_u64()?,
                    r.get("status")?.as_str()?.to_string(),
                ))
            })
            .collect())
    }

    /// Every revision of the release, oldest first, with chart and
    /// description.
    pub async fn revisions(
        &self,
        release: &str,
        namespace: &str,
        target: &[String],
    ) -> Result<Vec<Revision>, HelmError> {
        let text = self
            .output(
                &["history", release, "--namespace", namespace, "-o", "json"],
                target,
            )
            .await?;
        serde_json::from_str(&text).map_err(|e| HelmError::Failed {
            command: "history".into(),
            output: format!("unreadable output: {e}"),
        })
    }

    /// `helm rollback RELEASE REVISION --wait --timeout T`: back to that
    /// revision's chart and values, hooks run, waited for.
    pub async fn rollback_wait(
        &self,
        release: &str,
        namespace: &str,
        revision: u64,
        timeout: &str,
        target: &[String],
    ) -> Result<(), HelmError> {
        let revision = revision.to_string();
        self.output(
            &[
                "rollback",
                release,
                &revision,
                "--namespace",
                namespace,
                "--wait",
                "--timeout",
                timeout,
            ],
            target,
        )
        .await
        .map(|_| ())
    }

    /// `helm rollback RELEASE REVISION`.
    pub async fn rollback(
        &self,
        release: &str,
        namespace: &str,
        revision: u64,
        target: &[String],
    ) -> Result<(), HelmError> {
        let revision = revision.to_string();
        self.output(
            &["rollback", release, &revision, "--namespace", namespace],
            target,
        )
        .await
        .map(|_| ())
    }

    pub async fn uninstall(
        &self,
        release: &str,
        namespace: &str,
        target: &[String],
    ) -> Result<(), HelmError> {
        self.output(
            &["uninstall", release, "--namespace", namespace, "--wait"],
            target,
        )
        .await
        .map(|_| ())
    }

    /// Runs `helm upgrade --install` with `values_yaml` in a 0600 file that
    /// is removed afterwards, handing every output line to `progress`.
    pub async fn upgrade_install(
        &self,
        spec: &Spec,
        base_dir: &Path,
        version: Version,
        values_yaml: &str,
        target: &[String],
        progress: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(), HelmError> {
        self.upgrade(
            spec,
            base_dir,
            version,
            values_yaml,
            target,
            Mode::Install,
            progress,
        )
        .await
    }

    /// Runs `helm upgrade` for `mode` (see [`upgrade_install`](Self::upgrade_install)).
    #[allow(clippy::too_many_arguments)]
    pub async fn upgrade(
        &self,
        spec: &Spec,
        base_dir: &Path,
        version: Version,
        values_yaml: &str,
        target: &[String],
        mode: Mode,
        progress: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(), HelmError> {
        let file = values_file(values_yaml).map_err(|source| self.spawn_error(source))?;
        let mut args = mode_args(spec, base_dir, version, file.path(), mode);
        args.extend(target.iter().cloned());
        let mut child = process::command(&self.program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| self.spawn_error(source))?;
        // Dropped unfinished (the run abandoned), it ends helm with SIGTERM.
        let running = process::Running::register(&child);
        let mut out = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut err = BufReader::new(child.stderr.take().expect("piped")).lines();
        let mut errors: Vec<String> = Vec::new();
        let (mut out_open, mut err_open) = (true, true);
        while out_open || err_open {
            tokio::select! {
                line = out.next_line(), if out_open => match line {
                    Ok(Some(l)) => progress(l.trim()),
                    _ => out_open = false,
                },
                line = err.next_line(), if err_open => match line {
                    Ok(Some(l)) => {
                        progress(l.trim());
                        errors.push(l);
                        if errors.len() > 40 {
                            errors.remove(0);
                        }
                    }
                    _ => err_open = false,
                },
            }
        }
        let status = child
            .wait()
            .await
            .map_err(|source| self.spawn_error(source))?;
        if let Some(r) = running {
            r.finished();
        }
        drop(file);
        if status.success() {
            Ok(())
        } else {
            let output = errors
                .iter()
                .filter(|l| !l.trim().is_empty())
                .cloned()
                .collect::<Vec<_>>()
                .join("\n");
            Err(HelmError::Failed {
                command: match mode {
                    Mode::Install => "upgrade --install".into(),
                    Mode::Upgrade => "upgrade".into(),
                },
                output: if output.is_empty() {
                    format!("exit status {status}")
                } else {
                    output
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            Version::parse("v3.16.2+g13654a5"),
            Some(Version {
                major: 3,
                minor: 16
            })
        );
        assert_eq!(
            Version::parse("v4.0.0"),
            Some(Version { major: 4, minor: 0 })
        );
        assert_eq!(Version::parse("garbage"), None);
        assert!(Version::parse("v4.0.1").unwrap().needs_client_side_apply());
        assert!(!Version::parse("v3.6.0").unwrap().needs_client_side_apply());
    }

    #[test]
    fn revisions_read_helms_history_and_name_the_chart_version() {
        let rows: Vec<Revision> = serde_json::from_str(r#"[{"revision":1,"updated":"2026-12-01T10:00:00Z","status":"superseded","chart":"astronomer-0.37.7","app_version":"0.37.7","description":"Install complete"},{"revision":2,"status":"deployed","chart":"astronomer-1.0.0-rc.1","description":"liftoff upgrade to 1.0.0-rc.1"}]"#).unwrap();
        assert_eq!(rows[0].chart_version(), "0.37.7");
        assert_eq!(rows[0].app_version, "0.37.7");
        assert_eq!(rows[1].chart_version(), "1.0.0-rc.1");
    }

    #[test]
    fn upgrade_mode_resets_values_and_never_skips_hooks() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "apiVersion": "liftoff.dev/v1", "kind": "Installation", "metadata": {"name": "a"},
            "cloud": {"provider": "existing"},
            "cluster": {"mode": "existing"},
            "platform": {"chart": {"repository": "./astronomer-0.37.8.tgz", "version": "0.37.8"}, "baseDomain": "a.example.com", "tls": {}},
        }))
        .unwrap();
        let args = mode_args(
            &spec,
            Path::new("/s"),
            Version { major: 4, minor: 2 },
            Path::new("/v.yaml"),
            Mode::Upgrade,
        );
        assert_eq!(
            args[..3],
            ["upgrade", "astronomer", "/s/./astronomer-0.37.8.tgz"]
        );
        assert!(
            args.contains(&"--reset-values".to_string()) && args.contains(&"--wait".to_string())
        );
        assert!(!args.iter().any(|a| a == "--no-hooks" || a == "--install"));
        let args = upgrade_args(
            &spec,
            Path::new("/s"),
            Version { major: 3, minor: 2 },
            Path::new("/v.yaml"),
        );
        assert_eq!(args[..2], ["upgrade", "--install"]);
        assert!(!args.contains(&"--reset-values".to_string()));
    }

    #[test]
    fn values_file_is_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let f = values_file("a: 1\n").unwrap();
        let path = f.path().to_path_buf();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        drop(f);
        assert!(!path.exists());
    }
}
