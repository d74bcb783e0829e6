use super::*;
use crate::repeat::index::MAX_SCORED;
use crate::segment::Segmenter;

const DAY: i64 = 86_400;

fn profile(title: &str, text: &str, reporter: Option<&str>, at: i64) -> RepeatProfile {
    RepeatProfile::build(Segmenter::shared_default(), title, text, reporter, Some(at))
}

fn street_light(reporter: Option<&str>, at: i64) -> RepeatProfile {
    profile(
        "丽景花园3栋门口路灯坏了",
        "丽景花园3栋门口的路灯已经坏了一个多星期，晚上一片漆黑，老人出门很不安全，请尽快修理。",
        reporter,
        at,
    )
}

fn street_light_reworded(reporter: Option<&str>, at: i64) -> RepeatProfile {
    profile(
        "丽景花园路灯一直没人修",
        "上周反映过的事情还是没有解决：丽景花园3栋那边的路灯到现在还不亮，天黑以后走路根本看不见，希望赶紧派人来修路灯。",
        reporter,
        at,
    )
}

fn fumes(estate: &str) -> RepeatProfile {
    profile(
        &format!("{estate}楼下餐馆油烟扰民"),
        &format!(
            "{estate}5栋楼下有几家餐馆，油烟严重影响居民生活，衣服晾在外面全是油烟味，晚上营业到凌晨，请相关部门处理。"
        ),
        None,
        1_000,
    )
}

#[test]
fn a_reworded_repeat_from_the_same_reporter_links() {
    let model = RepeatModel::default();
    let idf = IdfTable::new();
    let first = street_light(Some("13800000001"), 0);
    let again = street_light_reworded(Some("13800000001"), 5 * DAY);
    // Reworded: the character 3-gram similarity is far below the MinHash threshold of 0.5.
    assert!(first.signature.estimate(&again.signature) < 0.5);
    let explanation = model.compare(&again, &first, &idf);
    assert!(explanation.linked, "{}", explanation.render_zh());
    assert!(matches!(explanation.place, PlaceCheck::Agrees(ref name) if name.contains("丽景")));
    assert_eq!(explanation.value(Signal::SameReporter), 1.0);
    // Another reporter with the same words still links, with a lower score.
    let neighbour = model.compare(
        &street_light_reworded(Some("13900000002"), 5 * DAY),
        &first,
        &idf,
    );
    assert!(neighbour.score < explanation.score);
}

#[test]
fn a_template_complaint_about_another_estate_does_not_link() {
    let model = RepeatModel::default();
    let idf = IdfTable::new();
    let (here, there) = (fumes("丽景花园"), fumes("翠湖小区"));
    // Nearly the same text, posted the same second.
    assert!(here.signature.estimate(&there.signature) > 0.5);
    let explanation = model.compare(&here, &there, &idf);
    assert!(!explanation.linked, "{}", explanation.render_zh());
    assert!(matches!(explanation.place, PlaceCheck::Conflicts(..)));
    assert!(explanation.render_zh().starts_with("不合并：地点不同"));
    // The same template about the same estate is a repeat.
    assert!(model.compare(&here, &fumes("丽景花园"), &idf).linked);
}

#[test]
fn a_different_problem_at_the_same_place_does_not_link() {
    let model = RepeatModel::default();
    let idf = IdfTable::new();
    let light = street_light(None, 0);
    let parking = profile(
        "丽景花园地下车库收费太高",
        "丽景花园的物业把地下车库月租从200元涨到450元，没有公示也没有业主大会表决，请物价部门核查。",
        None,
        2 * DAY,
    );
    let explanation = model.compare(&parking, &light, &idf);
    assert!(!explanation.linked, "{}", explanation.render_zh());
}

#[test]
fn places_are_named_estates_schools_and_roads() {
    let segmenter = Segmenter::shared_default();
    let text = "我是A市暮云街道丽发新城小区的一名业主，小区旁边在建搅拌站，离枫林小学不到三百米，渣土车走万家丽南路。";
    let found = places(&segmenter.tag(text));
    let cores: Vec<&str> = found.iter().map(|p| p.core.as_str()).collect();
    assert!(cores.iter().any(|c| c.contains("丽发新城")), "{cores:?}");
    assert!(cores.iter().any(|c| c.contains("枫林")), "{cores:?}");
    assert!(
        found
            .iter()
            .any(|p| p.kind == PlaceKind::Road && p.core.contains("万家丽")),
        "{found:?}"
    );
    // Words that only look like places are not places.
    let none = places(&segmenter.tag("请政府相关部门尽快处理，该小区的问题由来已久。"));
    assert!(none.is_empty(), "{none:?}");
}

#[test]
fn a_profile_finds_the_places_of_the_whole_texts_tags() {
    // A profile tags only the words before place suffixes; among them words the dictionary lacks
    // (丽发, 万家丽), Latin codes (A3) and the particle of "魅力之城".
    let segmenter = Segmenter::shared_default();
    for (title, text) in [
        (
            "丽发新城小区旁搅拌站扰民",
            "我是A3区暮云街道丽发新城小区的一名业主，渣土车走万家丽南路，离枫林小学不到三百米。",
        ),
        (
            "",
            "魅力之城小区门口的路灯坏了，青山路口红绿灯也坏了两天了。",
        ),
        (
            "请尽快处理",
            "该小区的问题由来已久，南门地铁站出口共享单车堆成山。",
        ),
    ] {
        let whole = places(&segmenter.tag(&format!("{title}。{text}")));
        assert!(!whole.is_empty(), "{text}");
        let profile = RepeatProfile::build(segmenter, title, text, None, None);
        assert_eq!(profile.places, whole, "{text}");
    }
}

#[test]
fn stations_bookshops_and_junctions_are_places_and_keep_templates_apart() {
    let segmenter = Segmenter::shared_default();
    let named = |text: &str| places(&segmenter.tag(text));
    let station = named("南门地铁站出口共享单车堆成山，把盲道都堵住了。");
    assert!(
        station.iter().any(|p| p.core.contains("南门")),
        "{station:?}"
    );
    let junction = named("青山路口红绿灯坏了两天了。");
    assert!(
        junction
            .iter()
            .any(|p| p.kind == PlaceKind::Road && p.core.contains("青山")),
        "{junction:?}"
    );
    // One template about a station and about a bookshop: two places, never one problem.
    let model = RepeatModel::default();
    let at_station = profile(
        "",
        "南门地铁站门口共享单车乱停乱放，行人无法通过。",
        None,
        0,
    );
    let at_bookshop = profile("", "新华书店门口共享单车乱停乱放，行人无法通过。", None, 60);
    let explanation = model.compare(&at_bookshop, &at_station, &IdfTable::new());
    assert!(
        matches!(explanation.place, PlaceCheck::Conflicts(..)),
        "{}",
        explanation.render_zh()
    );
    assert!(!explanation.linked, "{}", explanation.render_zh());
}

#[test]
fn the_explanation_lists_every_signal_and_renders_in_chinese() {
    let model = RepeatModel::default();
    let first = street_light(Some("a"), 0);
    let again = street_light_reworded(Some("a"), DAY);
    let explanation = model.compare(&again, &first, &IdfTable::new());
    assert_eq!(explanation.contributions.len(), SIGNALS.len());
    let logit = explanation.base
        + explanation
            .contributions
            .iter()
            .map(|c| c.contribution)
            .sum::<f32>();
    assert!((1.0 / (1.0 + (-logit).exp()) - explanation.score).abs() < 1e-5);
    let text = explanation.render_zh();
    assert!(text.starts_with("判定为同一问题"), "{text}");
    assert!(
        text.contains("地点一致「") && text.contains("同一反映人"),
        "{text}"
    );
}

#[test]
fn idf_weighs_rare_words_more() {
    let mut idf = IdfTable::new();
    let (common, rare) = (hash_str("路灯"), hash_str("搅拌站"));
    for _ in 0..9 {
        idf.add_document(&[common]);
    }
    idf.add_document(&[common, rare]);
    assert!(idf.weight(rare) > idf.weight(common));
    assert!(idf.weight(hash_str("没见过")) > idf.weight(rare));
    assert_eq!(idf.documents(), 10);
}

#[test]
fn the_index_finds_the_reworded_repeat_in_its_partition_only() {
    let mut index: RepeatIndex<i64> = RepeatIndex::new(100, RepeatModel::default());
    index.insert(1, street_light(Some("r"), 0), "路灯", "g1", 0);
    index.insert(2, fumes("丽景花园"), "油烟", "g1", 0);
    index.insert(3, street_light(Some("r"), 0), "路灯", "g9", 0);
    let again = street_light_reworded(Some("r"), 3 * DAY);
    let found = index
        .best_repeat(&again, "路灯", &["g1", "g2"], 3 * DAY, 7 * DAY)
        .expect("linked");
    assert_eq!(found.id, 1);
    // Outside the window, in another category or at another place: nothing.
    assert!(
        index
            .best_repeat(&again, "路灯", &["g1"], 30 * DAY, 7 * DAY)
            .is_none()
    );
    assert!(
        index
            .best_repeat(&again, "油烟", &["g1"], 3 * DAY, 7 * DAY)
            .is_none()
    );
    assert!(
        index
            .best_repeat(&again, "路灯", &["g2"], 3 * DAY, 7 * DAY)
            .is_none()
    );
}

#[test]
fn the_index_forgets_evicted_profiles() {
    let mut index: RepeatIndex<i64> = RepeatIndex::new(2, RepeatModel::default());
    for id in 0..5 {
        index.insert(id, street_light(None, id), "路灯", "g", id);
    }
    assert_eq!(index.len(), 2);
    assert_eq!(index.idf().documents(), 5);
}

#[test]
fn a_re_post_without_any_named_place_still_links() {
    let model = RepeatModel::default();
    let text = "晚上十点以后楼下广场舞音响声音太大，孩子没法睡觉，老人也休息不好，希望管一管。";
    let first = profile("", text, None, 0);
    let again = profile("", &format!("{text}谢谢！"), None, DAY);
    let explanation = model.compare(&again, &first, &IdfTable::new());
    assert_eq!(explanation.place, PlaceCheck::Unnamed);
    assert!(explanation.linked, "{}", explanation.render_zh());
}

#[test]
fn a_retelling_in_the_same_words_links_below_the_threshold_unless_the_places_conflict() {
    let model = RepeatModel::default();
    // Little character overlap, no place, no reporter, weeks apart: the score stays low, but most
    // words, most key terms and both titles' problem are shared.
    let values = [0.1, 0.85, 0.3, 0.8, 0.0, 0.0, 0.0, 0.0, 0.6, 0.0];
    let retold = model.explain(values, PlaceCheck::Unnamed);
    assert!(retold.score < model.threshold, "score {}", retold.score);
    assert!(retold.linked);
    assert!(retold.render_zh().starts_with("判定为同一问题"));
    // The same words about another estate never link.
    let elsewhere = model.explain(
        values,
        PlaceCheck::Conflicts("森宇家园".into(), "魅力之城".into()),
    );
    assert!(!elsewhere.linked);
    // Short of any one of the three, the score decides.
    for (i, short) in [(1, 0.7), (3, 0.6), (8, 0.4)] {
        let mut less = values;
        less[i] = short;
        assert!(
            !model.explain(less, PlaceCheck::Unnamed).linked,
            "signal {i}"
        );
    }
}

#[test]
fn roads_named_by_verbs_and_estates_joined_by_zhi_are_places() {
    let segmenter = Segmenter::shared_default();
    let found = places(&segmenter.tag("A5区劳动东路魅力之城小区底层餐馆油烟扰民"));
    let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"劳动东路"), "{names:?}");
    assert!(names.contains(&"魅力之城"), "{names:?}");
    // Two copies of one complaint about these two estates are not one problem.
    let a = profile(
        "南湖路森宇家园餐馆油烟扰民",
        "南湖路森宇家园，5栋6栋有几家餐馆，油烟严重影响居民生活，晚上营业到凌晨3点。",
        None,
        0,
    );
    let b = profile(
        "劳动东路魅力之城小区底层餐馆油烟扰民",
        "劳动东路魅力之城小区，底层有几家餐馆，油烟严重影响居民生活，晚上营业到凌晨3点。",
        None,
        0,
    );
    let explanation = RepeatModel::default().compare(&a, &b, &IdfTable::new());
    assert!(
        matches!(explanation.place, PlaceCheck::Conflicts(..)),
        "{explanation:?}"
    );
    assert!(!explanation.linked);
}

#[test]
fn without_titles_the_title_signals_are_read_off_the_words_and_the_explanation_says_so() {
    // A hotline call has no title: a second call about the same full bin links to the first.
    let first = profile(
        "",
        "青山实验小学门口的垃圾桶满了三天没人清运，味道很大",
        None,
        0,
    );
    let again = profile(
        "",
        "青山实验小学门口垃圾桶满了好几天都没人来清运，臭味很大",
        None,
        60,
    );
    let explanation = RepeatModel::default().compare(&again, &first, &IdfTable::new());
    assert!(explanation.titles_from_text);
    assert_eq!(
        explanation.place,
        PlaceCheck::Agrees("青山实验小学".into()),
        "实验 (a nominal verb) is part of the school's name"
    );
    assert!(explanation.linked, "{}", explanation.render_zh());
    assert!(
        explanation
            .render_zh()
            .contains("标题重合（标题无足够实词，按全文）")
    );
    let value = |signal: Signal| explanation.value(signal);
    assert_eq!(value(Signal::TitleOverlap), value(Signal::WordOverlap));
    assert_eq!(value(Signal::TitlesCovered), value(Signal::WordOverlap));
}

#[test]
fn an_agreeing_place_counts_the_titles_coverage_again_and_districts_are_not_problem_words() {
    // One passage of one estate, five days apart: air-conditioner units in it, then a flue. Titles
    // share the district, the estate and the passage; the district is not a problem word.
    let units = profile(
        "A3区青青家园小区公共通道摆放空调外机扰民",
        "青青家园小区一楼商铺在公共通道摆放空调和冰柜外机，从早到晚轰响，严重影响考生复习和业主休息。",
        None,
        0,
    );
    let flue = profile(
        "A3区青青家园小区公共通道被架了烟道",
        "青青家园小区一家早餐店在公共通道里擅自破墙架设油烟管道，存在火灾隐患，请有关部门查处。",
        None,
        5 * DAY,
    );
    assert!(!units.title_words.contains(&hash_str("a3")));
    let model = RepeatModel::default();
    let explanation = model.compare(&flue, &units, &IdfTable::new());
    assert_eq!(explanation.place, PlaceCheck::Agrees("青青家园".into()));
    let value = |signal: Signal| explanation.value(signal);
    // With the place agreeing, the title coverage counts twice. (This pair still links: the place,
    // five days and a shared passage outweigh a coverage of a third — the held-out part's
    // remaining false links look like this, see tests/data/README.md.)
    assert_eq!(value(Signal::PlaceAndTitles), value(Signal::TitlesCovered));
    assert!(value(Signal::TitlesCovered) < 0.5);
    assert!(explanation.render_zh().contains("同地且标题问题互见"));
    // The same titles' coverage with no place agreeing is not counted again.
    let elsewhere = model.compare(&flue, &fumes("丽发新城"), &IdfTable::new());
    assert_eq!(elsewhere.value(Signal::PlaceAndTitles), 0.0);
}

#[test]
fn the_index_never_returns_a_case_naming_another_place_and_ties_go_to_the_most_recent() {
    let mut index: RepeatIndex<i64> = RepeatIndex::new(100, RepeatModel::default());
    index.insert(1, fumes("翠湖苑"), "油烟", "g", 0);
    index.insert(2, fumes("丽景花园"), "油烟", "g", 10);
    index.insert(3, fumes("丽景花园"), "油烟", "g", 20);
    // However low the bar, the other estate's case is not even a suggestion.
    let found = index.matches(
        &fumes("丽景花园"),
        "油烟",
        &["g"],
        30,
        DAY,
        f32::NEG_INFINITY,
    );
    let ids: Vec<i64> = found.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![3, 2], "the same score: the more recent first");
}

#[test]
fn a_busy_partition_keeps_the_most_similar_candidates_to_score() {
    let mut index: RepeatIndex<i64> = RepeatIndex::new(5_000, RepeatModel::default());
    // The oldest case is the one repeated; then more cases at the same estate than are scored.
    index.insert(1, street_light(None, 0), "路灯", "g", 0);
    for id in 2..(MAX_SCORED as i64 + 20) {
        let other = profile(
            "丽景花园楼道堆放杂物",
            &format!("丽景花园{id}栋楼道里堆满了纸箱和旧家具，影响通行和消防安全。"),
            None,
            id,
        );
        index.insert(id, other, "路灯", "g", id);
    }
    let again = street_light(None, DAY);
    let found = index.matches(&again, "路灯", &["g"], DAY, 7 * DAY, f32::NEG_INFINITY);
    assert_eq!(found.len(), MAX_SCORED, "at most MAX_SCORED are scored");
    assert_eq!(
        found[0].id, 1,
        "the most similar by MinHash is kept, however old"
    );
    assert!(found[0].explanation.linked);
}

#[test]
fn key_terms_are_the_highest_idf_words_ties_to_the_smaller_hash() {
    let mut rng = crate::rng::SplitMix64::new(23);
    // A corpus where words repeat a lot, so many words share one weight.
    let mut idf = IdfTable::new();
    for _ in 0..200 {
        let document: Vec<u64> = (0..6).map(|_| rng.below(40) as u64).collect();
        idf.add_document(&document);
    }
    for size in [0, 1, 5, 8, 9, 30, 60] {
        let mut words: Vec<u64> = (0..size).map(|_| rng.below(60) as u64).collect();
        words.sort_unstable();
        words.dedup();
        let mut naive: Vec<(f32, u64)> = words.iter().map(|&w| (idf.weight(w), w)).collect();
        naive.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        let expected: Vec<u64> = naive.iter().take(KEY_TERMS).map(|&(_, w)| w).collect();
        let keys = key_terms(&words, &idf);
        assert_eq!(keys.words().collect::<Vec<_>>(), expected, "{size} words");
        assert_eq!(keys.len(), words.len().min(KEY_TERMS));
    }
}

#[test]
fn shared_title_words_count_as_topical_only_when_each_title_is_found_in_the_other_text() {
    let model = RepeatModel::default();
    let place = PlaceCheck::Agrees("青青家园".to_owned());
    // Two titles about one estate sharing 公共通道 and 扰民, texts sharing a tenth of their words,
    // a fifth of one title's words found in the other text: the place and the time would carry
    // the score over the line.
    let mut values = [0.05, 0.12, 0.6, 0.0, 1.0, 0.0, 0.0, 0.8, 0.18, 0.18];
    let (score, linked) = model.verdict(&values, &place);
    assert!(score >= model.threshold, "{score}");
    assert!(!linked);
    // Each title's problem found in the other text makes the titles' words evidence again.
    values[8] = 0.3;
    values[9] = 0.3;
    assert!(model.verdict(&values, &place).1);
    // A quarter of the texts' words needs neither.
    values[8] = 0.0;
    values[9] = 0.0;
    values[1] = 0.25;
    assert!(model.verdict(&values, &place).1);
}

#[test]
fn the_words_of_petitions_are_not_problem_words() {
    let hashes = |words: &[&str]| {
        let mut hashes: Vec<u64> = words.iter().map(|w| hash_str(w)).collect();
        hashes.sort_unstable();
        hashes
    };
    assert_eq!(
        content_words(&[
            "加快", "医疗", "诊所", "监督", "力度", "有何", "具体", "行动"
        ]),
        hashes(&["医疗", "诊所", "监督"])
    );
    // One petitioner's template about two problems at one estate, a day apart: what is left
    // in common is the place and the template's request, which is not a problem.
    let model = RepeatModel::default();
    let idf = IdfTable::new();
    let clinics = profile(
        "请A市加大私人诊所监督力度",
        "时代倾城小区沿街私人诊所自制药品，无证打点滴，在国家大力倡导的大背景下，希望市委市政府加快行动，有何具体行动？",
        Some("A00031618"),
        0,
    );
    let food = profile(
        "请A市加大食品安全整治力度",
        "时代倾城小区门口小摊小贩乱搭乱建，食品安全问题频发，在国家大力倡导的大背景下，希望市委市政府加快行动，有何具体行动？",
        Some("A00031618"),
        DAY,
    );
    let explanation = model.compare(&food, &clinics, &idf);
    assert!(matches!(explanation.place, PlaceCheck::Agrees(_)));
    assert!(!explanation.linked, "{}", explanation.render_zh());
}

#[test]
fn a_title_of_one_word_is_read_as_no_title() {
    let model = RepeatModel::default();
    let idf = IdfTable::new();
    // Once the places, districts and petition words are left out, the park's title is "建设",
    // a word of the other title: all of the shorter title would be shared.
    let crossing = profile(
        "请A市加快一圈二场三道建设力度",
        "桃花井社区周边杂草丛生，连一个人行道都没有，行人走在马路中间，交通事故频发。",
        None,
        0,
    );
    let park = profile(
        "咨询A4区洪山公园建设问题",
        "洪山公园规划了十几年，到底什么时候开工？",
        None,
        DAY,
    );
    assert_eq!(park.title_words, [hash_str("建设")]);
    assert!(crossing.title_words.contains(&hash_str("建设")));
    let explanation = model.compare(&park, &crossing, &idf);
    assert!(explanation.titles_from_text);
    assert_eq!(
        explanation.value(Signal::TitleOverlap),
        explanation.value(Signal::WordOverlap)
    );
    assert!(explanation.value(Signal::TitleOverlap) < 0.25);
    assert!(!explanation.linked, "{}", explanation.render_zh());
}
