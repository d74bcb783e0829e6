//! 民情 insight on the live store: surge warnings per category × area (street by default) and hot spots among
//! recent cases, both in the caller's scope. The algorithms are `urbis_text::insight`; this module only reads
//! the store and shapes the answer.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use urbis_domain::role::Actor;
use urbis_storage::{insight as repo, reference};
use urbis_text::insight::{
    Appeal, DAY, Seasonality, SurgeDetector, SurgeOptions, TopicOptions, find_topics,
};
use urbis_text::segment::Segmenter;

use crate::{Result, ServiceError, Services};

/// Days of history the surge detector reads.
const SURGE_WINDOW_DAYS: u64 = 120;
/// Most recent cases the hot-spot finder reads.
const HOTSPOT_CASES: i64 = 3_000;

/// A surge: a category in an area whose count today or yesterday is above what its history predicts.
#[derive(Clone, Debug, PartialEq)]
pub struct SurgeAlertView {
    pub category_id: Option<i64>,
    pub category_name: String,
    pub area_id: i64,
    pub area_name: String,
    pub day: String,
    pub observed: u32,
    pub expected: f64,
    pub p_value: f64,
    /// 1: one-day test; 2: the day and the one before together.
    pub days: u8,
}

/// A hot spot among recent cases.
#[derive(Clone, Debug, PartialEq)]
pub struct HotspotView {
    pub label: String,
    pub terms: Vec<String>,
    pub place: Option<String>,
    pub heat: f64,
    pub case_ids: Vec<i64>,
    pub reporters: usize,
    pub support: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub negative: f64,
    pub urgent: f64,
    pub repeated: f64,
    /// Share of the rated cases rated dissatisfied (`None` when none was rated).
    pub dissatisfied: Option<f64>,
}

fn day_number(day: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    Some((date - NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days())
}

impl Services {
    /// Returns the current surge alerts per category × area of `level` (default street) in the scope.
    pub async fn surge_alerts(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
        level: Option<&str>,
    ) -> Result<Vec<SurgeAlertView>> {
        let path = self.scope_path(actor, area_id).await?;
        let level = level.unwrap_or("street");
        if !["district", "street", "community", "grid"].contains(&level) {
            return Err(ServiceError::invalid(
                "invalid_area_level",
                "level is district, street, community or grid",
            ));
        }
        let today = self.local_day(self.now());
        let today_n = day_number(&today).ok_or_else(ServiceError::internal)?;
        let first_day = NaiveDate::parse_from_str(&today, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.checked_sub_days(Days::new(SURGE_WINDOW_DAYS - 1)))
            .ok_or_else(ServiceError::internal)?;
        let from = self.from_local(first_day.and_time(chrono::NaiveTime::MIN));
        let mut conn = self.db().read().await?;
        let counts = repo::daily_counts(&mut conn, &path, from).await?;
        let areas = reference::list_areas(&mut conn).await?;
        let categories: HashMap<i64, String> = reference::list_categories(&mut conn)
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        drop(conn);
        let units: Vec<&reference::AreaRow> = areas
            .iter()
            .filter(|a| {
                a.level.as_str() == level
                    && (a.path.starts_with(&path) || path.starts_with(&a.path))
            })
            .collect();
        // Series per (category, unit): day → count; and the scope's own times for the weekday profile.
        let mut series: BTreeMap<(Option<i64>, i64), BTreeMap<i64, u32>> = BTreeMap::new();
        let mut times: Vec<i64> = Vec::new();
        for row in counts.iter().filter(|r| r.area_path.starts_with(&path)) {
            let (Some(day), Some(unit)) = (
                day_number(&row.day),
                units.iter().find(|u| row.area_path.starts_with(&u.path)),
            ) else {
                continue;
            };
            let n = u32::try_from(row.n).unwrap_or(u32::MAX);
            *series
                .entry((row.category_id, unit.id))
                .or_default()
                .entry(day)
                .or_default() += n;
            times.extend(std::iter::repeat_n(day * DAY, n.min(10_000) as usize));
        }
        let seasonality = Seasonality::fit(&times);
        let first_n = today_n - SURGE_WINDOW_DAYS as i64 + 1;
        let mut alerts = Vec::new();
        for ((category_id, unit_id), days) in &series {
            let mut detector = SurgeDetector::new(SurgeOptions::default());
            for day in first_n..=today_n {
                let count = days.get(&day).copied().unwrap_or(0);
                let alert = detector.observe(count, seasonality.factor(day));
                if let Some(alert) = alert.filter(|_| day >= today_n - 1) {
                    let date = NaiveDate::from_ymd_opt(1970, 1, 1)
                        .and_then(|d| d.checked_add_days(Days::new(day as u64)))
                        .map(|d| d.format("%Y-%m-%d").to_string())
                        .unwrap_or_default();
                    alerts.push(SurgeAlertView {
                        category_id: *category_id,
                        category_name: category_id
                            .and_then(|c| categories.get(&c).cloned())
                            .unwrap_or_default(),
                        area_id: *unit_id,
                        area_name: units
                            .iter()
                            .find(|u| u.id == *unit_id)
                            .map(|u| u.name.clone())
                            .unwrap_or_default(),
                        day: date,
                        observed: alert.observed,
                        expected: (alert.expected * 100.0).round() / 100.0,
                        p_value: alert.p_value,
                        days: alert.days,
                    });
                }
            }
        }
        alerts.sort_by(|a, b| a.p_value.total_cmp(&b.p_value));
        Ok(alerts)
    }

    /// Returns the hottest topics among the cases opened in the last `days` days in the scope.
    pub async fn hotspots(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
        days: u32,
        top: usize,
    ) -> Result<Vec<HotspotView>> {
        if !(1..=365).contains(&days) || !(1..=50).contains(&top) {
            return Err(ServiceError::invalid(
                "invalid_window",
                "days is 1–365 and top 1–50",
            ));
        }
        let path = self.scope_path(actor, area_id).await?;
        let now = self.now();
        let from = now - chrono::Duration::days(i64::from(days));
        let mut conn = self.db().read().await?;
        let rows = repo::recent_texts(&mut conn, &path, from, HOTSPOT_CASES).await?;
        drop(conn);
        // Local wall-clock seconds, so that days are cut at local midnight.
        let offset = |t: DateTime<Utc>| self.to_local(t).and_utc().timestamp();
        let appeals: Vec<Appeal> = rows
            .iter()
            .map(|r| Appeal {
                title: r.title.clone(),
                text: r.text.clone(),
                reporter: r.reporter.clone(),
                time: offset(r.created_at),
                likes: u32::try_from(r.reporter_count.saturating_sub(1)).unwrap_or(0),
            })
            .collect();
        let options = TopicOptions {
            as_of: offset(now),
            growth_days: i64::from(days.div_ceil(2)),
            ..TopicOptions::default()
        };
        let topics = tokio::task::spawn_blocking(move || {
            find_topics(&appeals, Segmenter::shared_default(), &options)
        })
        .await
        .map_err(|_| ServiceError::internal())?;
        Ok(topics
            .into_iter()
            .take(top)
            .map(|t| {
                let mut case_ids: Vec<i64> = t.members.iter().map(|&i| rows[i].id).collect();
                case_ids.sort_unstable();
                let times: Vec<DateTime<Utc>> =
                    t.members.iter().map(|&i| rows[i].created_at).collect();
                let rated = t.members.iter().filter(|&&i| rows[i].rated).count();
                let dissatisfied = t.members.iter().filter(|&&i| rows[i].dissatisfied).count();
                HotspotView {
                    label: t.label(),
                    terms: t.terms.clone(),
                    place: t.place.clone(),
                    heat: (t.heat.index * 10.0).round() / 10.0,
                    reporters: t.reporters,
                    support: t.likes,
                    first: times.iter().min().copied().unwrap_or(now),
                    last: times.iter().max().copied().unwrap_or(now),
                    negative: t.attitude.negative,
                    urgent: t.attitude.urgent,
                    repeated: t.attitude.repeated,
                    dissatisfied: (rated > 0).then(|| dissatisfied as f64 / rated as f64),
                    case_ids,
                }
            })
            .collect())
    }
}
