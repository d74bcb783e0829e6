//! Crash test: a child `urbis serve` is killed with SIGKILL in the middle of a burst of appeals.
//! After a restart every appeal that received a 2xx is there exactly once, and retrying every
//! idempotency key creates no duplicates. On both backends: the SQLite file, and PostgreSQL (the
//! server survives; the killed node's uncommitted group commit must leave nothing behind).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use urbis_service::store::{Access, Db, DbOptions};
use urbis_storage::sql;

use crate::child::{Serve, login};

const ADMIN_PASSWORD: &str = "crash-test-password";

async fn post(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
) -> Result<(u16, i64), String> {
    let response = http
        .post(format!("{base}/api/v1/appeals"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&serde_json::json!({"channel": "api", "text": format!("崩溃测试诉求 {key}")}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    Ok((status, body["case_id"].as_i64().unwrap_or(-1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appeals_survive_sigkill_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    let location = urbis_test_support::test_store(dir.path()).await;
    let db = location.to_arg();
    let mut server = Serve::on_store(&db, ADMIN_PASSWORD).start();
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let token = login(&http, &base, "admin", ADMIN_PASSWORD).await;

    let total = 3_000;
    let acked: Arc<tokio::sync::Mutex<HashMap<String, i64>>> = Arc::default();
    let n_acked = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (http, base, token, acked, n_acked, next) = (
            http.clone(),
            base.clone(),
            token.clone(),
            acked.clone(),
            n_acked.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    break;
                }
                let key = format!("crash-{i}");
                match post(&http, &base, &token, &key).await {
                    Ok((201, case_id)) => {
                        acked.lock().await.insert(key, case_id);
                        n_acked.fetch_add(1, Ordering::SeqCst);
                    }
                    // The server died: stop this client.
                    _ => break,
                }
            }
        }));
    }
    // Kill the server in the middle of the burst.
    while n_acked.load(Ordering::SeqCst) < 300 {
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    server.kill();
    for task in tasks {
        task.await.expect("client");
    }
    let acked = acked.lock().await.clone();
    let sent = next.load(Ordering::SeqCst).min(total);
    assert!(
        acked.len() >= 300 && acked.len() < total,
        "the kill landed mid-burst: {} acked",
        acked.len()
    );

    // Restart on the same store: every acknowledged appeal is there, exactly once.
    let mut server = Serve::on_store(&db, ADMIN_PASSWORD).start();
    let base = server.base.clone();
    let token = login(&http, &base, "admin", ADMIN_PASSWORD).await;
    for (key, case_id) in &acked {
        let (status, again) = post(&http, &base, &token, key).await.expect("retry");
        assert_eq!(
            (status, again),
            (200, *case_id),
            "retry of {key} returns the first case"
        );
    }
    // Retrying every key that may have been in flight creates each case at most once.
    for i in 0..sent {
        let key = format!("crash-{i}");
        let (status, _) = post(&http, &base, &token, &key).await.expect("retry");
        assert!(status == 200 || status == 201, "{key}: {status}");
    }
    server.kill();
    let store = Db::open(&DbOptions {
        access: Access::ReadOnly,
        read_connections: 1,
        check: false,
        ..DbOptions::writer(&location)
    })
    .await
    .expect("open");
    let mut conn = store.read().await.expect("read");
    let duplicates: i64 = sql::query(
        "SELECT COUNT(*) FROM (SELECT text FROM cases GROUP BY text HAVING COUNT(*) > 1) AS twice",
    )
    .scalar(&mut conn)
    .await
    .expect("count");
    assert_eq!(duplicates, 0, "no appeal stored twice");
    let n_cases: i64 = sql::query("SELECT COUNT(*) FROM cases")
        .scalar(&mut conn)
        .await
        .expect("count");
    assert_eq!(n_cases as usize, sent, "every key sent is stored once");
    for (key, case_id) in &acked {
        let stored: i64 =
            sql::query("SELECT COUNT(*) FROM appeals WHERE idempotency_key LIKE ? AND case_id = ?")
                .bind(format!("%:{key}"))
                .bind(*case_id)
                .scalar(&mut conn)
                .await
                .expect("count");
        assert_eq!(stored, 1, "{key}");
    }
}
