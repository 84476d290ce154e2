//! The test corpus (`corpus/manifest.toml`): committed sources, variants generated with one
//! defect each, and the verdict and failing measure each must get. Plus the hostile inputs:
//! decompression bombs under a memory meter, truncated and corrupt files, random bytes.

mod generator;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use kuelik_media::{check_photo, check_signature, hamming_distance, IngestError, Profile, Verdict};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// A per-thread allocation meter, so a test can state "this took at most N bytes" while
// other tests run on other threads.

struct MeteredAllocator;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    // `try_with`: allocations during thread teardown must not touch a destroyed slot.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| {
            if now > peak.get() {
                peak.set(now);
            }
        });
    });
}

unsafe impl GlobalAlloc for MeteredAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        account(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: MeteredAllocator = MeteredAllocator;

/// Runs `f` and returns its result with the most extra memory this thread held meanwhile.
fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, (peak - start).max(0) as usize)
}

const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------------------
// The manifest.

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    seed: u64,
    photo: Vec<Case>,
    signature: Vec<Case>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    source: String,
    defect: String,
    verdict: Option<String>,
    fails: Option<String>,
    raw: Option<f64>,
    #[serde(default)]
    also_may_fail: Vec<String>,
    error: Option<String>,
}

fn manifest() -> Manifest {
    let text = std::fs::read_to_string(corpus_path("manifest.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

fn corpus_path(name: &str) -> String {
    format!("{}/corpus/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn source(name: &str) -> Vec<u8> {
    std::fs::read(corpus_path(name)).unwrap()
}

/// Status of every measure, for failure messages.
fn table(measures: &[kuelik_media::Measure]) -> String {
    measures
        .iter()
        .map(|m| format!("\n  {:26} {:>10.4} {:?}", m.name, m.raw, m.status))
        .collect()
}

/// Checks one case's outcome against the manifest; returns a description of any mismatch.
fn judge_case(
    case: &Case,
    outcome: Result<(Verdict, Vec<kuelik_media::Measure>), IngestError>,
) -> Option<String> {
    match (outcome, &case.error) {
        (Err(e), Some(code)) if e.code() == code => None,
        (Err(e), _) => Some(format!("{}: refused with {} ({e})", case.name, e.code())),
        (Ok((verdict, _)), Some(code)) => Some(format!(
            "{}: expected error {code}, got verdict {verdict:?}",
            case.name
        )),
        (Ok((verdict, measures)), None) => {
            let expected = case.verdict.as_deref().unwrap_or("?");
            if verdict.as_str() != expected {
                return Some(format!(
                    "{}: verdict {verdict:?}, expected {expected}{}",
                    case.name,
                    table(&measures)
                ));
            }
            if let Some(name) = &case.fails {
                match measures.iter().find(|m| m.name == name) {
                    Some(m) if m.status == Verdict::Fail && case.raw.is_none_or(|r| r == m.raw) => {
                    }
                    _ => {
                        return Some(format!(
                            "{}: measure {name} did not fail (with raw {:?}){}",
                            case.name,
                            case.raw,
                            table(&measures)
                        ))
                    }
                }
            }
            let unexpected: Vec<&str> = measures
                .iter()
                .filter(|m| m.status == Verdict::Fail)
                .map(|m| m.name)
                .filter(|n| Some(*n) != case.fails.as_deref())
                .filter(|n| !case.also_may_fail.iter().any(|a| a == n))
                .collect();
            if !unexpected.is_empty() {
                return Some(format!(
                    "{}: unexpected failures {unexpected:?}{}",
                    case.name,
                    table(&measures)
                ));
            }
            None
        }
    }
}

/// Every photo variant gets its verdict, fails on its measure and on no unrelated one; the
/// compliant base (and its EXIF-rotated copy) passes.
#[test]
fn photo_corpus_variants_get_their_expected_verdicts() {
    let manifest = manifest();
    let profile = Profile::default_profile();
    let mut problems = Vec::new();
    for case in &manifest.photo {
        let bytes = generator::photo_variant(&case.defect, &source(&case.source), manifest.seed);
        let outcome = check_photo(&bytes, &profile).map(|r| (r.verdict, r.measures));
        problems.extend(judge_case(case, outcome));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The corpus must exercise what the issue lists, not a convenient subset.
    for defect in [
        "dark",
        "overexposed",
        "blurred",
        "heavy_jpeg",
        "cropped_face",
        "too_small",
        "rotated",
        "cluttered_background",
        "greyscale",
        "two_faces",
        "truncated",
        "bomb_png_header",
    ] {
        assert!(
            manifest.photo.iter().any(|c| c.defect == defect),
            "no {defect} variant"
        );
    }
    assert!(
        manifest.photo.iter().any(|c| c.source == "cat.jpg"),
        "no no-face source"
    );
}

#[test]
fn signature_corpus_variants_get_their_expected_verdicts() {
    let manifest = manifest();
    let profile = Profile::default_profile();
    let mut problems = Vec::new();
    for case in &manifest.signature {
        let bytes =
            generator::signature_variant(&case.defect, &source(&case.source), manifest.seed);
        let outcome = check_signature(&bytes, &profile).map(|r| (r.verdict, r.measures));
        problems.extend(judge_case(case, outcome));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The generator is deterministic: the same seed gives the same bytes.
#[test]
fn variants_are_reproducible() {
    let portrait = source("portrait.jpg");
    for defect in ["cluttered_background", "rotated", "corrupt_png"] {
        assert_eq!(
            generator::photo_variant(defect, &portrait, 7),
            generator::photo_variant(defect, &portrait, 7)
        );
    }
}

// ---------------------------------------------------------------------------------------
// Hostile inputs.

/// A PNG declaring 100000×100000 (30 GB of pixels) in a few dozen bytes, and a JPEG whose
/// header claims 60000×60000, are refused from the header: no pixel buffer is allocated and
/// no time is spent.
#[test]
fn decompression_bomb_headers_are_refused_before_decoding() {
    let profile = Profile::default_profile();
    let png = generator::photo_variant("bomb_png_header", &[], 1);
    let jpeg = generator::photo_variant("bomb_jpeg_header", &source("portrait.jpg"), 1);
    for (name, bytes) in [("png", png), ("jpeg", jpeg)] {
        let started = Instant::now();
        let (result, peak) = peak_bytes(|| check_photo(&bytes, &profile).map(|r| r.verdict));
        assert_eq!(result.unwrap_err().code(), "image_too_large", "{name}");
        assert!(
            peak < MIB,
            "{name}: {peak} bytes held while refusing a bomb"
        );
        assert!(started.elapsed() < Duration::from_secs(1), "{name}");
        let (result, _) = peak_bytes(|| check_signature(&bytes, &profile).map(|r| r.verdict));
        assert_eq!(result.unwrap_err().code(), "image_too_large", "{name}");
    }
}

/// A PNG whose header is within the size limits but whose pixels (6000×6000 RGB, 108 MB)
/// compress to under 1 MB: the decoder's memory cap stops it before the buffer exists.
#[test]
fn decompression_bomb_body_is_stopped_by_the_memory_cap() {
    let (width, height) = (6000u32, 6000u32);
    let bomb = generator::png_with_header(
        width,
        height,
        &generator::zlib_zeros(height as usize, width as usize * 3),
    );
    assert!(bomb.len() < MIB, "the bomb is {} bytes", bomb.len());
    let mut profile = Profile::default_profile();
    profile.ingest.max_decode_bytes = 64 * MIB as u64;
    let started = Instant::now();
    let (result, peak) = peak_bytes(|| check_photo(&bomb, &profile).map(|r| r.verdict));
    assert_eq!(result.unwrap_err().code(), "memory_limit_exceeded");
    assert!(peak < 4 * MIB, "{peak} bytes held while refusing the bomb");
    assert!(started.elapsed() < Duration::from_secs(2));

    // And a bomb the cap admits decodes within it (2000×2000: 12 MB of pixels).
    let bomb = generator::png_with_header(2000, 2000, &generator::zlib_zeros(2000, 6000));
    let (result, peak) = peak_bytes(|| check_photo(&bomb, &profile).map(|r| r.verdict));
    assert_eq!(result.unwrap(), Verdict::Fail, "a black frame has no face");
    assert!(peak < 64 * MIB, "{peak} bytes");
}

/// Every truncation of a JPEG and of a PNG is refused with a clear code, never decoded as a
/// half-grey picture and never a panic.
#[test]
fn truncated_and_corrupt_files_are_refused_with_a_code() {
    let profile = Profile::default_profile();
    let jpeg = source("portrait.jpg");
    let png = generator::png(&generator::load(&generator::photo_variant(
        "too_small",
        &jpeg,
        1,
    )));
    for file in [&jpeg, &png] {
        for cut in (1..32).map(|i| file.len() * i / 32) {
            let outcome = check_photo(&file[..cut], &profile);
            let code = outcome.map(|r| r.verdict).unwrap_err().code();
            assert!(
                ["truncated_image", "corrupt_image"].contains(&code),
                "cut at {cut} of {}: {code}",
                file.len()
            );
        }
    }
    assert_eq!(check_photo(&[], &profile).unwrap_err().code(), "empty_file");
    assert_eq!(
        check_photo(b"%PDF-1.7 not an image", &profile)
            .unwrap_err()
            .code(),
        "unsupported_format"
    );
    let mut small = Profile::default_profile();
    small.ingest.max_bytes = 1000;
    assert_eq!(
        check_photo(&jpeg, &small).unwrap_err().code(),
        "file_too_large"
    );
    let tiny = generator::jpeg(&image::RgbImage::new(40, 40), 90);
    assert_eq!(
        check_photo(&tiny, &profile).unwrap_err().code(),
        "image_too_small"
    );
}

fn small_jpeg() -> Vec<u8> {
    generator::photo_variant("too_small", &source("portrait.jpg"), 1)
}

fn small_png() -> Vec<u8> {
    generator::png(&generator::load(&small_jpeg()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random bytes, with and without a JPEG or PNG signature in front: an error or a
    /// report, never a panic.
    #[test]
    fn random_bytes_never_panic(
        prefix in prop_oneof![Just(vec![]), Just(vec![0xFF, 0xD8, 0xFF]), Just(b"\x89PNG\r\n\x1a\n".to_vec())],
        body in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        let profile = Profile::default_profile();
        let mut bytes = prefix;
        bytes.extend(body);
        let _ = check_photo(&bytes, &profile);
        let _ = check_signature(&bytes, &profile);
    }

    /// Real files with random bytes overwritten and a random tail cut off: an error or a
    /// report, never a panic.
    #[test]
    fn mutated_real_files_never_panic(
        png in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
        keep in 0.5f64..=1.0,
    ) {
        let profile = Profile::default_profile();
        let mut bytes = if png { small_png() } else { small_jpeg() };
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        bytes.truncate((bytes.len() as f64 * keep) as usize);
        if let Ok(report) = check_photo(&bytes, &profile) {
            prop_assert!(report.measures.iter().all(|m| m.score <= 100));
        }
        let _ = check_signature(&bytes, &profile);
    }
}

// ---------------------------------------------------------------------------------------
// Reports.

/// What the server returns: JSON with the verdict, every measure with kk/ru/en advice, and
/// the perceptual hash as 16 hex digits.
#[test]
fn reports_serialize_for_the_api() {
    let profile = Profile::default_profile();
    let report = check_photo(&source("portrait.jpg"), &profile).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["format"], "jpeg");
    assert_eq!(
        (json["width"].as_u64(), json["height"].as_u64()),
        (Some(600), Some(800))
    );
    assert_eq!(json["perceptual_hash"].as_str().unwrap().len(), 16);
    assert_eq!(json["provisional_profile"], true);
    let measures = json["measures"].as_array().unwrap();
    assert_eq!(
        measures.len(),
        22,
        "every photo measure is reported for a one-face photo"
    );
    for m in measures {
        for lang in ["kk", "ru", "en"] {
            assert!(!m["message"][lang].as_str().unwrap().is_empty(), "{m}");
        }
        assert!(m["score"].as_u64().unwrap() <= 100);
    }
    let signature = check_signature(&source("signature.jpg"), &profile).unwrap();
    let json = serde_json::to_value(&signature).unwrap();
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["measures"].as_array().unwrap().len(), 8);
}

/// The same photo re-encoded and resized keeps its hash (within a few bits); a different
/// photo does not — so the server can flag a photo reused on another person's application.
#[test]
fn perceptual_hash_finds_the_same_photo_and_tells_others_apart() {
    let profile = Profile::default_profile();
    let portrait = source("portrait.jpg");
    let hash = |bytes: &[u8]| check_photo(bytes, &profile).unwrap().perceptual_hash;
    let original = hash(&portrait);
    let image = generator::load(&portrait);
    let smaller = image::imageops::resize(&image, 450, 600, image::imageops::FilterType::Triangle);
    assert!(hamming_distance(original, hash(&generator::jpeg(&image, 60))) <= 6);
    assert!(hamming_distance(original, hash(&generator::jpeg(&smaller, 85))) <= 6);
    assert!(hamming_distance(original, hash(&source("cat.jpg"))) >= 16);
    let rotated = generator::photo_variant("cluttered_background", &portrait, 3);
    assert!(hamming_distance(original, hash(&rotated)) <= 20);
}

/// Checking is deterministic: the same bytes give the same report.
#[test]
fn the_same_upload_gets_the_same_report() {
    let profile = Profile::default_profile();
    let bytes = generator::photo_variant("rotated", &source("portrait.jpg"), 5);
    let first = serde_json::to_string(&check_photo(&bytes, &profile).unwrap()).unwrap();
    let second = serde_json::to_string(&check_photo(&bytes, &profile).unwrap()).unwrap();
    assert_eq!(first, second);
}

// ---------------------------------------------------------------------------------------
// Regenerating the committed sources (not run by default; needs scikit-image's data files:
// `pip download scikit-image --no-deps`, unzip the wheel, point the variables at
// skimage/data/astronaut.png and chelsea.png).

#[test]
#[ignore = "regenerates corpus/ from scikit-image's data files"]
fn regenerate_sources() {
    use image::imageops::{self, FilterType};
    let astronaut = image::open(std::env::var("ASTRONAUT").unwrap())
        .unwrap()
        .into_rgb8();
    // The head of the 512×512 portrait, cropped to 3:4 so that chin to crown is ~74 % of
    // the height, then enlarged to 600×800.
    let crop = imageops::crop_imm(&astronaut, 141, 0, 168, 224).to_image();
    let portrait = imageops::resize(&crop, 600, 800, FilterType::Lanczos3);
    std::fs::write(corpus_path("portrait.jpg"), generator::jpeg(&portrait, 90)).unwrap();
    let cat = image::open(std::env::var("CHELSEA").unwrap())
        .unwrap()
        .into_rgb8();
    let (width, height) = cat.dimensions();
    let side = height * 3 / 4;
    let crop = imageops::crop_imm(&cat, (width - side) / 2, 0, side, height).to_image();
    let cat = imageops::resize(&crop, 300, 400, FilterType::Lanczos3);
    std::fs::write(corpus_path("cat.jpg"), generator::jpeg(&cat, 85)).unwrap();
    std::fs::write(
        corpus_path("signature.jpg"),
        generator::jpeg(&generator::signature_source(7), 90),
    )
    .unwrap();
}
