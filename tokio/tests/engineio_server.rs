//! The Engine.IO server (feature `engineio-server`): an echo on a loopback
//! port, driven by hand over HTTP/1.1 and WebSocket. Every wait is bounded
//! by `WAIT`, every loop by a count.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use socketwire_tokio::engineio::{
    CloseReason, EngineIo, EngineIoBuilder, EngineSocket, MessageData, SendError, Transport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for what must happen.
const WAIT: Duration = Duration::from_secs(10);

/// What the echo's handlers saw.
#[derive(Debug, PartialEq)]
enum Seen {
    Open {
        sid: String,
        transport: Transport,
        target: String,
    },
    Closed(CloseReason),
}

struct Server {
    addr: String,
    io: EngineIo,
    seen: mpsc::Receiver<Seen>,
}

impl Server {
    async fn next(&mut self) -> Seen {
        tokio::time::timeout(WAIT, self.seen.recv())
            .await
            .expect("an event in time")
            .expect("the server runs")
    }

    /// Waits (at most 1 000 looks, 10 ms apart) for `count` open sessions.
    async fn sessions(&self, count: usize) {
        for _ in 0..1000 {
            if self.io.session_count() == count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} sessions, not {count}", self.io.session_count());
    }
}

/// An echo server: every message comes back; `transport?` is answered with
/// the socket's transport.
async fn start(builder: EngineIoBuilder) -> Server {
    let (service, io) = builder.build();
    let (tx, seen) = mpsc::channel(64);
    io.on_connection(move |socket: EngineSocket| {
        let tx = tx.clone();
        async move {
            let open = Seen::Open {
                sid: socket.sid().to_string(),
                transport: socket.transport(),
                target: socket.handshake().uri.to_string(),
            };
            let _ = tx.send(open).await;
            socket.on_message(|socket: EngineSocket, message: MessageData| async move {
                let _ = match message {
                    MessageData::Text(text) if text == "transport?" => {
                        socket.send_text(&format!("{:?}", socket.transport()))
                    }
                    message => socket.send(message),
                };
            });
            socket.on_disconnect(move |_, reason: CloseReason| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(Seen::Closed(reason)).await;
                }
            });
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(socketwire_tokio::engineio::serve(listener, service));
    Server { addr, io, seen }
}

/// One HTTP/1.1 exchange on a fresh connection (it asks to close it):
/// the status and the body.
async fn http(addr: &str, method: &str, target: &str, body: &str) -> (u16, String) {
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut response))
        .await
        .expect("an answer in time")
        .unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response[9..12].parse().unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    (status, body.to_string())
}

/// A GET on a fresh connection: the status and the body.
async fn get(addr: &str, target: &str) -> (u16, String) {
    http(addr, "GET", target, "").await
}

/// The sid of an open packet (`0{"sid":"…",…}`).
fn sid_of(open: &str) -> String {
    let rest = open.split_once("\"sid\":\"").expect("a sid").1;
    rest.split('"').next().unwrap().to_string()
}

/// Opens a polling session: its sid.
async fn handshake(server: &mut Server) -> String {
    let (status, body) = get(&server.addr, "/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(status, 200, "{body}");
    sid_of(&body)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn ws_connect(addr: &str, query: &str) -> Ws {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/engine.io/?{query}");
    tokio_tungstenite::client_async(url, tcp).await.unwrap().0
}

/// The next message that is not a ping (pings are answered).
async fn recv(ws: &mut Ws) -> Message {
    for _ in 0..100 {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .unwrap();
        match message {
            Message::Text(text) if text.as_str() == "2" => {
                ws.send(Message::text("3")).await.unwrap()
            }
            message => return message,
        }
    }
    panic!("only pings");
}

/// The handshake answers the open packet: a 128-bit sid, the upgrade to
/// WebSocket offered, the configured heartbeat and cap; the connection
/// handler sees the sid, the transport and the handshake request.
#[tokio::test]
async fn polling_handshake() {
    let mut server = start(
        EngineIo::builder()
            .ping_interval(Duration::from_millis(300))
            .ping_timeout(Duration::from_millis(200))
            .max_payload(5000),
    )
    .await;
    let (status, body) = get(&server.addr, "/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("0{"), "{body}");
    for field in [
        r#""upgrades":["websocket"]"#,
        r#""pingInterval":300"#,
        r#""pingTimeout":200"#,
        r#""maxPayload":5000"#,
    ] {
        assert!(body.contains(field), "{field} in {body}");
    }
    // 128 CSPRNG bits, base64url.
    let sid = sid_of(&body);
    assert_eq!(sid.len(), 22);
    let Seen::Open {
        sid: seen,
        transport,
        target,
    } = server.next().await
    else {
        panic!("no open");
    };
    assert_eq!((seen, transport), (sid, Transport::Polling));
    assert_eq!(target, "/engine.io/?EIO=4&transport=polling");
    assert_eq!(server.io.session_count(), 1);
}

/// Polling both ways: a POSTed text and binary message come back on the
/// next GET, in order.
#[tokio::test]
async fn polling_send_and_receive() {
    let mut server = start(EngineIo::builder()).await;
    let sid = handshake(&mut server).await;
    let target = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    // A text message and a binary one (base64 `AQID` = 1, 2, 3), in one payload.
    let (status, body) = http(&server.addr, "POST", &target, "4hello\x1ebAQID").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let mut echoed = String::new();
    for _ in 0..10 {
        let (status, body) = get(&server.addr, &target).await;
        assert_eq!(status, 200);
        if !echoed.is_empty() {
            echoed.push('\x1e');
        }
        echoed.push_str(&body);
        if echoed.contains("bAQID") {
            break;
        }
    }
    assert_eq!(echoed, "4hello\x1ebAQID");
}

/// A WebSocket session opened directly: the open packet, echoes of text
/// and binary, the transport seen as WebSocket.
#[tokio::test]
async fn websocket_direct() {
    let mut server = start(EngineIo::builder()).await;
    let mut ws = ws_connect(&server.addr, "EIO=4&transport=websocket").await;
    let Message::Text(open) = recv(&mut ws).await else {
        panic!("no open packet");
    };
    assert!(open.as_str().starts_with("0{"), "{open}");
    assert!(open.as_str().contains(r#""upgrades":[]"#), "{open}");
    let Seen::Open { sid, transport, .. } = server.next().await else {
        panic!("no open");
    };
    assert_eq!(sid, sid_of(open.as_str()));
    assert_eq!(transport, Transport::WebSocket);
    ws.send(Message::text("4hi")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("4hi"));
    ws.send(Message::binary(Bytes::from_static(&[1, 2, 3])))
        .await
        .unwrap();
    assert_eq!(
        recv(&mut ws).await,
        Message::binary(Bytes::from_static(&[1, 2, 3]))
    );
    ws.close(None).await.unwrap();
    assert_eq!(
        server.next().await,
        Seen::Closed(CloseReason::TransportClose)
    );
    server.sessions(0).await;
}

/// A polling session upgrades: the probe is answered, the upgrade
/// completes, and messages go over the WebSocket from then on.
#[tokio::test]
async fn polling_upgrades_to_websocket() {
    let mut server = start(EngineIo::builder()).await;
    let sid = handshake(&mut server).await;
    let mut ws = ws_connect(
        &server.addr,
        &format!("EIO=4&transport=websocket&sid={sid}"),
    )
    .await;
    ws.send(Message::text("2probe")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("3probe"));
    ws.send(Message::text("5")).await.unwrap();
    ws.send(Message::text("4transport?")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("4WebSocket"));
    ws.send(Message::text("4over the socket")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("4over the socket"));
    // Polling is over for this session.
    let target = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let (status, _) = get(&server.addr, &target).await;
    assert_eq!(status, 400);
    assert_eq!(server.io.session_count(), 1);
}

/// Engine.IO 3 clients are served with `allow_eio3` (the v3 payload
/// framing) and refused without it.
#[tokio::test]
async fn eio3() {
    let mut server = start(EngineIo::builder().allow_eio3(true)).await;
    let (status, body) = get(&server.addr, "/engine.io/?EIO=3&transport=polling").await;
    assert_eq!(status, 200);
    let (length, open) = body.split_once(':').expect("a v3 payload");
    assert_eq!(length.parse::<usize>().unwrap(), open.chars().count());
    assert!(open.starts_with("0{"), "{body}");
    let sid = sid_of(open);
    let target = format!("/engine.io/?EIO=3&transport=polling&sid={sid}");
    let (status, _) = http(&server.addr, "POST", &target, "6:4hello").await;
    assert_eq!(status, 200);
    let (_, echoed) = get(&server.addr, &target).await;
    assert_eq!(echoed, "6:4hello");
    assert!(matches!(server.next().await, Seen::Open { .. }));

    let server = start(EngineIo::builder()).await;
    let (status, body) = get(&server.addr, "/engine.io/?EIO=3&transport=polling").await;
    assert_eq!(status, 400);
    assert!(body.contains(r#""code":5"#), "{body}");
}

/// Bound: at most `max_sessions` sessions; a handshake past it, polling or
/// WebSocket, gets 403 (`Too many sessions`), and a closed session frees
/// its place.
#[tokio::test]
async fn max_sessions_cap() {
    let mut server = start(EngineIo::builder().max_sessions(1)).await;
    let sid = handshake(&mut server).await;
    let (status, body) = get(&server.addr, "/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(status, 403);
    assert_eq!(body, r#"{"code":4,"message":"Too many sessions"}"#);
    let upgrade = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n";
    // Refused as the reference server does (`abortUpgrade`): 400, the
    // message, the connection closed.
    let mut tcp = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    tcp.write_all(upgrade.as_bytes()).await.unwrap();
    let mut refused = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut refused))
        .await
        .unwrap()
        .unwrap();
    let refused = String::from_utf8_lossy(&refused);
    assert!(refused.starts_with("HTTP/1.1 400 "), "{refused}");
    assert!(refused.ends_with("Too many sessions"), "{refused}");
    assert_eq!(server.io.session_count(), 1);
    // The client closes its session: its place is free.
    let target = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let (status, _) = http(&server.addr, "POST", &target, "1").await;
    assert_eq!(status, 200);
    server.sessions(0).await;
    handshake(&mut server).await;
}

/// Bound: a POST body over `max_http_body` gets 413 (one byte over; a
/// declared length over the cap is refused before the body is read) and
/// the session stays usable.
#[tokio::test]
async fn post_body_cap() {
    let mut server = start(EngineIo::builder().max_payload(100)).await;
    let sid = handshake(&mut server).await;
    let target = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let over = format!("4{}", "x".repeat(100));
    let (status, _) = http(&server.addr, "POST", &target, &over).await;
    assert_eq!(status, 413);
    let exact = format!("4{}", "x".repeat(99));
    let (status, body) = http(&server.addr, "POST", &target, &exact).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (_, echoed) = get(&server.addr, &target).await;
    assert_eq!(echoed, exact);
}

/// A request for a sid the server does not know gets 400 with the
/// Engine.IO error JSON.
#[tokio::test]
async fn unknown_sid() {
    let server = start(EngineIo::builder()).await;
    for method in ["GET", "POST"] {
        let target = "/engine.io/?EIO=4&transport=polling&sid=nope";
        let (status, body) = http(&server.addr, method, target, "4x").await;
        assert_eq!(status, 400, "{method}");
        assert_eq!(body, r#"{"code":1,"message":"Session ID unknown"}"#);
    }
}

/// Bound: a client that does not answer the heartbeat is closed after
/// `ping_interval` + `ping_timeout`, and its handler learns why.
#[tokio::test]
async fn ping_timeout_closes_the_session() {
    let mut server = start(
        EngineIo::builder()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100)),
    )
    .await;
    handshake(&mut server).await;
    assert!(matches!(server.next().await, Seen::Open { .. }));
    // No GET takes the ping, no POST answers it.
    assert_eq!(server.next().await, Seen::Closed(CloseReason::PingTimeout));
    server.sessions(0).await;
}

/// A session closed by the server: the client's WebSocket ends and the
/// disconnect handler gets `ForcedClose`; sends then fail with `Closed`.
#[tokio::test]
async fn close_from_the_server() {
    let (service, io) = EngineIo::builder().build();
    let (tx, mut seen) = mpsc::channel(4);
    io.on_connection(move |socket: EngineSocket| {
        let tx = tx.clone();
        async move {
            let closed = tx.clone();
            socket.on_disconnect(move |socket: EngineSocket, reason| {
                let tx = closed.clone();
                async move {
                    // Bounded: the task is gone once the session is.
                    let mut after = socket.send_text("late");
                    for _ in 0..100 {
                        if after == Err(SendError::Closed) {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        after = socket.send_text("late");
                    }
                    let _ = tx.send((Some(reason), after)).await;
                }
            });
            let _ = tx.send((None, socket.close())).await;
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(socketwire_tokio::engineio::serve(listener, service));
    let mut ws = ws_connect(&addr, "EIO=4&transport=websocket").await;
    async fn next<T>(seen: &mut mpsc::Receiver<T>) -> T {
        tokio::time::timeout(WAIT, seen.recv())
            .await
            .unwrap()
            .unwrap()
    }
    assert_eq!(next(&mut seen).await, (None, Ok(())));
    let mut ended = false;
    for _ in 0..10 {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Text(text))) if text.as_str().starts_with('0') => {}
            Some(Ok(Message::Text(text))) => assert_eq!(text.as_str(), "1"),
            _ => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended, "the socket stayed open");
    assert_eq!(
        next(&mut seen).await,
        (Some(CloseReason::ForcedClose), Err(SendError::Closed))
    );
}

/// The connection handler of the flood tests: sends `MESSAGE`-byte texts
/// (at most `tries`) until one is refused; reports how many were taken and
/// the refusal.
fn flood(io: &EngineIo, tries: usize) -> mpsc::Receiver<(usize, Option<SendError>)> {
    let (tx, flooded) = mpsc::channel(1);
    io.on_connection(move |socket: EngineSocket| {
        let tx = tx.clone();
        async move {
            let text = "x".repeat(MESSAGE);
            let mut accepted = 0;
            let mut refused = None;
            for _ in 0..tries {
                if let Err(error) = socket.send_text(&text) {
                    refused = Some(error);
                    break;
                }
                accepted += 1;
                // Let the session task and the writer run.
                tokio::task::yield_now().await;
            }
            let _ = tx.send((accepted, refused)).await;
        }
    });
    flooded
}

/// The size of a flood's messages.
const MESSAGE: usize = 1 << 10;

/// The flood's end, then the session's close (at most 1 000 looks, 10 ms apart).
async fn flooded_and_closed(
    io: &EngineIo,
    flooded: &mut mpsc::Receiver<(usize, Option<SendError>)>,
) -> (usize, Option<SendError>) {
    let result = tokio::time::timeout(WAIT, flooded.recv())
        .await
        .expect("the flood ends")
        .unwrap();
    for _ in 0..1000 {
        if io.session_count() == 0 {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the flooded session was not closed");
}

/// Bound: a WebSocket peer that does not read cannot make the server hold
/// more than `max_backpressure` for it (plus what the sockets' small kernel
/// buffers take): past it a send is refused with `Full` and the session is
/// closed. Counted in bytes: of 10 000 KiB offered, the server takes at most
/// the cap plus the socket buffers.
#[tokio::test]
async fn slow_websocket_reader_cannot_grow_the_write_queue() {
    const CAP: usize = 64 << 10;
    const SOCKET_BUFFER: u32 = 16 << 10;
    let (service, io) = EngineIo::builder().max_backpressure(CAP).build();
    let mut flooded = flood(&io, 10_000);
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(SOCKET_BUFFER).unwrap();
    socket.set_recv_buffer_size(SOCKET_BUFFER).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(16).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(socketwire_tokio::engineio::serve(listener, service));
    let client = tokio::net::TcpSocket::new_v4().unwrap();
    client.set_recv_buffer_size(SOCKET_BUFFER).unwrap();
    let tcp = client.connect(addr).await.unwrap();
    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    // Never read from here on (the handshake's response is read by the client).
    let (_ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    let (accepted, refused) = flooded_and_closed(&io, &mut flooded).await;
    assert_eq!(refused, Some(SendError::Full));
    // Generous for the kernel: each side's buffer is at most doubled, plus
    // its autotuning slack; far below the 10 MiB offered.
    let sockets = 1 << 20;
    let taken = accepted * MESSAGE;
    assert!(taken <= CAP + sockets, "{taken} bytes taken, cap {CAP}");
}

/// Bound: with no backpressure cap, a WebSocket peer that does not read
/// still cannot grow the server's queue for it: the writer's channel holds
/// at most `max_buffered_packets` messages and the core session at most
/// `max_buffered_bytes`; once full, the session is closed. Counted in
/// messages: of 100 000 offered, the session takes a bounded number.
#[tokio::test]
async fn writer_channel_bound_closes_a_peer_that_does_not_read() {
    let mut config = socketwire_tokio::engineio::EngineIoConfig {
        max_backpressure: usize::MAX,
        ..Default::default()
    };
    config.engineio.max_buffered_packets = 4;
    config.engineio.max_buffered_bytes = 64 << 10;
    let (service, io) = EngineIo::builder().config(config).build();
    let mut flooded = flood(&io, 100_000);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(socketwire_tokio::engineio::serve(listener, service));
    let _ws = ws_connect(&addr, "EIO=4&transport=websocket").await;
    let (accepted, refused) = flooded_and_closed(&io, &mut flooded).await;
    assert!(
        accepted < 100_000 && refused.is_some(),
        "every send was taken"
    );
}

/// Sids carry 128 random bits: 22 base64url characters, never repeated
/// over 200 handshakes, with no counter in clear (consecutive sids share
/// no tail).
#[tokio::test]
async fn sids_are_128_random_bits() {
    let mut server = start(EngineIo::builder()).await;
    let mut sids = Vec::new();
    for _ in 0..200 {
        sids.push(handshake(&mut server).await);
    }
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    assert!(
        sids.iter()
            .all(|sid| sid.len() == 22 && sid.bytes().all(base64url))
    );
    let unique: std::collections::HashSet<&String> = sids.iter().collect();
    assert_eq!(unique.len(), sids.len());
    let same_tail = sids.windows(2).filter(|w| w[0][18..] == w[1][18..]).count();
    assert!(
        same_tail < 3,
        "{same_tail} consecutive sids share their tail"
    );
}
