//! Running `helm` so that it always ends cleanly, whatever happens to
//! liftoff:
//!
//! - helm runs in its own process group, so a terminal's Ctrl-C reaches
//!   liftoff alone; liftoff forwards SIGINT (see [`interrupt_all`]) and
//!   waits for helm to cancel its operation, which leaves the release
//!   `failed` (recoverable by a re-run), never `pending-*`;
//! - when liftoff dies (even `kill -9`), the kernel sends helm SIGTERM:
//!   helm is started through util-linux `setpriv --pdeathsig TERM` where it
//!   exists (Linux), which sets the parent-death signal and then runs helm,
//!   keeping liftoff free of unsafe code;
//! - a helm whose handle is dropped (the run was abandoned) gets SIGTERM.
//!
//! A release left `pending-*` anyway (helm itself killed, a machine lost)
//! is recovered by the next run: see [`super::super::driver`]'s release
//! handling and [`holders`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, OnceLock};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::sync::watch;

/// Process groups of the helm commands running now.
static RUNNING: LazyLock<watch::Sender<BTreeSet<u32>>> =
    LazyLock::new(|| watch::Sender::new(BTreeSet::new()));

/// `setpriv` when this system has one that can set a parent-death signal.
fn setpriv() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            if !cfg!(target_os = "linux") {
                return None;
            }
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .chain(["/usr/bin".into(), "/bin".into()])
                .map(|d| d.join("setpriv"))
                .find(|p| p.is_file())
        })
        .as_deref()
}

/// Whether helm is ended by the kernel when liftoff dies.
pub fn parent_death_signal() -> bool {
    setpriv().is_some()
}

/// A command that runs `program` in its own process group, with the
/// parent-death signal set where the system allows it.
pub fn command(program: &Path) -> tokio::process::Command {
    // Only a program that exists is wrapped, so a missing helm is reported
    // as such, not as setpriv's failure to run it.
    let mut cmd = match setpriv().filter(|_| found(program)) {
        Some(setpriv) => {
            let mut c = tokio::process::Command::new(setpriv);
            c.args(["--pdeathsig", "TERM", "--"]).arg(program);
            c
        }
        None => tokio::process::Command::new(program),
    };
    cmd.process_group(0);
    cmd
}

/// Whether `program` (a path, or a name looked up on PATH) exists.
fn found(program: &Path) -> bool {
    if program.components().count() > 1 {
        return program.is_file();
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(program).is_file())
}

/// A running helm, registered for [`interrupt_all`]; dropped before it
/// was waited for, it sends the process group SIGTERM.
pub struct Running {
    group: u32,
    done: bool,
}

impl Running {
    pub fn register(child: &tokio::process::Child) -> Option<Running> {
        let group = child.id()?;
        RUNNING.send_modify(|s| {
            s.insert(group);
        });
        Some(Running { group, done: false })
    }

    /// helm has exited and was reaped.
    pub fn finished(mut self) {
        self.done = true;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.done {
            let _ = killpg(Pid::from_raw(self.group as i32), Signal::SIGTERM);
        }
        RUNNING.send_modify(|s| {
            s.remove(&self.group);
        });
    }
}

/// Sends SIGINT to every running helm: each cancels its operation, marks
/// the release failed and exits. Returns how many were signalled.
pub fn interrupt_all() -> usize {
    let groups = RUNNING.borrow().clone();
    for g in &groups {
        let _ = killpg(Pid::from_raw(*g as i32), Signal::SIGINT);
    }
    groups.len()
}

/// Resolves once no helm runs.
pub async fn all_ended() {
    let mut rx = RUNNING.subscribe();
    let _ = rx.wait_for(BTreeSet::is_empty).await;
}

/// Processes on this machine running helm on `release` in `namespace`
/// (their ids): a `pending-*` release one of them holds is not stuck.
/// Empty where `/proc` does not exist.
pub fn holders(release: &str, namespace: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&str> = raw
                .split(|b| *b == 0)
                .filter_map(|a| std::str::from_utf8(a).ok())
                .collect();
            is_helm_on(&args, release, namespace)
        })
        .collect()
}

/// Whether a command line is helm (directly, through setpriv or an
/// interpreter) changing `release` in `namespace`.
fn is_helm_on(args: &[&str], release: &str, namespace: &str) -> bool {
    let Some(at) = args
        .iter()
        .take(6)
        .rposition(|a| Path::new(a).file_name().is_some_and(|n| n == "helm"))
    else {
        return false;
    };
    let rest = &args[at + 1..];
    let changes = rest
        .first()
        .is_some_and(|c| matches!(*c, "upgrade" | "install" | "rollback" | "uninstall"));
    let in_namespace = rest
        .windows(2)
        .any(|w| matches!(w[0], "--namespace" | "-n") && w[1] == namespace)
        || rest.contains(&format!("--namespace={namespace}").as_str());
    changes && in_namespace && rest.contains(&release)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_helm_working_on_a_release() {
        let shim = [
            "/v/libexec/helm",
            "/v/bin/helm",
            "upgrade",
            "--install",
            "astro",
            "chart.tgz",
            "--namespace",
            "ns",
        ];
        assert!(is_helm_on(&shim, "astro", "ns"));
        assert!(!is_helm_on(&shim, "astro", "other"));
        assert!(!is_helm_on(&shim, "other", "ns"));
        let status = ["helm", "status", "astro", "--namespace", "ns"];
        assert!(!is_helm_on(&status, "astro", "ns"));
        let wrapped = [
            "setpriv",
            "--pdeathsig",
            "TERM",
            "--",
            "helm",
            "rollback",
            "astro",
            "-n",
            "ns",
        ];
        assert!(is_helm_on(&wrapped, "astro", "ns"));
        let wrapped = ["/usr/bin/helm", "uninstall", "astro", "--namespace=ns"];
        assert!(is_helm_on(&wrapped, "astro", "ns"));
    }
}
