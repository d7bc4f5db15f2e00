//! A TCP transport for `paxos-core` messages, on tokio.
//!
//! Each node runs one [`TcpTransport`]: a listener for inbound connections
//! and, per peer, a bounded send queue drained by a writer task that dials
//! the peer. It implements [`paxos_core::Transport`], so a `paxos-actors`
//! node (or any other driver) sends through it; inbound messages go to the
//! [`Inbox`] given at start.
//!
//! # Behaviour
//! - **One connection per ordered pair.** A node dials each peer for its
//!   outgoing traffic and only *receives* on connections it accepts. There
//!   is no dueling-connection tie-break to get wrong; the cost is two
//!   sockets per pair of nodes.
//! - **Frames.** `u32` big-endian length, then an rmp-serde payload (see
//!   [`frame`]). A length above `frame_len_max` is rejected from its 4-byte
//!   prefix, before any allocation. A message that encodes above
//!   `frame_len_max` is refused at [`Transport::send`] with
//!   [`Error::FrameTooLarge`].
//! - **Handshake.** The dialer sends a hello (magic, protocol version,
//!   cluster id, node id); the acceptor checks all four (the node must be a
//!   configured peer) and answers accept or refuse with its own identity,
//!   which the dialer checks in turn. A refusal is logged with
//!   `tracing::warn!` naming what mismatched, and counted
//!   ([`StatsSnapshot::conns_refused`], [`StatsSnapshot::dials_refused`]).
//!   The whole exchange, connect included, is bounded by `handshake_timeout`.
//! - **Never blocks on send.** `send` encodes, then `try_send`s onto the
//!   peer's queue. When the queue holds `queue_max` messages or
//!   `queue_bytes_max` bytes, the **new** message is dropped and `send`
//!   returns [`Error::QueueFull`]; queued messages are kept, in order.
//!   Paxos treats the drop as loss; back-pressure comes from the protocol's
//!   own bounds (the leader's pipeline of in-flight slots), not from the
//!   transport.
//! - **Reconnect.** While a peer is down its queue keeps what was sent (up
//!   to the bounds above) and is flushed once a connection is up. Failed
//!   dials wait a jittered delay, uniform in `[d/2, d]`, where `d` doubles
//!   from `reconnect_min` up to `reconnect_max` (seeded by `seed` and the
//!   peer's id). A connection that lived `reconnect_max` resets the delay
//!   and is redialed at once. A write that does not finish within
//!   `write_timeout` (peer stuck or gone without a FIN) breaks the
//!   connection. Messages a writer had taken from the queue when a write
//!   failed are lost ([`StatsSnapshot::dropped_conn_lost`]).
//! - **Bad input closes one connection.** Garbage or a mismatched hello,
//!   an oversized length, a truncated frame or an undecodable payload
//!   closes that connection with a `warn!`; every other connection goes
//!   on. Nothing read from the network is unwrapped. Before its handshake
//!   a connection may send no frame longer than a hello, and at most
//!   `conns_in_max` inbound connections are open at once (more are refused
//!   with [`frame::Verdict::Busy`]).
//! - **Loopback.** A message to this node itself goes straight to the inbox.
//! - **Identity.** Inbound messages are delivered as coming from the node
//!   id named in the connection's hello. Nothing is authenticated or
//!   encrypted: like the rest of the framework, the transport trusts the
//!   nodes of its cluster (no Byzantine faults). A node's newest inbound
//!   connection replaces its older one (a peer dials once at a time, so
//!   the old one is abandoned: restarted process, vanished host), which
//!   bounds accepted connections by the number of peers.
//! - **Shutdown.** [`TcpTransport::shutdown`] stops the listener (freeing
//!   the port), the writers and the readers, closes every connection and
//!   returns once all tasks have ended; what was still queued is dropped.
//!   Dropping every handle also stops the tasks, without waiting.
//!
//! Tasks run on the tokio runtime that calls `start`.
//!
//! # Example
//! Two nodes; listeners are bound first (port 0) so each config can name
//! the other's address.
//!
//! ```
//! use paxos_core::{Inbox, NodeId, Transport};
//! use std::collections::BTreeMap;
//! use std::sync::Arc;
//! use tokio::sync::mpsc;
//! use transport_tcp::{TcpConfig, TcpTransport};
//!
//! struct Chan(mpsc::UnboundedSender<(NodeId, String)>);
//! impl Inbox<String> for Chan {
//!     fn deliver(&self, from: NodeId, msg: String) {
//!         let _ = self.0.send((from, msg));
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let (a, b) = (NodeId(1), NodeId(2));
//! let la = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let lb = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let peers = BTreeMap::from([(a, la.local_addr()?), (b, lb.local_addr()?)]);
//! let (tx, mut rx) = mpsc::unbounded_channel();
//!
//! let ta = TcpTransport::<String>::start_on(
//!     TcpConfig::new(7, a, peers[&a], peers.clone()), la, Arc::new(Chan(tx.clone())),
//! )?;
//! let tb = TcpTransport::<String>::start_on(
//!     TcpConfig::new(7, b, peers[&b], peers.clone()), lb, Arc::new(Chan(tx)),
//! )?;
//! ta.send(b, "hello".to_string())?;
//! assert_eq!(rx.recv().await, Some((a, "hello".to_string())));
//! ta.shutdown().await;
//! tb.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! With `paxos-actors`, whose node is built from its transport and only
//! then offers `node.inbox()`, start the transport with a [`LateInbox`]
//! and `set` it once the node exists.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
mod error;
pub mod frame;
mod inbox;
mod listener;
mod peer;
mod stats;

pub use config::{TcpConfig, COUNT_LIMIT, FRAME_LEN_MIN};
pub use error::Error;
pub use inbox::LateInbox;
pub use stats::StatsSnapshot;

use paxos_core::{Inbox, NodeId, Transport};
use peer::{Backoff, PeerQueue, Writer};
use serde::de::DeserializeOwned;
use serde::Serialize;
use stats::{Counter, Stats, TaskGuard};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// One node's TCP endpoint. Cloning gives another handle to the same
/// endpoint; [`TcpTransport::shutdown`] on any handle stops it for all.
pub struct TcpTransport<M> {
    shared: Arc<Shared<M>>,
}

impl<M> Clone for TcpTransport<M> {
    fn clone(&self) -> Self {
        TcpTransport {
            shared: self.shared.clone(),
        }
    }
}

struct Shared<M> {
    me: NodeId,
    frame_len_max: usize,
    local_addr: SocketAddr,
    queues: BTreeMap<NodeId, PeerQueue>,
    inbox: Arc<dyn Inbox<M>>,
    stats: Arc<Stats>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    closed: AtomicBool,
}

impl<M> Drop for Shared<M> {
    /// The last handle is gone: nothing can send any more, so stop.
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl<M: Serialize + DeserializeOwned + Send + 'static> TcpTransport<M> {
    /// Validates `config`, binds `config.listen` and starts the listener and
    /// one writer per peer. Needs a tokio runtime (with IO and timers).
    pub async fn start(config: TcpConfig, inbox: Arc<dyn Inbox<M>>) -> Result<Self, Error> {
        config.validate()?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        Self::start_on(config, listener, inbox)
    }

    /// Like [`TcpTransport::start`] on a listener the caller bound already
    /// (`config.listen` is then ignored). Binding every node's listener
    /// first lets each config name the others' ephemeral ports.
    pub fn start_on(
        config: TcpConfig,
        listener: TcpListener,
        inbox: Arc<dyn Inbox<M>>,
    ) -> Result<Self, Error> {
        config.validate()?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let stats = Arc::new(Stats::default());
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let others = config.peers.iter().filter(|(id, _)| **id != config.me);
        let mut queues = BTreeMap::new();
        for (&peer, &addr) in others.clone() {
            let (queue, rx) = PeerQueue::new(config.queue_max, config.queue_bytes_max);
            let writer = Writer {
                cluster: config.cluster,
                me: config.me,
                peer,
                addr,
                rx,
                bytes: queue.bytes(),
                backoff: Backoff::new(
                    config.reconnect_min,
                    config.reconnect_max,
                    config.seed ^ peer.0.rotate_left(32),
                ),
                reconnect_max: config.reconnect_max,
                handshake_timeout: config.handshake_timeout,
                write_timeout: config.write_timeout,
                stats: stats.clone(),
                cancel: cancel.clone(),
            };
            let guard = TaskGuard::new(stats.clone());
            tracker.spawn(async move {
                writer.run().await;
                drop(guard);
            });
            queues.insert(peer, queue);
        }
        let ctx = Arc::new(listener::Ctx {
            cluster: config.cluster,
            me: config.me,
            known: others.map(|(id, _)| *id).collect(),
            frame_len_max: config.frame_len_max,
            handshake_timeout: config.handshake_timeout,
            inbox: inbox.clone(),
            stats: stats.clone(),
            cancel: cancel.clone(),
            tracker: tracker.clone(),
            permits: Arc::new(Semaphore::new(config.conns_in_max)),
            current: Default::default(),
            generation: Default::default(),
        });
        let guard = TaskGuard::new(stats.clone());
        tracker.spawn(async move {
            listener::accept_loop(listener, ctx).await;
            drop(guard);
        });
        tracing::info!(me = %config.me, addr = %local_addr, "tcp transport listening");
        Ok(TcpTransport {
            shared: Arc::new(Shared {
                me: config.me,
                frame_len_max: config.frame_len_max,
                local_addr,
                queues,
                inbox,
                stats,
                cancel,
                tracker,
                closed: AtomicBool::new(false),
            }),
        })
    }
}

impl<M> TcpTransport<M> {
    /// The address the listener is bound to (the real port when `listen`
    /// asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// This node.
    pub fn me(&self) -> NodeId {
        self.shared.me
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// Waits until `pred` holds for the counters. It is re-checked on every
    /// connection event, drop and task exit (not on each frame: count
    /// frames at the inbox instead). Bound it with a timeout.
    pub async fn wait_stats(&self, pred: impl Fn(&StatsSnapshot) -> bool) -> StatsSnapshot {
        self.shared.stats.wait_for(pred).await
    }

    /// Messages waiting in `peer`'s send queue (`None` for an unknown peer).
    pub fn queued(&self, peer: NodeId) -> Option<usize> {
        self.shared.queues.get(&peer).map(PeerQueue::len)
    }

    /// Stops accepting, closes every connection, ends every task and waits
    /// for them; afterwards the listen port can be bound again and `send`
    /// returns [`Error::Closed`]. Queued messages are dropped.
    pub async fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.cancel.cancel();
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
    }
}

impl<M: Serialize + Send + 'static> Transport<M> for TcpTransport<M> {
    type Error = Error;

    /// Never blocks. Errors are message loss: unknown peer, message above
    /// `frame_len_max`, full queue (the new message is dropped, the queued
    /// ones kept), or shut down.
    fn send(&self, to: NodeId, msg: M) -> Result<(), Error> {
        let s = &self.shared;
        if s.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if to == s.me {
            s.stats.bump(Counter::Loopback);
            s.inbox.deliver(to, msg);
            return Ok(());
        }
        let queue = s.queues.get(&to).ok_or(Error::UnknownPeer(to))?;
        let payload = frame::encode_message(&msg, s.frame_len_max).inspect_err(|e| {
            if matches!(e, Error::FrameTooLarge { .. }) {
                s.stats.bump(Counter::DroppedTooLarge);
                // Not ordinary loss: resending will never fit, so say so loudly.
                tracing::error!(%to, error = %e, "message larger than frame_len_max dropped");
            }
        })?;
        queue.push(to, payload).inspect_err(|e| {
            if matches!(e, Error::QueueFull(_)) {
                s.stats.bump(Counter::DroppedQueueFull);
            }
        })
    }
}
