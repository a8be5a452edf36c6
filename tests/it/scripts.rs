//! `scripts/test-deps` on machines it must not assume things about: not
//! root (sudo or not), and a python3 whose venv lacks ensurepip (Debian
//! without python3-venv). Stubs stand in for dpkg, sudo, id and python3.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn stub(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A PATH with only the stubs and the few real tools the script needs.
fn fake_machine(with_sudo: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["mkdir", "sha256sum", "cut", "touch", "cat", "chmod"] {
        let real = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap();
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    stub(&bin, "id", "echo 1000");
    // Nothing is installed.
    stub(&bin, "dpkg", "exit 1");
    // python3 without ensurepip; `-m venv DIR` makes a venv whose pip works.
    stub(
        &bin,
        "python3",
        r#"if [ "$1" = "-c" ]; then exit 1; fi
if [ "$1" = "-m" ]; then mkdir -p "$3/bin"; printf '#!/bin/bash\necho "pip $*" >> "$LOG"\n' > "$3/bin/pip"; chmod +x "$3/bin/pip"; fi"#,
    );
    if with_sudo {
        stub(&bin, "sudo", r#"echo "sudo $*" >> "$LOG""#);
    }
    dir
}

fn run(machine: &Path) -> Output {
    Command::new("/bin/bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/test-deps"))
        .env_clear()
        .env("PATH", machine.join("bin"))
        .env("HOME", machine)
        .env("LOG", machine.join("log"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn test_deps_without_root_or_sudo_says_what_to_install() {
    let machine = fake_machine(false);
    let out = run(machine.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing Debian packages: postgresql openssl docker-registry skopeo umoci strace python3-venv"),
        "{}",
        text(&out)
    );
    assert!(stderr.contains("not root and no sudo"), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
}

#[test]
fn test_deps_uses_sudo_and_says_what_it_installs_first() {
    let machine = fake_machine(true);
    let out = run(machine.path());
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let announced = stderr
        .find("installing Debian packages: postgresql openssl docker-registry skopeo umoci strace python3-venv")
        .expect("announces the Debian packages");
    let venv = stderr
        .find("making a Python venv")
        .expect("announces the venv");
    assert!(announced < venv, "{}", text(&out));
    let log = std::fs::read_to_string(machine.path().join("log")).unwrap();
    assert!(log.contains("sudo apt-get update"), "{log}");
    assert!(
        log.contains("apt-get install -y -q postgresql openssl docker-registry skopeo umoci strace python3-venv"),
        "{log}"
    );
    assert!(log.contains("pip install"), "{log}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("export PATH="),
        "{}",
        text(&out)
    );
}
