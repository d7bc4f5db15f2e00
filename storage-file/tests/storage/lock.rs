//! Goal: one storage per directory at a time, so two processes never append
//! to one log. Method: open a directory twice in this process (the lock is
//! per open file, so this is what a second process sees), then drop the
//! first and open again.

use crate::common::*;
use storage_file::Error;

#[test]
fn a_second_open_of_a_locked_directory_fails_with_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let first = create(tmp.path());
    let err = reopen(tmp.path()).unwrap_err();
    assert!(
        matches!(&err, Error::Locked { dir } if dir == tmp.path()),
        "{err}"
    );
    drop(first);
    let again = reopen(tmp.path());
    assert!(again.is_ok(), "{:?}", again.err());
}

#[test]
fn create_new_on_a_locked_directory_fails_with_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let _first = create(tmp.path());
    let err = storage_file::FileStorage::open(
        tmp.path(),
        ME,
        storage_file::OpenMode::CreateNew,
        Default::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
}
