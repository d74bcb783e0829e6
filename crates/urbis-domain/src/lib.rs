//! Urbis domain model: appeals, cases, the workflow state machine, areas, roles and their scopes,
//! the SLA calendar and the audit chain. Pure: no I/O, no async, no wire or database formats.

pub mod appeal;
pub mod area;
pub mod audit;
pub mod calendar;
pub mod ids;
pub mod role;
pub mod sensor;
pub mod workflow;
