//! The actix messages the role actors exchange.

use crate::error::Error;
use actix::prelude::*;
use paxos_core::multi::{Message as Wire, Status};
use paxos_core::{NodeId, Slot, Value};

/// A protocol message that arrived from `from`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Inbound {
    /// The sender.
    pub from: NodeId,
    /// The message.
    pub msg: Wire,
}

/// Decided entries, in slot order, from a learner to its replica.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Decided(pub Vec<(Slot, Value)>);

/// A storage thread finished a job: the proof of a persist job's sync,
/// nothing for records written behind, or the failure.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Synced {
    pub result: Result<Option<paxos_core::Persisted>, crate::io::StorageError>,
}

/// Asks a proposer for its leadership state and commit point.
#[derive(Message)]
#[rtype(result = "ProposerStatus")]
pub struct GetStatus;

/// A proposer's leadership state and commit point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, MessageResponse)]
pub struct ProposerStatus {
    /// Follower, candidate or leader.
    pub status: Status,
    /// Every slot below this is known chosen.
    pub commit: Slot,
}

/// Subscribes to a learner's decided entries, in slot order, from now on.
/// A subscriber whose channel is full is disconnected rather than skipped.
#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
pub struct Subscribe(pub tokio::sync::mpsc::Sender<Vec<(Slot, Value)>>);
