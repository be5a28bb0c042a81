//! The Engine.IO server's machinery, shared by [`EngineIo`](super::EngineIo)
//! and the Socket.IO server: the HTTP side (polling requests, WebSocket
//! upgrades, the session cap, the body cap and deadline), and one task per
//! session that alone owns its core [`ServerSession`] and its WebSocket: it
//! reads the client's messages and writes the session's output itself, with
//! no task or channel in between. What a session does with its messages is a
//! [`Handler`]'s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body;
use socketwire::engineio::{
    self as eio, CloseReason, MessageData, Method, Reply, RequestInfo, Response, Route,
    ServerSession, SessionEvent, WebSocketId, WebSocketOpen, WebSocketOutput,
};
use tokio::sync::{mpsc, oneshot};

use super::{COMMAND_SLOTS, EngineIoConfig, EngineIoResponse, SendError};
use crate::{Config, Message, Upgrade};

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sleeps until `deadline` (time since `start`, the server's clock); forever without one.
pub(crate) async fn sleep_until(start: Instant, deadline: Option<Duration>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(start + d)).await,
        None => std::future::pending().await,
    }
}

/// What one session task is sent: the Engine.IO side's requests and
/// WebSocket messages, and the handler's own commands (`App`).
pub(crate) enum SessionCommand<C> {
    /// A polling request for this session.
    Request {
        method: Method,
        query: String,
        content_type: Option<String>,
        body: Bytes,
        reply: oneshot::Sender<Response>,
    },
    /// The parked GET's client went away.
    PollAborted,
    /// Close the Engine.IO session.
    Close,
    /// A WebSocket for this session (the upgrade probe).
    WebSocketOpen {
        query: String,
        reply: oneshot::Sender<Result<Option<WebSocketId>, eio::Error>>,
    },
    /// The upgrade of WebSocket `id` completed: its stream.
    WebSocketReady(WebSocketId, Box<crate::UpgradedStream>),
    /// The upgrade of WebSocket `id` failed.
    WebSocketClosed(WebSocketId),
    /// Look at the overflow flag.
    Wake,
    /// The handler's command.
    App(C),
}

/// How other tasks reach one session task: its mailbox and its figures.
pub(crate) struct SessionHandle<C> {
    tx: mpsc::Sender<SessionCommand<C>>,
    /// Set when a sender found the mailbox full or the session over its cap.
    overflowed: AtomicBool,
    /// Bytes counted in the mailbox (by the handler).
    pub(crate) queued: AtomicUsize,
    /// The session's, its handler's and its WebSocket's unwritten bytes, as of
    /// the task's last step.
    buffered: AtomicUsize,
}

impl<C> SessionHandle<C> {
    /// Every byte held for this session: its mailbox's counted commands, its
    /// core sessions', its WebSocket's unwritten ones.
    pub(crate) fn buffered_amount(&self) -> usize {
        self.queued.load(Ordering::Relaxed) + self.buffered.load(Ordering::Relaxed)
    }

    /// Flags the session as too far behind and wakes its task to close it.
    pub(crate) fn overflow(&self) {
        self.overflowed.store(true, Ordering::Relaxed);
        let _ = self.tx.try_send(SessionCommand::Wake);
    }

    fn try_send_command(&self, command: SessionCommand<C>) -> Result<(), SendError> {
        self.tx.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SendError::Full,
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
        })
    }

    /// Queues the handler's `command` ([`SendError::Full`] past [`COMMAND_SLOTS`]).
    pub(crate) fn try_send(&self, command: C) -> Result<(), SendError> {
        self.try_send_command(SessionCommand::App(command))
    }

    /// Queues the handler's `command`, waiting for a slot; `false` once the session is gone.
    #[cfg(feature = "socketio-server")]
    pub(crate) async fn send(&self, command: C) -> bool {
        self.tx.send(SessionCommand::App(command)).await.is_ok()
    }

    /// Asks the task to close the Engine.IO session.
    pub(crate) fn close(&self) -> Result<(), SendError> {
        self.try_send_command(SessionCommand::Close)
    }
}

/// The open sessions: Engine.IO sid → its task. Held only for a lookup,
/// insert or removal.
pub(crate) type Sessions<C> = Mutex<HashMap<String, Arc<SessionHandle<C>>>>;

/// What runs on top of one Engine.IO session, inside its task. Each call
/// may send on or close `eio`; the task then drains its outputs.
pub(crate) trait Handler: Send + Sized + 'static {
    /// The commands other tasks send it (through [`SessionHandle::try_send`]).
    type Command: Send + 'static;
    /// A message from the client.
    fn on_message(&mut self, eio: &mut ServerSession, data: MessageData, now: Duration);
    /// The session moved from polling to WebSocket.
    fn on_upgraded(&mut self) {}
    /// A command for it.
    fn on_command(&mut self, eio: &mut ServerSession, command: Self::Command, now: Duration);
    /// Moves its own output into `eio`; `true` if it did anything (the task
    /// calls it until nothing moves).
    fn pump(&mut self, _eio: &mut ServerSession, _now: Duration) -> bool {
        false
    }
    /// Its own next deadline.
    fn poll_timeout(&self) -> Option<Duration> {
        None
    }
    /// Its deadlines up to `now`.
    fn handle_timeout(&mut self, _now: Duration) {}
    /// Bytes it holds for the client (counted against the backpressure cap).
    fn buffered_amount(&self) -> usize {
        0
    }
    /// The session is over (it is out of the map already).
    fn finish(self, reason: CloseReason);
}

/// Makes the handler of a new session from the session, its handle and the
/// handshake request.
pub(crate) type NewHandler<H> = dyn Fn(&ServerSession, &Arc<SessionHandle<<H as Handler>::Command>>, &http::request::Parts) -> H
    + Send
    + Sync;

/// One Engine.IO endpoint: its settings, its sessions, its clock.
pub(crate) struct Core<H: Handler> {
    pub(crate) config: EngineIoConfig,
    pub(crate) sessions: Arc<Sessions<H::Command>>,
    new_handler: Box<NewHandler<H>>,
    pub(crate) start: Instant,
}

impl<H: Handler> Core<H> {
    pub(crate) fn new(
        config: EngineIoConfig,
        sessions: Arc<Sessions<H::Command>>,
        start: Instant,
        new_handler: Box<NewHandler<H>>,
    ) -> Arc<Core<H>> {
        Arc::new(Core {
            config,
            sessions,
            new_handler,
            start,
        })
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn session(&self, sid: &str) -> Option<Arc<SessionHandle<H::Command>>> {
        lock(&self.sessions).get(sid).cloned()
    }

    /// Registers a new session and starts its task.
    fn spawn(
        self: &Arc<Self>,
        eio: ServerSession,
        handshake: &http::request::Parts,
    ) -> Arc<SessionHandle<H::Command>> {
        let (tx, commands) = mpsc::channel(COMMAND_SLOTS);
        let handle = Arc::new(SessionHandle {
            tx,
            overflowed: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            buffered: AtomicUsize::new(0),
        });
        let handler = (self.new_handler)(&eio, &handle, handshake);
        let sid = eio.sid().to_string();
        let task = SessionTask {
            core: self.clone(),
            handle: handle.clone(),
            // A WebSocket-only session's socket, its upgrade under way.
            socket: eio.websocket().map(Socket::upgrading),
            sid: sid.clone(),
            eio,
            handler,
            commands,
            waiting_get: None,
            reason: None,
        };
        lock(&self.sessions).insert(sid, handle.clone());
        tokio::spawn(task.run());
        handle
    }

    /// Answers one Engine.IO request: a polling GET or POST, or a WebSocket
    /// upgrade (the path is not checked).
    pub(crate) async fn call<B>(self: Arc<Self>, mut request: http::Request<B>) -> EngineIoResponse
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let query = request.uri().query().unwrap_or("").to_string();
        if crate::is_upgrade_request(&request) {
            return self.websocket(&mut request, &query).await;
        }
        let method = Method::from_name(request.method().as_str());
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // A declared length over the cap is refused before any of the body is read.
        let declared = request.body().size_hint().lower();
        if usize::try_from(declared).map_or(true, |n| n > self.config.max_http_body) {
            return closing(http::StatusCode::PAYLOAD_TOO_LARGE);
        }
        let handshake = handshake_parts(&request);
        let limited = Limited::new(request.into_body(), self.config.max_http_body);
        let body = match tokio::time::timeout(self.config.request_timeout, limited.collect()).await
        {
            Err(_) => return closing(http::StatusCode::REQUEST_TIMEOUT),
            Ok(Err(_)) => return closing(http::StatusCode::PAYLOAD_TOO_LARGE),
            Ok(Ok(collected)) => collected.to_bytes(),
        };
        let config = &self.config.engineio;
        let session = match Route::request(config, &query) {
            Err(error) => return engineio_response(Response::error(&error)),
            Ok(Route::Handshake) => {
                let info = RequestInfo {
                    method,
                    query: &query,
                    content_type: content_type.as_deref(),
                    body: &body,
                };
                let count = lock(&self.sessions).len();
                let opened = config.check_session_count(count).and_then(|()| {
                    ServerSession::open_polling(config, &info, self.now(), eio::os_random_sid)
                });
                return match opened {
                    Ok((session, response)) => {
                        self.spawn(session, &handshake);
                        engineio_response(response)
                    }
                    Err(error) => engineio_response(Response::error(&error)),
                };
            }
            Ok(Route::Session(sid)) => match self.session(sid) {
                Some(session) => session,
                None => return engineio_response(Response::error(&eio::Error::UnknownSid)),
            },
        };
        // Only a GET parks; a POST is answered at once.
        let parks = matches!(method, Method::Get);
        let (reply, rx) = oneshot::channel();
        let command = SessionCommand::Request {
            method,
            query,
            content_type,
            body,
            reply,
        };
        if session.tx.send(command).await.is_err() {
            return engineio_response(Response::error(&eio::Error::UnknownSid));
        }
        let mut guard = PollGuard {
            session,
            armed: parks,
        };
        let answer = rx.await;
        guard.armed = false;
        match answer {
            Ok(response) => engineio_response(response),
            Err(_) => engineio_response(Response::error(&eio::Error::UnknownSid)),
        }
    }

    /// Opens a WebSocket-only session, or attaches the WebSocket to the polling
    /// session it names (the upgrade probe), then answers `101` and hands the
    /// socket to the session's task once the upgrade completes.
    async fn websocket<B>(
        self: &Arc<Self>,
        request: &mut http::Request<B>,
        query: &str,
    ) -> EngineIoResponse {
        let config = &self.config.engineio;
        type Attached<C> = Option<(Arc<SessionHandle<C>>, WebSocketId)>;
        let handshake = handshake_parts(request);
        let opened: Result<Attached<H::Command>, eio::Error> = async {
            match Route::websocket(config, query)? {
                Route::Handshake => {
                    // Checked before the insert: concurrent handshakes may pass it
                    // by their number, never by more.
                    config.check_session_count(lock(&self.sessions).len())?;
                    let session = ServerSession::open_websocket(
                        config,
                        query,
                        self.now(),
                        eio::os_random_sid,
                    )?;
                    let ws = session.websocket().ok_or(eio::Error::BadRequest)?;
                    Ok(Some((self.spawn(session, &handshake), ws)))
                }
                Route::Session(sid) => {
                    let session = self.session(sid).ok_or(eio::Error::UnknownSid)?;
                    let (reply, rx) = oneshot::channel();
                    let command = SessionCommand::WebSocketOpen {
                        query: query.to_string(),
                        reply,
                    };
                    session
                        .tx
                        .send(command)
                        .await
                        .map_err(|_| eio::Error::UnknownSid)?;
                    let ws = rx.await.map_err(|_| eio::Error::UnknownSid)??;
                    Ok(ws.map(|ws| (session, ws)))
                }
            }
        }
        .await;
        let attached = match opened {
            Ok(attached) => attached,
            Err(error) => {
                // As the reference server: `400` on the raw socket, then closed.
                let mut response = engineio_response(Response::upgrade_error(&error));
                response.headers_mut().insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
                return response;
            }
        };
        let upgrade = Upgrade::new(websocket_config(&self.config));
        let (response, websocket) = match upgrade.upgrade(request) {
            Ok(upgraded) => upgraded,
            Err(error) => {
                if let Some((session, ws)) = attached {
                    let _ = session.tx.send(SessionCommand::WebSocketClosed(ws)).await;
                }
                let response = error.to_response();
                let (parts, _) = response.into_parts();
                return http::Response::from_parts(parts, Full::default());
            }
        };
        let write_timeout = self.config.write_timeout;
        tokio::spawn(async move {
            let Ok(stream) = websocket.await else {
                if let Some((session, ws)) = attached {
                    let _ = session.tx.send(SessionCommand::WebSocketClosed(ws)).await;
                }
                return;
            };
            match attached {
                Some((session, ws)) => {
                    let ready = SessionCommand::WebSocketReady(ws, Box::new(stream));
                    if let Err(mpsc::error::SendError(SessionCommand::WebSocketReady(_, stream))) =
                        session.tx.send(ready).await
                    {
                        // The session is gone.
                        close_in_background(*stream, write_timeout);
                    }
                }
                // The session has its WebSocket already: accept this one, then close it.
                None => close_in_background(stream, write_timeout),
            }
        });
        let (parts, _) = response.into_parts();
        http::Response::from_parts(parts, Full::default())
    }
}

/// The handshake request's method, target, version and headers (not its
/// extensions), for the session's handler.
fn handshake_parts<B>(request: &http::Request<B>) -> http::request::Parts {
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.method = request.method().clone();
    parts.uri = request.uri().clone();
    parts.version = request.version();
    parts.headers = request.headers().clone();
    parts
}

/// The WebSocket settings of an endpoint: the user's, with frame and message
/// caps at the Engine.IO `max_payload` (no Engine.IO message can be larger,
/// so a larger one is refused on its frame header, before it is buffered or
/// inflated) and no WebSocket-level keepalive (Engine.IO's heartbeat does that).
pub(crate) fn websocket_config(config: &EngineIoConfig) -> Config {
    let max = u64::try_from(config.engineio.max_payload).unwrap_or(u64::MAX);
    let mut websocket = config.websocket.clone();
    websocket.limits.max_frame_size = max;
    websocket.limits.max_message_size = max;
    websocket
}

/// Closes `stream` (its unwritten frames, then the close handshake) on a task
/// of its own, given up after `timeout`.
fn close_in_background(mut stream: crate::UpgradedStream, timeout: Duration) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(timeout, stream.close()).await;
    });
}

/// Commands a session task handles at most between two writes.
const COMMAND_BATCH: usize = 64;

/// What a session's WebSocket turned up.
enum SocketTurn {
    /// A message from the client.
    Message(Message),
    /// A write started waiting on the peer: its deadline is armed (the
    /// task's sleep must now include it).
    WriteWaiting,
    /// The socket is gone: ended by the peer or failed.
    Gone,
}

/// What queuing one of the session's outputs on its WebSocket did.
#[derive(Debug, PartialEq)]
enum Queued {
    Open,
    /// The peer does not read what it is sent: past the bound, nothing more
    /// is buffered for it.
    Full,
    /// The session closed the socket: the close frame goes next.
    Close,
}

/// A session's WebSocket, owned by the session's task: the task queues the
/// session's output on it and writes it all with one vectored write per
/// turn, and reads the client's messages from it.
struct Socket<S> {
    id: WebSocketId,
    /// The stream, once the upgrade completed.
    stream: Option<crate::WebSocketStream<S>>,
    /// Messages queued since the last completed write.
    unwritten: usize,
    /// When the write under way must be done (time since the server's
    /// start): one that the peer keeps waiting past it drops the socket.
    write_deadline: Option<Duration>,
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> Socket<S> {
    /// WebSocket `id`, its upgrade under way.
    fn upgrading(id: WebSocketId) -> Self {
        Socket {
            id,
            stream: None,
            unwritten: 0,
            write_deadline: None,
        }
    }

    /// Queues one output of the session: written by the next turn, with
    /// everything else queued by then. Bound: at most `max_messages`
    /// messages (the Engine.IO `max_buffered_packets`) and the stream's
    /// `max_write_buffer` bytes wait unwritten; past either, [`Queued::Full`].
    fn queue(&mut self, output: WebSocketOutput, max_messages: usize) -> Queued {
        let Some(stream) = self.stream.as_mut() else {
            return Queued::Open;
        };
        let message = match output {
            WebSocketOutput::Text(text) => Message::text(text),
            WebSocketOutput::Binary(data) => Message::Binary(data),
            // UTF-8 already: the core framed it from a `str` (no check per recipient).
            WebSocketOutput::SharedText(text) => Message::Text(text),
            _ => return Queued::Close,
        };
        if self.unwritten >= max_messages || stream.start_send_unpin(message).is_err() {
            return Queued::Full;
        }
        self.unwritten += 1;
        Queued::Open
    }

    /// Bytes queued and not written yet.
    fn buffered_amount(&self) -> usize {
        self.stream.as_ref().map_or(0, |s| s.write_buffer_len())
    }

    /// One turn: writes what is queued (arming the write deadline, from
    /// `start`, while the peer keeps it waiting), then reads the client's
    /// next message.
    fn poll_turn(
        &mut self,
        cx: &mut Context<'_>,
        start: Instant,
        write_timeout: Duration,
    ) -> Poll<SocketTurn> {
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Pending;
        };
        if self.unwritten > 0 {
            match stream.poll_flush_unpin(cx) {
                Poll::Ready(Ok(())) => {
                    self.unwritten = 0;
                    self.write_deadline = None;
                }
                Poll::Ready(Err(_)) => return Poll::Ready(SocketTurn::Gone),
                Poll::Pending if self.write_deadline.is_none() => {
                    self.write_deadline = Some(start.elapsed() + write_timeout);
                    return Poll::Ready(SocketTurn::WriteWaiting);
                }
                Poll::Pending => {}
            }
        }
        match stream.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(message))) => Poll::Ready(SocketTurn::Message(message)),
            Poll::Ready(Some(Err(_)) | None) => Poll::Ready(SocketTurn::Gone),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The session task: sole owner of one session's core [`ServerSession`], its
/// handler and its WebSocket.
struct SessionTask<H: Handler> {
    core: Arc<Core<H>>,
    handle: Arc<SessionHandle<H::Command>>,
    sid: String,
    eio: ServerSession,
    handler: H,
    commands: mpsc::Receiver<SessionCommand<H::Command>>,
    waiting_get: Option<oneshot::Sender<Response>>,
    socket: Option<Socket<crate::UpgradedIo>>,
    /// Why the session closed, once it did.
    reason: Option<CloseReason>,
}

impl<H: Handler> SessionTask<H> {
    async fn run(mut self) {
        // One timer for the task's life, moved only when the deadline does:
        // a turn (say, one broadcast delivered) neither registers a timer
        // nor takes one off the runtime's wheel.
        let timer = tokio::time::sleep_until(tokio::time::Instant::from_std(self.core.start));
        tokio::pin!(timer);
        let mut armed: Option<Duration> = None;
        loop {
            self.dispatch();
            if self.eio.is_closed() {
                break;
            }
            let write_deadline = self.socket.as_ref().and_then(|s| s.write_deadline);
            let deadline = [
                self.eio.poll_timeout(),
                self.handler.poll_timeout(),
                write_deadline,
            ]
            .into_iter()
            .flatten()
            .min();
            if deadline != armed {
                if let Some(at) = deadline {
                    timer
                        .as_mut()
                        .reset(tokio::time::Instant::from_std(self.core.start + at));
                }
                armed = deadline;
            }
            let (start, write_timeout) = (self.core.start, self.core.config.write_timeout);
            let socket = &mut self.socket;
            let turn = std::future::poll_fn(|cx| match socket {
                Some(socket) => socket.poll_turn(cx, start, write_timeout),
                None => Poll::Pending,
            });
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => {
                        self.handle(command);
                        // What else waits already is handled before the next
                        // write: a session that a broadcast reached several
                        // times is written to once, not once per message.
                        for _ in 1..COMMAND_BATCH {
                            let Ok(command) = self.commands.try_recv() else {
                                break;
                            };
                            self.handle(command);
                        }
                    }
                    None => break,
                },
                turn = turn => self.on_socket(turn),
                () = &mut timer, if armed.is_some() => {
                    // Fired: armed again on the next turn, at whatever the
                    // deadline is then.
                    armed = None;
                    let now = self.core.now();
                    self.eio.handle_timeout(now);
                    self.handler.handle_timeout(now);
                    // A peer that keeps a write waiting past the deadline: the
                    // socket is dropped.
                    // (Its deadline as of now: a write that completed since
                    // the sleep was armed cleared it.)
                    let write_deadline = self.socket.as_ref().and_then(|s| s.write_deadline);
                    if write_deadline.is_some_and(|at| at <= now) {
                        self.drop_socket(false);
                    }
                }
            }
            if self.handle.overflowed.load(Ordering::Relaxed) {
                // Too far behind what it is sent: drop it.
                self.eio.close(self.core.now());
            }
        }
        self.finish();
    }

    fn handle(&mut self, command: SessionCommand<H::Command>) {
        let now = self.core.now();
        match command {
            SessionCommand::Request {
                method,
                query,
                content_type,
                body,
                reply,
            } => {
                let info = RequestInfo {
                    method,
                    query: &query,
                    content_type: content_type.as_deref(),
                    body: &body,
                };
                match self.eio.handle_request(&info, now) {
                    Reply::Respond(response) => {
                        let _ = reply.send(response);
                    }
                    Reply::Wait => self.waiting_get = Some(reply),
                }
            }
            SessionCommand::PollAborted => {
                self.waiting_get = None;
                self.eio.handle_poll_aborted();
            }
            SessionCommand::Close => self.eio.close(now),
            SessionCommand::WebSocketOpen { query, reply } => {
                let answer = match self.eio.handle_websocket_open(&query, now) {
                    Ok(WebSocketOpen::Attach(ws)) => {
                        self.drop_socket(true);
                        self.socket = Some(Socket::upgrading(ws));
                        Ok(Some(ws))
                    }
                    Ok(_) => Ok(None),
                    Err(error) => Err(error),
                };
                let _ = reply.send(answer);
            }
            SessionCommand::WebSocketReady(ws, stream) => match self.socket.as_mut() {
                Some(socket) if socket.id == ws && socket.stream.is_none() => {
                    socket.stream = Some(*stream);
                }
                // A socket the session no longer waits for.
                _ => close_in_background(*stream, self.core.config.write_timeout),
            },
            SessionCommand::WebSocketClosed(ws) => {
                if self.socket.as_ref().is_some_and(|s| s.id == ws) {
                    self.socket = None;
                }
                self.eio.handle_websocket_closed(ws);
            }
            SessionCommand::Wake => {}
            SessionCommand::App(command) => self.handler.on_command(&mut self.eio, command, now),
        }
    }

    /// What the WebSocket turned up: a message for the session, or its end.
    fn on_socket(&mut self, turn: SocketTurn) {
        let Some(ws) = self.socket.as_ref().map(|s| s.id) else {
            return;
        };
        let now = self.core.now();
        match turn {
            SocketTurn::Message(Message::Text(text)) => {
                let _ = self.eio.handle_websocket_text(ws, text.as_str(), now);
            }
            SocketTurn::Message(Message::Binary(data)) => {
                let _ = self.eio.handle_websocket_binary(ws, data, now);
            }
            // The peer's close: answered, then the socket is over.
            SocketTurn::Message(Message::Close(_)) => self.drop_socket(true),
            SocketTurn::Message(_) | SocketTurn::WriteWaiting => {}
            SocketTurn::Gone => self.drop_socket(false),
        }
    }

    /// The WebSocket is over for the session: closed on a task of its own
    /// with `close` (what is queued, then the close handshake, within the
    /// write deadline), else dropped at once; the session is told.
    fn drop_socket(&mut self, close: bool) {
        let Some(socket) = self.socket.take() else {
            return;
        };
        if let Some(stream) = socket.stream
            && close
        {
            close_in_background(stream, self.core.config.write_timeout);
        }
        self.eio.handle_websocket_closed(socket.id);
    }

    /// Drains every output of the session and its handler, and what reacting
    /// to them produces.
    fn dispatch(&mut self) {
        let now = self.core.now();
        loop {
            let mut progressed = false;
            // The parked GET first: a session that closes may still have a
            // last response (e.g. the close packet) for it.
            while let Some(response) = self.eio.poll_long_poll() {
                progressed = true;
                if let Some(reply) = self.waiting_get.take() {
                    let _ = reply.send(response);
                }
            }
            while let Some(event) = self.eio.poll_event() {
                progressed = true;
                match event {
                    SessionEvent::Message(data) => {
                        self.handler.on_message(&mut self.eio, data, now);
                    }
                    SessionEvent::Upgraded => self.handler.on_upgraded(),
                    // The session's last outputs, then the close of its
                    // socket, follow.
                    SessionEvent::Closed(reason) => {
                        self.reason = Some(reason);
                        self.waiting_get = None;
                    }
                    _ => {}
                }
            }
            progressed |= self.handler.pump(&mut self.eio, now);
            // Output waits in the session while the socket's upgrade is under
            // way; with no socket (it is gone), it is dropped.
            while self.socket.as_ref().is_none_or(|s| s.stream.is_some())
                && let Some(output) = self.eio.poll_websocket()
            {
                progressed = true;
                let Some(socket) = self.socket.as_mut() else {
                    continue;
                };
                match socket.queue(output, self.core.config.engineio.max_buffered_packets) {
                    Queued::Open => {}
                    Queued::Close => self.drop_socket(true),
                    Queued::Full => {
                        // The peer does not read what it is sent: the session
                        // is closed rather than buffering more.
                        self.drop_socket(true);
                        self.eio.close(now);
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        let socket = self.socket.as_ref().map_or(0, Socket::buffered_amount);
        let buffered = self.eio.buffered_amount() + self.handler.buffered_amount() + socket;
        self.handle.buffered.store(buffered, Ordering::Relaxed);
    }

    /// The session is over: out of the map, its socket closed, its handler told.
    fn finish(mut self) {
        lock(&self.core.sessions).remove(&self.sid);
        self.drop_socket(true);
        let reason = self.reason.take().unwrap_or(CloseReason::ForcedClose);
        self.handler.finish(reason);
    }
}

pub(crate) fn engineio_response(response: Response) -> EngineIoResponse {
    let content_type = if response.content_type.is_empty() {
        "text/plain"
    } else {
        response.content_type
    };
    http::Response::builder()
        .status(response.status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(response.body))
        .unwrap_or_default()
}

pub(crate) fn status(status: http::StatusCode) -> EngineIoResponse {
    let mut response = EngineIoResponse::default();
    *response.status_mut() = status;
    response
}

/// A refusal after which the connection is closed (`Connection: close`): the
/// rest of a body over the cap, or one that is late, is never read.
fn closing(code: http::StatusCode) -> EngineIoResponse {
    let mut response = status(code);
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}

/// Sends `PollAborted` if the parked GET's response future is dropped first.
struct PollGuard<C> {
    session: Arc<SessionHandle<C>>,
    armed: bool,
}

impl<C> Drop for PollGuard<C> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.session.tx.try_send(SessionCommand::PollAborted);
        }
    }
}

/// Serves `core` for the requests whose path starts with `prefix` on
/// `listener` with [`server::serve`](crate::server::serve) (hyper 1.x's
/// HTTP/1.1 server, upgrades on, the limits of `config`); anything else is
/// `404`. Never returns.
pub(crate) async fn serve_prefix<H: Handler>(
    listener: tokio::net::TcpListener,
    prefix: &'static str,
    core: Arc<Core<H>>,
    config: crate::server::ServerConfig,
) -> std::io::Result<()> {
    let service =
        hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let core = core.clone();
            async move {
                if request.uri().path().starts_with(prefix) {
                    Ok::<_, std::convert::Infallible>(core.call(request).await)
                } else {
                    Ok(status(http::StatusCode::NOT_FOUND))
                }
            }
        });
    crate::server::serve(listener, config, service).await
}

/// `Debug` and the tower `Service` of HTTP requests for a public service
/// type holding its endpoint as `core`: one definition for
/// [`EngineIoService`](super::EngineIoService) and the Socket.IO server's.
macro_rules! engine_service {
    ($service:ident) => {
        impl std::fmt::Debug for $service {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($service)).finish_non_exhaustive()
            }
        }

        impl<B> tower_service::Service<http::Request<B>> for $service
        where
            B: hyper::body::Body + Send + 'static,
            B::Data: Send,
            B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        {
            type Response = $crate::engineio::EngineIoResponse;
            type Error = std::convert::Infallible;
            type Future = std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
            >;

            fn poll_ready(
                &mut self,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: http::Request<B>) -> Self::Future {
                let core = self.core.clone();
                Box::pin(async move { Ok(core.call(request).await) })
            }
        }
    };
}
pub(crate) use engine_service;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_io::counted_websocket;

    /// A session's socket on a counting transport, its far end, the write count.
    fn counted_socket() -> (
        Socket<crate::test_io::CountingWrites>,
        tokio::io::DuplexStream,
        Arc<AtomicUsize>,
    ) {
        let (ws, far, writes) = counted_websocket();
        let session = ServerSession::open_websocket(
            &eio::ServerConfig::default(),
            "EIO=4&transport=websocket",
            Duration::ZERO,
            eio::os_random_sid,
        )
        .unwrap();
        let mut socket = Socket::upgrading(session.websocket().unwrap());
        socket.stream = Some(ws);
        (socket, far, writes)
    }

    /// One turn of `socket`, whatever it gives.
    async fn turn(socket: &mut Socket<crate::test_io::CountingWrites>) -> Option<SocketTurn> {
        let start = Instant::now();
        std::future::poll_fn(|cx| {
            Poll::Ready(match socket.poll_turn(cx, start, Duration::from_secs(10)) {
                Poll::Ready(turn) => Some(turn),
                Poll::Pending => None,
            })
        })
        .await
    }

    /// What the session queued on its socket by a turn goes out in one
    /// write, in order, and leaves the unwritten figures; a close output is
    /// not queued but reported.
    #[tokio::test]
    async fn queued_outputs_go_out_in_one_write_per_turn() {
        use tokio::io::AsyncReadExt;
        let (mut socket, mut far, writes) = counted_socket();
        for text in ["4a", "4b", "4c"] {
            let output = WebSocketOutput::Text(text.into());
            assert_eq!(socket.queue(output, 8), Queued::Open);
        }
        assert_eq!(socket.unwritten, 3);
        assert_eq!(socket.buffered_amount(), 12);
        assert!(turn(&mut socket).await.is_none(), "nothing to read");
        assert_eq!(
            writes.load(Ordering::Relaxed),
            1,
            "one write for three messages"
        );
        assert_eq!((socket.unwritten, socket.buffered_amount()), (0, 0));
        assert_eq!(socket.write_deadline, None);
        let mut frames = [0; 12];
        far.read_exact(&mut frames).await.unwrap();
        assert_eq!(&frames, b"\x81\x024a\x81\x024b\x81\x024c");
        assert_eq!(socket.queue(WebSocketOutput::Close, 8), Queued::Close);
        assert_eq!(socket.unwritten, 0);
    }

    /// A peer that does not read: at most `max_messages` messages wait
    /// unwritten on the socket; the next one is refused (the session is then
    /// closed), and a turn that cannot write arms the write deadline.
    #[tokio::test]
    async fn unwritten_messages_are_bounded() {
        let (mut socket, _far, _) = counted_socket();
        for _ in 0..4 {
            let output = WebSocketOutput::Text("4x".into());
            assert_eq!(socket.queue(output, 4), Queued::Open);
        }
        let output = WebSocketOutput::Text("4x".into());
        assert_eq!(socket.queue(output, 4), Queued::Full);
        assert_eq!(socket.unwritten, 4);
        // Bytes: 1 MiB pipe, 1 MiB write buffer: 64 KiB messages fill both.
        let (mut socket, _far, _) = counted_socket();
        let big = socketwire::Utf8Bytes::from("x".repeat(64 << 10));
        let mut refused = None;
        let mut waiting = 0;
        for i in 0..100 {
            let output = WebSocketOutput::SharedText(big.clone());
            if socket.queue(output, usize::MAX) == Queued::Full {
                refused = Some(i);
                break;
            }
            if let Some(SocketTurn::WriteWaiting) = turn(&mut socket).await {
                waiting += 1;
            }
        }
        assert_eq!(waiting, 1, "the deadline is armed once, and reported");
        let refused = refused.expect("the byte bound refused a message");
        assert!(refused <= 40, "{refused} messages taken");
        assert!(
            socket.write_deadline.is_some(),
            "the write waits on the peer"
        );
        assert!(socket.buffered_amount() <= (1 << 20) + (64 << 10) + 14);
    }

    /// A message from the client comes out of a turn.
    #[tokio::test]
    async fn a_turn_reads_the_clients_message() {
        use tokio::io::AsyncWriteExt;
        let (mut socket, mut far, _) = counted_socket();
        far.write_all(&[0x81, 0x82, 0, 0, 0, 0, b'4', b'x'])
            .await
            .unwrap();
        let got = turn(&mut socket).await;
        assert!(
            matches!(got, Some(SocketTurn::Message(Message::Text(ref t))) if t.as_str() == "4x"),
            "read the text"
        );
        drop(far);
        assert!(matches!(turn(&mut socket).await, Some(SocketTurn::Gone)));
    }

    /// The WebSocket limits follow `max_payload`: a frame or message one
    /// byte over it is refused by the WebSocket layer, on its header; the
    /// user's other settings are kept.
    #[test]
    fn websocket_limits_follow_max_payload() {
        for max_payload in [1, 1000, 1_000_000] {
            let mut config = EngineIoConfig::default();
            config.engineio.max_payload = max_payload;
            config.websocket.max_write_buffer = 4096;
            let websocket = websocket_config(&config);
            assert_eq!(websocket.limits.max_frame_size, max_payload as u64);
            assert_eq!(websocket.limits.max_message_size, max_payload as u64);
            assert_eq!(websocket.max_write_buffer, 4096);
        }
    }
}
