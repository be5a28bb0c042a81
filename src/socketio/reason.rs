//! Why a namespace socket or a whole connection ended: the reasons both
//! sessions report.

use super::error::Error;

/// Why a namespace socket went away, in [`ServerEvent::Disconnected`] and
/// [`ClientEvent::Disconnected`].
///
/// [`ServerEvent::Disconnected`]: super::ServerEvent::Disconnected
/// [`ClientEvent::Disconnected`]: super::ClientEvent::Disconnected
///
/// ```
/// use socketwire::socketio::DisconnectReason;
/// assert_ne!(DisconnectReason::ClientDisconnect, DisconnectReason::TransportClose);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client sent DISCONNECT for the namespace.
    ClientDisconnect,
    /// The server sent DISCONNECT (the server's own `disconnect()`).
    ServerDisconnect,
    /// The Engine.IO transport closed.
    TransportClose,
    /// The peer violated the protocol; the whole connection closes.
    ProtocolError(Error),
    /// The connection closed for another reason (connect timeout).
    ConnectionClosed,
}

/// Why the whole connection must close: after [`ServerEvent::Close`] or
/// [`ClientEvent::Close`] the caller closes the Engine.IO session.
///
/// [`ServerEvent::Close`]: super::ServerEvent::Close
/// [`ClientEvent::Close`]: super::ClientEvent::Close
///
/// ```
/// use socketwire::socketio::{CloseReason, Error};
/// let r = CloseReason::ProtocolError(Error::IllegalAttachments);
/// assert_ne!(r, CloseReason::ConnectTimeout);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// No namespace was connected within `connect_timeout`.
    ConnectTimeout,
    /// A decoding or protocol error by the peer.
    ProtocolError(Error),
}
