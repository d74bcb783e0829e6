//! Open311 GeoReport v2 use cases: client api keys (admin only, audited), the public service
//! list (level-2 categories of the taxonomy), filing a request through the same intake as every
//! other channel, and the public, personal-data-free view of cases and their status history.
//!
//! An Open311 client is not a user. It acts as an operator-like [`Actor`] with the negative id
//! `-client_id` and the username `open311:{name}`: the operator role may file on the `api`
//! channel, the audit record of the intake names the client (`actor_id < 0`), and the client is
//! never taken for a resident, so no case is owned by it.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use urbis_domain::appeal::{AppealInput, bounded_text, limits};
use urbis_domain::ids::UserId;
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::{CaseState, ClosureType};
use urbis_storage::open311::{self as repo, ClientRow, PublicCaseFilter, PublicCaseRow};
use urbis_storage::time::{from_db, opt_from_db, to_db};
use urbis_storage::{audit as audit_repo, reference};

use crate::auth::require_role;
use crate::{ErrorKind, Result, ServiceError, Services};

/// Most requests one query returns (the spec's default volume and our largest page).
pub const PAGE_SIZE_MAX: i64 = 1_000;
/// Widest date range of a query and the default look-back, in days.
pub const RANGE_MAX_DAYS: i64 = 90;
/// Longest `description` of a request (the spec's limit).
pub const DESCRIPTION_MAX_CHARS: usize = 4_000;
/// Most ids or codes in one comma list.
pub const LIST_MAX_ITEMS: usize = 100;
/// Highest page number a query may ask for.
pub const PAGE_MAX: i64 = 100_000;
/// Longest client name.
pub const CLIENT_NAME_MAX_CHARS: usize = 100;

/// A registered client and its api key, shown once.
#[derive(Debug, Clone)]
pub struct RegisteredClient {
    pub client: ClientRow,
    pub api_key: String,
}

/// One request type: a level-2 category.
#[derive(Debug, Clone)]
pub struct PublicService {
    pub code: String,
    pub name: String,
    pub group: String,
    pub keywords: Vec<String>,
}

/// A request as Open311 shows it: no reporter name, phone or account, ever.
#[derive(Debug, Clone)]
pub struct PublicRequest {
    pub number: String,
    pub open: bool,
    pub state: String,
    pub status_notes: String,
    pub service_code: Option<String>,
    pub service_name: Option<String>,
    pub description: String,
    pub agency_responsible: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expected_at: Option<DateTime<Utc>>,
    pub address: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub channel: String,
    pub area_id: i64,
    pub closure_type: Option<String>,
}

/// One status change of a request, from its audit trail: action, state and time only.
#[derive(Debug, Clone)]
pub struct PublicNote {
    pub at: DateTime<Utc>,
    pub action: String,
    pub state: String,
}

/// A request to file. Location is lat+long or an address; contact fields are stored for the
/// call-back like any other channel's and never shown by Open311.
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

/// An Open311 error with the spec's status: missing or bad api_key.
fn forbidden(message: &str) -> ServiceError {
    ServiceError::new(ErrorKind::Forbidden, "invalid_api_key", message)
}

fn not_found(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorKind::NotFound, code, message)
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn hash_key(api_key: &str) -> String {
    hex::encode(Sha256::digest(api_key.as_bytes()))
}

fn comma_list(field: &'static str, value: &Option<String>) -> Result<Vec<String>> {
    let items: Vec<String> = present(value)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if items.len() > LIST_MAX_ITEMS || items.iter().any(|s| s.chars().count() > 64) {
        return Err(ServiceError::invalid(
            "invalid_field",
            format!("{field}: at most {LIST_MAX_ITEMS} items of 64 characters"),
        ));
    }
    Ok(items)
}

fn parse_datetime(field: &'static str, value: &Option<String>) -> Result<Option<DateTime<Utc>>> {
    present(value)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| {
                    ServiceError::invalid(
                        "invalid_date",
                        format!("{field}: a W3C datetime with a timezone is required"),
                    )
                })
        })
        .transpose()
}

fn parse_bounded(field: &'static str, value: &Option<String>, max: i64) -> Result<Option<i64>> {
    present(value)
        .map(|v| match v.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ServiceError::invalid(
                "invalid_field",
                format!("{field}: a whole number from 1 to {max}"),
            )),
        })
        .transpose()
}

fn parse_coordinate(field: &'static str, value: &str) -> Result<f64> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| ServiceError::invalid("invalid_field", format!("{field}: not a number")))
}

/// Masks runs of seven or more digits (phone and id numbers a reporter typed into the text).
fn mask_long_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 7 {
            out.extend(std::iter::repeat_n('*', run.chars().count()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn status_notes(state: CaseState, closure: Option<ClosureType>) -> String {
    let closure_zh = closure.map(|c| match c {
        ClosureType::Normal => "正常结案",
        ClosureType::Overdue => "超时结案",
        ClosureType::Error => "差错结案",
        ClosureType::Special => "特殊结案",
    });
    match closure_zh {
        Some(closure) => format!("{}（{closure}）", state.title_zh()),
        None => state.title_zh().to_owned(),
    }
}

fn is_closed(state: CaseState) -> bool {
    matches!(
        state,
        CaseState::Closed | CaseState::Evaluated | CaseState::Voided
    )
}

fn public_request(row: PublicCaseRow) -> Result<PublicRequest> {
    let state = CaseState::parse(&row.state).ok_or_else(|| {
        tracing::error!(case_id = row.id, state = %row.state, "unknown stored state");
        ServiceError::internal()
    })?;
    let closure = row.closure_type.as_deref().and_then(ClosureType::parse);
    Ok(PublicRequest {
        open: !is_closed(state),
        status_notes: status_notes(state, closure),
        state: row.state,
        service_code: row.category_code,
        service_name: row.category_name,
        description: mask_long_numbers(&row.text),
        agency_responsible: row.lead_dept_name,
        requested_at: from_db(&row.created_at)?,
        updated_at: from_db(&row.updated_at)?,
        expected_at: opt_from_db(row.due_at.as_deref())?,
        address: row.address,
        lat: row.lat,
        lon: row.lon,
        channel: row.channel,
        area_id: row.area_id,
        closure_type: row.closure_type,
        number: row.number,
    })
}

impl Services {
    /// Registers an Open311 client (admin only) and returns its api key, which is not stored.
    pub async fn open311_register_client(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<RegisteredClient> {
        require_role(actor, &[Role::Admin])?;
        let name = bounded_text("name", Some(name), CLIENT_NAME_MAX_CHARS)?;
        if name.is_empty() {
            return Err(ServiceError::invalid(
                "invalid_field",
                "name: must not be empty",
            ));
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let api_key = hex::encode(bytes);
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let client = repo::insert_client(&mut tx, &name, &hash_key(&api_key), &to_db(now)).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "open311_client_registered",
            "open311_client",
            client.id,
            "",
            "active",
            &serde_json::json!({ "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(RegisteredClient { client, api_key })
    }

    /// Revokes an Open311 client (admin only); its key stops working at once.
    pub async fn open311_revoke_client(&self, actor: &Actor, client_id: i64) -> Result<ClientRow> {
        require_role(actor, &[Role::Admin])?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        repo::get_client(&mut tx, client_id).await?;
        if !repo::revoke_client(&mut tx, client_id, &to_db(now)).await? {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "already_revoked",
                "the client is revoked already",
            ));
        }
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "open311_client_revoked",
            "open311_client",
            client_id,
            "active",
            "revoked",
            &serde_json::json!({}),
        )
        .await?;
        let client = repo::get_client(&mut tx, client_id).await?;
        tx.commit().await?;
        Ok(client)
    }

    /// Lists Open311 clients (admin only).
    pub async fn open311_list_clients(&self, actor: &Actor) -> Result<Vec<ClientRow>> {
        require_role(actor, &[Role::Admin])?;
        let mut conn = self.db().reader().acquire().await?;
        Ok(repo::list_clients(&mut conn).await?)
    }

    /// Returns the actor of the client holding this api key; missing, unknown or revoked keys
    /// are forbidden.
    pub async fn open311_authenticate(&self, api_key: Option<&str>) -> Result<Actor> {
        let api_key = api_key
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| forbidden("api_key is required"))?;
        if api_key.len() > 128 {
            return Err(forbidden("api_key is not valid"));
        }
        let mut conn = self.db().reader().acquire().await?;
        let client = repo::find_client_by_hash(&mut conn, &hash_key(api_key))
            .await?
            .ok_or_else(|| forbidden("api_key is not valid"))?;
        if client.revoked_at.is_some() {
            return Err(forbidden("api_key was revoked"));
        }
        Ok(Actor {
            user_id: UserId(-client.id),
            username: format!("open311:{}", client.name),
            role: Role::Operator,
            area_scope: None,
            dept_id: None,
        })
    }

    /// Checks `jurisdiction_id`: absent, empty or the city root's area code; anything else is
    /// an unknown jurisdiction. Returns the root's code.
    pub async fn open311_jurisdiction(&self, jurisdiction_id: Option<&str>) -> Result<String> {
        let mut conn = self.db().reader().acquire().await?;
        let root = reference::root_area(&mut conn).await?;
        match jurisdiction_id.map(str::trim).filter(|j| !j.is_empty()) {
            Some(asked) if asked != root.code => Err(not_found(
                "unknown_jurisdiction",
                format!("jurisdiction_id {asked:?} is not served here"),
            )),
            _ => Ok(root.code),
        }
    }

    /// Returns the request types: every level-2 category, grouped by its level-1 parent, with
    /// the names of its level-3 children as keywords.
    pub async fn open311_services(
        &self,
        jurisdiction_id: Option<&str>,
    ) -> Result<Vec<PublicService>> {
        self.open311_jurisdiction(jurisdiction_id).await?;
        let categories = self.list_categories().await?;
        let name_of = |id: Option<i64>| {
            categories
                .iter()
                .find(|c| Some(c.id) == id)
                .map(|c| c.name.clone())
                .unwrap_or_default()
        };
        Ok(categories
            .iter()
            .filter(|c| c.level == 2)
            .map(|c| PublicService {
                code: c.code.clone(),
                name: c.name.clone(),
                group: name_of(c.parent_id),
                keywords: categories
                    .iter()
                    .filter(|child| child.parent_id == Some(c.id))
                    .map(|child| child.name.clone())
                    .collect(),
            })
            .collect())
    }

    /// Returns one request type; an unknown code is not found.
    pub async fn open311_service(
        &self,
        jurisdiction_id: Option<&str>,
        service_code: &str,
    ) -> Result<PublicService> {
        self.open311_services(jurisdiction_id)
            .await?
            .into_iter()
            .find(|s| s.code == service_code)
            .ok_or_else(|| {
                not_found(
                    "unknown_service_code",
                    format!("service_code {service_code:?} does not exist"),
                )
            })
    }

    /// Files a request through the normal intake on the `api` channel and returns its case
    /// number (intake is synchronous, so the id is known at once and no token is issued).
    pub async fn open311_submit(&self, submission: &Submission) -> Result<String> {
        let actor = self
            .open311_authenticate(submission.api_key.as_deref())
            .await?;
        let service_code = present(&submission.service_code).ok_or_else(|| {
            ServiceError::invalid("missing_service_code", "service_code is required")
        })?;
        let service = self
            .open311_service(submission.jurisdiction_id.as_deref(), service_code)
            .await?;
        let (lat, lon) = match (present(&submission.lat), present(&submission.long)) {
            (Some(lat), Some(lon)) => (
                Some(parse_coordinate("lat", lat)?),
                Some(parse_coordinate("long", lon)?),
            ),
            (None, None) => (None, None),
            _ => {
                return Err(ServiceError::invalid(
                    "invalid_location",
                    "lat and long go together",
                ));
            }
        };
        let address = present(&submission.address_string);
        if lat.is_none() && address.is_none() {
            let message = if present(&submission.address_id).is_some() {
                "address_id is not supported here; send lat and long or address_string"
            } else {
                "a location is required: lat and long, or address_string"
            };
            return Err(ServiceError::invalid("missing_location", message));
        }
        let description = bounded_text(
            "description",
            submission.description.as_deref(),
            DESCRIPTION_MAX_CHARS,
        )?;
        let name = format!(
            "{} {}",
            present(&submission.first_name).unwrap_or(""),
            present(&submission.last_name).unwrap_or("")
        );
        let category_id = {
            let categories = self.list_categories().await?;
            categories
                .iter()
                .find(|c| c.code == service.code)
                .map(|c| c.id)
        };
        let input = AppealInput {
            channel: Some("api".into()),
            title: Some(service.name.clone()),
            text: if description.is_empty() {
                service.name.clone()
            } else {
                description
            },
            reporter_name: Some(name.trim().chars().take(limits::NAME_MAX_CHARS).collect()),
            reporter_phone: submission.phone.clone(),
            address: address.map(str::to_owned),
            lat,
            lon,
            category_id,
            area_id: None,
            urgent: None,
        };
        let outcome = self.submit_appeal(Some(&actor), &input, None).await?;
        Ok(outcome.number)
    }

    /// Returns the requests matching an Open311 query, newest first. Without ids or dates it
    /// covers the last 90 days; a date range may not be wider than 90 days; pages hold up to
    /// 1,000 requests.
    pub async fn open311_requests(&self, query: &RequestQuery) -> Result<Vec<PublicRequest>> {
        self.open311_jurisdiction(query.jurisdiction_id.as_deref())
            .await?;
        let page_size =
            parse_bounded("page_size", &query.page_size, PAGE_SIZE_MAX)?.unwrap_or(PAGE_SIZE_MAX);
        let page = parse_bounded("page", &query.page, PAGE_MAX)?.unwrap_or(1);
        let numbers = comma_list("service_request_id", &query.service_request_id)?;
        let mut filter = PublicCaseFilter {
            limit: page_size,
            offset: (page - 1) * page_size,
            ..PublicCaseFilter::default()
        };
        if !numbers.is_empty() {
            // Ids override every other filter (the spec).
            filter.numbers = numbers;
        } else {
            filter.category_codes = comma_list("service_code", &query.service_code)?;
            let statuses = comma_list("status", &query.status)?;
            let (mut open, mut closed) = (statuses.is_empty(), statuses.is_empty());
            for status in &statuses {
                match status.as_str() {
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
                    .filter(|s| is_closed(*s) == closed)
                    .map(|s| s.as_str().to_owned())
                    .collect();
            }
            let start = parse_datetime("start_date", &query.start_date)?;
            let end = parse_datetime("end_date", &query.end_date)?;
            let range = Duration::days(RANGE_MAX_DAYS);
            let (start, end) = match (start, end) {
                (Some(start), Some(end)) if end < start => {
                    return Err(ServiceError::invalid(
                        "invalid_date",
                        "end_date is before start_date",
                    ));
                }
                (Some(start), Some(end)) if end - start > range => {
                    return Err(ServiceError::invalid(
                        "invalid_date",
                        "start_date to end_date may span at most 90 days",
                    ));
                }
                (Some(start), Some(end)) => (start, Some(end)),
                (Some(start), None) => (start, Some(start + range)),
                (None, Some(end)) => (end - range, Some(end)),
                (None, None) => (self.now() - range, None),
            };
            filter.created_from = Some(to_db(start));
            filter.created_to = end.map(to_db);
        }
        let mut conn = self.db().reader().acquire().await?;
        repo::list_public_cases(&mut conn, &filter)
            .await?
            .into_iter()
            .map(public_request)
            .collect()
    }

    /// Returns one request with its status history.
    pub async fn open311_request(
        &self,
        jurisdiction_id: Option<&str>,
        number: &str,
    ) -> Result<(PublicRequest, Vec<PublicNote>)> {
        self.open311_jurisdiction(jurisdiction_id).await?;
        let unknown = || {
            not_found(
                "unknown_service_request_id",
                format!("service_request_id {number:?} does not exist"),
            )
        };
        if number.is_empty() || number.len() > 64 {
            return Err(unknown());
        }
        let mut conn = self.db().reader().acquire().await?;
        let row = match repo::get_public_case(&mut conn, number).await {
            Err(urbis_storage::StorageError::NotFound(_)) => return Err(unknown()),
            other => other?,
        };
        let trail = audit_repo::list_for_entity(&mut conn, "case", row.id).await?;
        let notes = trail
            .into_iter()
            .filter(|a| a.from_state != a.to_state)
            .map(|a| {
                Ok(PublicNote {
                    at: from_db(&a.at)?,
                    action: a.action,
                    state: a.to_state,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((public_request(row)?, notes))
    }

    /// Resolves a token to its request id. Intake answers with the id at once, so a token is
    /// the service_request_id itself; an unknown one is not found.
    pub async fn open311_token(
        &self,
        jurisdiction_id: Option<&str>,
        token: &str,
    ) -> Result<String> {
        match self.open311_request(jurisdiction_id, token).await {
            Ok((request, _)) => Ok(request.number),
            Err(err) if err.code == "unknown_service_request_id" => Err(not_found(
                "unknown_token",
                format!("token {token:?} does not exist"),
            )),
            Err(err) => Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_digit_runs_are_masked() {
        assert_eq!(
            mask_long_numbers("电话13812345678，3号楼"),
            "电话***********，3号楼"
        );
    }
}
