//! 民情 insight on live data: surge alerts per category × area and hot spots among recent cases.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(surges))
        .routes(routes!(hotspots))
}

/// Which scope, level and window.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InsightQuery {
    /// An area in the caller's scope (default: the whole scope).
    pub area_id: Option<i64>,
    /// Surges: area level of the series (district, street, community, grid; default street).
    pub level: Option<String>,
    /// Hot spots: days back (1–365, default 30).
    pub days: Option<u32>,
    /// Hot spots: how many (1–50, default 10).
    pub top: Option<usize>,
}

/// A surge alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurgeAlertResponse {
    pub category_id: Option<i64>,
    pub category_name: String,
    pub area_id: i64,
    pub area_name: String,
    /// The local day that alarmed (today or yesterday).
    pub day: String,
    pub observed: u32,
    pub expected: f64,
    pub p_value: f64,
    /// 1: that day alone; 2: that day and the one before.
    pub days: u8,
}

/// Current surges per category × area: counts above the EWMA baseline × weekday profile (Poisson tail < 0.001).
#[utoipa::path(get, path = "/api/v1/insight/surges", tag = "stats", params(InsightQuery),
    responses((status = 200, body = Vec<SurgeAlertResponse>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn surges(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(q): ApiQuery<InsightQuery>,
) -> ApiResult<Json<Vec<SurgeAlertResponse>>> {
    let alerts = state
        .services
        .surge_alerts(&actor, q.area_id, q.level.as_deref())
        .await?;
    Ok(Json(
        alerts
            .into_iter()
            .map(|a| SurgeAlertResponse {
                category_id: a.category_id,
                category_name: a.category_name,
                area_id: a.area_id,
                area_name: a.area_name,
                day: a.day,
                observed: a.observed,
                expected: a.expected,
                p_value: a.p_value,
                days: a.days,
            })
            .collect(),
    ))
}

/// A hot spot with the cases behind it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HotspotResponse {
    /// District · place · key terms.
    pub label: String,
    pub terms: Vec<String>,
    pub place: Option<String>,
    /// Heat index 0–100 (see README).
    pub heat: f64,
    pub case_ids: Vec<i64>,
    pub reporters: usize,
    /// Repeat reports merged into the cases (co-reporters).
    pub support: u64,
    pub first: String,
    pub last: String,
    /// Shares of negative, urgent and repeated reports.
    pub negative: f64,
    pub urgent: f64,
    pub repeated: f64,
    /// Share of the rated cases rated dissatisfied (null when none was rated).
    pub dissatisfied: Option<f64>,
}

/// The hottest topics among recent cases (text, place and time), with click-through case ids.
#[utoipa::path(get, path = "/api/v1/insight/hotspots", tag = "stats", params(InsightQuery),
    responses((status = 200, body = Vec<HotspotResponse>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn hotspots(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(q): ApiQuery<InsightQuery>,
) -> ApiResult<Json<Vec<HotspotResponse>>> {
    let spots = state
        .services
        .hotspots(&actor, q.area_id, q.days.unwrap_or(30), q.top.unwrap_or(10))
        .await?;
    Ok(Json(
        spots
            .into_iter()
            .map(|h| HotspotResponse {
                label: h.label,
                terms: h.terms,
                place: h.place,
                heat: h.heat,
                case_ids: h.case_ids,
                reporters: h.reporters,
                support: h.support,
                first: h.first.to_rfc3339(),
                last: h.last.to_rfc3339(),
                negative: h.negative,
                urgent: h.urgent,
                repeated: h.repeated,
                dissatisfied: h.dissatisfied,
            })
            .collect(),
    ))
}
