//! WebSocket hot paths against tungstenite and fastwebsockets.
//!
//! Ids are `<group>/<impl>/<size>`; `scripts/bench-table.py` turns one run into a
//! table of ratios. Groups:
//!
//! - `mask`: masking a buffer in place (bytes/s). `memcpy` is a ceiling reference:
//!   a plain copy of the same size.
//! - `decode`: a server decoding masked client frames, one binary message per
//!   frame (messages/s). Every implementation reads the same bytes from an
//!   in-memory transport into its buffer's spare capacity (at most
//!   [`READ_CHUNK`] bytes per read, as tokio's `read_buf` does), and every
//!   payload is unmasked and handed to the benchmark. `socketwire` takes
//!   messages with `poll_event_borrowed` (lent from the input buffer);
//!   `socketwire-bytes` with `poll_event` (each message split off as `Bytes`, an
//!   atomic reference count each, as the peers' owned payloads cost an
//!   allocation or a count each). `socketwire-text` decodes ASCII text frames
//!   with `poll_event_borrowed`, to show the cost of UTF-8 validation.
//!   `socketwire-handle-input` hands each read over with `handle_input` (a
//!   copy into the connection's buffer) instead of reading into
//!   `input_buffer`; at 1 MiB (sixteen reads a message) the copy unmasks the
//!   frame it continues in the same pass.
//! - `encode`: a server writing unmasked binary frames (messages/s). Every
//!   implementation's output is copied into one in-memory sink, as a socket would
//!   copy it; the sink takes vectored writes whole. `socketwire` copies each
//!   frame into its output buffer (`send_binary` + `poll_transmit`);
//!   `socketwire-vectored` hands a shared `Bytes` payload over (`send_shared`) and
//!   writes header and payload with one vectored write (`transmit_chunks`), as
//!   fastwebsockets does for payloads above 1 KiB.
//! - `utf8`: incremental UTF-8 validation against `core::str::from_utf8` (bytes/s).

#![allow(missing_docs)] // criterion_main! generates an undocumented `main`.

use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use socketwire::ws::MessageKind;
use socketwire::ws::message::Utf8Validator;
use socketwire::ws::{Config, Connection, Event, FrameHeader, Opcode, mask};

const MASK_SIZES: [usize; 6] = [16, 125, 1024, 16 << 10, 64 << 10, 1 << 20];
const MESSAGE_SIZES: [usize; 3] = [16, 1024, 64 << 10];
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
/// The most bytes one transport read hands over, for every implementation.
const READ_CHUNK: usize = 64 << 10;

// ------------------------------------------------------------------ masking

/// tungstenite's algorithm re-implemented for comparison (its `apply_mask` is not
/// public): XOR 32-bit words with the key as a `u32`, the rest bytewise. Written
/// with `chunks_exact_mut(4)` instead of tungstenite's `align_to_mut::<u32>`, which
/// is the same loop for the (aligned) buffers used here.
fn tungstenite_style_mask(buf: &mut [u8], key: [u8; 4]) {
    let word = u32::from_ne_bytes(key);
    let mut words = buf.chunks_exact_mut(4);
    for w in &mut words {
        let v = u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) ^ word;
        w.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= key[i];
    }
}

fn bench_mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    for size in MASK_SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let mut buf = vec![0x5au8; size];
        let source = vec![0xa5u8; size];
        group.bench_function(BenchmarkId::new("socketwire", size), |b| {
            b.iter(|| mask::apply_mask(black_box(&mut buf), black_box(KEY), 0))
        });
        group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut buf), black_box(KEY)))
        });
        group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            b.iter(|| tungstenite_style_mask(black_box(&mut buf), black_box(KEY)))
        });
        group.bench_function(BenchmarkId::new("naive", size), |b| {
            b.iter(|| mask::apply_mask_naive(black_box(&mut buf), black_box(KEY), 0))
        });
        group.bench_function(BenchmarkId::new("memcpy", size), |b| {
            b.iter(|| black_box(&mut buf).copy_from_slice(black_box(&source)))
        });
    }
    group.finish();
}

// ------------------------------------------------------------------ decoding

/// How many frames of `size` bytes go in one iteration: about 1 MiB of payload,
/// at least 16 frames and at most 4096.
fn frame_count(size: usize) -> usize {
    ((1 << 20) / size).clamp(16, 4096)
}

/// `count` masked client frames of `size` payload bytes each.
fn client_frames(opcode: Opcode, size: usize, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * (size + 14));
    let payload: Vec<u8> = (b'a'..=b'z').cycle().take(size).collect();
    let mut seed = 0u32;
    for _ in 0..count {
        seed = seed.wrapping_add(0x9e37_79b9);
        let key = seed.to_be_bytes();
        let mut header = FrameHeader::new(opcode, size as u64);
        header.mask = Some(key);
        header.write(&mut out);
        let start = out.len();
        out.extend_from_slice(&payload);
        mask::apply_mask_naive(&mut out[start..], key, 0);
    }
    out
}

/// An in-memory transport: reads come from `data` (at most [`READ_CHUNK`] bytes
/// each), writes are copied into `written` (as a socket copies into the kernel).
/// Both are shared so a benchmark can rewind and clear them.
struct MemoryStream {
    data: Rc<Vec<u8>>,
    pos: Rc<Cell<usize>>,
    written: Rc<RefCell<Vec<u8>>>,
}

impl MemoryStream {
    fn reading(data: Rc<Vec<u8>>, pos: Rc<Cell<usize>>) -> Self {
        let written = Rc::default();
        MemoryStream { data, pos, written }
    }

    fn writing(written: Rc<RefCell<Vec<u8>>>) -> Self {
        let (data, pos) = (Rc::default(), Rc::default());
        MemoryStream { data, pos, written }
    }

    fn next_chunk(&self, room: usize) -> &[u8] {
        let pos = self.pos.get();
        let n = (self.data.len() - pos).min(room).min(READ_CHUNK);
        self.pos.set(pos + n);
        &self.data[pos..pos + n]
    }
}

impl io::Read for MemoryStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let chunk = self.next_chunk(buf.len());
        buf[..chunk.len()].copy_from_slice(chunk);
        Ok(chunk.len())
    }
}

impl io::Write for MemoryStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    /// Takes every slice, as `writev` into a socket buffer with room does.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut written = self.written.borrow_mut();
        let mut n = 0;
        for buf in bufs {
            written.extend_from_slice(buf);
            n += buf.len();
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for MemoryStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let chunk = self.next_chunk(buf.remaining());
        buf.put_slice(chunk);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for MemoryStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.written.borrow_mut().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(io::Write::write_vectored(&mut *self, bufs))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// Reads from an in-memory transport into a `BytesMut` the way tokio's
/// `read_buf` does: at most the buffer's spare capacity (and [`READ_CHUNK`]),
/// reserving 8 KiB first when there is none (as `BytesMut::chunk_mut` would
/// reserve a little). The peers' streams hand out reads the same way.
struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Reader { input }
    }

    /// One read; `false` at the end of the input.
    fn read_into(&mut self, buf: &mut BytesMut) -> bool {
        if self.input.is_empty() {
            return false;
        }
        if buf.capacity() == buf.len() {
            buf.reserve(8 << 10);
        }
        let n = (buf.capacity() - buf.len())
            .min(READ_CHUNK)
            .min(self.input.len());
        let (chunk, rest) = self.input.split_at(n);
        buf.extend_from_slice(chunk);
        self.input = rest;
        true
    }
}

/// Feeds `input` to a server connection read by read (see [`Reader`]), draining events
/// after each; returns the payload bytes seen.
fn socketwire_decode(conn: &mut Connection, input: &[u8], count: usize) -> usize {
    let mut seen = 0;
    let mut messages = 0;
    let mut reader = Reader::new(input);
    while reader.read_into(conn.input_buffer()) {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Binary(data) => {
                    seen += black_box(&data).len();
                    messages += 1;
                }
                Event::Text(text) => {
                    seen += black_box(&text).len();
                    messages += 1;
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    assert_eq!(messages, count);
    seen
}

/// Like [`socketwire_decode`], through `poll_event_borrowed`: whole messages are
/// lent from the input buffer instead of handed out as `Bytes`.
/// Takes every message the connection has, lent: adds their bytes to
/// `seen` and counts them in `messages`.
fn drain_borrowed(conn: &mut Connection, seen: &mut usize, messages: &mut usize) {
    use socketwire::ws::EventRef;
    while let Some(event) = conn.poll_event_borrowed() {
        match event {
            EventRef::Binary(data) | EventRef::Text(data) => {
                *seen += black_box(data).len();
                *messages += 1;
            }
            EventRef::Owned(Event::Binary(data)) => {
                *seen += black_box(&data).len();
                *messages += 1;
            }
            EventRef::Owned(Event::Text(text)) => {
                *seen += black_box(&text).len();
                *messages += 1;
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
}

fn socketwire_decode_borrowed(conn: &mut Connection, input: &[u8], count: usize) -> usize {
    let mut seen = 0;
    let mut messages = 0;
    let mut reader = Reader::new(input);
    while reader.read_into(conn.input_buffer()) {
        drain_borrowed(conn, &mut seen, &mut messages);
    }
    assert_eq!(messages, count);
    seen
}

/// Like [`socketwire_decode_borrowed`], but the input is handed over with
/// `handle_input` (a copy out of the caller's buffer, as a transport that reads
/// into its own buffer does), in reads of at most [`READ_CHUNK`] bytes.
fn socketwire_decode_handle_input(conn: &mut Connection, input: &[u8], count: usize) -> usize {
    let mut seen = 0;
    let mut messages = 0;
    for read in input.chunks(READ_CHUNK) {
        conn.handle_input(read);
        drain_borrowed(conn, &mut seen, &mut messages);
    }
    assert_eq!(messages, count);
    seen
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    let rt = runtime();
    for size in MESSAGE_SIZES {
        let count = frame_count(size);
        group.throughput(Throughput::Elements(count as u64));
        let input = Rc::new(client_frames(Opcode::Binary, size, count));

        group.bench_function(BenchmarkId::new("socketwire", size), |b| {
            let mut conn = Connection::server(Config::default());
            b.iter(|| socketwire_decode_borrowed(&mut conn, &input, count))
        });

        group.bench_function(BenchmarkId::new("socketwire-bytes", size), |b| {
            let mut conn = Connection::server(Config::default());
            b.iter(|| socketwire_decode(&mut conn, &input, count))
        });

        group.bench_function(BenchmarkId::new("socketwire-handle-input", size), |b| {
            let mut conn = Connection::server(Config::default());
            b.iter(|| socketwire_decode_handle_input(&mut conn, &input, count))
        });

        group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            let pos = Rc::new(Cell::new(0));
            let stream = MemoryStream::reading(input.clone(), pos.clone());
            let mut ws = tungstenite::WebSocket::from_raw_socket(
                stream,
                tungstenite::protocol::Role::Server,
                None,
            );
            b.iter(|| {
                pos.set(0);
                let mut seen = 0;
                for _ in 0..count {
                    match ws.read().expect("tungstenite read") {
                        tungstenite::Message::Binary(data) => seen += black_box(&data).len(),
                        other => panic!("unexpected message {other:?}"),
                    }
                }
                seen
            })
        });

        group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            let pos = Rc::new(Cell::new(0));
            let stream = MemoryStream::reading(input.clone(), pos.clone());
            let mut ws =
                fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
            ws.set_auto_close(false);
            ws.set_auto_pong(false);
            b.iter(|| {
                pos.set(0);
                rt.block_on(async {
                    let mut seen = 0;
                    for _ in 0..count {
                        let frame = ws.read_frame().await.expect("fastwebsockets read");
                        assert_eq!(frame.opcode, fastwebsockets::OpCode::Binary);
                        seen += black_box(&frame.payload[..]).len();
                    }
                    seen
                })
            })
        });
    }

    let size = 64 << 10;
    let count = frame_count(size);
    group.throughput(Throughput::Elements(count as u64));
    let text = client_frames(Opcode::Text, size, count);
    group.bench_function(BenchmarkId::new("socketwire-text", size), |b| {
        let mut conn = Connection::server(Config::default());
        b.iter(|| socketwire_decode_borrowed(&mut conn, &text, count))
    });
    group.bench_function(
        BenchmarkId::new("socketwire-text-handle-input", size),
        |b| {
            let mut conn = Connection::server(Config::default());
            b.iter(|| socketwire_decode_handle_input(&mut conn, &text, count))
        },
    );

    // Messages of many reads each: `handle_input` unmasks what continues a
    // frame already being read while it copies it (one pass instead of two).
    let size = 1 << 20;
    let count = 4;
    group.throughput(Throughput::Elements(count as u64));
    for (name, opcode) in [
        ("socketwire", Opcode::Binary),
        ("socketwire-text", Opcode::Text),
    ] {
        let input = client_frames(opcode, size, count);
        group.bench_function(BenchmarkId::new(name, size), |b| {
            let mut conn = Connection::server(Config::default());
            b.iter(|| socketwire_decode_borrowed(&mut conn, &input, count))
        });
        let with_copy = format!("{name}-handle-input");
        group.bench_function(BenchmarkId::new(with_copy, size), |b| {
            let mut conn = Connection::server(Config::default());
            b.iter(|| socketwire_decode_handle_input(&mut conn, &input, count))
        });
    }
    group.finish();
}

// ------------------------------------------------------------------ encoding

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let rt = runtime();
    for size in MESSAGE_SIZES {
        let count = frame_count(size);
        group.throughput(Throughput::Elements(count as u64));
        let payload = vec![0x42u8; size];

        group.bench_function(BenchmarkId::new("socketwire", size), |b| {
            let mut conn = Connection::server(Config::default());
            let mut out = BytesMut::new();
            let mut stream = MemoryStream::writing(Rc::default());
            b.iter(|| {
                stream.written.borrow_mut().clear();
                for _ in 0..count {
                    conn.send_binary(&payload).expect("send");
                    // The drive loop: take the output (a buffer swap, no copy), write
                    // it, hand the buffer back empty so it keeps its capacity.
                    conn.poll_transmit(&mut out);
                    io::Write::write_all(&mut stream, &out).expect("write");
                    out.clear();
                }
            })
        });

        group.bench_function(BenchmarkId::new("socketwire-vectored", size), |b| {
            let mut conn = Connection::server(Config::default());
            let mut stream = MemoryStream::writing(Rc::default());
            let payload = Bytes::from(payload.clone());
            b.iter(|| {
                stream.written.borrow_mut().clear();
                for _ in 0..count {
                    // Large payloads are queued, not copied (the Bytes is shared);
                    // header and payload go out in one vectored write.
                    conn.send_shared(MessageKind::Binary, payload.clone())
                        .expect("send");
                    let mut slices = [io::IoSlice::new(&[]); 4];
                    let mut used = 0;
                    for (slot, chunk) in slices.iter_mut().zip(conn.transmit_chunks()) {
                        *slot = io::IoSlice::new(chunk);
                        used += 1;
                    }
                    let n = io::Write::write_vectored(&mut stream, &slices[..used]).expect("write");
                    conn.advance_transmit(n);
                }
            })
        });

        group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            let written: Rc<RefCell<Vec<u8>>> = Rc::default();
            let stream = MemoryStream::writing(Rc::clone(&written));
            let mut ws = tungstenite::WebSocket::from_raw_socket(
                stream,
                tungstenite::protocol::Role::Server,
                None,
            );
            let payload = Bytes::from(payload.clone());
            b.iter(|| {
                written.borrow_mut().clear();
                for _ in 0..count {
                    ws.write(tungstenite::Message::Binary(payload.clone()))
                        .expect("write");
                }
                ws.flush().expect("flush");
            })
        });

        group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            let written: Rc<RefCell<Vec<u8>>> = Rc::default();
            let stream = MemoryStream::writing(Rc::clone(&written));
            let mut ws =
                fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Server);
            b.iter(|| {
                written.borrow_mut().clear();
                rt.block_on(async {
                    for _ in 0..count {
                        let frame = fastwebsockets::Frame::binary(
                            fastwebsockets::Payload::Borrowed(&payload),
                        );
                        ws.write_frame(frame).await.expect("write");
                    }
                    ws.flush().await.expect("flush");
                })
            })
        });
    }
    group.finish();
}

/// A client sending payloads it already owns (built by the application into
/// a buffer, as a serializer does): `send_binary` copies each into the output
/// and masks the copy; `send_owned` masks the buffer in place and queues it
/// (header and payload then go out in one vectored write). The buffers are
/// made outside the timing, for every variant.
fn bench_client_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("client_encode");
    let rt = runtime();
    for size in MESSAGE_SIZES {
        let count = frame_count(size);
        group.throughput(Throughput::Elements(count as u64));
        let payload = vec![0x42u8; size];
        let buffers = || {
            (0..count)
                .map(|_| BytesMut::from(&payload[..]))
                .collect::<Vec<_>>()
        };

        group.bench_function(BenchmarkId::new("socketwire-copy", size), |b| {
            let mut conn = Connection::client(Config::default(), || [1, 2, 3, 4]);
            let mut out = BytesMut::new();
            let mut stream = MemoryStream::writing(Rc::default());
            b.iter_batched(
                buffers,
                |buffers| {
                    stream.written.borrow_mut().clear();
                    for buffer in &buffers {
                        conn.send_binary(buffer).expect("send");
                        conn.poll_transmit(&mut out);
                        io::Write::write_all(&mut stream, &out).expect("write");
                        out.clear();
                    }
                    // Freed inside the timing, as `send_owned` frees its buffers.
                    drop(buffers);
                },
                criterion::BatchSize::LargeInput,
            )
        });

        group.bench_function(BenchmarkId::new("socketwire-owned", size), |b| {
            let mut conn = Connection::client(Config::default(), || [1, 2, 3, 4]);
            let mut stream = MemoryStream::writing(Rc::default());
            b.iter_batched(
                buffers,
                |buffers| {
                    stream.written.borrow_mut().clear();
                    for buffer in buffers {
                        conn.send_owned(MessageKind::Binary, buffer).expect("send");
                        while conn.wants_transmit() {
                            let mut slices = [io::IoSlice::new(&[]); 4];
                            let mut used = 0;
                            for (slot, chunk) in slices.iter_mut().zip(conn.transmit_chunks()) {
                                *slot = io::IoSlice::new(chunk);
                                used += 1;
                            }
                            let n = io::Write::write_vectored(&mut stream, &slices[..used])
                                .expect("write");
                            conn.advance_transmit(n);
                        }
                    }
                },
                criterion::BatchSize::LargeInput,
            )
        });

        group.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            let written: Rc<RefCell<Vec<u8>>> = Rc::default();
            let stream = MemoryStream::writing(Rc::clone(&written));
            let mut ws = tungstenite::WebSocket::from_raw_socket(
                stream,
                tungstenite::protocol::Role::Client,
                None,
            );
            b.iter_batched(
                buffers,
                |buffers| {
                    written.borrow_mut().clear();
                    for buffer in buffers {
                        ws.write(tungstenite::Message::Binary(buffer.freeze()))
                            .expect("write");
                    }
                    ws.flush().expect("flush");
                },
                criterion::BatchSize::LargeInput,
            )
        });

        group.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            let written: Rc<RefCell<Vec<u8>>> = Rc::default();
            let stream = MemoryStream::writing(Rc::clone(&written));
            let mut ws =
                fastwebsockets::WebSocket::after_handshake(stream, fastwebsockets::Role::Client);
            b.iter_batched(
                buffers,
                |mut buffers| {
                    written.borrow_mut().clear();
                    rt.block_on(async {
                        for buffer in buffers.iter_mut() {
                            let frame = fastwebsockets::Frame::binary(
                                fastwebsockets::Payload::BorrowedMut(&mut buffer[..]),
                            );
                            ws.write_frame(frame).await.expect("write");
                        }
                        ws.flush().await.expect("flush");
                    });
                    drop(buffers);
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

// ------------------------------------------------------------------ UTF-8

fn bench_utf8(c: &mut Criterion) {
    let mut group = c.benchmark_group("utf8");
    let sample = "Hello-µ@ßöäüàá-UTF-8!! κόσμε ASCII mostly, some 日本語. ";
    for size in MESSAGE_SIZES {
        let mut text = sample.repeat(size / sample.len() + 1);
        while text.len() > size {
            text.pop();
        }
        group.throughput(Throughput::Bytes(text.len() as u64));
        let bytes = text.as_bytes();
        group.bench_function(BenchmarkId::new("socketwire", size), |b| {
            let mut v = Utf8Validator::default();
            b.iter(|| {
                v.feed(black_box(bytes)).expect("valid");
                v.finish().expect("complete")
            })
        });
        group.bench_function(BenchmarkId::new("std", size), |b| {
            b.iter(|| core::str::from_utf8(black_box(bytes)).is_ok())
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_mask,
    bench_decode,
    bench_encode,
    bench_client_encode,
    bench_utf8
);
criterion_main!(benches);
