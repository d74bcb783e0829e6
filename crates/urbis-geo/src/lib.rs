//! Urbis geo intelligence, pure and synchronous: coordinate systems, area import, point location,
//! unit grids, address gazetteer and city assets (部件). No I/O and no async in the default build.
//!
//! Runtime shape: everything is built once from in-memory data (boundaries, gazetteer entries, assets)
//! into immutable indexes (`Locator`, `Gazetteer`, `AssetIndex`) that answer queries in micro- to
//! nanoseconds and can be shared across threads. Coordinates are WGS84 longitude/latitude everywhere;
//! GCJ-02 input is converted at the edge (`crs`, `area::PropertyMapping::source_crs`).
//!
//! The `tools` feature adds the file-reading command implementations the `urbis` binary calls
//! (`check-la`, `bench-locate`, `grid-check`), see `tools`.

pub mod area;
pub mod asset;
pub mod crs;
pub mod error;
pub mod gazetteer;
pub mod grid;
pub mod locate;
pub mod measure;
#[cfg(feature = "tools")]
pub mod tools;

pub use error::GeoError;

#[cfg(test)]
mod tests;
