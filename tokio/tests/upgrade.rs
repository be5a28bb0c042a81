//! The hyper upgrade helper in a real hyper 1.x server on 127.0.0.1: tungstenite
//! and socketwire-tokio clients, permessage-deflate, subprotocols, and the
//! refusals of bad requests written as raw bytes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use socketwire_tokio::{Config, Deflate, Message, Upgrade, UpgradedStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tungstenite::Message as TMessage;

/// A guard against a test that hangs; nothing asserts on time.
const GUARD: Duration = Duration::from_secs(30);

/// Most connections one test server serves.
const MAX_CONNECTIONS: usize = 8;

/// Most bytes of a refusal read back.
const MAX_REPLY: u64 = 16 * 1024;

async fn guarded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, body)
        .await
        .expect("the test hung")
}

/// What the server's WebSocket task saw: whether deflate was negotiated.
struct Accepted {
    compressed: bool,
}

/// A hyper server on 127.0.0.1:0 answering every request with `upgrade`, and
/// echoing on each WebSocket; reports each accepted WebSocket.
async fn hyper_server(upgrade: Upgrade) -> (SocketAddr, mpsc::Receiver<Accepted>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted, accepted_rx) = mpsc::channel(MAX_CONNECTIONS);
    tokio::spawn(async move {
        for _ in 0..MAX_CONNECTIONS {
            let (tcp, _) = listener.accept().await.unwrap();
            let upgrade = upgrade.clone();
            let accepted = accepted.clone();
            let service = service_fn(move |mut request| {
                let result = upgrade.upgrade(&mut request);
                let accepted = accepted.clone();
                async move {
                    let response = match result {
                        Ok((response, websocket)) => {
                            tokio::spawn(async move {
                                let ws = websocket.await.unwrap();
                                let compressed = ws.connection().has_extension();
                                accepted.send(Accepted { compressed }).await.unwrap();
                                echo(ws).await;
                            });
                            response
                        }
                        Err(error) => error.to_response(),
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(
                http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades(),
            );
        }
    });
    (addr, accepted_rx)
}

/// Echoes text and binary messages until the stream ends (errors end it too).
async fn echo(mut ws: UpgradedStream) {
    while let Some(Ok(message)) = ws.next().await {
        if let m @ (Message::Text(_) | Message::Binary(_)) = message
            && ws.send(m).await.is_err()
        {
            return;
        }
    }
}

fn deflate_config() -> Config {
    Config {
        deflate: Deflate::Enabled(Default::default()),
        ..Config::default()
    }
}

#[tokio::test]
async fn tungstenite_client_echoes_text_and_binary() {
    guarded(async {
        let (addr, mut accepted) = hyper_server(Upgrade::default()).await;
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (mut ws, response) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
            .await
            .unwrap();
        assert_eq!(response.status(), 101);
        assert!(!accepted.recv().await.unwrap().compressed);
        ws.send(TMessage::text("hello")).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::text("hello"));
        let big = vec![7u8; 200_000];
        ws.send(TMessage::binary(big.clone())).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), TMessage::binary(big));
        ws.close(None).await.unwrap();
        // The close is echoed; then the stream ends.
        assert!(matches!(
            ws.next().await,
            Some(Ok(TMessage::Close(_))) | None
        ));
    })
    .await;
}

#[tokio::test]
async fn deflate_is_negotiated_from_the_request() {
    guarded(async {
        let (addr, mut accepted) = hyper_server(Upgrade::new(deflate_config())).await;
        // socketwire-tokio's client offers permessage-deflate by default.
        let (mut ws, response) = socketwire_tokio::connect_async(format!("ws://{addr}/"))
            .await
            .unwrap();
        assert_eq!(
            response.headers()["sec-websocket-extensions"],
            "permessage-deflate"
        );
        assert!(ws.connection().has_extension());
        assert!(accepted.recv().await.unwrap().compressed);
        let text = "compress me ".repeat(1000);
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(text));
        ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        assert_eq!(
            ws.next().await.unwrap().unwrap(),
            Message::binary(vec![1u8, 2, 3])
        );
    })
    .await;
}

#[tokio::test]
async fn deflate_is_declined_by_default() {
    guarded(async {
        let (addr, mut accepted) = hyper_server(Upgrade::default()).await;
        let (ws, response) = socketwire_tokio::connect_async(format!("ws://{addr}/"))
            .await
            .unwrap();
        assert!(!response.headers().contains_key("sec-websocket-extensions"));
        assert!(!ws.connection().has_extension());
        assert!(!accepted.recv().await.unwrap().compressed);
    })
    .await;
}

/// Connects with a tungstenite client offering `offered` subprotocols; the
/// subprotocol the server chose.
async fn chosen_protocol(upgrade: Upgrade, offered: &str) -> Option<String> {
    let (addr, _accepted) = hyper_server(upgrade).await;
    let mut request =
        tungstenite::client::IntoClientRequest::into_client_request(format!("ws://{addr}/"))
            .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", offered.parse().unwrap());
    let tcp = TcpStream::connect(addr).await.unwrap();
    match tokio_tungstenite::client_async(request, tcp).await {
        Ok((_, response)) => response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap().to_owned()),
        // tungstenite refuses a 101 without a subprotocol when it offered some.
        Err(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(_),
        )) => None,
        Err(other) => panic!("handshake failed: {other}"),
    }
}

#[tokio::test]
async fn subprotocol_is_the_clients_first_that_the_server_speaks() {
    guarded(async {
        let chat = Upgrade::default().protocols(["chat.v1", "chat.v2"]);
        assert_eq!(
            chosen_protocol(chat.clone(), "chat.v2, chat.v1").await,
            Some("chat.v2".into())
        );
        assert_eq!(
            chosen_protocol(chat.clone(), "other, chat.v1").await,
            Some("chat.v1".into())
        );
        assert_eq!(chosen_protocol(chat, "other").await, None);
        assert_eq!(chosen_protocol(Upgrade::default(), "chat.v1").await, None);
    })
    .await;
}

/// Sends `request` (a raw head) to a fresh server, reads the reply to its end.
async fn raw_reply(request: &str) -> String {
    let (addr, _accepted) = hyper_server(Upgrade::default()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    // The refusal says `Connection: close`, so hyper closes after it.
    tcp.take(MAX_REPLY).read_to_end(&mut reply).await.unwrap();
    String::from_utf8(reply).unwrap().to_ascii_lowercase()
}

#[tokio::test]
async fn missing_key_gets_400() {
    guarded(async {
        let reply = raw_reply(
            "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .await;
        assert!(reply.starts_with("http/1.1 400 bad request\r\n"), "{reply}");
        assert!(reply.contains("\r\nconnection: close\r\n"), "{reply}");
        assert!(!reply.contains("sec-websocket-accept"), "{reply}");
    })
    .await;
}

#[tokio::test]
async fn wrong_version_gets_426_with_version_13() {
    guarded(async {
        let reply = raw_reply(
            "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        )
        .await;
        assert!(
            reply.starts_with("http/1.1 426 upgrade required\r\n"),
            "{reply}"
        );
        assert!(
            reply.contains("\r\nsec-websocket-version: 13\r\n"),
            "{reply}"
        );
        assert!(reply.contains("\r\nupgrade: websocket\r\n"), "{reply}");
        assert!(
            reply.contains("\r\nconnection: upgrade, close\r\n"),
            "{reply}"
        );
    })
    .await;
}

#[tokio::test]
async fn plain_request_is_not_an_upgrade() {
    guarded(async {
        let reply = raw_reply("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").await;
        assert!(reply.starts_with("http/1.1 400 bad request\r\n"), "{reply}");
    })
    .await;
}

#[tokio::test]
async fn frames_sent_right_after_the_request_are_not_lost() {
    guarded(async {
        let (addr, mut accepted) = hyper_server(Upgrade::default()).await;
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        // The head and a masked "Hello" (RFC 6455 §5.7) in one write: hyper has
        // read the frame with the head, and hands it over with the connection.
        let mut bytes =
            b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                .to_vec();
        bytes.extend_from_slice(&[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ]);
        tcp.write_all(&bytes).await.unwrap();
        accepted.recv().await.unwrap();
        let mut reply = Vec::new();
        let mut buf = [0u8; 512];
        // The 101, then the echoed unmasked "Hello" frame.
        while !reply.ends_with(b"\x81\x05Hello") && reply.len() < 4096 {
            let n = tcp.read(&mut buf).await.unwrap();
            assert_ne!(n, 0, "closed early: {:?}", String::from_utf8_lossy(&reply));
            reply.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&reply).to_ascii_lowercase();
        assert!(
            text.starts_with("http/1.1 101 switching protocols\r\n"),
            "{text}"
        );
        assert!(
            text.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
            "{text}"
        );
    })
    .await;
}

#[test]
fn is_upgrade_request_reads_the_upgrade_field() {
    let ask = |upgrade: &str| {
        let request = http::Request::get("/")
            .header("upgrade", upgrade)
            .body(())
            .unwrap();
        socketwire_tokio::is_upgrade_request(&request)
    };
    assert!(ask("websocket"));
    assert!(ask("h2c, WebSocket"));
    assert!(!ask("h2c"));
    assert!(!socketwire_tokio::is_upgrade_request(
        &http::Request::get("/").body(()).unwrap()
    ));
}
