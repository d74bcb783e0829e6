//! The data-sharing exchange under `/api/v1/data`: the resource catalogue (browse, search,
//! register), sharing requests and their answers, reads with a consumer key (`X-Data-Key`), and
//! the owner's views of grants and access records.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use urbis_domain::sharing::{FieldSpec, Grade};
use urbis_service::ServiceError;
use urbis_service::rows::{GrantRow, SharingRequestRow};
use urbis_service::sharing::{
    CatalogueQuery, DataPage, Decision, IssuedKey, NewDataResource, NewSharingRequest, Resource,
};
use urbis_service::time::to_db;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_resources, register_resource))
        .routes(routes!(get_resource))
        .routes(routes!(read_rows))
        .routes(routes!(access_log))
        .routes(routes!(grants))
        .routes(routes!(list_requests, create_request))
        .routes(routes!(decide))
        .routes(routes!(revoke_grant))
}

/// One declared field.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldBody {
    pub name: String,
    /// text, integer, number, date, datetime, boolean.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub meaning: String,
    /// Personal data (个人信息).
    #[serde(default)]
    pub personal: bool,
    /// general (一般), important (重要), core (核心).
    pub grade: String,
}

/// A catalogue entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceBody {
    pub code: String,
    pub name: String,
    pub description: String,
    pub owner_dept_id: Option<i64>,
    /// The owner department's name, or the city platform's.
    pub owner: String,
    /// builtin:…, upload, api.
    pub source: String,
    pub api_url: String,
    pub update_cycle: String,
    pub format: String,
    /// unconditional (无条件共享), conditional (有条件共享), none (不予共享).
    pub sharing_type: String,
    pub sharing_type_zh: String,
    /// unconditional (无条件开放), conditional (有条件开放), none (不予开放).
    pub opening_type: String,
    pub opening_type_zh: String,
    pub grade: String,
    pub grade_zh: String,
    pub legal_basis: String,
    pub fields: Vec<FieldBody>,
    pub created_at: String,
    pub updated_at: String,
}

fn resource_body(r: Resource) -> ResourceBody {
    ResourceBody {
        owner: r
            .row
            .owner_dept_name
            .clone()
            .unwrap_or_else(|| "城市运行管理平台".into()),
        code: r.row.code,
        name: r.row.name,
        description: r.row.description,
        owner_dept_id: r.row.owner_dept_id,
        source: r.row.source,
        api_url: r.row.api_url,
        update_cycle: r.row.update_cycle,
        format: r.row.format,
        sharing_type: r.sharing.as_str().into(),
        sharing_type_zh: r.sharing.title_zh().into(),
        opening_type: r.opening.as_str().into(),
        opening_type_zh: r.opening.title_zh().into(),
        grade: r.grade.as_str().into(),
        grade_zh: r.grade.title_zh().into(),
        legal_basis: r.row.legal_basis,
        fields: r
            .fields
            .into_iter()
            .map(|f| FieldBody {
                name: f.name,
                kind: f.kind,
                meaning: f.meaning,
                personal: f.personal,
                grade: f.grade.as_str().into(),
            })
            .collect(),
        created_at: to_db(r.row.created_at),
        updated_at: to_db(r.row.updated_at),
    }
}

/// Catalogue search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CatalogueParams {
    /// Words in the code, name or description.
    pub q: Option<String>,
    pub owner_dept_id: Option<i64>,
    pub sharing_type: Option<String>,
    pub opening_type: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A page of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueResponse {
    pub total: i64,
    pub items: Vec<ResourceBody>,
}

/// Browses and searches the resource catalogue (staff).
#[utoipa::path(get, path = "/api/v1/data/resources", tag = "data", params(CatalogueParams),
    responses((status = 200, body = CatalogueResponse), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_resources(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<CatalogueParams>,
) -> ApiResult<Json<CatalogueResponse>> {
    let (items, total) = state
        .services
        .list_data_resources(
            &actor,
            &CatalogueQuery {
                q: params.q,
                owner_dept_id: params.owner_dept_id,
                sharing_type: params.sharing_type,
                opening_type: params.opening_type,
                limit: params.limit,
                offset: params.offset,
            },
        )
        .await?;
    Ok(Json(CatalogueResponse {
        total,
        items: items.into_iter().map(resource_body).collect(),
    }))
}

/// A resource a department registers.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterResourceRequest {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Admin only: the owner department (none: the platform).
    pub owner_dept_id: Option<i64>,
    /// upload (rows below) or api (served by the owner at api_url).
    pub source: String,
    #[serde(default)]
    pub api_url: String,
    pub update_cycle: String,
    pub format: String,
    pub sharing_type: String,
    pub opening_type: String,
    pub grade: String,
    #[serde(default)]
    pub legal_basis: String,
    pub fields: Vec<FieldBody>,
    /// Rows of an uploaded table (at most 5,000).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Registers a resource (data officer for their department; admin for any); audited.
#[utoipa::path(post, path = "/api/v1/data/resources", tag = "data", request_body = RegisterResourceRequest,
    responses((status = 201, body = ResourceBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn register_resource(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<RegisterResourceRequest>,
) -> ApiResult<(StatusCode, Json<ResourceBody>)> {
    let fields = body
        .fields
        .into_iter()
        .map(|f| {
            Ok(FieldSpec {
                grade: Grade::parse(&f.grade).ok_or_else(|| {
                    ServiceError::invalid(
                        "invalid_fields",
                        format!("field {}: unknown grade", f.name),
                    )
                })?,
                name: f.name,
                kind: f.kind,
                meaning: f.meaning,
                personal: f.personal,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    let resource = state
        .services
        .register_data_resource(
            &actor,
            &NewDataResource {
                code: body.code,
                name: body.name,
                description: body.description,
                owner_dept_id: body.owner_dept_id,
                source: body.source,
                api_url: body.api_url,
                update_cycle: body.update_cycle,
                format: body.format,
                sharing_type: body.sharing_type,
                opening_type: body.opening_type,
                grade: body.grade,
                legal_basis: body.legal_basis,
                fields,
                rows: body.rows,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(resource_body(resource))))
}

/// One catalogue entry (staff).
#[utoipa::path(get, path = "/api/v1/data/resources/{code}", tag = "data", params(("code" = String, Path)),
    responses((status = 200, body = ResourceBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_resource(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<ResourceBody>> {
    Ok(Json(resource_body(
        state.services.get_data_resource(&actor, &code).await?,
    )))
}

/// A read through a consumer key.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RowsParams {
    /// Comma-separated fields (default: every granted field).
    pub fields: Option<String>,
    /// 1–1,000, default 100.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Rows read through a key.
#[derive(Debug, Serialize, ToSchema)]
pub struct RowsResponse {
    pub resource: String,
    pub fields: Vec<String>,
    /// Personal fields whose values are masked.
    pub masked: Vec<String>,
    #[schema(value_type = Vec<Vec<Object>>)]
    pub rows: Vec<Vec<serde_json::Value>>,
    pub row_count: usize,
    pub offset: i64,
    /// SHA-256 of `rows` as JSON, also in the access record.
    pub content_hash: String,
    /// The access record's sequence number in the audit chain.
    pub audit_seq: i64,
}

fn rows_response(page: DataPage) -> RowsResponse {
    RowsResponse {
        row_count: page.rows.len(),
        resource: page.resource,
        fields: page.fields,
        masked: page.masked,
        rows: page.rows,
        offset: page.offset,
        content_hash: page.content_hash,
        audit_seq: page.audit_seq,
    }
}

/// Reads a resource with a consumer key (`X-Data-Key`), within the grant's fields, area and
/// period. Refusals: 401 `invalid_data_key`; 403 `key_expired`, `key_revoked`,
/// `key_wrong_resource`, `field_not_granted`.
#[utoipa::path(get, path = "/api/v1/data/resources/{code}/rows", tag = "data", params(("code" = String, Path), RowsParams),
    responses((status = 200, body = RowsResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "served_by_owner: the resource is served by its owner's API")))]
async fn read_rows(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    ApiQuery(params): ApiQuery<RowsParams>,
) -> ApiResult<Json<RowsResponse>> {
    let key = headers.get("x-data-key").and_then(|v| v.to_str().ok());
    let fields: Vec<String> = params
        .fields
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .take(100)
        .map(str::to_owned)
        .collect();
    let page = state
        .services
        .read_shared(key, &code, &fields, params.limit, params.offset)
        .await?;
    Ok(Json(rows_response(page)))
}

/// One access record.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessRecordBody {
    pub seq: i64,
    pub at: String,
    /// Who read, which fields, how many rows, why (the record's detail).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub hash: String,
}

/// Who read a resource (its owner or the admin), newest first.
#[utoipa::path(get, path = "/api/v1/data/resources/{code}/access-log", tag = "data", params(("code" = String, Path)),
    responses((status = 200, body = Vec<AccessRecordBody>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn access_log(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<AccessRecordBody>>> {
    let rows = state.services.data_access_log(&actor, &code).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AccessRecordBody {
                seq: r.seq,
                at: to_db(r.at),
                detail: serde_json::from_str(&r.detail).unwrap_or_default(),
                hash: r.hash,
            })
            .collect(),
    ))
}

/// A grant on a resource.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantBody {
    pub id: i64,
    pub request_id: Option<i64>,
    pub consumer_dept_id: i64,
    pub consumer_dept: String,
    pub fields: Vec<String>,
    pub clear_fields: Vec<String>,
    pub area_id: Option<i64>,
    pub purpose: String,
    pub expires_at: String,
    pub created_at: String,
    pub revoked: bool,
}

fn grant_body(g: GrantRow) -> GrantBody {
    GrantBody {
        id: g.id,
        request_id: g.request_id,
        consumer_dept_id: g.consumer_dept_id,
        consumer_dept: g.consumer_dept_name,
        fields: serde_json::from_str(&g.fields).unwrap_or_default(),
        clear_fields: serde_json::from_str(&g.clear_fields).unwrap_or_default(),
        area_id: g.area_id,
        purpose: g.purpose,
        expires_at: to_db(g.expires_at),
        created_at: to_db(g.created_at),
        revoked: g.revoked_at.is_some(),
    }
}

/// The grants on a resource (its owner or the admin).
#[utoipa::path(get, path = "/api/v1/data/resources/{code}/grants", tag = "data", params(("code" = String, Path)),
    responses((status = 200, body = Vec<GrantBody>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn grants(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<GrantBody>>> {
    let rows = state.services.list_grants(&actor, &code).await?;
    Ok(Json(rows.into_iter().map(grant_body).collect()))
}

/// A sharing request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestBody {
    pub id: i64,
    pub resource: String,
    pub resource_name: String,
    pub owner_dept_id: Option<i64>,
    pub requester_dept_id: i64,
    pub requester_dept: String,
    pub purpose: String,
    pub fields: Vec<String>,
    pub area_id: Option<i64>,
    pub period_days: i64,
    /// pending, approved, refused.
    pub state: String,
    pub granted_fields: Option<Vec<String>>,
    pub decision_note: String,
    pub decided_at: Option<String>,
    /// The owner's answer deadline on the working-day clock.
    pub due_at: String,
    pub reminded: bool,
    /// Escalated (督办) because the owner did not answer in time.
    pub escalated: bool,
    pub created_at: String,
}

fn request_body(r: SharingRequestRow) -> RequestBody {
    RequestBody {
        id: r.id,
        resource: r.resource_code,
        resource_name: r.resource_name,
        owner_dept_id: r.owner_dept_id,
        requester_dept_id: r.requester_dept_id,
        requester_dept: r.requester_dept_name,
        purpose: r.purpose,
        fields: serde_json::from_str(&r.fields).unwrap_or_default(),
        area_id: r.area_id,
        period_days: r.period_days,
        state: r.state,
        granted_fields: r.granted_fields.and_then(|g| serde_json::from_str(&g).ok()),
        decision_note: r.decision_note,
        decided_at: r.decided_at.map(to_db),
        due_at: to_db(r.due_at),
        reminded: r.reminded_at.is_some(),
        escalated: r.escalated_at.is_some(),
        created_at: to_db(r.created_at),
    }
}

/// A key issued by an approval; shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyBody {
    pub grant_id: i64,
    /// Send as `X-Data-Key`; only its SHA-256 is stored.
    pub key: String,
    pub fields: Vec<String>,
    pub expires_at: String,
}

fn key_body(k: IssuedKey) -> KeyBody {
    KeyBody {
        grant_id: k.grant_id,
        key: k.key,
        fields: k.fields,
        expires_at: to_db(k.expires_at),
    }
}

/// A request with the key its approval issued.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestResponse {
    pub request: RequestBody,
    pub key: Option<KeyBody>,
}

/// What a department asks for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharingRequestBody {
    pub resource: String,
    pub purpose: String,
    pub fields: Vec<String>,
    /// Rows only at or below this area.
    pub area_id: Option<i64>,
    /// 1–366 days.
    pub period_days: u32,
}

/// Files a sharing request for the caller's department (data officer). 无条件共享 is granted at
/// once (the key is in the answer); 不予共享 is 409 `not_shareable`.
#[utoipa::path(post, path = "/api/v1/data/requests", tag = "data", request_body = SharingRequestBody,
    responses((status = 201, body = RequestResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_request(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<SharingRequestBody>,
) -> ApiResult<(StatusCode, Json<RequestResponse>)> {
    let (request, key) = state
        .services
        .request_sharing(
            &actor,
            &NewSharingRequest {
                resource_code: body.resource,
                purpose: body.purpose,
                fields: body.fields,
                area_id: body.area_id,
                period_days: body.period_days,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RequestResponse {
            request: request_body(request),
            key: key.map(key_body),
        }),
    ))
}

/// Which requests to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RequestsParams {
    /// incoming (to the caller's department), outgoing (from it), or both.
    pub direction: Option<String>,
    pub state: Option<String>,
}

/// Lists the sharing requests of the caller's department (data officer) or all (admin).
#[utoipa::path(get, path = "/api/v1/data/requests", tag = "data", params(RequestsParams),
    responses((status = 200, body = Vec<RequestBody>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_requests(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<RequestsParams>,
) -> ApiResult<Json<Vec<RequestBody>>> {
    let rows = state
        .services
        .list_sharing_requests(&actor, params.direction.as_deref(), params.state.as_deref())
        .await?;
    Ok(Json(rows.into_iter().map(request_body).collect()))
}

/// The owner's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// approve or refuse.
    pub decision: String,
    /// Approve: fewer fields than asked (narrowing).
    pub fields: Option<Vec<String>>,
    /// Approve: a smaller area than asked.
    pub area_id: Option<i64>,
    #[serde(default)]
    pub note: String,
    /// Refuse: the reason (required).
    #[serde(default)]
    pub reason: String,
}

/// Approves (possibly narrowed) or refuses a request; only the resource's owner answers. An
/// approval returns the consumer key, shown once.
#[utoipa::path(post, path = "/api/v1/data/requests/{id}/decision", tag = "data", params(("id" = i64, Path)),
    request_body = DecisionBody,
    responses((status = 200, body = RequestResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn decide(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> ApiResult<Json<RequestResponse>> {
    let decision = match body.decision.as_str() {
        "approve" => Decision::Approve {
            fields: body.fields,
            area_id: body.area_id,
            note: body.note,
        },
        "refuse" => Decision::Refuse {
            reason: body.reason,
        },
        _ => {
            return Err(
                ServiceError::invalid("invalid_field", "decision: approve or refuse").into(),
            );
        }
    };
    let (request, key) = state.services.decide_sharing(&actor, id, &decision).await?;
    Ok(Json(RequestResponse {
        request: request_body(request),
        key: key.map(key_body),
    }))
}

/// Why a grant is revoked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    #[serde(default)]
    pub reason: String,
}

/// Revokes a grant (the resource's owner or the admin): its key is refused at once with
/// `key_revoked`; 409 `already_revoked` the second time.
#[utoipa::path(post, path = "/api/v1/data/grants/{id}/revoke", tag = "data", params(("id" = i64, Path)),
    request_body = RevokeBody,
    responses((status = 200, body = GrantBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_grant(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<RevokeBody>,
) -> ApiResult<Json<GrantBody>> {
    let grant = state
        .services
        .revoke_grant(&actor, id, &body.reason)
        .await?;
    Ok(Json(grant_body(grant)))
}
