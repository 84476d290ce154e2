//! `Iin::parse` on any text: never panics; what it accepts prints back to the same IIN.
#![no_main]
use kuelik_core::iin::Iin;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(iin) = Iin::parse(text) {
        let printed = iin.to_string();
        assert_eq!(Iin::parse(&printed).ok(), Some(iin));
        let _ = (iin.birth_date(), iin.sex());
    }
});
