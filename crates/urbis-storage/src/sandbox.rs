//! Policy sandbox (政策沙盘): the history a scenario replays (cases of a period and their workflow
//! steps from the audit chain), stored scenarios and runs, and pre-registered experiments.
//!
//! The simulation itself never touches a store: it reads a period here once and writes one result
//! document per run.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::{self, JsonText};
use crate::{Conn, Result, StorageError};

/// What the sandbox reads of one case of the history.
#[derive(Debug, Clone, FromRow)]
pub struct HistoryCaseRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub category_id: Option<i64>,
    pub area_id: i64,
    pub area_path: String,
    pub lead_dept_id: Option<i64>,
    pub closure_type: Option<String>,
}

/// One workflow step of a history case, from the audit chain.
#[derive(Debug, Clone, FromRow)]
pub struct HistoryStepRow {
    pub entity_id: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    /// For a `bulk_load` record, its detail (the loaded steps with their times).
    pub detail: Option<JsonText>,
}

/// The workflow actions the sandbox replays.
const STEP_ACTIONS: &str = "'register', 'void', 'self_resolve', 'dispatch', 'accept', 'return', \
     'feedback', 'check_pass', 'check_fail', 'close', 'reopen', 'bulk_load'";

/// Returns the cases reported in `[from, to)`, by id.
pub async fn history_cases(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<HistoryCaseRow>> {
    sql::query(
        "SELECT id, created_at, category_id, area_id, area_path, lead_dept_id, closure_type FROM cases
         WHERE created_at >= ? AND created_at < ? ORDER BY id LIMIT ?",
    )
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Returns the workflow steps of the cases reported in `[from, to)`, by case and order.
pub async fn history_steps(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<HistoryStepRow>> {
    sql::query(format!(
        "SELECT a.entity_id, a.at, a.action,
                CASE WHEN a.action = 'bulk_load' THEN a.detail ELSE NULL END AS detail
         FROM audit_log a JOIN cases c ON c.id = a.entity_id
         WHERE a.entity = 'case' AND c.created_at >= ? AND c.created_at < ?
           AND a.action IN ({STEP_ACTIONS})
         ORDER BY a.entity_id, a.seq"
    ))
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}

/// A stored scenario.
#[derive(Debug, Clone, FromRow)]
pub struct ScenarioRow {
    pub id: i64,
    pub name: String,
    pub body: JsonText,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const SCENARIO_COLUMNS: &str = "id, name, body, created_by, created_at";

/// Inserts a scenario.
pub async fn insert_scenario(
    conn: &mut Conn,
    name: &str,
    body: &str,
    created_by: i64,
    at: DateTime<Utc>,
) -> Result<ScenarioRow> {
    sql::query(format!(
        "INSERT INTO sandbox_scenarios (name, body, created_by, created_at) VALUES (?, ?, ?, ?)
         RETURNING {SCENARIO_COLUMNS}"
    ))
    .bind(name)
    .bind(JsonText(body.to_owned()))
    .bind(created_by)
    .bind(at)
    .fetch_one(conn)
    .await
}

/// Returns one scenario.
pub async fn get_scenario(conn: &mut Conn, id: i64) -> Result<ScenarioRow> {
    sql::query(format!(
        "SELECT {SCENARIO_COLUMNS} FROM sandbox_scenarios WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("sandbox scenario"))
}

/// Returns the newest scenarios first.
pub async fn list_scenarios(conn: &mut Conn, limit: i64) -> Result<Vec<ScenarioRow>> {
    sql::query(format!(
        "SELECT {SCENARIO_COLUMNS} FROM sandbox_scenarios ORDER BY id DESC LIMIT ?"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// A simulation run of a scenario.
#[derive(Debug, Clone, FromRow)]
pub struct RunRow {
    pub id: i64,
    pub scenario_id: i64,
    pub status: String,
    pub progress: f64,
    pub result: Option<JsonText>,
    pub error: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const RUN_COLUMNS: &str =
    "id, scenario_id, status, progress, result, error, created_by, created_at, finished_at";

/// Inserts a queued run.
pub async fn insert_run(
    conn: &mut Conn,
    scenario_id: i64,
    created_by: i64,
    at: DateTime<Utc>,
) -> Result<RunRow> {
    sql::query(format!(
        "INSERT INTO sandbox_runs (scenario_id, status, progress, created_by, created_at)
         VALUES (?, 'running', 0, ?, ?) RETURNING {RUN_COLUMNS}"
    ))
    .bind(scenario_id)
    .bind(created_by)
    .bind(at)
    .fetch_one(conn)
    .await
}

/// Records a run's progress (0–1).
pub async fn set_run_progress(conn: &mut Conn, id: i64, progress: f64) -> Result<()> {
    sql::query("UPDATE sandbox_runs SET progress = ? WHERE id = ? AND status = 'running'")
        .bind(progress)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Finishes a run with its result document or its error.
pub async fn finish_run(
    conn: &mut Conn,
    id: i64,
    result: std::result::Result<&str, &str>,
    at: DateTime<Utc>,
) -> Result<()> {
    let (status, body, error) = match result {
        Ok(body) => ("done", Some(JsonText(body.to_owned())), None),
        Err(message) => ("failed", None, Some(message.to_owned())),
    };
    sql::query(
        "UPDATE sandbox_runs SET status = ?, progress = 1, result = ?, error = ?, finished_at = ?
         WHERE id = ?",
    )
    .bind(status)
    .bind(body)
    .bind(error)
    .bind(at)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns one run.
pub async fn get_run(conn: &mut Conn, id: i64) -> Result<RunRow> {
    sql::query(format!(
        "SELECT {RUN_COLUMNS} FROM sandbox_runs WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("sandbox run"))
}

/// Returns the runs of a scenario, newest first.
pub async fn list_runs(conn: &mut Conn, scenario_id: i64) -> Result<Vec<RunRow>> {
    sql::query(format!(
        "SELECT {RUN_COLUMNS} FROM sandbox_runs WHERE scenario_id = ? ORDER BY id DESC LIMIT 50"
    ))
    .bind(scenario_id)
    .fetch_all(conn)
    .await
}

/// A pre-registered experiment: its assignment is fixed when it is stored.
#[derive(Debug, Clone, FromRow)]
pub struct ExperimentRow {
    pub id: i64,
    pub name: String,
    pub policy: String,
    pub indicator: String,
    pub unit_level: String,
    pub pre_from: String,
    pub start_day: String,
    pub end_day: String,
    pub seed: i64,
    /// Comma-separated area ids.
    pub treated: String,
    pub control: String,
    pub created_by: Option<i64>,
    pub registered_at: DateTime<Utc>,
}

const EXPERIMENT_COLUMNS: &str = "id, name, policy, indicator, unit_level, pre_from, start_day, \
     end_day, seed, treated, control, created_by, registered_at";

/// Inserts an experiment (its id and registration time are the store's).
pub async fn insert_experiment(conn: &mut Conn, row: &ExperimentRow) -> Result<ExperimentRow> {
    sql::query(format!(
        "INSERT INTO sandbox_experiments (name, policy, indicator, unit_level, pre_from, start_day,
             end_day, seed, treated, control, created_by, registered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {EXPERIMENT_COLUMNS}"
    ))
    .bind(row.name.as_str())
    .bind(row.policy.as_str())
    .bind(row.indicator.as_str())
    .bind(row.unit_level.as_str())
    .bind(row.pre_from.as_str())
    .bind(row.start_day.as_str())
    .bind(row.end_day.as_str())
    .bind(row.seed)
    .bind(row.treated.as_str())
    .bind(row.control.as_str())
    .bind(row.created_by)
    .bind(row.registered_at)
    .fetch_one(conn)
    .await
}

/// Returns one experiment.
pub async fn get_experiment(conn: &mut Conn, id: i64) -> Result<ExperimentRow> {
    sql::query(format!(
        "SELECT {EXPERIMENT_COLUMNS} FROM sandbox_experiments WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("sandbox experiment"))
}

/// Returns the newest experiments first.
pub async fn list_experiments(conn: &mut Conn) -> Result<Vec<ExperimentRow>> {
    sql::query(format!(
        "SELECT {EXPERIMENT_COLUMNS} FROM sandbox_experiments ORDER BY id DESC LIMIT 200"
    ))
    .fetch_all(conn)
    .await
}

/// Stores an estimate of an experiment.
pub async fn insert_estimate(
    conn: &mut Conn,
    experiment_id: i64,
    body: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    sql::query(
        "INSERT INTO sandbox_estimates (experiment_id, body, created_at) VALUES (?, ?, ?)
         RETURNING id",
    )
    .bind(experiment_id)
    .bind(JsonText(body.to_owned()))
    .bind(at)
    .scalar(conn)
    .await
}

/// One case's facts for an experiment's indicator: its area path, report time and outcome.
#[derive(Debug, Clone, FromRow)]
pub struct ExperimentCaseRow {
    pub area_path: String,
    pub created_at: DateTime<Utc>,
    pub state: String,
    pub closure_type: Option<String>,
    pub rework_count: i64,
    pub feedback_at: Option<DateTime<Utc>>,
}

/// Returns the cases reported in `[from, to)` for an experiment's estimate.
pub async fn experiment_cases(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ExperimentCaseRow>> {
    sql::query(
        "SELECT area_path, created_at, state, closure_type, CAST(rework_count AS BIGINT) AS rework_count,
                feedback_at
         FROM cases WHERE created_at >= ? AND created_at < ?",
    )
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await
}
