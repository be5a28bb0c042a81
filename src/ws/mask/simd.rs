//! The SIMD path of [`apply_mask`](super::apply_mask) for buffers of 64 bytes and more.
//!
//! The masking loop itself is plain safe Rust (a 64-byte array XOR per block) that
//! the compiler vectorises. It is compiled once for the baseline target (SSE2 on
//! x86-64, NEON on aarch64, whatever the target has elsewhere) and, on x86-64 with
//! the `std` feature, twice more with AVX2 and with AVX-512 enabled, picked at run
//! time by CPU feature detection. The only `unsafe` in the crate is the call into
//! those two copies: calling a `#[target_feature]` function is unsafe because it
//! would be undefined behaviour on a CPU without the feature, and the detection
//! right before the call is what makes it sound. Under miri the baseline copy runs.
//!
//! The copying masker ([`copy_masked_aligned`], behind
//! [`copy_masked`](super::copy_masked) and [`extend_masked`](super::extend_masked))
//! is dispatched the same way. [`extend_masked_spare`] writes straight into a
//! `BytesMut`'s spare capacity and then sets its length: the one other `unsafe`.
#![allow(unsafe_code)]

use core::mem::MaybeUninit;

use bytes::BytesMut;

/// Bytes per block: one AVX-512 vector, two AVX2 or four SSE2 / NEON vectors.
pub(super) const BLOCK_LEN: usize = 64;

/// Masks `buf` with `pattern` (`pattern[j]` masks `buf[j]`; it repeats every four
/// bytes), using the widest vectors the CPU supports. With `ASCII`, returns
/// whether every result byte is below 0x80 (without it, `true`).
///
/// Every access is naturally aligned: see [`mask_aligned_portable`].
#[inline]
pub(super) fn mask_aligned<const ASCII: bool>(buf: &mut [u8], pattern: [u8; 8]) -> bool {
    #[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: `mask_aligned_avx512` only requires the `avx512f` target
            // feature, and the CPU we run on was just detected to have it.
            return unsafe { mask_aligned_avx512::<ASCII>(buf, pattern) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `mask_aligned_avx2` only requires the `avx2` target feature,
            // and the CPU we run on was just detected to have it.
            return unsafe { mask_aligned_avx2::<ASCII>(buf, pattern) };
        }
    }
    mask_aligned_portable::<ASCII>(buf, pattern)
}

/// The masking with AVX2 (two 32-byte vectors per block).
#[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
#[target_feature(enable = "avx2")]
fn mask_aligned_avx2<const ASCII: bool>(buf: &mut [u8], pattern: [u8; 8]) -> bool {
    mask_aligned_portable::<ASCII>(buf, pattern)
}

/// The masking with AVX-512 (one 64-byte vector per block).
#[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
#[target_feature(enable = "avx512f")]
fn mask_aligned_avx512<const ASCII: bool>(buf: &mut [u8], pattern: [u8; 8]) -> bool {
    mask_aligned_portable::<ASCII>(buf, pattern)
}

/// One accumulator per 8-byte lane of a block: the OR of every masked word, for
/// the ASCII check (kept per lane so the OR vectorises too).
type Seen = [u64; BLOCK_LEN / 8];

/// Splits off the first `N` bytes of `buf` as an array, if there are that many.
#[inline(always)]
fn split_block<const N: usize>(buf: &mut [u8]) -> (Option<&mut [u8; N]>, &mut [u8]) {
    let (block, rest) = buf.split_at_mut(N.min(buf.len()));
    (block.try_into().ok(), rest)
}

/// XORs `block` (`N` a multiple of 8, at most 64) with `word` in 8-byte lanes;
/// with `ASCII`, ORs the results into `seen`.
#[inline(always)]
fn xor_lanes<const N: usize, const ASCII: bool>(block: &mut [u8; N], word: u64, seen: &mut Seen) {
    let (lanes, _) = block.as_chunks_mut::<8>();
    for (lane, s) in lanes.iter_mut().zip(seen.iter_mut()) {
        let v = u64::from_ne_bytes(*lane) ^ word;
        *lane = v.to_ne_bytes();
        if ASCII {
            *s |= v;
        }
    }
}

/// Applies `mask` to the first `N` bytes of `buf`, if `take` and there are that
/// many; returns the rest.
#[inline(always)]
fn step<const N: usize>(buf: &mut [u8], take: bool, mask: impl FnOnce(&mut [u8; N])) -> &mut [u8] {
    if !take {
        return buf;
    }
    let (block, rest) = split_block::<N>(buf);
    if let Some(block) = block {
        mask(block);
    }
    rest
}

/// XORs the first `N` bytes of `buf` (`N` a multiple of 8) with `word`, if `take`;
/// returns the rest.
#[inline(always)]
fn lanes_step<'a, const N: usize, const ASCII: bool>(
    buf: &'a mut [u8],
    take: bool,
    word: u64,
    seen: &mut Seen,
) -> &'a mut [u8] {
    step::<N>(buf, take, |block| xor_lanes::<N, ASCII>(block, word, seen))
}

/// XORs the first `N` bytes of `buf` (`N` is 1, 2 or 4) with the start of
/// `pattern`, if `take`, and rotates `pattern` to the phase of the next byte;
/// returns the rest.
#[inline(always)]
fn bytes_step<'a, const N: usize, const ASCII: bool>(
    buf: &'a mut [u8],
    take: bool,
    pattern: &mut [u8; 8],
    seen: &mut Seen,
) -> &'a mut [u8] {
    step::<N>(buf, take, |block| {
        for (byte, m) in block.iter_mut().zip(*pattern) {
            *byte ^= m;
            if ASCII {
                seen[0] |= u64::from(*byte);
            }
        }
        pattern.rotate_left(N);
    })
}

/// Safe, vectorisable code: inlined into each of the copies above, so each gets
/// compiled with its own target features. Called directly, it is the baseline
/// copy (SSE2 on x86-64, NEON on aarch64).
///
/// The head up to the first 64-byte boundary is masked in steps of 1, 2, 4, 8, 16
/// and 32 bytes (each needed once at most), so every step is naturally aligned;
/// then whole 64-byte blocks; then the tail in steps of 32, 16, 8, 4, 2 and 1. No
/// access crosses a cache line, and none overlaps another (a load that overlaps
/// an earlier store of another size stalls the CPU).
#[inline(always)]
fn mask_aligned_portable<const ASCII: bool>(buf: &mut [u8], pattern: [u8; 8]) -> bool {
    let mut seen: Seen = [0; BLOCK_LEN / 8];
    let mut pattern = pattern;
    let head = buf.as_ptr().align_offset(BLOCK_LEN).min(buf.len());
    let rest = bytes_step::<1, ASCII>(buf, head & 1 != 0, &mut pattern, &mut seen);
    let rest = bytes_step::<2, ASCII>(rest, head & 2 != 0, &mut pattern, &mut seen);
    let rest = bytes_step::<4, ASCII>(rest, head & 4 != 0, &mut pattern, &mut seen);
    // From here on every step is a multiple of four bytes: the phase stays.
    let word = u64::from_ne_bytes(pattern);
    let rest = lanes_step::<8, ASCII>(rest, head & 8 != 0, word, &mut seen);
    let rest = lanes_step::<16, ASCII>(rest, head & 16 != 0, word, &mut seen);
    let rest = lanes_step::<32, ASCII>(rest, head & 32 != 0, word, &mut seen);

    // One flat loop over the 8-byte lanes of all whole blocks: nested per-block
    // loops get vectorised across blocks (gathers) instead of within them.
    let body_len = rest.len() - rest.len() % BLOCK_LEN;
    let (body, tail) = rest.split_at_mut(body_len);
    let mut body_seen = 0;
    for lane in body.as_chunks_mut::<8>().0 {
        let v = u64::from_ne_bytes(*lane) ^ word;
        *lane = v.to_ne_bytes();
        if ASCII {
            body_seen |= v;
        }
    }
    seen[0] |= body_seen;

    let t = tail.len();
    let rest = lanes_step::<32, ASCII>(tail, t & 32 != 0, word, &mut seen);
    let rest = lanes_step::<16, ASCII>(rest, t & 16 != 0, word, &mut seen);
    let rest = lanes_step::<8, ASCII>(rest, t & 8 != 0, word, &mut seen);
    let rest = bytes_step::<4, ASCII>(rest, t & 4 != 0, &mut pattern, &mut seen);
    let rest = bytes_step::<2, ASCII>(rest, t & 2 != 0, &mut pattern, &mut seen);
    let rest = bytes_step::<1, ASCII>(rest, t & 1 != 0, &mut pattern, &mut seen);
    debug_assert!(rest.is_empty());
    !ASCII || seen.iter().fold(0, |a, b| a | b) & 0x8080_8080_8080_8080 == 0
}

/// A byte the copying masker writes: an initialised `u8`, or a
/// `MaybeUninit<u8>` of a buffer's spare capacity.
pub(super) trait Slot {
    /// The slot holding `byte`.
    fn from_byte(byte: u8) -> Self;
}

impl Slot for u8 {
    #[inline(always)]
    fn from_byte(byte: u8) -> Self {
        byte
    }
}

impl Slot for MaybeUninit<u8> {
    #[inline(always)]
    fn from_byte(byte: u8) -> Self {
        MaybeUninit::new(byte)
    }
}

/// Writes `src` masked with `pattern` (as in [`mask_aligned`]) into `dst`, every
/// slot of it, using the widest vectors the CPU supports. `dst` and `src` have
/// the same length.
#[inline]
pub(super) fn copy_masked_aligned<S: Slot>(dst: &mut [S], src: &[u8], pattern: [u8; 8]) {
    #[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: `copy_masked_avx512` only requires the `avx512f` target
            // feature, and the CPU we run on was just detected to have it.
            return unsafe { copy_masked_avx512(dst, src, pattern) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `copy_masked_avx2` only requires the `avx2` target feature,
            // and the CPU we run on was just detected to have it.
            return unsafe { copy_masked_avx2(dst, src, pattern) };
        }
    }
    copy_masked_portable(dst, src, pattern);
}

/// The copying masker with AVX2.
#[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
#[target_feature(enable = "avx2")]
fn copy_masked_avx2<S: Slot>(dst: &mut [S], src: &[u8], pattern: [u8; 8]) {
    copy_masked_portable(dst, src, pattern);
}

/// The copying masker with AVX-512.
#[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
#[target_feature(enable = "avx512f")]
fn copy_masked_avx512<S: Slot>(dst: &mut [S], src: &[u8], pattern: [u8; 8]) {
    copy_masked_portable(dst, src, pattern);
}

/// Safe, vectorisable code, inlined into each copy above like
/// [`mask_aligned_portable`]. Stores are what a copy must keep aligned (loads
/// that cross a cache line cost little): the head up to the first 64-byte
/// boundary of `dst` goes bytewise up to an 8-byte boundary, then in 8-byte
/// lanes; from the boundary on, one flat loop over 8-byte lanes, then the last
/// bytes. Every slot of `dst` is written exactly once.
#[inline(always)]
fn copy_masked_portable<S: Slot>(dst: &mut [S], src: &[u8], pattern: [u8; 8]) {
    let src = &src[..dst.len()];
    let head = dst.as_ptr().align_offset(BLOCK_LEN).min(dst.len());
    let head_bytes = head % 8;
    let (dst_bytes, dst) = dst.split_at_mut(head_bytes);
    let (src_bytes, src) = src.split_at(head_bytes);
    for ((d, s), m) in dst_bytes.iter_mut().zip(src_bytes).zip(pattern) {
        *d = S::from_byte(s ^ m);
    }
    let mut pattern = pattern;
    pattern.rotate_left(head_bytes % 4);
    let word = u64::from_ne_bytes(pattern);
    let xor_lanes = |dst: &mut [S], src: &[u8]| {
        let (dst, _) = dst.as_chunks_mut::<8>();
        for (d, s) in dst.iter_mut().zip(src.as_chunks::<8>().0) {
            *d = (u64::from_ne_bytes(*s) ^ word)
                .to_ne_bytes()
                .map(S::from_byte);
        }
    };
    let (dst_lanes, dst) = dst.split_at_mut(head - head_bytes);
    let (src_lanes, src) = src.split_at(head - head_bytes);
    xor_lanes(dst_lanes, src_lanes);
    let body_len = dst.len() - dst.len() % 8;
    let (dst_body, dst_tail) = dst.split_at_mut(body_len);
    let (src_body, src_tail) = src.split_at(body_len);
    xor_lanes(dst_body, src_body);
    for ((d, s), m) in dst_tail.iter_mut().zip(src_tail).zip(pattern) {
        *d = S::from_byte(s ^ m);
    }
}

/// Appends `src` to `out` masked with `key` from key byte `phase % 4`, written
/// straight into the spare capacity: one pass, no copy to mask afterwards.
#[inline]
pub(super) fn extend_masked_spare(out: &mut BytesMut, src: &[u8], key: [u8; 4], phase: usize) {
    out.reserve(src.len());
    let start = out.len();
    let spare = &mut out.spare_capacity_mut()[..src.len()];
    super::copy_masked_slots(spare, src, key, phase);
    // SAFETY: `copy_masked_slots` writes every slot of `spare` (each of its
    // loops covers a disjoint part, together all of it; the property tests
    // compare every byte of its output with the oracle), so the `src.len()`
    // bytes past the old length are initialised, and `reserve` made them
    // part of the capacity.
    unsafe { out.set_len(start + src.len()) };
}
