//! A Socket.IO server on tokio: [`SocketIo`] (the handle: namespaces,
//! broadcasts) and [`SocketIoService`] (a tower `Service` of HTTP requests to
//! mount at `/socket.io/`), over Engine.IO long-polling and WebSocket (the
//! crate's own [`Upgrade`](crate::Upgrade)), with the names a socketioxide user knows.
//!
//! The protocol is the core's: one [`engineio::ServerSession`] under one
//! [`socketio::ServerSession`](CoreSession) per client connection, and one
//! [`RoomRegistry`] for the server. The Engine.IO side (polling requests,
//! WebSocket upgrades, the session task and its WebSocket, the session, body
//! and write caps)
//! is the crate's [`engineio`](crate::engineio) server, which this one runs
//! on: each session task also owns the Socket.IO session. This module owns
//! the socket tasks, the rooms, the broadcasts and the socket ids:
//!
//! ```text
//!  GET / POST ──Service::call──▶ session task ◀──▶ its WebSocket (read and written in the task)
//!  SocketRef::emit, AckSender::send ──command──▶ │ (owns both core sessions)
//!  BroadcastOperator::emit ──mailbox (same channel)─▶ │ ──▶ parked GET
//!                       session task ──events──▶ socket task (connect handler, `on` handlers, `on_disconnect`)
//! ```
//!
//! Each client connection has one session task that alone owns its core
//! sessions: every request, WebSocket message, command and broadcast for it is
//! a message on that task's bounded channel, so no session ever locks another.
//! The room registry has its own lock, held only while a join, leave or
//! broadcast lookup runs (never across an await).
//!
//! Every queue has a cap and every wait a deadline:
//!
//! | what | bound | when it is hit |
//! |---|---|---|
//! | commands and broadcasts waiting for a session | [`COMMAND_SLOTS`] | an emit fails with [`SendError::Full`]; a broadcast flags the member, whose session is closed |
//! | a member's buffered bytes at a broadcast | [`SocketIoConfig::max_backpressure`] | that member gets no copy and its session is closed |
//! | events waiting for a socket's handlers | [`EVENT_SLOTS`] | the session is closed |
//! | emits made in the connect handler, before the accept | [`EVENT_SLOTS`] | later ones are dropped (with recovery on, the session is closed: the client recovers them) |
//! | the recovery log and the sessions kept | [`RecoveryConfig`] (packets, bytes, sessions, `max_disconnection_duration`) | the oldest go; a client whose packets went reconnects as a new socket |
//! | messages waiting unwritten on a WebSocket | the Engine.IO `max_buffered_packets` (and the WebSocket `max_write_buffer` bytes) | the session is closed |
//! | a POST body | [`SocketIoConfig::max_http_body`] | `413`, the session is unaffected |
//! | reading a POST body | [`SocketIoConfig::request_timeout`] | `408` |
//! | writing a WebSocket message | [`SocketIoConfig::write_timeout`] | the socket is dropped |
//! | an ack | the core's `ack_timeout` | [`AckError::Timeout`] |
//! | a broadcast's acks ([`BroadcastOperator::emit_with_ack`]) | its `timeout` (the other nodes': one second more) | it resolves with the acks that came |
//! | the cluster's answers (feature `redis`: fetchSockets, serverSideEmit) | the adapter's request timeout and one second | this node's part alone |
//!
//! ```no_run
//! use socketwire_tokio::socketio::server::{SocketIo, SocketRef};
//! use socketwire_tokio::socketio::Value;
//! # async fn run() -> std::io::Result<()> {
//! let (service, io) = SocketIo::new(Default::default());
//! io.ns("/", |socket: SocketRef, auth: Value| async move {
//!     socket.on("message", |socket: SocketRef, args: Vec<Value>, _ack| async move {
//!         let _ = socket.emit("message-back", args);
//!     });
//!     Ok(())
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! socketwire_tokio::socketio::server::serve(listener, service).await
//! # }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
#[cfg(feature = "redis")]
use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body;
use socketwire::engineio::{self, CloseReason, MessageData};
use socketwire::socketio::{
    Broadcast, DisconnectReason, DisconnectedSession, EncodedPacket, EngineMessage, PacketTarget,
    Parser, RecoveredSession, RecoveryConfig, RecoveryStore, RoomRegistry,
    ServerEvent as CoreEvent, ServerSession as CoreSession, Value,
};
use tokio::sync::{mpsc, oneshot};

#[cfg(feature = "redis")]
use super::adapter::{ClusterCommand, RedisAdapter};
use crate::Config;
use crate::engineio::EngineIoConfig;
pub(crate) use crate::engineio::driver::lock;
#[cfg(feature = "redis")]
pub(crate) use crate::engineio::driver::sleep_until;
use crate::engineio::driver::{Core, Handler, SessionHandle, Sessions};
pub use crate::engineio::{COMMAND_SLOTS, SendError};
#[cfg(feature = "redis")]
use socketwire::socketio::adapter::recovery::PersistedSession;
#[cfg(feature = "redis")]
use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions, Flags, Reply as NodeReply};

/// Events one socket's handlers may have waiting.
pub const EVENT_SLOTS: usize = 256;

/// The server's settings.
///
/// ```
/// use socketwire_tokio::socketio::server::SocketIoConfig;
/// let config = SocketIoConfig { max_backpressure: 4 << 20, ..SocketIoConfig::default() };
/// assert_eq!(config.engineio.max_payload, 1_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct SocketIoConfig {
    /// Engine.IO: heartbeats, payload and buffer caps, transports, sessions.
    pub engineio: engineio::ServerConfig,
    /// Socket.IO: connect and ack timeouts, decoder limits (its version is set
    /// per connection from the Engine.IO version).
    pub socketio: socketwire::socketio::ServerConfig,
    /// The WebSocket settings (permessage-deflate, the write buffer); its
    /// frame and message limits are replaced by the Engine.IO `max_payload`.
    pub websocket: Config,
    /// A broadcast skips, and closes, a member whose buffered bytes (its core
    /// sessions', its mailbox's and its WebSocket's unwritten bytes) the packet would
    /// take past this. Default 1 MiB.
    pub max_backpressure: usize,
    /// Most bytes of a POST body (`413` past it). Default: the Engine.IO
    /// `max_payload`.
    pub max_http_body: usize,
    /// A POST body must arrive within this (`408`). Default 10 s.
    pub request_timeout: Duration,
    /// A WebSocket message must be written within this, or the socket is
    /// dropped (a peer that stops reading). Default 10 s.
    pub write_timeout: Duration,
    /// Connection state recovery (socket.io `connectionStateRecovery`; Socket.IO
    /// v5 clients): `None` (the default) turns it off. See
    /// [`SocketIoBuilder::connection_state_recovery`].
    pub recovery: Option<RecoveryConfig>,
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        // The Engine.IO layer's defaults, one list of them.
        let engine = EngineIoConfig::default();
        SocketIoConfig {
            engineio: engine.engineio,
            socketio: Default::default(),
            websocket: engine.websocket,
            max_backpressure: engine.max_backpressure,
            max_http_body: engine.max_http_body,
            request_timeout: engine.request_timeout,
            write_timeout: engine.write_timeout,
            recovery: None,
        }
    }
}

impl SocketIoConfig {
    /// The settings of the Engine.IO layer the server runs on (its
    /// Engine.IO, WebSocket, backpressure, body and deadline settings), e.g.
    /// for an [`EngineIo`](crate::engineio::EngineIo) beside it configured alike.
    ///
    /// ```
    /// use socketwire_tokio::socketio::server::SocketIoConfig;
    /// let config = SocketIoConfig { max_http_body: 4096, ..SocketIoConfig::default() };
    /// assert_eq!(config.engine_config().max_http_body, 4096);
    /// ```
    pub fn engine_config(&self) -> EngineIoConfig {
        EngineIoConfig {
            engineio: self.engineio.clone(),
            websocket: self.websocket.clone(),
            max_backpressure: self.max_backpressure,
            max_http_body: self.max_http_body,
            request_timeout: self.request_timeout,
            write_timeout: self.write_timeout,
        }
    }
}

/// Why [`SocketRef::emit_with_ack`] has no answer.
///
/// ```
/// use socketwire_tokio::socketio::server::AckError;
/// assert_ne!(AckError::Timeout, AckError::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckError {
    /// No ack within the core's `ack_timeout`.
    Timeout,
    /// The emit was refused (see [`SendError`]) or the core refused it (too many acks awaited).
    Refused,
    /// The socket disconnected before the ack.
    Closed,
}

impl std::fmt::Display for AckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AckError::Timeout => "no ack in time",
            AckError::Refused => "the emit was refused",
            AckError::Closed => "the socket disconnected",
        })
    }
}

impl std::error::Error for AckError {}

/// A connect handler's refusal: the client gets a CONNECT_ERROR with this message.
///
/// ```
/// use socketwire_tokio::socketio::server::ConnectError;
/// let refusal = ConnectError::new("bad token");
/// assert_eq!(refusal.message(), "bad token");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError(String);

impl ConnectError {
    /// A refusal with `message` (socket.io-client's `connect_error` message).
    ///
    /// ```
    /// let _ = socketwire_tokio::socketio::server::ConnectError::new("forbidden");
    /// ```
    pub fn new(message: impl Into<String>) -> ConnectError {
        ConnectError(message.into())
    }

    /// The message sent to the client.
    ///
    /// ```
    /// assert_eq!(socketwire_tokio::socketio::server::ConnectError::new("x").message(), "x");
    /// ```
    pub fn message(&self) -> &str {
        &self.0
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type ConnectHandler =
    Arc<dyn Fn(SocketRef, Value) -> BoxFuture<Result<(), ConnectError>> + Send + Sync>;
type EventHandler = Arc<dyn Fn(SocketRef, Vec<Value>, AckSender) -> BoxFuture<()> + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(SocketRef, DisconnectReason) -> BoxFuture<()> + Send + Sync>;
type ServerSideHandler = Arc<dyn Fn(Vec<Value>) -> BoxFuture<Value> + Send + Sync>;

/// Where a session task answers an `emit_with_ack`.
type AckReply = oneshot::Sender<Result<Vec<Value>, AckError>>;

/// What one session task is sent, besides the Engine.IO layer's own
/// commands (requests, WebSocket messages, close).
pub(crate) enum Command {
    /// A connect handler's answer.
    Connected {
        namespace: String,
        result: Result<(), ConnectError>,
    },
    Emit {
        namespace: String,
        event: String,
        args: Vec<Value>,
        ack: Option<AckReply>,
    },
    Ack {
        namespace: String,
        id: u64,
        args: Vec<Value>,
    },
    Disconnect {
        namespace: String,
    },
    /// A packet from a broadcast (counted in the mailbox's `queued`).
    Broadcast(Arc<Broadcasted>),
    /// The cluster's answer to a resume (streams mode with recovery): the
    /// socket, already back in its rooms, or `None` for a new one. (Boxed:
    /// rare, and large; every mailbox slot is as big as the largest command.)
    #[cfg(feature = "redis")]
    Restored {
        namespace: String,
        restored: Option<Box<RecoveredSession>>,
    },
}

/// A packet encoded once for many sessions and, when it is one JSON text
/// message (no attachments), its Engine.IO message framed once too: each
/// recipient then queues a reference to the same bytes, with no copy,
/// allocation or UTF-8 check of its own.
#[derive(Debug)]
pub(crate) struct Broadcasted {
    packet: EncodedPacket,
    framed: Option<engineio::FramedMessage>,
}

impl Broadcasted {
    pub(crate) fn new(packet: EncodedPacket) -> Broadcasted {
        let framed = (packet.parser() == Parser::Json && packet.attachments().is_empty())
            .then(|| engineio::FramedMessage::new(packet.text()));
        Broadcasted { packet, framed }
    }
}

/// How other tasks reach one session task: its mailbox and its figures.
type Handle = SessionHandle<Command>;

pub(crate) struct Inner {
    config: SocketIoConfig,
    /// Engine.IO sid → its session task (the Engine.IO layer's map).
    sessions: Arc<Sessions<Command>>,
    /// Namespace → connect handler.
    namespaces: Mutex<HashMap<String, ConnectHandler>>,
    /// Namespaces and rooms, keyed by Engine.IO sid.
    pub(crate) rooms: Mutex<RoomRegistry<String>>,
    /// (Engine.IO sid, namespace) → socket id, of the accepted sockets.
    /// Locked before `rooms` when both are needed.
    pub(crate) socket_ids: Mutex<HashMap<(String, String), String>>,
    /// Event → the application's answer to other nodes' serverSideEmit.
    server_side: Mutex<HashMap<String, ServerSideHandler>>,
    /// The cluster task's mailbox, with an adapter.
    #[cfg(feature = "redis")]
    pub(crate) cluster: OnceLock<mpsc::Sender<ClusterCommand>>,
    /// The longest wait for the other nodes' answers: the adapter's request
    /// timeout and a second for Redis (a task stuck reconnecting answers nothing).
    #[cfg(feature = "redis")]
    cluster_wait: OnceLock<Duration>,
    /// The recovery log and the sessions kept, with recovery on. Locked
    /// before `rooms` and `sessions` when both are needed, and held while a
    /// recorded packet is put in its recipients' mailboxes, so every mailbox
    /// gets the packets in offset order.
    recovery: Option<Mutex<RecoveryStore>>,
    /// With recovery and the streams adapter: the namespaces whose sessions
    /// and offsets live in Redis (the cluster task delivers their broadcasts).
    #[cfg(feature = "redis")]
    stream_recovery: OnceLock<Vec<String>>,
    pub(crate) start: Instant,
}

impl Inner {
    pub(crate) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn session(&self, sid: &str) -> Option<Arc<Handle>> {
        lock(&self.sessions).get(sid).cloned()
    }

    /// Delivers `event` to this server's members of the `target` of
    /// `namespace`: encoded once, then dropped into each member's mailbox; a
    /// member over the backpressure cap or with a full mailbox gets no copy
    /// and is closed. The one delivery path of local and remote broadcasts.
    pub(crate) fn deliver(
        &self,
        namespace: &str,
        target: &Broadcast<String>,
        event: &str,
        args: Vec<Value>,
    ) {
        let parser = self.config.socketio.parser;
        // With recovery, the packet gets its offset and goes into the log
        // (encoded once, offset included) under the store's lock.
        let local_log = !self.stream_offsets(namespace);
        let mut store = self.recovery.as_ref().filter(|_| local_log).map(lock);
        let packet = match store.as_deref_mut() {
            Some(store) => {
                // This server excepts sockets by the room of their id, never by
                // `except_socket`, so the target is all in room names.
                let log_target = PacketTarget::from_broadcast(target, String::clone);
                store
                    .record_event_in(parser, namespace, log_target, event, args, self.now())
                    .packet
            }
            None => parser.event(namespace, event, &args, None),
        };
        let len = packet.buffered_len();
        let max = self.config.max_backpressure;
        let broadcast = Arc::new(Broadcasted::new(packet));
        let packet = &broadcast.packet;
        // `sessions` before `rooms`, as `rejoin` takes them: the members are
        // visited in the registry, so no sid is copied per member.
        let sessions = lock(&self.sessions);
        let rooms = lock(&self.rooms);
        rooms.for_each_recipient(namespace, target, |sid| {
            // One lookup per member: the backpressure rule, then the send.
            let Some(session) = sessions.get(sid) else {
                return;
            };
            if packet.would_exceed(session.buffered_amount(), max) {
                session.overflow();
                return;
            }
            // Counted before it is sent, so the task never takes off what is not on yet.
            session.queued.fetch_add(len, Ordering::Relaxed);
            if session
                .try_send(Command::Broadcast(broadcast.clone()))
                .is_err()
            {
                session.queued.fetch_sub(len, Ordering::Relaxed);
                session.overflow();
            }
        });
        drop(rooms);
        drop(sessions);
        drop(store);
    }

    /// Whether `namespace`'s offsets are stream ids and its sessions are
    /// kept in Redis (recovery on, the streams adapter): its broadcasts are
    /// published first and delivered by the cluster task with their entry id.
    pub(crate) fn stream_offsets(&self, namespace: &str) -> bool {
        #[cfg(feature = "redis")]
        return self
            .stream_recovery
            .get()
            .is_some_and(|namespaces| namespaces.iter().any(|n| n == namespace));
        #[cfg(not(feature = "redis"))]
        return {
            let _ = namespace;
            false
        };
    }

    /// How long a session is kept after its transport closed (ms), with recovery.
    #[cfg(feature = "redis")]
    pub(crate) fn recovery_ttl_ms(&self) -> Option<u64> {
        let config = self.config.recovery.as_ref()?;
        Some(u64::try_from(config.max_disconnection_duration.as_millis()).unwrap_or(u64::MAX))
    }

    /// A restored socket of session `sid` back in its rooms (and the room of
    /// its id); `false` when the session is gone.
    #[cfg(feature = "redis")]
    pub(crate) fn rejoin(&self, namespace: &str, sid: &str, session: &RecoveredSession) -> bool {
        let sessions = lock(&self.sessions);
        if !sessions.contains_key(sid) {
            return false;
        }
        let mut rooms = lock(&self.rooms);
        rooms.add_socket(namespace, sid.to_string());
        for room in session.rooms.iter().chain([&session.sid]) {
            let _ = rooms.join(namespace, sid.to_string(), room);
        }
        true
    }

    /// Undoes [`rejoin`](Self::rejoin).
    #[cfg(feature = "redis")]
    pub(crate) fn unjoin(&self, namespace: &str, sid: &str) {
        lock(&self.rooms).remove_socket(namespace, &sid.to_string());
    }

    /// Streams mode with recovery: hands a broadcast to the cluster task,
    /// which publishes it and then delivers it here with its entry id.
    /// `false` when the mailbox is full (the caller delivers it without).
    #[cfg(feature = "redis")]
    fn publish_with_offset(
        &self,
        namespace: &str,
        event: &str,
        args: &[Value],
        opts: BroadcastOptions,
    ) -> bool {
        let Some(tx) = self.cluster.get() else {
            return false;
        };
        tx.try_send(ClusterCommand::BroadcastWithOffset {
            namespace: namespace.to_string(),
            packet: AdapterPacket::event(event_data(event, args)),
            opts,
        })
        .is_ok()
    }

    /// Sends `event` with an ack request to each of `recipients` (sids) on
    /// `namespace`; one answer receiver each.
    pub(crate) fn emit_with_acks(
        &self,
        namespace: &str,
        recipients: Vec<String>,
        event: &str,
        args: Vec<Value>,
    ) -> Vec<oneshot::Receiver<Result<Vec<Value>, AckError>>> {
        let sessions = lock(&self.sessions);
        let mut answers = Vec::new();
        for sid in recipients {
            let Some(session) = sessions.get(&sid) else {
                continue;
            };
            let (tx, rx) = oneshot::channel();
            let command = Command::Emit {
                namespace: namespace.to_string(),
                event: event.to_string(),
                args: args.clone(),
                ack: Some(tx),
            };
            if session.try_send(command).is_ok() {
                answers.push(rx);
            }
        }
        answers
    }

    /// Disconnects `sids` from `namespace` (`close`: their connections).
    pub(crate) fn disconnect_local(&self, namespace: &str, sids: &[String], close: bool) {
        let sessions = lock(&self.sessions);
        for sid in sids {
            if let Some(session) = sessions.get(sid) {
                let _ = match close {
                    true => session.close(),
                    false => session.try_send(Command::Disconnect {
                        namespace: namespace.to_string(),
                    }),
                };
            }
        }
    }

    /// `{id, handshake, rooms, data}` of the sockets of `sids` on
    /// `namespace`, as socket.io's `RemoteSocket` details.
    pub(crate) fn socket_details(&self, namespace: &str, sids: &[String]) -> Vec<Value> {
        let ids = lock(&self.socket_ids);
        let rooms = lock(&self.rooms);
        sids.iter()
            .filter_map(|sid| {
                let id = ids.get(&(sid.clone(), namespace.to_string()))?;
                let joined = rooms.rooms_of(namespace, sid).map(Value::from).collect();
                let handshake = Value::Object(vec![
                    ("headers".into(), Value::Object(Vec::new())),
                    ("query".into(), Value::Object(Vec::new())),
                    ("auth".into(), Value::Object(Vec::new())),
                ]);
                Some(Value::Object(vec![
                    ("id".into(), Value::from(id.as_str())),
                    ("handshake".into(), handshake),
                    ("rooms".into(), Value::Array(joined)),
                    ("data".into(), Value::Object(Vec::new())),
                ]))
            })
            .collect()
    }

    /// Another node's serverSideEmit: the application's handler for the
    /// event runs; with `reply`, its answer goes back.
    #[cfg(feature = "redis")]
    pub(crate) fn server_side_emitted(
        &self,
        namespace: &str,
        packet: Vec<Value>,
        reply: Option<NodeReply>,
    ) {
        let mut packet = packet.into_iter();
        let Some(Value::String(event)) = packet.next() else {
            return;
        };
        let Some(handler) = lock(&self.server_side).get(&event).cloned() else {
            return;
        };
        let answer = handler(packet.collect());
        let cluster = self.cluster.get().cloned();
        let namespace = namespace.to_string();
        tokio::spawn(async move {
            let value = answer.await;
            if let (Some(reply), Some(cluster)) = (reply, cluster) {
                let _ = cluster.try_send(ClusterCommand::ServerSideEmitAnswer {
                    namespace,
                    reply,
                    packet: Some(value),
                });
            }
        });
    }

    /// How long a request waits for the cluster task's answer.
    #[cfg(feature = "redis")]
    fn cluster_wait(&self) -> Duration {
        self.cluster_wait
            .get()
            .copied()
            .unwrap_or(Duration::from_secs(6))
    }

    /// A room of `namespace` gained or lost members here: the cluster task
    /// follows (sharded mode subscribes to the channel of each room).
    #[cfg(feature = "redis")]
    pub(crate) fn rooms_changed(&self, namespace: &str) {
        if let Some(cluster) = self.cluster.get() {
            let namespace = namespace.to_string();
            let _ = cluster.try_send(ClusterCommand::RoomsChanged { namespace });
        }
    }

    /// With recovery: a socket's own emit, recorded (for the room of its id)
    /// and put in its session's mailbox under the store's lock, as a
    /// broadcast is. Recorded even when the session is gone, so a client that
    /// recovers the socket gets it.
    fn emit_recorded(
        &self,
        store: &Mutex<RecoveryStore>,
        socket: &SocketShared,
        event: &str,
        args: Vec<Value>,
    ) -> Result<(), SendError> {
        let mut store = lock(store);
        let target = PacketTarget::socket(&socket.id);
        let parser = self.config.socketio.parser;
        let recorded =
            store.record_event_in(parser, &socket.namespace, target, event, args, self.now());
        let session = self.session(&socket.sid).ok_or(SendError::Closed)?;
        let len = recorded.packet.buffered_len();
        session.queued.fetch_add(len, Ordering::Relaxed);
        let sent = session.try_send(Command::Broadcast(Arc::new(Broadcasted::new(
            recorded.packet,
        ))));
        drop(store);
        sent.inspect_err(|e| {
            session.queued.fetch_sub(len, Ordering::Relaxed);
            if *e == SendError::Full {
                // Dropping it would leave a hole the client cannot see:
                // close the session; the client recovers the packet.
                session.overflow();
            }
        })
    }
}

/// The server's handle: namespaces and broadcasts. Cheap to clone.
///
/// ```no_run
/// use socketwire_tokio::socketio::server::{SocketIo, SocketRef};
/// use socketwire_tokio::socketio::Value;
/// let (service, io) = SocketIo::new(Default::default());
/// io.ns("/", |_socket: SocketRef, _auth: Value| async move { Ok(()) });
/// io.to("lobby").emit("hello", vec![Value::from("everyone")]);
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct SocketIo {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo").finish_non_exhaustive()
    }
}

/// Builds a [`SocketIo`] from a [`SocketIoConfig`].
///
/// ```
/// use std::time::Duration;
/// let (service, io) = socketwire_tokio::socketio::server::SocketIo::builder()
///     .ping_interval(Duration::from_secs(10))
///     .max_backpressure(1 << 16)
///     .build();
/// # let _ = (service, io);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SocketIoBuilder {
    config: SocketIoConfig,
    #[cfg(feature = "redis")]
    adapter: Option<RedisAdapter>,
}

impl SocketIoBuilder {
    crate::engineio::engine_builder_methods!(
        "socketwire_tokio::socketio::server::SocketIo::builder()"
    );

    /// The whole [`SocketIoConfig`] (the other methods set parts of it; an
    /// adapter set with `adapter` stays).
    ///
    /// ```
    /// use socketwire_tokio::socketio::server::{SocketIo, SocketIoConfig};
    /// let _ = SocketIo::builder().config(SocketIoConfig::default());
    /// ```
    pub fn config(mut self, config: SocketIoConfig) -> Self {
        self.config = config;
        self
    }

    /// The wire format of every client (socket.io's `parser` option; all
    /// clients must use the same): [`Parser::Json`] by default, or
    /// [`Parser::Msgpack`] for clients with `parser: require("socket.io-msgpack-parser")`.
    ///
    /// ```
    /// use socketwire_tokio::socketio::Parser;
    /// let _ = socketwire_tokio::socketio::server::SocketIo::builder().parser(Parser::Msgpack);
    /// ```
    pub fn parser(mut self, parser: Parser) -> Self {
        self.config.socketio.parser = parser;
        self
    }

    /// Turns on connection state recovery (socket.io `connectionStateRecovery`)
    /// for Socket.IO v5 clients: a client whose transport dropped and that
    /// comes back within `max_disconnection_duration` gets its socket id, its
    /// rooms and every packet emitted to it meanwhile, in order, and
    /// [`SocketRef::recovered`] is `true` (socket.io-client's
    /// `socket.recovered`). Every event emitted without an ack then carries
    /// its offset as its last argument (the client's handlers see it). The
    /// other bounds are [`RecoveryConfig`]'s defaults; set
    /// [`SocketIoConfig::recovery`] for others.
    ///
    /// The namespace's connect handler runs for a recovered socket too (it
    /// may refuse it; socket.io's `skipMiddlewares` has no counterpart, as
    /// the handler is both middleware and `connection` listener here):
    /// check [`SocketRef::recovered`] to skip a welcome. Acks and
    /// `emit_with_ack` are not recorded (an ack cannot be replayed), nor is
    /// the socket's `data` (this server has none). Only a transport that
    /// went away keeps the session; a DISCONNECT from either side ends it.
    ///
    /// ```
    /// use std::time::Duration;
    /// let _ = socketwire_tokio::socketio::server::SocketIo::builder()
    ///     .connection_state_recovery(Duration::from_secs(120));
    /// ```
    pub fn connection_state_recovery(mut self, max_disconnection_duration: Duration) -> Self {
        self.config.recovery = Some(RecoveryConfig {
            max_disconnection_duration,
            ..RecoveryConfig::default()
        });
        self
    }

    /// The service to mount and the handle.
    ///
    /// ```
    /// let (service, io) = socketwire_tokio::socketio::server::SocketIo::builder().build();
    /// # let _ = (service, io);
    /// ```
    pub fn build(self) -> (SocketIoService, SocketIo) {
        let (service, io) = SocketIo::new(self.config);
        #[cfg(feature = "redis")]
        if let Some(adapter) = self.adapter {
            let wait = adapter.request_timeout() + Duration::from_secs(1);
            let _ = io.inner.cluster_wait.set(wait);
            if io.inner.recovery.is_some() {
                let _ = io.inner.stream_recovery.set(adapter.stream_namespaces());
            }
            let tx = super::adapter::spawn(io.inner.clone(), adapter);
            let _ = io.inner.cluster.set(tx);
        }
        (service, io)
    }

    /// Joins a cluster over Redis (feature `redis`): broadcasts, room
    /// commands, fetchSockets and serverSideEmit reach the other nodes,
    /// socketwire or Node.js ones. [`build`](Self::build) then starts the
    /// cluster task, so it must run inside a tokio runtime; the task lives
    /// as long as the runtime.
    ///
    /// ```no_run
    /// use socketwire_tokio::socketio::adapter::{AdapterMode, RedisAdapter};
    /// # async fn run() {
    /// let (_service, io) = socketwire_tokio::socketio::server::SocketIo::builder()
    ///     .adapter(RedisAdapter::new("redis://127.0.0.1:6379", AdapterMode::Classic))
    ///     .build();
    /// io.to("lobby").emit("hello", vec![]);
    /// # }
    /// ```
    #[cfg(feature = "redis")]
    pub fn adapter(mut self, adapter: RedisAdapter) -> Self {
        self.adapter = Some(adapter);
        self
    }

    /// The layer to wrap an application with (it takes `/socket.io/`) and the handle.
    ///
    /// ```
    /// let (layer, io) = socketwire_tokio::socketio::server::SocketIo::builder().build_layer();
    /// # let _ = (layer, io);
    /// ```
    pub fn build_layer(self) -> (SocketIoLayer, SocketIo) {
        let (service, io) = self.build();
        (SocketIoLayer { service }, io)
    }
}

impl SocketIo {
    /// A builder with the default [`SocketIoConfig`].
    ///
    /// ```
    /// let (_service, _io) = socketwire_tokio::socketio::server::SocketIo::builder().build();
    /// ```
    pub fn builder() -> SocketIoBuilder {
        SocketIoBuilder::default()
    }

    /// The service to mount at `/socket.io/` and the handle.
    ///
    /// ```
    /// use socketwire_tokio::socketio::server::{SocketIo, SocketIoConfig};
    /// let (_service, _io) = SocketIo::new(SocketIoConfig::default());
    /// ```
    pub fn new(config: SocketIoConfig) -> (SocketIoService, SocketIo) {
        // A random first offset (below 2^62: room for more packets than a
        // server sends): offsets tell nothing of the packets sent before.
        let recovery = config.recovery.clone().map(|recovery| {
            let first = getrandom::u64().unwrap_or(0) >> 2;
            Mutex::new(RecoveryStore::new(recovery, first))
        });
        let engine = config.engine_config();
        let inner = Arc::new(Inner {
            config,
            sessions: Arc::default(),
            namespaces: Mutex::default(),
            rooms: Mutex::new(RoomRegistry::new()),
            socket_ids: Mutex::default(),
            server_side: Mutex::default(),
            #[cfg(feature = "redis")]
            cluster: OnceLock::new(),
            #[cfg(feature = "redis")]
            cluster_wait: OnceLock::new(),
            #[cfg(feature = "redis")]
            stream_recovery: OnceLock::new(),
            recovery,
            start: Instant::now(),
        });
        // The Engine.IO layer shares the session map and the clock: one
        // deadline per session task for both layers.
        let core = Core::new(engine, inner.sessions.clone(), inner.start, {
            let inner = inner.clone();
            Box::new(move |eio, handle, _| SessionTask::new(&inner, eio, handle))
        });
        (SocketIoService { core }, SocketIo { inner })
    }

    /// The layer to wrap an application with and the handle: requests under
    /// `/socket.io/` go to the server, the others to the application.
    ///
    /// ```no_run
    /// use socketwire_tokio::socketio::server::SocketIo;
    /// let (layer, _io) = SocketIo::new_layer(Default::default());
    /// let app: axum::Router = axum::Router::new()
    ///     .route("/", axum::routing::get(|| async { "hello" }))
    ///     .layer(layer);
    /// ```
    pub fn new_layer(config: SocketIoConfig) -> (SocketIoLayer, SocketIo) {
        let (service, io) = SocketIo::new(config);
        (SocketIoLayer { service }, io)
    }

    /// Serves `namespace`: `handler` runs for each connection with the
    /// CONNECT's `auth`; `Ok` accepts it (after the handler returns, so the
    /// `on` handlers it registers see every event), `Err` refuses it.
    /// Namespaces without a handler are refused with "Invalid namespace".
    ///
    /// ```no_run
    /// use socketwire_tokio::socketio::server::{ConnectError, SocketIo, SocketRef};
    /// use socketwire_tokio::socketio::Value;
    /// let (_service, io) = SocketIo::new(Default::default());
    /// io.ns("/admin", |_socket: SocketRef, auth: Value| async move {
    ///     match auth.get("token").and_then(Value::as_str) {
    ///         Some("secret") => Ok(()),
    ///         _ => Err(ConnectError::new("forbidden")),
    ///     }
    /// });
    /// ```
    pub fn ns<F, Fut>(&self, namespace: &str, handler: F)
    where
        F: Fn(SocketRef, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        let handler: ConnectHandler = Arc::new(move |socket, auth| Box::pin(handler(socket, auth)));
        lock(&self.inner.namespaces).insert(namespace.to_string(), handler);
    }

    /// Broadcasts on namespace `namespace` (the other methods use `/`).
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.of("/admin").emit("notice", vec![]);
    /// ```
    pub fn of(&self, namespace: &str) -> BroadcastOperator {
        BroadcastOperator {
            inner: self.inner.clone(),
            namespace: namespace.to_string(),
            target: Broadcast::all(),
            local: false,
        }
    }

    /// Everyone in `room` of `/`.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.to("lobby").emit("hello", vec![]);
    /// ```
    pub fn to(&self, room: &str) -> BroadcastOperator {
        self.of("/").to(room)
    }

    /// Everyone in `/` but the members of `room`.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.except("muted").emit("hello", vec![]);
    /// ```
    pub fn except(&self, room: &str) -> BroadcastOperator {
        self.of("/").except(room)
    }

    /// Sends `event` to everyone connected to `/`.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.emit("tick", vec![1u64.into()]);
    /// ```
    pub fn emit(&self, event: &str, args: Vec<Value>) {
        self.of("/").emit(event, args);
    }

    /// The Engine.IO sessions open now.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// assert_eq!(io.session_count(), 0);
    /// ```
    pub fn session_count(&self) -> usize {
        lock(&self.inner.sessions).len()
    }

    /// Answers other nodes' `serverSideEmit(event, ...args)` with `handler`
    /// (its value is the ack, when one is asked).
    ///
    /// ```no_run
    /// use socketwire_tokio::socketio::Value;
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.on_server_side_emit("ping", |args: Vec<Value>| async move { Value::from("pong") });
    /// ```
    pub fn on_server_side_emit<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Vec<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Value> + Send + 'static,
    {
        let handler: ServerSideHandler = Arc::new(move |args| Box::pin(handler(args)));
        lock(&self.inner.server_side).insert(event.to_string(), handler);
    }

    /// Every socket of `/` on every node (see [`BroadcastOperator::fetch_sockets`]).
    ///
    /// ```no_run
    /// # async fn f(io: socketwire_tokio::socketio::server::SocketIo) {
    /// let sockets = io.fetch_sockets().await;
    /// # }
    /// ```
    pub async fn fetch_sockets(&self) -> Vec<Value> {
        self.of("/").fetch_sockets().await
    }

    /// `serverSideEmit` on `/` (see [`BroadcastOperator::server_side_emit`]).
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.server_side_emit("hello", vec![]);
    /// ```
    pub fn server_side_emit(&self, event: &str, args: Vec<Value>) {
        self.of("/").server_side_emit(event, args);
    }

    /// `serverSideEmit` with ack on `/` (see [`BroadcastOperator::server_side_emit_with_ack`]).
    ///
    /// ```no_run
    /// # async fn f(io: socketwire_tokio::socketio::server::SocketIo) {
    /// let answers = io.server_side_emit_with_ack("ping", vec![]).await;
    /// # }
    /// ```
    pub async fn server_side_emit_with_ack(&self, event: &str, args: Vec<Value>) -> Vec<Value> {
        self.of("/").server_side_emit_with_ack(event, args).await
    }

    /// Every socket of `/`, on every node, joins `room`.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.sockets_join("everyone");
    /// ```
    pub fn sockets_join(&self, room: &str) {
        self.of("/").sockets_join(room);
    }

    /// Every socket of `/`, on every node, leaves `room`.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.sockets_leave("everyone");
    /// ```
    pub fn sockets_leave(&self, room: &str) {
        self.of("/").sockets_leave(room);
    }

    /// Disconnects every socket of `/` on every node.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.disconnect_sockets(false);
    /// ```
    pub fn disconnect_sockets(&self, close: bool) {
        self.of("/").disconnect_sockets(close);
    }
}

/// A broadcast's target: a namespace, rooms to reach and rooms (or a socket) to skip.
///
/// ```no_run
/// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
/// io.to("a").to("b").except("muted").emit("news", vec![]);
/// ```
#[derive(Clone)]
pub struct BroadcastOperator {
    inner: Arc<Inner>,
    namespace: String,
    target: Broadcast<String>,
    /// This node's members only (socket.io's `local` flag).
    local: bool,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator")
            .field("namespace", &self.namespace)
            .field("target", &self.target)
            .field("local", &self.local)
            .finish()
    }
}

impl BroadcastOperator {
    /// Adds `room` to the rooms reached.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.to("a").to("b").emit("news", vec![]);
    /// ```
    pub fn to(mut self, room: &str) -> Self {
        self.target = self.target.to(room);
        self
    }

    /// Skips the members of `room`.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.except("muted").emit("news", vec![]);
    /// ```
    pub fn except(mut self, room: &str) -> Self {
        self.target = self.target.except(room);
        self
    }

    /// This node's members only: nothing goes to the cluster (socket.io's
    /// `io.local`).
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.of("/").local().emit("here-only", vec![]);
    /// ```
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    /// Sends `event` to every target member, encoded once. A member over
    /// [`SocketIoConfig::max_backpressure`] or with a full mailbox gets no
    /// copy and its session is closed.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.to("lobby").emit("news", vec!["hi".into()]);
    /// ```
    pub fn emit(&self, event: &str, args: Vec<Value>) {
        #[cfg(feature = "redis")]
        if !self.local
            && self.inner.stream_offsets(&self.namespace)
            && self
                .inner
                .publish_with_offset(&self.namespace, event, &args, self.options())
        {
            return;
        }
        #[cfg(feature = "redis")]
        self.publish(|namespace, opts| ClusterCommand::Broadcast {
            namespace,
            packet: AdapterPacket::event(event_data(event, &args)),
            opts,
        });
        self.inner
            .deliver(&self.namespace, &self.target, event, args);
    }

    /// The adapter's options for this target.
    #[cfg(feature = "redis")]
    fn options(&self) -> BroadcastOptions {
        BroadcastOptions {
            rooms: self.target.rooms().to_vec(),
            except: self.target.except_rooms().to_vec(),
            flags: Some(Flags::new()),
        }
    }

    /// Hands a command to the cluster task, if there is one (a full mailbox
    /// drops it: the other nodes miss it).
    #[cfg(feature = "redis")]
    fn publish(&self, command: impl FnOnce(String, BroadcastOptions) -> ClusterCommand) -> bool {
        let Some(tx) = self.inner.cluster.get().filter(|_| !self.local) else {
            return false;
        };
        tx.try_send(command(self.namespace.clone(), self.options()))
            .is_ok()
    }

    /// Sends `event` asking each target member, on every node, for an ack;
    /// resolves within `timeout` (the other nodes' acks: one second more,
    /// for Redis) to the acks that came (each client's first ack argument,
    /// `Null` for none), as socket.io's
    /// `io.timeout(ms).emit(event, ...args, callback)`.
    ///
    /// ```no_run
    /// # async fn f(io: socketwire_tokio::socketio::server::SocketIo) {
    /// let acks = io.to("lobby").emit_with_ack("question", vec![], std::time::Duration::from_secs(2)).await;
    /// println!("{} answers", acks.len());
    /// # }
    /// ```
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Vec<Value> {
        #[cfg(feature = "redis")]
        let remote = {
            let (tx, rx) = oneshot::channel();
            let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
            let sent = self.publish(|namespace, mut opts| {
                opts.flags = Some(Flags::new().with("timeout", timeout_ms.into()));
                ClusterCommand::BroadcastWithAck {
                    namespace,
                    packet: AdapterPacket::event(event_data(event, &args)),
                    opts,
                    reply: tx,
                }
            });
            sent.then_some(rx)
        };
        let recipients = lock(&self.inner.rooms).recipients(&self.namespace, &self.target);
        let local = self
            .inner
            .emit_with_acks(&self.namespace, recipients, event, args);
        let mut acks = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout;
        for ack in local {
            if let Ok(Ok(Ok(args))) = tokio::time::timeout_at(deadline, ack).await {
                acks.push(args.into_iter().next().unwrap_or_default());
            }
        }
        #[cfg(feature = "redis")]
        if let Some(rx) = remote {
            // The task ends the request at the same timeout.
            let grace = deadline + Duration::from_secs(1);
            if let Ok(Ok(values)) = tokio::time::timeout_at(grace, rx).await {
                acks.extend(values);
            }
        }
        acks
    }

    /// The target members' details on every node, `{id, handshake, rooms,
    /// data}` each (socket.io's `fetchSockets()`); the other nodes' within
    /// the adapter's request timeout.
    ///
    /// ```no_run
    /// # async fn f(io: socketwire_tokio::socketio::server::SocketIo) {
    /// for socket in io.to("lobby").fetch_sockets().await {
    ///     println!("{:?}", socket.get("id"));
    /// }
    /// # }
    /// ```
    pub async fn fetch_sockets(&self) -> Vec<Value> {
        #[cfg(feature = "redis")]
        let remote = {
            let (tx, rx) = oneshot::channel();
            let sent = self.publish(|namespace, opts| ClusterCommand::FetchSockets {
                namespace,
                opts,
                reply: tx,
            });
            sent.then_some(rx)
        };
        let recipients = lock(&self.inner.rooms).recipients(&self.namespace, &self.target);
        #[allow(unused_mut)]
        let mut sockets = self.inner.socket_details(&self.namespace, &recipients);
        #[cfg(feature = "redis")]
        if let Some(rx) = remote
            && let Ok(Ok(values)) = tokio::time::timeout(self.inner.cluster_wait(), rx).await
        {
            sockets.extend(values);
        }
        sockets
    }

    /// Makes the target members, on every node, join `room` (socket.io's
    /// `socketsJoin`).
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.to("lobby").sockets_join("game");
    /// ```
    pub fn sockets_join(&self, room: &str) {
        #[cfg(feature = "redis")]
        self.publish(|namespace, opts| ClusterCommand::SocketsJoin {
            namespace,
            opts,
            rooms: vec![room.to_string()],
        });
        let mut rooms = lock(&self.inner.rooms);
        for sid in rooms.recipients(&self.namespace, &self.target) {
            let _ = rooms.join(&self.namespace, sid, room);
        }
        drop(rooms);
        #[cfg(feature = "redis")]
        self.inner.rooms_changed(&self.namespace);
    }

    /// Makes the target members, on every node, leave `room` (`socketsLeave`).
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.to("game").sockets_leave("game");
    /// ```
    pub fn sockets_leave(&self, room: &str) {
        #[cfg(feature = "redis")]
        self.publish(|namespace, opts| ClusterCommand::SocketsLeave {
            namespace,
            opts,
            rooms: vec![room.to_string()],
        });
        let mut rooms = lock(&self.inner.rooms);
        for sid in rooms.recipients(&self.namespace, &self.target) {
            rooms.leave(&self.namespace, &sid, room);
        }
        drop(rooms);
        #[cfg(feature = "redis")]
        self.inner.rooms_changed(&self.namespace);
    }

    /// Disconnects the target members on every node from the namespace
    /// (`disconnectSockets(close)`; with `close`, their whole connection).
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.to("banned").disconnect_sockets(false);
    /// ```
    pub fn disconnect_sockets(&self, close: bool) {
        #[cfg(feature = "redis")]
        self.publish(|namespace, opts| ClusterCommand::DisconnectSockets {
            namespace,
            opts,
            close,
        });
        let recipients = lock(&self.inner.rooms).recipients(&self.namespace, &self.target);
        self.inner
            .disconnect_local(&self.namespace, &recipients, close);
    }

    /// Sends `[event, ...args]` to the other servers of the cluster (their
    /// [`SocketIo::on_server_side_emit`] handlers); nothing without an adapter.
    ///
    /// ```no_run
    /// # let (_s, io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
    /// io.of("/").server_side_emit("hello", vec!["from a node".into()]);
    /// ```
    pub fn server_side_emit(&self, event: &str, args: Vec<Value>) {
        #[cfg(feature = "redis")]
        self.publish(|namespace, _| ClusterCommand::ServerSideEmit {
            namespace,
            packet: event_data(event, &args),
            reply: None,
        });
        #[cfg(not(feature = "redis"))]
        let _ = (event, args);
    }

    /// [`server_side_emit`](Self::server_side_emit) waiting for each other
    /// server's answer (within the adapter's request timeout).
    ///
    /// ```no_run
    /// # async fn f(io: socketwire_tokio::socketio::server::SocketIo) {
    /// let answers = io.of("/").server_side_emit_with_ack("ping", vec![]).await;
    /// # }
    /// ```
    pub async fn server_side_emit_with_ack(&self, event: &str, args: Vec<Value>) -> Vec<Value> {
        #[cfg(feature = "redis")]
        {
            let (tx, rx) = oneshot::channel();
            let sent = self.publish(|namespace, _| ClusterCommand::ServerSideEmit {
                namespace,
                packet: event_data(event, &args),
                reply: Some(tx),
            });
            if sent {
                let answers = tokio::time::timeout(self.inner.cluster_wait(), rx).await;
                return answers.ok().and_then(Result::ok).unwrap_or_default();
            }
        }
        let _ = (event, args);
        Vec::new()
    }
}

/// `[event, ...args]`, the adapter packet's `data`.
#[cfg(feature = "redis")]
fn event_data(event: &str, args: &[Value]) -> Vec<Value> {
    std::iter::once(Value::from(event))
        .chain(args.iter().cloned())
        .collect()
}

#[derive(Default)]
struct Handlers {
    events: HashMap<String, EventHandler>,
    disconnect: Option<DisconnectHandler>,
}

/// A connected socket (one client on one namespace). Cheap to clone.
///
/// ```no_run
/// use socketwire_tokio::socketio::server::{AckSender, SocketIo, SocketRef};
/// use socketwire_tokio::socketio::Value;
/// # let (_s, io) = SocketIo::new(Default::default());
/// io.ns("/", |socket: SocketRef, _auth: Value| async move {
///     socket.on("ping", |_socket: SocketRef, args: Vec<Value>, ack: AckSender| async move {
///         let _ = ack.send(args);
///     });
///     Ok(())
/// });
/// ```
#[derive(Clone)]
pub struct SocketRef {
    socket: Arc<SocketShared>,
}

struct SocketShared {
    id: String,
    recovered: bool,
    /// Its own emits are recorded for recovery (recovery on, a v5 client).
    recorded: bool,
    namespace: String,
    sid: String,
    handle: Arc<Handle>,
    inner: Arc<Inner>,
    handlers: Mutex<Handlers>,
}

impl std::fmt::Debug for SocketRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketRef")
            .field("id", &self.socket.id)
            .field("namespace", &self.socket.namespace)
            .finish_non_exhaustive()
    }
}

impl SocketRef {
    /// The socket id (128 random bits, independent of the Engine.IO sid).
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// println!("{}", socket.id());
    /// # }
    /// ```
    pub fn id(&self) -> &str {
        &self.socket.id
    }

    /// Whether this socket was recovered after its transport dropped (see
    /// [`SocketIoBuilder::connection_state_recovery`]): it has its old id and
    /// rooms, and the packets it missed were sent before anything it emits
    /// from its connect handler.
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// if !socket.recovered() { let _ = socket.emit("welcome", vec![]); }
    /// # }
    /// ```
    pub fn recovered(&self) -> bool {
        self.socket.recovered
    }

    /// The namespace.
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// assert!(socket.ns().starts_with('/'));
    /// # }
    /// ```
    pub fn ns(&self) -> &str {
        &self.socket.namespace
    }

    /// Runs `handler` for each `event` from the client, one event at a time
    /// in the order they came; `ack` answers the client's ack (a no-op when
    /// it asked for none).
    ///
    /// ```no_run
    /// # use socketwire_tokio::socketio::{server::{AckSender, SocketRef}, Value};
    /// # fn f(socket: SocketRef) {
    /// socket.on("message-with-ack", |_s: SocketRef, args: Vec<Value>, ack: AckSender| async move {
    ///     let _ = ack.send(args);
    /// });
    /// # }
    /// ```
    pub fn on<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(SocketRef, Vec<Value>, AckSender) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: EventHandler =
            Arc::new(move |socket, args, ack| Box::pin(handler(socket, args, ack)));
        lock(&self.socket.handlers)
            .events
            .insert(event.to_string(), handler);
    }

    /// Runs `handler` once the socket is disconnected (after its queued events).
    ///
    /// ```no_run
    /// # use socketwire_tokio::socketio::{server::SocketRef, DisconnectReason};
    /// # fn f(socket: SocketRef) {
    /// socket.on_disconnect(|s: SocketRef, reason: DisconnectReason| async move {
    ///     println!("{} left: {reason:?}", s.id());
    /// });
    /// # }
    /// ```
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(SocketRef, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: DisconnectHandler =
            Arc::new(move |socket, reason| Box::pin(handler(socket, reason)));
        lock(&self.socket.handlers).disconnect = Some(handler);
    }

    fn command(&self, command: Command) -> Result<(), SendError> {
        self.socket.handle.try_send(command)
    }

    /// Sends `event` to this client. With recovery on, the event is
    /// recorded for the socket's recovery first (so even on a socket whose
    /// transport is gone, it reaches the client if it recovers the socket).
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// socket.emit("hello", vec!["world".into()]).unwrap();
    /// # }
    /// ```
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), SendError> {
        let inner = &self.socket.inner;
        #[cfg(feature = "redis")]
        if self.socket.recorded && inner.stream_offsets(&self.socket.namespace) {
            // socket.io with recovery: `adapter.broadcast(packet, {rooms: [socket.id]})`,
            // so the packet is in the stream and any node can hand it back.
            let opts = BroadcastOptions {
                rooms: vec![self.socket.id.clone()],
                except: Vec::new(),
                flags: Some(Flags::new()),
            };
            let namespace = &self.socket.namespace;
            return match inner.publish_with_offset(namespace, event, &args, opts) {
                true => Ok(()),
                false => Err(SendError::Full),
            };
        }
        if let Some(store) = inner.recovery.as_ref().filter(|_| self.socket.recorded) {
            return inner.emit_recorded(store, &self.socket, event, args);
        }
        self.command(Command::Emit {
            namespace: self.socket.namespace.clone(),
            event: event.to_string(),
            args,
            ack: None,
        })
    }

    /// Sends `event` asking for an ack; resolves to the client's ack args.
    ///
    /// ```no_run
    /// # async fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// let answer = socket.emit_with_ack("question", vec![]).await;
    /// # }
    /// ```
    pub async fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
    ) -> Result<Vec<Value>, AckError> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Emit {
            namespace: self.socket.namespace.clone(),
            event: event.to_string(),
            args,
            ack: Some(tx),
        })
        .map_err(|_| AckError::Refused)?;
        rx.await.unwrap_or(Err(AckError::Closed))
    }

    /// Joins `room` (refused past the registry's rooms-per-socket cap).
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// socket.join("lobby").unwrap();
    /// # }
    /// ```
    pub fn join(&self, room: &str) -> Result<(), socketwire::socketio::ApiMisuse> {
        let s = &self.socket;
        lock(&s.inner.rooms).join(&s.namespace, s.sid.clone(), room)?;
        #[cfg(feature = "redis")]
        s.inner.rooms_changed(&s.namespace);
        Ok(())
    }

    /// Leaves `room`.
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// socket.leave("lobby");
    /// # }
    /// ```
    pub fn leave(&self, room: &str) {
        let s = &self.socket;
        lock(&s.inner.rooms).leave(&s.namespace, &s.sid, room);
        #[cfg(feature = "redis")]
        s.inner.rooms_changed(&s.namespace);
    }

    /// The other members of `room` (this socket excluded).
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// socket.to("lobby").emit("news", vec![]);
    /// # }
    /// ```
    pub fn to(&self, room: &str) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Everyone on this namespace but this socket.
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// socket.broadcast().emit("joined", vec![]);
    /// # }
    /// ```
    pub fn broadcast(&self) -> BroadcastOperator {
        let s = &self.socket;
        // Every socket is in the room of its id (as in socket.io), so the
        // sender is left out by that room, which the recovery log keeps too.
        BroadcastOperator {
            inner: s.inner.clone(),
            namespace: s.namespace.clone(),
            target: Broadcast::all().except(s.id.clone()),
            local: false,
        }
    }

    /// Disconnects the client from this namespace (sends DISCONNECT).
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// let _ = socket.disconnect();
    /// # }
    /// ```
    pub fn disconnect(&self) -> Result<(), SendError> {
        self.command(Command::Disconnect {
            namespace: self.socket.namespace.clone(),
        })
    }

    /// Closes the whole Engine.IO session under this socket (its transport and
    /// every namespace on it): the client sees `transport close`, and one that
    /// reconnects gets a new session.
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::socketio::server::SocketRef) {
    /// let _ = socket.close_transport();
    /// # }
    /// ```
    pub fn close_transport(&self) -> Result<(), SendError> {
        self.socket.handle.close()
    }
}

/// Answers one event's ack; a no-op when the client asked for none.
///
/// ```no_run
/// # fn f(ack: socketwire_tokio::socketio::server::AckSender) {
/// let _ = ack.send(vec!["ok".into()]);
/// # }
/// ```
#[derive(Debug)]
pub struct AckSender {
    socket: SocketRef,
    id: Option<u64>,
}

impl AckSender {
    /// Whether the client asked for an ack.
    ///
    /// ```no_run
    /// # fn f(ack: socketwire_tokio::socketio::server::AckSender) {
    /// if ack.is_requested() { let _ = ack.send(vec![]); }
    /// # }
    /// ```
    pub fn is_requested(&self) -> bool {
        self.id.is_some()
    }

    /// Sends the ack with `args`.
    ///
    /// ```no_run
    /// # fn f(ack: socketwire_tokio::socketio::server::AckSender) {
    /// let _ = ack.send(vec![1u64.into()]);
    /// # }
    /// ```
    pub fn send(self, args: Vec<Value>) -> Result<(), SendError> {
        let Some(id) = self.id else { return Ok(()) };
        self.socket.command(Command::Ack {
            namespace: self.socket.socket.namespace.clone(),
            id,
            args,
        })
    }
}

/// What a socket task is sent.
enum SocketEvent {
    Event {
        name: String,
        args: Vec<Value>,
        ack_id: Option<u64>,
    },
    Disconnected(DisconnectReason),
}

/// One namespace of a session, as the session task sees it.
struct NamespaceState {
    socket_id: String,
    /// The private session id, with recovery on (v5).
    pid: Option<String>,
    /// A recovered socket's session, until it is accepted (its missed packets).
    recovered: Option<RecoveredSession>,
    /// Whether it was recovered (it is in its rooms from the CONNECT on).
    was_recovered: bool,
    events: mpsc::Sender<SocketEvent>,
    /// `None` once accepted; before, the commands its connect handler made
    /// and the packets recorded for it meanwhile.
    pending: Option<Vec<Command>>,
}

/// The Socket.IO side of one session task (the Engine.IO layer's
/// [`Handler`]): sole owner of the connection's core Socket.IO session, under
/// the task that owns its Engine.IO session.
struct SessionTask {
    inner: Arc<Inner>,
    handle: Arc<Handle>,
    sid: String,
    sio: CoreSession,
    namespaces: HashMap<String, NamespaceState>,
    acks: HashMap<(String, u64), AckReply>,
    /// Connection state recovery is on and the client speaks v5.
    recovery: bool,
    /// Namespaces whose resume the cluster task is restoring: the CONNECT's
    /// auth, the connect handler and the socket's event receiver.
    #[cfg(feature = "redis")]
    restoring: HashMap<String, (Value, ConnectHandler, mpsc::Receiver<SocketEvent>)>,
}

impl SessionTask {
    /// The Socket.IO session over a new Engine.IO session.
    fn new(inner: &Arc<Inner>, eio: &engineio::ServerSession, handle: &Arc<Handle>) -> Self {
        let version = match eio.version() {
            engineio::EngineIoVersion::V3 => socketwire::socketio::SocketIoVersion::V4,
            engineio::EngineIoVersion::V4 => socketwire::socketio::SocketIoVersion::V5,
        };
        let mut config = inner.config.socketio.clone();
        config.decoder = socketwire::socketio::DecoderConfig {
            version,
            ..config.decoder
        };
        let recovery =
            inner.recovery.is_some() && version == socketwire::socketio::SocketIoVersion::V5;
        config.connection_state_recovery = recovery;
        SessionTask {
            inner: inner.clone(),
            handle: handle.clone(),
            sid: eio.sid().to_string(),
            sio: CoreSession::new(config, inner.now()),
            namespaces: HashMap::new(),
            acks: HashMap::new(),
            recovery,
            #[cfg(feature = "redis")]
            restoring: HashMap::new(),
        }
    }
}

impl Handler for SessionTask {
    type Command = Command;

    fn on_message(&mut self, eio: &mut engineio::ServerSession, data: MessageData, now: Duration) {
        let result = match data {
            MessageData::Text(t) => self.sio.handle_text(&t, now),
            MessageData::Binary(b) => self.sio.handle_binary(b, now),
        };
        if result.is_err() {
            eio.close(now);
        }
    }

    fn on_command(&mut self, eio: &mut engineio::ServerSession, command: Command, now: Duration) {
        match command {
            Command::Connected { namespace, result } => self.connected(eio, namespace, result),
            Command::Broadcast(broadcast) => {
                self.handle
                    .queued
                    .fetch_sub(broadcast.packet.buffered_len(), Ordering::Relaxed);
                self.socket_command(eio, Command::Broadcast(broadcast), now);
            }
            #[cfg(feature = "redis")]
            Command::Restored {
                namespace,
                restored,
            } => self.restored(namespace, restored.map(|r| *r)),
            command @ (Command::Emit { .. } | Command::Ack { .. } | Command::Disconnect { .. }) => {
                self.socket_command(eio, command, now)
            }
        }
    }

    /// The Socket.IO session's events, then its messages into the Engine.IO session.
    fn pump(&mut self, eio: &mut engineio::ServerSession, now: Duration) -> bool {
        let mut progressed = false;
        while let Some(event) = self.sio.poll_event() {
            progressed = true;
            self.on_core_event(eio, event);
        }
        while let Some(message) = self.sio.poll_message() {
            progressed = true;
            let sent = match message {
                EngineMessage::Text(t) => eio.send_text(std::str::from_utf8(&t).unwrap_or("")),
                EngineMessage::Binary(b) => eio.send_binary(b),
            };
            if sent.is_err() {
                // Past the Engine.IO buffer caps: a packet is never dropped
                // from a session that stays.
                eio.close(now);
            }
        }
        progressed
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.sio.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Duration) {
        self.sio.handle_timeout(now);
    }

    fn buffered_amount(&self) -> usize {
        self.sio.buffered_amount()
    }

    /// The session is over: out of every room, sockets told.
    fn finish(mut self, _: CloseReason) {
        self.sio.handle_transport_closed();
        let namespaces: Vec<String> = self.namespaces.keys().cloned().collect();
        for namespace in namespaces {
            self.leave(&namespace, DisconnectReason::TransportClose);
        }
        for (_, reply) in self.acks.drain() {
            let _ = reply.send(Err(AckError::Closed));
        }
    }
}

impl SessionTask {
    /// A command of a socket, or a packet for it: queued while its namespace
    /// awaits its connect handler, run once it is accepted.
    fn socket_command(
        &mut self,
        eio: &mut engineio::ServerSession,
        command: Command,
        now: Duration,
    ) {
        let namespace: &str = match &command {
            Command::Emit { namespace, .. }
            | Command::Ack { namespace, .. }
            | Command::Disconnect { namespace } => namespace,
            Command::Broadcast(broadcast) => broadcast.packet.namespace(),
            _ => return,
        };
        if let Some(NamespaceState {
            pending: Some(pending),
            ..
        }) = self.namespaces.get_mut(namespace)
        {
            if pending.len() < EVENT_SLOTS {
                pending.push(command);
            } else if matches!(command, Command::Broadcast(_)) {
                // A packet with an offset cannot be dropped unseen: close;
                // with recovery the client gets it back.
                eio.close(now);
            }
            return;
        }
        match command {
            Command::Broadcast(broadcast) => match &broadcast.framed {
                // Framed once for all: straight to Engine.IO, which keeps the
                // order as long as nothing of this session's own still waits
                // in the Socket.IO queue.
                Some(framed)
                    if self.sio.buffered_amount() == 0
                        && !self.sio.is_closed()
                        && self.sio.is_connected(broadcast.packet.namespace()) =>
                {
                    if eio.send_framed(framed).is_err() {
                        // Past the Engine.IO buffer caps, as in `pump`.
                        eio.close(now);
                    }
                }
                // Not connected (any more) to its namespace: nothing to deliver.
                _ => {
                    let _ = self.sio.send_encoded(&broadcast.packet);
                }
            },
            Command::Emit {
                namespace,
                event,
                args,
                ack: None,
            } => {
                let _ = self.sio.emit(&namespace, &event, args);
            }
            Command::Emit {
                namespace,
                event,
                args,
                ack: Some(reply),
            } => match self.sio.emit_with_ack(&namespace, &event, args, now) {
                Ok(id) => {
                    self.acks.insert((namespace, id), reply);
                }
                Err(_) => {
                    let _ = reply.send(Err(AckError::Refused));
                }
            },
            Command::Ack {
                namespace,
                id,
                args,
            } => {
                let _ = self.sio.ack(&namespace, id, args);
            }
            Command::Disconnect { namespace } if self.sio.disconnect(&namespace).is_ok() => {
                self.leave(&namespace, DisconnectReason::ServerDisconnect);
            }
            _ => {}
        }
    }

    fn connected(
        &mut self,
        eio: &mut engineio::ServerSession,
        namespace: String,
        result: Result<(), ConnectError>,
    ) {
        let Some(state) = self.namespaces.get_mut(&namespace) else {
            return;
        };
        match result {
            Ok(()) => {
                let pending = state.pending.take().unwrap_or_default();
                let accepted = match (state.recovered.take(), &state.pid) {
                    (Some(restored), _) => self.sio.accept_recovered(&namespace, &restored),
                    (None, Some(pid)) => {
                        self.sio.accept_with_pid(&namespace, &state.socket_id, pid)
                    }
                    (None, None) => self.sio.accept(&namespace, &state.socket_id),
                };
                if accepted.is_err() {
                    // The session closed meanwhile: a recovered socket is kept again.
                    self.leave_rooms(&namespace, &DisconnectReason::TransportClose);
                    self.namespaces.remove(&namespace);
                    return;
                }
                {
                    // Every socket is in the room of its own id, as in socket.io.
                    let mut rooms = lock(&self.inner.rooms);
                    rooms.add_socket(&namespace, self.sid.clone());
                    let _ = rooms.join(&namespace, self.sid.clone(), &state.socket_id);
                }
                // Locked apart: `socket_ids` is taken before `rooms` when both are.
                let key = (self.sid.clone(), namespace.clone());
                lock(&self.inner.socket_ids).insert(key, state.socket_id.clone());
                #[cfg(feature = "redis")]
                self.inner.rooms_changed(&namespace);
                let now = self.inner.now();
                for command in pending {
                    self.socket_command(eio, command, now);
                }
            }
            Err(refusal) => {
                if state.was_recovered || self.inner.stream_offsets(&namespace) {
                    // It was put in its rooms at the CONNECT.
                    lock(&self.inner.rooms).remove_socket(&namespace, &self.sid);
                }
                self.namespaces.remove(&namespace);
                let _ = self.sio.refuse(&namespace, refusal.message(), None);
            }
        }
    }

    /// The socket of `namespace` is gone: out of its rooms, its acks failed,
    /// its task told why.
    fn leave(&mut self, namespace: &str, reason: DisconnectReason) {
        self.leave_rooms(namespace, &reason);
        let gone: Vec<(String, u64)> = self
            .acks
            .keys()
            .filter(|(ns, _)| ns == namespace)
            .cloned()
            .collect();
        for key in gone {
            if let Some(reply) = self.acks.remove(&key) {
                let _ = reply.send(Err(AckError::Closed));
            }
        }
        if let Some(state) = self.namespaces.remove(namespace) {
            // Its queued events first, then the disconnect: the task runs them in order.
            let events = state.events;
            tokio::spawn(async move {
                let _ = events.send(SocketEvent::Disconnected(reason)).await;
            });
        }
    }

    /// Takes the socket of `namespace` out of its rooms; with recovery, a
    /// socket whose transport closed is kept in the store first (with the
    /// rooms it was in), if its client knows its pid (it was accepted, or
    /// recovered and not accepted yet: the client may try again).
    fn leave_rooms(&mut self, namespace: &str, reason: &DisconnectReason) {
        lock(&self.inner.socket_ids).remove(&(self.sid.clone(), namespace.to_string()));
        let keep = self.namespaces.get(namespace).and_then(|state| {
            let known = state.pending.is_none() || state.was_recovered;
            let pid = state.pid.as_ref().filter(|_| known)?;
            Some((state.socket_id.clone(), pid.clone()))
        });
        // socket.io `RECOVERABLE_DISCONNECT_REASONS`: the transport went away.
        let recoverable = *reason == DisconnectReason::TransportClose;
        let store = self.inner.recovery.as_ref().filter(|_| recoverable);
        #[cfg(feature = "redis")]
        if let (true, Some((socket_id, pid))) = (recoverable, &keep)
            && self.persist_in_redis(namespace, socket_id, pid)
        {
            return;
        }
        match (store, keep) {
            (Some(store), Some((socket_id, pid))) => {
                let mut store = lock(store);
                let mut rooms = lock(&self.inner.rooms);
                let joined = rooms
                    .rooms_of(namespace, &self.sid)
                    .map(String::from)
                    .collect();
                rooms.remove_socket(namespace, &self.sid);
                drop(rooms);
                let session = DisconnectedSession::new(namespace, &socket_id, &pid, joined);
                let _ = store.persist(session, self.inner.now());
            }
            _ => lock(&self.inner.rooms).remove_socket(namespace, &self.sid),
        }
        #[cfg(feature = "redis")]
        self.inner.rooms_changed(namespace);
    }

    /// Streams mode with recovery: the socket's record goes to Redis
    /// (`sio:session:<pid>`, as a Node.js node keeps it), with the rooms it
    /// was in; `false` for a namespace whose sessions are kept here.
    #[cfg(feature = "redis")]
    fn persist_in_redis(&self, namespace: &str, socket_id: &str, pid: &str) -> bool {
        let inner = &self.inner;
        let (Some(cluster), Some(ttl_ms)) = (inner.cluster.get(), inner.recovery_ttl_ms()) else {
            return false;
        };
        if !inner.stream_offsets(namespace) {
            return false;
        }
        let rooms = {
            let mut registry = lock(&inner.rooms);
            let joined = registry
                .rooms_of(namespace, &self.sid)
                .map(String::from)
                .collect();
            registry.remove_socket(namespace, &self.sid);
            joined
        };
        let session = PersistedSession {
            sid: socket_id.to_string(),
            pid: pid.to_string(),
            rooms,
            // socket.io's `socket.data` starts as `{}`.
            data: Value::Object(Vec::new()),
        };
        let _ = cluster.try_send(ClusterCommand::PersistSession {
            namespace: namespace.to_string(),
            session,
            ttl_ms,
        });
        inner.rooms_changed(namespace);
        true
    }

    /// Streams mode with recovery: the resume goes to the cluster task
    /// (`GETDEL` + `XRANGE`, then the socket back in its rooms); the
    /// namespace waits meanwhile, packets for it queued, and the socket is
    /// made when [`Command::Restored`] comes. `false` for a namespace whose
    /// sessions are kept here.
    #[cfg(feature = "redis")]
    fn restore_from_redis(
        &mut self,
        namespace: &str,
        auth: Value,
        handler: ConnectHandler,
        request: &socketwire::socketio::ResumeRequest,
    ) -> bool {
        let Some(cluster) = self.inner.cluster.get().cloned() else {
            return false;
        };
        if !self.inner.stream_offsets(namespace) {
            return false;
        }
        let (events, rx) = mpsc::channel(EVENT_SLOTS);
        self.namespaces.insert(
            namespace.to_string(),
            NamespaceState {
                socket_id: String::new(),
                pid: None,
                recovered: None,
                was_recovered: false,
                events,
                pending: Some(Vec::new()),
            },
        );
        self.restoring
            .insert(namespace.to_string(), (auth, handler, rx));
        let (reply, answer) = oneshot::channel();
        let _ = cluster.try_send(ClusterCommand::RestoreSession {
            namespace: namespace.to_string(),
            sid: self.sid.clone(),
            request: request.clone(),
            parser: self.inner.config.socketio.parser,
            reply,
        });
        let (handle, wait, namespace) = (
            self.handle.clone(),
            self.inner.cluster_wait(),
            namespace.to_string(),
        );
        tokio::spawn(async move {
            let restored = tokio::time::timeout(wait, answer)
                .await
                .ok()
                .and_then(Result::ok)
                .flatten();
            let _ = handle
                .send(Command::Restored {
                    namespace,
                    restored: restored.map(Box::new),
                })
                .await;
        });
        true
    }

    /// The cluster task answered a resume: the socket is made (the restored
    /// one, already in its rooms, or a new one), the packets queued for the
    /// namespace meanwhile kept for after its missed ones.
    #[cfg(feature = "redis")]
    fn restored(&mut self, namespace: String, restored: Option<RecoveredSession>) {
        let Some((auth, handler, rx)) = self.restoring.remove(&namespace) else {
            return;
        };
        let Some(waiting) = self.namespaces.remove(&namespace) else {
            // The namespace went away meanwhile (the session is closing).
            if restored.is_some() {
                self.inner.unjoin(&namespace, &self.sid);
            }
            return;
        };
        let queued = waiting.pending.unwrap_or_default();
        self.start_socket(
            namespace.clone(),
            auth,
            handler,
            restored,
            waiting.events,
            rx,
        );
        if let Some(state) = self.namespaces.get_mut(&namespace) {
            state.pending = Some(queued);
        }
    }

    /// A CONNECT (or a resume) of `namespace`: the socket is made, its
    /// connect handler started; a resume the store can serve restores the
    /// socket's id and rooms at once (under the store's lock, so no packet
    /// recorded from then on misses it) and its missed packets wait for the
    /// accept.
    fn open_socket(
        &mut self,
        namespace: String,
        auth: Value,
        resume: Option<socketwire::socketio::ResumeRequest>,
    ) {
        let handler = lock(&self.inner.namespaces).get(&namespace).cloned();
        let Some(handler) = handler else {
            let _ = self.sio.refuse(&namespace, "Invalid namespace", None);
            return;
        };
        if self.namespaces.contains_key(&namespace) {
            return;
        }
        #[cfg(feature = "redis")]
        if let Some(request) = &resume
            && self.restore_from_redis(&namespace, auth.clone(), handler.clone(), request)
        {
            return;
        }
        let restored = match (&self.inner.recovery, resume) {
            (Some(store), Some(request)) => {
                let mut store = lock(store);
                match store.restore(&namespace, &request, self.inner.now()) {
                    Ok(restored) => {
                        let mut rooms = lock(&self.inner.rooms);
                        rooms.add_socket(&namespace, self.sid.clone());
                        for room in restored.rooms.iter().chain([&restored.sid]) {
                            let _ = rooms.join(&namespace, self.sid.clone(), room);
                        }
                        Some(restored)
                    }
                    Err(_) => None,
                }
            }
            _ => None,
        };
        let (events, rx) = mpsc::channel(EVENT_SLOTS);
        self.start_socket(namespace, auth, handler, restored, events, rx);
    }

    /// Makes the socket of `namespace` (restored or new) and starts its
    /// connect handler.
    fn start_socket(
        &mut self,
        namespace: String,
        auth: Value,
        handler: ConnectHandler,
        restored: Option<RecoveredSession>,
        events: mpsc::Sender<SocketEvent>,
        rx: mpsc::Receiver<SocketEvent>,
    ) {
        let (socket_id, pid) = match &restored {
            Some(restored) => (restored.sid.clone(), Some(restored.pid.clone())),
            // Independent random ids: socket ids are shown to other clients,
            // so they must not reveal the Engine.IO sid; the pid is private.
            None => (
                engineio::os_random_sid(),
                self.recovery.then(engineio::os_random_sid),
            ),
        };
        let socket = SocketRef {
            socket: Arc::new(SocketShared {
                id: socket_id.clone(),
                recovered: restored.is_some(),
                recorded: self.recovery,
                namespace: namespace.clone(),
                sid: self.sid.clone(),
                handle: self.handle.clone(),
                inner: self.inner.clone(),
                handlers: Mutex::default(),
            }),
        };
        if self.inner.stream_offsets(&namespace) {
            // Its own emits go through the stream to the room of its id, so
            // it is in that room from now on (its packets wait for the accept),
            // as a socket.io socket joins it before its connection handler runs.
            let mut rooms = lock(&self.inner.rooms);
            rooms.add_socket(&namespace, self.sid.clone());
            let _ = rooms.join(&namespace, self.sid.clone(), &socket_id);
        }
        self.namespaces.insert(
            namespace,
            NamespaceState {
                socket_id,
                pid,
                was_recovered: restored.is_some(),
                recovered: restored,
                events,
                pending: Some(Vec::new()),
            },
        );
        tokio::spawn(run_socket(socket, handler, auth, rx));
    }

    fn on_core_event(&mut self, eio: &mut engineio::ServerSession, event: CoreEvent) {
        let now = self.inner.now();
        match event {
            CoreEvent::Connect { namespace, auth } => self.open_socket(namespace, auth, None),
            CoreEvent::Resume {
                namespace,
                auth,
                request,
            } => self.open_socket(namespace, auth, Some(*request)),
            CoreEvent::Event {
                namespace,
                name,
                args,
                ack_id,
            } => {
                let Some(state) = self.namespaces.get(&namespace) else {
                    return;
                };
                let event = SocketEvent::Event { name, args, ack_id };
                if state.events.try_send(event).is_err() {
                    // Its handlers are EVENT_SLOTS events behind: drop the client.
                    eio.close(now);
                }
            }
            CoreEvent::Ack {
                namespace,
                id,
                args,
            } => {
                if let Some(reply) = self.acks.remove(&(namespace, id)) {
                    let _ = reply.send(Ok(args));
                }
            }
            CoreEvent::AckTimeout { namespace, id } => {
                if let Some(reply) = self.acks.remove(&(namespace, id)) {
                    let _ = reply.send(Err(AckError::Timeout));
                }
            }
            CoreEvent::Disconnected { namespace, reason } => self.leave(&namespace, reason),
            CoreEvent::Close(_) => eio.close(now),
            _ => {}
        }
    }
}

/// One socket's task: its connect handler, then its events in order, then
/// its disconnect handler.
async fn run_socket(
    socket: SocketRef,
    handler: ConnectHandler,
    auth: Value,
    mut events: mpsc::Receiver<SocketEvent>,
) {
    let result = handler(socket.clone(), auth).await;
    let refused = result.is_err();
    let namespace = socket.socket.namespace.clone();
    if !socket
        .socket
        .handle
        .send(Command::Connected { namespace, result })
        .await
        || refused
    {
        return;
    }
    while let Some(event) = events.recv().await {
        match event {
            SocketEvent::Event { name, args, ack_id } => {
                let handler = lock(&socket.socket.handlers).events.get(&name).cloned();
                if let Some(handler) = handler {
                    let ack = AckSender {
                        socket: socket.clone(),
                        id: ack_id,
                    };
                    handler(socket.clone(), args, ack).await;
                }
            }
            SocketEvent::Disconnected(reason) => {
                let handler = lock(&socket.socket.handlers).disconnect.take();
                if let Some(handler) = handler {
                    handler(socket.clone(), reason).await;
                }
                // The handlers hold clones of the socket: drop them so it can go.
                *lock(&socket.socket.handlers) = Handlers::default();
                return;
            }
        }
    }
}

/// The HTTP response of the service.
pub type SocketIoResponse = crate::engineio::EngineIoResponse;

/// The tower `Service` of the server: mount it at `/socket.io/` (axum:
/// `Router::new().route_service("/socket.io/", service)`). It answers every
/// request it is given as an Engine.IO request (the path is not checked).
///
/// ```no_run
/// let (service, _io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
/// let app: axum::Router = axum::Router::new().route_service("/socket.io/", service);
/// ```
#[derive(Clone)]
pub struct SocketIoService {
    core: Arc<Core<SessionTask>>,
}

crate::engineio::driver::engine_service!(SocketIoService);

/// Serves `service` on `listener` for users without a framework:
/// `/socket.io/` goes to the service, anything else is `404`. It runs on
/// [`server::serve`](crate::server::serve) with the default
/// [`ServerConfig`](crate::server::ServerConfig) (at most 10 000 connections,
/// a 10 s deadline on request heads, 30 s on each write); an accept error is
/// backed off, never returned, so this runs until its task is dropped.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let (service, _io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// socketwire_tokio::socketio::server::serve(listener, service).await
/// # }
/// ```
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: SocketIoService,
) -> std::io::Result<()> {
    serve_with_config(listener, service, crate::server::ServerConfig::default()).await
}

/// [`serve`] within the limits of `config` (the connection cap and the head
/// and write deadlines; see [`ServerConfig`](crate::server::ServerConfig)).
///
/// ```no_run
/// use socketwire_tokio::server::ServerConfig;
/// # async fn run() -> std::io::Result<()> {
/// let (service, _io) = socketwire_tokio::socketio::server::SocketIo::new(Default::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let config = ServerConfig { max_connections: 1000, ..ServerConfig::default() };
/// socketwire_tokio::socketio::server::serve_with_config(listener, service, config).await
/// # }
/// ```
pub async fn serve_with_config(
    listener: tokio::net::TcpListener,
    service: SocketIoService,
    config: crate::server::ServerConfig,
) -> std::io::Result<()> {
    crate::engineio::driver::serve_prefix(listener, "/socket.io/", service.core, config).await
}

/// A tower `Layer`: requests whose path starts with `/socket.io/` go to the
/// Socket.IO server, the others to the wrapped service. From
/// [`SocketIo::new_layer`].
///
/// ```no_run
/// let (layer, _io) = socketwire_tokio::socketio::server::SocketIo::new_layer(Default::default());
/// let app: axum::Router = axum::Router::new().layer(layer);
/// ```
#[derive(Debug, Clone)]
pub struct SocketIoLayer {
    service: SocketIoService,
}

impl<S> tower_layer::Layer<S> for SocketIoLayer {
    type Service = SocketIoLayerService<S>;

    fn layer(&self, inner: S) -> SocketIoLayerService<S> {
        SocketIoLayerService {
            service: self.service.clone(),
            inner,
        }
    }
}

/// The service a [`SocketIoLayer`] makes: `/socket.io/` to the server, the
/// rest to `S`.
///
/// ```no_run
/// use tower_layer::Layer;
/// let (layer, _io) = socketwire_tokio::socketio::server::SocketIo::new_layer(Default::default());
/// let app = axum::Router::<()>::new();
/// let _service = layer.layer(app);
/// ```
#[derive(Debug, Clone)]
pub struct SocketIoLayerService<S> {
    service: SocketIoService,
    inner: S,
}

impl<S, B, ResBody> tower_service::Service<http::Request<B>> for SocketIoLayerService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<http_body_util::Either<Full<Bytes>, ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        use http_body_util::Either;
        if request.uri().path().starts_with("/socket.io/") {
            let core = self.service.core.clone();
            Box::pin(async move { Ok(core.call(request).await.map(Either::Left)) })
        } else {
            let future = self.inner.call(request);
            Box::pin(async move { Ok(future.await?.map(Either::Right)) })
        }
    }
}
#[cfg(test)]
mod mailbox_tests {
    /// Every mailbox slot is as big as the largest command, and a broadcast
    /// (one `Arc`) moves a whole slot in and out of the channel: the rare,
    /// large commands are boxed so the slot stays small (it was 160 bytes).
    #[test]
    fn a_mailbox_slot_stays_small() {
        let slot = std::mem::size_of::<crate::engineio::driver::SessionCommand<super::Command>>();
        assert!(slot <= 96, "{slot} bytes");
    }

    /// A broadcast of one JSON text message is framed for Engine.IO once, as
    /// `4` and the packet; one with attachments, or in msgpack, is left to
    /// each session's Socket.IO queue (several messages, or binary).
    #[test]
    fn a_text_broadcast_is_framed_once() {
        use bytes::Bytes;
        use socketwire::socketio::{Parser, Value};
        let text = Parser::Json.event("/", "news", &[Value::from("hi")], None);
        let framed = super::Broadcasted::new(text).framed.expect("framed");
        assert_eq!(&framed.as_bytes()[..], br#"42["news","hi"]"#);
        let blob = [Value::Bytes(Bytes::from_static(&[1, 2]))];
        let with_attachment = Parser::Json.event("/", "news", &blob, None);
        assert!(super::Broadcasted::new(with_attachment).framed.is_none());
        let msgpack = Parser::Msgpack.event("/", "news", &[Value::from("hi")], None);
        assert!(super::Broadcasted::new(msgpack).framed.is_none());
    }
}
