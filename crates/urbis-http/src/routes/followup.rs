//! "Was it fixed?" (回访): a resident's answer about a closed case, their own answers, the
//! "fixed confirmed" rate and the closed cases whose reporter said "not fixed" (shift leads).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(answer_followup))
        .routes(routes!(my_followups))
        .routes(routes!(followup_counts))
        .routes(routes!(flagged_followups))
}

/// Whether the problem was really fixed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowupRequest {
    pub fixed: bool,
}

/// What the answer did.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowupResponse {
    pub fixed: bool,
    /// True when the first reporter said "not fixed": the case goes to the shift lead, who may reopen it.
    pub flagged: bool,
}

/// Answers "was it fixed?" about a closed case the caller reported or follows (verified
/// residents, once per case). 404 when the caller neither reported nor follows it; 409
/// `case_not_closed` or `followup_answered`.
#[utoipa::path(post, path = "/api/v1/cases/{id}/followup", tag = "residents", params(("id" = i64, Path)),
    request_body = FollowupRequest,
    responses((status = 200, body = FollowupResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn answer_followup(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<FollowupRequest>,
) -> ApiResult<Json<FollowupResponse>> {
    let outcome = state
        .services
        .answer_followup(&actor, id, body.fixed)
        .await?;
    Ok(Json(FollowupResponse {
        fixed: outcome.fixed,
        flagged: outcome.flagged,
    }))
}

/// One of the caller's answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyFollowup {
    pub case_id: i64,
    pub fixed: bool,
    pub answered_at: String,
}

/// The caller's answers (residents).
#[utoipa::path(get, path = "/api/v1/me/followups", tag = "residents",
    responses((status = 200, body = [MyFollowup]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn my_followups(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<MyFollowup>>> {
    let rows = state.services.my_followups(&actor).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| MyFollowup {
                case_id: r.case_id,
                fixed: r.fixed,
                answered_at: urbis_service::time::to_db(r.answered_at),
            })
            .collect(),
    ))
}

/// The period counted.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FollowupCountsQuery {
    /// Days back from now (1–366, default 30).
    pub days: Option<i64>,
}

/// Residents' answers over the period and the "fixed confirmed" rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowupCountsResponse {
    pub fixed: i64,
    pub not_fixed: i64,
    pub answered: i64,
    /// fixed / answered; null while nobody answered.
    pub fixed_rate: Option<f64>,
}

/// Counts the answers to "was it fixed?" given in the period, in the caller's area (staff).
#[utoipa::path(get, path = "/api/v1/stats/followups", tag = "stats", params(FollowupCountsQuery),
    responses((status = 200, body = FollowupCountsResponse), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn followup_counts(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<FollowupCountsQuery>,
) -> ApiResult<Json<FollowupCountsResponse>> {
    let days = query.days.unwrap_or(30).clamp(1, 366);
    let since = state.services.now() - chrono::Duration::days(days);
    let counts = state.services.followup_counts(&actor, since).await?;
    Ok(Json(FollowupCountsResponse {
        fixed: counts.fixed,
        not_fixed: counts.not_fixed,
        answered: counts.fixed + counts.not_fixed,
        fixed_rate: counts.fixed_rate,
    }))
}

/// A closed case whose reporter said it was not fixed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlaggedCase {
    pub case_id: i64,
    pub number: String,
    pub title: String,
    pub state: String,
    pub area_id: i64,
    pub answered_at: String,
}

/// Closed cases in the caller's area whose first reporter answered "not fixed", newest first:
/// the shift lead's list of cases to reopen or to call back (staff).
#[utoipa::path(get, path = "/api/v1/followups/flagged", tag = "residents",
    responses((status = 200, body = [FlaggedCase]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn flagged_followups(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<FlaggedCase>>> {
    let rows = state.services.flagged_followups(&actor, 100).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| FlaggedCase {
                case_id: r.case_id,
                number: r.number,
                title: r.title,
                state: r.state,
                area_id: r.area_id,
                answered_at: urbis_service::time::to_db(r.answered_at),
            })
            .collect(),
    ))
}
