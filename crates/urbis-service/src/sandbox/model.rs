//! The history a scenario replays and the handling-time distributions fitted on it.
//!
//! Every case's audit trail is cut into spells, one per workflow state it waited in (受理, 立案,
//! 派遣, 处置, 反馈, 核查), each ending in the step that left the state or still open when the
//! history was read. A spell still open is censored, so each state's waiting time is fitted with
//! the Kaplan–Meier estimator: cases reported late in the period, which had no time to finish,
//! do not pass for cases that never finish. What is left of the survival curve past the longest
//! observed wait is the chance of never leaving the state (parked, forgotten). Distributions are
//! fitted per department × category, falling back to the department, the category and the
//! whole city when a group has fewer than [`MIN_EVENTS`] observed exits.

use std::collections::HashMap;

use chrono::NaiveDateTime;

/// Fewest observed exits for a group to have a distribution of its own.
pub const MIN_EVENTS: u32 = 8;

/// A workflow state a case waits in, in the order of the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Received,
    Registered,
    Dispatched,
    Handling,
    Feedback,
    Checked,
}

impl Stage {
    /// Returns whether the state's wait depends on the department.
    fn by_dept(self) -> bool {
        !matches!(self, Stage::Received | Stage::Registered)
    }
}

/// The step that ends a spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    Register,
    Void,
    SelfResolve,
    Dispatch,
    Accept,
    Return,
    Feedback,
    CheckPass,
    CheckFail,
    Close,
}

const EXITS: [Exit; 10] = [
    Exit::Register,
    Exit::Void,
    Exit::SelfResolve,
    Exit::Dispatch,
    Exit::Accept,
    Exit::Return,
    Exit::Feedback,
    Exit::CheckPass,
    Exit::CheckFail,
    Exit::Close,
];

impl Exit {
    fn parse(action: &str) -> Option<Exit> {
        Some(match action {
            "register" => Exit::Register,
            "void" => Exit::Void,
            "self_resolve" => Exit::SelfResolve,
            "dispatch" => Exit::Dispatch,
            "accept" => Exit::Accept,
            "return" => Exit::Return,
            "feedback" => Exit::Feedback,
            "check_pass" => Exit::CheckPass,
            "check_fail" => Exit::CheckFail,
            "close" => Exit::Close,
            _ => return None,
        })
    }

    fn index(self) -> usize {
        EXITS.iter().position(|e| *e == self).unwrap_or(0)
    }

    /// Returns the state the step leads to (None: the case left the loop).
    pub fn next(self) -> Option<Stage> {
        match self {
            Exit::Register | Exit::Return => Some(Stage::Registered),
            Exit::Dispatch => Some(Stage::Dispatched),
            Exit::Accept | Exit::CheckFail => Some(Stage::Handling),
            Exit::Feedback => Some(Stage::Feedback),
            Exit::CheckPass => Some(Stage::Checked),
            Exit::Void | Exit::SelfResolve | Exit::Close => None,
        }
    }

    fn leaves(self, stage: Stage) -> bool {
        matches!(
            (stage, self),
            (
                Stage::Received,
                Exit::Register | Exit::Void | Exit::SelfResolve
            ) | (Stage::Registered, Exit::Dispatch | Exit::Void)
                | (Stage::Dispatched, Exit::Accept | Exit::Return)
                | (Stage::Handling, Exit::Feedback | Exit::Return)
                | (Stage::Feedback, Exit::CheckPass | Exit::CheckFail)
                | (Stage::Checked, Exit::Close)
        )
    }
}

/// One case of the history, in city-local time.
#[derive(Debug, Clone)]
pub struct HistCase {
    pub id: i64,
    pub reported: NaiveDateTime,
    pub category: Option<i64>,
    pub area_id: i64,
    pub area_path: String,
    pub lead: Option<i64>,
    /// The closure type the case has now (正常 `normal`, 超时 `overdue`, …).
    pub closure_type: Option<String>,
    /// The case's workflow steps, in order.
    pub steps: Vec<(NaiveDateTime, String)>,
}

/// What the real history shows at the time it was read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed {
    pub registered: u64,
    pub closed: u64,
    pub closed_on_time: u64,
    pub handled: u64,
    pub reworked: u64,
}

/// A fitted waiting time: Kaplan–Meier survival at each exit time, and how spells ended.
#[derive(Debug, Clone)]
pub struct Dist {
    /// Minutes at which the survival curve drops, ascending.
    times: Vec<f64>,
    /// Survival just after each drop.
    surv: Vec<f64>,
    exits: [u32; 10],
    exits_total: u32,
}

impl Dist {
    fn fit(mut spells: Vec<(f64, Option<Exit>)>) -> Dist {
        spells.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut exits = [0u32; 10];
        let mut times = Vec::new();
        let mut surv = Vec::new();
        let mut at_risk = spells.len() as f64;
        let mut s = 1.0;
        let mut i = 0;
        while i < spells.len() {
            let t = spells[i].0;
            let mut events = 0.0;
            let mut leaving = 0.0;
            while i < spells.len() && spells[i].0 == t {
                if let Some(exit) = spells[i].1 {
                    events += 1.0;
                    exits[exit.index()] += 1;
                }
                leaving += 1.0;
                i += 1;
            }
            if events > 0.0 && at_risk > 0.0 {
                s *= 1.0 - events / at_risk;
                times.push(t);
                surv.push(s);
            }
            at_risk -= leaving;
        }
        let exits_total = exits.iter().sum();
        Dist {
            times,
            surv,
            exits,
            exits_total,
        }
    }

    /// Draws a wait in minutes (None: the case never leaves) and the step that ends it, from two
    /// uniform numbers in [0, 1).
    pub fn sample(&self, u_time: f64, u_exit: f64) -> Option<(f64, Exit)> {
        // The first drop that takes survival to u or below.
        let idx = self.surv.partition_point(|s| *s > u_time);
        let minutes = *self.times.get(idx)?;
        let mut pick = u_exit * f64::from(self.exits_total);
        for exit in EXITS {
            let n = f64::from(self.exits[exit.index()]);
            if pick < n {
                return Some((minutes, exit));
            }
            pick -= n;
        }
        None
    }
}

/// Spells of one group: minutes waited, and the step that ended the wait (None: still waiting).
type Spells = HashMap<(Stage, i64, i64), Vec<(f64, Option<Exit>)>>;

/// Any department or category in a group key.
const ANY: i64 = i64::MIN;

/// Distributions fitted on a history, by state × department × category with fallbacks.
#[derive(Debug, Clone, Default)]
pub struct Fitted {
    dists: HashMap<(Stage, i64, i64), Dist>,
    pub observed: Observed,
    /// Each department's best seven-day rate of feedbacks, per day.
    pub best_rate: HashMap<i64, f64>,
}

impl Fitted {
    /// Returns the distribution for a state, a department and a category, falling back from
    /// the most specific group with enough data to the whole city.
    pub fn dist(&self, stage: Stage, dept: Option<i64>, category: Option<i64>) -> Option<&Dist> {
        let dept = if stage.by_dept() {
            dept.unwrap_or(ANY)
        } else {
            ANY
        };
        let category = category.unwrap_or(ANY);
        [(dept, category), (dept, ANY), (ANY, category), (ANY, ANY)]
            .iter()
            .find_map(|(d, c)| self.dists.get(&(stage, *d, *c)))
    }
}

/// Fits the distributions on the history read at `observed_at`.
pub fn fit(cases: &[HistCase], observed_at: NaiveDateTime) -> Fitted {
    let mut groups: Spells = HashMap::new();
    let mut observed = Observed::default();
    let mut feedback_days: HashMap<i64, HashMap<i64, u32>> = HashMap::new();
    let epoch = observed_at.date();
    for case in cases {
        let mut stage = Some(Stage::Received);
        let mut entered = case.reported;
        let mut registered = false;
        let mut handled = false;
        let mut reworked = false;
        let mut closed = false;
        for (at, action) in &case.steps {
            let Some(current) = stage else { break };
            let Some(exit) = Exit::parse(action) else {
                continue;
            };
            if !exit.leaves(current) {
                continue;
            }
            let minutes = (*at - entered).num_seconds().max(0) as f64 / 60.0;
            push_spell(&mut groups, current, case, minutes, Some(exit));
            match exit {
                Exit::Register => registered = true,
                Exit::SelfResolve => {
                    registered = true;
                    closed = true;
                }
                Exit::Feedback => {
                    handled = true;
                    if let Some(dept) = case.lead {
                        let day = (at.date() - epoch).num_days();
                        *feedback_days
                            .entry(dept)
                            .or_default()
                            .entry(day)
                            .or_default() += 1;
                    }
                }
                Exit::CheckFail => reworked = true,
                Exit::Close => closed = true,
                _ => {}
            }
            stage = exit.next();
            entered = *at;
        }
        if let Some(current) = stage {
            let minutes = (observed_at - entered).num_seconds().max(0) as f64 / 60.0;
            push_spell(&mut groups, current, case, minutes, None);
        }
        if registered {
            observed.registered += 1;
        }
        if handled {
            observed.handled += 1;
        }
        if reworked {
            observed.reworked += 1;
        }
        if closed {
            observed.closed += 1;
            if case.closure_type.as_deref() == Some("normal") {
                observed.closed_on_time += 1;
            }
        }
    }
    let dists = groups
        .into_iter()
        .filter_map(|(key, spells)| {
            let events = spells.iter().filter(|s| s.1.is_some()).count() as u32;
            let global = key.1 == ANY && key.2 == ANY;
            (global || events >= MIN_EVENTS).then(|| (key, Dist::fit(spells)))
        })
        .collect();
    let best_rate = feedback_days
        .into_iter()
        .map(|(dept, days)| {
            let first = days.keys().min().copied().unwrap_or(0);
            let last = days.keys().max().copied().unwrap_or(0);
            let mut best = 0u32;
            for start in first..=last.max(first) {
                let week: u32 = (start..start + 7).filter_map(|d| days.get(&d)).sum();
                best = best.max(week);
            }
            (dept, f64::from(best) / 7.0)
        })
        .collect();
    Fitted {
        dists,
        observed,
        best_rate,
    }
}

fn push_spell(
    groups: &mut Spells,
    stage: Stage,
    case: &HistCase,
    minutes: f64,
    exit: Option<Exit>,
) {
    let dept = if stage.by_dept() {
        case.lead.unwrap_or(ANY)
    } else {
        ANY
    };
    let category = case.category.unwrap_or(ANY);
    let mut keys = vec![(dept, category), (dept, ANY), (ANY, category), (ANY, ANY)];
    keys.sort_unstable();
    keys.dedup();
    for (d, c) in keys {
        groups
            .entry((stage, d, c))
            .or_default()
            .push((minutes, exit));
    }
}
