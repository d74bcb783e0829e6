//! The SLA engine through the services: deadlines on the working calendar (weekends, holidays,
//! make-up days, office hours), pauses, reminders before expiry and escalation after it.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;
use urbis_service::Clock;
use urbis_test_support::{TestApp, city_time};

fn stored(at: DateTime<Utc>) -> String {
    urbis_storage::time::to_db(at)
}

/// Distinct problems, so that intake never treats one as a repeat of another.
const PROBLEMS: [&str; 6] = [
    "幸福路口的井盖不见了",
    "建设大街人行道砖块松动",
    "人民公园东门路灯不亮",
    "滨江路有大量建筑垃圾",
    "光明菜市场门口污水横流",
    "南门地铁站共享单车堵塞出口",
];

async fn dispatched_case(app: &TestApp, category: i64) -> (i64, serde_json::Value) {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let text = PROBLEMS[NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % PROBLEMS.len()];
    let case_id = app
        .file_appeal("operator", app.fixture.grid_a, category, text)
        .await;
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    let (status, body) = app
        .act("dispatcher", case_id, json!({"action": "dispatch"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (case_id, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_follow_the_working_calendar() {
    // Friday 2026-11-20 16:00: two working days (9:00–12:00, 13:30–18:00) end Tuesday 16:00.
    let clock = Clock::manual(city_time(2026, 11, 20, 16, 0));
    let app = TestApp::start_with_clock(clock.clone()).await;
    let (_, case) = dispatched_case(&app, app.fixture.category).await;
    assert_eq!(
        case["due_at"],
        stored(city_time(2026, 11, 24, 16, 0)),
        "weekend skipped"
    );

    // Monday 2026-11-23 declared a holiday: the same dispatch now ends Wednesday 16:00.
    let (status, body) = app
        .send(
            Some(&app.token("admin").await),
            reqwest::Method::PUT,
            "/api/v1/calendar",
            Some(json!({"days": [{"day": "2026-11-23", "kind": "holiday", "note": "测试假日"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, case) = dispatched_case(&app, app.fixture.category).await;
    assert_eq!(
        case["due_at"],
        stored(city_time(2026, 11, 25, 16, 0)),
        "holiday skipped"
    );

    // Saturday 2026-11-21 made a working day (调休) while Monday stays a holiday:
    // Fri 16–18 (2h) + Sat (7.5h) + Tue 9–12 (3h) + 13:30–16:00 (2.5h) = 15h → Tuesday 16:00.
    let token = app.token("admin").await;
    app.send(
        Some(&token),
        reqwest::Method::PUT,
        "/api/v1/calendar",
        Some(json!({"days": [{"day": "2026-11-21", "kind": "workday"}]})),
    )
    .await;
    let (_, case) = dispatched_case(&app, app.fixture.category).await;
    assert_eq!(
        case["due_at"],
        stored(city_time(2026, 11, 24, 16, 0)),
        "make-up Saturday counted"
    );

    // Outside office hours the clock starts at the next window: from Friday 20:00,
    // Sat (7.5h) + Tue 9:00–18:00 (7.5h) = 15h → Tuesday 18:00.
    clock.set(city_time(2026, 11, 20, 20, 0));
    let (_, case) = dispatched_case(&app, app.fixture.category).await;
    assert_eq!(
        case["due_at"],
        stored(city_time(2026, 11, 24, 18, 0)),
        "start after hours"
    );

    // An urgent-hour limit runs round the clock: 4 hours from Friday 20:00.
    let (status, _) = app
        .send(
            Some(&token),
            reqwest::Method::PUT,
            &format!("/api/v1/time-limits/{}", app.fixture.other_category),
            Some(json!({"clock": "urgent_hour", "amount": 4})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let case_id = app
        .file_appeal(
            "operator",
            app.fixture.grid_a,
            app.fixture.other_category,
            "井盖",
        )
        .await;
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    let (_, case) = app
        .act("dispatcher", case_id, json!({"action": "dispatch"}))
        .await;
    assert_eq!(case["due_at"], stored(city_time(2026, 11, 21, 0, 0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pauses_reminders_and_escalation() {
    // Monday 2026-11-16 10:00, two working days → Wednesday 10:00.
    let clock = Clock::manual(city_time(2026, 11, 16, 10, 0));
    let app = TestApp::start_with_clock(clock.clone()).await;
    let (case_id, case) = dispatched_case(&app, app.fixture.category).await;
    assert_eq!(case["due_at"], stored(city_time(2026, 11, 18, 10, 0)));
    app.act("handler_a", case_id, json!({"action": "accept"}))
        .await;

    // An extension request pauses the clock while it waits (Monday 10:00–14:00 holds 2.5 office
    // hours: 10–12 and 13:30–14:00); rejected, the deadline moves by those 2.5 hours.
    app.act(
        "handler_a",
        case_id,
        json!({"action": "request_extension", "amount": 1, "reason": "等材料"}),
    )
    .await;
    clock.set(city_time(2026, 11, 16, 14, 0));
    let (_, case) = app
        .act(
            "shiftlead",
            case_id,
            json!({"action": "decide", "approve": false}),
        )
        .await;
    // Wednesday 10:00 + 2.5 office hours = 12:00 + 0.5h after lunch = 14:00.
    assert_eq!(case["due_at"], stored(city_time(2026, 11, 18, 14, 0)));

    // The worker: nothing more than two hours before; a reminder within two hours; escalation after.
    let services = &app.services;
    assert_eq!(
        services
            .sla_tick(city_time(2026, 11, 18, 11, 59))
            .await
            .expect("tick"),
        (0, 0)
    );
    assert_eq!(
        services
            .sla_tick(city_time(2026, 11, 18, 12, 30))
            .await
            .expect("tick"),
        (1, 0)
    );
    assert_eq!(
        services
            .sla_tick(city_time(2026, 11, 18, 13, 0))
            .await
            .expect("tick"),
        (0, 0),
        "reminded once"
    );
    assert_eq!(
        services
            .sla_tick(city_time(2026, 11, 18, 14, 1))
            .await
            .expect("tick"),
        (0, 1)
    );
    assert_eq!(
        services
            .sla_tick(city_time(2026, 11, 18, 15, 0))
            .await
            .expect("tick"),
        (0, 0),
        "escalated once"
    );
    let (_, case) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(case["overdue"], true);
    assert_eq!(case["supervise_count"], 1);
    let (_, notes) = app.get("handler_a", "/api/v1/notifications").await;
    let kinds: Vec<&str> = notes
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"reminder") && kinds.contains(&"escalation"),
        "{kinds:?}"
    );
    let (_, trail) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    assert!(
        trail
            .as_array()
            .expect("trail")
            .iter()
            .any(|r| r["action"] == "escalate" && r["actor_role"] == "system")
    );
    let (_, states) = app.get("leader", "/api/v1/stats/states").await;
    assert!(
        states
            .as_array()
            .expect("states")
            .iter()
            .any(|s| s["state"] == "handling" && s["overdue"] == true && s["count"] == 1),
        "{states}"
    );

    // Feedback after the deadline closes as overdue (超时结案).
    clock.set(city_time(2026, 11, 18, 16, 30));
    let (status, body) = app
        .act(
            "handler_a",
            case_id,
            json!({"action": "feedback", "note": "完成"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act("supervisor_a", case_id, json!({"action": "check_pass"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, closed) = app
        .act("shiftlead", case_id, json!({"action": "close"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["closure_type"], "overdue");
    assert_eq!(closed["handled_on_time"], false);
}
