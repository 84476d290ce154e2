//! Money in integer tiyn (1 tenge = 100 tiyn). Never floating point.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tiyn(pub u64);

impl Tiyn {
    pub fn from_tenge(tenge: u64) -> Tiyn {
        Tiyn(tenge.saturating_mul(100))
    }

    /// The amount in tenge with exactly two decimals, e.g. `"786.40"`.
    pub fn tenge_string(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl fmt::Display for Tiyn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ₸", self.tenge_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_tenge_with_two_decimals() {
        assert_eq!(Tiyn(78_640).tenge_string(), "786.40");
        assert_eq!(Tiyn(86_500).to_string(), "865.00 ₸");
        assert_eq!(Tiyn(5).tenge_string(), "0.05");
        assert_eq!(Tiyn::from_tenge(3932), Tiyn(393_200));
    }
}
