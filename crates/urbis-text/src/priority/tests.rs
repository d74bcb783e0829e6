//! Unit tests of `crate::priority`.

use crate::priority::{Level, Priority, PriorityInput, score};

fn total(priority: &Priority) -> u32 {
    priority.factors.iter().map(|f| u32::from(f.points)).sum()
}

fn input(text: &str, severity: f32, duplicates: u32, repeats: u32) -> PriorityInput<'_> {
    PriorityInput {
        text,
        category_severity: severity,
        duplicate_count: duplicates,
        repeat_place_count: repeats,
    }
}

#[test]
fn factors_add_up_to_the_score() {
    let cases = [
        input(
            "楼道里燃气泄漏，有老人和孩子被困，非常危险，请紧急处理！",
            1.0,
            20,
            9,
        ),
        input("路边垃圾没人清理", 0.2, 0, 0),
        input("小区路灯不亮，学生晚上回家不安全", 0.4, 2, 1),
        input("", f32::NAN, 0, 0),
    ];
    for case in &cases {
        let priority = score(case);
        assert_eq!(total(&priority), u32::from(priority.score), "{priority:?}");
        assert!(priority.score <= 100);
        assert_eq!(priority.level, Level::of_score(priority.score));
    }
}

#[test]
fn gas_leak_with_trapped_elderly_is_urgent() {
    let priority = score(&input("楼道里燃气泄漏，有老人被困，请紧急处理", 0.9, 3, 2));
    assert_eq!(priority.level, Level::Urgent, "{priority:?}");
    let urgency = priority
        .factors
        .iter()
        .find(|f| f.code == "urgency_words")
        .expect("urgency factor");
    assert_eq!(urgency.points, 35);
    assert!(
        urgency.detail.contains("燃气泄漏") && !urgency.detail.split('、').any(|w| w == "燃气"),
        "{}",
        urgency.detail
    );
    assert!(
        priority
            .factors
            .iter()
            .any(|f| f.code == "vulnerable_people" && f.detail == "老人")
    );
}

#[test]
fn plain_complaint_is_low_and_negation_does_not_count() {
    assert_eq!(
        score(&input("门口的垃圾桶满了", 0.2, 0, 0)).level,
        Level::Low
    );
    let calm = score(&input(
        "这个问题不紧急，也没有危险，方便时处理即可",
        0.2,
        0,
        0,
    ));
    assert!(
        calm.factors.iter().all(|f| f.code != "urgency_words"),
        "{calm:?}"
    );
}

#[test]
fn duplicates_and_repeat_places_raise_the_score_with_caps() {
    let one = score(&input("路面有坑", 0.4, 1, 1));
    let many = score(&input("路面有坑", 0.4, 1000, 1000));
    assert!(many.score > one.score);
    let points = |p: &Priority, code: &str| {
        p.factors
            .iter()
            .find(|f| f.code == code)
            .map_or(0, |f| f.points)
    };
    assert_eq!(points(&one, "duplicates"), 5);
    assert_eq!(points(&many, "duplicates"), 15);
    assert_eq!(points(&many, "repeat_place"), 10);
}
