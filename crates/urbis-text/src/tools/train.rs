//! `urbis train`: train a classifier from a labelled CSV/XLSX file and write the model file.

use std::path::PathBuf;

use anyhow::Context;

use crate::classifier::{HyperParams, Model, TrainOptions};
use crate::tools::data::load_examples;
use crate::tools::{label_summary, now_rfc3339, progress_bar};

/// Arguments of `urbis train`.
#[derive(Clone, Debug, clap::Args)]
pub struct TrainArgs {
    /// Labelled messages: a CSV (UTF-8) or an Excel workbook (first sheet).
    #[arg(long)]
    pub data: PathBuf,
    /// Text columns, comma-separated, joined with a space
    /// [default: 留言主题,留言详情, else raw_title_plus_detail, else text, else seg_text — first
    /// non-empty per row].
    #[arg(long)]
    pub text: Option<String>,
    /// Label column [default: 一级标签, else label]. Any taxonomy level works.
    #[arg(long)]
    pub label: Option<String>,
    /// Where to write the model.
    #[arg(long, default_value = "model.urbis-text")]
    pub out: PathBuf,
    /// Cross-validation folds used to calibrate confidences and report metrics; 0 skips both.
    #[arg(long, default_value_t = 5)]
    pub folds: u32,
    /// Feature space size as a power of two (10–24).
    #[arg(long, default_value_t = HyperParams::recommended().features.hash_bits)]
    pub hash_bits: u32,
    /// SVM cost C.
    #[arg(long, default_value_t = HyperParams::recommended().c)]
    pub c: f32,
}

/// Runs `urbis train`: loads the data, trains with a progress bar, prints the cross-validated metrics and
/// writes the model file.
pub fn run_train(args: &TrainArgs) -> anyhow::Result<()> {
    let loaded = load_examples(&args.data, args.text.as_deref(), args.label.as_deref())?;
    println!(
        "data      {} ({} rows, {} skipped as empty)",
        args.data.display(),
        loaded.examples.len(),
        loaded.skipped
    );
    println!("columns   {}", loaded.columns);
    println!("labels    {}", label_summary(&loaded.examples));
    let mut hyper = HyperParams::recommended();
    hyper.features.hash_bits = args.hash_bits;
    hyper.c = args.c;
    let options = TrainOptions {
        hyper,
        folds: args.folds,
        user_words: Vec::new(),
        source: args.data.file_name().map_or_else(
            || args.data.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        created: now_rfc3339(),
    };
    let bar = progress_bar(u64::from(args.folds) + 1, "training");
    let model = Model::train_with_progress(&loaded.examples, &options, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let header = model.header();
    match &header.cv {
        Some(cv) => println!(
            "cv        {}-fold: accuracy {:.4}  macro-F1 {:.4}  ECE {:.4} (temperature {:.3})",
            cv.folds, cv.accuracy, cv.macro_f1, cv.ece, header.calibration.temperature
        ),
        None => println!("cv        skipped (--folds 0): confidences are not calibrated"),
    }
    let bytes = model.to_bytes();
    std::fs::write(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "model     {} ({:.1} MiB, {} labels, {} weight rows)",
        args.out.display(),
        bytes.len() as f64 / (1024.0 * 1024.0),
        header.labels.len(),
        header.weights.rows
    );
    Ok(())
}
