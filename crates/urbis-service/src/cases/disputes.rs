//! Responsibility disputes (推诿) and arbitration: a department that holds a case not to be its
//! own opens a dispute with its reason and the list entry it relies on; the command centre's shift
//! lead (the arbiter) rules within a working-day deadline. The ruling is binding — the case is
//! re-dispatched (改派) in the ruling's transaction — audited, and drafted as an amendment into the
//! next version of the responsibility list, which the list's owner (admin) reviews and publishes.

use urbis_domain::calendar::ClockType;
use urbis_storage::cohandle::{self as repo, DisputeCountRow, DisputeRow};

use super::*;

/// Working days the arbiter has to rule.
pub const DISPUTE_RULING_DAYS: u32 = 2;

/// Largest page of the dispute queue.
pub const DISPUTE_LIST_MAX: i64 = 500;

/// What an arbiter decides.
#[derive(Debug, Clone)]
pub struct Ruling {
    pub lead_dept_id: i64,
    pub supporting: Vec<i64>,
    pub note: String,
}

const ARBITER: &[Role] = &[Role::ShiftLead];
const DISPUTE_READERS: &[Role] = &[Role::ShiftLead, Role::Leader, Role::Admin, Role::Dispatcher];

impl Services {
    /// Opens a dispute instead of a 回退: the department's reason and the list entry it relies on.
    pub async fn open_dispute(
        &self,
        actor: &Actor,
        case_id: i64,
        reason: &str,
        rule_id: i64,
    ) -> Result<DisputeRow> {
        crate::auth::require_role(actor, &[Role::DeptHandler, Role::Partner])?;
        let reason = reason.trim();
        if reason.is_empty()
            || reason.chars().count() > urbis_domain::appeal::limits::NOTE_MAX_CHARS
        {
            return Err(ServiceError::invalid(
                "invalid_reason",
                format!(
                    "a reason of 1 to {} characters",
                    urbis_domain::appeal::limits::NOTE_MAX_CHARS
                ),
            ));
        }
        let dept = actor
            .dept_id
            .ok_or_else(|| ServiceError::forbidden("no department"))?
            .0;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let case = cases::get_case(&mut tx, case_id).await?;
        if !workflow::can_view(actor, &facts_of(&case)) {
            return Err(ServiceError::not_found("case"));
        }
        if !matches!(case.state, CaseState::Dispatched | CaseState::Handling) {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "illegal_transition",
                format!(
                    "a dispute is opened on a dispatched case, not one in state {}",
                    case.state
                ),
            ));
        }
        if repo::open_dispute_of_case(&mut tx, case_id)
            .await?
            .is_some()
        {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "dispute_open",
                "this case already has an open dispute",
            ));
        }
        repo::get_rule(&mut tx, rule_id)
            .await
            .map_err(|_| ServiceError::invalid("unknown_rule", "no such responsibility rule"))?;
        let calendar = self.calendar();
        let due_at = self
            .due(
                &calendar,
                ClockType::WorkingDay,
                DISPUTE_RULING_DAYS,
                now,
                &[],
            )?
            .ok_or_else(ServiceError::internal)?;
        let row = repo::insert_dispute(
            &mut tx,
            &DisputeRow {
                id: 0,
                case_id,
                dept_id: dept,
                category_id: case.category_id,
                area_id: case.area_id,
                rule_id,
                reason: reason.to_owned(),
                state: "open".into(),
                opened_by: Some(actor.user_id.0),
                opened_at: now,
                due_at,
                escalated: false,
                ruled_by: None,
                ruled_at: None,
                lead_dept_id: None,
                supporting: String::new(),
                ruling: String::new(),
                on_time: None,
                draft_version_id: None,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "dispute_open",
            "case",
            case_id,
            case.state.as_str(),
            case.state.as_str(),
            &serde_json::json!({
                "dispute_id": row.id, "dept_id": dept, "rule_id": rule_id,
                "text": reason, "due_at": crate::time::to_db(due_at),
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The dispute queue: the arbiter and leaders see every dispute in their scope, oldest
    /// deadline first; a department its own.
    pub async fn list_disputes(
        &self,
        actor: &Actor,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DisputeRow>> {
        if !(1..=DISPUTE_LIST_MAX).contains(&limit) {
            return Err(ServiceError::invalid(
                "invalid_limit",
                format!("limit must be between 1 and {DISPUTE_LIST_MAX}"),
            ));
        }
        if state.is_some_and(|s| !matches!(s, "open" | "ruled")) {
            return Err(ServiceError::invalid(
                "invalid_state",
                "state is open or ruled",
            ));
        }
        let dept = match actor.role {
            Role::DeptHandler | Role::Partner => Some(
                actor
                    .dept_id
                    .ok_or_else(|| ServiceError::forbidden("no department"))?
                    .0,
            ),
            role if DISPUTE_READERS.contains(&role) => None,
            _ => return Err(ServiceError::forbidden("disputes are for staff")),
        };
        let scope = actor.area_scope.as_ref().map(|s| s.path.as_str());
        let mut conn = self.db().read().await?;
        Ok(repo::list_disputes(&mut conn, state, dept, scope, limit).await?)
    }

    /// Rules a dispute (the arbiter): re-dispatches the case to the named departments, drafts the
    /// amendment of the responsibility list and records the ruling, in one transaction.
    pub async fn rule_dispute(
        &self,
        actor: &Actor,
        dispute_id: i64,
        ruling: &Ruling,
    ) -> Result<DisputeRow> {
        crate::auth::require_role(actor, ARBITER)?;
        let note = ruling.note.trim();
        if note.is_empty() || note.chars().count() > urbis_domain::appeal::limits::NOTE_MAX_CHARS {
            return Err(ServiceError::invalid(
                "invalid_ruling",
                format!(
                    "a ruling note of 1 to {} characters",
                    urbis_domain::appeal::limits::NOTE_MAX_CHARS
                ),
            ));
        }
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let before = repo::get_dispute(&mut tx, dispute_id).await?;
        let case = cases::get_case(&mut tx, before.case_id).await?;
        if !workflow::can_view(actor, &facts_of(&case)) {
            return Err(ServiceError::not_found("dispute"));
        }
        if before.state != "open" {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "dispute_ruled",
                "this dispute has been ruled already",
            ));
        }
        // Binding: the case goes where the ruling says, through the workflow's own 改派.
        let action = Action::Reassign {
            lead: DeptId(ruling.lead_dept_id),
            supporting: ruling.supporting.iter().copied().map(DeptId).collect(),
        };
        let (stored, event) = self.act_in(&mut tx, actor, case.id, &action).await?;
        let relied_on = repo::get_rule(&mut tx, before.rule_id).await?;
        let draft = crate::cohandle::draft_amendment(
            &mut tx,
            actor,
            now,
            &relied_on,
            &case,
            &crate::cohandle::Amendment {
                lead: ruling.lead_dept_id,
                supporting: &ruling.supporting,
                note: format!("争议裁定 #{dispute_id}：{note}"),
            },
        )
        .await?;
        let mut after = before.clone();
        after.state = "ruled".into();
        after.ruled_by = Some(actor.user_id.0);
        after.ruled_at = Some(now);
        after.lead_dept_id = Some(ruling.lead_dept_id);
        after.supporting = crate::case_rows::format_ids(&ruling.supporting);
        after.ruling = note.to_owned();
        after.on_time = Some(now <= before.due_at);
        after.draft_version_id = Some(draft);
        repo::update_dispute(&mut tx, &after).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "dispute_ruled",
            "case",
            case.id,
            stored.state.as_str(),
            stored.state.as_str(),
            &serde_json::json!({
                "dispute_id": dispute_id, "lead_dept_id": ruling.lead_dept_id,
                "supporting": after.supporting, "text": note, "on_time": after.on_time,
                "draft_version_id": draft,
            }),
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "responsibility_amended",
            "responsibility_version",
            draft,
            "draft",
            "draft",
            &serde_json::json!({ "dispute_id": dispute_id, "rule_id": before.rule_id }),
        )
        .await?;
        tx.commit().await?;
        crate::metrics::case_transition(action.name());
        self.publish(event);
        Ok(after)
    }

    /// Counts disputes about cases in the actor's scope per category and department for days
    /// `from..=to`, so that the list can be fixed where it is unclear.
    pub async fn dispute_counts(
        &self,
        actor: &Actor,
        period: &crate::stats::Period,
    ) -> Result<Vec<DisputeCountRow>> {
        crate::auth::require_role(actor, DISPUTE_READERS)?;
        let day = |d: &str| {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ServiceError::invalid("invalid_period", "bad day"))
        };
        let from = self.from_local(day(&period.from)?.and_time(chrono::NaiveTime::MIN));
        let to = self.from_local(
            (day(&period.to)? + chrono::Duration::days(1)).and_time(chrono::NaiveTime::MIN),
        );
        let scope = actor
            .area_scope
            .as_ref()
            .map_or("/".to_owned(), |s| s.path.clone());
        let mut conn = self.db().read().await?;
        Ok(repo::dispute_counts(&mut conn, from, to, &scope).await?)
    }
}
