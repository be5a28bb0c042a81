//! The server session state machine: handshake errors (§1.11), polling, heartbeat
//! for v3 and v4 with injected time, upgrade, close.

use bytes::Bytes;
use core::time::Duration;
use socketwire::engineio::{
    CloseReason, MessageData, Method, Reply, RequestInfo, Response, Server, ServerConfig,
    ServerEvent, WebSocketOpen, WebSocketOutput,
};

const SEC: Duration = Duration::from_secs(1);

struct Harness {
    server: Server,
    now: Duration,
}

impl Harness {
    fn new(config: ServerConfig) -> Harness {
        Harness {
            server: Server::new(config),
            now: Duration::ZERO,
        }
    }

    fn v3() -> Harness {
        Harness::new(ServerConfig {
            allow_eio3: true,
            ..ServerConfig::default()
        })
    }

    fn request(
        &mut self,
        method: Method,
        query: &str,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Reply {
        let body = Bytes::copy_from_slice(body);
        let request = RequestInfo {
            method,
            query,
            content_type,
            body: &body,
        };
        self.server
            .handle_request(&request, self.now, || "s1".into())
    }

    fn respond(&mut self, method: Method, query: &str, body: &[u8]) -> Response {
        match self.request(method, query, body, None) {
            Reply::Respond(r) => r,
            Reply::Wait => panic!("{query} waits"),
        }
    }

    fn get(&mut self, query: &str) -> Reply {
        self.request(Method::Get, query, b"", None)
    }

    fn post(&mut self, query: &str, body: &[u8]) -> Response {
        self.respond(Method::Post, query, body)
    }

    fn open(&mut self, query: &str) -> Response {
        let r = self.respond(Method::Get, query, b"");
        assert_eq!(r.status, 200, "{:?}", r);
        assert!(matches!(
            self.server.poll_event(),
            Some(ServerEvent::Open { .. })
        ));
        r
    }

    fn events(&mut self) -> Vec<ServerEvent> {
        core::iter::from_fn(|| self.server.poll_event()).collect()
    }

    fn websocket(&mut self) -> Vec<WebSocketOutput> {
        core::iter::from_fn(|| self.server.poll_websocket())
            .map(|(_, m)| m)
            .collect()
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.server.handle_timeout(self.now);
    }
}

fn body(r: &Response) -> &str {
    core::str::from_utf8(&r.body).unwrap()
}

const V4: &str = "EIO=4&transport=polling&sid=s1";
const V3: &str = "EIO=3&transport=polling&sid=s1";

fn error_body(code: u8, message: &str) -> String {
    format!(r#"{{"code":{code},"message":"{message}"}}"#)
}

#[test]
fn handshake_errors_match_the_reference_codes() {
    let cases: &[(Method, &str, u16, u8, &str)] = &[
        (
            Method::Get,
            "EIO=4&transport=abc",
            400,
            0,
            "Transport unknown",
        ),
        (Method::Get, "EIO=4", 400, 0, "Transport unknown"),
        (
            Method::Get,
            "EIO=4&transport=polling&sid=nope",
            400,
            1,
            "Session ID unknown",
        ),
        (
            Method::Post,
            "EIO=4&transport=polling",
            400,
            2,
            "Bad handshake method",
        ),
        (
            Method::Other,
            "EIO=4&transport=polling",
            400,
            2,
            "Bad handshake method",
        ),
        (
            Method::Get,
            "EIO=4&transport=websocket",
            400,
            3,
            "Bad request",
        ),
        (
            Method::Get,
            "transport=polling",
            400,
            5,
            "Unsupported protocol version",
        ),
        (
            Method::Get,
            "EIO=abc&transport=polling",
            400,
            5,
            "Unsupported protocol version",
        ),
        (
            Method::Get,
            "EIO=3&transport=polling",
            400,
            5,
            "Unsupported protocol version",
        ),
    ];
    for &(method, query, status, code, message) in cases {
        let mut h = Harness::new(ServerConfig::default());
        let r = h.respond(method, query, b"");
        assert_eq!(
            (r.status, body(&r), r.content_type),
            (status, &*error_body(code, message), "application/json"),
            "{query}"
        );
    }
    let forbidden = Response::error(&socketwire::engineio::Error::Forbidden);
    assert_eq!(
        (forbidden.status, body(&forbidden)),
        (403, &*error_body(4, "Forbidden"))
    );
}

#[test]
fn eio3_accepted_when_allowed_even_without_eio() {
    let mut h = Harness::v3();
    let r = h.open("transport=polling");
    assert!(body(&r).starts_with("100:0{\"sid\":\"s1\""), "{}", body(&r));
    assert_eq!(
        h.server.session_version("s1"),
        Some(socketwire::engineio::EngineIoVersion::V3)
    );
}

#[test]
fn polling_round_trip_v4() {
    let mut h = Harness::new(ServerConfig::default());
    let open = h.open("EIO=4&transport=polling");
    assert_eq!(open.content_type, "text/plain; charset=UTF-8");
    assert_eq!(
        body(&open),
        r#"0{"sid":"s1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
    );
    assert_eq!(h.get(V4), Reply::Wait);
    h.server.send_text("s1", "a").unwrap();
    h.server
        .send_binary("s1", Bytes::from_static(&[1, 2, 3]))
        .unwrap();
    let (sid, r) = h.server.poll_long_poll().unwrap();
    assert_eq!((sid.as_str(), body(&r)), ("s1", "4a\x1ebAQID"));
    assert_eq!(h.server.poll_long_poll(), None);
    let ok = h.post(V4, b"4hello\x1ebAQID");
    assert_eq!(
        (ok.status, body(&ok), ok.content_type),
        (200, "ok", "text/html")
    );
    assert_eq!(
        h.events(),
        [
            ServerEvent::Message {
                sid: "s1".into(),
                data: MessageData::Text("hello".into())
            },
            ServerEvent::Message {
                sid: "s1".into(),
                data: MessageData::Binary(Bytes::from_static(&[1, 2, 3]))
            },
        ]
    );
}

#[test]
fn v3_polling_binary_and_base64() {
    let mut h = Harness::v3();
    h.open("EIO=3&transport=polling");
    h.server.send_text("s1", "hello").unwrap();
    h.server
        .send_binary("s1", Bytes::from_static(&[1, 2, 3, 4]))
        .unwrap();
    let Reply::Respond(r) = h.get(V3) else {
        panic!()
    };
    assert_eq!(r.content_type, "application/octet-stream");
    assert_eq!(
        &r.body[..],
        &[
            0, 6, 0xFF, b'4', b'h', b'e', b'l', b'l', b'o', 1, 5, 0xFF, 4, 1, 2, 3, 4
        ]
    );
    // A binary POST from a v3 client.
    let bin = [
        0u8, 6, 0xFF, b'4', b'h', b'e', b'l', b'l', b'o', 1, 5, 0xFF, 4, 1, 2, 3, 4,
    ];
    let r = match h.request(Method::Post, V3, &bin, Some("application/octet-stream")) {
        Reply::Respond(r) => r,
        Reply::Wait => panic!(),
    };
    assert_eq!(r.status, 200);
    assert_eq!(h.events().len(), 2);

    let mut h = Harness::v3();
    h.open("EIO=3&transport=polling&b64=1");
    h.server
        .send_binary("s1", Bytes::from_static(&[1, 2, 3, 4]))
        .unwrap();
    let Reply::Respond(r) = h.get("EIO=3&transport=polling&sid=s1&b64=1") else {
        panic!()
    };
    assert_eq!(
        (body(&r), r.content_type),
        ("10:b4AQIDBA==", "text/plain; charset=UTF-8")
    );
}

#[test]
fn jsonp_polling() {
    let mut h = Harness::new(ServerConfig::default());
    let open = h.open("EIO=4&transport=polling&j=3");
    assert!(body(&open).starts_with(r#"___eio[3]("0{\"sid\":\"s1\""#));
    let r = h.post("EIO=4&transport=polling&sid=s1&j=3", b"d=4a%20b\\n");
    assert_eq!(r.status, 200);
    assert_eq!(
        h.events(),
        [ServerEvent::Message {
            sid: "s1".into(),
            data: MessageData::Text("a b\n".into())
        }]
    );
    h.server
        .send_binary("s1", Bytes::from_static(&[1]))
        .unwrap();
    let Reply::Respond(r) = h.get("EIO=4&transport=polling&sid=s1&j=3") else {
        panic!()
    };
    assert_eq!(
        (body(&r), r.content_type),
        (r#"___eio[3]("bAQ==");"#, "text/javascript; charset=UTF-8")
    );
}

#[test]
fn overlapping_get_is_refused_and_closes_the_session() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    assert!(matches!(h.get(V4), Reply::Wait));
    let Reply::Respond(second) = h.get(V4) else {
        panic!()
    };
    assert_eq!((second.status, second.body.len()), (400, 0));
    let (_, first) = h.server.poll_long_poll().unwrap();
    assert_eq!(body(&first), "1");
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason: CloseReason::TransportError("overlap from client")
        }]
    );
    let Reply::Respond(after) = h.get(V4) else {
        panic!()
    };
    assert_eq!(
        (after.status, body(&after)),
        (400, &*error_body(1, "Session ID unknown"))
    );
}

#[test]
fn oversize_post_gets_413() {
    let mut h = Harness::new(ServerConfig {
        max_payload: 10,
        ..ServerConfig::default()
    });
    h.open("EIO=4&transport=polling");
    let r = h.post(V4, b"4hello world");
    assert_eq!(r.status, 413);
    assert_eq!(h.server.session_count(), 1);
}

#[test]
fn v4_binary_post_is_refused() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    let r = match h.request(
        Method::Post,
        V4,
        b"\x00\x01\xff4",
        Some("application/octet-stream"),
    ) {
        Reply::Respond(r) => r,
        Reply::Wait => panic!(),
    };
    assert_eq!(r.status, 400);
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn invalid_payload_answers_ok_then_closes() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    let r = h.post(V4, b"abc");
    assert_eq!((r.status, body(&r)), (200, "ok"));
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason: CloseReason::ParseError
        }]
    );
    let Reply::Respond(after) = h.get(V4) else {
        panic!()
    };
    assert_eq!(body(&after), error_body(1, "Session ID unknown"));
    // 310 length digits in a v3 body: an error, not an overflow.
    let mut h = Harness::v3();
    h.open("EIO=3&transport=polling");
    let long = format!("{}:4", "9".repeat(310));
    assert_eq!(h.post(V3, long.as_bytes()).status, 200);
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason: CloseReason::ParseError
        }]
    );
}

#[test]
fn other_method_on_session_gets_500() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    assert_eq!(h.respond(Method::Other, V4, b"").status, 500);
}

#[test]
fn heartbeat_v4_ping_pong_and_timeout() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    assert_eq!(h.server.poll_timeout(), Some(25 * SEC));
    assert!(matches!(h.get(V4), Reply::Wait));
    h.advance(25 * SEC);
    let (_, ping) = h.server.poll_long_poll().unwrap();
    assert_eq!(body(&ping), "2");
    assert_eq!(h.server.poll_timeout(), Some(45 * SEC));
    h.now += 5 * SEC;
    assert_eq!(h.post(V4, b"3").status, 200);
    assert_eq!(h.server.poll_timeout(), Some(55 * SEC));
    h.advance(25 * SEC);
    assert_eq!(h.server.buffered_packets("s1"), 1);
    // No pong this time.
    h.advance(19 * SEC);
    assert_eq!(h.server.session_count(), 1);
    h.advance(SEC);
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason: CloseReason::PingTimeout
        }]
    );
    assert_eq!(h.server.poll_timeout(), None);
}

#[test]
fn heartbeat_v3_client_pings_and_timeout() {
    let mut h = Harness::v3();
    h.open("EIO=3&transport=polling");
    assert_eq!(h.server.poll_timeout(), Some(45 * SEC));
    h.now += 20 * SEC;
    assert_eq!(h.post(V3, b"1:2").status, 200);
    let Reply::Respond(pong) = h.get(V3) else {
        panic!()
    };
    assert_eq!(body(&pong), "1:3");
    assert_eq!(h.server.poll_timeout(), Some(65 * SEC));
    h.advance(44 * SEC);
    assert_eq!(h.server.session_count(), 1);
    h.advance(SEC);
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason: CloseReason::PingTimeout
        }]
    );
}

#[test]
fn wrong_heartbeat_direction_closes() {
    let reason = CloseReason::TransportError("invalid heartbeat direction");
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    assert_eq!(h.post(V4, b"2").status, 200);
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason
        }]
    );
    let Reply::Respond(after) = h.get(V4) else {
        panic!()
    };
    assert_eq!(
        (after.status, body(&after)),
        (400, &*error_body(1, "Session ID unknown"))
    );

    let mut h = Harness::v3();
    h.open("EIO=3&transport=polling");
    assert!(matches!(h.get(V3), Reply::Wait));
    assert_eq!(h.post(V3, b"1:3").status, 200);
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason
        }]
    );
    let (_, last) = h.server.poll_long_poll().unwrap();
    assert_eq!(body(&last), "1:1");
}

#[test]
fn upgrade_sequence() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    assert!(matches!(h.get(V4), Reply::Wait));
    let (sid, ws) = h
        .server
        .handle_websocket_open("EIO=4&transport=websocket&sid=s1", h.now, || unreachable!())
        .unwrap();
    let ws = ws.id().unwrap();
    assert_eq!(sid, "s1");
    // A second WebSocket with the same sid is accepted, then closed, while
    // upgrading (server.ts onWebSocket); the probing one is unaffected.
    let second_websocket = |h: &mut Harness| {
        h.server
            .handle_websocket_open("EIO=4&transport=websocket&sid=s1", h.now, || unreachable!())
    };
    let accept_then_close = Ok(("s1".into(), WebSocketOpen::AcceptThenClose));
    assert_eq!(second_websocket(&mut h), accept_then_close);
    h.server
        .handle_websocket_text("s1", ws, "2probe", h.now)
        .unwrap();
    assert_eq!(h.websocket(), [WebSocketOutput::Text("3probe".into())]);
    let (_, noop) = h.server.poll_long_poll().unwrap();
    assert_eq!(body(&noop), "6");
    // Sent while upgrading: a GET still takes what is buffered (socket.ts
    // flushes to the polling transport until the upgrade), an empty one gets
    // a noop.
    h.server.send_text("s1", "polled").unwrap();
    let Reply::Respond(polled) = h.get(V4) else {
        panic!()
    };
    assert_eq!(body(&polled), "4polled");
    let Reply::Respond(noop) = h.get(V4) else {
        panic!()
    };
    assert_eq!(body(&noop), "6");
    // What is buffered when `5` arrives goes out on the WebSocket.
    h.server.send_text("s1", "buffered").unwrap();
    h.server
        .send_binary("s1", Bytes::from_static(&[9]))
        .unwrap();
    h.server
        .handle_websocket_text("s1", ws, "5", h.now)
        .unwrap();
    assert_eq!(h.events(), [ServerEvent::Upgraded { sid: "s1".into() }]);
    assert_eq!(
        h.websocket(),
        [
            WebSocketOutput::Text("4buffered".into()),
            WebSocketOutput::Binary(Bytes::from_static(&[9]))
        ]
    );
    // Later polls with that sid are refused; another WebSocket is accepted,
    // then closed.
    let Reply::Respond(r) = h.get(V4) else {
        panic!()
    };
    assert_eq!((r.status, body(&r)), (400, &*error_body(3, "Bad request")));
    assert_eq!(second_websocket(&mut h), accept_then_close);
    // Messages now flow on the WebSocket, heartbeat too.
    h.server
        .handle_websocket_text("s1", ws, "4hi", h.now)
        .unwrap();
    assert_eq!(
        h.events(),
        [ServerEvent::Message {
            sid: "s1".into(),
            data: MessageData::Text("hi".into())
        }]
    );
    h.advance(25 * SEC);
    assert_eq!(h.websocket(), [WebSocketOutput::Text("2".into())]);
    h.server
        .handle_websocket_text("s1", ws, "3", h.now)
        .unwrap();
    h.server.handle_websocket_closed("s1", ws);
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason: CloseReason::TransportClose
        }]
    );
}

#[test]
fn upgrade_aborted_by_other_packet_and_by_timeout() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    let (_, ws) = h
        .server
        .handle_websocket_open("EIO=4&transport=websocket&sid=s1", h.now, || unreachable!())
        .unwrap();
    let ws = ws.id().unwrap();
    h.server
        .handle_websocket_text("s1", ws, "4early", h.now)
        .unwrap();
    assert_eq!(h.websocket(), [WebSocketOutput::Close]);
    h.server.send_text("s1", "still polling").unwrap();
    let Reply::Respond(r) = h.get(V4) else {
        panic!()
    };
    assert_eq!(body(&r), "4still polling");

    let (_, open) = h
        .server
        .handle_websocket_open("EIO=4&transport=websocket&sid=s1", h.now, || unreachable!())
        .unwrap();
    assert!(matches!(open, WebSocketOpen::Attach(_)));
    h.advance(10 * SEC);
    assert_eq!(h.websocket(), [WebSocketOutput::Close]);
    assert_eq!(h.server.session_count(), 1);
}

#[test]
fn websocket_only_sessions() {
    let mut h = Harness::v3();
    let (sid, ws) = h
        .server
        .handle_websocket_open("EIO=3&transport=websocket", h.now, || "w".into())
        .unwrap();
    let ws = ws.id().unwrap();
    let out = h.websocket();
    assert!(
        matches!(&out[..], [WebSocketOutput::Text(t)] if t.contains(r#""upgrades":[]"#)),
        "{out:?}"
    );
    // v3: a probe ping on a WebSocket-only session is a plain heartbeat.
    h.server
        .handle_websocket_text(&sid, ws, "2probe", h.now)
        .unwrap();
    assert_eq!(h.websocket(), [WebSocketOutput::Text("3".into())]);
    h.server
        .handle_websocket_binary(&sid, ws, Bytes::from_static(&[4, 1, 2]), h.now)
        .unwrap();
    h.server
        .send_binary(&sid, Bytes::from_static(&[7]))
        .unwrap();
    assert_eq!(
        h.websocket(),
        [WebSocketOutput::Binary(Bytes::from_static(&[4, 7]))]
    );
    // b64: binary goes as base64 text.
    let (sid, _) = h
        .server
        .handle_websocket_open("EIO=4&transport=websocket&b64=1", h.now, || "b".into())
        .unwrap();
    h.websocket();
    h.server
        .send_binary(&sid, Bytes::from_static(&[1, 2, 3]))
        .unwrap();
    assert_eq!(h.websocket(), [WebSocketOutput::Text("bAQID".into())]);
}

#[test]
fn client_close_on_polling() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    assert!(matches!(h.get(V4), Reply::Wait));
    assert_eq!(h.post(V4, b"1").status, 200);
    let (_, r) = h.server.poll_long_poll().unwrap();
    assert_eq!(body(&r), "6");
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason: CloseReason::TransportClose
        }]
    );
}

#[test]
fn server_close_flushes_then_closes() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    h.server.send_text("s1", "bye").unwrap();
    h.server.close("s1", h.now).unwrap();
    assert_eq!(
        h.events(),
        [ServerEvent::Closed {
            sid: "s1".into(),
            reason: CloseReason::ForcedClose
        }]
    );
    let Reply::Respond(r) = h.get(V4) else {
        panic!()
    };
    assert_eq!(body(&r), "4bye\x1e1");
    let Reply::Respond(r) = h.get(V4) else {
        panic!()
    };
    assert_eq!(body(&r), error_body(1, "Session ID unknown"));

    // With a GET waiting, it gets the close at once.
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    assert!(matches!(h.get(V4), Reply::Wait));
    h.server.close("s1", h.now).unwrap();
    let (_, r) = h.server.poll_long_poll().unwrap();
    assert_eq!(body(&r), "1");
    assert_eq!(h.server.session_count(), 0);

    // Nobody comes back: the closing session expires.
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    h.server.close("s1", h.now).unwrap();
    h.advance(20 * SEC);
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn aborted_poll_closes() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    assert!(matches!(h.get(V4), Reply::Wait));
    h.server.handle_poll_aborted("s1");
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn send_buffer_is_bounded() {
    let mut h = Harness::v3();
    let mut config = ServerConfig {
        allow_eio3: true,
        max_buffered_packets: 3,
        ..ServerConfig::default()
    };
    config.max_packets_per_payload = 10;
    h.server = Server::new(config);
    h.open("EIO=3&transport=polling");
    for _ in 0..3 {
        h.server.send_text("s1", "x").unwrap();
    }
    assert_eq!(
        h.server.send_text("s1", "x"),
        Err(socketwire::engineio::ApiMisuse::BufferFull)
    );
    // Peer pings that would overflow the buffer close the session instead.
    assert_eq!(h.post(V3, b"1:2").status, 200);
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn too_many_packets_in_a_post() {
    let mut h = Harness::new(ServerConfig {
        max_packets_per_payload: 2,
        ..ServerConfig::default()
    });
    h.open("EIO=4&transport=polling");
    assert_eq!(h.post(V4, b"4a\x1e4b\x1e4c").status, 200);
    let events = h.events();
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[2],
        ServerEvent::Closed {
            sid: "s1".into(),
            reason: CloseReason::ParseError
        }
    );
}

#[test]
fn oversize_websocket_message_closes() {
    let mut h = Harness::new(ServerConfig {
        max_payload: 4,
        ..ServerConfig::default()
    });
    let (sid, ws) = h
        .server
        .handle_websocket_open("EIO=4&transport=websocket", h.now, || "w".into())
        .unwrap();
    let ws = ws.id().unwrap();
    h.websocket();
    assert!(matches!(
        h.server.handle_websocket_text(&sid, ws, "4hello", h.now),
        Err(socketwire::engineio::Error::PayloadTooLarge { len: 6, max: 4 })
    ));
    assert_eq!(h.websocket(), [WebSocketOutput::Close]);
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn close_during_upgrade_drops_the_probe() {
    let mut h = Harness::new(ServerConfig::default());
    h.open("EIO=4&transport=polling");
    let (_, ws) = h
        .server
        .handle_websocket_open("EIO=4&transport=websocket&sid=s1", h.now, || unreachable!())
        .unwrap();
    let ws = ws.id().unwrap();
    h.server
        .handle_websocket_text("s1", ws, "2probe", h.now)
        .unwrap();
    h.websocket();
    h.server.close("s1", h.now).unwrap();
    assert_eq!(h.websocket(), [WebSocketOutput::Close]);
    let Reply::Respond(r) = h.get(V4) else {
        panic!()
    };
    assert_eq!(body(&r), "1");
}
