//! The database check: reach it, log in (TLS when asked) and read the
//! rights the platform needs.

use std::time::Duration;

use super::{Check, Status};
use crate::cluster::inputs::DbLogin;

/// Reaches the database: TCP, then a login (with TLS when `ssl`, as
/// libpq's `sslmode=require`) and the rights the platform needs. A private
/// database (no public endpoint) is skipped, saying why: from outside its
/// network it cannot be reached, and trying would only wait for a timeout.
pub async fn database(login: Option<&DbLogin>) -> Check {
    const NAME: &str = "database";
    let Some(login) = login else {
        return Check::new(NAME, Status::Skip, "no database login in this run");
    };
    let target = login.host_port();
    if login.private {
        return Check::new(
            NAME,
            Status::Skip,
            format!(
                "skipped: {target} is private (no public endpoint), so it cannot be reached from here; the platform's migration hook reaches it from inside the network"
            ),
        );
    }
    let connect = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect((login.host.as_str(), login.port)),
    )
    .await;
    match connect {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if login.private => {
            return Check::new(
                NAME,
                Status::Skip,
                format!(
                    "skipped: {target} is private and not reachable from here ({e}); the platform reaches it from inside the network"
                ),
            );
        }
        Err(_) if login.private => {
            return Check::new(
                NAME,
                Status::Skip,
                format!(
                    "skipped: {target} is private and did not answer from here; the platform reaches it from inside the network"
                ),
            );
        }
        Ok(Err(e)) => {
            return Check::new(
                NAME,
                Status::Fail,
                format!("cannot connect to {target}: {e}"),
            )
            .hint("check the host, port and firewall or security group rules");
        }
        Err(_) => {
            return Check::new(
                NAME,
                Status::Fail,
                format!("no answer from {target} within 5s"),
            )
            .hint("check the host, port and firewall or security group rules");
        }
    }
    let mut config = tokio_postgres::Config::new();
    config
        .host(&login.host)
        .port(login.port)
        .user(&login.user)
        .password(login.password.expose())
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(5));
    let connected = if login.ssl {
        config.ssl_mode(tokio_postgres::config::SslMode::Require);
        match crate::cluster::pgtls::require() {
            Ok(tls) => config
                .connect(tls)
                .await
                .map(|(c, conn)| (c, tokio::spawn(async move { conn.await.map(|_| ()) }))),
            Err(e) => {
                return Check::new(NAME, Status::Fail, format!("cannot set up TLS: {e}"));
            }
        }
    } else {
        config
            .connect(tokio_postgres::NoTls)
            .await
            .map(|(c, conn)| (c, tokio::spawn(async move { conn.await.map(|_| ()) })))
    };
    let (client, conn) = match connected {
        Ok(c) => c,
        Err(e) => {
            let msg = match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => crate::chain::one_line(&e),
            };
            let hint = if login.ssl {
                "check the database user and password, and that the server accepts TLS (database.ssl)"
            } else {
                "check the database user and password"
            };
            return Check::new(
                NAME,
                Status::Fail,
                format!("login as {} at {target} failed: {msg}", login.user),
            )
            .hint(hint);
        }
    };
    let row = client
        .query_one(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await;
    drop(client);
    let _ = conn.await;
    match row {
        Ok(r) => {
            let (sup, db, role): (bool, bool, bool) = (r.get(0), r.get(1), r.get(2));
            if sup {
                Check::new(
                    NAME,
                    Status::Pass,
                    format!("logged in to {target} as superuser {}", login.user),
                )
            } else if db && role {
                Check::new(
                    NAME,
                    Status::Pass,
                    format!(
                        "logged in to {target} as {}, who can create databases and roles",
                        login.user
                    ),
                )
            } else {
                Check::new(NAME, Status::Fail, format!(
                    "{} at {target} can neither create databases and roles nor is a superuser", login.user
                ))
                .hint("the platform creates a database and a role per deployment: use a superuser or a user with CREATEDB and CREATEROLE")
            }
        }
        Err(e) => Check::new(
            NAME,
            Status::Fail,
            format!("cannot read the rights of {}: {e}", login.user),
        ),
    }
}
