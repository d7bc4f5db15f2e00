//! Goal: no byte sequence makes recovery or the record decoder panic or
//! allocate without bound; what they accept is consistent. Method: proptest
//! over arbitrary bytes, mutated and truncated valid logs, and valid headers
//! around arbitrary payloads (so the rmp-serde decoder sees garbage too).
//! `STORAGE_FUZZ_CASES` sets the case count (default 2,000);
//! `STORAGE_FUZZ_DIR` puts the files elsewhere (a tmpfs makes the syncs of
//! cut tails free).

use crate::common::*;
use paxos_core::{Ballot, ClientId, Command, DurableState, NodeId, Record, Slot, Storage, Value};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::cell::Cell;
use std::time::Instant;
use storage_file::record::{self, Header};
use storage_file::RECORD_LEN_MAX_DEFAULT;

fn cases() -> u32 {
    std::env::var("STORAGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    }
}

fn sample_log() -> Vec<u8> {
    let mut out = Vec::new();
    for r in sample_groups().concat() {
        record::encode(&r, &mut out, RECORD_LEN_MAX_DEFAULT).unwrap();
    }
    out
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let header = Header {
        len: payload.len() as u32,
        payload_crc: crc32c::crc32c(payload),
    };
    let mut out = header.to_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Logs: arbitrary bytes; the sample log with a few bytes changed and cut
/// anywhere; frames with valid headers around arbitrary payloads, after a
/// valid prefix.
fn log_strategy() -> impl Strategy<Value = Vec<u8>> {
    let sample = sample_log();
    let len = sample.len();
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        (
            proptest::collection::vec((0..len, any::<u8>()), 0..4),
            0..=len,
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(move |(edits, cut, tail)| {
                let mut log = sample.clone();
                for (at, x) in edits {
                    log[at] ^= x;
                }
                log.truncate(cut);
                log.extend(tail);
                log
            }),
        (
            0..20usize,
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..48), 1..4),
            0..16usize,
        )
            .prop_map(|(keep, payloads, cut)| {
                let mut log = sample_log();
                let ends = record_ends(&sample_groups().concat());
                log.truncate(ends[keep.min(ends.len() - 1)]);
                for p in payloads {
                    log.extend(framed(&p));
                }
                let n = log.len().saturating_sub(cut);
                log.truncate(n);
                log
            }),
    ]
}

/// The state of the records `record::decode` finds in the first `len` bytes.
fn decoded_state(bytes: &[u8], len: usize) -> DurableState {
    let mut state = DurableState::default();
    let mut at = 0;
    while at < len {
        let (r, n) = record::decode(&bytes[at..len], RECORD_LEN_MAX_DEFAULT)
            .unwrap()
            .unwrap();
        state.apply(&r);
        at += n;
    }
    state
}

#[test]
fn arbitrary_log_bytes_open_or_are_refused_and_never_panic() {
    let tmp = match std::env::var_os("STORAGE_FUZZ_DIR") {
        Some(dir) => tempfile::tempdir_in(dir).unwrap(),
        None => tempfile::tempdir().unwrap(),
    };
    drop(create(tmp.path()));
    let (opened, refused) = (Cell::new(0u64), Cell::new(0u64));
    let started = Instant::now();
    let mut runner = TestRunner::new(config());
    let result = runner.run(&log_strategy(), |bytes| {
        set_log(tmp.path(), &bytes);
        match reopen(tmp.path()) {
            Ok(mut s) => {
                opened.set(opened.get() + 1);
                let rec = s.recovery();
                prop_assert!(rec.len + rec.truncated + rec.zeros == bytes.len() as u64);
                prop_assert!(rec.truncated == 0 || rec.zeros == 0);
                let state = s.load().unwrap();
                prop_assert_eq!(&state, &decoded_state(&bytes, rec.len as usize));
                drop(s);
                // Recovery is idempotent: a second open cuts nothing.
                let again = reopen(tmp.path()).unwrap();
                prop_assert_eq!(again.recovery().truncated + again.recovery().zeros, 0);
                prop_assert_eq!(again.recovery().len, rec.len);
            }
            Err(storage_file::Error::Corrupt { offset, .. }) => {
                refused.set(refused.get() + 1);
                prop_assert!(offset < bytes.len() as u64);
                // Refusing never changes the file.
                prop_assert_eq!(log_bytes(tmp.path()), bytes);
            }
            Err(e) => prop_assert!(false, "unexpected error kind: {}", e),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    println!(
        "recovery fuzz: {} cases in {:.1?}: {} opened, {} refused",
        cases(),
        started.elapsed(),
        opened.get(),
        refused.get()
    );
}

fn record_strategy() -> impl Strategy<Value = Record> {
    let ballot = (any::<u64>(), any::<u64>()).prop_map(|(r, n)| Ballot::new(r, NodeId(n)));
    let value = prop_oneof![
        Just(Value::Noop),
        (
            any::<u64>(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(c, seq, payload)| Value::from(Command {
                client: ClientId(c),
                seq,
                payload: payload.into()
            })),
    ];
    prop_oneof![
        ballot.clone().prop_map(Record::Promise),
        (any::<u64>(), ballot, value.clone()).prop_map(|(s, ballot, value)| Record::Accept {
            slot: Slot(s),
            ballot,
            value
        }),
        any::<u64>().prop_map(Record::Round),
        (any::<u64>(), value).prop_map(|(s, value)| Record::Decided {
            slot: Slot(s),
            value
        }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decoding_arbitrary_bytes_as_one_record_never_panics(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(|p| framed(&p)),
        ],
        max in prop_oneof![Just(RECORD_LEN_MAX_DEFAULT), 0..64u32],
    ) {
        if let Ok(Some((_, n))) = record::decode(&bytes, max) {
            prop_assert!(n >= record::HEADER_LEN && n <= bytes.len());
        }
    }

    #[test]
    fn every_record_decodes_to_itself(r in record_strategy(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut buf = Vec::new();
        record::encode(&r, &mut buf, RECORD_LEN_MAX_DEFAULT).unwrap();
        let n = buf.len();
        buf.extend(tail);
        prop_assert_eq!(record::decode(&buf, RECORD_LEN_MAX_DEFAULT), Ok(Some((r, n))));
        // Any strict prefix is incomplete, never an error or a record.
        for cut in 0..n {
            prop_assert_eq!(record::decode(&buf[..cut], RECORD_LEN_MAX_DEFAULT), Ok(None));
        }
    }
}
