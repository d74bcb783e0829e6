//! One-stop answers and appeal types, community proposals, and opinion polls.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_service::Clock;
use urbis_test_support::TestApp;

use super::{sign_up, start_time};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_answers_a_consultation_from_the_knowledge_base() {
    let app = TestApp::start().await;
    let (status, answer) = app
        .post(
            "admin",
            "/api/v1/kb/answers",
            json!({"question": "居住证怎么办理？", "answer": "持身份证和居住证明到社区服务站办理，15个工作日内领证。",
                   "keywords": ["居住证", "办理"], "dept_id": app.fixture.dept_city}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, other) = app
        .post(
            "admin",
            "/api/v1/kb/answers",
            json!({"question": "垃圾分类的时间是什么？", "answer": "每天7:00–9:00和18:00–20:00定时投放。", "keywords": ["垃圾分类"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{other}");
    let (status, found) = app
        .get("operator", "/api/v1/kb/search?q=想问居住证在哪办")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found[0]["id"], answer["id"], "{found}");
    assert!(
        found
            .as_array()
            .expect("found")
            .iter()
            .all(|a| a["id"] != other["id"])
    );
    let (_, cases_before) = app.get("admin", "/api/v1/cases").await;
    let (status, closed) = app
        .post(
            "operator",
            "/api/v1/consultations",
            json!({"kb_id": answer["id"], "appeal_type": "咨询", "question": "想问居住证在哪办", "channel": "hotline"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{closed}");
    assert_eq!(closed["state"], "closed");
    assert_eq!(closed["answer"], answer["answer"]);
    // A complaint is not closed at intake.
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/consultations",
            json!({"appeal_type": "投诉", "question": "噪音", "answer": "x", "channel": "hotline"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "needs_case");
    let (status, counts) = app.get("leader", "/api/v1/consultations/counts").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(counts, json!([{"appeal_type": "enquiry", "count": 1}]));
    let (_, cases_after) = app.get("admin", "/api/v1/cases").await;
    assert_eq!(cases_before, cases_after, "a consultation opens no case");
    // Appeal types are told apart at intake and counted apart from consultations.
    let f = app.fixture.clone();
    for (kind, text) in [
        ("投诉", "夜间施工噪音扰民严重"),
        ("complaint", "小区门口占道经营严重"),
        ("help", "独居老人摔倒需要帮助"),
    ] {
        let (status, body) = app
            .post(
                "operator",
                "/api/v1/appeals",
                json!({"text": text, "area_id": f.grid_a, "category_id": f.category, "appeal_type": kind}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({"text": "测试类型", "area_id": f.grid_a, "appeal_type": "闲聊"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, types) = app.get("leader", "/api/v1/stats/appeal-types").await;
    assert_eq!(status, StatusCode::OK, "{types}");
    let row = |kind: &str| {
        types
            .as_array()
            .expect("types")
            .iter()
            .find(|r| r["appeal_type"] == kind)
            .map(|r| {
                (
                    r["cases"].as_i64().expect("cases"),
                    r["consultations"].as_i64().expect("n"),
                )
            })
            .expect("every type is listed")
    };
    assert_eq!(row("complaint"), (2, 0));
    assert_eq!(row("help"), (1, 0));
    assert_eq!(row("enquiry"), (0, 1));
    assert_eq!(row("report"), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_collects_supports_reaches_the_agenda_and_opens_a_tracked_case() {
    let app = TestApp::start_with(Clock::System, |c| c.residents.proposal_threshold = 2).await;
    let f = app.fixture.clone();
    let (_, areas) = app.get("admin", "/api/v1/areas").await;
    let community = areas
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["id"] == f.grid_a)
        .and_then(|a| a["parent_id"].as_i64())
        .expect("the grid's community");
    let author = sign_up(&app, "13900008881").await;
    let second = sign_up(&app, "13900008882").await;
    let third = sign_up(&app, "13900008883").await;
    let proposal = json!({"community_id": community, "title": "在小区东门加装无障碍坡道", "body": "东门台阶高，轮椅和婴儿车进出困难。"});
    // Only verified residents propose; a proposal belongs to a community.
    let (status, body) = app
        .post("resident", "/api/v1/proposals", proposal.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "not_verified");
    let (status, body) = app
        .send(
            Some(&author),
            Method::POST,
            "/api/v1/proposals",
            Some(json!({"community_id": f.grid_a, "title": "t", "body": "b"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "not_a_community");
    let (status, created) = app
        .send(
            Some(&author),
            Method::POST,
            "/api/v1/proposals",
            Some(proposal),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["state"].clone(), created["threshold"].clone()),
        (json!("open"), json!(2))
    );
    let id = created["id"].as_i64().expect("id");
    let support = format!("/api/v1/proposals/{id}/support");
    let decision = format!("/api/v1/proposals/{id}/decision");
    let (status, body) = app.send(Some(&second), Method::POST, &support, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["supports"].clone(), body["state"].clone()),
        (json!(1), json!("open"))
    );
    // One resident, one vote.
    let (status, body) = app.send(Some(&second), Method::POST, &support, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "already_supported");
    // Not on the agenda yet: no decision.
    let (status, body) = app
        .post(
            "shiftlead",
            &decision,
            json!({"accepted": true, "reason": "同意"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "not_on_agenda");
    let (status, body) = app.send(Some(&third), Method::POST, &support, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["supports"].clone(), body["state"].clone()),
        (json!(2), json!("agenda"))
    );
    let (status, comment) = app
        .send(
            Some(&third),
            Method::POST,
            &format!("/api/v1/proposals/{id}/comments"),
            Some(json!({"body": "支持，老人出门也方便"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    // Residents do not decide; the meeting's outcome is recorded by staff.
    let (status, _) = app
        .send(
            Some(&third),
            Method::POST,
            &decision,
            Some(json!({"accepted": true, "reason": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, decided) = app
        .post(
            "shiftlead",
            &decision,
            json!({"accepted": true, "reason": "议事会表决通过，由街道组织施工", "category_id": f.category}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    assert_eq!(decided["state"], "accepted");
    let case_id = decided["case_id"].as_i64().expect("a case");
    assert_eq!(decided["case_state"], "received");
    // The case is tracked like any other, and the public page follows it.
    let (status, body) = app
        .act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, public) = app
        .send(None, Method::GET, &format!("/api/v1/proposals/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert_eq!(public["state"], "accepted");
    assert_eq!(public["case_state"], "registered");
    assert_eq!(public["outcome_reason"], "议事会表决通过，由街道组织施工");
    assert_eq!(public["comments"].as_array().map(Vec::len), Some(1));
    let (status, body) = app.send(Some(&third), Method::POST, &support, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, listed) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/proposals?community_id={community}"),
            None,
        )
        .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_publishes_its_results_after_closing_with_small_cells_suppressed() {
    let start = start_time();
    let clock = Clock::manual(start);
    let app = TestApp::start_with(clock.clone(), |_| {}).await;
    let closes = start + Duration::days(7);
    let (status, poll) = app
        .post(
            "leader",
            "/api/v1/polls",
            json!({"title": "滨河公园改造", "question": "您最希望增加什么设施？", "options": ["健身步道", "儿童乐园", "停车场"],
                   "allow_text": true, "min_cell": 3, "closes_at": closes}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{poll}");
    let id = poll["id"].as_i64().expect("id");
    let (status, _) = app
        .post(
            "resident",
            "/api/v1/polls",
            json!({"title": "t", "question": "q", "options": ["a"], "closes_at": closes}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let answers = format!("/api/v1/polls/{id}/answers");
    // Three choose the footpath, one the playground, one writes.
    let mut tokens = Vec::new();
    for (i, body) in [
        json!({"option": 0}),
        json!({"option": 0}),
        json!({"option": 0, "text": "希望有夜间照明"}),
        json!({"option": 1}),
        json!({"text": "多种树"}),
    ]
    .into_iter()
    .enumerate()
    {
        let token = sign_up(&app, &format!("1370000000{i}")).await;
        let (status, reply) = app
            .send(Some(&token), Method::POST, &answers, Some(body))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{reply}");
        tokens.push(token);
    }
    let (status, body) = app
        .send(
            Some(&tokens[0]),
            Method::POST,
            &answers,
            Some(json!({"option": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "already_answered");
    let (status, body) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/polls/{id}/results"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "poll_open");
    clock.set(closes + Duration::minutes(1));
    let late = sign_up(&app, "13700000009").await;
    let (status, body) = app
        .send(
            Some(&late),
            Method::POST,
            &answers,
            Some(json!({"option": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "poll_closed");
    let (status, results) = app
        .send(
            None,
            Method::GET,
            &format!("/api/v1/polls/{id}/results"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{results}");
    let counts: Vec<Value> = results["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| c["count"].clone())
        .collect();
    assert_eq!(counts, vec![json!(3), Value::Null, Value::Null]);
    assert_eq!(results["free_text"], Value::Null);
    assert_eq!(results["total"], json!(5));
    assert!(
        !results.to_string().contains("种树"),
        "free texts are never published"
    );
}
