//! Limits: hostile counts and floods give typed errors without allocation
//! growth. A peak-tracking global allocator measures what the library allocates.
#![cfg(feature = "json")]

use bytes::Bytes;
use core::time::Duration;
use peak_alloc::PeakAlloc;
use socketwire::socketio::{
    DecoderConfig, Error, Packet, Reassembler, ServerConfig, ServerSession,
};

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

/// Peak heap growth while running `f`. This binary has a single `#[test]`, so
/// no other test thread allocates meanwhile.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = PEAK.current_usage();
    PEAK.reset_peak_usage();
    let out = f();
    (out, PEAK.peak_usage().saturating_sub(before))
}

fn eleven_attachments_refused_without_allocation() {
    let placeholders: Vec<String> = (0..11)
        .map(|i| format!(r#"{{"_placeholder":true,"num":{i}}}"#))
        .collect();
    let header = format!(r#"511-["a",{}]"#, placeholders.join(","));
    let mut r = Reassembler::new(DecoderConfig::default());
    let (result, bytes) = allocated_by(|| r.handle_text(&header).map(|_| ()));
    assert_eq!(result, Err(Error::TooManyAttachments { max: 10 }));
    assert_eq!(bytes, 0);
    assert!(!r.is_reconstructing());
    // Exactly 10 is accepted.
    let header10 = format!(r#"510-["a",{}]"#, placeholders[..10].join(","));
    assert!(r.handle_text(&header10).is_ok());
    // The limit is configurable.
    let config = DecoderConfig {
        max_attachments: 11,
        ..Default::default()
    };
    assert!(Reassembler::new(config).handle_text(&header).is_ok());
}

fn enormous_attachment_counts_refused_without_allocation() {
    // 2^40 as a count, and a count written with a million digits.
    let count_2_pow_40 = format!(r#"5{}-["a"]"#, 1u64 << 40);
    let million_digits = format!(r#"5{}-["a"]"#, "9".repeat(1_000_000));
    let config = DecoderConfig {
        max_attachments: usize::MAX,
        ..Default::default()
    };
    for text in [&count_2_pow_40, &million_digits] {
        let (result, bytes) =
            allocated_by(|| Packet::decode_header(text, &DecoderConfig::default()));
        assert_eq!(result, Err(Error::TooManyAttachments { max: 10 }));
        assert_eq!(bytes, 0);
    }
    // Even with no count limit the arithmetic cannot overflow.
    let (result, _) = allocated_by(|| Packet::decode_header(&million_digits, &config));
    assert_eq!(result, Err(Error::TooManyAttachments { max: usize::MAX }));
}

fn binary_flood_without_header_does_not_grow() {
    let mut r = Reassembler::new(DecoderConfig::default());
    let blob = Bytes::from(vec![0u8; 64 * 1024]);
    // The first clone of a Vec-backed `Bytes` allocates its shared header; do it now.
    drop(blob.clone());
    let (errors, bytes) = allocated_by(|| {
        (0..10_000)
            .filter(|_| r.handle_binary(blob.clone()) == Err(Error::BinaryWhileNotReconstructing))
            .count()
    });
    assert_eq!(errors, 10_000);
    assert_eq!(bytes, 0);
}

fn attachment_bytes_limit() {
    let config = DecoderConfig {
        max_attachment_bytes: 100,
        ..Default::default()
    };
    let mut r = Reassembler::new(config);
    r.handle_text(r#"52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .unwrap();
    assert_eq!(r.handle_binary(Bytes::from(vec![0u8; 60])), Ok(None));
    assert_eq!(
        r.handle_binary(Bytes::from(vec![0u8; 41])),
        Err(Error::AttachmentsTooLarge { max: 100 })
    );
    assert!(!r.is_reconstructing());
}

fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let text = format!("2[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    // Validation skips nested values iteratively, so this is valid JSON to it…
    let packet = Packet::decode(&text, &DecoderConfig::default()).unwrap();
    // …but building a `Value` stops at serde_json's recursion limit.
    assert!(packet.data_value().unwrap().is_err());
    let mut session = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    session.handle_text("0", Duration::ZERO).unwrap();
    let _ = session.poll_event();
    session.accept("/", "s").unwrap();
    assert!(session.handle_text(&text, Duration::ZERO).is_err());
}

#[test]
fn limits_give_typed_errors_without_allocation_growth() {
    eleven_attachments_refused_without_allocation();
    enormous_attachment_counts_refused_without_allocation();
    binary_flood_without_header_does_not_grow();
    attachment_bytes_limit();
    deep_nesting_is_an_error_not_a_stack_overflow();
}
