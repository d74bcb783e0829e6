//! The one place where service error kinds become HTTP statuses. Bodies are
//! `{"code": "...", "message": "..."}`; internal details never reach the client.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use urbis_service::{ErrorKind, ServiceError};
use utoipa::ToSchema;

/// The error body of every endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code a client can act on.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        ApiError(err)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection {
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            JsonRejection::BytesRejection(_) => "body_too_large",
            _ => "invalid_json",
        };
        ApiError(ServiceError::invalid(code, rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError(ServiceError::invalid(
            "invalid_query",
            rejection.body_text(),
        ))
    }
}

/// Maps an error kind to its status.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut status = status_of(self.0.kind);
        if matches!(self.0.code, "invalid_json" | "invalid_query") {
            status = StatusCode::BAD_REQUEST;
        } else if matches!(
            self.0.code,
            "unsupported_media_type" | "attachment_bad_type"
        ) {
            status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        } else if matches!(self.0.code, "body_too_large" | "attachment_too_large") {
            status = StatusCode::PAYLOAD_TOO_LARGE;
        }
        let retry_after = match self.0.kind {
            ErrorKind::TooManyRequests { retry_after_secs } => Some(retry_after_secs),
            _ => None,
        };
        let body = ErrorBody {
            code: self.0.code.to_owned(),
            message: self.0.message,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
