//! The demo city's own training text and the model trained from it.
//!
//! `corpus/demo_appeals.tsv` holds original appeal messages written for Urbis (not taken from any data set),
//! at least 25 for each level-2 category of the demo taxonomy, one `code<TAB>text` per line.
//! Places are the demo city's: 幸福路, 阳光小区, 东湖社区 and so on; the few phone numbers, ID and names in it are
//! fictitious and there so the demo can show masking. The demo also seeds its cases from these texts.

use crate::classifier::{Example, HyperParams, Model, TrainOptions};

const DEMO_APPEALS: &str = include_str!("../corpus/demo_appeals.tsv");

/// The level-2 categories of the demo taxonomy that the corpus covers: `(code, name)`.
pub const DEMO_CATEGORIES: &[(&str, &str)] = &[
    ("0101", "暴露垃圾"),
    ("0102", "乱堆物料"),
    ("0103", "违规广告"),
    ("0104", "道路不洁"),
    ("0201", "路面破损"),
    ("0202", "违章停车"),
    ("0203", "交通信号设施"),
    ("0204", "共享单车乱停放"),
    ("0301", "井盖缺损"),
    ("0302", "路灯故障"),
    ("0303", "供水问题"),
    ("0304", "供暖问题"),
    ("0401", "树木倒伏"),
    ("0402", "绿地破坏"),
    ("0501", "施工扰民"),
    ("0502", "施工扬尘"),
    ("0503", "占道施工"),
    ("0601", "占道经营"),
    ("0602", "无照经营"),
    ("0603", "噪声扰民"),
    ("0701", "工资拖欠"),
    ("0702", "社保医保"),
    ("0801", "学校教育"),
    ("0802", "医疗卫生"),
];

/// Returns the shipped demo appeals, labelled with their level-2 category code.
pub fn demo_corpus() -> Vec<Example> {
    DEMO_APPEALS
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(code, text)| Example {
            text: text.trim().to_owned(),
            label: code.trim().to_owned(),
        })
        .filter(|example| !example.text.is_empty())
        .collect()
}

/// Returns the demo model: trained on [`demo_corpus`] with [`HyperParams::recommended`] and 3-fold calibration.
/// Deterministic: the same build always yields the same model. Takes well under a second in a release build.
pub fn demo_model() -> Model {
    let options = TrainOptions {
        hyper: HyperParams::recommended(),
        folds: 3,
        user_words: Vec::new(),
        source: "urbis-text demo corpus (corpus/demo_appeals.tsv)".to_owned(),
        created: "built-in".to_owned(),
    };
    // The corpus is compiled in and covers every category (checked by a test), so training cannot fail.
    Model::train(&demo_corpus(), &options).expect("the shipped demo corpus trains")
}

#[cfg(test)]
mod tests;
