//! Explainable priority score (0–100) for an appeal.
//!
//! The score is the sum of five capped factors, so it can be read back as reasons:
//!
//! | code | what | points |
//! |---|---|---|
//! | `urgency_words` | danger to life or property (着火, 燃气泄漏, 塌陷: 30 each; 紧急, 危险, 漏水: 12 each) | ≤ 35 |
//! | `category_severity` | the category's severity weight (0–1) given by the caller | ≤ 25 |
//! | `vulnerable_people` | 老人, 儿童, 孕妇, 残疾, 学生 …: 8 for the first group, 4 for each further group | ≤ 15 |
//! | `duplicates` | other reports of the same problem: `5 × log2(1 + n)` | ≤ 15 |
//! | `repeat_place` | earlier cases at the same place: `2 × n` | ≤ 10 |
//!
//! A word directly preceded by a negation (不, 没, 没有, 无, 未, 并非) is not counted: "没有危险" adds nothing.
//! Levels: `urgent` ≥ 55, `high` ≥ 35, `normal` ≥ 10, else `low`.

use serde::{Deserialize, Serialize};

/// What the score is computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorityInput<'a> {
    pub text: &'a str,
    /// Severity weight of the category, 0 (minor) to 1 (most severe); clamped.
    pub category_severity: f32,
    /// Number of other reports linked to the same problem.
    pub duplicate_count: u32,
    /// Number of earlier cases at the same place within the caller's look-back period.
    pub repeat_place_count: u32,
}

/// Priority level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Low,
    Normal,
    High,
    Urgent,
}

impl Level {
    /// Returns `"urgent"`, `"high"`, `"normal"` or `"low"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Urgent => "urgent",
            Level::High => "high",
            Level::Normal => "normal",
            Level::Low => "low",
        }
    }

    /// Returns the level of a score.
    pub fn of_score(score: u8) -> Level {
        match score {
            55.. => Level::Urgent,
            35.. => Level::High,
            10.. => Level::Normal,
            _ => Level::Low,
        }
    }
}

/// One reason contributing to the score.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    /// Stable code: `urgency_words`, `category_severity`, `vulnerable_people`, `duplicates`, `repeat_place`.
    pub code: String,
    /// Chinese label for display.
    pub label_zh: String,
    pub points: u8,
    /// What was found, e.g. the matched words or the count.
    pub detail: String,
}

/// The score, its level and the factors that add up to it (factors with zero points are omitted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Priority {
    pub score: u8,
    pub level: Level,
    pub factors: Vec<Factor>,
}

/// Words signalling danger to life or health, worth 30 points each.
const SEVERE_WORDS: &[&str] = &[
    "着火",
    "起火",
    "失火",
    "火灾",
    "爆炸",
    "燃气泄漏",
    "煤气泄漏",
    "天然气泄漏",
    "漏电",
    "触电",
    "塌陷",
    "坍塌",
    "倒塌",
    "被困",
    "溺水",
    "危及生命",
    "生命危险",
    "人员受伤",
    "有人受伤",
];
/// Words signalling urgency or hazard, worth 12 points each.
const URGENT_WORDS: &[&str] = &[
    "紧急",
    "危险",
    "燃气",
    "煤气",
    "冒烟",
    "异味",
    "漏水",
    "爆管",
    "积水",
    "断电",
    "停电",
    "停水",
    "断水",
    "掉落",
    "断裂",
    "安全隐患",
    "隐患",
    "受伤",
    "摔倒",
    "刻不容缓",
    "马上",
    "立即",
    "暴雨",
    "结冰",
];
/// Groups of words for vulnerable people; each group counts once.
const VULNERABLE_GROUPS: &[(&str, &[&str])] = &[
    (
        "老人",
        &["老人", "老年人", "老太太", "老大爷", "独居老", "高龄"],
    ),
    ("儿童", &["儿童", "小孩", "孩子", "婴儿", "幼儿", "小朋友"]),
    ("孕妇", &["孕妇", "怀孕"]),
    ("残疾人", &["残疾", "残障", "瘫痪", "行动不便", "轮椅"]),
    ("学生", &["学生", "小学", "幼儿园"]),
    ("病人", &["病人", "患者", "重病"]),
];
const NEGATIONS: &[&str] = &["没有", "并非", "不", "没", "无", "未"];

const URGENCY_CAP: u32 = 35;
const SEVERITY_MAX: f32 = 25.0;
const VULNERABLE_CAP: u32 = 15;
const DUPLICATES_CAP: f32 = 15.0;
const REPEAT_PLACE_CAP: u32 = 10;

/// Computes the priority of an appeal.
pub fn score(input: &PriorityInput<'_>) -> Priority {
    let mut factors = Vec::new();
    let mut push = |code: &str, label_zh: &str, points: u32, detail: String| {
        if points > 0 {
            factors.push(Factor {
                code: code.to_owned(),
                label_zh: label_zh.to_owned(),
                points: points as u8,
                detail,
            });
        }
    };

    // Longer words first so that "燃气泄漏" is not also counted as "燃气".
    let mut words: Vec<(&str, u32)> = SEVERE_WORDS
        .iter()
        .map(|w| (*w, 30))
        .chain(URGENT_WORDS.iter().map(|w| (*w, 12)))
        .collect();
    words.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
    let mut claimed: Vec<(usize, usize)> = Vec::new();
    let mut matched: Vec<&str> = Vec::new();
    let mut urgency = 0;
    for (word, points) in words {
        let hit = input.text.match_indices(word).find(|&(at, _)| {
            let end = at + word.len();
            !claimed.iter().any(|&(s, e)| at < e && s < end) && !negated(input.text, at)
        });
        if let Some((at, _)) = hit {
            claimed.push((at, at + word.len()));
            matched.push(word);
            urgency += points;
        }
    }
    push(
        "urgency_words",
        "紧急危险词",
        urgency.min(URGENCY_CAP),
        matched.join("、"),
    );

    let severity = if input.category_severity.is_finite() {
        input.category_severity.clamp(0.0, 1.0)
    } else {
        0.0
    };
    push(
        "category_severity",
        "类别严重程度",
        (severity * SEVERITY_MAX).round() as u32,
        format!("{severity:.2}"),
    );

    let groups: Vec<&str> = VULNERABLE_GROUPS
        .iter()
        .filter(|(_, words)| words.iter().any(|w| input.text.contains(w)))
        .map(|(name, _)| *name)
        .collect();
    let vulnerable = if groups.is_empty() {
        0
    } else {
        8 + 4 * (groups.len() as u32 - 1)
    };
    push(
        "vulnerable_people",
        "涉及弱势群体",
        vulnerable.min(VULNERABLE_CAP),
        groups.join("、"),
    );

    let duplicates = (5.0 * (1.0 + input.duplicate_count as f32).log2())
        .round()
        .min(DUPLICATES_CAP) as u32;
    push(
        "duplicates",
        "重复反映",
        duplicates,
        format!("{} 条相同诉求", input.duplicate_count),
    );

    let repeat = (2 * input.repeat_place_count).min(REPEAT_PLACE_CAP);
    push(
        "repeat_place",
        "同一地点多次发生",
        repeat,
        format!("{} 次", input.repeat_place_count),
    );

    let total: u32 = factors.iter().map(|f| u32::from(f.points)).sum();
    // The caps add up to 100, so the total never needs clamping and the factors always sum to the score.
    let score = total.min(100) as u8;
    Priority {
        score,
        level: Level::of_score(score),
        factors,
    }
}

/// Returns true when the text right before byte `at` is a negation.
fn negated(text: &str, at: usize) -> bool {
    NEGATIONS.iter().any(|n| text[..at].ends_with(n))
}

#[cfg(test)]
mod tests;
