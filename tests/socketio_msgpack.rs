//! The socket.io-msgpack-parser format: vectors from the npm encoder, the
//! JSON parser's rules applied to msgpack packets, both sessions speaking it,
//! and properties of the value codec (round trip, bounded decoding).
#![cfg(feature = "msgpack")]

use core::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use socketwire::socketio::msgpack::{
    MsgpackError, MsgpackLimits, MsgpackPacket, decode_value, encode_value,
};
use socketwire::socketio::{
    ApiMisuse, Broadcast, ClientConfig, ClientEvent, ClientSession, CloseReason, DecoderConfig,
    EngineMessage, Error, InvalidPayload, PacketType, Parser, RoomRegistry, ServerConfig,
    ServerEvent, ServerSession, Value,
};

fn hex(text: &str) -> Bytes {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .into()
}

fn json(text: &str) -> Value {
    Value::from_json_str(text).unwrap()
}

fn blob(data: &'static [u8]) -> Value {
    Value::Bytes(Bytes::from_static(data))
}

/// A test vector: name, hex, then the packet's type, namespace, id and data.
type Vector = (
    &'static str,
    &'static str,
    PacketType,
    &'static str,
    Option<u64>,
    Option<Value>,
);

/// socket.io-msgpack-parser 3.0.2 (notepack.io 2.2.0) `new Encoder().encode(p)`
/// in node 20, for the packet objects socket.io-client 4.8.1 and socket.io
/// 4.8.1 build (their own key order, `options` and `undefined` included).
#[test]
fn npm_encoder_vectors() {
    let config = DecoderConfig::default();
    let cases: [Vector; 8] = [
        (
            // client: {type: 2, data: ["hi", <Buffer 01 02 03>, {nested: [<Buffer 04>]}],
            //          options: {compress: true}, id: 0, nsp: "/"}
            "client event with binary and ack",
            "85a47479706502a46461746193a26869c40301020381a66e657374656491c40104a76f7074696f6e7381a8636f6d7072657373c3a2696400a36e7370a12f",
            PacketType::Event,
            "/",
            Some(0),
            Some(Value::Array(vec![
                "hi".into(),
                blob(&[1, 2, 3]),
                Value::Object(vec![("nested".into(), Value::Array(vec![blob(&[4])]))]),
            ])),
        ),
        (
            // client: {type: 0, data: undefined, nsp: "/admin"}
            "client CONNECT without auth",
            "83a47479706500a464617461d40000a36e7370a62f61646d696e",
            PacketType::Connect,
            "/admin",
            None,
            None,
        ),
        (
            // client: {type: 0, data: {token: "123"}, nsp: "/"}
            "client CONNECT with auth",
            "83a47479706500a46461746181a5746f6b656ea3313233a36e7370a12f",
            PacketType::Connect,
            "/",
            None,
            Some(json(r#"{"token":"123"}"#)),
        ),
        (
            // server: {type: 0, data: {sid: "abc", pid: undefined}, nsp: "/"}
            "server CONNECT reply",
            "83a47479706500a46461746182a3736964a3616263a3706964d40000a36e7370a12f",
            PacketType::Connect,
            "/",
            None,
            Some(json(r#"{"sid":"abc"}"#)),
        ),
        (
            // server: {id: 7, type: 3, data: ["ok", 1.5], nsp: "/admin"}
            "server ACK",
            "84a2696407a47479706503a46461746192a26f6bcb3ff8000000000000a36e7370a62f61646d696e",
            PacketType::Ack,
            "/admin",
            Some(7),
            Some(json(r#"["ok",1.5]"#)),
        ),
        (
            // client: {type: 3, id: 7, data: [], nsp: "/"}
            "client ACK",
            "84a47479706503a2696407a46461746190a36e7370a12f",
            PacketType::Ack,
            "/",
            Some(7),
            Some(json("[]")),
        ),
        (
            // server: {type: 4, data: {message: "Invalid namespace"}, nsp: "/x"}
            "CONNECT_ERROR",
            "83a47479706504a46461746181a76d657373616765b1496e76616c6964206e616d657370616365a36e7370a22f78",
            PacketType::ConnectError,
            "/x",
            None,
            Some(json(r#"{"message":"Invalid namespace"}"#)),
        ),
        (
            // {type: 1, nsp: "/"}
            "DISCONNECT",
            "82a47479706501a36e7370a12f",
            PacketType::Disconnect,
            "/",
            None,
            None,
        ),
    ];
    for (name, wire, kind, namespace, id, data) in cases {
        let p =
            MsgpackPacket::decode(&hex(wire), &config).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected = MsgpackPacket {
            kind,
            namespace: namespace.into(),
            id,
            data,
        };
        assert_eq!(p, expected, "{name}");
        // Our encoding (keys type, data, nsp, id) decodes to the same packet.
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(
            MsgpackPacket::decode(&out.into(), &config).as_ref(),
            Ok(&p),
            "{name}"
        );
    }
}

/// Our encoder against socket.io-msgpack-parser 3.0.2 for
/// `{type: 2, data: ["hi", <Buffer 01 02 03>, {nested: [<Buffer 04>]}], nsp: "/", id: 0}`
/// (the keys in our order).
#[test]
fn encoder_matches_npm_bytes() {
    let p = Parser::Msgpack.event(
        "/",
        "hi",
        &[
            blob(&[1, 2, 3]),
            Value::Object(vec![("nested".into(), Value::Array(vec![blob(&[4])]))]),
        ],
        Some(0),
    );
    let messages: Vec<EngineMessage> = p.messages().collect();
    assert_eq!(
        messages,
        [EngineMessage::Binary(hex(
            "84a47479706502a46461746193a26869c40301020381a66e657374656491c40104a36e7370a12fa2696400"
        ))]
    );
    assert_eq!(p.text(), "");
    assert_eq!(p.buffered_len(), p.text_bytes().len());
}

fn packet(pairs: &[(&str, Value)]) -> Bytes {
    let mut out = Vec::new();
    encode_value(
        &Value::Object(
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), v.clone()))
                .collect(),
        ),
        &mut out,
    );
    out.into()
}

/// The rules of the JSON parser, reached through the msgpack decoder.
#[test]
fn json_parser_rules_apply() {
    let v5 = DecoderConfig::default();
    let t = |n: u64| ("type", Value::from(n));
    let nsp = ("nsp", Value::from("/"));
    let cases: [(&str, Bytes, Error); 15] = [
        (
            "not a map",
            hex("92a16101"),
            MsgpackError::NotAPacket.into(),
        ),
        (
            "no type",
            packet(std::slice::from_ref(&nsp)),
            MsgpackError::InvalidPacketType.into(),
        ),
        (
            "type 5",
            packet(&[t(5), ("data", json(r#"["a"]"#)), nsp.clone()]),
            MsgpackError::InvalidPacketType.into(),
        ),
        (
            "type as str",
            packet(&[
                ("type", "2".into()),
                ("data", json(r#"["a"]"#)),
                nsp.clone(),
            ]),
            MsgpackError::InvalidPacketType.into(),
        ),
        (
            "type 1.5",
            packet(&[("type", json("1.5")), nsp.clone()]),
            MsgpackError::InvalidPacketType.into(),
        ),
        (
            "no nsp",
            packet(&[t(1)]),
            MsgpackError::InvalidNamespace.into(),
        ),
        (
            "nsp without /",
            packet(&[t(1), ("nsp", "admin".into())]),
            MsgpackError::InvalidNamespace.into(),
        ),
        (
            "nsp with ,",
            packet(&[t(1), ("nsp", "/a,b".into())]),
            MsgpackError::InvalidNamespace.into(),
        ),
        (
            "reserved event",
            packet(&[t(2), ("data", json(r#"["disconnecting"]"#)), nsp.clone()]),
            InvalidPayload::ReservedEventName.into(),
        ),
        (
            "empty event",
            packet(&[t(2), ("data", json("[]")), nsp.clone()]),
            InvalidPayload::EventEmpty.into(),
        ),
        (
            "event without data",
            packet(&[t(2), nsp.clone()]),
            InvalidPayload::MissingData.into(),
        ),
        (
            "CONNECT with array",
            packet(&[t(0), ("data", json("[]")), nsp.clone()]),
            InvalidPayload::ConnectNotObject.into(),
        ),
        (
            "DISCONNECT with data",
            packet(&[t(1), ("data", json("{}")), nsp.clone()]),
            InvalidPayload::DisconnectWithData.into(),
        ),
        (
            "ack id too big",
            packet(&[
                t(3),
                ("data", json("[]")),
                nsp.clone(),
                ("id", (1u64 << 53).into()),
            ]),
            Error::InvalidAckId,
        ),
        (
            "ACK without id",
            packet(&[t(3), ("data", json("[]")), nsp.clone()]),
            Error::InvalidAckId,
        ),
    ];
    for (name, wire, error) in cases {
        assert_eq!(MsgpackPacket::decode(&wire, &v5), Err(error), "{name}");
    }
    // v4 rules and the lenient flags come from the same config.
    let v4 = DecoderConfig::for_version(socketwire::socketio::SocketIoVersion::V4);
    assert!(
        MsgpackPacket::decode(&packet(&[t(0), ("data", json("[]")), nsp.clone()]), &v4).is_ok()
    );
    let lenient = DecoderConfig::js_compatible();
    assert!(
        MsgpackPacket::decode(
            &packet(&[t(3), ("data", json("[]")), nsp.clone()]),
            &lenient
        )
        .is_ok()
    );
    // An id on CONNECT, negative or fractional ids.
    for id in [json("1"), json("-1"), json("1.5"), Value::Null] {
        let wire = packet(&[t(0), nsp.clone(), ("id", id.clone())]);
        assert_eq!(
            MsgpackPacket::decode(&wire, &v5),
            Err(Error::InvalidAckId),
            "{id:?}"
        );
    }
    // Unknown keys are ignored; of a repeated key the last counts.
    let wire = packet(&[
        t(1),
        ("type", 2u64.into()),
        ("data", json(r#"["a"]"#)),
        ("x", 1u64.into()),
        nsp,
    ]);
    assert_eq!(
        MsgpackPacket::decode(&wire, &v5).unwrap().kind,
        PacketType::Event
    );
}

fn msgpack_server() -> ServerSession {
    let config = ServerConfig {
        parser: Parser::Msgpack,
        ..ServerConfig::default()
    };
    ServerSession::new(config, Duration::ZERO)
}

fn binary(message: EngineMessage) -> Bytes {
    match message {
        EngineMessage::Binary(bytes) => bytes,
        EngineMessage::Text(text) => panic!("text message {text:?}"),
    }
}

/// A server and a client session both speaking msgpack, connected through
/// their message queues.
#[test]
fn sessions_speak_msgpack() {
    let now = Duration::ZERO;
    let mut server = msgpack_server();
    let mut client = ClientSession::new(ClientConfig {
        parser: Parser::Msgpack,
        ..ClientConfig::default()
    });
    let pump = |from: &mut dyn FnMut() -> Option<EngineMessage>,
                to: &mut dyn FnMut(EngineMessage)| {
        for _ in 0..100 {
            let Some(m) = from() else { return };
            let _ = binary(m.clone());
            to(m);
        }
    };
    client
        .connect("/admin", Some(json(r#"{"token":"t"}"#)))
        .unwrap();
    pump(&mut || client.poll_message(), &mut |m| {
        server.handle_message(m, now).unwrap()
    });
    let Some(ServerEvent::Connect { namespace, auth }) = server.poll_event() else {
        panic!("no CONNECT")
    };
    assert_eq!(
        (namespace.as_str(), auth),
        ("/admin", json(r#"{"token":"t"}"#))
    );
    server.accept("/admin", "sid-1").unwrap();
    server
        .emit("/admin", "bin", vec![blob(&[1, 2]), json(r#"{"a":[1]}"#)])
        .unwrap();
    let id = server.emit_with_ack("/admin", "ask", vec![], now).unwrap();
    pump(&mut || server.poll_message(), &mut |m| {
        client.handle_message(m, now).unwrap()
    });
    assert!(
        matches!(client.poll_event(), Some(ClientEvent::Connected { namespace, .. }) if namespace == "/admin")
    );
    let Some(ClientEvent::Event { name, args, .. }) = client.poll_event() else {
        panic!()
    };
    assert_eq!(
        (name.as_str(), args),
        ("bin", vec![blob(&[1, 2]), json(r#"{"a":[1]}"#)])
    );
    let Some(ClientEvent::Event {
        name,
        ack_id: Some(ack),
        ..
    }) = client.poll_event()
    else {
        panic!()
    };
    assert_eq!((name.as_str(), ack), ("ask", id));
    client.ack("/admin", ack, vec![blob(&[9])]).unwrap();
    pump(&mut || client.poll_message(), &mut |m| {
        server.handle_message(m, now).unwrap()
    });
    assert_eq!(
        server.poll_event(),
        Some(ServerEvent::Ack {
            namespace: "/admin".into(),
            id,
            args: vec![blob(&[9])]
        })
    );
}

/// A broadcast is encoded once in the session's format; a packet of the
/// other format is refused.
#[test]
fn broadcasts_in_msgpack() {
    let now = Duration::ZERO;
    let mut server = msgpack_server();
    server
        .handle_message(
            EngineMessage::Binary(packet(&[("type", 0u64.into()), ("nsp", "/".into())])),
            now,
        )
        .unwrap();
    server.accept("/", "a").unwrap();
    let _ = server.poll_message();
    let mut rooms = RoomRegistry::new();
    rooms.add_socket("/", 1u32);
    let out = rooms.broadcast_encoded(
        &Broadcast::all(),
        Parser::Msgpack.event("/", "b", &[], None),
    );
    assert_eq!(out.recipients, [1]);
    server.send_encoded(&out.packet).unwrap();
    assert_eq!(
        server.poll_message().map(binary),
        Some(out.packet.text_bytes().clone())
    );
    let json_packet = Parser::Json.event("/", "b", &[], None);
    assert_eq!(
        server.send_encoded(&json_packet),
        Err(ApiMisuse::ParserMismatch)
    );
}

/// Text under msgpack, too deep a nesting and bad msgpack each close the
/// session with a peer error.
#[test]
fn peer_errors_close_the_session() {
    let now = Duration::ZERO;
    let mut deep = vec![
        0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa3, b'n', b's', b'p', 0xa1, b'/', 0xa4, b'd',
        b'a', b't', b'a',
    ];
    deep.extend(std::iter::repeat_n(0x91, 10_000));
    deep.push(0xc0);
    let cases: [(EngineMessage, Error); 4] = [
        (
            EngineMessage::Text(Bytes::from_static(b"0")),
            MsgpackError::TextMessage.into(),
        ),
        (
            EngineMessage::Binary(deep.into()),
            MsgpackError::TooDeep { max: 32 }.into(),
        ),
        (
            EngineMessage::Binary(hex("c1")),
            MsgpackError::ReservedMarker.into(),
        ),
        (
            EngineMessage::Binary(hex("dd7fffffff")),
            MsgpackError::LengthExceedsInput.into(),
        ),
    ];
    for (message, error) in cases {
        let mut server = msgpack_server();
        assert_eq!(server.handle_message(message, now), Err(error.clone()));
        assert_eq!(
            server.poll_event(),
            Some(ServerEvent::Close(CloseReason::ProtocolError(error)))
        );
    }
}

/// Values the codec must round-trip: floats with a fraction (integral floats
/// come back as integers, as in JS), everything else as generated.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        (i64::MIN..0).prop_map(Value::from),
        (-1e15f64..1e15).prop_map(|f| {
            let f = f.trunc() + 0.5;
            Value::Number(serde_json::Number::from_f64(f).unwrap())
        }),
        ".{0,40}".prop_map(Value::String),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| Value::Bytes(b.into())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((".{0,8}", inner), 0..8).prop_map(Value::Object),
        ]
    })
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(pairs) => 1 + pairs.iter().map(|(_, v)| depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn round_trip(v in value()) {
        let mut out = Vec::new();
        encode_value(&v, &mut out);
        prop_assert_eq!(decode_value(&out.into(), &MsgpackLimits::default()), Ok(v));
    }

    /// Any bytes: no panic, the depth stays within the limit, and what was
    /// decoded encodes and decodes again.
    #[test]
    fn arbitrary_bytes_are_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..512), max_depth in 0usize..6) {
        let limits = MsgpackLimits { max_depth };
        if let Ok(v) = decode_value(&bytes.into(), &limits) {
            prop_assert!(depth(&v) <= max_depth);
            let mut out = Vec::new();
            encode_value(&v, &mut out);
            prop_assert!(decode_value(&out.into(), &limits).is_ok());
        }
    }

    /// Arbitrary bytes as a packet under both sessions: no panic.
    #[test]
    fn arbitrary_packets(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = MsgpackPacket::decode(&bytes.clone().into(), &DecoderConfig::default());
        let mut server = msgpack_server();
        let _ = server.handle_message(EngineMessage::Binary(bytes.into()), Duration::ZERO);
    }
}
