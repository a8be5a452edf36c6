//! What the AWS cloud phase hands the cluster phase: a connection to the
//! EKS cluster (endpoint, CA and a fresh token on every use) and the RDS
//! login for the `astronomer-bootstrap` secret. Both answer "not yet" until
//! the cloud phase has made the resource ready.

use std::sync::Arc;

use async_trait::async_trait;

use super::{AwsDriver, error, password};
use crate::cluster::{ClusterError, Connection, Connector, DatabaseSource, DbLogin};

fn cluster_error(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Connect(e.to_string())
}

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
            Err(e) => return Err(cluster_error(error::map("DescribeCluster", e))),
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
            .map_err(cluster_error)?;
        Ok(Some(Connection::Token {
            endpoint,
            ca_pem: (!ca_pem.is_empty()).then_some(ca_pem),
            token,
        }))
    }
}

/// The master login of the installation's RDS instance once it has an
/// endpoint; the password is the one liftoff generated and kept.
pub struct RdsLogin {
    pub driver: Arc<AwsDriver>,
    /// Connect with TLS (the spec's `database.ssl`).
    pub ssl: bool,
}

#[async_trait]
impl DatabaseSource for RdsLogin {
    async fn login(&self) -> Result<Option<DbLogin>, ClusterError> {
        let a = self.driver.aws().await;
        let id = format!("{}-db", a.opts.installation);
        let out = match a
            .c
            .rds
            .describe_db_instances()
            .db_instance_identifier(&id)
            .send()
            .await
        {
            Err(e) if error::is_not_found(&e) => return Ok(None),
            Err(e) => return Err(cluster_error(error::map("DescribeDBInstances", e))),
            Ok(out) => out,
        };
        let Some(db) = out.db_instances().first() else {
            return Ok(None);
        };
        let Some(endpoint) = db.endpoint().and_then(|e| e.address()) else {
            return Ok(None);
        };
        let password = password::password(a).map_err(cluster_error)?;
        Ok(Some(DbLogin {
            host: endpoint.to_string(),
            port: db
                .endpoint()
                .and_then(|e| e.port())
                .map_or(5432, |p| p as u16),
            user: password::MASTER_USER.to_string(),
            password,
            ssl: self.ssl,
            private: !db.publicly_accessible().unwrap_or(false),
        }))
    }
}
