//! Photos attached to cases. Listing reads only the metadata; the bytes are read one
//! attachment at a time.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result, StorageError};

/// An attachment's metadata.
#[derive(Debug, Clone, FromRow)]
pub struct AttachmentRow {
    pub id: i64,
    pub case_id: i64,
    pub kind: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, case_id, kind, mime, size, sha256, uploaded_by, created_at";

/// An attachment to store.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    pub case_id: i64,
    pub kind: &'a str,
    pub mime: &'a str,
    pub sha256: &'a str,
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub bytes: &'a [u8],
}

/// Stores an attachment and returns its metadata.
pub async fn insert(conn: &mut Conn, new: &NewAttachment<'_>) -> Result<AttachmentRow> {
    let size = i64::try_from(new.bytes.len())
        .map_err(|_| StorageError::Conflict("attachment too large".into()))?;
    Ok(sql::query(format!(
        "INSERT INTO attachments (case_id, kind, mime, size, sha256, uploaded_by, created_at, bytes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
    ))
    .bind(new.case_id)
    .bind(new.kind)
    .bind(new.mime)
    .bind(size)
    .bind(new.sha256)
    .bind(new.uploaded_by)
    .bind(new.created_at)
    .bind(new.bytes)
    .fetch_one(conn)
    .await?)
}

/// Returns how many attachments a case has.
pub async fn count_for_case(conn: &mut Conn, case_id: i64) -> Result<i64> {
    let (n,): (i64,) = sql::query("SELECT COUNT(*) FROM attachments WHERE case_id = ?")
        .bind(case_id)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Returns the metadata of a case's attachments, oldest first.
pub async fn list_for_case(conn: &mut Conn, case_id: i64) -> Result<Vec<AttachmentRow>> {
    Ok(sql::query(format!(
        "SELECT {COLUMNS} FROM attachments WHERE case_id = ? ORDER BY id"
    ))
    .bind(case_id)
    .fetch_all(conn)
    .await?)
}

/// Returns one attachment's metadata.
pub async fn get(conn: &mut Conn, id: i64) -> Result<AttachmentRow> {
    sql::query(format!("SELECT {COLUMNS} FROM attachments WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("attachment"))
}

/// Returns one attachment's bytes.
pub async fn bytes(conn: &mut Conn, id: i64) -> Result<Vec<u8>> {
    let row: Option<(Vec<u8>,)> = sql::query("SELECT bytes FROM attachments WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|(bytes,)| bytes)
        .ok_or(StorageError::NotFound("attachment"))
}

/// Bytes of attachments a user uploaded since `since`.
pub async fn bytes_uploaded_since(
    conn: &mut Conn,
    user_id: i64,
    since: DateTime<Utc>,
) -> Result<i64> {
    Ok(sql::query(
        "SELECT COALESCE(CAST(SUM(size) AS BIGINT), 0) FROM attachments WHERE uploaded_by = ? AND created_at >= ?",
    )
    .bind(user_id)
    .bind(since)
    .scalar(conn)
    .await?)
}
