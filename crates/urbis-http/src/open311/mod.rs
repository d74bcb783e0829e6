//! Open311 GeoReport v2 at `/open311/v2`, in XML and JSON by path suffix, plus the admin
//! endpoints for client api keys at `/api/v1/open311/clients`. Errors on the Open311 paths are
//! the spec's list of `{code, description}` with 404 (unknown resource, jurisdiction, service
//! code, request or token), 403 (missing, unknown or revoked api_key) or 400 (everything else);
//! `code` is the HTTP status and `description` starts with Urbis's stable error code.

mod format;

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use urbis_service::open311::{PublicNote, PublicRequest, PublicService, RequestQuery, Submission};
use urbis_service::{ErrorKind, ServiceError};
use urbis_storage::open311::ClientRow;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Auth};
use format::{Format, Node, decode_form, render};

/// Largest query string or form body an Open311 call reads (a 4,000-character description in
/// Chinese is about 36 KiB percent-encoded).
const PARAMS_MAX_BYTES: usize = 64 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(get_file).post(post_file))
        .route("/open311/v2/{collection}/{file}", get(get_item))
        .route(
            "/api/v1/open311/clients",
            get(list_clients).post(register_client),
        )
        .route("/api/v1/open311/clients/{id}", delete(revoke_client))
}

/// An Open311 failure in the spec's shape.
struct Open311Error {
    format: Format,
    error: ServiceError,
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let status = match self.error.kind {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden | ErrorKind::Unauthenticated => StatusCode::FORBIDDEN,
            // The spec answers 400 for everything else, including "CRM is down".
            _ => StatusCode::BAD_REQUEST,
        };
        let body = Node::List {
            item: "error",
            items: vec![Node::Object(vec![
                ("code", Node::Int(i64::from(status.as_u16()))),
                (
                    "description",
                    Node::text(format!("{}: {}", self.error.code, self.error.message)),
                ),
            ])],
        };
        render(status, self.format, "errors", &body)
    }
}

type Open311Result = Result<Response, Open311Error>;

fn unknown_resource(format: Format) -> Open311Error {
    Open311Error {
        format,
        error: ServiceError::not_found("resource"),
    }
}

/// Splits the file name; an unknown suffix answers in XML, the mandatory format.
fn split_file(file: &str) -> Result<(&str, Format), Open311Error> {
    Format::split(file).ok_or_else(|| unknown_resource(Format::Xml))
}

fn params(text: Option<&str>, format: Format) -> Result<HashMap<String, String>, Open311Error> {
    let text = text.unwrap_or("");
    if text.len() > PARAMS_MAX_BYTES {
        return Err(Open311Error {
            format,
            error: ServiceError::invalid("too_large", "parameters are too large"),
        });
    }
    // The first occurrence wins; `attribute[...]` pairs are accepted and ignored (no category
    // defines attributes).
    let mut map = HashMap::new();
    for (key, value) in decode_form(text) {
        map.entry(key).or_insert(value);
    }
    Ok(map)
}

fn datetime(state: &AppState, at: DateTime<Utc>) -> String {
    let offset = FixedOffset::east_opt(state.services.config().utc_offset_minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
    at.with_timezone(&offset)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn service_node(service: &PublicService) -> Node {
    Node::Object(vec![
        ("service_code", Node::text(&service.code)),
        ("service_name", Node::text(&service.name)),
        (
            "description",
            Node::text(format!("{} / {}", service.group, service.name)),
        ),
        ("metadata", Node::Bool(false)),
        ("type", Node::text("realtime")),
        ("keywords", Node::text(service.keywords.join(","))),
        ("group", Node::text(&service.group)),
    ])
}

fn request_node(
    state: &AppState,
    request: &PublicRequest,
    extensions: bool,
    notes: Option<&[PublicNote]>,
) -> Node {
    let mut fields = vec![
        ("service_request_id", Node::text(&request.number)),
        (
            "status",
            Node::text(if request.open { "open" } else { "closed" }),
        ),
        ("status_notes", Node::text(&request.status_notes)),
        ("service_name", Node::opt_text(request.service_name.clone())),
        ("service_code", Node::opt_text(request.service_code.clone())),
        ("description", Node::text(&request.description)),
        (
            "agency_responsible",
            Node::opt_text(request.agency_responsible.clone()),
        ),
        ("service_notice", Node::Null),
        (
            "requested_datetime",
            Node::text(datetime(state, request.requested_at)),
        ),
        (
            "updated_datetime",
            Node::text(datetime(state, request.updated_at)),
        ),
        (
            "expected_datetime",
            Node::opt_text(request.expected_at.map(|at| datetime(state, at))),
        ),
        ("address", Node::text(&request.address)),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", Node::opt_number(request.lat)),
        ("long", Node::opt_number(request.lon)),
        ("media_url", Node::Null),
    ];
    if extensions {
        fields.push((
            "extended_attributes",
            Node::Object(vec![
                ("state", Node::text(&request.state)),
                ("channel", Node::text(&request.channel)),
                ("area_id", Node::Int(request.area_id)),
                ("closure_type", Node::opt_text(request.closure_type.clone())),
            ]),
        ));
    }
    if let Some(notes) = notes {
        let items = notes
            .iter()
            .map(|note| {
                Node::Object(vec![
                    ("datetime", Node::text(datetime(state, note.at))),
                    (
                        "type",
                        Node::text(if note.action == "receive" {
                            "submitted"
                        } else {
                            "activity"
                        }),
                    ),
                    ("summary", Node::text(&note.action)),
                    ("description", Node::text(&note.state)),
                ])
            })
            .collect();
        fields.push((
            "notes",
            Node::List {
                item: "note",
                items,
            },
        ));
    }
    Node::Object(fields)
}

fn requests_doc(items: Vec<Node>) -> Node {
    Node::List {
        item: "request",
        items,
    }
}

fn flag(params: &HashMap<String, String>, name: &str) -> bool {
    params.get(name).is_some_and(|v| v.trim() == "true")
}

/// GET `/open311/v2/{services|requests|discovery}.{fmt}`.
async fn get_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Open311Result {
    let (name, format) = split_file(&file)?;
    let params = params(query.as_deref(), format)?;
    let fail = |error| Open311Error { format, error };
    let jurisdiction = params.get("jurisdiction_id").map(String::as_str);
    match name {
        "services" => {
            let services = state
                .services
                .open311_services(jurisdiction)
                .await
                .map_err(fail)?;
            let node = Node::List {
                item: "service",
                items: services.iter().map(service_node).collect(),
            };
            Ok(render(StatusCode::OK, format, "services", &node))
        }
        "requests" => {
            let get = |key: &str| params.get(key).cloned();
            let query = RequestQuery {
                jurisdiction_id: get("jurisdiction_id"),
                service_request_id: get("service_request_id"),
                service_code: get("service_code"),
                start_date: get("start_date"),
                end_date: get("end_date"),
                status: get("status"),
                page: get("page"),
                page_size: get("page_size"),
            };
            let requests = state
                .services
                .open311_requests(&query)
                .await
                .map_err(fail)?;
            let extensions = flag(&params, "extensions");
            let items = requests
                .iter()
                .map(|r| request_node(&state, r, extensions, None))
                .collect();
            Ok(render(
                StatusCode::OK,
                format,
                "service_requests",
                &requests_doc(items),
            ))
        }
        "discovery" => Ok(render(
            StatusCode::OK,
            format,
            "discovery",
            &discovery(&headers),
        )),
        _ => Err(unknown_resource(format)),
    }
}

fn discovery(headers: &HeaderMap) -> Node {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.len() <= 255)
        .unwrap_or("localhost");
    let changeset = "2026-11-23T00:00:00+08:00";
    Node::Object(vec![
        ("changeset", Node::text(changeset)),
        (
            "contact",
            Node::text("城治 Urbis — the city's 12345 office"),
        ),
        (
            "key_service",
            Node::text("api keys are issued by the city's administrator"),
        ),
        (
            "endpoints",
            Node::List {
                item: "endpoint",
                items: vec![Node::Object(vec![
                    (
                        "specification",
                        Node::text("http://wiki.open311.org/GeoReport_v2"),
                    ),
                    ("url", Node::text(format!("http://{host}/open311/v2"))),
                    ("changeset", Node::text(changeset)),
                    ("type", Node::text("production")),
                    (
                        "formats",
                        Node::List {
                            item: "format",
                            items: vec![Node::text("text/xml"), Node::text("application/json")],
                        },
                    ),
                ])],
            },
        ),
    ])
}

/// GET `/open311/v2/{services|requests|tokens}/{id}.{fmt}`.
async fn get_item(
    State(state): State<AppState>,
    Path((collection, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Open311Result {
    let (id, format) = split_file(&file)?;
    let params = params(query.as_deref(), format)?;
    let fail = |error| Open311Error { format, error };
    let jurisdiction = params.get("jurisdiction_id").map(String::as_str);
    match collection.as_str() {
        "services" => {
            let service = state
                .services
                .open311_service(jurisdiction, id)
                .await
                .map_err(fail)?;
            let node = Node::Object(vec![
                ("service_code", Node::text(&service.code)),
                (
                    "attributes",
                    Node::List {
                        item: "attribute",
                        items: Vec::new(),
                    },
                ),
            ]);
            Ok(render(StatusCode::OK, format, "service_definition", &node))
        }
        "requests" => {
            let (request, notes) = state
                .services
                .open311_request(jurisdiction, id)
                .await
                .map_err(fail)?;
            let node = request_node(&state, &request, flag(&params, "extensions"), Some(&notes));
            Ok(render(
                StatusCode::OK,
                format,
                "service_requests",
                &requests_doc(vec![node]),
            ))
        }
        "tokens" => {
            let number = state
                .services
                .open311_token(jurisdiction, id)
                .await
                .map_err(fail)?;
            let node = Node::Object(vec![
                ("service_request_id", Node::text(number)),
                ("token", Node::text(id)),
            ]);
            Ok(render(
                StatusCode::OK,
                format,
                "service_requests",
                &requests_doc(vec![node]),
            ))
        }
        _ => Err(unknown_resource(format)),
    }
}

/// POST `/open311/v2/requests.{fmt}` with a form body (query parameters are read too; the body
/// wins).
async fn post_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Open311Result {
    let (name, format) = split_file(&file)?;
    if name != "requests" {
        return Err(unknown_resource(format));
    }
    let body = String::from_utf8_lossy(&body);
    let mut params = params(Some(&body), format)?;
    for (key, value) in self::params(query.as_deref(), format)? {
        params.entry(key).or_insert(value);
    }
    let get = |key: &str| params.get(key).cloned();
    let submission = Submission {
        jurisdiction_id: get("jurisdiction_id"),
        api_key: get("api_key"),
        service_code: get("service_code"),
        lat: get("lat"),
        long: get("long"),
        address_string: get("address_string"),
        address_id: get("address_id"),
        description: get("description"),
        first_name: get("first_name"),
        last_name: get("last_name"),
        phone: get("phone"),
    };
    let number = state
        .services
        .open311_submit(&submission)
        .await
        .map_err(|error| Open311Error { format, error })?;
    let node = Node::Object(vec![
        ("service_request_id", Node::text(number)),
        ("service_notice", Node::Null),
        ("account_id", Node::Null),
    ]);
    Ok(render(
        StatusCode::OK,
        format,
        "service_requests",
        &requests_doc(vec![node]),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterClientRequest {
    name: String,
}

fn client_json(client: &ClientRow) -> serde_json::Value {
    serde_json::json!({
        "id": client.id,
        "name": client.name,
        "created_at": client.created_at,
        "revoked_at": client.revoked_at,
    })
}

/// POST `/api/v1/open311/clients` (admin): registers a client; the api key is shown only here.
async fn register_client(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<RegisterClientRequest>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let registered = state
        .services
        .open311_register_client(&actor, &body.name)
        .await?;
    let mut json = client_json(&registered.client);
    json["api_key"] = serde_json::Value::String(registered.api_key);
    Ok((StatusCode::CREATED, Json(json)))
}

/// GET `/api/v1/open311/clients` (admin).
async fn list_clients(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    let clients = state.services.open311_list_clients(&actor).await?;
    Ok(Json(clients.iter().map(client_json).collect()))
}

/// DELETE `/api/v1/open311/clients/{id}` (admin): revokes the client's key.
async fn revoke_client(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<serde_json::Value>> {
    let client = state.services.open311_revoke_client(&actor, id).await?;
    Ok(Json(client_json(&client)))
}
