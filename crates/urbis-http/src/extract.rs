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

/// The caller's network address (set by [`crate::server::serve`]; "unknown" under another
/// server) and user agent, for per-client limits and the anonymous idempotency scope. Proxy
/// headers such as `X-Forwarded-For` are not trusted.
pub struct ClientInfo {
    pub address: String,
    pub user_agent: String,
    /// The peer is this machine.
    pub loopback: bool,
}

impl ClientInfo {
    /// The service's view of the caller.
    pub fn client(&self) -> urbis_service::intake::Client<'_> {
        urbis_service::intake::Client {
            address: &self.address,
            user_agent: &self.user_agent,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip());
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(256)
            .collect();
        Ok(ClientInfo {
            address: peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
            user_agent,
            loopback: peer.is_some_and(|ip| ip.is_loopback()),
        })
    }
}
