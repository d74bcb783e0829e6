//! Reply quality: scores a government reply to an appeal on four dimensions, each between 0 and 1, with the
//! reasons a weak reply is weak.
//!
//! - **relevance** (weight 0.35): the share of the appeal's key terms (the nouns of its title, then its other
//!   nouns by count × IDF, at most eight; [`key_terms`]) that the reply mentions. A template that could answer any appeal scores low.
//! - **completeness** (0.30): four parts a full reply has — what was checked (经查/核实/调查 …), what was done
//!   or will be done (已/整改/安排 …), the basis (根据/按照/规定 …), and a way to follow up (电话/联系/咨询 …) —
//!   a quarter each, and halved when the reply is shorter than 60 characters.
//! - **timeliness** (0.20): 1 for a reply within 7 days, falling linearly to 0 at 30 days; unknown when either
//!   time is missing (then the other weights are renormalised).
//! - **politeness** (0.15): a greeting or address to the resident (网友/您好 …) and thanks (感谢/谢谢 …) give
//!   half each; dismissive wording (自行/与本单位无关/不予受理 …) takes half off.
//!
//! The overall score is `100 × Σ weight × dimension`.

use serde::{Deserialize, Serialize};

use crate::repeat::IdfTable;
use crate::segment::Segmenter;

/// What a reply is scored from.
#[derive(Clone, Copy, Debug)]
pub struct ReplyInput<'a> {
    /// The appeal's title (blank when it has none).
    pub title: &'a str,
    /// The appeal's text.
    pub appeal: &'a str,
    pub reply: &'a str,
    /// Seconds from the appeal to the reply, when both times are known.
    pub latency: Option<i64>,
}

/// The score of a reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplyScore {
    pub overall: f64,
    pub relevance: f64,
    pub completeness: f64,
    pub timeliness: Option<f64>,
    pub politeness: f64,
    /// Why the reply lost points, most important first (Chinese, for the reviewer).
    pub reasons: Vec<String>,
}

/// Most key terms of an appeal checked for relevance.
const KEY_TERMS: usize = 8;
const CHECKED: &[&str] = &[
    "经查", "核实", "调查", "核查", "了解", "查明", "现场", "走访", "勘查",
];
const ACTED: &[&str] = &[
    "已", "整改", "安排", "处理", "解决", "落实", "责令", "督促", "将", "拟", "计划", "完成",
    "修复",
];
const BASIS: &[&str] = &[
    "根据", "按照", "依据", "规定", "政策", "文件", "条例", "办法", "标准", "法",
];
const FOLLOW_UP: &[&str] = &[
    "电话",
    "联系",
    "咨询",
    "来访",
    "热线",
    "地址",
    "办公室",
    "窗口",
];
const GREETING: &[&str] = &["网友", "您好", "你好", "尊敬", "先生", "女士", "同志"];
const THANKS: &[&str] = &["感谢", "谢谢", "支持", "理解", "关心", "监督"];
const DISMISSIVE: &[&str] = &[
    "自行",
    "与本单位无关",
    "不属于我",
    "不予受理",
    "无法处理",
    "不归我",
    "请勿",
    "无权",
];

/// Part-of-speech tags of words that can say what an appeal is about (nouns, verbal nouns, idioms, unknown words).
const TERM_TAGS: &[&str] = &["n", "vn", "x", "j", "l", "i", "eng"];

/// Returns up to [`KEY_TERMS`] key terms of an appeal: the nouns of its title in order, then the nouns of its text
/// ranked by count × IDF.
pub fn key_terms(title: &str, text: &str, segmenter: &Segmenter, idf: &IdfTable) -> Vec<String> {
    let nouns = |text: &str| -> Vec<String> {
        segmenter
            .tag(text)
            .into_iter()
            .filter(|(token, tag)| {
                TERM_TAGS.iter().any(|t| tag.starts_with(t))
                    && !crate::repeat::content_words(&[token]).is_empty()
                    && !token.chars().any(|c| c.is_ascii_alphanumeric())
            })
            .map(|(token, _)| crate::dedup::normalize(token))
            .collect()
    };
    let mut terms: Vec<String> = Vec::new();
    for word in nouns(title) {
        if terms.len() < KEY_TERMS && !terms.contains(&word) {
            terms.push(word);
        }
    }
    let mut counted: Vec<(f32, String)> = Vec::new();
    for word in nouns(text) {
        match counted.iter_mut().find(|(_, w)| *w == word) {
            Some(entry) => entry.0 += idf.weight(crate::repeat::hash_str(&word)),
            None => counted.push((idf.weight(crate::repeat::hash_str(&word)), word)),
        }
    }
    counted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, word) in counted {
        if terms.len() >= KEY_TERMS {
            break;
        }
        if !terms.contains(&word) {
            terms.push(word);
        }
    }
    terms
}

/// Scores one reply. `idf` holds document frequencies of the appeals' content words (as built by
/// [`crate::repeat::RepeatProfile`]), so that a reply is judged on the words that make its appeal specific.
pub fn score_reply(input: &ReplyInput<'_>, segmenter: &Segmenter, idf: &IdfTable) -> ReplyScore {
    let mut reasons: Vec<String> = Vec::new();
    let reply = input.reply.trim();
    if reply.is_empty() {
        return ReplyScore {
            reasons: vec!["没有答复内容".to_owned()],
            timeliness: input.latency.map(|_| 0.0),
            ..ReplyScore::default()
        };
    }

    // Relevance: the appeal's key terms — nouns of its title first, then its other nouns by count × IDF.
    let terms = key_terms(input.title, input.appeal, segmenter, idf);
    let normalized_reply = crate::dedup::normalize(reply);
    let (hit, missed): (Vec<_>, Vec<_>) = terms
        .iter()
        .partition(|w| normalized_reply.contains(w.as_str()));
    let relevance = if terms.is_empty() {
        1.0
    } else {
        hit.len() as f64 / terms.len() as f64
    };
    if relevance < 0.34 && !terms.is_empty() {
        let missing: Vec<&str> = missed.iter().take(4).map(|w| w.as_str()).collect();
        reasons.push(format!(
            "切题不足：留言的{}个关键词只提到{}个（未提：{}）",
            terms.len(),
            hit.len(),
            missing.join("、")
        ));
    }

    // Completeness.
    let has = |words: &[&str]| words.iter().any(|w| reply.contains(w));
    let parts = [
        (has(CHECKED), "未说明核查情况"),
        (has(ACTED), "未说明处理措施或结果"),
        (has(BASIS), "未给出依据"),
        (has(FOLLOW_UP), "未留联系或后续渠道"),
    ];
    let mut completeness = parts.iter().filter(|(ok, _)| *ok).count() as f64 / 4.0;
    let length = reply.chars().count();
    if length < 60 {
        completeness /= 2.0;
        reasons.push(format!("答复过短（{length}字）"));
    }
    let lacking: Vec<&str> = parts
        .iter()
        .filter(|(ok, _)| !*ok)
        .map(|(_, why)| *why)
        .collect();
    if completeness < 0.75 && !lacking.is_empty() {
        reasons.push(format!("不完整：{}", lacking.join("，")));
    }

    // Timeliness.
    let timeliness = input.latency.map(|seconds| {
        let days = seconds.max(0) as f64 / 86_400.0;
        let score = ((30.0 - days) / 23.0).clamp(0.0, 1.0);
        if days > 7.0 {
            reasons.push(format!("答复用时{days:.0}天"));
        }
        score
    });

    // Politeness.
    let mut politeness: f64 = 0.0;
    if has(GREETING) {
        politeness += 0.5;
    }
    if has(THANKS) {
        politeness += 0.5;
    }
    if has(DISMISSIVE) {
        politeness -= 0.5;
        reasons.push("用语推诿或生硬".to_owned());
    }
    let politeness = politeness.clamp(0.0, 1.0);
    if politeness < 0.5 {
        reasons.push("缺少称呼或致谢".to_owned());
    }

    let mut weighted = 0.35 * relevance + 0.30 * completeness + 0.15 * politeness;
    let mut total = 0.80;
    if let Some(t) = timeliness {
        weighted += 0.20 * t;
        total += 0.20;
    }
    ReplyScore {
        overall: 100.0 * weighted / total,
        relevance,
        completeness,
        timeliness,
        politeness,
        reasons,
    }
}
