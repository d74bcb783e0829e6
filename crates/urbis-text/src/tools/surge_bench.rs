//! `urbis bench surge`: the surge detector against a fixed-threshold rule on a synthetic year with known surges.
//!
//! The background of every category × street follows the weekday and month profiles fitted from real
//! timestamps (the 附件3 messages and the New York 311 samples in `../shared/data`), with day-to-day noise
//! beyond Poisson (a log-normal factor). Surges of known size are injected at known cells and days; both rules
//! see the same counts. A surge counts as detected in time when a rule alarms on its first or second day;
//! an alarm on a cell-day outside every surge (and the three days after it) is a false alarm.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::insight::DAY;
use crate::insight::surge::{FixedThreshold, Seasonality, SurgeDetector, SurgeOptions};
use crate::rng::SplitMix64;
use crate::tools::data::read_table;
use crate::tools::days_from_civil;
use crate::tools::dup::parse_time;

/// Arguments of `urbis bench surge`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchSurgeArgs {
    /// The shared data folder (for the real timestamps the profile is fitted from).
    #[arg(long, default_value = "../shared/data")]
    pub data_dir: PathBuf,
    /// Categories in the synthetic city.
    #[arg(long, default_value_t = 8)]
    pub categories: usize,
    /// Streets in the synthetic city.
    #[arg(long, default_value_t = 12)]
    pub streets: usize,
    /// Appeals per day in the whole city on an average day.
    #[arg(long, default_value_t = 400.0)]
    pub city_per_day: f64,
    /// Days simulated.
    #[arg(long, default_value_t = 365)]
    pub days: i64,
    /// Surges injected.
    #[arg(long, default_value_t = 150)]
    pub surges: usize,
    /// Surge size: extra appeals per surge day, in standard deviations of the cell's expected count
    /// (⌈s·√λ⌉, at least 3).
    #[arg(long, default_value_t = 4.0)]
    pub surge_sigma: f64,
    /// Days a surge lasts.
    #[arg(long, default_value_t = 3)]
    pub surge_days: i64,
    /// Day-to-day noise beyond Poisson (standard deviation of a log-normal factor).
    #[arg(long, default_value_t = 0.15)]
    pub noise: f64,
    /// Tail probability below which the detector alarms.
    #[arg(long, default_value_t = 0.001)]
    pub alpha: f64,
    /// Random seed.
    #[arg(long, default_value_t = 19)]
    pub seed: u64,
}

impl Default for BenchSurgeArgs {
    fn default() -> BenchSurgeArgs {
        BenchSurgeArgs {
            data_dir: PathBuf::from("../shared/data"),
            categories: 8,
            streets: 12,
            city_per_day: 400.0,
            days: 365,
            surges: 150,
            surge_sigma: 4.0,
            surge_days: 3,
            noise: 0.15,
            alpha: 0.001,
            seed: 19,
        }
    }
}

/// The figures of one rule.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleFigures {
    /// Share of surges with an alarm on their first or second day.
    pub detected_in_two_days: f64,
    /// Share of surges with an alarm on any of their days.
    pub detected: f64,
    /// Median days from a surge's start to its first alarm, over the surges detected.
    pub median_delay: f64,
    /// False alarms per 1,000 category-street-days outside surges.
    pub false_alarms_per_1000: f64,
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct SurgeBenchResult {
    pub detector: RuleFigures,
    pub fixed: RuleFigures,
    pub surges: usize,
    pub quiet_cell_days: usize,
}

struct Surge {
    cell: usize,
    start: i64,
}

/// Reads event times from the real files that exist under `data_dir`: (source, times).
fn real_timestamps(data_dir: &Path) -> anyhow::Result<Vec<(String, Vec<i64>)>> {
    let mut sources = Vec::new();
    let files = [
        ("tipdm2020c/hotspot_messages_附件3.csv", "留言时间"),
        ("nyc311/tuplex_311_subset_micro_2000.csv", "Created Date"),
        (
            "nyc311/data237_311_illegal_animals_5895.csv",
            "Created Date",
        ),
    ];
    for (file, column) in files {
        let path = data_dir.join(file);
        if !path.is_file() {
            continue;
        }
        let table = read_table(&path)?;
        let Some(c) = table.column(column) else {
            continue;
        };
        let times: Vec<i64> = (0..table.rows.len())
            .filter_map(|row| parse_any_time(table.cell(row, c)))
            .collect();
        if !times.is_empty() {
            sources.push((file.to_owned(), times));
        }
    }
    if sources.is_empty() {
        bail!(
            "no timestamp files under {} (the shared data folder sits next to the repository; pass --data-dir)",
            data_dir.display()
        );
    }
    Ok(sources)
}

/// Parses the Chinese formats of [`parse_time`] and New York's `MM/DD/YYYY hh:mm:ss AM`.
fn parse_any_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(' ').unwrap_or((text, ""));
    let parts: Vec<&str> = date.split('/').collect();
    if parts.len() == 3 && parts[2].len() == 4 {
        let (month, day, year) = (
            parts[0].parse::<u32>().ok()?,
            parts[1].parse::<u32>().ok()?,
            parts[2].parse::<i64>().ok()?,
        );
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        let mut seconds = 0i64;
        let (clock, half) = rest.split_once(' ').unwrap_or((rest, ""));
        let fields: Vec<i64> = clock.split(':').filter_map(|p| p.parse().ok()).collect();
        if let [hour, minute, ..] = fields[..] {
            let hour = match (half, hour) {
                ("PM", h) if h < 12 => h + 12,
                ("AM", 12) => 0,
                (_, h) => h,
            };
            seconds = hour * 3600 + minute * 60;
        }
        return Some(days_from_civil(year, month, day) * DAY + seconds);
    }
    parse_time(text)
}

fn uniform(rng: &mut SplitMix64) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

fn normal(rng: &mut SplitMix64) -> f64 {
    let (u, v) = (uniform(rng), uniform(rng));
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn poisson(rng: &mut SplitMix64, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 40.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let limit = (-lambda).exp();
    let (mut k, mut product) = (0u32, uniform(rng));
    while product > limit {
        k += 1;
        product *= uniform(rng);
    }
    k
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Runs the benchmark and returns its figures (the command prints them).
pub fn simulate(args: &BenchSurgeArgs, seasonality: &Seasonality) -> SurgeBenchResult {
    let mut rng = SplitMix64::new(args.seed);
    let categories = args.categories.clamp(1, 100);
    let streets = args.streets.clamp(1, 500);
    let days = args.days.clamp(60, 3 * 365);
    let options = SurgeOptions {
        alpha: args.alpha.clamp(1e-9, 0.5),
        ..SurgeOptions::default()
    };
    let warmup = i64::from(options.warmup_days);
    let first_day = days_from_civil(2021, 1, 1);
    // Category shares fall off like 1/k; street shares vary by a factor of three.
    let category_share: Vec<f64> = (0..categories).map(|k| 1.0 / (k as f64 + 1.0)).collect();
    let category_total: f64 = category_share.iter().sum();
    let street_share: Vec<f64> = (0..streets).map(|_| 0.5 + uniform(&mut rng)).collect();
    let street_total: f64 = street_share.iter().sum();
    let cells = categories * streets;
    let base: Vec<f64> = (0..cells)
        .map(|cell| {
            args.city_per_day.max(0.0) * category_share[cell / streets] / category_total
                * street_share[cell % streets]
                / street_total
        })
        .collect();

    // Surges: a random cell and start, at least two weeks apart in one cell.
    let surge_days = args.surge_days.clamp(1, 14);
    let mut surges: Vec<Surge> = Vec::new();
    let mut attempts = 0;
    while surges.len() < args.surges.min(cells * 8) && attempts < 100_000 {
        attempts += 1;
        let cell = rng.below(cells);
        let start =
            warmup + 14 + rng.below((days - warmup - 14 - surge_days).max(1) as usize) as i64;
        if surges
            .iter()
            .any(|s| s.cell == cell && (s.start - start).abs() < 14 + surge_days)
        {
            continue;
        }
        surges.push(Surge { cell, start });
    }

    let mut detector_first: Vec<Option<i64>> = vec![None; surges.len()];
    let mut fixed_first: Vec<Option<i64>> = vec![None; surges.len()];
    let (mut detector_false, mut fixed_false, mut quiet) = (0usize, 0usize, 0usize);
    for (cell, &cell_base) in base.iter().enumerate() {
        let mut counts: Vec<u32> = Vec::with_capacity(days as usize);
        let mut background_total = 0u64;
        let cell_surges: Vec<usize> = (0..surges.len())
            .filter(|&s| surges[s].cell == cell)
            .collect();
        for day in 0..days {
            let expected = cell_base * seasonality.factor(first_day + day);
            let noise = (args.noise * normal(&mut rng) - args.noise * args.noise / 2.0).exp();
            let background = poisson(&mut rng, expected * noise);
            background_total += u64::from(background);
            let extra: u32 = cell_surges
                .iter()
                .filter(|&&s| (surges[s].start..surges[s].start + surge_days).contains(&day))
                .map(|_| ((args.surge_sigma * expected.sqrt()).ceil() as u32).max(3))
                .sum();
            counts.push(background + extra);
        }
        // The peer rule gets the cell's true background mean over the whole year: hindsight in its favour.
        let fixed = FixedThreshold::for_mean(background_total as f64 / days as f64);
        let mut detector = SurgeDetector::new(options);
        for day in 0..days {
            let count = counts[day as usize];
            let detector_alarm = detector
                .observe(count, seasonality.factor(first_day + day))
                .is_some();
            let fixed_alarm = fixed.alarms(count);
            if day < warmup {
                continue;
            }
            let in_surge = cell_surges
                .iter()
                .find(|&&s| (surges[s].start..surges[s].start + surge_days + 3).contains(&day));
            match in_surge {
                Some(&s) => {
                    let during = day < surges[s].start + surge_days;
                    if during && detector_alarm && detector_first[s].is_none() {
                        detector_first[s] = Some(day - surges[s].start);
                    }
                    if during && fixed_alarm && fixed_first[s].is_none() {
                        fixed_first[s] = Some(day - surges[s].start);
                    }
                }
                None => {
                    quiet += 1;
                    detector_false += usize::from(detector_alarm);
                    fixed_false += usize::from(fixed_alarm);
                }
            }
        }
    }
    let figures = |first: &[Option<i64>], false_alarms: usize| {
        let n = first.len().max(1) as f64;
        let mut delays: Vec<f64> = first.iter().flatten().map(|&d| d as f64).collect();
        RuleFigures {
            detected_in_two_days: first.iter().filter(|d| d.is_some_and(|d| d <= 1)).count() as f64
                / n,
            detected: delays.len() as f64 / n,
            median_delay: median(&mut delays),
            false_alarms_per_1000: 1000.0 * false_alarms as f64 / quiet.max(1) as f64,
        }
    };
    SurgeBenchResult {
        detector: figures(&detector_first, detector_false),
        fixed: figures(&fixed_first, fixed_false),
        surges: surges.len(),
        quiet_cell_days: quiet,
    }
}

/// Fits the profile from the real timestamps: weekday from every source spanning four weeks, month from every
/// source spanning a year, each source weighing the same.
pub fn fit_profile(data_dir: &Path) -> anyhow::Result<(Seasonality, Vec<String>)> {
    let sources = real_timestamps(data_dir)?;
    let mut weekday_parts = Vec::new();
    let mut month_parts = Vec::new();
    let mut notes = Vec::new();
    for (name, times) in &sources {
        let fitted = Seasonality::fit(times);
        let span = (times.iter().max().unwrap_or(&0) - times.iter().min().unwrap_or(&0)) / DAY + 1;
        let mut days: Vec<i64> = times.iter().map(|t| t.div_euclid(DAY)).collect();
        days.sort_unstable();
        days.dedup();
        let mut used = Vec::new();
        if fitted.weekday != [1.0; 7] {
            weekday_parts.push((fitted.clone(), 1.0));
            used.push("weekday");
        }
        if fitted.month != [1.0; 12] {
            month_parts.push((fitted, 1.0));
            used.push("month");
        }
        notes.push(format!(
            "{name}: {} times on {} of {span} days → {}",
            times.len(),
            days.len(),
            if used.is_empty() {
                "not used (too few days)".to_owned()
            } else {
                used.join(" + ")
            }
        ));
    }
    let weekday = Seasonality::blend(&weekday_parts).weekday;
    let month = Seasonality::blend(&month_parts).month;
    Ok((Seasonality { weekday, month }, notes))
}

/// Runs `urbis bench surge` and prints the comparison.
pub fn run_bench_surge(args: &BenchSurgeArgs) -> anyhow::Result<SurgeBenchResult> {
    let (seasonality, notes) = fit_profile(&args.data_dir)?;
    println!("profile fitted from real timestamps:");
    for note in notes {
        println!("  {note}");
    }
    let show = |values: &[f64]| {
        values
            .iter()
            .map(|v| format!("{v:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("  weekday Mon..Sun  {}", show(&seasonality.weekday));
    println!("  month   Jan..Dec  {}", show(&seasonality.month));
    let started = std::time::Instant::now();
    let result = simulate(args, &seasonality);
    println!(
        "city: {} categories × {} streets, {:.0} appeals/day, {} days; {} surges of ⌈{}·√λ⌉ (≥3) extra appeals a day for {} days; noise σ={}",
        args.categories,
        args.streets,
        args.city_per_day,
        args.days,
        result.surges,
        args.surge_sigma,
        args.surge_days,
        args.noise
    );
    println!(
        "detector: EWMA level × weekday × month factor, Poisson tail < {} on one day or two days, min count 3",
        args.alpha
    );
    println!(
        "fixed rule: count ≥ max(3, ⌈m + 3√m⌉), m = the cell's mean background count over the whole year"
    );
    println!(
        "{:<28} {:>14} {:>14} {:>13} {:>22}",
        "rule", "≤2 days", "during surge", "median delay", "false alarms/1000 c-d"
    );
    for (name, figures) in [
        ("Poisson/EWMA + seasonality", &result.detector),
        ("fixed threshold", &result.fixed),
    ] {
        println!(
            "{:<28} {:>13.1}% {:>13.1}% {:>11.1} d {:>22.2}",
            name,
            100.0 * figures.detected_in_two_days,
            100.0 * figures.detected,
            figures.median_delay,
            figures.false_alarms_per_1000
        );
    }
    println!(
        "({} quiet category-street-days after the {}-day warm-up; {:.1} s)",
        result.quiet_cell_days,
        SurgeOptions::default().warmup_days,
        started.elapsed().as_secs_f64()
    );
    Ok(result)
}
