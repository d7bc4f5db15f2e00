//! Integration tests of `transport-tcp`, compiled into one binary.
//!
//! Goal: pin the transport's documented behaviour over real loopback
//! sockets — delivery both ways, reconnect, handshake refusals, bad input
//! closing only its own connection, bounded queues, clean shutdown — and
//! fuzz the frame decoder.
//!
//! Method: every node binds 127.0.0.1 port 0 (ephemeral ports only; a
//! listener is bound before the configs that name it are written). Tests
//! wait on events — a message arriving on an inbox channel, a counter
//! reaching a value via `wait_stats` — never on sleeps; timeouts are only
//! failure deadlines. Set `RUST_LOG=transport_tcp=debug` to see the logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bench;
mod exchange;
mod fuzz;
mod handshake;
mod limits;
mod reconnect;
mod robustness;
mod shutdown;
mod support;
