//! Urbis storage: the embedded SQLite store through sqlx (runtime-checked queries), migrations
//! embedded per backend (`migrations/sqlite`), and repositories as free functions that take the
//! connection or transaction from the caller, so the service layer decides transaction bounds.
//!
//! Runtime shape: [`Db`] holds two pools on one file — a write pool of exactly one connection (the
//! single SQLite writer; every write transaction queues for it) and a read pool of several
//! connections that read WAL snapshots concurrently. Repositories contain no business rules and
//! never check permissions.

pub mod admin;
pub mod assessment;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod channels;
pub mod cluster;
pub mod cohandle;
pub mod copy;
pub mod db;
pub mod deliberation;
pub mod density;
pub mod error;
pub mod figures;
pub mod followups;
pub mod geo;
pub mod insight;
pub mod intake;
pub mod kb;
pub mod location;
pub mod lookups;
pub mod open311;
pub mod opendata;
pub mod orders;
pub mod outbox;
pub mod public;
pub mod reference;
pub mod residents;
mod rollup;
pub mod sandbox;
pub mod sensors;
pub mod sharing;
pub mod sharing_sources;
pub mod split;
pub mod sql;
pub mod stats;
pub mod taxonomy_imports;
#[cfg(test)]
mod testing;
pub mod time;
mod tx;
pub mod users;

pub use db::{Access, Backend, Conn, Db, DbOptions, Durability, Location, ReadTx, WriteTx};
pub use error::{StorageError, Unavailable};
pub use sql::JsonText;

/// Result of a repository call.
pub type Result<T, E = StorageError> = std::result::Result<T, E>;
