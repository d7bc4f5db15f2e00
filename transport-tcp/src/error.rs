//! The crate's one error type.

use paxos_core::NodeId;
use std::net::SocketAddr;

/// What went wrong. From `TcpTransport::send` ([`paxos_core::Transport`]) every variant means
/// the message was lost; Paxos treats that as network loss.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration field cannot work; `reason` says why.
    #[error("invalid config: {field} {reason}")]
    Config {
        /// The field at fault.
        field: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// `to` is neither this node nor one of its configured peers.
    #[error("node {0} is not a configured peer")]
    UnknownPeer(NodeId),
    /// The peer's bounded send queue is full; this message was dropped
    /// (messages already queued are kept).
    #[error("send queue to {0} is full; message dropped")]
    QueueFull(NodeId),
    /// The message encodes to more than `frame_len_max` bytes; it was not queued.
    #[error("message encodes to {len} bytes, more than frame_len_max {max}")]
    FrameTooLarge {
        /// Encoded length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The message could not be serialized.
    #[error("cannot encode message: {0}")]
    Encode(#[source] rmp_serde::encode::Error),
    /// A frame's payload is not a valid message.
    #[error("cannot decode frame: {0}")]
    Decode(#[source] rmp_serde::decode::Error),
    /// The byte stream is not a valid sequence of frames (oversized length
    /// prefix, truncated frame, IO failure).
    #[error("bad frame stream: {0}")]
    Frame(#[source] std::io::Error),
    /// A hello or hello reply frame has the wrong length (the other end is
    /// not this transport, or speaks another layout).
    #[error("handshake failed: {what} is {len} bytes, expected {expected}")]
    HandshakeLength {
        /// "hello" or "hello reply".
        what: &'static str,
        /// The frame's payload length.
        len: usize,
        /// The length this version sends.
        expected: usize,
    },
    /// A hello reply carries a verdict byte this build does not know.
    #[error("handshake failed: unknown verdict {0}")]
    UnknownVerdict(u8),
    /// The transport was shut down.
    #[error("transport is shut down")]
    Closed,
    /// [`crate::LateInbox::set`] was called twice.
    #[error("the late inbox is already set")]
    InboxAlreadySet,
}
