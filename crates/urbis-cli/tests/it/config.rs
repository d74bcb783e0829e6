//! `urbis serve --config FILE`: the file fills what flags and environment variables leave at
//! their defaults, and the city's time zone is an IANA name.

use serde_json::Value;

use crate::child::{Serve, Server};

/// Starts `urbis serve` with exactly these arguments and environment (none inherited that would
/// decide the outcome); returns the child and its base URL, or what it printed to stderr.
fn start(args: &[&str], env: &[(&str, &str)]) -> Result<(Server, String), String> {
    let mut serve = Serve::with_args(args.to_vec())
        .env("URBIS_ADMIN_PASSWORD", "config-test-password")
        .env("URBIS_LOG", "error");
    serve.env_remove = vec!["URBIS_PUBLIC_URL", "URBIS_TIME_ZONE", "URBIS_CONFIG"];
    for (key, value) in env {
        serve = serve.env(key, value);
    }
    let server = serve.try_start()?;
    let base = server.base.clone();
    Ok((server, base))
}

async fn discovery_url(base: &str) -> String {
    let body: Value = reqwest::get(format!("{base}/open311/v2/discovery.json"))
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    body["endpoints"][0]["url"]
        .as_str()
        .expect("url")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_fills_what_flags_and_environment_leave_at_their_defaults() {
    if urbis_test_support::sqlite_only(
        "the_file_fills_what_flags_and_environment_leave_at_their_defaults",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("urbis.toml");
    std::fs::write(
        &file,
        "db = \"city.sqlite\"\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://file.example.gov.cn\"\ntime_zone = \"Asia/Urumqi\"\n",
    )
    .expect("write");
    let config = file.to_str().expect("utf-8");

    // From the file alone; its relative db path is beside the file.
    let (mut child, base) = start(&["--config", config], &[]).expect("starts");
    assert!(
        discovery_url(&base)
            .await
            .starts_with("https://file.example.gov.cn")
    );
    child.kill();
    assert!(
        dir.path().join("city.sqlite").exists(),
        "the file's db, beside the file"
    );

    // An environment variable wins over the file, and a flag over both.
    let (mut child, base) = start(
        &["--config", config],
        &[("URBIS_PUBLIC_URL", "https://env.example.gov.cn")],
    )
    .expect("starts");
    assert!(
        discovery_url(&base)
            .await
            .starts_with("https://env.example.gov.cn")
    );
    child.kill();
    let (mut child, base) = start(
        &[
            "--config",
            config,
            "--public-url",
            "https://flag.example.gov.cn",
        ],
        &[("URBIS_PUBLIC_URL", "https://env.example.gov.cn")],
    )
    .expect("starts");
    assert!(
        discovery_url(&base)
            .await
            .starts_with("https://flag.example.gov.cn")
    );
    child.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_refused_with_a_clear_message() {
    if urbis_test_support::sqlite_only("bad_configuration_is_refused_with_a_clear_message") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("city.sqlite");
    let db = db.to_str().expect("utf-8");
    let refused = start(
        &[
            "--db",
            db,
            "--listen",
            "127.0.0.1:0",
            "--time-zone",
            "UTC+8",
        ],
        &[],
    )
    .err()
    .expect("an offset is not a time zone");
    assert!(refused.contains("unknown time zone"), "{refused}");
    let file = dir.path().join("urbis.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nport = 8080\n").expect("write");
    let refused = start(
        &["--db", db, "--config", file.to_str().expect("utf-8")],
        &[],
    )
    .err()
    .expect("an unknown key is refused");
    assert!(refused.contains("port"), "{refused}");
}

/// Files one appeal as the admin and returns its case number.
async fn file_one(base: &str) -> String {
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": "config-test-password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"].as_str().expect("token");
    let body: Value = http
        .post(format!("{base}/api/v1/appeals"))
        .bearer_auth(token)
        .json(&serde_json::json!({"channel": "api", "text": "时区测试：路灯不亮"}))
        .send()
        .await
        .expect("appeal")
        .json()
        .await
        .expect("appeal body");
    body["number"].as_str().expect("number").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_numbers_carry_the_report_day_in_the_citys_time_zone() {
    if urbis_test_support::sqlite_only("case_numbers_carry_the_report_day_in_the_citys_time_zone") {
        return;
    }
    // Kiritimati (UTC+14) and Pago Pago (UTC-11) are always on different days.
    for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago"] {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("city.sqlite");
        let (mut child, base) = start(
            &[
                "--db",
                db.to_str().expect("utf-8"),
                "--listen",
                "127.0.0.1:0",
                "--time-zone",
                zone,
            ],
            &[],
        )
        .expect("starts");
        let number = file_one(&base).await;
        let tz: chrono_tz::Tz = zone.parse().expect("zone");
        let today = chrono::Utc::now()
            .with_timezone(&tz)
            .format("%Y%m%d")
            .to_string();
        assert_eq!(&number[..8], today, "{zone}: {number}");
        child.kill();
    }
}
