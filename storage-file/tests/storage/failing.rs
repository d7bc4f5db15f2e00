//! Goal: `FailingStorage` fails exactly the chosen call and every call after
//! it, and a failed call never reaches the wrapped storage. Method: wrap
//! `MemStorage` and `FileStorage`, count calls, check what survived.

use crate::common::*;
use paxos_core::{MemStorage, Record, Storage};
use storage_file::{Error, FailingStorage};

#[test]
fn the_nth_append_fails_and_every_later_call_fails_too() {
    let mut s = FailingStorage::new(MemStorage::new()).fail_append(3);
    s.append(&[Record::Round(1)]).unwrap();
    s.append(&[Record::Round(2)]).unwrap();
    s.sync().unwrap();
    assert!(!s.has_failed());
    let err = s.append(&[Record::Round(3)]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Injected {
                call: "append",
                n: 3
            }
        ),
        "{err}"
    );
    assert!(s.has_failed());
    for _ in 0..3 {
        assert!(matches!(
            s.append(&[Record::Round(4)]),
            Err(Error::Injected { .. })
        ));
        assert!(matches!(s.sync(), Err(Error::Injected { .. })));
        assert!(matches!(s.load(), Err(Error::Injected { .. })));
    }
    let mut inner = s.into_inner();
    inner.crash();
    assert_eq!(inner.load().unwrap().round, 2);
}

#[test]
fn the_nth_sync_fails_and_its_records_are_not_made_durable() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = FailingStorage::new(create(tmp.path())).fail_sync(2);
    assert!(s.blocks());
    s.append(&[Record::Round(1)]).unwrap();
    s.sync().unwrap();
    s.append(&[Record::Round(2)]).unwrap();
    let err = s.sync().unwrap_err();
    assert!(
        matches!(err, Error::Injected { call: "sync", n: 2 }),
        "{err}"
    );
    assert!(matches!(
        s.append(&[Record::Round(3)]),
        Err(Error::Injected { call: "sync", n: 2 })
    ));
    assert!(s.sync().is_err());
    drop(s);
    assert_eq!(reopen(tmp.path()).unwrap().load().unwrap().round, 1);
}

#[test]
fn an_inner_failure_is_passed_through() {
    let mut mem = MemStorage::new();
    mem.fail_on_write(1);
    let mut s = FailingStorage::new(mem);
    let err = s.append(&[Record::Round(1)]).unwrap_err();
    assert!(matches!(err, Error::Inner(_)), "{err}");
    assert!(!s.has_failed());
}

#[test]
fn without_a_fault_it_is_the_wrapped_storage() {
    let mut s = FailingStorage::new(MemStorage::new());
    assert!(!s.blocks());
    for i in 0..100 {
        s.append(&[Record::Round(i)]).unwrap();
        s.sync().unwrap();
    }
    assert_eq!(s.load().unwrap().round, 99);
}
