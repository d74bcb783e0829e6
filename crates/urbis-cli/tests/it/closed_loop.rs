//! One appeal through the whole loop over HTTP, each step by its own role, with a failed check
//! and rework, ending with a rating; then the audit trail and `urbis audit verify`, before and
//! after a row is edited behind the system's back.

use reqwest::StatusCode;
use serde_json::json;
use urbis_test_support::TestApp;

fn run_verify(db: &std::path::Path) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["audit", "verify", "--db"])
        .arg(db)
        .output()
        .expect("run urbis audit verify");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appeal_goes_round_the_whole_loop_and_the_trail_verifies() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    // A resident reports through the portal.
    let case_id = app
        .file_appeal(
            "resident",
            f.grid_a,
            f.category,
            "阳光小区门口垃圾三天没人清运",
        )
        .await;
    let steps: Vec<(&str, serde_json::Value, &str)> = vec![
        ("shiftlead", json!({"action": "register"}), "registered"),
        // No department given: the responsibility list routes 市容环境 in 甲区 to 甲区城管.
        ("dispatcher", json!({"action": "dispatch"}), "dispatched"),
        ("handler_a", json!({"action": "accept"}), "handling"),
        (
            "handler_a",
            json!({"action": "feedback", "note": "已清运"}),
            "feedback",
        ),
        (
            "supervisor_a",
            json!({"action": "check_fail", "reason": "现场仍有垃圾"}),
            "handling",
        ),
        (
            "handler_a",
            json!({"action": "feedback", "note": "返工后清运完毕"}),
            "feedback",
        ),
        (
            "supervisor_a",
            json!({"action": "check_pass", "note": "已清理干净"}),
            "checked",
        ),
        ("shiftlead", json!({"action": "close"}), "closed"),
        (
            "resident",
            json!({"action": "rate", "satisfaction": "satisfied", "resolved": true}),
            "evaluated",
        ),
    ];
    for (user, action, expected) in &steps {
        let (status, body) = app.act(user, case_id, action.clone()).await;
        assert_eq!(status, StatusCode::OK, "{user} {action}: {body}");
        assert_eq!(body["state"], *expected, "{user} {action}");
    }
    let (_, case) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(case["lead_dept_id"], f.dept_a);
    assert_eq!(case["rework_count"], 1);
    assert_eq!(case["closure_type"], "normal");
    assert_eq!(case["satisfaction"], "satisfied");
    assert!(case["due_at"].is_string());

    // The trail lists every step, by the role that made it.
    let (status, trail) = app
        .get("leader", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<(&str, &str)> = trail
        .as_array()
        .expect("trail")
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap_or(""),
                r["actor_role"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("receive", "resident"),
            ("register", "shift_lead"),
            ("dispatch", "dispatcher"),
            ("accept", "dept_handler"),
            ("feedback", "dept_handler"),
            ("check_fail", "grid_supervisor"),
            ("feedback", "dept_handler"),
            ("check_pass", "grid_supervisor"),
            ("close", "shift_lead"),
            ("rate", "resident"),
        ]
    );

    // Statistics moved in the same transactions.
    let today = app.services.local_day(chrono::Utc::now());
    let (status, summary) = app
        .get(
            "leader",
            &format!("/api/v1/stats/summary?from={today}&to={today}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary["counts"]["reported"], 1);
    assert_eq!(summary["counts"]["reworked"], 1);
    assert_eq!(summary["closure_rate"], 1.0);
    assert_eq!(summary["rework_rate"], 0.5);
    assert_eq!(summary["satisfaction_rate"], 1.0);
    // Per-area totals roll the grid's counters up to its district, and only there.
    for (level, area, other) in [
        ("district", app.fixture.district_a, app.fixture.district_b),
        ("grid", app.fixture.grid_a, app.fixture.grid_b),
    ] {
        let (status, by_area) = app
            .get(
                "leader",
                &format!("/api/v1/stats/by-area?level={level}&from={today}&to={today}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{by_area}");
        let reported = |id: i64| {
            by_area
                .as_array()
                .expect("rows")
                .iter()
                .find(|row| row["key"].as_str() == Some(id.to_string().as_str()))
                .map(|row| row["indicators"]["counts"]["reported"].clone())
        };
        assert_eq!(reported(area), Some(json!(1)), "{level}: {by_area}");
        assert_eq!(reported(other), None, "{level}: {by_area}");
    }
    let (status, by_category) = app
        .get(
            "leader",
            &format!("/api/v1/stats/category-trend?from={today}&to={today}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{by_category}");
    assert_eq!(
        by_category,
        serde_json::json!([{"day": today, "category_code": "01", "reported": 1}])
    );

    // The chain verifies; an edited audit row is named; an edited case row is caught too.
    let (code, out) = run_verify(&app.db_path);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit chain ok"), "{out}");
    let seq_of_feedback = trail.as_array().expect("trail")[4]["seq"]
        .as_i64()
        .expect("seq");
    let mut conn = app.services.db().write_conn().await.expect("conn");
    urbis_storage::sql::query(
        "UPDATE audit_log SET detail = '{\"text\":\"forged\"}' WHERE seq = ?",
    )
    .bind(seq_of_feedback)
    .execute(&mut conn)
    .await
    .expect("tamper");
    drop(conn);
    let (code, out) = run_verify(&app.db_path);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("BROKEN at record {seq_of_feedback}")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_case_row_is_caught_by_verify() {
    let app = TestApp::start().await;
    let case_id = app
        .file_appeal(
            "operator",
            app.fixture.grid_a,
            app.fixture.category,
            "路灯不亮",
        )
        .await;
    assert_eq!(
        app.act("shiftlead", case_id, json!({"action": "register"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(run_verify(&app.db_path).0, 0);
    let mut conn = app.services.db().write_conn().await.expect("conn");
    urbis_storage::sql::query("UPDATE cases SET state = 'closed' WHERE id = ?")
        .bind(case_id)
        .execute(&mut conn)
        .await
        .expect("tamper");
    drop(conn);
    let (code, out) = run_verify(&app.db_path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("case {case_id}")), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_extension_parking_supervision_void_and_reopen() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal("operator", f.grid_a, f.category, "乱堆物料")
        .await;
    app.act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    // Wrong dispatch to the city department, returned with a reason, then dispatched right.
    let (s, _) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_city}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = app
        .act(
            "handler_city",
            case_id,
            json!({"action": "return", "reason": "不属于本部门"}),
        )
        .await;
    assert_eq!(
        (s, body["state"].as_str()),
        (StatusCode::OK, Some("registered"))
    );
    assert_eq!(body["lead_dept_id"], serde_json::Value::Null);
    app.act(
        "dispatcher",
        case_id,
        json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
    )
    .await;
    app.act("handler_a", case_id, json!({"action": "accept"}))
        .await;
    let (_, before) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}"))
        .await;
    // Extension: requested (clock paused), approved (more time).
    let (s, body) = app
        .act(
            "handler_a",
            case_id,
            json!({"action": "request_extension", "amount": 2, "reason": "等待材料"}),
        )
        .await;
    assert_eq!(
        (s, body["pending"].as_str()),
        (StatusCode::OK, Some("extension"))
    );
    let (s, body) = app
        .act(
            "handler_a",
            case_id,
            json!({"action": "request_park", "reason": "x"}),
        )
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("request_pending"))
    );
    // Feedback neither drops the open request nor ends the handling before the decision.
    let (s, body) = app
        .act(
            "handler_a",
            case_id,
            json!({"action": "feedback", "note": "已处理"}),
        )
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("request_pending"))
    );
    let (_, still) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(
        (still["state"].as_str(), still["pending"].as_str()),
        (Some("handling"), Some("extension"))
    );
    // The trail names who asked, how much and why (what the shift lead decides on).
    let (_, trail) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    let asked = trail
        .as_array()
        .and_then(|steps| {
            steps
                .iter()
                .rev()
                .find(|t| t["action"] == "request_extension")
        })
        .expect("request in the trail");
    assert_eq!(
        (
            asked["actor_name"].as_str(),
            asked["detail"]["amount"].as_i64(),
            asked["detail"]["text"].as_str()
        ),
        (Some("handler_a"), Some(2), Some("等待材料"))
    );
    let (s, after) = app
        .act(
            "shiftlead",
            case_id,
            json!({"action": "decide", "approve": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(after["limit_amount"], 4);
    assert!(
        after["due_at"].as_str() > before["due_at"].as_str(),
        "{before} {after}"
    );
    // Parking stops the clock; unparking resumes it.
    app.act(
        "handler_a",
        case_id,
        json!({"action": "request_park", "reason": "历史遗留"}),
    )
    .await;
    let (_, parked) = app
        .act(
            "shiftlead",
            case_id,
            json!({"action": "decide", "approve": true}),
        )
        .await;
    assert_eq!(parked["state"], "parked");
    assert_eq!(parked["due_at"], serde_json::Value::Null);
    let (_, resumed) = app
        .act("shiftlead", case_id, json!({"action": "unpark"}))
        .await;
    assert_eq!(resumed["state"], "handling");
    assert!(resumed["due_at"].is_string());
    let (s, body) = app
        .act(
            "leader",
            case_id,
            json!({"action": "supervise", "note": "加快"}),
        )
        .await;
    assert_eq!(
        (s, body["supervise_count"].as_i64()),
        (StatusCode::OK, Some(1))
    );
    let (_, notes) = app.get("handler_a", "/api/v1/notifications").await;
    assert!(
        notes
            .as_array()
            .expect("list")
            .iter()
            .any(|n| n["kind"] == "supervise"),
        "{notes}"
    );
    // Close through the loop, then reopen on dissatisfaction.
    app.act(
        "handler_a",
        case_id,
        json!({"action": "feedback", "note": "done"}),
    )
    .await;
    app.act("supervisor_a", case_id, json!({"action": "check_pass"}))
        .await;
    app.act("shiftlead", case_id, json!({"action": "close"}))
        .await;
    let (_, rated) = app
        .act(
            "operator",
            case_id,
            json!({"action": "rate", "satisfaction": "dissatisfied", "resolved": false}),
        )
        .await;
    assert_eq!(rated["state"], "evaluated");
    let (_, reopened) = app
        .act(
            "shiftlead",
            case_id,
            json!({"action": "reopen", "reason": "市民不满意"}),
        )
        .await;
    assert_eq!(reopened["state"], "registered");
    // Void only before dispatch.
    let other = app
        .file_appeal("operator", f.grid_a, f.category, "重复")
        .await;
    let (s, body) = app
        .act(
            "shiftlead",
            other,
            json!({"action": "void", "reason": "重复诉求"}),
        )
        .await;
    assert_eq!(
        (s, body["state"].as_str()),
        (StatusCode::OK, Some("voided"))
    );
    let (s, body) = app
        .act("shiftlead", other, json!({"action": "register"}))
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("illegal_transition"))
    );
}
