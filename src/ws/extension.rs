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
}
