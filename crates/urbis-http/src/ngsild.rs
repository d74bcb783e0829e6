//! A subset of ETSI NGSI-LD (GS CIM 009) at `/ngsi-ld/v1`, so that NGSI-LD clients read the
//! sensor registry: devices are entities of type `Device` (`urn:ngsi-ld:Device:<code>`) with
//! `name`, `deviceType`, `deviceState`, `value` (the latest reading with `observedAt` and
//! `unitCode`), `location` (GeoProperty) and `refAsset` (Relationship).
//!
//! Covered: `POST /entities` (registers a device), `GET /entities/{id}`, `GET /entities` with
//! `type`, `id`, `q` (terms joined by `;`, operators `== != > >= < <=` on `value`, `deviceState`,
//! `deviceType`, `name`), geo-queries `georel=near;maxDistance==M` with `geometry=Point` and
//! `coordinates=[lon,lat]`, `limit`/`offset`/`count`; `PATCH /entities/{id}/attrs` (`name`,
//! `location`, `refAsset`); `POST|GET /subscriptions`, `GET|DELETE /subscriptions/{id}` with HTTP
//! notifications (`notification.endpoint.uri`) when a watched device's value or state changes.
//! Everything needs a bearer token; writes are for admins. Errors are the spec's ProblemDetails.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use urbis_service::sensors::{DeviceInput, DeviceView};
use urbis_service::{ErrorKind, ServiceError, Services};

use crate::AppState;
use crate::extract::Auth;

const CORE_CONTEXT: &str = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld";
const DEVICE_PREFIX: &str = "urn:ngsi-ld:Device:";
const ASSET_PREFIX: &str = "urn:ngsi-ld:Asset:";
const QUERY_LIMIT_MAX: usize = 1000;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/ngsi-ld/v1/entities",
            get(query_entities).post(create_entity),
        )
        .route(
            "/ngsi-ld/v1/entities/",
            get(query_entities).post(create_entity),
        )
        .route("/ngsi-ld/v1/entities/{id}", get(get_entity))
        .route(
            "/ngsi-ld/v1/entities/{id}/attrs",
            axum::routing::patch(patch_attrs),
        )
        .route(
            "/ngsi-ld/v1/entities/{id}/attrs/",
            axum::routing::patch(patch_attrs),
        )
        .route(
            "/ngsi-ld/v1/subscriptions",
            get(list_subscriptions).post(create_subscription),
        )
        .route(
            "/ngsi-ld/v1/subscriptions/{id}",
            get(get_subscription).delete(delete_subscription),
        )
}

/// An NGSI-LD error (ProblemDetails).
#[derive(Debug)]
struct Problem(StatusCode, &'static str, String);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("https://uri.etsi.org/ngsi-ld/errors/{}", self.1),
            "title": self.1,
            "detail": self.2,
        });
        let mut response = (self.0, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

impl From<ServiceError> for Problem {
    fn from(err: ServiceError) -> Problem {
        let (status, kind) = match err.kind {
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "ResourceNotFound"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "AlreadyExists"),
            ErrorKind::InvalidInput => (StatusCode::BAD_REQUEST, "BadRequestData"),
            ErrorKind::Unauthenticated => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            ErrorKind::Forbidden => (StatusCode::FORBIDDEN, "Forbidden"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        };
        Problem(status, kind, err.message)
    }
}

fn bad(detail: impl Into<String>) -> Problem {
    Problem(StatusCode::BAD_REQUEST, "BadRequestData", detail.into())
}

type NgsiResult<T> = Result<T, Problem>;

/// The entity of a device.
pub fn device_entity(view: &DeviceView) -> Value {
    let d = &view.device;
    let mut entity = json!({
        "id": format!("{DEVICE_PREFIX}{}", d.code),
        "type": "Device",
        "name": { "type": "Property", "value": d.name },
        "deviceType": { "type": "Property", "value": d.type_code },
        "deviceState": { "type": "Property", "value": d.state },
        "location": { "type": "GeoProperty", "value": { "type": "Point", "coordinates": [d.lon, d.lat] } },
    });
    if let Some(value) = d.last_value {
        let mut property = json!({ "type": "Property", "value": value, "unitCode": d.unit });
        if let Some(at) = d.last_at {
            property["observedAt"] = json!(at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        entity["value"] = property;
    }
    if let Some(asset) = &d.asset_id {
        entity["refAsset"] =
            json!({ "type": "Relationship", "object": format!("{ASSET_PREFIX}{asset}") });
    }
    entity
}

/// Answers JSON-LD (with `@context`) when the client accepts it, else JSON with a Link header.
fn respond(status: StatusCode, headers: &HeaderMap, mut body: Value) -> Response {
    let ld = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/ld+json"));
    if ld {
        let context = json!(CORE_CONTEXT);
        match &mut body {
            Value::Object(map) => {
                map.insert("@context".into(), context);
            }
            Value::Array(items) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    item.insert("@context".into(), context.clone());
                }
            }
            _ => {}
        }
    }
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if ld {
            "application/ld+json"
        } else {
            "application/json"
        }),
    );
    if !ld {
        let link = format!(
            "<{CORE_CONTEXT}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\""
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, value);
        }
    }
    response
}

fn device_code(id: &str) -> NgsiResult<&str> {
    id.strip_prefix(DEVICE_PREFIX)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            Problem(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                format!("no entity {id}"),
            )
        })
}

async fn get_entity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> NgsiResult<Response> {
    let view = state.services.device(&actor, device_code(&id)?).await?;
    Ok(respond(StatusCode::OK, &headers, device_entity(&view)))
}

/// One `q` term.
#[derive(Debug, Clone, PartialEq)]
struct Term {
    attr: String,
    op: &'static str,
    value: String,
}

fn parse_q(q: &str) -> NgsiResult<Vec<Term>> {
    if q.len() > 1000 {
        return Err(bad("q is too long"));
    }
    let mut terms = Vec::new();
    for part in q.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let op = ["==", "!=", ">=", "<=", ">", "<"]
            .into_iter()
            .find(|op| part.contains(op))
            .ok_or_else(|| bad(format!("q term without an operator: {part}")))?;
        let (attr, value) = part.split_once(op).expect("found above");
        let attr = attr.trim();
        if !matches!(attr, "value" | "deviceState" | "deviceType" | "name") {
            return Err(bad(format!("q cannot filter on {attr}")));
        }
        terms.push(Term {
            attr: attr.to_owned(),
            op,
            value: value.trim().trim_matches('"').to_owned(),
        });
    }
    Ok(terms)
}

fn matches(entity: &Value, terms: &[Term]) -> bool {
    terms.iter().all(|term| {
        let Some(have) = entity.get(&term.attr).and_then(|p| p.get("value")) else {
            return false;
        };
        let ordering = match (have.as_f64(), term.value.parse::<f64>()) {
            (Some(a), Ok(b)) => a.partial_cmp(&b),
            _ => have.as_str().map(|a| a.cmp(term.value.as_str())),
        };
        let Some(ordering) = ordering else {
            return false;
        };
        use std::cmp::Ordering::*;
        match term.op {
            "==" => ordering == Equal,
            "!=" => ordering != Equal,
            ">" => ordering == Greater,
            ">=" => ordering != Less,
            "<" => ordering == Less,
            _ => ordering != Greater,
        }
    })
}

/// Metres between two WGS84 points (haversine).
fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lon1, lat1, lon2, lat2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

/// `georel=near;maxDistance==M` (or `minDistance`) around `coordinates=[lon,lat]`.
fn parse_geo(
    params: &HashMap<String, String>,
) -> NgsiResult<Option<((f64, f64), Option<f64>, Option<f64>)>> {
    let Some(georel) = params.get("georel") else {
        return Ok(None);
    };
    let mut parts = georel.split(';');
    if parts.next() != Some("near") {
        return Err(bad("only georel=near is supported"));
    }
    let (mut max, mut min) = (None, None);
    for part in parts {
        let (key, value) = part
            .split_once("==")
            .ok_or_else(|| bad("georel: expected maxDistance==M"))?;
        let metres: f64 = value
            .parse()
            .map_err(|_| bad("georel: distance is not a number"))?;
        if !metres.is_finite() || metres < 0.0 {
            return Err(bad("georel: distance must be positive"));
        }
        match key {
            "maxDistance" => max = Some(metres),
            "minDistance" => min = Some(metres),
            _ => return Err(bad(format!("georel: unknown {key}"))),
        }
    }
    if params.get("geometry").map(String::as_str) != Some("Point") {
        return Err(bad("geometry must be Point"));
    }
    let coordinates: Vec<f64> = params
        .get("coordinates")
        .and_then(|c| serde_json::from_str(c).ok())
        .ok_or_else(|| bad("coordinates must be [lon,lat]"))?;
    let [lon, lat] = coordinates[..] else {
        return Err(bad("coordinates must be [lon,lat]"));
    };
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(bad("coordinates out of range"));
    }
    Ok(Some(((lon, lat), max, min)))
}

async fn query_entities(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> NgsiResult<Response> {
    let types: Vec<&str> = params
        .get("type")
        .map(|t| t.split(',').collect())
        .unwrap_or_default();
    let ids: Vec<&str> = params
        .get("id")
        .map(|t| t.split(',').collect())
        .unwrap_or_default();
    if types.is_empty()
        && ids.is_empty()
        && !params.contains_key("q")
        && !params.contains_key("georel")
    {
        return Err(bad("a query needs type, id, q or georel"));
    }
    let terms = parse_q(params.get("q").map(String::as_str).unwrap_or(""))?;
    let geo = parse_geo(&params)?;
    let limit: usize = match params.get("limit") {
        Some(l) => l.parse().map_err(|_| bad("limit is not a number"))?,
        None => 20,
    };
    if limit > QUERY_LIMIT_MAX {
        return Err(Problem(
            StatusCode::FORBIDDEN,
            "TooManyResults",
            format!("limit at most {QUERY_LIMIT_MAX}"),
        ));
    }
    let offset: usize = match params.get("offset") {
        Some(o) => o.parse().map_err(|_| bad("offset is not a number"))?,
        None => 0,
    };
    let mut found: Vec<(f64, Value)> = Vec::new();
    if types.is_empty() || types.contains(&"Device") {
        for view in state.services.devices(&actor, None, 10_000).await? {
            let entity = device_entity(&view);
            if !ids.is_empty() && !ids.contains(&entity["id"].as_str().unwrap_or("")) {
                continue;
            }
            if !matches(&entity, &terms) {
                continue;
            }
            let mut distance = 0.0;
            if let Some((point, max, min)) = geo {
                distance = distance_m(point, (view.device.lon, view.device.lat));
                if max.is_some_and(|m| distance > m) || min.is_some_and(|m| distance < m) {
                    continue;
                }
            }
            found.push((distance, entity));
        }
    }
    if geo.is_some() {
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let total = found.len();
    let page: Vec<Value> = found
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(_, e)| e)
        .collect();
    let mut response = respond(StatusCode::OK, &headers, Value::Array(page));
    if params.get("count").map(String::as_str) == Some("true") {
        response
            .headers_mut()
            .insert("NGSILD-Results-Count", HeaderValue::from(total));
    }
    Ok(response)
}

fn property<'v>(body: &'v Value, name: &str) -> Option<&'v Value> {
    body.get(name).map(|p| p.get("value").unwrap_or(p))
}

fn point(body: &Value) -> NgsiResult<Option<(f64, f64)>> {
    let Some(location) = property(body, "location") else {
        return Ok(None);
    };
    match (
        location["type"].as_str(),
        location["coordinates"][0].as_f64(),
        location["coordinates"][1].as_f64(),
    ) {
        (Some("Point"), Some(lon), Some(lat)) => Ok(Some((lon, lat))),
        _ => Err(bad("location must be a GeoJSON Point")),
    }
}

fn asset_of(body: &Value) -> Option<String> {
    let object = body.get("refAsset")?;
    let object = object.get("object").unwrap_or(object).as_str()?;
    Some(
        object
            .strip_prefix(ASSET_PREFIX)
            .unwrap_or(object)
            .to_owned(),
    )
}

async fn create_entity(
    State(state): State<AppState>,
    Auth(actor): Auth,
    body: axum::body::Bytes,
) -> NgsiResult<Response> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| Problem(StatusCode::BAD_REQUEST, "InvalidRequest", e.to_string()))?;
    if body["type"].as_str() != Some("Device") {
        return Err(bad("only entities of type Device can be created"));
    }
    let id = body["id"].as_str().ok_or_else(|| bad("id is required"))?;
    let code = device_code(id).map_err(|_| bad(format!("id must start with {DEVICE_PREFIX}")))?;
    let (lon, lat) = point(&body)?.ok_or_else(|| bad("location is required"))?;
    if state.services.device(&actor, code).await.is_ok() {
        return Err(Problem(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{id} exists"),
        ));
    }
    let input = DeviceInput {
        code: code.to_owned(),
        type_code: property(&body, "deviceType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        name: property(&body, "name")
            .and_then(Value::as_str)
            .unwrap_or(code)
            .to_owned(),
        lat,
        lon,
        asset_id: asset_of(&body),
        area_code: None,
    };
    register(&state.services, &actor, input).await?;
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/ngsi-ld/v1/entities/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn register(
    services: &Services,
    actor: &urbis_domain::role::Actor,
    input: DeviceInput,
) -> NgsiResult<()> {
    let report = services.import_devices(actor, &[input]).await?;
    match report.problems.first() {
        Some(problem) => Err(bad(problem.clone())),
        None => Ok(()),
    }
}

async fn patch_attrs(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> NgsiResult<Response> {
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| Problem(StatusCode::BAD_REQUEST, "InvalidRequest", e.to_string()))?;
    let Some(attrs) = body.as_object() else {
        return Err(bad("attributes must be an object"));
    };
    if let Some(other) = attrs
        .keys()
        .find(|k| !matches!(k.as_str(), "name" | "location" | "refAsset" | "@context"))
    {
        return Err(bad(format!(
            "{other} cannot be updated (name, location, refAsset can)"
        )));
    }
    let view = state.services.device(&actor, device_code(&id)?).await?;
    let d = &view.device;
    let (lon, lat) = point(&body)?.unwrap_or((d.lon, d.lat));
    let input = DeviceInput {
        code: d.code.clone(),
        type_code: d.type_code.clone(),
        name: property(&body, "name")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| d.name.clone()),
        lat,
        lon,
        asset_id: if attrs.contains_key("refAsset") {
            asset_of(&body)
        } else {
            d.asset_id.clone()
        },
        area_code: None,
    };
    register(&state.services, &actor, input).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_subscriptions(
    State(state): State<AppState>,
    Auth(actor): Auth,
    headers: HeaderMap,
) -> NgsiResult<Response> {
    urbis_service::sensors::require_sensor_reader(&actor)?;
    let all = state.services.ngsild_subscriptions().await?;
    Ok(respond(StatusCode::OK, &headers, all))
}

async fn get_subscription(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> NgsiResult<Response> {
    urbis_service::sensors::require_sensor_reader(&actor)?;
    let all = state.services.ngsild_subscriptions().await?;
    let found = all
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == id.as_str()))
        .cloned();
    let found = found.ok_or_else(|| {
        Problem(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("no subscription {id}"),
        )
    })?;
    Ok(respond(StatusCode::OK, &headers, found))
}

async fn create_subscription(
    State(state): State<AppState>,
    Auth(actor): Auth,
    body: axum::body::Bytes,
) -> NgsiResult<Response> {
    let mut body: Value = serde_json::from_slice(&body)
        .map_err(|e| Problem(StatusCode::BAD_REQUEST, "InvalidRequest", e.to_string()))?;
    if body["type"].as_str() != Some("Subscription") {
        return Err(bad("type must be Subscription"));
    }
    let uri = body["notification"]["endpoint"]["uri"]
        .as_str()
        .unwrap_or("");
    if !(uri.starts_with("http://") || uri.starts_with("https://")) || uri.len() > 500 {
        return Err(bad("notification.endpoint.uri must be an http(s) URL"));
    }
    parse_q(body["q"].as_str().unwrap_or(""))?;
    let mut all: Vec<Value> = state
        .services
        .ngsild_subscriptions()
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default();
    let id = match body["id"].as_str() {
        Some(id) => id.to_owned(),
        None => format!(
            "urn:ngsi-ld:Subscription:{}",
            chrono::Utc::now().timestamp_micros()
        ),
    };
    if all.iter().any(|s| s["id"] == id.as_str()) {
        return Err(Problem(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{id} exists"),
        ));
    }
    body["id"] = json!(id);
    if let Some(map) = body.as_object_mut() {
        map.remove("@context");
    }
    all.push(body);
    state
        .services
        .save_ngsild_subscriptions(&actor, &all, "ngsild_subscription_created")
        .await?;
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/ngsi-ld/v1/subscriptions/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn delete_subscription(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> NgsiResult<Response> {
    let mut all: Vec<Value> = state
        .services
        .ngsild_subscriptions()
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default();
    let before = all.len();
    all.retain(|s| s["id"] != id.as_str());
    if all.len() == before {
        return Err(Problem(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("no subscription {id}"),
        ));
    }
    state
        .services
        .save_ngsild_subscriptions(&actor, &all, "ngsild_subscription_deleted")
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Whether a subscription watches an entity.
fn watches(subscription: &Value, entity: &Value) -> bool {
    let entities = subscription["entities"].as_array();
    let typed = entities.is_none_or(|list| {
        list.iter().any(|e| {
            e["type"].as_str().is_none_or(|t| t == "Device")
                && e["id"]
                    .as_str()
                    .is_none_or(|id| Some(id) == entity["id"].as_str())
        })
    });
    let terms = parse_q(subscription["q"].as_str().unwrap_or("")).unwrap_or_default();
    typed && matches(entity, &terms)
}

/// Sends notifications: after each committed ingest batch, every subscription watching a changed
/// device gets a POST of the entity to its endpoint (best effort, logged on failure). Ends when
/// the services stop.
pub fn spawn_notifier(services: Services) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut changes = services.device_changes();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        let stopping = services.stopping();
        tokio::pin!(stopping);
        let system = urbis_domain::role::Actor {
            user_id: urbis_domain::ids::UserId(0),
            username: "ngsi-ld".into(),
            role: urbis_domain::role::Role::Admin,
            area_scope: None,
            dept_id: None,
        };
        loop {
            let codes = tokio::select! {
                changed = changes.recv() => match changed {
                    Ok(codes) => codes,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                },
                _ = &mut stopping => break,
            };
            let Ok(all) = services.ngsild_subscriptions().await else {
                continue;
            };
            let Some(subscriptions) = all.as_array().filter(|a| !a.is_empty()) else {
                continue;
            };
            for code in codes.iter() {
                let Ok(view) = services.device(&system, code).await else {
                    continue;
                };
                let entity = device_entity(&view);
                for subscription in subscriptions.iter().filter(|s| watches(s, &entity)) {
                    let uri = subscription["notification"]["endpoint"]["uri"]
                        .as_str()
                        .unwrap_or("");
                    let notification = json!({
                        "id": format!("urn:ngsi-ld:Notification:{}", chrono::Utc::now().timestamp_micros()),
                        "type": "Notification",
                        "subscriptionId": subscription["id"],
                        "notifiedAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        "data": [entity],
                    });
                    if let Err(err) = http.post(uri).json(&notification).send().await {
                        tracing::warn!(error = %err, uri, "ngsi-ld notification failed");
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_terms_and_distance() {
        let entity = json!({"value": {"type": "Property", "value": 80.0}, "deviceState": {"type": "Property", "value": "alarm"}});
        assert!(matches(
            &entity,
            &parse_q("value>75;deviceState==\"alarm\"").unwrap()
        ));
        assert!(!matches(&entity, &parse_q("value<=75").unwrap()));
        assert!(parse_q("secret==1").is_err());
        let d = distance_m((116.3, 39.9), (116.3, 39.91));
        assert!((d - 1112.0).abs() < 5.0, "{d}");
    }
}
