//! Urbis use cases. [`Services`] is what the HTTP layer and the CLI call: it owns transaction
//! bounds, permission checks and the audit log, so both front ends behave the same.
//!
//! Runtime shape: appeals go through one intake writer task (group commit: it gathers the appeals
//! that arrive together, commits them in one fsync'd transaction, then acknowledges each); every
//! other write takes the single writer connection for one short transaction; reads use the read
//! pool. The SLA worker wakes periodically to send reminders and escalate overdue cases.

pub mod assessment;
pub mod assessment_report;
pub mod assets;
pub mod assist;
pub mod attachments;
pub mod audit;
pub mod auth;
mod built;
pub mod bulk;
pub mod case_rows;
pub mod cases;
pub mod channels;
pub mod classify;
pub mod cluster;
pub mod cohandle;
pub mod config;
pub mod dedup;
pub mod density;
pub mod error;
pub mod events;
pub mod figures;
pub mod gazetteer;
pub mod geo;
pub mod grids;
pub mod guard;
pub mod insight;
pub mod intake;
pub mod jpeg;
pub mod metrics;
pub mod open311;
pub mod opendata;
pub mod reference;
pub mod residents;
pub mod routing;
pub mod sandbox;
pub mod sensors;
pub mod sharing;
pub mod sla;
pub mod stats;
pub mod taxonomy;
pub mod telemetry;
pub mod trail;
pub mod training;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use urbis_domain::calendar::WorkingCalendar;
use urbis_storage::Db;

pub use config::ServiceConfig;

/// The stored rows the use cases hand out, so that front ends (HTTP, CLI) depend on the services
/// only and never on the store.
pub mod rows {
    pub use urbis_storage::assessment::{
        AppealRow as AssessmentAppealRow, ResultRow as AssessmentResultRow,
        SchemeRow as AssessmentSchemeRow,
    };
    pub use urbis_storage::attachments::AttachmentRow;
    pub use urbis_storage::audit::AuditRow;
    pub use urbis_storage::cases::{AppealRow, CaseRow};
    pub use urbis_storage::cohandle::{
        DisputeCountRow, DisputeRow, GrantRow as PartnerGrantRow, PartnerRow, SubtaskListRow,
        SubtaskRow,
    };
    pub use urbis_storage::deliberation::{CommentRow, PollRow, ProposalRow};
    pub use urbis_storage::followups::{FlaggedRow, FollowupRow};
    pub use urbis_storage::geo::GazetteerRow;
    pub use urbis_storage::geo::{AssetRow, ResponsibilityGridRow};
    pub use urbis_storage::kb::{AnswerRow, ConsultationRow};
    pub use urbis_storage::open311::ClientRow;
    pub use urbis_storage::opendata::{ReleaseHead, ReleaseRow};
    pub use urbis_storage::orders::DispatchOrderRow;
    pub use urbis_storage::outbox::{DeliveryRow, OutboxRow, SinkRow};
    pub use urbis_storage::reference::{AreaRow, CalendarDayRow, RuleRow};
    pub use urbis_storage::residents::PublicReportRow;
    pub use urbis_storage::sandbox::{
        ExperimentRow as SandboxExperimentRow, RunRow as SandboxRunRow,
        ScenarioRow as SandboxScenarioRow,
    };
    pub use urbis_storage::sharing::{GrantRow, RequestRow as SharingRequestRow, ResourceRow};
    pub use urbis_storage::taxonomy_imports::TaxonomyImportRow;
    pub use urbis_storage::users::UserRow;
}

/// How instants are written on the wire and in the store (RFC 3339 UTC, microseconds).
pub mod time {
    pub use urbis_storage::time::{from_db, to_db};
}
/// Opening, copying and managing stores, for the entry points (`serve`, `demo`, tools): the
/// storage layer's own types, so callers above the services never import it.
pub mod store {
    pub use urbis_storage::admin::{ensure_database, recreate_database};
    pub use urbis_storage::copy::{TableDigest, copy_store, digest};
    pub use urbis_storage::{Access, Backend, Db, DbOptions, Durability, Location, StorageError};
}
pub use error::{ErrorKind, ServiceError};
pub use events::{CaseEvent, Subscription};

/// Result of a service call.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Every use case of Urbis, shared by the HTTP handlers and the CLI.
#[derive(Clone)]
pub struct Services {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    config: ServiceConfig,
    intake: intake::IntakeHandle,
    sessions: auth::SessionCache,
    calendar: RwLock<Arc<WorkingCalendar>>,
    events: events::EventHub,
    /// Set when the process begins to stop: live feeds end, workers finish their round.
    stopping: tokio::sync::watch::Sender<bool>,
    clock: Clock,
    locator: built::Built<geo::AreaLocator>,
    classifier: RwLock<Option<Arc<classify::Classifier>>>,
    dedup: dedup::DedupState,
    maps: assets::MapCaches,
    guards: Arc<guard::Guards>,
    dummy_hash: std::sync::OnceLock<String>,
    sensors: sensors::SensorState,
    /// When the scheduled open-data run last generated the datasets (`opendata::open_data_tick`).
    open_data_generated: std::sync::Mutex<Option<DateTime<Utc>>>,
    /// Set when this node joined a cluster (`Services::join_cluster`).
    cluster: std::sync::OnceLock<Arc<cluster::Node>>,
}

/// Where the services take the current time from.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    /// The system clock.
    #[default]
    System,
    /// A clock that only moves when told to (seeding history, tests), in microseconds since the epoch.
    Manual(Arc<std::sync::atomic::AtomicI64>),
}

impl Clock {
    /// Returns a manual clock set to `at`.
    pub fn manual(at: DateTime<Utc>) -> Clock {
        Clock::Manual(Arc::new(std::sync::atomic::AtomicI64::new(
            at.timestamp_micros(),
        )))
    }

    /// Returns the current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Manual(micros) => {
                DateTime::from_timestamp_micros(micros.load(std::sync::atomic::Ordering::SeqCst))
                    .unwrap_or_else(Utc::now)
            }
        }
    }

    /// Sets a manual clock; the system clock ignores it.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Clock::Manual(micros) = self {
            micros.store(at.timestamp_micros(), std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl Services {
    /// Builds the services on an opened store and starts the intake writer.
    pub async fn start(db: Db, config: ServiceConfig) -> Result<Services> {
        Self::start_with_clock(db, config, Clock::System).await
    }

    /// Builds the services with a chosen clock.
    pub async fn start_with_clock(db: Db, config: ServiceConfig, clock: Clock) -> Result<Services> {
        let calendar = reference::load_calendar(&db).await?;
        let intake = intake::IntakeHandle::spawn(db.clone(), config.clone());
        let (stopping, _) = tokio::sync::watch::channel(false);
        Ok(Services {
            inner: Arc::new(Inner {
                db,
                intake,
                sessions: auth::SessionCache::default(),
                calendar: RwLock::new(Arc::new(calendar)),
                events: events::EventHub::new(),
                stopping,
                clock,
                locator: built::Built::default(),
                classifier: RwLock::new(None),
                dedup: dedup::DedupState::default(),
                maps: assets::MapCaches::default(),
                guards: Arc::new(guard::Guards::new(config.security.clone())),
                dummy_hash: std::sync::OnceLock::new(),
                sensors: sensors::SensorState::default(),
                open_data_generated: std::sync::Mutex::new(None),
                cluster: std::sync::OnceLock::new(),
                config,
            }),
        })
    }

    /// Returns the store.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Returns the configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.inner.config
    }

    /// Returns the current time of the services' clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Returns the services' clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Returns the working calendar in force.
    pub fn calendar(&self) -> Arc<WorkingCalendar> {
        match self.inner.calendar.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_calendar(&self, calendar: WorkingCalendar) {
        let mut guard = match self.inner.calendar.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(calendar);
    }

    /// Subscribes to live case events; with the id of the last event a client saw, the
    /// subscription starts with what it missed (see [`events`]).
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        self.inner.events.subscribe(last_event_id)
    }

    /// Publishes an event of a committed change. In a cluster the node's listener publishes it
    /// when the change's audit record comes back from the stream, like every other node's.
    fn publish(&self, event: CaseEvent) {
        if self.inner.cluster.get().is_some() {
            return;
        }
        self.inner.events.publish(event);
    }

    /// Begins an orderly stop: live feeds end so the HTTP server can finish.
    pub fn begin_shutdown(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Resolves once [`Services::begin_shutdown`] was called.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut receiver = self.inner.stopping.subscribe();
        async move {
            let _ = receiver.wait_for(|stopping| *stopping).await;
        }
    }

    /// Converts a UTC instant to city-local time.
    pub fn to_local(&self, at: DateTime<Utc>) -> NaiveDateTime {
        at.with_timezone(&self.inner.config.time_zone).naive_local()
    }

    /// Converts a city-local time to UTC.
    pub fn from_local(&self, local: NaiveDateTime) -> DateTime<Utc> {
        let tz = self.inner.config.time_zone;
        // A local time that a daylight-saving change skips is read an hour later; one it repeats
        // is the earlier of the two.
        tz.from_local_datetime(&local)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or_else(|| local.and_utc())
    }

    /// Returns the city-local report day of an instant, as stored in statistics (YYYY-MM-DD).
    pub fn local_day(&self, at: DateTime<Utc>) -> String {
        self.to_local(at).format("%Y-%m-%d").to_string()
    }
}

impl Services {
    /// Returns whether the store answers a trivial query.
    pub async fn ping(&self) -> bool {
        match self.db().read().await {
            Ok(mut conn) => urbis_storage::lookups::ping(&mut conn).await.is_ok(),
            Err(_) => false,
        }
    }

    /// Whether the store takes a durable write now (a one-row write probe): what `/readyz`
    /// reports. Err carries the stable code (`storage_full`, `storage_unavailable`); in a
    /// cluster the broker must answer too (`broker_unavailable`).
    pub async fn ready(&self) -> Result<()> {
        self.db().probe_write().await?;
        metrics::storage_recovered();
        self.broker_ready().await
    }
}
