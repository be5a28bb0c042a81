//! The opt-in reconnecting client: [`ReconnectingWebSocket`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::{SinkExt, StreamExt};
use socketwire::engineio::Backoff;
use tokio::sync::{mpsc, watch};

use crate::handshake::{IntoClientRequest, Request, Response, connect_async_tls_with_config};
use crate::{CloseFrame, Config, Connector, Error, MaybeTlsStream, Message, WebSocketStream};

/// Events the reader gets, in order, until [`Event::Closed`].
pub const EVENT_SLOTS: usize = 64;

/// How a [`ReconnectingWebSocket`] behaves.
///
/// ```
/// use std::time::Duration;
/// use socketwire_tokio::ReconnectConfig;
/// let config = ReconnectConfig {
///     ping_interval: Some(Duration::from_secs(10)),
///     max_queued_messages: 128,
///     ..ReconnectConfig::default()
/// };
/// assert_eq!(config.max_queued_bytes, 1 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct ReconnectConfig {
    /// Delays between attempts (default socket.io-client's: 1 s doubling to 5 s,
    /// jitter 0.5, unlimited attempts). The attempt count resets on each
    /// connection that opens.
    pub backoff: Backoff,
    /// Ping after this long without input (default 25 s; `None`: no heartbeat).
    pub ping_interval: Option<Duration>,
    /// After the ping, give up on a silent server this much later (default 20 s).
    pub pong_timeout: Duration,
    /// Most messages waiting to be sent (default 1024).
    pub max_queued_messages: usize,
    /// Most payload bytes waiting to be sent (default 1 MiB). An empty queue
    /// takes one message of any size (the connection's own limits still
    /// apply), so the queue holds at most this plus one message.
    pub max_queued_bytes: usize,
    /// The connection's own configuration (limits, deflate, write buffer,
    /// handshake timeout). Its keepalive and idle timeout are set from
    /// `ping_interval` and `pong_timeout`.
    pub websocket: Config,
    /// How `wss://` is secured (default `None`: [`Connector::default_for_wss`]).
    pub connector: Option<Connector>,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            backoff: Backoff::socket_io_default(),
            ping_interval: Some(Duration::from_secs(25)),
            pong_timeout: Duration::from_secs(20),
            max_queued_messages: 1024,
            max_queued_bytes: 1 << 20,
            websocket: Config::default(),
            connector: None,
        }
    }
}

impl ReconnectConfig {
    /// The connection's configuration with the heartbeat applied.
    fn connection_config(&self) -> Config {
        let mut config = self.websocket.clone();
        if let Some(interval) = self.ping_interval {
            config.keepalive_interval = Some(interval);
            config.idle_timeout = Some(interval.saturating_add(self.pong_timeout));
        }
        config
    }
}

/// What happened, as the reader sees it.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use socketwire_tokio::{Event, ReconnectConfig, ReconnectingWebSocket};
/// # async fn run() -> Result<(), socketwire_tokio::Error> {
/// let mut ws = ReconnectingWebSocket::connect("ws://127.0.0.1:9002/", ReconnectConfig::default())?;
/// while let Some(event) = ws.next().await {
///     match event {
///         Event::Connected(_) => println!("connected"),
///         Event::Message(m) => println!("got {m:?}"),
///         Event::Disconnected { retry_in, .. } => println!("lost; retry in {retry_in:?}"),
///         Event::Closed { .. } => break,
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A connection opened (the first, or a reconnection); queued messages go
    /// out now.
    Connected(Response),
    /// A message from the server (pings are answered by the connection and
    /// also reported here, as pongs are).
    Message(Message),
    /// The connection was lost or could not be opened; the next attempt starts
    /// after `retry_in`.
    Disconnected {
        /// Why: the transport or protocol error, or the handshake's refusal.
        /// `None` when the server closed with a close frame (in `close`).
        error: Option<Error>,
        /// The server's close frame, when it sent one.
        close: Option<CloseFrame>,
        /// The delay before the next attempt.
        retry_in: Duration,
    },
    /// The client stopped: [`ReconnectingWebSocket::close`] was called, or the
    /// backoff's attempts ran out (`gave_up`). The last event.
    Closed {
        /// The attempts ran out; no close was asked for.
        gave_up: bool,
    },
}

/// A send that was refused; the message comes back.
///
/// ```no_run
/// use socketwire_tokio::{Message, ReconnectConfig, ReconnectingWebSocket, SendError};
/// # fn run() -> Result<(), socketwire_tokio::Error> {
/// let ws = ReconnectingWebSocket::connect("ws://127.0.0.1:9002/", ReconnectConfig::default())?;
/// match ws.send(Message::text("hi")) {
///     Ok(()) => {}
///     Err(SendError::Full(m)) => println!("queue full, {} bytes dropped", m.len()),
///     Err(e) => println!("{e}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The queue holds `max_queued_messages` messages, or it is not empty and
    /// the message would take it past `max_queued_bytes`.
    Full(Message),
    /// The client is closing or closed.
    Closed(Message),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Full(_) => f.write_str("the send queue is full"),
            SendError::Closed(_) => f.write_str("the client is closed"),
        }
    }
}

impl std::error::Error for SendError {}

/// An opt-in reconnecting client: the loop browser apps hand-write around
/// `new WebSocket(url)`.
///
/// [`ReconnectingWebSocket::connect`] starts a task that owns the connection.
/// After a close it did not ask for (the server closed, the transport failed, the
/// heartbeat went unanswered, the handshake was refused) it reconnects after a
/// delay from [`socketwire::engineio::Backoff`] (exponential, with jitter, as
/// socket.io-client's `Manager`). Messages sent while it is reconnecting wait in
/// a queue bounded in messages and bytes, and go out in order once it is back; a
/// send past either bound is refused with [`SendError::Full`], never buffered.
/// [`ReconnectingWebSocket::close`] runs the close handshake and stops
/// reconnecting.
///
/// What it cannot promise: a message whose send completed before the
/// connection dropped may or may not have reached the server (TCP does not say);
/// it is not sent again. A message whose send was still under way is sent first
/// on the next connection, so the server may see it twice if the drop came in
/// the middle of writing it.
///
/// The heartbeat is the connection's own keepalive: a ping after
/// [`ReconnectConfig::ping_interval`] without input, and the connection gives up
/// (and this client reconnects) after [`ReconnectConfig::pong_timeout`] more
/// without any.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use socketwire_tokio::{Event, Message, ReconnectConfig, ReconnectingWebSocket};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let mut ws = ReconnectingWebSocket::connect("ws://127.0.0.1:9002/", ReconnectConfig::default())?;
/// ws.send(Message::text("queued until the first connection opens"))?;
/// if let Some(Event::Connected(_)) = ws.next().await { /* … */ }
/// ws.close(None);
/// while ws.next().await.is_some() {}
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ReconnectingWebSocket {
    outgoing: mpsc::Sender<Message>,
    queued_bytes: Arc<AtomicUsize>,
    max_queued_bytes: usize,
    closing: watch::Sender<Option<Option<CloseFrame>>>,
    events: mpsc::Receiver<Event>,
}

impl ReconnectingWebSocket {
    /// Starts the client on the current tokio runtime; the first
    /// [`Event`] says whether the first connection opened. Fails only on a
    /// request that is not a `ws://` URL or request (or `wss://` with the
    /// `rustls` feature).
    ///
    /// ```no_run
    /// use socketwire_tokio::{ReconnectConfig, ReconnectingWebSocket};
    /// # async fn run() -> Result<(), socketwire_tokio::Error> {
    /// let ws = ReconnectingWebSocket::connect("ws://127.0.0.1:9002/chat", ReconnectConfig::default())?;
    /// # let _ = ws; Ok(()) }
    /// ```
    pub fn connect(
        request: impl IntoClientRequest,
        config: ReconnectConfig,
    ) -> Result<ReconnectingWebSocket, Error> {
        let request = request.into_client_request()?;
        let tls = Connector::websocket_tls(request.uri())?;
        let connector = Connector::resolve(config.connector.clone(), tls)?;
        let (outgoing, queue) = mpsc::channel(config.max_queued_messages.max(1));
        let (closing, close_rx) = watch::channel(None);
        let (event_tx, events) = mpsc::channel(EVENT_SLOTS);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let task = Task {
            request,
            config: config.connection_config(),
            connector,
            backoff: config.backoff.clone(),
            queue,
            queued_bytes: queued_bytes.clone(),
            closing: close_rx,
            events: event_tx,
            unsent: None,
        };
        tokio::spawn(task.run());
        Ok(ReconnectingWebSocket {
            outgoing,
            queued_bytes,
            max_queued_bytes: config.max_queued_bytes,
            closing,
            events,
        })
    }

    /// Queues a message: sent now when connected, after the reconnection
    /// otherwise. Refused (the message comes back) when the queue is at either
    /// bound or the client is closing.
    ///
    /// ```no_run
    /// # use socketwire_tokio::{Message, ReconnectConfig, ReconnectingWebSocket};
    /// # fn run(ws: &ReconnectingWebSocket) {
    /// if let Err(e) = ws.send(Message::binary(vec![1, 2, 3])) {
    ///     eprintln!("not sent: {e}");
    /// }
    /// # }
    /// ```
    pub fn send(&self, message: Message) -> Result<(), SendError> {
        if self.closing.borrow().is_some() {
            return Err(SendError::Closed(message));
        }
        let len = message.len();
        let admitted =
            self.queued_bytes
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                    let total = queued.checked_add(len)?;
                    // A message larger than the byte bound still goes out alone.
                    (total <= self.max_queued_bytes || queued == 0).then_some(total)
                });
        if admitted.is_err() {
            return Err(SendError::Full(message));
        }
        self.outgoing.try_send(message).map_err(|e| {
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
            match e {
                mpsc::error::TrySendError::Full(m) => SendError::Full(m),
                mpsc::error::TrySendError::Closed(m) => SendError::Closed(m),
            }
        })
    }

    /// Payload bytes queued and not yet handed to a connection.
    ///
    /// ```no_run
    /// # fn run(ws: &socketwire_tokio::ReconnectingWebSocket) {
    /// println!("{} bytes waiting", ws.queued_bytes());
    /// # }
    /// ```
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes.load(Ordering::Acquire)
    }

    /// Closes with `frame` (or a plain 1000) and stops reconnecting; the reader
    /// then gets [`Event::Closed`]. Messages still queued are dropped.
    ///
    /// ```no_run
    /// use socketwire_tokio::{CloseCode, CloseFrame};
    /// # fn run(ws: &socketwire_tokio::ReconnectingWebSocket) {
    /// ws.close(Some(CloseFrame { code: CloseCode::NORMAL, reason: "bye".into() }));
    /// # }
    /// ```
    pub fn close(&self, frame: Option<CloseFrame>) {
        self.closing.send_if_modified(|closing| {
            let first = closing.is_none();
            if first {
                *closing = Some(frame);
            }
            first
        });
    }
}

impl Stream for ReconnectingWebSocket {
    type Item = Event;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_recv(cx)
    }
}

/// The task that owns the connections.
struct Task {
    request: Request,
    config: Config,
    connector: Connector,
    backoff: Backoff,
    queue: mpsc::Receiver<Message>,
    queued_bytes: Arc<AtomicUsize>,
    closing: watch::Receiver<Option<Option<CloseFrame>>>,
    events: mpsc::Sender<Event>,
    /// Taken from the queue, not yet written when the last connection dropped.
    unsent: Option<Message>,
}

/// How one connection ended.
enum End {
    /// `close()` was called (and the close handshake has run).
    Closed,
    /// The reader dropped the client.
    Dropped,
    /// Lost: reconnect.
    Lost(Option<Error>, Option<CloseFrame>),
}

impl Task {
    /// `close()` was called, or the client was dropped.
    fn stopping(&self) -> bool {
        self.closing.borrow().is_some() || self.closing.has_changed().is_err()
    }

    async fn run(mut self) {
        loop {
            if self.stopping() {
                let _ = self.events.send(Event::Closed { gave_up: false }).await;
                return;
            }
            let attempt = connect_async_tls_with_config(
                clone_request(&self.request),
                self.config.clone(),
                Some(self.connector.clone()),
            );
            let opened = tokio::select! {
                opened = attempt => opened,
                _ = self.closing.changed() => continue,
            };
            let (error, close) = match opened {
                Ok((ws, response)) => {
                    self.backoff.reset();
                    if self.events.send(Event::Connected(response)).await.is_err() {
                        return;
                    }
                    match self.session(ws).await {
                        End::Closed => {
                            let _ = self.events.send(Event::Closed { gave_up: false }).await;
                            return;
                        }
                        End::Dropped => return,
                        End::Lost(error, close) => (error, close),
                    }
                }
                Err(error) => (Some(error), None),
            };
            let Some(retry_in) = self.backoff.next_delay(random_unit()) else {
                let _ = self
                    .events
                    .send(Event::Disconnected {
                        error,
                        close,
                        retry_in: Duration::ZERO,
                    })
                    .await;
                let _ = self.events.send(Event::Closed { gave_up: true }).await;
                return;
            };
            if self
                .events
                .send(Event::Disconnected {
                    error,
                    close,
                    retry_in,
                })
                .await
                .is_err()
            {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(retry_in) => {}
                _ = self.closing.changed() => {}
            }
        }
    }

    /// Runs one connection: the server's messages to the reader, the queue to
    /// the server, until it is lost or closed.
    async fn session(&mut self, ws: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>) -> End {
        let (mut sink, mut stream) = ws.split();
        let events = self.events.clone();
        let reading = async {
            let mut server_close = None;
            while let Some(item) = stream.next().await {
                match item {
                    Ok(Message::Close(frame)) => server_close = frame,
                    Ok(message) => {
                        if events.send(Event::Message(message)).await.is_err() {
                            return End::Dropped;
                        }
                    }
                    Err(e) => return End::Lost(Some(e), server_close),
                }
            }
            End::Lost(None, server_close)
        };
        let queue = &mut self.queue;
        let queued_bytes = &self.queued_bytes;
        let unsent = &mut self.unsent;
        let writing = async {
            loop {
                let message = match unsent.take() {
                    Some(m) => m,
                    None => match queue.recv().await {
                        Some(m) => {
                            queued_bytes.fetch_sub(m.len(), Ordering::AcqRel);
                            m
                        }
                        // The client was dropped: nothing more to send.
                        None => return std::future::pending::<()>().await,
                    },
                };
                *unsent = Some(message.clone());
                let sent = sink.send(message).await;
                // Written or not, a failed send means the connection is gone and
                // the reader sees why; the message is not sent again (it may
                // have gone out).
                *unsent = None;
                if sent.is_err() {
                    return std::future::pending::<()>().await;
                }
            }
        };
        let closing = &mut self.closing;
        let end = tokio::select! {
            end = reading => end,
            () = writing => unreachable!("the writer never finishes"),
            // `close()` was called, or the client was dropped (the sender is gone).
            _ = closing.changed() => End::Closed,
        };
        if let End::Closed = end {
            let frame = closing.borrow().clone().flatten();
            let mut ws = match sink.reunite(stream) {
                Ok(ws) => ws,
                Err(_) => unreachable!("halves of one stream"),
            };
            let _ = ws.send(Message::Close(frame)).await;
            // The close handshake, bounded by the connection's close timeout.
            while let Some(Ok(_)) = ws.next().await {}
        }
        end
    }
}

/// A fresh copy of the request for each attempt (an `http::Request` is not
/// `Clone`: its extensions may not be).
fn clone_request(request: &Request) -> Request {
    let mut copy = http::Request::new(());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// A uniform sample in `[0, 1)` from the OS's random source, for the jitter.
pub(crate) fn random_unit() -> f64 {
    let bits = getrandom::u32().unwrap_or(0);
    f64::from(bits) / (f64::from(u32::MAX) + 1.0)
}
