//! Socket.IO broadcast fan-out, per recipient: the room's packet is encoded
//! once (`RoomRegistry::broadcast_event`), then every member's Engine.IO
//! session and WebSocket connection frame it and the frame lands in an output
//! buffer, as a drive loop would write it: `socketwire` sends the packet's text
//! to each session (`send_text`), `socketwire-framed` frames it once for all
//! (`engineio::FramedMessage`, sent on with `ws::Connection::send_text_shared`:
//! no copy, no UTF-8 check per recipient), and `socketwire-framed-vectored`
//! hands the result to a vectored write instead of copying it out. The floor is a `memcpy`
//! of the same WebSocket frame into the same buffer (`memcpy`), and into each
//! recipient's own buffer (`memcpy-each`). Rooms of 1 000 and 10 000 members;
//! messages of 100 B and 1 KiB. Throughput is in recipients.
// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use socketwire::engineio::{self, FramedMessage, WebSocketOutput};
use socketwire::socketio::{Broadcast, RoomRegistry, Value};
use socketwire::ws::{Config, Connection, MessageKind};

/// One room member: its Engine.IO session (on WebSocket) and its WebSocket.
struct Member {
    eio: engineio::ServerSession,
    ws: Connection,
}

fn members(n: usize) -> Vec<Member> {
    let config = engineio::ServerConfig::default();
    (0..n)
        .map(|i| {
            let mut eio = engineio::ServerSession::open_websocket(
                &config,
                "EIO=4&transport=websocket",
                Duration::ZERO,
                || format!("sid{i:019}"),
            )
            .expect("websocket session");
            // The open packet.
            while eio.poll_websocket().is_some() {}
            Member {
                eio,
                ws: Connection::server(Config::default()),
            }
        })
        .collect()
}

/// One broadcast framed once (`FramedMessage`: the Engine.IO packet, UTF-8 by
/// construction): each member's session queues a reference to it, its
/// connection takes it without a second UTF-8 check (`send_text_shared`), and
/// `write` takes the connection's output.
fn broadcast_framed(
    registry: &RoomRegistry<usize>,
    target: &Broadcast<usize>,
    args: &[Value],
    members: &mut [Member],
    mut write: impl FnMut(&mut Connection),
) {
    let broadcast = registry.broadcast_event("/", target, "news", args);
    let framed = FramedMessage::new(broadcast.packet.text());
    for &i in &broadcast.recipients {
        let m = &mut members[i];
        m.eio.send_framed(&framed).expect("open");
        while let Some(output) = m.eio.poll_websocket() {
            if let WebSocketOutput::SharedText(text) = output {
                m.ws.send_text_shared(text).expect("open");
            }
        }
        write(&mut m.ws);
    }
}

fn bench_fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    for room in [1_000usize, 10_000] {
        for size in [100usize, 1024] {
            let mut registry = RoomRegistry::new();
            for i in 0..room {
                registry.join("/", i, "room").expect("join");
            }
            let args = vec![Value::from("x".repeat(size))];
            let target = Broadcast::all().to("room");
            let mut members = members(room);
            let mut out = BytesMut::with_capacity(64 << 10);
            group.throughput(Throughput::Elements(room as u64));
            let id = format!("{room}/{size}");
            group.bench_function(BenchmarkId::new("socketwire", &id), |b| {
                b.iter(|| {
                    let broadcast = registry.broadcast_event("/", &target, "news", &args);
                    let text = broadcast.packet.text();
                    for &i in &broadcast.recipients {
                        let m = &mut members[i];
                        m.eio.send_text(text).expect("open");
                        while let Some(output) = m.eio.poll_websocket() {
                            if let WebSocketOutput::Text(t) = output {
                                m.ws.send_shared(MessageKind::Text, Bytes::from(t))
                                    .expect("open");
                            }
                        }
                        m.ws.poll_transmit(&mut out);
                        black_box(out.len());
                        out.clear();
                    }
                })
            });
            // Framed once per broadcast; each connection's header and the shared
            // payload copied into an output buffer.
            group.bench_function(BenchmarkId::new("socketwire-framed", &id), |b| {
                b.iter(|| {
                    broadcast_framed(&registry, &target, &args, &mut members, |ws| {
                        ws.poll_transmit(&mut out);
                        black_box(out.len());
                        out.clear();
                    })
                })
            });
            // The same, written out as socketwire-tokio writes it: the pending
            // chunks (header, shared payload) handed to a vectored write, not
            // copied; what is left is the queueing and framing per recipient.
            group.bench_function(BenchmarkId::new("socketwire-framed-vectored", &id), |b| {
                b.iter(|| {
                    broadcast_framed(&registry, &target, &args, &mut members, |ws| {
                        let n: usize = ws.transmit_chunks().map(|c| black_box(c).len()).sum();
                        ws.advance_transmit(n);
                    })
                })
            });
            // The floor: the same frame (header, `4`, the packet) copied once per recipient.
            let mut probe = Connection::server(Config::default());
            let packet = registry.broadcast_event("/", &target, "news", &args).packet;
            probe
                .send_text(&format!("4{}", packet.text()))
                .expect("open");
            let mut frame = BytesMut::new();
            probe.poll_transmit(&mut frame);
            group.bench_function(BenchmarkId::new("memcpy", &id), |b| {
                b.iter(|| {
                    for _ in 0..room {
                        out.extend_from_slice(black_box(&frame));
                        black_box(out.len());
                        out.clear();
                    }
                })
            });
            // The same copy into each recipient's own buffer, as a server writes
            // into per-connection output: what the floor leaves out is that a
            // fan-out touches memory of every recipient, most of it not in cache
            // at 1 000 recipients and more.
            let mut outs: Vec<BytesMut> =
                (0..room).map(|_| BytesMut::with_capacity(2048)).collect();
            group.bench_function(BenchmarkId::new("memcpy-each", &id), |b| {
                b.iter(|| {
                    for out in &mut outs {
                        out.extend_from_slice(black_box(&frame));
                        black_box(out.len());
                        out.clear();
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_fanout);
criterion_main!(benches);
