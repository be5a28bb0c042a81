//! Zero allocations per message in steady state, measured with a counting global
//! allocator: once the buffers have grown to fit the traffic, a server decodes
//! 10 000 masked messages, and encodes 10 000 more into a reused output buffer,
//! without a single allocation.

#![allow(unsafe_code)] // the counting allocator below

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use socketwire::ws::{Config, Connection, Event, FrameHeader, Opcode, mask};

struct Counting;

thread_local! {
    /// Only the measuring thread counts: the test harness and the other tests
    /// (which run on their own threads) allocate on their own.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations counted on this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: forwards to the system allocator and only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get) - before
}

const MESSAGES: usize = 10_000;

/// `count` masked client frames cycling through sizes 0..=`max_len` and through
/// text and binary.
fn client_frames(count: usize, max_len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut key: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    for i in 0..count {
        let len = (i * 37) % (max_len + 1);
        let opcode = if i % 3 == 0 {
            Opcode::Text
        } else {
            Opcode::Binary
        };
        key = [key[1], key[2], key[3], key[0].wrapping_add(1)];
        let mut header = FrameHeader::new(opcode, len as u64);
        header.mask = Some(key);
        header.write(&mut out);
        let start = out.len();
        out.extend((b'a'..=b'z').cycle().take(len));
        mask::apply_mask(&mut out[start..], key, 0);
    }
    out
}

/// Feeds `input` in `read_size` reads and drops every message as it comes out;
/// returns how many came out.
fn decode_all(server: &mut Connection, input: &[u8], read_size: usize) -> usize {
    let mut messages = 0;
    for read in input.chunks(read_size) {
        server.input_buffer().extend_from_slice(read);
        while let Some(event) = server.poll_event() {
            assert!(
                matches!(event, Event::Text(_) | Event::Binary(_)),
                "{event:?}"
            );
            messages += 1;
        }
    }
    messages
}

#[test]
fn decoding_allocates_nothing_in_steady_state() {
    for (max_len, read_size) in [
        (16, 4096),
        (1024, 4096),
        (1024, 16 << 10),
        (8 << 10, 64 << 10),
    ] {
        let input = client_frames(MESSAGES, max_len);
        let mut server = Connection::server(Config::default());
        // Warm-up: the input buffer and the event queue grow to their working size.
        assert_eq!(decode_all(&mut server, &input, read_size), MESSAGES);
        let mut decoded = 0;
        let n = allocations(|| decoded = decode_all(&mut server, &input, read_size));
        assert_eq!(decoded, MESSAGES);
        assert_eq!(
            n, 0,
            "{n} allocations for {MESSAGES} messages up to {max_len} bytes"
        );
    }
}

#[test]
fn encoding_into_a_reused_buffer_allocates_nothing_in_steady_state() {
    let payload = vec![0x42u8; 1024];
    let mut server = Connection::server(Config::default());
    let mut out = BytesMut::new();
    let send_round = |server: &mut Connection, out: &mut BytesMut| {
        for i in 0..MESSAGES {
            server.send_binary(&payload[..i % payload.len()]).unwrap();
            if i % 100 == 99 {
                server.poll_transmit(out);
                // The caller writes `out` to the transport, then hands it back empty.
                out.clear();
            }
        }
    };
    send_round(&mut server, &mut out);
    let n = allocations(|| send_round(&mut server, &mut out));
    assert_eq!(n, 0, "{n} allocations for {MESSAGES} messages");
}

#[test]
fn vectored_encoding_allocates_nothing_in_steady_state() {
    use bytes::Bytes;
    use socketwire::ws::MessageKind;
    // Large payloads go out as shared chunks behind their headers; small ones are
    // copied into the output buffer, which is reused.
    let large = Bytes::from(vec![0x42u8; 64 << 10]);
    let small = Bytes::from(vec![0x24u8; 100]);
    let mut server = Connection::server(Config::default());
    let mut written = 0usize;
    let mut send_round = |server: &mut Connection| {
        for i in 0..MESSAGES {
            let payload = if i % 3 == 0 { &large } else { &small };
            server
                .send_shared(MessageKind::Binary, payload.clone())
                .unwrap();
            if i % 10 == 9 {
                // The caller hands the chunks to writev, which takes them all.
                let n: usize = server.transmit_chunks().map(<[u8]>::len).sum();
                server.advance_transmit(n);
                written += n;
            }
        }
    };
    send_round(&mut server);
    let n = allocations(|| send_round(&mut server));
    assert!(written > MESSAGES * (64 << 10) / 3);
    assert_eq!(n, 0, "{n} allocations for {MESSAGES} vectored messages");
}

#[test]
fn the_counter_counts() {
    let n = allocations(|| drop(std::hint::black_box(Vec::<u8>::with_capacity(10))));
    assert_eq!(n, 1);
}
