//! Splitting a wrongly merged repeat appeal off its case into its own case (issue 23).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use urbis_service::cases::SplitRequest;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::CaseResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(split_appeal))
}

/// A split: why, and optionally another area or category for the new case (the original's by
/// default). An empty object is a valid request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    /// Why the merge was wrong, at most 500 characters.
    #[serde(default)]
    pub reason: Option<String>,
    pub area_id: Option<i64>,
    pub category_id: Option<i64>,
}

/// Both cases after a split.
#[derive(Debug, Serialize, ToSchema)]
pub struct SplitResponse {
    /// The case the appeal was merged into, one reporter less.
    pub original: CaseResponse,
    /// The new case the appeal opened (state received, its own clock).
    pub new_case: CaseResponse,
}

/// Splits a merged repeat appeal off its case: the appeal becomes its own case (state received,
/// its own report day and clock), the original counts one reporter less, and both cases' trails
/// record the split (dispatcher, shift lead, admin). Refusals: `appeal_not_on_case` (404),
/// `original_appeal` and `case_not_open` (409).
#[utoipa::path(post, path = "/api/v1/cases/{id}/appeals/{appeal_id}/split", tag = "cases",
    params(("id" = i64, Path), ("appeal_id" = i64, Path)), request_body = SplitBody,
    responses((status = 201, body = SplitResponse), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn split_appeal(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path((id, appeal_id)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<SplitBody>,
) -> ApiResult<(axum::http::StatusCode, Json<SplitResponse>)> {
    let request = SplitRequest {
        reason: body.reason.unwrap_or_default(),
        area_id: body.area_id,
        category_id: body.category_id,
    };
    let outcome = state
        .services
        .split_appeal(&actor, id, appeal_id, &request)
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(SplitResponse {
            original: CaseResponse::for_actor(&actor, outcome.original),
            new_case: CaseResponse::for_actor(&actor, outcome.new_case),
        }),
    ))
}
