//! The consoles as people work them (issue 15), at the API: a dispatch with instructions and a
//! deadline within the category's time limit, and a taxonomy import with a dry run and an undo.

use reqwest::StatusCode;
use serde_json::json;
use urbis_test_support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatch_carries_instructions_and_a_deadline_within_the_limit() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case = app
        .file_appeal("operator", f.grid_a, f.category, "路边垃圾堆了三天")
        .await;
    app.act("shiftlead", case, json!({"action": "register"}))
        .await;
    // 暴露垃圾 inherits 市容环境's limit of 2 working days: 3 is later than allowed.
    let dispatch = |extra: serde_json::Value| {
        let mut body = json!({"action": "dispatch", "lead_dept_id": f.dept_a});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let (status, body) = app
        .act("dispatcher", case, dispatch(json!({"limit_amount": 3})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "deadline_beyond_limit");
    let (status, body) = app
        .act("dispatcher", case, dispatch(json!({"limit_amount": 0})))
        .await;
    assert_eq!(body["code"], "invalid_deadline", "{status} {body}");
    // Shorter needs a reason.
    let (status, body) = app
        .act("dispatcher", case, dispatch(json!({"limit_amount": 1})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "deadline_reason_required");
    let (_, still) = app.get("admin", &format!("/api/v1/cases/{case}")).await;
    assert_eq!(
        still["state"], "registered",
        "a refused dispatch changed nothing"
    );
    let (status, body) = app
        .act(
            "dispatcher",
            case,
            dispatch(json!({
                "limit_amount": 1,
                "deadline_reason": "学校门口，明早开学前清走",
                "instructions": "先清运，再查明倾倒来源并拍照反馈"
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "dispatched");
    assert_eq!(body["limit_amount"], 1);
    assert_eq!(body["dispatch_order"]["limit_amount"], 1);
    assert_eq!(body["dispatch_order"]["category_amount"], 2);
    // The handling department reads the instructions on its list and the case.
    let (_, list) = app.get("handler_a", "/api/v1/cases?state=dispatched").await;
    let mine = list
        .as_array()
        .expect("list")
        .iter()
        .find(|c| c["id"] == case)
        .expect("the case is on the handler's list");
    assert_eq!(
        mine["dispatch_order"]["instructions"],
        "先清运，再查明倾倒来源并拍照反馈"
    );
    assert_eq!(
        mine["dispatch_order"]["deadline_reason"],
        "学校门口，明早开学前清走"
    );
    // The trail's dispatch step says it in words.
    let (_, trail) = app
        .get("handler_a", &format!("/api/v1/cases/{case}/trail"))
        .await;
    let step = trail
        .as_array()
        .expect("trail")
        .iter()
        .find(|s| s["action"] == "dispatch")
        .expect("dispatch step");
    assert_eq!(step["detail"]["text"], "先清运，再查明倾倒来源并拍照反馈");
    assert_eq!(step["detail"]["limit_amount"], 1);
    assert_eq!(step["detail"]["category_limit"], 2);
    // A return forgets the order; a plain re-dispatch has none and runs on the category's limit.
    let (status, body) = app
        .act(
            "handler_a",
            case,
            json!({"action": "return", "reason": "不属于本部门"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["dispatch_order"].is_null(), "{body}");
    let (status, body) = app.act("dispatcher", case, dispatch(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["dispatch_order"].is_null(), "{body}");
    assert_eq!(body["limit_amount"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taxonomy_import_previews_applies_and_undoes() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let count = |v: &serde_json::Value| v.as_array().expect("categories").len();
    let (_, before) = app.get("admin", "/api/v1/categories").await;
    let rows = json!([
        ["市容环境", "暴露垃圾"],
        ["新大类", "新小类", "新细类"],
        ["新大类", "新小类2"],
        ["", "", ""]
    ]);
    // Dry run: says what would change, stores nothing.
    let (status, dry) = app
        .post(
            "admin",
            "/api/v1/categories/import",
            json!({"rows": rows, "dry_run": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["created"], 4, "{dry}");
    assert_eq!(dry["unchanged"], 1, "{dry}");
    assert_eq!(dry["problems"].as_array().expect("problems").len(), 1);
    assert_eq!(dry["new_paths"][0], "新大类");
    assert_eq!(dry["without_limit_count"], 4, "{dry}");
    assert_eq!(dry["without_rule_count"], 4, "{dry}");
    assert!(dry["import_id"].is_null());
    let (_, same) = app.get("admin", "/api/v1/categories").await;
    assert_eq!(count(&same), count(&before), "a dry run stored categories");
    let (_, last) = app.get("admin", "/api/v1/categories/import/last").await;
    assert!(last.is_null() || last["rows"] != 4, "{last}");
    // Applied.
    let (status, done) = app
        .post("admin", "/api/v1/categories/import", json!({"rows": rows}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["created"], 4);
    let import_id = done["import_id"].as_i64().expect("import id");
    let (_, after) = app.get("admin", "/api/v1/categories").await;
    assert_eq!(count(&after), count(&before) + 4);
    let (_, last) = app.get("admin", "/api/v1/categories/import/last").await;
    assert_eq!(last["import_id"], import_id);
    assert_eq!(last["categories"], 4);
    // Only the admin undoes.
    let (status, _) = app
        .post("shiftlead", "/api/v1/categories/import/undo", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A case filed under a new category keeps the import.
    let new_id = after
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["name"] == "新细类")
        .expect("new category")["id"]
        .as_i64()
        .expect("id");
    let case = app
        .file_appeal("operator", f.grid_a, new_id, "新分类下的诉求")
        .await;
    let (status, body) = app
        .post("admin", "/api/v1/categories/import/undo", json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "import_in_use");
    // Once that case is on an older category, the undo goes through and is audited.
    let token = app.token("shiftlead").await;
    let (status, body) = app
        .send(
            Some(&token),
            reqwest::Method::PATCH,
            &format!("/api/v1/cases/{case}"),
            Some(json!({"category_id": f.category})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .post("admin", "/api/v1/categories/import/undo", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["removed"], 4);
    let (_, undone) = app.get("admin", "/api/v1/categories").await;
    assert_eq!(count(&undone), count(&before));
    let (status, body) = app
        .post("admin", "/api/v1/categories/import/undo", json!({}))
        .await;
    // The fixture's own import remains, and its categories are in use.
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "import_in_use");
    let report = urbis_service::audit::verify_chain(app.services.db())
        .await
        .expect("verify");
    assert!(report.first_break.is_none(), "{report:?}");
}
