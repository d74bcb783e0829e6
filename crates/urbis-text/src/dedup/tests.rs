//! Unit tests of `crate::dedup`.

use crate::dedup::{DedupIndex, Signature, fingerprint, normalize, similarity};

const ORIGINAL: &str = "幸福路与阳光大道交叉口东侧人行道上的井盖缺失已经一个星期了，晚上路过的行人很容易踩空摔倒，请尽快安排维修。";
const EDITED: &str = "幸福路与阳光大道交叉口东侧人行道的井盖缺失已经一个多星期了！！晚上路过行人很容易踩空摔倒，请相关部门尽快安排维修";
const OTHER: &str =
    "阳光小区三号楼楼下的烧烤摊每天晚上营业到凌晨两点，油烟和噪音严重影响居民休息。";

#[test]
fn normalisation_ignores_spacing_punctuation_width_and_case() {
    assert_eq!(normalize("Ａ市 A3区，幸福路！"), "a市a3区幸福路");
    assert_eq!(fingerprint("路灯不亮 。"), fingerprint("路灯不亮"));
    assert_ne!(fingerprint("路灯不亮"), fingerprint("路灯很亮"));
}

#[test]
fn similarity_is_jaccard_of_char_trigrams() {
    assert_eq!(similarity(ORIGINAL, ORIGINAL), 1.0);
    assert_eq!(similarity("", ""), 1.0);
    assert_eq!(similarity("abcd", "abce"), 1.0 / 3.0);
    let edited = similarity(ORIGINAL, EDITED);
    assert!(edited > 0.6 && edited < 1.0, "{edited}");
    assert!(similarity(ORIGINAL, OTHER) < 0.1);
    let estimate = Signature::of(ORIGINAL).estimate(&Signature::of(EDITED));
    assert!(
        (estimate - edited).abs() < 0.2,
        "estimate {estimate} vs exact {edited}"
    );
}

#[test]
fn finds_an_edited_repost_in_the_same_category_and_place() {
    let mut index = DedupIndex::new(100, 0.5);
    index.insert(1u32, ORIGINAL, "0301", "grid-7", 1_000);
    index.insert(2, OTHER, "0301", "grid-7", 1_100);
    let found = index.candidates(EDITED, "0301", &["grid-7", "grid-8"], 2_000, 86_400);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 1);
    assert!(found[0].1 >= 0.5);
    // An exact re-post (different punctuation) scores 1.
    let exact = index.candidates("幸福路与阳光大道交叉口东侧人行道上的井盖缺失已经一个星期了 晚上路过的行人很容易踩空摔倒 请尽快安排维修", "0301", &["grid-7"], 2_000, 86_400);
    assert_eq!(exact, vec![(1, 1.0)]);
}

#[test]
fn never_returns_another_category_or_an_unlisted_place() {
    let mut index = DedupIndex::new(100, 0.0);
    index.insert("same", ORIGINAL, "0301", "grid-7", 1_000);
    index.insert("other-category", ORIGINAL, "0302", "grid-7", 1_000);
    index.insert("unlisted-place", ORIGINAL, "0301", "grid-9", 1_000);
    index.insert("adjacent", ORIGINAL, "0301", "grid-8", 1_000);
    index.insert("too-old", ORIGINAL, "0301", "grid-7", 10);
    let found = index.candidates(
        ORIGINAL,
        "0301",
        &["grid-7", "grid-8", "grid-7"],
        2_000,
        1_500,
    );
    let mut ids: Vec<&str> = found.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["adjacent", "same"]);
    assert!(
        index
            .candidates(ORIGINAL, "0999", &["grid-7"], 2_000, 1_500)
            .is_empty()
    );
    assert!(
        index
            .candidates(ORIGINAL, "0301", &[], 2_000, 1_500)
            .is_empty()
    );
}

#[test]
fn capacity_evicts_the_oldest_first() {
    let mut index = DedupIndex::new(3, 0.9);
    for id in 0..5u32 {
        index.insert(
            id,
            ORIGINAL,
            if id % 2 == 0 { "a" } else { "b" },
            "p",
            i64::from(id),
        );
    }
    assert_eq!(index.len(), 3);
    let mut ids: Vec<u32> = index
        .candidates(ORIGINAL, "a", &["p"], 10, 100)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    ids.extend(
        index
            .candidates(ORIGINAL, "b", &["p"], 10, 100)
            .into_iter()
            .map(|(id, _)| id),
    );
    ids.sort_unstable();
    assert_eq!(ids, [2, 3, 4]);
}
