//! Shared helpers: a sample log of varied records, and opening shortcuts.
//!
//! Goal: one place that builds the records every test uses. Method: plain
//! constructors; nothing here asserts.

use paxos_core::{Ballot, ClientId, Command, NodeId, Record, Slot, Storage, Value};
use std::path::Path;
use storage_file::{FileStorage, Identity, OpenMode, Options, LOG_FILE};

pub const ME: Identity = Identity {
    cluster: 42,
    node: NodeId(3),
};

/// Without reserved space, so the log file is exactly its records.
pub fn create(dir: &Path) -> FileStorage {
    let opts = Options {
        preallocate: 0,
        ..Options::default()
    };
    FileStorage::open(dir, ME, OpenMode::CreateNew, opts).unwrap()
}

/// With the default reserved space ahead of the log.
pub fn create_reserved(dir: &Path) -> FileStorage {
    FileStorage::open(dir, ME, OpenMode::CreateNew, Options::default()).unwrap()
}

pub fn reopen(dir: &Path) -> Result<FileStorage, storage_file::Error> {
    FileStorage::open(dir, ME, OpenMode::Existing, Options::default())
}

pub fn command(client: u64, seq: u64, len: usize) -> Value {
    Value::from(Command {
        client: ClientId(client),
        seq,
        payload: (0..len)
            .map(|i| (i as u64).wrapping_mul(31).wrapping_add(seq) as u8)
            .collect(),
    })
}

pub fn accept(slot: u64, round: u64, node: u64, value: Value) -> Record {
    Record::Accept {
        slot: Slot(slot),
        ballot: Ballot::new(round, NodeId(node)),
        value,
    }
}

/// About twenty varied records in four sync groups: promises, accepts of
/// no-ops and of commands from 0 to 1,500 bytes, rounds, decided entries, and
/// a re-accept of a slot in a higher ballot.
pub fn sample_groups() -> Vec<Vec<Record>> {
    vec![
        vec![Record::Round(1), Record::Promise(Ballot::new(1, NodeId(1)))],
        vec![
            accept(0, 1, 1, command(1, 1, 0)),
            accept(1, 1, 1, Value::Noop),
            accept(2, 1, 1, command(2, 7, 16)),
            Record::Promise(Ballot::new(2, NodeId(2))),
            accept(3, 2, 2, command(1, 2, 200)),
        ],
        vec![
            Record::Round(5),
            accept(2, 2, 2, command(3, 1, 1)),
            accept(4, 2, 2, command(4, 9, 1500)),
            Record::Decided {
                slot: Slot(0),
                value: command(1, 1, 0),
            },
            Record::Decided {
                slot: Slot(1),
                value: Value::Noop,
            },
            accept(5, 2, 2, Value::Noop),
        ],
        vec![
            Record::Promise(Ballot::new(7, NodeId(1))),
            accept(6, 7, 1, command(5, 3, 64)),
            accept(3, 7, 1, command(1, 2, 200)),
            Record::Round(9),
            Record::Decided {
                slot: Slot(2),
                value: command(3, 1, 1),
            },
            accept(7, 7, 1, command(6, u64::MAX, 300)),
        ],
    ]
}

/// Writes `groups` to a new storage in `dir`, one sync per group.
pub fn write_groups(dir: &Path, groups: &[Vec<Record>]) {
    let mut s = create(dir);
    for group in groups {
        for r in group {
            s.append(std::slice::from_ref(r)).unwrap();
        }
        s.sync().unwrap();
    }
}

pub fn log_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(LOG_FILE)).unwrap()
}

pub fn set_log(dir: &Path, bytes: &[u8]) {
    std::fs::write(dir.join(LOG_FILE), bytes).unwrap();
}

/// Byte offsets where each record ends in the log written by `write_groups`.
pub fn record_ends(records: &[Record]) -> Vec<usize> {
    let mut buf = Vec::new();
    records
        .iter()
        .map(|r| {
            storage_file::record::encode(r, &mut buf, u32::MAX).unwrap();
            buf.len()
        })
        .collect()
}
