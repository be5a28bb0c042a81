//! Engine.IO over HTTP long-polling and WebSocket: tokio glue around the sans-IO
//! `socketwire::engineio::ServerSession`. One `EngineIo` serves one path; each
//! session gets its own `App` (an echo for `/engine.io/`, Socket.IO for
//! `/socket.io/`).
//!
//! Locking: the sid → session map is a lock-free `papaya::HashMap` (reads take
//! no lock; inserts and removals are lock-free too). Each session sits behind
//! its own `Mutex`, taken only by that session's requests, WebSocket and timer
//! task. No lock is shared by all sessions, so sessions never wait on each
//! other. Each session has its own timer task, woken through its `Notify` when
//! its deadline moves earlier, when it closes, or when another session delivers
//! something to its app (see socketio.rs).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Incoming;
use socketwire::engineio::{
    ApiMisuse, Error, MessageData, Method, Reply, RequestInfo, Response, Route, ServerConfig,
    ServerSession, SessionEvent, WebSocketId, WebSocketOpen, WebSocketOutput,
};
use socketwire::ws::{Config, Connection, Event, Limits};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::websocket::{self, Drive, Outgoing, OutputGauge, Source, Upgrading};
use crate::{Reply as HttpReply, Shared, reply};

/// The WebSocket limits of an Engine.IO endpoint, derived from its `max_payload`
/// (the reference server's `maxPayload`): the session refuses a message over
/// `max_payload`, so no frame or message may be larger, and the WebSocket layer
/// refuses one on its frame header, before buffering or inflating anything.
pub fn websocket_limits(config: &ServerConfig) -> Limits {
    let max = u64::try_from(config.max_payload).unwrap_or(u64::MAX);
    Limits {
        max_frame_size: max,
        max_message_size: max,
        ..Limits::default()
    }
}

/// The WebSocket configuration of an Engine.IO endpoint: [`websocket_limits`];
/// no WebSocket keepalive or idle timeout (Engine.IO's own heartbeat closes a
/// silent session, and its socket with it).
fn websocket_config(config: &ServerConfig) -> Config {
    Config {
        limits: websocket_limits(config),
        ..Config::default()
    }
}

/// What the server does with one Engine.IO session.
pub trait App: Send + 'static {
    /// An event of the session; reply through `session`.
    fn on_event(&mut self, session: &mut ServerSession, event: SessionEvent, now: Duration);
    /// The app's own next deadline.
    fn poll_timeout(&self) -> Option<Duration> {
        None
    }
    /// The session's timer task woke (a deadline, or a `wake` from elsewhere).
    fn handle_timeout(&mut self, _session: &mut ServerSession, _now: Duration) {}
}

/// Makes the app of a new session; `wake` wakes that session's timer task,
/// which then calls [`App::handle_timeout`].
pub type NewApp =
    dyn Fn(&ServerSession, Arc<Notify>, Arc<OutputGauge>, Duration) -> Box<dyn App> + Send + Sync;

/// Echoes every message, text or binary.
pub struct Echo;

impl App for Echo {
    fn on_event(&mut self, session: &mut ServerSession, event: SessionEvent, now: Duration) {
        if let SessionEvent::Message(data) = event {
            let sent = match data {
                MessageData::Text(t) => session.send_text(&t),
                MessageData::Binary(b) => session.send_binary(b),
            };
            if sent == Err(ApiMisuse::BufferFull) {
                // The peer sends faster than it takes its echoes (past
                // `max_buffered_packets` / `max_buffered_bytes`): close it
                // rather than drop an echo silently.
                session.close(now);
            }
        }
    }
}

/// One session's state, behind that session's own lock.
struct State {
    session: ServerSession,
    app: Box<dyn App>,
    /// The parked GET, if any.
    waiting_get: Option<oneshot::Sender<Response>>,
    /// The session's current WebSocket (the probing one during an upgrade):
    /// its id and its writer, a channel bounded by `max_buffered_packets`.
    socket: Option<(WebSocketId, mpsc::Sender<Outgoing>)>,
    /// The bytes in the writer's channel and its connection's output.
    gauge: Arc<OutputGauge>,
    /// The deadline the timer task sleeps until.
    armed: Option<Duration>,
}

impl State {
    /// Drains every output of the session (and what the app does in reaction).
    fn dispatch(&mut self, now: Duration) {
        loop {
            let mut progressed = false;
            // The parked GET first: a session that closes may still have a last
            // response (e.g. the close packet) for it.
            while let Some(response) = self.session.poll_long_poll() {
                progressed = true;
                if let Some(tx) = self.waiting_get.take() {
                    let _ = tx.send(response);
                }
            }
            while let Some(event) = self.session.poll_event() {
                progressed = true;
                if let SessionEvent::Closed(_) = &event {
                    self.waiting_get = None;
                    if let Some((_, tx)) = self.socket.take() {
                        let _ = tx.try_send(Outgoing::Close);
                    }
                }
                self.app.on_event(&mut self.session, event, now);
            }
            while let Some(output) = self.session.poll_websocket() {
                progressed = true;
                let close = output == WebSocketOutput::Close;
                let sent = self.socket.as_ref().map(|(_, tx)| {
                    let message = match output {
                        WebSocketOutput::Text(t) => Outgoing::Text(Bytes::from(t)),
                        WebSocketOutput::SharedText(b) => Outgoing::Text(b),
                        WebSocketOutput::Binary(b) => Outgoing::Binary(b),
                        WebSocketOutput::Close => Outgoing::Close,
                    };
                    // Counted before it is sent, so the writer never takes
                    // off the gauge what is not on it yet.
                    let len = message.len();
                    self.gauge.add(len);
                    let sent = tx.try_send(message);
                    if sent.is_err() {
                        self.gauge.sub(len);
                    }
                    sent
                });
                // Only a full channel means a peer that does not read; a closed
                // one is a socket already gone, and its close event follows. A
                // close that does not fit needs nothing: the writer is dropped.
                let full = !close && matches!(sent, Some(Err(mpsc::error::TrySendError::Full(_))));
                if close || full {
                    // That socket is done (e.g. an aborted probe); a later one
                    // gets its own writer. Dropping the writer ends the socket.
                    self.socket = None;
                }
                if full {
                    // The peer does not read what it is sent: the writer's
                    // channel is full, so the session is closed rather than
                    // buffering more (its socket closes once the channel drains).
                    self.session.close(now);
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn deadline(&self) -> Option<Duration> {
        [self.session.poll_timeout(), self.app.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
}

/// One session: its lock and its timer task's wake-up.
struct Session {
    sid: String,
    state: Mutex<State>,
    wake: Arc<Notify>,
    /// The same gauge as the state's, for the session's WebSocket writers.
    gauge: Arc<OutputGauge>,
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("engine.io session state")
    }
}

/// An Engine.IO endpoint.
pub struct EngineIo {
    config: ServerConfig,
    sessions: papaya::HashMap<String, Arc<Session>>,
    new_app: Box<NewApp>,
    start: Instant,
}

enum Answer {
    Now(Response),
    Wait(Arc<Session>, oneshot::Receiver<Response>),
}

impl EngineIo {
    pub fn new(config: ServerConfig, new_app: Box<NewApp>) -> Arc<Self> {
        Arc::new(EngineIo {
            config,
            sessions: papaya::HashMap::new(),
            new_app,
            start: Instant::now(),
        })
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn lookup(&self, sid: &str) -> Option<Arc<Session>> {
        self.sessions.pin().get(sid).cloned()
    }

    /// Registers a new session (with its WebSocket writer, for a WebSocket
    /// handshake), starts its timer task and hands out its first outputs.
    fn insert(
        self: &Arc<Self>,
        session: ServerSession,
        socket: Option<mpsc::Sender<Outgoing>>,
    ) -> Arc<Session> {
        let socket = socket.and_then(|tx| Some((session.websocket()?, tx)));
        let wake = Arc::new(Notify::new());
        let gauge = Arc::new(OutputGauge::default());
        let app = (self.new_app)(&session, wake.clone(), gauge.clone(), self.now());
        let handle = Arc::new(Session {
            sid: session.sid().to_string(),
            state: Mutex::new(State {
                session,
                app,
                waiting_get: None,
                socket,
                gauge: gauge.clone(),
                armed: None,
            }),
            wake,
            gauge,
        });
        self.sessions
            .pin()
            .insert(handle.sid.clone(), handle.clone());
        tokio::spawn(self.clone().run_timer(handle.clone()));
        self.with(&handle, |_, _| ());
        handle
    }

    /// Runs `f` on one session under its lock, then dispatches its outputs,
    /// re-arms its timer and drops it from the map once it is closed.
    fn with<R>(&self, handle: &Session, f: impl FnOnce(&mut State, Duration) -> R) -> R {
        let now = self.now();
        let mut state = handle.lock();
        let r = f(&mut state, now);
        state.dispatch(now);
        let closed = state.session.is_closed();
        let rearm = state.deadline() != state.armed;
        drop(state);
        if closed {
            self.sessions.pin().remove(&handle.sid);
        }
        if closed || rearm {
            handle.wake.notify_one();
        }
        r
    }

    /// The session's timers: sleeps until its deadline or a wake-up, then
    /// fires what is due; ends with the session.
    async fn run_timer(self: Arc<Self>, handle: Arc<Session>) {
        loop {
            let deadline = {
                let mut state = handle.lock();
                if state.session.is_closed() {
                    return;
                }
                state.armed = state.deadline();
                state.armed
            };
            match deadline {
                Some(d) => {
                    let at = tokio::time::Instant::from_std(self.start + d);
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = handle.wake.notified() => {}
                    }
                }
                None => handle.wake.notified().await,
            }
            self.with(&handle, |state, now| {
                let State { session, app, .. } = state;
                session.handle_timeout(now);
                app.handle_timeout(session, now);
            });
        }
    }

    /// Serves one request on the Engine.IO path (polling, or a WebSocket upgrade).
    /// An `Err` drops the connection without an answer (the session the long
    /// poll waited on closed).
    pub async fn handle(
        self: &Arc<Self>,
        mut request: http::Request<Incoming>,
        shared: &Arc<Shared>,
    ) -> std::io::Result<HttpReply> {
        let query = request.uri().query().unwrap_or("").to_string();
        if socketwire_tokio::is_upgrade_request(&request) {
            return Ok(self.websocket(&mut request, &query, shared));
        }
        let limit = crate::body_limit(&request.uri().to_string(), &shared.options);
        let (parts, body) = match crate::read_body(request, limit, &shared.options).await {
            Ok(read) => read,
            Err(refused) => return Ok(refused),
        };
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let info = RequestInfo {
            method: Method::from_name(parts.method.as_str()),
            query: &query,
            content_type: content_type.as_deref(),
            body: &body,
        };
        let answer = match Route::request(&self.config, &query) {
            Err(error) => Answer::Now(Response::error(&error)),
            Ok(Route::Handshake) => {
                let opened = self
                    .config
                    .check_session_count(self.sessions.len())
                    .and_then(|()| {
                        ServerSession::open_polling(&self.config, &info, self.now(), random_id)
                    });
                match opened {
                    Ok((session, response)) => {
                        self.insert(session, None);
                        Answer::Now(response)
                    }
                    Err(error) => Answer::Now(Response::error(&error)),
                }
            }
            Ok(Route::Session(sid)) => match self.lookup(sid) {
                None => Answer::Now(Response::error(&Error::UnknownSid)),
                Some(handle) => self.with(&handle, |state, now| {
                    match state.session.handle_request(&info, now) {
                        Reply::Respond(response) => Answer::Now(response),
                        Reply::Wait => {
                            // Registered before `with` dispatches, so no response is missed.
                            let (tx, rx) = oneshot::channel();
                            state.waiting_get = Some(tx);
                            Answer::Wait(handle.clone(), rx)
                        }
                    }
                }),
            },
        };
        let response = match answer {
            Answer::Now(response) => response,
            Answer::Wait(handle, rx) => {
                // hyper drops this future when the client goes away while it
                // waits: the guard then tells the session the poll was aborted.
                let mut aborted = PollAborted {
                    engine: self,
                    handle: Some(handle),
                };
                let response = rx.await;
                aborted.handle = None;
                response.map_err(|_| std::io::Error::from(std::io::ErrorKind::ConnectionAborted))?
            }
        };
        let content_type = if response.content_type.is_empty() {
            "text/plain"
        } else {
            response.content_type
        };
        Ok(reply(response.status, content_type, response.body, false))
    }

    /// Opens a WebSocket-only session, or attaches the WebSocket to the
    /// polling session it names (the upgrade probe). `Ok(None)`: the session
    /// already has its WebSocket; accept this one, then close it.
    fn open_websocket(
        self: &Arc<Self>,
        query: &str,
        socket: mpsc::Sender<Outgoing>,
    ) -> Result<Option<(Arc<Session>, WebSocketId)>, Error> {
        match Route::websocket(&self.config, query)? {
            Route::Handshake => {
                // The cap is checked before the insert, so concurrent
                // handshakes may pass it by their number (never by more).
                self.config.check_session_count(self.sessions.len())?;
                let session =
                    ServerSession::open_websocket(&self.config, query, self.now(), random_id)?;
                let ws = session.websocket().ok_or(Error::BadRequest)?;
                Ok(Some((self.insert(session, Some(socket)), ws)))
            }
            Route::Session(sid) => {
                let handle = self.lookup(sid).ok_or(Error::UnknownSid)?;
                let ws = self.with(&handle, |state, now| {
                    match state.session.handle_websocket_open(query, now)? {
                        WebSocketOpen::Attach(ws) => {
                            state.socket = Some((ws, socket));
                            Ok(Some(ws))
                        }
                        // The session keeps its socket and writer.
                        _ => Ok::<_, Error>(None),
                    }
                })?;
                Ok(ws.map(|ws| (handle, ws)))
            }
        }
    }

    /// WebSocket `ws` of the session ended; a stale socket's end changes nothing.
    fn websocket_closed(&self, handle: &Session, ws: WebSocketId) {
        self.with(handle, |state, _| {
            if state.socket.as_ref().is_some_and(|(id, _)| *id == ws) {
                state.socket = None;
            }
            state.session.handle_websocket_closed(ws);
        });
    }

    /// A WebSocket on the Engine.IO path: the `101` (or the refusal); the
    /// socket runs on a task of its own.
    fn websocket(
        self: &Arc<Self>,
        request: &mut http::Request<Incoming>,
        query: &str,
        shared: &Arc<Shared>,
    ) -> HttpReply {
        // Bounded like the session's own queue: when the peer stops reading
        // and the channel fills, `State::dispatch` closes the session.
        let (tx, rx) = mpsc::channel(self.config.max_buffered_packets.max(1));
        let config = websocket_config(&self.config);
        let opened = match self.open_websocket(query, tx) {
            Ok(opened) => opened,
            Err(error) => {
                let response = Response::upgrade_error(&error);
                return reply(response.status, response.content_type, response.body, false);
            }
        };
        let (response, mut ws) = match websocket::accept(request, shared, config) {
            Ok(accepted) => accepted,
            Err(refused) => {
                if let Some((handle, ws_id)) = opened {
                    self.websocket_closed(&handle, ws_id);
                }
                return *refused;
            }
        };
        let upgrading = Upgrading::new(request);
        let engine = self.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let upgraded = upgrading.upgraded(&mut ws).await;
            let result = match (upgraded, opened) {
                (Some((mut stream, _held)), Some((handle, ws_id))) => {
                    engine
                        .run_websocket(&mut stream, ws, &handle, ws_id, rx, &shared)
                        .await
                }
                (Some((mut stream, _held)), None) => close_at_once(&mut stream, ws, &shared).await,
                (None, Some((handle, ws_id))) => {
                    engine.websocket_closed(&handle, ws_id);
                    Ok(())
                }
                (None, None) => Ok(()),
            };
            crate::log_error(result);
        });
        response
    }

    async fn run_websocket(
        &self,
        stream: &mut TcpStream,
        mut ws: Connection,
        handle: &Arc<Session>,
        ws_id: WebSocketId,
        mut rx: mpsc::Receiver<Outgoing>,
        shared: &Shared,
    ) -> std::io::Result<()> {
        let on_event = |_: &mut Connection, event: Event| match event {
            Event::Text(t) => self.with(handle, |state, now| {
                let text = std::str::from_utf8(&t).unwrap_or("");
                let _ = state.session.handle_websocket_text(ws_id, text, now);
            }),
            Event::Binary(b) => self.with(handle, |state, now| {
                let _ = state.session.handle_websocket_binary(ws_id, b, now);
            }),
            Event::Closed { .. } => self.websocket_closed(handle, ws_id),
            _ => {}
        };
        let drive = Drive {
            stream,
            write_timeout: shared.options.write_timeout(),
            max_backpressure: shared.options.max_backpressure,
            gauge: handle.gauge.clone(),
        };
        let result = drive.run(&mut ws, on_event, Source::Channel(&mut rx)).await;
        self.websocket_closed(handle, ws_id);
        // The writer is gone (dropped by `websocket_closed` at the latest):
        // what is left in its channel leaves the gauge.
        rx.close();
        while let Ok(message) = rx.try_recv() {
            handle.gauge.sub(message.len());
        }
        result
    }
}

/// Tells a session that the long poll waiting on it was given up (the client
/// went away and hyper dropped the request), unless disarmed.
struct PollAborted<'a> {
    engine: &'a EngineIo,
    handle: Option<Arc<Session>>,
}

impl Drop for PollAborted<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.engine.with(&handle, |state, _| {
                state.waiting_get = None;
                state.session.handle_poll_aborted();
            });
        }
    }
}

/// Runs the accepted WebSocket only to close it at once (normal closure)
/// without an Engine.IO packet on it: the reference server's answer to a
/// second WebSocket for a session.
async fn close_at_once(
    stream: &mut TcpStream,
    mut ws: Connection,
    shared: &Shared,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::channel(1);
    let _ = tx.try_send(Outgoing::Close);
    let drive = Drive {
        stream,
        write_timeout: shared.options.write_timeout(),
        max_backpressure: shared.options.max_backpressure,
        gauge: Arc::default(),
    };
    drive
        .run(&mut ws, |_, _| {}, Source::Channel(&mut rx))
        .await
}

/// A fresh identifier that grants access (an Engine.IO sid, a Socket.IO
/// socket id): 128 bits from the operating system's CSPRNG, as 32 hex digits.
/// Never derived from another id, so knowing one reveals nothing about another.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("operating system random source failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo session opened on a WebSocket whose writer is `tx`.
    fn echo_state(
        config: &ServerConfig,
        tx: mpsc::Sender<Outgoing>,
        gauge: Arc<OutputGauge>,
    ) -> State {
        let session = ServerSession::open_websocket(
            config,
            "EIO=4&transport=websocket",
            Duration::ZERO,
            random_id,
        )
        .unwrap();
        State {
            socket: Some((session.websocket().unwrap(), tx)),
            session,
            app: Box::new(Echo),
            waiting_get: None,
            gauge,
            armed: None,
        }
    }

    /// A WebSocket whose peer never reads: the writer's channel is bounded,
    /// and once it is full the session is closed instead of buffering more.
    /// Bound: the channel never holds more than its capacity.
    #[test]
    fn full_websocket_channel_closes_the_session() {
        let config = ServerConfig {
            max_buffered_packets: 4,
            ..ServerConfig::default()
        };
        let (tx, rx) = mpsc::channel(config.max_buffered_packets);
        let mut state = echo_state(&config, tx, Arc::default());
        for _ in 0..10_000 {
            let _ = state.session.send_text("flood");
            state.dispatch(Duration::ZERO);
            if state.session.is_closed() {
                break;
            }
        }
        assert!(state.session.is_closed());
        assert!(state.socket.is_none(), "the writer is dropped");
        assert!(rx.len() <= config.max_buffered_packets);
    }

    /// The gauge counts what waits in the writer's channel, exactly: added
    /// as `dispatch` sends, taken off as the writer receives.
    #[test]
    fn gauge_counts_the_writer_channel() {
        let config = ServerConfig::default();
        let (tx, mut rx) = mpsc::channel(8);
        let gauge = Arc::new(OutputGauge::default());
        let mut state = echo_state(&config, tx, gauge.clone());
        state.dispatch(Duration::ZERO);
        let open = gauge.get();
        assert!(open > 0, "the open packet");
        state.session.send_text("hello").unwrap();
        state.dispatch(Duration::ZERO);
        assert_eq!(gauge.get(), open + "4hello".len());
        while let Ok(message) = rx.try_recv() {
            gauge.sub(message.len());
        }
        assert_eq!(gauge.get(), 0);
    }

    /// The WebSocket limits follow `max_payload`: a frame or message one byte
    /// over it is refused by the WebSocket layer, on its header.
    #[test]
    fn websocket_limits_follow_max_payload() {
        for max_payload in [1, 1000, 1_000_000] {
            let config = ServerConfig {
                max_payload,
                ..ServerConfig::default()
            };
            let limits = websocket_limits(&config);
            assert_eq!(limits.max_frame_size, max_payload as u64);
            assert_eq!(limits.max_message_size, max_payload as u64);
            assert_eq!(websocket_config(&config).limits, limits);
        }
    }

    /// Ids carry 128 random bits: 32 hex digits, never repeated, with no
    /// counter in clear (two consecutive ids share no suffix).
    #[test]
    fn ids_are_128_random_bits() {
        let ids: Vec<String> = (0..1000).map(|_| random_id()).collect();
        assert!(
            ids.iter()
                .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        let same_tail = ids.windows(2).filter(|w| w[0][28..] == w[1][28..]).count();
        assert!(
            same_tail < 5,
            "{same_tail} consecutive ids share their last 16 bits"
        );
    }
}
