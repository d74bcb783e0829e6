//! Open311 GeoReport v2: client api keys (stored only as their SHA-256) and the public view of
//! cases. The public row selects only the columns Open311 may show, so reporter names and phone
//! numbers are never even read on this path.

use sqlx::{FromRow, QueryBuilder, Sqlite};

use crate::{Conn, Result, StorageError};

/// A stored Open311 client.
#[derive(Debug, Clone, FromRow)]
pub struct ClientRow {
    pub id: i64,
    pub name: String,
    pub key_hash: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

const CLIENT_COLUMNS: &str = "id, name, key_hash, created_at, revoked_at";

/// Inserts a client; a key hash already stored is a conflict.
pub async fn insert_client(
    conn: &mut Conn,
    name: &str,
    key_hash: &str,
    created_at: &str,
) -> Result<ClientRow> {
    Ok(sqlx::query_as(&format!(
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
    sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM open311_clients WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("open311 client"))
}

/// Returns the client holding the key with this hash, revoked or not.
pub async fn find_client_by_hash(conn: &mut Conn, key_hash: &str) -> Result<Option<ClientRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM open311_clients WHERE key_hash = ?"
    ))
    .bind(key_hash)
    .fetch_optional(conn)
    .await?)
}

/// Returns every client in creation order.
pub async fn list_clients(conn: &mut Conn) -> Result<Vec<ClientRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CLIENT_COLUMNS} FROM open311_clients ORDER BY id"
    ))
    .fetch_all(conn)
    .await?)
}

/// Marks a client revoked at `at`; returns false when it was revoked already.
pub async fn revoke_client(conn: &mut Conn, id: i64, at: &str) -> Result<bool> {
    let res = sqlx::query(
        "UPDATE open311_clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// The public columns of a case, with its category and lead department resolved.
#[derive(Debug, Clone, FromRow)]
pub struct PublicCaseRow {
    pub id: i64,
    pub number: String,
    pub state: String,
    pub channel: String,
    pub text: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub area_id: i64,
    pub closure_type: Option<String>,
    pub due_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub category_code: Option<String>,
    pub category_name: Option<String>,
    pub lead_dept_name: Option<String>,
}

const PUBLIC_SELECT: &str = "SELECT c.id, c.number, c.state, c.channel, c.text, c.address, c.lat, c.lon, \
    c.area_id, c.closure_type, c.due_at, c.created_at, c.updated_at, cat.code AS category_code, \
    cat.name AS category_name, d.name AS lead_dept_name \
    FROM cases c LEFT JOIN categories cat ON cat.id = c.category_id \
    LEFT JOIN departments d ON d.id = c.lead_dept_id WHERE 1 = 1";

/// Which cases an Open311 query asks for. Empty lists do not filter.
#[derive(Debug, Clone, Default)]
pub struct PublicCaseFilter {
    /// Case numbers; when given, the service ignores every other filter.
    pub numbers: Vec<String>,
    pub category_codes: Vec<String>,
    pub states: Vec<String>,
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Returns the public rows of matching cases, newest first.
pub async fn list_public_cases(
    conn: &mut Conn,
    filter: &PublicCaseFilter,
) -> Result<Vec<PublicCaseRow>> {
    let mut query: QueryBuilder<'_, Sqlite> = QueryBuilder::new(PUBLIC_SELECT);
    fn in_list(query: &mut QueryBuilder<'_, Sqlite>, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        query.push(format!(" AND {column} IN ("));
        let mut separated = query.separated(", ");
        for value in values {
            separated.push_bind(value.clone());
        }
        query.push(")");
    }
    in_list(&mut query, "c.number", &filter.numbers);
    in_list(&mut query, "cat.code", &filter.category_codes);
    in_list(&mut query, "c.state", &filter.states);
    if let Some(from) = &filter.created_from {
        query.push(" AND c.created_at >= ").push_bind(from.clone());
    }
    if let Some(to) = &filter.created_to {
        query.push(" AND c.created_at <= ").push_bind(to.clone());
    }
    query
        .push(" ORDER BY c.id DESC LIMIT ")
        .push_bind(filter.limit)
        .push(" OFFSET ")
        .push_bind(filter.offset);
    Ok(query.build_query_as().fetch_all(conn).await?)
}

/// Returns the public row of the case with this number.
pub async fn get_public_case(conn: &mut Conn, number: &str) -> Result<PublicCaseRow> {
    sqlx::query_as(&format!("{PUBLIC_SELECT} AND c.number = ?"))
        .bind(number)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("service request"))
}
