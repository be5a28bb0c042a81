//! Engine.IO v3 and v4: packets, payloads and sans-IO sessions.
//!
//! Engine.IO carries messages over HTTP long-polling and WebSocket. This module
//! is the whole protocol without any I/O:
//!
//! * [`Packet`]: one packet in text, base64 or binary form (v3 and v4), borrowing
//!   text from the input and slicing binary data out of a [`bytes::Bytes`];
//! * [`PayloadDecoder`] and the `encode_payload*` functions: polling bodies (v4
//!   record separators, v3 `<len>:` with UTF-16 lengths, v3 XHR2 binary, JSONP);
//! * [`OpenPacket`]: the handshake JSON (hand encoder; `serde_json` decoder with
//!   the `json` feature);
//! * [`Server`]: every server session (one per sid), driven by HTTP requests,
//!   WebSocket messages and timeouts;
//! * `ClientSession` (feature `json`) and [`Backoff`]: the client side;
//! * WebTransport framing ([`encode_webtransport_frame`], [`decode_webtransport_frame`]).
//!
//! It imports neither the WebSocket layer nor Socket.IO: the caller moves
//! decoded WebSocket messages in and out, so any WebSocket implementation fits.
//!
//! ```text
//!  HTTP GET/POST ──► Server::handle_request ──► Reply::Respond(Response) ──► write now
//!                                          └──► Reply::Wait{sid} ──► park the GET
//!  WS upgrade ─────► Server::handle_websocket_open (accept or refuse)
//!  WS message ─────► Server::handle_websocket_text / _binary
//!  timer ──────────► Server::handle_timeout(now)
//!                       │
//!                       ├─► poll_event      Open / Message / Upgraded / Closed
//!                       ├─► poll_long_poll  (sid, Response) for a parked GET
//!                       ├─► poll_websocket  (sid, Text | Binary | Close)
//!                       └─► poll_timeout    when to call handle_timeout next
//! ```
//!
//! # The drive loop
//!
//! A server glue (tokio, hyper, anything) keeps one [`Server`] behind a lock
//! and, after **every** `handle_*` call or command, drains the three queues and
//! re-arms its timer. A parked GET waits on a channel keyed by sid; if its
//! connection drops, the glue calls [`Server::handle_poll_aborted`]. This
//! example runs the loop in memory:
//!
//! ```
//! use std::collections::HashMap;
//! use bytes::Bytes;
//! use core::time::Duration;
//! use socketwire::engineio::{
//!     MessageData, Method, Reply, RequestInfo, Response, Server, ServerConfig, ServerEvent,
//!     WebSocketOutput,
//! };
//!
//! /// What the glue keeps: parked GETs (a oneshot sender per sid under tokio),
//! /// WebSocket writers, and the timer deadline.
//! #[derive(Default)]
//! struct Glue {
//!     parked: HashMap<String, Response>,
//!     websocket: Vec<(String, WebSocketOutput)>,
//!     timer: Option<Duration>,
//! }
//!
//! impl Glue {
//!     /// Runs after every input: events first (the application may send), then
//!     /// the responses for parked GETs, then WebSocket output, then the timer.
//!     fn drain(&mut self, server: &mut Server) {
//!         while let Some(event) = server.poll_event() {
//!             if let ServerEvent::Message { sid, data: MessageData::Text(text) } = event {
//!                 server.send_text(&sid, &text).unwrap(); // an echo application
//!             }
//!         }
//!         while let Some((sid, response)) = server.poll_long_poll() {
//!             self.parked.insert(sid, response); // tokio: parked[sid].send(response)
//!         }
//!         while let Some(output) = server.poll_websocket() {
//!             self.websocket.push(output); // tokio: forward to the socket's writer
//!         }
//!         self.timer = server.poll_timeout(); // tokio: sleep_until(origin + timer)
//!     }
//! }
//!
//! let mut server = Server::new(ServerConfig::default());
//! let mut glue = Glue::default();
//! let mut ids = (1..).map(|n| format!("sid{n}"));
//! let mut now = Duration::ZERO;
//! let mut http = |server: &mut Server, method, query: &str, body: &[u8], now| {
//!     let body = Bytes::copy_from_slice(body);
//!     let request = RequestInfo { method, query, content_type: None, body: &body };
//!     server.handle_request(&request, now, || ids.next().unwrap())
//! };
//!
//! // 1. Handshake GET: answered at once with the open packet.
//! let Reply::Respond(open) = http(&mut server, Method::Get, "EIO=4&transport=polling", b"", now)
//! else { unreachable!() };
//! assert_eq!(open.content_type, "text/plain; charset=UTF-8");
//! glue.drain(&mut server);
//!
//! // 2. A long-poll GET with nothing to send is parked.
//! let q = "EIO=4&transport=polling&sid=sid1";
//! assert_eq!(http(&mut server, Method::Get, q, b"", now), Reply::Wait);
//! glue.drain(&mut server);
//!
//! // 3. A POST delivers a message; the echo completes the parked GET.
//! let Reply::Respond(ok) = http(&mut server, Method::Post, q, b"4hello", now) else { unreachable!() };
//! assert_eq!((ok.status, &ok.body[..]), (200, &b"ok"[..]));
//! glue.drain(&mut server);
//! assert_eq!(&glue.parked.remove("sid1").unwrap().body[..], b"4hello");
//!
//! // 4. Upgrade: the client opens a WebSocket with the sid and probes.
//! assert!(matches!(http(&mut server, Method::Get, q, b"", now), Reply::Wait));
//! server.handle_websocket_open("EIO=4&transport=websocket&sid=sid1", now, || unreachable!()).unwrap();
//! server.handle_websocket_text("sid1", "2probe", now).unwrap();
//! glue.drain(&mut server);
//! assert_eq!(glue.websocket.pop(), Some(("sid1".into(), WebSocketOutput::Text("3probe".into()))));
//! assert_eq!(&glue.parked.remove("sid1").unwrap().body[..], b"6"); // the parked GET ends with a noop
//! server.handle_websocket_text("sid1", "5", now).unwrap();
//! glue.drain(&mut server);
//!
//! // 5. Timers: the v4 server pings on the WebSocket every pingInterval.
//! now = glue.timer.unwrap();
//! server.handle_timeout(now);
//! glue.drain(&mut server);
//! assert_eq!(glue.websocket.pop(), Some(("sid1".into(), WebSocketOutput::Text("2".into()))));
//! ```
//!
//! Requests the protocol refuses come back as [`Reply::Respond`] with the
//! reference server's status and JSON body (see [`Error::handshake_code`]); a
//! glue that runs its own admission check answers
//! `Response::error(&Error::Forbidden)` (HTTP 403, code 4) itself.

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
pub use packet::{EngineIoVersion, MessageKind, Packet, PacketType, utf16_len};
pub use payload::{Jsonp, PayloadDecoder, PayloadFormat, PayloadLimits, RECORD_SEPARATOR};
pub use server::{Route, Server, ServerEvent};
pub use session::{ServerConfig, ServerSession, SessionEvent, Transport, WebSocketOutput};
pub use webtransport::{decode_webtransport_frame, encode_webtransport_frame};
