//! Air-gapped bundles: one archive with the platform chart, every image
//! the platform pulls (an OCI image layout, each blob once), the liftoff
//! and helm binaries, and a manifest with every file's size and sha256,
//! optionally signed with ed25519. `create` builds one, `inspect` lists
//! it, `verify` checks it, `push` loads its images into a private registry,
//! `install --bundle` installs from it and `upgrade --bundle` upgrades
//! from it (see docs/bundle.md).

pub mod archive;
pub mod create;
pub mod images;
pub mod manifest;
pub mod pull;
pub mod push;
pub mod registry;
pub mod sign;

use std::path::{Path, PathBuf};

pub use manifest::Manifest;

/// Where work stands, for a progress display.
pub trait Progress: Sync {
    /// `n` more bytes done.
    fn bytes(&self, _n: u64) {}
    /// The bytes the current step will handle.
    fn total(&self, _n: u64) {}
    /// A line saying what happens now.
    fn note(&self, _line: &str) {}
}

/// No progress shown.
pub struct Silent;
impl Progress for Silent {}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bundle {} is truncated or corrupt{}", bundle.display(), at.as_ref().map(|a| format!(" at {a}")).unwrap_or_default())]
    Corrupt {
        bundle: PathBuf,
        at: Option<String>,
        #[source]
        source: std::io::Error,
    },
    #[error("bundle {} failed verification: {file}: {reason}", bundle.display())]
    BadFile {
        bundle: PathBuf,
        file: String,
        reason: String,
    },
    #[error("bundle {} is refused: the entry `{path}` is unsafe: {reason}", bundle.display())]
    UnsafePath {
        bundle: PathBuf,
        path: String,
        reason: String,
    },
    #[error("not enough free space in {}: the bundle needs {needed} bytes, {free} are free", dir.display())]
    NoSpace {
        dir: PathBuf,
        needed: u64,
        free: u64,
    },
    #[error("bundle {} has a bad signature: {reason}", bundle.display())]
    BadSignature { bundle: PathBuf, reason: String },
    #[error("bundle {} is signed, and no public key was given to check it", bundle.display())]
    SignedNoKey { bundle: PathBuf },
    #[error("cannot use the key {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("{what}: {reason}")]
    Registry { what: String, reason: String },
    #[error("the registry {registry} lacks {} blob(s) this differential bundle leaves out: {}", blobs.len(), blobs.join(", "))]
    MissingBlobs {
        registry: String,
        blobs: Vec<String>,
    },
    #[error("the registry {registry} lacks {} image(s) of the bundle: {}", images.len(), images.join(", "))]
    AbsentImages {
        registry: String,
        images: Vec<String>,
    },
    #[error("the registry {registry} lacks {} image(s) the upgrade needs: {}", images.len(), images.join(", "))]
    AbsentForUpgrade {
        bundle: PathBuf,
        registry: String,
        images: Vec<String>,
    },
    #[error("cannot render the chart to list its images: {0}")]
    Helm(String),
    #[error("{0}")]
    Input(String, Option<String>),
}

impl BundleError {
    /// Whether the bundle itself was refused (a checksum, the signature, an
    /// unsafe entry).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            BundleError::Corrupt { .. }
                | BundleError::BadFile { .. }
                | BundleError::UnsafePath { .. }
                | BundleError::BadSignature { .. }
                | BundleError::SignedNoKey { .. }
        )
    }

    pub fn is_input(&self) -> bool {
        matches!(self, BundleError::Key { .. } | BundleError::Input(..))
    }

    pub fn is_registry(&self) -> bool {
        matches!(
            self,
            BundleError::Registry { .. }
                | BundleError::MissingBlobs { .. }
                | BundleError::AbsentImages { .. }
                | BundleError::AbsentForUpgrade { .. }
        )
    }

    pub fn hint(&self) -> Option<String> {
        Some(match self {
            BundleError::Corrupt { .. } | BundleError::BadFile { .. } => {
                "copy the bundle again from where it was made (compare its sha256 there and here), or make it again with `liftoff bundle create`".into()
            }
            BundleError::UnsafePath { .. } => {
                "this archive was not made by `liftoff bundle create`; do not use it".into()
            }
            BundleError::NoSpace { .. } => {
                "free some space, or point TMPDIR (or --work-dir) at a larger file system".into()
            }
            BundleError::BadSignature { .. } => {
                "check that --public-key is the key matching the one the bundle was signed with (`bundle create --sign-key`); otherwise the bundle was altered: do not use it".into()
            }
            BundleError::SignedNoKey { .. } => {
                "pass --public-key with the signer's public key (PEM); a signature is always checked when present".into()
            }
            BundleError::Key { .. } => {
                "make a key pair with `liftoff bundle keygen`, or `openssl genpkey -algorithm ed25519 -out key.pem` and `openssl pkey -in key.pem -pubout -out key.pub.pem`".into()
            }
            BundleError::Registry { .. } => {
                "check the registry address, that it is reachable, the credentials (--username/--password-stdin or the docker config) and --ca-file for a private CA; --plain-http only for a registry without TLS".into()
            }
            BundleError::MissingBlobs { .. } => {
                "push the full bundle this one was made against (`bundle create --since`) first, or make a full bundle".into()
            }
            BundleError::AbsentImages { .. } => {
                "push the bundle's images first: `liftoff bundle push BUNDLE --registry REGISTRY`".into()
            }
            BundleError::AbsentForUpgrade {
                bundle, registry, ..
            } => format!(
                "push the bundle's images first: `liftoff bundle push {} --registry {registry}`; nothing was changed",
                bundle.display()
            ),
            BundleError::Helm(_) => {
                "liftoff renders the chart with `helm template`: put helm (3.6 or newer) on PATH or set LIFTOFF_HELM".into()
            }
            BundleError::Input(_, hint) => return hint.clone(),
            BundleError::Io { .. } => return None,
        })
    }
}

/// A bundle checked and extracted into a private folder (removed on drop).
pub struct Extracted {
    pub dir: tempfile::TempDir,
    pub checked: archive::Checked,
}

impl Extracted {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

/// Verifies `bundle` while extracting it into a new folder under `work`
/// (default: the system's temporary folder); nothing is left behind when a
/// check fails.
pub fn extract(
    bundle: &Path,
    work: Option<&Path>,
    key: Option<&sign::PublicKey>,
    progress: &dyn Progress,
) -> Result<Extracted, BundleError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("liftoff-bundle-");
    let dir = match work {
        Some(w) => builder.tempdir_in(w),
        None => builder.tempdir(),
    }
    .map_err(|source| BundleError::Io {
        what: "cannot create a folder to extract the bundle into".into(),
        source,
    })?;
    let checked = archive::read(bundle, archive::Mode::Extract(dir.path()), key, progress)?;
    Ok(Extracted { dir, checked })
}

/// As [`extract`], into the system's temporary folder, writing everything
/// but the image layout (every file is still checked): the chart and the
/// binaries, for `install --bundle` and `upgrade --bundle`.
pub fn extract_but_images(
    bundle: &Path,
    key: Option<&sign::PublicKey>,
    progress: &dyn Progress,
) -> Result<Extracted, BundleError> {
    let dir = tempfile::Builder::new()
        .prefix("liftoff-bundle-")
        .tempdir()
        .map_err(|source| BundleError::Io {
            what: "cannot create a folder to extract the bundle into".into(),
            source,
        })?;
    let checked = archive::read(
        bundle,
        archive::Mode::ExtractButImages(dir.path()),
        key,
        progress,
    )?;
    Ok(Extracted { dir, checked })
}
