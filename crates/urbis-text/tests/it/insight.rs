//! 民情 insight on real data: hot spots of the 附件3 messages, reply quality of 附件4, and the surge benchmark's
//! acceptance figures on the profile fitted from real timestamps.

use urbis_text::insight::{Appeal, ReplyInput, TopicOptions, find_topics, score_reply};
use urbis_text::repeat::{IdfTable, RepeatProfile};
use urbis_text::segment::Segmenter;

use crate::{read_csv, shared_data};

fn column(headers: &[String], name: &str) -> usize {
    headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} in {headers:?}"))
}

/// Parses `2019/2/28 11:25:05` to seconds since 1970 (enough for these files).
fn seconds(text: &str) -> Option<i64> {
    let (date, time) = text
        .trim()
        .split_once(' ')
        .unwrap_or((text.trim(), "0:0:0"));
    let d: Vec<i64> = date
        .split(['/', '-'])
        .filter_map(|p| p.parse().ok())
        .collect();
    let t: Vec<i64> = time.split(':').filter_map(|p| p.parse().ok()).collect();
    let [y, m, day] = d[..] else { return None };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + t.first().unwrap_or(&0) * 3600 + t.get(1).unwrap_or(&0) * 60)
}

#[test]
fn hot_spots_of_the_message_board_are_real_topics() {
    let Some(path) = shared_data("tipdm2020c/hotspot_messages_附件3.csv") else {
        return;
    };
    let (headers, rows) = read_csv(&path);
    let (title, detail, user, time, likes) = (
        column(&headers, "留言主题"),
        column(&headers, "留言详情"),
        column(&headers, "留言用户"),
        column(&headers, "留言时间"),
        column(&headers, "点赞数"),
    );
    let appeals: Vec<Appeal> = rows
        .iter()
        .filter_map(|row| {
            Some(Appeal {
                title: row[title].clone(),
                text: row[detail].clone(),
                reporter: row[user].clone(),
                time: seconds(&row[time])?,
                likes: row[likes].trim().parse().unwrap_or(0),
            })
        })
        .collect();
    assert!(appeals.len() > 4000);
    let as_of = appeals.iter().map(|a| a.time).max().unwrap();
    let topics = find_topics(
        &appeals,
        &Segmenter::new(),
        &TopicOptions {
            as_of,
            ..TopicOptions::default()
        },
    );
    assert!(topics.len() >= 50, "{} topics", topics.len());
    // Hottest first; the top ten are named topics, the top three substantial (two messages with hundreds of
    // likes may rank in the ten: support counts).
    for pair in topics.windows(2) {
        assert!(pair[0].heat.index >= pair[1].heat.index);
    }
    for topic in &topics[..10] {
        assert!(topic.members.len() >= 2, "{topic:?}");
        assert!(!topic.terms.is_empty());
        assert!(
            topic.place.is_some() || topic.district.is_some(),
            "{}",
            topic.label()
        );
    }
    for topic in &topics[..3] {
        assert!(
            topic.members.len() >= 5 && topic.reporters >= 3,
            "{topic:?}"
        );
    }
    // A topic is one problem: most of its members share its first key term or its place.
    for topic in &topics[..10] {
        let term = &topic.terms[0];
        let place = topic.place.clone().unwrap_or_default();
        let on_topic = topic
            .members
            .iter()
            .filter(|&&i| {
                let text = format!("{}{}", appeals[i].title, appeals[i].text).to_lowercase();
                text.contains(term.as_str()) || (!place.is_empty() && text.contains(place.as_str()))
            })
            .count();
        assert!(
            on_topic * 10 >= topic.members.len() * 8,
            "{}: {on_topic}/{}",
            topic.label(),
            topic.members.len()
        );
    }
}

#[test]
fn replies_of_the_message_board_get_a_spread_of_scores() {
    let Some(path) = shared_data("tipdm2020c/replies_附件4.csv") else {
        return;
    };
    let (headers, rows) = read_csv(&path);
    let (title, detail, asked, reply, answered) = (
        column(&headers, "留言主题"),
        column(&headers, "留言详情"),
        column(&headers, "留言时间"),
        column(&headers, "答复意见"),
        column(&headers, "答复时间"),
    );
    let segmenter = Segmenter::new();
    let appeals: Vec<String> = rows.iter().map(|r| r[detail].clone()).collect();
    let mut idf = IdfTable::new();
    for text in &appeals {
        idf.add_document(&RepeatProfile::build(&segmenter, "", text, None, None).words);
    }
    let scores: Vec<f64> = rows
        .iter()
        .zip(&appeals)
        .map(|(row, appeal)| {
            let latency = match (seconds(&row[asked]), seconds(&row[answered])) {
                (Some(a), Some(b)) => Some(b - a),
                _ => None,
            };
            score_reply(
                &ReplyInput {
                    title: &row[title],
                    appeal,
                    reply: &row[reply],
                    latency,
                },
                &segmenter,
                &idf,
            )
            .overall
        })
        .collect();
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    let low = scores.iter().filter(|&&s| s < 40.0).count();
    let high = scores.iter().filter(|&&s| s >= 70.0).count();
    // Most official replies are decent; a real minority is weak — both ends must be populated.
    assert!((45.0..85.0).contains(&mean), "mean {mean}");
    assert!(
        low >= 20 && low * 4 < scores.len(),
        "{low} weak of {}",
        scores.len()
    );
    assert!(high * 8 >= scores.len(), "{high} good of {}", scores.len());
}

#[cfg(feature = "tools")]
#[test]
fn the_surge_detector_meets_its_targets_beside_the_fixed_rule() {
    use urbis_text::tools::{BenchSurgeArgs, fit_profile, simulate};
    let Some(path) = shared_data("tipdm2020c/hotspot_messages_附件3.csv") else {
        return;
    };
    let data_dir = path
        .parent()
        .and_then(|p| p.parent())
        .unwrap()
        .to_path_buf();
    let (seasonality, _) = fit_profile(&data_dir).expect("profile");
    // Real timestamps are not flat: weekends are quieter than weekdays on the message board and in 311.
    let weekday_mean: f64 = seasonality.weekday[..5].iter().sum::<f64>() / 5.0;
    let weekend_mean: f64 = seasonality.weekday[5..].iter().sum::<f64>() / 2.0;
    assert!(weekend_mean < weekday_mean, "{seasonality:?}");
    let result = simulate(
        &BenchSurgeArgs {
            data_dir,
            ..BenchSurgeArgs::default()
        },
        &seasonality,
    );
    assert!(result.surges >= 100);
    assert!(result.detector.detected_in_two_days >= 0.9, "{result:?}");
    assert!(
        result.detector.false_alarms_per_1000 < result.fixed.false_alarms_per_1000,
        "{result:?}"
    );
}
