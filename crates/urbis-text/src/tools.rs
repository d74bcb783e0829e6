//! Command implementations behind the `urbis` binary's `train`, `eval`, `bench classify`, `bench surge`,
//! `insight` and duplicate-report subcommands (feature `tools`). Each command has a clap `Args` struct and a `run_*` function;
//! the binary only declares the subcommand and calls the function.
//!
//! This is the only part of the crate that reads files, reads the clock, starts processes or draws progress bars.

mod bench;
mod data;
mod dup;
mod dup_eval;
mod dup_model;
mod eval;
mod insight;
mod surge_bench;
mod train;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

pub use crate::tools::bench::{
    BenchClassifyArgs, HoldoutSplit, Protocol, holdout_split, run_bench_classify,
};
pub use crate::tools::data::{
    AUTO_LABEL_COLUMNS, AUTO_TEXT_COLUMNS, LoadedExamples, Table, examples_from_table,
    load_examples, read_table,
};
pub use crate::tools::dup::{DupReportArgs, run_dup_report};
pub use crate::tools::dup_eval::{DupEvalArgs, run_dup_eval};
pub use crate::tools::eval::{EvalArgs, run_eval};
pub use crate::tools::insight::{
    HotspotsArgs, RepliesArgs, load_appeals, run_hotspots, run_replies,
};
pub use crate::tools::surge_bench::{
    BenchSurgeArgs, RuleFigures, SurgeBenchResult, fit_profile, run_bench_surge, simulate,
};
pub use crate::tools::train::{TrainArgs, run_train};

use crate::classifier::Example;

/// Returns "label count, label count, …" in label order.
fn label_summary(examples: &[Example]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for example in examples {
        *counts.entry(example.label.as_str()).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(label, n)| format!("{label} {n}"))
        .collect();
    format!("{}: {}", counts.len(), parts.join(", "))
}

fn progress_bar(total: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template("{msg:>16} [{bar:30}] {pos}/{len} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(message);
    bar
}

/// Returns the current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    format_utc(seconds)
}

/// Formats Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian calendar).
fn format_utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Converts days since 1970-01-01 to a (year, month, day) date.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Converts a (year, month, day) date to days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Returns the repository root: the nearest ancestor of the working directory holding
/// `bench/classify/baseline.py`, else the one this crate was built in.
fn repo_root() -> PathBuf {
    let marker = Path::new("bench/classify/baseline.py");
    if let Ok(cwd) = std::env::current_dir()
        && let Some(root) = cwd.ancestors().find(|dir| dir.join(marker).is_file())
    {
        return root.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[cfg(test)]
mod tests;
