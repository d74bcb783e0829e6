//! One-stop answers (knowledge base search, consultations closed at intake) and community
//! deliberation (proposals, supports, comments, outcomes).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use urbis_service::residents::answers::{NewAnswer, NewConsultation};
use urbis_service::residents::deliberation::Decision;
use urbis_service::rows::{AnswerRow, CommentRow, ProposalRow};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_answer))
        .routes(routes!(search_answers))
        .routes(routes!(record_consultation))
        .routes(routes!(consultation_counts))
        .routes(routes!(appeal_type_counts))
        .routes(routes!(list_proposals, create_proposal))
        .routes(routes!(get_proposal))
        .routes(routes!(support_proposal))
        .routes(routes!(comment_proposal))
        .routes(routes!(decide_proposal))
}

/// A policy answer to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub question: String,
    pub answer: String,
    pub dept_id: Option<i64>,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
}

/// A policy answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerResponse {
    pub id: i64,
    pub question: String,
    pub answer: String,
    pub dept_id: Option<i64>,
    pub keywords: Vec<String>,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
    /// How well it matches the search (search results only).
    pub score: Option<u32>,
}

fn answer_response(row: AnswerRow, score: Option<u32>) -> AnswerResponse {
    AnswerResponse {
        id: row.id,
        question: row.question,
        answer: row.answer,
        dept_id: row.dept_id,
        keywords: row
            .keywords
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        valid_from: row.valid_from,
        valid_to: row.valid_to,
        score,
    }
}

/// The text being typed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    pub q: String,
    pub limit: Option<usize>,
}

/// A consultation answered at intake.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultationRequest {
    /// The answer used, from the knowledge base.
    pub kb_id: Option<i64>,
    /// `enquiry` or `suggestion` (咨询/建议); 投诉/求助/举报 are filed as appeals.
    pub appeal_type: String,
    pub question: String,
    /// The operator's own answer when no knowledge-base answer fits.
    pub answer: Option<String>,
    pub channel: String,
}

/// A consultation, closed with its answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationResponse {
    pub id: i64,
    pub kb_id: Option<i64>,
    pub appeal_type: String,
    pub answer: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
}

/// Consultations answered at intake per appeal type (counted apart from cases).
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationCount {
    pub appeal_type: String,
    pub count: i64,
}

/// The window of the counts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CountsQuery {
    /// Days back from now (1–366, default 30).
    pub days: Option<i64>,
}

/// Adds a policy answer to the knowledge base (admins).
#[utoipa::path(post, path = "/api/v1/kb/answers", tag = "participation", request_body = AnswerRequest,
    responses((status = 201, body = AnswerResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_answer(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<AnswerRequest>,
) -> ApiResult<(StatusCode, Json<AnswerResponse>)> {
    let row = state
        .services
        .add_answer(
            &actor,
            &NewAnswer {
                question: body.question,
                answer: body.answer,
                dept_id: body.dept_id,
                keywords: body.keywords,
                valid_from: body.valid_from,
                valid_to: body.valid_to,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(answer_response(row, None))))
}

/// Searches the answers in force for the text being typed, best first.
#[utoipa::path(get, path = "/api/v1/kb/search", tag = "participation", params(SearchQuery),
    responses((status = 200, body = [AnswerResponse]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn search_answers(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<AnswerResponse>>> {
    let found = state
        .services
        .search_answers(&actor, &query.q, query.limit.unwrap_or(5))
        .await?;
    Ok(Json(
        found
            .into_iter()
            .map(|(row, score)| answer_response(row, Some(score)))
            .collect(),
    ))
}

/// Records a 咨询 (or 建议) answered at intake and closes it with the answer.
#[utoipa::path(post, path = "/api/v1/consultations", tag = "participation", request_body = ConsultationRequest,
    responses((status = 201, body = ConsultationResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn record_consultation(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<ConsultationRequest>,
) -> ApiResult<(StatusCode, Json<ConsultationResponse>)> {
    let row = state
        .services
        .record_consultation(
            &actor,
            &NewConsultation {
                kb_id: body.kb_id,
                appeal_type: body.appeal_type,
                question: body.question,
                answer: body.answer,
                channel: body.channel,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ConsultationResponse {
            id: row.id,
            kb_id: row.kb_id,
            appeal_type: row.appeal_type,
            answer: row.answer,
            state: "closed".into(),
            created_at: row.created_at,
        }),
    ))
}

/// Counts consultations answered at intake, per appeal type.
#[utoipa::path(get, path = "/api/v1/consultations/counts", tag = "participation", params(CountsQuery),
    responses((status = 200, body = [ConsultationCount]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn consultation_counts(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<CountsQuery>,
) -> ApiResult<Json<Vec<ConsultationCount>>> {
    let days = query.days.unwrap_or(30).clamp(1, 366);
    let since = state.services.now() - chrono::Duration::days(days);
    let counts = state.services.consultation_counts(&actor, since).await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|(appeal_type, count)| ConsultationCount { appeal_type, count })
            .collect(),
    ))
}

/// Appeals of one type: cases filed with it and consultations closed at intake, apart.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppealTypeCount {
    pub appeal_type: String,
    pub appeal_type_zh: String,
    pub cases: i64,
    pub consultations: i64,
}

/// Counts appeals per type (投诉/求助/咨询/建议/举报): cases and consultations apart.
#[utoipa::path(get, path = "/api/v1/stats/appeal-types", tag = "participation", params(CountsQuery),
    responses((status = 200, body = [AppealTypeCount]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn appeal_type_counts(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<CountsQuery>,
) -> ApiResult<Json<Vec<AppealTypeCount>>> {
    let days = query.days.unwrap_or(30).clamp(1, 366);
    let since = state.services.now() - chrono::Duration::days(days);
    let counts = state.services.appeal_type_counts(&actor, since).await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|(kind, cases, consultations)| AppealTypeCount {
                appeal_type: kind.as_str().to_owned(),
                appeal_type_zh: kind.title_zh().to_owned(),
                cases,
                consultations,
            })
            .collect(),
    ))
}

/// A proposal to post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalRequest {
    pub community_id: i64,
    pub title: String,
    pub body: String,
}

/// A proposal as anyone sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalResponse {
    pub id: i64,
    pub community_id: i64,
    pub title: String,
    pub body: String,
    /// `open`, `agenda`, `accepted` or `rejected`.
    pub state: String,
    pub supports: i64,
    pub threshold: i64,
    pub outcome_reason: Option<String>,
    /// The case an accepted proposal opened, and its state.
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
    pub case_state: Option<String>,
    pub created_at: DateTime<Utc>,
    pub agenda_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub comments: Vec<CommentResponse>,
}

/// A comment; the author's name is shown masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentResponse {
    pub id: i64,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Masks a display name to its first character.
fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}**"),
        None => "**".into(),
    }
}

fn comment_response(c: CommentRow) -> CommentResponse {
    CommentResponse {
        id: c.id,
        author: mask_name(&c.author),
        body: urbis_text::pii::mask(&c.body),
        created_at: c.created_at,
    }
}

fn proposal_response(p: ProposalRow, comments: Vec<CommentRow>) -> ProposalResponse {
    ProposalResponse {
        id: p.id,
        community_id: p.community_id,
        title: urbis_text::pii::mask(&p.title),
        body: urbis_text::pii::mask(&p.body),
        state: p.state,
        supports: p.supports,
        threshold: p.threshold,
        outcome_reason: p.outcome_reason,
        case_id: p.case_id,
        case_number: p.case_number,
        case_state: p.case_state,
        created_at: p.created_at,
        agenda_at: p.agenda_at,
        decided_at: p.decided_at,
        comments: comments.into_iter().map(comment_response).collect(),
    }
}

/// The community to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProposalsQuery {
    pub community_id: Option<i64>,
}

/// A comment to post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    pub body: String,
}

/// The deliberation meeting's outcome.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub accepted: bool,
    pub reason: String,
    pub category_id: Option<i64>,
}

/// Lists proposals, newest first (public).
#[utoipa::path(get, path = "/api/v1/proposals", tag = "participation", params(ProposalsQuery),
    responses((status = 200, body = [ProposalResponse])))]
async fn list_proposals(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ProposalsQuery>,
) -> ApiResult<Json<Vec<ProposalResponse>>> {
    let rows = state.services.list_proposals(query.community_id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|p| proposal_response(p, Vec::new()))
            .collect(),
    ))
}

/// Posts a proposal in a community (residents verified by a phone code; 403 `not_verified`).
#[utoipa::path(post, path = "/api/v1/proposals", tag = "participation", request_body = ProposalRequest,
    responses((status = 201, body = ProposalResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_proposal(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<ProposalRequest>,
) -> ApiResult<(StatusCode, Json<ProposalResponse>)> {
    let row = state
        .services
        .create_proposal(&actor, body.community_id, &body.title, &body.body)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(proposal_response(row, Vec::new())),
    ))
}

/// A proposal with its comments and outcome (public).
#[utoipa::path(get, path = "/api/v1/proposals/{id}", tag = "participation", params(("id" = i64, Path)),
    responses((status = 200, body = ProposalResponse), (status = 404, body = ErrorBody)))]
async fn get_proposal(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProposalResponse>> {
    let (row, comments) = state.services.proposal(id).await?;
    Ok(Json(proposal_response(row, comments)))
}

/// Supports a proposal, once per verified resident (409 `already_supported`).
#[utoipa::path(post, path = "/api/v1/proposals/{id}/support", tag = "participation", params(("id" = i64, Path)),
    responses((status = 200, body = ProposalResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn support_proposal(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProposalResponse>> {
    let row = state.services.support_proposal(&actor, id).await?;
    Ok(Json(proposal_response(row, Vec::new())))
}

/// Comments on a proposal.
#[utoipa::path(post, path = "/api/v1/proposals/{id}/comments", tag = "participation", params(("id" = i64, Path)),
    request_body = CommentRequest,
    responses((status = 201, body = CommentResponse), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn comment_proposal(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CommentRequest>,
) -> ApiResult<(StatusCode, Json<CommentResponse>)> {
    let comment = state
        .services
        .comment_proposal(&actor, id, &body.body)
        .await?;
    Ok((StatusCode::CREATED, Json(comment_response(comment))))
}

/// Records the deliberation meeting's outcome (shift leads, admins): accepted opens a tracked
/// case; rejected keeps its reasons. 409 `not_on_agenda`.
#[utoipa::path(post, path = "/api/v1/proposals/{id}/decision", tag = "participation", params(("id" = i64, Path)),
    request_body = DecisionRequest,
    responses((status = 200, body = ProposalResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn decide_proposal(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> ApiResult<Json<ProposalResponse>> {
    let row = state
        .services
        .decide_proposal(
            &actor,
            id,
            &Decision {
                accepted: body.accepted,
                reason: body.reason,
                category_id: body.category_id,
            },
        )
        .await?;
    Ok(Json(proposal_response(row, Vec::new())))
}
