//! Replies in RESP2, the Redis protocol: what [`Store`](crate::Store)
//! answers for each command, and what clients read.

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`.
    Simple(String),
    /// `-ERR ...`: the text after the dash.
    Error(String),
    /// `:n`.
    Integer(i64),
    /// `$len` and the bytes.
    Bulk(Vec<u8>),
    /// `$-1`: no value.
    Nil,
    /// `*n` and the elements.
    Array(Vec<Reply>),
}

impl Reply {
    /// An error reply with Redis's `ERR` prefix.
    pub fn err(msg: impl std::fmt::Display) -> Reply {
        Reply::Error(format!("ERR {msg}"))
    }

    /// Appends the wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let flat = match self {
            Reply::Simple(s) => Flat::Simple(s),
            Reply::Error(s) => Flat::Error(s),
            Reply::Integer(n) => Flat::Integer(*n),
            Reply::Bulk(b) => Flat::Bulk(b),
            Reply::Nil => Flat::Nil,
            Reply::Array(items) => {
                out.push(b'*');
                push_number(out, items.len() as i64);
                out.extend_from_slice(b"\r\n");
                for item in items {
                    item.encode(out);
                }
                return;
            }
        };
        flat.encode(out);
    }

    /// Reads one reply from the front of `buf`: the reply and how many bytes
    /// it used, or `None` if `buf` does not start with a whole, well-formed
    /// reply. The inverse of [`Reply::encode`], for programs that relay a
    /// store's answers in another form.
    pub fn decode(buf: &[u8]) -> Option<(Reply, usize)> {
        let (&kind, _) = buf.split_first()?;
        let end = buf.windows(2).position(|w| w == b"\r\n")?;
        let line = &buf[1..end];
        let text = || std::str::from_utf8(line).ok();
        let after = end + 2;
        match kind {
            b'+' => Some((Reply::Simple(text()?.to_string()), after)),
            b'-' => Some((Reply::Error(text()?.to_string()), after)),
            b':' => Some((Reply::Integer(text()?.parse().ok()?), after)),
            b'$' => {
                let len: i64 = text()?.parse().ok()?;
                if len < 0 {
                    return (len == -1).then_some((Reply::Nil, after));
                }
                let stop = after.checked_add(usize::try_from(len).ok()?)?;
                if buf.get(stop..stop.checked_add(2)?)? != b"\r\n" {
                    return None;
                }
                Some((Reply::Bulk(buf[after..stop].to_vec()), stop + 2))
            }
            b'*' => {
                let count: usize = text()?.parse().ok()?;
                let mut items = Vec::with_capacity(count.min(1024));
                let mut at = after;
                for _ in 0..count {
                    let (item, used) = Reply::decode(buf.get(at..)?)?;
                    items.push(item);
                    at += used;
                }
                Some((Reply::Array(items), at))
            }
            _ => None,
        }
    }
}

/// A reply that is not an array, borrowing its text: what the store
/// writes for each command without building a [`Reply`] (every replica
/// answers every command, so the allocations would add up).
pub(crate) enum Flat<'a> {
    Simple(&'a str),
    Error(&'a str),
    Integer(i64),
    Bulk(&'a [u8]),
    Nil,
}

impl Flat<'_> {
    /// Appends the wire form to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Flat::Simple(s) => {
                out.push(b'+');
                out.extend_from_slice(s.as_bytes());
            }
            Flat::Error(s) => {
                out.push(b'-');
                // A newline inside would break the framing.
                out.extend(
                    s.bytes()
                        .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
                );
            }
            Flat::Integer(n) => {
                out.push(b':');
                push_number(out, *n);
            }
            Flat::Bulk(b) => {
                out.push(b'$');
                push_number(out, b.len() as i64);
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(b);
            }
            Flat::Nil => out.extend_from_slice(b"$-1"),
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `n` in decimal.
fn push_number(out: &mut Vec<u8>, n: i64) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{n}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_encode_as_redis_does() {
        let mut out = Vec::new();
        Reply::Array(vec![
            Reply::Simple("OK".into()),
            Reply::err("bad\r\nthing"),
            Reply::Integer(-3),
            Reply::Bulk(b"v".to_vec()),
            Reply::Nil,
        ])
        .encode(&mut out);
        assert_eq!(
            out,
            b"*5\r\n+OK\r\n-ERR bad  thing\r\n:-3\r\n$1\r\nv\r\n$-1\r\n"
        );
    }

    #[test]
    fn replies_decode_back_and_partial_ones_are_refused() {
        let replies = [
            Reply::Simple("OK".into()),
            Reply::Error("ERR no".into()),
            Reply::Integer(-3),
            Reply::Bulk(b"a\r\nb".to_vec()),
            Reply::Bulk(Vec::new()),
            Reply::Nil,
            Reply::Array(vec![Reply::Integer(1), Reply::Bulk(b"x".to_vec())]),
        ];
        for reply in replies {
            let mut wire = Vec::new();
            reply.encode(&mut wire);
            assert_eq!(Reply::decode(&wire), Some((reply.clone(), wire.len())));
            for cut in 0..wire.len() {
                assert_eq!(Reply::decode(&wire[..cut]), None, "{reply:?} cut at {cut}");
            }
        }
        assert_eq!(Reply::decode(b"$-2\r\n"), None);
        assert_eq!(Reply::decode(b"?x\r\n"), None);
    }
}
