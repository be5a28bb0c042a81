//! The server's nodes in one Socket.IO cluster over Redis (feature `redis`),
//! with Node.js socket.io nodes on the npm adapters: [`RedisAdapter`] with
//! [`AdapterMode::Classic`] (`@socket.io/redis-adapter`'s `createAdapter`),
//! [`AdapterMode::Sharded`] (its `createShardedAdapter`, Redis ≥ 7) or
//! [`AdapterMode::Streams`] (`@socket.io/redis-streams-adapter`).
//!
//! One task per server runs one core [`ClusterNode`] per namespace; it owns
//! the Redis connections, the clock and the random ids, and adds no protocol
//! of its own:
//!
//! ```text
//!  Redis push (channel, payload) ──▶ ClusterNode::handle_message ─┐
//!  XREAD BLOCK entries (reader)  ──▶ ClusterNode::handle_stream_entry ─┤──▶ poll_event ──▶ sessions (the server's one delivery path)
//!  SocketIo / BroadcastOperator ──command──▶ ClusterNode commands ─┘──▶ poll_publish ──▶ PUBLISH / SPUBLISH / XADD
//! ```
//!
//! | what | bound | when it is hit |
//! |---|---|---|
//! | commands waiting for the task | [`CLUSTER_COMMAND_SLOTS`] | the command is dropped (a request answers with what this node has) |
//! | pushed Redis messages waiting | [`PUSH_SLOTS`] | later ones are dropped |
//! | stream entries waiting | [`PUSH_SLOTS`] | the reader waits |
//! | the core node's queues and requests | [`NodeConfig`] | see there |
//! | a lost Redis connection | [`Backoff::socket_io_default`] between attempts | the task reconnects and subscribes again |
//! | a restore's `XRANGE` calls and missed packets | the core's `RestoreLimits` defaults (100 calls of 1 000 entries, 10 000 packets, 16 MiB) | the client is a new socket |
//!
//! With [`AdapterMode::Streams`] and connection state recovery on
//! ([`SocketIoBuilder::connection_state_recovery`](super::server::SocketIoBuilder::connection_state_recovery)),
//! recovery works across the cluster as `@socket.io/redis-streams-adapter`'s
//! does, Node.js nodes included: a broadcast (and a socket's own emit, to the
//! room of its id) is `XADD`ed first and delivered here with the entry id as
//! its offset ([`ClusterNode::broadcast_with_offset`]); a socket whose transport
//! closed is `SET sio:session:<pid> … PX max_disconnection_duration`; a resume
//! is `GETDEL` + `XRANGE` read by the core's `StreamRestore`, in the task, which
//! puts the socket back in its rooms before it reads another entry, so an
//! entry reaches it either in the replay or live, once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{AsyncPushSender, MultiplexedConnection, SendError as PushSendError};
use redis::{AsyncConnectionConfig, PushInfo, PushKind};
use socketwire::engineio::Backoff;
use socketwire::socketio::adapter::cluster::StreamEntry;
use socketwire::socketio::adapter::recovery::{PersistedSession, RestoreLimits, StreamRestore};
use socketwire::socketio::adapter::{
    AdapterPacket, BroadcastOptions, ClusterNode, NodeConfig, NodeEvent, Publish, Reply, Transport,
    channel::stream_name,
};
use socketwire::socketio::{Parser, RecoveredSession, ResumeRequest, Value};
use tokio::sync::{mpsc, oneshot};

use super::server::Inner;

/// Commands the cluster task may have waiting.
pub const CLUSTER_COMMAND_SLOTS: usize = 1024;

/// Redis messages (pushes, stream entries) waiting for the cluster task.
pub const PUSH_SLOTS: usize = 4096;

/// Entries one `XREAD` asks for.
const XREAD_COUNT: usize = 100;

/// How long one `XREAD` blocks (ms), under the connection's response timeout.
const XREAD_BLOCK_MS: u64 = 2000;

/// Which npm adapter the cluster's Node.js nodes use.
///
/// ```
/// use socketwire_tokio::socketio::adapter::AdapterMode;
/// assert_ne!(AdapterMode::Classic, AdapterMode::Streams);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdapterMode {
    /// `@socket.io/redis-adapter` `createAdapter(pub, sub)`.
    Classic,
    /// `@socket.io/redis-adapter` `createShardedAdapter(pub, sub)` with its
    /// default `subscriptionMode: "dynamic"` (`SPUBLISH` / `SSUBSCRIBE`).
    Sharded,
    /// `@socket.io/redis-streams-adapter` `createAdapter(client)`: stream
    /// `socket.io`, `MAXLEN ~ 10000`, heartbeats.
    Streams,
}

/// The cluster settings, given to
/// [`SocketIoBuilder::adapter`](super::server::SocketIoBuilder::adapter).
///
/// ```no_run
/// use socketwire_tokio::socketio::adapter::{AdapterMode, RedisAdapter};
/// use socketwire_tokio::socketio::server::SocketIo;
/// # async fn run() {
/// let adapter = RedisAdapter::new("redis://127.0.0.1:6379", AdapterMode::Sharded).namespace("/chat");
/// let (_service, _io) = SocketIo::builder().adapter(adapter).build();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RedisAdapter {
    url: String,
    mode: AdapterMode,
    namespaces: Vec<String>,
    node: NodeConfig,
}

impl RedisAdapter {
    /// An adapter on the Redis at `url` (`redis://host:port[/db]`) for
    /// namespace `/` (add others with [`namespace`](Self::namespace)).
    ///
    /// ```
    /// use socketwire_tokio::socketio::adapter::{AdapterMode, RedisAdapter};
    /// let _ = RedisAdapter::new("redis://127.0.0.1:6379", AdapterMode::Classic);
    /// ```
    pub fn new(url: &str, mode: AdapterMode) -> RedisAdapter {
        RedisAdapter {
            url: url.to_string(),
            mode,
            namespaces: vec!["/".to_string()],
            node: NodeConfig::default(),
        }
    }

    /// Also shares namespace `namespace` with the cluster.
    ///
    /// ```
    /// use socketwire_tokio::socketio::adapter::{AdapterMode, RedisAdapter};
    /// let _ = RedisAdapter::new("redis://127.0.0.1:6379", AdapterMode::Streams).namespace("/admin");
    /// ```
    pub fn namespace(mut self, namespace: &str) -> RedisAdapter {
        if !self.namespaces.iter().any(|n| n == namespace) {
            self.namespaces.push(namespace.to_string());
        }
        self
    }

    /// The core node's settings (queue caps, timeouts, prefix); the transport
    /// and heartbeats are set from the mode.
    ///
    /// ```
    /// use std::time::Duration;
    /// use socketwire::socketio::adapter::NodeConfig;
    /// use socketwire_tokio::socketio::adapter::{AdapterMode, RedisAdapter};
    /// let config = NodeConfig { request_timeout: Duration::from_secs(2), ..NodeConfig::default() };
    /// let _ = RedisAdapter::new("redis://127.0.0.1:6379", AdapterMode::Classic).node_config(config);
    /// ```
    pub fn node_config(mut self, config: NodeConfig) -> RedisAdapter {
        self.node = config;
        self
    }

    /// The namespaces whose offsets are stream ids (streams mode): with
    /// connection state recovery, their sessions are kept in Redis.
    pub(crate) fn stream_namespaces(&self) -> Vec<String> {
        match self.mode {
            AdapterMode::Streams => self.namespaces.clone(),
            _ => Vec::new(),
        }
    }

    /// How long the node waits for the other nodes' answers.
    pub(crate) fn request_timeout(&self) -> Duration {
        self.node.request_timeout
    }

    /// The node config of `namespace` for this mode.
    fn config_for(&self, namespace: &str) -> NodeConfig {
        let (transport, heartbeats) = match self.mode {
            AdapterMode::Classic => (
                Transport::Classic {
                    specific_response_channel: false,
                },
                false,
            ),
            AdapterMode::Sharded => (
                Transport::Sharded {
                    dynamic_rooms: true,
                },
                false,
            ),
            AdapterMode::Streams => (
                Transport::Streams {
                    stream: stream_name("socket.io", 1, namespace),
                    sharded_pubsub: false,
                    max_len: 10_000,
                },
                true,
            ),
        };
        NodeConfig {
            transport,
            heartbeats,
            ..self.node.clone()
        }
    }
}

/// What the server asks of the cluster task.
pub(crate) enum ClusterCommand {
    Broadcast {
        namespace: String,
        packet: AdapterPacket,
        opts: BroadcastOptions,
    },
    BroadcastWithAck {
        namespace: String,
        packet: AdapterPacket,
        opts: BroadcastOptions,
        reply: oneshot::Sender<Vec<Value>>,
    },
    FetchSockets {
        namespace: String,
        opts: BroadcastOptions,
        reply: oneshot::Sender<Vec<Value>>,
    },
    ServerSideEmit {
        namespace: String,
        packet: Vec<Value>,
        reply: Option<oneshot::Sender<Vec<Value>>>,
    },
    SocketsJoin {
        namespace: String,
        opts: BroadcastOptions,
        rooms: Vec<String>,
    },
    SocketsLeave {
        namespace: String,
        opts: BroadcastOptions,
        rooms: Vec<String>,
    },
    DisconnectSockets {
        namespace: String,
        opts: BroadcastOptions,
        close: bool,
    },
    /// A local client's ack of another node's broadcast.
    BroadcastAck {
        namespace: String,
        reply: Reply,
        packet: Option<Value>,
    },
    /// This node's handler answered another node's serverSideEmit.
    ServerSideEmitAnswer {
        namespace: String,
        reply: Reply,
        packet: Option<Value>,
    },
    /// Rooms changed here: the task follows (dynamic room channels).
    RoomsChanged { namespace: String },
    /// Streams mode with recovery: a broadcast (or a socket's own emit, to
    /// the room of its id) published first, delivered here with its entry id.
    BroadcastWithOffset {
        namespace: String,
        packet: AdapterPacket,
        opts: BroadcastOptions,
    },
    /// Streams mode with recovery: a socket went away; its record is `SET`
    /// at `sio:session:<pid>` with `PX ttl_ms`.
    PersistSession {
        namespace: String,
        session: PersistedSession,
        ttl_ms: u64,
    },
    /// Streams mode with recovery: `GETDEL` + `XRANGE` for a returning
    /// client; on success the socket of Engine.IO session `sid` is back in
    /// its rooms before the answer is sent.
    RestoreSession {
        namespace: String,
        sid: String,
        request: ResumeRequest,
        parser: Parser,
        reply: oneshot::Sender<Option<RecoveredSession>>,
    },
}

impl ClusterCommand {
    fn namespace(&self) -> &str {
        match self {
            ClusterCommand::Broadcast { namespace, .. }
            | ClusterCommand::BroadcastWithAck { namespace, .. }
            | ClusterCommand::FetchSockets { namespace, .. }
            | ClusterCommand::ServerSideEmit { namespace, .. }
            | ClusterCommand::SocketsJoin { namespace, .. }
            | ClusterCommand::SocketsLeave { namespace, .. }
            | ClusterCommand::DisconnectSockets { namespace, .. }
            | ClusterCommand::BroadcastAck { namespace, .. }
            | ClusterCommand::ServerSideEmitAnswer { namespace, .. }
            | ClusterCommand::RoomsChanged { namespace }
            | ClusterCommand::BroadcastWithOffset { namespace, .. }
            | ClusterCommand::PersistSession { namespace, .. }
            | ClusterCommand::RestoreSession { namespace, .. } => namespace,
        }
    }
}

/// 8 bytes from the OS CSPRNG in hex, as socket.io-adapter's `randomId`:
/// node uids and request ids.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 8];
    // An id others could guess lets them answer for a node: no fallback.
    getrandom::fill(&mut bytes).expect("operating system random source failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Redis pushes into a bounded channel; a full channel drops the message.
struct BoundedPush(mpsc::Sender<PushInfo>);

impl AsyncPushSender for BoundedPush {
    fn send(&self, info: PushInfo) -> Result<(), PushSendError> {
        match self.0.try_send(info) {
            Ok(()) => Ok(()),
            // Full: dropped (the node's requests end at their deadline).
            Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(PushSendError),
        }
    }
}

/// A request of this server, waiting for its node's `*Done` event.
enum Waiting {
    Values(oneshot::Sender<Vec<Value>>),
}

/// One namespace's node and what the glue keeps for it.
struct NamespaceNode {
    node: ClusterNode<String>,
    /// Dynamic room channels subscribed to (sharded mode).
    room_channels: BTreeSet<String>,
    /// Last stream entry id read.
    last_id: String,
    /// The stream (streams mode).
    stream: Option<String>,
}

/// The cluster task's state.
struct ClusterTask {
    inner: Arc<Inner>,
    adapter: RedisAdapter,
    nodes: HashMap<String, NamespaceNode>,
    waiting: HashMap<String, Waiting>,
    commands: mpsc::Receiver<ClusterCommand>,
}

/// Starts the cluster task of a server; its commands go to the returned sender.
pub(crate) fn spawn(inner: Arc<Inner>, adapter: RedisAdapter) -> mpsc::Sender<ClusterCommand> {
    let (tx, commands) = mpsc::channel(CLUSTER_COMMAND_SLOTS);
    let now = inner.now();
    let uid = random_id();
    let nodes = adapter
        .namespaces
        .iter()
        .map(|namespace| {
            let config = adapter.config_for(namespace);
            let stream = match &config.transport {
                Transport::Streams { stream, .. } => Some(stream.clone()),
                _ => None,
            };
            let state = NamespaceNode {
                node: ClusterNode::new(&uid, namespace, config, now),
                room_channels: BTreeSet::new(),
                last_id: "$".to_string(),
                stream,
            };
            (namespace.clone(), state)
        })
        .collect();
    let task = ClusterTask {
        inner,
        adapter,
        nodes,
        waiting: HashMap::new(),
        commands,
    };
    tokio::spawn(task.run());
    tx
}

/// A message pushed by Redis: `(channel, payload)` of a (p/s)message.
fn pushed_message(info: PushInfo) -> Option<(String, bytes::Bytes)> {
    let mut data = info.data.into_iter();
    let (channel, payload) = match info.kind {
        PushKind::Message | PushKind::SMessage => (data.next()?, data.next()?),
        PushKind::PMessage => {
            let _pattern = data.next()?;
            (data.next()?, data.next()?)
        }
        _ => return None,
    };
    let channel: String = redis::from_redis_value(channel).ok()?;
    let payload: Vec<u8> = redis::from_redis_value(payload).ok()?;
    Some((channel, payload.into()))
}

/// One `XREAD` reply's entries: (stream, id, entry), in order.
fn stream_entries(value: redis::Value) -> Vec<(String, String, StreamEntry)> {
    type Reply = Vec<(String, Vec<(String, Vec<(String, String)>)>)>;
    let Ok(streams) = redis::from_redis_value::<Option<Reply>>(value) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (stream, entries) in streams.unwrap_or_default() {
        out.extend(
            entries_of(entries)
                .into_iter()
                .map(|(id, entry)| (stream.clone(), id, entry)),
        );
    }
    out
}

/// One `XRANGE` reply's entries: (id, entry), in order; `None` when the
/// reply is not a list of entries.
fn range_entries(value: redis::Value) -> Option<Vec<(String, StreamEntry)>> {
    type Reply = Vec<(String, Vec<(String, String)>)>;
    redis::from_redis_value::<Reply>(value).ok().map(entries_of)
}

/// Entries `(id, [(field, value)])` as [`StreamEntry`]s (unknown fields left out).
fn entries_of(entries: Vec<(String, Vec<(String, String)>)>) -> Vec<(String, StreamEntry)> {
    entries
        .into_iter()
        .map(|(id, fields)| {
            let mut entry = StreamEntry {
                uid: String::new(),
                nsp: String::new(),
                message_type: String::new(),
                data: None,
            };
            for (name, value) in fields {
                match name.as_str() {
                    "uid" => entry.uid = value,
                    "nsp" => entry.nsp = value,
                    "type" => entry.message_type = value,
                    "data" => entry.data = Some(value),
                    _ => {}
                }
            }
            (id, entry)
        })
        .collect()
}

impl ClusterTask {
    async fn run(mut self) {
        let mut backoff = Backoff::socket_io_default();
        loop {
            match self.connected_loop(&mut backoff).await {
                // The server handle is gone: leave the cluster.
                Ok(()) => return,
                Err(_) => {
                    let random = f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
                    let delay = backoff.next_delay(random).unwrap_or(Duration::from_secs(5));
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Connects, subscribes, and runs until the connection drops (`Err`) or
    /// every server handle is gone (`Ok`).
    async fn connected_loop(&mut self, backoff: &mut Backoff) -> redis::RedisResult<()> {
        let url = if self.adapter.url.contains('?') {
            format!("{}&protocol=resp3", self.adapter.url)
        } else {
            format!("{}?protocol=resp3", self.adapter.url)
        };
        let client = redis::Client::open(url)?;
        let (push_tx, mut pushes) = mpsc::channel(PUSH_SLOTS);
        let config = AsyncConnectionConfig::new()
            .set_push_sender(BoundedPush(push_tx))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let mut con = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        for state in self.nodes.values_mut() {
            state.room_channels.clear();
            for sub in state.node.subscriptions() {
                let name = match (sub.pattern, sub.sharded) {
                    (true, _) => "PSUBSCRIBE",
                    (false, true) => "SSUBSCRIBE",
                    (false, false) => "SUBSCRIBE",
                };
                // One channel per command: one confirmation, the command's reply.
                redis::cmd(name)
                    .arg(&sub.channel)
                    .query_async::<redis::Value>(&mut con)
                    .await?;
            }
        }
        // Stream entries: a reader on its own connection (XREAD BLOCK would
        // hold up the multiplexed one).
        let (entry_tx, mut entries) = mpsc::channel::<(String, String, StreamEntry)>(PUSH_SLOTS);
        let mut reader = None;
        if self.adapter.mode == AdapterMode::Streams {
            let read_config =
                AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(10)));
            let read_con = client
                .get_multiplexed_async_connection_with_config(&read_config)
                .await?;
            // `$` made concrete (the last id, `0-0` for an empty stream): a
            // restore tells the entries read from those still to come by it.
            for state in self.nodes.values_mut() {
                let Some(stream) = state.stream.as_ref().filter(|_| state.last_id == "$") else {
                    continue;
                };
                let last: Vec<(String, Vec<(String, String)>)> = redis::cmd("XREVRANGE")
                    .arg(stream)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1)
                    .query_async(&mut con)
                    .await?;
                state.last_id = last.into_iter().next().map_or("0-0".into(), |(id, _)| id);
            }
            let streams: Vec<(String, String, String)> = self
                .nodes
                .iter()
                .filter_map(|(namespace, state)| {
                    let stream = state.stream.clone()?;
                    Some((namespace.clone(), stream, state.last_id.clone()))
                })
                .collect();
            reader = Some(tokio::spawn(read_streams(read_con, streams, entry_tx)));
        }
        backoff.reset();
        let result = self.serve(&mut con, &mut pushes, &mut entries).await;
        if let Some(reader) = reader {
            reader.abort();
        }
        if result.is_ok() {
            let now = self.inner.now();
            for state in self.nodes.values_mut() {
                state.node.close(now);
            }
            let _ = self.flush(&mut con).await;
        }
        result
    }

    async fn serve(
        &mut self,
        con: &mut MultiplexedConnection,
        pushes: &mut mpsc::Receiver<PushInfo>,
        entries: &mut mpsc::Receiver<(String, String, StreamEntry)>,
    ) -> redis::RedisResult<()> {
        loop {
            self.flush(con).await?;
            let deadline = self
                .nodes
                .values()
                .filter_map(|s| s.node.poll_timeout())
                .min();
            let sleep = super::server::sleep_until(self.inner.start, deadline);
            tokio::select! {
                push = pushes.recv() => match push {
                    Some(info) if info.kind == PushKind::Disconnection => {
                        return Err(redis::RedisError::from((redis::ErrorKind::Io, "disconnected")));
                    }
                    Some(info) => self.on_push(info),
                    None => return Err(redis::RedisError::from((redis::ErrorKind::Io, "disconnected"))),
                },
                entry = entries.recv() => match entry {
                    Some((namespace, id, entry)) => self.on_entry(&namespace, &id, &entry),
                    // The reader's connection failed.
                    None => return Err(redis::RedisError::from((redis::ErrorKind::Io, "stream reader stopped"))),
                },
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(con, command).await?,
                    None => return Ok(()),
                },
                () = sleep => {
                    let now = self.inner.now();
                    for state in self.nodes.values_mut() {
                        state.node.handle_timeout(now);
                    }
                }
            }
        }
    }

    fn on_push(&mut self, info: PushInfo) {
        let Some((channel, payload)) = pushed_message(info) else {
            return;
        };
        let now = self.inner.now();
        let rooms = super::server::lock(&self.inner.rooms);
        for state in self.nodes.values_mut() {
            // A refused payload leaves the node unchanged; nothing to answer.
            let _ = state.node.handle_message(&channel, &payload, now, &rooms);
        }
    }

    fn on_entry(&mut self, namespace: &str, id: &str, entry: &StreamEntry) {
        let now = self.inner.now();
        let Some(state) = self.nodes.get_mut(namespace) else {
            return;
        };
        state.last_id = id.to_string();
        let rooms = super::server::lock(&self.inner.rooms);
        let _ = state.node.handle_stream_entry(entry, id, now, &rooms);
    }

    /// Without heartbeats: the server count from Redis, before a request.
    async fn refresh_server_count(
        &mut self,
        con: &mut MultiplexedConnection,
        namespace: &str,
    ) -> redis::RedisResult<()> {
        let Some(state) = self.nodes.get_mut(namespace) else {
            return Ok(());
        };
        let (sub, channel) = match self.adapter.mode {
            AdapterMode::Classic => ("NUMSUB", state.node.channels().classic_request()),
            AdapterMode::Sharded => ("SHARDNUMSUB", state.node.channels().broadcast(None)),
            AdapterMode::Streams => return Ok(()),
        };
        let counts: Vec<(String, usize)> = redis::cmd("PUBSUB")
            .arg(sub)
            .arg(&channel)
            .query_async(con)
            .await?;
        let count = counts.first().map_or(1, |(_, n)| *n);
        state.node.set_server_count(count);
        Ok(())
    }

    async fn on_command(
        &mut self,
        con: &mut MultiplexedConnection,
        command: ClusterCommand,
    ) -> redis::RedisResult<()> {
        let namespace = command.namespace().to_string();
        let is_request = matches!(
            &command,
            ClusterCommand::BroadcastWithAck { .. }
                | ClusterCommand::FetchSockets { .. }
                | ClusterCommand::ServerSideEmit { reply: Some(_), .. }
        );
        if is_request {
            self.refresh_server_count(con, &namespace).await?;
        }
        let now = self.inner.now();
        let Some(state) = self.nodes.get_mut(&namespace) else {
            // Not shared with the cluster: requests end with this node's part.
            return Ok(());
        };
        let node = &mut state.node;
        // A refused command (a full queue, too many requests) ends with this
        // node's part: its reply sender is dropped.
        match command {
            ClusterCommand::Broadcast { packet, opts, .. } => {
                let _ = node.broadcast(packet, opts, now);
            }
            ClusterCommand::BroadcastWithAck {
                packet,
                opts,
                reply,
                ..
            } => {
                let id = random_id();
                if node.broadcast_with_ack(&id, packet, opts, now).is_ok() {
                    self.waiting.insert(id, Waiting::Values(reply));
                }
            }
            ClusterCommand::FetchSockets { opts, reply, .. } => {
                let id = random_id();
                if node.fetch_sockets(&id, opts, now).is_ok() {
                    self.waiting.insert(id, Waiting::Values(reply));
                }
            }
            ClusterCommand::ServerSideEmit {
                packet,
                reply: None,
                ..
            } => {
                let _ = node.server_side_emit(packet, now);
            }
            ClusterCommand::ServerSideEmit {
                packet,
                reply: Some(reply),
                ..
            } => {
                let id = random_id();
                if node.server_side_emit_with_ack(&id, packet, now).is_ok() {
                    self.waiting.insert(id, Waiting::Values(reply));
                }
            }
            ClusterCommand::SocketsJoin { opts, rooms, .. } => {
                let _ = node.sockets_join(opts, rooms, now);
            }
            ClusterCommand::SocketsLeave { opts, rooms, .. } => {
                let _ = node.sockets_leave(opts, rooms, now);
            }
            ClusterCommand::DisconnectSockets { opts, close, .. } => {
                let _ = node.disconnect_sockets(opts, close, now);
            }
            ClusterCommand::BroadcastAck { reply, packet, .. } => {
                let _ = node.broadcast_ack(&reply, packet);
            }
            ClusterCommand::ServerSideEmitAnswer { reply, packet, .. } => {
                let _ = node.respond_server_side_emit(&reply, packet);
            }
            // The flush after it syncs the room channels.
            ClusterCommand::RoomsChanged { .. } => {}
            ClusterCommand::BroadcastWithOffset { packet, opts, .. } => {
                let rooms = super::server::lock(&self.inner.rooms);
                let _ = node.broadcast_with_offset(packet, opts, now, &rooms);
            }
            ClusterCommand::PersistSession {
                session, ttl_ms, ..
            } => keep_session(con, &session, ttl_ms).await?,
            ClusterCommand::RestoreSession {
                namespace,
                sid,
                request,
                parser,
                reply,
            } => {
                let restored = self
                    .restore_session(con, &namespace, &request, parser)
                    .await?;
                // A new socket: the reply is dropped.
                let Some(session) = restored else {
                    return Ok(());
                };
                // Back in its rooms now, before the task reads another entry:
                // what the restore left to live delivery reaches it.
                let back = self.inner.rejoin(&namespace, &sid, &session);
                let unsent = match back {
                    true => reply.send(Some(session)).err().flatten(),
                    false => Some(session),
                };
                if let Some(session) = unsent {
                    // Its session is gone or gave up waiting: out again, kept again.
                    if back {
                        self.inner.unjoin(&namespace, &sid);
                    }
                    if let Some(ttl_ms) = self.inner.recovery_ttl_ms() {
                        let record = PersistedSession {
                            sid: session.sid,
                            pid: session.pid,
                            rooms: session.rooms,
                            data: session.data,
                        };
                        keep_session(con, &record, ttl_ms).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `restoreSession(pid, offset)`: the core's [`StreamRestore`] says what
    /// to ask, and reads the answers. `Ok(None)`: not restorable (the client
    /// is a new socket); `Err`: Redis failed.
    async fn restore_session(
        &mut self,
        con: &mut MultiplexedConnection,
        namespace: &str,
        request: &ResumeRequest,
        parser: Parser,
    ) -> redis::RedisResult<Option<RecoveredSession>> {
        let Some(state) = self.nodes.get(namespace) else {
            return Ok(None);
        };
        let Some(stream) = state.stream.clone() else {
            return Ok(None);
        };
        let limits = RestoreLimits::default();
        let Ok(mut restore) = StreamRestore::new(namespace, request, parser, limits) else {
            return Ok(None);
        };
        restore.live_after(&state.last_id, state.node.uid());
        let offset = restore.offset();
        let (record, found): (Option<Vec<u8>>, Vec<redis::Value>) = redis::pipe()
            .cmd("GETDEL")
            .arg(restore.session_key())
            .cmd("XRANGE")
            .arg(&stream)
            .arg(&offset)
            .arg(&offset)
            .query_async(con)
            .await?;
        if restore
            .handle_lookup(record.as_deref(), !found.is_empty())
            .is_err()
        {
            return Ok(None);
        }
        while let Some(start) = restore.next_range() {
            let reply: redis::Value = redis::cmd("XRANGE")
                .arg(&stream)
                .arg(start)
                .arg("+")
                .arg("COUNT")
                .arg(limits.range_count)
                .query_async(con)
                .await?;
            let Some(entries) = range_entries(reply) else {
                return Ok(None);
            };
            if restore.handle_range(&entries).is_err() {
                return Ok(None);
            }
        }
        Ok(restore.finish().ok())
    }

    /// Sends what the nodes publish, runs their events, and keeps the
    /// dynamic room subscriptions in step with the registry.
    async fn flush(&mut self, con: &mut MultiplexedConnection) -> redis::RedisResult<()> {
        let namespaces: Vec<String> = self.nodes.keys().cloned().collect();
        for namespace in namespaces {
            while let Some(state) = self.nodes.get_mut(&namespace) {
                if let Some(event) = state.node.poll_event() {
                    self.on_event(&namespace, event);
                    continue;
                }
                let Some(publish) = state.node.poll_publish() else {
                    break;
                };
                let token = match &publish {
                    Publish::Stream { token, .. } => *token,
                    Publish::Channel { .. } => None,
                };
                let result = publish_to(con, publish).await;
                if let Some(token) = token {
                    let rooms = super::server::lock(&self.inner.rooms);
                    match &result {
                        Ok(Some(id)) => {
                            let _ = state.node.handle_published(token, id, &rooms);
                        }
                        _ => state.node.handle_publish_failed(token, &rooms),
                    }
                }
                // A failed XADD's fan-out is queued (without offset) for the next flush.
                result?;
            }
            self.sync_room_channels(con, &namespace).await?;
        }
        Ok(())
    }

    /// Sharded, dynamic rooms: `SSUBSCRIBE` the channel of each public room
    /// this node has members in, `SUNSUBSCRIBE` the emptied ones.
    async fn sync_room_channels(
        &mut self,
        con: &mut MultiplexedConnection,
        namespace: &str,
    ) -> redis::RedisResult<()> {
        let Some(state) = self.nodes.get_mut(namespace) else {
            return Ok(());
        };
        let wanted: BTreeSet<String> = {
            let socket_ids = super::server::lock(&self.inner.socket_ids);
            let ids: BTreeSet<&str> = socket_ids
                .iter()
                .filter(|((_, ns), _)| ns == namespace)
                .map(|(_, id)| id.as_str())
                .collect();
            let rooms = super::server::lock(&self.inner.rooms);
            rooms
                .room_names(namespace)
                .filter_map(|room| {
                    state
                        .node
                        .room_subscription(room, ids.contains(room))
                        .map(|s| s.channel)
                })
                .collect()
        };
        let added: Vec<String> = wanted.difference(&state.room_channels).cloned().collect();
        let removed: Vec<String> = state.room_channels.difference(&wanted).cloned().collect();
        for channel in added {
            redis::cmd("SSUBSCRIBE")
                .arg(&channel)
                .query_async::<redis::Value>(con)
                .await?;
            state.room_channels.insert(channel);
        }
        for channel in removed {
            redis::cmd("SUNSUBSCRIBE")
                .arg(&channel)
                .query_async::<redis::Value>(con)
                .await?;
            state.room_channels.remove(&channel);
        }
        Ok(())
    }

    fn on_event(&mut self, namespace: &str, event: NodeEvent<String>) {
        let inner = &self.inner;
        match event {
            NodeEvent::Broadcast {
                mut packet,
                opts,
                recipients,
                ack,
                offset,
            } => {
                if let Some(offset) = offset.filter(|_| inner.stream_offsets(namespace)) {
                    packet.push_offset(&opts, &offset);
                }
                let mut data = packet.data.into_iter();
                let Some(Value::String(event)) = data.next() else {
                    return;
                };
                let args: Vec<Value> = data.collect();
                match ack {
                    None => inner.deliver(namespace, &opts.target(), &event, args),
                    Some(reply) => {
                        let timeout = opts
                            .flags
                            .as_ref()
                            .and_then(|f| f.timeout_ms())
                            .map_or(Duration::from_secs(5), Duration::from_millis);
                        let acks = inner.emit_with_acks(namespace, recipients, &event, args);
                        let Some(tx) = inner.cluster.get().cloned() else {
                            return;
                        };
                        let namespace = namespace.to_string();
                        for ack in acks {
                            let (tx, reply, namespace) =
                                (tx.clone(), reply.clone(), namespace.clone());
                            tokio::spawn(async move {
                                if let Ok(Ok(Ok(args))) = tokio::time::timeout(timeout, ack).await {
                                    let packet = args.into_iter().next();
                                    let _ = tx.try_send(ClusterCommand::BroadcastAck {
                                        namespace,
                                        reply,
                                        packet,
                                    });
                                }
                            });
                        }
                    }
                }
            }
            NodeEvent::SocketsJoin { sockets, rooms } => {
                let mut registry = super::server::lock(&inner.rooms);
                for sid in sockets {
                    for room in &rooms {
                        let _ = registry.join(namespace, sid.clone(), room);
                    }
                }
            }
            NodeEvent::SocketsLeave { sockets, rooms } => {
                let mut registry = super::server::lock(&inner.rooms);
                for sid in sockets {
                    for room in &rooms {
                        registry.leave(namespace, &sid, room);
                    }
                }
            }
            NodeEvent::DisconnectSockets { sockets, close } => {
                inner.disconnect_local(namespace, &sockets, close);
            }
            NodeEvent::FetchSockets { sockets, reply } => {
                let details = inner.socket_details(namespace, &sockets);
                if let Some(state) = self.nodes.get_mut(namespace) {
                    let _ = state.node.respond_fetch_sockets(&reply, details);
                }
            }
            NodeEvent::ServerSideEmit { packet, reply } => {
                inner.server_side_emitted(namespace, packet, reply);
            }
            NodeEvent::SocketsAsked { sockets, reply } => {
                // Classic SOCKETS: the ids of the sockets asked for.
                let ids = inner
                    .socket_details(namespace, &sockets)
                    .iter()
                    .filter_map(|s| s.get("id").and_then(Value::as_str).map(String::from))
                    .collect();
                if let Some(state) = self.nodes.get_mut(namespace) {
                    let _ = state.node.respond_sockets(&reply, ids);
                }
            }
            NodeEvent::FetchSocketsDone {
                request_id,
                sockets: values,
                ..
            }
            | NodeEvent::ServerSideEmitDone {
                request_id,
                responses: values,
                ..
            }
            | NodeEvent::BroadcastAckDone {
                request_id,
                acks: values,
                ..
            } => {
                if let Some(Waiting::Values(tx)) = self.waiting.remove(&request_id) {
                    let _ = tx.send(values);
                }
            }
            _ => {}
        }
    }
}

/// `SET sio:session:<pid> <record> PX <ttl>` (the streams adapter's `persistSession`).
async fn keep_session(
    con: &mut MultiplexedConnection,
    session: &PersistedSession,
    ttl_ms: u64,
) -> redis::RedisResult<()> {
    redis::cmd("SET")
        .arg(session.key())
        .arg(session.encode())
        .arg("PX")
        .arg(ttl_ms.max(1))
        .query_async::<redis::Value>(con)
        .await
        .map(drop)
}

/// `PUBLISH` / `SPUBLISH` / `XADD … MAXLEN ~ n *`; the entry id of an `XADD`.
async fn publish_to(
    con: &mut MultiplexedConnection,
    publish: Publish,
) -> redis::RedisResult<Option<String>> {
    match publish {
        Publish::Channel {
            channel,
            payload,
            sharded,
        } => {
            let name = if sharded { "SPUBLISH" } else { "PUBLISH" };
            redis::cmd(name)
                .arg(channel)
                .arg(payload.as_ref())
                .query_async::<redis::Value>(con)
                .await?;
        }
        Publish::Stream {
            stream,
            max_len,
            entry,
            ..
        } => {
            let mut cmd = redis::cmd("XADD");
            cmd.arg(stream).arg("MAXLEN").arg("~").arg(max_len).arg("*");
            for (name, value) in entry.fields() {
                cmd.arg(name).arg(value);
            }
            return cmd.query_async::<String>(con).await.map(Some);
        }
    }
    Ok(None)
}

/// The streams reader: `XREAD BLOCK` from `$` (then from the last id) on
/// each namespace's stream, entries into the bounded channel. Namespaces
/// usually share one stream (the adapter's default name is `socket.io` for
/// all): each stream is read once, from one position that every entry
/// moves on, whichever namespace it is for (one this node does not serve
/// included), and an entry goes to the namespace it names.
async fn read_streams(
    mut con: MultiplexedConnection,
    namespaces: Vec<(String, String, String)>,
    out: mpsc::Sender<(String, String, StreamEntry)>,
) {
    let mut streams = ReadPositions::new(&namespaces);
    loop {
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("BLOCK")
            .arg(XREAD_BLOCK_MS)
            .arg("COUNT")
            .arg(XREAD_COUNT)
            .arg("STREAMS");
        for (stream, _) in &streams.positions {
            cmd.arg(stream);
        }
        for (_, id) in &streams.positions {
            cmd.arg(id);
        }
        let Ok(value) = cmd.query_async::<redis::Value>(&mut con).await else {
            return;
        };
        for (stream, id, entry) in stream_entries(value) {
            let Some(namespace) = streams.read(&stream, &id, &entry.nsp) else {
                continue;
            };
            if out.send((namespace, id, entry)).await.is_err() {
                return;
            }
        }
    }
}

/// Where the reader is in each distinct stream, and which namespace reads
/// which stream.
struct ReadPositions {
    /// (stream, last id read), one per distinct stream.
    positions: Vec<(String, String)>,
    /// (namespace, stream).
    namespaces: Vec<(String, String)>,
}

impl ReadPositions {
    /// From (namespace, stream, last id) triples; a stream named twice
    /// starts from its first triple's id (they are the same: both came from
    /// one `XREVRANGE`).
    fn new(namespaces: &[(String, String, String)]) -> ReadPositions {
        let mut positions: Vec<(String, String)> = Vec::new();
        for (_, stream, id) in namespaces {
            if !positions.iter().any(|(s, _)| s == stream) {
                positions.push((stream.clone(), id.clone()));
            }
        }
        let namespaces = namespaces
            .iter()
            .map(|(ns, stream, _)| (ns.clone(), stream.clone()))
            .collect();
        ReadPositions {
            positions,
            namespaces,
        }
    }

    /// Entry `id` of `stream` is read: the position moves on; the
    /// namespace `nsp` that reads it, if this node serves it there.
    fn read(&mut self, stream: &str, id: &str, nsp: &str) -> Option<String> {
        let (_, last) = self.positions.iter_mut().find(|(s, _)| s == stream)?;
        *last = id.to_string();
        self.namespaces
            .iter()
            .find(|(ns, s)| ns == nsp && s == stream)
            .map(|(ns, _)| ns.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_16_hex_digits_and_differ() {
        let (a, b) = (random_id(), random_id());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn pushed_messages_give_channel_and_payload() {
        let v = |s: &str| redis::Value::BulkString(s.as_bytes().to_vec());
        let message = PushInfo {
            kind: PushKind::PMessage,
            data: vec![v("socket.io#/#*"), v("socket.io#/#r#"), v("x")],
        };
        let (channel, payload) = pushed_message(message).unwrap();
        assert_eq!(channel, "socket.io#/#r#");
        assert_eq!(&payload[..], b"x");
        let other = PushInfo {
            kind: PushKind::Subscribe,
            data: vec![v("c"), redis::Value::Int(1)],
        };
        assert!(pushed_message(other).is_none());
    }

    #[test]
    fn a_full_push_queue_drops_and_a_closed_one_refuses() {
        let (tx, mut rx) = mpsc::channel(2);
        let push = BoundedPush(tx);
        let info = || PushInfo {
            kind: PushKind::Message,
            data: Vec::new(),
        };
        // Three pushed into two slots: the third is dropped, not queued.
        for _ in 0..3 {
            assert!(push.send(info()).is_ok());
        }
        assert!(rx.try_recv().is_ok());
        assert!(rx.try_recv().is_ok());
        assert!(rx.try_recv().is_err());
        drop(rx);
        assert!(push.send(info()).is_err());
    }

    #[test]
    fn xread_replies_become_entries_in_order() {
        let s = |v: &str| redis::Value::BulkString(v.as_bytes().to_vec());
        let entry = |id: &str, kind: &str| {
            redis::Value::Array(vec![
                s(id),
                redis::Value::Array(vec![
                    s("uid"),
                    s("u1"),
                    s("nsp"),
                    s("/"),
                    s("type"),
                    s(kind),
                ]),
            ])
        };
        let reply = redis::Value::Array(vec![redis::Value::Array(vec![
            s("socket.io"),
            redis::Value::Array(vec![entry("1-0", "2"), entry("2-0", "3")]),
        ])]);
        let entries = stream_entries(reply);
        let ids: Vec<(&str, &str)> = entries
            .iter()
            .map(|(stream, id, _)| (stream.as_str(), id.as_str()))
            .collect();
        assert_eq!(ids, [("socket.io", "1-0"), ("socket.io", "2-0")]);
        assert_eq!(entries[1].2.message_type, "3");
        assert_eq!(entries[0].2.data, None);
        assert!(stream_entries(redis::Value::Nil).is_empty());
    }

    #[test]
    fn namespaces_on_one_stream_read_it_once_and_every_entry_moves_it_on() {
        let triple =
            |ns: &str, stream: &str| (ns.to_string(), stream.to_string(), "5-0".to_string());
        let mut read = ReadPositions::new(&[
            triple("/", "socket.io"),
            triple("/chat", "socket.io"),
            triple("/own", "own-stream"),
        ]);
        let streams: Vec<&str> = read.positions.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(streams, ["socket.io", "own-stream"]);
        assert_eq!(
            read.read("socket.io", "6-0", "/chat").as_deref(),
            Some("/chat")
        );
        // A namespace this node does not serve: passed over, the position moves on.
        assert_eq!(read.read("socket.io", "7-0", "/elsewhere"), None);
        // A namespace served, but on another stream.
        assert_eq!(read.read("socket.io", "8-0", "/own"), None);
        assert_eq!(
            read.read("own-stream", "9-0", "/own").as_deref(),
            Some("/own")
        );
        assert_eq!(read.read("unknown", "10-0", "/"), None);
        let ids: Vec<&str> = read.positions.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids, ["8-0", "9-0"]);
    }

    #[test]
    fn stream_names_follow_the_mode() {
        let adapter = RedisAdapter::new("redis://127.0.0.1:1", AdapterMode::Streams);
        let config = adapter.config_for("/");
        assert!(config.heartbeats);
        assert!(
            matches!(config.transport, Transport::Streams { ref stream, .. } if stream == "socket.io")
        );
        let classic =
            RedisAdapter::new("redis://127.0.0.1:1", AdapterMode::Classic).config_for("/");
        assert!(!classic.heartbeats);
    }
}
