//! Operations metrics of the service layer. [`describe`] gives every series its HELP text and a
//! first value when the process starts, so a scrape right after start already sees all of them
//! (Prometheus' `rate()` needs the zero before the first increment). The business gauges (open,
//! overdue and parked cases by district and department) and the store's file sizes are refreshed
//! by [`Services::refresh_ops_gauges`] from the small `case_state_counts` table, never from cases.
//! Names follow Prometheus conventions: counters end in `_total`, durations are `_seconds`,
//! sizes `_bytes`; labels are bounded (actions, causes, districts, departments).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

use urbis_domain::appeal::Channel;
use urbis_storage::Unavailable;

use crate::Services;
use crate::intake::IntakeOutcome;

/// Intake channels, the labels of `urbis_cases_received_total`.
const CHANNELS: [Channel; 5] = [
    Channel::Web,
    Channel::Hotline,
    Channel::Grid,
    Channel::Api,
    Channel::Sensor,
];

/// Workflow action names, as `Action::name` gives them.
pub const ACTIONS: [&str; 17] = [
    "register",
    "void",
    "self_resolve",
    "dispatch",
    "accept",
    "return",
    "feedback",
    "check_pass",
    "check_fail",
    "close",
    "rate",
    "reopen",
    "request_extension",
    "request_park",
    "decide",
    "unpark",
    "supervise",
];

/// Causes of `urbis_storage_failures_total` (labelled by `Unavailable::as_str`).
pub const STORAGE_FAILURE_CAUSES: [Unavailable; 5] = [
    Unavailable::Full,
    Unavailable::ReadOnly,
    Unavailable::Busy,
    Unavailable::Io,
    Unavailable::Damaged,
];

/// The label value of a case outside every district or without a lead department.
pub const NONE_LABEL: &str = "none";

/// Label pairs the business gauges have shown, so a pair whose cases are all closed drops to 0.
static SHOWN: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// Describes every service metric and registers its first value. Call once the recorder is installed.
pub fn describe() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(describe_once);
}

fn describe_once() {
    describe_counter!(
        "urbis_appeals_received_total",
        "Appeals answered by intake; created=false when an idempotency key found an earlier one."
    );
    for created in ["true", "false"] {
        metrics::counter!("urbis_appeals_received_total", "created" => created).absolute(0);
    }
    describe_counter!(
        "urbis_cases_received_total",
        "New cases opened by intake, by channel (web, hotline, grid, api, sensor); repeats attached to an open case are not counted."
    );
    for channel in CHANNELS {
        metrics::counter!("urbis_cases_received_total", "channel" => channel.as_str()).absolute(0);
    }
    describe_counter!(
        "urbis_appeals_merged_total",
        "Appeals attached to an open case as a repeat report."
    );
    metrics::counter!("urbis_appeals_merged_total").absolute(0);
    describe_counter!(
        "urbis_intake_batches_total",
        "Group commits made by the intake writer."
    );
    metrics::counter!("urbis_intake_batches_total").absolute(0);
    describe_histogram!(
        "urbis_intake_batch_size",
        "Appeals stored per group commit."
    );
    let _registered = metrics::histogram!("urbis_intake_batch_size");
    describe_gauge!(
        "urbis_intake_queue_depth",
        "Appeals waiting for the intake writer when it finished its last group commit."
    );
    metrics::gauge!("urbis_intake_queue_depth").set(0.0);
    describe_histogram!(
        "urbis_intake_commit_duration_seconds",
        Unit::Seconds,
        "Time to store and durably commit one intake group."
    );
    let _registered = metrics::histogram!("urbis_intake_commit_duration_seconds");
    describe_histogram!(
        "urbis_intake_sync_duration_seconds",
        Unit::Seconds,
        "Time of the durable commit alone (COMMIT and the store's sync) of one intake group."
    );
    let _registered = metrics::histogram!("urbis_intake_sync_duration_seconds");
    describe_counter!(
        "urbis_case_transitions_total",
        "Workflow actions applied to cases, by action."
    );
    for action in ACTIONS {
        metrics::counter!("urbis_case_transitions_total", "action" => action).absolute(0);
    }
    describe_counter!(
        "urbis_sla_reminders_total",
        "Due-soon reminders sent by the SLA worker."
    );
    metrics::counter!("urbis_sla_reminders_total").absolute(0);
    describe_counter!(
        "urbis_sla_escalations_total",
        "Overdue escalations made by the SLA worker."
    );
    metrics::counter!("urbis_sla_escalations_total").absolute(0);
    describe_counter!("urbis_sla_failures_total", "SLA worker rounds that failed.");
    metrics::counter!("urbis_sla_failures_total").absolute(0);
    describe_counter!(
        "urbis_storage_failures_total",
        "Writes the store refused, by cause (full, read_only, busy, io, damaged)."
    );
    for cause in STORAGE_FAILURE_CAUSES {
        metrics::counter!("urbis_storage_failures_total", "cause" => cause.as_str()).absolute(0);
    }
    describe_gauge!(
        "urbis_storage_available",
        "1 while the store takes writes, 0 after a refused write until one succeeds again."
    );
    metrics::gauge!("urbis_storage_available").set(1.0);
    describe_gauge!(
        "urbis_store_size_bytes",
        Unit::Bytes,
        "Size of the SQLite database file."
    );
    describe_gauge!(
        "urbis_store_wal_size_bytes",
        Unit::Bytes,
        "Size of the SQLite write-ahead log."
    );
    metrics::gauge!("urbis_store_size_bytes").set(0.0);
    metrics::gauge!("urbis_store_wal_size_bytes").set(0.0);
    describe_gauge!(
        "urbis_live_feed_subscribers",
        "Live case feeds (server-sent events) open now."
    );
    metrics::gauge!("urbis_live_feed_subscribers").set(0.0);
    describe_gauge!(
        "urbis_cases_open",
        "Open cases (not closed, evaluated or voided) by district and lead department code."
    );
    describe_gauge!(
        "urbis_cases_overdue",
        "Open cases past their due time by district and lead department code."
    );
    describe_gauge!(
        "urbis_cases_parked",
        "Parked cases (挂账) by district and lead department code."
    );
    set_case_gauges(NONE_LABEL, NONE_LABEL, 0, 0, 0);
}

fn set_case_gauges(district: &str, department: &str, open: i64, overdue: i64, parked: i64) {
    let labels = [
        ("district", district.to_owned()),
        ("department", department.to_owned()),
    ];
    metrics::gauge!("urbis_cases_open", &labels).set(open as f64);
    metrics::gauge!("urbis_cases_overdue", &labels).set(overdue as f64);
    metrics::gauge!("urbis_cases_parked", &labels).set(parked as f64);
}

/// Intake answered a new appeal: a new case on `channel`, or a repeat attached to an open case.
pub fn appeal_stored(channel: Channel, outcome: &IntakeOutcome) {
    match (outcome.created, outcome.merged) {
        (true, false) => {
            metrics::counter!("urbis_cases_received_total", "channel" => channel.as_str())
                .increment(1);
        }
        (true, true) => metrics::counter!("urbis_appeals_merged_total").increment(1),
        _ => {}
    }
}

/// The intake writer stored and committed (or failed to commit) one group in `took`; `waiting`
/// appeals queued up behind it meanwhile.
pub fn intake_commit(took: Duration, waiting: usize) {
    metrics::histogram!("urbis_intake_commit_duration_seconds").record(took.as_secs_f64());
    metrics::gauge!("urbis_intake_queue_depth").set(waiting as f64);
}

/// The intake writer's COMMIT of one group returned after `took` (the part of
/// [`intake_commit`] that waits for the disk).
pub fn intake_synced(took: Duration) {
    metrics::histogram!("urbis_intake_sync_duration_seconds").record(took.as_secs_f64());
}

/// Shortest time between two refreshes of the business gauges (scrapes may come faster).
const REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(1);

impl Services {
    /// Refreshes the business gauges and the store's file sizes, at most once a second. Reads
    /// only `case_state_counts` and the district rows of `areas`; a failure keeps the old values.
    pub async fn refresh_ops_gauges(&self) {
        static LAST: Mutex<Option<Instant>> = Mutex::new(None);
        {
            let mut last = match LAST.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if last.is_some_and(|at| at.elapsed() < REFRESH_MIN_INTERVAL) {
                return;
            }
            *last = Some(Instant::now());
        }
        metrics::gauge!("urbis_live_feed_subscribers").set(self.inner.events.subscribers() as f64);
        if let Some(path) = self.db().location().file() {
            let size =
                |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64;
            metrics::gauge!("urbis_store_size_bytes").set(size(path));
            let mut wal = path.as_os_str().to_owned();
            wal.push("-wal");
            metrics::gauge!("urbis_store_wal_size_bytes").set(size(std::path::Path::new(&wal)));
        }

        let counts = match self.db().read().await {
            Ok(mut conn) => urbis_storage::stats::ops_counts(&mut conn).await,
            Err(err) => Err(err.into()),
        };
        let counts = match counts {
            Ok(counts) => counts,
            Err(err) => {
                tracing::warn!(error = %err, "failed to refresh the case gauges");
                return;
            }
        };
        let label = |code: &str| {
            if code.is_empty() {
                NONE_LABEL.to_owned()
            } else {
                code.to_owned()
            }
        };
        let mut shown = match SHOWN.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut now_shown = BTreeSet::new();
        now_shown.insert((NONE_LABEL.to_owned(), NONE_LABEL.to_owned()));
        for ((district, dept), c) in &counts {
            let key = (label(district), label(dept));
            set_case_gauges(&key.0, &key.1, c.open, c.overdue, c.parked);
            now_shown.insert(key);
        }
        for (district, dept) in shown.iter().filter(|k| !now_shown.contains(*k)) {
            set_case_gauges(district, dept, 0, 0, 0);
        }
        if !counts.contains_key(&(String::new(), String::new())) {
            set_case_gauges(NONE_LABEL, NONE_LABEL, 0, 0, 0);
        }
        shown.extend(now_shown);
    }
}
