//! Outside partners over HTTP: a partner claims a pooled case inside its grant, never sees or claims
//! one outside it, and is checked and rated like a department.

use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_test_support::TestApp;

use super::{registered_case, trail_actions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_claims_only_inside_its_grant() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let inside = registered_case(&app, f.grid_a, "幸福小区门口井盖松动").await;
    let outside = registered_case(&app, f.grid_b, "南门地铁站共享单车堵塞出口").await;
    for case_id in [inside, outside] {
        let (status, body) = app
            .post(
                "dispatcher",
                &format!("/api/v1/cases/{case_id}/offer"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = app
        .post(
            "dispatcher",
            &format!("/api/v1/cases/{inside}/offer"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let pool_ids = |body: &Value| -> Vec<i64> {
        body.as_array()
            .expect("pool")
            .iter()
            .filter_map(|c| c["id"].as_i64())
            .collect()
    };
    let (status, pool) = app.get("partner_a", "/api/v1/pool").await;
    assert_eq!(status, StatusCode::OK, "{pool}");
    assert_eq!(pool_ids(&pool), vec![inside], "only its grant's cases");
    let (_, pool) = app.get("dispatcher", "/api/v1/pool").await;
    assert_eq!(pool_ids(&pool).len(), 2);

    // Outside the grant the case does not exist for the partner.
    let (status, body) = app
        .post(
            "partner_a",
            &format!("/api/v1/pool/{outside}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = app
        .get("partner_a", &format!("/api/v1/cases/{outside}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nor can a dispatcher send it there.
    let (status, body) = app
        .act(
            "dispatcher",
            outside,
            json!({"action": "dispatch", "lead_dept_id": f.partner_a}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "partner_out_of_grant");
    // Departments do not claim.
    let (status, _) = app
        .post(
            "handler_a",
            &format!("/api/v1/pool/{inside}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, case) = app
        .post(
            "partner_a",
            &format!("/api/v1/pool/{inside}/claim"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{case}");
    assert_eq!(case["lead_dept_id"], f.partner_a);
    assert_eq!(case["state"], "dispatched");
    let (_, pool) = app.get("partner_a", "/api/v1/pool").await;
    assert!(pool_ids(&pool).is_empty(), "claimed cases leave the pool");
    let (_, mine) = app.get("partner_a", "/api/v1/cases").await;
    assert_eq!(pool_ids(&mine), vec![inside]);

    // Handled, checked and rated like a department.
    let (status, body) = app
        .act("partner_a", inside, json!({"action": "accept"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(
            "partner_a",
            inside,
            json!({"action": "feedback", "note": "物业已更换井盖"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(
            "supervisor_a",
            inside,
            json!({"action": "check_pass", "note": "已核查"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.act("shiftlead", inside, json!({"action": "close"}))
        .await;
    let (status, body) = app
        .act(
            "operator",
            inside,
            json!({"action": "rate", "satisfaction": "satisfied", "resolved": true, "comment": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "evaluated");
    assert!(
        trail_actions(&app, inside)
            .await
            .contains(&"claim".to_owned())
    );
}
