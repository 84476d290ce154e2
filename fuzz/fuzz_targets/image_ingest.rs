//! The upload path on arbitrary bytes: header sniffing, bounded decoding, and the photo and
//! signature checks. Never panics; refuses with an `IngestError` instead.
#![no_main]
use std::sync::LazyLock;

use kuelik_media::{check_photo, check_signature, read_header, Profile};
use libfuzzer_sys::fuzz_target;

static PROFILE: LazyLock<Profile> = LazyLock::new(Profile::default_profile);

fuzz_target!(|data: &[u8]| {
    let _ = read_header(data);
    // The first byte picks the check, so both are reached from one corpus.
    let Some((&pick, image)) = data.split_first() else {
        return;
    };
    if pick & 1 == 0 {
        let _ = check_photo(image, &PROFILE);
    } else {
        let _ = check_signature(image, &PROFILE);
    }
});
