//! Splitting a wrong repeat merge (issue 23): a merged appeal becomes its own case with its own
//! clock, in one write transaction that audits both cases and keeps the counters true.

use urbis_storage::audit::{ChainHead, NewAudit};
use urbis_storage::intake::{NewCase, RowIds};
use urbis_storage::split::{self as split_repo, SplitUpdate};
use urbis_storage::stats::{CounterBatch, StateKey};

use super::*;

/// Longest reason a dispatcher may give for a split, in characters.
pub const SPLIT_REASON_MAX: usize = 500;

/// What a dispatcher asks for when splitting an appeal off a case.
#[derive(Debug, Clone, Default)]
pub struct SplitRequest {
    /// Why the merge was wrong (optional, kept in both audit records).
    pub reason: String,
    /// Another area for the new case than the original's.
    pub area_id: Option<i64>,
    /// Another category for the new case than the original's.
    pub category_id: Option<i64>,
}

/// Both cases as the split left them.
#[derive(Debug, Clone)]
pub struct SplitOutcome {
    pub original: CaseRow,
    pub new_case: CaseRow,
}

impl Services {
    /// Splits a merged appeal off its case: the appeal opens a new case (state received, its own
    /// report day), the original counts one reporter less, both cases are audited.
    pub async fn split_appeal(
        &self,
        actor: &Actor,
        case_id: i64,
        appeal_id: i64,
        request: &SplitRequest,
    ) -> Result<SplitOutcome> {
        crate::auth::require_role(actor, &[Role::Dispatcher, Role::ShiftLead, Role::Admin])?;
        let reason = request.reason.trim();
        if reason.chars().count() > SPLIT_REASON_MAX {
            return Err(ServiceError::invalid(
                "reason_too_long",
                format!("the reason has at most {SPLIT_REASON_MAX} characters"),
            ));
        }
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let original = cases::get_case(&mut tx, case_id).await?;
        if !workflow::can_view(actor, &facts_of(&original)) {
            return Err(ServiceError::not_found("case"));
        }
        if !original.state.is_open() {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "case_not_open",
                "the case is closed or voided; its appeals stay with it",
            ));
        }
        let appeal = split_repo::get_appeal(&mut tx, appeal_id)
            .await?
            .filter(|a| a.case_id == case_id)
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorKind::NotFound,
                    "appeal_not_on_case",
                    format!("appeal {appeal_id} is not one of case {case_id}'s appeals"),
                )
            })?;
        if split_repo::first_appeal_id(&mut tx, case_id).await? == Some(appeal_id) {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "original_appeal",
                "the appeal that opened the case cannot be split off it",
            ));
        }
        // Where the new case belongs: the original's area and category unless the request says.
        let (area_id, area_path) = match request.area_id {
            Some(area_id) => {
                let area = reference::get_area(&mut tx, area_id)
                    .await
                    .map_err(|_| ServiceError::invalid("unknown_area", "no such area"))?;
                if !actor.covers_area(&area.path) {
                    return Err(ServiceError::forbidden("area outside your scope"));
                }
                (area.id, area.path)
            }
            None => (original.area_id, original.area_path.clone()),
        };
        let category_id = match request.category_id {
            Some(category) => {
                if !urbis_storage::lookups::category_exists(&mut tx, category).await? {
                    return Err(ServiceError::invalid(
                        "unknown_category",
                        "no such category",
                    ));
                }
                Some(category)
            }
            None => original.category_id,
        };
        let severity = match category_id {
            Some(category) => urbis_storage::lookups::category_severity(&mut tx, category)
                .await?
                .map(|s| s as f32),
            None => None,
        };
        let priority = urbis_text::priority::score(&urbis_text::priority::PriorityInput {
            text: &format!("{} {}", appeal.title, appeal.text),
            category_severity: severity.unwrap_or(0.5),
            duplicate_count: 0,
            repeat_place_count: 0,
        });
        let proposed_route = route_for(&mut tx, category_id, &area_path)
            .await?
            .map(|route| crate::assist::ProposedRoute::new(&route, false))
            .and_then(|route| serde_json::to_string(&route).ok())
            .map(Into::into);
        // The new case: id and number as intake makes them, its report day the split's local day.
        let new_id = RowIds::cases().next(&mut tx, 1).await?;
        let local = now.with_timezone(&self.config().time_zone);
        let day = local.format("%Y-%m-%d").to_string();
        let number = format!("{}{new_id:07}", local.format("%Y%m%d"));
        let received = CaseState::Received.as_str();
        urbis_storage::intake::insert_cases(
            &mut tx,
            &[NewCase {
                id: new_id,
                number: &number,
                state: received,
                channel: &appeal.channel,
                title: &appeal.title,
                text: &appeal.text,
                address: &original.address,
                lat: original.lat,
                lon: original.lon,
                category_id,
                area_id,
                area_path: &area_path,
                reporter_user_id: appeal.reporter_user_id,
                reporter_name: &appeal.reporter_name,
                reporter_phone: &appeal.reporter_phone,
                urgent: priority.level == urbis_text::priority::Level::Urgent,
                stats_day: &day,
                at: now,
                priority_score: i64::from(priority.score),
                priority_level: priority.level.as_str(),
                priority_factors: serde_json::to_string(&priority.factors)
                    .unwrap_or_else(|_| "[]".into())
                    .into(),
                suggested_category_id: None,
                suggested_confidence: None,
                suggestions: "[]".to_owned().into(),
                needs_review: category_id.is_none(),
                proposed_route,
                asset_id: None,
                asset_distance_m: None,
            }],
        )
        .await?;
        split_repo::move_appeal(&mut tx, appeal_id, new_id).await?;
        // The original follows up its reporter only while they have another appeal on it.
        let mut co = parse_ids(&original.co_reporters);
        if let Some(user) = appeal.reporter_user_id
            && split_repo::reporter_appeals(&mut tx, case_id, user).await? == 0
        {
            co.retain(|u| *u != user);
        }
        let target = urbis_storage::intake::repeat_target(&mut tx, case_id)
            .await?
            .ok_or_else(ServiceError::internal)?;
        let reporters_left = (original.reporter_count - 1).max(1);
        split_repo::record_split(
            &mut tx,
            &SplitUpdate {
                case_id,
                co_reporters: &format_ids(&co),
                anonymous_repeats: target.anonymous_repeats.min(reporters_left - 1).max(0),
                at: now,
            },
        )
        .await?;
        if let Some(user) = appeal.reporter_user_id {
            cases::insert_notification(
                &mut tx,
                &NotificationRow {
                    id: 0,
                    case_id: new_id,
                    dept_id: None,
                    user_id: Some(user),
                    kind: "split".into(),
                    message: format!(
                        "您的诉求已从案件 {} 中拆分出来，作为新案件 {number} 单独办理",
                        original.number
                    ),
                    created_at: now,
                },
            )
            .await?;
        }
        // Counters: the new case is reported today and waits as received; the merge it undoes no
        // longer counts as a repeat on the original's report day.
        let mut counters = CounterBatch::default();
        counters.event(
            &day,
            Dim::Area,
            area_id,
            category_id.unwrap_or(0),
            "reported",
            1,
        );
        counters.state(
            &StateKey {
                area_id,
                dept_id: 0,
                category_id: category_id.unwrap_or(0),
                state: received.to_owned(),
                overdue: false,
            },
            1,
        );
        counters.event(
            &original.stats_day,
            Dim::Area,
            original.area_id,
            original.category_id.unwrap_or(0),
            "repeat_reports",
            -1,
        );
        counters.write(&mut tx).await?;
        // Both cases' trails say what happened, in one chain.
        let original_detail = serde_json::json!({
            "appeal_id": appeal_id,
            "new_case_id": new_id,
            "new_number": number,
            "reason": reason,
        })
        .to_string();
        let new_detail = serde_json::json!({
            "channel": appeal.channel,
            "number": number,
            "area_id": area_id,
            "category_id": category_id,
            "split_from": case_id,
            "split_from_number": original.number,
            "appeal_id": appeal_id,
            "reason": reason,
            "priority": {"score": priority.score, "level": priority.level.as_str()},
        })
        .to_string();
        let mut head = ChainHead::load(&mut tx).await?;
        let state = original.state.as_str();
        head.append_all(
            &mut tx,
            &[
                NewAudit {
                    at: now,
                    actor_id: Some(actor.user_id.0),
                    actor_role: actor.role.as_str(),
                    action: "split_repeat",
                    entity: "case",
                    entity_id: case_id,
                    from_state: state,
                    to_state: state,
                    detail: &original_detail,
                },
                NewAudit {
                    at: now,
                    actor_id: Some(actor.user_id.0),
                    actor_role: actor.role.as_str(),
                    action: "receive",
                    entity: "case",
                    entity_id: new_id,
                    from_state: "",
                    to_state: received,
                    detail: &new_detail,
                },
            ],
        )
        .await?;
        let original = cases::get_case(&mut tx, case_id).await?;
        let new_case = cases::get_case(&mut tx, new_id).await?;
        tx.commit().await?;
        crate::metrics::case_transition("split_repeat");
        // Further repeats of the split-off problem join the new case.
        if let Some(category) = new_case.category_id {
            let reporter =
                crate::dedup::reporter_key(&appeal.reporter_phone, appeal.reporter_user_id);
            let profile = crate::dedup::repeat_profile(
                self.config().repeat_rule,
                &appeal.title,
                &appeal.text,
                reporter.as_deref(),
                appeal.created_at.timestamp(),
            );
            self.remember_case(new_id, profile, category, new_case.area_id);
        }
        self.publish(CaseEvent::of(&original, "split_repeat", now));
        self.publish(CaseEvent::of(&new_case, "receive", now));
        Ok(SplitOutcome { original, new_case })
    }
}
