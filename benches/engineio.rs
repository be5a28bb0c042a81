//! Engine.IO polling payloads: decode and encode a 16-packet v4 body (and a v3
//! text body), socketwire beside engineioxide-core's public payload codec.
//! Open packet JSON: hand encoder beside serde_json.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use futures_util::{FutureExt as _, StreamExt as _};
use socketwire::engineio::{OpenPacket, Packet, PayloadDecoder, PayloadFormat, PayloadLimits};

/// 14 Socket.IO events and 2 small binary attachments, like a chat burst.
fn fixture_packets() -> (Vec<String>, Vec<Bytes>) {
    let texts = (0..14)
        .map(|i| format!(r#"2["chat message",{{"user":"alice{i}","text":"hello world, this is message number {i}","ts":{}}}]"#, 1_700_000_000 + i))
        .collect();
    let binaries = (0..2u8).map(|i| Bytes::from(vec![i; 32])).collect();
    (texts, binaries)
}

fn packets<'a>(texts: &'a [String], binaries: &[Bytes]) -> Vec<Packet<'a>> {
    let mut packets: Vec<Packet<'a>> = texts.iter().map(|t| Packet::Message(t)).collect();
    packets.insert(5, Packet::Binary(binaries[0].clone()));
    packets.insert(11, Packet::Binary(binaries[1].clone()));
    packets
}

fn engineioxide_packets(texts: &[String], binaries: &[Bytes]) -> Vec<engineioxide_core::PacketBuf> {
    let mut packets: Vec<engineioxide_core::Packet> = texts
        .iter()
        .map(|t| engineioxide_core::Packet::Message(t.clone().into()))
        .collect();
    packets.insert(5, engineioxide_core::Packet::Binary(binaries[0].clone()));
    packets.insert(11, engineioxide_core::Packet::Binary(binaries[1].clone()));
    packets
        .into_iter()
        .map(|p| std::iter::once(p).collect())
        .collect()
}

fn payload(c: &mut Criterion) {
    let (texts, binaries) = fixture_packets();
    let packets = packets(&texts, &binaries);
    let limits = PayloadLimits {
        max_payload: 1_000_000,
        max_packets: 64,
    };
    let mut group = c.benchmark_group("engineio_payload");

    for (name, format) in [
        ("v4-16", PayloadFormat::V4),
        ("v3-16", PayloadFormat::V3Text),
    ] {
        let mut body = BytesMut::new();
        format.encode(&packets, &mut body);
        let body = body.freeze();
        group.throughput(Throughput::Bytes(body.len() as u64));

        group.bench_with_input(
            BenchmarkId::new("socketwire-decode", name),
            &body,
            |b, body| {
                b.iter(|| {
                    let mut count = 0;
                    for packet in PayloadDecoder::new(black_box(body), format, limits) {
                        black_box(packet.unwrap());
                        count += 1;
                    }
                    assert_eq!(count, 16);
                })
            },
        );
        let mut out = BytesMut::with_capacity(body.len());
        group.bench_function(BenchmarkId::new("socketwire-encode", name), |b| {
            b.iter(|| {
                out.clear();
                format.encode(black_box(&packets), &mut out);
                black_box(&out);
            })
        });

        if format == PayloadFormat::V4 {
            group.bench_with_input(
                BenchmarkId::new("engineioxide-decode", name),
                &body,
                |b, body| {
                    b.iter(|| {
                        let http_body = http_body_util::Full::new(black_box(body.clone()));
                        let stream = engineioxide_core::payload::decoder(
                            http_body,
                            None,
                            engineioxide_core::ProtocolVersion::V4,
                            1_000_000,
                        );
                        let mut stream = std::pin::pin!(stream);
                        let mut count = 0;
                        while let Some(Some(packet)) = stream.next().now_or_never() {
                            black_box(packet.unwrap());
                            count += 1;
                        }
                        assert_eq!(count, 16);
                    })
                },
            );
            let peer_packets = engineioxide_packets(&texts, &binaries);
            group.bench_function(BenchmarkId::new("engineioxide-encode", name), |b| {
                b.iter(|| {
                    let stream = futures_util::stream::iter(black_box(peer_packets.clone()));
                    let payload = engineioxide_core::payload::encoder(
                        stream,
                        engineioxide_core::ProtocolVersion::V4,
                        false,
                        1_000_000,
                    )
                    .now_or_never()
                    .unwrap();
                    black_box(payload.data);
                })
            });
        }
    }
    group.finish();
}

fn open_packet(c: &mut Criterion) {
    let open = OpenPacket {
        sid: "lv_VI97HAXpY6yYWAAAC".into(),
        upgrades: vec!["websocket".into()],
        ping_interval: 25000,
        ping_timeout: 20000,
        max_payload: Some(1_000_000),
    };
    let mut out = BytesMut::new();
    open.encode_json(&mut out);
    let mut group = c.benchmark_group("engineio_open");
    group.throughput(Throughput::Bytes(out.len() as u64));
    group.bench_function(BenchmarkId::new("socketwire-hand-encode", "e1"), |b| {
        b.iter(|| {
            out.clear();
            black_box(&open).encode_json(&mut out);
            black_box(&out);
        })
    });
    group.bench_function(BenchmarkId::new("serde_json-encode", "e1"), |b| {
        b.iter(|| black_box(black_box(&open).to_json_with_serde()))
    });
    let json = open.to_json_with_serde();
    group.bench_function(BenchmarkId::new("serde_json-decode", "e1"), |b| {
        b.iter(|| black_box(OpenPacket::decode_json(black_box(&json)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, payload, open_packet);
criterion_main!(benches);
