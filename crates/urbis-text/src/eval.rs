//! Measuring a classifier: stratified k-fold cross-validation, accuracy, macro-F1, per-label precision,
//! recall and F1, the confusion matrix, expected calibration error and prediction throughput.
//!
//! Out-of-fold predictions are pooled over all folds before computing metrics, so every example counts once.
//! Throughput is measured by calling [`Model::predict`] one message at a time on the calling thread,
//! which is how the intake pipeline uses it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::TextError;
use crate::classifier::{Example, Model, TrainOptions};
use crate::rng::SplitMix64;

/// Precision, recall and F1 of one label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Examples whose true label this is.
    pub support: usize,
}

/// Classification quality on a set of examples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub labels: Vec<String>,
    pub rows: usize,
    pub accuracy: f64,
    /// Unweighted mean of the per-label F1 over labels that occur in the truth or the predictions.
    pub macro_f1: f64,
    pub per_label: Vec<LabelMetrics>,
    /// `confusion[truth][predicted]`, in label order.
    pub confusion: Vec<Vec<usize>>,
    /// Expected calibration error of the confidences over 10 equal-width bins.
    pub ece: f64,
    /// Messages per second of single-message prediction on one thread, when measured.
    pub predict_per_second: Option<f64>,
}

/// Result of [`cross_validate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CrossValidation {
    pub folds: u32,
    /// Pooled out-of-fold metrics.
    pub metrics: Metrics,
    /// Wall time of all training runs, in seconds.
    pub train_seconds: f64,
    /// Wall time of all predictions, in seconds.
    pub predict_seconds: f64,
}

/// Assigns each example to one of `folds` folds so that every label is spread as evenly as possible.
/// `labels[i]` is the label index of example `i`; the result is deterministic for a given `seed`.
pub fn stratified_folds(labels: &[u32], folds: u32, seed: u64) -> Vec<u32> {
    let mut by_label: Vec<Vec<usize>> = Vec::new();
    for (i, &label) in labels.iter().enumerate() {
        if by_label.len() <= label as usize {
            by_label.resize(label as usize + 1, Vec::new());
        }
        by_label[label as usize].push(i);
    }
    let mut rng = SplitMix64::new(seed);
    let mut assignment = vec![0u32; labels.len()];
    // Continue the round-robin across labels so that fold sizes stay balanced too.
    let mut next = 0u32;
    for members in &mut by_label {
        rng.shuffle(members);
        for &i in members.iter() {
            assignment[i] = next;
            next = (next + 1) % folds.max(1);
        }
    }
    assignment
}

/// Returns the expected calibration error: the support-weighted mean gap between confidence and accuracy
/// over `bins` equal-width confidence bins.
pub fn expected_calibration_error(confidence: &[f32], correct: &[bool], bins: usize) -> f64 {
    if confidence.is_empty() || bins == 0 {
        return 0.0;
    }
    let mut sum_confidence = vec![0.0f64; bins];
    let mut sum_correct = vec![0.0f64; bins];
    let mut count = vec![0usize; bins];
    for (&c, &ok) in confidence.iter().zip(correct) {
        let bin = ((c.clamp(0.0, 1.0) as f64 * bins as f64) as usize).min(bins - 1);
        sum_confidence[bin] += c as f64;
        sum_correct[bin] += if ok { 1.0 } else { 0.0 };
        count[bin] += 1;
    }
    let total = confidence.len() as f64;
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (sum_confidence[b] - sum_correct[b]).abs() / total)
        .sum()
}

impl Metrics {
    /// Computes metrics from label indices into `labels`. `confidence[i]` is the probability given to `predicted[i]`.
    pub fn from_predictions(
        labels: &[String],
        truth: &[u32],
        predicted: &[u32],
        confidence: &[f32],
    ) -> Metrics {
        let n_labels = labels.len();
        let mut confusion = vec![vec![0usize; n_labels]; n_labels];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t as usize][p as usize] += 1;
        }
        let rows = truth.len();
        let correct: Vec<bool> = truth.iter().zip(predicted).map(|(t, p)| t == p).collect();
        let n_correct = correct.iter().filter(|&&ok| ok).count();
        let mut per_label = Vec::with_capacity(n_labels);
        let mut f1_sum = 0.0;
        let mut f1_count = 0usize;
        for (k, label) in labels.iter().enumerate() {
            let true_positive = confusion[k][k] as f64;
            let support: usize = confusion[k].iter().sum();
            let predicted_k: usize = confusion.iter().map(|row| row[k]).sum();
            let precision = if predicted_k > 0 {
                true_positive / predicted_k as f64
            } else {
                0.0
            };
            let recall = if support > 0 {
                true_positive / support as f64
            } else {
                0.0
            };
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            if support > 0 || predicted_k > 0 {
                f1_sum += f1;
                f1_count += 1;
            }
            per_label.push(LabelMetrics {
                label: label.clone(),
                precision,
                recall,
                f1,
                support,
            });
        }
        Metrics {
            labels: labels.to_vec(),
            rows,
            accuracy: if rows > 0 {
                n_correct as f64 / rows as f64
            } else {
                0.0
            },
            macro_f1: if f1_count > 0 {
                f1_sum / f1_count as f64
            } else {
                0.0
            },
            per_label,
            confusion,
            ece: expected_calibration_error(confidence, &correct, 10),
            predict_per_second: None,
        }
    }

    /// Returns a plain-text report: summary line, per-label table and confusion matrix.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "rows {}  accuracy {:.4}  macro-F1 {:.4}  ECE {:.4}{}",
            self.rows,
            self.accuracy,
            self.macro_f1,
            self.ece,
            self.predict_per_second
                .map(|r| format!("  predict {r:.0} msg/s (1 thread)"))
                .unwrap_or_default()
        );
        let width = self
            .labels
            .iter()
            .map(|l| display_width(l))
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(
            out,
            "{}  precision  recall     F1  support",
            pad("label", width)
        );
        for m in &self.per_label {
            let _ = writeln!(
                out,
                "{}     {:.4}  {:.4}  {:.4}  {:>7}",
                pad(&m.label, width),
                m.precision,
                m.recall,
                m.f1,
                m.support
            );
        }
        let _ = writeln!(
            out,
            "confusion matrix (rows: true label, columns: predicted, in the order above)"
        );
        for (label, row) in self.labels.iter().zip(&self.confusion) {
            let cells: Vec<String> = row.iter().map(|c| format!("{c:>5}")).collect();
            let _ = writeln!(out, "{} {}", pad(label, width), cells.join(""));
        }
        out
    }
}

/// Evaluates a trained model on labelled examples, timing single-message prediction.
/// Labels the model does not know are added to the label list (and are always wrong).
pub fn evaluate(model: &Model, examples: &[Example]) -> Metrics {
    let mut labels: Vec<String> = model.labels().to_vec();
    for example in examples {
        if !labels.contains(&example.label) {
            labels.push(example.label.clone());
        }
    }
    let index: HashMap<&str, u32> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i as u32))
        .collect();
    let truth: Vec<u32> = examples.iter().map(|e| index[e.label.as_str()]).collect();
    let started = Instant::now();
    let predictions: Vec<_> = examples.iter().map(|e| model.predict(&e.text)).collect();
    let seconds = started.elapsed().as_secs_f64();
    let predicted: Vec<u32> = predictions
        .iter()
        .map(|p| index[p.label.as_str()])
        .collect();
    let confidence: Vec<f32> = predictions.iter().map(|p| p.confidence).collect();
    let mut metrics = Metrics::from_predictions(&labels, &truth, &predicted, &confidence);
    metrics.predict_per_second = Some(examples.len() as f64 / seconds.max(1e-9));
    metrics
}

/// Runs stratified k-fold cross-validation, training a fresh model per fold with `options`.
pub fn cross_validate(
    examples: &[Example],
    options: &TrainOptions,
    folds: u32,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CrossValidation> {
    let (_, truth) = label_indices(examples);
    let assignment = stratified_folds(&truth, folds, options.hyper.seed);
    cross_validate_with_folds(examples, options, &assignment, progress)
}

/// Like [`cross_validate`] with a given fold assignment (`assignment[i]` is the fold of example `i`),
/// so that another system can be measured on exactly the same folds.
pub fn cross_validate_with_folds(
    examples: &[Example],
    options: &TrainOptions,
    assignment: &[u32],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CrossValidation> {
    let folds = assignment.iter().copied().max().map_or(0, |m| m + 1);
    if folds < 2 || assignment.len() != examples.len() {
        return Err(TextError::InvalidOption {
            name: "folds",
            reason: "need at least two folds and one fold per example".to_owned(),
        });
    }
    let (labels, truth) = label_indices(examples);
    let index: HashMap<&str, u32> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i as u32))
        .collect();
    let mut predicted = vec![0u32; examples.len()];
    let mut confidence = vec![0f32; examples.len()];
    let (mut train_seconds, mut predict_seconds) = (0.0, 0.0);
    for fold in 0..folds {
        let train: Vec<Example> = examples
            .iter()
            .zip(assignment)
            .filter(|(_, f)| **f != fold)
            .map(|(e, _)| e.clone())
            .collect();
        let started = Instant::now();
        let model = Model::train(&train, options)?;
        train_seconds += started.elapsed().as_secs_f64();
        let held_out: Vec<usize> = (0..examples.len())
            .filter(|&i| assignment[i] == fold)
            .collect();
        let started = Instant::now();
        let predictions: Vec<_> = held_out
            .iter()
            .map(|&i| model.predict(&examples[i].text))
            .collect();
        predict_seconds += started.elapsed().as_secs_f64();
        for (&i, prediction) in held_out.iter().zip(predictions) {
            predicted[i] = index[prediction.label.as_str()];
            confidence[i] = prediction.confidence;
        }
        progress(fold as usize + 1, folds as usize);
    }
    let mut metrics = Metrics::from_predictions(&labels, &truth, &predicted, &confidence);
    metrics.predict_per_second = Some(examples.len() as f64 / f64::max(predict_seconds, 1e-9));
    Ok(CrossValidation {
        folds,
        metrics,
        train_seconds,
        predict_seconds,
    })
}

/// Returns the sorted distinct labels and each example's index into them.
pub fn label_indices(examples: &[Example]) -> (Vec<String>, Vec<u32>) {
    let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    labels.sort();
    labels.dedup();
    let truth = examples
        .iter()
        .map(|e| labels.binary_search(&e.label).unwrap_or_default() as u32)
        .collect();
    (labels, truth)
}

/// Returns the width of `text` in a terminal: CJK and full-width characters take two columns.
fn display_width(text: &str) -> usize {
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(
        c as u32,
        0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD
    )
}

/// Pads `text` with spaces to `width` terminal columns.
pub(crate) fn pad(text: &str, width: usize) -> String {
    format!(
        "{text}{}",
        " ".repeat(width.saturating_sub(display_width(text)))
    )
}

#[cfg(test)]
mod tests;
