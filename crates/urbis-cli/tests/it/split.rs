//! Splitting a wrong repeat merge (issue 23): the merged appeal becomes its own case with its own
//! clock, the original counts one reporter less, both trails keep the split, the counters and the
//! audit chain still verify, and the refusals carry their codes.

use reqwest::StatusCode;
use serde_json::json;
use urbis_test_support::TestApp;

const FIRST: &str = "幸福路阳光小区3号楼门口的垃圾桶已经满了三天没有人清运，臭味很大，请尽快处理";

fn trail_entry(trail: &serde_json::Value, action: &str) -> serde_json::Value {
    trail
        .as_array()
        .expect("trail")
        .iter()
        .rev()
        .find(|r| r["action"] == action)
        .unwrap_or_else(|| panic!("no {action} in {trail}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_undoes_a_merge_and_both_cases_keep_their_trails() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let first = app
        .file_appeal("operator", f.grid_a, f.category, FIRST)
        .await;
    let (status, repeat) = app
        .post(
            "resident2",
            "/api/v1/appeals",
            json!({"text": format!("{FIRST}！"), "area_id": f.grid_a, "category_id": f.category}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{repeat}");
    assert_eq!(
        (repeat["case_id"].as_i64(), repeat["merged"].as_bool()),
        (Some(first), Some(true))
    );
    let (_, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}"))
        .await;
    assert_eq!(case["reporter_count"], 2, "{case}");
    let (_, appeals) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}/appeals"))
        .await;
    let ids: Vec<i64> = appeals
        .as_array()
        .expect("appeals")
        .iter()
        .filter_map(|a| a["id"].as_i64())
        .collect();
    assert_eq!(ids.len(), 2, "{appeals}");
    let (original_appeal, merged) = (ids[0], ids[1]);
    let split = |case: i64, appeal: i64| format!("/api/v1/cases/{case}/appeals/{appeal}/split");
    let (_, doc) = app
        .send(None, reqwest::Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert!(
        doc["paths"]["/api/v1/cases/{id}/appeals/{appeal_id}/split"]["post"].is_object(),
        "the split is documented"
    );

    // Refusals: a role that does not dispatch, the appeal that opened the case, an appeal of
    // another case.
    let (status, body) = app.post("operator", &split(first, merged), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app
        .post("dispatcher", &split(first, original_appeal), json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("original_appeal")),
        "{body}"
    );
    let other = app
        .file_appeal(
            "operator",
            f.grid_b,
            f.category,
            "另一个区的路灯不亮了，晚上很黑",
        )
        .await;
    let (status, body) = app
        .post("dispatcher", &split(other, merged), json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("appeal_not_on_case")),
        "{body}"
    );
    let (status, body) = app
        .post(
            "dispatcher",
            &split(first, merged),
            json!({"reason": "x".repeat(501)}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_too_long")),
        "{body}"
    );

    // The split.
    let (status, body) = app
        .post(
            "dispatcher",
            &split(first, merged),
            json!({"reason": "不是同一栋楼"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let new_id = body["new_case"]["id"].as_i64().expect("new case id");
    assert_ne!(new_id, first);
    assert_eq!(body["new_case"]["state"], "received", "{body}");
    assert_eq!(body["new_case"]["reporter_count"], 1);
    assert_eq!(body["new_case"]["area_id"], f.grid_a);
    assert_eq!(body["new_case"]["category_id"], f.category);
    assert_ne!(body["new_case"]["number"], body["original"]["number"]);
    assert_eq!(body["original"]["reporter_count"], 1, "{body}");
    let (_, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}"))
        .await;
    assert_eq!(case["reporter_count"], 1, "{case}");
    let (_, appeals) = app
        .get("dispatcher", &format!("/api/v1/cases/{new_id}/appeals"))
        .await;
    let moved: Vec<i64> = appeals
        .as_array()
        .expect("appeals")
        .iter()
        .filter_map(|a| a["id"].as_i64())
        .collect();
    assert_eq!(moved, [merged], "{appeals}");
    let (_, appeals) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}/appeals"))
        .await;
    assert_eq!(appeals.as_array().map(Vec::len), Some(1), "{appeals}");

    // Both trails say what happened.
    let (_, trail) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}/trail"))
        .await;
    let record = trail_entry(&trail, "split_repeat");
    assert_eq!(record["detail"]["appeal_id"], merged, "{record}");
    assert_eq!(record["detail"]["new_case_id"], new_id, "{record}");
    assert_eq!(record["detail"]["reason"], "不是同一栋楼");
    assert!(
        trail
            .as_array()
            .expect("trail")
            .iter()
            .any(|r| r["action"] == "merge_repeat"),
        "the merge stays in the trail"
    );
    let (_, trail) = app
        .get("dispatcher", &format!("/api/v1/cases/{new_id}/trail"))
        .await;
    let record = trail_entry(&trail, "receive");
    assert_eq!(record["detail"]["split_from"], first, "{record}");
    assert_eq!(record["to_state"], "received");

    // The resident whose appeal it was owns the new case and was told.
    let (status, mine) = app
        .get("resident2", &format!("/api/v1/cases/{new_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let (_, notes) = app.get("resident2", "/api/v1/notifications").await;
    assert_eq!(
        (notes[0]["kind"].as_str(), notes[0]["case_id"].as_i64()),
        (Some("split"), Some(new_id)),
        "{notes}"
    );

    // The same resident writing again about their problem joins the new case, not the original.
    let (status, again) = app
        .post(
            "resident2",
            "/api/v1/appeals",
            json!({"text": format!("{FIRST}？"), "area_id": f.grid_a, "category_id": f.category}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(
        (again["case_id"].as_i64(), again["merged"].as_bool()),
        (Some(new_id), Some(true)),
        "{again}"
    );

    // The new case runs its own clock: dispatching it starts it, the original's stays unstarted.
    let (status, body) = app
        .act("shiftlead", new_id, json!({"action": "register"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(
            "dispatcher",
            new_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["due_at"].is_string(), "{body}");
    let (_, case) = app
        .get("dispatcher", &format!("/api/v1/cases/{first}"))
        .await;
    assert!(case["due_at"].is_null(), "{case}");

    // The audit chain, the case states and the kept counters all still verify.
    let db = app.services.db();
    let chain = urbis_service::audit::verify_chain(db).await.expect("chain");
    assert!(chain.first_break.is_none());
    assert_eq!(
        urbis_service::audit::verify_case_states(db)
            .await
            .expect("states"),
        None
    );
    let differences = urbis_service::audit::verify_counters(db)
        .await
        .expect("recount");
    assert!(differences.is_empty(), "{differences:?}");

    // Split once: the appeal is no longer on the original. A closed case keeps its appeals.
    let (status, body) = app
        .post("dispatcher", &split(first, merged), json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("appeal_not_on_case")),
        "{body}"
    );
    let (status, body) = app
        .act(
            "shiftlead",
            first,
            json!({"action": "void", "reason": "测试作废"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post("admin", &split(first, original_appeal), json!({}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("case_not_open")),
        "{body}"
    );
}
