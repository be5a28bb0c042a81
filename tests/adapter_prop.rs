//! Property tests of the adapter codecs: encode → decode gives back every
//! message kind (classic broadcast, requests, responses, ClusterAdapter
//! messages on pub/sub and as stream entries), and decoding arbitrary bytes, or
//! feeding them to a cluster node, never panics.
#![cfg(feature = "adapter")]

use core::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use socketwire::socketio::adapter::classic::{
    ClassicBroadcast, ClassicRequest, ClassicResponse, RequestBody,
};
use socketwire::socketio::adapter::cluster::{ClusterBody, ClusterMessage, StreamEntry};
use socketwire::socketio::adapter::{
    AdapterPacket, BroadcastOptions, ClusterNode, DecodeLimits, Flags, NodeConfig,
};
use socketwire::socketio::{RoomRegistry, Value};

/// Objects with unique keys (a decoded object keeps every key; `get` reads the first).
fn value(with_bytes: bool) -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "[a-zé€😀\u{1e}\"\\\\#]{0,6}".prop_map(Value::from),
    ];
    let leaf = if with_bytes {
        let bytes =
            prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| Value::Bytes(Bytes::from(b)));
        prop_oneof![4 => scalar, 1 => bytes].boxed()
    } else {
        scalar.boxed()
    };
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn rooms() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-zA-Z0-9#/_-]{0,12}", 0..4)
}

fn flags() -> impl Strategy<Value = Flags> {
    prop::collection::btree_map("[a-z]{1,8}", value(false), 0..3)
        .prop_map(|m| m.into_iter().fold(Flags::new(), |f, (k, v)| f.with(&k, v)))
}

fn opts() -> impl Strategy<Value = BroadcastOptions> {
    (rooms(), rooms(), prop::option::of(flags())).prop_map(|(rooms, except, flags)| {
        BroadcastOptions {
            rooms,
            except,
            flags,
        }
    })
}

fn packet(with_bytes: bool) -> impl Strategy<Value = AdapterPacket> {
    (
        prop_oneof![Just(2u8), Just(5u8)],
        prop::collection::vec(value(with_bytes), 0..4),
        prop::option::of("/[a-z]{0,6}"),
        prop::option::of(any::<u32>()),
    )
        .prop_map(|(packet_type, data, nsp, id)| AdapterPacket {
            packet_type,
            data,
            nsp,
            id: id.map(u64::from),
        })
}

fn id() -> impl Strategy<Value = String> {
    "[0-9a-zA-Z_-]{1,16}"
}

fn cluster_body() -> impl Strategy<Value = ClusterBody> {
    prop_oneof![
        Just(ClusterBody::InitialHeartbeat),
        Just(ClusterBody::Heartbeat),
        Just(ClusterBody::AdapterClose),
        (packet(true), prop::option::of(id()), opts()).prop_map(|(packet, request_id, opts)| {
            ClusterBody::Broadcast {
                packet,
                request_id,
                opts,
            }
        }),
        (opts(), rooms()).prop_map(|(opts, rooms)| ClusterBody::SocketsJoin { opts, rooms }),
        (opts(), rooms()).prop_map(|(opts, rooms)| ClusterBody::SocketsLeave { opts, rooms }),
        (opts(), prop::option::of(any::<bool>()))
            .prop_map(|(opts, close)| ClusterBody::DisconnectSockets { opts, close }),
        (opts(), id())
            .prop_map(|(opts, request_id)| ClusterBody::FetchSockets { opts, request_id }),
        (id(), prop::collection::vec(value(true), 0..3)).prop_map(|(request_id, sockets)| {
            ClusterBody::FetchSocketsResponse {
                request_id,
                sockets,
            }
        }),
        (
            prop::option::of(id()),
            prop::collection::vec(value(true), 0..3)
        )
            .prop_map(|(request_id, packet)| ClusterBody::ServerSideEmit { request_id, packet }),
        (id(), prop::option::of(value(true))).prop_map(|(request_id, packet)| {
            ClusterBody::ServerSideEmitResponse { request_id, packet }
        }),
        (id(), any::<u32>()).prop_map(|(request_id, n)| ClusterBody::BroadcastClientCount {
            request_id,
            client_count: u64::from(n)
        }),
        (id(), prop::option::of(value(true)))
            .prop_map(|(request_id, packet)| ClusterBody::BroadcastAck { request_id, packet }),
    ]
}

fn cluster_message() -> impl Strategy<Value = ClusterMessage> {
    ("[0-9a-f]{16}", "/[a-z]{0,6}", cluster_body()).prop_map(|(uid, nsp, body)| ClusterMessage {
        uid,
        nsp,
        body,
    })
}

fn classic_request() -> impl Strategy<Value = ClassicRequest> {
    let body = prop_oneof![
        rooms().prop_map(|rooms| RequestBody::Sockets { rooms }),
        Just(RequestBody::AllRooms),
        (opts(), rooms()).prop_map(|(opts, rooms)| RequestBody::Join { opts, rooms }),
        (opts(), rooms()).prop_map(|(opts, rooms)| RequestBody::Leave { opts, rooms }),
        (opts(), prop::option::of(any::<bool>()))
            .prop_map(|(opts, close)| RequestBody::Disconnect { opts, close }),
        opts().prop_map(|opts| RequestBody::Fetch { opts }),
        // JSON on the wire, so no blobs (JS would write a Buffer as {type, data}).
        prop::collection::vec(value(false), 1..3)
            .prop_map(|data| RequestBody::ServerSideEmit { data }),
        (packet(true), opts()).prop_map(|(packet, opts)| RequestBody::Broadcast { packet, opts }),
    ];
    ("[0-9a-zA-Z]{6}", id(), body).prop_map(|(uid, request_id, body)| {
        let needs_id = !matches!(
            body,
            RequestBody::Join { .. } | RequestBody::Leave { .. } | RequestBody::Disconnect { .. }
        );
        ClassicRequest {
            uid,
            request_id: needs_id.then_some(request_id),
            body,
        }
    })
}

fn classic_response() -> impl Strategy<Value = ClassicResponse> {
    prop_oneof![
        (id(), prop::collection::vec(value(false), 0..3)).prop_map(|(request_id, sockets)| {
            ClassicResponse::Sockets {
                request_id,
                sockets,
            }
        }),
        (id(), rooms())
            .prop_map(|(request_id, rooms)| ClassicResponse::AllRooms { request_id, rooms }),
        (id(), prop::option::of(value(false)))
            .prop_map(|(request_id, data)| ClassicResponse::ServerSideEmit { request_id, data }),
        (id(), any::<u32>()).prop_map(|(request_id, n)| ClassicResponse::BroadcastClientCount {
            request_id,
            client_count: u64::from(n)
        }),
        (id(), value(true))
            .prop_map(|(request_id, packet)| ClassicResponse::BroadcastAck { request_id, packet }),
    ]
}

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

proptest! {
    #[test]
    fn cluster_messages_round_trip_on_pub_sub(m in cluster_message()) {
        let bytes = m.encode(m.encoding());
        prop_assert_eq!(ClusterMessage::decode(&bytes, &limits()).unwrap(), m.clone());
        // The streams adapter's pub/sub side: always msgpack.
        let bytes = m.encode(socketwire::socketio::adapter::Encoding::Msgpack);
        prop_assert_eq!(ClusterMessage::decode(&bytes, &limits()).unwrap(), m);
    }

    #[test]
    fn cluster_messages_round_trip_as_stream_entries(m in cluster_message()) {
        let entry = m.to_stream_entry();
        prop_assert_eq!(ClusterMessage::from_stream_entry(&entry, &limits()).unwrap(), m);
    }

    #[test]
    fn classic_broadcasts_round_trip(uid in "[0-9a-zA-Z]{6}", packet in packet(true), opts in opts()) {
        let b = ClassicBroadcast { uid, packet, opts };
        prop_assert_eq!(ClassicBroadcast::decode(&b.encode(), &limits()).unwrap(), b);
    }

    #[test]
    fn classic_requests_round_trip(r in classic_request()) {
        prop_assert_eq!(ClassicRequest::decode(&r.encode(), &limits()).unwrap(), r);
    }

    #[test]
    fn classic_responses_round_trip(r in classic_response()) {
        prop_assert_eq!(ClassicResponse::decode(&r.encode(), &limits()).unwrap(), r);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..256), json in any::<bool>()) {
        let mut data = data;
        if json {
            data.insert(0, b'{');
        }
        let bytes = Bytes::from(data);
        let l = limits();
        let _ = ClassicBroadcast::decode(&bytes, &l);
        let _ = ClassicRequest::decode(&bytes, &l);
        let _ = ClassicResponse::decode(&bytes, &l);
        let _ = ClusterMessage::decode(&bytes, &l);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let entry = StreamEntry { uid: "u".into(), nsp: "/".into(), message_type: "3".into(), data: Some(text) };
        let _ = ClusterMessage::from_stream_entry(&entry, &l);
        let mut node = ClusterNode::<u32>::new("me", "/", NodeConfig::default(), Duration::ZERO);
        let mut rooms = RoomRegistry::new();
        rooms.add_socket("/", 1);
        let _ = node.handle_message("socket.io#/#", &bytes, Duration::ZERO, &rooms);
        let _ = node.handle_message("socket.io#/#me#", &bytes, Duration::ZERO, &rooms);
    }

    /// A valid message with one byte changed still decodes or fails cleanly, and
    /// the node stays usable.
    #[test]
    fn mutated_messages_never_panic(m in cluster_message(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = m.encode(m.encoding()).to_vec();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let bytes = Bytes::from(bytes);
        let mut node = ClusterNode::<u32>::new("me", &m.nsp, NodeConfig::default(), Duration::ZERO);
        let _ = node.handle_message(&format!("socket.io#{}#", m.nsp), &bytes, Duration::ZERO, &RoomRegistry::new());
        while node.poll_event().is_some() {}
        prop_assert!(node.fetch_sockets("r", BroadcastOptions::default(), Duration::ZERO).is_ok());
    }
}
