//! The Engine.IO server's machinery, shared by [`EngineIo`](super::EngineIo)
//! and the Socket.IO server: the HTTP side (polling requests, WebSocket
//! upgrades, the session cap, the body cap and deadline), one task per
//! session that alone owns its core [`ServerSession`], and the WebSocket
//! pump. What a session does with its messages is a [`Handler`]'s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
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
use crate::{Config, Message, Upgrade, Utf8Bytes};

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
        writer: mpsc::Sender<WebSocketOutput>,
        reply: oneshot::Sender<Result<Option<WebSocketId>, eio::Error>>,
    },
    WebSocketText(WebSocketId, String),
    WebSocketBinary(WebSocketId, Bytes),
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
    /// Bytes counted in the mailbox (by the handler) plus bytes in the WebSocket writer.
    pub(crate) queued: AtomicUsize,
    /// The session's and its handler's `buffered_amount`, as of the task's last step.
    buffered: AtomicUsize,
}

impl<C> SessionHandle<C> {
    /// Every byte held for this session: its mailbox's counted commands, its
    /// WebSocket writer's, its core sessions'.
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
        socket: Option<mpsc::Sender<WebSocketOutput>>,
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
            socket: socket.and_then(|tx| Some((eio.websocket()?, tx))),
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
                        self.spawn(session, None, &handshake);
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
    /// session it names (the upgrade probe), then answers `101` and runs the
    /// socket in its own task.
    async fn websocket<B>(
        self: &Arc<Self>,
        request: &mut http::Request<B>,
        query: &str,
    ) -> EngineIoResponse {
        let config = &self.config.engineio;
        let (writer, outputs) = mpsc::channel(config.max_buffered_packets.max(1));
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
                    Ok(Some((self.spawn(session, Some(writer), &handshake), ws)))
                }
                Route::Session(sid) => {
                    let session = self.session(sid).ok_or(eio::Error::UnknownSid)?;
                    let (reply, rx) = oneshot::channel();
                    let command = SessionCommand::WebSocketOpen {
                        query: query.to_string(),
                        writer,
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
                Some((session, ws)) => pump(stream, session, ws, outputs, write_timeout).await,
                // The session has its WebSocket already: accept this one, then close it.
                None => {
                    let mut stream = stream;
                    let _ = tokio::time::timeout(write_timeout, stream.close()).await;
                }
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

/// Moves one WebSocket's messages to its session task and the task's output
/// to the socket, until either side ends.
async fn pump<C>(
    stream: crate::UpgradedStream,
    session: Arc<SessionHandle<C>>,
    ws: WebSocketId,
    mut outputs: mpsc::Receiver<WebSocketOutput>,
    write_timeout: Duration,
) {
    // One owner, not split halves: a write is awaited in its branch, so
    // reading and writing never overlap, and a lock per message is saved.
    let mut stream = stream;
    loop {
        tokio::select! {
            message = stream.next() => {
                let command = match message {
                    Some(Ok(Message::Text(text))) => SessionCommand::WebSocketText(ws, text.as_str().to_string()),
                    Some(Ok(Message::Binary(data))) => SessionCommand::WebSocketBinary(ws, data),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                if session.tx.send(command).await.is_err() {
                    break;
                }
            }
            output = outputs.recv() => {
                let Some(output) = output else {
                    let _ = tokio::time::timeout(write_timeout, stream.close()).await;
                    break;
                };
                // A peer that stops reading: past the deadline the socket is dropped.
                let batch = write_batch(&mut stream, &session.queued, output, &mut outputs);
                match tokio::time::timeout(write_timeout, batch).await {
                    Ok(Ok(Flow::Open)) => {}
                    Ok(Ok(Flow::Close)) => {
                        let _ = tokio::time::timeout(write_timeout, stream.close()).await;
                        break;
                    }
                    Ok(Err(_)) | Err(_) => break,
                }
            }
        }
    }
    let _ = session.tx.send(SessionCommand::WebSocketClosed(ws)).await;
    // What is left in the writer's channel leaves the figure.
    outputs.close();
    while let Ok(output) = outputs.try_recv() {
        session
            .queued
            .fetch_sub(websocket_output_len(&output), Ordering::Relaxed);
    }
}

/// Messages taken from the writer's channel into one write, at most.
const WRITE_BATCH: usize = 64;

/// What the writer does after a batch.
enum Flow {
    Open,
    /// The session closed the socket: the close frame goes next.
    Close,
}

/// `first`, and what else waits in the writer's channel already (up to
/// [`WRITE_BATCH`] messages), queued on the sink and written with one flush:
/// a session that a broadcast reached several times is written to once, not
/// once per message. A close ends the batch; what came before it is flushed.
async fn write_batch<S>(
    sink: &mut S,
    queued: &AtomicUsize,
    first: WebSocketOutput,
    outputs: &mut mpsc::Receiver<WebSocketOutput>,
) -> Result<Flow, crate::Error>
where
    S: futures_util::Sink<Message, Error = crate::Error> + Unpin,
{
    let mut output = first;
    let mut flow = Flow::Open;
    for taken in 1..=WRITE_BATCH {
        queued.fetch_sub(websocket_output_len(&output), Ordering::Relaxed);
        let message = match output {
            WebSocketOutput::Text(text) => Message::text(text),
            WebSocketOutput::Binary(data) => Message::Binary(data),
            // UTF-8 already: the core framed it from a `str` (no check per recipient).
            WebSocketOutput::SharedText(bytes) => Message::Text(Utf8Bytes::from_validated(bytes)),
            _ => {
                flow = Flow::Close;
                break;
            }
        };
        sink.feed(message).await?;
        if taken == WRITE_BATCH {
            break;
        }
        match outputs.try_recv() {
            Ok(next) => output = next,
            Err(_) => break,
        }
    }
    sink.flush().await?;
    Ok(flow)
}

fn websocket_output_len(output: &WebSocketOutput) -> usize {
    match output {
        WebSocketOutput::Text(t) => t.len(),
        WebSocketOutput::Binary(b) | WebSocketOutput::SharedText(b) => b.len(),
        _ => 0,
    }
}

/// The session task: sole owner of one session's core [`ServerSession`] and
/// its handler.
struct SessionTask<H: Handler> {
    core: Arc<Core<H>>,
    handle: Arc<SessionHandle<H::Command>>,
    sid: String,
    eio: ServerSession,
    handler: H,
    commands: mpsc::Receiver<SessionCommand<H::Command>>,
    waiting_get: Option<oneshot::Sender<Response>>,
    socket: Option<(WebSocketId, mpsc::Sender<WebSocketOutput>)>,
    /// Why the session closed, once it did.
    reason: Option<CloseReason>,
}

impl<H: Handler> SessionTask<H> {
    async fn run(mut self) {
        loop {
            self.dispatch();
            if self.eio.is_closed() {
                break;
            }
            let deadline = [self.eio.poll_timeout(), self.handler.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let sleep = sleep_until(self.core.start, deadline);
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.handle(command),
                    None => break,
                },
                () = sleep => {
                    let now = self.core.now();
                    self.eio.handle_timeout(now);
                    self.handler.handle_timeout(now);
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
            SessionCommand::WebSocketOpen {
                query,
                writer,
                reply,
            } => {
                let answer = match self.eio.handle_websocket_open(&query, now) {
                    Ok(WebSocketOpen::Attach(ws)) => {
                        self.socket = Some((ws, writer));
                        Ok(Some(ws))
                    }
                    Ok(_) => Ok(None),
                    Err(error) => Err(error),
                };
                let _ = reply.send(answer);
            }
            SessionCommand::WebSocketText(ws, text) => {
                let _ = self.eio.handle_websocket_text(ws, &text, now);
            }
            SessionCommand::WebSocketBinary(ws, data) => {
                let _ = self.eio.handle_websocket_binary(ws, data, now);
            }
            SessionCommand::WebSocketClosed(ws) => {
                if self.socket.as_ref().is_some_and(|(id, _)| *id == ws) {
                    self.socket = None;
                }
                self.eio.handle_websocket_closed(ws);
            }
            SessionCommand::Wake => {}
            SessionCommand::App(command) => self.handler.on_command(&mut self.eio, command, now),
        }
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
                    SessionEvent::Closed(reason) => {
                        self.reason = Some(reason);
                        self.waiting_get = None;
                        if let Some((_, tx)) = self.socket.take() {
                            let _ = tx.try_send(WebSocketOutput::Close);
                        }
                    }
                    _ => {}
                }
            }
            progressed |= self.handler.pump(&mut self.eio, now);
            while let Some(output) = self.eio.poll_websocket() {
                progressed = true;
                let close = output == WebSocketOutput::Close;
                let len = websocket_output_len(&output);
                let sent = self.socket.as_ref().map(|(_, tx)| {
                    // Counted before it is sent, so the writer never takes
                    // off the figure what is not on it yet.
                    self.handle.queued.fetch_add(len, Ordering::Relaxed);
                    let sent = tx.try_send(output);
                    if sent.is_err() {
                        self.handle.queued.fetch_sub(len, Ordering::Relaxed);
                    }
                    sent
                });
                // Only a full channel means a peer that does not read; a
                // closed one is a socket already gone, and its close follows.
                let full = !close && matches!(sent, Some(Err(mpsc::error::TrySendError::Full(_))));
                if close || full {
                    self.socket = None;
                }
                if full {
                    // The peer does not read what it is sent: the writer's
                    // channel (`max_buffered_packets`) is full, so the session
                    // is closed rather than buffering more.
                    self.eio.close(now);
                }
            }
            if !progressed {
                break;
            }
        }
        let buffered = self.eio.buffered_amount() + self.handler.buffered_amount();
        self.handle.buffered.store(buffered, Ordering::Relaxed);
    }

    /// The session is over: out of the map, its socket closed, its handler told.
    fn finish(mut self) {
        lock(&self.core.sessions).remove(&self.sid);
        if let Some((_, tx)) = self.socket.take() {
            let _ = tx.try_send(WebSocketOutput::Close);
        }
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

    /// A handler that does nothing with what it is given.
    struct Idle;

    impl Handler for Idle {
        type Command = ();
        fn on_message(&mut self, _: &mut ServerSession, _: MessageData, _: Duration) {}
        fn on_command(&mut self, _: &mut ServerSession, (): (), _: Duration) {}
        fn finish(self, _: CloseReason) {}
    }

    /// A session task opened on a WebSocket whose writer is `writer`.
    fn websocket_task(
        config: EngineIoConfig,
        writer: mpsc::Sender<WebSocketOutput>,
    ) -> SessionTask<Idle> {
        let eio = ServerSession::open_websocket(
            &config.engineio,
            "EIO=4&transport=websocket",
            Duration::ZERO,
            eio::os_random_sid,
        )
        .unwrap();
        let core = Core::new(
            config,
            Arc::default(),
            Instant::now(),
            Box::new(|_, _, _| Idle),
        );
        let (tx, commands) = mpsc::channel(COMMAND_SLOTS);
        SessionTask {
            core,
            handle: Arc::new(SessionHandle {
                tx,
                overflowed: AtomicBool::new(false),
                queued: AtomicUsize::new(0),
                buffered: AtomicUsize::new(0),
            }),
            sid: eio.sid().to_string(),
            socket: Some((eio.websocket().unwrap(), writer)),
            eio,
            handler: Idle,
            commands,
            waiting_get: None,
            reason: None,
        }
    }

    /// The `queued` figure counts what waits in the writer's channel,
    /// exactly: added as the task sends, taken off as the writer receives
    /// (as `pump` does).
    #[test]
    fn queued_counts_the_writer_channel() {
        let (tx, mut rx) = mpsc::channel(8);
        let mut task = websocket_task(EngineIoConfig::default(), tx);
        task.dispatch();
        let open = task.handle.queued.load(Ordering::Relaxed);
        assert!(open > 0, "the open packet");
        task.eio.send_text("hello").unwrap();
        task.dispatch();
        assert_eq!(
            task.handle.queued.load(Ordering::Relaxed),
            open + "4hello".len()
        );
        while let Ok(output) = rx.try_recv() {
            let len = websocket_output_len(&output);
            task.handle.queued.fetch_sub(len, Ordering::Relaxed);
        }
        assert_eq!(task.handle.queued.load(Ordering::Relaxed), 0);
    }

    /// Queues `texts` on the writer's channel as a session task does (the
    /// `queued` figure counts them).
    fn queue(tx: &mpsc::Sender<WebSocketOutput>, queued: &AtomicUsize, texts: &[&str]) {
        for text in texts {
            queued.fetch_add(text.len(), Ordering::Relaxed);
            tx.try_send(WebSocketOutput::Text(text.to_string()))
                .unwrap();
        }
    }

    /// What a session's writer finds waiting goes out in one write, in
    /// order, and leaves the `queued` figure; the batch stops at a close,
    /// what follows the close stays in the channel.
    #[tokio::test]
    async fn waiting_messages_go_out_in_one_write_up_to_a_close() {
        use tokio::io::AsyncReadExt;
        let (mut ws, mut far, writes) = counted_websocket();
        let (tx, mut rx) = mpsc::channel(8);
        let queued = AtomicUsize::new(0);
        queue(&tx, &queued, &["4a", "4b", "4c"]);
        let first = rx.try_recv().unwrap();
        let flow = write_batch(&mut ws, &queued, first, &mut rx).await.unwrap();
        assert!(matches!(flow, Flow::Open));
        assert_eq!(
            writes.load(Ordering::Relaxed),
            1,
            "one write for three messages"
        );
        assert_eq!(queued.load(Ordering::Relaxed), 0);
        let mut frames = [0; 12];
        far.read_exact(&mut frames).await.unwrap();
        assert_eq!(&frames, b"\x81\x024a\x81\x024b\x81\x024c");

        queue(&tx, &queued, &["4d"]);
        tx.try_send(WebSocketOutput::Close).unwrap();
        queue(&tx, &queued, &["4e"]);
        let first = rx.try_recv().unwrap();
        let flow = write_batch(&mut ws, &queued, first, &mut rx).await.unwrap();
        assert!(matches!(flow, Flow::Close));
        assert_eq!(writes.load(Ordering::Relaxed), 2);
        let mut frame = [0; 4];
        far.read_exact(&mut frame).await.unwrap();
        assert_eq!(&frame, b"\x81\x024d");
        assert_eq!(rx.try_recv().unwrap(), WebSocketOutput::Text("4e".into()));
    }

    /// A batch takes at most WRITE_BATCH messages; the rest wait for the next.
    #[tokio::test]
    async fn a_batch_is_bounded() {
        let (mut ws, _far, writes) = counted_websocket();
        let (tx, mut rx) = mpsc::channel(WRITE_BATCH * 2);
        let queued = AtomicUsize::new(0);
        let texts = vec!["4x"; WRITE_BATCH + 10];
        queue(&tx, &queued, &texts);
        let first = rx.try_recv().unwrap();
        write_batch(&mut ws, &queued, first, &mut rx).await.unwrap();
        assert_eq!(rx.len(), 10);
        assert_eq!(queued.load(Ordering::Relaxed), 10 * 2);
        assert!(writes.load(Ordering::Relaxed) >= 1);
    }

    /// A WebSocket whose peer never reads: the writer's channel is bounded,
    /// and once it is full the session is closed instead of buffering more.
    /// Bound: the channel never holds more than its capacity.
    #[test]
    fn full_websocket_channel_closes_the_session() {
        let mut config = EngineIoConfig::default();
        config.engineio.max_buffered_packets = 4;
        let (tx, rx) = mpsc::channel(config.engineio.max_buffered_packets);
        let mut task = websocket_task(config, tx);
        for _ in 0..10_000 {
            let _ = task.eio.send_text("flood");
            task.dispatch();
            if task.eio.is_closed() {
                break;
            }
        }
        assert!(task.eio.is_closed());
        assert!(task.socket.is_none(), "the writer is dropped");
        assert!(rx.len() <= 4);
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
