//! Opinion collection on city projects (征集意见): a question with options and/or free text,
//! open for a period; one answer per verified resident; results published once it closes, with
//! every count below the poll's `min_cell` suppressed (shown as absent, never as a number) so no
//! answer can be traced to a person. Free texts are counted, never published.

use chrono::{DateTime, Utc};
use urbis_domain::role::{Actor, Role};
use urbis_storage::deliberation::{self, PollRow};

use crate::{ErrorKind, Result, ServiceError, Services};

/// Who opens a poll.
const POLL_OWNERS: &[Role] = &[Role::Admin, Role::Leader];
/// The smallest count a published result may show.
pub const MIN_CELL_FLOOR: i64 = 3;

/// A poll to open.
#[derive(Debug, Clone)]
pub struct NewPoll {
    pub area_id: Option<i64>,
    pub title: String,
    pub question: String,
    pub options: Vec<String>,
    pub allow_text: bool,
    pub min_cell: Option<i64>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: DateTime<Utc>,
}

/// A closed poll's published counts: `None` where a cell was suppressed.
#[derive(Debug, Clone)]
pub struct PollResults {
    pub poll: PollRow,
    pub options: Vec<(String, Option<i64>)>,
    pub free_text: Option<i64>,
    pub total: Option<i64>,
}

/// Returns the options of a poll (one per line).
pub fn options_of(poll: &PollRow) -> Vec<String> {
    poll.options
        .lines()
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect()
}

fn bounded(field: &'static str, text: &str, max: usize) -> Result<String> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max || text.contains('\n') && field == "option" {
        return Err(ServiceError::invalid(
            "invalid_field",
            format!("{field}: 1–{max} characters"),
        ));
    }
    Ok(text.to_owned())
}

fn suppress(n: i64, k: i64) -> Option<i64> {
    (n >= k).then_some(n)
}

impl Services {
    /// Opens a poll (admins, leaders).
    pub async fn create_poll(&self, actor: &Actor, new: &NewPoll) -> Result<PollRow> {
        crate::auth::require_role(actor, POLL_OWNERS)?;
        let title = bounded("title", &new.title, 100)?;
        let question = bounded("question", &new.question, 1000)?;
        if new.options.len() > 10 || (new.options.is_empty() && !new.allow_text) {
            return Err(ServiceError::invalid(
                "invalid_field",
                "options: 1–10, or none with free text allowed",
            ));
        }
        let options = new
            .options
            .iter()
            .map(|o| bounded("option", o, 50))
            .collect::<Result<Vec<_>>>()?;
        let now = self.now();
        let opens_at = new.opens_at.unwrap_or(now);
        if new.closes_at <= opens_at {
            return Err(ServiceError::invalid(
                "invalid_field",
                "closes_at: after opens_at",
            ));
        }
        let min_cell = new.min_cell.unwrap_or(5).clamp(MIN_CELL_FLOOR, 100);
        let mut tx = self.db().begin_write().await?;
        if let Some(area) = new.area_id {
            urbis_storage::reference::get_area(&mut tx, area).await?;
        }
        let row = deliberation::insert_poll(
            &mut tx,
            &PollRow {
                id: 0,
                area_id: new.area_id,
                title,
                question,
                options: options.join("\n"),
                allow_text: new.allow_text,
                min_cell,
                opens_at,
                closes_at: new.closes_at,
                created_by: Some(actor.user_id.0),
                created_at: now,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "poll_created",
            "poll",
            row.id,
            "",
            "open",
            &serde_json::json!({ "options": options.len(), "min_cell": min_cell }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Answers a poll while it is open (verified residents, once each).
    pub async fn answer_poll(
        &self,
        actor: &Actor,
        poll_id: i64,
        option: Option<i64>,
        text: Option<&str>,
    ) -> Result<()> {
        crate::auth::require_role(actor, &[Role::Resident])?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        if urbis_storage::residents::profile(&mut tx, actor.user_id.0)
            .await?
            .is_none()
        {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                "not_verified",
                "only residents verified by a phone code take part",
            ));
        }
        let poll = deliberation::get_poll(&mut tx, poll_id).await?;
        if now < poll.opens_at || now >= poll.closes_at {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "poll_closed",
                "the poll is not open",
            ));
        }
        let n_options = i64::try_from(options_of(&poll).len()).unwrap_or(0);
        if option.is_some_and(|o| !(0..n_options).contains(&o)) {
            return Err(ServiceError::invalid("invalid_option", "no such option"));
        }
        let text = match text.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) if poll.allow_text => bounded("text", t, 1000)?,
            Some(_) => {
                return Err(ServiceError::invalid(
                    "invalid_field",
                    "this poll takes no free text",
                ));
            }
            None => String::new(),
        };
        if option.is_none() && text.is_empty() {
            return Err(ServiceError::invalid(
                "invalid_field",
                "choose an option or write an answer",
            ));
        }
        if !deliberation::insert_answer(&mut tx, poll_id, actor.user_id.0, option, &text, now)
            .await?
        {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "already_answered",
                "you already answered this poll",
            ));
        }
        // The audit record names the poll, not the answer: answers stay unlinkable in the chain.
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "poll_answered",
            "poll",
            poll_id,
            "",
            "",
            &serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Lists polls, newest first (public).
    pub async fn list_polls(&self) -> Result<Vec<PollRow>> {
        let mut conn = self.db().read().await?;
        Ok(deliberation::list_polls(&mut conn, 100).await?)
    }

    /// Returns a closed poll's results with small cells suppressed (public; 409 `poll_open`
    /// before it closes).
    pub async fn poll_results(&self, poll_id: i64) -> Result<PollResults> {
        let mut conn = self.db().read().await?;
        let poll = deliberation::get_poll(&mut conn, poll_id).await?;
        if self.now() < poll.closes_at {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "poll_open",
                "results are published when the poll closes",
            ));
        }
        let counts = deliberation::count_answers(&mut conn, poll_id).await?;
        let k = poll.min_cell.max(MIN_CELL_FLOOR);
        let count_of = |idx: Option<i64>| {
            counts
                .iter()
                .find(|(o, _)| *o == idx)
                .map_or(0, |(_, n)| *n)
        };
        let options: Vec<(String, Option<i64>)> = options_of(&poll)
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let idx = i64::try_from(i).unwrap_or(i64::MAX);
                (name, suppress(count_of(Some(idx)), k))
            })
            .collect();
        let free_text = poll.allow_text.then(|| suppress(count_of(None), k));
        let total: i64 = counts.iter().map(|(_, n)| n).sum();
        // One suppressed cell beside a published total would be the difference: suppress the
        // total too (secondary suppression).
        let hidden = options
            .iter()
            .map(|(_, n): &(String, Option<i64>)| n)
            .chain(free_text.iter())
            .filter(|n| n.is_none())
            .count();
        Ok(PollResults {
            free_text: free_text.flatten(),
            total: if hidden == 1 {
                None
            } else {
                suppress(total, k)
            },
            options,
            poll,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_below_k_are_suppressed() {
        assert_eq!(suppress(2, 3), None);
        assert_eq!(suppress(3, 3), Some(3));
        assert_eq!(suppress(0, 5), None);
    }
}
