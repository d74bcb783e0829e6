//! Residents in the loop (issue 21) over HTTP: sign-up with a code read from the local sink,
//! wrong and expired codes, the per-phone and per-client code limits, the outbox delivering each
//! event once and retrying a failing webhook with back-off, opting out, one-stop answers from the
//! knowledge base, a community proposal from supports to a tracked case, joining an open report and
//! the public case timeline, and opinion polls with small cells suppressed.

mod accounts;
mod followup;
mod outbox;
mod participation;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use urbis_test_support::TestApp;

/// Runs one delivery round as the admin and returns (sent, retried, failed).
async fn deliver(app: &TestApp) -> (u64, u64, u64) {
    let (status, body) = app.post("admin", "/api/v1/notify/deliver", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["sent"].as_u64().expect("sent"),
        body["retried"].as_u64().expect("retried"),
        body["failed"].as_u64().expect("failed"),
    )
}

/// The sink's messages to an address, oldest first.
async fn sink(app: &TestApp, address: &str) -> Vec<Value> {
    let (status, body) = app
        .get("admin", &format!("/api/v1/notify/sink?address={address}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut rows = body.as_array().expect("sink").clone();
    rows.reverse();
    rows
}

/// The six-digit code in a message body.
fn code_in(body: &str) -> String {
    let digits: Vec<char> = body.chars().collect();
    digits
        .windows(6)
        .find(|w| w.iter().all(char::is_ascii_digit))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {body}"))
}

async fn request_code(app: &TestApp, phone: &str) -> (StatusCode, Value) {
    app.send(
        None,
        Method::POST,
        "/api/v1/auth/code",
        Some(json!({ "phone": phone })),
    )
    .await
}

async fn verify(app: &TestApp, phone: &str, code: &str) -> (StatusCode, Value) {
    app.send(
        None,
        Method::POST,
        "/api/v1/auth/code/verify",
        Some(json!({ "phone": phone, "code": code })),
    )
    .await
}

/// Signs a new resident up with the code the sink received and returns their token.
async fn sign_up(app: &TestApp, phone: &str) -> String {
    let (status, body) = request_code(app, phone).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    deliver(app).await;
    let messages = sink(app, phone).await;
    let last = messages
        .iter()
        .rev()
        .find(|m| m["kind"] == "otp")
        .unwrap_or_else(|| panic!("no code in the sink for {phone}: {messages:?}"));
    let code = code_in(last["body"].as_str().expect("body"));
    let (status, body) = verify(app, phone, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["role"], "resident");
    body["token"].as_str().expect("token").to_owned()
}

fn start_time() -> DateTime<Utc> {
    Utc::now()
}
