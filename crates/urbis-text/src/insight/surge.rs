//! Surge warning: counts per day (per category × street, or per topic) above what the recent history predicts.
//!
//! [`Seasonality`] holds a weekday profile and a month-of-year profile (multipliers averaging 1) fitted from
//! timestamps. [`SurgeDetector`] keeps an exponentially weighted mean (EWMA) of the deseasonalised daily count;
//! the expected count of a day is that level times the day's weekday and month factors. A day alarms when
//!
//! - its count is at least [`SurgeOptions::min_count`] and the Poisson probability of a count at least that high
//!   is below [`SurgeOptions::alpha`] (one-day test), or
//! - the count of it and the day before is at least `min_count + 1` and equally improbable against the two days'
//!   expected sum (two-day test: a surge that builds up over two days).
//!
//! The level is learnt from days that did not alarm, so a surge does not raise its own baseline; after
//! [`SurgeOptions::accept_after`] alarming days in a row the new level is accepted (a lasting change, not a surge).
//! [`FixedThreshold`] is the peer rule offices use: a fixed count per day.

use serde::{Deserialize, Serialize};

use crate::insight::DAY;

/// Weekday (Monday first) and month (January first) multipliers, each averaging 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seasonality {
    pub weekday: [f64; 7],
    pub month: [f64; 12],
}

impl Default for Seasonality {
    fn default() -> Seasonality {
        Seasonality {
            weekday: [1.0; 7],
            month: [1.0; 12],
        }
    }
}

/// Returns the weekday of a day number (days since 1970-01-01), Monday = 0.
pub fn weekday_of(day: i64) -> usize {
    (day + 3).rem_euclid(7) as usize
}

/// Returns the month (0 = January) of a day number (days since 1970-01-01).
pub fn month_of(day: i64) -> usize {
    let z = day + 719_468;
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    (if month_index < 10 {
        month_index + 2
    } else {
        month_index - 10
    }) as usize
}

impl Seasonality {
    /// Fits the profiles from event times (seconds). The weekday profile needs at least four weeks of span and
    /// the month profile a full year, and events on at least a quarter of the span's days (a sample of a few busy
    /// days says nothing about the week); a profile without enough span stays flat. Each month's (weekday's) rate is
    /// its events per calendar day of that month (weekday) inside the span, so a span that covers some months
    /// twice is not biased.
    pub fn fit(times: &[i64]) -> Seasonality {
        let mut fitted = Seasonality::default();
        let (Some(&first), Some(&last)) = (times.iter().min(), times.iter().max()) else {
            return fitted;
        };
        let (first, last) = (first.div_euclid(DAY), last.div_euclid(DAY));
        let span = last - first + 1;
        let mut weekday_days = [0f64; 7];
        let mut month_days = [0f64; 12];
        for day in first..=last {
            weekday_days[weekday_of(day)] += 1.0;
            month_days[month_of(day)] += 1.0;
        }
        // Days with a burst (one incident, a bulk upload) are capped at five times the median busy day, so that a
        // few such days do not make their weekday or month look busy.
        let mut per_day: std::collections::BTreeMap<i64, f64> = std::collections::BTreeMap::new();
        for &t in times {
            *per_day.entry(t.div_euclid(DAY)).or_default() += 1.0;
        }
        let mut sorted: Vec<f64> = per_day.values().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let cap = (5.0 * sorted[sorted.len() / 2]).max(1.0);
        let mut weekday_events = [0f64; 7];
        let mut month_events = [0f64; 12];
        for (&day, &count) in &per_day {
            weekday_events[weekday_of(day)] += count.min(cap);
            month_events[month_of(day)] += count.min(cap);
        }
        let covered = per_day.len() as i64 * 4 >= span;
        if span >= 28 && covered {
            fitted.weekday = normalise_rates(&weekday_events, &weekday_days);
        }
        if span >= 365 && covered {
            fitted.month = normalise_rates(&month_events, &month_days);
        }
        fitted
    }

    /// Averages profiles, each weighted (for example by its number of events); flat profiles count too, so pass
    /// only the ones that were fitted.
    pub fn blend(parts: &[(Seasonality, f64)]) -> Seasonality {
        let total: f64 = parts.iter().map(|(_, w)| w.max(0.0)).sum();
        if total <= 0.0 {
            return Seasonality::default();
        }
        let mut out = Seasonality {
            weekday: [0.0; 7],
            month: [0.0; 12],
        };
        for (profile, weight) in parts {
            let w = weight.max(0.0) / total;
            for (o, v) in out.weekday.iter_mut().zip(profile.weekday) {
                *o += w * v;
            }
            for (o, v) in out.month.iter_mut().zip(profile.month) {
                *o += w * v;
            }
        }
        out
    }

    /// Returns the expected multiplier of a day (days since 1970-01-01).
    pub fn factor(&self, day: i64) -> f64 {
        self.weekday[weekday_of(day)] * self.month[month_of(day)]
    }
}

fn normalise_rates<const N: usize>(events: &[f64; N], days: &[f64; N]) -> [f64; N] {
    let mut rates = [0f64; N];
    let mut known = 0usize;
    for i in 0..N {
        if days[i] > 0.0 {
            rates[i] = events[i] / days[i];
            known += 1;
        }
    }
    let mean = rates.iter().sum::<f64>() / known.max(1) as f64;
    if mean <= 0.0 {
        return [1.0; N];
    }
    let mut out = [1.0; N];
    for i in 0..N {
        if days[i] > 0.0 {
            // A weekday or month with no events at all is kept above zero: nothing is ever impossible.
            out[i] = (rates[i] / mean).max(0.05);
        }
    }
    out
}

/// Returns P(X ≥ k) for X ~ Poisson(λ), accurate far into the tail.
pub fn poisson_sf(k: u32, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda <= 0.0 {
        return 0.0;
    }
    // Sum the terms from k upwards (they shrink once i > λ); start from the log of the k-th term.
    let k = f64::from(k);
    let mut log_term = -lambda + k * lambda.ln() - ln_factorial(k);
    let mut sum = 0.0;
    let mut i = k;
    loop {
        let term = log_term.exp();
        sum += term;
        i += 1.0;
        log_term += lambda.ln() - i.ln();
        if (i > lambda && term < sum * 1e-12) || i > k + 10_000.0 {
            break;
        }
    }
    sum.min(1.0)
}

/// ln(k!) by summation for small k and Stirling's series beyond.
fn ln_factorial(k: f64) -> f64 {
    if k < 30.0 {
        (2..=k as u32).map(|i| f64::from(i).ln()).sum()
    } else {
        k * k.ln() - k + 0.5 * (2.0 * std::f64::consts::PI * k).ln() + 1.0 / (12.0 * k)
            - 1.0 / (360.0 * k * k * k)
    }
}

/// Settings of the surge detector.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SurgeOptions {
    /// Tail probability below which a count alarms.
    pub alpha: f64,
    /// Smallest daily count that can alarm.
    pub min_count: u32,
    /// EWMA weight of each new day.
    pub smoothing: f64,
    /// Days used to start the level before any alarm.
    pub warmup_days: u32,
    /// Alarming days in a row after which the new level is accepted.
    pub accept_after: u32,
}

impl Default for SurgeOptions {
    fn default() -> SurgeOptions {
        SurgeOptions {
            alpha: 0.001,
            min_count: 3,
            smoothing: 0.05,
            warmup_days: 28,
            accept_after: 7,
        }
    }
}

/// A day that alarmed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SurgeAlert {
    pub observed: u32,
    pub expected: f64,
    pub p_value: f64,
    /// 1 for the one-day test, 2 for the two-day test.
    pub days: u8,
}

/// The surge detector of one series (one category × street, or one topic).
#[derive(Clone, Debug)]
pub struct SurgeDetector {
    options: SurgeOptions,
    level: f64,
    seen: u32,
    previous: Option<(u32, f64)>,
    alarm_run: u32,
}

impl SurgeDetector {
    /// Returns a detector with no history.
    pub fn new(options: SurgeOptions) -> SurgeDetector {
        SurgeDetector {
            options,
            level: 0.0,
            seen: 0,
            previous: None,
            alarm_run: 0,
        }
    }

    /// Returns the current deseasonalised level (expected count on a day of factor 1).
    pub fn level(&self) -> f64 {
        self.level
    }

    /// Takes one day's count and its seasonal factor; returns an alert when the day is a surge.
    pub fn observe(&mut self, count: u32, factor: f64) -> Option<SurgeAlert> {
        let factor = factor.max(0.01);
        let options = self.options;
        let adjusted = f64::from(count) / factor;
        if self.seen < options.warmup_days.max(1) {
            self.seen += 1;
            self.level += (adjusted - self.level) / f64::from(self.seen);
            self.previous = Some((count, self.level * factor));
            return None;
        }
        // A little floor: a series that has been silent still expects something now and then.
        let expected = (self.level * factor).max(0.02);
        let mut alert = None;
        let p_one = poisson_sf(count, expected);
        if count >= options.min_count && p_one < options.alpha {
            alert = Some(SurgeAlert {
                observed: count,
                expected,
                p_value: p_one,
                days: 1,
            });
        } else if let Some((previous_count, previous_expected)) = self.previous {
            let sum = count + previous_count;
            let p_two = poisson_sf(sum, expected + previous_expected);
            if sum > options.min_count && p_two < options.alpha {
                alert = Some(SurgeAlert {
                    observed: sum,
                    expected: expected + previous_expected,
                    p_value: p_two,
                    days: 2,
                });
            }
        }
        if alert.is_some() {
            self.alarm_run += 1;
            if self.alarm_run >= options.accept_after.max(1) {
                self.level = adjusted;
                self.alarm_run = 0;
            }
        } else {
            self.alarm_run = 0;
            self.level += options.smoothing * (adjusted - self.level);
        }
        self.previous = Some((count, expected));
        alert
    }
}

/// The fixed-threshold rule: a day alarms when its count reaches the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedThreshold {
    pub threshold: u32,
}

impl FixedThreshold {
    /// The usual office rule for a series whose mean daily count is `mean`: `mean + 3·√mean`, rounded up,
    /// at least 3.
    pub fn for_mean(mean: f64) -> FixedThreshold {
        let mean = mean.max(0.0);
        FixedThreshold {
            threshold: ((mean + 3.0 * mean.sqrt()).ceil() as u32).max(3),
        }
    }

    /// True when the day's count alarms.
    pub fn alarms(&self, count: u32) -> bool {
        count >= self.threshold
    }
}
