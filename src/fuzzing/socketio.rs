//! Socket.IO harnesses: packet codec, attachment reassembly, server session.
#![cfg(feature = "json")]

use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::socketio::{
    DecoderConfig, EngineMessage, Packet, Parser, Reassembled, Reassembler, ServerConfig,
    ServerEvent, ServerSession, SocketIoVersion,
};

fn configs() -> [DecoderConfig; 4] {
    let v4 = DecoderConfig::for_version(SocketIoVersion::V4);
    let v4_lenient = DecoderConfig {
        version: SocketIoVersion::V4,
        ..DecoderConfig::js_compatible()
    };
    [
        DecoderConfig::default(),
        DecoderConfig::js_compatible(),
        v4,
        v4_lenient,
    ]
}

/// Decodes `data` as a text packet under every configuration; a decoded packet
/// must re-encode to a packet that decodes to itself.
pub fn packet(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    for config in configs() {
        let Ok(p) = Packet::decode(text, &config) else {
            continue;
        };
        let mut out = String::new();
        p.encode(&mut out);
        assert_eq!(out.len(), p.encoded_len());
        assert!(out.len() <= text.len() + 2, "encoding grew");
        let again = Packet::decode(&out, &config).expect("re-encoded packet decodes");
        assert_eq!(again, p);
        let _ = p.data_value();
    }
}

/// Splits fuzz input into Engine.IO messages: chunks separated by 0xFF; a
/// chunk starting with an even byte is text (if UTF-8), odd is binary.
fn messages(data: &[u8]) -> impl Iterator<Item = EngineMessage> + '_ {
    data.split(|&b| b == 0xFF).filter_map(|chunk| {
        let (&tag, body) = chunk.split_first()?;
        let body = Bytes::copy_from_slice(body);
        Some(if tag % 2 == 0 {
            EngineMessage::Text(body)
        } else {
            EngineMessage::Binary(body)
        })
    })
}

/// Feeds a message sequence to a reassembler with small limits.
pub fn reassembler(data: &[u8]) {
    let config = DecoderConfig {
        max_attachments: 4,
        max_attachment_bytes: 64,
        ..DecoderConfig::js_compatible()
    };
    let mut r = Reassembler::new(config);
    for message in messages(data) {
        match message {
            EngineMessage::Text(bytes) => {
                let Ok(text) = core::str::from_utf8(&bytes) else {
                    continue;
                };
                match r.handle_text(text) {
                    Ok(Reassembled::Pending) => assert!(r.is_reconstructing()),
                    Ok(Reassembled::Binary(p)) => assert!(p.attachments.is_empty()),
                    Ok(Reassembled::Text(_)) | Err(_) => assert!(!r.is_reconstructing()),
                }
            }
            EngineMessage::Binary(bytes) => match r.handle_binary(bytes) {
                Ok(Some(p)) => {
                    assert!(p.attachments.len() <= 4);
                    assert!(p.attachments.iter().map(Bytes::len).sum::<usize>() <= 64);
                    assert!(!r.is_reconstructing());
                }
                Ok(None) => assert!(r.is_reconstructing()),
                Err(_) => assert!(!r.is_reconstructing()),
            },
        }
    }
}

/// Drives a server session with the conformance-suite behaviour; the first
/// byte picks the version, every message (or `0xFD` tick) advances time by one
/// second.
pub fn server_session(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let version = if first % 2 == 0 {
        SocketIoVersion::V5
    } else {
        SocketIoVersion::V4
    };
    let config = ServerConfig {
        decoder: DecoderConfig::for_version(version),
        connect_timeout: Duration::from_secs(20),
        ack_timeout: Duration::from_secs(3),
        // Small enough that the harness reaches the caps.
        max_pending_acks: 4,
        attachment_timeout: Duration::from_secs(2),
        max_namespaces: 3,
        parser: Parser::Json,
    };
    let mut session = ServerSession::new(config, Duration::ZERO);
    let mut now = Duration::ZERO;
    let mut sent: Vec<EngineMessage> = Vec::new();
    // A chunk that is the single byte `TICK` lets a second pass with no
    // message (so a half-received packet can time out).
    const TICK: u8 = 0xFD;
    for chunk in rest.split(|&b| b == 0xFF) {
        if chunk != [TICK] {
            let Some(message) = messages(chunk).next() else {
                continue;
            };
            now += Duration::from_secs(1);
            let result = session.handle_message(message, now);
            if result.is_err() {
                assert!(session.is_closed());
            }
        } else {
            now += Duration::from_secs(1);
        }
        if session.poll_timeout().is_some_and(|t| t <= now) {
            session.handle_timeout(now);
        }
        while let Some(event) = session.poll_event() {
            let _ = match event {
                ServerEvent::Connect { namespace, auth } if namespace.len() % 3 != 0 => session
                    .accept(&namespace, "sid")
                    .and_then(|()| session.emit(&namespace, "auth", alloc::vec![auth])),
                ServerEvent::Connect { namespace, .. } => {
                    session.refuse(&namespace, "Invalid namespace", None)
                }
                ServerEvent::Event {
                    namespace,
                    args,
                    ack_id: Some(id),
                    ..
                } => session.ack(&namespace, id, args),
                ServerEvent::Event {
                    namespace, args, ..
                } => session
                    .emit_with_ack(&namespace, "message-back", args, now)
                    .map(|_| ()),
                _ => Ok(()),
            };
        }
        assert!(session.pending_acks() <= 4, "the pending-ack cap holds");
        sent.extend(core::iter::from_fn(|| session.poll_message()));
        if sent.len() > 1024 {
            sent.clear();
        }
    }
    session.handle_transport_closed();
    while session.poll_event().is_some() {}
    assert!(session.is_closed());
}

/// The socket.io-msgpack-parser format: the value codec under a small depth
/// bound (the decoded depth stays within it, and one encode makes a fixed
/// point: what it writes decodes and re-encodes to the same bytes), then the
/// packet decoder under every configuration (a decoded packet re-encodes to
/// itself), then a msgpack server session fed the chunks between `0xFF`s.
#[cfg(feature = "msgpack")]
pub fn msgpack_packet(data: &[u8]) {
    use crate::socketio::msgpack::{MsgpackLimits, MsgpackPacket, decode_value, encode_value};

    fn depth(value: &crate::socketio::Value) -> usize {
        use crate::socketio::Value;
        match value {
            Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
            Value::Object(pairs) => 1 + pairs.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
            _ => 0,
        }
    }

    let input = Bytes::copy_from_slice(data);
    let limits = MsgpackLimits { max_depth: 8 };
    if let Ok(value) = decode_value(&input, &limits) {
        assert!(depth(&value) <= limits.max_depth, "depth bound");
        let mut once = Vec::new();
        encode_value(&value, &mut once);
        let again =
            decode_value(&Bytes::from(once.clone()), &limits).expect("encoded value decodes");
        let mut twice = Vec::new();
        encode_value(&again, &mut twice);
        assert_eq!(once, twice, "encoding is a fixed point");
    }
    for config in configs() {
        let Ok(packet) = MsgpackPacket::decode(&input, &config) else {
            continue;
        };
        let mut out = Vec::new();
        packet.encode(&mut out);
        let again =
            MsgpackPacket::decode(&Bytes::from(out), &config).expect("re-encoded packet decodes");
        assert_eq!(again, packet);
    }
    let config = ServerConfig {
        parser: Parser::Msgpack,
        ..ServerConfig::default()
    };
    let mut session = ServerSession::new(config, Duration::ZERO);
    for chunk in data.split(|&b| b == 0xFF) {
        let message = EngineMessage::Binary(Bytes::copy_from_slice(chunk));
        if session.handle_message(message, Duration::ZERO).is_err() {
            assert!(session.is_closed());
        }
        while let Some(event) = session.poll_event() {
            if let ServerEvent::Connect { namespace, .. } = event {
                let _ = session.accept(&namespace, "sid");
            }
        }
        while session.poll_message().is_some() {}
    }
}

#[cfg(all(test, feature = "msgpack"))]
mod msgpack_mutations {
    const SEEDS: [&[u8]; 2] = [
        b"\x85\xa4type\x02\xa4data\x93\xa2hi\xc4\x03\x01\x02\x03\x81\xa6nested\x91\xc4\x01\x04\xa7options\x81\xa8compress\xc3\xa2id\x00\xa3nsp\xa1/",
        b"\x83\xa4type\x00\xa4data\xd4\x00\x00\xa3nsp\xa6/admin",
    ];

    proptest::proptest! {
        /// The seeds of fuzz/corpus/socketio_msgpack/ (a client EVENT with nested
        /// binary and a CONNECT with notepack's undefined), with bytes
        /// overwritten, cut or repeated, pass the harness.
        #[test]
        fn mutated_packets_pass_the_harness(
            seed in proptest::sample::select(&SEEDS[..]),
            edits in proptest::collection::vec((0usize..64, proptest::num::u8::ANY), 0..6),
            cut in 0usize..80,
            repeat in 1usize..3,
        ) {
            let mut data = seed.repeat(repeat);
            for (at, byte) in edits {
                if let Some(b) = data.get_mut(at) {
                    *b = byte;
                }
            }
            data.truncate(cut.max(1));
            super::msgpack_packet(&data);
        }
    }
}
