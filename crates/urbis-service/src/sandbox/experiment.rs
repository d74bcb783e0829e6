//! Policy experiments on the live system (社会联合实验): a pre-registered indicator and period, a
//! random half of the units (grids, communities or streets) assigned the policy, and a
//! difference-in-differences estimate with its 95% confidence interval.
//!
//! Pre-registration: the experiment row — indicator, periods, seed and the assignment itself —
//! is stored and audited before its period starts and never changed; an estimate is a new row.
//! The sandbox does not switch the policy on: the treated units are published with the
//! experiment for the departments that apply it.
//!
//! The estimate is unit-level: for each unit, the indicator in the experiment period minus the
//! indicator in the pre-period; the effect is the mean change of treated units minus that of
//! control units, with Welch's standard error and Student's t at the Welch–Satterthwaite
//! degrees of freedom. Units without cases in either period are left out.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, NaiveTime};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use urbis_domain::role::Actor;
use urbis_storage::{reference, sandbox as store};

use super::SANDBOX_ROLES;
use crate::auth::require_role;
use crate::rows::SandboxExperimentRow;
use crate::{Result, ServiceError, Services};

/// What a leader registers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentInput {
    pub name: String,
    /// The policy in words (what the treated units do differently).
    pub policy: String,
    /// `closure_rate`, `on_time_closure_rate` or `rework_rate`.
    pub indicator: String,
    /// `grid`, `community` or `street`.
    pub unit_level: String,
    /// Report days, inclusive: the pre-period is `pre_from` to the day before `start`.
    pub pre_from: NaiveDate,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The assignment's seed; random when absent.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// The difference-in-differences estimate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DidEstimate {
    pub indicator: String,
    pub effect: f64,
    pub lo: f64,
    pub hi: f64,
    pub std_error: f64,
    pub treated_units: usize,
    pub control_units: usize,
    pub treated_change: f64,
    pub control_change: f64,
    /// True when the experiment's period had not ended when estimated.
    pub interim: bool,
}

const INDICATORS: [&str; 3] = ["closure_rate", "on_time_closure_rate", "rework_rate"];
const LEVELS: [&str; 3] = ["grid", "community", "street"];

fn bad(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(code, message)
}

fn ids(text: &str) -> Vec<i64> {
    text.split(',').filter_map(|p| p.parse().ok()).collect()
}

impl Services {
    /// Registers an experiment before its start: checks it, draws the assignment and stores both.
    pub async fn sandbox_register_experiment(
        &self,
        actor: &Actor,
        input: &ExperimentInput,
    ) -> Result<SandboxExperimentRow> {
        require_role(actor, SANDBOX_ROLES)?;
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 || input.policy.chars().count() > 2000 {
            return Err(bad(
                "invalid_experiment",
                "an experiment needs a name of 1 to 100 characters and a policy of at most 2000",
            ));
        }
        if !INDICATORS.contains(&input.indicator.as_str()) {
            return Err(bad(
                "invalid_experiment",
                format!("the indicator is one of {}", INDICATORS.join(", ")),
            ));
        }
        if !LEVELS.contains(&input.unit_level.as_str()) {
            return Err(bad(
                "invalid_experiment",
                format!("the unit level is one of {}", LEVELS.join(", ")),
            ));
        }
        if !(input.pre_from < input.start && input.start <= input.end)
            || (input.end - input.pre_from).num_days() > 800
        {
            return Err(bad(
                "invalid_experiment",
                "the periods must run pre_from < start ≤ end within 800 days",
            ));
        }
        let now = self.now();
        let today = self.to_local(now).date();
        if input.start <= today {
            return Err(bad(
                "experiment_already_started",
                "an experiment is registered before its start day",
            ));
        }
        let mut tx = self.db().begin_write().await?;
        let mut units: Vec<i64> = reference::list_areas(&mut tx)
            .await?
            .into_iter()
            .filter(|a| a.level.as_str() == input.unit_level)
            .map(|a| a.id)
            .collect();
        if units.len() < 4 {
            return Err(bad(
                "too_few_units",
                "an experiment needs at least 4 units at its level",
            ));
        }
        let seed = input.seed.unwrap_or_else(rand::random);
        units.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let half = units.len() / 2;
        let (treated, control) = units.split_at(half);
        let join = |list: &[i64]| {
            let mut list = list.to_vec();
            list.sort_unstable();
            list.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let row = store::insert_experiment(
            &mut tx,
            &SandboxExperimentRow {
                id: 0,
                name: name.to_owned(),
                policy: input.policy.trim().to_owned(),
                indicator: input.indicator.clone(),
                unit_level: input.unit_level.clone(),
                pre_from: input.pre_from.to_string(),
                start_day: input.start.to_string(),
                end_day: input.end.to_string(),
                seed: seed as i64,
                treated: join(treated),
                control: join(control),
                created_by: Some(actor.user_id.0),
                registered_at: now,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "sandbox_experiment_register",
            "sandbox_experiment",
            row.id,
            "",
            "registered",
            &serde_json::json!({
                "indicator": row.indicator, "unit_level": row.unit_level,
                "pre_from": row.pre_from, "start": row.start_day, "end": row.end_day,
                "seed": row.seed, "treated": row.treated, "control": row.control,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Lists experiments, newest first.
    pub async fn sandbox_experiments(&self, actor: &Actor) -> Result<Vec<SandboxExperimentRow>> {
        require_role(actor, SANDBOX_ROLES)?;
        let mut conn = self.db().read().await?;
        Ok(store::list_experiments(&mut conn).await?)
    }

    /// Estimates an experiment's effect from the live cases (stored and audited); before the
    /// end day the estimate is marked interim.
    pub async fn sandbox_estimate_experiment(&self, actor: &Actor, id: i64) -> Result<DidEstimate> {
        require_role(actor, SANDBOX_ROLES)?;
        let mut conn = self.db().read_snapshot().await?;
        let row = store::get_experiment(&mut conn, id).await?;
        let day = |text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| ServiceError::internal())
        };
        let (pre_from, start, end) = (
            day(&row.pre_from)?,
            day(&row.start_day)?,
            day(&row.end_day)?,
        );
        let now = self.now();
        let today = self.to_local(now).date();
        if today < start {
            return Err(bad(
                "experiment_not_started",
                "the experiment has not started yet",
            ));
        }
        let utc = |d: NaiveDate| self.from_local(d.and_time(NaiveTime::MIN));
        let cases =
            store::experiment_cases(&mut conn, utc(pre_from), utc(end + Duration::days(1))).await?;
        drop(conn);
        let start_utc = utc(start);
        let treated = ids(&row.treated);
        let control = ids(&row.control);
        // Per unit and period: (numerator, denominator).
        let mut tally: HashMap<(i64, bool), (f64, f64)> = HashMap::new();
        for case in &cases {
            let Some(unit) = case
                .area_path
                .split('/')
                .filter_map(|p| p.parse::<i64>().ok())
                .find(|id| treated.contains(id) || control.contains(id))
            else {
                continue;
            };
            let registered = !matches!(case.state.as_str(), "received" | "voided");
            let closed = matches!(case.state.as_str(), "closed" | "evaluated");
            let (num, den) = match row.indicator.as_str() {
                "closure_rate" => (closed, registered),
                "on_time_closure_rate" => (
                    closed && case.closure_type.as_deref() == Some("normal"),
                    closed,
                ),
                _ => (case.rework_count > 0, case.feedback_at.is_some()),
            };
            if den {
                let slot = tally
                    .entry((unit, case.created_at >= start_utc))
                    .or_default();
                slot.0 += f64::from(u8::from(num));
                slot.1 += 1.0;
            }
        }
        let changes = |units: &[i64]| -> Vec<f64> {
            units
                .iter()
                .filter_map(|u| {
                    let pre = tally.get(&(*u, false))?;
                    let post = tally.get(&(*u, true))?;
                    Some(post.0 / post.1 - pre.0 / pre.1)
                })
                .collect()
        };
        let estimate = did(
            &row.indicator,
            &changes(&treated),
            &changes(&control),
            today <= end,
        )?;
        let body = serde_json::to_string(&estimate).map_err(|_| ServiceError::internal())?;
        let mut tx = self.db().begin_write().await?;
        store::insert_estimate(&mut tx, id, &body, now).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "sandbox_experiment_estimate",
            "sandbox_experiment",
            id,
            "registered",
            "registered",
            &serde_json::to_value(&estimate).map_err(|_| ServiceError::internal())?,
        )
        .await?;
        tx.commit().await?;
        Ok(estimate)
    }
}

/// The difference in mean change between treated and control units, with Welch's interval.
pub fn did(
    indicator: &str,
    treated: &[f64],
    control: &[f64],
    interim: bool,
) -> Result<DidEstimate> {
    if treated.len() < 2 || control.len() < 2 {
        return Err(bad(
            "too_few_units",
            "the estimate needs at least 2 treated and 2 control units with cases in both periods",
        ));
    }
    let stats = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (mean, var, n)
    };
    let (mt, vt, nt) = stats(treated);
    let (mc, vc, nc) = stats(control);
    let (at, ac) = (vt / nt, vc / nc);
    let se = (at + ac).sqrt();
    let df = if at + ac > 0.0 {
        (at + ac).powi(2) / (at.powi(2) / (nt - 1.0) + ac.powi(2) / (nc - 1.0))
    } else {
        nt + nc - 2.0
    };
    // Degrees of freedom rounded down: a slightly wider, conservative interval.
    let t = super::report::t975(df.floor().max(1.0) as usize);
    let effect = mt - mc;
    Ok(DidEstimate {
        indicator: indicator.to_owned(),
        effect,
        lo: effect - t * se,
        hi: effect + t * se,
        std_error: se,
        treated_units: treated.len(),
        control_units: control.len(),
        treated_change: mt,
        control_change: mc,
        interim,
    })
}
