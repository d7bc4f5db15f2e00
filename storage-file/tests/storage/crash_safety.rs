//! Goal: recovery never comes back without a record that was synced and
//! acknowledged. Method, exhaustive over a ~20-record sample log written in
//! four sync groups:
//! - truncate a copy at every byte offset (a crash during any write) and
//!   reopen: it must open with exactly the records wholly before the cut;
//! - flip every bit of the log, one at a time (bit rot in synced data), and
//!   reopen: it must refuse with `Corrupt` or restore every acknowledged
//!   promise, round and accepted value;
//! - flip every bit of the identity file: it must refuse;
//! - with space reserved ahead of the log: write every byte prefix of the
//!   last sync group into the zeros (a crash during that write) and reopen:
//!   it must open with exactly the records wholly before the cut (only a
//!   cut inside an 8-byte trailer, which a sector never splits, may be
//!   refused); and flip every bit of the records and the zeros after them.
//!
//! Counts are printed (`cargo test -- --nocapture`).

use crate::common::*;
use paxos_core::{DurableState, Record, Storage};
use storage_file::record::TRAILER_LEN;
use storage_file::{Error, IDENTITY_FILE, PREALLOCATE_DEFAULT};

/// Whether `restored` holds everything `acked` promised and accepted.
fn covers(restored: &DurableState, acked: &DurableState) -> bool {
    restored.promised >= acked.promised
        && restored.round >= acked.round
        && acked.accepted.iter().all(|(slot, (b, v))| {
            restored
                .accepted
                .get(slot)
                .is_some_and(|(rb, rv)| rb > b || (rb == b && rv == v))
        })
        && acked
            .decided
            .iter()
            .all(|(slot, v)| restored.decided.get(slot) == Some(v))
}

#[test]
fn truncating_the_log_at_any_offset_restores_exactly_the_records_before_the_cut() {
    let tmp = tempfile::tempdir().unwrap();
    let records: Vec<Record> = sample_groups().concat();
    write_groups(tmp.path(), &sample_groups());
    let log = log_bytes(tmp.path());
    let ends = record_ends(&records);
    assert_eq!(
        *ends.last().unwrap(),
        log.len(),
        "the log is exactly the framed records"
    );

    let (mut opened, mut refused) = (0u64, 0u64);
    for cut in 0..=log.len() {
        set_log(tmp.path(), &log[..cut]);
        let whole = ends.iter().take_while(|e| **e <= cut).count();
        let boundary = if whole == 0 { 0 } else { ends[whole - 1] };
        match reopen(tmp.path()) {
            Ok(mut s) => {
                opened += 1;
                let state = s.load().unwrap();
                assert_eq!(
                    state,
                    DurableState::from_records(&records[..whole]),
                    "cut at {cut}: restored state differs from the {whole} whole records"
                );
                assert_eq!(s.recovery().len, boundary as u64, "cut at {cut}");
                let rec = s.recovery();
                assert_eq!(rec.truncated + rec.zeros, (cut - boundary) as u64);
                drop(s);
                let on_disk = std::fs::metadata(tmp.path().join(storage_file::LOG_FILE)).unwrap();
                assert_eq!(
                    on_disk.len(),
                    boundary as u64,
                    "cut at {cut}: torn tail not cut"
                );
            }
            Err(e) => {
                assert!(cut != boundary, "cut at record boundary {cut} refused: {e}");
                refused += 1;
            }
        }
    }
    println!(
        "truncation: {} offsets tried over {} records ({} bytes), {opened} opened, {refused} refused",
        log.len() + 1,
        records.len(),
        log.len()
    );
    assert_eq!(opened + refused, log.len() as u64 + 1);
}

#[test]
fn a_record_boundary_cut_restores_exactly_that_prefix_and_the_log_goes_on_from_it() {
    let tmp = tempfile::tempdir().unwrap();
    let records: Vec<Record> = sample_groups().concat();
    write_groups(tmp.path(), &sample_groups());
    let log = log_bytes(tmp.path());
    for (i, end) in record_ends(&records).into_iter().enumerate() {
        // A torn half of the next record follows the boundary.
        let cut = (end + 5).min(log.len());
        set_log(tmp.path(), &log[..cut]);
        let mut s = reopen(tmp.path()).unwrap();
        assert_eq!(
            s.load().unwrap(),
            DurableState::from_records(&records[..=i])
        );
        s.append(&[Record::Round(1_000)]).unwrap();
        s.sync().unwrap();
        drop(s);
        let mut expected = records[..=i].to_vec();
        expected.push(Record::Round(1_000));
        let state = reopen(tmp.path()).unwrap().load().unwrap();
        assert_eq!(
            state,
            DurableState::from_records(&expected),
            "after record {i}"
        );
    }
}

#[test]
fn flipping_any_bit_of_the_log_never_loses_an_acknowledged_record() {
    let tmp = tempfile::tempdir().unwrap();
    write_groups(tmp.path(), &sample_groups());
    let log = log_bytes(tmp.path());
    flip_every_bit(tmp.path(), &log, "bit flips");
}

/// Flips each bit of `log` in turn: the storage must open with every
/// sample record or refuse with `Corrupt` at or before the flip.
fn flip_every_bit(dir: &std::path::Path, log: &[u8], what: &str) {
    let acked = DurableState::from_records(&sample_groups().concat());
    let (mut opened, mut refused) = (0u64, 0u64);
    let mut copy = log.to_vec();
    for byte in 0..log.len() {
        for bit in 0..8 {
            copy[byte] ^= 1 << bit;
            set_log(dir, &copy);
            match reopen(dir) {
                Ok(mut s) => {
                    opened += 1;
                    let state = s.load().unwrap();
                    assert!(
                        covers(&state, &acked),
                        "bit {bit} of byte {byte}: opened without an acknowledged record"
                    );
                }
                Err(Error::Corrupt { offset, .. }) => {
                    assert!(offset <= byte as u64, "corruption reported after the flip");
                    refused += 1;
                }
                Err(e) => panic!("bit {bit} of byte {byte}: refused with a non-Corrupt error: {e}"),
            }
            copy[byte] ^= 1 << bit;
        }
    }
    println!(
        "{what}: {} tried over {} bytes, {opened} opened, {refused} refused (Corrupt)",
        log.len() * 8,
        log.len()
    );
}

/// The sample log written with reserved space: its records (checked to be
/// followed only by zeros up to the reserved length).
fn reserved_log(dir: &std::path::Path) -> Vec<u8> {
    let mut s = create_reserved(dir);
    for group in sample_groups() {
        s.append(&group).unwrap();
        s.sync().unwrap();
    }
    let written = s.synced_len() as usize;
    drop(s);
    let mut log = log_bytes(dir);
    assert_eq!(log.len() as u64, PREALLOCATE_DEFAULT, "space was reserved");
    assert!(
        log[written..].iter().all(|b| *b == 0),
        "reserved space is zeros"
    );
    log.truncate(written);
    log
}

#[test]
fn reopening_a_reserved_log_reports_zeros_not_a_cut_record() {
    let tmp = tempfile::tempdir().unwrap();
    let log = reserved_log(tmp.path());
    let s = reopen(tmp.path()).unwrap();
    assert_eq!(s.recovery().len, log.len() as u64);
    assert_eq!(s.recovery().truncated, 0);
    assert_eq!(s.recovery().zeros, PREALLOCATE_DEFAULT - log.len() as u64);
}

#[test]
fn an_unfinished_write_into_reserved_space_is_cut_at_every_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let records: Vec<Record> = sample_groups().concat();
    let log = reserved_log(tmp.path());
    let ends = record_ends(&records);
    assert_eq!(*ends.last().unwrap(), log.len());
    let last_group = sample_groups().last().unwrap().len();
    let group_start = ends[records.len() - last_group - 1];

    let (mut opened, mut refused) = (0u64, 0u64);
    for cut in group_start..=log.len() {
        // The write got `cut` bytes in; the reserved zeros follow.
        let mut file = log[..cut].to_vec();
        file.resize(cut + 4096, 0);
        set_log(tmp.path(), &file);
        let whole = ends.iter().take_while(|e| **e <= cut).count();
        let boundary = ends[whole - 1];
        let in_trailer = ends.iter().any(|e| cut > e - TRAILER_LEN && cut < *e);
        match reopen(tmp.path()) {
            Ok(mut s) => {
                opened += 1;
                assert_eq!(
                    s.load().unwrap(),
                    DurableState::from_records(&records[..whole]),
                    "cut at {cut}"
                );
                assert_eq!(s.recovery().len, boundary as u64, "cut at {cut}");
            }
            Err(Error::Corrupt { .. }) if in_trailer => refused += 1,
            Err(e) => panic!("cut at {cut} (not inside a trailer) refused: {e}"),
        }
    }
    println!(
        "reserved-space cuts: {} tried, {opened} opened, {refused} refused (inside a trailer)",
        log.len() - group_start + 1
    );
    assert!(opened > refused);
}

#[test]
fn flipping_any_bit_of_a_reserved_log_never_loses_an_acknowledged_record() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = reserved_log(tmp.path());
    log.resize(log.len() + 64, 0);
    flip_every_bit(tmp.path(), &log, "reserved-log bit flips");
}

#[test]
fn a_reserved_log_reopens_and_goes_on_where_it_ended() {
    let tmp = tempfile::tempdir().unwrap();
    let records: Vec<Record> = sample_groups().concat();
    let log = reserved_log(tmp.path());
    let mut s = reopen(tmp.path()).unwrap();
    assert_eq!(s.recovery().len, log.len() as u64);
    assert_eq!(s.load().unwrap(), DurableState::from_records(&records));
    s.append(&[Record::Round(1_000)]).unwrap();
    s.sync().unwrap();
    drop(s);
    let mut expected = records;
    expected.push(Record::Round(1_000));
    let state = reopen(tmp.path()).unwrap().load().unwrap();
    assert_eq!(state, DurableState::from_records(&expected));
}

#[test]
fn flipping_any_bit_of_the_identity_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    write_groups(tmp.path(), &sample_groups());
    let path = tmp.path().join(IDENTITY_FILE);
    let original = std::fs::read(&path).unwrap();
    let mut tried = 0;
    for byte in 0..original.len() {
        for bit in 0..8 {
            let mut copy = original.clone();
            copy[byte] ^= 1 << bit;
            std::fs::write(&path, &copy).unwrap();
            let err = reopen(tmp.path()).err();
            assert!(err.is_some(), "bit {bit} of byte {byte}: opened");
            tried += 1;
        }
    }
    println!("identity bit flips: {tried} tried, all refused");
}
