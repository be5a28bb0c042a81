//! The adapter codecs against what the real npm adapters publish:
//! `tests/vectors/adapter/captured.json`, written by
//! `scripts/interop/adapter-vectors.mjs` (socket.io 4.8.1, @socket.io/redis-adapter
//! 8.3.0, @socket.io/redis-streams-adapter 0.3.1, socket.io-adapter's
//! ClusterAdapterWithHeartbeat). Every payload decodes into its typed message,
//! the fields are the ones the operation sent, and re-encoding gives the same
//! bytes (every capture here is deterministic: JSON.stringify, notepack and
//! @msgpack/msgpack pick the shortest forms, as our encoder does).
#![cfg(feature = "adapter")]

use bytes::Bytes;
use serde_json::Value as Json;
use socketwire::socketio::Value;
use socketwire::socketio::adapter::channel::{ChannelKind, Channels};
use socketwire::socketio::adapter::classic::{
    ClassicBroadcast, ClassicRequest, ClassicResponse, RequestBody,
};
use socketwire::socketio::adapter::cluster::{ClusterBody, ClusterMessage, StreamEntry};
use socketwire::socketio::adapter::{DecodeLimits, Encoding};

struct Record {
    adapter: String,
    op: String,
    channel: String,
    payload: Option<Bytes>,
    fields: Option<Json>,
}

fn captured() -> (Json, Vec<Record>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/adapter/captured.json"
    );
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let records = doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Record {
            adapter: r["adapter"].as_str().unwrap().into(),
            op: r["op"].as_str().unwrap().into(),
            channel: r["channel"].as_str().unwrap().into(),
            payload: r["payload_hex"].as_str().map(|h| Bytes::from(hex(h))),
            fields: r.get("fields").cloned(),
        })
        .collect();
    (doc, records)
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn uid(doc: &Json, adapter: &str, node: usize) -> String {
    doc["uids"][adapter][node].as_str().unwrap().into()
}

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

#[test]
fn every_capture_is_present() {
    let (_, records) = captured();
    for adapter in ["classic", "sharded", "streams", "heartbeat"] {
        assert!(records.iter().any(|r| r.adapter == adapter), "{adapter}");
    }
    assert!(records.len() >= 60, "{}", records.len());
}

#[test]
fn classic_messages_decode_and_reencode_byte_equal() {
    let (doc, records) = captured();
    let a = uid(&doc, "classic", 0);
    let mut seen = 0;
    for r in records.iter().filter(|r| r.adapter == "classic") {
        let payload = r.payload.as_ref().unwrap();
        let nsp = if r.op == "broadcast_chat" {
            "/chat"
        } else {
            "/"
        };
        let channels = Channels::new("socket.io", nsp);
        let kind = channels
            .parse_classic(&r.channel)
            .unwrap_or_else(|| panic!("{}", r.channel));
        match kind {
            ChannelKind::Main | ChannelKind::Room(_) => {
                let b = ClassicBroadcast::decode(payload, &limits()).unwrap();
                assert_eq!(b.namespace(), nsp);
                assert_eq!(b.encode(), payload, "{}", r.op);
                if nsp == "/" {
                    assert_eq!(b.uid, a);
                }
                if let ChannelKind::Room(room) = kind {
                    assert_eq!(b.opts.rooms, [room]);
                }
                match r.op.as_str() {
                    "broadcast" => {
                        assert_eq!(b.packet.event_name(), Some("ev"));
                        assert_eq!(b.packet.data[1], Value::from(1u64));
                    }
                    "broadcast_room" => assert_eq!(kind, ChannelKind::Room("room1")),
                    "broadcast_except" => assert_eq!(b.opts.except, ["room2"]),
                    "broadcast_rooms_except" => {
                        assert_eq!(
                            (b.opts.rooms.len(), b.opts.except.as_slice()),
                            (2, &["room3".to_string()][..])
                        );
                    }
                    "broadcast_binary" => {
                        assert_eq!(
                            b.packet.data[1].as_bytes().map(|b| &b[..]),
                            Some(&[1u8, 2, 3][..])
                        );
                        assert_eq!(b.packet.packet_type, 2);
                    }
                    "broadcast_volatile" => {
                        let flags = b.opts.flags.as_ref().unwrap();
                        assert_eq!(
                            (flags.get_bool("volatile"), flags.get_bool("compress")),
                            (Some(true), Some(false))
                        );
                    }
                    "broadcast_chat" => {}
                    other => panic!("unexpected broadcast in {other}"),
                }
            }
            ChannelKind::Request => {
                let q = ClassicRequest::decode(payload, &limits()).unwrap();
                assert_eq!(q.uid, a);
                assert_eq!(q.encode(), payload, "{}", r.op);
                let expected = match r.op.as_str() {
                    "broadcast_ack" => 7,
                    "fetch_sockets" => 5,
                    "all_rooms" => 1,
                    "sockets_join" => 2,
                    "sockets_leave" => 3,
                    "disconnect_sockets" => 4,
                    "server_side_emit" | "server_side_emit_ack" => 6,
                    other => panic!("unexpected request in {other}"),
                };
                assert_eq!(q.body.request_type(), expected);
                match &q.body {
                    RequestBody::Join { rooms, .. } => assert_eq!(rooms, &["room3"]),
                    RequestBody::Leave { opts, rooms } => assert_eq!(
                        (&opts.rooms[..], &rooms[..]),
                        (&["room1".to_string()][..], &["room3".to_string()][..])
                    ),
                    RequestBody::Disconnect { opts, close } => {
                        assert_eq!((&opts.rooms[0][..], *close), ("nobody", Some(true)))
                    }
                    RequestBody::ServerSideEmit { data } => {
                        assert_eq!(q.request_id.is_some(), r.op == "server_side_emit_ack");
                        assert!(data[0].as_str().unwrap().starts_with("hello"));
                    }
                    RequestBody::Broadcast { packet, opts } => {
                        assert_eq!(packet.event_name(), Some("ack-me"));
                        assert_eq!(opts.flags.as_ref().unwrap().timeout_ms(), Some(1000));
                        assert_eq!(q.encoding(), Encoding::Msgpack);
                    }
                    _ => {}
                }
            }
            ChannelKind::Response(_) => {
                let s = ClassicResponse::decode(payload, &limits()).unwrap();
                assert_eq!(s.encode(), payload, "{}", r.op);
                match (&s, r.op.as_str()) {
                    (
                        ClassicResponse::BroadcastClientCount { client_count, .. },
                        "broadcast_ack",
                    ) => {
                        assert_eq!(*client_count, 1)
                    }
                    (ClassicResponse::BroadcastAck { packet, .. }, "broadcast_ack") => {
                        assert_eq!(packet.as_str(), Some("ok-b"))
                    }
                    (ClassicResponse::Sockets { sockets, .. }, "fetch_sockets") => {
                        assert_eq!(sockets.len(), 1);
                        assert_eq!(
                            sockets[0].get("rooms").unwrap().as_array().unwrap().len(),
                            2
                        );
                    }
                    (ClassicResponse::AllRooms { rooms, .. }, "all_rooms") => {
                        assert!(rooms.contains(&"room1".into()))
                    }
                    (ClassicResponse::ServerSideEmit { data, .. }, "server_side_emit_ack") => {
                        assert_eq!(data.as_ref().and_then(Value::as_str), Some("pong-b"))
                    }
                    other => panic!("unexpected response {other:?}"),
                }
            }
        }
        seen += 1;
    }
    assert!(seen >= 20, "{seen}");
}

/// The ClusterAdapter body each operation publishes (first message of the op).
fn check_cluster_body(op: &str, m: &ClusterMessage) {
    match (&m.body, op) {
        (
            ClusterBody::Broadcast {
                request_id: None,
                packet,
                ..
            },
            op,
        ) if op.starts_with("broadcast") && op != "broadcast_ack" => {
            assert_eq!(packet.packet_type, 2);
            if op == "broadcast_binary" {
                assert!(packet.data[1].as_bytes().is_some());
            }
            if op == "broadcast_chat" {
                assert_eq!(m.nsp, "/chat");
            }
        }
        (
            ClusterBody::Broadcast {
                request_id: Some(_),
                opts,
                ..
            },
            "broadcast_ack",
        ) => {
            assert_eq!(opts.flags.as_ref().unwrap().timeout_ms(), Some(1000))
        }
        (ClusterBody::BroadcastClientCount { client_count, .. }, "broadcast_ack") => {
            assert_eq!(*client_count, 1)
        }
        (ClusterBody::BroadcastAck { packet, .. }, "broadcast_ack") => {
            assert_eq!(packet.as_ref().and_then(Value::as_str), Some("ok-b"))
        }
        (ClusterBody::FetchSockets { .. }, "fetch_sockets") => {}
        (ClusterBody::FetchSocketsResponse { sockets, .. }, "fetch_sockets") => {
            assert_eq!(sockets.len(), 1)
        }
        (ClusterBody::SocketsJoin { rooms, .. }, "sockets_join") => assert_eq!(rooms, &["room3"]),
        (ClusterBody::SocketsLeave { opts, .. }, "sockets_leave") => {
            assert_eq!(opts.rooms, ["room1"])
        }
        (ClusterBody::DisconnectSockets { close, .. }, "disconnect_sockets") => {
            assert_eq!(*close, Some(true))
        }
        (
            ClusterBody::ServerSideEmit { request_id, packet },
            "server_side_emit" | "server_side_emit_ack",
        ) => {
            assert_eq!(request_id.is_some(), op == "server_side_emit_ack");
            assert!(packet[0].as_str().unwrap().starts_with("hello"));
        }
        (ClusterBody::ServerSideEmitResponse { packet, .. }, "server_side_emit_ack") => {
            assert_eq!(packet.as_ref().and_then(Value::as_str), Some("pong-b"))
        }
        (ClusterBody::InitialHeartbeat | ClusterBody::Heartbeat, _) => {}
        (ClusterBody::AdapterClose, "adapter_close") => {}
        other => panic!("{op}: unexpected {other:?}"),
    }
}

#[test]
fn sharded_and_heartbeat_messages_decode_and_reencode_byte_equal() {
    let (doc, records) = captured();
    let mut kinds = std::collections::BTreeSet::new();
    for adapter in ["sharded", "heartbeat"] {
        let prefix = if adapter == "sharded" {
            "socket.io"
        } else {
            "socket.io-heartbeat"
        };
        let nodes = [uid(&doc, adapter, 0), uid(&doc, adapter, 1)];
        for r in records.iter().filter(|r| r.adapter == adapter) {
            let payload = r.payload.as_ref().unwrap();
            let m = ClusterMessage::decode(payload, &limits()).unwrap();
            let channels = Channels::new(prefix, &m.nsp);
            match channels.parse_cluster(&r.channel).unwrap() {
                ChannelKind::Main => {}
                // A response channel names the requester; a dynamic room channel the room.
                ChannelKind::Room(x) => {
                    assert!(nodes.contains(&x.to_string()) || x == "room1", "{x}")
                }
                other => panic!("{other:?}"),
            }
            if m.nsp == "/" {
                assert!(nodes.contains(&m.uid), "{}", m.uid);
            }
            assert_eq!(m.encode(m.encoding()), payload, "{adapter} {}", r.op);
            check_cluster_body(&r.op, &m);
            kinds.insert(m.body.message_type());
        }
    }
    // Every type but none: 1..=13 all seen.
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        (1..=13).collect::<Vec<u64>>()
    );
}

#[test]
fn streams_messages_decode_and_reencode() {
    let (doc, records) = captured();
    let nodes = [uid(&doc, "streams", 0), uid(&doc, "streams", 1)];
    let mut entries = 0;
    for r in records.iter().filter(|r| r.adapter == "streams") {
        if let Some(payload) = &r.payload {
            // Ephemeral messages: @msgpack/msgpack over pub/sub.
            let m = ClusterMessage::decode(payload, &limits()).unwrap();
            assert!(nodes.contains(&m.uid));
            assert_eq!(m.encode(Encoding::Msgpack), payload, "{}", r.op);
            check_cluster_body(&r.op, &m);
        } else {
            let f = r.fields.as_ref().unwrap();
            let entry = StreamEntry {
                uid: f["uid"].as_str().unwrap().into(),
                nsp: f["nsp"].as_str().unwrap().into(),
                message_type: f["type"].as_str().unwrap().into(),
                data: f.get("data").and_then(Json::as_str).map(String::from),
            };
            let m = ClusterMessage::from_stream_entry(&entry, &limits()).unwrap();
            assert_eq!(m.to_stream_entry(), entry);
            if let ClusterBody::Broadcast { packet, .. } = &m.body {
                let binary = packet.data.iter().any(|v| v.as_bytes().is_some());
                assert_eq!(binary, !entry.data.as_ref().unwrap().starts_with('{'));
            }
            entries += 1;
        }
    }
    assert_eq!(entries, 10);
}

#[test]
fn classic_broadcast_refusals() {
    let l = limits();
    let cases: &[(&[u8], &str)] = &[
        (&[], "empty"),
        (&[0x92, 0xa1, b'u', 0x80], "two elements"),
        (&[0x93, 0x01, 0x80, 0x80], "uid not a string"),
        (&[0x93, 0xa1, b'u', 0x80, 0x80], "packet without type"),
        (b"{\"not\":\"an array\"}", "JSON object"),
    ];
    for (bytes, what) in cases {
        assert!(
            ClassicBroadcast::decode(&Bytes::copy_from_slice(bytes), &l).is_err(),
            "{what}"
        );
    }
    let big = DecodeLimits {
        max_payload_len: 4,
        ..DecodeLimits::default()
    };
    assert_eq!(
        ClassicBroadcast::decode(&Bytes::from_static(&[0x93, 0xa1, b'u', 0x80, 0x80]), &big),
        Err(socketwire::socketio::adapter::Error::TooLarge { len: 5, max: 4 })
    );
}

#[test]
fn room_lists_are_capped() {
    let rooms: Vec<String> = (0..5).map(|i| format!("\"r{i}\"")).collect();
    let text = format!(
        r#"{{"uid":"u","type":2,"opts":{{"rooms":[{}],"except":[]}},"rooms":[]}}"#,
        rooms.join(",")
    );
    let tight = DecodeLimits {
        max_list_len: 4,
        ..DecodeLimits::default()
    };
    assert_eq!(
        ClassicRequest::decode(&Bytes::from(text.clone()), &tight),
        Err(socketwire::socketio::adapter::Error::TooMany("rooms"))
    );
    assert!(ClassicRequest::decode(&Bytes::from(text), &limits()).is_ok());
}
