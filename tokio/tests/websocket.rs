//! socketwire-tokio against real peers (tokio-tungstenite clients and servers,
//! and hand-written frames) over TCP on 127.0.0.1.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream::FusedStream;
use futures_util::{FutureExt, SinkExt, StreamExt};
use socketwire::ws::{ClosedBy, ProtocolError};
use socketwire_tokio::{
    CloseCode, CloseFrame, Config, Deflate, Error, ErrorResponse, Message, Request, Response,
    WebSocketStream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tungstenite::Message as TMessage;

/// A guard against a test that hangs; nothing asserts on time.
const GUARD: Duration = Duration::from_secs(30);

/// Runs a test body under [`GUARD`].
async fn guarded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, body)
        .await
        .expect("the test hung")
}

/// A server that accepts one connection with `config` and hands the stream to
/// `run`.
async fn serve<F, R>(config: Config, run: F) -> (SocketAddr, JoinHandle<R::Output>)
where
    F: FnOnce(WebSocketStream<TcpStream>) -> R + Send + 'static,
    R: Future + Send + 'static,
    R::Output: Send + 'static,
{
    let (listener, addr) = listener().await;
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = socketwire_tokio::accept_async_with_config(tcp, config)
            .await
            .unwrap();
        run(ws).await
    });
    (addr, task)
}

/// The code of the next close frame from a tungstenite peer.
async fn close_code(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) -> u16 {
    match next_message(ws).await {
        TMessage::Close(Some(frame)) => u16::from(frame.code),
        other => panic!("expected a close, got {other:?}"),
    }
}

async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Echoes text and binary messages until the stream ends.
async fn echo(mut ws: WebSocketStream<TcpStream>) -> Result<(), Error> {
    while let Some(message) = ws.next().await {
        if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
            ws.send(m).await?;
        }
    }
    Ok(())
}

/// A server that accepts one connection with `config` and echoes on it.
async fn echo_server(config: Config) -> (SocketAddr, JoinHandle<Result<(), Error>>) {
    serve(config, echo).await
}

async fn tungstenite_client(addr: SocketAddr) -> tokio_tungstenite::WebSocketStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp)
        .await
        .unwrap();
    ws
}

/// The next data or close message from a tungstenite peer (pings skipped).
async fn next_message(ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>) -> TMessage {
    loop {
        match ws.next().await.expect("stream ended").expect("read failed") {
            TMessage::Ping(_) | TMessage::Pong(_) => continue,
            other => return other,
        }
    }
}

/// Upgrades a raw TCP connection by hand and returns it with the response head.
async fn raw_upgrade(addr: SocketAddr, extra: &str) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut tcp).await;
    (tcp, head)
}

/// Reads an HTTP head byte by byte (at most 8 KiB), or what came before EOF.
async fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while head.len() < 8192 && !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A client frame (masked with a zero key) with a payload under 126 bytes.
fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![first_byte, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// Reads one unmasked server frame with a payload under 126 bytes.
async fn read_server_frame(tcp: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut header = [0u8; 2];
    tcp.read_exact(&mut header).await.unwrap();
    assert!(header[1] < 126, "short frames only");
    let mut payload = vec![0; usize::from(header[1])];
    tcp.read_exact(&mut payload).await.unwrap();
    (header[0], payload)
}

#[tokio::test]
async fn echoes_text_binary_empty_and_one_mib_to_a_tungstenite_client() {
    guarded(async {
        let (addr, server) = echo_server(Config::default()).await;
        let mut client = tungstenite_client(addr).await;
        let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        let messages = [
            TMessage::text("hello"),
            TMessage::text(""),
            TMessage::binary(vec![1, 2, 3]),
            TMessage::binary(Vec::new()),
            TMessage::binary(big),
            TMessage::text("é".repeat(300_000)),
        ];
        for message in messages {
            client.send(message.clone()).await.unwrap();
            assert_eq!(next_message(&mut client).await, message);
        }
        client.close(None).await.unwrap();
        server.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn reassembles_fragmented_input_and_interleaved_pings() {
    guarded(async {
        let (addr, server) = serve(Config::default(), move |mut ws| async move {
            let mut got = Vec::new();
            for _ in 0..2 {
                got.push(ws.next().await.unwrap().unwrap());
            }
            got
        })
        .await;
        let (mut tcp, head) = raw_upgrade(addr, "Sec-WebSocket-Version: 13\r\n").await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let mut bytes = client_frame(0x01, b"Hel"); // text, not final
        bytes.extend(client_frame(0x89, b"p")); // a ping in between
        bytes.extend(client_frame(0x00, b"lo ")); // continuation
        bytes.extend(client_frame(0x80, "wörld".as_bytes())); // final continuation
        // One byte per write: the reader sees every split.
        for byte in bytes {
            tcp.write_all(&[byte]).await.unwrap();
        }
        let got = server.await.unwrap();
        assert_eq!(got[0], Message::Ping(bytes::Bytes::from_static(b"p")));
        assert_eq!(got[1], Message::text("Hello wörld"));
        assert_eq!(read_server_frame(&mut tcp).await, (0x8a, b"p".to_vec()));
    })
    .await;
}

#[tokio::test]
async fn answers_pings_while_the_application_only_reads() {
    guarded(async {
        let (listener, addr) = listener().await;
        let (seen_tx, mut seen_rx) = tokio::sync::mpsc::channel(16);
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = socketwire_tokio::accept_async(tcp).await.unwrap();
            // Only reads, never writes.
            while let Some(Ok(message)) = ws.next().await {
                let _ = seen_tx.send(message).await;
            }
        });
        let mut client = tungstenite_client(addr).await;
        for i in 0..3u8 {
            client
                .send(TMessage::Ping(vec![i; 4].into()))
                .await
                .unwrap();
            match client.next().await.unwrap().unwrap() {
                TMessage::Pong(payload) => assert_eq!(&payload[..], &[i; 4]),
                other => panic!("expected a pong, got {other:?}"),
            }
            assert_eq!(seen_rx.recv().await, Some(Message::Ping(vec![i; 4].into())));
        }
        client.close(None).await.unwrap();
        server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn close_started_by_the_client_is_echoed_with_its_code() {
    guarded(async {
        let (addr, server) = serve(Config::default(), move |mut ws| async move {
            let close = ws.next().await.unwrap().unwrap();
            let end = ws.next().await;
            (close, end.is_none())
        })
        .await;
        let mut client = tungstenite_client(addr).await;
        let frame = tungstenite::protocol::CloseFrame {
            code: 4000.into(),
            reason: "bye".into(),
        };
        client
            .send(TMessage::Close(Some(frame.clone())))
            .await
            .unwrap();
        assert_eq!(
            next_message(&mut client).await,
            TMessage::Close(Some(frame))
        );
        let (close, ended) = server.await.unwrap();
        assert_eq!(
            close,
            Message::Close(Some(CloseFrame {
                code: CloseCode(4000),
                reason: "bye".into()
            }))
        );
        assert!(ended, "the stream ends after the close handshake");
    })
    .await;
}

#[tokio::test]
async fn close_started_by_the_server_waits_for_the_answer() {
    guarded(async {
        let (addr, server) = serve(Config::default(), move |mut ws| async move {
            let frame = CloseFrame {
                code: CloseCode::GOING_AWAY,
                reason: "restart".into(),
            };
            ws.send(Message::Close(Some(frame))).await.unwrap();
            // Sending after the close is refused.
            assert!(matches!(
                ws.send(Message::text("late")).await,
                Err(Error::AlreadyClosed)
            ));
            ws.close().await.unwrap();
            // The peer's answer was kept for the reader.
            let answer = ws.next().await;
            (answer, ws.next().await.is_none())
        })
        .await;
        let mut client = tungstenite_client(addr).await;
        match next_message(&mut client).await {
            TMessage::Close(Some(frame)) => {
                assert_eq!(u16::from(frame.code), 1001);
                assert_eq!(frame.reason, "restart");
            }
            other => panic!("expected a close, got {other:?}"),
        }
        // tungstenite answers the close while reading; the stream then ends.
        while let Some(Ok(_)) = client.next().await {}
        let (answer, ended) = server.await.unwrap();
        assert!(
            matches!(answer, Some(Ok(Message::Close(Some(f)))) if f.code == CloseCode::GOING_AWAY)
        );
        assert!(ended);
    })
    .await;
}

#[tokio::test]
async fn sink_close_sends_a_normal_close() {
    guarded(async {
        let (addr, server) = serve(Config::default(), move |mut ws| async move {
            ws.close().await.unwrap();
        })
        .await;
        let mut client = tungstenite_client(addr).await;
        assert_eq!(close_code(&mut client).await, 1000);
        while let Some(Ok(_)) = client.next().await {}
        server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn permessage_deflate_is_negotiated_between_our_client_and_server() {
    guarded(async {
        let config = Config {
            deflate: Deflate::Enabled(Default::default()),
            ..Config::default()
        };
        let (addr, server) = echo_server(config).await;
        let (mut client, response) = socketwire_tokio::connect_async(format!("ws://{addr}/"))
            .await
            .unwrap();
        let extensions = response.headers()["sec-websocket-extensions"]
            .to_str()
            .unwrap();
        assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
        assert!(client.connection().has_extension());
        let text = "compress me ".repeat(10_000);
        for message in [
            Message::text(text.as_str()),
            Message::binary(vec![7u8; 100_000]),
        ] {
            client.send(message.clone()).await.unwrap();
            assert_eq!(client.next().await.unwrap().unwrap(), message);
        }
        client.close().await.unwrap();
        server.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn servers_decline_deflate_unless_enabled() {
    guarded(async {
        let (addr, server) = echo_server(Config::default()).await;
        let (mut client, response) = socketwire_tokio::connect_async(format!("ws://{addr}/"))
            .await
            .unwrap();
        assert!(!response.headers().contains_key("sec-websocket-extensions"));
        assert!(!client.connection().has_extension());
        client.send(Message::text("plain")).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Message::text("plain")
        );
        client.close().await.unwrap();
        server.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn deflate_enabled_server_talks_plain_to_a_tungstenite_client() {
    guarded(async {
        let config = Config {
            deflate: Deflate::Enabled(Default::default()),
            ..Config::default()
        };
        let (addr, server) = echo_server(config).await;
        let mut client = tungstenite_client(addr).await;
        client.send(TMessage::text("no offer")).await.unwrap();
        assert_eq!(next_message(&mut client).await, TMessage::text("no offer"));
        client.close(None).await.unwrap();
        server.await.unwrap().unwrap();
    })
    .await;
}

#[tokio::test]
async fn our_client_offers_deflate_to_a_tungstenite_server_that_declines() {
    guarded(async {
        let (listener, addr) = listener().await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            while let Some(Ok(message)) = ws.next().await {
                if message.is_text() || message.is_binary() {
                    ws.send(message).await.unwrap();
                }
            }
        });
        let (mut client, response) =
            socketwire_tokio::connect_async(format!("ws://{addr}/path?q=1"))
                .await
                .unwrap();
        assert_eq!(response.status(), 101);
        assert!(!client.connection().has_extension());
        client
            .send(Message::binary(vec![9u8; 70_000]))
            .await
            .unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Message::binary(vec![9u8; 70_000])
        );
        client.close().await.unwrap();
        server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_message_over_the_limit_closes_with_1009() {
    guarded(async {
        let config = Config {
            limits: socketwire::ws::Limits {
                max_message_size: 1024,
                ..Default::default()
            },
            ..Config::default()
        };
        let (addr, server) = serve(config, move |mut ws| async move {
            let error = ws.next().await.unwrap().unwrap_err();
            assert!(!ws.is_terminated());
            let ended = ws.next().await.is_none();
            assert!(ws.is_terminated());
            (error, ended)
        })
        .await;
        let mut client = tungstenite_client(addr).await;
        client
            .send(TMessage::binary(vec![0u8; 2048]))
            .await
            .unwrap();
        assert_eq!(close_code(&mut client).await, 1009);
        let (error, ended) = server.await.unwrap();
        assert!(
            matches!(
                error,
                Error::Protocol(
                    ProtocolError::MessageTooBig { .. } | ProtocolError::FrameTooBig { .. }
                )
            ),
            "{error:?}"
        );
        assert_eq!(error.close_code(), Some(CloseCode::MESSAGE_TOO_BIG));
        assert!(ended);
    })
    .await;
}

#[tokio::test]
async fn a_slow_reader_cannot_grow_the_write_buffer_past_its_bound() {
    guarded(async {
        const MAX: usize = 64 * 1024;
        const MESSAGE: usize = 16 * 1024;
        let config = Config {
            max_write_buffer: MAX,
            ..Config::default()
        };
        let (addr, server) = serve(config, move |mut ws| async move {
            let payload = bytes::Bytes::from(vec![1u8; MESSAGE]);
            let (mut queued, mut most_buffered, mut waited) = (0usize, 0usize, false);
            // The client never reads: the kernel's buffers fill, then ours.
            for _ in 0..100_000 {
                match ws.feed(Message::Binary(payload.clone())).now_or_never() {
                    Some(result) => result.unwrap(),
                    None => {
                        waited = true;
                        break;
                    }
                }
                queued += MESSAGE;
                most_buffered = most_buffered.max(ws.write_buffer_len());
            }
            // Past the bound, a send without poll_ready is refused, not buffered.
            let refused = ws.start_send_unpin(Message::Binary(payload));
            (
                queued,
                most_buffered,
                waited,
                refused,
                ws.write_buffer_len(),
            )
        })
        .await;
        let client = tungstenite_client(addr).await;
        let (queued, most_buffered, waited, refused, buffered) = server.await.unwrap();
        assert!(waited, "poll_ready never waited ({queued} bytes queued)");
        assert!(queued > MAX, "the kernel took some: {queued}");
        // One message (and its header) past the bound at most.
        assert!(most_buffered <= MAX + MESSAGE + 16, "{most_buffered}");
        assert!(buffered <= MAX + MESSAGE + 16, "{buffered}");
        assert!(
            matches!(refused, Err(Error::WriteBufferFull { max: MAX, .. })),
            "{refused:?}"
        );
        drop(client);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn keepalive_pings_an_idle_peer() {
    let config = Config {
        keepalive_interval: Some(Duration::from_secs(5)),
        ..Config::default()
    };
    let (addr, server) = echo_server(config).await;
    let mut client = tungstenite_client(addr).await;
    for _ in 0..2 {
        match client.next().await.unwrap().unwrap() {
            TMessage::Ping(_) => {}
            other => panic!("expected a keepalive ping, got {other:?}"),
        }
    }
    client.close(None).await.unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_closes_a_silent_peer() {
    let config = Config {
        idle_timeout: Some(Duration::from_secs(30)),
        ..Config::default()
    };
    let (addr, server) = serve(config, move |mut ws| async move {
        let error = ws.next().await.unwrap().unwrap_err();
        (error, ws.next().await.is_none())
    })
    .await;
    let (mut tcp, head) = raw_upgrade(addr, "Sec-WebSocket-Version: 13\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"));
    // Silent: nothing sent, nothing read until the server gave up.
    let (error, ended) = server.await.unwrap();
    assert!(
        matches!(error, Error::Aborted(ClosedBy::IdleTimeout)),
        "{error:?}"
    );
    assert!(ended);
    let (opcode, payload) = read_server_frame(&mut tcp).await;
    assert_eq!((opcode, &payload[..2]), (0x88, &1001u16.to_be_bytes()[..]));
    let mut rest = Vec::new();
    tcp.read_to_end(&mut rest).await.unwrap();
    assert!(
        rest.is_empty(),
        "the server shut the connection down after its close"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_echo_from_two_tasks() {
    guarded(async {
        let (addr, server) = serve(Config::default(), move |ws| async move {
            let (mut sink, mut stream) = ws.split();
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Message>(4);
            let reader = tokio::spawn(async move {
                let mut count = 0;
                while let Some(Ok(message)) = stream.next().await {
                    if message.is_text() || message.is_binary() {
                        count += 1;
                        tx.send(message).await.unwrap();
                    }
                }
                count
            });
            let writer = tokio::spawn(async move {
                while let Some(message) = rx.recv().await {
                    sink.send(message).await.unwrap();
                }
            });
            let count = reader.await.unwrap();
            writer.await.unwrap();
            count
        })
        .await;
        let mut client = tungstenite_client(addr).await;
        for i in 0..200u32 {
            let message = if i % 2 == 0 {
                TMessage::text(format!("message {i}"))
            } else {
                TMessage::binary(vec![(i % 256) as u8; (i as usize) * 97])
            };
            client.send(message.clone()).await.unwrap();
            if i % 3 == 0 {
                client.send(TMessage::Ping(vec![1].into())).await.unwrap();
            }
            assert_eq!(next_message(&mut client).await, message);
        }
        client.close(None).await.unwrap();
        while let Some(Ok(_)) = client.next().await {}
        assert_eq!(server.await.unwrap(), 200);
    })
    .await;
}

#[tokio::test]
#[allow(clippy::result_large_err)] // the callback's refusal is a whole response
async fn callback_refuses_with_its_status_or_picks_a_subprotocol() {
    guarded(async {
        let (listener, addr) = listener().await;
        let server =
            tokio::spawn(async move {
                let mut results = Vec::new();
                for _ in 0..2 {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let callback = |request: &Request, mut response: Response| {
                        if request.uri().path() == "/forbidden" {
                            let mut refusal = ErrorResponse::new(Some("go away".into()));
                            *refusal.status_mut() = http::StatusCode::FORBIDDEN;
                            return Err(refusal);
                        }
                        assert_eq!(request.headers()["x-token"], "secret");
                        response
                            .headers_mut()
                            .insert("sec-websocket-protocol", "chat".parse().unwrap());
                        response
                            .headers_mut()
                            .insert("x-server", "socketwire".parse().unwrap());
                        Ok(response)
                    };
                    results.push(socketwire_tokio::accept_hdr_async(tcp, callback).await.map(
                        |ws| {
                            tokio::spawn(echo(ws));
                        },
                    ));
                }
                results
            });
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(
            b"GET /forbidden HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
        let mut refusal = String::new();
        tcp.read_to_string(&mut refusal).await.unwrap();
        assert!(
            refusal.starts_with("HTTP/1.1 403 Forbidden\r\n"),
            "{refusal}"
        );
        assert!(refusal.ends_with("\r\n\r\ngo away"), "{refusal}");

        let request = http::Request::builder()
            .uri(format!("ws://{addr}/chat"))
            .header("sec-websocket-protocol", "superchat, chat")
            .header("x-token", "secret")
            .body(())
            .unwrap();
        let (mut client, response) = socketwire_tokio::connect_async(request).await.unwrap();
        assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
        assert_eq!(response.headers()["x-server"], "socketwire");
        client.send(Message::text("hi")).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::text("hi"));
        let results = server.await.unwrap();
        assert!(matches!(
            results[0],
            Err(Error::Refused(http::StatusCode::FORBIDDEN))
        ));
        assert!(results[1].is_ok());
    })
    .await;
}

#[tokio::test]
async fn bad_requests_get_their_status_before_the_error() {
    guarded(async {
        let (listener, addr) = listener().await;
        let server = tokio::spawn(async move {
            let mut errors = Vec::new();
            for _ in 0..2 {
                let (tcp, _) = listener.accept().await.unwrap();
                errors.push(socketwire_tokio::accept_async(tcp).await.unwrap_err());
            }
            errors
        });
        // No version: 426 with the version we speak.
        let (mut tcp, head) = raw_upgrade(addr, "").await;
        assert!(head.starts_with("HTTP/1.1 426"), "{head}");
        assert!(head.contains("Sec-WebSocket-Version: 13\r\n"), "{head}");
        let mut rest = Vec::new();
        let _ = tcp.read_to_end(&mut rest).await;
        // A head over the 16 KiB cap: 431.
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(20_000));
        let _ = tcp.write_all(huge.as_bytes()).await;
        let head = read_head(&mut tcp).await;
        assert!(head.starts_with("HTTP/1.1 431"), "{head}");
        let errors = server.await.unwrap();
        assert!(
            errors.iter().all(|e| matches!(e, Error::Handshake(_))),
            "{errors:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn leftover_bytes_after_the_request_head_reach_the_connection() {
    guarded(async {
        let (addr, server) = serve(Config::default(), move |mut ws| async move {
            ws.next().await.unwrap().unwrap()
        })
        .await;
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let mut bytes =
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                .to_vec();
        bytes.extend(client_frame(0x81, b"early"));
        tcp.write_all(&bytes).await.unwrap();
        assert_eq!(server.await.unwrap(), Message::text("early"));
    })
    .await;
}

#[tokio::test]
async fn wss_urls_without_tls_are_refused_with_a_typed_error() {
    let error = socketwire_tokio::connect_async_tls_with_config(
        "wss://127.0.0.1:1/",
        socketwire_tokio::Config::default(),
        Some(socketwire_tokio::Connector::Plain),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, Error::TlsNotSupported), "{error:?}");
    let error = socketwire_tokio::connect_async("http://127.0.0.1:1/")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidUrl(_)), "{error:?}");
}

#[tokio::test]
async fn the_client_handshake_times_out_on_a_silent_server() {
    let (listener, addr) = listener().await;
    let _server = tokio::spawn(async move {
        let (_tcp, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
    });
    let config = Config {
        handshake_timeout: Some(Duration::from_millis(200)),
        ..Config::default()
    };
    let error = socketwire_tokio::connect_async_with_config(format!("ws://{addr}/"), config)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::HandshakeTimeout), "{error:?}");
}

#[tokio::test]
async fn the_server_handshake_times_out_on_a_silent_client() {
    let (listener, addr) = listener().await;
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = Config {
            handshake_timeout: Some(Duration::from_millis(200)),
            ..Config::default()
        };
        socketwire_tokio::accept_async_with_config(tcp, config)
            .await
            .unwrap_err()
    });
    let _tcp = TcpStream::connect(addr).await.unwrap();
    let error = server.await.unwrap();
    assert!(matches!(error, Error::HandshakeTimeout), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn sink_close_gives_up_on_a_peer_that_never_answers() {
    let config = Config {
        close_timeout: Some(Duration::from_secs(5)),
        ..Config::default()
    };
    let (addr, server) = serve(config, move |mut ws| async move {
        ws.close().await.unwrap();
        let end = ws.next().await;
        (end, ws.next().await.is_none())
    })
    .await;
    let (mut tcp, head) = raw_upgrade(addr, "Sec-WebSocket-Version: 13\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"));
    // Read the server's close, never answer it.
    let (opcode, payload) = read_server_frame(&mut tcp).await;
    assert_eq!((opcode, &payload[..]), (0x88, &1000u16.to_be_bytes()[..]));
    let (end, ended) = server.await.unwrap();
    assert!(
        matches!(end, Some(Err(Error::Aborted(ClosedBy::CloseTimeout)))),
        "{end:?}"
    );
    assert!(ended);
    let mut rest = Vec::new();
    tcp.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty(), "the transport was shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_sink_half_leaves_late_messages_to_the_reader_half() {
    guarded(async {
        let (addr, server) = serve(Config::default(), move |ws| async move {
            let (mut sink, mut stream) = ws.split();
            let reader = tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(Ok(message)) = stream.next().await {
                    got.push(message);
                }
                got
            });
            sink.send(Message::text("from server")).await.unwrap();
            sink.close().await.unwrap();
            reader.await.unwrap()
        })
        .await;
        let mut client = tungstenite_client(addr).await;
        client.send(TMessage::text("from client")).await.unwrap();
        assert_eq!(
            next_message(&mut client).await,
            TMessage::text("from server")
        );
        assert_eq!(close_code(&mut client).await, 1000);
        while let Some(Ok(_)) = client.next().await {}
        let got = server.await.unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], Message::text("from client"));
        assert!(matches!(&got[1], Message::Close(Some(f)) if f.code == CloseCode::NORMAL));
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_writer_that_never_reads_still_sees_the_idle_timeout() {
    let config = Config {
        idle_timeout: Some(Duration::from_secs(30)),
        ..Config::default()
    };
    let (addr, server) = serve(config, move |mut ws| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        let refused = ws.send(Message::text("too late")).await;
        ws.close().await.unwrap();
        refused
    })
    .await;
    let (mut tcp, head) = raw_upgrade(addr, "Sec-WebSocket-Version: 13\r\n").await;
    assert!(head.starts_with("HTTP/1.1 101"));
    let refused = server.await.unwrap();
    assert!(matches!(refused, Err(Error::AlreadyClosed)), "{refused:?}");
    let (opcode, payload) = read_server_frame(&mut tcp).await;
    assert_eq!((opcode, &payload[..]), (0x88, &1001u16.to_be_bytes()[..]));
}

/// A message prepared once reaches two deflate connections without context
/// takeover, each borrowing its compressor from the shared pool: after it,
/// neither connection holds one (they are back in the pool).
#[tokio::test]
async fn a_prepared_message_reaches_pooled_deflate_connections() {
    guarded(async {
        let pool = socketwire::deflate::DeflatePool::new(8);
        let deflate = socketwire::deflate::DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..Default::default()
        };
        let server_config = Config {
            deflate: Deflate::Enabled(deflate.clone()),
            deflate_pool: Some(pool.clone()),
            ..Config::default()
        };
        let client_config = Config {
            deflate: Deflate::Enabled(deflate),
            ..Config::default()
        };
        let mut servers = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..2 {
            let (a, b) = tokio::io::duplex(1 << 16);
            let (server, client) = tokio::join!(
                socketwire_tokio::accept_async_with_config(a, server_config.clone()),
                socketwire_tokio::client_async_with_config("ws://x/", b, client_config.clone()),
            );
            let server = server.unwrap();
            assert!(server.connection().has_extension());
            servers.push(server);
            clients.push(client.unwrap().0);
        }
        let text = "the same bytes for everyone ".repeat(100);
        let message = servers[0]
            .prepare(socketwire::ws::MessageKind::Text, text.clone().into())
            .unwrap();
        for server in &mut servers {
            server.send_prepared(&message).await.unwrap();
        }
        for client in &mut clients {
            assert_eq!(
                client.next().await.unwrap().unwrap(),
                Message::text(text.as_str())
            );
        }
        // Prepared by the first connection's compressor, borrowed and returned;
        // the second sent the shared bytes and borrowed none.
        assert!(pool.idle().0 >= 1, "{:?}", pool.idle());
    })
    .await;
}
