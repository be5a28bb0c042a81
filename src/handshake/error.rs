//! The handshake layer's errors: what the peer sent wrong ([`HandshakeError`]) and what
//! the caller of the API did wrong ([`HandshakeMisuse`]).

use bytes::{BufMut, BytesMut};
use core::fmt;

/// Why an opening handshake failed because of what the peer sent.
///
/// On the server side, [`HandshakeError::status`] gives the HTTP status to answer with
/// and [`HandshakeError::write_response`] writes the whole reply. Client-side variants
/// (a bad `101` response) carry no meaningful status; they map to 400.
///
/// The missing-`Sec-WebSocket-Version` case answers **426** with
/// `Sec-WebSocket-Version: 13`, like a wrong version: RFC 6455 §4.2.2 asks the server to
/// answer a version it does not understand with 426 and the versions it speaks, and a
/// request without the header is one from a pre-RFC draft (hixie-76 sends none), so
/// telling that client which version to use is the useful answer.
///
/// ```
/// use socketwire::handshake::HandshakeError;
/// assert_eq!(HandshakeError::UnsupportedVersion.status(), 426);
/// assert_eq!(HandshakeError::MissingKey.status(), 400);
/// assert_eq!(HandshakeError::HeadTooLarge { max: 16384 }.status(), 431);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The header block did not end within `max_header_bytes` bytes.
    HeadTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// More header fields than `max_headers`.
    TooManyHeaders {
        /// The limit.
        max: usize,
    },
    /// The head is not valid HTTP/1.x (request line, status line or header syntax).
    MalformedHttp(&'static str),
    /// A `Content-Length` that is not a number, or several that disagree.
    InvalidContentLength,
    /// A request whose body is framed by a `Transfer-Encoding` (e.g. `chunked`), which
    /// this parser does not decode; answered with 501 (RFC 9112 §6.1). The body's end
    /// is unknown, so close the connection after answering.
    UnsupportedTransferEncoding,
    /// A request whose body length cannot be trusted: `Transfer-Encoding` together
    /// with `Content-Length` (request smuggling), on an HTTP/1.0 request, or with
    /// `chunked` not the final coding; answered with 400 (RFC 9112 §6.1, §6.3). Close
    /// the connection after answering.
    AmbiguousBodyLength,
    /// The request method is not `GET` (§4.2.1 item 1).
    MethodNotGet,
    /// The request is older than HTTP/1.1 (§4.2.1 item 1).
    HttpVersionTooOld,
    /// No `Host` header (§4.2.1 item 2).
    MissingHost,
    /// A header that may appear only once appeared more than once.
    DuplicateHeader(&'static str),
    /// No `Upgrade` header containing the token `websocket` (§4.2.1 item 3, §4.1).
    MissingUpgradeWebsocket,
    /// No `Connection` header containing the token `Upgrade` (§4.2.1 item 4, §4.1).
    MissingConnectionUpgrade,
    /// No `Sec-WebSocket-Key` header (§4.2.1 item 5).
    MissingKey,
    /// A `Sec-WebSocket-Key` that is not base64 of exactly 16 bytes (§4.2.1 item 5).
    InvalidKey,
    /// No `Sec-WebSocket-Version` header (§4.2.1 item 6); answered with 426.
    MissingVersion,
    /// A `Sec-WebSocket-Version` other than 13 (§4.2.1 item 6, §4.4); answered with 426.
    UnsupportedVersion,
    /// A `Sec-WebSocket-Protocol` value that is not a comma-separated list of tokens (§4.1).
    InvalidSubprotocolList,
    /// A `Sec-WebSocket-Extensions` value that does not follow the §9.1 grammar.
    InvalidExtensionList {
        /// Byte offset of the first character that does not fit the grammar.
        offset: usize,
    },
    /// Client side: the response status was not `101 Switching Protocols` (§4.1).
    UnexpectedStatus(u16),
    /// Client side: no `Sec-WebSocket-Accept` header in the response (§4.1).
    MissingAccept,
    /// Client side: `Sec-WebSocket-Accept` does not match the key we sent (§4.1).
    AcceptMismatch,
    /// Client side: the server chose a subprotocol we did not offer (§4.1).
    UnofferedSubprotocol,
    /// Client side: the server answered with an extension we did not offer (§4.1).
    UnofferedExtension,
}

impl HandshakeError {
    /// The HTTP status a server answers this error with: 426 for a missing or
    /// unsupported WebSocket version, 431 for an over-large head, 501 for a
    /// `Transfer-Encoding` this parser does not decode, 400 otherwise.
    ///
    /// ```
    /// use socketwire::handshake::HandshakeError;
    /// assert_eq!(HandshakeError::MissingVersion.status(), 426);
    /// assert_eq!(HandshakeError::TooManyHeaders { max: 64 }.status(), 431);
    /// assert_eq!(HandshakeError::UnsupportedTransferEncoding.status(), 501);
    /// assert_eq!(HandshakeError::AmbiguousBodyLength.status(), 400);
    /// assert_eq!(HandshakeError::MethodNotGet.status(), 400);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::MissingVersion | HandshakeError::UnsupportedVersion => 426,
            HandshakeError::HeadTooLarge { .. } | HandshakeError::TooManyHeaders { .. } => 431,
            HandshakeError::UnsupportedTransferEncoding => 501,
            _ => 400,
        }
    }

    /// Writes the complete HTTP/1.1 error reply for this error into `out`: the status
    /// line, `Sec-WebSocket-Version: 13` plus `Upgrade: websocket` for 426,
    /// `Connection: close` and `Content-Length: 0`. Close the connection after sending.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use socketwire::handshake::HandshakeError;
    /// let mut out = BytesMut::new();
    /// HandshakeError::UnsupportedVersion.write_response(&mut out);
    /// let text = std::str::from_utf8(&out).unwrap();
    /// assert!(text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
    /// assert!(text.contains("\r\nSec-WebSocket-Version: 13\r\n"));
    /// assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    /// ```
    pub fn write_response(&self, out: &mut BytesMut) {
        match self.status() {
            426 => {
                out.put_slice(b"HTTP/1.1 426 Upgrade Required\r\n");
                // https://www.rfc-editor.org/rfc/rfc7231#section-6.5.15
                // "The server MUST send an Upgrade header field in a
                // 426 response"; and
                // https://www.rfc-editor.org/rfc/rfc7230#section-6.7
                // "A sender of Upgrade MUST also send an "Upgrade" connection option in
                // the Connection header field"
                out.put_slice(b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
                out.put_slice(b"Connection: Upgrade, close\r\n");
            }
            431 => {
                out.put_slice(b"HTTP/1.1 431 Request Header Fields Too Large\r\n");
                out.put_slice(b"Connection: close\r\n");
            }
            501 => {
                out.put_slice(b"HTTP/1.1 501 Not Implemented\r\n");
                out.put_slice(b"Connection: close\r\n");
            }
            _ => {
                out.put_slice(b"HTTP/1.1 400 Bad Request\r\n");
                out.put_slice(b"Connection: close\r\n");
            }
        }
        out.put_slice(b"Content-Length: 0\r\n\r\n");
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::HeadTooLarge { max } => {
                write!(f, "HTTP head larger than {max} bytes")
            }
            HandshakeError::TooManyHeaders { max } => write!(f, "more than {max} header fields"),
            HandshakeError::MalformedHttp(what) => write!(f, "malformed HTTP head: {what}"),
            HandshakeError::InvalidContentLength => f.write_str("invalid Content-Length"),
            HandshakeError::UnsupportedTransferEncoding => {
                f.write_str("request body framed by a Transfer-Encoding, which is not supported")
            }
            HandshakeError::AmbiguousBodyLength => f.write_str(
                "request body length is ambiguous (Transfer-Encoding with Content-Length, \
                 on HTTP/1.0, or chunked not last)",
            ),
            HandshakeError::MethodNotGet => f.write_str("upgrade request method is not GET"),
            HandshakeError::HttpVersionTooOld => f.write_str("upgrade request older than HTTP/1.1"),
            HandshakeError::MissingHost => f.write_str("no Host header"),
            HandshakeError::DuplicateHeader(name) => write!(f, "{name} header repeated"),
            HandshakeError::MissingUpgradeWebsocket => {
                f.write_str("no Upgrade header with the token websocket")
            }
            HandshakeError::MissingConnectionUpgrade => {
                f.write_str("no Connection header with the token Upgrade")
            }
            HandshakeError::MissingKey => f.write_str("no Sec-WebSocket-Key header"),
            HandshakeError::InvalidKey => {
                f.write_str("Sec-WebSocket-Key is not base64 of 16 bytes")
            }
            HandshakeError::MissingVersion => f.write_str("no Sec-WebSocket-Version header"),
            HandshakeError::UnsupportedVersion => f.write_str("Sec-WebSocket-Version is not 13"),
            HandshakeError::InvalidSubprotocolList => {
                f.write_str("Sec-WebSocket-Protocol is not a list of tokens")
            }
            HandshakeError::InvalidExtensionList { offset } => {
                write!(f, "Sec-WebSocket-Extensions malformed at byte {offset}")
            }
            HandshakeError::UnexpectedStatus(code) => {
                write!(f, "handshake response status {code}, expected 101")
            }
            HandshakeError::MissingAccept => f.write_str("no Sec-WebSocket-Accept header"),
            HandshakeError::AcceptMismatch => {
                f.write_str("Sec-WebSocket-Accept does not match the key sent")
            }
            HandshakeError::UnofferedSubprotocol => {
                f.write_str("server chose a subprotocol that was not offered")
            }
            HandshakeError::UnofferedExtension => {
                f.write_str("server answered with an extension that was not offered")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandshakeError {}

/// A mistake by the caller of the handshake API, never caused by peer bytes.
///
/// ```
/// use socketwire::handshake::HandshakeMisuse;
/// assert_eq!(
///     HandshakeMisuse::SubprotocolNotOffered.to_string(),
///     "the chosen subprotocol was not offered by the client"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeMisuse {
    /// The server chose a subprotocol the client did not offer.
    SubprotocolNotOffered,
    /// A subprotocol name that is not a token, or one listed twice (§4.1).
    InvalidSubprotocol,
    /// An extension offer or answer that does not follow the §9.1 grammar.
    InvalidExtensions,
    /// A header name that is not a token.
    InvalidHeaderName,
    /// A header value (or host) containing CR, LF, NUL or another control byte.
    InvalidHeaderValue,
    /// A request target that is empty or contains spaces or control bytes.
    InvalidPath,
}

impl fmt::Display for HandshakeMisuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HandshakeMisuse::SubprotocolNotOffered => {
                "the chosen subprotocol was not offered by the client"
            }
            HandshakeMisuse::InvalidSubprotocol => "subprotocol is not a token or is repeated",
            HandshakeMisuse::InvalidExtensions => "extension list does not follow RFC 6455 §9.1",
            HandshakeMisuse::InvalidHeaderName => "header name is not a token",
            HandshakeMisuse::InvalidHeaderValue => "header value contains control bytes",
            HandshakeMisuse::InvalidPath => "request target is empty or contains spaces",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for HandshakeMisuse {}
