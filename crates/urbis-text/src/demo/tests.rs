//! Unit tests of `crate::demo`.

use std::collections::BTreeMap;

use crate::demo::{DEMO_CATEGORIES, demo_corpus, demo_model};

#[test]
fn corpus_covers_every_category_with_at_least_25_distinct_messages() {
    let corpus = demo_corpus();
    let mut per_label: BTreeMap<&str, usize> = BTreeMap::new();
    for example in &corpus {
        *per_label.entry(example.label.as_str()).or_default() += 1;
    }
    for (code, name) in DEMO_CATEGORIES {
        assert!(
            per_label.get(code).copied().unwrap_or(0) >= 25,
            "{code} {name}: {per_label:?}"
        );
    }
    assert_eq!(
        per_label.len(),
        DEMO_CATEGORIES.len(),
        "labels outside the demo taxonomy: {per_label:?}"
    );
    let mut texts: Vec<&str> = corpus.iter().map(|e| e.text.as_str()).collect();
    texts.sort_unstable();
    texts.dedup();
    assert_eq!(
        texts.len(),
        corpus.len(),
        "duplicate messages in the corpus"
    );
}

#[test]
fn demo_model_is_deterministic_and_sensible() {
    let model = demo_model();
    assert_eq!(model.to_bytes(), demo_model().to_bytes());
    let cv = model
        .header()
        .cv
        .clone()
        .expect("demo model is cross-validated");
    assert!(cv.macro_f1 > 0.6, "{cv:?}");
    let cases = [
        ("小区门口的路灯晚上一直不亮，黑漆漆的", "0302"),
        ("工地半夜还在打桩施工，吵得睡不着", "0501"),
        ("老板拖欠我们三个月工资不发", "0701"),
        ("人行道上的井盖丢了，只剩一个大洞", "0301"),
    ];
    for (text, expected) in cases {
        assert_eq!(model.predict(text).label, expected, "{text}");
    }
}
