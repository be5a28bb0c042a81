//! Hostile WebSocket peers against the sans-IO connection: every bound stated
//! on its test and proved by counting (heap bytes through a per-thread counting
//! allocator, frames, bytes of pending output), never by wall clock.

use bytes::Bytes;
use socketwire::ws::connection::MAX_QUEUED_PONGS;
use socketwire::ws::{
    CloseCode, ClosedBy, Config, Connection, Event, Fragment, Limits, ProtocolError,
};

mod counting_alloc;
mod util;
use counting_alloc::heap_growth;
use util::{client_frame, drain, frame};

/// The mask key of every client frame built here.
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn server(limits: Limits, streaming: bool) -> Connection {
    Connection::server(Config {
        limits,
        streaming,
        ..Config::default()
    })
}

/// The header of a masked binary frame announcing `len` bytes in the 64-bit form.
fn header_announcing(len: u64) -> Vec<u8> {
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&KEY);
    header
}

/// Feeds `input` and polls every event into `events` (which must have room
/// reserved, so the measured heap is the connection's alone). A fragment's
/// data is dropped as it comes, as an application that streams would.
fn feed(c: &mut Connection, input: &[u8], events: &mut Vec<Event>) {
    c.handle_input(input);
    while let Some(event) = c.poll_event() {
        events.push(match event {
            Event::Fragment(fragment) => Event::Fragment(Fragment {
                data: Bytes::new(),
                ..fragment
            }),
            other => other,
        });
    }
}

/// The close that ended the connection, if it failed.
fn failure(events: &[Event]) -> Option<(CloseCode, &ProtocolError)> {
    events.iter().find_map(|e| match e {
        Event::Closed {
            code,
            by: ClosedBy::ProtocolError(error),
        } => Some((*code, error)),
        _ => None,
    })
}

fn pending_output(c: &Connection) -> usize {
    c.transmit_chunks().map(<[u8]>::len).sum()
}

/// Bound: a 64-bit length with its top bit set (2^63, 2^64 − 1) is a 1002
/// (`LengthTopBit`) and 2^63 − 1 a 1009 (`FrameTooBig`), decided from the 14
/// header bytes alone: the heap grows by less than 512 bytes (the header
/// copied in, the close frame queued), nothing in proportion to the length
/// announced. With every limit at `u64::MAX` the 2^63 − 1 frame is accepted
/// and holds no more than twice the 64 KiB that arrived.
#[test]
fn frame_lengths_near_2_pow_64_fail_before_allocating() {
    let cases = [
        (1u64 << 63, CloseCode::PROTOCOL_ERROR),
        (u64::MAX, CloseCode::PROTOCOL_ERROR),
        ((1u64 << 63) - 1, CloseCode::MESSAGE_TOO_BIG),
    ];
    for (len, code) in cases {
        let header = header_announcing(len);
        let mut c = server(Limits::default(), false);
        let mut events = Vec::with_capacity(4);
        let ((), peak, _) = heap_growth(|| feed(&mut c, &header, &mut events));
        let expected = if code == CloseCode::PROTOCOL_ERROR {
            ProtocolError::LengthTopBit
        } else {
            ProtocolError::FrameTooBig {
                len,
                max: Limits::default().max_frame_size,
            }
        };
        assert_eq!(failure(&events), Some((code, &expected)), "{len:#x}");
        println!("length {len:#x}: {code:?}, heap grew by {peak} B");
        assert!(peak < 512, "{len:#x}: heap grew by {peak} bytes");
    }

    let unlimited = Limits {
        max_frame_size: u64::MAX,
        max_message_size: u64::MAX,
        ..Limits::default()
    };
    let mut c = server(unlimited, false);
    let mut events = Vec::with_capacity(4);
    let payload = vec![0u8; 64 << 10];
    let ((), peak, _) = heap_growth(|| {
        feed(&mut c, &header_announcing((1 << 63) - 1), &mut events);
        for piece in payload.chunks(4096) {
            feed(&mut c, piece, &mut events);
        }
    });
    assert!(events.is_empty(), "{events:?}");
    println!("2^63 - 1 accepted, 64 KiB arrived: heap grew by {peak} B");
    assert!(peak < 2 * (64 << 10), "heap grew by {peak} bytes");
}

/// Bound: `max_fragments` (default 100 000) counts empty fragments too (ws
/// CVE-2026-48779): a message of 100 000 empty frames is accepted, the
/// 100 001st frame is a 1009 (`TooManyFragments`), and the heap never grows by
/// more than 32 KiB in either mode, however many fragments came: nothing is
/// kept per fragment.
#[test]
fn empty_fragment_flood_hits_max_fragments_with_flat_memory() {
    let max = Limits::default().max_fragments;
    let empty_continuations: Vec<u8> = (0..1000)
        .flat_map(|_| client_frame(false, 0x0, b""))
        .collect();
    for streaming in [false, true] {
        let mut c = server(Limits::default(), streaming);
        let mut events = Vec::with_capacity(4);
        let ((), peak, _) = heap_growth(|| {
            // The first frame and 99 999 continuations: 100 000 frames.
            feed(&mut c, &client_frame(false, 0x2, b""), &mut events);
            for _ in 0..(max - 1) / 1000 {
                feed(&mut c, &empty_continuations, &mut events);
            }
            feed(
                &mut c,
                &empty_continuations[..6 * ((max - 1) % 1000)],
                &mut events,
            );
            assert_eq!(failure(&events), None, "streaming {streaming}");
            feed(&mut c, &client_frame(false, 0x0, b""), &mut events);
        });
        assert_eq!(
            failure(&events),
            Some((
                CloseCode::MESSAGE_TOO_BIG,
                &ProtocolError::TooManyFragments { max }
            )),
            "streaming {streaming}"
        );
        // Streaming mode announces the message with its (empty) first fragment.
        assert_eq!(events.len(), 1 + usize::from(streaming), "{events:?}");
        println!("{max} empty fragments, streaming {streaming}: heap peak {peak} B");
        assert!(
            peak < 32 << 10,
            "streaming {streaming}: heap grew by {peak} bytes"
        );
    }
}

/// Bound: a fragmented message that never ends holds at most
/// `max_message_size` bytes (64 KiB here) in the message buffer (ws
/// CVE-2026-62389): the heap peaks under 3 × 64 KiB (the buffer, its old
/// block during the last regrowth, one frame of input), the frame that would
/// pass the limit is a 1009 (`MessageTooBig`) before its payload is read, and
/// dropping the connection gives every byte back. Streaming mode keeps nothing
/// of such a message: under 8 KiB whatever its length, and the same 1009.
/// An incomplete message then EOF is a 1006 with the same bounds.
#[test]
fn incomplete_fragmented_messages_hold_at_most_the_message_limit() {
    let limit = 64 << 10;
    let limits = Limits {
        max_message_size: limit,
        ..Limits::default()
    };
    let piece = vec![b'x'; 1000];
    let first = client_frame(false, 0x2, &piece);
    let next = client_frame(false, 0x0, &piece);
    let fits = usize::try_from(limit).unwrap() / piece.len();
    // As many fragments as fit the limit, the last one not final.
    let open_message = |streaming, events: &mut Vec<Event>| {
        let mut c = server(limits, streaming);
        feed(&mut c, &first, events);
        for _ in 1..fits {
            feed(&mut c, &next, events);
        }
        assert_eq!(failure(events), None);
        c
    };
    for streaming in [false, true] {
        let mut events = Vec::with_capacity(fits + 4);
        let ((), peak, live) = heap_growth(|| {
            let mut c = open_message(streaming, &mut events);
            feed(&mut c, &next, &mut events);
        });
        let len = (fits as u64 + 1) * piece.len() as u64;
        assert_eq!(
            failure(&events),
            Some((
                CloseCode::MESSAGE_TOO_BIG,
                &ProtocolError::MessageTooBig { len, max: limit }
            )),
            "streaming {streaming}"
        );
        println!("incomplete message, streaming {streaming}: heap peak {peak} B, {live} B kept");
        let bound = if streaming { 8 << 10 } else { 3 * (64 << 10) };
        assert!(peak < bound, "streaming {streaming}: heap grew by {peak}");
        assert!(live <= 0, "streaming {streaming}: {live} bytes kept");
    }

    // Abandoned half-way: EOF.
    let mut events = Vec::with_capacity(fits + 4);
    let ((), peak, live) = heap_growth(|| {
        let mut c = open_message(false, &mut events);
        c.handle_eof();
        events.extend(drain(&mut c));
    });
    assert!(
        matches!(
            events[..],
            [Event::Closed {
                code: CloseCode::ABNORMAL,
                by: ClosedBy::Eof
            }]
        ),
        "{events:?}"
    );
    println!("incomplete message then EOF: heap peak {peak} B, {live} B kept");
    assert!(peak < 3 * (64 << 10), "heap grew by {peak}");
    assert!(live <= 0, "{live} bytes kept");
}

/// Bound: a peer that floods pings while we never write our output gets at
/// most `MAX_QUEUED_PONGS` (16) pongs queued: for 100 000 pings of 125 bytes
/// the pending output never passes 16 × 127 bytes on a server (16 × 131 on a
/// client, whose pongs are masked), and the heap stays under 64 KiB (one
/// chunk of 100 pings of input plus the output). Every ping is still reported.
#[test]
fn ping_flood_with_output_never_drained() {
    let payload = [b'p'; 125];
    for client in [false, true] {
        let (mut c, ping, pong_len) = if client {
            let c = Connection::client(Config::default(), || KEY);
            (c, frame(true, 0, 0x9, None, &payload), 2 + 4 + 125)
        } else {
            let c = Connection::server(Config::default());
            (c, client_frame(true, 0x9, &payload), 2 + 125)
        };
        let chunk: Vec<u8> = (0..100).flat_map(|_| ping.iter().copied()).collect();
        let mut pings = 0;
        let mut most_pending = 0;
        let ((), peak, _) = heap_growth(|| {
            for _ in 0..1000 {
                c.handle_input(&chunk);
                while let Some(event) = c.poll_event() {
                    assert!(matches!(event, Event::Ping(_)), "{event:?}");
                    pings += 1;
                }
                most_pending = most_pending.max(pending_output(&c));
            }
        });
        println!(
            "client {client}: {pings} pings, at most {most_pending} B pending, heap peak {peak} B"
        );
        assert_eq!(pings, 100_000);
        assert_eq!(most_pending, MAX_QUEUED_PONGS * pong_len, "client {client}");
        assert!(peak < 64 << 10, "client {client}: heap grew by {peak}");
    }
}

/// A deflate bomb: 1 MiB of zeros compressed to about 1 KiB, sent as one
/// compressed binary message in masked 16-byte fragments (each inflates to
/// well under the limit: only the count per message can stop it).
#[cfg(feature = "deflate")]
fn deflate_bomb_frames() -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let zeros = vec![0u8; 1 << 20];
    let mut compress = Compress::new(Compression::best(), false);
    let mut compressed = Vec::with_capacity(8 << 10);
    compress
        .compress_vec(&zeros, &mut compressed, FlushCompress::Sync)
        .unwrap();
    // RFC 7692 §7.2.1: the sender strips the sync flush's 00 00 ff ff.
    compressed.truncate(compressed.len() - 4);
    assert!(compressed.len() < 2048, "{} bytes", compressed.len());
    let pieces: Vec<&[u8]> = compressed.chunks(16).collect();
    let last = pieces.len() - 1;
    let mut wire = Vec::new();
    for (i, piece) in pieces.into_iter().enumerate() {
        // RSV1 (compressed) and the opcode on the first frame only.
        let (rsv, opcode) = if i == 0 { (4, 0x2) } else { (0, 0x0) };
        wire.extend(frame(i == last, rsv, opcode, Some(KEY), piece));
    }
    wire
}

/// Feeds a deflate bomb in fragments to a server with permessage-deflate and a
/// 64 KiB message limit, and checks the bound both modes share: a 1009
/// (`MessageTooBig`) once the inflated message passes the limit, at most the
/// limit handed out in fragments first, and heap growth under the limit plus
/// the deflate state. Returns the bytes handed out.
#[cfg(feature = "deflate")]
fn deflate_bomb_is_stopped(streaming: bool) -> usize {
    use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
    use socketwire::ws::Role;
    let wire = deflate_bomb_frames();
    let limits = Limits {
        max_message_size: 64 << 10,
        ..Limits::default()
    };
    let ext = PerMessageDeflate::new(
        Role::Server,
        DeflateParams::default(),
        &DeflateConfig::default(),
    );
    let mut c = server(limits, streaming).with_extension(ext);
    // The deflate state (inflate window and state, output scratch) comes with
    // the first compressed message: a small one first, so the measure below
    // sees the bomb alone; `state` is what that message left.
    let hello = {
        use flate2::{Compress, Compression, FlushCompress};
        let mut compress = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(64);
        compress
            .compress_vec(b"hello", &mut out, FlushCompress::Sync)
            .unwrap();
        out.truncate(out.len() - 4);
        frame(true, 4, 0x2, Some(KEY), &out)
    };
    let ((), _, state) = heap_growth(|| {
        c.handle_input(&hello);
        let mut hellos = 0;
        while let Some(event) = c.poll_event() {
            assert!(
                matches!(&event, Event::Binary(b) if &b[..] == b"hello")
                    || matches!(&event, Event::Fragment(f) if &f.data[..] == b"hello"),
                "{event:?}"
            );
            hellos += 1;
        }
        assert_eq!(hellos, 1);
    });
    let mut events = Vec::with_capacity(64);
    let mut handed_out = 0;
    let ((), peak, _) = heap_growth(|| {
        for piece in wire.chunks(16 + 6) {
            c.handle_input(piece);
            while let Some(event) = c.poll_event() {
                match event {
                    Event::Fragment(f) => handed_out += f.data.len(),
                    other => events.push(other),
                }
            }
        }
    });
    println!(
        "bomb, streaming {streaming}: {handed_out} B handed out, heap peak {peak} B \
         (deflate state {state} B)"
    );
    assert!(
        matches!(
            failure(&events),
            Some((
                CloseCode::MESSAGE_TOO_BIG,
                ProtocolError::MessageTooBig { max: 65536, .. }
            ))
        ),
        "{events:?}; {handed_out} bytes handed out"
    );
    assert!(handed_out <= 64 << 10, "{handed_out} bytes handed out");
    assert!(peak < (64 << 10) + state, "heap grew by {peak}");
    handed_out
}

/// Bound (finding 6, non-streaming half): a deflate bomb in fragments is a
/// 1009 (`MessageTooBig`) as soon as the inflated message passes
/// `max_message_size` (64 KiB), nothing of it is handed out, and the heap
/// grows by less than the limit plus the deflate state while it inflates.
#[cfg(feature = "deflate")]
#[test]
fn deflate_bomb_over_fragments_closes_with_1009() {
    assert_eq!(deflate_bomb_is_stopped(false), 0);
}

/// Bound (finding 6): in streaming mode, where each inflated chunk is handed
/// out as a fragment and the message buffer emptied, the limit still counts
/// the whole message: a deflate bomb in fragments is a 1009 (`MessageTooBig`)
/// once the inflated total passes `max_message_size` (64 KiB), at most 64 KiB
/// of it is handed out first, and the heap grows by less than the limit plus
/// the deflate state.
#[cfg(feature = "deflate")]
#[test]
fn deflate_bomb_streamed_over_fragments_closes_with_1009() {
    let handed_out = deflate_bomb_is_stopped(true);
    assert!(
        handed_out > 0,
        "streaming mode hands the message out as it inflates"
    );
}
