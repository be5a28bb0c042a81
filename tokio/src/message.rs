//! Messages as a tokio-tungstenite user knows them: [`Message`], [`Utf8Bytes`],
//! [`CloseFrame`].

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use socketwire::ws::CloseCode;

/// UTF-8 text in shared [`Bytes`]: a text message's payload, handed over without
/// a copy. Always valid UTF-8 (checked when built from bytes).
///
/// ```
/// use socketwire_tokio::Utf8Bytes;
/// let text = Utf8Bytes::from("héllo");
/// assert_eq!(text.as_str(), "héllo");
/// assert_eq!(text, "héllo");
/// assert!(Utf8Bytes::try_from(bytes::Bytes::from_static(b"\xff")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Text from a `&'static str`, without a copy.
    ///
    /// ```
    /// const HELLO: socketwire_tokio::Utf8Bytes = socketwire_tokio::Utf8Bytes::from_static("hello");
    /// assert_eq!(HELLO.len(), 5);
    /// ```
    #[must_use]
    pub const fn from_static(text: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(text.as_bytes()))
    }

    /// The text. The bytes were validated when this was built; this checks them
    /// again (with the SIMD validator, no copy), as the crate forbids `unsafe`.
    ///
    /// ```
    /// assert_eq!(socketwire_tokio::Utf8Bytes::from("hi").as_str(), "hi");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Cannot fail: every constructor checks the bytes.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The length in bytes (no UTF-8 check).
    ///
    /// ```
    /// assert_eq!(socketwire_tokio::Utf8Bytes::from("é").len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    ///
    /// ```
    /// assert!(socketwire_tokio::Utf8Bytes::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes, shared.
    ///
    /// ```
    /// let bytes = socketwire_tokio::Utf8Bytes::from("hi").into_bytes();
    /// assert_eq!(&bytes[..], b"hi");
    /// ```
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The bytes, borrowed.
    ///
    /// ```
    /// assert_eq!(socketwire_tokio::Utf8Bytes::from("hi").as_bytes(), b"hi");
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Wraps bytes the core has already validated as UTF-8.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(simdutf8::basic::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Utf8Bytes {
    /// Copies the text.
    fn from(text: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<String> for Utf8Bytes {
    /// Takes the string's buffer, no copy.
    fn from(text: String) -> Self {
        Utf8Bytes(Bytes::from(text))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;
    /// Checks that the bytes are UTF-8; no copy.
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(text: Utf8Bytes) -> Bytes {
        text.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

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
