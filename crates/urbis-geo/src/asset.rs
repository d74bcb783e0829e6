//! City assets (部件): 16-digit identifiers, states, and a nearest-asset index.
//!
//! An [`AssetId`] (标识码, STANDARDS.md §5.3) is 6-digit county code + 2-digit big class + 2-digit small
//! class + 6-digit serial, e.g. `3205080101000001` = 320508 姑苏区 · 01 公用设施 · 01 上水井盖 · 000001.
//! [`AssetIndex`] answers "nearest asset of this class within N metres" with one R-tree per small class,
//! on unit-sphere coordinates so that the R-tree's Euclidean order is the great-circle order.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rstar::{RTree, primitives::GeomWithData};

use crate::error::GeoError;
use crate::measure::{EARTH_RADIUS_M, haversine_m};

/// A validated 16-digit 部件 identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetId(u64);

/// GB/T 2260 province-level prefixes (first two digits of a county code), plus 99: GB/T 2260 never
/// assigns it, so Urbis keeps it for fictional cities (the demo's 示范市 and the test fixtures), whose
/// codes can then never collide with a real county.
const PROVINCE_PREFIXES: [u8; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 99,
];

impl AssetId {
    /// Builds an id from its parts. `county` must be 6 digits with a valid province prefix;
    /// class and subclass 01–99; serial 000001–999999.
    pub fn new(county: &str, class: u8, subclass: u8, serial: u32) -> Result<AssetId, GeoError> {
        let text = format!("{county}{class:02}{subclass:02}{serial:06}");
        AssetId::parse(&text)
    }

    /// Parses and validates 16 ASCII digits.
    pub fn parse(text: &str) -> Result<AssetId, GeoError> {
        let invalid = |reason| GeoError::InvalidAssetId {
            input: text.to_owned(),
            reason,
        };
        if text.len() != 16 {
            return Err(invalid("expected 16 digits"));
        }
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("only digits are allowed"));
        }
        let number = |range: std::ops::Range<usize>| -> u64 { text[range].parse().unwrap_or(0) };
        let province = number(0..2) as u8;
        if !PROVINCE_PREFIXES.contains(&province) {
            return Err(invalid("county code has no valid province prefix"));
        }
        if number(2..6) == 0 {
            return Err(invalid("county code names a province, not a county"));
        }
        if number(6..8) == 0 {
            return Err(invalid("big class 00 is not allowed"));
        }
        if number(8..10) == 0 {
            return Err(invalid("small class 00 is not allowed"));
        }
        if number(10..16) == 0 {
            return Err(invalid("serial 000000 is not allowed"));
        }
        Ok(AssetId(number(0..16)))
    }

    /// Returns the 6-digit county code.
    pub fn county(self) -> String {
        format!("{:06}", self.0 / 10_000_000_000)
    }

    /// Returns the big class (大类), 1–99.
    pub fn class(self) -> u8 {
        ((self.0 / 100_000_000) % 100) as u8
    }

    /// Returns the small class (小类), 1–99.
    pub fn subclass(self) -> u8 {
        ((self.0 / 1_000_000) % 100) as u8
    }

    /// Returns the serial number, 1–999999.
    pub fn serial(self) -> u32 {
        (self.0 % 1_000_000) as u32
    }

    /// Returns the class pair as an [`AssetClass::Small`].
    pub fn asset_class(self) -> AssetClass {
        AssetClass::Small(self.class(), self.subclass())
    }

    /// Returns the id as a number (16 digits).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016}", self.0)
    }
}

impl FromStr for AssetId {
    type Err = GeoError;

    fn from_str(text: &str) -> Result<AssetId, GeoError> {
        AssetId::parse(text)
    }
}

/// Condition of an asset (OBJSTATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetState {
    /// 完好.
    Intact,
    /// 破损.
    Damaged,
    /// 丢失.
    Lost,
    /// 占用.
    Occupied,
}

impl AssetState {
    /// Returns the Chinese label used in standard data (完好/破损/丢失/占用).
    pub fn label_zh(self) -> &'static str {
        match self {
            AssetState::Intact => "完好",
            AssetState::Damaged => "破损",
            AssetState::Lost => "丢失",
            AssetState::Occupied => "占用",
        }
    }

    /// Returns the lower-case English name.
    pub fn as_str(self) -> &'static str {
        match self {
            AssetState::Intact => "intact",
            AssetState::Damaged => "damaged",
            AssetState::Lost => "lost",
            AssetState::Occupied => "occupied",
        }
    }

    /// Parses a Chinese label or an English name.
    pub fn parse(text: &str) -> Option<AssetState> {
        match text.trim().to_ascii_lowercase().as_str() {
            "完好" | "intact" => Some(AssetState::Intact),
            "破损" | "damaged" => Some(AssetState::Damaged),
            "丢失" | "lost" => Some(AssetState::Lost),
            "占用" | "occupied" => Some(AssetState::Occupied),
            _ => None,
        }
    }
}

/// Which assets a query is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetClass {
    /// A big class (大类), e.g. `Big(1)` = 公用设施.
    Big(u8),
    /// A small class (小类), e.g. `Small(1, 1)` = 上水井盖.
    Small(u8, u8),
}

/// One asset in the index (WGS84 point).
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    /// Identifier; its class digits decide which queries find it.
    pub id: AssetId,
    /// Longitude (WGS84).
    pub lon: f64,
    /// Latitude (WGS84).
    pub lat: f64,
    /// Condition.
    pub state: AssetState,
}

/// The answer of [`AssetIndex::nearest`].
#[derive(Debug, Clone, PartialEq)]
pub struct NearestAsset<'a> {
    /// The asset found.
    pub asset: &'a Asset,
    /// Great-circle distance from the query point, metres.
    pub distance_m: f64,
}

/// An asset's position on the unit sphere, tagged with its index in the asset list.
type AssetPoint = GeomWithData<[f64; 3], u32>;

/// Nearest-asset index, one R-tree per small class.
#[derive(Debug, Clone)]
pub struct AssetIndex {
    assets: Vec<Asset>,
    trees: BTreeMap<(u8, u8), RTree<AssetPoint>>,
}

impl AssetIndex {
    /// Builds the index. Fails on a non-finite or out-of-range point.
    pub fn new(assets: Vec<Asset>) -> Result<AssetIndex, GeoError> {
        let mut per_class: BTreeMap<(u8, u8), Vec<AssetPoint>> = BTreeMap::new();
        for (idx, asset) in assets.iter().enumerate() {
            if !(asset.lon.is_finite()
                && asset.lat.is_finite()
                && asset.lon.abs() <= 180.0
                && asset.lat.abs() <= 90.0)
            {
                return Err(GeoError::InvalidGeometry {
                    subject: format!("asset {}", asset.id),
                    reason: "point is not a valid longitude/latitude".to_owned(),
                });
            }
            let key = (asset.id.class(), asset.id.subclass());
            per_class.entry(key).or_default().push(GeomWithData::new(
                unit_vector(asset.lon, asset.lat),
                idx as u32,
            ));
        }
        let trees = per_class
            .into_iter()
            .map(|(key, items)| (key, RTree::bulk_load(items)))
            .collect();
        Ok(AssetIndex { assets, trees })
    }

    /// Returns the assets in build order.
    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }

    /// Returns the nearest asset of `class` within `max_distance_m` of `(lon, lat)`, or `None`.
    pub fn nearest(
        &self,
        lon: f64,
        lat: f64,
        class: AssetClass,
        max_distance_m: f64,
    ) -> Option<NearestAsset<'_>> {
        if !(lon.is_finite() && lat.is_finite() && max_distance_m >= 0.0) {
            return None;
        }
        let query = unit_vector(lon, lat);
        // Chord length on the unit sphere for the great-circle distance limit.
        let angle = (max_distance_m / EARTH_RADIUS_M).min(std::f64::consts::PI);
        let max_chord = 2.0 * (angle / 2.0).sin();
        let max_chord2 = max_chord * max_chord * (1.0 + 1e-12);
        let trees: Vec<&RTree<AssetPoint>> = match class {
            AssetClass::Small(big, small) => self.trees.get(&(big, small)).into_iter().collect(),
            AssetClass::Big(big) => self
                .trees
                .range((big, 0)..=(big, u8::MAX))
                .map(|(_, tree)| tree)
                .collect(),
        };
        let mut best: Option<(f64, u32)> = None;
        for tree in trees {
            if let Some((item, d2)) = tree.nearest_neighbor_iter_with_distance_2(&query).next()
                && d2 <= max_chord2
                && best.is_none_or(|(best_d2, _)| d2 < best_d2)
            {
                best = Some((d2, item.data));
            }
        }
        best.map(|(_, idx)| {
            let asset = &self.assets[idx as usize];
            NearestAsset {
                asset,
                distance_m: haversine_m((lon, lat), (asset.lon, asset.lat)),
            }
        })
        .filter(|found| found.distance_m <= max_distance_m * (1.0 + 1e-9) + 1e-6)
    }
}

/// Maps a WGS84 point to the unit sphere.
fn unit_vector(lon: f64, lat: f64) -> [f64; 3] {
    let (lon, lat) = (lon.to_radians(), lat.to_radians());
    [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
}
