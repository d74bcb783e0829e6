//! What a dispatcher writes with a dispatch: instructions for the handling department (处置要求)
//! and a deadline no later than the category's time limit allows — a shorter one with the reason
//! it was chosen. Both go into the dispatch step of the trail and stay with the case until the
//! next dispatch, return or reopening.

use chrono::{DateTime, Utc};
use urbis_domain::role::Actor;
use urbis_storage::Conn;
use urbis_storage::orders::{self as repo, DispatchOrderRow};

use crate::{Result, ServiceError};

/// What the dispatcher adds to a dispatch.
#[derive(Debug, Clone, Default)]
pub struct DispatchOrder {
    pub instructions: String,
    /// The handling time in the category's clock; `None` keeps the category's limit.
    pub limit_amount: Option<i64>,
    /// Why a shorter deadline than the category's (required then).
    pub deadline_reason: String,
}

impl DispatchOrder {
    /// Whether it says anything beyond a plain dispatch.
    pub fn is_empty(&self) -> bool {
        self.instructions.trim().is_empty() && self.limit_amount.is_none()
    }
}

/// The amount the dispatch runs on: the dispatcher's choice when it is within the category's
/// limit (and explained when shorter), else the category's.
pub(crate) fn chosen_amount(order: Option<&DispatchOrder>, category_amount: u32) -> Result<u32> {
    let max = urbis_domain::appeal::limits::NOTE_MAX_CHARS;
    let Some(order) = order else {
        return Ok(category_amount);
    };
    if order.instructions.chars().count() > max || order.deadline_reason.chars().count() > max {
        return Err(ServiceError::invalid(
            "text_too_long",
            format!("instructions or reason longer than {max} characters"),
        ));
    }
    let Some(amount) = order.limit_amount else {
        return Ok(category_amount);
    };
    let amount = u32::try_from(amount)
        .ok()
        .filter(|a| *a >= 1)
        .ok_or_else(|| {
            ServiceError::invalid("invalid_deadline", "the deadline is at least 1 unit")
        })?;
    if amount > category_amount {
        return Err(ServiceError::invalid(
            "deadline_beyond_limit",
            format!("the category allows at most {category_amount}; a deadline cannot be later"),
        ));
    }
    if amount < category_amount && order.deadline_reason.trim().is_empty() {
        return Err(ServiceError::invalid(
            "deadline_reason_required",
            "say why the deadline is shorter than the category's time limit",
        ));
    }
    Ok(amount)
}

/// Stores (or, for a dispatch without one, forgets) the order of a case and names it in the
/// dispatch step's detail.
pub(crate) async fn record(
    conn: &mut Conn,
    case_id: i64,
    order: Option<&DispatchOrder>,
    (amount, category_amount): (u32, u32),
    actor: &Actor,
    at: DateTime<Utc>,
    detail: &mut serde_json::Value,
) -> Result<()> {
    let Some(order) = order.filter(|o| !o.is_empty()) else {
        repo::delete_dispatch_order(conn, case_id).await?;
        return Ok(());
    };
    let instructions = order.instructions.trim().to_owned();
    let reason = if amount < category_amount {
        order.deadline_reason.trim().to_owned()
    } else {
        String::new()
    };
    repo::upsert_dispatch_order(
        conn,
        &DispatchOrderRow {
            case_id,
            instructions: instructions.clone(),
            limit_amount: i64::from(amount),
            category_amount: i64::from(category_amount),
            deadline_reason: reason.clone(),
            dispatched_by: Some(actor.user_id.0),
            dispatched_at: at,
        },
    )
    .await?;
    if !instructions.is_empty() {
        detail["text"] = instructions.clone().into();
        detail["instructions"] = instructions.into();
    }
    detail["limit_amount"] = amount.into();
    detail["category_limit"] = category_amount.into();
    if !reason.is_empty() {
        detail["deadline_reason"] = reason.into();
    }
    Ok(())
}

impl crate::Services {
    /// Returns the dispatch orders of the given cases (those that have one).
    pub async fn dispatch_orders(&self, case_ids: &[i64]) -> Result<Vec<DispatchOrderRow>> {
        let mut conn = self.db().read().await?;
        Ok(repo::dispatch_orders(&mut conn, case_ids).await?)
    }
}
