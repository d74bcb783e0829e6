//! Security hardening (issue 13): bounded password hashing and login throttling measured on a
//! child `urbis serve`, merge without access, anonymous intake limits and key scope, password
//! rules, quotas, metadata stripping, scope checks and response headers.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_service::Clock;
use urbis_service::guard::Rate;
use urbis_test_support::TestApp;

use crate::child::Serve;

const ADMIN_PASSWORD: &str = "security-test-password";

/// Resident memory of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_burst_keeps_memory_bounded_and_is_throttled() {
    if urbis_test_support::sqlite_only(
        "a_wrong_password_burst_keeps_memory_bounded_and_is_throttled",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("burst.sqlite");
    let mut server = Serve::on(&db, ADMIN_PASSWORD).start();
    let base = server.base.clone();
    let pid = server.pid();
    // A password that was given is never written anywhere.
    assert!(!dir.path().join("burst.sqlite.admin-password").exists());
    let http = reqwest::Client::new();
    // Warm up: one real login (the hashing buffers exist from here on) and one case to look up.
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"].as_str().expect("token").to_owned();
    let filed: Value = http
        .post(format!("{base}/api/v1/appeals"))
        .bearer_auth(&token)
        .json(&json!({"channel": "api", "text": "内存测试：路灯不亮"}))
        .send()
        .await
        .expect("appeal")
        .json()
        .await
        .expect("appeal body");
    let number = filed["number"].as_str().expect("number").to_owned();
    let lookup = format!("{base}/api/v1/public/cases/{number}");
    assert_eq!(
        http.get(&lookup).send().await.expect("lookup").status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kib(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let unauthorized = Arc::new(AtomicUsize::new(0));
    let throttled = Arc::new(AtomicUsize::new(0));
    let retry_after_seen = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for i in 0..64 {
        let (http, base, stop) = (http.clone(), base.clone(), stop.clone());
        let (unauthorized, throttled, retry_after_seen) = (
            unauthorized.clone(),
            throttled.clone(),
            retry_after_seen.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // Half guess the admin's password, half probe names that do not exist.
                let username = if i % 2 == 0 {
                    "admin".to_owned()
                } else {
                    format!("ghost{i}")
                };
                let Ok(response) = http
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&json!({"username": username, "password": format!("wrong-guess-{n}")}))
                    .send()
                    .await
                else {
                    continue;
                };
                match response.status() {
                    StatusCode::UNAUTHORIZED => {
                        unauthorized.fetch_add(1, Ordering::Relaxed);
                    }
                    StatusCode::TOO_MANY_REQUESTS => {
                        throttled.fetch_add(1, Ordering::Relaxed);
                        if response.headers().contains_key("retry-after") {
                            retry_after_seen.store(true, Ordering::Relaxed);
                        }
                    }
                    other => panic!("unexpected login status {other}"),
                }
            }
        }));
    }
    let lookups = {
        let (http, stop, lookup) = (http.clone(), stop.clone(), lookup.clone());
        tokio::spawn(async move {
            let mut times = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let response = http.get(&lookup).send().await.expect("lookup");
                assert_eq!(response.status(), 200);
                times.push(started.elapsed());
            }
            times
        })
    };
    let mut peak = idle;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        peak = peak.max(rss_kib(pid));
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.expect("client");
    }
    let mut times = lookups.await.expect("lookups");
    times.sort();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    println!(
        "wrong-password burst, 64 clients for 6 s: {} answered 401, {} answered 429; resident memory idle {} KiB, peak {} KiB ({:.2}×), after {} KiB; public lookups meanwhile: {} calls, p50 {:?}, p99 {:?}",
        unauthorized.load(Ordering::Relaxed),
        throttled.load(Ordering::Relaxed),
        idle,
        peak,
        peak as f64 / idle as f64,
        after,
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
    );
    server.kill();
    assert!(
        throttled.load(Ordering::Relaxed) > 0,
        "no login was throttled"
    );
    assert!(
        retry_after_seen.load(Ordering::Relaxed),
        "429 without Retry-After"
    );
    assert!(peak < 2 * idle, "memory grew from {idle} KiB to {peak} KiB");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_back_off_per_username_known_or_not() {
    let app = TestApp::start_with(Clock::System, |c| c.security.free_failures = 3).await;
    for username in ["resident", "nobody-here"] {
        for attempt in 0..3 {
            let (status, body) = app
                .send(
                    None,
                    reqwest::Method::POST,
                    "/api/v1/auth/login",
                    Some(json!({"username": username, "password": "not-the-password"})),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{username} #{attempt}: {body}"
            );
            assert_eq!(body["code"], "bad_credentials");
        }
        let response = app
            .http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({"username": username, "password": urbis_test_support::PASSWORD}))
            .send()
            .await
            .expect("login");
        assert_eq!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "{username}"
        );
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.expect("body");
        assert_eq!(body["code"], "too_many_attempts");
    }
    // Other accounts are not affected.
    let (status, _) = app.get("resident2", "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_report_joins_the_count_but_not_the_case() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let text = "幸福路12号门前井盖缺失，夜里有人差点掉进去";
    let case_id = app
        .file_appeal("resident", f.grid_a, f.category, text)
        .await;
    // The attacker re-files the public text.
    let (status, body) = app
        .post(
            "resident2",
            "/api/v1/appeals",
            json!({"text": text, "area_id": f.grid_a, "category_id": f.category}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["merged"], true, "{body}");
    assert_eq!(body["case_id"], case_id);

    for path in [
        format!("/api/v1/cases/{case_id}"),
        format!("/api/v1/cases/{case_id}/trail"),
        format!("/api/v1/cases/{case_id}/appeals"),
        format!("/api/v1/cases/{case_id}/attachments"),
    ] {
        let (status, body) = app.get("resident2", &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (_, list) = app.get("resident2", "/api/v1/cases").await;
    assert!(
        !list.to_string().contains(&format!("\"id\":{case_id},")),
        "the joined case is listed: {list}"
    );
    let token = app.token("resident2").await;
    let upload = app
        .http
        .post(format!(
            "{}/api/v1/cases/{case_id}/attachments?kind=appeal",
            app.base
        ))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body(png(50))
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), StatusCode::NOT_FOUND);

    // Take the case to closed; only the first reporter rates.
    for (user, action) in [
        ("shiftlead", json!({"action": "register"})),
        ("dispatcher", json!({"action": "dispatch"})),
        ("handler_a", json!({"action": "accept"})),
        (
            "handler_a",
            json!({"action": "feedback", "note": "已补装井盖"}),
        ),
        (
            "supervisor_a",
            json!({"action": "check_pass", "note": "已核实"}),
        ),
        ("shiftlead", json!({"action": "close"})),
    ] {
        let (status, body) = app.act(user, case_id, action).await;
        assert_eq!(status, StatusCode::OK, "{user}: {body}");
    }
    let rate =
        json!({"action": "rate", "satisfaction": "dissatisfied", "resolved": false, "comment": ""});
    let (status, body) = app.act("resident2", case_id, rate).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let rate =
        json!({"action": "rate", "satisfaction": "satisfied", "resolved": true, "comment": ""});
    let (status, body) = app.act("resident", case_id, rate).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "evaluated");

    // Counted and notified.
    let (_, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(case["reporter_count"], 2);
    let (_, notes) = app.get("resident2", "/api/v1/notifications").await;
    let kinds: Vec<&str> = notes
        .as_array()
        .expect("notifications")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"merged"), "{kinds:?}");
    assert!(kinds.contains(&"closed"), "{kinds:?}");

    // The first reporter's trail shows steps, not staff ids or internal notes.
    let (_, trail) = app
        .get("resident", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    let me = app.get("resident", "/api/v1/me").await.1["user_id"].clone();
    for entry in trail.as_array().expect("trail") {
        assert!(
            entry["actor_id"].is_null() || entry["actor_id"] == me,
            "{entry}"
        );
        if entry["action"] == "feedback" {
            // The official reply stays readable.
            assert_eq!(entry["detail"], json!({"text": "已补装井盖"}), "{entry}");
        } else {
            assert_eq!(entry["detail"], json!({}), "{entry}");
        }
    }
    assert!(!trail.to_string().contains("已核实"));
}

fn png(n: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(8 + n, 0);
    bytes
}

async fn anonymous_appeal(app: &TestApp, agent: &str, key: &str, body: Value) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/appeals", app.base))
        .header("user-agent", agent)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .expect("appeal")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_keys_are_scoped_per_client_and_channels_are_web_only() {
    let app = TestApp::start().await;
    let first = anonymous_appeal(
        &app,
        "browser-a",
        "same-key",
        json!({"text": "东门路灯坏了"}),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("body");
    let second = anonymous_appeal(
        &app,
        "browser-b",
        "same-key",
        json!({"text": "西门垃圾满了"}),
    )
    .await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let second: Value = second.json().await.expect("body");
    assert_ne!(
        first["case_id"], second["case_id"],
        "two callers, one key: two cases"
    );
    let retry = anonymous_appeal(
        &app,
        "browser-a",
        "same-key",
        json!({"text": "东门路灯坏了"}),
    )
    .await;
    assert_eq!(retry.status(), StatusCode::OK);
    let retry: Value = retry.json().await.expect("body");
    assert_eq!(retry["case_id"], first["case_id"]);

    for channel in ["hotline", "grid", "sensor", "api"] {
        let response = anonymous_appeal(
            &app,
            "browser-a",
            &format!("k-{channel}"),
            json!({"text": "渠道测试", "channel": channel}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{channel}");
        let body: Value = response.json().await.expect("body");
        assert_eq!(body["code"], "channel_not_allowed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_intake_is_rate_limited_per_client() {
    let app = TestApp::start_with(Clock::System, |c| {
        c.security.anonymous_appeals_per_client = Rate {
            burst: 3,
            every: Duration::from_secs(3600),
        }
    })
    .await;
    for i in 0..3 {
        let response = anonymous_appeal(
            &app,
            "spam",
            &format!("k{i}"),
            json!({"text": format!("诉求 {i}")}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let response = anonymous_appeal(&app, "spam", "k3", json!({"text": "诉求 3"})).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(wait >= 1);
    let body: Value = response.json().await.expect("body");
    assert_eq!(body["code"], "too_many_appeals");
    // A logged-in resident is not limited by the anonymous bucket.
    let f = app.fixture.clone();
    app.file_appeal("resident", f.grid_a, f.category, "登录用户的诉求")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_repeats_raise_priority_only_up_to_the_cap() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let text = "和平街菜市场门口污水外溢，气味很大";
    let case_id = app
        .file_appeal("resident", f.grid_a, f.category, text)
        .await;
    let mut scores = Vec::new();
    for i in 0..8 {
        let response = anonymous_appeal(
            &app,
            &format!("agent-{i}"),
            &format!("repeat-{i}"),
            json!({"text": text, "area_id": f.grid_a, "category_id": f.category}),
        )
        .await;
        let body: Value = response.json().await.expect("body");
        assert_eq!(body["merged"], true, "{body}");
        let (_, case) = app
            .get("dispatcher", &format!("/api/v1/cases/{case_id}"))
            .await;
        scores.push(case["priority_score"].as_i64().expect("score"));
    }
    let (_, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(case["reporter_count"], 9);
    // Default cap: 3 anonymous repeats count towards priority; the rest change nothing.
    assert!(scores[3..].iter().all(|s| *s == scores[2]), "{scores:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_rules_and_case_insensitive_usernames() {
    let app = TestApp::start().await;
    let register = |username: &str, password: &str| json!({"username": username, "password": password, "display_name": "测试"});
    let cases: [(&str, &str, &str); 6] = [
        ("newuser1", "12345678", "invalid_password"),
        ("newuser1", "          ", "weak_password"),
        ("newuser1", "aaaaaaaaaaaa", "weak_password"),
        ("newuser1", "1234567890", "weak_password"),
        ("longusername", "LongUserName", "weak_password"),
        ("newuser1", &"x1".repeat(65), "invalid_password"),
    ];
    for (username, password, code) in cases {
        let (status, body) = app
            .send(
                None,
                reqwest::Method::POST,
                "/api/v1/auth/register",
                Some(register(username, password)),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password:?}: {body}"
        );
        assert_eq!(body["code"], code, "{password:?}");
    }
    let (status, body) = app
        .send(
            None,
            reqwest::Method::POST,
            "/api/v1/auth/register",
            Some(register("ADMIN", "a-good-password-2026")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "username_taken");
    // 43 Chinese characters (129 bytes) register and log in.
    let password = "城市治理".repeat(11).chars().take(43).collect::<String>();
    let (status, body) = app
        .send(
            None,
            reqwest::Method::POST,
            "/api/v1/auth/register",
            Some(register("hanzi", &password)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for username in ["hanzi", "HANZI"] {
        let (status, body) = app
            .send(
                None,
                reqwest::Method::POST,
                "/api/v1/auth/login",
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{username}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_lose_exif_and_have_a_daily_quota() {
    let app = TestApp::start_with(Clock::System, |c| {
        c.security.photo_bytes_per_user_day = 1_000
    })
    .await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal("resident", f.grid_a, f.category, "照片测试")
        .await;
    let token = app.token("resident").await;
    let upload = |content_type: &'static str, bytes: Vec<u8>| {
        app.http
            .post(format!(
                "{}/api/v1/cases/{case_id}/attachments?kind=appeal",
                app.base
            ))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
    };
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    jpeg.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    let exif = b"Exif\0\0GPS 39.9042N 116.4074E";
    jpeg.extend_from_slice(&[0xFF, 0xE1, 0, u8::try_from(exif.len() + 2).expect("short")]);
    jpeg.extend_from_slice(exif);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    let response = upload("image/jpeg", jpeg.clone()).await.expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.expect("body");
    let stored = app
        .http
        .get(format!(
            "{}{}",
            app.base,
            body["url"].as_str().expect("url")
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("fetch")
        .bytes()
        .await
        .expect("bytes");
    assert!(stored.len() < jpeg.len());
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "EXIF kept");
    assert!(stored.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]));

    let response = upload("image/png", png(600)).await.expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = upload("image/png", png(600)).await.expect("upload");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.expect("body");
    assert_eq!(body["code"], "photo_quota_exceeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_stays_in_the_case_district_and_scoped_roles_see_their_area() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_a = app
        .file_appeal("resident", f.grid_a, f.category, "甲区的问题")
        .await;
    let case_b = app
        .file_appeal("resident", f.grid_b, f.category, "乙区的问题")
        .await;
    for case in [case_a, case_b] {
        let (status, body) = app
            .act("shiftlead", case, json!({"action": "register"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = app
        .act(
            "dispatcher",
            case_a,
            json!({"action": "dispatch", "lead_dept_id": f.dept_b}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "dept_out_of_area");
    let (status, body) = app
        .act(
            "dispatcher",
            case_a,
            json!({"action": "dispatch", "lead_dept_id": f.dept_city}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a city-wide department serves every district: {body}"
    );

    let (status, body) = app
        .act(
            "dispatcher",
            case_b,
            json!({"action": "dispatch", "lead_dept_id": f.dept_b}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Department statistics: the city-wide dispatcher sees district B's department, district A's
    // supervisor does not; nor the notifications and grid counts of district B.
    let keys = |body: &Value| -> Vec<String> {
        body.as_array()
            .expect("rows")
            .iter()
            .filter_map(|r| r["key"].as_str().map(str::to_owned))
            .collect()
    };
    let (status, body) = app.get("dispatcher", "/api/v1/stats/by-department").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(keys(&body).contains(&f.dept_b.to_string()), "{body}");
    let (status, body) = app.get("supervisor_a", "/api/v1/stats/by-department").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!keys(&body).contains(&f.dept_b.to_string()), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_the_security_headers() {
    let app = TestApp::start().await;
    for path in ["/", "/api/v1/openapi.json", "/api/v1/public/cases/none"] {
        let response = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("get");
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("script-src 'self';"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        if path.starts_with("/api") {
            assert_eq!(headers["cache-control"], "no-store", "{path}");
        }
    }
    // The database file is private to its owner (a PostgreSQL store has no file here).
    if !urbis_test_support::on_postgres() {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&app.db_path)
            .expect("db")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "database mode {mode:o}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::start().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("partial headers");
    // The headers never end; the server closes the connection after its header-read timeout.
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(
        urbis_http::server::HEADER_READ_TIMEOUT * 3,
        stream.read_to_end(&mut buf),
    )
    .await;
    assert!(closed.is_ok(), "connection still open");
}

#[test]
fn serve_writes_a_generated_admin_password_to_a_private_file_not_stdout() {
    if urbis_test_support::sqlite_only(
        "serve_writes_a_generated_admin_password_to_a_private_file_not_stdout",
    ) {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("fresh.sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env_remove("URBIS_ADMIN_PASSWORD")
        .env("URBIS_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn urbis serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut printed = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let done = line.starts_with("listening on ");
        printed.push(line);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let file = dir.path().join("fresh.sqlite.admin-password");
    let password = std::fs::read_to_string(&file).expect("password file");
    let password = password.trim();
    assert!(password.len() >= 16, "{password:?}");
    assert!(!printed.join("\n").contains(password), "{printed:?}");
    assert!(
        printed
            .iter()
            .any(|l| l.contains("fresh.sqlite.admin-password")),
        "{printed:?}"
    );
    for path in [&file, &db] {
        let mode = std::fs::metadata(path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} mode {mode:o}", path.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_logins_share_a_fixed_hashing_budget() {
    // No per-client limits here: only the hashing slots stand between 64 callers and memory.
    let app = TestApp::start_with(Clock::System, |c| {
        c.argon2_memory_kib = 19 * 1024;
        c.security.hash_concurrency = 2;
    })
    .await;
    let login = |username: String| {
        let http = app.http.clone();
        let url = format!("{}/api/v1/auth/login", app.base);
        async move {
            http.post(url)
                .json(&json!({"username": username, "password": "wrong-password-x"}))
                .send()
                .await
                .expect("login")
                .status()
        }
    };
    assert_eq!(login("warm-up".into()).await, StatusCode::UNAUTHORIZED);
    let idle = rss_kib(std::process::id());
    let statuses = futures::future::join_all((0..64).map(|i| login(format!("ghost-{i}")))).await;
    let peak = rss_kib(std::process::id());
    println!(
        "64 concurrent logins, 19 MiB argon2, 2 slots: resident memory {idle} KiB before, {peak} KiB after"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS)
    );
    // Two buffers of 19 MiB at most, one of which the warm-up already made; 64 unbounded hashes
    // would take over 1 GiB.
    assert!(
        peak < idle + 64 * 1024,
        "memory grew from {idle} KiB to {peak} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn area_scoped_roles_see_only_their_area_notifications() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    // A handler of the city-wide department whose scope is district A.
    app.services
        .insert_user(&urbis_service::auth::NewUser {
            username: "handler_city_a".into(),
            display_name: "市政甲区".into(),
            password: urbis_test_support::PASSWORD.into(),
            role: urbis_domain::role::Role::DeptHandler,
            area_id: Some(f.district_a),
            dept_id: Some(f.dept_city),
        })
        .await
        .expect("user");
    let case_b = app
        .file_appeal("resident", f.grid_b, f.category, "乙区路面塌陷")
        .await;
    let (status, body) = app
        .act("shiftlead", case_b, json!({"action": "register"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(
            "dispatcher",
            case_b,
            json!({"action": "dispatch", "lead_dept_id": f.dept_city}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sees = |notes: &Value| {
        notes
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n["case_id"] == case_b)
    };
    let (_, notes) = app.get("handler_city", "/api/v1/notifications").await;
    assert!(
        sees(&notes),
        "the department's city-wide handler is told: {notes}"
    );
    let (_, notes) = app.get("handler_city_a", "/api/v1/notifications").await;
    assert!(
        !sees(&notes),
        "district A's handler hears of district B: {notes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_purged() {
    let start = chrono::Utc::now();
    let clock = Clock::manual(start);
    let app = TestApp::start_with(clock.clone(), |c| {
        c.session_ttl = Duration::from_secs(3600);
    })
    .await;
    let old = app.token("resident").await;
    let sessions = || async {
        urbis_storage::sql::query("SELECT COUNT(*) FROM sessions")
            .scalar::<i64>(&mut app.services.db().read().await.expect("read"))
            .await
            .expect("count")
    };
    assert_eq!(sessions().await, 1);
    clock.set(start + chrono::Duration::hours(2));
    app.token("resident2").await;
    assert_eq!(sessions().await, 1, "the expired session is gone");
    let (status, _) = app
        .send(Some(&old), reqwest::Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Only wrong logins draw from a client's login bucket: a call centre's operators behind one address
/// all log in at the start of a shift, while wrong passwords from that address are slowed down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_logins_from_one_address_are_never_throttled_but_wrong_ones_are() {
    // A small bucket that refills only after the test: the counts below are exact.
    let rate = Rate {
        burst: 5,
        every: Duration::from_secs(600),
    };
    let app = TestApp::start_with(Clock::System, |c| c.security.login_per_client = rate).await;
    let login = |username: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let response = app
                .http
                .post(format!("{}/api/v1/auth/login", app.base))
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
                .expect("login");
            response.status()
        }
    };
    let burst = rate.burst;
    // More successful logins than the bucket holds, at once.
    for round in 0..2 * burst {
        let user = urbis_test_support::USERS[round as usize % urbis_test_support::USERS.len()];
        assert_eq!(
            login(user, urbis_test_support::PASSWORD).await,
            StatusCode::OK,
            "login #{round} of {user}"
        );
    }
    // Wrong passwords, spread over usernames so that no account backs off: the bucket runs dry.
    let mut statuses = Vec::new();
    for attempt in 0..burst + 1 {
        let user = urbis_test_support::USERS[attempt as usize % urbis_test_support::USERS.len()];
        statuses.push(login(user, "not-the-password").await);
    }
    assert!(
        statuses[..burst as usize]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(statuses[burst as usize], StatusCode::UNAUTHORIZED);
    // Now even a right password from this address waits for the refill.
    assert_eq!(
        login("operator", urbis_test_support::PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
