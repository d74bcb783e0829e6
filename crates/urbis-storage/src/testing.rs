//! What the repositories' unit tests share.

use crate::{Db, DbOptions};

/// A migrated SQLite store in a directory of its own (kept while the directory lives).
pub(crate) async fn new_store() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("dir");
    let db = Db::open(&DbOptions::writer(dir.path().join("t.sqlite")))
        .await
        .expect("open");
    (dir, db)
}
