//! Sensor rules (物联感知): what makes a reading an alarm, with hysteresis so that one event raises
//! one alarm. Pure: the service keeps a [`Track`] per device and feeds it readings and clock ticks;
//! each call answers which alarms to raise and which to clear.

/// Which rule an alarm comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// The value crossed `high` (or `low`).
    Threshold,
    /// The value changed faster than `max_rate_per_min`.
    Rate,
    /// `band_count` consecutive readings lay outside `[band_low, band_high]`.
    Band,
    /// No reading for `silence_secs`: the device is offline.
    Silence,
}

impl RuleKind {
    pub const ALL: [RuleKind; 4] = [
        RuleKind::Threshold,
        RuleKind::Rate,
        RuleKind::Band,
        RuleKind::Silence,
    ];

    /// The stable storage and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Threshold => "threshold",
            RuleKind::Rate => "rate",
            RuleKind::Band => "band",
            RuleKind::Silence => "silence",
        }
    }

    /// Parses [`RuleKind::as_str`].
    pub fn parse(text: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The rules of a device: its type's defaults, or the device's own override.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    /// Alarm above this value.
    pub high: Option<f64>,
    /// Alarm below this value.
    pub low: Option<f64>,
    /// How far back inside the limit a value must come before an alarm clears (≥ 0).
    pub hysteresis: f64,
    /// Alarm when the value changes faster than this many units per minute.
    pub max_rate_per_min: Option<f64>,
    /// The band for the consecutive-readings rule.
    pub band_low: Option<f64>,
    pub band_high: Option<f64>,
    /// How many consecutive readings outside the band raise an alarm (0: rule off).
    pub band_count: u32,
    /// Offline (and alarm) after this many seconds without a reading.
    pub silence_secs: Option<i64>,
}

/// Bounds on rule values.
pub const RULE_VALUE_MAX: f64 = 1e12;
pub const BAND_COUNT_MAX: u32 = 10_000;
pub const SILENCE_SECS_MAX: i64 = 366 * 86_400;

impl RuleSet {
    /// Checks that the rules make sense; the message names the first problem.
    pub fn validate(&self) -> Result<(), String> {
        let values = [
            ("high", self.high),
            ("low", self.low),
            ("max_rate_per_min", self.max_rate_per_min),
            ("band_low", self.band_low),
            ("band_high", self.band_high),
            ("hysteresis", Some(self.hysteresis)),
        ];
        for (name, value) in values {
            if let Some(v) = value
                && (!v.is_finite() || v.abs() > RULE_VALUE_MAX)
            {
                return Err(format!("{name} must be a finite number"));
            }
        }
        if self.hysteresis < 0.0 {
            return Err("hysteresis must not be negative".into());
        }
        if let (Some(low), Some(high)) = (self.low, self.high)
            && low >= high
        {
            return Err("low must be below high".into());
        }
        if self.max_rate_per_min.is_some_and(|r| r <= 0.0) {
            return Err("max_rate_per_min must be positive".into());
        }
        if self.band_count > BAND_COUNT_MAX {
            return Err(format!("band_count must be at most {BAND_COUNT_MAX}"));
        }
        if self.band_count > 0 && self.band_low.is_none() && self.band_high.is_none() {
            return Err("band_count needs band_low or band_high".into());
        }
        if let (Some(low), Some(high)) = (self.band_low, self.band_high)
            && low >= high
        {
            return Err("band_low must be below band_high".into());
        }
        if self
            .silence_secs
            .is_some_and(|s| !(1..=SILENCE_SECS_MAX).contains(&s))
        {
            return Err(format!("silence_secs must be 1–{SILENCE_SECS_MAX}"));
        }
        Ok(())
    }

    fn outside(value: f64, low: Option<f64>, high: Option<f64>, margin: f64) -> bool {
        high.is_some_and(|h| value > h - margin) || low.is_some_and(|l| value < l + margin)
    }
}

/// What a device's rules decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// A new alarm of this rule, with a message in Chinese for the verifier.
    Raise(RuleKind, String),
    /// The condition of this rule's active alarm no longer holds.
    Clear(RuleKind),
}

/// What the rules remember of one device between readings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Track {
    /// The last reading: (seconds since the epoch, as a float, value).
    pub last: Option<(f64, f64)>,
    /// Consecutive readings outside the band.
    pub band_run: u32,
    /// Whether each rule's alarm is active (indexed by [`RuleKind`]).
    active: [bool; 4],
}

impl Track {
    /// A track that starts from the stored last reading and active alarms.
    pub fn new(last: Option<(f64, f64)>, active: &[RuleKind]) -> Track {
        let mut track = Track {
            last,
            ..Track::default()
        };
        for kind in active {
            track.active[kind.index()] = true;
        }
        track
    }

    /// Whether the alarm of a rule is active.
    pub fn is_active(&self, kind: RuleKind) -> bool {
        self.active[kind.index()]
    }

    /// Whether any alarm is active.
    pub fn any_active(&self) -> bool {
        self.active.iter().any(|a| *a)
    }

    fn set(&mut self, kind: RuleKind, on: bool, out: &mut Vec<Transition>, message: String) {
        let index = kind.index();
        if on && !self.active[index] {
            self.active[index] = true;
            out.push(Transition::Raise(kind, message));
        } else if !on && self.active[index] {
            self.active[index] = false;
            out.push(Transition::Clear(kind));
        }
    }

    /// Applies a reading at `at_secs` and returns what changed. A reading older than the last one
    /// counts for thresholds and bands but not for the rate.
    pub fn reading(&mut self, rules: &RuleSet, at_secs: f64, value: f64) -> Vec<Transition> {
        let mut out = Vec::new();
        // Any reading ends a silence.
        self.set(RuleKind::Silence, false, &mut out, String::new());
        // Threshold: raise outside the limits, clear only once back inside by the hysteresis.
        if rules.high.is_some() || rules.low.is_some() {
            let margin = if self.is_active(RuleKind::Threshold) {
                rules.hysteresis
            } else {
                0.0
            };
            let outside = RuleSet::outside(value, rules.low, rules.high, margin);
            let message = match (rules.high, rules.low) {
                (Some(h), _) if value > h => format!("读数 {value} 超过上限 {h}"),
                (_, Some(l)) if value < l => format!("读数 {value} 低于下限 {l}"),
                _ => String::new(),
            };
            self.set(RuleKind::Threshold, outside, &mut out, message);
        }
        // Rate of change against the previous reading.
        if let Some(max_rate) = rules.max_rate_per_min
            && let Some((last_at, last_value)) = self.last
            && at_secs > last_at
        {
            let rate = (value - last_value).abs() / ((at_secs - last_at) / 60.0);
            let limit = if self.is_active(RuleKind::Rate) {
                (max_rate - rules.hysteresis).max(0.0)
            } else {
                max_rate
            };
            let message = format!("变化速率 {rate:.2}/分钟 超过 {max_rate}/分钟");
            self.set(RuleKind::Rate, rate > limit, &mut out, message);
        }
        // N consecutive readings out of band.
        if rules.band_count > 0 {
            let margin = if self.is_active(RuleKind::Band) {
                rules.hysteresis
            } else {
                0.0
            };
            if RuleSet::outside(value, rules.band_low, rules.band_high, margin) {
                self.band_run = self.band_run.saturating_add(1);
            } else {
                self.band_run = 0;
            }
            let on = if self.is_active(RuleKind::Band) {
                self.band_run > 0
            } else {
                self.band_run >= rules.band_count
            };
            let message = format!("连续 {} 次读数超出正常范围", self.band_run);
            self.set(RuleKind::Band, on, &mut out, message);
        }
        if self.last.is_none_or(|(last_at, _)| at_secs >= last_at) {
            self.last = Some((at_secs, value));
        }
        out
    }

    /// Checks silence at `now_secs`: raises once when the last reading is older than the limit.
    /// A device that never reported is not silent (it was never online).
    pub fn tick(&mut self, rules: &RuleSet, now_secs: f64) -> Vec<Transition> {
        let mut out = Vec::new();
        if let (Some(limit), Some((last_at, _))) = (rules.silence_secs, self.last)
            && now_secs - last_at > limit as f64
            && !self.is_active(RuleKind::Silence)
        {
            let minutes = ((now_secs - last_at) / 60.0).round();
            self.set(
                RuleKind::Silence,
                true,
                &mut out,
                format!("设备已 {minutes} 分钟无数据，离线"),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raises(t: &[Transition]) -> usize {
        t.iter()
            .filter(|t| matches!(t, Transition::Raise(..)))
            .count()
    }

    #[test]
    fn threshold_with_hysteresis_raises_once_and_clears_inside_the_margin() {
        let rules = RuleSet {
            high: Some(100.0),
            hysteresis: 10.0,
            ..RuleSet::default()
        };
        let mut track = Track::default();
        assert!(track.reading(&rules, 0.0, 50.0).is_empty());
        assert_eq!(raises(&track.reading(&rules, 1.0, 120.0)), 1);
        // Flapping around the limit raises nothing new and does not clear.
        for (i, v) in [99.0, 101.0, 95.0, 130.0].into_iter().enumerate() {
            assert!(track.reading(&rules, 2.0 + i as f64, v).is_empty(), "{v}");
        }
        assert_eq!(
            track.reading(&rules, 10.0, 89.0),
            vec![Transition::Clear(RuleKind::Threshold)]
        );
        assert_eq!(raises(&track.reading(&rules, 11.0, 101.0)), 1);
    }

    #[test]
    fn rate_band_and_silence() {
        let rules = RuleSet {
            max_rate_per_min: Some(10.0),
            band_low: Some(0.0),
            band_high: Some(5.0),
            band_count: 3,
            silence_secs: Some(600),
            ..RuleSet::default()
        };
        let mut track = Track::default();
        assert!(track.tick(&rules, 1e6).is_empty(), "never reported");
        assert!(track.reading(&rules, 0.0, 1.0).is_empty());
        // +30 in one minute.
        let t = track.reading(&rules, 60.0, 31.0);
        assert!(
            t.contains(&Transition::Raise(
                RuleKind::Rate,
                "变化速率 30.00/分钟 超过 10/分钟".into()
            )),
            "{t:?}"
        );
        assert!(!track.is_active(RuleKind::Band));
        let t = track.reading(&rules, 120.0, 31.0);
        assert_eq!(t, vec![Transition::Clear(RuleKind::Rate)]);
        let t = track.reading(&rules, 180.0, 31.0);
        assert_eq!(raises(&t), 1, "third out of band: {t:?}");
        assert!(
            track
                .reading(&rules, 240.0, 2.0)
                .contains(&Transition::Clear(RuleKind::Band))
        );
        assert_eq!(raises(&track.tick(&rules, 240.0 + 601.0)), 1);
        assert!(
            track.tick(&rules, 240.0 + 9000.0).is_empty(),
            "one alarm per silence"
        );
        assert!(
            track
                .reading(&rules, 10_000.0, 2.0)
                .contains(&Transition::Clear(RuleKind::Silence))
        );
    }

    #[test]
    fn validation() {
        assert!(RuleSet::default().validate().is_ok());
        for bad in [
            RuleSet {
                high: Some(f64::NAN),
                ..RuleSet::default()
            },
            RuleSet {
                low: Some(5.0),
                high: Some(1.0),
                ..RuleSet::default()
            },
            RuleSet {
                hysteresis: -1.0,
                ..RuleSet::default()
            },
            RuleSet {
                band_count: 3,
                ..RuleSet::default()
            },
            RuleSet {
                silence_secs: Some(0),
                ..RuleSet::default()
            },
            RuleSet {
                max_rate_per_min: Some(0.0),
                ..RuleSet::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
