//! The public map's base layer (roads and places from the city's gazetteer, no login, cached)
//! and the reverse lookup behind "use my location".

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use urbis_service::residents::basemap::BasePoint;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::routes::admin::AreaResponse;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(basemap))
        .routes(routes!(nearest))
}

/// A named point: a road's reference point, a place, or an address.
#[derive(Debug, Serialize, ToSchema)]
pub struct MapPoint {
    pub name: String,
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
}

impl From<BasePoint> for MapPoint {
    fn from(p: BasePoint) -> Self {
        MapPoint {
            name: p.name,
            kind: p.kind,
            lat: p.lat,
            lon: p.lon,
        }
    }
}

/// The base layer of the public map.
#[derive(Debug, Serialize, ToSchema)]
pub struct BaseMapResponse {
    pub roads: Vec<MapPoint>,
    pub places: Vec<MapPoint>,
    /// True when the city has more roads or places than one layer holds (they were thinned evenly).
    pub truncated: bool,
}

/// Roads and places of the city's gazetteer (names and WGS84 points only; door-plate addresses
/// left out), at most 800 of each, for the public map (no login; cached for five minutes).
#[utoipa::path(get, path = "/api/v1/public/basemap", tag = "residents",
    responses((status = 200, body = BaseMapResponse)))]
async fn basemap(State(state): State<AppState>) -> ApiResult<Response> {
    let map = state.services.public_basemap().await?;
    let mut res = Json(BaseMapResponse {
        roads: map.roads.into_iter().map(MapPoint::from).collect(),
        places: map.places.into_iter().map(MapPoint::from).collect(),
        truncated: map.truncated,
    })
    .into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(res)
}

/// A point to look up.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NearestQuery {
    /// WGS84 latitude.
    pub lat: f64,
    /// WGS84 longitude.
    pub lon: f64,
}

/// The nearest gazetteer entry to a point.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearestPlace {
    pub name: String,
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
    pub distance_m: f64,
}

/// Where a point is.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearestResponse {
    /// The nearest address, place or road within 500 m, if any.
    pub nearest: Option<NearestPlace>,
    /// The areas containing the point, city first (empty outside every boundary).
    pub areas: Vec<AreaResponse>,
}

/// Reverse lookup for "use my location": the nearest gazetteer entry within 500 m and the areas
/// containing the point (no login). 422 `invalid_location`.
#[utoipa::path(get, path = "/api/v1/public/nearest", tag = "residents", params(NearestQuery),
    responses((status = 200, body = NearestResponse), (status = 422, body = ErrorBody)))]
async fn nearest(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<NearestQuery>,
) -> ApiResult<Json<NearestResponse>> {
    let hit = state.services.reverse_lookup(query.lat, query.lon).await?;
    Ok(Json(NearestResponse {
        nearest: hit.nearest.map(|(p, distance_m)| NearestPlace {
            name: p.name,
            kind: p.kind,
            lat: p.lat,
            lon: p.lon,
            distance_m,
        }),
        areas: hit.areas.into_iter().map(AreaResponse::from).collect(),
    }))
}
