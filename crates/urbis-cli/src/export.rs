//! `urbis export training`: what people taught the system, as a table `urbis train` reads.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::DbArgs;

/// Arguments of `urbis export training`.
#[derive(Args)]
pub struct ExportTrainingArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// CSV file to write (columns text, label, source, previous, note, case_id).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write every closed case with its final category (source `history`).
    #[arg(long)]
    pub history: bool,
    /// The admin account the export acts as.
    #[arg(long, default_value = "admin")]
    pub user: String,
}

/// Writes the kept corrections and returns (and, with `--history`, finished cases).
pub async fn training(args: ExportTrainingArgs) -> anyhow::Result<ExitCode> {
    let services = crate::import::open_services(&args.db).await?;
    let actor = services
        .actor_by_username(&args.user)
        .await
        .map_err(|err| anyhow::format_err!("user {}: {err}", args.user))?;
    let mut out = csv::Writer::from_path(&args.out)?;
    out.write_record(["text", "label", "source", "previous", "note", "case_id"])?;
    let page = urbis_service::training::EXAMPLES_PAGE_MAX;
    let (mut kept, mut history) = (0usize, 0usize);
    let mut after = 0;
    loop {
        let rows = services
            .training_examples(&actor, after, page)
            .await
            .map_err(|err| anyhow::format_err!("{err}"))?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            let case_id = row.case_id.to_string();
            out.write_record([
                row.text.as_str(),
                &row.label,
                &row.source,
                &row.previous,
                &row.note,
                &case_id,
            ])?;
        }
        kept += rows.len();
    }
    if args.history {
        let mut after = 0;
        loop {
            let rows = services
                .history_examples(&actor, after, page)
                .await
                .map_err(|err| anyhow::format_err!("{err}"))?;
            let Some(last) = rows.last() else { break };
            after = last.case_id;
            for row in &rows {
                let case_id = row.case_id.to_string();
                out.write_record([row.text.as_str(), &row.label, "history", "", "", &case_id])?;
            }
            history += rows.len();
        }
    }
    out.flush()?;
    println!(
        "wrote {} ({kept} corrections and returns, {history} finished cases); train with: \
         urbis train --data {} --text text --label label",
        args.out.display(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
