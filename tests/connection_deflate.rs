//! permessage-deflate through the connection's RSV1 hook: a negotiated client/server
//! pair, fragmented compressed messages both ways, streaming mode, the RSV1 rules,
//! and a zip bomb stopped with 1009 while memory stays bounded (counting allocator).
#![allow(clippy::cast_possible_truncation)] // frame builders with small known lengths

use peak_alloc::PeakAlloc;
use std::sync::Mutex;

use bytes::BytesMut;
use flate2::{Compress, Compression, FlushCompress};
use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
use socketwire::handshake::parse_extensions;
use socketwire::ws::ClosedBy;
use socketwire::ws::{CloseCode, Config, Connection, Event, ProtocolError, Role};
use socketwire::ws::{Limits, MessageKind};

/// Counts current and peak heap bytes for this test binary.
#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Tests in this file measure a process-wide counter: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn drain(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// A client and server that negotiated deflate through the real header code paths.
fn negotiated_pair(
    client_cfg: DeflateConfig,
    server_cfg: DeflateConfig,
    config: Config,
) -> (Connection, Connection) {
    let offer = client_cfg.client_offer().expect("an offer");
    let offers = parse_extensions(&offer).unwrap();
    let accepted = server_cfg.accept_offers(&offers).expect("accepted");
    let response = parse_extensions(&accepted.response).unwrap();
    let client_ext = client_cfg
        .accept_response(&response)
        .unwrap()
        .expect("deflate");
    let mut n = 7u32;
    let client = Connection::client(config.clone(), move || {
        n = n.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        n.to_le_bytes()
    })
    .with_extension(client_ext);
    let server = Connection::server(config).with_extension(accepted.extension);
    (client, server)
}

fn pass(from: &mut Connection, to: &mut Connection) -> (Vec<Event>, usize) {
    let mut wire = BytesMut::new();
    let n = from.poll_transmit(&mut wire);
    to.handle_input(&wire);
    (drain(to), n)
}

#[test]
fn messages_round_trip_compressed_in_all_parameter_combinations() {
    let _g = SERIAL.lock().unwrap();
    let text = "{\"event\":\"tick\",\"value\":12345} ".repeat(200);
    for server_nct in [false, true] {
        for client_nct in [false, true] {
            for bits in [None, Some(9), Some(12)] {
                let client_cfg = DeflateConfig {
                    server_no_context_takeover: server_nct,
                    client_no_context_takeover: client_nct,
                    client_max_window_bits: bits,
                    server_max_window_bits: bits,
                    ..DeflateConfig::default()
                };
                let (mut client, mut server) =
                    negotiated_pair(client_cfg, DeflateConfig::default(), Config::default());
                for _ in 0..3 {
                    client.send_text(&text).unwrap();
                    let (ev, wire_len) = pass(&mut client, &mut server);
                    assert_eq!(ev, vec![Event::Text(text.clone().into())]);
                    assert!(wire_len < text.len() / 10, "compressed to {wire_len}");
                    server.send_binary(text.as_bytes()).unwrap();
                    let (ev, _) = pass(&mut server, &mut client);
                    assert_eq!(ev, vec![Event::Binary(text.clone().into())]);
                }
            }
        }
    }
}

#[test]
fn fragmented_compressed_messages_and_streaming_mode() {
    let _g = SERIAL.lock().unwrap();
    let streaming = Config {
        streaming: true,
        ..Config::default()
    };
    let (mut client, _) = negotiated_pair(
        DeflateConfig::default(),
        DeflateConfig::default(),
        Config::default(),
    );
    let (_, mut server) = negotiated_pair(
        DeflateConfig::default(),
        DeflateConfig::default(),
        streaming,
    );
    let parts = ["Hello, ", "compressed ", "wörld! ".repeat(100).leak()];
    for (i, p) in parts.iter().enumerate() {
        client
            .send_fragment(MessageKind::Text, p.as_bytes(), i == parts.len() - 1)
            .unwrap();
    }
    let mut wire = BytesMut::new();
    client.poll_transmit(&mut wire);
    // RSV1 on the first frame only (RFC 7692 §6).
    assert_eq!(wire[0] & 0xc0, 0x40, "first frame: RSV1, no FIN");
    // Feed byte by byte: streaming mode hands out decompressed chunks.
    let mut text = Vec::new();
    let mut saw_last = false;
    for b in wire.iter() {
        server.handle_input(&[*b]);
        for e in drain(&mut server) {
            let Event::Fragment(f) = e else {
                panic!("{e:?}")
            };
            text.extend_from_slice(&f.data);
            saw_last |= f.last;
        }
    }
    assert!(saw_last);
    assert_eq!(String::from_utf8(text).unwrap(), parts.concat());
}

#[test]
fn rsv1_rules() {
    let _g = SERIAL.lock().unwrap();
    let key = [1, 2, 3, 4];
    let masked = |b0: u8, payload: &[u8]| {
        let mut f = vec![b0, 0x80 | payload.len() as u8];
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        f
    };
    let server = || {
        negotiated_pair(
            DeflateConfig::default(),
            DeflateConfig::default(),
            Config::default(),
        )
        .1
    };
    let cases: [(&str, Vec<u8>); 3] = [
        ("RSV1 on a ping", masked(0xc9, b"")),
        (
            "RSV1 on a continuation",
            [masked(0x41, &[0xf2, 0x48]), masked(0xc0, &[0xcd])].concat(),
        ),
        (
            "invalid deflate data",
            masked(0xc1, &[0xff, 0xff, 0xff, 0xff]),
        ),
    ];
    for (name, input) in cases {
        let mut s = server();
        s.handle_input(&input);
        let ev = drain(&mut s);
        assert!(
            matches!(
                ev.last(),
                Some(Event::Closed {
                    code: CloseCode::PROTOCOL_ERROR,
                    ..
                })
            ),
            "{name}: {ev:?}"
        );
    }
}

#[test]
fn zip_bomb_closes_with_1009_and_memory_stays_bounded() {
    let _g = SERIAL.lock().unwrap();
    // 1 MiB of zeros, raw deflate with a sync flush, tail stripped: about 1 KiB.
    let zeros = vec![0u8; 1 << 20];
    let mut c = Compress::new(Compression::best(), false);
    let mut compressed = Vec::with_capacity(8 << 10);
    c.compress_vec(&zeros, &mut compressed, FlushCompress::Sync)
        .unwrap();
    assert!(compressed.ends_with(&[0, 0, 0xff, 0xff]));
    compressed.truncate(compressed.len() - 4);
    assert!(
        compressed.len() < 2048,
        "bomb is {} bytes",
        compressed.len()
    );
    // One masked, compressed binary frame.
    let key = [9, 8, 7, 6];
    let mut frame = vec![0xc2, 0xfe];
    frame.extend_from_slice(&(compressed.len() as u16).to_be_bytes());
    frame.extend_from_slice(&key);
    frame.extend(compressed.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    drop(zeros);

    let limits = Limits {
        max_message_size: 64 << 10,
        ..Limits::default()
    };
    let ext = PerMessageDeflate::new(
        Role::Server,
        DeflateParams::default(),
        &DeflateConfig::default(),
    );
    let mut server = Connection::server(Config {
        limits,
        ..Config::default()
    })
    .with_extension(ext);
    // The deflate state (inflate window and state, output scratch) comes with
    // the first compressed message: one small message first, so what follows
    // measures the bomb alone; `deflate_state` is what that message left.
    let mut small = Compress::new(Compression::best(), false);
    let mut hello = Vec::with_capacity(64);
    small
        .compress_vec(b"hello", &mut hello, FlushCompress::Sync)
        .unwrap();
    hello.truncate(hello.len() - 4);
    let mut first = vec![0xc2, 0x80 | hello.len() as u8];
    first.extend_from_slice(&key);
    first.extend(hello.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    let before_state = HEAP.current_usage();
    server.handle_input(&first);
    let Some(Event::Binary(hello)) = server.poll_event() else {
        panic!("the small message did not arrive")
    };
    assert_eq!(&hello[..], b"hello");
    drop(hello);
    let deflate_state = HEAP.current_usage() - before_state;
    let mut events = Vec::with_capacity(4);
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    server.handle_input(&frame);
    while let Some(e) = server.poll_event() {
        events.push(e);
    }
    let growth = HEAP.peak_usage().saturating_sub(base);
    assert!(
        matches!(
            events[..],
            [Event::Closed {
                code: CloseCode::MESSAGE_TOO_BIG,
                by: ClosedBy::ProtocolError(ProtocolError::MessageTooBig { .. })
            }]
        ),
        "{events:?}"
    );
    // Peak growth while inflating counts a buffer's old and new blocks during a
    // reallocation. The bound: the 64 KiB message limit plus the deflate state.
    println!("zip bomb: peak growth {growth} B while inflating; deflate state {deflate_state} B");
    assert!(
        growth < (64 << 10) + deflate_state,
        "grew by {growth} bytes"
    );
}
