//! The sending side: one writer task per peer dials it, shakes hands, and
//! drains the peer's bounded queue onto the socket; on failure it redials
//! with jittered, capped exponential back-off.

use crate::frame::{put_frame, Hello, HelloReply, Verdict, MAGIC, PROTOCOL_VERSION, REPLY_LEN};
use crate::stats::{Counter, Stats};
use crate::Error;
use bytes::{Bytes, BytesMut};
use paxos_core::NodeId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Frames gathered into one write: fewer syscalls under load, and a bound
/// on the writer's buffer (plus at most one frame).
const BATCH_BYTES_MAX: usize = 64 << 10;

/// The sending end of one peer's queue, held by the transport.
#[derive(Debug)]
pub(crate) struct PeerQueue {
    tx: mpsc::Sender<Bytes>,
    /// Encoded bytes waiting in the queue.
    bytes: Arc<AtomicUsize>,
    bytes_max: usize,
}

impl PeerQueue {
    /// A queue bounded by `queue_max` messages and `bytes_max` bytes, and
    /// the receiving end for its writer.
    pub(crate) fn new(queue_max: usize, bytes_max: usize) -> (Self, mpsc::Receiver<Bytes>) {
        let (tx, rx) = mpsc::channel(queue_max);
        let q = PeerQueue {
            tx,
            bytes: Arc::new(AtomicUsize::new(0)),
            bytes_max,
        };
        (q, rx)
    }

    /// The queued-bytes gauge, shared with the writer that drains it.
    pub(crate) fn bytes(&self) -> Arc<AtomicUsize> {
        self.bytes.clone()
    }

    /// Queues an encoded message, or drops it when the queue is full in
    /// messages or bytes (what is already queued is kept).
    pub(crate) fn push(&self, to: NodeId, payload: Bytes) -> Result<(), Error> {
        let len = payload.len();
        if self.bytes.fetch_add(len, Ordering::Relaxed) + len > self.bytes_max {
            self.bytes.fetch_sub(len, Ordering::Relaxed);
            return Err(Error::QueueFull(to));
        }
        self.tx.try_send(payload).map_err(|e| {
            self.bytes.fetch_sub(len, Ordering::Relaxed);
            match e {
                mpsc::error::TrySendError::Full(_) => Error::QueueFull(to),
                mpsc::error::TrySendError::Closed(_) => Error::Closed,
            }
        })
    }

    /// Messages waiting.
    pub(crate) fn len(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

/// Jittered, capped exponential back-off: each delay is uniform in
/// `[d/2, d]`, where `d` starts at `min` and doubles up to `max`. Jitter
/// keeps a restarted cluster from redialing in lockstep.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    rng: ChaCha8Rng,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            min,
            max,
            next: min,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub(crate) fn delay(&mut self) -> Duration {
        let d = self.next;
        self.next = d.saturating_mul(2).min(self.max);
        let half = d / 2;
        let spread = u64::try_from((d - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(self.rng.random_range(0..=spread))
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Why a dial attempt failed.
enum DialError {
    /// Connect or IO: the peer is down or unreachable; retry quietly.
    Io(std::io::Error),
    /// The peer's reply is not a valid hello reply.
    BadReply(Error),
    /// The peer answered but refused us, or is not who we expected (the
    /// text of the warning, naming what mismatched).
    Refused(String),
}

/// Why a connection's pump ended.
enum End {
    /// Shutdown.
    Cancelled,
    /// Every transport handle was dropped.
    QueueClosed,
    /// The connection broke; redial.
    Broken,
}

/// One peer's writer task.
pub(crate) struct Writer {
    pub(crate) cluster: u64,
    pub(crate) me: NodeId,
    pub(crate) peer: NodeId,
    pub(crate) addr: SocketAddr,
    pub(crate) rx: mpsc::Receiver<Bytes>,
    pub(crate) bytes: Arc<AtomicUsize>,
    pub(crate) backoff: Backoff,
    pub(crate) reconnect_max: Duration,
    pub(crate) handshake_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) stats: Arc<Stats>,
    pub(crate) cancel: CancellationToken,
}

impl Writer {
    /// Dials, pumps, redials until shutdown. Messages stay queued (up to
    /// the queue's bounds) while the peer is unreachable.
    pub(crate) async fn run(mut self) {
        // A connection that lived this long was healthy: redial at once
        // and from the smallest delay. A shorter one counts as a failure,
        // so a peer that accepts and drops at once is not redialed hot.
        let mut wait = false;
        loop {
            if wait && !self.pause().await {
                return;
            }
            wait = true;
            let stream = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return,
                r = tokio::time::timeout(self.handshake_timeout, self.dial()) => r,
            };
            let stream = match stream {
                Ok(Ok(s)) => s,
                Ok(Err(DialError::Io(e))) => {
                    debug!(peer = %self.peer, addr = %self.addr, error = %e, "dial failed");
                    self.stats.bump(Counter::DialsFailed);
                    continue;
                }
                Err(_) => {
                    debug!(peer = %self.peer, addr = %self.addr, "dial timed out");
                    self.stats.bump(Counter::DialsFailed);
                    continue;
                }
                Ok(Err(DialError::BadReply(e))) => {
                    warn!(peer = %self.peer, addr = %self.addr, "handshake refused: {e}");
                    self.stats.bump(Counter::DialsRefused);
                    continue;
                }
                Ok(Err(DialError::Refused(why))) => {
                    warn!(peer = %self.peer, addr = %self.addr, "handshake refused: {why}");
                    self.stats.bump(Counter::DialsRefused);
                    continue;
                }
            };
            info!(peer = %self.peer, addr = %self.addr, "connected");
            self.stats.bump(Counter::DialsOk);
            let up = Instant::now();
            match self.pump(stream).await {
                End::Cancelled | End::QueueClosed => return,
                End::Broken => self.stats.bump(Counter::ConnsLost),
            }
            if up.elapsed() >= self.reconnect_max {
                self.backoff.reset();
                wait = false;
            }
        }
    }

    /// Sleeps one back-off delay; false if shut down meanwhile.
    async fn pause(&mut self) -> bool {
        let delay = self.backoff.delay();
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }

    /// Connects and shakes hands: our hello out, the peer's reply in. The
    /// reply must accept us and come from the node and cluster we expect.
    async fn dial(&self) -> Result<TcpStream, DialError> {
        let io = DialError::Io;
        let mut stream = TcpStream::connect(self.addr).await.map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let mut buf = BytesMut::new();
        put_frame(&mut buf, &Hello::new(self.cluster, self.me).encode());
        stream.write_all(&buf).await.map_err(io)?;
        let len = stream.read_u32().await.map_err(io)?;
        if len as usize != REPLY_LEN {
            return Err(DialError::Refused(format!(
                "reply frame is {len} bytes, expected {REPLY_LEN} (not a paxos transport?)"
            )));
        }
        let mut payload = [0u8; REPLY_LEN];
        stream.read_exact(&mut payload).await.map_err(io)?;
        let reply = HelloReply::decode(&payload).map_err(DialError::BadReply)?;
        let theirs = reply.hello;
        if reply.verdict != Verdict::Accept {
            return Err(DialError::Refused(format!("peer says {}", reply.verdict)));
        }
        let why = if theirs.magic != MAGIC {
            format!("reply {}", Verdict::BadMagic)
        } else if theirs.version != PROTOCOL_VERSION {
            format!(
                "reply protocol version {} != {PROTOCOL_VERSION}",
                theirs.version
            )
        } else if theirs.cluster != self.cluster {
            format!("reply cluster id {} != {}", theirs.cluster, self.cluster)
        } else if theirs.node != self.peer {
            format!("reply node id {} != expected {}", theirs.node, self.peer)
        } else {
            return Ok(stream);
        };
        Err(DialError::Refused(why))
    }

    /// Drains the queue onto the socket in batches until the connection
    /// breaks or the transport stops. The read half only watches for the
    /// peer closing, so a restart is noticed before the next write.
    async fn pump(&mut self, stream: TcpStream) -> End {
        let (mut rd, mut wr) = stream.into_split();
        let mut buf = BytesMut::with_capacity(BATCH_BYTES_MAX);
        let mut probe = [0u8; 1];
        loop {
            let first = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => {
                    let _ = wr.shutdown().await;
                    return End::Cancelled;
                }
                r = rd.read(&mut probe) => {
                    let why = match r {
                        Ok(0) => "peer closed the connection".to_string(),
                        Ok(_) => "peer sent data after the handshake".to_string(),
                        Err(e) => e.to_string(),
                    };
                    info!(peer = %self.peer, addr = %self.addr, "connection lost: {why}");
                    return End::Broken;
                }
                m = self.rx.recv() => match m {
                    Some(m) => m,
                    None => return End::QueueClosed,
                },
            };
            buf.clear();
            let (mut frames, mut taken) = (1u64, first.len());
            put_frame(&mut buf, &first);
            while buf.len() < BATCH_BYTES_MAX {
                let Ok(more) = self.rx.try_recv() else { break };
                frames += 1;
                taken += more.len();
                put_frame(&mut buf, &more);
            }
            self.bytes.fetch_sub(taken, Ordering::Relaxed);
            let written = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return End::Cancelled,
                r = tokio::time::timeout(self.write_timeout, wr.write_all(&buf)) => r,
            };
            match written {
                Ok(Ok(())) => self.stats.add(Counter::FramesOut, frames),
                Err(_) => {
                    warn!(peer = %self.peer, addr = %self.addr, timeout = ?self.write_timeout, "connection dropped: peer reads nothing");
                    self.stats.add(Counter::DroppedConnLost, frames);
                    return End::Broken;
                }
                Ok(Err(e)) => {
                    info!(peer = %self.peer, addr = %self.addr, error = %e, "connection lost while writing");
                    self.stats.add(Counter::DroppedConnLost, frames);
                    return End::Broken;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_min_caps_at_max_and_resets() {
        let (min, max) = (Duration::from_millis(10), Duration::from_millis(75));
        let mut b = Backoff::new(min, max, 1);
        let mut cap = min;
        for _ in 0..10 {
            let d = b.delay();
            assert!(
                d >= cap / 2 && d <= cap,
                "{d:?} outside [{:?}, {cap:?}]",
                cap / 2
            );
            cap = (cap * 2).min(max);
        }
        b.reset();
        assert!(b.delay() <= min);
    }

    #[test]
    fn backoff_jitter_differs_between_seeds() {
        let mut a = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 1);
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 2);
        let da: Vec<_> = (0..4).map(|_| a.delay()).collect();
        let db: Vec<_> = (0..4).map(|_| b.delay()).collect();
        assert_ne!(da, db);
    }
}
