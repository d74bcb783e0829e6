//! Rolled-up statistics: dashboards read counters rolled up to every ancestor area when they are
//! written; `audit verify` recounts the roll-up and finds a row edited behind the system's back;
//! migration 0011's backfill rebuilds it from the grid-level counters; and the bulk path loads
//! whole histories that verify.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_service::bulk::{BulkCase, BulkStep};
use urbis_test_support::TestApp;

fn count(summary: &Value, metric: &str) -> i64 {
    summary["counts"][metric].as_i64().unwrap_or(0)
}

async fn summary(app: &TestApp, area: Option<i64>) -> Value {
    let path = match area {
        Some(id) => format!("/api/v1/stats/summary?area_id={id}"),
        None => "/api/v1/stats/summary".to_owned(),
    };
    let (status, body) = app.get("leader", &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn state_count(app: &TestApp, area: Option<i64>, state: &str, overdue: bool) -> i64 {
    let path = match area {
        Some(id) => format!("/api/v1/stats/states?area_id={id}"),
        None => "/api/v1/stats/states".to_owned(),
    };
    let (status, body) = app.get("leader", &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .expect("state rows")
        .iter()
        .filter(|r| r["state"] == state && r["overdue"] == overdue)
        .map(|r| r["count"].as_i64().unwrap_or(0))
        .sum()
}

async fn differences(app: &TestApp) -> Vec<String> {
    urbis_service::audit::verify_counters(app.services.db())
        .await
        .expect("recount")
}

async fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.services.db().write_conn().await.expect("writer");
    conn.execute_script(sql).await.expect(sql);
}

/// Three appeals in district A and two in B, two of A's registered and one dispatched.
async fn some_activity(app: &TestApp) -> Vec<i64> {
    let f = app.fixture.clone();
    let mut ids = Vec::new();
    for (grid, text) in [
        (f.grid_a, "幸福路路灯不亮"),
        (f.grid_a, "阳光小区垃圾未清运"),
        (f.grid_a, "建设大街井盖缺失"),
        (f.grid_b, "滨江路占道经营"),
        (f.grid_b, "人民公园噪音扰民"),
    ] {
        ids.push(app.file_appeal("operator", grid, f.category, text).await);
    }
    for id in &ids[..2] {
        let (status, body) = app
            .act("shiftlead", *id, json!({"action": "register"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = app
        .act("dispatcher", ids[0], json!({"action": "dispatch"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_up_statistics_answer_every_level_and_a_tampered_roll_up_is_found() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    some_activity(&app).await;
    let city = summary(&app, None).await;
    let (a, b) = (
        summary(&app, Some(f.district_a)).await,
        summary(&app, Some(f.district_b)).await,
    );
    assert_eq!(
        (
            count(&city, "reported"),
            count(&a, "reported"),
            count(&b, "reported")
        ),
        (5, 3, 2)
    );
    assert_eq!(
        (count(&city, "registered"), count(&a, "registered")),
        (2, 2)
    );
    assert_eq!(count(&b, "registered"), 0);
    assert_eq!(count(&city, "dispatched"), 1);
    assert_eq!(state_count(&app, None, "received", false).await, 3);
    assert_eq!(
        state_count(&app, Some(f.district_a), "received", false).await,
        1
    );
    assert_eq!(
        state_count(&app, Some(f.district_b), "received", false).await,
        2
    );
    assert_eq!(
        state_count(&app, Some(f.grid_a), "dispatched", false).await,
        1
    );
    assert!(differences(&app).await.is_empty());

    // An event roll-up edited behind the system's back.
    execute(
        &app,
        &format!(
            "UPDATE stats_rollup SET n = n + 1 WHERE dim = 'area' AND dim_id = {} AND metric = 'reported'",
            f.district_b
        ),
    )
    .await;
    let found = differences(&app).await;
    assert!(
        found
            .iter()
            .any(|d| d.contains("rolled-up reported")
                && d.contains(&format!("area {}", f.district_b))),
        "{found:?}"
    );
    execute(
        &app,
        &format!(
            "UPDATE stats_rollup SET n = n - 1 WHERE dim = 'area' AND dim_id = {} AND metric = 'reported'",
            f.district_b
        ),
    )
    .await;
    assert!(differences(&app).await.is_empty());
    // A state roll-up missing a row.
    execute(
        &app,
        &format!(
            "DELETE FROM state_rollup WHERE area_id = {} AND state = 'registered'",
            f.city
        ),
    )
    .await;
    let found = differences(&app).await;
    assert!(
        found
            .iter()
            .any(|d| d.contains("rolled-up state count") && d.contains("registered")),
        "{found:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migration_backfill_rebuilds_the_roll_up_from_the_counters() {
    if urbis_test_support::sqlite_only(
        "the_migration_backfill_rebuilds_the_roll_up_from_the_counters",
    ) {
        return;
    }
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    some_activity(&app).await;
    let before = (
        summary(&app, None).await["counts"].clone(),
        summary(&app, Some(f.district_a)).await["counts"].clone(),
    );
    execute(&app, "DELETE FROM stats_rollup; DELETE FROM state_rollup;").await;
    assert!(!differences(&app).await.is_empty());
    // The backfill statements of migration 0011, as they ran on existing stores.
    let migration = include_str!("../../../urbis-storage/migrations/sqlite/0011_rollup.sql");
    let backfill = &migration[migration
        .find("-- Every area with itself")
        .expect("the backfill part")..];
    execute(&app, backfill).await;
    assert!(differences(&app).await.is_empty());
    let after = (
        summary(&app, None).await["counts"].clone(),
        summary(&app, Some(f.district_a)).await["counts"].clone(),
    );
    assert_eq!(before, after);
    assert_eq!(state_count(&app, None, "received", false).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_loaded_histories_keep_the_chain_the_states_and_the_counters() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    let at = Utc::now() - Duration::days(5);
    let minutes = Duration::minutes;
    let case = |area_id, steps| BulkCase {
        received_at: at,
        channel: "hotline".into(),
        title: "路灯不亮".into(),
        text: "幸福路路灯不亮".into(),
        address: String::new(),
        location: None,
        area_id,
        category_id: Some(f.category),
        priority_score: 40,
        steps,
    };
    let batch = vec![
        case(
            f.grid_a,
            vec![
                (at + minutes(10), BulkStep::Register),
                (
                    at + minutes(20),
                    BulkStep::Dispatch {
                        lead: f.dept_a,
                        due_at: at + Duration::days(3),
                    },
                ),
                (at + minutes(30), BulkStep::Accept),
                (at + minutes(600), BulkStep::Feedback),
                (at + minutes(700), BulkStep::CheckPass),
                (at + minutes(800), BulkStep::Close),
                (
                    at + minutes(2000),
                    BulkStep::Rate {
                        satisfied: true,
                        resolved: true,
                    },
                ),
            ],
        ),
        case(f.grid_b, vec![(at + minutes(5), BulkStep::Void)]),
        // Dispatched, due two days ago: overdue.
        case(
            f.grid_b,
            vec![
                (at + minutes(10), BulkStep::Register),
                (
                    at + minutes(20),
                    BulkStep::Dispatch {
                        lead: f.dept_b,
                        due_at: at + Duration::days(3),
                    },
                ),
            ],
        ),
    ];
    // Only an administrator loads, and a history that breaks the workflow loads nothing.
    let dispatcher = app
        .services
        .actor_by_username("dispatcher")
        .await
        .expect("dispatcher");
    let err = app
        .services
        .bulk_load_cases(&dispatcher, &batch)
        .await
        .expect_err("dispatcher");
    assert_eq!(err.code, "forbidden", "{err}");
    let mut broken = batch.clone();
    broken.push(case(f.grid_a, vec![(at + minutes(5), BulkStep::Accept)]));
    let err = app
        .services
        .bulk_load_cases(&admin, &broken)
        .await
        .expect_err("broken history");
    assert_eq!(err.code, "invalid_history", "{err}");
    assert_eq!(count(&summary(&app, None).await, "reported"), 0);

    let ids = app
        .services
        .bulk_load_cases(&admin, &batch)
        .await
        .expect("load");
    assert_eq!(ids.len(), 3);
    let db = app.services.db();
    let chain = urbis_service::audit::verify_chain(db).await.expect("chain");
    assert!(chain.first_break.is_none());
    assert_eq!(
        urbis_service::audit::verify_case_states(db)
            .await
            .expect("states"),
        None
    );
    assert!(differences(&app).await.is_empty());
    let (status, first) = app
        .get("leader", &format!("/api/v1/cases/{}", ids[0]))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["state"], "evaluated");
    let city = summary(&app, None).await;
    assert_eq!(
        [
            "reported",
            "registered",
            "voided",
            "dispatched",
            "closed",
            "evaluated",
            "satisfied"
        ]
        .map(|m| count(&city, m)),
        [3, 2, 1, 2, 1, 1, 1]
    );
    assert_eq!(
        count(&summary(&app, Some(f.district_b)).await, "dispatched"),
        1
    );
    assert_eq!(
        state_count(&app, Some(f.district_b), "dispatched", true).await,
        1
    );
    assert_eq!(state_count(&app, None, "evaluated", false).await, 1);
}
