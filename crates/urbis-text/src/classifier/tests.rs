//! Unit tests of `crate::classifier`.

use crate::TextError;
use crate::classifier::{Example, HyperParams, Model, TrainOptions};

/// A small synthetic set: three labels with distinct vocabulary, varied places and fillers.
fn synthetic() -> Vec<Example> {
    let places = [
        "幸福路",
        "阳光小区",
        "东湖社区",
        "人民路",
        "光明街",
        "翠苑小区",
        "滨河路",
        "新华街",
    ];
    let topics: [(&str, [&str; 3]); 3] = [
        (
            "water",
            [
                "自来水管爆了一直漏水",
                "停水两天了没有水用",
                "水龙头流出来的水发黄",
            ],
        ),
        (
            "light",
            ["路灯坏了晚上不亮", "路灯一闪一闪的", "路灯整夜不亮很黑"],
        ),
        (
            "noise",
            ["工地半夜施工噪音很大", "广场舞音响太吵", "酒吧音乐噪音扰民"],
        ),
    ];
    let mut examples = Vec::new();
    for (label, phrases) in topics {
        for (i, place) in places.iter().enumerate() {
            for (j, phrase) in phrases.iter().enumerate() {
                if (i + j) % 2 == 0 {
                    examples.push(Example {
                        text: format!("{place}{phrase}，请尽快处理。"),
                        label: label.to_owned(),
                    });
                }
            }
        }
    }
    examples
}

fn options(folds: u32) -> TrainOptions {
    TrainOptions {
        hyper: HyperParams::recommended(),
        folds,
        user_words: Vec::new(),
        source: "synthetic".to_owned(),
        created: "2020-01-01T00:00:00Z".to_owned(),
    }
}

#[test]
fn learns_a_separable_set_with_calibrated_confidence() {
    let examples = synthetic();
    let model = Model::train(&examples, &options(3)).expect("trains");
    assert_eq!(model.labels(), ["light", "noise", "water"]);
    for (text, expected) in [
        ("和平路的路灯不亮了", "light"),
        ("楼上工地噪音太吵了", "noise"),
        ("家里停水了，水管漏水", "water"),
    ] {
        let prediction = model.predict(text);
        assert_eq!(prediction.label, expected, "{text}: {prediction:?}");
        assert!(
            prediction.confidence > 0.5 && prediction.confidence <= 1.0,
            "{prediction:?}"
        );
        assert_eq!(prediction.top.len(), 3);
        assert_eq!(
            prediction.top[0],
            (prediction.label.clone(), prediction.confidence)
        );
        assert!(prediction.top.windows(2).all(|w| w[0].1 >= w[1].1));
    }
    let probabilities = model.probabilities("路灯");
    assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    let header = model.header();
    assert_eq!(header.calibration.method, "temperature");
    assert!(header.calibration.temperature > 0.0);
    let cv = header.cv.as_ref().expect("cv metrics");
    assert!(cv.macro_f1 > 0.9, "{cv:?}");
    assert_eq!(header.training.rows, examples.len());
    assert_eq!(
        header.training.label_counts.values().sum::<usize>(),
        examples.len()
    );
    assert_eq!(header.training.sha256.len(), 64);
}

#[test]
fn training_is_deterministic_and_round_trips_through_bytes() {
    let examples = synthetic();
    let model = Model::train(&examples, &options(0)).expect("trains");
    assert_eq!(model.header().calibration.method, "none");
    assert!(model.header().cv.is_none());
    let bytes = model.to_bytes();
    assert_eq!(
        bytes,
        Model::train(&examples, &options(0))
            .expect("trains")
            .to_bytes()
    );
    assert!(bytes.starts_with(b"urbis-text-model\n{"));
    let loaded = Model::from_bytes(&bytes).expect("loads");
    assert_eq!(loaded.header(), model.header());
    assert_eq!(loaded.to_bytes(), bytes);
    for text in ["路灯不亮", "噪音", "漏水", "完全无关的一句话"] {
        assert_eq!(loaded.margins(text), model.margins(text), "{text}");
    }
}

#[test]
fn large_hash_spaces_use_the_indexed_layout_and_round_trip() {
    let mut options = options(0);
    // 2^20 buckets × 4 values is above the dense limit.
    options.hyper.features.hash_bits = 20;
    let model = Model::train(&synthetic(), &options).expect("trains");
    assert_eq!(model.predict("路灯坏了").label, "light");
    let loaded = Model::from_bytes(&model.to_bytes()).expect("loads");
    assert_eq!(loaded.margins("工地噪音"), model.margins("工地噪音"));
    assert!(
        model.header().weights.rows < 5_000,
        "{:?}",
        model.header().weights
    );
}

#[test]
fn loading_rejects_other_versions_and_corruption() {
    let bytes = Model::train(&synthetic(), &options(0))
        .expect("trains")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let newline = text.find('\n').expect("magic line") + 1;
    let header_end = newline + text[newline..].find('\n').expect("header line");
    let header = &text[newline..header_end];

    let future = header.replace("\"format_version\":1", "\"format_version\":2");
    let mut changed = bytes[..newline].to_vec();
    changed.extend_from_slice(future.as_bytes());
    changed.extend_from_slice(&bytes[header_end..]);
    let error = Model::from_bytes(&changed).expect_err("version 2 is rejected");
    assert!(
        matches!(
            error,
            TextError::UnsupportedVersion {
                found: 2,
                supported: 1
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "unsupported model format version 2; this build reads version 1"
    );

    assert!(matches!(
        Model::from_bytes(b"PK\x03\x04 not a model"),
        Err(TextError::NotAModel)
    ));
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    assert!(matches!(
        Model::from_bytes(&flipped),
        Err(TextError::CorruptModel(_))
    ));
    assert!(matches!(
        Model::from_bytes(&bytes[..bytes.len() - 3]),
        Err(TextError::CorruptModel(_))
    ));
    let mut bad_json = bytes[..newline].to_vec();
    bad_json.extend_from_slice(b"{not json\n");
    assert!(matches!(
        Model::from_bytes(&bad_json),
        Err(TextError::Header(_))
    ));
}

#[test]
fn bad_input_gets_clear_errors() {
    assert!(matches!(
        Model::train(&[], &options(0)),
        Err(TextError::NoExamples)
    ));
    let one_label = vec![
        Example {
            text: "路灯".to_owned(),
            label: "a".to_owned()
        };
        3
    ];
    assert!(matches!(
        Model::train(&one_label, &options(0)),
        Err(TextError::TooFewLabels { found: 1 })
    ));
    let mut bad = options(0);
    bad.hyper.features.hash_bits = 30;
    let error = Model::train(&synthetic(), &bad).expect_err("invalid");
    assert_eq!(
        error.to_string(),
        "invalid option hash_bits: must be between 10 and 24"
    );
    let mut bad = options(0);
    bad.hyper.c = -1.0;
    assert!(matches!(
        Model::train(&synthetic(), &bad),
        Err(TextError::InvalidOption { name: "c", .. })
    ));
    assert!(matches!(
        Model::train(&synthetic(), &options(1)),
        Err(TextError::InvalidOption { name: "folds", .. })
    ));
}
