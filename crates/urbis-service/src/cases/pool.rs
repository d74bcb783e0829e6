//! The partners' pool: a dispatcher offers a registered case to the outside partners of its place
//! (物业, utilities, social organisations, volunteer teams); a partner whose grants cover the case's
//! area and category may claim it (认领) and then handles it as its lead. A partner never sees a
//! pooled case outside its grants, and claiming one answers as if it did not exist.

use urbis_storage::cohandle as repo;

use super::*;

/// Largest pool page.
pub const POOL_LIST_MAX: i64 = 200;

impl Services {
    /// Offers a registered case to the partners' pool (dispatcher, shift lead).
    pub async fn offer_to_pool(&self, actor: &Actor, case_id: i64) -> Result<CaseRow> {
        crate::auth::require_role(actor, &[Role::Dispatcher, Role::ShiftLead])?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let case = cases::get_case(&mut tx, case_id).await?;
        if !workflow::can_view(actor, &facts_of(&case)) {
            return Err(ServiceError::not_found("case"));
        }
        if case.state != CaseState::Registered {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "illegal_transition",
                format!(
                    "only a registered case can be offered, not one in state {}",
                    case.state
                ),
            ));
        }
        if repo::in_pool(&mut tx, case_id).await? {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "already_pooled",
                "the case is already offered to the pool",
            ));
        }
        repo::offer_to_pool(&mut tx, case_id, actor.user_id.0, now).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "pool_offer",
            "case",
            case_id,
            case.state.as_str(),
            case.state.as_str(),
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// Lists pooled cases waiting for a partner: a partner sees only those its grants cover; the
    /// dispatch side sees every pooled case in its scope.
    pub async fn list_pool(&self, actor: &Actor) -> Result<Vec<CaseRow>> {
        let mut conn = self.db().read().await?;
        let prefix = actor
            .area_scope
            .as_ref()
            .map_or("/".to_owned(), |s| s.path.clone());
        let ids = repo::pooled_case_ids(&mut conn, &prefix, POOL_LIST_MAX).await?;
        let grants = match actor.role {
            Role::Partner => {
                let dept = actor
                    .dept_id
                    .ok_or_else(|| ServiceError::forbidden("no partner organisation"))?;
                Some(repo::partner_grants(&mut conn, dept.0).await?)
            }
            Role::Dispatcher | Role::ShiftLead | Role::Leader | Role::Admin => None,
            _ => return Err(ServiceError::forbidden("the pool is for partners")),
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let case = cases::get_case(&mut conn, id).await?;
            let visible = match &grants {
                Some(grants) => {
                    crate::cohandle::grants_cover(
                        &mut conn,
                        grants,
                        &case.area_path,
                        case.category_id,
                    )
                    .await?
                }
                None => workflow::can_view(actor, &facts_of(&case)),
            };
            if visible {
                out.push(case);
            }
        }
        Ok(out)
    }

    /// Claims a pooled case for the partner's organisation (认领): it becomes the case's lead and
    /// the clock starts, as with a dispatch.
    pub async fn claim_case(&self, actor: &Actor, case_id: i64) -> Result<CaseRow> {
        crate::auth::require_role(actor, &[Role::Partner])?;
        let dept = actor
            .dept_id
            .ok_or_else(|| ServiceError::forbidden("no partner organisation"))?;
        let mut tx = self.db().begin_write().await?;
        let case = cases::get_case(&mut tx, case_id)
            .await
            .map_err(|_| ServiceError::not_found("case"))?;
        let grants = repo::partner_grants(&mut tx, dept.0).await?;
        // Outside the grants the case does not exist for this partner.
        if !repo::in_pool(&mut tx, case_id).await?
            || !crate::cohandle::grants_cover(&mut tx, &grants, &case.area_path, case.category_id)
                .await?
        {
            return Err(ServiceError::not_found("case"));
        }
        let action = Action::Claim { dept };
        let (stored, event) = self.act_in(&mut tx, actor, case_id, &action).await?;
        tx.commit().await?;
        crate::metrics::case_transition(action.name());
        self.publish(event);
        Ok(stored)
    }
}
