//! `bench-locate`: point-location throughput of Urbis's [`Locator`] against PostGIS on one core.
//!
//! Both sides get the same WGS84 polygons (converted from GCJ-02 when the file is Chinese map data) and
//! the same deterministic random points over the polygons' bounding box. Urbis runs single-threaded;
//! PostGIS runs one query in one backend with parallel workers and JIT off, timed by the server
//! (`EXPLAIN (ANALYZE, TIMING OFF)` execution time, no client transfer). Loading (COPY, GiST index
//! builds, ANALYZE) is reported separately. The answers are then fetched and compared point by point:
//! a disagreement is acceptable only for a point within `boundary_tolerance_deg` of some boundary.
//! Two PostGIS layouts are measured: the polygons as stored, and `ST_Subdivide`d pieces (the usual
//! PostGIS tuning advice), so the ratio is reported against plain and tuned PostGIS.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use geo::{BoundingRect, Contains, MultiPolygon, Point};
use rstar::{RTree, primitives::GeomWithData, primitives::Rectangle};

use crate::area::{AreaFeature, AreaLevel, PropertyMapping};
use crate::crs::Crs;
use crate::locate::Locator;
use crate::measure::boundary_distance_deg;
use crate::tools::{load_areas, per_second};

/// Arguments of `urbis bench-locate`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchLocateArgs {
    /// Number of random points.
    #[arg(long, default_value_t = 1_000_000)]
    pub points: usize,
    /// Polygons (GeoJSON FeatureCollection).
    #[arg(long, default_value = "../shared/data/geo/110100_full.json")]
    pub polygons: PathBuf,
    /// Property holding each polygon's code.
    #[arg(long, default_value = "adcode")]
    pub code_prop: String,
    /// Property holding each polygon's name.
    #[arg(long, default_value = "name")]
    pub name_prop: String,
    /// CRS of the polygon file: gcj02 or wgs84 (converted to WGS84 on import).
    #[arg(long, default_value = "gcj02")]
    pub source_crs: String,
    /// Seed of the point generator (SplitMix64).
    #[arg(long, default_value_t = 20_240_601)]
    pub seed: u64,
    /// Timed runs per Urbis variant (the best is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Timed runs per PostGIS variant (the best is reported).
    #[arg(long, default_value_t = 2)]
    pub postgis_runs: usize,
    /// Only benchmark Urbis.
    #[arg(long)]
    pub skip_postgis: bool,
    /// Script that installs and enables PostGIS when `CREATE EXTENSION postgis` fails.
    #[arg(long, default_value = "bench/locate/setup-postgis.sh")]
    pub setup_script: PathBuf,
    /// PostgreSQL host.
    #[arg(long, env = "PGHOST", default_value = "127.0.0.1")]
    pub pg_host: String,
    /// PostgreSQL port.
    #[arg(long, env = "PGPORT", default_value_t = 5432)]
    pub pg_port: u16,
    /// PostgreSQL user; default: `postgres`, else `root`.
    #[arg(long, env = "PGUSER")]
    pub pg_user: Option<String>,
    /// PostgreSQL database.
    #[arg(long, env = "PGDATABASE", default_value = "test")]
    pub pg_database: String,
    /// Maximum vertices per piece for the `ST_Subdivide` variant (0 skips it).
    #[arg(long, default_value_t = 128)]
    pub subdivide_vertices: u32,
    /// Points farther than this (degrees) from every boundary must get the same answer.
    #[arg(long, default_value_t = 1e-6)]
    pub boundary_tolerance_deg: f64,
    /// Keep the benchmark tables in the database afterwards.
    #[arg(long)]
    pub keep_tables: bool,
}

impl BenchLocateArgs {
    /// Returns the arguments with their CLI defaults (environment variables ignored).
    pub fn defaults() -> BenchLocateArgs {
        BenchLocateArgs {
            points: 1_000_000,
            polygons: PathBuf::from("../shared/data/geo/110100_full.json"),
            code_prop: "adcode".to_owned(),
            name_prop: "name".to_owned(),
            source_crs: "gcj02".to_owned(),
            seed: 20_240_601,
            runs: 3,
            postgis_runs: 2,
            skip_postgis: false,
            setup_script: PathBuf::from("bench/locate/setup-postgis.sh"),
            pg_host: "127.0.0.1".to_owned(),
            pg_port: 5432,
            pg_user: None,
            pg_database: "test".to_owned(),
            subdivide_vertices: 128,
            boundary_tolerance_deg: 1e-6,
            keep_tables: false,
        }
    }
}

/// One PostGIS measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgisRun {
    /// `plain` or `subdivided(N)`.
    pub variant: String,
    /// Best server-side execution time, seconds.
    pub query_seconds: f64,
    /// Points per second.
    pub points_per_second: f64,
    /// Urbis grid-locator throughput divided by this.
    pub ratio: f64,
    /// Points with the same answer.
    pub agree: usize,
    /// Points PostGIS places in more than one polygon (overlapping input).
    pub in_several_areas: usize,
    /// Disagreements within the boundary tolerance.
    pub disagree_near_boundary: usize,
    /// Disagreements farther than the tolerance from every boundary (must be 0).
    pub disagree_far: usize,
    /// First lines of the query plan.
    pub plan: Vec<String>,
}

/// Result of [`run_bench_locate`].
#[derive(Debug, Clone, PartialEq)]
pub struct BenchLocateReport {
    /// Polygons loaded.
    pub polygons: usize,
    /// Boundary vertices.
    pub edges: usize,
    /// Points generated.
    pub points: usize,
    /// Points inside some polygon (Urbis).
    pub inside: usize,
    /// Locator build time, seconds.
    pub build_seconds: f64,
    /// Grid locator, points per second (best run, one thread).
    pub urbis_points_per_second: f64,
    /// R-tree + banded test without the grid, points per second.
    pub rtree_points_per_second: f64,
    /// R-tree + `geo::Contains` baseline, points per second (measured on a subset).
    pub geo_contains_points_per_second: f64,
    /// PostGIS load time (COPY + indexes + ANALYZE), seconds.
    pub postgis_load_seconds: f64,
    /// PostGIS runs.
    pub postgis: Vec<PostgisRun>,
}

/// Marker for "no polygon" in answer vectors.
const NONE: u32 = u32::MAX;

/// Runs the benchmark and prints the report.
pub fn run_bench_locate(args: &BenchLocateArgs) -> anyhow::Result<BenchLocateReport> {
    anyhow::ensure!(
        args.points > 0 && args.points <= 100_000_000,
        "--points must be in 1..=100000000"
    );
    anyhow::ensure!(
        args.points <= i32::MAX as usize,
        "--points too large for PostgreSQL integer ids"
    );
    let source_crs =
        Crs::parse(&args.source_crs).with_context(|| format!("unknown crs {}", args.source_crs))?;
    let mapping = PropertyMapping {
        code_prop: args.code_prop.clone(),
        name_prop: args.name_prop.clone(),
        parent_prop: None,
        level: AreaLevel::District,
        source_crs,
    };
    let (areas, problems) = load_areas(&args.polygons, &mapping)?;
    for problem in &problems {
        eprintln!(
            "warning: feature {} ({:?}) rejected: {}",
            problem.index, problem.code, problem.message
        );
    }
    anyhow::ensure!(
        !areas.is_empty(),
        "no polygon imported from {}",
        args.polygons.display()
    );

    let started = Instant::now();
    let locator = Locator::build(
        areas
            .iter()
            .enumerate()
            .map(|(idx, a)| (idx as u64, a.geometry.clone()))
            .collect(),
    )?;
    let build_seconds = started.elapsed().as_secs_f64();
    let stats = locator.stats();
    let points = random_points(&areas, args.points, args.seed);
    println!(
        "bench-locate: {} polygons, {} edges, {} random points (seed {}) over the bounding box",
        areas.len(),
        stats.edges,
        points.len(),
        args.seed
    );
    println!(
        "  urbis locator: built in {:.1} ms; grid {}×{} = {} empty / {} full / {} boundary cells",
        build_seconds * 1e3,
        stats.grid_columns,
        stats.grid_rows,
        stats.empty_cells,
        stats.full_cells,
        stats.mixed_cells
    );

    // Urbis, one thread: grid locator, R-tree-only path, and a geo::Contains baseline.
    let mut answers = vec![NONE; points.len()];
    let runs = args.runs.max(1);
    let grid_time = best_of(runs, || {
        for (slot, &(x, y)) in answers.iter_mut().zip(&points) {
            *slot = locator.locate_index(x, y).map_or(NONE, |idx| idx as u32);
        }
    });
    let mut exact_answers = vec![NONE; points.len()];
    let rtree_time = best_of(runs, || {
        for (slot, &(x, y)) in exact_answers.iter_mut().zip(&points) {
            *slot = locator.locate_exact(x, y).map_or(NONE, |id| id as u32);
        }
    });
    let exact_mismatch = answers
        .iter()
        .zip(&exact_answers)
        .filter(|(a, b)| a != b)
        .count();
    let geo_subset = points.len().min(100_000);
    let (geo_time, geo_mismatch) =
        geo_contains_baseline(&areas, &points[..geo_subset], &answers[..geo_subset]);
    let inside = answers.iter().filter(|&&a| a != NONE).count();
    let urbis_rate = points.len() as f64 / grid_time.as_secs_f64();
    println!(
        "  urbis grid locator:    {:>8.1} ms  {:>12}  ({} inside, {} outside every polygon)",
        grid_time.as_secs_f64() * 1e3,
        per_second(points.len(), grid_time.as_secs_f64()),
        inside,
        points.len() - inside
    );
    println!(
        "  urbis r-tree only:     {:>8.1} ms  {:>12}  ({} answers differ from the grid)",
        rtree_time.as_secs_f64() * 1e3,
        per_second(points.len(), rtree_time.as_secs_f64()),
        exact_mismatch
    );
    println!(
        "  r-tree + geo Contains: {:>8.1} ms  {:>12}  (on {} points; {} answers differ)",
        geo_time.as_secs_f64() * 1e3,
        per_second(geo_subset, geo_time.as_secs_f64()),
        geo_subset,
        geo_mismatch
    );
    let mut report = BenchLocateReport {
        polygons: areas.len(),
        edges: stats.edges,
        points: points.len(),
        inside,
        build_seconds,
        urbis_points_per_second: urbis_rate,
        rtree_points_per_second: points.len() as f64 / rtree_time.as_secs_f64(),
        geo_contains_points_per_second: geo_subset as f64 / geo_time.as_secs_f64(),
        postgis_load_seconds: 0.0,
        postgis: Vec::new(),
    };
    if args.skip_postgis {
        return Ok(report);
    }
    postgis_side(args, &areas, &points, &answers, &mut report)?;
    Ok(report)
}

fn postgis_side(
    args: &BenchLocateArgs,
    areas: &[AreaFeature],
    points: &[(f64, f64)],
    answers: &[u32],
    report: &mut BenchLocateReport,
) -> anyhow::Result<()> {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner.set_message("postgis: connecting");
    let pg = Psql::connect(args)?;
    spinner.set_message("postgis: enabling the extension");
    pg.ensure_postgis(&args.setup_script)?;
    let version = pg.query(&["SELECT postgis_full_version()"])?;
    let pg_version = pg.query(&["SHOW server_version"])?;

    spinner.set_message("postgis: loading polygons and points (COPY, GiST, ANALYZE)");
    let started = Instant::now();
    pg.query(&[
        "DROP TABLE IF EXISTS urbis_bench_points, urbis_bench_areas, urbis_bench_areas_sub",
        "CREATE UNLOGGED TABLE urbis_bench_areas (idx integer PRIMARY KEY, code text NOT NULL, geom geometry(MultiPolygon, 4326) NOT NULL)",
        "CREATE UNLOGGED TABLE urbis_bench_points (id integer NOT NULL, geom geometry(Point, 4326) NOT NULL)",
    ])?;
    pg.copy_in(
        "COPY urbis_bench_areas (idx, code, geom) FROM STDIN",
        |out| {
            for (idx, area) in areas.iter().enumerate() {
                writeln!(
                    out,
                    "{idx}\t{}\tSRID=4326;{}",
                    area.code.replace(['\t', '\n', '\\'], " "),
                    multipolygon_wkt(&area.geometry)
                )?;
            }
            Ok(())
        },
    )?;
    pg.copy_in("COPY urbis_bench_points (id, geom) FROM STDIN", |out| {
        for (id, (x, y)) in points.iter().enumerate() {
            writeln!(out, "{id}\tSRID=4326;POINT({x} {y})")?;
        }
        Ok(())
    })?;
    let mut setup = vec![
        "CREATE INDEX urbis_bench_areas_geom ON urbis_bench_areas USING gist (geom)".to_owned(),
        "CREATE INDEX urbis_bench_points_geom ON urbis_bench_points USING gist (geom)".to_owned(),
    ];
    if args.subdivide_vertices > 0 {
        setup.push(format!(
            "CREATE UNLOGGED TABLE urbis_bench_areas_sub AS SELECT idx, ST_Subdivide(geom, {}) AS geom FROM urbis_bench_areas",
            args.subdivide_vertices.max(8)
        ));
        setup.push(
            "CREATE INDEX urbis_bench_areas_sub_geom ON urbis_bench_areas_sub USING gist (geom)"
                .to_owned(),
        );
        setup.push("ANALYZE urbis_bench_areas_sub".to_owned());
    }
    setup.push("ANALYZE urbis_bench_areas".to_owned());
    setup.push("ANALYZE urbis_bench_points".to_owned());
    pg.query(&setup.iter().map(String::as_str).collect::<Vec<_>>())?;
    report.postgis_load_seconds = started.elapsed().as_secs_f64();
    spinner.finish_and_clear();
    println!(
        "  postgis: PostgreSQL {} / {}",
        pg_version.trim(),
        version
            .trim()
            .split(' ')
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "  postgis load (COPY {} polygons + {} points, GiST indexes, ANALYZE): {:.2} s (not part of the timing)",
        areas.len(),
        points.len(),
        report.postgis_load_seconds
    );

    let mut variants = vec![("plain".to_owned(), "urbis_bench_areas")];
    if args.subdivide_vertices > 0 {
        variants.push((
            format!("subdivided({})", args.subdivide_vertices.max(8)),
            "urbis_bench_areas_sub",
        ));
    }
    for (variant, table) in variants {
        let sql = format!(
            "SELECT p.id, a.idx FROM urbis_bench_points p JOIN {table} a ON ST_Contains(a.geom, p.geom)"
        );
        let mut best = f64::INFINITY;
        let mut plan = Vec::new();
        for _ in 0..args.postgis_runs.max(1) {
            let explain = format!("EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) {sql}");
            let output = pg.query(&[
                "SET max_parallel_workers_per_gather = 0",
                "SET jit = off",
                &explain,
            ])?;
            let ms = output
                .lines()
                .find_map(|line| line.trim().strip_prefix("Execution Time:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("ms")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
                .with_context(|| format!("no execution time in explain output: {output}"))?;
            best = best.min(ms / 1e3);
            plan = output
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(8)
                .map(|l| l.to_owned())
                .collect();
        }
        let (pg_answers, in_several) = pg.fetch_answers(&sql, points.len())?;
        let (agree, near, far, examples) = compare(
            areas,
            points,
            answers,
            &pg_answers,
            args.boundary_tolerance_deg,
        );
        let rate = points.len() as f64 / best;
        let run = PostgisRun {
            variant: variant.clone(),
            query_seconds: best,
            points_per_second: rate,
            ratio: report.urbis_points_per_second / rate,
            agree,
            in_several_areas: in_several,
            disagree_near_boundary: near,
            disagree_far: far,
            plan,
        };
        println!(
            "  postgis {:<16} {:>8.1} ms  {:>12}  → urbis is {:.1}× faster",
            format!("{variant}:"),
            best * 1e3,
            per_second(points.len(), best),
            run.ratio
        );
        println!(
            "    agreement: {}/{} points ({:.4} %); {} differ within {:e}° of a boundary, {} differ farther away",
            agree,
            points.len(),
            agree as f64 * 100.0 / points.len() as f64,
            near,
            args.boundary_tolerance_deg,
            far
        );
        if in_several > 0 {
            println!(
                "    {in_several} points lie in more than one polygon (the polygons overlap); compared with the first in input order, which is what urbis returns"
            );
        }
        for example in examples {
            println!("    {example}");
        }
        for line in &run.plan {
            println!("    plan: {line}");
        }
        report.postgis.push(run);
    }
    if !args.keep_tables {
        pg.query(&[
            "DROP TABLE IF EXISTS urbis_bench_points, urbis_bench_areas, urbis_bench_areas_sub",
        ])?;
    }
    Ok(())
}

/// Counts agreements and classifies disagreements by distance to the nearest boundary of any polygon.
fn compare(
    areas: &[AreaFeature],
    points: &[(f64, f64)],
    urbis: &[u32],
    postgis: &[u32],
    tolerance_deg: f64,
) -> (usize, usize, usize, Vec<String>) {
    let (mut agree, mut near, mut far) = (0, 0, 0);
    let mut examples = Vec::new();
    let name = |answer: u32| match answer {
        NONE => "none".to_owned(),
        idx => areas[idx as usize].code.clone(),
    };
    for (idx, (&a, &b)) in urbis.iter().zip(postgis).enumerate() {
        if a == b {
            agree += 1;
            continue;
        }
        let (x, y) = points[idx];
        let distance = areas
            .iter()
            .map(|area| boundary_distance_deg(&area.geometry, x, y))
            .fold(f64::INFINITY, f64::min);
        if distance <= tolerance_deg {
            near += 1;
        } else {
            far += 1;
        }
        if examples.len() < 3 {
            examples.push(format!(
                "point {idx} ({x}, {y}): urbis {} vs postgis {}, {distance:.2e}° from the nearest boundary",
                name(a),
                name(b)
            ));
        }
    }
    (agree, near, far, examples)
}

/// Times `work` `runs` times and returns the fastest run.
fn best_of(runs: usize, mut work: impl FnMut()) -> Duration {
    work(); // warm caches and page in memory
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// The straightforward approach: R-tree over part envelopes, then `geo::Contains` per candidate.
fn geo_contains_baseline(
    areas: &[AreaFeature],
    points: &[(f64, f64)],
    expected: &[u32],
) -> (Duration, usize) {
    let envelopes: Vec<GeomWithData<Rectangle<[f64; 2]>, u32>> = areas
        .iter()
        .enumerate()
        .flat_map(|(idx, area)| {
            area.geometry.0.iter().filter_map(move |polygon| {
                let rect = polygon.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners(
                        [rect.min().x, rect.min().y],
                        [rect.max().x, rect.max().y],
                    ),
                    idx as u32,
                ))
            })
        })
        .collect();
    let tree = RTree::bulk_load(envelopes);
    let mut answers = vec![NONE; points.len()];
    let started = Instant::now();
    for (slot, &(x, y)) in answers.iter_mut().zip(points) {
        let point = Point::new(x, y);
        let mut best = NONE;
        for candidate in tree.locate_all_at_point(&[x, y]) {
            if candidate.data < best && areas[candidate.data as usize].geometry.contains(&point) {
                best = candidate.data;
            }
        }
        *slot = best;
    }
    let elapsed = started.elapsed();
    let mismatch = answers.iter().zip(expected).filter(|(a, b)| a != b).count();
    (elapsed, mismatch)
}

/// Deterministic uniform points over the union bounding box (SplitMix64).
fn random_points(areas: &[AreaFeature], n: usize, seed: u64) -> Vec<(f64, f64)> {
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for area in areas {
        if let Some(rect) = area.geometry.bounding_rect() {
            min_x = min_x.min(rect.min().x);
            min_y = min_y.min(rect.min().y);
            max_x = max_x.max(rect.max().x);
            max_y = max_y.max(rect.max().y);
        }
    }
    let mut state = seed;
    let mut next_unit = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let x = min_x + (max_x - min_x) * next_unit();
            let y = min_y + (max_y - min_y) * next_unit();
            (x, y)
        })
        .collect()
}

/// Writes a multipolygon as WKT with shortest round-trip float formatting (exact).
fn multipolygon_wkt(geometry: &MultiPolygon<f64>) -> String {
    let ring = |ring: &geo::LineString<f64>| {
        let coords: Vec<String> = ring.0.iter().map(|c| format!("{} {}", c.x, c.y)).collect();
        format!("({})", coords.join(","))
    };
    let polygons: Vec<String> = geometry
        .0
        .iter()
        .map(|polygon| {
            let rings: Vec<String> = std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .map(ring)
                .collect();
            format!("({})", rings.join(","))
        })
        .collect();
    format!("MULTIPOLYGON({})", polygons.join(","))
}

/// A thin wrapper around the `psql` command line (no Rust PostgreSQL client needed).
struct Psql {
    host: String,
    port: u16,
    user: String,
    database: String,
}

impl Psql {
    fn connect(args: &BenchLocateArgs) -> anyhow::Result<Psql> {
        let users: Vec<String> = match &args.pg_user {
            Some(user) => vec![user.clone()],
            None => vec!["postgres".to_owned(), "root".to_owned()],
        };
        let mut last_error = None;
        for user in users {
            let pg = Psql {
                host: args.pg_host.clone(),
                port: args.pg_port,
                user,
                database: args.pg_database.clone(),
            };
            match pg.query(&["SELECT 1"]) {
                Ok(_) => return Ok(pg),
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::format_err!("no postgresql user to try")))
            .context("failed to connect to postgresql with psql")
    }

    fn command(&self) -> Command {
        let mut command = Command::new("psql");
        command
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                &self.host,
                "-p",
                &self.port.to_string(),
                "-U",
                &self.user,
                "-d",
                &self.database,
            ])
            .env("PGCONNECT_TIMEOUT", "10");
        command
    }

    /// Runs statements in one session (one `-c` each) and returns stdout.
    fn query(&self, statements: &[&str]) -> anyhow::Result<String> {
        let mut command = self.command();
        for statement in statements {
            command.args(["-c", statement]);
        }
        let output = command
            .stdin(Stdio::null())
            .output()
            .context("failed to run psql")?;
        if !output.status.success() {
            bail!(
                "psql failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs a `COPY … FROM STDIN` and streams the rows written by `write_rows`.
    fn copy_in(
        &self,
        copy: &str,
        write_rows: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        let mut child = self
            .command()
            .args(["-c", copy])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("failed to run psql")?;
        {
            let stdin = child.stdin.take().context("psql stdin unavailable")?;
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, stdin);
            let written = write_rows(&mut writer).and_then(|()| writer.flush());
            if let Err(err) = written {
                let output = child
                    .wait_with_output()
                    .context("failed to wait for psql")?;
                bail!(
                    "copy failed: {err}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
        }
        let output = child
            .wait_with_output()
            .context("failed to wait for psql")?;
        if !output.status.success() {
            bail!(
                "copy failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// Enables PostGIS, running the setup script (apt-get install) when the extension is missing.
    fn ensure_postgis(&self, script: &std::path::Path) -> anyhow::Result<()> {
        if self
            .query(&["CREATE EXTENSION IF NOT EXISTS postgis"])
            .is_ok()
        {
            return Ok(());
        }
        anyhow::ensure!(
            script.exists(),
            "postgis is not installed and {} does not exist (run from the repository root)",
            script.display()
        );
        eprintln!("postgis: extension missing, running {}", script.display());
        let status = Command::new("bash")
            .arg(script)
            .env("PGHOST", &self.host)
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", &self.user)
            .env("PGDATABASE", &self.database)
            .status()
            .with_context(|| format!("failed to run {}", script.display()))?;
        anyhow::ensure!(
            status.success(),
            "{} failed with {status}",
            script.display()
        );
        self.query(&["CREATE EXTENSION IF NOT EXISTS postgis"])
            .map(|_| ())
    }

    /// Fetches `(point id, area idx)` rows of the join. Returns, per point, the lowest area index that
    /// contains it (the answer Urbis gives for overlapping areas: first in build order) or `NONE`, and
    /// the number of points inside more than one area.
    fn fetch_answers(&self, sql: &str, n: usize) -> anyhow::Result<(Vec<u32>, usize)> {
        let text = self.query(&[&format!("COPY ({sql}) TO STDOUT")])?;
        let mut answers = vec![NONE; n];
        let mut several = vec![false; n];
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (id, idx) = line
                .split_once('\t')
                .with_context(|| format!("unexpected copy row {line:?}"))?;
            let id: usize = id.parse().with_context(|| format!("bad point id {id:?}"))?;
            let idx: u32 = idx
                .parse()
                .with_context(|| format!("bad area idx {idx:?}"))?;
            let slot = answers
                .get_mut(id)
                .with_context(|| format!("point id {id} out of range"))?;
            if *slot != NONE && *slot != idx {
                several[id] = true;
            }
            *slot = (*slot).min(idx);
        }
        Ok((answers, several.iter().filter(|&&s| s).count()))
    }
}
