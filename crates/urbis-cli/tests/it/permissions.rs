//! Every endpoint × every role, and area/department scoping: a handler of one district can
//! neither read nor change another district's cases.

use reqwest::{Method, StatusCode};
use serde_json::json;
use urbis_test_support::{TestApp, USERS};

/// Every fixture user except the residents and the outside partner.
fn staff() -> Vec<&'static str> {
    USERS
        .into_iter()
        .filter(|u| !u.starts_with("resident") && !u.starts_with("partner"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_checks_every_role() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal("operator", f.grid_a, f.category, "测试权限")
        .await;
    let all: Vec<&str> = USERS.to_vec();
    let admin_only: &[&str] = &["admin"];
    let live: &[&str] = &["admin", "operator", "shiftlead", "dispatcher", "leader"];
    let appeal_roles: &[&str] = &[
        "admin",
        "operator",
        "shiftlead",
        "supervisor_a",
        "supervisor_b",
        "resident",
        "resident2",
    ];
    let endpoints: Vec<(Method, String, Option<serde_json::Value>, Vec<&str>)> = vec![
        (Method::GET, "/api/v1/me".into(), None, all.clone()),
        (Method::GET, "/api/v1/cases".into(), None, all.clone()),
        (Method::GET, "/api/v1/areas".into(), None, all.clone()),
        (Method::GET, "/api/v1/departments".into(), None, all.clone()),
        (Method::GET, "/api/v1/time-limits".into(), None, all.clone()),
        (Method::GET, "/api/v1/calendar".into(), None, all.clone()),
        (
            Method::GET,
            "/api/v1/responsibility/versions".into(),
            None,
            all.clone(),
        ),
        (
            Method::GET,
            "/api/v1/responsibility/rules".into(),
            None,
            all.clone(),
        ),
        (
            Method::GET,
            "/api/v1/notifications".into(),
            None,
            all.clone(),
        ),
        (
            Method::POST,
            "/api/v1/appeals".into(),
            Some(json!({"text": "权限测试诉求", "area_id": f.grid_a})),
            appeal_roles.to_vec(),
        ),
        (
            Method::POST,
            "/api/v1/areas".into(),
            Some(
                json!({"code": "990103", "name": "丙区", "level": "district", "parent_id": f.city}),
            ),
            admin_only.to_vec(),
        ),
        (
            Method::POST,
            "/api/v1/departments".into(),
            Some(json!({"code": "NEW", "name": "新部门"})),
            admin_only.to_vec(),
        ),
        (
            Method::POST,
            "/api/v1/categories/import".into(),
            Some(json!({"rows": [["新类", "新小类"]]})),
            admin_only.to_vec(),
        ),
        (
            Method::PUT,
            format!("/api/v1/time-limits/{}", f.category),
            Some(json!({"clock": "working_hour", "amount": 8})),
            admin_only.to_vec(),
        ),
        (
            Method::PUT,
            "/api/v1/calendar".into(),
            Some(json!({"days": [{"day": "2026-12-25", "kind": "holiday"}]})),
            admin_only.to_vec(),
        ),
        (
            Method::POST,
            "/api/v1/responsibility/versions".into(),
            Some(
                json!({"note": "v2", "rules": [{"category_id": f.category_l1, "area_id": f.city, "lead_dept_id": f.dept_city}]}),
            ),
            admin_only.to_vec(),
        ),
        (
            Method::GET,
            "/api/v1/users".into(),
            None,
            admin_only.to_vec(),
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            Some(
                json!({"username": "newuser", "display_name": "n", "password": "password-123", "role": "operator"}),
            ),
            admin_only.to_vec(),
        ),
        (
            Method::PATCH,
            "/api/v1/users/999999".into(),
            Some(json!({"active": true})),
            admin_only.to_vec(),
        ),
        (Method::GET, "/api/v1/stats/summary".into(), None, staff()),
        (
            Method::GET,
            "/api/v1/stats/by-area?level=district".into(),
            None,
            staff(),
        ),
        (
            Method::GET,
            "/api/v1/stats/by-department".into(),
            None,
            staff(),
        ),
        (Method::GET, "/api/v1/stats/trend".into(), None, staff()),
        (
            Method::GET,
            "/api/v1/stats/category-trend".into(),
            None,
            staff(),
        ),
        (Method::GET, "/api/v1/stats/states".into(), None, staff()),
        (
            Method::GET,
            "/api/v1/stats/map?level=district".into(),
            None,
            staff(),
        ),
        (Method::GET, "/api/v1/stats/density".into(), None, staff()),
        // The data-sharing exchange (数据专员: `dataofficer` for the platform, `dataofficer_a`
        // for 甲区城管).
        (Method::GET, "/api/v1/data/resources".into(), None, staff()),
        (
            Method::GET,
            "/api/v1/data/resources/case_records".into(),
            None,
            staff(),
        ),
        (
            Method::POST,
            "/api/v1/data/resources".into(),
            Some(json!({
                "code": "perm_table", "name": "权限测试表", "source": "upload", "update_cycle": "daily",
                "format": "table", "sharing_type": "unconditional", "opening_type": "conditional",
                "grade": "general", "fields": [{"name": "a", "type": "text", "grade": "general"}]
            })),
            vec!["admin", "dataofficer", "dataofficer_a"],
        ),
        (
            Method::POST,
            "/api/v1/data/requests".into(),
            Some(
                json!({"resource": "grids", "purpose": "权限测试用途", "fields": ["code"], "period_days": 1}),
            ),
            vec!["dataofficer_a"],
        ),
        (
            Method::GET,
            "/api/v1/data/requests".into(),
            None,
            vec!["admin", "dataofficer", "dataofficer_a"],
        ),
        (
            Method::GET,
            "/api/v1/data/resources/case_records/access-log".into(),
            None,
            vec!["admin", "dataofficer"],
        ),
        (
            Method::GET,
            "/api/v1/data/resources/case_records/grants".into(),
            None,
            vec!["admin", "dataofficer"],
        ),
        (
            Method::POST,
            "/api/v1/open-data/publish".into(),
            None,
            vec!["admin", "dataofficer"],
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/actions"),
            Some(json!({"action": "supervise", "note": "x"})),
            vec!["shiftlead", "leader"],
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/appeals/999999/split"),
            Some(json!({"reason": "x"})),
            vec!["admin", "shiftlead", "dispatcher"],
        ),
        (Method::GET, "/api/v1/insight/surges".into(), None, staff()),
        (
            Method::GET,
            "/api/v1/insight/hotspots".into(),
            None,
            staff(),
        ),
        (
            Method::GET,
            "/api/v1/assessment/schemes".into(),
            None,
            vec!["admin", "leader"],
        ),
        (
            Method::POST,
            "/api/v1/assessment/schemes".into(),
            Some(
                json!({"code": "perm", "name": "权限", "min_cases": 1, "bands": [90, 80, 70, 60],
                "indicators": [{"indicator": "closure_rate", "weight": 1}]}),
            ),
            vec!["admin", "leader"],
        ),
        (Method::GET, "/api/v1/sensors/devices".into(), None, staff()),
        (Method::GET, "/api/v1/sensors/alarms".into(), None, staff()),
        (Method::GET, "/api/v1/sensors/types".into(), None, staff()),
        (Method::GET, "/api/v1/sensors/ingest".into(), None, staff()),
        (
            Method::POST,
            "/api/v1/sensors/devices".into(),
            Some(json!({"devices": []})),
            admin_only.to_vec(),
        ),
        (
            Method::GET,
            "/api/v1/sensors/dead-letters".into(),
            None,
            admin_only.to_vec(),
        ),
        // Residents in the loop (issue 21).
        (
            Method::GET,
            "/api/v1/notify/outbox".into(),
            None,
            vec!["admin", "resident", "resident2"],
        ),
        (
            Method::POST,
            "/api/v1/notify/deliver".into(),
            Some(json!({})),
            admin_only.to_vec(),
        ),
        (
            Method::GET,
            "/api/v1/notify/sink".into(),
            None,
            admin_only.to_vec(),
        ),
        (
            Method::GET,
            "/api/v1/me/profile".into(),
            None,
            vec!["resident", "resident2"],
        ),
        (
            Method::POST,
            "/api/v1/kb/answers".into(),
            Some(json!({"question": "问", "answer": "答", "keywords": ["问"]})),
            admin_only.to_vec(),
        ),
        (
            Method::GET,
            "/api/v1/kb/search?q=x".into(),
            None,
            vec!["admin", "operator", "shiftlead"],
        ),
        (
            Method::GET,
            "/api/v1/consultations/counts".into(),
            None,
            vec!["admin", "operator", "shiftlead", "leader"],
        ),
        (
            Method::GET,
            "/api/v1/stats/appeal-types".into(),
            None,
            vec!["admin", "operator", "shiftlead", "leader"],
        ),
        (
            Method::POST,
            "/api/v1/consultations".into(),
            Some(
                json!({"appeal_type": "咨询", "question": "问", "answer": "答", "channel": "hotline"}),
            ),
            vec!["admin", "operator", "shiftlead"],
        ),
        // Only residents verified by a phone code propose or support (none of the fixture users).
        (
            Method::POST,
            "/api/v1/proposals".into(),
            Some(json!({"community_id": f.grid_a, "title": "t", "body": "b"})),
            Vec::new(),
        ),
        (
            Method::POST,
            "/api/v1/proposals/999999/support".into(),
            None,
            Vec::new(),
        ),
        (
            Method::POST,
            "/api/v1/proposals/999999/decision".into(),
            Some(json!({"accepted": false, "reason": "不符合条件"})),
            vec!["admin", "shiftlead"],
        ),
        (
            Method::POST,
            "/api/v1/polls".into(),
            Some(
                json!({"title": "t", "question": "q", "options": ["a"], "closes_at": "2099-01-01T00:00:00Z"}),
            ),
            vec!["admin", "leader"],
        ),
        (
            Method::POST,
            "/api/v1/polls/999999/answers".into(),
            Some(json!({"option": 0})),
            Vec::new(),
        ),
        // The reporter's phone on demand (audited): those who call back, in the case's scope;
        // no department is on this case yet, and its reporter is the operator.
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/contact"),
            None,
            vec!["admin", "operator", "shiftlead", "dispatcher"],
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/join"),
            None,
            vec!["resident", "resident2"],
        ),
        // Policy sandbox (issue 22): leaders and admins only.
        (
            Method::GET,
            "/api/v1/sandbox/template".into(),
            None,
            vec!["admin", "leader"],
        ),
        (
            Method::GET,
            "/api/v1/sandbox/scenarios".into(),
            None,
            vec!["admin", "leader"],
        ),
        (
            Method::POST,
            "/api/v1/sandbox/scenarios".into(),
            Some(json!({"name": "权限", "from": "2026-01-01", "to": "2026-01-31"})),
            vec!["admin", "leader"],
        ),
        (
            Method::GET,
            "/api/v1/sandbox/scenarios/999999".into(),
            None,
            vec!["admin", "leader"],
        ),
        (
            Method::POST,
            "/api/v1/sandbox/scenarios/999999/runs".into(),
            None,
            vec!["admin", "leader"],
        ),
        (
            Method::GET,
            "/api/v1/sandbox/runs/999999".into(),
            None,
            vec!["admin", "leader"],
        ),
        (
            Method::GET,
            "/api/v1/sandbox/runs/999999/xlsx".into(),
            None,
            vec!["admin", "leader"],
        ),
        (
            Method::GET,
            "/api/v1/sandbox/experiments".into(),
            None,
            vec!["admin", "leader"],
        ),
        (
            Method::POST,
            "/api/v1/sandbox/experiments".into(),
            Some(
                json!({"name": "权限", "policy": "试点", "indicator": "closure_rate",
                "unit_level": "grid", "pre_from": "2099-01-01", "start": "2099-01-10",
                "end": "2099-01-20"}),
            ),
            vec!["admin", "leader"],
        ),
        (
            Method::POST,
            "/api/v1/sandbox/experiments/999999/estimate".into(),
            None,
            vec!["admin", "leader"],
        ),
        // Co-handling (issue 20): sub-tasks, disputes and arbitration, the draft list, partners
        // and their pool (`partner_a` is the outside partner).
        (
            Method::GET,
            "/api/v1/subtasks".into(),
            None,
            vec![
                "admin",
                "shiftlead",
                "dispatcher",
                "handler_a",
                "handler_b",
                "handler_city",
                "leader",
                "partner_a",
            ],
        ),
        (
            Method::GET,
            format!("/api/v1/cases/{case_id}/subtasks"),
            None,
            vec![
                "admin",
                "operator",
                "shiftlead",
                "dispatcher",
                "leader",
                "supervisor_a",
            ],
        ),
        (
            Method::POST,
            "/api/v1/subtasks/999999/accept".into(),
            None,
            vec!["handler_a", "handler_b", "handler_city", "partner_a"],
        ),
        (
            Method::GET,
            "/api/v1/disputes".into(),
            None,
            vec![
                "admin",
                "shiftlead",
                "dispatcher",
                "handler_a",
                "handler_b",
                "handler_city",
                "leader",
                "partner_a",
            ],
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/disputes"),
            Some(json!({"reason": "权限测试", "rule_id": 1})),
            vec!["handler_a", "handler_b", "handler_city", "partner_a"],
        ),
        (
            Method::POST,
            "/api/v1/disputes/999999/ruling".into(),
            Some(json!({"lead_dept_id": f.dept_a, "note": "权限测试"})),
            vec!["shiftlead"],
        ),
        (
            Method::GET,
            "/api/v1/stats/disputes".into(),
            None,
            vec!["admin", "shiftlead", "dispatcher", "leader"],
        ),
        (
            Method::GET,
            "/api/v1/responsibility/draft".into(),
            None,
            vec!["admin", "shiftlead", "leader"],
        ),
        (
            Method::POST,
            "/api/v1/responsibility/versions/999999/publish".into(),
            None,
            admin_only.to_vec(),
        ),
        (
            Method::GET,
            "/api/v1/partners".into(),
            None,
            staff()
                .into_iter()
                .filter(|u| !u.starts_with("dataofficer"))
                .chain(["partner_a"])
                .collect(),
        ),
        (
            Method::POST,
            "/api/v1/partners".into(),
            Some(
                json!({"code": "ZY-1", "name": "志愿者队", "kind": "volunteer", "grants": [{"area_id": f.grid_a}]}),
            ),
            admin_only.to_vec(),
        ),
        (
            Method::POST,
            format!("/api/v1/cases/{case_id}/offer"),
            None,
            vec!["shiftlead", "dispatcher"],
        ),
        (
            Method::GET,
            "/api/v1/pool".into(),
            None,
            vec!["admin", "shiftlead", "dispatcher", "leader", "partner_a"],
        ),
        (
            Method::POST,
            "/api/v1/pool/999999/claim".into(),
            None,
            vec!["partner_a"],
        ),
    ];
    for (method, path, body, allowed) in &endpoints {
        // Anonymous callers are refused everywhere except intake.
        let (status, _) = app.send(None, method.clone(), path, body.clone()).await;
        if path != "/api/v1/appeals" {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "anonymous {method} {path}"
            );
        }
        for user in USERS {
            let token = app.token(user).await;
            let (status, response) = app
                .send(Some(&token), method.clone(), path, body.clone())
                .await;
            if allowed.contains(&user) {
                assert!(
                    !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                    "{user} should be allowed {method} {path}: {status} {response}"
                );
            } else {
                assert!(
                    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                    "{user} should be refused {method} {path}: {status} {response}"
                );
                assert!(
                    response["code"].is_string(),
                    "error body has a code: {response}"
                );
            }
        }
    }
    // The live feed: allowed roles get the stream, others 403.
    for user in USERS {
        let token = app.token(user).await;
        let response = app
            .http
            .get(format!("{}/api/v1/events", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("events");
        let expected = if live.contains(&user) {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(response.status(), expected, "{user} /api/v1/events");
    }
    // Public reference data.
    let (status, categories) = app
        .send(None, Method::GET, "/api/v1/categories", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(categories.as_array().is_some_and(|c| c.len() >= 4));
    // Only the shift lead opens a case; nobody else may register it.
    for user in USERS {
        let (status, body) = app.act(user, case_id, json!({"action": "register"})).await;
        if user == "shiftlead" {
            assert_eq!(status, StatusCode::OK, "{body}");
        } else {
            assert!(
                matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                "{user}: {status} {body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_of_one_district_cannot_touch_another_districts_cases() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_b = app
        .file_appeal("operator", f.grid_b, f.category, "乙区的垃圾")
        .await;
    app.act("shiftlead", case_b, json!({"action": "register"}))
        .await;
    let (status, body) = app
        .act("dispatcher", case_b, json!({"action": "dispatch"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["lead_dept_id"], f.dept_b,
        "routed by the responsibility list"
    );
    // 甲区's handler and supervisor neither see nor act.
    let (status, _) = app
        .get("handler_a", &format!("/api/v1/cases/{case_b}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get("handler_a", &format!("/api/v1/cases/{case_b}/trail"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .act("handler_a", case_b, json!({"action": "accept"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get("handler_a", "/api/v1/cases").await;
    assert!(
        list.as_array()
            .expect("list")
            .iter()
            .all(|c| c["id"] != case_b)
    );
    let (_, list) = app.get("supervisor_a", "/api/v1/cases").await;
    assert!(
        list.as_array()
            .expect("list")
            .iter()
            .all(|c| c["id"] != case_b)
    );
    let (status, _) = app
        .get(
            "supervisor_a",
            &format!("/api/v1/stats/summary?area_id={}", f.district_b),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // 乙区's handler does, and sees contact data masked.
    let (status, case) = app
        .get("handler_b", &format!("/api/v1/cases/{case_b}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["reporter_phone"], "*******5678");
    let (status, _) = app
        .act("handler_b", case_b, json!({"action": "accept"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Residents see only their own cases.
    let mine = app
        .file_appeal("resident", f.grid_a, f.category, "我家门口")
        .await;
    let (status, _) = app.get("resident2", &format!("/api/v1/cases/{mine}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, case) = app.get("resident", &format!("/api/v1/cases/{mine}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(case["reporter_phone"], "13812345678");
    let (_, list) = app.get("resident2", "/api/v1/cases").await;
    assert_eq!(list.as_array().map(Vec::len), Some(0));
}
