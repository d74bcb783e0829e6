//! The reporter's contact on demand: case cards show the phone masked to everyone who does not
//! call residents back, and the people who act on a case ask for the number when they need it.
//! Each reveal is written to the audit log (who, which case, when) in the same transaction as the
//! read, under the entity `case_contact`, so the case's own trail, its live events and the
//! Open311 updates stay about the case.

use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow;
use urbis_storage::cases;

use crate::case_rows::facts_of;
use crate::{ErrorKind, Result, ServiceError, Services};

/// The reporter of a case as stored.
#[derive(Debug, Clone)]
pub struct ReporterContact {
    pub case_id: i64,
    pub number: String,
    /// Empty when the reporter gave none.
    pub name: String,
    pub phone: String,
}

/// Who may ask for a reporter's contact, before the case's own scope: the roles that call
/// residents back (hotline operators, shift leads, dispatchers, administrators), the handlers of
/// the departments a case is given to (lead or supporting; [`workflow::can_view`] then holds them
/// to their own department's cases), and the reporter themself.
const REVEAL_ROLES: &[Role] = &[
    Role::Operator,
    Role::ShiftLead,
    Role::Dispatcher,
    Role::Admin,
    Role::DeptHandler,
    Role::Resident,
];

impl Services {
    /// Returns the reporter's name and phone of a case, unmasked, and audits the reveal. A role
    /// that never calls back gets 403 `contact_not_allowed`; a case outside the caller's scope
    /// (another department's, another resident's) is not found, as everywhere.
    pub async fn reveal_contact(&self, actor: &Actor, case_id: i64) -> Result<ReporterContact> {
        if !REVEAL_ROLES.contains(&actor.role) {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                "contact_not_allowed",
                "only the people who act on a case may read its reporter's contact",
            ));
        }
        let mut tx = self.db().begin_write().await?;
        let row = cases::get_case(&mut tx, case_id).await?;
        if !workflow::can_view(actor, &facts_of(&row)) {
            return Err(ServiceError::not_found("case"));
        }
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "reveal_contact",
            "case_contact",
            case_id,
            row.state.as_str(),
            row.state.as_str(),
            &serde_json::json!({ "number": row.number }),
        )
        .await?;
        tx.commit().await?;
        Ok(ReporterContact {
            case_id,
            number: row.number,
            name: row.reporter_name,
            phone: row.reporter_phone,
        })
    }
}
