//! The tipdm2020c message-board data: classification quality, duplicate linking and PII masking on real text.

use urbis_text::classifier::{Example, HyperParams, Model, TrainOptions};
use urbis_text::dedup::{DedupIndex, Signature, fingerprint};
use urbis_text::eval::{cross_validate, evaluate};
use urbis_text::pii;

use crate::{read_csv, shared_data};

fn column(headers: &[String], name: &str) -> usize {
    headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} in {headers:?}"))
}

#[test]
fn cross_validated_macro_f1_on_the_dev_set_is_sane() {
    let Some(path) = shared_data("tipdm2020c/DEV_messages_labeled_raw_2881.csv") else {
        return;
    };
    let (headers, rows) = read_csv(&path);
    let (text, label) = (
        column(&headers, "raw_title_plus_detail"),
        column(&headers, "一级标签"),
    );
    let examples: Vec<Example> = rows
        .iter()
        .filter(|row| !row[text].trim().is_empty())
        .map(|row| Example {
            text: row[text].clone(),
            label: row[label].clone(),
        })
        .collect();
    assert_eq!(examples.len(), 2881);
    // No inner calibration folds: this checks classification quality and keeps the debug-build test short.
    let options = TrainOptions {
        hyper: HyperParams::recommended(),
        folds: 0,
        user_words: Vec::new(),
        source: "DEV_messages_labeled_raw_2881.csv".to_owned(),
        created: "test".to_owned(),
    };
    let cv = cross_validate(&examples, &options, 3, &mut |_, _| {}).expect("cross-validates");
    println!("{}", cv.metrics.report());
    assert!(
        cv.metrics.macro_f1 > 0.8,
        "macro-F1 {}",
        cv.metrics.macro_f1
    );
    assert!(
        cv.metrics.accuracy > 0.8,
        "accuracy {}",
        cv.metrics.accuracy
    );
}

#[test]
fn hotspot_re_posts_are_linked_and_only_within_their_partition() {
    let Some(path) = shared_data("tipdm2020c/hotspot_messages_附件3.csv") else {
        return;
    };
    let (headers, rows) = read_csv(&path);
    let (title, detail) = (column(&headers, "留言主题"), column(&headers, "留言详情"));
    let texts: Vec<String> = rows
        .iter()
        .map(|row| format!("{} {}", row[title], row[detail]))
        .collect();
    let mut index: DedupIndex<usize> = DedupIndex::new(texts.len(), 0.5);
    let mut exact = 0;
    let mut linked = 0;
    for (i, text) in texts.iter().enumerate() {
        let signature = Signature::of(text);
        let found = index.candidates_for(&signature, "all", &["all"], 0, 1);
        if found
            .iter()
            .any(|&(j, _)| fingerprint(&texts[j]) == signature.fingerprint)
        {
            exact += 1;
        }
        linked += usize::from(!found.is_empty());
        // The same text under another category must never be returned.
        assert!(
            index
                .candidates_for(&signature, "other", &["all"], 0, 1)
                .is_empty()
        );
        index.insert_signature(i, signature, "all", "all", 0);
    }
    println!("exact re-posts {exact}, linked at estimated Jaccard >= 0.5: {linked}");
    assert!(exact >= 30, "{exact}");
    assert!(linked > exact && linked < texts.len() / 5, "{linked}");
}

#[test]
fn self_introduced_names_in_real_messages_are_masked() {
    let Some(path) = shared_data("tipdm2020c/hotspot_messages_附件3.csv") else {
        return;
    };
    let (headers, rows) = read_csv(&path);
    let detail = column(&headers, "留言详情");
    let mut introduced = 0;
    let mut masked = 0;
    for row in &rows {
        let text = &row[detail];
        for span in pii::detect(text) {
            assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        }
        if let Some(at) = text.find("我叫") {
            let next = text[at + "我叫".len()..].chars().next();
            if next.is_some_and(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
                introduced += 1;
                masked += usize::from(!pii::mask(text).contains(&text[at..at + "我叫".len() + 6]));
            }
        }
    }
    println!("messages with 我叫 + Han character: {introduced}, masked: {masked}");
    assert!(
        introduced >= 10 && masked * 10 >= introduced * 8,
        "{masked} of {introduced}"
    );
}

/// The product's situation: trained on the pre-segmented, stop-word-stripped rows of the 8,230-message set,
/// tested on the raw text of the 2,881 others (the `raw-holdout` protocol of `urbis bench classify`).
#[test]
fn trained_on_segmented_text_it_classifies_unseen_raw_text() {
    let Some(path) =
        shared_data("tipdm2020c/DEV_messages_labeled_8230_segmented_plus_raw_where_known.csv")
    else {
        return;
    };
    let (headers, rows) = read_csv(&path);
    let (segmented, raw, label) = (
        column(&headers, "seg_text"),
        column(&headers, "raw_title_plus_detail"),
        column(&headers, "一级标签"),
    );
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for row in &rows {
        let (part, text) = if row[raw].trim().is_empty() {
            (&mut train, &row[segmented])
        } else {
            (&mut test, &row[raw])
        };
        part.push(Example {
            text: text.clone(),
            label: row[label].clone(),
        });
    }
    assert_eq!((train.len(), test.len()), (5349, 2881));
    let options = TrainOptions {
        hyper: HyperParams::recommended(),
        folds: 3,
        user_words: Vec::new(),
        source: "seg_text rows of the 8,230 set".to_owned(),
        created: "test".to_owned(),
    };
    let model = Model::train(&train, &options).expect("trains");
    let metrics = evaluate(&model, &test);
    println!("{}", metrics.report());
    assert!(metrics.macro_f1 > 0.85, "macro-F1 {}", metrics.macro_f1);
    assert!(metrics.ece < 0.1, "ECE {}", metrics.ece);
    // Every class is learnt, the smallest included.
    for label in &metrics.per_label {
        assert!(label.f1 > 0.75, "{label:?}");
    }
}

#[test]
fn masker_on_real_messages_takes_no_quantities_and_hides_planted_data() {
    let Some(path) = shared_data("tipdm2020c/hotspot_messages_附件3.csv") else {
        return;
    };
    let (headers, rows) = read_csv(&path);
    let (title, detail) = (column(&headers, "留言主题"), column(&headers, "留言详情"));
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut bad = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let text = format!("{} {}", row[title], row[detail]);
        for span in pii::detect(&text) {
            *kinds.entry(span.kind.as_str()).or_default() += 1;
            let covered = &text[span.start..span.end];
            let after = text[span.end..].chars().next().unwrap_or(' ');
            // A span is never a quantity, a date part or one of the data set's own 0000-00000000 placeholders.
            let placeholder = covered.chars().all(|c| matches!(c, '0' | '-' | ' '));
            let ends_in_digit = covered
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_digit());
            if placeholder || (ends_in_digit && "元万亿年月日时分秒㎡%次人户个".contains(after))
            {
                bad.push(format!(
                    "{:?} in {:?}",
                    covered,
                    &text[span.start.saturating_sub(30)..]
                ));
            }
        }
        // A phone, an ID and a plate planted into every tenth message are found there.
        if n % 10 == 0 {
            let planted =
                format!("{text}，我的电话139 1234 5678，身份证440301199003071231，车牌湘A·54321。");
            let masked = pii::mask(&planted);
            let tail = &masked[masked.rfind("，我的电话").expect("planted text kept")..];
            for secret in ["1234", "199003071", "5432"] {
                assert!(!tail.contains(secret), "{tail}");
            }
        }
    }
    println!("spans per kind in {} real messages: {kinds:?}", rows.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
