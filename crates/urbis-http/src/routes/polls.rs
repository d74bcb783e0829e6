//! Opinion collection (征集意见): polls opened by leaders, answered once by verified residents,
//! published after closing with small cells suppressed.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use urbis_service::residents::polls::{NewPoll, options_of};
use urbis_service::rows::PollRow;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_polls, create_poll))
        .routes(routes!(answer_poll))
        .routes(routes!(poll_results))
}

/// A poll to open (征集意见).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollRequest {
    pub area_id: Option<i64>,
    pub title: String,
    pub question: String,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub allow_text: bool,
    /// Counts below this are not published (at least 3, default 5).
    pub min_cell: Option<i64>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: DateTime<Utc>,
}

/// A poll.
#[derive(Debug, Serialize, ToSchema)]
pub struct PollResponse {
    pub id: i64,
    pub area_id: Option<i64>,
    pub title: String,
    pub question: String,
    pub options: Vec<String>,
    pub allow_text: bool,
    pub min_cell: i64,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

fn poll_response(p: PollRow) -> PollResponse {
    PollResponse {
        id: p.id,
        area_id: p.area_id,
        options: options_of(&p),
        title: p.title,
        question: p.question,
        allow_text: p.allow_text,
        min_cell: p.min_cell,
        opens_at: p.opens_at,
        closes_at: p.closes_at,
    }
}

/// One answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollAnswerRequest {
    /// The chosen option's index (from 0).
    pub option: Option<i64>,
    pub text: Option<String>,
}

/// One option's published count (`null`: fewer than `min_cell`, suppressed).
#[derive(Debug, Serialize, ToSchema)]
pub struct PollCount {
    pub option: String,
    pub count: Option<i64>,
}

/// A closed poll's results, small cells suppressed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PollResultsResponse {
    pub poll: PollResponse,
    pub counts: Vec<PollCount>,
    /// Answers given as free text only (`null` when suppressed or not allowed).
    pub free_text: Option<i64>,
    pub total: Option<i64>,
}

/// Lists polls, newest first (public).
#[utoipa::path(get, path = "/api/v1/polls", tag = "participation", responses((status = 200, body = [PollResponse])))]
async fn list_polls(State(state): State<AppState>) -> ApiResult<Json<Vec<PollResponse>>> {
    let rows = state.services.list_polls().await?;
    Ok(Json(rows.into_iter().map(poll_response).collect()))
}

/// Opens a poll (admins, leaders).
#[utoipa::path(post, path = "/api/v1/polls", tag = "participation", request_body = PollRequest,
    responses((status = 201, body = PollResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_poll(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<PollRequest>,
) -> ApiResult<(StatusCode, Json<PollResponse>)> {
    let row = state
        .services
        .create_poll(
            &actor,
            &NewPoll {
                area_id: body.area_id,
                title: body.title,
                question: body.question,
                options: body.options,
                allow_text: body.allow_text,
                min_cell: body.min_cell,
                opens_at: body.opens_at,
                closes_at: body.closes_at,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(poll_response(row))))
}

/// Answers a poll (verified residents, once each; 409 `already_answered` / `poll_closed`).
#[utoipa::path(post, path = "/api/v1/polls/{id}/answers", tag = "participation", params(("id" = i64, Path)),
    request_body = PollAnswerRequest,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn answer_poll(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<PollAnswerRequest>,
) -> ApiResult<StatusCode> {
    state
        .services
        .answer_poll(&actor, id, body.option, body.text.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A closed poll's results with small cells suppressed (public; 409 `poll_open` before it closes).
#[utoipa::path(get, path = "/api/v1/polls/{id}/results", tag = "participation", params(("id" = i64, Path)),
    responses((status = 200, body = PollResultsResponse), (status = 409, body = ErrorBody)))]
async fn poll_results(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<PollResultsResponse>> {
    let results = state.services.poll_results(id).await?;
    Ok(Json(PollResultsResponse {
        counts: results
            .options
            .into_iter()
            .map(|(option, count)| PollCount { option, count })
            .collect(),
        free_text: results.free_text,
        total: results.total,
        poll: poll_response(results.poll),
    }))
}
