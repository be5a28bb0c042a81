//! The fast masking path against the byte-at-a-time oracle, at every length,
//! start offset (alignment) and key phase, and `Masker` chunking against whole
//! masking; the copying masker (`copy_masked`, `extend_masked`) against a copy
//! then the oracle, at every source and destination offset.

use bytes::BytesMut;
use proptest::prelude::*;
use socketwire::ws::mask::{
    Masker, apply_mask, apply_mask_is_ascii, apply_mask_naive, copy_masked, extend_masked,
};

/// A buffer with room for any offset below 64 plus any length below 5000.
fn sample(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add(i.to_le_bytes()[0]).wrapping_mul(31))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn fast_equals_naive(
        len in 0usize..5000,
        offset in 0usize..64,
        phase in 0usize..4,
        key in any::<[u8; 4]>(),
        seed in any::<u8>(),
    ) {
        let original = sample(offset + len + 64, seed);
        let mut fast = original.clone();
        let mut naive = original.clone();
        apply_mask(&mut fast[offset..offset + len], key, phase);
        apply_mask_naive(&mut naive[offset..offset + len], key, phase);
        let mut scanned = original.clone();
        let ascii = apply_mask_is_ascii(&mut scanned[offset..offset + len], key, phase);
        prop_assert_eq!(&scanned, &naive);
        prop_assert_eq!(ascii, naive[offset..offset + len].is_ascii());
        // Equal inside the window, untouched outside it.
        prop_assert_eq!(&fast, &naive);
        prop_assert_eq!(&fast[..offset], &original[..offset]);
        prop_assert_eq!(&fast[offset + len..], &original[offset + len..]);
    }

    #[test]
    fn masker_chunks_equal_whole(
        len in 0usize..5000,
        cuts in proptest::collection::vec(0usize..5000, 0..8),
        key in any::<[u8; 4]>(),
        seed in any::<u8>(),
    ) {
        let original = sample(len, seed);
        let mut whole = original.clone();
        apply_mask(&mut whole, key, 0);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(len)).collect();
        cuts.push(0);
        cuts.push(len);
        cuts.sort_unstable();
        let mut chunked = original.clone();
        let mut masker = Masker::new(key);
        for pair in cuts.windows(2) {
            masker.apply(&mut chunked[pair[0]..pair[1]]);
        }
        prop_assert_eq!(masker.phase(), len % 4);
        prop_assert_eq!(chunked, whole);
    }
}

/// A copy of `src` masked by the oracle.
fn copy_then_naive(src: &[u8], key: [u8; 4], phase: usize) -> Vec<u8> {
    let mut out = src.to_vec();
    apply_mask_naive(&mut out, key, phase);
    out
}

/// `copy_masked` into `dst[dst_offset..]` and `extend_masked` onto a buffer of
/// `dst_offset` bytes both equal a copy masked by the oracle, and neither
/// touches a byte outside its window.
fn check_copy(src: &[u8], dst_offset: usize, key: [u8; 4], phase: usize) -> Result<(), String> {
    let want = copy_then_naive(src, key, phase);
    let guard = sample(dst_offset + src.len() + 64, 0x5a);
    let mut dst = guard.clone();
    copy_masked(
        &mut dst[dst_offset..dst_offset + src.len()],
        src,
        key,
        phase,
    );
    let end = dst_offset + src.len();
    if dst[dst_offset..end] != want[..]
        || dst[..dst_offset] != guard[..dst_offset]
        || dst[end..] != guard[end..]
    {
        return Err(format!(
            "copy_masked: len {} dst offset {dst_offset} phase {phase}",
            src.len()
        ));
    }
    let mut out = BytesMut::from(&guard[..dst_offset]);
    extend_masked(&mut out, src, key, phase);
    if out[..dst_offset] != guard[..dst_offset] || out[dst_offset..] != want[..] {
        return Err(format!(
            "extend_masked: len {} offset {dst_offset} phase {phase}",
            src.len()
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn copy_masked_equals_copy_then_naive(
        len in 0usize..5000,
        src_offset in 0usize..64,
        dst_offset in 0usize..64,
        phase in 0usize..4,
        key in any::<[u8; 4]>(),
        seed in any::<u8>(),
    ) {
        let source = sample(src_offset + len, seed);
        check_copy(&source[src_offset..], dst_offset, key, phase).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn masker_extend_chunks_equal_whole(
        len in 0usize..5000,
        cuts in proptest::collection::vec(0usize..5000, 0..8),
        key in any::<[u8; 4]>(),
        seed in any::<u8>(),
    ) {
        let original = sample(len, seed);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(len)).collect();
        cuts.push(0);
        cuts.push(len);
        cuts.sort_unstable();
        let mut out = BytesMut::new();
        let mut masker = Masker::new(key);
        for pair in cuts.windows(2) {
            masker.extend_masked(&mut out, &original[pair[0]..pair[1]]);
        }
        prop_assert_eq!(masker.phase(), len % 4);
        prop_assert_eq!(&out[..], &copy_then_naive(&original, key, 0)[..]);
    }
}

/// The copying masker at every length below 300 (the short path, the SIMD
/// path and the switch between them) and every key phase, at every source
/// offset below 64 with the destination aligned, every destination offset
/// below 64 with the source aligned, and 64 pairs where both are off by
/// different amounts (every alignment of each, and of one to the other).
#[test]
fn copy_masked_every_small_length_offset_and_phase() {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let source = sample(64 + 300, 3);
    let pairs: Vec<(usize, usize)> = (0..64)
        .flat_map(|i| [(i, 0), (0, i), (i, (i * 37 + 11) % 64)])
        .collect();
    let mut checked = 0;
    for &(src_offset, dst_offset) in &pairs {
        for len in 0..300 {
            for phase in 0..4 {
                let src = &source[src_offset..src_offset + len];
                check_copy(src, dst_offset, key, phase).unwrap();
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 64 * 3 * 300 * 4);
}

/// RFC 6455 §5.7: a masked "Hello" with key 37 fa 21 3d.
#[test]
fn copy_masked_rfc6455_vector() {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let masked = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
    let mut dst = [0u8; 5];
    copy_masked(&mut dst, b"Hello", key, 0);
    assert_eq!(dst, masked);
    let mut out = BytesMut::new();
    extend_masked(&mut out, &masked, key, 0);
    assert_eq!(&out[..], b"Hello");
}

#[test]
#[should_panic(expected = "lengths differ")]
fn copy_masked_refuses_unequal_lengths() {
    copy_masked(&mut [0; 3], &[0; 4], [0; 4], 0);
}

#[test]
fn every_small_length_offset_and_phase() {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    for offset in 0..64 {
        for len in 0..300 {
            for phase in 0..4 {
                let original = sample(offset + len, 7);
                let mut fast = original.clone();
                let mut naive = original.clone();
                apply_mask(&mut fast[offset..], key, phase);
                apply_mask_naive(&mut naive[offset..], key, phase);
                assert_eq!(fast, naive, "offset {offset} len {len} phase {phase}");
                if len > 0 {
                    // All ASCII but one byte, wherever it sits: the scan must see it.
                    for bad in [0, len / 2, len - 1] {
                        let mut plain = vec![b'a'; offset + len];
                        let ok = apply_mask_is_ascii(&mut plain[offset..], [0; 4], phase);
                        assert!(ok);
                        plain[offset + bad] = 0xc3;
                        apply_mask_naive(&mut plain[offset..], key, phase);
                        assert!(!apply_mask_is_ascii(&mut plain[offset..], key, phase));
                        assert_eq!(plain[offset + bad], 0xc3);
                    }
                }
            }
        }
    }
}
