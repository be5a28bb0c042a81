//! Property tests: packet and payload round trips, UTF-16 length oracle, JSONP
//! string escaping against serde_json, WebTransport chunking invariance.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use socketwire::Status;
use socketwire::engineio::{
    EngineIoVersion, Jsonp, Packet, PayloadDecoder, PayloadFormat, PayloadLimits,
    decode_webtransport_frame, encode_webtransport_frame, utf16_len,
};

/// An owned packet description, since `Packet` borrows.
#[derive(Debug, Clone)]
enum Spec {
    Text(u8, String),
    Binary(Vec<u8>),
}

impl Spec {
    fn packet(&self) -> Packet<'_> {
        match self {
            Spec::Binary(b) => Packet::Binary(Bytes::copy_from_slice(b)),
            Spec::Text(0, s) => Packet::Open(s),
            Spec::Text(1, _) => Packet::Close,
            Spec::Text(2, s) => Packet::Ping(s),
            Spec::Text(3, s) => Packet::Pong(s),
            Spec::Text(5, _) => Packet::Upgrade,
            Spec::Text(6, _) => Packet::Noop,
            Spec::Text(_, s) => Packet::Message(s),
        }
    }
}

/// Text without U+001E (the v4 payload cannot carry it raw; see protocol notes §1.3).
fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.replace('\u{1e}', ""))
}

fn spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        (0u8..7, text()).prop_map(|(t, s)| Spec::Text(t, s)),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Spec::Binary),
    ]
}

fn version() -> impl Strategy<Value = EngineIoVersion> {
    prop_oneof![Just(EngineIoVersion::V3), Just(EngineIoVersion::V4)]
}

fn limits() -> PayloadLimits {
    PayloadLimits {
        max_payload: usize::MAX,
        max_packets: usize::MAX,
    }
}

proptest! {
    #[test]
    fn packet_text_round_trip(spec in spec(), version in version()) {
        let packet = spec.packet();
        let mut out = BytesMut::new();
        packet.encode_text(version, &mut out);
        prop_assert_eq!(out.len(), packet.encoded_text_len(version));
        let text = std::str::from_utf8(&out).unwrap();
        prop_assert_eq!(Packet::decode_text(text, version).unwrap(), packet);
    }

    #[test]
    fn packet_websocket_round_trip(spec in spec(), version in version(), binary in any::<bool>()) {
        let packet = spec.packet();
        let mut out = BytesMut::new();
        let kind = packet.encode_websocket(version, binary, &mut out);
        let decoded = match kind {
            socketwire::engineio::MessageKind::Binary => Packet::decode_binary(&out.freeze(), version).unwrap(),
            socketwire::engineio::MessageKind::Text => {
                let text = String::from_utf8(out.to_vec()).unwrap();
                let decoded = Packet::decode_text(&text, version).unwrap();
                prop_assert_eq!(decoded, packet);
                return Ok(());
            }
        };
        prop_assert_eq!(decoded, packet);
    }

    #[test]
    fn payload_round_trip(specs in proptest::collection::vec(spec(), 1..12), format_index in 0usize..3) {
        let format = [PayloadFormat::V4, PayloadFormat::V3Text, PayloadFormat::V3Binary][format_index];
        let version = if format == PayloadFormat::V4 { EngineIoVersion::V4 } else { EngineIoVersion::V3 };
        // Zero-length records are skipped in v3 text payloads, never produced by packets.
        let packets: Vec<Packet<'_>> = specs.iter().map(Spec::packet).collect();
        let mut out = BytesMut::new();
        format.encode(&packets, &mut out);
        let body = out.freeze();
        let decoded: Result<Vec<_>, _> = PayloadDecoder::new(&body, format, limits()).collect();
        prop_assert_eq!(decoded.unwrap(), packets);
        let _ = version;
    }

    #[test]
    fn payload_decoder_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), format_index in 0usize..3) {
        let format = [PayloadFormat::V4, PayloadFormat::V3Text, PayloadFormat::V3Binary][format_index];
        let body = Bytes::from(body);
        let items: Vec<_> = PayloadDecoder::new(&body, format, PayloadLimits { max_payload: 1000, max_packets: 8 }).collect();
        // At most one error, and only as the last item.
        let errors = items.iter().filter(|i| i.is_err()).count();
        prop_assert!(errors <= 1);
        if errors == 1 { prop_assert!(items.last().unwrap().is_err()); }
        prop_assert!(items.len() <= 9);
    }

    #[test]
    fn utf16_len_matches_encode_utf16(s in any::<String>()) {
        prop_assert_eq!(utf16_len(&s), s.encode_utf16().count());
    }

    #[cfg(feature = "json")]
    #[test]
    fn jsonp_escaping_parses_back(s in any::<String>()) {
        let mut out = BytesMut::new();
        Jsonp::new("7").encode(&[Packet::Message(&s)], EngineIoVersion::V4, &mut out);
        let call = std::str::from_utf8(&out).unwrap();
        let literal = call.strip_prefix("___eio[7](").and_then(|c| c.strip_suffix(");")).unwrap();
        let parsed: String = serde_json::from_str(literal).unwrap();
        prop_assert_eq!(parsed, format!("4{s}"));
    }

    #[test]
    fn webtransport_chunking_invariance(
        specs in proptest::collection::vec(spec(), 1..8),
        chunk in 1usize..17,
    ) {
        let packets: Vec<Packet<'_>> = specs.iter().map(Spec::packet)
            .filter(|p| !matches!(p, Packet::Binary(b) if b.is_empty()))
            .collect();
        let mut stream = BytesMut::new();
        for packet in &packets {
            encode_webtransport_frame(packet, &mut stream);
        }
        let stream = stream.freeze();
        // Whole.
        let whole = decode_all(&stream, stream.len());
        // Chunk by chunk: the decoder sees a growing buffer and never consumes a partial frame.
        let chunked = decode_all(&stream, chunk);
        prop_assert_eq!(&whole, &chunked);
        let expected: Vec<String> = packets.iter().map(|p| format!("{p:?}")).collect();
        prop_assert_eq!(whole, expected);
    }
}

fn decode_all(stream: &Bytes, chunk: usize) -> Vec<String> {
    let mut buffer = BytesMut::new();
    let mut fed = 0;
    let mut decoded = Vec::new();
    loop {
        let frozen = buffer.clone().freeze();
        match decode_webtransport_frame(&frozen, u64::MAX).unwrap() {
            Status::Complete((packet, used)) => {
                decoded.push(format!("{packet:?}"));
                let _ = buffer.split_to(used);
            }
            Status::Partial => {
                if fed == stream.len() {
                    assert!(buffer.is_empty());
                    return decoded;
                }
                let end = (fed + chunk).min(stream.len());
                buffer.extend_from_slice(&stream[fed..end]);
                fed = end;
            }
        }
    }
}
