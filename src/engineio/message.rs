//! What both session sides share: message data and close reasons.

use alloc::string::String;

use bytes::Bytes;

use super::packet::Packet;

/// Message data from the peer.
///
/// ```
/// use socketwire::engineio::MessageData;
/// assert_eq!(MessageData::Text("hi".into()), MessageData::Text(String::from("hi")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageData {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

impl MessageData {
    /// The data of a `message` packet; `None` for every other packet type.
    pub(crate) fn of_packet(packet: &Packet<'_>) -> Option<MessageData> {
        match packet {
            Packet::Message(text) => Some(MessageData::Text(String::from(*text))),
            Packet::Binary(data) => Some(MessageData::Binary(data.clone())),
            _ => None,
        }
    }
}

/// Why a session closed (the reference server's reason strings in the docs).
///
/// ```
/// use socketwire::engineio::CloseReason;
/// assert_eq!(CloseReason::PingTimeout.as_str(), "ping timeout");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer sent `close` or the transport closed under us (`transport close`).
    TransportClose,
    /// The local side closed: `ServerSession::close` or `ClientSession::close` (`forced close`).
    ForcedClose,
    /// No heartbeat in time (`ping timeout`).
    PingTimeout,
    /// The peer sent an undecodable packet or payload (`parse error`).
    ParseError,
    /// A transport-level fault (`transport error`), with the detail.
    TransportError(&'static str),
}

impl CloseReason {
    /// The reference server's reason string.
    ///
    /// ```
    /// use socketwire::engineio::CloseReason;
    /// assert_eq!(CloseReason::TransportError("overlap from client").as_str(), "transport error");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::ForcedClose => "forced close",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::TransportError(_) => "transport error",
        }
    }
}
