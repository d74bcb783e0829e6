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

/// The point heat map (`GET /api/v1/stats/density`): located cases counted per cell of about
/// 200 m, busiest first, in the caller's scope; unlocated cases and other districts stay out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn located_cases_are_counted_per_cell_in_scope() {
    let app = TestApp::start().await;
    let f = &app.fixture;
    let file = |grid: i64, text: &str, point: Option<(f64, f64)>| {
        let mut body = json!({"text": text, "area_id": grid, "category_id": f.category});
        if let Some((lat, lon)) = point {
            body["lat"] = json!(lat);
            body["lon"] = json!(lon);
        }
        body
    };
    // Three reports a few metres apart, one 2 km away, one without a place; one in district B.
    for (grid, text, point) in [
        (f.grid_a, "路灯不亮已经三天", Some((30.5801, 114.3001))),
        (f.grid_a, "井盖破损有人差点踩空", Some((30.5802, 114.3002))),
        (f.grid_a, "人行道地砖松动", Some((30.5803, 114.3000))),
        (f.grid_a, "广告牌摇摇欲坠", Some((30.6001, 114.3001))),
        (f.grid_a, "噪音扰民", None),
        (f.grid_b, "小区门口垃圾无人清运", Some((30.5802, 114.3001))),
    ] {
        let (status, body) = app
            .post("operator", "/api/v1/appeals", file(grid, text, point))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let cells = |body: &Value| -> Vec<(f64, f64, i64)> {
        body.as_array()
            .expect("cells")
            .iter()
            .map(|c| {
                (
                    c["lat"].as_f64().expect("lat"),
                    c["lon"].as_f64().expect("lon"),
                    c["cases"].as_i64().expect("cases"),
                )
            })
            .collect()
    };
    let (status, body) = app
        .get(
            "leader",
            &format!("/api/v1/stats/density?area_id={}", f.district_a),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let found = cells(&body);
    assert_eq!(
        found.iter().map(|c| c.2).collect::<Vec<_>>(),
        [3, 1],
        "{body}"
    );
    // The busiest cell's centre is within a cell of the three reports.
    let (lat, lon, _) = found[0];
    assert!(
        (lat - 30.5802).abs() < 0.002 && (lon - 114.3001).abs() < 0.002,
        "{body}"
    );
    // The whole city: district B's report shares the busiest cell; district B's supervisor sees only it.
    let (_, body) = app.get("leader", "/api/v1/stats/density").await;
    assert_eq!(cells(&body).iter().map(|c| c.2).sum::<i64>(), 5, "{body}");
    let (_, body) = app.get("supervisor_b", "/api/v1/stats/density").await;
    assert_eq!(
        cells(&body).iter().map(|c| c.2).collect::<Vec<_>>(),
        [1],
        "{body}"
    );
    let (status, _) = app.get("resident", "/api/v1/stats/density").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
