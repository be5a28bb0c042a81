//! Property tests: packet round trip, attachment round trip, attachment order
//! independence, and "never panics" on arbitrary input.
#![cfg(feature = "json")]

use bytes::Bytes;
use proptest::prelude::*;
use socketwire::socketio::{
    DecoderConfig, EncodedPacket, Packet, PacketType, Reassembled, Reassembler, Value,
};

fn value_without_bytes() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..4).prop_map(Value::Object),
        ]
    })
}

fn value_with_bytes() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        "[a-zé€😀\u{1e}]{0,6}".prop_map(Value::from),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| Value::Bytes(Bytes::from(b))),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,4}", inner), 0..4).prop_map(Value::Object),
        ]
    })
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![Just("/".to_string()), "/[a-z0-9?=&]{1,8}"]
}

fn count_bytes(v: &Value) -> usize {
    match v {
        Value::Bytes(_) => 1,
        Value::Array(items) => items.iter().map(count_bytes).sum(),
        Value::Object(pairs) => pairs.iter().map(|(_, v)| count_bytes(v)).sum(),
        _ => 0,
    }
}

/// Replaces the i-th blob (depth-first) by a placeholder numbered `order[i]`.
fn renumber(v: &Value, order: &[usize], next: &mut usize) -> Value {
    match v {
        Value::Bytes(_) => {
            let num = order[*next];
            *next += 1;
            Value::Object(vec![
                ("_placeholder".into(), true.into()),
                ("num".into(), (num as u64).into()),
            ])
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|x| renumber(x, order, next)).collect())
        }
        Value::Object(pairs) => Value::Object(
            pairs
                .iter()
                .map(|(k, x)| (k.clone(), renumber(x, order, next)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn unlimited() -> DecoderConfig {
    DecoderConfig {
        max_attachments: 1000,
        ..Default::default()
    }
}

/// Feeds a header and attachments; returns the restored data.
fn reassemble(header: &str, attachments: &[Bytes]) -> Value {
    let mut r = Reassembler::new(unlimited());
    match r.handle_text(header).unwrap() {
        Reassembled::Text(p) => return p.data_value().unwrap().unwrap(),
        Reassembled::Binary(p) => return p.data,
        Reassembled::Pending => {}
    }
    let mut out = None;
    for a in attachments {
        out = r.handle_binary(a.clone()).unwrap();
    }
    out.expect("complete").data
}

proptest! {
    #[test]
    fn packet_round_trip(
        kind in 0u8..5,
        ns in namespace(),
        id in proptest::option::of(0u64..=socketwire::socketio::MAX_ACK_ID),
        args in prop::collection::vec(value_without_bytes(), 0..4),
    ) {
        let kind = PacketType::from_digit(b'0' + kind).unwrap();
        let (id, data) = match kind {
            PacketType::Connect => (None, Some(Value::Object(vec![("a".into(), Value::Array(args))]))),
            PacketType::Disconnect => (None, None),
            PacketType::Event => (id, Some(Value::Array([vec!["ev".into()], args].concat()))),
            PacketType::Ack => (Some(id.unwrap_or(0)), Some(Value::Array(args))),
            _ => (None, Some(Value::from("oops"))),
        };
        let encoded = EncodedPacket::new(kind, &ns, id, data.as_ref());
        let p = Packet::decode(encoded.text(), &DecoderConfig::default()).unwrap();
        prop_assert_eq!(p.kind, kind);
        prop_assert_eq!(p.namespace, ns.as_str());
        prop_assert_eq!(p.id, id);
        prop_assert_eq!(p.data_value().transpose().unwrap(), data);
        let mut again = String::new();
        p.encode(&mut again);
        prop_assert_eq!(again.as_str(), encoded.text());
        prop_assert_eq!(p.encoded_len(), again.len());
    }

    #[test]
    fn attachment_round_trip(ns in namespace(), args in prop::collection::vec(value_with_bytes(), 0..4), id in proptest::option::of(0u64..1000)) {
        let encoded = EncodedPacket::event(&ns, "ev", &args, id);
        let n = args.iter().map(count_bytes).sum::<usize>();
        prop_assert_eq!(encoded.attachments().len(), n);
        let restored = reassemble(encoded.text(), encoded.attachments());
        prop_assert_eq!(restored, Value::Array([vec!["ev".into()], args].concat()));
    }

    #[test]
    fn attachment_order_independence(
        args in prop::collection::vec(value_with_bytes(), 1..4),
        seed in any::<u64>(),
    ) {
        let data = Value::Array([vec!["ev".into()], args].concat());
        let blobs = {
            let encoded = EncodedPacket::new(PacketType::Event, "/", None, Some(&data));
            encoded.attachments().to_vec()
        };
        let n = blobs.len();
        // A permutation from the seed (Fisher–Yates with a tiny LCG).
        let mut order: Vec<usize> = (0..n).collect();
        let mut state = seed;
        for i in (1..n).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (state >> 33) as usize % (i + 1));
        }
        // Blob i travels in position order[i]; its placeholder says num order[i].
        let mut sent = vec![Bytes::new(); n];
        for (i, blob) in blobs.iter().enumerate() {
            sent[order[i]] = blob.clone();
        }
        let header_data = renumber(&data, &order, &mut 0);
        let header = if n == 0 {
            format!("2{}", header_data.to_json_string())
        } else {
            format!("5{n}-{}", header_data.to_json_string())
        };
        prop_assert_eq!(reassemble(&header, &sent), data);
    }

    /// A JSON number parses to the nearest double, as `JSON.parse` does
    /// (ECMAScript's Number value for a numeric literal), however many digits it
    /// has, and what is encoded again parses to the same value.
    #[test]
    fn json_numbers_parse_correctly_rounded(
        int in "[1-9][0-9]{0,60}",
        frac in proptest::option::of("[0-9]{1,30}"),
        exp in proptest::option::of(-330i32..330),
    ) {
        let mut text = int;
        if let Some(frac) = frac {
            text = format!("{text}.{frac}");
        }
        if let Some(exp) = exp {
            text = format!("{text}e{exp}");
        }
        let nearest: f64 = text.parse().unwrap();
        prop_assume!(nearest.is_finite());
        let value = Value::from_json_str(&text).unwrap();
        let parsed: f64 = value.deserialize_into().unwrap();
        prop_assert_eq!(parsed.to_bits(), nearest.to_bits(), "{}", text);
        prop_assert_eq!(Value::from_json_str(&value.to_json_string()).unwrap(), value);
    }

    #[test]
    fn decode_never_panics(text in ".{0,40}") {
        for config in [DecoderConfig::default(), DecoderConfig::js_compatible()] {
            // The one-parse path accepts exactly what the streaming validator accepts.
            let streaming = Packet::decode(&text, &config);
            let one_parse = Packet::decode_value(&text, &config);
            prop_assert_eq!(streaming.clone().err(), one_parse.clone().err());
            if let (Ok(p), Ok((q, data))) = (&streaming, &one_parse) {
                prop_assert_eq!(p, q);
                prop_assert_eq!(p.data_value().transpose().unwrap(), data.clone());
            }
            if let Ok(p) = Packet::decode(&text, &config) {
                let mut out = String::new();
                p.encode(&mut out);
                prop_assert_eq!(p.encoded_len(), out.len());
            }
        }
    }

    #[test]
    fn structured_headers_never_panic(
        kind in 0u8..8,
        count in "[0-9]{0,3}-?",
        ns in "(/[a-z,]{0,4},?)?",
        id in "[0-9 ]{0,4}",
        data in prop_oneof![Just(String::new()), Just("[\"a\"]".to_string()), Just("{}".to_string()), ".{0,6}"],
    ) {
        let text = format!("{kind}{count}{ns}{id}{data}");
        for config in [DecoderConfig::default(), DecoderConfig::js_compatible()] {
            let streaming = Packet::decode(&text, &config).err();
            prop_assert_eq!(streaming, Packet::decode_value(&text, &config).err());
        }
        let mut r = Reassembler::new(DecoderConfig::default());
        let _ = r.handle_text(&text);
        let _ = r.handle_binary(Bytes::from_static(&[1]));
    }
}

/// The recipients of a broadcast against a set-based oracle: every socket once,
/// in socket order, whatever rooms it is in, whichever rooms are named (one,
/// several, repeated, missing) and which are excepted.
mod recipients {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use socketwire::socketio::{Broadcast, RoomRegistry};

    const ROOMS: [&str; 4] = ["a", "b", "c", "d"];

    proptest! {
        #[test]
        fn match_the_oracle(
            memberships in prop::collection::vec((0u16..40, 0usize..4), 0..120),
            lone in prop::collection::vec(0u16..40, 0..8),
            to in prop::collection::vec(0usize..5, 0..4),
            except in prop::collection::vec(0usize..5, 0..2),
            except_socket in prop::option::of(0u16..40),
        ) {
            let mut registry = RoomRegistry::new();
            for &(socket, room) in &memberships {
                registry.join("/", socket, ROOMS[room]).unwrap();
            }
            for &socket in &lone {
                registry.add_socket("/", socket);
            }
            // Index 4 names a room nobody joined.
            let name = |i: usize| ROOMS.get(i).copied().unwrap_or("nobody");
            let mut target = Broadcast::all();
            for &room in &to {
                target = target.to(name(room));
            }
            for &room in &except {
                target = target.except(name(room));
            }
            if let Some(socket) = except_socket {
                target = target.except_socket(socket);
            }
            let in_room = |socket: u16, room: &str| {
                memberships.iter().any(|&(s, r)| s == socket && ROOMS[r] == room)
            };
            let all: BTreeSet<u16> = memberships.iter().map(|&(s, _)| s).chain(lone.iter().copied()).collect();
            let expected: Vec<u16> = all
                .into_iter()
                .filter(|&s| to.is_empty() || to.iter().any(|&r| in_room(s, name(r))))
                .filter(|&s| !except.iter().any(|&r| in_room(s, name(r))))
                .filter(|&s| except_socket != Some(s))
                .collect();
            prop_assert_eq!(registry.recipients("/", &target), expected);
        }
    }
}
