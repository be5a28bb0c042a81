//! Socket.IO vectors S1–S30, X1–X20 and Q1–Q10 of
//! protocol/engineio-socketio.md §3.2–§3.4, one test per vector.
#![cfg(feature = "json")]

use bytes::Bytes;
use core::time::Duration;
use socketwire::socketio::{
    BinaryPacket, DecoderConfig, EncodedPacket, EngineMessage, Error, InvalidPayload, Packet,
    PacketType, Reassembled, Reassembler, ServerConfig, ServerEvent, ServerSession,
    SocketIoVersion, Value,
};

fn v5() -> DecoderConfig {
    DecoderConfig::default()
}

fn v4() -> DecoderConfig {
    DecoderConfig::for_version(SocketIoVersion::V4)
}

fn dec(text: &str) -> Result<Packet<'_>, Error> {
    Packet::decode(text, &v5())
}

fn invalid(reason: InvalidPayload) -> Result<Packet<'static>, Error> {
    Err(Error::InvalidPayload(reason))
}

fn reassemble(
    config: DecoderConfig,
    header: &str,
    attachments: &[&'static [u8]],
) -> Result<BinaryPacket, Error> {
    let mut r = Reassembler::new(config);
    match r.handle_text(header)? {
        Reassembled::Pending => {}
        Reassembled::Binary(p) => return Ok(p),
        Reassembled::Text(_) => panic!("not a binary packet"),
    }
    for (i, a) in attachments.iter().enumerate() {
        if let Some(p) = r.handle_binary(Bytes::from_static(a))? {
            assert_eq!(i + 1, attachments.len(), "completed early");
            return Ok(p);
        }
    }
    panic!("incomplete")
}

fn json(v: &Value) -> String {
    v.to_json_string()
}

fn bytes_at(p: &BinaryPacket, i: usize) -> &[u8] {
    p.data.as_array().unwrap()[i].as_bytes().unwrap()
}

/// A v5 server session with `/` connected and its output drained.
fn connected_server(version: SocketIoVersion) -> ServerSession {
    let config = ServerConfig {
        decoder: DecoderConfig::for_version(version),
        ..Default::default()
    };
    let mut s = ServerSession::new(config, Duration::ZERO);
    if version == SocketIoVersion::V5 {
        s.handle_text("0", Duration::ZERO).unwrap();
    }
    assert!(matches!(s.poll_event(), Some(ServerEvent::Connect { .. })));
    s.accept("/", "sid").unwrap();
    while s.poll_message().is_some() {}
    s
}

fn drain(s: &mut ServerSession) -> Vec<EngineMessage> {
    std::iter::from_fn(|| s.poll_message()).collect()
}

fn text(m: &EngineMessage) -> &str {
    m.as_text().expect("text message")
}

/// Runs the conformance-suite echo logic on every pending event.
fn echo(s: &mut ServerSession) {
    while let Some(event) = s.poll_event() {
        if let ServerEvent::Event {
            namespace,
            name,
            args,
            ack_id,
        } = event
        {
            match (name.as_str(), ack_id) {
                ("message", _) => s.emit(&namespace, "message-back", args).unwrap(),
                ("message-with-ack", Some(id)) => s.ack(&namespace, id, args).unwrap(),
                _ => {}
            }
        }
    }
}

#[test]
fn s1_connect_root() {
    let p = dec("0").unwrap();
    assert_eq!(
        (p.kind, p.namespace, p.id, p.data),
        (PacketType::Connect, "/", None, None)
    );
}

#[test]
fn s2_connect_namespace_comma_optional() {
    for text in ["0/admin,", "0/admin"] {
        let p = dec(text).unwrap();
        assert_eq!(
            (p.kind, p.namespace, p.data),
            (PacketType::Connect, "/admin", None)
        );
    }
}

#[test]
fn s3_connect_with_auth() {
    let p = dec(r#"0{"token":"123"}"#).unwrap();
    assert_eq!(p.namespace, "/");
    assert_eq!(p.data, Some(r#"{"token":"123"}"#));
}

#[test]
fn s4_server_connect_reply() {
    let p = dec(r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#).unwrap();
    assert_eq!(p.namespace, "/admin");
    let sid = p.data_value().unwrap().unwrap();
    assert_eq!(
        sid.get("sid").and_then(Value::as_str),
        Some("oSO0OpakMV_3jnilAAAA")
    );
    let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    s.handle_text("0/admin,", Duration::ZERO).unwrap();
    s.accept("/admin", "oSO0OpakMV_3jnilAAAA").unwrap();
    assert_eq!(
        text(&drain(&mut s)[0]),
        r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#
    );
}

#[test]
fn s5_disconnect() {
    assert_eq!(dec("1").unwrap().namespace, "/");
    let p = dec("1/admin,").unwrap();
    assert_eq!((p.kind, p.namespace), (PacketType::Disconnect, "/admin"));
}

#[test]
fn s6_event() {
    let p = dec(r#"2["foo"]"#).unwrap();
    assert_eq!((p.kind, p.data), (PacketType::Event, Some(r#"["foo"]"#)));
}

#[test]
fn s7_event_namespace_and_id() {
    let p = dec(r#"2/admin,456["project:delete",123]"#).unwrap();
    assert_eq!((p.namespace, p.id), ("/admin", Some(456)));
    let (name, n): (String, u32) = p.data_as().unwrap().unwrap();
    assert_eq!((name.as_str(), n), ("project:delete", 123));
}

#[test]
fn s8_event_with_id() {
    let p = dec(r#"212["foo"]"#).unwrap();
    assert_eq!((p.id, p.data), (Some(12), Some(r#"["foo"]"#)));
}

#[test]
fn s9_numeric_event_name() {
    assert!(dec(r#"2[1,"a"]"#).is_ok());
    let mut s = connected_server(SocketIoVersion::V5);
    s.handle_text(r#"2[1,"a"]"#, Duration::ZERO).unwrap();
    assert!(
        matches!(s.poll_event(), Some(ServerEvent::Event { name, args, .. }) if name == "1" && args == ["a".into()])
    );
}

#[test]
fn s10_ack() {
    let p = dec(r#"3/admin,13["bar"]"#).unwrap();
    assert_eq!(
        (p.kind, p.namespace, p.id),
        (PacketType::Ack, "/admin", Some(13))
    );
    let p = dec("312[]").unwrap();
    assert_eq!((p.id, p.data), (Some(12), Some("[]")));
}

#[test]
fn s11_connect_error() {
    let p = dec(r#"4{"message":"Not authorized"}"#).unwrap();
    assert_eq!(p.kind, PacketType::ConnectError);
}

#[test]
fn s12_v4_error_string_payload() {
    for config in [v5(), v4()] {
        let p = Packet::decode(r#"4/admin,"Not authorized""#, &config).unwrap();
        assert_eq!(
            (p.kind, p.namespace, p.data),
            (
                PacketType::ConnectError,
                "/admin",
                Some(r#""Not authorized""#)
            )
        );
    }
}

#[test]
fn s13_binary_event() {
    let header = r#"51-["baz",{"_placeholder":true,"num":0}]"#;
    let p = reassemble(v5(), header, &[&[1, 2, 3, 4]]).unwrap();
    assert_eq!(p.kind, PacketType::Event);
    assert_eq!(p.data.as_array().unwrap()[0].as_str(), Some("baz"));
    assert_eq!(bytes_at(&p, 1), [1, 2, 3, 4]);
    let p = reassemble(v4(), header, &[&[1, 2, 3, 4]]).unwrap();
    assert_eq!(p.kind, PacketType::BinaryEvent);
}

#[test]
fn s14_two_attachments() {
    let header = r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let p = reassemble(v5(), header, &[&[1, 2], &[3, 4]]).unwrap();
    assert_eq!(p.namespace, "/admin");
    assert_eq!(
        (bytes_at(&p, 1), bytes_at(&p, 2)),
        (&[1, 2][..], &[3, 4][..])
    );
}

#[test]
fn s15_reconstruction_by_num() {
    let header = r#"52-/admin,["baz",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#;
    let p = reassemble(v5(), header, &[&[1, 2], &[3, 4]]).unwrap();
    assert_eq!(
        (bytes_at(&p, 1), bytes_at(&p, 2)),
        (&[3, 4][..], &[1, 2][..])
    );
}

#[test]
fn s16_binary_ack() {
    let p = reassemble(
        v5(),
        r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3, 4]],
    )
    .unwrap();
    assert_eq!((p.kind, p.id), (PacketType::Ack, Some(15)));
    assert_eq!(bytes_at(&p, 1), [1, 2, 3, 4]);
}

#[test]
fn s17_encode_binary_event_order() {
    let p = EncodedPacket::event(
        "/admin",
        "foo",
        &[Value::Bytes(Bytes::from_static(&[1, 2, 3]))],
        Some(7),
    );
    assert_eq!(
        p.text(),
        r#"51-/admin,7["foo",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(p.attachments(), [Bytes::from_static(&[1, 2, 3])]);
}

#[test]
fn s18_encode_dfs_numbering() {
    let args = [
        Value::Bytes(Bytes::from_static(&[1])),
        Value::Object(vec![("a".into(), Value::Bytes(Bytes::from_static(&[2])))]),
    ];
    let p = EncodedPacket::ack("/", 7, &args);
    assert_eq!(
        p.text(),
        r#"62-7[{"_placeholder":true,"num":0},{"a":{"_placeholder":true,"num":1}}]"#
    );
    assert_eq!(
        p.attachments(),
        [Bytes::from_static(&[1]), Bytes::from_static(&[2])]
    );
}

#[test]
fn s19_encode_escapes_record_separator() {
    let p = EncodedPacket::new(
        PacketType::Event,
        "/",
        None,
        Some(&Value::Array(vec!["é€😀".into(), "\u{1e}".into()])),
    );
    assert_eq!(p.text(), "2[\"é€😀\",\"\\u001e\"]");
}

#[test]
fn s20_binary_echo() {
    let mut s = connected_server(SocketIoVersion::V5);
    s.handle_text(
        r#"52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        Duration::ZERO,
    )
    .unwrap();
    s.handle_binary(Bytes::from_static(&[1, 2, 3]), Duration::ZERO)
        .unwrap();
    s.handle_binary(Bytes::from_static(&[4, 5, 6]), Duration::ZERO)
        .unwrap();
    echo(&mut s);
    let out = drain(&mut s);
    assert_eq!(
        text(&out[0]),
        r#"52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        out[1],
        EngineMessage::Binary(Bytes::from_static(&[1, 2, 3]))
    );
    assert_eq!(
        out[2],
        EngineMessage::Binary(Bytes::from_static(&[4, 5, 6]))
    );
}

#[test]
fn s21_binary_ack_echo() {
    let mut s = connected_server(SocketIoVersion::V5);
    s.handle_text(
        r#"52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        Duration::ZERO,
    )
    .unwrap();
    s.handle_binary(Bytes::from_static(&[1, 2, 3]), Duration::ZERO)
        .unwrap();
    s.handle_binary(Bytes::from_static(&[4, 5, 6]), Duration::ZERO)
        .unwrap();
    echo(&mut s);
    let out = drain(&mut s);
    assert_eq!(
        text(&out[0]),
        r#"62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(out.len(), 3);
}

#[test]
fn s22_ack_echo() {
    let mut s = connected_server(SocketIoVersion::V5);
    s.handle_text(
        r#"2456["message-with-ack",1,"2",{"3":[false]}]"#,
        Duration::ZERO,
    )
    .unwrap();
    echo(&mut s);
    assert_eq!(text(&drain(&mut s)[0]), r#"3456[1,"2",{"3":[false]}]"#);
}

#[test]
fn s23_ack_and_binary_ack_from_polling_body() {
    // The Engine.IO layer splits `4312[…]\x1e461-13[…]\x1ebAQID` into these messages.
    let mut r = Reassembler::new(v5());
    let Reassembled::Text(p) = r.handle_text(r#"312[1,{"a":[2]}]"#).unwrap() else {
        panic!()
    };
    assert_eq!((p.kind, p.id), (PacketType::Ack, Some(12)));
    assert_eq!(
        r.handle_text(r#"61-13[{"_placeholder":true,"num":0}]"#)
            .unwrap(),
        Reassembled::Pending
    );
    let p = r
        .handle_binary(Bytes::from_static(&[1, 2, 3]))
        .unwrap()
        .unwrap();
    assert_eq!((p.kind, p.id), (PacketType::Ack, Some(13)));
    assert_eq!(bytes_at(&p, 0), [1, 2, 3]);
}

#[test]
fn s24_v4_binary_ack_over_v3_polling() {
    let p = reassemble(
        v4(),
        r#"61-5[{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3]],
    )
    .unwrap();
    assert_eq!((p.kind, p.id), (PacketType::BinaryAck, Some(5)));
    assert_eq!(bytes_at(&p, 0), [1, 2, 3]);
}

#[test]
fn s25_v4_binary_ack_xhr2_payload() {
    // Same Socket.IO content as S24; the XHR2 framing is the Engine.IO layer's.
    let p = reassemble(
        v4(),
        r#"61-5[{"_placeholder":true,"num":0}]"#,
        &[&[1, 2, 3]],
    )
    .unwrap();
    assert_eq!(bytes_at(&p, 0), [1, 2, 3]);
}

#[test]
fn s26_v4_attachments_over_eio3_websocket() {
    // The EIO3 layer strips the `04` type byte; this layer sees `01 02 03`.
    let mut s = connected_server(SocketIoVersion::V4);
    s.handle_text(
        r#"51-["message",{"_placeholder":true,"num":0}]"#,
        Duration::ZERO,
    )
    .unwrap();
    s.handle_binary(Bytes::from_static(&[1, 2, 3]), Duration::ZERO)
        .unwrap();
    echo(&mut s);
    let out = drain(&mut s);
    assert_eq!(
        text(&out[0]),
        r#"51-["message-back",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(
        out[1],
        EngineMessage::Binary(Bytes::from_static(&[1, 2, 3]))
    );
}

#[test]
fn s27_v4_query_auth() {
    let mut s = connected_server(SocketIoVersion::V4);
    s.handle_text("0/admin?token=abc&x=1,", Duration::ZERO)
        .unwrap();
    let Some(ServerEvent::Connect { namespace, auth }) = s.poll_event() else {
        panic!()
    };
    assert_eq!(namespace, "/admin");
    assert_eq!(json(&auth), r#"{"token":"abc","x":"1"}"#);
    s.accept(&namespace, "ignored-in-v4").unwrap();
    assert_eq!(text(&drain(&mut s)[0]), "0/admin,");
}

#[test]
fn s28_refusal_with_data() {
    for (version, expected) in [
        (
            SocketIoVersion::V5,
            r#"4/secret,{"message":"Not authorized","data":{"code":42}}"#,
        ),
        (SocketIoVersion::V4, r#"4/secret,{"code":42}"#),
    ] {
        let mut s = connected_server(version);
        s.handle_text("0/secret,", Duration::ZERO).unwrap();
        let data = Value::from_json_str(r#"{"code":42}"#).unwrap();
        s.refuse("/secret", "Not authorized", Some(data)).unwrap();
        assert_eq!(text(&drain(&mut s)[0]), expected);
    }
}

#[test]
fn s29_invalid_namespace() {
    let mut s = connected_server(SocketIoVersion::V5);
    s.handle_text("0/random,", Duration::ZERO).unwrap();
    s.refuse("/random", "Invalid namespace", None).unwrap();
    assert_eq!(
        text(&drain(&mut s)[0]),
        r#"4/random,{"message":"Invalid namespace"}"#
    );
}

#[test]
fn s30_v4_encode_error_packet() {
    for config in [v5(), v4()] {
        let p = Packet::decode(r#"4"encode error""#, &config).unwrap();
        assert_eq!(p.data_as::<String>().unwrap().unwrap(), "encode error");
    }
}

#[test]
fn x1_connect_array_or_null() {
    for text in ["0[]", "0null"] {
        assert_eq!(dec(text), invalid(InvalidPayload::ConnectNotObject));
        assert!(Packet::decode(text, &v4()).is_ok());
    }
}

#[test]
fn x2_connect_string() {
    assert_eq!(dec(r#"0"str""#), invalid(InvalidPayload::ConnectNotObject));
    assert!(Packet::decode(r#"0"str""#, &v4()).is_err());
}

#[test]
fn x3_disconnect_with_data() {
    assert_eq!(dec("1{}"), invalid(InvalidPayload::DisconnectWithData));
}

#[test]
fn x4_event_shapes() {
    assert_eq!(dec("2[]"), invalid(InvalidPayload::EventEmpty));
    assert_eq!(dec("2{}"), invalid(InvalidPayload::EventNotArray));
    assert_eq!(dec(r#"2"foo""#), invalid(InvalidPayload::EventNotArray));
    assert_eq!(dec("2[true]"), invalid(InvalidPayload::EventNameNotString));
    assert_eq!(dec("2[null]"), invalid(InvalidPayload::EventNameNotString));
}

#[test]
fn x5_reserved_event_names() {
    for name in [
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    ] {
        let text = format!(r#"2["{name}"]"#);
        assert_eq!(dec(&text), invalid(InvalidPayload::ReservedEventName));
        assert!(Packet::decode(&text, &v4()).is_ok());
    }
}

#[test]
fn x6_invalid_ack_id() {
    assert_eq!(dec(r#"2abc["a"]"#), invalid(InvalidPayload::InvalidJson));
}

#[test]
fn x7_unknown_type_letter() {
    let e = dec("abc").unwrap_err();
    assert_eq!(e, Error::UnknownPacketType(Some(b'a')));
    assert_eq!(e.js_message(), "unknown packet type");
}

#[test]
fn x8_unknown_type_digit() {
    assert_eq!(dec("7"), Err(Error::UnknownPacketType(Some(b'7'))));
    assert_eq!(dec("999"), Err(Error::UnknownPacketType(Some(b'9'))));
}

#[test]
fn x9_illegal_attachments() {
    for text in ["5", "51", "5a-", "51.23-"] {
        let e = dec(text).unwrap_err();
        assert_eq!(e, Error::IllegalAttachments, "{text}");
        assert_eq!(e.js_message(), "Illegal attachments");
    }
}

#[test]
fn x10_too_many_attachments() {
    let e = dec(r#"511-["a"]"#).unwrap_err();
    assert_eq!(e, Error::TooManyAttachments { max: 10 });
    assert_eq!(e.js_message(), "too many attachments");
}

#[test]
fn x11_zero_attachments() {
    for text in [r#"50-["a"]"#, r#"5-["a"]"#, "60-[]"] {
        assert_eq!(dec(text), Err(Error::IllegalAttachments), "{text}");
    }
    let lenient = DecoderConfig::js_compatible();
    let p = reassemble(lenient.clone(), r#"50-["a"]"#, &[]).unwrap();
    assert_eq!(
        (p.kind, json(&p.data).as_str()),
        (PacketType::Event, r#"["a"]"#)
    );
    assert_eq!(
        Packet::decode(r#"5-["a"]"#, &lenient),
        Err(Error::IllegalAttachments)
    );
}

#[test]
fn x12_placeholder_num_not_a_number() {
    let e = reassemble(v5(), r#"51-["a",{"_placeholder":true,"num":"0"}]"#, &[&[1]]).unwrap_err();
    assert_eq!(e, Error::IllegalPlaceholder);
    assert_eq!(e.js_message(), "illegal attachments");
}

#[test]
fn x13_placeholder_num_out_of_range() {
    let e = reassemble(v5(), r#"51-["a",{"_placeholder":true,"num":1}]"#, &[&[1]]).unwrap_err();
    assert_eq!(e, Error::IllegalPlaceholder);
}

#[test]
fn x14_plaintext_while_reconstructing() {
    let mut r = Reassembler::new(v5());
    r.handle_text(r#"51-["a",{"_placeholder":true,"num":0}]"#)
        .unwrap();
    let e = r.handle_text(r#"2["b"]"#).unwrap_err();
    assert_eq!(
        e.js_message(),
        "got plaintext data when reconstructing a packet"
    );
    assert!(!r.is_reconstructing());
}

#[test]
fn x15_binary_while_idle() {
    let mut r = Reassembler::new(v5());
    let e = r.handle_binary(Bytes::from_static(&[1])).unwrap_err();
    assert_eq!(
        e.js_message(),
        "got binary data when not reconstructing a packet"
    );
}

#[test]
fn x16_broken_json() {
    // Strict: an id on CONNECT_ERROR is refused first; both read "invalid payload" in JS terms.
    let e = dec(r#"442["some","data""#).unwrap_err();
    assert_eq!(
        (e.clone(), e.js_message()),
        (Error::InvalidAckId, "invalid payload")
    );
    let lenient = DecoderConfig::js_compatible();
    assert_eq!(
        Packet::decode(r#"442["some","data""#, &lenient),
        invalid(InvalidPayload::InvalidJson)
    );
}

#[test]
fn x17_double_comma() {
    assert_eq!(
        dec(r#"2/admin,,["a"]"#),
        invalid(InvalidPayload::InvalidJson)
    );
}

#[test]
fn x18_binary_event_name() {
    let e = Reassembler::new(v5())
        .handle_text(r#"51-[{"_placeholder":true,"num":0}]"#)
        .unwrap_err();
    assert_eq!(e, Error::InvalidPayload(InvalidPayload::EventNameNotString));
}

#[test]
fn x19_ack_without_id() {
    assert_eq!(dec("3[]"), Err(Error::InvalidAckId));
    assert_eq!(dec("3"), Err(Error::InvalidAckId));
    let lenient = DecoderConfig::js_compatible();
    assert_eq!(Packet::decode("3[]", &lenient).unwrap().id, None);
    assert_eq!(Packet::decode("3", &lenient).unwrap().data, None);
}

#[test]
fn x20_connect_error_received_by_server() {
    assert!(dec(r#"4{"message":"x"}"#).is_ok());
    let mut s = connected_server(SocketIoVersion::V5);
    assert_eq!(
        s.handle_text(r#"4{"message":"x"}"#, Duration::ZERO),
        Err(Error::UnexpectedPacket(PacketType::ConnectError))
    );
    assert!(s.is_closed());
}

#[test]
fn q1_missing_comma() {
    assert_eq!(dec(r#"2/admin["a"]"#), invalid(InvalidPayload::MissingData));
    let p = Packet::decode(r#"2/admin["a"]"#, &DecoderConfig::js_compatible()).unwrap();
    assert_eq!((p.namespace, p.data), (r#"/admin["a"]"#, None));
}

#[test]
fn q2_event_without_data() {
    for text in ["2", "212", "2/admin,12"] {
        assert_eq!(dec(text), invalid(InvalidPayload::MissingData), "{text}");
    }
    let lenient = DecoderConfig::js_compatible();
    assert_eq!(Packet::decode("212", &lenient).unwrap().id, Some(12));
    assert_eq!(Packet::decode("2/admin,12", &lenient).unwrap().id, Some(12));
}

#[test]
fn q3_space_is_not_a_digit() {
    for config in [v5(), DecoderConfig::js_compatible()] {
        for text in [r#"2 ["a"]"#, r#"2 1["a"]"#, "0 "] {
            assert_eq!(
                Packet::decode(text, &config),
                invalid(InvalidPayload::LeadingWhitespace),
                "{text}"
            );
        }
    }
}

#[test]
fn q4_empty_or_space_is_not_connect() {
    assert_eq!(dec(""), Err(Error::UnknownPacketType(None)));
    assert_eq!(dec(" "), Err(Error::UnknownPacketType(Some(b' '))));
    assert_eq!(dec(" /admin,"), Err(Error::UnknownPacketType(Some(b' '))));
}

#[test]
fn q5_huge_ack_id() {
    assert_eq!(
        dec(r#"2123456789012345678901234567890["a"]"#),
        Err(Error::InvalidAckId)
    );
}

#[test]
fn q6_connect_error_with_id() {
    assert_eq!(dec("44"), Err(Error::InvalidAckId));
    let p = Packet::decode("44", &DecoderConfig::js_compatible()).unwrap();
    assert_eq!((p.kind, p.id), (PacketType::ConnectError, Some(4)));
}

#[test]
fn q7_root_namespace_with_comma() {
    assert_eq!(dec(r#"2/,["a"]"#).unwrap().namespace, "/");
}

#[test]
fn q8_loose_attachment_counts() {
    for text in ["5 1-[\"a\"]", "51.0-[\"a\"]", "51e1-[\"a\"]"] {
        assert_eq!(dec(text), Err(Error::IllegalAttachments), "{text}");
    }
}

#[test]
fn q9_json_whitespace() {
    assert!(dec(r#"2["a"] "#).is_ok());
    assert!(dec(r#"2[ "a" ]"#).is_ok());
}

#[test]
fn q10_fractional_placeholder_num() {
    let header = r#"51-["a",{"_placeholder":true,"num":0.5}]"#;
    assert_eq!(
        reassemble(v5(), header, &[&[1]]).unwrap_err(),
        Error::IllegalPlaceholder
    );
    let p = reassemble(DecoderConfig::js_compatible(), header, &[&[1]]).unwrap();
    assert_eq!(json(&p.data), r#"["a",null]"#);
}
