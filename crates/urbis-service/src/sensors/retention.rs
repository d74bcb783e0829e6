//! Retention and down-sampling: raw readings older than the retention period are folded into
//! hourly aggregates (count, min, max, sum per device and hour) and deleted, one hour of readings
//! per transaction, oldest first. The aggregates are kept.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, Utc};
use urbis_storage::sensors::{self as repo, HourRow};

use crate::{Result, Services};

/// What a retention round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub readings_folded: u64,
    pub hours_written: u64,
}

impl Services {
    /// Folds raw readings older than `raw_days` into hourly aggregates and deletes them.
    pub async fn sensor_retention(&self, raw_days: i64) -> Result<RetentionReport> {
        let cutoff = (self.now() - chrono::Duration::days(raw_days.max(1)))
            .duration_trunc(chrono::Duration::hours(1))
            .map_err(|_| crate::ServiceError::internal())?;
        let mut report = RetentionReport::default();
        loop {
            let oldest = {
                let mut conn = self.db().read().await?;
                repo::oldest_reading(&mut conn).await?
            };
            let Some(oldest) = oldest.filter(|o| *o < cutoff) else {
                break;
            };
            let mut tx = self.db().begin_write().await?;
            let until: DateTime<Utc> = (oldest
                .duration_trunc(chrono::Duration::hours(1))
                .map_err(|_| crate::ServiceError::internal())?
                + chrono::Duration::hours(1))
            .min(cutoff);
            let rows = repo::readings_before(&mut tx, until).await?;
            let mut hours: BTreeMap<(i64, DateTime<Utc>), HourRow> = BTreeMap::new();
            for (device_id, at, value) in &rows {
                let hour = at
                    .duration_trunc(chrono::Duration::hours(1))
                    .map_err(|_| crate::ServiceError::internal())?;
                let entry = hours.entry((*device_id, hour)).or_insert(HourRow {
                    device_id: *device_id,
                    hour,
                    n: 0,
                    min_value: *value,
                    max_value: *value,
                    sum_value: 0.0,
                });
                entry.n += 1;
                entry.min_value = entry.min_value.min(*value);
                entry.max_value = entry.max_value.max(*value);
                entry.sum_value += value;
            }
            let hours: Vec<HourRow> = hours.into_values().collect();
            repo::add_hours(&mut tx, &hours).await?;
            let deleted = repo::delete_readings_before(&mut tx, until).await?;
            tx.commit().await?;
            report.readings_folded += deleted;
            report.hours_written += hours.len() as u64;
        }
        if report.readings_folded > 0 {
            tracing::info!(
                folded = report.readings_folded,
                hours = report.hours_written,
                "sensor readings down-sampled"
            );
        }
        Ok(report)
    }

    /// A device's hourly aggregates in `[from, to)`.
    pub async fn device_hours(
        &self,
        actor: &urbis_domain::role::Actor,
        code: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<HourRow>> {
        super::require(actor, &super::READERS)?;
        let mut conn = self.db().read().await?;
        let device = repo::find_device(&mut conn, code)
            .await?
            .ok_or_else(|| crate::ServiceError::not_found("device"))?;
        Ok(repo::hours(
            &mut conn,
            device.id,
            from,
            to,
            limit.clamp(1, super::limits::READINGS_MAX),
        )
        .await?)
    }
}
