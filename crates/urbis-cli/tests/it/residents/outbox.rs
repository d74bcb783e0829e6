//! The outbox: each event delivered once per chosen channel, a failing webhook retried with
//! back-off, an opted-out resident told nothing, and a resident joining an open report nearby.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_service::Clock;
use urbis_service::residents::Adapter;
use urbis_test_support::TestApp;

use super::{deliver, sign_up, sink, start_time};

struct Gateway {
    calls: AtomicUsize,
    failures: usize,
    keys: std::sync::Mutex<Vec<String>>,
}

async fn start_gateway(failures: usize) -> (String, Arc<Gateway>) {
    let gateway = Arc::new(Gateway {
        calls: AtomicUsize::new(0),
        failures,
        keys: std::sync::Mutex::new(Vec::new()),
    });
    let state = gateway.clone();
    let router = axum::Router::new().route(
        "/send",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let state = state.clone();
            async move {
                let n = state.calls.fetch_add(1, Ordering::SeqCst);
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                state.keys.lock().expect("keys").push(key);
                if n < state.failures {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("gateway");
    });
    (format!("http://{addr}/send"), gateway)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_delivers_each_event_once_and_retries_a_failing_adapter() {
    let (url, gateway) = start_gateway(2).await;
    let start = start_time();
    let clock = Clock::manual(start);
    let app = TestApp::start_with(clock.clone(), move |c| {
        c.residents
            .adapters
            .insert("email".into(), Adapter::Webhook { url });
    })
    .await;
    let f = app.fixture.clone();
    let phone = "13900006666";
    let token = sign_up(&app, phone).await;
    let (status, body) = app
        .send(
            Some(&token),
            Method::PUT,
            "/api/v1/me/profile",
            Some(json!({"opted_out": false, "channels": [
                {"channel": "sms", "address": phone},
                {"channel": "email", "address": "li@example.org"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["channels"].as_array().map(Vec::len), Some(2));
    let (status, body) = app
        .send(
            Some(&token),
            Method::POST,
            "/api/v1/appeals",
            Some(json!({"text": "小区门口路灯不亮已经一周了", "area_id": f.grid_a, "category_id": f.category})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let case_id = body["case_id"].as_i64().expect("case");
    // SMS goes to the sink; the e-mail gateway fails twice, backing off 30 s then 60 s.
    assert_eq!(deliver(&app).await, (1, 1, 0));
    assert_eq!(deliver(&app).await, (0, 0, 0), "nothing is due yet");
    clock.set(start + Duration::seconds(31));
    assert_eq!(deliver(&app).await, (0, 1, 0));
    clock.set(start + Duration::seconds(61));
    assert_eq!(deliver(&app).await, (0, 0, 0), "the second wait is longer");
    clock.set(start + Duration::seconds(92));
    assert_eq!(deliver(&app).await, (1, 0, 0));
    assert_eq!(deliver(&app).await, (0, 0, 0));
    assert_eq!(gateway.calls.load(Ordering::SeqCst), 3);
    let keys = gateway.keys.lock().expect("keys").clone();
    assert!(
        keys.iter().all(|k| k == &keys[0] && !k.is_empty()),
        "{keys:?}"
    );
    // The resident sees their messages with the delivery log.
    let (status, mine) = app
        .send(Some(&token), Method::GET, "/api/v1/notify/outbox", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let email = mine
        .as_array()
        .expect("outbox")
        .iter()
        .find(|m| m["channel"] == "email" && m["kind"] == "received")
        .expect("email message")
        .clone();
    assert_eq!(email["state"], "sent");
    let log: Vec<bool> = email["deliveries"]
        .as_array()
        .expect("log")
        .iter()
        .map(|d| d["ok"].as_bool().expect("ok"))
        .collect();
    assert_eq!(log, vec![false, false, true]);
    // Progress: registering says nothing to the resident, dispatching does — once.
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    let (status, body) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(deliver(&app).await, (2, 0, 0));
    assert_eq!(deliver(&app).await, (0, 0, 0));
    let kinds: Vec<String> = sink(&app, phone)
        .await
        .iter()
        .map(|m| m["kind"].as_str().expect("kind").to_owned())
        .collect();
    assert_eq!(kinds, vec!["otp", "received", "progress"]);
    assert_eq!(gateway.calls.load(Ordering::SeqCst), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_out_resident_gets_nothing() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let phone = "13900007777";
    let token = sign_up(&app, phone).await;
    let (status, body) = app
        .send(
            Some(&token),
            Method::PUT,
            "/api/v1/me/profile",
            Some(json!({"opted_out": true, "channels": [{"channel": "sms", "address": phone}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["opted_out"], true);
    let (status, body) = app
        .send(
            Some(&token),
            Method::POST,
            "/api/v1/appeals",
            Some(json!({"text": "楼下餐馆油烟很大影响居民生活", "area_id": f.grid_a, "category_id": f.category})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let case_id = body["case_id"].as_i64().expect("case");
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    let (status, _) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deliver(&app).await, (0, 0, 0));
    let kinds: Vec<Value> = sink(&app, phone)
        .await
        .iter()
        .map(|m| m["kind"].clone())
        .collect();
    assert_eq!(kinds, vec![json!("otp")]);
    let (_, mine) = app
        .send(Some(&token), Method::GET, "/api/v1/notify/outbox", None)
        .await;
    assert_eq!(mine, json!([]));
    // Bad settings are refused with their codes.
    let (status, body) = app
        .send(
            Some(&token),
            Method::PUT,
            "/api/v1/me/profile",
            Some(json!({"opted_out": false, "channels": [{"channel": "fax", "address": "1"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_channel");
    let fixture_resident = app.token("resident").await;
    let (status, body) = app
        .send(
            Some(&fixture_resident),
            Method::PUT,
            "/api/v1/me/profile",
            Some(json!({"opted_out": false, "channels": []})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "phone_not_verified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_joins_a_nearby_open_report_and_hears_its_progress() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let (status, filed) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"title": "井盖破损 联系13812345678", "text": "人民路口井盖破损，有人差点摔倒", "area_id": f.grid_a,
                   "category_id": f.category, "reporter_name": "张三", "reporter_phone": "13812345678"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let case_id = filed["case_id"].as_i64().expect("case");
    let (status, reports) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/public/reports?area_id={}&open=true", f.grid_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reports}");
    let report = reports
        .as_array()
        .expect("reports")
        .iter()
        .find(|r| r["id"] == case_id)
        .expect("the open report nearby")
        .clone();
    assert_eq!(report["status"], "open");
    let shown = report.to_string();
    assert!(
        !shown.contains("13812345678") && !shown.contains("张三"),
        "{shown}"
    );
    // Reports of the other district are not "nearby".
    let (_, elsewhere) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/public/reports?area_id={}", f.grid_b),
            None,
        )
        .await;
    assert!(
        elsewhere
            .as_array()
            .expect("list")
            .iter()
            .all(|r| r["id"] != case_id)
    );

    let phone = "13900009999";
    let token = sign_up(&app, phone).await;
    let join = format!("/api/v1/cases/{case_id}/join");
    let (status, body) = app.send(Some(&token), Method::POST, &join, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = app.send(Some(&token), Method::POST, &join, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "already_joined");
    let (status, _) = app.post("operator", &join, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    let (status, _) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    deliver(&app).await;
    let kinds: Vec<Value> = sink(&app, phone)
        .await
        .iter()
        .map(|m| m["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![json!("otp"), json!("merged"), json!("progress")]
    );
    // The public page: dated steps in plain words, nothing personal.
    let number = filed["number"].as_str().expect("number");
    let (status, timeline) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/public/cases/{number}/timeline"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    let steps: Vec<&str> = timeline["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["summary"].as_str().expect("summary"))
        .collect();
    assert_eq!(steps.len(), 3, "{timeline}");
    assert!(
        steps[0].starts_with("诉求已受理") && steps[2].starts_with("已派遣"),
        "{steps:?}"
    );
    assert_eq!(timeline["status"], "open");
    assert!(!timeline.to_string().contains("13812345678"), "{timeline}");
}
