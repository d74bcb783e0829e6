//! 协办 sub-tasks: a supporting department signs for its task and feeds back (photos go to the
//! case's attachments); the lead department may release a sub-task it no longer needs, with a
//! reason. Each step is one write transaction with its audit record on the case, so the steps show
//! in the case's trail.

use urbis_storage::cohandle::{self as repo, SubtaskListRow, SubtaskRow};

use super::*;

/// Largest page of a sub-task list.
pub const SUBTASK_LIST_MAX: i64 = 500;

const SUBTASK_STATES: [&str; 5] = ["dispatched", "handling", "done", "released", "cancelled"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Accept,
    Feedback,
    Release,
}

impl Step {
    fn action(self) -> &'static str {
        match self {
            Step::Accept => "subtask_accept",
            Step::Feedback => "subtask_feedback",
            Step::Release => "subtask_release",
        }
    }
}

impl Services {
    /// Returns every sub-task of a case the actor may see (current and earlier dispatches').
    pub async fn case_subtasks(&self, actor: &Actor, case_id: i64) -> Result<Vec<SubtaskRow>> {
        self.get_case(actor, case_id).await?;
        let mut conn = self.db().read().await?;
        Ok(repo::case_subtasks(&mut conn, case_id, false).await?)
    }

    /// Lists current sub-tasks for a workbench: a department's (or partner's) own, or for the
    /// command centre every department's inside its scope.
    pub async fn list_subtasks(
        &self,
        actor: &Actor,
        states: &[String],
        limit: i64,
    ) -> Result<Vec<SubtaskListRow>> {
        if !(1..=SUBTASK_LIST_MAX).contains(&limit) {
            return Err(ServiceError::invalid(
                "invalid_limit",
                format!("limit must be between 1 and {SUBTASK_LIST_MAX}"),
            ));
        }
        if states.len() > SUBTASK_STATES.len()
            || states.iter().any(|s| !SUBTASK_STATES.contains(&s.as_str()))
        {
            return Err(ServiceError::invalid(
                "invalid_state",
                "state is dispatched, handling, done, released or cancelled",
            ));
        }
        let dept = match actor.role {
            Role::DeptHandler | Role::Partner => Some(
                actor
                    .dept_id
                    .ok_or_else(|| ServiceError::forbidden("no department"))?
                    .0,
            ),
            Role::ShiftLead | Role::Dispatcher | Role::Leader | Role::Admin => None,
            _ => return Err(ServiceError::forbidden("sub-tasks are for departments")),
        };
        let scope = actor.area_scope.as_ref().map(|s| s.path.as_str());
        let mut conn = self.db().read().await?;
        Ok(repo::list_subtasks(&mut conn, dept, scope, states, limit).await?)
    }

    /// 协办签收: the supporting department takes its sub-task.
    pub async fn accept_subtask(&self, actor: &Actor, subtask_id: i64) -> Result<SubtaskRow> {
        self.subtask_step(actor, subtask_id, Step::Accept, "").await
    }

    /// 协办反馈: the supporting department reports its part done.
    pub async fn feedback_subtask(
        &self,
        actor: &Actor,
        subtask_id: i64,
        note: &str,
    ) -> Result<SubtaskRow> {
        self.subtask_step(actor, subtask_id, Step::Feedback, note)
            .await
    }

    /// 解除协办: the lead department (or the shift lead) releases a sub-task, with a reason.
    pub async fn release_subtask(
        &self,
        actor: &Actor,
        subtask_id: i64,
        reason: &str,
    ) -> Result<SubtaskRow> {
        self.subtask_step(actor, subtask_id, Step::Release, reason)
            .await
    }

    async fn subtask_step(
        &self,
        actor: &Actor,
        subtask_id: i64,
        step: Step,
        text: &str,
    ) -> Result<SubtaskRow> {
        let text = text.trim();
        if text.chars().count() > urbis_domain::appeal::limits::NOTE_MAX_CHARS {
            return Err(ServiceError::invalid(
                "text_too_long",
                format!(
                    "reason or note longer than {} characters",
                    urbis_domain::appeal::limits::NOTE_MAX_CHARS
                ),
            ));
        }
        if step != Step::Accept && text.is_empty() {
            return Err(ServiceError::invalid(
                "text_required",
                format!("{} needs a note or reason", step.action()),
            ));
        }
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let before = repo::get_subtask(&mut tx, subtask_id)
            .await
            .map_err(|_| ServiceError::not_found("subtask"))?;
        let case = cases::get_case(&mut tx, before.case_id).await?;
        if !workflow::can_view(actor, &facts_of(&case)) {
            return Err(ServiceError::not_found("subtask"));
        }
        let actor_dept = actor.dept_id.map(|d| d.0);
        let department = matches!(actor.role, Role::DeptHandler | Role::Partner);
        let allowed = match step {
            Step::Accept | Step::Feedback => department && actor_dept == Some(before.dept_id),
            Step::Release => {
                (department && actor_dept.is_some() && actor_dept == case.lead_dept_id)
                    || actor.role == Role::ShiftLead
            }
        };
        if !allowed {
            return Err(ServiceError::forbidden(match step {
                Step::Release => "only the lead department or the shift lead releases a sub-task",
                _ => "only the supporting department acts on its sub-task",
            }));
        }
        let from = before.state.clone();
        let legal = before.active
            && match step {
                Step::Accept => from == "dispatched",
                Step::Feedback => from == "handling",
                Step::Release => matches!(from.as_str(), "dispatched" | "handling"),
            };
        if !legal {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "illegal_transition",
                format!(
                    "{} is not allowed on a sub-task in state {from}",
                    step.action()
                ),
            ));
        }
        let mut after = before.clone();
        let mut counters = Counters::new(&case);
        match step {
            Step::Accept => {
                after.state = "handling".into();
                after.accepted_at = Some(now);
            }
            Step::Feedback => {
                after.state = "done".into();
                after.done_at = Some(now);
                after.note = text.to_owned();
                let on_time = before.due_at.is_none_or(|due| now <= due);
                after.on_time = Some(on_time);
                // 协办按期率 = sub-tasks done on time / sub-tasks done, per supporting department.
                counters.add("cohandled", Some(before.dept_id));
                if on_time {
                    counters.add("cohandled_on_time", Some(before.dept_id));
                }
                notify(
                    &mut tx,
                    case.id,
                    case.lead_dept_id,
                    "subtask_feedback",
                    &format!("案件 {} 的协办部门已反馈", case.number),
                    now,
                )
                .await?;
            }
            Step::Release => {
                after.state = "released".into();
                after.done_at = Some(now);
                after.note = text.to_owned();
                notify(
                    &mut tx,
                    case.id,
                    Some(before.dept_id),
                    "subtask_released",
                    &format!("案件 {} 的协办任务已解除：{text}", case.number),
                    now,
                )
                .await?;
            }
        }
        repo::update_subtask(&mut tx, &after).await?;
        counters.write(&mut tx).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            step.action(),
            "case",
            case.id,
            case.state.as_str(),
            case.state.as_str(),
            &serde_json::json!({
                "subtask_id": subtask_id,
                "dept_id": before.dept_id,
                "from": from,
                "to": after.state,
                "text": text,
                "on_time": after.on_time,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
