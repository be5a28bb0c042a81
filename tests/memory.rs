//! Memory bounds, measured with a counting global allocator: a frame header that
//! announces a huge payload allocates nothing for it, and a flood of empty
//! continuation frames ends in a 1009 close with memory that does not grow.

use peak_alloc::PeakAlloc;
use std::sync::Mutex;

use socketwire::ws::ClosedBy;
use socketwire::ws::Limits;
use socketwire::ws::{CloseCode, Config, Connection, Event, ProtocolError};

/// Counts current and peak heap bytes for this test binary.
#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Tests in this file measure a process-wide counter: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` and returns how far memory rose above where it started.
fn peak_growth(f: impl FnOnce()) -> usize {
    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    f();
    HEAP.peak_usage().saturating_sub(base)
}

fn drain(c: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

#[test]
fn huge_length_announcement_allocates_nothing_for_it() {
    let _g = SERIAL.lock().unwrap();
    // 2^63 - 1 bytes announced, masked binary frame.
    let header = [
        0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4,
    ];
    for max_frame_size in [16 << 20, u64::MAX] {
        let limits = Limits {
            max_frame_size,
            max_message_size: u64::MAX,
            ..Limits::default()
        };
        let mut s = Connection::server(Config {
            limits,
            ..Config::default()
        });
        let mut events = Vec::with_capacity(4);
        let growth = peak_growth(|| {
            s.handle_input(&header);
            s.handle_input(&[0u8; 1000]);
            while let Some(e) = s.poll_event() {
                events.push(e);
            }
        });
        if max_frame_size == u64::MAX {
            // Accepted as a frame: only the bytes that arrived are held.
            assert!(events.is_empty(), "{events:?}");
        } else {
            assert!(
                matches!(
                    events[..],
                    [Event::Closed {
                        code: CloseCode::MESSAGE_TOO_BIG,
                        by: ClosedBy::ProtocolError(ProtocolError::FrameTooBig { .. })
                    }]
                ),
                "{events:?}"
            );
        }
        assert!(
            growth < 8 * 1024,
            "grew by {growth} bytes for max_frame_size {max_frame_size}"
        );
    }
}

#[test]
fn hundred_thousand_empty_continuations_end_in_1009() {
    let _g = SERIAL.lock().unwrap();
    let mut s = Connection::server(Config::default());
    let first = [0x02, 0x80, 1, 2, 3, 4]; // binary, FIN clear, masked, empty
    let cont = [0x00, 0x80, 1, 2, 3, 4]; // continuation, FIN clear, masked, empty
    s.handle_input(&first);
    assert!(drain(&mut s).is_empty());
    let mut closed = None;
    let growth = peak_growth(|| {
        for i in 0..100_000 {
            s.handle_input(&cont);
            while let Some(e) = s.poll_event() {
                if let Event::Closed { code, .. } = e {
                    closed = Some((i, code));
                }
            }
        }
    });
    let (at, code) = closed.expect("the flood must close the connection");
    assert_eq!(code, CloseCode::MESSAGE_TOO_BIG);
    assert_eq!(at, 99_999, "closed at the 100 001st frame of the message");
    assert!(growth < 16 * 1024, "memory grew by {growth} bytes");
}
