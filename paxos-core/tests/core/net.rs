//! A perfect network for role tests.
//!
//! Goal: let a test run a whole exchange between roles without writing the
//! delivery loop each time, while keeping the driver contract visible.
//! Method: every `Ready` a role produces goes through a real `Pipeline`
//! with a per-node in-memory storage that syncs at once (its records are
//! persisted, then the messages the sync releases are queued, then its
//! decisions and dropped commands are recorded), and
//! queued messages are delivered in FIFO order until none are left. A filter
//! can lose messages (to cut a node off). The number of deliveries is
//! bounded, so a livelock fails the test instead of hanging it.

use paxos_core::{Command, MemStorage, NodeId, Pipeline, Ready, Record, Slot, Value};
use std::collections::{BTreeMap, VecDeque};

/// One message in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope<M> {
    pub from: NodeId,
    pub to: NodeId,
    pub msg: M,
}

/// A FIFO network that never loses, duplicates or reorders a message unless
/// the test's filter says so, and a record of every effect it carried out.
#[derive(Debug)]
pub struct Network<M> {
    queue: VecDeque<Envelope<M>>,
    deliveries_max: usize,
    /// Every message delivered, in delivery order.
    pub delivered: Vec<Envelope<M>>,
    /// Every message the filter threw away.
    pub lost: Vec<Envelope<M>>,
    /// Records each node persisted, in order.
    pub persisted: BTreeMap<NodeId, Vec<Record>>,
    /// Entries each node delivered to its application, in order.
    pub decided: BTreeMap<NodeId, Vec<(Slot, Value)>>,
    /// Commands each node gave up on.
    pub dropped: BTreeMap<NodeId, Vec<Command>>,
    /// Each node's pipeline and storage.
    nodes: BTreeMap<NodeId, (Pipeline<M>, MemStorage)>,
}

impl<M: Clone> Network<M> {
    /// An empty network that fails the test after `deliveries_max` deliveries
    /// in one call to [`Network::run`].
    pub fn new(deliveries_max: usize) -> Self {
        Network {
            queue: VecDeque::new(),
            deliveries_max,
            delivered: Vec::new(),
            lost: Vec::new(),
            persisted: BTreeMap::new(),
            decided: BTreeMap::new(),
            dropped: BTreeMap::new(),
            nodes: BTreeMap::new(),
        }
    }

    /// Carries out a Ready produced at `node`: persist, then send, then
    /// deliver decisions.
    pub fn post(&mut self, node: NodeId, mut ready: Ready<M>) {
        let persisted = self.persisted.entry(node).or_default();
        persisted.extend(ready.records().iter().cloned());
        persisted.extend(ready.written_behind().iter().cloned());
        let (pipeline, storage) = self.nodes.entry(node).or_default();
        let step = match pipeline.run_inline(&mut ready, storage) {
            Ok(step) => step,
            Err(e) => panic!("in-memory storage failed: {e}"),
        };
        for (to, msg) in step.send {
            self.queue.push_back(Envelope {
                from: node,
                to,
                msg,
            });
        }
        self.decided.entry(node).or_default().extend(step.apply);
        self.dropped.entry(node).or_default().extend(step.dropped);
    }

    /// Messages waiting for delivery.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Delivers every queued message (and every message they cause) through
    /// `deliver(from, to, msg, ready)`; returns how many were delivered.
    pub fn run(&mut self, deliver: impl FnMut(NodeId, NodeId, M, &mut Ready<M>)) -> usize {
        self.run_filtered(|_| true, deliver)
    }

    /// Like [`Network::run`], but loses every message for which `keep` is false.
    pub fn run_filtered(
        &mut self,
        mut keep: impl FnMut(&Envelope<M>) -> bool,
        mut deliver: impl FnMut(NodeId, NodeId, M, &mut Ready<M>),
    ) -> usize {
        let mut deliveries = 0;
        while let Some(envelope) = self.queue.pop_front() {
            if !keep(&envelope) {
                self.lost.push(envelope);
                continue;
            }
            deliveries += 1;
            assert!(
                deliveries <= self.deliveries_max,
                "network still busy after {} deliveries: livelock?",
                self.deliveries_max
            );
            self.delivered.push(envelope.clone());
            let mut ready = Ready::new();
            deliver(envelope.from, envelope.to, envelope.msg, &mut ready);
            self.post(envelope.to, ready);
        }
        deliveries
    }

    /// The records `node` persisted so far.
    pub fn persisted_by(&self, node: NodeId) -> &[Record] {
        self.persisted.get(&node).map_or(&[], Vec::as_slice)
    }

    /// The entries `node` delivered so far.
    pub fn decided_by(&self, node: NodeId) -> &[(Slot, Value)] {
        self.decided.get(&node).map_or(&[], Vec::as_slice)
    }

    /// The commands `node` gave up on so far.
    pub fn dropped_by(&self, node: NodeId) -> &[Command] {
        self.dropped.get(&node).map_or(&[], Vec::as_slice)
    }
}
