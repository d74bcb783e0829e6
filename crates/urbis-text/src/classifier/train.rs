//! Fitting: feature matrix, one-vs-rest dual coordinate descent, temperature calibration.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::classifier::{
    Calibration, CvSummary, Example, HyperParams, Model, ModelHeader, TrainOptions,
    TrainingSummary, featurizer_for, format, validate_hyper,
};
use crate::eval;
use crate::features::{Featurizer, TermCounts};
use crate::rng::SplitMix64;
use crate::{Result, TextError};

/// The value of the constant bias feature appended to every example.
const BIAS_FEATURE: f32 = 1.0;

/// Marks a bucket without a row.
pub(crate) const NO_ROW: u32 = u32::MAX;

/// Largest dense table, in values (16 MiB of `f32`); larger models use the indexed layout.
const DENSE_LIMIT: usize = 4 << 20;

/// Linear functions of all labels in prediction layout. A row holds the weight of each label, then the
/// bucket's IDF; buckets unseen in training have no row and are ignored, also in the norm.
#[derive(Clone, Debug)]
pub(crate) struct Weights {
    pub(crate) stride: usize,
    pub(crate) bias: Vec<f32>,
    table: Table,
}

#[derive(Clone, Debug)]
enum Table {
    /// `buckets × stride` values, all zero (IDF 0) for unseen buckets: one memory access per feature.
    /// Used while it stays small (few labels).
    Dense(Vec<f32>),
    /// Row index per bucket, then only the rows of seen buckets: memory follows the training data, so
    /// hundreds of labels stay affordable, at the price of a second memory access per feature.
    Indexed { row_of: Vec<u32>, rows: Vec<f32> },
}

impl Weights {
    /// Builds the weights from the rows of seen buckets; `row_of` maps each bucket to its row or [`NO_ROW`].
    pub(crate) fn new(row_of: Vec<u32>, rows: Vec<f32>, stride: usize, bias: Vec<f32>) -> Weights {
        let table = if row_of.len() * stride <= DENSE_LIMIT {
            let mut dense = vec![0.0f32; row_of.len() * stride];
            for (bucket, &row) in row_of.iter().enumerate() {
                if row != NO_ROW {
                    dense[bucket * stride..][..stride]
                        .copy_from_slice(&rows[row as usize * stride..][..stride]);
                }
            }
            Table::Dense(dense)
        } else {
            Table::Indexed { row_of, rows }
        };
        Weights {
            stride,
            bias,
            table,
        }
    }

    pub(crate) fn n_labels(&self) -> usize {
        self.bias.len()
    }

    /// Returns the number of buckets of the hash space.
    pub(crate) fn buckets(&self) -> usize {
        match &self.table {
            Table::Dense(dense) => dense.len() / self.stride,
            Table::Indexed { row_of, .. } => row_of.len(),
        }
    }

    /// Calls `f(bucket, row)` for every seen bucket, in bucket order.
    pub(crate) fn for_each_row(&self, mut f: impl FnMut(usize, &[f32])) {
        match &self.table {
            Table::Dense(dense) => {
                for (bucket, row) in dense.chunks_exact(self.stride).enumerate() {
                    if row[self.stride - 1] > 0.0 {
                        f(bucket, row);
                    }
                }
            }
            Table::Indexed { row_of, rows } => {
                for (bucket, &row) in row_of.iter().enumerate() {
                    if row != NO_ROW {
                        f(bucket, &rows[row as usize * self.stride..][..self.stride]);
                    }
                }
            }
        }
    }

    pub(crate) fn margins(&self, featurizer: &Featurizer, text: &str) -> Vec<f32> {
        self.margins_of_counts(featurizer, &featurizer.counts(text))
    }

    fn margins_of_counts(&self, featurizer: &Featurizer, counts: &TermCounts) -> Vec<f32> {
        let n_labels = self.n_labels();
        let stride = self.stride;
        let mut sums = vec![0.0f32; n_labels];
        let mut norm2 = 0.0f32;
        let mut add = |row: &[f32], count: u32| {
            let value = featurizer.tf(count) * row[n_labels];
            norm2 += value * value;
            for (sum, weight) in sums.iter_mut().zip(&row[..n_labels]) {
                *sum += value * weight;
            }
        };
        let pairs = counts.buckets.iter().zip(&counts.counts);
        match &self.table {
            Table::Dense(dense) => {
                // No branch on the row: unseen buckets are all zero and add nothing, and without a branch that
                // depends on the loaded value the cache misses of successive rows overlap.
                for (&bucket, &count) in pairs {
                    add(&dense[bucket as usize * stride..][..stride], count);
                }
            }
            Table::Indexed { row_of, rows } => {
                for (&bucket, &count) in pairs {
                    let row = row_of[bucket as usize];
                    if row != NO_ROW {
                        add(&rows[row as usize * stride..][..stride], count);
                    }
                }
            }
        }
        let scale = if norm2 > 0.0 {
            norm2.sqrt().recip()
        } else {
            0.0
        };
        sums.iter()
            .zip(&self.bias)
            .map(|(sum, bias)| sum * scale + bias)
            .collect()
    }
}

/// Returns `softmax(margins / temperature)`.
pub(crate) fn softmax(margins: &[f32], temperature: f32) -> Vec<f32> {
    let max = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut out: Vec<f32> = margins
        .iter()
        .map(|m| ((m - max) / temperature).exp())
        .collect();
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|p| *p /= sum);
    out
}

pub(crate) fn train(
    examples: &[Example],
    options: &TrainOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Model> {
    validate_hyper(&options.hyper)?;
    if examples.is_empty() {
        return Err(TextError::NoExamples);
    }
    let mut label_counts: BTreeMap<String, usize> = BTreeMap::new();
    for example in examples {
        *label_counts.entry(example.label.clone()).or_default() += 1;
    }
    if label_counts.len() < 2 {
        return Err(TextError::TooFewLabels {
            found: label_counts.len(),
        });
    }
    if options.folds == 1 || options.folds as usize > examples.len() {
        return Err(TextError::InvalidOption {
            name: "folds",
            reason: format!(
                "must be 0 or between 2 and the number of examples ({})",
                examples.len()
            ),
        });
    }
    let labels: Vec<String> = label_counts.keys().cloned().collect();
    let truth: Vec<u32> = examples
        .iter()
        .map(|example| labels.binary_search(&example.label).unwrap_or_default() as u32)
        .collect();
    let featurizer = featurizer_for(&options.hyper.features, &options.user_words)?;
    let counts: Vec<TermCounts> = examples
        .iter()
        .map(|example| featurizer.counts(&example.text))
        .collect();
    let total_fits = options.folds as usize + 1;

    let (calibration, cv) = if options.folds >= 2 {
        let folds = eval::stratified_folds(&truth, options.folds, options.hyper.seed);
        let mut margins: Vec<Vec<f32>> = vec![Vec::new(); examples.len()];
        for fold in 0..options.folds {
            let train_rows: Vec<usize> =
                (0..examples.len()).filter(|&i| folds[i] != fold).collect();
            let weights = fit(
                &counts,
                &truth,
                &train_rows,
                labels.len(),
                &options.hyper,
                &featurizer,
            );
            for i in (0..examples.len()).filter(|&i| folds[i] == fold) {
                margins[i] = weights.margins_of_counts(&featurizer, &counts[i]);
            }
            progress(fold as usize + 1, total_fits);
        }
        let temperature = fit_temperature(&margins, &truth);
        let mut predicted = Vec::with_capacity(margins.len());
        let mut confidence = Vec::with_capacity(margins.len());
        for row in &margins {
            let probabilities = softmax(row, temperature);
            let (best, p) = argmax(&probabilities);
            predicted.push(best as u32);
            confidence.push(p);
        }
        let metrics = eval::Metrics::from_predictions(&labels, &truth, &predicted, &confidence);
        let cv = CvSummary {
            folds: options.folds,
            accuracy: metrics.accuracy,
            macro_f1: metrics.macro_f1,
            ece: metrics.ece,
        };
        (
            Calibration {
                method: "temperature".to_owned(),
                temperature,
                folds: options.folds,
            },
            Some(cv),
        )
    } else {
        (
            Calibration {
                method: "none".to_owned(),
                temperature: 1.0,
                folds: 0,
            },
            None,
        )
    };

    let all_rows: Vec<usize> = (0..examples.len()).collect();
    let weights = fit(
        &counts,
        &truth,
        &all_rows,
        labels.len(),
        &options.hyper,
        &featurizer,
    );
    progress(total_fits, total_fits);

    let mut hasher = Sha256::new();
    for example in examples {
        hasher.update(example.label.as_bytes());
        hasher.update(b"\t");
        hasher.update(example.text.as_bytes());
        hasher.update(b"\n");
    }
    let header = ModelHeader {
        format: format::FORMAT_NAME.to_owned(),
        format_version: format::FORMAT_VERSION,
        labels,
        training: TrainingSummary {
            source: options.source.clone(),
            created: options.created.clone(),
            rows: examples.len(),
            label_counts,
            sha256: hex::encode(hasher.finalize()),
        },
        hyper: options.hyper.clone(),
        user_words: options.user_words.clone(),
        calibration,
        cv,
        bias: weights.bias.clone(),
        weights: format::layout(&weights),
    };
    Ok(Model {
        header,
        featurizer,
        weights,
    })
}

fn argmax(values: &[f32]) -> (usize, f32) {
    values
        .iter()
        .copied()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, v)| {
            if v > best.1 { (i, v) } else { best }
        })
}

/// Training rows as a compressed sparse row matrix of weighted, normalised vectors.
struct Matrix {
    offsets: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Matrix {
    fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let range = self.offsets[i]..self.offsets[i + 1];
        (&self.indices[range.clone()], &self.values[range])
    }
}

/// Fits every label's linear function on `rows` of `counts`.
fn fit(
    counts: &[TermCounts],
    truth: &[u32],
    rows: &[usize],
    n_labels: usize,
    hyper: &HyperParams,
    featurizer: &Featurizer,
) -> Weights {
    let dimension = hyper.features.dimension();
    let mut df = vec![0u32; dimension];
    for &i in rows {
        for &bucket in &counts[i].buckets {
            df[bucket as usize] += 1;
        }
    }
    let n = rows.len() as f32;
    let min_df = hyper.min_df.max(1);
    let idf: Vec<f32> = df
        .iter()
        .map(|&d| {
            if d < min_df {
                0.0
            } else if hyper.idf {
                ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0
            } else {
                1.0
            }
        })
        .collect();

    let mut matrix = Matrix {
        offsets: vec![0],
        indices: Vec::new(),
        values: Vec::new(),
    };
    for &i in rows {
        let start = matrix.values.len();
        for (&bucket, &count) in counts[i].buckets.iter().zip(&counts[i].counts) {
            let weight = idf[bucket as usize];
            if weight > 0.0 {
                matrix.indices.push(bucket);
                matrix.values.push(featurizer.tf(count) * weight);
            }
        }
        let norm = matrix.values[start..]
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            .sqrt();
        if norm > 0.0 {
            matrix.values[start..].iter_mut().for_each(|v| *v /= norm);
        }
        matrix.offsets.push(matrix.values.len());
    }

    let mut per_label = vec![0usize; n_labels];
    rows.iter().for_each(|&i| per_label[truth[i] as usize] += 1);
    let costs: Vec<f32> = rows
        .iter()
        .map(|&i| {
            let seen = per_label[truth[i] as usize] as f32;
            if hyper.balanced {
                hyper.c * n / (n_labels as f32 * seen)
            } else {
                hyper.c
            }
        })
        .collect();

    let stride = n_labels + 1;
    let mut row_of = vec![NO_ROW; dimension];
    let mut n_rows = 0u32;
    for (bucket, &weight) in idf.iter().enumerate() {
        if weight > 0.0 {
            row_of[bucket] = n_rows;
            n_rows += 1;
        }
    }
    let mut table = vec![0.0f32; n_rows as usize * stride];
    let mut bias = vec![0.0f32; n_labels];
    let mut rng = SplitMix64::new(hyper.seed);
    for label in 0..n_labels {
        let signs: Vec<f32> = rows
            .iter()
            .map(|&i| {
                if truth[i] as usize == label {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        let (w, b) = solve_binary(&matrix, &signs, &costs, dimension, hyper, &mut rng);
        for (bucket, &row) in row_of.iter().enumerate() {
            if row != NO_ROW {
                table[row as usize * stride + label] = w[bucket];
            }
        }
        bias[label] = b;
    }
    for (bucket, &row) in row_of.iter().enumerate() {
        if row != NO_ROW {
            table[row as usize * stride + n_labels] = idf[bucket];
        }
    }
    Weights::new(row_of, table, stride, bias)
}

/// Solves one L2-regularised squared-hinge SVM in the dual by coordinate descent
/// (Hsieh et al., "A dual coordinate descent method for large-scale linear SVM", ICML 2008).
/// Returns the primal weights and the bias.
fn solve_binary(
    matrix: &Matrix,
    signs: &[f32],
    costs: &[f32],
    dimension: usize,
    hyper: &HyperParams,
    rng: &mut SplitMix64,
) -> (Vec<f32>, f32) {
    let n = signs.len();
    let mut w = vec![0.0f32; dimension];
    let mut bias = 0.0f32;
    let mut alpha = vec![0.0f32; n];
    let diagonal: Vec<f32> = costs.iter().map(|c| 0.5 / c).collect();
    let q_diagonal: Vec<f32> = (0..n)
        .map(|i| {
            matrix.row(i).1.iter().map(|v| v * v).sum::<f32>()
                + BIAS_FEATURE * BIAS_FEATURE
                + diagonal[i]
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    for _ in 0..hyper.max_epochs {
        rng.shuffle(&mut order);
        let (mut pg_max, mut pg_min) = (f32::NEG_INFINITY, f32::INFINITY);
        for &i in &order {
            let (indices, values) = matrix.row(i);
            let mut margin = bias * BIAS_FEATURE;
            for (&j, &v) in indices.iter().zip(values) {
                margin += w[j as usize] * v;
            }
            let gradient = signs[i] * margin - 1.0 + diagonal[i] * alpha[i];
            let projected = if alpha[i] == 0.0 {
                gradient.min(0.0)
            } else {
                gradient
            };
            pg_max = pg_max.max(projected);
            pg_min = pg_min.min(projected);
            if projected.abs() > 1e-12 {
                let old = alpha[i];
                alpha[i] = (old - gradient / q_diagonal[i]).max(0.0);
                let step = (alpha[i] - old) * signs[i];
                for (&j, &v) in indices.iter().zip(values) {
                    w[j as usize] += step * v;
                }
                bias += step * BIAS_FEATURE;
            }
        }
        if pg_max - pg_min < hyper.tolerance {
            break;
        }
    }
    (w, bias * BIAS_FEATURE)
}

/// Returns the temperature that minimises the negative log-likelihood of the true labels under
/// `softmax(margin / temperature)`. The likelihood is convex in `1 / temperature`, so a golden-section
/// search over a wide bracket finds the optimum.
fn fit_temperature(margins: &[Vec<f32>], truth: &[u32]) -> f32 {
    let nll = |inverse: f64| -> f64 {
        let mut total = 0.0;
        for (row, &label) in margins.iter().zip(truth) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let log_sum = row
                .iter()
                .map(|&m| ((m as f64 - max) * inverse).exp())
                .sum::<f64>()
                .ln();
            total += log_sum - (row[label as usize] as f64 - max) * inverse;
        }
        total
    };
    let (mut low, mut high) = (0.01f64, 200.0f64);
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let mut a = high - ratio * (high - low);
    let mut b = low + ratio * (high - low);
    let (mut fa, mut fb) = (nll(a), nll(b));
    for _ in 0..80 {
        if fa < fb {
            high = b;
            b = a;
            fb = fa;
            a = high - ratio * (high - low);
            fa = nll(a);
        } else {
            low = a;
            a = b;
            fa = fb;
            b = low + ratio * (high - low);
            fb = nll(b);
        }
    }
    (2.0 / (low + high)) as f32
}
