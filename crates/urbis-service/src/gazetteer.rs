//! Address gazetteer (地名地址): import of roads, door-plate addresses and points of interest, and
//! geocoding of free address text with `urbis_geo::gazetteer` (exact, normalised, house-number and
//! fuzzy matching). The in-memory index is built from the table on first use and dropped after every
//! import, so the next query rebuilds it. Intake asks [`Services::geocode_for_intake`] for the point of an
//! appeal that has an address and no coordinates; only a confident, unambiguous match is used.

use std::sync::Arc;

use urbis_domain::role::{Actor, Role};
use urbis_geo::gazetteer::{EntryKind, Gazetteer, GazetteerEntry, MatchKind};
use urbis_storage::geo::{self as geo_repo, GazetteerRow};
use urbis_storage::reference::{self, AreaRow};

use crate::auth::require_role;
use crate::{Result, ServiceError, Services};

/// Most rows one import takes.
pub const IMPORT_MAX_ROWS: usize = 200_000;
/// Most aliases per entry.
pub const MAX_ALIASES: usize = 10;
/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most results per query.
pub const MAX_LIMIT: usize = 20;
/// Intake uses a match at or above this score (exact 1.0, normalised 0.95/0.92, house number 0.90).
pub const INTAKE_MIN_SCORE: f64 = 0.9;

/// One row of a gazetteer file, as text; the service validates it.
#[derive(Debug, Clone, Default)]
pub struct GazetteerInput {
    /// Row number in the file (1 = first data row), for problem reports.
    pub row: usize,
    pub name: String,
    /// road | address | poi.
    pub kind: String,
    pub lon: String,
    pub lat: String,
    /// wgs84 (default) or gcj02.
    pub crs: String,
    /// Other names, separated by '|' or ';'.
    pub aliases: String,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    /// "row N: reason" for every row that was skipped.
    pub problems: Vec<String>,
}

impl ImportReport {
    /// Audits the import against the city's root area and commits it.
    pub(crate) async fn audit_and_commit(
        &self,
        mut tx: urbis_storage::WriteTx,
        services: &Services,
        actor: &Actor,
        action: &str,
    ) -> Result<()> {
        let root = reference::root_area(&mut tx).await?;
        crate::audit::record(
            &mut tx,
            services.now(),
            Some(actor),
            action,
            "area",
            root.id,
            "",
            "",
            &serde_json::json!({ "created": self.created, "updated": self.updated, "problems": self.problems.len() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// One geocoding answer.
#[derive(Debug, Clone)]
pub struct GeocodeHit {
    pub name: String,
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
    pub score: f64,
    pub match_kind: &'static str,
    pub area: Option<AreaRow>,
}

/// The point intake took from the gazetteer for an appeal.
#[derive(Debug, Clone)]
pub struct Geocoded {
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub score: f64,
}

/// The built index: gazetteer entries (names and aliases) and the row each came from.
pub(crate) struct GazetteerIndex {
    gazetteer: Gazetteer,
    rows: Vec<GazetteerRow>,
    entry_row: Vec<u32>,
}

impl GazetteerIndex {
    /// Returns the stored rows the index was built from.
    pub(crate) fn rows(&self) -> &[GazetteerRow] {
        &self.rows
    }
}

fn entry_kind(kind: &str) -> Option<EntryKind> {
    match kind {
        "road" => Some(EntryKind::Road),
        "address" => Some(EntryKind::HouseNumber),
        "poi" => Some(EntryKind::Poi),
        _ => None,
    }
}

fn match_name(kind: MatchKind) -> &'static str {
    match kind {
        MatchKind::Exact => "exact",
        MatchKind::Normalized => "normalized",
        MatchKind::HouseNumber => "house_number",
        MatchKind::RoadOnly => "road_only",
        MatchKind::Fuzzy => "fuzzy",
    }
}

/// Parses a coordinate pair in a coordinate system and returns WGS84 (lon, lat).
pub(crate) fn parse_point(
    lon: &str,
    lat: &str,
    crs: &str,
) -> std::result::Result<(f64, f64), String> {
    let lon: f64 = lon
        .trim()
        .parse()
        .map_err(|_| format!("lon {lon:?} is not a number"))?;
    let lat: f64 = lat
        .trim()
        .parse()
        .map_err(|_| format!("lat {lat:?} is not a number"))?;
    if !(lon.is_finite() && lat.is_finite() && lon.abs() <= 180.0 && lat.abs() <= 90.0) {
        return Err("lon must be in [-180, 180] and lat in [-90, 90]".to_owned());
    }
    let crs = match crs.trim() {
        "" => urbis_geo::crs::Crs::Wgs84,
        other => urbis_geo::crs::Crs::parse(other)
            .ok_or_else(|| format!("crs {other:?} is not wgs84 or gcj02"))?,
    };
    Ok(crs.to_wgs84(lon, lat))
}

fn validate_row(
    input: &GazetteerInput,
) -> std::result::Result<(String, String, f64, f64, String), String> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("name must be 1–100 characters".to_owned());
    }
    let kind = input.kind.trim().to_ascii_lowercase();
    if entry_kind(&kind).is_none() {
        return Err(format!("kind {:?} is not road, address or poi", input.kind));
    }
    let (lon, lat) = parse_point(&input.lon, &input.lat, &input.crs)?;
    let aliases: Vec<&str> = input
        .aliases
        .split(['|', ';'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect();
    if aliases.len() > MAX_ALIASES || aliases.iter().any(|a| a.chars().count() > 100) {
        return Err(format!("at most {MAX_ALIASES} aliases of 1–100 characters"));
    }
    Ok((name.to_owned(), kind, lat, lon, aliases.join("|")))
}

impl Services {
    /// Imports gazetteer rows: valid rows are inserted, or update the entry with the same name and
    /// kind (a re-run changes nothing twice); bad rows are reported by number and skipped. One
    /// audited transaction.
    pub async fn import_gazetteer(
        &self,
        actor: &Actor,
        rows: &[GazetteerInput],
    ) -> Result<ImportReport> {
        require_role(actor, &[Role::Admin])?;
        if rows.len() > IMPORT_MAX_ROWS {
            return Err(ServiceError::invalid(
                "too_many_rows",
                format!("at most {IMPORT_MAX_ROWS} rows"),
            ));
        }
        let mut report = ImportReport::default();
        let mut tx = self.db().begin_write().await?;
        for input in rows {
            match validate_row(input) {
                Ok((name, kind, lat, lon, aliases)) => {
                    if geo_repo::upsert_gazetteer_entry(&mut tx, &name, &kind, lat, lon, &aliases)
                        .await?
                    {
                        report.created += 1;
                    } else {
                        report.updated += 1;
                    }
                }
                Err(reason) => report.problems.push(format!("row {}: {reason}", input.row)),
            }
        }
        report
            .audit_and_commit(tx, self, actor, "gazetteer_imported")
            .await?;
        self.inner.maps.gazetteer.clear();
        Ok(report)
    }

    pub(crate) async fn gazetteer_index(&self) -> Result<Arc<GazetteerIndex>> {
        self.inner
            .maps
            .gazetteer
            .get_or_build(|| self.build_gazetteer_index())
            .await
    }

    async fn build_gazetteer_index(&self) -> Result<GazetteerIndex> {
        let mut conn = self.db().read().await?;
        let rows = geo_repo::list_gazetteer(&mut conn).await?;
        drop(conn);
        let built = tokio::task::spawn_blocking(move || {
            let mut entries = Vec::with_capacity(rows.len());
            let mut entry_row = Vec::with_capacity(rows.len());
            for (idx, row) in rows.iter().enumerate() {
                let Some(kind) = entry_kind(&row.kind) else {
                    continue;
                };
                let names = std::iter::once(row.name.as_str())
                    .chain(row.aliases.split('|').filter(|a| !a.is_empty()));
                for name in names {
                    entries.push(GazetteerEntry {
                        name: name.to_owned(),
                        kind,
                        lon: row.lon,
                        lat: row.lat,
                        road: None,
                        house_number: None,
                    });
                    entry_row.push(idx as u32);
                }
            }
            Gazetteer::new(entries).map(|gazetteer| GazetteerIndex {
                gazetteer,
                rows,
                entry_row,
            })
        })
        .await
        .map_err(|_| ServiceError::internal())?
        .map_err(|err| {
            tracing::error!(error = %err, "failed to build the gazetteer");
            ServiceError::internal()
        })?;
        Ok(built)
    }

    /// Resolves address text to up to `limit` places, best first, one per gazetteer row, each with
    /// the finest area containing it.
    pub async fn geocode(&self, query: &str, limit: usize) -> Result<Vec<GeocodeHit>> {
        let query = query.trim();
        if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
            return Err(ServiceError::invalid(
                "invalid_q",
                format!("q must be 1–{MAX_QUERY_CHARS} characters"),
            ));
        }
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ServiceError::invalid(
                "invalid_limit",
                format!("limit must be 1–{MAX_LIMIT}"),
            ));
        }
        let index = self.gazetteer_index().await?;
        let mut seen = std::collections::HashSet::new();
        let mut hits = Vec::new();
        for candidate in index.gazetteer.lookup(query, limit * 3) {
            let row_idx = index.entry_row[candidate.index] as usize;
            if !seen.insert(row_idx) {
                continue;
            }
            let row = &index.rows[row_idx];
            hits.push(GeocodeHit {
                name: row.name.clone(),
                kind: row.kind.clone(),
                lat: row.lat,
                lon: row.lon,
                score: (candidate.score * 1000.0).round() / 1000.0,
                match_kind: match_name(candidate.match_kind),
                area: None,
            });
            if hits.len() == limit {
                break;
            }
        }
        let mut conn = self.db().read().await?;
        for hit in &mut hits {
            if let Some(area_id) = self.locate_area_id(hit.lat, hit.lon).await? {
                hit.area = Some(reference::get_area(&mut conn, area_id).await?);
            }
        }
        Ok(hits)
    }

    /// Returns the points of the places (not roads: a road crosses many areas) a free text names
    /// word for word, in order of mention, at most `limit`.
    pub(crate) async fn places_named_in(
        &self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<(f64, f64)>> {
        let index = self.gazetteer_index().await?;
        Ok(index
            .gazetteer
            .named_in(text, limit * 2)
            .into_iter()
            .map(|entry| &index.rows[index.entry_row[entry] as usize])
            .filter(|row| entry_kind(&row.kind) != Some(EntryKind::Road))
            .map(|row| (row.lat, row.lon))
            .take(limit)
            .collect())
    }

    /// Returns the point of an address when the gazetteer knows it with confidence: the best match
    /// scores at least [`INTAKE_MIN_SCORE`] and no other place scores as high.
    pub(crate) async fn geocode_for_intake(&self, address: &str) -> Result<Option<Geocoded>> {
        let address: String = address.trim().chars().take(MAX_QUERY_CHARS).collect();
        if address.is_empty() {
            return Ok(None);
        }
        let index = self.gazetteer_index().await?;
        if index.rows.is_empty() {
            return Ok(None);
        }
        let candidates = index.gazetteer.lookup(&address, 4);
        let Some(best) = candidates.first() else {
            return Ok(None);
        };
        if best.score < INTAKE_MIN_SCORE {
            return Ok(None);
        }
        let best_row = index.entry_row[best.index];
        let ambiguous = candidates
            .iter()
            .skip(1)
            .any(|c| index.entry_row[c.index] != best_row && c.score >= best.score - 1e-9);
        if ambiguous {
            return Ok(None);
        }
        let row = &index.rows[best_row as usize];
        Ok(Some(Geocoded {
            name: row.name.clone(),
            lat: row.lat,
            lon: row.lon,
            score: best.score,
        }))
    }
}
