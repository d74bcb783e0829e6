use super::*;

#[test]
fn the_longest_place_suffix_wins_and_a_site_before_a_road_of_one_length() {
    // Every suffix against the plain scan of both lists it replaced.
    let naive = |token: &str| {
        let mut best: Option<(PlaceKind, &'static str)> = None;
        for (kind, list) in [
            (PlaceKind::Site, SITE_SUFFIXES),
            (PlaceKind::Road, ROAD_SUFFIXES),
        ] {
            for suffix in list {
                if token.ends_with(suffix) && best.is_none_or(|(_, s)| suffix.len() > s.len()) {
                    best = Some((kind, suffix));
                }
            }
        }
        best
    };
    let tokens = SITE_SUFFIXES
        .iter()
        .chain(ROAD_SUFFIXES)
        .flat_map(|s| [s.to_string(), format!("丽发{s}"), format!("{s}旁")])
        .chain(["", "路灯", "新村", "青山新村", "劳动东路", "三一大道", "x"].map(String::from));
    for token in tokens {
        assert_eq!(place_suffix(&token), naive(&token), "{token:?}");
    }
    assert_eq!(place_suffix("青山新村"), Some((PlaceKind::Site, "新村")));
}

#[test]
fn byte_containment_agrees_with_str_contains() {
    let words = [
        "",
        "丽",
        "丽发",
        "发新",
        "新城",
        "丽发新城",
        "a3",
        "区丽发",
        "城小区",
        "xin",
    ];
    for haystack in ["丽发新城", "A3区丽发新城小区", "xin城", ""] {
        for needle in words {
            assert_eq!(
                contains_bytes(haystack, needle),
                haystack.contains(needle),
                "{haystack:?} {needle:?}"
            );
        }
    }
}

#[test]
fn the_fast_alphanumeric_test_agrees_with_the_standard_one_on_every_character() {
    for c in (0..=0x10_FFFFu32).filter_map(char::from_u32) {
        assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
    }
}
