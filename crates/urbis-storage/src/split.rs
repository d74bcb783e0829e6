//! Splitting a wrongly merged repeat off its case: the appeal row moves to a new case and the
//! original case counts one reporter less. The new case itself is written by
//! [`crate::intake::insert_cases`].

use chrono::{DateTime, Utc};

use crate::Result;
use crate::cases::AppealRow;
use crate::db::Conn;
use crate::sql;

/// Reads one appeal by id.
pub async fn get_appeal(conn: &mut Conn, appeal_id: i64) -> Result<Option<AppealRow>> {
    sql::query(
        "SELECT id, case_id, channel, title, text, reporter_user_id, reporter_name, reporter_phone, created_at
         FROM appeals WHERE id = ?",
    )
    .bind(appeal_id)
    .fetch_optional(conn)
    .await
}

/// The id of the case's first appeal (the one that opened it), if it has any.
pub async fn first_appeal_id(conn: &mut Conn, case_id: i64) -> Result<Option<i64>> {
    let id: i64 = sql::query("SELECT COALESCE(MIN(id), 0) FROM appeals WHERE case_id = ?")
        .bind(case_id)
        .scalar(conn)
        .await?;
    Ok((id > 0).then_some(id))
}

/// How many appeals of this resident the case still holds.
pub async fn reporter_appeals(conn: &mut Conn, case_id: i64, user_id: i64) -> Result<i64> {
    sql::query("SELECT COUNT(*) FROM appeals WHERE case_id = ? AND reporter_user_id = ?")
        .bind(case_id)
        .bind(user_id)
        .scalar(conn)
        .await
}

/// Moves an appeal to another case.
pub async fn move_appeal(conn: &mut Conn, appeal_id: i64, case_id: i64) -> Result<()> {
    sql::query("UPDATE appeals SET case_id = ? WHERE id = ?")
        .bind(case_id)
        .bind(appeal_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The original case after a split: one reporter less, the residents it follows up and the
/// anonymous repeats it counts.
#[derive(Debug, Clone)]
pub struct SplitUpdate<'a> {
    pub case_id: i64,
    pub co_reporters: &'a str,
    pub anonymous_repeats: i64,
    pub at: DateTime<Utc>,
}

/// Applies [`SplitUpdate`] (the reporter count never drops below one).
pub async fn record_split(conn: &mut Conn, update: &SplitUpdate<'_>) -> Result<()> {
    sql::query(
        "UPDATE cases SET reporter_count = CASE WHEN reporter_count > 1 THEN reporter_count - 1 ELSE 1 END,
            co_reporters = ?, anonymous_repeats = ?, updated_at = ?, version = version + 1 WHERE id = ?",
    )
    .bind(update.co_reporters)
    .bind(update.anonymous_repeats)
    .bind(update.at)
    .bind(update.case_id)
    .execute(conn)
    .await
    .map(|_| ())
}
