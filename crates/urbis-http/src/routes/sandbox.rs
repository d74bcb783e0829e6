//! 政策沙盘 over HTTP: scenarios, background runs with progress, the XLSX export, and
//! pre-registered experiments with their difference-in-differences estimate.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use urbis_service::rows::{SandboxExperimentRow, SandboxRunRow, SandboxScenarioRow};
use urbis_service::sandbox::experiment::{DidEstimate, ExperimentInput};
use urbis_service::sandbox::scenario::{CapacityChange, DispatchChange, Scenario, TimeLimitChange};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(template))
        .routes(routes!(create_scenario, list_scenarios))
        .routes(routes!(get_scenario))
        .routes(routes!(start_run))
        .routes(routes!(get_run))
        .routes(routes!(export_run))
        .routes(routes!(register_experiment, list_experiments))
        .routes(routes!(estimate_experiment))
}

/// A time limit change: category code, clock type and amount.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeLimitBody {
    pub category: String,
    pub clock: String,
    pub amount: u32,
}

/// A dispatch rule: category code (optionally area code) → lead department code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    pub category: String,
    #[serde(default)]
    pub area: Option<String>,
    pub lead: String,
}

/// A department's capacity: handlers × cases per handler a day, or a factor of its best rate.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityBody {
    pub dept: String,
    #[serde(default)]
    pub handlers: Option<u32>,
    #[serde(default)]
    pub cases_per_handler_day: Option<f64>,
    #[serde(default)]
    pub factor: Option<f64>,
}

/// A scenario: a period of history and the changes to try.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioBody {
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default)]
    pub seeds: Option<u32>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub demand_factor: Option<f64>,
    #[serde(default)]
    pub time_limits: Vec<TimeLimitBody>,
    /// Every time limit multiplied by this factor (2 doubles them).
    #[serde(default)]
    pub time_limit_factor: Option<f64>,
    #[serde(default)]
    pub office_hours: Option<String>,
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    #[serde(default)]
    pub makeup_workdays: Vec<NaiveDate>,
    #[serde(default)]
    pub responsibility_version: Option<i64>,
    #[serde(default)]
    pub dispatch: Vec<DispatchBody>,
    #[serde(default)]
    pub capacity: Vec<CapacityBody>,
    #[serde(default)]
    pub classifier_routing: Option<bool>,
    #[serde(default)]
    pub manual_triage_minutes: Option<u32>,
}

impl ScenarioBody {
    fn into_scenario(self) -> Scenario {
        let mut s = Scenario::unchanged(&self.name, self.from, self.to);
        s.seeds = self.seeds.unwrap_or(s.seeds);
        s.seed = self.seed.unwrap_or(s.seed);
        s.demand_factor = self.demand_factor.unwrap_or(1.0);
        s.time_limits = self
            .time_limits
            .into_iter()
            .map(|t| TimeLimitChange {
                category: t.category,
                clock: t.clock,
                amount: t.amount,
            })
            .collect();
        s.time_limit_factor = self.time_limit_factor;
        s.office_hours = self.office_hours;
        s.holidays = self.holidays;
        s.makeup_workdays = self.makeup_workdays;
        s.responsibility_version = self.responsibility_version;
        s.dispatch = self
            .dispatch
            .into_iter()
            .map(|d| DispatchChange {
                category: d.category,
                area: d.area,
                lead: d.lead,
            })
            .collect();
        s.capacity = self
            .capacity
            .into_iter()
            .map(|c| CapacityChange {
                dept: c.dept,
                handlers: c.handlers,
                cases_per_handler_day: c.cases_per_handler_day,
                factor: c.factor,
            })
            .collect();
        s.classifier_routing = self.classifier_routing;
        s.manual_triage_minutes = self
            .manual_triage_minutes
            .unwrap_or(s.manual_triage_minutes);
        s
    }

    fn of(s: Scenario) -> ScenarioBody {
        ScenarioBody {
            name: s.name,
            from: s.from,
            to: s.to,
            seeds: Some(s.seeds),
            seed: Some(s.seed),
            demand_factor: Some(s.demand_factor),
            time_limits: s
                .time_limits
                .into_iter()
                .map(|t| TimeLimitBody {
                    category: t.category,
                    clock: t.clock,
                    amount: t.amount,
                })
                .collect(),
            time_limit_factor: s.time_limit_factor,
            office_hours: s.office_hours,
            holidays: s.holidays,
            makeup_workdays: s.makeup_workdays,
            responsibility_version: s.responsibility_version,
            dispatch: s
                .dispatch
                .into_iter()
                .map(|d| DispatchBody {
                    category: d.category,
                    area: d.area,
                    lead: d.lead,
                })
                .collect(),
            capacity: s
                .capacity
                .into_iter()
                .map(|c| CapacityBody {
                    dept: c.dept,
                    handlers: c.handlers,
                    cases_per_handler_day: c.cases_per_handler_day,
                    factor: c.factor,
                })
                .collect(),
            classifier_routing: s.classifier_routing,
            manual_triage_minutes: Some(s.manual_triage_minutes),
        }
    }
}

/// A stored scenario.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioResponse {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<ScenarioBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs: Option<Vec<RunResponse>>,
}

fn scenario_response(row: SandboxScenarioRow) -> ScenarioResponse {
    ScenarioResponse {
        id: row.id,
        name: row.name,
        created_at: row.created_at.to_rfc3339(),
        scenario: None,
        runs: None,
    }
}

/// A run: status (`running`, `done`, `failed`), progress 0–1 and, when done, the report.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunResponse {
    pub id: i64,
    pub scenario_id: i64,
    pub status: String,
    pub progress: f64,
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

fn run_response(row: SandboxRunRow, with_result: bool) -> RunResponse {
    RunResponse {
        id: row.id,
        scenario_id: row.scenario_id,
        status: row.status,
        progress: row.progress,
        result: row
            .result
            .filter(|_| with_result)
            .and_then(|body| serde_json::from_str(&body).ok()),
        error: row.error,
        created_at: row.created_at.to_rfc3339(),
        finished_at: row.finished_at.map(|t| t.to_rfc3339()),
    }
}

/// How many days back the template scenario covers.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TemplateQuery {
    #[serde(default)]
    pub days: Option<i64>,
}

/// A scenario of the last days with the current settings (leaders and admins).
#[utoipa::path(get, path = "/api/v1/sandbox/template", tag = "sandbox", params(TemplateQuery),
    responses((status = 200, body = ScenarioBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn template(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(q): ApiQuery<TemplateQuery>,
) -> ApiResult<Json<ScenarioBody>> {
    let scenario = state
        .services
        .sandbox_template(&actor, q.days.unwrap_or(30))
        .await?;
    Ok(Json(ScenarioBody::of(scenario)))
}

/// Stores a scenario (leaders and admins; audited).
#[utoipa::path(post, path = "/api/v1/sandbox/scenarios", tag = "sandbox", request_body = ScenarioBody,
    responses((status = 201, body = ScenarioResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn create_scenario(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<ScenarioBody>,
) -> ApiResult<(StatusCode, Json<ScenarioResponse>)> {
    let row = state
        .services
        .sandbox_save_scenario(&actor, &body.into_scenario())
        .await?;
    Ok((StatusCode::CREATED, Json(scenario_response(row))))
}

/// Lists stored scenarios, newest first.
#[utoipa::path(get, path = "/api/v1/sandbox/scenarios", tag = "sandbox",
    responses((status = 200, body = Vec<ScenarioResponse>)), security(("bearer" = [])))]
async fn list_scenarios(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<ScenarioResponse>>> {
    let rows = state.services.sandbox_scenarios(&actor).await?;
    Ok(Json(rows.into_iter().map(scenario_response).collect()))
}

/// A stored scenario with its runs (without their reports).
#[utoipa::path(get, path = "/api/v1/sandbox/scenarios/{id}", tag = "sandbox",
    responses((status = 200, body = ScenarioResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_scenario(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ScenarioResponse>> {
    let (row, scenario, runs) = state.services.sandbox_scenario(&actor, id).await?;
    let mut response = scenario_response(row);
    response.scenario = Some(ScenarioBody::of(scenario));
    response.runs = Some(runs.into_iter().map(|r| run_response(r, false)).collect());
    Ok(Json(response))
}

/// Starts a run of a scenario in the background (202 with the run to poll).
#[utoipa::path(post, path = "/api/v1/sandbox/scenarios/{id}/runs", tag = "sandbox",
    responses((status = 202, body = RunResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn start_run(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<RunResponse>)> {
    let run = state.services.sandbox_start_run(&actor, id).await?;
    Ok((StatusCode::ACCEPTED, Json(run_response(run, false))))
}

/// A run's status, progress and report.
#[utoipa::path(get, path = "/api/v1/sandbox/runs/{id}", tag = "sandbox",
    responses((status = 200, body = RunResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_run(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<RunResponse>> {
    let run = state.services.sandbox_run(&actor, id).await?;
    Ok(Json(run_response(run, true)))
}

/// A finished run's report as an XLSX workbook.
#[utoipa::path(get, path = "/api/v1/sandbox/runs/{id}/xlsx", tag = "sandbox",
    responses((status = 200, description = "XLSX workbook"), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn export_run(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let bytes = state.services.sandbox_run_xlsx(&actor, id).await?;
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
        HeaderValue::from_static("attachment; filename=\"sandbox.xlsx\""),
    );
    Ok(response)
}

/// An experiment to pre-register (before its start day).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentBody {
    pub name: String,
    pub policy: String,
    /// closure_rate, on_time_closure_rate or rework_rate.
    pub indicator: String,
    /// grid, community or street.
    pub unit_level: String,
    pub pre_from: NaiveDate,
    pub start: NaiveDate,
    pub end: NaiveDate,
    #[serde(default)]
    pub seed: Option<u64>,
}

/// A registered experiment and its assignment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentResponse {
    pub id: i64,
    pub name: String,
    pub policy: String,
    pub indicator: String,
    pub unit_level: String,
    pub pre_from: String,
    pub start: String,
    pub end: String,
    pub seed: i64,
    pub treated: Vec<i64>,
    pub control: Vec<i64>,
    pub registered_at: String,
}

fn id_list(text: &str) -> Vec<i64> {
    text.split(',').filter_map(|p| p.parse().ok()).collect()
}

fn experiment_response(row: SandboxExperimentRow) -> ExperimentResponse {
    ExperimentResponse {
        id: row.id,
        name: row.name,
        policy: row.policy,
        indicator: row.indicator,
        unit_level: row.unit_level,
        pre_from: row.pre_from,
        start: row.start_day,
        end: row.end_day,
        seed: row.seed,
        treated: id_list(&row.treated),
        control: id_list(&row.control),
        registered_at: row.registered_at.to_rfc3339(),
    }
}

/// Pre-registers an experiment and draws its assignment (leaders and admins; audited).
#[utoipa::path(post, path = "/api/v1/sandbox/experiments", tag = "sandbox", request_body = ExperimentBody,
    responses((status = 201, body = ExperimentResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn register_experiment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<ExperimentBody>,
) -> ApiResult<(StatusCode, Json<ExperimentResponse>)> {
    let input = ExperimentInput {
        name: body.name,
        policy: body.policy,
        indicator: body.indicator,
        unit_level: body.unit_level,
        pre_from: body.pre_from,
        start: body.start,
        end: body.end,
        seed: body.seed,
    };
    let row = state
        .services
        .sandbox_register_experiment(&actor, &input)
        .await?;
    Ok((StatusCode::CREATED, Json(experiment_response(row))))
}

/// Lists experiments, newest first.
#[utoipa::path(get, path = "/api/v1/sandbox/experiments", tag = "sandbox",
    responses((status = 200, body = Vec<ExperimentResponse>)), security(("bearer" = [])))]
async fn list_experiments(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<ExperimentResponse>>> {
    let rows = state.services.sandbox_experiments(&actor).await?;
    Ok(Json(rows.into_iter().map(experiment_response).collect()))
}

/// The difference-in-differences estimate with its 95% interval.
#[derive(Debug, Serialize, ToSchema)]
pub struct EstimateResponse {
    pub indicator: String,
    pub effect: f64,
    pub lo: f64,
    pub hi: f64,
    pub std_error: f64,
    pub treated_units: usize,
    pub control_units: usize,
    pub treated_change: f64,
    pub control_change: f64,
    pub interim: bool,
}

/// Estimates an experiment's effect from the live cases (stored and audited).
#[utoipa::path(post, path = "/api/v1/sandbox/experiments/{id}/estimate", tag = "sandbox",
    responses((status = 200, body = EstimateResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn estimate_experiment(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<EstimateResponse>> {
    let e: DidEstimate = state
        .services
        .sandbox_estimate_experiment(&actor, id)
        .await?;
    Ok(Json(EstimateResponse {
        indicator: e.indicator,
        effect: e.effect,
        lo: e.lo,
        hi: e.hi,
        std_error: e.std_error,
        treated_units: e.treated_units,
        control_units: e.control_units,
        treated_change: e.treated_change,
        control_change: e.control_change,
        interim: e.interim,
    }))
}
