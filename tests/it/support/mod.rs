//! Test helpers shared by the areas: fake servers, fake tools, an
//! in-memory cloud, and moto behind a recording, fault-injecting proxy.

#[cfg(feature = "aws")]
pub mod aws_like;
#[cfg(feature = "gcp")]
pub mod gcp_fake;
#[cfg(feature = "gcp")]
pub mod gcs;
pub mod helm;
#[cfg(feature = "gcp")]
pub mod http;
pub mod kube;
pub mod memory;
#[cfg(feature = "aws")]
pub mod moto;
pub mod procs;
#[cfg(feature = "aws")]
pub mod proxy;
pub mod realkube;
pub mod registry;

/// Opens a state store. Tests run in parallel threads of one process, and a
/// child another test forks inherits this test's lock descriptor until it
/// execs: a lock still held for a moment after the previous holder dropped
/// its store is waited out (ten seconds at most) instead of failing.
pub fn open_store(dir: &std::path::Path, installation: &str) -> liftoff::plan::state::Store {
    use liftoff::state::StorageError;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match liftoff::state::open_local(dir, installation) {
            Ok(store) => return store,
            Err(StorageError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("cannot open the state: {e}"),
        }
    }
}

/// `python3` from PATH when it has the Helm SDK (as under scripts/test),
/// else the venv scripts/test-deps made, so a plain `cargo test` works too.
pub fn helm_python() -> std::path::PathBuf {
    use std::path::{Path, PathBuf};
    let has_sdk = |py: &Path| {
        std::process::Command::new(py)
            .args(["-c", "import helm_python"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let path = PathBuf::from("python3");
    if has_sdk(&path) {
        return path;
    }
    let tools = std::env::var_os("LIFTOFF_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/liftoff-tools")));
    match tools.map(|t| t.join("venv/bin/python3")) {
        Some(venv) if has_sdk(&venv) => venv,
        _ => path,
    }
}
