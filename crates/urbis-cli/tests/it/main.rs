//! Integration tests of the `urbis` binary and the HTTP API, one module per area (a single test
//! binary keeps link time down).

mod assessment;
mod assist;
mod attachments;
mod bad_input;
mod channels;
mod child;
mod closed_loop;
mod cluster;
mod cohandling;
mod config;
mod consoles;
mod contact;
mod crash;
mod figures;
mod geo;
mod insight;
mod intelligence;
mod maps;
mod open311;
mod opendata;
mod ops;
mod permissions;
mod reliability;
mod repeats;
mod residents;
mod rollup;
mod sandbox;
mod security;
mod sensors;
mod sensors_ngsild;
mod sharing;
mod sla;
mod split;
mod store;
mod ui_e2e;
