//! Open311 requests: the row each POST leaves, and the public view of cases and requests.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::{self, Builder};

use super::push_in;
use crate::{Conn, Result};

/// A request a client filed.
#[derive(Debug, Clone, FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub number: String,
    pub case_id: i64,
    pub appeal_id: i64,
    pub client_id: i64,
    pub merged: bool,
    pub media_urls: String,
    pub created_at: DateTime<Utc>,
}

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub number: &'a str,
    pub case_id: i64,
    pub appeal_id: i64,
    pub client_id: i64,
    pub merged: bool,
    pub media_urls: &'a str,
    pub created_at: DateTime<Utc>,
}

/// Stores a request; its number must be new.
pub async fn insert_request(conn: &mut Conn, new: &NewRequest<'_>) -> Result<i64> {
    let (id,): (i64,) = sql::query(
        "INSERT INTO open311_requests (number, case_id, appeal_id, client_id, merged, media_urls, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.number)
    .bind(new.case_id)
    .bind(new.appeal_id)
    .bind(new.client_id)
    .bind(new.merged)
    .bind(new.media_urls)
    .bind(new.created_at)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Returns the request with this number, if a client filed it.
pub async fn find_request(conn: &mut Conn, number: &str) -> Result<Option<RequestRow>> {
    Ok(sql::query(
        "SELECT id, number, case_id, appeal_id, client_id, merged, media_urls, created_at
         FROM open311_requests WHERE number = ?",
    )
    .bind(number)
    .fetch_optional(conn)
    .await?)
}

/// Returns the appeal (id, case id) stored under this idempotency key.
pub async fn find_appeal_by_key(conn: &mut Conn, key: &str) -> Result<Option<(i64, i64)>> {
    Ok(
        sql::query("SELECT id, case_id FROM appeals WHERE idempotency_key = ?")
            .bind(key)
            .fetch_optional(conn)
            .await?,
    )
}

/// Returns (id, state, number) of the case with this number.
pub async fn find_case_by_number(
    conn: &mut Conn,
    number: &str,
) -> Result<Option<(i64, String, String)>> {
    Ok(
        sql::query("SELECT id, state, number FROM cases WHERE number = ?")
            .bind(number)
            .fetch_optional(conn)
            .await?,
    )
}

/// The public columns of a request: a case (under its own number) or a request attached to a
/// case, with the case's progress. No reporter column is selected.
#[derive(Debug, Clone, FromRow)]
pub struct PublicRequestRow {
    pub number: String,
    pub case_id: i64,
    pub case_number: String,
    pub merged: bool,
    pub text: String,
    /// The case's address as reported: never shown, only taken out of the description.
    pub address: String,
    pub requested_at: DateTime<Utc>,
    pub media_urls: String,
    pub state: String,
    pub closure_type: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub category_id: Option<i64>,
    pub lead_dept_name: Option<String>,
    pub area_id: i64,
    pub area_code: String,
    pub area_level: String,
    pub area_path: String,
    pub center_lat: Option<f64>,
    pub center_lon: Option<f64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub channel: String,
}

const CASE_BRANCH: &str = "SELECT c.number AS number, c.id AS case_id, c.number AS case_number, \
    FALSE AS merged, c.text AS text, c.address AS address, c.created_at AS requested_at, COALESCE(r.media_urls, '') AS media_urls, \
    c.state AS state, c.closure_type AS closure_type, c.due_at AS due_at, c.category_id AS category_id, \
    d.name AS lead_dept_name, c.area_id AS area_id, ar.code AS area_code, ar.level AS area_level, \
    ar.path AS area_path, ar.center_lat AS center_lat, ar.center_lon AS center_lon, c.lat AS lat, \
    c.lon AS lon, c.channel AS channel \
    FROM cases c JOIN areas ar ON ar.id = c.area_id \
    LEFT JOIN open311_requests r ON r.number = c.number \
    LEFT JOIN departments d ON d.id = c.lead_dept_id WHERE c.state != 'voided'";

const MERGED_BRANCH: &str = "SELECT r.number, c.id, c.number, TRUE, a.text, c.address, r.created_at, r.media_urls, \
    c.state, c.closure_type, c.due_at, c.category_id, d.name, c.area_id, ar.code, ar.level, ar.path, \
    ar.center_lat, ar.center_lon, c.lat, c.lon, a.channel \
    FROM open311_requests r JOIN cases c ON c.id = r.case_id JOIN appeals a ON a.id = r.appeal_id \
    JOIN areas ar ON ar.id = c.area_id LEFT JOIN departments d ON d.id = c.lead_dept_id \
    WHERE r.merged = TRUE AND c.state != 'voided'";

/// Which requests a query asks for. Empty lists do not filter.
#[derive(Debug, Clone, Default)]
pub struct PublicRequestFilter {
    /// Request numbers; when given, the service ignores every other filter.
    pub numbers: Vec<String>,
    /// When set, only cases of these categories (and, with `uncategorized`, cases without one).
    pub categories: Option<(Vec<i64>, bool)>,
    pub states: Vec<String>,
    pub requested_from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub requested_to: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

fn push_filters(query: &mut Builder, filter: &PublicRequestFilter, number: &str, requested: &str) {
    push_in(query, number, &filter.numbers);
    if let Some((ids, uncategorized)) = &filter.categories {
        query.push(" AND (c.category_id IN (");
        let mut separated = query.separated(", ");
        // An empty IN list is not valid SQL everywhere; no category has id 0.
        separated.push_bind(0_i64);
        for id in ids {
            separated.push_bind(*id);
        }
        separated.push_unseparated(")");
        if *uncategorized {
            query.push(" OR c.category_id IS NULL");
        }
        query.push(")");
    }
    push_in(query, "c.state", &filter.states);
    if let Some(from) = &filter.requested_from {
        query
            .push(&format!(" AND {requested} >= "))
            .push_bind(from.clone());
    }
    if let Some(to) = &filter.requested_to {
        query
            .push(&format!(" AND {requested} < "))
            .push_bind(to.clone());
    }
}

/// Returns the public rows of matching requests (voided cases never), newest first.
pub async fn list_public_requests(
    conn: &mut Conn,
    filter: &PublicRequestFilter,
) -> Result<Vec<PublicRequestRow>> {
    let mut query: Builder = Builder::new("SELECT * FROM (");
    query.push(CASE_BRANCH);
    push_filters(&mut query, filter, "c.number", "c.created_at");
    query.push(" UNION ALL ");
    query.push(MERGED_BRANCH);
    push_filters(&mut query, filter, "r.number", "r.created_at");
    query
        .push(") AS requests ORDER BY requested_at DESC, number DESC LIMIT ")
        .push_bind(filter.limit)
        .push(" OFFSET ")
        .push_bind(filter.offset);
    Ok(query.build().fetch_all(conn).await?)
}

/// One state change of a case from the audit trail.
#[derive(Debug, Clone, FromRow)]
pub struct TrailRow {
    pub seq: i64,
    pub case_id: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub detail: String,
}

/// Most values bound in one statement by the chunked look-ups below.
const CHUNK: usize = 500;

/// Returns the state changes of these cases (ratings left out), oldest first per case.
pub async fn state_changes(conn: &mut Conn, case_ids: &[i64]) -> Result<Vec<TrailRow>> {
    let mut rows = Vec::new();
    for chunk in case_ids.chunks(CHUNK) {
        let mut query: Builder = Builder::new(
            "SELECT seq, entity_id AS case_id, at, action, from_state, to_state, detail FROM audit_log \
             WHERE entity = 'case' AND from_state != to_state AND action != 'rate'",
        );
        push_in(&mut query, "entity_id", chunk);
        query.push(" ORDER BY seq");
        rows.extend(query.build().fetch_all(&mut *conn).await?);
    }
    rows.sort_by_key(|r: &TrailRow| r.seq);
    Ok(rows)
}

/// Returns (case id, attachment id) of these cases' photos, oldest first.
pub async fn attachments_of(conn: &mut Conn, case_ids: &[i64]) -> Result<Vec<(i64, i64)>> {
    let mut rows = Vec::new();
    for chunk in case_ids.chunks(CHUNK) {
        let mut query: Builder = Builder::new("SELECT case_id, id FROM attachments WHERE 1 = 1");
        push_in(&mut query, "case_id", chunk);
        query.push(" ORDER BY id");
        rows.extend(query.build().fetch_all::<(i64, i64)>(&mut *conn).await?);
    }
    Ok(rows)
}

/// Returns (case id, mime) of the attachment when its case is not voided.
pub async fn public_attachment(conn: &mut Conn, id: i64) -> Result<Option<(i64, String)>> {
    Ok(sql::query(
        "SELECT a.case_id, a.mime FROM attachments a JOIN cases c ON c.id = a.case_id
         WHERE a.id = ? AND c.state != 'voided'",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Returns (id, name, level) of these areas.
pub async fn area_names(conn: &mut Conn, ids: &[i64]) -> Result<Vec<(i64, String, String)>> {
    let mut rows = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut query: Builder = Builder::new("SELECT id, name, level FROM areas WHERE 1 = 1");
        push_in(&mut query, "id", chunk);
        rows.extend(
            query
                .build()
                .fetch_all::<(i64, String, String)>(&mut *conn)
                .await?,
        );
    }
    Ok(rows)
}

/// Returns when the taxonomy (and so the service list) last changed, from the audit trail.
pub async fn taxonomy_changed_at(conn: &mut Conn) -> Result<Option<DateTime<Utc>>> {
    Ok(sql::query(
        "SELECT MAX(at) FROM audit_log WHERE entity IN ('taxonomy', 'category')
         AND action IN ('taxonomy_imported', 'category_created', 'category_updated', 'category_deleted')",
    )
    .scalar(conn)
    .await?)
}
