//! Backpressure, layer by layer: each session's `buffered_amount` counts the
//! bytes it holds exactly, the byte caps refuse a send (or close the session
//! for a reply the peer forces), and a broadcast drops a slow member without
//! holding up a fast one. Every bound is checked by counting bytes.
#![cfg(all(feature = "engineio", feature = "socketio"))]

use bytes::Bytes;
use core::time::Duration;
use socketwire::engineio::{
    self, ApiMisuse, ClientSession, ClientTransport, CloseReason, EngineIoVersion, Method, Reply,
    RequestInfo, ServerConfig, SessionEvent, WebSocketOutput,
};
use socketwire::socketio::{self, Broadcast, RoomRegistry, ServerEvent};

const T0: Duration = Duration::ZERO;

fn websocket_session(config: &ServerConfig, query: &str) -> engineio::ServerSession {
    let mut session = engineio::ServerSession::open_websocket(config, query, T0, || "s1".into())
        .expect("handshake");
    let Some(WebSocketOutput::Text(open)) = session.poll_websocket() else {
        panic!("open packet")
    };
    assert!(open.starts_with("0{"));
    assert_eq!(session.buffered_amount(), 0);
    session
}

fn polling_session(config: &ServerConfig) -> engineio::ServerSession {
    let body = Bytes::new();
    let handshake = RequestInfo::new(Method::Get, "EIO=4&transport=polling", &body);
    let (session, _open) =
        engineio::ServerSession::open_polling(config, &handshake, T0, || "s1".into()).unwrap();
    session
}

fn get(session: &mut engineio::ServerSession) -> Reply {
    let body = Bytes::new();
    let request = RequestInfo::new(Method::Get, "EIO=4&transport=polling&sid=s1", &body);
    session.handle_request(&request, T0)
}

#[test]
fn engineio_websocket_counts_each_message_exactly() {
    let config = ServerConfig {
        allow_eio3: true,
        ..ServerConfig::default()
    };
    let mut v4 = websocket_session(&config, "EIO=4&transport=websocket");
    v4.send_text("hello").unwrap(); // "4hello"
    v4.send_binary(Bytes::from_static(&[1, 2, 3])).unwrap(); // as it is
    v4.send_text("").unwrap(); // "4"
    assert_eq!(
        (v4.buffered_amount(), v4.buffered_packets()),
        (6 + 3 + 1, 3)
    );
    assert_eq!(
        v4.poll_websocket(),
        Some(WebSocketOutput::Text("4hello".into()))
    );
    assert_eq!(v4.buffered_amount(), 3 + 1);
    let _ = v4.poll_websocket();
    let _ = v4.poll_websocket();
    assert_eq!((v4.buffered_amount(), v4.buffered_packets()), (0, 0));

    // v3 binary WebSocket messages carry their type byte; b64 sends base64.
    let mut v3 = websocket_session(&config, "EIO=3&transport=websocket");
    v3.send_binary(Bytes::from_static(&[1, 2, 3])).unwrap();
    assert_eq!(v3.buffered_amount(), 1 + 3);
    let mut b64 = websocket_session(&config, "EIO=4&transport=websocket&b64=1");
    b64.send_binary(Bytes::from_static(&[1, 2, 3])).unwrap(); // "bAQID"
    assert_eq!(b64.buffered_amount(), 5);
}

#[test]
fn engineio_polling_counts_packets_then_the_parked_response() {
    let mut session = polling_session(&ServerConfig::default());
    session.send_text("ab").unwrap(); // "4ab"
    session.send_binary(Bytes::from_static(&[9; 10])).unwrap(); // 10 bytes of data
    assert_eq!(
        (session.buffered_amount(), session.buffered_packets()),
        (3 + 10, 2)
    );
    // The next GET takes everything: nothing is left buffered.
    let Reply::Respond(response) = get(&mut session) else {
        panic!("data was waiting")
    };
    assert!(response.body.starts_with(b"4ab\x1eb"));
    assert_eq!(
        (session.buffered_amount(), session.buffered_packets()),
        (0, 0)
    );

    // A parked GET: what is sent while it waits becomes its response, counted
    // by its body until the glue takes it.
    assert_eq!(get(&mut session), Reply::Wait);
    session.send_text("x").unwrap();
    assert_eq!(session.buffered_amount(), 2);
    let response = session.poll_long_poll().unwrap();
    assert_eq!(&response.body[..], b"4x");
    assert_eq!(session.buffered_amount(), 0);
    // A ping fired while the GET waits is answered at once: a built response.
    assert_eq!(get(&mut session), Reply::Wait);
    let ping_at = session.poll_timeout().unwrap();
    session.handle_timeout(ping_at);
    assert_eq!(session.buffered_amount(), 1); // the body "2"
    assert_eq!(&session.poll_long_poll().unwrap().body[..], b"2");
    assert_eq!(session.buffered_amount(), 0);
}

#[test]
fn engineio_upgrade_moves_the_count_to_the_websocket() {
    let mut session = polling_session(&ServerConfig::default());
    session
        .send_binary(Bytes::from_static(&[1, 2, 3, 4]))
        .unwrap();
    session.send_text("hi").unwrap();
    let q = "EIO=4&transport=websocket&sid=s1";
    let ws = session
        .handle_websocket_open(q, T0)
        .unwrap()
        .id()
        .expect("attached");
    session.handle_websocket_text(ws, "2probe", T0).unwrap();
    assert_eq!(
        session.poll_websocket(),
        Some(WebSocketOutput::Text("3probe".into()))
    );
    session.handle_websocket_text(ws, "5", T0).unwrap();
    assert_eq!(session.poll_event(), Some(SessionEvent::Upgraded));
    // Now WebSocket messages: the binary as it is, "4hi".
    assert_eq!(
        (session.buffered_amount(), session.buffered_packets()),
        (4 + 3, 2)
    );
    while session.poll_websocket().is_some() {}
    assert_eq!(session.buffered_amount(), 0);
}

#[test]
fn engineio_byte_cap_refuses_a_send_and_queues_nothing() {
    let config = ServerConfig {
        max_buffered_bytes: 10,
        ..ServerConfig::default()
    };
    for polling in [false, true] {
        let mut session = if polling {
            polling_session(&config)
        } else {
            websocket_session(&config, "EIO=4&transport=websocket")
        };
        session.send_text("hello").unwrap(); // 6
        assert_eq!(session.send_text("abcd"), Err(ApiMisuse::BufferFull)); // 6 + 5 > 10
        assert_eq!(
            session.send_binary(Bytes::from_static(&[0; 5])),
            Err(ApiMisuse::BufferFull)
        );
        assert_eq!(
            (session.buffered_amount(), session.buffered_packets()),
            (6, 1)
        );
        session.send_text("abc").unwrap(); // 6 + 4 = 10: at the cap, allowed
        assert_eq!(session.buffered_amount(), 10);
        assert_eq!(session.send_text(""), Err(ApiMisuse::BufferFull));
        // A message larger than the cap never fits, even when empty.
        let mut empty = if polling {
            polling_session(&config)
        } else {
            websocket_session(&config, "EIO=4&transport=websocket")
        };
        assert_eq!(empty.send_text(&"x".repeat(10)), Err(ApiMisuse::BufferFull));
        assert_eq!(empty.buffered_amount(), 0);
    }
}

/// A reply the peer's input forces (a v3 pong) past the byte cap closes the
/// session instead of growing the queue.
#[test]
fn engineio_forced_reply_past_the_byte_cap_closes_the_session() {
    let config = ServerConfig {
        max_buffered_bytes: 6,
        allow_eio3: true,
        ..ServerConfig::default()
    };
    let mut session = websocket_session(&config, "EIO=3&transport=websocket");
    let ws = session.websocket().unwrap();
    session.handle_websocket_text(ws, "2", T0).unwrap();
    assert_eq!(
        session.poll_websocket(),
        Some(WebSocketOutput::Text("3".into()))
    );
    session.send_text("hello").unwrap(); // 6: the cap
    session.handle_websocket_text(ws, "2", T0).unwrap(); // its pong does not fit
    assert_eq!(
        session.poll_event(),
        Some(SessionEvent::Closed(CloseReason::TransportError(
            "send buffer full"
        )))
    );
    assert!(session.is_closed());
    assert_eq!(
        session.poll_websocket(),
        Some(WebSocketOutput::Text("4hello".into()))
    );
    assert_eq!(session.poll_websocket(), Some(WebSocketOutput::Close));
    assert_eq!(session.buffered_amount(), 0);
}

#[test]
fn engineio_client_counts_queued_packets() {
    let mut client = ClientSession::new(EngineIoVersion::V4, ClientTransport::WebSocket);
    client.send_text("hello").unwrap();
    client.send_binary(Bytes::from_static(&[1, 2])).unwrap();
    assert_eq!(
        (client.buffered_amount(), client.buffered_packets()),
        (6 + 2, 2)
    );
    let open = r#"{"sid":"s","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#;
    client
        .handle_packet(engineio::Packet::Open(open), T0)
        .unwrap();
    let mut out = bytes::BytesMut::new();
    client.poll_transmit(&mut out).unwrap();
    assert_eq!(&out[..], b"4hello");
    assert_eq!(client.buffered_amount(), 2);
    out.clear();
    client.poll_transmit(&mut out).unwrap();
    assert_eq!(
        (client.buffered_amount(), client.buffered_packets()),
        (0, 0)
    );
}

fn connected_socketio(sid: &str) -> socketio::ServerSession {
    let mut session = socketio::ServerSession::new(socketio::ServerConfig::default(), T0);
    session.handle_text("0", T0).unwrap();
    assert!(matches!(
        session.poll_event(),
        Some(ServerEvent::Connect { .. })
    ));
    session.accept("/", sid).unwrap();
    while session.poll_message().is_some() {}
    assert_eq!(session.buffered_amount(), 0);
    session
}

#[test]
fn socketio_counts_text_and_attachments_exactly() {
    let mut session = connected_socketio("abc");
    session
        .emit("/", "a", vec![socketio::Value::from("b")])
        .unwrap(); // 2["a","b"]
    assert_eq!(session.buffered_amount(), r#"2["a","b"]"#.len());
    session
        .emit(
            "/",
            "bin",
            vec![socketio::Value::Bytes(Bytes::from_static(&[7; 100]))],
        )
        .unwrap();
    let header = r#"51-["bin",{"_placeholder":true,"num":0}]"#;
    assert_eq!(
        (session.buffered_amount(), session.buffered_messages()),
        (10 + header.len() + 100, 3)
    );
    let _ = session.poll_message();
    assert_eq!(session.buffered_amount(), header.len() + 100);
    while session.poll_message().is_some() {}
    assert_eq!(
        (session.buffered_amount(), session.buffered_messages()),
        (0, 0)
    );
}

#[test]
fn socketio_client_counts_queued_messages() {
    let mut client = socketio::ClientSession::new(socketio::ClientConfig::default());
    client.connect("/", None).unwrap();
    client.connect("/admin", None).unwrap();
    assert_eq!(client.buffered_amount(), "0".len() + "0/admin,".len());
    let _ = client.poll_message();
    assert_eq!(client.buffered_amount(), "0/admin,".len());
    // The transport going away drops what was queued, and its count.
    client.handle_transport_closed();
    assert_eq!(
        (client.buffered_amount(), client.buffered_messages()),
        (0, 0)
    );
}

/// A broadcast to a room with a slow member (its output not drained) and a
/// fast one (drained after every packet): the slow one is taken out once its
/// figure would pass the cap and never holds more than the cap; the fast one
/// gets every packet.
#[test]
fn broadcast_drops_the_slow_member_and_delivers_to_the_fast_one() {
    const CAP: usize = 1000;
    let mut rooms = RoomRegistry::new();
    let mut sessions = [connected_socketio("fast"), connected_socketio("slow")];
    for member in [0usize, 1] {
        rooms.add_socket("/", member);
        rooms.join("/", member, "room").unwrap();
    }
    let mut fast_received = 0;
    let mut dropped = Vec::new();
    let mut slow_most = 0;
    for i in 0..1000 {
        let args = [socketio::Value::from(format!("tick {i:04}"))];
        let mut out = rooms.broadcast_event("/", &Broadcast::all().to("room"), "tick", &args);
        let over = out.take_over_cap(CAP, |m| sessions[*m].buffered_amount());
        for member in &out.recipients {
            sessions[*member].send_encoded(&out.packet).unwrap();
        }
        while sessions[0].poll_message().is_some() {
            fast_received += 1;
        }
        slow_most = slow_most.max(sessions[1].buffered_amount());
        if !over.is_empty() {
            assert_eq!(over, [1], "only the slow member is over the cap");
            dropped.push(i);
            // The policy: disconnect it.
            rooms.remove_socket("/", &1);
        }
    }
    assert_eq!(fast_received, 1000);
    let packet_len = r#"2["tick","tick 0000"]"#.len();
    assert_eq!(dropped, [CAP / packet_len]);
    assert_eq!(slow_most, (CAP / packet_len) * packet_len);
    assert!(slow_most <= CAP);
}

// ------------------------------------------------------------ WebSocket pongs

use socketwire::ws::connection::MAX_QUEUED_PONGS;
use socketwire::ws::{CloseCode, Config, Connection};

/// A masked client ping (key 0, so the payload reads as it is).
fn client_ping(payload: &[u8]) -> Vec<u8> {
    let len = u8::try_from(payload.len()).expect("a control payload");
    let mut frame = vec![0x89, 0x80 | len, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// Splits a server's (unmasked) output into (opcode, payload) frames.
fn server_frames(mut out: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while !out.is_empty() {
        let opcode = out[0] & 0x0f;
        let (len, head) = match out[1] & 0x7f {
            126 => (usize::from(u16::from_be_bytes([out[2], out[3]])), 4),
            127 => panic!("no frame here is that long"),
            n => (usize::from(n), 2),
        };
        frames.push((opcode, out[head..head + len].to_vec()));
        out = &out[head + len..];
    }
    frames
}

fn pongs(frames: &[(u8, Vec<u8>)]) -> Vec<&[u8]> {
    frames
        .iter()
        .filter(|(opcode, _)| *opcode == 0xA)
        .map(|(_, payload)| &payload[..])
        .collect()
}

/// A peer that pings while the application sends between its pings, and
/// never reads: the queued pongs stay at `MAX_QUEUED_PONGS` plus the owed
/// one, which answers the most recent ping; every message is kept.
#[test]
fn ping_flood_between_messages_keeps_pongs_bounded() {
    const PINGS: u32 = 10_000;
    let mut c = Connection::server(Config::default());
    for i in 0..PINGS {
        c.handle_input(&client_ping(&i.to_be_bytes()));
        while c.poll_event().is_some() {}
        c.send_text("x").unwrap();
    }
    let pending: usize = c.transmit_chunks().map(<[u8]>::len).sum();
    assert_eq!(c.buffered_amount(), pending);
    let mut out = bytes::BytesMut::new();
    c.poll_transmit(&mut out);
    let frames = server_frames(&out);
    let pongs = pongs(&frames);
    assert_eq!(pongs.len(), MAX_QUEUED_PONGS + 1);
    assert_eq!(*pongs.last().unwrap(), &(PINGS - 1).to_be_bytes()[..]);
    let texts = frames.iter().filter(|(opcode, _)| *opcode == 0x1).count();
    assert_eq!(texts, PINGS as usize);
    assert_eq!(pending, PINGS as usize * 3 + (MAX_QUEUED_PONGS + 1) * 6);
}

/// The same flood while the transport takes a few bytes at a time: the
/// stream stays whole (the owed pong is never split), the pongs waiting never
/// pass `MAX_QUEUED_PONGS + 1`, and the last pong answers the last ping.
#[test]
fn ping_flood_with_partial_writes_keeps_the_stream_whole() {
    const PINGS: u32 = 5_000;
    for per_write in [1, 2, 5, 7] {
        let mut c = Connection::server(Config::default());
        let mut wire = Vec::new();
        for i in 0..PINGS {
            c.handle_input(&client_ping(&i.to_be_bytes()));
            while c.poll_event().is_some() {}
            if i % 2 == 0 {
                c.send_text("x").unwrap();
            }
            let mut left = per_write;
            while left > 0 {
                let Some(chunk) = c.transmit_chunks().next() else {
                    break;
                };
                let n = chunk.len().min(left);
                wire.extend_from_slice(&chunk[..n]);
                c.advance_transmit(n);
                left -= n;
            }
        }
        // The pending output may start inside a frame: parse the whole
        // stream, then count what had not wholly gone out.
        let written = wire.len();
        let mut out = bytes::BytesMut::new();
        c.poll_transmit(&mut out);
        wire.extend_from_slice(&out);
        let frames = server_frames(&wire);
        let pongs_all = pongs(&frames);
        assert_eq!(
            *pongs_all.last().unwrap(),
            &(PINGS - 1).to_be_bytes()[..],
            "writes of {per_write}"
        );
        // The pongs pending at the end (any frame not wholly written) are
        // at most MAX_QUEUED_PONGS + 1.
        let mut end = 0;
        let pending_pongs = frames
            .iter()
            .filter(|(opcode, payload)| {
                end += 2 + payload.len();
                *opcode == 0xA && end > written
            })
            .count();
        assert!(
            pending_pongs <= MAX_QUEUED_PONGS + 1,
            "writes of {per_write}: {pending_pongs} pongs pending"
        );
        assert!(pending_pongs > 0, "the flood outruns the writes");
    }
}

/// An owed pong goes out before the close frame, never after it.
#[test]
fn owed_pong_goes_before_the_close() {
    let mut c = Connection::server(Config::default());
    let pings = u32::try_from(MAX_QUEUED_PONGS).unwrap() + 5;
    for i in 0..pings {
        c.handle_input(&client_ping(&i.to_be_bytes()));
        while c.poll_event().is_some() {}
        c.send_text("x").unwrap();
    }
    c.close(CloseCode::NORMAL, "").unwrap();
    let mut out = bytes::BytesMut::new();
    c.poll_transmit(&mut out);
    let frames = server_frames(&out);
    assert_eq!(frames.last().unwrap().0, 0x8, "the close is last");
    let pongs = pongs(&frames);
    assert_eq!(pongs.len(), MAX_QUEUED_PONGS + 1);
    assert_eq!(*pongs.last().unwrap(), &(pings - 1).to_be_bytes()[..]);
}
