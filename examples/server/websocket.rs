//! `/echo` and `/chat`: WebSocket routes driving a `socketwire::ws::Connection`.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use socketwire::deflate::DeflateConfig;
use socketwire::handshake::{AcceptOptions, ServerHandshake};
use socketwire::ws::{Config, Connection, Event};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

use crate::Shared;
use crate::http::{Request, RequestStream};

/// A chat message as broadcast to every `/chat` client.
#[derive(Clone, Debug)]
pub enum ChatMessage {
    Text(Bytes),
    Binary(Bytes),
}

pub async fn serve(
    mut http: RequestStream,
    request: Request,
    path: &str,
    shared: Arc<Shared>,
) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    let handshake = match ServerHandshake::new(request.head) {
        Ok(h) => h,
        Err(error) => {
            // 426 + Sec-WebSocket-Version: 13 for a wrong version, 400 otherwise.
            error.write_response(&mut out);
            return http.stream.write_all(&out).await;
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
        return Ok(());
    }
    http.stream.write_all(&out).await?;
    let mut leftover = BytesMut::from(&handshake.into_leftover()[..]);
    leftover.extend_from_slice(&http.take_carry());
    let mut stream = http.stream;
    let mut conn = Connection::server(Config::default());
    if let Some(accepted) = deflate {
        conn = conn.with_extension(accepted.extension);
    }
    conn.handle_input(&leftover);
    let chat = path == "/chat";
    let mut rx = shared.chat.subscribe();
    drive(
        &mut stream,
        &mut conn,
        |conn, event| match event {
            Event::Text(t) if chat => {
                let _ = shared.chat.send(ChatMessage::Text(t));
            }
            Event::Binary(b) if chat => {
                let _ = shared.chat.send(ChatMessage::Binary(b));
            }
            Event::Text(t) => {
                let text = std::str::from_utf8(&t).expect("connection validated UTF-8");
                let _ = conn.send_text(text);
            }
            Event::Binary(b) => {
                let _ = conn.send_binary(&b);
            }
            _ => {}
        },
        if chat { Some(&mut rx) } else { None },
    )
    .await
}

enum Wake {
    Read(usize),
    Chat(Option<ChatMessage>),
}

/// The drive loop: feed socket bytes in, hand events to `on_event`, write output.
async fn drive(
    stream: &mut TcpStream,
    conn: &mut Connection,
    mut on_event: impl FnMut(&mut Connection, Event),
    mut chat: Option<&mut broadcast::Receiver<ChatMessage>>,
) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    loop {
        let mut closed = false;
        while let Some(event) = conn.poll_event() {
            if matches!(event, Event::Closed { .. }) {
                closed = true;
            }
            on_event(conn, event);
        }
        if conn.poll_transmit(&mut out) > 0 {
            stream.write_all(&out).await?;
            out.clear();
        }
        if closed {
            let _ = stream.shutdown().await;
            return Ok(());
        }
        let input = conn.input_buffer();
        input.reserve(64 * 1024);
        let wake = match chat.as_deref_mut() {
            Some(rx) => tokio::select! {
                n = stream.read_buf(input) => Wake::Read(n?),
                msg = rx.recv() => Wake::Chat(msg.ok()),
            },
            None => Wake::Read(stream.read_buf(input).await?),
        };
        match wake {
            Wake::Read(0) => conn.handle_eof(),
            Wake::Read(_) | Wake::Chat(None) => {}
            Wake::Chat(Some(ChatMessage::Text(t))) => {
                let _ = conn.send_text(std::str::from_utf8(&t).unwrap_or(""));
            }
            Wake::Chat(Some(ChatMessage::Binary(b))) => {
                let _ = conn.send_binary(&b);
            }
        }
    }
}
