//! Multipart POSTs with photos, photos as `media_url`, places shown as their unit grid's centre,
//! and CORS for browsers on other origins.

use reqwest::StatusCode;
use urbis_domain::area::AreaLevel;
use urbis_test_support::TestApp;

use super::{get_json, register};

/// The smallest file the service takes for a JPEG (start of image, JFIF header, end of image).
const JPEG: &[u8] = &[
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xd9,
];

/// A `multipart/form-data` body written by hand: text fields, then one file per photo.
fn multipart(boundary: &str, fields: &[(&str, &str)], photos: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, bytes) in photos {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.jpeg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open311_multipart_photos_become_media_and_places_are_grid_centres() {
    let app = TestApp::start().await;
    let (_, api_key) = register(&app, "fms").await;
    let admin = app
        .services
        .actor_by_username("admin")
        .await
        .expect("admin");
    // A unit grid with its centre, under district A's community.
    let (_, tree) = app.get("admin", "/api/v1/areas").await;
    let community = tree
        .as_array()
        .expect("areas")
        .iter()
        .find(|a| a["code"] == "990101001001")
        .expect("community")["id"]
        .as_i64()
        .expect("id");
    let grid = app
        .services
        .create_area(
            &admin,
            "990101001001002",
            "二网格",
            AreaLevel::Grid,
            Some(community),
            Some((30.2504, 120.1607)),
        )
        .await
        .expect("grid");
    let (_, services) = get_json(&app, "/open311/v2/services.json").await;
    let code = services[0]["service_code"]
        .as_str()
        .expect("code")
        .to_owned();

    let boundary = "urbis-test-boundary-7d1f";
    let body = multipart(
        boundary,
        &[
            ("api_key", &api_key),
            ("service_code", &code),
            ("lat", "30.251234"),
            ("long", "120.161234"),
            ("address_id", &grid.code),
            ("description", "桥下涂鸦，见照片"),
            ("first_name", "Alex"),
        ],
        &[("photo1", JPEG), ("photo2", JPEG)],
    );
    let response = app
        .http
        .post(format!("{}/open311/v2/requests.json", app.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::OK);
    let created: serde_json::Value = response.json().await.expect("json");
    let number = created[0]["service_request_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (status, one) = get_json(&app, &format!("/open311/v2/requests/{number}.json")).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let request = &one[0];
    // The point shown is the grid's centre, not the reporter's.
    assert_eq!(request["lat"], 30.2504);
    assert_eq!(request["long"], 120.1607);
    assert_eq!(request["address_id"], grid.code.as_str());
    assert!(
        request["address"]
            .as_str()
            .expect("address")
            .starts_with("二网格"),
        "{request}"
    );
    // The first photo is the media_url, served to anyone, from any origin.
    let media = request["media_url"].as_str().expect("media_url");
    let path = media
        .find("/open311/v2/media/")
        .map(|at| &media[at..])
        .expect("a media path");
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .expect("media");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/jpeg")
    );
    assert_eq!(response.bytes().await.expect("bytes").as_ref(), JPEG);
    // Both photos are on the case for staff.
    let (_, cases) = app.get("operator", "/api/v1/cases").await;
    let case_id = cases
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["number"] == number.as_str())
        .expect("case")["id"]
        .as_i64()
        .expect("id");
    let (_, attachments) = app
        .get("operator", &format!("/api/v1/cases/{case_id}/attachments"))
        .await;
    assert_eq!(
        attachments["items"].as_array().expect("list").len(),
        2,
        "{attachments}"
    );

    // A file that is not an image is not taken for a photo: this POST then has no location.
    let body = multipart(
        boundary,
        &[("api_key", &api_key), ("service_code", &code)],
        &[("photo1", b"GIF89a not accepted")],
    );
    let response = app
        .http
        .post(format!("{}/open311/v2/requests.xml", app.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("missing_location")
    );
}
