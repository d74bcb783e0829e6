//! Open311 GeoReport v2 use cases: client api keys (admin only, audited), the public service
//! list (`services`: level-2 categories and "other"), filing requests through the same intake as
//! every other channel (`requests`), the public, personal-data-free view of requests (`public`),
//! and mySociety's servicerequestupdates extension (`updates`).
//!
//! An Open311 client is not a user. It acts as an operator-like [`Actor`] with the negative id
//! `-client_id` and the username `open311:{name}`: the operator role may file on the `api`
//! channel, the audit record of the intake names the client (`actor_id < 0`), and the client is
//! never taken for a resident, so no case is owned by it.

mod dates;
mod media;
pub(crate) mod public;
mod requests;
mod services;
mod updates;

pub use dates::parse_w3c;
pub use media::Photo;
pub use public::{PublicNote, PublicRequest, UpdateStatus};
pub use requests::{RequestQuery, Submission, SubmitOutcome};
pub use services::{OTHER_SERVICE_CODE, PublicService};
pub use updates::{PublicUpdate, UpdateQuery, UpdateSubmission};

use rand::RngCore;
use sha2::{Digest, Sha256};
use urbis_domain::appeal::bounded_text;
use urbis_domain::ids::UserId;
use urbis_domain::role::{Actor, Role};
use urbis_storage::open311::{self as repo, ClientRow};
use urbis_storage::reference;

use crate::auth::require_role;
use crate::{ErrorKind, Result, ServiceError, Services};

/// Most requests or updates one query returns (the spec's default volume and our largest page).
pub const PAGE_SIZE_MAX: i64 = 1_000;
/// Widest date range of a query and the default look-back, in days.
pub const RANGE_MAX_DAYS: i64 = 90;
/// Longest `description` in an answer (the spec's limit); longer texts end with "…".
pub const DESCRIPTION_MAX_CHARS: usize = 4_000;
/// Longest `description` a POST may send; intake keeps the first
/// `urbis_domain::appeal::limits::TEXT_MAX_CHARS` and the answer's `service_notice` says so.
pub const DESCRIPTION_ACCEPT_MAX_CHARS: usize = 20_000;
/// Longest id, code or status in a comma list. The number of items is bounded only by the query
/// string's size (64 KiB in urbis-http), about 4,000 case numbers.
pub const LIST_ITEM_MAX_CHARS: usize = 64;
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

/// Splits a comma list; items are trimmed, empty ones dropped, each at most
/// [`LIST_ITEM_MAX_CHARS`] long.
fn comma_list(field: &'static str, value: &Option<String>) -> Result<Vec<String>> {
    let items: Vec<String> = present(value)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if items
        .iter()
        .any(|s| s.chars().count() > LIST_ITEM_MAX_CHARS)
    {
        return Err(ServiceError::invalid(
            "invalid_field",
            format!("{field}: items are at most {LIST_ITEM_MAX_CHARS} characters"),
        ));
    }
    Ok(items)
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

/// The client id behind an Open311 actor.
fn client_id(actor: &Actor) -> i64 {
    -actor.user_id.0
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
        let client = repo::insert_client(&mut tx, &name, &hash_key(&api_key), now).await?;
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
        if !repo::revoke_client(&mut tx, client_id, now).await? {
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
        let mut conn = self.db().read().await?;
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
        let mut conn = self.db().read().await?;
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
        let mut conn = self.db().read().await?;
        let root = reference::root_area(&mut conn).await?;
        match jurisdiction_id.map(str::trim).filter(|j| !j.is_empty()) {
            Some(asked) if asked != root.code => Err(not_found(
                "unknown_jurisdiction",
                format!("jurisdiction_id {asked:?} is not served here"),
            )),
            _ => Ok(root.code),
        }
    }
}
