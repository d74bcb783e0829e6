//! The storage error, with database errors mapped once: a missing row is `NotFound`, a unique
//! violation is `Conflict`, a store that cannot take writes right now (disk full, read-only,
//! I/O error, locked past the busy timeout, damaged file) is `Unavailable`, everything else is
//! `Database` (internal).

use std::fmt;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("store unavailable ({0}): {1}")]
    Unavailable(Unavailable, String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Refused(String),
}

/// Why the store cannot take a write at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unavailable {
    /// The filesystem (or the database's size limit) is full (`SQLITE_FULL`).
    Full,
    /// The file or its directory is read-only (`SQLITE_READONLY`, `SQLITE_CANTOPEN`).
    ReadOnly,
    /// Another process held the write lock past the busy timeout (`SQLITE_BUSY`, `SQLITE_LOCKED`).
    Busy,
    /// The operating system reported an I/O error (`SQLITE_IOERR`).
    Io,
    /// The file is damaged (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
    Damaged,
}

impl Unavailable {
    /// The stable error code a client sees.
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::Full => "storage_full",
            _ => "storage_unavailable",
        }
    }

    /// A short name for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Unavailable::Full => "full",
            Unavailable::ReadOnly => "read_only",
            Unavailable::Busy => "busy",
            Unavailable::Io => "io",
            Unavailable::Damaged => "damaged",
        }
    }

    /// Classifies a PostgreSQL SQLSTATE.
    pub fn from_postgres_code(code: &str) -> Option<Unavailable> {
        match code {
            "53100" => Some(Unavailable::Full),
            "25006" => Some(Unavailable::ReadOnly),
            "40001" | "40P01" | "55P03" | "53300" | "57014" => Some(Unavailable::Busy),
            "58030" | "57P01" | "57P02" | "57P03" | "08000" | "08003" | "08006" => {
                Some(Unavailable::Io)
            }
            "XX001" | "XX002" => Some(Unavailable::Damaged),
            _ => None,
        }
    }

    /// Classifies an SQLite (extended) result code.
    pub fn from_sqlite_code(code: i64) -> Option<Unavailable> {
        match code & 0xff {
            13 => Some(Unavailable::Full),
            8 | 14 => Some(Unavailable::ReadOnly),
            5 | 6 => Some(Unavailable::Busy),
            10 => Some(Unavailable::Io),
            11 | 26 => Some(Unavailable::Damaged),
            _ => None,
        }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StorageError {
    /// Returns why the store is unavailable, when that is what this error says.
    pub fn unavailable(&self) -> Option<Unavailable> {
        match self {
            StorageError::Unavailable(kind, _) => Some(*kind),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StorageError::NotFound("row"),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StorageError::Conflict(db.message().to_owned())
            }
            sqlx::Error::Database(db) => {
                let postgres = db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .is_some();
                let kind = match db.code() {
                    Some(code) if postgres => Unavailable::from_postgres_code(&code),
                    Some(code) => code
                        .parse::<i64>()
                        .ok()
                        .and_then(Unavailable::from_sqlite_code),
                    None => None,
                };
                match kind {
                    Some(kind) => StorageError::Unavailable(kind, db.message().to_owned()),
                    None => StorageError::Database(err),
                }
            }
            sqlx::Error::Io(io) => StorageError::Unavailable(Unavailable::Io, io.to_string()),
            sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                StorageError::Unavailable(Unavailable::Io, err.to_string())
            }
            sqlx::Error::PoolTimedOut => StorageError::Unavailable(
                Unavailable::Busy,
                "timed out waiting for a database connection".into(),
            ),
            _ => StorageError::Database(err),
        }
    }
}
