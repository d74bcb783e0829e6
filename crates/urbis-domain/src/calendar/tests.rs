use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Weekday};

use crate::calendar::{
    CalendarError, ClockType, MAX_AMOUNT, MAX_DAYS_WITHOUT_WORK, OfficeWindow, Pause,
    WorkingCalendar, deadline, elapsed_minutes, remaining_minutes,
};

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn time(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

fn window(start: &str, end: &str) -> OfficeWindow {
    OfficeWindow {
        start: time(start),
        end: time(end),
    }
}

fn pause(start: &str, end: &str) -> Pause {
    Pause::closed(at(start), at(end))
}

/// Runs `deadline` on the standard calendar and expects no error.
fn standard_deadline(
    clock: ClockType,
    amount: u32,
    start: &str,
    pauses: &[Pause],
) -> Option<NaiveDateTime> {
    deadline(
        &WorkingCalendar::standard(),
        clock,
        amount,
        at(start),
        pauses,
    )
    .unwrap()
}

/// Builds a National Day style week: Thursday 2026-10-01 to Wednesday 2026-10-07 off, with
/// Sunday 2026-09-27 and Saturday 2026-10-10 as make-up workdays.
fn national_day_2026() -> WorkingCalendar {
    let holidays = (1..=7).map(|d| NaiveDate::from_ymd_opt(2026, 10, d).unwrap());
    WorkingCalendar::new(
        WorkingCalendar::standard().windows().to_vec(),
        holidays,
        [day("2026-09-27"), day("2026-10-10")],
    )
    .unwrap()
}

#[test]
fn test_dates_fall_on_the_expected_weekdays() {
    assert_eq!(day("2026-03-02").weekday(), Weekday::Mon);
    assert_eq!(day("2026-03-06").weekday(), Weekday::Fri);
    assert_eq!(day("2026-09-27").weekday(), Weekday::Sun);
    assert_eq!(day("2026-10-01").weekday(), Weekday::Thu);
    assert_eq!(day("2026-10-10").weekday(), Weekday::Sat);
}

#[test]
fn clock_type_names_round_trip() {
    let names: Vec<&str> = ClockType::ALL.iter().map(ClockType::as_str).collect();
    assert_eq!(
        names,
        ["urgent_hour", "working_hour", "working_day", "natural_day"]
    );
    for clock in ClockType::ALL {
        assert_eq!(ClockType::parse(clock.as_str()).unwrap(), clock);
        assert_eq!(clock.to_string(), clock.as_str());
        assert_eq!(clock.as_str().parse::<ClockType>().unwrap(), clock);
    }
    assert_eq!(
        ClockType::parse("work_hour").unwrap(),
        ClockType::WorkingHour
    );
    assert_eq!(ClockType::parse("work_day").unwrap(), ClockType::WorkingDay);
    let err = ClockType::parse("Working_Hour").unwrap_err();
    assert_eq!(
        err,
        CalendarError::UnknownClockType("Working_Hour".to_owned())
    );
    assert_eq!(
        ClockType::parse("hourly").unwrap_err().to_string(),
        "unknown clock type `hourly`"
    );
}

#[test]
fn unit_minutes_follow_the_calendar() {
    let cal = WorkingCalendar::standard();
    assert_eq!(ClockType::UrgentHour.unit_minutes(&cal), 60);
    assert_eq!(ClockType::WorkingHour.unit_minutes(&cal), 60);
    assert_eq!(ClockType::WorkingDay.unit_minutes(&cal), 450);
    assert_eq!(ClockType::NaturalDay.unit_minutes(&cal), 1440);
    assert!(ClockType::WorkingDay.is_working_clock());
    assert!(!ClockType::UrgentHour.is_working_clock());
}

#[test]
fn standard_calendar_is_weekdays_with_a_lunch_break() {
    let cal = WorkingCalendar::standard();
    assert_eq!(
        cal.windows(),
        [window("09:00", "12:00"), window("13:30", "18:00")]
    );
    assert_eq!(cal.office_minutes_per_day(), 450);
    assert!(cal.holidays().is_empty());
    assert!(cal.makeup_workdays().is_empty());
    let week: Vec<bool> = (2..=8)
        .map(|d| cal.is_working_day(NaiveDate::from_ymd_opt(2026, 3, d).unwrap()))
        .collect();
    assert_eq!(week, [true, true, true, true, true, false, false]);
    assert!(cal.is_office_time(at("2026-03-02 09:00")));
    assert!(cal.is_office_time(at("2026-03-02 11:59")));
    assert!(!cal.is_office_time(at("2026-03-02 12:00")));
    assert!(!cal.is_office_time(at("2026-03-02 13:29")));
    assert!(cal.is_office_time(at("2026-03-02 13:30")));
    assert!(!cal.is_office_time(at("2026-03-02 18:00")));
    assert!(!cal.is_office_time(at("2026-03-07 10:00")));
}

#[test]
fn working_hours_skip_the_weekend() {
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 2, "2026-03-06 17:00", &[]),
        Some(at("2026-03-09 10:00"))
    );
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 1, "2026-03-06 18:00", &[]),
        Some(at("2026-03-09 10:00"))
    );
}

#[test]
fn working_day_from_friday_afternoon_lands_on_monday() {
    assert_eq!(
        standard_deadline(ClockType::WorkingDay, 1, "2026-03-06 15:00", &[]),
        Some(at("2026-03-09 15:00"))
    );
}

#[test]
fn five_working_days_from_monday_end_next_monday() {
    assert_eq!(
        standard_deadline(ClockType::WorkingDay, 5, "2026-03-02 10:00", &[]),
        Some(at("2026-03-09 10:00"))
    );
    assert_eq!(
        standard_deadline(ClockType::WorkingDay, 5, "2026-03-02 14:15", &[]),
        Some(at("2026-03-09 14:15"))
    );
}

#[test]
fn working_hours_jump_the_lunch_gap() {
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 3, "2026-03-02 10:00", &[]),
        Some(at("2026-03-02 14:30"))
    );
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 8, "2026-03-02 10:00", &[]),
        Some(at("2026-03-03 10:30"))
    );
}

#[test]
fn deadline_at_a_window_end_stays_there() {
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 1, "2026-03-02 11:00", &[]),
        Some(at("2026-03-02 12:00"))
    );
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 3, "2026-03-02 09:00", &[]),
        Some(at("2026-03-02 12:00"))
    );
    assert_eq!(
        standard_deadline(ClockType::WorkingDay, 1, "2026-03-02 09:00", &[]),
        Some(at("2026-03-02 18:00"))
    );
    assert_eq!(
        standard_deadline(ClockType::WorkingDay, 1, "2026-03-06 09:00", &[]),
        Some(at("2026-03-06 18:00"))
    );
}

#[test]
fn start_outside_office_hours_waits_for_the_next_window() {
    // Before office hours.
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 1, "2026-03-02 07:00", &[]),
        Some(at("2026-03-02 10:00"))
    );
    // During lunch, and exactly at the end of the morning window.
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 1, "2026-03-02 12:30", &[]),
        Some(at("2026-03-02 14:30"))
    );
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 1, "2026-03-02 12:00", &[]),
        Some(at("2026-03-02 14:30"))
    );
    // After office hours, and on a weekend.
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 1, "2026-03-02 19:00", &[]),
        Some(at("2026-03-03 10:00"))
    );
    assert_eq!(
        standard_deadline(ClockType::WorkingDay, 1, "2026-03-07 10:00", &[]),
        Some(at("2026-03-09 18:00"))
    );
}

#[test]
fn start_with_seconds_keeps_its_offset() {
    let start = at("2026-03-02 10:00") + TimeDelta::seconds(30);
    let cal = WorkingCalendar::standard();
    let end = deadline(&cal, ClockType::WorkingHour, 1, start, &[]).unwrap();
    assert_eq!(end, Some(at("2026-03-02 11:00") + TimeDelta::seconds(30)));
    assert_eq!(
        elapsed_minutes(&cal, ClockType::WorkingHour, start, end.unwrap(), &[]),
        60
    );
}

#[test]
fn national_day_week_is_skipped_and_make_up_days_count() {
    let cal = national_day_2026();
    assert!(cal.is_working_day(day("2026-09-27")));
    assert!(!cal.is_working_day(day("2026-09-26")));
    assert!((1..=7).all(|d| !cal.is_working_day(NaiveDate::from_ymd_opt(2026, 10, d).unwrap())));
    assert!(cal.is_working_day(day("2026-10-08")));
    assert!(cal.is_working_day(day("2026-10-10")));
    assert!(!cal.is_working_day(day("2026-10-11")));

    let three_days = deadline(&cal, ClockType::WorkingDay, 3, at("2026-09-30 10:00"), &[]).unwrap();
    assert_eq!(three_days, Some(at("2026-10-10 10:00")));
    let two_hours = deadline(&cal, ClockType::WorkingHour, 2, at("2026-09-30 17:00"), &[]).unwrap();
    assert_eq!(two_hours, Some(at("2026-10-08 10:00")));

    let without_makeup =
        WorkingCalendar::new(cal.windows().to_vec(), cal.holidays().iter().copied(), []).unwrap();
    let three_days = deadline(
        &without_makeup,
        ClockType::WorkingDay,
        3,
        at("2026-09-30 10:00"),
        &[],
    )
    .unwrap();
    assert_eq!(three_days, Some(at("2026-10-12 10:00")));
}

#[test]
fn make_up_weekend_days_count_as_working_days() {
    let cal = national_day_2026();
    let saturday = deadline(&cal, ClockType::WorkingHour, 2, at("2026-10-09 17:00"), &[]).unwrap();
    assert_eq!(saturday, Some(at("2026-10-10 10:00")));
    let sunday = deadline(&cal, ClockType::WorkingDay, 1, at("2026-09-25 10:00"), &[]).unwrap();
    assert_eq!(sunday, Some(at("2026-09-27 10:00")));
    assert_eq!(
        elapsed_minutes(
            &cal,
            ClockType::WorkingHour,
            at("2026-10-10 00:00"),
            at("2026-10-11 00:00"),
            &[]
        ),
        450
    );
    assert_eq!(
        elapsed_minutes(
            &cal,
            ClockType::WorkingHour,
            at("2026-10-03 00:00"),
            at("2026-10-04 00:00"),
            &[]
        ),
        0
    );
}

#[test]
fn pause_inside_a_window_pushes_the_deadline() {
    let pauses = [pause("2026-03-02 10:00", "2026-03-02 10:30")];
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 2, "2026-03-02 09:00", &pauses),
        Some(at("2026-03-02 11:30"))
    );
}

#[test]
fn overlapping_unsorted_and_inverted_pauses_are_merged() {
    let pauses = [
        pause("2026-03-02 10:15", "2026-03-02 11:00"),
        pause("2026-03-02 10:00", "2026-03-02 10:30"),
        pause("2026-03-02 11:00", "2026-03-02 10:00"),
    ];
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 2, "2026-03-02 09:00", &pauses),
        Some(at("2026-03-02 12:00"))
    );
    let cal = WorkingCalendar::standard();
    let elapsed = elapsed_minutes(
        &cal,
        ClockType::WorkingHour,
        at("2026-03-02 09:00"),
        at("2026-03-02 12:00"),
        &pauses,
    );
    assert_eq!(elapsed, 120);
}

#[test]
fn pause_over_lunch_only_removes_office_time() {
    let pauses = [pause("2026-03-02 11:30", "2026-03-02 14:00")];
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 3, "2026-03-02 09:00", &pauses),
        Some(at("2026-03-02 14:30"))
    );
}

#[test]
fn pause_spanning_a_weekend() {
    let pauses = [pause("2026-03-06 17:00", "2026-03-09 10:00")];
    assert_eq!(
        standard_deadline(ClockType::WorkingDay, 1, "2026-03-06 15:00", &pauses),
        Some(at("2026-03-09 17:00"))
    );
    let pauses = [pause("2026-03-07 00:00", "2026-03-09 00:00")];
    assert_eq!(
        standard_deadline(ClockType::NaturalDay, 3, "2026-03-06 12:00", &pauses),
        Some(at("2026-03-11 12:00"))
    );
    // Working clocks do not run on the weekend anyway, so the same pause changes nothing.
    assert_eq!(
        standard_deadline(ClockType::WorkingDay, 1, "2026-03-06 12:00", &pauses),
        Some(at("2026-03-09 12:00"))
    );
}

#[test]
fn urgent_hours_cross_midnight_and_honour_pauses() {
    assert_eq!(
        standard_deadline(ClockType::UrgentHour, 4, "2026-03-02 22:00", &[]),
        Some(at("2026-03-03 02:00"))
    );
    let inside = [pause("2026-03-02 23:00", "2026-03-02 23:30")];
    assert_eq!(
        standard_deadline(ClockType::UrgentHour, 4, "2026-03-02 22:00", &inside),
        Some(at("2026-03-03 02:30"))
    );
    let covering_start = [pause("2026-03-02 21:00", "2026-03-02 22:30")];
    assert_eq!(
        standard_deadline(
            ClockType::UrgentHour,
            4,
            "2026-03-02 22:00",
            &covering_start
        ),
        Some(at("2026-03-03 02:30"))
    );
    let before_start = [pause("2026-03-02 20:00", "2026-03-02 21:00")];
    assert_eq!(
        standard_deadline(ClockType::UrgentHour, 4, "2026-03-02 22:00", &before_start),
        Some(at("2026-03-03 02:00"))
    );
}

#[test]
fn natural_days_ignore_weekends_and_holidays() {
    assert_eq!(
        standard_deadline(ClockType::NaturalDay, 1, "2026-03-07 10:00", &[]),
        Some(at("2026-03-08 10:00"))
    );
    let cal = national_day_2026();
    let end = deadline(&cal, ClockType::NaturalDay, 2, at("2026-10-01 08:00"), &[]).unwrap();
    assert_eq!(end, Some(at("2026-10-03 08:00")));
    let pauses = [pause("2026-10-01 20:00", "2026-10-02 08:00")];
    let end = deadline(
        &cal,
        ClockType::NaturalDay,
        2,
        at("2026-10-01 08:00"),
        &pauses,
    )
    .unwrap();
    assert_eq!(end, Some(at("2026-10-03 20:00")));
}

#[test]
fn open_pause_before_the_deadline_stops_the_clock() {
    let open = [Pause::open(at("2026-03-02 11:00"))];
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 4, "2026-03-02 09:00", &open),
        None
    );
    assert_eq!(
        standard_deadline(ClockType::UrgentHour, 4, "2026-03-02 09:00", &open),
        None
    );
    assert_eq!(
        standard_deadline(ClockType::NaturalDay, 1, "2026-03-02 09:00", &open),
        None
    );
    // Opened on a Saturday, before the Monday on which the deadline would fall.
    let open_on_weekend = [Pause::open(at("2026-03-07 10:00"))];
    assert_eq!(
        standard_deadline(
            ClockType::WorkingHour,
            2,
            "2026-03-06 17:00",
            &open_on_weekend
        ),
        None
    );
    // Opened before the start.
    let open_earlier = [Pause::open(at("2026-03-01 10:00"))];
    assert_eq!(
        standard_deadline(ClockType::UrgentHour, 1, "2026-03-02 09:00", &open_earlier),
        None
    );
}

#[test]
fn pauses_from_the_deadline_on_have_no_effect() {
    let expected = Some(at("2026-03-02 11:00"));
    let open_at_deadline = [Pause::open(at("2026-03-02 11:00"))];
    assert_eq!(
        standard_deadline(
            ClockType::WorkingHour,
            2,
            "2026-03-02 09:00",
            &open_at_deadline
        ),
        expected
    );
    let open_after = [Pause::open(at("2026-03-02 15:00"))];
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 2, "2026-03-02 09:00", &open_after),
        expected
    );
    let closed_after = [pause("2026-03-02 11:00", "2026-03-02 16:00")];
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 2, "2026-03-02 09:00", &closed_after),
        expected
    );
    // Open at the end of a window on a Friday: the deadline stays at that end.
    let open_friday = [Pause::open(at("2026-03-06 18:00"))];
    assert_eq!(
        standard_deadline(ClockType::WorkingHour, 1, "2026-03-06 17:00", &open_friday),
        Some(at("2026-03-06 18:00"))
    );
}

#[test]
fn amount_zero_returns_the_start() {
    for clock in ClockType::ALL {
        assert_eq!(
            standard_deadline(clock, 0, "2026-03-07 10:00", &[]),
            Some(at("2026-03-07 10:00"))
        );
        let open = [Pause::open(at("2026-03-01 00:00"))];
        assert_eq!(
            standard_deadline(clock, 0, "2026-03-07 10:00", &open),
            Some(at("2026-03-07 10:00"))
        );
    }
}

#[test]
fn amounts_above_the_cap_are_rejected() {
    let cal = WorkingCalendar::standard();
    for clock in ClockType::ALL {
        let err = deadline(&cal, clock, MAX_AMOUNT + 1, at("2026-03-02 09:00"), &[]).unwrap_err();
        assert_eq!(
            err,
            CalendarError::AmountTooLarge {
                amount: MAX_AMOUNT + 1,
                max: MAX_AMOUNT
            }
        );
        assert!(
            deadline(&cal, clock, MAX_AMOUNT, at("2026-03-02 09:00"), &[])
                .unwrap()
                .is_some()
        );
    }
    // 10,000 working days are exactly 2,000 five-day weeks.
    let end = deadline(
        &cal,
        ClockType::WorkingDay,
        MAX_AMOUNT,
        at("2026-03-02 10:00"),
        &[],
    )
    .unwrap();
    assert_eq!(end, Some(at("2026-03-02 10:00") + TimeDelta::weeks(2_000)));
}

#[test]
fn calendar_without_working_days_is_an_error_not_a_hang() {
    let start = day("2026-01-01");
    let all_days_off = (0..800).map(|n| start + TimeDelta::days(n));
    let cal = WorkingCalendar::new(
        WorkingCalendar::standard().windows().to_vec(),
        all_days_off,
        [],
    )
    .unwrap();
    for clock in [ClockType::WorkingHour, ClockType::WorkingDay] {
        let err = deadline(&cal, clock, 1, at("2026-01-01 09:00"), &[]).unwrap_err();
        assert_eq!(
            err,
            CalendarError::NoWorkingDay {
                from: start,
                days: MAX_DAYS_WITHOUT_WORK
            }
        );
    }
    let natural = deadline(&cal, ClockType::NaturalDay, 1, at("2026-01-01 09:00"), &[]).unwrap();
    assert_eq!(natural, Some(at("2026-01-02 09:00")));
    let elapsed = elapsed_minutes(
        &cal,
        ClockType::WorkingHour,
        at("2026-01-01 00:00"),
        at("2027-06-01 00:00"),
        &[],
    );
    assert_eq!(elapsed, 0);
}

#[test]
fn elapsed_crosses_gaps_longer_than_the_deadline_limit() {
    let start = day("2026-01-01");
    let days_off = (0..400).map(|n| start + TimeDelta::days(n));
    let cal =
        WorkingCalendar::new(WorkingCalendar::standard().windows().to_vec(), days_off, []).unwrap();
    // Day 400 after 2026-01-01 is Friday 2027-02-05, the first working day.
    assert_eq!(start + TimeDelta::days(400), day("2027-02-05"));
    assert_eq!(day("2027-02-05").weekday(), Weekday::Fri);
    let err = deadline(&cal, ClockType::WorkingHour, 1, at("2026-01-01 09:00"), &[]).unwrap_err();
    assert!(matches!(err, CalendarError::NoWorkingDay { .. }));
    let elapsed = elapsed_minutes(
        &cal,
        ClockType::WorkingHour,
        at("2026-01-01 00:00"),
        at("2027-02-06 00:00"),
        &[],
    );
    assert_eq!(elapsed, 450);
}

#[test]
fn long_gap_below_the_limit_is_crossed() {
    let start = day("2026-01-01");
    let days_off = (0..300).map(|n| start + TimeDelta::days(n));
    let cal =
        WorkingCalendar::new(WorkingCalendar::standard().windows().to_vec(), days_off, []).unwrap();
    // 2026-10-28 is the first day after the gap; it is a Wednesday.
    assert_eq!(day("2026-10-28").weekday(), Weekday::Wed);
    let end = deadline(&cal, ClockType::WorkingHour, 1, at("2026-01-01 09:00"), &[]).unwrap();
    assert_eq!(end, Some(at("2026-10-28 10:00")));
}

#[test]
fn invalid_calendars_are_rejected() {
    let new = |windows: Vec<OfficeWindow>| WorkingCalendar::new(windows, [], []);
    assert_eq!(new(vec![]).unwrap_err(), CalendarError::NoOfficeWindows);
    assert_eq!(
        new(vec![window("12:00", "09:00")]).unwrap_err(),
        CalendarError::EmptyWindow {
            start: time("12:00"),
            end: time("09:00")
        }
    );
    assert_eq!(
        new(vec![window("09:00", "09:00")]).unwrap_err(),
        CalendarError::EmptyWindow {
            start: time("09:00"),
            end: time("09:00")
        }
    );
    assert_eq!(
        new(vec![window("13:30", "18:00"), window("09:00", "12:00")]).unwrap_err(),
        CalendarError::OverlappingWindows {
            previous_end: time("18:00"),
            next_start: time("09:00")
        }
    );
    assert_eq!(
        new(vec![window("09:00", "12:00"), window("11:00", "18:00")]).unwrap_err(),
        CalendarError::OverlappingWindows {
            previous_end: time("12:00"),
            next_start: time("11:00")
        }
    );
    let unaligned = OfficeWindow {
        start: NaiveTime::from_hms_opt(9, 0, 30).unwrap(),
        end: time("12:00"),
    };
    assert!(matches!(
        new(vec![unaligned]).unwrap_err(),
        CalendarError::UnalignedWindow { .. }
    ));
    let both = WorkingCalendar::new(
        vec![window("09:00", "12:00")],
        [day("2026-10-10")],
        [day("2026-10-10")],
    );
    assert_eq!(
        both.unwrap_err(),
        CalendarError::HolidayAndMakeupWorkday(day("2026-10-10"))
    );
    // Touching windows are fine.
    let touching = new(vec![window("09:00", "12:00"), window("12:00", "13:00")]).unwrap();
    assert_eq!(touching.office_minutes_per_day(), 240);
}

#[test]
fn error_messages_are_lowercase_without_trailing_period() {
    let errors = [
        CalendarError::UnknownClockType("x".to_owned()),
        CalendarError::NoOfficeWindows,
        CalendarError::EmptyWindow {
            start: time("12:00"),
            end: time("09:00"),
        },
        CalendarError::UnalignedWindow {
            start: time("09:00"),
            end: time("12:00"),
        },
        CalendarError::OverlappingWindows {
            previous_end: time("12:00"),
            next_start: time("11:00"),
        },
        CalendarError::HolidayAndMakeupWorkday(day("2026-10-10")),
        CalendarError::AmountTooLarge {
            amount: 10_001,
            max: MAX_AMOUNT,
        },
        CalendarError::NoWorkingDay {
            from: day("2026-01-01"),
            days: MAX_DAYS_WITHOUT_WORK,
        },
        CalendarError::OutOfRange,
    ];
    for err in errors {
        let message = err.to_string();
        let first = message.chars().next().unwrap();
        assert!(!first.is_uppercase(), "{message}");
        assert!(!message.ends_with('.'), "{message}");
    }
}

#[test]
fn elapsed_counts_only_clock_time() {
    let cal = WorkingCalendar::standard();
    let (friday, monday) = (at("2026-03-06 17:00"), at("2026-03-09 10:00"));
    assert_eq!(
        elapsed_minutes(&cal, ClockType::WorkingHour, friday, monday, &[]),
        120
    );
    assert_eq!(
        elapsed_minutes(&cal, ClockType::WorkingDay, friday, monday, &[]),
        120
    );
    assert_eq!(
        elapsed_minutes(&cal, ClockType::UrgentHour, friday, monday, &[]),
        65 * 60
    );
    assert_eq!(
        elapsed_minutes(&cal, ClockType::NaturalDay, friday, monday, &[]),
        65 * 60
    );
    assert_eq!(
        elapsed_minutes(&cal, ClockType::WorkingHour, monday, friday, &[]),
        -120
    );
    assert_eq!(
        elapsed_minutes(&cal, ClockType::WorkingHour, monday, monday, &[]),
        0
    );
    // An open pause runs to the end of the measured range.
    let open = [Pause::open(at("2026-03-09 09:30"))];
    assert_eq!(
        elapsed_minutes(&cal, ClockType::WorkingHour, friday, monday, &open),
        90
    );
    assert_eq!(
        elapsed_minutes(&cal, ClockType::UrgentHour, friday, monday, &open),
        65 * 60 - 30
    );
}

#[test]
fn remaining_is_negative_once_overdue() {
    let cal = WorkingCalendar::standard();
    let due = at("2026-03-09 10:00");
    assert_eq!(
        remaining_minutes(
            &cal,
            ClockType::WorkingHour,
            at("2026-03-09 11:00"),
            due,
            &[]
        ),
        -60
    );
    assert_eq!(
        remaining_minutes(
            &cal,
            ClockType::WorkingHour,
            at("2026-03-06 17:00"),
            due,
            &[]
        ),
        120
    );
    assert_eq!(
        remaining_minutes(&cal, ClockType::WorkingHour, due, due, &[]),
        0
    );
    // Overdue only across the lunch break: no counted time has passed yet.
    let noon = at("2026-03-09 12:00");
    assert_eq!(
        remaining_minutes(
            &cal,
            ClockType::WorkingHour,
            at("2026-03-09 13:00"),
            noon,
            &[]
        ),
        0
    );
    let pauses = [pause("2026-03-09 10:00", "2026-03-09 11:00")];
    assert_eq!(
        remaining_minutes(
            &cal,
            ClockType::WorkingHour,
            at("2026-03-09 09:00"),
            noon,
            &pauses
        ),
        120
    );
}

/// Deterministic pseudo-random numbers (a 64-bit linear congruential generator).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// Returns whether the minute starting at `minute` is counted, checked naively.
fn reference_counts(
    cal: &WorkingCalendar,
    clock: ClockType,
    minute: NaiveDateTime,
    pauses: &[Pause],
) -> bool {
    let runs = !clock.is_working_clock()
        || (cal.is_working_day(minute.date())
            && cal
                .windows()
                .iter()
                .any(|w| w.start <= minute.time() && minute.time() < w.end));
    let paused = pauses
        .iter()
        .any(|p| p.start <= minute && p.end.is_none_or(|end| minute < end));
    runs && !paused
}

/// Computes a deadline minute by minute, the slow and obvious way.
fn reference_deadline(
    cal: &WorkingCalendar,
    clock: ClockType,
    amount: u32,
    start: NaiveDateTime,
    pauses: &[Pause],
) -> Option<NaiveDateTime> {
    let needed = clock.unit_minutes(cal) * i64::from(amount);
    if needed == 0 {
        return Some(start);
    }
    let open_start = pauses
        .iter()
        .filter(|p| p.end.is_none())
        .map(|p| p.start)
        .min();
    let mut n_counted = 0;
    let mut minute = start;
    loop {
        if open_start.is_some_and(|open| minute >= open) {
            return None;
        }
        if reference_counts(cal, clock, minute, pauses) {
            n_counted += 1;
            if n_counted == needed {
                return Some(minute + TimeDelta::minutes(1));
            }
        }
        minute += TimeDelta::minutes(1);
    }
}

fn reference_elapsed(
    cal: &WorkingCalendar,
    clock: ClockType,
    start: NaiveDateTime,
    end: NaiveDateTime,
    pauses: &[Pause],
) -> i64 {
    let mut n_counted = 0;
    let mut minute = start;
    while minute < end {
        if reference_counts(cal, clock, minute, pauses) {
            n_counted += 1;
        }
        minute += TimeDelta::minutes(1);
    }
    n_counted
}

#[test]
fn walk_matches_a_minute_by_minute_reference() {
    let cal = national_day_2026();
    let base = at("2026-09-01 00:00");
    let mut rng = Lcg(42);
    let mut n_none = 0;
    for case_idx in 0..320 {
        let clock = ClockType::ALL[case_idx % 4];
        let amount = match clock {
            ClockType::UrgentHour => rng.below(72),
            ClockType::WorkingHour => rng.below(40),
            ClockType::WorkingDay => rng.below(7),
            ClockType::NaturalDay => rng.below(5),
        } as u32;
        // Start anywhere in September, on a whole minute, often exactly on a window edge.
        let start = if rng.below(4) == 0 {
            let edges = ["09:00", "12:00", "13:30", "18:00"];
            let edge = time(edges[rng.below(4) as usize]);
            (base + TimeDelta::days(rng.below(40) as i64))
                .date()
                .and_time(edge)
        } else {
            base + TimeDelta::minutes(rng.below(40 * 24 * 60) as i64)
        };
        let mut pauses = Vec::new();
        for _ in 0..rng.below(4) {
            let pause_start = start + TimeDelta::minutes(rng.below(6 * 24 * 60) as i64 - 24 * 60);
            let pause_end = match rng.below(10) {
                0 => None,
                1 => Some(pause_start - TimeDelta::minutes(30)),
                _ => Some(pause_start + TimeDelta::minutes(rng.below(3 * 24 * 60) as i64)),
            };
            pauses.push(Pause {
                start: pause_start,
                end: pause_end,
            });
        }

        let context = format!("{clock} {amount} from {start} with {pauses:?}");
        let got = deadline(&cal, clock, amount, start, &pauses).unwrap();
        assert_eq!(
            got,
            reference_deadline(&cal, clock, amount, start, &pauses),
            "{context}"
        );
        let needed = clock.unit_minutes(&cal) * i64::from(amount);
        match got {
            Some(end) => {
                assert_eq!(
                    elapsed_minutes(&cal, clock, start, end, &pauses),
                    needed,
                    "{context}"
                );
                assert_eq!(
                    remaining_minutes(&cal, clock, start, end, &pauses),
                    needed,
                    "{context}"
                );
                assert_eq!(
                    elapsed_minutes(&cal, clock, end, start, &pauses),
                    -needed,
                    "{context}"
                );
                assert_eq!(
                    remaining_minutes(&cal, clock, end, end, &pauses),
                    0,
                    "{context}"
                );
            }
            None => n_none += 1,
        }

        let probe = start + TimeDelta::minutes(rng.below(10 * 24 * 60) as i64);
        assert_eq!(
            elapsed_minutes(&cal, clock, start, probe, &pauses),
            reference_elapsed(&cal, clock, start, probe, &pauses),
            "{context} until {probe}"
        );
    }
    // The generated cases exercise open pauses as well as ordinary deadlines.
    assert!(n_none > 5 && n_none < 160, "{n_none}");
}

#[test]
fn elapsed_of_a_deadline_is_the_amount_for_many_starts() {
    let cal = national_day_2026();
    let mut rng = Lcg(7);
    for clock in ClockType::ALL {
        for _ in 0..200 {
            let start =
                at("2026-01-01 00:00") + TimeDelta::minutes(rng.below(366 * 24 * 60) as i64);
            let amount = 1 + rng.below(30) as u32;
            let end = deadline(&cal, clock, amount, start, &[]).unwrap().unwrap();
            assert!(end > start);
            let needed = clock.unit_minutes(&cal) * i64::from(amount);
            assert_eq!(
                elapsed_minutes(&cal, clock, start, end, &[]),
                needed,
                "{clock} {amount} from {start}"
            );
            if clock.is_working_clock() {
                // A working deadline always lands inside or at the end of an office window.
                let just_before = end - TimeDelta::minutes(1);
                assert!(
                    cal.is_office_time(just_before),
                    "{clock} {amount} from {start} ends {end}"
                );
            }
        }
    }
}
