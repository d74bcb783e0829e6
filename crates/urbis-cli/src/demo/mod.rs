//! `urbis demo`: a fresh sample city — districts, streets, communities and grids, about twenty
//! departments, a taxonomy with time limits, a responsibility list, one user per role, and a few
//! hundred cases over recent weeks in every state, replayed through the real services in time
//! order — then serves it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use urbis_domain::appeal::AppealInput;
use urbis_domain::ids::DeptId;
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::{Action, Satisfaction};
use urbis_service::auth::NewUser;
use urbis_service::reference::TaxonomyPath;
use urbis_service::rows::{CalendarDayRow, RuleRow};
use urbis_service::store::{Durability, Location};
use urbis_service::{Clock, ServiceConfig, Services};

pub(crate) mod catalog;
mod history;
mod map;
mod residents;
mod seed;
mod sharing;

use catalog::*;
use history::*;
use seed::*;

/// Options of `urbis demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// The demo store, replaced if it exists: a SQLite file, or a PostgreSQL database URL
    /// (`postgres://postgres@127.0.0.1/urbis_demo`; the database is dropped and made anew).
    #[arg(long, default_value = "urbis-demo.sqlite")]
    pub db: Location,
    /// Address to listen on.
    #[arg(long, env = "URBIS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL, used in Open311 discovery and media URLs; defaults to http://LISTEN.
    #[arg(long, env = "URBIS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Number of sample cases.
    #[arg(long, default_value_t = 400)]
    pub cases: usize,
    /// Days of history the cases spread over.
    #[arg(long, default_value_t = 42)]
    pub days: i64,
    /// Seed the database and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// Makes the demo city anew at `db_location` (a SQLite file is replaced, a PostgreSQL database
/// dropped and made anew): reference data, users and `n_cases` histories over `days` days,
/// replayed through the real services.
pub(crate) async fn seed_store(
    db_location: &Location,
    n_cases: usize,
    days: i64,
) -> anyhow::Result<()> {
    match &db_location {
        Location::Sqlite(file) => {
            for suffix in ["", "-wal", "-shm"] {
                let path = PathBuf::from(format!("{}{suffix}", file.display()));
                if path.exists() {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("failed to remove {}", path.display()))?;
                }
            }
        }
        // A fresh city on PostgreSQL: the named database is dropped and made anew.
        Location::Postgres(url) => urbis_service::store::recreate_database(url)
            .await
            .map_err(|err| anyhow::format_err!("cannot prepare {}: {err}", db_location))?,
    }
    let started = std::time::Instant::now();
    // Seeding runs with relaxed commits: it is a bulk load that is simply redone on failure.
    let db = crate::serve::open_db(db_location, Durability::Relaxed).await?;
    let now = Utc::now();
    let clock = Clock::manual(now - Duration::days(days + 1));
    let services = Services::start_with_clock(db, ServiceConfig::default(), clock.clone())
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let city = seed_city(&services).await?;
    let n_events = seed_cases(&services, &city, &clock, now, n_cases, days).await?;
    clock.set(now);
    services
        .sla_tick(now)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let opened = sharing::seed(&services).await?;
    eprintln!("open data: {opened}");
    let answers = residents::seed(&services).await?;
    eprintln!("knowledge base: {answers}");
    services.db().close().await;
    eprintln!(
        "seeded {} cases ({} workflow steps) in {:.1}s",
        n_cases,
        n_events,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "urbis-demo-2026";

/// Runs the demo: seed, then serve.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    seed_store(&args.db, args.cases, args.days).await?;
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    let db = crate::serve::open_db(&args.db, Durability::Full).await?;
    let config = ServiceConfig {
        public_url: crate::serve::public_url(args.public_url.as_deref(), args.listen)?,
        ..ServiceConfig::default()
    };
    let services = Services::start(db, config)
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    // The demo ships a classifier trained on the project's own sample messages.
    services
        .set_classifier(urbis_text::demo::demo_model())
        .await
        .map_err(|err| anyhow::format_err!("{err}"))?;
    let mut banner =
        String::from("\n城治 Urbis demo city 示范市 is ready.\nAccounts (password for all: ");
    banner.push_str(DEMO_PASSWORD);
    banner.push_str("):\n");
    for (username, role, note) in [
        ("admin", "admin 系统管理员", ""),
        ("operator", "operator 受理员", ""),
        ("shiftlead", "shift_lead 值班长", ""),
        ("dispatcher", "dispatcher 派遣员", ""),
        (
            "handler",
            "dept_handler 部门处置人员",
            " (青山区城管执法局, 青山区 only)",
        ),
        (
            "handler-city",
            "dept_handler 部门处置人员",
            " (市市政设施管理处)",
        ),
        ("supervisor", "grid_supervisor 监督员", " (青山区)"),
        ("leader", "leader 领导", ""),
        ("resident", "resident 市民", ""),
        (
            "dataofficer",
            "data_officer 数据专员",
            " (城市运行管理平台)",
        ),
        (
            "dataofficer-qs",
            "data_officer 数据专员",
            " (青山区城管执法局)",
        ),
        (
            "partner",
            "partner 合作单位",
            " (青山区示范物业, 青山区 grant)",
        ),
    ] {
        banner.push_str(&format!("  {username:<13} {role}{note}\n"));
    }
    banner.push_str("Log in: POST /api/v1/auth/login {\"username\":\"operator\",\"password\":\"");
    banner.push_str(DEMO_PASSWORD);
    banner.push_str("\"}; API description at /api/v1/openapi.json; Ctrl-C stops.");
    crate::serve::serve(services, args.listen, Some(banner)).await?;
    Ok(ExitCode::SUCCESS)
}
