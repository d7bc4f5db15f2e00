//! Goal: no byte sequence makes the frame decoder (length-delimited codec,
//! then rmp-serde into `multi::Message`) or the handshake decoders panic,
//! overflow the stack, or allocate past the frame bound.
//! Method: proptest over arbitrary streams, arbitrary payloads inside
//! well-formed frames, and valid encodings with random byte edits; plus a
//! round-trip property and a deliberately deep nesting. Cases per property
//! come from `TCP_FUZZ_CASES` (default 2,000), e.g.
//! `TCP_FUZZ_CASES=1000000 cargo test --release -p transport-tcp --test tcp fuzz`.

use crate::support::paxos_messages;
use bytes::BytesMut;
use paxos_core::multi::Message;
use proptest::collection::vec;
use proptest::prelude::*;
use transport_tcp::frame::{decode_frames, encode_message, put_frame, Hello, HelloReply};

const FRAME_LEN_MAX: usize = 4096;

fn cases() -> u32 {
    std::env::var("TCP_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn framed(payloads: &[Vec<u8>]) -> BytesMut {
    let mut buf = BytesMut::new();
    for p in payloads {
        put_frame(&mut buf, p);
    }
    buf
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic_the_frame_decoder(bytes in vec(any::<u8>(), 0..512)) {
        let _ = decode_frames::<Message>(&bytes, FRAME_LEN_MAX);
    }

    #[test]
    fn arbitrary_payloads_in_well_formed_frames_never_panic_the_message_decoder(
        payloads in vec(vec(any::<u8>(), 0..128), 0..6),
    ) {
        let _ = decode_frames::<Message>(&framed(&payloads), FRAME_LEN_MAX);
    }

    #[test]
    fn edited_valid_encodings_never_panic_the_decoder(
        tag in 0u64..1000,
        which in 0usize..9,
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut payload = encode_message(&paxos_messages(tag)[which], FRAME_LEN_MAX).unwrap().to_vec();
        for (at, byte) in edits {
            let i = at.index(payload.len());
            payload[i] = byte;
        }
        let _ = decode_frames::<Message>(&framed(std::slice::from_ref(&payload)), FRAME_LEN_MAX);
        // The same frame cut short anywhere: a truncated stream.
        let whole = framed(&[payload]);
        let _ = decode_frames::<Message>(&whole[..cut.index(whole.len())], FRAME_LEN_MAX);
    }

    #[test]
    fn arbitrary_handshake_payloads_never_panic(bytes in vec(any::<u8>(), 0..40)) {
        let _ = Hello::decode(&bytes);
        let _ = HelloReply::decode(&bytes);
    }

    #[test]
    fn every_message_survives_encode_and_decode(tag in any::<u64>()) {
        let msgs = paxos_messages(tag);
        let payloads: Vec<Vec<u8>> = msgs
            .iter()
            .map(|m| encode_message(m, FRAME_LEN_MAX).unwrap().to_vec())
            .collect();
        prop_assert_eq!(decode_frames::<Message>(&framed(&payloads), FRAME_LEN_MAX).unwrap(), msgs);
    }
}

#[test]
fn a_deeply_nested_payload_is_an_error_not_a_stack_overflow() {
    // {"Promise": [[[[...]]]]}: nesting far past rmp-serde's depth limit.
    let mut payload = vec![0x81, 0xa7];
    payload.extend_from_slice(b"Promise");
    payload.extend(std::iter::repeat_n(0x91, 1 << 20));
    payload.push(0xc0);
    let r = decode_frames::<Message>(&framed(&[payload]), 2 << 20);
    assert!(r.is_err());
}
