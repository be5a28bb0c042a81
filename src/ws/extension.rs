//! The RSV1 hook: how a per-message extension (permessage-deflate) plugs into the
//! connection without the connection knowing about compression.

use alloc::boxed::Box;
use bytes::BytesMut;

use super::error::ProtocolError;

/// A per-message transform negotiated during the handshake and signalled by RSV1
/// on the first frame of a message (RFC 7692 §6).
///
/// The connection calls [`decode`](PerMessageExtension::decode) with each frame's
/// (unmasked) payload of a message whose first frame had RSV1 set, and
/// [`encode`](PerMessageExtension::encode) for each outgoing data frame of a
/// message for which [`should_encode`](PerMessageExtension::should_encode) said yes.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::ws::{ProtocolError, extension::PerMessageExtension};
/// /// A toy extension that XORs every byte with 1.
/// struct Flip;
/// impl PerMessageExtension for Flip {
///     fn should_encode(&self, _len: usize) -> bool { true }
///     fn encode(&mut self, input: &[u8], _fin: bool, out: &mut BytesMut) {
///         out.extend(input.iter().map(|b| b ^ 1));
///     }
///     fn decode(&mut self, input: &[u8], _fin: bool, out: &mut BytesMut, max_out: u64)
///         -> Result<(), ProtocolError> {
///         if (out.len() + input.len()) as u64 > max_out {
///             return Err(ProtocolError::MessageTooBig { len: (out.len() + input.len()) as u64, max: max_out });
///         }
///         out.extend(input.iter().map(|b| b ^ 1));
///         Ok(())
///     }
/// }
/// let mut f = Flip;
/// let mut out = BytesMut::new();
/// f.decode(&[0x69], true, &mut out, 10).unwrap();
/// assert_eq!(&out[..], b"h");
/// ```
pub trait PerMessageExtension: Send {
    /// Whether to transform an outgoing message of `len` bytes (for example, not
    /// below a size threshold). Called once at the start of each data message.
    fn should_encode(&self, len: usize) -> bool;

    /// Transforms one outgoing frame's payload, appending to `out`. `fin` marks the
    /// last frame of the message.
    fn encode(&mut self, input: &[u8], fin: bool, out: &mut BytesMut);

    /// Reverses the transform on one incoming frame's payload, appending to `out`.
    /// `fin` marks the last frame of the message. Must fail with
    /// [`ProtocolError::MessageTooBig`] as soon as `out` would grow past `max_out`
    /// bytes, before allocating for them. `max_out` is what the message limit
    /// leaves: in streaming mode the connection empties `out` after each call
    /// and lowers `max_out` by the bytes it already handed out.
    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_out: u64,
    ) -> Result<(), ProtocolError>;

    /// When this extension would transform a whole outgoing message of `len`
    /// bytes in a way that depends on nothing but the message (for
    /// permessage-deflate: our side resets its compressor after every message,
    /// `*_no_context_takeover`): a key naming that transform. Two extensions
    /// that return equal keys turn the same message into the same bytes, so a
    /// message sent to many connections is encoded once
    /// ([`PreparedMessage`](super::PreparedMessage)). `None` (the default):
    /// the transform depends on this connection's history, or the message is
    /// not transformed at all ([`should_encode`](Self::should_encode) says no).
    fn shared_encoding(&self, len: usize) -> Option<EncodingKey> {
        let _ = len;
        None
    }

    /// Transforms the whole message `input` as the encoding named by
    /// [`shared_encoding`](Self::shared_encoding), appending to `out`, without
    /// touching this connection's own state (a message being streamed through
    /// [`encode`](Self::encode) is not disturbed). Returns `false`, writing
    /// nothing, when there is no shared encoding (the default).
    fn encode_shared(&self, input: &[u8], out: &mut BytesMut) -> bool {
        let _ = (input, out);
        false
    }
}

/// Names a stateless transform of whole messages (see
/// [`PerMessageExtension::shared_encoding`]): the extension chooses the number,
/// which must change with every parameter that changes the output bytes.
///
/// ```
/// use socketwire::ws::extension::EncodingKey;
/// assert_eq!(EncodingKey::new(7), EncodingKey::new(7));
/// assert_ne!(EncodingKey::new(7), EncodingKey::new(8));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncodingKey(u64);

impl EncodingKey {
    /// A key from the extension's own numbering.
    ///
    /// ```
    /// let _ = socketwire::ws::extension::EncodingKey::new(0x7692_0609);
    /// ```
    pub const fn new(id: u64) -> EncodingKey {
        EncodingKey(id)
    }
}

impl<T: PerMessageExtension + ?Sized> PerMessageExtension for Box<T> {
    fn should_encode(&self, len: usize) -> bool {
        (**self).should_encode(len)
    }
    fn encode(&mut self, input: &[u8], fin: bool, out: &mut BytesMut) {
        (**self).encode(input, fin, out)
    }
    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_out: u64,
    ) -> Result<(), ProtocolError> {
        (**self).decode(input, fin, out, max_out)
    }
    fn shared_encoding(&self, len: usize) -> Option<EncodingKey> {
        (**self).shared_encoding(len)
    }
    fn encode_shared(&self, input: &[u8], out: &mut BytesMut) -> bool {
        (**self).encode_shared(input, out)
    }
}
