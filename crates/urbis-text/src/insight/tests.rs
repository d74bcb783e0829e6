use super::surge::{month_of, weekday_of};
use super::topics::district_of;
use super::*;
use crate::repeat::{IdfTable, RepeatProfile};
use crate::segment::Segmenter;

fn appeal(title: &str, text: &str, reporter: &str, day: i64, likes: u32) -> Appeal {
    Appeal {
        title: title.to_owned(),
        text: text.to_owned(),
        reporter: reporter.to_owned(),
        time: day * DAY + 36_000,
        likes,
    }
}

#[test]
fn topics_gather_one_problem_at_one_place_and_keep_others_apart() {
    let segmenter = Segmenter::new();
    let mut appeals = vec![
        appeal(
            "阳光小区门口夜市油烟扰民",
            "阳光小区门口的夜市烧烤油烟很大，晚上噪音扰民，请城管处理。",
            "u1",
            100,
            3,
        ),
        appeal(
            "阳光小区夜市烧烤油烟",
            "阳光小区门口夜市烧烤摊油烟和噪音严重扰民，希望取缔。",
            "u2",
            102,
            10,
        ),
        appeal(
            "投诉阳光小区门口烧烤",
            "每天晚上阳光小区门口烧烤摊油烟熏人，噪音到半夜。",
            "u3",
            105,
            0,
        ),
        appeal(
            "阳光小区夜市油烟",
            "阳光小区门口夜市油烟扰民问题还没有解决，烧烤摊照旧。",
            "u1",
            110,
            1,
        ),
        // Same words at another estate: a different topic.
        appeal(
            "幸福家园门口夜市油烟扰民",
            "幸福家园门口的夜市烧烤油烟很大，晚上噪音扰民，请城管处理。",
            "u4",
            101,
            0,
        ),
        appeal(
            "幸福家园烧烤油烟",
            "幸福家园门口夜市烧烤摊油烟和噪音严重扰民，希望取缔。",
            "u5",
            103,
            0,
        ),
        // Unrelated.
        appeal(
            "学校招生政策咨询",
            "请问今年小学招生划片的政策是什么，户口不在本区可以入学吗？",
            "u6",
            104,
            0,
        ),
    ];
    // Far outside the window: the same text a year later starts nothing with the first group.
    appeals.push(appeal(
        "阳光小区夜市油烟",
        "阳光小区门口夜市油烟扰民问题还没有解决，烧烤摊照旧。",
        "u7",
        500,
        0,
    ));
    let options = TopicOptions {
        as_of: 111 * DAY,
        ..TopicOptions::default()
    };
    let topics = find_topics(&appeals, &segmenter, &options);
    assert_eq!(topics.len(), 2, "{topics:#?}");
    let sunshine = &topics[0];
    assert_eq!(sunshine.members, vec![0, 1, 2, 3]);
    assert_eq!(sunshine.reporters, 3);
    assert_eq!(sunshine.likes, 14);
    assert_eq!(sunshine.active_days, 4);
    assert!(
        sunshine
            .place
            .as_deref()
            .is_some_and(|p| p.contains("阳光")),
        "{sunshine:?}"
    );
    assert!(
        sunshine.terms.iter().any(|t| t == "油烟" || t == "烧烤"),
        "{:?}",
        sunshine.terms
    );
    assert!((sunshine.attitude.repeated - 0.25).abs() < 1e-9);
    assert!(sunshine.attitude.negative > 0.5);
    assert_eq!(topics[1].members, vec![4, 5]);
    assert!(sunshine.heat.index > topics[1].heat.index);
}

#[test]
fn heat_index_follows_its_documented_formula() {
    let heat = Heat::of(
        &HeatInput {
            messages: 10,
            reporters: 5,
            likes: 100,
            active_days: 7,
            recent: 3,
            previous: 1,
        },
        &HeatWeights::default(),
    );
    // 100 × (0.30·0.5 + 0.25·0.5 + 0.20·0.5 + 0.15·0.5 + 0.10·0.5) = 50.
    assert!((heat.index - 50.0).abs() < 1e-9, "{heat:?}");
    let cold = Heat::of(&HeatInput::default(), &HeatWeights::default());
    assert_eq!(cold.index, 0.0);
    // More distinct reporters at the same volume is hotter.
    let one = Heat::of(
        &HeatInput {
            messages: 10,
            reporters: 1,
            ..HeatInput::default()
        },
        &HeatWeights::default(),
    );
    let many = Heat::of(
        &HeatInput {
            messages: 10,
            reporters: 8,
            ..HeatInput::default()
        },
        &HeatWeights::default(),
    );
    assert!(many.index > one.index);
}

#[test]
fn districts_are_found_without_mistaking_estates() {
    assert_eq!(
        district_of("A市A3区联丰路米兰春天").as_deref(),
        Some("A3区")
    );
    assert_eq!(
        district_of("长沙市岳麓区麓谷街道").as_deref(),
        Some("岳麓区")
    );
    assert_eq!(district_of("我们小区门口的社区医院"), None);
}

#[test]
fn calendar_helpers_agree_with_known_dates() {
    // 1970-01-01 was a Thursday; 2020-01-27 (day 18288) a Monday in January; 2019-12-31 (18261) a Tuesday.
    assert_eq!(weekday_of(0), 3);
    assert_eq!(weekday_of(18_288), 0);
    assert_eq!(month_of(18_288), 0);
    assert_eq!(month_of(18_261), 11);
    assert_eq!(weekday_of(18_261), 1);
}

#[test]
fn poisson_tail_matches_direct_sums() {
    assert_eq!(poisson_sf(0, 2.0), 1.0);
    // P(X ≥ 1) = 1 − e^−λ.
    assert!((poisson_sf(1, 2.0) - (1.0 - (-2.0f64).exp())).abs() < 1e-12);
    // P(X ≥ 5 | 2) = 1 − Σ_{i<5} e^−2 2^i / i! = 0.052653…
    assert!((poisson_sf(5, 2.0) - 0.052_653_017_343_711_1).abs() < 1e-9);
    // Far tail stays positive and tiny; a large mean works too.
    let far = poisson_sf(40, 2.0);
    assert!(far > 0.0 && far < 1e-25, "{far}");
    assert!((poisson_sf(100, 100.0) - 0.513_299).abs() < 1e-5);
}

#[test]
fn seasonality_is_fitted_from_timestamps() {
    // Two years of events: three on each Monday, one on other days, twice as many every day in July.
    let mut times = Vec::new();
    for day in 17_532..17_532 + 730 {
        let per_day =
            if weekday_of(day) == 0 { 3 } else { 1 } * if month_of(day) == 6 { 2 } else { 1 };
        for k in 0..per_day {
            times.push(day * DAY + k * 60);
        }
    }
    let fitted = Seasonality::fit(&times);
    assert!(fitted.weekday[0] > 2.2 * fitted.weekday[3], "{fitted:?}");
    assert!(fitted.month[6] > 1.8 * fitted.month[2], "{fitted:?}");
    let mean: f64 = fitted.weekday.iter().sum::<f64>() / 7.0;
    assert!((mean - 1.0).abs() < 1e-9);
    // Too short a span leaves the month profile flat.
    let short = Seasonality::fit(&times[..200]);
    assert_eq!(short.month, [1.0; 12]);
}

#[test]
fn the_detector_flags_a_surge_but_not_the_weekday_peak() {
    let seasonality = Seasonality {
        weekday: [2.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5],
        month: [1.0; 12],
    };
    let mut detector = SurgeDetector::new(SurgeOptions::default());
    let base = 4.0;
    let mut alarms = Vec::new();
    for day in 0..120i64 {
        let factor = seasonality.factor(day);
        // The expected count exactly, rounded: a calm series that doubles on Mondays.
        let mut count = (base * factor).round() as u32;
        if (100..103).contains(&day) {
            count += 12;
        }
        if detector.observe(count, factor).is_some() {
            alarms.push(day);
        }
    }
    assert_eq!(alarms.first(), Some(&100), "{alarms:?}");
    assert!(alarms.iter().all(|d| (100..105).contains(d)), "{alarms:?}");
    // The fixed rule at the series' mean alarms on every Monday.
    let fixed = FixedThreshold::for_mean(4.0);
    assert_eq!(fixed.threshold, 10);
    assert!(!fixed.alarms(8));
    assert!(fixed.alarms(10));
}

#[test]
fn replies_are_scored_with_reasons() {
    let segmenter = Segmenter::new();
    let appeal = "A3区景蓉华苑物业要征收停车费，业委会投票不公开，请求调查。";
    let mut idf = IdfTable::new();
    for text in [appeal, "某路路灯不亮", "学校招生咨询", "噪音扰民"] {
        idf.add_document(&RepeatProfile::build(&segmenter, "", text, None, None).words);
    }
    let good = score_reply(
        &ReplyInput {
            title: "",
            appeal,
            reply: "网友您好！经查，景蓉华苑停车费方案由业委会提出，按照《物业管理条例》规定须经业主大会表决。\
                    街道已责令物业暂停收取停车费，并指导业委会公开投票。如有疑问请联系街道办电话。感谢您的监督！",
            latency: Some(5 * 86_400),
        },
        &segmenter,
        &idf,
    );
    let weak = score_reply(
        &ReplyInput {
            title: "",
            appeal,
            reply: "此事请自行协商。",
            latency: Some(45 * 86_400),
        },
        &segmenter,
        &idf,
    );
    assert!(good.overall > 75.0, "{good:?}");
    assert!(weak.overall < 20.0, "{weak:?}");
    assert_eq!(good.timeliness, Some(1.0));
    assert_eq!(weak.timeliness, Some(0.0));
    for fragment in ["切题不足", "答复过短", "答复用时45天", "推诿"] {
        assert!(
            weak.reasons.iter().any(|r| r.contains(fragment)),
            "{fragment}: {:?}",
            weak.reasons
        );
    }
    assert!(good.reasons.is_empty(), "{:?}", good.reasons);
    let empty = score_reply(
        &ReplyInput {
            title: "",
            appeal,
            reply: " ",
            latency: None,
        },
        &segmenter,
        &idf,
    );
    assert_eq!(empty.overall, 0.0);
}
