//! Heap per idle session, counted by a global allocator: 10 000 Engine.IO server sessions
//! (WebSocket transport, open packet written, one message received) and 10 000 Socket.IO
//! server sessions on top of them (namespace `/` connected, one event received), held at
//! once. The figures are printed (`cargo test --test session_memory -- --nocapture`) and
//! bounded: an idle Socket.IO session, Engine.IO and Socket.IO state together, holds at most
//! 2 KiB of heap.
#![cfg(all(feature = "engineio", feature = "socketio"))]

mod counting_alloc;

use core::time::Duration;

use counting_alloc::heap_growth;
use socketwire::engineio::{self, MessageData, SessionEvent, WebSocketId};
use socketwire::socketio::{self, ServerEvent};

const SESSIONS: usize = 10_000;
const NOW: Duration = Duration::ZERO;

/// A 22-character sid, as a CSPRNG source would give (the length is what counts).
fn sid(i: usize) -> String {
    format!("{i:022}")
}

/// An Engine.IO session opened on a WebSocket, its open packet taken, one message in.
fn engineio_session(
    config: &engineio::ServerConfig,
    i: usize,
) -> (engineio::ServerSession, WebSocketId) {
    let mut s =
        engineio::ServerSession::open_websocket(config, "EIO=4&transport=websocket", NOW, || {
            sid(i)
        })
        .expect("a WebSocket session opens");
    let ws = s.websocket().expect("attached");
    while s.poll_websocket().is_some() {}
    (s, ws)
}

/// Moves Engine.IO's events into the Socket.IO session and Socket.IO's output back out.
fn pump(eio: &mut engineio::ServerSession, sio: &mut socketio::ServerSession) -> Vec<ServerEvent> {
    while let Some(event) = eio.poll_event() {
        if let SessionEvent::Message(MessageData::Text(text)) = event {
            sio.handle_text(&text, NOW).expect("a valid packet");
        }
    }
    let events: Vec<ServerEvent> = std::iter::from_fn(|| sio.poll_event()).collect();
    for event in &events {
        if let ServerEvent::Connect { namespace, .. } = event {
            sio.accept(namespace, "socket-id-0000000000")
                .expect("accepted");
        }
    }
    while let Some(message) = sio.poll_message() {
        let text = message.as_text().expect("text packets only").to_owned();
        eio.send_text(&text).expect("room in the buffer");
    }
    while eio.poll_websocket().is_some() {}
    events
}

#[test]
fn idle_sessions_heap_per_session() {
    let eio_config = engineio::ServerConfig::default();
    let sio_config = socketio::ServerConfig::default();

    // Engine.IO alone: open, one message received and taken.
    let (held, _, eio_bytes) = heap_growth(|| {
        (0..SESSIONS)
            .map(|i| {
                let (mut s, ws) = engineio_session(&eio_config, i);
                s.handle_websocket_text(ws, "4hello", NOW).unwrap();
                while s.poll_event().is_some() {}
                s
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(held.len(), SESSIONS);
    assert!(held.iter().all(|s| !s.is_closed()));
    drop(held);

    // Engine.IO + Socket.IO: `/` connected, one event received and taken.
    let (held, _, pair_bytes) = heap_growth(|| {
        (0..SESSIONS)
            .map(|i| {
                let (mut eio, ws) = engineio_session(&eio_config, i);
                let mut sio = socketio::ServerSession::new(sio_config.clone(), NOW);
                eio.handle_websocket_text(ws, "40", NOW).unwrap();
                let connected = pump(&mut eio, &mut sio);
                assert!(
                    matches!(connected[..], [ServerEvent::Connect { .. }]),
                    "{connected:?}"
                );
                eio.handle_websocket_text(ws, r#"42["chat","hi"]"#, NOW)
                    .unwrap();
                let event = pump(&mut eio, &mut sio);
                assert!(
                    matches!(event[..], [ServerEvent::Event { .. }]),
                    "{event:?}"
                );
                (eio, sio)
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(held.len(), SESSIONS);
    let vec_bytes = (held.capacity()
        * size_of::<(engineio::ServerSession, socketio::ServerSession)>())
        as isize;
    let per_eio = eio_bytes as f64 / SESSIONS as f64;
    let per_pair = pair_bytes as f64 / SESSIONS as f64;
    let eio_inline = size_of::<engineio::ServerSession>();
    let sio_inline = size_of::<socketio::ServerSession>();
    println!(
        "heap per idle Engine.IO session: {per_eio:.0} B (its struct: {eio_inline} B); \
         Engine.IO + Socket.IO: {per_pair:.0} B (structs {eio_inline} + {sio_inline} B), \
         of which the holding Vec {} B",
        vec_bytes / SESSIONS as isize
    );
    // The structs themselves sit in the Vec; what a session allocates beyond them:
    let owned = (pair_bytes - vec_bytes) as f64 / SESSIONS as f64;
    println!("heap a session pair allocates beyond its structs: {owned:.0} B");
    assert!(
        per_pair <= 2048.0,
        "an idle Socket.IO session (Engine.IO + Socket.IO) holds {per_pair:.0} B of heap, over 2 KiB"
    );
}
