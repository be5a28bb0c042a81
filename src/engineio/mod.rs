//! Engine.IO v3 and v4: packets, payloads and sans-IO sessions.
//!
//! Engine.IO carries messages over HTTP long-polling and WebSocket
//! (<https://github.com/socketio/engine.io-protocol>). This module is the whole
//! protocol without any I/O:
//!
//! * [`Packet`]: one packet in text, base64 or binary form (v3 and v4, see
//!   [`EngineIoVersion`]), borrowing text from the input and slicing binary data
//!   out of a [`bytes::Bytes`];
//! * [`PayloadDecoder`] and [`PayloadFormat::encode`]: polling bodies (v4 record
//!   separators, v3 `<len>:` with UTF-16 lengths, v3 XHR2 binary); [`Jsonp`] for
//!   the JSONP variant;
//! * [`OpenPacket`]: the handshake JSON (hand encoder; `serde_json` decoder with
//!   the `json` feature);
//! * [`ServerSession`]: one server session (one sid) driven by HTTP requests,
//!   WebSocket messages and timeouts; [`Route`] tells a handshake from a
//!   request for a session; [`Server`] is the single-threaded registry of
//!   sessions by sid built on both;
//! * `ClientSession` (feature `json`) and [`Backoff`]: the client side;
//! * WebTransport framing ([`encode_webtransport_frame`], [`decode_webtransport_frame`]);
//! * errors: [`Error`] for what the peer sent, [`ApiMisuse`] for what the caller did.
//!
//! | file | holds |
//! |---|---|
//! | `packet.rs`, `payload.rs`, `open.rs`, `webtransport.rs` | the codecs |
//! | `http.rs` | [`Method`], [`RequestInfo`], [`Response`], [`Reply`] |
//! | `message.rs` | [`MessageData`], [`CloseReason`] (client and server) |
//! | `session.rs` | [`ServerSession`] and its [`ServerConfig`] |
//! | `server.rs` | [`Route`], [`Server`] (the registry), [`ServerEvent`] |
//! | `client.rs`, `backoff.rs` | the client |
//!
//! It imports neither the WebSocket layer nor Socket.IO: the caller moves
//! decoded WebSocket messages in and out, so any WebSocket implementation fits.
//!
//! ```text
//!  request ──► Route::request / Route::websocket
//!                 ├─ Handshake ──► ServerSession::open_polling / open_websocket ─► new session
//!                 └─ Session(sid) ─► look the session up (your map, or Server)
//!
//!  HTTP GET/POST ──► session.handle_request ──► Reply::Respond(Response) ──► write now
//!                                          └──► Reply::Wait ──► park the GET
//!  WS upgrade ─────► session.handle_websocket_open (attach, accept then close, or refuse)
//!  WS message ─────► session.handle_websocket_text / _binary
//!  timer ──────────► session.handle_timeout(now)
//!                       │
//!                       ├─► poll_event      Message / Upgraded / Closed
//!                       ├─► poll_long_poll  the Response for the parked GET
//!                       ├─► poll_websocket  Text | Binary | Close
//!                       └─► poll_timeout    when to call handle_timeout next
//! ```
//!
//! # The drive loop
//!
//! A concurrent glue (tokio, hyper, anything) keeps a map from sid to
//! session, each [`ServerSession`] behind its own lock, so sessions never wait
//! on each other; after **every** `handle_*` call or command on a session it
//! drains that session's three queues and re-arms that session's timer. If a
//! parked GET's connection drops, it calls
//! [`ServerSession::handle_poll_aborted`]. A single-threaded caller can let
//! [`Server`] keep the map instead. This example runs the loop for one
//! session in memory:
//!
//! ```
//! use bytes::Bytes;
//! use core::time::Duration;
//! use socketwire::engineio::{
//!     MessageData, Method, Reply, RequestInfo, Response, Route, ServerConfig, ServerSession,
//!     SessionEvent, WebSocketOutput,
//! };
//!
//! /// What the glue keeps per session: the parked GET (a oneshot sender under
//! /// tokio), the WebSocket writer, and the timer deadline.
//! #[derive(Default)]
//! struct Glue {
//!     parked: Option<Response>,
//!     websocket: Vec<WebSocketOutput>,
//!     timer: Option<Duration>,
//! }
//!
//! impl Glue {
//!     /// Runs after every input: events first (the application may send), then
//!     /// the response for the parked GET, then WebSocket output, then the timer.
//!     fn drain(&mut self, session: &mut ServerSession) {
//!         while let Some(event) = session.poll_event() {
//!             if let SessionEvent::Message(MessageData::Text(text)) = event {
//!                 session.send_text(&text).unwrap(); // an echo application
//!             }
//!         }
//!         if let Some(response) = session.poll_long_poll() {
//!             self.parked = Some(response); // tokio: parked.send(response)
//!         }
//!         while let Some(output) = session.poll_websocket() {
//!             self.websocket.push(output); // tokio: forward to the socket's writer
//!         }
//!         self.timer = session.poll_timeout(); // tokio: sleep_until(origin + timer)
//!     }
//! }
//!
//! let config = ServerConfig::default();
//! let mut glue = Glue::default();
//! let mut now = Duration::ZERO;
//! let request = |method, query, body: &'static [u8]| (method, query, Bytes::from_static(body));
//!
//! // 1. Handshake GET: routed as a handshake, answered at once with the open packet.
//! let (method, query, body) = request(Method::Get, "EIO=4&transport=polling", b"");
//! let info = RequestInfo { method, query, content_type: None, body: &body };
//! assert_eq!(Route::request(&config, query), Ok(Route::Handshake));
//! let (mut session, open) = ServerSession::open_polling(&config, &info, now, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
//! assert_eq!(open.content_type, "text/plain; charset=UTF-8");
//! glue.drain(&mut session);
//!
//! // 2. A long-poll GET with nothing to send is parked.
//! let q = "EIO=4&transport=polling&sid=ZmTr8qX2vN5kL0bW7pYc3A";
//! assert_eq!(Route::request(&config, q), Ok(Route::Session("ZmTr8qX2vN5kL0bW7pYc3A")));
//! let empty = Bytes::new();
//! let get = RequestInfo { method: Method::Get, query: q, content_type: None, body: &empty };
//! assert_eq!(session.handle_request(&get, now), Reply::Wait);
//! glue.drain(&mut session);
//!
//! // 3. A POST delivers a message; the echo completes the parked GET.
//! let (method, _, body) = request(Method::Post, q, b"4hello");
//! let post = RequestInfo { method, query: q, content_type: None, body: &body };
//! let Reply::Respond(ok) = session.handle_request(&post, now) else { unreachable!() };
//! assert_eq!((ok.status, &ok.body[..]), (200, &b"ok"[..]));
//! glue.drain(&mut session);
//! assert_eq!(&glue.parked.take().unwrap().body[..], b"4hello");
//!
//! // 4. Upgrade: the client opens a WebSocket with the sid and probes.
//! assert_eq!(session.handle_request(&get, now), Reply::Wait);
//! // Each WebSocket gets its own id; input from a stale one is ignored.
//! let ws = session.handle_websocket_open("EIO=4&transport=websocket&sid=ZmTr8qX2vN5kL0bW7pYc3A", now).unwrap().id().unwrap();
//! session.handle_websocket_text(ws, "2probe", now).unwrap();
//! glue.drain(&mut session);
//! assert_eq!(glue.websocket.pop(), Some(WebSocketOutput::Text("3probe".into())));
//! assert_eq!(&glue.parked.take().unwrap().body[..], b"6"); // the parked GET ends with a noop
//! session.handle_websocket_text(ws, "5", now).unwrap();
//! glue.drain(&mut session);
//!
//! // 5. Timers: the v4 server pings on the WebSocket every pingInterval.
//! now = glue.timer.unwrap();
//! session.handle_timeout(now);
//! glue.drain(&mut session);
//! assert_eq!(glue.websocket.pop(), Some(WebSocketOutput::Text("2".into())));
//! ```
//!
//! Requests the protocol refuses come back as [`Reply::Respond`] with the
//! reference server's status and JSON body (see [`Error::handshake_code`]); a
//! glue that runs its own admission check answers
//! `Response::error(&Error::Forbidden)` (HTTP 403, code 4) itself. A refused
//! WebSocket upgrade request is answered with [`Response::upgrade_error`]
//! (always 400, the message as `text/html`, as the reference server writes it).
//! A WebSocket for a session that already has one is accepted, then closed
//! ([`WebSocketOpen::AcceptThenClose`]).

mod backoff;
#[cfg(feature = "json")]
mod client;
mod error;
mod http;
mod message;
mod open;
mod packet;
mod payload;
mod server;
mod session;
mod webtransport;

pub use backoff::Backoff;
#[cfg(feature = "json")]
pub use client::{ClientEvent, ClientSession, ClientTransmit, ClientTransport};
pub use error::{ApiMisuse, Error};
pub use http::{Method, Reply, RequestInfo, Response};
pub use message::{CloseReason, MessageData};
pub use open::OpenPacket;
pub use packet::{EngineIoVersion, FramedMessage, MessageKind, Packet, PacketType, utf16_len};
pub use payload::{Jsonp, PayloadDecoder, PayloadFormat, PayloadLimits, RECORD_SEPARATOR};
pub use server::{Route, Server, ServerEvent};
#[cfg(feature = "getrandom")]
pub use session::os_random_sid;
pub use session::{
    ServerConfig, ServerSession, SessionEvent, Transport, WebSocketId, WebSocketOpen,
    WebSocketOutput,
};
pub use webtransport::{decode_webtransport_frame, encode_webtransport_frame};
