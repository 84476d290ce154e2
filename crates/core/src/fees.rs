//! The state duty (государственная пошлина): a multiple of the МРП of the year of payment,
//! computed in integer tiyn. After an annulment it is refunded and paid again (R13).

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::document::DocumentKind;
use crate::money::Tiyn;
use crate::rules::{MrpMultiple, RuleSet};

const BUILTIN: &str = include_str!("../data/mrp.toml");

/// МРП in tenge by calendar year (set by each year's budget law).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrpTable(BTreeMap<i16, u64>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MrpFile {
    mrp_tenge: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error("the МРП table is not valid: {0}")]
    BadTable(String),
    #[error("no МРП is known for {0}: add the year's value from the budget law")]
    NoMrpForYear(i16),
    #[error("rule set {version} sets no duty for {kind}")]
    NoDutyForKind { version: String, kind: DocumentKind },
}

impl FeeError {
    pub fn code(&self) -> &'static str {
        match self {
            FeeError::BadTable(_) => "bad_mrp_table",
            FeeError::NoMrpForYear(_) => "no_mrp_for_year",
            FeeError::NoDutyForKind { .. } => "no_duty_for_kind",
        }
    }
}

impl MrpTable {
    pub fn builtin() -> MrpTable {
        MrpTable::from_toml(BUILTIN).unwrap_or(MrpTable(BTreeMap::new()))
    }

    /// Parses `[mrp_tenge]` with `YEAR = TENGE` lines.
    pub fn from_toml(text: &str) -> Result<MrpTable, FeeError> {
        let file: MrpFile = toml::from_str(text).map_err(|e| FeeError::BadTable(e.to_string()))?;
        let mut table = BTreeMap::new();
        for (year, tenge) in file.mrp_tenge {
            let y: i16 = year
                .parse()
                .ok()
                .filter(|y| (1992..=2200).contains(y))
                .ok_or_else(|| FeeError::BadTable(format!("{year:?} is not a year")))?;
            if tenge == 0 {
                return Err(FeeError::BadTable(format!("МРП for {y} is zero")));
            }
            table.insert(y, tenge);
        }
        Ok(MrpTable(table))
    }

    pub fn tenge(&self, year: i16) -> Option<u64> {
        self.0.get(&year).copied()
    }
}

/// The duty due for a document on a given (Almaty) date, with how it was computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duty {
    pub document: DocumentKind,
    pub on: Date,
    pub rules_version: String,
    pub mrp_year: i16,
    pub mrp_tenge: u64,
    pub duty_mrp: MrpMultiple,
    pub amount: Tiyn,
}

/// The duty in force on the day of payment: `duty_mrp × МРP(year of on)`, rounded half up
/// to the tiyn (the shipped rates are exact; rounding only matters for odd future rates).
pub fn duty_due(
    rules: &RuleSet,
    mrp: &MrpTable,
    document: DocumentKind,
    on: Date,
) -> Result<Duty, FeeError> {
    let duty_mrp = *rules
        .duty_mrp
        .get(&document)
        .ok_or_else(|| FeeError::NoDutyForKind {
            version: rules.version.clone(),
            kind: document,
        })?;
    let mrp_year = on.year();
    let mrp_tenge = mrp
        .tenge(mrp_year)
        .ok_or(FeeError::NoMrpForYear(mrp_year))?;
    // tiyn = tenge × 100 × (ten-thousandths / 10,000), in u128 so no product can overflow.
    let numerator = u128::from(mrp_tenge) * 100 * u128::from(duty_mrp.ten_thousandths());
    let amount = (numerator + 5_000) / 10_000;
    Ok(Duty {
        document,
        on,
        rules_version: rules.version.clone(),
        mrp_year,
        mrp_tenge,
        duty_mrp,
        amount: Tiyn(u64::try_from(amount).unwrap_or(u64::MAX)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn due(kind: DocumentKind, on: Date) -> Result<Duty, FeeError> {
        duty_due(
            &RuleSet::builtin("pilot-2025").unwrap(),
            &MrpTable::from_toml(BUILTIN).unwrap(),
            kind,
            on,
        )
    }

    #[test]
    fn identity_card_duty_matches_the_reference_table() {
        let d = due(DocumentKind::IdentityCard, date(2025, 6, 1)).unwrap();
        assert_eq!(d.amount, Tiyn(78_640)); // 0.2 × 3,932 ₸ = 786.40 ₸
        assert_eq!(d.mrp_tenge, 3932);
        let d = due(DocumentKind::IdentityCard, date(2026, 1, 1)).unwrap();
        assert_eq!(d.amount, Tiyn(86_500)); // 0.2 × 4,325 ₸ = 865.00 ₸
    }

    #[test]
    fn the_year_of_payment_decides() {
        let dec = due(DocumentKind::IdentityCard, date(2025, 12, 31)).unwrap();
        let jan = due(DocumentKind::IdentityCard, date(2026, 1, 1)).unwrap();
        assert_eq!((dec.mrp_year, jan.mrp_year), (2025, 2026));
        assert!(jan.amount > dec.amount);
    }

    #[test]
    fn passport_is_eight_mrp() {
        let d = due(DocumentKind::Passport, date(2024, 3, 1)).unwrap();
        assert_eq!(d.amount, Tiyn(8 * 3692 * 100));
    }

    #[test]
    fn unknown_years_and_bad_tables_are_errors() {
        assert_eq!(
            due(DocumentKind::IdentityCard, date(2027, 1, 1)),
            Err(FeeError::NoMrpForYear(2027))
        );
        assert!(MrpTable::from_toml("[mrp_tenge]\nnext = 5\n").is_err());
        assert!(MrpTable::from_toml("[mrp_tenge]\n2027 = 0\n").is_err());
        assert!(MrpTable::from_toml("[mrp]\n2027 = 5000\n").is_err());
    }

    #[test]
    fn rounding_is_half_up_to_the_tiyn() {
        let mut rules = RuleSet::builtin("pilot-2025").unwrap();
        rules
            .duty_mrp
            .insert(DocumentKind::IdentityCard, "0.0001".parse().unwrap());
        // 0.0001 × 3,932 ₸ = 0.3932 ₸ = 39.32 tiyn → 39 tiyn.
        let mrp = MrpTable::from_toml(BUILTIN).unwrap();
        let d = duty_due(&rules, &mrp, DocumentKind::IdentityCard, date(2025, 7, 1)).unwrap();
        assert_eq!(d.amount, Tiyn(39));
        // 0.0001 × 3,450 ₸ = 34.5 tiyn → 35 tiyn.
        let d = duty_due(&rules, &mrp, DocumentKind::IdentityCard, date(2023, 7, 1)).unwrap();
        assert_eq!(d.amount, Tiyn(35));
    }

    proptest! {
        /// For any rate and any known year the amount is the exact product rounded half up,
        /// never off by more than half a tiyn, and a higher rate never costs less.
        #[test]
        fn amount_is_the_rounded_exact_product(
            rate in 0u64..2_000_000, bump in 1u64..10_000, year in 2023i16..=2026, day in 0i32..365
        ) {
            let mrp = MrpTable::from_toml(BUILTIN).unwrap();
            let on = crate::time::add_days(date(year, 1, 1), day);
            prop_assume!(on.year() == year);
            let mut rules = RuleSet::builtin("pilot-2025").unwrap();
            let mut at = |ten_thousandths: u64| {
                let text = format!("{}.{:04}", ten_thousandths / 10_000, ten_thousandths % 10_000);
                rules.duty_mrp.insert(DocumentKind::IdentityCard, text.parse().unwrap());
                duty_due(&rules, &mrp, DocumentKind::IdentityCard, on).unwrap()
            };
            let d = at(rate);
            let exact = u128::from(mrp.tenge(year).unwrap()) * 100 * u128::from(rate);
            let got = u128::from(d.amount.0) * 10_000;
            prop_assert!(got + 5_000 > exact && got <= exact + 5_000, "{got} vs {exact}");
            prop_assert!(at(rate + bump).amount >= d.amount);
        }
    }
}
