//! A Socket.IO client on tokio: [`Client`], over WebSocket
//! (`transports: ['websocket']` in socket.io-client terms, the default),
//! HTTP long-polling ([`Transport::Polling`], `transports: ['polling']`, on
//! hyper 1.x client connections), or polling upgraded to WebSocket
//! ([`Transport::PollingThenWebSocket`], socket.io-client's default).
//! `https://` and `wss://` URLs go over TLS with [`ClientConfig::tls`]
//! (rustls with the Mozilla roots by default, under the `rustls` feature).
//!
//! The protocol is the core's: [`socketwire::engineio::ClientSession`] (the
//! open packet, heartbeats) under [`socketwire::socketio::ClientSession`]
//! (namespaces, acks, binary attachments, emits buffered until a namespace is
//! connected, re-connecting every namespace after a reconnection). This module
//! owns the socket, the clock, the random jitter and one lock around the
//! Socket.IO session, as `quinn` wraps `quinn-proto`:
//!
//! ```text
//!  Socket::emit / emit_with_ack, AckResponder::send ──lock──▶ socketio::ClientSession
//!                                                       poll_message │ ▲ handle_text / handle_binary
//!                                           send_text / send_binary  ▼ │ poll_event: Message
//!  WebSocket message / GET body ──decode──▶ engineio::ClientSession
//!  WebSocket message / POST body ◀── poll_transmit ──┘
//!  socketio::ClientSession ──poll_event──▶ Ack, AckTimeout ──▶ AckFuture
//!                                          everything else ──▶ Client (a Stream of Event)
//! ```
//!
//! One task per [`Client`] runs the connection; after the transport drops it
//! reconnects with [`Backoff`] delays (socket.io-client's `Manager` defaults)
//! and every namespace sends CONNECT again with its `auth`. Emits made while a
//! namespace is not connected wait for it; an emit that was already handed to
//! the transport when it dropped is not sent again (as with socket.io-client:
//! use an ack and retry when delivery matters).
//!
//! A socket.io 2.x server (or a 4.x one with `allowEIO3`): set
//! [`ClientConfig::engineio_version`] to [`EngineIoVersion::V3`] and
//! `session.decoder.version` to [`SocketIoVersion::V4`]; the server connects
//! `/` by itself then, and `/`'s `auth` is not sent (put it in the URL's query).
//!
//! Every queue has a cap and every wait a deadline:
//!
//! | what | bound | when it is hit |
//! |---|---|---|
//! | emits made while a namespace is not connected | `ClientConfig::session.max_buffered_emits` (the core's bound) per namespace | [`EmitError::BufferFull`], nothing is queued |
//! | acks awaited | the core's `max_pending_acks` ([`ClientConfig::session`]) | [`EmitError::Misuse`] (`TooManyPendingAcks`) |
//! | an ack | the `timeout` given to [`Socket::emit_with_ack`], at most the core's `ack_timeout` | [`AckError::Timeout`] |
//! | events the reader has not taken | [`EVENT_SLOTS`] | the task stops reading the socket until the reader catches up |
//! | the WebSocket (frames, write buffer, handshake) | [`ClientConfig::websocket`] | as in [`Config`](crate::Config) |
//! | a polling `GET`'s body | [`ClientConfig::max_polling_body`] | the transport is dropped (and reconnected) |
//! | requests under way (polling) | one `GET` and one `POST` | the next `POST` waits for the last one's response |
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use socketwire_tokio::socketio::{Client, ClientConfig, Event, Value};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut client = Client::connect("http://127.0.0.1:3000", ClientConfig::default())?;
//! client.socket().emit("hello", vec!["world".into()])?; // buffered until connected
//! while let Some(event) = client.next().await {
//!     match event {
//!         Event::Connected { namespace, .. } => println!("connected to {namespace}"),
//!         Event::Message { name, args, ack, .. } => {
//!             println!("{name}: {args:?}");
//!             if let Some(ack) = ack {
//!                 ack.send(vec![Value::from("got it")])?;
//!             }
//!         }
//!         Event::Closed { .. } => break,
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

#[cfg(feature = "redis")]
pub mod adapter;
mod client;
mod driver;
#[cfg(feature = "socketio-server")]
pub mod server;

pub use client::{
    AckError, AckFuture, AckResponder, Client, ClientConfig, EVENT_SLOTS, EmitError, Event, Socket,
    Transport,
};
pub use socketwire::engineio::{Backoff, EngineIoVersion};
pub use socketwire::socketio::{ApiMisuse, DisconnectReason, Parser, SocketIoVersion, Value};
