//! Intake intelligence, second part: unsure cases wait for review with the top suggestions and a
//! proposed route; people's corrections and returns are kept as training data; category severity
//! and repeats at a place weigh into the priority; the operator sees suggestions while typing;
//! residents whose repeat reports joined a case follow it and are told how it goes.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_service::Clock;
use urbis_test_support::TestApp;

/// A server whose classifier is never sure enough to apply its category by itself.
async fn unsure_app() -> TestApp {
    let app = TestApp::start_with(Clock::System, |config| {
        config.auto_category_min_confidence = 1.5;
    })
    .await;
    app.services
        .set_classifier(urbis_text::demo::demo_model())
        .await
        .expect("model");
    app
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect()
}

async fn area_code(app: &TestApp, id: i64) -> String {
    let (_, areas) = app.get("admin", "/api/v1/areas").await;
    areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["id"] == id)
        .and_then(|a| a["code"].as_str())
        .expect("area code")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsure_cases_wait_for_review_and_a_correction_becomes_training_data() {
    let app = unsure_app().await;
    let f = app.fixture.clone();
    let (status, accepted) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "小区门口的垃圾桶满了好几天没人清运，臭气熏天，苍蝇很多", "area_id": f.grid_a}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{accepted}");
    let unsure = accepted["case_id"].as_i64().expect("id");
    let sure = app
        .file_appeal("operator", f.grid_a, f.category, "人行道上有一堆建筑垃圾")
        .await;
    let (_, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{unsure}"))
        .await;
    assert_eq!(case["category_id"], Value::Null);
    assert_eq!(case["needs_review"], true);
    let suggestions = case["suggestions"].as_array().expect("suggestions");
    assert!((1..=3).contains(&suggestions.len()), "{case}");
    assert_eq!(suggestions[0]["code"], "0101");
    assert_eq!(suggestions[0]["category_id"], f.category);
    let confidences: Vec<f64> = suggestions
        .iter()
        .filter_map(|s| s["confidence"].as_f64())
        .collect();
    assert!(confidences.windows(2).all(|w| w[0] >= w[1]), "best first");
    // The route follows the best suggestion while the category waits: district A's department.
    assert_eq!(case["proposed_route"]["lead_dept_id"], f.dept_a, "{case}");
    assert_eq!(case["proposed_route"]["basis"], "suggestion");
    let (_, trail) = app
        .get("dispatcher", &format!("/api/v1/cases/{unsure}/trail"))
        .await;
    assert_eq!(trail[0]["detail"]["needs_review"], true);
    assert_eq!(trail[0]["detail"]["classifier"]["top"][0]["code"], "0101");
    // The request prepared the detail; the writer put the case's number and area in front.
    assert_eq!(trail[0]["detail"]["number"], case["number"], "{trail}");
    assert_eq!(trail[0]["detail"]["area_id"], f.grid_a, "{trail}");
    assert_eq!(trail[0]["detail"]["channel"], "hotline", "{trail}");

    // The review queue holds the unsure case, not the categorised one.
    let (status, review) = app.get("dispatcher", "/api/v1/cases?review=true").await;
    assert_eq!(status, StatusCode::OK, "{review}");
    assert_eq!(ids(&review), vec![unsure]);
    let (_, sure_case) = app
        .get("dispatcher", &format!("/api/v1/cases/{sure}"))
        .await;
    assert_eq!(sure_case["needs_review"], false);
    assert_eq!(sure_case["proposed_route"]["basis"], "category");

    // The dispatcher corrects the category: the case leaves the queue, the route follows the new
    // category, and the correction is kept for training.
    let token = app.token("dispatcher").await;
    let (status, corrected) = app
        .send(
            Some(&token),
            Method::PATCH,
            &format!("/api/v1/cases/{unsure}"),
            Some(json!({"category_id": f.other_category})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    assert_eq!(corrected["needs_review"], false);
    assert_eq!(corrected["proposed_route"]["lead_dept_id"], f.dept_city);
    let (_, review) = app.get("dispatcher", "/api/v1/cases?review=true").await;
    assert_eq!(ids(&review), Vec::<i64>::new());
    let (status, examples) = app.get("admin", "/api/v1/training-examples").await;
    assert_eq!(status, StatusCode::OK, "{examples}");
    let examples = examples.as_array().expect("examples");
    assert_eq!(examples.len(), 1, "{examples:?}");
    assert_eq!(
        (
            examples[0]["case_id"].as_i64(),
            examples[0]["source"].as_str(),
            examples[0]["label"].as_str(),
            examples[0]["previous"].as_str()
        ),
        (Some(unsure), Some("correction"), Some("0201"), Some("0101"))
    );
    let (status, _) = app.get("dispatcher", "/api/v1/training-examples").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.get("admin", "/api/v1/training-examples?limit=0").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_limit"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returned_dispatch_is_kept_and_exported_for_training() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal(
            "operator",
            f.grid_a,
            f.category,
            "垃圾堆在路边没人管，电话13912345678",
        )
        .await;
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    let (status, body) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(
            "handler_a",
            case_id,
            json!({"action": "return", "reason": "不属于本部门职责"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, examples) = app.get("admin", "/api/v1/training-examples").await;
    let example = &examples[0];
    assert_eq!(example["source"], "return");
    assert_eq!(example["label"], "0101");
    assert_eq!(example["note"], "不属于本部门职责");
    assert!(
        !example["text"]
            .as_str()
            .unwrap_or_default()
            .contains("13912345678"),
        "the API masks personal data: {example}"
    );
    let (_, depts) = app.get("admin", "/api/v1/departments").await;
    let dept_a_code = depts
        .as_array()
        .expect("depts")
        .iter()
        .find(|d| d["id"] == f.dept_a)
        .and_then(|d| d["code"].as_str())
        .expect("code")
        .to_owned();
    assert_eq!(example["previous"], dept_a_code.as_str());

    // `urbis export training` writes it out as a table `urbis train` reads.
    let out = tempfile::NamedTempFile::new().expect("temp");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["export", "training", "--db"])
        .arg(&app.db_path)
        .arg("--out")
        .arg(out.path())
        .status()
        .expect("run urbis export");
    assert!(status.success());
    let mut reader = csv::Reader::from_path(out.path()).expect("csv");
    let header = reader.headers().expect("header").clone();
    assert_eq!(&header[0], "text");
    assert_eq!(&header[1], "label");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][1], "0101");
    assert_eq!(&rows[0][2], "return");
    assert!(
        rows[0][0].contains("13912345678"),
        "training needs the text as written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn category_severity_and_repeats_at_a_place_raise_the_priority() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let admin = app.token("admin").await;
    let patch = |id: i64, body: Value| {
        let admin = admin.clone();
        let app = &app;
        async move {
            app.send(
                Some(&admin),
                Method::PATCH,
                &format!("/api/v1/categories/{id}"),
                Some(body),
            )
            .await
        }
    };
    assert_eq!(
        patch(f.other_category, json!({"severity": 0.95})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        patch(f.category, json!({"severity": 0.1})).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = patch(f.category, json!({"severity": 1.5})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_severity"))
    );
    let (status, _) = patch(999_999, json!({"severity": 0.5})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let dispatcher = app.token("dispatcher").await;
    let (status, _) = app
        .send(
            Some(&dispatcher),
            Method::PATCH,
            &format!("/api/v1/categories/{}", f.category),
            Some(json!({"severity": 0.9})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, categories) = app.get("admin", "/api/v1/categories").await;
    let severity_of = |id: i64| {
        categories
            .as_array()
            .expect("categories")
            .iter()
            .find(|c| c["id"] == id)
            .and_then(|c| c["severity"].as_f64())
    };
    assert_eq!(
        severity_of(f.category),
        Some(0.1),
        "the bad value harmed nothing"
    );

    // The same calm words weigh more in a severe category.
    let severe = app
        .file_appeal("operator", f.grid_b, f.other_category, "请有关部门来看一下")
        .await;
    let mild = app
        .file_appeal("operator", f.grid_b, f.category, "请有关部门来看一下")
        .await;
    let score = |case: &Value| case["priority_score"].as_i64().expect("score");
    let (_, severe) = app
        .get("operator", &format!("/api/v1/cases/{severe}"))
        .await;
    let (_, mild) = app.get("operator", &format!("/api/v1/cases/{mild}")).await;
    assert!(score(&severe) > score(&mild), "{severe} {mild}");

    // Different problems of one category piling up in one grid: the place factor grows.
    let texts = [
        "东门岗亭旁边垃圾桶倒了",
        "三号楼后面有人扔了一袋装修垃圾",
        "篮球场边上的果皮箱满了",
        "幼儿园围墙外堆着几袋生活垃圾",
    ];
    let mut places = Vec::new();
    for text in texts {
        let id = app
            .file_appeal("operator", f.grid_a, f.category, text)
            .await;
        let (_, case) = app.get("operator", &format!("/api/v1/cases/{id}")).await;
        assert_eq!(case["reporter_count"], 1, "{case}");
        let place = case["priority_factors"]
            .as_array()
            .expect("factors")
            .iter()
            .find(|f| f["code"] == "repeat_place")
            .and_then(|f| f["points"].as_i64())
            .unwrap_or(0);
        places.push(place);
    }
    assert_eq!(places[0], 0, "the first at a place is not a repeat");
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "each earlier case adds weight: {places:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sees_category_duplicates_and_route_while_typing() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    app.services
        .set_classifier(urbis_text::demo::demo_model())
        .await
        .expect("model");
    let text = "幸福路阳光小区3号楼门口的垃圾桶已经满了三天没有人清运，臭味很大，请尽快处理";
    let open = app
        .file_appeal("operator", f.grid_a, f.category, text)
        .await;
    let grid_a = area_code(&app, f.grid_a).await;
    let (_, before) = app.get("admin", "/api/v1/cases?limit=500").await;
    let typed = "幸福路阳光小区3号楼门口的垃圾桶已经满了三天没人清运，臭味很大，请尽快处理！";
    let (status, s) = app
        .post(
            "operator",
            "/api/v1/intake/suggest",
            json!({"text": typed, "area_code": grid_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["categories"][0]["code"], "0101", "{s}");
    assert_eq!(s["duplicates"][0]["id"], open, "{s}");
    assert!(s["duplicates"][0]["similarity"].as_f64() >= Some(0.5));
    assert_eq!(s["area"]["id"], f.grid_a);
    assert_eq!(s["route"]["lead"]["id"], f.dept_a, "{s}");
    assert_eq!(s["pii"], json!([]));
    let (_, with_phone) = app
        .post(
            "operator",
            "/api/v1/intake/suggest",
            json!({"text": format!("{typed}我电话13912345678"), "area_code": grid_a}),
        )
        .await;
    assert_eq!(with_phone["pii"], json!(["mobile"]), "{with_phone}");
    let masked = with_phone["masked_text"].as_str().expect("masked");
    assert!(masked.contains("139****5678"), "{masked}");
    let factors = s["priority"]["factors"].as_array().expect("factors");
    let sum: i64 = factors.iter().filter_map(|f| f["points"].as_i64()).sum();
    assert_eq!(Some(sum), s["priority"]["score"].as_i64());
    // Another district's case is not offered: the place differs.
    let grid_b = area_code(&app, f.grid_b).await;
    let (_, elsewhere) = app
        .post(
            "operator",
            "/api/v1/intake/suggest",
            json!({"text": typed, "area_code": grid_b}),
        )
        .await;
    assert_eq!(elsewhere["duplicates"], json!([]), "{elsewhere}");
    // Residents get categories but never other people's cases.
    let (status, resident) = app
        .post(
            "resident",
            "/api/v1/intake/suggest",
            json!({"text": typed, "area_code": grid_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resident["categories"][0]["code"], "0101");
    assert_eq!(resident["duplicates"], json!([]));
    // Bad input: stable codes, and suggesting stores nothing.
    for (body, code) in [
        (json!({"text": "  "}), "empty_text"),
        (json!({"text": "x".repeat(5_001)}), "text_too_long"),
        (
            json!({"text": "垃圾", "area_code": "999999999"}),
            "unknown_area",
        ),
        (
            json!({"text": "垃圾", "category_code": "9999"}),
            "unknown_category",
        ),
        (
            json!({"text": "垃圾", "lat": 91.0, "lon": 0.0}),
            "invalid_location",
        ),
    ] {
        let (status, body) = app.post("operator", "/api/v1/intake/suggest", body).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{body}"
        );
    }
    let (status, _) = app
        .send(
            None,
            Method::POST,
            "/api/v1/intake/suggest",
            Some(json!({"text": "垃圾"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, after) = app.get("admin", "/api/v1/cases?limit=500").await;
    assert_eq!(ids(&before), ids(&after));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residents_whose_reports_were_merged_follow_the_case_and_are_told() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let text = "幸福路阳光小区3号楼门口的垃圾桶已经满了三天没有人清运，臭味很大，请尽快处理";
    let first = app
        .post(
            "resident",
            "/api/v1/appeals",
            json!({"text": text, "area_id": f.grid_a, "category_id": f.category}),
        )
        .await
        .1["case_id"]
        .as_i64()
        .expect("id");
    let (status, _) = app
        .get("resident2", &format!("/api/v1/cases/{first}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not theirs yet");
    let (_, repeat) = app
        .post(
            "resident2",
            "/api/v1/appeals",
            json!({"text": format!("{text}！"), "area_id": f.grid_a, "category_id": f.category}),
        )
        .await;
    assert_eq!(repeat["merged"], true, "{repeat}");
    assert_eq!(repeat["case_id"], first);
    // Counted and told, but the case and its evidence stay its first reporter's (issue 13).
    let (status, case) = app
        .get("resident2", &format!("/api/v1/cases/{first}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{case}");
    let (_, mine) = app.get("resident2", "/api/v1/cases").await;
    assert!(ids(&mine).is_empty(), "{mine}");
    let (_, notes) = app.get("resident2", "/api/v1/notifications").await;
    assert_eq!(notes[0]["kind"], "merged", "{notes}");
    // Both reporters hear that it was dispatched; nobody else does.
    app.act("shiftlead", first, json!({"action": "register"}))
        .await;
    app.act(
        "dispatcher",
        first,
        json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
    )
    .await;
    for resident in ["resident", "resident2"] {
        let (_, notes) = app.get(resident, "/api/v1/notifications").await;
        assert_eq!(notes[0]["kind"], "progress", "{resident}: {notes}");
        assert_eq!(notes[0]["case_id"], first);
    }
    let (_, operator_notes) = app.get("operator", "/api/v1/notifications").await;
    assert!(
        operator_notes
            .as_array()
            .expect("notes")
            .iter()
            .all(|n| n["kind"] != "progress")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_from_a_neighbouring_grid_of_the_community_joins_the_case() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let (_, areas) = app.get("admin", "/api/v1/areas").await;
    let grid_a = areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["id"] == f.grid_a)
        .expect("grid a")
        .clone();
    let code = grid_a["code"].as_str().expect("code");
    let (status, neighbour) = app
        .post(
            "admin",
            "/api/v1/areas",
            json!({"code": format!("{}009", &code[..12]), "name": "九网格", "level": "grid",
                   "parent_id": grid_a["parent_id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{neighbour}");
    let neighbour = neighbour["id"].as_i64().expect("id");
    let text = "幸福路阳光小区3号楼门口的垃圾桶已经满了三天没有人清运，臭味很大，请尽快处理";
    let first = app
        .file_appeal("operator", f.grid_a, f.category, text)
        .await;
    let (_, repeat) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": format!("{text}！"), "area_id": neighbour, "category_id": f.category}),
        )
        .await;
    assert_eq!(
        (repeat["case_id"].as_i64(), repeat["merged"].as_bool()),
        (Some(first), Some(true)),
        "{repeat}"
    );
    // The other district's grid stays apart (see intelligence.rs for categories and districts).
    let far = app
        .file_appeal("operator", f.grid_b, f.category, text)
        .await;
    assert_ne!(far, first);
}
