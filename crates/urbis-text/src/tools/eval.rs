//! `urbis eval`: measure a model on labelled data, or cross-validate its hyper-parameters.

use std::path::PathBuf;

use anyhow::Context;

use crate::classifier::{Model, TrainOptions};
use crate::eval::{cross_validate, evaluate};
use crate::tools::data::load_examples;
use crate::tools::{now_rfc3339, progress_bar};

/// Arguments of `urbis eval`.
#[derive(Clone, Debug, clap::Args)]
pub struct EvalArgs {
    /// Model file written by `urbis train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Labelled messages: CSV or XLSX.
    #[arg(long)]
    pub data: PathBuf,
    /// Instead of evaluating the given model, run K-fold cross-validation on the data, training fresh models
    /// with the model's hyper-parameters.
    #[arg(long, value_name = "K")]
    pub folds: Option<u32>,
    /// Text columns, comma-separated (default as for `train`).
    #[arg(long)]
    pub text: Option<String>,
    /// Label column (default as for `train`).
    #[arg(long)]
    pub label: Option<String>,
}

/// Runs `urbis eval`: prints accuracy, macro-F1, per-label precision/recall/F1, the confusion matrix,
/// expected calibration error and single-thread prediction throughput.
pub fn run_eval(args: &EvalArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.model)
        .with_context(|| format!("cannot read {}", args.model.display()))?;
    let model = Model::from_bytes(&bytes)
        .with_context(|| format!("cannot load {}", args.model.display()))?;
    let loaded = load_examples(&args.data, args.text.as_deref(), args.label.as_deref())?;
    let header = model.header();
    println!(
        "model     {} (trained on {} rows of {}, {} labels)",
        args.model.display(),
        header.training.rows,
        header.training.source,
        header.labels.len()
    );
    println!(
        "data      {} ({} rows; {})",
        args.data.display(),
        loaded.examples.len(),
        loaded.columns
    );
    let metrics = match args.folds {
        Some(folds) => {
            let options = TrainOptions {
                hyper: header.hyper.clone(),
                folds: header.calibration.folds,
                user_words: header.user_words.clone(),
                source: args.data.display().to_string(),
                created: now_rfc3339(),
            };
            println!("mode      {folds}-fold cross-validation with the model's hyper-parameters");
            let bar = progress_bar(u64::from(folds), "cross-validating");
            let cv = cross_validate(&loaded.examples, &options, folds, &mut |done, _| {
                bar.set_position(done as u64)
            })?;
            bar.finish_and_clear();
            println!(
                "train     {:.1} s for {} models",
                cv.train_seconds, cv.folds
            );
            cv.metrics
        }
        None => {
            println!("mode      evaluate the given model");
            evaluate(&model, &loaded.examples)
        }
    };
    print!("{}", metrics.report());
    Ok(())
}
