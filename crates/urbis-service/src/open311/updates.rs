//! mySociety's servicerequestupdates extension. GET lists the public trail in a date window:
//! every state change of a case (in plain words, with the extended status; ratings left out),
//! repeated for each request attached to that case after the attachment, the attachments
//! themselves (DUPLICATE), and the clients' comments. POST stores a client's comment or status
//! report on a request and audits it; it never moves the case through the workflow.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use urbis_domain::appeal::{bounded_text, limits};
use urbis_domain::workflow::ClosureType;
use urbis_storage::open311::{self as repo, NewUpdate, TrailItemRow, TrailRow};

use super::media::{Photo, check_media_urls, check_photos, store_photos};
use super::public::{UpdateStatus, cut, note_of, public_description, status_of};
use super::{
    DESCRIPTION_ACCEPT_MAX_CHARS, PAGE_MAX, PAGE_SIZE_MAX, client_id, not_found, parse_bounded,
    present,
};
use crate::{Result, ServiceError, Services};

/// Requests attached to a case after it opened: (request row id, number, when), by case id.
type Attached = HashMap<i64, Vec<(i64, String, DateTime<Utc>)>>;

/// The default window of a GET without dates: the last day.
const DEFAULT_WINDOW_HOURS: i64 = 24;

/// One public update of a request.
#[derive(Debug, Clone)]
pub struct PublicUpdate {
    pub update_id: String,
    pub number: String,
    pub status: UpdateStatus,
    pub at: DateTime<Utc>,
    pub description: String,
    pub media_url: Option<String>,
}

/// A GET of updates as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct UpdateQuery {
    pub jurisdiction_id: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

/// A client's comment or status report.
#[derive(Debug, Clone, Default)]
pub struct UpdateSubmission {
    pub jurisdiction_id: Option<String>,
    pub api_key: Option<String>,
    pub service_request_id: Option<String>,
    pub status: Option<String>,
    pub description: Option<String>,
    pub updated_datetime: Option<String>,
    /// The client's own id of the update; a retry with the same id returns the stored one.
    pub update_id: Option<String>,
    pub media_urls: Vec<String>,
    pub photos: Vec<Photo>,
}

impl Services {
    /// Returns the public updates from `start_date` to `end_date` (W3C datetimes, at most 90
    /// days apart; without them, the last 24 hours), oldest first, paged.
    pub async fn open311_updates(&self, query: &UpdateQuery) -> Result<Vec<PublicUpdate>> {
        self.open311_jurisdiction(query.jurisdiction_id.as_deref())
            .await?;
        let page_size =
            parse_bounded("page_size", &query.page_size, PAGE_SIZE_MAX)?.unwrap_or(PAGE_SIZE_MAX);
        let page = parse_bounded("page", &query.page, PAGE_MAX)?.unwrap_or(1);
        let (start, end) = self.open311_window(
            &query.start_date,
            &query.end_date,
            Some(Duration::hours(DEFAULT_WINDOW_HOURS)),
        )?;
        let end = end.unwrap_or_else(|| self.now() + Duration::seconds(1));
        let mut conn = self.db().read().await?;
        let rows =
            repo::trail_between(&mut conn, start, end, page_size, (page - 1) * page_size).await?;
        let mut case_ids: Vec<i64> = rows
            .iter()
            .filter(|r| r.kind == "state")
            .map(|r| r.case_id)
            .collect();
        case_ids.sort_unstable();
        case_ids.dedup();
        let mut attached: Attached = HashMap::new();
        for (id, case_id, number, created_at) in
            repo::merged_requests_of(&mut conn, &case_ids).await?
        {
            attached
                .entry(case_id)
                .or_default()
                .push((id, number, created_at));
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            self.push_updates(&row, &attached, &mut out)?;
        }
        Ok(out)
    }

    fn push_updates(
        &self,
        row: &TrailItemRow,
        attached: &Attached,
        out: &mut Vec<PublicUpdate>,
    ) -> Result<()> {
        let at = row.at;
        match row.kind.as_str() {
            "state" => {
                let trail = TrailRow {
                    seq: row.key,
                    case_id: row.case_id,
                    at: row.at.clone(),
                    action: row.action.clone(),
                    from_state: String::new(),
                    to_state: row.to_state.clone(),
                    detail: row.detail.clone(),
                };
                let Some(note) = note_of(&trail)? else {
                    return Ok(());
                };
                out.push(PublicUpdate {
                    update_id: format!("s{}", row.key),
                    number: row.number.clone(),
                    status: note.status,
                    at,
                    description: note.summary.clone(),
                    media_url: None,
                });
                for (id, number, created_at) in attached.get(&row.case_id).into_iter().flatten() {
                    if *created_at < at {
                        out.push(PublicUpdate {
                            update_id: format!("s{}-{id}", row.key),
                            number: number.clone(),
                            status: note.status,
                            at,
                            description: note.summary.clone(),
                            media_url: None,
                        });
                    }
                }
            }
            "merge" => out.push(PublicUpdate {
                update_id: format!("m{}", row.key),
                number: row.number.clone(),
                status: UpdateStatus::Duplicate,
                at,
                description: format!(
                    "与办理中的诉求 {0} 反映同一问题，已并入一并办理 Handled together with request {0}",
                    row.case_number
                ),
                media_url: None,
            }),
            _ => out.push(PublicUpdate {
                update_id: format!("c{}", row.key),
                number: row.number.clone(),
                status: UpdateStatus::parse(&row.public_status).unwrap_or(UpdateStatus::Open),
                at,
                description: public_description(&row.description, ""),
                media_url: row
                    .media_urls
                    .lines()
                    .map(str::trim)
                    .find(|u| !u.is_empty())
                    .map(str::to_owned),
            }),
        }
        Ok(())
    }

    /// Stores a client's comment or status report on a request and audits it; returns the
    /// update's id. The case's state does not change: a status the client sends (e.g. FIXED
    /// from a resident) is recorded for staff beside the comment.
    pub async fn open311_post_update(&self, update: &UpdateSubmission) -> Result<String> {
        let actor = self.open311_authenticate(update.api_key.as_deref()).await?;
        self.open311_jurisdiction(update.jurisdiction_id.as_deref())
            .await?;
        let number = present(&update.service_request_id).ok_or_else(|| {
            ServiceError::invalid(
                "missing_service_request_id",
                "service_request_id is required",
            )
        })?;
        let client_status = match present(&update.status) {
            Some(raw) => Some(UpdateStatus::parse(raw).ok_or_else(|| {
                ServiceError::invalid(
                    "invalid_status",
                    format!("status {raw:?} is not an Open311 or mySociety status"),
                )
            })?),
            None => None,
        };
        if let Some(at) = present(&update.updated_datetime) {
            super::parse_w3c(
                "updated_datetime",
                at,
                false,
                self.config().utc_offset_minutes(self.now()),
            )?;
        }
        let description = bounded_text(
            "description",
            update.description.as_deref(),
            DESCRIPTION_ACCEPT_MAX_CHARS,
        )?;
        let description = cut(&description, limits::TEXT_MAX_CHARS);
        let media_urls = check_media_urls(&update.media_urls)?;
        check_photos(&update.photos)?;
        if description.is_empty()
            && client_status.is_none()
            && media_urls.is_empty()
            && update.photos.is_empty()
        {
            return Err(ServiceError::invalid(
                "empty_update",
                "an update needs a description, a status or media",
            ));
        }
        let external_id = present(&update.update_id).unwrap_or("");
        if external_id.chars().count() > super::LIST_ITEM_MAX_CHARS {
            return Err(ServiceError::invalid(
                "invalid_field",
                format!(
                    "update_id: at most {} characters",
                    super::LIST_ITEM_MAX_CHARS
                ),
            ));
        }
        let client = client_id(&actor);
        let unknown = || {
            not_found(
                "unknown_service_request_id",
                format!("service_request_id {number:?} does not exist"),
            )
        };
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        if !external_id.is_empty()
            && let Some(id) = repo::find_update(&mut tx, client, external_id).await?
        {
            return Ok(format!("c{id}"));
        }
        let case_id = match repo::find_request(&mut tx, number).await? {
            Some(request) => request.case_id,
            None if number.len() <= super::LIST_ITEM_MAX_CHARS => {
                repo::find_case_by_number(&mut tx, number)
                    .await?
                    .ok_or_else(unknown)?
                    .0
            }
            None => return Err(unknown()),
        };
        let case = urbis_storage::cases::get_case(&mut tx, case_id).await?;
        let state = case.state;
        let closure = case.closure_type.as_deref().and_then(ClosureType::parse);
        let public_status = status_of(state, closure, "");
        let id = repo::insert_update(
            &mut tx,
            &NewUpdate {
                case_id,
                request_number: number,
                client_id: client,
                external_id,
                client_status: client_status.map_or("", UpdateStatus::as_str),
                public_status: public_status.as_str(),
                description: &description,
                media_urls: &media_urls.join("\n"),
                created_at: now,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(&actor),
            "open311_update",
            "case",
            case_id,
            case.state.as_str(),
            case.state.as_str(),
            &serde_json::json!({
                "update_id": id,
                "service_request_id": number,
                "client_update_id": external_id,
                "client_status": client_status.map(UpdateStatus::as_str),
                "text": description,
                "media_urls": media_urls.len(),
            }),
        )
        .await?;
        store_photos(
            &mut tx,
            &actor,
            case_id,
            case.state.as_str(),
            &update.photos,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(format!("c{id}"))
    }
}
