//! The replicated state machine: a map of byte strings with Redis's
//! GET / SET / DEL / INCR and a compare-and-swap. One log entry carries a
//! batch of commands (a connection's pipelined requests), applied in order;
//! its result is the RESP replies, concatenated, ready to write back.

use crate::entry::{self, Batch, OpRef};
use crate::reply::{Flat, Reply};
use paxos_core::StateMachine;
use serde::{Deserialize, Serialize};
use serde_bytes::Bytes;
use std::collections::HashMap;

/// One data command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `GET key`: the value, or nil.
    Get(#[serde(with = "serde_bytes")] Vec<u8>),
    /// `SET key value`: `+OK`.
    Set(
        #[serde(with = "serde_bytes")] Vec<u8>,
        #[serde(with = "serde_bytes")] Vec<u8>,
    ),
    /// `DEL key [key ...]`: how many existed.
    Del(Vec<serde_bytes::ByteBuf>),
    /// `INCR key`: the new value; an error if the value is not an integer.
    Incr(#[serde(with = "serde_bytes")] Vec<u8>),
    /// `CAS key expected new`: `:1` if the value equalled `expected` (a
    /// missing key equals the empty string) and was replaced, else `:0`.
    Cas(
        #[serde(with = "serde_bytes")] Vec<u8>,
        #[serde(with = "serde_bytes")] Vec<u8>,
        #[serde(with = "serde_bytes")] Vec<u8>,
    ),
}

/// Encodes a batch of commands as one log entry.
pub fn encode(ops: &[Op]) -> Vec<u8> {
    // Serializing plain enums of byte strings into a Vec cannot fail.
    rmp_serde::to_vec(ops).unwrap_or_default()
}

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
#[error("bad snapshot: {0}")]
pub struct SnapshotError(String);

/// The key space.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Store {
    /// Hashed: every replica looks a key up per command, and an ordered map
    /// spends more time comparing keys than the rest of `apply`. Keys come
    /// from clients, so the hash is seeded per process (aHash): nobody can
    /// compute colliding keys in advance. Snapshots sort, so equal stores
    /// give equal snapshots.
    map: HashMap<Vec<u8>, Vec<u8>, ahash::RandomState>,
    applied: u64,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Commands applied so far.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Keys stored.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value at `key`, read from this replica alone (not through the
    /// log, so not linearizable: for tests and diagnostics).
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.map.get(key).map(Vec::as_slice)
    }

    fn run(&mut self, op: OpRef<'_>) -> Flat<'_> {
        self.applied += 1;
        match op {
            OpRef::Get(k) => self
                .map
                .get(k.as_ref())
                .map_or(Flat::Nil, |v| Flat::Bulk(v)),
            OpRef::Set(k, v) => {
                // Overwrite in place: no new key or value buffer when the
                // key exists (the common case under load).
                match self.map.get_mut(k.as_ref()) {
                    Some(old) => {
                        old.clear();
                        old.extend_from_slice(v);
                    }
                    None => {
                        self.map.insert(k.to_vec(), v.to_vec());
                    }
                }
                Flat::Simple("OK")
            }
            OpRef::Del(keys) => {
                let n = keys
                    .into_iter()
                    .filter(|k| self.map.remove(k.as_ref()).is_some())
                    .count();
                Flat::Integer(n as i64)
            }
            OpRef::Incr(k) => {
                let current = match self.map.get(k.as_ref()) {
                    None => Some(0i64),
                    Some(v) => std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()),
                };
                match current.and_then(|n| n.checked_add(1)) {
                    Some(n) => {
                        self.map.insert(k.to_vec(), n.to_string().into_bytes());
                        Flat::Integer(n)
                    }
                    None => Flat::Error("ERR value is not an integer or out of range"),
                }
            }
            OpRef::Cas(k, expected, new) => {
                let current = self.map.get(k.as_ref()).map_or(&[][..], Vec::as_slice);
                if current == expected.as_ref() {
                    self.map.insert(k.to_vec(), new.to_vec());
                    Flat::Integer(1)
                } else {
                    Flat::Integer(0)
                }
            }
        }
    }
}

impl StateMachine for Store {
    type Error = SnapshotError;

    fn apply(&mut self, command: &[u8]) -> Vec<u8> {
        // Room for a short reply per command, so the usual one (`+OK`,
        // `:n`) is written without growing the buffer.
        const REPLY_BYTES: usize = 16;
        let mut out = Vec::new();
        match entry::decode(command) {
            Some(Batch::One(op)) => {
                out.reserve_exact(REPLY_BYTES);
                self.run(op).encode(&mut out);
            }
            Some(Batch::Many(ops)) => {
                out.reserve(ops.len().saturating_mul(REPLY_BYTES));
                for op in ops {
                    self.run(op).encode(&mut out);
                }
            }
            // Only our own encoder writes entries; a bad one is answered,
            // identically on every replica, rather than applied.
            None => Reply::err("undecodable command").encode(&mut out),
        }
        out
    }

    /// `(applied, [(key, value)])` in key order, whatever order the keys
    /// arrived in.
    fn snapshot(&self) -> Vec<u8> {
        let mut pairs: Vec<(&Bytes, &Bytes)> = self
            .map
            .iter()
            .map(|(k, v)| (Bytes::new(k), Bytes::new(v)))
            .collect();
        pairs.sort_unstable();
        rmp_serde::to_vec(&(self.applied, pairs)).unwrap_or_default()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), SnapshotError> {
        let (applied, pairs): (u64, Vec<(serde_bytes::ByteBuf, serde_bytes::ByteBuf)>) =
            rmp_serde::from_slice(snapshot).map_err(|e| SnapshotError(e.to_string()))?;
        self.map = pairs
            .into_iter()
            .map(|(k, v)| (k.into_vec(), v.into_vec()))
            .collect();
        self.applied = applied;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(store: &mut Store, ops: Vec<Op>) -> Vec<u8> {
        store.apply(&encode(&ops))
    }

    #[test]
    fn commands_behave_as_in_redis_and_cas_treats_missing_as_empty() {
        let mut s = Store::new();
        let k = || b"k".to_vec();
        assert_eq!(run(&mut s, vec![Op::Get(k())]), b"$-1\r\n");
        assert_eq!(
            run(&mut s, vec![Op::Cas(k(), Vec::new(), b"a".to_vec())]),
            b":1\r\n"
        );
        assert_eq!(
            run(&mut s, vec![Op::Cas(k(), Vec::new(), b"b".to_vec())]),
            b":0\r\n"
        );
        assert_eq!(
            run(
                &mut s,
                vec![Op::Set(k(), b"7".to_vec()), Op::Incr(k()), Op::Get(k())]
            ),
            b"+OK\r\n:8\r\n$1\r\n8\r\n"
        );
        assert_eq!(
            run(&mut s, vec![Op::Set(k(), b"x".to_vec()), Op::Incr(k())]),
            b"+OK\r\n-ERR value is not an integer or out of range\r\n"
        );
        let keys = vec![
            serde_bytes::ByteBuf::from(k()),
            serde_bytes::ByteBuf::from(b"none".to_vec()),
        ];
        assert_eq!(run(&mut s, vec![Op::Del(keys)]), b":1\r\n");
        assert_eq!(s.apply(b"\xc1garbage"), b"-ERR undecodable command\r\n");
        let mut back = Store::new();
        back.restore(&s.snapshot()).unwrap();
        assert_eq!(back, s);
    }

    /// Log entries and snapshots are on disk in deployed clusters: a change
    /// of either format would make a node misread its own data directory.
    #[test]
    fn log_entry_and_snapshot_formats_stay_as_deployed() {
        let ops = vec![
            Op::Set(b"k".to_vec(), b"v".to_vec()),
            Op::Get(b"k".to_vec()),
            Op::Del(vec![serde_bytes::ByteBuf::from(b"k".to_vec())]),
            Op::Incr(b"n".to_vec()),
            Op::Cas(b"c".to_vec(), Vec::new(), b"x".to_vec()),
        ];
        let entry: &[u8] = &[
            149, 129, 163, 83, 101, 116, 146, 196, 1, 107, 196, 1, 118, 129, 163, 71, 101, 116,
            196, 1, 107, 129, 163, 68, 101, 108, 145, 196, 1, 107, 129, 164, 73, 110, 99, 114, 196,
            1, 110, 129, 163, 67, 97, 115, 147, 196, 1, 99, 196, 0, 196, 1, 120,
        ];
        assert_eq!(encode(&ops), entry);
        let mut s = Store::new();
        assert_eq!(s.apply(entry), b"+OK\r\n$1\r\nv\r\n:1\r\n:1\r\n:1\r\n");
        s.apply(&encode(&[Op::Set(b"a".to_vec(), b"1".to_vec())]));
        let snapshot: &[u8] = &[
            146, 6, 147, 146, 196, 1, 97, 196, 1, 49, 146, 196, 1, 99, 196, 1, 120, 146, 196, 1,
            110, 196, 1, 49,
        ];
        assert_eq!(s.snapshot(), snapshot);
        let mut back = Store::new();
        back.restore(snapshot).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn snapshots_do_not_depend_on_the_order_keys_arrived_in() {
        let keys: Vec<Vec<u8>> = (0..200u32).map(|i| i.to_le_bytes().to_vec()).collect();
        let fill = |order: &mut dyn Iterator<Item = &Vec<u8>>| {
            let mut s = Store::new();
            for k in order {
                s.apply(&encode(&[Op::Set(k.clone(), k.clone())]));
            }
            s.snapshot()
        };
        assert_eq!(fill(&mut keys.iter()), fill(&mut keys.iter().rev()));
    }

    #[test]
    fn a_local_read_sees_what_was_applied() {
        let mut s = Store::new();
        s.apply(&encode(&[Op::Set(b"k".to_vec(), b"v".to_vec())]));
        assert_eq!(s.get(b"k"), Some(&b"v"[..]));
        assert_eq!(s.get(b"x"), None);
        assert_eq!((s.len(), s.is_empty(), s.applied()), (1, false, 1));
    }

    #[test]
    fn a_damaged_entry_applies_none_of_its_commands() {
        let mut s = Store::new();
        let k = || b"k".to_vec();
        let entry = encode(&[Op::Set(k(), b"1".to_vec()), Op::Set(k(), b"2".to_vec())]);
        let reply = s.apply(&entry[..entry.len() - 1]);
        assert_eq!(reply, b"-ERR undecodable command\r\n");
        assert_eq!((s.applied(), s.get(b"k")), (0, None));
        assert_eq!(s.apply(&encode(&[])), b"");
        assert_eq!(s.apply(&entry), b"+OK\r\n+OK\r\n");
        assert_eq!(s.get(b"k"), Some(&b"2"[..]));
    }
}
