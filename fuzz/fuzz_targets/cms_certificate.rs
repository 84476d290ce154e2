//! The trust chain's parsers on arbitrary bytes: a detached CMS signature checked against a
//! fixed demo trust store, a certificate, a CRL, and a revoked-serials text file. The first
//! byte picks which; none may panic.
#![no_main]
use std::sync::LazyLock;

use kuelik_trust::cms;
use kuelik_trust::pki::{self, RevocationList, TrustStore};
use libfuzzer_sys::fuzz_target;

/// The demo CA of the seed corpus (`kuelik pki demo-ca`), and the document it signed.
const ANCHOR: &str = include_str!("../fixtures/ca.pem");
const CONTENT: &[u8] = include_bytes!("../fixtures/document.json");

static TRUST: LazyLock<TrustStore> =
    LazyLock::new(|| TrustStore::new(ANCHOR, RevocationList::new()).expect("the demo anchor"));

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    match pick % 4 {
        0 => {
            let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
            let _ = cms::verify_detached(rest, CONTENT, &TRUST, at);
            let _ = cms::signer_certificate(rest);
        }
        1 => {
            let _ = pki::inspect_certificate(rest);
            let _ = TRUST.verify_certificate(rest, jiff::Timestamp::from_second(1_800_000_000).unwrap());
        }
        2 => {
            let _ = RevocationList::new().add_crl(rest);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(list) = RevocationList::from_text(text) {
                    // What it reads, it writes back the same way.
                    let again = RevocationList::from_text(&list.to_text()).expect("its own text");
                    assert_eq!(again.len(), list.len());
                }
            }
        }
    }
});
