//! The crate's error type: every fallible operation in `urbis-geo` returns [`GeoError`].
//!
//! Batch imports do not fail on one bad feature; they return per-feature problems instead
//! (see `crate::area::FeatureProblem`). `GeoError` is for whole-input failures and for
//! single-value validation (codes, ids, options).

/// Errors raised by the geo layer. All of them describe bad input; none is an internal fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeoError {
    /// The text is not GeoJSON, or not a Feature / FeatureCollection.
    #[error("invalid geojson: {0}")]
    InvalidGeoJson(String),
    /// The input exceeds one of the configured import bounds.
    #[error("input too large: {what} is {actual}, limit is {limit}")]
    TooLarge {
        /// What was counted ("bytes", "features", "vertices", "cells", ...).
        what: &'static str,
        /// The size found (or reached when counting stopped).
        actual: usize,
        /// The configured bound.
        limit: usize,
    },
    /// A geometry handed to a builder is unusable (non-finite coordinates, empty, ...).
    #[error("invalid geometry for {subject}: {reason}")]
    InvalidGeometry {
        /// Which input item (an id or a code).
        subject: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An administrative or grid code does not have the expected shape.
    #[error("invalid area code {code:?}: {reason}")]
    InvalidAreaCode {
        /// The offending code.
        code: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// All 3-digit sequence numbers (and synthetic blocks) under a parent code are used (顺序码已满).
    #[error("sequence full: parent {parent} cannot number more than {capacity} unit grids")]
    SequenceFull {
        /// The 12-digit parent code.
        parent: String,
        /// How many unit grids the parent can number.
        capacity: usize,
    },
    /// A responsibility grid was given unit grids that do not form one connected group (单元网格不相邻).
    #[error(
        "unit grids not adjacent: {code} does not share an edge with the rest of responsibility grid {grid}"
    )]
    NotAdjacent {
        /// The responsibility grid being built.
        grid: String,
        /// A unit grid that is cut off from the others.
        code: String,
    },
    /// A responsibility grid was built from an empty or repeated set of unit grids.
    #[error("invalid responsibility grid {grid}: {reason}")]
    InvalidResponsibilityGrid {
        /// The responsibility grid being built.
        grid: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A 16-digit 部件 identifier is malformed.
    #[error("invalid asset id {input:?}: {reason}")]
    InvalidAssetId {
        /// The offending text.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An options struct holds values outside their valid range.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
}
