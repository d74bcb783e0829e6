//! Which store a test runs on, and a fresh one for each test.
//!
//! The integration tests are compiled twice (`tests/it` as the `it` and `it_postgres` targets of
//! urbis-cli): `it` runs every test on a SQLite file, `it_postgres` on a database of its own on
//! the PostgreSQL server at `URBIS_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`).
//! When no server answers, the PostgreSQL run skips each test with a message — unless
//! `URBIS_REQUIRE_POSTGRES` is set (CI sets it), then it fails.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use urbis_storage::Location;

/// The two stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

/// The backend of this test binary: PostgreSQL in `it_postgres` (or with
/// `URBIS_TEST_BACKEND=postgres`), SQLite otherwise.
pub fn backend() -> TestBackend {
    static BACKEND: OnceLock<TestBackend> = OnceLock::new();
    *BACKEND.get_or_init(|| {
        let by_env = std::env::var("URBIS_TEST_BACKEND").is_ok_and(|v| v == "postgres");
        let by_binary = std::env::current_exe().ok().is_some_and(|exe| {
            exe.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("it_postgres"))
        });
        if by_env || by_binary {
            TestBackend::Postgres
        } else {
            TestBackend::Sqlite
        }
    })
}

/// Whether this run is the PostgreSQL one.
pub fn on_postgres() -> bool {
    backend() == TestBackend::Postgres
}

/// Skips a test that only makes sense on a SQLite file (it damages or inspects the file):
/// returns true (after saying so) on the PostgreSQL run.
pub fn sqlite_only(what: &str) -> bool {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: {what} is about the SQLite file");
        true
    } else {
        false
    }
}

/// The PostgreSQL server tests use (no database name).
pub fn postgres_server() -> String {
    std::env::var("URBIS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// Whether a PostgreSQL server answers; panics when none does and `URBIS_REQUIRE_POSTGRES` is set.
pub async fn postgres_available() -> bool {
    static UP: tokio::sync::OnceCell<bool> = tokio::sync::OnceCell::const_new();
    let url = format!("{}/postgres", postgres_server());
    let up = *UP
        .get_or_init(|| async {
            tokio::time::timeout(
                std::time::Duration::from_secs(5),
                urbis_storage::admin::reachable(&url),
            )
            .await
            .unwrap_or(false)
        })
        .await;
    if !up && std::env::var_os("URBIS_REQUIRE_POSTGRES").is_some() {
        panic!("URBIS_REQUIRE_POSTGRES is set but no PostgreSQL server answers at {url}");
    }
    up
}

/// A new, empty PostgreSQL database for one test; returns its URL. Databases of earlier runs
/// (their names carry the time they were made) are dropped once they are a few hours old.
pub async fn fresh_postgres_database() -> Location {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let server = postgres_server();
    let admin = format!("{server}/postgres");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    CLEANED
        .get_or_init(|| async {
            let old = urbis_storage::admin::list_databases(&admin, "urbis_t_")
                .await
                .unwrap_or_default();
            for name in old {
                let made: u64 = name
                    .split('_')
                    .nth(2)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                if made + 3 * 3600 < now {
                    let _ = urbis_storage::admin::drop_database(&admin, &name).await;
                }
            }
        })
        .await;
    let name = format!(
        "urbis_t_{now}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    urbis_storage::admin::create_database(&admin, &name)
        .await
        .expect("create a test database");
    Location::Postgres(format!("{server}/{name}"))
}
