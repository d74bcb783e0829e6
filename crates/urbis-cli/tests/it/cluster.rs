//! Several nodes, one city (issue 16): child `urbis serve` nodes on one PostgreSQL database with
//! NATS JetStream between them. The live feed, session ends and taxonomy imports reach the other
//! node; the SLA lease moves when its holder is killed with SIGKILL, and no reminder or escalation
//! is lost or doubled; the relay survives a NATS restart and the stream holds every audit record
//! exactly once, in order. PostgreSQL only: the SQLite run skips every test with a message, and
//! without a NATS server the PostgreSQL run skips too, unless `URBIS_REQUIRE_NATS` is set (CI).

use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use urbis_storage::sql;
use urbis_test_support::{PASSWORD, TestApp};

use crate::child::{Serve, Server, login};

/// The NATS server of the tests that share the machine's (`URBIS_TEST_NATS`).
fn nats_url() -> String {
    std::env::var("URBIS_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

fn nats_addr(url: &str) -> String {
    url.trim_start_matches("nats://").to_owned()
}

/// Whether this run can start a cluster: PostgreSQL (the it_postgres run) and a NATS server.
fn cluster_possible() -> bool {
    if !urbis_test_support::on_postgres() {
        eprintln!("skipped on SQLite: a cluster shares one PostgreSQL database");
        return false;
    }
    let up = std::net::TcpStream::connect(nats_addr(&nats_url())).is_ok();
    if !up {
        if std::env::var_os("URBIS_REQUIRE_NATS").is_some() {
            panic!(
                "URBIS_REQUIRE_NATS is set but no NATS server answers at {}",
                nats_url()
            );
        }
        eprintln!(
            "skipped: no NATS server at {} (set URBIS_TEST_NATS)",
            nats_url()
        );
        return false;
    }
    true
}

/// A city name of its own per test, so each test has a stream of its own.
fn unique_city() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis();
    format!(
        "t{now}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Deletes a test's stream from a shared NATS server.
async fn delete_stream(nats: &str, city: &str) {
    if let Ok(client) = async_nats::connect(nats).await {
        let jetstream = async_nats::jetstream::new(client);
        let _ = jetstream
            .delete_stream(urbis_service::cluster::stream_name(city))
            .await;
    }
}

/// Starts a node of the cluster on the test's store.
fn node(app: &TestApp, nats: &str, id: &str, city: &str, extra: &[&str]) -> Server {
    let db = app.location.to_arg();
    let mut serve = Serve::on_store(&db, PASSWORD)
        .arg("--nats-url")
        .arg(nats)
        .arg("--node-id")
        .arg(id)
        .arg("--city")
        .arg(city)
        .arg("--sla-interval-secs")
        .arg("1");
    for arg in extra {
        serve = serve.arg(arg);
    }
    serve.start()
}

async fn post_json(http: &reqwest::Client, url: &str, token: &str, body: Value) -> (u16, Value) {
    let response = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The names of the categories the classifier proposes for `text` on `base`.
async fn suggested_names(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    text: &str,
) -> Vec<String> {
    let (status, body) = post_json(
        http,
        &format!("{base}/api/v1/intake/suggest"),
        token,
        json!({"text": text}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["categories"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Which node (by id) holds `lease`, from the nodes' own metrics.
async fn lease_holder(
    http: &reqwest::Client,
    nodes: &[(&str, &Server)],
    lease: &str,
) -> Option<String> {
    for (id, server) in nodes {
        let Ok(response) = http.get(format!("{}/metrics", server.base)).send().await else {
            continue;
        };
        let text = response.text().await.unwrap_or_default();
        let held = format!("urbis_lease_held{{lease=\"{lease}\",node=\"{id}\"}} 1");
        if text.lines().any(|line| line.trim() == held) {
            return Some((*id).to_owned());
        }
    }
    None
}

/// The demo corpus's model with category names as labels (the demo model's are the demo
/// taxonomy's codes, which the fixture city does not use).
fn model_by_name() -> urbis_text::classifier::Model {
    use urbis_text::classifier::{Example, HyperParams, Model, TrainOptions};
    let names: HashMap<&str, &str> = urbis_text::demo::DEMO_CATEGORIES.iter().copied().collect();
    let corpus: Vec<Example> = urbis_text::demo::demo_corpus()
        .into_iter()
        .map(|example| Example {
            label: names[example.label.as_str()].to_owned(),
            text: example.text,
        })
        .collect();
    let options = TrainOptions {
        hyper: HyperParams::recommended(),
        folds: 3,
        user_words: Vec::new(),
        source: "demo corpus by category name".to_owned(),
        created: "test".to_owned(),
    };
    Model::train(&corpus, &options).expect("train")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_feed_repeats_sessions_and_taxonomy() {
    if !cluster_possible() {
        return;
    }
    let app = TestApp::start().await;
    let city = unique_city();
    let nats = nats_url();
    let dir = tempfile::tempdir().expect("dir");
    let model = dir.path().join("model.bin");
    std::fs::write(&model, model_by_name().to_bytes()).expect("model");
    let model_arg = model.to_str().expect("utf-8").to_owned();
    let a = node(&app, &nats, "a", &city, &["--model", &model_arg]);
    let b = node(&app, &nats, "b", &city, &["--model", &model_arg]);
    let http = reqwest::Client::new();

    // An appeal filed on A shows in B's live feed.
    let leader_b = login(&http, &b.base, "leader", PASSWORD).await;
    let mut feed = http
        .get(format!("{}/api/v1/events", b.base))
        .bearer_auth(&leader_b)
        .send()
        .await
        .expect("feed");
    assert_eq!(feed.status(), 200);
    // The listener hears the records published after it subscribed: wait until it has.
    let started = Instant::now();
    loop {
        let text = http
            .get(format!("{}/metrics", b.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        if text
            .lines()
            .any(|line| line.trim() == "urbis_broker_listening 1")
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "B never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // B's repeat index is loaded from the store by B's first appeal, before A opens its case.
    let operator_b = login(&http, &b.base, "operator", PASSWORD).await;
    let (status, body) = post_json(
        &http,
        &format!("{}/api/v1/appeals", b.base),
        &operator_b,
        json!({"text": "集群测试：光明街的垃圾桶满了没人清运", "area_id": app.fixture.grid_a, "category_id": app.fixture.category}),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    assert_eq!(body["merged"], json!(false), "{body}");
    let operator_a = login(&http, &a.base, "operator", PASSWORD).await;
    let (status, body) = post_json(
        &http,
        &format!("{}/api/v1/appeals", a.base),
        &operator_a,
        json!({"text": "集群测试：幸福路口的井盖不见了", "area_id": app.fixture.grid_a, "category_id": app.fixture.category}),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    let case_id = body["case_id"].as_i64().expect("case id");
    let wanted = format!("\"case_id\":{case_id}");
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(15), async {
        while let Ok(Some(chunk)) = feed.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(&wanted) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(found, "B's feed never showed case {case_id}: {seen}");
    drop(feed);

    // B heard of the case from the stream: a reworded repeat filed on B joins it.
    let (status, body) = post_json(
        &http,
        &format!("{}/api/v1/appeals", b.base),
        &operator_b,
        json!({"text": "再次反映：幸福路口那个井盖还是不见了，希望尽快处理", "area_id": app.fixture.grid_a, "category_id": app.fixture.category}),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    assert_eq!(body["merged"], json!(true), "{body}");
    assert_eq!(body["case_id"].as_i64(), Some(case_id), "{body}");

    // A logout on A is refused on B within a second.
    let token = login(&http, &a.base, "dispatcher", PASSWORD).await;
    let on_b = http
        .get(format!("{}/api/v1/cases", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("cases");
    assert_eq!(on_b.status(), 200, "B takes A's session (and caches it)");
    let response = http
        .post(format!("{}/api/v1/auth/logout", a.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("logout");
    assert!(response.status().is_success(), "{}", response.status());
    let logged_out = Instant::now();
    let refused_after = loop {
        let status = http
            .get(format!("{}/api/v1/cases", b.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("cases")
            .status();
        if status == 401 {
            break logged_out.elapsed();
        }
        assert!(
            logged_out.elapsed() < Duration::from_secs(5),
            "B still takes the token"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // How soon is a figure, not a test bound (timing thresholds stay out of `cargo test`): the
    // loop above only gives up waiting after 5 s.
    eprintln!("logout on A refused on B after {refused_after:?}");

    // A taxonomy import on A changes B's classification mapping.
    let text = "人民公园东门的路灯坏了好几天，晚上一片漆黑，请尽快修理路灯";
    let before = suggested_names(&http, &b.base, &operator_b, text).await;
    assert!(!before.contains(&"路灯故障".to_owned()), "{before:?}");
    let admin_a = login(&http, &a.base, "admin", PASSWORD).await;
    let (status, body) = post_json(
        &http,
        &format!("{}/api/v1/categories/import", a.base),
        &admin_a,
        json!({"rows": [["公用设施", "路灯故障"]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let imported = Instant::now();
    loop {
        let after = suggested_names(&http, &b.base, &operator_b, text).await;
        if after.contains(&"路灯故障".to_owned()) {
            break;
        }
        assert!(
            imported.elapsed() < Duration::from_secs(10),
            "B's classifier still maps {after:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "taxonomy import on A mapped on B after {:?}",
        imported.elapsed()
    );
    drop((a, b));
    delete_stream(&nats, &city).await;
}

/// Files an appeal through whichever node answers, retrying the same key on the other; returns
/// the key and the case once acknowledged.
async fn file_somewhere(
    http: &reqwest::Client,
    nodes: &[(String, String)],
    key: &str,
    text: &str,
) -> Option<(String, i64)> {
    for attempt in 0..40 {
        let (base, token) = &nodes[attempt % nodes.len()];
        let response = http
            .post(format!("{base}/api/v1/appeals"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"channel": "api", "text": text}))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(response) = response
            && response.status().is_success()
        {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            return Some((key.to_owned(), body["case_id"].as_i64().unwrap_or(-1)));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Registers (立案) a case through whichever node answers. A node that died after committing
/// but before answering leaves the case registered: the retry then answers 409, and the case
/// must still show exactly one registration.
async fn register_somewhere(
    http: &reqwest::Client,
    nodes: &[(String, String)],
    case_id: i64,
) -> bool {
    for attempt in 0..40 {
        let (base, token) = &nodes[attempt % nodes.len()];
        let response = http
            .post(format!("{base}/api/v1/cases/{case_id}/actions"))
            .bearer_auth(token)
            .json(&json!({"action": "register"}))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(response) = response
            && (response.status().is_success() || response.status().as_u16() == 409)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Makes the given cases due now (past) or soon (within the reminder lead time).
async fn set_due(app: &TestApp, case_ids: &[i64], due: chrono::DateTime<chrono::Utc>) {
    let mut conn = app.services.db().write_conn().await.expect("conn");
    for id in case_ids {
        sql::query("UPDATE cases SET due_at = ? WHERE id = ?")
            .bind(due)
            .bind(*id)
            .execute(&mut conn)
            .await
            .expect("due");
    }
}

/// Counts of `action` audit records and `kind` notifications per case.
async fn per_case(
    app: &TestApp,
    case_ids: &[i64],
    action: &str,
    kind: &str,
) -> Vec<(i64, i64, i64)> {
    let mut conn = app.services.db().read().await.expect("conn");
    let mut out = Vec::new();
    for id in case_ids {
        let audited: i64 = sql::query(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'case' AND entity_id = ? AND action = ?",
        )
        .bind(*id)
        .bind(action)
        .scalar(&mut conn)
        .await
        .expect("audit");
        let notified: i64 =
            sql::query("SELECT COUNT(*) FROM notifications WHERE case_id = ? AND kind = ?")
                .bind(*id)
                .bind(kind)
                .scalar(&mut conn)
                .await
                .expect("notifications");
        out.push((*id, audited, notified));
    }
    out
}

/// Distinct problems, so that intake never takes one for a repeat of another.
const PROBLEMS: [&str; 12] = [
    "幸福路口的井盖不见了",
    "建设大街人行道砖块松动",
    "人民公园东门路灯不亮",
    "滨江路有大量建筑垃圾",
    "光明菜市场门口污水横流",
    "南门地铁站共享单车堵塞出口",
    "东湖小区楼下广告牌摇摇欲坠",
    "实验小学门口占道经营严重",
    "长江大桥引桥护栏被撞坏",
    "城西公交站台顶棚漏雨",
    "北山森林公园步道塌方",
    "火车站广场夜间噪声扰民",
];

async fn dispatched_cases(app: &TestApp, problems: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for problem in problems {
        let case_id = app
            .file_appeal(
                "operator",
                app.fixture.grid_a,
                app.fixture.category,
                problem,
            )
            .await;
        app.act("shiftlead", case_id, json!({"action": "register"}))
            .await;
        let (status, body) = app
            .act("dispatcher", case_id, json!({"action": "dispatch"}))
            .await;
        assert_eq!(status.as_u16(), 200, "{body}");
        ids.push(case_id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sla_lease_moves_when_its_holder_is_killed() {
    if !cluster_possible() {
        return;
    }
    let app = TestApp::start().await;
    let city = unique_city();
    let nats = nats_url();
    let before_kill = dispatched_cases(&app, &PROBLEMS[0..4]).await;
    let after_kill = dispatched_cases(&app, &PROBLEMS[4..8]).await;
    let remind_after_kill = dispatched_cases(&app, &PROBLEMS[8..12]).await;
    let mut a = node(&app, &nats, "a", &city, &[]);
    let mut b = node(&app, &nats, "b", &city, &[]);
    let http = reqwest::Client::new();

    // The holder escalates the first overdue cases.
    let started = Instant::now();
    let holder = loop {
        if let Some(holder) = lease_holder(&http, &[("a", &a), ("b", &b)], "sla").await {
            break holder;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "nobody took the SLA lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    set_due(
        &app,
        &before_kill,
        chrono::Utc::now() - chrono::Duration::minutes(5),
    )
    .await;
    let waited = Instant::now();
    while per_case(&app, &before_kill, "escalate", "escalation")
        .await
        .iter()
        .any(|(_, n, _)| *n == 0)
    {
        assert!(
            waited.elapsed() < Duration::from_secs(15),
            "the holder never escalated"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A burst of appeals through both nodes; the holder is killed in the middle of it.
    let tokens = vec![
        (
            a.base.clone(),
            login(&http, &a.base, "operator", PASSWORD).await,
        ),
        (
            b.base.clone(),
            login(&http, &b.base, "operator", PASSWORD).await,
        ),
    ];
    let tokens = Arc::new(tokens);
    let leads = Arc::new(vec![
        (
            a.base.clone(),
            login(&http, &a.base, "shiftlead", PASSWORD).await,
        ),
        (
            b.base.clone(),
            login(&http, &b.base, "shiftlead", PASSWORD).await,
        ),
    ]);
    let burst = {
        let tokens = tokens.clone();
        let http = http.clone();
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut registered = std::collections::BTreeSet::new();
            for i in 0..60 {
                let key = format!("lease-burst-{i}");
                let text = format!(
                    "租约突发第{i}件：建设大街{}号附近路面塌陷需要处理",
                    10 + i * 13
                );
                if let Some((key, case_id)) = file_somewhere(&http, &tokens, &key, &text).await {
                    acked.push(key);
                    if case_id > 0 && registered.insert(case_id) {
                        assert!(
                            register_somewhere(&http, &leads, case_id).await,
                            "register {case_id}"
                        );
                    }
                }
            }
            (acked, registered)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    if holder == "a" {
        a.kill();
    } else {
        b.kill();
    }
    let killed_at = Instant::now();
    let (survivor, survivor_id) = if holder == "a" { (&b, "b") } else { (&a, "a") };
    // Work that only the new holder can do: cases overdue now, and cases close to their deadline.
    set_due(
        &app,
        &after_kill,
        chrono::Utc::now() - chrono::Duration::minutes(1),
    )
    .await;
    set_due(
        &app,
        &remind_after_kill,
        chrono::Utc::now() + chrono::Duration::minutes(30),
    )
    .await;
    let took_over = loop {
        if lease_holder(&http, &[(survivor_id, survivor)], "sla")
            .await
            .is_some()
        {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(10),
            "no takeover within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("SLA lease taken over {took_over:?} after the SIGKILL");
    let (acked, registered) = burst.await.expect("burst");
    assert_eq!(
        acked.len(),
        60,
        "every appeal was acknowledged by one node or the other"
    );

    let waited = Instant::now();
    loop {
        let escalated = per_case(&app, &after_kill, "escalate", "escalation").await;
        let reminded = per_case(&app, &remind_after_kill, "remind", "reminder").await;
        if escalated.iter().chain(&reminded).all(|(_, n, _)| *n > 0) {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "the new holder did not do the SLA work"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few more rounds: nothing may be done twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (id, audited, notified) in per_case(
        &app,
        &[before_kill.clone(), after_kill.clone()].concat(),
        "escalate",
        "escalation",
    )
    .await
    {
        assert_eq!((audited, notified), (1, 1), "case {id}: escalations");
    }
    for (id, audited, notified) in per_case(&app, &remind_after_kill, "remind", "reminder").await {
        assert_eq!((audited, notified), (1, 1), "case {id}: reminders");
    }
    let mut conn = app.services.db().read().await.expect("conn");
    for key in &acked {
        let n: i64 = sql::query("SELECT COUNT(*) FROM appeals WHERE idempotency_key LIKE ?")
            .bind(format!("%:{key}"))
            .scalar(&mut conn)
            .await
            .expect("count");
        assert_eq!(n, 1, "appeal {key} stored exactly once");
    }
    for case_id in &registered {
        let n: i64 = sql::query(
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'case' AND entity_id = ? AND action = 'register'",
        )
        .bind(*case_id)
        .scalar(&mut conn)
        .await
        .expect("count");
        assert_eq!(n, 1, "case {case_id} registered exactly once");
    }
    drop(conn);
    let output = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["audit", "verify", "--db", &app.location.to_arg()])
        .output()
        .expect("audit verify");
    assert!(
        output.status.success(),
        "audit verify: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    drop((a, b));
    delete_stream(&nats, &city).await;
}

/// A NATS server of this test's own, with JetStream on a store directory it keeps across restarts.
struct OwnNats {
    child: Child,
    port: u16,
    store: std::path::PathBuf,
}

impl OwnNats {
    fn start(port: u16, store: &std::path::Path) -> OwnNats {
        let binary =
            std::env::var("URBIS_TEST_NATS_SERVER").unwrap_or_else(|_| "nats-server".to_owned());
        let binary =
            if std::path::Path::new("/usr/sbin/nats-server").exists() && binary == "nats-server" {
                "/usr/sbin/nats-server".to_owned()
            } else {
                binary
            };
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        OwnNats {
            child,
            port,
            store: store.to_owned(),
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn restart(&mut self, down_for: Duration) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(down_for);
        *self = OwnNats::start(self.port, &self.store.clone());
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_survives_a_nats_restart_and_publishes_every_record_once() {
    if !cluster_possible() {
        return;
    }
    let app = TestApp::start().await;
    let city = unique_city();
    let store = tempfile::tempdir().expect("dir");
    let mut nats = OwnNats::start(free_port(), store.path());
    let url = nats.url();
    let a = node(&app, &url, "a", &city, &[]);
    let b = node(&app, &url, "b", &city, &[]);
    let http = reqwest::Client::new();
    let tokens = Arc::new(vec![
        (
            a.base.clone(),
            login(&http, &a.base, "operator", PASSWORD).await,
        ),
        (
            b.base.clone(),
            login(&http, &b.base, "operator", PASSWORD).await,
        ),
    ]);
    let load = {
        let tokens = tokens.clone();
        let http = http.clone();
        tokio::spawn(async move {
            let mut acked = 0;
            for i in 0..80 {
                let key = format!("nats-restart-{i}");
                let text = format!("重启测试第{i}件：光明路{}号的垃圾桶满了", 3 + i * 11);
                if file_somewhere(&http, &tokens, &key, &text).await.is_some() {
                    acked += 1;
                }
            }
            acked
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    tokio::task::block_in_place(|| nats.restart(Duration::from_millis(1500)));
    assert_eq!(
        load.await.expect("load"),
        80,
        "intake goes on while the broker is away"
    );

    // The relay catches up with the log.
    let head = || async {
        let mut conn = app.services.db().read().await.expect("conn");
        let head: i64 = sql::query("SELECT COALESCE(MAX(seq), 0) FROM audit_log")
            .scalar(&mut conn)
            .await
            .expect("head");
        let relayed: i64 = sql::query("SELECT COALESCE(MAX(last_seq), 0) FROM relay_positions")
            .scalar(&mut conn)
            .await
            .expect("position");
        (head, relayed)
    };
    let waited = Instant::now();
    let last = loop {
        let (head, relayed) = head().await;
        if head > 0 && relayed == head {
            break head;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "relay stuck at {relayed} of {head}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // A subscriber reading the stream from its start sees every sequence number once, in order,
    // with the hash the log holds.
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let jetstream = async_nats::jetstream::new(client);
    let stream = jetstream
        .get_stream(urbis_service::cluster::stream_name(&city))
        .await
        .expect("stream");
    let consumer = stream
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut received: BTreeMap<i64, usize> = BTreeMap::new();
    let mut order = Vec::new();
    let mut hashes = HashMap::new();
    let reading = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(message) = messages.next().await {
            let message = message.expect("message");
            let record: Value = serde_json::from_slice(&message.payload).expect("json");
            let seq = record["seq"].as_i64().expect("seq");
            assert!(
                message.subject.starts_with(&format!("urbis.{city}.")),
                "{}",
                message.subject
            );
            *received.entry(seq).or_default() += 1;
            order.push(seq);
            hashes.insert(seq, record["hash"].as_str().unwrap_or_default().to_owned());
            if seq >= last {
                break;
            }
        }
    })
    .await;
    assert!(
        reading.is_ok(),
        "the stream ended at {:?} of {last}",
        order.last()
    );
    let expected: Vec<i64> = (1..=last).collect();
    assert_eq!(
        order, expected,
        "every audit sequence exactly once, in order"
    );
    let mut conn = app.services.db().read().await.expect("conn");
    let stored: Vec<(i64, String)> = sql::query("SELECT seq, hash FROM audit_log ORDER BY seq")
        .fetch_all(&mut conn)
        .await
        .expect("log");
    for (seq, hash) in stored.iter().filter(|(seq, _)| *seq <= last) {
        assert_eq!(hashes.get(seq), Some(hash), "record {seq}'s hash");
    }
    assert!(received.values().all(|n| *n == 1));
    drop(conn);

    // A new store under the same city: its relay must refuse the stream (whose last record is
    // not this store's) rather than skip its own records.
    drop((a, b));
    let other = TestApp::start().await;
    let c = node(&other, &url, "c", &city, &[]);
    let waited = Instant::now();
    while !c.stderr().contains("is not this store's") {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "no refusal: {}",
            c.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut conn = other.services.db().read().await.expect("conn");
    let relayed: i64 = sql::query("SELECT COALESCE(MAX(last_seq), 0) FROM relay_positions")
        .scalar(&mut conn)
        .await
        .expect("position");
    assert_eq!(
        relayed, 0,
        "the relay skipped nothing and published nothing"
    );
}
