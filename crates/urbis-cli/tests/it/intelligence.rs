//! Intake intelligence wired into intake: the classifier's suggestion (applied only when
//! confident, recorded in the audit trail either way) and personal data masked for roles without
//! a need to see it.

use reqwest::StatusCode;
use serde_json::json;
use urbis_test_support::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncategorised_appeals_get_the_classifiers_category_when_it_is_sure() {
    let app = TestApp::start().await;
    let matched = app
        .services
        .set_classifier(urbis_text::demo::demo_model())
        .await
        .expect("model");
    assert!(matched >= 1, "the fixture's 0101 暴露垃圾 matches a label");
    // Garbage: label 0101, which the fixture city has.
    let (status, accepted) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "小区门口的垃圾桶满了好几天没人清运，臭气熏天，苍蝇很多"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let case_id = accepted["case_id"].as_i64().expect("id");
    let (_, case) = app
        .get("operator", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(case["category_id"], app.fixture.category, "{case}");
    let (_, trail) = app
        .get("operator", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    assert_eq!(trail[0]["detail"]["classifier"]["label"], "0101");
    assert_eq!(trail[0]["detail"]["classifier"]["applied"], true);
    // Unpaid wages: label 0701, a category this city does not have — the case waits for a person.
    let (_, accepted) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "公司老板拖欠我们三个月工资一直不发，多次讨要无果"}),
        )
        .await;
    let case_id = accepted["case_id"].as_i64().expect("id");
    let (_, case) = app
        .get("operator", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(case["category_id"], serde_json::Value::Null);
    let (_, trail) = app
        .get("operator", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    assert_eq!(trail[0]["detail"]["classifier"]["applied"], false);
    // A category chosen by the operator is never overridden.
    let (_, accepted) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "垃圾没人清运", "category_id": app.fixture.other_category}),
        )
        .await;
    let (_, case) = app
        .get(
            "operator",
            &format!("/api/v1/cases/{}", accepted["case_id"]),
        )
        .await;
    assert_eq!(case["category_id"], app.fixture.other_category);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_in_the_text_is_masked_for_roles_without_need() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let text = "我叫王小明，电话13912345678，身份证110101199003074514，井盖丢了";
    let case_id = app
        .file_appeal("operator", f.grid_b, f.category, text)
        .await;
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    app.act("dispatcher", case_id, json!({"action": "dispatch"}))
        .await;
    let (_, seen_by_operator) = app
        .get("operator", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(seen_by_operator["text"], text);
    let (status, seen_by_handler) = app
        .get("handler_b", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let masked = seen_by_handler["text"].as_str().expect("text");
    assert!(
        !masked.contains("13912345678")
            && !masked.contains("110101199003074514")
            && !masked.contains("王小明"),
        "{masked}"
    );
    assert!(masked.contains("井盖丢了"), "{masked}");
    let (_, appeals) = app
        .get("handler_b", &format!("/api/v1/cases/{case_id}/appeals"))
        .await;
    assert!(
        !appeals[0]["text"]
            .as_str()
            .expect("text")
            .contains("13912345678")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_reports_join_the_open_case_but_never_across_categories_or_areas() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let text = "幸福路阳光小区3号楼门口的垃圾桶已经满了三天没有人清运，臭味很大，请尽快处理";
    let first = app
        .file_appeal("operator", f.grid_a, f.category, text)
        .await;
    // The same problem re-posted with small edits, same category and grid: attached.
    let (status, repeat) = app
        .post("resident", "/api/v1/appeals", json!({"text": "幸福路阳光小区3号楼门口的垃圾桶已经满了三天没人清运，臭味很大，请尽快处理！", "area_id": f.grid_a, "category_id": f.category}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{repeat}");
    assert_eq!(
        (repeat["case_id"].as_i64(), repeat["merged"].as_bool()),
        (Some(first), Some(true))
    );
    let (_, case) = app.get("operator", &format!("/api/v1/cases/{first}")).await;
    assert_eq!(case["reporter_count"], 2);
    let (_, appeals) = app
        .get("operator", &format!("/api/v1/cases/{first}/appeals"))
        .await;
    assert_eq!(
        appeals.as_array().map(Vec::len),
        Some(2),
        "every report is kept"
    );
    let (_, trail) = app
        .get("operator", &format!("/api/v1/cases/{first}/trail"))
        .await;
    assert!(
        trail
            .as_array()
            .expect("trail")
            .iter()
            .any(|r| r["action"] == "merge_repeat")
    );
    // Same text, another category: a new case.
    let other_category = app
        .file_appeal("operator", f.grid_a, f.other_category, text)
        .await;
    assert_ne!(other_category, first);
    // Same text, another district: a new case.
    let other_place = app
        .file_appeal("operator", f.grid_b, f.category, text)
        .await;
    assert_ne!(other_place, first);
    // A different problem in the same grid and category: a new case.
    let different = app
        .file_appeal(
            "operator",
            f.grid_a,
            f.category,
            "建设大街人行道上有人乱扔建筑垃圾，堆了一大片",
        )
        .await;
    assert_ne!(different, first);
    // A closed case absorbs nothing.
    app.act(
        "shiftlead",
        first,
        json!({"action": "void", "reason": "测试"}),
    )
    .await;
    let again = app
        .file_appeal("operator", f.grid_a, f.category, text)
        .await;
    assert_ne!(again, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dispatch_queue_puts_the_most_pressing_first_and_explains_why() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let calm = app
        .file_appeal(
            "operator",
            f.grid_a,
            f.category,
            "建议在社区里多放几个分类垃圾桶",
        )
        .await;
    let pressing = app
        .file_appeal(
            "operator",
            f.grid_b,
            f.other_category,
            "井盖丢了，有老人晚上掉进去了，非常危险，紧急！",
        )
        .await;
    let (status, queue) = app
        .get("dispatcher", "/api/v1/cases?state=received&order=priority")
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let ids: Vec<i64> = queue
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![pressing, calm]);
    let top = &queue[0];
    assert!(top["priority_score"].as_i64() > queue[1]["priority_score"].as_i64());
    let factors = top["priority_factors"].as_array().expect("factors");
    let sum: i64 = factors.iter().filter_map(|f| f["points"].as_i64()).sum();
    assert_eq!(
        sum,
        top["priority_score"].as_i64().expect("score"),
        "the factors explain the score"
    );
    assert!(
        factors.iter().any(|f| f["code"] == "urgency_words"),
        "{factors:?}"
    );
    let (status, body) = app.get("dispatcher", "/api/v1/cases?order=loudest").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_order"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_address_is_whole_for_who_goes_there_and_coarse_for_leaders() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let address = "幸福路88号阳光小区3栋2单元501";
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "楼道灯坏了", "address": address, "area_id": f.grid_a, "category_id": f.category}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let case_id = body["case_id"].as_i64().expect("id");
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    app.act("dispatcher", case_id, json!({"action": "dispatch"}))
        .await;
    for who in ["operator", "handler_a"] {
        let (_, case) = app.get(who, &format!("/api/v1/cases/{case_id}")).await;
        assert_eq!(case["address"], address, "{who}");
    }
    let (_, case) = app.get("leader", &format!("/api/v1/cases/{case_id}")).await;
    let coarse = case["address"].as_str().expect("address");
    assert!(coarse.contains("阳光小区"), "{coarse}");
    assert!(
        !coarse.contains("501") && !coarse.contains("3栋"),
        "{coarse}"
    );
}
