//! Intake with group commit. Every channel's appeal goes to one writer task; the writer takes the
//! appeals that are waiting, stores them (case, appeal, audit record, statistics) in one
//! transaction, commits it with the store's durability (fsync by default), and only then answers
//! each sender. A retry with the same idempotency key returns the case of the first attempt.

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use urbis_domain::appeal::{AppealInput, Channel, NewAppeal, limits};
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::CaseState;
use urbis_storage::{Backend, Db};

use crate::{ErrorKind, Result, ServiceConfig, ServiceError, Services};

mod repeat;
mod writer;

/// What intake answers for one appeal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeOutcome {
    pub case_id: i64,
    pub number: String,
    pub state: String,
    /// False when an earlier appeal with the same idempotency key already created the case.
    pub created: bool,
    /// True when the appeal repeats an open case and was attached to it (no new case).
    pub merged: bool,
    /// Materialised path of the case's area (who may see it).
    pub area_path: String,
}

struct IntakeJob {
    appeal: NewAppeal,
    suggestion: Option<crate::classify::Suggestion>,
    geo: crate::assets::IntakeGeo,
    repeat_of: Option<crate::dedup::RepeatLink>,
    priority: urbis_text::priority::Priority,
    place: crate::assist::PlaceFacts,
    /// The category waits for a person: none was given and the classifier was not confident.
    needs_review: bool,
    reporter: Option<Actor>,
    /// Anonymous repeats of one case that raise its priority.
    anonymous_repeat_cap: u32,
    idempotency_key: Option<String>,
    /// SHA-256 of what the appeal says, so a key reused with another body is refused.
    content_hash: String,
    received_at: DateTime<Utc>,
    /// The JSON the writer stores, prepared here rather than on the one serial writer.
    prepared: writer::Prepared,
    reply: oneshot::Sender<Result<IntakeOutcome>>,
}

/// The sending side of the intake writer.
#[derive(Clone)]
pub(crate) struct IntakeHandle {
    sender: mpsc::Sender<IntakeJob>,
}

impl IntakeHandle {
    pub(crate) fn spawn(db: Db, config: ServiceConfig) -> IntakeHandle {
        let (sender, receiver) = mpsc::channel(config.intake_batch_max * 4);
        // SQLite answers each statement from the connection's own thread; that answer wakes the
        // writer at once on a runtime of its own. A PostgreSQL socket is driven by the runtime
        // that opened it (the caller's), so there the writer stays on that runtime.
        let own_thread = match db.backend() {
            Backend::Sqlite => writer_runtime(),
            Backend::Postgres => None,
        };
        let task = writer::writer_loop(db, config, receiver);
        match own_thread {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
        IntakeHandle { sender }
    }
}

/// The runtime SQLite intake writers run on: one thread of their own. The writer awaits every
/// statement it sends to the store; on the shared runtime each of those wake-ups waited in the
/// queue behind request tasks (classification, repeat scoring), and a group's twenty-odd
/// statements waited longer than they ran. Built once and kept for the life of the process;
/// `None` when its thread cannot be started (the writer then runs on the caller's runtime).
fn writer_runtime() -> Option<&'static tokio::runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<Option<tokio::runtime::Runtime>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("urbis-intake")
                .enable_all()
                .build()
                .inspect_err(|err| tracing::warn!(error = %err, "intake writer thread not started"))
                .ok()
        })
        .as_ref()
}

/// Who is calling, for callers without an account: their address (rate limits) and a
/// fingerprint of address and user agent (idempotency-key scope).
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    pub address: &'a str,
    pub user_agent: &'a str,
}

impl Client<'_> {
    /// A short stable hash of address and user agent.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}\n{}", self.address, self.user_agent));
        hex::encode(&digest[..12])
    }
}

impl Services {
    /// Validates and stores an appeal; returns once it is durable.
    pub async fn submit_appeal(
        &self,
        actor: Option<&Actor>,
        input: &AppealInput,
        idempotency_key: Option<&str>,
    ) -> Result<IntakeOutcome> {
        self.submit_appeal_from(actor, None, input, idempotency_key)
            .await
    }

    /// [`Services::submit_appeal`] for a caller reached over the network. Anonymous callers may
    /// file only on the web channel, are limited per address (429 `too_many_appeals`), and their
    /// idempotency keys are scoped to their client fingerprint.
    pub async fn submit_appeal_from(
        &self,
        actor: Option<&Actor>,
        client: Option<Client<'_>>,
        input: &AppealInput,
        idempotency_key: Option<&str>,
    ) -> Result<IntakeOutcome> {
        self.submit_with(actor, client, input, idempotency_key, None)
            .await
    }

    /// An appeal filed by Urbis itself (a confirmed sensor alarm): no actor, any channel, and
    /// the asset it names given rather than searched for.
    pub(crate) async fn submit_system_appeal(
        &self,
        input: &AppealInput,
        idempotency_key: &str,
        asset_id: Option<String>,
    ) -> Result<IntakeOutcome> {
        self.submit_with(None, None, input, Some(idempotency_key), Some(asset_id))
            .await
    }

    async fn submit_with(
        &self,
        actor: Option<&Actor>,
        client: Option<Client<'_>>,
        input: &AppealInput,
        idempotency_key: Option<&str>,
        system_asset: Option<Option<String>>,
    ) -> Result<IntakeOutcome> {
        if actor.is_none()
            && let Some(client) = client
        {
            self.inner
                .guards
                .check(crate::guard::Bucket::AnonymousAppeal, client.address)?;
        }
        let default_channel = match actor.map(|a| a.role) {
            Some(Role::Operator) => Channel::Hotline,
            Some(Role::GridSupervisor) => Channel::Grid,
            Some(Role::Resident) | None => Channel::Web,
            Some(_) => Channel::Api,
        };
        let mut appeal = input.validate(default_channel)?;
        let channel = appeal.channel;
        // Only a keyed appeal is ever compared with an earlier one.
        let content_hash = match idempotency_key {
            Some(_) => content_hash(&appeal),
            None => String::new(),
        };
        // An address without coordinates takes its point from the gazetteer when the match is confident.
        let mut geo = crate::assets::IntakeGeo::default();
        if appeal.location.is_none() {
            geo.geocoded = self.geocode_for_intake(&appeal.address).await?;
            appeal.location = geo.geocoded.as_ref().map(|g| (g.lat, g.lon));
        }
        // A located appeal without an area goes to the finest area whose boundary contains it.
        if let (None, Some((lat, lon))) = (appeal.area_id, appeal.location) {
            appeal.area_id = self
                .locate_area_id(lat, lon)
                .await?
                .map(urbis_domain::ids::AreaId);
        }
        // Without a category the classifier suggests one; it is applied only when confident.
        let suggestion = match appeal.category_id {
            Some(_) => None,
            None => self.classify(&format!("{} {}", appeal.title, appeal.text)),
        };
        if let Some(suggestion) = suggestion.as_ref().filter(|s| s.applied) {
            appeal.category_id = suggestion.category_id.map(urbis_domain::ids::CategoryId);
        }
        // An appeal about an asset class names the nearest such asset within 30 m.
        geo.asset = match &system_asset {
            Some(named) => named.clone().map(|id| (id, 0.0)),
            None => {
                self.asset_for_appeal(appeal.category_id.map(|c| c.0), appeal.location)
                    .await?
            }
        };
        let dedup_text = format!("{} {}", appeal.title, appeal.text);
        // Only an appeal with a category and an area can repeat an open case (or be repeated).
        let dedup_key = appeal
            .category_id
            .zip(appeal.area_id)
            .map(|(c, a)| (c.0, a.0))
            .filter(|_| self.config().repeat_rule != crate::dedup::RepeatRule::Off);
        let repeat_profile = dedup_key.map(|_| {
            // The reporter, for the repeat model: the phone given, else the resident's account.
            let resident = actor
                .filter(|a| a.role == Role::Resident)
                .map(|a| a.user_id.0);
            let reporter_key = crate::dedup::reporter_key(&appeal.reporter_phone, resident);
            crate::dedup::repeat_profile(
                self.config().repeat_rule,
                &appeal.title,
                &appeal.text,
                reporter_key.as_deref(),
                self.now().timestamp(),
            )
        });
        let repeat_of = match (&repeat_profile, dedup_key) {
            (Some(profile), Some((category, area))) => {
                self.find_repeat(profile, category, area).await?
            }
            _ => None,
        };
        // Severity, repeats at the place and the proposed route follow the category, or, while
        // it waits for review, the classifier's best suggestion.
        let needs_review = appeal.category_id.is_none();
        let guessed_category = appeal.category_id.map(|c| c.0).or_else(|| {
            suggestion
                .as_ref()
                .and_then(|s| s.top.first().map(|c| c.category_id))
        });
        let place = self
            .read_place_facts(
                guessed_category,
                appeal.area_id.map(|a| a.0),
                geo.asset.as_ref().map(|(id, _)| id.as_str()),
            )
            .await?;
        let mut priority = urbis_text::priority::score(&urbis_text::priority::PriorityInput {
            text: &dedup_text,
            category_severity: place.severity,
            duplicate_count: 0,
            repeat_place_count: place.repeat_place_count,
        });
        if appeal.urgent && priority.level < urbis_text::priority::Level::High {
            priority.level = urbis_text::priority::Level::High;
        }
        if actor.is_none() && appeal.channel != Channel::Web && system_asset.is_none() {
            return Err(ServiceError::new(
                ErrorKind::Forbidden,
                "channel_not_allowed",
                "anonymous appeals come through the web channel only",
            ));
        }
        if let Some(role) = actor.map(|a| a.role) {
            let allowed = match appeal.channel {
                Channel::Web => matches!(role, Role::Resident | Role::Operator),
                Channel::Hotline => matches!(role, Role::Operator | Role::ShiftLead),
                Channel::Grid => matches!(role, Role::GridSupervisor),
                Channel::Api | Channel::Sensor => {
                    matches!(role, Role::Operator | Role::Admin | Role::ShiftLead)
                }
            };
            if !allowed {
                return Err(ServiceError::forbidden(format!(
                    "role {} may not file appeals on channel {}",
                    role.as_str(),
                    appeal.channel.as_str()
                )));
            }
        }
        let idempotency_key = match idempotency_key {
            Some(key) if key.is_empty() || key.len() > limits::IDEMPOTENCY_KEY_MAX_CHARS => {
                return Err(ServiceError::invalid(
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1–128 characters",
                ));
            }
            // Keys are scoped to the submitting user, anonymous ones to the client's fingerprint,
            // so that two clients cannot collide.
            Some(key) => Some(match (actor, client) {
                (Some(actor), _) => format!("{}:{key}", actor.user_id.0),
                (None, Some(client)) => format!("0:{}:{key}", client.fingerprint()),
                (None, None) => format!("0:{key}"),
            }),
            None => None,
        };
        let prepared = writer::Prepared::of(writer::Facts {
            appeal: &appeal,
            suggestion: suggestion.as_ref(),
            geo: &geo,
            repeat_of: repeat_of.as_ref(),
            priority: &priority,
            place: &place,
            needs_review,
        });
        let (reply, answer) = oneshot::channel();
        let job = IntakeJob {
            appeal,
            suggestion,
            geo,
            repeat_of,
            priority,
            place,
            needs_review,
            reporter: actor.cloned(),
            anonymous_repeat_cap: self.config().security.anonymous_repeat_cap,
            idempotency_key,
            content_hash,
            received_at: self.now(),
            prepared,
            reply,
        };
        self.inner.intake.sender.send(job).await.map_err(|_| {
            ServiceError::new(
                ErrorKind::Unavailable,
                "shutting_down",
                "intake is stopping",
            )
        })?;
        let outcome = answer.await.map_err(|_| {
            ServiceError::new(
                ErrorKind::Unavailable,
                "intake_failed",
                "intake writer stopped",
            )
        })??;
        if let (true, false, Some((category, area)), Some(profile)) =
            (outcome.created, outcome.merged, dedup_key, repeat_profile)
        {
            self.remember_case(outcome.case_id, profile, category, area);
        }
        if outcome.created {
            let state = CaseState::parse(&outcome.state).unwrap_or(CaseState::Received);
            self.publish(crate::CaseEvent {
                seq: 0,
                case_id: outcome.case_id,
                number: outcome.number.clone(),
                action: if outcome.merged {
                    "merge_repeat"
                } else {
                    "receive"
                }
                .into(),
                state: outcome.state.clone(),
                at: self.now(),
                facts: urbis_domain::workflow::CaseFacts {
                    state,
                    area_path: outcome.area_path.clone(),
                    lead_dept: None,
                    supporting_depts: Vec::new(),
                    reporter_user: actor
                        .filter(|a| a.role == Role::Resident)
                        .map(|a| a.user_id),
                    co_reporters: Vec::new(),
                    pending: None,
                },
            });
        }
        crate::metrics::appeal_received(outcome.created);
        crate::telemetry::appeal_stored(channel, &outcome);
        Ok(outcome)
    }
}

/// Returns the user a case belongs to: residents own what they report, staff file for others.
fn reporter_user(job: &IntakeJob) -> Option<i64> {
    job.reporter
        .as_ref()
        .filter(|a| a.role == Role::Resident)
        .map(|a| a.user_id.0)
}

fn key_reused() -> ServiceError {
    ServiceError::invalid(
        "idempotency_key_reused",
        "this Idempotency-Key was already used for an appeal with different content; use a new key",
    )
}

/// SHA-256 (hex) of everything the caller said in an appeal, in a fixed order with separators
/// that cannot occur inside a field (validated fields hold no control characters).
fn content_hash(appeal: &NewAppeal) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let location = appeal
        .location
        .map(|(lat, lon)| format!("{lat:.7},{lon:.7}"))
        .unwrap_or_default();
    let category = appeal
        .category_id
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let area = appeal.area_id.map(|a| a.0.to_string()).unwrap_or_default();
    for field in [
        appeal.channel.as_str(),
        &appeal.title,
        &appeal.text,
        &appeal.reporter_name,
        &appeal.reporter_phone,
        &appeal.address,
        &location,
        &category,
        &area,
        if appeal.urgent { "1" } else { "0" },
    ] {
        hasher.update(field.as_bytes());
        hasher.update([0x1f]);
    }
    // Hashed only when given, so keys stored before appeal types keep their hash.
    if let Some(kind) = appeal.appeal_type {
        hasher.update(kind.as_str().as_bytes());
        hasher.update([0x1f]);
    }
    hex::encode(hasher.finalize())
}
