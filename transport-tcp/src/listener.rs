//! The receiving side: accept connections, check each one's hello, then
//! read message frames and hand them to the inbox. Any bad input closes
//! that connection only.

use crate::frame::{
    codec, decode_message, Hello, HelloReply, Verdict, PROTOCOL_VERSION, REPLY_LEN,
};
use crate::stats::{Counter, Stats, TaskGuard};
use futures::{SinkExt, StreamExt};
use paxos_core::{Inbox, NodeId};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

/// Pause after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin while the condition lasts.
const ACCEPT_RETRY: Duration = Duration::from_millis(20);

/// What every connection task needs.
pub(crate) struct Ctx<M> {
    pub(crate) cluster: u64,
    pub(crate) me: NodeId,
    /// Node ids allowed to connect: the configured peers except `me`.
    pub(crate) known: BTreeSet<NodeId>,
    pub(crate) frame_len_max: usize,
    pub(crate) handshake_timeout: Duration,
    pub(crate) inbox: Arc<dyn Inbox<M>>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) cancel: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) permits: Arc<Semaphore>,
    /// The newest inbound connection per node: its number and its stop token.
    pub(crate) current: Mutex<BTreeMap<NodeId, (u64, CancellationToken)>>,
    /// Numbers inbound connections.
    pub(crate) generation: AtomicU64,
}

/// Accepts until shutdown; each connection gets a task, up to `conns_in_max`.
pub(crate) async fn accept_loop<M>(listener: TcpListener, ctx: Arc<Ctx<M>>)
where
    M: DeserializeOwned + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            biased;
            _ = ctx.cancel.cancelled() => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, addr)) => match ctx.permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    let guard = TaskGuard::new(ctx.stats.clone());
                    let c = ctx.clone();
                    ctx.tracker.spawn(async move {
                        serve(c, stream, addr, permit).await;
                        drop(guard);
                    });
                }
                Err(_) => {
                    warn!(%addr, "handshake refused: {}", Verdict::Busy);
                    ctx.stats.bump(Counter::ConnsRefused);
                    refuse_busy(&ctx, &stream);
                }
            },
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::select! {
                    _ = ctx.cancel.cancelled() => return,
                    _ = tokio::time::sleep(ACCEPT_RETRY) => {}
                }
            }
        }
    }
}

/// Best effort, never blocks: the socket is closed right after.
fn refuse_busy<M>(ctx: &Ctx<M>, stream: &TcpStream) {
    let reply = HelloReply {
        hello: Hello::new(ctx.cluster, ctx.me),
        verdict: Verdict::Busy,
    };
    let mut buf = bytes::BytesMut::new();
    crate::frame::put_frame(&mut buf, &reply.encode());
    let _ = stream.try_write(&buf);
}

/// One inbound connection: handshake, then frames until it ends.
async fn serve<M>(
    ctx: Arc<Ctx<M>>,
    stream: TcpStream,
    addr: SocketAddr,
    _permit: OwnedSemaphorePermit,
) where
    M: DeserializeOwned + Send + 'static,
{
    let _ = stream.set_nodelay(true);
    // Until the peer is known, no frame may be longer than the handshake's
    // (the codec bounds our reply too): a stranger cannot make us buffer
    // a large frame.
    let mut framed = Framed::new(stream, codec(REPLY_LEN));
    let Some(peer) = (tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => None,
        r = tokio::time::timeout(ctx.handshake_timeout, handshake(&ctx, &mut framed, addr)) => match r {
            Ok(peer) => peer,
            Err(_) => {
                warn!(%addr, timeout = ?ctx.handshake_timeout, "handshake refused: no hello in time");
                ctx.stats.bump(Counter::ConnsRefused);
                None
            }
        },
    }) else {
        return;
    };
    framed.codec_mut().set_max_frame_length(ctx.frame_len_max);
    info!(%peer, %addr, "inbound connection accepted");
    ctx.stats.bump(Counter::ConnsAccepted);
    let current = Current::register(&ctx, peer);
    loop {
        let frame = tokio::select! {
            biased;
            _ = current.token.cancelled() => {
                ctx.stats.bump(Counter::ConnsEnded);
                return;
            }
            f = framed.next() => f,
        };
        let payload = match frame {
            None => {
                debug!(%peer, %addr, "inbound connection closed by peer");
                ctx.stats.bump(Counter::ConnsEnded);
                return;
            }
            Some(Err(e)) => {
                warn!(%peer, %addr, error = %e, "closing connection: bad frame");
                ctx.stats.bump(Counter::ConnsClosedBadFrame);
                return;
            }
            Some(Ok(p)) => p,
        };
        match decode_message::<M>(&payload) {
            Ok(msg) => {
                ctx.stats.bump(Counter::FramesIn);
                ctx.inbox.deliver(peer, msg);
            }
            Err(e) => {
                warn!(%peer, %addr, error = %e, len = payload.len(), "closing connection: undecodable frame");
                ctx.stats.bump(Counter::ConnsClosedBadFrame);
                return;
            }
        }
    }
}

/// The newest inbound connection from a node, registered in
/// [`Ctx::current`]. A node dials us only once at a time, so its new
/// connection means the old one is abandoned (its process restarted, or
/// its host vanished without a FIN): the old reader is stopped rather than
/// left holding a connection slot until TCP gives up on it.
struct Current<'a, M> {
    ctx: &'a Ctx<M>,
    peer: NodeId,
    generation: u64,
    token: CancellationToken,
}

impl<'a, M> Current<'a, M> {
    fn register(ctx: &'a Ctx<M>, peer: NodeId) -> Self {
        let generation = ctx.generation.fetch_add(1, Ordering::Relaxed);
        let token = ctx.cancel.child_token();
        let old = lock(&ctx.current).insert(peer, (generation, token.clone()));
        if let Some((_, old)) = old {
            info!(%peer, "a newer connection replaces the older one");
            ctx.stats.bump(Counter::ConnsReplaced);
            old.cancel();
        }
        Current {
            ctx,
            peer,
            generation,
            token,
        }
    }
}

impl<M> Drop for Current<'_, M> {
    fn drop(&mut self) {
        let mut current = lock(&self.ctx.current);
        if current
            .get(&self.peer)
            .is_some_and(|(g, _)| *g == self.generation)
        {
            current.remove(&self.peer);
        }
    }
}

/// The map stays consistent even if a holder panicked: every update is a
/// single insert or remove.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads the hello, answers it, and names the peer if accepted. Every
/// refusal is counted and logged with what mismatched.
async fn handshake<M>(
    ctx: &Ctx<M>,
    framed: &mut Framed<TcpStream, tokio_util::codec::LengthDelimitedCodec>,
    addr: SocketAddr,
) -> Option<NodeId> {
    let refuse = |why: String| {
        warn!(%addr, "handshake refused: {why}");
        ctx.stats.bump(Counter::ConnsRefused);
        None
    };
    let hello = match framed.next().await {
        None => return refuse("closed before hello".into()),
        Some(Err(e)) => return refuse(format!("bad hello frame: {e}")),
        Some(Ok(payload)) => match Hello::decode(&payload) {
            Ok(h) => h,
            Err(e) => return refuse(e.to_string()),
        },
    };
    let verdict = hello.verdict(ctx.cluster, |n| n != ctx.me && ctx.known.contains(&n));
    let reply = HelloReply {
        hello: Hello::new(ctx.cluster, ctx.me),
        verdict,
    };
    let sent = framed.send(reply.encode()).await;
    let why = match verdict {
        Verdict::Accept => match sent {
            Ok(()) => return Some(hello.node),
            Err(e) => format!("cannot send reply: {e}"),
        },
        Verdict::BadMagic => format!("{verdict}: got {:?}", hello.magic),
        Verdict::BadVersion => format!(
            "{verdict}: got {}, expected {PROTOCOL_VERSION}",
            hello.version
        ),
        Verdict::WrongCluster => {
            format!("{verdict}: got {}, expected {}", hello.cluster, ctx.cluster)
        }
        Verdict::UnknownNode => format!("{verdict}: {}", hello.node),
        Verdict::Busy => verdict.to_string(),
    };
    refuse(why)
}
