//! Goal: what `sync` acknowledged is exactly what `load` restores after a
//! reopen, and many appends under one sync (group commit) work. Method:
//! write records, drop the storage, reopen the directory, compare
//! `load()` with `DurableState::from_records` of the same records.

use crate::common::*;
use paxos_core::{Ballot, DurableState, NodeId, Record, Storage};

#[test]
fn synced_records_restore_the_exact_durable_state_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let groups = sample_groups();
    write_groups(tmp.path(), &groups);
    let all: Vec<Record> = groups.concat();
    let mut s = reopen(tmp.path()).unwrap();
    assert_eq!(s.recovery().records, all.len() as u64);
    assert_eq!(s.recovery().truncated, 0);
    assert_eq!(s.load().unwrap(), DurableState::from_records(&all));
}

#[test]
fn one_sync_after_many_appends_makes_all_of_them_durable() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = create(tmp.path());
    let records: Vec<Record> = (0..5_000u64)
        .map(|i| accept(i, 1 + i / 1000, 2, command(1, i, (i % 97) as usize)))
        .collect();
    for chunk in records.chunks(3) {
        s.append(chunk).unwrap();
    }
    s.sync().unwrap();
    drop(s);
    let mut s = reopen(tmp.path()).unwrap();
    assert_eq!(s.load().unwrap(), DurableState::from_records(&records));
}

#[test]
fn load_returns_only_what_was_synced() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = create(tmp.path());
    s.append(&[Record::Round(1)]).unwrap();
    s.sync().unwrap();
    s.append(&[Record::Round(2)]).unwrap();
    assert_eq!(s.load().unwrap().round, 1);
    s.sync().unwrap();
    assert_eq!(s.load().unwrap().round, 2);
}

#[test]
fn unsynced_appends_are_not_restored_after_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = create(tmp.path());
    s.append(&[Record::Promise(Ballot::new(1, NodeId(1)))])
        .unwrap();
    s.sync().unwrap();
    s.append(&[Record::Promise(Ballot::new(9, NodeId(1)))])
        .unwrap();
    drop(s); // a crash before sync: the buffer is lost
    let state = reopen(tmp.path()).unwrap().load().unwrap();
    assert_eq!(state.promised, Ballot::new(1, NodeId(1)));
}

#[test]
fn a_group_larger_than_the_write_buffer_is_durable_after_its_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = create(tmp.path());
    // ~3 MiB: the buffer is written out (unsynced) during the appends.
    let records: Vec<Record> = (0..48u64)
        .map(|i| accept(i, 1, 1, command(1, i, 64 << 10)))
        .collect();
    for r in &records {
        s.append(std::slice::from_ref(r)).unwrap();
    }
    assert!(s.synced_len() < storage_file::WRITE_BUFFER_MAX as u64);
    s.sync().unwrap();
    drop(s);
    let state = reopen(tmp.path()).unwrap().load().unwrap();
    assert_eq!(state, DurableState::from_records(&records));
}

#[test]
fn appends_after_a_reopen_continue_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    write_groups(tmp.path(), &sample_groups());
    let mut s = reopen(tmp.path()).unwrap();
    s.append(&[Record::Round(100)]).unwrap();
    s.sync().unwrap();
    drop(s);
    let mut all = sample_groups().concat();
    all.push(Record::Round(100));
    assert_eq!(
        reopen(tmp.path()).unwrap().load().unwrap(),
        DurableState::from_records(&all)
    );
}

#[test]
fn a_record_over_record_len_max_is_refused_and_nothing_of_its_call_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = storage_file::Options {
        record_len_max: 100,
        ..Default::default()
    };
    let mut s =
        storage_file::FileStorage::open(tmp.path(), ME, storage_file::OpenMode::CreateNew, opts)
            .unwrap();
    let err = s
        .append(&[Record::Round(1), accept(0, 1, 1, command(1, 1, 500))])
        .unwrap_err();
    assert!(
        matches!(err, storage_file::Error::RecordTooLarge { max: 100, .. }),
        "{err}"
    );
    // The storage is still usable, and the first record of that call is gone.
    s.append(&[Record::Round(2)]).unwrap();
    s.sync().unwrap();
    assert_eq!(
        s.load().unwrap(),
        DurableState::from_records(&[Record::Round(2)])
    );
}
