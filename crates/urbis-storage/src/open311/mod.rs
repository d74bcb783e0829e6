//! Open311 GeoReport v2: client api keys (stored only as their SHA-256), the requests clients
//! filed (`requests`), the public view of cases and requests (`requests`), the public trail and
//! the clients' comments (`updates`). Public rows select only the columns Open311 may show, so
//! reporter names and phone numbers are never even read on this path.

mod requests;
mod updates;

pub use requests::*;
pub use updates::*;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::{self, Builder};

use crate::{Conn, Result, StorageError};

/// A stored Open311 client.
#[derive(Debug, Clone, FromRow)]
pub struct ClientRow {
    pub id: i64,
    pub name: String,
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const CLIENT_COLUMNS: &str = "id, name, key_hash, created_at, revoked_at";

/// Inserts a client; a key hash already stored is a conflict.
pub async fn insert_client(
    conn: &mut Conn,
    name: &str,
    key_hash: &str,
    created_at: DateTime<Utc>,
) -> Result<ClientRow> {
    Ok(sql::query(format!(
        "INSERT INTO open311_clients (name, key_hash, created_at) VALUES (?, ?, ?)
         RETURNING {CLIENT_COLUMNS}"
    ))
    .bind(name)
    .bind(key_hash)
    .bind(created_at)
    .fetch_one(conn)
    .await?)
}

/// Returns one client.
pub async fn get_client(conn: &mut Conn, id: i64) -> Result<ClientRow> {
    sql::query(format!(
        "SELECT {CLIENT_COLUMNS} FROM open311_clients WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("open311 client"))
}

/// Returns the client holding the key with this hash, revoked or not.
pub async fn find_client_by_hash(conn: &mut Conn, key_hash: &str) -> Result<Option<ClientRow>> {
    Ok(sql::query(format!(
        "SELECT {CLIENT_COLUMNS} FROM open311_clients WHERE key_hash = ?"
    ))
    .bind(key_hash)
    .fetch_optional(conn)
    .await?)
}

/// Returns every client in creation order.
pub async fn list_clients(conn: &mut Conn) -> Result<Vec<ClientRow>> {
    Ok(sql::query(format!(
        "SELECT {CLIENT_COLUMNS} FROM open311_clients ORDER BY id"
    ))
    .fetch_all(conn)
    .await?)
}

/// Marks a client revoked at `at`; returns false when it was revoked already.
pub async fn revoke_client(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<bool> {
    let res =
        sql::query("UPDATE open311_clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(conn)
            .await?;
    Ok(res == 1)
}

/// Appends ` AND {column} IN (…)` for a non-empty list.
pub(crate) fn push_in<T>(query: &mut Builder, column: &str, values: &[T])
where
    T: Clone + crate::sql::Bind,
{
    if values.is_empty() {
        return;
    }
    query.push(&format!(" AND {column} IN ("));
    let mut separated = query.separated(", ");
    for value in values {
        separated.push_bind(value.clone());
    }
    separated.push_unseparated(")");
}
