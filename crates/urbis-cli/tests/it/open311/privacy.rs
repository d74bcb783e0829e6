//! Open311's public answers against personal data, and repeat reports that keep their own ids.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_test_support::TestApp;

use super::{call, get_json, json_of, register};

/// A reporter's text with a name, one mobile number written three ways (spaces, dashes,
/// full-width digits), an e-mail, an ID number with spaces and a home address.
const NAME: &str = "王小明";
const PHONES: [&str; 3] = ["138 1234 5678", "138-8765-4321", "１３９１２３４５６７８"];
const EMAIL: &str = "wangxm@example.com";
const ID_NUMBER: &str = "440304 19851010 2315";
const HOME: &str = "幸福小区3号楼2单元501室";
/// The exact point the reporters send.
const LAT: &str = "30.123457";
const LON: &str = "120.654321";

fn appeal_text() -> String {
    format!(
        "我叫{NAME}，家住{HOME}，电话{}，也可以打{}或者{}，邮箱{EMAIL}，身份证{ID_NUMBER}。楼下的垃圾三天没人清理了，臭味很大。",
        PHONES[0], PHONES[1], PHONES[2]
    )
}

/// Every form that must never appear in a public answer, with what it is.
fn secrets() -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("name", NAME.to_owned()),
        ("e-mail", EMAIL.to_owned()),
        ("ID number with spaces", ID_NUMBER.to_owned()),
        ("ID number", ID_NUMBER.replace(' ', "")),
        ("home address", HOME.to_owned()),
        ("exact latitude", LAT.to_owned()),
        ("exact longitude", LON.to_owned()),
    ];
    for (kind, phone) in [
        "phone with spaces",
        "phone with dashes",
        "phone in full-width digits",
    ]
    .into_iter()
    .zip(PHONES)
    {
        out.push((kind, phone.to_owned()));
    }
    out.push(("phone", "13812345678".to_owned()));
    out
}

/// Answers every public Open311 GET the way a client would read them, both formats.
async fn public_answers(app: &TestApp, numbers: &[String]) -> Vec<(String, String)> {
    let ids = numbers.join(",");
    let mut paths = vec![
        "/open311/v2/requests.json".to_owned(),
        "/open311/v2/requests.xml".to_owned(),
        "/open311/v2/requests.json?extensions=true".to_owned(),
        "/open311/v2/requests.xml?extensions=true".to_owned(),
        format!("/open311/v2/requests.json?service_request_id={ids}&extensions=true"),
        "/open311/v2/servicerequestupdates.json".to_owned(),
        "/open311/v2/servicerequestupdates.xml".to_owned(),
    ];
    for number in numbers {
        for format in ["json", "xml"] {
            paths.push(format!(
                "/open311/v2/requests/{number}.{format}?extensions=true"
            ));
            paths.push(format!("/open311/v2/tokens/{number}.{format}"));
        }
    }
    let mut out = Vec::new();
    for path in paths {
        let (status, _, body) = call(app, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        out.push((path, body));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_public_answers_hold_no_personal_data() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let (_, api_key) = register(&app, "城市App").await;
    let (_, services) = get_json(&app, "/open311/v2/services.json").await;
    let code = services[0]["service_code"]
        .as_str()
        .expect("code")
        .to_owned();
    let text = appeal_text();

    // Filed through Open311 with the reporter's contact data and exact point …
    let (status, content_type, body) = call(
        &app,
        Method::POST,
        "/open311/v2/requests.json",
        Some(&[
            ("api_key", &api_key),
            ("service_code", &code),
            ("lat", LAT),
            ("long", LON),
            ("address_string", HOME),
            ("description", &text),
            ("first_name", "小明"),
            ("last_name", "王"),
            ("phone", PHONES[0]),
            ("email", EMAIL),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let by_open311 = json_of(status, &content_type, &body)[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();

    // … and by the hotline, with only the street as the case's address (the home address is
    // in the text alone).
    let (status, appeal) = app
        .post(
            "operator",
            "/api/v1/appeals",
            json!({
                "text": format!("{text}（热线）"),
                "reporter_name": NAME,
                "reporter_phone": "13812345678",
                "address": "幸福路",
                "lat": LAT.parse::<f64>().expect("lat"),
                "lon": LON.parse::<f64>().expect("lon"),
                "category_id": f.other_category,
            }),
        )
        .await;
    assert!(status.is_success(), "{appeal}");
    let by_hotline = appeal["number"].as_str().expect("number").to_owned();

    // A client's comment with contact data is public too, once masked.
    let (status, _, body) = call(
        &app,
        Method::POST,
        "/open311/v2/servicerequestupdates.json",
        Some(&[
            ("api_key", &api_key),
            ("service_request_id", &by_open311),
            ("status", "OPEN"),
            (
                "description",
                &format!("还没处理，请联系{EMAIL}或{}", PHONES[1]),
            ),
            ("update_id", "1"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let answers = public_answers(&app, &[by_open311.clone(), by_hotline.clone()]).await;
    // The requests are there, with their (masked) text.
    let (_, one) = get_json(&app, &format!("/open311/v2/requests/{by_hotline}.json")).await;
    assert!(
        one[0]["description"]
            .as_str()
            .expect("description")
            .contains("垃圾三天没人清理"),
        "{one}"
    );
    assert!(answers.iter().any(|(_, body)| body.contains(&by_open311)));
    let mut leaks = Vec::new();
    for (kind, secret) in secrets() {
        for (path, body) in answers.iter().filter(|(_, body)| body.contains(&secret)) {
            for (at, _) in body.match_indices(&secret) {
                let start = body[..at]
                    .char_indices()
                    .rev()
                    .nth(24)
                    .map_or(0, |(i, _)| i);
                let context: String = body[start..].chars().take(64).collect();
                leaks.push(format!("{kind} {secret:?} in {path}: …{context}…"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "personal data in public answers:\n{}",
        leaks.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_repeat_reports_get_their_own_id_and_share_progress() {
    let app = TestApp::start().await;
    let (_, api_key) = register(&app, "fms").await;
    let (_, services) = get_json(&app, "/open311/v2/services.json").await;
    let code = services[0]["service_code"]
        .as_str()
        .expect("code")
        .to_owned();
    // The fixture's unit grid of district A, as an address_id.
    let grid_code = "990101001001001";
    let post = |description: &'static str, service: String| {
        let app = &app;
        let api_key = api_key.clone();
        async move {
            let (status, content_type, body) = call(
                app,
                Method::POST,
                "/open311/v2/requests.json",
                Some(&[
                    ("api_key", api_key.as_str()),
                    ("service_code", service.as_str()),
                    ("address_id", grid_code),
                    ("description", description),
                ]),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            json_of(status, &content_type, &body)[0].clone()
        }
    };
    let text = "幸福路口的垃圾桶满了好几天，垃圾堆到路边，气味难闻，请尽快清运。";
    let first = post(text, code.clone()).await;
    let second = post(text, code.clone()).await;
    let first_id = first["service_request_id"].as_str().expect("id").to_owned();
    let second_id = second["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_ne!(first_id, second_id, "each POST has its own id");
    assert!(first["service_notice"].is_null(), "{first}");
    assert!(
        second["service_notice"]
            .as_str()
            .is_some_and(|n| n.contains(&first_id)),
        "the notice names the case: {second}"
    );

    // Staff register the case: both ids show the same progress.
    let (_, cases) = app.get("shiftlead", "/api/v1/cases").await;
    let case_id = cases
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["number"] == first_id.as_str())
        .expect("case")["id"]
        .as_i64()
        .expect("id");
    assert_eq!(
        cases
            .as_array()
            .expect("cases")
            .iter()
            .filter(|c| c["number"] == second_id.as_str())
            .count(),
        0,
        "no second case"
    );
    let (status, _) = app
        .act("shiftlead", case_id, json!({"action": "register"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut seen = Vec::new();
    for id in [&first_id, &second_id] {
        let (status, one) = get_json(
            &app,
            &format!("/open311/v2/requests/{id}.json?extensions=true"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{one}");
        let request = one[0].clone();
        assert_eq!(request["service_request_id"], id.as_str());
        assert_eq!(request["status_notes"], "立案");
        assert_eq!(request["extended_attributes"]["status"], "INVESTIGATING");
        assert_eq!(
            request["extended_attributes"]["case_request_id"],
            first_id.as_str()
        );
        assert_eq!(request["address_id"], grid_code);
        seen.push(request);
    }
    assert_eq!(
        seen[0]["updated_datetime"], seen[1]["updated_datetime"],
        "updated_datetime is the registration for both"
    );
    assert!(seen[1]["service_notice"].is_string());
    let (_, both) = get_json(
        &app,
        &format!("/open311/v2/requests.json?service_request_id={second_id},{first_id}"),
    )
    .await;
    assert_eq!(both.as_array().expect("array").len(), 2);
    let (_, listed) = get_json(
        &app,
        &format!("/open311/v2/requests.json?service_code={code}"),
    )
    .await;
    assert_eq!(listed.as_array().expect("array").len(), 2, "{listed}");

    // The update feed tells both requests: the merge (DUPLICATE), then the registration.
    let (_, updates) = get_json(&app, "/open311/v2/servicerequestupdates.json").await;
    let statuses: Vec<(String, String)> = updates
        .as_array()
        .expect("array")
        .iter()
        .map(|u| {
            (
                u["service_request_id"].as_str().unwrap_or("").to_owned(),
                u["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for expected in [
        (first_id.clone(), "INVESTIGATING".to_owned()),
        (second_id.clone(), "DUPLICATE".to_owned()),
        (second_id.clone(), "INVESTIGATING".to_owned()),
    ] {
        assert!(statuses.contains(&expected), "{expected:?} in {statuses:?}");
    }

    // A report without a classifiable category goes under "other", and the filter finds it.
    let other = post("有点事情想反映一下。", "other".to_owned()).await;
    let other_id = other["service_request_id"].as_str().expect("id").to_owned();
    let (_, listed) = get_json(&app, "/open311/v2/requests.json?service_code=other").await;
    let listed: Vec<&Value> = listed.as_array().expect("array").iter().collect();
    assert!(
        listed
            .iter()
            .any(|r| r["service_request_id"] == other_id.as_str() && r["service_code"] == "other"),
        "{listed:?}"
    );
    let (status, _) = get_json(&app, "/open311/v2/services/other.json").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_updated_datetime_is_the_last_public_status_change() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();
    let case_id = app
        .file_appeal(
            "resident",
            f.grid_a,
            f.category,
            "阳光小区门口垃圾三天没人清运",
        )
        .await;
    for (user, action) in [
        ("shiftlead", json!({"action": "register"})),
        ("dispatcher", json!({"action": "dispatch"})),
        ("handler_a", json!({"action": "accept"})),
        (
            "handler_a",
            json!({"action": "feedback", "note": "已清运，联系人13812345678"}),
        ),
        (
            "supervisor_a",
            json!({"action": "check_pass", "note": "已清理干净"}),
        ),
        ("shiftlead", json!({"action": "close"})),
    ] {
        let (status, body) = app.act(user, case_id, action.clone()).await;
        assert_eq!(status, StatusCode::OK, "{user} {action}: {body}");
    }
    let (_, case) = app
        .get("shiftlead", &format!("/api/v1/cases/{case_id}"))
        .await;
    let number = case["number"].as_str().expect("number").to_owned();
    let path = format!("/open311/v2/requests/{number}.json?extensions=true");
    let (_, closed) = get_json(&app, &path).await;
    let closed = closed[0].clone();
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["extended_attributes"]["status"], "FIXED");
    let notes = closed["notes"].as_array().expect("notes");
    let last = notes.last().expect("a note");
    assert_eq!(last["status"], "FIXED");
    assert_eq!(closed["updated_datetime"], last["datetime"]);
    // The department's reply is public, masked.
    let feedback = notes
        .iter()
        .find(|n| n["summary"].as_str().unwrap_or("").contains("已清运"))
        .expect("the reply");
    assert!(
        !feedback["summary"]
            .as_str()
            .unwrap_or("")
            .contains("13812345678"),
        "{feedback}"
    );

    // The rating comes a second later and is not a public status change.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, body) = app
        .act(
            "resident",
            case_id,
            json!({"action": "rate", "satisfaction": "satisfied", "resolved": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, rated) = get_json(&app, &path).await;
    assert_eq!(rated[0]["extended_attributes"]["state"], "evaluated");
    assert_eq!(rated[0]["updated_datetime"], closed["updated_datetime"]);
    assert_eq!(rated[0]["notes"], closed["notes"]);
    assert!(rated[0]["expected_datetime"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_changeset_changes_when_services_change() {
    let app = TestApp::start().await;
    let (_, before) = get_json(&app, "/open311/v2/discovery.json").await;
    let (_, services) = get_json(&app, "/open311/v2/services.json").await;
    // Changesets are shown to the second.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (_, again) = get_json(&app, "/open311/v2/discovery.json").await;
    assert_eq!(before["changeset"], again["changeset"], "nothing changed");
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    app.services
        .import_taxonomy(
            &admin,
            &[urbis_service::reference::TaxonomyPath {
                names: vec!["市容环境".into(), "占道经营".into()],
            }],
        )
        .await
        .expect("import");
    let (_, after) = get_json(&app, "/open311/v2/discovery.json").await;
    assert_ne!(before["changeset"], after["changeset"]);
    assert_eq!(after["changeset"], after["endpoints"][0]["changeset"]);
    let (_, more) = get_json(&app, "/open311/v2/services.json").await;
    assert_eq!(
        more.as_array().expect("array").len(),
        services.as_array().expect("array").len() + 1
    );
}
