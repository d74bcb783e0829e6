//! Unit grids (单元网格) cut from an area, their 15-digit codes, and responsibility grids (责任网格).
//!
//! [`generate_unit_grids`] lays a lattice of squares of about `cell_area_m2` (10,000 m² = 100 m × 100 m,
//! sized in metres at the parent's mid-latitude) over the parent's bounding box, anchored at its north-west
//! corner. Squares that no boundary edge touches are kept whole when inside and skipped when outside;
//! squares on the boundary are clipped to the parent (BooleanOps intersection) and split into connected
//! pieces. Neighbouring squares share exact corner coordinates, so cells never overlap and every cell
//! lies inside its parent (up to the clipping engine's rounding, far below 1 mm²).
//!
//! **Slivers.** A piece smaller than `min_cell_area_m2` is merged into the largest piece of the same or a
//! 4-neighbouring lattice square it shares an edge with (not just a corner); slivers left over (all their
//! neighbours are slivers too, e.g. along a thin strip) then merge with any edge-sharing piece of the 3×3
//! neighbourhood, repeatedly, so chains of slivers join up. A piece still below the minimum after that
//! touches no other piece along an edge (a tiny island) and is dropped; its area is reported in
//! [`GridReport::dropped_area_m2`].
//!
//! **Codes** (GB/T 30428.1 style, see STANDARDS.md §5.2): 12-digit parent code + 3-digit sequence
//! `001`–`999` = 15 digits. The parent code is normalised to 12 digits = 6 county + 3 street + 3 community,
//! padding absent levels with `000` (`110101` → `110101000000`). Cells are numbered row by row from north
//! to south, west to east within a row. When a parent needs more than 999 cells and has absent levels,
//! Urbis opens **synthetic blocks** in the absent positions, using `901`–`999` (a range no real street or
//! community code uses): a street parent numbers block 0 = its own code, then communities `901`…`999`
//! (99,900 cells); a district parent enumerates (street, community) pairs over `{000, 901…999}`² with the
//! street varying slowest (9,990,000 cells). A community parent has exactly one block (999 cells).
//! Past the capacity the generator fails with [`GeoError::SequenceFull`] (顺序码已满).

use std::collections::HashMap;

use geo::{BooleanOps, BoundingRect, Coord, LineString, MapCoords, MultiPolygon, Rect};
use rstar::{AABB, RTree, RTreeObject, primitives::GeomWithData, primitives::Rectangle};

use crate::error::GeoError;
use crate::locate::{Lattice, Locator};
use crate::measure::{area_m2, metres_per_degree, polygon_area_m2};

/// Parameters of [`generate_unit_grids`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridOptions {
    /// Target cell area in square metres; the lattice side is its square root.
    pub cell_area_m2: f64,
    /// Pieces below this area are merged into a neighbour (or dropped when they touch none).
    pub min_cell_area_m2: f64,
    /// Upper bound on the number of cells produced.
    pub max_cells: usize,
}

impl GridOptions {
    /// Returns the national default: 10,000 m² cells, slivers below 1,000 m², at most 1,000,000 cells.
    pub fn standard() -> GridOptions {
        GridOptions {
            cell_area_m2: 10_000.0,
            min_cell_area_m2: 1_000.0,
            max_cells: 1_000_000,
        }
    }
}

/// One generated unit grid.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitGrid {
    /// 15-digit code: 12-digit (possibly synthetic) block code + 3-digit sequence.
    pub code: String,
    /// The parent's normalised 12-digit code (not the synthetic block).
    pub parent_code: String,
    /// Lattice row, counted from the north edge of the parent's bounding box.
    pub row: u32,
    /// Lattice column, counted from the west edge of the parent's bounding box.
    pub column: u32,
    /// Cell boundary in WGS84.
    pub geometry: MultiPolygon<f64>,
    /// Geodesic area in square metres.
    pub area_m2: f64,
}

/// What [`generate_unit_grids`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridReport {
    /// Number of unit grids produced.
    pub cells: usize,
    /// Cells that are whole lattice squares.
    pub whole_cells: usize,
    /// Cells clipped by the parent boundary.
    pub clipped_cells: usize,
    /// Slivers merged into a neighbour.
    pub merged_slivers: usize,
    /// Slivers dropped because they touch no neighbour.
    pub dropped_slivers: usize,
    /// Total area of dropped slivers, m².
    pub dropped_area_m2: f64,
    /// Geodesic area of the parent, m².
    pub parent_area_m2: f64,
    /// Sum of cell areas, m².
    pub cells_area_m2: f64,
    /// Lattice step east–west in degrees.
    pub cell_width_deg: f64,
    /// Lattice step north–south in degrees.
    pub cell_height_deg: f64,
}

/// Cuts `parent` (WGS84) into unit grids and numbers them under `parent_code` (6, 9 or 12 digits).
pub fn generate_unit_grids(
    parent_code: &str,
    parent: &MultiPolygon<f64>,
    options: &GridOptions,
) -> Result<(Vec<UnitGrid>, GridReport), GeoError> {
    let parent12 = normalize_area_code(parent_code)?;
    if !(options.cell_area_m2.is_finite() && options.cell_area_m2 >= 1.0) {
        return Err(GeoError::InvalidOptions(
            "cell_area_m2 must be a finite number of at least 1".to_owned(),
        ));
    }
    if !(options.min_cell_area_m2.is_finite()
        && options.min_cell_area_m2 >= 0.0
        && options.min_cell_area_m2 < options.cell_area_m2)
    {
        return Err(GeoError::InvalidOptions(
            "min_cell_area_m2 must be in [0, cell_area_m2)".to_owned(),
        ));
    }
    crate::area::validate_multipolygon(parent).map_err(|reason| GeoError::InvalidGeometry {
        subject: format!("area {parent_code}"),
        reason,
    })?;
    let bbox = parent
        .bounding_rect()
        .ok_or_else(|| GeoError::InvalidGeometry {
            subject: format!("area {parent_code}"),
            reason: "empty geometry".to_owned(),
        })?;

    // Lattice in degrees, sized in metres at the bounding box's mid-latitude, anchored north-west.
    let (m_per_deg_lon, m_per_deg_lat) = metres_per_degree((bbox.min().y + bbox.max().y) / 2.0);
    let side_m = options.cell_area_m2.sqrt();
    let (dx, dy) = (side_m / m_per_deg_lon, side_m / m_per_deg_lat);
    let nx = ((bbox.width() / dx).ceil() as usize).max(1);
    let ny = ((bbox.height() / dy).ceil() as usize).max(1);
    if nx.saturating_mul(ny) > options.max_cells.saturating_mul(64) {
        return Err(GeoError::TooLarge {
            what: "lattice cells",
            actual: nx.saturating_mul(ny),
            limit: options.max_cells * 64,
        });
    }
    let south = bbox.max().y - ny as f64 * dy;
    let lattice = Lattice {
        min_x: bbox.min().x,
        min_y: south,
        cell_w: dx,
        cell_h: dy,
        nx,
        ny,
    };
    // Shared corner coordinates: neighbouring squares use the very same numbers.
    let xs: Vec<f64> = (0..=nx).map(|c| bbox.min().x + c as f64 * dx).collect();
    let ys: Vec<f64> = (0..=ny).map(|r| south + r as f64 * dy).collect();

    let mut touched = vec![false; nx * ny];
    for polygon in &parent.0 {
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            for line in ring.lines() {
                lattice.visit_edge_cells(line.start, line.end, |c, r| touched[r * nx + c] = true);
            }
        }
    }
    let inside = Locator::build(vec![(0, parent.clone())])?;

    // Pieces per lattice square; `r` counts from the south here and is flipped when numbering.
    let mut pieces: Vec<Piece> = Vec::new();
    for r in 0..ny {
        for c in 0..nx {
            let square = Rect::new(
                Coord { x: xs[c], y: ys[r] },
                Coord {
                    x: xs[c + 1],
                    y: ys[r + 1],
                },
            )
            .to_polygon();
            if !touched[r * nx + c] {
                let (cx, cy) = ((xs[c] + xs[c + 1]) / 2.0, (ys[r] + ys[r + 1]) / 2.0);
                if inside.locate(cx, cy).is_some() {
                    let area = polygon_area_m2(&square);
                    pieces.push(Piece {
                        c,
                        r,
                        geometry: MultiPolygon(vec![square]),
                        area,
                        whole: true,
                    });
                }
                continue;
            }
            let clipped = snap_to_lattice(square.intersection(parent), &xs, &ys);
            for polygon in clipped.0 {
                let area = polygon_area_m2(&polygon);
                if area > 0.0 {
                    pieces.push(Piece {
                        c,
                        r,
                        geometry: MultiPolygon(vec![polygon]),
                        area,
                        whole: false,
                    });
                }
            }
        }
        if pieces.len() > options.max_cells.saturating_mul(2) {
            return Err(GeoError::TooLarge {
                what: "cells",
                actual: pieces.len(),
                limit: options.max_cells,
            });
        }
    }

    // Merge slivers: first into the largest edge-sharing non-sliver piece of the same or a 4-neighbouring
    // square; then, repeatedly, into any edge-sharing piece of the 3×3 neighbourhood (so a chain of slivers
    // along a thin strip joins up). Whatever still is a sliver afterwards touches nothing and is dropped.
    let mut by_square: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (idx, piece) in pieces.iter().enumerate() {
        by_square.entry((piece.c, piece.r)).or_default().push(idx);
    }
    let min_area = options.min_cell_area_m2;
    let mut alive = vec![true; pieces.len()];
    let mut merged_slivers = 0;
    let neighbourhood = |c: usize, r: usize, diagonal: bool| -> Vec<(usize, usize)> {
        let mut keys = vec![
            (c, r),
            (c.wrapping_sub(1), r),
            (c + 1, r),
            (c, r.wrapping_sub(1)),
            (c, r + 1),
        ];
        if diagonal {
            keys.extend([
                (c.wrapping_sub(1), r.wrapping_sub(1)),
                (c + 1, r.wrapping_sub(1)),
                (c.wrapping_sub(1), r + 1),
                (c + 1, r + 1),
            ]);
        }
        keys
    };
    for diagonal_pass in [false, true, true, true] {
        let mut changed = false;
        for idx in 0..pieces.len() {
            if !alive[idx] || pieces[idx].area >= min_area {
                continue;
            }
            let mut candidates: Vec<usize> =
                neighbourhood(pieces[idx].c, pieces[idx].r, diagonal_pass)
                    .iter()
                    .filter_map(|key| by_square.get(key))
                    .flatten()
                    .copied()
                    .filter(|&n| {
                        n != idx && alive[n] && (diagonal_pass || pieces[n].area >= min_area)
                    })
                    .collect();
            candidates.sort_by(|&a, &b| pieces[b].area.total_cmp(&pieces[a].area).then(a.cmp(&b)));
            for n in candidates {
                if !grids_adjacent(&pieces[n].geometry, &pieces[idx].geometry) {
                    continue;
                }
                let union =
                    snap_to_lattice(pieces[n].geometry.union(&pieces[idx].geometry), &xs, &ys);
                if union.0.len() == 1 {
                    pieces[n].area = area_m2(&union);
                    pieces[n].geometry = union;
                    pieces[n].whole = false;
                    alive[idx] = false;
                    merged_slivers += 1;
                    changed = true;
                    break;
                }
            }
        }
        if diagonal_pass && !changed {
            break;
        }
    }
    let (mut dropped_slivers, mut dropped_area_m2) = (0, 0.0);
    for idx in 0..pieces.len() {
        if alive[idx] && pieces[idx].area < min_area {
            alive[idx] = false;
            dropped_slivers += 1;
            dropped_area_m2 += pieces[idx].area;
        }
    }

    // Number north to south, west to east; pieces of one square by their western edge.
    let mut order: Vec<usize> = (0..pieces.len()).filter(|&idx| alive[idx]).collect();
    if order.len() > options.max_cells {
        return Err(GeoError::TooLarge {
            what: "cells",
            actual: order.len(),
            limit: options.max_cells,
        });
    }
    let west = |idx: usize| {
        pieces[idx]
            .geometry
            .bounding_rect()
            .map_or(0.0, |rect| rect.min().x)
    };
    order.sort_by(|&a, &b| {
        (ny - pieces[a].r, pieces[a].c)
            .cmp(&(ny - pieces[b].r, pieces[b].c))
            .then(west(a).total_cmp(&west(b)))
    });
    let capacity = grid_capacity(&parent12)?;
    if order.len() > capacity {
        return Err(GeoError::SequenceFull {
            parent: parent12,
            capacity,
        });
    }
    let mut grids = Vec::with_capacity(order.len());
    let (mut whole_cells, mut cells_area_m2) = (0, 0.0);
    for (n, idx) in order.into_iter().enumerate() {
        let piece = &pieces[idx];
        whole_cells += usize::from(piece.whole);
        cells_area_m2 += piece.area;
        grids.push(UnitGrid {
            code: grid_code(&parent12, n)?,
            parent_code: parent12.clone(),
            row: (ny - 1 - piece.r) as u32,
            column: piece.c as u32,
            geometry: piece.geometry.clone(),
            area_m2: piece.area,
        });
    }
    let report = GridReport {
        cells: grids.len(),
        whole_cells,
        clipped_cells: grids.len() - whole_cells,
        merged_slivers,
        dropped_slivers,
        dropped_area_m2,
        parent_area_m2: area_m2(parent),
        cells_area_m2,
        cell_width_deg: dx,
        cell_height_deg: dy,
    };
    Ok((grids, report))
}

/// Coordinates within this distance (degrees, about 0.1 mm) of a lattice line are moved onto it.
const SNAP_DEG: f64 = 1e-9;

/// Moves coordinates that the clipping engine left within [`SNAP_DEG`] of a lattice line back onto it.
///
/// BooleanOps rounds its output to an internal integer grid (about 1e-10° here), so a clipped square's
/// side no longer coincides bit for bit with its whole neighbour's side. Snapping restores shared edges,
/// which keeps neighbours free of slivers of overlap or gap and lets sliver merging produce one polygon.
fn snap_to_lattice(geometry: MultiPolygon<f64>, xs: &[f64], ys: &[f64]) -> MultiPolygon<f64> {
    let snap = |v: f64, lines: &[f64]| -> f64 {
        let step = (lines[lines.len() - 1] - lines[0]) / (lines.len() - 1) as f64;
        let k = ((v - lines[0]) / step).round();
        if k < 0.0 || k as usize >= lines.len() {
            return v;
        }
        let line = lines[k as usize];
        if (v - line).abs() < SNAP_DEG { line } else { v }
    };
    geometry.map_coords(|c| Coord {
        x: snap(c.x, xs),
        y: snap(c.y, ys),
    })
}

/// A clipped (or whole) lattice square while grids are being generated.
struct Piece {
    c: usize,
    r: usize,
    geometry: MultiPolygon<f64>,
    area: f64,
    whole: bool,
}

/// Normalises a 6-, 9- or 12-digit administrative code to 12 digits (6 county + 3 street + 3 community),
/// padding absent levels with `000`.
pub fn normalize_area_code(code: &str) -> Result<String, GeoError> {
    let code = code.trim();
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(GeoError::InvalidAreaCode {
            code: code.to_owned(),
            reason: "only digits are allowed",
        });
    }
    match code.len() {
        6 | 9 | 12 => {}
        _ => {
            return Err(GeoError::InvalidAreaCode {
                code: code.to_owned(),
                reason: "expected 6 (county), 9 (street) or 12 (community) digits",
            });
        }
    }
    if code.starts_with("00") || code[2..6] == *"0000" {
        return Err(GeoError::InvalidAreaCode {
            code: code.to_owned(),
            reason: "not a county-level code",
        });
    }
    let mut normalized = code.to_owned();
    while normalized.len() < 12 {
        normalized.push('0');
    }
    Ok(normalized)
}

/// Returns how many unit grids can be numbered under a parent code (see the module docs).
pub fn grid_capacity(parent_code: &str) -> Result<usize, GeoError> {
    let parent12 = normalize_area_code(parent_code)?;
    Ok(SEQUENCE_MAX * block_count(&parent12))
}

/// Returns the 15-digit code of the `n`-th (0-based) unit grid under a parent code.
pub fn grid_code(parent_code: &str, n: usize) -> Result<String, GeoError> {
    let parent12 = normalize_area_code(parent_code)?;
    let blocks = block_count(&parent12);
    let (block, sequence) = (n / SEQUENCE_MAX, n % SEQUENCE_MAX + 1);
    if block >= blocks {
        return Err(GeoError::SequenceFull {
            parent: parent12,
            capacity: SEQUENCE_MAX * blocks,
        });
    }
    let synthetic = |k: usize| if k == 0 { 0 } else { SYNTHETIC_BASE + k };
    let (street, community) = match blocks {
        1 => (None, None),
        BLOCKS_PER_LEVEL => (None, Some(synthetic(block))),
        _ => (
            Some(synthetic(block / BLOCKS_PER_LEVEL)),
            Some(synthetic(block % BLOCKS_PER_LEVEL)),
        ),
    };
    let mut code = String::with_capacity(15);
    code.push_str(&parent12[..6]);
    match street {
        Some(s) => code.push_str(&format!("{s:03}")),
        None => code.push_str(&parent12[6..9]),
    }
    match community {
        Some(k) => code.push_str(&format!("{k:03}")),
        None => code.push_str(&parent12[9..12]),
    }
    code.push_str(&format!("{sequence:03}"));
    Ok(code)
}

/// Splits a 15-digit unit-grid code into its 12-digit block code and its sequence (1–999).
pub fn parse_grid_code(code: &str) -> Result<(String, u16), GeoError> {
    if code.len() != 15 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(GeoError::InvalidAreaCode {
            code: code.to_owned(),
            reason: "unit-grid codes have 15 digits",
        });
    }
    let block = normalize_area_code(&code[..12])?;
    let sequence: u16 = code[12..].parse().unwrap_or(0);
    if sequence == 0 {
        return Err(GeoError::InvalidAreaCode {
            code: code.to_owned(),
            reason: "sequence 000 is not allowed",
        });
    }
    Ok((block, sequence))
}

/// Sequence numbers per 12-digit block.
const SEQUENCE_MAX: usize = 999;
/// Synthetic block `k` (1…99) uses code `900 + k` in an absent street or community position.
const SYNTHETIC_BASE: usize = 900;
/// Blocks per absent level: the real `000` plus synthetic `901`…`999`.
const BLOCKS_PER_LEVEL: usize = 100;

fn block_count(parent12: &str) -> usize {
    let street_absent = &parent12[6..9] == "000";
    let community_absent = &parent12[9..12] == "000";
    match (street_absent, community_absent) {
        (_, false) => 1,
        (false, true) => BLOCKS_PER_LEVEL,
        (true, true) => BLOCKS_PER_LEVEL * BLOCKS_PER_LEVEL,
    }
}

/// A group of adjacent unit grids bound to one supervisor (责任网格 / 管理网格).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponsibilityGrid {
    /// Code of the responsibility grid.
    pub code: String,
    /// Display name.
    pub name: String,
    /// The supervisor (网格员) responsible for it.
    pub supervisor_id: String,
    /// Codes of its unit grids, in the order given.
    pub unit_codes: Vec<String>,
}

/// Largest number of unit grids in one responsibility grid.
pub const MAX_UNITS_PER_RESPONSIBILITY_GRID: usize = 10_000;

impl ResponsibilityGrid {
    /// Groups unit grids under a supervisor. The units must be distinct and connected through shared
    /// edges (corner contact does not count); otherwise the error names a unit that is cut off.
    pub fn new(
        code: &str,
        name: &str,
        supervisor_id: &str,
        units: &[&UnitGrid],
    ) -> Result<ResponsibilityGrid, GeoError> {
        let invalid = |reason: String| GeoError::InvalidResponsibilityGrid {
            grid: code.to_owned(),
            reason,
        };
        if units.is_empty() {
            return Err(invalid("no unit grids given".to_owned()));
        }
        if units.len() > MAX_UNITS_PER_RESPONSIBILITY_GRID {
            return Err(invalid(format!(
                "more than {MAX_UNITS_PER_RESPONSIBILITY_GRID} unit grids"
            )));
        }
        if supervisor_id.trim().is_empty() {
            return Err(invalid("supervisor id is empty".to_owned()));
        }
        let mut seen = std::collections::HashSet::new();
        for unit in units {
            if !seen.insert(unit.code.as_str()) {
                return Err(invalid(format!("unit grid {} is listed twice", unit.code)));
            }
        }
        // Graph search over shared-edge adjacency; an R-tree of bounding boxes limits the pairs tested.
        let tol = ADJACENCY_TOLERANCE_DEG;
        let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = units
            .iter()
            .enumerate()
            .filter_map(|(idx, unit)| {
                let rect = unit.geometry.bounding_rect()?;
                let (lo, hi) = (
                    [rect.min().x - tol, rect.min().y - tol],
                    [rect.max().x + tol, rect.max().y + tol],
                );
                Some(GeomWithData::new(Rectangle::from_corners(lo, hi), idx))
            })
            .collect();
        let envelopes: Vec<Option<AABB<[f64; 2]>>> = {
            let mut envelopes = vec![None; units.len()];
            for item in &boxes {
                envelopes[item.data] = Some(item.envelope());
            }
            envelopes
        };
        let tree = RTree::bulk_load(boxes);
        let mut reached = vec![false; units.len()];
        reached[0] = true;
        let mut queue = vec![0usize];
        while let Some(current) = queue.pop() {
            let Some(envelope) = &envelopes[current] else {
                continue;
            };
            for candidate in tree.locate_in_envelope_intersecting(envelope) {
                let other = candidate.data;
                if !reached[other]
                    && grids_adjacent(&units[current].geometry, &units[other].geometry)
                {
                    reached[other] = true;
                    queue.push(other);
                }
            }
        }
        if let Some(cut_off) = reached.iter().position(|&r| !r) {
            return Err(GeoError::NotAdjacent {
                grid: code.to_owned(),
                code: units[cut_off].code.clone(),
            });
        }
        Ok(ResponsibilityGrid {
            code: code.to_owned(),
            name: name.to_owned(),
            supervisor_id: supervisor_id.to_owned(),
            unit_codes: units.iter().map(|unit| unit.code.clone()).collect(),
        })
    }
}

/// Tolerance, in degrees (about 0.1 mm), for treating two edges as lying on one line.
const ADJACENCY_TOLERANCE_DEG: f64 = 1e-9;

/// Returns true when the two areas share a piece of boundary of positive length (not just a corner).
pub fn grids_adjacent(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> bool {
    let (Some(box_a), Some(box_b)) = (a.bounding_rect(), b.bounding_rect()) else {
        return false;
    };
    let tol = ADJACENCY_TOLERANCE_DEG;
    if box_a.min().x > box_b.max().x + tol
        || box_b.min().x > box_a.max().x + tol
        || box_a.min().y > box_b.max().y + tol
        || box_b.min().y > box_a.max().y + tol
    {
        return false;
    }
    let edges = |mp: &MultiPolygon<f64>| -> Vec<(Coord<f64>, Coord<f64>)> {
        mp.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(LineString::lines)
            .map(|line| (line.start, line.end))
            .filter(|(s, e)| s != e)
            .collect()
    };
    let edges_b = edges(b);
    edges(a)
        .into_iter()
        .any(|ea| edges_b.iter().any(|&eb| edges_share_segment(ea, eb, tol)))
}

/// Returns true when segment `b` lies on the line of `a` (within `tol`) and their overlap is longer than `tol`.
fn edges_share_segment(a: (Coord<f64>, Coord<f64>), b: (Coord<f64>, Coord<f64>), tol: f64) -> bool {
    let (dx, dy) = (a.1.x - a.0.x, a.1.y - a.0.y);
    let len = dx.hypot(dy);
    // Distance of b's endpoints from a's line.
    let off = |p: Coord<f64>| ((p.x - a.0.x) * dy - (p.y - a.0.y) * dx).abs() / len;
    if off(b.0) > tol || off(b.1) > tol {
        return false;
    }
    // Overlap of the projections on a's direction.
    let t = |p: Coord<f64>| ((p.x - a.0.x) * dx + (p.y - a.0.y) * dy) / len;
    let (b0, b1) = (t(b.0), t(b.1));
    let overlap = b0.max(b1).min(len) - b0.min(b1).max(0.0);
    overlap > tol
}

/// Result of [`check_grids`]: how well a set of cells tiles its parent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridQuality {
    /// Largest area of one cell lying outside the parent, m².
    pub max_outside_m2: f64,
    /// Cells with more than the tolerance outside the parent.
    pub cells_outside: usize,
    /// Largest overlap between two cells, m².
    pub max_overlap_m2: f64,
    /// Pairs of cells overlapping by more than the tolerance.
    pub overlapping_pairs: usize,
    /// Sum of cell areas divided by the parent's area.
    pub coverage_ratio: f64,
}

/// Checks containment and non-overlap of cells against their parent, independently of the generator:
/// a cell counts as inside when all its vertices locate inside the parent and no parent edge crosses
/// its bounding box; otherwise the outside part is measured with a BooleanOps difference. Overlaps are
/// measured (BooleanOps intersection) for every pair of cells whose bounding boxes overlap with positive area.
pub fn check_grids(
    parent: &MultiPolygon<f64>,
    cells: &[MultiPolygon<f64>],
    tolerance_m2: f64,
) -> Result<GridQuality, GeoError> {
    let inside = Locator::build(vec![(0, parent.clone())])?;
    let parent_edges: Vec<GeomWithData<Rectangle<[f64; 2]>, ()>> = parent
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(LineString::lines)
        .map(|line| {
            GeomWithData::new(
                Rectangle::from_corners([line.start.x, line.start.y], [line.end.x, line.end.y]),
                (),
            )
        })
        .collect();
    let parent_edges = RTree::bulk_load(parent_edges);

    let mut quality = GridQuality {
        max_outside_m2: 0.0,
        cells_outside: 0,
        max_overlap_m2: 0.0,
        overlapping_pairs: 0,
        coverage_ratio: 0.0,
    };
    let mut boxes = Vec::with_capacity(cells.len());
    let mut total = 0.0;
    for (idx, cell) in cells.iter().enumerate() {
        total += area_m2(cell);
        let Some(rect) = cell.bounding_rect() else {
            continue;
        };
        let envelope =
            AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
        boxes.push(GeomWithData::new(
            Rectangle::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]),
            idx,
        ));
        let vertices_inside = cell
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|ring| ring.0.iter())
            .all(|c| inside.locate(c.x, c.y).is_some());
        let crossed = parent_edges
            .locate_in_envelope_intersecting(&envelope)
            .next()
            .is_some();
        if vertices_inside && !crossed {
            continue;
        }
        let outside = area_m2(&cell.difference(parent));
        quality.max_outside_m2 = quality.max_outside_m2.max(outside);
        if outside > tolerance_m2 {
            quality.cells_outside += 1;
        }
    }
    let tree = RTree::bulk_load(boxes);
    for item in tree.iter() {
        let idx = item.data;
        let envelope = item.envelope();
        for other in tree.locate_in_envelope_intersecting(&envelope) {
            if other.data <= idx {
                continue;
            }
            let (lo, hi) = (envelope.lower(), envelope.upper());
            let other_env = other.envelope();
            let (olo, ohi) = (other_env.lower(), other_env.upper());
            let w = hi[0].min(ohi[0]) - lo[0].max(olo[0]);
            let h = hi[1].min(ohi[1]) - lo[1].max(olo[1]);
            if w <= 0.0 || h <= 0.0 {
                continue;
            }
            let overlap = area_m2(&cells[idx].intersection(&cells[other.data]));
            quality.max_overlap_m2 = quality.max_overlap_m2.max(overlap);
            if overlap > tolerance_m2 {
                quality.overlapping_pairs += 1;
            }
        }
    }
    let parent_area = area_m2(parent);
    quality.coverage_ratio = if parent_area > 0.0 {
        total / parent_area
    } else {
        0.0
    };
    Ok(quality)
}
