//! One message for many connections: validated once, and, where the
//! connections' extensions agree on a stateless encoding, encoded once.

use bytes::{Bytes, BytesMut};

use super::error::ApiMisuse;
use super::extension::{EncodingKey, PerMessageExtension};
use super::message::MessageKind;

/// A whole message prepared for sending to many connections
/// ([`Connection::send_prepared`](super::Connection::send_prepared)).
///
/// Text is checked for UTF-8 once, here. Where recipients compress with a
/// transform that depends only on the message (permessage-deflate with our
/// `*_no_context_takeover`; see
/// [`PerMessageExtension::shared_encoding`]), [`encode_with`](Self::encode_with)
/// (or [`Connection::prepare`](super::Connection::prepare)) compresses it once
/// and every connection whose extension names the same [`EncodingKey`] sends
/// those bytes as they are (a server without copying them: they are queued as
/// a shared chunk). A recipient with another key, or with context takeover,
/// compresses for itself; one without an extension sends the plain payload.
/// Cloning is cheap (two [`Bytes`]).
///
/// ```
/// use bytes::Bytes;
/// use socketwire::ws::{Connection, MessageKind, PreparedMessage};
/// let message = PreparedMessage::new(MessageKind::Text, Bytes::from_static(b"hello all"))?;
/// let mut a = Connection::server(Default::default());
/// let mut b = Connection::server(Default::default());
/// a.send_prepared(&message)?;
/// b.send_prepared(&message)?;
/// let mut out = bytes::BytesMut::new();
/// a.poll_transmit(&mut out);
/// assert_eq!(&out[2..], b"hello all");
/// # Ok::<(), socketwire::ws::ApiMisuse>(())
/// ```
#[derive(Debug, Clone)]
pub struct PreparedMessage {
    kind: MessageKind,
    payload: Bytes,
    encoded: Option<(EncodingKey, Bytes)>,
}

impl PreparedMessage {
    /// A message of `kind` with `payload`; text must be valid UTF-8
    /// ([`ApiMisuse::InvalidUtf8`] if not).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::ws::{MessageKind, PreparedMessage};
    /// assert!(PreparedMessage::new(MessageKind::Text, Bytes::from_static(b"\xff")).is_err());
    /// assert!(PreparedMessage::new(MessageKind::Binary, Bytes::from_static(b"\xff")).is_ok());
    /// ```
    pub fn new(kind: MessageKind, payload: Bytes) -> Result<PreparedMessage, ApiMisuse> {
        super::message::check_outgoing(kind, &payload)?;
        Ok(PreparedMessage {
            kind,
            payload,
            encoded: None,
        })
    }

    /// Encodes the message once with `extension`'s shared encoding, if it
    /// has one for a message this long, for every recipient with the same key.
    /// Returns whether it did.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
    /// use socketwire::ws::{MessageKind, PreparedMessage, Role};
    /// let params = DeflateParams { server_no_context_takeover: true, ..Default::default() };
    /// let ext = PerMessageDeflate::new(Role::Server, params, &DeflateConfig::default());
    /// let mut message = PreparedMessage::new(MessageKind::Text, Bytes::from("hello ".repeat(20)))?;
    /// assert!(message.encode_with(&ext));
    /// assert!(message.encoded().unwrap().len() < 120);
    /// # Ok::<(), socketwire::ws::ApiMisuse>(())
    /// ```
    pub fn encode_with(&mut self, extension: &dyn PerMessageExtension) -> bool {
        let Some(key) = extension.shared_encoding(self.payload.len()) else {
            return false;
        };
        if self.encoded.as_ref().is_some_and(|(k, _)| *k == key) {
            return true;
        }
        let mut out = BytesMut::new();
        if !extension.encode_shared(&self.payload, &mut out) {
            return false;
        }
        self.encoded = Some((key, out.freeze()));
        true
    }

    /// Text or binary.
    ///
    /// ```
    /// use socketwire::ws::{MessageKind, PreparedMessage};
    /// let m = PreparedMessage::new(MessageKind::Binary, bytes::Bytes::new()).unwrap();
    /// assert_eq!(m.kind(), MessageKind::Binary);
    /// ```
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The message as the application wrote it.
    ///
    /// ```
    /// use socketwire::ws::{MessageKind, PreparedMessage};
    /// let m = PreparedMessage::new(MessageKind::Text, bytes::Bytes::from_static(b"hi")).unwrap();
    /// assert_eq!(&m.payload()[..], b"hi");
    /// ```
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The encoded payload, once [`encode_with`](Self::encode_with) made one.
    ///
    /// ```
    /// use socketwire::ws::{MessageKind, PreparedMessage};
    /// let m = PreparedMessage::new(MessageKind::Text, bytes::Bytes::from_static(b"hi")).unwrap();
    /// assert!(m.encoded().is_none());
    /// ```
    pub fn encoded(&self) -> Option<&Bytes> {
        self.encoded.as_ref().map(|(_, bytes)| bytes)
    }

    /// The encoded payload if it was made under `key`.
    pub(super) fn encoded_for(&self, key: EncodingKey) -> Option<&Bytes> {
        self.encoded
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, bytes)| bytes)
    }
}
