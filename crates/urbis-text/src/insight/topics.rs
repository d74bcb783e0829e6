//! Topics: appeals about one problem at one place, found by linking pairs the repeat model judges alike.
//!
//! Candidates for a pair share at least two of their rarer words or a named place, and lie within
//! [`TopicOptions::window_days`] of each other; the pair links when the repeat model's score reaches
//! [`TopicOptions::link_score`], some words about the problem itself are shared, and the places do not conflict
//! (or the texts are near copies at no conflicting place). Linked appeals form a topic by union-find, so a topic
//! can run longer than the window while residents keep writing about it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::insight::DAY;
use crate::insight::heat::{Heat, HeatInput, HeatWeights};
use crate::priority::{Level, PriorityInput};
use crate::repeat::{
    IdfTable, PlaceCheck, PlaceKind, RepeatModel, RepeatProfile, Signal, content_words,
};
use crate::segment::Segmenter;

/// One appeal as the topic finder sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Appeal {
    pub title: String,
    pub text: String,
    /// Any stable identity of the reporter (account, phone); blank when unknown.
    pub reporter: String,
    /// When it came in, in seconds (any epoch; days are cut at multiples of 86,400).
    pub time: i64,
    /// Support such as likes (点赞), 0 where the source has none.
    pub likes: u32,
}

/// Settings of the topic finder.
#[derive(Clone, Debug, PartialEq)]
pub struct TopicOptions {
    /// Repeat-model score from which two appeals are about the same problem.
    pub link_score: f32,
    /// Share of the key terms (the eight rarest words) two linked appeals must share, unless near copies: a
    /// shared place and a few common words do not make one problem (without it, neighbouring problems chain).
    pub min_key_terms: f32,
    /// Longest gap in days between two linked appeals.
    pub window_days: i64,
    /// Smallest topic reported.
    pub min_messages: usize,
    /// Key terms named per topic.
    pub key_terms: usize,
    /// The as-of time for the growth component (seconds, same epoch as the appeals).
    pub as_of: i64,
    /// Length of the growth windows in days.
    pub growth_days: i64,
    pub weights: HeatWeights,
}

impl Default for TopicOptions {
    fn default() -> TopicOptions {
        TopicOptions {
            link_score: 0.5,
            min_key_terms: 0.25,
            window_days: 60,
            min_messages: 2,
            key_terms: 4,
            as_of: 0,
            growth_days: 30,
            weights: HeatWeights::default(),
        }
    }
}

/// Shares of a topic's appeals with a negative tone, urgent wording, or from a reporter who already wrote about it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attitude {
    pub negative: f64,
    pub urgent: f64,
    pub repeated: f64,
}

/// A topic: its appeals (indices into the input, in time order), name, heat and attitude.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    pub members: Vec<usize>,
    pub terms: Vec<String>,
    pub place: Option<String>,
    pub district: Option<String>,
    pub first: i64,
    pub last: i64,
    pub reporters: usize,
    pub likes: u64,
    pub active_days: usize,
    pub heat: Heat,
    pub attitude: Attitude,
}

impl Topic {
    /// Returns "district · place · term term term" for display.
    pub fn label(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.district.clone());
        parts.extend(self.place.clone());
        parts.push(self.terms.join(" "));
        parts.join(" · ")
    }
}

/// Rarer words of an appeal used to find candidates (its highest-IDF words).
const CANDIDATE_WORDS: usize = 12;
/// Words found in more than this share of appeals never make a candidate.
const COMMON_SHARE: f64 = 0.05;
/// Negative tone: words of anger, harm or being ignored.
const NEGATIVE_WORDS: &[&str] = &[
    "不满",
    "愤怒",
    "气愤",
    "失望",
    "无奈",
    "扰民",
    "严重",
    "恶劣",
    "欺骗",
    "违法",
    "违规",
    "投诉无门",
    "无人管",
    "没人管",
    "不作为",
    "推诿",
    "拖欠",
    "霸王",
    "强制",
    "危害",
    "污染",
    "噪音",
    "臭",
];

/// Finds the topics among `appeals`, hottest first. Appeals need not be sorted.
pub fn find_topics(
    appeals: &[Appeal],
    segmenter: &Segmenter,
    options: &TopicOptions,
) -> Vec<Topic> {
    let n = appeals.len();
    let profiles: Vec<RepeatProfile> = appeals
        .iter()
        .map(|a| {
            RepeatProfile::build(
                segmenter,
                &a.title,
                &a.text,
                Some(&a.reporter),
                Some(a.time),
            )
        })
        .collect();
    let mut idf = IdfTable::new();
    for profile in &profiles {
        idf.add_document(&profile.words);
    }
    let mut document_frequency: HashMap<u64, usize> = HashMap::new();
    for profile in &profiles {
        for &word in &profile.words {
            *document_frequency.entry(word).or_default() += 1;
        }
    }
    let common = ((n as f64 * COMMON_SHARE) as usize).max(5);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (appeals[i].time, i));

    let model = RepeatModel::default();
    let window = options.window_days.max(0) * DAY;
    let mut parent: Vec<usize> = (0..n).collect();
    // Postings in time order: word or place core → appeals seen so far.
    let mut by_word: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut by_place: HashMap<String, Vec<usize>> = HashMap::new();
    for &i in &order {
        let profile = &profiles[i];
        let mut keys: Vec<(f32, u64)> = profile
            .words
            .iter()
            .filter(|w| document_frequency.get(w).copied().unwrap_or(0) <= common)
            .map(|&w| (idf.weight(w), w))
            .collect();
        keys.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        keys.truncate(CANDIDATE_WORDS);
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for (_, word) in &keys {
            for &j in by_word.get(word).into_iter().flatten().rev() {
                if appeals[i].time - appeals[j].time > window {
                    break;
                }
                *shared.entry(j).or_default() += 1;
            }
        }
        let mut candidates: Vec<usize> = shared
            .into_iter()
            .filter(|&(_, count)| count >= 2)
            .map(|(j, _)| j)
            .collect();
        for place in &profile.places {
            for &j in by_place.get(&place.core).into_iter().flatten().rev() {
                if appeals[i].time - appeals[j].time > window {
                    break;
                }
                candidates.push(j);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        for j in candidates {
            if find(&mut parent, i) == find(&mut parent, j) {
                continue;
            }
            let verdict = model.compare(profile, &profiles[j], &idf);
            let value = |signal: Signal| verdict.value(signal);
            let topical = value(Signal::WordOverlap).max(value(Signal::TitleOverlap))
                >= crate::repeat::MIN_TOPIC_OVERLAP;
            let near_copy = value(Signal::CharacterSimilarity) >= 0.6;
            let conflict = matches!(verdict.place, PlaceCheck::Conflicts(..));
            let key_terms = value(Signal::KeyTerms) >= options.min_key_terms;
            if !conflict
                && ((verdict.score >= options.link_score && topical && key_terms) || near_copy)
            {
                union(&mut parent, i, j);
            }
        }
        for (_, word) in keys {
            by_word.entry(word).or_default().push(i);
        }
        for place in &profile.places {
            by_place.entry(place.core.clone()).or_default().push(i);
        }
    }

    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for &i in &order {
        let root = find(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    let mut topics: Vec<Topic> = groups
        .into_values()
        .filter(|members| members.len() >= options.min_messages.max(1))
        .map(|members| describe(members, appeals, &profiles, &idf, segmenter, options))
        .collect();
    topics.sort_by(|a, b| {
        b.heat
            .index
            .total_cmp(&a.heat.index)
            .then(a.first.cmp(&b.first))
    });
    topics
}

/// Names a topic and computes its heat and attitude.
fn describe(
    members: Vec<usize>,
    appeals: &[Appeal],
    profiles: &[RepeatProfile],
    idf: &IdfTable,
    segmenter: &Segmenter,
    options: &TopicOptions,
) -> Topic {
    // Key terms: words in most of the topic's appeals, rarer words first among equals; place words excluded.
    let mut term_count: HashMap<String, usize> = HashMap::new();
    let mut place_count: HashMap<(PlaceKind, String), usize> = HashMap::new();
    let mut district_count: HashMap<String, usize> = HashMap::new();
    for &i in &members {
        let appeal = &appeals[i];
        let full = format!("{}。{}", appeal.title, appeal.text);
        let mut seen: Vec<String> = Vec::new();
        for (token, tag) in segmenter.tag(&full) {
            if !is_term(token, tag, &profiles[i].places) {
                continue;
            }
            let word = crate::dedup::normalize(token);
            if !seen.contains(&word) {
                seen.push(word);
            }
        }
        for word in seen {
            *term_count.entry(word).or_default() += 1;
        }
        // A place the title names counts three times: the body often mentions places in passing.
        let title_places = crate::repeat::places(&segmenter.tag(&appeal.title));
        for place in &profiles[i].places {
            let in_title = title_places.iter().any(|t| t.core == place.core);
            *place_count
                .entry((place.kind, display_place(&place.name)))
                .or_default() += if in_title { 3 } else { 1 };
        }
        if let Some(district) = district_of(&full) {
            *district_count.entry(district).or_default() += 1;
        }
    }
    // In a topic of three or more, a key term is shared by at least two appeals.
    let least = if members.len() >= 3 { 2 } else { 1 };
    term_count.retain(|_, count| *count >= least);
    let mut terms: Vec<(f64, String)> = term_count
        .into_iter()
        .map(|(word, count)| {
            let weight = f64::from(idf.weight(crate::repeat::hash_str(&word)));
            (count as f64 * weight, word)
        })
        .collect();
    terms.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let terms: Vec<String> = terms
        .into_iter()
        .map(|(_, w)| w)
        .take(options.key_terms)
        .collect();
    let place = place_count
        .into_iter()
        .max_by(|a, b| {
            (a.1, a.0.0 == PlaceKind::Site, a.0.1.chars().count(), &b.0.1).cmp(&(
                b.1,
                b.0.0 == PlaceKind::Site,
                b.0.1.chars().count(),
                &a.0.1,
            ))
        })
        .map(|((_, name), _)| name);
    let district = most_common(district_count);

    let mut reporters: Vec<&str> = Vec::new();
    let mut repeated = 0usize;
    let mut days: Vec<i64> = Vec::new();
    let mut likes = 0u64;
    let (mut negative, mut urgent) = (0usize, 0usize);
    let (mut recent, mut previous) = (0usize, 0usize);
    let growth = options.growth_days.max(1) * DAY;
    for &i in &members {
        let appeal = &appeals[i];
        let reporter = appeal.reporter.trim();
        if !reporter.is_empty() {
            if reporters.contains(&reporter) {
                repeated += 1;
            } else {
                reporters.push(reporter);
            }
        }
        days.push(appeal.time.div_euclid(DAY));
        likes += u64::from(appeal.likes);
        let full = format!("{}。{}", appeal.title, appeal.text);
        negative += usize::from(NEGATIVE_WORDS.iter().any(|w| full.contains(w)));
        let priority = crate::priority::score(&PriorityInput {
            text: &full,
            category_severity: 0.5,
            duplicate_count: 0,
            repeat_place_count: 0,
        });
        urgent += usize::from(priority.level >= Level::High);
        let age = options.as_of - appeal.time;
        if (0..growth).contains(&age) {
            recent += 1;
        } else if (growth..2 * growth).contains(&age) {
            previous += 1;
        }
    }
    days.sort_unstable();
    days.dedup();
    let count = members.len();
    let distinct_reporters = reporters
        .len()
        .max(usize::from(count > 0 && reporters.is_empty()));
    let heat = Heat::of(
        &HeatInput {
            messages: count,
            reporters: distinct_reporters,
            likes,
            active_days: days.len(),
            recent,
            previous,
        },
        &options.weights,
    );
    let share = |part: usize| part as f64 / count.max(1) as f64;
    Topic {
        first: members.iter().map(|&i| appeals[i].time).min().unwrap_or(0),
        last: members.iter().map(|&i| appeals[i].time).max().unwrap_or(0),
        members,
        terms,
        place,
        district,
        reporters: distinct_reporters,
        likes,
        active_days: days.len(),
        heat,
        attitude: Attitude {
            negative: share(negative),
            urgent: share(urgent),
            repeated: share(repeated),
        },
    }
}

/// True when a token can name what a topic is about: a content word (not boilerplate), not part of a named
/// place, no digits, a noun, verbal noun, idiom or unknown word, not a cut-off anonymised place ("区丽发").
fn is_term(token: &str, tag: &str, places: &[crate::repeat::Place]) -> bool {
    const TERM_TAGS: &[&str] = &["n", "vn", "x", "j", "l", "i", "eng"];
    if content_words(&[token]).is_empty()
        || token.chars().any(|c| c.is_ascii_digit())
        || !TERM_TAGS.iter().any(|t| tag.starts_with(t))
    {
        return false;
    }
    let chars: Vec<char> = token.chars().collect();
    if chars.len() <= 3 && matches!(chars.first(), Some('区' | '县' | '市' | '省')) {
        return false;
    }
    !chars.windows(2).any(|pair| {
        let pair: String = pair.iter().collect();
        places.iter().any(|p| p.name.contains(&pair))
    })
}

/// Returns a place name without a leading "街道" or "社区" that segmentation left on it.
fn display_place(name: &str) -> String {
    for prefix in ["街道", "社区"] {
        if let Some(rest) = name.strip_prefix(prefix)
            && rest.chars().count() >= 3
        {
            return rest.to_owned();
        }
    }
    name.to_owned()
}

fn most_common(counts: HashMap<String, usize>) -> Option<String> {
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(name, _)| name)
}

/// Returns the first district a text names: "A3区" (anonymised: a capital letter and digits) or two Han
/// characters before 区/县 right after 市 or 省 ("长沙市岳麓区" → "岳麓区"); a bare "小区" or "社区" never counts.
pub fn district_of(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c != '区' && c != '县' {
            continue;
        }
        let mut j = i;
        while j > 0 && chars[j - 1].is_ascii_digit() {
            j -= 1;
        }
        if j < i && j > 0 && chars[j - 1].is_ascii_uppercase() {
            return Some(chars[j - 1..=i].iter().collect());
        }
        if i >= 3
            && matches!(chars[i - 3], '市' | '省')
            && is_han(chars[i - 2])
            && is_han(chars[i - 1])
        {
            return Some(chars[i - 2..=i].iter().collect());
        }
    }
    None
}

fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// Union-find over indices (path halving; the smaller root wins).
pub(crate) fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

pub(crate) fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb)] = ra.min(rb);
    }
}
