//! A moto server (the AWS emulator) on a free loopback port, one per test,
//! stopped when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::procs::free_port;

pub struct Moto {
    pub port: u16,
    child: Child,
}

/// `moto_server` from PATH (scripts/test puts the venv there), else from the
/// venv `scripts/test-deps` makes.
fn moto_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("moto_server"))
        .find(|p| p.is_file())
    {
        return p;
    }
    let tools = std::env::var_os("LIFTOFF_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/liftoff-tools")
        });
    let p = tools.join("venv/bin/moto_server");
    assert!(
        p.is_file(),
        "moto_server not found: run `eval \"$(scripts/test-deps)\"` first"
    );
    p
}

/// A plain HTTP/1.1 GET on loopback; the status code.
pub fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new(moto_bin())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto { port, child };
        let start = Instant::now();
        while get_status(port, "/moto-api/") != Some(200) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto did not come up on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
