//! 民情 insight: what residents are worried about, how hot it is, whether it is surging, and how well the
//! government answered. Pure functions of their inputs (no files, no clock); the `tools` feature reads the data.
//!
//! - [`topics`] clusters appeals into topics by text, place and time: two appeals link when the repeat model
//!   ([`crate::repeat`]: MinHash, IDF-weighted word overlap, the place check, reporter, time) scores them as the
//!   same problem above a topic threshold (lower than the repeat threshold: a topic gathers different residents
//!   describing one problem) and they lie within a time window; linked appeals form a topic (union-find).
//!   Each topic is named by its key terms (the words most of its appeals share, weighted by IDF), its place
//!   (the site or road its appeals name most) and its district, and carries its attitude shares.
//! - [`heat`] is the documented heat index that ranks topics into hot spots.
//! - [`surge`] fits weekday and seasonal profiles from timestamps and detects counts above what the recent
//!   history predicts (a Poisson control limit on an EWMA baseline, one-day and two-day tests).
//! - [`replies`] scores a government reply for relevance, completeness, timeliness and politeness, with reasons.

pub mod heat;
pub mod replies;
pub mod surge;
pub mod topics;

pub use heat::{Heat, HeatInput, HeatWeights};
pub use replies::{ReplyInput, ReplyScore, score_reply};
pub use surge::{FixedThreshold, Seasonality, SurgeAlert, SurgeDetector, SurgeOptions, poisson_sf};
pub use topics::{Appeal, Attitude, Topic, TopicOptions, find_topics};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

#[cfg(test)]
mod tests;
