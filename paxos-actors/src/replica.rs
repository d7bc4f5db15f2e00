//! The actor that applies decided commands to the user's state machine and
//! answers the clients waiting on this node.

use crate::messages::Decided;
use crate::shared::NodeShared;
use actix::prelude::*;
use paxos_core::multi::{Outcome, Replica};
use paxos_core::StateMachine;
use std::sync::Arc;

/// Reads the state machine without consensus: the answer reflects every
/// command this replica has applied, which may lag the cluster.
pub struct Read<SM, T>(pub Box<dyn FnOnce(&SM) -> T + Send>);

impl<SM: 'static, T: 'static> Message for Read<SM, T> {
    type Result = Option<T>;
}

/// Applies decided entries in slot order, each client command once.
pub struct ReplicaActor<SM> {
    replica: Replica<SM>,
    shared: Arc<NodeShared>,
}

impl<SM: StateMachine + Unpin + 'static> ReplicaActor<SM> {
    pub(crate) fn new(state_machine: SM, shared: Arc<NodeShared>) -> Self {
        ReplicaActor {
            replica: Replica::new(state_machine),
            shared,
        }
    }
}

impl<SM: StateMachine + Unpin + 'static> Actor for ReplicaActor<SM> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Learners send with `do_send`, which the capacity does not limit:
        // the learner's own bounded mailbox is the back-pressure point.
        ctx.set_mailbox_capacity(1 << 16);
    }
}

impl<SM: StateMachine + Unpin + 'static> Handler<Decided> for ReplicaActor<SM> {
    type Result = ();
    fn handle(&mut self, m: Decided, _: &mut Context<Self>) {
        let mut results = Vec::new();
        for (slot, value) in m.0 {
            match self.replica.apply(slot, &value) {
                Outcome::Applied {
                    client,
                    seq,
                    result,
                }
                | Outcome::Duplicate {
                    client,
                    seq,
                    result,
                } => {
                    results.push((client, seq, result));
                }
                Outcome::Noop | Outcome::Stale { .. } => {}
            }
        }
        self.shared.resolve_many(results);
    }
}

impl<SM: StateMachine + Unpin + 'static, T: 'static> Handler<Read<SM, T>> for ReplicaActor<SM> {
    type Result = Option<T>;
    fn handle(&mut self, m: Read<SM, T>, _: &mut Context<Self>) -> Option<T> {
        Some((m.0)(self.replica.state_machine()))
    }
}
