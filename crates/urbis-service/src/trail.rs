//! A case's trail as the staff screens show it: every step with the name of whoever made it, so
//! a shift lead reads "王磊 (部门处置人员) 反馈: …" rather than a role and a user id. Residents get
//! the trail of `case_trail` unchanged, without names.

use std::collections::HashMap;

use urbis_domain::role::{Actor, Role};
use urbis_storage::StorageError;
use urbis_storage::audit::AuditRow;
use urbis_storage::users;

use crate::{Result, Services};

/// One step of a case's trail with the display name of its actor (None for the system, for a
/// user since deleted, and for every step a resident reads).
#[derive(Debug, Clone)]
pub struct NamedStep {
    pub row: AuditRow,
    pub actor_name: Option<String>,
}

impl Services {
    /// Returns the trail of a case with the actors' display names.
    pub async fn case_trail_named(&self, actor: &Actor, case_id: i64) -> Result<Vec<NamedStep>> {
        let rows = self.case_trail(actor, case_id).await?;
        let mut names: HashMap<i64, Option<String>> = HashMap::new();
        if actor.role != Role::Resident {
            let mut conn = self.db().read().await?;
            for id in rows.iter().filter_map(|row| row.actor_id) {
                if names.contains_key(&id) {
                    continue;
                }
                let name = match users::get_user(&mut conn, id).await {
                    Ok(user) if user.display_name.trim().is_empty() => Some(user.username),
                    Ok(user) => Some(user.display_name),
                    Err(StorageError::NotFound(_)) => None,
                    Err(err) => return Err(err.into()),
                };
                names.insert(id, name);
            }
        }
        Ok(rows
            .into_iter()
            .map(|row| {
                let actor_name = row
                    .actor_id
                    .and_then(|id| names.get(&id).cloned().flatten());
                NamedStep { row, actor_name }
            })
            .collect())
    }
}
