//! What anyone may look up without logging in.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(public_case))
}

/// The public view of a case: no reporter data, texts masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicCaseResponse {
    pub number: String,
    /// The title with personal data masked.
    pub title: String,
    pub category_name: Option<String>,
    pub state: String,
    /// `open` or `closed` (closed, rated or voided).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The latest handling feedback, personal data masked.
    pub reply: Option<String>,
    /// `satisfied`, `basically_satisfied` or `dissatisfied` once rated.
    pub rating: Option<String>,
}

/// Looks a case up by its number (the receipt a reporter got); no login needed.
#[utoipa::path(get, path = "/api/v1/public/cases/{number}", tag = "cases", params(("number" = String, Path)),
    responses((status = 200, body = PublicCaseResponse), (status = 404, body = ErrorBody, description = "`case_not_found`")))]
async fn public_case(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> ApiResult<Json<PublicCaseResponse>> {
    let case = state.services.public_case(&number).await?;
    Ok(Json(PublicCaseResponse {
        number: case.number,
        title: case.title,
        category_name: case.category_name,
        state: case.state,
        status: if case.closed { "closed" } else { "open" }.to_owned(),
        created_at: case.created_at,
        updated_at: case.updated_at,
        reply: case.reply,
        rating: case.rating,
    }))
}
