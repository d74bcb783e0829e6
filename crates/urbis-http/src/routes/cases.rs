//! Appeals and cases: intake, lists, details, trail, routing and workflow actions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use urbis_domain::appeal::AppealInput;
use urbis_domain::workflow::{Action, ClosureType, Satisfaction};
use urbis_service::ServiceError;
use urbis_service::cases::{CaseQuery, DispatchOrder};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, ClientInfo, MaybeAuth};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_appeal))
        .routes(routes!(list_cases))
        .routes(routes!(get_case, patch_case))
        .routes(routes!(case_trail))
        .routes(routes!(reveal_contact))
        .routes(routes!(case_appeals))
        .routes(routes!(case_route))
        .routes(routes!(case_action))
        .routes(routes!(suggest))
}

/// What intake would make of an appeal being typed, without storing anything: the classifier's
/// top categories, open cases that may be the same problem (not for residents), personal data
/// found, the priority and the responsibility list's route.
#[utoipa::path(post, path = "/api/v1/intake/suggest", tag = "cases", request_body = SuggestRequest,
    responses((status = 200, body = SuggestResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn suggest(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<SuggestRequest>,
) -> ApiResult<Json<SuggestResponse>> {
    let input = urbis_service::assist::SuggestInput {
        title: body.title,
        text: body.text,
        lat: body.lat,
        lon: body.lon,
        area_code: body.area_code,
        category_code: body.category_code,
        address: body.address,
    };
    let outcome = state.services.suggest_intake(&actor, &input).await?;
    let depts = state.services.list_depts().await?;
    let dept_ref = |id: i64| {
        depts.iter().find(|d| d.id == id).map(|d| DeptRef {
            id: d.id,
            code: d.code.clone(),
            name: d.name.clone(),
        })
    };
    let route = outcome.route.as_ref().and_then(|route| {
        Some(RouteSuggestionResponse {
            lead: dept_ref(route.lead_dept_id)?,
            supporting: route
                .supporting
                .iter()
                .filter_map(|id| dept_ref(*id))
                .collect(),
            legal_basis: route.legal_basis.clone(),
        })
    });
    Ok(Json(SuggestResponse {
        categories: outcome
            .categories
            .into_iter()
            .map(|c| CategorySuggestion {
                category_id: c.category_id,
                code: c.code,
                name: c.name,
                confidence: c.confidence,
            })
            .collect(),
        duplicates: outcome
            .duplicates
            .into_iter()
            .map(|d| DuplicateSuggestion {
                id: d.case.id,
                number: d.case.number,
                title: urbis_text::pii::mask(&d.case.title),
                state: d.case.state.as_str().to_owned(),
                reporter_count: d.case.reporter_count,
                similarity: d.similarity,
                reason: urbis_text::pii::mask(&d.reason),
            })
            .collect(),
        pii: outcome.pii.into_iter().map(str::to_owned).collect(),
        masked_text: outcome.masked_text,
        priority: PrioritySuggestion {
            score: outcome.priority.score,
            level: outcome.priority.level.as_str().to_owned(),
            factors: serde_json::to_value(&outcome.priority.factors).unwrap_or_default(),
        },
        route,
        area: outcome.area.map(|a| AreaRef {
            id: a.id,
            code: a.code,
            name: a.name,
            level: a.level.as_str().to_owned(),
        }),
    }))
}

/// Files an appeal. Anonymous appeals go to the web channel; an `Idempotency-Key` header makes
/// retries safe. Answers only once the appeal is durably stored.
#[utoipa::path(post, path = "/api/v1/appeals", tag = "cases", request_body = AppealRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "1–128 characters")),
    responses((status = 201, body = AppealAccepted), (status = 200, description = "retry of an earlier appeal", body = AppealAccepted),
              (status = 422, body = ErrorBody)))]
async fn submit_appeal(
    State(state): State<AppState>,
    MaybeAuth(actor): MaybeAuth,
    client: ClientInfo,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AppealRequest>,
) -> ApiResult<(StatusCode, Json<AppealAccepted>)> {
    let key = match headers.get("idempotency-key") {
        Some(value) => Some(value.to_str().map_err(|_| {
            ServiceError::invalid(
                "invalid_idempotency_key",
                "Idempotency-Key must be visible ASCII",
            )
        })?),
        None => None,
    };
    let input = AppealInput {
        appeal_type: body.appeal_type,
        channel: body.channel,
        title: body.title,
        text: body.text,
        reporter_name: body.reporter_name,
        reporter_phone: body.reporter_phone,
        address: body.address,
        lat: body.lat,
        lon: body.lon,
        category_id: body.category_id,
        area_id: body.area_id,
        urgent: body.urgent,
    };
    let outcome = state
        .services
        .submit_appeal_from(actor.as_ref(), Some(client.client()), &input, key)
        .await?;
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(AppealAccepted {
            case_id: outcome.case_id,
            number: outcome.number,
            state: outcome.state,
            created: outcome.created,
            merged: outcome.merged,
        }),
    ))
}

/// Lists the cases the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseListQuery),
    responses((status = 200, body = Vec<CaseResponse>)), security(("bearer" = [])))]
async fn list_cases(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(query): ApiQuery<CaseListQuery>,
) -> ApiResult<Json<Vec<CaseResponse>>> {
    let query = CaseQuery {
        states: query
            .state
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        area_id: query.area_id,
        dept_id: query.dept_id,
        category_id: query.category_id,
        overdue: query.overdue,
        by_priority: match query.order.as_deref() {
            None | Some("newest") => false,
            Some("priority") => true,
            Some(_) => {
                return Err(
                    ServiceError::invalid("invalid_order", "order is newest or priority").into(),
                );
            }
        },
        needs_review: query.review.filter(|r| *r),
        before_id: query.before_id,
        limit: query.limit,
    };
    let rows = state.services.list_cases(&actor, &query).await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let geo = state.services.case_geo(&ids).await?;
    let orders: std::collections::HashMap<i64, _> = state
        .services
        .dispatch_orders(&ids)
        .await?
        .into_iter()
        .map(|o| (o.case_id, o))
        .collect();
    Ok(Json(
        rows.into_iter()
            .map(|row| {
                let id = row.id;
                CaseResponse::for_actor(&actor, row)
                    .with_geo(geo.get(&id))
                    .with_order(orders.get(&id))
            })
            .collect(),
    ))
}

/// Returns one case.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = CaseResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_case(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<CaseResponse>> {
    let row = state.services.get_case(&actor, id).await?;
    let geo = state.services.case_geo(&[row.id]).await?;
    let orders = state.services.dispatch_orders(&[row.id]).await?;
    Ok(Json(
        CaseResponse::for_actor(&actor, row)
            .with_geo(geo.get(&id))
            .with_order(orders.first()),
    ))
}

/// Corrects the category or area of a case before dispatch.
#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)), request_body = CasePatch,
    responses((status = 200, body = CaseResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn patch_case(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CasePatch>,
) -> ApiResult<Json<CaseResponse>> {
    let row = state
        .services
        .reclassify(&actor, id, body.category_id, body.area_id)
        .await?;
    Ok(Json(CaseResponse::for_actor(&actor, row)))
}

/// Returns the audit trail of a case: every step, who made it and when.
#[utoipa::path(get, path = "/api/v1/cases/{id}/trail", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditResponse>)), security(("bearer" = [])))]
async fn case_trail(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<AuditResponse>>> {
    let steps = state.services.case_trail_named(&actor, id).await?;
    Ok(Json(
        steps
            .into_iter()
            .map(|step| AuditResponse::from(step.row).with_actor_name(step.actor_name))
            .collect(),
    ))
}

/// The reporter of a case, unmasked.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReporterContactResponse {
    pub case_id: i64,
    pub number: String,
    /// Null when the reporter gave no name.
    pub reporter_name: Option<String>,
    /// Null when the reporter gave no phone.
    pub reporter_phone: Option<String>,
}

/// Returns the reporter's name and phone unmasked, for calling them back, and writes the reveal
/// to the audit log (POST: every call is a recorded read). For the hotline operators, shift leads,
/// dispatchers and administrators of the case's area, the handlers of its lead and supporting
/// departments, and its reporter; other roles get 403 `contact_not_allowed`, a case outside the
/// caller's scope 404.
#[utoipa::path(post, path = "/api/v1/cases/{id}/contact", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = ReporterContactResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn reveal_contact(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReporterContactResponse>> {
    let contact = state.services.reveal_contact(&actor, id).await?;
    let given = |s: String| (!s.trim().is_empty()).then_some(s);
    Ok(Json(ReporterContactResponse {
        case_id: contact.case_id,
        number: contact.number,
        reporter_name: given(contact.name),
        reporter_phone: given(contact.phone),
    }))
}

/// Returns the appeals behind a case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/appeals", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AppealResponse>)), security(("bearer" = [])))]
async fn case_appeals(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<AppealResponse>>> {
    let rows = state.services.case_appeals(&actor, id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| AppealResponse::for_actor(&actor, row))
            .collect(),
    ))
}

/// Returns the responsibility list's suggestion for a case (null when no rule covers it).
#[utoipa::path(get, path = "/api/v1/cases/{id}/route", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = Option<RouteResponse>)), security(("bearer" = [])))]
async fn case_route(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Option<RouteResponse>>> {
    let route = state.services.suggest_route(&actor, id).await?;
    Ok(Json(route.map(|r| RouteResponse {
        lead_dept_id: r.lead_dept_id,
        supporting_dept_ids: r.supporting,
        legal_basis: r.legal_basis,
        rule_id: r.rule_id,
    })))
}

/// Applies a workflow action; the caller's role and scope decide whether it may.
#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", tag = "cases", params(("id" = i64, Path)), request_body = ActionRequest,
    responses((status = 200, body = CaseResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn case_action(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ActionRequest>,
) -> ApiResult<Json<CaseResponse>> {
    // A dispatch may carry the dispatcher's instructions and deadline.
    let mut order = None;
    let action = match body {
        ActionRequest::Register => Action::Register,
        ActionRequest::Void { reason } => Action::Void { reason },
        ActionRequest::SelfResolve { note } => Action::SelfResolve { note },
        ActionRequest::Dispatch {
            lead_dept_id,
            supporting_dept_ids,
            instructions,
            limit_amount,
            deadline_reason,
        } => {
            order = Some(DispatchOrder {
                instructions,
                limit_amount,
                deadline_reason,
            });
            state
                .services
                .dispatch_action(&actor, id, lead_dept_id, supporting_dept_ids)
                .await?
        }
        ActionRequest::Accept => Action::Accept,
        ActionRequest::Return { reason } => Action::Return { reason },
        ActionRequest::Feedback { note } => Action::Feedback { note },
        ActionRequest::CheckPass { note } => Action::CheckPass { note },
        ActionRequest::CheckFail { reason } => Action::CheckFail { reason },
        ActionRequest::Close { closure_type } => Action::Close {
            closure: match closure_type {
                None => None,
                Some(name) => Some(ClosureType::parse(&name).ok_or_else(|| {
                    ServiceError::invalid(
                        "invalid_closure_type",
                        "closure_type is normal, overdue, error or special",
                    )
                })?),
            },
        },
        ActionRequest::Rate {
            satisfaction,
            resolved,
            comment,
        } => Action::Rate {
            satisfaction: Satisfaction::parse(&satisfaction).ok_or_else(|| {
                ServiceError::invalid(
                    "invalid_satisfaction",
                    "satisfaction is satisfied, basically_satisfied or dissatisfied",
                )
            })?,
            resolved,
            comment,
        },
        ActionRequest::Reopen { reason } => Action::Reopen { reason },
        ActionRequest::RequestExtension { amount, reason } => {
            Action::RequestExtension { amount, reason }
        }
        ActionRequest::RequestPark { reason } => Action::RequestPark { reason },
        ActionRequest::Decide { approve, note } => Action::Decide { approve, note },
        ActionRequest::Unpark { note } => Action::Unpark { note },
        ActionRequest::Supervise { note } => Action::Supervise { note },
    };
    let row = state
        .services
        .act_with_order(&actor, id, action, order)
        .await?;
    let orders = state.services.dispatch_orders(&[row.id]).await?;
    Ok(Json(
        CaseResponse::for_actor(&actor, row).with_order(orders.first()),
    ))
}
