//! WebSocket on tokio, driven by the sans-IO [`socketwire`] core, with the
//! names a tokio-tungstenite user knows: [`accept_async`], [`connect_async`],
//! [`WebSocketStream`] (a `Stream` + `Sink` of [`Message`]s).
//!
//! An echo server:
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use socketwire_tokio::{Config, Deflate, Message, accept_async_with_config};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), socketwire_tokio::Error> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:9002").await?;
//!     loop {
//!         let (tcp, _) = listener.accept().await?;
//!         let config = Config { deflate: Deflate::Enabled(Default::default()), ..Config::default() };
//!         tokio::spawn(async move {
//!             let mut ws = accept_async_with_config(tcp, config).await?;
//!             while let Some(message) = ws.next().await {
//!                 if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
//!                     ws.feed(m).await?; // written by the next read, with the other echoes
//!                 }
//!             }
//!             Ok::<_, socketwire_tokio::Error>(())
//!         });
//!     }
//! }
//! ```
//!
//! # How it fits together
//!
//! ```text
//!  socket ──read into input_buffer()──▶ Connection ──poll_event──▶ Stream::poll_next ─▶ Message
//!  socket ◀──write_vectored(transmit_chunks)── Connection ◀──send_shared / ping / close── Sink
//!  tokio Sleep ──handle_timeout(time since start)──▶ Connection (keepalive, idle, close timeout)
//! ```
//!
//! The protocol (framing, the close handshake, auto-pongs, limits, deflate) is
//! all in the core; this crate owns the socket, the clock and the random
//! source. Every bound is in [`Config`]: incoming message sizes, the write
//! buffer (`poll_ready` waits past it), the idle and close timeouts, the
//! handshake's head size and deadline.
//!
//! permessage-deflate is offered by clients and declined by servers unless
//! [`Config::deflate`] enables it, as Node's `ws` does. `wss://` (TLS) is not
//! supported yet: run [`client_async`] over a TLS stream of your own.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---------|---------|--------------|
//! | `hyper` | on | `upgrade`, `upgrade_with_config`, `Upgrade` (subprotocols), `is_upgrade_request`: a WebSocket from a hyper 1.x service or an axum 0.8 handler (`examples/axum.rs`), validated by the core's `http` handshake functions; `server::serve` (hyper's HTTP/1.1 server with a connection cap, head and write deadlines, accept backoff; a WebSocket upgraded on it runs on the connection's own stream, `UpgradedIo::Direct`) |
//! | `http2` | off | WebSockets over HTTP/2 (RFC 8441): `upgrade` also accepts an extended CONNECT (serve with hyper's `enable_connect_protocol`), and `h2::Http2Connection` opens many WebSockets on one HTTP/2 connection (`examples/h2_server.rs`) |
//! | `codec` | on | `codec::WebSocketCodec`: a tokio-util `Decoder` + `Encoder` of [`Message`]s for a `Framed` transport |
//! | `engineio-server` | off | `engineio`: an Engine.IO server (`EngineIo`, a connection handler with `on_message` / `send` / `close`, polling, WebSocket and upgrades, Engine.IO 3 and 4, session, body and backpressure caps) as a tower `Service` to mount at `/engine.io/`, and `serve` for hyper alone (`examples/engineio_echo.rs`) |
//! | `socketio-server` | off | `socketio::server` (implies `engineio-server`, which it runs on): a Socket.IO server (`SocketIo`, namespaces with auth, `on` handlers, acks both ways, rooms, broadcasts with a backpressure cap) as a tower `Service` to mount at `/socket.io/` (axum, hyper) over polling and WebSocket, and `serve` for hyper alone (`examples/socketio_server.rs`) |
//! | `redis` | off | `socketio::adapter::RedisAdapter` (implies `socketio-server`): the server's nodes in one cluster over Redis with Node.js socket.io nodes on `@socket.io/redis-adapter` (classic, sharded) or `@socket.io/redis-streams-adapter`: broadcasts, `fetch_sockets`, `server_side_emit`, broadcasts with acks, `sockets_join` / `sockets_leave` / `disconnect_sockets` across nodes (`examples/socketio_server.rs --redis`) |
//! | `socketio` | on | `socketio::Client`: a Socket.IO client (namespaces, acks both ways, binary, emits buffered until connected, reconnection with backoff) over WebSocket, HTTP long-polling (hyper 1.x client) or polling upgraded to WebSocket (`examples/socketio_client.rs`) |
//!
//! With `default-features = false` the crate is the TCP functions and
//! [`WebSocketStream`] alone, without hyper.
//!
//! In an axum handler (`axum::extract::Request`), or a hyper `service_fn`:
//!
//! ```no_run
//! # #[cfg(feature = "hyper")]
//! async fn websocket(mut request: http::Request<hyper::body::Incoming>) -> socketwire_tokio::UpgradeResponse {
//!     match socketwire_tokio::upgrade(&mut request) {
//!         Ok((response, websocket)) => {
//!             tokio::spawn(async move {
//!                 let ws = websocket.await?;
//!                 // read and write `ws` as any WebSocketStream
//!                 # let _ = ws;
//!                 Ok::<_, socketwire_tokio::Error>(())
//!             });
//!             response
//!         }
//!         // 400, or 426 with `Sec-WebSocket-Version: 13`
//!         Err(error) => error.to_response(),
//!     }
//! }
//! ```

#[cfg(feature = "codec")]
pub mod codec;
mod config;
#[cfg(feature = "engineio-server")]
pub mod engineio;
mod error;
#[cfg(feature = "http2")]
pub mod h2;
mod handshake;
mod message;
mod reconnect;
#[cfg(feature = "hyper")]
pub mod server;
#[cfg(feature = "socketio")]
pub mod socketio;
mod stream;
#[cfg(test)]
mod test_io;
mod tls;
#[cfg(feature = "hyper")]
mod upgrade;

pub use config::{Config, Deflate};
pub use error::Error;
pub use handshake::{
    Callback, ErrorResponse, IntoClientRequest, NoCallback, Request, Response, accept_async,
    accept_async_with_config, accept_hdr_async, accept_hdr_async_with_config, client_async,
    client_async_with_config, connect_async, connect_async_tls_with_config,
    connect_async_with_config,
};
pub use message::{CloseFrame, Message, Utf8Bytes};
pub use reconnect::{EVENT_SLOTS, Event, ReconnectConfig, ReconnectingWebSocket, SendError};
pub use socketwire::ws::{CloseCode, Role};
pub use stream::{CLOSING_STASH, WebSocketStream};
pub use tls::{Connector, MaybeTlsStream};
#[cfg(feature = "hyper")]
pub use upgrade::{
    Upgrade, UpgradeFut, UpgradeResponse, UpgradedIo, UpgradedStream, is_upgrade_request, upgrade,
    upgrade_with_config,
};
