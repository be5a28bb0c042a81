//! Payload masking (RFC 6455 §5.3): `out[i] = in[i] ^ key[(phase + i) % 4]`.
//!
//! Masking is its own inverse. The key phase lets a payload be masked in chunks:
//! [`Masker`] carries it from one chunk to the next.

mod simd;

use bytes::BytesMut;

use simd::Slot;

/// Buffers shorter than this are masked 16, 8, 4, then 1 byte at a time with no SIMD
/// dispatch: for them the call overhead would cost more than it saves.
const SIMD_MIN_LEN: usize = 2 * simd::BLOCK_LEN;

/// XORs `buf` with `key`, starting at key byte `phase % 4`.
///
/// Works at any offset and alignment. A buffer of 128 bytes or more is masked
/// with the widest SIMD the CPU has (AVX-512 or AVX2 detected at run time with the
/// `std` feature, else the baseline SSE2 / NEON) in whole 64-byte blocks aligned
/// to 64 bytes, with the head and tail around them masked in naturally aligned
/// steps of 32, 16, 8, 4, 2 and 1 bytes. Shorter buffers go 16, 8, 4, then 1 byte
/// at a time.
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
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) {
    mask_and_scan::<false>(buf, key, phase);
}

/// [`apply_mask`], and reports whether every unmasked byte is ASCII (below 0x80),
/// found in the same pass at almost no extra cost. An ASCII chunk is valid UTF-8
/// by itself, so a text payload that passes needs no further validation pass.
///
/// ```
/// use socketwire::ws::mask::{apply_mask, apply_mask_is_ascii};
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut text = *b"plain text";
/// apply_mask(&mut text, key, 0);
/// assert!(apply_mask_is_ascii(&mut text, key, 0));
/// assert_eq!(&text, b"plain text");
/// let mut accented = "é".as_bytes().to_vec();
/// assert!(!apply_mask_is_ascii(&mut accented, [0; 4], 0));
/// ```
#[inline]
pub fn apply_mask_is_ascii(buf: &mut [u8], key: [u8; 4], phase: usize) -> bool {
    mask_and_scan::<true>(buf, key, phase)
}

/// Masks `buf`; with `ASCII`, also returns whether the result is all ASCII
/// (without it, returns `true`).
#[inline(always)]
fn mask_and_scan<const ASCII: bool>(buf: &mut [u8], key: [u8; 4], phase: usize) -> bool {
    if buf.len() < SIMD_MIN_LEN {
        mask_words::<ASCII>(buf, key, phase) < 0x80
    } else {
        mask_long::<ASCII>(buf, key, phase)
    }
}

/// Kept out of line so the short path inlines; see [`simd::mask_aligned`].
#[inline(never)]
fn mask_long<const ASCII: bool>(buf: &mut [u8], key: [u8; 4], phase: usize) -> bool {
    simd::mask_aligned::<ASCII>(buf, mask_word(key, phase).to_le_bytes())
}

/// The key rotated to start at `phase`, twice, as a little-endian `u64`: byte `j`
/// of `word.to_le_bytes()` is `key[(phase + j) % 4]`.
#[inline(always)]
fn mask_word(key: [u8; 4], phase: usize) -> u64 {
    let shift = [0, 8, 16, 24][phase & 3];
    let rotated = u64::from(u32::from_le_bytes(key).rotate_right(shift));
    rotated | (rotated << 32)
}

/// The scalar path: 16 bytes per step, then 8, then bytewise. With `ASCII`,
/// returns the OR of all result bytes folded into one byte (0 otherwise).
#[inline(always)]
fn mask_words<const ASCII: bool>(buf: &mut [u8], key: [u8; 4], phase: usize) -> u8 {
    let word = mask_word(key, phase);
    let wide = u128::from(word) | (u128::from(word) << 64);
    let mut seen = 0u128;
    let mut chunks = buf.chunks_exact_mut(16);
    for chunk in &mut chunks {
        let mut b = [0u8; 16];
        b.copy_from_slice(chunk);
        let v = u128::from_le_bytes(b) ^ wide;
        chunk.copy_from_slice(&v.to_le_bytes());
        if ASCII {
            seen |= v;
        }
    }
    let mut rest = chunks.into_remainder();
    if rest.len() >= 8 {
        let (eight, tail) = rest.split_at_mut(8);
        let mut b = [0u8; 8];
        b.copy_from_slice(eight);
        let v = u64::from_le_bytes(b) ^ word;
        eight.copy_from_slice(&v.to_le_bytes());
        if ASCII {
            seen |= u128::from(v);
        }
        rest = tail;
    }
    if rest.len() >= 4 {
        let (four, tail) = rest.split_at_mut(4);
        let mut b = [0u8; 4];
        b.copy_from_slice(four);
        let low = word.to_le_bytes();
        let v = u32::from_le_bytes(b) ^ u32::from_le_bytes([low[0], low[1], low[2], low[3]]);
        four.copy_from_slice(&v.to_le_bytes());
        if ASCII {
            seen |= u128::from(v);
        }
        rest = tail;
    }
    let mut seen_byte = seen.to_le_bytes().iter().fold(0, |a, b| a | b);
    for (byte, m) in rest.iter_mut().zip(word.to_le_bytes()) {
        *byte ^= m;
        if ASCII {
            seen_byte |= *byte;
        }
    }
    seen_byte
}

/// Writes `src` masked with `key` (starting at key byte `phase % 4`) into
/// `dst`: a copy and [`apply_mask`] in one pass, reading `src` once and writing
/// `dst` once, with the same SIMD dispatch as [`apply_mask`].
///
/// # Panics
///
/// If `dst` and `src` differ in length.
///
/// ```
/// use socketwire::ws::mask::copy_masked;
/// // RFC 6455 §5.7: masked "Hello".
/// let mut masked = [0u8; 5];
/// copy_masked(&mut masked, b"Hello", [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(masked, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
#[inline]
pub fn copy_masked(dst: &mut [u8], src: &[u8], key: [u8; 4], phase: usize) {
    assert_eq!(dst.len(), src.len(), "copy_masked: lengths differ");
    copy_masked_slots(dst, src, key, phase);
}

/// Appends `src` to `out` masked with `key` (starting at key byte `phase % 4`):
/// `out.extend_from_slice(src)` and [`apply_mask`] over the new bytes in one
/// pass, written straight into `out`'s spare capacity.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::ws::mask::extend_masked;
/// let mut out = BytesMut::from(&b"head"[..]);
/// extend_masked(&mut out, b"Hello", [0x37, 0xfa, 0x21, 0x3d], 0);
/// assert_eq!(&out[..], b"head\x7f\x9f\x4d\x51\x58");
/// ```
#[inline]
pub fn extend_masked(out: &mut BytesMut, src: &[u8], key: [u8; 4], phase: usize) {
    simd::extend_masked_spare(out, src, key, phase);
}

/// Writes every slot of `dst` (as long as `src`): `src[i] ^ key[(phase + i) % 4]`.
#[inline(always)]
fn copy_masked_slots<S: Slot>(dst: &mut [S], src: &[u8], key: [u8; 4], phase: usize) {
    debug_assert_eq!(dst.len(), src.len());
    if dst.len() < SIMD_MIN_LEN {
        copy_masked_words(dst, src, key, phase);
    } else {
        copy_masked_long(dst, src, key, phase);
    }
}

/// Kept out of line so the short path inlines; see [`simd::copy_masked_aligned`].
#[inline(never)]
fn copy_masked_long<S: Slot>(dst: &mut [S], src: &[u8], key: [u8; 4], phase: usize) {
    simd::copy_masked_aligned(dst, src, mask_word(key, phase).to_le_bytes());
}

/// The scalar copying path: 16 bytes per step, then bytewise; writes every slot
/// of `dst`.
#[inline(always)]
fn copy_masked_words<S: Slot>(dst: &mut [S], src: &[u8], key: [u8; 4], phase: usize) {
    let word = mask_word(key, phase);
    let wide = u128::from(word) | (u128::from(word) << 64);
    let (dst_words, dst_rest) = dst.as_chunks_mut::<16>();
    let (src_words, src_rest) = src.as_chunks::<16>();
    for (d, s) in dst_words.iter_mut().zip(src_words) {
        *d = (u128::from_le_bytes(*s) ^ wide)
            .to_le_bytes()
            .map(S::from_byte);
    }
    // 16 is a multiple of 4: the rest starts at the same phase.
    for ((d, s), m) in dst_rest
        .iter_mut()
        .zip(src_rest)
        .zip(word.to_le_bytes().into_iter().cycle())
    {
        *d = S::from_byte(s ^ m);
    }
}

/// The obvious byte-at-a-time masking loop: the oracle the fast path is tested
/// against (property tests, the mask benchmark). Not part of the supported API.
///
/// ```
/// let mut a = [1u8, 2, 3];
/// socketwire::ws::mask::apply_mask_naive(&mut a, [1, 2, 3, 4], 0);
/// assert_eq!(a, [0, 0, 0]);
/// ```
#[doc(hidden)]
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
    #[inline]
    pub fn apply(&mut self, chunk: &mut [u8]) {
        apply_mask(chunk, self.key, self.phase);
        self.phase = (self.phase + chunk.len()) & 3;
    }

    /// Masks the next chunk, advances the phase, and reports whether the result is
    /// all ASCII (see [`apply_mask_is_ascii`]).
    ///
    /// ```
    /// let mut m = socketwire::ws::mask::Masker::new([0; 4]);
    /// assert!(m.apply_is_ascii(&mut *b"abc".to_vec()));
    /// assert_eq!(m.phase(), 3);
    /// ```
    #[inline]
    pub fn apply_is_ascii(&mut self, chunk: &mut [u8]) -> bool {
        let ascii = apply_mask_is_ascii(chunk, self.key, self.phase);
        self.phase = (self.phase + chunk.len()) & 3;
        ascii
    }

    /// Appends `chunk` to `out` masked as the next chunk (see
    /// [`extend_masked`]) and advances the phase.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use socketwire::ws::mask::{apply_mask, Masker};
    /// let mut whole = *b"chunked payload";
    /// apply_mask(&mut whole, [1, 2, 3, 4], 0);
    /// let mut out = BytesMut::new();
    /// let mut m = Masker::new([1, 2, 3, 4]);
    /// m.extend_masked(&mut out, b"chunk");
    /// m.extend_masked(&mut out, b"ed payload");
    /// assert_eq!(&out[..], &whole[..]);
    /// ```
    #[inline]
    pub fn extend_masked(&mut self, out: &mut BytesMut, chunk: &[u8]) {
        extend_masked(out, chunk, self.key, self.phase);
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
