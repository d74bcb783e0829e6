//! Operations: a child `urbis serve --log-format json` is scraped at once and must show every
//! described series; a scripted burst of appeals and actions moves the request, latency, intake
//! and business series by exactly what it did; the shipped Grafana dashboard and alert rules
//! name only series the live scrape has; JSON log lines parse and carry the request id of the
//! response header. The rules are also loaded by `promtool check rules` and their unit tests run
//! by `promtool test rules` (Debian's `prometheus` package; skipped with a message when missing,
//! unless `URBIS_REQUIRE_PROMTOOL=1` as in CI).

use std::collections::{BTreeMap, BTreeSet};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::child::login;

const ADMIN_PASSWORD: &str = "ops-test-password";
const PASSWORD: &str = "ops-test-password-2026";

/// Every series the server describes; the first scrape must hold each of them.
const DESCRIBED: [&str; 28] = [
    "urbis_http_requests_total",
    "urbis_http_request_duration_seconds",
    "urbis_http_requests_in_flight",
    "urbis_appeals_received_total",
    "urbis_cases_received_total",
    "urbis_appeals_merged_total",
    "urbis_intake_batches_total",
    "urbis_intake_batch_size",
    "urbis_intake_queue_depth",
    "urbis_intake_commit_duration_seconds",
    "urbis_intake_sync_duration_seconds",
    "urbis_case_transitions_total",
    "urbis_sla_reminders_total",
    "urbis_sla_escalations_total",
    "urbis_sla_failures_total",
    "urbis_storage_failures_total",
    "urbis_storage_available",
    "urbis_store_size_bytes",
    "urbis_store_wal_size_bytes",
    "urbis_cases_open",
    "urbis_cases_overdue",
    "urbis_cases_parked",
    "urbis_live_feed_subscribers",
    // Histogram parts, so a dashboard may use them by name.
    "urbis_http_request_duration_seconds_bucket",
    "urbis_http_request_duration_seconds_count",
    "urbis_intake_commit_duration_seconds_bucket",
    "urbis_intake_commit_duration_seconds_count",
    "urbis_intake_batch_size_sum",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Server {
    base: String,
    log: PathBuf,
    _child: crate::child::Server,
}

fn spawn_server(dir: &Path) -> Server {
    let log = dir.join("stderr.log");
    let db = dir.join("ops.sqlite");
    let mut serve = crate::child::Serve::on(&db, ADMIN_PASSWORD)
        .arg("--log-format")
        .arg("json");
    serve.env.retain(|(key, _)| *key != "URBIS_LOG");
    serve.env_remove = vec!["URBIS_LOG", "URBIS_LOG_FORMAT"];
    serve.stderr_file = Some(log.clone());
    let child = serve.start();
    Server {
        base: child.base.clone(),
        log,
        _child: child,
    }
}

/// One scrape: HELP'd names and samples keyed by name and sorted labels.
#[derive(Debug)]
struct Scrape {
    described: BTreeSet<String>,
    samples: BTreeMap<(String, BTreeMap<String, String>), f64>,
}

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut described = BTreeSet::new();
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                described.insert(rest.split(' ').next().unwrap_or("").to_owned());
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            let value: f64 = value.parse().expect("numeric sample");
            let (name, labels) = match series.split_once('{') {
                None => (series.to_owned(), BTreeMap::new()),
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').expect("labels close");
                    let labels = body
                        .split("\",")
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once("=\"").expect("label pair");
                            (k.to_owned(), v.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
            };
            samples.insert((name, labels), value);
        }
        Scrape { described, samples }
    }

    fn names(&self) -> BTreeSet<String> {
        self.samples.keys().map(|(name, _)| name.clone()).collect()
    }

    /// The sample with exactly these labels, 0 when absent.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .get(&(name.to_owned(), labels))
            .copied()
            .unwrap_or(0.0)
    }
}

async fn scrape(http: &reqwest::Client, base: &str) -> Scrape {
    let response = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), 200);
    Scrape::parse(&response.text().await.expect("metrics body"))
}

async fn post(
    http: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> (u16, Value, String) {
    let response = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, response.json().await.unwrap_or(Value::Null), id)
}

/// Waits out the gauges' refresh floor (one refresh a second) so the next scrape reads afresh.
async fn after_refresh_floor() {
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
}

/// Metric names an expression in the shipped files uses (`urbis_…` words).
fn series_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("urbis_") {
        let start = i + at;
        let before_ok =
            start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if before_ok {
            out.insert(text[start..end].to_owned());
        }
        i = end;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_logs_and_monitoring_kit_hold_against_a_live_server() {
    if urbis_test_support::sqlite_only("metrics_logs_and_monitoring_kit_hold_against_a_live_server")
    {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let server = spawn_server(dir.path());
    let base = server.base.clone();
    let http = reqwest::Client::new();

    // 1. The very first request is a scrape, and it already holds every described series.
    let first = scrape(&http, &base).await;
    let present = first.names();
    // A histogram `x` has samples `x_bucket`, `x_sum` and `x_count`.
    let has_samples = |name: &str| {
        present.contains(name)
            || ["_bucket", "_sum", "_count"]
                .iter()
                .all(|part| present.contains(&format!("{name}{part}")))
    };
    for name in DESCRIBED {
        assert!(has_samples(name), "{name} missing from the first scrape");
    }
    for name in &first.described {
        assert!(has_samples(name), "{name} is described but has no sample");
    }
    for name in DESCRIBED
        .iter()
        .filter(|n| !n.contains("_bucket") && !n.ends_with("_count") && !n.ends_with("_sum"))
    {
        assert!(first.described.contains(*name), "{name} has no HELP text");
    }
    assert_eq!(first.get("urbis_storage_available", &[]), 1.0);
    assert_eq!(
        first.get(
            "urbis_http_requests_total",
            &[
                ("route", "/api/v1/appeals"),
                ("method", "POST"),
                ("status_class", "2xx")
            ]
        ),
        0.0,
        "documented routes start at zero"
    );

    // 2. A small city: one district, one department, a shift lead and a dispatcher.
    let admin = login(&http, &base, "admin", ADMIN_PASSWORD).await;
    let areas: Value = http
        .get(format!("{base}/api/v1/areas"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("areas")
        .json()
        .await
        .expect("areas body");
    let root = areas[0]["id"].as_i64().expect("root area");
    let (status, district, _) = post(
        &http,
        format!("{base}/api/v1/areas"),
        &admin,
        json!({"code": "000001", "name": "运维区", "level": "district", "parent_id": root}),
    )
    .await;
    assert_eq!(status, 201, "{district}");
    let district_id = district["id"].as_i64().expect("district id");
    let (status, dept, _) = post(
        &http,
        format!("{base}/api/v1/departments"),
        &admin,
        json!({"code": "OPS01", "name": "运维城管", "area_id": district_id}),
    )
    .await;
    assert_eq!(status, 201, "{dept}");
    let dept_id = dept["id"].as_i64().expect("dept id");
    for (username, role) in [("lead", "shift_lead"), ("disp", "dispatcher")] {
        let (status, body, _) = post(
            &http,
            format!("{base}/api/v1/users"),
            &admin,
            json!({"username": username, "display_name": username, "password": PASSWORD,
                   "role": role, "area_id": root}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let lead = login(&http, &base, "lead", PASSWORD).await;
    let disp = login(&http, &base, "disp", PASSWORD).await;

    after_refresh_floor().await;
    let before = scrape(&http, &base).await;

    // 3. The burst: 6 appeals, 4 registered, 2 of them dispatched, 1 refused action.
    let mut cases = Vec::new();
    let mut appeal_request_ids = Vec::new();
    for i in 0..6 {
        let (status, body, id) = post(
            &http,
            format!("{base}/api/v1/appeals"),
            &lead,
            json!({"channel": "hotline", "text": format!("运维测试诉求 第{i}号 路灯不亮"), "area_id": district_id}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        assert!(!id.is_empty(), "every response carries x-request-id");
        cases.push(body["case_id"].as_i64().expect("case id"));
        appeal_request_ids.push(id);
    }
    for case in &cases[..4] {
        let (status, body, _) = post(
            &http,
            format!("{base}/api/v1/cases/{case}/actions"),
            &lead,
            json!({"action": "register"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    for case in &cases[..2] {
        let (status, body, _) = post(
            &http,
            format!("{base}/api/v1/cases/{case}/actions"),
            &disp,
            json!({"action": "dispatch", "lead_dept_id": dept_id}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    // Registering a received case twice is refused (4xx).
    let (status, _, _) = post(
        &http,
        format!("{base}/api/v1/cases/{}/actions", cases[5]),
        &disp,
        json!({"action": "register"}),
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "refused action answers 4xx, got {status}"
    );

    // A live feed stays open across the next scrape.
    let feed = http
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(&lead)
        .send()
        .await
        .expect("live feed");
    assert_eq!(feed.status(), 200);

    after_refresh_floor().await;
    let after = scrape(&http, &base).await;
    assert_eq!(after.get("urbis_live_feed_subscribers", &[]), 1.0);
    // The scrape itself is in flight; the feed counts only until its response head went out.
    assert_eq!(after.get("urbis_http_requests_in_flight", &[]), 1.0);
    drop(feed);
    let delta =
        |name: &str, labels: &[(&str, &str)]| after.get(name, labels) - before.get(name, labels);

    // Requests and latency, by route template (never the raw path with the case id).
    let appeals = [("route", "/api/v1/appeals"), ("method", "POST")];
    let actions = [("route", "/api/v1/cases/{id}/actions"), ("method", "POST")];
    let with_class = |route: &[(&'static str, &'static str); 2], class: &'static str| {
        let mut labels = route.to_vec();
        labels.push(("status_class", class));
        labels
    };
    assert_eq!(
        delta("urbis_http_requests_total", &with_class(&appeals, "2xx")),
        6.0
    );
    assert_eq!(
        delta("urbis_http_requests_total", &with_class(&actions, "2xx")),
        6.0
    );
    assert_eq!(
        delta("urbis_http_requests_total", &with_class(&actions, "4xx")),
        1.0
    );
    assert_eq!(
        delta("urbis_http_request_duration_seconds_count", &appeals),
        6.0
    );
    assert_eq!(
        delta("urbis_http_request_duration_seconds_count", &actions),
        7.0
    );
    assert!(delta("urbis_http_request_duration_seconds_sum", &appeals) > 0.0);
    let mut inf = appeals.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(
        delta("urbis_http_request_duration_seconds_bucket", &inf),
        6.0
    );
    assert!(
        !after.samples.keys().any(|(_, l)| l
            .get("route")
            .is_some_and(|r| r.contains(&format!("/cases/{}", cases[0])))),
        "no raw path reaches a label"
    );

    // Intake: six appeals in one or more group commits, each commit timed.
    assert_eq!(
        delta("urbis_appeals_received_total", &[("created", "true")]),
        6.0
    );
    assert_eq!(delta("urbis_intake_batch_size_sum", &[]), 6.0);
    let batches = delta("urbis_intake_batches_total", &[]);
    assert!((1.0..=6.0).contains(&batches), "{batches} group commits");
    assert_eq!(
        delta("urbis_intake_commit_duration_seconds_count", &[]),
        batches
    );
    assert_eq!(after.get("urbis_intake_queue_depth", &[]), 0.0);
    assert_eq!(
        delta("urbis_case_transitions_total", &[("action", "register")]),
        4.0
    );
    assert_eq!(
        delta("urbis_case_transitions_total", &[("action", "dispatch")]),
        2.0
    );
    assert!(after.get("urbis_store_size_bytes", &[]) > 0.0);

    // Business gauges: 4 open cases without a lead department, 2 with OPS01, none overdue.
    let no_dept = [("district", "000001"), ("department", "none")];
    let ops01 = [("district", "000001"), ("department", "OPS01")];
    assert_eq!(after.get("urbis_cases_open", &no_dept), 4.0);
    assert_eq!(after.get("urbis_cases_open", &ops01), 2.0);
    assert_eq!(after.get("urbis_cases_overdue", &ops01), 0.0);
    assert_eq!(after.get("urbis_cases_parked", &ops01), 0.0);
    assert_eq!(before.get("urbis_cases_open", &ops01), 0.0);

    // 4. The monitoring kit names only series this server has.
    let live = after.names();
    let dashboard_text =
        std::fs::read_to_string(repo_root().join("ops/grafana/urbis.json")).expect("dashboard");
    let dashboard: Value = serde_json::from_str(&dashboard_text).expect("dashboard is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 20, "dashboard has {} queries", exprs.len());
    let used: BTreeSet<String> = exprs.iter().flat_map(|e| series_in(e)).collect();
    for name in &used {
        assert!(
            live.contains(name),
            "dashboard uses {name}, which the server does not expose"
        );
    }
    for name in [
        "urbis_http_requests_total",
        "urbis_cases_overdue",
        "urbis_intake_commit_duration_seconds_bucket",
    ] {
        assert!(used.contains(name), "dashboard shows {name}");
    }
    let rules =
        std::fs::read_to_string(repo_root().join("ops/prometheus/urbis-rules.yml")).expect("rules");
    for name in series_in(&rules) {
        assert!(
            live.contains(&name),
            "rules use {name}, which the server does not expose"
        );
    }

    // 5. JSON logs: every line parses; the access line of each appeal carries its request id,
    // the route template and the user.
    let custom = "ops-check-42";
    let response = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&lead)
        .header("x-request-id", custom)
        .send()
        .await
        .expect("me");
    assert_eq!(
        response.headers()["x-request-id"],
        custom,
        "a caller's short id is kept"
    );
    let response = http
        .get(format!("{base}/healthz"))
        .header("x-request-id", "bad id with spaces\t")
        .send()
        .await
        .expect("healthz");
    let replaced = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_ne!(replaced, "bad id with spaces\t");
    assert_eq!(replaced.len(), 36, "a new UUID replaces an unusable id");

    let mut lines = Vec::new();
    for _ in 0..50 {
        let text = std::fs::read_to_string(&server.log).expect("log");
        lines = text.lines().map(str::to_owned).collect::<Vec<_>>();
        if text.contains(custom) && text.contains(&replaced) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let parsed: Vec<Value> = lines
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"))
        })
        .collect();
    let access_of = |id: &str| {
        parsed
            .iter()
            .find(|l| l["target"] == "urbis_http::access" && l["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no access log line with request id {id}"))
            .clone()
    };
    for id in &appeal_request_ids {
        let line = access_of(id);
        assert_eq!(line["span"]["route"], "/api/v1/appeals");
        assert_eq!(line["span"]["method"], "POST");
        assert_eq!(line["fields"]["status"], 201);
        assert!(line["fields"]["latency_ms"].as_f64().is_some());
        assert!(line["span"]["user_id"].as_i64().is_some(), "{line}");
    }
    assert_eq!(access_of(custom)["span"]["route"], "/api/v1/me");
    assert_eq!(access_of(&replaced)["span"]["route"], "/healthz");
    drop(server);

    // 6. promtool loads the rules and runs their unit tests.
    promtool_checks();
}

fn collect_exprs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("expr", Value::String(expr)) => out.push(expr.clone()),
                    _ => collect_exprs(inner, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

fn promtool_checks() {
    let ops = repo_root().join("ops/prometheus");
    let required = std::env::var("URBIS_REQUIRE_PROMTOOL").is_ok_and(|v| v == "1");
    for args in [
        vec!["check", "rules", "urbis-rules.yml"],
        vec!["test", "rules", "urbis-rules.test.yml"],
    ] {
        let output = match Command::new("promtool")
            .args(&args)
            .current_dir(&ops)
            .output()
        {
            Ok(output) => output,
            Err(err) => {
                assert!(
                    !required,
                    "promtool is required (URBIS_REQUIRE_PROMTOOL=1): {err}"
                );
                eprintln!(
                    "skipping `promtool {}`: promtool not found ({err}); apt-get install prometheus",
                    args.join(" ")
                );
                return;
            }
        };
        assert!(
            output.status.success(),
            "promtool {} failed:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
