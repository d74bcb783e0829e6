//! The dashboard's channel mix (`GET /api/v1/stats/channels`): cases per intake channel, in the
//! caller's scope or one area of it, over a period of local days.

use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_test_support::TestApp;

fn mix(body: &Value) -> Vec<(String, i64)> {
    body.as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            (
                row["channel"].as_str().expect("channel").to_owned(),
                row["cases"].as_i64().expect("cases"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_are_counted_by_channel_in_scope_and_period() {
    let app = TestApp::start().await;
    let f = &app.fixture;
    // The hotline and a supervisor's patrol in district A, a resident's web report in district B.
    app.file_appeal("operator", f.grid_a, f.category, "路灯不亮已经三天")
        .await;
    app.file_appeal("supervisor_a", f.grid_a, f.category, "井盖破损有人差点踩空")
        .await;
    app.file_appeal("resident", f.grid_b, f.category, "小区门口垃圾无人清运")
        .await;
    let today = app.services.local_day(chrono::Utc::now());
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let yesterday = day(
        chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").expect("day") - chrono::Days::new(1),
    );

    let (status, body) = app
        .get(
            "leader",
            &format!("/api/v1/stats/channels?from={today}&to={today}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        mix(&body),
        vec![
            ("grid".to_owned(), 1),
            ("hotline".to_owned(), 1),
            ("web".to_owned(), 1)
        ]
    );
    let (_, body) = app
        .get(
            "leader",
            &format!(
                "/api/v1/stats/channels?from={today}&to={today}&area_id={}",
                f.district_a
            ),
        )
        .await;
    assert_eq!(
        mix(&body),
        vec![("grid".to_owned(), 1), ("hotline".to_owned(), 1)]
    );
    // A period before the appeals has none; a supervisor sees only their district.
    let (_, body) = app
        .get(
            "leader",
            &format!("/api/v1/stats/channels?from={yesterday}&to={yesterday}"),
        )
        .await;
    assert_eq!(body, json!([]));
    let (_, body) = app
        .get(
            "supervisor_b",
            &format!("/api/v1/stats/channels?from={today}&to={today}"),
        )
        .await;
    assert_eq!(mix(&body), vec![("web".to_owned(), 1)]);
    // Residents get no statistics; a bad period is refused with its code.
    let (status, _) = app.get("resident", "/api/v1/stats/channels").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .get(
            "leader",
            "/api/v1/stats/channels?from=2026-13-01&to=2026-12-01",
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_period"))
    );
}
