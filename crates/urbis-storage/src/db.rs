//! Opening the store: pragmas, pools and migrations.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::Result;

/// The connection type repositories take.
pub type Conn = sqlx::SqliteConnection;

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a committed transaction survives a power cut (the default).
    Full,
    /// `synchronous=NORMAL`: survives a process crash; the last commits may be lost on a power cut.
    Relaxed,
}

/// Options for [`Db::open`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub path: PathBuf,
    pub durability: Durability,
    pub read_connections: u32,
}

/// The embedded store: one writer connection and a pool of readers on one SQLite file.
#[derive(Debug, Clone)]
pub struct Db {
    write: SqlitePool,
    read: SqlitePool,
    path: PathBuf,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Db {
    /// Opens (creating if needed) the database file and runs pending migrations.
    pub async fn open(options: &DbOptions) -> Result<Db> {
        create_private(&options.path);
        let base = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&options.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Relaxed => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-32000");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone())
            .await?;
        MIGRATOR.run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await?;
        Ok(Db {
            write,
            read,
            path: options.path.clone(),
        })
    }

    /// Returns the pool whose single connection performs every write.
    pub fn writer(&self) -> &SqlitePool {
        &self.write
    }

    /// Returns the pool for reads.
    pub fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Returns the database file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes both pools, waiting for connections to finish.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Creates the database file readable by its owner only (0600) when it does not exist yet;
/// SQLite gives its -wal and -shm files the same mode.
#[cfg(unix)]
fn create_private(path: &std::path::Path) {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return;
    }
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
}

#[cfg(not(unix))]
fn create_private(_path: &std::path::Path) {}
