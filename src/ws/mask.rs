//! Payload masking (RFC 6455 §5.3): `out[i] = in[i] ^ key[(phase + i) % 4]`.
//!
//! Masking is its own inverse. The key phase lets a payload be masked in chunks:
//! [`Masker`] carries it from one chunk to the next.

/// XORs `buf` with `key`, starting at key byte `phase % 4`.
///
/// Works at any offset and alignment; processes eight bytes per step.
///
/// ```
/// use socketwire::ws::mask::apply_mask;
/// // RFC 6455 §5.7: masked "Hello".
/// let mut data = *b"Hello";
/// apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(&data, b"Hello");
/// ```
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) {
    let phase = phase & 3;
    let rotated = [
        key[phase],
        key[(phase + 1) & 3],
        key[(phase + 2) & 3],
        key[(phase + 3) & 3],
    ];
    let word = u64::from_ne_bytes([
        rotated[0], rotated[1], rotated[2], rotated[3], rotated[0], rotated[1], rotated[2],
        rotated[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(b) ^ word).to_ne_bytes());
    }
    for (i, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= rotated[i & 3];
    }
}

/// The obvious byte-at-a-time masking loop: the oracle the fast path is tested against.
///
/// ```
/// let mut a = [1u8, 2, 3];
/// socketwire::ws::mask::apply_mask_naive(&mut a, [1, 2, 3, 4], 0);
/// assert_eq!(a, [0, 0, 0]);
/// ```
pub fn apply_mask_naive(buf: &mut [u8], key: [u8; 4], phase: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(phase + i) & 3];
    }
}

/// A masking key with its phase, for masking a payload that arrives in chunks.
///
/// ```
/// use socketwire::ws::mask::{apply_mask, Masker};
/// let key = [1, 2, 3, 4];
/// let mut whole = *b"chunked payload";
/// apply_mask(&mut whole, key, 0);
/// let mut parts = *b"chunked payload";
/// let mut m = Masker::new(key);
/// let (a, b) = parts.split_at_mut(5);
/// m.apply(a);
/// m.apply(b);
/// assert_eq!(parts, whole);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Masker {
    key: [u8; 4],
    phase: usize,
}

impl Masker {
    /// A masker at phase 0.
    ///
    /// ```
    /// let m = socketwire::ws::mask::Masker::new([0; 4]);
    /// assert_eq!(m.phase(), 0);
    /// ```
    pub fn new(key: [u8; 4]) -> Self {
        Masker { key, phase: 0 }
    }

    /// Masks the next chunk and advances the phase.
    ///
    /// ```
    /// let mut m = socketwire::ws::mask::Masker::new([9; 4]);
    /// m.apply(&mut [0u8; 3]);
    /// assert_eq!(m.phase(), 3);
    /// ```
    pub fn apply(&mut self, chunk: &mut [u8]) {
        apply_mask(chunk, self.key, self.phase);
        self.phase = (self.phase + chunk.len()) & 3;
    }

    /// The current key phase (0–3).
    ///
    /// ```
    /// assert_eq!(socketwire::ws::mask::Masker::new([1; 4]).phase(), 0);
    /// ```
    pub fn phase(&self) -> usize {
        self.phase
    }
}
