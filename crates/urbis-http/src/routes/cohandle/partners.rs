//! Outside partners and their pool, and the public responsibility list (no login).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use urbis_service::cohandle::{GrantInput, Partner};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::CaseResponse;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_list))
        .routes(routes!(create_partner, list_partners))
        .routes(routes!(offer))
        .routes(routes!(pool))
        .routes(routes!(claim))
}

/// One entry of the published responsibility list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicRuleResponse {
    pub category_code: String,
    pub category_name: String,
    pub area_code: String,
    pub area_name: String,
    /// 主办部门.
    pub lead: String,
    /// 协办部门.
    pub supporting: Vec<String>,
    /// 法律依据.
    pub legal_basis: String,
}

/// The published responsibility list (权责清单), readable without login.
#[utoipa::path(get, path = "/api/v1/public/responsibility", tag = "cohandle",
    responses((status = 200, body = Vec<PublicRuleResponse>)))]
async fn public_list(State(state): State<AppState>) -> ApiResult<Json<Vec<PublicRuleResponse>>> {
    let rules = state.services.public_responsibility().await?;
    Ok(Json(
        rules
            .into_iter()
            .map(|r| PublicRuleResponse {
                category_code: r.category_code,
                category_name: r.category_name,
                area_code: r.area_code,
                area_name: r.area_name,
                lead: r.lead,
                supporting: r.supporting,
                legal_basis: r.legal_basis,
            })
            .collect(),
    ))
}

/// A grant: an area subtree and, optionally, a category subtree.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GrantBody {
    pub area_id: i64,
    pub category_id: Option<i64>,
}

/// Registering a partner organisation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PartnerRequest {
    pub code: String,
    pub name: String,
    /// `property` (物业), `utility`, `social` or `volunteer`.
    pub kind: String,
    pub grants: Vec<GrantBody>,
}

/// A partner organisation (its id is a department id).
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerResponse {
    pub dept_id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub grants: Vec<GrantBody>,
}

impl From<Partner> for PartnerResponse {
    fn from(p: Partner) -> Self {
        PartnerResponse {
            dept_id: p.row.dept_id,
            code: p.row.code,
            name: p.row.name,
            kind: p.row.kind,
            grants: p
                .grants
                .into_iter()
                .map(|g| GrantBody {
                    area_id: g.area_id,
                    category_id: g.category_id,
                })
                .collect(),
        }
    }
}

/// Registers a partner organisation with its grants (admin).
#[utoipa::path(post, path = "/api/v1/partners", tag = "cohandle", request_body = PartnerRequest,
    responses((status = 201, body = PartnerResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_partner(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<PartnerRequest>,
) -> ApiResult<(StatusCode, Json<PartnerResponse>)> {
    let grants: Vec<GrantInput> = body
        .grants
        .iter()
        .map(|g| GrantInput {
            area_id: g.area_id,
            category_id: g.category_id,
        })
        .collect();
    let partner = state
        .services
        .create_partner(&actor, &body.code, &body.name, &body.kind, &grants)
        .await?;
    Ok((StatusCode::CREATED, Json(partner.into())))
}

/// Lists partner organisations (a partner sees its own).
#[utoipa::path(get, path = "/api/v1/partners", tag = "cohandle",
    responses((status = 200, body = Vec<PartnerResponse>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_partners(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<PartnerResponse>>> {
    let rows = state.services.list_partners(&actor).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// Offers a registered case to the partners of its place.
#[utoipa::path(post, path = "/api/v1/cases/{id}/offer", tag = "cohandle", params(("id" = i64, Path)),
    responses((status = 200, body = CaseResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn offer(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<CaseResponse>> {
    let row = state.services.offer_to_pool(&actor, id).await?;
    Ok(Json(CaseResponse::for_actor(&actor, row)))
}

/// The pool: cases offered to partners (a partner sees those its grants cover).
#[utoipa::path(get, path = "/api/v1/pool", tag = "cohandle",
    responses((status = 200, body = Vec<CaseResponse>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn pool(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<CaseResponse>>> {
    let rows = state.services.list_pool(&actor).await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| CaseResponse::for_actor(&actor, row))
            .collect(),
    ))
}

/// Claims a pooled case for the caller's partner organisation (认领).
#[utoipa::path(post, path = "/api/v1/pool/{id}/claim", tag = "cohandle", params(("id" = i64, Path)),
    responses((status = 200, body = CaseResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn claim(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<CaseResponse>> {
    let row = state.services.claim_case(&actor, id).await?;
    Ok(Json(CaseResponse::for_actor(&actor, row)))
}
