//! The wire format: frames, the handshake, and message encoding.
//!
//! Every frame is a `u32` big-endian length followed by that many bytes
//! (tokio-util's [`LengthDelimitedCodec`]). The codec rejects a length above
//! `frame_len_max` as soon as it has read the 4-byte prefix, before it
//! reserves any buffer for the body; before the handshake succeeds the
//! acceptor allows only [`REPLY_LEN`] (a hello is one byte shorter), so a stranger cannot make it buffer
//! a large frame.
//!
//! A connection carries, in order:
//! 1. dialer → acceptor: a [`Hello`] frame (22 bytes, fixed layout);
//! 2. acceptor → dialer: a [`HelloReply`] frame (23 bytes) with a [`Verdict`];
//! 3. dialer → acceptor only: message frames, each an rmp-serde encoding of
//!    one `M` (msgpack arrays, not maps: smaller and faster).
//!
//! The hello layout is fixed (not serde) and starts with magic and version,
//! so every future version can still read it and refuse with `BadVersion`.

use crate::error::Error;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use paxos_core::NodeId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use tokio_util::codec::{Decoder, LengthDelimitedCodec};

/// First bytes of every hello: "PaXos Tcp".
pub const MAGIC: [u8; 4] = *b"PXTC";
/// Version of this wire format; both ends must use the same.
pub const PROTOCOL_VERSION: u16 = 1;
/// Length of an encoded [`Hello`].
pub const HELLO_LEN: usize = 4 + 2 + 8 + 8;
/// Length of an encoded [`HelloReply`].
pub const REPLY_LEN: usize = HELLO_LEN + 1;

/// The length-prefixed framing both directions use.
pub fn codec(frame_len_max: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_type::<u32>()
        .big_endian()
        .max_frame_length(frame_len_max)
        .new_codec()
}

/// Who is speaking: sent by the dialer, echoed (with the acceptor's own
/// identity) in the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Must be [`MAGIC`].
    pub magic: [u8; 4],
    /// Must be [`PROTOCOL_VERSION`].
    pub version: u16,
    /// The sender's cluster id.
    pub cluster: u64,
    /// The sender's node id.
    pub node: NodeId,
}

impl Hello {
    /// A hello for this version.
    pub fn new(cluster: u64, node: NodeId) -> Self {
        Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
            cluster,
            node,
        }
    }

    fn put(&self, buf: &mut BytesMut) {
        buf.put_slice(&self.magic);
        buf.put_u16(self.version);
        buf.put_u64(self.cluster);
        buf.put_u64(self.node.0);
    }

    fn get(mut bytes: &[u8]) -> Self {
        let mut magic = [0u8; 4];
        bytes.copy_to_slice(&mut magic);
        Hello {
            magic,
            version: bytes.get_u16(),
            cluster: bytes.get_u64(),
            node: NodeId(bytes.get_u64()),
        }
    }

    /// The frame payload (without the length prefix).
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(HELLO_LEN);
        self.put(&mut buf);
        buf.freeze()
    }

    /// Reads a hello payload; only its length can be wrong here, the
    /// fields are judged by [`Hello::verdict`].
    pub fn decode(payload: &[u8]) -> Result<Self, Error> {
        if payload.len() != HELLO_LEN {
            return Err(Error::HandshakeLength {
                what: "hello",
                len: payload.len(),
                expected: HELLO_LEN,
            });
        }
        Ok(Hello::get(payload))
    }

    /// What an acceptor in `cluster` answers; `known` says whether a node
    /// id may connect. Checked in wire order, so the first mismatch is named.
    pub fn verdict(&self, cluster: u64, known: impl Fn(NodeId) -> bool) -> Verdict {
        if self.magic != MAGIC {
            Verdict::BadMagic
        } else if self.version != PROTOCOL_VERSION {
            Verdict::BadVersion
        } else if self.cluster != cluster {
            Verdict::WrongCluster
        } else if !known(self.node) {
            Verdict::UnknownNode
        } else {
            Verdict::Accept
        }
    }
}

/// The acceptor's answer to a hello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Verdict {
    /// Accepted: message frames may follow.
    Accept = 0,
    /// The hello did not start with [`MAGIC`].
    BadMagic = 1,
    /// Another [`PROTOCOL_VERSION`].
    BadVersion = 2,
    /// Another cluster id.
    WrongCluster = 3,
    /// A node id that is not a configured peer of the acceptor.
    UnknownNode = 4,
    /// The acceptor has `conns_in_max` connections open.
    Busy = 5,
}

impl Verdict {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0 => Verdict::Accept,
            1 => Verdict::BadMagic,
            2 => Verdict::BadVersion,
            3 => Verdict::WrongCluster,
            4 => Verdict::UnknownNode,
            5 => Verdict::Busy,
            _ => return None,
        })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Accept => "accepted",
            Verdict::BadMagic => "magic mismatch",
            Verdict::BadVersion => "protocol version mismatch",
            Verdict::WrongCluster => "cluster id mismatch",
            Verdict::UnknownNode => "unknown node id",
            Verdict::Busy => "too many inbound connections",
        })
    }
}

/// The acceptor's identity and its verdict on the dialer's hello.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HelloReply {
    /// The acceptor's own hello, so the dialer can check it reached the
    /// node (and cluster) it meant to.
    pub hello: Hello,
    /// Accepted or why not.
    pub verdict: Verdict,
}

impl HelloReply {
    /// The frame payload (without the length prefix).
    pub fn encode(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(REPLY_LEN);
        self.hello.put(&mut buf);
        buf.put_u8(self.verdict as u8);
        buf.freeze()
    }

    /// Reads a reply payload.
    pub fn decode(payload: &[u8]) -> Result<Self, Error> {
        if payload.len() != REPLY_LEN {
            return Err(Error::HandshakeLength {
                what: "hello reply",
                len: payload.len(),
                expected: REPLY_LEN,
            });
        }
        let hello = Hello::get(&payload[..HELLO_LEN]);
        let verdict = Verdict::from_u8(payload[HELLO_LEN])
            .ok_or(Error::UnknownVerdict(payload[HELLO_LEN]))?;
        Ok(HelloReply { hello, verdict })
    }
}

/// Encodes one message as a frame payload, refusing one longer than
/// `frame_len_max` (the receiver would close the connection on it).
pub fn encode_message<M: Serialize>(msg: &M, frame_len_max: usize) -> Result<Bytes, Error> {
    let bytes = rmp_serde::to_vec(msg).map_err(Error::Encode)?;
    if bytes.len() > frame_len_max {
        return Err(Error::FrameTooLarge {
            len: bytes.len(),
            max: frame_len_max,
        });
    }
    Ok(Bytes::from(bytes))
}

/// Decodes one frame payload. rmp-serde reads from the slice (a length
/// inside the payload cannot make it allocate beyond the payload) and
/// limits nesting depth, so no input panics or overflows the stack.
pub fn decode_message<M: DeserializeOwned>(payload: &[u8]) -> Result<M, Error> {
    rmp_serde::from_slice(payload).map_err(Error::Decode)
}

/// Decodes a whole byte stream of message frames as a connection's reader
/// does after the handshake: the codec, then [`decode_message`] per frame,
/// then end of stream (a partial frame left over is an error). For tests
/// and fuzzing; the reader runs the same two functions.
pub fn decode_frames<M: DeserializeOwned>(
    bytes: &[u8],
    frame_len_max: usize,
) -> Result<Vec<M>, Error> {
    let mut codec = codec(frame_len_max);
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(frame) = codec.decode(&mut buf).map_err(Error::Frame)? {
        out.push(decode_message(&frame)?);
    }
    if let Some(frame) = codec.decode_eof(&mut buf).map_err(Error::Frame)? {
        out.push(decode_message(&frame)?);
    }
    Ok(out)
}

/// Prefixes `payload` with its length, as the codec does (for writers that
/// batch frames into one buffer, and for tests that craft raw bytes).
pub fn put_frame(buf: &mut BytesMut, payload: &[u8]) {
    // Callers checked payload.len() <= frame_len_max <= u32::MAX.
    buf.reserve(4 + payload.len());
    buf.put_u32(payload.len() as u32);
    buf.put_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_and_reply_round_trip() {
        let hello = Hello::new(7, NodeId(3));
        assert_eq!(Hello::decode(&hello.encode()).unwrap(), hello);
        let reply = HelloReply {
            hello,
            verdict: Verdict::WrongCluster,
        };
        assert_eq!(HelloReply::decode(&reply.encode()).unwrap(), reply);
    }

    #[test]
    fn verdict_names_the_first_mismatch() {
        let known = |n: NodeId| n == NodeId(3);
        let ok = Hello::new(7, NodeId(3));
        assert_eq!(ok.verdict(7, known), Verdict::Accept);
        assert_eq!(
            Hello {
                magic: *b"HTTP",
                ..ok
            }
            .verdict(7, known),
            Verdict::BadMagic
        );
        assert_eq!(
            Hello { version: 9, ..ok }.verdict(7, known),
            Verdict::BadVersion
        );
        assert_eq!(ok.verdict(8, known), Verdict::WrongCluster);
        assert_eq!(
            Hello::new(7, NodeId(4)).verdict(7, known),
            Verdict::UnknownNode
        );
    }

    #[test]
    fn decode_frames_rejects_an_oversized_length_before_reading_the_body() {
        let mut buf = BytesMut::new();
        buf.put_u32(1 << 30);
        let err = decode_frames::<u32>(&buf, 1024).unwrap_err();
        assert!(matches!(err, Error::Frame(_)), "{err}");
    }

    #[test]
    fn decode_frames_rejects_a_truncated_frame() {
        let mut buf = BytesMut::new();
        put_frame(&mut buf, &encode_message(&5u32, 64).unwrap());
        buf.put_u32(10);
        buf.put_slice(b"abc");
        assert!(matches!(
            decode_frames::<u32>(&buf, 64),
            Err(Error::Frame(_))
        ));
    }

    #[test]
    fn handshake_and_decode_errors_say_what_is_wrong_and_keep_their_source() {
        let err = HelloReply::decode(&[0; 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("handshake failed: hello reply is 3 bytes, expected {REPLY_LEN}")
        );
        let mut bad = HelloReply {
            hello: Hello::new(7, NodeId(3)),
            verdict: Verdict::Accept,
        }
        .encode()
        .to_vec();
        bad[HELLO_LEN] = 200;
        assert!(matches!(
            HelloReply::decode(&bad),
            Err(Error::UnknownVerdict(200))
        ));
        let err = decode_message::<u32>(b"\xc1").unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{err}");
        assert!(std::error::Error::source(&err).is_some(), "{err:?}");
    }

    #[test]
    fn encode_refuses_a_message_above_frame_len_max() {
        let err = encode_message(&vec![0u8; 100], 64).unwrap_err();
        assert!(matches!(err, Error::FrameTooLarge { max: 64, .. }), "{err}");
    }
}
