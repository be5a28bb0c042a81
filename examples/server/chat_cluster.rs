//! `/chat` across nodes (`--redis`): the plain-WebSocket room shared through
//! Redis pub/sub.
//!
//! Every message a node's `/chat` accepts goes into its own ring at once (as
//! without `--redis`) and is `PUBLISH`ed on [`CHANNEL`] as
//! `node id (16 hex digits) · kind (b't' or b'b') · payload`. Every node
//! `SUBSCRIBE`s to the channel and puts what the *other* nodes published into
//! its ring; a message carrying its own node id is skipped, since it is in the
//! ring already. So each reader gets every message once, and the room keeps
//! working on each node while Redis is away. The node id is 8 bytes from the
//! OS CSPRNG, drawn at start.
//!
//! ```text
//!  /chat sender ──▶ ring ──▶ this node's readers
//!       └──▶ outbox (bounded) ──▶ PUBLISH ──▶ Redis ──▶ push (bounded) ──▶ other nodes' rings
//! ```
//!
//! | what | bound | when it is hit |
//! |---|---|---|
//! | messages waiting to be published | [`OUTBOX_SLOTS`] (× 32 KiB) | the message reaches this node's readers only (counted, logged once per run) |
//! | messages from Redis waiting for the ring | [`PUSH_SLOTS`] | later ones are dropped |
//! | a message from Redis | [`CHAT_MAX_MESSAGE`](crate::websocket::CHAT_MAX_MESSAGE), UTF-8 text | dropped, as is one of an unknown shape |
//! | the ring, a slow reader | as without `--redis` (64 slots, 1008) | the reader is closed |
//! | a lost or refused Redis connection | 100 ms doubling to 5 s (with jitter) between attempts | logged; the task reconnects and subscribes again; what waits in the outbox is published then |
//! | a silent Redis | a `PING` every [`PING_INTERVAL`], each with a 10 s reply deadline | a missed reply counts as a lost connection |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use redis::aio::{AsyncPushSender, MultiplexedConnection, SendError as PushSendError};
use redis::{AsyncConnectionConfig, PushInfo, PushKind};
use socketwire::engineio::Backoff;
use socketwire::ws::PreparedMessage;
use socketwire::ws::message::MessageKind;
use tokio::sync::{broadcast, mpsc};

use crate::websocket::CHAT_MAX_MESSAGE;

/// The Redis channel of the `/chat` room.
pub const CHANNEL: &str = "socketwire-chat#/chat#";

/// Messages waiting to be published; past it a message is not sent to the
/// other nodes. With 32 KiB messages the outbox holds at most 8 MiB.
pub const OUTBOX_SLOTS: usize = 256;

/// Messages from Redis waiting to go into the ring; later ones are dropped.
pub const PUSH_SLOTS: usize = 256;

/// How often the task pings Redis, so a connection that went silent is found.
pub const PING_INTERVAL: Duration = Duration::from_secs(5);

/// The length of a node id (hex digits).
const NODE_ID_LEN: usize = 16;

/// The marks of the two kinds of message on the channel.
const TEXT: u8 = b't';
const BINARY: u8 = b'b';

/// This node's side of the shared `/chat` room: the outbox to Redis.
#[derive(Debug)]
pub struct ChatCluster {
    node: [u8; NODE_ID_LEN],
    outbox: mpsc::Sender<Bytes>,
    /// Messages the full outbox turned away.
    dropped: AtomicU64,
}

impl ChatCluster {
    /// Joins the room on the Redis at `url` (`redis://host:port[/db]`):
    /// starts the task that publishes this node's messages and puts the other
    /// nodes' into `ring`. Runs inside a tokio runtime; the task ends once the
    /// returned handle is dropped.
    pub fn start(url: &str, ring: broadcast::Sender<PreparedMessage>) -> Arc<ChatCluster> {
        let (outbox, pending) = mpsc::channel(OUTBOX_SLOTS);
        let cluster = Arc::new(ChatCluster {
            node: node_id(),
            outbox,
            dropped: AtomicU64::new(0),
        });
        let task = Task {
            url: url.to_string(),
            node: cluster.node,
            ring,
            pending,
        };
        tokio::spawn(task.run());
        cluster
    }

    /// Sends a message this node accepted to the other nodes; past
    /// [`OUTBOX_SLOTS`] waiting it reaches this node's readers only.
    pub fn publish(&self, kind: MessageKind, payload: &[u8]) {
        match self.outbox.try_send(encode(&self.node, kind, payload)) {
            Ok(()) => {
                let dropped = self.dropped.swap(0, Ordering::Relaxed);
                if dropped > 0 {
                    eprintln!("server: /chat: {dropped} messages were not sent to the other nodes");
                }
            }
            Err(_) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!(
                        "server: /chat: the Redis outbox is full (messages stay on this node)"
                    );
                }
            }
        }
    }
}

/// 8 bytes from the OS CSPRNG, in hex.
fn node_id() -> [u8; NODE_ID_LEN] {
    let mut bytes = [0u8; NODE_ID_LEN / 2];
    // Another node with the same id would skip this node's messages: no fallback.
    getrandom::fill(&mut bytes).expect("operating system random source failed");
    let mut id = [0u8; NODE_ID_LEN];
    for (i, b) in bytes.iter().enumerate() {
        id[2 * i] = HEX[usize::from(b >> 4)];
        id[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    id
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A message as published: node id, kind, payload.
fn encode(node: &[u8; NODE_ID_LEN], kind: MessageKind, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(NODE_ID_LEN + 1 + payload.len());
    out.put_slice(node);
    out.put_u8(match kind {
        MessageKind::Text => TEXT,
        MessageKind::Binary => BINARY,
    });
    out.put_slice(payload);
    out.freeze()
}

/// What a message from the channel puts into the ring: `None` for this
/// node's own (already there), one over the room's size cap, text that is
/// not UTF-8, or one of an unknown shape.
fn decode(own: &[u8; NODE_ID_LEN], published: Bytes) -> Option<PreparedMessage> {
    let (node, rest) = published.split_at_checked(NODE_ID_LEN)?;
    let (&mark, payload) = rest.split_first()?;
    if node == own || u64::try_from(payload.len()).ok()? > CHAT_MAX_MESSAGE {
        return None;
    }
    let kind = match mark {
        TEXT => MessageKind::Text,
        BINARY => MessageKind::Binary,
        _ => return None,
    };
    let payload = published.slice(NODE_ID_LEN + 1..);
    // The same UTF-8 check as every outgoing message's.
    PreparedMessage::new(kind, payload).ok()
}

/// Redis pushes into a bounded channel; a full channel drops the message.
struct BoundedPush(mpsc::Sender<PushInfo>);

impl AsyncPushSender for BoundedPush {
    fn send(&self, info: PushInfo) -> Result<(), PushSendError> {
        match self.0.try_send(info) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(PushSendError),
        }
    }
}

/// The payload of a pushed `message` on [`CHANNEL`].
fn pushed(info: PushInfo) -> Option<Bytes> {
    if info.kind != PushKind::Message {
        return None;
    }
    let mut data = info.data.into_iter();
    let channel: String = redis::from_redis_value(data.next()?).ok()?;
    let payload: Vec<u8> = redis::from_redis_value(data.next()?).ok()?;
    (channel == CHANNEL).then(|| payload.into())
}

/// Why a connected run ended.
enum Ended {
    /// Every handle is gone: leave the room.
    Dropped,
    Lost(redis::RedisError),
}

impl From<redis::RedisError> for Ended {
    fn from(error: redis::RedisError) -> Self {
        Ended::Lost(error)
    }
}

/// The task that links the ring and Redis.
struct Task {
    url: String,
    node: [u8; NODE_ID_LEN],
    ring: broadcast::Sender<PreparedMessage>,
    pending: mpsc::Receiver<Bytes>,
}

impl Task {
    async fn run(mut self) {
        let mut backoff = Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(5),
            0.5,
            None,
        );
        let mut failing = false;
        loop {
            match self.connected(&mut backoff, &mut failing).await {
                Ended::Dropped => return,
                Ended::Lost(error) => {
                    if !failing {
                        eprintln!("server: /chat: Redis at {}: {error} (retrying)", self.url);
                        failing = true;
                    }
                    let random = f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
                    let delay = backoff.next_delay(random).unwrap_or(Duration::from_secs(5));
                    // An outbox closed meanwhile ends the task at the next connect.
                    if self.pending.is_closed() && self.pending.is_empty() {
                        return;
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Connects, subscribes, then publishes and delivers until the
    /// connection is lost or the outbox closes.
    async fn connected(&mut self, backoff: &mut Backoff, failing: &mut bool) -> Ended {
        let (push_tx, mut pushes) = mpsc::channel(PUSH_SLOTS);
        let mut con = match self.connect(push_tx).await {
            Ok(con) => con,
            Err(error) => return Ended::Lost(error),
        };
        if *failing {
            eprintln!("server: /chat: Redis at {} is back", self.url);
            *failing = false;
        }
        backoff.reset();
        let mut ping = tokio::time::interval(PING_INTERVAL);
        loop {
            tokio::select! {
                push = pushes.recv() => match push {
                    Some(info) if info.kind == PushKind::Disconnection => {
                        return Ended::Lost((redis::ErrorKind::Io, "disconnected").into());
                    }
                    Some(info) => self.deliver(info),
                    None => return Ended::Lost((redis::ErrorKind::Io, "disconnected").into()),
                },
                message = self.pending.recv() => match message {
                    Some(message) => {
                        if let Err(error) = redis::cmd("PUBLISH")
                            .arg(CHANNEL)
                            .arg(&message[..])
                            .query_async::<redis::Value>(&mut con)
                            .await
                        {
                            return Ended::Lost(error);
                        }
                    }
                    None => return Ended::Dropped,
                },
                _ = ping.tick() => {
                    if let Err(error) = redis::cmd("PING").query_async::<redis::Value>(&mut con).await {
                        return Ended::Lost(error);
                    }
                }
            }
        }
    }

    /// A RESP3 connection (pub/sub pushes and commands on one connection)
    /// subscribed to [`CHANNEL`].
    async fn connect(
        &self,
        pushes: mpsc::Sender<PushInfo>,
    ) -> redis::RedisResult<MultiplexedConnection> {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        let client = redis::Client::open(format!("{}{separator}protocol=resp3", self.url))?;
        let config = AsyncConnectionConfig::new()
            .set_push_sender(BoundedPush(pushes))
            .set_connection_timeout(Some(Duration::from_secs(10)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let mut con = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("SUBSCRIBE")
            .arg(CHANNEL)
            .query_async::<redis::Value>(&mut con)
            .await?;
        Ok(con)
    }

    /// Another node's message into the ring (no reader: nobody to tell).
    fn deliver(&self, info: PushInfo) {
        if let Some(message) = pushed(info).and_then(|p| decode(&self.node, p)) {
            drop(self.ring.send(message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OTHER: &[u8; NODE_ID_LEN] = b"0123456789abcdef";

    /// What a reader is sent: the kind and the payload.
    type Delivered = Option<(MessageKind, Vec<u8>)>;

    fn text_of(message: Option<PreparedMessage>) -> Delivered {
        message.map(|m| (m.kind(), m.payload().to_vec()))
    }

    /// What the channel carries, and what a node makes of it.
    #[test]
    fn published_messages_decode_for_the_other_nodes_only() {
        let own = node_id();
        assert!(own.iter().all(u8::is_ascii_hexdigit));
        assert_ne!(own, node_id(), "node ids are drawn, not fixed");
        let hi = encode(OTHER, MessageKind::Text, b"hi");
        assert_eq!(&hi[..], b"0123456789abcdefthi");
        let max = usize::try_from(CHAT_MAX_MESSAGE).unwrap();
        let cases: [(Bytes, Delivered); 8] = [
            (hi, Some((MessageKind::Text, b"hi".to_vec()))),
            (
                encode(OTHER, MessageKind::Binary, &[0xff, 0]),
                Some((MessageKind::Binary, vec![0xff, 0])),
            ),
            (
                encode(OTHER, MessageKind::Text, b""),
                Some((MessageKind::Text, vec![])),
            ),
            (
                encode(OTHER, MessageKind::Binary, &vec![7; max]),
                Some((MessageKind::Binary, vec![7; max])),
            ),
            // This node's own: already in its ring.
            (encode(&own, MessageKind::Text, b"hi"), None),
            // Over the room's cap, not UTF-8, an unknown kind, too short.
            (encode(OTHER, MessageKind::Binary, &vec![7; max + 1]), None),
            (encode(OTHER, MessageKind::Text, &[0xff]), None),
            (Bytes::from_static(b"0123456789abcdefxhi"), None),
        ];
        for (published, expected) in cases {
            assert_eq!(text_of(decode(&own, published)), expected);
        }
        assert!(decode(&own, Bytes::from_static(b"0123456789abcdef")).is_none());
        assert!(decode(&own, Bytes::from_static(b"short")).is_none());
    }

    /// Bound: while Redis cannot be reached the outbox holds at most
    /// [`OUTBOX_SLOTS`] messages; the rest are counted and dropped, and the
    /// node neither fails nor blocks.
    #[tokio::test]
    async fn the_outbox_is_bounded_while_redis_is_away() {
        // A loopback port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (ring, _) = broadcast::channel(4);
        let cluster = ChatCluster::start(&format!("redis://127.0.0.1:{port}"), ring);
        for _ in 0..OUTBOX_SLOTS + 10 {
            cluster.publish(MessageKind::Text, b"hello");
        }
        assert_eq!(cluster.dropped.load(Ordering::Relaxed), 10);
        assert_eq!(cluster.outbox.capacity(), 0);
    }

    // ------------------------------------------------------------ two nodes

    use std::net::SocketAddr;
    use std::process::{Child, Command, Stdio};

    use futures_util::{SinkExt, StreamExt};
    use socketwire_tokio::{MaybeTlsStream, Message, WebSocketStream};

    const REDIS: &str = "/usr/bin/redis-server";

    /// Every single wait is bounded by this.
    const WAIT: Duration = Duration::from_secs(5);

    /// Probes sent, at most, while the nodes' subscriptions settle.
    const PROBES: usize = 40;

    /// Messages read, at most, while waiting for one.
    const MAX_MESSAGES: usize = 100;

    /// A redis-server child on a free loopback port, killed on drop.
    struct Redis {
        child: Child,
        port: u16,
    }

    impl Redis {
        fn start() -> Redis {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(REDIS)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server starts");
            let redis = Redis { child, port };
            for _ in 0..200 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return redis;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            panic!("redis-server does not listen on {port}");
        }
    }

    impl Drop for Redis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// An example server with `--redis`, on a free loopback port.
    async fn node(redis: &Redis) -> SocketAddr {
        let options = crate::Options {
            redis: Some(format!("redis://127.0.0.1:{}", redis.port)),
            ..crate::Options::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(crate::run(listener, crate::shared(options)));
        addr
    }

    type Client = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

    async fn chat_client(addr: SocketAddr) -> Client {
        let (ws, _) = socketwire_tokio::connect_async(format!("ws://{addr}/chat"))
            .await
            .expect("the /chat upgrade");
        ws
    }

    /// The next text message, if one comes within `wait`.
    async fn next_text(ws: &mut Client, wait: Duration) -> Option<String> {
        for _ in 0..MAX_MESSAGES {
            match tokio::time::timeout(wait, ws.next()).await.ok()?? {
                Ok(Message::Text(t)) => return Some(t.as_str().to_string()),
                Ok(Message::Ping(_) | Message::Pong(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        None
    }

    /// The text messages up to and including `last`, leaving out the probes.
    async fn texts_until(ws: &mut Client, last: &str) -> Vec<String> {
        let mut seen = Vec::new();
        for _ in 0..MAX_MESSAGES {
            let text = next_text(ws, WAIT).await.expect("a message");
            if text.starts_with("probe") {
                continue;
            }
            let done = text == last;
            seen.push(text);
            if done {
                return seen;
            }
        }
        panic!("no {last:?} among {MAX_MESSAGES} messages: {seen:?}");
    }

    /// With `--redis`, a `/chat` message sent on node A reaches a `/chat`
    /// reader on node B once, and node A's own reader once (A's copy goes
    /// through its ring, the one from Redis is skipped). Proved by the
    /// message after it: each reader sees `hello`, then `end`, nothing
    /// between.
    #[tokio::test]
    async fn a_chat_message_reaches_both_nodes_once() {
        if !std::path::Path::new(REDIS).exists() {
            eprintln!("skipped: {REDIS} is missing (Debian package redis-server)");
            return;
        }
        let redis = Redis::start();
        let (a, b) = (node(&redis).await, node(&redis).await);
        let (mut sender, mut on_a, mut on_b) = (
            chat_client(a).await,
            chat_client(a).await,
            chat_client(b).await,
        );
        // Until both nodes' tasks are connected and subscribed: probes from
        // A until one reaches B.
        let mut linked = false;
        for i in 0..PROBES {
            sender.send(format!("probe {i}").into()).await.unwrap();
            if next_text(&mut on_b, Duration::from_millis(250))
                .await
                .is_some()
            {
                linked = true;
                break;
            }
        }
        assert!(linked, "no probe from node A reached node B");
        sender.send("hello".into()).await.unwrap();
        sender.send("end".into()).await.unwrap();
        for (reader, name) in [(&mut on_b, "node B"), (&mut on_a, "node A")] {
            assert_eq!(texts_until(reader, "end").await, ["hello", "end"], "{name}");
        }
        // The sender is a reader of A's room as well.
        assert_eq!(texts_until(&mut sender, "end").await, ["hello", "end"]);
    }
}
