//! A recording fake `helm`: a shell script that logs its arguments, keeps
//! a copy of the values file with its mode, reports a version, a release
//! status and its history (each upgrade and rollback a new revision), and
//! fails on request.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub struct FakeHelm {
    pub dir: tempfile::TempDir,
}

const SCRIPT: &str = r#"#!/usr/bin/env bash
dir="$(dirname "$0")"
printf '%s\n' "$*" >> "$dir/calls"
# Writes the release record: revision, status, chart version.
release() {
  printf '{"name":"%s","info":{"status":"%s"},"chart":{"metadata":{"name":"astronomer","version":"%s"}},"version":%s,"config":{},"manifest":""}' "$name" "$2" "$3" "$1" > "$dir/installed"
}
# A new revision in the history, the deployed one before it superseded.
revision() {
  rev=$(( $(cat "$dir/revision" 2>/dev/null || echo 0) + 1 ))
  echo "$rev" > "$dir/revision"
  [ -f "$dir/history" ] && sed -i 's/"status":"deployed"/"status":"superseded"/' "$dir/history"
  printf '{"revision":%s,"status":"deployed","chart":"astronomer-%s","description":"%s"}\n' "$rev" "$1" "$2" >> "$dir/history"
  release "$rev" deployed "$1"
}
case "$1" in
  version) cat "$dir/version" ;;
  status)
    if [ -f "$dir/installed" ]; then cat "$dir/installed"; else echo "Error: release: not found" >&2; exit 1; fi ;;
  history)
    if [ -f "$dir/history" ]; then printf '['; paste -sd, "$dir/history"; printf ']\n'; else echo "Error: release: not found" >&2; exit 1; fi ;;
  upgrade)
    prev=""; ver=""; desc="Upgrade complete"
    if [ "$2" = "--install" ]; then name="$3"; else name="$2"; fi
    for a in "$@"; do
      if [ "$prev" = "-f" ]; then cp "$a" "$dir/values.yaml"; stat -c %a "$a" > "$dir/values.mode"; printf '%s' "$a" > "$dir/values.path"; fi
      if [ "$prev" = "--version" ]; then ver="$a"; fi
      if [ "$prev" = "--description" ]; then desc="$a"; fi
      prev="$a"
    done
    # Marks the moment of the call in a recording proxy's call sequence.
    if [ -n "$LIFTOFF_TEST_MARK_URL" ]; then curl -s -o /dev/null "$LIFTOFF_TEST_MARK_URL/?Action=HelmUpgrade"; fi
    echo "Release \"$name\" does not exist. Installing it now."
    if [ -f "$dir/fail" ]; then cat "$dir/fail" >&2; exit 1; fi
    revision "$ver" "$desc"
    echo "STATUS: deployed" ;;
  rollback)
    chart=$(grep "\"revision\":$3," "$dir/history" | sed 's/.*"chart":"astronomer-\([^"]*\)".*/\1/')
    name="$2"
    revision "$chart" "Rollback to $3" ;;
  template) cat "$dir/template" 2>/dev/null || true ;;
  uninstall) rm -f "$dir/installed" "$dir/history" "$dir/revision" ;;
  *) echo "fake helm: unknown command $1" >&2; exit 2 ;;
esac
"#;

impl FakeHelm {
    pub fn new(version: &str) -> FakeHelm {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("helm");
        std::fs::write(&script, SCRIPT).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.path().join("version"), format!("{version}\n")).unwrap();
        FakeHelm { dir }
    }
    pub fn program(&self) -> PathBuf {
        self.dir.path().join("helm")
    }
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
    /// Every call's arguments, one line each.
    pub fn calls(&self) -> Vec<String> {
        self.read("calls").lines().map(String::from).collect()
    }
    pub fn upgrades(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| c.starts_with("upgrade"))
            .collect()
    }
    /// The values file the last upgrade received, its mode and its path.
    pub fn values(&self) -> (String, String, PathBuf) {
        (
            self.read("values.yaml"),
            self.read("values.mode").trim().to_string(),
            PathBuf::from(self.read("values.path")),
        )
    }
    /// The next upgrade prints `stderr` and fails.
    pub fn fail_with(&self, stderr: &str) {
        std::fs::write(self.dir.path().join("fail"), stderr).unwrap();
    }
    /// A release of chart `version` as if `helm install` had made it.
    pub fn install_release(&self, name: &str, version: &str) {
        let out = std::process::Command::new(self.program())
            .args(["upgrade", "--install", name, "chart", "--version", version])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    pub fn installed(&self) -> bool {
        self.dir.path().join("installed").exists()
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}
