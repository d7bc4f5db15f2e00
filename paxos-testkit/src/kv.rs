//! Commands for the [`Store`](paxos_kvstore::Store) a cluster runs, and
//! the replies to expect from it.

use paxos_kvstore::{encode, Op};

/// `INCR key` as a log entry.
pub fn incr(key: &str) -> Vec<u8> {
    encode(&[Op::Incr(key.as_bytes().to_vec())])
}

/// `SET key value` as a log entry.
pub fn set(key: &str, value: &str) -> Vec<u8> {
    encode(&[Op::Set(key.as_bytes().to_vec(), value.as_bytes().to_vec())])
}

/// `GET key` as a log entry.
pub fn get(key: &str) -> Vec<u8> {
    encode(&[Op::Get(key.as_bytes().to_vec())])
}

/// The store's answer to a command that yields `n` (an INCR).
pub fn int(n: u64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

/// The store's answer to a SET.
pub fn ok() -> Vec<u8> {
    b"+OK\r\n".to_vec()
}
