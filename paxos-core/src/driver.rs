//! Where roles live on a node, which role a message is for, and the one
//! driver loop every host (the actors, the simulator, tests) runs a role
//! through.

use crate::pipeline::{Persisted, Pipeline, Step};
use crate::ready::Ready;
use crate::traits::Storage;
use crate::types::NodeId;
use crate::{basic, multi};

/// One of the three Paxos roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleKind {
    /// Proposes values; in Multi-Paxos, the leader candidate.
    Proposer,
    /// Votes: promises and accepts.
    Acceptor,
    /// Learns chosen values and delivers them in order.
    Learner,
}

impl RoleKind {
    /// Every role, in routing order: a message for several roles reaches
    /// the learner first, then the proposer, then the acceptor.
    pub const ALL: [RoleKind; 3] = [RoleKind::Learner, RoleKind::Proposer, RoleKind::Acceptor];

    /// The role's name, for logs.
    pub fn name(self) -> &'static str {
        match self {
            RoleKind::Proposer => "proposer",
            RoleKind::Acceptor => "acceptor",
            RoleKind::Learner => "learner",
        }
    }
}

/// Which roles a node hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Roles {
    /// Hosts a proposer (may lead).
    pub proposer: bool,
    /// Hosts an acceptor (votes).
    pub acceptor: bool,
    /// Hosts a learner (and, in Multi-Paxos, a replica).
    pub learner: bool,
}

impl Roles {
    /// Every role: the usual layout.
    pub const ALL: Roles = Roles {
        proposer: true,
        acceptor: true,
        learner: true,
    };
    /// A proposer only.
    pub const PROPOSER: Roles = Roles {
        proposer: true,
        acceptor: false,
        learner: false,
    };
    /// An acceptor only.
    pub const ACCEPTOR: Roles = Roles {
        proposer: false,
        acceptor: true,
        learner: false,
    };
    /// A learner only.
    pub const LEARNER: Roles = Roles {
        proposer: false,
        acceptor: false,
        learner: true,
    };

    /// Whether the node hosts `kind`.
    pub fn hosts(self, kind: RoleKind) -> bool {
        match kind {
            RoleKind::Proposer => self.proposer,
            RoleKind::Acceptor => self.acceptor,
            RoleKind::Learner => self.learner,
        }
    }

    /// The roles on this node that handle `msg`, in routing order.
    pub fn route<M: Routed>(self, msg: &M) -> Route {
        let mut route = Route { left: [None; 3] };
        for (slot, kind) in route.left.iter_mut().zip(RoleKind::ALL) {
            if self.hosts(kind) && msg.for_role(kind) {
                *slot = Some(kind);
            }
        }
        route
    }
}

/// The roles a message goes to, in routing order (see [`Roles::route`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    left: [Option<RoleKind>; 3],
}

impl Iterator for Route {
    type Item = RoleKind;
    fn next(&mut self) -> Option<RoleKind> {
        self.left.iter_mut().find_map(Option::take)
    }
}

/// A message that names the roles it is for.
pub trait Routed {
    /// Whether a role of `kind` handles this message.
    fn for_role(&self, kind: RoleKind) -> bool;
}

impl Routed for multi::Message {
    fn for_role(&self, kind: RoleKind) -> bool {
        match kind {
            RoleKind::Proposer => self.for_proposer(),
            RoleKind::Acceptor => self.for_acceptor(),
            RoleKind::Learner => self.for_learner(),
        }
    }
}

impl Routed for basic::Message {
    fn for_role(&self, kind: RoleKind) -> bool {
        match kind {
            RoleKind::Proposer => self.for_proposer(),
            RoleKind::Acceptor => self.for_acceptor(),
            RoleKind::Learner => self.for_learner(),
        }
    }
}

/// A role a [`Driver`] can run: messages and ticks in, effects out.
pub trait Role<M> {
    /// Which role this is.
    const KIND: RoleKind;
    /// Feeds one protocol message.
    fn handle(&mut self, from: NodeId, msg: M, ready: &mut Ready<M>);
    /// Feeds one tick of logical time.
    fn tick(&mut self, ready: &mut Ready<M>);
}

macro_rules! role {
    ($module:ident, $role:ident, $kind:ident, $tick:expr) => {
        impl Role<$module::Message> for $module::$role {
            const KIND: RoleKind = RoleKind::$kind;
            fn handle(
                &mut self,
                from: NodeId,
                msg: $module::Message,
                ready: &mut Ready<$module::Message>,
            ) {
                $module::$role::handle(self, from, msg, ready)
            }
            fn tick(&mut self, ready: &mut Ready<$module::Message>) {
                let tick: fn(&mut Self, &mut Ready<$module::Message>) = $tick;
                tick(self, ready)
            }
        }
    };
}

role!(multi, Proposer, Proposer, |r, ready| r.tick(ready));
role!(multi, Acceptor, Acceptor, |_, _| {});
role!(multi, Learner, Learner, |r, ready| r.tick(ready));
role!(basic, Proposer, Proposer, |r, ready| r.tick(ready));
role!(basic, Acceptor, Acceptor, |_, _| {});
role!(basic, Learner, Learner, |r, ready| r.tick(ready));

/// One role and its pipeline: every input goes through here, and every
/// effect comes out as a [`Step`] in the order the pipeline allows.
#[derive(Debug)]
pub struct Driver<R, M> {
    role: R,
    pipeline: Pipeline<M>,
    ready: Ready<M>,
}

impl<R: Role<M>, M> Driver<R, M> {
    /// Drives `role`, with nothing outstanding.
    pub fn new(role: R) -> Self {
        Driver {
            role,
            pipeline: Pipeline::new(),
            ready: Ready::new(),
        }
    }

    /// The role, to inspect.
    pub fn role(&self) -> &R {
        &self.role
    }

    /// The pipeline, to inspect.
    pub fn pipeline(&self) -> &Pipeline<M> {
        &self.pipeline
    }

    /// Feeds one message.
    pub fn handle(&mut self, from: NodeId, msg: M) -> Step<M> {
        self.role.handle(from, msg, &mut self.ready);
        self.pipeline.take(&mut self.ready)
    }

    /// Feeds one tick.
    pub fn tick(&mut self) -> Step<M> {
        self.role.tick(&mut self.ready);
        self.pipeline.take(&mut self.ready)
    }

    /// Any other input (a client command, a status change): `f` gets the
    /// role and the Ready to fill.
    pub fn input(&mut self, f: impl FnOnce(&mut R, &mut Ready<M>)) -> Step<M> {
        f(&mut self.role, &mut self.ready);
        self.pipeline.take(&mut self.ready)
    }

    /// A job is durable: the messages it held may leave, in order.
    pub fn persisted(&mut self, proof: Persisted) -> Vec<(NodeId, M)> {
        self.pipeline.persisted(proof)
    }

    /// As [`Driver::input`], carried out at once against storage that does
    /// not block (see [`Pipeline::run_inline`]).
    pub fn input_inline<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        f: impl FnOnce(&mut R, &mut Ready<M>),
    ) -> Result<Step<M>, S::Error> {
        f(&mut self.role, &mut self.ready);
        self.pipeline.run_inline(&mut self.ready, storage)
    }
}
