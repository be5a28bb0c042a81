//! Adapter harnesses: the message codecs, the recovery record and restore
//! step, and the cluster node.
#![cfg(feature = "adapter")]

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::socketio::adapter::classic::{ClassicBroadcast, ClassicRequest, ClassicResponse};
use crate::socketio::adapter::cluster::{ClusterMessage, StreamEntry};
use crate::socketio::adapter::recovery::{PersistedSession, RestoreLimits, StreamRestore};
use crate::socketio::adapter::{
    AdapterPacket, BroadcastOptions, ClusterNode, DecodeLimits, Encoding, NodeConfig, Publish,
    Reply, Transport,
};
use crate::socketio::{Offset, Parser, ResumeRequest, RoomRegistry, Value};

/// Decodes `data` as every message kind; what decodes re-encodes to a message
/// that decodes to the same thing (JSON cannot carry blobs, so a classic
/// message with blobs that goes out as JSON is exempt).
pub fn message(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    let limits = DecodeLimits::default();
    if let Ok(m) = ClusterMessage::decode(&bytes, &limits) {
        for encoding in [m.encoding(), Encoding::Msgpack] {
            let again = ClusterMessage::decode(&m.encode(encoding), &limits)
                .expect("re-encoded message decodes");
            assert_eq!(again, m);
        }
        let entry = m.to_stream_entry();
        assert_eq!(
            ClusterMessage::from_stream_entry(&entry, &limits).expect("entry decodes"),
            m
        );
    }
    if let Ok(b) = ClassicBroadcast::decode(&bytes, &limits) {
        assert_eq!(
            ClassicBroadcast::decode(&b.encode(), &limits).expect("re-encoded broadcast decodes"),
            b
        );
    }
    if let Ok(r) = ClassicRequest::decode(&bytes, &limits) {
        let again = ClassicRequest::decode(&r.encode(), &limits);
        if r.encoding() == Encoding::Msgpack || !r.to_value().contains_bytes() {
            assert_eq!(again.expect("re-encoded request decodes"), r);
        }
    }
    if let Ok(r) = ClassicResponse::decode(&bytes, &limits) {
        let again = ClassicResponse::decode(&r.encode(), &limits);
        if matches!(r, ClassicResponse::BroadcastAck { .. }) || !r.to_value().contains_bytes() {
            assert_eq!(again.expect("re-encoded response decodes"), r);
        }
    }
    if let Ok(text) = core::str::from_utf8(data) {
        let entry = StreamEntry {
            uid: "u".into(),
            nsp: "/".into(),
            message_type: "3".into(),
            data: Some(text.into()),
        };
        let _ = ClusterMessage::from_stream_entry(&entry, &limits);
        restore_entry(entry);
    }
    // The session record: what decodes re-encodes to the same record.
    if let Ok(session) = PersistedSession::decode(data, &limits) {
        let again = PersistedSession::decode(session.encode().as_bytes(), &limits);
        assert_eq!(again.expect("re-encoded record decodes"), session);
    }
}

/// One entry after a good lookup: a restore takes it or refuses it, within
/// its caps, and ends with at most one missed packet.
fn restore_entry(entry: StreamEntry) {
    let request = ResumeRequest {
        pid: "p".into(),
        offset: Offset::Stream { millis: 1, seq: 0 },
    };
    let limits = RestoreLimits {
        max_packets: 1,
        max_bytes: 1 << 12,
        ..RestoreLimits::default()
    };
    let Ok(mut restore) = StreamRestore::new("/", &request, Parser::Json, limits) else {
        unreachable!("a stream offset starts a restore");
    };
    let record = PersistedSession {
        sid: "s".into(),
        pid: "p".into(),
        rooms: vec!["s".into(), "even".into()],
        data: Value::Object(vec![]),
    };
    restore
        .handle_lookup(Some(record.encode().as_bytes()), true)
        .expect("a good record");
    if restore.handle_range(&[("1-1".into(), entry)]).is_err() {
        assert_eq!(
            restore.next_range(),
            None,
            "a refused reply ends the restore"
        );
        return;
    }
    restore.handle_range(&[]).expect("an empty reply ends it");
    let session = restore.finish().expect("a complete restore");
    assert!(session.missed.len() <= 1);
    assert!(
        session
            .missed
            .iter()
            .map(|p| p.buffered_len())
            .sum::<usize>()
            <= 1 << 12
    );
}

/// Drives a node with chunks of `data` (separated by 0xFF): the first byte of a
/// chunk picks the channel or a command, the rest is the payload. The node's
/// caps hold throughout: pending requests, queued publishes and events.
pub fn node(data: &[u8]) {
    let config = NodeConfig {
        max_pending_requests: 4,
        max_queued_publishes: 8,
        max_queued_events: 8,
        max_nodes: 4,
        max_responses_per_request: 4,
        ..NodeConfig::default()
    };
    // Odd first bytes drive a streams node (local fan-outs wait for their id).
    let config = match data.first() {
        Some(b) if b % 2 == 1 => NodeConfig {
            transport: Transport::Streams {
                stream: "socket.io".into(),
                sharded_pubsub: false,
                max_len: 10_000,
            },
            ..config
        },
        _ => config,
    };
    let mut node = ClusterNode::<u8>::new("me", "/", config, Duration::ZERO);
    let mut rooms = RoomRegistry::new();
    for sid in 0..4u8 {
        rooms.add_socket("/", sid);
        let _ = rooms.join("/", sid, if sid % 2 == 0 { "even" } else { "odd" });
    }
    let mut now = Duration::ZERO;
    for (i, chunk) in data.split(|&b| b == 0xFF).enumerate().take(256) {
        let Some((&tag, body)) = chunk.split_first() else {
            continue;
        };
        let payload = Bytes::copy_from_slice(body);
        let id = format!("r{i}");
        match tag % 8 {
            0 => drop(node.handle_message("socket.io#/#", &payload, now, &rooms)),
            1 => drop(node.handle_message("socket.io#/#me#", &payload, now, &rooms)),
            2 => drop(node.handle_message("socket.io#/#even#", &payload, now, &rooms)),
            3 => {
                now = now.saturating_add(Duration::from_millis(u64::from(tag) * 64));
                node.handle_timeout(now);
            }
            4 => drop(node.fetch_sockets(&id, BroadcastOptions::default(), now)),
            5 => drop(node.broadcast_with_ack(
                &id,
                AdapterPacket::event(vec!["e".into()]),
                BroadcastOptions::default(),
                now,
            )),
            6 => drop(node.server_side_emit_with_ack(&id, vec!["e".into()], now)),
            _ if tag & 8 != 0 => {
                // A local broadcast whose XADD "returns" the payload as its id.
                let packet = AdapterPacket::event(vec!["e".into()]);
                let _ =
                    node.broadcast_with_offset(packet, BroadcastOptions::default(), now, &rooms);
                let tokens: Vec<_> = core::iter::from_fn(|| node.poll_publish())
                    .filter_map(|p| match p {
                        Publish::Stream { token, .. } => token,
                        Publish::Channel { .. } => None,
                    })
                    .collect();
                let id = core::str::from_utf8(body).unwrap_or("");
                for token in tokens {
                    let _ = node.handle_published(token, id, &rooms);
                }
            }
            _ => {
                let reply = Reply {
                    uid: "other".into(),
                    request_id: id,
                };
                let _ = node.broadcast_ack(&reply, None);
            }
        }
        assert!(node.pending_requests() <= 4);
        // Every deadline at or before `now` has fired.
        assert!(
            node.poll_timeout().is_none_or(|at| at > now),
            "a deadline in the past"
        );
        let mut published = 0;
        while node.poll_publish().is_some() {
            published += 1;
        }
        assert!(published <= 8, "publish queue over its cap");
        let mut events = 0;
        while node.poll_event().is_some() {
            events += 1;
        }
        // Results of requests are never dropped, so up to the pending cap more.
        assert!(events <= 8 + 4, "event queue over its cap");
    }
}
