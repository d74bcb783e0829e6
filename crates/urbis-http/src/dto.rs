//! Wire shapes of the JSON API and their conversion from service and storage types. Only this
//! crate knows them.

use serde::{Deserialize, Serialize};
use urbis_domain::role::{Actor, Role};
use urbis_service::rows::AuditRow;
use urbis_service::rows::{AppealRow, CaseRow};
use utoipa::ToSchema;

/// A case as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseResponse {
    pub id: i64,
    pub number: String,
    pub state: String,
    pub state_zh: String,
    pub channel: String,
    pub title: String,
    pub text: String,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub category_id: Option<i64>,
    pub area_id: i64,
    pub lead_dept_id: Option<i64>,
    pub supporting_dept_ids: Vec<i64>,
    /// Personal data in title and text (phones, ID cards, bank cards, e-mails, names) and the
    /// reporter's name and phone are masked for roles without a need to contact them.
    pub reporter_name: String,
    pub reporter_phone: String,
    pub reporter_count: i64,
    pub urgent: bool,
    /// Explainable priority 0–100 and its level (urgent, high, normal, low).
    pub priority_score: i64,
    pub priority_level: String,
    /// The factors that make up the score: `[{code, label_zh, points, detail}]`.
    #[schema(value_type = Vec<Object>)]
    pub priority_factors: serde_json::Value,
    /// The classifier's category for this text and its confidence (also when not applied).
    pub suggested_category_id: Option<i64>,
    pub suggested_confidence: Option<f64>,
    /// The classifier's top three categories, best first: `[{category_id, code, name, confidence}]`.
    #[schema(value_type = Vec<Object>)]
    pub suggestions: serde_json::Value,
    /// True while the category waits for a person (none given and the classifier was unsure).
    pub needs_review: bool,
    /// The department the responsibility list proposed at intake, for the category or, while it
    /// waits for review, for the best suggestion: `{lead_dept_id, supporting, rule_id,
    /// legal_basis, basis}`.
    #[schema(value_type = Option<Object>)]
    pub proposed_route: Option<serde_json::Value>,
    /// The request waiting for the shift lead (extension or park).
    pub pending: Option<String>,
    pub clock: Option<String>,
    pub limit_amount: Option<i64>,
    pub due_at: Option<String>,
    pub response_due_at: Option<String>,
    pub overdue: bool,
    pub handled_on_time: Option<bool>,
    pub supervise_count: i64,
    pub rework_count: i64,
    pub return_count: i64,
    pub closure_type: Option<String>,
    pub closed_at: Option<String>,
    pub satisfaction: Option<String>,
    pub resolved: Option<bool>,
    pub created_at: String,
    pub updated_at: String,
    /// The city asset (部件) intake named: the nearest asset of the category's classes within 30 m.
    pub asset: Option<CaseAssetBody>,
    /// The supervisor of the responsibility grid holding the case's unit grid.
    pub grid_supervisor: Option<GridSupervisorBody>,
    /// The instructions and deadline the latest dispatch gave, if it gave any.
    pub dispatch_order: Option<DispatchOrderBody>,
}

/// What the dispatcher wrote with the latest dispatch.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispatchOrderBody {
    /// Instructions for the handling department (处置要求); may be empty.
    pub instructions: String,
    /// The handling time chosen, in the case's clock.
    pub limit_amount: i64,
    /// The category's time limit when it was chosen.
    pub category_amount: i64,
    /// Why a shorter deadline was chosen ("" when it was not shorter).
    pub deadline_reason: String,
}

/// The asset a case names.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseAssetBody {
    pub id: String,
    pub name: String,
    pub class: String,
    pub state: String,
    pub distance_m: Option<f64>,
    /// The maintainer department `{id, code, name}`.
    #[schema(value_type = Option<Object>)]
    pub maintainer: Option<serde_json::Value>,
}

/// The supervisor responsible for a case's unit grid.
#[derive(Debug, Serialize, ToSchema)]
pub struct GridSupervisorBody {
    pub responsibility_grid: String,
    pub display_name: Option<String>,
}

impl CaseResponse {
    /// Adds what the latest dispatch said (instructions, deadline).
    pub fn with_order(mut self, order: Option<&urbis_service::rows::DispatchOrderRow>) -> Self {
        self.dispatch_order = order.map(|o| DispatchOrderBody {
            instructions: o.instructions.clone(),
            limit_amount: o.limit_amount,
            category_amount: o.category_amount,
            deadline_reason: o.deadline_reason.clone(),
        });
        self
    }

    /// Adds the case's asset and grid supervisor.
    pub fn with_geo(mut self, geo: Option<&urbis_service::assets::CaseGeo>) -> Self {
        let Some(geo) = geo else { return self };
        self.asset = geo.asset.as_ref().map(|a| CaseAssetBody {
            id: a.asset.id.clone(),
            name: a.asset.name.clone(),
            class: a.asset.subclass_code.clone(),
            state: a.asset.state.clone(),
            distance_m: a.distance_m.map(|d| (d * 10.0).round() / 10.0),
            maintainer: match (
                &a.asset.maintainer_dept_id,
                &a.asset.maintainer_code,
                &a.asset.maintainer_name,
            ) {
                (Some(id), Some(code), Some(name)) => {
                    Some(serde_json::json!({ "id": id, "code": code, "name": name }))
                }
                _ => None,
            },
        });
        self.grid_supervisor = geo.supervisor.as_ref().map(|s| GridSupervisorBody {
            responsibility_grid: s.responsibility_grid.clone(),
            display_name: s.display_name.clone(),
        });
        self
    }
}

/// Returns whether the actor may read a reporter's personal data: the roles that call residents
/// back, and the reporter themself.
fn can_read_contact(actor: &Actor, reporter_user_id: Option<i64>) -> bool {
    matches!(
        actor.role,
        Role::Operator | Role::ShiftLead | Role::Dispatcher | Role::Admin
    ) || reporter_user_id == Some(actor.user_id.0)
}

/// Returns the value as stored for readers with a need, masked for everyone else.
fn visible(contact: bool, value: String, mask: fn(&str) -> String) -> String {
    if contact { value } else { mask(&value) }
}

/// Masks a name to its first character.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().min(3))),
        None => String::new(),
    }
}

/// Masks a phone number to its last four digits.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() <= 4 {
        return "*".repeat(digits.len());
    }
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{}{tail}", "*".repeat(digits.len() - 4))
}

impl CaseResponse {
    /// Builds the response for an actor, masking contact data they have no need for.
    pub fn for_actor(actor: &Actor, row: CaseRow) -> Self {
        let contact = can_read_contact(actor, row.reporter_user_id);
        let state_zh = row.state.title_zh().to_owned();
        CaseResponse {
            reporter_name: visible(contact, row.reporter_name.clone(), mask_name),
            reporter_phone: visible(contact, row.reporter_phone.clone(), mask_phone),
            supporting_dept_ids: urbis_service::case_rows::parse_ids(&row.supporting_depts),
            id: row.id,
            number: row.number,
            state: row.state.as_str().to_owned(),
            state_zh,
            channel: row.channel,
            title: visible(contact, row.title, urbis_text::pii::mask),
            text: visible(contact, row.text, urbis_text::pii::mask),
            // Who goes to the place (handlers, grid supervisors) needs the whole address; readers
            // without a need (leaders) see it down to the road and estate, not the door.
            address: if contact
                || matches!(
                    actor.role,
                    Role::DeptHandler | Role::GridSupervisor | Role::Partner
                ) {
                row.address
            } else {
                urbis_text::pii::mask_address(&row.address)
            },
            lat: row.lat,
            lon: row.lon,
            category_id: row.category_id,
            area_id: row.area_id,
            lead_dept_id: row.lead_dept_id,
            reporter_count: row.reporter_count,
            urgent: row.urgent,
            priority_score: row.priority_score,
            priority_level: row.priority_level,
            priority_factors: serde_json::from_str(&row.priority_factors)
                .unwrap_or(serde_json::Value::Null),
            suggested_category_id: row.suggested_category_id,
            suggested_confidence: row.suggested_confidence,
            suggestions: serde_json::from_str(&row.suggestions)
                .unwrap_or(serde_json::Value::Array(Vec::new())),
            needs_review: row.needs_review,
            proposed_route: row
                .proposed_route
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok()),
            pending: row.pending_kind,
            clock: row.clock,
            limit_amount: row.limit_amount,
            due_at: row.due_at.map(urbis_service::time::to_db),
            response_due_at: row.response_due_at.map(urbis_service::time::to_db),
            overdue: row.overdue,
            handled_on_time: row.handled_on_time,
            supervise_count: row.supervise_count,
            rework_count: row.rework_count,
            return_count: row.return_count,
            closure_type: row.closure_type,
            closed_at: row.closed_at.map(urbis_service::time::to_db),
            satisfaction: row.satisfaction,
            resolved: row.resolved,
            created_at: urbis_service::time::to_db(row.created_at),
            updated_at: urbis_service::time::to_db(row.updated_at),
            asset: None,
            grid_supervisor: None,
            dispatch_order: None,
        }
    }
}

/// One audit record as shown in a case's trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditResponse {
    pub seq: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor_role: String,
    /// Display name of the actor (absent for the system and in a resident's view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    /// JSON detail of the step.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub hash: String,
}

impl From<AuditRow> for AuditResponse {
    fn from(row: AuditRow) -> Self {
        AuditResponse {
            detail: serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::Null),
            seq: row.seq,
            at: urbis_service::time::to_db(row.at),
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            actor_name: None,
            action: row.action,
            from_state: row.from_state,
            to_state: row.to_state,
            hash: row.hash,
        }
    }
}

impl AuditResponse {
    /// Adds the actor's display name.
    pub fn with_actor_name(mut self, name: Option<String>) -> Self {
        self.actor_name = name;
        self
    }
}

/// One appeal behind a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppealResponse {
    pub id: i64,
    pub channel: String,
    pub title: String,
    pub text: String,
    pub reporter_name: String,
    pub reporter_phone: String,
    pub created_at: String,
}

impl AppealResponse {
    /// Builds the response, masking contact data as for the case.
    pub fn for_actor(actor: &Actor, row: AppealRow) -> Self {
        let contact = can_read_contact(actor, row.reporter_user_id);
        AppealResponse {
            id: row.id,
            channel: row.channel,
            title: visible(contact, row.title, urbis_text::pii::mask),
            text: visible(contact, row.text, urbis_text::pii::mask),
            reporter_name: visible(contact, row.reporter_name, mask_name),
            reporter_phone: visible(contact, row.reporter_phone, mask_phone),
            created_at: urbis_service::time::to_db(row.created_at),
        }
    }
}

/// A new appeal from any channel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    /// web, hotline, grid, api or sensor; defaults from the caller's role.
    pub channel: Option<String>,
    pub title: Option<String>,
    /// What the resident says (1–5000 characters).
    pub text: String,
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub address: Option<String>,
    /// WGS84 latitude.
    pub lat: Option<f64>,
    /// WGS84 longitude.
    pub lon: Option<f64>,
    pub category_id: Option<i64>,
    pub area_id: Option<i64>,
    pub urgent: Option<bool>,
    /// 诉求类型: `complaint`, `help`, `enquiry`, `suggestion` or `report` (or 投诉/求助/咨询/建议/举报).
    pub appeal_type: Option<String>,
}

/// What intake answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppealAccepted {
    pub case_id: i64,
    pub number: String,
    pub state: String,
    /// False when this was a retry of an earlier appeal with the same idempotency key.
    pub created: bool,
    /// True when the appeal repeats an open case (same category and area, the same problem) and was
    /// attached to it: `case_id` is that case, whose reporter count grew.
    pub merged: bool,
}

/// A workflow action on a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActionRequest {
    Register,
    Void {
        reason: String,
    },
    SelfResolve {
        #[serde(default)]
        note: String,
    },
    /// Without a lead department the active responsibility list decides.
    Dispatch {
        lead_dept_id: Option<i64>,
        #[serde(default)]
        supporting_dept_ids: Vec<i64>,
        /// Instructions for the handling department (处置要求).
        #[serde(default)]
        instructions: String,
        /// The handling time in the category's clock, at most the category's time limit.
        #[serde(default)]
        limit_amount: Option<i64>,
        /// Why a shorter deadline than the category's (required then).
        #[serde(default)]
        deadline_reason: String,
    },
    Accept,
    Return {
        reason: String,
    },
    Feedback {
        note: String,
    },
    CheckPass {
        #[serde(default)]
        note: String,
    },
    CheckFail {
        reason: String,
    },
    /// closure_type may force error or special.
    Close {
        closure_type: Option<String>,
    },
    Rate {
        /// satisfied, basically_satisfied or dissatisfied.
        satisfaction: String,
        resolved: bool,
        #[serde(default)]
        comment: String,
    },
    Reopen {
        reason: String,
    },
    RequestExtension {
        amount: u32,
        reason: String,
    },
    RequestPark {
        reason: String,
    },
    Decide {
        approve: bool,
        #[serde(default)]
        note: String,
    },
    Unpark {
        #[serde(default)]
        note: String,
    },
    Supervise {
        #[serde(default)]
        note: String,
    },
}

/// Corrections of a case before dispatch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    pub category_id: Option<i64>,
    pub area_id: Option<i64>,
}

/// Filters of the case list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CaseListQuery {
    /// Comma-separated states.
    pub state: Option<String>,
    pub area_id: Option<i64>,
    pub dept_id: Option<i64>,
    pub category_id: Option<i64>,
    pub overdue: Option<bool>,
    /// Keyset pagination: only cases with a smaller id.
    pub before_id: Option<i64>,
    /// `priority` for highest priority first (the dispatcher's queue); default newest first.
    pub order: Option<String>,
    /// `true`: only cases whose category waits for a person (the classifier was unsure).
    pub review: Option<bool>,
    /// 1–500, default 50.
    pub limit: Option<i64>,
}

/// A routing suggestion from the responsibility list.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteResponse {
    pub lead_dept_id: i64,
    pub supporting_dept_ids: Vec<i64>,
    pub legal_basis: String,
    pub rule_id: i64,
}

/// What the operator has typed so far.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SuggestRequest {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub area_code: Option<String>,
    pub category_code: Option<String>,
    /// The address typed but not picked from the matches: without an area or a point, it (or
    /// else a place named in the text) is looked up in the gazetteer for the duplicate check.
    #[serde(default)]
    pub address: String,
}

/// A proposed category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategorySuggestion {
    pub category_id: i64,
    pub code: String,
    pub name: String,
    pub confidence: f32,
}

/// An open case that may be the same problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateSuggestion {
    pub id: i64,
    pub number: String,
    /// Masked of personal data.
    pub title: String,
    pub state: String,
    pub reporter_count: i64,
    /// The repeat model's calibrated score (0–1).
    pub similarity: f32,
    /// Why the case may be the same problem, signal by signal, in Chinese (masked of personal data).
    pub reason: String,
}

/// A department named by code and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeptRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// The responsibility list's route for the suggestion.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteSuggestionResponse {
    pub lead: DeptRef,
    pub supporting: Vec<DeptRef>,
    pub legal_basis: String,
}

/// An area named by code and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaRef {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
}

/// What intake would make of the text: categories, duplicates, personal data, priority, route.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestResponse {
    pub categories: Vec<CategorySuggestion>,
    /// Empty for residents.
    pub duplicates: Vec<DuplicateSuggestion>,
    /// Kinds of personal data found (mobile, landline, id_card, bank_card, email, wechat, qq,
    /// plate, name, address).
    pub pii: Vec<String>,
    pub masked_text: String,
    pub priority: PrioritySuggestion,
    pub route: Option<RouteSuggestionResponse>,
    pub area: Option<AreaRef>,
}

/// The explainable priority the appeal would get.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrioritySuggestion {
    pub score: u8,
    pub level: String,
    /// `[{code, label_zh, points, detail}]`.
    #[schema(value_type = Vec<Object>)]
    pub factors: serde_json::Value,
}

/// Sets a category's severity (0–1), which weighs into new appeals' priority.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CategoryPatch {
    pub severity: f64,
}

/// Page of kept training examples.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TrainingQuery {
    /// Only examples with a larger id.
    pub after_id: Option<i64>,
    /// 1–10000, default 1000.
    pub limit: Option<i64>,
}

/// A correction or return kept for the next `urbis train`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingExampleResponse {
    pub id: i64,
    pub case_id: i64,
    /// `correction` (a category changed by a person) or `return` (a dispatch sent back).
    pub source: String,
    /// Masked of personal data.
    pub text: String,
    pub label: String,
    pub previous: String,
    pub note: String,
    pub created_at: String,
}
