//! `urbis bench scale`: a city of N cases loaded through the service layer's bulk path (many
//! histories per write transaction, counters and their roll-ups kept by the same writer every
//! change uses, one audit record per case), checked with `audit verify`'s functions, then every
//! dashboard and dispatch-queue call measured over HTTP in-process with a few concurrent readers,
//! beside a plain `GROUP BY` over the cases table answering the same question in the same run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use urbis_service::bulk::{BulkCase, BulkStep};
use urbis_service::store::{Durability, Location};
use urbis_service::{ServiceConfig, Services};

/// Options of `urbis bench scale`.
#[derive(Args)]
pub struct ScaleArgs {
    /// Cases in the city.
    #[arg(long, default_value_t = 100_000)]
    pub cases: usize,
    /// Days of history the cases spread over (ending now).
    #[arg(long, default_value_t = 365)]
    pub days: i64,
    /// The city: a SQLite file (default target/bench-scale/city-N-Dd.sqlite) or a PostgreSQL
    /// database URL; rebuilt unless --reuse and it holds a city.
    #[arg(long)]
    pub db: Option<Location>,
    /// Reuse the city when it exists instead of rebuilding it.
    #[arg(long)]
    pub reuse: bool,
    /// Concurrent readers per endpoint.
    #[arg(long, default_value_t = 4)]
    pub readers: usize,
    /// Requests per reader and endpoint.
    #[arg(long, default_value_t = 50)]
    pub requests: usize,
    /// Queries per reader for each plain GROUP BY peer (they are slow at scale).
    #[arg(long, default_value_t = 5)]
    pub peer_requests: usize,
}

const CASES_MAX: usize = 20_000_000;
const BATCH: usize = 10_000;

/// Reference data the generator draws from.
struct City {
    grids: Vec<(i64, Option<f64>, Option<f64>)>,
    categories: Vec<i64>,
    depts: Vec<i64>,
}

async fn load_city(db: &urbis_storage::Db) -> anyhow::Result<City> {
    use urbis_storage::sql::query;
    let mut conn = db.read().await?;
    let grids = query("SELECT id, center_lat, center_lon FROM areas WHERE level = 'grid'")
        .fetch_all(&mut conn)
        .await?;
    let categories = query("SELECT id FROM categories WHERE level = 2")
        .scalars(&mut conn)
        .await?;
    let depts = query("SELECT id FROM departments")
        .scalars(&mut conn)
        .await?;
    let city = City {
        grids,
        categories,
        depts,
    };
    if city.grids.is_empty() || city.categories.is_empty() || city.depts.is_empty() {
        bail!("the seeded city has no grids, categories or departments");
    }
    Ok(city)
}

const TITLES: [&str; 6] = [
    "井盖缺失",
    "路灯不亮",
    "占道经营",
    "垃圾未清运",
    "噪音扰民",
    "道路破损",
];

/// One case's history: older cases went further; a few stop at every stage.
fn history(rng: &mut StdRng, city: &City, at: DateTime<Utc>, now: DateTime<Utc>) -> BulkCase {
    let minutes = |m: i64| chrono::Duration::minutes(m);
    let grid = city.grids[rng.gen_range(0..city.grids.len())];
    let category = city.categories[rng.gen_range(0..city.categories.len())];
    let title = TITLES[rng.gen_range(0..TITLES.len())];
    let mut steps = Vec::new();
    let mut t = at;
    let roll: f64 = rng.gen_range(0.0..1.0);
    if roll < 0.03 {
        t += minutes(rng.gen_range(5..60));
        steps.push((t, BulkStep::Void));
    } else if roll < 0.11 {
        t += minutes(rng.gen_range(5..60));
        steps.push((t, BulkStep::Close));
        if rng.gen_bool(0.6) {
            t += minutes(rng.gen_range(600..3000));
            steps.push((
                t,
                BulkStep::Rate {
                    satisfied: rng.gen_bool(0.9),
                    resolved: rng.gen_bool(0.92),
                },
            ));
        }
    } else {
        // Steps taken: 7 is the whole way to a rating, 6 closed without one.
        let stages = if rng.gen_bool(0.04) {
            rng.gen_range(1..6)
        } else if rng.gen_bool(0.3) {
            6
        } else {
            7
        };
        let lead = city.depts[rng.gen_range(0..city.depts.len())];
        let mut push = |t: &mut DateTime<Utc>, after: i64, step: BulkStep| {
            *t += minutes(after);
            steps.push((*t, step));
        };
        push(&mut t, rng.gen_range(5..60), BulkStep::Register);
        let due_at = t + chrono::Duration::days(3);
        let plan: [(i64, BulkStep); 6] = [
            (
                rng.gen_range(5..60),
                BulkStep::Dispatch {
                    lead,
                    due_at: due_at + minutes(60),
                },
            ),
            (rng.gen_range(20..200), BulkStep::Accept),
            (rng.gen_range(360..6000), BulkStep::Feedback),
            (rng.gen_range(60..600), BulkStep::CheckPass),
            (rng.gen_range(30..300), BulkStep::Close),
            (
                rng.gen_range(600..3000),
                BulkStep::Rate {
                    satisfied: rng.gen_bool(0.85),
                    resolved: rng.gen_bool(0.9),
                },
            ),
        ];
        for (after, step) in plan.into_iter().take(stages - 1) {
            push(&mut t, after, step);
        }
    }
    // What has not happened yet is not part of the history.
    steps.retain(|(t, _)| *t <= now);
    BulkCase {
        received_at: at,
        channel: "hotline".into(),
        title: title.into(),
        text: format!("{title}，请尽快处理。"),
        address: String::new(),
        location: grid.1.zip(grid.2),
        area_id: grid.0,
        category_id: Some(category),
        priority_score: rng.gen_range(0..100),
        steps,
    }
}

/// Seeds the reference city, then loads N case histories through the bulk path.
async fn build(args: &ScaleArgs, location: &Location) -> anyhow::Result<()> {
    // A SQLite city is built beside its file and moved into place when complete; a PostgreSQL
    // city is built in its database (made anew).
    let target = match location {
        Location::Sqlite(path) => {
            Location::Sqlite(PathBuf::from(format!("{}.partial", path.display())))
        }
        Location::Postgres(_) => location.clone(),
    };
    crate::demo::run(crate::demo::DemoArgs {
        db: target.clone(),
        listen: "127.0.0.1:0".parse().expect("literal address"),
        public_url: None,
        cases: 0,
        days: 1,
        no_serve: true,
    })
    .await?;
    let db = crate::serve::open_db(&target, Durability::Relaxed).await?;
    let services = Services::start(db.clone(), ServiceConfig::default())
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let admin = services
        .actor_by_username("admin")
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let city = load_city(&db).await?;
    let now = services.now() - chrono::Duration::minutes(1);
    let start = now - chrono::Duration::days(args.days);
    let span_ms = (now - start).num_milliseconds() as f64;
    let mut rng = StdRng::seed_from_u64(20_261_128);
    let started = Instant::now();
    let mut done = 0usize;
    while done < args.cases {
        let n = BATCH.min(args.cases - done);
        let batch: Vec<BulkCase> = (done..done + n)
            .map(|idx| {
                let offset = span_ms * (idx as f64 + 0.5) / args.cases as f64;
                let at = start + chrono::Duration::milliseconds(offset as i64);
                history(&mut rng, &city, at, now)
            })
            .collect();
        services
            .bulk_load_cases(&admin, &batch)
            .await
            .map_err(|err| anyhow::format_err!("{err}"))?;
        done += n;
        if done.is_multiple_of(100_000) || done == args.cases {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "  loaded {done} cases in {secs:.0}s ({:.0} cases/s)",
                done as f64 / secs
            );
        }
    }
    services
        .db()
        .analyze()
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    services.db().close().await;
    if let (Location::Sqlite(partial), Location::Sqlite(path)) = (&target, location) {
        for suffix in ["-wal", "-shm"] {
            let from = PathBuf::from(format!("{}{suffix}", partial.display()));
            let to = PathBuf::from(format!("{}{suffix}", path.display()));
            let _ = std::fs::remove_file(&to);
            if from.exists() {
                std::fs::rename(&from, &to)?;
            }
        }
        std::fs::rename(partial, path)?;
    }
    Ok(())
}

/// Whether a store already holds a city with cases (for --reuse).
async fn holds_city(location: &Location) -> bool {
    if let Location::Sqlite(path) = location
        && !path.exists()
    {
        return false;
    }
    let Ok(db) = crate::serve::open_db_read_only(location).await else {
        return false;
    };
    let mut cases = 0i64;
    if let Ok(mut conn) = db.read().await {
        cases = urbis_storage::sql::query("SELECT COUNT(*) FROM cases")
            .scalar(&mut conn)
            .await
            .unwrap_or(0);
    }
    db.close().await;
    cases > 0
}

/// `audit verify`'s checks: the chain, every case's state against its trail, the counters.
async fn verify(db: &urbis_storage::Db) -> anyhow::Result<()> {
    let e = |err: urbis_service::ServiceError| anyhow::format_err!("{err}");
    let started = Instant::now();
    let chain = urbis_service::audit::verify_chain(db).await.map_err(e)?;
    if let Some((chain_break, _)) = chain.first_break {
        bail!("audit chain broken: {chain_break:?}");
    }
    if let Some((id, stored, audited)) = urbis_service::audit::verify_case_states(db)
        .await
        .map_err(e)?
    {
        bail!("case {id} is {stored} but its trail says {audited}");
    }
    let differences = urbis_service::audit::verify_counters(db).await.map_err(e)?;
    if !differences.is_empty() {
        bail!(
            "counters differ from a recount:\n{}",
            differences.join("\n")
        );
    }
    eprintln!(
        "verified: {} audit records chained, case states match their trails, counters and roll-ups \
         match a recount ({:.1}s)",
        chain.checked,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One measured call: its HTTP path, who makes it, and the plain SQL answering the same question.
struct Endpoint {
    name: &'static str,
    path: String,
    user: &'static str,
    peer: Option<String>,
}

const OPEN: &str =
    "('received', 'registered', 'dispatched', 'handling', 'feedback', 'checked', 'parked')";

fn endpoints(services: &Services) -> Vec<Endpoint> {
    let now = services.now();
    let today = services.local_day(now);
    let from = services.local_day(now - chrono::Duration::days(29));
    let indicators = "COUNT(*), SUM(CASE WHEN state NOT IN ('received', 'voided') THEN 1 ELSE 0 END), \
        SUM(CASE WHEN closed_at IS NOT NULL THEN 1 ELSE 0 END), SUM(CASE WHEN closure_type = 'normal' THEN 1 ELSE 0 END), \
        SUM(CASE WHEN feedback_at IS NOT NULL THEN 1 ELSE 0 END), SUM(CASE WHEN handled_on_time = TRUE THEN 1 ELSE 0 END), \
        SUM(CASE WHEN rated_at IS NOT NULL THEN 1 ELSE 0 END), SUM(CASE WHEN resolved = TRUE THEN 1 ELSE 0 END)";
    let by_level = |level: &str, open: bool| {
        format!(
            "SELECT g.id, COUNT(*) FROM cases c JOIN areas g ON g.level = '{level}' AND c.area_path LIKE g.path || '%' \
             WHERE {} GROUP BY g.id",
            if open {
                format!("c.state IN {OPEN}")
            } else {
                format!("c.stats_day >= '{from}' AND c.stats_day <= '{today}'")
            }
        )
    };
    let stat = |name, path: String, peer: Option<String>| Endpoint {
        name,
        path,
        user: "leader",
        peer,
    };
    let queue = |name, query: &str| Endpoint {
        name,
        path: format!("/api/v1/cases?order=priority&limit=200&{query}"),
        user: "dispatcher",
        peer: None,
    };
    vec![
        stat(
            "summary 30 days",
            format!("/api/v1/stats/summary?from={from}&to={today}"),
            Some(format!(
                "SELECT {indicators} FROM cases WHERE stats_day >= '{from}' AND stats_day <= '{today}'"
            )),
        ),
        stat(
            "summary today",
            format!("/api/v1/stats/summary?from={today}&to={today}"),
            Some(format!(
                "SELECT {indicators} FROM cases WHERE stats_day = '{today}'"
            )),
        ),
        stat(
            "states",
            "/api/v1/stats/states".into(),
            Some("SELECT state, overdue, COUNT(*) FROM cases GROUP BY state, overdue".into()),
        ),
        stat(
            "map district",
            "/api/v1/stats/map?level=district".into(),
            Some(by_level("district", true)),
        ),
        stat(
            "trend 30 days",
            format!("/api/v1/stats/trend?from={from}&to={today}"),
            Some(format!(
                "SELECT stats_day, {indicators} FROM cases WHERE stats_day >= '{from}' AND stats_day <= '{today}' \
                 GROUP BY stats_day"
            )),
        ),
        stat(
            "by-department 30 days",
            format!("/api/v1/stats/by-department?from={from}&to={today}"),
            Some(format!(
                "SELECT lead_dept_id, {indicators} FROM cases WHERE stats_day >= '{from}' AND stats_day <= '{today}' \
                 GROUP BY lead_dept_id"
            )),
        ),
        stat(
            "by-area street 30 days",
            format!("/api/v1/stats/by-area?level=street&from={from}&to={today}"),
            Some(by_level("street", false)),
        ),
        stat(
            "category-trend 30 days",
            format!("/api/v1/stats/category-trend?from={from}&to={today}"),
            Some(format!(
                "SELECT c.stats_day, COALESCE(substr(k.code, 1, 2), ''), COUNT(*) FROM cases c \
                 LEFT JOIN categories k ON k.id = c.category_id \
                 WHERE c.stats_day >= '{from}' AND c.stats_day <= '{today}' GROUP BY 1, 2"
            )),
        ),
        stat(
            "areas/geojson district",
            "/api/v1/areas/geojson?level=district".into(),
            None,
        ),
        stat("areas", "/api/v1/areas".into(), None),
        stat("departments", "/api/v1/departments".into(), None),
        stat("categories", "/api/v1/categories".into(), None),
        queue("queue intake", "state=received,registered"),
        queue("queue to close", "state=checked"),
        queue("queue overdue", "overdue=true"),
        queue(
            "queue all open",
            "state=received,registered,dispatched,handling,feedback,checked,parked",
        ),
        queue("queue review", "review=true"),
    ]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Runs `readers` concurrent loops of `requests` calls each; returns (p50, p99) in ms.
async fn measure<F, Fut>(readers: usize, requests: usize, call: F) -> anyhow::Result<(f64, f64)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    call().await?;
    let mut tasks = Vec::new();
    for _ in 0..readers {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(requests);
            for _ in 0..requests {
                let started = Instant::now();
                call().await?;
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<Vec<f64>, anyhow::Error>(times)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_by(f64::total_cmp);
    Ok((percentile(&all, 0.5), percentile(&all, 0.99)))
}

/// Runs the benchmark and prints the table.
pub async fn run(args: ScaleArgs) -> anyhow::Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; run `cargo run --release -p urbis-cli -- bench scale` for real figures"
        );
    }
    if !(1..=CASES_MAX).contains(&args.cases) || !(1..=3650).contains(&args.days) {
        bail!("--cases must be 1..={CASES_MAX} and --days 1..=3650");
    }
    if !(1..=64).contains(&args.readers)
        || !(1..=10_000).contains(&args.requests)
        || !(1..=1_000).contains(&args.peer_requests)
    {
        bail!("--readers must be 1..=64, --requests 1..=10000, --peer-requests 1..=1000");
    }
    let location = args.db.clone().unwrap_or_else(|| {
        Location::Sqlite(PathBuf::from(format!(
            "target/bench-scale/city-{}-{}d.sqlite",
            args.cases, args.days
        )))
    });
    if let Some(dir) = location
        .file()
        .and_then(|path| path.parent())
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
    }
    let seeding = Instant::now();
    if args.reuse && holds_city(&location).await {
        eprintln!("reusing the city in {location}");
    } else {
        if let Some(path) = location.file() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        eprintln!(
            "loading {} case histories over {} days through the bulk path into {location} …",
            args.cases, args.days,
        );
        build(&args, &location).await?;
    }
    let seed_secs = seeding.elapsed().as_secs_f64();

    let db = crate::serve::open_db(&location, Durability::Full).await?;
    verify(&db).await?;
    let services = Services::start(db.clone(), ServiceConfig::default())
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
    let leader = super::dashboard::login(&http, &base, "leader").await?;
    let dispatcher = super::dashboard::login(&http, &base, "dispatcher").await?;

    println!(
        "city: {} cases over {} days ({}, ready in {seed_secs:.0}s); {} readers × {} requests per endpoint, \
         GROUP BY peers {} × {}",
        args.cases,
        args.days,
        location,
        args.readers,
        args.requests,
        args.readers,
        args.peer_requests
    );
    println!(
        "{:<24} {:>9} {:>9} {:>12} {:>12} {:>10}",
        "endpoint", "p50 ms", "p99 ms", "GROUP BY p50", "GROUP BY p99", "p99 ratio"
    );
    let mut worst = 0.0f64;
    for endpoint in endpoints(&services) {
        let token = if endpoint.user == "leader" {
            leader.clone()
        } else {
            dispatcher.clone()
        };
        let (http, url) = (http.clone(), format!("{base}{}", endpoint.path));
        let (p50, p99) = measure(args.readers, args.requests, move || {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            async move {
                let response = http.get(&url).bearer_auth(&token).send().await?;
                let status = response.status();
                response.bytes().await?;
                if !status.is_success() {
                    bail!("{url}: {status}");
                }
                Ok(())
            }
        })
        .await?;
        if endpoint.path.starts_with("/api/v1/stats") {
            worst = worst.max(p99);
        }
        let peer = match &endpoint.peer {
            Some(sql) => {
                let (db, sql) = (db.clone(), sql.clone());
                Some(
                    measure(args.readers, args.peer_requests, move || {
                        let (db, sql) = (db.clone(), sql.clone());
                        async move {
                            let mut conn = db.read().await?;
                            urbis_storage::sql::query(sql).execute(&mut conn).await?;
                            Ok(())
                        }
                    })
                    .await?,
                )
            }
            None => None,
        };
        let cell = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
        println!(
            "{:<24} {:>9.1} {:>9.1} {:>12} {:>12} {:>10}",
            endpoint.name,
            p50,
            p99,
            cell(peer.map(|p| p.0)),
            cell(peer.map(|p| p.1)),
            peer.map(|p| format!("{:.1}×", p.1 / p99))
                .unwrap_or_else(|| "—".into())
        );
    }
    server.abort();
    println!(
        "slowest statistics endpoint p99: {worst:.1} ms (ratio = GROUP BY p99 / endpoint p99)"
    );
    Ok(ExitCode::SUCCESS)
}
