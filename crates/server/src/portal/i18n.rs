//! The portal's own words (headings, labels, buttons, hints) in Kazakh, Russian and English,
//! from Fluent files compiled in (`portal/locales/`). Domain messages (eligibility answers,
//! state names, photo advice, errors) come from the core and the API already localized.
//!
//! A key missing in one language shows as `⟦key⟧` and is logged, never as another
//! language's text; `tests` fail the build on a key missing from any file or used by a
//! template without a definition, and the browser suite fails on a `⟦` on any page.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use kuelik_core::lang::Lang;

pub(crate) const SOURCES: [(Lang, &str); 3] = [
    (Lang::Kk, include_str!("../../portal/locales/kk/portal.ftl")),
    (Lang::Ru, include_str!("../../portal/locales/ru/portal.ftl")),
    (Lang::En, include_str!("../../portal/locales/en/portal.ftl")),
];

struct Catalog {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
}

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog {
    bundles: SOURCES
        .iter()
        .map(|(lang, text)| {
            let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // HTML is escaped by the templates; isolation marks would show in `<title>`.
            bundle.set_use_isolating(false);
            let resource = FluentResource::try_new(text.to_string()).unwrap_or_else(|(r, _)| r);
            let _ = bundle.add_resource(resource);
            (*lang, bundle)
        })
        .collect(),
});

/// Whether `lang`'s catalogue has `key` (for words looked up by a code from elsewhere).
pub fn has(lang: Lang, key: &str) -> bool {
    CATALOG
        .bundles
        .iter()
        .any(|(l, b)| *l == lang && b.get_message(key).is_some())
}

/// The text of `key` in `lang` with named arguments; `⟦key⟧` when it is missing.
pub fn text(lang: Lang, key: &str, args: &[(&str, String)]) -> String {
    let Some(bundle) = CATALOG
        .bundles
        .iter()
        .find(|(l, _)| *l == lang)
        .map(|(_, b)| b)
    else {
        return format!("⟦{key}⟧");
    };
    let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
        tracing::error!(key, lang = lang.tag(), "portal message missing");
        return format!("⟦{key}⟧");
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        match value.parse::<i64>() {
            // Counts go in as numbers so plural rules (`[one]`, `[other]`) apply. Digits that
            // are an identifier — a document number with its leading zero, anything longer
            // than a count — stay text, exactly as given.
            Ok(n) if n.to_string() == *value && value.len() <= 6 => {
                fluent_args.set(*name, FluentValue::from(n))
            }
            _ => fluent_args.set(*name, FluentValue::from(value.clone())),
        }
    }
    let mut errors = Vec::new();
    let out = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    if !errors.is_empty() {
        tracing::error!(
            key,
            lang = lang.tag(),
            "portal message has unfilled arguments"
        );
    }
    out.into_owned()
}

#[cfg(test)]
/// Every message id defined in one language's file.
pub(crate) fn keys(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| !l.starts_with([' ', '#', '-', '.', '[', '*', '}']) && l.contains(" ="))
        .filter_map(|l| l.split(" =").next())
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_file_parses_and_defines_the_same_keys() {
        let mut all: Vec<(Lang, BTreeSet<String>)> = Vec::new();
        for (lang, source) in SOURCES {
            if let Err((_, errors)) = FluentResource::try_new(source.to_string()) {
                panic!("{lang}: portal.ftl does not parse: {errors:?}");
            }
            all.push((lang, keys(source).into_iter().collect()));
        }
        let union: BTreeSet<String> = all.iter().flat_map(|(_, k)| k.clone()).collect();
        assert!(union.len() > 50, "the portal has its words");
        for (lang, keys) in &all {
            let missing: Vec<_> = union.difference(keys).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        }
    }

    #[test]
    fn every_key_a_template_uses_is_defined_in_every_language() {
        let used = super::super::templates::used_keys();
        assert!(used.len() > 50, "templates use the catalogue");
        for (lang, _) in SOURCES {
            for key in &used {
                let out = text(lang, key, &[]);
                assert!(
                    !out.starts_with('⟦'),
                    "{lang}: template key {key} is missing"
                );
            }
        }
    }

    #[test]
    fn a_missing_key_is_marked_not_replaced_by_another_language() {
        assert_eq!(text(Lang::Kk, "no-such-key", &[]), "⟦no-such-key⟧");
    }

    #[test]
    fn a_document_number_is_shown_as_given() {
        for number in ["045678912", "145678912"] {
            let out = text(
                Lang::En,
                "handover-old-invalid-text",
                &[("number", number.into())],
            );
            assert!(out.contains(&format!("№ {number} ")), "{out}");
        }
    }

    #[test]
    fn numbers_select_plural_forms() {
        let one = text(Lang::En, "days-waiting", &[("days", "1".into())]);
        let many = text(Lang::En, "days-waiting", &[("days", "5".into())]);
        assert_ne!(one, many);
        assert!(many.contains('5'));
    }

    /// One term per concept per language: the glossary's "avoid" list (docs/GLOSSARY.md)
    /// holds in every message file of the service (the core's, the API's errors, the portal's).
    #[test]
    fn every_message_file_keeps_to_the_glossary() {
        let glossary = include_str!("../../../../docs/GLOSSARY.md");
        let rules = glossary
            .split("<!-- avoid: begin -->")
            .nth(1)
            .and_then(|r| r.split("<!-- avoid: end -->").next())
            .expect("the glossary has its avoid list");
        let files: [(Lang, &str, &str); 9] = [
            (Lang::Kk, "portal", SOURCES[0].1),
            (Lang::Ru, "portal", SOURCES[1].1),
            (Lang::En, "portal", SOURCES[2].1),
            (
                Lang::Kk,
                "errors",
                include_str!("../../locales/kk/errors.ftl"),
            ),
            (
                Lang::Ru,
                "errors",
                include_str!("../../locales/ru/errors.ftl"),
            ),
            (
                Lang::En,
                "errors",
                include_str!("../../locales/en/errors.ftl"),
            ),
            (
                Lang::Kk,
                "core",
                include_str!("../../../core/locales/kk/kuelik.ftl"),
            ),
            (
                Lang::Ru,
                "core",
                include_str!("../../../core/locales/ru/kuelik.ftl"),
            ),
            (
                Lang::En,
                "core",
                include_str!("../../../core/locales/en/kuelik.ftl"),
            ),
        ];
        let mut checked = 0;
        for line in rules.lines().filter(|l| l.contains('→')) {
            let (lang, rule) = line.split_once(':').expect("lang: avoid → use");
            let lang: Lang = lang.trim().parse().expect("kk, ru or en");
            let avoid = rule.split('→').next().unwrap_or("").trim().to_lowercase();
            assert!(!avoid.is_empty(), "{line}");
            for (_, name, text) in files.iter().filter(|(l, _, _)| *l == lang) {
                let hit = text.lines().find(|l| l.to_lowercase().contains(&avoid));
                assert!(
                    hit.is_none(),
                    "{lang} {name}: {avoid:?} in {hit:?} ({line})"
                );
            }
            checked += 1;
        }
        assert!(checked >= 10, "the glossary lists what to avoid");
    }
}
