//! An Engine.IO server on tokio (feature `engineio-server`): [`EngineIo`]
//! (the handle: the connection handler) and [`EngineIoService`] (a tower
//! `Service` of HTTP requests to mount at `/engine.io/`), over long-polling
//! and WebSocket (the crate's own [`Upgrade`](crate::Upgrade)), with upgrades
//! from one to the other, Engine.IO 3 and 4.
//!
//! The protocol is the core's [`ServerSession`],
//! one per client; this module owns the tasks, the clock, the channels and
//! the random sids. The Socket.IO server
//! ([`socketio::server`](crate::socketio::server), feature `socketio-server`)
//! runs on this same layer.
//!
//! ```text
//!  GET / POST ──Service::call──▶ session task ◀──▶ its WebSocket (read and written in the task)
//!  EngineSocket::send_text ──command──▶ │ (owns the core session)
//!                                       │ ──▶ parked GET
//!            session task ──events──▶ socket task (connection handler, `on_message`, `on_disconnect`)
//! ```
//!
//! Each session has one task that alone owns its core session and its
//! WebSocket: every request and send for it is a message on that task's
//! bounded channel, so a session only ever locks itself, and the task reads
//! the WebSocket and writes what the session queued on it, with one vectored
//! write per turn.
//!
//! Every queue has a cap and every wait a deadline:
//!
//! | what | bound | when it is hit |
//! |---|---|---|
//! | sessions open at once | `ServerConfig::max_sessions` | a handshake gets `403` (`{"code":4,...}`) |
//! | sends waiting for a session | [`COMMAND_SLOTS`] | a send fails with [`SendError::Full`] |
//! | a session's buffered bytes at a send | [`EngineIoConfig::max_backpressure`] | the message is not queued, the session is closed ([`SendError::Full`]) |
//! | messages waiting for a socket's handlers | [`EVENT_SLOTS`] | the session is closed |
//! | messages waiting unwritten on a WebSocket | the Engine.IO `max_buffered_packets` (and the WebSocket `max_write_buffer` bytes) | the session is closed |
//! | a message, a WebSocket frame | the Engine.IO `max_payload` | the session or the socket (1009) is closed |
//! | a POST body | [`EngineIoConfig::max_http_body`] | `413`, the session is unaffected |
//! | reading a POST body | [`EngineIoConfig::request_timeout`] | `408` |
//! | writing a WebSocket message | [`EngineIoConfig::write_timeout`] | the socket is dropped |
//! | the client's heartbeat | `ping_interval` + `ping_timeout` | the session is closed ([`CloseReason::PingTimeout`]) |
//!
//! ```no_run
//! use socketwire_tokio::engineio::{EngineIo, EngineSocket, MessageData};
//! # async fn run() -> std::io::Result<()> {
//! let (service, io) = EngineIo::builder().build();
//! io.on_connection(|socket: EngineSocket| async move {
//!     socket.on_message(|socket: EngineSocket, message: MessageData| async move {
//!         let _ = socket.send(message);
//!     });
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! socketwire_tokio::engineio::serve(listener, service).await
//! # }
//! ```

pub(crate) mod driver;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use socketwire::engineio::{ApiMisuse, ServerSession};
pub use socketwire::engineio::{CloseReason, MessageData, ServerConfig, Transport};
use tokio::sync::mpsc;

use self::driver::{Core, Handler, SessionHandle, lock};
use crate::Config;

/// Commands (sends, closes) one session task may have waiting.
pub const COMMAND_SLOTS: usize = 1024;

/// Messages one socket's handlers may have waiting.
pub const EVENT_SLOTS: usize = 256;

/// The server's settings.
///
/// ```
/// use socketwire_tokio::engineio::EngineIoConfig;
/// let config = EngineIoConfig { max_backpressure: 4 << 20, ..EngineIoConfig::default() };
/// assert_eq!(config.engineio.max_payload, 1_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct EngineIoConfig {
    /// Engine.IO: heartbeats, payload and buffer caps, transports, sessions.
    pub engineio: ServerConfig,
    /// The WebSocket settings (permessage-deflate, the write buffer); its
    /// frame and message limits are replaced by the Engine.IO `max_payload`.
    pub websocket: Config,
    /// A send that would take a session's buffered bytes (its core session's,
    /// its mailbox's and its WebSocket's unwritten bytes) past this is not queued,
    /// and the session is closed. Default 1 MiB.
    pub max_backpressure: usize,
    /// Most bytes of a POST body (`413` past it). Default: the Engine.IO
    /// `max_payload`.
    pub max_http_body: usize,
    /// A POST body must arrive within this (`408`). Default 10 s.
    pub request_timeout: Duration,
    /// A WebSocket message must be written within this, or the socket is
    /// dropped (a peer that stops reading). Default 10 s.
    pub write_timeout: Duration,
}

impl Default for EngineIoConfig {
    fn default() -> Self {
        let engineio = ServerConfig::default();
        EngineIoConfig {
            max_http_body: engineio.max_payload,
            engineio,
            websocket: Config::default(),
            max_backpressure: 1 << 20,
            request_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a send was not queued.
///
/// ```
/// use socketwire_tokio::engineio::SendError;
/// assert_ne!(SendError::Full, SendError::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// The session's command channel holds [`COMMAND_SLOTS`] already, or
    /// (Engine.IO sends) the session is over its backpressure cap.
    Full,
    /// The session is closed.
    Closed,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SendError::Full => "the session's command channel is full",
            SendError::Closed => "the session is closed",
        })
    }
}

impl std::error::Error for SendError {}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type ConnectionHandler = Arc<dyn Fn(EngineSocket) -> BoxFuture<()> + Send + Sync>;
type MessageHandler = Arc<dyn Fn(EngineSocket, MessageData) -> BoxFuture<()> + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(EngineSocket, CloseReason) -> BoxFuture<()> + Send + Sync>;

/// The HTTP response of the services.
pub type EngineIoResponse = http::Response<Full<Bytes>>;

/// The server's handle: the connection handler, the session count. Cheap to clone.
///
/// ```no_run
/// use socketwire_tokio::engineio::{EngineIo, EngineSocket};
/// let (service, io) = EngineIo::new(Default::default());
/// io.on_connection(|socket: EngineSocket| async move {
///     let _ = socket.send_text("welcome");
/// });
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct EngineIo {
    core: Arc<Core<SocketSession>>,
    connection: Arc<Mutex<Option<ConnectionHandler>>>,
}

impl std::fmt::Debug for EngineIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineIo").finish_non_exhaustive()
    }
}

impl EngineIo {
    /// A builder with the default [`EngineIoConfig`].
    ///
    /// ```
    /// let (_service, _io) = socketwire_tokio::engineio::EngineIo::builder().build();
    /// ```
    pub fn builder() -> EngineIoBuilder {
        EngineIoBuilder::default()
    }

    /// The service to mount at `/engine.io/` and the handle.
    ///
    /// ```
    /// use socketwire_tokio::engineio::{EngineIo, EngineIoConfig};
    /// let (_service, _io) = EngineIo::new(EngineIoConfig::default());
    /// ```
    pub fn new(config: EngineIoConfig) -> (EngineIoService, EngineIo) {
        let connection: Arc<Mutex<Option<ConnectionHandler>>> = Arc::default();
        let handlers = connection.clone();
        let max_backpressure = config.max_backpressure;
        let core = Core::new(
            config,
            Arc::default(),
            Instant::now(),
            Box::new(move |session, handle, handshake| {
                let handler = lock(&handlers).clone();
                SocketSession::open(session, handle, handshake, handler, max_backpressure)
            }),
        );
        (
            EngineIoService { core: core.clone() },
            EngineIo { core, connection },
        )
    }

    /// Runs `handler` for each new session (before its messages, which wait
    /// for it); a session that opens with no handler set drops its messages.
    ///
    /// ```no_run
    /// use socketwire_tokio::engineio::{EngineIo, EngineSocket, MessageData};
    /// let (_service, io) = EngineIo::new(Default::default());
    /// io.on_connection(|socket: EngineSocket| async move {
    ///     println!("{} opened on {:?}", socket.sid(), socket.transport());
    ///     socket.on_message(|socket: EngineSocket, message: MessageData| async move {
    ///         let _ = socket.send(message);
    ///     });
    /// });
    /// ```
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(EngineSocket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: ConnectionHandler = Arc::new(move |socket| Box::pin(handler(socket)));
        *lock(&self.connection) = Some(handler);
    }

    /// The sessions open now.
    ///
    /// ```
    /// let (_service, io) = socketwire_tokio::engineio::EngineIo::new(Default::default());
    /// assert_eq!(io.session_count(), 0);
    /// ```
    pub fn session_count(&self) -> usize {
        lock(&self.core.sessions).len()
    }
}

/// Builds an [`EngineIo`] from an [`EngineIoConfig`].
///
/// ```
/// use std::time::Duration;
/// let (service, io) = socketwire_tokio::engineio::EngineIo::builder()
///     .ping_interval(Duration::from_secs(10))
///     .max_payload(64 << 10)
///     .build();
/// # let _ = (service, io);
/// ```
#[derive(Debug, Clone, Default)]
pub struct EngineIoBuilder {
    config: EngineIoConfig,
}

/// The Engine.IO settings of a server builder, one definition for
/// [`EngineIoBuilder`] and the Socket.IO server's builder (both hold a
/// `config` with the same `engineio`, `websocket`, `max_backpressure` and
/// `max_http_body` fields); `$builder` is the builder's constructor, for the
/// doc examples.
macro_rules! engine_builder_methods {
    ($builder:literal) => {
        /// Engine.IO's `pingInterval`.
        ///
        #[doc = "```"]
        #[doc = concat!("let _ = ", $builder, ".ping_interval(std::time::Duration::from_secs(5));")]
        #[doc = "```"]
        pub fn ping_interval(mut self, interval: std::time::Duration) -> Self {
            self.config.engineio.ping_interval = interval;
            self
        }

        /// Engine.IO's `pingTimeout`.
        ///
        #[doc = "```"]
        #[doc = concat!("let _ = ", $builder, ".ping_timeout(std::time::Duration::from_secs(5));")]
        #[doc = "```"]
        pub fn ping_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.config.engineio.ping_timeout = timeout;
            self
        }

        /// The largest message and POST body (`maxHttpBufferSize`); also the
        /// WebSocket frame and message cap.
        ///
        #[doc = "```"]
        #[doc = concat!("let _ = ", $builder, ".max_payload(1 << 20);")]
        #[doc = "```"]
        pub fn max_payload(mut self, bytes: usize) -> Self {
            self.config.engineio.max_payload = bytes;
            self.config.max_http_body = bytes;
            self
        }

        /// Most sessions open at once (a handshake past it gets `403`).
        ///
        #[doc = "```"]
        #[doc = concat!("let _ = ", $builder, ".max_sessions(10_000);")]
        #[doc = "```"]
        pub fn max_sessions(mut self, sessions: usize) -> Self {
            self.config.engineio.max_sessions = sessions;
            self
        }

        /// Accept Engine.IO 3 clients (socket.io 2.x; JS `allowEIO3`).
        ///
        #[doc = "```"]
        #[doc = concat!("let _ = ", $builder, ".allow_eio3(true);")]
        #[doc = "```"]
        pub fn allow_eio3(mut self, allow: bool) -> Self {
            self.config.engineio.allow_eio3 = allow;
            self
        }

        /// The transports offered: long-polling, WebSocket (and upgrades when both).
        ///
        #[doc = "```"]
        #[doc = "// WebSocket only."]
        #[doc = concat!("let _ = ", $builder, ".transports(false, true);")]
        #[doc = "```"]
        pub fn transports(mut self, polling: bool, websocket: bool) -> Self {
            self.config.engineio.polling = polling;
            self.config.engineio.websocket = websocket;
            self
        }

        /// The WebSocket settings (e.g. permessage-deflate).
        ///
        #[doc = "```"]
        #[doc = "use socketwire_tokio::{Config, Deflate};"]
        #[doc = concat!("let _ = ", $builder, ".websocket(Config { deflate: Deflate::Enabled(Default::default()), ..Config::default() });")]
        #[doc = "```"]
        pub fn websocket(mut self, config: $crate::Config) -> Self {
            self.config.websocket = config;
            self
        }

        /// The backpressure cap: the bytes a session may have buffered (its
        /// core sessions', its mailbox's, its WebSocket's unwritten bytes) before what
        /// would pass it is refused and the session closed.
        ///
        #[doc = "```"]
        #[doc = concat!("let _ = ", $builder, ".max_backpressure(1 << 20);")]
        #[doc = "```"]
        pub fn max_backpressure(mut self, bytes: usize) -> Self {
            self.config.max_backpressure = bytes;
            self
        }
    };
}
#[cfg(feature = "socketio-server")]
pub(crate) use engine_builder_methods;

impl EngineIoBuilder {
    engine_builder_methods!("socketwire_tokio::engineio::EngineIo::builder()");

    /// The whole [`EngineIoConfig`] (the other methods set parts of it).
    ///
    /// ```
    /// use socketwire_tokio::engineio::{EngineIo, EngineIoConfig};
    /// let _ = EngineIo::builder().config(EngineIoConfig::default());
    /// ```
    pub fn config(mut self, config: EngineIoConfig) -> Self {
        self.config = config;
        self
    }

    /// The service to mount and the handle.
    ///
    /// ```
    /// let (service, io) = socketwire_tokio::engineio::EngineIo::builder().build();
    /// # let _ = (service, io);
    /// ```
    pub fn build(self) -> (EngineIoService, EngineIo) {
        EngineIo::new(self.config)
    }
}

/// One client's session, as its handlers see it. Cheap to clone.
///
/// ```no_run
/// use socketwire_tokio::engineio::{CloseReason, EngineIo, EngineSocket, MessageData};
/// # let (_s, io) = EngineIo::new(Default::default());
/// io.on_connection(|socket: EngineSocket| async move {
///     socket.on_message(|socket: EngineSocket, message: MessageData| async move {
///         let _ = socket.send(message);
///     });
///     socket.on_disconnect(|socket: EngineSocket, reason: CloseReason| async move {
///         println!("{} closed: {}", socket.sid(), reason.as_str());
///     });
/// });
/// ```
#[derive(Clone)]
pub struct EngineSocket {
    shared: Arc<SocketShared>,
}

struct SocketShared {
    sid: String,
    /// Opened on WebSocket, or upgraded to it.
    websocket: AtomicBool,
    handshake: http::request::Parts,
    handle: Arc<SessionHandle<Outgoing>>,
    max_backpressure: usize,
    handlers: Mutex<Handlers>,
}

#[derive(Default)]
struct Handlers {
    message: Option<MessageHandler>,
    disconnect: Option<DisconnectHandler>,
}

impl std::fmt::Debug for EngineSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSocket")
            .field("sid", &self.shared.sid)
            .finish_non_exhaustive()
    }
}

impl EngineSocket {
    /// The session id (128 CSPRNG bits).
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::engineio::EngineSocket) {
    /// println!("{}", socket.sid());
    /// # }
    /// ```
    pub fn sid(&self) -> &str {
        &self.shared.sid
    }

    /// The transport now: polling, or WebSocket once opened on one or upgraded.
    ///
    /// ```no_run
    /// use socketwire_tokio::engineio::Transport;
    /// # fn f(socket: socketwire_tokio::engineio::EngineSocket) {
    /// if socket.transport() == Transport::WebSocket { println!("upgraded"); }
    /// # }
    /// ```
    pub fn transport(&self) -> Transport {
        match self.shared.websocket.load(Ordering::Relaxed) {
            true => Transport::WebSocket,
            false => Transport::Polling,
        }
    }

    /// The handshake request's method, target, version and headers.
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::engineio::EngineSocket) {
    /// let agent = socket.handshake().headers.get("user-agent");
    /// # }
    /// ```
    pub fn handshake(&self) -> &http::request::Parts {
        &self.shared.handshake
    }

    /// Runs `handler` for each message from the client, one at a time in
    /// the order they came.
    ///
    /// ```no_run
    /// use socketwire_tokio::engineio::{EngineSocket, MessageData};
    /// # fn f(socket: EngineSocket) {
    /// socket.on_message(|_socket: EngineSocket, message: MessageData| async move {
    ///     if let MessageData::Text(text) = message { println!("{text}"); }
    /// });
    /// # }
    /// ```
    pub fn on_message<F, Fut>(&self, handler: F)
    where
        F: Fn(EngineSocket, MessageData) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: MessageHandler = Arc::new(move |socket, data| Box::pin(handler(socket, data)));
        lock(&self.shared.handlers).message = Some(handler);
    }

    /// Runs `handler` once the session is closed (after its queued messages).
    ///
    /// ```no_run
    /// use socketwire_tokio::engineio::{CloseReason, EngineSocket};
    /// # fn f(socket: EngineSocket) {
    /// socket.on_disconnect(|socket: EngineSocket, reason: CloseReason| async move {
    ///     println!("{} left: {reason:?}", socket.sid());
    /// });
    /// # }
    /// ```
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(EngineSocket, CloseReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: DisconnectHandler =
            Arc::new(move |socket, reason| Box::pin(handler(socket, reason)));
        lock(&self.shared.handlers).disconnect = Some(handler);
    }

    /// Sends a message (text or binary). Past [`COMMAND_SLOTS`] waiting, or
    /// when it would take the session past
    /// [`EngineIoConfig::max_backpressure`], it is not queued and fails
    /// with [`SendError::Full`]; in the second case the session is closed too.
    ///
    /// ```no_run
    /// use socketwire_tokio::engineio::MessageData;
    /// # fn f(socket: socketwire_tokio::engineio::EngineSocket) {
    /// socket.send(MessageData::Binary(bytes::Bytes::from_static(b"\x01\x02"))).unwrap();
    /// # }
    /// ```
    pub fn send(&self, message: MessageData) -> Result<(), SendError> {
        let handle = &self.shared.handle;
        let len = message_len(&message);
        if handle.buffered_amount().saturating_add(len) > self.shared.max_backpressure {
            handle.overflow();
            return Err(SendError::Full);
        }
        // Counted before it is sent, so the task never takes off what is not on yet.
        handle.queued.fetch_add(len, Ordering::Relaxed);
        handle.try_send(Outgoing(message)).inspect_err(|_| {
            handle.queued.fetch_sub(len, Ordering::Relaxed);
        })
    }

    /// Sends a text message (see [`send`](Self::send)).
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::engineio::EngineSocket) {
    /// socket.send_text("hello").unwrap();
    /// # }
    /// ```
    pub fn send_text(&self, text: &str) -> Result<(), SendError> {
        self.send(MessageData::Text(text.into()))
    }

    /// Sends a binary message (see [`send`](Self::send)).
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::engineio::EngineSocket) {
    /// socket.send_binary(bytes::Bytes::from_static(b"\x00")).unwrap();
    /// # }
    /// ```
    pub fn send_binary(&self, data: Bytes) -> Result<(), SendError> {
        self.send(MessageData::Binary(data))
    }

    /// Closes the session (the client sees `close`, and its
    /// [`on_disconnect`](Self::on_disconnect) gets [`CloseReason::ForcedClose`]).
    ///
    /// ```no_run
    /// # fn f(socket: socketwire_tokio::engineio::EngineSocket) {
    /// let _ = socket.close();
    /// # }
    /// ```
    pub fn close(&self) -> Result<(), SendError> {
        self.shared.handle.close()
    }
}

fn message_len(message: &MessageData) -> usize {
    match message {
        MessageData::Text(text) => text.len(),
        MessageData::Binary(data) => data.len(),
    }
}

/// A message for the session task to send (counted in the mailbox's `queued`).
struct Outgoing(MessageData);

/// What a socket task is sent.
enum SocketEvent {
    Message(MessageData),
    Closed(CloseReason),
}

/// The handler of one bare Engine.IO session: its messages go to its socket task.
struct SocketSession {
    socket: EngineSocket,
    events: mpsc::Sender<SocketEvent>,
}

impl SocketSession {
    fn open(
        session: &ServerSession,
        handle: &Arc<SessionHandle<Outgoing>>,
        handshake: &http::request::Parts,
        handler: Option<ConnectionHandler>,
        max_backpressure: usize,
    ) -> SocketSession {
        let socket = EngineSocket {
            shared: Arc::new(SocketShared {
                sid: session.sid().to_string(),
                websocket: AtomicBool::new(session.transport() == Transport::WebSocket),
                handshake: handshake.clone(),
                handle: handle.clone(),
                max_backpressure,
                handlers: Mutex::default(),
            }),
        };
        let (events, rx) = mpsc::channel(EVENT_SLOTS);
        tokio::spawn(run_socket(socket.clone(), handler, rx));
        SocketSession { socket, events }
    }
}

impl Handler for SocketSession {
    type Command = Outgoing;

    fn on_message(&mut self, eio: &mut ServerSession, data: MessageData, now: Duration) {
        if self.events.try_send(SocketEvent::Message(data)).is_err() {
            // Its handlers are EVENT_SLOTS messages behind: drop the client.
            eio.close(now);
        }
    }

    fn on_upgraded(&mut self) {
        self.socket.shared.websocket.store(true, Ordering::Relaxed);
    }

    fn on_command(&mut self, eio: &mut ServerSession, Outgoing(message): Outgoing, now: Duration) {
        let handle = &self.socket.shared.handle;
        handle
            .queued
            .fetch_sub(message_len(&message), Ordering::Relaxed);
        let sent = match message {
            MessageData::Text(text) => eio.send_text(&text),
            MessageData::Binary(data) => eio.send_binary(data),
        };
        if sent == Err(ApiMisuse::BufferFull) {
            // Past the Engine.IO buffer caps: a message is never dropped
            // from a session that stays.
            eio.close(now);
        }
    }

    fn finish(self, reason: CloseReason) {
        // Its queued messages first, then the close: the task runs them in order.
        let events = self.events;
        tokio::spawn(async move {
            let _ = events.send(SocketEvent::Closed(reason)).await;
        });
    }
}

/// One socket's task: its connection handler, then its messages in order,
/// then its disconnect handler.
async fn run_socket(
    socket: EngineSocket,
    handler: Option<ConnectionHandler>,
    mut events: mpsc::Receiver<SocketEvent>,
) {
    if let Some(handler) = handler {
        handler(socket.clone()).await;
    }
    while let Some(event) = events.recv().await {
        match event {
            SocketEvent::Message(data) => {
                let handler = lock(&socket.shared.handlers).message.clone();
                if let Some(handler) = handler {
                    handler(socket.clone(), data).await;
                }
            }
            SocketEvent::Closed(reason) => {
                let handler = lock(&socket.shared.handlers).disconnect.take();
                if let Some(handler) = handler {
                    handler(socket.clone(), reason).await;
                }
                break;
            }
        }
    }
    // The handlers hold clones of the socket: drop them so it can go.
    *lock(&socket.shared.handlers) = Handlers::default();
}

/// The tower `Service` of the server: mount it at `/engine.io/` (axum:
/// `Router::new().route_service("/engine.io/", service)`). It answers every
/// request it is given as an Engine.IO request (the path is not checked).
///
/// ```no_run
/// let (service, _io) = socketwire_tokio::engineio::EngineIo::new(Default::default());
/// let app: axum::Router = axum::Router::new().route_service("/engine.io/", service);
/// ```
#[derive(Clone)]
pub struct EngineIoService {
    core: Arc<Core<SocketSession>>,
}

driver::engine_service!(EngineIoService);

/// Serves `service` on `listener` for users without a framework:
/// `/engine.io/` goes to the service, anything else is `404`. It runs on
/// [`server::serve`](crate::server::serve) with the default
/// [`ServerConfig`](crate::server::ServerConfig) (at most 10 000 connections,
/// a 10 s deadline on request heads, 30 s on each write); an accept error is
/// backed off, never returned, so this runs until its task is dropped.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let (service, _io) = socketwire_tokio::engineio::EngineIo::new(Default::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// socketwire_tokio::engineio::serve(listener, service).await
/// # }
/// ```
pub async fn serve(
    listener: tokio::net::TcpListener,
    service: EngineIoService,
) -> std::io::Result<()> {
    serve_with_config(listener, service, crate::server::ServerConfig::default()).await
}

/// [`serve`] within the limits of `config` (the connection cap and the head
/// and write deadlines; see [`ServerConfig`](crate::server::ServerConfig)).
///
/// ```no_run
/// use socketwire_tokio::server::ServerConfig;
/// # async fn run() -> std::io::Result<()> {
/// let (service, _io) = socketwire_tokio::engineio::EngineIo::new(Default::default());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let config = ServerConfig { max_connections: 1000, ..ServerConfig::default() };
/// socketwire_tokio::engineio::serve_with_config(listener, service, config).await
/// # }
/// ```
pub async fn serve_with_config(
    listener: tokio::net::TcpListener,
    service: EngineIoService,
    config: crate::server::ServerConfig,
) -> std::io::Result<()> {
    driver::serve_prefix(listener, "/engine.io/", service.core, config).await
}
