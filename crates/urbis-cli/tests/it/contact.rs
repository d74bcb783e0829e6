//! The reporter's phone on demand (`POST /api/v1/cases/{id}/contact`): cards stay masked for a
//! department's handler, who asks for the number to call the resident back; every reveal is in
//! the audit log, and people outside the case are refused.

use reqwest::{Method, StatusCode};
use serde_json::json;
use urbis_test_support::TestApp;

/// The reveals of a case's contact in the audit log, as (actor id, action).
async fn reveals(app: &TestApp, case_id: i64) -> Vec<(Option<i64>, String)> {
    let mut conn = app.services.db().read().await.expect("connection");
    urbis_storage::audit::list_for_entity(&mut conn, "case_contact", case_id)
        .await
        .expect("audit")
        .into_iter()
        .map(|row| (row.actor_id, row.action))
        .collect()
}

async fn user_id(app: &TestApp, user: &str) -> i64 {
    let (_, me) = app.get(user, "/api/v1/me").await;
    me["user_id"].as_i64().expect("user id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assigned_handler_reads_the_phone_and_the_reveal_is_audited() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    // A call in district B, given to 乙区城管 with 市市政 supporting.
    let case_id = app
        .file_appeal("operator", f.grid_b, f.category, "小区门口垃圾无人清运")
        .await;
    let (status, body) = app
        .act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_b, "supporting_dept_ids": [f.dept_city]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = format!("/api/v1/cases/{case_id}/contact");

    // The card stays masked; the handler asks and gets the number and the name.
    let (_, card) = app
        .get("handler_b", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(card["reporter_phone"], "*******5678");
    let (status, contact) = app.post("handler_b", &path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{contact}");
    assert_eq!(contact["reporter_phone"], "13812345678");
    assert_eq!(contact["reporter_name"], "张三");
    assert_eq!(contact["case_id"], case_id);
    let handler = user_id(&app, "handler_b").await;
    assert_eq!(
        reveals(&app, case_id).await,
        vec![(Some(handler), "reveal_contact".to_owned())]
    );
    let (_, card) = app
        .get("handler_b", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(card["reporter_phone"], "*******5678", "still masked after");
    // The case's own trail is about the case.
    let (_, trail) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    assert!(
        trail
            .as_array()
            .expect("trail")
            .iter()
            .all(|step| step["action"] != "reveal_contact"),
        "{trail}"
    );

    // A supporting department's handler and the dispatcher may too, each reveal recorded.
    for user in ["handler_city", "dispatcher"] {
        let (status, body) = app.post(user, &path, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{user}: {body}");
    }
    assert_eq!(reveals(&app, case_id).await.len(), 3);
    // The documented operation.
    let (_, doc) = app
        .send(None, Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert!(doc["paths"]["/api/v1/cases/{id}/contact"]["post"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_outside_the_case_are_refused_and_nothing_is_recorded() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal("operator", f.grid_b, f.category, "小区门口垃圾无人清运")
        .await;
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    let (status, body) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_b}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = format!("/api/v1/cases/{case_id}/contact");
    // Another department's handler, and another resident, do not see the case at all.
    for user in ["handler_a", "handler_city", "resident2"] {
        let (status, body) = app.post(user, &path, json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user}: {body}");
        assert_eq!(body["code"], "not_found", "{user}");
    }
    // The district's supervisor and the leader see the case, but do not call residents back.
    for user in ["supervisor_b", "leader", "dataofficer"] {
        let (status, body) = app.post(user, &path, json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}: {body}");
        assert_eq!(body["code"], "contact_not_allowed", "{user}");
    }
    let (status, body) = app.send(None, Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(reveals(&app, case_id).await, vec![]);
    // A case that does not exist.
    let (status, _) = app
        .post("handler_b", "/api/v1/cases/999999/contact", json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
