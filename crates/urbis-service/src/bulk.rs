//! Bulk loading of complete case histories (`urbis bench scale`, migrations of old systems):
//! many cases per write transaction, each case's history applied in memory, its counters gathered
//! into one [`CounterBatch`] (the same writer, roll-ups included, that every single change uses)
//! and each case recorded in the audit chain, so `audit verify` holds after a load.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::CaseState;
use urbis_storage::audit::{ChainHead, NewAudit};
use urbis_storage::cases::{self, CaseRow};
use urbis_storage::reference;
use urbis_storage::stats::{CounterBatch, Dim, StateKey};

use crate::auth::require_role;
use crate::{Result, ServiceError, Services};

/// Most cases in one bulk call (one write transaction).
pub const BULK_MAX: usize = 20_000;

/// One step of a loaded history, in the order it happened.
#[derive(Debug, Clone)]
pub enum BulkStep {
    /// received → registered.
    Register,
    /// received or registered → voided.
    Void,
    /// registered → dispatched to the lead department, due at `due_at`.
    Dispatch { lead: i64, due_at: DateTime<Utc> },
    /// dispatched → handling.
    Accept,
    /// handling → feedback.
    Feedback,
    /// feedback → checked.
    CheckPass,
    /// checked → closed (or received → closed when fixed on the spot).
    Close,
    /// closed → evaluated.
    Rate { satisfied: bool, resolved: bool },
}

impl BulkStep {
    fn name(&self) -> &'static str {
        match self {
            BulkStep::Register => "register",
            BulkStep::Void => "void",
            BulkStep::Dispatch { .. } => "dispatch",
            BulkStep::Accept => "accept",
            BulkStep::Feedback => "feedback",
            BulkStep::CheckPass => "check_pass",
            BulkStep::Close => "close",
            BulkStep::Rate { .. } => "rate",
        }
    }
}

/// A case to load: what was reported, and what happened to it since.
#[derive(Debug, Clone)]
pub struct BulkCase {
    pub received_at: DateTime<Utc>,
    pub channel: String,
    pub title: String,
    pub text: String,
    pub address: String,
    pub location: Option<(f64, f64)>,
    pub area_id: i64,
    pub category_id: Option<i64>,
    pub priority_score: i64,
    pub steps: Vec<(DateTime<Utc>, BulkStep)>,
}

/// Response time allowed after a dispatch.
const RESPONSE_HOURS: i64 = 2;

fn bad(message: String) -> ServiceError {
    ServiceError::invalid("invalid_history", message)
}

impl Services {
    /// Loads complete case histories in one write transaction (admin only; at most
    /// [`BULK_MAX`]); returns the new case ids. Steps must follow the workflow in time order.
    pub async fn bulk_load_cases(&self, actor: &Actor, batch: &[BulkCase]) -> Result<Vec<i64>> {
        require_role(actor, &[Role::Admin])?;
        if batch.len() > BULK_MAX {
            return Err(ServiceError::invalid(
                "batch_too_large",
                format!("at most {BULK_MAX} cases per bulk load"),
            ));
        }
        let now = self.now();
        let offset = self.config().time_zone;
        let mut tx = self.db().begin_write().await?;
        let mut ids = urbis_storage::intake::RowIds::cases();
        let mut paths: HashMap<i64, String> = HashMap::new();
        let mut rows = Vec::with_capacity(batch.len());
        let mut counters = CounterBatch::default();
        let mut head = ChainHead::load(&mut tx).await?;
        let mut details = Vec::with_capacity(batch.len());
        for case in batch {
            if let Entry::Vacant(entry) = paths.entry(case.area_id) {
                entry.insert(reference::get_area(&mut tx, case.area_id).await?.path);
            }
            let next_id = ids.next(&mut tx, batch.len()).await?;
            let local = case.received_at.with_timezone(&offset);
            let day = local.format("%Y-%m-%d").to_string();
            let at = case.received_at;
            let mut row = new_row(next_id, case, &paths[&case.area_id], &day, at);
            row.number = format!("{}{next_id:07}", local.format("%Y%m%d"));
            let category = case.category_id.unwrap_or(0);
            let mut count = |metric: &str, dept: Option<i64>| {
                counters.event(&day, Dim::Area, case.area_id, category, metric, 1);
                if let Some(dept) = dept {
                    counters.event(&day, Dim::Dept, dept, category, metric, 1);
                }
            };
            count("reported", None);
            let mut last = case.received_at;
            let mut trail = Vec::with_capacity(case.steps.len());
            for (at, step) in &case.steps {
                if *at < last || *at > now {
                    return Err(bad(format!("case {next_id}: steps out of time order")));
                }
                last = *at;
                apply(&mut row, *at, step, &mut count)
                    .map_err(|message| bad(format!("case {next_id}: {message}")))?;
                trail.push(serde_json::json!([step.name(), crate::time::to_db(*at)]));
            }
            row.overdue = matches!(row.state.as_str(), "dispatched" | "handling")
                && row.due_at.is_some_and(|due| due < now);
            row.updated_at = last;
            counters.state(
                &StateKey {
                    area_id: row.area_id,
                    dept_id: row.lead_dept_id.unwrap_or(0),
                    category_id: category,
                    state: row.state.as_str().to_owned(),
                    overdue: row.overdue,
                },
                1,
            );
            details.push(serde_json::json!({ "number": row.number, "steps": trail }).to_string());
            rows.push(row);
        }
        // Each case's record in the audit chain, in load order, a few multi-row statements in all.
        let records: Vec<NewAudit<'_>> = rows
            .iter()
            .zip(&details)
            .map(|(row, detail)| NewAudit {
                at: row.updated_at,
                actor_id: Some(actor.user_id.0),
                actor_role: actor.role.as_str(),
                action: "bulk_load",
                entity: "case",
                entity_id: row.id,
                from_state: "",
                to_state: row.state.as_str(),
                detail,
            })
            .collect();
        head.append_all(&mut tx, &records).await?;
        cases::insert_case_rows(&mut tx, &rows).await?;
        counters.write(&mut tx).await?;
        tx.commit().await?;
        Ok(rows.iter().map(|r| r.id).collect())
    }
}

fn new_row(id: i64, case: &BulkCase, area_path: &str, day: &str, at: DateTime<Utc>) -> CaseRow {
    CaseRow {
        id,
        number: String::new(),
        state: CaseState::Received,
        channel: case.channel.clone(),
        title: case.title.clone(),
        text: case.text.clone(),
        address: case.address.clone(),
        lat: case.location.map(|l| l.0),
        lon: case.location.map(|l| l.1),
        category_id: case.category_id,
        area_id: case.area_id,
        area_path: area_path.to_owned(),
        lead_dept_id: None,
        supporting_depts: String::new(),
        reporter_user_id: None,
        reporter_name: String::new(),
        reporter_phone: String::new(),
        reporter_count: 1,
        urgent: false,
        pending_kind: None,
        pending_amount: None,
        clock: None,
        limit_amount: None,
        clock_started_at: None,
        due_at: None,
        response_due_at: None,
        accepted_at: None,
        feedback_at: None,
        handled_on_time: None,
        overdue: false,
        reminded: false,
        supervise_count: 0,
        rework_count: 0,
        return_count: 0,
        closure_type: None,
        closed_at: None,
        satisfaction: None,
        resolved: None,
        rated_at: None,
        stats_day: day.to_owned(),
        priority_score: case.priority_score,
        priority_level: if case.priority_score >= 80 {
            "urgent".into()
        } else {
            "normal".into()
        },
        priority_factors: "[]".into(),
        suggested_category_id: None,
        suggested_confidence: None,
        suggestions: "[]".into(),
        needs_review: case.category_id.is_none(),
        proposed_route: None,
        co_reporters: String::new(),
        created_at: at,
        updated_at: at,
        version: 1,
    }
}

/// Applies one step to the case row and counts its events as `act` does.
fn apply(
    row: &mut CaseRow,
    at: DateTime<Utc>,
    step: &BulkStep,
    count: &mut impl FnMut(&str, Option<i64>),
) -> std::result::Result<(), String> {
    let lead = row.lead_dept_id;
    let stamp = at;
    let due = |at: &Option<DateTime<Utc>>| *at;
    let to = match (row.state.as_str(), step) {
        ("received", BulkStep::Register) => {
            count("registered", None);
            "registered"
        }
        ("received" | "registered", BulkStep::Void) => {
            count("voided", None);
            "voided"
        }
        ("registered", BulkStep::Dispatch { lead, due_at }) => {
            row.lead_dept_id = Some(*lead);
            row.clock = Some("natural_day".into());
            row.limit_amount = Some((*due_at - at).num_days().max(1));
            row.clock_started_at = Some(stamp);
            row.due_at = Some(*due_at);
            row.response_due_at = Some(at + chrono::Duration::hours(RESPONSE_HOURS));
            row.needs_review = false;
            count("dispatched", Some(*lead));
            "dispatched"
        }
        ("dispatched", BulkStep::Accept) => {
            row.accepted_at = Some(stamp);
            count("responded", lead);
            if due(&row.response_due_at).is_none_or(|d| at <= d) {
                count("responded_on_time", lead);
            }
            "handling"
        }
        ("handling", BulkStep::Feedback) => {
            row.feedback_at = Some(stamp);
            let on_time = due(&row.due_at).is_none_or(|d| at <= d);
            row.handled_on_time = Some(on_time);
            count("handled", lead);
            if on_time {
                count("handled_on_time", lead);
            }
            "feedback"
        }
        ("feedback", BulkStep::CheckPass) => {
            count("checked", lead);
            "checked"
        }
        ("checked" | "received", BulkStep::Close) => {
            if row.state == CaseState::Received {
                count("registered", None);
                count("self_resolved", None);
            }
            let normal = row.handled_on_time != Some(false);
            row.closure_type = Some(if normal { "normal" } else { "overdue" }.into());
            row.closed_at = Some(stamp);
            count("closed", lead);
            if normal {
                count("closed_on_time", lead);
            }
            "closed"
        }
        (
            "closed",
            BulkStep::Rate {
                satisfied,
                resolved,
            },
        ) => {
            row.satisfaction = Some(
                if *satisfied {
                    "satisfied"
                } else {
                    "dissatisfied"
                }
                .into(),
            );
            row.resolved = Some(*resolved);
            row.rated_at = Some(stamp);
            count("evaluated", lead);
            if *satisfied {
                count("satisfied", lead);
            }
            if *resolved {
                count("resolved", lead);
            }
            "evaluated"
        }
        (state, step) => return Err(format!("{} is not possible in {state}", step.name())),
    };
    row.state = CaseState::parse(to).ok_or_else(|| format!("unknown state {to}"))?;
    Ok(())
}
