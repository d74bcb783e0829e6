//! W3C datetimes (the profile of ISO 8601 in the W3C note the Open311 spec cites): `YYYY`,
//! `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mmTZD`, `YYYY-MM-DDThh:mm:ssTZD` and
//! `YYYY-MM-DDThh:mm:ss.sTZD`, where TZD is `Z` or `±hh:mm`. Forms without a time are read in
//! the city's time zone and stand for a period: a start date means its first instant, an end date
//! the instant after its last one.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::{Result, ServiceError};

/// Whether a date-only value opens or closes a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Edge {
    Start,
    End,
}

fn bad(field: &str) -> ServiceError {
    ServiceError::invalid(
        "invalid_date",
        format!(
            "{field}: a W3C datetime is required (YYYY, YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm[:ss[.s]] with Z or ±hh:mm)"
        ),
    )
}

/// Parses a W3C datetime; `edge` decides which end of a date-only period it stands for, and
/// `offset_minutes` is the city's offset from UTC for those forms. Returns the instant
/// (an `End` of a period is exclusive: the first instant after it).
pub fn parse_w3c(
    field: &str,
    value: &str,
    end: bool,
    offset_minutes: i32,
) -> Result<DateTime<Utc>> {
    let value = value.trim();
    let edge = if end { Edge::End } else { Edge::Start };
    let at = parse(field, value, edge, offset_minutes)?;
    // An end given to the second (or finer) includes that instant.
    if end && value.contains('T') {
        return Ok(at + chrono::Duration::microseconds(1));
    }
    Ok(at)
}

fn parse(field: &str, value: &str, edge: Edge, offset_minutes: i32) -> Result<DateTime<Utc>> {
    if value.len() > 40 {
        return Err(bad(field));
    }
    if value.contains('T') {
        if let Ok(at) = DateTime::parse_from_rfc3339(value) {
            return Ok(at.with_timezone(&Utc));
        }
        // hh:mm without seconds.
        for format in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%MZ"] {
            let parsed = if format.ends_with('Z') {
                NaiveDateTime::parse_from_str(value, format).map(|n| n.and_utc())
            } else {
                DateTime::parse_from_str(value, format).map(|at| at.with_timezone(&Utc))
            };
            if let Ok(at) = parsed {
                return Ok(at);
            }
        }
        return Err(bad(field));
    }
    let parts: Vec<&str> = value.split('-').collect();
    let number = |s: &str, len: usize| -> Result<u32> {
        if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().map_err(|_| bad(field))
        } else {
            Err(bad(field))
        }
    };
    let (first, next) = match parts.as_slice() {
        [y] => {
            let y = number(y, 4)? as i32;
            let first = NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(|| bad(field))?;
            (first, NaiveDate::from_ymd_opt(y + 1, 1, 1))
        }
        [y, m] => {
            let (y, m) = (number(y, 4)? as i32, number(m, 2)?);
            let first = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| bad(field))?;
            let next = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)
            };
            (first, next)
        }
        [y, m, d] => {
            let date = NaiveDate::from_ymd_opt(number(y, 4)? as i32, number(m, 2)?, number(d, 2)?)
                .ok_or_else(|| bad(field))?;
            (date, date.succ_opt())
        }
        _ => return Err(bad(field)),
    };
    let day = match edge {
        Edge::Start => first,
        Edge::End => next.ok_or_else(|| bad(field))?,
    };
    let offset = FixedOffset::east_opt(offset_minutes * 60).ok_or_else(|| bad(field))?;
    let local = day.and_hms_opt(0, 0, 0).ok_or_else(|| bad(field))?;
    let at = offset
        .from_local_datetime(&local)
        .single()
        .ok_or_else(|| bad(field))?;
    Ok(at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_w3c_form_parses() {
        let p = |v: &str, end: bool| parse_w3c("d", v, end, 480).unwrap();
        assert_eq!(p("2026-11-28T10:20:30Z", false), at("2026-11-28T10:20:30Z"));
        assert_eq!(
            p("2026-11-28T10:20:30.45+08:00", false),
            at("2026-11-28T02:20:30.45Z")
        );
        assert_eq!(
            p("2026-11-28T10:20+08:00", false),
            at("2026-11-28T02:20:00Z")
        );
        assert_eq!(p("2026-11-28T10:20Z", false), at("2026-11-28T10:20:00Z"));
        assert_eq!(p("2026-11-28", false), at("2026-11-27T16:00:00Z"));
        assert_eq!(p("2026-11-28", true), at("2026-11-28T16:00:00Z"));
        assert_eq!(p("2026-11", false), at("2026-10-31T16:00:00Z"));
        assert_eq!(p("2026-12", true), at("2026-12-31T16:00:00Z"));
        assert_eq!(p("2026", false), at("2025-12-31T16:00:00Z"));
        for bad in [
            "",
            "2026-13",
            "2026-11-31",
            "28/11/2026",
            "2026-11-28T10",
            "2026-1-2",
            "yesterday",
        ] {
            assert!(parse_w3c("d", bad, false, 480).is_err(), "{bad}");
        }
    }
}
