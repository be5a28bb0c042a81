//! `socketio::server` against the crate's own `socketio::Client`, over
//! WebSocket and over long-polling: connect with auth and refusals, events
//! both ways (binary included), acks both ways, rooms, broadcasts, and
//! disconnects from either side; connection state recovery with a client that
//! writes the packets itself over a WebSocket (so the test sees the wire:
//! `pid` in the CONNECT reply, offsets as the last argument, the replay).

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use socketwire_tokio::socketio::server::{
    AckSender, COMMAND_SLOTS, ConnectError, EVENT_SLOTS, SendError, SocketIo, SocketIoConfig,
    SocketRef, serve,
};
use socketwire_tokio::socketio::{
    AckResponder, Client, ClientConfig, DisconnectReason, Event, Transport, Value,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(5);

/// Events looked at, at most, while waiting for one.
const MAX_EVENTS: usize = 50;

const TRANSPORTS: [Transport; 3] = [
    Transport::WebSocket,
    Transport::Polling,
    Transport::PollingThenWebSocket,
];

/// The example's behaviour, plus `bye` (the server disconnects the socket);
/// every disconnect's reason goes to `disconnects`.
async fn on_connect(
    socket: SocketRef,
    auth: Value,
    disconnects: mpsc::UnboundedSender<DisconnectReason>,
) -> Result<(), ConnectError> {
    if auth.get("refuse") == Some(&Value::Bool(true)) {
        return Err(ConnectError::new("not allowed"));
    }
    socket.on(
        "message",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            s.emit("message-back", args).unwrap();
        },
    );
    socket.on(
        "message-with-ack",
        |_: SocketRef, args: Vec<Value>, ack: AckSender| async move {
            ack.send(args).unwrap();
        },
    );
    socket.on(
        "join",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            s.join(args[0].as_str().unwrap()).unwrap();
        },
    );
    socket.on(
        "to-room",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            s.to(args[0].as_str().unwrap())
                .emit("new messages", args[1..].to_vec());
        },
    );
    socket.on(
        "channel",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            s.broadcast().emit("broadcast", args.clone());
            s.emit("broadcast", args).unwrap();
        },
    );
    socket.on(
        "request-ack",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            tokio::spawn(async move {
                if let Ok(answer) = s.emit_with_ack("ack-request", args).await {
                    s.emit("ack-received", answer).unwrap();
                }
            });
        },
    );
    socket.on(
        "stall",
        |_: SocketRef, _: Vec<Value>, _: AckSender| async move {
            std::future::pending::<()>().await;
        },
    );
    socket.on(
        "flood",
        |s: SocketRef, _: Vec<Value>, _: AckSender| async move {
            // No await between the emits: the session task cannot drain its channel.
            let refused = (0..=COMMAND_SLOTS)
                .filter(|_| s.emit("flooded", vec![]) == Err(SendError::Full))
                .count();
            // Then report, once the task has made room (bounded: 10 000 tries).
            for _ in 0..10_000 {
                tokio::task::yield_now().await;
                if s.emit("flood-result", vec![(refused as u64).into()])
                    .is_ok()
                {
                    break;
                }
            }
        },
    );
    socket.on(
        "bye",
        |s: SocketRef, _: Vec<Value>, _: AckSender| async move {
            s.disconnect().unwrap();
        },
    );
    socket.on_disconnect(move |_: SocketRef, reason: DisconnectReason| {
        let disconnects = disconnects.clone();
        async move {
            let _ = disconnects.send(reason);
        }
    });
    if socket.recovered() {
        socket.emit("recovered", vec![]).unwrap();
    }
    socket.emit("auth", vec![auth]).unwrap();
    Ok(())
}

struct Server {
    url: String,
    io: SocketIo,
    disconnects: mpsc::UnboundedReceiver<DisconnectReason>,
}

async fn server() -> Server {
    server_with(SocketIoConfig::default()).await
}

async fn server_with(config: SocketIoConfig) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (service, io) = SocketIo::new(config);
    let (tx, disconnects) = mpsc::unbounded_channel();
    io.ns("/", move |socket: SocketRef, auth: Value| {
        on_connect(socket, auth, tx.clone())
    });
    tokio::spawn(serve(listener, service));
    Server {
        url,
        io,
        disconnects,
    }
}

fn client(url: &str, transport: Transport, auth: Option<Value>) -> Client {
    let config = ClientConfig {
        transport,
        auth,
        reconnection: None,
        ..ClientConfig::default()
    };
    Client::connect(url, config).unwrap()
}

async fn next(client: &mut Client) -> Event {
    tokio::time::timeout(WAIT, client.next())
        .await
        .expect("an event")
        .expect("the client is open")
}

/// The next event message, skipping connection events.
async fn message(client: &mut Client) -> (String, Vec<Value>, Option<AckResponder>) {
    for _ in 0..MAX_EVENTS {
        if let Event::Message {
            name, args, ack, ..
        } = next(client).await
        {
            return (name, args, ack);
        }
    }
    panic!("no message in {MAX_EVENTS} events");
}

/// Connects and takes the `auth` event (the server's proof that `/` is connected).
async fn connected(url: &str, transport: Transport) -> Client {
    let mut c = client(url, transport, None);
    let (name, _, _) = message(&mut c).await;
    assert_eq!(name, "auth");
    c
}

/// A round trip through the socket's handlers: every event emitted before
/// it has been handled once it returns.
async fn barrier(client: &Client) {
    let ack = client
        .socket()
        .emit_with_ack("message-with-ack", vec!["barrier".into()], WAIT)
        .unwrap();
    assert_eq!(
        tokio::time::timeout(WAIT, ack).await.unwrap().unwrap(),
        [Value::from("barrier")]
    );
}

#[tokio::test]
async fn connect_with_auth_and_echo() {
    let server = server().await;
    for transport in TRANSPORTS {
        let auth = Value::from_json_str(r#"{"token":"abc"}"#).unwrap();
        let mut c = client(&server.url, transport, Some(auth.clone()));
        let Event::Connected { namespace, sid } = next(&mut c).await else {
            panic!("not connected first");
        };
        assert_eq!(namespace, "/");
        assert_eq!(sid.map(|s| s.len()), Some(22), "a random socket id");
        assert_eq!(message(&mut c).await.1, [auth]);
        let args = vec![
            Value::from(1u64),
            Value::from("two"),
            Value::Bytes(Bytes::from_static(&[0, 1, 2, 255])),
        ];
        c.socket().emit("message", args.clone()).unwrap();
        let (name, back, _) = message(&mut c).await;
        assert_eq!(
            (name.as_str(), back),
            ("message-back", args),
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn refusals() {
    let server = server().await;
    for transport in TRANSPORTS {
        let auth = Value::from_json_str(r#"{"refuse":true}"#).unwrap();
        let mut c = client(&server.url, transport, Some(auth));
        let Event::ConnectError { data, .. } = next(&mut c).await else {
            panic!("not refused");
        };
        assert_eq!(
            data.get("message").and_then(Value::as_str),
            Some("not allowed")
        );
        let c = client(&server.url, transport, None);
        let _other = c.of("/nowhere", None).unwrap();
        let mut c = c;
        for _ in 0..MAX_EVENTS {
            if let Event::ConnectError { namespace, data } = next(&mut c).await {
                assert_eq!(namespace, "/nowhere");
                assert_eq!(
                    data.get("message").and_then(Value::as_str),
                    Some("Invalid namespace")
                );
                break;
            }
        }
    }
}

#[tokio::test]
async fn acks_both_ways() {
    let server = server().await;
    for transport in TRANSPORTS {
        let mut c = connected(&server.url, transport).await;
        let binary = Value::Bytes(Bytes::from_static(b"\x00bin"));
        let ack = c
            .socket()
            .emit_with_ack("message-with-ack", vec![1u64.into(), binary.clone()], WAIT)
            .unwrap();
        let answer = tokio::time::timeout(WAIT, ack).await.unwrap().unwrap();
        assert_eq!(answer, [Value::from(1u64), binary]);
        c.socket().emit("request-ack", vec!["q".into()]).unwrap();
        let (name, args, ack) = message(&mut c).await;
        assert_eq!(
            (name.as_str(), args.as_slice()),
            ("ack-request", &[Value::from("q")][..])
        );
        ack.expect("an ack id").send(vec!["a".into()]).unwrap();
        let (name, args, _) = message(&mut c).await;
        assert_eq!(
            (name.as_str(), args),
            ("ack-received", vec![Value::from("a")])
        );
    }
}

#[tokio::test]
async fn rooms_and_broadcasts() {
    let server = server().await;
    for transport in TRANSPORTS {
        let mut a = connected(&server.url, transport).await;
        let mut b = connected(&server.url, transport).await;
        let mut c = connected(&server.url, transport).await;
        for member in [&a, &b] {
            member.socket().emit("join", vec!["r".into()]).unwrap();
            barrier(member).await;
        }
        // a's events run in order: `to-room` reaches b alone, then `channel` everyone.
        a.socket()
            .emit("to-room", vec!["r".into(), "hi".into()])
            .unwrap();
        a.socket().emit("channel", vec!["all".into()]).unwrap();
        let (name, args, _) = message(&mut b).await;
        assert_eq!(
            (name.as_str(), args),
            ("new messages", vec![Value::from("hi")])
        );
        for client in [&mut a, &mut b, &mut c] {
            let (name, args, _) = message(client).await;
            assert_eq!(
                (name.as_str(), args),
                ("broadcast", vec![Value::from("all")]),
                "{transport:?}"
            );
        }
        // From the handle: a room, everyone but a room, everyone.
        server.io.to("r").emit("to-r", vec![]);
        server.io.except("r").emit("not-r", vec![]);
        server.io.emit("everyone", vec![]);
        for (client, first) in [(&mut a, "to-r"), (&mut b, "to-r"), (&mut c, "not-r")] {
            assert_eq!(message(client).await.0, first);
            assert_eq!(message(client).await.0, "everyone");
        }
        for client in [a, b, c] {
            client.close();
        }
    }
}

#[tokio::test]
async fn disconnects_from_either_side() {
    let mut server = server().await;
    for transport in TRANSPORTS {
        let mut c = connected(&server.url, transport).await;
        c.socket().emit("bye", vec![]).unwrap();
        for _ in 0..MAX_EVENTS {
            if let Event::Disconnected { reason, .. } = next(&mut c).await {
                assert_eq!(reason, DisconnectReason::ServerDisconnect);
                break;
            }
        }
        let reason = tokio::time::timeout(WAIT, server.disconnects.recv())
            .await
            .unwrap();
        assert_eq!(reason, Some(DisconnectReason::ServerDisconnect));

        let c = connected(&server.url, transport).await;
        c.socket().disconnect().unwrap();
        let reason = tokio::time::timeout(WAIT, server.disconnects.recv())
            .await
            .unwrap();
        assert_eq!(
            reason,
            Some(DisconnectReason::ClientDisconnect),
            "{transport:?}"
        );

        let c = connected(&server.url, transport).await;
        c.close();
        let reason = tokio::time::timeout(WAIT, server.disconnects.recv())
            .await
            .unwrap();
        assert!(reason.is_some(), "the transport closed");
    }
}

/// The layer in an axum router: `/socket.io/` to the server, the rest to the router.
#[tokio::test]
async fn axum_layer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (layer, io) = SocketIo::new_layer(Default::default());
    let (tx, _disconnects) = mpsc::unbounded_channel();
    io.ns("/", move |socket: SocketRef, auth: Value| {
        on_connect(socket, auth, tx.clone())
    });
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "the app" }))
        .layer(layer);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}");
    for transport in TRANSPORTS {
        let mut c = connected(&url, transport).await;
        c.socket()
            .emit("message", vec!["through axum".into()])
            .unwrap();
        assert_eq!(message(&mut c).await.1, [Value::from("through axum")]);
    }
    let response = http_exchange(
        &addr.to_string(),
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("the app"),
        "{response}"
    );
}

/// One HTTP/1.1 exchange on a fresh connection (the request asks to close it).
async fn http_exchange(addr: &str, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

/// A POST body over `max_http_body` is refused with 413 (counted in bytes:
/// one byte over), and the session stays usable. A `Content-Length` over the
/// cap is answered 413 and the connection closed before any of the body is
/// read (the request does not ask to close, and sends no body).
#[tokio::test]
async fn post_body_cap() {
    let config = SocketIoConfig {
        max_http_body: 100,
        ..SocketIoConfig::default()
    };
    let server = server_with(config).await;
    let addr = server.url.trim_start_matches("http://");
    let open = http_exchange(
        addr,
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    let sid = open
        .split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an open packet")
        .to_string();
    let post = |body: String| {
        format!(
            "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let over = http_exchange(addr, &post(format!("4{}", "x".repeat(100)))).await;
    assert!(over.starts_with("HTTP/1.1 413"), "{over}");
    let within = http_exchange(addr, &post(format!("4{}", "x".repeat(99)))).await;
    assert!(within.starts_with("HTTP/1.1 200"), "{within}");
    let unread = http_exchange(
        addr,
        &format!(
            "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n"
        ),
    )
    .await;
    assert!(unread.starts_with("HTTP/1.1 413"), "{unread}");
    assert!(unread.contains("connection: close\r\n"), "{unread}");
}

/// A broadcast that would take a member past `max_backpressure` is not
/// queued for it, and its session is closed; a member within the cap gets it.
/// Counted in bytes: the cap sits between the small and the big packet.
#[tokio::test]
async fn broadcast_over_the_backpressure_cap_closes_the_member() {
    let config = SocketIoConfig {
        max_backpressure: 200,
        ..SocketIoConfig::default()
    };
    let server = server_with(config).await;
    for transport in TRANSPORTS {
        let mut c = connected(&server.url, transport).await;
        server.io.emit("small", vec!["x".repeat(10).into()]);
        assert_eq!(message(&mut c).await.0, "small");
        server.io.emit("big", vec!["x".repeat(300).into()]);
        for _ in 0..MAX_EVENTS {
            match next(&mut c).await {
                Event::Message { name, .. } => panic!("{name} was delivered over the cap"),
                Event::Disconnected { reason, .. } => {
                    assert_eq!(reason, DisconnectReason::TransportClose, "{transport:?}");
                    break;
                }
                _ => {}
            }
        }
    }
}

/// permessage-deflate per the `websocket` config: offered by the client,
/// accepted by a server that enables it.
#[tokio::test]
async fn permessage_deflate_per_config() {
    let config = SocketIoConfig {
        websocket: socketwire_tokio::Config {
            deflate: socketwire_tokio::Deflate::Enabled(Default::default()),
            ..socketwire_tokio::Config::default()
        },
        ..SocketIoConfig::default()
    };
    let server = server_with(config).await;
    let addr = server.url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Bounded: a head of at most 4 KiB.
    while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
        tokio::time::timeout(WAIT, tcp.read_exact(&mut byte))
            .await
            .unwrap()
            .unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(
        head.contains("sec-websocket-extensions: permessage-deflate"),
        "{head}"
    );
    // And a client works through it.
    let mut c = connected(&server.url, Transport::WebSocket).await;
    c.socket()
        .emit("message", vec!["x".repeat(1000).into()])
        .unwrap();
    assert_eq!(message(&mut c).await.1, [Value::from("x".repeat(1000))]);
}

/// Emits past `COMMAND_SLOTS` waiting for the session task fail with
/// `SendError::Full` instead of queueing: counted, at least one of
/// `COMMAND_SLOTS + 1` emits made without yielding is refused.
#[tokio::test]
async fn command_channel_cap() {
    let server = server().await;
    let mut c = connected(&server.url, Transport::WebSocket).await;
    c.socket().emit("flood", vec![]).unwrap();
    for flooded in 0..COMMAND_SLOTS + 10 {
        let (name, args, _) = message(&mut c).await;
        if name == "flood-result" {
            let refused = args[0].to_json().as_u64().unwrap();
            assert!(refused >= 1, "{refused} emits refused");
            assert_eq!(flooded + refused as usize, COMMAND_SLOTS + 1);
            return;
        }
    }
    panic!("no flood-result");
}

/// A client whose events wait more than `EVENT_SLOTS` for its handlers is
/// disconnected rather than queueing more.
#[tokio::test]
async fn event_queue_cap() {
    let server = server().await;
    for transport in [Transport::WebSocket, Transport::Polling] {
        let mut c = connected(&server.url, transport).await;
        c.socket().emit("stall", vec![]).unwrap();
        for _ in 0..=EVENT_SLOTS {
            c.socket().emit("message", vec![]).unwrap();
        }
        let mut disconnected = false;
        for _ in 0..MAX_EVENTS {
            if let Event::Disconnected { reason, .. } = next(&mut c).await {
                assert_eq!(reason, DisconnectReason::TransportClose);
                disconnected = true;
                break;
            }
        }
        assert!(disconnected, "{transport:?}");
    }
}

/// A WebSocket peer that never reads: its session is closed (its writer
/// channel or the backpressure cap), and the socket is dropped once a write
/// misses `write_timeout`, so the server ends the TCP connection. Bounded by
/// count: at most 10 000 broadcasts of 64 KiB.
#[tokio::test]
async fn websocket_peer_that_never_reads_is_dropped() {
    let config = SocketIoConfig {
        write_timeout: Duration::from_millis(100),
        ..SocketIoConfig::default()
    };
    let server = server_with(config).await;
    let addr = server.url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    tcp.write_all(request.as_bytes()).await.unwrap();
    // CONNECT to `/`, masked as a client must: the text "40".
    tcp.write_all(&[0x81, 0x82, 0, 0, 0, 0, b'4', b'0'])
        .await
        .unwrap();
    // Read up to the CONNECT reply (bounded: 4 KiB), so the socket is connected.
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"40{\"sid\"") && seen.len() < 4096 {
        tokio::time::timeout(WAIT, tcp.read_exact(&mut byte))
            .await
            .unwrap()
            .unwrap();
        seen.push(byte[0]);
    }
    assert_eq!(server.io.session_count(), 1);
    let payload = Value::from("x".repeat(64 << 10));
    let mut closed = false;
    for _ in 0..10_000 {
        if server.io.session_count() == 0 {
            closed = true;
            break;
        }
        server.io.emit("flood", vec![payload.clone()]);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(closed, "the session was not closed");
    // The server drops the socket: reading it to the end finishes (bounded by WAIT).
    let mut sink = Vec::new();
    let mut total = 0usize;
    let read = tokio::time::timeout(WAIT, async {
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    total += n;
                    sink.extend_from_slice(&buffer[..n.min(16)])
                }
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the connection stayed open after {total} bytes"
    );
}

/// Heartbeats: a WebSocket peer that never answers the server's pings has
/// its session closed (Engine.IO `pingInterval` + `pingTimeout`); one that
/// answers (the client) stays connected over many ping intervals. Bounded
/// by count: at most 1 000 looks, 10 ms apart.
#[tokio::test]
async fn heartbeats() {
    let mut config = SocketIoConfig::default();
    config.engineio.ping_interval = Duration::from_millis(100);
    config.engineio.ping_timeout = Duration::from_millis(200);
    let server = server_with(config).await;
    let mut live = connected(&server.url, Transport::WebSocket).await;
    let addr = server.url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut counts = Vec::new();
    for _ in 0..1000 {
        let count = server.io.session_count();
        counts.push(count);
        if counts.contains(&2) && count == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(counts.contains(&2), "the silent peer's session opened");
    assert_eq!(counts.last(), Some(&1), "the silent peer's session closed");
    // The live client answered every ping meanwhile.
    live.socket()
        .emit("message", vec!["still here".into()])
        .unwrap();
    assert_eq!(message(&mut live).await.1, [Value::from("still here")]);
}

// Connection state recovery, over a hand-driven WebSocket client.

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens an Engine.IO v4 WebSocket session (the open packet is read).
async fn open_ws(url: &str) -> Ws {
    let addr = url.strip_prefix("http://").unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let ws_url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(ws_url, tcp).await.unwrap();
    assert!(recv(&mut ws).await.starts_with("0{"));
    ws
}

/// The next Engine.IO text message that is not a ping (pings are answered).
async fn recv(ws: &mut Ws) -> String {
    use tokio_tungstenite::tungstenite::Message;
    for _ in 0..MAX_EVENTS {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            if text.as_str() == "2" {
                futures_util::SinkExt::send(ws, Message::text("3"))
                    .await
                    .unwrap();
                continue;
            }
            return text.as_str().to_string();
        }
    }
    panic!("no message in {MAX_EVENTS}");
}

/// Sends one Socket.IO packet (an Engine.IO message `4…`).
async fn send(ws: &mut Ws, packet: &str) {
    let message = tokio_tungstenite::tungstenite::Message::text(format!("4{packet}"));
    futures_util::SinkExt::send(ws, message).await.unwrap();
}

/// A Socket.IO EVENT as the server sent it: its data array.
fn event(message: &str) -> Vec<Value> {
    let data = message.strip_prefix("42").expect("an EVENT");
    Value::from_json_str(data)
        .unwrap()
        .as_array()
        .unwrap()
        .to_vec()
}

/// The CONNECT reply's `sid` and `pid`.
fn connect_reply(message: &str) -> (String, Option<String>) {
    let data = Value::from_json_str(message.strip_prefix("40").expect("a CONNECT")).unwrap();
    (
        data.get("sid").and_then(Value::as_str).unwrap().to_string(),
        data.get("pid").and_then(Value::as_str).map(String::from),
    )
}

/// The offset a packet carries: its last argument.
fn offset(data: &[Value]) -> String {
    data.last().unwrap().as_str().unwrap().to_string()
}

/// Connects, reads the CONNECT reply and the `auth`: (sid, pid, last offset).
async fn ws_connect(ws: &mut Ws, auth: &str) -> (String, Option<String>, String) {
    send(ws, &format!("0{auth}")).await;
    let (sid, pid) = connect_reply(&recv(ws).await);
    let hello = event(&recv(ws).await);
    assert_eq!(hello[0], Value::from("auth"));
    (sid, pid, offset(&hello))
}

/// A round trip through the socket's handlers (its ack carries no offset).
async fn ws_barrier(ws: &mut Ws) {
    send(ws, r#"21["message-with-ack"]"#).await;
    assert_eq!(recv(ws).await, "431[]");
}

async fn disconnected(server: &mut Server) -> DisconnectReason {
    tokio::time::timeout(WAIT, server.disconnects.recv())
        .await
        .expect("a disconnect")
        .unwrap()
}

/// A socket that connects and whose transport drops: its sid and the auth
/// that resumes it.
async fn connect_and_drop(server: &mut Server) -> (String, String) {
    let mut ws = open_ws(&server.url).await;
    let (sid, pid, last) = ws_connect(&mut ws, "").await;
    drop(ws);
    assert_eq!(disconnected(server).await, DisconnectReason::TransportClose);
    let resume = format!(r#"{{"pid":"{}","offset":"{last}"}}"#, pid.unwrap());
    (sid, resume)
}

async fn recovering(window: Duration) -> Server {
    server_with(SocketIoConfig {
        recovery: Some(socketwire::socketio::RecoveryConfig {
            max_disconnection_duration: window,
            ..Default::default()
        }),
        ..SocketIoConfig::default()
    })
    .await
}

#[tokio::test]
async fn a_dropped_client_recovers_its_id_rooms_and_missed_events_in_order() {
    let mut server = recovering(Duration::from_secs(60)).await;
    let mut a = open_ws(&server.url).await;
    let (sid, pid, _) = ws_connect(&mut a, "").await;
    let pid = pid.expect("a pid with recovery on");
    assert_ne!(sid, pid);
    send(&mut a, r#"2["join","r"]"#).await;
    send(&mut a, r#"2["message","live"]"#).await;
    let live = event(&recv(&mut a).await);
    assert_eq!(
        live[..2],
        [Value::from("message-back"), Value::from("live")]
    );
    let last = offset(&live);
    ws_barrier(&mut a).await;

    // The transport drops without a DISCONNECT.
    drop(a);
    assert_eq!(
        disconnected(&mut server).await,
        DisconnectReason::TransportClose
    );

    // Meanwhile another client makes the server emit to the room and to the socket.
    let mut b = open_ws(&server.url).await;
    let _ = ws_connect(&mut b, "").await;
    const N: u64 = 20;
    for i in 0..N {
        send(&mut b, &format!(r#"2["to-room","r",{i}]"#)).await;
        send(&mut b, &format!(r#"2["to-room","{sid}",{}]"#, 100 + i)).await;
    }
    ws_barrier(&mut b).await;

    // A comes back with its pid and the offset of the last packet it handled.
    let mut a = open_ws(&server.url).await;
    send(&mut a, &format!(r#"0{{"pid":"{pid}","offset":"{last}"}}"#)).await;
    assert_eq!(connect_reply(&recv(&mut a).await), (sid.clone(), Some(pid)));
    let mut offsets = Vec::new();
    for i in 0..N {
        for expected in [i, 100 + i] {
            let missed = event(&recv(&mut a).await);
            assert_eq!(missed[..2], [Value::from("new messages"), expected.into()]);
            offsets.push(offset(&missed).parse::<u64>().unwrap());
        }
    }
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "in offset order");
    // Then what the connect handler emitted (it saw `recovered()`), after the replay.
    assert_eq!(event(&recv(&mut a).await)[0], Value::from("recovered"));
    assert_eq!(event(&recv(&mut a).await)[0], Value::from("auth"));
    // Still in its room.
    send(&mut b, r#"2["to-room","r","after"]"#).await;
    assert_eq!(
        event(&recv(&mut a).await)[..2],
        [Value::from("new messages"), Value::from("after")]
    );
}

#[tokio::test]
async fn unknown_stale_or_hostile_resumes_are_new_sockets() {
    let mut server = recovering(Duration::from_secs(60)).await;
    let long = "p".repeat(10_000);
    // Kept open, so no disconnect is reported in between.
    let mut open_sockets = Vec::new();
    for auth in [
        r#"{"pid":"nobody","offset":"0"}"#.to_string(),
        format!(r#"{{"pid":"{long}","offset":"0"}}"#),
        r#"{"pid":"x","offset":"99999999999999999999999"}"#.to_string(),
        r#"{"pid":"x","offset":1}"#.to_string(),
        r#"{"pid":"x"}"#.to_string(),
    ] {
        let mut ws = open_ws(&server.url).await;
        // A new socket: no `recovered` before its `auth`, a new pid.
        let (_, pid, _) = ws_connect(&mut ws, &auth).await;
        assert!(pid.is_some_and(|pid| pid != "x" && pid != "nobody"));
        open_sockets.push(ws);
    }

    // A pid is good once: a second resume with it is a new socket.
    let (sid, resume) = connect_and_drop(&mut server).await;
    let mut again = open_ws(&server.url).await;
    send(&mut again, &format!("0{resume}")).await;
    assert_eq!(connect_reply(&recv(&mut again).await).0, sid);
    assert_eq!(event(&recv(&mut again).await)[0], Value::from("recovered"));
    let mut third = open_ws(&server.url).await;
    let (other, _, _) = ws_connect(&mut third, &resume).await;
    assert_ne!(other, sid, "restored once only");
}

#[tokio::test]
async fn past_max_disconnection_duration_the_client_is_a_new_socket() {
    let mut server = recovering(Duration::from_millis(50)).await;
    let (sid, resume) = connect_and_drop(&mut server).await;
    // Well past the window (a wait, not a timed assertion).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut a = open_ws(&server.url).await;
    let (new_sid, _, _) = ws_connect(&mut a, &resume).await;
    assert_ne!(new_sid, sid);
}

#[tokio::test]
async fn a_client_disconnect_is_not_kept_and_without_recovery_no_pid_or_offset() {
    let mut server = recovering(Duration::from_secs(60)).await;
    let mut a = open_ws(&server.url).await;
    let (sid, pid, last) = ws_connect(&mut a, "").await;
    send(&mut a, "1").await;
    assert_eq!(
        disconnected(&mut server).await,
        DisconnectReason::ClientDisconnect
    );
    let resume = format!(r#"{{"pid":"{}","offset":"{last}"}}"#, pid.unwrap());
    let (again, _, _) = ws_connect(&mut a, &resume).await;
    assert_ne!(again, sid);

    let plain = server_with(SocketIoConfig::default()).await;
    let mut ws = open_ws(&plain.url).await;
    send(&mut ws, "0").await;
    assert_eq!(connect_reply(&recv(&mut ws).await).1, None);
    assert_eq!(recv(&mut ws).await, r#"42["auth",{}]"#, "no offset");
}

/// Socket ids are independent of the Engine.IO sid (the sid grants access to
/// the session and is never shown to other clients; the socket id is): no
/// socket id equals or contains its session's sid or another socket's id, and
/// none repeats. Counted over 8 sessions.
#[tokio::test]
async fn socket_ids_are_independent_of_the_engineio_sid() {
    let server = server().await;
    let addr = server.url.strip_prefix("http://").unwrap().to_string();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..8 {
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let ws_url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (mut ws, _) = tokio_tungstenite::client_async(ws_url, tcp).await.unwrap();
        let open = recv(&mut ws).await;
        let open = Value::from_json_str(open.strip_prefix('0').expect("an open packet")).unwrap();
        let eio_sid = open.get("sid").and_then(Value::as_str).unwrap().to_string();
        send(&mut ws, "0").await;
        let (socket_id, _) = connect_reply(&recv(&mut ws).await);
        assert!(socket_id.len() >= 16, "{socket_id}");
        assert!(!socket_id.contains(&eio_sid) && !eio_sid.contains(&socket_id));
        assert!(seen.insert(socket_id), "a socket id repeated");
        assert!(seen.insert(eio_sid), "a sid repeated or equals a socket id");
    }
}
