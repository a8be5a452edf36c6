//! `liftoff bundle create | inspect | verify | push | keygen` and what
//! `install --bundle` and `upgrade --bundle` do before they change
//! anything: extract and verify the bundle, take its chart (and its helm),
//! check the private registry holds every image.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::report::print_json;
use super::{Cli, Output};
use crate::bundle::{self, BundleError, Extracted, registry::Access};
use crate::error::Error;
use crate::secret::Redacted;

#[derive(Debug, clap::Subcommand)]
pub enum BundleCommand {
    /// Make a bundle: the spec's chart, every image the platform pulls, the
    /// liftoff (and helm) binaries and a manifest of checksums, in one archive.
    Create {
        /// Where to write the bundle.
        #[arg(long, default_value = "liftoff-bundle.tar")]
        out: PathBuf,
        /// Compress with zstd (level 1-19; 3 when given without a level).
        #[arg(long, num_args = 0..=1, default_missing_value = "3")]
        zstd: Option<i32>,
        /// An image to add (repeatable), besides those the chart renders.
        #[arg(long = "image")]
        images: Vec<String>,
        /// Only the images given with --image: do not render the chart.
        #[arg(long)]
        no_chart_images: bool,
        /// Keep only these platforms of a multi-platform image (`linux/amd64`;
        /// repeatable). Default: every platform.
        #[arg(long = "platform")]
        platforms: Vec<String>,
        /// Sign the manifest with this ed25519 private key (PKCS#8 PEM).
        #[arg(long)]
        sign_key: Option<PathBuf>,
        /// A helm binary to ship, used by `install --bundle`.
        #[arg(long)]
        helm: Option<PathBuf>,
        /// The runtime versions JSON to ship.
        #[arg(long)]
        runtime_versions: Option<PathBuf>,
        /// A differential bundle: leave out every blob this older bundle has.
        #[arg(long)]
        since: Option<PathBuf>,
        /// Print the image list and stop.
        #[arg(long)]
        list_images: bool,
        /// Source registries (`host:port`) spoken to over plain HTTP (repeatable).
        #[arg(long = "plain-http")]
        plain_http: Vec<String>,
        /// A CA certificate (PEM) for the source registries.
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// List a bundle's contents (the manifest; no checksums).
    Inspect {
        bundle: PathBuf,
        /// Only the images, one reference per line.
        #[arg(long)]
        images: bool,
    },
    /// Check every file's checksum and, when present, the signature.
    Verify {
        bundle: PathBuf,
        /// The signer's ed25519 public key (PEM).
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Push the bundle's images into a private registry as
    /// `<registry>/<basename>:<tag>`.
    Push {
        bundle: PathBuf,
        /// `host[:port][/prefix]`.
        #[arg(long)]
        registry: String,
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Blobs pushed at once.
        #[arg(long, default_value_t = 6)]
        parallel: usize,
        #[arg(long)]
        username: Option<String>,
        /// Read the password from standard input.
        #[arg(long, requires = "username")]
        password_stdin: bool,
        /// The docker config with credentials (default ~/.docker/config.json).
        #[arg(long)]
        docker_config: Option<PathBuf>,
        /// A CA certificate (PEM) the registry's certificate chains to.
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Speak plain HTTP to the registry (a test registry without TLS).
        #[arg(long)]
        plain_http: bool,
        /// Where to extract the bundle (default: the temporary folder).
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
    /// Write a new ed25519 key pair: PREFIX.pem (private, 0600) and PREFIX.pub.pem.
    Keygen {
        #[arg(long, default_value = "liftoff-bundle-key")]
        out: PathBuf,
    },
}

/// Progress on stderr: a byte bar on a terminal, lines otherwise, JSON lines
/// with `--output json`.
struct Shown {
    bar: Option<ProgressBar>,
    json: bool,
    /// Without a bar: bytes done and expected, for a line every tenth.
    done: std::sync::atomic::AtomicU64,
    expected: std::sync::atomic::AtomicU64,
}

impl Shown {
    fn new(output: Output) -> Shown {
        let bar = (output == Output::Text && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(0);
            b.set_style(
                ProgressStyle::with_template("{msg} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                    .expect("template"),
            );
            b
        });
        Shown {
            bar,
            json: output == Output::Json,
            done: Default::default(),
            expected: Default::default(),
        }
    }
}

impl bundle::Progress for Shown {
    fn bytes(&self, n: u64) {
        use std::sync::atomic::Ordering;
        if let Some(b) = &self.bar {
            b.inc(n);
            return;
        }
        let expected = self.expected.load(Ordering::Relaxed);
        let before = self.done.fetch_add(n, Ordering::Relaxed);
        let after = before + n;
        if expected == 0 || before * 10 / expected == after * 10 / expected {
            return;
        }
        if self.json {
            eprintln!(
                "{}",
                json!({"event": "progress", "doneBytes": after, "totalBytes": expected})
            );
        } else {
            eprintln!(
                "{} of {} ({}%)",
                human(after),
                human(expected),
                after * 100 / expected
            );
        }
    }
    fn total(&self, n: u64) {
        use std::sync::atomic::Ordering;
        self.done.store(0, Ordering::Relaxed);
        self.expected.store(n, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_length(n);
            b.set_position(0);
        } else if self.json {
            eprintln!("{}", json!({"event": "progress", "totalBytes": n}));
        } else {
            eprintln!("{} to go", human(n));
        }
    }
    fn note(&self, line: &str) {
        match &self.bar {
            Some(b) => b.set_message(line.to_string()),
            None if self.json => eprintln!("{}", json!({"event": "progress", "message": line})),
            None => eprintln!("{line}"),
        }
    }
}

impl Drop for Shown {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn human(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn key(path: Option<&Path>) -> Result<Option<bundle::sign::PublicKey>, Error> {
    Ok(path.map(bundle::sign::read_public).transpose()?)
}

pub async fn run(cli: &Cli, command: &BundleCommand) -> Result<(), Error> {
    match command {
        BundleCommand::Create {
            out,
            zstd,
            images,
            no_chart_images,
            platforms,
            sign_key,
            helm,
            runtime_versions,
            since,
            list_images,
            plain_http,
            ca_file,
        } => {
            let loaded = super::session::load(cli)?;
            let spec = &loaded.spec;
            let helm_program = crate::cluster::helm::Helm::default();
            let fetched = tempfile::tempdir().map_err(|source| Error::Io {
                what: "cannot create a temporary folder".into(),
                source,
            })?;
            let repo = spec.platform.chart.repository.trim_end_matches('/');
            let chart = if repo.ends_with(".tgz") {
                let local = loaded.base_dir.join(repo);
                if !local.is_file() {
                    return Err(Error::Input(
                        format!("the chart archive {} does not exist", local.display()),
                        Some(format!(
                            "fetch it on this connected machine: `helm pull {} --repo https://helm.astronomer.io --version {}`, or set platform.chart.repository to the Helm repository",
                            spec.platform.chart.name, spec.platform.chart.version
                        )),
                    ));
                }
                local
            } else {
                helm_program
                    .pull(spec, &loaded.base_dir, fetched.path())
                    .await
                    .map_err(|e| BundleError::Helm(crate::chain::one_line(&e)))?
            };
            let mut all: std::collections::BTreeSet<String> = images.iter().cloned().collect();
            if !no_chart_images {
                all.extend(bundle::images::of_chart(&helm_program, spec, &chart).await?);
            }
            if let Some(path) = runtime_versions {
                all.extend(bundle::images::of_runtime_versions(path)?);
            }
            if *list_images {
                match cli.output {
                    Output::Text => all.iter().for_each(|i| outln!("{i}")),
                    Output::Json => print_json(&json!({"images": all})),
                }
                return Ok(());
            }
            let values = crate::render::values_yaml(spec, &crate::render::Inputs::default()).ok();
            let request = bundle::create::Request {
                out: out.clone(),
                chart,
                chart_name: spec.platform.chart.name.clone(),
                chart_version: spec.platform.chart.version.clone(),
                images: all,
                platforms: platforms.clone(),
                values_yaml: values,
                helm: helm.clone(),
                liftoff: std::env::current_exe().ok(),
                runtime_versions: runtime_versions.clone(),
                sign_key: sign_key.clone(),
                zstd: *zstd,
                since: since.clone(),
                access: Access {
                    plain_http: plain_http.clone(),
                    ca_file: ca_file.clone(),
                    ..Default::default()
                },
            };
            let shown = Shown::new(cli.output);
            let summary = bundle::create::create(&request, &shown).await?;
            drop(shown);
            match cli.output {
                Output::Json => print_json(&serde_json::to_value(&summary).expect("json")),
                Output::Text => {
                    outln!(
                        "Wrote {} ({}{}): {} image(s), {} blob(s), {} of image data; storing shared blobs once saved {}.",
                        summary.bundle.display(),
                        human(summary.archive_bytes),
                        if summary.signed { ", signed" } else { "" },
                        summary.images,
                        summary.blobs,
                        human(summary.image_bytes),
                        human(summary.dedup_saved_bytes),
                    );
                    if since.is_some() {
                        outln!(
                            "Differential: left out what the older bundle has, {}.",
                            human(summary.since_saved_bytes)
                        );
                    }
                }
            }
            Ok(())
        }
        BundleCommand::Inspect {
            bundle: path,
            images,
        } => {
            let checked = bundle::archive::read(
                path,
                bundle::archive::Mode::ManifestOnly,
                None,
                &bundle::Silent,
            )?;
            let m = &checked.manifest;
            match (cli.output, images) {
                (Output::Json, true) => print_json(&json!({"images": m.images})),
                (Output::Json, false) => print_json(&serde_json::to_value(m).expect("json")),
                (Output::Text, true) => m.images.iter().for_each(|i| outln!("{}", i.reference)),
                (Output::Text, false) => {
                    outln!(
                        "{}: chart {} {}, {}",
                        path.display(),
                        m.chart.name,
                        m.chart.version,
                        m.created_by
                    );
                    if let Some(s) = &m.since {
                        outln!(
                            "differential: {} blob(s), {}, left out (the older bundle's manifest sha256 {})",
                            s.blobs_left_out,
                            human(s.bytes_saved),
                            s.manifest_sha256
                        );
                    }
                    outln!("images:");
                    for i in &m.images {
                        outln!(
                            "  {} {} [{}]",
                            i.reference,
                            i.digest,
                            i.platforms.join(", ")
                        );
                    }
                    outln!("files:");
                    for f in &m.files {
                        outln!("  {:>10}  {}  {}", human(f.size), f.sha256, f.path);
                    }
                }
            }
            Ok(())
        }
        BundleCommand::Verify {
            bundle: path,
            public_key,
        } => {
            let key = key(public_key.as_deref())?;
            let shown = Shown::new(cli.output);
            let checked =
                bundle::archive::read(path, bundle::archive::Mode::Verify, key.as_ref(), &shown)?;
            drop(shown);
            let files = checked.manifest.files.len();
            match cli.output {
                Output::Json => print_json(&json!({
                    "verified": true,
                    "files": files,
                    "signed": checked.signed,
                    "manifestSha256": checked.manifest_sha256,
                })),
                Output::Text => outln!(
                    "{} is intact: {files} file(s) match the manifest{}.",
                    path.display(),
                    if checked.signed {
                        "; the signature is good"
                    } else {
                        " (not signed)"
                    }
                ),
            }
            Ok(())
        }
        BundleCommand::Push {
            bundle: path,
            registry,
            public_key,
            parallel,
            username,
            password_stdin,
            docker_config,
            ca_file,
            plain_http,
            work_dir,
        } => {
            let key = key(public_key.as_deref())?;
            let password = if *password_stdin {
                let mut p = String::new();
                std::io::stdin()
                    .read_line(&mut p)
                    .map_err(|source| Error::Io {
                        what: "cannot read the password from standard input".into(),
                        source,
                    })?;
                Some(Redacted::new(p.trim_end_matches(['\r', '\n']).to_string()))
            } else {
                None
            };
            let access = Access {
                plain_http: if *plain_http {
                    vec![bundle::registry::registry_host(registry).to_string()]
                } else {
                    Vec::new()
                },
                ca_file: ca_file.clone(),
                username: username.clone(),
                password,
                docker_config: docker_config.clone(),
            };
            let shown = Shown::new(cli.output);
            shown_note(
                &shown,
                &format!("verifying and extracting {}", path.display()),
            );
            let extracted = bundle::extract(path, work_dir.as_deref(), key.as_ref(), &shown)?;
            let pushed = bundle::push::push(
                extracted.dir.path(),
                &extracted.checked.manifest,
                registry,
                &access,
                *parallel,
                &shown,
            )
            .await?;
            drop(shown);
            match cli.output {
                Output::Json => print_json(&serde_json::to_value(&pushed).expect("json")),
                Output::Text => outln!(
                    "Pushed {} image(s) to {registry}: {} blob(s) sent ({}), {} mounted from another repository, {} already there.",
                    pushed.images.len(),
                    pushed.blobs_pushed,
                    human(pushed.bytes_pushed),
                    pushed.blobs_mounted,
                    pushed.blobs_skipped
                ),
            }
            Ok(())
        }
        BundleCommand::Keygen { out } => {
            let (private, public) = bundle::sign::generate();
            let private_path = out.with_extension("pem");
            let public_path = PathBuf::from(format!("{}.pub.pem", out.display()));
            write_private(&private_path, private.expose())?;
            std::fs::write(&public_path, public).map_err(|source| Error::Io {
                what: format!("cannot write {}", public_path.display()),
                source,
            })?;
            match cli.output {
                Output::Json => {
                    print_json(&json!({"privateKey": private_path, "publicKey": public_path}))
                }
                Output::Text => outln!(
                    "Wrote {} (keep it secret) and {} (give it to whoever verifies).",
                    private_path.display(),
                    public_path.display()
                ),
            }
            Ok(())
        }
    }
}

fn shown_note(shown: &Shown, line: &str) {
    bundle::Progress::note(shown, line);
}

fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| Error::Io {
            what: format!("cannot write {} (it must not exist yet)", path.display()),
            source,
        })?;
    f.write_all(text.as_bytes()).map_err(|source| Error::Io {
        what: format!("cannot write {}", path.display()),
        source,
    })
}

/// The bundle `install --bundle` works from, kept (extracted) until liftoff ends.
static EXTRACTED: Mutex<Option<Extracted>> = Mutex::new(None);

/// Removes the extracted bundle (at the end of the run).
pub fn cleanup() {
    if let Ok(mut e) = EXTRACTED.lock() {
        e.take();
    }
}

/// The settings `install --bundle` and `upgrade --bundle` take.
pub struct InstallBundle<'a> {
    pub bundle: &'a Path,
    pub public_key: Option<&'a Path>,
    pub registry_plain_http: bool,
    pub registry_ca_file: Option<&'a Path>,
}

/// Refuses a spec that is not air-gapped with a private registry.
fn require_airgap(spec: &crate::spec::Spec, command: &str) -> Result<(), Error> {
    if spec
        .airgap
        .as_ref()
        .filter(|a| a.enabled)
        .and_then(|a| a.registry.as_ref())
        .is_none()
    {
        return Err(Error::Input(
            format!("{command} needs an air-gapped spec: airgap.enabled with airgap.registry"),
            Some("set `airgap: {enabled: true, registry: {repository: HOST/PATH, pullSecret: {fromFile: ...}}}` (profile `airgapped`)".into()),
        ));
    }
    Ok(())
}

/// Runs this process's helm from the bundle when it carries one, and keeps
/// the extracted bundle until liftoff ends.
fn keep(extracted: Extracted) {
    if let Some(h) = &extracted.checked.manifest.chart.helm {
        crate::cluster::helm::use_program(extracted.path(h));
    }
    if let Ok(mut slot) = EXTRACTED.lock() {
        *slot = Some(extracted);
    }
}

/// Verifies and extracts the bundle, then points the run's helm at its
/// chart (and runs its helm). The spec must be air-gapped with a registry.
pub fn prepare_install(
    options: &InstallBundle<'_>,
    loaded: &crate::spec::Loaded,
) -> Result<(), Error> {
    let spec = &loaded.spec;
    require_airgap(spec, "install --bundle")?;
    let key = key(options.public_key)?;
    let extracted = bundle::extract_but_images(options.bundle, key.as_ref(), &bundle::Silent)?;
    let m = &extracted.checked.manifest;
    if m.chart.version != spec.platform.chart.version {
        return Err(Error::Input(
            format!(
                "the bundle holds chart {} {}, the spec pins {}",
                m.chart.name, m.chart.version, spec.platform.chart.version
            ),
            Some("set platform.chart.version to the bundle's, or use the bundle made for this version".into()),
        ));
    }
    // Helm takes the bundle's chart; the spec (and the recorded release)
    // keep naming the spec's own, so a later `plan` compares like with like.
    crate::cluster::helm::use_chart(&m.chart.version, extracted.path(&m.chart.path));
    keep(extracted);
    Ok(())
}

/// The chart `upgrade --bundle` upgrades to, from the verified bundle.
pub struct BundleChart {
    pub name: String,
    pub version: String,
    /// The chart archive, extracted (kept until liftoff ends).
    pub archive: PathBuf,
}

/// Verifies and extracts the bundle for `upgrade --bundle` (before the
/// cluster driver is built, so the bundle's helm is the one it runs). The
/// spec must be air-gapped with a registry; the spec's chart is left as
/// written (the upgrade takes the bundle's for its one hop).
pub fn prepare_upgrade(
    options: &InstallBundle<'_>,
    spec: &crate::spec::Spec,
) -> Result<BundleChart, Error> {
    require_airgap(spec, "upgrade --bundle")?;
    let key = key(options.public_key)?;
    let extracted = bundle::extract_but_images(options.bundle, key.as_ref(), &bundle::Silent)?;
    let m = &extracted.checked.manifest;
    let chart = BundleChart {
        name: m.chart.name.clone(),
        version: m.chart.version.clone(),
        archive: extracted.path(&m.chart.path),
    };
    keep(extracted);
    Ok(chart)
}

/// The private registry of the spec and how to reach it: the pull secret's
/// credentials, the CA file, plain HTTP when asked.
fn registry_access(
    options: &InstallBundle<'_>,
    loaded: &crate::spec::Loaded,
) -> Option<(String, Access)> {
    let registry = loaded
        .spec
        .airgap
        .as_ref()
        .and_then(|a| a.registry.as_ref())?;
    let docker_config = registry
        .pull_secret
        .as_ref()
        .and_then(|s| s.from_file.as_ref())
        .map(|f| loaded.base_dir.join(f));
    let repository = registry.repository.clone();
    let access = Access {
        plain_http: if options.registry_plain_http {
            vec![bundle::registry::registry_host(&repository).to_string()]
        } else {
            Vec::new()
        },
        ca_file: options.registry_ca_file.map(Path::to_path_buf),
        docker_config,
        ..Default::default()
    };
    Some((repository, access))
}

/// The manifest of the bundle this run extracted.
fn extracted_manifest() -> Option<bundle::Manifest> {
    EXTRACTED
        .lock()
        .ok()
        .and_then(|e| e.as_ref().map(|e| e.checked.manifest.clone()))
}

/// Refuses to go on when the private registry lacks any of the bundle's images.
pub async fn check_registry(
    options: &InstallBundle<'_>,
    loaded: &crate::spec::Loaded,
) -> Result<(), Error> {
    let (Some((repository, access)), Some(manifest)) =
        (registry_access(options, loaded), extracted_manifest())
    else {
        return Ok(());
    };
    let absent = bundle::push::absent_images(&manifest, &repository, &access).await?;
    if !absent.is_empty() {
        return Err(BundleError::AbsentImages {
            registry: repository,
            images: absent,
        }
        .into());
    }
    Ok(())
}

/// What `upgrade --bundle` found in the private registry.
pub struct UpgradeImages {
    /// The bundle's images, checked by digest.
    pub of_bundle: usize,
    /// The images the new chart names, checked by tag.
    pub of_chart: usize,
}

/// Refuses the upgrade when the private registry lacks an image the new
/// release needs: every image of the bundle (by digest, under the
/// registry's name for it) and every image the new chart renders with the
/// upgrade's values (`rendered`, by their references, all under the
/// registry: the caller refuses any other first). Each missing one is named.
pub async fn check_upgrade_images(
    options: &InstallBundle<'_>,
    loaded: &crate::spec::Loaded,
    rendered: &[String],
) -> Result<UpgradeImages, Error> {
    let (Some((repository, access)), Some(manifest)) =
        (registry_access(options, loaded), extracted_manifest())
    else {
        return Ok(UpgradeImages {
            of_bundle: 0,
            of_chart: 0,
        });
    };
    let mut absent = bundle::push::absent_images(&manifest, &repository, &access).await?;
    for image in bundle::push::absent_references(rendered, &access).await? {
        if !absent.contains(&image) {
            absent.push(image);
        }
    }
    if !absent.is_empty() {
        return Err(BundleError::AbsentForUpgrade {
            bundle: options.bundle.to_path_buf(),
            registry: repository,
            images: absent,
        }
        .into());
    }
    Ok(UpgradeImages {
        of_bundle: manifest.images.len(),
        of_chart: rendered.len(),
    })
}
