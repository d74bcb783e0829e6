//! What the repositories' unit tests share.

use crate::{Db, DbOptions, sql};

/// A migrated SQLite store in a directory of its own (kept while the directory lives).
pub(crate) async fn new_store() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("dir");
    let db = Db::open(&DbOptions::writer(dir.path().join("t.sqlite")))
        .await
        .expect("open");
    (dir, db)
}

/// The steps of SQLite's plan for `query`, an `EXPLAIN QUERY PLAN` statement with its values bound.
pub(crate) async fn plan(db: &Db, query: sql::Query) -> Vec<String> {
    let steps: Vec<(i64, i64, i64, String)> = query
        .fetch_all(&mut db.read().await.expect("reader"))
        .await
        .expect("plan");
    steps.into_iter().map(|(.., detail)| detail).collect()
}
