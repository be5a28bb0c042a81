//! RFC 7692 §7.2.3 vectors and round trips for `PerMessageDeflate`.
#![cfg(feature = "deflate")]

use bytes::BytesMut;
use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
use socketwire::ws::extension::PerMessageExtension;
use socketwire::ws::{CloseCode, ProtocolError, Role};

const LIMIT: u64 = 16 << 20;

fn pair(params: DeflateParams) -> (PerMessageDeflate, PerMessageDeflate) {
    let config = DeflateConfig::default();
    (
        PerMessageDeflate::new(Role::Server, params, &config),
        PerMessageDeflate::new(Role::Client, params, &config),
    )
}

fn encode(ext: &mut PerMessageDeflate, message: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    ext.encode(message, true, &mut out);
    out.to_vec()
}

fn decode(ext: &mut PerMessageDeflate, payload: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let mut out = BytesMut::new();
    ext.decode(payload, true, &mut out, LIMIT)?;
    Ok(out.to_vec())
}

fn decode_frames(ext: &mut PerMessageDeflate, frames: &[&[u8]]) -> Result<Vec<u8>, ProtocolError> {
    let mut out = BytesMut::new();
    for (i, frame) in frames.iter().enumerate() {
        ext.decode(frame, i + 1 == frames.len(), &mut out, LIMIT)?;
    }
    Ok(out.to_vec())
}

/// A JSON-ish, compressible text of about `len` bytes.
fn sample(len: usize, seed: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut i = seed;
    while out.len() < len {
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        out.extend_from_slice(
            format!(
                "{{\"id\":{},\"name\":\"user{}\",\"ok\":{}}},",
                i % 10_000,
                i % 97,
                i.is_multiple_of(2)
            )
            .as_bytes(),
        );
    }
    out.truncate(len);
    out
}

#[test]
fn rfc7692_7_2_3_1_hello_compressed() {
    let (mut server, mut client) = pair(DeflateParams::default());
    assert_eq!(
        encode(&mut server, b"Hello"),
        [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
    assert_eq!(
        decode(&mut client, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
        b"Hello"
    );
}

#[test]
fn rfc7692_7_2_3_1_hello_fragmented() {
    // "41 03 f2 48 cd" then "80 04 c9 c9 07 00".
    let (_, mut client) = pair(DeflateParams::default());
    let frames: [&[u8]; 2] = [&[0xf2, 0x48, 0xcd], &[0xc9, 0xc9, 0x07, 0x00]];
    assert_eq!(decode_frames(&mut client, &frames).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_2_sharing_the_window() {
    let (mut server, mut client) = pair(DeflateParams::default());
    assert_eq!(
        encode(&mut server, b"Hello"),
        [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
    assert_eq!(
        encode(&mut server, b"Hello"),
        [0xf2, 0x00, 0x11, 0x00, 0x00]
    );
    assert_eq!(
        decode(&mut client, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
        b"Hello"
    );
    assert_eq!(
        decode(&mut client, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
        b"Hello"
    );
}

#[test]
fn no_context_takeover_repeats_the_first_encoding() {
    let params = DeflateParams {
        server_no_context_takeover: true,
        ..Default::default()
    };
    let (mut server, mut client) = pair(params);
    for _ in 0..3 {
        let wire = encode(&mut server, b"Hello");
        assert_eq!(wire, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        assert_eq!(decode(&mut client, &wire).unwrap(), b"Hello");
    }
}

#[test]
fn peer_no_context_takeover_resets_our_decompressor() {
    // The server said it resets; a message that (wrongly) refers back must fail.
    let params = DeflateParams {
        server_no_context_takeover: true,
        ..Default::default()
    };
    let (_, mut client) = pair(params);
    assert_eq!(
        decode(&mut client, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
        b"Hello"
    );
    assert_eq!(
        decode(&mut client, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
        Err(ProtocolError::InvalidCompressedData)
    );
}

#[test]
fn rfc7692_7_2_3_3_stored_block() {
    let (_, mut client) = pair(DeflateParams::default());
    let payload = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    assert_eq!(decode(&mut client, &payload).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_4_bfinal_block_then_next_message() {
    let (_, mut client) = pair(DeflateParams::default());
    let payload = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    assert_eq!(decode(&mut client, &payload).unwrap(), b"Hello");
    // The stream ended; the next message starts a new one.
    assert_eq!(
        decode(&mut client, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
        b"Hello"
    );
}

#[test]
fn rfc7692_7_2_3_5_two_blocks() {
    let (_, mut client) = pair(DeflateParams::default());
    let payload = [
        0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(decode(&mut client, &payload).unwrap(), b"Hello");
}

#[test]
fn rfc7692_7_2_3_6_empty_message() {
    let (mut server, mut client) = pair(DeflateParams::default());
    assert_eq!(decode(&mut client, &[0x00]).unwrap(), b"");
    assert_eq!(decode(&mut client, &[0x02, 0x00]).unwrap(), b"");
    // Our encoding of an empty message, right after another message and first.
    let first = encode(&mut server, b"");
    assert_eq!(decode(&mut client, &first).unwrap(), b"");
    let wire = encode(&mut server, b"Hello");
    assert_eq!(decode(&mut client, &wire).unwrap(), b"Hello");
    let empty = encode(&mut server, b"");
    assert!(!empty.is_empty());
    assert_eq!(decode(&mut client, &empty).unwrap(), b"");
    let wire = encode(&mut server, b"Hello");
    assert_eq!(decode(&mut client, &wire).unwrap(), b"Hello");
}

#[test]
fn invalid_data_is_a_protocol_error() {
    let (_, mut client) = pair(DeflateParams::default());
    // BTYPE = 11 is reserved.
    let err = decode(&mut client, &[0xff, 0xff, 0xff]).unwrap_err();
    assert_eq!(err, ProtocolError::InvalidCompressedData);
    assert_eq!(err.close_code(), CloseCode::PROTOCOL_ERROR);
    // The state is reset afterwards; a valid message still decodes.
    assert_eq!(
        decode(&mut client, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
        b"Hello"
    );
}

#[test]
fn too_big_fails_with_1009() {
    let (mut server, mut client) = pair(DeflateParams::default());
    let wire = encode(&mut server, &vec![b'a'; 100_000]);
    let mut out = BytesMut::new();
    let err = client.decode(&wire, true, &mut out, 50_000).unwrap_err();
    assert!(matches!(
        err,
        ProtocolError::MessageTooBig { max: 50_000, .. }
    ));
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
    assert!(out.len() <= 50_000);
    // Exactly at the limit is fine.
    let (mut server, mut client) = pair(DeflateParams::default());
    let wire = encode(&mut server, &vec![b'a'; 50_000]);
    let mut out = BytesMut::new();
    client.decode(&wire, true, &mut out, 50_000).unwrap();
    assert_eq!(out.len(), 50_000);
}

#[test]
fn limit_counts_earlier_frames_of_the_message() {
    let (mut server, mut client) = pair(DeflateParams::default());
    let wire = encode(&mut server, &vec![b'z'; 3000]);
    let mut out = BytesMut::from(&[0u8; 1000][..]);
    let err = client.decode(&wire, true, &mut out, 3500).unwrap_err();
    assert!(matches!(err, ProtocolError::MessageTooBig { .. }));
}

#[test]
fn round_trip_fragmented_sends() {
    for takeover_off in [false, true] {
        let params = DeflateParams {
            server_no_context_takeover: takeover_off,
            client_no_context_takeover: takeover_off,
            ..Default::default()
        };
        let (mut server, mut client) = pair(params);
        for round in 0..4u32 {
            let message = sample(20_000 + round as usize * 777, round);
            // Send in frames of 1000 bytes, receive the frames one by one.
            let mut frames = Vec::new();
            let chunks: Vec<&[u8]> = message.chunks(1000).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                let mut frame = BytesMut::new();
                server.encode(chunk, i + 1 == chunks.len(), &mut frame);
                frames.push(frame.to_vec());
            }
            let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
            assert!(decode_frames(&mut client, &refs).unwrap() == message);
            // And the other direction, whole.
            let wire = encode(&mut client, &message);
            assert!(decode(&mut server, &wire).unwrap() == message);
        }
    }
}

#[test]
fn context_takeover_shrinks_repeated_messages() {
    let message = sample(2000, 7);
    let (mut keep, _) = pair(DeflateParams::default());
    let (mut reset, _) = pair(DeflateParams {
        server_no_context_takeover: true,
        ..Default::default()
    });
    let first = encode(&mut keep, &message);
    let second = encode(&mut keep, &message);
    assert!(
        second.len() * 4 < first.len(),
        "{} vs {}",
        second.len(),
        first.len()
    );
    let a = encode(&mut reset, &message);
    let b = encode(&mut reset, &message);
    assert_eq!(a, b);
}

#[test]
fn round_trip_every_window_size() {
    for bits in 8..=15u8 {
        for takeover_off in [false, true] {
            let params = DeflateParams {
                server_no_context_takeover: takeover_off,
                client_no_context_takeover: takeover_off,
                server_max_window_bits: Some(bits),
                client_max_window_bits: Some(bits),
            };
            let (mut server, mut client) = pair(params);
            for round in 0..3u32 {
                let message = sample(70_000, round + u32::from(bits));
                let wire = encode(&mut server, &message);
                assert!(
                    decode(&mut client, &wire).unwrap() == message,
                    "bits {bits}"
                );
                let wire = encode(&mut client, &message);
                assert!(
                    decode(&mut server, &wire).unwrap() == message,
                    "bits {bits}"
                );
            }
        }
    }
}

#[test]
fn window_larger_than_agreed_is_tolerated() {
    // The server says it compresses with 9 bits but uses 15. zlib-rs keeps a
    // 32 KiB inflate window whatever the window bits, so such back-references
    // still resolve: we are lenient here (memory use is the same either way).
    let big = DeflateParams::default();
    let small = DeflateParams {
        server_max_window_bits: Some(9),
        ..Default::default()
    };
    let (mut server, _) = pair(big);
    let (_, mut client) = pair(small);
    // Incompressible halves: the only matches are 12 000 bytes back.
    let mut state = 0x1234_5678u32;
    let half: Vec<u8> = (0..12_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    let mut message = half.clone();
    message.extend_from_slice(&half);
    let wire = encode(&mut server, &message);
    assert!(
        wire.len() < 13_000,
        "the second half is one long back-reference"
    );
    assert!(decode(&mut client, &wire).unwrap() == message);
}

#[test]
fn threshold() {
    let config = DeflateConfig {
        compress_threshold: 100,
        ..DeflateConfig::default()
    };
    let ext = PerMessageDeflate::new(Role::Server, DeflateParams::default(), &config);
    assert!(!ext.should_encode(99));
    assert!(ext.should_encode(100));
}
