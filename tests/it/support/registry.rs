//! A real OCI registry for tests: Debian's `docker-registry` (the CNCF
//! distribution registry) on a free 127.0.0.1 port, storage and config in
//! a temporary folder, stopped when dropped. Also small test images, built
//! as OCI image layouts here and copied in with `skopeo`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::procs::free_port;

pub struct Registry {
    pub host: String,
    child: Child,
    _dir: tempfile::TempDir,
}

/// Whether the registry tools are installed (scripts/test-deps installs them).
pub fn tools_missing() -> Option<String> {
    for tool in ["docker-registry", "skopeo"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!(
                "{tool} is not installed: run scripts/test-deps (installs docker-registry and skopeo)"
            ));
        }
    }
    None
}

/// A private registry's certificate and login.
pub struct Secured {
    /// PEM of the CA that signed the registry's certificate.
    pub ca_pem: String,
    pub user: String,
    pub password: String,
}

impl Secured {
    /// A fresh CA, and `user`/`pass` as the login.
    pub fn new() -> Secured {
        Secured {
            ca_pem: String::new(),
            user: "user".into(),
            password: "pass".into(),
        }
    }
}

impl Registry {
    pub fn start() -> Registry {
        Registry::start_with(None)
    }

    /// With `secured`: TLS with a certificate for 127.0.0.1 signed by a new CA
    /// (its PEM written back into `secured.ca_pem`), and an htpasswd login.
    pub fn start_with(secured: Option<&mut Secured>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("config.yml");
        let mut text = format!(
            "version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete: {{enabled: true}}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some(s) = secured {
            use rcgen::{
                BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType,
            };
            let ca_key = KeyPair::generate().unwrap();
            let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            ca.distinguished_name
                .push(DnType::CommonName, "liftoff test registry CA");
            let ca_cert = ca.self_signed(&ca_key).unwrap();
            let issuer = Issuer::new(ca, ca_key);
            let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            leaf.subject_alt_names
                .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
            let leaf_key = KeyPair::generate().unwrap();
            let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
            s.ca_pem = ca_cert.pem();
            std::fs::write(dir.path().join("cert.pem"), leaf_cert.pem()).unwrap();
            std::fs::write(dir.path().join("key.pem"), leaf_key.serialize_pem()).unwrap();
            // bcrypt, as htpasswd -B writes it.
            let hash = Command::new("python3")
                .args([
                    "-W",
                    "ignore",
                    "-c",
                    "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))",
                    &s.password,
                ])
                .output()
                .unwrap();
            assert!(
                hash.status.success(),
                "bcrypt: {}",
                String::from_utf8_lossy(&hash.stderr)
            );
            std::fs::write(
                dir.path().join("htpasswd"),
                format!(
                    "{}:{}\n",
                    s.user,
                    String::from_utf8_lossy(&hash.stdout).trim()
                ),
            )
            .unwrap();
            text.push_str(&format!(
                "  tls:\n    certificate: {d}/cert.pem\n    key: {d}/key.pem\nauth:\n  htpasswd:\n    realm: liftoff-test\n    path: {d}/htpasswd\n",
                d = dir.path().display()
            ));
        }
        std::fs::write(&config, text).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let host = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&host).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {host}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Registry {
            host,
            child,
            _dir: dir,
        }
    }

    /// `skopeo copy --all` of an OCI layout's image into this registry.
    pub fn copy_in(&self, layout: &Path, tag: &str, repository: &str) {
        let out = Command::new("skopeo")
            .args(["copy", "--all", "--dest-tls-verify=false", "-q"])
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{}/{repository}:{tag}", self.host))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The raw manifest of `reference` (`repo:tag` or `repo@digest`) and its sha256 digest.
    pub fn raw_manifest(&self, reference: &str) -> Option<(Vec<u8>, String)> {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{}/{reference}", self.host))
            .output()
            .unwrap();
        out.status.success().then(|| {
            let digest = format!("sha256:{}", hex::encode(Sha256::digest(&out.stdout)));
            (out.stdout, digest)
        })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An OCI image layout under construction.
pub struct Layout {
    pub dir: PathBuf,
    index: Vec<Value>,
}

fn gzip_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        tar.append_data(&mut h, name, *data).unwrap();
    }
    let bytes = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    gz.finish().unwrap()
}

impl Layout {
    pub fn new(dir: &Path) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Layout {
            dir: dir.to_path_buf(),
            index: Vec::new(),
        }
    }

    fn put(&self, bytes: &[u8]) -> (String, u64) {
        let hex = hex::encode(Sha256::digest(bytes));
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len() as u64)
    }

    /// An image manifest for `arch` with a shared base layer and one of its own
    /// (`size` bytes of data that does not compress): its descriptor.
    pub fn image(&self, arch: &str, own: &str, size: usize) -> Value {
        let base = gzip_tar(&[("etc/base.txt", b"the shared base layer\n")]);
        let mut data = vec![0u8; size];
        let mut seed = Sha256::digest(own.as_bytes());
        for chunk in data.chunks_mut(32) {
            chunk.copy_from_slice(&seed[..chunk.len()]);
            seed = Sha256::digest(seed);
        }
        let mine = gzip_tar(&[(&format!("data/{own}.bin"), &data)]);
        let (bd, bs) = self.put(&base);
        let (md, ms) = self.put(&mine);
        let config = json!({
            "architecture": arch, "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": [
                format!("sha256:{}", hex::encode(Sha256::digest(b"base"))),
                format!("sha256:{}", hex::encode(Sha256::digest(own.as_bytes()))),
            ]},
        });
        let (cd, cs) = self.put(&serde_json::to_vec(&config).unwrap());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": bd, "size": bs},
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": md, "size": ms},
            ],
        });
        let (d, s) = self.put(&serde_json::to_vec(&manifest).unwrap());
        json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d, "size": s,
               "platform": {"os": "linux", "architecture": arch}})
    }

    /// Tags a single-platform image.
    pub fn tag_image(&mut self, tag: &str, descriptor: Value) {
        let mut d = descriptor;
        d.as_object_mut().unwrap().remove("platform");
        d["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        self.index.push(d);
        self.write_index();
    }

    /// Tags an index of the given manifests.
    pub fn tag_index(&mut self, tag: &str, manifests: Vec<Value>) {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        });
        let (d, s) = self.put(&serde_json::to_vec(&index).unwrap());
        self.index.push(json!({
            "mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": s,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
        self.write_index();
    }

    fn write_index(&self) {
        let index = json!({"schemaVersion": 2, "manifests": self.index});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }
}
