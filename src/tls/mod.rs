//! The platform's wildcard TLS certificate: reading it from the spec's files
//! (or generating one for the sandbox), and checking it before anything is
//! installed: the key matches the leaf and is RSA of 2048 bits or more, the
//! leaf's subjectAltName covers `*.<baseDomain>` and `<baseDomain>`, every
//! certificate is valid now, and the chain links leaf → intermediates → a
//! root that is publicly trusted or given (in certFile or caFile).
//!
//! The key stays in a [`Redacted`] from the moment it is read: no error,
//! warning or log line carries it.

mod check;
mod generate;
mod read;

use std::path::{Path, PathBuf};

use crate::secret::{Redacted, Vault};
use crate::spec::yaml::Node;
use crate::spec::{Diagnostic, Severity, Spec};

pub use generate::{rsa_key, self_signed_wildcard};

/// Certificates expiring within this many days draw a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// A checked certificate chain and its key, ready to be packaged as secrets.
#[derive(Debug, Clone)]
pub struct Material {
    /// PEM certificates in order: leaf, intermediates, then the root if given.
    pub chain_pem: String,
    /// The leaf's private key, PEM.
    pub key_pem: Redacted<String>,
    /// The chain's root when it is a private (not publicly trusted) CA: the
    /// platform's components must be told to trust it.
    pub private_ca_pem: Option<String>,
    /// Generated for the sandbox rather than read from files.
    pub self_signed: bool,
    /// Problems that do not stop an install (expiry soon, missing intermediates...).
    pub warnings: Vec<String>,
}

/// Why a certificate or key cannot be used. Messages name files as the spec
/// gives them and never include key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "platform.tls needs certFile and keyFile (or `selfSigned: true` on the sandbox profile)"
    )]
    NotConfigured,
    #[error("a self-signed certificate is only allowed with the sandbox profile")]
    SelfSignedNotAllowed,
    #[error("cannot read {}", path.display())]
    Read {
        /// `certFile` or `keyFile`.
        field: &'static str,
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error("{} is a directory, not a file", path.display())]
    IsDirectory {
        /// `certFile`, `keyFile` or `caFile`.
        field: &'static str,
        path: PathBuf,
    },
    #[error("{} is truncated: the `-----BEGIN {tag}-----` block has no `-----END {tag}-----` line", path.display())]
    Truncated {
        field: &'static str,
        path: PathBuf,
        tag: String,
    },
    #[error("{} is not PEM: {detail}", path.display())]
    NotPem {
        /// `certFile` or `keyFile`.
        field: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("{} holds no certificate (no `-----BEGIN CERTIFICATE-----` block)", path.display())]
    NoCertificate { field: &'static str, path: PathBuf },
    #[error("certificate #{index} in {} cannot be parsed: {detail}", path.display())]
    BadCertificate {
        path: PathBuf,
        index: usize,
        detail: String,
    },
    #[error("{} holds no private key", path.display())]
    NoKey { path: PathBuf },
    #[error("{} holds {count} private keys; liftoff needs exactly the certificate's one", path.display())]
    SeveralKeys { path: PathBuf, count: usize },
    #[error("the RSA key in {} has {bits} bits; at least 2048 are needed", path.display())]
    WeakKey { path: PathBuf, bits: usize },
    #[error(
        "the certificate `{subject}` has no subjectAltName: the SAN is missing (browsers and Go clients ignore the common name)"
    )]
    MissingSan { subject: String },
    #[error("the chain in {} ends at #{index} `{subject}`, issued by `{issuer}`, which is neither in the file nor a publicly trusted root", path.display())]
    UntrustedChain {
        path: PathBuf,
        index: usize,
        subject: String,
        issuer: String,
    },
    #[error("{} does not hold `{issuer}`, the issuer the chain in {} ends at", ca.display(), cert.display())]
    CaFileUnrelated {
        ca: PathBuf,
        cert: PathBuf,
        issuer: String,
    },
    #[error("the private key in {} is encrypted with a passphrase", path.display())]
    EncryptedKey { path: PathBuf },
    #[error("the private key in {} cannot be read: {detail}", path.display())]
    BadKey { path: PathBuf, detail: String },
    #[error("the private key in {} is ECDSA; the platform needs an RSA key", path.display())]
    EcdsaKey { path: PathBuf },
    #[error("the private key in {} is {algorithm}; the platform needs an RSA key", path.display())]
    UnsupportedKey { path: PathBuf, algorithm: String },
    #[error("the private key in {} does not match the certificate `{subject}` in {}", key.display(), cert.display())]
    KeyMismatch {
        cert: PathBuf,
        key: PathBuf,
        subject: String,
    },
    #[error("the certificate `{subject}` does not cover {}; it names {}", list(missing), if names.is_empty() { "no host".to_string() } else { list(names) })]
    WrongHost {
        subject: String,
        missing: Vec<String>,
        names: Vec<String>,
    },
    #[error("certificate #{index} `{subject}` expired on {not_after}")]
    Expired {
        index: usize,
        subject: String,
        not_after: String,
    },
    #[error("certificate #{index} `{subject}` is not valid before {not_before}")]
    NotYetValid {
        index: usize,
        subject: String,
        not_before: String,
    },
    #[error("the certificates in {} are out of order; the chain is {order}", path.display())]
    OutOfOrder {
        path: PathBuf,
        /// `#2 `CN=leaf` → #1 `CN=CA``
        order: String,
        /// Where a copy in the right order was written, if it could be.
        reordered: Option<PathBuf>,
    },
    #[error("the chain in {} is broken: certificate #{index} `{subject}` is issued by `{issuer}`, which is not in the file (left over: {})", path.display(), list(unlinked))]
    MissingLink {
        path: PathBuf,
        index: usize,
        subject: String,
        issuer: String,
        unlinked: Vec<String>,
    },
    #[error(
        "certificate #{index} `{subject}` is not signed by certificate #{issuer_index} `{issuer}`, although it names it as issuer"
    )]
    BadSignature {
        index: usize,
        subject: String,
        issuer_index: usize,
        issuer: String,
    },
    #[error("cannot generate the sandbox certificate")]
    Generate(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot keep the sandbox certificate in {}", path.display())]
    Keep {
        path: PathBuf,
        #[source]
        error: std::io::Error,
    },
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl TlsError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            TlsError::NotConfigured => "set platform.tls.certFile and keyFile to your wildcard certificate and key (PEM)".into(),
            TlsError::SelfSignedNotAllowed => "give your wildcard certificate with certFile and keyFile".into(),
            TlsError::Read { .. } => "paths are relative to the spec's folder".into(),
            TlsError::IsDirectory { .. } => "name the PEM file itself, not its folder".into(),
            TlsError::Truncated { .. } => "the file was cut short: copy it again in full, from `-----BEGIN` to `-----END`".into(),
            TlsError::SeveralKeys { .. } => "keep only the private key of the certificate in keyFile".into(),
            TlsError::WeakKey { .. } => "reissue the certificate with an RSA key of 2048 bits or more (`openssl genrsa 3072`)".into(),
            TlsError::MissingSan { .. } => "reissue the certificate with subjectAltName entries for *.<baseDomain> and <baseDomain>".into(),
            TlsError::UntrustedChain { issuer, .. } => format!(
                "if `{issuer}` is your private CA, give its root certificate in platform.tls.caFile (the platform is told to trust it); otherwise append the missing intermediates and root to certFile"
            ),
            TlsError::CaFileUnrelated { .. } => "caFile must hold the root (and any missing intermediates) of the CA that issued the certificate".into(),
            TlsError::NotPem { .. } | TlsError::NoCertificate { .. } | TlsError::BadCertificate { .. } => {
                "certFile must be PEM text: the leaf certificate first, then the intermediates (`openssl x509 -in FILE -text` shows one)".into()
            }
            TlsError::NoKey { .. } | TlsError::BadKey { .. } => {
                "keyFile must hold the certificate's private key as PEM (`-----BEGIN PRIVATE KEY-----` or `-----BEGIN RSA PRIVATE KEY-----`)".into()
            }
            TlsError::EncryptedKey { path } => format!(
                "liftoff cannot prompt for a passphrase: decrypt it once with `openssl pkey -in {} -out key.decrypted.pem`, point keyFile at that file and keep it private",
                path.display()
            ),
            TlsError::EcdsaKey { .. } => "the platform's registry needs an RSA key: reissue the certificate with an RSA 2048+ key, or set platform.tls.allowEcdsa: true to accept it anyway".into(),
            TlsError::UnsupportedKey { .. } => "reissue the certificate with an RSA 2048+ key".into(),
            TlsError::KeyMismatch { .. } => "keyFile must be the key the certificate was issued for; check you did not mix files of two renewals".into(),
            TlsError::WrongHost { .. } => "the platform answers on app.<baseDomain>, houston.<baseDomain>, ...: get a certificate for *.<baseDomain> and <baseDomain>, or change platform.baseDomain".into(),
            TlsError::Expired { .. } => "renew the certificate".into(),
            TlsError::NotYetValid { .. } => "check the machine's clock, or wait until the certificate is valid".into(),
            TlsError::OutOfOrder { reordered: Some(p), .. } => format!(
                "a copy in the right order was written to {}; point certFile at it",
                p.display()
            ),
            TlsError::OutOfOrder { reordered: None, .. } => {
                "put the certificates in that order: the leaf first, each followed by its issuer".into()
            }
            TlsError::MissingLink { issuer, .. } => format!(
                "add the certificate `{issuer}` (from your CA's bundle) right after the one it issued"
            ),
            TlsError::BadSignature { .. } => "the file mixes certificates of two CAs with the same name: take the chain your CA issued with this certificate".into(),
            TlsError::Generate(_) => return None,
            TlsError::Keep { .. } => "check that the state folder is writable".into(),
        })
    }

    /// The spec field the problem is about.
    pub fn field(&self) -> &'static str {
        match self {
            TlsError::NotConfigured => "platform.tls",
            TlsError::SelfSignedNotAllowed | TlsError::Generate(_) | TlsError::Keep { .. } => {
                "platform.tls.selfSigned"
            }
            TlsError::NoKey { .. }
            | TlsError::EncryptedKey { .. }
            | TlsError::BadKey { .. }
            | TlsError::EcdsaKey { .. }
            | TlsError::UnsupportedKey { .. } => "platform.tls.keyFile",
            TlsError::SeveralKeys { .. } | TlsError::WeakKey { .. } => "platform.tls.keyFile",
            TlsError::CaFileUnrelated { .. } => "platform.tls.caFile",
            TlsError::Read { field, .. }
            | TlsError::NotPem { field, .. }
            | TlsError::IsDirectory { field, .. }
            | TlsError::Truncated { field, .. }
            | TlsError::NoCertificate { field, .. } => match *field {
                "keyFile" => "platform.tls.keyFile",
                "caFile" => "platform.tls.caFile",
                _ => "platform.tls.certFile",
            },
            _ => "platform.tls.certFile",
        }
    }
}

/// Reads and checks the spec's certificate, or generates one for a sandbox
/// spec with `selfSigned: true`. Relative paths are resolved against `base_dir`.
pub fn load(spec: &Spec, base_dir: &Path) -> Result<Material, TlsError> {
    let tls = &spec.platform.tls;
    let domain = &spec.platform.base_domain;
    if tls.self_signed {
        if spec.profile.as_deref() != Some("sandbox") {
            return Err(TlsError::SelfSignedNotAllowed);
        }
        return self_signed_wildcard(domain);
    }
    let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) else {
        return Err(TlsError::NotConfigured);
    };
    let ca_file = tls.ca_file.as_deref();
    check_files(spec, base_dir, cert_file, key_file, ca_file, true)
}

/// Reads and checks a certificate chain and key (paths relative to `base_dir`).
fn check_files(
    spec: &Spec,
    base_dir: &Path,
    cert_file: &Path,
    key_file: &Path,
    ca_file: Option<&Path>,
    offer_reordered: bool,
) -> Result<Material, TlsError> {
    let read = |field, p: &Path| {
        let full = base_dir.join(p);
        if full.is_dir() {
            return Err(TlsError::IsDirectory {
                field,
                path: p.to_path_buf(),
            });
        }
        std::fs::read(full).map_err(|error| TlsError::Read {
            field,
            path: p.to_path_buf(),
            error,
        })
    };
    let cert_bytes = read("certFile", cert_file)?;
    let key_bytes = read("keyFile", key_file)?;
    let certs = read::certificates("certFile", cert_file, &cert_bytes)?;
    let key = read::private_key(key_file, &key_bytes)?;
    let ca = match ca_file {
        Some(p) => read::certificates("caFile", p, &read("caFile", p)?)?,
        None => Vec::new(),
    };
    let reorder_to = base_dir.join(cert_file);
    let options = check::Options {
        base_domain: &spec.platform.base_domain,
        allow_ecdsa: spec.platform.tls.allow_ecdsa,
        now: check::unix_now(),
        cert_path: cert_file,
        key_path: key_file,
        ca_path: ca_file,
        reorder_to: offer_reordered.then_some(reorder_to.as_path()),
    };
    check::check(&certs, &ca, &key, &options)
}

/// The names a generated sandbox certificate and its key are kept under.
fn kept_names(spec: &Spec) -> (String, String) {
    let name = &spec.metadata.name;
    (
        format!("{name}.sandbox-tls.crt"),
        format!("{name}.sandbox-tls.key"),
    )
}

/// Forgets a kept sandbox certificate (after the installation is destroyed).
pub fn forget_kept(spec: &Spec, keep: &dyn Vault) -> Result<(), crate::secret::VaultError> {
    let (cert, key) = kept_names(spec);
    keep.remove(&cert)?;
    keep.remove(&key)
}

/// Like [`load`], except that a generated sandbox certificate is kept
/// beside the state (`<name>.sandbox-tls.crt`, and its key as the secret
/// `<name>.sandbox-tls.key`: 0600 in a state folder, encrypted in a bucket)
/// and reused while it still passes the checks, so a re-run changes nothing
/// in the cluster.
pub fn load_kept(spec: &Spec, base_dir: &Path, keep: &dyn Vault) -> Result<Material, TlsError> {
    if !spec.platform.tls.self_signed {
        return load(spec, base_dir);
    }
    let (cert, key) = kept_names(spec);
    if let (Ok(Some(cert_pem)), Ok(Some(key_pem))) = (keep.read(&cert), keep.read(&key))
        && let Ok(mut kept) = check_kept(
            spec,
            &keep.location(&cert),
            &keep.location(&key),
            &cert_pem,
            &key_pem,
        )
    {
        kept.self_signed = true;
        kept.warnings.push(format!(
            "using the sandbox's self-signed wildcard certificate kept in {}",
            keep.location(&cert)
        ));
        return Ok(kept);
    }
    let made = load(spec, base_dir)?;
    let keep_one = |name: &str, value: &Redacted<String>| {
        keep.write(name, value).map_err(|e| TlsError::Keep {
            path: PathBuf::from(&e.location),
            error: std::io::Error::other(crate::chain::one_line(&*e.source)),
        })
    };
    keep_one(&key, &made.key_pem)?;
    keep_one(&cert, &Redacted::new(made.chain_pem.clone()))?;
    Ok(made)
}

/// Checks a kept certificate and key (as read from where they are kept).
fn check_kept(
    spec: &Spec,
    cert_at: &str,
    key_at: &str,
    cert_pem: &Redacted<String>,
    key_pem: &Redacted<String>,
) -> Result<Material, TlsError> {
    let (cert_path, key_path) = (Path::new(cert_at), Path::new(key_at));
    let certs = read::certificates("certFile", cert_path, cert_pem.expose().as_bytes())?;
    let key = read::private_key(key_path, key_pem.expose().as_bytes())?;
    let options = check::Options {
        base_domain: &spec.platform.base_domain,
        allow_ecdsa: spec.platform.tls.allow_ecdsa,
        now: check::unix_now(),
        cert_path,
        key_path,
        ca_path: None,
        reorder_to: None,
    };
    check::check(&certs, &[], &key, &options)
}

/// The certificate problems of a loaded spec as diagnostics on the spec's
/// lines (for `liftoff validate`): errors, then the warnings of a good one.
/// A generated sandbox certificate is not checked here: it is made at install.
pub fn diagnose(spec: &Spec, tree: &Node, base_dir: &Path) -> Vec<Diagnostic> {
    if spec.platform.tls.self_signed {
        return Vec::new();
    }
    let at = |field: &str| tree.locate(field).pos.clone();
    match load(spec, base_dir) {
        Ok(m) => m
            .warnings
            .into_iter()
            .map(|message| Diagnostic {
                severity: Severity::Warning,
                pos: at("platform.tls.certFile"),
                path: "platform.tls.certFile".into(),
                message,
                hint: None,
            })
            .collect(),
        Err(e) => vec![Diagnostic {
            severity: Severity::Error,
            pos: at(e.field()),
            path: e.field().into(),
            message: crate::chain::one_line(&e),
            hint: e.hint(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_errors_keep_their_cause_and_print_it_once() {
        let e = TlsError::Read {
            field: "certFile",
            path: "tls/cert.pem".into(),
            error: std::io::Error::from(std::io::ErrorKind::IsADirectory),
        };
        assert_eq!(e.to_string(), "cannot read tls/cert.pem");
        let line = crate::chain::one_line(&e);
        assert_eq!(line, "cannot read tls/cert.pem: is a directory");
        let e = TlsError::Generate(Box::new(std::io::Error::other("no entropy")));
        assert_eq!(
            crate::chain::render_chain(&e, None),
            "error: cannot generate the sandbox certificate\n  caused by: no entropy"
        );
    }
}
