//! Co-handling (issue 20) over HTTP: supporting departments' sub-tasks hold the lead's feedback
//! until done or released, and are reminded and escalated once when late; a repeated 回退 is
//! refused and a dispute is ruled within its deadline with the amendment drafted into the next
//! list version; a partner claims pooled cases only inside its grant; the list is public.

use chrono::Utc;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_service::Clock;
use urbis_test_support::{PASSWORD, TestApp, city_time};

mod pool;

/// Adds a city-wide department with one handler; returns the department's id.
async fn add_dept(app: &TestApp, code: &str, name: &str, handler: &str) -> i64 {
    let (status, dept) = app
        .post(
            "admin",
            "/api/v1/departments",
            json!({"code": code, "name": name}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dept}");
    let dept_id = dept["id"].as_i64().expect("dept id");
    let (status, user) = app
        .post(
            "admin",
            "/api/v1/users",
            json!({"username": handler, "display_name": handler, "password": PASSWORD,
                   "role": "dept_handler", "dept_id": dept_id}),
        )
        .await;
    assert!(status.is_success(), "{user}");
    dept_id
}

/// Files and registers a case in a grid; returns its id.
async fn registered_case(app: &TestApp, grid: i64, text: &str) -> i64 {
    let case_id = app
        .file_appeal("operator", grid, app.fixture.category, text)
        .await;
    let (status, body) = app
        .act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    case_id
}

async fn subtasks(app: &TestApp, user: &str, case_id: i64) -> Vec<Value> {
    let (status, body) = app
        .get(user, &format!("/api/v1/cases/{case_id}/subtasks"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("subtasks").clone()
}

fn subtask_of(list: &[Value], dept: i64) -> i64 {
    list.iter()
        .find(|s| s["dept_id"] == dept && s["active"] == true)
        .and_then(|s| s["id"].as_i64())
        .expect("sub-task of the department")
}

async fn trail_actions(app: &TestApp, case_id: i64) -> Vec<String> {
    let (status, trail) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}/trail"))
        .await;
    assert_eq!(status, StatusCode::OK, "{trail}");
    trail
        .as_array()
        .expect("trail")
        .iter()
        .filter_map(|row| row["action"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_waits_for_both_supporting_departments() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let police = add_dept(&app, "JJ", "市交警", "handler_police").await;
    let case_id = registered_case(&app, f.grid_a, "幸福路下穿隧道积水严重").await;
    let (status, body) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_a,
                   "supporting_dept_ids": [f.dept_city, police]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = subtasks(&app, "handler_a", case_id).await;
    assert_eq!(list.len(), 2, "one sub-task per supporting department");
    assert!(
        list.iter()
            .all(|s| s["state"] == "dispatched" && s["due_at"].is_string())
    );
    let city_task = subtask_of(&list, f.dept_city);
    let police_task = subtask_of(&list, police);

    // Each supporting department finds its task on its workbench, and only its own.
    let (status, bench) = app.get("handler_city", "/api/v1/subtasks").await;
    assert_eq!(status, StatusCode::OK, "{bench}");
    let ids: Vec<i64> = bench
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![city_task]);

    app.act("handler_a", case_id, json!({"action": "accept"}))
        .await;
    let feedback = json!({"action": "feedback", "note": "已抽排积水"});
    let (status, body) = app.act("handler_a", case_id, feedback.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "subtasks_pending");

    // Not the other department's task, and not before signing for it.
    let (status, _) = app
        .post(
            "handler_city",
            &format!("/api/v1/subtasks/{police_task}/accept"),
            json!({}),
        )
        .await;
    assert!(matches!(
        status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
    let (status, body) = app
        .post(
            "handler_city",
            &format!("/api/v1/subtasks/{city_task}/feedback"),
            json!({"note": "已疏通雨水口"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    for (user, task, note) in [
        ("handler_city", city_task, "已疏通雨水口"),
        ("handler_police", police_task, "已设置绕行"),
    ] {
        let (status, body) = app
            .post(user, &format!("/api/v1/subtasks/{task}/accept"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["state"], "handling");
        if user == "handler_city" {
            // One of two done is not enough.
            let (status, _) = app
                .post(
                    user,
                    &format!("/api/v1/subtasks/{task}/feedback"),
                    json!({"note": note}),
                )
                .await;
            assert_eq!(status, StatusCode::OK);
            let (status, body) = app.act("handler_a", case_id, feedback.clone()).await;
            assert_eq!(status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["code"], "subtasks_pending");
        } else {
            let (status, body) = app
                .post(
                    user,
                    &format!("/api/v1/subtasks/{task}/feedback"),
                    json!({"note": note}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["state"], "done");
            assert_eq!(body["on_time"], true);
        }
    }
    let (status, body) = app.act("handler_a", case_id, feedback).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(
            "supervisor_a",
            case_id,
            json!({"action": "check_pass", "note": "现场已无积水"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act("shiftlead", case_id, json!({"action": "close"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "closed");

    let actions = trail_actions(&app, case_id).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "subtask_feedback").count(),
        2,
        "{actions:?}"
    );
    assert_eq!(actions.iter().filter(|a| *a == "subtask_accept").count(), 2);

    // 协办按期率 per supporting department.
    let (status, depts) = app.get("leader", "/api/v1/stats/by-department").await;
    assert_eq!(status, StatusCode::OK, "{depts}");
    let rate = depts
        .as_array()
        .expect("depts")
        .iter()
        .find(|d| d["key"] == f.dept_city.to_string())
        .map(|d| d["indicators"]["cohandle_on_time_rate"].clone());
    assert_eq!(rate, Some(json!(1.0)), "{depts}");

    // A released sub-task no longer holds the lead, and only the lead releases, with a reason.
    let other = registered_case(&app, f.grid_a, "建设大街路灯整排不亮").await;
    let (status, body) = app
        .act(
            "dispatcher",
            other,
            json!({"action": "dispatch", "lead_dept_id": f.dept_a, "supporting_dept_ids": [f.dept_city]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let task = subtask_of(&subtasks(&app, "handler_a", other).await, f.dept_city);
    app.act("handler_a", other, json!({"action": "accept"}))
        .await;
    let release = format!("/api/v1/subtasks/{task}/release");
    let (status, _) = app
        .post("handler_city", &release, json!({"reason": "不需要"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.post("handler_a", &release, json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post(
            "handler_a",
            &release,
            json!({"reason": "本部门已自行修复，无需协办"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "released");
    let (status, body) = app
        .act(
            "handler_a",
            other,
            json!({"action": "feedback", "note": "已修复"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        trail_actions(&app, other)
            .await
            .contains(&"subtask_release".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_subtask_is_reminded_and_escalated_once() {
    // Monday 2026-11-16 10:00; two working days → Wednesday 10:00, reminded two hours before.
    let clock = Clock::manual(city_time(2026, 11, 16, 10, 0));
    let app = TestApp::start_with_clock(clock.clone()).await;
    let f = app.fixture.clone();
    let case_id = registered_case(&app, f.grid_a, "光明菜市场门口污水横流").await;
    let (status, body) = app
        .act(
            "dispatcher",
            case_id,
            json!({"action": "dispatch", "lead_dept_id": f.dept_a, "supporting_dept_ids": [f.dept_city]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let count = |actions: &[String], name: &str| actions.iter().filter(|a| *a == name).count();

    // Tuesday: not yet.
    app.services
        .sla_tick(city_time(2026, 11, 17, 10, 0))
        .await
        .expect("tick");
    assert_eq!(
        count(&trail_actions(&app, case_id).await, "subtask_remind"),
        0
    );
    // Wednesday 08:30 and 09:00: reminded once.
    for at in [
        city_time(2026, 11, 18, 8, 30),
        city_time(2026, 11, 18, 9, 0),
    ] {
        clock.set(at);
        app.services.sla_tick(at).await.expect("tick");
    }
    let actions = trail_actions(&app, case_id).await;
    assert_eq!(count(&actions, "subtask_remind"), 1, "{actions:?}");
    assert_eq!(count(&actions, "subtask_escalate"), 0, "{actions:?}");
    // Past the deadline, twice: escalated once.
    for at in [
        city_time(2026, 11, 18, 10, 30),
        city_time(2026, 11, 18, 11, 0),
    ] {
        clock.set(at);
        app.services.sla_tick(at).await.expect("tick");
    }
    let actions = trail_actions(&app, case_id).await;
    assert_eq!(count(&actions, "subtask_remind"), 1, "{actions:?}");
    assert_eq!(count(&actions, "subtask_escalate"), 1, "{actions:?}");
    let task = subtasks(&app, "handler_city", case_id).await;
    assert_eq!(task[0]["reminded"], true);
    assert_eq!(task[0]["overdue"], true);
    let (_, notes) = app.get("handler_city", "/api/v1/notifications").await;
    let kinds: Vec<&str> = notes
        .as_array()
        .expect("notifications")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "subtask_reminder").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "subtask_escalation").count(),
        1,
        "{kinds:?}"
    );

    // Done late: counted against the department's 协办按期率.
    let id = task[0]["id"].as_i64().expect("id");
    app.post(
        "handler_city",
        &format!("/api/v1/subtasks/{id}/accept"),
        json!({}),
    )
    .await;
    let (status, body) = app
        .post(
            "handler_city",
            &format!("/api/v1/subtasks/{id}/feedback"),
            json!({"note": "已清理"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["on_time"], false);
    let (_, depts) = app
        .get(
            "leader",
            "/api/v1/stats/by-department?from=2026-11-01&to=2026-11-30",
        )
        .await;
    let rate = depts
        .as_array()
        .expect("depts")
        .iter()
        .find(|d| d["key"] == f.dept_city.to_string())
        .map(|d| d["indicators"]["cohandle_on_time_rate"].clone());
    assert_eq!(rate, Some(json!(0.0)), "{depts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_return_is_refused_and_a_dispute_is_ruled_into_a_draft() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = registered_case(&app, f.grid_a, "滨江路有大量建筑垃圾").await;
    let dispatch = json!({"action": "dispatch"});
    let (status, body) = app.act("dispatcher", case_id, dispatch.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["lead_dept_id"], f.dept_a, "routed by the list");
    let (status, body) = app
        .act(
            "handler_a",
            case_id,
            json!({"action": "return", "reason": "不属于本部门职责"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.act("dispatcher", case_id, dispatch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .act(
            "handler_a",
            case_id,
            json!({"action": "return", "reason": "仍不属于本部门"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "return_repeated");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("disputes"))
    );

    // The dispute path: the reason and the list entry relied on.
    let (_, rules) = app.get("handler_a", "/api/v1/responsibility/rules").await;
    let rule_id = rules
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["category_id"] == f.category_l1 && r["area_id"] == f.district_a)
        .and_then(|r| r["id"].as_i64())
        .expect("rule");
    let path = format!("/api/v1/cases/{case_id}/disputes");
    let (status, body) = app
        .post(
            "handler_b",
            &path,
            json!({"reason": "x", "rule_id": rule_id}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, dispute) = app
        .post(
            "handler_a",
            &path,
            json!({"reason": "建筑垃圾属住建部门监管，清单条目写错了主办", "rule_id": rule_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{dispute}");
    let dispute_id = dispute["id"].as_i64().expect("id");
    let (status, body) = app
        .post(
            "handler_a",
            &path,
            json!({"reason": "再次", "rule_id": rule_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "dispute_open");

    // The arbiter's queue, with the deadline.
    let (status, queue) = app.get("shiftlead", "/api/v1/disputes?state=open").await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let queued = queue
        .as_array()
        .expect("queue")
        .iter()
        .find(|d| d["id"] == dispute_id)
        .expect("queued")
        .clone();
    assert!(
        queued["due_at"]
            .as_str()
            .is_some_and(|d| d > queued["opened_at"].as_str().unwrap_or(""))
    );

    let ruling = json!({"lead_dept_id": f.dept_city, "supporting_dept_ids": [f.dept_a],
                        "note": "建筑垃圾由市市政主办，区城管协办"});
    let ruling_path = format!("/api/v1/disputes/{dispute_id}/ruling");
    let (status, _) = app.post("dispatcher", &ruling_path, ruling.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, ruled) = app.post("shiftlead", &ruling_path, ruling.clone()).await;
    assert_eq!(status, StatusCode::OK, "{ruled}");
    assert_eq!(ruled["state"], "ruled");
    assert_eq!(ruled["on_time"], true, "ruled within its deadline");
    let (status, body) = app.post("shiftlead", &ruling_path, ruling).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Binding: the case is with the named departments now.
    let (_, case) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}"))
        .await;
    assert_eq!(case["lead_dept_id"], f.dept_city);
    assert_eq!(case["state"], "dispatched");
    let list = subtasks(&app, "handler_city", case_id).await;
    subtask_of(&list, f.dept_a);
    let actions = trail_actions(&app, case_id).await;
    for step in ["dispute_open", "reassign", "dispute_ruled"] {
        assert!(actions.contains(&step.to_owned()), "{step} in {actions:?}");
    }

    // The amendment is in a draft version; the active list is unchanged until its owner publishes.
    let draft_id = ruled["draft_version_id"].as_i64().expect("draft");
    let (status, draft) = app.get("admin", "/api/v1/responsibility/draft").await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(draft["version_id"], draft_id, "{draft} {ruled}");
    let amended = draft["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["category_id"] == f.category_l1 && r["area_id"] == f.district_a)
        .expect("amended rule")
        .clone();
    assert_eq!(amended["lead_dept_id"], f.dept_city);
    assert_eq!(amended["supporting_dept_ids"], json!([f.dept_a]));
    assert!(
        amended["legal_basis"]
            .as_str()
            .is_some_and(|b| b.contains("争议裁定"))
    );
    let lead_of_a = |list: &Value| {
        list.as_array()
            .expect("public list")
            .iter()
            .find(|r| r["area_name"] == "甲区" && r["category_name"] == "市容环境")
            .map(|r| r["lead"].clone())
    };
    let (_, public) = app
        .send(None, Method::GET, "/api/v1/public/responsibility", None)
        .await;
    assert_eq!(lead_of_a(&public), Some(json!("甲区城管")));
    let publish = format!("/api/v1/responsibility/versions/{draft_id}/publish");
    let (status, _) = app.post("shiftlead", &publish, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.post("admin", &publish, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], true);
    let (_, public) = app
        .send(None, Method::GET, "/api/v1/public/responsibility", None)
        .await;
    assert_eq!(lead_of_a(&public), Some(json!("市市政")));

    // Dispute counts per category and department.
    let (status, counts) = app.get("leader", "/api/v1/stats/disputes").await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        counts,
        json!([{"category_id": f.category, "dept_id": f.dept_a, "disputes": 1, "open": 0}])
    );

    // An unruled dispute past its deadline is escalated once (the published list now names 市市政).
    let late = registered_case(&app, f.grid_a, "人民公园东门路灯不亮").await;
    let (status, body) = app
        .act("dispatcher", late, json!({"action": "dispatch"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["lead_dept_id"], f.dept_city);
    let (status, body) = app
        .post(
            "handler_city",
            &format!("/api/v1/cases/{late}/disputes"),
            json!({"reason": "路灯归照明所", "rule_id": rule_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let later = Utc::now() + chrono::Duration::days(30);
    for _ in 0..2 {
        app.services.sla_tick(later).await.expect("tick");
    }
    let actions = trail_actions(&app, late).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "dispute_escalate").count(),
        1,
        "{actions:?}"
    );
}
