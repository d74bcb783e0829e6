//! SLA working calendar: computes case deadlines and counted time for the four clock types of
//! the city's time limits (紧急时, 工作时, 工作日, 自然日).
//!
//! Everything here is pure and works on city-local [`NaiveDateTime`]s; callers convert from UTC
//! before calling in and back afterwards.
//!
//! Counted time is the set of instants at which a clock runs, minus every [`Pause`]:
//!
//! - [`ClockType::UrgentHour`] and [`ClockType::NaturalDay`] run around the clock, in units of
//!   60 and 24 × 60 minutes;
//! - [`ClockType::WorkingHour`] and [`ClockType::WorkingDay`] run only inside the office windows
//!   of working days, in units of 60 minutes and of
//!   [`WorkingCalendar::office_minutes_per_day`] minutes. A working day is a make-up workday
//!   (调休), or else a Monday to Friday that is not a holiday.
//!
//! Rules worth knowing:
//!
//! - an amount of 0 gives back the start itself, for every clock, even outside office hours;
//! - a deadline that lands exactly at the end of an office window stays at that end instead of
//!   moving to the next window's start, and one that lands exactly where a pause starts stays
//!   there too, so a pause starting at or after the deadline has no effect;
//! - an open pause (no end) that starts before the deadline is reached stops the clock, and
//!   [`deadline`] then returns `Ok(None)`;
//! - pauses may overlap and come in any order; empty or inverted pauses are ignored;
//! - minute results are truncated toward zero, so callers decide "overdue" by comparing
//!   instants, not by the sign of [`remaining_minutes`].
//!
//! The walk moves window by window and day by day, never minute by minute. It is bounded:
//! amounts above [`MAX_AMOUNT`] are rejected, and so is a deadline that would have to cross
//! [`MAX_DAYS_WITHOUT_WORK`] consecutive days without a working day.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Weekday};

/// Largest amount [`deadline`] accepts, in the clock's own unit (hours or days).
pub const MAX_AMOUNT: u32 = 10_000;

/// Number of consecutive days without a working day after which [`deadline`] gives up.
pub const MAX_DAYS_WITHOUT_WORK: u32 = 366;

/// How an SLA time limit is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClockType {
    /// Natural hours around the clock, seven days a week (紧急, 小时).
    UrgentHour,
    /// Hours counted only inside office windows on working days (工作时).
    WorkingHour,
    /// Office days counted only inside office windows on working days (工作日).
    WorkingDay,
    /// Natural days of 24 hours (自然日).
    NaturalDay,
}

/// One daily office window, `[start, end)`, for example 09:00–12:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfficeWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Office windows, holidays and make-up workdays of one city.
///
/// Built through [`WorkingCalendar::new`], which checks the invariants the walk relies on:
/// at least one window, every window non-empty and on whole minutes, windows sorted and
/// non-overlapping, and no date both a holiday and a make-up workday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    windows: Vec<OfficeWindow>,
    holidays: BTreeSet<NaiveDate>,
    makeup_workdays: BTreeSet<NaiveDate>,
}

/// An interval during which no clock runs (for example while waiting for the citizen).
/// An `end` of `None` means the pause is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pause {
    pub start: NaiveDateTime,
    pub end: Option<NaiveDateTime>,
}

/// Errors of calendar construction, clock parsing and deadline computation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown clock type `{0}`")]
    UnknownClockType(String),
    #[error("calendar has no office windows")]
    NoOfficeWindows,
    #[error("office window {start}-{end} does not end after it starts")]
    EmptyWindow { start: NaiveTime, end: NaiveTime },
    #[error("office window {start}-{end} does not start and end on whole minutes")]
    UnalignedWindow { start: NaiveTime, end: NaiveTime },
    #[error("office windows overlap or are out of order: {next_start} is before {previous_end}")]
    OverlappingWindows {
        previous_end: NaiveTime,
        next_start: NaiveTime,
    },
    #[error("{0} is both a holiday and a make-up workday")]
    HolidayAndMakeupWorkday(NaiveDate),
    #[error("amount {amount} exceeds the maximum of {max}")]
    AmountTooLarge { amount: u32, max: u32 },
    #[error("no working day within {days} days from {from}")]
    NoWorkingDay { from: NaiveDate, days: u32 },
    #[error("deadline falls outside the supported date range")]
    OutOfRange,
}

impl ClockType {
    /// Lists every clock type.
    pub const ALL: [ClockType; 4] = [
        ClockType::UrgentHour,
        ClockType::WorkingHour,
        ClockType::WorkingDay,
        ClockType::NaturalDay,
    ];

    /// Returns the stable snake_case name stored in configuration and the database.
    pub fn as_str(&self) -> &'static str {
        match self {
            ClockType::UrgentHour => "urgent_hour",
            ClockType::WorkingHour => "working_hour",
            ClockType::WorkingDay => "working_day",
            ClockType::NaturalDay => "natural_day",
        }
    }

    /// Parses a name produced by [`ClockType::as_str`]. The short spellings `work_hour` and
    /// `work_day`, common in imported 立结案标准 tables, are accepted as well.
    pub fn parse(s: &str) -> Result<Self, CalendarError> {
        match s {
            "urgent_hour" => Ok(ClockType::UrgentHour),
            "working_hour" | "work_hour" => Ok(ClockType::WorkingHour),
            "working_day" | "work_day" => Ok(ClockType::WorkingDay),
            "natural_day" => Ok(ClockType::NaturalDay),
            _ => Err(CalendarError::UnknownClockType(s.to_owned())),
        }
    }

    /// Returns true when the clock runs only inside office windows on working days.
    pub fn is_working_clock(&self) -> bool {
        matches!(self, ClockType::WorkingHour | ClockType::WorkingDay)
    }

    /// Returns the number of counted minutes in one unit of this clock under `cal`.
    pub fn unit_minutes(&self, cal: &WorkingCalendar) -> i64 {
        match self {
            ClockType::UrgentHour | ClockType::WorkingHour => 60,
            ClockType::WorkingDay => cal.office_minutes_per_day(),
            ClockType::NaturalDay => 24 * 60,
        }
    }
}

impl fmt::Display for ClockType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClockType {
    type Err = CalendarError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClockType::parse(s)
    }
}

impl OfficeWindow {
    /// Returns the length of the window in minutes.
    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes()
    }
}

impl WorkingCalendar {
    /// Builds a calendar, rejecting empty, unaligned, unsorted or overlapping windows and
    /// dates listed both as holiday and as make-up workday.
    pub fn new(
        windows: Vec<OfficeWindow>,
        holidays: impl IntoIterator<Item = NaiveDate>,
        makeup_workdays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, CalendarError> {
        if windows.is_empty() {
            return Err(CalendarError::NoOfficeWindows);
        }
        for window in &windows {
            let OfficeWindow { start, end } = *window;
            if start >= end {
                return Err(CalendarError::EmptyWindow { start, end });
            }
            if !is_whole_minute(start) || !is_whole_minute(end) {
                return Err(CalendarError::UnalignedWindow { start, end });
            }
        }
        for pair in windows.windows(2) {
            if pair[1].start < pair[0].end {
                return Err(CalendarError::OverlappingWindows {
                    previous_end: pair[0].end,
                    next_start: pair[1].start,
                });
            }
        }
        let holidays: BTreeSet<NaiveDate> = holidays.into_iter().collect();
        let makeup_workdays: BTreeSet<NaiveDate> = makeup_workdays.into_iter().collect();
        if let Some(day) = holidays.intersection(&makeup_workdays).next() {
            return Err(CalendarError::HolidayAndMakeupWorkday(*day));
        }
        Ok(WorkingCalendar {
            windows,
            holidays,
            makeup_workdays,
        })
    }

    /// Returns the default calendar: Monday to Friday, 09:00–12:00 and 13:30–18:00, no
    /// holidays.
    pub fn standard() -> Self {
        WorkingCalendar {
            windows: STANDARD_WINDOWS.to_vec(),
            holidays: BTreeSet::new(),
            makeup_workdays: BTreeSet::new(),
        }
    }

    /// Returns true when `day` is a make-up workday, or a Monday to Friday that is not a
    /// holiday.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.makeup_workdays.contains(&day) {
            return true;
        }
        if self.holidays.contains(&day) {
            return false;
        }
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// Returns true when `at` lies inside an office window of a working day.
    pub fn is_office_time(&self, at: NaiveDateTime) -> bool {
        self.is_working_day(at.date())
            && self
                .windows
                .iter()
                .any(|window| window.start <= at.time() && at.time() < window.end)
    }

    /// Returns the total length of the office windows of one working day, in minutes.
    pub fn office_minutes_per_day(&self) -> i64 {
        self.windows.iter().map(OfficeWindow::minutes).sum()
    }

    /// Returns the office windows, sorted and non-overlapping.
    pub fn windows(&self) -> &[OfficeWindow] {
        &self.windows
    }

    /// Returns the days off that would otherwise be working days.
    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    /// Returns the weekend days that are working days (调休).
    pub fn makeup_workdays(&self) -> &BTreeSet<NaiveDate> {
        &self.makeup_workdays
    }
}

impl Pause {
    /// Returns a pause from `start` to `end`.
    pub fn closed(start: NaiveDateTime, end: NaiveDateTime) -> Self {
        Pause {
            start,
            end: Some(end),
        }
    }

    /// Returns a pause from `start` that has not ended yet.
    pub fn open(start: NaiveDateTime) -> Self {
        Pause { start, end: None }
    }
}

/// Returns the instant at which `amount` units of `clock` time have elapsed after `start`, not
/// counting time inside `pauses`.
///
/// Returns `Ok(None)` when an open pause (end `None`) begins before the deadline would be
/// reached, because the clock is stopped. An `amount` of 0 returns `start` itself. Fails when
/// `amount` exceeds [`MAX_AMOUNT`], when the walk meets [`MAX_DAYS_WITHOUT_WORK`] days in a row
/// without a working day, or when the result falls outside chrono's date range.
pub fn deadline(
    cal: &WorkingCalendar,
    clock: ClockType,
    amount: u32,
    start: NaiveDateTime,
    pauses: &[Pause],
) -> Result<Option<NaiveDateTime>, CalendarError> {
    if amount > MAX_AMOUNT {
        return Err(CalendarError::AmountTooLarge {
            amount,
            max: MAX_AMOUNT,
        });
    }
    if amount == 0 {
        return Ok(Some(start));
    }
    let mut needed = TimeDelta::minutes(clock.unit_minutes(cal) * i64::from(amount));
    let pauses = merge_pauses(pauses);
    let mut spans = ClockSpans::new(cal, clock, start, NaiveDateTime::MAX);
    let mut parts = FreeParts::new(&mut spans, &pauses);
    for part in parts.by_ref() {
        let available = part.end - part.start;
        if needed <= available {
            return part
                .start
                .checked_add_signed(needed)
                .map(Some)
                .ok_or(CalendarError::OutOfRange);
        }
        needed -= available;
    }
    if parts.frozen {
        return Ok(None);
    }
    // Unbounded spans only run out when the calendar scan gave up, which records why.
    Err(spans.stop.take().unwrap_or(CalendarError::OutOfRange))
}

/// Returns the counted minutes of `clock` time between `start` and `end`, excluding pauses (an
/// open pause runs to the later of the two instants).
///
/// The result is negative when `end` is before `start`, so that swapping the two instants
/// flips the sign. Partial minutes are truncated toward zero.
pub fn elapsed_minutes(
    cal: &WorkingCalendar,
    clock: ClockType,
    start: NaiveDateTime,
    end: NaiveDateTime,
    pauses: &[Pause],
) -> i64 {
    if end < start {
        return -elapsed_minutes(cal, clock, end, start, pauses);
    }
    let pauses = merge_pauses(pauses);
    let counted: TimeDelta = FreeParts::new(ClockSpans::new(cal, clock, start, end), &pauses)
        .map(|part| part.end - part.start)
        .sum();
    counted.num_minutes()
}

/// Returns the counted minutes of `clock` time left from `now` until `deadline`, negative once
/// counted time has passed the deadline. It is [`elapsed_minutes`] from `now` to `deadline`.
pub fn remaining_minutes(
    cal: &WorkingCalendar,
    clock: ClockType,
    now: NaiveDateTime,
    deadline: NaiveDateTime,
    pauses: &[Pause],
) -> i64 {
    elapsed_minutes(cal, clock, now, deadline, pauses)
}

const STANDARD_WINDOWS: [OfficeWindow; 2] = [
    OfficeWindow {
        start: hour_minute(9, 0),
        end: hour_minute(12, 0),
    },
    OfficeWindow {
        start: hour_minute(13, 30),
        end: hour_minute(18, 0),
    },
];

/// Builds a time of day at compile time.
const fn hour_minute(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("invalid time of day"),
    }
}

fn is_whole_minute(time: NaiveTime) -> bool {
    time.second() == 0 && time.nanosecond() == 0
}

/// A half-open interval `[start, end)` of local time. An `end` of [`NaiveDateTime::MAX`]
/// stands for "never ends".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interval {
    start: NaiveDateTime,
    end: NaiveDateTime,
}

/// Returns the pauses as sorted, disjoint intervals, dropping empty or inverted ones.
fn merge_pauses(pauses: &[Pause]) -> Vec<Interval> {
    let mut intervals: Vec<Interval> = pauses
        .iter()
        .map(|pause| Interval {
            start: pause.start,
            end: pause.end.unwrap_or(NaiveDateTime::MAX),
        })
        .filter(|interval| interval.start < interval.end)
        .collect();
    intervals.sort_by_key(|interval| interval.start);
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match merged.last_mut() {
            Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
            _ => merged.push(interval),
        }
    }
    merged
}

/// Iterates, in order, over the intervals in `[from, until)` during which a clock runs,
/// ignoring pauses. Natural clocks yield one interval; working clocks yield one per office
/// window of each working day. An `until` of [`NaiveDateTime::MAX`] means unbounded, in which
/// case the scan for the next working day is capped and the reason for stopping is kept in
/// `stop`.
struct ClockSpans<'a> {
    cal: &'a WorkingCalendar,
    clock: ClockType,
    from: NaiveDateTime,
    until: NaiveDateTime,
    /// Working day whose windows are being yielded; `None` before the first scan.
    day: Option<NaiveDate>,
    next_window: usize,
    finished: bool,
    stop: Option<CalendarError>,
}

impl<'a> ClockSpans<'a> {
    fn new(
        cal: &'a WorkingCalendar,
        clock: ClockType,
        from: NaiveDateTime,
        until: NaiveDateTime,
    ) -> Self {
        ClockSpans {
            cal,
            clock,
            from,
            until,
            day: None,
            next_window: 0,
            finished: false,
            stop: None,
        }
    }

    /// Returns the working day whose next window is due, moving on to the following working
    /// day once every window of the current one has been yielded.
    fn current_day(&mut self) -> Option<NaiveDate> {
        if let Some(day) = self.day
            && self.next_window < self.cal.windows.len()
        {
            return Some(day);
        }
        let candidate = match self.day {
            None => self.from.date(),
            Some(day) => self.succ(day)?,
        };
        self.day = self.first_working_day_from(candidate);
        self.next_window = 0;
        self.day
    }

    /// Returns the first working day on or after `first`, or `None` past `until` or when the
    /// unbounded scan gives up.
    fn first_working_day_from(&mut self, first: NaiveDate) -> Option<NaiveDate> {
        let bounded = self.until != NaiveDateTime::MAX;
        let mut day = first;
        let mut n_days_off = 0;
        loop {
            if bounded && day > self.until.date() {
                return None;
            }
            if self.cal.is_working_day(day) {
                return Some(day);
            }
            n_days_off += 1;
            if !bounded && n_days_off >= MAX_DAYS_WITHOUT_WORK {
                self.stop = Some(CalendarError::NoWorkingDay {
                    from: first,
                    days: MAX_DAYS_WITHOUT_WORK,
                });
                return None;
            }
            day = self.succ(day)?;
        }
    }

    fn succ(&mut self, day: NaiveDate) -> Option<NaiveDate> {
        let next = day.succ_opt();
        if next.is_none() {
            self.stop = Some(CalendarError::OutOfRange);
        }
        next
    }
}

impl Iterator for ClockSpans<'_> {
    type Item = Interval;

    fn next(&mut self) -> Option<Interval> {
        if self.finished {
            return None;
        }
        if !self.clock.is_working_clock() {
            self.finished = true;
            return (self.from < self.until).then_some(Interval {
                start: self.from,
                end: self.until,
            });
        }
        while let Some(day) = self.current_day() {
            let window = self.cal.windows[self.next_window];
            self.next_window += 1;
            let start = day.and_time(window.start).max(self.from);
            let end = day.and_time(window.end).min(self.until);
            if start >= self.until {
                break;
            }
            if start < end {
                return Some(Interval { start, end });
            }
        }
        self.finished = true;
        None
    }
}

/// Iterates over the parts of the clock intervals that no pause covers. Stops and sets
/// `frozen` on reaching an open pause, after which no time is ever counted.
struct FreeParts<'p, I> {
    spans: I,
    pauses: &'p [Interval],
    next_pause: usize,
    /// Rest of the current clock interval still to be split.
    pending: Option<Interval>,
    frozen: bool,
}

impl<'p, I: Iterator<Item = Interval>> FreeParts<'p, I> {
    fn new(spans: I, pauses: &'p [Interval]) -> Self {
        FreeParts {
            spans,
            pauses,
            next_pause: 0,
            pending: None,
            frozen: false,
        }
    }
}

impl<I: Iterator<Item = Interval>> Iterator for FreeParts<'_, I> {
    type Item = Interval;

    fn next(&mut self) -> Option<Interval> {
        while !self.frozen {
            let span = match self.pending.take() {
                Some(span) => span,
                None => self.spans.next()?,
            };
            while self
                .pauses
                .get(self.next_pause)
                .is_some_and(|pause| pause.end <= span.start)
            {
                self.next_pause += 1;
            }
            let Some(pause) = self.pauses.get(self.next_pause) else {
                return Some(span);
            };
            if pause.start <= span.start {
                if pause.end == NaiveDateTime::MAX {
                    self.frozen = true;
                } else if pause.end < span.end {
                    self.pending = Some(Interval {
                        start: pause.end,
                        end: span.end,
                    });
                }
            } else if pause.start < span.end {
                self.pending = Some(Interval {
                    start: pause.start,
                    end: span.end,
                });
                return Some(Interval {
                    start: span.start,
                    end: pause.start,
                });
            } else {
                return Some(span);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
