//! Opening the store: the lock file, the integrity check, pragmas, pools, migrations and the
//! write probe; and [`WriteTx`], the only way to write.
//!
//! Why [`WriteTx`] and not sqlx's `Transaction`: sqlx tracks the transaction depth of a SQLite
//! connection itself. When a statement fails with `SQLITE_FULL` or an I/O error, SQLite may roll
//! the whole transaction back on its own; sqlx's `ROLLBACK` on drop then fails ("no transaction is
//! active"), its depth counter stays at 1, and from then on every `begin()` issues a `SAVEPOINT`
//! and every `commit()` a `RELEASE` — each "commit" succeeds while the data sits in a transaction
//! that a later failure rolls back. [`WriteTx`] issues `BEGIN IMMEDIATE`/`COMMIT` itself and
//! retires the connection after any failure, so a writer is never left inside a transaction and a
//! commit that returned success is a real one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use crate::error::Unavailable;
use crate::{Result, StorageError};

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

/// How a process uses the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The one process that writes: takes the lock file, checks the file, migrates, and proves
    /// with a write that the store takes writes.
    Writer,
    /// A reader beside a running writer (`audit verify`, `backup`): no lock, no migration, no write.
    ReadOnly,
}

/// Options for [`Db::open`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub path: PathBuf,
    pub durability: Durability,
    pub read_connections: u32,
    pub access: Access,
    /// A writer that serves (`serve`, `demo`) holds the lock file, so a second one is refused;
    /// one-shot tools (imports) write beside it, serialised by SQLite's write lock.
    pub lock: bool,
    /// Run `PRAGMA quick_check` at open and refuse a damaged file. It reads the whole file:
    /// about 3 minutes for a 4.3 GB store of a million cases on the development machine.
    pub check: bool,
}

impl DbOptions {
    /// The options of the writing process: full durability, eight readers.
    pub fn writer(path: impl Into<PathBuf>) -> DbOptions {
        DbOptions {
            path: path.into(),
            durability: Durability::Full,
            read_connections: 8,
            access: Access::Writer,
            lock: true,
            check: true,
        }
    }
}

/// The embedded store: one writer connection and a pool of readers on one SQLite file.
#[derive(Debug, Clone)]
pub struct Db {
    write: SqlitePool,
    read: SqlitePool,
    path: PathBuf,
    /// The lock file held while this process is the store's writer; released by [`Db::close`].
    lock: Arc<Mutex<Option<File>>>,
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a write waits for a lock held by another connection or process.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Db {
    /// Opens (creating if needed) the database file. A writer takes the lock file (a second
    /// writer on the same file is refused), refuses a damaged file (`PRAGMA quick_check`), runs
    /// pending migrations and refuses a store that cannot take a write (read-only file or
    /// directory, full disk).
    pub async fn open(options: &DbOptions) -> Result<Db> {
        let lock = match options.access {
            Access::Writer if options.lock => Some(take_lock(&options.path)?),
            Access::Writer => None,
            Access::ReadOnly => {
                if !options.path.exists() {
                    return Err(StorageError::Refused(format!(
                        "no database at {}",
                        options.path.display()
                    )));
                }
                None
            }
        };
        if options.access == Access::Writer {
            create_private(&options.path);
        }
        let mut base = SqliteConnectOptions::from_str("sqlite://")?
            .filename(&options.path)
            .create_if_missing(options.access == Access::Writer);
        // Only the writer chooses the journal (switching it is a write); a reader takes the
        // file as it is — a live store in WAL mode, or a backup copy in rollback mode.
        if options.access == Access::Writer {
            base = base.journal_mode(SqliteJournalMode::Wal);
        }
        let base = base
            .synchronous(match options.durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Relaxed => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("temp_store", "memory")
            .pragma("cache_size", "-32000");
        let write_options = match options.access {
            Access::Writer => base.clone(),
            Access::ReadOnly => base.clone().read_only(true),
        };
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(write_options)
            .await
            .map_err(|err| refuse_open(&options.path, err.into()))?;
        restrict_permissions(&options.path);
        if options.check {
            quick_check(&write)
                .await
                .map_err(|err| refuse_open(&options.path, err))?;
        }
        if options.access == Access::Writer {
            MIGRATOR
                .run(&write)
                .await
                .map_err(|err| refuse_open(&options.path, err.into()))?;
        }
        let read = SqlitePoolOptions::new()
            .max_connections(options.read_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.read_only(true))
            .await?;
        let db = Db {
            write,
            read,
            path: options.path.clone(),
            lock: Arc::new(Mutex::new(lock)),
        };
        if options.access == Access::Writer {
            db.probe_write()
                .await
                .map_err(|err| refuse_open(&options.path, err))?;
        }
        Ok(db)
    }

    /// Starts a write transaction that holds the write lock from its start (`BEGIN IMMEDIATE`),
    /// so another writer makes it wait up to the busy timeout instead of failing halfway.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let mut conn = self.write.acquire().await?;
        if let Err(err) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
            conn.close_on_drop();
            return Err(err.into());
        }
        Ok(WriteTx {
            conn: Some(conn),
            committed: false,
        })
    }

    /// Proves that the store takes a durable write now (used at start and by `/readyz`).
    pub async fn probe_write(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO store_probe (id, at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Writes a consistent copy of the whole store to `to` (`VACUUM INTO`, taken on a read
    /// snapshot while writers go on). `to` must not exist.
    pub async fn backup_into(&self, to: &Path) -> Result<()> {
        let target = to.to_str().ok_or_else(|| {
            StorageError::Refused(format!("backup path {} is not UTF-8", to.display()))
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.read)
            .await?;
        Ok(())
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

    /// Closes both pools, waiting for connections to finish, and releases the lock file.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
        let mut lock = match self.lock.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        lock.take();
    }
}

/// A write transaction on the writer connection. Commit with [`WriteTx::commit`]; dropping it
/// without a commit rolls back by retiring the connection (closing a SQLite connection rolls
/// back whatever it had open), so no failure can leave the writer inside a transaction.
pub struct WriteTx {
    conn: Option<PoolConnection<Sqlite>>,
    committed: bool,
}

impl WriteTx {
    /// Commits. `Ok` means SQLite's `COMMIT` returned success with the store's durability; on
    /// any error the transaction is rolled back and the connection replaced.
    pub async fn commit(mut self) -> Result<()> {
        let conn = self.conn.as_mut().expect("connection present until drop");
        match sqlx::query("COMMIT").execute(&mut **conn).await {
            Ok(_) => {
                self.committed = true;
                Ok(())
            }
            Err(err) => {
                // SQLite may keep the transaction open after a failed COMMIT: end it for real.
                let _ = sqlx::query("ROLLBACK").execute(&mut **conn).await;
                Err(err.into())
            }
        }
    }
}

impl std::ops::Deref for WriteTx {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take()
            && !self.committed
        {
            conn.close_on_drop();
        }
    }
}

fn take_lock(path: &Path) -> Result<File> {
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|err| {
            StorageError::Refused(format!(
                "cannot create the lock file {}: {err}",
                lock_path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StorageError::Refused(format!(
            "{} is in use by another Urbis process (lock file {}); stop it first",
            path.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(err)) => Err(StorageError::Refused(format!(
            "cannot lock {}: {err}",
            lock_path.display()
        ))),
    }
}

/// The database and its journal hold residents' personal data: owner-only permissions.
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Ok(meta) = std::fs::metadata(&file)
            && meta.permissions().mode() & 0o077 != 0
        {
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        }
    }
}

async fn quick_check(pool: &SqlitePool) -> Result<()> {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(20)")
        .fetch_all(pool)
        .await?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(StorageError::Corrupt(rows.join("; ")))
    }
}

/// Turns a failure while opening into a message that tells the operator what to do.
fn refuse_open(path: &Path, err: StorageError) -> StorageError {
    let shown = path.display();
    match err {
        StorageError::Corrupt(found) => StorageError::Refused(format!(
            "{shown} is damaged (integrity check: {found}); restore it from a backup (see README, Backups)"
        )),
        StorageError::Unavailable(Unavailable::Damaged, message) => StorageError::Refused(format!(
            "{shown} is damaged ({message}); restore it from a backup (see README, Backups)"
        )),
        StorageError::Unavailable(Unavailable::ReadOnly, message) => {
            StorageError::Refused(format!(
                "{shown} cannot be written ({message}): check the file's and its directory's permissions and mount"
            ))
        }
        StorageError::Unavailable(Unavailable::Full, message) => StorageError::Refused(format!(
            "{shown} cannot be written: the disk is full ({message})"
        )),
        StorageError::Migrate(sqlx::migrate::MigrateError::Execute(inner)) => {
            refuse_open(path, inner.into())
        }
        other => other,
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

#[cfg(test)]
mod tests {
    use super::*;

    async fn open(dir: &Path) -> Db {
        Db::open(&DbOptions {
            read_connections: 2,
            ..DbOptions::writer(dir.join("t.sqlite"))
        })
        .await
        .expect("open")
    }

    async fn count(db: &Db) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM filler")
            .fetch_one(db.reader())
            .await
            .expect("count")
    }

    /// A store that fills up (here: a page limit on the writer connection, which SQLite reports
    /// as `SQLITE_FULL` like a full disk) fails the write with `Unavailable(Full)`, keeps nothing
    /// of it, and the next write on the retired-and-replaced writer commits for real.
    #[tokio::test]
    async fn a_failed_write_leaves_the_writer_clean() {
        let dir = tempfile::tempdir().expect("dir");
        let db = open(dir.path()).await;
        let mut tx = db.begin_write().await.expect("begin");
        sqlx::query("CREATE TABLE filler (v BLOB NOT NULL)")
            .execute(&mut *tx)
            .await
            .expect("create");
        tx.commit().await.expect("commit");
        let mut tx = db.begin_write().await.expect("begin");
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&mut *tx)
            .await
            .expect("page count");
        sqlx::query(&format!("PRAGMA max_page_count = {}", pages + 4))
            .execute(&mut *tx)
            .await
            .expect("limit");
        let mut failure = None;
        for _ in 0..100 {
            if let Err(err) = sqlx::query("INSERT INTO filler (v) VALUES (zeroblob(3000))")
                .execute(&mut *tx)
                .await
            {
                failure = Some(StorageError::from(err));
                break;
            }
        }
        let failure = failure.expect("the page limit was reached");
        assert_eq!(failure.unavailable(), Some(Unavailable::Full), "{failure}");
        drop(tx);
        assert_eq!(
            count(&db).await,
            0,
            "nothing of the failed transaction is kept"
        );
        // The writer is usable again, without the limit, and a commit is a real commit.
        let mut tx = db.begin_write().await.expect("begin after the failure");
        for _ in 0..20 {
            sqlx::query("INSERT INTO filler (v) VALUES (zeroblob(3000))")
                .execute(&mut *tx)
                .await
                .expect("insert after the failure");
        }
        tx.commit().await.expect("commit after the failure");
        assert_eq!(
            count(&db).await,
            20,
            "visible to other connections: committed"
        );
        db.close().await;
        let db = open(dir.path()).await;
        assert_eq!(count(&db).await, 20, "durable across a reopen");
    }

    #[tokio::test]
    async fn a_second_writer_is_refused_until_the_first_closes() {
        let dir = tempfile::tempdir().expect("dir");
        let first = open(dir.path()).await;
        let second = Db::open(&DbOptions::writer(dir.path().join("t.sqlite"))).await;
        assert!(
            matches!(&second, Err(StorageError::Refused(m)) if m.contains("in use")),
            "{second:?}"
        );
        first.close().await;
        open(dir.path()).await.close().await;
    }
}
