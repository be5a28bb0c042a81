//! A compression bomb must fail while inflating, before memory grows: 1 MiB of
//! zeros compresses to about 1 KiB; decoding it with a 64 KiB limit must fail
//! with `MessageTooBig` (close code 1009), and the heap must not grow by much
//! more than the limit while it does.
//!
//! Heap use is counted by a `#[global_allocator]` that tracks current and peak
//! bytes (`peak_alloc`; the crate forbids `unsafe`, so the allocator comes from
//! a dev-dependency). It counts a `realloc` as allocate-new + copy + free-old,
//! so a growing buffer's transient copy is included: the figures are upper
//! bounds. This file holds a single test so no other test thread allocates
//! while it measures.
#![cfg(feature = "deflate")]

use bytes::BytesMut;
use peak_alloc::PeakAlloc;
use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
use socketwire::ws::extension::PerMessageExtension;
use socketwire::ws::{CloseCode, ProtocolError, Role};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const LIMIT: u64 = 64 * 1024;
const LIMIT_BYTES: usize = 64 * 1024;

/// Runs `f` and returns (its result, peak heap growth in bytes during it).
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let result = f();
    (result, HEAP.peak_usage().saturating_sub(before))
}

#[test]
fn zip_bomb_fails_with_1009_within_bounded_memory() {
    let config = DeflateConfig::default();
    let mut sender = PerMessageDeflate::new(Role::Server, DeflateParams::default(), &config);
    let zeros = vec![0u8; 1 << 20];
    let mut bomb = BytesMut::new();
    sender.encode(&zeros, true, &mut bomb);
    drop(zeros);
    drop(sender);
    println!("1 MiB of zeros compresses to {} bytes", bomb.len());
    assert!(bomb.len() < 2048);

    // The inflate state (window included) and its 32 KiB scratch come with
    // the first message; a small one brings them before the bomb.
    let mut hello = BytesMut::new();
    PerMessageDeflate::new(Role::Server, DeflateParams::default(), &config)
        .encode(b"hello", true, &mut hello);
    let warmed = || {
        let mut receiver = PerMessageDeflate::new(Role::Client, DeflateParams::default(), &config);
        let mut out = BytesMut::new();
        receiver.decode(&hello, true, &mut out, LIMIT).unwrap();
        assert_eq!(&out[..], b"hello");
        receiver
    };
    let (receiver, construction) =
        measure(|| PerMessageDeflate::new(Role::Client, DeflateParams::default(), &config));
    println!("PerMessageDeflate::new (states come with the first message): {construction} bytes");
    assert_eq!(construction, 0);
    drop(receiver);
    let (receiver, inflate_state) = measure(warmed);
    let mut receiver = receiver;
    println!("after one message (inflate state, window, scratch): {inflate_state} bytes");

    // Whole message in one frame.
    let mut out = BytesMut::new();
    let (result, decode_peak) = measure(|| receiver.decode(&bomb, true, &mut out, LIMIT));
    println!("peak heap growth while decoding the bomb (one frame): {decode_peak} bytes");
    let err = result.unwrap_err();
    assert!(
        matches!(err, ProtocolError::MessageTooBig { max: LIMIT, .. }),
        "{err:?}"
    );
    assert_eq!(err.close_code(), CloseCode::MESSAGE_TOO_BIG);
    assert!(out.len() as u64 <= LIMIT);
    // The output buffer holds at most LIMIT bytes; its growth (doubling, with
    // the old block counted during the copy) is the only other cost: the
    // inflate state came with the first message, above. The bound the decode
    // stays under is LIMIT + the size of that state.
    assert!(decode_peak <= LIMIT_BYTES + inflate_state, "{decode_peak}");

    // The same bomb split into 64-byte frames.
    let mut receiver = warmed();
    let mut out = BytesMut::new();
    let frames: Vec<&[u8]> = bomb.chunks(64).collect();
    let (result, framed_peak) = measure(|| {
        for (i, frame) in frames.iter().enumerate() {
            receiver.decode(frame, i + 1 == frames.len(), &mut out, LIMIT)?;
        }
        Ok::<(), ProtocolError>(())
    });
    println!("peak heap growth while decoding the bomb (64-byte frames): {framed_peak} bytes");
    assert!(matches!(result, Err(ProtocolError::MessageTooBig { .. })));
    assert!(out.len() as u64 <= LIMIT);
    assert!(framed_peak <= LIMIT_BYTES + inflate_state, "{framed_peak}");

    // With the caller's buffer already sized (a reused message buffer), the
    // decode itself allocates nothing.
    let mut receiver = warmed();
    let mut out = BytesMut::with_capacity(LIMIT_BYTES);
    let (result, presized_peak) = measure(|| receiver.decode(&bomb, true, &mut out, LIMIT));
    println!("peak heap growth with a pre-sized buffer: {presized_peak} bytes");
    assert!(matches!(result, Err(ProtocolError::MessageTooBig { .. })));
    assert_eq!(presized_peak, 0);
}
