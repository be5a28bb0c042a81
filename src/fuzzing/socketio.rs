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
