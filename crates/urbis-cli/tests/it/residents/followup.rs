//! "Was it fixed?" after a case closes (one answer per verified resident, a reporter's "not fixed"
//! flagged for the shift lead, the "fixed confirmed" rate, the public timeline), the public base
//! map (bounded, roads and places only) with the reverse lookup behind "use my location", and the
//! appeal type the hotline picks.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_service::gazetteer::GazetteerInput;
use urbis_test_support::TestApp;

use super::{deliver, sign_up, sink};

/// Takes a registered-or-new case through dispatch, handling and the check to closed.
async fn close(app: &TestApp, case_id: i64) {
    let f = &app.fixture;
    for (user, action) in [
        ("shiftlead", json!({"action": "register"})),
        (
            "dispatcher",
            json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
        ),
        ("handler_a", json!({"action": "accept"})),
        ("handler_a", json!({"action": "feedback", "note": "已修复"})),
        (
            "supervisor_a",
            json!({"action": "check_pass", "note": "现场已修好"}),
        ),
        ("shiftlead", json!({"action": "close"})),
    ] {
        let (status, body) = app.act(user, case_id, action.clone()).await;
        assert_eq!(status, StatusCode::OK, "{user} {action}: {body}");
    }
}

async fn answer(app: &TestApp, token: &str, case_id: i64, fixed: bool) -> (StatusCode, Value) {
    app.send(
        Some(token),
        Method::POST,
        &format!("/api/v1/cases/{case_id}/followup"),
        Some(json!({ "fixed": fixed })),
    )
    .await
}

fn kinds(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["kind"].as_str().expect("kind").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn was_it_fixed_takes_one_answer_per_resident_and_a_reporters_no_goes_to_the_shift_lead() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let (reporter_phone, follower_phone) = ("13900001111", "13900002222");
    let reporter = sign_up(&app, reporter_phone).await;
    let follower = sign_up(&app, follower_phone).await;
    let stranger = sign_up(&app, "13900003333").await;
    let (status, filed) = app
        .send(
            Some(&reporter),
            Method::POST,
            "/api/v1/appeals",
            Some(json!({"channel": "web", "text": "幸福路路灯不亮，晚上很黑", "area_id": f.grid_a, "category_id": f.category})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{filed}");
    let case_id = filed["case_id"].as_i64().expect("case");
    let number = filed["number"].as_str().expect("number").to_owned();
    let (status, body) = app
        .send(
            Some(&follower),
            Method::POST,
            &format!("/api/v1/cases/{case_id}/join"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Not before the case is closed.
    let (status, body) = answer(&app, &reporter, case_id, true).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "case_not_closed");

    close(&app, case_id).await;
    deliver(&app).await;
    // The reporter and the follower are each asked once.
    for phone in [reporter_phone, follower_phone] {
        let asked = kinds(&sink(&app, phone).await);
        assert_eq!(
            asked.iter().filter(|k| *k == "followup").count(),
            1,
            "{phone}: {asked:?}"
        );
    }

    // Someone who neither reported nor follows the case cannot answer; staff cannot either.
    let (status, body) = answer(&app, &stranger, case_id, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app
        .post(
            "operator",
            &format!("/api/v1/cases/{case_id}/followup"),
            json!({"fixed": true}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // The follower says fixed: counted, not flagged; once only.
    let (status, body) = answer(&app, &follower, case_id, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"fixed": true, "flagged": false}));
    let (status, body) = answer(&app, &follower, case_id, false).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "followup_answered");

    // The reporter says not fixed: the case stays closed (only a shift lead reopens) and is flagged.
    let (status, body) = answer(&app, &reporter, case_id, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"fixed": false, "flagged": true}));
    let (_, case) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(case["state"], "closed");
    let (status, flagged) = app.get("shiftlead", "/api/v1/followups/flagged").await;
    assert_eq!(status, StatusCode::OK, "{flagged}");
    assert_eq!(flagged.as_array().expect("list").len(), 1, "{flagged}");
    assert_eq!(flagged[0]["number"], number.as_str());
    let (status, _) = app
        .send(
            Some(&reporter),
            Method::GET,
            "/api/v1/followups/flagged",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, mine) = app
        .send(Some(&reporter), Method::GET, "/api/v1/me/followups", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine[0]["case_id"], case_id);
    assert_eq!(mine[0]["fixed"], false);

    // Both answers are audited on the case.
    let (_, trail) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    let answers: Vec<&Value> = trail
        .as_array()
        .expect("trail")
        .iter()
        .filter(|t| t["action"] == "followup")
        .collect();
    assert_eq!(answers.len(), 2, "{trail}");
    assert_eq!(answers[1]["detail"]["flagged"], true);

    // The "fixed confirmed" rate: one of two answers.
    let (status, counts) = app.get("leader", "/api/v1/stats/followups?days=7").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        counts,
        json!({"fixed": 1, "not_fixed": 1, "answered": 2, "fixed_rate": 0.5})
    );

    // The public timeline shows both answers, dated, with no one named.
    let (status, timeline) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/public/cases/{number}/timeline"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    assert_eq!(
        timeline["followup"],
        json!({"fixed": 1, "not_fixed": 1, "reporter_not_fixed": true})
    );
    let steps = timeline["steps"].as_array().expect("steps");
    let followups: Vec<&Value> = steps.iter().filter(|s| s["status"] == "followup").collect();
    assert_eq!(followups.len(), 2, "{timeline}");
    assert!(
        followups[1]["summary"]
            .as_str()
            .expect("summary")
            .contains("反映人表示问题未解决"),
        "{timeline}"
    );
    assert_eq!(steps.last(), followups.last().copied(), "answers come last");
    assert!(!timeline.to_string().contains(reporter_phone));

    // The shift lead reopens: the case leaves the flagged list. Closed again, nobody who
    // answered is asked twice.
    let (status, body) = app
        .act(
            "shiftlead",
            case_id,
            json!({"action": "reopen", "reason": "反映人回访未解决"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, flagged) = app.get("shiftlead", "/api/v1/followups/flagged").await;
    assert_eq!(flagged, json!([]));
    let (status, body) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (user, action) in [
        ("handler_a", json!({"action": "accept"})),
        (
            "handler_a",
            json!({"action": "feedback", "note": "更换灯具"}),
        ),
        (
            "supervisor_a",
            json!({"action": "check_pass", "note": "已亮"}),
        ),
        ("shiftlead", json!({"action": "close"})),
    ] {
        let (status, body) = app.act(user, case_id, action.clone()).await;
        assert_eq!(status, StatusCode::OK, "{user} {action}: {body}");
    }
    deliver(&app).await;
    let asked = kinds(&sink(&app, reporter_phone).await);
    assert_eq!(
        asked.iter().filter(|k| *k == "followup").count(),
        1,
        "{asked:?}"
    );
    assert_eq!(
        asked.iter().filter(|k| *k == "closed").count(),
        2,
        "{asked:?}"
    );
}

fn gazetteer_row(row: usize, name: &str, kind: &str, lon: f64, lat: f64) -> GazetteerInput {
    GazetteerInput {
        row,
        name: name.to_owned(),
        kind: kind.to_owned(),
        lon: lon.to_string(),
        lat: lat.to_string(),
        crs: "wgs84".to_owned(),
        aliases: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_base_map_is_bounded_names_roads_and_places_only_and_finds_the_nearest_address()
{
    let app = TestApp::start().await;
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    let mut rows = vec![
        gazetteer_row(1, "幸福路", "road", 116.3000, 39.9000),
        gazetteer_row(2, "幸福路8号", "address", 116.3010, 39.9010),
        gazetteer_row(3, "人民公园", "poi", 116.3100, 39.9100),
    ];
    // More places than one layer holds.
    for i in 0..1000 {
        rows.push(gazetteer_row(
            4 + i,
            &format!("便民点{i}"),
            "poi",
            116.2 + i as f64 * 0.0001,
            39.8,
        ));
    }
    let report = app
        .services
        .import_gazetteer(&admin, &rows)
        .await
        .expect("import");
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    let res = app
        .http
        .get(format!("{}/api/v1/public/basemap", app.base))
        .send()
        .await
        .expect("basemap");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=300")
    );
    let map: Value = res.json().await.expect("json");
    let roads = map["roads"].as_array().expect("roads");
    let places = map["places"].as_array().expect("places");
    assert_eq!(roads.len(), 1, "{roads:?}");
    assert_eq!(roads[0]["name"], "幸福路");
    assert!(
        (500..=800).contains(&places.len()),
        "thinned to the bound: {}",
        places.len()
    );
    assert_eq!(map["truncated"], true);
    // Names and points only; door-plate addresses never.
    for point in roads.iter().chain(places) {
        let mut sorted: Vec<&str> = point
            .as_object()
            .expect("point")
            .keys()
            .map(String::as_str)
            .collect();
        sorted.sort_unstable();
        assert_eq!(sorted, ["kind", "lat", "lon", "name"]);
        assert_ne!(point["kind"], "address");
    }
    assert!(!map.to_string().contains("幸福路8号"));

    // The reverse lookup behind "use my location": the nearest entry within 500 m, addresses
    // included, and nothing far from every entry.
    let (status, near) = app
        .send(
            None,
            Method::GET,
            "/api/v1/public/nearest?lat=39.90105&lon=116.30105",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{near}");
    assert_eq!(near["nearest"]["name"], "幸福路8号");
    assert!(
        near["nearest"]["distance_m"].as_f64().expect("m") < 10.0,
        "{near}"
    );
    assert!(near["areas"].is_array());
    let (status, far) = app
        .send(
            None,
            Method::GET,
            "/api/v1/public/nearest?lat=30.0&lon=120.0",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{far}");
    assert_eq!(far["nearest"], Value::Null);
    let (status, bad) = app
        .send(
            None,
            Method::GET,
            "/api/v1/public/nearest?lat=95&lon=116.3",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["code"], "invalid_location");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hotline_files_the_appeal_type_the_operator_picked_and_the_case_shows_it() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let mut numbers = Vec::new();
    for (kind, text) in [
        ("complaint", "投诉：小区门口商户占道经营"),
        ("举报", "举报：夜间违规施工噪音扰民"),
        ("help", "求助：楼道灯坏了"),
    ] {
        let (status, filed) = app
            .post(
                "operator",
                "/api/v1/appeals",
                json!({"channel": "hotline", "text": text, "area_id": f.grid_a, "appeal_type": kind}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{filed}");
        numbers.push(filed["case_id"].as_i64().expect("case"));
    }
    // The type is on the case: its receive step says it.
    for (case_id, expected) in numbers.iter().zip(["complaint", "report", "help"]) {
        let (_, trail) = app
            .get("shiftlead", &format!("/api/v1/cases/{case_id}/trail"))
            .await;
        assert_eq!(trail[0]["action"], "receive", "{trail}");
        assert_eq!(trail[0]["detail"]["appeal_type"], expected, "{trail}");
    }
    let (status, counts) = app.get("leader", "/api/v1/stats/appeal-types?days=1").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    for row in counts.as_array().expect("counts") {
        let expected = match row["appeal_type"].as_str().expect("type") {
            "complaint" | "report" | "help" => 1,
            _ => 0,
        };
        assert_eq!(row["cases"], expected, "{row}");
    }
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"channel": "hotline", "text": "随便说说", "area_id": f.grid_a, "appeal_type": "gossip"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
