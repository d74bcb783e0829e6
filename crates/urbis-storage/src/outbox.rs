//! The notification outbox (migration `0017_residents.sql`): messages to people written in the
//! transaction of their event, claimed by the delivery worker, and the delivery log and local sink.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result};

/// A message waiting for (or past) delivery.
#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub channel: String,
    pub address: String,
    pub kind: String,
    pub case_id: Option<i64>,
    pub body: String,
    pub dedup_key: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const OUTBOX_COLUMNS: &str = "id, user_id, channel, address, kind, case_id, body, dedup_key, state, \
     attempts, next_attempt_at, last_error, created_at, sent_at";

/// A message to one address.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub user_id: Option<i64>,
    pub channel: &'a str,
    pub address: &'a str,
    pub kind: &'a str,
    pub case_id: Option<i64>,
    pub body: &'a str,
    pub dedup_key: &'a str,
    pub at: DateTime<Utc>,
}

/// Enqueues one message; a key already enqueued is left alone. Returns whether a row was added.
pub async fn enqueue(conn: &mut Conn, message: &NewMessage<'_>) -> Result<bool> {
    let n = sql::query(
        "INSERT INTO outbox (user_id, channel, address, kind, case_id, body, dedup_key, state,
             attempts, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
         ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(message.user_id)
    .bind(message.channel)
    .bind(message.address)
    .bind(message.kind)
    .bind(message.case_id)
    .bind(message.body)
    .bind(message.dedup_key)
    .bind(message.at)
    .bind(message.at)
    .execute(conn)
    .await?;
    Ok(n > 0)
}

/// Enqueues a message to every channel a resident chose, unless they opted out; the dedup key is
/// `key` followed by `:` and the channel. Returns how many rows were added.
pub async fn enqueue_for_user(
    conn: &mut Conn,
    user_id: i64,
    kind: &str,
    case_id: Option<i64>,
    body: &str,
    key: &str,
    at: DateTime<Utc>,
) -> Result<u64> {
    sql::query(
        "INSERT INTO outbox (user_id, channel, address, kind, case_id, body, dedup_key, state,
             attempts, next_attempt_at, created_at)
         SELECT c.user_id, c.channel, c.address, ?, ?, ?, ? || ':' || c.channel, 'pending', 0, ?, ?
         FROM resident_channels c JOIN resident_profiles p ON p.user_id = c.user_id
         WHERE c.user_id = ? AND p.opted_out = FALSE
         ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(kind)
    .bind(case_id)
    .bind(body)
    .bind(key)
    .bind(at)
    .bind(at)
    .bind(user_id)
    .execute(conn)
    .await
}

/// One message about a case to a resident, for [`enqueue_many_for_users`].
#[derive(Debug, Clone)]
pub struct UserMessage<'a> {
    pub user_id: i64,
    pub case_id: i64,
    pub body: &'a str,
    /// Names the event uniquely; the channel is appended to it.
    pub key: &'a str,
    pub at: DateTime<Utc>,
}

/// Enqueues messages of one kind to many residents, each to every channel they chose unless they
/// opted out, in one statement per chunk (the intake writer's "received" messages of a group).
/// Returns how many rows were added.
pub async fn enqueue_many_for_users(
    conn: &mut Conn,
    kind: &str,
    messages: &[UserMessage<'_>],
) -> Result<u64> {
    let mut added = 0;
    for chunk in messages.chunks(500) {
        let mut query = sql::Builder::new(
            "INSERT INTO outbox (user_id, channel, address, kind, case_id, body, dedup_key, state,
                 attempts, next_attempt_at, created_at)
             SELECT c.user_id, c.channel, c.address, ",
        );
        query.push_bind(kind);
        query.push(
            ", v.column2, v.column3, v.column4 || ':' || c.channel, 'pending', 0, v.column5, v.column5 FROM (",
        );
        query.push_values(chunk, |mut row, m| {
            row.push_bind(m.user_id)
                .push_bind(m.case_id)
                .push_bind(m.body)
                .push_bind(m.key)
                .push_bind(m.at);
        });
        query.push(
            ") AS v JOIN resident_channels c ON c.user_id = v.column1
             JOIN resident_profiles p ON p.user_id = c.user_id
             WHERE p.opted_out = FALSE
             ON CONFLICT (dedup_key) DO NOTHING",
        );
        added += query.build().execute(conn).await?;
    }
    Ok(added)
}

/// Claims up to `limit` pending messages due at `now`: each gets its attempt counted and its next
/// attempt moved to `lease_until`, so another worker skips it while this one delivers.
pub async fn claim_due(
    conn: &mut Conn,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<OutboxRow>> {
    let ids: Vec<i64> = sql::query(
        "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
    )
    .bind(now)
    .bind(limit)
    .scalars(conn)
    .await?;
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let row: Option<OutboxRow> = sql::query(format!(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?
             WHERE id = ? AND state = 'pending' AND next_attempt_at <= ? RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(lease_until)
        .bind(id)
        .bind(now)
        .fetch_optional(conn)
        .await?;
        rows.extend(row);
    }
    Ok(rows)
}

/// Marks a message delivered; an `otp` message loses its body (the code) once sent. Returns
/// whether the row was still pending (a second delivery of the same message changes nothing).
pub async fn mark_sent(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<bool> {
    let n = sql::query(
        "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL,
             body = CASE WHEN kind = 'otp' THEN '[sent]' ELSE body END
         WHERE id = ? AND state = 'pending'",
    )
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(n > 0)
}

/// Records a failed attempt: the next one at `next_at`, or the message given up (`failed`).
pub async fn mark_failed(
    conn: &mut Conn,
    id: i64,
    error: &str,
    next_at: Option<DateTime<Utc>>,
) -> Result<()> {
    match next_at {
        Some(next) => {
            sql::query(
                "UPDATE outbox SET last_error = ?, next_attempt_at = ? WHERE id = ? AND state = 'pending'",
            )
            .bind(error)
            .bind(next)
            .bind(id)
            .execute(conn)
            .await?
        }
        None => {
            sql::query(
                "UPDATE outbox SET last_error = ?, state = 'failed' WHERE id = ? AND state = 'pending'",
            )
            .bind(error)
            .bind(id)
            .execute(conn)
            .await?
        }
    };
    Ok(())
}

/// Appends one attempt to the delivery log.
pub async fn log_attempt(
    conn: &mut Conn,
    outbox_id: i64,
    attempt: i64,
    adapter: &str,
    ok: bool,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::query(
        "INSERT INTO outbox_deliveries (outbox_id, attempt, adapter, ok, detail, at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(outbox_id)
    .bind(attempt)
    .bind(adapter)
    .bind(ok)
    .bind(detail)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a message in the local sink (at most once per outbox row).
pub async fn sink(conn: &mut Conn, row: &OutboxRow, at: DateTime<Utc>) -> Result<()> {
    sql::query(
        "INSERT INTO sink_messages (outbox_id, channel, address, kind, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (outbox_id) DO NOTHING",
    )
    .bind(row.id)
    .bind(&row.channel)
    .bind(&row.address)
    .bind(&row.kind)
    .bind(&row.body)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A message the sink received.
#[derive(Debug, Clone, FromRow)]
pub struct SinkRow {
    pub id: i64,
    pub outbox_id: i64,
    pub channel: String,
    pub address: String,
    pub kind: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Lists sink messages, newest first, optionally for one address.
pub async fn list_sink(conn: &mut Conn, address: Option<&str>, limit: i64) -> Result<Vec<SinkRow>> {
    sql::query(
        "SELECT id, outbox_id, channel, address, kind, body, created_at FROM sink_messages
         WHERE (? IS NULL OR address = ?) ORDER BY id DESC LIMIT ?",
    )
    .bind(address.map(str::to_owned))
    .bind(address.map(str::to_owned))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Lists outbox rows, newest first, optionally for one user.
pub async fn list(conn: &mut Conn, user_id: Option<i64>, limit: i64) -> Result<Vec<OutboxRow>> {
    sql::query(format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE (? IS NULL OR user_id = ?) ORDER BY id DESC LIMIT ?"
    ))
    .bind(user_id)
    .bind(user_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// One attempt in the delivery log.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub outbox_id: i64,
    pub attempt: i64,
    pub adapter: String,
    pub ok: bool,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// Lists the delivery log of one message.
pub async fn deliveries(conn: &mut Conn, outbox_id: i64) -> Result<Vec<DeliveryRow>> {
    sql::query(
        "SELECT id, outbox_id, attempt, adapter, ok, detail, at FROM outbox_deliveries
         WHERE outbox_id = ? ORDER BY id",
    )
    .bind(outbox_id)
    .fetch_all(conn)
    .await
}
