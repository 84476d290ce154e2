//! Kazakhstan's working-day calendar: a five-day week, minus public holidays and days off
//! moved by law or decree, plus weekend days decreed as working days.
//!
//! The calendar is data (`data/nonworking-days.csv`), extended by an administrator each year
//! (2027 is provisional: the law's fixed dates only, until the year's transfer decree):
//! transfers are decreed yearly and Kurban Ait follows the lunar calendar, so no formula
//! can produce it. A year with no rows is "not covered": asking about it is an error rather
//! than a silent guess that would put a due date on a holiday.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday};
use serde::{Deserialize, Serialize};

use crate::time::add_days;

const BUILTIN: &str = include_str!("../data/nonworking-days.csv");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday (a day off whatever weekday it falls on).
    Holiday,
    /// A weekday off because a holiday fell on a weekend (next-working-day rule).
    MovedDayOff,
    /// A weekday off by a government transfer decree.
    TransferDayOff,
    /// A weekend day made a working day by a transfer decree.
    TransferWorkday,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("{0} appears twice in the calendar")]
    Duplicate(Date),
    #[error("the working-day calendar has no data for {0}: an administrator must add that year")]
    NotCovered(i16),
}

impl CalendarError {
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::Csv { .. } => "bad_csv",
            CalendarError::Duplicate(_) => "duplicate_date",
            CalendarError::NotCovered(_) => "calendar_not_covered",
        }
    }
}

#[derive(Deserialize)]
struct Row {
    date: Date,
    kind: DayKind,
    #[allow(dead_code)]
    name_en: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    exceptions: BTreeMap<Date, DayKind>,
    years: BTreeSet<i16>,
}

impl WorkingCalendar {
    /// The built-in calendar (2025–2026 from official calendars, 2027 provisional; sources in the file).
    pub fn builtin() -> WorkingCalendar {
        WorkingCalendar::from_csv(BUILTIN).unwrap_or(WorkingCalendar {
            exceptions: BTreeMap::new(),
            years: BTreeSet::new(),
        })
    }

    /// Parses `date,kind,name_en,…` rows. Every year that has a row counts as covered.
    pub fn from_csv(text: &str) -> Result<WorkingCalendar, CalendarError> {
        let mut exceptions = BTreeMap::new();
        let mut years = BTreeSet::new();
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .flexible(true)
            .from_reader(text.as_bytes());
        for row in reader.deserialize::<Row>() {
            let row = row.map_err(|e| CalendarError::Csv {
                line: e.position().map(|p| p.line()).unwrap_or(0),
                message: e.to_string(),
            })?;
            if exceptions.insert(row.date, row.kind).is_some() {
                return Err(CalendarError::Duplicate(row.date));
            }
            years.insert(row.date.year());
        }
        Ok(WorkingCalendar { exceptions, years })
    }

    pub fn covers(&self, date: Date) -> bool {
        self.years.contains(&date.year())
    }

    /// The first and last covered years, if any.
    pub fn covered_years(&self) -> Option<(i16, i16)> {
        Some((*self.years.first()?, *self.years.last()?))
    }

    pub fn is_working_day(&self, date: Date) -> Result<bool, CalendarError> {
        if !self.covers(date) {
            return Err(CalendarError::NotCovered(date.year()));
        }
        Ok(match self.exceptions.get(&date) {
            Some(DayKind::TransferWorkday) => true,
            Some(_) => false,
            None => !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday),
        })
    }

    /// The `n`-th working day after `start` (`start` itself is not counted, whatever it is).
    /// This is how a "within 15 working days" deadline falls due.
    pub fn add_working_days(&self, start: Date, n: u32) -> Result<Date, CalendarError> {
        let mut date = start;
        let mut left = n;
        while left > 0 {
            date = add_days(date, 1);
            if self.is_working_day(date)? {
                left -= 1;
            }
        }
        Ok(date)
    }

    /// Working days in `(from, to]`; 0 when `to <= from`. Used to show how late work is.
    pub fn working_days_between(&self, from: Date, to: Date) -> Result<u32, CalendarError> {
        let mut count = 0;
        let mut date = from;
        while date < to {
            date = add_days(date, 1);
            if self.is_working_day(date)? {
                count += 1;
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn cal() -> WorkingCalendar {
        WorkingCalendar::from_csv(BUILTIN).unwrap()
    }

    #[test]
    fn builtin_covers_2025_to_2027() {
        assert_eq!(cal().covered_years(), Some((2025, 2027)));
        assert_eq!(
            cal().is_working_day(date(2028, 1, 4)),
            Err(CalendarError::NotCovered(2028))
        );
        // 2027 is provisional (fixed dates and the next-working-day rule): 4 January is
        // the day off for 2 January, a Saturday.
        assert!(!cal().is_working_day(date(2027, 1, 4)).unwrap());
        assert!(!cal().is_working_day(date(2027, 3, 15)).unwrap()); // Constitution Day
    }

    #[test]
    fn weekends_holidays_and_transfers() {
        let c = cal();
        assert!(c.is_working_day(date(2025, 6, 4)).unwrap()); // Wednesday
        assert!(!c.is_working_day(date(2025, 6, 7)).unwrap()); // Saturday
        assert!(!c.is_working_day(date(2025, 6, 6)).unwrap()); // Kurban Ait, Friday
        assert!(!c.is_working_day(date(2025, 3, 24)).unwrap()); // moved day off, Monday
        assert!(!c.is_working_day(date(2025, 1, 3)).unwrap()); // transfer day off, Friday
        assert!(c.is_working_day(date(2025, 1, 5)).unwrap()); // working Sunday
                                                              // 30 August stopped being a holiday in 2026 (it is a Sunday anyway) and
                                                              // 31 August 2026 (Monday) is an ordinary working day.
        assert!(c.is_working_day(date(2026, 8, 31)).unwrap());
    }

    #[test]
    fn fifteen_working_days_across_holidays_and_a_year_end() {
        let c = cal();
        // Submitted Thursday 11 Dec 2025. 16 Dec (Independence Day) and 1–2 Jan are off:
        // 12,15,17,18,19,22,23,24,25,26,29,30,31 Dec are working days 1–13, then 5 and 6 Jan.
        assert_eq!(
            c.add_working_days(date(2025, 12, 11), 15),
            Ok(date(2026, 1, 6))
        );
        // Submitted on a Saturday: counting starts on Monday.
        assert_eq!(
            c.add_working_days(date(2026, 2, 7), 1),
            Ok(date(2026, 2, 9))
        );
        // Nauryz 2026: 21–25 March are all off (Sat–Wed).
        assert_eq!(
            c.add_working_days(date(2026, 3, 20), 1),
            Ok(date(2026, 3, 26))
        );
        // Running past the covered years is an explicit error.
        assert_eq!(
            c.add_working_days(date(2027, 12, 20), 15),
            Err(CalendarError::NotCovered(2028))
        );
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        let text = "date,kind,name_en,name_ru,source\n2025-01-01,holiday,a,b,c\n2025-13-01,holiday,a,b,c\n";
        assert!(matches!(
            WorkingCalendar::from_csv(text),
            Err(CalendarError::Csv { line: 3, .. })
        ));
        let kind = "date,kind,name_en\n2025-01-01,festival,a\n";
        assert!(matches!(
            WorkingCalendar::from_csv(kind),
            Err(CalendarError::Csv { .. })
        ));
        let dup = "date,kind,name_en\n2025-01-01,holiday,a\n2025-01-01,holiday,b\n";
        assert_eq!(
            WorkingCalendar::from_csv(dup),
            Err(CalendarError::Duplicate(date(2025, 1, 1)))
        );
    }

    proptest! {
        #[test]
        fn adding_then_counting_agrees(offset in 0i32..600, n in 0u32..40) {
            let c = cal();
            let start = add_days(date(2025, 1, 1), offset);
            if let Ok(due) = c.add_working_days(start, n) {
                prop_assert_eq!(c.working_days_between(start, due), Ok(n));
                if n > 0 {
                    prop_assert!(c.is_working_day(due).unwrap());
                }
            }
        }
    }
}
