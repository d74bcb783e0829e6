//! What intake writes: a new case from an appeal, and a repeat report joining an open case.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::Result;
use crate::db::Conn;
use crate::sql::{self, Builder, JsonText};

/// Row ids for one write transaction (of `cases` or `appeals`), taken from the database a block
/// at a time, so that a row's id is known before it is written (a case number is made from it; a
/// repeat's audit record names its appeal). PostgreSQL takes them from the table's identity
/// sequence (a block of `nextval`s; ids a rolled-back batch took are skipped, as with any
/// sequence); SQLite from the largest id inside the write transaction, whose lock no other writer
/// holds at the same time — so rows given these ids must be written before any row of the same
/// table that takes its id by default in the same transaction.
#[derive(Debug)]
pub struct RowIds {
    table: &'static str,
    taken: std::collections::VecDeque<i64>,
    next_local: Option<i64>,
}

impl RowIds {
    /// Ids of `cases`.
    pub fn cases() -> RowIds {
        RowIds::of("cases")
    }

    /// Ids of `appeals`.
    pub fn appeals() -> RowIds {
        RowIds::of("appeals")
    }

    fn of(table: &'static str) -> RowIds {
        RowIds {
            table,
            taken: std::collections::VecDeque::new(),
            next_local: None,
        }
    }

    /// The next id; `expected` is how many this transaction may still need (a hint for the block).
    pub async fn next(&mut self, conn: &mut Conn, expected: usize) -> Result<i64> {
        match conn.backend() {
            crate::Backend::Postgres => {
                if self.taken.is_empty() {
                    let block = i64::try_from(expected.clamp(1, 1_000)).unwrap_or(1);
                    let ids: Vec<i64> = sql::query(format!(
                        "SELECT nextval(pg_get_serial_sequence('{}', 'id')) FROM generate_series(1, ?)",
                        self.table
                    ))
                    .bind(block)
                    .scalars(conn)
                    .await?;
                    self.taken.extend(ids);
                }
                self.taken.pop_front().ok_or_else(|| {
                    crate::StorageError::Corrupt(format!("no {} id from the sequence", self.table))
                })
            }
            crate::Backend::Sqlite => {
                let id = match self.next_local {
                    Some(id) => id,
                    None => {
                        sql::query(format!(
                            "SELECT COALESCE(MAX(id), 0) + 1 FROM {}",
                            self.table
                        ))
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
    pub id: i64,
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
    pub priority_score: i64,
}

/// Reads [`RepeatTarget`].
pub async fn repeat_target(conn: &mut Conn, case_id: i64) -> Result<Option<RepeatTarget>> {
    Ok(repeat_targets(conn, &[case_id]).await?.pop())
}

/// Cases read per statement by [`repeat_targets`].
const TARGETS_PER_STATEMENT: usize = 500;

/// Reads the [`RepeatTarget`]s among these cases (the ones that exist, in no particular order).
pub async fn repeat_targets(conn: &mut Conn, case_ids: &[i64]) -> Result<Vec<RepeatTarget>> {
    let mut found = Vec::with_capacity(case_ids.len());
    for chunk in case_ids.chunks(TARGETS_PER_STATEMENT) {
        let mut query = Builder::new(
            "SELECT id, state, number, stats_day, area_id, category_id, area_path, title, text, reporter_count,
                reporter_user_id, co_reporters, anonymous_repeats, priority_score
             FROM cases WHERE id IN (",
        );
        let mut ids = query.separated(", ");
        for id in chunk {
            ids.push_bind(*id);
        }
        query.push(")");
        found.extend(query.build().fetch_all::<RepeatTarget>(conn).await?);
    }
    Ok(found)
}

/// What repeat reports did to a case: its reporters (count, residents followed up, anonymous
/// ones), and the priority they raised, if they raised it.
#[derive(Debug, Clone)]
pub struct RepeatUpdate<'a> {
    pub case_id: i64,
    pub reporter_count: i64,
    pub co_reporters: &'a str,
    pub anonymous_repeats: i64,
    pub priority: Option<RaisedPriority<'a>>,
    pub at: DateTime<Utc>,
}

/// A case's new priority: score, level and the factors behind it.
#[derive(Debug, Clone)]
pub struct RaisedPriority<'a> {
    pub score: i64,
    pub level: &'a str,
    pub factors: JsonText,
}

/// Joined cases updated per statement by [`record_repeats`] (8 bound values each at most).
const REPEATS_PER_STATEMENT: usize = 200;

/// Applies [`RepeatUpdate`]s: one statement per block of cases, so a group commit that joins many
/// cases makes one round trip for all of them, not one each. The cases whose priority did not rise
/// get a statement that leaves the priority columns out: SQLite rewrites a row's entries in the
/// priority indexes whenever those columns are assigned, even to the same value, and a group of
/// repeats joining many older cases would write those index pages for nothing (issue 23). The
/// rows of the `VALUES` list are named `column1`… on SQLite and PostgreSQL alike; the `SET`
/// expressions read the case as it was, so the priority changes only when the new score is higher
/// than the stored one.
pub async fn record_repeats(conn: &mut Conn, updates: &[RepeatUpdate<'_>]) -> Result<()> {
    /// Reporters only: `column1`–`column4`, then the time in `column5`.
    const KEEP: &str = "UPDATE cases SET reporter_count = v.column2, co_reporters = v.column3,
            anonymous_repeats = v.column4, updated_at = v.column5, version = cases.version + 1
         FROM (";
    /// Reporters, the priority (score, level, factors) in `column5`–`column7`, the time in `column8`.
    const RAISE: &str = "UPDATE cases SET reporter_count = v.column2, co_reporters = v.column3,
            anonymous_repeats = v.column4,
            priority_factors = CASE WHEN v.column5 > cases.priority_score THEN v.column7
                ELSE cases.priority_factors END,
            priority_level = CASE WHEN v.column5 > cases.priority_score THEN v.column6
                ELSE cases.priority_level END,
            priority_score = CASE WHEN v.column5 > cases.priority_score THEN v.column5
                ELSE cases.priority_score END,
            updated_at = v.column8, version = cases.version + 1
         FROM (";
    let (raised, kept): (Vec<&RepeatUpdate<'_>>, Vec<&RepeatUpdate<'_>>) =
        updates.iter().partition(|u| u.priority.is_some());
    for (statement, updates) in [(KEEP, kept), (RAISE, raised)] {
        for chunk in updates.chunks(REPEATS_PER_STATEMENT) {
            let mut query = Builder::new(statement);
            query.push_values(chunk, |mut row, update| {
                row.push_bind(update.case_id)
                    .push_bind(update.reporter_count)
                    .push_bind(update.co_reporters)
                    .push_bind(update.anonymous_repeats);
                if let Some(priority) = &update.priority {
                    row.push_bind(priority.score)
                        .push_bind(priority.level)
                        .push_bind(&priority.factors);
                }
                row.push_bind(update.at);
            });
            query.push(") AS v WHERE cases.id = v.column1");
            query.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}
