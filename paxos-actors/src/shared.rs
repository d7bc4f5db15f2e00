//! State shared by the actors of one node and its clients.

use crate::error::Error;
use crate::io::Outbox;
use crate::metrics::Metrics;
use paxos_core::{ClientId, Command, NodeId};
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A client waiting for its command's result.
pub(crate) type Waiter = oneshot::Sender<Result<Vec<u8>, Error>>;

/// Most client commands waiting for results on one node.
pub const WAITERS_MAX: usize = 1 << 16;

/// What every actor of a node, and its clients, can reach.
pub(crate) struct NodeShared {
    pub id: NodeId,
    pub outbox: Arc<dyn Outbox>,
    pub metrics: Arc<Metrics>,
    /// Keyed by `(client, seq)`; a cheap hash, as every command passes here
    /// twice (SipHash was 2% of the in-memory benchmark).
    waiters: Mutex<FxHashMap<(ClientId, u64), Waiter>>,
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
            waiters: Mutex::new(FxHashMap::default()),
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
        if let Ok(mut w) = self.waiters.lock() {
            for (_, tx) in w.drain() {
                let _ = tx.send(Err(Error::Stopped));
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

    /// Registers a client waiting for `(client, seq)`; a previous waiter
    /// for the same command (an earlier attempt) is replaced.
    pub fn wait(&self, client: ClientId, seq: u64, tx: Waiter) -> Result<(), Error> {
        let mut w = self.waiters.lock().map_err(|_| Error::Stopped)?;
        if w.len() >= WAITERS_MAX && !w.contains_key(&(client, seq)) {
            return Err(Error::Busy);
        }
        w.insert((client, seq), tx);
        Ok(())
    }

    /// Resolves the client waiting for `(client, seq)`, if any.
    pub fn resolve(&self, client: ClientId, seq: u64, result: Result<Vec<u8>, Error>) {
        let tx = match self.waiters.lock() {
            Ok(mut w) => w.remove(&(client, seq)),
            Err(_) => None,
        };
        if let Some(tx) = tx {
            let _ = tx.send(result);
        }
    }

    /// Resolves every client waiting for one of `results`, under one lock.
    pub fn resolve_many(&self, results: Vec<(ClientId, u64, Vec<u8>)>) {
        if results.is_empty() {
            return;
        }
        let mut ready = Vec::with_capacity(results.len());
        if let Ok(mut w) = self.waiters.lock() {
            for (client, seq, result) in results {
                if let Some(tx) = w.remove(&(client, seq)) {
                    ready.push((tx, result));
                }
            }
        }
        for (tx, result) in ready {
            let _ = tx.send(Ok(result));
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
