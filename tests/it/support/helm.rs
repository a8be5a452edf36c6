//! A recording fake `helm`: a shell script that logs its arguments, keeps
//! a copy of the values file with its mode, reports a version and a
//! release status, and fails on request.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub struct FakeHelm {
    pub dir: tempfile::TempDir,
}

const SCRIPT: &str = r#"#!/usr/bin/env bash
dir="$(dirname "$0")"
printf '%s\n' "$*" >> "$dir/calls"
case "$1" in
  version) cat "$dir/version" ;;
  status)
    if [ -f "$dir/installed" ]; then cat "$dir/installed"; else echo "Error: release: not found" >&2; exit 1; fi ;;
  upgrade)
    prev=""; ver=""
    for a in "$@"; do
      if [ "$prev" = "-f" ]; then cp "$a" "$dir/values.yaml"; stat -c %a "$a" > "$dir/values.mode"; printf '%s' "$a" > "$dir/values.path"; fi
      if [ "$prev" = "--version" ]; then ver="$a"; fi
      prev="$a"
    done
    echo "Release \"$3\" does not exist. Installing it now."
    if [ -f "$dir/fail" ]; then cat "$dir/fail" >&2; exit 1; fi
    printf '{"name":"%s","info":{"status":"deployed"},"chart":{"metadata":{"name":"astronomer","version":"%s"}},"version":1}' "$3" "$ver" > "$dir/installed"
    echo "STATUS: deployed" ;;
  uninstall) rm -f "$dir/installed" ;;
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
    pub fn installed(&self) -> bool {
        self.dir.path().join("installed").exists()
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}
