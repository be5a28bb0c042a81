//! The SIMD body of [`apply_mask`](super::apply_mask): whole 64-byte blocks.
//!
//! The masking loop itself is plain safe Rust (eight `u64` XORs per block) that
//! the compiler vectorises. It is compiled once for the baseline target (SSE2 on
//! x86-64, NEON on aarch64, whatever the target has elsewhere) and, on x86-64 with
//! the `std` feature, twice more with AVX2 and with AVX-512 enabled, picked at run
//! time by CPU feature detection. The only `unsafe` in the crate is the call into
//! those two copies: calling a `#[target_feature]` function is unsafe because it
//! would be undefined behaviour on a CPU without the feature, and the detection
//! right before the call is what makes it sound. Under miri the baseline copy runs.
#![allow(unsafe_code)]

/// Bytes per block; the body handed to [`mask_blocks`] is a multiple of this.
pub(super) const BLOCK_LEN: usize = 64;

/// XORs every byte of `body` (a multiple of [`BLOCK_LEN`] long) with `pattern`,
/// using the widest vectors the CPU supports. With `ASCII`, returns whether every
/// result byte is below 0x80 (without it, `true`).
#[inline]
pub(super) fn mask_blocks<const ASCII: bool>(body: &mut [u8], pattern: &[u8; BLOCK_LEN]) -> bool {
    debug_assert_eq!(body.len() % BLOCK_LEN, 0);
    #[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: `mask_blocks_avx512` only requires the `avx512f` target feature,
            // and the CPU we run on was just detected to have it.
            return unsafe { mask_blocks_avx512::<ASCII>(body, pattern) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `mask_blocks_avx2` only requires the `avx2` target feature, and
            // the CPU we run on was just detected to have it.
            return unsafe { mask_blocks_avx2::<ASCII>(body, pattern) };
        }
    }
    mask_blocks_portable::<ASCII>(body, pattern)
}

/// The block loop with AVX2 (two 32-byte vectors per block).
#[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
#[target_feature(enable = "avx2")]
fn mask_blocks_avx2<const ASCII: bool>(body: &mut [u8], pattern: &[u8; BLOCK_LEN]) -> bool {
    mask_blocks_portable::<ASCII>(body, pattern)
}

/// The block loop with AVX-512 (one 64-byte vector per block).
#[cfg(all(target_arch = "x86_64", feature = "std", not(miri)))]
#[target_feature(enable = "avx512f")]
fn mask_blocks_avx512<const ASCII: bool>(body: &mut [u8], pattern: &[u8; BLOCK_LEN]) -> bool {
    mask_blocks_portable::<ASCII>(body, pattern)
}

/// Safe, vectorisable code: inlined into each of the copies above, so each gets
/// compiled with its own target features. Called directly, it is the baseline
/// copy (SSE2 on x86-64, NEON on aarch64).
#[inline(always)]
fn mask_blocks_portable<const ASCII: bool>(body: &mut [u8], pattern: &[u8; BLOCK_LEN]) -> bool {
    let mut seen = [0u8; BLOCK_LEN];
    let rest = super::xor_chunks::<BLOCK_LEN, ASCII>(body, pattern, &mut seen);
    debug_assert!(rest.is_empty());
    !ASCII || seen.iter().fold(0, |a, b| a | b) < 0x80
}
