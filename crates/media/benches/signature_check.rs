//! Full signature check vs decoding alone, on the corpus signature (800×300, blue ink on
//! white paper), in one run: as a JPEG (the committed file), as an RGB PNG of the same
//! pixels, and as the greyscale PNG the load test uploads (crates/loadtest/src/people.rs:
//! a signature is usually drawn or scanned and saved losslessly).
//!
//! `cargo bench -p kuelik-media --bench signature_check`
//!
//! Besides criterion's estimates, the run ends with one line per format giving the ratio
//! measured back to back (median of interleaved rounds), as the photo bench does.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};
use image::ImageEncoder;
use kuelik_media::{check_signature, decode, Profile};

fn signature_jpeg() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/signature.jpg"))
        .expect("the corpus signature is committed")
}

/// The same pixels as a PNG, in RGB or (as the load test does it) in grey.
fn signature_png(grey: bool) -> Vec<u8> {
    let image = image::load_from_memory(&signature_jpeg()).expect("decodes");
    let image = if grey {
        image::DynamicImage::ImageLuma8(image.to_luma8())
    } else {
        image::DynamicImage::ImageRgb8(image.to_rgb8())
    };
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            image.as_bytes(),
            image.width(),
            image.height(),
            image.color().into(),
        )
        .expect("encodes");
    out
}

fn inputs() -> [(&'static str, Vec<u8>); 3] {
    [
        ("signature_800x300_jpeg", signature_jpeg()),
        ("signature_800x300_rgb_png", signature_png(false)),
        ("signature_800x300_grey_png", signature_png(true)),
    ]
}

fn signature(c: &mut Criterion) {
    let profile = Profile::default_profile();
    for (name, bytes) in inputs() {
        let mut group = c.benchmark_group(name);
        group.measurement_time(Duration::from_secs(5));
        // The safe ingest path the check starts with.
        group.bench_function("decode_only", |b| {
            b.iter(|| decode(black_box(&bytes), &profile.ingest).expect("decodes"))
        });
        group.bench_function("signature_check", |b| {
            b.iter(|| check_signature(black_box(&bytes), &profile).expect("checks"))
        });
        group.finish();
    }
}

/// Interleaved rounds of both, so that frequency changes and other load hit both alike.
fn ratio() {
    let profile = Profile::default_profile();
    for (name, bytes) in inputs() {
        let mut decode_times = Vec::new();
        let mut check_times = Vec::new();
        for _ in 0..100 {
            let started = Instant::now();
            black_box(decode(black_box(&bytes), &profile.ingest).expect("decodes"));
            decode_times.push(started.elapsed());
            let started = Instant::now();
            black_box(check_signature(black_box(&bytes), &profile).expect("checks"));
            check_times.push(started.elapsed());
        }
        decode_times.sort();
        check_times.sort();
        let (d, c) = (decode_times[50], check_times[50]);
        println!(
            "{name}: median of 100 interleaved rounds: decode_only {:.2} ms, signature_check {:.2} ms, ratio {:.2}×",
            d.as_secs_f64() * 1e3,
            c.as_secs_f64() * 1e3,
            c.as_secs_f64() / d.as_secs_f64()
        );
    }
}

criterion_group!(benches, signature);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratio();
}
