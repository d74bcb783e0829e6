//! The public view of one case for `GET /api/v1/public/cases/{number}`: only columns a stranger
//! may see are selected, so reporter data is never even read on this path.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql::{self, Builder};
use crate::{Conn, Result, StorageError};

/// The public columns of a case.
#[derive(Debug, Clone, FromRow)]
pub struct PublicLookupRow {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub state: String,
    pub category_name: Option<String>,
    pub satisfaction: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Returns the public columns of the case with this number.
pub async fn get_by_number(conn: &mut Conn, number: &str) -> Result<PublicLookupRow> {
    sql::query(
        "SELECT c.id, c.number, c.title, c.state, cat.name AS category_name, c.satisfaction,
                c.created_at, c.updated_at
         FROM cases c LEFT JOIN categories cat ON cat.id = c.category_id
         WHERE c.number = ?",
    )
    .bind(number)
    .fetch_optional(conn)
    .await?
    .ok_or(StorageError::NotFound("case"))
}

/// Returns the details (the JSON the service wrote) of the case's latest audited actions among
/// `actions`, newest first, at most `limit`.
pub async fn recent_action_details(
    conn: &mut Conn,
    case_id: i64,
    actions: &[&str],
    limit: i64,
) -> Result<Vec<String>> {
    let mut query =
        Builder::new("SELECT detail FROM audit_log WHERE entity = 'case' AND entity_id = ");
    query.push_bind(case_id).push(" AND action IN (");
    let mut separated = query.separated(", ");
    for action in actions {
        separated.push_bind(action.to_string());
    }
    query.push(") ORDER BY seq DESC LIMIT ").push_bind(limit);
    let rows: Vec<(String,)> = query.build().fetch_all(conn).await?;
    Ok(rows.into_iter().map(|(detail,)| detail).collect())
}
