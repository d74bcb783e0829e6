//! Open311 GeoReport v2 at `/open311/v2`, in XML and JSON by path suffix, with mySociety's
//! `servicerequestupdates` extension, plus the admin endpoints for client api keys at
//! `/api/v1/open311/clients`. Every answer under `/open311/v2` that is not a success — unknown
//! paths, 405, 413 and the bare root included — is the spec's list of `{code, description}` in
//! the format the path asks for (XML when it names none): 404 (unknown resource, jurisdiction,
//! service code, request or token), 403 (missing, unknown or revoked api_key), 405, 413, or 400
//! (everything else); `code` is the HTTP status and `description` starts with Urbis's stable
//! error code. The GET methods allow any origin (CORS), so browser clients can read them.

mod body;
mod clients;
pub(crate) mod format;
mod nodes;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use tower_http::cors::{Any, CorsLayer};
use urbis_service::open311::{RequestQuery, Submission, UpdateQuery, UpdateSubmission};
use urbis_service::{ErrorKind, ServiceError};

use crate::AppState;
use body::{Params, post_params, query_params};
use format::{Format, Node, render};
use nodes::{discovery_node, list, request_node, service_node, update_node};

pub(crate) fn router() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::HEAD]);
    let preflight = || async { StatusCode::NO_CONTENT };
    let v2 = Router::new()
        .route(
            "/{file}",
            get(get_file)
                .options(preflight)
                .layer(cors.clone())
                .post(post_file),
        )
        .route(
            "/{collection}/{file}",
            get(get_item).options(preflight).layer(cors),
        )
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        // POST bodies are read by `body` with their own limits.
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .nest("/open311/v2", v2)
        .route("/open311/v2/", any(unknown_path))
        .route("/open311", any(unknown_path))
        .route("/open311/", any(unknown_path))
        .merge(clients::router())
}

/// An Open311 failure in the spec's shape.
pub(crate) struct Open311Error {
    format: Format,
    status: Option<StatusCode>,
    error: ServiceError,
}

impl Open311Error {
    pub(crate) fn new(format: Format, error: ServiceError) -> Open311Error {
        Open311Error {
            format,
            status: None,
            error,
        }
    }

    pub(crate) fn too_large(format: Format, limit: usize) -> Open311Error {
        Open311Error {
            format,
            status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            error: ServiceError::invalid(
                "too_large",
                format!("the parameters or body are larger than {limit} bytes"),
            ),
        }
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let status = self.status.unwrap_or(match self.error.kind {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Forbidden | ErrorKind::Unauthenticated => StatusCode::FORBIDDEN,
            // The spec answers 400 for everything else, including "CRM is down".
            _ => StatusCode::BAD_REQUEST,
        });
        let body = list(
            "error",
            vec![Node::Object(vec![
                ("code", Node::Int(i64::from(status.as_u16()))),
                (
                    "description",
                    Node::text(format!("{}: {}", self.error.code, self.error.message)),
                ),
            ])],
        );
        render(status, self.format, "errors", &body)
    }
}

type Open311Result = Result<Response, Open311Error>;

/// The format a path asks for: JSON for `.json`, else XML (the mandatory format).
fn format_of_path(path: &str) -> Format {
    path.rsplit('/')
        .next()
        .and_then(Format::split)
        .map_or(Format::Xml, |(_, format)| format)
}

fn unknown_resource(format: Format) -> Open311Error {
    Open311Error::new(format, ServiceError::not_found("resource"))
}

async fn unknown_path(uri: Uri) -> Open311Error {
    unknown_resource(format_of_path(uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let mut response = Open311Error {
        format: format_of_path(uri.path()),
        status: Some(StatusCode::METHOD_NOT_ALLOWED),
        error: ServiceError::invalid(
            "method_not_allowed",
            format!("{method} is not allowed here"),
        ),
    }
    .into_response();
    let allow = if uri.path().ends_with("/requests.xml")
        || uri.path().ends_with("/requests.json")
        || uri.path().contains("/servicerequestupdates.")
    {
        "GET, HEAD, POST"
    } else {
        "GET, HEAD"
    };
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// Splits the file name; an unknown suffix answers in XML, the mandatory format.
fn split_file(file: &str) -> Result<(&str, Format), Open311Error> {
    Format::split(file).ok_or_else(|| unknown_resource(Format::Xml))
}

fn request_query(params: &Params) -> RequestQuery {
    RequestQuery {
        jurisdiction_id: params.get("jurisdiction_id"),
        service_request_id: params.get("service_request_id"),
        service_code: params.get("service_code"),
        start_date: params.get("start_date"),
        end_date: params.get("end_date"),
        status: params.get("status"),
        page: params.get("page"),
        page_size: params.get("page_size"),
    }
}

/// GET `/open311/v2/{services|requests|servicerequestupdates|discovery}.{fmt}`.
async fn get_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
) -> Open311Result {
    let (name, format) = split_file(&file)?;
    let params = query_params(query.as_deref(), format)?;
    let fail = |error| Open311Error::new(format, error);
    let services = &state.services;
    match name {
        "services" => {
            let found = services
                .open311_services(params.get("jurisdiction_id").as_deref())
                .await
                .map_err(fail)?;
            let node = list("service", found.iter().map(service_node).collect());
            Ok(render(StatusCode::OK, format, "services", &node))
        }
        "requests" => {
            let found = services
                .open311_requests(&request_query(&params))
                .await
                .map_err(fail)?;
            let extensions = params.flag("extensions");
            let items = found
                .iter()
                .map(|r| request_node(&state, r, extensions))
                .collect();
            Ok(render(
                StatusCode::OK,
                format,
                "service_requests",
                &list("request", items),
            ))
        }
        "servicerequestupdates" => {
            let query = UpdateQuery {
                jurisdiction_id: params.get("jurisdiction_id"),
                start_date: params.get("start_date"),
                end_date: params.get("end_date"),
                page: params.get("page"),
                page_size: params.get("page_size"),
            };
            let found = services.open311_updates(&query).await.map_err(fail)?;
            let items = found.iter().map(|u| update_node(&state, u)).collect();
            Ok(render(
                StatusCode::OK,
                format,
                "service_request_updates",
                &list("request_update", items),
            ))
        }
        "discovery" => {
            let changeset = services.open311_changeset().await.map_err(fail)?;
            Ok(render(
                StatusCode::OK,
                format,
                "discovery",
                &discovery_node(&state, changeset),
            ))
        }
        _ => Err(unknown_resource(format)),
    }
}

/// GET `/open311/v2/{services|requests|tokens}/{id}.{fmt}` and `/open311/v2/media/{id}`.
async fn get_item(
    State(state): State<AppState>,
    Path((collection, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Open311Result {
    if collection == "media" {
        return media(&state, &file).await;
    }
    let (id, format) = split_file(&file)?;
    let params = query_params(query.as_deref(), format)?;
    let fail = |error| Open311Error::new(format, error);
    let jurisdiction = params.get("jurisdiction_id");
    let jurisdiction = jurisdiction.as_deref();
    match collection.as_str() {
        "services" => {
            let service = state
                .services
                .open311_service(jurisdiction, id)
                .await
                .map_err(fail)?;
            let node = Node::Object(vec![
                ("service_code", Node::text(&service.code)),
                ("attributes", list("attribute", Vec::new())),
            ]);
            Ok(render(StatusCode::OK, format, "service_definition", &node))
        }
        "requests" => {
            let request = state
                .services
                .open311_request(jurisdiction, id)
                .await
                .map_err(fail)?;
            let node = request_node(&state, &request, params.flag("extensions"));
            Ok(render(
                StatusCode::OK,
                format,
                "service_requests",
                &list("request", vec![node]),
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
                &list("request", vec![node]),
            ))
        }
        _ => Err(unknown_resource(format)),
    }
}

/// GET `/open311/v2/media/{id}`: a photo of a case that is not voided.
async fn media(state: &AppState, id: &str) -> Open311Result {
    let id: i64 = id.parse().map_err(|_| unknown_resource(Format::Xml))?;
    let (mime, bytes) = state
        .services
        .open311_media(id)
        .await
        .map_err(|error| Open311Error::new(Format::Xml, error))?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// POST `/open311/v2/requests.{fmt}` and `/open311/v2/servicerequestupdates.{fmt}`, with a
/// form or multipart body (query parameters are read too; the body wins).
async fn post_file(
    State(state): State<AppState>,
    Path(file): Path<String>,
    request: Request,
) -> Open311Result {
    let (name, format) = split_file(&file)?;
    if !matches!(name, "requests" | "servicerequestupdates") {
        return Err(unknown_resource(format));
    }
    let params = post_params(request, format).await?;
    let fail = |error| Open311Error::new(format, error);
    if name == "servicerequestupdates" {
        let update = UpdateSubmission {
            jurisdiction_id: params.get("jurisdiction_id"),
            api_key: params.get("api_key"),
            service_request_id: params.get("service_request_id"),
            status: params.get("status"),
            description: params.get("description"),
            updated_datetime: params.get("updated_datetime"),
            update_id: params.get("update_id"),
            media_urls: params.media_urls.clone(),
            photos: params.photos,
        };
        let id = state
            .services
            .open311_post_update(&update)
            .await
            .map_err(fail)?;
        let node = list(
            "request_update",
            vec![Node::Object(vec![("update_id", Node::text(id))])],
        );
        return Ok(render(
            StatusCode::OK,
            format,
            "service_request_updates",
            &node,
        ));
    }
    let submission = Submission {
        jurisdiction_id: params.get("jurisdiction_id"),
        api_key: params.get("api_key"),
        service_code: params.get("service_code"),
        lat: params.get("lat"),
        long: params.get("long"),
        address_string: params.get("address_string"),
        address_id: params.get("address_id"),
        description: params.get("description"),
        first_name: params.get("first_name"),
        last_name: params.get("last_name"),
        phone: params.get("phone"),
        media_urls: params.media_urls.clone(),
        photos: params.photos,
    };
    let outcome = state
        .services
        .open311_submit(&submission)
        .await
        .map_err(fail)?;
    let node = Node::Object(vec![
        ("service_request_id", Node::text(outcome.number)),
        ("service_notice", Node::opt_text(outcome.notice)),
        ("account_id", Node::Null),
    ]);
    Ok(render(
        StatusCode::OK,
        format,
        "service_requests",
        &list("request", vec![node]),
    ))
}
