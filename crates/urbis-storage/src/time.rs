//! How times are stored: RFC 3339 UTC text with microseconds, which sorts correctly as text.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::StorageError;

/// Formats a UTC time for storage.
pub fn to_db(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses a stored time.
pub fn from_db(text: &str) -> Result<DateTime<Utc>, StorageError> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.6fZ")
        .map(|naive| naive.and_utc())
        .map_err(|err| StorageError::Corrupt(format!("bad time {text:?}: {err}")))
}

/// Parses an optional stored time.
pub fn opt_from_db(text: Option<&str>) -> Result<Option<DateTime<Utc>>, StorageError> {
    text.map(from_db).transpose()
}
