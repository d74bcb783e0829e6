//! Reading cases within the actor's scope and moving them through the workflow. Each action runs
//! in one write transaction: load, plan (domain), apply clock and counters, update, audit, commit.

use chrono::{DateTime, Utc};
use urbis_domain::ids::{DeptId, UserId};
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::{
    self, Action, CaseFacts, CaseState, ClosureType, Effect, PendingRequest,
};
use urbis_storage::audit::{self as audit_repo, AuditRow};
use urbis_storage::cases::{self, AppealRow, CaseFilter, CaseRow, NotificationRow};
use urbis_storage::stats::{self, CounterBatch, Dim, StateKey};
use urbis_storage::{Conn, reference};

use crate::{CaseEvent, ErrorKind, Result, ServiceError, Services};

/// Largest page of a case list.
pub const LIST_MAX: i64 = 500;

/// Filters of a case list, as the caller asks; the actor's scope is added on top.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub states: Vec<String>,
    pub area_id: Option<i64>,
    pub dept_id: Option<i64>,
    pub category_id: Option<i64>,
    pub overdue: Option<bool>,
    /// Only cases whose category waits for a person (the review queue).
    pub needs_review: Option<bool>,
    /// Highest priority first (the dispatcher's queue) instead of newest first.
    pub by_priority: bool,
    pub before_id: Option<i64>,
    pub limit: Option<i64>,
}

/// The responsibility list's answer for a case.
#[derive(Debug, Clone)]
pub struct RouteSuggestion {
    pub lead_dept_id: i64,
    pub supporting: Vec<i64>,
    pub legal_basis: String,
    pub rule_id: i64,
}

pub(crate) fn facts_of(row: &CaseRow) -> CaseFacts {
    CaseFacts {
        state: CaseState::parse(&row.state).unwrap_or(CaseState::Voided),
        area_path: row.area_path.clone(),
        lead_dept: row.lead_dept_id.map(DeptId),
        supporting_depts: parse_ids(&row.supporting_depts)
            .into_iter()
            .map(DeptId)
            .collect(),
        reporter_user: row.reporter_user_id.map(UserId),
        co_reporters: parse_ids(&row.co_reporters)
            .into_iter()
            .map(UserId)
            .collect(),
        pending: match (row.pending_kind.as_deref(), row.pending_amount) {
            (Some("extension"), Some(amount)) => Some(PendingRequest::Extension {
                amount: u32::try_from(amount).unwrap_or(0),
            }),
            (Some("park"), _) => Some(PendingRequest::Park),
            _ => None,
        },
    }
}

/// Parses a comma-separated id list as stored.
pub fn parse_ids(text: &str) -> Vec<i64> {
    text.split(',')
        .filter_map(|part| part.trim().parse().ok())
        .collect()
}

pub(crate) fn format_ids(ids: &[i64]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn state_key(row: &CaseRow) -> StateKey {
    StateKey {
        area_id: row.area_id,
        dept_id: row.lead_dept_id.unwrap_or(0),
        category_id: row.category_id.unwrap_or(0),
        state: row.state.clone(),
        overdue: row.overdue,
    }
}

/// Counter changes of one transition, written at the end of the transaction.
pub(crate) struct Counters {
    day: String,
    area_id: i64,
    category_id: i64,
    bumps: Vec<(&'static str, Option<i64>)>,
}

impl Counters {
    pub(crate) fn new(row: &CaseRow) -> Counters {
        Counters {
            day: row.stats_day.clone(),
            area_id: row.area_id,
            category_id: row.category_id.unwrap_or(0),
            bumps: Vec::new(),
        }
    }

    /// Counts an event for the area and, when given, for the department.
    pub(crate) fn add(&mut self, metric: &'static str, dept: Option<i64>) {
        self.bumps.push((metric, dept));
    }

    pub(crate) async fn write(self, conn: &mut Conn) -> Result<()> {
        let mut batch = CounterBatch::default();
        for (metric, dept) in self.bumps {
            batch.event(
                &self.day,
                Dim::Area,
                self.area_id,
                self.category_id,
                metric,
                1,
            );
            if let Some(dept) = dept {
                batch.event(&self.day, Dim::Dept, dept, self.category_id, metric, 1);
            }
        }
        batch.write(conn).await?;
        Ok(())
    }
}

/// Moves the case's state counter from `before` to `after` and writes the case.
pub(crate) async fn save_case(conn: &mut Conn, before: &CaseRow, after: &CaseRow) -> Result<()> {
    let (old, new) = (state_key(before), state_key(after));
    if old != new {
        let mut batch = CounterBatch::default();
        batch.state(&old, -1);
        batch.state(&new, 1);
        batch.write(conn).await?;
    }
    cases::update_case(conn, after).await?;
    Ok(())
}

impl Services {
    /// Returns a case the actor may see; a case outside the scope is reported as not found.
    pub async fn get_case(&self, actor: &Actor, case_id: i64) -> Result<CaseRow> {
        let mut conn = self.db().read().await?;
        let row = cases::get_case(&mut conn, case_id).await?;
        if !workflow::can_view(actor, &facts_of(&row)) {
            return Err(ServiceError::not_found("case"));
        }
        Ok(row)
    }

    /// Returns the appeals behind a case the actor may see.
    pub async fn case_appeals(&self, actor: &Actor, case_id: i64) -> Result<Vec<AppealRow>> {
        self.get_case(actor, case_id).await?;
        let mut conn = self.db().read().await?;
        Ok(cases::list_appeals(&mut conn, case_id).await?)
    }

    /// Returns the audit trail of a case the actor may see.
    pub async fn case_trail(&self, actor: &Actor, case_id: i64) -> Result<Vec<AuditRow>> {
        self.get_case(actor, case_id).await?;
        let mut conn = self.db().read().await?;
        let mut rows = audit_repo::list_for_entity(&mut conn, "case", case_id).await?;
        // A resident sees the steps, not who among the staff made them nor their internal notes;
        // only the official reply (the handling feedback, public anyway) keeps its text, masked.
        if actor.role == Role::Resident {
            for row in &mut rows {
                if row.actor_id != Some(actor.user_id.0) {
                    row.actor_id = None;
                }
                let reply = matches!(row.action.as_str(), "feedback" | "self_resolve")
                    .then(|| serde_json::from_str::<serde_json::Value>(&row.detail).ok())
                    .flatten()
                    .and_then(|d| d.get("text").and_then(|t| t.as_str()).map(str::to_owned));
                row.detail = match reply {
                    Some(text) => {
                        serde_json::json!({ "text": urbis_text::pii::mask(&text) }).to_string()
                    }
                    None => "{}".into(),
                };
            }
        }
        Ok(rows)
    }

    /// Lists cases within the actor's scope, newest first.
    pub async fn list_cases(&self, actor: &Actor, query: &CaseQuery) -> Result<Vec<CaseRow>> {
        let limit = query.limit.unwrap_or(50);
        if !(1..=LIST_MAX).contains(&limit) {
            return Err(ServiceError::invalid(
                "invalid_limit",
                format!("limit must be between 1 and {LIST_MAX}"),
            ));
        }
        for state in &query.states {
            if CaseState::parse(state).is_none() {
                return Err(ServiceError::invalid(
                    "invalid_state",
                    format!("unknown state {state:?}"),
                ));
            }
        }
        let mut conn = self.db().read().await?;
        let mut filter = CaseFilter {
            states: query.states.clone(),
            category_id: query.category_id,
            overdue: query.overdue,
            needs_review: query.needs_review,
            before_id: query.before_id,
            by_priority: query.by_priority,
            limit,
            ..CaseFilter::default()
        };
        // The narrower of the asked area and the actor's scope.
        let scope_path = actor.area_scope.as_ref().map(|scope| scope.path.clone());
        let asked_path = match query.area_id {
            Some(area_id) => Some(reference::get_area(&mut conn, area_id).await?.path),
            None => None,
        };
        filter.area_path_prefix = match (scope_path, asked_path) {
            (Some(scope), Some(asked)) if asked.starts_with(&scope) => Some(asked),
            (Some(scope), Some(asked)) if scope.starts_with(&asked) => Some(scope),
            // An area outside the scope matches nothing.
            (Some(_), Some(_)) => Some("/none/".into()),
            (Some(scope), None) => Some(scope),
            (None, asked) => asked,
        };
        match actor.role {
            Role::Resident => filter.reporter_user_id = Some(actor.user_id.0),
            Role::DeptHandler => {
                let dept = actor
                    .dept_id
                    .ok_or_else(|| ServiceError::forbidden("no department"))?;
                filter.dept_id = Some(dept.0);
            }
            _ => filter.dept_id = query.dept_id,
        }
        Ok(cases::list_cases(&mut conn, &filter).await?)
    }

    /// Returns what the active responsibility list says for a case: the most specific rule by
    /// area first, then by category.
    pub async fn suggest_route(
        &self,
        actor: &Actor,
        case_id: i64,
    ) -> Result<Option<RouteSuggestion>> {
        let case = self.get_case(actor, case_id).await?;
        let mut conn = self.db().read().await?;
        let route = route_for(&mut conn, case.category_id, &case.area_path).await?;
        // An asset named by intake brings its maintainer when no district-level rule is more specific.
        crate::assets::prefer_asset_maintainer(&mut conn, &case, route).await
    }

    /// Applies a workflow action as the actor.
    pub async fn act(&self, actor: &Actor, case_id: i64, action: Action) -> Result<CaseRow> {
        validate_action(&action)?;
        let calendar = self.calendar();
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let before = cases::get_case(&mut tx, case_id).await?;
        let facts = facts_of(&before);
        if !workflow::can_view(actor, &facts) {
            // A department that had the case (and lost it to a return or a re-dispatch that
            // committed first) learns what happened instead of being told it does not exist.
            if let Some(dept) = actor.dept_id
                && urbis_storage::audit::was_dispatched_to(&mut tx, case_id, dept.0).await?
            {
                return Err(ServiceError::new(
                    ErrorKind::Conflict,
                    "case_moved",
                    "the case is no longer with your department (it was returned or dispatched elsewhere)",
                ));
            }
            return Err(ServiceError::not_found("case"));
        }
        let plan = workflow::plan(actor, &facts, &action)?;
        let mut after = before.clone();
        after.state = plan.to.as_str().to_owned();
        after.pending_kind = plan.pending.as_ref().map(|p| p.kind().to_owned());
        after.pending_amount = match &plan.pending {
            Some(PendingRequest::Extension { amount }) => Some(i64::from(*amount)),
            _ => None,
        };
        after.updated_at = now;
        let mut counters = Counters::new(&before);
        let mut detail = serde_json::json!({ "text": action.text() });
        let lead = before.lead_dept_id;
        let at = now;

        match (&action, &plan.effect) {
            (Action::Register, _) => counters.add("registered", None),
            (Action::Void { .. }, _) => counters.add("voided", None),
            (Action::Dispatch { lead, supporting }, Effect::StartClock) => {
                for dept in std::iter::once(lead).chain(supporting) {
                    let dept = reference::get_dept(&mut tx, dept.0).await?;
                    // A department serves its own area: one of another district could not see
                    // the case it was sent.
                    if let Some(area_id) = dept.area_id {
                        let area = reference::get_area(&mut tx, area_id).await?;
                        if !before.area_path.starts_with(&area.path) {
                            return Err(ServiceError::invalid(
                                "dept_out_of_area",
                                format!(
                                    "department {} serves another area than the case's",
                                    dept.code
                                ),
                            ));
                        }
                    }
                }
                let (clock, amount, _) =
                    crate::sla::limit_for(&mut tx, before.category_id, self.config()).await?;
                cases::clear_pauses(&mut tx, case_id).await?;
                after.lead_dept_id = Some(lead.0);
                // A person chose where it goes: the category question is settled.
                after.needs_review = false;
                after.supporting_depts =
                    format_ids(&supporting.iter().map(|d| d.0).collect::<Vec<_>>());
                after.clock = Some(clock.as_str().to_owned());
                after.limit_amount = Some(i64::from(amount));
                after.clock_started_at = Some(at.clone());
                after.due_at = self.due(&calendar, clock, amount, now, &[])?;
                let (response_clock, response_amount) = self.config().response_limit;
                after.response_due_at = self
                    .due(&calendar, response_clock, response_amount, now, &[])?
                    ;
                after.accepted_at = None;
                after.feedback_at = None;
                after.handled_on_time = None;
                after.overdue = false;
                after.reminded = false;
                counters.add("dispatched", Some(lead.0));
                detail["lead_dept_id"] = lead.0.into();
                detail["supporting"] = after.supporting_depts.clone().into();
                detail["due_at"] = after.due_at.map(crate::time::to_db).into();
                notify(
                    &mut tx,
                    case_id,
                    Some(lead.0),
                    "dispatched",
                    &format!("新派遣案件 {}", before.number),
                    at,
                )
                .await?;
            }
            (Action::Accept, _) => {
                after.accepted_at = Some(at.clone());
                counters.add("responded", lead);
                let on_time =
                    before.response_due_at.is_none_or(|due| now <= due);
                if on_time {
                    counters.add("responded_on_time", lead);
                }
            }
            (Action::Return { reason }, Effect::Returned) => {
                counters.add("returned", lead);
                // A wrong dispatch teaches the router: keep it for the next training run.
                keep_return_example(&mut tx, &before, actor, reason, at).await?;
                after.return_count += 1;
                Self::reset_clock(&mut after);
                cases::clear_pauses(&mut tx, case_id).await?;
            }
            (Action::Feedback { .. }, Effect::StopClock) => {
                after.feedback_at = Some(at.clone());
                let on_time = before.due_at.is_none_or(|due| now <= due);
                after.handled_on_time = Some(on_time);
                counters.add("handled", lead);
                if on_time {
                    counters.add("handled_on_time", lead);
                }
                // Waiting for the check is not the department's time.
                cases::open_pause(&mut tx, case_id, "awaiting_check", at).await?;
            }
            (Action::CheckFail { .. }, Effect::Rework) => {
                after.rework_count += 1;
                after.handled_on_time = None;
                counters.add("reworked", lead);
                cases::close_pauses(&mut tx, case_id, at).await?;
                after.due_at = self.recompute_due(&mut tx, &after).await?;
                notify(
                    &mut tx,
                    case_id,
                    lead,
                    "rework",
                    &format!("案件 {} 核查不通过，需返工", before.number),
                    at,
                )
                .await?;
            }
            (Action::CheckPass { .. }, _) => {
                cases::close_pauses(&mut tx, case_id, at).await?;
                counters.add("checked", lead);
            }
            (Action::Close { .. } | Action::SelfResolve { .. }, Effect::Close { forced }) => {
                let closure =
                    forced.unwrap_or(if before.handled_on_time == Some(false) || before.overdue {
                        ClosureType::Overdue
                    } else {
                        ClosureType::Normal
                    });
                after.closure_type = Some(closure.as_str().to_owned());
                after.closed_at = Some(at.clone());
                cases::close_pauses(&mut tx, case_id, at).await?;
                if matches!(action, Action::SelfResolve { .. }) {
                    counters.add("registered", None);
                    counters.add("self_resolved", None);
                }
                counters.add("closed", lead);
                if closure == ClosureType::Normal {
                    counters.add("closed_on_time", lead);
                }
                detail["closure_type"] = closure.as_str().into();
            }
            (
                Action::Rate {
                    satisfaction,
                    resolved,
                    ..
                },
                _,
            ) => {
                after.satisfaction = Some(satisfaction.as_str().to_owned());
                after.resolved = Some(*resolved);
                after.rated_at = Some(at.clone());
                counters.add("evaluated", lead);
                if satisfaction.counts_as_satisfied() {
                    counters.add("satisfied", lead);
                }
                if *resolved {
                    counters.add("resolved", lead);
                }
                detail["satisfaction"] = satisfaction.as_str().into();
                detail["resolved"] = (*resolved).into();
            }
            (Action::Reopen { .. }, _) => {
                counters.add("reopened", lead);
                after.closure_type = None;
                after.closed_at = None;
                Self::reset_clock(&mut after);
                cases::clear_pauses(&mut tx, case_id).await?;
            }
            (Action::RequestExtension { amount, .. }, _) => {
                cases::open_pause(&mut tx, case_id, "extension_request", at).await?;
                after.due_at = None;
                detail["amount"] = (*amount).into();
            }
            (Action::RequestPark { .. }, _) => {
                cases::open_pause(&mut tx, case_id, "park_request", at).await?;
                after.due_at = None;
            }
            (Action::Decide { approve, .. }, effect) => {
                detail["approve"] = (*approve).into();
                detail["request"] = before.pending_kind.clone().into();
                match effect {
                    Effect::Park => {
                        counters.add("parked", lead);
                        after.due_at = None;
                    }
                    Effect::Extend { amount } => {
                        cases::close_pauses(&mut tx, case_id, at).await?;
                        after.limit_amount =
                            Some(after.limit_amount.unwrap_or(0) + i64::from(*amount));
                        after.due_at = self.recompute_due(&mut tx, &after).await?;
                        after.reminded = false;
                        counters.add("extended", lead);
                    }
                    _ => {
                        cases::close_pauses(&mut tx, case_id, at).await?;
                        after.due_at = self.recompute_due(&mut tx, &after).await?;
                    }
                }
                after.overdue = after.due_at.is_some_and(|due| due < now);
            }
            (Action::Unpark { .. }, _) => {
                cases::close_pauses(&mut tx, case_id, at).await?;
                after.due_at = self.recompute_due(&mut tx, &after).await?;
            }
            (Action::Supervise { .. }, _) => {
                after.supervise_count += 1;
                counters.add("supervised", lead);
                notify(
                    &mut tx,
                    case_id,
                    lead,
                    "supervise",
                    &format!("案件 {} 被督办", before.number),
                    at,
                )
                .await?;
            }
            _ => {}
        }
        if let Some((kind, message)) = reporter_message(&action, &after) {
            notify_reporters(&mut tx, &after, kind, &message, at,).await?;
        }
        save_case(&mut tx, &before, &after).await?;
        counters.write(&mut tx).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            action.name(),
            "case",
            case_id,
            &before.state,
            &after.state,
            &detail,
        )
        .await?;
        // The answer is the case as this action left it, read inside its own transaction.
        let stored = cases::get_case(&mut tx, case_id).await?;
        tx.commit().await?;
        crate::metrics::case_transition(action.name());
        self.publish(CaseEvent::of(&stored, action.name(), now));
        Ok(stored)
    }

    fn reset_clock(case: &mut CaseRow) {
        case.lead_dept_id = None;
        case.supporting_depts = String::new();
        case.clock = None;
        case.limit_amount = None;
        case.clock_started_at = None;
        case.due_at = None;
        case.response_due_at = None;
        case.accepted_at = None;
        case.feedback_at = None;
        case.handled_on_time = None;
        case.overdue = false;
        case.reminded = false;
    }

    /// Changes the category or area of a case that is not dispatched yet (受理/立案 corrections).
    pub async fn reclassify(
        &self,
        actor: &Actor,
        case_id: i64,
        category_id: Option<i64>,
        area_id: Option<i64>,
    ) -> Result<CaseRow> {
        crate::auth::require_role(actor, &[Role::Operator, Role::ShiftLead, Role::Dispatcher])?;
        let mut tx = self.db().begin_write().await?;
        let before = cases::get_case(&mut tx, case_id).await?;
        if !workflow::can_view(actor, &facts_of(&before)) {
            return Err(ServiceError::not_found("case"));
        }
        if !matches!(before.state.as_str(), "received" | "registered") {
            return Err(ServiceError::new(
                crate::ErrorKind::Conflict,
                "illegal_transition",
                "category and area can change only before dispatch",
            ));
        }
        let mut after = before.clone();
        if let Some(category_id) = category_id {
            let exists: Option<i64> = urbis_storage::lookups::category_exists(&mut tx, category_id)
            .await?
            .then_some(category_id);
            exists.ok_or_else(|| ServiceError::invalid("unknown_category", "no such category"))?;
            after.category_id = Some(category_id);
            after.needs_review = false;
        }
        if let Some(area_id) = area_id {
            let area = reference::get_area(&mut tx, area_id)
                .await
                .map_err(|_| ServiceError::invalid("unknown_area", "no such area"))?;
            if !actor.covers_area(&area.path) {
                return Err(ServiceError::forbidden("area outside your scope"));
            }
            after.area_id = area.id;
            after.area_path = area.path;
        }
        after.updated_at = self.now();
        if after.category_id != before.category_id || after.area_id != before.area_id {
            after.proposed_route = route_for(&mut tx, after.category_id, &after.area_path)
                .await?
                .map(|route| crate::assist::ProposedRoute::new(&route, false))
                .and_then(|route| serde_json::to_string(&route).ok())
                .map(Into::into);
        }
        if after.category_id != before.category_id
            && let Some(category_id) = after.category_id
        {
            keep_correction_example(&mut tx, &before, category_id, actor, after.updated_at)
                .await?;
        }
        // Move the counters the case has contributed so far to its new key.
        let mut moved = vec!["reported"];
        if before.state == "registered" {
            moved.push("registered");
        }
        for metric in moved {
            let old = (before.area_id, before.category_id.unwrap_or(0));
            let new = (after.area_id, after.category_id.unwrap_or(0));
            if old != new {
                stats::bump(
                    &mut tx,
                    &before.stats_day,
                    Dim::Area,
                    old.0,
                    old.1,
                    metric,
                    -1,
                )
                .await?;
                stats::bump(
                    &mut tx,
                    &before.stats_day,
                    Dim::Area,
                    new.0,
                    new.1,
                    metric,
                    1,
                )
                .await?;
            }
        }
        save_case(&mut tx, &before, &after).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "reclassify",
            "case",
            case_id,
            &before.state,
            &after.state,
            &serde_json::json!({
                "category_id": [before.category_id, after.category_id],
                "area_id": [before.area_id, after.area_id],
            }),
        )
        .await?;
        tx.commit().await?;
        let mut conn = self.db().read().await?;
        Ok(cases::get_case(&mut conn, case_id).await?)
    }

    /// Returns the newest notifications for the actor (their department's, and their own).
    pub async fn notifications(&self, actor: &Actor, limit: i64) -> Result<Vec<NotificationRow>> {
        let mut conn = self.db().read().await?;
        Ok(cases::list_notifications(
            &mut conn,
            actor.dept_id.map(|d| d.0),
            Some(actor.user_id.0),
            actor.area_scope.as_ref().map(|scope| scope.path.as_str()),
            limit.clamp(1, 200),
        )
        .await?)
    }

    pub(crate) async fn recompute_due(
        &self,
        conn: &mut Conn,
        case: &CaseRow,
    ) -> Result<Option<DateTime<Utc>>> {
        let (Some(clock), Some(amount), Some(started)) = (
            case.clock.as_deref(),
            case.limit_amount,
            case.clock_started_at,
        ) else {
            return Ok(None);
        };
        let clock = urbis_domain::calendar::ClockType::parse(clock)
            .map_err(|_| ServiceError::internal())?;
        let pauses = cases::list_pauses(conn, case.id).await?;
        let mut spans = Vec::with_capacity(pauses.len());
        for pause in &pauses {
            spans.push((
                pause.start_at,
                pause.end_at,
            ));
        }
        let calendar = self.calendar();
        Ok(self
            .due(
                &calendar,
                clock,
                u32::try_from(amount).unwrap_or(u32::MAX),
                started,
                &spans,
            )?
            )
    }
}

fn validate_action(action: &Action) -> Result<()> {
    if action.text().chars().count() > urbis_domain::appeal::limits::NOTE_MAX_CHARS {
        return Err(ServiceError::invalid(
            "text_too_long",
            format!(
                "reason or note longer than {} characters",
                urbis_domain::appeal::limits::NOTE_MAX_CHARS
            ),
        ));
    }
    if let Action::Dispatch { supporting, .. } = action
        && supporting.len() > 10
    {
        return Err(ServiceError::invalid(
            "too_many_departments",
            "at most 10 supporting departments",
        ));
    }
    Ok(())
}

async fn notify(
    conn: &mut Conn,
    case_id: i64,
    dept_id: Option<i64>,
    kind: &str,
    message: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    if dept_id.is_none() {
        return Ok(());
    }
    cases::insert_notification(
        conn,
        &NotificationRow {
            id: 0,
            case_id,
            dept_id,
            user_id: None,
            kind: kind.to_owned(),
            message: message.to_owned(),
            created_at: at,
        },
    )
    .await?;
    Ok(())
}

/// What the reporters of a case hear about an action, if anything.
fn reporter_message(action: &Action, case: &CaseRow) -> Option<(&'static str, String)> {
    let number = &case.number;
    Some(match action {
        Action::Dispatch { .. } => (
            "progress",
            format!("您反映的问题（案件 {number}）已派遣至责任部门办理"),
        ),
        Action::Close { .. } | Action::SelfResolve { .. } => (
            "closed",
            format!("您反映的问题（案件 {number}）已办结，欢迎评价"),
        ),
        Action::Void { reason } => ("voided", format!("案件 {number} 已作废：{reason}")),
        Action::Reopen { .. } => (
            "progress",
            format!("您反映的问题（案件 {number}）已重新办理"),
        ),
        _ => return None,
    })
}

/// Tells every resident who reported the case (first or as a repeat).
async fn notify_reporters(
    conn: &mut Conn,
    case: &CaseRow,
    kind: &str,
    message: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut users: Vec<i64> = case.reporter_user_id.into_iter().collect();
    users.extend(parse_ids(&case.co_reporters));
    users.dedup();
    for user in users {
        cases::insert_notification(
            conn,
            &NotificationRow {
                id: 0,
                case_id: case.id,
                dept_id: None,
                user_id: Some(user),
                kind: kind.to_owned(),
                message: message.to_owned(),
                created_at: at,
            },
        )
        .await?;
    }
    Ok(())
}

async fn category_code(conn: &mut Conn, id: Option<i64>) -> Result<String> {
    let Some(id) = id else {
        return Ok(String::new());
    };
    Ok(urbis_storage::lookups::category_code(&mut *conn, id)
        .await?
        .unwrap_or_default())
}

/// Keeps a person's category correction as a training example; the previous label is what the
/// case had, or else the classifier's suggestion.
async fn keep_correction_example(
    conn: &mut Conn,
    before: &CaseRow,
    category_id: i64,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<()> {
    let label = category_code(conn, Some(category_id)).await?;
    let previous = category_code(conn, before.category_id.or(before.suggested_category_id)).await?;
    cases::insert_training_example(
        conn,
        &cases::TrainingExample {
            id: 0,
            case_id: before.id,
            source: "correction".into(),
            text: format!("{} {}", before.title, before.text),
            label,
            previous,
            note: String::new(),
            actor_id: Some(actor.user_id.0),
            created_at: at,
        },
    )
    .await?;
    Ok(())
}

/// Keeps a department's return of a wrong dispatch: the case's category, the department that
/// returned it, and its reason.
async fn keep_return_example(
    conn: &mut Conn,
    before: &CaseRow,
    actor: &Actor,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let label = category_code(conn, before.category_id).await?;
    let previous = match before.lead_dept_id {
        Some(dept) => reference::get_dept(conn, dept).await?.code,
        None => String::new(),
    };
    cases::insert_training_example(
        conn,
        &cases::TrainingExample {
            id: 0,
            case_id: before.id,
            source: "return".into(),
            text: format!("{} {}", before.title, before.text),
            label,
            previous,
            note: reason.to_owned(),
            actor_id: Some(actor.user_id.0),
            created_at: at,
        },
    )
    .await?;
    Ok(())
}

/// Finds the most specific active rule for a category and an area path: the deepest area first,
/// then the deepest category.
pub(crate) async fn route_for(
    conn: &mut Conn,
    category_id: Option<i64>,
    area_path: &str,
) -> Result<Option<RouteSuggestion>> {
    let Some(category_id) = category_id else {
        return Ok(None);
    };
    let mut category_chain = Vec::new();
    let mut next = Some(category_id);
    while let Some(id) = next {
        if category_chain.len() > 8 {
            break;
        }
        category_chain.push(id);
        next = urbis_storage::lookups::category_parent(&mut *conn, id).await?;
    }
    let area_chain: Vec<i64> = parse_path(area_path);
    let rules = reference::matching_rules(conn, &category_chain, &area_chain).await?;
    let best = rules.into_iter().min_by_key(|rule| {
        let area_rank = area_chain.len()
            - area_chain
                .iter()
                .position(|a| *a == rule.area_id)
                .unwrap_or(0);
        let category_rank = category_chain
            .iter()
            .position(|c| *c == rule.category_id)
            .unwrap_or(usize::MAX);
        (area_rank, category_rank)
    });
    Ok(best.map(|rule| RouteSuggestion {
        lead_dept_id: rule.lead_dept_id,
        supporting: parse_ids(&rule.supporting),
        legal_basis: rule.legal_basis,
        rule_id: rule.id,
    }))
}

/// Returns the area ids of a materialised path, root first.
pub fn parse_path(path: &str) -> Vec<i64> {
    path.split('/')
        .filter_map(|part| part.parse().ok())
        .collect()
}

impl Services {
    /// Builds a dispatch action; without a lead department the active responsibility list
    /// decides, and a case the list does not cover is an error the dispatcher must resolve.
    pub async fn dispatch_action(
        &self,
        actor: &Actor,
        case_id: i64,
        lead: Option<i64>,
        supporting: Vec<i64>,
    ) -> Result<Action> {
        let (lead, supporting) = match lead {
            Some(lead) => (lead, supporting),
            None => {
                let route = self.suggest_route(actor, case_id).await?.ok_or_else(|| {
                    ServiceError::invalid(
                        "no_route",
                        "the responsibility list has no rule for this case; choose a department",
                    )
                })?;
                (route.lead_dept_id, route.supporting)
            }
        };
        Ok(Action::Dispatch {
            lead: DeptId(lead),
            supporting: supporting.into_iter().map(DeptId).collect(),
        })
    }
}
