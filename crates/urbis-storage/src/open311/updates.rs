//! mySociety's servicerequestupdates: the clients' comments, and the public trail by time.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::{self, Builder};

use crate::{Conn, Result};

/// A client's comment or status report to store.
#[derive(Debug, Clone)]
pub struct NewUpdate<'a> {
    pub case_id: i64,
    pub request_number: &'a str,
    pub client_id: i64,
    pub external_id: &'a str,
    pub client_status: &'a str,
    pub public_status: &'a str,
    pub description: &'a str,
    pub media_urls: &'a str,
    pub created_at: DateTime<Utc>,
}

/// Stores a client's update and returns its id.
pub async fn insert_update(conn: &mut Conn, new: &NewUpdate<'_>) -> Result<i64> {
    let (id,): (i64,) = sql::query(
        "INSERT INTO open311_updates (case_id, request_number, client_id, external_id, client_status,
            public_status, description, media_urls, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(new.case_id)
    .bind(new.request_number)
    .bind(new.client_id)
    .bind(new.external_id)
    .bind(new.client_status)
    .bind(new.public_status)
    .bind(new.description)
    .bind(new.media_urls)
    .bind(new.created_at)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Returns the id of the update this client already sent under its own id.
pub async fn find_update(
    conn: &mut Conn,
    client_id: i64,
    external_id: &str,
) -> Result<Option<i64>> {
    Ok(sql::query(
        "SELECT id FROM open311_updates WHERE client_id = ? AND external_id = ? AND external_id != ''",
    )
    .bind(client_id)
    .bind(external_id)
    .scalar_optional(conn)
    .await?)
}

/// One item of the public trail: `kind` is `state` (a case's state change: `key` is the audit
/// seq), `merge` (a request attached to a case: `key` is the request row) or `comment` (a
/// client's update: `key` is its id).
#[derive(Debug, Clone, FromRow)]
pub struct TrailItemRow {
    pub kind: String,
    pub key: i64,
    pub case_id: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    pub to_state: String,
    pub detail: String,
    /// The request a merge or comment belongs to; the case's number for state changes.
    pub number: String,
    pub case_number: String,
    pub public_status: String,
    pub description: String,
    pub media_urls: String,
}

/// Returns the public trail from `from` (inclusive) to `to` (exclusive), oldest first.
pub async fn trail_between(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
    offset: i64,
) -> Result<Vec<TrailItemRow>> {
    let mut query: Builder = Builder::new(
        "SELECT * FROM (SELECT 'state' AS kind, a.seq AS key, a.entity_id AS case_id, a.at AS at, \
         a.action AS action, a.to_state AS to_state, a.detail AS detail, c.number AS number, \
         c.number AS case_number, '' AS public_status, '' AS description, '' AS media_urls \
         FROM audit_log a JOIN cases c ON c.id = a.entity_id \
         WHERE a.entity = 'case' AND a.from_state != a.to_state AND a.action != 'rate' AND a.at >= ",
    );
    query.push_bind(from).push(" AND a.at < ").push_bind(to);
    query.push(
        " UNION ALL SELECT 'merge', r.id, r.case_id, r.created_at, '', '', '', r.number, c.number, \
         '', '', '' FROM open311_requests r JOIN cases c ON c.id = r.case_id \
         WHERE r.merged = TRUE AND r.created_at >= ",
    );
    query
        .push_bind(from)
        .push(" AND r.created_at < ")
        .push_bind(to);
    query.push(
        " UNION ALL SELECT 'comment', u.id, u.case_id, u.created_at, '', '', '', u.request_number, \
         c.number, u.public_status, u.description, u.media_urls FROM open311_updates u \
         JOIN cases c ON c.id = u.case_id WHERE u.created_at >= ",
    );
    query
        .push_bind(from)
        .push(" AND u.created_at < ")
        .push_bind(to);
    query
        .push(") AS trail ORDER BY at, kind, key LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    Ok(query.build().fetch_all(conn).await?)
}

/// Returns (request row id, case id, number, created_at) of requests attached to these cases.
pub async fn merged_requests_of(
    conn: &mut Conn,
    case_ids: &[i64],
) -> Result<Vec<(i64, i64, String, DateTime<Utc>)>> {
    let mut rows = Vec::new();
    for chunk in case_ids.chunks(500) {
        let mut query: Builder = Builder::new(
            "SELECT id, case_id, number, created_at FROM open311_requests WHERE merged = TRUE",
        );
        super::push_in(&mut query, "case_id", chunk);
        query.push(" ORDER BY id");
        rows.extend(query.build().fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// Returns the clients' comments on these requests, oldest first.
pub async fn comments_of(conn: &mut Conn, numbers: &[String]) -> Result<Vec<TrailItemRow>> {
    let mut rows = Vec::new();
    for chunk in numbers.chunks(500) {
        let mut query: Builder = Builder::new(
            "SELECT 'comment' AS kind, u.id AS key, u.case_id AS case_id, u.created_at AS at, '' AS action, \
             '' AS to_state, '' AS detail, u.request_number AS number, c.number AS case_number, \
             u.public_status AS public_status, u.description AS description, u.media_urls AS media_urls \
             FROM open311_updates u JOIN cases c ON c.id = u.case_id WHERE 1 = 1",
        );
        super::push_in(&mut query, "u.request_number", chunk);
        query.push(" ORDER BY u.id");
        rows.extend(query.build().fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}
