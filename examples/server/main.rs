//! socketwire example server: WebSocket echo and chat, a browser chat page, an
//! Engine.IO echo server.
//!
//! ```text
//! cargo run --release --example server -- [--addr 127.0.0.1:3000] [--no-deflate]
//!     [--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES] [--allow-eio3]
//!     [--connect-timeout MS] [--max-connections N] [--head-timeout MS]
//!     [--body-timeout MS] [--write-timeout MS] [--ws-ping-interval MS]
//!     [--ws-idle-timeout MS] [--max-backpressure BYTES] [--deflate-no-context-takeover]
//!     [--redis redis://127.0.0.1:6379 [--adapter redis|redis-sharded|redis-streams]]
//! ```
//!
//! `--help` lists every flag with its default (the flags are parsed by clap).
//!
//! Routes: `/echo` (WebSocket echo), `/chat` (WebSocket chat room: every message
//! goes to every `/chat` client), `/` (an HTML chat page using `/chat`),
//! `/engine.io/` (Engine.IO echo on socketwire-tokio's `EngineIo` tower service:
//! every message, text or binary, is sent back; see engineio.rs),
//! `/socket.io/` (Socket.IO on socketwire-tokio's `SocketIo` tower service: echo,
//! acks, namespaces, rooms, broadcast, see socketio.rs; the chat page's namespaces
//! in chat.rs).
//!
//! With `--redis URL` the server is a node of a cluster: `/socket.io/` (every
//! namespace) shares broadcasts, rooms and fetchSockets over Redis through
//! socketwire-tokio's `RedisAdapter` (`--adapter`, as the Node.js nodes'
//! npm adapter), and the `/chat` room is shared with the other example
//! servers over Redis pub/sub (chat_cluster.rs).
//!
//! HTTP is socketwire-tokio's `server::serve` (hyper 1.x's HTTP/1.1 server
//! with the connection cap, head and write deadlines below); a WebSocket on
//! `/echo` or `/chat` answers its `101` through hyper and then runs as a
//! socketwire-tokio `WebSocketStream` on the connection's own TCP stream
//! (vectored writes, prepared payloads, the compress-once `/chat` ring, the
//! deflate pool).
//!
//! # Limits and deadlines
//!
//! Every queue has a cap and every wait a deadline; what happens when one is hit:
//!
//! | limit | default | when it is hit |
//! |---|---|---|
//! | `--max-connections` | 10 000 | a connection past it is accepted, answered `503` and closed at once (it does not wait) |
//! | accept errors (e.g. out of file descriptors) | 10 ms doubling to 1 s | the accept loop sleeps before trying again (socketwire-tokio's `server::accept_backoff`) |
//! | `--head-timeout` | 10 s | a request head (or an idle keep-alive connection) not complete by then: `408` and close (closed silently if nothing arrived); hyper's `header_read_timeout`, with the `408` from socketwire-tokio's `server::serve` |
//! | `--body-timeout` | 30 s | a request body not complete by then: `408` and close |
//! | request body size | `--max-payload` on `/engine.io/` and `/socket.io/`, 1 KiB elsewhere | `413` and close: before the body is read when its `Content-Length` says so, as soon as it passes the cap when it is `chunked` |
//! | `Transfer-Encoding` | `chunked` (decoded by hyper) | a request with both `Transfer-Encoding` and `Content-Length` (the smuggling shape) is framed by the chunked coding alone, answered, and the connection closed (RFC 9112 §6.3); other codings, or any on HTTP/1.0: `400` |
//! | `--write-timeout` | 30 s | a write the peer does not let finish by then closes the connection (socketwire-tokio's `server::ServerIo`: HTTP responses and the WebSockets upgraded on them) |
//! | `--ws-ping-interval` | 50 s | `/echo` and `/chat` send a ping this often |
//! | `--ws-idle-timeout` | 120 s | `/echo` and `/chat` close (1006) after this long without receiving anything (a pong counts) |
//! | WebSocket close handshake | 10 s | the connection is dropped if the peer does not answer our close frame |
//! | `/chat` message size | 32 KiB (`CHAT_MAX_MESSAGE`) | close with 1009, checked on the frame header |
//! | `/chat` broadcast ring | 64 messages (`CHAT_SLOTS`) | a reader that falls further behind is closed with 1008 |
//! | WebSocket message on `/engine.io/`, `/socket.io/` | `--max-payload` | close with 1009, checked on the frame header |
//! | `/echo` messages | 64 MiB (16 MiB a frame) | close with 1009 |
//! | `--max-backpressure` (`/echo`, `/chat` WebSockets: the connection's unsent output) | 1 MiB | the server stops reading from that WebSocket (and taking its events) until the peer drains its output below the cap; a peer that takes nothing for `--write-timeout` is closed |
//! | `--max-backpressure` on `/engine.io/` (`EngineIoConfig::max_backpressure`: the session's, mailbox's and WebSocket writer's bytes) | 1 MiB | an echo that would pass it is not sent and the session is closed |
//! | Socket.IO broadcast to a member over `--max-backpressure` (`SocketIoConfig::max_backpressure`: its sessions', mailbox's and WebSocket writer's bytes) | 1 MiB | the member gets no copy and its session is closed; the other recipients get the packet |
//! | Socket.IO POST body, WebSocket write | `--max-payload`, `--body-timeout`, `--write-timeout` | `SocketIoConfig::{max_http_body, request_timeout, write_timeout}`: `413` / `408` and close; a socket whose write misses the deadline is dropped |
//! | Engine.IO send buffer (`max_buffered_packets` 1024, `max_buffered_bytes` 16 MiB), a WebSocket writer's channel (`max_buffered_packets`) | — | an echo or Socket.IO packet that does not fit closes the session (never dropped silently) |
//! | `--redis`: `/chat` messages waiting to be published | 256 (`chat_cluster::OUTBOX_SLOTS`) | the message reaches this node's readers only (counted, logged) |
//! | `--redis`: `/chat` messages from Redis waiting | 256 (`chat_cluster::PUSH_SLOTS`); each at most `CHAT_MAX_MESSAGE` | later or larger ones are dropped |
//! | `--redis`: a lost Redis | 100 ms doubling to 5 s between attempts (`/chat`); socketwire-tokio's `RedisAdapter` reconnects `/socket.io/` | logged; each node keeps serving its own clients meanwhile |
//! | `--recovery`: missed events and dropped sessions kept (`RecoveryConfig`) | `--max-disconnection-ms` (2 min), 10 000 packets, 16 MiB, 10 000 sessions | the oldest go; a client whose events went, or that comes back later, is a new socket (`recovered` false) |

#![allow(missing_docs, unreachable_pub)]

mod chat;
mod chat_cluster;
mod engineio;
mod socketio;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::net::TcpListener;

/// Command-line options (`--help` lists them with their defaults).
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "server",
    about = "socketwire example server: WebSocket echo and chat, a browser chat page, \
             Engine.IO and Socket.IO"
)]
pub struct Options {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: String,
    /// Turn permessage-deflate (RFC 7692) off on every WebSocket route.
    #[arg(long = "no-deflate", action = clap::ArgAction::SetFalse)]
    pub deflate: bool,
    /// permessage-deflate without context takeover both ways: connections borrow
    /// their compression state per message from one pool (an idle connection
    /// holds none) and each `/chat` message is compressed once for all readers.
    #[arg(long = "deflate-no-context-takeover")]
    pub deflate_no_context_takeover: bool,
    /// Engine.IO ping interval, in milliseconds.
    #[arg(long = "ping-interval", value_name = "MS", default_value_t = 25_000)]
    pub ping_interval_ms: u64,
    /// Engine.IO ping timeout, in milliseconds.
    #[arg(long = "ping-timeout", value_name = "MS", default_value_t = 20_000)]
    pub ping_timeout_ms: u64,
    /// Largest Engine.IO message and polling body, in bytes.
    #[arg(
        long = "max-payload",
        value_name = "BYTES",
        default_value_t = 1_000_000
    )]
    pub max_payload: usize,
    /// Socket.IO: close a session that connects no namespace within this time, in milliseconds.
    #[arg(long = "connect-timeout", value_name = "MS", default_value_t = 45_000)]
    pub connect_timeout_ms: u64,
    /// Also serve Engine.IO v3 (socket.io 2.x clients).
    #[arg(long = "allow-eio3")]
    pub allow_eio3: bool,
    /// Most connections open at once; past it a connection gets `503` and is closed.
    #[arg(long = "max-connections", value_name = "N", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Deadline for a request head, from when the server starts waiting for it, in milliseconds.
    #[arg(long = "head-timeout", value_name = "MS", default_value_t = 10_000)]
    pub head_timeout_ms: u64,
    /// Deadline for a request body, from the end of its head, in milliseconds.
    #[arg(long = "body-timeout", value_name = "MS", default_value_t = 30_000)]
    pub body_timeout_ms: u64,
    /// Deadline for each write to the peer, in milliseconds.
    #[arg(long = "write-timeout", value_name = "MS", default_value_t = 30_000)]
    pub write_timeout_ms: u64,
    /// `/echo` and `/chat`: the keepalive ping interval, in milliseconds.
    #[arg(long = "ws-ping-interval", value_name = "MS", default_value_t = 50_000)]
    pub ws_ping_interval_ms: u64,
    /// `/echo` and `/chat`: close after this long without receiving anything, in milliseconds.
    #[arg(long = "ws-idle-timeout", value_name = "MS", default_value_t = 120_000)]
    pub ws_idle_timeout_ms: u64,
    /// Every WebSocket: stop reading while the server holds more than this for it;
    /// a Socket.IO broadcast skips and closes a member over it.
    #[arg(long = "max-backpressure", value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_backpressure: usize,
    /// Join a cluster over the Redis at this URL (`redis://127.0.0.1:6379`):
    /// `/socket.io/` (every namespace, the chat page's `/chat` too) through
    /// `--adapter`, with socketwire and Node.js socket.io nodes; the `/chat`
    /// WebSocket room over Redis pub/sub with the other example servers.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// With `--redis`: the Socket.IO cluster adapter, as the Node.js nodes'
    /// (`@socket.io/redis-adapter`'s `createAdapter` or `createShardedAdapter`
    /// (Redis >= 7), or `@socket.io/redis-streams-adapter`).
    #[arg(long, value_enum, default_value_t = Adapter::Redis, requires = "redis")]
    pub adapter: Adapter,
    /// Socket.IO connection state recovery (socket.io's `connectionStateRecovery`)
    /// for v5 clients: one whose transport dropped and that comes back within
    /// `--max-disconnection-ms` gets its socket id, its rooms and every event
    /// emitted to it meanwhile, in order (every event then carries its offset as
    /// its last argument). With `--redis --adapter redis-streams` it may come back
    /// on any node of the cluster.
    #[arg(long)]
    pub recovery: bool,
    /// With `--recovery`: how long a dropped client's session and missed events are kept.
    #[arg(
        long = "max-disconnection-ms",
        value_name = "MS",
        default_value_t = 120_000,
        requires = "recovery"
    )]
    pub max_disconnection_ms: u64,
}

/// `--adapter`: which npm adapter the cluster's Node.js nodes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Adapter {
    /// `@socket.io/redis-adapter` `createAdapter` (PUBLISH / SUBSCRIBE).
    Redis,
    /// `@socket.io/redis-adapter` `createShardedAdapter` (SPUBLISH / SSUBSCRIBE).
    RedisSharded,
    /// `@socket.io/redis-streams-adapter` `createAdapter` (XADD / XREAD).
    RedisStreams,
}

impl Adapter {
    /// socketwire-tokio's name for it.
    pub fn mode(self) -> socketwire_tokio::socketio::adapter::AdapterMode {
        use socketwire_tokio::socketio::adapter::AdapterMode;
        match self {
            Adapter::Redis => AdapterMode::Classic,
            Adapter::RedisSharded => AdapterMode::Sharded,
            Adapter::RedisStreams => AdapterMode::Streams,
        }
    }
}

impl Default for Options {
    /// The defaults `--help` shows: the options of a command line without flags
    /// (one list of defaults, the flags' own).
    fn default() -> Self {
        <Options as clap::Parser>::parse_from(["server"])
    }
}

/// State shared by all connections.
pub struct Shared {
    pub options: Options,
    pub chat: tokio::sync::broadcast::Sender<socketwire::ws::PreparedMessage>,
    /// With `--redis`: the `/chat` room's link to the other nodes.
    pub chat_cluster: Option<Arc<chat_cluster::ChatCluster>>,
    /// Compression states lent per message to connections that reset them
    /// after each message (at most 64 idle ones kept).
    pub deflate_pool: socketwire::deflate::DeflatePool,
    /// socketwire-tokio's Engine.IO server, with the example's echo.
    pub engineio: socketwire_tokio::engineio::EngineIoService,
    /// socketwire-tokio's Socket.IO server, with the example's handlers.
    pub socketio: socketwire_tokio::socketio::server::SocketIoService,
}

impl Options {
    /// `--write-timeout`: the deadline of each write to a peer.
    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }

    pub fn engineio_config(&self) -> socketwire::engineio::ServerConfig {
        socketwire::engineio::ServerConfig {
            ping_interval: std::time::Duration::from_millis(self.ping_interval_ms),
            ping_timeout: std::time::Duration::from_millis(self.ping_timeout_ms),
            max_payload: self.max_payload,
            allow_eio3: self.allow_eio3,
            ..Default::default()
        }
    }
}

/// Requests on routes other than Engine.IO's may carry at most this much body.
pub const OTHER_MAX_BODY: u64 = 1024;

/// The route a request target names: its path without the query.
pub fn route(target: &str) -> &str {
    target.split('?').next().unwrap_or("")
}

/// `true` for the Engine.IO endpoints (`/engine.io/` and `/socket.io/`).
fn is_engineio_route(path: &str) -> bool {
    matches!(
        path,
        "/engine.io/" | "/engine.io" | "/socket.io/" | "/socket.io"
    )
}

/// The largest body a request may carry, by its route: `--max-payload` for the
/// Engine.IO endpoints (the POSTs of long-polling; Engine.IO answers a larger one
/// with 413 as well), [`OTHER_MAX_BODY`] elsewhere.
pub fn body_limit(target: &str, options: &Options) -> u64 {
    if is_engineio_route(route(target)) {
        u64::try_from(options.max_payload).unwrap_or(u64::MAX)
    } else {
        OTHER_MAX_BODY
    }
}

/// The state every connection shares: the chat ring, the Engine.IO echo and
/// the Socket.IO server.
pub fn shared(options: Options) -> Arc<Shared> {
    let (chat, _) = tokio::sync::broadcast::channel(websocket::CHAT_SLOTS);
    let chat_cluster = options
        .redis
        .as_deref()
        .map(|url| chat_cluster::ChatCluster::start(url, chat.clone()));
    let engineio = engineio::server(&options);
    let (socketio, _) = socketio::server(&options);
    Arc::new(Shared {
        options,
        chat,
        chat_cluster,
        deflate_pool: socketwire::deflate::DeflatePool::new(64),
        engineio,
        socketio,
    })
}

/// The accept loop: socketwire-tokio's `server::serve` with `--max-connections`,
/// `--head-timeout` and `--write-timeout` (a connection past the cap is accepted,
/// answered `503` and closed at once; a failed accept backs off).
pub async fn run(listener: TcpListener, shared: Arc<Shared>) {
    let config = socketwire_tokio::server::ServerConfig {
        max_connections: shared.options.max_connections,
        head_timeout: Duration::from_millis(shared.options.head_timeout_ms),
        write_timeout: shared.options.write_timeout(),
    };
    let service = hyper::service::service_fn(move |request| respond(request, shared.clone()));
    // It runs until the process ends: accept errors back off and retry.
    let _ = socketwire_tokio::server::serve(listener, config, service).await;
}

#[tokio::main]
async fn main() {
    let options = <Options as clap::Parser>::parse();
    let listener = match TcpListener::bind(&options.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("server: cannot listen on {}: {e}", options.addr);
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().expect("local address");
    println!("socketwire example server listening on {addr}");
    println!("  chat page:          http://{addr}/");
    println!("  WebSocket echo:     ws://{addr}/echo");
    println!("  WebSocket chat:     ws://{addr}/chat");
    println!("  Engine.IO echo:     http://{addr}/engine.io/");
    println!("  Socket.IO:          http://{addr}/socket.io/");
    if let Some(url) = &options.redis {
        let adapter = clap::ValueEnum::to_possible_value(&options.adapter)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        println!("  cluster:            {url} (--adapter {adapter}; /socket.io/ and /chat)");
    }
    run(listener, shared(options)).await;
}

/// What every route answers with: a complete body.
pub type Reply = http::Response<Full<Bytes>>;

/// A complete response; `close` adds `Connection: close` (hyper then closes the
/// connection once it is sent).
pub fn reply(status: u16, content_type: &str, body: impl Into<Bytes>, close: bool) -> Reply {
    let mut response = http::Response::new(Full::new(body.into()));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    if close {
        headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Reads a request's body, at most `limit` bytes within `--body-timeout`:
/// refused with `413` (before any of it is read when its `Content-Length` is over
/// `limit`, else as soon as the decoded body passes it) or `408`, each closing
/// the connection.
pub async fn read_body(
    request: http::Request<Incoming>,
    limit: u64,
    options: &Options,
) -> Result<(http::request::Parts, Bytes), Reply> {
    let too_large = || reply(413, "text/plain", "body too large\n", true);
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let deadline = Duration::from_millis(options.body_timeout_ms);
    match tokio::time::timeout(deadline, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok((parts, collected.to_bytes())),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        // The peer went away or sent a malformed body.
        Ok(Err(_)) => Err(reply(400, "text/plain", "bad request body\n", true)),
        Err(_) => Err(reply(408, "text/plain", "request body timeout\n", true)),
    }
}

/// Routes one request. An `Err` makes hyper drop the connection without an answer.
async fn respond(request: http::Request<Incoming>, shared: Arc<Shared>) -> std::io::Result<Reply> {
    let path = request.uri().path().to_string();
    match path.as_str() {
        "/echo" | "/chat" => return Ok(websocket::serve(request, &path, shared)),
        "/engine.io/" | "/engine.io" => {
            let mut service = shared.engineio.clone();
            let Ok(reply) = tower_service::Service::call(&mut service, request).await;
            return Ok(reply);
        }
        "/socket.io/" | "/socket.io" => {
            let mut service = shared.socketio.clone();
            let Ok(reply) = tower_service::Service::call(&mut service, request).await;
            return Ok(reply);
        }
        _ => {}
    }
    let target = request.uri().to_string();
    if let Err(refused) = read_body(
        request,
        body_limit(&target, &shared.options),
        &shared.options,
    )
    .await
    {
        return Ok(refused);
    }
    Ok(match path.as_str() {
        "/" | "/index.html" => reply(200, "text/html; charset=utf-8", chat::PAGE, false),
        chat::CLIENT_BUNDLE_PATH => reply(
            200,
            "text/javascript; charset=utf-8",
            Bytes::from_static(chat::CLIENT_BUNDLE),
            false,
        ),
        "/ws-chat" => reply(200, "text/html; charset=utf-8", WS_CHAT_PAGE, false),
        _ => reply(404, "text/plain", "not found\n", false),
    })
}

/// Logs a connection's error, unless it is the peer resetting or timing out.
pub fn log_error(result: std::io::Result<()>) {
    if let Err(e) = result
        && !matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::TimedOut
        )
    {
        eprintln!("server: connection: {e}");
    }
}

/// The plain-WebSocket chat page on `/chat` (the page `/` was before the
/// Socket.IO chat demo), at `/ws-chat`.
const WS_CHAT_PAGE: &str = include_str!("ws_chat.html");

#[cfg(test)]
mod tests {

    //! The glue's bounds, each proved against a server on a loopback port. The
    //! deadlines under test are configured short (a few hundred milliseconds);
    //! `PATIENCE` only bounds how long a test waits for what must happen.

    use super::*;

    #[test]
    fn flags_parse_and_defaults_match_the_help() {
        use clap::Parser as _;
        let o = Options::try_parse_from([
            "server",
            "--no-deflate",
            "--ping-interval",
            "300",
            "--allow-eio3",
            "--addr",
            "127.0.0.1:0",
        ])
        .expect("valid flags");
        assert!(!o.deflate && o.allow_eio3);
        assert_eq!((o.ping_interval_ms, o.addr.as_str()), (300, "127.0.0.1:0"));
        let d = Options::default();
        assert!(d.deflate && !d.allow_eio3);
        assert_eq!(
            (d.ping_interval_ms, d.max_backpressure, d.max_connections),
            (25_000, 1 << 20, 10_000)
        );
        assert!(Options::try_parse_from(["server", "--ping-interval", "soon"]).is_err());
        assert!(Options::try_parse_from(["server", "--no-such-flag"]).is_err());
        // Recovery: off by default, socket.io's 2 minutes when on, the window
        // only with `--recovery`.
        assert!(!d.recovery && d.max_disconnection_ms == 120_000);
        let o = Options::try_parse_from(["server", "--recovery", "--max-disconnection-ms", "200"])
            .expect("valid flags");
        assert!(o.recovery && o.max_disconnection_ms == 200);
        assert!(Options::try_parse_from(["server", "--max-disconnection-ms", "200"]).is_err());
        // The cluster: `--redis URL`, `--adapter` one of three (default redis),
        // and `--adapter` only with `--redis`.
        assert_eq!((d.redis.as_deref(), d.adapter), (None, Adapter::Redis));
        for (name, adapter) in [
            ("redis", Adapter::Redis),
            ("redis-sharded", Adapter::RedisSharded),
            ("redis-streams", Adapter::RedisStreams),
        ] {
            let o = Options::try_parse_from([
                "server",
                "--redis",
                "redis://127.0.0.1:6380",
                "--adapter",
                name,
            ])
            .expect("valid flags");
            assert_eq!(o.redis.as_deref(), Some("redis://127.0.0.1:6380"));
            assert_eq!(o.adapter, adapter);
        }
        let o = Options::try_parse_from(["server", "--redis", "redis://127.0.0.1:6380"]).unwrap();
        assert_eq!(o.adapter, Adapter::Redis);
        assert!(Options::try_parse_from(["server", "--redis", "r", "--adapter", "kafka"]).is_err());
        assert!(Options::try_parse_from(["server", "--adapter", "redis"]).is_err());
        assert!(Options::try_parse_from(["server", "--redis"]).is_err());
    }
    use std::net::SocketAddr;

    use bytes::Bytes;
    use socketwire::ws::PreparedMessage;
    use socketwire::ws::message::MessageKind;
    use socketwire_tokio::WebSocketStream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use crate::websocket::CHAT_MAX_MESSAGE;

    /// How long a test waits for the server; far past every deadline under test.
    const PATIENCE: Duration = Duration::from_secs(10);

    async fn start(options: Options) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(run(listener, shared(options)));
        addr
    }

    /// Reads once into `buf`; `false` on EOF or a reset. Panics if nothing comes
    /// within `PATIENCE`.
    async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => false,
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(_) => panic!("the server neither answered nor closed within {PATIENCE:?}"),
        }
    }

    /// Everything the server sends until it closes the connection.
    async fn read_to_end(stream: &mut TcpStream) -> String {
        let mut buf = Vec::new();
        while read_more(stream, &mut buf).await {}
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Sends `request` on a new connection; everything the server sends until it
    /// closes the connection.
    async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        read_to_end(&mut stream).await
    }

    /// Reads one response (head and `Content-Length` body) from a kept-alive
    /// connection; what came before EOF if the server closed first.
    async fn read_response(stream: &mut TcpStream) -> String {
        let mut buf = Vec::new();
        loop {
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(": ")?;
                        name.eq_ignore_ascii_case("content-length").then_some(value)
                    })
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    return text;
                }
            }
            if !read_more(stream, &mut buf).await {
                return text;
            }
        }
    }

    fn upgrade_request(target: &str) -> String {
        format!(
            "GET {target} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
    }

    /// Opens a WebSocket: the stream and the bytes that followed the 101's head.
    async fn ws_open(addr: SocketAddr, target: &str) -> (TcpStream, Vec<u8>) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(upgrade_request(target).as_bytes())
            .await
            .unwrap();
        let mut buf = Vec::new();
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                assert!(
                    buf.starts_with(b"HTTP/1.1 101 "),
                    "{:?}",
                    String::from_utf8_lossy(&buf)
                );
                return (stream, buf.split_off(end + 4));
            }
            assert!(
                read_more(&mut stream, &mut buf).await,
                "closed during the upgrade"
            );
        }
    }

    /// A masked client frame header (mask key 0, so the payload goes as is).
    fn client_header(opcode: u8, len: u64) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        match len {
            0..=125 => out.push(0x80 | u8::try_from(len).unwrap()),
            126..=0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        out.extend_from_slice(&[0; 4]);
        out
    }

    /// The first whole server frame in `buf`: opcode, payload, bytes used.
    fn server_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
        let opcode = buf.first()? & 0x0f;
        let (len, at): (usize, usize) = match buf.get(1)? & 0x7f {
            126 => (
                usize::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?)),
                4,
            ),
            127 => (
                usize::try_from(u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)).ok()?,
                10,
            ),
            n => (usize::from(n), 2),
        };
        let payload = buf.get(at..at.checked_add(len)?)?;
        Some((opcode, payload.to_vec(), at + len))
    }

    /// Reads server frames until `stop` says so or the connection ends: the frames
    /// read (opcode, payload), and whether the connection ended.
    async fn read_frames(
        stream: &mut TcpStream,
        mut buf: Vec<u8>,
        stop: impl Fn(u8, &[u8]) -> bool,
    ) -> (Vec<(u8, Vec<u8>)>, bool) {
        let mut frames = Vec::new();
        loop {
            while let Some((opcode, payload, used)) = server_frame(&buf) {
                buf.drain(..used);
                let done = stop(opcode, &payload);
                frames.push((opcode, payload));
                if done {
                    return (frames, false);
                }
            }
            if !read_more(stream, &mut buf).await {
                return (frames, true);
            }
        }
    }

    /// The code of the server's close frame.
    async fn close_code(stream: &mut TcpStream, buf: Vec<u8>) -> Option<u16> {
        let (frames, _) = read_frames(stream, buf, |op, _| op == 0x8).await;
        let (opcode, payload) = frames.last()?;
        (*opcode == 0x8 && payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
    }

    // ------------------------------------------------------------ finding 4

    /// Bound: a `/chat` reader the broadcast ring laps is closed with 1008, not
    /// left to skip messages (the ring holds at most `CHAT_SLOTS` messages).
    #[tokio::test]
    async fn chat_reader_that_falls_behind_the_ring_is_closed_with_1008() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (tx, rx) = tokio::sync::broadcast::channel(4);
        for i in 0..10 {
            let text = Bytes::from(format!("m{i}"));
            tx.send(PreparedMessage::new(MessageKind::Text, text).unwrap())
                .unwrap();
        }
        let ws = WebSocketStream::from_raw_socket(
            server,
            socketwire::ws::Role::Server,
            &socketwire_tokio::Config::default(),
        );
        let peer = async {
            let code = close_code(&mut client, Vec::new()).await;
            // Answer the close so the server's side finishes at once.
            let mut reply = client_header(0x8, 2);
            reply.extend_from_slice(&1000u16.to_be_bytes());
            client.write_all(&reply).await.unwrap();
            code
        };
        let (served, code) = tokio::join!(crate::websocket::run_chat(ws, rx, &tx, None), peer);
        served.unwrap();
        assert_eq!(code, Some(1008));
    }

    /// Bound: a `/chat` message is at most `CHAT_MAX_MESSAGE` (32 KiB); one byte
    /// more is refused with 1009 on its header, before any payload is sent. A
    /// message of exactly the cap goes through.
    #[tokio::test]
    async fn chat_message_over_32_kib_is_refused_on_its_header() {
        let addr = start(Options::default()).await;
        let (mut ws, rest) = ws_open(addr, "/chat").await;
        let cap = usize::try_from(CHAT_MAX_MESSAGE).unwrap();
        let mut message = client_header(0x2, CHAT_MAX_MESSAGE);
        message.resize(message.len() + cap, 7);
        ws.write_all(&message).await.unwrap();
        let (frames, _) = read_frames(&mut ws, rest, |op, _| op == 0x2).await;
        assert_eq!(frames.last().map(|(_, p)| p.len()), Some(cap));
        ws.write_all(&client_header(0x2, CHAT_MAX_MESSAGE + 1))
            .await
            .unwrap();
        assert_eq!(close_code(&mut ws, Vec::new()).await, Some(1009));
    }

    /// A `/chat` sender's burst (more messages in one write than the ring has
    /// slots) reaches the sender too: its own reader catches up each turn and is
    /// not lapped.
    #[tokio::test]
    async fn chat_burst_larger_than_the_ring_does_not_lap_its_sender() {
        let addr = start(Options::default()).await;
        let (mut ws, rest) = ws_open(addr, "/chat").await;
        let burst = 4 * crate::websocket::CHAT_SLOTS;
        let mut bytes = Vec::new();
        for i in 0..burst {
            let text = format!("m{i}");
            bytes.extend(client_header(0x1, text.len() as u64));
            bytes.extend_from_slice(text.as_bytes());
        }
        ws.write_all(&bytes).await.unwrap();
        let last = format!("m{}", burst - 1);
        let (frames, _) =
            read_frames(&mut ws, rest, |op, p| op == 0x8 || p == last.as_bytes()).await;
        let texts: Vec<String> = frames
            .iter()
            .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
            .collect();
        let expected: Vec<String> = (0..burst).map(|i| format!("m{i}")).collect();
        assert_eq!(texts, expected);
    }

    // ------------------------------------------------------------ finding 5

    /// Bound: on `/engine.io/` and `/socket.io/` a WebSocket message is at most
    /// `--max-payload`: one byte more is refused with 1009 on its frame header,
    /// before it is buffered or inflated.
    #[tokio::test]
    async fn engineio_websocket_message_over_max_payload_is_refused_on_its_header() {
        let options = Options {
            max_payload: 1000,
            ..Options::default()
        };
        let addr = start(options).await;
        for target in [
            "/engine.io/?EIO=4&transport=websocket",
            "/socket.io/?EIO=4&transport=websocket",
        ] {
            let (mut ws, rest) = ws_open(addr, target).await;
            ws.write_all(&client_header(0x1, 1001)).await.unwrap();
            assert_eq!(close_code(&mut ws, rest).await, Some(1009), "{target}");
        }
        // A message of exactly max_payload is served (echoed by /engine.io/).
        let (mut ws, rest) = ws_open(addr, "/engine.io/?EIO=4&transport=websocket").await;
        let text = format!("4{}", "a".repeat(999));
        let mut message = client_header(0x1, 1000);
        message.extend_from_slice(text.as_bytes());
        ws.write_all(&message).await.unwrap();
        let (frames, _) = read_frames(&mut ws, rest, |_, p| p == text.as_bytes()).await;
        assert_eq!(frames.last().map(|(_, p)| &p[..]), Some(text.as_bytes()));
    }

    // ------------------------------------------------------------ finding 7

    fn short_deadlines() -> Options {
        Options {
            head_timeout_ms: 200,
            body_timeout_ms: 200,
            ..Options::default()
        }
    }

    /// Bound: a request head not complete within `--head-timeout` gets 408 and
    /// the connection is closed (slowloris); a connection that sends nothing is
    /// closed silently, as is a kept-alive connection idle for as long after
    /// its last response (hyper's `header_read_timeout`; the 408 is ours).
    #[tokio::test]
    async fn request_head_has_a_deadline() {
        let addr = start(short_deadlines()).await;
        let reply = exchange(addr, b"GET / HTTP/1.1\r\nHost: a\r\n").await;
        assert!(reply.starts_with("HTTP/1.1 408 "), "{reply}");
        assert!(reply.contains("\r\nConnection: close\r\n"), "{reply}");
        assert_eq!(exchange(addr, b"").await, "");
        let mut kept = TcpStream::connect(addr).await.unwrap();
        kept.write_all(b"GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let reply = read_response(&mut kept).await;
        assert!(reply.starts_with("HTTP/1.1 404 "), "{reply}");
        assert_eq!(read_to_end(&mut kept).await, "");
    }

    /// Bound: a request body not complete within `--body-timeout` gets 408 and
    /// the connection is closed.
    #[tokio::test]
    async fn request_body_has_a_deadline() {
        let addr = start(short_deadlines()).await;
        let request = b"POST /engine.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\n\
Host: a\r\nContent-Length: 100\r\n\r\nonly ten b";
        let reply = exchange(addr, request).await;
        assert!(reply.starts_with("HTTP/1.1 408 "), "{reply}");
    }

    /// Bound: bodies are capped by route (`--max-payload` on the Engine.IO
    /// endpoints, `OTHER_MAX_BODY` elsewhere): a larger `Content-Length` gets 413
    /// before any of the body is read.
    #[tokio::test]
    async fn request_bodies_are_capped_by_route() {
        let options = Options {
            max_payload: 5000,
            ..Options::default()
        };
        assert_eq!(body_limit("/engine.io/?EIO=4", &options), 5000);
        assert_eq!(body_limit("/socket.io/?EIO=4", &options), 5000);
        assert_eq!(body_limit("/", &options), OTHER_MAX_BODY);
        assert_eq!(body_limit("/echo?engine.io/", &options), OTHER_MAX_BODY);
        let addr = start(options).await;
        for (target, length) in [
            ("/", OTHER_MAX_BODY + 1),
            ("/engine.io/?EIO=4&transport=polling&sid=x", 5001),
            ("/socket.io/?EIO=4&transport=polling&sid=x", 5001),
        ] {
            let request =
                format!("POST {target} HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n");
            let reply = exchange(addr, request.as_bytes()).await;
            assert!(reply.starts_with("HTTP/1.1 413 "), "{target}: {reply}");
        }
    }

    /// Bound: `/echo` and `/chat` close a WebSocket that sends nothing for
    /// `--ws-idle-timeout` (the connection's timers are driven).
    #[tokio::test]
    async fn silent_websocket_is_closed_after_the_idle_timeout() {
        let addr = start(Options {
            ws_idle_timeout_ms: 300,
            ..Options::default()
        })
        .await;
        for target in ["/echo", "/chat"] {
            let (mut ws, rest) = ws_open(addr, target).await;
            let (frames, ended) = read_frames(&mut ws, rest, |_, _| false).await;
            assert!(ended, "{target}");
            // The library says goodbye with 1001 (going away), then the socket closes.
            assert_eq!(frames, [(0x8, 1001u16.to_be_bytes().to_vec())], "{target}");
        }
    }

    /// Bound: `/echo` sends a keepalive ping every `--ws-ping-interval`.
    #[tokio::test]
    async fn websocket_keepalive_pings_are_sent() {
        let addr = start(Options {
            ws_ping_interval_ms: 100,
            ..Options::default()
        })
        .await;
        let (mut ws, rest) = ws_open(addr, "/echo").await;
        let (frames, _) = read_frames(&mut ws, rest, |op, _| op == 0x9).await;
        assert_eq!(frames.last().map(|(op, _)| *op), Some(0x9));
    }

    // ------------------------------------------------------------ finding 9

    /// Bound: at most `--max-connections` connections are served; one past the
    /// cap is answered 503 and closed at once, and its slot is free again once a
    /// connection ends.
    #[tokio::test]
    async fn connections_past_the_cap_get_503() {
        let addr = start(Options {
            max_connections: 1,
            ..Options::default()
        })
        .await;
        let request = b"GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n";
        let mut first = TcpStream::connect(addr).await.unwrap();
        first.write_all(request).await.unwrap();
        let reply = read_response(&mut first).await;
        assert!(reply.starts_with("HTTP/1.1 404 "), "{reply}");
        let refused = exchange(addr, b"").await;
        assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
        drop(first);
        // The slot is released when the first connection's task sees its end.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let mut next = TcpStream::connect(addr).await.unwrap();
            next.write_all(request).await.unwrap();
            let reply = read_response(&mut next).await;
            if reply.starts_with("HTTP/1.1 404 ") {
                break;
            }
            // Still refused: a 503 (or a reset, the request being unread).
            assert!(
                reply.is_empty() || reply.starts_with("HTTP/1.1 503 "),
                "{reply}"
            );
            assert!(
                tokio::time::Instant::now() < deadline,
                "the slot was never released"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // ----------------------------------------------------------- finding 10

    /// A `chunked` request body is decoded (by hyper) and the request after it
    /// is framed where the body ends; a decoded body over its route's cap gets
    /// `413` and the connection is closed; a body framed both by `chunked` and
    /// by `Content-Length` (the smuggling shape: the chunked body hides a
    /// second request) is framed by the chunked coding alone, answered once,
    /// and the connection closed, so the hidden request is never served (RFC
    /// 9112 §6.3). The hand-written layer refused every `Transfer-Encoding`
    /// (`501`, or `400` with `Content-Length`); hyper implements chunked.
    #[tokio::test]
    async fn transfer_encoding_is_decoded_and_the_smuggling_shape_refused() {
        let addr = start(Options::default()).await;
        let mut chunked = TcpStream::connect(addr).await.unwrap();
        chunked
            .write_all(
                b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
5\r\nhello\r\n0\r\n\r\n",
            )
            .await
            .unwrap();
        let first = read_response(&mut chunked).await;
        assert!(first.starts_with("HTTP/1.1 200 "), "{first}");
        chunked
            .write_all(b"GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        let second = read_response(&mut chunked).await;
        assert!(second.starts_with("HTTP/1.1 404 "), "{second}");

        let chunk = "a".repeat(usize::try_from(OTHER_MAX_BODY).unwrap());
        let over = format!(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
             {n:x}\r\n{chunk}\r\n1\r\nb\r\n0\r\n\r\n",
            n = chunk.len()
        );
        let reply = exchange(addr, over.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 413 "), "{reply}");
        assert_eq!(reply.matches("HTTP/1.1").count(), 1, "{reply}");

        let smuggled = exchange(
            addr,
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n\
0\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n",
        )
        .await;
        assert!(smuggled.starts_with("HTTP/1.1 200 "), "{smuggled}");
        assert_eq!(smuggled.matches("HTTP/1.1").count(), 1, "{smuggled}");
        assert!(!smuggled.contains("not found"), "{smuggled}");
    }

    // ------------------------------------------------------------ backpressure

    /// A WebSocket peer that floods echo requests and reads slowly (not at all
    /// at first) gets every echo, in order, from an `/echo` whose output is
    /// capped at 64 KiB: the server stops reading while the peer's output is
    /// over the cap and resumes as the peer drains it. That the output never
    /// passes the cap by more than one message is socketwire-tokio's bound
    /// (`a_slow_reader_cannot_grow_the_write_buffer_past_its_bound` in its
    /// tests), which `/echo`'s `feed` waits on.
    #[tokio::test]
    async fn websocket_peer_that_does_not_read_gets_every_echo_in_order() {
        use tokio::net::TcpSocket;

        const CAP: usize = 64 << 10;
        const MESSAGE: usize = 16 << 10;
        const MESSAGES: usize = 256; // 4 MiB each way
        const ECHO_FRAME: usize = 4 + MESSAGE; // 0x82, 126, 16-bit length
        // Small socket buffers (inherited by the accepted socket), so the
        // kernel holds little of the flood.
        let small = |socket: &TcpSocket| {
            socket.set_send_buffer_size(16 << 10).unwrap();
            socket.set_recv_buffer_size(16 << 10).unwrap();
        };
        let socket = TcpSocket::new_v4().unwrap();
        small(&socket);
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(1).unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        small(&socket);
        let client = socket
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let config = socketwire_tokio::Config {
            max_write_buffer: CAP,
            ..socketwire_tokio::Config::default()
        };
        let ws = WebSocketStream::from_raw_socket(server, socketwire::ws::Role::Server, &config);
        let served = tokio::spawn(crate::websocket::echo(ws));

        let (mut reader, mut writer) = client.into_split();
        let fill = |i: usize| u8::try_from(i % 251).unwrap();
        let flood = tokio::spawn(async move {
            for i in 0..MESSAGES {
                let mut frame = client_header(0x2, MESSAGE as u64);
                frame.resize(frame.len() + MESSAGE, fill(i));
                writer.write_all(&frame).await.unwrap();
            }
            writer
        });
        // Read nothing for a while: the server's output fills past the cap.
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Then drain slowly, 1 KiB a read, while the flood goes on.
        let mut received = Vec::with_capacity(MESSAGES * ECHO_FRAME);
        let mut chunk = [0u8; 1024];
        while received.len() < MESSAGES * ECHO_FRAME {
            let n = tokio::time::timeout(PATIENCE, reader.read(&mut chunk))
                .await
                .expect("the server resumes")
                .unwrap();
            assert!(n > 0, "the server closed");
            received.extend_from_slice(&chunk[..n]);
        }
        let mut writer = flood.await.unwrap();
        let mut rest = &received[..];
        for i in 0..MESSAGES {
            let (opcode, payload, used) = server_frame(rest).expect("a whole echo");
            assert_eq!(opcode, 0x2);
            assert!(payload.len() == MESSAGE && payload.iter().all(|b| *b == fill(i)));
            rest = &rest[used..];
        }
        // Close: the server answers and ends.
        let mut close = client_header(0x8, 2);
        close.extend_from_slice(&1000u16.to_be_bytes());
        writer.write_all(&close).await.unwrap();
        served.await.unwrap().unwrap();
    }
}
