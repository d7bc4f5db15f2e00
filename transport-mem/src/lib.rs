//! An in-process network for `paxos-core` messages, with a seeded fault plan.
//!
//! Nodes register an [`Inbox`]; each gets a [`MemTransport`] to send with.
//! A [`FaultPlan`] — changeable while running — decides per link whether a
//! message is dropped, duplicated or delayed (random delays reorder), and
//! which links are cut (one-way cuts too). Delayed messages wait on tokio
//! timers, so under `tokio::time::pause()` a test drives them in virtual
//! time. All randomness comes from one seeded generator.
//!
//! Bounds: each link holds at most `link_capacity` delayed messages; beyond
//! that a message is dropped, as a full network queue would. Undelayed
//! messages go straight to the receiver's inbox, which is bounded itself
//! (an actor mailbox, a bounded channel).
//!
//! ```
//! use paxos_core::{Inbox, NodeId, Transport};
//! use std::sync::{Arc, Mutex};
//! use transport_mem::MemNetwork;
//!
//! struct Collect(Mutex<Vec<(NodeId, &'static str)>>);
//! impl Inbox<&'static str> for Collect {
//!     fn deliver(&self, from: NodeId, msg: &'static str) {
//!         self.0.lock().unwrap().push((from, msg));
//!     }
//! }
//!
//! let net = MemNetwork::new(7, 1024);
//! let inbox = Arc::new(Collect(Mutex::new(Vec::new())));
//! net.register(NodeId(2), inbox.clone());
//! net.transport(NodeId(1)).send(NodeId(2), "hello").unwrap();
//! assert_eq!(inbox.0.lock().unwrap()[0], (NodeId(1), "hello"));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use paxos_core::{Inbox, NodeId, Transport};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Why a message could not even be handed to the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No node with this id is registered (never was, or it crashed).
    #[error("node {0} is not on the network")]
    Unreachable(NodeId),
    /// Delayed messages need a tokio runtime on the sending thread.
    #[error("a delayed message needs a tokio runtime on the sending thread")]
    NoRuntime,
    /// The network's lock was poisoned by a panic elsewhere.
    #[error("the in-memory network was poisoned by a panic")]
    Poisoned,
}

/// Faults on one directed link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkFaults {
    /// Probability that a message is lost.
    pub drop: f64,
    /// Probability that a message is delivered twice.
    pub duplicate: f64,
    /// Smallest delay.
    pub delay_min: Duration,
    /// Largest delay; a random delay in between reorders messages.
    pub delay_max: Duration,
}

impl LinkFaults {
    /// A perfect link: no loss, no duplication, no delay.
    pub const NONE: LinkFaults = LinkFaults {
        drop: 0.0,
        duplicate: 0.0,
        delay_min: Duration::ZERO,
        delay_max: Duration::ZERO,
    };

    fn is_perfect(&self) -> bool {
        self.drop <= 0.0 && self.duplicate <= 0.0 && self.delay_max.is_zero()
    }
}

/// Which faults the network injects. Change it at any time with
/// [`MemNetwork::set_plan`] or the helpers on [`MemNetwork`].
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// Faults on every link without its own entry.
    pub default: LinkFaults,
    /// Per-link overrides, keyed by `(from, to)`.
    pub links: BTreeMap<(NodeId, NodeId), LinkFaults>,
    /// Cut directed links `(from, to)`: everything on them is lost.
    pub cut: BTreeSet<(NodeId, NodeId)>,
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> Self {
        FaultPlan {
            default: LinkFaults::NONE,
            links: BTreeMap::new(),
            cut: BTreeSet::new(),
        }
    }

    /// The same faults on every link.
    pub fn uniform(faults: LinkFaults) -> Self {
        FaultPlan {
            default: faults,
            ..FaultPlan::none()
        }
    }

    fn link(&self, from: NodeId, to: NodeId) -> LinkFaults {
        self.links.get(&(from, to)).copied().unwrap_or(self.default)
    }
}

/// Counters of what the network did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Messages handed to an inbox.
    pub delivered: u64,
    /// Messages lost to the fault plan, a cut, a full link or an absent node.
    pub dropped: u64,
    /// Extra copies made.
    pub duplicated: u64,
}

type Inboxes<M> = BTreeMap<NodeId, Arc<dyn Inbox<M>>>;

struct Inner<M> {
    inboxes: Inboxes<M>,
    plan: FaultPlan,
    perfect: bool,
    rng: ChaCha8Rng,
    /// Delayed messages in flight per link.
    in_flight: BTreeMap<(NodeId, NodeId), usize>,
    link_capacity: usize,
    stats: NetStats,
}

/// The shared network. Cloning gives another handle to the same network.
pub struct MemNetwork<M> {
    inner: Arc<Mutex<Inner<M>>>,
}

impl<M> Clone for MemNetwork<M> {
    fn clone(&self) -> Self {
        MemNetwork {
            inner: self.inner.clone(),
        }
    }
}

impl<M: Clone + Send + 'static> MemNetwork<M> {
    /// A network without faults; `seed` drives every random choice of the
    /// fault plans set later, and `link_capacity` bounds delayed messages per link.
    pub fn new(seed: u64, link_capacity: usize) -> Self {
        let inner = Inner {
            inboxes: BTreeMap::new(),
            plan: FaultPlan::none(),
            perfect: true,
            rng: ChaCha8Rng::seed_from_u64(seed),
            in_flight: BTreeMap::new(),
            link_capacity,
            stats: NetStats::default(),
        };
        MemNetwork {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner<M>>, Error> {
        self.inner.lock().map_err(|_| Error::Poisoned)
    }

    /// Attaches `node`; messages to it go to `inbox` from now on.
    pub fn register(&self, node: NodeId, inbox: Arc<dyn Inbox<M>>) {
        if let Ok(mut inner) = self.lock() {
            inner.inboxes.insert(node, inbox);
        }
    }

    /// Detaches `node` (a crash): messages to it are lost until it registers again.
    pub fn unregister(&self, node: NodeId) {
        if let Ok(mut inner) = self.lock() {
            inner.inboxes.remove(&node);
        }
    }

    /// A sender for `node`.
    pub fn transport(&self, node: NodeId) -> MemTransport<M> {
        MemTransport {
            net: self.clone(),
            me: node,
        }
    }

    /// Replaces the fault plan.
    pub fn set_plan(&self, plan: FaultPlan) {
        if let Ok(mut inner) = self.lock() {
            inner.perfect = plan.cut.is_empty()
                && plan.default.is_perfect()
                && plan.links.values().all(LinkFaults::is_perfect);
            inner.plan = plan;
        }
    }

    /// The current fault plan.
    pub fn plan(&self) -> FaultPlan {
        self.lock()
            .map(|i| i.plan.clone())
            .unwrap_or_else(|_| FaultPlan::none())
    }

    /// Cuts every link between different groups, both ways. Nodes in no
    /// group keep their links.
    pub fn partition(&self, groups: &[&[NodeId]]) {
        let mut plan = self.plan();
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i != j {
                    for x in a.iter() {
                        for y in b.iter() {
                            plan.cut.insert((*x, *y));
                        }
                    }
                }
            }
        }
        self.set_plan(plan);
    }

    /// Cuts the one-way link `from → to`.
    pub fn cut(&self, from: NodeId, to: NodeId) {
        let mut plan = self.plan();
        plan.cut.insert((from, to));
        self.set_plan(plan);
    }

    /// Restores every cut link (loss, duplication and delay stay as planned).
    pub fn heal(&self) {
        let mut plan = self.plan();
        plan.cut.clear();
        self.set_plan(plan);
    }

    /// What the network has done so far.
    pub fn stats(&self) -> NetStats {
        self.lock().map(|i| i.stats).unwrap_or_default()
    }

    fn send(&self, from: NodeId, to: NodeId, msg: M) -> Result<(), Error> {
        let mut inner = self.lock()?;
        let Some(inbox) = inner.inboxes.get(&to).cloned() else {
            inner.stats.dropped += 1;
            return Err(Error::Unreachable(to));
        };
        if inner.perfect || from == to {
            inner.stats.delivered += 1;
            drop(inner);
            inbox.deliver(from, msg);
            return Ok(());
        }
        if inner.plan.cut.contains(&(from, to)) {
            inner.stats.dropped += 1;
            return Ok(());
        }
        let link = inner.plan.link(from, to);
        if inner.rng.random_bool(link.drop.clamp(0.0, 1.0)) {
            inner.stats.dropped += 1;
            return Ok(());
        }
        let copies = if inner.rng.random_bool(link.duplicate.clamp(0.0, 1.0)) {
            inner.stats.duplicated += 1;
            2
        } else {
            1
        };
        let mut delays = Vec::with_capacity(copies);
        for _ in 0..copies {
            let delay = if link.delay_max > link.delay_min {
                inner.rng.random_range(link.delay_min..=link.delay_max)
            } else {
                link.delay_min
            };
            delays.push(delay);
        }
        let mut now = Vec::new();
        for delay in delays {
            if delay.is_zero() {
                inner.stats.delivered += 1;
                now.push(msg.clone());
                continue;
            }
            let capacity = inner.link_capacity;
            let queued = inner.in_flight.entry((from, to)).or_default();
            if *queued >= capacity {
                inner.stats.dropped += 1;
                continue;
            }
            let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
            *queued += 1;
            let (net, inbox, copy) = (self.clone(), inbox.clone(), msg.clone());
            handle.spawn(async move {
                tokio::time::sleep(delay).await;
                net.arrive(from, to, &inbox, copy);
            });
        }
        drop(inner);
        for m in now {
            inbox.deliver(from, m);
        }
        Ok(())
    }

    /// A delayed message reaches the end of its link: deliver it unless the
    /// link was cut or the node left meanwhile.
    fn arrive(&self, from: NodeId, to: NodeId, inbox: &Arc<dyn Inbox<M>>, msg: M) {
        let Ok(mut inner) = self.lock() else {
            return;
        };
        if let Some(q) = inner.in_flight.get_mut(&(from, to)) {
            *q = q.saturating_sub(1);
        }
        let present = inner
            .inboxes
            .get(&to)
            .is_some_and(|i| Arc::ptr_eq(i, inbox));
        if !present || inner.plan.cut.contains(&(from, to)) {
            inner.stats.dropped += 1;
            return;
        }
        inner.stats.delivered += 1;
        drop(inner);
        inbox.deliver(from, msg);
    }
}

/// One node's handle for sending on a [`MemNetwork`].
pub struct MemTransport<M> {
    net: MemNetwork<M>,
    me: NodeId,
}

impl<M> Clone for MemTransport<M> {
    fn clone(&self) -> Self {
        MemTransport {
            net: self.net.clone(),
            me: self.me,
        }
    }
}

impl<M: Clone + Send + 'static> Transport<M> for MemTransport<M> {
    type Error = Error;

    fn send(&self, to: NodeId, msg: M) -> Result<(), Error> {
        self.net.send(self.me, to, msg)
    }
}
