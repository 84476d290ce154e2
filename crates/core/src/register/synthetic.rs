//! A synthetic population register: plausible adult citizens for demos, load tests and
//! benchmarks, without a single real person's data.
//!
//! Deterministic and random-access: person `n` depends only on `(seed, today, n)`
//! ([`Generator::person`]), so a prefix of a run is the same whatever the count, and a store
//! can regenerate any one person without the others. The randomness is a self-contained
//! SplitMix64 written here, not a library generator whose algorithm could change between
//! versions and silently change every synthetic register.
//!
//! What it produces, and the assumptions behind it:
//! - IINs valid and unique within a run for the first [`Generator::capacity`] people
//!   (about 166 million — Kazakhstan has about 20 million): the birth date, sex and serial are
//!   a bijection of the index, not draws checked against a set;
//! - ages 16–89 on `today`, in roughly the age structure of the adult population;
//! - names in Cyrillic: about 70 % Kazakh, the rest Russian and other groups (the share
//!   depends on the region), surname and patronymic agreeing with the sex in the IIN;
//! - mobile numbers with real Kazakh operators' prefixes; language mostly kk or ru, a few en;
//! - regions weighted by population, with an address in the region's centre;
//! - an identity card per person with the last valid day spread over the next ten years,
//!   plus a thinner tail of cards that ran out up to five years ago, so that on any day
//!   about 1 % of people are inside the online-renewal window.

use std::fmt::Write as _;
use std::sync::OnceLock;

use jiff::civil::Date;
use jiff::Span;

use super::{Person, Phone, RegisteredDocument};
use crate::document::DocumentKind;
use crate::iin::{Iin, Sex};
use crate::lang::Lang;
use crate::region::RegionCode;
use crate::time::{add_days, days_between};

const NAMES_KK: &str = include_str!("../../data/names-kk.csv");
const NAMES_RU: &str = include_str!("../../data/names-ru.csv");
const SURNAMES_KK: &str = include_str!("../../data/surnames-kk.csv");
const SURNAMES_RU: &str = include_str!("../../data/surnames-ru.csv");
const STREETS: &str = include_str!("../../data/streets.csv");
const REGION_POPULATION: &str = include_str!("../../data/region-population.csv");

/// Mobile prefixes in use in Kazakhstan: Altel (700, 708), Kcell/activ (701, 702, 775,
/// 778), Beeline (705, 771, 776, 777), Tele2 (707, 747).
pub const MOBILE_PREFIXES: [&str; 12] = [
    "700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778",
];

/// Age bands `[from, to)` and their share (per cent) of the adult population. Rounded from
/// the national statistics' age structure — an assumption, close enough for load tests, and
/// the reason a synthetic register is younger than a uniform spread of ages.
const AGE_BANDS: [(u32, u32, u8); 8] = [
    (16, 20, 8),
    (20, 30, 18),
    (30, 40, 22),
    (40, 50, 18),
    (50, 60, 14),
    (60, 70, 12),
    (70, 80, 6),
    (80, 90, 2),
];

/// Serials come in pairs `2k`, `2k + 1` that differ only in the last digit. That digit has
/// weight 11 in the first check-digit pass (no change mod 11) and weight 2 in the second,
/// so if one of the pair has no valid check digit (both passes give 10) the other has one:
/// each of the 5000 pairs always yields a valid IIN.
const SERIAL_PAIRS: u64 = 5000;
/// Steps through the serial pairs layer by layer; coprime with 5000, so injective.
const SERIAL_STEP: u64 = 2837;

/// Identity card numbers are 9 digits: `n ↦ (n·a + b) mod 10⁹` with `a` coprime with 10
/// is a bijection, so numbers are unique for the first 10⁹ people and look unordered.
const DOC_NUMBERS: u64 = 1_000_000_000;
const DOC_STEP: u64 = 387_420_489; // 3^18

/// Last valid day of people past their first card, in days from today: most cards (93 %)
/// are current, their ends spread evenly from half a year ago (people renew late) to ten
/// years ahead; the rest ran out longer ago, up to five years (people abroad, people who
/// never renewed).
const CURRENT_PERCENT: u64 = 93;
const CURRENT_FROM: i64 = -180;
const CURRENT_TO: i64 = 3652;
const EXPIRED_FROM: i64 = -1826;
/// First cards are made within four months of the sixteenth birthday.
const FIRST_CARD_LAG_DAYS: u64 = 120;
/// Share of young people who replaced their first card early.
const REPLACED_PERCENT: u64 = 10;

// Distinct stream constants, so the draws for different purposes are independent.
const STREAM_PERSON: u64 = 0x243F_6A88_85A3_08D3;
const STREAM_SERIAL: u64 = 0x1319_8A2E_0370_7344;
const STREAM_BAND: u64 = 0xA409_3822_299F_31D0;
const STREAM_SHUFFLE: u64 = 0x082E_FA98_EC4E_6C89;
const STREAM_DOC: u64 = 0x4528_21E6_38D0_1377;

/// The SplitMix64 finaliser: a fixed, well-mixed 64-bit hash.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fixed forever here.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> SplitMix64 {
        SplitMix64(mix64(seed))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// A number in `0..n` (`0` when `n` is 0). Lemire's multiply-shift; its bias (at most
    /// n/2⁶⁴) is far below anything synthetic data could show.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn percent(&mut self) -> u64 {
        self.below(100)
    }

    fn choose<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }
}

/// A keyed pseudo-random permutation of `0..n`: a 4-round Feistel network on the smallest
/// even number of bits covering `n`, with cycle walking to stay below `n`. It spreads
/// consecutive indices over all birth dates without any table.
fn permute(x: u64, n: u64, key: u64) -> u64 {
    if n <= 1 {
        return 0;
    }
    let bits = 64 - (n - 1).leading_zeros();
    let half = bits.div_ceil(2);
    let mask = (1u64 << half) - 1;
    let mut y = x;
    // Terminates: a permutation of the 2^(2·half) values maps x back below n within its
    // cycle, and as the domain is at most 4n, in under 4 steps on average.
    loop {
        let (mut left, mut right) = (y >> half, y & mask);
        for round in 0..4u64 {
            let f =
                mix64(right ^ key.wrapping_add(round.wrapping_mul(0x9E37_79B9_7F4A_7C15))) & mask;
            (left, right) = (right, left ^ f);
        }
        y = (left << half) | right;
        if y < n {
            return y;
        }
    }
}

#[derive(Debug)]
struct GivenName {
    name: &'static str,
    /// Explicit patronymics (male, female) for names whose forms no rule gives
    /// (Илья → Ильич, Павел → Павлович); `None`: built by rule.
    patronymics: Option<(&'static str, &'static str)>,
}

#[derive(Debug, Default)]
struct NameGroup {
    male: Vec<GivenName>,
    female: Vec<&'static str>,
}

#[derive(Debug)]
struct RegionEntry {
    code: RegionCode,
    centre: &'static str,
    kazakh_percent: u64,
}

/// The compiled-in lists, parsed once.
#[derive(Debug)]
struct Tables {
    kk: NameGroup,
    ru: NameGroup,
    /// Kazakh surname stems and their masculine ending (`ов`, `ев`, `ин`); the feminine
    /// adds `а`.
    kk_surnames: Vec<(&'static str, &'static str)>,
    /// Russian and other surnames, masculine and feminine forms (the same for Ким, Шевченко).
    ru_surnames: Vec<(&'static str, &'static str)>,
    streets: Vec<&'static str>,
    regions: Vec<RegionEntry>,
    /// Running totals of population (thousands), for a weighted draw of the region.
    cumulative: Vec<u64>,
}

/// The data lines of a compiled-in CSV (no quoting in these files), header skipped.
fn rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect())
}

fn non_empty(s: Option<&&'static str>) -> Option<&'static str> {
    s.copied().filter(|s| !s.is_empty())
}

impl Tables {
    /// Malformed lines are skipped rather than fatal: the files are compiled in and a test
    /// checks every line is used.
    fn load() -> Tables {
        let names = |text: &'static str| {
            let mut group = NameGroup::default();
            for row in rows(text) {
                let Some(name) = non_empty(row.get(1)) else {
                    continue;
                };
                match row.first().copied() {
                    Some("m") => group.male.push(GivenName {
                        name,
                        patronymics: non_empty(row.get(2)).zip(non_empty(row.get(3))),
                    }),
                    Some("f") => group.female.push(name),
                    _ => {}
                }
            }
            group
        };
        let pairs = |text: &'static str| {
            rows(text)
                .filter_map(|r| Some((non_empty(r.first())?, non_empty(r.get(1))?)))
                .collect::<Vec<_>>()
        };
        let mut regions = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0u64;
        for row in rows(REGION_POPULATION) {
            let parsed = (|| {
                let code = row.first()?.parse::<RegionCode>().ok()?;
                let centre = non_empty(row.get(1))?;
                let population = row.get(2)?.parse::<u64>().ok()?;
                let kazakh_percent = row.get(3)?.parse::<u64>().ok()?.min(100);
                Some((code, centre, population, kazakh_percent))
            })();
            if let Some((code, centre, population, kazakh_percent)) = parsed {
                total += population;
                cumulative.push(total);
                regions.push(RegionEntry {
                    code,
                    centre,
                    kazakh_percent,
                });
            }
        }
        Tables {
            kk: names(NAMES_KK),
            ru: names(NAMES_RU),
            kk_surnames: pairs(SURNAMES_KK),
            ru_surnames: pairs(SURNAMES_RU),
            streets: rows(STREETS).filter_map(|r| non_empty(r.first())).collect(),
            regions,
            cumulative,
        }
    }

    fn get() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(Tables::load)
    }

    fn region(&self, rng: &mut SplitMix64) -> Option<&RegionEntry> {
        let total = self.cumulative.last().copied().unwrap_or(0);
        let r = rng.below(total);
        self.regions
            .get(self.cumulative.partition_point(|&c| c <= r))
    }
}

/// One age band's share of the index space.
#[derive(Debug, Clone, Copy)]
struct Band {
    /// First birth-date offset (days before today-16-years) of the band, and its length.
    start: u32,
    days: u32,
    percent: u8,
    key: u64,
    serial_key: u64,
}

/// Generates the synthetic register for one seed and one "today".
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    today: Date,
    /// Today sixteen years ago: the latest birth date of someone old enough for a card.
    youngest_birth: Date,
    bands: [Band; 8],
    /// For `n mod 100`: the age band, and the rank of that residue among the band's
    /// residues. Every block of 100 indices gives each band exactly its share, so the index
    /// within a band is a formula, not a count.
    residues: [(u8, u8); 100],
    capacity: u64,
    doc_offset: u64,
    tables: &'static Tables,
}

impl Generator {
    pub fn new(seed: u64, today: Date) -> Generator {
        let day_of = |age: u32| -> u32 { ((age - 16) * 3_652_425 + 5_000) / 10_000 };
        let mut bands = [Band {
            start: 0,
            days: 1,
            percent: 0,
            key: 0,
            serial_key: 0,
        }; 8];
        let mut capacity = DOC_NUMBERS;
        for (i, (band, &(from, to, percent))) in bands.iter_mut().zip(&AGE_BANDS).enumerate() {
            let key = mix64(seed ^ mix64(STREAM_BAND ^ i as u64));
            *band = Band {
                start: day_of(from),
                days: day_of(to) - day_of(from),
                percent,
                key,
                serial_key: mix64(key),
            };
            // A band holds 2 sexes × its days × the serial pairs; past that IINs would repeat.
            let room = 2 * u64::from(band.days) * SERIAL_PAIRS;
            if percent > 0 {
                capacity = capacity.min(room / u64::from(percent) * 100);
            }
        }
        let mut order: Vec<u8> = AGE_BANDS
            .iter()
            .enumerate()
            .flat_map(|(i, &(_, _, p))| std::iter::repeat_n(i as u8, usize::from(p)))
            .collect();
        let mut rng = SplitMix64::new(seed ^ STREAM_SHUFFLE);
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut residues = [(0u8, 0u8); 100];
        let mut seen = [0u8; 8];
        for (slot, &band) in residues.iter_mut().zip(&order) {
            let rank = &mut seen[usize::from(band)];
            *slot = (band, *rank);
            *rank += 1;
        }
        Generator {
            seed,
            today,
            youngest_birth: today.saturating_sub(Span::new().years(16)),
            bands,
            residues,
            capacity,
            doc_offset: mix64(seed ^ STREAM_DOC) % DOC_NUMBERS,
            tables: Tables::get(),
        }
    }

    /// How many people can be generated with unique IINs and document numbers.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The IIN and birth date of person `n` (cheaper than the whole person).
    fn identity(&self, n: u64) -> Option<(Iin, Date)> {
        if n >= self.capacity {
            return None;
        }
        let (band_index, rank) = *self.residues.get((n % 100) as usize)?;
        let band = self.bands.get(usize::from(band_index))?;
        let m = n / 100 * u64::from(band.percent) + u64::from(rank);
        let slots = 2 * u64::from(band.days);
        let layer = m / slots;
        let slot = permute(m % slots, slots, band.key ^ mix64(layer));
        let offset = i32::try_from(u64::from(band.start) + slot / 2).ok()?;
        let sex = if slot % 2 == 0 {
            Sex::Male
        } else {
            Sex::Female
        };
        let birth = add_days(self.youngest_birth, -offset);
        // Injective in the layer for a given birth date and sex, which is all uniqueness
        // needs; the per-slot offset just keeps serials from repeating across dates.
        let pair =
            (layer * SERIAL_STEP + mix64(band.serial_key ^ slot) % SERIAL_PAIRS) % SERIAL_PAIRS;
        let serial =
            u16::try_from(2 * pair + (mix64(self.seed ^ mix64(n ^ STREAM_SERIAL)) & 1)).ok()?;
        let iin = Iin::from_parts(birth, sex, serial)
            .or_else(|| Iin::from_parts(birth, sex, serial ^ 1))?;
        Some((iin, birth))
    }

    /// The IIN of person `n`.
    pub fn iin(&self, n: u64) -> Option<Iin> {
        self.identity(n).map(|(iin, _)| iin)
    }

    /// Person `n`. `None` past [`Generator::capacity`] (or if `today` is so far in the
    /// future that birth dates leave the IIN's centuries).
    pub fn person(&self, n: u64) -> Option<Person> {
        let (iin, birth) = self.identity(n)?;
        let sex = iin.sex();
        let t = self.tables;
        let mut rng = SplitMix64::new(self.seed ^ mix64(n ^ STREAM_PERSON));

        let region = t.region(&mut rng)?;
        let kazakh = rng.percent() < region.kazakh_percent;
        let (surname, given_name, patronymic) = if kazakh {
            kazakh_name(t, sex, &mut rng)?
        } else {
            other_name(t, sex, &mut rng)?
        };
        let roll = rng.percent();
        let language = match (kazakh, roll) {
            (true, 0..62) | (false, 0..4) => Lang::Kk,
            (_, 0..97) => Lang::Ru,
            _ => Lang::En,
        };

        let mut phone = String::with_capacity(12);
        phone.push_str("+7");
        phone.push_str(rng.choose(&MOBILE_PREFIXES)?);
        // Writing into a String cannot fail.
        let _ = write!(phone, "{:07}", rng.below(10_000_000));

        let street = rng.choose(&t.streets)?;
        let mut address = String::with_capacity(80);
        let _ = write!(
            address,
            "г. {}, {}, д. {}",
            region.centre,
            street,
            1 + rng.below(180)
        );
        // A quarter of people live in houses, the rest in flats.
        if rng.percent() >= 25 {
            let _ = write!(address, ", кв. {}", 1 + rng.below(220));
        }

        let document = self.document(n, birth, &mut rng);
        Some(Person {
            iin,
            surname,
            given_name: given_name.to_string(),
            patronymic,
            phone: Phone(phone),
            language,
            region: region.code,
            address,
            document,
        })
    }

    fn document(&self, n: u64, birth: Date, rng: &mut SplitMix64) -> RegisteredDocument {
        let kind = DocumentKind::IdentityCard;
        let sixteenth = birth.saturating_add(Span::new().years(16));
        let first_card_ends = add_days(
            sixteenth.saturating_add(Span::new().years(10)),
            FIRST_CARD_LAG_DAYS as i32,
        );
        let first_card = add_days(sixteenth, rng.below(FIRST_CARD_LAG_DAYS + 1) as i32);
        let issued_on = if first_card_ends > self.today {
            // Young people still hold (or only just outgrew) the card they got at sixteen,
            // so their cards end on their 26th birthdays, not at random; a few replaced it
            // (lost, or a new surname on marriage).
            if rng.percent() < REPLACED_PERCENT {
                let since = days_between(sixteenth, self.today).max(0);
                add_days(sixteenth, rng.below(since as u64 + 1) as i32)
            } else {
                first_card
            }
        } else {
            let offset = if rng.percent() < CURRENT_PERCENT {
                CURRENT_FROM + rng.below((CURRENT_TO - CURRENT_FROM) as u64) as i64
            } else {
                EXPIRED_FROM + rng.below((CURRENT_FROM - EXPIRED_FROM) as u64) as i64
            };
            let target_end = add_days(self.today, offset as i32);
            // The issue date whose ten years end on the drawn day; never before sixteen.
            add_days(target_end, 1)
                .saturating_sub(Span::new().years(10))
                .max(first_card)
        }
        .min(self.today);
        let number = (n % DOC_NUMBERS * DOC_STEP + self.doc_offset) % DOC_NUMBERS;
        RegisteredDocument {
            kind,
            number: format!("{number:09}"),
            issued_on,
            // Consistent by construction (a 29 February moves the drawn end by a day).
            last_valid_day: kind.last_valid_day(issued_on),
        }
    }

    /// People `range.start..range.end` (clipped to the capacity), in order.
    pub fn people(&self, range: std::ops::Range<u64>) -> People {
        People {
            generator: self.clone(),
            next: range.start,
            end: range.end.min(self.capacity),
        }
    }
}

/// Kazakh names. Most registers write the patronymic the Russian way (Серікович); some
/// the Kazakh way (Серікұлы); a few carry an -ұлы/-қызы surname, and some of those no
/// patronymic at all.
fn kazakh_name(
    t: &Tables,
    sex: Sex,
    rng: &mut SplitMix64,
) -> Option<(String, &'static str, Option<String>)> {
    let female = sex == Sex::Female;
    let given = if female {
        *rng.choose(&t.kk.female)?
    } else {
        rng.choose(&t.kk.male)?.name
    };
    let father = rng.choose(&t.kk.male)?;
    let style = rng.percent();
    let surname = if style < 93 {
        let (stem, ending) = rng.choose(&t.kk_surnames)?;
        let mut s = String::with_capacity(stem.len() + ending.len() + 2);
        s.push_str(stem);
        s.push_str(ending);
        if female {
            s.push('а');
        }
        s
    } else {
        kazakh_patronymic(rng.choose(&t.kk.male)?.name, female)
    };
    let patronymic = match style {
        0..80 => Some(russian_patronymic(father, female)),
        80..93 => Some(kazakh_patronymic(father.name, female)),
        _ if rng.percent() < 60 => Some(kazakh_patronymic(father.name, female)),
        _ => None,
    };
    Some((surname, given, patronymic))
}

/// Russian and other names (Ukrainian, Korean, German, Tatar, Uzbek… surnames with
/// Russian given names, as the register commonly has them).
fn other_name(
    t: &Tables,
    sex: Sex,
    rng: &mut SplitMix64,
) -> Option<(String, &'static str, Option<String>)> {
    let female = sex == Sex::Female;
    let given = if female {
        *rng.choose(&t.ru.female)?
    } else {
        rng.choose(&t.ru.male)?.name
    };
    let (male_form, female_form) = rng.choose(&t.ru_surnames)?;
    let surname = if female { female_form } else { male_form };
    let father = rng.choose(&t.ru.male)?;
    let patronymic = (rng.percent() >= 2).then(|| russian_patronymic(father, female));
    Some((surname.to_string(), given, patronymic))
}

/// `Нұрлан` → `Нұрланұлы` / `Нұрланқызы`.
fn kazakh_patronymic(father: &str, female: bool) -> String {
    let suffix = if female { "қызы" } else { "ұлы" };
    let mut s = String::with_capacity(father.len() + suffix.len());
    s.push_str(father);
    s.push_str(suffix);
    s
}

/// The explicit forms when the list gives them, else by rule: `-й` → `-евич/-евна`
/// (Тұрсынбай → Тұрсынбаевич), otherwise `-ович/-овна` (Серік → Серікович).
fn russian_patronymic(father: &GivenName, female: bool) -> String {
    if let Some((male_form, female_form)) = father.patronymics {
        return if female { female_form } else { male_form }.to_string();
    }
    let (stem, suffix) = match father.name.strip_suffix('й') {
        Some(stem) => (stem, if female { "евна" } else { "евич" }),
        None => (father.name, if female { "овна" } else { "ович" }),
    };
    let mut s = String::with_capacity(stem.len() + suffix.len());
    s.push_str(stem);
    s.push_str(suffix);
    s
}

/// People in index order; see [`generate`].
#[derive(Debug, Clone)]
pub struct People {
    generator: Generator,
    next: u64,
    end: u64,
}

impl Iterator for People {
    type Item = Person;

    fn next(&mut self) -> Option<Person> {
        while self.next < self.end {
            let n = self.next;
            self.next += 1;
            if let Some(person) = self.generator.person(n) {
                return Some(person);
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.end.saturating_sub(self.next)).ok();
        (0, left)
    }
}

/// The first `count` people of the synthetic register for `seed` on `today` (at most
/// [`Generator::capacity`]).
pub fn generate(seed: u64, count: usize, today: Date) -> People {
    let generator = Generator::new(seed, today);
    generator.people(0..count as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Regions;
    use jiff::civil::date;
    use std::collections::{BTreeMap, HashSet};

    fn today() -> Date {
        date(2025, 9, 1)
    }

    fn age_on(birth: Date, day: Date) -> i16 {
        let before_birthday = (day.month(), day.day()) < (birth.month(), birth.day());
        day.year() - birth.year() - i16::from(before_birthday)
    }

    #[test]
    fn same_seed_same_people_other_seed_other_people() {
        let a: Vec<Person> = generate(42, 2_000, today()).collect();
        let b: Vec<Person> = generate(42, 2_000, today()).collect();
        let c: Vec<Person> = generate(43, 2_000, today()).collect();
        assert_eq!(a.len(), 2_000);
        assert_eq!(a, b);
        let same = a.iter().zip(&c).filter(|(x, y)| x == y).count();
        assert_eq!(same, 0);
        let same_iin = a.iter().zip(&c).filter(|(x, y)| x.iin == y.iin).count();
        assert!(same_iin < 5, "{same_iin} IINs shared between seeds");
    }

    #[test]
    fn a_prefix_and_random_access_give_the_same_people() {
        let long: Vec<Person> = generate(9, 1_000, today()).collect();
        let short: Vec<Person> = generate(9, 100, today()).collect();
        assert_eq!(&long[..100], &short[..]);
        let g = Generator::new(9, today());
        for n in [0u64, 1, 99, 500, 999] {
            assert_eq!(g.person(n).as_ref(), Some(&long[n as usize]));
            assert_eq!(g.iin(n), Some(long[n as usize].iin));
        }
        let tail: Vec<Person> = g.people(990..1_000).collect();
        assert_eq!(&long[990..], &tail[..]);
    }

    #[test]
    fn iins_are_valid_and_unique_ages_16_to_90_and_cards_plausible() {
        let today = today();
        let mut iins = HashSet::new();
        let mut numbers = HashSet::new();
        let mut by_decade = BTreeMap::<i16, u32>::new();
        let n = 200_000;
        for p in generate(1, n, today) {
            let parsed = Iin::parse(&p.iin.to_string()).unwrap();
            assert_eq!(parsed, p.iin);
            assert!(iins.insert(p.iin), "duplicate IIN {}", p.iin);
            let birth = p.iin.birth_date();
            let age = age_on(birth, today);
            assert!((16..=90).contains(&age), "age {age} for {}", p.iin);
            *by_decade.entry(age / 10).or_default() += 1;

            let d = &p.document;
            assert_eq!(d.kind, DocumentKind::IdentityCard);
            assert!(numbers.insert(d.number.clone()), "duplicate {}", d.number);
            crate::document::DocumentNumber::parse(d.kind, &d.number).unwrap();
            assert_eq!(d.last_valid_day, d.kind.last_valid_day(d.issued_on));
            assert!(d.issued_on <= today);
            let sixteenth = birth.saturating_add(Span::new().years(16));
            assert!(d.issued_on >= sixteenth, "card before 16: {p:?}");
            assert!(days_between(today, d.last_valid_day) >= -1827);
            assert!(days_between(today, d.last_valid_day) < 3653);
        }
        assert_eq!(iins.len(), n);
        // The age structure: a young country, few over 80.
        let share = |decade: i16| f64::from(by_decade[&decade]) / n as f64;
        assert!((0.18..0.26).contains(&share(3)), "{by_decade:?}");
        assert!(share(8) < 0.04, "{by_decade:?}");
    }

    #[test]
    fn names_agree_with_the_sex_in_the_iin() {
        let t = Tables::get();
        let male_names: HashSet<&str> =
            t.kk.male.iter().chain(&t.ru.male).map(|g| g.name).collect();
        let female_names: HashSet<&str> = t.kk.female.iter().chain(&t.ru.female).copied().collect();
        let kazakh_surnames: HashSet<String> = t
            .kk_surnames
            .iter()
            .flat_map(|(stem, end)| [format!("{stem}{end}"), format!("{stem}{end}а")])
            .collect();
        let (mut kazakh, mut no_patronymic, mut uly_surnames, mut men) = (0, 0, 0, 0);
        let n = 50_000;
        for p in generate(5, n, today()) {
            let male = p.iin.sex() == Sex::Male;
            men += usize::from(male);
            let s = p.surname.as_str();
            if male {
                assert!(male_names.contains(p.given_name.as_str()), "{p:?}");
                assert!(
                    !["ова", "ева", "ёва", "ина", "ская", "қызы"]
                        .iter()
                        .any(|e| s.ends_with(e)),
                    "{p:?}"
                );
            } else {
                assert!(female_names.contains(p.given_name.as_str()), "{p:?}");
                assert!(
                    !["ов", "ев", "ёв", "ин", "ский", "ұлы"]
                        .iter()
                        .any(|e| s.ends_with(e)),
                    "{p:?}"
                );
            }
            match &p.patronymic {
                Some(pat) if male => {
                    assert!(pat.ends_with("ич") || pat.ends_with("ұлы"), "{p:?}")
                }
                Some(pat) => assert!(
                    pat.ends_with("вна") || pat.ends_with("ична") || pat.ends_with("қызы"),
                    "{p:?}"
                ),
                None => no_patronymic += 1,
            }
            if kazakh_surnames.contains(s) || s.ends_with("ұлы") || s.ends_with("қызы") {
                kazakh += 1;
            }
            uly_surnames += usize::from(s.ends_with("ұлы") || s.ends_with("қызы"));
            for text in [&p.surname, &p.given_name] {
                assert!(text.chars().all(is_cyrillic), "{text}");
            }
        }
        let share = |k: usize| k as f64 / n as f64;
        assert!(
            (0.62..0.80).contains(&share(kazakh)),
            "Kazakh {}",
            share(kazakh)
        );
        assert!(
            (0.003..0.05).contains(&share(no_patronymic)),
            "{no_patronymic}"
        );
        assert!(uly_surnames > 0);
        assert!((0.47..0.53).contains(&share(men)), "men {}", share(men));
    }

    fn is_cyrillic(c: char) -> bool {
        matches!(c, 'А'..='я' | 'ё' | 'Ё' | '-') || "ӘәҒғҚқҢңӨөҰұҮүҺһІі".contains(c)
    }

    #[test]
    fn about_one_percent_are_in_the_online_window_on_any_day() {
        let n = 100_000;
        for (seed, today) in [(3, today()), (4, date(2026, 3, 31))] {
            let in_window = generate(seed, n, today)
                .filter(|p| (-10..=30).contains(&days_between(today, p.document.last_valid_day)))
                .count();
            let share = in_window as f64 / n as f64;
            eprintln!(
                "{today}: {in_window} of {n} in [today-10, today+30] = {:.2} %",
                share * 100.0
            );
            assert!((0.008..0.015).contains(&share), "{today}: share {share}");
        }
    }

    #[test]
    #[ignore = "prints a sample to look at"]
    fn print_a_sample() {
        for p in generate(1, 12, today()) {
            eprintln!(
                "{}",
                crate::register::csv::to_csv_string([&p])
                    .lines()
                    .nth(1)
                    .unwrap()
            );
        }
    }

    #[test]
    fn regions_follow_population_and_phones_and_languages_are_plausible() {
        let n = 100_000;
        let mut regions = BTreeMap::<String, u32>::new();
        let mut langs = std::collections::HashMap::<Lang, u32>::new();
        for p in generate(11, n, today()) {
            *regions.entry(p.region.to_string()).or_default() += 1;
            *langs.entry(p.language).or_default() += 1;
            assert_eq!(Phone::parse(p.phone.as_str()).unwrap(), p.phone);
            assert!(
                MOBILE_PREFIXES.contains(&&p.phone.as_str()[2..5]),
                "{:?}",
                p.phone
            );
            assert!(
                p.address.starts_with("г. ") && p.address.contains(", д. "),
                "{}",
                p.address
            );
        }
        for r in Regions::builtin().iter() {
            assert!(
                regions.contains_key(&r.code.to_string()),
                "no one in {}",
                r.code
            );
        }
        assert_eq!(regions.len(), 20);
        let count = |code: &str| regions[code];
        // Almaty city, Turkistan, Astana, Shymkent, Almaty Region are the largest; Ulytau
        // the smallest.
        for big in ["75", "61", "71", "79", "19"] {
            assert!(count(big) > 5 * count("62"), "{regions:?}");
            assert!(count(big) > count("59"), "{regions:?}");
        }
        let share = |l: Lang| f64::from(langs.get(&l).copied().unwrap_or(0)) / n as f64;
        assert!(
            share(Lang::Kk) > 0.35 && share(Lang::Ru) > 0.35,
            "{langs:?}"
        );
        assert!((0.01..0.06).contains(&share(Lang::En)), "{langs:?}");
    }

    #[test]
    fn data_files_are_complete_and_every_line_is_used() {
        let t = Tables::get();
        for (group, text) in [(&t.kk, NAMES_KK), (&t.ru, NAMES_RU)] {
            assert!(group.male.len() >= 60 && group.female.len() >= 60);
            assert_eq!(
                group.male.len() + group.female.len(),
                text.lines().count() - 1
            );
            let unique: HashSet<&str> = group
                .male
                .iter()
                .map(|g| g.name)
                .chain(group.female.iter().copied())
                .collect();
            assert_eq!(unique.len(), group.male.len() + group.female.len());
        }
        assert!(t.ru.male.iter().all(|g| g.patronymics.is_some()));
        assert!(t.kk_surnames.len() >= 80 && t.ru_surnames.len() >= 80);
        assert_eq!(t.kk_surnames.len(), SURNAMES_KK.lines().count() - 1);
        assert_eq!(t.ru_surnames.len(), SURNAMES_RU.lines().count() - 1);
        assert!(t
            .kk_surnames
            .iter()
            .all(|(_, e)| ["ов", "ев", "ин"].contains(e)));
        assert_eq!(t.streets.len(), STREETS.lines().count() - 1);
        let builtin = Regions::builtin();
        assert_eq!(t.regions.len(), builtin.len());
        for r in &t.regions {
            assert!(builtin.get(r.code).is_some(), "{}", r.code);
        }
        assert_eq!(AGE_BANDS.iter().map(|b| u32::from(b.2)).sum::<u32>(), 100);
    }

    #[test]
    fn rule_patronymics() {
        let g = |name| GivenName {
            name,
            patronymics: None,
        };
        assert_eq!(russian_patronymic(&g("Серік"), false), "Серікович");
        assert_eq!(russian_patronymic(&g("Серік"), true), "Серіковна");
        assert_eq!(russian_patronymic(&g("Тұрсынбай"), false), "Тұрсынбаевич");
        assert_eq!(russian_patronymic(&g("Тұрсынбай"), true), "Тұрсынбаевна");
        assert_eq!(kazakh_patronymic("Нұрлан", false), "Нұрланұлы");
        assert_eq!(kazakh_patronymic("Нұрлан", true), "Нұрланқызы");
    }

    #[test]
    fn the_permutation_is_a_bijection() {
        for n in [1u64, 2, 3, 7, 100, 2922, 4096, 7305] {
            let mut seen = vec![false; n as usize];
            for x in 0..n {
                let y = permute(x, n, 0xDEAD_BEEF ^ n);
                assert!(y < n);
                assert!(!seen[y as usize], "n={n}: {y} twice");
                seen[y as usize] = true;
            }
        }
    }

    #[test]
    fn every_serial_pair_yields_a_valid_iin() {
        let mut day = date(1936, 1, 1);
        for _ in 0..40 {
            for sex in [Sex::Male, Sex::Female] {
                for pair in 0..SERIAL_PAIRS as u16 {
                    let ok = Iin::from_parts(day, sex, 2 * pair).is_some()
                        || Iin::from_parts(day, sex, 2 * pair + 1).is_some();
                    assert!(ok, "{day} {sex:?} {pair}");
                }
            }
            day = add_days(day, 677);
        }
    }

    #[test]
    fn capacity_covers_the_country_and_stops_there() {
        let g = Generator::new(0, today());
        assert!(g.capacity() >= 100_000_000, "{}", g.capacity());
        assert!(g.person(g.capacity() - 1).is_some());
        assert!(g.person(g.capacity()).is_none());
        assert_eq!(g.people(g.capacity() - 2..u64::MAX).count(), 2);
    }

    #[test]
    fn a_leap_day_today_still_gives_adults() {
        let today = date(2024, 2, 29);
        for p in generate(2, 20_000, today) {
            let age = age_on(p.iin.birth_date(), today);
            assert!((16..=90).contains(&age), "{age}");
            assert!(p.document.issued_on <= today);
        }
    }

    /// `cargo test -p kuelik-core --release register -- --ignored --nocapture`
    #[test]
    #[ignore = "release-mode check over 20 million IINs"]
    fn iins_are_unique_for_twenty_million_people() {
        let g = Generator::new(2025, today());
        let n = 20_000_000u64;
        let mut iins: Vec<Iin> = (0..n).map(|i| g.iin(i).unwrap()).collect();
        iins.sort_unstable();
        let before = iins.len();
        iins.dedup();
        assert_eq!(iins.len(), before);
    }

    /// `cargo test -p kuelik-core --release register -- --ignored --nocapture`
    #[test]
    #[ignore = "release-mode timing"]
    fn generates_a_million_people_quickly() {
        let start = std::time::Instant::now();
        let mut bytes = 0usize;
        for p in generate(2025, 1_000_000, today()) {
            bytes += p.surname.len() + p.address.len();
        }
        let elapsed = start.elapsed();
        eprintln!("1,000,000 people generated in {elapsed:?} ({bytes} bytes of names/addresses)");
        assert!(elapsed.as_secs() < 60);

        // The same million through CSV: streamed out, streamed back in.
        let start = std::time::Instant::now();
        let text = crate::register::csv::to_csv_string(
            &generate(2025, 1_000_000, today()).collect::<Vec<_>>(),
        );
        let written = start.elapsed();
        let start = std::time::Instant::now();
        let read = crate::register::csv::PersonReader::from_text(&text, &Regions::builtin())
            .filter(Result::is_ok)
            .count();
        eprintln!(
            "CSV of 1,000,000 ({} MB): generate+write {written:?}, parse {:?}",
            text.len() / 1_000_000,
            start.elapsed()
        );
        assert_eq!(read, 1_000_000);
    }
}
