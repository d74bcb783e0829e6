//! Unit tests of `crate::eval`.

use crate::classifier::{Example, HyperParams, TrainOptions};
use crate::eval::{Metrics, cross_validate, expected_calibration_error, stratified_folds};

#[test]
fn folds_are_stratified_and_deterministic() {
    let labels: Vec<u32> = (0..103)
        .map(|i| {
            if i < 70 {
                0
            } else if i < 100 {
                1
            } else {
                2
            }
        })
        .collect();
    let folds = stratified_folds(&labels, 5, 42);
    assert_eq!(folds, stratified_folds(&labels, 5, 42));
    assert_ne!(folds, stratified_folds(&labels, 5, 43));
    for label in 0..3u32 {
        let mut per_fold = [0usize; 5];
        for (l, f) in labels.iter().zip(&folds) {
            if *l == label {
                per_fold[*f as usize] += 1;
            }
        }
        let (min, max) = (
            per_fold.iter().min().copied(),
            per_fold.iter().max().copied(),
        );
        assert!(
            max.unwrap_or(0) - min.unwrap_or(0) <= 1,
            "label {label}: {per_fold:?}"
        );
    }
    let mut sizes = [0usize; 5];
    folds.iter().for_each(|&f| sizes[f as usize] += 1);
    assert!(
        sizes.iter().max().unwrap_or(&0) - sizes.iter().min().unwrap_or(&0) <= 1,
        "{sizes:?}"
    );
}

#[test]
fn metrics_from_known_predictions() {
    let labels = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
    // truth:     a a a b b c
    // predicted: a a b b c c
    let truth = [0, 0, 0, 1, 1, 2];
    let predicted = [0, 0, 1, 1, 2, 2];
    let metrics = Metrics::from_predictions(&labels, &truth, &predicted, &[0.9; 6]);
    assert!((metrics.accuracy - 4.0 / 6.0).abs() < 1e-12);
    assert_eq!(
        metrics.confusion,
        vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]
    );
    let f1 = |p: f64, r: f64| 2.0 * p * r / (p + r);
    let expected = [f1(1.0, 2.0 / 3.0), f1(0.5, 0.5), f1(0.5, 1.0)];
    for (m, e) in metrics.per_label.iter().zip(expected) {
        assert!((m.f1 - e).abs() < 1e-12, "{m:?}");
    }
    assert!((metrics.macro_f1 - expected.iter().sum::<f64>() / 3.0).abs() < 1e-12);
    assert_eq!(metrics.per_label[0].support, 3);
    assert!((metrics.ece - (0.9 - 4.0 / 6.0)).abs() < 1e-6);
    let report = metrics.report();
    assert!(
        report.contains("macro-F1") && report.contains("confusion matrix"),
        "{report}"
    );
}

#[test]
fn calibration_error() {
    assert_eq!(
        expected_calibration_error(&[1.0, 1.0], &[true, true], 10),
        0.0
    );
    let ece = expected_calibration_error(&[0.8, 0.8, 0.8, 0.8], &[true, false, true, false], 10);
    assert!((ece - 0.3).abs() < 1e-6, "{ece}");
    // Two bins, each perfectly calibrated on its own.
    let ece = expected_calibration_error(
        &[0.25, 0.25, 0.25, 0.25, 1.0],
        &[true, false, false, false, true],
        10,
    );
    assert!(ece.abs() < 1e-6, "{ece}");
}

#[test]
fn cross_validation_pools_out_of_fold_predictions() {
    let mut examples = Vec::new();
    for i in 0..12 {
        examples.push(Example {
            text: format!("第{i}号路灯不亮，晚上很黑"),
            label: "light".to_owned(),
        });
        examples.push(Example {
            text: format!("第{i}号楼停水了，没有自来水"),
            label: "water".to_owned(),
        });
    }
    let options = TrainOptions {
        hyper: HyperParams::recommended(),
        folds: 0,
        user_words: Vec::new(),
        source: "test".to_owned(),
        created: "test".to_owned(),
    };
    let mut calls = Vec::new();
    let cv = cross_validate(&examples, &options, 4, &mut |done, total| {
        calls.push((done, total))
    })
    .expect("runs");
    assert_eq!(cv.folds, 4);
    assert_eq!(cv.metrics.rows, examples.len());
    assert_eq!(cv.metrics.accuracy, 1.0);
    assert!(cv.metrics.predict_per_second.is_some_and(|r| r > 0.0));
    assert_eq!(calls, [(1, 4), (2, 4), (3, 4), (4, 4)]);
}
