//! Policy sandbox (政策沙盘, 社会联合实验): replays a period of the city's history under changed
//! rules — time limits, calendar, office hours, responsibility list, dispatch rules, department
//! capacity, classifier routing — and compares the indicators with the history replayed
//! unchanged; and pre-registered experiments on the live system (`experiment`).
//!
//! Isolation: a run reads the period once (cases and their audited steps) on a read snapshot and
//! then works in memory only (`sim`): no simulated case, step or counter is ever written to any
//! store. What a run stores is its scenario, its progress and one result document.

pub mod experiment;
pub mod model;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod world;
pub mod xlsx;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use urbis_domain::role::{Actor, Role};
use urbis_storage::sandbox as store;

pub use report::Report;
pub use scenario::Scenario;

use crate::auth::require_role;
use crate::rows::{SandboxRunRow, SandboxScenarioRow};
use crate::{Result, ServiceError, Services};

/// Roles that build and run scenarios and register experiments.
pub const SANDBOX_ROLES: &[Role] = &[Role::Leader, Role::Admin];

impl Services {
    /// Runs a scenario now and returns its report (the CLI's path; the API runs in the background).
    pub async fn sandbox_simulate(&self, scenario: &Scenario) -> Result<Report> {
        scenario.validate()?;
        let prepared = world::prepare(self, scenario).await?;
        let done = Arc::new(AtomicU64::new(0));
        tokio::task::spawn_blocking(move || prepared.simulate(&done))
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "sandbox simulation panicked");
                ServiceError::internal()
            })
    }

    /// Stores a scenario (audited).
    pub async fn sandbox_save_scenario(
        &self,
        actor: &Actor,
        scenario: &Scenario,
    ) -> Result<SandboxScenarioRow> {
        require_role(actor, SANDBOX_ROLES)?;
        scenario.validate()?;
        let body = serde_json::to_string(scenario).map_err(|_| ServiceError::internal())?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let row =
            store::insert_scenario(&mut tx, scenario.name.trim(), &body, actor.user_id.0, now)
                .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "sandbox_scenario",
            "sandbox_scenario",
            row.id,
            "",
            "stored",
            &serde_json::json!({ "name": row.name }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Lists stored scenarios, newest first.
    pub async fn sandbox_scenarios(&self, actor: &Actor) -> Result<Vec<SandboxScenarioRow>> {
        require_role(actor, SANDBOX_ROLES)?;
        let mut conn = self.db().read().await?;
        Ok(store::list_scenarios(&mut conn, 200).await?)
    }

    /// Returns a stored scenario with its runs.
    pub async fn sandbox_scenario(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(SandboxScenarioRow, Scenario, Vec<SandboxRunRow>)> {
        require_role(actor, SANDBOX_ROLES)?;
        let mut conn = self.db().read().await?;
        let row = store::get_scenario(&mut conn, id).await?;
        let scenario = parse_stored(&row)?;
        let runs = store::list_runs(&mut conn, id).await?;
        Ok((row, scenario, runs))
    }

    /// Returns a scenario of the last `days` days with the city's current settings written out
    /// (time limits of every category that has one, office hours), for a leader to edit.
    pub async fn sandbox_template(&self, actor: &Actor, days: i64) -> Result<Scenario> {
        require_role(actor, SANDBOX_ROLES)?;
        world::template(self, days.clamp(1, 800)).await
    }

    /// Starts a run of a stored scenario in the background; progress and result are read with
    /// [`Services::sandbox_run`].
    pub async fn sandbox_start_run(
        &self,
        actor: &Actor,
        scenario_id: i64,
    ) -> Result<SandboxRunRow> {
        require_role(actor, SANDBOX_ROLES)?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let row = store::get_scenario(&mut tx, scenario_id).await?;
        let scenario = parse_stored(&row)?;
        let run = store::insert_run(&mut tx, scenario_id, actor.user_id.0, now).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "sandbox_run",
            "sandbox_run",
            run.id,
            "",
            "running",
            &serde_json::json!({ "scenario_id": scenario_id }),
        )
        .await?;
        tx.commit().await?;
        let services = self.clone();
        let run_id = run.id;
        tokio::spawn(async move {
            let result = services.run_in_background(run_id, &scenario).await;
            let finished = match &result {
                Ok(report) => serde_json::to_string(report)
                    .map_err(|_| "the report could not be written".to_owned()),
                Err(err) => Err(err.to_string()),
            };
            if let Err(message) = &finished {
                tracing::warn!(run_id, error = %message, "sandbox run failed");
            }
            let finish = async {
                let now = services.now();
                let mut tx = services.db().begin_write().await?;
                store::finish_run(
                    &mut tx,
                    run_id,
                    finished.as_deref().map_err(String::as_str),
                    now,
                )
                .await?;
                let status = if finished.is_ok() { "done" } else { "failed" };
                crate::audit::record(
                    &mut tx,
                    now,
                    None,
                    "sandbox_run_finish",
                    "sandbox_run",
                    run_id,
                    "running",
                    status,
                    &serde_json::json!({ "error": finished.as_ref().err() }),
                )
                .await?;
                tx.commit().await?;
                Ok::<(), ServiceError>(())
            };
            if let Err(err) = finish.await {
                tracing::error!(run_id, error = %err, "sandbox run result not stored");
            }
        });
        Ok(run)
    }

    async fn run_in_background(&self, run_id: i64, scenario: &Scenario) -> Result<Report> {
        let prepared = world::prepare(self, scenario).await?;
        let total = u64::from(prepared.seeds());
        let done = Arc::new(AtomicU64::new(0));
        let counter = done.clone();
        let mut task = tokio::task::spawn_blocking(move || prepared.simulate(&counter));
        loop {
            tokio::select! {
                joined = &mut task => {
                    return joined.map_err(|err| {
                        tracing::error!(error = %err, "sandbox simulation panicked");
                        ServiceError::internal()
                    });
                }
                _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {
                    let share = done.load(Ordering::Relaxed) as f64 / total.max(1) as f64;
                    let mut tx = self.db().begin_write().await?;
                    store::set_run_progress(&mut tx, run_id, share.min(0.99)).await?;
                    tx.commit().await?;
                }
            }
        }
    }

    /// Returns a run: status, progress and, when done, its report document.
    pub async fn sandbox_run(&self, actor: &Actor, run_id: i64) -> Result<SandboxRunRow> {
        require_role(actor, SANDBOX_ROLES)?;
        let mut conn = self.db().read().await?;
        Ok(store::get_run(&mut conn, run_id).await?)
    }

    /// Returns a finished run's report as an XLSX workbook.
    pub async fn sandbox_run_xlsx(&self, actor: &Actor, run_id: i64) -> Result<Vec<u8>> {
        let run = self.sandbox_run(actor, run_id).await?;
        let Some(body) = run.result else {
            return Err(ServiceError::invalid(
                "run_not_finished",
                "the run has no result yet",
            ));
        };
        let report: serde_json::Value =
            serde_json::from_str(&body).map_err(|_| ServiceError::internal())?;
        xlsx::workbook(&report)
    }
}

fn parse_stored(row: &SandboxScenarioRow) -> Result<Scenario> {
    serde_json::from_str(&row.body).map_err(|err| {
        tracing::error!(scenario_id = row.id, error = %err, "stored scenario does not parse");
        ServiceError::internal()
    })
}

#[cfg(test)]
mod tests;
