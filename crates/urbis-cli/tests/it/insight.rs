//! 民情 insight on live data: a surge in one category × street is flagged and the steady ones are not; recent
//! cases about one problem at one place form a hot spot whose case ids click through.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use urbis_service::Clock;
use urbis_service::bulk::{BulkCase, BulkStep};
use urbis_test_support::{TestApp, city_time};

fn case(
    f: &urbis_test_support::Fixture,
    at: chrono::DateTime<Utc>,
    area_id: i64,
    title: &str,
    text: &str,
) -> BulkCase {
    BulkCase {
        received_at: at,
        channel: "hotline".into(),
        title: title.into(),
        text: text.into(),
        address: String::new(),
        location: None,
        area_id,
        category_id: Some(f.category),
        priority_score: 40,
        steps: vec![(at + Duration::minutes(1), BulkStep::Register)],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn surges_and_hot_spots_come_from_the_store() {
    // Local noon on a fixed day: "today's" reports below, minutes before now, fall on one local day
    // whatever the hour the test runs at.
    let now = city_time(2026, 11, 18, 12, 0);
    let app = TestApp::start_with_clock(Clock::manual(now)).await;
    let f = app.fixture.clone();
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    let mut batch = Vec::new();
    // Sixty days of one case a day (at 11:00) in each district's grid; today nine in district A's
    // grid, one in B's.
    for d in 1..=60 {
        let at = now - Duration::days(d) - Duration::hours(1);
        batch.push(case(
            &f,
            at,
            f.grid_a,
            "幸福路路灯不亮",
            "幸福路的路灯晚上不亮，走路看不清",
        ));
        batch.push(case(
            &f,
            at,
            f.grid_b,
            "滨江路垃圾没人清",
            "滨江路垃圾桶满了好几天没人清理，很臭",
        ));
    }
    for k in 0..9 {
        batch.push(case(
            &f,
            now - Duration::minutes(30 + k),
            f.grid_a,
            "幸福路路灯不亮",
            "幸福路的路灯晚上不亮，走路看不清",
        ));
    }
    batch.push(case(
        &f,
        now - Duration::minutes(20),
        f.grid_b,
        "滨江路垃圾没人清",
        "滨江路垃圾桶满了好几天没人清理，很臭",
    ));
    // A fresh problem in district B: a missing manhole cover at 建设大街, four reports in four days.
    let manhole = [
        "建设大街井盖缺失，晚上很危险",
        "建设大街的井盖丢了，差点有人掉下去",
        "建设大街井盖缺失好几天了，危险",
        "建设大街缺了一个井盖，请尽快补上",
    ];
    for (k, text) in manhole.iter().enumerate() {
        batch.push(case(
            &f,
            now - Duration::days(k as i64) - Duration::hours(2),
            f.grid_b,
            "建设大街井盖缺失",
            text,
        ));
    }
    let ids = app
        .services
        .bulk_load_cases(&admin, &batch)
        .await
        .expect("load");
    let manhole_ids: Vec<i64> = ids[ids.len() - 4..].to_vec();

    let (status, alerts) = app.get("leader", "/api/v1/insight/surges").await;
    assert_eq!(status, StatusCode::OK, "{alerts}");
    let alerts = alerts.as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert["category_id"], f.category);
    assert!(alert["observed"].as_u64().unwrap() >= 9, "{alert}");
    assert!(alert["expected"].as_f64().unwrap() < 3.0, "{alert}");
    // The alert names the street that holds grid A; district B's supervisor sees no alert in their scope.
    let (_, areas) = app.get("leader", "/api/v1/areas").await;
    let street_a = areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["id"] == alert["area_id"])
        .expect("alert area");
    assert_eq!(street_a["level"], "street");
    let (status, theirs) = app.get("supervisor_b", "/api/v1/insight/surges").await;
    assert_eq!((status, theirs), (StatusCode::OK, Value::Array(Vec::new())));
    let (status, body) = app
        .get("leader", "/api/v1/insight/surges?level=planet")
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_area_level"))
    );
    let (status, _) = app.get("resident", "/api/v1/insight/surges").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Hot spots of the last 7 days: the street lights (6 + 9 cases), the garbage (6 + 1) and the manhole (4).
    let (status, spots) = app.get("leader", "/api/v1/insight/hotspots?days=7").await;
    assert_eq!(status, StatusCode::OK, "{spots}");
    let spots = spots.as_array().expect("spots");
    let find = |word: &str| {
        spots
            .iter()
            .find(|s| s["label"].as_str().is_some_and(|l| l.contains(word)))
            .unwrap_or_else(|| panic!("{word} in {spots:?}"))
    };
    let lights = find("幸福路");
    assert_eq!(
        lights["case_ids"].as_array().map(Vec::len),
        Some(15),
        "{lights}"
    );
    let manhole_spot = find("井盖");
    assert_eq!(manhole_spot["case_ids"], serde_json::json!(manhole_ids));
    assert!(
        manhole_spot["dissatisfied"].is_null(),
        "none rated: {manhole_spot}"
    );
    assert!(spots[0]["heat"].as_f64() >= spots[spots.len() - 1]["heat"].as_f64());
    // Click-through: the case behind a hot spot opens.
    let (status, first) = app
        .get("leader", &format!("/api/v1/cases/{}", manhole_ids[0]))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, body) = app.get("leader", "/api/v1/insight/hotspots?days=0").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_window"))
    );
}
