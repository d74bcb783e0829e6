//! Photos on cases: upload as a raw body, list, fetch. Only the upload route takes bodies larger
//! than the API-wide limit.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use urbis_service::ServiceError;
use urbis_service::attachments::MAX_BYTES;
use urbis_service::rows::AttachmentRow;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_attachment))
        // One byte more than the limit, so the service (not the body reader) answers for a body
        // just over it; anything larger is cut off while streaming.
        .layer(DefaultBodyLimit::max(MAX_BYTES + 1))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(list_attachments))
                .routes(routes!(get_attachment)),
        )
}

/// An attachment as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentResponse {
    pub id: i64,
    pub case_id: i64,
    /// `appeal` (evidence from the reporter), `feedback` (proof of the fix) or `check` (taken at the on-site check).
    pub kind: String,
    pub mime: String,
    pub size: i64,
    pub created_at: DateTime<Utc>,
    /// Where to fetch the bytes (with the bearer token).
    pub url: String,
}

impl AttachmentResponse {
    fn from_row(row: AttachmentRow) -> ApiResult<AttachmentResponse> {
        Ok(AttachmentResponse {
            url: format!("/api/v1/attachments/{}", row.id),
            id: row.id,
            case_id: row.case_id,
            kind: row.kind,
            mime: row.mime,
            size: row.size,
            created_at: row.created_at,
        })
    }
}

/// The attachments of a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentList {
    pub items: Vec<AttachmentResponse>,
}

/// Query of an upload.
#[derive(Debug, Deserialize, IntoParams)]
pub struct UploadQuery {
    /// `appeal` (default), `feedback` or `check` (the supervisor checking a fed-back case).
    pub kind: Option<String>,
}

/// Attaches a photo (JPEG, PNG or WebP, at most 5 MiB, at most 9 per case) to a case the caller
/// may view. The body is the raw file; its Content-Type must match its bytes.
#[utoipa::path(post, path = "/api/v1/cases/{id}/attachments", tag = "cases",
    params(("id" = i64, Path), UploadQuery),
    request_body(content(([u8] = "image/jpeg"), ([u8] = "image/png"), ([u8] = "image/webp")),
        description = "the image file, at most 5 MiB"),
    responses((status = 201, body = AttachmentResponse),
              (status = 404, body = ErrorBody, description = "no such case, or not visible to the caller"),
              (status = 409, body = ErrorBody, description = "`attachment_limit`: the case has 9 already"),
              (status = 413, body = ErrorBody, description = "`attachment_too_large`"),
              (status = 415, body = ErrorBody, description = "`attachment_bad_type`: not JPEG, PNG or WebP, or the bytes do not match")),
    security(("bearer" = [])))]
async fn upload_attachment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<AttachmentResponse>)> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ServiceError::invalid(
                "attachment_too_large",
                format!("an attachment may be at most {MAX_BYTES} bytes"),
            )
        } else {
            ServiceError::invalid("invalid_body", rejection.body_text())
        }
    })?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let row = state
        .services
        .add_attachment(
            &actor,
            id,
            query.kind.as_deref().unwrap_or("appeal"),
            content_type,
            &body,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AttachmentResponse::from_row(row)?),
    ))
}

/// Lists the attachments of a case the caller may view, oldest first.
#[utoipa::path(get, path = "/api/v1/cases/{id}/attachments", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = AttachmentList), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_attachments(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<AttachmentList>> {
    let rows = state.services.list_attachments(&actor, id).await?;
    Ok(Json(AttachmentList {
        items: rows
            .into_iter()
            .map(AttachmentResponse::from_row)
            .collect::<ApiResult<_>>()?,
    }))
}

/// Returns an attachment's bytes with its content type, if the caller may view its case.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, content(([u8] = "image/jpeg"), ([u8] = "image/png"), ([u8] = "image/webp"))),
              (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_attachment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (row, bytes) = state.services.get_attachment(&actor, id).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    let content_type = HeaderValue::from_str(&row.mime).map_err(|_| ServiceError::internal())?;
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    Ok(response)
}
