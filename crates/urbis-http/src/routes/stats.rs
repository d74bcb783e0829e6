//! Evaluation indicators and the live feed for the dashboard.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use urbis_service::stats::{Indicators, Period};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(by_area))
        .routes(routes!(by_dept))
        .routes(routes!(trend))
        .routes(routes!(category_trend))
        .routes(routes!(channels))
        .routes(routes!(density))
        .routes(routes!(states))
        .routes(routes!(map))
        .routes(routes!(figure_cases))
        .routes(routes!(feed))
}

/// Which period and scope.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// First report day, YYYY-MM-DD (default: 30 days ago).
    pub from: Option<String>,
    /// Last report day, YYYY-MM-DD (default: today).
    pub to: Option<String>,
    pub area_id: Option<i64>,
    /// Area level for per-area results.
    pub level: Option<String>,
}

/// Counters and rates (rates are null when their denominator is zero).
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorsResponse {
    pub counts: BTreeMap<String, i64>,
    /// 立案数.
    pub registered: i64,
    /// 结案率.
    pub closure_rate: Option<f64>,
    /// 按期结案率.
    pub on_time_closure_rate: Option<f64>,
    /// 按期处置率.
    pub on_time_handling_rate: Option<f64>,
    /// 返工率.
    pub rework_rate: Option<f64>,
    /// 准确派遣率.
    pub accurate_dispatch_rate: Option<f64>,
    /// 响应率.
    pub response_rate: Option<f64>,
    /// 解决率.
    pub resolution_rate: Option<f64>,
    /// 满意率.
    pub satisfaction_rate: Option<f64>,
    /// 协办按期率 (supporting departments' sub-tasks done on time).
    pub cohandle_on_time_rate: Option<f64>,
}

impl From<Indicators> for IndicatorsResponse {
    fn from(i: Indicators) -> Self {
        IndicatorsResponse {
            registered: i.registered(),
            closure_rate: i.closure_rate(),
            on_time_closure_rate: i.on_time_closure_rate(),
            on_time_handling_rate: i.on_time_handling_rate(),
            rework_rate: i.rework_rate(),
            accurate_dispatch_rate: i.accurate_dispatch_rate(),
            response_rate: i.response_rate(),
            resolution_rate: i.resolution_rate(),
            satisfaction_rate: i.satisfaction_rate(),
            cohandle_on_time_rate: i.cohandle_on_time_rate(),
            counts: i.counts.into_iter().collect(),
        }
    }
}

/// Indicators of one area, department or day.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyedIndicators {
    pub key: String,
    pub indicators: IndicatorsResponse,
}

pub(crate) fn period(state: &AppState, query: &StatsQuery) -> ApiResult<Period> {
    let today = state.services.local_day(chrono::Utc::now());
    let month_ago = state
        .services
        .local_day(chrono::Utc::now() - chrono::Duration::days(30));
    Ok(Period::parse(
        query.from.as_deref().unwrap_or(&month_ago),
        query.to.as_deref().unwrap_or(&today),
    )?)
}

/// Returns the indicators of an area (default: the caller's scope).
#[utoipa::path(get, path = "/api/v1/stats/summary", tag = "stats", params(StatsQuery),
    responses((status = 200, body = IndicatorsResponse), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn summary(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<IndicatorsResponse>> {
    let period = period(&state, &query)?;
    Ok(Json(
        state
            .services
            .indicators(&actor, query.area_id, &period)
            .await?
            .into(),
    ))
}

/// Returns indicators per area of a level (default district), for rankings.
#[utoipa::path(get, path = "/api/v1/stats/by-area", tag = "stats", params(StatsQuery),
    responses((status = 200, body = Vec<KeyedIndicators>)), security(("bearer" = [])))]
async fn by_area(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<KeyedIndicators>>> {
    let period = period(&state, &query)?;
    let rows = state
        .services
        .indicators_by_area(
            &actor,
            query.level.as_deref().unwrap_or("district"),
            query.area_id,
            &period,
        )
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, i)| KeyedIndicators {
                key: id.to_string(),
                indicators: i.into(),
            })
            .collect(),
    ))
}

/// Returns indicators per department, for rankings.
#[utoipa::path(get, path = "/api/v1/stats/by-department", tag = "stats", params(StatsQuery),
    responses((status = 200, body = Vec<KeyedIndicators>)), security(("bearer" = [])))]
async fn by_dept(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<KeyedIndicators>>> {
    let period = period(&state, &query)?;
    let rows = state.services.indicators_by_dept(&actor, &period).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, i)| KeyedIndicators {
                key: id.to_string(),
                indicators: i.into(),
            })
            .collect(),
    ))
}

/// Returns counters per report day.
#[utoipa::path(get, path = "/api/v1/stats/trend", tag = "stats", params(StatsQuery),
    responses((status = 200, body = Vec<KeyedIndicators>)), security(("bearer" = [])))]
async fn trend(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<KeyedIndicators>>> {
    let period = period(&state, &query)?;
    let rows = state
        .services
        .indicators_by_day(&actor, query.area_id, &period)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(day, i)| KeyedIndicators {
                key: day,
                indicators: i.into(),
            })
            .collect(),
    ))
}

/// Appeals reported on one day under one level-1 category.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDayCount {
    pub day: String,
    /// The level-1 category's code ("" for cases without a category).
    pub category_code: String,
    pub reported: i64,
}

/// Returns appeals reported per day and level-1 category (trends by category).
#[utoipa::path(get, path = "/api/v1/stats/category-trend", tag = "stats", params(StatsQuery),
    responses((status = 200, body = Vec<CategoryDayCount>)), security(("bearer" = [])))]
async fn category_trend(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<CategoryDayCount>>> {
    let period = period(&state, &query)?;
    let rows = state
        .services
        .reported_by_day_and_category(&actor, query.area_id, &period)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(day, category_code, reported)| CategoryDayCount {
                day,
                category_code,
                reported,
            })
            .collect(),
    ))
}

/// Cases opened through one intake channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelCount {
    /// web, hotline, grid, api or sensor.
    pub channel: String,
    /// Cases whose first report came by this channel (merged repeat reports are not counted).
    pub cases: i64,
}

/// Returns cases per intake channel opened in the period (the channel mix).
#[utoipa::path(get, path = "/api/v1/stats/channels", tag = "stats", params(StatsQuery),
    responses((status = 200, body = Vec<ChannelCount>)), security(("bearer" = [])))]
async fn channels(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<ChannelCount>>> {
    let period = period(&state, &query)?;
    let rows = state
        .services
        .cases_by_channel(&actor, query.area_id, &period)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(channel, cases)| ChannelCount { channel, cases })
            .collect(),
    ))
}

/// Cases reported in one cell of about 200 m (the point heat map), at the cell's centre.
#[derive(Debug, Serialize, ToSchema)]
pub struct DensityCell {
    pub lat: f64,
    pub lon: f64,
    pub cases: i64,
}

/// Returns how many located cases were opened in each cell of about 200 m in the period, the
/// busiest cells first (at most 5,000).
#[utoipa::path(get, path = "/api/v1/stats/density", tag = "stats", params(StatsQuery),
    responses((status = 200, body = Vec<DensityCell>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn density(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<DensityCell>>> {
    let period = period(&state, &query)?;
    let cells = state
        .services
        .case_density(&actor, query.area_id, &period)
        .await?;
    Ok(Json(
        cells
            .into_iter()
            .map(|c| DensityCell {
                lat: c.lat,
                lon: c.lon,
                cases: c.cases,
            })
            .collect(),
    ))
}

/// Current number of cases in one state.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateCount {
    pub state: String,
    pub overdue: bool,
    pub count: i64,
}

/// Returns the current number of cases per state in the scope.
#[utoipa::path(get, path = "/api/v1/stats/states", tag = "stats", params(StatsQuery),
    responses((status = 200, body = Vec<StateCount>)), security(("bearer" = [])))]
async fn states(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<StateCount>>> {
    let rows = state.services.state_counts(&actor, query.area_id).await?;
    Ok(Json(
        rows.into_iter()
            .filter(|r| r.2 != 0)
            .map(|(state, overdue, count)| StateCount {
                state,
                overdue,
                count,
            })
            .collect(),
    ))
}

/// Open and overdue cases of one area.
#[derive(Debug, Serialize, ToSchema)]
pub struct AreaLoad {
    pub area_id: i64,
    pub open: i64,
    pub overdue: i64,
}

/// Returns open and overdue counts per area of a level (the grid map).
#[utoipa::path(get, path = "/api/v1/stats/map", tag = "stats", params(StatsQuery),
    responses((status = 200, body = Vec<AreaLoad>)), security(("bearer" = [])))]
async fn map(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<StatsQuery>,
) -> ApiResult<Json<Vec<AreaLoad>>> {
    let rows = state
        .services
        .open_by_area(
            &actor,
            query.level.as_deref().unwrap_or("district"),
            query.area_id,
        )
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(area_id, open, overdue)| AreaLoad {
                area_id,
                open,
                overdue,
            })
            .collect(),
    ))
}

/// Which cases behind a figure of the dashboard.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FigureCasesQuery {
    /// reported, registered, closure_rate, on_time_closure_rate, response_rate, resolution_rate
    /// or satisfaction_rate.
    pub figure: String,
    /// First report day, YYYY-MM-DD (default: 30 days ago).
    pub from: Option<String>,
    /// Last report day, YYYY-MM-DD (default: today).
    pub to: Option<String>,
    pub area_id: Option<i64>,
    /// Only cases led by this department (the department ranking).
    pub dept_id: Option<i64>,
    /// Only cases opened through this channel: web, hotline, grid, api or sensor (a segment of
    /// the channel mix; unknown: 422 `invalid_channel`).
    pub channel: Option<String>,
    /// Only cases under these level-1 categories, comma-separated 2-character codes as the
    /// category trend names them, `none` for the cases without a category (a series of the trend
    /// by category; unknown: 422 `unknown_category`).
    pub category: Option<String>,
    /// Only the cases that miss the figure.
    pub missing: Option<bool>,
    /// At most this many cases (1–500, default 100).
    pub limit: Option<i64>,
}

/// One case behind a figure.
#[derive(Debug, Serialize, ToSchema)]
pub struct FigureCase {
    pub id: i64,
    pub number: String,
    /// The title (or the text's start), personal data masked.
    pub title: String,
    pub state: String,
    pub state_zh: String,
    pub area_id: i64,
    pub lead_dept_id: Option<i64>,
    pub created_at: String,
    pub closed_at: Option<String>,
    /// normal (正常), overdue (超期) or forced.
    pub closure_type: Option<String>,
    pub satisfaction: Option<String>,
    pub resolved: Option<bool>,
    pub accepted_at: Option<String>,
    pub response_due_at: Option<String>,
    pub overdue: bool,
    /// Whether the case counts in the figure's numerator (always true for a count).
    pub meets: bool,
}

/// The cases behind a figure.
#[derive(Debug, Serialize, ToSchema)]
pub struct FigureCasesResponse {
    pub figure: String,
    /// Cases below the rate's line (all cases counted, for a count).
    pub denominator: i64,
    /// Of those, the ones that meet it.
    pub meeting: i64,
    /// Of those, the ones that miss it.
    pub missing: i64,
    /// Those that miss first, newest first within each.
    pub cases: Vec<FigureCase>,
}

fn masked_title(title: &str, text: &str) -> String {
    let shown = if title.trim().is_empty() {
        text.chars().take(30).collect()
    } else {
        title.to_owned()
    };
    urbis_text::pii::mask(&shown)
}

/// Returns the cases behind a figure of the period: for a rate, the cases of its denominator,
/// those that miss it first (e.g. the cases closed late behind 按期结案率).
#[utoipa::path(get, path = "/api/v1/stats/figure-cases", tag = "stats", params(FigureCasesQuery),
    responses((status = 200, body = FigureCasesResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn figure_cases(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<FigureCasesQuery>,
) -> ApiResult<Json<FigureCasesResponse>> {
    let period = period(
        &state,
        &StatsQuery {
            from: query.from.clone(),
            to: query.to.clone(),
            area_id: None,
            level: None,
        },
    )?;
    let asked = urbis_service::figures::FigureQuery {
        figure: query.figure.clone(),
        area_id: query.area_id,
        dept_id: query.dept_id,
        channel: query.channel.clone(),
        categories: query
            .category
            .as_deref()
            .map(|codes| codes.split(',').map(|c| c.trim().to_owned()).collect()),
        missing_only: query.missing.unwrap_or(false),
        limit: query.limit.unwrap_or(100),
    };
    let found = state.services.figure_cases(&actor, &asked, &period).await?;
    let time = urbis_service::time::to_db;
    Ok(Json(FigureCasesResponse {
        figure: query.figure,
        denominator: found.denominator,
        meeting: found.meeting,
        missing: found.denominator - found.meeting,
        cases: found
            .cases
            .into_iter()
            .map(|(c, meets)| FigureCase {
                title: masked_title(&c.title, &c.text),
                id: c.id,
                number: c.number,
                state: c.state.as_str().to_owned(),
                state_zh: c.state.title_zh().to_owned(),
                area_id: c.area_id,
                lead_dept_id: c.lead_dept_id,
                created_at: time(c.created_at),
                closed_at: c.closed_at.map(time),
                closure_type: c.closure_type,
                satisfaction: c.satisfaction,
                resolved: c.resolved,
                accepted_at: c.accepted_at.map(time),
                response_due_at: c.response_due_at.map(time),
                overdue: c.overdue,
                meets,
            })
            .collect(),
    }))
}

/// Which lines of the live feed.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    pub area_id: Option<i64>,
    /// Only this case (the line of a live event).
    pub case_id: Option<i64>,
    /// At most this many lines (1–50, default 8).
    pub limit: Option<i64>,
}

/// One line of the dashboard's live feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedLine {
    pub case_id: i64,
    pub number: String,
    /// The title (or the text's start), personal data masked: a wall screen is seen by anyone.
    pub title: String,
    pub area_id: i64,
    pub area_name: String,
    pub state: String,
    pub state_zh: String,
    pub updated_at: String,
}

/// Returns the newest cases of the scope as feed lines (title masked, area named, state in words).
#[utoipa::path(get, path = "/api/v1/stats/feed", tag = "stats", params(FeedQuery),
    responses((status = 200, body = Vec<FeedLine>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn feed(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> ApiResult<Json<Vec<FeedLine>>> {
    let lines = state
        .services
        .feed_lines(
            &actor,
            query.area_id,
            query.case_id,
            query.limit.unwrap_or(8),
        )
        .await?;
    Ok(Json(
        lines
            .into_iter()
            .map(|l| FeedLine {
                state_zh: urbis_domain::workflow::CaseState::parse(&l.state)
                    .map(|s| s.title_zh().to_owned())
                    .unwrap_or_else(|| l.state.clone()),
                case_id: l.case_id,
                number: l.number,
                title: l.title,
                area_id: l.area_id,
                area_name: l.area_name,
                state: l.state,
                updated_at: urbis_service::time::to_db(l.updated_at),
            })
            .collect(),
    ))
}
