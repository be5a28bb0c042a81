//! The example server's WebSocket routes, `/echo` and `/chat`, on
//! socketwire-tokio: the upgrade (with permessage-deflate) answered through
//! hyper by [`socketwire_tokio::Upgrade`], then a loop over the
//! [`WebSocketStream`] it gives.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use socketwire::deflate::DeflateConfig;
use socketwire::ws::message::MessageKind;
use socketwire::ws::{CloseCode, Limits, PreparedMessage};
use socketwire_tokio::{CloseFrame, Config, Deflate, Error, Message, Upgrade, WebSocketStream};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::chat_cluster::ChatCluster;
use crate::{Options, Reply, Shared};

/// Slots of the `/chat` broadcast ring: a reader that falls this many messages
/// behind is closed (1008). With [`CHAT_MAX_MESSAGE`] the ring pins at most
/// 64 × 32 KiB = 2 MiB, however many readers stop reading.
pub const CHAT_SLOTS: usize = 64;

/// The largest `/chat` message (after inflation), and frame: a larger one closes
/// the sender's connection with 1009, checked on the frame header.
pub const CHAT_MAX_MESSAGE: u64 = 32 << 10;

/// Most frames in one `/chat` message.
const CHAT_MAX_FRAGMENTS: usize = 1024;

/// The WebSocket configuration of `/echo`: the default limits (16 MiB frames,
/// 64 MiB messages), a keepalive ping every `--ws-ping-interval`, closed after
/// `--ws-idle-timeout` without input, at most `--max-backpressure` bytes of
/// output waiting (the loop stops reading until the peer drains it),
/// permessage-deflate unless `--no-deflate`, borrowing from the server's pool
/// (`deflate_pool`) when it resets per message.
pub fn echo_config(options: &Options, deflate_pool: &socketwire::deflate::DeflatePool) -> Config {
    Config {
        keepalive_interval: Some(Duration::from_millis(options.ws_ping_interval_ms)),
        idle_timeout: Some(Duration::from_millis(options.ws_idle_timeout_ms)),
        max_write_buffer: options.max_backpressure,
        deflate: if options.deflate {
            Deflate::Enabled(deflate_config(options))
        } else {
            Deflate::Disabled
        },
        deflate_pool: Some(deflate_pool.clone()),
        ..Config::default()
    }
}

/// The WebSocket configuration of `/chat`: `/echo`'s, with messages and frames of
/// at most [`CHAT_MAX_MESSAGE`].
pub fn chat_config(options: &Options, deflate_pool: &socketwire::deflate::DeflatePool) -> Config {
    Config {
        limits: Limits {
            max_frame_size: CHAT_MAX_MESSAGE,
            max_message_size: CHAT_MAX_MESSAGE,
            max_fragments: CHAT_MAX_FRAGMENTS,
        },
        ..echo_config(options, deflate_pool)
    }
}

/// What the server asks of permessage-deflate: the defaults, or with
/// `--deflate-no-context-takeover` both sides reset their compressor after
/// every message (RFC 7692 §7.1.1), so a connection borrows its compression
/// state from the server's pool for one message at a time and a `/chat`
/// message is compressed once for all its readers.
pub fn deflate_config(options: &Options) -> DeflateConfig {
    DeflateConfig {
        server_no_context_takeover: options.deflate_no_context_takeover,
        client_no_context_takeover: options.deflate_no_context_takeover,
        ..DeflateConfig::default()
    }
}

/// `/echo` and `/chat`: the `101` (or the refusal: `426` with
/// `Sec-WebSocket-Version: 13` for a wrong version, `400` otherwise); the
/// WebSocket runs on a task of its own once hyper hands the connection over.
pub fn serve(mut request: http::Request<Incoming>, path: &str, shared: Arc<Shared>) -> Reply {
    let chat = path == "/chat";
    let config = if chat {
        chat_config(&shared.options, &shared.deflate_pool)
    } else {
        echo_config(&shared.options, &shared.deflate_pool)
    };
    let (response, websocket) = match Upgrade::new(config).upgrade(&mut request) {
        Ok(accepted) => accepted,
        Err(refused) => return refused.to_response().map(|_| Full::default()),
    };
    tokio::spawn(async move {
        // `Err`: the peer went away before the upgrade.
        let Ok(ws) = websocket.await else {
            return;
        };
        let result = if chat {
            let readers = shared.chat.subscribe();
            run_chat(ws, readers, &shared.chat, shared.chat_cluster.as_deref()).await
        } else {
            echo(ws).await
        };
        // The peer's own errors (a protocol error, an idle timeout) are not the
        // server's; I/O errors are logged unless they are resets.
        if let Err(Error::Io(error)) = result {
            crate::log_error(Err(error));
        }
    });
    response.map(|_| Full::default())
}

/// `/echo`: every text and binary message back to its sender. The echoes
/// are fed, not flushed one by one: those of one read go out in one vectored
/// write. While more than `--max-backpressure` bytes wait for the peer,
/// `feed` waits, so nothing more is read (socketwire-tokio's bound).
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
) -> Result<(), Error> {
    while let Some(message) = ws.next().await {
        if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
            ws.feed(m).await?;
        }
    }
    Ok(())
}

/// `/chat`: what a reader sends goes to the ring `ring` (and, with `--redis`,
/// to the other nodes), prepared once: checked, and compressed when the
/// readers' deflate resets per message, so every reader sends the same
/// bytes; what the ring holds (`readers`, this reader's place in it) goes to
/// the peer. A reader the ring laps is closed with 1008 rather than left to
/// skip messages.
pub async fn run_chat<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocketStream<S>,
    mut readers: broadcast::Receiver<PreparedMessage>,
    ring: &broadcast::Sender<PreparedMessage>,
    cluster: Option<&ChatCluster>,
) -> Result<(), Error> {
    loop {
        let delivered = tokio::select! {
            message = ws.next() => {
                let (kind, payload) = match message.transpose()? {
                    None => return Ok(()),
                    // A message shares its read buffer's allocation; the ring
                    // keeps an exact copy, so each slot pins only the message.
                    Some(Message::Text(text)) => (MessageKind::Text, Bytes::copy_from_slice(text.as_bytes())),
                    Some(Message::Binary(data)) => (MessageKind::Binary, Bytes::copy_from_slice(&data)),
                    Some(_) => continue,
                };
                if let Ok(message) = ws.prepare(kind, payload) {
                    if let Some(cluster) = cluster {
                        cluster.publish(kind, message.payload());
                    }
                    drop(ring.send(message));
                }
                catch_up(&mut ws, &mut readers).await?
            }
            next = readers.recv() => deliver(&mut ws, next).await?,
        };
        if !delivered {
            // Lapped: the close is sent; wait for the peer's answer (up to the
            // close timeout).
            return ws.close().await;
        }
    }
}

/// After a reader's own message went to the ring: it takes what the ring
/// holds for it now (its own message among them) before it reads more, so
/// a sender's burst, longer than the ring, cannot lap its own reader. At
/// most [`CHAT_SLOTS`] at a time. `false` if the reader was lapped.
async fn catch_up<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    readers: &mut broadcast::Receiver<PreparedMessage>,
) -> Result<bool, Error> {
    for _ in 0..CHAT_SLOTS {
        let next = match readers.try_recv() {
            Ok(message) => Ok(message),
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
        };
        if !deliver(ws, next).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Hands what the ring gave to the peer (fed: it goes out with the next
/// read's writes, or once `--max-backpressure` allows). On a lap, sends a
/// close (1008) and gives `false`.
async fn deliver<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    next: Result<PreparedMessage, RecvError>,
) -> Result<bool, Error> {
    match next {
        Ok(message) => {
            ws.feed_prepared(&message).await?;
            Ok(true)
        }
        // The ring outlives every reader (the server holds its sender).
        Err(RecvError::Closed) => Ok(false),
        Err(RecvError::Lagged(_)) => {
            // Messages this reader never took are gone from the ring: close
            // rather than skip them silently.
            let close = CloseFrame {
                code: CloseCode::POLICY_VIOLATION,
                reason: "fell behind the broadcast".into(),
            };
            ws.feed(Message::Close(Some(close))).await?;
            Ok(false)
        }
    }
}
