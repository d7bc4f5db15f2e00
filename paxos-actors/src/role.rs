//! One actor type drives any core role. Its handlers only translate: feed
//! the role's core `Driver`, then carry out the `Step` — persist, send what
//! may leave, deliver — and release held messages when a sync's proof
//! comes back.

use crate::error::Error;
use crate::io::{BoxStorage, StorageError, StorageThread};
use crate::messages::{Decided, GetStatus, Inbound, ProposerStatus, Subscribe, Synced};
use crate::shared::NodeShared;
use crate::submit::{Drain, SubmitQueue};
use actix::prelude::*;
use paxos_core::multi::{Acceptor, Learner, Message, Proposer, Status};
use paxos_core::{Driver, NodeId, PersistJob, Record, Slot, Step, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A core role the actor can drive.
pub trait Role: paxos_core::Role<Message> + Unpin + Send + 'static {
    /// The leader this role last heard from, if it tracks one.
    fn leader(&self) -> Option<NodeId> {
        None
    }
}

impl Role for Acceptor {}

impl Role for Proposer {}

impl Role for Learner {
    fn leader(&self) -> Option<NodeId> {
        Learner::leader(self)
    }
}

/// Where a role's records go.
pub enum Persist {
    /// The role persists nothing (a learner without a log).
    Nothing,
    /// Storage that never blocks (in memory): called inline.
    Inline(BoxStorage),
    /// Blocking storage, on its own thread with group commit.
    Thread(Arc<StorageThread>),
}

impl Persist {
    /// Picks inline or threaded by what the storage says of itself.
    pub fn for_storage(storage: BoxStorage, name: String) -> std::io::Result<Self> {
        if storage.blocks() {
            Ok(Persist::Thread(StorageThread::start(storage, name)?))
        } else {
            Ok(Persist::Inline(storage))
        }
    }
}

/// Why a role stopped its node.
enum Failure {
    Storage(StorageError),
    NoStorage,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Storage(e) => write!(f, "{e}"),
            Failure::NoStorage => f.write_str("records to persist but no storage"),
        }
    }
}

/// The actor around one core role.
pub struct RoleActor<R: Role> {
    driver: Driver<R, Message>,
    shared: Arc<NodeShared>,
    persist: Persist,
    tick: Duration,
    mailbox_capacity: usize,
    replica: Option<Recipient<Decided>>,
    subscribers: Vec<mpsc::Sender<Vec<(Slot, Value)>>>,
    submit: Option<Arc<SubmitQueue>>,
    /// Written-behind records not yet handed to the storage thread.
    behind: Vec<Record>,
}

/// Most written-behind records held before the next tick hands them over.
const BEHIND_MAX: usize = 4096;

impl<R: Role> RoleActor<R> {
    pub(crate) fn new(
        role: R,
        shared: Arc<NodeShared>,
        persist: Persist,
        tick: Duration,
        mailbox_capacity: usize,
    ) -> Self {
        RoleActor {
            driver: Driver::new(role),
            shared,
            persist,
            tick,
            mailbox_capacity,
            replica: None,
            subscribers: Vec::new(),
            submit: None,
            behind: Vec::new(),
        }
    }

    pub(crate) fn with_submit_queue(mut self, queue: Arc<SubmitQueue>) -> Self {
        self.submit = Some(queue);
        self
    }

    pub(crate) fn with_replica(mut self, replica: Recipient<Decided>) -> Self {
        self.replica = Some(replica);
        self
    }

    /// Carries out one step: hands its records to storage, sends what may
    /// leave now, delivers decided entries, hands back dropped commands.
    fn carry_out(&mut self, step: Step<Message>, ctx: &mut Context<Self>) {
        let Step {
            send,
            persist,
            write_behind,
            apply,
            dropped,
        } = step;
        if !write_behind.is_empty() {
            if let Err(e) = self.write_behind(write_behind, ctx) {
                return self.fail(Failure::Storage(e), ctx);
            }
        }
        if let Some(job) = persist {
            if let Err(e) = self.persist(job, ctx) {
                return self.fail(e, ctx);
            }
        }
        self.post(send);
        if !apply.is_empty() {
            self.subscribers
                .retain(|s| s.try_send(apply.clone()).is_ok());
            if let Some(replica) = &self.replica {
                self.shared.metrics.actor_message();
                replica.do_send(Decided(apply));
            }
        }
        if !dropped.is_empty() {
            self.shared.reject(&dropped);
        }
    }

    /// Inline storage syncs now and releases what the job held; a storage
    /// thread answers with `Synced`.
    fn persist(&mut self, job: PersistJob, ctx: &mut Context<Self>) -> Result<(), Failure> {
        match &mut self.persist {
            Persist::Inline(storage) => {
                let proof = job
                    .write(storage)
                    .and_then(|w| w.sync(storage))
                    .map_err(Failure::Storage)?;
                let released = self.driver.persisted(proof);
                self.post(released);
                Ok(())
            }
            Persist::Thread(thread) => {
                let me = ctx.address();
                let metrics = self.shared.metrics.clone();
                thread.submit(
                    job,
                    Box::new(move |result| {
                        metrics.actor_message();
                        me.do_send(Synced { result });
                    }),
                );
                Ok(())
            }
            Persist::Nothing => Err(Failure::NoStorage),
        }
    }

    fn post(&self, messages: Vec<(NodeId, Message)>) {
        for (to, msg) in messages {
            self.shared.outbox.post(to, msg);
        }
    }

    /// Writes records nothing waits for (a learner's log); a failure still
    /// stops the node, through `Synced`. Blocking storage gets them at the
    /// next tick, in one job: waking the storage thread for every decided
    /// batch put a futex wake (and allocator lock contention) in front of
    /// every client reply.
    fn write_behind(
        &mut self,
        records: Vec<Record>,
        ctx: &mut Context<Self>,
    ) -> Result<(), StorageError> {
        match &mut self.persist {
            // Storage that does not block syncs at once: nothing would
            // sync it later.
            Persist::Inline(storage) => {
                storage.append_owned(records)?;
                storage.sync()
            }
            Persist::Thread(_) => {
                self.behind.extend(records);
                if self.tick.is_zero() || self.behind.len() >= BEHIND_MAX {
                    self.flush_behind(ctx);
                }
                Ok(())
            }
            Persist::Nothing => Ok(()),
        }
    }

    /// Hands the written-behind records to the storage thread.
    fn flush_behind(&mut self, ctx: &mut Context<Self>) {
        let Persist::Thread(thread) = &self.persist else {
            return;
        };
        if self.behind.is_empty() {
            return;
        }
        let records = std::mem::take(&mut self.behind);
        let me = ctx.address();
        thread.submit_lazy(
            records,
            Box::new(move |result| {
                if result.is_err() {
                    me.do_send(Synced { result });
                }
            }),
        );
    }

    /// Storage failed: stop rather than reply without durability. Held
    /// messages never leave: they go with the actor.
    fn fail(&mut self, failure: Failure, ctx: &mut Context<Self>) {
        let role = <R as paxos_core::Role<Message>>::KIND.name();
        tracing::error!(node = %self.shared.id, role, reason = %failure, "storage failed; stopping node");
        self.shared.stop();
        ctx.stop();
    }
}

impl<R: Role> Actor for RoleActor<R> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(self.mailbox_capacity);
        self.schedule_tick(ctx);
    }

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        self.flush_behind(ctx);
    }
}

impl<R: Role> RoleActor<R> {
    /// One tick at least `self.tick` after the last one has run. Unlike a
    /// fixed-rate interval, a thread that stalls does not fire a burst of
    /// catch-up ticks afterwards, which would expire election timers before
    /// any heartbeat could be handled.
    fn schedule_tick(&mut self, ctx: &mut Context<Self>) {
        if self.tick.is_zero() {
            return;
        }
        ctx.run_later(self.tick, |act, ctx| {
            if act.shared.stopped() {
                return ctx.stop();
            }
            let step = act.driver.tick();
            act.carry_out(step, ctx);
            act.flush_behind(ctx);
            act.schedule_tick(ctx);
        });
    }
}

impl<R: Role> Handler<Inbound> for RoleActor<R> {
    type Result = ();
    fn handle(&mut self, m: Inbound, ctx: &mut Context<Self>) {
        if self.shared.stopped() {
            return ctx.stop();
        }
        let step = self.driver.handle(m.from, m.msg);
        if let Some(leader) = self.driver.role().leader() {
            // Where remote clients on a proposer-less node send first.
            self.shared.set_leader_hint(Some(leader));
        }
        self.carry_out(step, ctx);
    }
}

impl<R: Role> Handler<Synced> for RoleActor<R> {
    type Result = ();
    fn handle(&mut self, m: Synced, ctx: &mut Context<Self>) {
        match m.result {
            Err(e) => self.fail(Failure::Storage(e), ctx),
            Ok(Some(proof)) => {
                let released = self.driver.persisted(proof);
                self.post(released);
            }
            Ok(None) => {}
        }
    }
}

impl Handler<Drain> for RoleActor<Proposer> {
    type Result = ();
    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) {
        let Some(queue) = self.submit.clone() else {
            return;
        };
        if self.shared.stopped() {
            return ctx.stop();
        }
        let step = self
            .driver
            .input(|proposer, ready| proposer.propose_batch(queue.take(), ready));
        let leader = match self.driver.role().status() {
            Status::Leader { .. } => Some(self.shared.id),
            Status::Follower { leader } => leader,
            Status::Candidate { .. } => None,
        };
        self.shared.set_leader_hint(leader);
        self.carry_out(step, ctx);
    }
}

impl Handler<GetStatus> for RoleActor<Proposer> {
    type Result = ProposerStatus;
    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> ProposerStatus {
        ProposerStatus {
            status: self.driver.role().status(),
            commit: self.driver.role().commit(),
        }
    }
}

impl Handler<Subscribe> for RoleActor<Learner> {
    type Result = Result<(), Error>;
    fn handle(&mut self, m: Subscribe, _: &mut Context<Self>) -> Result<(), Error> {
        self.subscribers.push(m.0);
        Ok(())
    }
}
