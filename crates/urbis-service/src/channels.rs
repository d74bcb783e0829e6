//! The channel mix of the dashboard: how many cases came in by each channel (网站, 热线, 网格,
//! 接口, 感知) in the caller's scope or an area of it, over a period of city-local days.

use chrono::{Days, NaiveDate};
use urbis_domain::role::Actor;
use urbis_storage::channels;

use crate::stats::Period;
use crate::{Result, ServiceError, Services};

impl Services {
    /// Returns `(channel, cases)` for the period, every channel that had one, by name.
    pub async fn cases_by_channel(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
        period: &Period,
    ) -> Result<Vec<(String, i64)>> {
        let path = self.scope_path(actor, area_id).await?;
        let day = |d: &str| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ServiceError::invalid("invalid_period", "bad day, use YYYY-MM-DD"))
        };
        // The period's local days as stored instants: from its first midnight to the one after it.
        let start = self.from_local(day(&period.from)?.and_time(chrono::NaiveTime::MIN));
        let end_day = day(&period.to)?
            .checked_add_days(Days::new(1))
            .ok_or_else(|| ServiceError::invalid("invalid_period", "the period ends too late"))?;
        let end = self.from_local(end_day.and_time(chrono::NaiveTime::MIN));
        let mut conn = self.db().read().await?;
        Ok(channels::cases_by_channel(&mut conn, &path, start, end).await?)
    }
}
