//! No acknowledged write is ever lost: a full disk, a second instance, damaged and read-only
//! stores, shutdown with an open live feed, live-feed replay, a busy store, idempotency keys
//! reused with another body, and backups taken under load.
//!
//! The disk-full and read-only tests mount a small tmpfs of their own; they need root and skip
//! with a message otherwise (unless `URBIS_REQUIRE_FAULT_TESTS` is set, as `.ci/run` does).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_test_support::TestApp;

use crate::child::Serve;

const ADMIN_PASSWORD: &str = "reliability-test-password";

/// `urbis serve` on `db` with the admin's password and a quiet SLA worker.
fn serve(db: &Path) -> Serve<'_> {
    Serve::on(db, ADMIN_PASSWORD)
        .arg("--sla-interval-secs")
        .arg("3600")
}

async fn login(http: &reqwest::Client, base: &str) -> String {
    crate::child::login(http, base, "admin", ADMIN_PASSWORD).await
}

/// Files an appeal; returns the status and the body.
async fn file(http: &reqwest::Client, base: &str, token: &str, i: usize) -> (u16, Value) {
    // Long texts fill the small test filesystem quickly.
    let text = format!(
        "可靠性测试诉求 {i}：{}",
        "路灯不亮，夜间行人摔倒。".repeat(60)
    );
    let response = http
        .post(format!("{base}/api/v1/appeals"))
        .bearer_auth(token)
        .header("Idempotency-Key", format!("rel-{i}"))
        .json(&json!({"channel": "api", "text": text}))
        .send()
        .await
        .expect("post appeal");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// A tmpfs of `size_mb` mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts one, or says why it cannot (the caller skips).
    fn mount(size_mb: u32) -> Result<Tmpfs, String> {
        if !is_root() {
            return Err("not running as root".into());
        }
        let parent = tempfile::tempdir().map_err(|e| e.to_string())?;
        let dir = parent.path().join("mnt");
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size_mb}m,mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(Tmpfs {
            dir,
            _parent: parent,
        })
    }

    fn remount(&self, option: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(&self.dir)
            .status()
            .expect("remount");
        assert!(status.success(), "remount {option}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Skips a fault test that cannot run here, or fails it where it must run.
fn skip_or_fail(test: &str, why: &str) {
    if std::env::var_os("URBIS_REQUIRE_FAULT_TESTS").is_some() {
        panic!("{test} must run here (URBIS_REQUIRE_FAULT_TESTS is set) but cannot: {why}");
    }
    eprintln!("skipping {test}: {why} (it needs root to mount a tmpfs)");
}

/// Fills the filesystem holding `dir` with a file until it refuses; returns the file.
fn fill_disk(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if file.write_all(&chunk).is_err() {
            break;
        }
    }
    // The last partial chunk: fill what is left byte-exactly.
    let small = [0u8; 512];
    while file.write_all(&small).is_ok() {}
    let _ = file.sync_all();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_no_acknowledged_write_and_service_resumes_when_space_returns() {
    if urbis_test_support::sqlite_only(
        "a_full_disk_loses_no_acknowledged_write_and_service_resumes_when_space_returns",
    ) {
        return;
    }
    let fs = match Tmpfs::mount(24) {
        Ok(fs) => fs,
        Err(why) => return skip_or_fail("the disk-full test", &why),
    };
    let db = fs.dir.join("city.sqlite");
    let mut server = serve(&db).start();
    let http = reqwest::Client::new();
    let token = login(&http, &server.base).await;
    // A shift lead registers (立案) cases while the disk fills: workflow actions, not only appeals.
    let created = http
        .post(format!("{}/api/v1/users", server.base))
        .bearer_auth(&token)
        .json(&json!({"username": "lead", "display_name": "值班长", "password": ADMIN_PASSWORD, "role": "shift_lead"}))
        .send()
        .await
        .expect("create lead");
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{:?}",
        created.text().await
    );
    let lead = {
        let body: Value = http
            .post(format!("{}/api/v1/auth/login", server.base))
            .json(&json!({"username": "lead", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("body");
        body["token"].as_str().expect("token").to_owned()
    };
    let mut acked: Vec<String> = Vec::new();
    let mut unregistered: std::collections::VecDeque<i64> = Default::default();
    let mut registered: Vec<i64> = Vec::new();
    let register = |case: i64| {
        http.post(format!("{}/api/v1/cases/{case}/actions", server.base))
            .bearer_auth(&lead)
            .json(&json!({"action": "register"}))
            .send()
    };
    let mut i = 0;
    for _ in 0..20 {
        let (status, body) = file(&http, &server.base, &token, i).await;
        assert_eq!(status, 201, "before the disk fills: {body}");
        acked.push(body["number"].as_str().expect("number").to_owned());
        unregistered.push_back(body["case_id"].as_i64().expect("id"));
        i += 1;
    }

    // The disk fills: appeals go on until the store refuses, and every refusal is a 503 with a
    // stable code — never a 2xx that was not committed, never a 500.
    let filler = fill_disk(&fs.dir);
    let mut refused = 0;
    let mut codes = std::collections::BTreeSet::new();
    let mut actions_refused = 0;
    while (refused < 25 || actions_refused < 5) && i < 3_000 {
        let (status, body) = file(&http, &server.base, &token, i).await;
        i += 1;
        match status {
            201 => {
                acked.push(body["number"].as_str().expect("number").to_owned());
                unregistered.push_back(body["case_id"].as_i64().expect("id"));
            }
            503 => {
                refused += 1;
                codes.insert(body["code"].as_str().unwrap_or("?").to_owned());
            }
            other => panic!("while the disk is full an appeal answered {other}: {body}"),
        }
        if let Some(&case) = unregistered.front() {
            let response = register(case).await.expect("register");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            match status {
                200 => {
                    registered.push(case);
                    unregistered.pop_front();
                }
                // A refused action left nothing behind: the same action is tried again later
                // (a 409 here would mean a refused action had been stored after all).
                503 => {
                    actions_refused += 1;
                    codes.insert(body["code"].as_str().unwrap_or("?").to_owned());
                }
                other => panic!("while the disk is full an action answered {other}: {body}"),
            }
        }
    }
    assert!(
        refused > 0,
        "the store never refused a write on a full disk"
    );
    assert!(
        codes
            .iter()
            .all(|c| c == "storage_full" || c == "storage_unavailable"),
        "stable codes while full: {codes:?}"
    );
    let ready = http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(
        ready.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "/readyz says the store is not ready"
    );
    let ready: Value = ready.json().await.expect("readyz body");
    assert!(
        ready["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("storage_")),
        "{ready}"
    );
    let full_at = acked.len();

    // Space returns: new writes succeed without a restart.
    std::fs::remove_file(&filler).expect("free space");
    for _ in 0..20 {
        let (status, body) = file(&http, &server.base, &token, i).await;
        i += 1;
        assert_eq!(status, 201, "after space returned: {body}");
        acked.push(body["number"].as_str().expect("number").to_owned());
        unregistered.push_back(body["case_id"].as_i64().expect("id"));
        let case = unregistered.pop_front().expect("a case to register");
        let response = register(case).await.expect("register");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "after space returned: {:?}",
            response.text().await
        );
        registered.push(case);
    }
    let ready = http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK);
    let metrics = http
        .get(format!("{}/metrics", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("urbis_storage_failures_total"),
        "the failures are counted in /metrics"
    );

    // After a hard kill and a restart, every acknowledged appeal is there.
    server.kill();
    let server = serve(&db).start();
    for number in &acked {
        let response = http
            .get(format!("{}/api/v1/public/cases/{number}", server.base))
            .send()
            .await
            .expect("lookup");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "acknowledged case {number} is stored"
        );
    }
    let admin = login(&http, &server.base).await;
    for case in &registered {
        let body: Value = http
            .get(format!("{}/api/v1/cases/{case}", server.base))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("case")
            .json()
            .await
            .expect("body");
        assert_eq!(
            body["state"], "registered",
            "acknowledged register of case {case} is stored"
        );
    }
    eprintln!(
        "disk full: {} appeals acknowledged ({} before the disk filled, {} refused), {} registers acknowledged \
         ({} refused), codes {codes:?}; all present after restart",
        acked.len(),
        full_at,
        refused,
        registered.len(),
        actions_refused
    );
    drop(server);
    let verify = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["audit", "verify", "--db"])
        .arg(&db)
        .output()
        .expect("audit verify");
    assert!(
        verify.status.success(),
        "audit verify after the disk-full run: {}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_on_the_same_file_is_refused() {
    if urbis_test_support::sqlite_only("a_second_instance_on_the_same_file_is_refused") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("city.sqlite");
    let first = serve(&db).start();
    let refused = serve(&db)
        .try_start()
        .err()
        .expect("the second instance refuses to start");
    assert!(
        refused.contains("in use by another Urbis process"),
        "{refused}"
    );
    // The first goes on serving.
    let http = reqwest::Client::new();
    let token = login(&http, &first.base).await;
    let (status, _) = file(&http, &first.base, &token, 1).await;
    assert_eq!(status, 201);
    // Once it stopped, the file can be served again.
    drop(first);
    let _again = serve(&db).start();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_refused_at_start_and_by_audit_verify() {
    if urbis_test_support::sqlite_only("a_damaged_store_is_refused_at_start_and_by_audit_verify") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("city.sqlite");
    let mut server = serve(&db).start();
    let http = reqwest::Client::new();
    let token = login(&http, &server.base).await;
    for i in 0..150 {
        assert_eq!(file(&http, &server.base, &token, i).await.0, 201);
    }
    assert!(
        server.terminate(Duration::from_secs(10)).is_some(),
        "stopped"
    );
    // Damage five pages in the middle of the file.
    let len = std::fs::metadata(&db).expect("size").len();
    assert!(
        len > 40 * 4096,
        "the store has pages to damage ({len} bytes)"
    );
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .expect("open");
    for page in [3u64, 7, 12, 20, 30] {
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(page * 4096 + 100))
            .expect("seek");
        file.write_all(&[0xA5; 2000]).expect("damage");
    }
    file.sync_all().expect("sync");
    drop(file);
    let refused = serve(&db)
        .try_start()
        .err()
        .expect("a damaged store is refused");
    assert!(refused.contains("damaged"), "{refused}");
    let verify = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["audit", "verify", "--db"])
        .arg(&db)
        .output()
        .expect("audit verify");
    assert!(
        !verify.status.success(),
        "audit verify fails on a damaged store"
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(said.contains("damaged"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_store_is_refused_at_start() {
    if urbis_test_support::sqlite_only("a_read_only_store_is_refused_at_start") {
        return;
    }
    let fs = match Tmpfs::mount(16) {
        Ok(fs) => fs,
        Err(why) => return skip_or_fail("the read-only store test", &why),
    };
    let db = fs.dir.join("city.sqlite");
    let mut server = serve(&db).start();
    assert!(
        server.terminate(Duration::from_secs(10)).is_some(),
        "stopped"
    );
    fs.remount("ro");
    let refused = serve(&db)
        .try_start()
        .err()
        .expect("a read-only store is refused");
    assert!(
        refused.contains("Read-only") || refused.contains("cannot be written"),
        "{refused}"
    );
    fs.remount("rw");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_an_open_live_feed_exits_within_five_seconds() {
    if urbis_test_support::sqlite_only("sigterm_with_an_open_live_feed_exits_within_five_seconds") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("city.sqlite");
    let mut server = serve(&db).start();
    let http = reqwest::Client::new();
    let token = login(&http, &server.base).await;
    let mut feed = http
        .get(format!("{}/api/v1/events", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("feed");
    assert_eq!(feed.status(), StatusCode::OK);
    let (status, _) = file(&http, &server.base, &token, 1).await;
    assert_eq!(status, 201);
    let first = tokio::time::timeout(Duration::from_secs(5), feed.chunk())
        .await
        .expect("an event arrives")
        .expect("chunk");
    assert!(first.is_some(), "the feed is open");
    let stopped = server.terminate(Duration::from_secs(5));
    let (took, status) = stopped.unwrap_or_else(|| {
        panic!(
            "still running 5 s after SIGTERM with a live feed open; stderr: {}",
            server.stderr()
        )
    });
    assert!(status.success(), "clean exit: {status}");
    eprintln!("SIGTERM with an open live feed: exited in {took:?}");
    // The lock file was released: the store can be served again at once.
    let _again = serve(&db).start();
}

/// Reads server-sent events from a response until `n` `case` events (or a `reset`) arrived.
async fn read_events(response: &mut reqwest::Response, n: usize) -> Vec<(String, String, Value)> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    while events.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("events arrive in time")
            .expect("chunk")
            .expect("the stream is open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut id, mut kind, mut data) = (String::new(), String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("event:") {
                    kind = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !kind.is_empty() {
                let value = serde_json::from_str(&data).unwrap_or(Value::Null);
                let reset = kind == "reset";
                events.push((id, kind, value));
                if reset {
                    return events;
                }
            }
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_live_feed_gets_what_it_missed() {
    let app = TestApp::start().await;
    let fx = app.fixture.clone();
    let token = app.token("leader").await;
    let open = |last: Option<String>| {
        let mut request = app
            .http
            .get(format!("{}/api/v1/events", app.base))
            .bearer_auth(&token);
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        request.send()
    };
    let mut feed = open(None).await.expect("feed");
    assert_eq!(feed.status(), StatusCode::OK);
    app.file_appeal("operator", fx.grid_a, fx.category, "第一条：井盖缺失")
        .await;
    let first = read_events(&mut feed, 1).await;
    let (last_id, kind, _) = first[0].clone();
    assert_eq!(kind, "case");
    assert!(!last_id.is_empty(), "events carry ids");
    drop(feed);

    // Three appeals while the screen was away.
    let mut missed = Vec::new();
    for text in ["第二条：路灯不亮", "第三条：垃圾满溢", "第四条：噪音扰民"]
    {
        missed.push(
            app.file_appeal("operator", fx.grid_a, fx.category, text)
                .await,
        );
    }
    let mut feed = open(Some(last_id.clone())).await.expect("feed");
    let replayed = read_events(&mut feed, 3).await;
    let ids: Vec<i64> = replayed
        .iter()
        .map(|(_, kind, v)| {
            assert_eq!(kind, "case");
            v["case_id"].as_i64().expect("case id")
        })
        .collect();
    assert_eq!(ids, missed, "the missed events, in order, once each");
    drop(feed);

    // An id the server does not know (another boot, or older than the window): reload.
    let mut feed = open(Some("1-1".into())).await.expect("feed");
    let reset = read_events(&mut feed, 1).await;
    assert_eq!(reset[0].1, "reset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_shows_only_cases_in_scope_and_ends_at_logout() {
    let app = TestApp::start().await;
    let fx = app.fixture.clone();
    // A dispatcher of district A must not hear of district B's cases.
    let (status, body) = app
        .post(
            "admin",
            "/api/v1/users",
            json!({"username": "dispatcher_a", "display_name": "甲区派遣员", "password": urbis_test_support::PASSWORD,
                   "role": "dispatcher", "area_id": fx.district_a}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let scoped = app.token("dispatcher_a").await;
    let mut feed = app
        .http
        .get(format!("{}/api/v1/events", app.base))
        .bearer_auth(&scoped)
        .send()
        .await
        .expect("feed");
    assert_eq!(feed.status(), StatusCode::OK);
    let in_b = app
        .file_appeal("operator", fx.grid_b, fx.category, "乙区：道路破损")
        .await;
    let in_a = app
        .file_appeal("operator", fx.grid_a, fx.category, "甲区：道路破损")
        .await;
    let seen = read_events(&mut feed, 1).await;
    assert_eq!(
        seen[0].2["case_id"].as_i64(),
        Some(in_a),
        "district B's case {in_b} is not shown"
    );

    // Logout ends the stream.
    let (status, _) = app
        .send(
            Some(&scoped),
            reqwest::Method::POST,
            "/api/v1/auth/logout",
            None,
        )
        .await;
    assert!(status.is_success(), "logout: {status}");
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = feed.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the feed ends after logout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appeal_waits_for_a_busy_store_instead_of_failing() {
    if urbis_test_support::sqlite_only("an_appeal_waits_for_a_busy_store_instead_of_failing") {
        return;
    }
    use sqlx::Connection;
    let app = TestApp::start().await;
    let fx = app.fixture.clone();
    let token = app.token("operator").await;
    // Another process's connection holds the write lock for a while.
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{}", app.db_path.display()))
        .await
        .expect("open");
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("take the write lock");
    let request = app
        .http
        .post(format!("{}/api/v1/appeals", app.base))
        .bearer_auth(&token)
        .json(&json!({"text": "锁等待测试：路面塌陷", "area_id": fx.grid_a, "category_id": fx.category}))
        .send();
    let pending = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!pending.is_finished(), "the appeal waits for the lock");
    sqlx::query("COMMIT")
        .execute(&mut other)
        .await
        .expect("release");
    let response = pending.await.expect("task").expect("response");
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "stored once the lock was free"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_reused_with_another_body_is_refused() {
    let app = TestApp::start().await;
    let fx = app.fixture.clone();
    let token = app.token("operator").await;
    let send = |text: &'static str, area: i64| {
        app.http
            .post(format!("{}/api/v1/appeals", app.base))
            .bearer_auth(&token)
            .header("Idempotency-Key", "same-key")
            .json(&json!({"text": text, "area_id": area, "category_id": fx.category}))
            .send()
    };
    let first = send("小区门口路灯坏了", fx.grid_a).await.expect("first");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("body");
    let again = send("小区门口路灯坏了", fx.grid_a).await.expect("retry");
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "a true retry answers the first case"
    );
    let again: Value = again.json().await.expect("body");
    assert_eq!(again["case_id"], first["case_id"]);
    for (text, area) in [
        ("小区门口路灯坏了，已经一周", fx.grid_a),
        ("小区门口路灯坏了", fx.grid_b),
    ] {
        let other = send(text, area).await.expect("other body");
        assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = other.json().await.expect("body");
        assert_eq!(body["code"], "idempotency_key_reused", "{body}");
    }
    // Many different bodies at once under one key: one case, every other body refused.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let request = app
            .http
            .post(format!("{}/api/v1/appeals", app.base))
            .bearer_auth(&token)
            .header("Idempotency-Key", "parallel-key")
            .json(&json!({"text": format!("并发不同内容 {i}"), "area_id": fx.grid_a}))
            .send();
        tasks.push(tokio::spawn(request));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.expect("task").expect("response").status());
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
            .count(),
        19,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_verifies_and_restores() {
    if urbis_test_support::sqlite_only("a_backup_taken_under_load_verifies_and_restores") {
        return;
    }
    let app = Arc::new(TestApp::start().await);
    let fx = app.fixture.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for worker in 0..4 {
        let (app, stop) = (app.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let case = app
                    .file_appeal("operator", fx.grid_a, fx.category, &unique_text(worker, n))
                    .await;
                // Half the cases move on: 立案 and 派遣, so state counts and counters change.
                if n % 2 == 0 {
                    let (status, body) = app
                        .act("shiftlead", case, json!({"action": "register"}))
                        .await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                    let (status, body) = app
                        .act(
                            "dispatcher",
                            case,
                            json!({"action": "dispatch", "lead_dept_id": fx.dept_a}),
                        )
                        .await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                }
                n += 1;
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("backup.sqlite");
    let backup = tokio::process::Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["backup", "--db"])
        .arg(&app.db_path)
        .arg("--to")
        .arg(&copy)
        .output()
        .await
        .expect("urbis backup");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut filed = 0;
    for task in load {
        filed += task.await.expect("load");
    }
    assert!(
        backup.status.success(),
        "backup: {}{}",
        String::from_utf8_lossy(&backup.stdout),
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(filed > 20, "the backup ran under load ({filed} appeals)");
    let verify = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["audit", "verify", "--db"])
        .arg(&copy)
        .output()
        .expect("audit verify");
    let said = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert!(verify.status.success(), "the backup verifies: {said}");
    assert!(said.contains("counters ok"), "{said}");
    // Restore: serve the copy as a city and find a case in it.
    let restored = serve(&copy).start();
    let http = reqwest::Client::new();
    let response = http
        .get(format!(
            "{}/api/v1/public/cases/{}",
            restored.base,
            number_of(&app, 1).await
        ))
        .send()
        .await
        .expect("lookup");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the restored city serves its cases"
    );
    // A backup never overwrites a file.
    let again = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["backup", "--db"])
        .arg(&app.db_path)
        .arg("--to")
        .arg(&copy)
        .output()
        .expect("urbis backup");
    assert!(!again.status.success(), "backup refuses an existing target");
}

async fn number_of(app: &TestApp, case_id: i64) -> String {
    let (status, body) = app.get("admin", &format!("/api/v1/cases/{case_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["number"].as_str().expect("number").to_owned()
}

/// A text no other appeal of the run resembles (so intake never merges them as repeats).
fn unique_text(worker: usize, n: usize) -> String {
    use rand::Rng;
    let noise: String = (0..24)
        .map(|_| rand::thread_rng().sample(rand::distributions::Alphanumeric) as char)
        .collect();
    format!("备份负载 {worker}-{n} {noise}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loser_of_accept_against_return_is_told_the_case_moved() {
    let app = TestApp::start().await;
    let fx = app.fixture.clone();
    let case = app
        .file_appeal("operator", fx.grid_a, fx.category, "返还竞争：人行道砖松动")
        .await;
    let (status, _) = app
        .act("shiftlead", case, json!({"action": "register"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .act(
            "dispatcher",
            case,
            json!({"action": "dispatch", "lead_dept_id": fx.dept_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["state"], "dispatched",
        "the answer is the state the action left"
    );
    // One handler of the department returns it; a second one's accept arrives after.
    let (status, body) = app
        .act(
            "handler_a",
            case,
            json!({"action": "return", "reason": "不属于本部门职责"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act("handler_a", case, json!({"action": "accept"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "case_moved");
    // A department that never had the case still gets 404.
    let (status, _) = app
        .act("handler_b", case, json!({"action": "accept"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // State counts hold only states cases are in: the moves left no zero rows behind.
    let zero: i64 = urbis_storage::sql::query("SELECT COUNT(*) FROM case_state_counts WHERE n = 0")
        .scalar(&mut app.services.db().read().await.expect("read"))
        .await
        .expect("count");
    assert_eq!(zero, 0, "no zero rows in case_state_counts");
}
