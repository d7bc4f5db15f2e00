//! Switches that plant classic Paxos bugs, so tests can prove that the
//! simulator and the model checker catch them.
//!
//! [`PlantedBugs`] is plain data in every build: its fields always exist, so
//! code that sets them compiles the same way with or without the feature.
//! What the feature decides is whether the roles *read* them. Without the
//! `planted-bugs` cargo feature every switch method is a constant `false`,
//! and the sabotage branches in the roles compile away.
//!
//! Only test and simulator builds turn the feature on (`paxos-sim` enables it
//! through its `[dev-dependencies]`), so under cargo's feature resolver 2 it
//! never reaches a `cargo build` of the production binaries.
//! `scripts/check-production.sh` proves it on release builds, looking for
//! the marker bytes below, which only a build with the feature contains.

use crate::quorum::QuorumSystem;
use crate::types::NodeId;
use std::collections::BTreeSet;

/// Bytes that only a build with the `planted-bugs` feature contains, so a
/// release binary can be checked for sabotage code (`#[used]` keeps them in
/// the object file; the switches also touch them so the linker keeps them).
#[cfg(feature = "planted-bugs")]
#[used]
static MARKER: [u8; 50] = *b"paxos-core:planted-bugs:compiled-in:not-production";

/// Which bugs to plant. `PlantedBugs::default()` plants none.
///
/// Setting a field is harmless in a build without the `planted-bugs` feature:
/// nothing reads it there (see [`PlantedBugs::COMPILED_IN`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PlantedBugs {
    /// An acceptor restarts with its promise forgotten (it never persisted it).
    pub acceptor_forgets_promise: bool,
    /// A proposer proposes its own value even when promises report accepted ones.
    pub proposer_ignores_promised_values: bool,
    /// A learner (or leader) decides on one acceptor fewer than a phase-2 quorum.
    pub learner_decides_on_minority: bool,
    /// A learner (or leader) counts `Accepted` messages from different ballots together.
    pub learner_mixes_ballots: bool,
}

macro_rules! switch {
    ($name:ident) => {
        /// Whether this bug is planted: the field, with the `planted-bugs`
        /// feature; a constant `false` without it.
        #[allow(dead_code)]
        pub(crate) fn $name(&self) -> bool {
            #[cfg(feature = "planted-bugs")]
            {
                if self.$name {
                    // Touch the marker where sabotage runs, so no linker
                    // drops it from a binary that carries the switches.
                    std::hint::black_box(&MARKER);
                }
                self.$name
            }
            #[cfg(not(feature = "planted-bugs"))]
            {
                false
            }
        }
    };
}

impl PlantedBugs {
    /// Whether this build can plant bugs at all (the `planted-bugs` cargo
    /// feature). When it is `false`, setting a field has no effect: callers
    /// that mean to plant a bug should check it and refuse instead.
    pub const COMPILED_IN: bool = cfg!(feature = "planted-bugs");

    switch!(acceptor_forgets_promise);
    switch!(proposer_ignores_promised_values);
    switch!(learner_decides_on_minority);
    switch!(learner_mixes_ballots);

    /// Whether no bug is planted. Checks of what a planted bug breaks on
    /// purpose (a chosen value changing) run only then, so the simulator
    /// and model checker see the damage instead of a panic.
    pub(crate) fn none(&self) -> bool {
        *self == PlantedBugs::default()
    }

    /// Whether a learner treats `voters` as enough to decide: a phase-2
    /// quorum, or one acceptor fewer when the minority bug is planted.
    pub(crate) fn decides(&self, quorum: &QuorumSystem, voters: &BTreeSet<NodeId>) -> bool {
        if self.learner_decides_on_minority() {
            quorum.count(voters) + 1 >= quorum.phase2_size()
        } else {
            quorum.is_phase2_quorum(voters)
        }
    }
}
