//! What intake writes: a new case from an appeal, and a repeat report joining an open case.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::Result;
use crate::db::Conn;
use crate::sql::{self, Builder, JsonText};

/// Case ids for one write transaction, taken from the database a block at a time. PostgreSQL
/// takes them from the `cases` identity sequence (a block of `nextval`s; ids a rolled-back batch
/// took are skipped, as with any sequence); SQLite from the largest id inside the write
/// transaction, whose lock no other writer holds at the same time. The case number is made from
/// the id, so it is known before the row is written.
#[derive(Debug, Default)]
pub struct CaseIds {
    taken: std::collections::VecDeque<i64>,
    next_local: Option<i64>,
}

impl CaseIds {
    /// The next id; `expected` is how many this transaction may still need (a hint for the block).
    pub async fn next(&mut self, conn: &mut Conn, expected: usize) -> Result<i64> {
        match conn.backend() {
            crate::Backend::Postgres => {
                if self.taken.is_empty() {
                    let block = i64::try_from(expected.clamp(1, 1_000)).unwrap_or(1);
                    let ids: Vec<i64> = sql::query(
                        "SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, ?)",
                    )
                    .bind(block)
                    .scalars(conn)
                    .await?;
                    self.taken.extend(ids);
                }
                self.taken.pop_front().ok_or_else(|| {
                    crate::StorageError::Corrupt("no case id from the sequence".into())
                })
            }
            crate::Backend::Sqlite => {
                let id = match self.next_local {
                    Some(id) => id,
                    None => {
                        sql::query("SELECT COALESCE(MAX(id), 0) + 1 FROM cases")
                            .scalar(conn)
                            .await?
                    }
                };
                self.next_local = Some(id + 1);
                Ok(id)
            }
        }
    }
}

/// A case as intake opens it.
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub id: i64,
    pub number: &'a str,
    pub state: &'a str,
    pub channel: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    pub address: &'a str,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub category_id: Option<i64>,
    pub area_id: i64,
    pub area_path: &'a str,
    pub reporter_user_id: Option<i64>,
    pub reporter_name: &'a str,
    pub reporter_phone: &'a str,
    pub urgent: bool,
    pub stats_day: &'a str,
    pub at: DateTime<Utc>,
    pub priority_score: i64,
    pub priority_level: &'a str,
    pub priority_factors: JsonText,
    pub suggested_category_id: Option<i64>,
    pub suggested_confidence: Option<f64>,
    pub suggestions: JsonText,
    pub needs_review: bool,
    pub proposed_route: Option<JsonText>,
    /// The city asset the appeal names (16-digit id) and its distance from the appeal's point.
    pub asset_id: Option<&'a str>,
    pub asset_distance_m: Option<f64>,
}

/// New cases per multi-row insert (29 bound values each).
const NEW_CASES_PER_STATEMENT: usize = 200;

/// Writes new cases, a multi-row statement per block (one round trip for a whole group commit).
pub async fn insert_cases(conn: &mut Conn, cases: &[NewCase<'_>]) -> Result<()> {
    for chunk in cases.chunks(NEW_CASES_PER_STATEMENT) {
        let mut query = Builder::new(
            "INSERT INTO cases (id, number, state, channel, title, text, address, lat, lon, category_id, area_id,
                area_path, reporter_user_id, reporter_name, reporter_phone, urgent, stats_day, created_at, updated_at,
                priority_score, priority_level, priority_factors, suggested_category_id, suggested_confidence,
                suggestions, needs_review, proposed_route, asset_id, asset_distance_m) ",
        );
        query.push_values(chunk, |mut b, case| {
            b.push_bind(case.id)
                .push_bind(case.number)
                .push_bind(case.state)
                .push_bind(case.channel)
                .push_bind(case.title)
                .push_bind(case.text)
                .push_bind(case.address)
                .push_bind(case.lat)
                .push_bind(case.lon)
                .push_bind(case.category_id)
                .push_bind(case.area_id)
                .push_bind(case.area_path)
                .push_bind(case.reporter_user_id)
                .push_bind(case.reporter_name)
                .push_bind(case.reporter_phone)
                .push_bind(case.urgent)
                .push_bind(case.stats_day)
                .push_bind(case.at)
                .push_bind(case.at)
                .push_bind(case.priority_score)
                .push_bind(case.priority_level)
                .push_bind(&case.priority_factors)
                .push_bind(case.suggested_category_id)
                .push_bind(case.suggested_confidence)
                .push_bind(&case.suggestions)
                .push_bind(case.needs_review)
                .push_bind(&case.proposed_route)
                .push_bind(case.asset_id)
                .push_bind(case.asset_distance_m);
        });
        query.build().execute(conn).await?;
    }
    Ok(())
}

/// What a repeat report needs to know of the case it joins.
#[derive(Debug, Clone, FromRow)]
pub struct RepeatTarget {
    pub state: String,
    pub number: String,
    pub stats_day: String,
    pub area_id: i64,
    pub category_id: Option<i64>,
    pub area_path: String,
    pub title: String,
    pub text: String,
    pub reporter_count: i64,
    pub reporter_user_id: Option<i64>,
    pub co_reporters: String,
    pub anonymous_repeats: i64,
}

/// Reads [`RepeatTarget`].
pub async fn repeat_target(conn: &mut Conn, case_id: i64) -> Result<Option<RepeatTarget>> {
    sql::query(
        "SELECT state, number, stats_day, area_id, category_id, area_path, title, text, reporter_count,
            reporter_user_id, co_reporters, anonymous_repeats
         FROM cases WHERE id = ?",
    )
    .bind(case_id)
    .fetch_optional(conn)
    .await
}

/// A repeat report joining a case: one more reporter, and the priority raised when the new
/// score is higher.
#[derive(Debug, Clone)]
pub struct RepeatUpdate<'a> {
    pub case_id: i64,
    pub co_reporters: &'a str,
    pub anonymous_repeats: i64,
    pub score: i64,
    pub level: &'a str,
    pub factors: JsonText,
    pub at: DateTime<Utc>,
}

/// Applies [`RepeatUpdate`].
pub async fn record_repeat(conn: &mut Conn, update: &RepeatUpdate<'_>) -> Result<()> {
    sql::query(
        "UPDATE cases SET reporter_count = reporter_count + 1, co_reporters = ?, anonymous_repeats = ?,
            priority_factors = CASE WHEN ? > priority_score THEN ? ELSE priority_factors END,
            priority_level = CASE WHEN ? > priority_score THEN ? ELSE priority_level END,
            priority_score = CASE WHEN ? > priority_score THEN ? ELSE priority_score END,
            updated_at = ?, version = version + 1 WHERE id = ?",
    )
    .bind(update.co_reporters)
    .bind(update.anonymous_repeats)
    .bind(update.score)
    .bind(&update.factors)
    .bind(update.score)
    .bind(update.level)
    .bind(update.score)
    .bind(update.score)
    .bind(update.at)
    .bind(update.case_id)
    .execute(conn)
    .await
    .map(|_| ())
}
