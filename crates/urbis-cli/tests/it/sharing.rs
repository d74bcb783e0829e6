//! The data-sharing exchange over HTTP: the catalogue, a 有条件共享 request from district A's
//! department answered by the platform on the working-day clock (reminder, escalation), the key
//! its narrowed approval issues, reads inside and outside the grant with stable refusal codes,
//! masking, the owner's view of the access records, and `urbis audit verify` over them.

use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_service::Clock;
use urbis_test_support::{TestApp, city_time};

async fn read(app: &TestApp, key: Option<&str>, path: &str) -> (StatusCode, Value) {
    let mut request = app.http.get(format!("{}{path}", app.base));
    if let Some(key) = key {
        request = request.header("X-Data-Key", key);
    }
    let response = request.send().await.expect("read");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

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
async fn a_request_goes_from_the_working_day_clock_to_graded_reads() {
    // Monday 2 November 2026, 10:00 in the city.
    let clock = Clock::manual(city_time(2026, 11, 2, 10, 0));
    let app = TestApp::start_with_clock(clock.clone()).await;
    let f = app.fixture.clone();
    for (grid, text) in [
        (f.grid_a, "幸福路口的井盖不见了"),
        (f.grid_a, "人民公园东门路灯不亮"),
        (f.grid_b, "滨江路有大量建筑垃圾"),
    ] {
        app.file_appeal("operator", grid, f.category, text).await;
    }

    // The catalogue: Urbis's own resources, searchable; residents do not browse it.
    let (status, body) = app
        .get("dataofficer_a", "/api/v1/data/resources?q=案件")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let codes: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"case_records") && codes.contains(&"case_counts"),
        "{codes:?}"
    );
    let (_, all) = app.get("leader", "/api/v1/data/resources").await;
    for code in [
        "case_records",
        "case_counts",
        "indicators",
        "grids",
        "assets",
    ] {
        assert!(
            all["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["code"] == code),
            "{code} registered"
        );
    }
    let (_, records) = app
        .get("dataofficer_a", "/api/v1/data/resources/case_records")
        .await;
    assert_eq!(records["sharing_type"], "conditional");
    assert_eq!(records["grade"], "important");
    assert!(
        records["legal_basis"]
            .as_str()
            .unwrap()
            .contains("个人信息保护法")
    );
    let phone = records["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "reporter_phone")
        .unwrap();
    assert_eq!(phone["personal"], true);
    assert_eq!(phone["grade"], "important");
    let (status, _) = app.get("resident", "/api/v1/data/resources").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // District A's data officer asks for case records of district A, with the reporter's phone.
    let ask = json!({
        "resource": "case_records",
        "purpose": "核对本区诉求办理情况，回访群众",
        "fields": ["number", "category_name", "state", "text", "reporter_phone"],
        "area_id": f.district_a,
        "period_days": 30,
    });
    let (status, body) = app
        .post("dataofficer_a", "/api/v1/data/requests", ask.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["key"].is_null(), "有条件共享 waits for the owner");
    let request_id = body["request"]["id"].as_i64().unwrap();
    assert_eq!(body["request"]["state"], "pending");
    // Ten working days of 7.5 office hours from Monday 10:00: Monday two weeks on, 10:00.
    assert_eq!(
        body["request"]["due_at"].as_str().unwrap(),
        urbis_service::time::to_db(city_time(2026, 11, 16, 10, 0))
    );
    // Only the owner answers; the platform's data officer has no department to ask for.
    let (status, body) = app
        .post(
            "dataofficer_a",
            &format!("/api/v1/data/requests/{request_id}/decision"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = app
        .post("dataofficer", "/api/v1/data/requests", ask.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The clock: reminded two working days before the deadline, escalated after it.
    clock.set(city_time(2026, 11, 11, 18, 0));
    assert_eq!(
        app.services
            .sharing_tick(clock.now())
            .await
            .unwrap()
            .reminded,
        0
    );
    clock.set(city_time(2026, 11, 12, 10, 30));
    let tick = app.services.sharing_tick(clock.now()).await.unwrap();
    assert_eq!((tick.reminded, tick.escalated), (1, 0));
    clock.set(city_time(2026, 11, 16, 9, 59));
    assert_eq!(
        app.services
            .sharing_tick(clock.now())
            .await
            .unwrap()
            .escalated,
        0
    );
    clock.set(city_time(2026, 11, 16, 10, 1));
    let tick = app.services.sharing_tick(clock.now()).await.unwrap();
    assert_eq!((tick.reminded, tick.escalated), (0, 1));
    assert_eq!(
        app.services
            .sharing_tick(clock.now())
            .await
            .unwrap()
            .escalated,
        0,
        "once"
    );
    let (_, incoming) = app
        .get("dataofficer", "/api/v1/data/requests?direction=incoming")
        .await;
    let listed = incoming
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == request_id)
        .expect("the owner sees the request")
        .clone();
    assert_eq!(
        (listed["reminded"].as_bool(), listed["escalated"].as_bool()),
        (Some(true), Some(true))
    );
    let (_, outgoing) = app
        .get("dataofficer_a", "/api/v1/data/requests?direction=outgoing")
        .await;
    assert_eq!(outgoing.as_array().unwrap().len(), 1);

    // The owner approves late, narrowed: no phone number. An approval never widens the request.
    let decide = format!("/api/v1/data/requests/{request_id}/decision");
    let (status, body) = app
        .post(
            "dataofficer",
            &decide,
            json!({"decision": "approve", "fields": ["number", "address"]}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("widens_request"))
    );
    let (status, body) = app
        .post(
            "dataofficer",
            &decide,
            json!({"decision": "approve", "fields": ["number", "category_name", "state", "text"], "note": "电话号码不予提供"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["request"]["state"], "approved");
    let key = body["key"]["key"].as_str().expect("a key").to_owned();
    assert!(key.starts_with("udk_") && key.len() > 60);
    let (status, body) = app
        .post(
            "dataofficer",
            &decide,
            json!({"decision": "refuse", "reason": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("request_decided"))
    );

    // Reads inside the grant: district A's two cases, the granted fields, text in clear.
    let rows_path = "/api/v1/data/resources/case_records/rows";
    let (status, page) = read(&app, Some(&key), rows_path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        page["fields"],
        json!(["number", "category_name", "state", "text"])
    );
    assert_eq!(
        page["row_count"], 2,
        "rows outside district A are not granted: {page}"
    );
    assert!(page["masked"].as_array().unwrap().is_empty());
    let texts: Vec<&str> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[3].as_str().unwrap())
        .collect();
    assert!(texts.contains(&"幸福路口的井盖不见了") && !texts.contains(&"滨江路有大量建筑垃圾"));
    let (status, page2) = read(
        &app,
        Some(&key),
        &format!("{rows_path}?fields=number&limit=1&offset=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page2["row_count"], 1);
    assert_eq!(page2["fields"], json!(["number"]));

    // Reads outside it: another field, another resource, no key, a wrong key.
    for (key, path, status, code) in [
        (
            Some(key.as_str()),
            format!("{rows_path}?fields=number,reporter_phone"),
            StatusCode::FORBIDDEN,
            "field_not_granted",
        ),
        (
            Some(key.as_str()),
            "/api/v1/data/resources/case_counts/rows".to_owned(),
            StatusCode::FORBIDDEN,
            "key_wrong_resource",
        ),
        (
            Some(key.as_str()),
            "/api/v1/data/resources/no_such/rows".to_owned(),
            StatusCode::FORBIDDEN,
            "key_wrong_resource",
        ),
        (
            None,
            rows_path.to_owned(),
            StatusCode::UNAUTHORIZED,
            "invalid_data_key",
        ),
        (
            Some("udk_0000"),
            rows_path.to_owned(),
            StatusCode::UNAUTHORIZED,
            "invalid_data_key",
        ),
    ] {
        let (got, body) = read(&app, key, &path).await;
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
    }

    // The owner sees who read what; the consumer does not see the owner's log.
    let (status, log) = app
        .get(
            "dataofficer",
            "/api/v1/data/resources/case_records/access-log",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let log = log.as_array().unwrap();
    assert_eq!(
        log.len(),
        2,
        "two successful reads, refusals are not reads: {log:?}"
    );
    let first = &log[1]["detail"];
    assert_eq!(first["consumer_dept"], "甲区城管");
    assert_eq!(first["rows"], 2);
    assert_eq!(first["purpose"], "核对本区诉求办理情况，回访群众");
    assert_eq!(first["content_hash"], page["content_hash"]);
    let (status, _) = app
        .get(
            "dataofficer_a",
            "/api/v1/data/resources/case_records/access-log",
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, grants) = app
        .get("dataofficer", "/api/v1/data/resources/case_records/grants")
        .await;
    assert_eq!(
        grants[0]["fields"],
        json!(["category_name", "number", "state", "text"])
    );

    // After the period, the key is refused.
    clock.set(city_time(2026, 12, 17, 10, 0));
    let (status, body) = read(&app, Some(&key), rows_path).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("key_expired"))
    );

    // A refusal states its reason.
    let (_, body) = app
        .post("dataofficer_a", "/api/v1/data/requests", ask)
        .await;
    let again = body["request"]["id"].as_i64().unwrap();
    let decide = format!("/api/v1/data/requests/{again}/decision");
    let (status, body) = app
        .post("dataofficer", &decide, json!({"decision": "refuse"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_required"))
    );
    let (status, body) = app
        .post(
            "dataofficer",
            &decide,
            json!({"decision": "refuse", "reason": "目的不需要诉求人电话"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["request"]["state"], "refused");
    assert!(body["key"].is_null());

    // Every request, answer, reminder, escalation and read is in the chain, and it verifies.
    let report = urbis_service::audit::verify_chain(app.services.db())
        .await
        .expect("verify");
    assert!(report.first_break.is_none(), "{:?}", report.first_break);
    let (code, out) = run_verify(&app.db_path);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconditional_resources_need_no_approval_and_mask_personal_fields() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    // 乙区城管 registers a roster it shares unconditionally; one field is personal.
    let roster = json!({
        "code": "duty_roster", "name": "值班表", "description": "乙区城管值班人员",
        "owner_dept_id": f.dept_b, "source": "upload", "update_cycle": "weekly", "format": "table",
        "sharing_type": "unconditional", "opening_type": "none", "grade": "important",
        "legal_basis": "《个人信息保护法》第三十四条",
        "fields": [
            {"name": "post", "type": "text", "meaning": "岗位", "grade": "general"},
            {"name": "staff_name", "type": "text", "meaning": "姓名", "personal": true, "grade": "important"},
            {"name": "phone", "type": "text", "meaning": "值班电话", "personal": true, "grade": "important"}
        ],
        "rows": [
            {"post": "早班", "staff_name": "王小明", "phone": "13912345678"},
            {"post": "晚班", "staff_name": "赵大力", "phone": "13787654321"}
        ]
    });
    let (status, body) = app
        .post("admin", "/api/v1/data/resources", roster.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["owner"], "乙区城管");
    let (status, body) = app.post("admin", "/api/v1/data/resources", roster).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("resource_code_taken"))
    );
    // Validation: a restricted resource needs its legal basis; a field above the resource's grade.
    let (status, body) = app
        .post(
            "dataofficer_a",
            "/api/v1/data/resources",
            json!({
                "code": "plans", "name": "整治计划", "source": "upload", "update_cycle": "monthly",
                "format": "table", "sharing_type": "conditional", "opening_type": "none", "grade": "general",
                "fields": [{"name": "plan", "type": "text", "grade": "general"}]
            }),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("legal_basis_required")
        )
    );
    let (status, body) = app
        .post(
            "dataofficer_a",
            "/api/v1/data/resources",
            json!({
                "code": "secret_list", "name": "重点人员名单", "source": "upload", "update_cycle": "monthly",
                "format": "table", "sharing_type": "none", "opening_type": "none", "grade": "core",
                "legal_basis": "《数据安全法》第二十一条",
                "fields": [{"name": "who", "type": "text", "personal": true, "grade": "core"}]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["owner"], "甲区城管",
        "a data officer registers for their department"
    );

    let (status, body) = app
        .post(
            "dataofficer_a",
            "/api/v1/data/requests",
            json!({"resource": "duty_roster", "purpose": "联合执法排班", "fields": ["post", "staff_name", "phone"], "period_days": 7}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["request"]["state"], "approved");
    let key = body["key"]["key"]
        .as_str()
        .expect("granted at once")
        .to_owned();
    let (status, page) = read(&app, Some(&key), "/api/v1/data/resources/duty_roster/rows").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["masked"], json!(["staff_name", "phone"]));
    assert_eq!(page["rows"][0], json!(["早班", "王**", "139****5678"]));
    let text = page.to_string();
    assert!(
        !text.contains("王小明") && !text.contains("13787654321"),
        "{text}"
    );

    // 不予共享 cannot be requested.
    let (status, body) = app
        .post(
            "dataofficer",
            "/api/v1/data/resources",
            json!({
                "code": "hotline_recordings", "name": "热线录音", "source": "api", "api_url": "https://example.invalid/rec",
                "update_cycle": "realtime", "format": "api", "sharing_type": "none", "opening_type": "none",
                "grade": "important", "legal_basis": "《个人信息保护法》第十三条",
                "fields": [{"name": "audio", "type": "text", "personal": true, "grade": "important"}]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app
        .post(
            "dataofficer_a",
            "/api/v1/data/requests",
            json!({"resource": "hotline_recordings", "purpose": "质检抽查录音", "fields": ["audio"], "period_days": 7}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_shareable"))
    );
    let (status, body) = app
        .post(
            "dataofficer_a",
            "/api/v1/data/requests",
            json!({"resource": "case_counts", "purpose": "本区案件统计分析", "fields": ["day", "nope"], "period_days": 7}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field"))
    );

    // The owner revokes the grant: the key stops at once; the consumer cannot revoke.
    let (_, grants) = app
        .get("admin", "/api/v1/data/resources/duty_roster/grants")
        .await;
    let grant_id = grants[0]["id"].as_i64().unwrap();
    let revoke = format!("/api/v1/data/grants/{grant_id}/revoke");
    let (status, _) = app
        .post("dataofficer_a", &revoke, json!({"reason": "x"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app
        .post("admin", &revoke, json!({"reason": "联合执法结束"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revoked"], true);
    let (status, body) = app.post("admin", &revoke, json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_revoked"))
    );
    let (status, body) = read(&app, Some(&key), "/api/v1/data/resources/duty_roster/rows").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("key_revoked"))
    );

    let report = urbis_service::audit::verify_chain(app.services.db())
        .await
        .expect("verify");
    assert!(report.first_break.is_none());
}
