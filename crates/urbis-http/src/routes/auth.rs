//! Login, logout, resident self-registration and the caller's own identity.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use urbis_domain::role::Actor;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, ClientInfo};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(register))
        .routes(routes!(me))
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// A resident's self-registration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub username: String,
    pub password: String,
    pub display_name: String,
}

/// Who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub user_id: i64,
    pub username: String,
    pub role: String,
    pub role_zh: String,
    pub area_id: Option<i64>,
    pub dept_id: Option<i64>,
}

impl From<&Actor> for MeResponse {
    fn from(actor: &Actor) -> Self {
        MeResponse {
            user_id: actor.user_id.0,
            username: actor.username.clone(),
            role: actor.role.as_str().to_owned(),
            role_zh: actor.role.title_zh().to_owned(),
            area_id: actor.area_scope.as_ref().map(|s| s.area_id.0),
            dept_id: actor.dept_id.map(|d| d.0),
        }
    }
}

/// A session token.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: String,
    pub user: MeResponse,
}

/// Logs in and returns a bearer token.
/// Limited per client address and, after a few wrong passwords, per username: 429
/// `too_many_attempts` with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too_many_attempts; see Retry-After")))]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let login = state
        .services
        .login(&client.address, &body.username, &body.password)
        .await?;
    Ok(Json(LoginResponse {
        token: login.token,
        expires_at: urbis_service::time::to_db(login.expires_at),
        user: MeResponse::from(&login.actor),
    }))
}

/// Ends the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)), security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    Auth(_actor): Auth,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    if let Some(token) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        state.services.logout(token.trim()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Registers a resident account. Limited per client address (429 `too_many_attempts`).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = MeResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too_many_attempts; see Retry-After")))]
async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<MeResponse>)> {
    let user = state
        .services
        .register_resident(
            &client.address,
            &body.username,
            &body.display_name,
            &body.password,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MeResponse {
            user_id: user.id,
            username: user.username,
            role: user.role.as_str().to_owned(),
            role_zh: urbis_domain::role::Role::Resident.title_zh().to_owned(),
            area_id: None,
            dept_id: None,
        }),
    ))
}

/// Returns the caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn me(Auth(actor): Auth) -> Json<MeResponse> {
    Json(MeResponse::from(&actor))
}
