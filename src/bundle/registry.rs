//! The one seam to OCI registries: the `oci-client` client (rustls with the
//! process's ring provider, plain HTTP only for the hosts named, a custom
//! CA), credentials (flags first, then the docker config), retries of
//! transient failures, and the only place that knows `oci-client`'s errors.

use std::path::PathBuf;
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::BundleError;
use crate::secret::Redacted;

/// Media types of manifests and indexes the bundle carries.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MANIFEST_TYPES: [&str; 4] = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

/// Whether a media type names an index (a list of manifests).
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

/// Whether a media type names a manifest or an index (never left out of a
/// differential bundle: pushing needs their bytes).
pub fn is_manifest(media_type: &str) -> bool {
    MANIFEST_TYPES.contains(&media_type)
}

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Hosts (`host:port`) spoken to over plain HTTP.
    pub plain_http: Vec<String>,
    /// A CA certificate (PEM) the registries' certificates may chain to.
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<Redacted<String>>,
    /// The docker config (default `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
}

impl Access {
    /// The client for these settings. Installs ring as the process's rustls
    /// provider first (oci-client's rustls is built without one).
    pub fn client(&self) -> Result<Client, BundleError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut config = ClientConfig {
            protocol: if self.plain_http.is_empty() {
                ClientProtocol::Https
            } else {
                ClientProtocol::HttpsExcept(self.plain_http.clone())
            },
            use_monolithic_push: true,
            connect_timeout: Some(Duration::from_secs(15)),
            read_timeout: Some(Duration::from_secs(120)),
            ..Default::default()
        };
        if let Some(ca) = &self.ca_file {
            let data = std::fs::read(ca).map_err(|source| BundleError::Io {
                what: format!("cannot read the CA file {}", ca.display()),
                source,
            })?;
            config.extra_root_certificates.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        Client::try_from(config).map_err(|e| BundleError::Registry {
            what: "cannot set up the registry client".into(),
            reason: describe(&e),
        })
    }

    /// Credentials for `host`: the flags, else the docker config, else none.
    pub fn auth(&self, host: &str) -> RegistryAuth {
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            return RegistryAuth::Basic(u.clone(), p.expose().clone());
        }
        self.docker_config_auth(host)
            .unwrap_or(RegistryAuth::Anonymous)
    }

    fn docker_config_auth(&self, host: &str) -> Option<RegistryAuth> {
        use base64::Engine as _;
        let path = self.docker_config.clone().or_else(|| {
            std::env::var_os("DOCKER_CONFIG")
                .map(|d| PathBuf::from(d).join("config.json"))
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
                })
        })?;
        let text = std::fs::read_to_string(path).ok()?;
        let config: serde_json::Value = serde_json::from_str(&text).ok()?;
        let auths = config.get("auths")?.as_object()?;
        let entry = auths.iter().find_map(|(k, v)| {
            let key = k
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap_or_default();
            (key == host).then_some(v)
        })?;
        if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth)
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let (u, p) = text.split_once(':')?;
            return Some(RegistryAuth::Basic(u.into(), p.into()));
        }
        Some(RegistryAuth::Basic(
            entry.get("username")?.as_str()?.into(),
            entry.get("password")?.as_str()?.into(),
        ))
    }
}

/// A registry error in words (no Debug dump).
pub fn describe(e: &OciDistributionError) -> String {
    match e {
        OciDistributionError::RequestError(r) => crate::chain::one_line(r),
        OciDistributionError::UnauthorizedError { url } => {
            format!("not authorized at {url}")
        }
        other => other.to_string(),
    }
}

/// A failed registry call as the bundle's error.
pub fn error(what: String, e: &OciDistributionError) -> BundleError {
    BundleError::Registry {
        what,
        reason: describe(e),
    }
}

/// Whether the registry said the manifest or repository does not exist.
pub fn not_found(e: &OciDistributionError) -> bool {
    use oci_client::errors::OciErrorCode;
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code: 404, .. } => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown
                    | OciErrorCode::NameUnknown
                    | OciErrorCode::BlobUnknown
            )
        }),
        _ => false,
    }
}

/// Whether trying again may help.
pub fn transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RequestError(r) => {
            r.is_connect()
                || r.is_timeout()
                || r.is_request()
                || r.is_body()
                || r.status()
                    .is_some_and(|s| s.is_server_error() || s.as_u16() == 429)
        }
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::IoError(_) => true,
        _ => false,
    }
}

/// Runs `call` up to four times while it fails transiently, waiting 0.25 s,
/// 0.5 s, then 1 s (`LIFTOFF_POLL_MS` scales the first delay).
pub async fn retry<T, F, Fut>(mut call: F) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, OciDistributionError>>,
{
    let first = std::env::var("LIFTOFF_POLL_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(250, |ms| ms.min(250));
    let mut delay = Duration::from_millis(first);
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < 4 && transient(&e) => {
                tracing::info!(
                    "retrying after a transient registry error: {}",
                    describe(&e)
                );
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Parses an image reference, naming it on failure.
pub fn reference(text: &str) -> Result<Reference, BundleError> {
    text.parse::<Reference>()
        .map_err(|e| BundleError::Input(format!("`{text}` is not an image reference: {e}"), None))
}

/// Where `registry` (`host[:port][/prefix]`) puts an image whose source
/// repository is `repository`: `<registry>/<basename>`, the name the
/// platform expects under `global.privateRegistry`.
pub fn target_repository(registry: &str, repository: &str) -> String {
    let base = repository.rsplit('/').next().unwrap_or(repository);
    format!("{}/{base}", registry.trim_end_matches('/'))
}

/// The host (`host[:port]`) of `host[:port][/prefix]`.
pub fn registry_host(registry: &str) -> &str {
    registry.split('/').next().unwrap_or(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            target_repository("reg.example.com:5000/astro/", "quay.io/astronomer/ap-redis"),
            "reg.example.com:5000/astro/ap-redis"
        );
        assert_eq!(
            registry_host("reg.example.com:5000/astro"),
            "reg.example.com:5000"
        );
    }

    #[test]
    fn docker_config_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths": {"https://reg.example.com:5000": {"auth": "dXNlcjpwYXNz"}}}"#,
        )
        .unwrap();
        let access = Access {
            docker_config: Some(path),
            ..Default::default()
        };
        assert_eq!(
            access.auth("reg.example.com:5000"),
            RegistryAuth::Basic("user".into(), "pass".into())
        );
        assert_eq!(access.auth("other:1"), RegistryAuth::Anonymous);
    }
}
