//! Co-handling (协办): supporting departments' sub-tasks, responsibility disputes (推诿) and their
//! rulings, draft versions of the responsibility list, partner organisations with their grants and
//! the pool of cases offered to them. Migration `0016_cohandling.sql` / postgres `0006_cohandling.sql`.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::reference::{RuleRow, VersionRow};
use crate::sql;
use crate::{Conn, Result, StorageError};

/// A supporting department's sub-task of a case.
#[derive(Debug, Clone, FromRow)]
pub struct SubtaskRow {
    pub id: i64,
    pub case_id: i64,
    pub dept_id: i64,
    /// `dispatched`, `handling`, `done`, `released` or `cancelled`.
    pub state: String,
    pub active: bool,
    pub clock: String,
    pub limit_amount: i64,
    pub created_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub note: String,
    pub on_time: Option<bool>,
    pub reminded: bool,
    pub overdue: bool,
}

const SUBTASK_COLUMNS: &str = "id, case_id, dept_id, state, active, clock, limit_amount, created_at, \
     due_at, accepted_at, done_at, note, on_time, reminded, overdue";

/// Inserts a sub-task; returns it.
pub async fn insert_subtask(conn: &mut Conn, row: &SubtaskRow) -> Result<SubtaskRow> {
    sql::query(format!(
        "INSERT INTO case_subtasks (case_id, dept_id, state, active, clock, limit_amount, created_at, due_at)
         VALUES (?, ?, ?, TRUE, ?, ?, ?, ?) RETURNING {SUBTASK_COLUMNS}"
    ))
    .bind(row.case_id)
    .bind(row.dept_id)
    .bind(&row.state)
    .bind(&row.clock)
    .bind(row.limit_amount)
    .bind(row.created_at)
    .bind(row.due_at)
    .fetch_one(conn)
    .await
}

/// Writes a sub-task's changeable columns.
pub async fn update_subtask(conn: &mut Conn, row: &SubtaskRow) -> Result<()> {
    sql::query(
        "UPDATE case_subtasks SET state = ?, active = ?, due_at = ?, accepted_at = ?, done_at = ?,
                note = ?, on_time = ?, reminded = ?, overdue = ?
         WHERE id = ?",
    )
    .bind(&row.state)
    .bind(row.active)
    .bind(row.due_at)
    .bind(row.accepted_at)
    .bind(row.done_at)
    .bind(&row.note)
    .bind(row.on_time)
    .bind(row.reminded)
    .bind(row.overdue)
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns one sub-task.
pub async fn get_subtask(conn: &mut Conn, id: i64) -> Result<SubtaskRow> {
    sql::query(format!(
        "SELECT {SUBTASK_COLUMNS} FROM case_subtasks WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("subtask"))
}

/// Returns a case's sub-tasks, the current (active) ones only when `active_only`.
pub async fn case_subtasks(
    conn: &mut Conn,
    case_id: i64,
    active_only: bool,
) -> Result<Vec<SubtaskRow>> {
    sql::query(format!(
        "SELECT {SUBTASK_COLUMNS} FROM case_subtasks WHERE case_id = ? AND (active = TRUE OR ? = FALSE)
         ORDER BY id"
    ))
    .bind(case_id)
    .bind(active_only)
    .fetch_all(conn)
    .await
}

/// Cancels every active sub-task of a case (return, reopen, another dispatch); returns them.
pub async fn cancel_case_subtasks(conn: &mut Conn, case_id: i64) -> Result<Vec<SubtaskRow>> {
    sql::query(format!(
        "UPDATE case_subtasks SET active = FALSE,
                state = CASE WHEN state IN ('done', 'released') THEN state ELSE 'cancelled' END
         WHERE case_id = ? AND active = TRUE RETURNING {SUBTASK_COLUMNS}"
    ))
    .bind(case_id)
    .fetch_all(conn)
    .await
}

/// A sub-task with what a workbench shows of its case.
#[derive(Debug, Clone, FromRow)]
pub struct SubtaskListRow {
    pub id: i64,
    pub case_id: i64,
    pub dept_id: i64,
    pub state: String,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub case_number: String,
    pub case_title: String,
    pub case_state: String,
    pub lead_dept_id: Option<i64>,
    pub area_path: String,
}

/// Lists active sub-tasks, newest first: of one department, or of every department inside an
/// area path prefix; optionally only those in the given states.
pub async fn list_subtasks(
    conn: &mut Conn,
    dept_id: Option<i64>,
    area_path_prefix: Option<&str>,
    states: &[String],
    limit: i64,
) -> Result<Vec<SubtaskListRow>> {
    let mut builder = sql::Builder::new(
        "SELECT s.id, s.case_id, s.dept_id, s.state, s.due_at, s.overdue, s.created_at,
                c.number AS case_number, c.title AS case_title, c.state AS case_state,
                c.lead_dept_id, c.area_path
         FROM case_subtasks s JOIN cases c ON c.id = s.case_id WHERE s.active = TRUE",
    );
    if let Some(dept) = dept_id {
        builder.push(" AND s.dept_id = ").push_bind(dept);
    }
    if let Some(prefix) = area_path_prefix {
        builder
            .push(" AND c.area_path LIKE ")
            .push_bind(format!("{prefix}%"));
    }
    if !states.is_empty() {
        builder.push(" AND s.state IN (");
        let mut list = builder.separated(", ");
        for state in states {
            list.push_bind(state.clone());
        }
        builder.push(")");
    }
    builder.push(" ORDER BY s.id DESC LIMIT ").push_bind(limit);
    builder.build().fetch_all(conn).await
}

/// Open sub-tasks not reminded yet whose deadline falls before `horizon`.
pub async fn subtasks_needing_reminder(
    conn: &mut Conn,
    horizon: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<SubtaskRow>> {
    sql::query(format!(
        "SELECT {SUBTASK_COLUMNS} FROM case_subtasks
         WHERE active = TRUE AND state IN ('dispatched', 'handling') AND reminded = FALSE
           AND due_at IS NOT NULL AND due_at <= ?
         ORDER BY due_at LIMIT ?"
    ))
    .bind(horizon)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Open sub-tasks past their deadline that are not marked overdue yet.
pub async fn subtasks_newly_overdue(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<SubtaskRow>> {
    sql::query(format!(
        "SELECT {SUBTASK_COLUMNS} FROM case_subtasks
         WHERE active = TRUE AND state IN ('dispatched', 'handling') AND overdue = FALSE
           AND due_at IS NOT NULL AND due_at < ?
         ORDER BY due_at LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// A responsibility dispute and, once ruled, its ruling.
#[derive(Debug, Clone, FromRow)]
pub struct DisputeRow {
    pub id: i64,
    pub case_id: i64,
    pub dept_id: i64,
    pub category_id: Option<i64>,
    pub area_id: i64,
    pub rule_id: i64,
    pub reason: String,
    /// `open` or `ruled`.
    pub state: String,
    pub opened_by: Option<i64>,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub escalated: bool,
    pub ruled_by: Option<i64>,
    pub ruled_at: Option<DateTime<Utc>>,
    pub lead_dept_id: Option<i64>,
    pub supporting: String,
    pub ruling: String,
    pub on_time: Option<bool>,
    pub draft_version_id: Option<i64>,
}

const DISPUTE_COLUMNS: &str = "id, case_id, dept_id, category_id, area_id, rule_id, reason, state, \
     opened_by, opened_at, due_at, escalated, ruled_by, ruled_at, lead_dept_id, supporting, ruling, \
     on_time, draft_version_id";

/// Inserts an open dispute; returns it.
pub async fn insert_dispute(conn: &mut Conn, row: &DisputeRow) -> Result<DisputeRow> {
    sql::query(format!(
        "INSERT INTO responsibility_disputes
             (case_id, dept_id, category_id, area_id, rule_id, reason, state, opened_by, opened_at, due_at)
         VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?) RETURNING {DISPUTE_COLUMNS}"
    ))
    .bind(row.case_id)
    .bind(row.dept_id)
    .bind(row.category_id)
    .bind(row.area_id)
    .bind(row.rule_id)
    .bind(&row.reason)
    .bind(row.opened_by)
    .bind(row.opened_at)
    .bind(row.due_at)
    .fetch_one(conn)
    .await
}

/// Writes a dispute's ruling columns and escalation mark.
pub async fn update_dispute(conn: &mut Conn, row: &DisputeRow) -> Result<()> {
    sql::query(
        "UPDATE responsibility_disputes SET state = ?, escalated = ?, ruled_by = ?, ruled_at = ?,
                lead_dept_id = ?, supporting = ?, ruling = ?, on_time = ?, draft_version_id = ?
         WHERE id = ?",
    )
    .bind(&row.state)
    .bind(row.escalated)
    .bind(row.ruled_by)
    .bind(row.ruled_at)
    .bind(row.lead_dept_id)
    .bind(&row.supporting)
    .bind(&row.ruling)
    .bind(row.on_time)
    .bind(row.draft_version_id)
    .bind(row.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns one dispute.
pub async fn get_dispute(conn: &mut Conn, id: i64) -> Result<DisputeRow> {
    sql::query(format!(
        "SELECT {DISPUTE_COLUMNS} FROM responsibility_disputes WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("dispute"))
}

/// Returns the open dispute of a case, if any.
pub async fn open_dispute_of_case(conn: &mut Conn, case_id: i64) -> Result<Option<DisputeRow>> {
    sql::query(format!(
        "SELECT {DISPUTE_COLUMNS} FROM responsibility_disputes WHERE case_id = ? AND state = 'open'"
    ))
    .bind(case_id)
    .fetch_optional(conn)
    .await
}

/// Lists disputes, oldest deadline first: optionally one state, one department, an area subtree.
pub async fn list_disputes(
    conn: &mut Conn,
    state: Option<&str>,
    dept_id: Option<i64>,
    area_path_prefix: Option<&str>,
    limit: i64,
) -> Result<Vec<DisputeRow>> {
    let columns = DISPUTE_COLUMNS
        .split(", ")
        .map(|c| format!("d.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut builder = sql::Builder::new(format!(
        "SELECT {columns} FROM responsibility_disputes d JOIN cases c ON c.id = d.case_id WHERE TRUE"
    ));
    if let Some(state) = state {
        builder.push(" AND d.state = ").push_bind(state.to_owned());
    }
    if let Some(dept) = dept_id {
        builder.push(" AND d.dept_id = ").push_bind(dept);
    }
    if let Some(prefix) = area_path_prefix {
        builder
            .push(" AND c.area_path LIKE ")
            .push_bind(format!("{prefix}%"));
    }
    builder
        .push(" ORDER BY d.due_at, d.id LIMIT ")
        .push_bind(limit);
    builder.build().fetch_all(conn).await
}

/// Open disputes past their deadline that were not escalated yet.
pub async fn disputes_newly_overdue(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DisputeRow>> {
    sql::query(format!(
        "SELECT {DISPUTE_COLUMNS} FROM responsibility_disputes
         WHERE state = 'open' AND escalated = FALSE AND due_at < ? ORDER BY due_at LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Dispute counts per category and disputing department.
#[derive(Debug, Clone, FromRow)]
pub struct DisputeCountRow {
    pub category_id: Option<i64>,
    pub dept_id: i64,
    pub disputes: i64,
    pub open: i64,
}

/// Counts disputes opened at `from <= opened_at < to` about cases inside an area path prefix, per
/// category and department.
pub async fn dispute_counts(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    area_path_prefix: &str,
) -> Result<Vec<DisputeCountRow>> {
    sql::query(
        "SELECT d.category_id, d.dept_id, CAST(COUNT(*) AS BIGINT) AS disputes,
                CAST(SUM(CASE WHEN d.state = 'open' THEN 1 ELSE 0 END) AS BIGINT) AS open
         FROM responsibility_disputes d JOIN cases c ON c.id = d.case_id
         WHERE d.opened_at >= ? AND d.opened_at < ? AND c.area_path LIKE ?
         GROUP BY d.category_id, d.dept_id ORDER BY d.category_id, d.dept_id",
    )
    .bind(from)
    .bind(to)
    .bind(format!("{area_path_prefix}%"))
    .fetch_all(conn)
    .await
}

/// Returns the draft version of the responsibility list (not active, not yet published), if any.
pub async fn draft_version(conn: &mut Conn) -> Result<Option<VersionRow>> {
    sql::query(
        "SELECT id, note, created_at, created_by, active FROM responsibility_versions
         WHERE draft = TRUE AND active = FALSE ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await
}

/// Returns whether a version is an unpublished draft.
pub async fn is_draft(conn: &mut Conn, version_id: i64) -> Result<bool> {
    let draft: Option<bool> =
        sql::query("SELECT draft FROM responsibility_versions WHERE id = ? AND active = FALSE")
            .bind(version_id)
            .scalar_optional(conn)
            .await?;
    Ok(draft == Some(true))
}

/// Marks a version a draft (`true`) or a published one (`false`).
pub async fn set_draft(conn: &mut Conn, version_id: i64, draft: bool) -> Result<()> {
    sql::query("UPDATE responsibility_versions SET draft = ? WHERE id = ?")
        .bind(draft)
        .bind(version_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Returns the id of the active version, if any.
pub async fn active_version_id(conn: &mut Conn) -> Result<Option<i64>> {
    sql::query("SELECT id FROM responsibility_versions WHERE active = TRUE")
        .scalar_optional(conn)
        .await
}

/// Changes a rule's departments and legal basis (only ever a draft's rule).
pub async fn update_rule(conn: &mut Conn, rule: &RuleRow) -> Result<()> {
    sql::query(
        "UPDATE responsibility_rules SET lead_dept_id = ?, supporting = ?, legal_basis = ? WHERE id = ?",
    )
    .bind(rule.lead_dept_id)
    .bind(&rule.supporting)
    .bind(&rule.legal_basis)
    .bind(rule.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns one rule of any version.
pub async fn get_rule(conn: &mut Conn, id: i64) -> Result<RuleRow> {
    sql::query(
        "SELECT id, version_id, category_id, area_id, lead_dept_id, supporting, legal_basis
         FROM responsibility_rules WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("responsibility rule"))
}

/// A partner organisation: its department row and kind.
#[derive(Debug, Clone, FromRow)]
pub struct PartnerRow {
    pub dept_id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

/// One grant of a partner: an area subtree, and a category subtree (all categories when `None`).
#[derive(Debug, Clone, FromRow)]
pub struct GrantRow {
    pub id: i64,
    pub dept_id: i64,
    pub area_id: i64,
    pub area_path: String,
    pub category_id: Option<i64>,
}

/// Registers a department as a partner.
pub async fn insert_partner(
    conn: &mut Conn,
    dept_id: i64,
    kind: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::query("INSERT INTO partners (dept_id, kind, created_at) VALUES (?, ?, ?)")
        .bind(dept_id)
        .bind(kind)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds a grant to a partner.
pub async fn insert_grant(
    conn: &mut Conn,
    dept_id: i64,
    area_id: i64,
    category_id: Option<i64>,
) -> Result<()> {
    sql::query("INSERT INTO partner_grants (dept_id, area_id, category_id) VALUES (?, ?, ?)")
        .bind(dept_id)
        .bind(area_id)
        .bind(category_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Returns every partner.
pub async fn list_partners(conn: &mut Conn) -> Result<Vec<PartnerRow>> {
    sql::query(
        "SELECT p.dept_id, d.code, d.name, p.kind, p.created_at
         FROM partners p JOIN departments d ON d.id = p.dept_id ORDER BY p.dept_id",
    )
    .fetch_all(conn)
    .await
}

/// Returns the grants of a partner (empty for a department that is no partner).
pub async fn partner_grants(conn: &mut Conn, dept_id: i64) -> Result<Vec<GrantRow>> {
    sql::query(
        "SELECT g.id, g.dept_id, g.area_id, a.path AS area_path, g.category_id
         FROM partner_grants g JOIN areas a ON a.id = g.area_id WHERE g.dept_id = ? ORDER BY g.id",
    )
    .bind(dept_id)
    .fetch_all(conn)
    .await
}

/// Returns whether a department is a partner.
pub async fn is_partner(conn: &mut Conn, dept_id: i64) -> Result<bool> {
    let n: i64 = sql::query("SELECT CAST(COUNT(*) AS BIGINT) FROM partners WHERE dept_id = ?")
        .bind(dept_id)
        .scalar(conn)
        .await?;
    Ok(n > 0)
}

/// Offers a registered case to the partners' pool.
pub async fn offer_to_pool(
    conn: &mut Conn,
    case_id: i64,
    offered_by: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    sql::query("INSERT INTO case_pool (case_id, offered_by, offered_at) VALUES (?, ?, ?)")
        .bind(case_id)
        .bind(offered_by)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes a case out of the pool; returns whether it was in it.
pub async fn remove_from_pool(conn: &mut Conn, case_id: i64) -> Result<bool> {
    let n = sql::query("DELETE FROM case_pool WHERE case_id = ?")
        .bind(case_id)
        .execute(conn)
        .await?;
    Ok(n > 0)
}

/// Returns whether a case is in the pool.
pub async fn in_pool(conn: &mut Conn, case_id: i64) -> Result<bool> {
    let n: i64 = sql::query("SELECT CAST(COUNT(*) AS BIGINT) FROM case_pool WHERE case_id = ?")
        .bind(case_id)
        .scalar(conn)
        .await?;
    Ok(n > 0)
}

/// Returns the ids of pooled cases still waiting (registered) inside an area path prefix,
/// oldest offer first.
pub async fn pooled_case_ids(
    conn: &mut Conn,
    area_path_prefix: &str,
    limit: i64,
) -> Result<Vec<i64>> {
    sql::query(
        "SELECT p.case_id FROM case_pool p JOIN cases c ON c.id = p.case_id
         WHERE c.state = 'registered' AND c.area_path LIKE ? ORDER BY p.offered_at, p.case_id LIMIT ?",
    )
    .bind(format!("{area_path_prefix}%"))
    .bind(limit)
    .scalars(conn)
    .await
}
