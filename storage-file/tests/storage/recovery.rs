//! Goal: pin each clause of the recovery rule in the crate docs — which
//! endings are cut as torn tails and which are refused as corruption.
//! Method: write a valid log, then hand-craft its tail (or a middle record)
//! with `storage_file::record::Header`, reopen, and check the verdict and the
//! offset it reports.

use crate::common::*;
use paxos_core::{DurableState, Record, Storage};
use storage_file::record::{frame_len, Header, HEADER_LEN, TRAILER, TRAILER_LEN};
use storage_file::{Error, FileStorage, OpenMode, Options, Reason};

/// A frame with a valid header around arbitrary payload bytes.
fn frame(payload: &[u8]) -> Vec<u8> {
    let header = Header {
        len: payload.len() as u32,
        payload_crc: crc32c::crc32c(payload),
    };
    let mut out = header.to_bytes().to_vec();
    out.extend_from_slice(payload);
    out.resize(frame_len(header.len) as usize - TRAILER_LEN, 0);
    out.extend_from_slice(&TRAILER);
    out
}

fn setup() -> (tempfile::TempDir, Vec<u8>, Vec<Record>) {
    let tmp = tempfile::tempdir().unwrap();
    write_groups(tmp.path(), &sample_groups());
    let log = log_bytes(tmp.path());
    (tmp, log, sample_groups().concat())
}

fn corrupt(result: Result<FileStorage, Error>) -> (u64, Reason) {
    match result {
        Err(Error::Corrupt { offset, reason, .. }) => (offset, reason),
        Err(e) => panic!("expected Corrupt, got {e}"),
        Ok(_) => panic!("expected Corrupt, it opened"),
    }
}

#[test]
fn a_complete_final_record_with_a_bad_payload_checksum_is_refused_not_cut() {
    let (tmp, mut log, records) = setup();
    let last_start = record_ends(&records)[records.len() - 2];
    log[last_start + HEADER_LEN + 1] ^= 0x01;
    set_log(tmp.path(), &log);
    assert_eq!(
        corrupt(reopen(tmp.path())),
        (last_start as u64, Reason::PayloadChecksum)
    );
    // Refusing changed nothing on disk.
    assert_eq!(log_bytes(tmp.path()), log);
}

#[test]
fn a_bad_record_in_the_middle_is_refused_with_its_offset() {
    let (tmp, mut log, records) = setup();
    let third = record_ends(&records)[1];
    log[third + HEADER_LEN] ^= 0x80;
    set_log(tmp.path(), &log);
    assert_eq!(
        corrupt(reopen(tmp.path())),
        (third as u64, Reason::PayloadChecksum)
    );
}

#[test]
fn a_flipped_length_bit_is_refused_not_taken_for_a_torn_tail() {
    let (tmp, mut log, _) = setup();
    // The top bit of the first record's length: without a header checksum
    // this record would run past the end of the file and look torn.
    log[3] ^= 0x01;
    set_log(tmp.path(), &log);
    assert_eq!(corrupt(reopen(tmp.path())), (0, Reason::HeaderChecksum));
}

#[test]
fn a_checksum_valid_but_undecodable_record_is_refused_even_at_the_tail() {
    let (tmp, mut log, _) = setup();
    let at = log.len() as u64;
    log.extend(frame(b"\xc1 not msgpack"));
    set_log(tmp.path(), &log);
    let (offset, reason) = corrupt(reopen(tmp.path()));
    assert_eq!(offset, at);
    assert!(matches!(reason, Reason::Undecodable(_)), "{reason}");
    let source = std::error::Error::source(&reason).map(ToString::to_string);
    assert!(
        source.is_some_and(|s| reason.to_string().ends_with(&s)),
        "the decode error is kept as the source: {reason:?}"
    );
}

#[test]
fn a_record_with_trailing_bytes_after_its_payload_is_refused() {
    let (tmp, mut log, _) = setup();
    let mut payload = rmp_serde::to_vec(&Record::Round(3)).unwrap();
    payload.push(0);
    log.extend(frame(&payload));
    set_log(tmp.path(), &log);
    assert_eq!(
        corrupt(reopen(tmp.path())).1,
        Reason::TrailingBytes { len: 1 }
    );
}

#[test]
fn a_header_claiming_more_than_the_file_holds_is_a_torn_tail_and_is_cut() {
    let (tmp, mut log, records) = setup();
    let good = log.len();
    let mut torn = frame(&vec![9; 1000]);
    torn.truncate(HEADER_LEN + 10);
    log.extend(torn);
    set_log(tmp.path(), &log);
    let mut s = reopen(tmp.path()).unwrap();
    assert_eq!(s.recovery().truncated, (HEADER_LEN + 10) as u64);
    assert_eq!(s.load().unwrap(), DurableState::from_records(&records));
    drop(s);
    assert_eq!(log_bytes(tmp.path()).len(), good);
}

#[test]
fn a_length_over_record_len_max_is_refused_before_allocating() {
    let (tmp, mut log, _) = setup();
    let at = log.len() as u64;
    // A checked header claiming 4 GiB: refused, not allocated, not torn.
    let header = Header {
        len: u32::MAX,
        payload_crc: 0,
    };
    log.extend_from_slice(&header.to_bytes());
    set_log(tmp.path(), &log);
    let (offset, reason) = corrupt(reopen(tmp.path()));
    assert_eq!(offset, at);
    assert!(
        matches!(reason, Reason::TooLong { len: u32::MAX, .. }),
        "{reason}"
    );
}

#[test]
fn records_longer_than_a_smaller_configured_max_are_refused_on_open() {
    let (tmp, _, _) = setup();
    let opts = Options {
        record_len_max: 64,
        ..Options::default()
    };
    let err = FileStorage::open(tmp.path(), ME, OpenMode::Existing, opts).err();
    assert!(
        matches!(
            err,
            Some(Error::Corrupt {
                reason: Reason::TooLong { max: 64, .. },
                ..
            })
        ),
        "{err:?}"
    );
}

#[test]
fn a_damaged_trailer_is_refused_even_at_the_tail() {
    let (tmp, mut log, records) = setup();
    let last_start = record_ends(&records)[records.len() - 2];
    let end = log.len();
    log[end - 3] ^= 0x10;
    set_log(tmp.path(), &log);
    assert_eq!(
        corrupt(reopen(tmp.path())),
        (last_start as u64, Reason::Trailer)
    );
}

#[test]
fn a_non_zero_padding_byte_is_refused() {
    let (tmp, mut log, records) = setup();
    let last_start = record_ends(&records)[records.len() - 2];
    let len = u32::from_le_bytes(log[last_start..last_start + 4].try_into().unwrap());
    let pad = last_start + HEADER_LEN + len as usize;
    let end = log.len();
    assert!(pad < end - TRAILER_LEN, "the last record has padding");
    log[pad] = 1;
    set_log(tmp.path(), &log);
    assert_eq!(
        corrupt(reopen(tmp.path())),
        (last_start as u64, Reason::Padding)
    );
}

#[test]
fn a_record_without_its_trailer_followed_by_zeros_is_unfinished_and_is_cut() {
    let (tmp, mut log, records) = setup();
    let good = log.len();
    let mut unfinished = frame(&rmp_serde::to_vec(&Record::Round(77)).unwrap());
    let n = unfinished.len();
    unfinished[n - TRAILER_LEN..].fill(0);
    log.extend(unfinished);
    log.extend(std::iter::repeat_n(0, 4096));
    set_log(tmp.path(), &log);
    let mut s = reopen(tmp.path()).unwrap();
    assert_eq!(s.recovery().truncated, (n + 4096) as u64);
    assert_eq!(s.load().unwrap(), DurableState::from_records(&records));
    drop(s);
    assert_eq!(log_bytes(tmp.path()).len(), good);
}

#[test]
fn a_record_without_its_trailer_followed_by_data_is_refused() {
    let (tmp, mut log, _) = setup();
    let at = log.len() as u64;
    let mut unfinished = frame(&rmp_serde::to_vec(&Record::Round(77)).unwrap());
    let n = unfinished.len();
    unfinished[n - TRAILER_LEN..].fill(0);
    log.extend(unfinished);
    log.extend(frame(&rmp_serde::to_vec(&Record::Round(78)).unwrap()));
    set_log(tmp.path(), &log);
    assert_eq!(corrupt(reopen(tmp.path())), (at, Reason::Unfinished));
}

#[test]
fn a_zero_filled_tail_is_unwritten_space_and_is_cut() {
    let (tmp, mut log, records) = setup();
    let good = log.len();
    log.extend(std::iter::repeat_n(0, 4096 + 7));
    set_log(tmp.path(), &log);
    let mut s = reopen(tmp.path()).unwrap();
    assert_eq!(s.recovery().zeros, 4096 + 7);
    assert_eq!(s.recovery().truncated, 0, "zeros are not a cut record");
    assert_eq!(s.load().unwrap(), DurableState::from_records(&records));
    drop(s);
    assert_eq!(log_bytes(tmp.path()).len(), good);
}

#[test]
fn zeros_followed_by_anything_else_are_refused() {
    let (tmp, mut log, _) = setup();
    let at = log.len() as u64;
    log.extend(std::iter::repeat_n(0, 100));
    log.push(1);
    set_log(tmp.path(), &log);
    assert_eq!(corrupt(reopen(tmp.path())), (at, Reason::HeaderChecksum));
}

#[test]
fn a_garbage_header_at_the_tail_is_refused() {
    let (tmp, mut log, _) = setup();
    let at = log.len() as u64;
    log.extend_from_slice(&[0xAB; HEADER_LEN + 3]);
    set_log(tmp.path(), &log);
    assert_eq!(corrupt(reopen(tmp.path())), (at, Reason::HeaderChecksum));
}

#[test]
fn fewer_bytes_than_a_header_at_the_tail_are_cut() {
    let (tmp, mut log, records) = setup();
    log.extend_from_slice(&[0xAB; HEADER_LEN - 1]);
    set_log(tmp.path(), &log);
    let s = reopen(tmp.path()).unwrap();
    assert_eq!(s.recovery().truncated, (HEADER_LEN - 1) as u64);
    assert_eq!(s.recovery().records, records.len() as u64);
}

#[test]
fn load_refuses_a_log_that_shrank_under_a_running_storage() {
    let (tmp, log, _) = setup();
    let mut s = reopen(tmp.path()).unwrap();
    set_log(tmp.path(), &log[..log.len() - 1]);
    let err = s.load().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Corrupt {
                reason: Reason::Shrunk,
                ..
            }
        ),
        "{err}"
    );
}
