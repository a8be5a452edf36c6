//! Throwaway services the tests start on 127.0.0.1: a PostgreSQL cluster
//! in a temporary directory, stopped when dropped; free loopback ports.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL cluster made with initdb in a temporary directory, run as
/// the `postgres` user when the tests run as root.
pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
    as_postgres: bool,
}

fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL not installed: run scripts/test-deps")
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").is_file())
        .collect();
    found.sort();
    found.pop().expect("no initdb under /usr/lib/postgresql")
}

impl Postgres {
    fn run(&self, program: &str, args: &[&str]) -> std::process::Output {
        let prog = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&prog);
            c
        } else {
            Command::new(&prog)
        };
        cmd.args(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Starts a cluster whose superuser `admin` has `password`; with `tls`,
    /// it also accepts TLS with a self-signed certificate made here.
    pub fn start(password: &str, tls: bool) -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = unsafe_is_root();
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, password).unwrap();
        if tls {
            let out = Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=localhost",
                ])
                .arg("-keyout")
                .arg(dir.path().join("server.key"))
                .arg("-out")
                .arg(dir.path().join("server.crt"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::set_permissions(
                dir.path().join("server.key"),
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )
            .unwrap();
        }
        if as_postgres {
            // The postgres user needs to enter the directory and own its files.
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
        }
        let pg = Postgres {
            port: free_port(),
            bin: pg_bin(),
            data,
            _dir: dir,
            as_postgres,
        };
        let out = pg.run(
            "initdb",
            &[
                "-D",
                pg.data.to_str().unwrap(),
                "-U",
                "admin",
                "--auth=scram-sha-256",
                "--pwfile",
                pwfile.to_str().unwrap(),
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut opts = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={}",
            pg.port,
            pg.data.display()
        );
        if tls {
            let d = pg.data.parent().unwrap().display().to_string();
            opts.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={d}/server.crt -c ssl_key_file={d}/server.key"
            ));
        }
        let log = pg.data.join("log");
        let out = pg.run(
            "pg_ctl",
            &[
                "-D",
                pg.data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }
}

impl Postgres {
    /// A watcher that stops this cluster once the test process is gone
    /// (for a cluster kept in a static, which is never dropped).
    pub fn stop_with_this_process(&self) -> std::process::Child {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = format!(
            "{}'{}' -D '{}' -m immediate -w stop",
            if self.as_postgres {
                "runuser -u postgres -- "
            } else {
                ""
            },
            pg_ctl.display(),
            self.data.display()
        );
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1",
            std::process::id()
        );
        std::os::unix::process::CommandExt::process_group(
            Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            0,
        )
        .spawn()
        .unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

fn unsafe_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
}
