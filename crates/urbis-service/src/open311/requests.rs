//! Filing requests (each POST gets its own service_request_id) and reading them back.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use urbis_domain::appeal::{AppealInput, bounded_text, limits};
use urbis_domain::workflow::{CaseState, ClosureType};
use urbis_storage::open311::{self as repo, NewRequest, PublicRequestFilter, PublicRequestRow};
use urbis_storage::{Conn, reference};

use super::media::{Photo, check_media_urls, check_photos, store_photos};
use super::public::{
    PublicNote, PublicRequest, UpdateStatus, coarse_point, cut, note_of, public_description,
    state_of, status_notes, status_of,
};
use super::services::ServiceMap;
use super::{
    DESCRIPTION_ACCEPT_MAX_CHARS, PAGE_MAX, PAGE_SIZE_MAX, RANGE_MAX_DAYS, client_id, comma_list,
    not_found, parse_bounded, present,
};
use crate::attachments::MAX_PER_CASE;
use crate::{Result, ServiceError, Services};

/// A request to file. Location is lat+long, an `address_id` (the code of an area of the city,
/// e.g. a unit grid) or an address; contact fields are stored for the call-back like any other
/// channel's and never shown by Open311 (`email` is not stored at all).
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub jurisdiction_id: Option<String>,
    pub api_key: Option<String>,
    pub service_code: Option<String>,
    pub lat: Option<String>,
    pub long: Option<String>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub description: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub media_urls: Vec<String>,
    pub photos: Vec<Photo>,
}

/// What a POST answers.
#[derive(Debug, Clone)]
pub struct SubmitOutcome {
    pub number: String,
    pub case_number: String,
    pub merged: bool,
    pub notice: Option<String>,
}

/// Filters of a request query as the client sent them (raw text; empty means absent).
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    pub jurisdiction_id: Option<String>,
    pub service_request_id: Option<String>,
    pub service_code: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub status: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

fn parse_coordinate(field: &'static str, value: &str, max: f64) -> Result<f64> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && v.abs() <= max)
        .ok_or_else(|| {
            ServiceError::invalid("invalid_field", format!("{field}: a number within ±{max}"))
        })
}

/// Parses the area ids of a materialised path (`/1/5/12/`).
fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|s| s.parse().ok()).collect()
}

impl Services {
    /// Files a request through the normal intake on the `api` channel. A request that repeats
    /// an open case is attached to it by intake and still gets its own id, linked to the case.
    pub async fn open311_submit(&self, submission: &Submission) -> Result<SubmitOutcome> {
        let actor = self
            .open311_authenticate(submission.api_key.as_deref())
            .await?;
        self.open311_jurisdiction(submission.jurisdiction_id.as_deref())
            .await?;
        let service_code = present(&submission.service_code).ok_or_else(|| {
            ServiceError::invalid("missing_service_code", "service_code is required")
        })?;
        let map = self.open311_service_map().await?;
        let service = map.find(service_code).cloned().ok_or_else(|| {
            not_found(
                "unknown_service_code",
                format!("service_code {service_code:?} does not exist"),
            )
        })?;
        let (mut lat, mut lon) = match (present(&submission.lat), present(&submission.long)) {
            (Some(lat), Some(lon)) => (
                Some(parse_coordinate("lat", lat, 90.0)?),
                Some(parse_coordinate("long", lon, 180.0)?),
            ),
            (None, None) => (None, None),
            _ => {
                return Err(ServiceError::invalid(
                    "invalid_location",
                    "lat and long go together",
                ));
            }
        };
        let mut address = present(&submission.address_string).map(str::to_owned);
        let mut area_id = None;
        if let Some(code) = present(&submission.address_id) {
            let mut conn = self.db().read().await?;
            let area = match code.len() <= 32 {
                true => reference::find_area_by_code(&mut conn, code).await?,
                false => None,
            }
            .ok_or_else(|| {
                ServiceError::invalid(
                    "unknown_address_id",
                    format!("address_id {code:?} is not the code of an area of this city"),
                )
            })?;
            if lat.is_none() {
                lat = area.center_lat;
                lon = area.center_lon;
            }
            if address.is_none() {
                address = Some(area.name.clone());
            }
            area_id = Some(area.id);
        }
        if lat.is_none() && address.is_none() {
            return Err(ServiceError::invalid(
                "missing_location",
                "a location is required: lat and long, address_string or address_id",
            ));
        }
        let description = bounded_text(
            "description",
            submission.description.as_deref(),
            DESCRIPTION_ACCEPT_MAX_CHARS,
        )?;
        let mut notices = Vec::new();
        let text = if description.is_empty() {
            service.name.clone()
        } else if description.chars().count() > limits::TEXT_MAX_CHARS {
            notices.push(format!(
                "描述超过 {0} 字，只保存了前 {0} 字 The description was cut to its first {0} characters.",
                limits::TEXT_MAX_CHARS
            ));
            cut(&description, limits::TEXT_MAX_CHARS)
        } else {
            description
        };
        let media_urls = check_media_urls(&submission.media_urls)?;
        check_photos(&submission.photos)?;
        let name = format!(
            "{} {}",
            present(&submission.first_name).unwrap_or(""),
            present(&submission.last_name).unwrap_or("")
        );
        let input = AppealInput {
            appeal_type: None,
            channel: Some("api".into()),
            title: Some(service.name.clone()),
            text,
            reporter_name: Some(name.trim().chars().take(limits::NAME_MAX_CHARS).collect()),
            reporter_phone: present(&submission.phone)
                .map(|p| p.chars().take(limits::PHONE_MAX_CHARS).collect()),
            address: address.map(|a| cut(&a, limits::ADDRESS_MAX_CHARS)),
            lat,
            lon,
            category_id: service.category_id,
            area_id,
            urgent: None,
        };
        // A fresh idempotency key finds this POST's own appeal, whether intake opened a case or
        // attached the appeal to one.
        let mut key_bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut key_bytes);
        let key = format!("open311-{}", hex::encode(key_bytes));
        let outcome = self.submit_appeal(Some(&actor), &input, Some(&key)).await?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let (appeal_id, case_id) =
            repo::find_appeal_by_key(&mut tx, &format!("{}:{key}", actor.user_id.0))
                .await?
                .ok_or_else(|| {
                    tracing::error!(case = %outcome.number, "open311 appeal not found by its key");
                    ServiceError::internal()
                })?;
        let (_, state, case_number) = repo::find_case_by_number(&mut tx, &outcome.number)
            .await?
            .ok_or_else(ServiceError::internal)?;
        let number = if outcome.merged {
            format!("{case_number}-{appeal_id}")
        } else {
            case_number.clone()
        };
        repo::insert_request(
            &mut tx,
            &NewRequest {
                number: &number,
                case_id,
                appeal_id,
                client_id: client_id(&actor),
                merged: outcome.merged,
                media_urls: &media_urls.join("\n"),
                created_at: now,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(&actor),
            "open311_request",
            "case",
            case_id,
            &state,
            &state,
            &serde_json::json!({
                "service_request_id": number,
                "appeal_id": appeal_id,
                "merged": outcome.merged,
                "media_urls": media_urls.len(),
            }),
        )
        .await?;
        let skipped =
            store_photos(&mut tx, &actor, case_id, &state, &submission.photos, now).await?;
        tx.commit().await?;
        if outcome.merged {
            notices.insert(
                0,
                format!(
                    "与办理中的诉求 {case_number} 反映同一问题，已并入一并办理；查询 {number} 或 {case_number} 均可看到同一进度。 \
                     This report repeats open request {case_number} and is handled with it; {number} shows the same progress."
                ),
            );
        }
        if skipped > 0 {
            notices.push(format!(
                "{skipped} 张照片未保存：每件最多 {MAX_PER_CASE} 张 {skipped} photo(s) not stored: at most {MAX_PER_CASE} per case."
            ));
        }
        Ok(SubmitOutcome {
            number,
            case_number,
            merged: outcome.merged,
            notice: (!notices.is_empty()).then(|| notices.join(" ")),
        })
    }

    /// Returns the requests matching an Open311 query, newest first. With ids, exactly those
    /// (every other filter is ignored); otherwise the last 90 days unless dates say otherwise, a
    /// date range at most 90 days wide, pages of up to 1,000.
    pub async fn open311_requests(&self, query: &RequestQuery) -> Result<Vec<PublicRequest>> {
        self.open311_jurisdiction(query.jurisdiction_id.as_deref())
            .await?;
        let page_size =
            parse_bounded("page_size", &query.page_size, PAGE_SIZE_MAX)?.unwrap_or(PAGE_SIZE_MAX);
        let page = parse_bounded("page", &query.page, PAGE_MAX)?.unwrap_or(1);
        let numbers = comma_list("service_request_id", &query.service_request_id)?;
        let map = self.open311_service_map().await?;
        let mut filter = PublicRequestFilter {
            limit: page_size,
            offset: (page - 1) * page_size,
            ..PublicRequestFilter::default()
        };
        if !numbers.is_empty() {
            // Ids override every other filter (the spec), and all of them are answered.
            filter.limit = i64::try_from(numbers.len()).unwrap_or(i64::MAX);
            filter.offset = 0;
            filter.numbers = numbers;
        } else {
            let codes = comma_list("service_code", &query.service_code)?;
            if !codes.is_empty() {
                let mut ids = Vec::new();
                let mut uncategorized = false;
                for code in &codes {
                    if let Some((more, other)) = map.categories_of(code) {
                        ids.extend(more);
                        uncategorized |= other;
                    }
                }
                filter.categories = Some((ids, uncategorized));
            }
            let statuses = comma_list("status", &query.status)?;
            let (mut open, mut closed) = (statuses.is_empty(), statuses.is_empty());
            for status in &statuses {
                match status.to_ascii_lowercase().as_str() {
                    "open" => open = true,
                    "closed" => closed = true,
                    other => {
                        return Err(ServiceError::invalid(
                            "invalid_status",
                            format!("status {other:?}: open or closed"),
                        ));
                    }
                }
            }
            if open != closed {
                filter.states = CaseState::ALL
                    .into_iter()
                    .filter(|s| *s != CaseState::Voided && s.is_open() == open)
                    .map(|s| s.as_str().to_owned())
                    .collect();
            }
            let (start, end) = self.open311_window(&query.start_date, &query.end_date, None)?;
            filter.requested_from = Some(start);
            filter.requested_to = end;
        }
        let mut conn = self.db().read().await?;
        let rows = repo::list_public_requests(&mut conn, &filter).await?;
        self.public_views(&mut conn, &map, rows).await
    }

    /// Parses a date window: both ends are W3C datetimes, the range at most 90 days; a missing
    /// start is 90 days (or `default_span`) before the end, a missing end is open (or 90 days
    /// after the start). Returns [start, end).
    pub(crate) fn open311_window(
        &self,
        start: &Option<String>,
        end: &Option<String>,
        default_span: Option<Duration>,
    ) -> Result<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        let offset = self.config().utc_offset_minutes(self.now());
        let start = present(start)
            .map(|v| super::parse_w3c("start_date", v, false, offset))
            .transpose()?;
        let end = present(end)
            .map(|v| super::parse_w3c("end_date", v, true, offset))
            .transpose()?;
        let range = Duration::days(RANGE_MAX_DAYS);
        match (start, end) {
            (Some(start), Some(end)) if end < start => Err(ServiceError::invalid(
                "invalid_date",
                "end_date is before start_date",
            )),
            (Some(start), Some(end)) if end - start > range + Duration::days(1) => {
                Err(ServiceError::invalid(
                    "invalid_date",
                    "start_date to end_date may span at most 90 days",
                ))
            }
            (Some(start), Some(end)) => Ok((start, Some(end))),
            (Some(start), None) => Ok((start, Some(start + range))),
            (None, Some(end)) => Ok((end - default_span.unwrap_or(range), Some(end))),
            (None, None) => Ok((self.now() - default_span.unwrap_or(range), None)),
        }
    }

    /// Returns one request with its public trail; voided cases are not found.
    pub async fn open311_request(
        &self,
        jurisdiction_id: Option<&str>,
        number: &str,
    ) -> Result<PublicRequest> {
        self.open311_jurisdiction(jurisdiction_id).await?;
        let unknown = || {
            not_found(
                "unknown_service_request_id",
                format!("service_request_id {number:?} does not exist"),
            )
        };
        if number.is_empty() || number.len() > super::LIST_ITEM_MAX_CHARS {
            return Err(unknown());
        }
        let map = self.open311_service_map().await?;
        let mut conn = self.db().read().await?;
        let filter = PublicRequestFilter {
            numbers: vec![number.to_owned()],
            limit: 1,
            ..PublicRequestFilter::default()
        };
        let rows = repo::list_public_requests(&mut conn, &filter).await?;
        self.public_views(&mut conn, &map, rows)
            .await?
            .pop()
            .ok_or_else(unknown)
    }

    /// Resolves a token to its request id. Intake answers with the id at once, so a token is
    /// the service_request_id itself; an unknown one is not found.
    pub async fn open311_token(
        &self,
        jurisdiction_id: Option<&str>,
        token: &str,
    ) -> Result<String> {
        match self.open311_request(jurisdiction_id, token).await {
            Ok(request) => Ok(request.number),
            Err(err) if err.code == "unknown_service_request_id" => Err(not_found(
                "unknown_token",
                format!("token {token:?} does not exist"),
            )),
            Err(err) => Err(err),
        }
    }

    /// Builds the public view of request rows: services, statuses, trail, places, media.
    async fn public_views(
        &self,
        conn: &mut Conn,
        map: &ServiceMap,
        rows: Vec<PublicRequestRow>,
    ) -> Result<Vec<PublicRequest>> {
        let mut case_ids: Vec<i64> = rows.iter().map(|r| r.case_id).collect();
        case_ids.sort_unstable();
        case_ids.dedup();
        let mut trails: HashMap<i64, Vec<PublicNote>> = HashMap::new();
        for row in repo::state_changes(conn, &case_ids).await? {
            if let Some(note) = note_of(&row)? {
                trails.entry(row.case_id).or_default().push(note);
            }
        }
        let mut photos: HashMap<i64, i64> = HashMap::new();
        for (case_id, id) in repo::attachments_of(conn, &case_ids).await? {
            photos.entry(case_id).or_insert(id);
        }
        let mut area_ids: Vec<i64> = rows.iter().flat_map(|r| path_ids(&r.area_path)).collect();
        area_ids.sort_unstable();
        area_ids.dedup();
        let names: HashMap<i64, String> = repo::area_names(conn, &area_ids)
            .await?
            .into_iter()
            .map(|(id, name, _)| (id, name))
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let state = state_of(&row)?;
            let closure = row.closure_type.as_deref().and_then(ClosureType::parse);
            let status = status_of(state, closure, "");
            let requested_at = row.requested_at;
            let mut notes = trails.get(&row.case_id).cloned().unwrap_or_default();
            let mut service_notice = None;
            if row.merged {
                notes.retain(|n| n.at > requested_at);
                notes.insert(
                    0,
                    PublicNote {
                        at: requested_at,
                        status: UpdateStatus::Duplicate,
                        submitted: true,
                        summary: format!(
                            "与办理中的诉求 {0} 反映同一问题，已并入一并办理 Handled together with request {0}",
                            row.case_number
                        ),
                    },
                );
                service_notice = Some(format!(
                    "已并入诉求 {0} 一并办理，进度与之相同 Handled together with request {0}; the progress shown is that request's.",
                    row.case_number
                ));
            }
            let updated_at = notes
                .last()
                .map_or(requested_at, |n| n.at)
                .max(requested_at);
            let address = path_ids(&row.area_path)
                .iter()
                .rev()
                .filter_map(|id| names.get(id).cloned())
                .collect::<Vec<_>>()
                .join(", ");
            let media_url = row
                .media_urls
                .lines()
                .map(str::trim)
                .find(|u| !u.is_empty())
                .map(str::to_owned)
                .or_else(|| {
                    photos
                        .get(&row.case_id)
                        .map(|id| self.open311_media_url(*id))
                });
            let service = map.service_of(row.category_id);
            let point = coarse_point(&row);
            out.push(PublicRequest {
                status,
                status_notes: status_notes(state, closure),
                service_code: service.code.clone(),
                service_name: service.name.clone(),
                description: public_description(&row.text, &row.address),
                agency_responsible: row.lead_dept_name.clone(),
                service_notice,
                requested_at,
                updated_at,
                expected_at: if state.is_open() { row.due_at } else { None },
                address,
                address_id: row.area_code.clone(),
                lat: point.map(|p| p.0),
                lon: point.map(|p| p.1),
                media_url,
                state: row.state.clone(),
                channel: row.channel.clone(),
                closure_type: row.closure_type.clone(),
                notes,
                case_number: row.case_number,
                number: row.number,
            });
        }
        Ok(out)
    }
}
