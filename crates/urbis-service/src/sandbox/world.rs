//! Turning a scenario into a run: reading its period of history on one read snapshot, fitting the
//! distributions, resolving every change against the reference data (codes → ids, limits by
//! category with ancestor fallback, the calendar, dispatch rules, capacities), and simulating
//! the baseline and the scenario seed by seed on the machine's cores.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use urbis_domain::area::AreaLevel;
use urbis_domain::calendar::{ClockType, WorkingCalendar};
use urbis_storage::{reference, sandbox as store};

use super::model::{self, Fitted, HistCase};
use super::report::{self, Report, ReportInputs, SeedSummary};
use super::scenario::{MAX_SIM_CASES, Scenario};
use super::sim::{self, SimCase, World};
use crate::{Result, ServiceError, Services};

/// Most history cases a run reads.
const MAX_HISTORY: i64 = 2_000_000;
/// Longest backlog series, in days.
const MAX_DAYS: i64 = 800;

/// One side of the comparison, fully resolved.
struct Side {
    cases: Vec<SimCase>,
    calendar: WorkingCalendar,
    limits: HashMap<Option<i64>, (ClockType, u32)>,
    capacity: HashMap<i64, f64>,
    triage_shift_minutes: i64,
}

/// Everything a run needs, read and resolved; simulating needs no store.
pub struct Prepared {
    name: String,
    seed: u64,
    seeds: u32,
    fitted: Fitted,
    history_cases: usize,
    baseline: Side,
    changed: Side,
    default_limit: (ClockType, u32),
    changed_default_limit: (ClockType, u32),
    horizon: NaiveDateTime,
    first_day: NaiveDate,
    days: Vec<String>,
    dept_names: HashMap<i64, (String, String)>,
    category_names: HashMap<i64, (String, String)>,
    area_names: HashMap<i64, (String, String)>,
}

fn bad(message: impl Into<String>) -> ServiceError {
    ServiceError::invalid("invalid_scenario", message)
}

/// Reads the history and resolves the scenario.
pub async fn prepare(services: &Services, scenario: &Scenario) -> Result<Prepared> {
    let mut conn = services.db().read_snapshot().await?;
    let from_local = scenario.from.and_time(NaiveTime::MIN);
    let to_local = (scenario.to + Duration::days(1)).and_time(NaiveTime::MIN);
    let from = services.from_local(from_local);
    let to = services.from_local(to_local);
    let now_local = services.to_local(services.now());
    let horizon = now_local.min(to_local + Duration::days(90));
    if horizon <= from_local {
        return Err(bad("the period has not started yet"));
    }
    let rows = store::history_cases(&mut conn, from, to, MAX_HISTORY).await?;
    let steps = store::history_steps(&mut conn, from, to).await?;
    let areas = reference::list_areas(&mut conn).await?;
    let depts = reference::list_depts(&mut conn).await?;
    let categories = reference::list_categories(&mut conn).await?;
    let stored_limits = reference::list_time_limits(&mut conn).await?;
    let base_calendar = crate::sla::load(&mut conn).await?;
    let version_rules = match scenario.responsibility_version {
        Some(version) => {
            let rules = reference::list_rules(&mut conn, Some(version)).await?;
            if rules.is_empty() {
                return Err(bad(format!(
                    "responsibility list version {version} has no rules"
                )));
            }
            rules
        }
        None => Vec::new(),
    };
    drop(conn);

    let mut steps_by_case: HashMap<i64, Vec<(NaiveDateTime, String)>> = HashMap::new();
    for step in steps {
        let entry = steps_by_case.entry(step.entity_id).or_default();
        match step.detail {
            // A bulk-loaded history is one audit record listing its steps.
            Some(detail) => entry.extend(
                bulk_steps(&detail)
                    .into_iter()
                    .map(|(at, action)| (services.to_local(at), action)),
            ),
            None => entry.push((services.to_local(step.at), step.action)),
        }
    }
    let history: Vec<HistCase> = rows
        .into_iter()
        .map(|row| HistCase {
            id: row.id,
            reported: services.to_local(row.created_at),
            category: row.category_id,
            area_id: row.area_id,
            steps: steps_by_case.remove(&row.id).unwrap_or_default(),
            area_path: row.area_path,
            lead: row.lead_dept_id,
            closure_type: row.closure_type,
        })
        .collect();
    if history.is_empty() {
        return Err(bad("the period holds no cases"));
    }
    let fitted = model::fit(&history, horizon);

    let dept_by_code: HashMap<&str, i64> = depts.iter().map(|d| (d.code.as_str(), d.id)).collect();
    let category_by_code: HashMap<&str, i64> =
        categories.iter().map(|c| (c.code.as_str(), c.id)).collect();
    let area_by_code: HashMap<&str, (i64, &str)> = areas
        .iter()
        .map(|a| (a.code.as_str(), (a.id, a.path.as_str())))
        .collect();
    let parent: HashMap<i64, Option<i64>> =
        categories.iter().map(|c| (c.id, c.parent_id)).collect();
    let area_level: HashMap<i64, AreaLevel> = areas.iter().map(|a| (a.id, a.level)).collect();

    // Time limits: the scenario's change at the nearest level, else the stored one, else default.
    let mut overrides: HashMap<i64, (ClockType, u32)> = HashMap::new();
    for change in &scenario.time_limits {
        let id = *category_by_code
            .get(change.category.as_str())
            .ok_or_else(|| bad(format!("unknown category `{}`", change.category)))?;
        let clock = ClockType::parse(&change.clock).map_err(|err| bad(err.to_string()))?;
        overrides.insert(id, (clock, change.amount));
    }
    let stored: HashMap<i64, (ClockType, u32)> = stored_limits
        .iter()
        .filter(|l| l.amount >= 0)
        .filter_map(|l| {
            let clock = ClockType::parse(&l.clock).ok()?;
            Some((l.category_id, (clock, u32::try_from(l.amount).ok()?)))
        })
        .collect();
    let resolve = |with_changes: bool| {
        let mut limits = HashMap::new();
        for category in &categories {
            let mut next = Some(category.id);
            let mut depth = 0;
            while let Some(id) = next {
                let hit = with_changes
                    .then(|| overrides.get(&id))
                    .flatten()
                    .or_else(|| stored.get(&id));
                if let Some((clock, amount)) = hit {
                    let amount = if with_changes {
                        scale_amount(*amount, scenario.time_limit_factor)
                    } else {
                        *amount
                    };
                    limits.insert(Some(category.id), (*clock, amount));
                    break;
                }
                next = parent.get(&id).copied().flatten();
                depth += 1;
                if depth > 8 {
                    break;
                }
            }
        }
        limits
    };

    // The calendar: office hours replaced, days added.
    let mut changed_calendar = base_calendar.clone();
    if scenario.office_hours.is_some()
        || !scenario.holidays.is_empty()
        || !scenario.makeup_workdays.is_empty()
    {
        let windows = match &scenario.office_hours {
            Some(hours) => crate::sla::parse_office_hours(hours)?,
            None => base_calendar.windows().to_vec(),
        };
        let mut holidays = base_calendar.holidays().clone();
        let mut makeups = base_calendar.makeup_workdays().clone();
        for day in &scenario.holidays {
            makeups.remove(day);
            holidays.insert(*day);
        }
        for day in &scenario.makeup_workdays {
            holidays.remove(day);
            makeups.insert(*day);
        }
        changed_calendar =
            WorkingCalendar::new(windows, holidays, makeups).map_err(|err| bad(err.to_string()))?;
    }

    // Dispatch: the scenario's rules, then the chosen version's, most specific area first.
    let mut rules: Vec<(i64, String, i64, bool)> = Vec::new();
    for change in &scenario.dispatch {
        let category = *category_by_code
            .get(change.category.as_str())
            .ok_or_else(|| bad(format!("unknown category `{}`", change.category)))?;
        let path = match &change.area {
            Some(code) => area_by_code
                .get(code.as_str())
                .ok_or_else(|| bad(format!("unknown area `{code}`")))?
                .1
                .to_owned(),
            None => "/".to_owned(),
        };
        let lead = *dept_by_code
            .get(change.lead.as_str())
            .ok_or_else(|| bad(format!("unknown department `{}`", change.lead)))?;
        rules.push((category, path, lead, true));
    }
    let area_path: HashMap<i64, &str> = areas.iter().map(|a| (a.id, a.path.as_str())).collect();
    for rule in &version_rules {
        if let Some(path) = area_path.get(&rule.area_id) {
            rules.push((
                rule.category_id,
                (*path).to_owned(),
                rule.lead_dept_id,
                false,
            ));
        }
    }
    let lead_for = |case: &HistCase| -> Option<i64> {
        let mut category = case.category;
        let mut depth = 0;
        while let Some(id) = category {
            let best = rules
                .iter()
                .filter(|r| r.0 == id && case.area_path.starts_with(&r.1))
                .max_by_key(|r| (r.3, r.1.len()));
            if let Some(rule) = best {
                return Some(rule.2);
            }
            category = parent.get(&id).copied().flatten();
            depth += 1;
            if depth > 8 {
                break;
            }
        }
        case.lead
    };

    let mut capacity = HashMap::new();
    for change in &scenario.capacity {
        let dept = *dept_by_code
            .get(change.dept.as_str())
            .ok_or_else(|| bad(format!("unknown department `{}`", change.dept)))?;
        let per_day = match (change.per_day_explicit(), change.factor) {
            (Some(per_day), _) => per_day,
            (None, Some(factor)) => {
                factor
                    * fitted
                        .best_rate
                        .get(&dept)
                        .copied()
                        .unwrap_or(1.0)
                        .max(1.0 / 7.0)
            }
            (None, None) => return Err(bad("a capacity needs a size or a factor")),
        };
        capacity.insert(dept, per_day.max(0.01));
    }

    // The area a case is counted in: its street, else its district, else its own.
    let counted_area = |case: &HistCase| -> i64 {
        let ids: Vec<i64> = case
            .area_path
            .split('/')
            .filter_map(|p| p.parse().ok())
            .collect();
        for level in [AreaLevel::Street, AreaLevel::District] {
            if let Some(id) = ids.iter().find(|id| area_level.get(id) == Some(&level)) {
                return *id;
            }
        }
        case.area_id
    };

    let baseline_cases: Vec<SimCase> = history
        .iter()
        .map(|case| SimCase {
            reported: case.reported,
            category: case.category,
            area_path: case.area_path.clone(),
            area: counted_area(case),
            lead: case.lead,
        })
        .collect();
    let copies = demand_copies(&history, scenario, from_local, to_local)?;
    let changed_cases: Vec<SimCase> = copies
        .into_iter()
        .map(|(idx, reported)| {
            let case = &history[idx];
            SimCase {
                reported,
                category: case.category,
                area_path: case.area_path.clone(),
                area: counted_area(case),
                lead: lead_for(case),
            }
        })
        .collect();
    let triage_shift_minutes = match scenario.classifier_routing {
        Some(false) => i64::from(scenario.manual_triage_minutes),
        Some(true) => -i64::from(scenario.manual_triage_minutes),
        None => 0,
    };
    let first_day = scenario.from;
    let n_days = ((horizon.date() - first_day).num_days() + 1).clamp(1, MAX_DAYS);
    let days = (0..n_days)
        .map(|d| {
            (first_day + Duration::days(d))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect();
    Ok(Prepared {
        name: scenario.name.trim().to_owned(),
        seed: scenario.seed,
        seeds: scenario.seeds,
        history_cases: history.len(),
        baseline: Side {
            cases: baseline_cases,
            calendar: base_calendar,
            limits: resolve(false),
            capacity: HashMap::new(),
            triage_shift_minutes: 0,
        },
        changed: Side {
            cases: changed_cases,
            calendar: changed_calendar,
            limits: resolve(true),
            capacity,
            triage_shift_minutes,
        },
        fitted,
        default_limit: {
            let (clock, amount) = services.config().default_limit;
            (clock, amount)
        },
        changed_default_limit: {
            let (clock, amount) = services.config().default_limit;
            (clock, scale_amount(amount, scenario.time_limit_factor))
        },
        horizon,
        first_day,
        days,
        dept_names: depts
            .iter()
            .map(|d| (d.id, (d.code.clone(), d.name.clone())))
            .collect(),
        category_names: categories
            .iter()
            .map(|c| (c.id, (c.code.clone(), c.name.clone())))
            .collect(),
        area_names: areas
            .iter()
            .map(|a| (a.id, (a.code.clone(), a.name.clone())))
            .collect(),
    })
}

/// Reads the steps of a `bulk_load` audit record: `{"steps": [["register", "<time>"], …]}`.
fn bulk_steps(detail: &str) -> Vec<(chrono::DateTime<chrono::Utc>, String)> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(detail) else {
        return Vec::new();
    };
    value["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|step| {
            let name = step.get(0)?.as_str()?;
            let at = crate::time::from_db(step.get(1)?.as_str()?).ok()?;
            Some((at, name.to_owned()))
        })
        .collect()
}

/// Multiplies a time limit by the scenario's factor (at least one unit).
fn scale_amount(amount: u32, factor: Option<f64>) -> u32 {
    match factor {
        Some(factor) => ((f64::from(amount) * factor).round() as u32).clamp(1, 10_000),
        None => amount,
    }
}

/// Each history case stands for `demand_factor` appeals: its own, then copies spread up to half a
/// day around it (deterministic for the scenario's seed).
fn demand_copies(
    history: &[HistCase],
    scenario: &Scenario,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<(usize, NaiveDateTime)>> {
    let whole = scenario.demand_factor.floor() as usize;
    let fraction = scenario.demand_factor - scenario.demand_factor.floor();
    let expected = (history.len() as f64 * scenario.demand_factor).ceil() as usize;
    if expected > MAX_SIM_CASES {
        return Err(bad(format!(
            "the scenario would simulate {expected} cases; at most {MAX_SIM_CASES}"
        )));
    }
    let mut state = scenario.seed ^ 0xA5A5_5A5A_DEAD_BEEF;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = Vec::with_capacity(expected);
    for (idx, case) in history.iter().enumerate() {
        let n = whole + usize::from(next() < fraction);
        for copy in 0..n {
            let at = if copy == 0 {
                case.reported
            } else {
                let shift = Duration::minutes(((next() - 0.5) * 24.0 * 60.0) as i64);
                (case.reported + shift).clamp(from, to - Duration::minutes(1))
            };
            out.push((idx, at));
        }
    }
    out.sort_by_key(|(_, at)| *at);
    Ok(out)
}

impl Prepared {
    /// Returns the number of seeds.
    pub fn seeds(&self) -> u32 {
        self.seeds
    }

    fn world<'a>(&'a self, side: &'a Side, changed: bool) -> World<'a> {
        World {
            fitted: &self.fitted,
            calendar: &side.calendar,
            limits: &side.limits,
            default_limit: if changed {
                self.changed_default_limit
            } else {
                self.default_limit
            },
            capacity: &side.capacity,
            triage_shift_minutes: side.triage_shift_minutes,
            horizon: self.horizon,
            first_day: self.first_day,
        }
    }

    fn summarise(&self, changed: bool, seed: u64) -> (SeedSummary, u64) {
        let side = if changed {
            &self.changed
        } else {
            &self.baseline
        };
        let outcome = sim::run(&self.world(side, changed), &side.cases, seed);
        let keys: Vec<_> = side
            .cases
            .iter()
            .map(|c| (c.lead, c.category, c.area))
            .collect();
        (
            SeedSummary::of(&outcome, &keys, self.days.len()),
            outcome.refused,
        )
    }

    /// Simulates both sides for every seed (seeds spread over the cores); `done` counts seeds.
    pub fn simulate(&self, done: &AtomicU64) -> Report {
        let started = std::time::Instant::now();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, self.seeds as usize);
        let seeds: Vec<u64> = (0..u64::from(self.seeds))
            .map(|i| self.seed.wrapping_add(i))
            .collect();
        let mut results: Vec<(u64, SeedSummary, SeedSummary, u64)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let mine: Vec<u64> = seeds.iter().copied().skip(t).step_by(threads).collect();
                    scope.spawn(move || {
                        mine.into_iter()
                            .map(|seed| {
                                let (base, refused_a) = self.summarise(false, seed);
                                let (changed, refused_b) = self.summarise(true, seed);
                                done.fetch_add(1, Ordering::Relaxed);
                                (seed, base, changed, refused_a + refused_b)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        results.sort_by_key(|r| r.0);
        let refused = results.iter().map(|r| r.3).sum();
        let (base, changed): (Vec<_>, Vec<_>) = results.into_iter().map(|r| (r.1, r.2)).unzip();
        let simulate_ms = started.elapsed().as_millis() as u64;
        report::build(
            ReportInputs {
                scenario: &self.name,
                cases: self.changed.cases.len(),
                history_cases: self.history_cases,
                observed: &self.fitted.observed,
                days: self.days.clone(),
                dept_names: &self.dept_names,
                category_names: &self.category_names,
                area_names: &self.area_names,
                refused,
                simulate_ms,
            },
            &base,
            &changed,
        )
    }
}

/// A scenario of the last `days` days with the current time limits and office hours written out.
pub async fn template(services: &Services, days: i64) -> Result<Scenario> {
    let mut conn = services.db().read().await?;
    let categories = reference::list_categories(&mut conn).await?;
    let limits = reference::list_time_limits(&mut conn).await?;
    let hours = reference::get_setting(&mut conn, "office_hours").await?;
    let code: HashMap<i64, &str> = categories.iter().map(|c| (c.id, c.code.as_str())).collect();
    let today = services.to_local(services.now()).date();
    let mut scenario = Scenario::unchanged("当前设置", today - Duration::days(days - 1), today);
    scenario.time_limits = limits
        .iter()
        .filter(|l| l.amount > 0)
        .filter_map(|l| {
            Some(super::scenario::TimeLimitChange {
                category: (*code.get(&l.category_id)?).to_owned(),
                clock: l.clock.clone(),
                amount: u32::try_from(l.amount).ok()?.min(1000),
            })
        })
        .take(super::scenario::MAX_CHANGES)
        .collect();
    scenario.office_hours = hours;
    Ok(scenario)
}
