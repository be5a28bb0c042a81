//! [`Utf8Bytes`]: text in shared [`Bytes`], checked once. The WebSocket layer
//! hands received text out as it, sends it without checking it again, and the
//! Engine.IO layer frames a broadcast into it once for every recipient.

use alloc::string::String;
use core::fmt;
use core::ops::Deref;

use bytes::Bytes;

/// UTF-8 text in shared [`Bytes`]: a text message's payload, handed over
/// without a copy. Always valid UTF-8: checked when built from bytes, or built
/// from a `str`. So a text message sent from it is not checked again
/// ([`ws::Connection::send_text_shared`](crate::ws::Connection::send_text_shared)),
/// however many connections it goes to.
///
/// ```
/// use socketwire::Utf8Bytes;
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
    /// const HELLO: socketwire::Utf8Bytes = socketwire::Utf8Bytes::from_static("hello");
    /// assert_eq!(HELLO.len(), 5);
    /// ```
    #[must_use]
    pub const fn from_static(text: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(text.as_bytes()))
    }

    /// Wraps bytes this crate has already checked (or built from `str`s).
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(simdutf8::basic::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// The text. The bytes were checked when this was built; this checks them
    /// again (with the SIMD validator, no copy), as the crate keeps `unsafe`
    /// out of everything but its SIMD masking.
    ///
    /// ```
    /// assert_eq!(socketwire::Utf8Bytes::from("hi").as_str(), "hi");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Cannot fail: every constructor checks the bytes.
        simdutf8::basic::from_utf8(&self.0).unwrap_or_default()
    }

    /// The length in bytes (no UTF-8 check).
    ///
    /// ```
    /// assert_eq!(socketwire::Utf8Bytes::from("é").len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    ///
    /// ```
    /// assert!(socketwire::Utf8Bytes::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes, borrowed.
    ///
    /// ```
    /// assert_eq!(socketwire::Utf8Bytes::from("hi").as_bytes(), b"hi");
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The shared bytes themselves, borrowed (clone them to share them).
    ///
    /// ```
    /// let text = socketwire::Utf8Bytes::from("hi");
    /// assert_eq!(text.as_shared().as_ptr(), text.as_bytes().as_ptr());
    /// ```
    #[must_use]
    pub fn as_shared(&self) -> &Bytes {
        &self.0
    }

    /// The bytes, shared.
    ///
    /// ```
    /// let bytes = socketwire::Utf8Bytes::from("hi").into_bytes();
    /// assert_eq!(&bytes[..], b"hi");
    /// ```
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;
    /// [`Utf8Bytes::as_str`].
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
    type Error = core::str::Utf8Error;
    /// Checks that the bytes are UTF-8; no copy.
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        if simdutf8::basic::from_utf8(&bytes).is_err() {
            // The slow validator, for the error's position.
            core::str::from_utf8(&bytes)?;
        }
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
