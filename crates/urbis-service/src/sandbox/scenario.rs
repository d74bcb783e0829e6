//! The scenario model: a period of the city's history plus the changes to try on it. Written as a
//! TOML file for `urbis sandbox run`, as JSON through the API, and stored as JSON.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{Result, ServiceError};

/// Most seeds a run may ask for.
pub const MAX_SEEDS: u32 = 100;
/// Most simulated cases of one run (after the demand factor).
pub const MAX_SIM_CASES: usize = 2_000_000;
/// Most entries in each list of changes.
pub const MAX_CHANGES: usize = 500;

/// A scenario: which history to replay and what to change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// The report days of the history, inclusive, city-local.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The simulation's seeds are `seed`, `seed + 1`, … (`seeds` of them); one seed gives no
    /// interval.
    #[serde(default = "default_seeds")]
    pub seeds: u32,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How many appeals each historical appeal stands for (1 = the history as it was; 2.5 = two
    /// or three copies of each, spread around its time).
    #[serde(default = "one")]
    pub demand_factor: f64,
    /// Time limits by category code (the category and its descendants without a change of their own).
    #[serde(default)]
    pub time_limits: Vec<TimeLimitChange>,
    /// Every time limit (after the changes above) multiplied by this factor, e.g. 2 doubles them.
    #[serde(default)]
    pub time_limit_factor: Option<f64>,
    /// Office hours like `09:00-12:00,13:30-18:00`, replacing the city's.
    #[serde(default)]
    pub office_hours: Option<String>,
    /// Days added to the calendar as holidays or make-up working days (调休).
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    #[serde(default)]
    pub makeup_workdays: Vec<NaiveDate>,
    /// A stored responsibility-list version to dispatch by (its rules take the lead department).
    #[serde(default)]
    pub responsibility_version: Option<i64>,
    /// Dispatch rules on top: category code (and optionally area code) → lead department code.
    #[serde(default)]
    pub dispatch: Vec<DispatchChange>,
    /// Department capacity: cases a department can finish per day.
    #[serde(default)]
    pub capacity: Vec<CapacityChange>,
    /// Routing by the classifier: `false` adds `manual_triage_minutes` to every registration,
    /// `true` takes up to that much off it; unset keeps the history's.
    #[serde(default)]
    pub classifier_routing: Option<bool>,
    #[serde(default = "default_triage")]
    pub manual_triage_minutes: u32,
}

/// A category's new time limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeLimitChange {
    pub category: String,
    /// `urgent_hour`, `working_hour`, `working_day` or `natural_day`.
    pub clock: String,
    pub amount: u32,
}

/// A dispatch rule of the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchChange {
    pub category: String,
    #[serde(default)]
    pub area: Option<String>,
    pub lead: String,
}

/// A department's capacity: `handlers × cases_per_handler_day` cases a day, or `factor` times the
/// best seven-day rate it reached in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityChange {
    pub dept: String,
    #[serde(default)]
    pub handlers: Option<u32>,
    #[serde(default)]
    pub cases_per_handler_day: Option<f64>,
    #[serde(default)]
    pub factor: Option<f64>,
}

fn default_seeds() -> u32 {
    10
}

fn default_seed() -> u64 {
    1
}

fn one() -> f64 {
    1.0
}

fn default_triage() -> u32 {
    30
}

fn bad(message: impl Into<String>) -> ServiceError {
    ServiceError::invalid("invalid_scenario", message)
}

impl Scenario {
    /// Returns a scenario of the period with no change.
    pub fn unchanged(name: &str, from: NaiveDate, to: NaiveDate) -> Scenario {
        Scenario {
            name: name.to_owned(),
            from,
            to,
            seeds: default_seeds(),
            seed: default_seed(),
            demand_factor: 1.0,
            time_limits: Vec::new(),
            time_limit_factor: None,
            office_hours: None,
            holidays: Vec::new(),
            makeup_workdays: Vec::new(),
            responsibility_version: None,
            dispatch: Vec::new(),
            capacity: Vec::new(),
            classifier_routing: None,
            manual_triage_minutes: default_triage(),
        }
    }

    /// Checks bounds and shapes (references to codes are checked against the store later).
    pub fn validate(&self) -> Result<()> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(bad("a scenario needs a name of 1 to 100 characters"));
        }
        if self.to < self.from || (self.to - self.from).num_days() > 800 {
            return Err(bad("the period must run forward and span at most 800 days"));
        }
        if self.seeds == 0 || self.seeds > MAX_SEEDS {
            return Err(bad(format!("seeds must be 1 to {MAX_SEEDS}")));
        }
        if !self.demand_factor.is_finite()
            || self.demand_factor <= 0.0
            || self.demand_factor > 1000.0
        {
            return Err(bad("demand_factor must be above 0 and at most 1000"));
        }
        if self.time_limits.len() + self.dispatch.len() + self.capacity.len() > MAX_CHANGES
            || self.holidays.len() + self.makeup_workdays.len() > MAX_CHANGES
        {
            return Err(bad(format!("at most {MAX_CHANGES} changes of each kind")));
        }
        for limit in &self.time_limits {
            urbis_domain::calendar::ClockType::parse(&limit.clock)
                .map_err(|_| bad(format!("unknown clock type `{}`", limit.clock)))?;
            if limit.amount == 0 || limit.amount > 1000 {
                return Err(bad("a time limit's amount must be 1 to 1000"));
            }
        }
        if let Some(factor) = self.time_limit_factor
            && !(factor.is_finite() && factor > 0.0 && factor <= 100.0)
        {
            return Err(bad("time_limit_factor must be above 0 and at most 100"));
        }
        for capacity in &self.capacity {
            let per_day = capacity.per_day_explicit();
            match (per_day, capacity.factor) {
                (Some(rate), None) if rate.is_finite() && rate > 0.0 && rate <= 100_000.0 => {}
                (None, Some(factor)) if factor.is_finite() && factor > 0.0 && factor <= 100.0 => {}
                _ => {
                    return Err(bad(format!(
                        "capacity of {} needs handlers and cases_per_handler_day (above 0), or a factor (0–100]",
                        capacity.dept
                    )));
                }
            }
        }
        if self.manual_triage_minutes > 7 * 24 * 60 {
            return Err(bad("manual_triage_minutes is at most a week"));
        }
        if let Some(hours) = &self.office_hours {
            crate::sla::parse_office_hours(hours)?;
        }
        Ok(())
    }

    /// Returns whether the scenario changes nothing (a calibration run).
    pub fn is_unchanged(&self) -> bool {
        self.demand_factor == 1.0
            && self.time_limits.is_empty()
            && self.time_limit_factor.is_none()
            && self.office_hours.is_none()
            && self.holidays.is_empty()
            && self.makeup_workdays.is_empty()
            && self.responsibility_version.is_none()
            && self.dispatch.is_empty()
            && self.capacity.is_empty()
            && self.classifier_routing.is_none()
    }
}

impl CapacityChange {
    /// Returns the explicit cases per day, when both parts are given.
    pub fn per_day_explicit(&self) -> Option<f64> {
        match (self.handlers, self.cases_per_handler_day) {
            (Some(handlers), Some(per_handler)) => Some(f64::from(handlers) * per_handler),
            _ => None,
        }
    }
}
