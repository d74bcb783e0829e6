//! Co-handling: supporting departments' sub-tasks (协办), responsibility disputes and their
//! arbitration, the draft responsibility list, partner organisations and their pool, and the
//! public responsibility list (no login).

mod partners;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use urbis_service::cases::disputes::Ruling;
use urbis_service::rows::{DisputeRow, RuleRow, SubtaskListRow, SubtaskRow};
use urbis_service::time::to_db;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::routes::stats::StatsQuery;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(case_subtasks))
        .routes(routes!(list_subtasks))
        .routes(routes!(accept_subtask))
        .routes(routes!(feedback_subtask))
        .routes(routes!(release_subtask))
        .routes(routes!(open_dispute))
        .routes(routes!(list_disputes))
        .routes(routes!(rule_dispute))
        .routes(routes!(dispute_stats))
        .routes(routes!(draft))
        .routes(routes!(publish_draft))
        .merge(partners::router())
}

/// A supporting department's sub-task.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubtaskResponse {
    pub id: i64,
    pub case_id: i64,
    pub dept_id: i64,
    /// `dispatched`, `handling`, `done`, `released` or `cancelled`.
    pub state: String,
    /// False once the case was returned, reopened or dispatched again.
    pub active: bool,
    pub clock: String,
    pub limit_amount: i64,
    pub created_at: String,
    pub due_at: Option<String>,
    pub accepted_at: Option<String>,
    pub done_at: Option<String>,
    /// The feedback, or the reason of a release.
    pub note: String,
    pub on_time: Option<bool>,
    pub reminded: bool,
    pub overdue: bool,
}

impl From<SubtaskRow> for SubtaskResponse {
    fn from(row: SubtaskRow) -> Self {
        SubtaskResponse {
            id: row.id,
            case_id: row.case_id,
            dept_id: row.dept_id,
            state: row.state,
            active: row.active,
            clock: row.clock,
            limit_amount: row.limit_amount,
            created_at: to_db(row.created_at),
            due_at: row.due_at.map(to_db),
            accepted_at: row.accepted_at.map(to_db),
            done_at: row.done_at.map(to_db),
            note: row.note,
            on_time: row.on_time,
            reminded: row.reminded,
            overdue: row.overdue,
        }
    }
}

/// A sub-task on a workbench, with its case.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubtaskListItem {
    pub id: i64,
    pub case_id: i64,
    pub dept_id: i64,
    pub state: String,
    pub due_at: Option<String>,
    pub overdue: bool,
    pub created_at: String,
    pub case_number: String,
    pub case_title: String,
    pub case_state: String,
    pub lead_dept_id: Option<i64>,
}

impl From<SubtaskListRow> for SubtaskListItem {
    fn from(row: SubtaskListRow) -> Self {
        SubtaskListItem {
            id: row.id,
            case_id: row.case_id,
            dept_id: row.dept_id,
            state: row.state,
            due_at: row.due_at.map(to_db),
            overdue: row.overdue,
            created_at: to_db(row.created_at),
            case_number: row.case_number,
            case_title: urbis_text::pii::mask(&row.case_title),
            case_state: row.case_state,
            lead_dept_id: row.lead_dept_id,
        }
    }
}

/// Filters of the sub-task list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SubtaskQuery {
    /// Comma-separated states (default: all current).
    pub state: Option<String>,
    /// At most 500 (default 100).
    pub limit: Option<i64>,
}

/// A note (feedback) or a reason (release).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TextBody {
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub reason: String,
}

/// Returns every sub-task of a case (current and earlier dispatches').
#[utoipa::path(get, path = "/api/v1/cases/{id}/subtasks", tag = "cohandle", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<SubtaskResponse>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn case_subtasks(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<SubtaskResponse>>> {
    let rows = state.services.case_subtasks(&actor, id).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// The workbench's sub-tasks: the caller's department's, or every department's for the command centre.
#[utoipa::path(get, path = "/api/v1/subtasks", tag = "cohandle", params(SubtaskQuery),
    responses((status = 200, body = Vec<SubtaskListItem>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_subtasks(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<SubtaskQuery>,
) -> ApiResult<Json<Vec<SubtaskListItem>>> {
    let states: Vec<String> = query
        .state
        .map(|s| {
            s.split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let rows = state
        .services
        .list_subtasks(&actor, &states, query.limit.unwrap_or(100))
        .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// 协办签收: the supporting department takes its sub-task.
#[utoipa::path(post, path = "/api/v1/subtasks/{id}/accept", tag = "cohandle", params(("id" = i64, Path)),
    responses((status = 200, body = SubtaskResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn accept_subtask(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<SubtaskResponse>> {
    Ok(Json(
        state.services.accept_subtask(&actor, id).await?.into(),
    ))
}

/// 协办反馈: the supporting department reports its part done (photos: the case's attachments).
#[utoipa::path(post, path = "/api/v1/subtasks/{id}/feedback", tag = "cohandle", params(("id" = i64, Path)),
    request_body = TextBody,
    responses((status = 200, body = SubtaskResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn feedback_subtask(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<TextBody>,
) -> ApiResult<Json<SubtaskResponse>> {
    let row = state
        .services
        .feedback_subtask(&actor, id, &body.note)
        .await?;
    Ok(Json(row.into()))
}

/// 解除协办: the lead department releases a sub-task, with a reason.
#[utoipa::path(post, path = "/api/v1/subtasks/{id}/release", tag = "cohandle", params(("id" = i64, Path)),
    request_body = TextBody,
    responses((status = 200, body = SubtaskResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn release_subtask(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<TextBody>,
) -> ApiResult<Json<SubtaskResponse>> {
    let row = state
        .services
        .release_subtask(&actor, id, &body.reason)
        .await?;
    Ok(Json(row.into()))
}

/// A responsibility dispute.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeResponse {
    pub id: i64,
    pub case_id: i64,
    /// The disputing department.
    pub dept_id: i64,
    pub category_id: Option<i64>,
    pub area_id: i64,
    /// The responsibility list entry the department relies on.
    pub rule_id: i64,
    pub reason: String,
    /// `open` or `ruled`.
    pub state: String,
    pub opened_at: String,
    /// The arbiter's deadline.
    pub due_at: String,
    pub escalated: bool,
    pub ruled_at: Option<String>,
    pub lead_dept_id: Option<i64>,
    pub supporting_dept_ids: Vec<i64>,
    pub ruling: String,
    /// Whether the ruling came within the deadline.
    pub on_time: Option<bool>,
    /// The draft version of the responsibility list the ruling amended.
    pub draft_version_id: Option<i64>,
}

impl From<DisputeRow> for DisputeResponse {
    fn from(row: DisputeRow) -> Self {
        DisputeResponse {
            id: row.id,
            case_id: row.case_id,
            dept_id: row.dept_id,
            category_id: row.category_id,
            area_id: row.area_id,
            rule_id: row.rule_id,
            reason: row.reason,
            state: row.state,
            opened_at: to_db(row.opened_at),
            due_at: to_db(row.due_at),
            escalated: row.escalated,
            ruled_at: row.ruled_at.map(to_db),
            lead_dept_id: row.lead_dept_id,
            supporting_dept_ids: urbis_service::case_rows::parse_ids(&row.supporting),
            ruling: row.ruling,
            on_time: row.on_time,
            draft_version_id: row.draft_version_id,
        }
    }
}

/// Opening a dispute.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DisputeRequest {
    pub reason: String,
    /// The responsibility list entry (rule id) the department relies on.
    pub rule_id: i64,
}

/// The arbiter's ruling.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RulingRequest {
    pub lead_dept_id: i64,
    #[serde(default)]
    pub supporting_dept_ids: Vec<i64>,
    pub note: String,
}

/// Filters of the dispute queue.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DisputeQuery {
    /// `open` or `ruled` (default: both).
    pub state: Option<String>,
    /// At most 500 (default 100).
    pub limit: Option<i64>,
}

/// Opens a dispute (推诿 path) instead of a second 回退.
#[utoipa::path(post, path = "/api/v1/cases/{id}/disputes", tag = "cohandle", params(("id" = i64, Path)),
    request_body = DisputeRequest,
    responses((status = 201, body = DisputeResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn open_dispute(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DisputeRequest>,
) -> ApiResult<(StatusCode, Json<DisputeResponse>)> {
    let row = state
        .services
        .open_dispute(&actor, id, &body.reason, body.rule_id)
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// The dispute queue, oldest deadline first.
#[utoipa::path(get, path = "/api/v1/disputes", tag = "cohandle", params(DisputeQuery),
    responses((status = 200, body = Vec<DisputeResponse>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_disputes(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<DisputeQuery>,
) -> ApiResult<Json<Vec<DisputeResponse>>> {
    let rows = state
        .services
        .list_disputes(&actor, query.state.as_deref(), query.limit.unwrap_or(100))
        .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Rules a dispute (the arbiter, 值班长): binding re-dispatch and a draft amendment of the list.
#[utoipa::path(post, path = "/api/v1/disputes/{id}/ruling", tag = "cohandle", params(("id" = i64, Path)),
    request_body = RulingRequest,
    responses((status = 200, body = DisputeResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn rule_dispute(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RulingRequest>,
) -> ApiResult<Json<DisputeResponse>> {
    let ruling = Ruling {
        lead_dept_id: body.lead_dept_id,
        supporting: body.supporting_dept_ids,
        note: body.note,
    };
    let row = state.services.rule_dispute(&actor, id, &ruling).await?;
    Ok(Json(row.into()))
}

/// Dispute counts per category and department.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeCount {
    pub category_id: Option<i64>,
    pub dept_id: i64,
    pub disputes: i64,
    pub open: i64,
}

/// Counts disputes per category and department in a period of days.
#[utoipa::path(get, path = "/api/v1/stats/disputes", tag = "cohandle", params(StatsQuery),
    responses((status = 200, body = Vec<DisputeCount>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn dispute_stats(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<DisputeCount>>> {
    let period = crate::routes::stats::period(&state, &query)?;
    let rows = state.services.dispute_counts(&actor, &period).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| DisputeCount {
                category_id: r.category_id,
                dept_id: r.dept_id,
                disputes: r.disputes,
                open: r.open,
            })
            .collect(),
    ))
}

/// A rule as listed in a version.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftRule {
    pub id: i64,
    pub category_id: i64,
    pub area_id: i64,
    pub lead_dept_id: i64,
    pub supporting_dept_ids: Vec<i64>,
    pub legal_basis: String,
}

/// The draft version of the responsibility list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftResponse {
    pub version_id: i64,
    pub note: String,
    pub created_at: String,
    pub rules: Vec<DraftRule>,
}

fn draft_rule(rule: RuleRow) -> DraftRule {
    DraftRule {
        id: rule.id,
        category_id: rule.category_id,
        area_id: rule.area_id,
        lead_dept_id: rule.lead_dept_id,
        supporting_dept_ids: urbis_service::case_rows::parse_ids(&rule.supporting),
        legal_basis: rule.legal_basis,
    }
}

/// Returns the unpublished draft of the responsibility list (404 `draft_not_found` when none).
#[utoipa::path(get, path = "/api/v1/responsibility/draft", tag = "cohandle",
    responses((status = 200, body = DraftResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn draft(State(state): State<AppState>, Auth(actor): Auth) -> ApiResult<Json<DraftResponse>> {
    let (version, rules) = state
        .services
        .responsibility_draft(&actor)
        .await?
        .ok_or_else(|| urbis_service::ServiceError::not_found("draft"))?;
    Ok(Json(DraftResponse {
        version_id: version.id,
        note: version.note,
        created_at: to_db(version.created_at),
        rules: rules.into_iter().map(draft_rule).collect(),
    }))
}

/// A published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublishedVersion {
    pub id: i64,
    pub note: String,
    pub active: bool,
}

/// Publishes a reviewed draft: it becomes the active responsibility list (admin, the list's owner).
#[utoipa::path(post, path = "/api/v1/responsibility/versions/{id}/publish", tag = "cohandle", params(("id" = i64, Path)),
    responses((status = 200, body = PublishedVersion), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn publish_draft(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<PublishedVersion>> {
    let version = state.services.publish_draft(&actor, id).await?;
    Ok(Json(PublishedVersion {
        id: version.id,
        note: version.note,
        active: version.active,
    }))
}
