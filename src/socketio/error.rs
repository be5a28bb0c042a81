//! The Socket.IO layer's errors: what the peer sent wrong ([`Error`]) and what the
//! caller did wrong ([`ApiMisuse`]).

use core::fmt;

/// Why a packet's JSON data was refused; the detail behind [`Error::InvalidPayload`].
///
/// ```
/// use socketwire::socketio::{Error, InvalidPayload};
/// let e = Error::InvalidPayload(InvalidPayload::ReservedEventName);
/// assert_eq!(e.js_message(), "invalid payload");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidPayload {
    /// The data is not JSON text.
    InvalidJson,
    /// CONNECT data that is not a JSON object (v5), or not an object, array or null (v4).
    ConnectNotObject,
    /// A DISCONNECT packet that carries data.
    DisconnectWithData,
    /// EVENT data that is not an array.
    EventNotArray,
    /// EVENT data that is an empty array.
    EventEmpty,
    /// An event name that is neither a string nor a number.
    EventNameNotString,
    /// An event name reserved by Socket.IO v5 (`connect`, `disconnect`, …).
    ReservedEventName,
    /// ACK data that is not an array.
    AckNotArray,
    /// CONNECT_ERROR data that is neither a string nor an object.
    ConnectErrorNotObject,
    /// EVENT or ACK without data (strict mode; JS leaves the data undefined).
    MissingData,
    /// Data that starts with whitespace (JS reads the space as an ack-id digit).
    LeadingWhitespace,
}

impl fmt::Display for InvalidPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidPayload::InvalidJson => "data is not valid JSON",
            InvalidPayload::ConnectNotObject => "CONNECT data is not an object",
            InvalidPayload::DisconnectWithData => "DISCONNECT carries data",
            InvalidPayload::EventNotArray => "EVENT data is not an array",
            InvalidPayload::EventEmpty => "EVENT data is an empty array",
            InvalidPayload::EventNameNotString => "event name is not a string or number",
            InvalidPayload::ReservedEventName => "event name is reserved",
            InvalidPayload::AckNotArray => "ACK data is not an array",
            InvalidPayload::ConnectErrorNotObject => "CONNECT_ERROR data is not a string or object",
            InvalidPayload::MissingData => "EVENT or ACK without data",
            InvalidPayload::LeadingWhitespace => "data starts with whitespace",
        })
    }
}

/// A Socket.IO protocol violation by the peer.
///
/// The JS server answers every one of these by closing the whole Engine.IO
/// connection (socket.io `client.ts` `ondata` → `onerror` → `conn.close()`); the
/// sessions in this module do the same: after an error they are closed and the
/// caller closes the transport. [`Error::js_message`] gives the exact string the
/// JS decoder throws (socket.io-protocol §2.5 of the project notes).
///
/// ```
/// use socketwire::socketio::{DecoderConfig, Error, Packet};
/// let e = Packet::decode("7", &DecoderConfig::default()).unwrap_err();
/// assert_eq!(e, Error::UnknownPacketType(Some(b'7')));
/// assert_eq!(e.js_message(), "unknown packet type");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The first character is not a packet type `0`–`6` (`None`: empty packet).
    UnknownPacketType(Option<u8>),
    /// A BINARY_EVENT/BINARY_ACK without a well-formed `<count>-` prefix, or a
    /// count of zero in strict mode.
    IllegalAttachments,
    /// An attachment count above [`DecoderConfig::max_attachments`](super::DecoderConfig).
    TooManyAttachments {
        /// The configured limit.
        max: usize,
    },
    /// The JSON data is missing, malformed or of the wrong shape for its type.
    InvalidPayload(InvalidPayload),
    /// An ack id that is not a decimal integer up to 2^53 − 1, or an id on a
    /// packet type that carries none (strict mode).
    InvalidAckId,
    /// A placeholder whose `num` is not an integer in `0..attachments`.
    IllegalPlaceholder,
    /// A text packet arrived while binary attachments were still expected.
    PlaintextWhileReconstructing,
    /// A binary message arrived with no binary packet header pending.
    BinaryWhileNotReconstructing,
    /// The attachments of one packet exceed `max_attachment_bytes`.
    AttachmentsTooLarge {
        /// The configured limit in bytes.
        max: usize,
    },
    /// A packet for a namespace this session has not connected (the JS server
    /// closes the connection for this).
    NamespaceNotConnected,
    /// A CONNECT for a namespace that is already connected or pending.
    AlreadyConnected,
    /// A CONNECT past the session's `max_namespaces` namespaces connected or
    /// awaiting the application's answer at once.
    TooManyNamespaces {
        /// The configured limit.
        max: usize,
    },
    /// A packet type this side never receives (e.g. CONNECT_ERROR sent to a server).
    UnexpectedPacket(super::PacketType),
    /// A v5 server's CONNECT reply without a `sid` (a v2.x server answered).
    MissingSid,
    /// A binary packet's attachments did not all arrive within the session's
    /// `attachment_timeout` (a half-received packet is not kept forever).
    AttachmentTimeout,
    /// A binary packet that is not valid MessagePack under the session's
    /// [`MsgpackLimits`](super::msgpack::MsgpackLimits) (the msgpack parser).
    #[cfg(feature = "msgpack")]
    Msgpack(super::msgpack::MsgpackError),
}

impl Error {
    /// The message the JS reference decoder (socket.io-parser 4.x) throws for the
    /// same input, or a short description for errors JS has no message for.
    ///
    /// ```
    /// use socketwire::socketio::Error;
    /// assert_eq!(Error::BinaryWhileNotReconstructing.js_message(),
    ///            "got binary data when not reconstructing a packet");
    /// ```
    pub fn js_message(&self) -> &'static str {
        match self {
            Error::UnknownPacketType(_) => "unknown packet type",
            Error::IllegalAttachments => "Illegal attachments",
            Error::TooManyAttachments { .. } => "too many attachments",
            Error::InvalidPayload(_) | Error::InvalidAckId => "invalid payload",
            Error::IllegalPlaceholder => "illegal attachments",
            Error::PlaintextWhileReconstructing => {
                "got plaintext data when reconstructing a packet"
            }
            Error::BinaryWhileNotReconstructing => {
                "got binary data when not reconstructing a packet"
            }
            Error::AttachmentsTooLarge { .. } => "attachments too large",
            Error::NamespaceNotConnected => "namespace not connected",
            Error::AlreadyConnected => "namespace already connected",
            Error::TooManyNamespaces { .. } => "too many namespaces",
            Error::UnexpectedPacket(_) => "unexpected packet type",
            Error::MissingSid => "CONNECT reply without sid",
            Error::AttachmentTimeout => "attachments did not arrive in time",
            #[cfg(feature = "msgpack")]
            Error::Msgpack(_) => "invalid msgpack",
        }
    }
}

impl From<InvalidPayload> for Error {
    fn from(reason: InvalidPayload) -> Self {
        Error::InvalidPayload(reason)
    }
}

#[cfg(feature = "msgpack")]
impl From<super::msgpack::MsgpackError> for Error {
    fn from(e: super::msgpack::MsgpackError) -> Self {
        Error::Msgpack(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownPacketType(Some(b)) if b.is_ascii_graphic() => {
                write!(f, "unknown packet type {}", char::from(*b))
            }
            Error::UnknownPacketType(Some(b)) => write!(f, "unknown packet type byte {b:#04x}"),
            Error::UnknownPacketType(None) => f.write_str("empty packet"),
            Error::TooManyAttachments { max } => write!(f, "too many attachments (max {max})"),
            Error::TooManyNamespaces { max } => write!(f, "too many namespaces (max {max})"),
            Error::InvalidPayload(reason) => write!(f, "invalid payload: {reason}"),
            Error::AttachmentsTooLarge { max } => {
                write!(f, "attachments larger than {max} bytes")
            }
            Error::UnexpectedPacket(kind) => write!(f, "unexpected packet type {kind:?}"),
            #[cfg(feature = "msgpack")]
            Error::Msgpack(e) => write!(f, "invalid msgpack: {e}"),
            other => f.write_str(other.js_message()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// A mistake by the caller of the API, never caused by peer bytes.
///
/// ```
/// use socketwire::socketio::ApiMisuse;
/// assert_eq!(ApiMisuse::NotConnected.to_string(), "namespace is not connected");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// Sending on a namespace that is not connected.
    NotConnected,
    /// Accepting or refusing a namespace that has no CONNECT pending.
    NoPendingConnect,
    /// The session is closed.
    Closed,
    /// A namespace that does not start with `/` or contains `,`.
    InvalidNamespace,
    /// An event name that Socket.IO reserves (`connect`, `disconnect`, …).
    ReservedEventName,
    /// Data that cannot be serialized to JSON.
    Unserializable,
    /// An `emit_with_ack` while the session's `max_pending_acks` acks are
    /// still awaited: nothing is sent; wait for acks or timeouts.
    TooManyPendingAcks,
    /// A [`RoomRegistry::join`](super::RoomRegistry::join) past the registry's
    /// rooms-per-socket cap: the socket stays in the rooms it has.
    TooManyRooms,
    /// An emit on a namespace that is not connected yet while
    /// [`ClientConfig::max_buffered_emits`](super::ClientConfig::max_buffered_emits)
    /// emits already wait for it: nothing is buffered.
    BufferFull,
    /// [`send_encoded`](super::ServerSession::send_encoded) of a packet
    /// encoded by another [`Parser`](super::Parser) than the session's.
    ParserMismatch,
}

impl fmt::Display for ApiMisuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiMisuse::NotConnected => "namespace is not connected",
            ApiMisuse::NoPendingConnect => "no CONNECT pending for this namespace",
            ApiMisuse::Closed => "the session is closed",
            ApiMisuse::InvalidNamespace => "namespace must start with '/' and contain no ','",
            ApiMisuse::ReservedEventName => "event name is reserved",
            ApiMisuse::Unserializable => "data cannot be serialized to JSON",
            ApiMisuse::TooManyPendingAcks => "too many acks are awaited",
            ApiMisuse::TooManyRooms => "the socket is in too many rooms",
            ApiMisuse::BufferFull => "too many emits are buffered for this namespace",
            ApiMisuse::ParserMismatch => "the packet was encoded by another parser",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ApiMisuse {}
