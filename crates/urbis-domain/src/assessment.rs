//! 绩效考核: grading units (departments, streets, communities, grids) by a weighted scheme of indicators.
//!
//! A [`Scheme`] names indicators with weights and directions, a minimum case volume below which a unit is not
//! graded, and the score bands of grades A–D (below the last band: E). A unit's score is
//! `100 × Σ wᵢ·sᵢ / Σ wᵢ` over the indicators that have a denominator in its cases, where `sᵢ` is the rate for
//! an indicator where higher is better and `1 − rate` where lower is better. Pure: the facts come from the store.

/// An indicator an assessment can weigh (definitions follow ARCHITECTURE.md's rates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Indicator {
    /// 结案率: closed / cases.
    ClosureRate,
    /// 按期结案率: closed as normal (not overdue) / closed.
    OnTimeClosureRate,
    /// 返工率: cases reworked at least once / cases with feedback.
    ReworkRate,
    /// 回退率: cases returned (回退) at least once / cases dispatched.
    ReturnRate,
    /// 督办率: cases supervised (督办) at least once / cases.
    SupervisedRate,
    /// 满意率: satisfied / rated.
    SatisfactionRate,
    /// 解决率: resolved / rated.
    ResolutionRate,
}

impl Indicator {
    /// Every indicator, in a stable order.
    pub const ALL: [Indicator; 7] = [
        Indicator::ClosureRate,
        Indicator::OnTimeClosureRate,
        Indicator::ReworkRate,
        Indicator::ReturnRate,
        Indicator::SupervisedRate,
        Indicator::SatisfactionRate,
        Indicator::ResolutionRate,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::ClosureRate => "closure_rate",
            Indicator::OnTimeClosureRate => "on_time_closure_rate",
            Indicator::ReworkRate => "rework_rate",
            Indicator::ReturnRate => "return_rate",
            Indicator::SupervisedRate => "supervised_rate",
            Indicator::SatisfactionRate => "satisfaction_rate",
            Indicator::ResolutionRate => "resolution_rate",
        }
    }

    /// The Chinese name offices use.
    pub fn label_zh(self) -> &'static str {
        match self {
            Indicator::ClosureRate => "结案率",
            Indicator::OnTimeClosureRate => "按期结案率",
            Indicator::ReworkRate => "返工率",
            Indicator::ReturnRate => "回退率",
            Indicator::SupervisedRate => "督办率",
            Indicator::SatisfactionRate => "满意率",
            Indicator::ResolutionRate => "解决率",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Indicator> {
        Indicator::ALL.into_iter().find(|i| i.as_str() == name)
    }

    /// The natural direction: true when a higher rate is better.
    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Indicator::ReworkRate | Indicator::ReturnRate | Indicator::SupervisedRate
        )
    }

    /// Returns (numerator, denominator) over a unit's cases.
    pub fn counts(self, cases: &[CaseFacts]) -> (u64, u64) {
        let count = |f: &dyn Fn(&CaseFacts) -> bool| cases.iter().filter(|c| f(c)).count() as u64;
        match self {
            Indicator::ClosureRate => (count(&|c| c.closed), cases.len() as u64),
            Indicator::OnTimeClosureRate => (
                count(&|c| c.closed && c.closed_on_time),
                count(&|c| c.closed),
            ),
            Indicator::ReworkRate => (
                count(&|c| c.had_feedback && c.reworked),
                count(&|c| c.had_feedback),
            ),
            Indicator::ReturnRate => (
                count(&|c| c.dispatched && c.returned),
                count(&|c| c.dispatched),
            ),
            Indicator::SupervisedRate => (count(&|c| c.supervised), cases.len() as u64),
            Indicator::SatisfactionRate => {
                (count(&|c| c.rated && c.satisfied), count(&|c| c.rated))
            }
            Indicator::ResolutionRate => (count(&|c| c.rated && c.resolved), count(&|c| c.rated)),
        }
    }
}

/// What the assessment needs to know of one case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaseFacts {
    pub case_id: i64,
    pub closed: bool,
    pub closed_on_time: bool,
    pub had_feedback: bool,
    pub reworked: bool,
    pub dispatched: bool,
    pub returned: bool,
    pub supervised: bool,
    pub rated: bool,
    pub satisfied: bool,
    pub resolved: bool,
}

/// One weighted indicator of a scheme.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weighted {
    pub indicator: Indicator,
    pub weight: f64,
    /// True when a higher rate is better (normally [`Indicator::higher_is_better`]).
    pub higher_is_better: bool,
}

/// An assessment scheme.
#[derive(Clone, Debug, PartialEq)]
pub struct Scheme {
    pub indicators: Vec<Weighted>,
    /// Units with fewer cases are not graded.
    pub min_cases: u64,
    /// Lowest scores of grades A, B, C and D, descending; below the last: E.
    pub bands: [f64; 4],
}

/// Why a scheme is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    #[error("a scheme needs at least one indicator")]
    NoIndicators,
    #[error("indicator {0} appears twice")]
    Duplicate(&'static str),
    #[error("weights must be positive and finite")]
    BadWeight,
    #[error("grade bands must be descending scores between 0 and 100")]
    BadBands,
}

impl Scheme {
    /// Checks the scheme.
    pub fn validate(&self) -> Result<(), SchemeError> {
        if self.indicators.is_empty() {
            return Err(SchemeError::NoIndicators);
        }
        for (i, w) in self.indicators.iter().enumerate() {
            if !(w.weight.is_finite() && w.weight > 0.0) {
                return Err(SchemeError::BadWeight);
            }
            if self.indicators[..i]
                .iter()
                .any(|o| o.indicator == w.indicator)
            {
                return Err(SchemeError::Duplicate(w.indicator.as_str()));
            }
        }
        let b = self.bands;
        let in_range = b.iter().all(|x| (0.0..=100.0).contains(x));
        if !(in_range && b[0] >= b[1] && b[1] >= b[2] && b[2] >= b[3]) {
            return Err(SchemeError::BadBands);
        }
        Ok(())
    }

    /// Returns the grade of a score.
    pub fn grade(&self, score: f64) -> char {
        ['A', 'B', 'C', 'D']
            .into_iter()
            .zip(self.bands)
            .find(|(_, low)| score >= *low - 1e-9)
            .map_or('E', |(g, _)| g)
    }

    /// Grades one unit's cases.
    pub fn assess(&self, cases: &[CaseFacts]) -> UnitGrade {
        let mut values = Vec::new();
        let (mut weighted, mut total) = (0.0, 0.0);
        for w in &self.indicators {
            let (numerator, denominator) = w.indicator.counts(cases);
            let rate = (denominator > 0).then(|| numerator as f64 / denominator as f64);
            if let Some(rate) = rate {
                let part = if w.higher_is_better { rate } else { 1.0 - rate };
                weighted += w.weight * part;
                total += w.weight;
            }
            values.push(IndicatorValue {
                indicator: w.indicator,
                numerator,
                denominator,
                rate,
            });
        }
        let cases_n = cases.len() as u64;
        let score = (total > 0.0).then(|| 100.0 * weighted / total);
        let graded = cases_n >= self.min_cases.max(1);
        UnitGrade {
            cases: cases_n,
            score,
            grade: score.filter(|_| graded).map(|s| self.grade(s)),
            values,
        }
    }
}

/// One indicator's value for a unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IndicatorValue {
    pub indicator: Indicator,
    pub numerator: u64,
    pub denominator: u64,
    pub rate: Option<f64>,
}

/// A unit's result: its score (when any indicator has a denominator) and its grade (when it also has the
/// minimum volume).
#[derive(Clone, Debug, PartialEq)]
pub struct UnitGrade {
    pub cases: u64,
    pub score: Option<f64>,
    pub grade: Option<char>,
    pub values: Vec<IndicatorValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheme() -> Scheme {
        Scheme {
            indicators: vec![
                Weighted {
                    indicator: Indicator::ClosureRate,
                    weight: 0.5,
                    higher_is_better: true,
                },
                Weighted {
                    indicator: Indicator::OnTimeClosureRate,
                    weight: 0.3,
                    higher_is_better: true,
                },
                Weighted {
                    indicator: Indicator::SatisfactionRate,
                    weight: 0.2,
                    higher_is_better: true,
                },
            ],
            min_cases: 3,
            bands: [90.0, 80.0, 70.0, 60.0],
        }
    }

    fn case(closed: bool, on_time: bool, rated: Option<bool>) -> CaseFacts {
        CaseFacts {
            closed,
            closed_on_time: on_time,
            rated: rated.is_some(),
            satisfied: rated == Some(true),
            ..CaseFacts::default()
        }
    }

    #[test]
    fn a_unit_is_scored_by_weighted_rates_and_graded_by_bands() {
        // 4 cases: 3 closed (2 on time), 2 rated (1 satisfied).
        // 100 × (0.5·3/4 + 0.3·2/3 + 0.2·1/2) = 100 × (0.375 + 0.2 + 0.1) = 67.5 → D.
        let cases = [
            case(true, true, Some(true)),
            case(true, true, Some(false)),
            case(true, false, None),
            case(false, false, None),
        ];
        let result = scheme().assess(&cases);
        assert!((result.score.unwrap() - 67.5).abs() < 1e-9);
        assert_eq!(result.grade, Some('D'));
        assert_eq!(result.values[1].numerator, 2);
        assert_eq!(result.values[1].denominator, 3);
    }

    #[test]
    fn too_few_cases_are_scored_but_not_graded_and_missing_denominators_renormalise() {
        // 2 cases, both closed on time, none rated: satisfaction drops out, score 100, below 3 cases: no grade.
        let result = scheme().assess(&[case(true, true, None), case(true, true, None)]);
        assert_eq!(result.score, Some(100.0));
        assert_eq!(result.grade, None);
        assert_eq!(result.values[2].rate, None);
    }

    #[test]
    fn lower_is_better_indicators_count_inverted_and_bad_schemes_are_refused() {
        let s = Scheme {
            indicators: vec![Weighted {
                indicator: Indicator::SupervisedRate,
                weight: 1.0,
                higher_is_better: false,
            }],
            min_cases: 1,
            bands: [90.0, 80.0, 70.0, 60.0],
        };
        let supervised = CaseFacts {
            supervised: true,
            ..CaseFacts::default()
        };
        let result = s.assess(&[
            supervised,
            CaseFacts::default(),
            CaseFacts::default(),
            CaseFacts::default(),
        ]);
        assert_eq!(result.score, Some(75.0));
        assert_eq!(result.grade, Some('C'));
        assert_eq!(s.grade(90.0), 'A');
        assert_eq!(s.grade(59.99), 'E');
        let mut bad = s.clone();
        bad.bands = [60.0, 70.0, 80.0, 90.0];
        assert_eq!(bad.validate(), Err(SchemeError::BadBands));
        bad = s.clone();
        bad.indicators.push(bad.indicators[0]);
        assert_eq!(
            bad.validate(),
            Err(SchemeError::Duplicate("supervised_rate"))
        );
        assert_eq!(Indicator::parse("rework_rate"), Some(Indicator::ReworkRate));
    }
}
