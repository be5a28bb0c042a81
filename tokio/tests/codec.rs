//! `WebSocketCodec` in a `Framed` over `tokio::io::duplex`, against tungstenite
//! peers, `WebSocketStream` and hand-written frames: both roles, input one byte
//! at a time, replies, protocol errors and limits.

use std::future::Future;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketwire::ws::{ClosedBy, Limits};
use socketwire_tokio::codec::{Replies, WebSocketCodec};
use socketwire_tokio::{CloseCode, CloseFrame, Config, Error, Message, Role, WebSocketStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::codec::Framed;
use tungstenite::Message as TMessage;
use tungstenite::protocol::Role as TRole;

/// A guard against a test that hangs; nothing asserts on time.
const GUARD: Duration = Duration::from_secs(30);

async fn guarded<T>(body: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, body)
        .await
        .expect("the test hung")
}

fn framed(role: Role, io: DuplexStream) -> Framed<DuplexStream, WebSocketCodec> {
    Framed::new(io, WebSocketCodec::new(role, &Config::default()))
}

async fn tungstenite_peer(
    role: TRole,
    io: DuplexStream,
) -> tokio_tungstenite::WebSocketStream<DuplexStream> {
    tokio_tungstenite::WebSocketStream::from_raw_socket(io, role, None).await
}

/// A server codec echoing text and binary, writing replies after anything
/// else, until the stream ends; returns how it ended.
async fn echo(mut framed: Framed<DuplexStream, WebSocketCodec>) -> Result<(), Error> {
    while let Some(message) = framed.next().await {
        match message {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => framed.send(m).await?,
            Ok(_) => {
                framed.send(Replies).await?;
                // After the close reply the connection is over: the server
                // closes the transport (by dropping it).
                if framed.codec().is_closed() {
                    return Ok(());
                }
            }
            Err(error) => {
                framed.send(Replies).await?;
                return Err(error);
            }
        }
    }
    Ok(())
}

/// Sends and expects back text, binary, a ping's pong, then closes.
async fn echo_exchange(client: &mut tokio_tungstenite::WebSocketStream<DuplexStream>) {
    client.send(TMessage::text("héllo")).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::text("héllo")
    );
    let big = vec![9u8; 70_000];
    client.send(TMessage::binary(big.clone())).await.unwrap();
    assert_eq!(client.next().await.unwrap().unwrap(), TMessage::binary(big));
    client
        .send(TMessage::Ping(b"p".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        TMessage::Pong(b"p".to_vec().into())
    );
    client.close(None).await.unwrap();
    while let Some(Ok(message)) = client.next().await {
        assert!(matches!(message, TMessage::Close(_)), "{message:?}");
    }
}

/// A server codec echoing to a tungstenite client over a duplex whose reads
/// give at most `max_buf_size` bytes.
async fn echo_to_tungstenite_over(max_buf_size: usize) {
    let (a, b) = tokio::io::duplex(max_buf_size);
    let server = tokio::spawn(echo(framed(Role::Server, a)));
    let mut client = tungstenite_peer(TRole::Client, b).await;
    echo_exchange(&mut client).await;
    drop(client);
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn server_codec_echoes_to_a_tungstenite_client() {
    guarded(echo_to_tungstenite_over(64 * 1024)).await;
}

#[tokio::test]
async fn input_one_byte_at_a_time() {
    // A duplex of one byte: every read the codec's Framed makes gets one.
    guarded(echo_to_tungstenite_over(1)).await;
}

#[tokio::test]
async fn client_codec_masks_for_a_tungstenite_server() {
    guarded(async {
        let (a, b) = tokio::io::duplex(1024);
        // tungstenite refuses unmasked frames from a client (close 1002).
        let server = tokio::spawn(async move {
            let mut server = tungstenite_peer(TRole::Server, b).await;
            while let Some(Ok(message)) = server.next().await {
                if message.is_text() || message.is_binary() {
                    server.send(message).await.unwrap();
                }
            }
        });
        let mut client = framed(Role::Client, a);
        for i in 0..10u8 {
            client.send(Message::binary(vec![i; 300])).await.unwrap();
            assert_eq!(
                client.next().await.unwrap().unwrap(),
                Message::binary(vec![i; 300])
            );
        }
        client
            .send(Message::Close(Some(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "bye".into(),
            })))
            .await
            .unwrap();
        let Some(Ok(Message::Close(Some(frame)))) = client.next().await else {
            panic!("no close echoed");
        };
        assert_eq!(frame.code, CloseCode::NORMAL);
        // The close handshake is over: the stream ends without an error.
        drop(client);
        server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn codec_against_websocket_stream() {
    guarded(async {
        let (a, b) = tokio::io::duplex(4096);
        let server = tokio::spawn(echo(framed(Role::Server, a)));
        let mut client = WebSocketStream::from_raw_socket(b, Role::Client, &Config::default());
        for text in ["a", "bb", "ccc"] {
            client.send(Message::text(text)).await.unwrap();
            assert_eq!(client.next().await.unwrap().unwrap(), Message::text(text));
        }
        client.close().await.unwrap();
        server.await.unwrap().unwrap();
    })
    .await;
}

/// A server codec with `config` in a `Framed`, and the peer's end of the
/// duplex, on which `frames` (raw bytes) were written.
async fn fed_server(
    config: Config,
    frames: &[u8],
) -> (Framed<DuplexStream, WebSocketCodec>, DuplexStream) {
    let (a, mut b) = tokio::io::duplex(1 << 20);
    b.write_all(frames).await.unwrap();
    (
        Framed::new(a, WebSocketCodec::new(Role::Server, &config)),
        b,
    )
}

/// Writes `frames` raw to a server codec; returns the codec's error and the
/// bytes it wrote after `Replies`.
async fn server_error(config: Config, frames: &[u8]) -> (Error, Vec<u8>) {
    let (mut server, mut b) = fed_server(config, frames).await;
    let error = match server.next().await {
        Some(Err(error)) => error,
        other => panic!("expected an error, got {other:?}"),
    };
    assert!(server.codec().has_replies());
    server.send(Replies).await.unwrap();
    assert!(!server.codec().has_replies());
    drop(server);
    let mut wire = Vec::new();
    b.read_to_end(&mut wire).await.unwrap();
    (error, wire)
}

/// The close code of the one close frame (unmasked, from a server) in `wire`.
fn close_code_of(wire: &[u8]) -> u16 {
    assert_eq!(wire[0], 0x88, "not a close frame: {wire:?}");
    let len = usize::from(wire[1]);
    assert_eq!(wire.len(), 2 + len, "{wire:?}");
    u16::from_be_bytes([wire[2], wire[3]])
}

#[tokio::test]
async fn protocol_errors_are_decode_errors_with_their_close_queued() {
    let small = Config {
        limits: Limits {
            max_message_size: 1000,
            ..Limits::default()
        },
        ..Config::default()
    };
    let cases: [(&str, Config, &[u8], CloseCode); 3] = [
        (
            "an unmasked client frame",
            Config::default(),
            b"\x81\x05Hello",
            CloseCode::PROTOCOL_ERROR,
        ),
        (
            "a masked text frame (mask 0) of one byte 0xff",
            Config::default(),
            b"\x81\x81\0\0\0\0\xff",
            CloseCode::INVALID_PAYLOAD,
        ),
        (
            "the header of a masked 64 KiB frame past the limit, no payload",
            small,
            b"\x82\xfe\xff\xff\0\0\0\0",
            CloseCode::MESSAGE_TOO_BIG,
        ),
    ];
    for (what, config, frames, code) in cases {
        let (error, wire) = guarded(server_error(config, frames)).await;
        assert!(matches!(error, Error::Protocol(_)), "{what}: {error:?}");
        assert_eq!(error.close_code(), Some(code), "{what}");
        assert_eq!(close_code_of(&wire), code.0, "{what}");
    }
}

#[tokio::test]
async fn end_of_input_without_a_close_is_aborted() {
    guarded(async {
        // A masked empty text frame, then end of file.
        let (mut server, b) = fed_server(Config::default(), b"\x81\x80\0\0\0\0").await;
        drop(b);
        assert_eq!(server.next().await.unwrap().unwrap(), Message::text(""));
        match server.next().await {
            Some(Err(Error::Aborted(ClosedBy::Eof))) => {}
            other => panic!("expected Aborted(Eof), got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn replies_go_out_before_the_next_message() {
    guarded(async {
        // Two masked pings ("1", "2"), mask 0.
        let pings = b"\x89\x81\0\0\0\0\x31\x89\x81\0\0\0\0\x32";
        let (mut server, mut b) = fed_server(Config::default(), pings).await;
        for _ in 0..2 {
            assert!(matches!(server.next().await, Some(Ok(Message::Ping(_)))));
        }
        server.send(Message::text("t")).await.unwrap();
        let mut wire = [0u8; 9];
        b.read_exact(&mut wire).await.unwrap();
        assert_eq!(&wire, b"\x8a\x01\x31\x8a\x01\x32\x81\x01t");
    })
    .await;
}

#[tokio::test]
async fn sending_after_the_peers_close_fails_but_writes_the_reply() {
    guarded(async {
        // A masked close 1000, mask 0.
        let close = b"\x88\x82\0\0\0\0\x03\xe8";
        let (mut server, mut b) = fed_server(Config::default(), close).await;
        let Some(Ok(Message::Close(Some(frame)))) = server.next().await else {
            panic!("no close");
        };
        assert_eq!(frame.code, CloseCode::NORMAL);
        assert!(matches!(
            server.send(Message::text("late")).await,
            Err(Error::AlreadyClosed)
        ));
        // The reply is in the write buffer (the failed send did not flush it);
        // sending `Replies` flushes it.
        server.send(Replies).await.unwrap();
        let mut wire = [0u8; 4];
        b.read_exact(&mut wire).await.unwrap();
        assert_eq!(&wire, b"\x88\x02\x03\xe8");
        // The handshake finished: the stream ends without an error.
        drop(b);
        assert!(server.next().await.is_none());
    })
    .await;
}
