//! Photos on cases (upload, list, fetch, who may, limits) and the public lookup by case number.

use reqwest::StatusCode;
use serde_json::{Value, json};
use urbis_test_support::TestApp;

/// A tiny but well-formed-looking PNG (signature and IHDR); only the magic bytes are checked.
fn png(extra: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.resize(bytes.len() + extra, 0);
    bytes
}

fn jpeg() -> Vec<u8> {
    // A well-formed segment structure: uploads are parsed to strip their metadata.
    vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xFF,
        0xD9,
    ]
}

async fn upload(
    app: &TestApp,
    user: &str,
    case_id: i64,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    upload_kind(app, user, case_id, "appeal", content_type, bytes).await
}

async fn upload_kind(
    app: &TestApp,
    user: &str,
    case_id: i64,
    kind: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let token = app.token(user).await;
    let response = app
        .http
        .post(format!(
            "{}/api/v1/cases/{case_id}/attachments?kind={kind}",
            app.base
        ))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .expect("upload");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn fetch(app: &TestApp, user: &str, url: &str) -> (StatusCode, String, Vec<u8>) {
    let token = app.token(user).await;
    let response = app
        .http
        .get(format!("{}{url}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("fetch");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (
        status,
        content_type,
        response.bytes().await.expect("bytes").to_vec(),
    )
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
        .map(|row| row["action"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn residents_and_staff_attach_photos_that_only_viewers_can_read() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal("resident", f.grid_a, f.category, "路灯不亮，附照片")
        .await;

    let (status, body) = upload(&app, "resident", case_id, "image/png", png(100)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().expect("id");
    assert_eq!(body["case_id"], case_id);
    assert_eq!(body["kind"], "appeal");
    assert_eq!(body["mime"], "image/png");
    assert_eq!(body["size"], png(100).len());
    assert_eq!(body["url"], format!("/api/v1/attachments/{id}"));

    let (status, body) = upload(&app, "operator", case_id, "image/jpeg", jpeg()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, list) = app
        .get("resident", &format!("/api/v1/cases/{case_id}/attachments"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], id);
    assert_eq!(items[1]["mime"], "image/jpeg");

    let (status, content_type, bytes) =
        fetch(&app, "supervisor_a", &format!("/api/v1/attachments/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "image/png");
    assert_eq!(bytes, png(100));

    // Another resident, another district's supervisor and a handler of another department see
    // nothing, and may not attach.
    for user in ["resident2", "supervisor_b", "handler_b"] {
        let (status, _, _) = fetch(&app, user, &format!("/api/v1/attachments/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user} fetch");
        let (status, body) = app
            .get(user, &format!("/api/v1/cases/{case_id}/attachments"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user} list: {body}");
        let (status, body) = upload(&app, user, case_id, "image/png", png(1)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{user} upload: {body}");
    }
    // Anonymous callers get 401.
    let response = app
        .http
        .get(format!("{}/api/v1/attachments/{id}", app.base))
        .send()
        .await
        .expect("anonymous");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // Each upload is in the case's audited trail, and the chain still verifies.
    let actions = trail_actions(&app, case_id).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "attach").count(),
        2,
        "{actions:?}"
    );
    let report = urbis_service::audit::verify_chain(app.services.db())
        .await
        .expect("verify");
    assert!(report.first_break.is_none());
    assert_eq!(
        urbis_service::audit::verify_case_states(app.services.db())
            .await
            .expect("verify states"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_with_stable_codes_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal("resident", f.grid_a, f.category, "井盖破损")
        .await;

    // Declared PNG, but the bytes are something else.
    let (status, body) = upload(
        &app,
        "resident",
        case_id,
        "image/png",
        b"GIF89a....".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["code"], "attachment_bad_type");
    // Declared JPEG, bytes are PNG.
    let (status, body) = upload(&app, "resident", case_id, "image/jpeg", png(10)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["code"], "attachment_bad_type");
    // A type that is not accepted at all.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec();
    let (status, body) = upload(&app, "resident", case_id, "image/svg+xml", svg).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["code"], "attachment_bad_type");
    // One byte over 5 MiB: read in full, refused by the service.
    let limit = 5 * 1024 * 1024;
    let just_over = png(limit + 1 - png(0).len());
    assert_eq!(just_over.len(), limit + 1);
    let (status, body) = upload(&app, "resident", case_id, "image/png", just_over).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "attachment_too_large");
    // Far over: the server stops reading at the limit and answers at once; the client may still
    // be writing and see the connection close instead of the answer.
    let token = app.token("resident").await;
    let far_over = app
        .http
        .post(format!("{}/api/v1/cases/{case_id}/attachments", app.base))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(png(3 * limit))
        .send()
        .await;
    if let Ok(response) = far_over {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["code"], "attachment_too_large");
    }
    let (_, list) = app
        .get("operator", &format!("/api/v1/cases/{case_id}/attachments"))
        .await;
    assert_eq!(
        list["items"],
        json!([]),
        "nothing stored by refused uploads"
    );
    // Exactly 5 MiB is fine.
    let at_limit = png(limit - png(0).len());
    assert_eq!(at_limit.len(), limit);
    let (status, body) = upload(&app, "resident", case_id, "image/png", at_limit).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A bad kind.
    let token = app.token("resident").await;
    let response = app
        .http
        .post(format!(
            "{}/api/v1/cases/{case_id}/attachments?kind=selfie",
            app.base
        ))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(png(1))
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "invalid_attachment_kind");
    // An unknown case.
    let (status, _) = upload(&app, "operator", 999_999, "image/png", png(1)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Up to nine per case: eight more fit, the tenth is refused.
    for n in 0..8 {
        let (status, body) = upload(&app, "resident", case_id, "image/png", png(n)).await;
        assert_eq!(status, StatusCode::CREATED, "upload {n}: {body}");
    }
    let (status, body) = upload(&app, "resident", case_id, "image/png", png(1)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "attachment_limit");

    let (_, list) = app
        .get("operator", &format!("/api/v1/cases/{case_id}/attachments"))
        .await;
    assert_eq!(list["items"].as_array().expect("items").len(), 9);
    let actions = trail_actions(&app, case_id).await;
    assert_eq!(actions.iter().filter(|a| *a == "attach").count(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anyone_can_look_a_case_up_by_number_without_personal_data() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let (status, body) = app
        .post(
            "resident",
            "/api/v1/appeals",
            json!({
                "title": "我叫王小明，电话13912345678，楼下路灯坏了",
                "text": "联系我13912345678，身份证110101199003071234",
                "area_id": f.grid_a, "category_id": f.category,
                "reporter_name": "王小明", "reporter_phone": "13912345678"
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let case_id = body["case_id"].as_i64().expect("case id");
    let number = body["number"].as_str().expect("number").to_owned();

    let public = |number: String| {
        let app = &app;
        async move {
            let response = app
                .http
                .get(format!("{}/api/v1/public/cases/{number}", app.base))
                .send()
                .await
                .expect("lookup");
            let status = response.status();
            (status, response.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = public(number.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["number"], number.as_str());
    assert_eq!(body["status"], "open");
    assert_eq!(body["state"], "received");
    assert!(body["reply"].is_null());
    assert!(body["rating"].is_null());
    let text = body.to_string();
    assert!(!text.contains("13912345678"), "{text}");
    assert!(!text.contains("王小明"), "{text}");
    assert!(!text.contains("110101199003071234"), "{text}");
    assert!(body["title"].as_str().expect("title").contains("路灯"));

    for (user, action) in [
        ("shiftlead", json!({"action": "register"})),
        ("dispatcher", json!({"action": "dispatch"})),
        ("handler_a", json!({"action": "accept"})),
        (
            "handler_a",
            json!({"action": "feedback", "note": "已更换灯泡，回访电话13912345678"}),
        ),
        (
            "supervisor_a",
            json!({"action": "check_pass", "note": "已亮"}),
        ),
        ("shiftlead", json!({"action": "close"})),
        (
            "operator",
            json!({"action": "rate", "satisfaction": "satisfied", "resolved": true}),
        ),
    ] {
        let (status, body) = app.act(user, case_id, action).await;
        assert_eq!(status, StatusCode::OK, "{user}: {body}");
    }
    let (status, body) = public(number.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "closed");
    assert_eq!(body["rating"], "satisfied");
    let reply = body["reply"].as_str().expect("reply");
    assert!(reply.contains("已更换灯泡"), "{reply}");
    assert!(!reply.contains("13912345678"), "{reply}");

    for unknown in ["20990101999999", "no-such", "x".repeat(300).as_str()] {
        let (status, body) = public(unknown.to_owned()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}: {body}");
        assert_eq!(body["code"], "case_not_found");
    }
}

/// Photos of the on-site check (核查) come from the supervisor who may check the fed-back case,
/// and from nobody else, nor before the feedback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checking_supervisor_attaches_photos_of_the_check() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal(
            "operator",
            f.grid_a,
            f.category,
            "阳光小区门口垃圾三天没人清运",
        )
        .await;
    for (user, action) in [
        ("shiftlead", json!({"action": "register"})),
        ("dispatcher", json!({"action": "dispatch"})),
        ("handler_a", json!({"action": "accept"})),
    ] {
        let (status, body) = app.act(user, case_id, action).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Before the feedback there is nothing to check.
    let (status, body) =
        upload_kind(&app, "supervisor_a", case_id, "check", "image/png", png(4)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("check_photo_not_allowed"))
    );
    let (status, body) = app
        .act(
            "handler_a",
            case_id,
            json!({"action": "feedback", "note": "已清运"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The handler cannot pass their own work off as checked, nor a supervisor of another district.
    for user in ["handler_a", "supervisor_b"] {
        let (status, _) = upload_kind(&app, user, case_id, "check", "image/png", png(4)).await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{user}: {status}"
        );
    }
    let (status, body) =
        upload_kind(&app, "supervisor_a", case_id, "check", "image/png", png(4)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], "check");
    let (_, list) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}/attachments"))
        .await;
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["check"], "{list}");
    assert!(
        trail_actions(&app, case_id)
            .await
            .contains(&"attach".to_owned())
    );
}
