//! Reading log entries. [`encode`](crate::encode) writes them with
//! rmp-serde; every replica reads every entry, so reading is on the hot
//! path: entries in the form `encode` writes are read by a hand-written
//! MessagePack reader that borrows keys and values from the entry, and
//! anything else goes through rmp-serde, which reads every form of the
//! format. A test checks that the two agree whenever the fast one answers.

use serde::Deserialize;
use serde_bytes::Bytes;

/// [`Op`](crate::Op) as read from a log entry, borrowing its keys and
/// values from the entry. Same variant names and field encodings as `Op`,
/// so it reads exactly what `Op` writes.
#[derive(Debug, PartialEq, Eq, Deserialize)]
#[serde(rename = "Op")]
pub(crate) enum OpRef<'a> {
    Get(#[serde(borrow)] &'a Bytes),
    Set(#[serde(borrow)] &'a Bytes, #[serde(borrow)] &'a Bytes),
    Del(#[serde(borrow)] Vec<&'a Bytes>),
    Incr(#[serde(borrow)] &'a Bytes),
    Cas(
        #[serde(borrow)] &'a Bytes,
        #[serde(borrow)] &'a Bytes,
        #[serde(borrow)] &'a Bytes,
    ),
}

/// A read log entry. Most entries carry one command: those are read
/// without a vector. Every command is read before any is applied, so a
/// damaged entry applies nothing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Batch<'a> {
    One(OpRef<'a>),
    Many(Vec<OpRef<'a>>),
}

/// Most commands a batch's vector reserves room for up front (the entry's
/// own count is not trusted before its commands are read).
const RESERVE_MAX: usize = 1024;

/// Reads a log entry; `None` if it is not one.
pub(crate) fn decode(entry: &[u8]) -> Option<Batch<'_>> {
    decode_fast(entry).or_else(|| rmp_serde::from_slice(entry).ok())
}

impl<'de> Deserialize<'de> for Batch<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Ops;
        impl<'de> serde::de::Visitor<'de> for Ops {
            type Value = Batch<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence of commands")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Batch<'de>, A::Error> {
                let Some(first) = seq.next_element()? else {
                    return Ok(Batch::Many(Vec::new()));
                };
                let Some(second) = seq.next_element()? else {
                    return Ok(Batch::One(first));
                };
                let reserve = seq.size_hint().unwrap_or(0).min(RESERVE_MAX);
                let mut ops = Vec::with_capacity(reserve + 2);
                ops.extend([first, second]);
                while let Some(op) = seq.next_element()? {
                    ops.push(op);
                }
                Ok(Batch::Many(ops))
            }
        }
        d.deserialize_seq(Ops)
    }
}

/// Reads an entry in exactly the form `encode` writes (arrays, a one-entry
/// map keyed by the variant's name as a short string, byte strings as
/// `bin`), consuming all of it; `None` for anything else, which then goes
/// to rmp-serde.
fn decode_fast(entry: &[u8]) -> Option<Batch<'_>> {
    let mut r = Reader { buf: entry, at: 0 };
    let n = r.array()?;
    let batch = if n == 1 {
        Batch::One(r.op()?)
    } else {
        let mut ops = Vec::with_capacity(n.min(RESERVE_MAX));
        for _ in 0..n {
            ops.push(r.op()?);
        }
        Batch::Many(ops)
    };
    (r.at == entry.len()).then_some(batch)
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let bytes = self.buf.get(self.at..end)?;
        self.at = end;
        Some(bytes)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn be(&mut self, width: usize) -> Option<usize> {
        let bytes = self.take(width)?;
        let n = bytes.iter().fold(0u64, |n, b| n << 8 | u64::from(*b));
        usize::try_from(n).ok()
    }

    fn array(&mut self) -> Option<usize> {
        match self.byte()? {
            b @ 0x90..=0x9f => Some(usize::from(b & 0x0f)),
            0xdc => self.be(2),
            0xdd => self.be(4),
            _ => None,
        }
    }

    fn bin(&mut self) -> Option<&'a Bytes> {
        let len = match self.byte()? {
            0xc4 => self.be(1)?,
            0xc5 => self.be(2)?,
            0xc6 => self.be(4)?,
            _ => return None,
        };
        Some(Bytes::new(self.take(len)?))
    }

    /// A tuple variant's fields: an array of exactly `N` byte strings.
    fn bins<const N: usize>(&mut self) -> Option<[&'a Bytes; N]> {
        if self.array()? != N {
            return None;
        }
        let mut out = [Bytes::new(&[]); N];
        for slot in &mut out {
            *slot = self.bin()?;
        }
        Some(out)
    }

    fn op(&mut self) -> Option<OpRef<'a>> {
        // A one-entry map from the variant's name (a fixstr) to its fields.
        if self.byte()? != 0x81 {
            return None;
        }
        let name = match self.byte()? {
            b @ 0xa0..=0xbf => self.take(usize::from(b & 0x1f))?,
            _ => return None,
        };
        Some(match name {
            b"Get" => OpRef::Get(self.bin()?),
            b"Incr" => OpRef::Incr(self.bin()?),
            b"Set" => {
                let [k, v] = self.bins()?;
                OpRef::Set(k, v)
            }
            b"Cas" => {
                let [k, e, n] = self.bins()?;
                OpRef::Cas(k, e, n)
            }
            b"Del" => {
                let n = self.array()?;
                let mut keys = Vec::with_capacity(n.min(RESERVE_MAX));
                for _ in 0..n {
                    keys.push(self.bin()?);
                }
                OpRef::Del(keys)
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode, Op};
    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = Op> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..300);
        prop_oneof![
            bytes().prop_map(Op::Get),
            (bytes(), bytes()).prop_map(|(k, v)| Op::Set(k, v)),
            proptest::collection::vec(bytes().prop_map(serde_bytes::ByteBuf::from), 0..20)
                .prop_map(Op::Del),
            bytes().prop_map(Op::Incr),
            (bytes(), bytes(), bytes()).prop_map(|(k, e, n)| Op::Cas(k, e, n)),
        ]
    }

    fn serde_decode(entry: &[u8]) -> Option<Batch<'_>> {
        rmp_serde::from_slice(entry).ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("KV_ENTRY_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)
        ))]

        /// Whatever `encode` writes, the fast reader reads, exactly as
        /// rmp-serde does.
        #[test]
        fn the_fast_reader_reads_every_encoded_entry_as_serde_does(
            ops in proptest::collection::vec(op(), 0..20)
        ) {
            let entry = encode(&ops);
            let fast = decode_fast(&entry);
            prop_assert!(fast.is_some());
            prop_assert_eq!(fast, serde_decode(&entry));
        }

        /// On damaged entries the fast reader answers only where rmp-serde
        /// reads the same thing (elsewhere rmp-serde decides).
        #[test]
        fn the_fast_reader_never_disagrees_with_serde_on_damaged_entries(
            ops in proptest::collection::vec(op(), 1..4),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut entry = encode(&ops);
            for (at, byte) in flips {
                let i = at.index(entry.len());
                entry[i] = byte;
            }
            for e in [&entry[..], &entry[..cut.index(entry.len())]] {
                if let Some(fast) = decode_fast(e) {
                    prop_assert_eq!(Some(fast), serde_decode(e));
                }
            }
        }
    }
}
