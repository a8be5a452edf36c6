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
    /// `HOST:PORT`, with an IPv6 address in brackets (`[::1]:5432`).
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `astronomer-bootstrap` connection string:
    /// `postgres://USER:PASS@HOST:PORT`, user and password URL-encoded.
    pub fn bootstrap_url(&self) -> Redacted<String> {
        Redacted::new(format!(
            "postgres://{}:{}@{}",
            utf8_percent_encode(&self.user, USERINFO),
            utf8_percent_encode(self.password.expose(), USERINFO),
            self.host_port()
        ))
    }

    /// Parses `postgres://USER:PASS@HOST[:PORT][/DB][?…]` (or
    /// `postgresql://`) with the `url` crate: user and password
    /// percent-decoded, an IPv6 host in brackets, port 5432 when none is
    /// given. Errors never quote the URL.
    pub fn from_url(url: &Redacted<String>, ssl: bool) -> Result<DbLogin, ClusterError> {
        let bad = |why: &str| ClusterError::Input(format!("database connection URL: {why}"));
        let parsed = url::Url::parse(url.expose().trim()).map_err(|e| match e {
            // The parser's own reasons name no part of the URL.
            url::ParseError::InvalidPort => bad("has a bad port"),
            url::ParseError::EmptyHost => bad("has no host"),
            other => bad(&format!("cannot be parsed ({other})")),
        })?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(bad("must start with postgres://"));
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad("has no host")),
        };
        if parsed.username().is_empty() {
            return Err(bad("has no USER:PASSWORD@"));
        }
        let password = parsed.password().ok_or_else(|| bad("has no password"))?;
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("is not UTF-8 once decoded"))
        };
        Ok(DbLogin {
            host,
            port: parsed.port().unwrap_or(5432),
            user: decode(parsed.username())?,
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
            .map_err(|source| ClusterError::Read { path, source });
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

    fn parse(url: &str) -> Result<DbLogin, ClusterError> {
        DbLogin::from_url(&Redacted::new(url.to_string()), false)
    }

    #[test]
    fn parses_ipv6_hosts_with_and_without_a_port() {
        let login = parse("postgres://u:p@[::1]:6543/db").unwrap();
        assert_eq!((login.host.as_str(), login.port), ("::1", 6543));
        assert_eq!(login.host_port(), "[::1]:6543");
        assert_eq!(login.bootstrap_url().expose(), "postgres://u:p@[::1]:6543");
        let login = parse("postgresql://u:p@[2001:db8::5]").unwrap();
        assert_eq!((login.host.as_str(), login.port), ("2001:db8::5", 5432));
        let round = parse(login.bootstrap_url().expose()).unwrap();
        assert_eq!(round, login);
    }

    #[test]
    fn reserved_characters_in_user_and_password_round_trip() {
        let login = DbLogin {
            host: "10.0.0.7".into(),
            port: 5432,
            user: "astro@corp:admin".into(),
            password: Redacted::new("p@ss:w/rd?#[]%".into()),
            ssl: false,
            private: false,
        };
        let url = login.bootstrap_url();
        assert_eq!(parse(url.expose()).unwrap(), login);
        let login = parse("postgres://us%40er:p%3Aw%2Fd%23@db.local").unwrap();
        assert_eq!(login.user, "us@er");
        assert_eq!(login.password.expose(), "p:w/d#");
        assert_eq!(login.port, 5432, "no port: the default");
    }

    #[test]
    fn bad_urls_are_refused_without_quoting_them() {
        for (url, why) in [
            ("postgres://u:SECRET@db:notaport", "bad port"),
            ("postgres://u:SECRET@db:70000", "bad port"),
            ("postgres://u:SECRET@:5432", "no host"),
            ("postgres://db.local:5432", "no USER:PASSWORD@"),
            ("postgres://u@db.local:5432", "no password"),
            ("mysql://u:SECRET@db", "must start with postgres://"),
            ("not a url SECRET", "cannot be parsed"),
        ] {
            let e = parse(url).unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
            assert!(!e.contains("SECRET"), "{url}: {e}");
        }
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
