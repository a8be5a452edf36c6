//! What the AWS cloud phase hands the cluster phase: a connection to the
//! EKS cluster (endpoint, CA and a fresh token on every use) and the RDS
//! login for the `astronomer-bootstrap` secret. Both answer "not yet" until
//! the cloud phase has made the resource ready.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{AwsDriver, error, password};
use crate::cluster::{ClusterError, Connection, Connector, DatabaseSource, DbLogin};
use crate::plan::Address;
use crate::plan::driver::Records;

/// Connects to the installation's EKS cluster once it is ACTIVE.
pub struct EksConnector(pub Arc<AwsDriver>);

#[async_trait]
impl Connector for EksConnector {
    async fn connection(&self) -> Result<Option<Connection>, ClusterError> {
        let a = self.0.aws().await;
        let name = &a.opts.installation;
        let described = a.c.eks.describe_cluster().name(name).send().await;
        let active = match described {
            Err(e) if error::is_not_found(&e) => false,
            // AWS's own error, hint and classification, not a kubeconfig's.
            Err(e) => return Err(ClusterError::Handoff(error::map("DescribeCluster", e))),
            Ok(out) => out
                .cluster()
                .and_then(|c| c.status())
                .is_some_and(|s| *s == aws_sdk_eks::types::ClusterStatus::Active),
        };
        if !active {
            return Ok(None);
        }
        let (endpoint, ca_pem, token) = super::eks::eks_access(&a.c.sdk, name)
            .await
            .map_err(ClusterError::Handoff)?;
        Ok(Some(Connection::Token {
            endpoint,
            ca_pem,
            token,
        }))
    }
}

/// The master login of the installation's RDS instance, read from the
/// outputs the cloud phase recorded for it (never asking RDS again) once it
/// has an endpoint; the password is the one liftoff generated and kept.
pub struct RdsLogin {
    pub records: Arc<dyn Records>,
    /// The database's address.
    pub address: Address,
    /// Where the generated password is kept, and whose it is.
    pub secrets: Arc<dyn crate::secret::Vault>,
    pub installation: String,
    /// Connect with TLS (the spec's `database.ssl`).
    pub ssl: bool,
}

#[async_trait]
impl DatabaseSource for RdsLogin {
    async fn login(&self) -> Result<Option<DbLogin>, ClusterError> {
        let Some(outputs) = self.records.outputs(&self.address) else {
            return Ok(None);
        };
        let Some(host) = outputs.get("endpoint").and_then(Value::as_str) else {
            return Ok(None);
        };
        let port = match outputs.get("port") {
            None | Some(Value::Null) => 5432,
            Some(v) => v
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| {
                    ClusterError::Input(format!("{}: port {v} is not a port", self.address))
                })?,
        };
        let user = outputs
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or(password::MASTER_USER);
        let password = password::read(self.secrets.as_ref(), &self.installation)
            .map_err(ClusterError::Handoff)?;
        Ok(Some(DbLogin {
            host: host.to_string(),
            port,
            user: user.to_string(),
            password,
            ssl: self.ssl,
            // liftoff creates it without a public address.
            private: !outputs
                .get("publiclyAccessible")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    struct Recorded(BTreeMap<Address, Value>);

    impl Records for Recorded {
        fn outputs(&self, address: &Address) -> Option<Value> {
            self.0.get(address).cloned()
        }
    }

    fn login(outputs: Option<Value>, dir: &std::path::Path) -> RdsLogin {
        let address = Address::new(super::super::kind::DATABASE);
        let recorded = outputs.into_iter().map(|o| (address.clone(), o)).collect();
        RdsLogin {
            records: Arc::new(Recorded(recorded)),
            address,
            secrets: Arc::new(crate::secret::FolderVault(dir.to_path_buf())),
            installation: "demo".into(),
            ssl: true,
        }
    }

    #[tokio::test]
    async fn the_login_comes_from_the_recorded_outputs_and_the_kept_password() {
        let dir = tempfile::tempdir().unwrap();
        // Not created yet, or created without an endpoint yet: no login.
        assert!(login(None, dir.path()).login().await.unwrap().is_none());
        let pending = json!({"id": "demo-db", "endpoint": null});
        assert!(
            login(Some(pending), dir.path())
                .login()
                .await
                .unwrap()
                .is_none()
        );
        let ready = json!({"id": "demo-db", "endpoint": "db.host", "port": 5433, "username": "liftoff_admin", "publiclyAccessible": false});
        // A missing password file is an error with a hint, and no password
        // is made up.
        let e = login(Some(ready.clone()), dir.path())
            .login()
            .await
            .unwrap_err();
        let ClusterError::Handoff(e) = e else {
            panic!("{e}")
        };
        assert!(e.message.contains("demo.db-password"), "{}", e.message);
        assert!(e.hint.is_some());
        assert!(!dir.path().join("demo.db-password").exists());
        std::fs::write(dir.path().join("demo.db-password"), "s3cret\n").unwrap();
        let l = login(Some(ready), dir.path())
            .login()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                l.host.as_str(),
                l.port,
                l.user.as_str(),
                l.password.expose().as_str()
            ),
            ("db.host", 5433, "liftoff_admin", "s3cret")
        );
        assert!(l.private && l.ssl);
    }
}
