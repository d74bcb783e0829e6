//! Repeats told differently (issue 23): the repeat model merges a reworded report of the same
//! problem, keeps a template complaint about another 小区 apart, and shows the dispatcher why.

use reqwest::StatusCode;
use serde_json::json;
use urbis_test_support::TestApp;

const FIRST: &str = "幸福路阳光小区3号楼门口的垃圾桶已经满了三天没有人清运，臭味很大，请尽快处理";
const REWORDED: &str =
    "阳光小区3号楼那边的垃圾还是没人来收，垃圾桶早就满了，天热臭得不行，麻烦环卫赶紧来清运一下。";
const OTHER_ESTATE: &str =
    "幸福路翠湖小区3号楼门口的垃圾桶已经满了三天没有人清运，臭味很大，请尽快处理";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reworded_repeat_from_the_same_reporter_merges_and_the_trail_says_why() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let appeal = |text: &str| {
        json!({"text": text, "area_id": f.grid_a, "category_id": f.category,
               "reporter_name": "张三", "reporter_phone": "13812345678"})
    };
    let (status, first) = app.post("operator", "/api/v1/appeals", appeal(FIRST)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let first = first["case_id"].as_i64().expect("id");
    // Reworded: MinHash over character 3-grams alone would not link these.
    assert!(urbis_text::dedup::similarity(FIRST, REWORDED) < 0.5);
    let (status, repeat) = app
        .post("operator", "/api/v1/appeals", appeal(REWORDED))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{repeat}");
    assert_eq!(
        (repeat["case_id"].as_i64(), repeat["merged"].as_bool()),
        (Some(first), Some(true)),
        "{repeat}"
    );
    let (_, trail) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}/trail"))
        .await;
    let merge = trail
        .as_array()
        .expect("trail")
        .iter()
        .find(|r| r["action"] == "merge_repeat")
        .expect("merge audited")
        .clone();
    let explanation = merge["detail"]["explanation"]
        .as_str()
        .expect("explanation");
    assert!(explanation.starts_with("判定为同一问题"), "{explanation}");
    assert!(explanation.contains("地点一致「阳光小区"), "{explanation}");
    assert!(explanation.contains("同一反映人"), "{explanation}");
    let signals = merge["detail"]["signals"].as_array().expect("signals");
    assert_eq!(signals.len(), urbis_text::repeat::SIGNALS.len());
    assert!(
        merge["detail"]["similarity"].as_f64() >= Some(0.8),
        "{merge}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_complaint_about_another_estate_opens_its_own_case() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let first = app
        .file_appeal("operator", f.grid_a, f.category, FIRST)
        .await;
    // The same words with another 小区 swapped in, same grid and category: not a repeat.
    assert!(urbis_text::dedup::similarity(FIRST, OTHER_ESTATE) > 0.5);
    let other = app
        .file_appeal("operator", f.grid_a, f.category, OTHER_ESTATE)
        .await;
    assert_ne!(other, first);
    // The operator typing it sees no possible duplicate either; the reworded one is suggested with a reason.
    let grid_a = app
        .get("admin", "/api/v1/areas")
        .await
        .1
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["id"] == f.grid_a)
        .and_then(|a| a["code"].as_str().map(str::to_owned))
        .expect("grid code");
    let category = app.fixture.category;
    let (_, categories) = app.get("admin", "/api/v1/categories").await;
    let code = categories
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["id"] == category)
        .and_then(|c| c["code"].as_str().map(str::to_owned))
        .expect("category code");
    let (status, s) = app
        .post(
            "operator",
            "/api/v1/intake/suggest",
            json!({"text": REWORDED, "area_code": grid_a, "category_code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    let ids: Vec<i64> = s["duplicates"]
        .as_array()
        .expect("duplicates")
        .iter()
        .filter_map(|d| d["id"].as_i64())
        .collect();
    assert_eq!(ids, [first], "{s}");
    let reason = s["duplicates"][0]["reason"].as_str().expect("reason");
    assert!(reason.contains("地点一致"), "{reason}");
}

/// Repeats of one case arriving together are written in one group commit: each joins the case
/// once, each `merge_repeat` record names its own appeal, and the counters and the chain hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_arriving_together_each_join_the_case_once() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let first = app
        .file_appeal("operator", f.grid_a, f.category, FIRST)
        .await;
    const REPEATS: usize = 24;
    let sends = (0..REPEATS).map(|i| {
        let body = json!({
            "text": format!("{REWORDED}（第{i}次来电）"), "area_id": f.grid_a, "category_id": f.category,
            "reporter_name": "李四", "reporter_phone": format!("1390000{i:04}"),
        });
        let app = &app;
        async move { app.post("operator", "/api/v1/appeals", body).await }
    });
    for (status, body) in futures::future::join_all(sends).await {
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(
            (body["case_id"].as_i64(), body["merged"].as_bool()),
            (Some(first), Some(true)),
            "{body}"
        );
    }
    let (_, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}"))
        .await;
    assert_eq!(case["reporter_count"], REPEATS as i64 + 1, "{case}");
    let (_, appeals) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}/appeals"))
        .await;
    let mut appeal_ids: Vec<i64> = appeals
        .as_array()
        .expect("appeals")
        .iter()
        .filter_map(|a| a["id"].as_i64())
        .collect();
    assert_eq!(appeal_ids.len(), REPEATS + 1, "{appeals}");
    let (_, trail) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}/trail"))
        .await;
    let mut merged: Vec<i64> = trail
        .as_array()
        .expect("trail")
        .iter()
        .filter(|r| r["action"] == "merge_repeat")
        .filter_map(|r| r["detail"]["appeal_id"].as_i64())
        .collect();
    merged.sort_unstable();
    appeal_ids.sort_unstable();
    // Every appeal but the first is named by exactly one merge record.
    assert_eq!(merged, appeal_ids[1..], "{trail}");
    let db = app.services.db();
    let chain = urbis_service::audit::verify_chain(db).await.expect("chain");
    assert!(chain.first_break.is_none());
    let differences = urbis_service::audit::verify_counters(db)
        .await
        .expect("recount");
    assert!(differences.is_empty(), "{differences:?}");
}
