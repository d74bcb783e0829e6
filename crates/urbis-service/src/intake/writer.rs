//! The intake writer: one task takes the appeals that are waiting, stores them in one transaction
//! (a group commit) and answers each sender after the commit. New cases, their appeals and their
//! receive records are staged and written with multi-row statements, so a group of any size costs
//! a handful of round trips — it matters on a networked store (PostgreSQL).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use urbis_domain::workflow::CaseState;
use urbis_storage::audit::{ChainHead, NewAudit};
use urbis_storage::cases::{self, NewAppealRow};
use urbis_storage::intake::{NewCase, RowIds};
use urbis_storage::lookups::{self, distinct};
use urbis_storage::sql::JsonText;
use urbis_storage::stats::{self, Dim, StateKey};
use urbis_storage::{Conn, Db, reference};

use super::{IntakeJob, IntakeOutcome, key_reused, reporter_user};
use crate::{ErrorKind, Result, ServiceConfig, ServiceError};

pub(super) async fn writer_loop(
    db: Db,
    config: ServiceConfig,
    mut receiver: mpsc::Receiver<IntakeJob>,
) {
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

async fn commit_batch(db: &Db, batch: &[IntakeJob], offset: chrono_tz::Tz) -> Result<Outcomes> {
    let mut tx = db.begin_write().await?;
    let outcomes = store_batch(&mut tx, batch, offset).await?;
    let syncing = std::time::Instant::now();
    tx.commit().await?;
    crate::telemetry::intake_synced(syncing.elapsed());
    crate::metrics::storage_recovered();
    Ok(outcomes)
}

/// A new case waiting in the group commit for the multi-row statements.
struct Staged<'j> {
    job: &'j IntakeJob,
    id: i64,
    number: String,
    day: String,
    area_id: i64,
    area_path: String,
    /// The receive record's detail.
    detail: String,
}

/// One appeal of the group commit that opens or joins a case.
enum Entry<'j> {
    New(Staged<'j>),
    Repeat(super::repeat::StagedRepeat<'j>),
}

/// What one group commit writes, staged for multi-row statements: new cases, every appeal (new
/// or repeat) and their audit records in the order the appeals arrived (so the audit chain keeps
/// that order), then one statement updating every case that repeats joined.
#[derive(Default)]
struct Staging<'j> {
    entries: Vec<Entry<'j>>,
    /// Open cases this group's repeats may join, by id.
    joined: HashMap<i64, super::repeat::Joined>,
    notifications: Vec<cases::NotificationRow>,
}

impl Staging<'_> {
    async fn flush(&mut self, conn: &mut Conn, head: &mut ChainHead) -> Result<()> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let received = CaseState::Received.as_str();
        let rows: Vec<NewCase<'_>> = self
            .entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::New(s) => Some(s),
                Entry::Repeat(_) => None,
            })
            .map(|s| {
                let (job, appeal) = (s.job, &s.job.appeal);
                NewCase {
                    id: s.id,
                    number: &s.number,
                    state: received,
                    channel: appeal.channel.as_str(),
                    title: &appeal.title,
                    text: &appeal.text,
                    address: &appeal.address,
                    lat: appeal.location.map(|l| l.0),
                    lon: appeal.location.map(|l| l.1),
                    category_id: appeal.category_id.map(|c| c.0),
                    area_id: s.area_id,
                    area_path: &s.area_path,
                    reporter_user_id: reporter_user(job),
                    reporter_name: &appeal.reporter_name,
                    reporter_phone: &appeal.reporter_phone,
                    urgent: appeal.urgent
                        || job.priority.level == urbis_text::priority::Level::Urgent,
                    stats_day: &s.day,
                    at: job.received_at,
                    priority_score: i64::from(job.priority.score),
                    priority_level: job.priority.level.as_str(),
                    priority_factors: job.prepared.priority_factors.clone(),
                    suggested_category_id: job.suggestion.as_ref().and_then(|g| g.category_id),
                    suggested_confidence: job.suggestion.as_ref().map(|g| f64::from(g.confidence)),
                    suggestions: job.prepared.suggestions.clone(),
                    needs_review: job.needs_review,
                    proposed_route: job.prepared.proposed_route.clone(),
                    asset_id: job.geo.asset.as_ref().map(|(id, _)| id.as_str()),
                    asset_distance_m: job.geo.asset.as_ref().map(|(_, d)| *d),
                }
            })
            .collect();
        urbis_storage::intake::insert_cases(conn, &rows).await?;
        // Every appeal's id is taken first: a repeat's audit record names its appeal.
        let mut ids = RowIds::appeals();
        let mut appeals = Vec::with_capacity(self.entries.len());
        for (i, entry) in self.entries.iter().enumerate() {
            let (job, case_id) = match entry {
                Entry::New(s) => (s.job, s.id),
                Entry::Repeat(r) => (r.job, r.case_id),
            };
            let id = ids.next(conn, self.entries.len() - i).await?;
            appeals.push((id, appeal_row(job, case_id)));
        }
        cases::insert_appeals(conn, &appeals).await?;
        // The appeal types (投诉/求助/…) of new cases, in one statement, and the residents'
        // "received" messages.
        let types: Vec<(i64, &str)> = self
            .entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::New(s) => s.job.appeal.appeal_type.map(|t| (s.id, t.as_str())),
                Entry::Repeat(_) => None,
            })
            .collect();
        urbis_storage::residents::set_appeal_types(conn, &types).await?;
        let receipts: Vec<(i64, i64, String, String, DateTime<Utc>)> = self
            .entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::New(s) => reporter_user(s.job).map(|user| {
                    let body = format!(
                        "您反映的问题已受理，案件编号 {}，可凭编号查询进度",
                        s.number
                    );
                    let key =
                        crate::residents::message_key(s.id, "received", user, s.job.received_at);
                    (user, s.id, body, key, s.job.received_at)
                }),
                Entry::Repeat(_) => None,
            })
            .collect();
        let messages: Vec<urbis_storage::outbox::UserMessage<'_>> = receipts
            .iter()
            .map(
                |(user_id, case_id, body, key, at)| urbis_storage::outbox::UserMessage {
                    user_id: *user_id,
                    case_id: *case_id,
                    body,
                    key,
                    at: *at,
                },
            )
            .collect();
        urbis_storage::outbox::enqueue_many_for_users(conn, "received", &messages).await?;
        // A repeat's detail names its appeal; a new case's detail was written when it was staged.
        let repeat_details: Vec<Option<String>> = self
            .entries
            .iter()
            .zip(&appeals)
            .map(|(entry, (appeal_id, _))| match entry {
                Entry::New(_) => None,
                Entry::Repeat(r) => {
                    Some(with_first(&format!("\"appeal_id\":{appeal_id}"), r.detail))
                }
            })
            .collect();
        let records: Vec<NewAudit<'_>> = self
            .entries
            .iter()
            .zip(&repeat_details)
            .map(|(entry, repeat_detail)| {
                let (job, action, entity_id, from, to, detail) = match entry {
                    Entry::New(s) => (s.job, "receive", s.id, "", received, s.detail.as_str()),
                    Entry::Repeat(r) => (
                        r.job,
                        "merge_repeat",
                        r.case_id,
                        r.state.as_str(),
                        r.state.as_str(),
                        repeat_detail.as_deref().unwrap_or_default(),
                    ),
                };
                NewAudit {
                    at: job.received_at,
                    actor_id: job.reporter.as_ref().map(|a| a.user_id.0),
                    actor_role: actor_role(job),
                    action,
                    entity: "case",
                    entity_id,
                    from_state: from,
                    to_state: to,
                    detail,
                }
            })
            .collect();
        head.append_all(conn, &records).await?;
        super::repeat::write_joined(conn, &self.joined).await?;
        super::repeat::notify(conn, &self.notifications).await?;
        self.entries.clear();
        self.notifications.clear();
        Ok(())
    }
}

/// The role an audit record names for the job's reporter.
pub(super) fn actor_role(job: &IntakeJob) -> &'static str {
    job.reporter
        .as_ref()
        .map(|a| a.role.as_str())
        .unwrap_or("anonymous")
}

async fn store_batch(
    conn: &mut Conn,
    batch: &[IntakeJob],
    offset: chrono_tz::Tz,
) -> Result<Outcomes> {
    let root = reference::root_area(conn).await?;
    // The paths of the batch's areas and the batch's categories that exist, each looked up in one
    // statement, and case ids taken for this batch: a batch makes one round trip per look-up, not
    // one per appeal (on a networked store, and on SQLite too, where each answer is awaited).
    let area_of = |job: &IntakeJob| job.appeal.area_id.map(|a| a.0).unwrap_or(root.id);
    let areas = lookups::area_paths(conn, &distinct(batch.iter().map(area_of))).await?;
    let categories = lookups::category_codes(
        conn,
        &distinct(
            batch
                .iter()
                .filter_map(|job| job.appeal.category_id.map(|c| c.0)),
        ),
    )
    .await?;
    let mut ids = RowIds::cases();
    let mut head = ChainHead::load(conn).await?;
    let mut staging = Staging {
        joined: super::repeat::joinable(conn, batch).await?,
        ..Staging::default()
    };
    // Idempotency keys already stored, looked up for the whole batch at once.
    let keys: Vec<&str> = batch
        .iter()
        .filter_map(|job| job.idempotency_key.as_deref())
        .collect();
    let stored: HashMap<String, (i64, Option<String>)> = if keys.is_empty() {
        HashMap::new()
    } else {
        cases::find_by_idempotency_keys(conn, &keys)
            .await?
            .into_iter()
            .map(|a| (a.idempotency_key, (a.case_id, a.idempotency_hash)))
            .collect()
    };
    let mut seen_keys: HashMap<String, (IntakeOutcome, String)> = HashMap::new();
    let mut counters: HashMap<(String, i64, i64), i64> = HashMap::new();
    let mut states: HashMap<(i64, i64), i64> = HashMap::new();
    let mut repeats: HashMap<(String, i64, i64), i64> = HashMap::new();
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
            if let Some((case_id, hash)) = stored.get(key) {
                // Appeals stored before hashes were kept have none: they answer as before.
                if hash.as_ref().is_some_and(|h| *h != job.content_hash) {
                    outcomes.push(Err(key_reused()));
                    continue;
                }
                let case = cases::get_case(conn, *case_id).await?;
                let outcome = IntakeOutcome {
                    case_id: *case_id,
                    number: case.number,
                    state: case.state.as_str().to_owned(),
                    created: false,
                    merged: false,
                    area_path: case.area_path,
                };
                seen_keys.insert(key.clone(), (outcome.clone(), job.content_hash.clone()));
                outcomes.push(Ok(outcome));
                continue;
            }
        }
        // The dispatcher sees why the appeal was merged: the score, each signal and the Chinese summary.
        if let Some(link) = &job.repeat_of
            && let Some(detail) = job.prepared.repeat_detail.as_deref()
            && let Some(joined) = staging.joined.get_mut(&link.case_id)
        {
            let (staged, outcome) =
                super::repeat::stage(joined, job, detail, &mut staging.notifications);
            *repeats.entry(joined.counter_key()).or_default() += 1;
            staging.entries.push(Entry::Repeat(staged));
            if let Some(key) = &job.idempotency_key {
                seen_keys.insert(key.clone(), (outcome.clone(), job.content_hash.clone()));
            }
            outcomes.push(Ok(outcome));
            continue;
        }
        let appeal = &job.appeal;
        let area_id = area_of(job);
        let Some(area_path) = areas.get(&area_id).cloned() else {
            outcomes.push(Err(ServiceError::invalid(
                "unknown_area",
                format!("area {area_id} does not exist"),
            )));
            continue;
        };
        if let Some(category) = appeal.category_id
            && !categories.contains_key(&category.0)
        {
            outcomes.push(Err(ServiceError::invalid(
                "unknown_category",
                format!("category {} does not exist", category.0),
            )));
            continue;
        }
        let next_id = ids.next(conn, batch.len()).await?;
        let local = job.received_at.with_timezone(&offset);
        let day = local.format("%Y-%m-%d").to_string();
        let number = format!("{}{next_id:07}", local.format("%Y%m%d"));
        let category_id = appeal.category_id.map(|c| c.0);
        // The number is digits only, so it needs no escaping.
        let detail = with_first(
            &format!("\"area_id\":{area_id},\"number\":\"{number}\""),
            &job.prepared.receive_detail,
        );
        *counters
            .entry((day.clone(), area_id, category_id.unwrap_or(0)))
            .or_default() += 1;
        *states
            .entry((area_id, category_id.unwrap_or(0)))
            .or_default() += 1;
        let outcome = IntakeOutcome {
            case_id: next_id,
            number: number.clone(),
            state: received.to_owned(),
            created: true,
            merged: false,
            area_path: area_path.clone(),
        };
        staging.entries.push(Entry::New(Staged {
            job,
            id: next_id,
            number,
            day,
            area_id,
            area_path,
            detail,
        }));
        if let Some(key) = &job.idempotency_key {
            seen_keys.insert(key.clone(), (outcome.clone(), job.content_hash.clone()));
        }
        outcomes.push(Ok(outcome));
    }
    staging.flush(conn, &mut head).await?;
    let mut batch = stats::CounterBatch::default();
    for ((day, area_id, category_id), n) in counters {
        batch.event(&day, Dim::Area, area_id, category_id, "reported", n);
    }
    for ((day, area_id, category_id), n) in repeats {
        batch.event(&day, Dim::Area, area_id, category_id, "repeat_reports", n);
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

/// What the request's own task prepares for the writer, so that the one serial writer only binds
/// and writes: the JSON of a new case's columns and the audit record's detail, without the members
/// only the writer knows (the case's number and area, a repeat's appeal id).
pub(super) struct Prepared {
    priority_factors: JsonText,
    suggestions: JsonText,
    proposed_route: Option<JsonText>,
    /// The receive record's detail without `area_id` and `number`: a JSON object.
    receive_detail: String,
    /// The `merge_repeat` record's detail without `appeal_id`, when the appeal repeats a case.
    pub(super) repeat_detail: Option<String>,
}

/// What intake found out about an appeal before it goes to the writer.
pub(super) struct Facts<'a> {
    pub(super) appeal: &'a urbis_domain::appeal::NewAppeal,
    pub(super) suggestion: Option<&'a crate::classify::Suggestion>,
    pub(super) geo: &'a crate::assets::IntakeGeo,
    pub(super) repeat_of: Option<&'a crate::dedup::RepeatLink>,
    pub(super) priority: &'a urbis_text::priority::Priority,
    pub(super) place: &'a crate::assist::PlaceFacts,
    pub(super) needs_review: bool,
}

impl Prepared {
    /// The case's columns as JSON, and what the receive record says: channel, category, the
    /// classifier's view, the priority, the proposed route and what the gazetteer and asset
    /// look-ups found; for a repeat, the model's reasons (score, each signal, the Chinese summary).
    pub(super) fn of(facts: Facts<'_>) -> Prepared {
        let proposed_route = facts
            .place
            .route
            .as_ref()
            .map(|r| crate::assist::ProposedRoute::new(r, facts.needs_review));
        let mut detail = serde_json::json!({
            "channel": facts.appeal.channel.as_str(),
            "category_id": facts.appeal.category_id.map(|c| c.0),
        });
        if let Some(suggestion) = facts.suggestion {
            detail["classifier"] = serde_json::json!({
                "label": suggestion.label,
                "confidence": suggestion.confidence,
                "applied": suggestion.applied,
                "top": suggestion.top,
            });
        }
        if let Some(kind) = facts.appeal.appeal_type {
            detail["appeal_type"] = kind.as_str().into();
        }
        detail["needs_review"] = facts.needs_review.into();
        detail["priority"] = serde_json::json!({
            "score": facts.priority.score,
            "level": facts.priority.level.as_str(),
        });
        if let Some(route) = &proposed_route {
            detail["proposed_route"] = serde_json::to_value(route).unwrap_or_default();
        }
        if let Some(geo) = facts.geo.audit_detail() {
            detail["geo"] = geo;
        }
        let repeat_detail = facts.repeat_of.map(|link| {
            let mut detail = link.audit_fields();
            detail["channel"] = serde_json::json!(facts.appeal.channel.as_str());
            detail.to_string()
        });
        Prepared {
            priority_factors: serde_json::to_string(&facts.priority.factors)
                .unwrap_or_else(|_| "[]".into())
                .into(),
            suggestions: facts
                .suggestion
                .and_then(|s| serde_json::to_string(&s.top).ok())
                .unwrap_or_else(|| "[]".into())
                .into(),
            proposed_route: proposed_route
                .as_ref()
                .and_then(|r| serde_json::to_string(r).ok())
                .map(Into::into),
            receive_detail: detail.to_string(),
            repeat_detail,
        }
    }
}

/// `object`, a JSON object with at least one member, with `members` (JSON `"key":value` pairs)
/// put first.
fn with_first(members: &str, object: &str) -> String {
    debug_assert!(object.starts_with('{') && object.len() > 2);
    format!("{{{members},{}", &object[1..])
}

/// The appeal row of a job, under `case_id`.
pub(super) fn appeal_row(job: &IntakeJob, case_id: i64) -> NewAppealRow<'_> {
    let appeal = &job.appeal;
    NewAppealRow {
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
        created_at: job.received_at,
    }
}
