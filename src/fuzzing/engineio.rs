//! Engine.IO harnesses: packet codec, payload codec, server session.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::engineio::{
    EngineIoVersion, Jsonp, MessageKind, Method, Packet, PayloadDecoder, PayloadFormat,
    PayloadLimits, Reply, RequestInfo, Server, ServerConfig, WebSocketId, WebSocketOpen,
    decode_webtransport_frame,
};

fn version(byte: u8) -> EngineIoVersion {
    if byte & 1 == 0 {
        EngineIoVersion::V4
    } else {
        EngineIoVersion::V3
    }
}

/// Single packets: text and binary decode never panic; what decodes re-encodes
/// to something that decodes to the same packet. WebTransport frames too.
pub fn packet(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let version = version(selector);
    if let Ok(text) = core::str::from_utf8(rest)
        && let Ok(packet) = Packet::decode_text(text, version)
    {
        let mut out = BytesMut::new();
        packet.encode_text(version, &mut out);
        let again = core::str::from_utf8(&out).expect("text encoding is UTF-8");
        assert_eq!(Packet::decode_text(again, version).as_ref(), Ok(&packet));
    }
    let frame = Bytes::copy_from_slice(rest);
    if let Ok(packet) = Packet::decode_binary(&frame, version) {
        let mut out = BytesMut::new();
        assert_eq!(
            packet.encode_websocket(version, true, &mut out),
            MessageKind::Binary
        );
        assert_eq!(Packet::decode_binary(&out.freeze(), version), Ok(packet));
    }
    if let Ok(crate::Status::Complete((_, used))) = decode_webtransport_frame(&frame, 1 << 20) {
        assert!(used <= frame.len());
    }
}

/// Payloads in every format: bounded output, at most one trailing error, and
/// the packets that decoded round-trip through the encoder.
pub fn payload(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let format = [
        PayloadFormat::V4,
        PayloadFormat::V3Text,
        PayloadFormat::V3Binary,
    ][usize::from(selector % 3)];
    let limits = PayloadLimits {
        max_payload: 4096,
        max_packets: usize::from(selector >> 2) + 1,
    };
    let body = Bytes::copy_from_slice(rest);
    let items: Vec<_> = PayloadDecoder::new(&body, format, limits).collect();
    assert!(items.len() <= limits.max_packets + 1);
    let packets: Vec<Packet<'_>> = items
        .iter()
        .filter_map(|i| i.as_ref().ok().cloned())
        .collect();
    assert!(packets.len() + 1 >= items.len());
    if !packets.is_empty() {
        let mut out = BytesMut::new();
        format.encode(&packets, &mut out);
        let encoded = out.freeze();
        let unlimited = PayloadLimits {
            max_payload: usize::MAX,
            max_packets: usize::MAX,
        };
        let again: Result<Vec<_>, _> = PayloadDecoder::new(&encoded, format, unlimited).collect();
        assert_eq!(again.expect("encoder output decodes"), packets);
    }
    let _ = Jsonp::decode_body(rest);
}

/// Drives the registry (and through it each [`ServerSession`](crate::engineio::ServerSession))
/// with a byte-coded sequence of requests, WebSocket messages, commands and
/// timeouts; checks that nothing panics, buffers stay bounded, closed sessions
/// leave the registry, and no deadline is left in the past.
pub fn server_session(data: &[u8]) {
    let config = ServerConfig {
        allow_eio3: true,
        max_payload: 512,
        max_packets_per_payload: 8,
        max_buffered_packets: 16,
        // Below the four sids the harness uses, so the session cap is exercised.
        max_sessions: 3,
        ..ServerConfig::default()
    };
    let mut server = Server::new(config);
    let mut now = Duration::ZERO;
    let mut next_id = 0u32;
    // WebSockets handed out so far (stale ones included, to drive them too).
    let mut sockets: Vec<(String, WebSocketId)> = Vec::new();
    let mut input = data;
    while let Some((&op, rest)) = input.split_first() {
        let Some((&arg, rest)) = rest.split_first() else {
            break;
        };
        let len = usize::from(arg >> 3).min(rest.len());
        let (chunk, rest) = rest.split_at(len);
        input = rest;
        let sid = format!("s{}", arg % 4);
        let eio = if arg & 1 == 0 { "4" } else { "3" };
        let b64 = if arg & 2 == 0 { "" } else { "&b64=1" };
        let j = if arg & 4 == 0 { "" } else { "&j=1" };
        let mut new_sid = || {
            let id = format!("s{}", next_id % 4);
            next_id += 1;
            id
        };
        let body = Bytes::copy_from_slice(chunk);
        match op % 14 {
            0 => {
                let query = format!("EIO={eio}&transport=polling{b64}{j}");
                let request = RequestInfo {
                    method: Method::Get,
                    query: &query,
                    content_type: None,
                    body: &body,
                };
                check_reply(server.handle_request(&request, now, &mut new_sid));
            }
            1 | 2 => {
                let query = format!("EIO={eio}&transport=polling&sid={sid}{b64}{j}");
                let method = if op % 14 == 1 {
                    Method::Get
                } else {
                    Method::Post
                };
                let content_type = (arg & 8 != 0).then_some("application/octet-stream");
                let request = RequestInfo {
                    method,
                    query: &query,
                    content_type,
                    body: &body,
                };
                check_reply(server.handle_request(&request, now, &mut new_sid));
            }
            3 => {
                let query = core::str::from_utf8(chunk).unwrap_or("");
                let request = RequestInfo {
                    method: Method::Other,
                    query,
                    content_type: None,
                    body: &body,
                };
                check_reply(server.handle_request(&request, now, &mut new_sid));
            }
            4 | 5 => {
                // 4: a WebSocket handshake; 5: an upgrade of session `sid`.
                let query = if op % 14 == 4 {
                    format!("EIO={eio}&transport=websocket{b64}")
                } else {
                    format!("EIO={eio}&transport=websocket&sid={sid}{b64}")
                };
                // An accepted-then-closed socket carries nothing to drive.
                if let Ok((sid, WebSocketOpen::Attach(ws))) =
                    server.handle_websocket_open(&query, now, &mut new_sid)
                {
                    sockets.push((sid, ws));
                    if sockets.len() > 16 {
                        sockets.remove(0);
                    }
                }
            }
            6..=8 if !sockets.is_empty() => {
                let (sid, ws) = &sockets[usize::from(arg) % sockets.len()];
                match op % 14 {
                    6 => {
                        let text = String::from_utf8_lossy(chunk);
                        let _ = server.handle_websocket_text(sid, *ws, &text, now);
                    }
                    7 => {
                        let _ = server.handle_websocket_binary(sid, *ws, body, now);
                    }
                    _ => server.handle_websocket_closed(sid, *ws),
                }
            }
            6..=8 => {}
            9 => server.handle_poll_aborted(&sid),
            10 => {
                now += Duration::from_millis(u64::from(arg) * 500);
                server.handle_timeout(now);
            }
            11 => {
                let _ = server.send_text(&sid, &String::from_utf8_lossy(chunk));
            }
            12 => {
                let _ = server.send_binary(&sid, body);
            }
            _ => {
                let _ = server.close(&sid, now);
            }
        }
        // Drain like a glue would, checking bounds.
        let mut drained = 0usize;
        while server.poll_event().is_some()
            || server.poll_long_poll().is_some()
            || server.poll_websocket().is_some()
        {
            drained += 1;
            assert!(drained < 10_000, "outputs must be finite");
        }
        assert!(server.session_count() <= 3, "the session cap holds");
        for n in 0..4 {
            let sid = format!("s{n}");
            // The cap, plus the `close` packet a server close appends.
            assert!(server.buffered_packets(&sid) <= 16 + 1);
            if let Some(session) = server.session(&sid) {
                assert!(!session.is_closed(), "closed sessions leave the registry");
                assert_eq!(session.sid(), sid);
            }
        }
        // Every deadline is set after `now` and `handle_timeout(now)` fires the due ones.
        assert!(server.poll_timeout().is_none_or(|deadline| deadline > now));
    }
}

fn check_reply(reply: Reply) {
    if let Reply::Respond(response) = reply {
        assert!(matches!(response.status, 200 | 400 | 403 | 413 | 500));
    }
}
