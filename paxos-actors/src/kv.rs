//! A small key-value state machine: the service used by the tests, the
//! demo and the benchmark, and an example of implementing [`StateMachine`].

use paxos_core::StateMachine;
use std::collections::HashMap;

/// A command for [`KvStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KvCommand {
    /// Sets `key` to `value`; answers `OK`.
    Set(Vec<u8>, Vec<u8>),
    /// Answers the value of `key` (empty if absent), through the log.
    Get(Vec<u8>),
    /// Adds one to the decimal number at `key` (absent counts as 0);
    /// answers the new value in decimal, or `ERR not a number`.
    Incr(Vec<u8>),
    /// Removes `key`; answers `1` if it was there, else `0`.
    Del(Vec<u8>),
}

impl KvCommand {
    /// Encodes as: one op byte, the key length (u32, little-endian), the
    /// key, then the value (for `Set`).
    pub fn encode(&self) -> Vec<u8> {
        let (op, key, value): (u8, &[u8], &[u8]) = match self {
            KvCommand::Set(k, v) => (b'S', k, v),
            KvCommand::Get(k) => (b'G', k, &[]),
            KvCommand::Incr(k) => (b'I', k, &[]),
            KvCommand::Del(k) => (b'D', k, &[]),
        };
        let mut out = Vec::with_capacity(5 + key.len() + value.len());
        out.push(op);
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key);
        out.extend_from_slice(value);
        out
    }

    /// Decodes [`KvCommand::encode`]'s output; `None` for anything else.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let (op, key, value) = parse(bytes)?;
        let key = key.to_vec();
        Some(match op {
            Op::Set => KvCommand::Set(key, value.to_vec()),
            Op::Get => KvCommand::Get(key),
            Op::Incr => KvCommand::Incr(key),
            Op::Del => KvCommand::Del(key),
        })
    }
}

#[derive(Clone, Copy)]
enum Op {
    Set,
    Get,
    Incr,
    Del,
}

/// Splits an encoded command into its op, key and value without copying.
fn parse(bytes: &[u8]) -> Option<(Op, &[u8], &[u8])> {
    let (&op, rest) = bytes.split_first()?;
    let len_bytes: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    let end = 4usize.checked_add(len)?;
    let key = rest.get(4..end)?;
    let value = &rest[end..];
    let op = match (op, value.is_empty()) {
        (b'S', _) => Op::Set,
        (b'G', true) => Op::Get,
        (b'I', true) => Op::Incr,
        (b'D', true) => Op::Del,
        _ => return None,
    };
    Some((op, key, value))
}

/// Why a snapshot could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt key-value snapshot at byte {offset}")]
pub struct KvError {
    /// Where decoding failed.
    pub offset: usize,
}

/// A hash map of byte strings, plus a running digest of every command
/// applied, so tests can compare replicas' logs cheaply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStore {
    /// Hashed: every replica looks a key up per command, and the ordered
    /// map spent more time comparing keys than the rest of `apply`. Keys
    /// come from clients, so the hash is seeded per process (aHash), so
    /// that nobody can compute colliding keys in advance.
    map: HashMap<Vec<u8>, Vec<u8>, ahash::RandomState>,
    applied: u64,
    digest: u64,
}

impl KvStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value at `key`, read locally (not linearizable).
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.map.get(key).map(Vec::as_slice)
    }

    /// Commands applied so far.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// A running 64-bit hash over every command applied, in order: equal
    /// digests mean (with overwhelming likelihood) equal command logs.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Folds `bytes` into the digest eight bytes at a time (a multiply and
    /// xor-shift per word): this runs for every command on every replica,
    /// and byte-at-a-time FNV was a third of the store's apply time.
    fn mix(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let step = |h: u64, w: u64| {
            let h = (h ^ w).wrapping_mul(K);
            h ^ (h >> 32)
        };
        let mut h = step(self.digest, bytes.len() as u64);
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            h = step(h, u64::from_le_bytes(word));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            h = step(h, u64::from_le_bytes(word));
        }
        self.digest = h;
    }
}

impl StateMachine for KvStore {
    type Error = KvError;

    fn apply(&mut self, command: &[u8]) -> Vec<u8> {
        self.mix(command);
        self.applied += 1;
        match parse(command) {
            Some((Op::Set, k, v)) => {
                // Overwrite in place: no new key or value buffer when the
                // key exists (the common case under load).
                match self.map.get_mut(k) {
                    Some(old) => {
                        old.clear();
                        old.extend_from_slice(v);
                    }
                    None => {
                        self.map.insert(k.to_vec(), v.to_vec());
                    }
                }
                b"OK".to_vec()
            }
            Some((Op::Get, k, _)) => self.map.get(k).cloned().unwrap_or_default(),
            Some((Op::Incr, k, _)) => {
                let current = self.map.get(k).map_or(Some(0), |v| {
                    std::str::from_utf8(v).ok()?.parse::<i64>().ok()
                });
                match current.and_then(|n| n.checked_add(1)) {
                    Some(n) => {
                        let text = n.to_string().into_bytes();
                        self.map.insert(k.to_vec(), text.clone());
                        text
                    }
                    None => b"ERR not a number".to_vec(),
                }
            }
            Some((Op::Del, k, _)) => {
                if self.map.remove(k).is_some() {
                    b"1".to_vec()
                } else {
                    b"0".to_vec()
                }
            }
            None => b"ERR bad command".to_vec(),
        }
    }

    /// Pairs in key order, so equal stores give equal snapshots whatever
    /// order their keys arrived in.
    fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.applied.to_le_bytes());
        out.extend_from_slice(&self.digest.to_le_bytes());
        let mut pairs: Vec<_> = self.map.iter().collect();
        pairs.sort_unstable();
        for (k, v) in pairs {
            for part in [k, v] {
                out.extend_from_slice(&(part.len() as u32).to_le_bytes());
                out.extend_from_slice(part);
            }
        }
        out
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), KvError> {
        let mut cursor = Cursor {
            bytes: snapshot,
            at: 0,
        };
        let applied = u64::from_le_bytes(cursor.array()?);
        let digest = u64::from_le_bytes(cursor.array()?);
        let mut map = HashMap::default();
        while !cursor.done() {
            let k = cursor.part()?.to_vec();
            let v = cursor.part()?.to_vec();
            map.insert(k, v);
        }
        *self = KvStore {
            map,
            applied,
            digest,
        };
        Ok(())
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], KvError> {
        let err = KvError { offset: self.at };
        let end = self.at.checked_add(n).ok_or(err.clone())?;
        let part = self.bytes.get(self.at..end).ok_or(err)?;
        self.at = end;
        Ok(part)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], KvError> {
        let at = self.at;
        self.take(N)?.try_into().map_err(|_| KvError { offset: at })
    }

    fn part(&mut self) -> Result<&'a [u8], KvError> {
        let len = u32::from_le_bytes(self.array()?) as usize;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_and_garbage_is_refused() {
        let cmds = [
            KvCommand::Set(b"k".to_vec(), b"v".to_vec()),
            KvCommand::Set(b"k".to_vec(), Vec::new()),
            KvCommand::Get(b"key".to_vec()),
            KvCommand::Incr(Vec::new()),
            KvCommand::Del(b"x".to_vec()),
        ];
        for c in cmds {
            assert_eq!(KvCommand::decode(&c.encode()), Some(c));
        }
        for bad in [
            &b""[..],
            b"S",
            b"S\xff\xff\xff\xff",
            b"X\0\0\0\0",
            b"G\x01\0\0\0kv",
        ] {
            assert_eq!(KvCommand::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn store_applies_and_snapshots() {
        let mut kv = KvStore::new();
        assert_eq!(kv.apply(&KvCommand::Incr(b"n".to_vec()).encode()), b"1");
        assert_eq!(kv.apply(&KvCommand::Incr(b"n".to_vec()).encode()), b"2");
        assert_eq!(
            kv.apply(&KvCommand::Set(b"s".to_vec(), b"x".to_vec()).encode()),
            b"OK"
        );
        assert_eq!(
            kv.apply(&KvCommand::Incr(b"s".to_vec()).encode()),
            b"ERR not a number"
        );
        assert_eq!(kv.apply(&KvCommand::Get(b"s".to_vec()).encode()), b"x");
        assert_eq!(kv.apply(&KvCommand::Del(b"s".to_vec()).encode()), b"1");
        assert_eq!(kv.apply(&KvCommand::Del(b"s".to_vec()).encode()), b"0");
        assert_eq!(kv.apply(b"junk"), b"ERR bad command");
        let mut back = KvStore::new();
        back.restore(&kv.snapshot()).expect("restore");
        assert_eq!(back, kv);
        let snap = kv.snapshot();
        for cut in 0..snap.len() {
            let partial = KvStore::new().restore(&snap[..cut]);
            // Cuts at a pair boundary are valid smaller snapshots; others fail.
            if partial.is_ok() {
                assert!(cut >= 16, "header cut at {cut} accepted");
            }
        }
        assert!(back.restore(&snap[..snap.len() - 1]).is_err());
    }

    #[test]
    fn snapshot_does_not_depend_on_key_order() {
        let keys: Vec<Vec<u8>> = (0..200u32).map(|i| i.to_le_bytes().to_vec()).collect();
        let fill = |order: &mut dyn Iterator<Item = &Vec<u8>>| {
            let mut kv = KvStore::new();
            for k in order {
                kv.apply(&KvCommand::Set(k.clone(), k.clone()).encode());
            }
            // Same contents; the digest differs with the order, so set it aside.
            let mut snap = kv.snapshot();
            snap[8..16].fill(0);
            snap
        };
        assert_eq!(fill(&mut keys.iter()), fill(&mut keys.iter().rev()));
    }

    #[test]
    fn digest_tells_logs_apart() {
        let log = |cmds: &[&[u8]]| {
            let mut kv = KvStore::new();
            for c in cmds {
                kv.apply(c);
            }
            kv.digest()
        };
        let (a, b): (&[u8], &[u8]) = (b"S\x01\0\0\0kvalue", b"S\x01\0\0\0kvaluf");
        assert_eq!(log(&[a, b]), log(&[a, b]));
        assert_ne!(log(&[a, b]), log(&[b, a]), "order counts");
        assert_ne!(log(&[a]), log(&[b]), "a one-byte change counts");
        // Zero padding of the last word must not hide a length change.
        assert_ne!(log(&[b"abc"]), log(&[b"abc\0"]));
        assert_ne!(log(&[b"ab", b"c"]), log(&[b"abc"]));
    }
}
