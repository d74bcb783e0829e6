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
