//! The WebSocket layer's errors: what the peer did wrong, and what the caller did wrong.

use core::fmt;

use super::close::CloseCode;

/// A violation of RFC 6455 (or RFC 7692) by the peer. Each maps to the close code
/// that goes on the wire through [`ProtocolError::close_code`].
///
/// ```
/// use socketwire::ws::{CloseCode, ProtocolError};
/// assert_eq!(ProtocolError::InvalidUtf8.close_code(), CloseCode::INVALID_PAYLOAD);
/// assert_eq!(ProtocolError::ReservedOpcode(3).close_code(), CloseCode::PROTOCOL_ERROR);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode from the reserved ranges 0x3–0x7 or 0xB–0xF (§5.2).
    ReservedOpcode(u8),
    /// RSV1, RSV2 or RSV3 set without an extension that defines it (§5.2).
    ReservedBits(u8),
    /// A client sent an unmasked frame (§5.1).
    UnmaskedFrame,
    /// A server sent a masked frame (§5.1).
    MaskedFrame,
    /// A payload length not in its minimal encoding (§5.2).
    NonMinimalLength,
    /// A 64-bit payload length with the most significant bit set (§5.2).
    LengthTopBit,
    /// A control frame with more than 125 payload bytes (§5.5).
    ControlFrameTooLong(u64),
    /// A control frame with FIN clear (§5.5).
    FragmentedControlFrame,
    /// A continuation frame with no message open (§5.4).
    UnexpectedContinuation,
    /// A new text/binary frame while a fragmented message is open (§5.4).
    ExpectedContinuation,
    /// A close frame with a one-byte payload (§5.5.1).
    CloseFrameOneByte,
    /// A close frame with a code that may not be sent (§7.4).
    InvalidCloseCode(u16),
    /// Invalid UTF-8 in a text message or close reason (§8.1).
    InvalidUtf8,
    /// A frame larger than the configured `max_frame_size`.
    FrameTooBig {
        /// Announced payload length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A message larger than the configured `max_message_size`.
    MessageTooBig {
        /// Bytes the message would have had.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// More fragments in one message than `max_fragments` allows.
    TooManyFragments {
        /// The limit.
        max: usize,
    },
    /// Compressed data that does not inflate (RFC 7692 §6.2).
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close code to send for this error.
    ///
    /// ```
    /// use socketwire::ws::{CloseCode, ProtocolError};
    /// let e = ProtocolError::MessageTooBig { len: 10, max: 5 };
    /// assert_eq!(e.close_code(), CloseCode::MESSAGE_TOO_BIG);
    /// ```
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            ProtocolError::FrameTooBig { .. }
            | ProtocolError::MessageTooBig { .. }
            | ProtocolError::TooManyFragments { .. } => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            ProtocolError::ReservedBits(bits) => write!(f, "reserved bits set: {bits:#05b}"),
            ProtocolError::UnmaskedFrame => f.write_str("client frame is not masked"),
            ProtocolError::MaskedFrame => f.write_str("server frame is masked"),
            ProtocolError::NonMinimalLength => f.write_str("payload length not minimally encoded"),
            ProtocolError::LengthTopBit => f.write_str("64-bit payload length has its top bit set"),
            ProtocolError::ControlFrameTooLong(n) => write!(f, "control frame of {n} bytes"),
            ProtocolError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            ProtocolError::UnexpectedContinuation => f.write_str("continuation with no message"),
            ProtocolError::ExpectedContinuation => {
                f.write_str("new message inside a fragmented one")
            }
            ProtocolError::CloseFrameOneByte => f.write_str("close frame with a 1-byte payload"),
            ProtocolError::InvalidCloseCode(c) => write!(f, "invalid close code {c}"),
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ProtocolError::FrameTooBig { len, max } => write!(f, "frame of {len} bytes > {max}"),
            ProtocolError::MessageTooBig { len, max } => {
                write!(f, "message of {len} bytes > {max}")
            }
            ProtocolError::TooManyFragments { max } => write!(f, "more than {max} fragments"),
            ProtocolError::InvalidCompressedData => f.write_str("invalid compressed data"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ProtocolError {}

/// A mistake by the caller of the API, never caused by peer bytes.
///
/// ```
/// use socketwire::ws::ApiMisuse;
/// assert_eq!(ApiMisuse::NotOpen.to_string(), "the connection is not open for sending");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// Sending after a close frame was sent or the connection closed.
    NotOpen,
    /// A ping/pong payload over 125 bytes, or a close reason over 123 bytes.
    ControlPayloadTooLong,
    /// A close code that may not be sent (1005, 1006, 1015, out of range).
    InvalidCloseCode(u16),
    /// A streamed message was started while another is in progress, or continued with none.
    StreamOrder,
    /// A text message handed over as bytes is not valid UTF-8.
    InvalidUtf8,
}

impl fmt::Display for ApiMisuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiMisuse::NotOpen => f.write_str("the connection is not open for sending"),
            ApiMisuse::ControlPayloadTooLong => f.write_str("control payload too long"),
            ApiMisuse::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            ApiMisuse::StreamOrder => f.write_str("streamed message out of order"),
            ApiMisuse::InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ApiMisuse {}

impl From<CloseCode> for ApiMisuse {
    fn from(c: CloseCode) -> Self {
        ApiMisuse::InvalidCloseCode(c.0)
    }
}
