//! `server::serve` on 127.0.0.1: the connection cap (`503`), the head deadline
//! (`408` for a partial head, silence for an idle connection), the write
//! deadline, and a WebSocket upgraded on it that keeps its place under the cap
//! and runs on the connection's own stream.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use socketwire_tokio::server::{ServerConfig, serve};
use socketwire_tokio::{Message, UpgradedIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A guard against a test that hangs, and how long a test waits for something
/// that must happen; nothing asserts on time.
const PATIENCE: Duration = Duration::from_secs(30);

/// Most bytes read back from a connection.
const MAX_REPLY: u64 = 64 * 1024;

/// The body of `/big`: far more than the two ends' socket buffers hold.
const BIG: usize = 32 << 20;

/// How many times a test tries a new connection, 10 ms apart (as long as
/// [`PATIENCE`]), while the server frees a place (it does so once it sees the
/// old connection end).
const RETRIES: usize = 3000;

async fn guarded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, body)
        .await
        .expect("the test hung")
}

fn short(max_connections: usize) -> ServerConfig {
    ServerConfig {
        max_connections,
        head_timeout: Duration::from_millis(200),
        write_timeout: Duration::from_millis(200),
    }
}

/// `server::serve` on 127.0.0.1:0 with a service answering `/` with
/// `hello\n`, `/big` with [`BIG`] bytes, and `/ws` with a WebSocket echo; each
/// WebSocket reports whether its transport is the direct one.
async fn start(config: ServerConfig) -> (SocketAddr, mpsc::Receiver<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (direct, direct_rx) = mpsc::channel(16);
    let big = Bytes::from(vec![b'x'; BIG]);
    let service = hyper::service::service_fn(move |mut request| {
        let (direct, big) = (direct.clone(), big.clone());
        async move {
            let response = match request.uri().path() {
                "/ws" => match socketwire_tokio::upgrade(&mut request) {
                    Ok((response, websocket)) => {
                        tokio::spawn(async move {
                            let ws = websocket.await.unwrap();
                            let _ = direct.send(ws.get_ref().is_direct()).await;
                            echo(ws).await;
                        });
                        response.map(|_| Full::default())
                    }
                    Err(error) => error.to_response().map(|_| Full::default()),
                },
                "/big" => http::Response::new(Full::new(big)),
                "/read" => {
                    let _ = http_body_util::BodyExt::collect(request.into_body()).await;
                    http::Response::new(Full::new(Bytes::from_static(b"hello\n")))
                }
                _ => http::Response::new(Full::new(Bytes::from_static(b"hello\n"))),
            };
            Ok::<_, Infallible>(response)
        }
    });
    tokio::spawn(serve(listener, config, service));
    (addr, direct_rx)
}

/// Echoes text and binary messages until the stream ends.
async fn echo(mut ws: socketwire_tokio::UpgradedStream) {
    while let Some(Ok(message)) = ws.next().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send(message).await.is_err()
        {
            break;
        }
    }
}

/// Everything the server sends until it closes (at most [`MAX_REPLY`] bytes;
/// a reset ends it too).
async fn read_to_end(stream: &mut TcpStream) -> String {
    let mut reply = Vec::new();
    let _ = guarded((&mut *stream).take(MAX_REPLY).read_to_end(&mut reply)).await;
    String::from_utf8_lossy(&reply).into_owned()
}

/// One `GET /` on `stream` and its response (which ends with the body `hello\n`).
async fn hello(stream: &mut TcpStream) -> String {
    if stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .is_err()
    {
        return String::new();
    }
    let mut reply = Vec::new();
    let mut chunk = [0; 1024];
    while !reply.ends_with(b"\r\n\r\nhello\n") && reply.len() < MAX_REPLY as usize {
        match guarded(stream.read(&mut chunk)).await {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

/// The reply to a fresh connection that sends nothing until it is answered
/// (`503` past the cap) and then asks for `/`.
async fn fresh_reply(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A refused connection is answered and closed before it asks anything.
    let mut first = [0; 12];
    match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut first)).await {
        Ok(Ok(n)) => {
            String::from_utf8_lossy(&first[..n]).into_owned() + &read_to_end(&mut stream).await
        }
        Ok(Err(_)) => String::new(),
        Err(_) => hello(&mut stream).await,
    }
}

/// Tries fresh connections until one is served (the server frees a place
/// once it sees a connection end); the reply of the last try.
async fn served_again(addr: SocketAddr) -> String {
    let mut reply = String::new();
    for _ in 0..RETRIES {
        reply = fresh_reply(addr).await;
        if reply.starts_with("HTTP/1.1 200 ") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    reply
}

/// Bound: a connection past `max_connections` is answered `503` and closed at
/// once; the one under the cap is still served, and once it ends its place
/// goes to a new connection.
#[tokio::test]
async fn connection_past_the_cap_gets_503_and_the_first_still_works() {
    let (addr, _) = start(ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    })
    .await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    assert!(hello(&mut first).await.starts_with("HTTP/1.1 200 "));
    let mut second = TcpStream::connect(addr).await.unwrap();
    let refused = read_to_end(&mut second).await;
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
    assert!(refused.contains("\r\nConnection: close\r\n"), "{refused}");
    let again = hello(&mut first).await;
    assert!(again.starts_with("HTTP/1.1 200 "), "{again}");
    drop(first);
    let reply = served_again(addr).await;
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
}

/// Bound: a request head not complete within `head_timeout` gets `408` and
/// the connection is closed, the first head of a connection or a later one.
#[tokio::test]
async fn partial_head_gets_408_and_close() {
    let (addr, _) = start(short(8)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    let reply = read_to_end(&mut stream).await;
    assert!(reply.starts_with("HTTP/1.1 408 "), "{reply}");
    assert!(reply.contains("\r\nConnection: close\r\n"), "{reply}");
    assert!(reply.ends_with("request head timeout\n"), "{reply}");
    // The same for the second head of a kept-alive connection.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    assert!(hello(&mut kept).await.starts_with("HTTP/1.1 200 "));
    kept.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let reply = read_to_end(&mut kept).await;
    assert!(reply.starts_with("HTTP/1.1 408 "), "{reply}");
}

/// Bound: a connection that sends nothing, or a kept-alive one idle after its
/// response, is closed after `head_timeout` without a reply.
#[tokio::test]
async fn idle_connection_is_closed_without_a_reply() {
    let (addr, _) = start(short(8)).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert_eq!(read_to_end(&mut silent).await, "");
    let mut kept = TcpStream::connect(addr).await.unwrap();
    assert!(hello(&mut kept).await.starts_with("HTTP/1.1 200 "));
    assert_eq!(read_to_end(&mut kept).await, "");
}

/// A request body read by the service is not a head: a kept-alive connection
/// idle after a `POST` is closed silently, not answered `408`.
#[tokio::test]
async fn idle_after_a_body_is_closed_without_a_reply() {
    let (addr, _) = start(short(8)).await;
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"POST /read HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
        .await
        .unwrap();
    // The body after the head has been read, so it reaches the service's
    // body reads, not hyper's head read (nothing asserts on the pause).
    tokio::time::sleep(Duration::from_millis(50)).await;
    kept.write_all(b"12345").await.unwrap();
    let reply = read_to_end(&mut kept).await;
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    assert!(reply.ends_with("\r\n\r\nhello\n"), "{reply}");
}

/// Bound: a response the peer never reads fails at the write deadline and the
/// connection is dropped: its place under the cap goes to a new connection,
/// and the reader, reading at last, gets less than the body before the end.
#[tokio::test]
async fn response_the_peer_never_reads_hits_the_write_deadline() {
    let (addr, _) = start(ServerConfig {
        max_connections: 1,
        write_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    })
    .await;
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let reply = served_again(addr).await;
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    let mut received = 0usize;
    let mut chunk = vec![0; 64 * 1024];
    for _ in 0..BIG {
        match guarded(stalled.read(&mut chunk)).await {
            Ok(0) | Err(_) => break,
            Ok(n) => received += n,
        }
    }
    assert!(received < BIG, "{received}");
}

type Client = tokio_tungstenite::WebSocketStream<TcpStream>;

/// A tungstenite client's WebSocket on `ws://addr/ws`.
async fn ws_client(addr: SocketAddr) -> Client {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (ws, _) = guarded(tokio_tungstenite::client_async(
        format!("ws://{addr}/ws"),
        tcp,
    ))
    .await
    .unwrap();
    ws
}

/// Sends `text` and gives back the text of the next message.
async fn round_trip(ws: &mut Client, text: &str) -> String {
    ws.send(tungstenite::Message::text(text)).await.unwrap();
    let echoed = guarded(ws.next()).await.unwrap().unwrap();
    echoed.into_text().unwrap().as_str().to_string()
}

/// Bound: a WebSocket upgraded on a connection of `serve` keeps its place
/// under the cap until it ends (a second connection meanwhile gets `503`), and
/// runs on the connection's own stream.
#[tokio::test]
async fn upgraded_websocket_holds_its_place_and_runs_direct() {
    let (addr, mut direct) = start(ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    })
    .await;
    let mut ws = ws_client(addr).await;
    assert_eq!(guarded(direct.recv()).await, Some(true));
    assert_eq!(round_trip(&mut ws, "hello").await, "hello");
    let payload = vec![7u8; 200_000];
    ws.send(tungstenite::Message::binary(payload.clone()))
        .await
        .unwrap();
    let echoed = guarded(ws.next()).await.unwrap().unwrap();
    assert_eq!(echoed.into_data(), payload);

    let mut second = TcpStream::connect(addr).await.unwrap();
    let refused = read_to_end(&mut second).await;
    assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");

    ws.close(None).await.unwrap();
    for _ in 0..RETRIES {
        if guarded(ws.next()).await.is_none() {
            break;
        }
    }
    let reply = served_again(addr).await;
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
}

/// A frame written in the same packet as the upgrade request is read by hyper
/// with the head; the direct stream hands it to the WebSocket, which echoes it.
#[tokio::test]
async fn frame_sent_with_the_request_reaches_the_direct_websocket() {
    let (addr, mut direct) = start(ServerConfig::default()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\r\n"
        .to_vec();
    // A masked text frame "hi" (RFC 6455 §5.3: a client masks every frame).
    let mask = [1u8, 2, 3, 4];
    request.extend_from_slice(&[0x81, 0x80 | 2]);
    request.extend_from_slice(&mask);
    request.extend(b"hi".iter().zip(mask).map(|(b, m)| b ^ m));
    stream.write_all(&request).await.unwrap();
    let mut reply = Vec::new();
    let mut chunk = [0; 1024];
    let want: &[u8] = &[0x81, 2, b'h', b'i'];
    while !reply.ends_with(want) && reply.len() < MAX_REPLY as usize {
        let n = guarded(stream.read(&mut chunk)).await.unwrap();
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&chunk[..n]);
    }
    assert!(reply.starts_with(b"HTTP/1.1 101 "), "{reply:?}");
    assert!(reply.ends_with(want), "{reply:?}");
    assert_eq!(guarded(direct.recv()).await, Some(true));
}

/// A server of its own (hyper's `serve_connection`) upgrades through hyper's
/// boxed connection, the other variant.
#[tokio::test]
async fn hyper_served_websocket_is_not_direct() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (kind, mut kind_rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(move |mut request| {
            let kind = kind.clone();
            async move {
                let (response, websocket) = socketwire_tokio::upgrade(&mut request).unwrap();
                tokio::spawn(async move {
                    let ws = websocket.await.unwrap();
                    let hyper = matches!(ws.get_ref(), UpgradedIo::Hyper(_));
                    let _ = kind.send(hyper).await;
                    echo(ws).await;
                });
                Ok::<_, Infallible>(response)
            }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
            .with_upgrades()
            .await;
    });
    let mut ws = ws_client(addr).await;
    assert_eq!(guarded(kind_rx.recv()).await, Some(true));
    assert_eq!(round_trip(&mut ws, "hi").await, "hi");
}
