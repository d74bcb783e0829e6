//! Extractors: the bearer-token actor (so no handler can forget authentication) and JSON and
//! query extractors that answer with the API's error shape.

use axum::extract::{FromRequest, FromRequestParts, Query};
use axum::http::request::Parts;
use urbis_domain::role::Actor;
use urbis_service::ServiceError;

use crate::AppState;
use crate::error::ApiError;

/// The logged-in actor; requests without a valid bearer token get 401.
pub struct Auth(pub Actor);

/// The actor if a valid token was sent; anonymous otherwise. A token that is sent but invalid
/// is still an error, so a client never silently acts anonymously.
pub struct MaybeAuth(pub Option<Actor>);

fn bearer(parts: &Parts) -> Option<Result<&str, ApiError>> {
    let header = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    Some(
        header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError(ServiceError::unauthenticated())),
    )
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| ApiError(ServiceError::unauthenticated()))??;
        let actor = state.services.authenticate(token).await?;
        tracing::Span::current().record("user_id", actor.user_id.0);
        Ok(Auth(actor))
    }
}

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts) {
            None => Ok(MaybeAuth(None)),
            Some(token) => {
                let actor = state.services.authenticate(token?).await?;
                tracing::Span::current().record("user_id", actor.user_id.0);
                Ok(MaybeAuth(Some(actor)))
            }
        }
    }
}

/// JSON body with the API's error shape on rejection.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Query string with the API's error shape on rejection.
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
