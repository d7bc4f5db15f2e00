//! One record on disk, framed so that recovery can tell a torn tail from
//! corruption.
//!
//! ```text
//! [len: u32 LE][crc32c(payload): u32 LE][crc32c(len ‖ crc): u32 LE][payload: len bytes]
//! [zero padding to a multiple of 8][trailer: 8 bytes, TRAILER]
//! ```
//!
//! The payload is the rmp-serde encoding of one [`Record`]. The third field
//! checks the first two: without it, a flipped bit in `len` could point past
//! the end of the file and pass for a torn write, and recovery would drop
//! every record after it (all of them synced). With it, only a header that
//! checks out may declare a record that runs past the end of the file.
//!
//! The trailer is written last and is never zero, so in space reserved ahead
//! of the log (which reads as zeros) a record whose trailer is still zero was
//! never completely written, hence never synced. Frames are multiples of 8
//! bytes, so a trailer never straddles a disk sector.

use crate::error::{Error, Reason};
use paxos_core::Record;
use serde::Deserialize;

/// Bytes before each payload: length, payload checksum, header checksum.
pub const HEADER_LEN: usize = 12;

/// Bytes after each payload's padding: [`TRAILER`].
pub const TRAILER_LEN: usize = 8;

/// The last bytes of every frame. Not all zeros, and no single flipped bit
/// makes it all zeros, so bit rot in a trailer is never taken for an
/// unfinished write.
pub const TRAILER: [u8; TRAILER_LEN] = *b"PXRECEND";

/// Bytes a frame with a `len`-byte payload takes: header, payload, padding
/// to a multiple of 8, trailer.
pub fn frame_len(len: u32) -> u64 {
    let body = HEADER_LEN as u64 + u64::from(len);
    body.div_ceil(8) * 8 + TRAILER_LEN as u64
}

/// The default cap on one record's payload (64 MiB), checked before a
/// payload buffer is allocated, when reading and when writing.
pub const RECORD_LEN_MAX_DEFAULT: u32 = 64 << 20;

/// A record header whose own checksum matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Payload length in bytes.
    pub len: u32,
    /// crc32c of the payload.
    pub payload_crc: u32,
}

impl Header {
    /// Parses a header, checking its own checksum. Says nothing about the
    /// length: compare it with `record_len_max` and the bytes left.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, Reason> {
        let [l0, l1, l2, l3, c0, c1, c2, c3, h0, h1, h2, h3] = *bytes;
        if crc32c::crc32c(&bytes[..8]) != u32::from_le_bytes([h0, h1, h2, h3]) {
            return Err(Reason::HeaderChecksum);
        }
        Ok(Header {
            len: u32::from_le_bytes([l0, l1, l2, l3]),
            payload_crc: u32::from_le_bytes([c0, c1, c2, c3]),
        })
    }

    /// The header's bytes on disk.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..4].copy_from_slice(&self.len.to_le_bytes());
        out[4..8].copy_from_slice(&self.payload_crc.to_le_bytes());
        let check = crc32c::crc32c(&out[..8]);
        out[8..].copy_from_slice(&check.to_le_bytes());
        out
    }
}

/// Appends one framed record to `out`. On error `out` is left as it was.
pub fn encode(record: &Record, out: &mut Vec<u8>, record_len_max: u32) -> Result<(), Error> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    if let Err(e) = rmp_serde::encode::write(out, record) {
        out.truncate(start);
        return Err(e.into());
    }
    let payload = &out[start + HEADER_LEN..];
    let len = match u32::try_from(payload.len()) {
        Ok(len) if len <= record_len_max => len,
        _ => {
            let len = payload.len();
            out.truncate(start);
            return Err(Error::RecordTooLarge {
                len,
                max: record_len_max,
            });
        }
    };
    let header = Header {
        len,
        payload_crc: crc32c::crc32c(payload),
    };
    debug_assert_eq!(decode_payload(header, payload).as_ref(), Ok(record));
    out[start..start + HEADER_LEN].copy_from_slice(&header.to_bytes());
    let end = start as u64 + frame_len(len);
    out.resize(end as usize - TRAILER_LEN, 0);
    out.extend_from_slice(&TRAILER);
    Ok(())
}

/// Checks a payload against its header and decodes it. A payload whose
/// checksum matches but which is not exactly one `Record` is an error too:
/// a writer meant it, so dropping it could drop a promise.
pub fn decode_payload(header: Header, payload: &[u8]) -> Result<Record, Reason> {
    if crc32c::crc32c(payload) != header.payload_crc {
        return Err(Reason::PayloadChecksum);
    }
    let mut de = rmp_serde::Deserializer::new(std::io::Cursor::new(payload));
    let record = Record::deserialize(&mut de).map_err(|e| Reason::Undecodable(e.into()))?;
    let used = de.position();
    if used != payload.len() as u64 {
        return Err(Reason::TrailingBytes {
            len: payload.len() as u64 - used,
        });
    }
    Ok(record)
}

/// Checks the trailer at the end of a frame's `body` (everything after its
/// header).
fn check_trailer(body: &[u8]) -> Result<(), Reason> {
    match body.last_chunk::<TRAILER_LEN>() {
        Some(t) if *t == TRAILER => Ok(()),
        Some(t) if *t == [0; TRAILER_LEN] => Err(Reason::Unfinished),
        _ => Err(Reason::Trailer),
    }
}

/// Decodes the record framed at the start of `bytes`: `Ok(Some((record,
/// frame_len)))`, or `Ok(None)` if `bytes` ends inside the frame (at the end
/// of a file, a torn write), or why the frame is corrupt. Never panics and
/// never allocates more than the payload it checks.
pub fn decode(bytes: &[u8], record_len_max: u32) -> Result<Option<(Record, usize)>, Reason> {
    let Some((head, rest)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    let header = Header::parse(head)?;
    if header.len > record_len_max {
        return Err(Reason::TooLong {
            len: header.len,
            max: record_len_max,
        });
    }
    let frame = frame_len(header.len) as usize;
    let Some(body) = rest.get(..frame - HEADER_LEN) else {
        return Ok(None);
    };
    let record = decode_body(header, body)?;
    Ok(Some((record, frame)))
}

/// Checks and decodes everything after a frame's header (`body`: payload,
/// padding, trailer; `frame_len(header.len) - HEADER_LEN` bytes). The
/// trailer is checked first, so an unfinished write is
/// [`Reason::Unfinished`] whatever else it holds.
pub fn decode_body(header: Header, body: &[u8]) -> Result<Record, Reason> {
    check_trailer(body)?;
    let (payload, rest) = body.split_at(header.len as usize);
    if rest[..rest.len() - TRAILER_LEN].iter().any(|b| *b != 0) {
        return Err(Reason::Padding);
    }
    decode_payload(header, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paxos_core::{Ballot, NodeId};

    #[test]
    fn an_all_zero_header_never_checks_out() {
        // Recovery treats a zero-filled tail as unwritten space; that is only
        // safe because no real header is all zeros.
        assert_eq!(Header::parse(&[0; HEADER_LEN]), Err(Reason::HeaderChecksum));
    }

    #[test]
    fn encode_then_decode_returns_the_record_and_frame_length() {
        let record = Record::Promise(Ballot::new(3, NodeId(2)));
        let mut buf = vec![7];
        encode(&record, &mut buf, RECORD_LEN_MAX_DEFAULT).unwrap();
        let (back, len) = decode(&buf[1..], RECORD_LEN_MAX_DEFAULT).unwrap().unwrap();
        assert_eq!(back, record);
        assert_eq!(len, buf.len() - 1);
    }

    #[test]
    fn frames_are_multiples_of_eight_and_end_in_the_trailer() {
        for len in [0usize, 1, 7, 20, 300] {
            let record = Record::Accept {
                slot: paxos_core::Slot(1),
                ballot: Ballot::new(1, NodeId(1)),
                value: paxos_core::Value::from(paxos_core::Command {
                    client: paxos_core::ClientId(1),
                    seq: 1,
                    payload: vec![0; len].into(),
                }),
            };
            let mut buf = Vec::new();
            encode(&record, &mut buf, RECORD_LEN_MAX_DEFAULT).unwrap();
            assert_eq!(buf.len() % 8, 0);
            assert_eq!(buf[buf.len() - TRAILER_LEN..], TRAILER);
            let mut flipped = buf.clone();
            let at = buf.len() - 1;
            flipped[at] ^= 1;
            assert_eq!(
                decode(&flipped, RECORD_LEN_MAX_DEFAULT),
                Err(Reason::Trailer)
            );
        }
    }

    #[test]
    fn encode_refuses_a_record_over_the_cap_and_leaves_the_buffer_alone() {
        let record = Record::Round(u64::MAX);
        let mut buf = vec![1, 2, 3];
        let err = encode(&record, &mut buf, 2).unwrap_err();
        assert!(matches!(err, Error::RecordTooLarge { max: 2, .. }), "{err}");
        assert_eq!(buf, [1, 2, 3]);
    }
}
