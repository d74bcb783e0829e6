//! Unit tests of `crate::segment`.

use crate::segment::Segmenter;

#[test]
fn user_words_stay_whole() {
    let text = "阳光小区东门幸福路口的井盖丢了";
    let plain = Segmenter::new();
    let custom = Segmenter::with_user_words(&["阳光小区", "幸福路口", "  "]);
    assert!(
        custom.cut(text).contains(&"阳光小区"),
        "{:?}",
        custom.cut(text)
    );
    assert!(
        custom.cut(text).contains(&"幸福路口"),
        "{:?}",
        custom.cut(text)
    );
    assert!(
        !plain.cut(text).contains(&"幸福路口"),
        "{:?}",
        plain.cut(text)
    );
    assert_eq!(custom.user_words(), ["阳光小区", "幸福路口"]);
}

#[test]
fn cut_covers_text_and_words_drop_punctuation() {
    let text = "路灯不亮了！ 请尽快维修。";
    let segmenter = Segmenter::shared_default();
    assert_eq!(segmenter.cut(text).concat(), text);
    let words = segmenter.words(text);
    assert!(
        words.iter().all(|w| w.chars().any(char::is_alphanumeric)),
        "{words:?}"
    );
    assert!(words.contains(&"维修"), "{words:?}");
}
