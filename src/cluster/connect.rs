//! Connecting to the Kubernetes API: from a kubeconfig (a path and context
//! from the spec, else `$KUBECONFIG` or `~/.kube/config`) or from an
//! endpoint, its CA certificate and a bearer token (EKS, GKE).

use std::path::PathBuf;

use async_trait::async_trait;
use base64::Engine as _;
use kube::config::{KubeConfigOptions, Kubeconfig};

use super::ClusterError;
use crate::secret::Redacted;
use crate::spec::Spec;

/// Where the cluster's API is and how to authenticate.
#[derive(Debug, Clone)]
pub enum Connection {
    /// A kubeconfig file (`None`: `$KUBECONFIG`, else `~/.kube/config`) and
    /// a context (`None`: its current context).
    Kubeconfig {
        path: Option<PathBuf>,
        context: Option<String>,
    },
    /// An endpoint URL, its CA certificate (PEM; `None` uses the system
    /// roots, or none at all for `http://`) and a bearer token.
    Token {
        endpoint: String,
        ca_pem: Option<String>,
        token: Redacted<String>,
    },
}

impl Connection {
    /// The kubeconfig connection a spec names (`cluster.kubeconfig`,
    /// `cluster.context`), relative paths taken from the spec's folder.
    pub fn from_spec(spec: &Spec, base_dir: &std::path::Path) -> Self {
        Connection::Kubeconfig {
            path: spec.cluster.kubeconfig.as_ref().map(|p| base_dir.join(p)),
            context: spec.cluster.context.clone(),
        }
    }

    /// A client for this connection.
    pub async fn client(&self) -> Result<kube::Client, ClusterError> {
        // With both rustls providers compiled in (kube: ring, AWS SDK:
        // aws-lc-rs) none is chosen by itself; an earlier choice stands.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let err = |e: &dyn std::fmt::Display| ClusterError::Connect(e.to_string());
        let config = match self {
            Connection::Kubeconfig { path, context } => {
                let options = KubeConfigOptions {
                    context: context.clone(),
                    ..Default::default()
                };
                match path {
                    Some(p) => {
                        let kc = Kubeconfig::read_from(p).map_err(|e| {
                            ClusterError::Connect(format!("kubeconfig {}: {e}", p.display()))
                        })?;
                        kube::Config::from_custom_kubeconfig(kc, &options)
                            .await
                            .map_err(|e| err(&e))?
                    }
                    None => kube::Config::from_kubeconfig(&options)
                        .await
                        .map_err(|e| err(&e))?,
                }
            }
            Connection::Token {
                endpoint,
                ca_pem,
                token,
            } => {
                let mut cluster = serde_json::json!({"server": endpoint});
                if let Some(pem) = ca_pem {
                    cluster["certificate-authority-data"] =
                        base64::engine::general_purpose::STANDARD.encode(pem).into();
                }
                let kc: Kubeconfig = serde_json::from_value(serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "liftoff", "cluster": cluster}],
                    "users": [{"name": "liftoff", "user": {"token": token.expose()}}],
                    "contexts": [{"name": "liftoff", "context": {"cluster": "liftoff", "user": "liftoff"}}],
                    "current-context": "liftoff",
                }))
                .map_err(|e| ClusterError::Connect(format!("endpoint configuration: {e}")))?;
                kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                    .await
                    .map_err(|e| err(&e))?
            }
        };
        kube::Client::try_from(config).map_err(|e| err(&e))
    }
}

/// Produces the connection when the cluster phase needs it: a fixed
/// [`Connection`], or (EKS, GKE) one made from the cloud phase's products.
#[async_trait]
pub trait Connector: Send + Sync {
    /// `Ok(None)`: the cluster does not exist yet (the cloud phase creates
    /// it), so nothing in it exists either.
    async fn connection(&self) -> Result<Option<Connection>, ClusterError>;
}

#[async_trait]
impl Connector for Connection {
    async fn connection(&self) -> Result<Option<Connection>, ClusterError> {
        Ok(Some(self.clone()))
    }
}

/// Arguments that point `helm` at the same cluster, and the temporary
/// kubeconfig (0600, removed on drop) they may name. A token never goes on
/// the command line.
pub struct HelmTarget {
    pub args: Vec<String>,
    _file: Option<tempfile::NamedTempFile>,
}

impl Connection {
    pub fn helm_target(&self) -> Result<HelmTarget, ClusterError> {
        match self {
            Connection::Kubeconfig { path, context } => {
                let mut args = Vec::new();
                if let Some(p) = path {
                    args.extend(["--kubeconfig".to_string(), p.display().to_string()]);
                }
                if let Some(c) = context {
                    args.extend(["--kube-context".to_string(), c.clone()]);
                }
                Ok(HelmTarget { args, _file: None })
            }
            Connection::Token {
                endpoint,
                ca_pem,
                token,
            } => {
                use std::io::Write as _;
                let mut cluster = serde_json::json!({"server": endpoint});
                if let Some(pem) = ca_pem {
                    cluster["certificate-authority-data"] =
                        base64::engine::general_purpose::STANDARD.encode(pem).into();
                }
                // JSON is YAML: helm reads it as a kubeconfig.
                let doc = serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "liftoff", "cluster": cluster}],
                    "users": [{"name": "liftoff", "user": {"token": token.expose()}}],
                    "contexts": [{"name": "liftoff", "context": {"cluster": "liftoff", "user": "liftoff"}}],
                    "current-context": "liftoff",
                });
                let io =
                    |e: std::io::Error| ClusterError::Connect(format!("temporary kubeconfig: {e}"));
                let mut f = tempfile::Builder::new()
                    .prefix("liftoff-kubeconfig-")
                    .tempfile()
                    .map_err(io)?;
                f.write_all(doc.to_string().as_bytes()).map_err(io)?;
                f.flush().map_err(io)?;
                Ok(HelmTarget {
                    args: vec!["--kubeconfig".into(), f.path().display().to_string()],
                    _file: Some(f),
                })
            }
        }
    }
}

/// Produces the database login when the cluster phase needs it: fixed from
/// the spec's connection string, or (RDS, Cloud SQL) read from what the
/// cloud phase created.
#[async_trait]
pub trait DatabaseSource: Send + Sync {
    /// `Ok(None)`: the database does not exist yet.
    async fn login(&self) -> Result<Option<super::DbLogin>, ClusterError>;
}
