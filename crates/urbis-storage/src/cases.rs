//! Cases, the appeals behind them, clock pauses and notifications.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use urbis_domain::workflow::CaseState;

use crate::sql::{self, Builder, JsonText};

use crate::{Conn, Result, StorageError};

/// A stored case, every column.
#[derive(Debug, Clone, FromRow)]
pub struct CaseRow {
    pub id: i64,
    pub number: String,
    #[sqlx(try_from = "String")]
    pub state: CaseState,
    pub channel: String,
    pub title: String,
    pub text: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub category_id: Option<i64>,
    pub area_id: i64,
    pub area_path: String,
    pub lead_dept_id: Option<i64>,
    pub supporting_depts: String,
    pub reporter_user_id: Option<i64>,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub reporter_count: i64,
    pub urgent: bool,
    pub pending_kind: Option<String>,
    pub pending_amount: Option<i64>,
    pub clock: Option<String>,
    pub limit_amount: Option<i64>,
    pub clock_started_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub response_due_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub feedback_at: Option<DateTime<Utc>>,
    pub handled_on_time: Option<bool>,
    pub overdue: bool,
    pub reminded: bool,
    pub supervise_count: i64,
    pub rework_count: i64,
    pub return_count: i64,
    pub closure_type: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub satisfaction: Option<String>,
    pub resolved: Option<bool>,
    pub rated_at: Option<DateTime<Utc>>,
    pub stats_day: String,
    pub priority_score: i64,
    pub priority_level: String,
    pub priority_factors: JsonText,
    pub suggested_category_id: Option<i64>,
    pub suggested_confidence: Option<f64>,
    /// The classifier's top suggestions as JSON, best first.
    pub suggestions: JsonText,
    /// Whether the category waits for a person (none, or the classifier was unsure).
    pub needs_review: bool,
    /// The responsibility list's proposal at intake as JSON, if any.
    pub proposed_route: Option<JsonText>,
    /// Residents whose repeat reports were attached, comma-separated ids.
    pub co_reporters: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

pub(crate) const CASE_COLUMNS: &str = "id, number, state, channel, title, text, address, lat, lon, category_id, area_id, area_path, \
    lead_dept_id, supporting_depts, reporter_user_id, reporter_name, reporter_phone, reporter_count, urgent, \
    pending_kind, pending_amount, clock, limit_amount, clock_started_at, due_at, response_due_at, accepted_at, \
    feedback_at, handled_on_time, overdue, reminded, supervise_count, rework_count, return_count, closure_type, \
    closed_at, satisfaction, resolved, rated_at, stats_day, priority_score, priority_level, priority_factors, \
    suggested_category_id, suggested_confidence, suggestions, needs_review, proposed_route, co_reporters, \
    created_at, updated_at, version";

/// Returns one case.
pub async fn get_case(conn: &mut Conn, id: i64) -> Result<CaseRow> {
    sql::query(format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(StorageError::NotFound("case"))
}

/// Writes every mutable field of a case if its version is still `case.version`, then bumps it.
pub async fn update_case(conn: &mut Conn, case: &CaseRow) -> Result<()> {
    let res = sql::query(
        "UPDATE cases SET state = ?, title = ?, category_id = ?, area_id = ?, area_path = ?, lead_dept_id = ?,
            supporting_depts = ?, reporter_count = ?, urgent = ?, pending_kind = ?, pending_amount = ?, clock = ?,
            limit_amount = ?, clock_started_at = ?, due_at = ?, response_due_at = ?, accepted_at = ?, feedback_at = ?,
            handled_on_time = ?, overdue = ?, reminded = ?, supervise_count = ?, rework_count = ?, return_count = ?,
            closure_type = ?, closed_at = ?, satisfaction = ?, resolved = ?, rated_at = ?, updated_at = ?,
            needs_review = ?, proposed_route = ?, co_reporters = ?, version = version + 1
         WHERE id = ? AND version = ?",
    )
    .bind(&case.state)
    .bind(&case.title)
    .bind(case.category_id)
    .bind(case.area_id)
    .bind(&case.area_path)
    .bind(case.lead_dept_id)
    .bind(&case.supporting_depts)
    .bind(case.reporter_count)
    .bind(case.urgent)
    .bind(&case.pending_kind)
    .bind(case.pending_amount)
    .bind(&case.clock)
    .bind(case.limit_amount)
    .bind(&case.clock_started_at)
    .bind(&case.due_at)
    .bind(&case.response_due_at)
    .bind(&case.accepted_at)
    .bind(&case.feedback_at)
    .bind(case.handled_on_time)
    .bind(case.overdue)
    .bind(case.reminded)
    .bind(case.supervise_count)
    .bind(case.rework_count)
    .bind(case.return_count)
    .bind(&case.closure_type)
    .bind(&case.closed_at)
    .bind(&case.satisfaction)
    .bind(case.resolved)
    .bind(&case.rated_at)
    .bind(&case.updated_at)
    .bind(case.needs_review)
    .bind(&case.proposed_route)
    .bind(&case.co_reporters)
    .bind(case.id)
    .bind(case.version)
    .execute(conn)
    .await?;
    if res == 0 {
        return Err(StorageError::Conflict(
            "the case was changed by someone else".into(),
        ));
    }
    Ok(())
}

/// Rows per multi-row insert of cases (52 bound values each).
const CASES_PER_STATEMENT: usize = 100;

/// Inserts complete case rows as given (ids included): the bulk load of case histories.
pub async fn insert_case_rows(conn: &mut Conn, rows: &[CaseRow]) -> Result<()> {
    for chunk in rows.chunks(CASES_PER_STATEMENT) {
        let mut query: Builder = Builder::new(format!("INSERT INTO cases ({CASE_COLUMNS}) "));
        query.push_values(chunk, |mut b, c| {
            b.push_bind(c.id)
                .push_bind(c.number.clone())
                .push_bind(c.state.clone())
                .push_bind(c.channel.clone())
                .push_bind(c.title.clone())
                .push_bind(c.text.clone())
                .push_bind(c.address.clone())
                .push_bind(c.lat)
                .push_bind(c.lon)
                .push_bind(c.category_id)
                .push_bind(c.area_id)
                .push_bind(c.area_path.clone())
                .push_bind(c.lead_dept_id)
                .push_bind(c.supporting_depts.clone())
                .push_bind(c.reporter_user_id)
                .push_bind(c.reporter_name.clone())
                .push_bind(c.reporter_phone.clone())
                .push_bind(c.reporter_count)
                .push_bind(c.urgent)
                .push_bind(c.pending_kind.clone())
                .push_bind(c.pending_amount)
                .push_bind(c.clock.clone())
                .push_bind(c.limit_amount)
                .push_bind(c.clock_started_at.clone())
                .push_bind(c.due_at.clone())
                .push_bind(c.response_due_at.clone())
                .push_bind(c.accepted_at.clone())
                .push_bind(c.feedback_at.clone())
                .push_bind(c.handled_on_time)
                .push_bind(c.overdue)
                .push_bind(c.reminded)
                .push_bind(c.supervise_count)
                .push_bind(c.rework_count)
                .push_bind(c.return_count)
                .push_bind(c.closure_type.clone())
                .push_bind(c.closed_at.clone())
                .push_bind(c.satisfaction.clone())
                .push_bind(c.resolved)
                .push_bind(c.rated_at.clone())
                .push_bind(c.stats_day.clone())
                .push_bind(c.priority_score)
                .push_bind(c.priority_level.clone())
                .push_bind(c.priority_factors.clone())
                .push_bind(c.suggested_category_id)
                .push_bind(c.suggested_confidence)
                .push_bind(c.suggestions.clone())
                .push_bind(c.needs_review)
                .push_bind(c.proposed_route.clone())
                .push_bind(c.co_reporters.clone())
                .push_bind(c.created_at.clone())
                .push_bind(c.updated_at.clone())
                .push_bind(c.version);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Which cases to list. Every filter is optional; scope filters come from the service.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub area_path_prefix: Option<String>,
    /// Cases where this department is lead or supporting.
    pub dept_id: Option<i64>,
    pub reporter_user_id: Option<i64>,
    pub states: Vec<String>,
    pub category_id: Option<i64>,
    pub overdue: Option<bool>,
    /// Only cases whose category waits for a person.
    pub needs_review: Option<bool>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Highest priority first instead of newest first.
    pub by_priority: bool,
    /// Return only cases with an id below this (keyset pagination, newest first).
    pub before_id: Option<i64>,
    pub limit: i64,
}

/// Returns cases matching the filter, newest first.
pub async fn list_cases(conn: &mut Conn, filter: &CaseFilter) -> Result<Vec<CaseRow>> {
    Ok(list_query(filter, "SELECT").build().fetch_all(conn).await?)
}

/// The query of [`list_cases`], after `verb` (`SELECT`, or `EXPLAIN QUERY PLAN SELECT` in tests).
fn list_query(filter: &CaseFilter, verb: &str) -> Builder {
    let mut query: Builder = Builder::new(format!("{verb} {CASE_COLUMNS} FROM cases WHERE 1 = 1"));
    if let Some(prefix) = &filter.area_path_prefix {
        // Paths are digits and slashes only; the range scan keeps the index usable.
        query.push(" AND area_path >= ").push_bind(prefix.clone());
        query
            .push(" AND area_path < ")
            .push_bind(format!("{prefix}\u{10ffff}"));
    }
    if let Some(dept) = filter.dept_id {
        query
            .push(" AND (lead_dept_id = ")
            .push_bind(dept)
            .push(" OR (',' || supporting_depts || ',') LIKE ")
            .push_bind(format!("%,{dept},%"))
            .push(")");
    }
    if let Some(user) = filter.reporter_user_id {
        // A resident's cases: the ones they opened (a repeat report that joined someone else's
        // case gives no access to it; its reporter follows it through notifications).
        query.push(" AND reporter_user_id = ").push_bind(user);
    }
    if !filter.states.is_empty() {
        query.push(" AND state IN (");
        let mut separated = query.separated(", ");
        for state in &filter.states {
            separated.push_bind(state.clone());
        }
        query.push(")");
    }
    if let Some(category) = filter.category_id {
        query.push(" AND category_id = ").push_bind(category);
    }
    if let Some(overdue) = filter.overdue {
        // A literal, not a bound value: the overdue queue's index is partial (`WHERE overdue =
        // TRUE`), and a PostgreSQL generic plan of a prepared statement cannot prove that a bound
        // value meets that condition (SQLite re-plans with the value bound).
        query.push(if overdue {
            " AND overdue = TRUE"
        } else {
            " AND overdue = FALSE"
        });
    }
    if let Some(review) = filter.needs_review {
        query.push(" AND needs_review = ").push_bind(review);
    }
    if let Some(from) = &filter.created_from {
        query.push(" AND created_at >= ").push_bind(from.clone());
    }
    if let Some(to) = &filter.created_to {
        query.push(" AND created_at < ").push_bind(to.clone());
    }
    if let Some(before) = filter.before_id {
        query.push(" AND id < ").push_bind(before);
    }
    query.push(if filter.by_priority {
        " ORDER BY priority_score DESC, id DESC LIMIT "
    } else {
        " ORDER BY id DESC LIMIT "
    });
    query.push_bind(filter.limit);
    query
}

/// Returns running cases whose deadline is before `until` and that were not reminded yet.
pub async fn cases_needing_reminder(
    conn: &mut Conn,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<CaseRow>> {
    Ok(sql::query(format!(
        "SELECT {CASE_COLUMNS} FROM cases
         WHERE state IN ('dispatched', 'handling') AND due_at IS NOT NULL AND due_at < ? AND reminded = FALSE
         ORDER BY due_at LIMIT ?"
    ))
    .bind(until)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Returns running cases past their deadline that are not marked overdue yet.
pub async fn cases_newly_overdue(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<CaseRow>> {
    Ok(sql::query(format!(
        "SELECT {CASE_COLUMNS} FROM cases
         WHERE state IN ('dispatched', 'handling') AND due_at IS NOT NULL AND due_at < ? AND overdue = FALSE
         ORDER BY due_at LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// An appeal to insert.
#[derive(Debug, Clone)]
pub struct NewAppealRow<'a> {
    pub case_id: i64,
    pub channel: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    pub reporter_user_id: Option<i64>,
    pub reporter_name: &'a str,
    pub reporter_phone: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// SHA-256 (hex) of the appeal's content, kept with its idempotency key.
    pub idempotency_hash: Option<&'a str>,
    pub created_at: DateTime<Utc>,
}

/// Inserts an appeal and returns its id.
pub async fn insert_appeal(conn: &mut Conn, appeal: &NewAppealRow<'_>) -> Result<i64> {
    Ok(sql::query(
        "INSERT INTO appeals (case_id, channel, title, text, reporter_user_id, reporter_name, reporter_phone,
            idempotency_key, idempotency_hash, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(appeal.case_id)
    .bind(appeal.channel)
    .bind(appeal.title)
    .bind(appeal.text)
    .bind(appeal.reporter_user_id)
    .bind(appeal.reporter_name)
    .bind(appeal.reporter_phone)
    .bind(appeal.idempotency_key)
    .bind(appeal.idempotency_hash)
    .bind(appeal.created_at)
    .scalar(conn)
    .await?)
}

/// Appeals per multi-row insert (11 bound values each).
const APPEALS_PER_STATEMENT: usize = 500;

/// Inserts appeals under the ids given (taken with [`crate::intake::RowIds::appeals`]), a
/// multi-row statement per block.
pub async fn insert_appeals(conn: &mut Conn, appeals: &[(i64, NewAppealRow<'_>)]) -> Result<()> {
    for chunk in appeals.chunks(APPEALS_PER_STATEMENT) {
        let mut query = Builder::new(
            "INSERT INTO appeals (id, case_id, channel, title, text, reporter_user_id, reporter_name, reporter_phone,
                idempotency_key, idempotency_hash, created_at) ",
        );
        query.push_values(chunk, |mut b, (id, appeal)| {
            b.push_bind(*id)
                .push_bind(appeal.case_id)
                .push_bind(appeal.channel)
                .push_bind(appeal.title)
                .push_bind(appeal.text)
                .push_bind(appeal.reporter_user_id)
                .push_bind(appeal.reporter_name)
                .push_bind(appeal.reporter_phone)
                .push_bind(appeal.idempotency_key)
                .push_bind(appeal.idempotency_hash)
                .push_bind(appeal.created_at);
        });
        query.build().execute(conn).await?;
    }
    Ok(())
}

/// An appeal found by its idempotency key: the key, its case and the hash of its content (none
/// for appeals stored before hashes were kept).
#[derive(Debug, Clone, FromRow)]
pub struct KeyedAppeal {
    pub idempotency_key: String,
    pub case_id: i64,
    pub idempotency_hash: Option<String>,
}

/// Keys looked up per statement.
const KEYS_PER_STATEMENT: usize = 500;

/// Returns the stored appeals among these idempotency keys, in one statement per block of keys.
pub async fn find_by_idempotency_keys(conn: &mut Conn, keys: &[&str]) -> Result<Vec<KeyedAppeal>> {
    let mut found = Vec::new();
    for chunk in keys.chunks(KEYS_PER_STATEMENT) {
        let mut query = Builder::new(
            "SELECT idempotency_key, case_id, idempotency_hash FROM appeals WHERE idempotency_key IN (",
        );
        let mut list = query.separated(", ");
        for key in chunk {
            list.push_bind(*key);
        }
        query.push(")");
        found.extend(query.build().fetch_all::<KeyedAppeal>(conn).await?);
    }
    Ok(found)
}

/// A stored appeal.
#[derive(Debug, Clone, FromRow)]
pub struct AppealRow {
    pub id: i64,
    pub case_id: i64,
    pub channel: String,
    pub title: String,
    pub text: String,
    pub reporter_user_id: Option<i64>,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub created_at: DateTime<Utc>,
}

/// Returns the appeals behind a case.
pub async fn list_appeals(conn: &mut Conn, case_id: i64) -> Result<Vec<AppealRow>> {
    Ok(sql::query(
        "SELECT id, case_id, channel, title, text, reporter_user_id, reporter_name, reporter_phone, created_at
         FROM appeals WHERE case_id = ? ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?)
}

/// A stored clock pause.
#[derive(Debug, Clone, FromRow)]
pub struct PauseRow {
    pub id: i64,
    pub case_id: i64,
    pub reason: String,
    pub start_at: DateTime<Utc>,
    pub end_at: Option<DateTime<Utc>>,
}

/// Opens a pause of the case's clock.
pub async fn open_pause(
    conn: &mut Conn,
    case_id: i64,
    reason: &str,
    start_at: DateTime<Utc>,
) -> Result<()> {
    sql::query("INSERT INTO case_pauses (case_id, reason, start_at) VALUES (?, ?, ?)")
        .bind(case_id)
        .bind(reason)
        .bind(start_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Closes every open pause of the case.
pub async fn close_pauses(conn: &mut Conn, case_id: i64, end_at: DateTime<Utc>) -> Result<()> {
    sql::query("UPDATE case_pauses SET end_at = ? WHERE case_id = ? AND end_at IS NULL")
        .bind(end_at)
        .bind(case_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Returns the pauses of a case.
pub async fn list_pauses(conn: &mut Conn, case_id: i64) -> Result<Vec<PauseRow>> {
    Ok(sql::query(
        "SELECT id, case_id, reason, start_at, end_at FROM case_pauses WHERE case_id = ? ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(conn)
    .await?)
}

/// Deletes the pauses of a case (its clock restarts on a new dispatch).
pub async fn clear_pauses(conn: &mut Conn, case_id: i64) -> Result<()> {
    sql::query("DELETE FROM case_pauses WHERE case_id = ?")
        .bind(case_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A stored notification.
#[derive(Debug, Clone, FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub case_id: i64,
    pub dept_id: Option<i64>,
    pub user_id: Option<i64>,
    pub kind: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

/// Inserts a notification for a department or a user.
pub async fn insert_notification(conn: &mut Conn, row: &NotificationRow) -> Result<()> {
    sql::query(
        "INSERT INTO notifications (case_id, dept_id, user_id, kind, message, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(row.case_id)
    .bind(row.dept_id)
    .bind(row.user_id)
    .bind(&row.kind)
    .bind(&row.message)
    .bind(&row.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns the newest notifications for a department or a user.
pub async fn list_notifications(
    conn: &mut Conn,
    dept_id: Option<i64>,
    user_id: Option<i64>,
    area_path_prefix: Option<&str>,
    limit: i64,
) -> Result<Vec<NotificationRow>> {
    // An area-scoped reader sees only notifications about cases inside the area.
    Ok(sql::query(
        "SELECT id, case_id, dept_id, user_id, kind, message, created_at FROM notifications
         WHERE ((dept_id IS NOT NULL AND dept_id = ?) OR (user_id IS NOT NULL AND user_id = ?))
           AND (? IS NULL OR case_id IN (SELECT id FROM cases WHERE area_path LIKE ?))
         ORDER BY id DESC LIMIT ?",
    )
    .bind(dept_id)
    .bind(user_id)
    .bind(area_path_prefix)
    .bind(area_path_prefix.map(|p| format!("{p}%")))
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A correction or a return kept for the next training run.
#[derive(Debug, Clone, FromRow)]
pub struct TrainingExample {
    pub id: i64,
    pub case_id: i64,
    pub source: String,
    pub text: String,
    pub label: String,
    pub previous: String,
    pub note: String,
    pub actor_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// Stores a training example (its id is assigned).
pub async fn insert_training_example(conn: &mut Conn, row: &TrainingExample) -> Result<()> {
    sql::query(
        "INSERT INTO training_examples (case_id, source, text, label, previous, note, actor_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(row.case_id)
    .bind(&row.source)
    .bind(&row.text)
    .bind(&row.label)
    .bind(&row.previous)
    .bind(&row.note)
    .bind(row.actor_id)
    .bind(&row.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns training examples after `after_id`, oldest first, at most `limit`.
pub async fn list_training_examples(
    conn: &mut Conn,
    after_id: i64,
    limit: i64,
) -> Result<Vec<TrainingExample>> {
    Ok(sql::query(
        "SELECT id, case_id, source, text, label, previous, note, actor_id, created_at
         FROM training_examples WHERE id > ? ORDER BY id LIMIT ?",
    )
    .bind(after_id)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;
    use crate::testing::{self, new_store};

    /// The steps of SQLite's plan for the case list under `filter`.
    async fn plan(db: &Db, filter: &CaseFilter) -> Vec<String> {
        testing::plan(db, list_query(filter, "EXPLAIN QUERY PLAN SELECT").build()).await
    }

    /// The overdue queue reads its partial index (`WHERE overdue = TRUE`) in priority order: no
    /// scan of the cases, no sort.
    #[tokio::test]
    async fn the_overdue_queue_reads_its_partial_index() {
        let (_dir, db) = new_store().await;
        let filter = CaseFilter {
            overdue: Some(true),
            by_priority: true,
            limit: 50,
            ..CaseFilter::default()
        };
        let steps = plan(&db, &filter).await;
        assert_eq!(
            steps,
            ["SCAN cases USING INDEX cases_overdue_queue"],
            "the queue scans the overdue cases in priority order, no sort"
        );
        db.close().await;
    }

    /// A resident's cases are found through the reporter index, which holds only the cases a
    /// resident filed (`WHERE reporter_user_id IS NOT NULL`): `reporter_user_id = ?` implies it.
    #[tokio::test]
    async fn a_residents_cases_read_the_partial_reporter_index() {
        let (_dir, db) = new_store().await;
        let filter = CaseFilter {
            reporter_user_id: Some(7),
            limit: 20,
            ..CaseFilter::default()
        };
        let steps = plan(&db, &filter).await;
        assert!(
            steps[0].starts_with("SEARCH cases USING INDEX cases_reporter (reporter_user_id=?)"),
            "{steps:?}"
        );
        let partial: i64 = sql::query(
            "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'cases_reporter'
             AND sql LIKE '%WHERE reporter_user_id IS NOT NULL'",
        )
        .scalar(&mut db.read().await.expect("reader"))
        .await
        .expect("schema");
        assert_eq!(partial, 1, "the index leaves out the anonymous cases");
        db.close().await;
    }

    /// An area's cases (a prefix of paths) are found through the index by path, category and
    /// time, the one index of the cases by area.
    #[tokio::test]
    async fn an_areas_cases_read_the_area_place_index() {
        let (_dir, db) = new_store().await;
        let filter = CaseFilter {
            area_path_prefix: Some("/1/2/".into()),
            limit: 20,
            ..CaseFilter::default()
        };
        let steps = plan(&db, &filter).await;
        assert!(
            steps[0].starts_with(
                "SEARCH cases USING INDEX cases_area_place (area_path>? AND area_path<?)"
            ),
            "{steps:?}"
        );
        db.close().await;
    }
}
