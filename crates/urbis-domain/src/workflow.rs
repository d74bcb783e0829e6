//! The case workflow as a state machine, after CJJ/T 106 and the 12345 practice:
//! 受理 → 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案 → 回访评价, with 回退, 返工, 延期, 挂账, 督办, 作废,
//! 自行处置 and reopening. [`plan`] decides, without I/O, whether an actor may apply an action to a
//! case and what the case becomes; the service layer applies the plan in one transaction.

use crate::ids::{DeptId, UserId};
use crate::role::{Actor, Role};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseState {
    /// 受理: the appeal is recorded and waits to be opened as a case.
    Received,
    /// 立案: opened as a case, waits for dispatch.
    Registered,
    /// 派遣: sent to the lead department, waits to be signed for.
    Dispatched,
    /// 处置: the department is working on it.
    Handling,
    /// 反馈: the department reported it done; waits for the check.
    Feedback,
    /// 核查通过: the fix was checked on site; waits for closure.
    Checked,
    /// 结案: closed; waits for the call-back or the resident's rating.
    Closed,
    /// 回访评价: closed and rated.
    Evaluated,
    /// 挂账: parked long-term with approval; the clock is paused.
    Parked,
    /// 作废: void (not a valid case).
    Voided,
}

impl CaseState {
    /// Every state, in workflow order.
    pub const ALL: [CaseState; 10] = [
        CaseState::Received,
        CaseState::Registered,
        CaseState::Dispatched,
        CaseState::Handling,
        CaseState::Feedback,
        CaseState::Checked,
        CaseState::Closed,
        CaseState::Evaluated,
        CaseState::Parked,
        CaseState::Voided,
    ];

    /// Returns the stable storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Received => "received",
            CaseState::Registered => "registered",
            CaseState::Dispatched => "dispatched",
            CaseState::Handling => "handling",
            CaseState::Feedback => "feedback",
            CaseState::Checked => "checked",
            CaseState::Closed => "closed",
            CaseState::Evaluated => "evaluated",
            CaseState::Parked => "parked",
            CaseState::Voided => "voided",
        }
    }

    /// Parses the name written by [`CaseState::as_str`].
    pub fn parse(s: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Returns the Chinese name used on screens.
    pub fn title_zh(self) -> &'static str {
        match self {
            CaseState::Received => "受理",
            CaseState::Registered => "立案",
            CaseState::Dispatched => "派遣",
            CaseState::Handling => "处置",
            CaseState::Feedback => "反馈",
            CaseState::Checked => "核查通过",
            CaseState::Closed => "结案",
            CaseState::Evaluated => "回访评价",
            CaseState::Parked => "挂账",
            CaseState::Voided => "作废",
        }
    }

    /// Open cases still need work from someone.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseState::Closed | CaseState::Evaluated | CaseState::Voided
        )
    }

    /// The handling clock runs only in these states.
    pub fn clock_runs(self) -> bool {
        matches!(self, CaseState::Dispatched | CaseState::Handling)
    }
}

impl TryFrom<String> for CaseState {
    type Error = crate::UnknownName;

    fn try_from(name: String) -> Result<CaseState, crate::UnknownName> {
        CaseState::parse(&name).ok_or(crate::UnknownName {
            kind: "case state",
            name,
        })
    }
}

impl std::fmt::Display for CaseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a case was closed (结案类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClosureType {
    /// 正常结案: handled within the time limit.
    Normal,
    /// 超时结案: handled after the time limit.
    Overdue,
    /// 差错结案: closed with an error in handling or dispatch.
    Error,
    /// 特殊结案: closed by a special decision (cannot be handled, policy matter).
    Special,
}

impl ClosureType {
    /// Returns the stable storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClosureType::Normal => "normal",
            ClosureType::Overdue => "overdue",
            ClosureType::Error => "error",
            ClosureType::Special => "special",
        }
    }

    /// Parses the name written by [`ClosureType::as_str`].
    pub fn parse(s: &str) -> Option<ClosureType> {
        [
            ClosureType::Normal,
            ClosureType::Overdue,
            ClosureType::Error,
            ClosureType::Special,
        ]
        .into_iter()
        .find(|closure| closure.as_str() == s)
    }
}

/// The resident's verdict at the call-back (回访).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

impl Satisfaction {
    /// Returns the stable storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Dissatisfied => "dissatisfied",
        }
    }

    /// Parses the name written by [`Satisfaction::as_str`].
    pub fn parse(s: &str) -> Option<Satisfaction> {
        [
            Satisfaction::Satisfied,
            Satisfaction::BasicallySatisfied,
            Satisfaction::Dissatisfied,
        ]
        .into_iter()
        .find(|value| value.as_str() == s)
    }

    /// 满意率 counts satisfied and basically satisfied answers.
    pub fn counts_as_satisfied(self) -> bool {
        !matches!(self, Satisfaction::Dissatisfied)
    }
}

/// A request that waits for the shift lead's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingRequest {
    /// 延期申请: more time, in units of the case's clock.
    Extension { amount: u32 },
    /// 挂账申请: park the case long-term.
    Park,
}

impl PendingRequest {
    /// Returns the stable storage name of the request kind.
    pub fn kind(&self) -> &'static str {
        match self {
            PendingRequest::Extension { .. } => "extension",
            PendingRequest::Park => "park",
        }
    }
}

/// Something an actor asks to do with a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// 立案.
    Register,
    /// 作废, with the reason.
    Void { reason: String },
    /// 自行处置: the grid supervisor fixed it on the spot.
    SelfResolve { note: String },
    /// 派遣 to a lead department with supporting departments.
    Dispatch {
        lead: DeptId,
        supporting: Vec<DeptId>,
    },
    /// 签收: the lead department takes the task.
    Accept,
    /// 回退: the department returns a wrong dispatch, with the reason.
    Return { reason: String },
    /// 反馈: the department reports the work done.
    Feedback { note: String },
    /// 核查通过.
    CheckPass { note: String },
    /// 核查不通过 → 返工.
    CheckFail { reason: String },
    /// 结案; a closure type may be forced to error or special.
    Close { closure: Option<ClosureType> },
    /// 回访评价.
    Rate {
        satisfaction: Satisfaction,
        resolved: bool,
        comment: String,
    },
    /// 重新办理 after dissatisfaction or a wrong closure.
    Reopen { reason: String },
    /// 延期申请.
    RequestExtension { amount: u32, reason: String },
    /// 挂账申请.
    RequestPark { reason: String },
    /// Approve or reject the pending extension or parking request.
    Decide { approve: bool, note: String },
    /// 解除挂账: back to handling.
    Unpark { note: String },
    /// 督办.
    Supervise { note: String },
    /// 改派: a binding re-dispatch, as an arbiter's ruling on a responsibility dispute decides.
    Reassign {
        lead: DeptId,
        supporting: Vec<DeptId>,
    },
    /// 认领: a partner organisation takes a case offered to the pool as its lead.
    Claim { dept: DeptId },
}

impl Action {
    /// Returns the stable name used in the audit log, statistics and the API.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Void { .. } => "void",
            Action::SelfResolve { .. } => "self_resolve",
            Action::Dispatch { .. } => "dispatch",
            Action::Accept => "accept",
            Action::Return { .. } => "return",
            Action::Feedback { .. } => "feedback",
            Action::CheckPass { .. } => "check_pass",
            Action::CheckFail { .. } => "check_fail",
            Action::Close { .. } => "close",
            Action::Rate { .. } => "rate",
            Action::Reopen { .. } => "reopen",
            Action::RequestExtension { .. } => "request_extension",
            Action::RequestPark { .. } => "request_park",
            Action::Decide { .. } => "decide",
            Action::Unpark { .. } => "unpark",
            Action::Supervise { .. } => "supervise",
            Action::Reassign { .. } => "reassign",
            Action::Claim { .. } => "claim",
        }
    }

    /// Returns the roles that may make this action (scope rules come on top).
    pub fn allowed_roles(&self) -> &'static [Role] {
        match self {
            Action::Register | Action::Void { .. } | Action::Close { .. } => &[Role::ShiftLead],
            Action::Reopen { .. } | Action::Decide { .. } | Action::Unpark { .. } => {
                &[Role::ShiftLead]
            }
            Action::SelfResolve { .. } => &[Role::GridSupervisor],
            Action::Dispatch { .. } => &[Role::Dispatcher, Role::ShiftLead],
            Action::Accept
            | Action::Return { .. }
            | Action::Feedback { .. }
            | Action::RequestExtension { .. }
            | Action::RequestPark { .. } => &[Role::DeptHandler, Role::Partner],
            Action::CheckPass { .. } | Action::CheckFail { .. } => &[Role::GridSupervisor],
            Action::Rate { .. } => &[Role::Resident, Role::Operator],
            Action::Supervise { .. } => &[Role::Leader, Role::ShiftLead],
            Action::Reassign { .. } => &[Role::ShiftLead],
            Action::Claim { .. } => &[Role::Partner],
        }
    }

    /// Returns the free text the action carries (reason, note or comment).
    pub fn text(&self) -> &str {
        match self {
            Action::Void { reason }
            | Action::Return { reason }
            | Action::CheckFail { reason }
            | Action::Reopen { reason }
            | Action::RequestExtension { reason, .. }
            | Action::RequestPark { reason } => reason,
            Action::SelfResolve { note }
            | Action::Feedback { note }
            | Action::CheckPass { note }
            | Action::Decide { note, .. }
            | Action::Unpark { note }
            | Action::Supervise { note } => note,
            Action::Rate { comment, .. } => comment,
            Action::Register
            | Action::Dispatch { .. }
            | Action::Reassign { .. }
            | Action::Claim { .. }
            | Action::Accept
            | Action::Close { .. } => "",
        }
    }
}

/// The facts about a case that decide what may happen to it.
#[derive(Debug, Clone)]
pub struct CaseFacts {
    pub state: CaseState,
    /// Materialised path of the case's area.
    pub area_path: String,
    pub lead_dept: Option<DeptId>,
    pub supporting_depts: Vec<DeptId>,
    pub reporter_user: Option<UserId>,
    /// Residents whose repeat reports joined the case; they are counted and notified of its
    /// progress, but read and rate nothing: the case's evidence is its first reporter's.
    pub co_reporters: Vec<UserId>,
    pub pending: Option<PendingRequest>,
}

impl CaseFacts {
    /// Returns whether the user reported this problem (first or as a repeat).
    pub fn is_reporter(&self, user: UserId) -> bool {
        self.is_first_reporter(user) || self.co_reporters.contains(&user)
    }

    /// Returns whether the user filed the appeal that opened the case: the only resident who
    /// may read the case and its evidence, attach to it and rate it.
    pub fn is_first_reporter(&self, user: UserId) -> bool {
        self.reporter_user == Some(user)
    }
}

/// What applying an action does to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub from: CaseState,
    pub to: CaseState,
    /// The pending request after the action.
    pub pending: Option<PendingRequest>,
    pub effect: Effect,
}

/// The side effect of an action beyond the state change, for the clock and the statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    /// Start the handling clock (dispatch).
    StartClock,
    /// A wrong dispatch was returned.
    Returned,
    /// The department reported done; stop the clock.
    StopClock,
    /// A failed check sends the case back: the clock resumes.
    Rework,
    /// Close the case; `forced` is a closure type set by the shift lead.
    Close {
        forced: Option<ClosureType>,
    },
    /// An approved extension adds units to the deadline.
    Extend {
        amount: u32,
    },
    /// An approved parking pauses the clock.
    Park,
    /// Parking ended: the clock resumes.
    Unpark,
    /// A request was made or rejected; nothing else changes.
    Request,
    /// A supervision mark.
    Supervise,
    /// A rating was recorded.
    Rate,
    /// The case starts again from registration.
    Reopen,
}

/// Why an action cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error("action {action} is not allowed in state {state}")]
    IllegalTransition {
        action: &'static str,
        state: &'static str,
    },
    #[error("role {role} may not {action}")]
    RoleNotAllowed {
        role: &'static str,
        action: &'static str,
    },
    #[error("the case is outside the actor's scope")]
    OutOfScope,
    #[error("action {0} needs a reason or note")]
    TextRequired(&'static str),
    #[error("a {0} request is already pending")]
    RequestPending(&'static str),
    #[error("there is no pending request to decide")]
    NoPendingRequest,
    #[error("an extension must add between 1 and 1000 units")]
    BadExtension,
    #[error("the lead department cannot also be a supporting department")]
    BadDispatch,
}

impl WorkflowError {
    /// Returns the stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            WorkflowError::IllegalTransition { .. } => "illegal_transition",
            WorkflowError::RoleNotAllowed { .. } => "role_not_allowed",
            WorkflowError::OutOfScope => "out_of_scope",
            WorkflowError::TextRequired(_) => "text_required",
            WorkflowError::RequestPending(_) => "request_pending",
            WorkflowError::NoPendingRequest => "no_pending_request",
            WorkflowError::BadExtension => "bad_extension",
            WorkflowError::BadDispatch => "bad_dispatch",
        }
    }
}

/// Returns whether the actor may see the case at all (reads follow the same scope as writes).
pub fn can_view(actor: &Actor, facts: &CaseFacts) -> bool {
    match actor.role {
        Role::Resident => facts.is_first_reporter(actor.user_id),
        Role::DeptHandler | Role::Partner => {
            let dept_involved = actor.dept_id.is_some_and(|dept| {
                facts.lead_dept == Some(dept) || facts.supporting_depts.contains(&dept)
            });
            dept_involved && actor.covers_area(&facts.area_path)
        }
        Role::Operator
        | Role::ShiftLead
        | Role::Dispatcher
        | Role::GridSupervisor
        | Role::Leader
        | Role::Admin => actor.covers_area(&facts.area_path),
        // Data officers read data through the sharing exchange, not cases.
        Role::DataOfficer => false,
    }
}

/// Decides whether `actor` may apply `action` to a case with `facts`, and what follows.
pub fn plan(actor: &Actor, facts: &CaseFacts, action: &Action) -> Result<Plan, WorkflowError> {
    let name = action.name();
    if !action.allowed_roles().contains(&actor.role) {
        return Err(WorkflowError::RoleNotAllowed {
            role: actor.role.as_str(),
            action: name,
        });
    }
    check_scope(actor, facts, action)?;
    check_text(action)?;

    use CaseState as S;
    let state = facts.state;
    let illegal = || WorkflowError::IllegalTransition {
        action: name,
        state: state.as_str(),
    };
    let keep_pending = facts.pending.clone();
    let (to, pending, effect) = match (action, state) {
        (Action::Register, S::Received) => (S::Registered, None, Effect::None),
        (Action::Void { .. }, S::Received | S::Registered) => (S::Voided, None, Effect::None),
        (Action::SelfResolve { .. }, S::Received) => (
            S::Closed,
            None,
            Effect::Close {
                forced: Some(ClosureType::Normal),
            },
        ),
        (Action::Dispatch { lead, supporting }, S::Registered) => {
            if supporting.contains(lead) {
                return Err(WorkflowError::BadDispatch);
            }
            (S::Dispatched, None, Effect::StartClock)
        }
        (Action::Reassign { lead, supporting }, S::Registered | S::Dispatched | S::Handling) => {
            if supporting.contains(lead) {
                return Err(WorkflowError::BadDispatch);
            }
            (S::Dispatched, None, Effect::StartClock)
        }
        (Action::Claim { .. }, S::Registered) => (S::Dispatched, None, Effect::StartClock),
        (Action::Accept, S::Dispatched) => (S::Handling, None, Effect::None),
        (Action::Return { .. }, S::Dispatched | S::Handling) => {
            (S::Registered, None, Effect::Returned)
        }
        // Feedback would end the handling with an extension or parking request still open,
        // dropping it unseen: the shift lead decides first.
        (Action::Feedback { .. }, S::Handling) => {
            if let Some(pending) = &facts.pending {
                return Err(WorkflowError::RequestPending(pending.kind()));
            }
            (S::Feedback, None, Effect::StopClock)
        }
        (Action::CheckPass { .. }, S::Feedback) => (S::Checked, None, Effect::None),
        (Action::CheckFail { .. }, S::Feedback) => (S::Handling, None, Effect::Rework),
        (Action::Close { closure }, S::Checked) => (
            S::Closed,
            None,
            Effect::Close {
                forced: closure.filter(|c| matches!(c, ClosureType::Error | ClosureType::Special)),
            },
        ),
        (Action::Close { closure }, S::Parked)
            if matches!(closure, Some(ClosureType::Special | ClosureType::Error)) =>
        {
            (S::Closed, None, Effect::Close { forced: *closure })
        }
        (Action::Rate { .. }, S::Closed) => (S::Evaluated, None, Effect::Rate),
        (Action::Reopen { .. }, S::Closed | S::Evaluated) => (S::Registered, None, Effect::Reopen),
        (Action::RequestExtension { amount, .. }, S::Handling) => {
            if let Some(pending) = &facts.pending {
                return Err(WorkflowError::RequestPending(pending.kind()));
            }
            if *amount == 0 || *amount > 1000 {
                return Err(WorkflowError::BadExtension);
            }
            (
                S::Handling,
                Some(PendingRequest::Extension { amount: *amount }),
                Effect::Request,
            )
        }
        (Action::RequestPark { .. }, S::Handling) => {
            if let Some(pending) = &facts.pending {
                return Err(WorkflowError::RequestPending(pending.kind()));
            }
            (S::Handling, Some(PendingRequest::Park), Effect::Request)
        }
        (Action::Decide { approve, .. }, S::Handling) => match (&facts.pending, approve) {
            (None, _) => return Err(WorkflowError::NoPendingRequest),
            (Some(_), false) => (S::Handling, None, Effect::Request),
            (Some(PendingRequest::Extension { amount }), true) => {
                (S::Handling, None, Effect::Extend { amount: *amount })
            }
            (Some(PendingRequest::Park), true) => (S::Parked, None, Effect::Park),
        },
        (Action::Unpark { .. }, S::Parked) => (S::Handling, None, Effect::Unpark),
        (Action::Supervise { .. }, s) if s.is_open() => (s, keep_pending, Effect::Supervise),
        _ => return Err(illegal()),
    };
    Ok(Plan {
        from: state,
        to,
        pending,
        effect,
    })
}

/// Returns the closure type of a case being closed: the forced type when the shift lead set one,
/// else 超时 when the feedback came after the deadline or the clock ran out, else 正常.
pub fn closure_type(
    forced: Option<ClosureType>,
    handled_on_time: Option<bool>,
    overdue: bool,
) -> ClosureType {
    forced.unwrap_or(if handled_on_time == Some(false) || overdue {
        ClosureType::Overdue
    } else {
        ClosureType::Normal
    })
}

fn check_scope(actor: &Actor, facts: &CaseFacts, action: &Action) -> Result<(), WorkflowError> {
    if !actor.covers_area(&facts.area_path) {
        return Err(WorkflowError::OutOfScope);
    }
    match actor.role {
        // A partner claims only for its own organisation (the service checks its grants).
        Role::Partner if matches!(action, Action::Claim { .. }) => {
            if let Action::Claim { dept } = action
                && actor.dept_id != Some(*dept)
            {
                return Err(WorkflowError::OutOfScope);
            }
        }
        // A department acts only on what was dispatched to it as lead department.
        Role::DeptHandler | Role::Partner
            if (actor.dept_id.is_none() || facts.lead_dept != actor.dept_id) =>
        {
            return Err(WorkflowError::OutOfScope);
        }
        Role::Resident if !facts.is_first_reporter(actor.user_id) => {
            return Err(WorkflowError::OutOfScope);
        }
        _ => {}
    }
    Ok(())
}

fn check_text(action: &Action) -> Result<(), WorkflowError> {
    let needs_text = matches!(
        action,
        Action::Void { .. }
            | Action::Return { .. }
            | Action::CheckFail { .. }
            | Action::Reopen { .. }
            | Action::RequestExtension { .. }
            | Action::RequestPark { .. }
            | Action::Feedback { .. }
    );
    if needs_text && action.text().trim().is_empty() {
        return Err(WorkflowError::TextRequired(action.name()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
