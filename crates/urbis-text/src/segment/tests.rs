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

#[test]
fn words_the_dictionary_lacks_are_tagged_unknown() {
    // "周基" (a snack bar's name) and "破墙" are not in jieba's dictionary: its HMM cuts them out
    // and jieba would guess "nr" and "n"; the place finder reads them as unknown words.
    let tagged = Segmenter::shared_default().tag("周基小吃在公共通道里擅自破墙");
    assert!(tagged.contains(&("周基", "x")), "{tagged:?}");
    assert!(tagged.contains(&("破墙", "x")), "{tagged:?}");
    // Words it knows keep their tags.
    assert!(tagged.contains(&("小吃", "n")), "{tagged:?}");
    assert!(tagged.contains(&("擅自", "d")), "{tagged:?}");
}

#[test]
fn a_word_alone_takes_the_tag_it_has_in_a_text() {
    let segmenter = Segmenter::shared_default();
    let text = "周基小吃在A3区公共通道里擅自破墙";
    let tagged = segmenter.tag(text);
    assert!(tagged.len() > 5, "{tagged:?}");
    for (word, tag) in &tagged {
        assert_eq!(segmenter.word_tag(word), Some(*tag), "{word}");
    }
    assert_eq!(segmenter.word_tag("周基"), Some("x"));
}
