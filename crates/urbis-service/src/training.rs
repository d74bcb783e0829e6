//! People's corrections as training data: a dispatcher's category correction and a
//! department's return of a wrong dispatch are kept (see `cases::act` and `reclassify`), and
//! the category severity that weighs into the priority is set here.

use urbis_domain::role::{Actor, Role};
use urbis_storage::cases::{self, TrainingExample};

use crate::auth::require_role;
use crate::{Result, ServiceError, Services};

/// Largest page of training examples.
pub const EXAMPLES_PAGE_MAX: i64 = 10_000;

/// Only admins read training data, a page at a time.
fn check_page(actor: &Actor, limit: i64) -> Result<()> {
    require_role(actor, &[Role::Admin])?;
    if !(1..=EXAMPLES_PAGE_MAX).contains(&limit) {
        return Err(ServiceError::invalid(
            "invalid_limit",
            format!("limit must be between 1 and {EXAMPLES_PAGE_MAX}"),
        ));
    }
    Ok(())
}

impl Services {
    /// Returns kept training examples after `after_id`, oldest first.
    pub async fn training_examples(
        &self,
        actor: &Actor,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<TrainingExample>> {
        check_page(actor, limit)?;
        let mut conn = self.db().read().await?;
        Ok(cases::list_training_examples(&mut conn, after_id, limit).await?)
    }

    /// Sets how severe a category is (0 minor … 1 most severe); it weighs into the priority of
    /// new appeals. Audited.
    pub async fn set_category_severity(
        &self,
        actor: &Actor,
        category_id: i64,
        severity: f64,
    ) -> Result<()> {
        require_role(actor, &[Role::Admin])?;
        if !(0.0..=1.0).contains(&severity) {
            return Err(ServiceError::invalid(
                "invalid_severity",
                "severity must be between 0 and 1",
            ));
        }
        let mut tx = self.db().begin_write().await?;
        let before = urbis_storage::lookups::category_severity(&mut tx, category_id).await?;
        let before = before.ok_or_else(|| ServiceError::not_found("category"))?;
        urbis_storage::lookups::set_category_severity(&mut tx, category_id, severity).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "category_severity_set",
            "category",
            category_id,
            "",
            "",
            &serde_json::json!({ "severity": [before, severity] }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

pub use urbis_storage::lookups::HistoryExample;

impl Services {
    /// Returns closed and rated cases with a category after `after_id`, oldest first: the
    /// city's own history, labelled by the people who handled it.
    pub async fn history_examples(
        &self,
        actor: &Actor,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<HistoryExample>> {
        check_page(actor, limit)?;
        let mut conn = self.db().read().await?;
        Ok(urbis_storage::lookups::history_examples(&mut conn, after_id, limit).await?)
    }
}
