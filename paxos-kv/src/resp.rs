//! RESP2, the Redis protocol: requests are arrays of bulk strings (or
//! inline commands, a line of words); replies are simple strings, errors,
//! integers, bulk strings and arrays.
//!
//! The parser is incremental over a buffer: it returns `Ok(None)` until a
//! whole request has arrived, so pipelined requests are taken one by one.
//! Every length is checked against a limit before anything is allocated.

/// Most arguments in one request.
pub const ARGS_MAX: usize = 1024;
/// Longest bulk string (a key or a value). Kept well under the transport's
/// frame limit: a value travels inside Accept, Promise and Decide messages
/// with others, and a message too large to send would stall the protocol.
pub const BULK_LEN_MAX: usize = 1024 * 1024;
/// Longest inline command or header line.
pub const LINE_LEN_MAX: usize = 64 * 1024;

/// Replies are the state machine's output, so they live with it.
pub use paxos_kvstore::Reply;

/// Why a request could not be parsed; the connection is closed after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RespError {
    /// Something other than the expected byte or number.
    #[error("Protocol error: {0}")]
    Protocol(&'static str),
    /// A length or count above its limit.
    #[error("Protocol error: {what} {len} exceeds {max}")]
    TooLong {
        /// Which length.
        what: &'static str,
        /// Its value.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Finds `\r\n` in `buf` from `from`; `Ok(None)` if not there yet.
fn line_end(buf: &[u8], from: usize) -> Result<Option<usize>, RespError> {
    let window = &buf[from.min(buf.len())..];
    match window.windows(2).position(|w| w == b"\r\n") {
        Some(i) => Ok(Some(from + i)),
        None if window.len() > LINE_LEN_MAX => Err(RespError::TooLong {
            what: "line",
            len: window.len(),
            max: LINE_LEN_MAX,
        }),
        None => Ok(None),
    }
}

fn number(bytes: &[u8]) -> Result<i64, RespError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(RespError::Protocol("invalid length"))
}

/// A parsed request: its arguments, and how many bytes it used.
pub type Parsed = (Vec<Vec<u8>>, usize);

/// Parses one request from the front of `buf`: its arguments and how many
/// bytes it used, or `None` if it is not complete yet.
pub fn parse(buf: &[u8]) -> Result<Option<Parsed>, RespError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first != b'*' {
        return parse_inline(buf);
    }
    let Some(end) = line_end(buf, 1)? else {
        return Ok(None);
    };
    let count = number(&buf[1..end])?;
    if count <= 0 {
        return Ok(Some((Vec::new(), end + 2)));
    }
    let count = count as usize;
    if count > ARGS_MAX {
        return Err(RespError::TooLong {
            what: "argument count",
            len: count,
            max: ARGS_MAX,
        });
    }
    let mut at = end + 2;
    let mut args = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        match buf.get(at) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(_) => return Err(RespError::Protocol("expected '$'")),
        }
        let Some(end) = line_end(buf, at + 1)? else {
            return Ok(None);
        };
        let len = number(&buf[at + 1..end])?;
        if len < 0 {
            return Err(RespError::Protocol("invalid bulk length"));
        }
        let len = len as usize;
        if len > BULK_LEN_MAX {
            return Err(RespError::TooLong {
                what: "bulk length",
                len,
                max: BULK_LEN_MAX,
            });
        }
        let start = end + 2;
        let stop = start + len;
        if buf.len() < stop + 2 {
            return Ok(None);
        }
        if &buf[stop..stop + 2] != b"\r\n" {
            return Err(RespError::Protocol("expected CRLF after bulk string"));
        }
        args.push(buf[start..stop].to_vec());
        at = stop + 2;
    }
    Ok(Some((args, at)))
}

fn parse_inline(buf: &[u8]) -> Result<Option<Parsed>, RespError> {
    let Some(nl) = buf.iter().position(|b| *b == b'\n') else {
        if buf.len() > LINE_LEN_MAX {
            return Err(RespError::TooLong {
                what: "inline command",
                len: buf.len(),
                max: LINE_LEN_MAX,
            });
        }
        return Ok(None);
    };
    let line = &buf[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let args = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|w| !w.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    Ok(Some((args, nl + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn parses_arrays_inline_and_pipelines_incrementally() {
        let wire = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nPING\r\n*1\r\n$4\r\nPING\r\n";
        let (a, n) = parse(wire).unwrap().unwrap();
        assert_eq!(a, args(&["SET", "k", "hello"]));
        let (b, m) = parse(&wire[n..]).unwrap().unwrap();
        assert_eq!(b, args(&["PING"]));
        let (c, k) = parse(&wire[n + m..]).unwrap().unwrap();
        assert_eq!(c, args(&["PING"]));
        assert_eq!(n + m + k, wire.len());
        for cut in 0..n {
            assert_eq!(parse(&wire[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn oversized_and_malformed_requests_are_errors() {
        assert!(matches!(
            parse(b"*99999999999\r\n"),
            Err(RespError::TooLong { .. })
        ));
        assert!(matches!(
            parse(b"*1\r\n$999999999\r\n"),
            Err(RespError::TooLong { .. })
        ));
        assert!(parse(b"*1\r\n:3\r\n").is_err());
        assert!(parse(b"*1\r\n$3\r\nabcX\r\n").is_err());
        assert!(parse(b"*x\r\n").is_err());
        assert!(parse(b"*1\r\n$-5\r\n").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("RESP_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)
        ))]
        /// Any bytes: a request, "not yet", or an error; never a panic, and
        /// a parsed request never claims more bytes than it was given.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(Some((_, used))) = parse(&bytes) {
                prop_assert!(used <= bytes.len());
            }
        }

        /// Encoded requests parse back.
        #[test]
        fn requests_round_trip(parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..8)) {
            let mut wire = format!("*{}\r\n", parts.len()).into_bytes();
            for p in &parts {
                wire.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
                wire.extend_from_slice(p);
                wire.extend_from_slice(b"\r\n");
            }
            prop_assert_eq!(parse(&wire).unwrap(), Some((parts, wire.len())));
        }
    }
}
