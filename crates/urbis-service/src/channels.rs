//! The channel mix of the dashboard: how many cases came in by each channel (网站, 热线, 网格,
//! 接口, 感知) in the caller's scope or an area of it, over a period of city-local days.

use urbis_domain::role::Actor;
use urbis_storage::channels;

use crate::stats::Period;
use crate::{Result, Services};

impl Services {
    /// Returns `(channel, cases)` for the period, every channel that had one, by name.
    pub async fn cases_by_channel(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
        period: &Period,
    ) -> Result<Vec<(String, i64)>> {
        let path = self.scope_path(actor, area_id).await?;
        let (start, end) = self.period_instants(period)?;
        let mut conn = self.db().read().await?;
        Ok(channels::cases_by_channel(&mut conn, &path, start, end).await?)
    }
}
