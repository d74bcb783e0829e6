//! Sensors: device types and their rules, the device registry, readings, alarms and their
//! verification, dead letters and ingestion counters.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use urbis_service::sensors::{DeviceInput, DeviceView, RulesDoc, SensorTypeRow, TypeInput};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_types))
        .routes(routes!(put_type))
        .routes(routes!(list_devices, import_devices))
        .routes(routes!(get_device))
        .routes(routes!(put_device_rules, delete_device_rules))
        .routes(routes!(device_readings))
        .routes(routes!(device_hours))
        .routes(routes!(list_alarms))
        .routes(routes!(confirm_alarm))
        .routes(routes!(reject_alarm))
        .routes(routes!(rule_outcomes))
        .routes(routes!(dead_letters))
        .routes(routes!(ingest_counters))
}

/// Rules of a device type or device. Omitted limits are off.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// Alarm above this value.
    pub high: Option<f64>,
    /// Alarm below this value.
    pub low: Option<f64>,
    /// How far back inside a limit a value must come before the alarm clears.
    #[serde(default)]
    pub hysteresis: f64,
    /// Alarm when the value changes faster (units per minute).
    pub max_rate_per_min: Option<f64>,
    pub band_low: Option<f64>,
    pub band_high: Option<f64>,
    /// Consecutive readings outside the band that raise an alarm (0: off).
    #[serde(default)]
    pub band_count: u32,
    /// Offline (and an alarm) after this many seconds without data.
    pub silence_secs: Option<i64>,
}

impl From<RulesBody> for RulesDoc {
    fn from(b: RulesBody) -> RulesDoc {
        RulesDoc {
            high: b.high,
            low: b.low,
            hysteresis: b.hysteresis,
            max_rate_per_min: b.max_rate_per_min,
            band_low: b.band_low,
            band_high: b.band_high,
            band_count: b.band_count,
            silence_secs: b.silence_secs,
        }
    }
}

impl From<RulesDoc> for RulesBody {
    fn from(b: RulesDoc) -> RulesBody {
        RulesBody {
            high: b.high,
            low: b.low,
            hysteresis: b.hysteresis,
            max_rate_per_min: b.max_rate_per_min,
            band_low: b.band_low,
            band_high: b.band_high,
            band_count: b.band_count,
            silence_secs: b.silence_secs,
        }
    }
}

/// A device type.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypeBody {
    pub code: String,
    pub name: String,
    pub unit: String,
    /// The category of the cases its confirmed alarms open.
    pub category_id: Option<i64>,
    pub rules: RulesBody,
}

/// Lists device types.
#[utoipa::path(get, path = "/api/v1/sensors/types", tag = "sensors",
    responses((status = 200, body = Vec<TypeBody>)), security(("bearer" = [])))]
async fn list_types(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<TypeBody>>> {
    let rows = state.services.sensor_types(&actor).await?;
    Ok(Json(rows.into_iter().map(type_body).collect()))
}

fn type_body(t: SensorTypeRow) -> TypeBody {
    TypeBody {
        rules: RulesDoc::from_stored(&t.rules).into(),
        code: t.code,
        name: t.name,
        unit: t.unit,
        category_id: t.category_id,
    }
}

/// Defines a device type and its default rules (admin, audited).
#[utoipa::path(put, path = "/api/v1/sensors/types/{code}", tag = "sensors", params(("code" = String, Path)),
    request_body = TypeBody, responses((status = 200, body = TypeBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn put_type(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<TypeBody>,
) -> ApiResult<Json<TypeBody>> {
    let input = TypeInput {
        code,
        name: body.name,
        unit: body.unit,
        category_id: body.category_id,
        rules: body.rules.into(),
    };
    let t = state.services.put_sensor_type(&actor, &input).await?;
    Ok(Json(type_body(t)))
}

/// A device with its state, latest reading and effective rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceBody {
    pub code: String,
    #[serde(rename = "type")]
    pub type_code: String,
    pub name: String,
    pub unit: String,
    pub lat: f64,
    pub lon: f64,
    /// The 16-digit id of the asset it watches.
    pub asset_id: Option<String>,
    pub area_id: Option<i64>,
    /// online | offline | alarm
    pub state: String,
    pub last_value: Option<f64>,
    pub last_at: Option<DateTime<Utc>>,
    pub rules: RulesBody,
    /// Whether the rules are the device's own rather than its type's.
    pub rules_overridden: bool,
}

fn device_body(view: DeviceView) -> DeviceBody {
    let d = view.device;
    DeviceBody {
        code: d.code,
        type_code: d.type_code,
        name: d.name,
        unit: d.unit,
        lat: d.lat,
        lon: d.lon,
        asset_id: d.asset_id,
        area_id: d.area_id,
        state: d.state,
        last_value: d.last_value,
        last_at: d.last_at,
        rules: view.rules.into(),
        rules_overridden: view.rules_overridden,
    }
}

/// Which devices.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DevicesQuery {
    #[serde(rename = "type")]
    pub type_code: Option<String>,
    /// At most 10,000 (default 1,000).
    pub limit: Option<i64>,
}

/// Lists devices.
#[utoipa::path(get, path = "/api/v1/sensors/devices", tag = "sensors", params(DevicesQuery),
    responses((status = 200, body = Vec<DeviceBody>)), security(("bearer" = [])))]
async fn list_devices(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(q): ApiQuery<DevicesQuery>,
) -> ApiResult<Json<Vec<DeviceBody>>> {
    let rows = state
        .services
        .devices(&actor, q.type_code.as_deref(), q.limit.unwrap_or(1000))
        .await?;
    Ok(Json(rows.into_iter().map(device_body).collect()))
}

/// One device to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeviceBody {
    pub code: String,
    #[serde(rename = "type")]
    pub type_code: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub asset_id: Option<String>,
    /// Its unit grid's code; without it the area is located from lat/lon.
    pub area_code: Option<String>,
}

/// Devices to register or update.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportDevicesRequest {
    pub devices: Vec<NewDeviceBody>,
}

/// What a registration did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportDevicesResponse {
    pub created: usize,
    pub updated: usize,
    pub problems: Vec<String>,
}

/// Registers devices, or updates those with the same code (admin, audited); bad rows are listed.
#[utoipa::path(post, path = "/api/v1/sensors/devices", tag = "sensors", request_body = ImportDevicesRequest,
    responses((status = 200, body = ImportDevicesResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn import_devices(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<ImportDevicesRequest>,
) -> ApiResult<Json<ImportDevicesResponse>> {
    let rows: Vec<DeviceInput> = body
        .devices
        .into_iter()
        .map(|d| DeviceInput {
            code: d.code,
            type_code: d.type_code,
            name: d.name,
            lat: d.lat,
            lon: d.lon,
            asset_id: d.asset_id,
            area_code: d.area_code,
        })
        .collect();
    let report = state.services.import_devices(&actor, &rows).await?;
    Ok(Json(ImportDevicesResponse {
        created: report.created,
        updated: report.updated,
        problems: report.problems,
    }))
}

/// Returns a device.
#[utoipa::path(get, path = "/api/v1/sensors/devices/{code}", tag = "sensors", params(("code" = String, Path)),
    responses((status = 200, body = DeviceBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_device(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<DeviceBody>> {
    Ok(Json(device_body(
        state.services.device(&actor, &code).await?,
    )))
}

/// Sets a device's own rules (admin, audited).
#[utoipa::path(put, path = "/api/v1/sensors/devices/{code}/rules", tag = "sensors", params(("code" = String, Path)),
    request_body = RulesBody, responses((status = 200, body = DeviceBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn put_device_rules(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<RulesBody>,
) -> ApiResult<Json<DeviceBody>> {
    let rules: RulesDoc = body.into();
    let view = state
        .services
        .set_device_rules(&actor, &code, Some(&rules))
        .await?;
    Ok(Json(device_body(view)))
}

/// Removes a device's own rules: its type's apply again (admin, audited).
#[utoipa::path(delete, path = "/api/v1/sensors/devices/{code}/rules", tag = "sensors", params(("code" = String, Path)),
    responses((status = 200, body = DeviceBody)), security(("bearer" = [])))]
async fn delete_device_rules(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<DeviceBody>> {
    let view = state.services.set_device_rules(&actor, &code, None).await?;
    Ok(Json(device_body(view)))
}

/// A time range.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReadingsQuery {
    /// RFC 3339; default a day before `to`.
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; default now.
    pub to: Option<DateTime<Utc>>,
    /// The newest readings of the range, at most 10,000 (default 500).
    pub limit: Option<i64>,
}

/// One reading.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadingBody {
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// A device's readings in a time range, oldest first.
#[utoipa::path(get, path = "/api/v1/sensors/devices/{code}/readings", tag = "sensors", params(("code" = String, Path), ReadingsQuery),
    responses((status = 200, body = Vec<ReadingBody>)), security(("bearer" = [])))]
async fn device_readings(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<ReadingsQuery>,
) -> ApiResult<Json<Vec<ReadingBody>>> {
    let to =
        q.to.unwrap_or_else(|| state.services.now() + chrono::Duration::days(1));
    let from = q.from.unwrap_or(to - chrono::Duration::days(2));
    let rows = state
        .services
        .device_readings(&actor, &code, from, to, q.limit.unwrap_or(500))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(at, value)| ReadingBody { at, value })
            .collect(),
    ))
}

/// One hour of a device's readings, aggregated (kept after the raw readings expire).
#[derive(Debug, Serialize, ToSchema)]
pub struct HourBody {
    pub hour: DateTime<Utc>,
    pub n: i64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

/// A device's hourly aggregates in a time range (default: the last 30 days), oldest first.
#[utoipa::path(get, path = "/api/v1/sensors/devices/{code}/hourly", tag = "sensors", params(("code" = String, Path), ReadingsQuery),
    responses((status = 200, body = Vec<HourBody>)), security(("bearer" = [])))]
async fn device_hours(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<ReadingsQuery>,
) -> ApiResult<Json<Vec<HourBody>>> {
    let to = q.to.unwrap_or_else(|| state.services.now());
    let from = q.from.unwrap_or(to - chrono::Duration::days(30));
    let rows = state
        .services
        .device_hours(&actor, &code, from, to, q.limit.unwrap_or(1000))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| HourBody {
                hour: r.hour,
                n: r.n,
                min: r.min_value,
                max: r.max_value,
                mean: r.sum_value / r.n.max(1) as f64,
            })
            .collect(),
    ))
}

/// An alarm.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlarmBody {
    pub id: i64,
    pub device: String,
    pub device_name: String,
    pub asset_id: Option<String>,
    /// threshold | rate | band | silence
    pub rule: String,
    pub rule_zh: String,
    /// pending | confirmed | rejected | cleared | joined
    pub state: String,
    /// Whether the rule's condition still holds.
    pub active: bool,
    pub value: Option<f64>,
    pub message: String,
    pub supervisor_user_id: Option<i64>,
    pub raised_at: DateTime<Utc>,
    /// The verification deadline.
    pub due_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub case_id: Option<i64>,
}

fn alarm_body(a: urbis_service::sensors::alarms::AlarmRow) -> AlarmBody {
    AlarmBody {
        rule_zh: urbis_service::sensors::alarms::rule_zh(&a.rule).to_owned(),
        id: a.id,
        device: a.device_code,
        device_name: a.device_name,
        asset_id: a.asset_id,
        rule: a.rule,
        state: a.state,
        active: a.active,
        value: a.value,
        message: a.message,
        supervisor_user_id: a.supervisor_user_id,
        raised_at: a.raised_at,
        due_at: a.due_at,
        ended_at: a.ended_at,
        case_id: a.case_id,
    }
}

/// Which alarms.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlarmsQuery {
    /// pending (the verification list) | confirmed | rejected | cleared | joined
    pub state: Option<String>,
    /// A device code.
    pub device: Option<String>,
    pub limit: Option<i64>,
}

/// Alarms, newest first; a grid supervisor sees the ones assigned to them.
#[utoipa::path(get, path = "/api/v1/sensors/alarms", tag = "sensors", params(AlarmsQuery),
    responses((status = 200, body = Vec<AlarmBody>)), security(("bearer" = [])))]
async fn list_alarms(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(q): ApiQuery<AlarmsQuery>,
) -> ApiResult<Json<Vec<AlarmBody>>> {
    let rows = state
        .services
        .sensor_alarms(
            &actor,
            q.state.as_deref(),
            q.device.as_deref(),
            q.limit.unwrap_or(200),
        )
        .await?;
    Ok(Json(rows.into_iter().map(alarm_body).collect()))
}

/// A verifier's note.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    #[serde(default)]
    pub note: String,
}

/// Confirms an alarm (核实属实): a case on the `sensor` channel naming the device's asset.
#[utoipa::path(post, path = "/api/v1/sensors/alarms/{id}/confirm", tag = "sensors", params(("id" = i64, Path)),
    request_body = DecisionRequest,
    responses((status = 200, body = AlarmBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn confirm_alarm(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> ApiResult<Json<AlarmBody>> {
    let alarm = state
        .services
        .confirm_sensor_alarm(&actor, id, &body.note)
        .await?;
    Ok(Json(alarm_body(alarm)))
}

/// Rejects an alarm as false (counted per rule).
#[utoipa::path(post, path = "/api/v1/sensors/alarms/{id}/reject", tag = "sensors", params(("id" = i64, Path)),
    request_body = DecisionRequest,
    responses((status = 200, body = AlarmBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn reject_alarm(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> ApiResult<Json<AlarmBody>> {
    let alarm = state
        .services
        .reject_sensor_alarm(&actor, id, &body.note)
        .await?;
    Ok(Json(alarm_body(alarm)))
}

/// Alarm outcomes of one rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleOutcomeBody {
    pub rule: String,
    pub raised: i64,
    pub confirmed: i64,
    /// False alarms.
    pub rejected: i64,
    pub cleared: i64,
    pub joined: i64,
    pub pending: i64,
}

/// Alarm outcomes per rule (false alarms are the rejected ones), for tuning rules.
#[utoipa::path(get, path = "/api/v1/sensors/rule-outcomes", tag = "sensors",
    responses((status = 200, body = Vec<RuleOutcomeBody>)), security(("bearer" = [])))]
async fn rule_outcomes(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<RuleOutcomeBody>>> {
    let rows = state.services.sensor_rule_outcomes(&actor).await?;
    Ok(Json(
        rows.into_iter()
            .map(|o| RuleOutcomeBody {
                rule: o.rule,
                raised: o.raised,
                confirmed: o.confirmed,
                rejected: o.rejected,
                cleared: o.cleared,
                joined: o.joined,
                pending: o.pending,
            })
            .collect(),
    ))
}

/// A message ingestion could not take.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterBody {
    pub id: i64,
    pub topic: String,
    /// invalid_json | unknown_device | wrong_unit | not_a_number | oversize | invalid_value | invalid_senml | bad_time | bad_topic
    pub reason: String,
    pub detail: String,
    /// The first 1,024 bytes.
    pub payload: String,
    pub size_bytes: i64,
    pub received_at: DateTime<Utc>,
}

/// How many.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LimitQuery {
    pub limit: Option<i64>,
}

/// The newest dead letters (admin).
#[utoipa::path(get, path = "/api/v1/sensors/dead-letters", tag = "sensors", params(LimitQuery),
    responses((status = 200, body = Vec<DeadLetterBody>)), security(("bearer" = [])))]
async fn dead_letters(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(q): ApiQuery<LimitQuery>,
) -> ApiResult<Json<Vec<DeadLetterBody>>> {
    let rows = state
        .services
        .dead_letters(&actor, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|d| DeadLetterBody {
                id: d.id,
                topic: d.topic,
                reason: d.reason,
                detail: d.detail,
                payload: d.payload,
                size_bytes: d.size_bytes,
                received_at: d.received_at,
            })
            .collect(),
    ))
}

/// What ingestion counted since this process started.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestCountersBody {
    pub messages: u64,
    pub readings: u64,
    pub dead_letters: u64,
    pub batches: u64,
    pub alarms: u64,
    pub failed_batches: u64,
}

/// Ingestion counters since start.
#[utoipa::path(get, path = "/api/v1/sensors/ingest", tag = "sensors",
    responses((status = 200, body = IngestCountersBody)), security(("bearer" = [])))]
async fn ingest_counters(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<IngestCountersBody>> {
    urbis_service::sensors::require_sensor_reader(&actor)?;
    let c = state.services.sensor_counters();
    Ok(Json(IngestCountersBody {
        messages: c.messages,
        readings: c.readings,
        dead_letters: c.dead_letters,
        batches: c.batches,
        alarms: c.alarms,
        failed_batches: c.failed_batches,
    }))
}
