//! The public open-data portal's machine interfaces, outside the OpenAPI document:
//!
//! - a CKAN Action API subset at `/api/3/action/{action}` and `/api/action/{action}` (the path
//!   `ckanapi` calls), GET with a query string or POST with a JSON body: `package_list`,
//!   `package_show`, `package_search`, `organization_list`, `organization_show`, `resource_show`,
//!   `datastore_search`, `status_show`. Answers are CKAN's envelope `{help, success, result}`;
//!   failures `{help, success: false, error: {__type, message}}` with CKAN's statuses (404 Not
//!   Found Error, 409 Validation Error, 403 Authorization Error, 400 for an unknown action);
//! - DCAT (JSON-LD) at `/catalog.jsonld` and `/dataset/{name}.jsonld`;
//! - downloads at `/api/v1/open-data/download/{name}.csv` and `.xlsx` (`?version=`), the
//!   dataset list and versions at `/api/v1/open-data/datasets`, and publishing
//!   (`POST /api/v1/open-data/publish`, the platform's data officers).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use urbis_service::opendata::{DatastoreQuery, Published};
use urbis_service::time::to_db;
use urbis_service::{ErrorKind, ServiceError};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Auth;

mod files;

/// The organisation every open dataset belongs to.
const ORG_NAME: &str = "city-platform";
const ORG_TITLE: &str = "城市运行管理中心";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/3/action/{action}", get(action_get).post(action_post))
        .route("/api/action/{action}", get(action_get).post(action_post))
        .route("/catalog.jsonld", get(catalog))
        .route("/dataset/{file}", get(dataset_jsonld))
        .route("/api/v1/open-data/datasets", get(list_datasets))
        .route("/api/v1/open-data/download/{file}", get(files::download))
        .route("/api/v1/open-data/publish", post(publish))
}

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.len() < 256
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn help(base: &str, action: &str) -> String {
    format!("{base}/api/3/action/help_show?name={action}")
}

fn ckan_error(base: &str, action: &str, status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "help": help(base, action),
            "success": false,
            "error": { "__type": kind, "message": message },
        })),
    )
        .into_response()
}

fn from_service(base: &str, action: &str, err: ServiceError) -> Response {
    let (status, kind) = match err.kind {
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "Not Found Error"),
        ErrorKind::InvalidInput | ErrorKind::Conflict => (StatusCode::CONFLICT, "Validation Error"),
        ErrorKind::Forbidden | ErrorKind::Unauthenticated => {
            (StatusCode::FORBIDDEN, "Authorization Error")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    ckan_error(base, action, status, kind, &err.message)
}

async fn action_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(action): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = query_params(query.as_deref());
    run(&state, &base_url(&headers), &action, params).await
}

async fn action_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(action): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let base = base_url(&headers);
    let mut params = query_params(query.as_deref());
    if !body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => params.extend(map),
            _ => {
                return ckan_error(
                    &base,
                    &action,
                    StatusCode::BAD_REQUEST,
                    "Validation Error",
                    "Bad request - JSON Error: the body must be a JSON object",
                );
            }
        }
    }
    run(&state, &base, &action, params).await
}

/// The query string's decoded pairs (`+` is a space), at most 64, as CKAN action parameters.
fn query_params(query: Option<&str>) -> Map<String, Value> {
    crate::open311::format::decode_form(query.unwrap_or_default())
        .into_iter()
        .take(64)
        .map(|(key, value)| (key, Value::String(value)))
        .collect()
}

fn param_str<'a>(params: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    params.get(key).and_then(Value::as_str)
}

fn param_usize(params: &Map<String, Value>, key: &str) -> Result<Option<usize>, ServiceError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(|n| Some(n as usize)).ok_or_else(|| {
            ServiceError::invalid("ckan_validation", format!("{key}: Invalid integer"))
        }),
        Some(Value::String(s)) => s.trim().parse::<usize>().map(Some).map_err(|_| {
            ServiceError::invalid("ckan_validation", format!("{key}: Invalid integer"))
        }),
        Some(_) => Err(ServiceError::invalid(
            "ckan_validation",
            format!("{key}: Invalid integer"),
        )),
    }
}

fn required<'a>(params: &'a Map<String, Value>, key: &str) -> Result<&'a str, ServiceError> {
    param_str(params, key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ServiceError::invalid("ckan_validation", format!("{key}: Missing value")))
}

async fn run(state: &AppState, base: &str, action: &str, params: Map<String, Value>) -> Response {
    let result = match action {
        "package_list" => package_list(state, &params).await,
        "package_show" => package_show(state, base, &params).await,
        "package_search" => package_search(state, base, &params).await,
        "organization_list" => organization_list(state, &params).await,
        "organization_show" => organization_show(state, base, &params).await,
        "resource_show" => resource_show(state, base, &params).await,
        "datastore_search" => datastore_search(state, base, &params).await,
        "status_show" => Ok(json!({
            "site_title": "Urbis 城治 开放数据",
            "site_description": "城市治理数据开放（脱敏）",
            "site_url": base,
            "ckan_version": "2.10.0",
            "locale_default": "zh_Hans_CN",
            "error_emails_to": null,
            "extensions": ["datastore", "dcat"],
        })),
        _ => {
            return ckan_error(
                base,
                action,
                StatusCode::BAD_REQUEST,
                "Bad Request",
                &format!("Bad request - Action name not known: {action}"),
            );
        }
    };
    match result {
        Ok(result) => axum::Json(json!({
            "help": help(base, action),
            "success": true,
            "result": result,
        }))
        .into_response(),
        Err(err) => from_service(base, action, err),
    }
}

fn organization(full: bool, count: usize) -> Value {
    let mut org = json!({
        "id": ORG_NAME, "name": ORG_NAME, "title": ORG_TITLE, "display_name": ORG_TITLE,
        "type": "organization", "state": "active", "is_organization": true,
        "approval_status": "approved", "image_url": "",
        "description": "城市运行管理平台：诉求、案件和网格的脱敏开放数据。",
    });
    if full {
        org["package_count"] = json!(count);
    }
    org
}

pub(crate) fn download_url(base: &str, name: &str, ext: &str) -> String {
    format!("{base}/api/v1/open-data/download/{name}.{ext}")
}

fn resource_dict(base: &str, p: &Published) -> Value {
    let modified = to_db(p.head.created_at);
    json!({
        "id": format!("{}-data", p.dataset.name),
        "package_id": p.dataset.name,
        "name": p.dataset.title,
        "description": p.dataset.notes,
        "format": "CSV",
        "mimetype": "text/csv",
        "url": download_url(base, p.dataset.name, "csv"),
        "url_type": "datastore",
        "datastore_active": true,
        "hash": format!("sha256:{}", p.head.content_hash),
        "created": modified,
        "last_modified": modified,
        "metadata_modified": modified,
        "position": 0,
        "state": "active",
        "state_version": p.head.version,
    })
}

fn package_dict(base: &str, p: &Published) -> Value {
    let modified = to_db(p.head.created_at);
    let tags: Vec<Value> = p
        .dataset
        .tags
        .iter()
        .map(|t| json!({"name": t, "display_name": t, "state": "active"}))
        .collect();
    json!({
        "id": p.dataset.name,
        "name": p.dataset.name,
        "title": p.dataset.title,
        "notes": p.dataset.notes,
        "type": "dataset",
        "state": "active",
        "private": false,
        "license_id": "cc-by",
        "license_title": "Creative Commons Attribution",
        "version": format!("v{}", p.head.version),
        "metadata_created": modified,
        "metadata_modified": modified,
        "owner_org": ORG_NAME,
        "organization": organization(false, 0),
        "num_resources": 1,
        "num_tags": tags.len(),
        "tags": tags,
        "groups": [],
        "resources": [resource_dict(base, p)],
        "extras": [
            {"key": "row_count", "value": p.head.row_count.to_string()},
            {"key": "suppressed", "value": p.head.suppressed.to_string()},
            {"key": "k", "value": p.head.k.to_string()},
            {"key": "content_hash", "value": p.head.content_hash},
            {"key": "dcat", "value": format!("{base}/dataset/{}.jsonld", p.dataset.name)},
        ],
    })
}

async fn package_list(
    state: &AppState,
    params: &Map<String, Value>,
) -> Result<Value, ServiceError> {
    let names: Vec<&str> = state
        .services
        .open_datasets()
        .await?
        .iter()
        .map(|p| p.dataset.name)
        .collect();
    let offset = param_usize(params, "offset")?.unwrap_or(0);
    let limit = param_usize(params, "limit")?.unwrap_or(1_000);
    Ok(json!(
        names
            .into_iter()
            .skip(offset)
            .take(limit)
            .collect::<Vec<_>>()
    ))
}

async fn find(state: &AppState, id: &str) -> Result<Published, ServiceError> {
    state.services.open_dataset(id).await.map_err(|err| {
        if err.kind == ErrorKind::NotFound {
            ServiceError::new(ErrorKind::NotFound, "not_found", "Not found")
        } else {
            err
        }
    })
}

async fn package_show(
    state: &AppState,
    base: &str,
    params: &Map<String, Value>,
) -> Result<Value, ServiceError> {
    let id = required(params, "id")?;
    Ok(package_dict(base, &find(state, id).await?))
}

async fn resource_show(
    state: &AppState,
    base: &str,
    params: &Map<String, Value>,
) -> Result<Value, ServiceError> {
    let id = required(params, "id")?;
    if !id.ends_with("-data") {
        return Err(ServiceError::new(
            ErrorKind::NotFound,
            "not_found",
            "Resource was not found.",
        ));
    }
    Ok(resource_dict(base, &find(state, id).await?))
}

async fn organization_list(
    state: &AppState,
    params: &Map<String, Value>,
) -> Result<Value, ServiceError> {
    let count = state.services.open_datasets().await?.len();
    let all_fields = matches!(params.get("all_fields"), Some(Value::Bool(true)))
        || param_str(params, "all_fields").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(if all_fields {
        json!([organization(true, count)])
    } else {
        json!([ORG_NAME])
    })
}

async fn organization_show(
    state: &AppState,
    base: &str,
    params: &Map<String, Value>,
) -> Result<Value, ServiceError> {
    let id = required(params, "id")?;
    if id != ORG_NAME {
        return Err(ServiceError::new(
            ErrorKind::NotFound,
            "not_found",
            "Not found",
        ));
    }
    let published = state.services.open_datasets().await?;
    let mut org = organization(true, published.len());
    let include = matches!(params.get("include_datasets"), Some(Value::Bool(true)))
        || param_str(params, "include_datasets").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if include {
        org["packages"] = Value::Array(published.iter().map(|p| package_dict(base, p)).collect());
    }
    Ok(org)
}

async fn package_search(
    state: &AppState,
    base: &str,
    params: &Map<String, Value>,
) -> Result<Value, ServiceError> {
    let q = param_str(params, "q")
        .unwrap_or("*:*")
        .trim()
        .to_lowercase();
    let rows = param_usize(params, "rows")?.unwrap_or(10).min(1_000);
    let start = param_usize(params, "start")?.unwrap_or(0);
    let fq = param_str(params, "fq").unwrap_or("").trim().to_owned();
    let words: Vec<String> = if q.is_empty() || q == "*:*" {
        Vec::new()
    } else {
        q.split_whitespace()
            .map(|w| {
                w.rsplit(':')
                    .next()
                    .unwrap_or(w)
                    .trim_matches('"')
                    .to_owned()
            })
            .filter(|w| !w.is_empty() && w != "*")
            .collect()
    };
    let published = state.services.open_datasets().await?;
    let matched: Vec<&Published> = published
        .iter()
        .filter(|p| {
            let text = format!(
                "{} {} {} {}",
                p.dataset.name,
                p.dataset.title,
                p.dataset.notes,
                p.dataset.tags.join(" ")
            )
            .to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .filter(|_| {
            // `organization:` and `tags:` filters; everything else matches.
            fq.split_whitespace().all(|term| {
                let term = term.trim_start_matches('+');
                match term.split_once(':') {
                    Some(("organization" | "owner_org", v)) => v.trim_matches('"') == ORG_NAME,
                    _ => true,
                }
            })
        })
        .collect();
    let mut tag_counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for p in &matched {
        for tag in p.dataset.tags {
            *tag_counts.entry(tag).or_default() += 1;
        }
    }
    let tag_items: Vec<Value> = tag_counts
        .iter()
        .map(|(t, n)| json!({"name": t, "display_name": t, "count": n}))
        .collect();
    Ok(json!({
        "count": matched.len(),
        "sort": "score desc, metadata_modified desc",
        "results": matched.iter().skip(start).take(rows).map(|p| package_dict(base, p)).collect::<Vec<_>>(),
        "facets": {},
        "search_facets": {
            "organization": {"title": "organization", "items": [
                {"name": ORG_NAME, "display_name": ORG_TITLE, "count": matched.len()}
            ]},
            "tags": {"title": "tags", "items": tag_items},
        },
    }))
}

fn parse_json_param(params: &Map<String, Value>, key: &str) -> Result<Option<Value>, ServiceError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().starts_with('{') || s.trim().starts_with('[') => {
            serde_json::from_str(s).map(Some).map_err(|_| {
                ServiceError::invalid(
                    "ckan_validation",
                    format!("{key}: Could not parse as valid JSON"),
                )
            })
        }
        Some(other) => Ok(Some(other.clone())),
    }
}

async fn datastore_search(
    state: &AppState,
    _base: &str,
    params: &Map<String, Value>,
) -> Result<Value, ServiceError> {
    let resource_id = required(params, "resource_id")
        .or_else(|_| required(params, "id"))?
        .to_owned();
    let mut query = DatastoreQuery {
        resource_id: resource_id.clone(),
        limit: param_usize(params, "limit")?,
        offset: param_usize(params, "offset")?,
        ..DatastoreQuery::default()
    };
    match parse_json_param(params, "filters")? {
        None => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let values = match v {
                    Value::Array(items) => items,
                    other => vec![other],
                };
                query.filters.insert(k, values);
            }
        }
        Some(_) => {
            return Err(ServiceError::invalid(
                "ckan_validation",
                "filters: Not a JSON object",
            ));
        }
    }
    match parse_json_param(params, "q")? {
        None => {}
        Some(Value::String(s)) => query.q = Some(s.chars().take(200).collect()),
        Some(_) => {
            return Err(ServiceError::invalid(
                "ckan_validation",
                "q: only a plain text search is supported",
            ));
        }
    }
    match params.get("fields") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            query.fields = s
                .split(',')
                .map(|f| f.trim().to_owned())
                .filter(|f| !f.is_empty())
                .collect();
        }
        Some(Value::Array(items)) => {
            query.fields = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
        }
        Some(_) => {
            return Err(ServiceError::invalid(
                "ckan_validation",
                "fields: a list of names",
            ));
        }
    }
    if let Some(sort) = param_str(params, "sort") {
        for part in sort
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .take(8)
        {
            let mut words = part.split_whitespace();
            let name = words.next().unwrap_or("").trim_matches('"').to_owned();
            let desc = words.next().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
            query.sort.push((name, desc));
        }
    }
    let page = state.services.datastore_search(&query).await?;
    let fields: Vec<Value> = page
        .fields
        .iter()
        .map(|(id, ty)| json!({"id": id, "type": ty}))
        .collect();
    let next = page.offset + page.limit;
    Ok(json!({
        "resource_id": resource_id,
        "fields": fields,
        "records": page.records,
        "records_format": "objects",
        "include_total": true,
        "total": page.total,
        "total_was_estimated": false,
        "limit": page.limit,
        "offset": page.offset,
        "_links": {
            "start": format!("/api/3/action/datastore_search?resource_id={resource_id}"),
            "next": format!("/api/3/action/datastore_search?resource_id={resource_id}&offset={next}"),
        },
    }))
}

fn jsonld_dataset(base: &str, p: &Published) -> Value {
    let modified = to_db(p.head.created_at);
    let distributions: Vec<Value> = [
        ("csv", "text/csv"),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ]
    .iter()
    .map(|(ext, media)| {
        let url = download_url(base, p.dataset.name, ext);
        json!({
            "@id": url,
            "@type": "dcat:Distribution",
            "dct:title": format!("{} ({})", p.dataset.title, ext.to_uppercase()),
            "dcat:downloadURL": {"@id": url},
            "dcat:mediaType": media,
            "dct:format": ext.to_uppercase(),
        })
    })
    .collect();
    json!({
        "@id": format!("{base}/dataset/{}", p.dataset.name),
        "@type": "dcat:Dataset",
        "dct:identifier": p.dataset.name,
        "dct:title": {"@value": p.dataset.title, "@language": "zh"},
        "dct:description": {"@value": p.dataset.notes, "@language": "zh"},
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": ORG_TITLE},
        "dct:modified": {"@value": modified, "@type": "xsd:dateTime"},
        "dct:license": {"@id": "https://creativecommons.org/licenses/by/4.0/"},
        "dct:accessRights": {"@id": "http://publications.europa.eu/resource/authority/access-right/PUBLIC"},
        "owl:versionInfo": p.head.version.to_string(),
        "dcat:keyword": p.dataset.tags,
        "dcat:distribution": distributions,
        "spdx:checksum": {
            "@type": "spdx:Checksum",
            "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
            "spdx:checksumValue": p.head.content_hash,
        },
        "dcat:landingPage": {"@id": format!("{base}/#/open-data")},
    })
}

fn jsonld_context() -> Value {
    json!({
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "owl": "http://www.w3.org/2002/07/owl#",
        "spdx": "http://spdx.org/rdf/terms#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    })
}

fn jsonld(value: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/ld+json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

async fn catalog(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let base = base_url(&headers);
    let published = state.services.open_datasets().await?;
    Ok(jsonld(json!({
        "@context": jsonld_context(),
        "@id": format!("{base}/catalog.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": {"@value": "Urbis 城治 开放数据目录", "@language": "zh"},
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": ORG_TITLE},
        "dcat:dataset": published.iter().map(|p| jsonld_dataset(&base, p)).collect::<Vec<_>>(),
    })))
}

async fn dataset_jsonld(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let base = base_url(&headers);
    let name = file.strip_suffix(".jsonld").ok_or_else(|| {
        ServiceError::new(
            ErrorKind::NotFound,
            "not_found",
            "use /dataset/{name}.jsonld",
        )
    })?;
    let published = state.services.open_dataset(name).await?;
    let mut doc = jsonld_dataset(&base, &published);
    doc["@context"] = jsonld_context();
    Ok(jsonld(doc))
}

/// The published datasets with their versions (public, for the open-data page).
async fn list_datasets(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = base_url(&headers);
    let mut out = Vec::new();
    for p in state.services.open_datasets().await? {
        let versions = state.services.open_dataset_versions(p.dataset.name).await?;
        out.push(json!({
            "name": p.dataset.name,
            "title": p.dataset.title,
            "notes": p.dataset.notes,
            "tags": p.dataset.tags,
            "columns": p.dataset.columns.iter().map(|(id, ty, title)| json!({"id": id, "type": ty, "title": title})).collect::<Vec<_>>(),
            "csv": download_url("", p.dataset.name, "csv"),
            "xlsx": download_url("", p.dataset.name, "xlsx"),
            "dcat": format!("{base}/dataset/{}.jsonld", p.dataset.name),
            "versions": versions.iter().map(|v| json!({
                "version": v.version, "row_count": v.row_count, "suppressed": v.suppressed,
                "k": v.k, "content_hash": v.content_hash, "created_at": to_db(v.created_at),
            })).collect::<Vec<_>>(),
        }));
    }
    Ok(axum::Json(Value::Array(out)).into_response())
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishParams {
    k: Option<i64>,
}

/// Generates the open datasets now (the platform's data officers or the admin).
async fn publish(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Query(params): Query<PublishParams>,
) -> Result<Response, ApiError> {
    let generated = state
        .services
        .publish_open_data(
            Some(&actor),
            params.k.unwrap_or(urbis_service::opendata::DEFAULT_K),
        )
        .await?;
    Ok(axum::Json(
        generated
            .iter()
            .map(|g| {
                json!({
                    "dataset": g.dataset, "version": g.version, "rows": g.rows,
                    "suppressed": g.suppressed, "content_hash": g.content_hash,
                    "new_version": g.new_version,
                })
            })
            .collect::<Vec<_>>(),
    )
    .into_response())
}
