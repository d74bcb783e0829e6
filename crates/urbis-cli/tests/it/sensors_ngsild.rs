//! The NGSI-LD subset at `/ngsi-ld/v1` over the sensor registry: entities created, retrieved,
//! queried by type, `q` and near a point, attributes updated, and a subscription notified over
//! HTTP when MQTT readings change a watched device.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_test_support::TestApp;

use crate::sensors::{
    broker_up, eventually, forget_session, publish, reading, registry, settled, start, subscribed,
    unique,
};

async fn ngsi(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let token = app.token("admin").await;
    let mut request = app
        .http
        .request(method, format!("{}/ngsi-ld/v1{path}", app.base))
        .bearer_auth(token)
        .header("accept", "application/ld+json");
    if let Some(body) = body {
        request = request
            .header("content-type", "application/ld+json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// A local endpoint that keeps the notifications it receives.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/notify",
        axum::routing::post(move |body: axum::Json<Value>| {
            let kept = kept.clone();
            async move {
                kept.lock().expect("lock").push(body.0);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}/notify"), got)
}

fn ids(list: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["id"].as_str().expect("id"))
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn ngsi_ld_entities_queries_and_subscriptions() {
    if !broker_up().await {
        return;
    }
    let app = TestApp::start().await;
    registry(&app, json!({"high": 100.0}), &["N1", "N2"]).await;
    use reqwest::Method;
    // Create a third device far away through NGSI-LD.
    let far = json!({"id": "urn:ngsi-ld:Device:N3", "type": "Device",
        "deviceType": {"type": "Property", "value": "manhole_tilt"},
        "name": {"type": "Property", "value": "远处传感器"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [116.5, 40.0]}}});
    let (status, headers, body) = ngsi(&app, Method::POST, "/entities/", Some(far.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        headers["location"],
        "/ngsi-ld/v1/entities/urn:ngsi-ld:Device:N3"
    );
    let (status, _, body) = ngsi(&app, Method::POST, "/entities", Some(far)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["type"],
        "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists"
    );

    let (notify_uri, notifications) = receiver().await;
    let (status, _, body) = ngsi(
        &app,
        Method::POST,
        "/subscriptions",
        Some(
            json!({"type": "Subscription", "entities": [{"type": "Device"}], "q": "value>20",
            "notification": {"endpoint": {"uri": notify_uri, "accept": "application/json"}}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, _, subs) = ngsi(&app, Method::GET, "/subscriptions", None).await;
    assert_eq!(subs.as_array().expect("list").len(), 1, "{subs}");

    let (client_id, prefix) = (unique("urbis-it"), format!("it/{}", unique("ngsild")));
    let ingest = start(&app, &client_id, &prefix).await;
    let notifier = urbis_http::spawn_ngsild_notifier(app.services.clone());
    subscribed(&app, &prefix).await;
    publish(
        &prefix,
        &[("N1", reading(25.0, "deg")), ("N2", reading(5.0, "deg"))],
    )
    .await;
    settled(&app, "N1", 25.0).await;
    settled(&app, "N2", 5.0).await;

    let (status, _, n1) = ngsi(&app, Method::GET, "/entities/urn:ngsi-ld:Device:N1", None).await;
    assert_eq!(status, StatusCode::OK, "{n1}");
    assert_eq!(n1["type"], "Device");
    assert!(n1["@context"].is_string(), "{n1}");
    assert_eq!(
        (
            n1["value"]["value"].as_f64(),
            n1["value"]["unitCode"].as_str()
        ),
        (Some(25.0), Some("deg")),
        "{n1}"
    );
    assert!(n1["value"]["observedAt"].is_string());
    assert_eq!(
        n1["location"]["value"]["coordinates"],
        json!([116.302, 39.904])
    );
    assert_eq!(
        n1["refAsset"]["object"],
        "urn:ngsi-ld:Asset:9901010101000001"
    );

    let (_, headers, all) = ngsi(&app, Method::GET, "/entities?type=Device&count=true", None).await;
    assert_eq!(
        ids(&all),
        [
            "urn:ngsi-ld:Device:N1",
            "urn:ngsi-ld:Device:N2",
            "urn:ngsi-ld:Device:N3"
        ]
    );
    assert_eq!(headers["ngsild-results-count"], "3");
    let (_, _, hot) = ngsi(
        &app,
        Method::GET,
        "/entities?type=Device&q=value%3E20",
        None,
    )
    .await;
    assert_eq!(ids(&hot), ["urn:ngsi-ld:Device:N1"]);
    let (_, _, near) = ngsi(
        &app,
        Method::GET,
        "/entities?type=Device&georel=near%3BmaxDistance%3D%3D1000&geometry=Point&coordinates=%5B116.302%2C39.905%5D",
        None,
    )
    .await;
    assert_eq!(
        ids(&near),
        ["urn:ngsi-ld:Device:N1", "urn:ngsi-ld:Device:N2"]
    );
    let (status, _, problem) = ngsi(
        &app,
        Method::GET,
        "/entities?type=Device&q=password%3D%3D1",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");

    // Only N1 (value > 20) is notified.
    let got = eventually("a notification", || async {
        let got = notifications.lock().expect("lock").clone();
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(got[0]["type"], "Notification");
    assert_eq!(got[0]["data"][0]["id"], "urn:ngsi-ld:Device:N1");
    assert!(
        got.iter()
            .all(|n| n["data"][0]["id"] != "urn:ngsi-ld:Device:N2"),
        "{got:?}"
    );

    // Attributes update; unknown ones are refused.
    let (status, _, body) = ngsi(
        &app,
        Method::PATCH,
        "/entities/urn:ngsi-ld:Device:N2/attrs",
        Some(json!({"name": {"type": "Property", "value": "二号井盖"}})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, _, n2) = ngsi(&app, Method::GET, "/entities/urn:ngsi-ld:Device:N2", None).await;
    assert_eq!(n2["name"]["value"], "二号井盖");
    let (status, _, _) = ngsi(
        &app,
        Method::PATCH,
        "/entities/urn:ngsi-ld:Device:N2/attrs",
        Some(json!({"value": {"type": "Property", "value": 1}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, problem) =
        ngsi(&app, Method::GET, "/entities/urn:ngsi-ld:Device:NOPE", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        problem["type"],
        "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"
    );
    let anonymous = app
        .http
        .get(format!("{}/ngsi-ld/v1/entities?type=Device", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let sub_id = subs[0]["id"].as_str().expect("id").to_owned();
    let (status, _, _) = ngsi(
        &app,
        Method::DELETE,
        &format!("/subscriptions/{sub_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    notifier.abort();
    ingest.stop().await;
    forget_session(&client_id).await;
}
