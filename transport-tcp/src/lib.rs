//! TCP transport for `paxos-core` (work in progress).
