//! Unit tests of `crate::features`.

use std::sync::Arc;

use crate::features::{FeatureOptions, Featurizer, SparseVector};
use crate::segment::Segmenter;

fn chars_only() -> FeatureOptions {
    FeatureOptions {
        hash_bits: 16,
        char_ngram_min: 1,
        char_ngram_max: 2,
        word_ngram_max: 0,
        sublinear_tf: true,
        fold_digits: false,
    }
}

#[test]
fn vectors_are_sorted_unit_length_and_deterministic() {
    let featurizer = Featurizer::new(&chars_only(), None).expect("valid");
    let vector = featurizer.vector("幸福路的路灯不亮了，路灯坏了");
    assert!(vector.indices.windows(2).all(|w| w[0] < w[1]));
    assert!((vector.dot(&vector) - 1.0).abs() < 1e-5);
    assert_eq!(vector, featurizer.vector("幸福路的路灯不亮了，路灯坏了"));
    // 13 Han characters, two runs: 10 distinct unigrams and 11 distinct bigrams at most.
    assert!(vector.len() <= 21 && vector.len() >= 18, "{}", vector.len());
    assert!(featurizer.vector("").is_empty());
    assert!(featurizer.vector("，。！ ").is_empty());
}

#[test]
fn normalisation_and_boundaries() {
    let featurizer = Featurizer::new(&chars_only(), None).expect("valid");
    assert_eq!(featurizer.vector("ＡＢＣ１２"), featurizer.vector("abc12"));
    assert_eq!(
        featurizer.vector("路 灯\n坏了"),
        featurizer.vector("路灯坏了")
    );
    // Punctuation breaks n-grams: no 路灯 bigram across the comma.
    assert_ne!(featurizer.vector("路，灯"), featurizer.vector("路灯"));
    assert_eq!(featurizer.vector("路，灯").len(), 2);
    let mut folding = chars_only();
    folding.fold_digits = true;
    let folding = Featurizer::new(&folding, None).expect("valid");
    assert_eq!(folding.vector("3号楼"), folding.vector("7号楼"));
    assert_ne!(featurizer.vector("3号楼"), featurizer.vector("7号楼"));
}

#[test]
fn counts_and_sublinear_tf() {
    let featurizer = Featurizer::new(&chars_only(), None).expect("valid");
    let counts = featurizer.counts("路灯路灯路灯");
    // 路, 灯, 路灯, 灯路.
    assert_eq!(counts.buckets.len(), 4);
    let mut sorted = counts.counts.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [2, 3, 3, 3]);
    assert!((featurizer.tf(3) - (1.0 + 3f32.ln())).abs() < 1e-6);
    assert!((featurizer.tf(100) - (1.0 + 100f32.ln())).abs() < 1e-4);
    let mut raw = chars_only();
    raw.sublinear_tf = false;
    assert_eq!(Featurizer::new(&raw, None).expect("valid").tf(3), 3.0);
}

#[test]
fn word_features_use_the_segmenter() {
    let mut options = chars_only();
    options.char_ngram_min = 0;
    options.char_ngram_max = 0;
    options.word_ngram_max = 2;
    let plain = Featurizer::new(&options, None).expect("valid");
    let custom = Featurizer::new(
        &options,
        Some(Arc::new(Segmenter::with_user_words(&["幸福路口"]))),
    )
    .expect("valid");
    let text = "幸福路口井盖丢了";
    assert!(!plain.vector(text).is_empty());
    assert_ne!(plain.vector(text), custom.vector(text));
}

#[test]
fn invalid_options_are_rejected() {
    let mut options = chars_only();
    options.hash_bits = 8;
    assert!(Featurizer::new(&options, None).is_err());
    let mut options = chars_only();
    options.char_ngram_max = 6;
    assert!(options.validate().is_err());
    let mut options = chars_only();
    options.char_ngram_min = 0;
    options.char_ngram_max = 0;
    assert!(options.validate().is_err(), "no features at all");
}

#[test]
fn sparse_dot_product() {
    let a = SparseVector {
        indices: vec![1, 3, 5],
        values: vec![1.0, 2.0, 3.0],
    };
    let b = SparseVector {
        indices: vec![0, 3, 5, 9],
        values: vec![7.0, 1.0, 1.0, 7.0],
    };
    assert_eq!(a.dot(&b), 5.0);
}
