//! Sign-up and login with a one-time code from the sink; wrong, used and expired codes; the
//! per-phone and per-client limits.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use urbis_service::Clock;
use urbis_test_support::TestApp;

use super::{code_in, deliver, request_code, sign_up, sink, start_time, verify};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_signs_up_with_a_code_from_the_sink_and_bad_codes_are_refused() {
    let start = start_time();
    let clock = Clock::manual(start);
    let app = TestApp::start_with(clock.clone(), |_| {}).await;
    let phone = "13900001111";
    let (status, body) = request_code(&app, "12345").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_phone");

    let (status, body) = request_code(&app, phone).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(deliver(&app).await, (1, 0, 0));
    let messages = sink(&app, phone).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let code = code_in(messages[0]["body"].as_str().expect("body"));
    // A wrong code is refused and the right one still works.
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (status, body) = verify(&app, phone, wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "otp_invalid");
    let (status, body) = verify(&app, phone, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let (status, me) = app
        .send(Some(&token), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["role"], "resident");
    assert!(
        !me["username"].as_str().expect("username").contains("1111"),
        "{me}"
    );
    // A used code does not log in twice.
    let (status, body) = verify(&app, phone, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // The outbox no longer holds the code once delivered; the code table holds only hashes.
    let (status, outbox) = app.get("admin", "/api/v1/notify/outbox").await;
    assert_eq!(status, StatusCode::OK, "{outbox}");
    let otp = outbox
        .as_array()
        .expect("outbox")
        .iter()
        .find(|m| m["kind"] == "otp")
        .expect("otp row");
    assert_eq!(otp["state"], "sent");
    assert!(!otp["body"].as_str().expect("body").contains(&code));
    let hashes: Vec<String> = urbis_storage::sql::query("SELECT code_hash FROM otp_codes")
        .scalars(&mut app.services.db().read().await.expect("read"))
        .await
        .expect("codes");
    assert!(hashes.iter().all(|h| !h.contains(&code)));
    let stored: Vec<String> =
        urbis_storage::sql::query("SELECT body FROM outbox WHERE kind = 'otp' AND state = 'sent'")
            .scalars(&mut app.services.db().read().await.expect("read"))
            .await
            .expect("outbox");
    assert!(
        !stored.is_empty() && stored.iter().all(|b| !b.contains(&code)),
        "{stored:?}"
    );
    // The same phone logs in again to the same account.
    let again = sign_up(&app, phone).await;
    let (_, me_again) = app
        .send(Some(&again), Method::GET, "/api/v1/me", None)
        .await;
    assert_eq!(me_again["user_id"], me["user_id"]);

    // An expired code is refused.
    let other = "13900002222";
    let (status, _) = request_code(&app, other).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    deliver(&app).await;
    let code = code_in(sink(&app, other).await[0]["body"].as_str().expect("body"));
    clock.set(start + Duration::minutes(6));
    let (status, body) = verify(&app, other, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "otp_expired");
    // Too many wrong entries kill a code even before it expires.
    let (status, _) = request_code(&app, other).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    deliver(&app).await;
    let code = code_in(
        sink(&app, other).await.last().expect("second code")["body"]
            .as_str()
            .expect("body"),
    );
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for _ in 0..5 {
        assert_eq!(verify(&app, other, wrong).await.0, StatusCode::UNAUTHORIZED);
    }
    let (status, body) = verify(&app, other, &code).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["code"], "otp_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_requests_are_limited_per_phone_and_per_client() {
    let start = start_time();
    let clock = Clock::manual(start);
    let app = TestApp::start_with(clock.clone(), |c| {
        c.residents.codes_per_phone = 3;
        c.residents.codes_per_client = 5;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            request_code(&app, "13900003333").await.0,
            StatusCode::ACCEPTED
        );
    }
    let (status, body) = request_code(&app, "13900003333").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "otp_phone_limited");
    for _ in 0..2 {
        assert_eq!(
            request_code(&app, "13900004444").await.0,
            StatusCode::ACCEPTED
        );
    }
    let (status, body) = request_code(&app, "13900005555").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "otp_client_limited");
    // Only the accepted requests were sent.
    assert_eq!(deliver(&app).await, (5, 0, 0));
    // The window passes and codes flow again.
    clock.set(start + Duration::minutes(16));
    assert_eq!(
        request_code(&app, "13900003333").await.0,
        StatusCode::ACCEPTED
    );
}
