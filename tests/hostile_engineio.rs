//! Hostile Engine.IO peers against the sans-IO server: every bound stated on
//! its test and proved by counting (sessions, queued items, heap bytes through
//! a per-thread counting allocator), never by wall clock.
#![cfg(feature = "engineio")]

use std::time::Duration;

use bytes::Bytes;
use socketwire::engineio::{
    CloseReason, Error, MessageData, Method, Reply, RequestInfo, Response, Server, ServerConfig,
    ServerEvent, ServerSession, WebSocketOutput,
};

mod counting_alloc;
use counting_alloc::heap_growth;

const NOW: Duration = Duration::ZERO;
const SID: &str = "Yc4rT9mQ2xL7vB0nK5wZ8a";

fn respond(reply: Reply) -> Response {
    match reply {
        Reply::Respond(response) => response,
        Reply::Wait => panic!("expected an answer, not a parked GET"),
    }
}

/// A registry with one polling session `SID` whose outputs are drained.
fn server_with_session(config: ServerConfig) -> Server {
    let mut server = Server::new(config);
    let empty = Bytes::new();
    let open = server.handle_request(
        &RequestInfo::new(Method::Get, "EIO=4&transport=polling", &empty),
        NOW,
        || SID.into(),
    );
    assert_eq!(respond(open).status, 200);
    while server.poll_event().is_some() {}
    server
}

fn poll_query(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

/// Bound: a sid that names no session (`__proto__`, `constructor`, empty, a
/// 10 KB string) is `400 {"code":1,"message":"Session ID unknown"}` on every
/// route, creates nothing, keeps no heap after the reply is dropped, and
/// leaves the real session as it was.
#[test]
fn hostile_sids_are_unknown_sessions() {
    let long = "a".repeat(10 * 1024);
    let sids = [
        "__proto__",
        "constructor",
        "",
        long.as_str(),
        "Yc4rT9mQ2xL7vB0nK5wZ8",
        "%00",
    ];
    let mut server = server_with_session(ServerConfig::default());
    let body = Bytes::from_static(b"4hi");
    for sid in sids {
        let query = poll_query(sid);
        let ws_query = format!("EIO=4&transport=websocket&sid={sid}");
        let ((), _, held) = heap_growth(|| {
            for method in [Method::Get, Method::Post] {
                let reply =
                    server.handle_request(&RequestInfo::new(method, &query, &body), NOW, || {
                        unreachable!("not a handshake")
                    });
                let response = respond(reply);
                assert_eq!(response.status, 400);
                assert_eq!(
                    &response.body[..],
                    br#"{"code":1,"message":"Session ID unknown"}"#
                );
            }
            assert_eq!(
                server
                    .handle_websocket_open(&ws_query, NOW, || unreachable!())
                    .map(|_| ()),
                Err(Error::UnknownSid)
            );
            server.handle_poll_aborted(sid);
        });
        assert!(held <= 0, "sid {:.20}… kept {held} bytes", sid);
        assert_eq!(server.session_count(), 1);
        assert_eq!(server.poll_event(), None);
    }
    // The real session is untouched: it still parks a GET and gets its message.
    let empty = Bytes::new();
    let get = server.handle_request(
        &RequestInfo::new(Method::Get, &poll_query(SID), &empty),
        NOW,
        || unreachable!(),
    );
    assert_eq!(get, Reply::Wait);
    server.send_text(SID, "still here").unwrap();
    assert_eq!(&server.poll_long_poll().unwrap().1.body[..], b"4still here");
}

/// Bound: at most `max_sessions` sessions; 100 000 polling handshakes against
/// a cap of 1 000 open exactly 1 000, the other 99 000 get 403 code 4, and
/// once the cap is reached refused handshakes keep no heap.
#[test]
fn hundred_thousand_polling_handshakes_against_the_cap() {
    let mut server = Server::new(ServerConfig {
        max_sessions: 1_000,
        ..ServerConfig::default()
    });
    let empty = Bytes::new();
    let handshake = RequestInfo::new(Method::Get, "EIO=4&transport=polling", &empty);
    let mut next = 0u32;
    let mut new_sid = || {
        next += 1;
        format!("{next:032x}")
    };
    for _ in 0..1_000 {
        assert_eq!(
            respond(server.handle_request(&handshake, NOW, &mut new_sid)).status,
            200
        );
    }
    while server.poll_event().is_some() {}
    let mut refused = 0;
    let ((), _, held) = heap_growth(|| {
        for _ in 1_000..100_000 {
            let response = respond(server.handle_request(&handshake, NOW, &mut new_sid));
            if response.status == 403
                && &response.body[..] == br#"{"code":4,"message":"Too many sessions"}"#
            {
                refused += 1;
            }
        }
    });
    assert_eq!(refused, 99_000);
    assert!(held <= 0, "refused handshakes kept {held} bytes");
    assert_eq!(server.session_count(), 1_000);
    assert_eq!(server.poll_event(), None);
}

/// Bound: one parked GET per session. An overlapping GET is answered 400 and
/// closes the session ("overlap from client"); the parked GET is finished
/// with the close packet, so no response is left open.
#[test]
fn overlapping_polling_gets() {
    let mut server = server_with_session(ServerConfig::default());
    let empty = Bytes::new();
    let query = poll_query(SID);
    let get = RequestInfo::new(Method::Get, &query, &empty);
    assert_eq!(
        server.handle_request(&get, NOW, || unreachable!()),
        Reply::Wait
    );
    let second = respond(server.handle_request(&get, NOW, || unreachable!()));
    assert_eq!(second.status, 400);
    let (sid, first) = server.poll_long_poll().expect("the parked GET is finished");
    assert_eq!((sid.as_str(), &first.body[..]), (SID, &b"1"[..]));
    assert_eq!(server.poll_long_poll(), None);
    assert_eq!(server.session_count(), 0);
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::Closed {
            reason: CloseReason::TransportError("overlap from client"),
            ..
        })
    ));
    // A third GET finds no session.
    assert_eq!(
        respond(server.handle_request(&get, NOW, || unreachable!())).status,
        400
    );
}

/// Bound: a POST body is at most `max_payload` (1 MB) and holds at most
/// `max_packets_per_payload` (64) packets. A body one byte over is 413 with
/// nothing decoded; a 1 MB body of 333 333 tiny packets yields at most 64
/// messages before the session closes; a 1 MB single message is one event.
#[test]
fn one_megabyte_posts() {
    let config = ServerConfig::default();
    let limit = config.max_payload;
    let query = poll_query(SID);

    let mut server = server_with_session(config.clone());
    let over = Bytes::from(vec![b'4'; limit + 1]);
    let response = respond(server.handle_request(
        &RequestInfo::new(Method::Post, &query, &over),
        NOW,
        || unreachable!(),
    ));
    assert_eq!(response.status, 413);
    assert_eq!(server.poll_event(), None);
    assert_eq!(server.session_count(), 1);

    let mut tiny = Vec::with_capacity(limit);
    while tiny.len() + 3 <= limit {
        tiny.extend_from_slice(b"4x\x1e");
    }
    tiny.pop();
    let tiny = Bytes::from(tiny);
    let response = respond(server.handle_request(
        &RequestInfo::new(Method::Post, &query, &tiny),
        NOW,
        || unreachable!(),
    ));
    assert_eq!(response.status, 200);
    let events: Vec<ServerEvent> = std::iter::from_fn(|| server.poll_event()).collect();
    let messages = events
        .iter()
        .filter(|e| matches!(e, ServerEvent::Message { .. }))
        .count();
    assert!(messages <= 64, "{messages} messages from one POST");
    assert_eq!(
        server.session_count(),
        0,
        "too many packets closes the session"
    );

    let mut server = server_with_session(config);
    let mut one = vec![b'x'; limit];
    one[0] = b'4';
    let one = Bytes::from(one);
    let response = respond(server.handle_request(
        &RequestInfo::new(Method::Post, &query, &one),
        NOW,
        || unreachable!(),
    ));
    assert_eq!(response.status, 200);
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::Message { data: MessageData::Text(t), .. }) if t.len() == limit - 1
    ));
}

/// Bound: an invalid binary POST on v4 polling (an `application/octet-stream`
/// body) is answered 400 at once and the parked GET is finished with the
/// close packet: no response is left open (engine.io CVE-2026-59725).
#[test]
fn invalid_binary_post_on_v4_finishes_the_parked_get() {
    let mut server = server_with_session(ServerConfig::default());
    let empty = Bytes::new();
    let query = poll_query(SID);
    assert_eq!(
        server.handle_request(
            &RequestInfo::new(Method::Get, &query, &empty),
            NOW,
            || unreachable!()
        ),
        Reply::Wait
    );
    let body = Bytes::from_static(&[0x00, 0x02, 0xff, b'4', b'x']);
    let post = RequestInfo {
        method: Method::Post,
        query: &query,
        content_type: Some("application/octet-stream"),
        body: &body,
    };
    let response = respond(server.handle_request(&post, NOW, || unreachable!()));
    assert_eq!(response.status, 400);
    let (_, parked) = server
        .poll_long_poll()
        .expect("the parked GET gets its answer");
    assert_eq!((parked.status, &parked.body[..]), (200, &b"1"[..]));
    assert_eq!(server.session_count(), 0);
}

/// Bound: crafted requests on one session never disturb another. Session A
/// gets an overlapping GET, a bad POST, a second WebSocket and a flood; B's
/// parked GET, buffered messages and state are unchanged.
#[test]
fn crafted_requests_on_one_session_never_disturb_another() {
    let mut server = Server::new(ServerConfig {
        max_buffered_packets: 8,
        ..ServerConfig::default()
    });
    let empty = Bytes::new();
    let handshake = RequestInfo::new(Method::Get, "EIO=4&transport=polling", &empty);
    let mut sids = ["Yc4rT9mQ2xL7vB0nK5wZ8a", "Hq2wE7rT1yU6iO3pA9sD4f"].into_iter();
    for _ in 0..2 {
        respond(server.handle_request(&handshake, NOW, || sids.next().unwrap().into()));
    }
    while server.poll_event().is_some() {}
    let (a, b) = ("Yc4rT9mQ2xL7vB0nK5wZ8a", "Hq2wE7rT1yU6iO3pA9sD4f");
    let (qa, qb) = (poll_query(a), poll_query(b));
    assert_eq!(
        server.handle_request(
            &RequestInfo::new(Method::Get, &qb, &empty),
            NOW,
            || unreachable!()
        ),
        Reply::Wait
    );
    for _ in 0..100 {
        let _ = server.send_text(a, "flood");
    }
    let crafted = [
        Bytes::from_static(b"4a\x1e\x1e4b"),
        Bytes::from_static(b"2"),
        Bytes::from_static(b"0{}"),
        Bytes::from(vec![0xff; 1024]),
    ];
    for body in &crafted {
        let _ = server.handle_request(
            &RequestInfo::new(Method::Post, &qa, body),
            NOW,
            || unreachable!(),
        );
    }
    let _ = server.handle_websocket_open(
        &format!("EIO=4&transport=websocket&sid={a}"),
        NOW,
        || unreachable!(),
    );
    let _ = server.handle_request(
        &RequestInfo::new(Method::Get, &qa, &empty),
        NOW,
        || unreachable!(),
    );
    let _ = server.handle_request(
        &RequestInfo::new(Method::Get, &qa, &empty),
        NOW,
        || unreachable!(),
    );
    while let Some((sid, _)) = server.poll_long_poll() {
        assert_eq!(sid, a, "only A's GETs are answered");
    }
    while let Some(event) = server.poll_event() {
        assert_eq!(event.sid(), a);
    }
    // B is exactly as it was.
    assert!(server.session(b).is_some());
    assert_eq!(server.buffered_packets(b), 0);
    server.send_text(b, "for b").unwrap();
    let (sid, response) = server.poll_long_poll().unwrap();
    assert_eq!((sid.as_str(), &response.body[..]), (b, &b"4for b"[..]));
}

/// Bound: a WebSocket whose output is never taken holds at most
/// `max_buffered_packets` messages (plus the final close), whatever the peer
/// sends: 100 000 v3 pings end with the session closed, not 100 000 pongs.
#[test]
fn ping_flood_while_output_is_never_drained() {
    let config = ServerConfig {
        allow_eio3: true,
        ..ServerConfig::default()
    };
    let cap = config.max_buffered_packets;
    let mut session =
        ServerSession::open_websocket(&config, "EIO=3&transport=websocket", NOW, || SID.into())
            .unwrap();
    let ws = session.websocket().unwrap();
    let ((), _, held) = heap_growth(|| {
        for _ in 0..100_000 {
            session.handle_websocket_text(ws, "2", NOW).unwrap();
        }
    });
    assert!(session.is_closed());
    assert!(held < 64 * 1024 + 64 * cap as isize, "{held} bytes queued");
    let queued = std::iter::from_fn(|| session.poll_websocket()).collect::<Vec<_>>();
    assert!(queued.len() <= cap + 1);
    assert_eq!(queued.last(), Some(&WebSocketOutput::Close));
}
