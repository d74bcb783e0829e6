//! Telemetry events in one place: each function updates the Prometheus counters of one event.
//! Names follow `urbis_<noun>_<verb>_total`; labels have low cardinality.

/// An appeal was answered by intake (created, or found again by its idempotency key).
pub fn appeal_received(created: bool) {
    metrics::counter!("urbis_appeals_received_total", "created" => if created { "true" } else { "false" })
        .increment(1);
}

/// The intake writer committed a batch of `size` appeals.
pub fn intake_batch(size: usize) {
    metrics::counter!("urbis_intake_batches_total").increment(1);
    metrics::histogram!("urbis_intake_batch_size").record(size as f64);
}

/// A workflow action was applied to a case.
pub fn case_transition(action: &'static str) {
    metrics::counter!("urbis_case_transitions_total", "action" => action).increment(1);
}

/// The SLA worker sent reminders or escalations.
pub fn sla_tick(reminded: usize, escalated: usize) {
    metrics::counter!("urbis_sla_reminders_total").increment(reminded as u64);
    metrics::counter!("urbis_sla_escalations_total").increment(escalated as u64);
}

/// The SLA worker failed a round.
pub fn sla_failed() {
    metrics::counter!("urbis_sla_failures_total").increment(1);
}

/// The store refused a write (disk full, read-only, I/O error, locked, damaged). Counted every
/// time; logged once per cause until the store has taken a write again or a minute has passed,
/// so a full disk under load does not flood the log.
pub fn storage_failure(kind: urbis_storage::Unavailable, message: &str) {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static LAST: Mutex<Option<(urbis_storage::Unavailable, Instant, u64)>> = Mutex::new(None);
    metrics::counter!("urbis_storage_failures_total", "cause" => kind.as_str()).increment(1);
    metrics::gauge!("urbis_storage_available").set(0.0);
    let mut last = match LAST.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    match last.as_mut() {
        Some((seen, at, suppressed)) if *seen == kind && at.elapsed() < Duration::from_secs(60) => {
            *suppressed += 1;
        }
        _ => {
            let suppressed = last.map(|(_, _, n)| n).unwrap_or(0);
            tracing::error!(
                cause = kind.as_str(),
                error = message,
                suppressed_since_last_log = suppressed,
                "the store refused a write; writes answer 503 until it takes one again"
            );
            *last = Some((kind, Instant::now(), 0));
        }
    }
}

/// The store took a write again after a failure (logged once).
pub fn storage_recovered() {
    metrics::gauge!("urbis_storage_available").set(1.0);
}
