//! Socket.IO beyond one node, sans-IO: the messages of the Redis adapters and
//! of socket.io-adapter's `ClusterAdapter`, their channel names, and a cluster
//! state machine. Bytes in, typed messages and "publish this on that channel"
//! out; the Redis client lives in the runtime crate.
//!
//! ```text
//!  Redis (channel, payload) ──► ClusterNode::handle_message ──► poll_event: Broadcast { recipients } ──► sessions
//!  Redis XREAD entry        ──► ClusterNode::handle_stream_entry   (RoomRegistry decides the recipients)
//!  commands (broadcast, fetch_sockets, …) ──► poll_publish: Publish::Channel / Publish::Stream ──► Redis
//!  poll_timeout / handle_timeout: heartbeats, node expiry, request deadlines
//! ```
//!
//! | layer | types |
//! |---|---|
//! | payloads | [`decode_payload`] / [`encode_payload`] (JSON when it starts with `{`, msgpack otherwise), [`DecodeLimits`], [`Encoding`] |
//! | shared parts | [`BroadcastOptions`] (`{rooms, except, flags}`), [`Flags`], [`AdapterPacket`] (`{type, data, nsp?}`) |
//! | classic Redis adapter | [`classic::ClassicBroadcast`], [`classic::ClassicRequest`] / [`classic::RequestBody`], [`classic::ClassicResponse`] |
//! | ClusterAdapter (sharded, streams, heartbeat) | [`cluster::ClusterMessage`] / [`cluster::ClusterBody`], [`cluster::StreamEntry`] |
//! | recovery over the streams adapter | [`recovery::PersistedSession`] (`sio:session:<pid>`), [`recovery::StreamRestore`] (GETDEL + XRANGE replies in, the resumed socket out), [`recovery::RestoreLimits`], [`recovery::RestoreError`] |
//! | channel names | [`channel::Channels`], [`channel::ChannelKind`], [`channel::stream_name`] |
//! | cluster state machine | [`ClusterNode`], [`NodeConfig`], [`Transport`], [`Publish`], [`PublishToken`], [`NodeEvent`], [`Reply`] |
//! | errors | [`Error`] (peer), [`ApiMisuse`] (caller) |
//!
//! Wire details follow the published JavaScript of `@socket.io/redis-adapter`
//! 8.3.0 (`dist/index.js`, `dist/sharded-adapter.js`),
//! `@socket.io/redis-streams-adapter` 0.3.1 and `socket.io-adapter` 2.5
//! (`dist/cluster-adapter.js`); `tests/vectors/adapter/captured.json` holds
//! what those packages publish, captured from Redis, and the tests decode and
//! re-encode every entry. Keys are written in the order the JS objects have
//! them, so a JSON message re-encodes to the same bytes.
//!
//! The [`ClusterNode`] speaks the ClusterAdapter protocol (every transport of
//! [`Transport`]); the classic adapter's messages have codecs here and its
//! request/response flow is left to the caller.
#![cfg(feature = "adapter")]

mod base64;
pub mod channel;
pub mod classic;
pub mod cluster;
mod error;
mod node;
mod payload;
pub mod recovery;

pub use error::{ApiMisuse, Error};
pub use node::{
    ClusterNode, LeaveReason, NodeConfig, NodeEvent, Publish, PublishToken, Reply, Subscription,
    Transport,
};
pub use payload::{
    AdapterPacket, BroadcastOptions, DecodeLimits, Encoding, Flags, decode_payload, encode_payload,
};
