//! Socket.IO packet codec: socketwire against socketioxide's parser
//! (`socketioxide-parser-common`), same fixtures, same groups.
//!
//! Ids: `socketio/<impl>/<case>` within the groups `header_decode`,
//! `full_decode` and `encode_attachments`; the group `msgpack` sets the
//! socket.io-msgpack-parser format against the JSON one on the same packets.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::ser::{Serialize, Serializer};
use socketioxide_core::parser::{Parse, ParseConfig, ParserState};
use socketioxide_parser_common::CommonParser;
use socketwire::socketio::{DecoderConfig, EncodedPacket, Packet, Reassembled, Reassembler, Value};

const EVENT: &str = r#"2["event",{"foo":"bar","arr":[1,2,3]}]"#;
const EVENT_NSP_ACK: &str =
    r#"2/custom_nsp,12["event",{"foo":"bar","arr":[1,2,3]},"second",42,true]"#;
const BINARY_HEADER: &str = r#"52-/custom_nsp,["event",{"_placeholder":true,"num":0},{"foo":"bar","file":{"_placeholder":true,"num":1}}]"#;

fn fixtures() -> [(&'static str, &'static str); 3] {
    [
        ("event", EVENT),
        ("event_nsp_ack", EVENT_NSP_ACK),
        ("binary_header", BINARY_HEADER),
    ]
}

fn header_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("socketio/header_decode");
    let config = DecoderConfig::default();
    let sx_config = ParseConfig::default();
    for (name, text) in fixtures() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("socketwire/{name}"), |b| {
            b.iter(|| Packet::decode_header(black_box(text), &config).ok())
        });
        // socketioxide parses the header and keeps the JSON as a lazy `Str`
        // slice; a binary header also stores the pending packet in the state.
        group.bench_function(format!("socketioxide/{name}"), |b| {
            b.iter(|| {
                let state = ParserState::default();
                CommonParser
                    .decode_str(&sx_config, &state, black_box(text).into())
                    .ok()
            })
        });
    }
    group.finish();
}

fn full_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("socketio/full_decode");
    let config = DecoderConfig::default();
    let sx_config = ParseConfig::default();
    for (name, text) in fixtures().into_iter().take(2) {
        group.throughput(Throughput::Bytes(text.len() as u64));
        // Header + JS payload validation, zero-copy.
        group.bench_function(format!("socketwire/{name}"), |b| {
            b.iter(|| Packet::decode(black_box(text), &config).ok())
        });
        // Header + validation + the data as an owned `Value` tree, one parse.
        group.bench_function(format!("socketwire_value/{name}"), |b| {
            b.iter(|| Packet::decode_value(black_box(text), &config).ok())
        });
        // Baseline: the JSON alone into a `serde_json::Value`.
        let json = &text[text.find('[').unwrap_or(0)..];
        group.bench_function(format!("serde_json_value_only/{name}"), |b| {
            b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(json)).ok())
        });
        // Header, event name, then the arguments into serde_json values.
        group.bench_function(format!("socketioxide/{name}"), |b| {
            b.iter(|| {
                let state = ParserState::default();
                let packet = CommonParser
                    .decode_str(&sx_config, &state, black_box(text).into())
                    .ok()?;
                let socketioxide_core::packet::PacketData::Event(mut value, _) = packet.inner
                else {
                    return None;
                };
                CommonParser.read_event(&value).ok()?;
                CommonParser
                    .decode_value::<Vec<serde_json::Value>>(&mut value, true)
                    .ok()
            })
        });
    }
    // The whole binary packet: header plus two attachments.
    let attachments = [Bytes::from(vec![7u8; 1024]), Bytes::from(vec![9u8; 1024])];
    let total = (BINARY_HEADER.len() + 2048) as u64;
    group.throughput(Throughput::Bytes(total));
    group.bench_function("socketwire/binary_packet", |b| {
        b.iter(|| {
            let mut r = Reassembler::new(config.clone());
            let Ok(Reassembled::Pending) = r.handle_text(black_box(BINARY_HEADER)) else {
                return None;
            };
            r.handle_binary(attachments[0].clone()).ok()?;
            r.handle_binary(attachments[1].clone()).ok()?
        })
    });
    group.bench_function("socketioxide/binary_packet", |b| {
        b.iter(|| {
            let state = ParserState::default();
            let _ = CommonParser.decode_str(&sx_config, &state, black_box(BINARY_HEADER).into());
            let _ = CommonParser.decode_bin(&sx_config, &state, attachments[0].clone());
            let packet = CommonParser
                .decode_bin(&sx_config, &state, attachments[1].clone())
                .ok()?;
            let socketioxide_core::packet::PacketData::BinaryEvent(mut value, _) = packet.inner
            else {
                return None;
            };
            CommonParser.read_event(&value).ok()?;
            CommonParser
                .decode_value::<(Bytes2, serde_json::Value)>(&mut value, true)
                .ok()
                .map(|_| ())
        })
    });
    group.finish();
}

/// A blob that serializes through `serialize_bytes` (what both encoders look
/// for to extract attachments).
#[derive(Clone, Copy)]
struct Blob(&'static [u8]);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// Receives a blob on the socketioxide side.
struct Bytes2;

impl<'de> serde::Deserialize<'de> for Bytes2 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Bytes2;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Bytes2, E> {
                Ok(Bytes2)
            }
            fn visit_byte_buf<E: serde::de::Error>(self, _: Vec<u8>) -> Result<Bytes2, E> {
                Ok(Bytes2)
            }
        }
        d.deserialize_bytes(V)
    }
}

#[derive(serde::Serialize)]
struct Meta {
    foo: &'static str,
    file: Blob,
}

fn encode_attachments(c: &mut Criterion) {
    static ONE_KB_A: [u8; 1024] = [7; 1024];
    static ONE_KB_B: [u8; 1024] = [9; 1024];
    let mut group = c.benchmark_group("socketio/encode_attachments");
    group.throughput(Throughput::Bytes(2048));
    let args = [
        Value::Bytes(Bytes::from_static(&ONE_KB_A)),
        Value::Object(vec![
            ("foo".into(), "bar".into()),
            ("file".into(), Value::Bytes(Bytes::from_static(&ONE_KB_B))),
        ]),
    ];
    let sample = EncodedPacket::event("/custom_nsp", "event", &args, None);
    assert_eq!(sample.attachments().len(), 2);
    group.bench_function("socketwire/two_1k_blobs", |b| {
        b.iter(|| EncodedPacket::event("/custom_nsp", "event", black_box(&args), None))
    });
    let data = (
        Blob(&ONE_KB_A),
        Meta {
            foo: "bar",
            file: Blob(&ONE_KB_B),
        },
    );
    group.bench_function("socketioxide/two_1k_blobs", |b| {
        b.iter(|| {
            let value = CommonParser
                .encode_value(black_box(&data), Some("event"))
                .ok()?;
            Some(
                CommonParser.encode(socketioxide_core::packet::Packet::event(
                    "/custom_nsp",
                    value,
                )),
            )
        })
    });
    group.finish();
}

/// The same EVENT (`/custom_nsp`, id 12, an object, a string, a number and a
/// bool; then with two 1 KiB blobs) through both parsers, decoded into a
/// `Value` and encoded from one.
fn msgpack(c: &mut Criterion) {
    use socketwire::socketio::Parser;
    use socketwire::socketio::msgpack::MsgpackPacket;

    let mut group = c.benchmark_group("socketio/msgpack");
    let config = DecoderConfig::default();
    let (_, data) = Packet::decode_value(EVENT_NSP_ACK, &config).unwrap();
    let Some(Value::Array(mut items)) = data else {
        unreachable!("EVENT data is an array")
    };
    let args = items.split_off(1);
    let binary_args = [
        Value::Bytes(Bytes::from(vec![7u8; 1024])),
        Value::Object(vec![
            ("foo".into(), "bar".into()),
            ("file".into(), Value::Bytes(Bytes::from(vec![9u8; 1024]))),
        ]),
    ];
    for (name, args) in [
        ("event_nsp_ack", &args[..]),
        ("two_1k_blobs", &binary_args[..]),
    ] {
        let json = Parser::Json.event("/custom_nsp", "event", args, Some(12));
        let packed = Parser::Msgpack.event("/custom_nsp", "event", args, Some(12));
        let wire = packed.text_bytes().clone();
        assert!(MsgpackPacket::decode(&wire, &config).is_ok());
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_function(format!("msgpack_decode/{name}"), |b| {
            b.iter(|| MsgpackPacket::decode(black_box(&wire), &config).ok())
        });
        group.bench_function(format!("msgpack_encode/{name}"), |b| {
            b.iter(|| Parser::Msgpack.event("/custom_nsp", "event", black_box(args), Some(12)))
        });
        group.throughput(Throughput::Bytes(json.buffered_len() as u64));
        let text = json.text().to_owned();
        let attachments = json.attachments().to_vec();
        assert_eq!(
            attachments.is_empty(),
            !args.iter().any(Value::contains_bytes)
        );
        group.bench_function(format!("json_decode/{name}"), |b| {
            b.iter(|| {
                let mut r = Reassembler::new(config.clone());
                match r.handle_text_value(black_box(&text)).ok()? {
                    (Reassembled::Text(_), data) => data.map(|_| ()),
                    (Reassembled::Pending, _) => {
                        let mut done = None;
                        for attachment in &attachments {
                            done = r.handle_binary(attachment.clone()).ok()?;
                        }
                        done.map(|_| ())
                    }
                    (Reassembled::Binary(_), _) => Some(()),
                }
            })
        });
        group.bench_function(format!("json_encode/{name}"), |b| {
            b.iter(|| Parser::Json.event("/custom_nsp", "event", black_box(args), Some(12)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    header_decode,
    full_decode,
    encode_attachments,
    msgpack
);
criterion_main!(benches);
