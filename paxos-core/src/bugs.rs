//! Switches that plant classic Paxos bugs, so tests can prove that the
//! simulator and the model checker catch them.
//!
//! The fields exist only with the `planted-bugs` cargo feature; without it
//! every switch reads as off and the checks compile away.

use crate::quorum::QuorumSystem;
use crate::types::NodeId;
use std::collections::BTreeSet;

/// Which bugs to plant. `PlantedBugs::default()` plants none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PlantedBugs {
    /// An acceptor restarts with its promise forgotten (it never persisted it).
    #[cfg(feature = "planted-bugs")]
    pub acceptor_forgets_promise: bool,
    /// A proposer proposes its own value even when promises report accepted ones.
    #[cfg(feature = "planted-bugs")]
    pub proposer_ignores_promised_values: bool,
    /// A learner (or leader) decides on one acceptor fewer than a phase-2 quorum.
    #[cfg(feature = "planted-bugs")]
    pub learner_decides_on_minority: bool,
    /// A learner (or leader) counts `Accepted` messages from different ballots together.
    #[cfg(feature = "planted-bugs")]
    pub learner_mixes_ballots: bool,
}

macro_rules! switch {
    ($name:ident) => {
        #[allow(dead_code)]
        pub(crate) fn $name(&self) -> bool {
            #[cfg(feature = "planted-bugs")]
            {
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
