//! Request routing and the single-threaded registry: [`Route`] tells a
//! handshake from a request for a session; [`Server`] keeps every
//! [`ServerSession`] by sid and merges their outputs.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use core::time::Duration;

use bytes::Bytes;

use super::error::{ApiMisuse, Error};
use super::http::{Reply, RequestInfo, Response, query_param};
use super::message::{CloseReason, MessageData};
use super::packet::{EngineIoVersion, FramedMessage};
use super::session::{
    ServerConfig, ServerSession, SessionEvent, Transport, WebSocketId, WebSocketOpen,
    WebSocketOutput,
};

/// Where a request on the Engine.IO path goes: the first routing step, shared
/// by [`Server`] and by glues that keep their own concurrent sid map.
///
/// ```
/// use socketwire::engineio::{Error, Route, ServerConfig};
/// let config = ServerConfig::default();
/// assert_eq!(Route::request(&config, "EIO=4&transport=polling"), Ok(Route::Handshake));
/// assert_eq!(Route::request(&config, "EIO=4&transport=polling&sid=a"), Ok(Route::Session("a")));
/// assert_eq!(Route::request(&config, "EIO=4&transport=carrier-pigeon"), Err(Error::UnknownTransport));
/// assert_eq!(Route::websocket(&config, "EIO=4&transport=polling"), Err(Error::BadRequest));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Route<'q> {
    /// No `sid`: a new session ([`ServerSession::open_polling`] or
    /// [`ServerSession::open_websocket`]).
    Handshake,
    /// The request names this session: look it up (answer
    /// [`Error::UnknownSid`] if it does not exist) and hand the request to it.
    Session(&'q str),
}

impl<'q> Route<'q> {
    /// Routes an HTTP request (polling) by its query string.
    ///
    /// ```
    /// use socketwire::engineio::{Route, ServerConfig};
    /// assert_eq!(Route::request(&ServerConfig::default(), "transport=polling&sid=x"), Ok(Route::Session("x")));
    /// ```
    pub fn request(config: &ServerConfig, query: &'q str) -> Result<Route<'q>, Error> {
        config.check_transport(query_param(query, "transport"))?;
        Ok(Route::by_sid(query))
    }

    /// Routes a WebSocket upgrade request by its query string: its transport
    /// must be `websocket`.
    ///
    /// ```
    /// use socketwire::engineio::{Route, ServerConfig};
    /// assert_eq!(Route::websocket(&ServerConfig::default(), "EIO=4&transport=websocket"), Ok(Route::Handshake));
    /// ```
    pub fn websocket(config: &ServerConfig, query: &'q str) -> Result<Route<'q>, Error> {
        if config.check_transport(query_param(query, "transport"))? != Transport::WebSocket {
            return Err(Error::BadRequest);
        }
        Ok(Route::by_sid(query))
    }

    fn by_sid(query: &'q str) -> Route<'q> {
        match query_param(query, "sid") {
            Some(sid) => Route::Session(sid),
            None => Route::Handshake,
        }
    }
}

/// What happened, for the application: a [`SessionEvent`] with its sid, or a
/// new session.
///
/// ```
/// use socketwire::engineio::{EngineIoVersion, ServerEvent};
/// let e = ServerEvent::Open { sid: "ZmTr8qX2vN5kL0bW7pYc3A".into(), version: EngineIoVersion::V4 };
/// assert_eq!(e.sid(), "ZmTr8qX2vN5kL0bW7pYc3A");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A new session.
    Open {
        /// Its id.
        sid: String,
        /// Its protocol version.
        version: EngineIoVersion,
    },
    /// A message from the client.
    Message {
        /// The session.
        sid: String,
        /// The data.
        data: MessageData,
    },
    /// The session moved from polling to WebSocket.
    Upgraded {
        /// The session.
        sid: String,
    },
    /// The session is gone.
    Closed {
        /// The session.
        sid: String,
        /// Why.
        reason: CloseReason,
    },
}

impl ServerEvent {
    /// The session the event is about.
    ///
    /// ```
    /// use socketwire::engineio::ServerEvent;
    /// assert_eq!(ServerEvent::Upgraded { sid: "u".into() }.sid(), "u");
    /// ```
    pub fn sid(&self) -> &str {
        match self {
            ServerEvent::Open { sid, .. }
            | ServerEvent::Message { sid, .. }
            | ServerEvent::Upgraded { sid }
            | ServerEvent::Closed { sid, .. } => sid,
        }
    }

    fn of_session(sid: String, event: SessionEvent) -> ServerEvent {
        match event {
            SessionEvent::Message(data) => ServerEvent::Message { sid, data },
            SessionEvent::Upgraded => ServerEvent::Upgraded { sid },
            SessionEvent::Closed(reason) => ServerEvent::Closed { sid, reason },
        }
    }
}

/// A session in the registry, with its place in the registry's queues.
#[derive(Debug)]
struct Entry {
    session: ServerSession,
    /// The sid is in `Server::ready` (its parked GET has a response).
    ready_marked: bool,
    /// The deadline under which the sid is in `Server::timers`.
    indexed_deadline: Option<Duration>,
}

/// Every server session in one place, keyed by sid, with no I/O: a
/// single-threaded registry over [`ServerSession`]. It routes each input to
/// its session and merges the sessions' outputs into sid-tagged queues; the
/// protocol itself lives in [`ServerSession`]. (A multi-threaded glue keeps
/// its own concurrent map of sessions instead; see the example server.)
///
/// # Driving it
///
/// * **Input** — [`Server::handle_request`] for every HTTP request on the
///   Engine.IO path; [`Server::handle_websocket_open`] when a WebSocket upgrade
///   request arrives (before accepting it; it returns the sid and the socket's
///   [`WebSocketId`]), then [`Server::handle_websocket_text`] /
///   [`Server::handle_websocket_binary`] for each message and
///   [`Server::handle_websocket_closed`] when it ends, each with that id;
///   [`Server::handle_poll_aborted`] when a waiting GET's connection drops;
///   [`Server::handle_timeout`] when [`Server::poll_timeout`] expires.
/// * **Commands** — [`Server::send_text`], [`Server::send_binary`], [`Server::close`].
/// * **Output** — after every input or command, drain [`Server::poll_event`]
///   (application events), [`Server::poll_long_poll`] (responses for GETs that
///   were told to [`Reply::Wait`]) and [`Server::poll_websocket`] (messages to
///   write on WebSockets), then re-arm the timer from [`Server::poll_timeout`].
///
/// Every input and command that takes `now` first fires the deadlines at or
/// before `now` ([`Server::handle_timeout`]), so its outcome does not depend
/// on whether the caller's timer ran first.
///
/// Time is a [`Duration`] since an origin the caller picks; session ids come
/// from the caller's generator, which must be a CSPRNG giving at least 120
/// bits per sid (see [Session ids](ServerSession#session-ids)).
///
/// ```
/// use bytes::Bytes;
/// use core::time::Duration;
/// use socketwire::engineio::{Method, Reply, RequestInfo, Server, ServerConfig, ServerEvent};
///
/// let mut server = Server::new(ServerConfig::default());
/// let empty = Bytes::new();
/// let get = |query| RequestInfo { method: Method::Get, query, content_type: None, body: &empty };
/// let now = Duration::ZERO;
///
/// // Handshake: the open packet comes back at once.
/// let Reply::Respond(open) = server.handle_request(&get("EIO=4&transport=polling"), now, || "ZmTr8qX2vN5kL0bW7pYc3A".into())
/// else { unreachable!() };
/// assert!(open.body.starts_with(b"0{\"sid\":\"ZmTr8qX2vN5kL0bW7pYc3A\""));
/// assert!(matches!(server.poll_event(), Some(ServerEvent::Open { .. })));
///
/// // A long poll with nothing queued waits…
/// let reply = server.handle_request(&get("EIO=4&transport=polling&sid=ZmTr8qX2vN5kL0bW7pYc3A"), now, || unreachable!());
/// assert_eq!(reply, Reply::Wait);
/// // …until the application sends something.
/// server.send_text("ZmTr8qX2vN5kL0bW7pYc3A", "hello").unwrap();
/// let (sid, response) = server.poll_long_poll().unwrap();
/// assert_eq!((sid.as_str(), &response.body[..]), ("ZmTr8qX2vN5kL0bW7pYc3A", &b"4hello"[..]));
///
/// // The client posts a message.
/// let body = Bytes::from_static(b"4hi");
/// let post = RequestInfo { method: Method::Post, query: "EIO=4&transport=polling&sid=ZmTr8qX2vN5kL0bW7pYc3A", content_type: None, body: &body };
/// let Reply::Respond(ok) = server.handle_request(&post, now, || unreachable!()) else { unreachable!() };
/// assert_eq!(&ok.body[..], b"ok");
/// assert!(matches!(server.poll_event(), Some(ServerEvent::Message { .. })));
///
/// // Heartbeat: the server pings after pingInterval.
/// let t = server.poll_timeout().unwrap();
/// server.handle_timeout(t);
/// let reply = server.handle_request(&get("EIO=4&transport=polling&sid=ZmTr8qX2vN5kL0bW7pYc3A"), t, || unreachable!());
/// let Reply::Respond(ping) = reply else { unreachable!() };
/// assert_eq!(&ping.body[..], b"2");
/// ```
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    sessions: BTreeMap<String, Entry>,
    timers: BTreeSet<(Duration, String)>,
    events: VecDeque<ServerEvent>,
    /// Sids whose parked GET has a response.
    ready: VecDeque<String>,
    /// Last responses of sessions already removed.
    finished_polls: VecDeque<(String, Response)>,
    websocket_out: VecDeque<(String, WebSocketOutput)>,
}

impl Server {
    /// A server with no sessions.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// let server = Server::new(ServerConfig::default());
    /// assert_eq!(server.session_count(), 0);
    /// ```
    pub fn new(config: ServerConfig) -> Server {
        Server {
            config,
            sessions: BTreeMap::new(),
            timers: BTreeSet::new(),
            events: VecDeque::new(),
            ready: VecDeque::new(),
            finished_polls: VecDeque::new(),
            websocket_out: VecDeque::new(),
        }
    }

    /// The configuration.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert!(!Server::new(ServerConfig::default()).config().allow_eio3);
    /// ```
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// How many sessions are open.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert_eq!(Server::new(ServerConfig::default()).session_count(), 0);
    /// ```
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// A session, for reading its state.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert!(Server::new(ServerConfig::default()).session("x").is_none());
    /// ```
    pub fn session(&self, sid: &str) -> Option<&ServerSession> {
        self.sessions.get(sid).map(|entry| &entry.session)
    }

    /// The protocol version of a session, if it exists.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert_eq!(Server::new(ServerConfig::default()).session_version("x"), None);
    /// ```
    pub fn session_version(&self, sid: &str) -> Option<EngineIoVersion> {
        self.session(sid).map(ServerSession::version)
    }

    /// Packets buffered for a session's next GET (for monitoring and tests).
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert_eq!(Server::new(ServerConfig::default()).buffered_packets("x"), 0);
    /// ```
    pub fn buffered_packets(&self, sid: &str) -> usize {
        self.session(sid).map_or(0, ServerSession::buffered_packets)
    }

    /// Adds a new session and reports it.
    fn insert(&mut self, session: ServerSession) -> Result<(), ApiMisuse> {
        let sid = String::from(session.sid());
        if self.sessions.contains_key(&sid) {
            return Err(ApiMisuse::SidInUse);
        }
        self.events.push_back(ServerEvent::Open {
            sid: sid.clone(),
            version: session.version(),
        });
        let entry = Entry {
            session,
            ready_marked: false,
            indexed_deadline: None,
        };
        self.sessions.insert(sid.clone(), entry);
        self.sync(&sid);
        Ok(())
    }

    /// Runs `f` on a session, then collects its outputs.
    fn with_session<R>(
        &mut self,
        sid: &str,
        f: impl FnOnce(&mut ServerSession) -> R,
    ) -> Result<R, ApiMisuse> {
        let entry = self.sessions.get_mut(sid).ok_or(ApiMisuse::UnknownSid)?;
        let result = f(&mut entry.session);
        self.sync(sid);
        Ok(result)
    }

    /// Moves a session's outputs into the registry's queues, re-files its
    /// deadline, and removes it once it is closed.
    fn sync(&mut self, sid: &str) {
        let Some(entry) = self.sessions.get_mut(sid) else {
            return;
        };
        let session = &mut entry.session;
        while let Some(event) = session.poll_event() {
            self.events
                .push_back(ServerEvent::of_session(String::from(sid), event));
        }
        while let Some(output) = session.poll_websocket() {
            self.websocket_out.push_back((String::from(sid), output));
        }
        let deadline = session.poll_timeout();
        if deadline != entry.indexed_deadline {
            if let Some(old) = entry.indexed_deadline {
                self.timers.remove(&(old, String::from(sid)));
            }
            if let Some(new) = deadline {
                self.timers.insert((new, String::from(sid)));
            }
            entry.indexed_deadline = deadline;
        }
        if session.is_closed() {
            while let Some(response) = session.poll_long_poll() {
                self.finished_polls.push_back((String::from(sid), response));
            }
            self.sessions.remove(sid);
            return;
        }
        if session.has_long_poll() && !entry.ready_marked {
            entry.ready_marked = true;
            self.ready.push_back(String::from(sid));
        }
    }

    /// Sends a text message to a session.
    ///
    /// ```
    /// use socketwire::engineio::{ApiMisuse, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// assert_eq!(server.send_text("nope", "hi"), Err(ApiMisuse::UnknownSid));
    /// ```
    pub fn send_text(&mut self, sid: &str, text: &str) -> Result<(), ApiMisuse> {
        self.with_session(sid, |session| session.send_text(text))?
    }

    /// Sends a text message encoded once for many sessions
    /// ([`ServerSession::send_framed`]).
    ///
    /// ```
    /// use socketwire::engineio::{ApiMisuse, FramedMessage, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// assert_eq!(server.send_framed("nope", &FramedMessage::new("hi")), Err(ApiMisuse::UnknownSid));
    /// ```
    pub fn send_framed(&mut self, sid: &str, message: &FramedMessage) -> Result<(), ApiMisuse> {
        self.with_session(sid, |session| session.send_framed(message))?
    }

    /// Sends a binary message to a session.
    ///
    /// ```
    /// use socketwire::engineio::{ApiMisuse, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// assert_eq!(server.send_binary("nope", bytes::Bytes::new()), Err(ApiMisuse::UnknownSid));
    /// ```
    pub fn send_binary(&mut self, sid: &str, data: Bytes) -> Result<(), ApiMisuse> {
        self.with_session(sid, |session| session.send_binary(data))?
    }

    /// Closes a session from the server side ([`ServerSession::close`]).
    ///
    /// ```
    /// use socketwire::engineio::{ApiMisuse, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// assert_eq!(server.close("nope", core::time::Duration::ZERO), Err(ApiMisuse::UnknownSid));
    /// ```
    pub fn close(&mut self, sid: &str, now: Duration) -> Result<(), ApiMisuse> {
        self.handle_timeout(now);
        self.with_session(sid, |session| session.close(now))
    }

    /// Handles one HTTP request on the Engine.IO path. `new_sid` is called once
    /// for a handshake and must return a fresh CSPRNG id of at least 120 bits,
    /// not in use (see [Session ids](ServerSession#session-ids)). Like every
    /// input taking `now`, it first fires the deadlines at or before `now`
    /// ([`Server::handle_timeout`]): a poll that comes after its session's
    /// heartbeat expired is `400` (unknown sid) whether or not the timer ran.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::engineio::{Method, Reply, RequestInfo, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// let body = Bytes::new();
    /// let req = RequestInfo { method: Method::Get, query: "EIO=3&transport=polling", content_type: None, body: &body };
    /// let Reply::Respond(r) = server.handle_request(&req, core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()) else { panic!() };
    /// assert_eq!(&r.body[..], br#"{"code":5,"message":"Unsupported protocol version"}"#);
    /// ```
    pub fn handle_request(
        &mut self,
        request: &RequestInfo<'_>,
        now: Duration,
        new_sid: impl FnOnce() -> String,
    ) -> Reply {
        self.handle_timeout(now);
        let result = match Route::request(&self.config, request.query) {
            Ok(Route::Handshake) => self
                .config
                .check_session_count(self.sessions.len())
                .and_then(|()| ServerSession::open_polling(&self.config, request, now, new_sid))
                .and_then(|(session, response)| {
                    self.insert(session)?;
                    Ok(Reply::Respond(response))
                }),
            Ok(Route::Session(sid)) => self
                .with_session(sid, |session| session.handle_request(request, now))
                .map_err(|_| Error::UnknownSid),
            Err(error) => Err(error),
        };
        result.unwrap_or_else(|error| Reply::Respond(Response::error(&error)))
    }

    /// Reports that a waiting GET's connection dropped
    /// ([`ServerSession::handle_poll_aborted`]); unknown sids are ignored.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// server.handle_poll_aborted("nope");
    /// ```
    pub fn handle_poll_aborted(&mut self, sid: &str) {
        let _ = self.with_session(sid, ServerSession::handle_poll_aborted);
    }

    /// Checks a WebSocket upgrade request (query string only) before the glue
    /// accepts it. Without `sid` it opens a WebSocket-only session (the open
    /// packet is queued on [`Server::poll_websocket`]) and returns
    /// [`WebSocketOpen::Attach`]; with a `sid` it is
    /// [`ServerSession::handle_websocket_open`] on that session (attach the
    /// probing socket, or accept the socket and close it at once). Returns the
    /// sid with the outcome; pass an attached socket's id with its messages and
    /// close (input from a socket that is no longer the session's current one
    /// is ignored). On `Err`, refuse the upgrade with [`Response::upgrade_error`].
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig, WebSocketOpen, WebSocketOutput};
    /// let mut server = Server::new(ServerConfig::default());
    /// let now = core::time::Duration::ZERO;
    /// let (sid, open) = server.handle_websocket_open("EIO=4&transport=websocket", now, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert!(matches!(open, WebSocketOpen::Attach(_)));
    /// let (_, packet) = server.poll_websocket().unwrap();
    /// assert!(matches!(packet, WebSocketOutput::Text(t) if t.starts_with("0{\"sid\":\"ZmTr8qX2vN5kL0bW7pYc3A\"")));
    /// assert_eq!(sid, "ZmTr8qX2vN5kL0bW7pYc3A");
    /// // A second socket for that session: accept it, then close it.
    /// let second = server.handle_websocket_open("EIO=4&transport=websocket&sid=ZmTr8qX2vN5kL0bW7pYc3A", now, || unreachable!());
    /// assert_eq!(second, Ok((sid, WebSocketOpen::AcceptThenClose)));
    /// ```
    pub fn handle_websocket_open(
        &mut self,
        query: &str,
        now: Duration,
        new_sid: impl FnOnce() -> String,
    ) -> Result<(String, WebSocketOpen), Error> {
        self.handle_timeout(now);
        match Route::websocket(&self.config, query)? {
            Route::Handshake => {
                self.config.check_session_count(self.sessions.len())?;
                let session = ServerSession::open_websocket(&self.config, query, now, new_sid)?;
                let sid = String::from(session.sid());
                let ws = session.websocket().ok_or(Error::BadRequest)?;
                self.insert(session)?;
                Ok((sid, WebSocketOpen::Attach(ws)))
            }
            Route::Session(sid) => {
                let open = self
                    .with_session(sid, |session| session.handle_websocket_open(query, now))
                    .map_err(|_| Error::UnknownSid)??;
                Ok((String::from(sid), open))
            }
        }
    }

    /// A text message arrived on the session's WebSocket
    /// ([`ServerSession::handle_websocket_text`]).
    ///
    /// ```
    /// use socketwire::engineio::{ApiMisuse, Error, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// let now = core::time::Duration::ZERO;
    /// # let (_, ws) = Server::new(ServerConfig::default()).handle_websocket_open("EIO=4&transport=websocket", now, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// # let ws = ws.id().unwrap();
    /// assert_eq!(server.handle_websocket_text("nope", ws, "4x", now), Err(Error::ApiMisuse(ApiMisuse::UnknownSid)));
    /// ```
    pub fn handle_websocket_text(
        &mut self,
        sid: &str,
        ws: WebSocketId,
        text: &str,
        now: Duration,
    ) -> Result<(), Error> {
        self.handle_timeout(now);
        self.with_session(sid, |session| session.handle_websocket_text(ws, text, now))?
    }

    /// A binary message arrived on the session's WebSocket
    /// ([`ServerSession::handle_websocket_binary`]).
    ///
    /// ```
    /// use socketwire::engineio::{ApiMisuse, Error, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// let now = core::time::Duration::ZERO;
    /// # let (_, ws) = Server::new(ServerConfig::default()).handle_websocket_open("EIO=4&transport=websocket", now, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// # let ws = ws.id().unwrap();
    /// assert_eq!(server.handle_websocket_binary("nope", ws, bytes::Bytes::new(), now), Err(Error::ApiMisuse(ApiMisuse::UnknownSid)));
    /// ```
    pub fn handle_websocket_binary(
        &mut self,
        sid: &str,
        ws: WebSocketId,
        data: Bytes,
        now: Duration,
    ) -> Result<(), Error> {
        self.handle_timeout(now);
        self.with_session(sid, |session| {
            session.handle_websocket_binary(ws, data, now)
        })?
    }

    /// WebSocket `ws` of a session closed
    /// ([`ServerSession::handle_websocket_closed`]); unknown sids and stale
    /// sockets are ignored.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// let (sid, open) = server.handle_websocket_open("EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let ws = open.id().unwrap();
    /// server.handle_websocket_closed("nope", ws);
    /// assert_eq!(server.session_count(), 1);
    /// server.handle_websocket_closed(&sid, ws);
    /// assert_eq!(server.session_count(), 0);
    /// ```
    pub fn handle_websocket_closed(&mut self, sid: &str, ws: WebSocketId) {
        let _ = self.with_session(sid, |session| session.handle_websocket_closed(ws));
    }

    /// Fires every deadline at or before `now`: v4 pings, heartbeat timeouts,
    /// upgrade timeouts, and the end of closing sessions.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// server.handle_timeout(core::time::Duration::from_secs(60));
    /// assert_eq!(server.poll_timeout(), None);
    /// ```
    pub fn handle_timeout(&mut self, now: Duration) {
        while self.poll_timeout().is_some_and(|deadline| deadline <= now) {
            let Some((deadline, sid)) = self.timers.first().cloned() else {
                break;
            };
            if self
                .with_session(&sid, |session| session.handle_timeout(now))
                .is_err()
            {
                // Never left behind by `sync`; dropped rather than fired forever.
                self.timers.remove(&(deadline, sid));
            }
        }
    }

    /// The earliest deadline of any session: call [`Server::handle_timeout`] then.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert_eq!(Server::new(ServerConfig::default()).poll_timeout(), None);
    /// ```
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.first().map(|(deadline, _)| *deadline)
    }

    /// The next application event.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert_eq!(Server::new(ServerConfig::default()).poll_event(), None);
    /// ```
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// The response for a GET that was told to [`Reply::Wait`], once it has one.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert_eq!(Server::new(ServerConfig::default()).poll_long_poll(), None);
    /// ```
    pub fn poll_long_poll(&mut self) -> Option<(String, Response)> {
        if let Some(done) = self.finished_polls.pop_front() {
            return Some(done);
        }
        while let Some(sid) = self.ready.pop_front() {
            let Some(entry) = self.sessions.get_mut(&sid) else {
                continue;
            };
            entry.ready_marked = false;
            if let Some(response) = entry.session.poll_long_poll() {
                return Some((sid, response));
            }
        }
        None
    }

    /// The next message (or close) to write on a session's WebSocket.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert_eq!(Server::new(ServerConfig::default()).poll_websocket(), None);
    /// ```
    pub fn poll_websocket(&mut self) -> Option<(String, WebSocketOutput)> {
        self.websocket_out.pop_front()
    }
}
