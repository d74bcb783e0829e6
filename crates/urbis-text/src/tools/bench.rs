//! `urbis bench classify`: Urbis against a scikit-learn baseline on the same stratified folds.
//!
//! The baseline (`bench/classify/baseline.py`) is TF-IDF over jieba word 1–2-grams with LinearSVC, the usual
//! strong classical baseline for Chinese text. Both systems get the same raw text and the same fold assignment
//! (written to a temporary JSON-lines file the script reads), both run on one thread, and both are timed from
//! raw text to label: segmentation or feature hashing included.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::classifier::{HyperParams, TrainOptions};
use crate::eval::{cross_validate_with_folds, label_indices, stratified_folds};
use crate::tools::data::load_examples;
use crate::tools::{now_rfc3339, progress_bar, repo_root};

/// Arguments of `urbis bench classify`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchClassifyArgs {
    /// Labelled messages: CSV or XLSX.
    #[arg(
        long,
        default_value = "../shared/data/tipdm2020c/DEV_messages_labeled_raw_2881.csv"
    )]
    pub data: PathBuf,
    /// Number of stratified folds.
    #[arg(long, default_value_t = 5)]
    pub folds: u32,
    /// Text columns, comma-separated (default as for `train`).
    #[arg(long)]
    pub text: Option<String>,
    /// Label column (default as for `train`).
    #[arg(long)]
    pub label: Option<String>,
    /// Python interpreter with scikit-learn and jieba; default: the virtualenv `bench/classify/setup.sh`
    /// creates under `target/bench-venv`.
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Folds Urbis uses inside each training run to calibrate its confidences (as `urbis train --folds`).
    #[arg(long, default_value_t = 3)]
    pub calibration_folds: u32,
}

/// What `baseline.py` prints.
#[derive(Debug, Deserialize)]
struct BaselineResult {
    system: String,
    sklearn: String,
    jieba: String,
    accuracy: f64,
    macro_f1: f64,
    train_seconds: f64,
    n_predicted: usize,
    predict_seconds: f64,
}

/// Runs `urbis bench classify` and prints macro-F1, accuracy and single-thread prediction throughput of
/// both systems, and the throughput ratio.
pub fn run_bench_classify(args: &BenchClassifyArgs) -> anyhow::Result<()> {
    if !args.data.exists() {
        bail!(
            "data file {} not found (run from the repository root, next to ../shared/data, or pass --data)",
            args.data.display()
        );
    }
    let loaded = load_examples(&args.data, args.text.as_deref(), args.label.as_deref())?;
    let examples = loaded.examples;
    let hyper = HyperParams::recommended();
    let (labels, truth) = label_indices(&examples);
    let folds = stratified_folds(&truth, args.folds, hyper.seed);
    println!(
        "data      {} ({} rows, {} labels, {}-fold stratified)",
        args.data.display(),
        examples.len(),
        labels.len(),
        args.folds
    );

    let mut fold_file = tempfile::Builder::new()
        .prefix("urbis-bench-folds-")
        .suffix(".jsonl")
        .tempfile()?;
    for (example, fold) in examples.iter().zip(&folds) {
        let line =
            serde_json::json!({ "fold": fold, "label": example.label, "text": example.text });
        writeln!(fold_file, "{line}")?;
    }
    fold_file.flush()?;

    let root = repo_root();
    let python = match &args.python {
        Some(python) => python.clone(),
        None => ensure_venv(&root)?,
    };
    let script = root.join("bench/classify/baseline.py");
    println!(
        "baseline  {} {} (one thread) ...",
        python.display(),
        script.display()
    );
    let output = Command::new(&python)
        .arg(&script)
        .arg(fold_file.path())
        .env("OMP_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !output.status.success() {
        bail!(
            "baseline failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let baseline: BaselineResult = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "unexpected baseline output: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;

    println!(
        "urbis     {}-fold cross-validation, {}-fold calibration inside each training run ...",
        args.folds, args.calibration_folds
    );
    let options = TrainOptions {
        hyper,
        folds: args.calibration_folds,
        user_words: Vec::new(),
        source: args.data.display().to_string(),
        created: now_rfc3339(),
    };
    let bar = progress_bar(u64::from(args.folds), "urbis folds");
    let cv = cross_validate_with_folds(&examples, &options, &folds, &mut |done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();

    let baseline_rate = baseline.n_predicted as f64 / baseline.predict_seconds.max(1e-9);
    let urbis_rate = cv.metrics.predict_per_second.unwrap_or(0.0);
    println!();
    println!(
        "baseline    {} (scikit-learn {}, jieba {})",
        baseline.system, baseline.sklearn, baseline.jieba
    );
    println!(
        "urbis-text  hashed character 1–2-grams, TF-IDF, one-vs-rest linear SVM, temperature-calibrated"
    );
    println!();
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>16}",
        "system", "macro-F1", "accuracy", "train s", "predict msg/s"
    );
    println!(
        "{:<12} {:>9.4} {:>9.4} {:>9.1} {:>16.0}",
        "baseline", baseline.macro_f1, baseline.accuracy, baseline.train_seconds, baseline_rate
    );
    println!(
        "{:<12} {:>9.4} {:>9.4} {:>9.1} {:>16.0}",
        "urbis-text", cv.metrics.macro_f1, cv.metrics.accuracy, cv.train_seconds, urbis_rate
    );
    println!(
        "throughput ratio urbis/baseline {:.1}x (one thread each)   macro-F1 {:+.4}   urbis ECE {:.4}",
        urbis_rate / baseline_rate.max(1e-9),
        cv.metrics.macro_f1 - baseline.macro_f1,
        cv.metrics.ece
    );
    Ok(())
}

/// Creates the baseline virtualenv if needed (by `bench/classify/setup.sh`) and returns its python.
fn ensure_venv(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join("target/bench-venv");
    let setup = root.join("bench/classify/setup.sh");
    let status = Command::new("bash")
        .arg(&setup)
        .arg(&venv)
        .status()
        .with_context(|| format!("cannot run {}", setup.display()))?;
    if !status.success() {
        bail!(
            "{} failed ({status}); install the baseline's requirements or pass --python",
            setup.display()
        );
    }
    Ok(venv.join("bin/python"))
}
