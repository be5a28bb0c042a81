//! `ServerSession` on its own: routing, the closing state, parked GETs, the
//! peer/caller error split, and the registry (`Server`) giving the same wire
//! output as a bare session for the same inputs.

use bytes::Bytes;
use core::time::Duration;
use socketwire::engineio::{
    ApiMisuse, CloseReason, Error, FramedMessage, MessageData, Method, Reply, RequestInfo,
    Response, Route, Server, ServerConfig, ServerEvent, ServerSession, SessionEvent, Transport,
    WebSocketOpen, WebSocketOutput,
};

const SEC: Duration = Duration::from_secs(1);
const POLL: &str = "EIO=4&transport=polling&sid=s1";

fn polling_session(config: &ServerConfig) -> ServerSession {
    let body = Bytes::new();
    let handshake = RequestInfo::new(Method::Get, "EIO=4&transport=polling", &body);
    let (session, open) =
        ServerSession::open_polling(config, &handshake, Duration::ZERO, || "s1".into()).unwrap();
    assert!(open.body.starts_with(b"0{\"sid\":\"s1\""));
    session
}

fn get(session: &mut ServerSession, now: Duration) -> Reply {
    let body = Bytes::new();
    session.handle_request(&RequestInfo::new(Method::Get, POLL, &body), now)
}

fn post(session: &mut ServerSession, payload: &'static [u8], now: Duration) -> Response {
    let body = Bytes::from_static(payload);
    match session.handle_request(&RequestInfo::new(Method::Post, POLL, &body), now) {
        Reply::Respond(response) => response,
        Reply::Wait => panic!("a POST never waits"),
    }
}

#[test]
fn routes() {
    let config = ServerConfig::default();
    assert_eq!(
        Route::request(&config, "EIO=4&transport=polling"),
        Ok(Route::Handshake)
    );
    assert_eq!(Route::request(&config, POLL), Ok(Route::Session("s1")));
    assert_eq!(
        Route::request(&config, "EIO=4&sid=s1"),
        Err(Error::UnknownTransport)
    );
    assert_eq!(
        Route::websocket(&config, "EIO=4&transport=websocket&sid=s1"),
        Ok(Route::Session("s1"))
    );
    assert_eq!(Route::websocket(&config, POLL), Err(Error::BadRequest));
    let no_websocket = ServerConfig {
        websocket: false,
        ..ServerConfig::default()
    };
    assert_eq!(
        Route::websocket(&no_websocket, "EIO=4&transport=websocket"),
        Err(Error::UnknownTransport)
    );
}

#[test]
fn parked_get_collects_everything_sent_before_it_is_polled() {
    let config = ServerConfig::default();
    let mut session = polling_session(&config);
    assert_eq!(get(&mut session, SEC), Reply::Wait);
    assert!(!session.has_long_poll());
    session.send_text("a").unwrap();
    session.send_text("b").unwrap();
    assert!(session.has_long_poll());
    assert_eq!(&session.poll_long_poll().unwrap().body[..], b"4a\x1e4b");
    assert_eq!(session.poll_long_poll(), None);
}

#[test]
fn framed_messages_go_out_as_their_text_on_polling_and_shared_on_websocket() {
    let config = ServerConfig::default();
    let news = FramedMessage::new(r#"2["news","hi"]"#);
    // Polling: the packet in the payload, between ordinary messages, in order.
    let mut session = polling_session(&config);
    session.send_text("a").unwrap();
    session.send_framed(&news).unwrap();
    session.send_text("b").unwrap();
    assert_eq!(session.buffered_amount(), 2 + news.as_bytes().len() + 2);
    let Reply::Respond(r) = get(&mut session, SEC) else {
        panic!("the GET is answered at once")
    };
    assert_eq!(&r.body[..], b"4a\x1e42[\"news\",\"hi\"]\x1e4b");
    // WebSocket: the same bytes, shared (not copied).
    let mut ws =
        ServerSession::open_websocket(&config, "EIO=4&transport=websocket", Duration::ZERO, || {
            "s2".into()
        })
        .unwrap();
    let _open = ws.poll_websocket();
    ws.send_framed(&news).unwrap();
    let Some(WebSocketOutput::SharedText(bytes)) = ws.poll_websocket() else {
        panic!("a shared text message")
    };
    assert_eq!(bytes.as_ptr(), news.as_bytes().as_ptr());
    assert_eq!(bytes, r#"42["news","hi"]"#);
    // While it waits on polling it counts its bytes; the registry refuses an unknown sid.
    let mut up = polling_session(&config);
    up.send_framed(&news).unwrap();
    let mut server = Server::new(config.clone());
    assert_eq!(
        server.send_framed("nope", &news),
        Err(ApiMisuse::UnknownSid)
    );
    assert_eq!(up.buffered_amount(), news.as_bytes().len());
}

/// `data` sent as a binary message on a WebSocket session opened with
/// `query`: the bytes it counts as buffered, and what comes out.
fn binary_on_websocket(query: &str, data: &Bytes) -> (usize, Bytes) {
    let config = ServerConfig {
        allow_eio3: true,
        ..ServerConfig::default()
    };
    let mut s =
        ServerSession::open_websocket(&config, query, Duration::ZERO, || "b".into()).unwrap();
    let _open = s.poll_websocket();
    s.send_binary(data.clone()).unwrap();
    let buffered = s.buffered_amount();
    let Some(WebSocketOutput::Binary(frame)) = s.poll_websocket() else {
        panic!("a binary message")
    };
    (buffered, frame)
}

#[test]
fn binary_messages_on_websocket_go_as_they_are_in_v4_and_after_a_type_byte_in_v3() {
    let data = Bytes::from(vec![7u8; 4096]);
    // v4: the frame is the data, moved (the same bytes, not a copy).
    let (buffered, frame) = binary_on_websocket("EIO=4&transport=websocket", &data);
    assert_eq!(buffered, data.len());
    assert_eq!(frame.as_ptr(), data.as_ptr());
    assert_eq!(frame, data);
    // v3: the `4` type byte, then the data.
    let (buffered, frame) = binary_on_websocket("EIO=3&transport=websocket", &data);
    assert_eq!(buffered, 1 + data.len());
    assert_eq!(frame[0], 4);
    assert_eq!(&frame[1..], &data[..]);
}

#[test]
fn closing_state_answers_the_next_get_then_ends() {
    let config = ServerConfig::default();
    let mut session = polling_session(&config);
    session.send_text("last").unwrap();
    session.close(SEC);
    // The application hears of it at once; the client on its next GET.
    assert_eq!(
        session.poll_event(),
        Some(SessionEvent::Closed(CloseReason::ForcedClose))
    );
    assert!(!session.is_closed());
    assert_eq!(session.send_text("late"), Err(ApiMisuse::Closed));
    assert_eq!(session.poll_timeout(), Some(SEC + config.ping_timeout));
    let Reply::Respond(last) = get(&mut session, 2 * SEC) else {
        panic!("the closing GET is answered at once")
    };
    assert_eq!(&last.body[..], b"4last\x1e1");
    assert!(session.is_closed());
    assert_eq!(session.poll_event(), None, "Closed is reported once");
    // Any later request for the sid is refused like an unknown sid.
    let Reply::Respond(gone) = get(&mut session, 3 * SEC) else {
        panic!()
    };
    assert_eq!(gone, Response::error(&Error::UnknownSid));

    // Without a GET, the closing session ends silently after pingTimeout.
    let mut session = polling_session(&config);
    session.close(SEC);
    let _ = session.poll_event();
    session.handle_timeout(SEC + config.ping_timeout);
    assert!(session.is_closed());
    assert_eq!(session.poll_event(), None);
}

#[test]
fn peer_errors_and_caller_errors_are_apart() {
    let config = ServerConfig {
        max_payload: 8,
        ..ServerConfig::default()
    };
    let mut session = polling_session(&config);
    // A WebSocket message with an id this session never handed out is the caller's bug.
    let foreign =
        ServerSession::open_websocket(&config, "EIO=4&transport=websocket", SEC, || "other".into())
            .unwrap()
            .websocket()
            .unwrap();
    assert_eq!(
        session.handle_websocket_text(foreign, "4hi", SEC),
        Err(Error::ApiMisuse(ApiMisuse::NoWebSocket))
    );
    // An oversized POST is the peer's.
    assert_eq!(post(&mut session, b"4123456789", SEC).status, 413);

    let mut server = Server::new(config);
    assert_eq!(
        server.handle_websocket_text("nope", foreign, "4", SEC),
        Err(Error::ApiMisuse(ApiMisuse::UnknownSid))
    );
    assert_eq!(server.close("nope", SEC), Err(ApiMisuse::UnknownSid));
    let body = Bytes::new();
    let Reply::Respond(unknown) = server.handle_request(
        &RequestInfo::new(Method::Get, POLL, &body),
        SEC,
        || unreachable!(),
    ) else {
        panic!()
    };
    assert_eq!(
        &unknown.body[..],
        br#"{"code":1,"message":"Session ID unknown"}"#
    );
    // A sid generator that repeats itself is the caller's bug too (HTTP 500).
    let handshake = RequestInfo::new(Method::Get, "EIO=4&transport=polling", &body);
    let _ = server.handle_request(&handshake, SEC, || "dup".into());
    let Reply::Respond(dup) = server.handle_request(&handshake, SEC, || "dup".into()) else {
        panic!()
    };
    assert_eq!(dup.status, 500);
    assert_eq!(server.session_count(), 1);
}

/// One step of a scripted client, fed to a bare session and to the registry.
#[derive(Clone, Copy)]
enum Step {
    Get,
    Post(&'static [u8]),
    WebSocketOpen,
    WebSocketText(&'static str),
    Send(&'static str),
    Timeout(Duration),
}

/// Everything observable: replies, long-poll responses, WebSocket output, events.
#[derive(Debug, Default, PartialEq)]
struct Trace {
    replies: Vec<Reply>,
    long_polls: Vec<Response>,
    websocket: Vec<WebSocketOutput>,
    events: Vec<String>,
}

fn script() -> Vec<Step> {
    use Step::*;
    vec![
        Get,
        Post(b"4hello"),
        Send("one"),
        Get,
        Timeout(Duration::from_secs(25)),
        Get,
        Post(b"3"),
        WebSocketOpen,
        WebSocketText("2probe"),
        Send("buffered"),
        WebSocketText("5"),
        Send("over websocket"),
        Timeout(Duration::from_secs(60)),
        WebSocketText("3"),
        Timeout(Duration::from_secs(200)),
        // No pong for the ping sent at 200 s.
        Timeout(Duration::from_secs(300)),
    ]
}

fn run_bare(config: &ServerConfig) -> Trace {
    let mut trace = Trace::default();
    let mut session = polling_session(config);
    let mut now = Duration::ZERO;
    let mut ws = None;
    for step in script() {
        match step {
            Step::Get => trace.replies.push(get(&mut session, now)),
            Step::Post(body) => trace
                .replies
                .push(Reply::Respond(post(&mut session, body, now))),
            Step::WebSocketOpen => {
                ws = Some(
                    session
                        .handle_websocket_open("EIO=4&transport=websocket&sid=s1", now)
                        .unwrap()
                        .id()
                        .unwrap(),
                );
            }
            Step::WebSocketText(text) => session
                .handle_websocket_text(ws.unwrap(), text, now)
                .unwrap(),
            Step::Send(text) => session.send_text(text).unwrap(),
            Step::Timeout(at) => {
                now = at;
                session.handle_timeout(now);
            }
        }
        while let Some(response) = session.poll_long_poll() {
            trace.long_polls.push(response);
        }
        trace
            .websocket
            .extend(core::iter::from_fn(|| session.poll_websocket()));
        while let Some(event) = session.poll_event() {
            trace.events.push(format!("{event:?}"));
        }
    }
    trace
}

fn run_registry(config: &ServerConfig) -> Trace {
    let mut trace = Trace::default();
    let mut server = Server::new(config.clone());
    let body = Bytes::new();
    let handshake = RequestInfo::new(Method::Get, "EIO=4&transport=polling", &body);
    let _ = server.handle_request(&handshake, Duration::ZERO, || "s1".into());
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::Open { .. })
    ));
    let mut now = Duration::ZERO;
    let mut ws = None;
    for step in script() {
        match step {
            Step::Get => trace.replies.push(server.handle_request(
                &RequestInfo::new(Method::Get, POLL, &body),
                now,
                || unreachable!(),
            )),
            Step::Post(payload) => {
                let payload = Bytes::from_static(payload);
                let post = RequestInfo::new(Method::Post, POLL, &payload);
                trace
                    .replies
                    .push(server.handle_request(&post, now, || unreachable!()));
            }
            Step::WebSocketOpen => {
                let query = "EIO=4&transport=websocket&sid=s1";
                ws = Some(
                    server
                        .handle_websocket_open(query, now, || unreachable!())
                        .unwrap()
                        .1
                        .id()
                        .unwrap(),
                );
            }
            Step::WebSocketText(text) => server
                .handle_websocket_text("s1", ws.unwrap(), text, now)
                .unwrap(),
            Step::Send(text) => server.send_text("s1", text).unwrap(),
            Step::Timeout(at) => {
                now = at;
                server.handle_timeout(now);
            }
        }
        while let Some((sid, response)) = server.poll_long_poll() {
            assert_eq!(sid, "s1");
            trace.long_polls.push(response);
        }
        while let Some((sid, output)) = server.poll_websocket() {
            assert_eq!(sid, "s1");
            trace.websocket.push(output);
        }
        while let Some(event) = server.poll_event() {
            let event = match event {
                ServerEvent::Message { data, .. } => SessionEvent::Message(data),
                ServerEvent::Upgraded { .. } => SessionEvent::Upgraded,
                ServerEvent::Closed { reason, .. } => SessionEvent::Closed(reason),
                other => panic!("unexpected {other:?}"),
            };
            trace.events.push(format!("{event:?}"));
        }
    }
    assert_eq!(
        server.session_count(),
        0,
        "the closed session left the registry"
    );
    trace
}

#[test]
fn registry_and_bare_session_agree_on_the_wire() {
    let config = ServerConfig::default();
    let bare = run_bare(&config);
    assert_eq!(bare, run_registry(&config));
    // And the script did what it says.
    assert_eq!(
        bare.events.first(),
        Some(&format!(
            "{:?}",
            SessionEvent::Message(MessageData::Text("hello".into()))
        ))
    );
    assert!(
        bare.websocket
            .contains(&WebSocketOutput::Text("3probe".into()))
    );
    assert!(
        bare.websocket
            .contains(&WebSocketOutput::Text("4buffered".into()))
    );
    assert!(bare.websocket.contains(&WebSocketOutput::Text("2".into())));
    assert_eq!(
        bare.events.last(),
        Some(&format!(
            "{:?}",
            SessionEvent::Closed(CloseReason::PingTimeout)
        ))
    );
}

#[test]
fn websocket_only_session() {
    let config = ServerConfig::default();
    let mut session =
        ServerSession::open_websocket(&config, "EIO=4&transport=websocket&b64=1", SEC, || {
            "w".into()
        })
        .unwrap();
    assert_eq!(session.transport(), Transport::WebSocket);
    let Some(WebSocketOutput::Text(open)) = session.poll_websocket() else {
        panic!()
    };
    assert!(open.contains(r#""upgrades":[]"#));
    // b64: binary goes out as base64 text.
    session.send_binary(Bytes::from_static(&[1, 2, 3])).unwrap();
    assert_eq!(
        session.poll_websocket(),
        Some(WebSocketOutput::Text("bAQID".into()))
    );
    session.handle_websocket_closed(session.websocket().unwrap());
    assert!(session.is_closed());
    assert_eq!(session.poll_timeout(), None);
}

#[test]
fn buffer_cap_and_the_close_packet() {
    let config = ServerConfig {
        max_buffered_packets: 2,
        ..ServerConfig::default()
    };
    let mut session = polling_session(&config);
    session.send_text("a").unwrap();
    session.send_text("b").unwrap();
    assert_eq!(session.send_text("c"), Err(ApiMisuse::BufferFull));
    // A server close still appends its `close` packet: the cap plus one.
    session.close(SEC);
    assert_eq!(session.buffered_packets(), 3);
    let Reply::Respond(last) = get(&mut session, SEC) else {
        panic!()
    };
    assert_eq!(&last.body[..], b"4a\x1e4b\x1e1");
}

/// Finding: a stale WebSocket (an aborted probe) must neither drive nor tear
/// down a newer WebSocket attached to the same sid. The reference server
/// accepts a second socket while one probes and closes it at once; once the
/// probe is aborted a new one may try, and only the current socket's input
/// counts.
#[test]
fn stale_websocket_is_ignored() {
    const UPGRADE: &str = "EIO=4&transport=websocket&sid=s1";
    let config = ServerConfig::default();
    let mut session = polling_session(&config);
    let a = session
        .handle_websocket_open(UPGRADE, SEC)
        .unwrap()
        .id()
        .unwrap();
    // Accepted then closed while A probes, like the reference server.
    assert_eq!(
        session.handle_websocket_open(UPGRADE, SEC),
        Ok(WebSocketOpen::AcceptThenClose)
    );
    // A sends something other than a probe: the upgrade aborts, A is closed.
    session.handle_websocket_text(a, "4early", SEC).unwrap();
    assert_eq!(session.poll_websocket(), Some(WebSocketOutput::Close));
    let b = session
        .handle_websocket_open(UPGRADE, SEC)
        .unwrap()
        .id()
        .unwrap();
    assert_ne!(a, b);
    // A's late probe, upgrade and close change nothing.
    session.handle_websocket_text(a, "2probe", SEC).unwrap();
    session.handle_websocket_text(a, "5", SEC).unwrap();
    session.handle_websocket_closed(a);
    assert_eq!(session.poll_websocket(), None);
    assert_eq!(session.transport(), Transport::Polling);
    assert_eq!(session.websocket(), Some(b));
    // B upgrades; A still cannot drive or close the session.
    session.handle_websocket_text(b, "2probe", SEC).unwrap();
    assert_eq!(
        session.poll_websocket(),
        Some(WebSocketOutput::Text("3probe".into()))
    );
    session.handle_websocket_text(b, "5", SEC).unwrap();
    assert_eq!(session.transport(), Transport::WebSocket);
    assert_eq!(session.poll_event(), Some(SessionEvent::Upgraded));
    session.handle_websocket_text(a, "4forged", SEC).unwrap();
    session.handle_websocket_closed(a);
    assert_eq!(session.poll_event(), None);
    assert!(!session.is_closed());
    session.handle_websocket_closed(b);
    assert_eq!(
        session.poll_event(),
        Some(SessionEvent::Closed(CloseReason::TransportClose))
    );

    // The registry passes the ids through: the same story by sid.
    let mut server = Server::new(config);
    let body = Bytes::new();
    let handshake = RequestInfo::new(Method::Get, "EIO=4&transport=polling", &body);
    let _ = server.handle_request(&handshake, SEC, || "s1".into());
    let (_, a) = server
        .handle_websocket_open(UPGRADE, SEC, || unreachable!())
        .unwrap();
    let a = a.id().unwrap();
    server
        .handle_websocket_text("s1", a, "4early", SEC)
        .unwrap();
    let (_, b) = server
        .handle_websocket_open(UPGRADE, SEC, || unreachable!())
        .unwrap();
    let b = b.id().unwrap();
    server.handle_websocket_closed("s1", a);
    server
        .handle_websocket_text("s1", b, "2probe", SEC)
        .unwrap();
    server.handle_websocket_text("s1", b, "5", SEC).unwrap();
    server.handle_websocket_closed("s1", a);
    assert_eq!(
        server.session("s1").unwrap().transport(),
        Transport::WebSocket
    );
    server.handle_websocket_closed("s1", b);
    assert_eq!(server.session_count(), 0);
}

/// Finding: WebSocket output had no cap (the send path returned before the
/// `max_buffered_packets` check). Bound: at most `max_buffered_packets`
/// messages wait on `poll_websocket`, plus the one final close.
#[test]
fn websocket_output_is_capped() {
    let config = ServerConfig {
        max_buffered_packets: 4,
        allow_eio3: true,
        ..ServerConfig::default()
    };
    let mut session =
        ServerSession::open_websocket(&config, "EIO=4&transport=websocket", SEC, || "s1".into())
            .unwrap();
    let _open = session.poll_websocket();
    for _ in 0..4 {
        session.send_text("x").unwrap();
    }
    assert_eq!(session.send_text("x"), Err(ApiMisuse::BufferFull));
    assert_eq!(
        session.send_binary(Bytes::from_static(&[1])),
        Err(ApiMisuse::BufferFull)
    );
    // Draining makes room again.
    assert!(session.poll_websocket().is_some());
    session.send_text("x").unwrap();

    // v3: a ping flood whose pongs are never taken closes the session at the cap.
    let mut v3 =
        ServerSession::open_websocket(&config, "EIO=3&transport=websocket", SEC, || "s3".into())
            .unwrap();
    let ws = v3.websocket().unwrap();
    for _ in 0..100_000 {
        v3.handle_websocket_text(ws, "2", SEC).unwrap();
    }
    assert!(v3.is_closed());
    let queued = core::iter::from_fn(|| v3.poll_websocket()).count();
    assert!(queued <= 4 + 1, "{queued} messages queued");
    assert!(
        core::iter::from_fn(|| v3.poll_event())
            .any(|e| e == SessionEvent::Closed(CloseReason::TransportError("send buffer full")))
    );
}

/// Finding: no cap on sessions. Bound: `max_sessions` sessions; the next
/// handshake (polling or WebSocket) gets the reference server's admission
/// refusal, 403 `{"code":4,…}`, and closing a session makes room again.
#[test]
fn session_cap_refuses_handshakes() {
    let mut server = Server::new(ServerConfig {
        max_sessions: 3,
        ..ServerConfig::default()
    });
    let body = Bytes::new();
    let handshake = RequestInfo::new(Method::Get, "EIO=4&transport=polling", &body);
    let mut next = 0;
    let mut new_sid = || {
        next += 1;
        format!("sid{next}")
    };
    for _ in 0..3 {
        let Reply::Respond(open) = server.handle_request(&handshake, SEC, &mut new_sid) else {
            panic!()
        };
        assert_eq!(open.status, 200);
    }
    let Reply::Respond(refused) = server.handle_request(&handshake, SEC, &mut new_sid) else {
        panic!()
    };
    assert_eq!(refused.status, 403);
    assert_eq!(
        &refused.body[..],
        br#"{"code":4,"message":"Too many sessions"}"#
    );
    assert_eq!(
        server.handle_websocket_open("EIO=4&transport=websocket", SEC, &mut new_sid),
        Err(Error::TooManySessions)
    );
    assert_eq!(server.session_count(), 3);
    server.close("sid1", SEC).unwrap();
    // A closing polling session still counts until its last GET or timeout.
    server.handle_timeout(SEC * 60);
    assert!(server.session_count() < 3);
    assert!(
        server
            .handle_websocket_open("EIO=4&transport=websocket", SEC * 60, &mut new_sid)
            .is_ok()
    );
}
