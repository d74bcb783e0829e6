//! Assessment (绩效考核): versioned schemes, frozen results per period and unit, appeals (申诉).
//!
//! Results are inserted once and never changed, except `current`, which an accepted appeal moves from the
//! result it replaces to the recomputed revision.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::{self, JsonText};
use crate::{Conn, Result, StorageError};

/// A scheme version.
#[derive(Debug, Clone, FromRow)]
pub struct SchemeRow {
    pub id: i64,
    pub code: String,
    pub version: i64,
    pub name: String,
    pub body: JsonText,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const SCHEME_COLUMNS: &str = "id, code, version, name, body, created_by, created_at";

/// Inserts the next version of scheme `code`; returns the new row.
pub async fn insert_scheme(
    conn: &mut Conn,
    code: &str,
    name: &str,
    body: &str,
    created_by: i64,
    at: DateTime<Utc>,
) -> Result<SchemeRow> {
    let version: i64 = sql::query(
        "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM assessment_schemes WHERE code = ?",
    )
    .bind(code)
    .scalar(&mut *conn)
    .await?;
    sql::query(format!(
        "INSERT INTO assessment_schemes (code, version, name, body, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING {SCHEME_COLUMNS}"
    ))
    .bind(code)
    .bind(version + 1)
    .bind(name)
    .bind(JsonText(body.to_owned()))
    .bind(created_by)
    .bind(at)
    .fetch_one(conn)
    .await
}

/// Returns one scheme version by id.
pub async fn get_scheme(conn: &mut Conn, id: i64) -> Result<SchemeRow> {
    sql::query(format!(
        "SELECT {SCHEME_COLUMNS} FROM assessment_schemes WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("assessment scheme"))
}

/// Returns every scheme version, by code and version.
pub async fn list_schemes(conn: &mut Conn) -> Result<Vec<SchemeRow>> {
    sql::query(format!(
        "SELECT {SCHEME_COLUMNS} FROM assessment_schemes ORDER BY code, version"
    ))
    .fetch_all(conn)
    .await
}

/// What the assessment reads of a case.
#[derive(Debug, Clone, FromRow)]
pub struct CaseFactRow {
    pub id: i64,
    pub area_id: i64,
    pub area_path: String,
    pub lead_dept_id: Option<i64>,
    pub closed: bool,
    pub closed_on_time: bool,
    pub had_feedback: bool,
    pub rework_count: i64,
    pub return_count: i64,
    pub supervise_count: i64,
    pub rated: bool,
    pub satisfied: bool,
    pub resolved: bool,
}

/// Returns the facts of every case (voided ones left out) created at `from <= created_at < to`, by id.
pub async fn case_facts(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CaseFactRow>> {
    sql::query(
        "SELECT id, area_id, area_path, lead_dept_id,
                CASE WHEN closed_at IS NULL THEN FALSE ELSE TRUE END AS closed,
                CASE WHEN closure_type = 'normal' THEN TRUE ELSE FALSE END AS closed_on_time,
                CASE WHEN feedback_at IS NULL THEN FALSE ELSE TRUE END AS had_feedback,
                rework_count, return_count, supervise_count,
                CASE WHEN rated_at IS NULL THEN FALSE ELSE TRUE END AS rated,
                CASE WHEN satisfaction IN ('satisfied', 'basically_satisfied') THEN TRUE ELSE FALSE END
                    AS satisfied,
                CASE WHEN resolved = TRUE THEN TRUE ELSE FALSE END AS resolved
         FROM cases WHERE created_at >= ? AND created_at < ? AND state <> 'voided' ORDER BY id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// A unit that can be assessed: id, name and (for areas) path.
#[derive(Debug, Clone, FromRow)]
pub struct UnitRow {
    pub id: i64,
    pub name: String,
    pub path: String,
}

/// Returns the areas of a level (`district`, `street`, `community`, `grid`), by id.
pub async fn areas_of_level(conn: &mut Conn, level: &str) -> Result<Vec<UnitRow>> {
    sql::query("SELECT id, name, path FROM areas WHERE level = ? ORDER BY id")
        .bind(level)
        .fetch_all(conn)
        .await
}

/// Returns every department that is no outside partner (path empty), by id.
pub async fn departments(conn: &mut Conn) -> Result<Vec<UnitRow>> {
    sql::query(
        "SELECT id, name, '' AS path FROM departments
         WHERE id NOT IN (SELECT dept_id FROM partners) ORDER BY id",
    )
    .fetch_all(conn)
    .await
}

/// Returns every partner organisation (assessed apart from the departments), by id.
pub async fn partners(conn: &mut Conn) -> Result<Vec<UnitRow>> {
    sql::query(
        "SELECT d.id, d.name, '' AS path FROM departments d JOIN partners p ON p.dept_id = d.id
         ORDER BY d.id",
    )
    .fetch_all(conn)
    .await
}

/// A unit grid's responsibility grid and that grid's supervisor.
#[derive(Debug, Clone, FromRow)]
pub struct ResponsibilityUnitRow {
    pub unit_area_id: i64,
    pub grid_id: i64,
    pub grid_name: String,
    pub supervisor_user_id: Option<i64>,
    pub supervisor_name: Option<String>,
}

/// Returns every unit grid that belongs to a responsibility grid, with the grid and its supervisor.
pub async fn responsibility_units(conn: &mut Conn) -> Result<Vec<ResponsibilityUnitRow>> {
    sql::query(
        "SELECT m.unit_area_id, g.id AS grid_id, g.name AS grid_name, g.supervisor_user_id,
                u.display_name AS supervisor_name
         FROM responsibility_grid_units m JOIN responsibility_grids g ON g.id = m.grid_id
         LEFT JOIN users u ON u.id = g.supervisor_user_id ORDER BY m.unit_area_id",
    )
    .fetch_all(conn)
    .await
}

/// A frozen result of one unit.
#[derive(Debug, Clone, FromRow)]
pub struct ResultRow {
    pub id: i64,
    pub scheme_id: i64,
    pub period: String,
    pub unit_kind: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub revision: i64,
    pub current: bool,
    pub cases: i64,
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub detail: JsonText,
    pub case_ids: String,
    pub excluded: String,
    pub frozen_at: DateTime<Utc>,
}

const RESULT_COLUMNS: &str =
    "id, scheme_id, period, unit_kind, unit_id, unit_name, revision, current, cases,
    score, grade, detail, case_ids, excluded, frozen_at";

/// A result to insert.
#[derive(Debug, Clone)]
pub struct NewResult<'a> {
    pub scheme_id: i64,
    pub period: &'a str,
    pub unit_kind: &'a str,
    pub unit_id: i64,
    pub unit_name: &'a str,
    pub revision: i64,
    pub cases: i64,
    pub score: Option<f64>,
    pub grade: Option<String>,
    pub detail: String,
    pub case_ids: String,
    pub excluded: String,
    pub frozen_at: DateTime<Utc>,
}

/// True when the period is already frozen for this scheme version and unit kind.
pub async fn period_frozen(
    conn: &mut Conn,
    scheme_id: i64,
    period: &str,
    unit_kind: &str,
) -> Result<bool> {
    let n: i64 = sql::query(
        "SELECT COUNT(*) FROM assessment_results WHERE scheme_id = ? AND period = ? AND unit_kind = ?",
    )
    .bind(scheme_id)
    .bind(period)
    .bind(unit_kind)
    .scalar(conn)
    .await?;
    Ok(n > 0)
}

/// Inserts a result as the current revision; returns its id.
pub async fn insert_result(conn: &mut Conn, r: &NewResult<'_>) -> Result<i64> {
    sql::query(
        "INSERT INTO assessment_results (scheme_id, period, unit_kind, unit_id, unit_name, revision, current,
             cases, score, grade, detail, case_ids, excluded, frozen_at)
         VALUES (?, ?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(r.scheme_id)
    .bind(r.period)
    .bind(r.unit_kind)
    .bind(r.unit_id)
    .bind(r.unit_name)
    .bind(r.revision)
    .bind(r.cases)
    .bind(r.score)
    .bind(r.grade.clone())
    .bind(JsonText(r.detail.clone()))
    .bind(r.case_ids.as_str())
    .bind(r.excluded.as_str())
    .bind(r.frozen_at)
    .scalar(conn)
    .await
}

/// Marks a result as no longer current (an accepted appeal replaced it).
pub async fn retire_result(conn: &mut Conn, id: i64) -> Result<()> {
    sql::query("UPDATE assessment_results SET current = FALSE WHERE id = ? AND current = TRUE")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Returns one result.
pub async fn get_result(conn: &mut Conn, id: i64) -> Result<ResultRow> {
    sql::query(format!(
        "SELECT {RESULT_COLUMNS} FROM assessment_results WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("assessment result"))
}

/// Returns the results of a period (all revisions, or the current ones), by unit and revision.
pub async fn list_results(
    conn: &mut Conn,
    scheme_id: i64,
    period: &str,
    unit_kind: &str,
    current_only: bool,
) -> Result<Vec<ResultRow>> {
    let filter = if current_only {
        " AND current = TRUE"
    } else {
        ""
    };
    sql::query(format!(
        "SELECT {RESULT_COLUMNS} FROM assessment_results
         WHERE scheme_id = ? AND period = ? AND unit_kind = ?{filter} ORDER BY unit_id, revision"
    ))
    .bind(scheme_id)
    .bind(period)
    .bind(unit_kind)
    .fetch_all(conn)
    .await
}

/// An appeal against a result.
#[derive(Debug, Clone, FromRow)]
pub struct AppealRow {
    pub id: i64,
    pub result_id: i64,
    pub reason: String,
    pub case_ids: String,
    pub state: String,
    pub filed_by: Option<i64>,
    pub filed_at: DateTime<Utc>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub note: String,
    pub new_result_id: Option<i64>,
}

const APPEAL_COLUMNS: &str = "id, result_id, reason, case_ids, state, filed_by, filed_at, decided_by, decided_at, note, new_result_id";

/// Files an appeal (state `pending`); returns it.
pub async fn insert_appeal(
    conn: &mut Conn,
    result_id: i64,
    reason: &str,
    case_ids: &str,
    filed_by: i64,
    at: DateTime<Utc>,
) -> Result<AppealRow> {
    sql::query(format!(
        "INSERT INTO assessment_appeals (result_id, reason, case_ids, state, filed_by, filed_at)
         VALUES (?, ?, ?, 'pending', ?, ?) RETURNING {APPEAL_COLUMNS}"
    ))
    .bind(result_id)
    .bind(reason)
    .bind(case_ids)
    .bind(filed_by)
    .bind(at)
    .fetch_one(conn)
    .await
}

/// Returns one appeal.
pub async fn get_appeal(conn: &mut Conn, id: i64) -> Result<AppealRow> {
    sql::query(format!(
        "SELECT {APPEAL_COLUMNS} FROM assessment_appeals WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("assessment appeal"))
}

/// Decides a pending appeal; returns false when it was no longer pending.
pub async fn decide_appeal(
    conn: &mut Conn,
    id: i64,
    state: &str,
    decided_by: i64,
    at: DateTime<Utc>,
    note: &str,
    new_result_id: Option<i64>,
) -> Result<bool> {
    let changed = sql::query(
        "UPDATE assessment_appeals SET state = ?, decided_by = ?, decided_at = ?, note = ?, new_result_id = ?
         WHERE id = ? AND state = 'pending'",
    )
    .bind(state)
    .bind(decided_by)
    .bind(at)
    .bind(note)
    .bind(new_result_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(changed == 1)
}
