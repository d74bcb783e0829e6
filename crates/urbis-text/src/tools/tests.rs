//! Unit tests of `crate::tools`.

use crate::tools::{civil_from_days, days_from_civil, format_utc};

#[test]
fn utc_formatting_round_trips_dates() {
    assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_utc(1_582_934_400 + 3_661), "2020-02-29T01:01:01Z");
    for days in [-800_000, -1, 0, 59, 11_016, 18_321, 60_000] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
}

#[test]
fn examples_fall_back_to_the_next_text_columns_per_row() {
    use crate::tools::data::{Table, examples_from_table};
    let table = Table {
        headers: [
            "\u{feff}id",
            "留言主题",
            "留言详情",
            "raw_title_plus_detail",
            "一级标签",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows: vec![
            ["1", "路灯", "不亮了", "ignored", "城乡建设"]
                .map(str::to_owned)
                .to_vec(),
            ["2", "", "", "停水 三天", "城乡建设"]
                .map(str::to_owned)
                .to_vec(),
            ["3", "", "", "", "城乡建设"].map(str::to_owned).to_vec(),
            ["4", "没有标签", "", "", " "].map(str::to_owned).to_vec(),
        ],
    };
    let loaded = examples_from_table(&table, None, None).expect("auto columns");
    let texts: Vec<&str> = loaded.examples.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["路灯 不亮了", "停水 三天"]);
    assert_eq!(loaded.skipped, 2);
    let explicit =
        examples_from_table(&table, Some("留言详情,留言主题"), Some("一级标签")).expect("explicit");
    assert_eq!(explicit.examples[0].text, "不亮了 路灯");
    assert!(examples_from_table(&table, Some("正文"), None).is_err());
    assert!(examples_from_table(&table, None, Some("二级标签")).is_err());
}

#[test]
fn message_times_in_mixed_formats() {
    use crate::tools::dup::parse_time;
    let expected = 1_551_353_105; // 2019-02-28T11:25:05Z
    assert_eq!(parse_time("2019/2/28 11:25:05"), Some(expected));
    assert_eq!(parse_time("2019-02-28T11:25:05"), Some(expected));
    assert_eq!(parse_time("2019-02-28"), Some(expected - 41_105));
    assert_eq!(parse_time("43524.47575231"), Some(expected));
    assert_eq!(parse_time("昨天"), None);
    assert_eq!(parse_time("2019/13/01"), None);
}

#[test]
fn rows_fall_back_to_segmented_text_last() {
    use crate::tools::data::{Table, examples_from_table};
    let table = Table {
        headers: ["seg_text", "raw_title_plus_detail", "一级标签"]
            .map(str::to_owned)
            .to_vec(),
        rows: vec![
            ["路灯 不亮", "路灯不亮了", "城乡建设"]
                .map(str::to_owned)
                .to_vec(),
            ["停水 三天", "", "城乡建设"].map(str::to_owned).to_vec(),
        ],
    };
    let loaded = examples_from_table(&table, None, None).expect("auto columns");
    let texts: Vec<&str> = loaded.examples.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["路灯不亮了", "停水 三天"]);
}

#[test]
fn the_raw_holdout_split_tests_on_raw_text_and_trains_on_the_rest() {
    use crate::tools::data::Table;
    use crate::tools::holdout_split;
    let row = |cells: [&str; 4]| cells.map(str::to_owned).to_vec();
    let table = Table {
        headers: ["row_idx", "一级标签", "seg_text", "raw_title_plus_detail"]
            .map(str::to_owned)
            .to_vec(),
        rows: vec![
            row(["0", "城乡建设", "路灯 不亮", "路灯不亮了。"]),
            row(["1", "交通运输", "公交 绕行", ""]),
            row(["2", "", "没有 标签", ""]),
            row(["3", "教育文体", "", ""]),
            row(["4", "环境保护", "噪音 扰民", " "]),
        ],
    };
    let split = holdout_split(&table).expect("splits");
    let pairs = |examples: &[crate::classifier::Example]| {
        examples
            .iter()
            .map(|e| (e.label.clone(), e.text.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        pairs(&split.test),
        [("城乡建设".to_owned(), "路灯不亮了。".to_owned())]
    );
    assert_eq!(
        pairs(&split.train),
        [
            ("交通运输".to_owned(), "公交 绕行".to_owned()),
            ("环境保护".to_owned(), "噪音 扰民".to_owned())
        ]
    );
    assert_eq!(split.skipped, 2);

    let no_raw = Table {
        headers: ["一级标签", "seg_text"].map(str::to_owned).to_vec(),
        rows: vec![],
    };
    let error = holdout_split(&no_raw).expect_err("needs the raw column");
    assert!(
        error.to_string().contains("raw_title_plus_detail"),
        "{error}"
    );
    let only_train = Table {
        rows: vec![row(["1", "交通运输", "公交 绕行", ""])],
        ..table
    };
    assert!(holdout_split(&only_train).is_err());
}
