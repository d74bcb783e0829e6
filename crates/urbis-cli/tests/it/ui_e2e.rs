//! The web UI: served by the binary (plain HTTP, no browser), and end to end in a real headless
//! Chromium through `web/e2e/run.mjs` against a fresh `urbis demo`. The browser test skips with a
//! message when Chromium or Node.js is missing, unless `URBIS_REQUIRE_BROWSER=1` (CI), where it
//! fails instead.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use urbis_test_support::TestApp;

async fn get_text(app: &TestApp, path: &str) -> (StatusCode, String, String, String) {
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request");
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (content_type, cache) = (header("content-type"), header("cache-control"));
    (
        status,
        content_type,
        cache,
        response.text().await.expect("body"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_is_served_at_root_and_for_every_non_api_path() {
    let app = TestApp::start().await;
    let (status, content_type, cache, index) = get_text(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(cache, "no-cache");
    assert!(index.contains("id=\"app\""), "no app root in {index}");

    // Any other page path is the same page (the UI routes by hash).
    for path in ["/dashboard", "/portal/case/42", "/index.html"] {
        let (status, content_type, _, body) = get_text(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(content_type.starts_with("text/html"), "{path}");
        assert_eq!(body, index, "{path}");
    }

    // API paths keep their JSON 404.
    for path in ["/api/v1/no-such-thing", "/api", "/open311/v2/nothing.json"] {
        let (status, content_type, _, body) = get_text(&app, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            content_type.starts_with("application/json"),
            "{path}: {content_type}"
        );
        let body: Value = serde_json::from_str(&body).expect("json");
        // Open311 answers in its own error shape.
        if path.starts_with("/api") {
            assert_eq!(body["code"], "not_found", "{path}");
        }
    }
    // A POST to a page path is not the page.
    let response = app
        .http
        .post(format!("{}/dashboard", app.base))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Every bundle file the page names is served with its type and a long cache.
    if !urbis_web::is_fallback() {
        let bundle: Vec<&str> = urbis_web::paths()
            .filter(|p| p.starts_with("assets/"))
            .collect();
        assert!(!bundle.is_empty(), "a built UI has files under assets/");
        for file in bundle {
            let (status, content_type, cache, _) = get_text(&app, &format!("/{file}")).await;
            assert_eq!(status, StatusCode::OK, "{file}");
            assert!(cache.contains("immutable"), "{file}: {cache}");
            if file.ends_with(".js") {
                assert!(content_type.starts_with("text/javascript"), "{file}");
            }
        }
    } else {
        println!("ui: this build embeds the fallback page (no Node.js or URBIS_SKIP_WEB=1)");
    }
}

/// Kills the child when dropped, so a failed assertion never leaves a server behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The target directory the test binary was built into (`<target>/debug/urbis` → `<target>`).
fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_urbis"));
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Returns why the browser test cannot run here, if it cannot.
fn missing_prerequisite(chromium: &Path, web: &Path) -> Option<String> {
    if !chromium.is_file() {
        return Some(format!(
            "no Chromium at {} (set CHROMIUM or install Debian's chromium)",
            chromium.display()
        ));
    }
    if !runs("node", "--version") {
        return Some("node is not on PATH (Node.js 20+ is needed)".into());
    }
    if !web.join("e2e/run.mjs").is_file() {
        return Some(format!("{} is missing", web.join("e2e/run.mjs").display()));
    }
    if !web.join("node_modules/playwright-core").is_dir() {
        return Some("web/node_modules has no playwright-core (npm ci in web/)".into());
    }
    if urbis_web::is_fallback() {
        return Some(
            "this build embeds no web UI (Node.js missing at build time or URBIS_SKIP_WEB=1)"
                .into(),
        );
    }
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_passes_its_end_to_end_script_in_headless_chromium() {
    let required = std::env::var("URBIS_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let web = workspace_root().join("web");
    if let Some(reason) = missing_prerequisite(&chromium, &web) {
        assert!(!required, "URBIS_REQUIRE_BROWSER=1 but {reason}");
        println!("skipping the browser end-to-end test: {reason}");
        return;
    }

    let dir = tempfile::tempdir().expect("temp dir");
    // The demo city on this run's backend: a SQLite file, or a fresh PostgreSQL database.
    let location = urbis_test_support::test_store(dir.path()).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = Command::new(env!("CARGO_BIN_EXE_urbis"))
        .args(["demo", "--cases", "120", "--days", "45", "--db"])
        .arg(location.to_arg())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start urbis demo");
    let _server = KillOnDrop(server);

    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let up = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|response| response.status().is_success());
        if up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "urbis demo did not answer /healthz in 180 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let screenshots = target_dir().join("e2e-screenshots");
    println!("e2e screenshots go to {}", screenshots.display());
    let status = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("e2e/run.mjs")
            .current_dir(&web)
            .env("URBIS_BASE_URL", &base)
            .env("URBIS_SCREENSHOTS", &screenshots)
            .env("CHROMIUM", &chromium)
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
    })
    .await
    .expect("join")
    .expect("run node web/e2e/run.mjs");
    assert!(status.success(), "web/e2e/run.mjs failed: {status}");
}
