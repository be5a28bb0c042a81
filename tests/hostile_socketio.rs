//! Hostile Socket.IO peers: every bound the server sessions promise, each
//! stated on its test and proved by counting (queued items, visited entries,
//! heap bytes through a per-thread counting allocator), never by wall clock.
#![cfg(feature = "socketio")]

use std::time::Duration;

use bytes::Bytes;
use socketwire::socketio::{
    ApiMisuse, CloseReason, DecoderConfig, EngineMessage, Error, RoomRegistry, ServerConfig,
    ServerEvent, ServerSession,
};

mod counting_alloc;
use counting_alloc::heap_growth;

const NOW: Duration = Duration::ZERO;

/// A v5 session connected to `/`, outputs drained.
fn connected(config: ServerConfig) -> ServerSession {
    let mut s = ServerSession::new(config, NOW);
    s.handle_text("0", NOW).unwrap();
    while s.poll_event().is_some() {}
    s.accept("/", "Kq0lYz3d8Vb1xW5nP2sT7g").unwrap();
    while s.poll_message().is_some() {}
    s
}

/// Bound: a socket is in at most `RoomRegistry::DEFAULT_MAX_ROOMS_PER_SOCKET`
/// rooms per namespace; 10 000 joins of distinct rooms leave it in exactly
/// that many, each refused join is `TooManyRooms` and allocates nothing that
/// stays.
#[test]
fn ten_thousand_distinct_room_joins() {
    let cap = RoomRegistry::<u32>::DEFAULT_MAX_ROOMS_PER_SOCKET;
    let mut rooms = RoomRegistry::new();
    let names: Vec<String> = (0..10_000).map(|i| format!("room-{i}")).collect();
    let mut refused = 0;
    for name in &names[..cap] {
        rooms.join("/", 7u32, name).unwrap();
    }
    let (_, _, live) = heap_growth(|| {
        for name in &names[cap..] {
            if rooms.join("/", 7u32, name) == Err(ApiMisuse::TooManyRooms) {
                refused += 1;
            }
        }
    });
    assert_eq!(refused, 10_000 - cap);
    assert!(live <= 0, "refused joins kept {live} bytes");
    assert_eq!(rooms.rooms_of("/", &7).count(), cap);
    // Other sockets have their own budget; leaving makes room again.
    rooms.join("/", 8u32, "room-9999").unwrap();
    rooms.leave("/", &7, "room-0");
    rooms.join("/", 7u32, "room-9999").unwrap();
}

/// Bound: at most `max_pending_acks` (default 1024) acks are awaited per
/// session; 10 000 `emit_with_ack` to a client that never acks queue exactly
/// that many packets, the rest are `TooManyPendingAcks` with nothing sent.
#[test]
fn pending_acks_are_capped() {
    let config = ServerConfig::default();
    let cap = config.max_pending_acks;
    let mut s = connected(config);
    let mut refused = 0;
    for _ in 0..10_000 {
        match s.emit_with_ack("/", "ping", vec![], NOW) {
            Ok(_) => {}
            Err(ApiMisuse::TooManyPendingAcks) => refused += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(s.pending_acks(), cap);
    assert_eq!(refused, 10_000 - cap);
    assert_eq!(std::iter::from_fn(|| s.poll_message()).count(), cap);
    // Timeouts free the slots.
    s.handle_timeout(Duration::from_secs(30));
    assert_eq!(s.pending_acks(), 0);
    assert_eq!(
        std::iter::from_fn(|| s.poll_event())
            .filter(|e| matches!(e, ServerEvent::AckTimeout { .. }))
            .count(),
        cap
    );
    assert!(
        s.emit_with_ack("/", "ping", vec![], Duration::from_secs(30))
            .is_ok()
    );
}

/// Bound: a binary packet stays half-received for at most
/// `attachment_timeout` (default 30 s) after the input that brought its
/// header; then the session fails with `AttachmentTimeout`.
#[test]
fn half_received_binary_packet_times_out() {
    let mut s = connected(ServerConfig::default());
    let header_seen = Duration::from_secs(100);
    s.handle_text(
        r#"51-["upload",{"_placeholder":true,"num":0}]"#,
        header_seen,
    )
    .unwrap();
    // The timer started with the header: no timer call is needed to start it.
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, header_seen + Duration::from_secs(30));
    s.handle_timeout(deadline - Duration::from_millis(1));
    assert!(!s.is_closed());
    s.handle_timeout(deadline);
    assert!(s.is_closed());
    let events: Vec<ServerEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    assert_eq!(
        events.last(),
        Some(&ServerEvent::Close(CloseReason::ProtocolError(
            Error::AttachmentTimeout
        )))
    );
    // A packet that completes in time leaves no timer behind.
    let mut s = connected(ServerConfig::default());
    s.handle_text(
        r#"51-["upload",{"_placeholder":true,"num":0}]"#,
        header_seen,
    )
    .unwrap();
    s.handle_binary(Bytes::from_static(&[1, 2, 3]), header_seen)
        .unwrap();
    assert!(matches!(s.poll_event(), Some(ServerEvent::Event { .. })));
    assert_eq!(s.poll_timeout(), None);
}

/// Bound: a session holds at most `max_namespaces` namespaces, connected or
/// awaiting the application's answer; 100 000 CONNECTs for distinct
/// namespaces that are never answered queue exactly that many, and the next
/// one fails the session with `TooManyNamespaces`, after which input is ignored.
#[test]
fn a_hundred_thousand_unanswered_connects() {
    let config = ServerConfig::default();
    let max = config.max_namespaces;
    let mut s = connected(config);
    let mut first_error = None;
    for i in 0..100_000 {
        if let Err(e) = s.handle_text(&format!("0/nsp-{i},"), NOW) {
            first_error.get_or_insert((i, e));
        }
    }
    // `/` is connected, so `max - 1` more fit; the next CONNECT fails the
    // session and the ones after it are ignored.
    assert_eq!(
        first_error,
        Some((max - 1, Error::TooManyNamespaces { max }))
    );
    assert!(s.is_closed());
    let events: Vec<ServerEvent> = std::iter::from_fn(|| s.poll_event()).collect();
    let connects = events
        .iter()
        .filter(|e| matches!(e, ServerEvent::Connect { .. }))
        .count();
    assert_eq!(connects, max - 1);
    assert!(
        events.contains(&ServerEvent::Close(CloseReason::ProtocolError(
            Error::TooManyNamespaces { max }
        )))
    );
    // Refusing a namespace frees its place.
    let mut s = connected(ServerConfig {
        max_namespaces: 2,
        ..ServerConfig::default()
    });
    s.handle_text("0/a,", NOW).unwrap();
    s.refuse("/a", "no", None).unwrap();
    s.handle_text("0/b,", NOW).unwrap();
    assert_eq!(
        s.handle_text("0/c,", NOW),
        Err(Error::TooManyNamespaces { max: 2 })
    );
}

/// Bound: a session holds at most one half-received binary packet (a second
/// header while one is pending fails the session, as socket.io-parser does),
/// so 10 000 abandoned packets need 10 000 sessions, and every one of them is
/// closed by its attachment timeout, freeing what it held.
#[test]
fn ten_thousand_abandoned_half_received_packets() {
    const HEADER: &str =
        r#"52-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    // One session: further headers are refused at once.
    let mut s = connected(ServerConfig::default());
    s.handle_text(HEADER, NOW).unwrap();
    assert_eq!(
        s.handle_text(HEADER, NOW),
        Err(Error::PlaintextWhileReconstructing)
    );
    assert!(s.is_closed());

    let mut sessions: Vec<ServerSession> = (0..10_000)
        .map(|_| connected(ServerConfig::default()))
        .collect();
    let (_, _, held) = heap_growth(|| {
        for s in &mut sessions {
            s.handle_text(HEADER, NOW).unwrap();
            s.handle_binary(Bytes::from_static(&[0; 16]), NOW).unwrap();
        }
    });
    assert!(
        held < 10_000 * 512,
        "{held} bytes held by 10 000 half packets"
    );
    let mut timed_out = 0;
    let (_, _, left) = heap_growth(|| {
        for s in &mut sessions {
            s.handle_timeout(Duration::from_secs(30));
            while let Some(event) = s.poll_event() {
                if event == ServerEvent::Close(CloseReason::ProtocolError(Error::AttachmentTimeout))
                {
                    timed_out += 1;
                }
            }
        }
    });
    assert_eq!(timed_out, 10_000);
    assert!(sessions.iter().all(ServerSession::is_closed));
    assert!(left <= 0, "timed-out packets still hold {left} bytes");
}

/// Bound: an attachment counts against `max_attachment_bytes` as the
/// allocation it pins. Ten 1-byte attachments cut from ten 1 MB buffers hold
/// about ten bytes once the buffers' other owners are gone, not 10 MB.
#[test]
fn attachment_slices_do_not_pin_their_buffers() {
    let mut s = connected(ServerConfig::default());
    let header = format!(
        "510-[\"upload\",{}]",
        (0..10)
            .map(|n| format!(r#"{{"_placeholder":true,"num":{n}}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    s.handle_text(&header, NOW).unwrap();
    let (_, peak, live) = heap_growth(|| {
        for _ in 0..9 {
            let big = Bytes::from(vec![7u8; 1_000_000]);
            let slice = big.slice(10..11);
            // The transport's buffer is still referenced while the packet is read.
            s.handle_binary(slice, NOW).unwrap();
            drop(big);
        }
    });
    assert!(peak >= 1_000_000, "the buffers were allocated ({peak})");
    assert!(
        live < 64 * 1024,
        "half-received attachments pin {live} bytes"
    );
    s.handle_binary(Bytes::from_static(&[1]), NOW).unwrap();
    let Some(ServerEvent::Event { args, .. }) = s.poll_event() else {
        panic!()
    };
    assert_eq!(args.len(), 10);
}

/// Bound: an announced attachment count above `max_attachments` is refused
/// before anything is stored; with the cap raised to 10⁶, announcing 10⁶
/// attachments reserves room for at most 16 and memory grows one attachment
/// at a time, bounded by `max_attachment_bytes`.
#[test]
fn a_million_attachments_announced() {
    let placeholder = r#"{"_placeholder":true,"num":0}"#;
    let header = format!("51000000-[\"a\",{placeholder}]");
    let mut s = connected(ServerConfig::default());
    let (result, peak, _) = heap_growth(|| s.handle_text(&header, NOW));
    assert_eq!(result, Err(Error::TooManyAttachments { max: 10 }));
    assert!(peak < 4096, "refusal allocated {peak} bytes");

    let config = ServerConfig {
        decoder: DecoderConfig {
            max_attachments: 1_000_000,
            max_attachment_bytes: 10_000,
            ..DecoderConfig::default()
        },
        ..ServerConfig::default()
    };
    let mut s = connected(config);
    let (result, peak, _) = heap_growth(|| s.handle_text(&header, NOW));
    assert_eq!(result, Ok(()));
    assert!(peak < 4096, "the header reserved {peak} bytes");
    let mut accepted = 0;
    let (_, peak, _) = heap_growth(|| {
        while s.handle_binary(Bytes::from_static(&[0; 100]), NOW).is_ok() {
            accepted += 1;
        }
    });
    assert_eq!(accepted, 100, "10 000 bytes of 100-byte attachments");
    assert!(peak < 64 * 1024, "{peak} bytes for 10 000 attachment bytes");
    assert!(s.is_closed());
}

/// Bound: a crafted packet on one session never disturbs another — each
/// session's state is its own: after every kind of malformed input fails
/// session A, session B's namespace, pending binary packet and acks are intact.
#[test]
fn crafted_packet_on_one_session_never_disturbs_another() {
    let crafted: [&[u8]; 8] = [
        b"2[\"x\"",
        b"2/other,[\"x\"]",
        b"51-[\"a\",{\"_placeholder\":true,\"num\":7}]",
        b"999",
        b"0",
        b"3123456789012345678901234567890[]",
        b"\xff\xfe",
        b"",
    ];
    for input in crafted {
        let mut a = connected(ServerConfig::default());
        let mut b = connected(ServerConfig::default());
        let id = b.emit_with_ack("/", "ping", vec![], NOW).unwrap();
        b.handle_text(r#"51-["upload",{"_placeholder":true,"num":0}]"#, NOW)
            .unwrap();
        let _ = a.handle_message(EngineMessage::Text(Bytes::from_static(input)), NOW);
        let _ = a.handle_binary(Bytes::from_static(&[9]), NOW);
        while a.poll_event().is_some() {}
        // B completes its packet and gets its ack as if nothing happened.
        b.handle_binary(Bytes::from_static(&[1]), NOW).unwrap();
        assert!(
            matches!(b.poll_event(), Some(ServerEvent::Event { name, .. }) if name == "upload")
        );
        b.handle_text(&format!("3{id}[]"), NOW).unwrap();
        assert!(matches!(b.poll_event(), Some(ServerEvent::Ack { id: got, .. }) if got == id));
        assert!(b.is_connected("/"));
    }
}
