//! Grids and maps: unit-grid generation, responsibility grids, grids in a box as GeoJSON, the area
//! tree, geocoding, and city assets.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use urbis_service::assets::NearbyAsset;
use urbis_service::grids::{AreaNode, NewResponsibilityGrid, ResponsibilityGridView, parse_bbox};
use urbis_service::rows::{AssetRow, ResponsibilityGridRow};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate_grids))
        .routes(routes!(grids_geojson))
        .routes(routes!(
            list_responsibility_grids,
            create_responsibility_grid
        ))
        .routes(routes!(bind_supervisor, unbind_supervisor))
        .routes(routes!(area_tree))
        .routes(routes!(geocode))
        .routes(routes!(list_assets))
        .routes(routes!(nearest_asset))
        .routes(routes!(patch_asset))
        .routes(routes!(set_category_asset_classes))
}

/// Which area to cut into unit grids.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateGridsRequest {
    /// A community, a street, or a district (every community under it).
    pub area_code: String,
    /// Target cell area in m², 2,500–250,000 (default 10,000).
    pub cell_m2: Option<f64>,
}

/// One area that was cut.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedParentBody {
    pub code: String,
    pub name: String,
    pub cells: usize,
    pub dropped_slivers: usize,
    pub parent_area_m2: f64,
    pub cells_area_m2: f64,
}

/// What a generation created.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenerateGridsResponse {
    pub cells: usize,
    pub parents: Vec<GeneratedParentBody>,
}

/// Cuts areas into ~10,000 m² unit grids with 15-digit codes (admin). Refuses with 409
/// `grids_exist` when a target already has unit grids.
#[utoipa::path(post, path = "/api/v1/grids/generate", tag = "grids", request_body = GenerateGridsRequest,
    responses((status = 201, body = GenerateGridsResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn generate_grids(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<GenerateGridsRequest>,
) -> ApiResult<(StatusCode, Json<GenerateGridsResponse>)> {
    let parents = state
        .services
        .generate_grids(&actor, &body.area_code, body.cell_m2.unwrap_or(10_000.0))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(GenerateGridsResponse {
            cells: parents.iter().map(|p| p.cells).sum(),
            parents: parents
                .into_iter()
                .map(|p| GeneratedParentBody {
                    code: p.code,
                    name: p.name,
                    cells: p.cells,
                    dropped_slivers: p.dropped_slivers,
                    parent_area_m2: p.parent_area_m2.round(),
                    cells_area_m2: p.cells_area_m2.round(),
                })
                .collect(),
        }),
    ))
}

/// A WGS84 box.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BboxQuery {
    /// minLon,minLat,maxLon,maxLat (WGS84).
    pub bbox: String,
}

/// Returns the unit grids in a box as a GeoJSON FeatureCollection (properties code, name,
/// parent_code, open, overdue, responsibility_grid, supervisor); `truncated` is true past 10,000.
#[utoipa::path(get, path = "/api/v1/grids", tag = "grids", params(BboxQuery),
    responses((status = 200, description = "GeoJSON FeatureCollection"), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn grids_geojson(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<BboxQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let bbox = parse_bbox(&query.bbox)?;
    let (grids, truncated) = state.services.grids_in_bbox(&actor, bbox).await?;
    let features: Vec<serde_json::Value> = grids
        .into_iter()
        .map(|g| {
            let geometry = g
                .geometry
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .unwrap_or(serde_json::Value::Null);
            serde_json::json!({
                "type": "Feature",
                "id": g.area.id,
                "properties": {
                    "id": g.area.id, "code": g.area.code, "name": g.area.name,
                    "parent_code": g.parent_code, "open": g.open, "overdue": g.overdue,
                    "responsibility_grid": g.responsibility_grid, "supervisor": g.supervisor,
                },
                "geometry": geometry,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "type": "FeatureCollection", "truncated": truncated, "features": features,
    })))
}

/// A grid supervisor bound to a responsibility grid.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupervisorBody {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
}

/// A responsibility grid (责任网格).
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponsibilityGridBody {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub supervisor: Option<SupervisorBody>,
    pub unit_codes: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn grid_body(grid: ResponsibilityGridRow, unit_codes: Vec<String>) -> ResponsibilityGridBody {
    let supervisor = match (
        grid.supervisor_user_id,
        grid.supervisor_username,
        grid.supervisor_name,
    ) {
        (Some(user_id), Some(username), Some(display_name)) => Some(SupervisorBody {
            user_id,
            username,
            display_name,
        }),
        _ => None,
    };
    ResponsibilityGridBody {
        id: grid.id,
        code: grid.code,
        name: grid.name,
        supervisor,
        unit_codes,
        created_at: urbis_service::time::to_db(grid.created_at),
        updated_at: urbis_service::time::to_db(grid.updated_at),
    }
}

impl From<ResponsibilityGridView> for ResponsibilityGridBody {
    fn from(view: ResponsibilityGridView) -> Self {
        grid_body(view.grid, view.unit_codes)
    }
}

/// Every responsibility grid.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponsibilityGridList {
    pub items: Vec<ResponsibilityGridBody>,
}

/// Lists the responsibility grids with their supervisors and unit grids (staff).
#[utoipa::path(get, path = "/api/v1/grids/responsibility", tag = "grids",
    responses((status = 200, body = ResponsibilityGridList)), security(("bearer" = [])))]
async fn list_responsibility_grids(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<ResponsibilityGridList>> {
    let grids = state.services.responsibility_grids(&actor).await?;
    Ok(Json(ResponsibilityGridList {
        items: grids
            .into_iter()
            .map(ResponsibilityGridBody::from)
            .collect(),
    }))
}

/// A new responsibility grid.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponsibilityGridRequest {
    pub code: String,
    pub name: String,
    /// 15-digit codes of edge-adjacent unit grids, none in another responsibility grid.
    pub unit_codes: Vec<String>,
    /// Username of the grid supervisor to bind.
    pub supervisor: Option<String>,
}

/// Creates a responsibility grid (admin). 409 `unit_grid_taken` when a unit grid belongs to another.
#[utoipa::path(post, path = "/api/v1/grids/responsibility", tag = "grids", request_body = ResponsibilityGridRequest,
    responses((status = 201, body = ResponsibilityGridBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_responsibility_grid(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<ResponsibilityGridRequest>,
) -> ApiResult<(StatusCode, Json<ResponsibilityGridBody>)> {
    let view = state
        .services
        .create_responsibility_grid(
            &actor,
            &NewResponsibilityGrid {
                code: body.code,
                name: body.name,
                unit_codes: body.unit_codes,
                supervisor: body.supervisor,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

/// The supervisor to bind.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindSupervisorRequest {
    pub username: String,
}

/// Binds a grid supervisor (admin). 409 `supervisor_already_bound` when the grid has one.
#[utoipa::path(put, path = "/api/v1/grids/responsibility/{id}/supervisor", tag = "grids", params(("id" = i64, Path)),
    request_body = BindSupervisorRequest,
    responses((status = 200, body = ResponsibilityGridBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn bind_supervisor(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<BindSupervisorRequest>,
) -> ApiResult<Json<ResponsibilityGridBody>> {
    let grid = state
        .services
        .bind_grid_supervisor(&actor, id, &body.username)
        .await?;
    Ok(Json(grid_body(grid, Vec::new())))
}

/// Unbinds the grid supervisor (admin).
#[utoipa::path(delete, path = "/api/v1/grids/responsibility/{id}/supervisor", tag = "grids", params(("id" = i64, Path)),
    responses((status = 200, body = ResponsibilityGridBody)), security(("bearer" = [])))]
async fn unbind_supervisor(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ResponsibilityGridBody>> {
    let grid = state.services.unbind_grid_supervisor(&actor, id).await?;
    Ok(Json(grid_body(grid, Vec::new())))
}

/// Which part of the tree.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TreeQuery {
    /// The top of the tree (default: the city).
    pub parent_id: Option<i64>,
    /// The finest level included: district, street, community (default) or grid.
    pub max_level: Option<String>,
}

/// One area with its children.
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaTreeNode {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    #[schema(no_recursion)]
    pub children: Vec<AreaTreeNode>,
}

fn tree_node(node: AreaNode) -> AreaTreeNode {
    AreaTreeNode {
        id: node.area.id,
        code: node.area.code,
        name: node.area.name,
        level: node.area.level.as_str().to_owned(),
        children: node.children.into_iter().map(tree_node).collect(),
    }
}

/// Returns the area tree: city → district → street → community (→ unit grid).
#[utoipa::path(get, path = "/api/v1/areas/tree", tag = "grids", params(TreeQuery),
    responses((status = 200, body = Vec<AreaTreeNode>)), security(("bearer" = [])))]
async fn area_tree(
    State(state): State<AppState>,
    Auth(_actor): Auth,
    ApiQuery(query): ApiQuery<TreeQuery>,
) -> ApiResult<Json<Vec<AreaTreeNode>>> {
    let tree = state
        .services
        .area_tree(
            query.parent_id,
            query.max_level.as_deref().unwrap_or("community"),
        )
        .await?;
    Ok(Json(tree.into_iter().map(tree_node).collect()))
}

/// An address to resolve.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GeocodeQuery {
    /// Address text, 1–200 characters.
    pub q: String,
    /// 1–20, default 5.
    pub limit: Option<usize>,
}

/// One place matching an address.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeocodeResult {
    pub name: String,
    /// road, address or poi.
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
    pub area_code: Option<String>,
    pub area_name: Option<String>,
    /// 1.0 exact, 0.95/0.92 normalised, 0.90 house number, 0.75 road only, < 0.85 fuzzy.
    pub score: f64,
    /// exact, normalized, house_number, road_only or fuzzy.
    pub match_kind: String,
}

/// Geocoding results, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeocodeResponse {
    pub results: Vec<GeocodeResult>,
}

/// Resolves address text to places from the gazetteer (public: the portal uses it).
#[utoipa::path(get, path = "/api/v1/geocode", tag = "grids", params(GeocodeQuery),
    responses((status = 200, body = GeocodeResponse), (status = 422, body = ErrorBody)))]
async fn geocode(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<GeocodeQuery>,
) -> ApiResult<Json<GeocodeResponse>> {
    let hits = state
        .services
        .geocode(&query.q, query.limit.unwrap_or(5))
        .await?;
    Ok(Json(GeocodeResponse {
        results: hits
            .into_iter()
            .map(|h| GeocodeResult {
                name: h.name,
                kind: h.kind,
                lat: h.lat,
                lon: h.lon,
                area_code: h.area.as_ref().map(|a| a.code.clone()),
                area_name: h.area.map(|a| a.name),
                score: h.score,
                match_kind: h.match_kind.to_owned(),
            })
            .collect(),
    }))
}

/// A department named on an asset.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeptRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// A city asset (部件).
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetBody {
    /// 16-digit 标识码.
    pub id: String,
    /// Big class (2 digits) and big + small class (4 digits).
    pub class: String,
    pub subclass: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    /// intact, damaged, lost or occupied.
    pub state: String,
    /// 完好, 破损, 丢失 or 占用.
    pub state_zh: String,
    pub owner: Option<DeptRef>,
    pub maintainer: Option<DeptRef>,
    pub area_code: Option<String>,
    pub updated_at: String,
    /// Distance from the query point, for nearest-asset answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
}

fn dept_ref(id: Option<i64>, code: Option<String>, name: Option<String>) -> Option<DeptRef> {
    Some(DeptRef {
        id: id?,
        code: code?,
        name: name?,
    })
}

/// Converts a stored asset to its wire shape.
pub(crate) fn asset_body(row: AssetRow, distance_m: Option<f64>) -> AssetBody {
    let state_zh = urbis_service::assets::state_zh(&row.state).to_owned();
    AssetBody {
        owner: dept_ref(row.owner_dept_id, row.owner_code, row.owner_name),
        maintainer: dept_ref(
            row.maintainer_dept_id,
            row.maintainer_code,
            row.maintainer_name,
        ),
        id: row.id,
        class: row.class_code,
        subclass: row.subclass_code,
        name: row.name,
        lat: row.lat,
        lon: row.lon,
        state: row.state,
        state_zh,
        area_code: row.area_code,
        updated_at: urbis_service::time::to_db(row.updated_at),
        distance_m: distance_m.map(|d| (d * 10.0).round() / 10.0),
    }
}

/// Assets in a box.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AssetsQuery {
    /// minLon,minLat,maxLon,maxLat (WGS84).
    pub bbox: String,
    /// 2-digit big class or 4-digit small class.
    pub class: Option<String>,
}

/// Assets in a box.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetList {
    pub items: Vec<AssetBody>,
    /// True when more than 5,000 matched and the list was cut.
    pub truncated: bool,
}

/// Lists the assets in a box, optionally of one class (staff).
#[utoipa::path(get, path = "/api/v1/assets", tag = "grids", params(AssetsQuery),
    responses((status = 200, body = AssetList), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn list_assets(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<AssetsQuery>,
) -> ApiResult<Json<AssetList>> {
    let bbox = parse_bbox(&query.bbox)?;
    let (rows, truncated) = state
        .services
        .assets_in_bbox(&actor, bbox, query.class.as_deref())
        .await?;
    Ok(Json(AssetList {
        items: rows.into_iter().map(|r| asset_body(r, None)).collect(),
        truncated,
    }))
}

/// A point and an optional class.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NearestQuery {
    pub lat: f64,
    pub lon: f64,
    /// 2-digit big class or 4-digit small class (default: any).
    pub class: Option<String>,
    /// Search radius in metres, up to 5,000 (default 500).
    pub max_m: Option<f64>,
}

/// The nearest asset, or null.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearestResponse {
    pub asset: Option<AssetBody>,
}

/// Returns the nearest asset of a class to a WGS84 point within `max_m` metres.
#[utoipa::path(get, path = "/api/v1/assets/nearest", tag = "grids", params(NearestQuery),
    responses((status = 200, body = NearestResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn nearest_asset(
    State(state): State<AppState>,
    Auth(_actor): Auth,
    ApiQuery(query): ApiQuery<NearestQuery>,
) -> ApiResult<Json<NearestResponse>> {
    let found = state
        .services
        .nearest_asset(
            query.lat,
            query.lon,
            query.class.as_deref(),
            query.max_m.unwrap_or(500.0),
        )
        .await?;
    Ok(Json(NearestResponse {
        asset: found.map(|NearbyAsset { asset, distance_m }| asset_body(asset, Some(distance_m))),
    }))
}

/// A state change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetPatch {
    /// 完好/破损/丢失/占用 or intact/damaged/lost/occupied.
    pub state: String,
}

/// Changes an asset's state (audited).
#[utoipa::path(patch, path = "/api/v1/assets/{id}", tag = "grids", params(("id" = String, Path)), request_body = AssetPatch,
    responses((status = 200, body = AssetBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn patch_asset(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AssetPatch>,
) -> ApiResult<Json<AssetBody>> {
    let row = state
        .services
        .set_asset_state(&actor, &id, &body.state)
        .await?;
    Ok(Json(asset_body(row, None)))
}

/// The asset classes a category is about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetClassesBody {
    /// 2-digit big classes or 4-digit small classes; empty removes the mapping.
    pub classes: Vec<String>,
}

/// Maps a category to asset classes, so that intake names a nearby asset of them (admin).
#[utoipa::path(put, path = "/api/v1/categories/{id}/asset-classes", tag = "grids", params(("id" = i64, Path)),
    request_body = AssetClassesBody,
    responses((status = 200, body = AssetClassesBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn set_category_asset_classes(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AssetClassesBody>,
) -> ApiResult<Json<AssetClassesBody>> {
    let classes = state
        .services
        .set_category_asset_classes(&actor, id, &body.classes)
        .await?;
    Ok(Json(AssetClassesBody { classes }))
}
