//! "Was it fixed?" answers (migration `0021_followups.sql` / postgres `0011_followups.sql`): one
//! per resident and case, counted for the "fixed confirmed" rate and shown on the public timeline.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result};

/// One resident's answer about one closed case.
#[derive(Debug, Clone, FromRow)]
pub struct FollowupRow {
    pub case_id: i64,
    pub user_id: i64,
    pub fixed: bool,
    pub reporter: bool,
    pub answered_at: DateTime<Utc>,
}

/// A closed case whose first reporter answered "not fixed", waiting for the shift lead.
#[derive(Debug, Clone, FromRow)]
pub struct FlaggedRow {
    pub case_id: i64,
    pub number: String,
    pub title: String,
    pub state: String,
    pub area_id: i64,
    pub answered_at: DateTime<Utc>,
}

/// Inserts an answer; a second answer of the same resident about the same case is a conflict.
pub async fn insert(conn: &mut Conn, row: &FollowupRow) -> Result<()> {
    sql::query(
        "INSERT INTO case_followups (case_id, user_id, fixed, reporter, answered_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(row.case_id)
    .bind(row.user_id)
    .bind(row.fixed)
    .bind(row.reporter)
    .bind(row.answered_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns the answers about a case, oldest first.
pub async fn for_case(conn: &mut Conn, case_id: i64) -> Result<Vec<FollowupRow>> {
    sql::query(
        "SELECT case_id, user_id, fixed, reporter, answered_at FROM case_followups
         WHERE case_id = ? ORDER BY answered_at, user_id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await
}

/// Returns a user's answers about the given cases.
pub async fn of_user(conn: &mut Conn, user_id: i64) -> Result<Vec<FollowupRow>> {
    sql::query(
        "SELECT case_id, user_id, fixed, reporter, answered_at FROM case_followups
         WHERE user_id = ? ORDER BY case_id",
    )
    .bind(user_id)
    .fetch_all(conn)
    .await
}

/// Counts answers given since `since` about cases under an area path (or everywhere):
/// `(fixed, not fixed)`.
pub async fn counts(
    conn: &mut Conn,
    since: DateTime<Utc>,
    path_prefix: Option<&str>,
) -> Result<(i64, i64)> {
    let pattern = path_prefix.map(|p| format!("{p}%"));
    let rows: Vec<(bool, i64)> = sql::query(
        "SELECT f.fixed, CAST(COUNT(*) AS BIGINT) FROM case_followups f
         JOIN cases c ON c.id = f.case_id
         WHERE f.answered_at >= ? AND (? IS NULL OR c.area_path LIKE ?)
         GROUP BY f.fixed",
    )
    .bind(since)
    .bind(pattern.clone())
    .bind(pattern)
    .fetch_all(conn)
    .await?;
    let count = |fixed: bool| -> i64 {
        rows.iter()
            .filter(|(f, _)| *f == fixed)
            .map(|(_, n)| *n)
            .sum()
    };
    Ok((count(true), count(false)))
}

/// Lists closed cases (under an area path) whose first reporter answered "not fixed", newest
/// answer first; a case the shift lead reopened is open again and leaves the list.
pub async fn flagged(
    conn: &mut Conn,
    path_prefix: Option<&str>,
    limit: i64,
) -> Result<Vec<FlaggedRow>> {
    let pattern = path_prefix.map(|p| format!("{p}%"));
    sql::query(
        "SELECT c.id AS case_id, c.number, c.title, c.state, c.area_id, f.answered_at
         FROM case_followups f JOIN cases c ON c.id = f.case_id
         WHERE f.reporter = TRUE AND f.fixed = FALSE AND c.state IN ('closed', 'evaluated')
           AND (? IS NULL OR c.area_path LIKE ?)
         ORDER BY f.answered_at DESC LIMIT ?",
    )
    .bind(pattern.clone())
    .bind(pattern)
    .bind(limit)
    .fetch_all(conn)
    .await
}
