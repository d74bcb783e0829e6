//! Urbis domain model: appeals, cases, the workflow state machine, areas, roles and their scopes,
//! the SLA calendar and the audit chain. Pure: no I/O, no async, no wire or database formats.

pub mod appeal;
pub mod area;
pub mod assessment;
pub mod audit;
pub mod calendar;
pub mod ids;
pub mod role;
pub mod sensor;
pub mod sharing;
pub mod workflow;

/// A stored name that is none of an enumeration's names (a state, a role, an area level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} {:?}", self.kind, self.name)
    }
}

impl std::error::Error for UnknownName {}
