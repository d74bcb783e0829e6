//! Resident accounts by phone (migration `0017_residents.sql`): verified phones, chosen channels
//! and one-time codes (stored only as hashes).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result};

/// A resident's verified phone and opt-out flag.
#[derive(Debug, Clone, FromRow)]
pub struct ProfileRow {
    pub user_id: i64,
    pub phone: String,
    pub opted_out: bool,
    pub updated_at: DateTime<Utc>,
}

/// One chosen channel and its address.
#[derive(Debug, Clone, FromRow)]
pub struct ChannelRow {
    pub user_id: i64,
    pub channel: String,
    pub address: String,
}

/// Returns the profile holding this phone, if any.
pub async fn profile_by_phone(conn: &mut Conn, phone: &str) -> Result<Option<ProfileRow>> {
    sql::query(
        "SELECT user_id, phone, opted_out, updated_at FROM resident_profiles WHERE phone = ?",
    )
    .bind(phone)
    .fetch_optional(conn)
    .await
}

/// Returns a user's profile, if they verified a phone.
pub async fn profile(conn: &mut Conn, user_id: i64) -> Result<Option<ProfileRow>> {
    sql::query(
        "SELECT user_id, phone, opted_out, updated_at FROM resident_profiles WHERE user_id = ?",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Inserts a profile (a unique phone: a second account for it is a conflict).
pub async fn insert_profile(
    conn: &mut Conn,
    user_id: i64,
    phone: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::query(
        "INSERT INTO resident_profiles (user_id, phone, opted_out, updated_at) VALUES (?, ?, FALSE, ?)",
    )
    .bind(user_id)
    .bind(phone)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the opt-out flag.
pub async fn set_opted_out(
    conn: &mut Conn,
    user_id: i64,
    opted_out: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::query("UPDATE resident_profiles SET opted_out = ?, updated_at = ? WHERE user_id = ?")
        .bind(opted_out)
        .bind(at)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Returns a user's channels.
pub async fn channels(conn: &mut Conn, user_id: i64) -> Result<Vec<ChannelRow>> {
    sql::query(
        "SELECT user_id, channel, address FROM resident_channels WHERE user_id = ? ORDER BY channel",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Replaces a user's channels.
pub async fn set_channels(
    conn: &mut Conn,
    user_id: i64,
    channels: &[(String, String)],
) -> Result<()> {
    sql::query("DELETE FROM resident_channels WHERE user_id = ?")
        .bind(user_id)
        .execute(conn)
        .await?;
    for (channel, address) in channels {
        sql::query("INSERT INTO resident_channels (user_id, channel, address) VALUES (?, ?, ?)")
            .bind(user_id)
            .bind(channel)
            .bind(address)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// A stored one-time code.
#[derive(Debug, Clone, FromRow)]
pub struct CodeRow {
    pub id: i64,
    pub code_hash: String,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// Counts codes issued since `since` for a phone hash and for a client hash.
pub async fn codes_since(
    conn: &mut Conn,
    phone_hash: &str,
    client_hash: &str,
    since: DateTime<Utc>,
) -> Result<(i64, i64)> {
    let by_phone: i64 =
        sql::query("SELECT COUNT(*) FROM otp_codes WHERE phone_hash = ? AND created_at > ?")
            .bind(phone_hash)
            .bind(since)
            .scalar(conn)
            .await?;
    let by_client: i64 =
        sql::query("SELECT COUNT(*) FROM otp_codes WHERE client_hash = ? AND created_at > ?")
            .bind(client_hash)
            .bind(since)
            .scalar(conn)
            .await?;
    Ok((by_phone, by_client))
}

/// Stores a new code.
pub async fn insert_code(
    conn: &mut Conn,
    phone_hash: &str,
    client_hash: &str,
    code_hash: &str,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<i64> {
    sql::query(
        "INSERT INTO otp_codes (phone_hash, client_hash, code_hash, attempts, created_at, expires_at)
         VALUES (?, ?, ?, 0, ?, ?) RETURNING id",
    )
    .bind(phone_hash)
    .bind(client_hash)
    .bind(code_hash)
    .bind(at)
    .bind(expires_at)
    .scalar(conn)
    .await
}

/// Returns the newest unused code of a phone.
pub async fn latest_code(conn: &mut Conn, phone_hash: &str) -> Result<Option<CodeRow>> {
    sql::query(
        "SELECT id, code_hash, attempts, created_at, expires_at, used_at FROM otp_codes
         WHERE phone_hash = ? AND used_at IS NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(phone_hash)
    .fetch_optional(conn)
    .await
}

/// Counts a wrong attempt.
pub async fn add_attempt(conn: &mut Conn, id: i64) -> Result<()> {
    sql::query("UPDATE otp_codes SET attempts = attempts + 1 WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Uses a code up; returns false when it was already used.
pub async fn use_code(conn: &mut Conn, id: i64, at: DateTime<Utc>) -> Result<bool> {
    let n = sql::query("UPDATE otp_codes SET used_at = ? WHERE id = ? AND used_at IS NULL")
        .bind(at)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(n > 0)
}

/// Deletes codes that expired before `before` (they only serve the rate limit until then).
pub async fn purge_codes(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64> {
    sql::query("DELETE FROM otp_codes WHERE expires_at < ?")
        .bind(before)
        .execute(conn)
        .await
}

/// A recent report as the public map shows it: the area (a unit grid's centre), never the
/// reported point; title only (masked above this layer); no reporter column.
#[derive(Debug, Clone, FromRow)]
pub struct PublicReportRow {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub text: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub area_id: Option<i64>,
    pub area_name: Option<String>,
    pub center_lat: Option<f64>,
    pub center_lon: Option<f64>,
    pub category_name: Option<String>,
}

/// Lists reports since `since` under an area path (or everywhere), newest first; voided cases
/// never, closed ones only when `open_only` is false.
pub async fn public_reports(
    conn: &mut Conn,
    path_prefix: Option<&str>,
    since: DateTime<Utc>,
    open_only: bool,
    limit: i64,
) -> Result<Vec<PublicReportRow>> {
    let pattern = path_prefix.map(|p| format!("{p}%"));
    sql::query(
        "SELECT c.id, c.number, c.title, c.text, c.state, c.created_at, c.area_id, a.name AS area_name,
             a.center_lat, a.center_lon, k.name AS category_name
         FROM cases c LEFT JOIN areas a ON a.id = c.area_id
             LEFT JOIN categories k ON k.id = c.category_id
         WHERE c.created_at >= ? AND c.state <> 'voided'
           AND (? = FALSE OR c.state NOT IN ('closed', 'evaluated'))
           AND (? IS NULL OR c.area_path LIKE ?)
         ORDER BY c.id DESC LIMIT ?",
    )
    .bind(since)
    .bind(open_only)
    .bind(pattern.clone())
    .bind(pattern)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Records the appeal types cases were filed with, `(case id, type)`, a multi-row statement per block.
pub async fn set_appeal_types(conn: &mut Conn, types: &[(i64, &str)]) -> Result<()> {
    for chunk in types.chunks(500) {
        let mut query = sql::Builder::new("INSERT INTO case_appeal_types (case_id, appeal_type) ");
        query.push_values(chunk, |mut row, (case_id, appeal_type)| {
            row.push_bind(*case_id).push_bind(*appeal_type);
        });
        query.push(" ON CONFLICT (case_id) DO NOTHING");
        query.build().execute(conn).await?;
    }
    Ok(())
}

/// Counts cases reported since `since` per appeal type (cases filed without one are left out).
pub async fn count_case_types(conn: &mut Conn, since: DateTime<Utc>) -> Result<Vec<(String, i64)>> {
    sql::query(
        "SELECT t.appeal_type, CAST(COUNT(*) AS BIGINT) FROM case_appeal_types t
         JOIN cases c ON c.id = t.case_id WHERE c.created_at >= ?
         GROUP BY t.appeal_type ORDER BY t.appeal_type",
    )
    .bind(since)
    .fetch_all(conn)
    .await
}
