//! One actor type drives any core role. Its handlers only translate: feed
//! the core, then carry out the `Ready` — persist, then send, then deliver.

use crate::error::Error;
use crate::io::{Durable, StorageThread};
use crate::messages::{Decided, GetStatus, Inbound, ProposerStatus, Subscribe, Synced};
use crate::shared::NodeShared;
use crate::submit::{Drain, SubmitQueue};
use actix::prelude::*;
use paxos_core::multi::{Acceptor, Learner, Message, Proposer, Status};
use paxos_core::{NodeId, Ready, Slot, Value};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A core role the actor can drive.
pub trait Role: Unpin + Send + 'static {
    /// For logs.
    const NAME: &'static str;
    /// Whether this role's messages must wait until its records are synced.
    /// True for acceptors and proposers (a promise, an accepted value, a
    /// ballot reservation); false for learners, whose records are chosen
    /// values already durable at a quorum of acceptors.
    const GATES_SEND: bool = true;
    /// Feeds one protocol message.
    fn handle(&mut self, from: NodeId, msg: Message, ready: &mut Ready<Message>);
    /// Feeds one tick.
    fn tick(&mut self, ready: &mut Ready<Message>);
    /// The leader this role last heard from, if it tracks one.
    fn leader(&self) -> Option<NodeId> {
        None
    }
}

impl Role for Acceptor {
    const NAME: &'static str = "acceptor";
    fn handle(&mut self, from: NodeId, msg: Message, ready: &mut Ready<Message>) {
        Acceptor::handle(self, from, msg, ready)
    }
    fn tick(&mut self, _ready: &mut Ready<Message>) {}
}

impl Role for Proposer {
    const NAME: &'static str = "proposer";
    fn handle(&mut self, from: NodeId, msg: Message, ready: &mut Ready<Message>) {
        Proposer::handle(self, from, msg, ready)
    }
    fn tick(&mut self, ready: &mut Ready<Message>) {
        Proposer::tick(self, ready)
    }
}

impl Role for Learner {
    const NAME: &'static str = "learner";
    const GATES_SEND: bool = false;
    fn handle(&mut self, from: NodeId, msg: Message, ready: &mut Ready<Message>) {
        Learner::handle(self, from, msg, ready)
    }
    fn tick(&mut self, ready: &mut Ready<Message>) {
        Learner::tick(self, ready)
    }
    fn leader(&self) -> Option<NodeId> {
        Learner::leader(self)
    }
}

/// Where a role's records go.
pub enum Persist {
    /// The role persists nothing (a learner).
    Nothing,
    /// Storage that never blocks (in memory): called inline.
    Inline(Box<dyn Durable>),
    /// Blocking storage, on its own thread with group commit.
    Thread(Arc<StorageThread>),
}

impl Persist {
    /// Picks inline or threaded by what the storage says of itself.
    pub fn for_storage(storage: Box<dyn Durable>, name: String) -> std::io::Result<Self> {
        if storage.blocks() {
            Ok(Persist::Thread(StorageThread::start(storage, name)?))
        } else {
            Ok(Persist::Inline(storage))
        }
    }
}

/// The actor around one core role.
pub struct RoleActor<R: Role> {
    role: R,
    shared: Arc<NodeShared>,
    persist: Persist,
    /// Readys waiting for a sync: `Some(ticket)` waits for that ticket,
    /// `None` only for the Readys ahead of it.
    waiting: VecDeque<(Option<u64>, Ready<Message>)>,
    next_ticket: u64,
    tick: Duration,
    mailbox_capacity: usize,
    replica: Option<Recipient<Decided>>,
    subscribers: Vec<mpsc::Sender<Vec<(Slot, Value)>>>,
    submit: Option<Arc<SubmitQueue>>,
    buf: Ready<Message>,
    /// Written-behind records not yet handed to the storage thread.
    behind: Vec<paxos_core::Record>,
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
            role,
            shared,
            persist,
            waiting: VecDeque::new(),
            next_ticket: 0,
            tick,
            mailbox_capacity,
            replica: None,
            subscribers: Vec::new(),
            submit: None,
            buf: Ready::new(),
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

    /// Carries out what the role just produced.
    fn process(&mut self, ctx: &mut Context<Self>) {
        if self.buf.is_empty() {
            return;
        }
        let mut ready = std::mem::take(&mut self.buf);
        if !R::GATES_SEND {
            let records = std::mem::take(&mut ready.persist);
            if !records.is_empty() {
                if let Err(e) = self.write_behind(records, ctx) {
                    return self.fail(e, ctx);
                }
            }
        }
        if ready.persist.is_empty() && self.waiting.is_empty() {
            return self.finish(ready);
        }
        match &mut self.persist {
            Persist::Inline(storage) => match storage.persist(std::mem::take(&mut ready.persist)) {
                Ok(()) => self.finish(ready),
                Err(e) => self.fail(e, ctx),
            },
            Persist::Thread(thread) => {
                if ready.persist.is_empty() {
                    self.waiting.push_back((None, ready));
                    return;
                }
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                let records = std::mem::take(&mut ready.persist);
                let me = ctx.address();
                let metrics = self.shared.metrics.clone();
                thread.submit(
                    records,
                    Box::new(move |result| {
                        metrics.actor_message();
                        me.do_send(Synced { ticket, result });
                    }),
                );
                self.waiting.push_back((Some(ticket), ready));
            }
            Persist::Nothing => self.fail(
                format!("{} has records to persist but no storage", R::NAME),
                ctx,
            ),
        }
    }

    /// Writes records nothing waits for (a learner's log); a failure still
    /// stops the node, through `Synced`. Blocking storage gets them at the
    /// next tick, in one job: waking the storage thread for every decided
    /// batch put a futex wake (and allocator lock contention) in front of
    /// every client reply.
    fn write_behind(
        &mut self,
        records: Vec<paxos_core::Record>,
        ctx: &mut Context<Self>,
    ) -> Result<(), String> {
        match &mut self.persist {
            Persist::Inline(storage) => storage.persist(records),
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
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let me = ctx.address();
        thread.submit_lazy(
            records,
            Box::new(move |result| {
                if result.is_err() {
                    me.do_send(Synced { ticket, result });
                }
            }),
        );
    }

    /// Sends, then delivers: everything this Ready reports is durable.
    fn finish(&mut self, ready: Ready<Message>) {
        let Ready {
            messages,
            decided,
            dropped,
            ..
        } = ready;
        for (to, msg) in messages {
            self.shared.outbox.post(to, msg);
        }
        if !decided.is_empty() {
            self.subscribers
                .retain(|s| s.try_send(decided.clone()).is_ok());
            if let Some(replica) = &self.replica {
                self.shared.metrics.actor_message();
                replica.do_send(Decided(decided));
            }
        }
        if !dropped.is_empty() {
            self.shared.reject(&dropped);
        }
    }

    /// Storage failed: stop rather than reply without durability.
    fn fail(&mut self, reason: String, ctx: &mut Context<Self>) {
        tracing::error!(node = %self.shared.id, role = R::NAME, %reason, "storage failed; stopping node");
        self.waiting.clear();
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
            act.role.tick(&mut act.buf);
            act.process(ctx);
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
        self.role.handle(m.from, m.msg, &mut self.buf);
        if let Some(leader) = self.role.leader() {
            // Where remote clients on a proposer-less node send first.
            self.shared.set_leader_hint(Some(leader));
        }
        self.process(ctx);
    }
}

impl<R: Role> Handler<Synced> for RoleActor<R> {
    type Result = ();
    fn handle(&mut self, m: Synced, ctx: &mut Context<Self>) {
        if let Err(e) = m.result {
            return self.fail(e, ctx);
        }
        while let Some((ticket, _)) = self.waiting.front() {
            if ticket.is_some_and(|t| t > m.ticket) {
                break;
            }
            if let Some((_, ready)) = self.waiting.pop_front() {
                self.finish(ready);
            }
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
        self.role.propose_batch(queue.take(), &mut self.buf);
        let leader = match self.role.status() {
            Status::Leader { .. } => Some(self.shared.id),
            Status::Follower { leader } => leader,
            Status::Candidate { .. } => None,
        };
        self.shared.set_leader_hint(leader);
        self.process(ctx);
    }
}

impl Handler<GetStatus> for RoleActor<Proposer> {
    type Result = ProposerStatus;
    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> ProposerStatus {
        ProposerStatus {
            status: self.role.status(),
            commit: self.role.commit(),
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
