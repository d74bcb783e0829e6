//! Point location: which area (or unit grid) contains a WGS84 point.
//!
//! [`Locator`] is built once from `(id, multipolygon)` pairs and then answers [`Locator::locate`] in
//! tens of nanoseconds. Runtime shape:
//!
//! - every area becomes a *prepared shape*: its edges (all rings of all parts) bucketed into horizontal
//!   y-bands, so an even-odd ray-crossing test only looks at the few edges whose y-range spans the query;
//! - an rstar R-tree holds the bounding box of every polygon part; [`Locator::locate_exact`] uses it
//!   directly and the builder uses it to classify grid cells;
//! - a uniform cell grid over the union bounding box stores, per cell, either a final answer
//!   (outside everything, or inside one area, when no boundary edge comes near the cell) or a short
//!   list of candidate areas to test exactly. Most queries are one array read.
//!
//! The answers are exact even-odd point-in-polygon answers; only points within floating-point noise of
//! a boundary can differ from other engines (boundary points belong to one side or the other, consistently).
//! When areas overlap, the first area in build order that contains the point wins. A point outside every
//! area returns `None`; it is never snapped to the nearest area.

use geo::{BoundingRect, Coord, MultiPolygon};
use rstar::{RTree, primitives::GeomWithData, primitives::Rectangle};

use crate::error::GeoError;

/// Tuning for [`Locator::build_with_options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocatorOptions {
    /// Upper bound on acceleration-grid cells (2 bytes each, 4 with more than 32,766 areas). `0` disables the grid: every query then
    /// goes through the R-tree ([`Locator::locate_exact`]).
    pub max_grid_cells: usize,
    /// Grid cells per boundary edge the builder aims for before applying `max_grid_cells`.
    pub cells_per_edge: usize,
}

impl LocatorOptions {
    /// Returns the defaults: 32 cells per boundary edge, at most 2^19 cells (1 MiB with 16-bit cells).
    /// Measured on Beijing's districts: finer grids stop paying off once the table leaves the L2 cache.
    pub fn standard() -> LocatorOptions {
        LocatorOptions {
            max_grid_cells: 1 << 19,
            cells_per_edge: 32,
        }
    }
}

/// Counts describing a built [`Locator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocatorStats {
    /// Number of areas.
    pub areas: usize,
    /// Number of polygon parts in the R-tree.
    pub parts: usize,
    /// Number of boundary edges.
    pub edges: usize,
    /// Grid columns (0 without a grid).
    pub grid_columns: usize,
    /// Grid rows (0 without a grid).
    pub grid_rows: usize,
    /// Cells answered without any geometry test (outside everything).
    pub empty_cells: usize,
    /// Cells answered without any geometry test (inside one area).
    pub full_cells: usize,
    /// Cells near a boundary, answered by exact tests on a candidate list.
    pub mixed_cells: usize,
}

/// A point-in-polygon index over many areas. Cheap to share across threads (`Sync`, read-only).
#[derive(Debug, Clone)]
pub struct Locator {
    ids: Vec<u64>,
    shapes: Vec<PreparedShape>,
    parts: RTree<PartEnvelope>,
    n_parts: usize,
    n_edges: usize,
    grid: Option<CellGrid>,
}

impl Locator {
    /// Builds a locator with [`LocatorOptions::standard`].
    pub fn build(areas: Vec<(u64, MultiPolygon<f64>)>) -> Result<Locator, GeoError> {
        Locator::build_with_options(areas, &LocatorOptions::standard())
    }

    /// Builds a locator. Fails on non-finite coordinates; empty geometries are accepted and never match.
    pub fn build_with_options(
        areas: Vec<(u64, MultiPolygon<f64>)>,
        options: &LocatorOptions,
    ) -> Result<Locator, GeoError> {
        if areas.len() > MAX_AREAS {
            return Err(GeoError::TooLarge {
                what: "areas",
                actual: areas.len(),
                limit: MAX_AREAS,
            });
        }
        let mut ids = Vec::with_capacity(areas.len());
        let mut shapes = Vec::with_capacity(areas.len());
        let mut part_envelopes = Vec::new();
        let mut n_edges = 0;
        for (shape_idx, (id, geometry)) in areas.iter().enumerate() {
            let shape =
                PreparedShape::new(geometry).map_err(|reason| GeoError::InvalidGeometry {
                    subject: format!("area {id}"),
                    reason,
                })?;
            for polygon in &geometry.0 {
                if let Some(rect) = polygon.bounding_rect() {
                    let rectangle = Rectangle::from_corners(
                        [rect.min().x, rect.min().y],
                        [rect.max().x, rect.max().y],
                    );
                    part_envelopes.push(GeomWithData::new(rectangle, shape_idx as u32));
                }
            }
            n_edges += shape.boundary_edges.len();
            ids.push(*id);
            shapes.push(shape);
        }
        let n_parts = part_envelopes.len();
        let parts = RTree::bulk_load(part_envelopes);
        let mut locator = Locator {
            ids,
            shapes,
            parts,
            n_parts,
            n_edges,
            grid: None,
        };
        if options.max_grid_cells > 0 {
            locator.grid = CellGrid::build(&locator, options);
        }
        // The band-building input is no longer needed once the grid is classified.
        for shape in &mut locator.shapes {
            shape.boundary_edges = Vec::new();
        }
        Ok(locator)
    }

    /// Returns the id of the area containing `(lon, lat)`, or `None` when no area contains it.
    #[inline]
    pub fn locate(&self, lon: f64, lat: f64) -> Option<u64> {
        self.locate_index(lon, lat).map(|idx| self.ids[idx])
    }

    /// Returns the build-order position of the area containing `(lon, lat)`.
    #[inline]
    pub fn locate_index(&self, lon: f64, lat: f64) -> Option<usize> {
        match &self.grid {
            Some(grid) => grid.locate(lon, lat),
            None => self.locate_exact_index(lon, lat),
        }
    }

    /// Answers like [`Locator::locate`] but through the R-tree only, without the grid (reference path).
    pub fn locate_exact(&self, lon: f64, lat: f64) -> Option<u64> {
        self.locate_exact_index(lon, lat).map(|idx| self.ids[idx])
    }

    /// Returns the ids of every area containing the point (more than one only when areas overlap),
    /// in build order.
    pub fn locate_all(&self, lon: f64, lat: f64) -> Vec<u64> {
        self.candidates_at(lon, lat)
            .into_iter()
            .filter(|&idx| self.shapes[idx].contains(lon, lat))
            .map(|idx| self.ids[idx])
            .collect()
    }

    /// Returns the id stored at a build-order position.
    pub fn id(&self, index: usize) -> u64 {
        self.ids[index]
    }

    /// Returns the number of areas.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Returns true when the locator holds no area.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Returns counts describing the index (for logs and benchmarks).
    pub fn stats(&self) -> LocatorStats {
        let mut stats = LocatorStats {
            areas: self.ids.len(),
            parts: self.n_parts,
            edges: self.n_edges,
            grid_columns: 0,
            grid_rows: 0,
            empty_cells: 0,
            full_cells: 0,
            mixed_cells: 0,
        };
        if let Some(grid) = &self.grid {
            stats.grid_columns = grid.nx;
            stats.grid_rows = grid.ny;
            for cell in (0..grid.cells.len()).map(|idx| grid.cells.get(idx)) {
                match cell {
                    0 => stats.empty_cells += 1,
                    c if c & MIXED_BIT != 0 => stats.mixed_cells += 1,
                    _ => stats.full_cells += 1,
                }
            }
        }
        stats
    }

    fn locate_exact_index(&self, lon: f64, lat: f64) -> Option<usize> {
        self.candidates_at(lon, lat)
            .into_iter()
            .find(|&idx| self.shapes[idx].contains(lon, lat))
    }

    /// Returns the areas whose part envelopes contain the point, sorted by build order, deduplicated.
    fn candidates_at(&self, lon: f64, lat: f64) -> Vec<usize> {
        if !lon.is_finite() || !lat.is_finite() {
            return Vec::new();
        }
        let mut candidates: Vec<usize> = self
            .parts
            .locate_all_at_point(&[lon, lat])
            .map(|part| part.data as usize)
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
    }
}

/// Bounding box of one polygon part, tagged with its area's build-order position.
type PartEnvelope = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// An edge ready for the crossing test: x at height y is `x0 + (y - y0) * slope`.
#[derive(Debug, Clone, Copy)]
struct BandEdge {
    y0: f64,
    y1: f64,
    x0: f64,
    slope: f64,
}

/// One area's edges bucketed by y-band for the even-odd ray-crossing test.
#[derive(Debug, Clone)]
struct PreparedShape {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
    inv_band_height: f64,
    n_bands: usize,
    /// `band_starts[b]..band_starts[b + 1]` indexes `band_edges` for band `b`.
    band_starts: Vec<u32>,
    band_edges: Vec<BandEdge>,
    /// All edges including horizontal ones (used only while building the grid).
    boundary_edges: Vec<(Coord<f64>, Coord<f64>)>,
}

impl PreparedShape {
    fn new(geometry: &MultiPolygon<f64>) -> Result<PreparedShape, String> {
        let mut boundary_edges = Vec::new();
        let (mut min_x, mut min_y, mut max_x, mut max_y) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for polygon in &geometry.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for c in &ring.0 {
                    if !c.x.is_finite() || !c.y.is_finite() {
                        return Err("non-finite coordinate".to_owned());
                    }
                    min_x = min_x.min(c.x);
                    min_y = min_y.min(c.y);
                    max_x = max_x.max(c.x);
                    max_y = max_y.max(c.y);
                }
                let coords = &ring.0;
                if coords.len() < 2 {
                    continue;
                }
                // Rings are treated as closed whether or not the last position repeats the first.
                for i in 0..coords.len() {
                    let a = coords[i];
                    let b = coords[(i + 1) % coords.len()];
                    if a != b {
                        boundary_edges.push((a, b));
                    }
                }
            }
        }
        if boundary_edges.is_empty() {
            return Ok(PreparedShape {
                min_x: 0.0,
                min_y: 0.0,
                max_x: -1.0,
                max_y: -1.0,
                inv_band_height: 0.0,
                n_bands: 0,
                band_starts: vec![0],
                band_edges: Vec::new(),
                boundary_edges,
            });
        }
        let crossing_edges: Vec<BandEdge> = boundary_edges
            .iter()
            .filter(|(a, b)| a.y != b.y)
            .map(|(a, b)| BandEdge {
                y0: a.y,
                y1: b.y,
                x0: a.x,
                slope: (b.x - a.x) / (b.y - a.y),
            })
            .collect();
        let n_bands = (crossing_edges.len() / 2).clamp(1, 1 << 16);
        let height = max_y - min_y;
        let inv_band_height = if height > 0.0 {
            n_bands as f64 / height
        } else {
            0.0
        };
        let band_of =
            |y: f64| -> usize { (((y - min_y) * inv_band_height) as usize).min(n_bands - 1) };
        // Counting pass, then fill: an edge goes into every band its y-range touches. The band index is a
        // monotone function of y, so a query in band b sees every edge whose y-range contains it.
        let mut counts = vec![0u32; n_bands + 1];
        for e in &crossing_edges {
            let (lo, hi) = (band_of(e.y0.min(e.y1)), band_of(e.y0.max(e.y1)));
            for count in &mut counts[lo..=hi] {
                *count += 1;
            }
        }
        let mut band_starts = vec![0u32; n_bands + 1];
        for b in 0..n_bands {
            band_starts[b + 1] = band_starts[b] + counts[b];
        }
        let mut cursor: Vec<u32> = band_starts[..n_bands].to_vec();
        let total = band_starts[n_bands] as usize;
        let mut band_edges = vec![
            BandEdge {
                y0: 0.0,
                y1: 0.0,
                x0: 0.0,
                slope: 0.0
            };
            total
        ];
        for e in &crossing_edges {
            let (lo, hi) = (band_of(e.y0.min(e.y1)), band_of(e.y0.max(e.y1)));
            for slot in &mut cursor[lo..=hi] {
                band_edges[*slot as usize] = *e;
                *slot += 1;
            }
        }
        Ok(PreparedShape {
            min_x,
            min_y,
            max_x,
            max_y,
            inv_band_height,
            n_bands,
            band_starts,
            band_edges,
            boundary_edges,
        })
    }

    /// Even-odd ray-crossing test (ray towards +x) over the edges of the query's y-band.
    #[inline]
    fn contains(&self, x: f64, y: f64) -> bool {
        if !(x >= self.min_x && x <= self.max_x && y >= self.min_y && y <= self.max_y) {
            return false;
        }
        let band = (((y - self.min_y) * self.inv_band_height) as usize).min(self.n_bands - 1);
        let edges =
            &self.band_edges[self.band_starts[band] as usize..self.band_starts[band + 1] as usize];
        let mut inside = false;
        for e in edges {
            if (e.y0 > y) != (e.y1 > y) && x < e.x0 + (y - e.y0) * e.slope {
                inside = !inside;
            }
        }
        inside
    }
}

/// Cell values: `0` = outside all, `MIXED_BIT | m` = candidate list `m`, otherwise area index + 1.
const MIXED_BIT: u32 = 1 << 31;
/// Largest number of areas (cell values hold an area index + 1 below `MIXED_BIT`).
const MAX_AREAS: usize = (MIXED_BIT - 2) as usize;
/// Safety margin, in cell units, when deciding which cells an edge touches.
const CELL_EPS: f64 = 1e-6;

/// Returns `floor(v)` clamped to a valid cell index in `0..n`.
fn clamp_cell(v: f64, n: usize) -> usize {
    if v <= 0.0 { 0 } else { (v as usize).min(n - 1) }
}

/// A regular lattice of `nx × ny` cells anchored at `(min_x, min_y)`; cell `(c, r)` spans
/// `[min_x + c·cell_w, min_x + (c+1)·cell_w] × [min_y + r·cell_h, min_y + (r+1)·cell_h]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lattice {
    pub(crate) min_x: f64,
    pub(crate) min_y: f64,
    pub(crate) cell_w: f64,
    pub(crate) cell_h: f64,
    pub(crate) nx: usize,
    pub(crate) ny: usize,
}

impl Lattice {
    /// Calls `visit(column, row)` for every cell the segment `a`–`b` passes through or comes within
    /// `CELL_EPS` cell widths of (a conservative superset; each cell at most once per column).
    pub(crate) fn visit_edge_cells(
        &self,
        a: Coord<f64>,
        b: Coord<f64>,
        mut visit: impl FnMut(usize, usize),
    ) {
        let clamp_index = clamp_cell;
        let column_of = |x: f64| (x - self.min_x) / self.cell_w;
        let row_of = |y: f64| (y - self.min_y) / self.cell_h;
        let (left, right) = if a.x <= b.x { (a, b) } else { (b, a) };
        let c0 = clamp_index(column_of(left.x) - CELL_EPS, self.nx);
        let c1 = clamp_index(column_of(right.x) + CELL_EPS, self.nx);
        for c in c0..=c1 {
            let (y_lo, y_hi) = if left.x == right.x {
                (left.y.min(right.y), left.y.max(right.y))
            } else {
                // The column widened by CELL_EPS on both sides, clipped to the edge's x-range.
                let x_lo = (self.min_x + (c as f64 - CELL_EPS) * self.cell_w).max(left.x);
                let x_hi = (self.min_x + (c as f64 + 1.0 + CELL_EPS) * self.cell_w).min(right.x);
                let t = |x: f64| left.y + (right.y - left.y) * ((x - left.x) / (right.x - left.x));
                let (ya, yb) = (t(x_lo), t(x_hi));
                (ya.min(yb), ya.max(yb))
            };
            let r0 = clamp_index(row_of(y_lo) - CELL_EPS, self.ny);
            let r1 = clamp_index(row_of(y_hi) + CELL_EPS, self.ny);
            for r in r0..=r1 {
                visit(c, r);
            }
        }
    }
}

/// Uniform acceleration grid over the union bounding box.
#[derive(Debug, Clone)]
struct CellGrid {
    min_x: f64,
    min_y: f64,
    inv_cell_w: f64,
    inv_cell_h: f64,
    nx: usize,
    ny: usize,
    nx_f: f64,
    ny_f: f64,
    cells: Cells,
    /// `mixed_starts[m]..mixed_starts[m + 1]` indexes `mixed_entries` for candidate list `m`.
    mixed_starts: Vec<u32>,
    mixed_entries: Vec<MixedEntry>,
    /// Edges referenced by mixed entries, clipped to what matters inside one cell.
    cell_edges: Vec<BandEdge>,
}

/// Cell values, stored in 16 bits when they fit (half the cache footprint), else 32.
/// In the narrow form bit 15 plays the role of `MIXED_BIT`.
#[derive(Debug, Clone)]
enum Cells {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Cells {
    fn from_wide(values: Vec<u32>, n_areas: usize, n_lists: usize) -> Cells {
        if n_areas < 0x7FFF && n_lists <= 0x8000 {
            let narrow = values
                .iter()
                .map(|&v| {
                    if v & MIXED_BIT != 0 {
                        0x8000 | (v & !MIXED_BIT) as u16
                    } else {
                        v as u16
                    }
                })
                .collect();
            Cells::Narrow(narrow)
        } else {
            Cells::Wide(values)
        }
    }

    #[inline]
    fn get(&self, idx: usize) -> u32 {
        match self {
            Cells::Narrow(values) => {
                let v = u32::from(values[idx]);
                if v & 0x8000 != 0 {
                    MIXED_BIT | (v & 0x7FFF)
                } else {
                    v
                }
            }
            Cells::Wide(values) => values[idx],
        }
    }

    fn len(&self) -> usize {
        match self {
            Cells::Narrow(values) => values.len(),
            Cells::Wide(values) => values.len(),
        }
    }
}

/// One candidate area of a boundary cell.
///
/// For a point in the cell, the even-odd ray towards +x crosses: edges entirely left of the cell never;
/// edges entirely right of the cell that span the cell's whole row always (their count's parity is
/// `parity`); and only the remaining few edges (`cell_edges[start..end]`) need the crossing test.
#[derive(Debug, Clone, Copy)]
struct MixedEntry {
    area: u32,
    /// Starting parity; a cell wholly inside the area is an entry with parity set and no edges.
    parity: bool,
    start: u32,
    end: u32,
}

impl CellGrid {
    fn build(locator: &Locator, options: &LocatorOptions) -> Option<CellGrid> {
        let (mut min_x, mut min_y, mut max_x, mut max_y) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for shape in locator.shapes.iter().filter(|s| s.n_bands > 0) {
            min_x = min_x.min(shape.min_x);
            min_y = min_y.min(shape.min_y);
            max_x = max_x.max(shape.max_x);
            max_y = max_y.max(shape.max_y);
        }
        if !(min_x <= max_x && min_y <= max_y) {
            return None;
        }
        let width = (max_x - min_x).max(1e-9);
        let height = (max_y - min_y).max(1e-9);
        let target = locator
            .n_edges
            .saturating_mul(options.cells_per_edge.max(1))
            .clamp(1024.min(options.max_grid_cells), options.max_grid_cells);
        let nx = ((target as f64 * width / height).sqrt().round() as usize).clamp(1, 1 << 15);
        let ny = (target / nx).clamp(1, 1 << 15);
        let lattice = Lattice {
            min_x,
            min_y,
            cell_w: width / nx as f64,
            cell_h: height / ny as f64,
            nx,
            ny,
        };
        let (cell_w, cell_h) = (lattice.cell_w, lattice.cell_h);

        // 1. Conservative rasterisation of every boundary edge: (cell, area) pairs.
        let mut touched: Vec<(u32, u32)> = Vec::new();
        for (shape_idx, shape) in locator.shapes.iter().enumerate() {
            for &(a, b) in &shape.boundary_edges {
                lattice.visit_edge_cells(a, b, |c, r| {
                    touched.push(((r * nx + c) as u32, shape_idx as u32))
                });
            }
        }
        touched.sort_unstable();
        touched.dedup();

        // Non-horizontal edges per (row, area), for the cell-local edge lists of boundary cells.
        let mut crossing_edges: Vec<(BandEdge, f64, f64)> = Vec::new();
        let mut row_edges: Vec<(u32, u32, u32)> = Vec::new();
        for (shape_idx, shape) in locator.shapes.iter().enumerate() {
            for &(a, b) in shape.boundary_edges.iter().filter(|(a, b)| a.y != b.y) {
                let edge = BandEdge {
                    y0: a.y,
                    y1: b.y,
                    x0: a.x,
                    slope: (b.x - a.x) / (b.y - a.y),
                };
                let edge_idx = crossing_edges.len() as u32;
                crossing_edges.push((edge, a.x.min(b.x), a.x.max(b.x)));
                let row = |y: f64| (y - min_y) / cell_h;
                let r0 = clamp_cell(row(a.y.min(b.y)) - CELL_EPS, ny);
                let r1 = clamp_cell(row(a.y.max(b.y)) + CELL_EPS, ny);
                for r in r0..=r1 {
                    row_edges.push((r as u32, shape_idx as u32, edge_idx));
                }
            }
        }
        row_edges.sort_unstable();
        let (margin_x, margin_y) = (CELL_EPS * cell_w, CELL_EPS * cell_h);

        // 2. Classify cells row by row. A run of untouched cells has one status, so it is computed once
        //    (at the first cell's centre) and reused until the next touched cell.
        let mut cells = vec![0u32; nx * ny];
        let mut mixed_starts = vec![0u32];
        let mut mixed_entries: Vec<MixedEntry> = Vec::new();
        let mut cell_edges: Vec<BandEdge> = Vec::new();
        let mut touched_iter = touched.iter().peekable();
        let mut edge_areas: Vec<u32> = Vec::new();
        for r in 0..ny {
            let mut run_value: Option<u32> = None;
            for c in 0..nx {
                let cell = (r * nx + c) as u32;
                edge_areas.clear();
                while let Some(&&(touched_cell, shape)) = touched_iter.peek() {
                    if touched_cell != cell {
                        break;
                    }
                    edge_areas.push(shape);
                    touched_iter.next();
                }
                let center_x = min_x + (c as f64 + 0.5) * cell_w;
                let center_y = min_y + (r as f64 + 0.5) * cell_h;
                if edge_areas.is_empty() {
                    let value = *run_value.get_or_insert_with(|| {
                        match locator.locate_exact_index(center_x, center_y) {
                            Some(idx) => idx as u32 + 1,
                            None => 0,
                        }
                    });
                    cells[cell as usize] = value;
                    continue;
                }
                run_value = None;
                // Areas that contain the whole cell: their envelope holds the centre, no edge is near.
                let full_areas: Vec<u32> = locator
                    .candidates_at(center_x, center_y)
                    .into_iter()
                    .map(|idx| idx as u32)
                    .filter(|idx| edge_areas.binary_search(idx).is_err())
                    .filter(|&idx| locator.shapes[idx as usize].contains(center_x, center_y))
                    .collect();
                let first_full = full_areas.first().copied();
                let tested: Vec<u32> = edge_areas
                    .iter()
                    .copied()
                    .filter(|&idx| first_full.is_none_or(|full| idx < full))
                    .collect();
                if tested.is_empty() {
                    // Only possible with a full area: no earlier candidate can win.
                    cells[cell as usize] = first_full.map_or(0, |idx| idx + 1);
                    continue;
                }
                let x_left = min_x + c as f64 * cell_w - margin_x;
                let x_right = min_x + (c + 1) as f64 * cell_w + margin_x;
                let y_bottom = min_y + r as f64 * cell_h - margin_y;
                let y_top = min_y + (r + 1) as f64 * cell_h + margin_y;
                for area in tested {
                    let lo = row_edges.partition_point(|&(er, ea, _)| (er, ea) < (r as u32, area));
                    let hi = row_edges.partition_point(|&(er, ea, _)| (er, ea) <= (r as u32, area));
                    let start = cell_edges.len() as u32;
                    let mut parity = false;
                    for &(_, _, edge_idx) in &row_edges[lo..hi] {
                        let (edge, edge_min_x, edge_max_x) = crossing_edges[edge_idx as usize];
                        if edge_max_x < x_left {
                            continue;
                        }
                        let spans_row =
                            edge.y0.min(edge.y1) < y_bottom && edge.y0.max(edge.y1) > y_top;
                        if edge_min_x > x_right && spans_row {
                            parity = !parity;
                        } else {
                            cell_edges.push(edge);
                        }
                    }
                    let end = cell_edges.len() as u32;
                    mixed_entries.push(MixedEntry {
                        area,
                        parity,
                        start,
                        end,
                    });
                }
                if let Some(full) = first_full {
                    mixed_entries.push(MixedEntry {
                        area: full,
                        parity: true,
                        start: 0,
                        end: 0,
                    });
                }
                let list = (mixed_starts.len() - 1) as u32;
                mixed_starts.push(mixed_entries.len() as u32);
                cells[cell as usize] = MIXED_BIT | list;
            }
        }
        let n_lists = mixed_starts.len() - 1;
        let cells = Cells::from_wide(cells, locator.shapes.len(), n_lists);
        Some(CellGrid {
            min_x,
            min_y,
            inv_cell_w: 1.0 / cell_w,
            inv_cell_h: 1.0 / cell_h,
            nx,
            ny,
            nx_f: nx as f64,
            ny_f: ny as f64,
            cells,
            mixed_starts,
            mixed_entries,
            cell_edges,
        })
    }

    #[inline]
    fn locate(&self, lon: f64, lat: f64) -> Option<usize> {
        let fx = (lon - self.min_x) * self.inv_cell_w;
        let fy = (lat - self.min_y) * self.inv_cell_h;
        // Written so that NaN fails the test.
        if !(fx >= 0.0 && fy >= 0.0 && fx <= self.nx_f && fy <= self.ny_f) {
            return None;
        }
        let c = (fx as usize).min(self.nx - 1);
        let r = (fy as usize).min(self.ny - 1);
        let value = self.cells.get(r * self.nx + c);
        if value & MIXED_BIT == 0 {
            return value.checked_sub(1).map(|idx| idx as usize);
        }
        let list = (value & !MIXED_BIT) as usize;
        let entries = &self.mixed_entries
            [self.mixed_starts[list] as usize..self.mixed_starts[list + 1] as usize];
        for entry in entries {
            let mut inside = entry.parity;
            for e in &self.cell_edges[entry.start as usize..entry.end as usize] {
                if (e.y0 > lat) != (e.y1 > lat) && lon < e.x0 + (lat - e.y0) * e.slope {
                    inside = !inside;
                }
            }
            if inside {
                return Some(entry.area as usize);
            }
        }
        None
    }
}
