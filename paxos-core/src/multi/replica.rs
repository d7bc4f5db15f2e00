use crate::traits::StateMachine;
use crate::types::{ClientId, Slot, Value};
use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

/// A session's result buffer up to this capacity is reused for the next result.
const SESSION_BUFFER_KEEP: usize = 4096;

/// What applying one decided entry did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A no-op filled the slot.
    Noop,
    /// The command ran for the first time; `result` goes to the client.
    Applied {
        /// The client.
        client: ClientId,
        /// Its sequence number.
        seq: u64,
        /// What the state machine returned.
        result: Vec<u8>,
    },
    /// The command was already applied (a retry chosen twice): not run
    /// again; `result` is the first run's result.
    Duplicate {
        /// The client.
        client: ClientId,
        /// Its sequence number.
        seq: u64,
        /// The result of the first application.
        result: Vec<u8>,
    },
    /// An older command of a client that has since moved on: not run.
    Stale {
        /// The client.
        client: ClientId,
        /// Its sequence number.
        seq: u64,
    },
}

/// Applies decided entries to a user state machine in slot order, each
/// `(client, seq)` at most once.
///
/// It remembers each client's latest sequence number and result, so a client
/// must not have two commands in flight whose order matters: it issues
/// increasing `seq` numbers and retries the latest until it gets a result.
#[derive(Debug)]
pub struct Replica<S> {
    state_machine: S,
    next: Slot,
    /// Looked up once per command on every replica: a cheap hash.
    sessions: FxHashMap<ClientId, (u64, Vec<u8>)>,
}

impl<S: StateMachine> Replica<S> {
    /// A replica starting from slot 0 with `state_machine` in its initial state.
    pub fn new(state_machine: S) -> Self {
        Replica {
            state_machine,
            next: Slot(0),
            sessions: FxHashMap::default(),
        }
    }

    /// The next slot to apply.
    pub fn next_slot(&self) -> Slot {
        self.next
    }

    /// The state machine, for reads that need no consensus (they may be stale).
    pub fn state_machine(&self) -> &S {
        &self.state_machine
    }

    /// Applies the entry decided for `slot`, which must be [`Self::next_slot`].
    ///
    /// # Panics
    /// If `slot` is not the next slot: the driver broke the in-order contract
    /// that [`super::Learner`] guarantees, and going on would diverge replicas.
    pub fn apply(&mut self, slot: Slot, value: &Value) -> Outcome {
        assert_eq!(slot, self.next, "replica fed slot {slot} out of order");
        self.next = slot.next();
        let Value::Command(cmd) = value else {
            return Outcome::Noop;
        };
        let (client, seq) = (cmd.client, cmd.seq);
        // One map walk per command: this is the apply hot path.
        match self.sessions.entry(client) {
            Entry::Occupied(e) if e.get().0 == seq => Outcome::Duplicate {
                client,
                seq,
                result: e.get().1.clone(),
            },
            Entry::Occupied(e) if e.get().0 > seq => Outcome::Stale { client, seq },
            entry => {
                let result = self.state_machine.apply(&cmd.payload);
                let (last, kept) = entry.or_default();
                *last = seq;
                // Reuse the session's buffer: no allocation per command,
                // unless a big result left it large.
                if kept.capacity() <= SESSION_BUFFER_KEEP {
                    kept.clear();
                    kept.extend_from_slice(&result);
                } else {
                    *kept = result.clone();
                }
                Outcome::Applied {
                    client,
                    seq,
                    result,
                }
            }
        }
    }
}
