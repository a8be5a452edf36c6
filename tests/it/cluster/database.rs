//! The database preflight against a throwaway PostgreSQL on 127.0.0.1.

use liftoff::cluster::DbLogin;
use liftoff::cluster::preflight::{self, Status};
use liftoff::secret::Redacted;

use crate::support::procs::Postgres;

const ADMIN_PW: &str = "adm:n@pw";

fn login(port: u16, user: &str, password: &str) -> DbLogin {
    DbLogin {
        host: "127.0.0.1".into(),
        port,
        user: user.into(),
        password: Redacted::new(password.into()),
        ssl: false,
        private: false,
    }
}

#[tokio::test]
async fn logs_in_and_checks_the_rights() {
    let pg = tokio::task::spawn_blocking(|| Postgres::start(ADMIN_PW, false))
        .await
        .unwrap();

    let c = preflight::database(Some(&login(pg.port, "admin", ADMIN_PW))).await;
    assert_eq!(c.status, Status::Pass, "{}", c.message);
    assert!(c.message.contains("superuser admin"), "{}", c.message);

    let c = preflight::database(Some(&login(pg.port, "admin", "wrong-pw"))).await;
    assert_eq!(c.status, Status::Fail, "{}", c.message);
    assert!(
        c.message.contains("login as admin") && !c.message.contains("wrong-pw"),
        "{}",
        c.message
    );

    // A user that can create databases and roles passes; one that cannot fails.
    let mut cfg = tokio_postgres::Config::new();
    cfg.host("127.0.0.1")
        .port(pg.port)
        .user("admin")
        .password(ADMIN_PW)
        .dbname("postgres");
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
    let conn = tokio::spawn(conn);
    client
        .batch_execute("CREATE ROLE rdsish LOGIN CREATEDB CREATEROLE PASSWORD 'pw1'; CREATE ROLE weak LOGIN PASSWORD 'pw2';")
        .await
        .unwrap();
    drop(client);
    let _ = conn.await;
    let c = preflight::database(Some(&login(pg.port, "rdsish", "pw1"))).await;
    assert_eq!(c.status, Status::Pass, "{}", c.message);
    let c = preflight::database(Some(&login(pg.port, "weak", "pw2"))).await;
    assert_eq!(c.status, Status::Fail, "{}", c.message);
    assert!(c.hint.unwrap().contains("CREATEDB"));

    // Asking for TLS from a server without it fails, saying so in the hint.
    let mut tls = login(pg.port, "admin", ADMIN_PW);
    tls.ssl = true;
    let c = preflight::database(Some(&tls)).await;
    assert_eq!(c.status, Status::Fail, "{}", c.message);
    assert!(c.hint.unwrap().contains("accepts TLS"));
}

#[tokio::test]
async fn logs_in_over_tls() {
    let pg = tokio::task::spawn_blocking(|| Postgres::start(ADMIN_PW, true))
        .await
        .unwrap();
    let mut l = login(pg.port, "admin", ADMIN_PW);
    l.ssl = true;
    let c = preflight::database(Some(&l)).await;
    assert_eq!(c.status, Status::Pass, "{}", c.message);
    l.password = Redacted::new("bad".into());
    let c = preflight::database(Some(&l)).await;
    assert_eq!(c.status, Status::Fail, "{}", c.message);
    assert!(
        c.message.contains("password authentication failed"),
        "{}",
        c.message
    );
}
