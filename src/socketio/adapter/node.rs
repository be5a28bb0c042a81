//! [`ClusterNode`]: one namespace's member of a Socket.IO cluster speaking the
//! ClusterAdapter protocol, sans-IO.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use super::channel::{ChannelKind, Channels};
use super::classic::{ClassicBroadcast, ClassicRequest, ClassicResponse, EMITTER_UID, RequestBody};
use super::cluster::{ClusterBody, ClusterMessage, StreamEntry};
use super::error::{ApiMisuse, Error};
use super::payload::{AdapterPacket, BroadcastOptions, DecodeLimits, Encoding};
use crate::socketio::{Offset, RoomRegistry, Value};

/// How the node's messages reach the others.
///
/// ```
/// use socketwire::socketio::adapter::Transport;
/// let t = Transport::Sharded { dynamic_rooms: true };
/// assert_ne!(t, Transport::PubSub);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// Plain `PUBLISH` on `<prefix>#<nsp>#` and `<prefix>#<nsp>#<uid>#`; JSON,
    /// msgpack when the data holds binary.
    PubSub,
    /// The sharded adapter: `SPUBLISH`, same channels and encoding; with
    /// `dynamic_rooms` (`subscriptionMode: "dynamic"`, its default) a broadcast
    /// to exactly one room that does not look like a socket id (20 characters)
    /// and waits for no ack goes to `<prefix>#<nsp>#<room>#`.
    Sharded {
        /// `subscriptionMode: "dynamic"`.
        dynamic_rooms: bool,
    },
    /// The streams adapter: durable messages `XADD` to `stream`; broadcasts
    /// with ack, serverSideEmit, fetchSockets and every response go over
    /// pub/sub (`SPUBLISH` when `sharded_pubsub`), always msgpack.
    Streams {
        /// The stream name ([`stream_name`](super::channel::stream_name)).
        stream: String,
        /// `useShardedPubSub`.
        sharded_pubsub: bool,
        /// `maxLen`, the approximate cap of the stream (the adapter's default is 10 000).
        max_len: u64,
    },
    /// The classic Redis adapter (`createAdapter`): broadcasts msgpack on
    /// `<key>#<nsp>#[<room>#]`, requests on `<key>-request#<nsp>#`, responses
    /// on `<key>-response#<nsp>#` (or `…#<requester uid>#` with
    /// `specific_response_channel`, the adapter's
    /// `publishOnSpecificResponseChannel`). No heartbeats: the server count is
    /// `PUBSUB NUMSUB <key>-request#<nsp>#` ([`ClusterNode::set_server_count`]).
    Classic {
        /// `publishOnSpecificResponseChannel`.
        specific_response_channel: bool,
    },
}

/// One subscription the glue makes for a node.
///
/// ```
/// use socketwire::socketio::adapter::{ClusterNode, NodeConfig, Subscription};
/// let node = ClusterNode::<u32>::new("u1", "/", NodeConfig::default(), core::time::Duration::ZERO);
/// assert_eq!(node.subscriptions()[0], Subscription { channel: "socket.io#/#".into(), pattern: false, sharded: false });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The channel, or the glob pattern when `pattern`.
    pub channel: String,
    /// `PSUBSCRIBE` (the classic broadcast channels `<key>#<nsp>#*`).
    pub pattern: bool,
    /// `SSUBSCRIBE` (sharded pub/sub).
    pub sharded: bool,
}

/// The node's settings. Every queue and wait has its cap here.
///
/// ```
/// use core::time::Duration;
/// use socketwire::socketio::adapter::NodeConfig;
/// let config = NodeConfig { heartbeat_interval: Duration::from_secs(1), ..NodeConfig::default() };
/// assert_eq!(config.heartbeat_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConfig {
    /// Channel prefix (`channelPrefix`), default `socket.io`.
    pub prefix: String,
    /// How messages travel; default [`Transport::PubSub`].
    pub transport: Transport,
    /// Whether nodes announce themselves (`ClusterAdapterWithHeartbeat`):
    /// then the node list comes from heartbeats (never with [`Transport::Classic`]). Without, the glue gives the
    /// server count ([`ClusterNode::set_server_count`], from `PUBSUB NUMSUB`
    /// or `SHARDNUMSUB`), as the sharded and streams adapters do. Default on.
    pub heartbeats: bool,
    /// A heartbeat is published this long after the node's last message
    /// (default 5 s, `heartbeatInterval`).
    pub heartbeat_interval: Duration,
    /// A node silent this long is removed (default 10 s, `heartbeatTimeout`).
    pub heartbeat_timeout: Duration,
    /// How long fetchSockets and serverSideEmit wait (default 5 s), and a
    /// broadcast with ack whose flags carry no `timeout`.
    pub request_timeout: Duration,
    /// Requests of this node waiting for answers; a new one past the cap is
    /// [`ApiMisuse::TooManyPendingRequests`] (default 256).
    pub max_pending_requests: usize,
    /// Answers kept per request (sockets of fetchSockets, acks of a broadcast,
    /// serverSideEmit replies); later ones are counted but dropped and the
    /// result says `truncated` (default 10 000).
    pub max_responses_per_request: usize,
    /// Nodes remembered; heartbeats of more are ignored (default 1024).
    pub max_nodes: usize,
    /// Messages waiting in [`ClusterNode::poll_publish`]; past it, commands
    /// fail with [`ApiMisuse::PublishQueueFull`] and automatic answers are
    /// dropped (counted by [`ClusterNode::dropped`]) (default 4096).
    pub max_queued_publishes: usize,
    /// Events waiting in [`ClusterNode::poll_event`]; past it, new events are
    /// dropped and counted (default 4096).
    pub max_queued_events: usize,
    /// Bounds on every incoming payload.
    pub limits: DecodeLimits,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            prefix: "socket.io".into(),
            transport: Transport::PubSub,
            heartbeats: true,
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
            max_pending_requests: 256,
            max_responses_per_request: 10_000,
            max_nodes: 1024,
            max_queued_publishes: 4096,
            max_queued_events: 4096,
            limits: DecodeLimits::default(),
        }
    }
}

/// One thing for the glue to send to Redis.
///
/// ```
/// use socketwire::socketio::adapter::{ClusterNode, NodeConfig, Publish};
/// let mut node = ClusterNode::<u32>::new("a1", "/", NodeConfig::default(), core::time::Duration::ZERO);
/// match node.poll_publish() {
///     Some(Publish::Channel { channel, sharded: false, .. }) => assert_eq!(channel, "socket.io#/#"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publish {
    /// `PUBLISH channel payload`, or `SPUBLISH` when `sharded`.
    Channel {
        /// The channel.
        channel: String,
        /// The payload.
        payload: Bytes,
        /// `SPUBLISH` rather than `PUBLISH`.
        sharded: bool,
    },
    /// `XADD stream MAXLEN ~ max_len * <entry fields>`.
    Stream {
        /// The stream.
        stream: String,
        /// The approximate length cap ([`Transport::Streams`]).
        max_len: u64,
        /// The fields.
        entry: StreamEntry,
        /// Set for a broadcast of [`ClusterNode::broadcast_with_offset`]: give
        /// the entry id `XADD` returned to [`ClusterNode::handle_published`]
        /// (or [`ClusterNode::handle_publish_failed`]), which yields the local
        /// fan-out.
        token: Option<PublishToken>,
    },
}

/// Names one local broadcast of [`ClusterNode::broadcast_with_offset`] whose
/// `XADD` the glue runs: its local fan-out waits for the entry id.
///
/// ```
/// use socketwire::socketio::adapter::PublishToken;
/// assert_ne!(PublishToken::from_raw(1), PublishToken::from_raw(2));
/// assert_eq!(PublishToken::from_raw(7).raw(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublishToken(u64);

impl PublishToken {
    /// A token from its number (tests, and glue that stores tokens as numbers).
    ///
    /// ```
    /// # use socketwire::socketio::adapter::PublishToken;
    /// let _ = PublishToken::from_raw(0);
    /// ```
    pub fn from_raw(raw: u64) -> PublishToken {
        PublishToken(raw)
    }

    /// The token's number.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::PublishToken;
    /// assert_eq!(PublishToken::from_raw(3).raw(), 3);
    /// ```
    pub fn raw(self) -> u64 {
        self.0
    }
}

/// Where to send the answer to a request from another node.
///
/// ```
/// use socketwire::socketio::adapter::Reply;
/// let r = Reply { uid: "node-b".into(), request_id: "r1".into() };
/// assert_eq!(r.request_id, "r1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The requesting node.
    pub uid: String,
    /// Its request id.
    pub request_id: String,
}

/// Why a node left the list.
///
/// ```
/// use socketwire::socketio::adapter::LeaveReason;
/// assert_ne!(LeaveReason::Expired, LeaveReason::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// Silent for longer than [`NodeConfig::heartbeat_timeout`].
    Expired,
    /// It published ADAPTER_CLOSE.
    Closed,
}

/// What happened, for the glue: local work to do and results of requests.
///
/// ```
/// use socketwire::socketio::adapter::{NodeEvent, LeaveReason};
/// let e = NodeEvent::<u32>::NodeLeft { uid: "b".into(), reason: LeaveReason::Closed };
/// assert!(matches!(e, NodeEvent::NodeLeft { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NodeEvent<S> {
    /// A node was heard from for the first time.
    NodeJoined {
        /// Its uid.
        uid: String,
    },
    /// A node left the list.
    NodeLeft {
        /// Its uid.
        uid: String,
        /// Why.
        reason: LeaveReason,
    },
    /// Another node broadcast: send `packet` to each of `recipients` (the
    /// registry's answer to the options). With `ack`, each recipient's ack goes
    /// to [`ClusterNode::broadcast_ack`]; the client count was already published.
    Broadcast {
        /// The packet (`data` = `[event, ...args]`, binary inline).
        packet: AdapterPacket,
        /// The options, flags included (`volatile`, `compress`).
        opts: BroadcastOptions,
        /// The local sockets to send it to.
        recipients: Vec<S>,
        /// Set for a broadcast with ack.
        ack: Option<Reply>,
        /// The stream entry id, when the broadcast came from a stream (or is
        /// this node's own, [`ClusterNode::handle_published`]): with connection
        /// state recovery, the glue appends it with
        /// [`AdapterPacket::push_offset`] (an EVENT that asks no ack and is not
        /// volatile), as the client's offset.
        offset: Option<String>,
    },
    /// These local sockets join `rooms` (the glue applies it to its registry).
    SocketsJoin {
        /// Who.
        sockets: Vec<S>,
        /// The rooms.
        rooms: Vec<String>,
    },
    /// These local sockets leave `rooms`.
    SocketsLeave {
        /// Who.
        sockets: Vec<S>,
        /// The rooms.
        rooms: Vec<String>,
    },
    /// Disconnect these local sockets (`close`: the transport too).
    DisconnectSockets {
        /// Who.
        sockets: Vec<S>,
        /// Close the underlying connection.
        close: bool,
    },
    /// Another node asks for these sockets' details: answer with
    /// [`ClusterNode::respond_fetch_sockets`].
    FetchSockets {
        /// The matching local sockets.
        sockets: Vec<S>,
        /// Where the answer goes.
        reply: Reply,
    },
    /// A server-side emit from another node; with `reply`, answer with
    /// [`ClusterNode::respond_server_side_emit`].
    ServerSideEmit {
        /// `[event, ...args]`.
        packet: Vec<Value>,
        /// Set when an ack is expected.
        reply: Option<Reply>,
    },
    /// A fetchSockets of this node ended: every node answered, or the wait
    /// timed out (`missing` > 0). `sockets` holds the other nodes' sockets.
    FetchSocketsDone {
        /// The request.
        request_id: String,
        /// The other nodes' sockets (`{id, handshake, rooms, data}`).
        sockets: Vec<Value>,
        /// Nodes that did not answer in time.
        missing: usize,
        /// More than [`NodeConfig::max_responses_per_request`] arrived.
        truncated: bool,
    },
    /// A serverSideEmit with ack of this node ended.
    ServerSideEmitDone {
        /// The request.
        request_id: String,
        /// One entry per answering node (`Null` for an ack without argument).
        responses: Vec<Value>,
        /// Nodes that did not answer in time.
        missing: usize,
        /// More answers than the cap arrived.
        truncated: bool,
    },
    /// Another node asks for every room (classic ALL_ROOMS); the node answered
    /// already from the room registry. For information.
    AllRoomsAsked {
        /// Who asked.
        reply: Reply,
    },
    /// Another node asks for the ids of the sockets in some rooms (classic
    /// SOCKETS, `io.of(nsp).adapter.sockets(rooms)` of socket.io < 4): answer
    /// with [`ClusterNode::respond_sockets`] and the socket ids of `sockets`.
    SocketsAsked {
        /// The local sockets in the rooms asked for (all, for none).
        sockets: Vec<S>,
        /// Where the answer goes.
        reply: Reply,
    },
    /// An allRooms of this node ended (classic only): the other nodes' rooms,
    /// each once, sorted.
    AllRoomsDone {
        /// The request.
        request_id: String,
        /// Their rooms.
        rooms: Vec<String>,
        /// Nodes that did not answer in time.
        missing: usize,
        /// More answers than the cap arrived.
        truncated: bool,
    },
    /// A broadcast with ack of this node ended: every node sent its client
    /// count and every client acked, or the timeout passed.
    BroadcastAckDone {
        /// The request.
        request_id: String,
        /// Clients the other nodes sent the packet to.
        client_count: u64,
        /// Their acks so far.
        acks: Vec<Value>,
        /// Nodes that sent no client count.
        missing: usize,
        /// More acks than the cap arrived.
        truncated: bool,
    },
}

/// Who must still answer a request.
#[derive(Debug)]
enum Awaiting {
    /// Heartbeat mode: the nodes known when it was sent.
    Nodes(BTreeSet<String>),
    /// Count mode: this many more answers.
    Count(usize),
}

impl Awaiting {
    /// Counts an answer from `uid`; `false` when it was not expected.
    fn answered(&mut self, uid: &str) -> bool {
        match self {
            Awaiting::Nodes(missing) => missing.remove(uid),
            Awaiting::Count(0) => false,
            Awaiting::Count(n) => {
                *n -= 1;
                true
            }
        }
    }

    fn missing(&self) -> usize {
        match self {
            Awaiting::Nodes(missing) => missing.len(),
            Awaiting::Count(n) => *n,
        }
    }
}

#[derive(Debug)]
enum PendingKind {
    AllRooms,
    FetchSockets,
    ServerSideEmit,
    BroadcastAck { client_count: u64 },
}

#[derive(Debug)]
struct Pending {
    kind: PendingKind,
    deadline: Duration,
    awaiting: Awaiting,
    /// Sockets, serverSideEmit answers or acks, capped.
    values: Vec<Value>,
    /// Acks seen (kept or not).
    seen: u64,
    truncated: bool,
}

impl Pending {
    fn keep(&mut self, value: Value, cap: usize) {
        self.seen = self.seen.saturating_add(1);
        if self.values.len() < cap {
            self.values.push(value);
        } else {
            self.truncated = true;
        }
    }

    fn is_complete(&self) -> bool {
        match self.kind {
            PendingKind::BroadcastAck { client_count } => {
                self.awaiting.missing() == 0 && self.seen >= client_count
            }
            _ => self.awaiting.missing() == 0,
        }
    }
}

/// Where a message goes.
enum Route<'a> {
    /// The namespace's main channel (or stream).
    Main,
    /// A node's response channel.
    Node(&'a str),
}

/// One namespace's member of a Socket.IO cluster on the ClusterAdapter
/// protocol (`socket.io-adapter`'s `ClusterAdapterWithHeartbeat`, the sharded
/// and the streams Redis adapters), sans-IO: bytes in, typed events and
/// "publish this there" out. No Redis client, no clock, no RNG: the node uid
/// and request ids come from the caller (a CSPRNG: 8 random bytes in hex, as
/// socket.io-adapter's `randomId`), `now` is an argument.
///
/// | kind | methods |
/// |---|---|
/// | input | [`handle_message`](Self::handle_message) (pub/sub), [`handle_stream_entry`](Self::handle_stream_entry) (XREAD), [`handle_published`](Self::handle_published) / [`handle_publish_failed`](Self::handle_publish_failed) (an XADD's id), [`handle_timeout`](Self::handle_timeout) |
/// | output | [`poll_publish`](Self::poll_publish), [`poll_event`](Self::poll_event), [`poll_timeout`](Self::poll_timeout) |
/// | commands | [`broadcast`](Self::broadcast), [`broadcast_with_offset`](Self::broadcast_with_offset), [`broadcast_with_ack`](Self::broadcast_with_ack), [`sockets_join`](Self::sockets_join), [`sockets_leave`](Self::sockets_leave), [`disconnect_sockets`](Self::disconnect_sockets), [`fetch_sockets`](Self::fetch_sockets), [`server_side_emit`](Self::server_side_emit), [`server_side_emit_with_ack`](Self::server_side_emit_with_ack), [`close`](Self::close) |
/// | answers | [`respond_fetch_sockets`](Self::respond_fetch_sockets), [`respond_sockets`](Self::respond_sockets) (classic SOCKETS), [`respond_server_side_emit`](Self::respond_server_side_emit), [`broadcast_ack`](Self::broadcast_ack) |
/// | glue input | [`set_server_count`](Self::set_server_count) (without heartbeats), [`subscriptions`](Self::subscriptions) |
///
/// The glue subscribes to [`subscriptions`](Self::subscriptions) (plus, with
/// dynamic rooms, `channels().broadcast(Some(room))` for each public room it
/// has), feeds every message it receives, then drains `poll_publish` into
/// Redis and `poll_event` into its sessions, and calls `handle_timeout` at
/// `poll_timeout`. Local delivery of this node's own broadcasts stays with the
/// glue (`RoomRegistry::recipients` with [`BroadcastOptions::target`]), except
/// with [`broadcast_with_offset`](Self::broadcast_with_offset), whose fan-out
/// waits for the stream entry id (connection state recovery over streams).
///
/// # Limits
///
/// Pending requests, answers per request, known nodes and both queues are
/// capped by [`NodeConfig`]; every request ends at its deadline with what
/// arrived (an answer after it is ignored); a silent node is removed after
/// `heartbeat_timeout`, which ends the requests waiting only for it.
///
/// ```
/// use core::time::Duration;
/// use socketwire::socketio::RoomRegistry;
/// use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions, ClusterNode, NodeConfig, NodeEvent, Publish};
///
/// let t0 = Duration::ZERO;
/// let mut a = ClusterNode::<u32>::new("aaaa", "/", NodeConfig::default(), t0);
/// let mut b = ClusterNode::<u32>::new("bbbb", "/", NodeConfig::default(), t0);
/// let mut rooms_b = RoomRegistry::new();
/// rooms_b.join("/", 7u32, "room1").unwrap();
/// // A's initial heartbeat reaches B; B answers with a heartbeat.
/// let deliver = |from: &mut ClusterNode<u32>, to: &mut ClusterNode<u32>, rooms: &RoomRegistry<u32>| {
///     while let Some(Publish::Channel { channel, payload, .. }) = from.poll_publish() {
///         to.handle_message(&channel, &payload, t0, rooms).unwrap();
///     }
/// };
/// deliver(&mut a, &mut b, &rooms_b);
/// assert_eq!(b.poll_event(), Some(NodeEvent::NodeJoined { uid: "aaaa".into() }));
/// a.broadcast(AdapterPacket::event(vec!["ev".into()]), BroadcastOptions { rooms: vec!["room1".into()], ..Default::default() }, t0).unwrap();
/// deliver(&mut a, &mut b, &rooms_b);
/// match b.poll_event() {
///     Some(NodeEvent::Broadcast { recipients, .. }) => assert_eq!(recipients, [7]),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct ClusterNode<S> {
    uid: String,
    channels: Channels,
    config: NodeConfig,
    nodes: BTreeMap<String, Duration>,
    server_count: usize,
    pending: BTreeMap<String, Pending>,
    publishes: VecDeque<Publish>,
    events: VecDeque<NodeEvent<S>>,
    next_heartbeat: Option<Duration>,
    dropped: u64,
    closed: bool,
    /// Local broadcasts waiting for their entry id, by token.
    awaiting_ids: BTreeMap<u64, (AdapterPacket, BroadcastOptions)>,
    next_token: u64,
}

impl<S: Ord + Clone> ClusterNode<S> {
    /// A node of `namespace` with the given uid. With heartbeats, its
    /// INITIAL_HEARTBEAT is queued at once.
    ///
    /// ```
    /// use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let node = ClusterNode::<u32>::new("0123456789abcdef", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// assert_eq!(node.uid(), "0123456789abcdef");
    /// ```
    pub fn new(uid: &str, namespace: &str, config: NodeConfig, now: Duration) -> ClusterNode<S> {
        let mut node = ClusterNode {
            uid: uid.into(),
            channels: Channels::new(&config.prefix, namespace),
            config,
            nodes: BTreeMap::new(),
            server_count: 1,
            pending: BTreeMap::new(),
            publishes: VecDeque::new(),
            events: VecDeque::new(),
            next_heartbeat: None,
            dropped: 0,
            closed: false,
            awaiting_ids: BTreeMap::new(),
            next_token: 0,
        };
        if node.config.heartbeats {
            node.publish_automatic(ClusterBody::InitialHeartbeat, Route::Main, now);
        }
        node
    }

    /// This node's uid.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// assert_eq!(node.uid(), "u");
    /// ```
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// The namespace's channel names.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let node = ClusterNode::<u32>::new("u", "/chat", NodeConfig::default(), core::time::Duration::ZERO);
    /// assert_eq!(node.channels().broadcast(Some("r")), "socket.io#/chat#r#");
    /// ```
    pub fn channels(&self) -> &Channels {
        &self.channels
    }

    /// The pub/sub channels to subscribe to. ClusterAdapter transports: the
    /// namespace's main channel and this node's response channel (`SSUBSCRIBE`
    /// when sharded). Classic: `PSUBSCRIBE <key>#<nsp>#*`, the request, the
    /// response and this node's specific response channel (as the JS adapter).
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig, Transport};
    /// let node = ClusterNode::<u32>::new("u1", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// let channels: Vec<_> = node.subscriptions().into_iter().map(|s| s.channel).collect();
    /// assert_eq!(channels, ["socket.io#/#", "socket.io#/#u1#"]);
    /// let classic = NodeConfig { transport: Transport::Classic { specific_response_channel: false }, ..NodeConfig::default() };
    /// let node = ClusterNode::<u32>::new("u1", "/", classic, core::time::Duration::ZERO);
    /// let channels: Vec<_> = node.subscriptions().into_iter().map(|s| s.channel).collect();
    /// assert_eq!(channels, ["socket.io#/#*", "socket.io-request#/#", "socket.io-response#/#", "socket.io-response#/#u1#"]);
    /// ```
    pub fn subscriptions(&self) -> Vec<Subscription> {
        let plain = |channel: String| Subscription {
            channel,
            pattern: false,
            sharded: false,
        };
        match &self.config.transport {
            Transport::Classic { .. } => alloc::vec![
                Subscription {
                    channel: alloc::format!("{}*", self.channels.broadcast(None)),
                    pattern: true,
                    sharded: false
                },
                plain(self.channels.classic_request()),
                plain(self.channels.classic_response(None)),
                plain(self.channels.classic_response(Some(&self.uid))),
            ],
            transport => {
                let sharded = matches!(
                    transport,
                    Transport::Sharded { .. }
                        | Transport::Streams {
                            sharded_pubsub: true,
                            ..
                        }
                );
                [self.channels.broadcast(None), self.channels.node(&self.uid)]
                    .into_iter()
                    .map(|channel| Subscription {
                        channel,
                        pattern: false,
                        sharded,
                    })
                    .collect()
            }
        }
    }

    /// With [`Transport::Sharded`] and dynamic rooms, the channel to
    /// `SSUBSCRIBE` while this node has members in `room` (and to
    /// `SUNSUBSCRIBE` when the room empties): every public room, not the
    /// rooms named by a socket id (the adapter's `shouldUseASeparateNamespace`).
    /// `None` for other transports.
    ///
    /// ```
    /// use socketwire::socketio::adapter::{ClusterNode, NodeConfig, Transport};
    /// let sharded = NodeConfig { heartbeats: false, transport: Transport::Sharded { dynamic_rooms: true }, ..NodeConfig::default() };
    /// let node = ClusterNode::<u32>::new("u", "/", sharded, core::time::Duration::ZERO);
    /// assert_eq!(node.room_subscription("room1", false).map(|s| s.channel), Some("socket.io#/#room1#".into()));
    /// assert_eq!(node.room_subscription("K8817S40kWcxPHL8AAAH", true), None);
    /// ```
    pub fn room_subscription(&self, room: &str, is_socket_id: bool) -> Option<Subscription> {
        match self.config.transport {
            Transport::Sharded {
                dynamic_rooms: true,
            } if !is_socket_id => Some(Subscription {
                channel: self.channels.broadcast(Some(room)),
                pattern: false,
                sharded: true,
            }),
            _ => None,
        }
    }

    /// Heartbeats are on and the transport has them.
    fn heartbeats(&self) -> bool {
        self.config.heartbeats && !matches!(self.config.transport, Transport::Classic { .. })
    }

    /// The other nodes heard from (heartbeat mode).
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// assert_eq!(node.nodes().count(), 0);
    /// ```
    pub fn nodes(&self) -> impl Iterator<Item = &str> + '_ {
        self.nodes.keys().map(String::as_str)
    }

    /// Without heartbeats: the number of servers, this one included (the
    /// glue's `PUBSUB NUMSUB` / `SHARDNUMSUB` of the main channel). Requests
    /// wait for `count - 1` answers. Ignored with heartbeats.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// node.set_server_count(3);
    /// ```
    pub fn set_server_count(&mut self, count: usize) {
        self.server_count = count.max(1);
    }

    /// Messages dropped at a full queue or over the node cap.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// assert_eq!(node.dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Requests of this node still waiting.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// assert_eq!(node.pending_requests(), 0);
    /// ```
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    // ---- input -------------------------------------------------------------

    /// Feeds one pub/sub message (`channel`, `payload`) as received. Messages
    /// of other namespaces, from this node itself, or on channels that are not
    /// this namespace's are ignored (`Ok`). Deadlines at or before `now` fire
    /// first. A refused payload is an [`Error`]; the node is unchanged by it.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::{RoomRegistry, adapter::{ClusterNode, NodeConfig, NodeEvent}};
    /// let mut node = ClusterNode::<u32>::new("a", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// let hb = Bytes::from_static(br#"{"type":2,"uid":"b","nsp":"/"}"#);
    /// node.handle_message("socket.io#/#", &hb, core::time::Duration::ZERO, &RoomRegistry::new()).unwrap();
    /// assert_eq!(node.poll_event(), Some(NodeEvent::NodeJoined { uid: "b".into() }));
    /// ```
    pub fn handle_message(
        &mut self,
        channel: &str,
        payload: &Bytes,
        now: Duration,
        rooms: &RoomRegistry<S>,
    ) -> Result<(), Error> {
        self.handle_timeout(now);
        if matches!(self.config.transport, Transport::Classic { .. }) {
            return self.handle_classic(channel, payload, now, rooms);
        }
        match self.channels.parse_cluster(channel) {
            Some(ChannelKind::Main | ChannelKind::Room(_)) => {}
            _ => return Ok(()),
        }
        let message = ClusterMessage::decode(payload, &self.config.limits)?;
        self.handle_cluster_message(message, None, now, rooms);
        Ok(())
    }

    /// Feeds one stream entry (from `XREAD` on the namespace's stream) and its
    /// id, which a broadcast carries on as its `offset`.
    ///
    /// ```
    /// use socketwire::socketio::{RoomRegistry, adapter::{ClusterNode, NodeConfig, NodeEvent, cluster::StreamEntry}};
    /// let mut node = ClusterNode::<u32>::new("a", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// let entry = StreamEntry { uid: "b".into(), nsp: "/".into(), message_type: "2".into(), data: None };
    /// node.handle_stream_entry(&entry, "1700000000000-0", core::time::Duration::ZERO, &RoomRegistry::new()).unwrap();
    /// assert_eq!(node.poll_event(), Some(NodeEvent::NodeJoined { uid: "b".into() }));
    /// ```
    pub fn handle_stream_entry(
        &mut self,
        entry: &StreamEntry,
        id: &str,
        now: Duration,
        rooms: &RoomRegistry<S>,
    ) -> Result<(), Error> {
        self.handle_timeout(now);
        let message = ClusterMessage::from_stream_entry(entry, &self.config.limits)?;
        self.handle_cluster_message(message, Some(id), now, rooms);
        Ok(())
    }

    /// The classic adapter's input: its messages are read, then go down the
    /// same path as the ClusterAdapter's (ALL_ROOMS, which only it has, apart).
    fn handle_classic(
        &mut self,
        channel: &str,
        payload: &Bytes,
        now: Duration,
        rooms: &RoomRegistry<S>,
    ) -> Result<(), Error> {
        let limits = &self.config.limits;
        let namespace = String::from(self.channels.namespace());
        let message = match self.channels.parse_classic(channel) {
            None => return Ok(()),
            Some(ChannelKind::Main | ChannelKind::Room(_)) => {
                let b = ClassicBroadcast::decode(payload, limits)?;
                let nsp = String::from(b.namespace());
                let body = ClusterBody::Broadcast {
                    packet: b.packet,
                    request_id: None,
                    opts: b.opts,
                };
                ClusterMessage {
                    uid: b.uid,
                    nsp,
                    body,
                }
            }
            Some(ChannelKind::Request) => {
                let r = ClassicRequest::decode(payload, limits)?;
                let body = match (r.body, r.request_id) {
                    (RequestBody::AllRooms, Some(request_id)) => {
                        if r.uid != self.uid && !self.closed {
                            let names = rooms.room_names(&namespace).map(String::from).collect();
                            let reply = Reply {
                                uid: r.uid,
                                request_id,
                            };
                            let response = ClassicResponse::AllRooms {
                                request_id: reply.request_id.clone(),
                                rooms: names,
                            };
                            let publish = self.classic_response(&reply.uid, &response);
                            self.push_automatic(publish);
                            self.push_event(NodeEvent::AllRoomsAsked { reply });
                        }
                        return Ok(());
                    }
                    (RequestBody::Sockets { rooms: asked }, Some(request_id)) => {
                        if r.uid != self.uid && !self.closed {
                            // @socket.io/redis-adapter 8.3.0 `onrequest`, SOCKETS:
                            // `super.sockets(new Set(request.rooms))`, answered
                            // `{requestId, sockets: [...ids]}`.
                            let target = BroadcastOptions {
                                rooms: asked,
                                ..BroadcastOptions::default()
                            }
                            .target();
                            let sockets = rooms.recipients(&namespace, &target);
                            let reply = Reply {
                                uid: r.uid,
                                request_id,
                            };
                            self.push_event(NodeEvent::SocketsAsked { sockets, reply });
                        }
                        return Ok(());
                    }
                    (RequestBody::Join { opts, rooms }, _) => {
                        ClusterBody::SocketsJoin { opts, rooms }
                    }
                    (RequestBody::Leave { opts, rooms }, _) => {
                        ClusterBody::SocketsLeave { opts, rooms }
                    }
                    (RequestBody::Disconnect { opts, close }, _) => {
                        ClusterBody::DisconnectSockets { opts, close }
                    }
                    (RequestBody::Fetch { opts }, Some(request_id)) => {
                        ClusterBody::FetchSockets { opts, request_id }
                    }
                    (RequestBody::ServerSideEmit { data }, request_id) => {
                        ClusterBody::ServerSideEmit {
                            request_id,
                            packet: data,
                        }
                    }
                    (RequestBody::Broadcast { packet, opts }, Some(id)) => ClusterBody::Broadcast {
                        packet,
                        request_id: Some(id),
                        opts,
                    },
                    // A request without the request id it needs was refused
                    // by the decoder; nothing else is left.
                    _ => return Ok(()),
                };
                ClusterMessage {
                    uid: r.uid,
                    nsp: namespace,
                    body,
                }
            }
            Some(ChannelKind::Response(to)) => {
                if to.is_some_and(|uid| uid != self.uid) {
                    return Ok(());
                }
                let body = match ClassicResponse::decode(payload, limits)? {
                    ClassicResponse::AllRooms { request_id, rooms } => {
                        // Classic responses carry no uid: counted, not named.
                        let kind = |k: &PendingKind| matches!(k, PendingKind::AllRooms);
                        self.on_response("", &request_id, kind, |pending, cap| {
                            rooms
                                .into_iter()
                                .for_each(|r| pending.keep(Value::String(r), cap));
                        });
                        return Ok(());
                    }
                    ClassicResponse::Sockets {
                        request_id,
                        sockets,
                    } => ClusterBody::FetchSocketsResponse {
                        request_id,
                        sockets,
                    },
                    ClassicResponse::ServerSideEmit { request_id, data } => {
                        ClusterBody::ServerSideEmitResponse {
                            request_id,
                            packet: data,
                        }
                    }
                    ClassicResponse::BroadcastClientCount {
                        request_id,
                        client_count,
                    } => ClusterBody::BroadcastClientCount {
                        request_id,
                        client_count,
                    },
                    ClassicResponse::BroadcastAck { request_id, packet } => {
                        ClusterBody::BroadcastAck {
                            request_id,
                            packet: Some(packet),
                        }
                    }
                };
                // A classic response names no sender; the empty uid is never ours.
                ClusterMessage {
                    uid: String::new(),
                    nsp: namespace,
                    body,
                }
            }
        };
        self.handle_cluster_message(message, None, now, rooms);
        Ok(())
    }

    /// The one input path of every transport.
    fn handle_cluster_message(
        &mut self,
        message: ClusterMessage,
        offset: Option<&str>,
        now: Duration,
        rooms: &RoomRegistry<S>,
    ) {
        if message.uid == self.uid || message.nsp != self.channels.namespace() || self.closed {
            return;
        }
        if self.heartbeats() && message.uid != EMITTER_UID {
            self.saw_node(&message.uid, now);
        }
        let namespace = String::from(self.channels.namespace());
        let namespace = namespace.as_str();
        let from = message.uid;
        match message.body {
            ClusterBody::InitialHeartbeat => {
                if self.heartbeats() {
                    self.publish_automatic(ClusterBody::Heartbeat, Route::Main, now);
                }
            }
            ClusterBody::Heartbeat => {}
            ClusterBody::AdapterClose => self.remove_node(&from, LeaveReason::Closed),
            ClusterBody::Broadcast {
                packet,
                request_id,
                opts,
            } => {
                let recipients = rooms.recipients(namespace, &opts.target());
                let ack = request_id.map(|request_id| Reply {
                    uid: from,
                    request_id,
                });
                if let Some(reply) = &ack {
                    let client_count = recipients.len() as u64;
                    let body = ClusterBody::BroadcastClientCount {
                        request_id: reply.request_id.clone(),
                        client_count,
                    };
                    self.publish_automatic(body, Route::Node(&reply.uid), now);
                }
                let offset = offset.map(String::from);
                self.push_event(NodeEvent::Broadcast {
                    packet,
                    opts,
                    recipients,
                    ack,
                    offset,
                });
            }
            ClusterBody::SocketsJoin {
                opts,
                rooms: joined,
            } => {
                let sockets = rooms.recipients(namespace, &opts.target());
                self.push_event(NodeEvent::SocketsJoin {
                    sockets,
                    rooms: joined,
                });
            }
            ClusterBody::SocketsLeave { opts, rooms: left } => {
                let sockets = rooms.recipients(namespace, &opts.target());
                self.push_event(NodeEvent::SocketsLeave {
                    sockets,
                    rooms: left,
                });
            }
            ClusterBody::DisconnectSockets { opts, close } => {
                let sockets = rooms.recipients(namespace, &opts.target());
                self.push_event(NodeEvent::DisconnectSockets {
                    sockets,
                    close: close.unwrap_or(false),
                });
            }
            ClusterBody::FetchSockets { opts, request_id } => {
                let sockets = rooms.recipients(namespace, &opts.target());
                self.push_event(NodeEvent::FetchSockets {
                    sockets,
                    reply: Reply {
                        uid: from,
                        request_id,
                    },
                });
            }
            ClusterBody::ServerSideEmit { request_id, packet } => {
                let reply = request_id.map(|request_id| Reply {
                    uid: from,
                    request_id,
                });
                self.push_event(NodeEvent::ServerSideEmit { packet, reply });
            }
            ClusterBody::FetchSocketsResponse {
                request_id,
                sockets,
            } => {
                let kind = |k: &PendingKind| matches!(k, PendingKind::FetchSockets);
                self.on_response(&from, &request_id, kind, |pending, cap| {
                    sockets.into_iter().for_each(|s| pending.keep(s, cap));
                });
            }
            ClusterBody::ServerSideEmitResponse { request_id, packet } => {
                let kind = |k: &PendingKind| matches!(k, PendingKind::ServerSideEmit);
                self.on_response(&from, &request_id, kind, |pending, cap| {
                    pending.keep(packet.unwrap_or_default(), cap);
                });
            }
            ClusterBody::BroadcastClientCount {
                request_id,
                client_count: count,
            } => {
                let kind = |k: &PendingKind| matches!(k, PendingKind::BroadcastAck { .. });
                self.on_response(&from, &request_id, kind, |pending, _| {
                    if let PendingKind::BroadcastAck { client_count } = &mut pending.kind {
                        *client_count = client_count.saturating_add(count);
                    }
                });
            }
            ClusterBody::BroadcastAck { request_id, packet } => {
                let Some(pending) = self.pending.get_mut(&request_id) else {
                    return;
                };
                if !matches!(pending.kind, PendingKind::BroadcastAck { .. }) {
                    return;
                }
                pending.keep(
                    packet.unwrap_or_default(),
                    self.config.max_responses_per_request,
                );
                if pending.is_complete() {
                    self.finish(&request_id);
                }
            }
        }
    }

    /// An answer to one of this node's requests, of the `kind` the request is:
    /// counted against who must answer, then `apply` keeps it. An answer to an
    /// unknown or ended request, or of another kind, is ignored.
    fn on_response(
        &mut self,
        from: &str,
        request_id: &str,
        kind: impl Fn(&PendingKind) -> bool,
        apply: impl FnOnce(&mut Pending, usize),
    ) {
        let cap = self.config.max_responses_per_request;
        let Some(pending) = self.pending.get_mut(request_id) else {
            return;
        };
        if !kind(&pending.kind) || !pending.awaiting.answered(from) {
            return;
        }
        apply(pending, cap);
        if pending.is_complete() {
            self.finish(request_id);
        }
    }

    /// Fires every deadline at or before `now`: requests end with what
    /// arrived, silent nodes are removed, a heartbeat is queued when due.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::adapter::{ClusterNode, NodeConfig, Publish};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), Duration::ZERO);
    /// while node.poll_publish().is_some() {}
    /// assert_eq!(node.poll_timeout(), Some(Duration::from_secs(5)));
    /// node.handle_timeout(Duration::from_secs(5));
    /// assert!(matches!(node.poll_publish(), Some(Publish::Channel { .. })));
    /// ```
    pub fn handle_timeout(&mut self, now: Duration) {
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.finish(&id);
        }
        if self.heartbeats() {
            let timeout = self.config.heartbeat_timeout;
            let silent: Vec<String> = self
                .nodes
                .iter()
                .filter(|&(_, &seen)| seen.saturating_add(timeout) <= now)
                .map(|(uid, _)| uid.clone())
                .collect();
            for uid in silent {
                self.remove_node(&uid, LeaveReason::Expired);
            }
            if !self.closed && self.next_heartbeat.is_some_and(|at| at <= now) {
                self.publish_automatic(ClusterBody::Heartbeat, Route::Main, now);
            }
        }
    }

    /// The earliest deadline: a request's end, a node's expiry, the next heartbeat.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// assert_eq!(node.poll_timeout(), None);
    /// ```
    pub fn poll_timeout(&self) -> Option<Duration> {
        let requests = self.pending.values().map(|p| p.deadline);
        let mut earliest = requests.min();
        if self.heartbeats() && !self.closed {
            let timeout = self.config.heartbeat_timeout;
            let expiries = self.nodes.values().map(|seen| seen.saturating_add(timeout));
            for at in expiries.chain(self.next_heartbeat) {
                earliest = Some(earliest.map_or(at, |e: Duration| e.min(at)));
            }
        }
        earliest
    }

    /// The next message to send to Redis.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// assert_eq!(node.poll_publish(), None);
    /// ```
    pub fn poll_publish(&mut self) -> Option<Publish> {
        self.publishes.pop_front()
    }

    /// The next event for the glue.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// assert_eq!(node.poll_event(), None);
    /// ```
    pub fn poll_event(&mut self) -> Option<NodeEvent<S>> {
        self.events.pop_front()
    }

    // ---- commands ----------------------------------------------------------

    /// Publishes a broadcast (nothing when `opts` is local-only). Delivery to
    /// this node's own sockets is the caller's.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions, ClusterNode, NodeConfig};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// node.broadcast(AdapterPacket::event(vec!["e".into()]), BroadcastOptions::default(), core::time::Duration::ZERO).unwrap();
    /// assert!(node.poll_publish().is_some());
    /// ```
    pub fn broadcast(
        &mut self,
        packet: AdapterPacket,
        opts: BroadcastOptions,
        now: Duration,
    ) -> Result<(), ApiMisuse> {
        self.command(
            ClusterBody::Broadcast {
                packet,
                request_id: None,
                opts,
            },
            now,
        )
    }

    /// A broadcast whose local fan-out waits for its offset (the streams
    /// adapter with connection state recovery, socket.io-adapter's
    /// `publishAndReturnOffset`): with [`Transport::Streams`], the
    /// [`Publish::Stream`] carries a [`PublishToken`]; the glue runs the
    /// `XADD` and gives the entry id to [`handle_published`](Self::handle_published),
    /// which queues the local fan-out as a [`NodeEvent::Broadcast`] with that
    /// `offset`, so every node of the cluster hands its clients the same
    /// offset. With `flags.local`, or another transport, the fan-out is queued
    /// at once without offset (and published as by [`broadcast`](Self::broadcast)).
    ///
    /// At most [`NodeConfig::max_queued_publishes`] fan-outs wait; past it
    /// [`ApiMisuse::PublishQueueFull`].
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::RoomRegistry;
    /// use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions, ClusterNode, NodeConfig, NodeEvent, Publish, Transport};
    /// let streams = NodeConfig { heartbeats: false, transport: Transport::Streams { stream: "socket.io".into(), sharded_pubsub: false, max_len: 10_000 }, ..NodeConfig::default() };
    /// let mut node = ClusterNode::<u32>::new("u", "/", streams, Duration::ZERO);
    /// let mut rooms = RoomRegistry::new();
    /// rooms.add_socket("/", 1u32);
    /// node.broadcast_with_offset(AdapterPacket::event(vec!["e".into()]), BroadcastOptions::default(), Duration::ZERO, &rooms).unwrap();
    /// let Some(Publish::Stream { token: Some(token), .. }) = node.poll_publish() else { panic!() };
    /// assert_eq!(node.poll_event(), None);
    /// node.handle_published(token, "1700000000000-0", &rooms).unwrap();
    /// match node.poll_event() {
    ///     Some(NodeEvent::Broadcast { recipients, offset, .. }) => {
    ///         assert_eq!((recipients, offset.as_deref()), (vec![1], Some("1700000000000-0")));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn broadcast_with_offset(
        &mut self,
        packet: AdapterPacket,
        opts: BroadcastOptions,
        now: Duration,
        rooms: &RoomRegistry<S>,
    ) -> Result<(), ApiMisuse> {
        let streams = matches!(self.config.transport, Transport::Streams { .. });
        if !streams || opts.is_local() {
            self.broadcast(packet.clone(), opts.clone(), now)?;
            self.awaiting_ids.insert(self.next_token, (packet, opts));
            self.fan_out(self.next_token, None, rooms);
            return Ok(());
        }
        self.check_can_publish()?;
        if self.awaiting_ids.len() >= self.config.max_queued_publishes {
            return Err(ApiMisuse::PublishQueueFull);
        }
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1);
        let body = ClusterBody::Broadcast {
            packet: packet.clone(),
            request_id: None,
            opts: opts.clone(),
        };
        self.publish(body, Route::Main, now);
        if let Some(Publish::Stream { token: slot, .. }) = self.publishes.back_mut() {
            *slot = Some(PublishToken(token));
        }
        self.awaiting_ids.insert(token, (packet, opts));
        Ok(())
    }

    /// The `XADD` of [`broadcast_with_offset`](Self::broadcast_with_offset)'s
    /// `token` returned `id`: the local fan-out is queued as a
    /// [`NodeEvent::Broadcast`] with `offset: Some(id)` (recipients from
    /// `rooms` now). An `id` that is not a stream id `<ms>-<seq>` is
    /// [`Error::InvalidStreamId`] and the fan-out goes without offset; an
    /// unknown token is ignored.
    ///
    /// ```
    /// use socketwire::socketio::RoomRegistry;
    /// use socketwire::socketio::adapter::{ClusterNode, NodeConfig, PublishToken};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// assert!(node.handle_published(PublishToken::from_raw(9), "1-0", &RoomRegistry::new()).is_ok());
    /// ```
    pub fn handle_published(
        &mut self,
        token: PublishToken,
        id: &str,
        rooms: &RoomRegistry<S>,
    ) -> Result<(), Error> {
        match Offset::parse(id) {
            Ok(Offset::Stream { .. }) => {
                self.fan_out(token.0, Some(id), rooms);
                Ok(())
            }
            _ => {
                self.fan_out(token.0, None, rooms);
                Err(Error::InvalidStreamId)
            }
        }
    }

    /// The `XADD` of `token` failed: the local fan-out is queued without
    /// offset, as socket.io-adapter still broadcasts locally when its publish
    /// throws.
    ///
    /// ```
    /// use socketwire::socketio::RoomRegistry;
    /// use socketwire::socketio::adapter::{ClusterNode, NodeConfig, PublishToken};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// node.handle_publish_failed(PublishToken::from_raw(0), &RoomRegistry::new());
    /// assert_eq!(node.poll_event(), None);
    /// ```
    pub fn handle_publish_failed(&mut self, token: PublishToken, rooms: &RoomRegistry<S>) {
        self.fan_out(token.0, None, rooms);
    }

    /// Queues the fan-out of an awaited broadcast, recipients from `rooms`.
    fn fan_out(&mut self, token: u64, id: Option<&str>, rooms: &RoomRegistry<S>) {
        let Some((packet, opts)) = self.awaiting_ids.remove(&token) else {
            return;
        };
        let offset = id.map(String::from);
        let recipients = rooms.recipients(self.channels.namespace(), &opts.target());
        // A result the caller waits for, bounded by the awaiting cap: never dropped.
        self.events.push_back(NodeEvent::Broadcast {
            packet,
            opts,
            recipients,
            ack: None,
            offset,
        });
    }

    /// Publishes a broadcast whose clients ack; ends with
    /// [`NodeEvent::BroadcastAckDone`] when every node sent its client count
    /// and every client acked, or at `flags.timeout` (else
    /// [`NodeConfig::request_timeout`]).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions, ClusterNode, NodeConfig, NodeEvent};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), Duration::ZERO);
    /// node.broadcast_with_ack("r1", AdapterPacket::event(vec!["e".into()]), BroadcastOptions::default(), Duration::ZERO).unwrap();
    /// // No other node known: done at once.
    /// assert!(matches!(node.poll_event(), Some(NodeEvent::BroadcastAckDone { missing: 0, .. })));
    /// ```
    pub fn broadcast_with_ack(
        &mut self,
        request_id: &str,
        packet: AdapterPacket,
        opts: BroadcastOptions,
        now: Duration,
    ) -> Result<(), ApiMisuse> {
        let timeout = opts
            .flags
            .as_ref()
            .and_then(|f| f.timeout_ms())
            .map_or(self.config.request_timeout, Duration::from_millis);
        let kind = PendingKind::BroadcastAck { client_count: 0 };
        let body = ClusterBody::Broadcast {
            packet,
            request_id: Some(request_id.into()),
            opts,
        };
        self.request(request_id, kind, timeout, body, now)
    }

    /// Asks every other node for the sockets `opts` addresses; ends with
    /// [`NodeEvent::FetchSocketsDone`] (at once when there is no other node).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use socketwire::socketio::adapter::{BroadcastOptions, ClusterNode, NodeConfig, NodeEvent};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), Duration::ZERO);
    /// node.fetch_sockets("r1", BroadcastOptions::default(), Duration::ZERO).unwrap();
    /// assert!(matches!(node.poll_event(), Some(NodeEvent::FetchSocketsDone { missing: 0, .. })));
    /// ```
    pub fn fetch_sockets(
        &mut self,
        request_id: &str,
        opts: BroadcastOptions,
        now: Duration,
    ) -> Result<(), ApiMisuse> {
        let timeout = opts
            .flags
            .as_ref()
            .and_then(|f| f.timeout_ms())
            .map_or(self.config.request_timeout, Duration::from_millis);
        let body = ClusterBody::FetchSockets {
            opts,
            request_id: request_id.into(),
        };
        self.request(request_id, PendingKind::FetchSockets, timeout, body, now)
    }

    /// Publishes `[event, ...args]` to the other servers, no ack.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// node.server_side_emit(vec!["hello".into()], core::time::Duration::ZERO).unwrap();
    /// assert!(node.poll_publish().is_some());
    /// ```
    pub fn server_side_emit(&mut self, packet: Vec<Value>, now: Duration) -> Result<(), ApiMisuse> {
        self.command(
            ClusterBody::ServerSideEmit {
                request_id: None,
                packet,
            },
            now,
        )
    }

    /// Publishes `[event, ...args]` and waits for each server's ack; ends with
    /// [`NodeEvent::ServerSideEmitDone`].
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig, NodeEvent};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), Duration::ZERO);
    /// node.server_side_emit_with_ack("r1", vec!["ping".into()], Duration::ZERO).unwrap();
    /// assert!(matches!(node.poll_event(), Some(NodeEvent::ServerSideEmitDone { .. })));
    /// ```
    pub fn server_side_emit_with_ack(
        &mut self,
        request_id: &str,
        packet: Vec<Value>,
        now: Duration,
    ) -> Result<(), ApiMisuse> {
        let body = ClusterBody::ServerSideEmit {
            request_id: Some(request_id.into()),
            packet,
        };
        let timeout = self.config.request_timeout;
        self.request(request_id, PendingKind::ServerSideEmit, timeout, body, now)
    }

    /// Makes the sockets `opts` addresses on the other nodes join `rooms`
    /// (`io.socketsJoin`).
    ///
    /// ```
    /// use socketwire::socketio::adapter::{BroadcastOptions, ClusterNode, NodeConfig, Publish};
    /// let config = NodeConfig { heartbeats: false, ..NodeConfig::default() };
    /// let mut node = ClusterNode::<u32>::new("u", "/", config, core::time::Duration::ZERO);
    /// node.sockets_join(BroadcastOptions::default(), vec!["r".into()], core::time::Duration::ZERO).unwrap();
    /// let Some(Publish::Channel { payload, .. }) = node.poll_publish() else { panic!() };
    /// assert_eq!(&payload[..], br#"{"type":4,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["r"]},"uid":"u","nsp":"/"}"#);
    /// ```
    pub fn sockets_join(
        &mut self,
        opts: BroadcastOptions,
        rooms: Vec<String>,
        now: Duration,
    ) -> Result<(), ApiMisuse> {
        self.command(ClusterBody::SocketsJoin { opts, rooms }, now)
    }

    /// Makes the sockets `opts` addresses on the other nodes leave `rooms`
    /// (`io.socketsLeave`). With `flags.local` nothing is published, as for
    /// every command.
    ///
    /// ```
    /// use socketwire::socketio::adapter::{BroadcastOptions, ClusterNode, Flags, NodeConfig};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// let local = BroadcastOptions { flags: Some(Flags::new().with("local", true.into())), ..BroadcastOptions::default() };
    /// node.sockets_leave(local, vec!["r".into()], core::time::Duration::ZERO).unwrap();
    /// assert_eq!(node.poll_publish(), None);
    /// ```
    pub fn sockets_leave(
        &mut self,
        opts: BroadcastOptions,
        rooms: Vec<String>,
        now: Duration,
    ) -> Result<(), ApiMisuse> {
        self.command(ClusterBody::SocketsLeave { opts, rooms }, now)
    }

    /// Disconnects the sockets `opts` addresses on the other nodes
    /// (`io.disconnectSockets(close)`).
    ///
    /// ```
    /// use socketwire::socketio::adapter::cluster::{ClusterBody, ClusterMessage};
    /// use socketwire::socketio::adapter::{BroadcastOptions, ClusterNode, NodeConfig, Publish};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// let opts = BroadcastOptions { rooms: vec!["r".into()], ..BroadcastOptions::default() };
    /// node.disconnect_sockets(opts, true, core::time::Duration::ZERO).unwrap();
    /// let Some(Publish::Channel { payload, .. }) = node.poll_publish() else { panic!() };
    /// let sent = ClusterMessage::decode(&payload, &Default::default()).unwrap();
    /// assert!(matches!(sent.body, ClusterBody::DisconnectSockets { close: Some(true), .. }));
    /// ```
    pub fn disconnect_sockets(
        &mut self,
        opts: BroadcastOptions,
        close: bool,
        now: Duration,
    ) -> Result<(), ApiMisuse> {
        self.command(
            ClusterBody::DisconnectSockets {
                opts,
                close: Some(close),
            },
            now,
        )
    }

    /// Answers a [`NodeEvent::FetchSockets`] with the sockets' details
    /// (`{id, handshake, rooms, data}` each).
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig, Reply};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// let reply = Reply { uid: "b".into(), request_id: "r".into() };
    /// node.respond_fetch_sockets(&reply, vec![]).unwrap();
    /// assert!(node.poll_publish().is_some());
    /// ```
    pub fn respond_fetch_sockets(
        &mut self,
        reply: &Reply,
        sockets: Vec<Value>,
    ) -> Result<(), ApiMisuse> {
        let body = ClusterBody::FetchSocketsResponse {
            request_id: reply.request_id.clone(),
            sockets,
        };
        self.respond(reply, body)
    }

    /// Answers a [`NodeEvent::ServerSideEmit`] that asked for an ack (JS calls
    /// the callback once; so should the caller).
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig, Reply};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// node.respond_server_side_emit(&Reply { uid: "b".into(), request_id: "r".into() }, Some("pong".into())).unwrap();
    /// ```
    pub fn respond_server_side_emit(
        &mut self,
        reply: &Reply,
        packet: Option<Value>,
    ) -> Result<(), ApiMisuse> {
        let body = ClusterBody::ServerSideEmitResponse {
            request_id: reply.request_id.clone(),
            packet,
        };
        self.respond(reply, body)
    }

    /// Answers a [`NodeEvent::SocketsAsked`] (classic only) with the socket
    /// ids: `{requestId, sockets: [ids]}` in JSON on the response channel, as
    /// `@socket.io/redis-adapter` 8.3.0 answers SOCKETS. Other transports:
    /// [`ApiMisuse::Unsupported`].
    ///
    /// ```
    /// use socketwire::socketio::adapter::{ClusterNode, NodeConfig, Publish, Reply, Transport};
    /// let classic = NodeConfig { transport: Transport::Classic { specific_response_channel: false }, ..NodeConfig::default() };
    /// let mut node = ClusterNode::<u32>::new("u", "/", classic, core::time::Duration::ZERO);
    /// node.respond_sockets(&Reply { uid: "b".into(), request_id: "r".into() }, vec!["id1".into()]).unwrap();
    /// let Some(Publish::Channel { channel, payload, .. }) = node.poll_publish() else { panic!() };
    /// assert_eq!((channel.as_str(), &payload[..]), ("socket.io-response#/#", &br#"{"requestId":"r","sockets":["id1"]}"#[..]));
    /// ```
    pub fn respond_sockets(&mut self, reply: &Reply, ids: Vec<String>) -> Result<(), ApiMisuse> {
        if !matches!(self.config.transport, Transport::Classic { .. }) {
            return Err(ApiMisuse::Unsupported);
        }
        self.check_can_publish()?;
        let response = ClassicResponse::Sockets {
            request_id: reply.request_id.clone(),
            sockets: ids.into_iter().map(Value::String).collect(),
        };
        let publish = self.classic_response(&reply.uid, &response);
        self.publishes.push_back(publish);
        Ok(())
    }

    /// Forwards one local client's ack of a [`NodeEvent::Broadcast`] with ack.
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ClusterNode, NodeConfig, Reply};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig { heartbeats: false, ..NodeConfig::default() }, core::time::Duration::ZERO);
    /// node.broadcast_ack(&Reply { uid: "b".into(), request_id: "r".into() }, Some("ok".into())).unwrap();
    /// ```
    pub fn broadcast_ack(&mut self, reply: &Reply, packet: Option<Value>) -> Result<(), ApiMisuse> {
        let body = ClusterBody::BroadcastAck {
            request_id: reply.request_id.clone(),
            packet,
        };
        self.respond(reply, body)
    }

    /// Asks every other node for its rooms (classic only: the ClusterAdapter
    /// has no such request); ends with [`NodeEvent::AllRoomsDone`]. Other
    /// transports: [`ApiMisuse::Unsupported`].
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use socketwire::socketio::adapter::{ApiMisuse, ClusterNode, NodeConfig, NodeEvent, Publish, Transport};
    /// let classic = NodeConfig { transport: Transport::Classic { specific_response_channel: false }, ..NodeConfig::default() };
    /// let mut node = ClusterNode::<u32>::new("u", "/", classic, Duration::ZERO);
    /// node.set_server_count(2);
    /// node.all_rooms("r1", Duration::ZERO).unwrap();
    /// assert!(matches!(node.poll_publish(), Some(Publish::Channel { channel, .. }) if channel == "socket.io-request#/#"));
    /// let mut other = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), Duration::ZERO);
    /// assert_eq!(other.all_rooms("r1", Duration::ZERO), Err(ApiMisuse::Unsupported));
    /// ```
    pub fn all_rooms(&mut self, request_id: &str, now: Duration) -> Result<(), ApiMisuse> {
        if !matches!(self.config.transport, Transport::Classic { .. }) {
            return Err(ApiMisuse::Unsupported);
        }
        let timeout = self.config.request_timeout;
        if self.register(request_id, PendingKind::AllRooms, timeout, false, now)? {
            let body = RequestBody::AllRooms;
            let request = ClassicRequest {
                uid: self.uid.clone(),
                request_id: Some(request_id.into()),
                body,
            };
            let channel = self.channels.classic_request();
            self.publishes.push_back(Publish::Channel {
                channel,
                payload: request.encode(),
                sharded: false,
            });
        }
        Ok(())
    }

    /// Leaves the cluster: ADAPTER_CLOSE is published (with heartbeats), the
    /// pending requests end, later commands are [`ApiMisuse::Closed`].
    ///
    /// ```
    /// # use socketwire::socketio::adapter::{ApiMisuse, BroadcastOptions, ClusterNode, NodeConfig};
    /// let mut node = ClusterNode::<u32>::new("u", "/", NodeConfig::default(), core::time::Duration::ZERO);
    /// node.close(core::time::Duration::ZERO);
    /// assert_eq!(node.sockets_join(BroadcastOptions::default(), vec![], core::time::Duration::ZERO), Err(ApiMisuse::Closed));
    /// ```
    pub fn close(&mut self, now: Duration) {
        if self.closed {
            return;
        }
        if self.heartbeats() {
            self.publish_automatic(ClusterBody::AdapterClose, Route::Main, now);
        }
        let ids: Vec<String> = self.pending.keys().cloned().collect();
        for id in ids {
            self.finish(&id);
        }
        self.closed = true;
        self.next_heartbeat = None;
    }

    // ---- internals ---------------------------------------------------------

    /// Publishes a command, unless its options say `local` (then it is this
    /// node's alone, as socket.io's `io.local`).
    fn command(&mut self, body: ClusterBody, now: Duration) -> Result<(), ApiMisuse> {
        if options_of(&body).is_some_and(BroadcastOptions::is_local) {
            return Ok(());
        }
        self.check_can_publish()?;
        self.publish(body, Route::Main, now);
        Ok(())
    }

    fn respond(&mut self, reply: &Reply, body: ClusterBody) -> Result<(), ApiMisuse> {
        self.check_can_publish()?;
        self.publish(body, Route::Node(&reply.uid), Duration::ZERO);
        Ok(())
    }

    fn check_can_publish(&self) -> Result<(), ApiMisuse> {
        if self.closed {
            return Err(ApiMisuse::Closed);
        }
        if self.publishes.len() >= self.config.max_queued_publishes {
            return Err(ApiMisuse::PublishQueueFull);
        }
        Ok(())
    }

    /// Registers a request and publishes it; with nobody to answer, it ends at once.
    fn request(
        &mut self,
        request_id: &str,
        kind: PendingKind,
        timeout: Duration,
        body: ClusterBody,
        now: Duration,
    ) -> Result<(), ApiMisuse> {
        let local = options_of(&body).is_some_and(BroadcastOptions::is_local);
        if self.register(request_id, kind, timeout, local, now)? {
            self.publish(body, Route::Main, now);
        }
        Ok(())
    }

    /// Registers a request; `true` when it waits for answers (publish it),
    /// `false` when nobody is there to answer and it already ended.
    /// A `local` request asks nobody and ends at once.
    fn register(
        &mut self,
        request_id: &str,
        kind: PendingKind,
        timeout: Duration,
        local: bool,
        now: Duration,
    ) -> Result<bool, ApiMisuse> {
        self.check_can_publish()?;
        if self.pending.contains_key(request_id) {
            return Err(ApiMisuse::DuplicateRequestId);
        }
        if self.pending.len() >= self.config.max_pending_requests {
            return Err(ApiMisuse::TooManyPendingRequests);
        }
        let awaiting = if local {
            Awaiting::Count(0)
        } else if self.heartbeats() {
            Awaiting::Nodes(self.nodes.keys().cloned().collect())
        } else {
            Awaiting::Count(self.server_count - 1)
        };
        let pending = Pending {
            kind,
            deadline: now.saturating_add(timeout),
            awaiting,
            values: Vec::new(),
            seen: 0,
            truncated: false,
        };
        let complete = pending.is_complete();
        self.pending.insert(request_id.into(), pending);
        if complete {
            self.finish(request_id);
        }
        Ok(!complete)
    }

    /// Ends a request: its result event.
    fn finish(&mut self, request_id: &str) {
        let Some(p) = self.pending.remove(request_id) else {
            return;
        };
        let request_id = String::from(request_id);
        let missing = p.awaiting.missing();
        let event = match p.kind {
            PendingKind::AllRooms => {
                let rooms: BTreeSet<String> = p
                    .values
                    .into_iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s),
                        _ => None,
                    })
                    .collect();
                NodeEvent::AllRoomsDone {
                    request_id,
                    rooms: rooms.into_iter().collect(),
                    missing,
                    truncated: p.truncated,
                }
            }
            PendingKind::FetchSockets => NodeEvent::FetchSocketsDone {
                request_id,
                sockets: p.values,
                missing,
                truncated: p.truncated,
            },
            PendingKind::ServerSideEmit => NodeEvent::ServerSideEmitDone {
                request_id,
                responses: p.values,
                missing,
                truncated: p.truncated,
            },
            PendingKind::BroadcastAck { client_count } => NodeEvent::BroadcastAckDone {
                request_id,
                client_count,
                acks: p.values,
                missing,
                truncated: p.truncated,
            },
        };
        // A result is never dropped: the caller is waiting for it, and there
        // are at most `max_pending_requests` of them.
        self.events.push_back(event);
    }

    fn saw_node(&mut self, uid: &str, now: Duration) {
        if let Some(seen) = self.nodes.get_mut(uid) {
            *seen = now;
        } else if self.nodes.len() < self.config.max_nodes {
            self.nodes.insert(uid.into(), now);
            self.push_event(NodeEvent::NodeJoined { uid: uid.into() });
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Forgets a node; requests that waited only for it end.
    fn remove_node(&mut self, uid: &str, reason: LeaveReason) {
        if self.nodes.remove(uid).is_none() {
            return;
        }
        self.push_event(NodeEvent::NodeLeft {
            uid: uid.into(),
            reason,
        });
        let mut done = Vec::new();
        for (id, pending) in &mut self.pending {
            if let Awaiting::Nodes(missing) = &mut pending.awaiting {
                missing.remove(uid);
            }
            if pending.is_complete() {
                done.push(id.clone());
            }
        }
        for id in done {
            self.finish(&id);
        }
    }

    fn push_event(&mut self, event: NodeEvent<S>) {
        if self.events.len() >= self.config.max_queued_events {
            self.dropped = self.dropped.saturating_add(1);
        } else {
            self.events.push_back(event);
        }
    }

    /// A publish the peers caused (heartbeat answers, client counts): dropped
    /// at a full queue.
    fn publish_automatic(&mut self, body: ClusterBody, route: Route<'_>, now: Duration) {
        if self.publishes.len() >= self.config.max_queued_publishes {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        self.publish(body, route, now);
    }

    /// [`publish_automatic`](Self::publish_automatic) for a message already encoded.
    fn push_automatic(&mut self, publish: Publish) {
        if self.publishes.len() >= self.config.max_queued_publishes {
            self.dropped = self.dropped.saturating_add(1);
        } else {
            self.publishes.push_back(publish);
        }
    }

    /// The one place a message is encoded and routed for the transport.
    fn publish(&mut self, body: ClusterBody, route: Route<'_>, now: Duration) {
        let message = ClusterMessage {
            uid: self.uid.clone(),
            nsp: self.channels.namespace().into(),
            body,
        };
        let publish = match (&self.config.transport, &route) {
            (Transport::Classic { .. }, _) => match self.classic_publish(message, &route) {
                Some(publish) => publish,
                None => return,
            },
            (Transport::PubSub, _) => Publish::Channel {
                channel: self.channel_for(&route, None),
                payload: message.encode(message.encoding()),
                sharded: false,
            },
            (Transport::Sharded { dynamic_rooms }, _) => {
                let room = dynamic_room(&message.body).filter(|_| *dynamic_rooms);
                Publish::Channel {
                    channel: self.channel_for(&route, room),
                    payload: message.encode(message.encoding()),
                    sharded: true,
                }
            }
            (
                Transport::Streams {
                    stream,
                    sharded_pubsub,
                    max_len,
                },
                _,
            ) => {
                if matches!(route, Route::Node(_)) || is_ephemeral(&message.body) {
                    Publish::Channel {
                        channel: self.channel_for(&route, None),
                        payload: message.encode(Encoding::Msgpack),
                        sharded: *sharded_pubsub,
                    }
                } else {
                    Publish::Stream {
                        stream: stream.clone(),
                        max_len: *max_len,
                        entry: message.to_stream_entry(),
                        token: None,
                    }
                }
            }
        };
        self.publishes.push_back(publish);
        // ClusterAdapterWithHeartbeat re-arms its heartbeat on every publish
        // (not on responses).
        if self.heartbeats() && matches!(route, Route::Main) {
            self.next_heartbeat = Some(now.saturating_add(self.config.heartbeat_interval));
        }
    }

    /// The classic adapter's form of a message (`None`: it has none, as for
    /// heartbeats). Its requests carry `{rooms, except}` without flags, except
    /// the broadcast; its packets name their namespace.
    fn classic_publish(&self, message: ClusterMessage, route: &Route<'_>) -> Option<Publish> {
        let ClusterMessage { uid, nsp, body } = message;
        let with_nsp = |packet: AdapterPacket| AdapterPacket {
            nsp: Some(nsp.clone()),
            ..packet
        };
        let no_flags = |opts: BroadcastOptions| BroadcastOptions {
            flags: None,
            ..opts
        };
        let requester = match route {
            Route::Node(requester) => *requester,
            Route::Main => "",
        };
        let request = |request_id: Option<String>, body: RequestBody| Publish::Channel {
            channel: self.channels.classic_request(),
            payload: ClassicRequest {
                uid: uid.clone(),
                request_id,
                body,
            }
            .encode(),
            sharded: false,
        };
        let response = |response: ClassicResponse| self.classic_response(requester, &response);
        Some(match body {
            ClusterBody::InitialHeartbeat | ClusterBody::Heartbeat | ClusterBody::AdapterClose => {
                return None;
            }
            ClusterBody::Broadcast {
                packet,
                request_id: None,
                opts,
            } => {
                // https://github.com/socketio/socket.io-redis-adapter (index.ts `broadcast`):
                // exactly one room goes to that room's channel.
                let room = match opts.rooms.as_slice() {
                    [room] => Some(room.as_str()),
                    _ => None,
                };
                let channel = self.channels.broadcast(room);
                let payload = ClassicBroadcast {
                    uid: uid.clone(),
                    packet: with_nsp(packet),
                    opts,
                }
                .encode();
                Publish::Channel {
                    channel,
                    payload,
                    sharded: false,
                }
            }
            ClusterBody::Broadcast {
                packet,
                request_id,
                opts,
            } => request(
                request_id,
                RequestBody::Broadcast {
                    packet: with_nsp(packet),
                    opts,
                },
            ),
            ClusterBody::SocketsJoin { opts, rooms } => request(
                None,
                RequestBody::Join {
                    opts: no_flags(opts),
                    rooms,
                },
            ),
            ClusterBody::SocketsLeave { opts, rooms } => request(
                None,
                RequestBody::Leave {
                    opts: no_flags(opts),
                    rooms,
                },
            ),
            ClusterBody::DisconnectSockets { opts, close } => request(
                None,
                RequestBody::Disconnect {
                    opts: no_flags(opts),
                    close,
                },
            ),
            ClusterBody::FetchSockets { opts, request_id } => request(
                Some(request_id),
                RequestBody::Fetch {
                    opts: no_flags(opts),
                },
            ),
            ClusterBody::ServerSideEmit { request_id, packet } => {
                request(request_id, RequestBody::ServerSideEmit { data: packet })
            }
            ClusterBody::FetchSocketsResponse {
                request_id,
                sockets,
            } => response(ClassicResponse::Sockets {
                request_id,
                sockets,
            }),
            ClusterBody::ServerSideEmitResponse { request_id, packet } => {
                // The JS adapter answers a server-side emit on the shared
                // response channel whatever `publishOnSpecificResponseChannel` says.
                let payload = ClassicResponse::ServerSideEmit {
                    request_id,
                    data: packet,
                }
                .encode();
                Publish::Channel {
                    channel: self.channels.classic_response(None),
                    payload,
                    sharded: false,
                }
            }
            ClusterBody::BroadcastClientCount {
                request_id,
                client_count,
            } => response(ClassicResponse::BroadcastClientCount {
                request_id,
                client_count,
            }),
            ClusterBody::BroadcastAck { request_id, packet } => {
                response(ClassicResponse::BroadcastAck {
                    request_id,
                    packet: packet.unwrap_or_default(),
                })
            }
        })
    }

    /// A classic response to `requester`: on its specific channel when so
    /// configured, on the shared one otherwise.
    fn classic_response(&self, requester: &str, response: &ClassicResponse) -> Publish {
        let specific = matches!(
            self.config.transport,
            Transport::Classic {
                specific_response_channel: true
            }
        );
        let channel = self
            .channels
            .classic_response(specific.then_some(requester));
        Publish::Channel {
            channel,
            payload: response.encode(),
            sharded: false,
        }
    }

    fn channel_for(&self, route: &Route<'_>, room: Option<&str>) -> String {
        match route {
            Route::Main => self.channels.broadcast(room),
            Route::Node(uid) => self.channels.node(uid),
        }
    }
}

/// The sharded adapter's `computeChannel`: a broadcast without ack to exactly
/// one room that does not look like a socket id (20 characters) has its own channel.
fn dynamic_room(body: &ClusterBody) -> Option<&str> {
    match body {
        ClusterBody::Broadcast {
            request_id: None,
            opts,
            ..
        } => match opts.rooms.as_slice() {
            [room] if room.chars().count() != 20 => Some(room),
            _ => None,
        },
        _ => None,
    }
}

/// The addressees of a command, for those that have them.
fn options_of(body: &ClusterBody) -> Option<&BroadcastOptions> {
    match body {
        ClusterBody::Broadcast { opts, .. }
        | ClusterBody::SocketsJoin { opts, .. }
        | ClusterBody::SocketsLeave { opts, .. }
        | ClusterBody::DisconnectSockets { opts, .. }
        | ClusterBody::FetchSockets { opts, .. } => Some(opts),
        _ => None,
    }
}

/// The streams adapter's `isEphemeral`: what goes over pub/sub, not the stream.
fn is_ephemeral(body: &ClusterBody) -> bool {
    matches!(
        body,
        ClusterBody::Broadcast {
            request_id: Some(_),
            ..
        } | ClusterBody::ServerSideEmit { .. }
            | ClusterBody::FetchSockets { .. }
    )
}
