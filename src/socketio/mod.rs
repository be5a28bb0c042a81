//! Socket.IO v4 (socket.io 2.x) and v5 (socket.io 3.x/4.x): packets, binary
//! attachments, server and client sessions, rooms.
//!
//! This module works on *decoded Engine.IO message payloads* — text as `&str`,
//! binary as [`Bytes`](bytes::Bytes) — and imports neither the WebSocket nor the
//! Engine.IO layer: the glue between them lives in the application. It needs
//! `serde_json`, so it exists only with the `json` feature (on by default);
//! the msgpack wire format needs the `msgpack` feature (on by default, on rmp).
//!
//! ```text
//!  Engine.IO message ──► Reassembler ──► Packet / BinaryPacket ──► ServerSession ──► poll_event
//!   (text | binary)      (attachments      (header + JSON)           ClientSession ──► poll_message
//!                         by `num`)                                   (namespaces,       (text | binary,
//!                                                                      acks, timers)      EncodedPacket)
//!                                          RoomRegistry ──► Broadcast recipients + one EncodedPacket
//! ```
//!
//! | layer | types |
//! |---|---|
//! | packet codec | [`Packet`] (zero-copy header + raw JSON), [`PacketType`], [`DecoderConfig`], [`SocketIoVersion`] |
//! | data model | [`Value`] (JSON + [`Value::Bytes`]), typed access through serde |
//! | attachments | [`EncodedPacket`] (placeholders out), [`Reassembler`] (placeholders in), [`BinaryPacket`] |
//! | sessions | [`ServerSession`] / [`ServerEvent`], [`ClientSession`] / [`ClientEvent`], why they end: [`DisconnectReason`], [`CloseReason`] |
//! | rooms | [`RoomRegistry`], [`Broadcast`], [`BroadcastPacket`] |
//! | connection state recovery | [`RecoveryStore`] (offsets, missed packets, sessions), [`ResumeRequest`], [`Offset`], [`PacketTarget`] |
//! | wire format | [`Parser`] (`ServerConfig::parser`, `ClientConfig::parser`): JSON text (default) or msgpack |
//! | msgpack (feature `msgpack`) | [`msgpack::MsgpackPacket`] (socket.io-msgpack-parser: one map per packet, binary inline), [`msgpack::decode_value`] / [`msgpack::encode_value`] (notepack.io-compatible, depth- and size-bounded), [`msgpack::MsgpackLimits`], [`msgpack::MsgpackError`] |
//! | errors | [`Error`] (peer, with [`Error::js_message`]), [`ApiMisuse`] (caller) |
//! | cluster (feature `adapter`) | [`adapter`]: Redis / ClusterAdapter messages, channel names, [`adapter::ClusterNode`] |
//!
//! The two sessions share one core: the same input path
//! (`handle_message` / `handle_text` / `handle_binary`, each firing the
//! deadlines at or before its `now` first, attachments reassembled on the way), the same outbound queue (`poll_message`), the same ack ids
//! and deadlines (`emit_with_ack`, `AckTimeout`) and the same end on a peer
//! error (`Close(CloseReason::ProtocolError)`); each adds only its own
//! namespace rules. The names match too: `handle_transport_closed`,
//! `Disconnected`; [`SocketIoVersion`] is named so that it reads apart from
//! the Engine.IO version when both are imported. The rules are
//! those of the [Socket.IO protocol](https://github.com/socketio/socket.io-protocol);
//! the code links the section beside each rule it enforces.
//!
//! ## Decoding: strict by default
//!
//! The JS decoder (socket.io-parser) is the de-facto grammar, but some of what
//! it accepts are coercion accidents. The default [`DecoderConfig`] is strict;
//! each `lenient_*` flag restores one JS reading a real peer may rely on, and
//! [`DecoderConfig::js_compatible`] sets them all. Decisions, by the project
//! notes' numbering:
//!
//! | input | JS v5 | strict (default) | lenient flag |
//! |---|---|---|---|
//! | Q1 `2/admin["a"]` (no comma) | nsp `/admin["a"]`, no data | nsp `/admin["a"]`, then EVENT without data → `InvalidPayload(MissingData)` | `lenient_missing_data`: as JS |
//! | Q2 `2`, `212`, `2/admin,12` | EVENT, data undefined | `InvalidPayload(MissingData)` (also ACK, CONNECT_ERROR) | `lenient_missing_data`: data `None`, the session drops it |
//! | Q3 `2 ["a"]`, `0 ` | space read as an id digit | `InvalidPayload(LeadingWhitespace)` | none: no encoder produces it |
//! | Q4 ``, ` `, ` /admin,` | CONNECT | `UnknownPacketType` | none |
//! | Q5 31-digit id | float id | `InvalidAckId` (ids are integers ≤ 2^53 − 1, checked digit by digit) | none |
//! | Q6 `44` | CONNECT_ERROR id 4 | `InvalidAckId` (ids only on EVENT/ACK) | `lenient_id_on_any_type` |
//! | Q7 `2/,["a"]` | nsp `/` | nsp `/` (same meaning) | — |
//! | Q8 `5 1-`, `51.0-`, `51e1-` | counts 1, 1, 10 | `IllegalAttachments` (decimal digits only) | none |
//! | Q9 `2["a"] `, `2[ "a" ]` | accepted (JSON whitespace) | accepted (valid JSON) | — |
//! | Q10 placeholder `num` 0.5 | `null` | `IllegalPlaceholder` | `lenient_placeholder_num`: `null` |
//! | X11 `50-["a"]` | 4.2.6 emits; 4.2.7 `Illegal attachments` | `IllegalAttachments` (as 4.2.7); `5-` always | `lenient_zero_attachments`: emitted at once |
//! | X19 `3[]` (ACK without id) | accepted | `InvalidAckId` | `lenient_ack_without_id`: id `None`, ignored by sessions |
//! | X20 CONNECT_ERROR sent to a server | accepted | the codec accepts it; [`ServerSession`] closes with `UnexpectedPacket` | — |
//!
//! Version rules follow `isPayloadValid`: v5 CONNECT data must be an object and
//! reserved event names ([`RESERVED_EVENTS`]) are refused; v4 also accepts
//! arrays and `null` for CONNECT and CONNECT_ERROR, and no reserved names.
//! Every count is bounded before use: an attachment count is refused as soon
//! as its digits exceed `max_attachments` (default 10, socket.io-parser ≥ 4.2.6
//! since CVE-2026-33151), so a 2^40-digit count costs no allocation; the
//! attachments' total size is capped by `max_attachment_bytes`.
//!
//! ## Binary data
//!
//! Data is a [`Value`]: JSON plus [`Value::Bytes`] blobs in place. The encoder
//! ([`EncodedPacket::event`], [`EncodedPacket::ack`]) replaces each blob, in
//! depth-first order, by `{"_placeholder":true,"num":N}`, promotes EVENT/ACK to
//! BINARY_EVENT/BINARY_ACK and returns the text packet plus the attachments.
//! The [`Reassembler`] takes the header, then N binary messages, and restores
//! each placeholder by its `num` (not by position in the document).
//!
//! ## The msgpack parser
//!
//! With [`Parser::Msgpack`] in the session's config (feature `msgpack`), each
//! packet is one binary Engine.IO message holding a msgpack map
//! `{type, data, nsp, id}` with blobs inline, as socket.io-msgpack-parser 3.x
//! sends; a text message is a peer error. It is decoded under the same rules
//! as the JSON format (the same functions check payload shapes, reserved
//! names, ack ids and namespaces), nesting bounded by
//! [`DecoderConfig::msgpack`] and every length checked against the input left.
//!
//! ```
//! # #[cfg(feature = "msgpack")] {
//! use core::time::Duration;
//! use bytes::Bytes;
//! use socketwire::socketio::{EngineMessage, Parser, ServerConfig, ServerEvent, ServerSession};
//! let config = ServerConfig { parser: Parser::Msgpack, ..ServerConfig::default() };
//! let mut s = ServerSession::new(config, Duration::ZERO);
//! // {type: 0, nsp: "/"} from socket.io-client with socket.io-msgpack-parser
//! let connect = Bytes::from_static(b"\x82\xa4type\x00\xa3nsp\xa1/");
//! s.handle_message(EngineMessage::Binary(connect), Duration::ZERO).unwrap();
//! assert!(matches!(s.poll_event(), Some(ServerEvent::Connect { .. })));
//! s.accept("/", "sid-1").unwrap();
//! assert!(matches!(s.poll_message(), Some(EngineMessage::Binary(_))));
//! # }
//! ```
//!
//! ## Drive loop (server)
//!
//! One [`ServerSession`] per Engine.IO connection and one [`RoomRegistry`] for
//! the process. The glue feeds each decoded Engine.IO message to the session,
//! calls `handle_timeout` when `poll_timeout` expires, then runs the handler
//! below and sends every `poll_message` on the connection. This handler is the
//! whole behaviour of the Socket.IO conformance-suite server:
//!
//! ```
//! use std::collections::BTreeMap;
//! use core::time::Duration;
//! use socketwire::socketio::{
//!     Broadcast, EngineMessage, RoomRegistry, ServerConfig, ServerEvent, ServerSession, Value,
//! };
//!
//! type ConnId = u32;
//!
//! #[derive(Default)]
//! struct App {
//!     sessions: BTreeMap<ConnId, ServerSession>,
//!     rooms: RoomRegistry<ConnId>,
//! }
//!
//! impl App {
//!     /// Handles every pending event of connection `conn`.
//!     fn run(&mut self, conn: ConnId) {
//!         while let Some(event) = self.sessions.get_mut(&conn).and_then(ServerSession::poll_event) {
//!             let Some(session) = self.sessions.get_mut(&conn) else { return };
//!             // Commands only fail on a closed session; the glue is closing it anyway.
//!             let _ = match event {
//!                 ServerEvent::Connect { namespace, auth } if namespace == "/" || namespace == "/custom" => {
//!                     self.rooms.add_socket(&namespace, conn);
//!                     // A real server draws socket ids from a CSPRNG, never from the sid.
//!                     session.accept(&namespace, &format!("sid-{conn}"))
//!                         .and_then(|()| session.emit(&namespace, "auth", vec![auth]))
//!                 }
//!                 ServerEvent::Connect { namespace, .. } => session.refuse(&namespace, "Invalid namespace", None),
//!                 ServerEvent::Event { namespace, name, args, ack_id } => match (name.as_str(), ack_id) {
//!                     ("message", _) => session.emit(&namespace, "message-back", args),
//!                     ("message-with-ack", Some(id)) => session.ack(&namespace, id, args),
//!                     ("channel", _) => {
//!                         self.broadcast(&namespace, Broadcast::all(), "broadcast", &args);
//!                         Ok(())
//!                     }
//!                     ("join", _) | ("leave", _) => {
//!                         let room = args.first().and_then(Value::as_str).unwrap_or_default();
//!                         if name == "join" {
//!                             // Capped per socket: past the cap it is `TooManyRooms`.
//!                             self.rooms.join(&namespace, conn, room)
//!                         } else {
//!                             self.rooms.leave(&namespace, &conn, room);
//!                             Ok(())
//!                         }
//!                     }
//!                     ("to-room", _) => {
//!                         let room = args.first().and_then(Value::as_str).unwrap_or_default();
//!                         let target = Broadcast::all().to(room).except_socket(conn);
//!                         self.broadcast(&namespace, target, "new messages", &args[1..]);
//!                         Ok(())
//!                     }
//!                     _ => Ok(()),
//!                 },
//!                 ServerEvent::Disconnected { namespace, .. } => {
//!                     self.rooms.remove_socket(&namespace, &conn);
//!                     Ok(())
//!                 }
//!                 ServerEvent::Close(_) => Ok(()), // the glue closes the Engine.IO session
//!                 _ => Ok(()),
//!             };
//!         }
//!     }
//!
//!     /// Encodes once, queues on every recipient's session.
//!     fn broadcast(&mut self, namespace: &str, target: Broadcast<ConnId>, name: &str, args: &[Value]) {
//!         let out = self.rooms.broadcast_event(namespace, &target, name, args);
//!         for conn in out.recipients {
//!             if let Some(session) = self.sessions.get_mut(&conn) {
//!                 let _ = session.send_encoded(&out.packet);
//!             }
//!         }
//!     }
//! }
//!
//! // The glue's side, with the transport replaced by strings:
//! let mut app = App::default();
//! let now = Duration::ZERO;
//! for conn in [1, 2] {
//!     app.sessions.insert(conn, ServerSession::new(ServerConfig::default(), now));
//! }
//! let mut feed = |app: &mut App, conn: ConnId, text: &str| {
//!     app.sessions.get_mut(&conn).unwrap().handle_text(text, now).unwrap();
//!     app.run(conn);
//! };
//! let mut sent = |app: &mut App, conn: ConnId| -> Vec<String> {
//!     let session = app.sessions.get_mut(&conn).unwrap();
//!     std::iter::from_fn(|| session.poll_message())
//!         .map(|m| m.as_text().map_or_else(|| "<binary>".into(), String::from))
//!         .collect()
//! };
//! feed(&mut app, 1, r#"0{"token":"123"}"#);
//! assert_eq!(sent(&mut app, 1), [r#"0{"sid":"sid-1"}"#, r#"2["auth",{"token":"123"}]"#]);
//! feed(&mut app, 2, "0");
//! feed(&mut app, 2, "0/random,");
//! assert_eq!(sent(&mut app, 2)[2], r#"4/random,{"message":"Invalid namespace"}"#);
//! feed(&mut app, 1, r#"2["join","r"]"#);
//! feed(&mut app, 2, r#"2["join","r"]"#);
//! feed(&mut app, 1, r#"2["to-room","r","hi"]"#);
//! assert_eq!(sent(&mut app, 2), [r#"2["new messages","hi"]"#]);
//! assert!(sent(&mut app, 1).is_empty());
//! feed(&mut app, 2, r#"2["channel",1]"#);
//! assert_eq!(sent(&mut app, 1), [r#"2["broadcast",1]"#]);
//! feed(&mut app, 1, r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#);
//! let session = app.sessions.get_mut(&1).unwrap();
//! session.handle_message(EngineMessage::Binary(bytes::Bytes::from_static(&[1, 2, 3])), now).unwrap();
//! session.handle_message(EngineMessage::Binary(bytes::Bytes::from_static(&[4, 5, 6])), now).unwrap();
//! app.run(1);
//! assert_eq!(sent(&mut app, 1)[0],
//!     r#"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#);
//! ```
#![cfg(feature = "json")]

#[cfg(feature = "adapter")]
pub mod adapter;
mod binary;
mod client;
mod error;
#[cfg(feature = "msgpack")]
pub mod msgpack;
mod packet;
mod parser;
mod reason;
mod recovery;
mod rooms;
mod server;
mod session;
mod value;

pub use binary::{BinaryPacket, EncodedPacket, EngineMessage, Reassembled, Reassembler, to_value};
pub use client::{ClientConfig, ClientEvent, ClientSession};
pub use error::{ApiMisuse, Error, InvalidPayload};
pub use packet::{DecoderConfig, MAX_ACK_ID, Packet, PacketType, RESERVED_EVENTS, SocketIoVersion};
pub use parser::Parser;
pub use reason::{CloseReason, DisconnectReason};
pub use recovery::{
    DisconnectedSession, Evicted, InvalidResume, MAX_OFFSET_LEN, MAX_PID_LEN, NotRecovered, Offset,
    OffsetError, PacketTarget, Recorded, RecoveredSession, RecoveryConfig, RecoveryStore,
    ResumeRequest,
};
pub use rooms::{Broadcast, BroadcastPacket, RoomRegistry};
pub use server::{ServerConfig, ServerEvent, ServerSession};
pub use value::Value;
