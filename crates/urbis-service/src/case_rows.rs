//! What every use case reads and writes of a case row: the facts permissions are decided on, the
//! id lists and area paths stored as text, the counters a change moves and the versioned save.

use urbis_domain::ids::{DeptId, UserId};
use urbis_domain::workflow::{CaseFacts, PendingRequest};
use urbis_storage::Conn;
use urbis_storage::cases::{self, CaseRow};
use urbis_storage::stats::{CounterBatch, Dim, StateKey};

use crate::Result;

pub(crate) fn facts_of(row: &CaseRow) -> CaseFacts {
    CaseFacts {
        state: row.state,
        area_path: row.area_path.clone(),
        lead_dept: row.lead_dept_id.map(DeptId),
        supporting_depts: parse_ids(&row.supporting_depts)
            .into_iter()
            .map(DeptId)
            .collect(),
        reporter_user: row.reporter_user_id.map(UserId),
        co_reporters: parse_ids(&row.co_reporters)
            .into_iter()
            .map(UserId)
            .collect(),
        pending: match (row.pending_kind.as_deref(), row.pending_amount) {
            (Some("extension"), Some(amount)) => Some(PendingRequest::Extension {
                amount: u32::try_from(amount).unwrap_or(0),
            }),
            (Some("park"), _) => Some(PendingRequest::Park),
            _ => None,
        },
    }
}

/// Parses a comma-separated id list as stored.
pub fn parse_ids(text: &str) -> Vec<i64> {
    text.split(',')
        .filter_map(|part| part.trim().parse().ok())
        .collect()
}

pub(crate) fn format_ids(ids: &[i64]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn state_key(row: &CaseRow) -> StateKey {
    StateKey {
        area_id: row.area_id,
        dept_id: row.lead_dept_id.unwrap_or(0),
        category_id: row.category_id.unwrap_or(0),
        state: row.state.as_str().to_owned(),
        overdue: row.overdue,
    }
}

/// Counter changes of one transition, written at the end of the transaction.
pub(crate) struct Counters {
    day: String,
    area_id: i64,
    category_id: i64,
    bumps: Vec<(&'static str, Option<i64>)>,
}

impl Counters {
    pub(crate) fn new(row: &CaseRow) -> Counters {
        Counters {
            day: row.stats_day.clone(),
            area_id: row.area_id,
            category_id: row.category_id.unwrap_or(0),
            bumps: Vec::new(),
        }
    }

    /// Counts an event for the area and, when given, for the department.
    pub(crate) fn add(&mut self, metric: &'static str, dept: Option<i64>) {
        self.bumps.push((metric, dept));
    }

    pub(crate) async fn write(self, conn: &mut Conn) -> Result<()> {
        let mut batch = CounterBatch::default();
        for (metric, dept) in self.bumps {
            batch.event(
                &self.day,
                Dim::Area,
                self.area_id,
                self.category_id,
                metric,
                1,
            );
            if let Some(dept) = dept {
                batch.event(&self.day, Dim::Dept, dept, self.category_id, metric, 1);
            }
        }
        batch.write(conn).await?;
        Ok(())
    }
}

/// Moves the case's state counter from `before` to `after` and writes the case.
pub(crate) async fn save_case(conn: &mut Conn, before: &CaseRow, after: &CaseRow) -> Result<()> {
    let (old, new) = (state_key(before), state_key(after));
    if old != new {
        let mut batch = CounterBatch::default();
        batch.state(&old, -1);
        batch.state(&new, 1);
        batch.write(conn).await?;
    }
    cases::update_case(conn, after).await?;
    Ok(())
}

/// Returns the area ids of a materialised path, root first.
pub fn parse_path(path: &str) -> Vec<i64> {
    path.split('/')
        .filter_map(|part| part.parse().ok())
        .collect()
}
