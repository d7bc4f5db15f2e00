//! Durable file storage for `paxos-core` (work in progress).
