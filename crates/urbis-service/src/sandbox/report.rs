//! A run's results: the indicators of the baseline (the history replayed unchanged) and of the
//! scenario over all seeds, with 95% intervals, and the XLSX workbook.
//!
//! An indicator's interval is a prediction interval for one more replay, mean ± t·sd·√(1 + 1/n)
//! over the seeds, since the real history is one replay too; a change's interval is the
//! confidence interval of the mean per-seed difference (both sides drew the same random numbers).

use std::collections::HashMap;

use serde::Serialize;

use super::model::Observed;
use super::sim::RunOutcome;

/// A value with its 95% interval.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The headline indicators of one side.
#[derive(Debug, Clone, Serialize)]
pub struct Indicators {
    /// 结案率 = closed / registered.
    pub closure_rate: Estimate,
    /// 按期结案率 = closed as 正常 / closed.
    pub on_time_closure_rate: Estimate,
    /// 返工率 = cases reworked / cases handled.
    pub rework_rate: Estimate,
    pub registered: Estimate,
    pub closed: Estimate,
    pub overdue: Estimate,
}

/// One row of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub indicator: String,
    pub label_zh: String,
    pub observed: Option<f64>,
    pub baseline: Estimate,
    pub scenario: Estimate,
    pub difference: Estimate,
    /// Whether the difference's interval excludes zero.
    pub significant: bool,
}

/// A keyed count on both sides (department workload, overdue by category or area).
#[derive(Debug, Clone, Serialize)]
pub struct KeyedRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub baseline: Estimate,
    pub scenario: Estimate,
}

/// The whole result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub cases: usize,
    pub history_cases: usize,
    pub seeds: u32,
    pub observed: ObservedRates,
    pub baseline: Indicators,
    pub changed: Indicators,
    pub comparison: Vec<Comparison>,
    /// Open cases at the end of each day, from the first report day.
    pub backlog_days: Vec<String>,
    pub backlog_baseline: Vec<Estimate>,
    pub backlog_scenario: Vec<Estimate>,
    pub workload: Vec<KeyedRow>,
    pub overdue_by_category: Vec<KeyedRow>,
    pub overdue_by_area: Vec<KeyedRow>,
    /// Transitions the workflow refused (0 unless the model is wrong).
    pub refused: u64,
    pub simulate_ms: u64,
    pub cases_per_second: f64,
}

/// The real history's indicators at the time it was read.
#[derive(Debug, Clone, Serialize)]
pub struct ObservedRates {
    pub registered: u64,
    pub closure_rate: Option<f64>,
    pub on_time_closure_rate: Option<f64>,
    pub rework_rate: Option<f64>,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

impl ObservedRates {
    pub(crate) fn of(observed: &Observed) -> ObservedRates {
        ObservedRates {
            registered: observed.registered,
            closure_rate: ratio(observed.closed as f64, observed.registered as f64),
            on_time_closure_rate: ratio(observed.closed_on_time as f64, observed.closed as f64),
            rework_rate: ratio(observed.reworked as f64, observed.handled as f64),
        }
    }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub(crate) fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df - 1],
        31..=60 => 2.00,
        _ => 1.96,
    }
}

fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let mean = values.iter().sum::<f64>() / n;
    let var = if values.len() > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Returns the prediction interval of one more draw of a quantity that is never negative (a
/// count or a rate), cut at zero.
pub fn predictive(values: &[f64]) -> Estimate {
    let (mean, sd) = mean_sd(values);
    let n = values.len();
    let half = if n > 1 {
        t975(n - 1) * sd * (1.0 + 1.0 / n as f64).sqrt()
    } else {
        0.0
    };
    Estimate {
        mean,
        lo: (mean - half).max(0.0),
        hi: mean + half,
    }
}

/// Returns the confidence interval of the mean.
pub fn confidence(values: &[f64]) -> Estimate {
    let (mean, sd) = mean_sd(values);
    let n = values.len();
    let half = if n > 1 {
        t975(n - 1) * sd / (n as f64).sqrt()
    } else {
        0.0
    };
    Estimate {
        mean,
        lo: mean - half,
        hi: mean + half,
    }
}

/// The per-seed summary of one side.
#[derive(Debug, Clone, Default)]
pub struct SeedSummary {
    pub registered: f64,
    pub closed: f64,
    pub on_time: f64,
    pub handled: f64,
    pub reworked: f64,
    pub overdue: f64,
    pub backlog: Vec<f64>,
    pub workload: HashMap<i64, f64>,
    pub overdue_by_category: HashMap<i64, f64>,
    pub overdue_by_area: HashMap<i64, f64>,
}

impl SeedSummary {
    /// Summarises one seed; `keys` gives each case's (department, category, area).
    pub fn of(run: &RunOutcome, keys: &[(Option<i64>, Option<i64>, i64)], days: usize) -> Self {
        let mut summary = SeedSummary {
            backlog: vec![0.0; days],
            ..SeedSummary::default()
        };
        let mut delta = vec![0i64; days + 1];
        for (case, (dept, category, area)) in run.cases.iter().zip(keys) {
            summary.registered += f64::from(u8::from(case.registered));
            summary.closed += f64::from(u8::from(case.closed));
            summary.on_time += f64::from(u8::from(case.closed && case.on_time));
            summary.handled += f64::from(u8::from(case.handled));
            summary.reworked += f64::from(u8::from(case.reworked));
            if case.feedbacks > 0
                && let Some(dept) = dept
            {
                *summary.workload.entry(*dept).or_default() += f64::from(case.feedbacks);
            }
            if case.overdue || (case.closed && !case.on_time) {
                summary.overdue += 1.0;
                *summary
                    .overdue_by_category
                    .entry(category.unwrap_or(0))
                    .or_default() += 1.0;
                *summary.overdue_by_area.entry(*area).or_default() += 1.0;
            }
            if let Some(open) = case.open_day {
                let start = open.clamp(0, days as i64) as usize;
                let end = case.end_day.unwrap_or(days as i64).clamp(0, days as i64) as usize;
                if start < end {
                    delta[start] += 1;
                    delta[end] -= 1;
                }
            }
        }
        let mut open = 0i64;
        for (day, slot) in summary.backlog.iter_mut().enumerate() {
            open += delta[day];
            *slot = open as f64;
        }
        summary
    }

    fn closure_rate(&self) -> f64 {
        ratio(self.closed, self.registered).unwrap_or(0.0)
    }

    fn on_time_rate(&self) -> f64 {
        ratio(self.on_time, self.closed).unwrap_or(0.0)
    }

    fn rework_rate(&self) -> f64 {
        ratio(self.reworked, self.handled).unwrap_or(0.0)
    }
}

fn side(seeds: &[SeedSummary]) -> Indicators {
    let of = |f: fn(&SeedSummary) -> f64| predictive(&seeds.iter().map(f).collect::<Vec<_>>());
    Indicators {
        closure_rate: of(SeedSummary::closure_rate),
        on_time_closure_rate: of(SeedSummary::on_time_rate),
        rework_rate: of(SeedSummary::rework_rate),
        registered: of(|s| s.registered),
        closed: of(|s| s.closed),
        overdue: of(|s| s.overdue),
    }
}

fn keyed(
    base: &[SeedSummary],
    changed: &[SeedSummary],
    pick: fn(&SeedSummary) -> &HashMap<i64, f64>,
    names: &HashMap<i64, (String, String)>,
) -> Vec<KeyedRow> {
    let mut ids: Vec<i64> = base
        .iter()
        .chain(changed)
        .flat_map(|s| pick(s).keys().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut rows: Vec<KeyedRow> = ids
        .into_iter()
        .map(|id| {
            let values = |side: &[SeedSummary]| {
                side.iter()
                    .map(|s| pick(s).get(&id).copied().unwrap_or(0.0))
                    .collect::<Vec<_>>()
            };
            let (code, name) = names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| (id.to_string(), id.to_string()));
            KeyedRow {
                id,
                code,
                name,
                baseline: predictive(&values(base)),
                scenario: predictive(&values(changed)),
            }
        })
        .collect();
    rows.sort_by(|a, b| b.scenario.mean.total_cmp(&a.scenario.mean));
    rows.truncate(200);
    rows
}

/// The inputs of [`build`] besides the per-seed summaries.
pub struct ReportInputs<'a> {
    pub scenario: &'a str,
    pub cases: usize,
    pub history_cases: usize,
    pub observed: &'a Observed,
    pub days: Vec<String>,
    /// Code and name of each department, category and area.
    pub dept_names: &'a HashMap<i64, (String, String)>,
    pub category_names: &'a HashMap<i64, (String, String)>,
    pub area_names: &'a HashMap<i64, (String, String)>,
    pub refused: u64,
    pub simulate_ms: u64,
}

/// Builds the report from the per-seed summaries of both sides (same seeds, same order).
pub fn build(inputs: ReportInputs<'_>, base: &[SeedSummary], changed: &[SeedSummary]) -> Report {
    let observed = ObservedRates::of(inputs.observed);
    type Row<'a> = (&'a str, &'a str, Option<f64>, fn(&SeedSummary) -> f64);
    let rows: [Row<'_>; 5] = [
        (
            "closure_rate",
            "结案率",
            observed.closure_rate,
            SeedSummary::closure_rate,
        ),
        (
            "on_time_closure_rate",
            "按期结案率",
            observed.on_time_closure_rate,
            SeedSummary::on_time_rate,
        ),
        (
            "rework_rate",
            "返工率",
            observed.rework_rate,
            SeedSummary::rework_rate,
        ),
        ("closed", "结案数", None, |s| s.closed),
        ("overdue", "超期案件数", None, |s| s.overdue),
    ];
    let comparison = rows
        .into_iter()
        .map(|(indicator, label, observed, f)| {
            let b: Vec<f64> = base.iter().map(f).collect();
            let c: Vec<f64> = changed.iter().map(f).collect();
            let d: Vec<f64> = c.iter().zip(&b).map(|(c, b)| c - b).collect();
            let difference = confidence(&d);
            Comparison {
                indicator: indicator.to_owned(),
                label_zh: label.to_owned(),
                observed,
                baseline: predictive(&b),
                scenario: predictive(&c),
                significant: difference.lo > 1e-12 || difference.hi < -1e-12,
                difference,
            }
        })
        .collect();
    let backlog = |side: &[SeedSummary]| {
        (0..inputs.days.len())
            .map(|day| {
                predictive(
                    &side
                        .iter()
                        .map(|s| s.backlog.get(day).copied().unwrap_or(0.0))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    let total_cases = inputs.cases as f64 * (base.len() + changed.len()) as f64;
    Report {
        scenario: inputs.scenario.to_owned(),
        cases: inputs.cases,
        history_cases: inputs.history_cases,
        seeds: base.len() as u32,
        observed,
        baseline: side(base),
        changed: side(changed),
        comparison,
        backlog_baseline: backlog(base),
        backlog_scenario: backlog(changed),
        backlog_days: inputs.days,
        workload: keyed(base, changed, |s| &s.workload, inputs.dept_names),
        overdue_by_category: keyed(
            base,
            changed,
            |s| &s.overdue_by_category,
            inputs.category_names,
        ),
        overdue_by_area: keyed(base, changed, |s| &s.overdue_by_area, inputs.area_names),
        refused: inputs.refused,
        simulate_ms: inputs.simulate_ms,
        cases_per_second: total_cases / (inputs.simulate_ms.max(1) as f64 / 1000.0),
    }
}
