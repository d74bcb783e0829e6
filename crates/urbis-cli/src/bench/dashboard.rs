//! `urbis bench dashboard`: how long the city dashboard takes to show its first complete view in a
//! real headless Chromium over a city of N cases, beside the physical limit measured in the same
//! run — the same API calls made straight from Rust, with no browser, no JavaScript and no
//! drawing.
//!
//! The city is `urbis demo`'s: N case histories replayed in time order through the real services
//! (intake, then every workflow step by its role), so counters, state counts and the audit chain
//! are exactly what a real city would have. Replaying 100,000 cases takes minutes, so the file is
//! kept (`--dir`) and reused by later runs with the same N (`--fresh` rebuilds it).

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use tokio::io::AsyncBufReadExt;
use urbis_service::store::{Durability, Location};
use urbis_service::{ServiceConfig, Services};

/// Options of `urbis bench dashboard`.
#[derive(Args)]
pub struct DashboardArgs {
    /// Cases in the city.
    #[arg(long, default_value_t = 100_000)]
    pub cases: usize,
    /// Days of history the cases spread over.
    #[arg(long, default_value_t = 42)]
    pub days: i64,
    /// Browser runs (each a fresh browser context), and as many runs of the direct peer.
    #[arg(long, env = "RUNS", default_value_t = 5)]
    pub runs: usize,
    /// Where the city file is kept between runs.
    #[arg(long, default_value = "target/bench-dashboard")]
    pub dir: PathBuf,
    /// Rebuild the city even if a file for this size exists.
    #[arg(long)]
    pub fresh: bool,
    /// The front end's directory (holds e2e/bench-dashboard.mjs and node_modules).
    #[arg(long, default_value = "web")]
    pub web: PathBuf,
    /// Chromium binary.
    #[arg(long, env = "CHROMIUM", default_value = "/usr/bin/chromium")]
    pub chromium: PathBuf,
    /// Account the dashboard is opened as.
    #[arg(long, default_value = "leader")]
    pub user: String,
}

/// The API calls behind the dashboard's first complete view at city level, as
/// `web/src/pages/dashboard.ts` makes them (all at once): the last 30 report days and today.
fn dashboard_calls(services: &Services) -> Vec<String> {
    let now = services.now();
    let today = services.local_day(now);
    let from = services.local_day(now - chrono::Duration::days(29));
    vec![
        format!("/api/v1/stats/summary?from={from}&to={today}"),
        format!("/api/v1/stats/summary?from={today}&to={today}"),
        "/api/v1/stats/states".to_owned(),
        "/api/v1/stats/map?level=district".to_owned(),
        "/api/v1/areas/geojson?level=district".to_owned(),
        format!("/api/v1/stats/trend?from={from}&to={today}"),
        format!("/api/v1/stats/by-department?from={from}&to={today}"),
        format!("/api/v1/stats/by-area?level=street&from={from}&to={today}"),
        "/api/v1/areas".to_owned(),
        "/api/v1/departments".to_owned(),
        format!("/api/v1/stats/category-trend?from={from}&to={today}"),
        "/api/v1/categories".to_owned(),
    ]
}

/// Limits of the arguments.
const CASES_MAX: usize = 5_000_000;
const RUNS_MAX: usize = 100;

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Seeds the city into `path` unless a complete file is there already.
async fn city_file(args: &DashboardArgs) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("failed to create {}", args.dir.display()))?;
    let path = args
        .dir
        .join(format!("city-{}-{}d.sqlite", args.cases, args.days));
    if path.exists() && !args.fresh {
        eprintln!(
            "reusing the city in {} (--fresh rebuilds it)",
            path.display()
        );
        return Ok(path);
    }
    // Seed under another name and rename at the end, so an interrupted seeding is never reused.
    let partial = args
        .dir
        .join(format!("partial-{}-{}d.sqlite", args.cases, args.days));
    eprintln!(
        "replaying {} case histories through the services into {} …",
        args.cases,
        path.display()
    );
    crate::demo::run(crate::demo::DemoArgs {
        db: Location::Sqlite(partial.clone()),
        listen: "127.0.0.1:0".parse().expect("literal address"),
        public_url: None,
        cases: args.cases,
        days: args.days,
        no_serve: true,
    })
    .await?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        let from = PathBuf::from(format!("{}{suffix}", partial.display()));
        if from.exists() {
            std::fs::rename(&from, format!("{}{suffix}", path.display()))?;
        }
    }
    std::fs::rename(&partial, &path)?;
    Ok(path)
}

/// Logs in as a demo user (the demo password) and returns the bearer token.
pub(super) async fn login(
    http: &reqwest::Client,
    base: &str,
    user: &str,
) -> anyhow::Result<String> {
    let response = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": user, "password": crate::demo::DEMO_PASSWORD }))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("login as {user} failed: {}", response.status());
    }
    let body: serde_json::Value = response.json().await?;
    body["token"]
        .as_str()
        .map(str::to_owned)
        .context("login answer has no token")
}

/// One run of the peer: every dashboard call at once, bodies read in full; returns the wall time.
async fn peer_run(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    calls: &[String],
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let calls = calls.iter().map(|path| async move {
        let response = http
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            bail!("{path}: {status}");
        }
        Ok::<usize, anyhow::Error>(body.len())
    });
    for result in futures::future::join_all(calls).await {
        result?;
    }
    Ok(started.elapsed())
}

/// What one browser run printed.
struct BrowserRun {
    first_complete_ms: f64,
    api_ms: f64,
    /// API calls the page made before its first complete view.
    api_calls: Option<u64>,
}

async fn browser_runs(
    args: &DashboardArgs,
    base: &str,
    runs: usize,
) -> anyhow::Result<Vec<BrowserRun>> {
    let mut child = tokio::process::Command::new("node")
        .arg("e2e/bench-dashboard.mjs")
        .current_dir(&args.web)
        .env("URBIS_BASE_URL", base)
        .env("CHROMIUM", &args.chromium)
        .env("URBIS_USER", &args.user)
        .env("URBIS_PASSWORD", crate::demo::DEMO_PASSWORD)
        .env("RUNS", runs.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("failed to start node e2e/bench-dashboard.mjs")?;
    let stdout = child.stdout.take().context("piped stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut results = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line.trim()) else {
            eprintln!("  browser: {line}");
            continue;
        };
        if let (Some(first), Some(api)) = (
            value["first_complete_ms"].as_f64(),
            value["api_ms"].as_f64(),
        ) {
            results.push(BrowserRun {
                first_complete_ms: first,
                api_ms: api,
                api_calls: value["api_calls"].as_u64(),
            });
        }
    }
    let status = child.wait().await?;
    if !status.success() {
        bail!("node e2e/bench-dashboard.mjs failed: {status}");
    }
    Ok(results)
}

fn check_tools(args: &DashboardArgs) -> anyhow::Result<()> {
    let script = args.web.join("e2e/bench-dashboard.mjs");
    if !script.is_file() {
        bail!(
            "{} is missing; run from the repository root or pass --web",
            script.display()
        );
    }
    if !args.chromium.is_file() {
        bail!(
            "no Chromium at {} (apt-get install chromium, or --chromium)",
            args.chromium.display()
        );
    }
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|out| out.status.success()) {
        bail!("node is not on PATH (Node.js 20+ is needed)");
    }
    if urbis_web::is_fallback() {
        bail!("this binary embeds no web UI (built without Node.js or with URBIS_SKIP_WEB=1)");
    }
    Ok(())
}

/// Runs the benchmark and prints the comparison.
pub async fn run(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; run `cargo run --release -p urbis-cli -- bench dashboard` for real figures"
        );
    }
    if !(1..=CASES_MAX).contains(&args.cases) || !(1..=RUNS_MAX).contains(&args.runs) {
        bail!("--cases must be 1..={CASES_MAX} and --runs 1..={RUNS_MAX}");
    }
    if !(1..=3650).contains(&args.days) {
        bail!("--days must be 1..=3650");
    }
    check_tools(&args)?;
    let seeding = Instant::now();
    let path = city_file(&args).await?;
    let seed_secs = seeding.elapsed().as_secs_f64();

    let db = crate::serve::open_db(&Location::from(path.as_path()), Durability::Full).await?;
    let services = Services::start(db, ServiceConfig::default())
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = urbis_http::app(urbis_http::AppState {
        services: services.clone(),
        metrics: None,
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let http = reqwest::Client::new();
    let token = login(&http, &base, &args.user).await?;
    // Warm-up of both, so neither pays for a cold page cache alone.
    let calls = dashboard_calls(&services);
    peer_run(&http, &base, &token, &calls).await?;
    let mut peer_ms = Vec::new();
    for _ in 0..args.runs {
        peer_ms.push(peer_run(&http, &base, &token, &calls).await?.as_secs_f64() * 1000.0);
    }
    let browser = browser_runs(&args, &base, args.runs).await?;
    server.abort();
    if browser.is_empty() {
        bail!("the browser script printed no runs");
    }

    println!(
        "city: {} cases over {} days ({path}, ready in {seed_secs:.1}s); {} runs",
        args.cases,
        args.days,
        args.runs,
        path = path.display()
    );
    println!(
        "{:>4}  {:>24}  {:>22}  {:>26}",
        "run", "browser first view (ms)", "slowest API call (ms)", "peer: same calls direct (ms)"
    );
    for idx in 0..browser.len().max(peer_ms.len()) {
        let cell = |value: Option<f64>| value.map(|v| format!("{v:.0}")).unwrap_or_default();
        println!(
            "{:>4}  {:>24}  {:>22}  {:>26}",
            idx + 1,
            cell(browser.get(idx).map(|r| r.first_complete_ms)),
            cell(browser.get(idx).map(|r| r.api_ms)),
            cell(peer_ms.get(idx).copied())
        );
    }
    let first = median(
        &browser
            .iter()
            .map(|r| r.first_complete_ms)
            .collect::<Vec<_>>(),
    );
    let api = median(&browser.iter().map(|r| r.api_ms).collect::<Vec<_>>());
    let peer = median(&peer_ms);
    let page_calls = browser
        .iter()
        .filter_map(|r| r.api_calls)
        .max()
        .map(|n| format!("{n}"))
        .unwrap_or_else(|| "?".to_owned());
    println!(
        "median: browser first complete view {first:.0} ms (page made {page_calls} API calls, the slowest \
         {api:.0} ms as the page saw it); peer {peer:.0} ms for the same {} calls made at once from \
         Rust; browser/peer = {:.1}×",
        calls.len(),
        first / peer
    );
    Ok(ExitCode::SUCCESS)
}
