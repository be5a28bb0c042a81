//! Property tests: round trip under random fragmentation, and chunking
//! invariance of the decoder (one piece vs frame-split).
#![cfg(feature = "deflate")]

use bytes::BytesMut;
use proptest::prelude::*;
use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
use socketwire::ws::extension::PerMessageExtension;
use socketwire::ws::{ProtocolError, Role};

fn params() -> impl Strategy<Value = DeflateParams> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(8u8..=15),
        proptest::option::of(8u8..=15),
    )
        .prop_map(
            |(
                server_no_context_takeover,
                client_no_context_takeover,
                server_max_window_bits,
                client_max_window_bits,
            )| {
                DeflateParams {
                    server_no_context_takeover,
                    client_no_context_takeover,
                    server_max_window_bits,
                    client_max_window_bits,
                }
            },
        )
}

/// Messages that compress (repeated runs from a small alphabet) or not (bytes).
fn message() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..3000),
        proptest::collection::vec((0u8..4, 1usize..200), 0..60).prop_map(|runs| {
            runs.into_iter()
                .flat_map(|(b, n)| std::iter::repeat_n(b"abcd"[usize::from(b)], n))
                .collect()
        }),
    ]
}

/// Splits `data` at the given cut fractions.
fn split<'a>(data: &'a [u8], cuts: &[u16]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) * data.len() / 1000)
        .collect();
    points.sort_unstable();
    let mut pieces = Vec::new();
    let mut start = 0;
    for p in points {
        pieces.push(&data[start..p]);
        start = p;
    }
    pieces.push(&data[start..]);
    pieces
}

fn decode_pieces(
    ext: &mut PerMessageDeflate,
    pieces: &[&[u8]],
    max_out: u64,
) -> Result<Vec<u8>, ProtocolError> {
    let mut out = BytesMut::new();
    for (i, piece) in pieces.iter().enumerate() {
        ext.decode(piece, i + 1 == pieces.len(), &mut out, max_out)?;
        assert!(out.len() as u64 <= max_out);
    }
    Ok(out.to_vec())
}

/// The error kind only: `MessageTooBig::len` is a lower bound that depends on
/// where the output step stopped.
fn kind(result: &Result<Vec<u8>, ProtocolError>) -> Result<&[u8], &'static str> {
    match result {
        Ok(v) => Ok(v),
        Err(ProtocolError::MessageTooBig { .. }) => Err("too big"),
        Err(ProtocolError::InvalidCompressedData) => Err("invalid"),
        Err(_) => Err("other"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn round_trip_under_random_fragmentation(
        params in params(),
        level in 0u32..=9,
        messages in proptest::collection::vec((message(), proptest::collection::vec(0u16..=1000, 0..6), proptest::collection::vec(0u16..=1000, 0..6)), 1..5),
    ) {
        let config = DeflateConfig { compression_level: level, ..DeflateConfig::default() };
        let mut server = PerMessageDeflate::new(Role::Server, params, &config);
        let mut client = PerMessageDeflate::new(Role::Client, params, &config);
        for (message, send_cuts, receive_cuts) in &messages {
            // Send: one encode per frame.
            let frames = split(message, send_cuts);
            let mut wire = Vec::new();
            for (i, frame) in frames.iter().enumerate() {
                let mut out = BytesMut::new();
                server.encode(frame, i + 1 == frames.len(), &mut out);
                wire.extend_from_slice(&out);
            }
            // Receive: the wire bytes split differently.
            let got = decode_pieces(&mut client, &split(&wire, receive_cuts), 1 << 20).unwrap();
            prop_assert!(got == *message);
            // And back, whole.
            let mut out = BytesMut::new();
            client.encode(message, true, &mut out);
            let got = decode_pieces(&mut server, &[&out[..]], 1 << 20).unwrap();
            prop_assert!(got == *message);
        }
    }

    #[test]
    fn decoding_whole_equals_decoding_split(
        params in params(),
        message in message(),
        cuts in proptest::collection::vec(0u16..=1000, 0..8),
        max_out in 0u64..4000,
    ) {
        let config = DeflateConfig::default();
        let mut sender = PerMessageDeflate::new(Role::Server, params, &config);
        let mut wire = BytesMut::new();
        sender.encode(&message, true, &mut wire);
        let mut whole = PerMessageDeflate::new(Role::Client, params, &config);
        let mut pieces = PerMessageDeflate::new(Role::Client, params, &config);
        let a = decode_pieces(&mut whole, &[&wire[..]], max_out);
        let b = decode_pieces(&mut pieces, &split(&wire, &cuts), max_out);
        prop_assert_eq!(kind(&a), kind(&b));
        if message.len() as u64 <= max_out {
            prop_assert!(a.unwrap() == message);
        } else {
            let too_big = matches!(a, Err(ProtocolError::MessageTooBig { .. }));
            prop_assert!(too_big);
        }
    }

    #[test]
    fn arbitrary_input_never_panics_or_overflows(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(0u16..=1000, 0..6),
        max_out in 0u64..2000,
    ) {
        let config = DeflateConfig::default();
        let mut whole = PerMessageDeflate::new(Role::Client, DeflateParams::default(), &config);
        let mut pieces = PerMessageDeflate::new(Role::Client, DeflateParams::default(), &config);
        let a = decode_pieces(&mut whole, &[&data[..]], max_out);
        let b = decode_pieces(&mut pieces, &split(&data, &cuts), max_out);
        prop_assert_eq!(kind(&a), kind(&b));
    }
}
