//! What 民情 insight reads from the cases: daily counts per category and area (surge warning) and the text of
//! recent cases (hot spots). Read-only; the analysis itself is `urbis_text::insight`.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result};

/// Cases opened on one city-local day in one category and area.
#[derive(Debug, Clone, FromRow)]
pub struct DailyCount {
    pub category_id: Option<i64>,
    pub area_path: String,
    pub day: String,
    pub n: i64,
}

/// Returns the daily counts of cases (voided ones included: a surge of reports is a surge even if some
/// are voided) opened at or after `from` under `area_path`.
pub async fn daily_counts(
    conn: &mut Conn,
    area_path: &str,
    from: DateTime<Utc>,
) -> Result<Vec<DailyCount>> {
    sql::query(
        "SELECT category_id, area_path, stats_day AS day, COUNT(*) AS n FROM cases
         WHERE created_at >= ? AND area_path >= ? AND area_path < ?
         GROUP BY category_id, area_path, stats_day",
    )
    .bind(from)
    .bind(area_path)
    .bind(format!("{area_path}\u{10ffff}"))
    .fetch_all(conn)
    .await
}

/// A recent case's text for topic finding.
#[derive(Debug, Clone, FromRow)]
pub struct CaseText {
    pub id: i64,
    pub title: String,
    pub text: String,
    /// Account and phone of the reporter, joined (blank when anonymous).
    pub reporter: String,
    pub reporter_count: i64,
    /// Rated by the resident, and rated dissatisfied.
    pub rated: bool,
    pub dissatisfied: bool,
    pub created_at: DateTime<Utc>,
}

/// Returns the newest cases opened at or after `from` under `area_path`, at most `limit`, newest first.
pub async fn recent_texts(
    conn: &mut Conn,
    area_path: &str,
    from: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<CaseText>> {
    sql::query(
        "SELECT id, title, text,
                COALESCE(CAST(reporter_user_id AS TEXT), '') || '/' || reporter_phone AS reporter,
                reporter_count,
                CASE WHEN rated_at IS NULL THEN FALSE ELSE TRUE END AS rated,
                CASE WHEN satisfaction = 'dissatisfied' THEN TRUE ELSE FALSE END AS dissatisfied,
                created_at
         FROM cases WHERE created_at >= ? AND area_path >= ? AND area_path < ?
         ORDER BY created_at DESC, id DESC LIMIT ?",
    )
    .bind(from)
    .bind(area_path)
    .bind(format!("{area_path}\u{10ffff}"))
    .bind(limit)
    .fetch_all(conn)
    .await
}
