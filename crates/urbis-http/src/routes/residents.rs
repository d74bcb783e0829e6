//! Residents' phone login, notification settings, the outbox and the local sink, and the
//! webhook adapter that posts outbox messages to a city's SMS, e-mail or WeChat gateway.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use urbis_service::Services;
use urbis_service::residents::delivery::{SendFuture, WebhookSender};
use urbis_service::rows::{DeliveryRow, OutboxRow, SinkRow};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, ClientInfo};
use crate::routes::auth::{LoginResponse, MeResponse};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_code))
        .routes(routes!(verify_code))
        .routes(routes!(get_profile, put_profile))
        .routes(routes!(outbox))
        .routes(routes!(deliver))
        .routes(routes!(sink))
        .routes(routes!(public_reports))
        .routes(routes!(join_case))
        .routes(routes!(public_timeline))
}

/// A phone to send a one-time code to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    pub phone: String,
}

/// The code was queued for the phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeResponse {
    pub expires_in_secs: u64,
}

/// A code to check; a first login creates the account (sign-up).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub phone: String,
    pub code: String,
    pub display_name: Option<String>,
}

/// One channel and its address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    /// `sms`, `email` or `wechat`.
    pub channel: String,
    pub address: String,
}

/// A resident's notification settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// The verified phone (read only).
    #[serde(default, skip_deserializing)]
    pub phone: Option<String>,
    pub opted_out: bool,
    pub channels: Vec<ChannelBody>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub attempt: i64,
    pub adapter: String,
    pub ok: bool,
    pub detail: String,
    pub at: String,
}

/// An outbox message.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxResponse {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub case_id: Option<i64>,
    pub body: String,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub deliveries: Vec<DeliveryResponse>,
}

/// A message the local sink received.
#[derive(Debug, Serialize, ToSchema)]
pub struct SinkResponse {
    pub id: i64,
    pub outbox_id: i64,
    pub channel: String,
    pub address: String,
    pub kind: String,
    pub body: String,
    pub created_at: String,
}

/// What one delivery round did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoundResponse {
    pub sent: u32,
    pub retried: u32,
    pub failed: u32,
}

/// Filters of the sink.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SinkQuery {
    pub address: Option<String>,
    pub limit: Option<i64>,
}

/// Sends a one-time code to a phone (through the outbox). Limited per phone and per client:
/// 429 `otp_phone_limited` / `otp_client_limited`.
#[utoipa::path(post, path = "/api/v1/auth/code", tag = "residents", request_body = CodeRequest,
    responses((status = 202, body = CodeResponse), (status = 422, body = ErrorBody, description = "`invalid_phone`"),
        (status = 429, body = ErrorBody)))]
async fn request_code(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<CodeRequest>,
) -> ApiResult<(StatusCode, Json<CodeResponse>)> {
    let sent = state
        .services
        .request_code(&client.address, &body.phone)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeResponse {
            expires_in_secs: sent.expires_in_secs,
        }),
    ))
}

/// Logs in with a one-time code; the first login of a phone creates its resident account.
/// 401 `otp_invalid` (wrong code) or `otp_expired`.
#[utoipa::path(post, path = "/api/v1/auth/code/verify", tag = "residents", request_body = VerifyRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody)))]
async fn verify_code(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let login = state
        .services
        .verify_code(&body.phone, &body.code, body.display_name.as_deref())
        .await?;
    Ok(Json(LoginResponse {
        token: login.token,
        expires_at: urbis_service::time::to_db(login.expires_at),
        user: MeResponse::from(&login.actor),
    }))
}

fn profile_body(profile: urbis_service::residents::accounts::ResidentProfile) -> ProfileBody {
    ProfileBody {
        phone: profile.phone,
        opted_out: profile.opted_out,
        channels: profile
            .channels
            .into_iter()
            .map(|(channel, address)| ChannelBody { channel, address })
            .collect(),
    }
}

/// The caller's notification settings (residents).
#[utoipa::path(get, path = "/api/v1/me/profile", tag = "residents",
    responses((status = 200, body = ProfileBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn get_profile(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<ProfileBody>> {
    Ok(Json(profile_body(
        state.services.resident_profile(&actor).await?,
    )))
}

/// Sets the caller's channels and opt-out (residents with a verified phone).
#[utoipa::path(put, path = "/api/v1/me/profile", tag = "residents", request_body = ProfileBody,
    responses((status = 200, body = ProfileBody), (status = 409, body = ErrorBody, description = "`phone_not_verified`"),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn put_profile(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<ProfileBody>,
) -> ApiResult<Json<ProfileBody>> {
    let channels: Vec<(String, String)> = body
        .channels
        .into_iter()
        .map(|c| (c.channel, c.address))
        .collect();
    Ok(Json(profile_body(
        state
            .services
            .set_resident_profile(&actor, &channels, body.opted_out)
            .await?,
    )))
}

fn outbox_response((row, log): (OutboxRow, Vec<DeliveryRow>)) -> OutboxResponse {
    OutboxResponse {
        id: row.id,
        channel: row.channel,
        kind: row.kind,
        case_id: row.case_id,
        body: row.body,
        state: row.state,
        attempts: row.attempts,
        last_error: row.last_error,
        created_at: urbis_service::time::to_db(row.created_at),
        sent_at: row.sent_at.map(urbis_service::time::to_db),
        deliveries: log
            .into_iter()
            .map(|d| DeliveryResponse {
                attempt: d.attempt,
                adapter: d.adapter,
                ok: d.ok,
                detail: d.detail,
                at: urbis_service::time::to_db(d.at),
            })
            .collect(),
    }
}

/// Outbox messages with their delivery logs: a resident's own, or all for admins.
#[utoipa::path(get, path = "/api/v1/notify/outbox", tag = "residents",
    responses((status = 200, body = [OutboxResponse]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn outbox(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<OutboxResponse>>> {
    let rows = state.services.outbox_messages(&actor, 200).await?;
    Ok(Json(rows.into_iter().map(outbox_response).collect()))
}

/// Runs one delivery round now (admins; the worker runs them every few seconds).
#[utoipa::path(post, path = "/api/v1/notify/deliver", tag = "residents",
    responses((status = 200, body = RoundResponse), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn deliver(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<RoundResponse>> {
    urbis_service::auth::require_role(&actor, &[urbis_domain::role::Role::Admin])?;
    let report = state
        .services
        .deliver_outbox(&HttpWebhooks::default())
        .await?;
    Ok(Json(RoundResponse {
        sent: report.sent,
        retried: report.retried,
        failed: report.failed,
    }))
}

/// What the local sink adapter received, newest first (admins).
#[utoipa::path(get, path = "/api/v1/notify/sink", tag = "residents", params(SinkQuery),
    responses((status = 200, body = [SinkResponse]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn sink(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<SinkQuery>,
) -> ApiResult<Json<Vec<SinkResponse>>> {
    let rows: Vec<SinkRow> = state
        .services
        .sink_messages(&actor, query.address.as_deref(), query.limit.unwrap_or(100))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| SinkResponse {
                id: r.id,
                outbox_id: r.outbox_id,
                channel: r.channel,
                address: r.address,
                kind: r.kind,
                body: r.body,
                created_at: urbis_service::time::to_db(r.created_at),
            })
            .collect(),
    ))
}

/// The webhook adapter: POSTs `{id, channel, address, kind, case_id, body}` as JSON with the
/// message id as `Idempotency-Key`; any 2xx is delivered, anything else is retried.
pub struct HttpWebhooks {
    http: reqwest::Client,
}

impl Default for HttpWebhooks {
    fn default() -> Self {
        HttpWebhooks {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }
}

impl WebhookSender for HttpWebhooks {
    fn send<'a>(&'a self, url: &'a str, message: &'a OutboxRow) -> SendFuture<'a> {
        Box::pin(async move {
            let payload = serde_json::json!({
                "id": message.id,
                "channel": message.channel,
                "address": message.address,
                "kind": message.kind,
                "case_id": message.case_id,
                "body": message.body,
            });
            let response = self
                .http
                .post(url)
                .header("Idempotency-Key", format!("urbis-outbox-{}", message.id))
                .json(&payload)
                .send()
                .await
                .map_err(|err| {
                    if err.is_timeout() {
                        "timeout".to_owned()
                    } else {
                        "connection failed".to_owned()
                    }
                })?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(format!("status {}", response.status().as_u16()))
            }
        })
    }
}

/// Starts the outbox delivery worker with the webhook adapter (one round every `interval`).
pub fn spawn_outbox_worker(
    services: Services,
    interval: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    services.spawn_outbox_worker(Arc::new(HttpWebhooks::default()), interval)
}

/// Which reports the public map shows.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportsQuery {
    /// Only reports under this area (a grid for "near me").
    pub area_id: Option<i64>,
    /// Only open reports (default false).
    pub open: Option<bool>,
    pub limit: Option<i64>,
}

/// A recent report on the public map: place coarsened to its area's centre, title masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicReport {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub state: String,
    /// `open` or `closed`.
    pub status: String,
    pub created_at: String,
    pub area_name: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub category_name: Option<String>,
}

/// Recent reports (30 days) for the public map and for "already reported near you" (no login).
#[utoipa::path(get, path = "/api/v1/public/reports", tag = "residents", params(ReportsQuery),
    responses((status = 200, body = [PublicReport]), (status = 404, body = ErrorBody)))]
async fn public_reports(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ReportsQuery>,
) -> ApiResult<Json<Vec<PublicReport>>> {
    let rows = state
        .services
        .public_reports(
            query.area_id,
            query.open.unwrap_or(false),
            query.limit.unwrap_or(100),
        )
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| PublicReport {
                id: r.id,
                number: r.number,
                // A report without a title shows the start of its text, masked like the title.
                title: urbis_text::pii::mask(if r.title.trim().is_empty() {
                    &r.text
                } else {
                    &r.title
                })
                .chars()
                .take(40)
                .collect(),
                status: if matches!(r.state.as_str(), "closed" | "evaluated") {
                    "closed"
                } else {
                    "open"
                }
                .into(),
                state: r.state,
                created_at: urbis_service::time::to_db(r.created_at),
                area_name: r.area_name,
                lat: r.center_lat,
                lon: r.center_lon,
                category_name: r.category_name,
            })
            .collect(),
    ))
}

/// Joins the caller (a resident) to an open case about the same problem: its progress is sent
/// to them from now on. 409 `case_not_open` or `already_joined`.
#[utoipa::path(post, path = "/api/v1/cases/{id}/join", tag = "residents", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn join_case(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state.services.join_case(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One dated step of a case, in plain words.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineStep {
    pub at: String,
    /// Open311's extended status after the step (`open`, `in_progress`, `fixed`, …).
    pub status: String,
    pub summary: String,
}

/// A case's public page: what was reported (masked), where it stands, the official reply and
/// the dated steps.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineResponse {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub category_name: Option<String>,
    pub state: String,
    /// `open` or `closed`.
    pub status: String,
    pub reply: Option<String>,
    pub rating: Option<String>,
    pub steps: Vec<TimelineStep>,
    /// Residents' answers to "was it fixed?" (the reporter's and followers').
    pub followup: FollowupSummary,
}

/// How many residents said the problem was fixed, and whether the first reporter said it was not.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowupSummary {
    pub fixed: i64,
    pub not_fixed: i64,
    pub reporter_not_fixed: bool,
}

/// A case's public timeline in plain words with the official reply (no login).
#[utoipa::path(get, path = "/api/v1/public/cases/{number}/timeline", tag = "residents", params(("number" = String, Path)),
    responses((status = 200, body = TimelineResponse), (status = 404, body = ErrorBody, description = "`case_not_found`")))]
async fn public_timeline(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> ApiResult<Json<TimelineResponse>> {
    let (case, notes, answers) = state.services.public_timeline(&number).await?;
    let mut steps: Vec<(chrono::DateTime<chrono::Utc>, TimelineStep)> = notes
        .into_iter()
        .map(|n| {
            let step = TimelineStep {
                at: urbis_service::time::to_db(n.at),
                status: n.status.as_str().to_owned(),
                summary: n.summary,
            };
            (n.at, step)
        })
        .collect();
    for answer in &answers {
        let who = if answer.reporter {
            "反映人"
        } else {
            "关注的居民"
        };
        let (verdict, verdict_en) = if answer.fixed {
            ("已解决", "fixed")
        } else {
            ("未解决", "not fixed")
        };
        steps.push((
            answer.answered_at,
            TimelineStep {
                at: urbis_service::time::to_db(answer.answered_at),
                status: "followup".to_owned(),
                summary: format!(
                    "回访：{who}表示问题{verdict} Follow-up: a resident says {verdict_en}"
                ),
            },
        ));
    }
    steps.sort_by_key(|(at, _)| *at);
    let count = |fixed: bool| answers.iter().filter(|a| a.fixed == fixed).count() as i64;
    let followup = FollowupSummary {
        fixed: count(true),
        not_fixed: count(false),
        reporter_not_fixed: answers.iter().any(|a| a.reporter && !a.fixed),
    };
    Ok(Json(TimelineResponse {
        id: case.id,
        number: case.number,
        title: case.title,
        category_name: case.category_name,
        state: case.state,
        status: if case.closed { "closed" } else { "open" }.to_owned(),
        reply: case.reply,
        rating: case.rating,
        steps: steps.into_iter().map(|(_, step)| step).collect(),
        followup,
    }))
}
