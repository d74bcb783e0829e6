//! Open311 GeoReport v2: every method in XML and JSON, the spec's error cases, well-formed XML
//! with the spec's element names, and no personal data in any Open311 answer.

mod media;
mod privacy;

use quick_xml::events::Event;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_test_support::TestApp;

/// A parsed XML element: name, text and children, enough to check documents.
#[derive(Debug, Default)]
struct El {
    name: String,
    text: String,
    children: Vec<El>,
}

impl El {
    fn child(&self, name: &str) -> &El {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("<{}> has no <{name}>: {self:?}", self.name))
    }

    fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }

    fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }
}

/// Parses a whole document, failing on anything that is not well-formed.
#[track_caller]
fn parse_xml(text: &str) -> El {
    assert!(text.starts_with("<?xml"), "no XML declaration: {text}");
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<El> = vec![El::default()];
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(start) => stack.push(El {
                name: String::from_utf8(start.name().as_ref().to_vec()).expect("utf-8"),
                ..El::default()
            }),
            Event::Empty(start) => {
                let el = El {
                    name: String::from_utf8(start.name().as_ref().to_vec()).expect("utf-8"),
                    ..El::default()
                };
                stack.last_mut().expect("parent").children.push(el);
            }
            Event::Text(text) => {
                let text = text.unescape().expect("valid escapes");
                stack.last_mut().expect("parent").text.push_str(&text);
            }
            Event::End(_) => {
                let el = stack.pop().expect("open element");
                stack.last_mut().expect("parent").children.push(el);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut document = stack.pop().expect("document");
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.pop().expect("root")
}

/// Sends a raw Open311 call and returns status, content type and body text.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    form: Option<&[(&str, &str)]>,
) -> (StatusCode, String, String) {
    let mut request = app.http.request(method, format!("{}{path}", app.base));
    if let Some(form) = form {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        request = request
            .header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, content_type, response.text().await.expect("body"))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[track_caller]
fn json_of(status: StatusCode, content_type: &str, body: &str) -> Value {
    assert!(
        content_type.starts_with("application/json"),
        "{status} {content_type}: {body}"
    );
    serde_json::from_str(body).expect("JSON body")
}

#[track_caller]
fn xml_of(content_type: &str, body: &str) -> El {
    assert!(
        content_type.starts_with("text/xml"),
        "{content_type}: {body}"
    );
    parse_xml(body)
}

async fn get_json(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let (status, content_type, body) = call(app, Method::GET, path, None).await;
    (status, json_of(status, &content_type, &body))
}

async fn get_xml(app: &TestApp, path: &str) -> (StatusCode, El) {
    let (status, content_type, body) = call(app, Method::GET, path, None).await;
    (status, xml_of(&content_type, &body))
}

/// Registers a client as admin and returns (id, api key).
async fn register(app: &TestApp, name: &str) -> (i64, String) {
    let (status, body) = app
        .post("admin", "/api/v1/open311/clients", json!({ "name": name }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["id"].as_i64().expect("id"),
        body["api_key"].as_str().expect("api key").to_owned(),
    )
}

/// A form body as name-value pairs.
type Form = Vec<(&'static str, String)>;

const REQUEST_FIELDS: [&str; 17] = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_methods_answer_in_xml_and_json_without_personal_data() {
    let app = TestApp::start().await;
    let f = app.fixture.clone();

    // Keys: admin only, listed without the key or its hash.
    let (status, _) = app
        .post("operator", "/api/v1/open311/clients", json!({"name": "x"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, api_key) = register(&app, "城市App").await;
    let (status, clients) = app.get("admin", "/api/v1/open311/clients").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(clients[0]["name"], "城市App");
    assert!(clients[0].get("api_key").is_none() && clients[0].get("key_hash").is_none());

    // Discovery, both formats.
    let (status, discovery) = get_json(&app, "/open311/v2/discovery.json").await;
    assert_eq!(status, StatusCode::OK);
    for field in ["changeset", "contact", "key_service", "endpoints"] {
        assert!(discovery.get(field).is_some(), "{field}: {discovery}");
    }
    assert_eq!(
        discovery["endpoints"][0]["formats"],
        json!(["text/xml", "application/json"])
    );
    let (_, discovery) = get_xml(&app, "/open311/v2/discovery.xml").await;
    assert_eq!(discovery.name, "discovery");
    let endpoint = discovery.child("endpoints").child("endpoint");
    assert_eq!(
        endpoint.names(),
        ["specification", "url", "changeset", "type", "formats"]
    );
    assert_eq!(endpoint.child("formats").all("format").len(), 2);
    // The url is the configured public URL, whatever the Host header says.
    assert_eq!(
        endpoint.child("url").text,
        format!(
            "{}/open311/v2",
            app.services.config().public_url.trim_end_matches('/')
        )
    );

    // Service list: the level-2 categories, then "other" for unclassified cases.
    let (status, services) = get_json(&app, "/open311/v2/services.json").await;
    assert_eq!(status, StatusCode::OK);
    let services = services.as_array().expect("array");
    assert_eq!(services.len(), 3, "{services:?}");
    assert_eq!(services[2]["service_code"], "other");
    let garbage = services
        .iter()
        .find(|s| s["service_name"] == "暴露垃圾")
        .expect("service");
    assert_eq!(garbage["group"], "市容环境");
    assert_eq!(garbage["metadata"], false);
    assert_eq!(garbage["type"], "realtime");
    let code = garbage["service_code"].as_str().expect("code").to_owned();
    let other_code = services
        .iter()
        .find(|s| s["service_name"] == "井盖缺损")
        .expect("service")["service_code"]
        .as_str()
        .expect("code")
        .to_owned();
    let (_, services_xml) = get_xml(&app, "/open311/v2/services.xml?jurisdiction_id=990100").await;
    assert_eq!(services_xml.name, "services");
    let service = services_xml.all("service");
    assert_eq!(service.len(), 3);
    assert_eq!(
        service[0].names(),
        [
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group"
        ]
    );

    // Service definition: no attributes.
    let (status, definition) = get_json(&app, &format!("/open311/v2/services/{code}.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(definition, json!({"service_code": code, "attributes": []}));
    let (_, definition) = get_xml(&app, &format!("/open311/v2/services/{code}.xml")).await;
    assert_eq!(definition.name, "service_definition");
    assert_eq!(definition.child("service_code").text, code);
    assert!(definition.child("attributes").children.is_empty());

    // POST in JSON with lat/long and personal data; POST in XML with an address.
    let (status, content_type, body) = call(
        &app,
        Method::POST,
        "/open311/v2/requests.json",
        Some(&[
            ("api_key", &api_key),
            ("jurisdiction_id", "990100"),
            ("service_code", &code),
            ("lat", "30.25"),
            ("long", "120.16"),
            ("description", "路边垃圾堆了三天，我的电话13812345678"),
            ("first_name", "三"),
            ("last_name", "张"),
            ("phone", "13812345678"),
            ("email", "zhangsan@example.org"),
            ("attribute[size]", "large"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created = json_of(status, &content_type, &body);
    let number = created[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(created[0].get("token").is_none());
    let (status, content_type, body) = call(
        &app,
        Method::POST,
        "/open311/v2/requests.xml",
        Some(&[
            ("api_key", &api_key),
            ("service_code", &other_code),
            ("address_string", "人民路1号, 测试市"),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created = xml_of(&content_type, &body);
    assert_eq!(created.name, "service_requests");
    let number_xml = created
        .child("request")
        .child("service_request_id")
        .text
        .clone();
    assert!(!number_xml.is_empty());

    // The request went through the normal intake: an operator sees it as an api case.
    let (status, cases) = app.get("operator", "/api/v1/cases").await;
    assert_eq!(status, StatusCode::OK);
    let case = cases
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["number"] == number.as_str())
        .expect("case from open311");
    assert_eq!(case["channel"], "api");
    assert_eq!(case["category_id"], f.category);

    // One request, both formats, with notes.
    let mut outputs = Vec::new();
    let (status, content_type, body) = call(
        &app,
        Method::GET,
        &format!("/open311/v2/requests/{number}.json?extensions=true"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let one = json_of(status, &content_type, &body);
    outputs.push(body);
    let request = &one[0];
    for field in REQUEST_FIELDS {
        assert!(request.get(field).is_some(), "{field}: {request}");
    }
    assert_eq!(request["status"], "open");
    assert_eq!(request["status_notes"], "受理");
    assert_eq!(request["service_code"], code.as_str());
    // The point is coarsened (no unit grid here: the centre of its ~100 m cell).
    let (lat, lon) = (
        request["lat"].as_f64().expect("lat"),
        request["long"].as_f64().expect("long"),
    );
    assert!((lat - 30.25).abs() < 0.001 && lat != 30.25, "{lat}");
    assert!((lon - 120.16).abs() < 0.001 && lon != 120.16, "{lon}");
    assert!(
        request["requested_datetime"]
            .as_str()
            .expect("time")
            .ends_with("+08:00")
    );
    assert_eq!(request["extended_attributes"]["channel"], "api");
    assert_eq!(request["extended_attributes"]["status"], "OPEN");
    assert_eq!(request["notes"][0]["type"], "submitted");
    assert_eq!(request["notes"][0]["status"], "OPEN");
    assert!(
        request["notes"][0]["summary"]
            .as_str()
            .expect("summary")
            .contains("Received")
    );
    let (status, content_type, body) = call(
        &app,
        Method::GET,
        &format!("/open311/v2/requests/{number}.xml"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let one = xml_of(&content_type, &body);
    outputs.push(body);
    assert_eq!(one.name, "service_requests");
    let request = one.child("request");
    assert_eq!(&request.names()[..REQUEST_FIELDS.len()], REQUEST_FIELDS);
    assert_eq!(request.child("status").text, "open");
    assert!(
        !request.names().contains(&"notes"),
        "notes only with extensions=true"
    );

    // The list, filters, paging, both formats.
    let (status, content_type, body) =
        call(&app, Method::GET, "/open311/v2/requests.json", None).await;
    assert_eq!(status, StatusCode::OK);
    let all = json_of(status, &content_type, &body);
    outputs.push(body);
    assert_eq!(all.as_array().expect("array").len(), 2);
    let (_, content_type, body) = call(&app, Method::GET, "/open311/v2/requests.xml", None).await;
    let all_xml = xml_of(&content_type, &body);
    outputs.push(body);
    assert_eq!(all_xml.all("request").len(), 2);
    let count = |v: &Value| v.as_array().expect("array").len();
    let (_, only) = get_json(
        &app,
        &format!("/open311/v2/requests.json?service_code={code}&status=open"),
    )
    .await;
    assert_eq!(count(&only), 1);
    assert_eq!(only[0]["service_request_id"], number.as_str());
    let (_, closed) = get_json(&app, "/open311/v2/requests.json?status=closed").await;
    assert_eq!(count(&closed), 0);
    let (_, by_id) = get_json(
        &app,
        &format!(
            "/open311/v2/requests.json?service_request_id={number},{number_xml}&status=closed"
        ),
    )
    .await;
    assert_eq!(count(&by_id), 2, "ids override other filters");
    let (_, page1) = get_json(&app, "/open311/v2/requests.json?page_size=1").await;
    let (_, page2) = get_json(&app, "/open311/v2/requests.json?page_size=1&page=2").await;
    assert_eq!((count(&page1), count(&page2)), (1, 1));
    assert_ne!(
        page1[0]["service_request_id"],
        page2[0]["service_request_id"]
    );
    let start = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let end = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (status, dated) = get_json(
        &app,
        &format!(
            "/open311/v2/requests.json?start_date={}&end_date={}",
            encode(&start),
            encode(&end)
        ),
    )
    .await;
    assert_eq!((status, count(&dated)), (StatusCode::OK, 2));

    // Tokens: the id is returned at once, so a token is the id itself.
    let (status, token) = get_json(&app, &format!("/open311/v2/tokens/{number}.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token[0]["service_request_id"], number.as_str());
    let (_, token) = get_xml(&app, &format!("/open311/v2/tokens/{number}.xml")).await;
    assert_eq!(
        token.child("request").child("service_request_id").text,
        number
    );

    // A voided case is left out of every answer.
    let case_id = case["id"].as_i64().expect("case id");
    let (status, _) = app
        .act(
            "shiftlead",
            case_id,
            json!({"action": "void", "reason": "测试"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, closed) = get_json(&app, "/open311/v2/requests.json?status=closed").await;
    assert_eq!(count(&closed), 0);
    let (_, all) = get_json(&app, "/open311/v2/requests.json").await;
    assert_eq!(count(&all), 1);
    let (status, _) = get_json(&app, &format!("/open311/v2/requests/{number}.json")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // No personal data anywhere.
    for output in &outputs {
        for secret in ["张", "13812345678", "zhangsan@example.org"] {
            assert!(!output.contains(secret), "{secret} leaked: {output}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_errors_follow_the_spec() {
    let app = TestApp::start().await;
    let (client_id, api_key) = register(&app, "tester").await;
    let (_, services) = get_json(&app, "/open311/v2/services.json").await;
    let code = services[0]["service_code"]
        .as_str()
        .expect("code")
        .to_owned();
    let post = |form: Form| {
        let app = &app;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            call(app, Method::POST, "/open311/v2/requests.json", Some(&form)).await
        }
    };
    let located = |key: &str| {
        vec![
            ("api_key", key.to_owned()),
            ("service_code", code.clone()),
            ("lat", "30.1".to_owned()),
            ("long", "120.1".to_owned()),
        ]
    };
    let cases: Vec<(Form, StatusCode, &str)> = vec![
        (
            located("")[1..].to_vec(),
            StatusCode::FORBIDDEN,
            "invalid_api_key",
        ),
        (
            located("not-a-key"),
            StatusCode::FORBIDDEN,
            "invalid_api_key",
        ),
        (
            vec![
                ("api_key", api_key.clone()),
                ("lat", "1".into()),
                ("long", "1".into()),
            ],
            StatusCode::BAD_REQUEST,
            "missing_service_code",
        ),
        (
            vec![
                ("api_key", api_key.clone()),
                ("service_code", "9999".into()),
                ("address_string", "x".into()),
            ],
            StatusCode::NOT_FOUND,
            "unknown_service_code",
        ),
        (
            vec![("api_key", api_key.clone()), ("service_code", code.clone())],
            StatusCode::BAD_REQUEST,
            "missing_location",
        ),
        (
            vec![
                ("api_key", api_key.clone()),
                ("service_code", code.clone()),
                ("lat", "30".into()),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_location",
        ),
        (
            {
                let mut form = located(&api_key);
                form.push(("description", "字".repeat(20_001)));
                form
            },
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            {
                let mut form = located(&api_key);
                form.push(("jurisdiction_id", "elsewhere.gov".into()));
                form
            },
            StatusCode::NOT_FOUND,
            "unknown_jurisdiction",
        ),
    ];
    for (form, status, code) in cases {
        let (got, content_type, body) = post(form.clone()).await;
        assert_eq!(got, status, "{form:?}: {body}");
        let errors = json_of(got, &content_type, &body);
        assert_eq!(errors[0]["code"], status.as_u16(), "{body}");
        assert!(
            errors[0]["description"]
                .as_str()
                .expect("description")
                .starts_with(code),
            "{form:?}: {body}"
        );
    }

    // The same error in XML.
    let (status, content_type, body) = call(
        &app,
        Method::POST,
        "/open311/v2/requests.xml",
        Some(&[("service_code", code.as_str())]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let errors = xml_of(&content_type, &body);
    assert_eq!(errors.name, "errors");
    let error = errors.child("error");
    assert_eq!(error.names(), ["code", "description"]);
    assert_eq!(error.child("code").text, "403");

    // A revoked key stops working at once; revoking twice is a conflict; admin only.
    let (status, _, _) = post(located(&api_key)).await;
    assert_eq!(status, StatusCode::OK);
    let token = app.token("operator").await;
    let path = format!("/api/v1/open311/clients/{client_id}");
    let (status, _) = app.send(Some(&token), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let token = app.token("admin").await;
    let (status, revoked) = app.send(Some(&token), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revoked_at"].is_string());
    let (status, _) = app.send(Some(&token), Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, body) = post(located(&api_key)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("revoked"), "{body}");

    // Unknown things are 404 in both formats; bad query input is 400.
    let not_found = [
        "/open311/v2/requests/19990101999999.json",
        "/open311/v2/requests/19990101999999.xml",
        "/open311/v2/tokens/nope.json",
        "/open311/v2/services/9999.json",
        "/open311/v2/services.json?jurisdiction_id=elsewhere.gov",
        "/open311/v2/requests.xml?jurisdiction_id=elsewhere.gov",
        "/open311/v2/nothing.json",
        "/open311/v2/services.csv",
        "/open311/v2",
        "/open311/v2/a/b/c.json",
    ];
    for path in not_found {
        let (status, content_type, body) = call(&app, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        if content_type.starts_with("text/xml") {
            assert_eq!(parse_xml(&body).child("error").child("code").text, "404");
        } else {
            assert_eq!(json_of(status, &content_type, &body)[0]["code"], 404);
        }
    }
    let bad = [
        "/open311/v2/requests.json?start_date=yesterday",
        "/open311/v2/requests.json?end_date=2026-01-01T00:00:00",
        "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        "/open311/v2/requests.json?start_date=2026-06-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
        "/open311/v2/requests.json?status=pending",
        "/open311/v2/requests.json?page_size=1001",
        "/open311/v2/requests.json?page=0",
        "/open311/v2/requests.xml?page_size=ten",
    ];
    for path in bad {
        let (status, content_type, body) = call(&app, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        if content_type.starts_with("text/xml") {
            assert_eq!(parse_xml(&body).child("error").child("code").text, "400");
        } else {
            assert_eq!(json_of(status, &content_type, &body)[0]["code"], 400);
        }
    }

    // Every W3C form the spec cites is accepted: date-only, year-month, hh:mm.
    for query in [
        "start_date=2026-11-01&end_date=2026-11-30",
        "start_date=2026-11",
        "start_date=2026-11-01T08:00%2B08:00&end_date=2026-11-02T08:00Z",
    ] {
        let (status, _) = get_json(&app, &format!("/open311/v2/requests.json?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
    }

    // 405 and 413 in the spec's format and the path's format.
    let (status, content_type, body) =
        call(&app, Method::DELETE, "/open311/v2/requests.json", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(json_of(status, &content_type, &body)[0]["code"], 405);
    let (status, content_type, body) =
        call(&app, Method::PUT, "/open311/v2/services.xml", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        xml_of(&content_type, &body)
            .child("error")
            .child("code")
            .text,
        "405"
    );
    let big = "x".repeat(1024 * 1024);
    let (status, content_type, body) = call(
        &app,
        Method::POST,
        "/open311/v2/requests.json",
        Some(&[("description", big.as_str())]),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(status, &content_type, &body)[0]["code"], 413);
}
