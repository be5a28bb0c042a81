//! WebSocket plumbing for the example server: the upgrade (with permessage-deflate)
//! and the drive loop around a `socketwire::ws::Connection`; the `/echo` and `/chat`
//! routes.

use std::io::IoSlice;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use socketwire::deflate::DeflateConfig;
use socketwire::handshake::{AcceptOptions, RequestHead, ServerHandshake};
use socketwire::ws::message::MessageKind;
use socketwire::ws::{CloseCode, Config, Connection, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Shared;
use crate::http::RequestStream;

/// A message for a connection to send, from elsewhere in the server.
#[derive(Clone, Debug)]
pub enum Outgoing {
    /// Valid UTF-8 text.
    Text(Bytes),
    Binary(Bytes),
    Close,
}

/// Answers an upgrade request: `None` if it was refused (the 400/426 reply is sent).
pub async fn accept(
    mut http: RequestStream,
    head: RequestHead,
    shared: &Shared,
) -> std::io::Result<Option<(TcpStream, Connection)>> {
    let mut out = BytesMut::new();
    let handshake = match ServerHandshake::new(head) {
        Ok(h) => h,
        Err(error) => {
            // 426 + Sec-WebSocket-Version: 13 for a wrong version, 400 otherwise.
            error.write_response(&mut out);
            http.stream.write_all(&out).await?;
            return Ok(None);
        }
    };
    // permessage-deflate: accept the first offer we can (unless --no-deflate).
    let deflate = if shared.options.deflate {
        DeflateConfig::default().accept_offers(&handshake.extensions())
    } else {
        None
    };
    let options = AcceptOptions {
        extensions: deflate.as_ref().map(|d| d.response.as_str()),
        ..AcceptOptions::default()
    };
    if handshake.write_accept(&options, &mut out).is_err() {
        return Ok(None);
    }
    http.stream.write_all(&out).await?;
    let mut conn = Connection::server(Config::default());
    if let Some(accepted) = deflate {
        conn = conn.with_extension(accepted.extension);
    }
    conn.handle_input(&handshake.into_leftover());
    conn.handle_input(&http.take_carry());
    Ok(Some((http.stream, conn)))
}

/// `/echo` and `/chat`.
pub async fn serve(
    http: RequestStream,
    head: RequestHead,
    path: &str,
    shared: Arc<Shared>,
) -> std::io::Result<()> {
    let Some((mut stream, mut conn)) = accept(http, head, &shared).await? else {
        return Ok(());
    };
    if path == "/chat" {
        let mut rx = shared.chat.subscribe();
        let chat = shared.chat.clone();
        let on_event = |_: &mut Connection, event: Event| match event {
            Event::Text(t) => drop(chat.send(Outgoing::Text(t))),
            Event::Binary(b) => drop(chat.send(Outgoing::Binary(b))),
            _ => {}
        };
        drive(&mut stream, &mut conn, on_event, Source::Broadcast(&mut rx)).await
    } else {
        let on_event = |conn: &mut Connection, event: Event| {
            let _ = match event {
                Event::Text(t) => send(conn, Outgoing::Text(t)),
                Event::Binary(b) => send(conn, Outgoing::Binary(b)),
                _ => Ok(()),
            };
        };
        drive(&mut stream, &mut conn, on_event, Source::Nothing).await
    }
}

fn send(conn: &mut Connection, message: Outgoing) -> Result<(), socketwire::ws::ApiMisuse> {
    match message {
        // Payloads are shared `Bytes`: large ones go out without being copied.
        Outgoing::Text(t) => conn.send_shared(MessageKind::Text, t),
        Outgoing::Binary(b) => conn.send_shared(MessageKind::Binary, b),
        Outgoing::Close => conn.close(CloseCode::NORMAL, ""),
    }
}

/// Where a connection's messages from elsewhere in the server come from.
pub enum Source<'a> {
    Nothing,
    Broadcast(&'a mut tokio::sync::broadcast::Receiver<Outgoing>),
    /// A bounded channel; its end (every sender dropped) closes the connection.
    Channel(&'a mut tokio::sync::mpsc::Receiver<Outgoing>),
}

impl Source<'_> {
    /// The next message; `None` when the source has ended.
    async fn next(&mut self) -> Option<Outgoing> {
        match self {
            Source::Nothing => None,
            Source::Channel(rx) => rx.recv().await,
            Source::Broadcast(rx) => loop {
                match rx.recv().await {
                    Ok(message) => return Some(message),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return None,
                }
            },
        }
    }
}

/// The drive loop: socket bytes in, events to `on_event`, messages from
/// `outgoing` out, until the connection closes.
pub async fn drive(
    stream: &mut TcpStream,
    conn: &mut Connection,
    mut on_event: impl FnMut(&mut Connection, Event),
    mut outgoing: Source<'_>,
) -> std::io::Result<()> {
    let mut outgoing_open = true;
    loop {
        let mut closed = false;
        while let Some(event) = conn.poll_event() {
            closed |= matches!(event, Event::Closed { .. });
            on_event(conn, event);
        }
        // Headers and payloads in vectored writes; a partial write is resumed.
        while conn.wants_transmit() {
            let slices: Vec<IoSlice<'_>> =
                conn.transmit_chunks().take(64).map(IoSlice::new).collect();
            let n = stream.write_vectored(&slices).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            conn.advance_transmit(n);
        }
        if closed {
            let _ = stream.shutdown().await;
            return Ok(());
        }
        let input = conn.input_buffer();
        input.reserve(64 * 1024);
        tokio::select! {
            n = stream.read_buf(input) => {
                if n? == 0 {
                    conn.handle_eof();
                }
            }
            message = outgoing.next(), if outgoing_open => match message {
                Some(message) => {
                    let _ = send(conn, message);
                }
                None => {
                    outgoing_open = false;
                    if matches!(outgoing, Source::Channel(_)) {
                        let _ = conn.close(CloseCode::NORMAL, "");
                    }
                }
            },
        }
    }
}
