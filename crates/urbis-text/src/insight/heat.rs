//! The heat index of a topic: how much attention it has and whether it is growing.
//!
//! Five components, each turned into a share between 0 and 1 that saturates (`x / (x + k)`, so the first
//! messages count most and one huge topic does not flatten all the others):
//!
//! | component | measures | share | weight |
//! |---|---|---|---|
//! | volume | messages in the topic | `n / (n + 10)` | 0.30 |
//! | reporters | distinct reporters (one resident posting ten times is not ten residents) | `u / (u + 5)` | 0.25 |
//! | support | likes (点赞) where the source has them | `L / (L + 100)` | 0.20 |
//! | growth | messages in the last `growth_days` before the as-of time against the same span before | `r / (r + p + 2)` | 0.15 |
//! | spread | distinct days with messages (a sustained problem, not one afternoon's burst) | `d / (d + 7)` | 0.10 |
//!
//! The index is `100 × Σ weight × share`, between 0 and 100. Weights can be changed ([`HeatWeights`]); they are
//! normalised to sum to 1.

use serde::{Deserialize, Serialize};

/// What the heat index is computed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeatInput {
    pub messages: usize,
    pub reporters: usize,
    pub likes: u64,
    /// Distinct calendar days with at least one message.
    pub active_days: usize,
    /// Messages in the growth window ending at the as-of time.
    pub recent: usize,
    /// Messages in the window of the same length before that.
    pub previous: usize,
}

/// Weights of the five components (any non-negative numbers; normalised to sum to 1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeatWeights {
    pub volume: f64,
    pub reporters: f64,
    pub support: f64,
    pub growth: f64,
    pub spread: f64,
}

impl Default for HeatWeights {
    fn default() -> HeatWeights {
        HeatWeights {
            volume: 0.30,
            reporters: 0.25,
            support: 0.20,
            growth: 0.15,
            spread: 0.10,
        }
    }
}

/// The heat index with its components (each share between 0 and 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Heat {
    pub index: f64,
    pub volume: f64,
    pub reporters: f64,
    pub support: f64,
    pub growth: f64,
    pub spread: f64,
}

fn saturate(x: f64, k: f64) -> f64 {
    if x <= 0.0 { 0.0 } else { x / (x + k) }
}

impl Heat {
    /// Computes the heat index of a topic.
    pub fn of(input: &HeatInput, weights: &HeatWeights) -> Heat {
        let volume = saturate(input.messages as f64, 10.0);
        let reporters = saturate(input.reporters as f64, 5.0);
        let support = saturate(input.likes as f64, 100.0);
        let growth = input.recent as f64 / (input.recent as f64 + input.previous as f64 + 2.0);
        let spread = saturate(input.active_days as f64, 7.0);
        let parts = [
            (weights.volume, volume),
            (weights.reporters, reporters),
            (weights.support, support),
            (weights.growth, growth),
            (weights.spread, spread),
        ];
        let total: f64 = parts.iter().map(|(w, _)| w.max(0.0)).sum();
        let index = if total > 0.0 {
            100.0 * parts.iter().map(|(w, s)| w.max(0.0) * s).sum::<f64>() / total
        } else {
            0.0
        };
        Heat {
            index,
            volume,
            reporters,
            support,
            growth,
            spread,
        }
    }
}
