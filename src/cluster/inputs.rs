//! What the cluster phase is handed by the other phases: TLS material, the
//! database login, the SMTP URL, the registry pull secret and the rendered
//! chart values. Secret parts are [`Redacted`] and stay so until they are
//! written into a Kubernetes Secret or handed to the database driver.

use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::ClusterError;
use crate::secret::Redacted;
use crate::spec::SecretSource;

/// The products of the TLS, render and cloud phases, as plain values.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The certificate chain (PEM) for `astronomer-tls`.
    pub tls_chain_pem: Option<String>,
    /// Its private key (PEM).
    pub tls_key_pem: Option<Redacted<String>>,
    /// The private root CA (PEM) for `private-root-ca`, when there is one.
    pub private_ca_pem: Option<String>,
    /// The database login for `astronomer-bootstrap`.
    pub database: Option<DbLogin>,
    /// The SMTP URL for `astronomer-smtp`.
    pub smtp_url: Option<Redacted<String>>,
    /// The docker config JSON for `astronomer-registry` (air gap).
    pub registry_dockerconfig: Option<Redacted<String>>,
    /// The chart values (`render::values_yaml`). Holds no secret values.
    pub values_yaml: Option<String>,
    /// The same values for a cluster that runs the cloud's own load
    /// balancer controller (the AWS Load Balancer Controller), when the
    /// cloud has one: used instead when the cluster has it.
    pub values_yaml_with_controller: Option<String>,
}

/// A PostgreSQL login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbLogin {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Redacted<String>,
    /// Connect with TLS (the spec's `database.ssl`).
    pub ssl: bool,
    /// The database reachable only from inside the cloud network (no public
    /// endpoint): the preflight skips it when it cannot connect from here.
    pub private: bool,
}

/// Characters kept as they are in the user and password of the URL.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

impl DbLogin {
    /// The `astronomer-bootstrap` connection string:
    /// `postgres://USER:PASS@HOST:PORT`, user and password URL-encoded.
    pub fn bootstrap_url(&self) -> Redacted<String> {
        Redacted::new(format!(
            "postgres://{}:{}@{}:{}",
            utf8_percent_encode(&self.user, USERINFO),
            utf8_percent_encode(self.password.expose(), USERINFO),
            self.host,
            self.port
        ))
    }

    /// Parses `postgres://USER:PASS@HOST[:PORT][/DB][?…]` (or `postgresql://`).
    /// Errors never quote the URL.
    pub fn from_url(url: &Redacted<String>, ssl: bool) -> Result<DbLogin, ClusterError> {
        let bad = |why: &str| ClusterError::Input(format!("database connection URL: {why}"));
        let text = url.expose().trim();
        let rest = text
            .strip_prefix("postgres://")
            .or_else(|| text.strip_prefix("postgresql://"))
            .ok_or_else(|| bad("must start with postgres://"))?;
        let rest = rest.split(['/', '?']).next().unwrap_or_default();
        let (userinfo, hostport) = rest
            .rsplit_once('@')
            .ok_or_else(|| bad("has no USER:PASSWORD@"))?;
        let (user, password) = userinfo
            .split_once(':')
            .ok_or_else(|| bad("has no password"))?;
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("is not UTF-8 once decoded"))
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || p.is_empty() => {
                (h.to_string(), p.parse().map_err(|_| bad("has a bad port"))?)
            }
            _ => (hostport.to_string(), 5432),
        };
        if host.is_empty() {
            return Err(bad("has no host"));
        }
        Ok(DbLogin {
            host,
            port,
            user: decode(user)?,
            password: Redacted::new(decode(password)?),
            ssl,
            private: false,
        })
    }
}

/// Reads a secret kept outside the spec (a file relative to `base_dir`, or
/// an environment variable). Errors name the source, never the value.
pub fn read_secret(src: &SecretSource, base_dir: &Path) -> Result<Redacted<String>, ClusterError> {
    if let Some(file) = &src.from_file {
        let path = base_dir.join(file);
        return std::fs::read_to_string(&path)
            .map(|s| Redacted::new(s.trim_end_matches(['\n', '\r']).to_string()))
            .map_err(|e| ClusterError::Input(format!("cannot read {}: {e}", path.display())));
    }
    if let Some(var) = &src.from_env {
        return std::env::var(var)
            .map(Redacted::new)
            .map_err(|_| ClusterError::Input(format!("environment variable {var} is not set")));
    }
    Err(ClusterError::Input(
        "a secret needs fromFile or fromEnv".into(),
    ))
}

/// The inputs a spec provides by itself (database URL, SMTP URL, registry
/// pull secret, from their files or variables). TLS material and the chart
/// values come from their own phases and are set by the caller.
pub fn from_spec(spec: &crate::spec::Spec, base_dir: &Path) -> Result<Inputs, ClusterError> {
    let (inputs, mut problems) = from_spec_partial(spec, base_dir);
    match problems.is_empty() {
        true => Ok(inputs),
        false => Err(problems.remove(0)),
    }
}

/// Like [`from_spec`], reading every source it can and returning the
/// problems with the others (each names its source, never a value).
pub fn from_spec_partial(spec: &crate::spec::Spec, base_dir: &Path) -> (Inputs, Vec<ClusterError>) {
    let mut inputs = Inputs::default();
    let mut problems = Vec::new();
    if let Some(db) = &spec.database
        && let Some(src) = &db.connection
    {
        match read_secret(src, base_dir).and_then(|url| DbLogin::from_url(&url, db.ssl)) {
            Ok(login) => inputs.database = Some(login),
            Err(e) => problems.push(e),
        }
    }
    if let Some(smtp) = &spec.platform.smtp {
        match read_secret(&smtp.url, base_dir) {
            Ok(url) => inputs.smtp_url = Some(url),
            Err(e) => problems.push(e),
        }
    }
    if let Some(src) = spec
        .airgap
        .as_ref()
        .filter(|a| a.enabled)
        .and_then(|a| a.registry.as_ref())
        .and_then(|r| r.pull_secret.as_ref())
    {
        match read_secret(src, base_dir) {
            Ok(config) => inputs.registry_dockerconfig = Some(config),
            Err(e) => problems.push(e),
        }
    }
    (inputs, problems)
}

impl Inputs {
    /// Takes every value `other` has over this one's.
    pub fn merge(&mut self, other: Inputs) {
        let Inputs {
            tls_chain_pem,
            tls_key_pem,
            private_ca_pem,
            database,
            smtp_url,
            registry_dockerconfig,
            values_yaml,
            values_yaml_with_controller,
        } = other;
        macro_rules! take {
            ($($f:ident),*) => { $( if $f.is_some() { self.$f = $f; } )* };
        }
        take!(
            tls_chain_pem,
            tls_key_pem,
            private_ca_pem,
            database,
            smtp_url,
            registry_dockerconfig,
            values_yaml,
            values_yaml_with_controller
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_url_encodes_user_and_password() {
        let login = DbLogin {
            host: "db.example.internal".into(),
            port: 5432,
            user: "astro user".into(),
            password: Redacted::new("p@ss:w/rd%".into()),
            ssl: true,
            private: false,
        };
        assert_eq!(
            login.bootstrap_url().expose(),
            "postgres://astro%20user:p%40ss%3Aw%2Frd%25@db.example.internal:5432"
        );
    }

    #[test]
    fn parses_a_url_and_round_trips() {
        let url = Redacted::new(
            "postgresql://admin:s%40cret@db.local:6543/postgres?sslmode=require".to_string(),
        );
        let login = DbLogin::from_url(&url, true).unwrap();
        assert_eq!(
            (login.host.as_str(), login.port, login.user.as_str()),
            ("db.local", 6543, "admin")
        );
        assert_eq!(login.password.expose(), "s@cret");
        assert_eq!(
            login.bootstrap_url().expose(),
            "postgres://admin:s%40cret@db.local:6543"
        );
        let err =
            DbLogin::from_url(&Redacted::new("mysql://a:hunter2@h".into()), true).unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn partial_inputs_name_each_unreadable_source() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("smtp"), "smtps://u:SECRET@mail:465\n").unwrap();
        let spec: crate::spec::Spec = serde_json::from_value(serde_json::json!({
            "apiVersion": "liftoff.dev/v1", "kind": "Installation", "metadata": {"name": "a"},
            "cloud": {"provider": "existing"}, "cluster": {"mode": "existing"},
            "database": {"mode": "external", "connection": {"fromEnv": "LIFTOFF_TEST_UNSET_DB_URL"}},
            "platform": {"chart": {"repository": "r", "version": "1.0.0"}, "baseDomain": "a.example.com", "tls": {},
                "smtp": {"url": {"fromFile": "smtp"}}},
            "airgap": {"enabled": true, "registry": {"repository": "r.local", "pullSecret": {"fromFile": "missing.json"}}},
        }))
        .unwrap();
        let (inputs, problems) = from_spec_partial(&spec, dir.path());
        assert_eq!(
            inputs.smtp_url.unwrap().expose(),
            "smtps://u:SECRET@mail:465"
        );
        assert!(inputs.database.is_none() && inputs.registry_dockerconfig.is_none());
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert_eq!(
            text[0],
            "environment variable LIFTOFF_TEST_UNSET_DB_URL is not set"
        );
        assert!(
            text[1].starts_with("cannot read ") && text[1].contains("missing.json"),
            "{}",
            text[1]
        );
        assert!(from_spec(&spec, dir.path()).is_err());
    }
}
