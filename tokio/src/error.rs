//! The crate's one error type.

use std::fmt;
use std::io;

use socketwire::deflate::NegotiationError;
use socketwire::handshake::{HandshakeError, HandshakeMisuse};
use socketwire::ws::{ApiMisuse, CloseCode, ClosedBy, ProtocolError};

/// Everything that can go wrong on a [`WebSocketStream`](crate::WebSocketStream)
/// or in a handshake. What the peer did wrong ([`Protocol`](Error::Protocol),
/// [`Handshake`](Error::Handshake), [`Deflate`](Error::Deflate)) is kept apart
/// from what the caller did wrong ([`Misuse`](Error::Misuse),
/// [`HandshakeMisuse`](Error::HandshakeMisuse), [`AlreadyClosed`](Error::AlreadyClosed),
/// [`WriteBufferFull`](Error::WriteBufferFull)).
///
/// ```
/// use socketwire_tokio::{CloseCode, Error};
/// let e = Error::Protocol(socketwire::ws::ProtocolError::MessageTooBig { len: 10, max: 5 });
/// assert_eq!(e.close_code(), Some(CloseCode::MESSAGE_TOO_BIG));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    Io(io::Error),
    /// The peer broke RFC 6455 (or a [`Limits`](socketwire::ws::Limits) cap); a
    /// close with [`close_code`](Error::close_code) was sent.
    Protocol(ProtocolError),
    /// The connection ended without a close handshake: end of file, the idle
    /// timeout, or no answer to our close within the close timeout. 1006 locally.
    Aborted(ClosedBy),
    /// Sending on a connection that is closing or closed.
    AlreadyClosed,
    /// `start_send` while more than `max_write_buffer` bytes wait to be written
    /// (call `poll_ready` first: it waits for room).
    WriteBufferFull {
        /// Bytes waiting to be written.
        buffered: usize,
        /// The configured bound.
        max: usize,
    },
    /// A message the connection refuses to send (a control payload over 125
    /// bytes, a close code that may not be sent).
    Misuse(ApiMisuse),
    /// The peer's opening handshake was wrong; a server answered with
    /// [`HandshakeError::status`].
    Handshake(HandshakeError),
    /// The handshake as configured cannot be written (a subprotocol the client
    /// did not offer, a header value with a line break).
    HandshakeMisuse(HandshakeMisuse),
    /// The server answered our permessage-deflate offer with parameters we did
    /// not offer or cannot use.
    Deflate(NegotiationError),
    /// The server's callback refused the request with this status, or an
    /// HTTP/2 extended CONNECT was refused with it (400, 501).
    Refused(http::StatusCode),
    /// The opening handshake did not finish within `handshake_timeout`.
    HandshakeTimeout,
    /// The URL or request cannot be used to connect (why, in a few words).
    InvalidUrl(&'static str),
    /// A `wss://` URL without TLS: the `rustls` feature is off (or the
    /// connector given is `Connector::Plain`).
    TlsNotSupported,
}

impl Error {
    /// The close code this error put on the wire, for protocol errors.
    ///
    /// ```
    /// assert_eq!(socketwire_tokio::Error::AlreadyClosed.close_code(), None);
    /// ```
    #[must_use]
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            Error::Protocol(e) => Some(e.close_code()),
            _ => None,
        }
    }

    /// Maps the core's API-misuse error: sending when not open is `AlreadyClosed`.
    pub(crate) fn from_misuse(misuse: ApiMisuse) -> Error {
        match misuse {
            ApiMisuse::NotOpen => Error::AlreadyClosed,
            other => Error::Misuse(other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Aborted(by) => write!(f, "connection ended without a close handshake: {by:?}"),
            Error::AlreadyClosed => f.write_str("the connection is closing or closed"),
            Error::WriteBufferFull { buffered, max } => {
                write!(
                    f,
                    "write buffer full: {buffered} bytes pending, bound {max}"
                )
            }
            Error::Misuse(e) => write!(f, "cannot send: {e}"),
            Error::Handshake(e) => write!(f, "handshake failed: {e}"),
            Error::HandshakeMisuse(e) => write!(f, "handshake cannot be written: {e}"),
            Error::Deflate(e) => write!(f, "permessage-deflate negotiation failed: {e}"),
            Error::Refused(status) => write!(f, "handshake refused with {status}"),
            Error::HandshakeTimeout => f.write_str("handshake timed out"),
            Error::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            Error::TlsNotSupported => f.write_str("wss:// needs TLS: enable the `rustls` feature"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Protocol(e) => Some(e),
            Error::Misuse(e) => Some(e),
            Error::Handshake(e) => Some(e),
            Error::HandshakeMisuse(e) => Some(e),
            Error::Deflate(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Error {
        Error::Protocol(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Error {
        Error::Handshake(e)
    }
}

impl From<HandshakeMisuse> for Error {
    fn from(e: HandshakeMisuse) -> Error {
        Error::HandshakeMisuse(e)
    }
}

impl From<NegotiationError> for Error {
    fn from(e: NegotiationError) -> Error {
        Error::Deflate(e)
    }
}
