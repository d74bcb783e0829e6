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
        let mut conn = self.db().reader().acquire().await?;
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
        let before: Option<f64> =
            sqlx::query_scalar("SELECT severity FROM categories WHERE id = ?")
                .bind(category_id)
                .fetch_optional(&mut *tx)
                .await?;
        let before = before.ok_or_else(|| ServiceError::not_found("category"))?;
        sqlx::query("UPDATE categories SET severity = ? WHERE id = ?")
            .bind(severity)
            .bind(category_id)
            .execute(&mut *tx)
            .await?;
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

/// A finished case as a training example: its text and the category it was handled under.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryExample {
    pub case_id: i64,
    pub text: String,
    pub label: String,
}

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
        let mut conn = self.db().reader().acquire().await?;
        Ok(sqlx::query_as(
            "SELECT c.id AS case_id, c.title || ' ' || c.text AS text, k.code AS label
             FROM cases c JOIN categories k ON k.id = c.category_id
             WHERE c.id > ? AND c.state IN ('closed', 'evaluated') ORDER BY c.id LIMIT ?",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?)
    }
}
