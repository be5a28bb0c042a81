//! Connection state recovery over the streams adapter against what the npm
//! packages do: `tests/vectors/adapter/recovery.json`, written by
//! `scripts/interop/adapter-vectors.mjs --recovery` (socket.io 4.8.1 with
//! `connectionStateRecovery`, @socket.io/redis-streams-adapter 0.3.1, a real
//! redis-server): the session record a Node.js node `SET`, the stream entries
//! after the client's offset, and the events the client got back on recovery.
//! Then the node's offset hand-off, the classic SOCKETS answer, the bounds and
//! the properties (round trip, page-split invariance).
#![cfg(feature = "adapter")]

use core::time::Duration;

use proptest::prelude::*;
use serde_json::Value as Json;
use socketwire::socketio::adapter::cluster::StreamEntry;
use socketwire::socketio::adapter::recovery::{
    PersistedSession, RestoreError, RestoreLimits, StreamRestore, next_stream_id,
};
use socketwire::socketio::adapter::{
    AdapterPacket, BroadcastOptions, ClusterNode, DecodeLimits, Error, NodeConfig, NodeEvent,
    Publish, PublishToken, Reply, Transport,
};
use socketwire::socketio::{Offset, Parser, RecoveredSession, ResumeRequest, RoomRegistry, Value};

fn vectors() -> Json {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/adapter/recovery.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn entry(fields: &Json) -> StreamEntry {
    let text = |name: &str| fields[name].as_str().unwrap().to_string();
    StreamEntry {
        uid: text("uid"),
        nsp: text("nsp"),
        message_type: text("type"),
        data: fields["data"].as_str().map(String::from),
    }
}

fn entries(doc: &Json) -> Vec<(String, StreamEntry)> {
    doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap().to_string(), entry(&e["fields"])))
        .collect()
}

fn request(pid: &str, offset: &str) -> ResumeRequest {
    ResumeRequest {
        pid: pid.into(),
        offset: Offset::parse(offset).unwrap(),
    }
}

/// Runs a restore the way the glue does: lookup, then pages of `page` entries
/// of what follows the offset, then the empty reply.
fn restore_in_pages(
    doc: &Json,
    page: usize,
    limits: RestoreLimits,
) -> Result<RecoveredSession, RestoreError> {
    let before = &doc["before"];
    let offset = before["offset"].as_str().unwrap();
    let all = entries(doc);
    let req = request(before["pid"].as_str().unwrap(), offset);
    let mut restore = StreamRestore::new("/", &req, Parser::Json, limits)?;
    let record = doc["session_record"].as_str().unwrap();
    let found = all.iter().any(|(id, _)| id == offset);
    restore.handle_lookup(Some(record.as_bytes()), found)?;
    let mut rest: Vec<_> = all
        .into_iter()
        .filter(|(id, _)| Offset::parse(id).unwrap() > req.offset)
        .collect();
    while restore.next_range().is_some() {
        let take = rest.len().min(page);
        let chunk: Vec<_> = rest.drain(..take).collect();
        restore.handle_range(&chunk)?;
    }
    restore.finish()
}

#[test]
fn the_session_record_a_node_js_node_sets_decodes_and_reencodes_byte_for_byte() {
    let doc = vectors();
    let text = doc["session_record"].as_str().unwrap();
    let session = PersistedSession::decode(text.as_bytes(), &DecodeLimits::default()).unwrap();
    assert_eq!(session.sid, doc["before"]["sid"].as_str().unwrap());
    assert_eq!(session.pid, doc["before"]["pid"].as_str().unwrap());
    assert_eq!(session.rooms, [session.sid.as_str(), "room1"]);
    assert_eq!(session.data, Value::Object(vec![]));
    assert_eq!(session.encode(), text);
    assert_eq!(session.key(), format!("sio:session:{}", session.pid));
}

#[test]
fn a_restore_from_the_captured_stream_hands_out_what_socket_io_handed_out() {
    let doc = vectors();
    let session = restore_in_pages(&doc, 1000, RestoreLimits::default()).unwrap();
    assert_eq!(session.sid, doc["after"]["sid"].as_str().unwrap());
    let received = doc["received"].as_array().unwrap();
    assert_eq!(session.missed.len(), received.len());
    for (packet, args) in session.missed.iter().zip(received) {
        let args = args.as_array().unwrap();
        let binary = args.iter().any(|a| a.get("bytes_hex").is_some());
        if binary {
            // `51-["bin",{"_placeholder":true,"num":0},"<id>"]` plus the attachment.
            assert!(
                packet.text().starts_with("51-[\"bin\","),
                "{}",
                packet.text()
            );
            assert_eq!(&packet.attachments()[0][..], [1, 2, 3]);
            assert!(packet.text().ends_with(&format!(",{}]", args[2])));
        } else {
            assert_eq!(packet.text(), format!("2{}", Json::Array(args.clone())));
        }
    }
    // The client's last offset is the last missed packet's.
    let last = received.last().unwrap().as_array().unwrap();
    assert_eq!(last.last(), Some(&doc["after"]["offset"]));
}

#[test]
fn pages_of_any_size_give_the_same_packets() {
    let doc = vectors();
    let whole = restore_in_pages(&doc, 1000, RestoreLimits::default()).unwrap();
    for page in 1..4 {
        assert_eq!(
            restore_in_pages(&doc, page, RestoreLimits::default()).unwrap(),
            whole
        );
    }
}

#[test]
fn the_bounds_end_a_restore_with_a_typed_error() {
    let doc = vectors();
    let limits = |f: fn(&mut RestoreLimits)| {
        let mut l = RestoreLimits::default();
        f(&mut l);
        l
    };
    // Five missed packets.
    assert_eq!(
        restore_in_pages(&doc, 1000, limits(|l| l.max_packets = 4)),
        Err(RestoreError::TooManyPackets)
    );
    assert!(restore_in_pages(&doc, 1000, limits(|l| l.max_packets = 5)).is_ok());
    assert_eq!(
        restore_in_pages(&doc, 1000, limits(|l| l.max_bytes = 20)),
        Err(RestoreError::TooManyBytes)
    );
    // Seven entries after the offset, one per page: seven XRANGE calls.
    assert_eq!(
        restore_in_pages(&doc, 1, limits(|l| l.max_ranges = 6)),
        Err(RestoreError::TooManyRanges)
    );
    assert!(restore_in_pages(&doc, 1, limits(|l| l.max_ranges = 7)).is_ok());
    assert_eq!(
        restore_in_pages(&doc, 3, limits(|l| l.range_count = 2)),
        Err(RestoreError::TooManyRanges)
    );
    let mut small = RestoreLimits::default();
    small.decode.max_payload_len = 10;
    assert!(matches!(
        restore_in_pages(&doc, 1000, small),
        Err(RestoreError::Session(Error::TooLarge { .. }))
    ));
}

#[test]
fn hostile_replies_are_refused_and_nothing_comes_of_them() {
    let doc = vectors();
    let record = doc["session_record"].as_str().unwrap().to_string();
    let pid = doc["before"]["pid"].as_str().unwrap().to_string();
    let all = entries(&doc);
    let start = |offset: &str| {
        StreamRestore::new(
            "/",
            &request(&pid, offset),
            Parser::Json,
            RestoreLimits::default(),
        )
        .unwrap()
    };
    let offset = doc["before"]["offset"].as_str().unwrap();

    let mut r = start(offset);
    assert_eq!(
        r.handle_lookup(None, true),
        Err(RestoreError::SessionNotFound)
    );
    assert_eq!(r.next_range(), None);
    assert_eq!(r.finish().unwrap_err(), RestoreError::ApiMisuse);

    let mut r = start(offset);
    assert_eq!(
        r.handle_lookup(Some(record.as_bytes()), false),
        Err(RestoreError::OffsetNotFound)
    );

    let mut r = start(offset);
    assert!(matches!(
        r.handle_lookup(Some(b"!!!!"), true),
        Err(RestoreError::Session(Error::InvalidBase64))
    ));

    let other = PersistedSession {
        sid: "s".into(),
        pid: "someone-else".into(),
        rooms: vec![],
        data: Value::Null,
    };
    let mut r = start(offset);
    assert_eq!(
        r.handle_lookup(Some(other.encode().as_bytes()), true),
        Err(RestoreError::PidMismatch)
    );

    // Ids that do not rise, or are not stream ids: refused, and a half-read
    // restore gives nothing.
    for bad in [offset, "0-0", "12", "1-2-3", "01-1"] {
        let mut r = start(offset);
        r.handle_lookup(Some(record.as_bytes()), true).unwrap();
        let (_, e) = all[1].clone();
        let page = [all[1].clone(), (bad.to_string(), e)];
        assert_eq!(r.handle_range(&page), Err(RestoreError::EntryOutOfOrder));
        assert_eq!(r.next_range(), None);
        assert_eq!(r.finish().unwrap_err(), RestoreError::ApiMisuse);
    }

    // An unreadable broadcast entry for the namespace ends the restore.
    let mut r = start(offset);
    r.handle_lookup(Some(record.as_bytes()), true).unwrap();
    let (id, mut e) = all[1].clone();
    e.data = Some("{\"packet\":".into());
    assert!(matches!(
        r.handle_range(&[(id, e)]),
        Err(RestoreError::Entry(_))
    ));

    // A sequence offset never reaches Redis.
    let req = request(&pid, "17");
    assert_eq!(
        StreamRestore::new("/", &req, Parser::Json, RestoreLimits::default()).unwrap_err(),
        RestoreError::NotStreamOffset
    );
}

#[test]
fn entries_of_other_nodes_after_the_live_cut_are_left_to_live_delivery() {
    let doc = vectors();
    let pid = doc["before"]["pid"].as_str().unwrap();
    let offset = doc["before"]["offset"].as_str().unwrap();
    let record = doc["session_record"].as_str().unwrap();
    let all = entries(&doc);
    let after: Vec<_> = all[1..].to_vec();
    let own = after[0].1.uid.clone();
    let run = |cut: Option<(&str, &str)>| {
        let mut r = StreamRestore::new(
            "/",
            &request(pid, offset),
            Parser::Json,
            RestoreLimits::default(),
        )
        .unwrap();
        if let Some((last_read, uid)) = cut {
            r.live_after(last_read, uid);
        }
        r.handle_lookup(Some(record.as_bytes()), true).unwrap();
        r.handle_range(&after).unwrap();
        r.handle_range(&[]).unwrap();
        r.finish().unwrap().missed.len()
    };
    assert_eq!(run(None), 5);
    // Read up to the second entry after the offset: only the first two are
    // the restore's (the "all" broadcast is the second); the rest come live.
    assert_eq!(run(Some((after[1].0.as_str(), "another-node"))), 2);
    // This node's own entries were delivered when they were published: all in.
    assert_eq!(run(Some((after[1].0.as_str(), own.as_str()))), 5);
}

#[test]
fn next_stream_ids_follow_redis_ordering() {
    let id = |t: &str| Offset::parse(t).unwrap();
    assert_eq!(next_stream_id(id("1-0")).as_deref(), Some("1-1"));
    assert_eq!(
        next_stream_id(id(&format!("1-{}", u64::MAX))).as_deref(),
        Some("2-0")
    );
    assert_eq!(
        next_stream_id(id(&format!("{}-{}", u64::MAX, u64::MAX))),
        None
    );
}

fn streams_node() -> ClusterNode<u32> {
    let config = NodeConfig {
        heartbeats: false,
        transport: Transport::Streams {
            stream: "socket.io".into(),
            sharded_pubsub: false,
            max_len: 10_000,
        },
        max_queued_publishes: 2,
        ..NodeConfig::default()
    };
    ClusterNode::new("aaaa", "/", config, Duration::ZERO)
}

fn room(members: &[(u32, &str)]) -> RoomRegistry<u32> {
    let mut rooms = RoomRegistry::new();
    for (s, r) in members {
        rooms.add_socket("/", *s);
        rooms.join("/", *s, r).unwrap();
    }
    rooms
}

#[test]
fn a_local_broadcast_fans_out_only_once_its_entry_id_is_known() {
    let mut node = streams_node();
    let rooms = room(&[(1, "r"), (2, "other")]);
    let to_r = BroadcastOptions {
        rooms: vec!["r".into()],
        ..BroadcastOptions::default()
    };
    let packet = AdapterPacket::event(vec!["ev".into(), 1u64.into()]);
    node.broadcast_with_offset(packet.clone(), to_r.clone(), Duration::ZERO, &rooms)
        .unwrap();
    node.broadcast_with_offset(packet.clone(), to_r.clone(), Duration::ZERO, &rooms)
        .unwrap();
    let mut tokens = Vec::new();
    while let Some(publish) = node.poll_publish() {
        match publish {
            Publish::Stream {
                entry,
                token: Some(token),
                ..
            } => {
                assert_eq!(entry.message_type, "3");
                tokens.push(token);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1]);
    assert_eq!(node.poll_event(), None);
    // A third waits past the cap of two: refused.
    assert_eq!(
        node.broadcast_with_offset(packet.clone(), to_r.clone(), Duration::ZERO, &rooms),
        Err(socketwire::socketio::adapter::ApiMisuse::PublishQueueFull)
    );
    // The second's XADD fails; the first's returns an id; a hostile id is refused.
    node.handle_publish_failed(tokens[1], &rooms);
    match node.poll_event() {
        Some(NodeEvent::Broadcast {
            recipients, offset, ..
        }) => assert_eq!((recipients, offset), (vec![1], None)),
        other => panic!("{other:?}"),
    }
    node.handle_published(tokens[0], "1700000000000-4", &rooms)
        .unwrap();
    match node.poll_event() {
        Some(NodeEvent::Broadcast {
            mut packet,
            opts,
            recipients,
            offset,
            ack: None,
        }) => {
            assert_eq!(recipients, [1]);
            let offset = offset.unwrap();
            assert!(packet.push_offset(&opts, &offset));
            assert_eq!(
                Value::Array(packet.data).to_json_string(),
                r#"["ev",1,"1700000000000-4"]"#
            );
        }
        other => panic!("{other:?}"),
    }
    // Each token is used once.
    node.handle_published(tokens[0], "1700000000000-5", &rooms)
        .unwrap();
    assert_eq!(node.poll_event(), None);
    node.broadcast_with_offset(packet, to_r, Duration::ZERO, &rooms)
        .unwrap();
    let Some(Publish::Stream {
        token: Some(token), ..
    }) = node.poll_publish()
    else {
        panic!()
    };
    assert_eq!(
        node.handle_published(token, "1700000000000", &rooms),
        Err(Error::InvalidStreamId)
    );
    assert!(matches!(
        node.poll_event(),
        Some(NodeEvent::Broadcast { offset: None, .. })
    ));
    assert_eq!(PublishToken::from_raw(token.raw()), token);
}

#[test]
fn local_only_and_other_transports_fan_out_at_once() {
    let rooms = room(&[(1, "r")]);
    let mut plain = ClusterNode::<u32>::new(
        "aaaa",
        "/",
        NodeConfig {
            heartbeats: false,
            ..NodeConfig::default()
        },
        Duration::ZERO,
    );
    let packet = AdapterPacket::event(vec!["ev".into()]);
    plain
        .broadcast_with_offset(
            packet.clone(),
            BroadcastOptions::default(),
            Duration::ZERO,
            &rooms,
        )
        .unwrap();
    assert!(matches!(
        plain.poll_publish(),
        Some(Publish::Channel { .. })
    ));
    assert!(matches!(
        plain.poll_event(),
        Some(NodeEvent::Broadcast { offset: None, .. })
    ));
    let mut node = streams_node();
    let local = BroadcastOptions {
        flags: Some(socketwire::socketio::adapter::Flags::new().with("local", true.into())),
        ..BroadcastOptions::default()
    };
    node.broadcast_with_offset(packet, local, Duration::ZERO, &rooms)
        .unwrap();
    assert_eq!(node.poll_publish(), None);
    assert!(matches!(
        node.poll_event(),
        Some(NodeEvent::Broadcast { offset: None, recipients, .. }) if recipients == [1]
    ));
}

#[test]
fn the_classic_sockets_request_is_answered_with_socket_ids() {
    let config = NodeConfig {
        transport: Transport::Classic {
            specific_response_channel: false,
        },
        ..NodeConfig::default()
    };
    let mut node = ClusterNode::<u32>::new("aaaa", "/", config, Duration::ZERO);
    let rooms = room(&[(1, "r"), (2, "r"), (3, "x")]);
    // What @socket.io/redis-adapter 8.3.0's `sockets(rooms)` publishes.
    let request = br#"{"uid":"bbbb","requestId":"q1","type":0,"rooms":["r"]}"#;
    node.handle_message(
        "socket.io-request#/#",
        &bytes::Bytes::from_static(request),
        Duration::ZERO,
        &rooms,
    )
    .unwrap();
    let Some(NodeEvent::SocketsAsked { sockets, reply }) = node.poll_event() else {
        panic!()
    };
    assert_eq!(sockets, [1, 2]);
    assert_eq!(
        reply,
        Reply {
            uid: "bbbb".into(),
            request_id: "q1".into()
        }
    );
    node.respond_sockets(&reply, vec!["id1".into(), "id2".into()])
        .unwrap();
    match node.poll_publish() {
        Some(Publish::Channel {
            channel, payload, ..
        }) => {
            assert_eq!(channel, "socket.io-response#/#");
            assert_eq!(
                &payload[..],
                br#"{"requestId":"q1","sockets":["id1","id2"]}"#
            );
        }
        other => panic!("{other:?}"),
    }
    // No rooms: every socket; its own request: not answered.
    let all = br#"{"uid":"bbbb","requestId":"q2","type":0,"rooms":[]}"#;
    node.handle_message(
        "socket.io-request#/#",
        &bytes::Bytes::from_static(all),
        Duration::ZERO,
        &rooms,
    )
    .unwrap();
    assert!(matches!(
        node.poll_event(),
        Some(NodeEvent::SocketsAsked { sockets, .. }) if sockets == [1, 2, 3]
    ));
    let own = br#"{"uid":"aaaa","requestId":"q3","type":0,"rooms":[]}"#;
    node.handle_message(
        "socket.io-request#/#",
        &bytes::Bytes::from_static(own),
        Duration::ZERO,
        &rooms,
    )
    .unwrap();
    assert_eq!(node.poll_event(), None);
    let mut streams = streams_node();
    assert_eq!(
        streams.respond_sockets(&reply, vec![]),
        Err(socketwire::socketio::adapter::ApiMisuse::Unsupported)
    );
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_\\-é😀]{0,40}"
}

fn data() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop::collection::btree_map("[a-z]{1,4}", inner, 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    })
}

proptest! {
    #[test]
    fn session_records_round_trip(
        sid in text(),
        pid in text(),
        rooms in prop::collection::vec(text(), 0..6),
        data in data(),
    ) {
        let session = PersistedSession { sid, pid, rooms, data };
        let text = session.encode();
        prop_assert_eq!(PersistedSession::decode(text.as_bytes(), &DecodeLimits::default()), Ok(session));
    }

    #[test]
    fn arbitrary_records_and_entries_never_panic(
        record in prop::collection::vec(any::<u8>(), 0..64),
        ids in prop::collection::vec("[0-9]{1,3}-[0-9]{1,2}", 0..6),
        data in prop::collection::vec("[ -~]{0,40}", 0..6),
    ) {
        let _ = PersistedSession::decode(&record, &DecodeLimits::default());
        let req = request("p", "1-0");
        let mut restore = StreamRestore::new("/", &req, Parser::Json, RestoreLimits::default()).unwrap();
        let good = PersistedSession { sid: "s".into(), pid: "p".into(), rooms: vec![], data: Value::Null };
        restore.handle_lookup(Some(good.encode().as_bytes()), true).unwrap();
        let page: Vec<_> = ids.into_iter().zip(data).map(|(id, d)| (id, StreamEntry {
            uid: "b".into(), nsp: "/".into(), message_type: "3".into(), data: Some(d),
        })).collect();
        let n = page.len();
        if restore.handle_range(&page).is_ok() && restore.next_range().is_some() {
            restore.handle_range(&[]).unwrap();
            prop_assert!(restore.finish().unwrap().missed.len() <= n);
        }
    }
}
