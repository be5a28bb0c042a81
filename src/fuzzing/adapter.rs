//! Adapter harnesses: the message codecs and the cluster node.
#![cfg(feature = "adapter")]

use alloc::format;
use alloc::vec;
use core::time::Duration;

use bytes::Bytes;

use crate::socketio::RoomRegistry;
use crate::socketio::adapter::classic::{ClassicBroadcast, ClassicRequest, ClassicResponse};
use crate::socketio::adapter::cluster::{ClusterMessage, StreamEntry};
use crate::socketio::adapter::{
    AdapterPacket, BroadcastOptions, ClusterNode, DecodeLimits, Encoding, NodeConfig, Reply,
};

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
    }
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
