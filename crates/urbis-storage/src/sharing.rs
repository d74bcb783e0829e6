//! The data-sharing exchange: catalogue entries (`data_resources`), rows of uploaded resources,
//! sharing requests, grants (consumer keys kept as SHA-256 only), and the readers that serve
//! Urbis's own resources (`builtin:*`) straight from the store.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::{self, Builder, JsonText};
use crate::{Conn, Result, StorageError};

/// A catalogue entry with its owner's name.
#[derive(Debug, Clone, FromRow)]
pub struct ResourceRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub owner_dept_id: Option<i64>,
    pub owner_dept_name: Option<String>,
    pub source: String,
    pub api_url: String,
    pub update_cycle: String,
    pub format: String,
    pub sharing_type: String,
    pub opening_type: String,
    pub grade: String,
    pub legal_basis: String,
    pub fields: JsonText,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const RESOURCE_COLUMNS: &str = "r.id, r.code, r.name, r.description, r.owner_dept_id, \
    d.name AS owner_dept_name, r.source, r.api_url, r.update_cycle, r.format, r.sharing_type, \
    r.opening_type, r.grade, r.legal_basis, r.fields, r.created_at, r.updated_at";
const RESOURCE_FROM: &str = "data_resources r LEFT JOIN departments d ON d.id = r.owner_dept_id";

/// A catalogue entry to store.
#[derive(Debug, Clone)]
pub struct NewResource<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub owner_dept_id: Option<i64>,
    pub source: &'a str,
    pub api_url: &'a str,
    pub update_cycle: &'a str,
    pub format: &'a str,
    pub sharing_type: &'a str,
    pub opening_type: &'a str,
    pub grade: &'a str,
    pub legal_basis: &'a str,
    pub fields: JsonText,
    pub at: DateTime<Utc>,
}

/// Stores a catalogue entry; a code already used is a conflict.
pub async fn insert_resource(conn: &mut Conn, new: &NewResource<'_>) -> Result<i64> {
    Ok(sql::query(
        "INSERT INTO data_resources (code, name, description, owner_dept_id, source, api_url, \
         update_cycle, format, sharing_type, opening_type, grade, legal_basis, fields, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.code)
    .bind(new.name)
    .bind(new.description)
    .bind(new.owner_dept_id)
    .bind(new.source)
    .bind(new.api_url)
    .bind(new.update_cycle)
    .bind(new.format)
    .bind(new.sharing_type)
    .bind(new.opening_type)
    .bind(new.grade)
    .bind(new.legal_basis)
    .bind(new.fields.clone())
    .bind(new.at)
    .bind(new.at)
    .scalar(conn)
    .await?)
}

/// Which catalogue entries a listing shows. Unset parts do not filter.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// Matched against code, name and description.
    pub q: Option<String>,
    pub owner_dept_id: Option<i64>,
    /// Only the platform's own resources (no owner department).
    pub platform_only: bool,
    pub sharing_type: Option<String>,
    pub opening_type: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// Lists catalogue entries by code, and how many match in all.
pub async fn list_resources(
    conn: &mut Conn,
    filter: &ResourceFilter,
) -> Result<(Vec<ResourceRow>, i64)> {
    let mut rows = Builder::new(format!(
        "SELECT {RESOURCE_COLUMNS} FROM {RESOURCE_FROM} WHERE 1 = 1"
    ));
    let mut count = Builder::new(format!("SELECT COUNT(*) FROM {RESOURCE_FROM} WHERE 1 = 1"));
    for query in [&mut rows, &mut count] {
        if let Some(q) = &filter.q {
            let like = format!("%{q}%");
            query.push(" AND (r.code LIKE ");
            query.push_bind(like.clone());
            query.push(" OR r.name LIKE ");
            query.push_bind(like.clone());
            query.push(" OR r.description LIKE ");
            query.push_bind(like);
            query.push(")");
        }
        if let Some(dept) = filter.owner_dept_id {
            query.push(" AND r.owner_dept_id = ");
            query.push_bind(dept);
        }
        if filter.platform_only {
            query.push(" AND r.owner_dept_id IS NULL");
        }
        if let Some(t) = &filter.sharing_type {
            query.push(" AND r.sharing_type = ");
            query.push_bind(t.clone());
        }
        if let Some(t) = &filter.opening_type {
            query.push(" AND r.opening_type = ");
            query.push_bind(t.clone());
        }
    }
    rows.push(" ORDER BY r.code LIMIT ");
    rows.push_bind(filter.limit);
    rows.push(" OFFSET ");
    rows.push_bind(filter.offset);
    let total: i64 = count.build().scalar(&mut *conn).await?;
    Ok((rows.build().fetch_all(conn).await?, total))
}

/// Returns one catalogue entry by code.
pub async fn get_resource_by_code(conn: &mut Conn, code: &str) -> Result<ResourceRow> {
    sql::query(format!(
        "SELECT {RESOURCE_COLUMNS} FROM {RESOURCE_FROM} WHERE r.code = ?"
    ))
    .bind(code)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("data resource"))
}

/// Returns one catalogue entry by id.
pub async fn get_resource(conn: &mut Conn, id: i64) -> Result<ResourceRow> {
    sql::query(format!(
        "SELECT {RESOURCE_COLUMNS} FROM {RESOURCE_FROM} WHERE r.id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("data resource"))
}

/// Appends uploaded rows (JSON objects) after `first_seq`.
pub async fn insert_rows(
    conn: &mut Conn,
    resource_id: i64,
    first_seq: i64,
    rows: &[String],
) -> Result<()> {
    for (chunk_index, chunk) in rows.chunks(200).enumerate() {
        let mut query = Builder::new("INSERT INTO data_resource_rows (resource_id, seq, data) ");
        let base = first_seq + (chunk_index * 200) as i64;
        query.push_values(chunk.iter().enumerate(), |mut row, (i, data)| {
            row.push_bind(resource_id);
            row.push_bind(base + i as i64);
            row.push_bind(JsonText(data.clone()));
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// A page of an uploaded resource's rows, in upload order.
pub async fn uploaded_rows(
    conn: &mut Conn,
    resource_id: i64,
    limit: i64,
    offset: i64,
) -> Result<Vec<JsonText>> {
    Ok(sql::query(
        "SELECT data FROM data_resource_rows WHERE resource_id = ? ORDER BY seq LIMIT ? OFFSET ?",
    )
    .bind(resource_id)
    .bind(limit)
    .bind(offset)
    .scalars(conn)
    .await?)
}

/// A sharing request with the names a reader needs.
#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub resource_id: i64,
    pub resource_code: String,
    pub resource_name: String,
    pub owner_dept_id: Option<i64>,
    pub requester_dept_id: i64,
    pub requester_dept_name: String,
    pub requester_user_id: i64,
    pub purpose: String,
    pub fields: JsonText,
    pub area_id: Option<i64>,
    pub period_days: i64,
    pub state: String,
    pub granted_fields: Option<JsonText>,
    pub decision_note: String,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub due_at: DateTime<Utc>,
    pub remind_at: DateTime<Utc>,
    pub reminded_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const REQUEST_SELECT: &str = "SELECT q.id, q.resource_id, r.code AS resource_code, \
    r.name AS resource_name, r.owner_dept_id, q.requester_dept_id, d.name AS requester_dept_name, \
    q.requester_user_id, q.purpose, q.fields, q.area_id, q.period_days, q.state, q.granted_fields, \
    q.decision_note, q.decided_by, q.decided_at, q.due_at, q.remind_at, q.reminded_at, \
    q.escalated_at, q.created_at \
    FROM sharing_requests q JOIN data_resources r ON r.id = q.resource_id \
    JOIN departments d ON d.id = q.requester_dept_id";

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub resource_id: i64,
    pub requester_dept_id: i64,
    pub requester_user_id: i64,
    pub purpose: &'a str,
    pub fields: JsonText,
    pub area_id: Option<i64>,
    pub period_days: i64,
    pub state: &'a str,
    pub due_at: DateTime<Utc>,
    pub remind_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Stores a request.
pub async fn insert_request(conn: &mut Conn, new: &NewRequest<'_>) -> Result<i64> {
    Ok(sql::query(
        "INSERT INTO sharing_requests (resource_id, requester_dept_id, requester_user_id, purpose, \
         fields, area_id, period_days, state, due_at, remind_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.resource_id)
    .bind(new.requester_dept_id)
    .bind(new.requester_user_id)
    .bind(new.purpose)
    .bind(new.fields.clone())
    .bind(new.area_id)
    .bind(new.period_days)
    .bind(new.state)
    .bind(new.due_at)
    .bind(new.remind_at)
    .bind(new.created_at)
    .scalar(conn)
    .await?)
}

/// Returns one request.
pub async fn get_request(conn: &mut Conn, id: i64) -> Result<RequestRow> {
    sql::query(format!("{REQUEST_SELECT} WHERE q.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("sharing request"))
}

/// Which requests a listing shows: those a department asked for, those addressed to an owner
/// (`Some(None)`: the platform's own resources), or all.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub requester_dept_id: Option<i64>,
    pub owner: Option<Option<i64>>,
    pub state: Option<String>,
    pub limit: i64,
}

/// Lists requests, newest first.
pub async fn list_requests(conn: &mut Conn, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
    let mut query = Builder::new(format!("{REQUEST_SELECT} WHERE 1 = 1"));
    if let Some(dept) = filter.requester_dept_id {
        query.push(" AND q.requester_dept_id = ");
        query.push_bind(dept);
    }
    match filter.owner {
        Some(Some(dept)) => {
            query.push(" AND r.owner_dept_id = ");
            query.push_bind(dept);
        }
        Some(None) => {
            query.push(" AND r.owner_dept_id IS NULL");
        }
        None => {}
    }
    if let Some(state) = &filter.state {
        query.push(" AND q.state = ");
        query.push_bind(state.clone());
    }
    query.push(" ORDER BY q.id DESC LIMIT ");
    query.push_bind(filter.limit);
    Ok(query.build().fetch_all(conn).await?)
}

/// Records the owner's answer to a pending request; false when it was answered already.
pub async fn decide_request(
    conn: &mut Conn,
    id: i64,
    state: &str,
    granted_fields: Option<JsonText>,
    note: &str,
    decided_by: Option<i64>,
    at: DateTime<Utc>,
) -> Result<bool> {
    let n = sql::query(
        "UPDATE sharing_requests SET state = ?, granted_fields = ?, decision_note = ?, \
         decided_by = ?, decided_at = ? WHERE id = ? AND state = 'pending'",
    )
    .bind(state)
    .bind(granted_fields)
    .bind(note)
    .bind(decided_by)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// Pending requests whose reminder time has come and that were not reminded yet.
pub async fn requests_to_remind(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<RequestRow>> {
    Ok(sql::query(format!(
        "{REQUEST_SELECT} WHERE q.state = 'pending' AND q.reminded_at IS NULL AND q.remind_at <= ? \
         ORDER BY q.id LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Pending requests past their answer deadline and not escalated yet.
pub async fn requests_to_escalate(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<RequestRow>> {
    Ok(sql::query(format!(
        "{REQUEST_SELECT} WHERE q.state = 'pending' AND q.escalated_at IS NULL AND q.due_at <= ? \
         ORDER BY q.id LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Marks a request reminded, or escalated (which also counts as reminded).
pub async fn mark_request(
    conn: &mut Conn,
    id: i64,
    escalated: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    if escalated {
        sql::query(
            "UPDATE sharing_requests SET escalated_at = ?, reminded_at = COALESCE(reminded_at, ?) WHERE id = ?",
        )
        .bind(at)
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    } else {
        sql::query("UPDATE sharing_requests SET reminded_at = ? WHERE id = ?")
            .bind(at)
            .bind(id)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// A grant behind a consumer key.
#[derive(Debug, Clone, FromRow)]
pub struct GrantRow {
    pub id: i64,
    pub request_id: Option<i64>,
    pub resource_id: i64,
    pub consumer_dept_id: i64,
    pub consumer_dept_name: String,
    pub fields: JsonText,
    pub clear_fields: JsonText,
    pub area_id: Option<i64>,
    pub area_path: Option<String>,
    pub purpose: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const GRANT_SELECT: &str = "SELECT g.id, g.request_id, g.resource_id, g.consumer_dept_id, \
    d.name AS consumer_dept_name, g.fields, g.clear_fields, g.area_id, a.path AS area_path, \
    g.purpose, g.expires_at, g.created_at, g.revoked_at \
    FROM sharing_grants g JOIN departments d ON d.id = g.consumer_dept_id \
    LEFT JOIN areas a ON a.id = g.area_id";

/// A grant to store.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    pub request_id: Option<i64>,
    pub resource_id: i64,
    pub consumer_dept_id: i64,
    pub fields: JsonText,
    pub clear_fields: JsonText,
    pub area_id: Option<i64>,
    pub purpose: &'a str,
    pub key_hash: &'a str,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Stores a grant.
pub async fn insert_grant(conn: &mut Conn, new: &NewGrant<'_>) -> Result<i64> {
    Ok(sql::query(
        "INSERT INTO sharing_grants (request_id, resource_id, consumer_dept_id, fields, \
         clear_fields, area_id, purpose, key_hash, expires_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.request_id)
    .bind(new.resource_id)
    .bind(new.consumer_dept_id)
    .bind(new.fields.clone())
    .bind(new.clear_fields.clone())
    .bind(new.area_id)
    .bind(new.purpose)
    .bind(new.key_hash)
    .bind(new.expires_at)
    .bind(new.created_at)
    .scalar(conn)
    .await?)
}

/// Returns the grant holding the key with this hash.
pub async fn find_grant_by_hash(conn: &mut Conn, key_hash: &str) -> Result<Option<GrantRow>> {
    Ok(sql::query(format!("{GRANT_SELECT} WHERE g.key_hash = ?"))
        .bind(key_hash)
        .fetch_optional(conn)
        .await?)
}

/// Returns one grant.
pub async fn get_grant(conn: &mut Conn, id: i64) -> Result<GrantRow> {
    sql::query(format!("{GRANT_SELECT} WHERE g.id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("grant"))
}

/// Marks a grant revoked at `at`; false when it was revoked already.
pub async fn revoke_grant(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<bool> {
    let n =
        sql::query("UPDATE sharing_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(conn)
            .await?;
    Ok(n == 1)
}

/// Grants on one resource, newest first.
pub async fn grants_of_resource(conn: &mut Conn, resource_id: i64) -> Result<Vec<GrantRow>> {
    Ok(sql::query(format!(
        "{GRANT_SELECT} WHERE g.resource_id = ? ORDER BY g.id DESC LIMIT 500"
    ))
    .bind(resource_id)
    .fetch_all(conn)
    .await?)
}

/// The materialised path of an area.
pub async fn area_path(conn: &mut Conn, area_id: i64) -> Result<String> {
    sql::query("SELECT path FROM areas WHERE id = ?")
        .bind(area_id)
        .scalar_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("area"))
}

/// [`access_records`] after its `SELECT`.
const ACCESS_RECORDS: &str = "seq, at, actor_id, actor_role, action, entity, entity_id, from_state, \
     to_state, detail, prev_hash, hash FROM audit_log \
     WHERE entity = 'data_resource' AND entity_id = ? AND action = 'data_access' \
     ORDER BY seq DESC LIMIT ?";

/// Access records (audit rows `data_access`) of one resource, newest first.
pub async fn access_records(
    conn: &mut Conn,
    resource_id: i64,
    limit: i64,
) -> Result<Vec<crate::audit::AuditRow>> {
    Ok(sql::query(format!("SELECT {ACCESS_RECORDS}"))
        .bind(resource_id)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{new_store, plan};

    /// A resource's access records are read through `audit_log_entity` (entity, entity_id, seq),
    /// newest first without a sort; no index by action is kept for them.
    #[tokio::test]
    async fn access_records_read_the_entity_index_in_order() {
        let (_dir, db) = new_store().await;
        let query = sql::query(format!("EXPLAIN QUERY PLAN SELECT {ACCESS_RECORDS}"))
            .bind(1_i64)
            .bind(10_i64);
        let steps = plan(&db, query).await;
        assert_eq!(
            steps,
            ["SEARCH audit_log USING INDEX audit_log_entity (entity=? AND entity_id=?)"],
            "no sort"
        );
        let by_action: i64 =
            sql::query("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'audit_log_entity_action'")
                .scalar(&mut db.read().await.expect("reader"))
                .await
                .expect("schema");
        assert_eq!(by_action, 0);
        db.close().await;
    }
}
