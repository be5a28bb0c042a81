//! Adapter codecs and the cluster node: decode and encode of a classic Redis
//! adapter broadcast (msgpack) and of a ClusterAdapter broadcast (JSON, as the
//! sharded adapter publishes it), and a node handling an incoming broadcast to
//! a room of 1 000 local sockets (decode + recipients from the room registry).
//!
//! Recovery over the streams adapter: decoding the session record a Node.js
//! node keeps (`sio:session:<pid>`), and a restore reading 100 broadcast
//! entries after the client's offset (the stream entries of
//! `tests/vectors/adapter/recovery.json`'s shape) into missed packets.
//!
//! Ids: `adapter/<group>/<case>` within `decode`, `encode`, `node` and `restore`.
#![allow(missing_docs)] // criterion_group! generates an undocumented function

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use socketwire::socketio::RoomRegistry;
use socketwire::socketio::adapter::classic::ClassicBroadcast;
use socketwire::socketio::adapter::cluster::ClusterMessage;
use socketwire::socketio::adapter::cluster::StreamEntry;
use socketwire::socketio::adapter::recovery::{PersistedSession, RestoreLimits, StreamRestore};
use socketwire::socketio::adapter::{ClusterNode, DecodeLimits, NodeConfig, NodeEvent};
use socketwire::socketio::{Offset, Parser, ResumeRequest};

/// A session record as socket.io 4.8.1 with @socket.io/redis-streams-adapter 0.3.1 sets it.
const SESSION_RECORD: &str = "hKNzaWS0dGVTMTBBZDNpUWFrS3hYY0FBQUKjcGlktF9oX3BrVHVyTDMzd01BamNBQUFDpXJvb21zkrR0ZVMxMEFkM2lRYWtLeFhjQUFBQqVyb29tMaRkYXRhgA==";

/// The data of one broadcast entry to `room1`, as the streams adapter writes it.
const ENTRY_DATA: &str = r#"{"packet":{"type":2,"data":["ev",1,"two",{"three":[3,null,true]}]},"opts":{"rooms":["room1"],"except":[],"flags":{}}}"#;

/// `io.to("room1").emit("ev", {foo: "bar", arr: [1, 2, 3]}, "second", 42, true)` through
/// the classic adapter (notepack), as socket.io 4.8.1 publishes it.
fn classic_broadcast() -> Bytes {
    let mut out = vec![0x93, 0xa6];
    out.extend_from_slice(b"1zy5oC");
    out.extend_from_slice(b"\x83\xa4type\x02\xa4data\x95\xa2ev\x82\xa3foo\xa3bar\xa3arr\x93\x01\x02\x03\xa6second\x2a\xc3");
    out.extend_from_slice(b"\xa3nsp\xa1/\x83\xa5rooms\x91\xa5room1\xa6except\x90\xa5flags\x80");
    Bytes::from(out)
}

/// The same broadcast through the sharded adapter (JSON).
const CLUSTER_BROADCAST: &str = r#"{"type":3,"data":{"packet":{"type":2,"data":["ev",{"foo":"bar","arr":[1,2,3]},"second",42,true]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"c9d368d66e23e348","nsp":"/"}"#;

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("adapter/decode");
    let limits = DecodeLimits::default();
    let classic = classic_broadcast();
    group.throughput(Throughput::Bytes(classic.len() as u64));
    group.bench_function("classic_broadcast", |b| {
        b.iter(|| ClassicBroadcast::decode(black_box(&classic), &limits).unwrap())
    });
    let cluster = Bytes::from_static(CLUSTER_BROADCAST.as_bytes());
    group.throughput(Throughput::Bytes(cluster.len() as u64));
    group.bench_function("cluster_broadcast", |b| {
        b.iter(|| ClusterMessage::decode(black_box(&cluster), &limits).unwrap())
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("adapter/encode");
    let limits = DecodeLimits::default();
    let classic = ClassicBroadcast::decode(&classic_broadcast(), &limits).unwrap();
    group.throughput(Throughput::Bytes(classic_broadcast().len() as u64));
    group.bench_function("classic_broadcast", |b| {
        b.iter(|| black_box(&classic).encode())
    });
    let cluster =
        ClusterMessage::decode(&Bytes::from_static(CLUSTER_BROADCAST.as_bytes()), &limits).unwrap();
    group.throughput(Throughput::Bytes(CLUSTER_BROADCAST.len() as u64));
    group.bench_function("cluster_broadcast", |b| {
        b.iter(|| black_box(&cluster).encode(cluster.encoding()))
    });
    group.finish();
}

fn node(c: &mut Criterion) {
    let mut group = c.benchmark_group("adapter/node");
    let mut rooms = RoomRegistry::new();
    for sid in 0..1_000u32 {
        rooms.join("/", sid, "room1").unwrap();
    }
    for sid in 1_000..2_000u32 {
        rooms.join("/", sid, "other").unwrap();
    }
    let payload = Bytes::from_static(CLUSTER_BROADCAST.as_bytes());
    let config = NodeConfig {
        heartbeats: false,
        ..NodeConfig::default()
    };
    let mut node = ClusterNode::<u32>::new("0123456789abcdef", "/", config, Duration::ZERO);
    group.throughput(Throughput::Bytes(payload.len() as u64));
    group.bench_function("incoming_broadcast_room_of_1000", |b| {
        b.iter(|| {
            node.handle_message(
                "socket.io#/#room1#",
                black_box(&payload),
                Duration::ZERO,
                &rooms,
            )
            .unwrap();
            match node.poll_event() {
                Some(NodeEvent::Broadcast { recipients, .. }) => {
                    assert_eq!(recipients.len(), 1_000)
                }
                other => panic!("{other:?}"),
            }
        })
    });
    group.finish();
}

fn restore(c: &mut Criterion) {
    let mut group = c.benchmark_group("adapter/restore");
    let limits = DecodeLimits::default();
    group.throughput(Throughput::Bytes(SESSION_RECORD.len() as u64));
    group.bench_function("session_record", |b| {
        b.iter(|| PersistedSession::decode(black_box(SESSION_RECORD.as_bytes()), &limits).unwrap())
    });
    let entries: Vec<(String, StreamEntry)> = (1..=100u64)
        .map(|seq| {
            let entry = StreamEntry {
                uid: "45e590020bf39477".into(),
                nsp: "/".into(),
                message_type: "3".into(),
                data: Some(ENTRY_DATA.into()),
            };
            (format!("1796160700267-{seq}"), entry)
        })
        .collect();
    let session = PersistedSession::decode(SESSION_RECORD.as_bytes(), &limits).unwrap();
    let request = ResumeRequest {
        pid: session.pid.clone(),
        offset: Offset::Stream {
            millis: 1_796_160_700_267,
            seq: 0,
        },
    };
    group.throughput(Throughput::Bytes((100 * ENTRY_DATA.len()) as u64));
    group.bench_function("100_entries", |b| {
        b.iter(|| {
            let mut restore =
                StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap();
            restore
                .handle_lookup(Some(SESSION_RECORD.as_bytes()), true)
                .unwrap();
            restore.handle_range(black_box(&entries)).unwrap();
            restore.handle_range(&[]).unwrap();
            assert_eq!(restore.finish().unwrap().missed.len(), 100);
        })
    });
    group.finish();
}

criterion_group!(benches, decode, encode, node, restore);
criterion_main!(benches);
