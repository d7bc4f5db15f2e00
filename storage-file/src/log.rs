//! Reading the log back: every record from the start, and a verdict on how
//! it ends (cleanly, torn, or corrupt). The rule is in the crate docs.

use crate::error::{io, Error, Reason};
use crate::record::{decode_body, frame_len, Header, HEADER_LEN};
use paxos_core::Record;
use std::io::{BufReader, Read};
use std::path::Path;

/// Name of the log file in the data directory.
pub const LOG_FILE: &str = "log";

/// How a log that is not corrupt ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// At a record boundary.
    Clean,
    /// Inside a record that was never completely written: fewer than
    /// [`HEADER_LEN`] bytes left, or a checked header whose payload runs past
    /// the end of the file.
    Torn,
    /// In zero bytes from a record boundary on: space reserved ahead of the
    /// log, or a file size that reached the disk before its data did. No
    /// header is all zeros.
    Zeros,
    /// In a record never finished: a header that fails its checksum, or one
    /// that checks out with a trailer still zero, and only zeros after it
    /// (a write into reserved space cut short).
    Unfinished,
}

/// What a scan found.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scan {
    /// Bytes of complete, valid records from the start.
    pub valid_len: u64,
    /// How many records those bytes hold.
    pub records: u64,
    /// What follows them.
    pub end: End,
}

/// Reads the first `file_len` bytes of a log from `rd`, handing each valid
/// record to `each`. Fails with [`Error::Corrupt`] on a record that is
/// complete but bad, wherever it is: it may have been synced and
/// acknowledged, so it is never dropped.
pub(crate) fn scan(
    rd: impl Read,
    file_len: u64,
    file: &Path,
    record_len_max: u32,
    mut each: impl FnMut(Record),
) -> Result<Scan, Error> {
    let mut rd = BufReader::with_capacity(1 << 16, rd);
    let corrupt = |offset, reason| Error::Corrupt {
        file: file.to_path_buf(),
        offset,
        reason,
    };
    let mut offset = 0u64;
    let mut records = 0u64;
    let mut payload = Vec::new();
    loop {
        let done = |end| {
            Ok(Scan {
                valid_len: offset,
                records,
                end,
            })
        };
        let left = file_len - offset;
        if left == 0 {
            return done(End::Clean);
        }
        if left < HEADER_LEN as u64 {
            return done(End::Torn);
        }
        let mut head = [0; HEADER_LEN];
        rd.read_exact(&mut head).map_err(io("read", file))?;
        let header = match Header::parse(&head) {
            Ok(h) => h,
            Err(reason) => {
                // Only zeros after a bad header: no trailer anywhere, so no
                // record here was ever finished, let alone synced.
                if zeros(&mut rd, left - HEADER_LEN as u64, file)? {
                    let end = if head == [0; HEADER_LEN] {
                        End::Zeros
                    } else {
                        End::Unfinished
                    };
                    return done(end);
                }
                return Err(corrupt(offset, reason));
            }
        };
        if header.len > record_len_max {
            let reason = Reason::TooLong {
                len: header.len,
                max: record_len_max,
            };
            return Err(corrupt(offset, reason));
        }
        let frame = frame_len(header.len);
        if frame > left {
            return done(End::Torn);
        }
        // Bounded by record_len_max and by the bytes left in the file.
        payload.resize((frame - HEADER_LEN as u64) as usize, 0);
        rd.read_exact(&mut payload).map_err(io("read", file))?;
        let record = match decode_body(header, &payload) {
            Ok(record) => record,
            Err(Reason::Unfinished) if zeros(&mut rd, left - frame, file)? => {
                return done(End::Unfinished)
            }
            Err(reason) => return Err(corrupt(offset, reason)),
        };
        each(record);
        records += 1;
        offset += frame;
    }
}

/// Whether the next `len` bytes of `rd` are all zero.
fn zeros(rd: &mut impl Read, len: u64, file: &Path) -> Result<bool, Error> {
    let mut chunk = [0u8; 4096];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        rd.read_exact(&mut chunk[..n]).map_err(io("read", file))?;
        if chunk[..n].iter().any(|b| *b != 0) {
            return Ok(false);
        }
        left -= n as u64;
    }
    Ok(true)
}
