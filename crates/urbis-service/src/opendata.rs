//! Open data (数据开放): de-identified datasets generated from the store, published as versioned
//! releases (row count, suppressed count, k, SHA-256 of the content), and read publicly through
//! the CKAN-compatible API (`urbis-http`'s `ckan`), DCAT metadata and CSV/XLSX downloads.
//!
//! De-identification, for every dataset: no personal field is ever read for it (reporter names
//! and phone numbers are not selected), free text goes through `urbis_text::pii::mask` and loses
//! the case's reported address, places are no finer than the unit grid (its centre, never the
//! case's own point), and small groups are generalised, then suppressed: a record whose (month,
//! category, grid) group has fewer than k records moves up to its community, street, district in
//! turn, and one still below k at the district is left out and counted as suppressed (count
//! cells start at the community and follow the same ladder).
//! A dataset is published only while its catalogue resource is 无条件开放.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};
use urbis_domain::role::{Actor, Role};
use urbis_storage::JsonText;
use urbis_storage::opendata::{self as repo, NewRelease, ReleaseHead, ReleaseRow};
use urbis_storage::sharing as catalogue;
use urbis_storage::sharing_sources::{self as src, AreaBrief};

use crate::{ErrorKind, Result, ServiceError, Services};

/// Smallest group that is published (k-anonymity of the record dataset, cell suppression of
/// the counts).
pub const DEFAULT_K: i64 = 5;
/// How old the newest release may grow before the worker generates the datasets again.
pub const REFRESH_HOURS: i64 = 24;
/// Most records one datastore search returns (CKAN's own limit is 32,000).
pub const SEARCH_LIMIT_MAX: usize = 1_000;

/// An open dataset: what it is called, where it comes from, its columns (name, CKAN type,
/// Chinese title).
#[derive(Debug, Clone, Copy)]
pub struct OpenDataset {
    pub name: &'static str,
    pub title: &'static str,
    pub notes: &'static str,
    /// The catalogue resource it is derived from; published only while that is 无条件开放.
    pub resource: &'static str,
    pub tags: &'static [&'static str],
    pub columns: &'static [(&'static str, &'static str, &'static str)],
}

/// Every open dataset Urbis generates.
pub const DATASETS: &[OpenDataset] = &[
    OpenDataset {
        name: "case-counts",
        title: "案件数量（按月、社区、类别）",
        notes: "每月各社区各类别的受理数和结案数；不足 k 件的格子并入街道、再并入区，仍不足 k 的不发布。",
        resource: "case_counts",
        tags: &["城市管理", "诉求", "统计"],
        columns: &[
            ("month", "text", "受理月份"),
            ("area_code", "text", "区域编码"),
            ("area_name", "text", "区域名称"),
            ("area_level", "text", "区域层级（社区、街道、区）"),
            ("category_code", "text", "类别编码"),
            ("category_name", "text", "类别名称"),
            ("reported", "int", "受理数"),
            ("closed", "int", "结案数"),
        ],
    },
    OpenDataset {
        name: "case-records",
        title: "案件脱敏明细",
        notes: "案件的月份、类别、所在单元网格（同月同类不足 k 件时依次并入社区、街道、区）及其中心点、状态和遮蔽个人信息后的诉求内容；到区仍不足 k 件的记录不发布。",
        resource: "case_open_records",
        tags: &["城市管理", "诉求", "明细"],
        columns: &[
            ("month", "text", "受理月份"),
            ("category_code", "text", "类别编码"),
            ("category_name", "text", "类别名称"),
            ("area_code", "text", "所在区域编码（单元网格，或更粗一级）"),
            ("area_level", "text", "区域层级（网格、社区、街道、区）"),
            ("center_lat", "numeric", "区域中心纬度"),
            ("center_lon", "numeric", "区域中心经度"),
            ("state", "text", "状态"),
            ("text", "text", "诉求内容（已遮蔽）"),
        ],
    },
    OpenDataset {
        name: "grids",
        title: "单元网格",
        notes: "单元网格的编码、名称、所属社区和中心点。",
        resource: "grids",
        tags: &["网格化", "地理"],
        columns: &[
            ("code", "text", "网格编码"),
            ("name", "text", "网格名称"),
            ("parent_code", "text", "所属社区编码"),
            ("center_lat", "numeric", "中心点纬度"),
            ("center_lon", "numeric", "中心点经度"),
        ],
    },
];

/// Returns the dataset with this name (or its resource id `{name}-data`).
pub fn dataset(name: &str) -> Option<&'static OpenDataset> {
    let name = name.strip_suffix("-data").unwrap_or(name);
    DATASETS.iter().find(|d| d.name == name)
}

/// One case as the open datasets see it: no reporter, no point, masked text.
struct CaseItem {
    month: String,
    category_code: String,
    category_name: String,
    /// Area ids from the finest (the unit grid, or the case's own area) to the district.
    chain: Vec<i64>,
    closed: bool,
    state: String,
    text: String,
}

/// Places each item at the finest level of its place chain where its group (same key, same
/// place) holds at least `k` items: groups below k at one level move up one level and are
/// grouped again there; what is still below k at the top is suppressed. Returns the groups
/// (key, place, members) and how many items were suppressed.
fn generalize<K: Ord + Clone, T>(
    items: Vec<(K, Vec<i64>, T)>,
    k: usize,
) -> (Vec<(K, i64, Vec<T>)>, usize) {
    let mut out = Vec::new();
    let mut pending: Vec<(K, Vec<i64>, T)> = items;
    let depth = pending.iter().map(|i| i.1.len()).max().unwrap_or(0);
    for level in 0..depth {
        let mut groups: BTreeMap<(K, i64), Vec<(Vec<i64>, T)>> = BTreeMap::new();
        for (key, chain, item) in pending.drain(..) {
            let Some(place) = chain.get(level).or(chain.last()).copied() else {
                continue;
            };
            groups.entry((key, place)).or_default().push((chain, item));
        }
        for ((key, place), members) in groups {
            if members.len() >= k {
                out.push((key, place, members.into_iter().map(|m| m.1).collect()));
            } else {
                pending.extend(
                    members
                        .into_iter()
                        .map(|(chain, item)| (key.clone(), chain, item)),
                );
            }
        }
    }
    let suppressed = pending.len();
    (out, suppressed)
}

/// A published dataset: its definition and newest release.
#[derive(Debug, Clone)]
pub struct Published {
    pub dataset: &'static OpenDataset,
    pub head: ReleaseHead,
}

/// What one generation did for one dataset.
#[derive(Debug, Clone)]
pub struct Generated {
    pub dataset: &'static str,
    pub version: i64,
    pub rows: i64,
    pub suppressed: i64,
    pub content_hash: String,
    /// False when the content equalled the newest release (no new version).
    pub new_version: bool,
}

/// A datastore search.
#[derive(Debug, Clone, Default)]
pub struct DatastoreQuery {
    pub resource_id: String,
    /// Column → accepted values (equality).
    pub filters: BTreeMap<String, Vec<serde_json::Value>>,
    /// Substring searched in the text columns.
    pub q: Option<String>,
    pub fields: Vec<String>,
    /// (column, descending).
    pub sort: Vec<(String, bool)>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// A datastore answer: columns, the page of records (with `_id`), and the total that matched.
#[derive(Debug, Clone)]
pub struct DatastorePage {
    pub dataset: &'static OpenDataset,
    pub fields: Vec<(String, String)>,
    pub records: Vec<serde_json::Map<String, serde_json::Value>>,
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

type Record = serde_json::Map<String, serde_json::Value>;

/// Parsed releases by content hash (equal hashes are equal contents, whichever store they came
/// from), so searches do not parse the release's JSON again; the last few are kept.
type CachedRecords = (String, std::sync::Arc<Vec<Record>>);
static RECORD_CACHE: std::sync::Mutex<Vec<CachedRecords>> = std::sync::Mutex::new(Vec::new());
const RECORD_CACHE_ENTRIES: usize = 6;

fn cached_records(content_hash: &str) -> Option<std::sync::Arc<Vec<Record>>> {
    let cache = RECORD_CACHE.lock().unwrap_or_else(|p| p.into_inner());
    cache
        .iter()
        .find(|(hash, _)| hash == content_hash)
        .map(|(_, records)| records.clone())
}

fn remember_records(content_hash: &str, records: Vec<Record>) -> std::sync::Arc<Vec<Record>> {
    let records = std::sync::Arc::new(records);
    let mut cache = RECORD_CACHE.lock().unwrap_or_else(|p| p.into_inner());
    cache.retain(|(hash, _)| hash != content_hash);
    if cache.len() >= RECORD_CACHE_ENTRIES {
        cache.remove(0);
    }
    cache.push((content_hash.to_owned(), records.clone()));
    records
}

/// The rows of a release as objects keyed by column.
pub(crate) fn release_records(release: &ReleaseRow) -> Vec<Record> {
    let columns: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&release.columns)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_str(&release.rows).unwrap_or_default();
    rows.into_iter()
        .map(|row| columns.iter().cloned().zip(row).collect())
        .collect()
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::invalid("ckan_validation", message)
}

pub(crate) fn round(value: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (value * f).round() / f
}

/// The area of `level` on the path of `area` (its own row when it is coarser).
fn ancestor_at<'a>(
    areas: &'a HashMap<i64, AreaBrief>,
    area: &'a AreaBrief,
    level: &str,
) -> &'a AreaBrief {
    if area.level == level {
        return area;
    }
    area.path
        .split('/')
        .filter_map(|id| id.parse::<i64>().ok())
        .filter_map(|id| areas.get(&id))
        .find(|a| a.level == level)
        .unwrap_or(area)
}

/// Free text for the public: the reported address taken out, then the personal-data masker.
fn public_text(text: &str, address: &str) -> String {
    let mut text = text.to_owned();
    if address.chars().count() >= 4 {
        text = text.replace(address, "[地址]");
    }
    urbis_text::pii::mask(&text)
}

impl Services {
    fn require_publisher(actor: &Actor) -> Result<()> {
        match (actor.role, actor.dept_id) {
            (Role::Admin, _) | (Role::DataOfficer, None) => Ok(()),
            _ => Err(ServiceError::forbidden(
                "the platform's data officers publish open data",
            )),
        }
    }

    /// Generates every open dataset whose resource is 无条件开放 and stores a new release of each
    /// whose content changed; audited. `actor` is `None` for the scheduled run.
    pub async fn publish_open_data(&self, actor: Option<&Actor>, k: i64) -> Result<Vec<Generated>> {
        if let Some(actor) = actor {
            Self::require_publisher(actor)?;
        }
        if !(2..=100).contains(&k) {
            return Err(ServiceError::invalid("invalid_field", "k: 2 to 100"));
        }
        let mut conn = self.db().read().await?;
        // Only datasets whose resource is open are generated; with none, nothing is read.
        let mut opened = Vec::new();
        for def in DATASETS {
            let resource = catalogue::get_resource_by_code(&mut conn, def.resource).await?;
            if resource.opening_type == "unconditional" {
                opened.push(def.name);
            }
        }
        if opened.is_empty() {
            return Ok(Vec::new());
        }
        let areas: HashMap<i64, AreaBrief> = src::areas_brief(&mut conn)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        // Each case as (month, category) with its chain of places from the grid upwards.
        let mut cases: Vec<CaseItem> = Vec::new();
        let mut after = 0;
        loop {
            let page = src::open_case_source(&mut conn, after, 5_000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for case in page {
                let Some(area) = areas.get(&case.area_id) else {
                    continue;
                };
                let chain: Vec<i64> = ["grid", "community", "street", "district"]
                    .iter()
                    .map(|level| ancestor_at(&areas, area, level))
                    .filter(|a| a.level != "city")
                    .map(|a| a.id)
                    .collect();
                cases.push(CaseItem {
                    month: case.day.chars().take(7).collect(),
                    category_code: case.category_code.unwrap_or_default(),
                    category_name: case.category_name.unwrap_or_default(),
                    chain,
                    closed: case.closed,
                    state: case.state,
                    text: public_text(&case.text, &case.address),
                });
            }
        }
        let k_usize = usize::try_from(k).unwrap_or(5);
        let mut tables: Vec<(&'static str, Vec<Vec<serde_json::Value>>, i64)> = Vec::new();
        // Counts per (month, category) start at the community (the grid is too fine for counts).
        let count_items = cases
            .iter()
            .map(|c| {
                let chain = c.chain.iter().skip(1).copied().collect::<Vec<_>>();
                let chain = if chain.is_empty() {
                    c.chain.clone()
                } else {
                    chain
                };
                (
                    (
                        c.month.clone(),
                        c.category_code.clone(),
                        c.category_name.clone(),
                    ),
                    chain,
                    c,
                )
            })
            .collect();
        let (groups, suppressed) = generalize(count_items, k_usize);
        let rows = groups
            .into_iter()
            .map(|((month, cat_code, cat_name), place, members)| {
                let area = &areas[&place];
                vec![
                    month.into(),
                    area.code.clone().into(),
                    area.name.clone().into(),
                    area.level.clone().into(),
                    cat_code.into(),
                    cat_name.into(),
                    (members.len() as i64).into(),
                    (members.iter().filter(|c| c.closed).count() as i64).into(),
                ]
            })
            .collect();
        tables.push(("case-counts", rows, suppressed as i64));
        let record_items = cases
            .iter()
            .map(|c| {
                (
                    (
                        c.month.clone(),
                        c.category_code.clone(),
                        c.category_name.clone(),
                    ),
                    c.chain.clone(),
                    c,
                )
            })
            .collect();
        let (groups, suppressed) = generalize(record_items, k_usize);
        let mut rows = Vec::new();
        for ((month, cat_code, cat_name), place, members) in groups {
            let area = &areas[&place];
            for case in members {
                rows.push(vec![
                    month.clone().into(),
                    cat_code.clone().into(),
                    cat_name.clone().into(),
                    area.code.clone().into(),
                    area.level.clone().into(),
                    area.center_lat.map(|v| round(v, 5)).into(),
                    area.center_lon.map(|v| round(v, 5)).into(),
                    case.state.clone().into(),
                    case.text.clone().into(),
                ]);
            }
        }
        tables.push(("case-records", rows, suppressed as i64));
        let grid_rows = src::grids(&mut conn, None, 1_000_000, 0)
            .await?
            .into_iter()
            .map(|g| {
                vec![
                    g.code.into(),
                    g.name.into(),
                    g.parent_code.into(),
                    g.center_lat.map(|v| round(v, 6)).into(),
                    g.center_lon.map(|v| round(v, 6)).into(),
                ]
            })
            .collect();
        tables.push(("grids", grid_rows, 0));
        drop(conn);

        let now = self.now();
        let mut out = Vec::new();
        let mut tx = self.db().begin_write().await?;
        for (name, rows, suppressed) in tables {
            if !opened.contains(&name) {
                continue;
            }
            let def = dataset(name).ok_or_else(ServiceError::internal)?;
            let columns: Vec<serde_json::Value> = def
                .columns
                .iter()
                .map(|(id, ty, title)| serde_json::json!({"id": id, "type": ty, "title": title}))
                .collect();
            let columns = serde_json::Value::Array(columns).to_string();
            let rows_text = serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into());
            let mut hasher = Sha256::new();
            hasher.update(columns.as_bytes());
            hasher.update([0x1e]);
            hasher.update(rows_text.as_bytes());
            let content_hash = hex::encode(hasher.finalize());
            let previous = repo::heads_of(&mut tx, name).await?;
            if let Some(last) = previous.first()
                && last.content_hash == content_hash
            {
                out.push(Generated {
                    dataset: name,
                    version: last.version,
                    rows: last.row_count,
                    suppressed: last.suppressed,
                    content_hash,
                    new_version: false,
                });
                continue;
            }
            let version = previous.first().map_or(1, |h| h.version + 1);
            let id = repo::insert_release(
                &mut tx,
                &NewRelease {
                    dataset: name,
                    version,
                    row_count: rows.len() as i64,
                    suppressed,
                    k,
                    content_hash: &content_hash,
                    columns: JsonText(columns),
                    rows: JsonText(rows_text),
                    created_at: now,
                },
            )
            .await?;
            crate::audit::record(
                &mut tx,
                now,
                actor,
                "open_release",
                "open_release",
                id,
                "",
                "published",
                &serde_json::json!({
                    "dataset": name, "version": version, "rows": rows.len(),
                    "suppressed": suppressed, "k": k, "content_hash": content_hash,
                }),
            )
            .await?;
            out.push(Generated {
                dataset: name,
                version,
                rows: rows.len() as i64,
                suppressed,
                content_hash,
                new_version: true,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Regenerates the open datasets when neither the newest release nor the last generation is
    /// younger than [`REFRESH_HOURS`]; run by the SLA worker. A generation whose content did not
    /// change stores no release, so the time of the last one is kept here as well: without it an
    /// unchanged city would be regenerated on every worker round.
    pub async fn open_data_tick(&self, now: chrono::DateTime<chrono::Utc>) -> Result<bool> {
        let last_generated = *self
            .inner
            .open_data_generated
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let heads = {
            let mut conn = self.db().read().await?;
            repo::latest_heads(&mut conn).await?
        };
        let fresh = heads
            .iter()
            .map(|h| h.created_at)
            .chain(last_generated)
            .max()
            .is_some_and(|at| now - at < chrono::Duration::hours(REFRESH_HOURS));
        if fresh {
            return Ok(false);
        }
        *self
            .inner
            .open_data_generated
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(now);
        self.publish_open_data(None, DEFAULT_K).await?;
        Ok(true)
    }

    /// The published open datasets (public), by name.
    pub async fn open_datasets(&self) -> Result<Vec<Published>> {
        let mut conn = self.db().read().await?;
        let heads = repo::latest_heads(&mut conn).await?;
        let mut out = Vec::new();
        for def in DATASETS {
            let resource = catalogue::get_resource_by_code(&mut conn, def.resource).await?;
            if resource.opening_type != "unconditional" {
                continue;
            }
            if let Some(head) = heads.iter().find(|h| h.dataset == def.name) {
                out.push(Published {
                    dataset: def,
                    head: head.clone(),
                });
            }
        }
        Ok(out)
    }

    /// One published dataset (public); unknown or unpublished ones are not found.
    pub async fn open_dataset(&self, name: &str) -> Result<Published> {
        self.open_datasets()
            .await?
            .into_iter()
            .find(|p| Some(p.dataset.name) == dataset(name).map(|d| d.name))
            .ok_or_else(|| ServiceError::new(ErrorKind::NotFound, "not_found", "dataset not found"))
    }

    /// The versions of a published dataset, newest first (public).
    pub async fn open_dataset_versions(&self, name: &str) -> Result<Vec<ReleaseHead>> {
        let published = self.open_dataset(name).await?;
        let mut conn = self.db().read().await?;
        Ok(repo::heads_of(&mut conn, published.dataset.name).await?)
    }

    /// A release's columns and rows (public): the newest, or the given version.
    pub async fn open_release(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<(&'static OpenDataset, ReleaseRow)> {
        let published = self.open_dataset(name).await?;
        let mut conn = self.db().read().await?;
        let release = repo::release(&mut conn, published.dataset.name, version)
            .await?
            .ok_or_else(|| {
                ServiceError::new(ErrorKind::NotFound, "not_found", "version not found")
            })?;
        Ok((published.dataset, release))
    }

    /// CKAN's `datastore_search` over the newest release of a dataset (public).
    pub async fn datastore_search(&self, query: &DatastoreQuery) -> Result<DatastorePage> {
        let published = self.open_dataset(&query.resource_id).await?;
        let def = published.dataset;
        let all = match cached_records(&published.head.content_hash) {
            Some(records) => records,
            None => {
                let (_, release) = self
                    .open_release(def.name, Some(published.head.version))
                    .await?;
                remember_records(&release.content_hash, release_records(&release))
            }
        };
        let columns: Vec<&str> = def.columns.iter().map(|c| c.0).collect();
        for name in query.filters.keys().chain(query.fields.iter()) {
            if !columns.contains(&name.as_str()) {
                return Err(invalid(format!("field \"{name}\" not in table")));
            }
        }
        for (name, _) in &query.sort {
            if !columns.contains(&name.as_str()) && name != "_id" {
                return Err(invalid(format!("cannot sort by field \"{name}\"")));
            }
        }
        let q = query
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase);
        let null = serde_json::Value::Null;
        let mut matched: Vec<(usize, &Record)> = all
            .iter()
            .enumerate()
            .filter(|(_, record)| {
                query.filters.iter().all(|(name, accepted)| {
                    let value = record.get(name).unwrap_or(&null);
                    accepted.iter().any(|want| {
                        want == value
                            || (want.is_string() && want.as_str() == Some(&value.to_string()))
                    })
                })
            })
            .filter(|(_, record)| {
                q.as_ref().is_none_or(|q| {
                    record
                        .values()
                        .any(|v| v.as_str().is_some_and(|s| s.to_lowercase().contains(q)))
                })
            })
            .collect();
        for (name, descending) in query.sort.iter().rev() {
            matched.sort_by(|a, b| {
                let ordering = if name == "_id" {
                    a.0.cmp(&b.0)
                } else {
                    compare(a.1.get(name), b.1.get(name))
                };
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
        }
        let total = matched.len();
        let limit = query.limit.unwrap_or(100).min(SEARCH_LIMIT_MAX);
        let offset = query.offset.unwrap_or(0);
        let shown: Vec<&str> = if query.fields.is_empty() {
            columns.clone()
        } else {
            query.fields.iter().map(String::as_str).collect()
        };
        let records = matched
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(index, record)| {
                let mut out = Record::new();
                out.insert("_id".into(), (index as i64 + 1).into());
                for name in &shown {
                    out.insert(
                        (*name).to_owned(),
                        record.get(*name).cloned().unwrap_or_default(),
                    );
                }
                out
            })
            .collect();
        let mut fields = vec![("_id".to_owned(), "int".to_owned())];
        fields.extend(
            def.columns
                .iter()
                .filter(|c| shown.contains(&c.0))
                .map(|c| (c.0.to_owned(), c.1.to_owned())),
        );
        Ok(DatastorePage {
            dataset: def,
            fields,
            records,
            total,
            limit,
            offset,
        })
    }
}

fn compare(a: Option<&serde_json::Value>, b: Option<&serde_json::Value>) -> std::cmp::Ordering {
    match (a.and_then(|v| v.as_f64()), b.and_then(|v| v.as_f64())) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => {
            let x = a.map(|v| v.to_string()).unwrap_or_default();
            let y = b.map(|v| v.to_string()).unwrap_or_default();
            x.cmp(&y)
        }
    }
}
