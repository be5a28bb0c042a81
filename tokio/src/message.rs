//! Messages as a tokio-tungstenite user knows them: [`Message`], [`Utf8Bytes`],
//! [`CloseFrame`].

use bytes::Bytes;
use socketwire::ws::CloseCode;

/// UTF-8 text in shared [`Bytes`](bytes::Bytes): the core's type, so text
/// received, broadcast and sent is checked once.
pub use socketwire::Utf8Bytes;

/// The code and reason of a close frame.
///
/// ```
/// use socketwire_tokio::{CloseCode, CloseFrame};
/// let frame = CloseFrame { code: CloseCode::GOING_AWAY, reason: "restarting".into() };
/// assert_eq!(frame.code.0, 1001);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code (RFC 6455 §7.4).
    pub code: CloseCode,
    /// Why, in at most 123 bytes.
    pub reason: Utf8Bytes,
}

/// A WebSocket message, received from [`WebSocketStream`](crate::WebSocketStream)
/// as a `Stream` or sent to it as a `Sink`.
///
/// Pings are answered by the connection itself; they and pongs are still handed
/// to the reader. `Close(None)` is a close frame without a code (1005); sent,
/// it goes out as 1000 (normal).
///
/// ```
/// use socketwire_tokio::Message;
/// let m = Message::text("hello");
/// assert!(m.is_text());
/// assert_eq!(m.len(), 5);
/// assert_eq!(Message::binary(vec![1, 2, 3]).into_data(), bytes::Bytes::from_static(&[1, 2, 3]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping (≤ 125 bytes).
    Ping(Bytes),
    /// A pong (≤ 125 bytes).
    Pong(Bytes),
    /// A close frame, with its code and reason if it carried one.
    Close(Option<CloseFrame>),
}

impl Message {
    /// A text message.
    ///
    /// ```
    /// assert_eq!(socketwire_tokio::Message::text(String::from("hi")).to_text(), Some("hi"));
    /// ```
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message.
    ///
    /// ```
    /// assert!(socketwire_tokio::Message::binary(&b"\x00"[..]).is_binary());
    /// ```
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }

    /// Whether this is a text message.
    ///
    /// ```
    /// assert!(socketwire_tokio::Message::text("a").is_text());
    /// ```
    #[must_use]
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Whether this is a binary message.
    ///
    /// ```
    /// assert!(!socketwire_tokio::Message::text("a").is_binary());
    /// ```
    #[must_use]
    pub fn is_binary(&self) -> bool {
        matches!(self, Message::Binary(_))
    }

    /// Whether this is a close frame.
    ///
    /// ```
    /// assert!(socketwire_tokio::Message::Close(None).is_close());
    /// ```
    #[must_use]
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// The payload's length in bytes (a close frame's reason).
    ///
    /// ```
    /// assert_eq!(socketwire_tokio::Message::Ping(bytes::Bytes::from_static(b"abc")).len(), 3);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Message::Text(text) => text.len(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data.len(),
            Message::Close(frame) => frame.as_ref().map_or(0, |f| f.reason.len()),
        }
    }

    /// Whether the payload is empty.
    ///
    /// ```
    /// assert!(socketwire_tokio::Message::text("").is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload as bytes, without a copy (a close frame's reason).
    ///
    /// ```
    /// assert_eq!(&socketwire_tokio::Message::text("hi").into_data()[..], b"hi");
    /// ```
    #[must_use]
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data,
            Message::Close(frame) => frame.map(|f| f.reason.into_bytes()).unwrap_or_default(),
        }
    }

    /// The text of a text message, `None` for any other.
    ///
    /// ```
    /// assert_eq!(socketwire_tokio::Message::binary(vec![b'a']).to_text(), None);
    /// ```
    #[must_use]
    pub fn to_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text.as_str()),
            _ => None,
        }
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Message {
        Message::text(text)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::text(text)
    }
}

impl From<Utf8Bytes> for Message {
    fn from(text: Utf8Bytes) -> Message {
        Message::Text(text)
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Message {
        Message::Binary(data)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Message {
        Message::Binary(data.into())
    }
}
