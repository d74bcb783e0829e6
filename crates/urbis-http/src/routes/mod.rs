//! Route modules, one per area of the API; each exposes `router()`.

pub(crate) mod admin;
pub(crate) mod assessment;
pub(crate) mod attachments;
pub(crate) mod auth;
pub(crate) mod basemap;
pub(crate) mod cases;
pub(crate) mod cohandle;
pub(crate) mod events;
pub(crate) mod followup;
pub(crate) mod geo;
pub(crate) mod insight;
pub(crate) mod participation;
pub(crate) mod polls;
pub(crate) mod public;
pub(crate) mod residents;
pub(crate) mod sandbox;
pub(crate) mod sensors;
pub(crate) mod sharing;
pub(crate) mod split;
pub(crate) mod stats;
pub(crate) mod system;
pub(crate) mod ui;
