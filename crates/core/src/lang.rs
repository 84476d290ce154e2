//! The three languages of the service: Kazakh (state language), Russian and English.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Kk,
    Ru,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

    /// The BCP 47 tag, as used in `<html lang>` and `Accept-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: use kk, ru or en")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Accept region subtags ("ru-KZ", "kk_KZ") since browsers send them.
        let primary = s
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "kk" => Ok(Lang::Kk),
            "ru" => Ok(Lang::Ru),
            "en" => Ok(Lang::En),
            _ => Err(UnknownLang(s.to_string())),
        }
    }
}

/// One text in each of the three languages. Serialized as `{"kk": …, "ru": …, "en": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    pub kk: String,
    pub ru: String,
    pub en: String,
}

impl Localized {
    /// A text written out in the three languages.
    pub fn new(kk: &str, ru: &str, en: &str) -> Localized {
        Localized {
            kk: kk.into(),
            ru: ru.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Kk => &self.kk,
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        }
    }

    /// Builds a text by asking `f` for each language.
    pub fn from_fn(mut f: impl FnMut(Lang) -> String) -> Localized {
        Localized {
            kk: f(Lang::Kk),
            ru: f(Lang::Ru),
            en: f(Lang::En),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_with_region_subtags() {
        assert_eq!("ru-KZ".parse::<Lang>(), Ok(Lang::Ru));
        assert_eq!("KK".parse::<Lang>(), Ok(Lang::Kk));
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert!("de".parse::<Lang>().is_err());
        assert!("".parse::<Lang>().is_err());
    }
}
