//! `urbis store copy`: moves a city between stores (SQLite ↔ PostgreSQL) with its attachments,
//! counters and audit chain, then proves the copy: every table counted and hashed on both sides,
//! and the audit chain and counters verified on the copy.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use urbis_service::store::{Access, Db, DbOptions, Durability, Location, copy_store, digest};

/// Store tools.
#[derive(Subcommand)]
pub enum StoreCommand {
    /// Copies a whole city from one store into a new, empty one and verifies the copy.
    Copy(CopyArgs),
}

/// Options of `urbis store copy`.
#[derive(Args)]
pub struct CopyArgs {
    /// The store to copy (read on one snapshot; it may keep serving).
    #[arg(long)]
    pub from: Location,
    /// The new store: a SQLite file that does not exist yet, or a PostgreSQL database that is
    /// empty or does not exist yet (it is created).
    #[arg(long)]
    pub to: Location,
}

pub async fn run(command: StoreCommand) -> anyhow::Result<ExitCode> {
    match command {
        StoreCommand::Copy(args) => copy(args).await,
    }
}

async fn copy(args: CopyArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    match &args.to {
        Location::Sqlite(file) if file.exists() => {
            anyhow::bail!("{} exists; copy into a new file", file.display())
        }
        Location::Sqlite(_) => {}
        Location::Postgres(url) => {
            urbis_service::store::ensure_database(url)
                .await
                .map_err(|err| anyhow::format_err!("cannot prepare {}: {err}", args.to))?;
        }
    }
    let from = Db::open(&DbOptions {
        access: Access::ReadOnly,
        read_connections: 2,
        check: false,
        ..DbOptions::writer(&args.from)
    })
    .await
    .map_err(|err| anyhow::format_err!("cannot open {}: {err}", args.from))?;
    let to = Db::open(&DbOptions {
        durability: Durability::Relaxed,
        read_connections: 2,
        check: false,
        ..DbOptions::writer(&args.to)
    })
    .await
    .map_err(|err| anyhow::format_err!("cannot open {}: {err}", args.to))?;
    copy_store(&from, &to, |table, rows| {
        eprintln!("copied {table}: {rows} rows");
    })
    .await
    .map_err(|err| anyhow::format_err!("copy failed: {err}"))?;
    let source = digest(&from)
        .await
        .map_err(|err| anyhow::format_err!("cannot hash {}: {err}", args.from))?;
    let copied = digest(&to)
        .await
        .map_err(|err| anyhow::format_err!("cannot hash {}: {err}", args.to))?;
    from.close().await;
    let mut differ = 0;
    println!(
        "{:<26} {:>10} {:>10}  sha256 (first 16)",
        "table", "from", "to"
    );
    for (a, b) in source.iter().zip(&copied) {
        let same = a == b;
        differ += usize::from(!same);
        println!(
            "{:<26} {:>10} {:>10}  {} {}",
            a.table,
            a.rows,
            b.rows,
            &b.sha256[..16],
            if same { "same" } else { "DIFFERS" }
        );
    }
    let chain = urbis_service::audit::verify_chain(&to)
        .await
        .map_err(|err| anyhow::format_err!("cannot read the copy's audit log: {err}"))?;
    let counters = urbis_service::audit::verify_counters(&to)
        .await
        .map_err(|err| anyhow::format_err!("cannot recount the copy: {err}"))?;
    to.close().await;
    if differ > 0 || chain.first_break.is_some() || !counters.is_empty() {
        println!(
            "the copy does NOT match: {differ} tables differ, audit chain {}, {} counter differences",
            if chain.first_break.is_some() {
                "broken"
            } else {
                "ok"
            },
            counters.len()
        );
        return Ok(ExitCode::from(1));
    }
    println!(
        "copied {} into {}: every table the same, {} audit records verified, counters match ({:.1}s)",
        args.from,
        args.to,
        chain.checked,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
