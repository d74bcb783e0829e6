//! The dashboard's point heat map: how many cases were reported in each cell of about 200 m in
//! the caller's scope or an area of it, over a period of city-local days. Cells, not points: the
//! answer stays small for a megacity's month, and no single report's exact place is given out.

use urbis_domain::role::Actor;
use urbis_storage::density;

use crate::stats::Period;
use crate::{Result, Services};

/// Cell edge in degrees (about 220 m north–south, 190 m east–west at 30° N).
pub const CELL_DEGREES: f64 = 0.002;
/// Most cells returned (the busiest).
pub const CELLS_MAX: i64 = 5_000;

/// Cases reported in one cell, at its centre.
#[derive(Debug, Clone, PartialEq)]
pub struct DensityCell {
    pub lat: f64,
    pub lon: f64,
    pub cases: i64,
}

impl Services {
    /// Returns the busiest cells of the period, busiest first.
    pub async fn case_density(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
        period: &Period,
    ) -> Result<Vec<DensityCell>> {
        let path = self.scope_path(actor, area_id).await?;
        let (start, end) = self.period_instants(period)?;
        let mut conn = self.db().read().await?;
        let cells =
            density::case_density(&mut conn, &path, start, end, CELL_DEGREES, CELLS_MAX).await?;
        Ok(cells
            .into_iter()
            .map(|(row, column, cases)| DensityCell {
                lat: row as f64 * CELL_DEGREES,
                lon: column as f64 * CELL_DEGREES,
                cases,
            })
            .collect())
    }
}
