//! The fast masking path against the byte-at-a-time oracle, at every length,
//! start offset (alignment) and key phase, and `Masker` chunking against whole
//! masking.

use proptest::prelude::*;
use socketwire::ws::mask::{Masker, apply_mask, apply_mask_is_ascii, apply_mask_naive};

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
