//! The client's handles: [`Client`] (the event stream), [`Socket`] (one
//! namespace), [`AckResponder`], [`AckFuture`], and their settings and errors.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use socketwire::engineio::{Backoff, EngineIoVersion};
use socketwire::socketio::{self as sio, ApiMisuse, DisconnectReason, Value};
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::driver::Driver;
use crate::{Config, Connector, Error};

/// Events the reader gets, in order, before the task waits for it to read.
pub const EVENT_SLOTS: usize = 64;

/// The transport the client runs on.
///
/// ```
/// use socketwire_tokio::socketio::Transport;
/// assert_eq!(Transport::default(), Transport::WebSocket);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// WebSocket only (`GET {path}?EIO=4&transport=websocket`), with
    /// permessage-deflate offered.
    #[default]
    WebSocket,
    /// HTTP long-polling only (`transports: ['polling']`): a `GET` parked on
    /// one HTTP/1.1 connection for the server's packets, a `POST` on another
    /// for the client's; no upgrade. Each body is at most the server's
    /// `maxPayload` (the `POST`s) and [`ClientConfig::max_polling_body`] (the
    /// `GET`s); the packets in a body are bounded by its size only.
    Polling,
    /// Long-polling first, upgraded to WebSocket once the server offers it
    /// (socket.io-client's default, `transports: ['polling', 'websocket']`).
    /// A failed probe leaves the session on polling.
    PollingThenWebSocket,
}

/// How a [`Client`] behaves.
///
/// ```
/// use std::time::Duration;
/// use socketwire_tokio::socketio::{Backoff, ClientConfig, Value};
/// let config = ClientConfig {
///     auth: Some(Value::from_json_str(r#"{"token":"abc"}"#).unwrap()),
///     reconnection: Some(Backoff::new(Duration::from_millis(100), Duration::from_secs(2), 0.5, None)),
///     ..ClientConfig::default()
/// };
/// assert_eq!(config.path, "/socket.io/");
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The Engine.IO path on the server (default `/socket.io/`; a missing
    /// trailing slash is added, as engine.io-client does).
    pub path: String,
    /// The `auth` payload of the main namespace's CONNECT (another namespace's
    /// is given to [`Client::of`]).
    pub auth: Option<Value>,
    /// Delays between reconnection attempts (default socket.io-client's: 1 s
    /// doubling to 5 s, jitter 0.5, unlimited); `None` turns reconnection off.
    /// The attempt count resets each time an Engine.IO session opens.
    pub reconnection: Option<Backoff>,
    /// The Engine.IO version (default 4). With 3, set the Socket.IO version in
    /// `session.decoder` to v4 as well (socket.io 2.x servers).
    pub engineio_version: EngineIoVersion,
    /// The transport (WebSocket only, for now).
    pub transport: Transport,
    /// The core session's settings: decoder limits and Socket.IO version, the
    /// longest ack wait (`ack_timeout`, default 30 s), the most acks awaited
    /// (`max_pending_acks`, default 1024) and the most emits buffered per
    /// namespace while it is not connected (`max_buffered_emits`, default 1024;
    /// past it [`Socket::emit`] fails with [`EmitError::BufferFull`]), and the
    /// wire format (`parser`: [`Parser::Json`](sio::Parser::Json) by default,
    /// [`Parser::Msgpack`](sio::Parser::Msgpack) for a server with
    /// socket.io-msgpack-parser; see [`ClientConfig::with_parser`]).
    pub session: sio::ClientConfig,
    /// The WebSocket's own settings (limits, deflate, write buffer, handshake
    /// timeout).
    pub websocket: Config,
    /// How `https://` and `wss://` URLs are secured (`None`:
    /// [`Connector::default_for_wss`], rustls with the Mozilla roots under the
    /// `rustls` feature); bring a rustls configuration of your own for other
    /// roots or client certificates.
    pub tls: Option<Connector>,
    /// On [`Transport::Polling`], the largest `GET` response body read
    /// (default 1 MB, the server's default `maxHttpBufferSize`); a larger one
    /// drops the transport.
    pub max_polling_body: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            path: "/socket.io/".into(),
            auth: None,
            reconnection: Some(Backoff::socket_io_default()),
            engineio_version: EngineIoVersion::V4,
            transport: Transport::WebSocket,
            session: sio::ClientConfig::default(),
            websocket: Config::default(),
            max_polling_body: 1_000_000,
            tls: None,
        }
    }
}

impl ClientConfig {
    /// The same settings with the wire format `parser` (socket.io-client's
    /// `parser` option; the server must use the same).
    ///
    /// ```
    /// use socketwire_tokio::socketio::{ClientConfig, Parser};
    /// let config = ClientConfig::default().with_parser(Parser::Msgpack);
    /// assert_eq!(config.session.parser, Parser::Msgpack);
    /// ```
    #[must_use]
    pub fn with_parser(mut self, parser: sio::Parser) -> Self {
        self.session.parser = parser;
        self
    }
}

/// What happened, as the reader of a [`Client`] sees it.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use socketwire_tokio::socketio::{Client, ClientConfig, Event};
/// # async fn run() -> Result<(), socketwire_tokio::Error> {
/// let mut client = Client::connect("http://127.0.0.1:3000", ClientConfig::default())?;
/// while let Some(event) = client.next().await {
///     if let Event::Reconnecting { attempt, retry_in, .. } = event {
///         println!("attempt {attempt} in {retry_in:?}");
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The server accepted a namespace (the first time, or after a
    /// reconnection); its buffered emits were sent.
    Connected {
        /// The namespace now connected.
        namespace: String,
        /// Its socket id on the server (`socket.id` there; a new one after
        /// each reconnection; `None` from a socket.io 2.x server).
        sid: Option<String>,
    },
    /// The server refused a namespace (its middleware called `next(err)`); the
    /// namespace and its buffered emits are dropped, it is not retried.
    ConnectError {
        /// The namespace refused.
        namespace: String,
        /// The middleware's error as `{"message":…,"data":…}` (`data` when
        /// the error had one), or `{"message":"Invalid namespace"}`.
        data: Value,
    },
    /// An event from the server.
    Message {
        /// The namespace it came on.
        namespace: String,
        /// The name the server emitted (`socket.emit(name, …)`).
        name: String,
        /// Its arguments, binary ones as [`Value::Bytes`].
        args: Vec<Value>,
        /// Present when the server awaits an ack (`emitWithAck`, or a callback
        /// as last argument): answer with [`AckResponder::send`].
        ack: Option<AckResponder>,
    },
    /// A connected namespace is no longer connected. After
    /// [`DisconnectReason::TransportClose`] it is re-connected once the
    /// transport is back; after a server or client disconnect it is not.
    Disconnected {
        /// The namespace no longer connected.
        namespace: String,
        /// Why: whether it will be re-connected depends on it.
        reason: DisconnectReason,
    },
    /// The transport could not be opened or was lost; the next attempt starts
    /// after `retry_in`.
    Reconnecting {
        /// Attempts made since the last Engine.IO session opened.
        attempt: u32,
        /// The delay before the next attempt.
        retry_in: Duration,
        /// The WebSocket error, when there was one (`None`: the server closed,
        /// the heartbeat timed out, or it broke the protocol).
        error: Option<Error>,
    },
    /// The client stopped: [`Client::close`] was called, or reconnection is off
    /// or gave up (`gave_up`). The last event.
    Closed {
        /// The transport was lost and no attempt is left.
        gave_up: bool,
    },
}

/// An emit that was refused.
///
/// ```
/// use socketwire_tokio::socketio::EmitError;
/// assert_eq!(EmitError::BufferFull { max: 3 }.to_string(), "3 emits are already buffered for this namespace");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmitError {
    /// The namespace is not connected and already holds `max`
    /// (`ClientConfig::session.max_buffered_emits`) buffered emits; nothing was queued.
    BufferFull {
        /// The configured bound.
        max: usize,
    },
    /// The core session refused it: a namespace that was left or refused, a
    /// reserved event name, too many acks awaited.
    Misuse(ApiMisuse),
    /// The client is closed.
    Closed,
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmitError::BufferFull { max } => {
                write!(f, "{max} emits are already buffered for this namespace")
            }
            EmitError::Misuse(misuse) => misuse.fmt(f),
            EmitError::Closed => f.write_str("the client is closed"),
        }
    }
}

impl std::error::Error for EmitError {}

/// Why an [`AckFuture`] gave no ack.
///
/// ```
/// use socketwire_tokio::socketio::AckError;
/// assert_eq!(AckError::Timeout.to_string(), "no ack in time");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AckError {
    /// No ack within the timeout (or the namespace went away meanwhile).
    Timeout,
    /// The client closed first.
    Closed,
}

impl std::fmt::Display for AckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AckError::Timeout => "no ack in time",
            AckError::Closed => "the client is closed",
        })
    }
}

impl std::error::Error for AckError {}

/// What an ack settles to.
type AckResult = Result<Vec<Value>, AckError>;
type AckSlot = oneshot::Sender<AckResult>;

/// What the handles and the task share, behind one lock.
pub(super) struct Shared {
    /// The protocol.
    pub(super) session: sio::ClientSession,
    /// Awaited acks, by namespace and id.
    pub(super) acks: HashMap<(String, u64), AckSlot>,
    /// The namespaces asked for and not left or refused, in order.
    pub(super) namespaces: Vec<String>,
    /// Events made by the handles (a client disconnect), for the task to report.
    pub(super) local_events: Vec<Event>,
    /// The task has stopped.
    pub(super) closed: bool,
}

impl Shared {
    /// Forgets a namespace that was left or refused.
    pub(super) fn forget(&mut self, namespace: &str) {
        self.namespaces.retain(|ns| ns != namespace);
    }
}

pub(super) struct Inner {
    shared: Mutex<Shared>,
    /// The session has output for the task.
    pub(super) wake: Notify,
    /// `close()` was called.
    pub(super) closing: watch::Sender<bool>,
    /// The session's clock starts here.
    start: Instant,
    max_buffered_emits: usize,
}

impl Inner {
    pub(super) fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session's `now`.
    pub(super) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The `Instant` of a session deadline.
    pub(super) fn instant(&self, at: Duration) -> Instant {
        self.start
            .checked_add(at)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400))
    }

    /// Runs an emit under the lock, with the buffer bound; wakes the task.
    fn emit<T>(
        &self,
        emit: impl FnOnce(&mut Shared, Duration) -> Result<T, ApiMisuse>,
    ) -> Result<T, EmitError> {
        let now = self.now();
        let mut shared = self.lock();
        if shared.closed || *self.closing.borrow() {
            return Err(EmitError::Closed);
        }
        // The buffer's bound is the core session's (`max_buffered_emits`).
        let out = emit(&mut shared, now).map_err(|e| match e {
            ApiMisuse::BufferFull => EmitError::BufferFull {
                max: self.max_buffered_emits,
            },
            e => EmitError::Misuse(e),
        })?;
        drop(shared);
        self.wake.notify_one();
        Ok(out)
    }
}

/// A Socket.IO client: a task that owns the connection, and the [`Stream`] of
/// its [`Event`]s. [`Client::socket`] emits on the main namespace,
/// [`Client::of`] joins another. Dropping the client closes it.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use socketwire_tokio::socketio::{Client, ClientConfig, Event, Value};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut client = Client::connect("http://127.0.0.1:3000", ClientConfig::default())?;
/// let admin = client.of("/admin", Some(Value::from_json_str(r#"{"token":"t"}"#)?))?;
/// admin.emit("ping", vec![])?;
/// let answer = client.socket().emit_with_ack("sum", vec![1u64.into(), 2u64.into()], std::time::Duration::from_secs(5))?.await?;
/// println!("{answer:?}");
/// client.close();
/// while client.next().await.is_some() {}
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Client {
    socket: Socket,
    events: mpsc::Receiver<Event>,
}

impl Client {
    /// Starts the client on the current tokio runtime and connects the main
    /// namespace: `/`, or the URL's path (`http://host:3000/admin` is
    /// namespace `/admin`, as with socket.io-client's `io(url)`). The URL's
    /// query goes on the handshake. The first events say whether it connected.
    /// Fails only on a URL that cannot be used: not `http(s)://` or
    /// `ws(s)://`, no host, or TLS without a connector
    /// ([`Error::TlsNotSupported`]: `https://` without the `rustls` feature or
    /// [`ClientConfig::tls`]).
    ///
    /// ```no_run
    /// use socketwire_tokio::socketio::{Client, ClientConfig};
    /// # async fn run() -> Result<(), socketwire_tokio::Error> {
    /// let client = Client::connect("http://127.0.0.1:3000/chat?room=1", ClientConfig::default())?;
    /// assert_eq!(client.socket().namespace(), "/chat");
    /// # Ok(()) }
    /// ```
    pub fn connect(url: &str, config: ClientConfig) -> Result<Client, Error> {
        let target = Target::parse(url, &config.path)?;
        let connector = Connector::resolve(config.tls.clone(), target.tls)?;
        let mut session = sio::ClientSession::new(config.session.clone());
        // Nothing is open yet: every namespace waits for the first Engine.IO
        // open, which the task reports as a reconnection.
        session.handle_transport_closed();
        while session.poll_event().is_some() {}
        session
            .connect(&target.namespace, config.auth.clone())
            .map_err(|_| Error::InvalidUrl("the URL's path is not a namespace"))?;
        let shared = Shared {
            session,
            acks: HashMap::new(),
            namespaces: vec![target.namespace.clone()],
            local_events: Vec::new(),
            closed: false,
        };
        let (closing, closing_rx) = watch::channel(false);
        let inner = Arc::new(Inner {
            shared: Mutex::new(shared),
            wake: Notify::new(),
            closing,
            start: Instant::now(),
            max_buffered_emits: config.session.max_buffered_emits,
        });
        let (event_tx, events) = mpsc::channel(EVENT_SLOTS);
        let namespace = target.namespace.clone();
        let driver = Driver::new(
            inner.clone(),
            target,
            connector,
            config,
            closing_rx,
            event_tx,
        );
        tokio::spawn(driver.run());
        Ok(Client {
            socket: Socket { namespace, inner },
            events,
        })
    }

    /// The main namespace's socket.
    ///
    /// ```no_run
    /// # fn run(client: &socketwire_tokio::socketio::Client) -> Result<(), socketwire_tokio::socketio::EmitError> {
    /// client.socket().emit("chat", vec!["hi".into()])?;
    /// # Ok(()) }
    /// ```
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Joins `namespace` on the same connection (socket.io-client's
    /// `manager.socket(nsp, { auth })`); its events arrive on this client's
    /// stream. Joining a namespace already joined returns its socket.
    ///
    /// ```no_run
    /// # fn run(client: &socketwire_tokio::socketio::Client) -> Result<(), socketwire_tokio::socketio::EmitError> {
    /// let custom = client.of("/custom", None)?;
    /// custom.emit("hello", vec![])?;
    /// # Ok(()) }
    /// ```
    pub fn of(&self, namespace: &str, auth: Option<Value>) -> Result<Socket, EmitError> {
        let inner = &self.socket.inner;
        let mut shared = inner.lock();
        if shared.closed || *inner.closing.borrow() {
            return Err(EmitError::Closed);
        }
        shared
            .session
            .connect(namespace, auth)
            .map_err(EmitError::Misuse)?;
        if !shared.namespaces.iter().any(|ns| ns == namespace) {
            shared.namespaces.push(namespace.into());
        }
        drop(shared);
        inner.wake.notify_one();
        Ok(Socket {
            namespace: namespace.into(),
            inner: inner.clone(),
        })
    }

    /// Leaves every namespace, closes the connection and stops reconnecting;
    /// the stream then ends with [`Event::Closed`]. Buffered emits are dropped
    /// and awaited acks fail with [`AckError::Closed`].
    ///
    /// ```no_run
    /// # fn run(client: &socketwire_tokio::socketio::Client) {
    /// client.close();
    /// # }
    /// ```
    pub fn close(&self) {
        self.socket.inner.closing.send_replace(true);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

impl Stream for Client {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_recv(cx)
    }
}

/// One namespace of a [`Client`]; cheap to clone, usable from any task.
///
/// ```no_run
/// # fn run(client: &socketwire_tokio::socketio::Client) -> Result<(), socketwire_tokio::socketio::EmitError> {
/// let socket = client.socket().clone();
/// tokio::spawn(async move { socket.emit("from another task", vec![]) });
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Socket {
    namespace: String,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// The namespace.
    ///
    /// ```no_run
    /// # fn run(client: &socketwire_tokio::socketio::Client) {
    /// assert_eq!(client.socket().namespace(), "/");
    /// # }
    /// ```
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `true` while the server has this namespace connected.
    ///
    /// ```no_run
    /// # fn run(client: &socketwire_tokio::socketio::Client) {
    /// if !client.socket().is_connected() { println!("emits are buffered"); }
    /// # }
    /// ```
    pub fn is_connected(&self) -> bool {
        self.inner.lock().session.is_connected(&self.namespace)
    }

    /// Emits `event` with `args` ([`Value::Bytes`] go as binary attachments):
    /// sent now when connected, buffered (in order, bounded) until the server
    /// connects the namespace otherwise.
    ///
    /// ```no_run
    /// use bytes::Bytes;
    /// use socketwire_tokio::socketio::Value;
    /// # fn run(client: &socketwire_tokio::socketio::Client) -> Result<(), socketwire_tokio::socketio::EmitError> {
    /// client.socket().emit("upload", vec!["a.bin".into(), Value::Bytes(Bytes::from_static(&[1, 2, 3]))])?;
    /// # Ok(()) }
    /// ```
    pub fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), EmitError> {
        self.inner
            .emit(|shared, _| shared.session.emit(&self.namespace, event, args))
    }

    /// Emits `event` asking for an ack; the returned future resolves to the
    /// ack's arguments, or [`AckError::Timeout`] after `timeout` (at most the
    /// core's `ack_timeout`, counted from now even while buffered, as
    /// socket.io-client's `timeout()`). The emit is made before this returns.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// # async fn run(client: &socketwire_tokio::socketio::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let pending = client.socket().emit_with_ack("get", vec!["key".into()], Duration::from_secs(5))?;
    /// let args = pending.await?;
    /// # let _ = args; Ok(()) }
    /// ```
    pub fn emit_with_ack(
        &self,
        event: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<AckFuture, EmitError> {
        let (tx, rx) = oneshot::channel();
        self.inner.emit(|shared, now| {
            let id = shared
                .session
                .emit_with_ack(&self.namespace, event, args, now)?;
            // Under the same lock as the emit: the task cannot see the ack first.
            shared.acks.insert((self.namespace.clone(), id), tx);
            Ok(())
        })?;
        Ok(AckFuture {
            wait: Box::pin(tokio::time::timeout(timeout, rx)),
        })
    }

    /// Leaves the namespace (DISCONNECT if connected); it is not re-connected
    /// and its emits fail afterwards. Reported as [`Event::Disconnected`] with
    /// [`DisconnectReason::ClientDisconnect`] if it was connected.
    ///
    /// ```no_run
    /// # fn run(client: &socketwire_tokio::socketio::Client) -> Result<(), socketwire_tokio::socketio::EmitError> {
    /// client.of("/custom", None)?.disconnect()?;
    /// # Ok(()) }
    /// ```
    pub fn disconnect(&self) -> Result<(), EmitError> {
        let mut shared = self.inner.lock();
        let connected = shared.session.is_connected(&self.namespace);
        shared
            .session
            .disconnect(&self.namespace)
            .map_err(EmitError::Misuse)?;
        shared.forget(&self.namespace);
        if connected {
            shared.local_events.push(Event::Disconnected {
                namespace: self.namespace.clone(),
                reason: DisconnectReason::ClientDisconnect,
            });
        }
        drop(shared);
        self.inner.wake.notify_one();
        Ok(())
    }
}

/// The answer to a server event that awaits an ack; send it once with
/// [`AckResponder::send`]. Dropping it sends nothing (the server's
/// `emitWithAck` then times out).
///
/// ```no_run
/// use socketwire_tokio::socketio::{Event, Value};
/// # fn run(event: Event) -> Result<(), socketwire_tokio::socketio::EmitError> {
/// if let Event::Message { ack: Some(ack), .. } = event {
///     ack.send(vec![Value::from("ok")])?;
/// }
/// # Ok(()) }
/// ```
pub struct AckResponder {
    pub(super) namespace: String,
    pub(super) id: u64,
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for AckResponder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckResponder")
            .field("namespace", &self.namespace)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AckResponder {
    /// The ack id the server gave.
    ///
    /// ```no_run
    /// # fn run(ack: &socketwire_tokio::socketio::AckResponder) {
    /// println!("answering ack {}", ack.id());
    /// # }
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends the ack with `args` (binary allowed). Fails with
    /// [`EmitError::Misuse`] if the namespace is no longer connected (the
    /// server forgot the ack with the old connection).
    ///
    /// ```no_run
    /// # fn run(ack: socketwire_tokio::socketio::AckResponder) -> Result<(), socketwire_tokio::socketio::EmitError> {
    /// ack.send(vec![42u64.into()])?;
    /// # Ok(()) }
    /// ```
    pub fn send(self, args: Vec<Value>) -> Result<(), EmitError> {
        let mut shared = self.inner.lock();
        if shared.closed {
            return Err(EmitError::Closed);
        }
        shared
            .session
            .ack(&self.namespace, self.id, args)
            .map_err(EmitError::Misuse)?;
        drop(shared);
        self.inner.wake.notify_one();
        Ok(())
    }
}

/// The ack of a [`Socket::emit_with_ack`]: its arguments, or why none came.
///
/// ```no_run
/// use std::time::Duration;
/// use socketwire_tokio::socketio::AckError;
/// # async fn run(client: &socketwire_tokio::socketio::Client) -> Result<(), socketwire_tokio::socketio::EmitError> {
/// match client.socket().emit_with_ack("q", vec![], Duration::from_millis(500))?.await {
///     Ok(args) => println!("{args:?}"),
///     Err(AckError::Timeout) => println!("no answer"),
///     Err(e) => println!("{e}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the ack arrives only if the future is awaited"]
pub struct AckFuture {
    wait: Pin<Box<tokio::time::Timeout<oneshot::Receiver<AckResult>>>>,
}

impl Future for AckFuture {
    type Output = Result<Vec<Value>, AckError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.wait.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Ok(result))) => Poll::Ready(result),
            Poll::Ready(Ok(Err(_))) => Poll::Ready(Err(AckError::Closed)),
            Poll::Ready(Err(_)) => Poll::Ready(Err(AckError::Timeout)),
        }
    }
}

/// Where to connect, from the URL.
pub(super) struct Target {
    /// `host[:port]`, the `Host` header.
    pub(super) authority: String,
    /// `host:port` (80, or 443 with TLS, when the URL has none), to connect to.
    pub(super) address: String,
    /// The host, also the TLS server name.
    pub(super) host: String,
    /// `https://` or `wss://`.
    pub(super) tls: bool,
    path: String,
    query: Option<String>,
    namespace: String,
}

impl Target {
    fn parse(url: &str, path: &str) -> Result<Target, Error> {
        let uri: http::Uri = url.parse().map_err(|_| Error::InvalidUrl("not a URL"))?;
        let tls = match uri.scheme_str() {
            Some("http" | "ws") => false,
            Some("https" | "wss") => true,
            _ => {
                return Err(Error::InvalidUrl(
                    "the scheme must be http(s):// or ws(s)://",
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or(Error::InvalidUrl("the URL has no host"))?;
        if authority.as_str().contains('@') {
            return Err(Error::InvalidUrl("the URL may not hold credentials"));
        }
        let namespace = match uri.path() {
            "" | "/" => "/".to_string(),
            other => other.to_string(),
        };
        let mut path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        if !path.ends_with('/') {
            path.push('/');
        }
        Ok(Target {
            authority: authority.to_string(),
            address: format!(
                "{}:{}",
                authority.host(),
                authority.port_u16().unwrap_or(if tls { 443 } else { 80 })
            ),
            host: authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            tls,
            path,
            query: uri.query().filter(|q| !q.is_empty()).map(str::to_string),
            namespace,
        })
    }

    /// `path/?query&` + the Engine.IO query: the request target of every
    /// request (`GET`, `POST`, the WebSocket handshake).
    pub(super) fn request_target(&self, engine_query: &str) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}&{engine_query}", self.path),
            None => format!("{}?{engine_query}", self.path),
        }
    }

    /// `ws://host/path/?query&EIO=4&transport=websocket` (`wss://` with TLS).
    pub(super) fn websocket_url(&self, version: EngineIoVersion) -> String {
        let transport = socketwire::engineio::ClientTransport::WebSocket;
        let session = socketwire::engineio::ClientSession::new(version, transport);
        self.websocket_url_for(&session.query(transport))
    }

    /// The WebSocket URL with `engine_query` (the upgrade's has the `sid`).
    pub(super) fn websocket_url_for(&self, engine_query: &str) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        let target = self.request_target(engine_query);
        format!("{scheme}://{}{target}", self.authority)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = Target::parse("http://127.0.0.1:3000", "/socket.io/").unwrap();
        assert_eq!(t.namespace, "/");
        assert_eq!(
            t.websocket_url(EngineIoVersion::V4),
            "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket"
        );
        let t = Target::parse("ws://h:1/admin?x=1", "sio").unwrap();
        assert_eq!(t.namespace, "/admin");
        assert_eq!(
            t.websocket_url(EngineIoVersion::V3),
            "ws://h:1/sio/?x=1&EIO=3&transport=websocket"
        );
        let t = Target::parse("https://[::1]/", "/socket.io/").unwrap();
        assert_eq!((t.address.as_str(), t.host.as_str()), ("[::1]:443", "::1"));
        assert_eq!(
            t.websocket_url(EngineIoVersion::V4),
            "wss://[::1]/socket.io/?EIO=4&transport=websocket"
        );
        assert!(matches!(
            Target::parse("ftp://h/", "/socket.io/"),
            Err(Error::InvalidUrl(_))
        ));
    }
}
