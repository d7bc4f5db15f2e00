//! Goal: numbers for the fsync cost of this storage, to quote in docs and
//! benchmarks. Method: ignored by default; run with
//! `cargo test --release -p storage-file --test storage -- --ignored --nocapture fsync_cost`
//! (`STORAGE_BENCH_DIR` picks the disk; the default is the system temp dir).
//! Measures 10,000 sync groups of one small record (latency of each
//! append + sync) and one sync of 1,000 records.

use crate::common::*;
use paxos_core::{Record, Storage, Value};
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
#[ignore = "measurement; prints fsync cost"]
fn fsync_cost_of_small_groups_and_of_one_large_group() {
    let tmp = match std::env::var_os("STORAGE_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    let mut s = create(tmp.path());
    let small = accept(0, 1, 1, command(1, 1, 16));
    let mut encoded = Vec::new();
    storage_file::record::encode(&small, &mut encoded, u32::MAX).unwrap();

    let groups = 10_000;
    let mut lat = Vec::with_capacity(groups);
    let started = Instant::now();
    for _ in 0..groups {
        let t = Instant::now();
        s.append(std::slice::from_ref(&small)).unwrap();
        s.sync().unwrap();
        lat.push(t.elapsed());
    }
    let total = started.elapsed();
    lat.sort();
    println!(
        "{groups} sync groups of 1 record ({} bytes framed): total {total:.2?}, {:.0} syncs/s, \
         p50 {:.1?}, p90 {:.1?}, p99 {:.1?}, max {:.1?}",
        encoded.len(),
        groups as f64 / total.as_secs_f64(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        lat[lat.len() - 1],
    );

    let records: Vec<Record> = (0..1_000u64)
        .map(|i| {
            accept(
                i,
                2,
                1,
                if i % 10 == 0 {
                    Value::Noop
                } else {
                    command(1, i, 16)
                },
            )
        })
        .collect();
    for round in 0..5 {
        let t = Instant::now();
        for r in &records {
            s.append(std::slice::from_ref(r)).unwrap();
        }
        let appended = t.elapsed();
        s.sync().unwrap();
        let total = t.elapsed();
        println!(
            "1 sync of 1,000 records (run {round}): appends {appended:.1?}, appends + sync {total:.1?}"
        );
    }
}
