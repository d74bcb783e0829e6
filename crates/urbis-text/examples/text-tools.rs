//! Runs the `urbis-text` tools without the `urbis` binary, e.g. for benchmarks in release mode:
//!
//! ```text
//! cargo run --release -p urbis-text --features tools --example text-tools -- bench-classify
//! cargo run --release -p urbis-text --features tools --example text-tools -- dup-report
//! ```

use clap::{Parser, Subcommand};
use urbis_text::tools;

#[derive(Parser)]
#[command(about = "urbis-text tools: train, eval, bench-classify, dup-report, dup-eval")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a classifier and write the model file.
    Train(tools::TrainArgs),
    /// Evaluate a model, or cross-validate its hyper-parameters.
    Eval(tools::EvalArgs),
    /// Compare with the scikit-learn baseline on the same folds.
    BenchClassify(tools::BenchClassifyArgs),
    /// Count exact and near re-posts in a message dump.
    DupReport(tools::DupReportArgs),
    /// Score the repeat model on labelled pairs.
    DupEval(tools::DupEvalArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Train(args) => tools::run_train(&args),
        Command::Eval(args) => tools::run_eval(&args),
        Command::BenchClassify(args) => tools::run_bench_classify(&args),
        Command::DupReport(args) => tools::run_dup_report(&args),
        Command::DupEval(args) => tools::run_dup_eval(&args),
    }
}
