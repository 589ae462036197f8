//! How fast durable submissions are: one at a time, and 64 callers at once (group commit).
//!
//! Every submission is committed with fsync, so the figures depend on the disk more than on
//! the code. To make them readable, the bench first measures the raw cost of one fsync on the
//! disk of the temporary folder (write 4 KiB, `sync_data`, median of 100) and prints it beside
//! the store's own figures. Set `TMPDIR` to put the folder on the disk you care about.

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use baukasten_store::{NewSubmission, RedbStore, Store, Submitted};
use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;

const CLIENTS: usize = 64;

fn new_submission(n: usize) -> NewSubmission {
    NewSubmission {
        tenant: Some("musterstadt".to_owned()),
        service: "bewohnerparkausweis".to_owned(),
        version: "1.0.0".to_owned(),
        definition_hash: "sha256:0f4c2a".to_owned(),
        reference_prefix: "BPA".to_owned(),
        data: json!({
            "vorname": "Erika", "nachname": format!("Mustermann {n}"),
            "geburtsdatum": "1980-04-01", "strasse": "Hauptstraße 1", "plz": "12345",
            "kennzeichen": "M-AB 123", "halter": "selbst", "laufzeit_jahre": 1,
        }),
        fee_total: "30.70".to_owned(),
        attachments: vec![],
        draft: None,
        deliveries: Vec::new(),
    }
}

fn submit(store: &RedbStore, n: usize) {
    let answer = store
        .submit(new_submission(n), None, "eingegangen", Utc::now())
        .unwrap();
    assert!(matches!(answer, Submitted::Created(_)));
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Raw fsync latency of the temporary folder's disk: append 4 KiB, then `sync_data`.
fn fsync_latency(dir: &std::path::Path) -> Duration {
    let mut file = std::fs::File::create(dir.join("fsync-probe")).unwrap();
    let block = [0x5a_u8; 4096];
    let samples = (0..100)
        .map(|_| {
            let start = Instant::now();
            file.write_all(&block).unwrap();
            file.sync_data().unwrap();
            start.elapsed()
        })
        .collect();
    median(samples)
}

/// `CLIENTS` threads, each submitting `per_client` times as fast as it can; returns the
/// wall-clock time of the whole burst.
fn burst(store: &Arc<RedbStore>, per_client: usize) -> Duration {
    let start_line = Arc::new(Barrier::new(CLIENTS + 1));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (store, start_line) = (Arc::clone(store), Arc::clone(&start_line));
            std::thread::spawn(move || {
                start_line.wait();
                for i in 0..per_client {
                    submit(&store, c * per_client + i);
                }
            })
        })
        .collect();
    start_line.wait();
    let start = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(&dir.path().join("bench.redb")).unwrap());

    // Plain figures first, printed in one place, so that they can be quoted as they are.
    let fsync = fsync_latency(dir.path());
    let one = median(
        (0..200)
            .map(|n| {
                let start = Instant::now();
                submit(&store, n);
                start.elapsed()
            })
            .collect(),
    );
    let per_client = 100;
    let before = store.writer_stats();
    let took = burst(&store, per_client);
    let after = store.writer_stats();
    let rate = (CLIENTS * per_client) as f64 / took.as_secs_f64();
    println!("temporary folder:           {}", dir.path().display());
    println!("raw fsync (4 KiB, median):  {:.3} ms", fsync.as_secs_f64() * 1e3);
    println!("one submit (median of 200): {:.3} ms", one.as_secs_f64() * 1e3);
    println!(
        "{CLIENTS} clients x {per_client}:          {rate:.0} submissions/s ({:.3} s)",
        took.as_secs_f64()
    );
    println!(
        "  in {} commits, {:.1} submissions per commit",
        after.commits - before.commits,
        (after.writes - before.writes) as f64 / (after.commits - before.commits) as f64
    );

    let mut group = c.benchmark_group("submit");
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    group.bench_function("one", |b| {
        let mut n = 0;
        b.iter(|| {
            n += 1;
            submit(&store, n);
        });
    });
    // One iteration is one submission by each of the 64 clients, all at once.
    group.throughput(Throughput::Elements(CLIENTS as u64));
    group.bench_function("64_clients", |b| b.iter_custom(|iters| burst(&store, iters as usize)));
    group.finish();
}

criterion_group!(submit_benches, benches);
criterion_main!(submit_benches);
