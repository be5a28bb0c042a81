//! The Engine.IO vectors E1–E30 of protocol/engineio-socketio.md §3.1, one test each.

use EngineIoVersion::{V3, V4};
use bytes::{Bytes, BytesMut};
use core::time::Duration;
use socketwire::Status;
use socketwire::engineio::{
    EngineIoVersion, Error, Method, Packet, PayloadDecoder, PayloadFormat, PayloadLimits, Reply,
    RequestInfo, Server, ServerConfig, decode_webtransport_frame, encode_webtransport_frame,
};

fn text(input: &str, version: EngineIoVersion) -> Result<Packet<'_>, Error> {
    Packet::decode_text(input, version)
}

fn bin(bytes: &'static [u8]) -> Packet<'static> {
    Packet::Binary(Bytes::from_static(bytes))
}

fn payload(body: &'static [u8], format: PayloadFormat) -> Vec<Result<Packet<'static>, Error>> {
    // Leak the body so the packets can borrow it for the 'static test tables.
    let body: &'static Bytes = Box::leak(Box::new(Bytes::from_static(body)));
    PayloadDecoder::new(body, format, PayloadLimits::default()).collect()
}

fn encode_text(packet: &Packet<'_>, version: EngineIoVersion) -> Vec<u8> {
    let mut out = BytesMut::new();
    packet.encode_text(version, &mut out);
    out.to_vec()
}

const E1: &str = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

#[test]
fn e1_open_packet() {
    let packet = text(E1, V4).unwrap();
    let Packet::Open(json) = packet else {
        panic!("{packet:?}")
    };
    assert_eq!(encode_text(&Packet::Open(json), V4), E1.as_bytes());
    #[cfg(feature = "json")]
    {
        let open = socketwire::engineio::OpenPacket::decode_json(json).unwrap();
        assert_eq!(open.sid, "lv_VI97HAXpY6yYWAAAC");
        assert_eq!(open.upgrades, ["websocket"]);
        assert_eq!((open.ping_interval, open.ping_timeout), (25000, 20000));
        assert_eq!(open.max_payload, Some(1_000_000));
        let mut out = BytesMut::new();
        open.encode_json(&mut out);
        assert_eq!(&out[..], json.as_bytes());
    }
}

#[test]
fn e2_ping_pong() {
    for version in [V3, V4] {
        assert_eq!(text("2", version), Ok(Packet::Ping("")));
        assert_eq!(text("3", version), Ok(Packet::Pong("")));
    }
}

#[test]
fn e3_probe_and_upgrade() {
    for version in [V3, V4] {
        assert_eq!(text("2probe", version), Ok(Packet::Ping("probe")));
        assert_eq!(text("3probe", version), Ok(Packet::Pong("probe")));
        assert_eq!(text("5", version), Ok(Packet::Upgrade));
        assert_eq!(encode_text(&Packet::Pong("probe"), version), b"3probe");
    }
}

#[test]
fn e4_message() {
    for version in [V3, V4] {
        assert_eq!(text("4hello", version), Ok(Packet::Message("hello")));
        assert_eq!(encode_text(&Packet::Message("hello"), version), b"4hello");
    }
}

#[test]
fn e5_message_without_data() {
    assert_eq!(text("4", V4), Ok(Packet::Message("")));
}

#[test]
fn e6_close_upgrade_noop() {
    for version in [V3, V4] {
        assert_eq!(text("1", version), Ok(Packet::Close));
        assert_eq!(text("5", version), Ok(Packet::Upgrade));
        assert_eq!(text("6", version), Ok(Packet::Noop));
    }
}

#[test]
fn e7_v4_websocket_binary() {
    let frame = Bytes::from_static(&[1, 2, 3, 4]);
    assert_eq!(Packet::decode_binary(&frame, V4), Ok(bin(&[1, 2, 3, 4])));
    let mut out = BytesMut::new();
    bin(&[1, 2, 3, 4]).encode_websocket(V4, true, &mut out);
    assert_eq!(&out[..], &[1, 2, 3, 4]);
}

#[test]
fn e8_v4_base64() {
    assert_eq!(text("bAQIDBA==", V4), Ok(bin(&[1, 2, 3, 4])));
    assert_eq!(encode_text(&bin(&[1, 2, 3, 4]), V4), b"bAQIDBA==");
}

#[test]
fn e9_v3_websocket_binary() {
    let frame = Bytes::from_static(&[4, 1, 2, 3, 4]);
    assert_eq!(Packet::decode_binary(&frame, V3), Ok(bin(&[1, 2, 3, 4])));
    let mut out = BytesMut::new();
    bin(&[1, 2, 3, 4]).encode_websocket(V3, true, &mut out);
    assert_eq!(&out[..], &[4, 1, 2, 3, 4]);
}

#[test]
fn e10_v3_base64() {
    assert_eq!(text("b4AQIDBA==", V3), Ok(bin(&[1, 2, 3, 4])));
    assert_eq!(encode_text(&bin(&[1, 2, 3, 4]), V3), b"b4AQIDBA==");
}

#[test]
fn e11_invalid_types() {
    assert_eq!(text("7", V4), Err(Error::InvalidPacketType(b'7')));
    assert_eq!(text("a123", V4), Err(Error::InvalidPacketType(b'a')));
    assert_eq!(text("", V4), Err(Error::EmptyPacket));
}

#[test]
fn e12_open_from_client_decodes() {
    // Like the JS parser, the codec decodes it; the server session ignores it.
    assert_eq!(text("0{}", V4), Ok(Packet::Open("{}")));
}

#[test]
fn e13_v4_payload() {
    let got = payload(b"4hello\x1e2\x1e4world", PayloadFormat::V4);
    assert_eq!(
        got,
        [
            Ok(Packet::Message("hello")),
            Ok(Packet::Ping("")),
            Ok(Packet::Message("world"))
        ]
    );
    let mut out = BytesMut::new();
    PayloadFormat::V4.encode(
        &[
            Packet::Message("hello"),
            Packet::Ping(""),
            Packet::Message("world"),
        ],
        &mut out,
    );
    assert_eq!(&out[..], b"4hello\x1e2\x1e4world");
}

#[test]
fn e14_v4_payload_with_binary() {
    let got = payload(b"4hello\x1ebAQIDBA==", PayloadFormat::V4);
    assert_eq!(got, [Ok(Packet::Message("hello")), Ok(bin(&[1, 2, 3, 4]))]);
    let mut out = BytesMut::new();
    PayloadFormat::V4.encode(&[Packet::Message("hello"), bin(&[1, 2, 3, 4])], &mut out);
    assert_eq!(&out[..], b"4hello\x1ebAQIDBA==");
}

#[test]
fn e15_v4_payload_all_types() {
    let got = payload(b"0\x1e1\x1e2probe\x1e3probe\x1e4test", PayloadFormat::V4);
    assert_eq!(
        got,
        [
            Ok(Packet::Open("")),
            Ok(Packet::Close),
            Ok(Packet::Ping("probe")),
            Ok(Packet::Pong("probe")),
            Ok(Packet::Message("test")),
        ]
    );
}

#[test]
fn e16_v4_trailing_separator() {
    // Strict like the JS decoder: the message, then an error.
    assert_eq!(
        payload(b"4a\x1e", PayloadFormat::V4),
        [Ok(Packet::Message("a")), Err(Error::EmptyRecord)]
    );
    assert_eq!(
        payload(b"4a\x1e\x1e4b", PayloadFormat::V4),
        [Ok(Packet::Message("a")), Err(Error::EmptyRecord)]
    );
}

#[test]
fn e17_v4_empty_body() {
    assert_eq!(payload(b"", PayloadFormat::V4), [Err(Error::EmptyPayload)]);
}

#[test]
fn e18_v3_text_payload_euro_counts_one() {
    let got = payload("6:4hello2:4€".as_bytes(), PayloadFormat::V3Text);
    assert_eq!(
        got,
        [Ok(Packet::Message("hello")), Ok(Packet::Message("€"))]
    );
    let mut out = BytesMut::new();
    PayloadFormat::V3Text.encode(&[Packet::Message("hello"), Packet::Message("€")], &mut out);
    assert_eq!(&out[..], "6:4hello2:4€".as_bytes());
}

#[test]
fn e19_v3_text_payload_surrogate_pair_counts_two() {
    assert_eq!(
        payload("3:4😀".as_bytes(), PayloadFormat::V3Text),
        [Ok(Packet::Message("😀"))]
    );
    let mut out = BytesMut::new();
    PayloadFormat::V3Text.encode(&[Packet::Message("😀")], &mut out);
    assert_eq!(&out[..], "3:4😀".as_bytes());
}

#[test]
fn e20_v3_text_payload_with_binary() {
    let got = payload("2:4€10:b4AQIDBA==".as_bytes(), PayloadFormat::V3Text);
    assert_eq!(got, [Ok(Packet::Message("€")), Ok(bin(&[1, 2, 3, 4]))]);
    let mut out = BytesMut::new();
    PayloadFormat::V3Text.encode(&[Packet::Message("€"), bin(&[1, 2, 3, 4])], &mut out);
    assert_eq!(&out[..], "2:4€10:b4AQIDBA==".as_bytes());
}

#[test]
fn e21_v3_empty_list() {
    assert_eq!(payload(b"0:", PayloadFormat::V3Text), []);
    let mut out = BytesMut::new();
    PayloadFormat::V3Text.encode(&[], &mut out);
    assert_eq!(&out[..], b"0:");
}

#[test]
fn e22_v3_open_then_sio_connect() {
    let body = br#"96:0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}2:40"#;
    let got = payload(body, PayloadFormat::V3Text);
    assert_eq!(got.len(), 2);
    assert!(
        matches!(got[0], Ok(Packet::Open(json)) if json.starts_with(r#"{"sid":"lv_VI97HAXpY6yYWAAAC""#))
    );
    assert_eq!(got[1], Ok(Packet::Message("0")));
}

#[test]
fn e23_v3_text_errors() {
    assert_eq!(
        payload(b"7:4hello", PayloadFormat::V3Text),
        [Err(Error::TruncatedRecord)]
    );
    assert_eq!(
        payload(b"5:4hello", PayloadFormat::V3Text),
        [Ok(Packet::Message("hell")), Err(Error::InvalidLength)]
    );
    assert_eq!(
        payload(b"abc", PayloadFormat::V3Text),
        [Err(Error::InvalidLength)]
    );
}

#[test]
fn e24_v3_binary_payload() {
    const BODY: &[u8] = &[
        0x00, 0x06, 0xFF, 0x34, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x01, 0x05, 0xFF, 0x04, 1, 2, 3, 4,
    ];
    assert_eq!(
        payload(BODY, PayloadFormat::V3Binary),
        [Ok(Packet::Message("hello")), Ok(bin(&[1, 2, 3, 4]))]
    );
    let mut out = BytesMut::new();
    PayloadFormat::V3Binary.encode(&[Packet::Message("hello"), bin(&[1, 2, 3, 4])], &mut out);
    assert_eq!(&out[..], BODY);
}

#[test]
fn e25_v3_binary_payload_byte_lengths() {
    const BODY: &[u8] = &[
        0x00, 0x04, 0xFF, 0x34, 0xE2, 0x82, 0xAC, 0x01, 0x05, 0xFF, 0x04, 1, 2, 3, 4,
    ];
    assert_eq!(
        payload(BODY, PayloadFormat::V3Binary),
        [Ok(Packet::Message("€")), Ok(bin(&[1, 2, 3, 4]))]
    );
    let mut out = BytesMut::new();
    PayloadFormat::V3Binary.encode(&[Packet::Message("€"), bin(&[1, 2, 3, 4])], &mut out);
    assert_eq!(&out[..], BODY);
    // A 301-byte string packet gets the length bytes 03 00 01.
    let long = "x".repeat(300);
    let mut out = BytesMut::new();
    PayloadFormat::V3Binary.encode(&[Packet::Message(&long)], &mut out);
    assert_eq!(&out[..5], &[0, 3, 0, 1, 0xFF]);
}

#[test]
fn e26_jsonp_v3_open() {
    let config = ServerConfig {
        allow_eio3: true,
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        ..ServerConfig::default()
    };
    let mut server = Server::new(config);
    let body = Bytes::new();
    let request = RequestInfo {
        method: Method::Get,
        query: "EIO=3&transport=polling&j=0",
        content_type: None,
        body: &body,
    };
    let Reply::Respond(response) =
        server.handle_request(&request, Duration::ZERO, || "A".repeat(20))
    else {
        panic!("expected a response")
    };
    assert_eq!(response.content_type, "text/javascript; charset=UTF-8");
    let body = core::str::from_utf8(&response.body).unwrap();
    assert!(body.starts_with(r#"___eio[0]("114:0{\"sid\":\"AAAAAAAAAAAAAAAAAAAA\",\"upgrades\":[\"websocket\"],\"pingInterval\":300,\"pingTimeout\":200,\"maxPayload\":1000000}");"#), "{body}");
}

#[test]
fn e27_webtransport_text() {
    let frame = Bytes::from_static(b"\x05\x341\xE2\x82\xAC");
    assert_eq!(
        decode_webtransport_frame(&frame, 1_000_000),
        Ok(Status::Complete((Packet::Message("1€"), 6)))
    );
    let mut out = BytesMut::new();
    encode_webtransport_frame(&Packet::Message("1€"), &mut out);
    assert_eq!(&out[..], &frame[..]);
}

#[test]
fn e28_webtransport_binary_headers() {
    let mut out = BytesMut::new();
    encode_webtransport_frame(&bin(&[1, 2, 3]), &mut out);
    assert_eq!(&out[..], &[0x83, 1, 2, 3]);
    let medium = Bytes::from(vec![7u8; 12345]);
    let mut out = BytesMut::new();
    encode_webtransport_frame(&Packet::Binary(medium.clone()), &mut out);
    assert_eq!(&out[..3], &[0xFE, 0x30, 0x39]);
    let frozen = out.freeze();
    assert_eq!(
        decode_webtransport_frame(&frozen, 1_000_000),
        Ok(Status::Complete((Packet::Binary(medium), 12348)))
    );
    let large = Bytes::from(vec![0u8; 123_456_789]);
    let mut out = BytesMut::new();
    encode_webtransport_frame(&Packet::Binary(large), &mut out);
    assert_eq!(&out[..9], &[0xFF, 0, 0, 0, 0, 0x07, 0x5B, 0xCD, 0x15]);
    // Over the limit: refused from the header alone.
    let header = Bytes::from_static(&[0xFF, 0, 0, 0, 0, 0x07, 0x5B, 0xCD, 0x15]);
    assert!(matches!(
        decode_webtransport_frame(&header, 1_000_000),
        Err(Error::PayloadTooLarge { .. })
    ));
}

fn error_reply(query: &str, method: Method) -> (u16, String) {
    let mut server = Server::new(ServerConfig::default());
    let body = Bytes::new();
    let request = RequestInfo {
        method,
        query,
        content_type: None,
        body: &body,
    };
    match server.handle_request(&request, Duration::ZERO, || "s".into()) {
        Reply::Respond(r) => (r.status, String::from_utf8(r.body.to_vec()).unwrap()),
        Reply::Wait => panic!("unexpected wait"),
    }
}

#[test]
fn e29_unknown_sid() {
    let expected = (
        400,
        String::from(r#"{"code":1,"message":"Session ID unknown"}"#),
    );
    assert_eq!(
        error_reply("EIO=4&transport=polling&sid=nope", Method::Get),
        expected
    );
    assert_eq!(
        error_reply("EIO=4&transport=polling&sid=nope", Method::Post),
        expected
    );
}

#[test]
fn e30_unsupported_protocol_version() {
    let expected = (
        400,
        String::from(r#"{"code":5,"message":"Unsupported protocol version"}"#),
    );
    for query in [
        "transport=polling",
        "EIO=abc&transport=polling",
        "EIO=3&transport=polling",
    ] {
        assert_eq!(error_reply(query, Method::Get), expected, "{query}");
    }
}
