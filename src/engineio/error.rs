//! The Engine.IO layer's errors: what the peer sent wrong ([`Error`]), and what
//! the caller did wrong ([`ApiMisuse`]).

use core::fmt;

/// Every failure of the Engine.IO layer.
///
/// Every variant but one is caused by the peer's bytes (bad packets, bad
/// payloads, bad handshakes); [`Error::ApiMisuse`] wraps the caller's own
/// mistakes ([`ApiMisuse`]) where an input method can report both. Commands
/// (`send_*`) return [`ApiMisuse`] alone. Handshake errors map to the JSON error
/// reply of the reference server through [`Error::handshake_code`] and
/// [`Error::status`].
///
/// ```
/// use socketwire::engineio::Error;
/// let e = Error::UnknownSid;
/// assert_eq!(e.handshake_code(), Some(1));
/// assert_eq!(e.status(), 400);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// An empty packet (no type character).
    EmptyPacket,
    /// A packet type outside `0`–`6` (the byte seen).
    InvalidPacketType(u8),
    /// A binary frame or `b…` packet whose type is not `message` (v3 only).
    BinaryNotMessage(u8),
    /// Invalid base64 after a `b` prefix.
    InvalidBase64,
    /// Text that is not UTF-8.
    InvalidUtf8,
    /// An empty polling payload body.
    EmptyPayload,
    /// An empty record between two record separators, or a trailing separator (v4).
    EmptyRecord,
    /// A v3 record length that is not a decimal number.
    InvalidLength,
    /// A v3 record length with more digits than any body could need.
    LengthTooLong,
    /// A v3 record announced more data than the body holds.
    TruncatedRecord,
    /// A v3 record length that splits a UTF-16 surrogate pair.
    SplitSurrogate,
    /// A v3 binary payload record marker other than `0x00` or `0x01`.
    InvalidRecordMarker(u8),
    /// A body larger than `maxPayload`.
    PayloadTooLarge {
        /// Bytes in the body (or announced).
        len: u64,
        /// The limit.
        max: u64,
    },
    /// More packets in one payload than allowed.
    TooManyPackets {
        /// The limit.
        max: usize,
    },
    /// A JSONP request body that is not `d=<payload>`.
    InvalidJsonpBody,
    /// An open packet whose JSON is not a handshake object.
    InvalidOpenPacket,
    /// Handshake code 0: transport missing, unknown or disabled.
    UnknownTransport,
    /// Handshake code 1: the session id is not known (or was closed or upgraded away).
    UnknownSid,
    /// Handshake code 2: a handshake that is not a GET.
    BadHandshakeMethod,
    /// Handshake code 3: a request that does not fit the session (transport mismatch,
    /// WebSocket without an upgrade, second upgrade).
    BadRequest,
    /// Handshake code 4: the caller's admission check refused the request.
    Forbidden,
    /// Handshake code 5: `EIO` is not `4` and v3 is not allowed.
    UnsupportedProtocolVersion,
    /// Handshake code 4 (HTTP 403, message "Too many sessions"): a handshake
    /// while [`ServerConfig::max_sessions`](super::ServerConfig::max_sessions)
    /// sessions are open. The reference server answers a refusal of its
    /// `allowRequest` admission hook this way (code 4 with the hook's message);
    /// clients treat it as a failed connection and retry with backoff.
    TooManySessions,
    /// The caller used the API in a way its state does not allow (never caused by peer bytes).
    ApiMisuse(ApiMisuse),
}

impl From<ApiMisuse> for Error {
    fn from(misuse: ApiMisuse) -> Self {
        Error::ApiMisuse(misuse)
    }
}

impl Error {
    /// The reference server's handshake error code (`{"code":N,…}`), for handshake errors.
    ///
    /// ```
    /// use socketwire::engineio::Error;
    /// assert_eq!(Error::UnsupportedProtocolVersion.handshake_code(), Some(5));
    /// assert_eq!(Error::EmptyPacket.handshake_code(), None);
    /// ```
    pub fn handshake_code(&self) -> Option<u8> {
        match self {
            Error::UnknownTransport => Some(0),
            Error::UnknownSid => Some(1),
            Error::BadHandshakeMethod => Some(2),
            Error::BadRequest => Some(3),
            Error::Forbidden | Error::TooManySessions => Some(4),
            Error::UnsupportedProtocolVersion => Some(5),
            _ => None,
        }
    }

    /// The reference server's message for a handshake error code.
    ///
    /// ```
    /// use socketwire::engineio::Error;
    /// assert_eq!(Error::UnknownSid.handshake_message(), Some("Session ID unknown"));
    /// ```
    pub fn handshake_message(&self) -> Option<&'static str> {
        Some(match self {
            Error::UnknownTransport => "Transport unknown",
            Error::UnknownSid => "Session ID unknown",
            Error::BadHandshakeMethod => "Bad handshake method",
            Error::BadRequest => "Bad request",
            Error::Forbidden => "Forbidden",
            Error::TooManySessions => "Too many sessions",
            Error::UnsupportedProtocolVersion => "Unsupported protocol version",
            _ => return None,
        })
    }

    /// The HTTP status to answer with: 403 for [`Error::Forbidden`] and
    /// [`Error::TooManySessions`], 413 for
    /// [`Error::PayloadTooLarge`], 500 for [`Error::ApiMisuse`], 400 otherwise.
    ///
    /// ```
    /// use socketwire::engineio::Error;
    /// assert_eq!(Error::Forbidden.status(), 403);
    /// assert_eq!(Error::PayloadTooLarge { len: 2, max: 1 }.status(), 413);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            Error::Forbidden | Error::TooManySessions => 403,
            Error::PayloadTooLarge { .. } => 413,
            Error::ApiMisuse(_) => 500,
            _ => 400,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(message) = self.handshake_message() {
            return f.write_str(message);
        }
        match self {
            Error::EmptyPacket => f.write_str("empty packet"),
            Error::InvalidPacketType(b) => write!(f, "invalid packet type 0x{b:02x}"),
            Error::BinaryNotMessage(t) => write!(f, "binary packet of type {t} is not a message"),
            Error::InvalidBase64 => f.write_str("invalid base64"),
            Error::InvalidUtf8 => f.write_str("invalid UTF-8"),
            Error::EmptyPayload => f.write_str("empty payload"),
            Error::EmptyRecord => f.write_str("empty record in payload"),
            Error::InvalidLength => f.write_str("invalid record length"),
            Error::LengthTooLong => f.write_str("record length has too many digits"),
            Error::TruncatedRecord => f.write_str("record shorter than its length"),
            Error::SplitSurrogate => f.write_str("record length splits a surrogate pair"),
            Error::InvalidRecordMarker(b) => write!(f, "invalid record marker 0x{b:02x}"),
            Error::PayloadTooLarge { len, max } => {
                write!(f, "payload of {len} bytes exceeds the limit of {max}")
            }
            Error::TooManyPackets { max } => write!(f, "more than {max} packets in a payload"),
            Error::InvalidJsonpBody => f.write_str("invalid JSONP body"),
            Error::InvalidOpenPacket => f.write_str("invalid open packet"),
            Error::ApiMisuse(misuse) => write!(f, "API misuse: {misuse}"),
            _ => f.write_str("engine.io error"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// A mistake by the caller of the API, never caused by peer bytes.
///
/// ```
/// use socketwire::engineio::{ApiMisuse, Server, ServerConfig};
/// let mut server = Server::new(ServerConfig::default());
/// assert_eq!(server.send_text("nope", "hi"), Err(ApiMisuse::UnknownSid));
/// assert_eq!(ApiMisuse::BufferFull.to_string(), "the send buffer is full");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// A sid that names no session of this [`Server`](super::Server) (never
    /// opened, or already closed and removed).
    UnknownSid,
    /// Sending on a session that is closed or closing.
    Closed,
    /// Sending on a session whose buffer holds
    /// [`ServerConfig::max_buffered_packets`](super::ServerConfig) packets, or
    /// whose [`buffered_amount`](super::ServerSession::buffered_amount) the
    /// message would take past `max_buffered_bytes` (nothing is queued): on
    /// polling the client is not polling, on WebSocket the caller is not
    /// taking [`ServerSession::poll_websocket`](super::ServerSession::poll_websocket)
    /// (or its socket is not writing); wait for it or close the session.
    BufferFull,
    /// The sid generator returned an id already in use.
    SidInUse,
    /// A WebSocket message for a session that has no WebSocket open.
    NoWebSocket,
    /// `ClientSession::start_upgrade` while `ClientSession::can_upgrade` is false.
    NoUpgrade,
}

impl fmt::Display for ApiMisuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApiMisuse::UnknownSid => "no session has this sid",
            ApiMisuse::Closed => "the session is closed",
            ApiMisuse::BufferFull => "the send buffer is full",
            ApiMisuse::SidInUse => "the sid generator returned an id in use",
            ApiMisuse::NoWebSocket => "no WebSocket is open for this session",
            ApiMisuse::NoUpgrade => "no upgrade is possible in this state",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ApiMisuse {}
