//! What one node needs to know to join the mesh, and its limits.

use crate::error::Error;
use paxos_core::NodeId;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

/// Smallest accepted `frame_len_max`: room for the handshake frames.
pub const FRAME_LEN_MIN: usize = 64;

/// Largest accepted `queue_max` and `conns_in_max` (tokio's channel and
/// semaphore limits are far above; this keeps configs sane).
pub const COUNT_LIMIT: usize = 1 << 30;

/// A node's TCP settings. Every limit is here and checked by [`TcpConfig::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpConfig {
    /// Cluster id; both ends of a connection must agree on it.
    pub cluster: u64,
    /// This node.
    pub me: NodeId,
    /// Where to accept connections; port 0 picks a free port (see
    /// [`crate::TcpTransport::local_addr`]).
    pub listen: SocketAddr,
    /// Every other node and the address it listens on. An entry for `me` is
    /// allowed (one map for the whole cluster) and ignored: sends to `me`
    /// loop back without a socket.
    pub peers: BTreeMap<NodeId, SocketAddr>,
    /// Largest frame payload in bytes, both directions. Longer outgoing
    /// messages are refused at send; a longer incoming length prefix closes
    /// the connection before anything is allocated for it.
    pub frame_len_max: usize,
    /// Most messages waiting in one peer's send queue.
    pub queue_max: usize,
    /// Most encoded bytes waiting in one peer's send queue.
    pub queue_bytes_max: usize,
    /// Most inbound connections open at once (before and after handshake).
    pub conns_in_max: usize,
    /// First reconnect delay; doubles per failed attempt.
    pub reconnect_min: Duration,
    /// Cap on the reconnect delay.
    pub reconnect_max: Duration,
    /// Bound on connect + hello + reply, on both sides.
    pub handshake_timeout: Duration,
    /// Bound on one batched write. A peer that reads nothing for this long
    /// (stuck, or its host gone without a FIN) counts as a broken
    /// connection and is redialed, instead of stalling its queue for as
    /// long as TCP keeps retransmitting.
    pub write_timeout: Duration,
    /// Seeds the reconnect jitter.
    pub seed: u64,
}

impl TcpConfig {
    /// A config with defaults: 16 MiB frames, 4096 messages or 64 MiB
    /// queued per peer, 256 inbound connections, reconnect 50 ms → 2 s,
    /// 2 s handshake timeout, 10 s write timeout, seed = `me`.
    pub fn new(
        cluster: u64,
        me: NodeId,
        listen: SocketAddr,
        peers: BTreeMap<NodeId, SocketAddr>,
    ) -> Self {
        TcpConfig {
            cluster,
            me,
            listen,
            peers,
            frame_len_max: 16 << 20,
            queue_max: 4096,
            queue_bytes_max: 64 << 20,
            conns_in_max: 256,
            reconnect_min: Duration::from_millis(50),
            reconnect_max: Duration::from_secs(2),
            handshake_timeout: Duration::from_secs(2),
            write_timeout: Duration::from_secs(10),
            seed: me.0,
        }
    }

    /// Explains the first field that cannot work.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field, reason| Err(Error::Config { field, reason });
        if self.frame_len_max < FRAME_LEN_MIN {
            return bad("frame_len_max", "must be at least 64 bytes (the handshake)");
        }
        if self.frame_len_max > u32::MAX as usize {
            return bad("frame_len_max", "must fit the u32 length prefix");
        }
        if self.queue_max == 0 || self.queue_max > COUNT_LIMIT {
            return bad("queue_max", "must be in 1..=2^30");
        }
        if self.queue_bytes_max < self.frame_len_max {
            return bad("queue_bytes_max", "must hold at least one largest frame");
        }
        if self.conns_in_max == 0 || self.conns_in_max > COUNT_LIMIT {
            return bad("conns_in_max", "must be in 1..=2^30");
        }
        if self.reconnect_min.is_zero() {
            return bad(
                "reconnect_min",
                "must be positive (a down peer would be dialed in a busy loop)",
            );
        }
        if self.reconnect_max < self.reconnect_min {
            return bad("reconnect_max", "must be at least reconnect_min");
        }
        if self.handshake_timeout.is_zero() {
            return bad("handshake_timeout", "must be positive");
        }
        if self.write_timeout.is_zero() {
            return bad("write_timeout", "must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TcpConfig {
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        TcpConfig::new(1, NodeId(1), addr, BTreeMap::from([(NodeId(2), addr)]))
    }

    #[test]
    fn defaults_are_valid() {
        config().validate().unwrap();
    }

    #[test]
    fn validate_names_the_field_at_fault() {
        type Breaker = fn(&mut TcpConfig);
        let cases: [(&str, Breaker); 8] = [
            ("frame_len_max", |c| c.frame_len_max = 8),
            ("queue_max", |c| c.queue_max = 0),
            ("queue_bytes_max", |c| {
                c.queue_bytes_max = c.frame_len_max - 1
            }),
            ("conns_in_max", |c| c.conns_in_max = 0),
            ("reconnect_min", |c| c.reconnect_min = Duration::ZERO),
            ("reconnect_max", |c| {
                c.reconnect_max = Duration::from_millis(1)
            }),
            ("handshake_timeout", |c| {
                c.handshake_timeout = Duration::ZERO
            }),
            ("write_timeout", |c| c.write_timeout = Duration::ZERO),
        ];
        for (field, break_it) in cases {
            let mut c = config();
            break_it(&mut c);
            match c.validate() {
                Err(Error::Config { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected a config error, got {other:?}"),
            }
        }
    }
}
