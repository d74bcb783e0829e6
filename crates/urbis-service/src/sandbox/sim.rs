//! The simulation: a discrete-event replay of the scenario's appeals in one process, in memory.
//!
//! Real: every transition is asked of `urbis_domain::workflow::plan` with an actor of the role the
//! step needs (a step the state machine refuses is counted, never forced); deadlines come from
//! `urbis_domain::calendar::deadline` on the scenario's working calendar with the case's pauses
//! (awaiting the check), started at dispatch, recomputed after a failed check and reset by a
//! return, as the service does; the closure type follows the service's rule (超时 when the
//! feedback was late or the clock ran out, else 正常). Simulated: how long each case waits in
//! each state (drawn from the fitted distributions), and queueing — a department with a
//! capacity finishes at most that many cases a day, first come first served.
//!
//! Each case draws its random numbers from its own stream (seed × case), so a baseline and a
//! scenario run with the same seed differ only where the change acts (common random numbers).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{NaiveDateTime, TimeDelta};
use urbis_domain::calendar::{self, ClockType, Pause, WorkingCalendar};
use urbis_domain::ids::{DeptId, UserId};
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::{self, Action, CaseFacts, CaseState, Effect};

use super::model::{Exit, Fitted, Stage};

/// One appeal to simulate.
#[derive(Debug, Clone)]
pub struct SimCase {
    pub reported: NaiveDateTime,
    pub category: Option<i64>,
    pub area_path: String,
    /// The street (or the finest area above the grid) the case is counted in.
    pub area: i64,
    /// The lead department the case is dispatched to under the scenario.
    pub lead: Option<i64>,
}

/// The rules a run applies.
pub struct World<'a> {
    pub fitted: &'a Fitted,
    pub calendar: &'a WorkingCalendar,
    /// Time limit by category (None: the default).
    pub limits: &'a HashMap<Option<i64>, (ClockType, u32)>,
    pub default_limit: (ClockType, u32),
    /// Cases a day each listed department can finish.
    pub capacity: &'a HashMap<i64, f64>,
    /// Minutes added to (or, negative, taken off) every wait before registration.
    pub triage_shift_minutes: i64,
    pub horizon: NaiveDateTime,
    /// The first report day; day indices count from it.
    pub first_day: chrono::NaiveDate,
}

/// What one case came to at the horizon.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseOutcome {
    pub registered: bool,
    pub closed: bool,
    pub on_time: bool,
    pub handled: bool,
    pub reworked: bool,
    pub overdue: bool,
    /// Day index of registration and of leaving the open backlog (closed or voided).
    pub open_day: Option<i64>,
    pub end_day: Option<i64>,
    pub feedbacks: u32,
}

/// One seed's result.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    pub cases: Vec<CaseOutcome>,
    /// Transitions the state machine refused (a bug if ever non-zero).
    pub refused: u64,
}

/// A small, fast, portable generator (SplitMix64): one stream per case and seed.
struct Stream(u64);

impl Stream {
    fn new(seed: u64, case: u64) -> Stream {
        Stream(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ case.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Live {
    facts: CaseFacts,
    stage: Stage,
    rng: Stream,
    clock: Option<(ClockType, u32, NaiveDateTime)>,
    due: Option<NaiveDateTime>,
    pauses: Vec<Pause>,
    handled_on_time: Option<bool>,
    /// The exit drawn for the pending event.
    next_exit: Exit,
}

fn actor(role: Role, dept: Option<i64>) -> Actor {
    Actor {
        user_id: UserId(0),
        username: String::new(),
        role,
        area_scope: None,
        dept_id: dept.map(DeptId),
    }
}

fn action_of(exit: Exit, lead: Option<i64>) -> (Role, Action) {
    const NOTE: &str = "沙盘模拟";
    match exit {
        Exit::Register => (Role::ShiftLead, Action::Register),
        Exit::Void => (
            Role::ShiftLead,
            Action::Void {
                reason: NOTE.into(),
            },
        ),
        Exit::SelfResolve => (
            Role::GridSupervisor,
            Action::SelfResolve { note: NOTE.into() },
        ),
        Exit::Dispatch => (
            Role::Dispatcher,
            Action::Dispatch {
                lead: DeptId(lead.unwrap_or(0)),
                supporting: Vec::new(),
            },
        ),
        Exit::Accept => (Role::DeptHandler, Action::Accept),
        Exit::Return => (
            Role::DeptHandler,
            Action::Return {
                reason: NOTE.into(),
            },
        ),
        Exit::Feedback => (Role::DeptHandler, Action::Feedback { note: NOTE.into() }),
        Exit::CheckPass => (
            Role::GridSupervisor,
            Action::CheckPass { note: NOTE.into() },
        ),
        Exit::CheckFail => (
            Role::GridSupervisor,
            Action::CheckFail {
                reason: NOTE.into(),
            },
        ),
        Exit::Close => (Role::ShiftLead, Action::Close { closure: None }),
    }
}

fn minutes(m: f64) -> TimeDelta {
    TimeDelta::seconds((m * 60.0).round() as i64)
}

/// Runs one seed over the cases up to the horizon.
pub fn run(world: &World<'_>, cases: &[SimCase], seed: u64) -> RunOutcome {
    let mut outcome = RunOutcome {
        cases: vec![CaseOutcome::default(); cases.len()],
        refused: 0,
    };
    let mut live: Vec<Live> = Vec::with_capacity(cases.len());
    let mut queue: BinaryHeap<Reverse<(NaiveDateTime, usize)>> = BinaryHeap::new();
    let mut dept_free: HashMap<i64, NaiveDateTime> = HashMap::new();
    for (idx, case) in cases.iter().enumerate() {
        let mut state = Live {
            facts: CaseFacts {
                state: CaseState::Received,
                area_path: case.area_path.clone(),
                lead_dept: None,
                supporting_depts: Vec::new(),
                reporter_user: None,
                co_reporters: Vec::new(),
                pending: None,
            },
            stage: Stage::Received,
            rng: Stream::new(seed, idx as u64),
            clock: None,
            due: None,
            pauses: Vec::new(),
            handled_on_time: None,
            next_exit: Exit::Register,
        };
        if let Some(at) = schedule(world, case, &mut state, case.reported, &mut dept_free) {
            queue.push(Reverse((at, idx)));
        }
        live.push(state);
    }
    while let Some(Reverse((at, idx))) = queue.pop() {
        if at > world.horizon {
            break;
        }
        let case = &cases[idx];
        let state = &mut live[idx];
        let result = &mut outcome.cases[idx];
        // The clock ran out while the case waited: the SLA worker marks it overdue.
        if state.facts.state.clock_runs() && state.due.is_some_and(|due| due < at) {
            result.overdue = true;
        }
        let exit = state.next_exit;
        let (role, action) = action_of(exit, case.lead);
        let actor = actor(role, case.lead);
        let plan = match workflow::plan(&actor, &state.facts, &action) {
            Ok(plan) => plan,
            Err(_) => {
                outcome.refused += 1;
                continue;
            }
        };
        let day = (at.date() - world.first_day).num_days();
        match (&action, &plan.effect) {
            (Action::Register, _) => {
                result.registered = true;
                result.open_day = Some(day);
            }
            (Action::Dispatch { lead, .. }, Effect::StartClock) => {
                state.facts.lead_dept = Some(*lead);
                let (clock, amount) = world
                    .limits
                    .get(&case.category)
                    .copied()
                    .unwrap_or(world.default_limit);
                state.clock = Some((clock, amount, at));
                state.pauses.clear();
                state.due = deadline(world, state);
            }
            (Action::Return { .. }, Effect::Returned) => {
                state.clock = None;
                state.due = None;
                state.pauses.clear();
            }
            (Action::Feedback { .. }, Effect::StopClock) => {
                let on_time = state.due.is_none_or(|due| at <= due);
                state.handled_on_time = Some(on_time);
                state.pauses.push(Pause::open(at));
                result.handled = true;
                result.feedbacks += 1;
            }
            (Action::CheckFail { .. }, Effect::Rework) => {
                if let Some(open) = state.pauses.last_mut() {
                    open.end = Some(at);
                }
                state.handled_on_time = None;
                state.due = deadline(world, state);
                result.reworked = true;
            }
            (_, Effect::Close { forced }) => {
                let closure =
                    workflow::closure_type(*forced, state.handled_on_time, result.overdue);
                result.closed = true;
                result.on_time = closure == workflow::ClosureType::Normal;
                if matches!(action, Action::SelfResolve { .. }) {
                    result.registered = true;
                    result.open_day = Some(day);
                }
                result.end_day = Some(day);
            }
            (Action::Void { .. }, _) => {
                result.end_day = Some(day);
            }
            _ => {}
        }
        state.facts.state = plan.to;
        state.facts.pending = plan.pending;
        let Some(stage) = exit.next() else { continue };
        state.stage = stage;
        if let Some(next) = schedule(world, case, state, at, &mut dept_free) {
            queue.push(Reverse((next, idx)));
        }
    }
    // Cases still waiting at the horizon with their clock past the deadline are overdue too.
    for (state, result) in live.iter().zip(outcome.cases.iter_mut()) {
        if state.facts.state.clock_runs() && state.due.is_some_and(|due| due < world.horizon) {
            result.overdue = true;
        }
    }
    outcome
}

fn deadline(world: &World<'_>, state: &Live) -> Option<NaiveDateTime> {
    let (clock, amount, start) = state.clock?;
    calendar::deadline(world.calendar, clock, amount, start, &state.pauses)
        .ok()
        .flatten()
}

/// Draws how long the case waits in its state and what ends the wait; returns when.
fn schedule(
    world: &World<'_>,
    case: &SimCase,
    state: &mut Live,
    entered: NaiveDateTime,
    dept_free: &mut HashMap<i64, NaiveDateTime>,
) -> Option<NaiveDateTime> {
    let u_time = state.rng.next_f64();
    let u_exit = state.rng.next_f64();
    let dist = world.fitted.dist(state.stage, case.lead, case.category)?;
    let (mut wait, exit) = dist.sample(u_time, u_exit)?;
    if state.stage == Stage::Received {
        wait = (wait + world.triage_shift_minutes as f64).max(0.0);
    }
    // A case can only go to a department when there is one.
    let exit = match exit {
        Exit::Dispatch if case.lead.is_none() => return None,
        other => other,
    };
    state.next_exit = exit;
    let mut at = entered + minutes(wait);
    if state.stage == Stage::Handling
        && exit == Exit::Feedback
        && let Some(lead) = case.lead
        && let Some(per_day) = world.capacity.get(&lead)
    {
        // The department finishes one case per 1/per_day days, first come first served.
        let slot = minutes(24.0 * 60.0 / per_day);
        let free = dept_free.entry(lead).or_insert(entered);
        let done = at.max(*free + slot);
        *free = done;
        at = done;
    }
    Some(at)
}
