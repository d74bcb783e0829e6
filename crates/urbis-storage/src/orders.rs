//! What a dispatcher writes with a dispatch (instructions and the deadline chosen).

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::sql;
use crate::{Conn, Result};

/// The instructions and deadline given with the latest dispatch of a case.
#[derive(Debug, Clone, FromRow)]
pub struct DispatchOrderRow {
    pub case_id: i64,
    pub instructions: String,
    /// The amount chosen, in the case's clock.
    pub limit_amount: i64,
    /// What the category allowed when it was chosen.
    pub category_amount: i64,
    /// Why a shorter deadline than the category's was chosen ("" when it was not).
    pub deadline_reason: String,
    pub dispatched_by: Option<i64>,
    pub dispatched_at: DateTime<Utc>,
}

/// Stores the order of a dispatch, replacing an earlier one.
pub async fn upsert_dispatch_order(conn: &mut Conn, row: &DispatchOrderRow) -> Result<()> {
    sql::query(
        "INSERT INTO dispatch_orders (case_id, instructions, limit_amount, category_amount, deadline_reason,
             dispatched_by, dispatched_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (case_id) DO UPDATE SET instructions = excluded.instructions,
             limit_amount = excluded.limit_amount, category_amount = excluded.category_amount,
             deadline_reason = excluded.deadline_reason, dispatched_by = excluded.dispatched_by,
             dispatched_at = excluded.dispatched_at",
    )
    .bind(row.case_id)
    .bind(&row.instructions)
    .bind(row.limit_amount)
    .bind(row.category_amount)
    .bind(&row.deadline_reason)
    .bind(row.dispatched_by)
    .bind(row.dispatched_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the order of a case (a dispatch without one, a return, a reopening).
pub async fn delete_dispatch_order(conn: &mut Conn, case_id: i64) -> Result<()> {
    sql::query("DELETE FROM dispatch_orders WHERE case_id = ?")
        .bind(case_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Returns the orders of the given cases (those that have one).
pub async fn dispatch_orders(conn: &mut Conn, case_ids: &[i64]) -> Result<Vec<DispatchOrderRow>> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = sql::id_list(case_ids);
    sql::query(format!(
        "SELECT case_id, instructions, limit_amount, category_amount, deadline_reason, dispatched_by,
                dispatched_at FROM dispatch_orders WHERE case_id IN ({list})"
    ))
    .fetch_all(conn)
    .await
}
