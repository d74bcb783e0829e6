//! Health, Prometheus metrics and the OpenAPI document.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::AppState;

/// Answers 200 when the store answers.
pub(crate) async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx_ping(&state).await {
        true => (StatusCode::OK, "ok"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable"),
    }
}

async fn sqlx_ping(state: &AppState) -> bool {
    state.services.ping().await
}

/// Prometheus text format, for callers on this machine (a scraper beside the server, or a
/// proxy that guards it) and for admins' bearer tokens; anyone else gets 404.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    client: crate::extract::ClientInfo,
    crate::extract::MaybeAuth(actor): crate::extract::MaybeAuth,
) -> axum::response::Response {
    let admin = actor.is_some_and(|a| a.role == urbis_domain::role::Role::Admin);
    if !(client.loopback || admin) {
        return crate::error::ApiError(urbis_service::ServiceError::not_found("page"))
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state
            .metrics
            .as_ref()
            .map(|m| m.render())
            .unwrap_or_default(),
    )
        .into_response()
}

/// Answers 200 when the store takes a durable write now (a one-row write probe) and, on a
/// cluster node, the broker answers; else 503 with the stable code: `storage_full`,
/// `storage_unavailable`, `broker_unavailable`. Load balancers route by it.
pub(crate) async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    match state.services.ready().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(err) => crate::error::ApiError(err).into_response(),
    }
}
