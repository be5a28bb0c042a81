//! Engine.IO v3 and v4: packets, payloads and sans-IO sessions.
//!
//! Engine.IO carries messages over HTTP long-polling and WebSocket. This module
//! is the whole protocol without any I/O:
//!
//! * [`Packet`]: one packet in text, base64 or binary form (v3 and v4);
//! * [`PayloadDecoder`] and the `encode_payload*` functions: polling bodies
//!   (v4 record separators, v3 `<len>:` with UTF-16 lengths, v3 XHR2 binary,
//!   JSONP);
//! * WebTransport framing ([`encode_webtransport_frame`], [`decode_webtransport_frame`]).
//!
//! It imports neither the WebSocket layer nor Socket.IO: the caller moves
//! decoded WebSocket messages in and out.

mod backoff;
#[cfg(feature = "json")]
mod client;
mod error;
mod open;
mod packet;
mod payload;
mod server;
mod webtransport;

pub use backoff::Backoff;
#[cfg(feature = "json")]
pub use client::{ClientEvent, ClientSession, ClientTransmit, ClientTransport};
pub use error::Error;
pub use open::OpenPacket;
pub use packet::{MessageKind, Packet, PacketType, ProtocolVersion, utf16_len};
pub use payload::{
    JSONP_CONTENT_TYPE, PayloadDecoder, PayloadFormat, PayloadLimits, RECORD_SEPARATOR,
    decode_jsonp_body, encode_jsonp_response, encode_payload, encode_payload_v3_binary,
    encode_payload_v3_text, encode_payload_v4, write_json_string,
};
pub use server::{
    CloseReason, MessageData, Method, Reply, RequestInfo, Response, Server, ServerConfig,
    ServerEvent, WebSocketOutput,
};
pub use webtransport::{decode_webtransport_frame, encode_webtransport_frame};
