//! Moving and saving a city: SQLite → PostgreSQL → SQLite keeps every case, appeal, photo,
//! counter and audit record (counted and hashed per table), and a PostgreSQL store's backup
//! restores into a new database that verifies.

use serde_json::json;
use urbis_service::store::{Db, DbOptions, Location, digest};
use urbis_test_support::TestApp;

fn urbis(args: &[&str]) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(args)
        .output()
        .expect("run urbis");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

async fn read_only(location: &Location) -> Db {
    Db::open(&DbOptions {
        access: urbis_service::store::Access::ReadOnly,
        read_connections: 2,
        check: false,
        ..DbOptions::writer(location)
    })
    .await
    .expect("open")
}

/// A little of everything: cases in several states, a repeat report, a photo, a rating.
async fn some_city(app: &TestApp) {
    let f = app.fixture.clone();
    let first = app
        .file_appeal(
            "operator",
            f.grid_a,
            f.category,
            "迁移测试：井盖缺失，夜间危险",
        )
        .await;
    let second = app
        .file_appeal("operator", f.grid_b, f.other_category, "迁移测试：路灯不亮")
        .await;
    for (user, action) in [
        ("shiftlead", json!({"action": "register"})),
        (
            "dispatcher",
            json!({"action": "dispatch", "lead_dept_id": f.dept_a}),
        ),
        ("handler_a", json!({"action": "accept"})),
    ] {
        let (status, body) = app.act(user, first, action).await;
        assert!(status.is_success(), "{body}");
    }
    let (status, body) = app
        .act("shiftlead", second, json!({"action": "register"}))
        .await;
    assert!(status.is_success(), "{body}");
    let token = app.token("operator").await;
    let mut photo = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    photo.resize(photo.len() + 333, 7);
    let response = app
        .http
        .post(format!(
            "{}/api/v1/cases/{first}/attachments?kind=appeal",
            app.base
        ))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(photo)
        .send()
        .await
        .expect("upload");
    assert!(response.status().is_success(), "{}", response.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_round_trips_through_postgresql_and_a_postgres_backup_restores() {
    if urbis_test_support::sqlite_only("the round trip (it starts from SQLite itself)") {
        return;
    }
    if !urbis_test_support::postgres_available().await {
        eprintln!(
            "skipped: no PostgreSQL server at {}",
            urbis_test_support::postgres_server()
        );
        return;
    }
    let app = TestApp::start().await;
    some_city(&app).await;
    let dir = tempfile::tempdir().expect("dir");
    let source = app.location.clone();
    let on_postgres = urbis_test_support::fresh_postgres_database().await;
    let back = Location::Sqlite(dir.path().join("back.sqlite"));

    // SQLite → PostgreSQL with the command an operator runs, beside the serving city.
    let (code, out) = urbis(&[
        "store",
        "copy",
        "--from",
        &source.to_arg(),
        "--to",
        &on_postgres.to_arg(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("every table the same"), "{out}");
    assert!(!out.contains("DIFFERS"), "{out}");
    // PostgreSQL → SQLite.
    let (code, out) = urbis(&[
        "store",
        "copy",
        "--from",
        &on_postgres.to_arg(),
        "--to",
        &back.to_arg(),
    ]);
    assert_eq!(code, 0, "{out}");

    let original = digest(&read_only(&source).await).await.expect("digest");
    let returned = digest(&read_only(&back).await).await.expect("digest");
    assert_eq!(original, returned, "the round trip changed a table");
    let count = |table: &str| {
        original
            .iter()
            .find(|d| d.table == table)
            .map(|d| d.rows)
            .expect("table")
    };
    assert_eq!(count("cases"), 2);
    assert!(count("appeals") >= 2);
    assert_eq!(count("attachments"), 1);
    assert!(count("audit_log") > 10);
    for location in [on_postgres.to_arg(), back.to_arg()] {
        let (code, out) = urbis(&["audit", "verify", "--db", &location]);
        assert_eq!(code, 0, "{location}: {out}");
    }
    // Copying into a store that already holds a city is refused, and harms nothing.
    let (code, out) = urbis(&[
        "store",
        "copy",
        "--from",
        &back.to_arg(),
        "--to",
        &on_postgres.to_arg(),
    ]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("not empty"), "{out}");

    // A backup of the PostgreSQL store is a SQLite file that verifies and restores.
    let backup = dir.path().join("pg-backup.sqlite");
    let (code, out) = urbis(&[
        "backup",
        "--db",
        &on_postgres.to_arg(),
        "--to",
        backup.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{out}");
    let restored = urbis_test_support::fresh_postgres_database().await;
    let (code, out) = urbis(&[
        "store",
        "copy",
        "--from",
        backup.to_str().expect("utf-8"),
        "--to",
        &restored.to_arg(),
    ]);
    assert_eq!(code, 0, "{out}");
    let restored_digest = digest(&read_only(&restored).await).await.expect("digest");
    assert_eq!(original, restored_digest, "the restored backup differs");
}
