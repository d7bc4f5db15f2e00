//! State shared by the actors of one node and its clients.

use crate::error::Error;
use crate::io::Outbox;
use crate::metrics::Metrics;
use paxos_core::{ClientId, Command, NodeId};
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Where one client's results arrive. Made once per client and reused by
/// each of its commands: no channel to allocate and no map entry to add
/// and remove per command.
#[derive(Default)]
pub(crate) struct Mailbox {
    state: Mutex<Awaited>,
}

#[derive(Default)]
struct Awaited {
    /// The sequence number awaited (0: none; clients number from 1).
    seq: u64,
    result: Option<Result<Vec<u8>, Error>>,
    waker: Option<Waker>,
}

impl Mailbox {
    /// The result of command `seq`, once it has arrived. Until then it
    /// arms the mailbox for `seq` (keeping a result that already came for
    /// it, from an earlier attempt) and keeps `cx`'s waker for delivery.
    pub fn poll_result(&self, seq: u64, cx: &mut Context<'_>) -> Poll<Result<Vec<u8>, Error>> {
        let Ok(mut a) = self.state.lock() else {
            return Poll::Ready(Err(Error::Stopped));
        };
        if a.seq != seq {
            a.seq = seq;
            a.result = None;
        } else if let Some(r) = a.result.take() {
            a.seq = 0;
            return Poll::Ready(r);
        }
        if !a.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            a.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Awaits nothing (the client gave up).
    pub fn cancel(&self) {
        if let Ok(mut a) = self.state.lock() {
            a.seq = 0;
            a.result = None;
        }
    }

    /// Stores `result` if command `seq` (any, for `None`) is awaited and
    /// has none yet, and wakes the client. The waker stays: the client's
    /// next command usually waits in the same task.
    fn deliver(&self, seq: Option<u64>, result: Result<Vec<u8>, Error>) {
        let Ok(mut a) = self.state.lock() else {
            return;
        };
        if a.seq == 0 || seq.is_some_and(|s| s != a.seq) || a.result.is_some() {
            return;
        }
        a.result = Some(result);
        if let Some(w) = &a.waker {
            w.wake_by_ref();
        }
    }
}

/// Most live clients one node serves at once: a client is registered from
/// its creation until it is dropped, idle or not. Beyond this, creating one
/// fails with [`Error::Busy`].
pub const WAITERS_MAX: usize = 1 << 16;

/// What every actor of a node, and its clients, can reach.
pub(crate) struct NodeShared {
    pub id: NodeId,
    pub outbox: Arc<dyn Outbox>,
    pub metrics: Arc<Metrics>,
    /// Each client's mailbox; a cheap hash, as every result is looked up
    /// here (SipHash was 2% of the in-memory benchmark).
    clients: Mutex<FxHashMap<ClientId, Arc<Mailbox>>>,
    stopped: AtomicBool,
    /// The leader this node's proposer last knew, plus one (0: none).
    leader_hint: AtomicU64,
}

impl NodeShared {
    pub fn new(id: NodeId, outbox: Arc<dyn Outbox>, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(NodeShared {
            id,
            outbox,
            metrics,
            clients: Mutex::new(FxHashMap::default()),
            stopped: AtomicBool::new(false),
            leader_hint: AtomicU64::new(0),
        })
    }

    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Marks the node stopped and fails every waiting client.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        if let Ok(c) = self.clients.lock() {
            for m in c.values() {
                m.deliver(None, Err(Error::Stopped));
            }
        }
    }

    pub fn set_leader_hint(&self, leader: Option<NodeId>) {
        self.leader_hint
            .store(leader.map_or(0, |n| n.0 + 1), Ordering::Relaxed);
    }

    pub fn leader_hint(&self) -> Option<NodeId> {
        match self.leader_hint.load(Ordering::Relaxed) {
            0 => None,
            n => Some(NodeId(n - 1)),
        }
    }

    /// Registers client `id` and returns its mailbox. Fails if a live
    /// client here already has that id, or too many clients are registered.
    pub fn register(&self, id: ClientId) -> Result<Arc<Mailbox>, Error> {
        let mut c = self.clients.lock().map_err(|_| Error::Stopped)?;
        if c.contains_key(&id) {
            return Err(Error::ClientIdInUse { client: id });
        }
        if c.len() >= WAITERS_MAX {
            return Err(Error::Busy);
        }
        let mailbox = Arc::new(Mailbox::default());
        c.insert(id, mailbox.clone());
        Ok(mailbox)
    }

    /// Forgets client `id`, if `mailbox` is still the one registered.
    pub fn unregister(&self, id: ClientId, mailbox: &Arc<Mailbox>) {
        if let Ok(mut c) = self.clients.lock() {
            if c.get(&id).is_some_and(|m| Arc::ptr_eq(m, mailbox)) {
                c.remove(&id);
            }
        }
    }

    /// Resolves the client waiting for `(client, seq)`, if any.
    pub fn resolve(&self, client: ClientId, seq: u64, result: Result<Vec<u8>, Error>) {
        if let Ok(c) = self.clients.lock() {
            if let Some(m) = c.get(&client) {
                m.deliver(Some(seq), result);
            }
        }
    }

    /// Resolves every client waiting for one of `results`, under one lock.
    pub fn resolve_many(&self, results: Vec<(ClientId, u64, Vec<u8>)>) {
        if results.is_empty() {
            return;
        }
        if let Ok(c) = self.clients.lock() {
            for (client, seq, result) in results {
                if let Some(m) = c.get(&client) {
                    m.deliver(Some(seq), Ok(result));
                }
            }
        }
    }

    /// Tells clients of commands the proposer gave up on to go elsewhere.
    pub fn reject(&self, dropped: &[Command]) {
        let leader = self.leader_hint();
        for c in dropped {
            self.resolve(c.client, c.seq, Err(Error::NotLeader { leader }));
        }
    }
}
