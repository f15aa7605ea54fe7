//! Which database an integration test runs on: a SQLite file in the
//! test's own directory, or — with `HEARTH_TEST_BACKEND=postgres` and the
//! including crate's `postgres` feature — a fresh database on the server
//! `HEARTH_TEST_PG` names (`.ci/pg-start` starts one).
//!
//! One file for the engine's, the plugin host's and the web crate's tests
//! (the latter two include it by path).
#![allow(dead_code)]

use std::path::Path;

/// Whether this run asked for PostgreSQL (`HEARTH_TEST_BACKEND=postgres`).
pub fn postgres_wanted() -> bool {
    std::env::var("HEARTH_TEST_BACKEND").as_deref() == Ok("postgres")
}

/// What to give `Forum::open` for a new test database called `name`: a
/// file in `dir`, or a fresh PostgreSQL database when one was asked for.
pub fn test_database(dir: &Path, name: &str) -> String {
    if postgres_wanted() {
        postgres_url(name)
    } else {
        dir.join(format!("{name}.db"))
            .to_string_lossy()
            .into_owned()
    }
}

/// A fresh PostgreSQL database; panics if there is none to be had.
pub fn postgres_url(name: &str) -> String {
    #[cfg(feature = "postgres")]
    return postgres_database(name).expect("HEARTH_TEST_PG");
    #[cfg(not(feature = "postgres"))]
    panic!("HEARTH_TEST_BACKEND=postgres needs --features postgres ({name})")
}

/// `?1` → `$1` (the engine's own translation lives in its private `db`
/// module).
#[cfg(feature = "postgres")]
pub fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A `postgres://` URL of a fresh database on the test server
/// (`HEARTH_TEST_PG`, from `.ci/pg-start`), or `None` (a printed skip)
/// outside CI without one; in CI (`CI` set) a missing server fails.
#[cfg(feature = "postgres")]
pub fn postgres_database(name: &str) -> Option<String> {
    // The client blocks on a runtime of its own, which tokio refuses to
    // start inside an async test's body: on a thread of its own.
    std::thread::scope(|s| {
        s.spawn(|| make_postgres_database(name))
            .join()
            .expect("making the test database")
    })
}

#[cfg(feature = "postgres")]
fn make_postgres_database(name: &str) -> Option<String> {
    use std::str::FromStr;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Ok(conninfo) = std::env::var("HEARTH_TEST_PG") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "HEARTH_TEST_PG is not set (start a server with .ci/pg-start)"
        );
        eprintln!("SKIPPED: HEARTH_TEST_PG is not set (start one with .ci/pg-start)");
        return None;
    };
    let db = format!(
        "hearth_it_{name}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = postgres::Client::connect(&conninfo, postgres::NoTls).expect("connect");
    let config = postgres::Config::from_str(&conninfo).expect("conninfo");
    if matches!(
        config.get_hosts().first(),
        Some(postgres::config::Host::Unix(_))
    ) {
        drop_databases_of_finished_tests(&mut admin);
    }
    // One statement per call: neither may run inside a transaction block.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .expect("drop database");
    // FILE_COPY: the default (WAL_LOG) writes the whole template, ≈ 7.5 MB,
    // into the write-ahead log for every test database.
    admin
        .batch_execute(&format!("CREATE DATABASE {db} STRATEGY = FILE_COPY"))
        .expect("create database");
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Unix(dir)) => dir
            .to_str()
            .expect("socket dir")
            .replace('%', "%25")
            .replace('/', "%2F"),
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    Some(format!("postgres://{user}@{host}:{port}/{db}"))
}

/// Drops the test databases whose test process has ended. Every test makes
/// a database of ≈ 7.5 MB and none is dropped by its test (a panicking
/// test could not), so a whole run would otherwise leave hundreds behind —
/// gigabytes that filled a CI runner's disk. A database's name ends in
/// `_{pid}_{n}`; on a server reached through a Unix socket (the same
/// machine, as `.ci/pg-start` makes) a pid with no `/proc` entry is a
/// finished test. Best effort: another test dropping the same database at
/// the same moment is not an error worth failing for.
#[cfg(feature = "postgres")]
fn drop_databases_of_finished_tests(admin: &mut postgres::Client) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(rows) = admin.query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'hearth\\_it\\_%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let mut parts = name.rsplit('_');
        let (Some(_n), Some(pid)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
}
