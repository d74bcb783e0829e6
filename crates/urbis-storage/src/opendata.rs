//! Open-data releases: each generation of an open dataset is a new version with its row count,
//! the number of rows or cells suppressed, k, a SHA-256 of its content, and the rows themselves
//! (a JSON array of arrays in column order), so what was published can be served and proved later.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::{self, JsonText};
use crate::{Conn, Result};

/// A stored release.
#[derive(Debug, Clone, FromRow)]
pub struct ReleaseRow {
    pub id: i64,
    pub dataset: String,
    pub version: i64,
    pub row_count: i64,
    pub suppressed: i64,
    pub k: i64,
    pub content_hash: String,
    pub columns: JsonText,
    pub rows: JsonText,
    pub created_at: DateTime<Utc>,
}

/// A release without its rows.
#[derive(Debug, Clone, FromRow)]
pub struct ReleaseHead {
    pub id: i64,
    pub dataset: String,
    pub version: i64,
    pub row_count: i64,
    pub suppressed: i64,
    pub k: i64,
    pub content_hash: String,
    pub columns: JsonText,
    pub created_at: DateTime<Utc>,
}

/// A release to store.
#[derive(Debug, Clone)]
pub struct NewRelease<'a> {
    pub dataset: &'a str,
    pub version: i64,
    pub row_count: i64,
    pub suppressed: i64,
    pub k: i64,
    pub content_hash: &'a str,
    pub columns: JsonText,
    pub rows: JsonText,
    pub created_at: DateTime<Utc>,
}

/// Stores a release.
pub async fn insert_release(conn: &mut Conn, new: &NewRelease<'_>) -> Result<i64> {
    Ok(sql::query(
        "INSERT INTO open_releases (dataset, version, row_count, suppressed, k, content_hash, columns, rows, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.dataset)
    .bind(new.version)
    .bind(new.row_count)
    .bind(new.suppressed)
    .bind(new.k)
    .bind(new.content_hash)
    .bind(new.columns.clone())
    .bind(new.rows.clone())
    .bind(new.created_at)
    .scalar(conn)
    .await?)
}

const HEAD_COLUMNS: &str =
    "id, dataset, version, row_count, suppressed, k, content_hash, columns, created_at";

/// The newest release of every dataset, by dataset.
pub async fn latest_heads(conn: &mut Conn) -> Result<Vec<ReleaseHead>> {
    Ok(sql::query(format!(
        "SELECT {HEAD_COLUMNS} FROM open_releases o WHERE version = \
         (SELECT MAX(version) FROM open_releases x WHERE x.dataset = o.dataset) ORDER BY dataset"
    ))
    .fetch_all(conn)
    .await?)
}

/// Every release of one dataset, newest first.
pub async fn heads_of(conn: &mut Conn, dataset: &str) -> Result<Vec<ReleaseHead>> {
    Ok(sql::query(format!(
        "SELECT {HEAD_COLUMNS} FROM open_releases WHERE dataset = ? ORDER BY version DESC LIMIT 100"
    ))
    .bind(dataset)
    .fetch_all(conn)
    .await?)
}

/// One release with its rows: the given version, or the newest.
pub async fn release(
    conn: &mut Conn,
    dataset: &str,
    version: Option<i64>,
) -> Result<Option<ReleaseRow>> {
    let columns =
        "id, dataset, version, row_count, suppressed, k, content_hash, columns, rows, created_at";
    Ok(match version {
        Some(v) => {
            sql::query(format!(
                "SELECT {columns} FROM open_releases WHERE dataset = ? AND version = ?"
            ))
            .bind(dataset)
            .bind(v)
            .fetch_optional(conn)
            .await?
        }
        None => sql::query(format!(
            "SELECT {columns} FROM open_releases WHERE dataset = ? ORDER BY version DESC LIMIT 1"
        ))
        .bind(dataset)
        .fetch_optional(conn)
        .await?,
    })
}
