//! How dates, times and money are written for a reader of each language: CLDR's patterns
//! through ICU4X (data compiled in), not hand-written ones. Dates are numeric with the full
//! year — "05.12.2026" (kk, ru), "05/12/2026" (en, British order) — the form on Kazakh
//! documents, which also sits inside a sentence without a trailing "г." meeting its full
//! stop; times use a 24-hour clock; money has the language's separators: "786,40 ₸".
//!
//! Document numbers and ticket numbers are identifiers, not quantities: they are shown
//! exactly as issued (leading zeros kept) and never pass through a number formatter.

use std::cell::OnceCell;

use icu_datetime::fieldsets::{YMD, YMDT};
use icu_datetime::input::{Date as IcuDate, DateTime as IcuDateTime, Time as IcuTime};
use icu_datetime::options::{TimePrecision, YearStyle};
use icu_datetime::DateTimeFormatter;
use icu_decimal::input::Decimal;
use icu_decimal::DecimalFormatter;
use icu_locale_core::{locale, Locale};
use jiff::civil::{Date, DateTime};

use crate::lang::Lang;
use crate::money::Tiyn;

fn locale_of(lang: Lang) -> Locale {
    match lang {
        Lang::Kk => locale!("kk"),
        Lang::Ru => locale!("ru"),
        // en-GB: day before month and a 24-hour clock, as readers in Kazakhstan expect.
        Lang::En => locale!("en-GB"),
    }
}

/// The ISO calendar date ICU4X formats (jiff's years, months and days are always in range).
macro_rules! icu_date {
    ($date:expr) => {
        IcuDate::try_new_iso(
            i32::from($date.year()),
            $date.month().unsigned_abs(),
            $date.day().unsigned_abs(),
        )
    };
}

/// One language's formatters, made once per thread on first use. Making a formatter loads and
/// resolves CLDR's patterns — many times the work of formatting one value — and an answer that
/// shows dates or sums made one per value (callgrind, PERFORMANCE.md). Per thread because
/// ICU4X's formatters are not `Sync`; `None` where a locale had no data (all three are
/// compiled in, so never in practice).
struct Formatters {
    date: Option<DateTimeFormatter<YMD>>,
    date_time: Option<DateTimeFormatter<YMDT>>,
    decimal: Option<DecimalFormatter>,
}

impl Formatters {
    fn new(lang: Lang) -> Formatters {
        Formatters {
            date: DateTimeFormatter::try_new(
                locale_of(lang).into(),
                YMD::short().with_year_style(YearStyle::Full),
            )
            .ok(),
            date_time: DateTimeFormatter::try_new(
                locale_of(lang).into(),
                YMDT::short()
                    .with_year_style(YearStyle::Full)
                    .with_time_precision(TimePrecision::Minute),
            )
            .ok(),
            decimal: DecimalFormatter::try_new(locale_of(lang).into(), Default::default()).ok(),
        }
    }
}

thread_local! {
    static FORMATTERS: [OnceCell<Formatters>; 3] =
        const { [OnceCell::new(), OnceCell::new(), OnceCell::new()] };
}

fn with_formatters<T>(lang: Lang, f: impl FnOnce(&Formatters) -> T) -> T {
    let index = match lang {
        Lang::Kk => 0,
        Lang::Ru => 1,
        Lang::En => 2,
    };
    FORMATTERS.with(|all| f(all[index].get_or_init(|| Formatters::new(lang))))
}

/// A day: "05.12.2026" (kk, ru), "05/12/2026" (en).
pub fn date(lang: Lang, date: Date) -> String {
    with_formatters(lang, |made| match (&made.date, icu_date!(date)) {
        (Some(f), Ok(d)) => f.format(&d).to_string(),
        // Only a locale without data could get here (all three are compiled in).
        _ => date.to_string(),
    })
}

/// A local date and time to the minute: "05.12.2026, 14:30" (kk, ru), "05/12/2026, 14:30" (en).
pub fn date_time(lang: Lang, at: DateTime) -> String {
    let time = IcuTime::try_new(at.hour().unsigned_abs(), at.minute().unsigned_abs(), 0, 0);
    with_formatters(lang, |made| {
        match (&made.date_time, icu_date!(at.date()), time) {
            (Some(f), Ok(date), Ok(time)) => f.format(&IcuDateTime { date, time }).to_string(),
            _ => at.strftime("%Y-%m-%d %H:%M").to_string(),
        }
    })
}

/// `number` with the language's separators, or `None` where the locale had no data.
fn decimal(lang: Lang, number: &Decimal) -> Option<String> {
    with_formatters(lang, |made| {
        made.decimal.as_ref().map(|f| f.format(number).to_string())
    })
}

/// An amount of money in tenge: "865 ₸", "786,40 ₸" (kk, ru), "₸786.40" (en). Kopecks —
/// tiyn — show only when there are some, as receipts in Kazakhstan print them.
pub fn money(lang: Lang, amount: Tiyn) -> String {
    let mut number = Decimal::from(amount.0);
    if amount.0 % 100 == 0 {
        number = Decimal::from(amount.0 / 100);
    } else {
        number.multiply_pow10(-2);
    }
    let digits = decimal(lang, &number).unwrap_or_else(|| amount.tenge_string());
    // CLDR's currency patterns for these locales: "#,##0.00 ¤" (kk, ru), "¤#,##0.00" (en).
    match lang {
        Lang::Kk | Lang::Ru => format!("{digits}\u{a0}₸"),
        Lang::En => format!("₸{digits}"),
    }
}

/// A measured value to two decimals at most, with the language's separators: "0,85" (kk, ru),
/// "0.85" (en); "12" rather than "12,00".
pub fn number(lang: Lang, value: f64) -> String {
    if !value.is_finite() {
        return "—".to_string();
    }
    // Hundredths as an integer: no float formatting, and no value can overflow it.
    let hundredths = (value * 100.0).round().clamp(-1e15, 1e15) as i64;
    let mut number = Decimal::from(hundredths);
    number.multiply_pow10(-2);
    number.trim_end();
    decimal(lang, &number).unwrap_or_else(|| format!("{value:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_each_language_writes_them() {
        let day = jiff::civil::date(2026, 12, 5);
        assert_eq!(date(Lang::Ru, day), "05.12.2026");
        assert_eq!(date(Lang::Kk, day), "05.12.2026");
        assert_eq!(date(Lang::En, day), "05/12/2026");
    }

    /// The formatters are made once per thread and language: a second call, another
    /// language in between and another thread all write the same.
    #[test]
    fn formatters_made_once_write_the_same_on_every_call_and_thread() {
        let day = jiff::civil::date(2026, 12, 5);
        let first: Vec<String> = Lang::ALL.iter().map(|l| date(*l, day)).collect();
        let again: Vec<String> = Lang::ALL.iter().rev().map(|l| date(*l, day)).collect();
        assert_eq!(first, again.into_iter().rev().collect::<Vec<_>>());
        let elsewhere = std::thread::spawn(move || {
            Lang::ALL
                .iter()
                .map(|l| (date(*l, day), money(*l, Tiyn(78_640))))
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        for (lang, (d, m)) in Lang::ALL.iter().zip(elsewhere) {
            assert_eq!(d, date(*lang, day));
            assert_eq!(m, money(*lang, Tiyn(78_640)));
        }
        assert_eq!(money(Lang::En, Tiyn(78_640)), "₸786.40");
        assert_eq!(date(Lang::Ru, jiff::civil::date(2027, 1, 31)), "31.01.2027");
    }

    #[test]
    fn times_use_a_24_hour_clock() {
        let at = jiff::civil::date(2026, 1, 9).at(14, 5, 59, 0);
        for lang in Lang::ALL {
            let text = date_time(lang, at);
            assert!(text.contains("14:05"), "{lang}: {text}");
            assert!(text.contains("2026"), "{lang}: {text}");
        }
    }

    #[test]
    fn measured_values_have_the_languages_decimal_sign() {
        assert_eq!(number(Lang::Ru, 0.8512), "0,85");
        assert_eq!(number(Lang::Kk, 0.8512), "0,85");
        assert_eq!(number(Lang::En, 0.8512), "0.85");
        assert_eq!(number(Lang::En, 12.0), "12");
        assert_eq!(number(Lang::En, -3.5), "-3.5");
        assert_eq!(number(Lang::En, f64::NAN), "—");
    }

    #[test]
    fn money_has_the_languages_separators_and_no_empty_kopecks() {
        assert_eq!(money(Lang::Ru, Tiyn(86_500)), "865\u{a0}₸");
        assert_eq!(money(Lang::Ru, Tiyn(78_640)), "786,40\u{a0}₸");
        assert_eq!(money(Lang::Kk, Tiyn(78_640)), "786,40\u{a0}₸");
        assert_eq!(money(Lang::En, Tiyn(78_640)), "₸786.40");
        assert_eq!(money(Lang::En, Tiyn(1_234_500)), "₸12,345");
        let ru = money(Lang::Ru, Tiyn(1_234_500));
        assert!(
            ru.starts_with("12") && ru.ends_with("345\u{a0}₸") && !ru.contains(','),
            "{ru}"
        );
    }
}
