//! Reference data and administration: areas, departments, taxonomy, time limits, the working
//! calendar, the responsibility list, users and notifications.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use urbis_domain::area::AreaLevel;
use urbis_domain::role::Role;
use urbis_service::ServiceError;
use urbis_service::auth::NewUser;
use urbis_service::rows::{CalendarDayRow, RuleRow};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod taxonomy;
use crate::dto::{CategoryPatch, TrainingExampleResponse, TrainingQuery};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_areas, create_area))
        .routes(routes!(list_depts, create_dept))
        .routes(routes!(list_categories))
        .routes(routes!(patch_category))
        .routes(routes!(training_examples))
        .routes(routes!(list_time_limits))
        .routes(routes!(set_time_limit))
        .routes(routes!(get_calendar, put_calendar))
        .routes(routes!(list_versions, publish_version))
        .routes(routes!(list_rules))
        .routes(routes!(list_users, create_user))
        .routes(routes!(patch_user))
        .routes(routes!(notifications))
        .routes(routes!(locate))
        .routes(routes!(areas_geojson))
        .merge(taxonomy::router())
}

/// An area of the city.
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaResponse {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_id: Option<i64>,
    pub center_lat: Option<f64>,
    pub center_lon: Option<f64>,
}

impl From<urbis_service::rows::AreaRow> for AreaResponse {
    fn from(a: urbis_service::rows::AreaRow) -> Self {
        AreaResponse {
            id: a.id,
            code: a.code,
            name: a.name,
            level: a.level.as_str().to_owned(),
            parent_id: a.parent_id,
            center_lat: a.center_lat,
            center_lon: a.center_lon,
        }
    }
}

/// A new area.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaRequest {
    pub code: String,
    pub name: String,
    /// city, district, street, community or grid.
    pub level: String,
    pub parent_id: Option<i64>,
    pub center_lat: Option<f64>,
    pub center_lon: Option<f64>,
}

/// Returns the area tree as a flat list ordered by path.
#[utoipa::path(get, path = "/api/v1/areas", tag = "admin", responses((status = 200, body = Vec<AreaResponse>)), security(("bearer" = [])))]
async fn list_areas(
    State(state): State<AppState>,
    Auth(_actor): Auth,
) -> ApiResult<Json<Vec<AreaResponse>>> {
    let rows = state.services.list_areas().await?;
    Ok(Json(rows.into_iter().map(AreaResponse::from).collect()))
}

/// Creates an area (admin).
#[utoipa::path(post, path = "/api/v1/areas", tag = "admin", request_body = AreaRequest,
    responses((status = 201, body = AreaResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_area(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<AreaRequest>,
) -> ApiResult<(StatusCode, Json<AreaResponse>)> {
    let level = AreaLevel::parse(&body.level)
        .ok_or_else(|| ServiceError::invalid("invalid_area_level", "unknown level"))?;
    let center = body.center_lat.zip(body.center_lon);
    let a = state
        .services
        .create_area(
            &actor,
            &body.code,
            &body.name,
            level,
            body.parent_id,
            center,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(AreaResponse::from(a))))
}

/// A department.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeptBody {
    #[serde(default)]
    pub id: i64,
    pub code: String,
    pub name: String,
    pub area_id: Option<i64>,
}

/// Returns every department.
#[utoipa::path(get, path = "/api/v1/departments", tag = "admin", responses((status = 200, body = Vec<DeptBody>)), security(("bearer" = [])))]
async fn list_depts(
    State(state): State<AppState>,
    Auth(_actor): Auth,
) -> ApiResult<Json<Vec<DeptBody>>> {
    let rows = state.services.list_depts().await?;
    Ok(Json(
        rows.into_iter()
            .map(|d| DeptBody {
                id: d.id,
                code: d.code,
                name: d.name,
                area_id: d.area_id,
            })
            .collect(),
    ))
}

/// Creates a department (admin).
#[utoipa::path(post, path = "/api/v1/departments", tag = "admin", request_body = DeptBody,
    responses((status = 201, body = DeptBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn create_dept(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<DeptBody>,
) -> ApiResult<(StatusCode, Json<DeptBody>)> {
    let d = state
        .services
        .create_dept(&actor, &body.code, &body.name, body.area_id)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(DeptBody {
            id: d.id,
            code: d.code,
            name: d.name,
            area_id: d.area_id,
        }),
    ))
}

/// A category of the taxonomy.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryResponse {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: i64,
    pub parent_id: Option<i64>,
    /// 0 (minor) … 1 (most severe); weighs into the priority of new appeals.
    pub severity: f64,
}

/// Returns the taxonomy.
#[utoipa::path(get, path = "/api/v1/categories", tag = "admin", responses((status = 200, body = Vec<CategoryResponse>)))]
async fn list_categories(State(state): State<AppState>) -> ApiResult<Json<Vec<CategoryResponse>>> {
    let rows = state.services.list_categories().await?;
    Ok(Json(
        rows.into_iter()
            .map(|c| CategoryResponse {
                id: c.id,
                code: c.code,
                name: c.name,
                level: c.level,
                parent_id: c.parent_id,
                severity: c.severity,
            })
            .collect(),
    ))
}

/// Sets a category's severity (admin; audited).
#[utoipa::path(patch, path = "/api/v1/categories/{id}", tag = "admin", params(("id" = i64, Path)),
    request_body = CategoryPatch,
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn patch_category(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CategoryPatch>,
) -> ApiResult<StatusCode> {
    state
        .services
        .set_category_severity(&actor, id, body.severity)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists the corrections and returns kept as training data (admin), oldest first; personal data
/// is masked. `urbis export training` writes the unmasked text for `urbis train`.
#[utoipa::path(get, path = "/api/v1/training-examples", tag = "admin", params(TrainingQuery),
    responses((status = 200, body = Vec<TrainingExampleResponse>)), security(("bearer" = [])))]
async fn training_examples(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<TrainingQuery>,
) -> ApiResult<Json<Vec<TrainingExampleResponse>>> {
    let rows = state
        .services
        .training_examples(
            &actor,
            query.after_id.unwrap_or(0),
            query.limit.unwrap_or(1000),
        )
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| TrainingExampleResponse {
                id: r.id,
                case_id: r.case_id,
                source: r.source,
                text: urbis_text::pii::mask(&r.text),
                label: r.label,
                previous: r.previous,
                note: r.note,
                created_at: urbis_service::time::to_db(r.created_at),
            })
            .collect(),
    ))
}

/// A handling time limit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimeLimitBody {
    #[serde(default)]
    pub category_id: i64,
    /// urgent_hour, working_hour, working_day or natural_day.
    pub clock: String,
    pub amount: i64,
    #[serde(default = "default_remind")]
    pub remind_before_minutes: i64,
}

fn default_remind() -> i64 {
    120
}

/// Returns every time limit.
#[utoipa::path(get, path = "/api/v1/time-limits", tag = "admin", responses((status = 200, body = Vec<TimeLimitBody>)), security(("bearer" = [])))]
async fn list_time_limits(
    State(state): State<AppState>,
    Auth(_actor): Auth,
) -> ApiResult<Json<Vec<TimeLimitBody>>> {
    let rows = state.services.list_time_limits().await?;
    Ok(Json(
        rows.into_iter()
            .map(|t| TimeLimitBody {
                category_id: t.category_id,
                clock: t.clock,
                amount: t.amount,
                remind_before_minutes: t.remind_before_minutes,
            })
            .collect(),
    ))
}

/// Sets the time limit of a category (admin).
#[utoipa::path(put, path = "/api/v1/time-limits/{category_id}", tag = "admin", params(("category_id" = i64, Path)), request_body = TimeLimitBody,
    responses((status = 204), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn set_time_limit(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(category_id): Path<i64>,
    ApiJson(body): ApiJson<TimeLimitBody>,
) -> ApiResult<StatusCode> {
    state
        .services
        .set_time_limit(
            &actor,
            category_id,
            &body.clock,
            body.amount,
            body.remind_before_minutes,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The working calendar.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CalendarBody {
    /// Like `09:00-12:00,13:30-18:00`.
    pub office_hours: Option<String>,
    /// Days set as `holiday` or `workday` (调休).
    #[serde(default)]
    pub days: Vec<CalendarDay>,
    /// Days to remove from the exceptions (on update only).
    #[serde(default)]
    pub remove: Vec<String>,
}

/// A calendar exception.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CalendarDay {
    /// YYYY-MM-DD.
    pub day: String,
    pub kind: String,
    #[serde(default)]
    pub note: String,
}

/// Returns the working calendar.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "admin", responses((status = 200, body = CalendarBody)), security(("bearer" = [])))]
async fn get_calendar(
    State(state): State<AppState>,
    Auth(_actor): Auth,
) -> ApiResult<Json<CalendarBody>> {
    let (hours, days) = state.services.calendar_days().await?;
    Ok(Json(CalendarBody {
        office_hours: Some(hours),
        days: days
            .into_iter()
            .map(|d| CalendarDay {
                day: d.day,
                kind: d.kind,
                note: d.note,
            })
            .collect(),
        remove: Vec::new(),
    }))
}

/// Changes the working calendar (admin); takes effect for new deadlines at once.
#[utoipa::path(put, path = "/api/v1/calendar", tag = "admin", request_body = CalendarBody,
    responses((status = 204), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn put_calendar(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<CalendarBody>,
) -> ApiResult<StatusCode> {
    let days: Vec<CalendarDayRow> = body
        .days
        .into_iter()
        .map(|d| CalendarDayRow {
            day: d.day,
            kind: d.kind,
            note: d.note,
        })
        .collect();
    state
        .services
        .update_calendar(&actor, body.office_hours.as_deref(), &days, &body.remove)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A version of the responsibility list.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionResponse {
    pub id: i64,
    pub note: String,
    pub created_at: String,
    pub active: bool,
}

/// A rule of the responsibility list: category × area → lead (+ supporting) departments.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RuleBody {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub version_id: i64,
    pub category_id: i64,
    pub area_id: i64,
    pub lead_dept_id: i64,
    #[serde(default)]
    pub supporting_dept_ids: Vec<i64>,
    #[serde(default)]
    pub legal_basis: String,
}

/// A new version of the responsibility list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub note: String,
    pub rules: Vec<RuleBody>,
}

/// Returns the versions of the responsibility list.
#[utoipa::path(get, path = "/api/v1/responsibility/versions", tag = "admin", responses((status = 200, body = Vec<VersionResponse>)), security(("bearer" = [])))]
async fn list_versions(
    State(state): State<AppState>,
    Auth(_actor): Auth,
) -> ApiResult<Json<Vec<VersionResponse>>> {
    let rows = state.services.list_versions().await?;
    Ok(Json(
        rows.into_iter()
            .map(|v| VersionResponse {
                id: v.id,
                note: v.note,
                created_at: urbis_service::time::to_db(v.created_at),
                active: v.active,
            })
            .collect(),
    ))
}

/// Publishes a new version and makes it active (admin).
#[utoipa::path(post, path = "/api/v1/responsibility/versions", tag = "admin", request_body = PublishRequest,
    responses((status = 201, body = VersionResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn publish_version(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<PublishRequest>,
) -> ApiResult<(StatusCode, Json<VersionResponse>)> {
    let rules: Vec<RuleRow> = body
        .rules
        .into_iter()
        .map(|r| RuleRow {
            id: 0,
            version_id: 0,
            category_id: r.category_id,
            area_id: r.area_id,
            lead_dept_id: r.lead_dept_id,
            supporting: r
                .supporting_dept_ids
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(","),
            legal_basis: r.legal_basis,
        })
        .collect();
    let v = state
        .services
        .publish_responsibility(&actor, &body.note, &rules)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(VersionResponse {
            id: v.id,
            note: v.note,
            created_at: urbis_service::time::to_db(v.created_at),
            active: v.active,
        }),
    ))
}

/// Which rules to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RulesQuery {
    pub version_id: Option<i64>,
}

/// Returns the rules of a version (all versions when none is given).
#[utoipa::path(get, path = "/api/v1/responsibility/rules", tag = "admin", params(RulesQuery), responses((status = 200, body = Vec<RuleBody>)), security(("bearer" = [])))]
async fn list_rules(
    State(state): State<AppState>,
    Auth(_actor): Auth,
    ApiQuery(query): ApiQuery<RulesQuery>,
) -> ApiResult<Json<Vec<RuleBody>>> {
    let rows = state.services.list_rules(query.version_id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| RuleBody {
                id: r.id,
                version_id: r.version_id,
                category_id: r.category_id,
                area_id: r.area_id,
                lead_dept_id: r.lead_dept_id,
                supporting_dept_ids: urbis_service::case_rows::parse_ids(&r.supporting),
                legal_basis: r.legal_basis,
            })
            .collect(),
    ))
}

/// A user account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub area_id: Option<i64>,
    pub dept_id: Option<i64>,
    pub active: bool,
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: String,
    pub area_id: Option<i64>,
    pub dept_id: Option<i64>,
}

/// A change to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub active: bool,
}

fn user_response(u: urbis_service::rows::UserRow) -> UserResponse {
    UserResponse {
        id: u.id,
        username: u.username,
        display_name: u.display_name,
        role: u.role.as_str().to_owned(),
        area_id: u.area_id,
        dept_id: u.dept_id,
        active: u.active,
    }
}

/// Lists users (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = Vec<UserResponse>)), security(("bearer" = [])))]
async fn list_users(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<UserResponse>>> {
    Ok(Json(
        state
            .services
            .list_users(&actor)
            .await?
            .into_iter()
            .map(user_response)
            .collect(),
    ))
}

/// Creates a user of any role (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = UserRequest,
    responses((status = 201, body = UserResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn create_user(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<UserRequest>,
) -> ApiResult<(StatusCode, Json<UserResponse>)> {
    let role = Role::parse(&body.role)
        .ok_or_else(|| ServiceError::invalid("invalid_role", "unknown role"))?;
    let user = state
        .services
        .create_user(
            &actor,
            &NewUser {
                username: body.username,
                display_name: body.display_name,
                password: body.password,
                role,
                area_id: body.area_id,
                dept_id: body.dept_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user_response(user))))
}

/// Enables or disables a user (admin).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin", params(("id" = i64, Path)), request_body = UserPatch,
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn patch_user(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UserPatch>,
) -> ApiResult<StatusCode> {
    state
        .services
        .set_user_active(&actor, id, body.active)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A notification (dispatch, reminder, escalation, supervision).
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationResponse {
    pub id: i64,
    pub case_id: i64,
    pub kind: String,
    pub message: String,
    pub created_at: String,
}

/// Returns the newest notifications for the caller and their department.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "cases", responses((status = 200, body = Vec<NotificationResponse>)), security(("bearer" = [])))]
async fn notifications(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<NotificationResponse>>> {
    let rows = state.services.notifications(&actor, 50).await?;
    Ok(Json(
        rows.into_iter()
            .map(|n| NotificationResponse {
                id: n.id,
                case_id: n.case_id,
                kind: n.kind,
                message: n.message,
                created_at: urbis_service::time::to_db(n.created_at),
            })
            .collect(),
    ))
}

/// A point to resolve.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LocateQuery {
    /// WGS84 latitude.
    pub lat: f64,
    /// WGS84 longitude.
    pub lon: f64,
}

/// The areas containing a point, root first (empty when it lies outside every boundary).
#[derive(Debug, Serialize, ToSchema)]
pub struct LocateResponse {
    pub found: bool,
    pub areas: Vec<AreaResponse>,
}

/// Resolves a point to its unit grid, community, street and district (public: the portal uses it).
#[utoipa::path(get, path = "/api/v1/locate", tag = "admin", params(LocateQuery),
    responses((status = 200, body = LocateResponse), (status = 422, body = ErrorBody)))]
async fn locate(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<LocateQuery>,
) -> ApiResult<Json<LocateResponse>> {
    let chain = state.services.locate(query.lat, query.lon).await?;
    Ok(Json(LocateResponse {
        found: !chain.is_empty(),
        areas: chain.into_iter().map(AreaResponse::from).collect(),
    }))
}

/// Which boundaries to return.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GeoJsonQuery {
    /// district, street, community or grid.
    pub level: String,
    /// Only areas under this one.
    pub parent_id: Option<i64>,
}

/// Returns the boundaries of one level as a GeoJSON FeatureCollection (WGS84), for maps. Public:
/// administrative boundaries are what a resident's map shows.
#[utoipa::path(get, path = "/api/v1/areas/geojson", tag = "admin", params(GeoJsonQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection")))]
async fn areas_geojson(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<GeoJsonQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let rows = state
        .services
        .area_geometries(&query.level, query.parent_id)
        .await?;
    let features: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(area, geometry)| {
            let geometry = geometry.and_then(|g| serde_json::from_str::<serde_json::Value>(&g).ok()).unwrap_or(serde_json::Value::Null);
            serde_json::json!({
                "type": "Feature",
                "id": area.id,
                "properties": { "id": area.id, "code": area.code, "name": area.name, "level": area.level.as_str(), "parent_id": area.parent_id },
                "geometry": geometry,
            })
        })
        .collect();
    Ok(Json(
        serde_json::json!({ "type": "FeatureCollection", "features": features }),
    ))
}
