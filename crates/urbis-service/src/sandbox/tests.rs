//! Unit tests of the sandbox's pure parts: the Kaplan–Meier fit, the intervals, the
//! difference-in-differences estimator.

use chrono::{NaiveDate, NaiveDateTime};

use super::experiment::did;
use super::model::{Exit, HistCase, Stage, fit};
use super::report::{confidence, predictive};

fn at(day: u32, hour: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 10, day)
        .and_then(|d| d.and_hms_opt(hour, 0, 0))
        .expect("time")
}

fn case(id: i64, reported: NaiveDateTime, steps: &[(NaiveDateTime, &str)]) -> HistCase {
    HistCase {
        id,
        reported,
        category: Some(1),
        area_id: 1,
        area_path: "/1/".into(),
        lead: Some(7),
        closure_type: None,
        steps: steps.iter().map(|(t, a)| (*t, (*a).to_owned())).collect(),
    }
}

#[test]
fn a_case_still_waiting_is_censored_not_counted_as_never_registering() {
    // Ten cases registered after 1 hour; ten reported half an hour before the history was read
    // and not registered yet. Kaplan–Meier keeps those at risk for half an hour only: every case
    // that waited long enough registered, so no draw says "never".
    let mut cases = Vec::new();
    for i in 0..10 {
        cases.push(case(i, at(1, 8), &[(at(1, 9), "register")]));
    }
    for i in 10..20 {
        cases.push(case(i, at(20, 11) + chrono::Duration::minutes(30), &[]));
    }
    let fitted = fit(&cases, at(20, 12));
    let dist = fitted
        .dist(Stage::Received, None, Some(1))
        .expect("a distribution");
    for u in [0.0, 0.3, 0.6, 0.99] {
        let (minutes, exit) = dist.sample(u, 0.5).expect("always registers");
        assert_eq!(minutes, 60.0);
        assert_eq!(exit, Exit::Register);
    }
    assert_eq!(fitted.observed.registered, 10);
}

#[test]
fn a_case_waiting_longer_than_every_exit_is_the_chance_of_never() {
    // Half the cases were dispatched within a day, half waited a month and still wait.
    let mut cases = Vec::new();
    for i in 0..10 {
        let steps = if i % 2 == 0 {
            vec![(at(1, 9), "register"), (at(1, 12), "dispatch")]
        } else {
            vec![(at(1, 9), "register")]
        };
        cases.push(HistCase {
            steps: steps.into_iter().map(|(t, a)| (t, a.to_owned())).collect(),
            ..case(i, at(1, 8), &[])
        });
    }
    let fitted = fit(&cases, at(31, 8));
    let dist = fitted.dist(Stage::Registered, None, Some(1)).expect("dist");
    assert!(dist.sample(0.7, 0.1).is_some(), "survival 0.5 is reached");
    assert!(
        dist.sample(0.3, 0.1).is_none(),
        "below 0.5: never dispatched"
    );
}

#[test]
fn intervals_widen_with_spread_and_prediction_is_wider_than_confidence() {
    let values = [0.5, 0.52, 0.48, 0.51, 0.49];
    let p = predictive(&values);
    let c = confidence(&values);
    assert!((p.mean - 0.5).abs() < 1e-12);
    assert!(p.hi - p.lo > c.hi - c.lo);
    assert!(c.lo < 0.5 && 0.5 < c.hi);
    let same = predictive(&[3.0, 3.0, 3.0]);
    assert_eq!((same.lo, same.hi), (3.0, 3.0));
}

#[test]
fn difference_in_differences_subtracts_the_control_trend() {
    // Every unit improves by 0.1; treated units by 0.3 more.
    let treated = [0.41, 0.39, 0.40, 0.42, 0.38];
    let control = [0.11, 0.09, 0.10, 0.12, 0.08];
    let e = did("on_time_closure_rate", &treated, &control, false).expect("estimate");
    assert!((e.effect - 0.3).abs() < 1e-9, "{e:?}");
    assert!(e.lo < 0.3 && 0.3 < e.hi && e.lo > 0.2, "{e:?}");
    assert!(did("closure_rate", &[0.1], &control, false).is_err());
}
