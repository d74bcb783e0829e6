//! Intake with group commit. Every channel's appeal goes to one writer task; the writer takes the
//! appeals that are waiting, stores them (case, appeal, audit record, statistics) in one
//! transaction, commits it with the store's durability (fsync by default), and only then answers
//! each sender. A retry with the same idempotency key returns the case of the first attempt.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use urbis_domain::appeal::{AppealInput, Channel, NewAppeal, limits};
use urbis_domain::role::{Actor, Role};
use urbis_domain::workflow::CaseState;
use urbis_storage::audit::{ChainHead, NewAudit};
use urbis_storage::cases::{self, NewAppealRow};
use urbis_storage::stats::{self, Dim, StateKey};
use urbis_storage::{Conn, Db, reference};

use crate::{ErrorKind, Result, ServiceConfig, ServiceError, Services};

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
        tokio::spawn(writer_loop(db, config, receiver));
        IntakeHandle { sender }
    }
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
        // The reporter, for the repeat model: the phone given, else the resident's account.
        let reporter_key = match (appeal.reporter_phone.trim(), actor) {
            ("", Some(a)) if a.role == Role::Resident => Some(format!("user:{}", a.user_id.0)),
            ("", _) => None,
            (phone, _) => Some(phone.chars().filter(char::is_ascii_digit).collect()),
        };
        let repeat_profile = crate::dedup::repeat_profile(
            &appeal.title,
            &appeal.text,
            reporter_key.as_deref(),
            self.now().timestamp(),
        );
        let repeat_of = match (appeal.category_id, appeal.area_id) {
            (Some(category), Some(area)) => {
                self.find_repeat(&repeat_profile, category.0, area.0)
                    .await?
            }
            _ => None,
        };
        let dedup_key = appeal
            .category_id
            .zip(appeal.area_id)
            .map(|(c, a)| (c.0, a.0));
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
        if let (true, false, Some((category, area))) = (outcome.created, outcome.merged, dedup_key)
        {
            self.remember_case(outcome.case_id, repeat_profile, category, area);
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

async fn writer_loop(db: Db, config: ServiceConfig, mut receiver: mpsc::Receiver<IntakeJob>) {
    let offset = config.time_zone;
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < config.intake_batch_max {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let size = batch.len();
        let started = std::time::Instant::now();
        let outcomes = match commit_batch(&db, &batch, offset).await {
            Ok(outcomes) => outcomes,
            Err(err) if size > 1 && err.kind != ErrorKind::Unavailable => {
                // One bad appeal must not sink its neighbours: retry each on its own.
                tracing::warn!(error = %err, size, "intake batch failed, retrying one by one");
                let mut outcomes = Vec::with_capacity(size);
                for job in &batch {
                    let single = commit_batch(&db, std::slice::from_ref(job), offset).await;
                    outcomes.push(single.and_then(|mut v| {
                        v.pop().unwrap_or_else(|| Err(ServiceError::internal()))
                    }));
                }
                outcomes
            }
            Err(err) => (0..size).map(|_| Err(err.clone())).collect(),
        };
        crate::telemetry::intake_commit(started.elapsed(), receiver.len());
        crate::metrics::intake_batch(size);
        for (job, outcome) in batch.into_iter().zip(outcomes) {
            // A sender that gave up is fine: its appeal is stored and a retry finds it by key.
            let _ = job.reply.send(outcome);
        }
    }
}

type Outcomes = Vec<Result<IntakeOutcome>>;

/// Most residents a case follows up besides its first reporter.
const CO_REPORTERS_MAX: usize = 500;

async fn commit_batch(db: &Db, batch: &[IntakeJob], offset: chrono_tz::Tz) -> Result<Outcomes> {
    let mut tx = db.begin_write().await?;
    let outcomes = store_batch(&mut tx, batch, offset).await?;
    tx.commit().await?;
    crate::metrics::storage_recovered();
    Ok(outcomes)
}

async fn store_batch(
    conn: &mut Conn,
    batch: &[IntakeJob],
    offset: chrono_tz::Tz,
) -> Result<Outcomes> {
    let root = reference::root_area(conn).await?;
    let mut areas: HashMap<i64, String> = HashMap::new();
    // Categories known to exist, and case ids taken for this batch, so that a batch makes one
    // round trip per look-up instead of one per appeal (it matters on a networked store).
    let mut categories: HashMap<i64, bool> = HashMap::new();
    let mut ids = urbis_storage::intake::CaseIds::default();
    let mut head = ChainHead::load(conn).await?;
    let mut seen_keys: HashMap<String, (IntakeOutcome, String)> = HashMap::new();
    let mut counters: HashMap<(String, i64, i64), i64> = HashMap::new();
    let mut states: HashMap<(i64, i64), i64> = HashMap::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    let received = CaseState::Received.as_str();

    for job in batch {
        if let Some(key) = &job.idempotency_key {
            if let Some((done, hash)) = seen_keys.get(key) {
                outcomes.push(if *hash == job.content_hash {
                    Ok(IntakeOutcome {
                        created: false,
                        ..done.clone()
                    })
                } else {
                    Err(key_reused())
                });
                continue;
            }
            if let Some((case_id, hash)) = cases::find_by_idempotency_key(conn, key).await? {
                // Appeals stored before hashes were kept have none: they answer as before.
                if hash.as_ref().is_some_and(|h| *h != job.content_hash) {
                    outcomes.push(Err(key_reused()));
                    continue;
                }
                let case = cases::get_case(conn, case_id).await?;
                let outcome = IntakeOutcome {
                    case_id,
                    number: case.number,
                    state: case.state,
                    created: false,
                    merged: false,
                    area_path: case.area_path,
                };
                seen_keys.insert(key.clone(), (outcome.clone(), job.content_hash.clone()));
                outcomes.push(Ok(outcome));
                continue;
            }
        }
        if let Some(link) = &job.repeat_of
            && let Some(outcome) = attach_repeat(conn, &mut head, job, link).await?
        {
            if let Some(key) = &job.idempotency_key {
                seen_keys.insert(key.clone(), (outcome.clone(), job.content_hash.clone()));
            }
            outcomes.push(Ok(outcome));
            continue;
        }
        let appeal = &job.appeal;
        let area_id = appeal.area_id.map(|a| a.0).unwrap_or(root.id);
        let area_path = match areas.get(&area_id) {
            Some(path) => path.clone(),
            None => match reference::get_area(conn, area_id).await {
                Ok(area) => {
                    areas.insert(area_id, area.path.clone());
                    area.path
                }
                Err(urbis_storage::StorageError::NotFound(_)) => {
                    outcomes.push(Err(ServiceError::invalid(
                        "unknown_area",
                        format!("area {area_id} does not exist"),
                    )));
                    continue;
                }
                Err(err) => return Err(err.into()),
            },
        };
        if let Some(category) = appeal.category_id {
            let exists = match categories.get(&category.0) {
                Some(known) => *known,
                None => {
                    let known =
                        urbis_storage::lookups::category_exists(&mut *conn, category.0).await?;
                    categories.insert(category.0, known);
                    known
                }
            };
            if !exists {
                outcomes.push(Err(ServiceError::invalid(
                    "unknown_category",
                    format!("category {} does not exist", category.0),
                )));
                continue;
            }
        }
        let next_id = ids.next(conn, batch.len()).await?;
        let local = job.received_at.with_timezone(&offset);
        let day = local.format("%Y-%m-%d").to_string();
        let number = format!("{}{next_id:07}", local.format("%Y%m%d"));
        let at = job.received_at;
        let reporter_user_id = reporter_user(job);
        let category_id = appeal.category_id.map(|c| c.0);
        let proposed_route = job
            .place
            .route
            .as_ref()
            .map(|r| crate::assist::ProposedRoute::new(r, job.needs_review));
        urbis_storage::intake::insert_case(
            conn,
            &urbis_storage::intake::NewCase {
                id: next_id,
                number: &number,
                state: received,
                channel: appeal.channel.as_str(),
                title: &appeal.title,
                text: &appeal.text,
                address: &appeal.address,
                lat: appeal.location.map(|l| l.0),
                lon: appeal.location.map(|l| l.1),
                category_id,
                area_id,
                area_path: &area_path,
                reporter_user_id,
                reporter_name: &appeal.reporter_name,
                reporter_phone: &appeal.reporter_phone,
                urgent: appeal.urgent || job.priority.level == urbis_text::priority::Level::Urgent,
                stats_day: &day,
                at,
                priority_score: i64::from(job.priority.score),
                priority_level: job.priority.level.as_str(),
                priority_factors: serde_json::to_string(&job.priority.factors)
                    .unwrap_or_else(|_| "[]".into())
                    .into(),
                suggested_category_id: job.suggestion.as_ref().and_then(|s| s.category_id),
                suggested_confidence: job.suggestion.as_ref().map(|s| f64::from(s.confidence)),
                suggestions: job
                    .suggestion
                    .as_ref()
                    .and_then(|s| serde_json::to_string(&s.top).ok())
                    .unwrap_or_else(|| "[]".into())
                    .into(),
                needs_review: job.needs_review,
                proposed_route: proposed_route
                    .as_ref()
                    .and_then(|r| serde_json::to_string(r).ok())
                    .map(Into::into),
            },
        )
        .await?;
        insert_job_appeal(conn, job, next_id, at).await?;
        job.geo.store(conn, next_id).await?;
        let mut detail = serde_json::json!({
            "channel": appeal.channel.as_str(),
            "number": number,
            "area_id": area_id,
            "category_id": category_id,
        });
        if let Some(suggestion) = &job.suggestion {
            detail["classifier"] = serde_json::json!({
                "label": suggestion.label,
                "confidence": suggestion.confidence,
                "applied": suggestion.applied,
                "top": suggestion.top,
            });
        }
        detail["needs_review"] = job.needs_review.into();
        detail["priority"] = serde_json::json!({
            "score": job.priority.score,
            "level": job.priority.level.as_str(),
        });
        if let Some(route) = &proposed_route {
            detail["proposed_route"] = serde_json::to_value(route).unwrap_or_default();
        }
        if let Some(geo) = job.geo.audit_detail() {
            detail["geo"] = geo;
        }
        let detail = detail.to_string();
        head.append(
            conn,
            &NewAudit {
                at: at,
                actor_id: job.reporter.as_ref().map(|a| a.user_id.0),
                actor_role: job
                    .reporter
                    .as_ref()
                    .map(|a| a.role.as_str())
                    .unwrap_or("anonymous"),
                action: "receive",
                entity: "case",
                entity_id: next_id,
                from_state: "",
                to_state: received,
                detail: &detail,
            },
        )
        .await?;
        *counters
            .entry((day, area_id, category_id.unwrap_or(0)))
            .or_default() += 1;
        *states
            .entry((area_id, category_id.unwrap_or(0)))
            .or_default() += 1;
        let outcome = IntakeOutcome {
            case_id: next_id,
            number,
            state: received.to_owned(),
            created: true,
            merged: false,
            area_path: area_path.clone(),
        };
        if let Some(key) = &job.idempotency_key {
            seen_keys.insert(key.clone(), (outcome.clone(), job.content_hash.clone()));
        }
        outcomes.push(Ok(outcome));
    }
    let mut batch = stats::CounterBatch::default();
    for ((day, area_id, category_id), n) in counters {
        batch.event(&day, Dim::Area, area_id, category_id, "reported", n);
    }
    for ((area_id, category_id), n) in states {
        let key = StateKey {
            area_id,
            dept_id: 0,
            category_id,
            state: received.to_owned(),
            overdue: false,
        };
        batch.state(&key, n);
    }
    batch.write(conn).await?;
    Ok(outcomes)
}

/// Attaches a repeat appeal to an open case: the appeal is stored with its reporter, the case's
/// reporter count grows, and the merge is audited. Returns None when the case is no longer open.
async fn attach_repeat(
    conn: &mut Conn,
    head: &mut ChainHead,
    job: &IntakeJob,
    link: &crate::dedup::RepeatLink,
) -> Result<Option<IntakeOutcome>> {
    let case_id = link.case_id;
    let Some(target) = urbis_storage::intake::repeat_target(conn, case_id).await? else {
        return Ok(None);
    };
    if CaseState::parse(&target.state).is_none_or(|s| !s.is_open()) {
        return Ok(None);
    }
    let urbis_storage::intake::RepeatTarget {
        state,
        number,
        stats_day,
        area_id,
        category_id,
        area_path,
        title,
        text,
        reporter_count,
        reporter_user_id: owner,
        co_reporters,
        anonymous_repeats: anonymous,
    } = target;
    let appeal = &job.appeal;
    let at = job.received_at;
    let appeal_id = insert_job_appeal(conn, job, case_id, at).await?;
    // More reporters make the problem more pressing: the score counts the duplicates, but only
    // the first few anonymous ones, so that anonymous re-posts cannot push a case up without bound.
    let is_anonymous = job.reporter.is_none();
    let anonymous = anonymous + i64::from(is_anonymous);
    let identified = reporter_count + 1 - anonymous;
    let scored = identified + anonymous.min(i64::from(job.anonymous_repeat_cap));
    let priority = urbis_text::priority::score(&urbis_text::priority::PriorityInput {
        text: &format!("{title} {text}"),
        category_severity: job.place.severity,
        duplicate_count: u32::try_from(scored - 1).unwrap_or(0),
        repeat_place_count: job.place.repeat_place_count,
    });
    // A resident whose report joined the case is counted and notified of its progress; reading
    // and rating stay with the first reporter (`workflow::can_view`).
    let mut co = crate::cases::parse_ids(&co_reporters);
    if let Some(user) = reporter_user(job)
        && owner != Some(user)
        && !co.contains(&user)
        && co.len() < CO_REPORTERS_MAX
    {
        co.push(user);
        cases::insert_notification(
            conn,
            &cases::NotificationRow {
                id: 0,
                case_id,
                dept_id: None,
                user_id: Some(user),
                kind: "merged".into(),
                message: format!("您的诉求与案件 {number} 反映的是同一问题，已并入该案件一并办理"),
                created_at: at.clone(),
            },
        )
        .await?;
    }
    let co_reporters = crate::cases::format_ids(&co);
    let score = i64::from(priority.score);
    urbis_storage::intake::record_repeat(
        conn,
        &urbis_storage::intake::RepeatUpdate {
            case_id,
            co_reporters: &co_reporters,
            anonymous_repeats: anonymous,
            score,
            level: priority.level.as_str(),
            factors: serde_json::to_string(&priority.factors)
                .unwrap_or_else(|_| "[]".into())
                .into(),
            at,
        },
    )
    .await?;
    // The dispatcher sees why the appeal was merged: the score, each signal and the Chinese summary.
    let mut detail = link.audit_fields();
    detail["appeal_id"] = serde_json::json!(appeal_id);
    detail["channel"] = serde_json::json!(appeal.channel.as_str());
    let detail = detail.to_string();
    head.append(
        conn,
        &NewAudit {
            at: at,
            actor_id: job.reporter.as_ref().map(|a| a.user_id.0),
            actor_role: job
                .reporter
                .as_ref()
                .map(|a| a.role.as_str())
                .unwrap_or("anonymous"),
            action: "merge_repeat",
            entity: "case",
            entity_id: case_id,
            from_state: &state,
            to_state: &state,
            detail: &detail,
        },
    )
    .await?;
    stats::bump(
        conn,
        &stats_day,
        Dim::Area,
        area_id,
        category_id.unwrap_or(0),
        "repeat_reports",
        1,
    )
    .await?;
    Ok(Some(IntakeOutcome {
        case_id,
        number,
        state,
        created: true,
        merged: true,
        area_path,
    }))
}

/// Returns the user a case belongs to: residents own what they report, staff file for others.
fn reporter_user(job: &IntakeJob) -> Option<i64> {
    job.reporter
        .as_ref()
        .filter(|a| a.role == Role::Resident)
        .map(|a| a.user_id.0)
}

/// Stores the job's appeal, with its reporter and idempotency key, under `case_id`.
async fn insert_job_appeal(
    conn: &mut Conn,
    job: &IntakeJob,
    case_id: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<i64> {
    let appeal = &job.appeal;
    Ok(cases::insert_appeal(
        conn,
        &NewAppealRow {
            case_id,
            channel: appeal.channel.as_str(),
            title: &appeal.title,
            text: &appeal.text,
            reporter_user_id: reporter_user(job),
            reporter_name: &appeal.reporter_name,
            reporter_phone: &appeal.reporter_phone,
            idempotency_key: job.idempotency_key.as_deref(),
            idempotency_hash: job
                .idempotency_key
                .as_ref()
                .map(|_| job.content_hash.as_str()),
            created_at: at,
        },
    )
    .await?)
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
    hex::encode(hasher.finalize())
}
