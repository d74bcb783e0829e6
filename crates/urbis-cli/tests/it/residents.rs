//! Residents in the loop (issue 21) over HTTP: sign-up with a code read from the local sink,
//! wrong and expired codes, the per-phone and per-client code limits, the outbox delivering each
//! event once and retrying a failing webhook with back-off, opting out, one-stop answers from the
//! knowledge base, and a community proposal from supports to a tracked case.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_service::Clock;
use urbis_service::residents::Adapter;
use urbis_test_support::TestApp;

/// Runs one delivery round as the admin and returns (sent, retried, failed).
async fn deliver(app: &TestApp) -> (u64, u64, u64) {
    let (status, body) = app.post("admin", "/api/v1/notify/deliver", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["sent"].as_u64().expect("sent"),
        body["retried"].as_u64().expect("retried"),
        body["failed"].as_u64().expect("failed"),
    )
}

/// The sink's messages to an address, oldest first.
async fn sink(app: &TestApp, address: &str) -> Vec<Value> {
    let (status, body) = app
        .get("admin", &format!("/api/v1/notify/sink?address={address}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut rows = body.as_array().expect("sink").clone();
    rows.reverse();
    rows
}

/// The six-digit code in a message body.
fn code_in(body: &str) -> String {
    let digits: Vec<char> = body.chars().collect();
    digits
        .windows(6)
        .find(|w| w.iter().all(char::is_ascii_digit))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {body}"))
}

async fn request_code(app: &TestApp, phone: &str) -> (StatusCode, Value) {
    app.send(
        None,
        Method::POST,
        "/api/v1/auth/code",
        Some(json!({ "phone": phone })),
    )
    .await
}

async fn verify(app: &TestApp, phone: &str, code: &str) -> (StatusCode, Value) {
    app.send(
        None,
        Method::POST,
        "/api/v1/auth/code/verify",
        Some(json!({ "phone": phone, "code": code })),
    )
    .await
}

/// Signs a new resident up with the code the sink received and returns their token.
async fn sign_up(app: &TestApp, phone: &str) -> String {
    let (status, body) = request_code(app, phone).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    deliver(app).await;
    let messages = sink(app, phone).await;
    let last = messages
        .iter()
        .rev()
        .find(|m| m["kind"] == "otp")
        .unwrap_or_else(|| panic!("no code in the sink for {phone}: {messages:?}"));
    let code = code_in(last["body"].as_str().expect("body"));
    let (status, body) = verify(app, phone, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["role"], "resident");
    body["token"].as_str().expect("token").to_owned()
}

fn start_time() -> DateTime<Utc> {
    Utc::now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_signs_up_with_a_code_from_the_sink_and_bad_codes_are_refused() {
    let start = start_time();
    let clock = Clock::manual(start);
    let app = TestApp::start_with(clock.clone(), |_| {}).await;
    let phone = "13900001111";
    let (status, body) = request_code(&app, "12345").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_phone");

    let (status, body) = request_code(&app, phone).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(deliver(&app).await, (1, 0, 0));
    let messages = sink(&app, phone).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let code = code_in(messages[0]["body"].as_str().expect("body"));
    // A wrong code is refused and the right one still works.
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (status, body) = verify(&app, phone, wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "otp_invalid");
    let (status, body) = verify(&app, phone, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let (status, me) = app
        .send(Some(&token), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["role"], "resident");
    assert!(
        !me["username"].as_str().expect("username").contains("1111"),
        "{me}"
    );
    // A used code does not log in twice.
    let (status, body) = verify(&app, phone, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // The outbox no longer holds the code once delivered; the code table holds only hashes.
    let (status, outbox) = app.get("admin", "/api/v1/notify/outbox").await;
    assert_eq!(status, StatusCode::OK, "{outbox}");
    let otp = outbox
        .as_array()
        .expect("outbox")
        .iter()
        .find(|m| m["kind"] == "otp")
        .expect("otp row");
    assert_eq!(otp["state"], "sent");
    assert!(!otp["body"].as_str().expect("body").contains(&code));
    let hashes: Vec<String> = urbis_storage::sql::query("SELECT code_hash FROM otp_codes")
        .scalars(&mut app.services.db().read().await.expect("read"))
        .await
        .expect("codes");
    assert!(hashes.iter().all(|h| !h.contains(&code)));
    let stored: Vec<String> =
        urbis_storage::sql::query("SELECT body FROM outbox WHERE kind = 'otp' AND state = 'sent'")
            .scalars(&mut app.services.db().read().await.expect("read"))
            .await
            .expect("outbox");
    assert!(
        !stored.is_empty() && stored.iter().all(|b| !b.contains(&code)),
        "{stored:?}"
    );
    // The same phone logs in again to the same account.
    let again = sign_up(&app, phone).await;
    let (_, me_again) = app
        .send(Some(&again), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(me_again["user_id"], me["user_id"]);

    // An expired code is refused.
    let other = "13900002222";
    let (status, _) = request_code(&app, other).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    deliver(&app).await;
    let code = code_in(sink(&app, other).await[0]["body"].as_str().expect("body"));
    clock.set(start + Duration::minutes(6));
    let (status, body) = verify(&app, other, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "otp_expired");
    // Too many wrong entries kill a code even before it expires.
    let (status, _) = request_code(&app, other).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    deliver(&app).await;
    let code = code_in(
        sink(&app, other).await.last().expect("second code")["body"]
            .as_str()
            .expect("body"),
    );
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for _ in 0..5 {
        assert_eq!(verify(&app, other, wrong).await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = verify(&app, other, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "otp_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_requests_are_limited_per_phone_and_per_client() {
    let start = start_time();
    let clock = Clock::manual(start);
    let app = TestApp::start_with(clock.clone(), |c| {
        c.residents.codes_per_phone = 3;
        c.residents.codes_per_client = 5;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            request_code(&app, "13900003333").await.0,
            StatusCode::ACCEPTED
        );
    }
    let (status, body) = request_code(&app, "13900003333").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "otp_phone_limited");
    for _ in 0..2 {
        assert_eq!(
            request_code(&app, "13900004444").await.0,
            StatusCode::ACCEPTED
        );
    }
    let (status, body) = request_code(&app, "13900005555").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "otp_client_limited");
    // Only the accepted requests were sent.
    assert_eq!(deliver(&app).await, (5, 0, 0));
    // The window passes and codes flow again.
    clock.set(start + Duration::minutes(16));
    assert_eq!(
        request_code(&app, "13900003333").await.0,
        StatusCode::ACCEPTED
    );
}

/// A webhook that fails its first `failures` calls with 500, counting calls and idempotency keys.
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
async fn an_operator_answers_a_consultation_from_the_knowledge_base() {
    let app = TestApp::start().await;
    let (status, answer) = app
        .post(
            "admin",
            "/api/v1/kb/answers",
            json!({"question": "居住证怎么办理？", "answer": "持身份证和居住证明到社区服务站办理，15个工作日内领证。",
                   "keywords": ["居住证", "办理"], "dept_id": app.fixture.dept_city}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, other) = app
        .post(
            "admin",
            "/api/v1/kb/answers",
            json!({"question": "垃圾分类的时间是什么？", "answer": "每天7:00–9:00和18:00–20:00定时投放。", "keywords": ["垃圾分类"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let (status, found) = app
        .get("operator", "/api/v1/kb/search?q=想问居住证在哪办")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found[0]["id"], answer["id"], "{found}");
    assert!(
        found
            .as_array()
            .expect("found")
            .iter()
            .all(|a| a["id"] != other["id"])
    );
    let (_, cases_before) = app.get("admin", "/api/v1/cases").await;
    let (status, closed) = app
        .post(
            "operator",
            "/api/v1/consultations",
            json!({"kb_id": answer["id"], "appeal_type": "咨询", "question": "想问居住证在哪办", "channel": "hotline"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{closed}");
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["answer"], answer["answer"]);
    // A complaint is not closed at intake.
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/consultations",
            json!({"appeal_type": "投诉", "question": "噪音", "answer": "x", "channel": "hotline"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "needs_case");
    let (status, counts) = app.get("leader", "/api/v1/consultations/counts").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts, json!([{"appeal_type": "enquiry", "count": 1}]));
    let (_, cases_after) = app.get("admin", "/api/v1/cases").await;
    assert_eq!(cases_before, cases_after, "a consultation opens no case");
    // Appeal types are told apart at intake and counted apart from consultations.
    let f = app.fixture.clone();
    for (kind, text) in [
        ("投诉", "夜间施工噪音扰民严重"),
        ("complaint", "小区门口占道经营严重"),
        ("help", "独居老人摔倒需要帮助"),
    ] {
        let (status, body) = app
            .post(
                "operator",
                "/api/v1/appeals",
                json!({"text": text, "area_id": f.grid_a, "category_id": f.category, "appeal_type": kind}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "测试类型", "area_id": f.grid_a, "appeal_type": "闲聊"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, types) = app.get("leader", "/api/v1/stats/appeal-types").await;
    assert_eq!(status, StatusCode::OK, "{types}");
    let row = |kind: &str| {
        types
            .as_array()
            .expect("types")
            .iter()
            .find(|r| r["appeal_type"] == kind)
            .map(|r| {
                (
                    r["cases"].as_i64().expect("cases"),
                    r["consultations"].as_i64().expect("n"),
                )
            })
            .expect("every type is listed")
    };
    assert_eq!(row("complaint"), (2, 0));
    assert_eq!(row("help"), (1, 0));
    assert_eq!(row("enquiry"), (0, 1));
    assert_eq!(row("report"), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_collects_supports_reaches_the_agenda_and_opens_a_tracked_case() {
    let app = TestApp::start_with(Clock::System, |c| c.residents.proposal_threshold = 2).await;
    let f = app.fixture.clone();
    let (_, areas) = app.get("admin", "/api/v1/areas").await;
    let community = areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["id"] == f.grid_a)
        .and_then(|a| a["parent_id"].as_i64())
        .expect("the grid's community");
    let author = sign_up(&app, "13900008881").await;
    let second = sign_up(&app, "13900008882").await;
    let third = sign_up(&app, "13900008883").await;
    let proposal = json!({"community_id": community, "title": "在小区东门加装无障碍坡道", "body": "东门台阶高，轮椅和婴儿车进出困难。"});
    // Only verified residents propose; a proposal belongs to a community.
    let (status, body) = app
        .post("resident", "/api/v1/proposals", proposal.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "not_verified");
    let (status, body) = app
        .send(
            Some(&author),
            Method::POST,
            "/api/v1/proposals",
            Some(json!({"community_id": f.grid_a, "title": "t", "body": "b"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "not_a_community");
    let (status, created) = app
        .send(
            Some(&author),
            Method::POST,
            "/api/v1/proposals",
            Some(proposal),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["state"].clone(), created["threshold"].clone()),
        (json!("open"), json!(2))
    );
    let id = created["id"].as_i64().expect("id");
    let support = format!("/api/v1/proposals/{id}/support");
    let decision = format!("/api/v1/proposals/{id}/decision");
    let (status, body) = app.send(Some(&second), Method::POST, &support, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["supports"].clone(), body["state"].clone()),
        (json!(1), json!("open"))
    );
    // One resident, one vote.
    let (status, body) = app.send(Some(&second), Method::POST, &support, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "already_supported");
    // Not on the agenda yet: no decision.
    let (status, body) = app
        .post(
            "shiftlead",
            &decision,
            json!({"accepted": true, "reason": "同意"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "not_on_agenda");
    let (status, body) = app.send(Some(&third), Method::POST, &support, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["supports"].clone(), body["state"].clone()),
        (json!(2), json!("agenda"))
    );
    let (status, comment) = app
        .send(
            Some(&third),
            Method::POST,
            &format!("/api/v1/proposals/{id}/comments"),
            Some(json!({"body": "支持，老人出门也方便"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    // Residents do not decide; the meeting's outcome is recorded by staff.
    let (status, _) = app
        .send(
            Some(&third),
            Method::POST,
            &decision,
            Some(json!({"accepted": true, "reason": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, decided) = app
        .post(
            "shiftlead",
            &decision,
            json!({"accepted": true, "reason": "议事会表决通过，由街道组织施工", "category_id": f.category}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["state"], "accepted");
    let case_id = decided["case_id"].as_i64().expect("a case");
    assert_eq!(decided["case_state"], "received");
    // The case is tracked like any other, and the public page follows it.
    let (status, body) = app
        .act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, public) = app
        .send(None, Method::GET, &format!("/api/v1/proposals/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert_eq!(public["state"], "accepted");
    assert_eq!(public["case_state"], "registered");
    assert_eq!(public["outcome_reason"], "议事会表决通过，由街道组织施工");
    assert_eq!(public["comments"].as_array().map(Vec::len), Some(1));
    let (status, body) = app.send(Some(&third), Method::POST, &support, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, listed) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/proposals?community_id={community}"),
            None,
        )
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_publishes_its_results_after_closing_with_small_cells_suppressed() {
    let start = start_time();
    let clock = Clock::manual(start);
    let app = TestApp::start_with(clock.clone(), |_| {}).await;
    let closes = start + Duration::days(7);
    let (status, poll) = app
        .post(
            "leader",
            "/api/v1/polls",
            json!({"title": "滨河公园改造", "question": "您最希望增加什么设施？", "options": ["健身步道", "儿童乐园", "停车场"],
                   "allow_text": true, "min_cell": 3, "closes_at": closes}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{poll}");
    let id = poll["id"].as_i64().expect("id");
    let (status, _) = app
        .post(
            "resident",
            "/api/v1/polls",
            json!({"title": "t", "question": "q", "options": ["a"], "closes_at": closes}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let answers = format!("/api/v1/polls/{id}/answers");
    // Three choose the footpath, one the playground, one writes.
    let mut tokens = Vec::new();
    for (i, body) in [
        json!({"option": 0}),
        json!({"option": 0}),
        json!({"option": 0, "text": "希望有夜间照明"}),
        json!({"option": 1}),
        json!({"text": "多种树"}),
    ]
    .into_iter()
    .enumerate()
    {
        let token = sign_up(&app, &format!("1370000000{i}")).await;
        let (status, reply) = app
            .send(Some(&token), Method::POST, &answers, Some(body))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
        tokens.push(token);
    }
    let (status, body) = app
        .send(
            Some(&tokens[0]),
            Method::POST,
            &answers,
            Some(json!({"option": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "already_answered");
    let (status, body) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/polls/{id}/results"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "poll_open");
    clock.set(closes + Duration::minutes(1));
    let late = sign_up(&app, "13700000009").await;
    let (status, body) = app
        .send(
            Some(&late),
            Method::POST,
            &answers,
            Some(json!({"option": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "poll_closed");
    let (status, results) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/polls/{id}/results"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{results}");
    let counts: Vec<Value> = results["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| c["count"].clone())
        .collect();
    assert_eq!(counts, vec![json!(3), Value::Null, Value::Null]);
    assert_eq!(results["free_text"], Value::Null);
    assert_eq!(results["total"], json!(5));
    assert!(
        !results.to_string().contains("种树"),
        "free texts are never published"
    );
}
