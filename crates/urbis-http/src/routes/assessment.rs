//! 绩效考核 over HTTP: schemes, freezing a month's results, reading them, and appeals (申诉).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use urbis_service::assessment::{SchemeSpec, WeightSpec, result_case_ids};
use urbis_service::rows::{
    AssessmentAppealRow as AppealRow, AssessmentResultRow as ResultRow,
    AssessmentSchemeRow as SchemeRow,
};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_scheme, list_schemes))
        .routes(routes!(freeze))
        .routes(routes!(results))
        .routes(routes!(result))
        .routes(routes!(file_appeal))
        .routes(routes!(decide_appeal))
        .routes(routes!(ranking))
        .routes(routes!(export))
}

/// One weighted indicator: closure_rate, on_time_closure_rate, rework_rate, return_rate, supervised_rate,
/// satisfaction_rate or resolution_rate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightBody {
    pub indicator: String,
    pub weight: f64,
    /// Default: the indicator's natural direction (lower is better for rework, return and supervised rates).
    #[serde(default)]
    pub higher_is_better: Option<bool>,
}

/// A new scheme version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemeRequest {
    /// Stable code; each POST with the same code adds a version.
    pub code: String,
    pub name: String,
    pub indicators: Vec<WeightBody>,
    /// Units with fewer cases get a score but no grade.
    pub min_cases: u64,
    /// Lowest scores of grades A, B, C, D (descending); below D is E.
    pub bands: [f64; 4],
}

/// A stored scheme version.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchemeResponse {
    pub id: i64,
    pub code: String,
    pub version: i64,
    pub name: String,
    pub indicators: Vec<WeightBody>,
    pub min_cases: u64,
    pub bands: [f64; 4],
    pub created_at: String,
}

fn scheme_response(row: SchemeRow) -> SchemeResponse {
    let spec: Option<SchemeSpec> = serde_json::from_str(&row.body).ok();
    let (indicators, min_cases, bands) = spec.map_or((Vec::new(), 0, [0.0; 4]), |s| {
        (
            s.indicators
                .into_iter()
                .map(|w| WeightBody {
                    indicator: w.indicator,
                    weight: w.weight,
                    higher_is_better: w.higher_is_better,
                })
                .collect(),
            s.min_cases,
            s.bands,
        )
    });
    SchemeResponse {
        id: row.id,
        code: row.code,
        version: row.version,
        name: row.name,
        indicators,
        min_cases,
        bands,
        created_at: row.created_at.to_rfc3339(),
    }
}

/// Adds a scheme version (leaders and admins; audited).
#[utoipa::path(post, path = "/api/v1/assessment/schemes", tag = "assessment", request_body = SchemeRequest,
    responses((status = 201, body = SchemeResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_scheme(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<SchemeRequest>,
) -> ApiResult<(StatusCode, Json<SchemeResponse>)> {
    let spec = SchemeSpec {
        indicators: body
            .indicators
            .into_iter()
            .map(|w| WeightSpec {
                indicator: w.indicator,
                weight: w.weight,
                higher_is_better: w.higher_is_better,
            })
            .collect(),
        min_cases: body.min_cases,
        bands: body.bands,
    };
    let row = state
        .services
        .create_assessment_scheme(&actor, &body.code, &body.name, &spec)
        .await?;
    Ok((StatusCode::CREATED, Json(scheme_response(row))))
}

/// Lists every scheme version.
#[utoipa::path(get, path = "/api/v1/assessment/schemes", tag = "assessment",
    responses((status = 200, body = Vec<SchemeResponse>)), security(("bearer" = [])))]
async fn list_schemes(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<SchemeResponse>>> {
    let rows = state.services.assessment_schemes(&actor).await?;
    Ok(Json(rows.into_iter().map(scheme_response).collect()))
}

/// Which period to freeze or read.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodRequest {
    pub scheme_id: i64,
    /// A city-local month, YYYY-MM.
    pub period: String,
    /// department, district, street, community or grid.
    pub unit_kind: String,
    /// Reading only: every revision, not just the current ones.
    #[serde(default)]
    pub all: bool,
}

/// One indicator of a result.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IndicatorResult {
    pub indicator: String,
    pub label: String,
    pub numerator: u64,
    pub denominator: u64,
    pub rate: Option<f64>,
}

/// A frozen result of one unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultResponse {
    pub id: i64,
    pub scheme_id: i64,
    pub period: String,
    pub unit_kind: String,
    pub unit_id: i64,
    pub unit_name: String,
    /// 1 when frozen; each accepted appeal adds one.
    pub revision: i64,
    pub current: bool,
    pub cases: i64,
    pub score: Option<f64>,
    /// A–E; null below the scheme's minimum volume.
    pub grade: Option<String>,
    pub indicators: Vec<IndicatorResult>,
    /// The cases behind the score (drill-down).
    pub case_ids: Vec<i64>,
    /// Cases taken out by accepted appeals.
    pub excluded: Vec<i64>,
    pub frozen_at: String,
}

fn result_response(row: ResultRow) -> ResultResponse {
    ResultResponse {
        indicators: serde_json::from_str(&row.detail).unwrap_or_default(),
        case_ids: result_case_ids(&row),
        excluded: row
            .excluded
            .split(',')
            .filter_map(|s| s.parse().ok())
            .collect(),
        id: row.id,
        scheme_id: row.scheme_id,
        period: row.period,
        unit_kind: row.unit_kind,
        unit_id: row.unit_id,
        unit_name: row.unit_name,
        revision: row.revision,
        current: row.current,
        cases: row.cases,
        score: row.score,
        grade: row.grade,
        frozen_at: row.frozen_at.to_rfc3339(),
    }
}

/// Computes and freezes a month's results for every unit of a kind (leaders and admins; once per scheme version,
/// period and unit kind).
#[utoipa::path(post, path = "/api/v1/assessment/periods", tag = "assessment", request_body = PeriodRequest,
    responses((status = 201, body = Vec<ResultResponse>), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn freeze(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<PeriodRequest>,
) -> ApiResult<(StatusCode, Json<Vec<ResultResponse>>)> {
    let rows = state
        .services
        .freeze_assessment(&actor, body.scheme_id, &body.period, &body.unit_kind)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(rows.into_iter().map(result_response).collect()),
    ))
}

/// Returns a frozen period's results.
#[utoipa::path(get, path = "/api/v1/assessment/results", tag = "assessment", params(PeriodRequest),
    responses((status = 200, body = Vec<ResultResponse>)), security(("bearer" = [])))]
async fn results(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<PeriodRequest>,
) -> ApiResult<Json<Vec<ResultResponse>>> {
    let rows = state
        .services
        .assessment_results(
            &actor,
            query.scheme_id,
            &query.period,
            &query.unit_kind,
            query.all,
        )
        .await?;
    Ok(Json(rows.into_iter().map(result_response).collect()))
}

/// Returns one result (leaders, admins, and the graded department's handlers).
#[utoipa::path(get, path = "/api/v1/assessment/results/{id}", tag = "assessment", params(("id" = i64, Path)),
    responses((status = 200, body = ResultResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn result(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ResultResponse>> {
    let row = state.services.assessment_result(&actor, id).await?;
    Ok(Json(result_response(row)))
}

/// An appeal against a result.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    pub reason: String,
    /// The contested cases (at most 500), each counted in the result.
    pub case_ids: Vec<i64>,
}

/// An appeal with its decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppealResponse {
    pub id: i64,
    pub result_id: i64,
    pub reason: String,
    pub case_ids: Vec<i64>,
    /// pending, accepted or rejected.
    pub state: String,
    pub note: String,
    /// The recomputed revision, when accepted.
    pub new_result: Option<ResultResponse>,
}

fn appeal_response(row: AppealRow, new_result: Option<ResultRow>) -> AppealResponse {
    AppealResponse {
        id: row.id,
        result_id: row.result_id,
        reason: row.reason,
        case_ids: row
            .case_ids
            .split(',')
            .filter_map(|s| s.parse().ok())
            .collect(),
        state: row.state,
        note: row.note,
        new_result: new_result.map(result_response),
    }
}

/// Files an appeal (申诉) against a current result.
#[utoipa::path(post, path = "/api/v1/assessment/results/{id}/appeals", tag = "assessment",
    params(("id" = i64, Path)), request_body = AppealRequest,
    responses((status = 201, body = AppealResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn file_appeal(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<AppealRequest>,
) -> ApiResult<(StatusCode, Json<AppealResponse>)> {
    let row = state
        .services
        .file_assessment_appeal(&actor, id, &body.reason, &body.case_ids)
        .await?;
    Ok((StatusCode::CREATED, Json(appeal_response(row, None))))
}

/// The assessment office's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub accept: bool,
    #[serde(default)]
    pub note: String,
}

/// Accepts (recomputing the unit without the contested cases as a new revision) or rejects an appeal.
#[utoipa::path(post, path = "/api/v1/assessment/appeals/{id}/decision", tag = "assessment",
    params(("id" = i64, Path)), request_body = DecisionRequest,
    responses((status = 200, body = AppealResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn decide_appeal(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> ApiResult<Json<AppealResponse>> {
    let (row, new) = state
        .services
        .decide_assessment_appeal(&actor, id, body.accept, &body.note)
        .await?;
    Ok(Json(appeal_response(row, new)))
}

/// One unit of the ranking.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankedUnitResponse {
    /// 1 for the best graded unit; null without a grade.
    pub rank: Option<usize>,
    pub result: ResultResponse,
    /// Score in the previous month (环比) and the same month a year before (同比), when frozen.
    pub previous_month: Option<f64>,
    pub previous_year: Option<f64>,
}

/// The leader's view of a frozen period.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankingResponse {
    pub scheme_name: String,
    pub scheme_version: i64,
    pub units: Vec<RankedUnitResponse>,
    /// Units per grade (A–E, and "-" for ungraded).
    pub distribution: std::collections::BTreeMap<String, usize>,
    /// 红榜 (grade A) and 黑榜 (grade E) unit ids.
    pub red: Vec<i64>,
    pub black: Vec<i64>,
}

/// Which frozen period to rank or export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RankingQuery {
    pub scheme_id: i64,
    pub period: String,
    pub unit_kind: String,
}

/// Ranking, grade distribution, red and black lists, month-on-month and year-on-year change.
#[utoipa::path(get, path = "/api/v1/assessment/ranking", tag = "assessment", params(RankingQuery),
    responses((status = 200, body = RankingResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn ranking(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(q): ApiQuery<RankingQuery>,
) -> ApiResult<Json<RankingResponse>> {
    let r = state
        .services
        .assessment_ranking(&actor, q.scheme_id, &q.period, &q.unit_kind)
        .await?;
    Ok(Json(RankingResponse {
        scheme_name: r.scheme_name,
        scheme_version: r.scheme_version,
        units: r
            .units
            .into_iter()
            .map(|u| RankedUnitResponse {
                rank: u.rank,
                result: result_response(u.result),
                previous_month: u.previous_month,
                previous_year: u.previous_year,
            })
            .collect(),
        distribution: r.distribution,
        red: r.red,
        black: r.black,
    }))
}

/// The period as an XLSX workbook (sheets 考核结果, 红黑榜, 案件明细).
#[utoipa::path(get, path = "/api/v1/assessment/export", tag = "assessment", params(RankingQuery),
    responses((status = 200, content(([u8] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn export(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(q): ApiQuery<RankingQuery>,
) -> Result<Response, ApiError> {
    let bytes = state
        .services
        .assessment_workbook(&actor, q.scheme_id, &q.period, &q.unit_kind)
        .await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"assessment.xlsx\""),
    );
    Ok(response)
}
