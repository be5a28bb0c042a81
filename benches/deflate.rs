//! permessage-deflate: compressing and inflating JSON-like messages, against
//! raw flate2 (`Compress` / `Decompress` reused, sync flush, output into a
//! pre-sized `Vec`) as the floor. Neither tungstenite 0.30 nor fastwebsockets exposes permessage-deflate.
//!
//! Both sides run without context takeover so every iteration is an
//! independent message.
// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::io::Write;

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flate2::Compression;
use flate2::write::DeflateDecoder;
use flate2::{Compress, Decompress, FlushCompress, FlushDecompress};
use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
use socketwire::ws::Role;
use socketwire::ws::extension::PerMessageExtension;

/// A JSON-like message of exactly `len` bytes: records with varying numbers
/// and repeated keys, the usual shape of WebSocket application traffic.
fn json_message(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 128);
    out.push(b'[');
    let mut state = 0x9e37_79b9u32;
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let record = format!(
            "{{\"id\":{},\"user\":\"user-{}\",\"price\":{}.{:02},\"tags\":[\"{}\",\"live\"],\"ok\":{}}},",
            state % 100_000,
            state % 1_000,
            state % 500,
            state % 100,
            ["news", "sport", "tech", "music"][(state % 4) as usize],
            state.is_multiple_of(2),
        );
        out.extend_from_slice(record.as_bytes());
    }
    out.truncate(len);
    out
}

fn params() -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    }
}

fn bench_deflate(c: &mut Criterion) {
    let config = DeflateConfig::default();
    let mut group = c.benchmark_group("deflate");
    for size in [1024usize, 64 * 1024] {
        let message = json_message(size);
        let mut server = PerMessageDeflate::new(Role::Server, params(), &config);
        let mut client = PerMessageDeflate::new(Role::Client, params(), &config);
        let mut wire = BytesMut::new();
        server.encode(&message, true, &mut wire);
        let wire = wire.freeze();
        eprintln!(
            "deflate: {size}-byte JSON message -> {} bytes (ratio {:.2}, level {})",
            wire.len(),
            size as f64 / wire.len() as f64,
            config.compression_level
        );
        group.throughput(Throughput::Bytes(size as u64));

        let mut out = BytesMut::with_capacity(size * 2);
        group.bench_with_input(
            BenchmarkId::new("compress-socketwire", size),
            &message,
            |b, m| {
                b.iter(|| {
                    out.clear();
                    server.encode(black_box(m), true, &mut out);
                    black_box(out.len())
                })
            },
        );

        let mut compressor = Compress::new(Compression::new(config.compression_level), false);
        let mut floor_out = Vec::with_capacity(size * 2);
        group.bench_with_input(
            BenchmarkId::new("compress-flate2", size),
            &message,
            |b, m| {
                b.iter(|| {
                    floor_out.clear();
                    compressor
                        .compress_vec(black_box(m), &mut floor_out, FlushCompress::Sync)
                        .unwrap();
                    // Fresh window per message, like no_context_takeover.
                    compressor.reset();
                    black_box(floor_out.len())
                })
            },
        );

        let mut inflated = BytesMut::with_capacity(size * 2);
        group.bench_with_input(
            BenchmarkId::new("decompress-socketwire", size),
            &wire,
            |b, w| {
                b.iter(|| {
                    inflated.clear();
                    client
                        .decode(black_box(w), true, &mut inflated, 1 << 24)
                        .unwrap();
                    black_box(inflated.len())
                })
            },
        );

        let mut decompressor = Decompress::new(false);
        let mut floor_inflated = Vec::with_capacity(size * 2);
        group.bench_with_input(
            BenchmarkId::new("decompress-flate2", size),
            &wire,
            |b, w| {
                b.iter(|| {
                    floor_inflated.clear();
                    decompressor
                        .decompress_vec(black_box(w), &mut floor_inflated, FlushDecompress::None)
                        .unwrap();
                    decompressor
                        .decompress_vec(
                            &[0, 0, 0xff, 0xff],
                            &mut floor_inflated,
                            FlushDecompress::None,
                        )
                        .unwrap();
                    decompressor.reset(false);
                    black_box(floor_inflated.len())
                })
            },
        );
        // Empty when a filter skipped this benchmark.
        assert!(floor_inflated.is_empty() || floor_inflated == message);
        assert_eq!(decoder_check(&wire), message);
    }
    group.finish();
}

/// The floor decoder inflates our output to the original.
fn decoder_check(wire: &[u8]) -> Vec<u8> {
    let mut decoder = DeflateDecoder::new(Vec::new());
    decoder.write_all(wire).unwrap();
    decoder.write_all(&[0, 0, 0xff, 0xff]).unwrap();
    decoder.flush().unwrap();
    decoder.get_ref().clone()
}

/// The server's echo path (decode a masked client frame, send the message back,
/// collect the output), without and with permessage-deflate on the same JSON-like
/// text. The client frames are compressed without context takeover so the same
/// bytes can be replayed every iteration.
fn bench_echo(c: &mut Criterion) {
    use socketwire::ws::{Config, Connection, Event};
    let mut group = c.benchmark_group("echo");
    for size in [1024usize, 64 * 1024] {
        let text = String::from_utf8(json_message(size)).expect("ASCII");
        group.throughput(Throughput::Bytes(size as u64));
        for deflate in [false, true] {
            let extension =
                || PerMessageDeflate::new(Role::Client, params(), &DeflateConfig::default());
            let mut client = Connection::client(Config::default(), || [0x11, 0x22, 0x33, 0x44]);
            if deflate {
                client = client.with_extension(extension());
            }
            client.send_text(&text).expect("open");
            let mut frame = BytesMut::new();
            client.poll_transmit(&mut frame);
            let mut server = Connection::server(Config::default());
            if deflate {
                server = server.with_extension(PerMessageDeflate::new(
                    Role::Server,
                    params(),
                    &DeflateConfig::default(),
                ));
            }
            let mut out = BytesMut::with_capacity(2 * size);
            let id = if deflate {
                "socketwire-deflate"
            } else {
                "socketwire-plain"
            };
            group.bench_with_input(BenchmarkId::new(id, size), &frame, |b, frame| {
                b.iter(|| {
                    server.handle_input(frame);
                    while let Some(event) = server.poll_event() {
                        if let Event::Text(t) = event {
                            server.send_text(&t).expect("open");
                        }
                    }
                    server.poll_transmit(&mut out);
                    black_box(out.len());
                    out.clear();
                })
            });
        }
    }
    group.finish();
}

/// A message to 1 000 connections without context takeover: each connection
/// compressing for itself (`send_text`), against compressed once
/// (`Connection::prepare`) and sent as shared bytes by each
/// (`send_prepared`); a plain broadcast (no extension) of the same message as
/// the floor. Output drained into one buffer, as a writer would.
fn bench_broadcast(c: &mut Criterion) {
    use bytes::Bytes;
    use socketwire::deflate::DeflatePool;
    use socketwire::ws::{Config, Connection, MessageKind};
    const RECIPIENTS: usize = 1000;
    let mut group = c.benchmark_group("broadcast_1000");
    group.sample_size(10);
    let pool = DeflatePool::new(4);
    for size in [1024usize, 16 * 1024] {
        let text = String::from_utf8(json_message(size)).expect("ASCII");
        let payload = Bytes::from(text.clone());
        group.throughput(Throughput::Elements(RECIPIENTS as u64));
        let deflated = || {
            (0..RECIPIENTS)
                .map(|_| {
                    Connection::server(Config::default()).with_extension(
                        PerMessageDeflate::new(Role::Server, params(), &DeflateConfig::default())
                            .with_pool(&pool),
                    )
                })
                .collect::<Vec<_>>()
        };
        let mut out = BytesMut::with_capacity(4 * size);
        let mut each = deflated();
        group.bench_function(BenchmarkId::new("compress-each", size), |b| {
            b.iter(|| {
                for conn in each.iter_mut() {
                    conn.send_text(&text).expect("open");
                    conn.poll_transmit(&mut out);
                    out.clear();
                }
            })
        });
        let mut once = deflated();
        group.bench_function(BenchmarkId::new("compress-once", size), |b| {
            b.iter(|| {
                let message = once[0]
                    .prepare(MessageKind::Text, payload.clone())
                    .expect("valid");
                for conn in once.iter_mut() {
                    conn.send_prepared(&message).expect("open");
                    conn.poll_transmit(&mut out);
                    out.clear();
                }
            })
        });
        let mut plain: Vec<Connection> = (0..RECIPIENTS)
            .map(|_| Connection::server(Config::default()))
            .collect();
        group.bench_function(BenchmarkId::new("plain", size), |b| {
            b.iter(|| {
                for conn in plain.iter_mut() {
                    conn.send_shared(MessageKind::Text, payload.clone())
                        .expect("open");
                    conn.poll_transmit(&mut out);
                    black_box(out.len());
                    out.clear();
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_deflate, bench_echo, bench_broadcast);
criterion_main!(benches);
