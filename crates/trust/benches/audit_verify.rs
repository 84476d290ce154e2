//! Audit verification throughput against raw SHA-256 over the same bytes.
//!
//! `cargo bench -p kuelik-trust --bench audit_verify`
//!
//! The log: 20 000 entries shaped like the service's audit entries (~350 bytes of canonical
//! JSON each; and ~1 KiB), sequenced in batches of 256, 32 and 1 (one signed checkpoint per
//! batch; 1 is the worst case, a sequencer that found one entry each time). The
//! baselines hash the same bytes with SHA-256, as one stream and entry by entry; the goal is
//! `verify` at ≥ 0.5× the stream's throughput.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use kuelik_trust::audit::{self, AuditRecord, Chain, Checkpoint, ServerKey};

const ENTRIES: usize = 20_000;

fn entries(pad: usize) -> Vec<Vec<u8>> {
    (0..ENTRIES)
        .map(|i| {
            format!(
                concat!(
                    r#"{{"action":"application.read","actor":{{"role":"officer","staff":"0192f0c4-7b1e-7cc3-9a57-{:012x}"}},"#,
                    r#""at":"2025-06-01T09:{:02}:{:02}.{:06}Z","details":{{"fields":["surname","given_name","photo"],"note":"{}"}},"#,
                    r#""id":"0192f0c5-0000-7000-8000-{:012x}","target":"application:0192f0c4-7b1e-7cc3-9a57-{:012x}"}}"#
                ),
                i % 97,
                (i / 60) % 60,
                i % 60,
                i,
                "x".repeat(pad),
                i,
                i % 1013,
            )
            .into_bytes()
        })
        .collect()
}

struct Log {
    entries: Vec<Vec<u8>>,
    hashes: Vec<audit::Hash>,
    checkpoints: Vec<Checkpoint>,
    key: ServerKey,
}

fn log(entries: Vec<Vec<u8>>, batch: usize) -> Log {
    let key = ServerKey::generate();
    let mut chain = Chain::new();
    let mut hashes = Vec::with_capacity(entries.len());
    let mut checkpoints = Vec::new();
    for (i, chunk) in entries.chunks(batch).enumerate() {
        let at = Timestamp::from_second(1_750_000_000 + i as i64).unwrap_or(Timestamp::UNIX_EPOCH);
        let out = chain.append_batch(chunk, at, &key).expect("append");
        hashes.extend(out.links.iter().map(|l| l.chain_hash));
        checkpoints.push(out.checkpoint);
    }
    Log {
        entries,
        hashes,
        checkpoints,
        key,
    }
}

fn bench(c: &mut Criterion) {
    for (label, pad) in [("350B", 40usize), ("1KiB", 700)] {
        let data = entries(pad);
        let bytes: u64 = data.iter().map(|e| e.len() as u64).sum();
        let logs = [
            (256usize, log(data.clone(), 256)),
            (32, log(data.clone(), 32)),
            (1, log(data, 1)),
        ];
        let data = &logs[0].1.entries;

        let mut group = c.benchmark_group(format!("audit_verify_{label}"));
        group.throughput(Throughput::Bytes(bytes));
        group.sample_size(30);

        group.bench_function("sha256_stream", |b| {
            b.iter(|| {
                let mut h = Sha256::new();
                for e in data {
                    h.update(e);
                }
                black_box(h.finalize())
            })
        });
        group.bench_function("sha256_per_entry", |b| {
            b.iter(|| {
                for e in data {
                    black_box(Sha256::digest(e));
                }
            })
        });
        for (batch, log) in &logs {
            let public = log.key.public_key();
            group.bench_function(format!("verify_batch{batch}"), |b| {
                b.iter(|| {
                    let records = log.entries.iter().zip(&log.hashes).enumerate().map(
                        |(i, (bytes, hash))| AuditRecord {
                            seq: i as u64 + 1,
                            bytes,
                            chain_hash: Some(&hash[..]),
                        },
                    );
                    black_box(audit::verify(records, &log.checkpoints, &public).expect("intact"))
                })
            });
        }
        group.finish();

        // Criterion measures each function at a different moment; on a shared machine the
        // load moves in between. Timing the two alternately gives a steadier ratio.
        for (batch, log) in &logs {
            let public = log.key.public_key();
            let mut ratios = Vec::new();
            for _ in 0..15 {
                let start = Instant::now();
                let mut h = Sha256::new();
                for e in &log.entries {
                    h.update(e);
                }
                black_box(h.finalize());
                let raw = start.elapsed().as_secs_f64();
                let start = Instant::now();
                let records =
                    log.entries
                        .iter()
                        .zip(&log.hashes)
                        .enumerate()
                        .map(|(i, (bytes, hash))| AuditRecord {
                            seq: i as u64 + 1,
                            bytes,
                            chain_hash: Some(&hash[..]),
                        });
                black_box(audit::verify(records, &log.checkpoints, &public).expect("intact"));
                ratios.push(raw / start.elapsed().as_secs_f64());
            }
            ratios.sort_by(f64::total_cmp);
            println!(
                "ratio {label} batch {batch}: verify / raw SHA-256 stream = {:.2}x (median of 15 alternating runs)",
                ratios[ratios.len() / 2]
            );
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
