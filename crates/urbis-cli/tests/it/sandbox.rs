//! Policy sandbox (issue 22): calibration and known-direction changes on the demo city through
//! `urbis sandbox run`, scenarios and background runs over HTTP with the XLSX export, and a
//! pre-registered experiment whose planted effect the difference-in-differences estimate finds.

use std::path::Path;
use std::process::Command;

use chrono::{Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_domain::area::AreaLevel;
use urbis_service::Clock;
use urbis_service::bulk::{BulkCase, BulkStep};
use urbis_test_support::TestApp;

fn sandbox_run(location: &str, dir: &Path, name: &str, toml: &str) -> Value {
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, toml).expect("write scenario");
    let output = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["sandbox", "run", "--json", "--db", location, "--scenario"])
        .arg(&file)
        .output()
        .expect("run urbis sandbox");
    assert!(
        output.status.success(),
        "sandbox run {name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("report json")
}

fn row<'a>(report: &'a Value, indicator: &str) -> &'a Value {
    report["comparison"]
        .as_array()
        .expect("comparison")
        .iter()
        .find(|r| r["indicator"] == indicator)
        .unwrap_or_else(|| panic!("{indicator} in {report}"))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("number: {v}"))
}

/// The change of `indicator` stays within the replay-to-replay noise of the baseline (half its
/// 95% prediction interval).
#[track_caller]
fn within_noise(report: &Value, indicator: &str) {
    let r = row(report, indicator);
    let noise = (num(&r["baseline"]["hi"]) - num(&r["baseline"]["lo"])) / 2.0;
    let change = num(&r["difference"]["mean"]).abs();
    assert!(
        change <= noise,
        "{indicator} moved {change} beyond the noise {noise}: {r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_city_is_reproduced_and_known_changes_move_the_right_indicators() {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = urbis_test_support::test_store(dir.path()).await;
    let location = location.to_arg();
    let seeded = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args([
            "demo",
            "--no-serve",
            "--cases",
            "400",
            "--days",
            "42",
            "--db",
        ])
        .arg(&location)
        .output()
        .expect("seed the demo city");
    assert!(
        seeded.status.success(),
        "demo: {}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let period = format!(
        "from = \"{}\"\nto = \"{}\"\nseeds = 20\n",
        today - Duration::days(44),
        today
    );

    // Calibration: the history replayed unchanged reproduces the real rates within its interval.
    let same = sandbox_run(
        &location,
        dir.path(),
        "same",
        &format!("name = \"不变\"\n{period}"),
    );
    // A few of the 400 appeals joined an earlier case as repeats.
    let history = same["history_cases"].as_u64().expect("history cases");
    assert!((350..=400).contains(&history), "{history}");
    assert_eq!(same["refused"], 0, "the workflow refused simulated steps");
    // The observed rate is itself one draw: the demo's history is a finite sample (its on-time
    // share moves from 0.77 to 0.83 with the hour the demo is seeded at, as its random times fall
    // on other working hours and days), and the replay's interval — the spread of replays of one
    // model fitted to that sample — holds none of that sample's own binomial error. Both count:
    // the observed rate must lie within 1.96 combined standard errors of the replay's mean.
    let closed = num(&row(&same, "closure_rate")["observed"]) * history as f64;
    for (indicator, n) in [
        ("closure_rate", history as f64),
        ("on_time_closure_rate", closed),
    ] {
        let r = row(&same, indicator);
        let observed = num(&r["observed"]);
        let (lo, hi) = (num(&r["baseline"]["lo"]), num(&r["baseline"]["hi"]));
        let mean = num(&r["baseline"]["mean"]);
        let replay_sd = (hi - lo) / 2.0 / 1.96;
        let sample_sd = (observed * (1.0 - observed) / n).sqrt();
        let tolerance = 1.96 * (replay_sd.powi(2) + sample_sd.powi(2)).sqrt();
        assert!(
            (observed - mean).abs() <= tolerance,
            "{indicator}: observed {observed} (of {n}) further than {tolerance} from the replay's mean {mean} (95% interval [{lo}, {hi}])"
        );
        assert!(
            hi - lo < 0.3,
            "{indicator}: an interval too wide to mean anything: {r}"
        );
        // No change, the same random numbers: the scenario is the baseline exactly.
        assert_eq!(num(&r["difference"]["mean"]), 0.0, "{r}");
    }

    // Doubling every time limit: more cases closed on time; nothing else moves.
    let doubled = sandbox_run(
        &location,
        dir.path(),
        "doubled",
        &format!("name = \"时限加倍\"\n{period}time_limit_factor = 2.0\n"),
    );
    let on_time = row(&doubled, "on_time_closure_rate");
    assert!(
        num(&on_time["difference"]["lo"]) > 0.0,
        "doubled time limits must raise 按期结案率: {on_time}"
    );
    for indicator in ["closure_rate", "rework_rate", "closed"] {
        within_noise(&doubled, indicator);
    }

    // Halving the busiest department's capacity: fewer cases closed, fewer on time; rework
    // stays within noise.
    let busiest = same["workload"][0]["code"]
        .as_str()
        .expect("busiest department")
        .to_owned();
    let halved = sandbox_run(
        &location,
        dir.path(),
        "halved",
        &format!("name = \"减半\"\n{period}[[capacity]]\ndept = \"{busiest}\"\nfactor = 0.5\n"),
    );
    for indicator in ["closure_rate", "on_time_closure_rate", "closed"] {
        let r = row(&halved, indicator);
        assert!(
            num(&r["difference"]["hi"]) < 0.0,
            "halving {busiest}'s capacity must lower {indicator}: {r}"
        );
    }
    within_noise(&halved, "rework_rate");
    let dept = halved["workload"]
        .as_array()
        .expect("workload")
        .iter()
        .find(|r| r["code"] == busiest.as_str())
        .expect("the halved department");
    assert!(
        num(&dept["scenario"]["mean"]) < num(&dept["baseline"]["mean"]),
        "the halved department finishes less: {dept}"
    );

    // A bad scenario is refused with a clear message, and nothing is simulated.
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, format!("name = \"坏\"\n{period}seeds = 0\n")).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["sandbox", "run", "--db", &location, "--scenario"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(!output.status.success());
}

fn history(
    at: chrono::DateTime<Utc>,
    grid: i64,
    lead: i64,
    category: i64,
    on_time: bool,
) -> BulkCase {
    let m = Duration::minutes;
    let feedback = if on_time {
        at + m(600)
    } else {
        at + Duration::days(3)
    };
    BulkCase {
        received_at: at,
        channel: "hotline".into(),
        title: "路灯不亮".into(),
        text: "幸福路路灯不亮".into(),
        address: String::new(),
        location: None,
        area_id: grid,
        category_id: Some(category),
        priority_score: 40,
        steps: vec![
            (at + m(10), BulkStep::Register),
            (
                at + m(20),
                BulkStep::Dispatch {
                    lead,
                    due_at: at + Duration::days(2),
                },
            ),
            (at + m(30), BulkStep::Accept),
            (feedback, BulkStep::Feedback),
            (feedback + m(60), BulkStep::CheckPass),
            (feedback + m(120), BulkStep::Close),
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_is_preregistered_and_its_planted_effect_is_estimated() {
    let t0 = Utc.with_ymd_and_hms(2026, 6, 1, 2, 0, 0).unwrap();
    let clock = Clock::manual(t0);
    let app = TestApp::start_with_clock(clock.clone()).await;
    let f = app.fixture.clone();
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    // Twenty more unit grids in district A's community: 22 units to assign.
    let areas = app.services.list_areas().await.expect("areas");
    let grid_a = areas.iter().find(|a| a.id == f.grid_a).expect("grid a");
    let community = areas
        .iter()
        .find(|a| Some(a.id) == grid_a.parent_id)
        .expect("community");
    for n in 2..22 {
        app.services
            .create_area(
                &admin,
                &format!("{}{n:03}", community.code),
                &format!("{n}号网格"),
                AreaLevel::Grid,
                Some(community.id),
                None,
            )
            .await
            .expect("grid");
    }

    let body = json!({
        "name": "夜间巡查试点", "policy": "试点网格每晚巡查一次，问题当场派单",
        "indicator": "on_time_closure_rate", "unit_level": "grid",
        "pre_from": "2026-06-02", "start": "2026-06-16", "end": "2026-06-29", "seed": 7
    });
    // Only leaders and admins register, and only before the start.
    let (status, _) = app
        .post("handler_a", "/api/v1/sandbox/experiments", body.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut late = body.clone();
    late["pre_from"] = json!("2026-05-20");
    late["start"] = json!("2026-06-01");
    let (status, error) = app
        .post("leader", "/api/v1/sandbox/experiments", late)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["code"], "experiment_already_started");
    let (status, experiment) = app
        .post("leader", "/api/v1/sandbox/experiments", body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{experiment}");
    let treated: Vec<i64> = serde_json::from_value(experiment["treated"].clone()).expect("treated");
    let control: Vec<i64> = serde_json::from_value(experiment["control"].clone()).expect("control");
    assert_eq!(treated.len(), 11);
    assert_eq!(control.len(), 11);
    let id = experiment["id"].as_i64().expect("id");
    // Too early to estimate.
    let path = format!("/api/v1/sandbox/experiments/{id}/estimate");
    let (status, error) = app.post("leader", &path, json!(null)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");

    // The period passes: every unit closes half its cases on time before the start; afterwards
    // treated units close 85% on time, control units still 50% — a planted effect of +0.35.
    clock.set(Utc.with_ymd_and_hms(2026, 7, 3, 2, 0, 0).unwrap());
    let mut rng = StdRng::seed_from_u64(20_261_129);
    let mut batch = Vec::new();
    for unit in treated.iter().chain(&control) {
        let lead = if *unit == f.grid_b {
            f.dept_b
        } else {
            f.dept_a
        };
        for day in 1..28 {
            let at = t0 + Duration::days(day);
            let post = at >= Utc.with_ymd_and_hms(2026, 6, 15, 16, 0, 0).unwrap();
            let p = if post && treated.contains(unit) {
                0.85
            } else {
                0.5
            };
            batch.push(history(at, *unit, lead, f.category, rng.gen_bool(p)));
        }
    }
    app.services
        .bulk_load_cases(&admin, &batch)
        .await
        .expect("load");
    let (status, estimate) = app.post("leader", &path, json!(null)).await;
    assert_eq!(status, StatusCode::OK, "{estimate}");
    let (effect, lo, hi) = (
        num(&estimate["effect"]),
        num(&estimate["lo"]),
        num(&estimate["hi"]),
    );
    assert!(
        lo <= 0.35 && 0.35 <= hi,
        "planted 0.35 outside [{lo}, {hi}] ({effect})"
    );
    assert!(lo > 0.0, "the effect is found: [{lo}, {hi}]");
    assert_eq!(estimate["treated_units"], 11);
    assert_eq!(estimate["interim"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_runs_a_stored_scenario_in_the_background_and_exports_it() {
    let t0 = Utc.with_ymd_and_hms(2026, 5, 4, 1, 0, 0).unwrap();
    let clock = Clock::manual(t0 + Duration::days(30));
    let app = TestApp::start_with_clock(clock).await;
    let f = app.fixture.clone();
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    let batch: Vec<BulkCase> = (0..60)
        .map(|i| {
            let grid = if i % 2 == 0 { f.grid_a } else { f.grid_b };
            let lead = if i % 2 == 0 { f.dept_a } else { f.dept_b };
            history(
                t0 + Duration::hours(8 * i),
                grid,
                lead,
                f.category,
                i % 3 != 0,
            )
        })
        .collect();
    app.services
        .bulk_load_cases(&admin, &batch)
        .await
        .expect("load");

    let (status, template) = app.get("leader", "/api/v1/sandbox/template?days=40").await;
    assert_eq!(status, StatusCode::OK, "{template}");
    let mut scenario = template.clone();
    scenario["name"] = json!("时限加倍");
    scenario["seeds"] = json!(5);
    scenario["time_limit_factor"] = json!(2.0);
    let (status, stored) = app
        .post("leader", "/api/v1/sandbox/scenarios", scenario.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    let scenario_id = stored["id"].as_i64().expect("id");
    let mut bad = scenario.clone();
    bad["seeds"] = json!(1000);
    let (status, error) = app.post("leader", "/api/v1/sandbox/scenarios", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["code"], "invalid_scenario");

    let (status, run) = app
        .post(
            "leader",
            &format!("/api/v1/sandbox/scenarios/{scenario_id}/runs"),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let run_id = run["id"].as_i64().expect("run id");
    let mut done = Value::Null;
    for _ in 0..600 {
        let (status, polled) = app
            .get("leader", &format!("/api/v1/sandbox/runs/{run_id}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        if polled["status"] != "running" {
            done = polled;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "done", "{done}");
    let report = &done["result"];
    assert_eq!(report["history_cases"], 60, "{report}");
    assert_eq!(report["seeds"], 5);
    let on_time = row(report, "on_time_closure_rate");
    assert!(num(&on_time["difference"]["mean"]) >= 0.0, "{on_time}");

    let (_, with_runs) = app
        .get(
            "leader",
            &format!("/api/v1/sandbox/scenarios/{scenario_id}"),
        )
        .await;
    assert_eq!(with_runs["runs"][0]["id"], run_id);
    assert_eq!(with_runs["scenario"]["time_limit_factor"], 2.0);

    let token = app.token("leader").await;
    let response = app
        .http
        .get(format!("{}/api/v1/sandbox/runs/{run_id}/xlsx", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("xlsx");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.expect("bytes");
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    use calamine::Reader;
    let sheet = book.worksheet_range("对比").expect("comparison sheet");
    let labels: Vec<String> = sheet.rows().skip(3).map(|r| r[0].to_string()).collect();
    assert!(labels.contains(&"按期结案率".to_owned()), "{labels:?}");

    // A resident or a handler sees none of it.
    let (status, _) = app
        .get("handler_a", &format!("/api/v1/sandbox/runs/{run_id}"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
