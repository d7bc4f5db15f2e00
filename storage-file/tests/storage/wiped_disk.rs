//! Goal: pin the wiped-disk rule — storage is never created implicitly, and
//! a directory of another node or cluster is never used. Method: open
//! missing, empty, half-created and foreign directories in each mode.

use crate::common::*;
use paxos_core::{NodeId, Record, Storage};
use storage_file::{Error, FileStorage, Identity, OpenMode, Reason, IDENTITY_FILE, LOG_FILE};

#[test]
fn existing_refuses_a_missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gone");
    let err = reopen(&dir).unwrap_err();
    assert!(
        matches!(&err, Error::Empty { dir: d } if *d == dir),
        "{err}"
    );
    assert!(!dir.exists(), "Existing must not create the directory");
}

#[test]
fn existing_refuses_an_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let err = reopen(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err}");
}

#[test]
fn existing_refuses_a_directory_whose_creation_never_finished() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(LOG_FILE), b"").unwrap();
    std::fs::write(tmp.path().join(storage_file::IDENTITY_TMP_FILE), b"half").unwrap();
    let err = reopen(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err}");
    // ...and CreateNew can finish the job.
    let s = FileStorage::open(tmp.path(), ME, OpenMode::CreateNew, Default::default());
    assert!(s.is_ok(), "{:?}", s.err());
}

#[test]
fn create_new_creates_missing_parents_and_existing_then_opens_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/acceptor");
    drop(create(&dir));
    assert!(dir.join(IDENTITY_FILE).is_file());
    let mut s = reopen(&dir).unwrap();
    assert_eq!(s.load().unwrap(), Default::default());
    assert_eq!(s.identity(), ME);
}

#[test]
fn create_new_refuses_a_directory_that_holds_data() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = create(tmp.path());
    s.append(&[Record::Round(1)]).unwrap();
    s.sync().unwrap();
    drop(s);
    let err =
        FileStorage::open(tmp.path(), ME, OpenMode::CreateNew, Default::default()).unwrap_err();
    assert!(matches!(err, Error::NotEmpty { .. }), "{err}");
    // The refusal left the data alone.
    assert_eq!(reopen(tmp.path()).unwrap().load().unwrap().round, 1);
}

#[test]
fn create_new_refuses_an_initialized_directory_even_with_an_empty_log() {
    let tmp = tempfile::tempdir().unwrap();
    drop(create(tmp.path()));
    let err =
        FileStorage::open(tmp.path(), ME, OpenMode::CreateNew, Default::default()).unwrap_err();
    assert!(matches!(err, Error::NotEmpty { .. }), "{err}");
}

#[test]
fn create_new_refuses_a_directory_with_unrelated_files() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), b"hello").unwrap();
    let err =
        FileStorage::open(tmp.path(), ME, OpenMode::CreateNew, Default::default()).unwrap_err();
    assert!(matches!(err, Error::NotEmpty { .. }), "{err}");
}

#[test]
fn existing_refuses_another_nodes_directory() {
    let tmp = tempfile::tempdir().unwrap();
    drop(create(tmp.path()));
    let other = Identity {
        cluster: ME.cluster,
        node: NodeId(ME.node.0 + 1),
    };
    let err =
        FileStorage::open(tmp.path(), other, OpenMode::Existing, Default::default()).unwrap_err();
    assert!(
        matches!(err, Error::WrongIdentity { expected, found, .. } if expected == other && found == ME),
        "{err}"
    );
}

#[test]
fn existing_refuses_another_clusters_directory() {
    let tmp = tempfile::tempdir().unwrap();
    drop(create(tmp.path()));
    let other = Identity {
        cluster: ME.cluster + 1,
        node: ME.node,
    };
    let err =
        FileStorage::open(tmp.path(), other, OpenMode::Existing, Default::default()).unwrap_err();
    assert!(matches!(err, Error::WrongIdentity { .. }), "{err}");
}

#[test]
fn existing_refuses_a_log_whose_identity_file_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    write_groups(tmp.path(), &sample_groups());
    std::fs::remove_file(tmp.path().join(IDENTITY_FILE)).unwrap();
    let err = reopen(tmp.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt {
                reason: Reason::IdentityMissing,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn existing_refuses_an_identity_whose_log_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    write_groups(tmp.path(), &sample_groups());
    std::fs::remove_file(tmp.path().join(LOG_FILE)).unwrap();
    let err = reopen(tmp.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt {
                reason: Reason::LogMissing,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn existing_refuses_an_identity_file_of_another_format_version() {
    let tmp = tempfile::tempdir().unwrap();
    drop(create(tmp.path()));
    let path = tmp.path().join(IDENTITY_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    // Version 1 logs had no trailers: reading one as version 2 would refuse
    // every record as corrupt, so the version check must refuse it first.
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let check = crc32c::crc32c(&bytes[..28]);
    bytes[28..].copy_from_slice(&check.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let err = reopen(tmp.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Version {
                found: 1,
                supported: storage_file::FORMAT_VERSION,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn invalid_options_are_refused_before_touching_the_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new");
    let opts = storage_file::Options {
        record_len_max: 0,
        ..Default::default()
    };
    let err = FileStorage::open(&dir, ME, OpenMode::CreateNew, opts).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Options {
                field: "record_len_max",
                ..
            }
        ),
        "{err}"
    );
    assert!(!dir.exists());
}
