//! What the GCP cloud phase hands the cluster phase: a connection to the GKE
//! cluster (its endpoint and CA, with an OAuth access token from ADC on
//! every use) and the Cloud SQL login (private IP, `postgres` and the kept
//! password). Both answer "not yet" until the cloud phase made them ready.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use serde_json::Value;

use super::driver::GcpDriver;
use super::{error, gke, password};
use crate::cluster::{ClusterError, Connection, Connector, DatabaseSource, DbLogin};
use crate::plan::Address;
use crate::plan::driver::Records;
use crate::secret::Redacted;

/// Connects to the installation's GKE cluster once it is RUNNING.
pub struct GkeConnector(pub Arc<GcpDriver>);

#[async_trait]
impl Connector for GkeConnector {
    async fn connection(&self) -> Result<Option<Connection>, ClusterError> {
        let g = self.0.gcp().await.map_err(ClusterError::Handoff)?;
        let found = gke::find_our_cluster(g, &g.opts.installation)
            .await
            .map_err(ClusterError::Handoff)?;
        let Some((_, c)) = found else {
            return Ok(None);
        };
        if c.status != google_cloud_container_v1::model::cluster::Status::Running
            || c.endpoint.is_empty()
        {
            return Ok(None);
        }
        let ca = c
            .master_auth
            .as_ref()
            .map(|a| a.cluster_ca_certificate.clone())
            .unwrap_or_default();
        let ca_pem = base64::engine::general_purpose::STANDARD
            .decode(ca.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let token =
            g.c.token
                .access_token()
                .await
                .map_err(|e| ClusterError::Handoff(error::credentials(e)))?;
        let endpoint = if c.endpoint.contains("://") {
            c.endpoint.clone()
        } else {
            format!("https://{}", c.endpoint)
        };
        Ok(Some(Connection::Token {
            endpoint,
            ca_pem,
            token: Redacted::new(token.token),
        }))
    }
}

/// The Cloud SQL login, from the outputs the cloud phase recorded (never
/// asking Cloud SQL again) once the instance has its private IP.
pub struct SqlLogin {
    pub records: Arc<dyn Records>,
    pub address: Address,
    pub password_file: PathBuf,
    pub ssl: bool,
}

#[async_trait]
impl DatabaseSource for SqlLogin {
    async fn login(&self) -> Result<Option<DbLogin>, ClusterError> {
        let Some(outputs) = self.records.outputs(&self.address) else {
            return Ok(None);
        };
        let Some(host) = outputs.get("privateIp").and_then(Value::as_str) else {
            return Ok(None);
        };
        let password = password::read(&self.password_file).map_err(ClusterError::Handoff)?;
        Ok(Some(DbLogin {
            host: host.to_string(),
            port: 5432,
            user: password::USER.to_string(),
            password,
            ssl: self.ssl,
            private: true,
        }))
    }
}
