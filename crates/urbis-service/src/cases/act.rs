//! Moving a case through the workflow: each action in one write transaction (load, plan in the
//! domain, clock and counters, update, audit, notifications, commit), and reclassification.

use super::*;

impl Services {
    /// Applies a workflow action as the actor.
    pub async fn act(&self, actor: &Actor, case_id: i64, action: Action) -> Result<CaseRow> {
        self.act_with_order(actor, case_id, action, None).await
    }

    /// Applies a workflow action; a dispatch may carry the dispatcher's instructions and deadline.
    pub async fn act_with_order(
        &self,
        actor: &Actor,
        case_id: i64,
        action: Action,
        order: Option<DispatchOrder>,
    ) -> Result<CaseRow> {
        let mut tx = self.db().begin_write().await?;
        let (stored, event) = self
            .act_in_order(&mut tx, actor, case_id, &action, order.as_ref())
            .await?;
        tx.commit().await?;
        crate::metrics::case_transition(action.name());
        self.publish(event);
        Ok(stored)
    }

    /// Applies a workflow action inside the caller's write transaction; returns the case as the
    /// action left it and the event to publish once the caller committed.
    pub(crate) async fn act_in(
        &self,
        tx: &mut Conn,
        actor: &Actor,
        case_id: i64,
        action: &Action,
    ) -> Result<(CaseRow, CaseEvent)> {
        self.act_in_order(tx, actor, case_id, action, None).await
    }

    async fn act_in_order(
        &self,
        tx: &mut Conn,
        actor: &Actor,
        case_id: i64,
        action: &Action,
        order: Option<&DispatchOrder>,
    ) -> Result<(CaseRow, CaseEvent)> {
        validate_action(action)?;
        // Instructions and a deadline go with a dispatch only.
        let order = order.filter(|_| matches!(action, Action::Dispatch { .. }));
        let calendar = self.calendar();
        let now = self.now();
        let before = cases::get_case(&mut *tx, case_id).await?;
        let facts = facts_of(&before);
        // A partner claiming from the pool sees the case through its grants (checked below and
        // by `claim_case`), not as its lead.
        let claiming = matches!(action, Action::Claim { .. });
        if !claiming && !workflow::can_view(actor, &facts) {
            // A department that had the case (and lost it to a return or a re-dispatch that
            // committed first) learns what happened instead of being told it does not exist.
            if let Some(dept) = actor.dept_id
                && urbis_storage::audit::was_dispatched_to(&mut *tx, case_id, dept.0).await?
            {
                return Err(ServiceError::new(
                    ErrorKind::Conflict,
                    "case_moved",
                    "the case is no longer with your department (it was returned or dispatched elsewhere)",
                ));
            }
            return Err(ServiceError::not_found("case"));
        }
        let plan = workflow::plan(actor, &facts, action)?;
        let mut after = before.clone();
        after.state = plan.to;
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

        match (action, &plan.effect) {
            (Action::Register, _) => counters.add("registered", None),
            (Action::Void { .. }, _) => counters.add("voided", None),
            (_, Effect::StartClock) => {
                let (lead, supporting) = dispatch_targets(action)?;
                if let Action::Claim { .. } = action
                    && !urbis_storage::cohandle::in_pool(&mut *tx, case_id).await?
                {
                    return Err(ServiceError::not_found("case"));
                }
                for dept in std::iter::once(&lead).chain(&supporting) {
                    // A partner serves only the places and categories of its grants.
                    crate::cohandle::check_partner_grant(
                        &mut *tx,
                        dept.0,
                        &before.area_path,
                        before.category_id,
                    )
                    .await?;
                    let dept = reference::get_dept(&mut *tx, dept.0).await?;
                    // A department serves its own area: one of another district could not see
                    // the case it was sent.
                    if let Some(area_id) = dept.area_id {
                        let area = reference::get_area(&mut *tx, area_id).await?;
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
                let (clock, category_amount, _) =
                    crate::sla::limit_for(&mut *tx, before.category_id, self.config()).await?;
                let amount = orders::chosen_amount(order, category_amount)?;
                cases::clear_pauses(&mut *tx, case_id).await?;
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
                after.response_due_at =
                    self.due(&calendar, response_clock, response_amount, now, &[])?;
                after.accepted_at = None;
                after.feedback_at = None;
                after.handled_on_time = None;
                after.overdue = false;
                after.reminded = false;
                counters.add("dispatched", Some(lead.0));
                detail["lead_dept_id"] = lead.0.into();
                detail["supporting"] = after.supporting_depts.clone().into();
                detail["due_at"] = after.due_at.map(crate::time::to_db).into();
                // Each supporting department gets its own task and clock (协办); earlier ones end.
                let cancelled = crate::cohandle::cancel_subtasks(&mut *tx, case_id).await?;
                let supporting_ids: Vec<i64> = supporting.iter().map(|d| d.0).collect();
                let started = crate::cohandle::start_subtasks(
                    self,
                    &mut *tx,
                    &after,
                    &supporting_ids,
                    clock,
                    amount,
                    now,
                )
                .await?;
                detail["subtasks"] = started.into();
                if !cancelled.is_empty() {
                    detail["subtasks_cancelled"] = cancelled.into();
                }
                orders::record(
                    &mut *tx,
                    case_id,
                    order,
                    (amount, category_amount),
                    actor,
                    at,
                    &mut detail,
                )
                .await?;
                if urbis_storage::cohandle::remove_from_pool(&mut *tx, case_id).await? {
                    detail["from_pool"] = true.into();
                }
                notify(
                    &mut *tx,
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
                let on_time = before.response_due_at.is_none_or(|due| now <= due);
                if on_time {
                    counters.add("responded_on_time", lead);
                }
            }
            (Action::Return { reason }, Effect::Returned) => {
                // One return per department; a second disagreement is a dispute (推诿 path).
                if let Some(dept) = actor.dept_id {
                    crate::cohandle::check_return_allowed(&mut *tx, case_id, dept.0).await?;
                    detail["dept_id"] = dept.0.into();
                }
                crate::cohandle::cancel_subtasks(&mut *tx, case_id).await?;
                counters.add("returned", lead);
                // A wrong dispatch teaches the router: keep it for the next training run.
                keep_return_example(&mut *tx, &before, actor, reason, at).await?;
                urbis_storage::orders::delete_dispatch_order(&mut *tx, case_id).await?;
                after.return_count += 1;
                Self::reset_clock(&mut after);
                cases::clear_pauses(&mut *tx, case_id).await?;
            }
            (Action::Feedback { .. }, Effect::StopClock) => {
                crate::cohandle::check_subtasks_finished(&mut *tx, case_id).await?;
                after.feedback_at = Some(at.clone());
                let on_time = before.due_at.is_none_or(|due| now <= due);
                after.handled_on_time = Some(on_time);
                counters.add("handled", lead);
                if on_time {
                    counters.add("handled_on_time", lead);
                }
                // Waiting for the check is not the department's time.
                cases::open_pause(&mut *tx, case_id, "awaiting_check", at).await?;
            }
            (Action::CheckFail { .. }, Effect::Rework) => {
                after.rework_count += 1;
                after.handled_on_time = None;
                counters.add("reworked", lead);
                cases::close_pauses(&mut *tx, case_id, at).await?;
                after.due_at = self.recompute_due(&mut *tx, &after).await?;
                notify(
                    &mut *tx,
                    case_id,
                    lead,
                    "rework",
                    &format!("案件 {} 核查不通过，需返工", before.number),
                    at,
                )
                .await?;
            }
            (Action::CheckPass { .. }, _) => {
                cases::close_pauses(&mut *tx, case_id, at).await?;
                counters.add("checked", lead);
            }
            (Action::Close { .. } | Action::SelfResolve { .. }, Effect::Close { forced }) => {
                let closure = urbis_domain::workflow::closure_type(
                    *forced,
                    before.handled_on_time,
                    before.overdue,
                );
                after.closure_type = Some(closure.as_str().to_owned());
                after.closed_at = Some(at.clone());
                cases::close_pauses(&mut *tx, case_id, at).await?;
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
                crate::cohandle::cancel_subtasks(&mut *tx, case_id).await?;
                urbis_storage::orders::delete_dispatch_order(&mut *tx, case_id).await?;
                counters.add("reopened", lead);
                after.closure_type = None;
                after.closed_at = None;
                Self::reset_clock(&mut after);
                cases::clear_pauses(&mut *tx, case_id).await?;
            }
            (Action::RequestExtension { amount, .. }, _) => {
                cases::open_pause(&mut *tx, case_id, "extension_request", at).await?;
                after.due_at = None;
                detail["amount"] = (*amount).into();
            }
            (Action::RequestPark { .. }, _) => {
                cases::open_pause(&mut *tx, case_id, "park_request", at).await?;
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
                        cases::close_pauses(&mut *tx, case_id, at).await?;
                        after.limit_amount =
                            Some(after.limit_amount.unwrap_or(0) + i64::from(*amount));
                        after.due_at = self.recompute_due(&mut *tx, &after).await?;
                        after.reminded = false;
                        counters.add("extended", lead);
                    }
                    _ => {
                        cases::close_pauses(&mut *tx, case_id, at).await?;
                        after.due_at = self.recompute_due(&mut *tx, &after).await?;
                    }
                }
                after.overdue = after.due_at.is_some_and(|due| due < now);
            }
            (Action::Unpark { .. }, _) => {
                cases::close_pauses(&mut *tx, case_id, at).await?;
                after.due_at = self.recompute_due(&mut *tx, &after).await?;
            }
            (Action::Supervise { .. }, _) => {
                after.supervise_count += 1;
                counters.add("supervised", lead);
                notify(
                    &mut *tx,
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
        if let Some((kind, message)) = reporter_message(action, &after) {
            notify_reporters(&mut *tx, &after, kind, &message, at).await?;
        }
        save_case(&mut *tx, &before, &after).await?;
        counters.write(&mut *tx).await?;
        crate::audit::record(
            &mut *tx,
            self.now(),
            Some(actor),
            action.name(),
            "case",
            case_id,
            before.state.as_str(),
            after.state.as_str(),
            &detail,
        )
        .await?;
        // The answer is the case as this action left it, read inside its own transaction.
        let stored = cases::get_case(&mut *tx, case_id).await?;
        let event = CaseEvent::of(&stored, action.name(), now);
        Ok((stored, event))
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
            if !urbis_storage::lookups::category_exists(&mut tx, category_id).await? {
                return Err(ServiceError::invalid(
                    "unknown_category",
                    "no such category",
                ));
            }
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
            keep_correction_example(&mut tx, &before, category_id, actor, after.updated_at).await?;
        }
        // Move the counters the case has contributed so far to its new key.
        let mut moved = vec!["reported"];
        if before.state == CaseState::Registered {
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
            before.state.as_str(),
            after.state.as_str(),
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
            spans.push((pause.start_at, pause.end_at));
        }
        let calendar = self.calendar();
        Ok(self.due(
            &calendar,
            clock,
            u32::try_from(amount).unwrap_or(u32::MAX),
            started,
            &spans,
        )?)
    }
}

/// Returns the lead and supporting departments an action that starts the clock names.
fn dispatch_targets(action: &Action) -> Result<(DeptId, Vec<DeptId>)> {
    match action {
        Action::Dispatch { lead, supporting } | Action::Reassign { lead, supporting } => {
            Ok((*lead, supporting.clone()))
        }
        Action::Claim { dept } => Ok((*dept, Vec::new())),
        _ => Err(ServiceError::internal()),
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
    if let Action::Dispatch { supporting, .. } | Action::Reassign { supporting, .. } = action
        && supporting.len() > 10
    {
        return Err(ServiceError::invalid(
            "too_many_departments",
            "at most 10 supporting departments",
        ));
    }
    Ok(())
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
