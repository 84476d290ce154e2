//! Untrusted structured text short of the HTTP layer (the server crate is too heavy to build
//! here; its request types are serde derives over serde_json, and its limits are tested by
//! the abuse suite): RFC 8785 canonical JSON (what officers sign), rule-set, fee-table and
//! image-profile TOML. The first byte picks which; none may panic, and canonical JSON is a
//! fixed point.
#![no_main]
use kuelik_trust::jcs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match pick % 4 {
        0 => {
            if let Ok(value) = jcs::parse(text) {
                if let Ok(canonical) = jcs::canonicalize(&value) {
                    let again = std::str::from_utf8(&canonical).expect("canonical JSON is UTF-8");
                    assert_eq!(jcs::canonicalize_str(again).ok(), Some(canonical.clone()));
                }
            }
        }
        1 => {
            let _ = kuelik_core::rules::RuleSet::from_toml(text);
        }
        2 => {
            let _ = kuelik_core::fees::MrpTable::from_toml(text);
        }
        _ => {
            let _ = kuelik_media::Profile::from_toml(text);
        }
    }
});
