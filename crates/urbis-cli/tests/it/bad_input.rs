//! Bad input gets a clear error with a stable code, and nothing already stored is harmed.

use reqwest::{Method, StatusCode};
use serde_json::json;
use urbis_test_support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_stable_codes_and_harms_nothing() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal("operator", f.grid_a, f.category, "原始诉求")
        .await;
    let token = app.token("operator").await;
    let long_text = "字".repeat(5_001);
    let cases: Vec<(serde_json::Value, StatusCode, &str)> = vec![
        (
            json!({"text": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"text": long_text}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"text": "x", "lat": 91.0, "lon": 0.0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"text": "x", "lat": 30.0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"text": "x", "channel": "pigeon"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"text": "x", "reporter_phone": "call me"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            json!({"text": "x", "area_id": 999_999}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_area",
        ),
        (
            json!({"text": "x", "category_id": 999_999}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_category",
        ),
        (
            json!({"text": "x", "surprise": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            json!({"title": "no text"}),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
    ];
    for (body, status, code) in cases {
        let (got, response) = app
            .send(
                Some(&token),
                Method::POST,
                "/api/v1/appeals",
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (got, response["code"].as_str()),
            (status, Some(code)),
            "{body}: {response}"
        );
        assert!(response["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Not JSON, too big, wrong content type.
    let response = app
        .http
        .post(format!("{}/api/v1/appeals", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app
        .http
        .post(format!("{}/api/v1/appeals", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 300 * 1024])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = app
        .http
        .post(format!("{}/api/v1/appeals", app.base))
        .bearer_auth(&token)
        .body("text=x")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = app
        .http
        .post(format!("{}/api/v1/appeals", app.base))
        .bearer_auth(&token)
        .header("Idempotency-Key", "k".repeat(200))
        .json(&json!({"text": "x"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Workflow input.
    let (s, b) = app
        .act("shiftlead", case_id, json!({"action": "fly"}))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    let (s, b) = app
        .act("shiftlead", case_id, json!({"action": "close"}))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::CONFLICT, Some("illegal_transition"))
    );
    let (s, b) = app
        .act(
            "shiftlead",
            case_id,
            json!({"action": "void", "reason": " "}),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("text_required"))
    );
    let (s, b) = app
        .act("shiftlead", 424_242, json!({"action": "register"}))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, b) = app.get("operator", "/api/v1/cases?limit=100000").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_limit"))
    );
    let (s, b) = app.get("operator", "/api/v1/cases?state=flying").await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_state"))
    );
    let (s, b) = app
        .get("leader", "/api/v1/stats/summary?from=yesterday")
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_period"))
    );
    let (s, b) = app
        .send(
            None,
            Method::POST,
            "/api/v1/auth/login",
            Some(json!({"username": "operator", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials"))
    );
    let (s, b) = app
        .send(Some("not-a-token"), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let (s, b) = app.send(None, Method::GET, "/api/v1/nowhere", None).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // Nothing stored was harmed: still one case, unchanged, and the chain holds.
    let (_, list) = app.get("operator", "/api/v1/cases").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["text"], "原始诉求");
    assert_eq!(list[0]["state"], "received");
    let report = urbis_service::audit::verify_chain(app.services.db())
        .await
        .expect("verify");
    assert!(report.first_break.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_returns_the_first_case() {
    let app = TestApp::start().await;
    let token = app.token("operator").await;
    let send = || async {
        let response = app
            .http
            .post(format!("{}/api/v1/appeals", app.base))
            .bearer_auth(&token)
            .header("Idempotency-Key", "call-42")
            .json(&json!({"text": "同一通来电"}))
            .send()
            .await
            .expect("send");
        let status = response.status();
        (
            status,
            response.json::<serde_json::Value>().await.expect("json"),
        )
    };
    let (s1, b1) = send().await;
    let (s2, b2) = send().await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(b1["case_id"], b2["case_id"]);
    assert_eq!(b2["created"], false);
    // The same key from another user is a different appeal.
    let other = app.token("shiftlead").await;
    let response = app
        .http
        .post(format!("{}/api/v1/appeals", app.base))
        .bearer_auth(&other)
        .header("Idempotency-Key", "call-42")
        .json(&json!({"text": "另一通来电", "channel": "hotline"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_health_and_metrics_are_served() {
    let app = TestApp::start().await;
    let (s, doc) = app
        .send(None, Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/api/v1/appeals",
        "/api/v1/cases/{id}/actions",
        "/api/v1/stats/summary",
        "/api/v1/auth/login",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    assert_eq!(
        app.send(None, Method::GET, "/healthz", None).await.0,
        StatusCode::OK
    );
    app.file_appeal("operator", app.fixture.grid_a, app.fixture.category, "指标")
        .await;
    let text = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(text.contains("urbis_appeals_received_total"), "{text}");
}
