//! Regions (17 oblasts and 3 cities of republican significance) and the migration
//! service's registration points in each, where finished documents are collected (R14).
//!
//! Both are reference data parsed from CSV text. The built-in copies are compiled in;
//! an administrator's edited copy is parsed with the same functions and the same checks.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::lang::Localized;

const BUILTIN_REGIONS: &str = include_str!("../data/regions.csv");
const BUILTIN_POINTS: &str = include_str!("../data/registration-points.csv");

/// The two-digit region code of the reference list (e.g. 71 = Astana).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(u8);

impl RegionCode {
    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl FromStr for RegionCode {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u8>()
                .map(RegionCode)
                .map_err(|_| ReferenceError::BadRegionCode(s.to_string()))
        } else {
            Err(ReferenceError::BadRegionCode(s.to_string()))
        }
    }
}

impl TryFrom<String> for RegionCode {
    type Error = ReferenceError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RegionCode> for String {
    fn from(c: RegionCode) -> String {
        c.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub code: RegionCode,
    pub name: Localized,
    /// The administrative centre, in English (where the regional УМС sits).
    pub centre_en: String,
}

/// Identifier of a registration point: `RR-NN`, region code and a number within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PointId(String);

impl PointId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region the identifier names (its first two digits).
    pub fn region(&self) -> RegionCode {
        // The format was checked on construction: two ASCII digits first.
        RegionCode(self.0[..2].parse().unwrap_or_default())
    }
}

impl fmt::Display for PointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PointId {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.trim().as_bytes();
        let ok =
            b.len() == 5 && b[2] == b'-' && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit);
        if ok {
            Ok(PointId(s.trim().to_string()))
        } else {
            Err(ReferenceError::BadPointId(s.to_string()))
        }
    }
}

impl TryFrom<String> for PointId {
    type Error = ReferenceError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PointId> for String {
    fn from(p: PointId) -> String {
        p.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationPoint {
    pub id: PointId,
    pub region: RegionCode,
    pub name: Localized,
    /// Written in each language, as the citizen reads it on the page and in the SMS.
    pub address: Localized,
    /// When documents can be collected there, in each language.
    pub hours: Localized,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("region code {0:?} is not two digits")]
    BadRegionCode(String),
    #[error("registration point id {0:?} is not of the form RR-NN")]
    BadPointId(String),
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("region {0} appears twice")]
    DuplicateRegion(RegionCode),
    #[error("registration point {0} appears twice")]
    DuplicatePoint(PointId),
    #[error("registration point {point} names region {region}, which is not in the region list")]
    UnknownRegion { point: PointId, region: RegionCode },
    #[error(
        "registration point {point} is listed under region {region} but its id says otherwise"
    )]
    PointRegionMismatch { point: PointId, region: RegionCode },
    #[error("region {0} has no registration point: its citizens could not collect documents")]
    RegionWithoutPoint(RegionCode),
    #[error("the list is empty")]
    Empty,
}

impl ReferenceError {
    pub fn code(&self) -> &'static str {
        match self {
            ReferenceError::BadRegionCode(_) => "bad_region_code",
            ReferenceError::BadPointId(_) => "bad_point_id",
            ReferenceError::Csv { .. } => "bad_csv",
            ReferenceError::DuplicateRegion(_) => "duplicate_region",
            ReferenceError::DuplicatePoint(_) => "duplicate_point",
            ReferenceError::UnknownRegion { .. } => "unknown_region",
            ReferenceError::PointRegionMismatch { .. } => "point_region_mismatch",
            ReferenceError::RegionWithoutPoint(_) => "region_without_point",
            ReferenceError::Empty => "empty",
        }
    }
}

fn csv_error(e: &csv::Error) -> ReferenceError {
    ReferenceError::Csv {
        line: e.position().map(|p| p.line()).unwrap_or(0),
        message: e.to_string(),
    }
}

fn reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

#[derive(Deserialize)]
struct RegionRow {
    code: String,
    name_ru: String,
    name_kk: String,
    name_en: String,
    centre_en: String,
}

#[derive(Deserialize)]
struct PointRow {
    id: String,
    region_code: String,
    name_kk: String,
    name_ru: String,
    name_en: String,
    address_kk: String,
    address_ru: String,
    address_en: String,
    hours_kk: String,
    hours_ru: String,
    hours_en: String,
}

/// The region list, ordered by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regions(BTreeMap<RegionCode, Region>);

impl Regions {
    /// The 20 regions of `reference/regions.csv`.
    pub fn builtin() -> Regions {
        // The built-in file is checked by a test; an empty list is the impossible fallback.
        Regions::from_csv(BUILTIN_REGIONS).unwrap_or(Regions(BTreeMap::new()))
    }

    /// Parses `code,name_ru,name_kk,name_en,centre_en` rows.
    pub fn from_csv(text: &str) -> Result<Regions, ReferenceError> {
        let mut map = BTreeMap::new();
        for row in reader(text).deserialize::<RegionRow>() {
            let row = row.map_err(|e| csv_error(&e))?;
            let code: RegionCode = row.code.parse()?;
            let region = Region {
                code,
                name: Localized {
                    kk: row.name_kk,
                    ru: row.name_ru,
                    en: row.name_en,
                },
                centre_en: row.centre_en,
            };
            if map.insert(code, region).is_some() {
                return Err(ReferenceError::DuplicateRegion(code));
            }
        }
        if map.is_empty() {
            return Err(ReferenceError::Empty);
        }
        Ok(Regions(map))
    }

    pub fn get(&self, code: RegionCode) -> Option<&Region> {
        self.0.get(&code)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.0.values()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The registration points, ordered by id; every region has at least one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationPoints(BTreeMap<PointId, RegistrationPoint>);

impl RegistrationPoints {
    pub fn builtin(regions: &Regions) -> RegistrationPoints {
        RegistrationPoints::from_csv(BUILTIN_POINTS, regions)
            .unwrap_or(RegistrationPoints(BTreeMap::new()))
    }

    /// Parses `id,region_code,name_kk,name_ru,name_en,address_kk,address_ru,address_en` rows, then `hours_kk,hours_ru,hours_en` (`#` starts a comment)
    /// and checks them against the region list.
    pub fn from_csv(text: &str, regions: &Regions) -> Result<RegistrationPoints, ReferenceError> {
        let mut map = BTreeMap::new();
        for row in reader(text).deserialize::<PointRow>() {
            let row = row.map_err(|e| csv_error(&e))?;
            let id: PointId = row.id.parse()?;
            let region: RegionCode = row.region_code.parse()?;
            if regions.get(region).is_none() {
                return Err(ReferenceError::UnknownRegion { point: id, region });
            }
            if id.region() != region {
                return Err(ReferenceError::PointRegionMismatch { point: id, region });
            }
            let point = RegistrationPoint {
                id: id.clone(),
                region,
                name: Localized {
                    kk: row.name_kk,
                    ru: row.name_ru,
                    en: row.name_en,
                },
                address: Localized {
                    kk: row.address_kk,
                    ru: row.address_ru,
                    en: row.address_en,
                },
                hours: Localized {
                    kk: row.hours_kk,
                    ru: row.hours_ru,
                    en: row.hours_en,
                },
            };
            if map.insert(id.clone(), point).is_some() {
                return Err(ReferenceError::DuplicatePoint(id));
            }
        }
        let served: BTreeSet<RegionCode> = map.values().map(|p| p.region).collect();
        if let Some(r) = regions.iter().find(|r| !served.contains(&r.code)) {
            return Err(ReferenceError::RegionWithoutPoint(r.code));
        }
        Ok(RegistrationPoints(map))
    }

    pub fn get(&self, id: &PointId) -> Option<&RegistrationPoint> {
        self.0.get(id)
    }

    pub fn in_region(&self, region: RegionCode) -> impl Iterator<Item = &RegistrationPoint> {
        self.0.values().filter(move |p| p.region == region)
    }

    pub fn iter(&self) -> impl Iterator<Item = &RegistrationPoint> {
        self.0.values()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_regions_are_the_twenty_of_the_reference_list() {
        let regions = Regions::from_csv(BUILTIN_REGIONS).unwrap();
        assert_eq!(regions.len(), 20);
        let astana = regions.get("71".parse().unwrap()).unwrap();
        assert_eq!(astana.name.ru, "город Астана");
        assert_eq!(astana.name.kk, "Астана қаласы");
        assert_eq!(astana.name.en, "Astana city");
        let abai = regions.get("10".parse().unwrap()).unwrap();
        assert_eq!(abai.centre_en, "Semey");
    }

    #[test]
    fn every_region_has_a_point_and_the_three_cities_have_two() {
        let regions = Regions::builtin();
        let points = RegistrationPoints::from_csv(BUILTIN_POINTS, &regions).unwrap();
        for r in regions.iter() {
            let n = points.in_region(r.code).count();
            let want = if ["71", "75", "79"].contains(&r.code.to_string().as_str()) {
                2
            } else {
                1
            };
            assert!(n >= want, "region {} has {n} points", r.code);
        }
        let p = points.get(&"75-02".parse().unwrap()).unwrap();
        assert_eq!(p.region.to_string(), "75");
        assert!(p.address.en.starts_with("Almaty"));
        assert!(p.address.ru.starts_with("г. Алматы"), "{}", p.address.ru);
        assert!(p.address.kk.starts_with("Алматы"), "{}", p.address.kk);
    }

    #[test]
    fn edited_lists_are_checked() {
        let regions = Regions::builtin();
        let header = "id,region_code,name_kk,name_ru,name_en,address_kk,address_ru,address_en,hours_kk,hours_ru,hours_en\n";
        let missing = format!("{header}71-01,71,a,b,c,d,e,f,g,h,i\n");
        assert!(matches!(
            RegistrationPoints::from_csv(&missing, &regions),
            Err(ReferenceError::RegionWithoutPoint(_))
        ));
        let unknown = format!("{header}99-01,99,a,b,c,d,e,f,g,h,i\n");
        assert!(matches!(
            RegistrationPoints::from_csv(&unknown, &regions),
            Err(ReferenceError::UnknownRegion { .. })
        ));
        let mismatch = format!("{header}71-01,75,a,b,c,d,e,f,g,h,i\n");
        assert!(matches!(
            RegistrationPoints::from_csv(&mismatch, &regions),
            Err(ReferenceError::PointRegionMismatch { .. })
        ));
        let dup = format!("{BUILTIN_POINTS}71-01,71,a,b,c,d,e,f,g,h,i\n");
        assert!(matches!(
            RegistrationPoints::from_csv(&dup, &regions),
            Err(ReferenceError::DuplicatePoint(_))
        ));
        let short = format!("{header}71-01,71,a\n");
        assert!(matches!(
            RegistrationPoints::from_csv(&short, &regions),
            Err(ReferenceError::Csv { .. })
        ));
        assert!(matches!(
            Regions::from_csv("code,name_ru,name_kk,name_en,centre_en\n"),
            Err(ReferenceError::Empty)
        ));
    }

    #[test]
    fn ids_and_codes_parse_strictly() {
        assert!("7".parse::<RegionCode>().is_err());
        assert!("7a".parse::<RegionCode>().is_err());
        assert!("071".parse::<RegionCode>().is_err());
        assert!("71-1".parse::<PointId>().is_err());
        assert!("71_01".parse::<PointId>().is_err());
        assert_eq!(
            "71-01".parse::<PointId>().unwrap().region().to_string(),
            "71"
        );
    }
}
