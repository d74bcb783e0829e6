//! Cases: reading them within the actor's scope (here), moving them through the workflow
//! (`act`), the reporter's contact on demand (`contact`), the notifications a step leaves
//! (`notify`), the training examples people's corrections leave (`examples`).

use chrono::{DateTime, Utc};
use urbis_domain::ids::DeptId;
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::{self, Action, CaseState, ClosureType, Effect, PendingRequest};
use urbis_storage::audit::{self as audit_repo, AuditRow};
use urbis_storage::cases::{self, AppealRow, CaseFilter, CaseRow, NotificationRow};
use urbis_storage::stats::{self, Dim};
use urbis_storage::{Conn, reference};

use crate::{CaseEvent, ErrorKind, Result, ServiceError, Services};

mod act;
pub mod contact;
pub mod disputes;
mod examples;
mod notify;
pub mod orders;
pub mod pool;
mod split;
pub mod subtasks;

use crate::case_rows::{Counters, facts_of, format_ids, parse_ids, save_case};
use crate::routing::{RouteSuggestion, route_for};
use examples::{keep_correction_example, keep_return_example};
use notify::{notify, notify_reporters, reporter_message};
pub use orders::DispatchOrder;
pub use split::{SPLIT_REASON_MAX, SplitOutcome, SplitRequest};

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
            Role::DeptHandler | Role::Partner => {
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
}
