//! Kazakhstan time. The country has one zone, UTC+5, since 1 March 2024 (tz `Asia/Almaty`);
//! every rule speaks of Almaty calendar dates, never the server's UTC date.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// `Asia/Almaty`, compiled in from the bundled IANA database: no file is read at run time,
/// and the answer does not depend on the host's zoneinfo.
pub static ALMATY: TimeZone = jiff::tz::get!("Asia/Almaty");

/// The Almaty calendar date at an instant ("today" for every rule).
pub fn almaty_date(at: Timestamp) -> Date {
    at.to_zoned_datetime(ALMATY.clone()).date()
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Date, to: Date) -> i32 {
    // Date differences fit easily: the civil range is ±9999 years (< 4 million days).
    from.until(to).map(|span| span.get_days()).unwrap_or(0)
}

/// `date` moved by `days` (may be negative); saturates at the ends of the civil range.
pub fn add_days(date: Date, days: i32) -> Date {
    date.checked_add(jiff::Span::new().days(days))
        .unwrap_or(if days < 0 { Date::MIN } else { Date::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn nineteen_utc_is_midnight_in_almaty() {
        let before: Timestamp = "2026-01-09T18:59:59Z".parse().unwrap();
        let at: Timestamp = "2026-01-09T19:00:00Z".parse().unwrap();
        assert_eq!(almaty_date(before), date(2026, 1, 9));
        assert_eq!(almaty_date(at), date(2026, 1, 10));
        // domain.md: an application made at 23:30 UTC on 9 January is made on 10 January.
        let late: Timestamp = "2026-01-09T23:30:00Z".parse().unwrap();
        assert_eq!(almaty_date(late), date(2026, 1, 10));
    }

    #[test]
    fn the_2024_change_to_utc_plus_five_is_in_the_database() {
        // Before 1 March 2024 Almaty was UTC+6: 18:30 UTC was already the next day.
        let old: Timestamp = "2024-01-15T18:30:00Z".parse().unwrap();
        assert_eq!(almaty_date(old), date(2024, 1, 16));
        let new: Timestamp = "2025-01-15T18:30:00Z".parse().unwrap();
        assert_eq!(almaty_date(new), date(2025, 1, 15));
    }

    #[test]
    fn day_arithmetic() {
        assert_eq!(days_between(date(2025, 12, 31), date(2026, 1, 1)), 1);
        assert_eq!(days_between(date(2026, 3, 1), date(2026, 2, 1)), -28);
        assert_eq!(add_days(date(2024, 2, 28), 1), date(2024, 2, 29));
        assert_eq!(add_days(date(2026, 1, 1), -1), date(2025, 12, 31));
    }
}
