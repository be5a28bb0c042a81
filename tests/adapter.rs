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

// ---- the cluster state machine, nodes wired through an in-memory pub/sub ----

mod simulation {
    use core::time::Duration;

    use socketwire::socketio::RoomRegistry;
    use socketwire::socketio::Value;
    use socketwire::socketio::adapter::{
        AdapterPacket, ApiMisuse, BroadcastOptions, ClusterNode, Flags, LeaveReason, NodeConfig,
        NodeEvent, Publish, Transport,
    };

    type Sid = u32;

    struct Member {
        node: ClusterNode<Sid>,
        rooms: RoomRegistry<Sid>,
        /// A silent member publishes nothing and runs no timers.
        silent: bool,
        /// A member that drops fetchSockets and serverSideEmit requests.
        deaf: bool,
        events: Vec<NodeEvent<Sid>>,
    }

    struct Cluster {
        members: Vec<Member>,
        now: Duration,
        delivered: usize,
    }

    fn config() -> NodeConfig {
        NodeConfig::default()
    }

    impl Cluster {
        fn new(uids: &[&str], config: NodeConfig) -> Cluster {
            let members = uids
                .iter()
                .map(|uid| Member {
                    node: ClusterNode::new(uid, "/", config.clone(), Duration::ZERO),
                    rooms: RoomRegistry::new(),
                    silent: false,
                    deaf: false,
                    events: Vec::new(),
                })
                .collect();
            let mut cluster = Cluster {
                members,
                now: Duration::ZERO,
                delivered: 0,
            };
            cluster.pump();
            // Everyone met everyone: those NodeJoined events are not what the tests look at.
            for i in 0..cluster.members.len() {
                cluster.take_events(i);
            }
            cluster
        }

        /// Delivers every queued publish to every subscriber, and lets each
        /// member's glue answer the requests it gets, until nothing moves
        /// (bounded: 1000 rounds).
        fn pump(&mut self) {
            for _ in 0..1000 {
                let mut moved = false;
                for i in 0..self.members.len() {
                    self.answer(i);
                    if self.members[i].silent {
                        while self.members[i].node.poll_publish().is_some() {}
                        continue;
                    }
                    while let Some(publish) = self.members[i].node.poll_publish() {
                        moved = true;
                        let Publish::Channel {
                            channel, payload, ..
                        } = publish
                        else {
                            panic!("pub/sub only")
                        };
                        for j in 0..self.members.len() {
                            let m = &mut self.members[j];
                            let subscribed = m.node.subscriptions().iter().any(|s| {
                                s.channel == channel
                                    || s.pattern
                                        && channel.starts_with(s.channel.trim_end_matches('*'))
                            });
                            if j == i || !subscribed {
                                continue;
                            }
                            self.delivered += 1;
                            m.node
                                .handle_message(&channel, &payload, self.now, &m.rooms)
                                .unwrap();
                        }
                    }
                }
                if !moved {
                    return;
                }
            }
            panic!("cluster does not settle");
        }

        /// The glue of member `i`: answers what it is asked, keeps the rest.
        fn answer(&mut self, i: usize) {
            let m = &mut self.members[i];
            while let Some(event) = m.node.poll_event() {
                match &event {
                    NodeEvent::FetchSockets { sockets, reply } if !m.deaf => {
                        let details = sockets.iter().map(|s| Value::from(u64::from(*s))).collect();
                        m.node.respond_fetch_sockets(reply, details).unwrap();
                    }
                    NodeEvent::ServerSideEmit {
                        reply: Some(reply), ..
                    } if !m.deaf => {
                        m.node
                            .respond_server_side_emit(reply, Some(m.node.uid().into()))
                            .unwrap();
                    }
                    NodeEvent::Broadcast {
                        recipients,
                        ack: Some(reply),
                        ..
                    } => {
                        for sid in recipients {
                            m.node
                                .broadcast_ack(reply, Some(u64::from(*sid).into()))
                                .unwrap();
                        }
                    }
                    _ => {}
                }
                m.events.push(event);
            }
        }

        /// Advances the clock to `until`, firing every member's deadlines on the way.
        fn run_until(&mut self, until: Duration) {
            for _ in 0..10_000 {
                let next = self
                    .members
                    .iter()
                    .filter(|m| !m.silent)
                    .filter_map(|m| m.node.poll_timeout())
                    .min()
                    .filter(|&t| t <= until);
                let Some(at) = next else { break };
                self.now = self.now.max(at);
                for m in self.members.iter_mut().filter(|m| !m.silent) {
                    m.node.handle_timeout(self.now);
                }
                self.pump();
            }
            self.now = until;
            self.pump();
        }

        /// The requests of member `i` that ended.
        fn results(&mut self, i: usize) -> Vec<NodeEvent<Sid>> {
            let done = |e: &NodeEvent<Sid>| {
                matches!(
                    e,
                    NodeEvent::FetchSocketsDone { .. }
                        | NodeEvent::ServerSideEmitDone { .. }
                        | NodeEvent::BroadcastAckDone { .. }
                )
            };
            self.take_events(i).into_iter().filter(done).collect()
        }

        fn take_events(&mut self, i: usize) -> Vec<NodeEvent<Sid>> {
            self.answer(i);
            core::mem::take(&mut self.members[i].events)
        }
    }

    #[test]
    fn heartbeats_introduce_nodes_and_a_silent_one_expires() {
        let mut c = Cluster::new(&["a", "b", "c"], config());
        for (i, m) in c.members.iter().enumerate() {
            assert_eq!(m.node.nodes().count(), 2, "member {i}");
        }
        // c stops: a and b drop it once 10 s passed since its last word.
        c.members[2].silent = true;
        c.run_until(Duration::from_secs(9));
        assert_eq!(c.members[0].node.nodes().count(), 2);
        c.run_until(Duration::from_secs(11));
        for i in 0..2 {
            let left: Vec<_> = c
                .take_events(i)
                .into_iter()
                .filter(|e| matches!(e, NodeEvent::NodeLeft { .. }))
                .collect();
            assert_eq!(
                left,
                [NodeEvent::NodeLeft {
                    uid: "c".into(),
                    reason: LeaveReason::Expired
                }]
            );
            assert_eq!(
                c.members[i].node.nodes().collect::<Vec<_>>(),
                [if i == 0 { "b" } else { "a" }]
            );
        }
        // Live nodes kept each other: a heartbeat every 5 s, so a bounded number of deliveries.
        assert!(c.delivered < 40, "{}", c.delivered);
    }

    #[test]
    fn adapter_close_removes_the_node_and_ends_requests_waiting_for_it() {
        let mut c = Cluster::new(&["a", "b"], config());
        c.members[1].deaf = true;
        c.members[0]
            .node
            .fetch_sockets("r1", BroadcastOptions::default(), c.now)
            .unwrap();
        c.pump();
        c.members[1].node.close(c.now);
        c.pump();
        let events = c.take_events(0);
        assert!(events.contains(&NodeEvent::NodeLeft {
            uid: "b".into(),
            reason: LeaveReason::Closed
        }));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, NodeEvent::FetchSocketsDone { missing: 0, .. }))
        );
        assert_eq!(c.members[0].node.pending_requests(), 0);
    }

    #[test]
    fn fetch_sockets_aggregates_and_times_out_on_a_node_that_does_not_answer() {
        let mut c = Cluster::new(&["a", "b", "c"], config());
        c.members[1].rooms.join("/", 10, "r").unwrap();
        c.members[1].rooms.join("/", 11, "r").unwrap();
        c.members[2].rooms.join("/", 20, "r").unwrap();
        // Everyone answers: done at once, with the other nodes' sockets.
        let opts = BroadcastOptions {
            rooms: vec!["r".into()],
            ..BroadcastOptions::default()
        };
        c.members[0]
            .node
            .fetch_sockets("all", opts.clone(), c.now)
            .unwrap();
        c.pump();
        let done: Vec<_> = c.take_events(0);
        let [
            NodeEvent::FetchSocketsDone {
                request_id,
                sockets,
                missing: 0,
                truncated: false,
            },
        ] = &done[..]
        else {
            panic!("{done:?}")
        };
        assert_eq!(request_id, "all");
        let mut got: Vec<u64> = sockets
            .iter()
            .map(|v| v.to_json().as_u64().unwrap())
            .collect();
        got.sort();
        assert_eq!(got, [10, 11, 20]);
        // c does not answer: a's request ends at its deadline with b's sockets.
        c.members[2].deaf = true;
        c.members[0]
            .node
            .fetch_sockets("some", opts, c.now)
            .unwrap();
        c.pump();
        assert!(c.take_events(0).is_empty());
        assert_eq!(
            c.members[0].node.poll_timeout(),
            Some(Duration::from_secs(5))
        );
        c.run_until(Duration::from_secs(5));
        let done: Vec<_> = c.results(0);
        let [
            NodeEvent::FetchSocketsDone {
                sockets,
                missing: 1,
                ..
            },
        ] = &done[..]
        else {
            panic!("{done:?}")
        };
        assert_eq!(sockets.len(), 2);
    }

    #[test]
    fn an_answer_after_the_timeout_is_ignored() {
        let mut c = Cluster::new(&["a", "b"], config());
        c.members[1].deaf = true;
        c.members[0]
            .node
            .server_side_emit_with_ack("late", vec!["ping".into()], c.now)
            .unwrap();
        c.pump();
        // b keeps the request for later.
        let asked = c.take_events(1);
        let Some(NodeEvent::ServerSideEmit {
            reply: Some(reply), ..
        }) = asked
            .into_iter()
            .find(|e| matches!(e, NodeEvent::ServerSideEmit { .. }))
        else {
            panic!()
        };
        c.run_until(Duration::from_secs(5));
        let done: Vec<_> = c.results(0);
        assert_eq!(
            done,
            [NodeEvent::ServerSideEmitDone {
                request_id: "late".into(),
                responses: vec![],
                missing: 1,
                truncated: false
            }]
        );
        c.members[1]
            .node
            .respond_server_side_emit(&reply, Some("pong".into()))
            .unwrap();
        c.pump();
        assert!(
            c.take_events(0)
                .iter()
                .all(|e| !matches!(e, NodeEvent::ServerSideEmitDone { .. }))
        );
        assert_eq!(c.members[0].node.pending_requests(), 0);
    }

    #[test]
    fn broadcast_with_ack_counts_clients_and_acks() {
        let mut c = Cluster::new(&["a", "b", "c"], config());
        for sid in [10, 11] {
            c.members[1].rooms.join("/", sid, "r").unwrap();
        }
        c.members[2].rooms.join("/", 20, "r").unwrap();
        c.members[2].rooms.join("/", 21, "other").unwrap();
        let opts = BroadcastOptions {
            rooms: vec!["r".into()],
            flags: Some(Flags::new().with("timeout", 1000u64.into())),
            ..BroadcastOptions::default()
        };
        let packet = AdapterPacket::event(vec!["ack-me".into()]);
        c.members[0]
            .node
            .broadcast_with_ack("b1", packet, opts, c.now)
            .unwrap();
        c.pump();
        let done = c.take_events(0);
        let [
            NodeEvent::BroadcastAckDone {
                client_count: 3,
                acks,
                missing: 0,
                truncated: false,
                ..
            },
        ] = &done[..]
        else {
            panic!("{done:?}")
        };
        let mut acks: Vec<u64> = acks.iter().map(|v| v.to_json().as_u64().unwrap()).collect();
        acks.sort();
        assert_eq!(acks, [10, 11, 20]);
        // The recipients were chosen by the room registry.
        let got: Vec<_> = c.take_events(2);
        assert!(got.iter().any(|e| matches!(e, NodeEvent::Broadcast { recipients, ack: Some(_), .. } if recipients == &[20])));
    }

    #[test]
    fn broadcast_with_ack_ends_at_its_flags_timeout() {
        let mut c = Cluster::new(&["a", "b"], config());
        c.members[1].rooms.add_socket("/", 1);
        c.members[1].silent = true; // never sends its client count
        let opts = BroadcastOptions {
            flags: Some(Flags::new().with("timeout", 250u64.into())),
            ..BroadcastOptions::default()
        };
        c.members[0]
            .node
            .broadcast_with_ack("b2", AdapterPacket::event(vec!["e".into()]), opts, c.now)
            .unwrap();
        c.pump();
        assert_eq!(
            c.members[0].node.poll_timeout(),
            Some(Duration::from_millis(250))
        );
        c.run_until(Duration::from_millis(250));
        let done: Vec<_> = c.results(0);
        assert!(
            matches!(
                &done[..],
                [NodeEvent::BroadcastAckDone {
                    client_count: 0,
                    missing: 1,
                    ..
                }]
            ),
            "{done:?}"
        );
    }

    #[test]
    fn broadcasts_and_room_commands_reach_the_addressed_local_sockets() {
        let mut c = Cluster::new(&["a", "b"], config());
        let b = &mut c.members[1].rooms;
        b.join("/", 1, "r").unwrap();
        b.join("/", 2, "r").unwrap();
        b.join("/", 2, "muted").unwrap();
        b.add_socket("/", 3);
        let to_r_not_muted = BroadcastOptions {
            rooms: vec!["r".into()],
            except: vec!["muted".into()],
            flags: None,
        };
        let a = &mut c.members[0].node;
        a.broadcast(
            AdapterPacket::event(vec!["x".into()]),
            to_r_not_muted.clone(),
            c.now,
        )
        .unwrap();
        a.sockets_join(to_r_not_muted.clone(), vec!["vip".into()], c.now)
            .unwrap();
        a.sockets_leave(BroadcastOptions::default(), vec!["r".into()], c.now)
            .unwrap();
        a.disconnect_sockets(to_r_not_muted, true, c.now).unwrap();
        a.server_side_emit(vec!["hello".into()], c.now).unwrap();
        let local = BroadcastOptions {
            flags: Some(Flags::new().with("local", true.into())),
            ..BroadcastOptions::default()
        };
        a.broadcast(AdapterPacket::event(vec!["local".into()]), local, c.now)
            .unwrap();
        c.pump();
        let events = c.take_events(1);
        assert_eq!(events.len(), 5, "{events:?}");
        assert!(
            matches!(&events[0], NodeEvent::Broadcast { recipients, ack: None, .. } if recipients == &[1])
        );
        assert!(
            matches!(&events[1], NodeEvent::SocketsJoin { sockets, rooms } if sockets == &[1] && rooms == &["vip"])
        );
        assert!(
            matches!(&events[2], NodeEvent::SocketsLeave { sockets, .. } if sockets == &[1, 2, 3])
        );
        assert!(
            matches!(&events[3], NodeEvent::DisconnectSockets { sockets, close: true } if sockets == &[1])
        );
        assert!(matches!(
            &events[4],
            NodeEvent::ServerSideEmit { reply: None, .. }
        ));
    }

    #[test]
    fn pending_requests_nodes_and_answers_are_capped() {
        let tight = NodeConfig {
            max_pending_requests: 2,
            max_responses_per_request: 1,
            ..config()
        };
        let mut c = Cluster::new(&["a", "b"], tight.clone());
        let a = &mut c.members[0].node;
        a.fetch_sockets("1", BroadcastOptions::default(), c.now)
            .unwrap();
        assert_eq!(
            a.fetch_sockets("1", BroadcastOptions::default(), c.now),
            Err(ApiMisuse::DuplicateRequestId)
        );
        a.server_side_emit_with_ack("2", vec![], c.now).unwrap();
        assert_eq!(
            a.fetch_sockets("3", BroadcastOptions::default(), c.now),
            Err(ApiMisuse::TooManyPendingRequests)
        );
        assert_eq!(a.pending_requests(), 2);
        c.members[1].rooms.add_socket("/", 1);
        c.members[1].rooms.add_socket("/", 2);
        c.pump();
        let done = c.take_events(0);
        assert!(done.iter().any(|e| matches!(e, NodeEvent::FetchSocketsDone { sockets, truncated: true, .. } if sockets.len() == 1)));
        // Nodes: past the cap, newcomers are not remembered.
        let one = NodeConfig {
            max_nodes: 1,
            ..config()
        };
        let c = Cluster::new(&["a", "b", "c"], one);
        assert_eq!(c.members[0].node.nodes().count(), 1);
        assert!(c.members[0].node.dropped() > 0);
        // The outbound queue: past it, commands are refused.
        let mut node = ClusterNode::<Sid>::new(
            "q",
            "/",
            NodeConfig {
                max_queued_publishes: 2,
                ..config()
            },
            Duration::ZERO,
        );
        node.server_side_emit(vec![], Duration::ZERO).unwrap(); // the initial heartbeat is the first
        assert_eq!(
            node.server_side_emit(vec![], Duration::ZERO),
            Err(ApiMisuse::PublishQueueFull)
        );
    }

    #[test]
    fn without_heartbeats_the_server_count_says_how_many_answers_to_wait_for() {
        let mut node = ClusterNode::<Sid>::new(
            "a",
            "/",
            NodeConfig {
                heartbeats: false,
                ..config()
            },
            Duration::ZERO,
        );
        node.set_server_count(3);
        node.fetch_sockets("r", BroadcastOptions::default(), Duration::ZERO)
            .unwrap();
        assert!(node.poll_publish().is_some());
        let rooms = RoomRegistry::new();
        for uid in ["b", "c", "d"] {
            let answer = format!(
                r#"{{"type":8,"data":{{"requestId":"r","sockets":["{uid}"]}},"uid":"{uid}","nsp":"/"}}"#
            );
            node.handle_message("socket.io#/#a#", &answer.into(), Duration::ZERO, &rooms)
                .unwrap();
        }
        // Two answers end it; the third is for an ended request.
        let [
            NodeEvent::FetchSocketsDone {
                sockets,
                missing: 0,
                ..
            },
        ] = &core::iter::from_fn(|| node.poll_event()).collect::<Vec<_>>()[..]
        else {
            panic!()
        };
        assert_eq!(sockets.len(), 2);
    }

    #[test]
    fn transports_route_messages_like_the_js_adapters() {
        let one_room = BroadcastOptions {
            rooms: vec!["room1".into()],
            ..BroadcastOptions::default()
        };
        let sid_room = BroadcastOptions {
            rooms: vec!["K8817S40kWcxPHL8AAAH".into()],
            ..BroadcastOptions::default()
        };
        let sharded = NodeConfig {
            heartbeats: false,
            transport: Transport::Sharded {
                dynamic_rooms: true,
            },
            ..config()
        };
        let mut node = ClusterNode::<Sid>::new("u", "/", sharded, Duration::ZERO);
        node.set_server_count(2);
        let p = || AdapterPacket::event(vec!["e".into()]);
        node.broadcast(p(), one_room.clone(), Duration::ZERO)
            .unwrap();
        node.broadcast(p(), sid_room, Duration::ZERO).unwrap();
        node.broadcast_with_ack("r", p(), one_room.clone(), Duration::ZERO)
            .unwrap();
        let channels: Vec<_> = core::iter::from_fn(|| node.poll_publish())
            .map(|p| match p {
                Publish::Channel {
                    channel,
                    sharded: true,
                    ..
                } => channel,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            channels,
            ["socket.io#/#room1#", "socket.io#/#", "socket.io#/#"]
        );

        let streams = NodeConfig {
            heartbeats: false,
            transport: Transport::Streams {
                stream: "socket.io".into(),
                sharded_pubsub: false,
                max_len: 10_000,
            },
            ..config()
        };
        let mut node = ClusterNode::<Sid>::new("u", "/", streams, Duration::ZERO);
        node.set_server_count(2);
        node.broadcast(p(), one_room.clone(), Duration::ZERO)
            .unwrap();
        node.fetch_sockets("f", BroadcastOptions::default(), Duration::ZERO)
            .unwrap();
        match node.poll_publish() {
            Some(Publish::Stream {
                stream,
                entry,
                max_len: 10_000,
                token: None,
            }) => assert_eq!(
                (stream.as_str(), entry.message_type.as_str()),
                ("socket.io", "3")
            ),
            other => panic!("{other:?}"),
        }
        match node.poll_publish() {
            Some(Publish::Channel {
                channel,
                payload,
                sharded: false,
            }) => {
                assert_eq!(channel, "socket.io#/#");
                assert_ne!(payload[0], b'{'); // always msgpack on pub/sub
            }
            other => panic!("{other:?}"),
        }
    }
}

mod streams_node {
    use core::time::Duration;

    use socketwire::socketio::RoomRegistry;
    use socketwire::socketio::adapter::{
        AdapterPacket, BroadcastOptions, ClusterNode, NodeConfig, NodeEvent, Publish, Transport,
    };

    /// Two streams-adapter nodes: durable messages through an in-memory stream
    /// (entry ids `<n>-0`), requests and answers through pub/sub.
    #[test]
    fn broadcasts_carry_their_stream_offset_and_requests_use_pub_sub() {
        let config = NodeConfig {
            heartbeats: false,
            transport: Transport::Streams {
                stream: "socket.io".into(),
                sharded_pubsub: false,
                max_len: 10_000,
            },
            ..NodeConfig::default()
        };
        let t0 = Duration::ZERO;
        let mut a = ClusterNode::<u32>::new("aaaa", "/", config.clone(), t0);
        let mut b = ClusterNode::<u32>::new("bbbb", "/", config, t0);
        a.set_server_count(2);
        b.set_server_count(2);
        let mut rooms_b = RoomRegistry::new();
        rooms_b.join("/", 5, "r").unwrap();
        let rooms_a = RoomRegistry::new();
        let mut stream = Vec::new();

        let to_r = BroadcastOptions {
            rooms: vec!["r".into()],
            ..BroadcastOptions::default()
        };
        a.broadcast(AdapterPacket::event(vec!["e".into()]), to_r.clone(), t0)
            .unwrap();
        a.sockets_join(to_r, vec!["vip".into()], t0).unwrap();
        a.fetch_sockets("f1", BroadcastOptions::default(), t0)
            .unwrap();
        let mut requests = Vec::new();
        while let Some(p) = a.poll_publish() {
            match p {
                Publish::Stream {
                    stream: name,
                    max_len: 10_000,
                    entry,
                    token: None,
                } => {
                    assert_eq!(name, "socket.io");
                    stream.push((format!("{}-0", stream.len() + 1), entry));
                }
                Publish::Channel {
                    channel,
                    payload,
                    sharded: false,
                } => requests.push((channel, payload)),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((stream.len(), requests.len()), (2, 1));
        for (id, entry) in &stream {
            b.handle_stream_entry(entry, id, t0, &rooms_b).unwrap();
        }
        for (channel, payload) in &requests {
            b.handle_message(channel, payload, t0, &rooms_b).unwrap();
        }
        let events: Vec<_> = core::iter::from_fn(|| b.poll_event()).collect();
        assert!(
            matches!(&events[0], NodeEvent::Broadcast { recipients, offset: Some(o), .. } if recipients == &[5] && o == "1-0")
        );
        assert!(matches!(&events[1], NodeEvent::SocketsJoin { sockets, .. } if sockets == &[5]));
        let NodeEvent::FetchSockets { reply, .. } = &events[2] else {
            panic!("{events:?}")
        };
        b.respond_fetch_sockets(reply, vec!["s5".into()]).unwrap();
        let Some(Publish::Channel {
            channel, payload, ..
        }) = b.poll_publish()
        else {
            panic!()
        };
        assert_eq!(channel, "socket.io#/#aaaa#");
        a.handle_message(&channel, &payload, t0, &rooms_a).unwrap();
        assert!(
            matches!(a.poll_event(), Some(NodeEvent::FetchSocketsDone { missing: 0, sockets, .. }) if sockets.len() == 1)
        );
    }
}

// ---- the classic transport, and a node's output against the captured bytes ----

mod classic_node {
    use core::time::Duration;

    use bytes::Bytes;
    use socketwire::socketio::adapter::{
        AdapterPacket, BroadcastOptions, ClusterNode, Flags, NodeConfig, NodeEvent, Publish,
        Transport,
    };
    use socketwire::socketio::{RoomRegistry, Value};

    fn classic(specific_response_channel: bool) -> NodeConfig {
        NodeConfig {
            transport: Transport::Classic {
                specific_response_channel,
            },
            ..NodeConfig::default()
        }
    }

    /// Delivers `from`'s publishes to `to` when `to` subscribed (exactly or by pattern).
    fn deliver(
        from: &mut ClusterNode<u32>,
        to: &mut ClusterNode<u32>,
        rooms: &RoomRegistry<u32>,
    ) -> usize {
        let mut n = 0;
        while let Some(Publish::Channel {
            channel,
            payload,
            sharded: false,
        }) = from.poll_publish()
        {
            let subscribed = to.subscriptions().iter().any(|s| {
                s.channel == channel
                    || s.pattern && channel.starts_with(s.channel.trim_end_matches('*'))
            });
            if subscribed {
                to.handle_message(&channel, &payload, Duration::ZERO, rooms)
                    .unwrap();
                n += 1;
            }
        }
        n
    }

    #[test]
    fn two_classic_nodes_answer_each_other() {
        for specific in [false, true] {
            let t0 = Duration::ZERO;
            let mut a = ClusterNode::<u32>::new("aaaaaa", "/", classic(specific), t0);
            let mut b = ClusterNode::<u32>::new("bbbbbb", "/", classic(specific), t0);
            a.set_server_count(2);
            b.set_server_count(2);
            let (rooms_a, mut rooms_b) = (RoomRegistry::new(), RoomRegistry::new());
            rooms_b.join("/", 1, "r").unwrap();
            rooms_b.join("/", 2, "s").unwrap();
            assert_eq!(
                a.poll_publish(),
                None,
                "no heartbeats in the classic adapter"
            );

            a.all_rooms("q1", t0).unwrap();
            a.fetch_sockets(
                "q2",
                BroadcastOptions {
                    rooms: vec!["r".into()],
                    ..Default::default()
                },
                t0,
            )
            .unwrap();
            a.server_side_emit_with_ack("q3", vec!["hi".into()], t0)
                .unwrap();
            let opts = BroadcastOptions {
                flags: Some(Flags::new().with("timeout", 500u64.into())),
                ..Default::default()
            };
            a.broadcast_with_ack("q4", AdapterPacket::event(vec!["ack".into()]), opts, t0)
                .unwrap();
            assert_eq!(deliver(&mut a, &mut b, &rooms_b), 4);
            while let Some(event) = b.poll_event() {
                match event {
                    NodeEvent::FetchSockets { sockets, reply } => {
                        assert_eq!(sockets, [1]);
                        b.respond_fetch_sockets(&reply, vec![Value::from("sock-1")])
                            .unwrap();
                    }
                    NodeEvent::ServerSideEmit {
                        reply: Some(reply), ..
                    } => b
                        .respond_server_side_emit(&reply, Some("pong".into()))
                        .unwrap(),
                    NodeEvent::Broadcast {
                        recipients,
                        ack: Some(reply),
                        ..
                    } => {
                        for sid in recipients {
                            b.broadcast_ack(&reply, Some(u64::from(sid).into()))
                                .unwrap();
                        }
                    }
                    NodeEvent::AllRoomsAsked { .. } => {}
                    other => panic!("{other:?}"),
                }
            }
            deliver(&mut b, &mut a, &rooms_a);
            let events: Vec<_> = core::iter::from_fn(|| a.poll_event()).collect();
            assert_eq!(events.len(), 4, "{events:?}");
            assert!(events.contains(&NodeEvent::AllRoomsDone {
                request_id: "q1".into(),
                rooms: vec!["r".into(), "s".into()],
                missing: 0,
                truncated: false
            }));
            assert!(events.iter().any(|e| matches!(e, NodeEvent::FetchSocketsDone { sockets, missing: 0, .. } if sockets == &[Value::from("sock-1")])));
            assert!(events.iter().any(|e| matches!(e, NodeEvent::ServerSideEmitDone { responses, .. } if responses == &[Value::from("pong")])));
            assert!(events.iter().any(|e| matches!(e, NodeEvent::BroadcastAckDone { client_count: 2, acks, .. } if acks.len() == 2)));
            assert_eq!(a.pending_requests(), 0);
        }
    }

    #[test]
    fn a_classic_broadcast_to_one_room_goes_to_the_room_channel() {
        let mut a = ClusterNode::<u32>::new("aaaaaa", "/chat", classic(false), Duration::ZERO);
        let opts = BroadcastOptions {
            rooms: vec!["r1".into()],
            ..Default::default()
        };
        a.broadcast(AdapterPacket::event(vec!["e".into()]), opts, Duration::ZERO)
            .unwrap();
        let Some(Publish::Channel {
            channel, payload, ..
        }) = a.poll_publish()
        else {
            panic!()
        };
        assert_eq!(channel, "socket.io#/chat#r1#");
        let b = socketwire::socketio::adapter::classic::ClassicBroadcast::decode(
            &payload,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(b.packet.nsp.as_deref(), Some("/chat"));
    }

    /// What a node publishes for an operation is what socket.io publishes, byte
    /// for byte, given the same uid and request id.
    #[test]
    fn a_node_publishes_the_captured_bytes() {
        let (doc, records) = super::captured();
        let find = |adapter: &str, op: &str, channel: &str| -> Bytes {
            records
                .iter()
                .find(|r| r.adapter == adapter && r.op == op && r.channel == channel)
                .and_then(|r| r.payload.clone())
                .unwrap_or_else(|| panic!("{adapter} {op} {channel}"))
        };
        let request_id = |payload: &Bytes| -> String {
            let v = socketwire::socketio::adapter::decode_payload(payload, &Default::default())
                .unwrap();
            let v = v.get("data").unwrap_or(&v).clone();
            v.get("requestId").and_then(Value::as_str).unwrap().into()
        };
        let t0 = Duration::ZERO;
        let next = |node: &mut ClusterNode<u32>| match node.poll_publish() {
            Some(Publish::Channel {
                channel, payload, ..
            }) => (channel, payload),
            other => panic!("{other:?}"),
        };

        // Classic.
        let uid = super::uid(&doc, "classic", 0);
        let mut node = ClusterNode::<u32>::new(&uid, "/", classic(false), t0);
        node.set_server_count(2);
        let room1 = BroadcastOptions {
            rooms: vec!["room1".into()],
            flags: Some(Flags::new()),
            except: vec![],
        };
        node.broadcast(
            AdapterPacket::event(vec!["ev".into(), "r".into()]),
            room1.clone(),
            t0,
        )
        .unwrap();
        assert_eq!(
            next(&mut node),
            (
                "socket.io#/#room1#".into(),
                find("classic", "broadcast_room", "socket.io#/#room1#")
            )
        );
        let captured = find("classic", "all_rooms", "socket.io-request#/#");
        node.all_rooms(&request_id(&captured), t0).unwrap();
        assert_eq!(next(&mut node).1, captured);
        let captured = find("classic", "fetch_sockets", "socket.io-request#/#");
        node.fetch_sockets(&request_id(&captured), BroadcastOptions::default(), t0)
            .unwrap();
        assert_eq!(next(&mut node).1, captured);
        node.sockets_join(BroadcastOptions::default(), vec!["room3".into()], t0)
            .unwrap();
        assert_eq!(
            next(&mut node).1,
            find("classic", "sockets_join", "socket.io-request#/#")
        );
        let nobody = BroadcastOptions {
            rooms: vec!["nobody".into()],
            ..Default::default()
        };
        node.disconnect_sockets(nobody.clone(), true, t0).unwrap();
        assert_eq!(
            next(&mut node).1,
            find("classic", "disconnect_sockets", "socket.io-request#/#")
        );
        let captured = find("classic", "broadcast_ack", "socket.io-request#/#");
        let ack_opts = BroadcastOptions {
            flags: Some(Flags::new().with("timeout", 1000u64.into())),
            ..Default::default()
        };
        node.broadcast_with_ack(
            &request_id(&captured),
            AdapterPacket::event(vec!["ack-me".into(), "q".into()]),
            ack_opts.clone(),
            t0,
        )
        .unwrap();
        assert_eq!(next(&mut node).1, captured);

        // Sharded (dynamic rooms) and the heartbeat adapter.
        let uid = super::uid(&doc, "sharded", 0);
        let sharded = NodeConfig {
            heartbeats: false,
            transport: Transport::Sharded {
                dynamic_rooms: true,
            },
            ..NodeConfig::default()
        };
        let mut node = ClusterNode::<u32>::new(&uid, "/", sharded, t0);
        node.set_server_count(3);
        node.broadcast(
            AdapterPacket::event(vec!["ev".into(), "r".into()]),
            room1,
            t0,
        )
        .unwrap();
        assert_eq!(
            next(&mut node),
            (
                "socket.io#/#room1#".into(),
                find("sharded", "broadcast_room", "socket.io#/#room1#")
            )
        );
        node.disconnect_sockets(
            BroadcastOptions {
                flags: Some(Flags::new()),
                ..nobody
            },
            true,
            t0,
        )
        .unwrap();
        assert_eq!(
            next(&mut node).1,
            find("sharded", "disconnect_sockets", "socket.io#/#")
        );
        let captured = find("sharded", "broadcast_ack", "socket.io#/#");
        node.broadcast_with_ack(
            &request_id(&captured),
            AdapterPacket::event(vec!["ack-me".into(), "q".into()]),
            ack_opts,
            t0,
        )
        .unwrap();
        assert_eq!(next(&mut node).1, captured);

        let uid = super::uid(&doc, "heartbeat", 0);
        let config = NodeConfig {
            prefix: "socket.io-heartbeat".into(),
            ..NodeConfig::default()
        };
        let mut node = ClusterNode::<u32>::new(&uid, "/", config, t0);
        let hello = records
            .iter()
            .find(|r| {
                r.adapter == "heartbeat"
                    && r.payload.as_ref().is_some_and(|p| {
                        p.starts_with(b"{\"type\":1,")
                            && p.windows(uid.len()).any(|w| w == uid.as_bytes())
                    })
            })
            .and_then(|r| r.payload.clone())
            .unwrap();
        assert_eq!(next(&mut node), ("socket.io-heartbeat#/#".into(), hello));
    }
}
