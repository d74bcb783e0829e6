//! Chinese appeal intelligence for the Urbis intake pipeline.
//!
//! Everything in the default build is pure: functions of their inputs, with no file, network or clock access
//! and no async. The intake pipeline calls them in this order for every appeal:
//!
//! 1. [`pii`] finds and masks phone numbers, ID-card numbers, bank cards, e-mails, WeChat/QQ ids, licence plates,
//!    names and household address parts (`pii::mask_address` masks an address field to its coarse part);
//! 2. [`classifier`] turns the text into a category label with a calibrated confidence
//!    (built from [`segment`] and [`features`], measured with [`eval`]);
//! 3. [`dedup`] finds near-duplicate recent appeals of the same category at the same or adjacent places, and
//!    [`repeat`] judges each candidate with word overlap, the place check, reporter and time (reworded repeats);
//! 4. [`priority`] scores urgency from 0 to 100 with the reasons spelled out.
//!
//! [`insight`] turns many appeals into topics, hot spots, surge warnings and reply-quality scores (民情).
//!
//! [`demo`] ships the demo city's own training text and a model trained from it.
//! The `tools` feature adds the command implementations behind `urbis train`, `urbis eval`,
//! `urbis bench classify` and the duplicate report; only that feature reads files.

pub mod classifier;
pub mod dedup;
pub mod demo;
pub mod eval;
pub mod features;
pub mod insight;
pub mod pii;
pub mod priority;
pub mod repeat;
mod rng;
pub mod segment;
#[cfg(feature = "tools")]
pub mod tools;

/// Errors of this crate. Messages are lowercase and name what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("no training examples")]
    NoExamples,
    #[error("need at least two distinct labels to train, found {found}")]
    TooFewLabels { found: usize },
    #[error("invalid option {name}: {reason}")]
    InvalidOption { name: &'static str, reason: String },
    #[error("label {label:?} has {count} examples, fewer than the {folds} folds asked for")]
    TooFewForFolds {
        label: String,
        count: usize,
        folds: u32,
    },
    #[error("not an urbis-text model (missing magic line)")]
    NotAModel,
    #[error("unsupported model format version {found}; this build reads version {supported}")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("corrupt model: {0}")]
    CorruptModel(String),
    #[error("model header is not valid json: {0}")]
    Header(#[from] serde_json::Error),
}

/// Result with [`TextError`].
pub type Result<T, E = TextError> = std::result::Result<T, E>;
