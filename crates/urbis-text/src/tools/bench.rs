//! `urbis bench classify`: Urbis against a scikit-learn baseline on the same split, in the same run.
//!
//! The baseline (`bench/classify/baseline.py`) is TF-IDF over jieba word 1–2-grams with LinearSVC, the usual
//! strong classical baseline for Chinese text. Both systems get the same text and the same split (written to a
//! temporary JSON-lines file the script reads), both run on one thread, and both are timed from raw text to
//! label: segmentation or feature hashing included. Two protocols:
//!
//! - `cv`: stratified k-fold cross-validation of one file (by default the 2,881 raw messages);
//! - `raw-holdout`: the product's situation. Train on the 8,230-message set without the 2,881 rows whose raw
//!   text is known (their pre-segmented `seg_text` is all there is), then test on those 2,881 raw texts.

mod split;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::classifier::{Example, HyperParams, Model, TrainOptions};
use crate::eval::{
    Metrics, cross_validate_with_folds, evaluate, label_indices, pad, stratified_folds,
};
use crate::tools::data::{load_examples, read_table};
use crate::tools::{now_rfc3339, progress_bar, repo_root};

pub use split::{HoldoutSplit, holdout_split};

const CV_DATA: &str = "../shared/data/tipdm2020c/DEV_messages_labeled_raw_2881.csv";
const HOLDOUT_DATA: &str =
    "../shared/data/tipdm2020c/DEV_messages_labeled_8230_segmented_plus_raw_where_known.csv";

/// How the data is split into training and test text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Stratified k-fold cross-validation of one file.
    Cv,
    /// Train on the rows without raw text (pre-segmented `seg_text`), test on the raw text of the others.
    RawHoldout,
}

/// Arguments of `urbis bench classify`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchClassifyArgs {
    /// How to split the data into training and test text.
    #[arg(long, value_enum, default_value_t = Protocol::Cv)]
    pub protocol: Protocol,
    /// Labelled messages: CSV or XLSX [default: the 2,881 raw messages for `cv`, the 8,230-message set
    /// for `raw-holdout`, under ../shared/data/tipdm2020c].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Number of stratified folds (`cv` only).
    #[arg(long, default_value_t = 5)]
    pub folds: u32,
    /// Text columns, comma-separated (`cv` only; default as for `train`).
    #[arg(long)]
    pub text: Option<String>,
    /// Label column (`cv` only; default as for `train`).
    #[arg(long)]
    pub label: Option<String>,
    /// Python interpreter with scikit-learn and jieba; default: the virtualenv `bench/classify/setup.sh`
    /// creates under `target/bench-venv`.
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// Folds Urbis uses inside each training run to calibrate its confidences (as `urbis train --folds`).
    #[arg(long, default_value_t = 5)]
    pub calibration_folds: u32,
    /// Timed prediction passes over the test text for Urbis (`raw-holdout`); the median is reported.
    #[arg(long, default_value_t = 5)]
    pub passes: u32,
    /// Measure Urbis only (no Python needed).
    #[arg(long)]
    pub no_baseline: bool,
}

/// What `baseline.py` prints.
#[derive(Debug, Deserialize)]
struct BaselineResult {
    system: String,
    sklearn: String,
    jieba: String,
    train_seconds: f64,
    n_predicted: usize,
    predict_seconds: f64,
    /// Predicted labels: of the test rows in input order (`raw-holdout`), or of every row out of fold (`cv`).
    predictions: Vec<String>,
}

/// One system's figures on the test text.
struct Measured {
    metrics: Metrics,
    train_seconds: f64,
    predict_per_second: f64,
}

/// Runs `urbis bench classify` and prints macro-F1, accuracy, per-class F1 and single-thread prediction
/// throughput of both systems, Urbis's calibration error, and the ratios.
pub fn run_bench_classify(args: &BenchClassifyArgs) -> anyhow::Result<()> {
    let data = args.data.clone().unwrap_or_else(|| {
        PathBuf::from(match args.protocol {
            Protocol::Cv => CV_DATA,
            Protocol::RawHoldout => HOLDOUT_DATA,
        })
    });
    if !data.exists() {
        bail!(
            "data file {} not found (run from the repository root, next to ../shared/data, or pass --data)",
            data.display()
        );
    }
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; build with --release for real throughput figures"
        );
    }
    match args.protocol {
        Protocol::Cv => run_cv(args, &data),
        Protocol::RawHoldout => run_holdout(args, &data),
    }
}

fn train_options(args: &BenchClassifyArgs, data: &Path) -> TrainOptions {
    TrainOptions {
        hyper: HyperParams::recommended(),
        folds: args.calibration_folds,
        user_words: Vec::new(),
        source: data.display().to_string(),
        created: now_rfc3339(),
    }
}

fn run_cv(args: &BenchClassifyArgs, data: &Path) -> anyhow::Result<()> {
    let loaded = load_examples(data, args.text.as_deref(), args.label.as_deref())?;
    let examples = loaded.examples;
    let options = train_options(args, data);
    let (labels, truth) = label_indices(&examples);
    let folds = stratified_folds(&truth, args.folds, options.hyper.seed);
    println!(
        "protocol  cv: {} ({} rows, {} labels), {}-fold stratified cross-validation",
        data.display(),
        examples.len(),
        labels.len(),
        args.folds
    );
    let rows: Vec<serde_json::Value> = examples
        .iter()
        .zip(&folds)
        .map(|(e, fold)| serde_json::json!({ "fold": fold, "label": e.label, "text": e.text }))
        .collect();
    let baseline = run_baseline(args, &rows)?;

    println!(
        "urbis     {}-fold cross-validation, {}-fold calibration inside each training run ...",
        args.folds, args.calibration_folds
    );
    let bar = progress_bar(u64::from(args.folds), "urbis folds");
    let cv = cross_validate_with_folds(&examples, &options, &folds, &mut |done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    let urbis = Measured {
        predict_per_second: cv.metrics.predict_per_second.unwrap_or(0.0),
        metrics: cv.metrics,
        train_seconds: cv.train_seconds,
    };
    let baseline = baseline
        .map(|b| measured_baseline(b, &labels, &truth))
        .transpose()?;
    print_comparison(baseline, &urbis, &options.hyper);
    Ok(())
}

fn run_holdout(args: &BenchClassifyArgs, data: &Path) -> anyhow::Result<()> {
    if args.text.is_some() || args.label.is_some() {
        bail!(
            "--text and --label apply to --protocol cv; raw-holdout reads 一级标签, seg_text and raw_title_plus_detail"
        );
    }
    let table = read_table(data)?;
    let split = holdout_split(&table).with_context(|| format!("in {}", data.display()))?;
    println!(
        "protocol  raw-holdout: {}\n          train on the {} rows without raw text (their seg_text), test on the {} raw texts ({} rows skipped)",
        data.display(),
        split.train.len(),
        split.test.len(),
        split.skipped
    );
    let rows: Vec<serde_json::Value> = split
        .train
        .iter()
        .map(|e| (e, "train"))
        .chain(split.test.iter().map(|e| (e, "test")))
        .map(|(e, part)| serde_json::json!({ "split": part, "label": e.label, "text": e.text }))
        .collect();
    let baseline = run_baseline(args, &rows)?;

    let options = train_options(args, data);
    println!(
        "urbis     training with {}-fold calibration, then {} timed passes over the test text ...",
        args.calibration_folds, args.passes
    );
    let started = Instant::now();
    let model = Model::train(&split.train, &options)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let mut metrics = evaluate(&model, &split.test);
    let predict_per_second = median_rate(&model, &split.test, args.passes);
    metrics.predict_per_second = Some(predict_per_second);
    let urbis = Measured {
        metrics,
        train_seconds,
        predict_per_second,
    };
    let labels = urbis.metrics.labels.clone();
    let truth: Vec<u32> = split
        .test
        .iter()
        .map(|e| labels.iter().position(|l| *l == e.label).unwrap_or(0) as u32)
        .collect();
    let baseline = baseline
        .map(|b| measured_baseline(b, &labels, &truth))
        .transpose()?;
    print_comparison(baseline, &urbis, &options.hyper);
    if let Some(cv) = &model.header().cv {
        println!(
            "urbis calibration: temperature {:.3} fitted on {} training folds (their ECE {:.4}); ECE on the raw test text {:.4}",
            model.header().calibration.temperature,
            cv.folds,
            cv.ece,
            urbis.metrics.ece
        );
    }
    Ok(())
}

/// Predicts every test text `passes` times, one message at a time, and returns the median messages/s.
fn median_rate(model: &Model, test: &[Example], passes: u32) -> f64 {
    let mut rates: Vec<f64> = (0..passes.max(1))
        .map(|_| {
            let started = Instant::now();
            let mut sink = 0.0f32;
            for example in test {
                sink += model.predict(&example.text).confidence;
            }
            std::hint::black_box(sink);
            test.len() as f64 / started.elapsed().as_secs_f64().max(1e-9)
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// Writes `rows` for the baseline script and runs it; `None` with `--no-baseline`.
fn run_baseline(
    args: &BenchClassifyArgs,
    rows: &[serde_json::Value],
) -> anyhow::Result<Option<BaselineResult>> {
    if args.no_baseline {
        return Ok(None);
    }
    let mut file = tempfile::Builder::new()
        .prefix("urbis-bench-classify-")
        .suffix(".jsonl")
        .tempfile()?;
    for row in rows {
        writeln!(file, "{row}")?;
    }
    file.flush()?;
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
        .arg(file.path())
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
    let result = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "unexpected baseline output: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    Ok(Some(result))
}

/// Scores the baseline's predictions with the same code as Urbis's (`truth` indexes `labels`).
fn measured_baseline(
    baseline: BaselineResult,
    labels: &[String],
    truth: &[u32],
) -> anyhow::Result<(BaselineResult, Measured)> {
    if baseline.predictions.len() != truth.len() {
        bail!(
            "the baseline predicted {} texts, expected {}",
            baseline.predictions.len(),
            truth.len()
        );
    }
    let predicted = baseline
        .predictions
        .iter()
        .map(|p| {
            labels
                .iter()
                .position(|l| l == p)
                .map(|i| i as u32)
                .with_context(|| format!("the baseline predicted an unknown label {p:?}"))
        })
        .collect::<anyhow::Result<Vec<u32>>>()?;
    // LinearSVC gives no probabilities: the confidences are placeholders and its ECE is not reported.
    let confidence = vec![1.0f32; truth.len()];
    let metrics = Metrics::from_predictions(labels, truth, &predicted, &confidence);
    let measured = Measured {
        metrics,
        train_seconds: baseline.train_seconds,
        predict_per_second: baseline.n_predicted as f64 / baseline.predict_seconds.max(1e-9),
    };
    Ok((baseline, measured))
}

fn print_comparison(
    baseline: Option<(BaselineResult, Measured)>,
    urbis: &Measured,
    hyper: &HyperParams,
) {
    println!();
    if let Some((b, _)) = &baseline {
        println!(
            "baseline    {} (scikit-learn {}, jieba {})",
            b.system, b.sklearn, b.jieba
        );
    }
    println!("urbis-text  {}", hyper.describe());
    println!();
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>16}",
        "system", "macro-F1", "accuracy", "train s", "predict msg/s"
    );
    let line = |name: &str, m: &Measured| {
        println!(
            "{:<12} {:>9.4} {:>9.4} {:>9.1} {:>16.0}",
            name, m.metrics.macro_f1, m.metrics.accuracy, m.train_seconds, m.predict_per_second
        );
    };
    if let Some((_, b)) = &baseline {
        line("baseline", b);
    }
    line("urbis-text", urbis);
    println!();
    let cell = |m: &crate::eval::LabelMetrics| {
        format!("{:.4} ({:.3} / {:.3})", m.f1, m.precision, m.recall)
    };
    println!(
        "{}  {:<24} {:<24} {:>7}",
        pad("per-class F1 (P / R)", 20),
        if baseline.is_some() { "baseline" } else { "" },
        "urbis-text",
        "support"
    );
    for (i, u) in urbis.metrics.per_label.iter().enumerate() {
        let theirs = baseline
            .as_ref()
            .map(|(_, b)| cell(&b.metrics.per_label[i]))
            .unwrap_or_default();
        println!(
            "{}  {:<24} {:<24} {:>7}",
            pad(&u.label, 20),
            theirs,
            cell(u),
            u.support
        );
    }
    println!();
    match &baseline {
        Some((_, b)) => println!(
            "urbis/baseline: macro-F1 {:+.4}, throughput {:.1}x (one thread each); urbis ECE {:.4}",
            urbis.metrics.macro_f1 - b.metrics.macro_f1,
            urbis.predict_per_second / b.predict_per_second.max(1e-9),
            urbis.metrics.ece
        ),
        None => println!("urbis ECE {:.4}", urbis.metrics.ece),
    }
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
