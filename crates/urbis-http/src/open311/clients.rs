//! Admin endpoints for Open311 client api keys at `/api/v1/open311/clients`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use urbis_service::rows::ClientRow;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Auth};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/open311/clients",
            get(list_clients).post(register_client),
        )
        .route("/api/v1/open311/clients/{id}", delete(revoke_client))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterClientRequest {
    name: String,
}

fn client_json(client: &ClientRow) -> serde_json::Value {
    serde_json::json!({
        "id": client.id,
        "name": client.name,
        "created_at": client.created_at,
        "revoked_at": client.revoked_at,
    })
}

/// POST `/api/v1/open311/clients` (admin): registers a client; the api key is shown only here.
async fn register_client(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<RegisterClientRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let registered = state
        .services
        .open311_register_client(&actor, &body.name)
        .await?;
    let mut json = client_json(&registered.client);
    json["api_key"] = serde_json::Value::String(registered.api_key);
    Ok((StatusCode::CREATED, Json(json)))
}

/// GET `/api/v1/open311/clients` (admin).
async fn list_clients(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    let clients = state.services.open311_list_clients(&actor).await?;
    Ok(Json(clients.iter().map(client_json).collect()))
}

/// DELETE `/api/v1/open311/clients/{id}` (admin): revokes the client's key.
async fn revoke_client(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let client = state.services.open311_revoke_client(&actor, id).await?;
    Ok(Json(client_json(&client)))
}
