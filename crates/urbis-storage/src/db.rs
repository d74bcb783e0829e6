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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, Postgres, Sqlite, SqlitePool};

use crate::error::Unavailable;
pub use crate::location::{Backend, Location};
pub use crate::tx::{ReadTx, WriteTx};
use crate::{Result, StorageError};

/// A connection repositories run statements on: a reader, or the inside of a [`WriteTx`] or
/// [`ReadTx`]. Which backend it talks to is this enum's business only.
#[derive(Debug)]
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Conn {
    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a statement of the backend's own (transaction control).
    pub(crate) fn raw<'c>(&'c mut self, sql: &'c str) -> crate::sql::Fut<'c, ()> {
        Box::pin(async move {
            match self {
                Conn::Sqlite(c) => sqlx::query(sql).execute(&mut **c).await.map(|_| ())?,
                Conn::Postgres(c) => sqlx::query(sql).execute(&mut **c).await.map(|_| ())?,
            }
            Ok(())
        })
    }

    /// Runs a script of several statements (tools and tests).
    pub async fn execute_script(&mut self, script: &str) -> Result<()> {
        match self {
            Conn::Sqlite(c) => sqlx::raw_sql(script).execute(&mut **c).await.map(|_| ())?,
            Conn::Postgres(c) => sqlx::raw_sql(script).execute(&mut **c).await.map(|_| ())?,
        }
        Ok(())
    }

    pub(crate) fn close_on_drop(&mut self) {
        match self {
            Conn::Sqlite(c) => c.close_on_drop(),
            Conn::Postgres(c) => c.close_on_drop(),
        }
    }
}

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// A committed transaction survives a power cut (the default): SQLite `synchronous=FULL`,
    /// PostgreSQL `synchronous_commit=on`.
    Full,
    /// Survives a process crash; the last commits may be lost on a power cut: SQLite
    /// `synchronous=NORMAL`, PostgreSQL `synchronous_commit=off`.
    Relaxed,
}

/// How a process uses the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A process that writes: migrates, and proves with a write that the store takes writes
    /// (on SQLite it also takes the lock file and checks the file).
    Writer,
    /// A reader beside a running writer (`audit verify`, `backup`): no lock, no migration, no write.
    ReadOnly,
}

/// Options for [`Db::open`].
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub location: Location,
    pub durability: Durability,
    pub read_connections: u32,
    pub access: Access,
    /// A SQLite writer that serves (`serve`, `demo`) holds the lock file, so a second one is
    /// refused; one-shot tools (imports) write beside it, serialised by SQLite's write lock.
    /// PostgreSQL serialises writers itself (see [`Db::begin_write`]) and takes no lock file.
    pub lock: bool,
    /// Run `PRAGMA quick_check` at open and refuse a damaged SQLite file. It reads the whole
    /// file: about 3 minutes for a 4.3 GB store of a million cases on the development machine.
    pub check: bool,
}

impl DbOptions {
    /// The options of the writing process: full durability, eight readers.
    pub fn writer(location: impl Into<Location>) -> DbOptions {
        DbOptions {
            location: location.into(),
            durability: Durability::Full,
            read_connections: 8,
            access: Access::Writer,
            lock: true,
            check: true,
        }
    }
}

/// The store: SQLite (one writer connection and a pool of readers on one file) or PostgreSQL
/// (one pool).
#[derive(Debug, Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

#[derive(Debug)]
enum Inner {
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        location: Location,
        /// The lock file held while this process is the store's writer; released by [`Db::close`].
        lock: Mutex<Option<File>>,
    },
    Postgres {
        pool: PgPool,
        location: Location,
    },
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a write waits for a lock held by another connection or process.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The PostgreSQL advisory lock every write transaction takes first (its key is the bytes of
/// "urbis-w").
const POSTGRES_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(33058339276664183)";

impl Db {
    /// Opens the store. SQLite: creates the file if needed; a writer takes the lock file (a
    /// second writer on the same file is refused), refuses a damaged file (`PRAGMA
    /// quick_check`), runs pending migrations and refuses a store that cannot take a write
    /// (read-only file or directory, full disk). PostgreSQL: connects, and a writer runs
    /// pending migrations and proves it can write.
    pub async fn open(options: &DbOptions) -> Result<Db> {
        match &options.location {
            Location::Sqlite(path) => open_sqlite(options, path).await,
            Location::Postgres(url) => open_postgres(options, url).await,
        }
    }

    /// Which backend this store is.
    pub fn backend(&self) -> Backend {
        match &*self.inner {
            Inner::Sqlite { .. } => Backend::Sqlite,
            Inner::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Where the store lives.
    pub fn location(&self) -> &Location {
        match &*self.inner {
            Inner::Sqlite { location, .. } | Inner::Postgres { location, .. } => location,
        }
    }

    /// Starts a write transaction. Every write transaction of a store is serialised, because
    /// each one appends to the one audit chain: on SQLite it holds the write lock from its start
    /// (`BEGIN IMMEDIATE`, waiting up to the busy timeout for another process); on PostgreSQL
    /// it takes a transaction-scoped advisory lock first, so writers on several nodes queue in
    /// one order and can never fork the chain or deadlock on each other's rows.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let (mut conn, begin) = match &*self.inner {
            Inner::Sqlite { write, .. } => {
                (Conn::Sqlite(write.acquire().await?), "BEGIN IMMEDIATE")
            }
            Inner::Postgres { pool, .. } => (Conn::Postgres(pool.acquire().await?), "BEGIN"),
        };
        if let Err(err) = conn.raw(begin).await {
            conn.close_on_drop();
            return Err(err);
        }
        if conn.backend() == Backend::Postgres
            && let Err(err) = conn.raw(POSTGRES_LOCK_SQL).await
        {
            conn.close_on_drop();
            return Err(err);
        }
        Ok(WriteTx {
            conn: Some(conn),
            committed: false,
        })
    }

    /// A connection for reads; each statement sees the latest committed state.
    pub async fn read(&self) -> Result<Conn> {
        Ok(match &*self.inner {
            Inner::Sqlite { read, .. } => Conn::Sqlite(read.acquire().await?),
            Inner::Postgres { pool, .. } => Conn::Postgres(pool.acquire().await?),
        })
    }

    /// A connection whose statements commit one by one, outside any write transaction: for
    /// tools and tests that inspect or deliberately damage a store. The service never uses it.
    pub async fn write_conn(&self) -> Result<Conn> {
        Ok(match &*self.inner {
            Inner::Sqlite { write, .. } => Conn::Sqlite(write.acquire().await?),
            Inner::Postgres { pool, .. } => Conn::Postgres(pool.acquire().await?),
        })
    }

    /// A read transaction: every statement in it sees one consistent snapshot.
    pub async fn read_snapshot(&self) -> Result<ReadTx> {
        let mut conn = self.read().await?;
        let begin = match conn.backend() {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        if let Err(err) = conn.raw(begin).await {
            conn.close_on_drop();
            return Err(err);
        }
        Ok(ReadTx { conn: Some(conn) })
    }

    /// Proves that the store takes a durable write now (used at start and by `/readyz`).
    pub async fn probe_write(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        crate::sql::query(
            "INSERT INTO store_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .bind(chrono::Utc::now())
        .execute(&mut tx)
        .await?;
        tx.commit().await
    }

    /// Refreshes the query planner's statistics after a bulk load. PostgreSQL plans joins by
    /// them (the dashboard's roll-up queries went from 290 ms to 16 ms at 20,000 cases once
    /// analysed) and its autovacuum may not have run yet; SQLite's plans here do not depend on
    /// them, so it is left alone.
    pub async fn analyze(&self) -> Result<()> {
        if let Inner::Postgres { pool, .. } = &*self.inner {
            sqlx::query("ANALYZE").execute(pool).await?;
        }
        Ok(())
    }

    /// Writes a consistent copy of a SQLite store to the file `to` (`VACUUM INTO`, taken on a
    /// read snapshot while writers go on). `to` must not exist. A PostgreSQL store is backed up
    /// with `store::copy_store` into a SQLite file instead.
    pub async fn backup_into(&self, to: &Path) -> Result<()> {
        let Inner::Sqlite { read, .. } = &*self.inner else {
            return Err(StorageError::Refused(
                "VACUUM INTO backs up a SQLite store only".into(),
            ));
        };
        let target = to.to_str().ok_or_else(|| {
            StorageError::Refused(format!("backup path {} is not UTF-8", to.display()))
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(read)
            .await?;
        Ok(())
    }

    /// Closes the pools, waiting for connections to finish, and releases the lock file.
    pub async fn close(&self) {
        match &*self.inner {
            Inner::Sqlite {
                write, read, lock, ..
            } => {
                read.close().await;
                write.close().await;
                let mut lock = match lock.lock() {
                    Ok(guard) => guard,
                    Err(poisoned) => poisoned.into_inner(),
                };
                lock.take();
            }
            Inner::Postgres { pool, .. } => pool.close().await,
        }
    }
}

async fn open_sqlite(options: &DbOptions, path: &Path) -> Result<Db> {
    let lock = match options.access {
        Access::Writer if options.lock => Some(take_lock(path)?),
        Access::Writer => None,
        Access::ReadOnly => {
            if !path.exists() {
                return Err(StorageError::Refused(format!(
                    "no database at {}",
                    path.display()
                )));
            }
            None
        }
    };
    if options.access == Access::Writer {
        create_private(path);
    }
    let mut base = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
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
        .map_err(|err| refuse_open(path, err.into()))?;
    restrict_permissions(path);
    if options.check {
        quick_check(&write)
            .await
            .map_err(|err| refuse_open(path, err))?;
    }
    if options.access == Access::Writer {
        SQLITE_MIGRATOR
            .run(&write)
            .await
            .map_err(|err| refuse_open(path, err.into()))?;
    }
    let read = SqlitePoolOptions::new()
        .max_connections(options.read_connections.max(1))
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(base.read_only(true))
        .await?;
    let db = Db {
        inner: Arc::new(Inner::Sqlite {
            write,
            read,
            location: options.location.clone(),
            lock: Mutex::new(lock),
        }),
    };
    if options.access == Access::Writer {
        db.probe_write()
            .await
            .map_err(|err| refuse_open(path, err))?;
    }
    Ok(db)
}

async fn open_postgres(options: &DbOptions, url: &str) -> Result<Db> {
    let shown = options.location.to_string();
    let mut connect = PgConnectOptions::from_str(url)
        .map_err(|err| StorageError::Refused(format!("bad PostgreSQL URL {shown}: {err}")))?
        .log_statements(tracing::log::LevelFilter::Trace)
        .options([("timezone", "UTC")]);
    if options.durability == Durability::Relaxed {
        connect = connect.options([("synchronous_commit", "off")]);
    }
    if options.access == Access::ReadOnly {
        connect = connect.options([("default_transaction_read_only", "on")]);
    }
    let pool = PgPoolOptions::new()
        .max_connections(options.read_connections.max(1) + 4)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(connect)
        .await
        .map_err(|err| {
            StorageError::Refused(format!("cannot connect to PostgreSQL at {shown}: {err}"))
        })?;
    if options.access == Access::Writer {
        POSTGRES_MIGRATOR.run(&pool).await.map_err(|err| {
            StorageError::Refused(format!("cannot migrate PostgreSQL at {shown}: {err}"))
        })?;
    }
    let db = Db {
        inner: Arc::new(Inner::Postgres {
            pool,
            location: options.location.clone(),
        }),
    };
    if options.access == Access::Writer {
        db.probe_write().await.map_err(|err| {
            StorageError::Refused(format!("PostgreSQL at {shown} does not take writes: {err}"))
        })?;
    }
    Ok(db)
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
        crate::sql::query("SELECT COUNT(*) FROM filler")
            .scalar(&mut db.read().await.expect("reader"))
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
        crate::sql::query("CREATE TABLE filler (v BLOB NOT NULL)")
            .execute(&mut tx)
            .await
            .expect("create");
        tx.commit().await.expect("commit");
        let mut tx = db.begin_write().await.expect("begin");
        let pages: i64 = crate::sql::query("PRAGMA page_count")
            .scalar(&mut tx)
            .await
            .expect("page count");
        crate::sql::query(format!("PRAGMA max_page_count = {}", pages + 4))
            .execute(&mut tx)
            .await
            .expect("limit");
        let mut failure = None;
        for _ in 0..100 {
            if let Err(err) = crate::sql::query("INSERT INTO filler (v) VALUES (zeroblob(3000))")
                .execute(&mut tx)
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
            crate::sql::query("INSERT INTO filler (v) VALUES (zeroblob(3000))")
                .execute(&mut tx)
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
