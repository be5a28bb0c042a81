//! The sans-IO Engine.IO server: a registry of sessions (one per sid) driven by
//! HTTP requests, WebSocket messages and timeouts.
//!
//! # Session states
//!
//! | state | entered by | leaves on |
//! |---|---|---|
//! | Polling | handshake GET | WebSocket open with the sid (→ Probing), close |
//! | Probing (`upgrade` = Opened) | WebSocket with the sid | `2probe` (→ Probed), other packet / WS close / timeout (→ Polling) |
//! | Probed | `2probe` answered with `3probe`; pending and new GETs get `6` | `5` (→ WebSocket), abort (→ Polling) |
//! | WebSocket | `5` on the probe, or a WebSocket handshake | close |
//! | Closing | [`Server::close`] on polling with no GET waiting | next GET (gets the buffer + `1`), or `ping_timeout` |
//!
//! Every other transition removes the session and reports
//! [`ServerEvent::Closed`].

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use super::Error;
use super::open::OpenPacket;
use super::packet::{MessageKind, OwnedPacket, Packet, PacketType, ProtocolVersion};
use super::payload::{
    JSONP_CONTENT_TYPE, PayloadDecoder, PayloadFormat, PayloadLimits, decode_jsonp_body,
    encode_jsonp_response, encode_payload,
};

/// Server settings (JS engine.io defaults).
///
/// ```
/// use socketwire::engineio::ServerConfig;
/// let config = ServerConfig { allow_eio3: true, ..ServerConfig::default() };
/// assert_eq!(config.ping_interval.as_millis(), 25_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// v4: how often the server pings; v3: how often the client should.
    pub ping_interval: Duration,
    /// How long to wait for the heartbeat answer.
    pub ping_timeout: Duration,
    /// How long a WebSocket upgrade may take after the WebSocket opened.
    pub upgrade_timeout: Duration,
    /// Largest HTTP body accepted (`maxHttpBufferSize`, announced as `maxPayload`).
    pub max_payload: usize,
    /// Most packets accepted in one POST body.
    pub max_packets_per_payload: usize,
    /// Most packets buffered for a session waiting for its next GET.
    pub max_buffered_packets: usize,
    /// Accept `EIO=3` clients (JS `allowEIO3`).
    pub allow_eio3: bool,
    /// Offer HTTP long-polling.
    pub polling: bool,
    /// Offer WebSocket (and upgrades to it).
    pub websocket: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_payload: 1_000_000,
            max_packets_per_payload: 64,
            max_buffered_packets: 1024,
            allow_eio3: false,
            polling: true,
            websocket: true,
        }
    }
}

/// The HTTP method of a request.
///
/// ```
/// use socketwire::engineio::Method;
/// assert_eq!(Method::from_name("POST"), Method::Post);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: handshake or long poll.
    Get,
    /// `POST`: packets from the client.
    Post,
    /// Anything else.
    Other,
}

impl Method {
    /// Maps a method name (case-sensitive, as HTTP/1.1 defines it).
    ///
    /// ```
    /// use socketwire::engineio::Method;
    /// assert_eq!(Method::from_name("PUT"), Method::Other);
    /// ```
    pub fn from_name(name: &str) -> Method {
        match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            _ => Method::Other,
        }
    }
}

/// What the server needs from one HTTP request. The glue reads the whole body
/// (refusing to read more than [`ServerConfig::max_payload`]).
///
/// ```
/// use socketwire::engineio::{Method, RequestInfo};
/// let body = bytes::Bytes::new();
/// let req = RequestInfo { method: Method::Get, query: "EIO=4&transport=polling", content_type: None, body: &body };
/// assert_eq!(req.query_param("EIO"), Some("4"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The method.
    pub method: Method,
    /// The raw query string (without `?`).
    pub query: &'a str,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The complete body.
    pub body: &'a Bytes,
}

impl RequestInfo<'_> {
    /// The raw value of a query parameter (first occurrence, not percent-decoded).
    ///
    /// ```
    /// use socketwire::engineio::{Method, RequestInfo};
    /// let body = bytes::Bytes::new();
    /// let req = RequestInfo { method: Method::Get, query: "b64&sid=x", content_type: None, body: &body };
    /// assert_eq!(req.query_param("b64"), Some(""));
    /// assert_eq!(req.query_param("j"), None);
    /// ```
    pub fn query_param(&self, name: &str) -> Option<&str> {
        query_param(self.query, name)
    }
}

fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((key, value)) if key == name => Some(value),
            None if pair == name => Some(""),
            _ => None,
        })
}

/// An HTTP response to write back.
///
/// ```
/// use socketwire::engineio::{Error, Response};
/// let r = Response::error(&Error::UnknownSid);
/// assert_eq!(r.status, 400);
/// assert_eq!(&r.body[..], br#"{"code":1,"message":"Session ID unknown"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` header value (empty for no body).
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// The reply for an error: `{"code":N,"message":…}` (`application/json`) for
    /// handshake errors, an empty body with [`Error::status`] otherwise.
    ///
    /// ```
    /// use socketwire::engineio::{Error, Response};
    /// assert_eq!(Response::error(&Error::PayloadTooLarge { len: 9, max: 1 }).status, 413);
    /// ```
    pub fn error(error: &Error) -> Response {
        match (error.handshake_code(), error.handshake_message()) {
            (Some(code), Some(message)) => {
                let mut body = BytesMut::with_capacity(48);
                body.put_slice(b"{\"code\":");
                body.put_u8(b'0' + code);
                body.put_slice(b",\"message\":");
                super::payload::write_json_string(message, &mut body);
                body.put_u8(b'}');
                Response {
                    status: error.status(),
                    content_type: "application/json",
                    body: body.freeze(),
                }
            }
            _ => Response {
                status: error.status(),
                content_type: "",
                body: Bytes::new(),
            },
        }
    }

    fn ok() -> Response {
        Response {
            status: 200,
            content_type: "text/html",
            body: Bytes::from_static(b"ok"),
        }
    }

    fn bare(status: u16) -> Response {
        Response {
            status,
            content_type: "",
            body: Bytes::new(),
        }
    }
}

/// What to do with an HTTP request.
///
/// ```
/// use socketwire::engineio::{Reply, Response};
/// let r = Reply::Wait { sid: "abc".into() };
/// assert!(matches!(r, Reply::Wait { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Answer now.
    Respond(Response),
    /// A long-poll GET with nothing to send: keep the request open until
    /// [`Server::poll_long_poll`] returns a response for this sid.
    Wait {
        /// The session the GET belongs to.
        sid: String,
    },
}

/// Message data from the client.
///
/// ```
/// use socketwire::engineio::MessageData;
/// assert_eq!(MessageData::Text("hi".into()), MessageData::Text(String::from("hi")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageData {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

/// Why a session closed (the reference server's reason strings in the docs).
///
/// ```
/// use socketwire::engineio::CloseReason;
/// assert_eq!(CloseReason::PingTimeout.as_str(), "ping timeout");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer sent `close` or the transport closed under us (`transport close`).
    TransportClose,
    /// The local side closed: [`Server::close`] or `ClientSession::close` (`forced close`).
    ForcedClose,
    /// No heartbeat in time (`ping timeout`).
    PingTimeout,
    /// The client sent an undecodable packet or payload (`parse error`).
    ParseError,
    /// A transport-level fault (`transport error`), with the detail.
    TransportError(&'static str),
}

impl CloseReason {
    /// The reference server's reason string.
    ///
    /// ```
    /// use socketwire::engineio::CloseReason;
    /// assert_eq!(CloseReason::TransportError("overlap from client").as_str(), "transport error");
    /// ```
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::ForcedClose => "forced close",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::TransportError(_) => "transport error",
        }
    }
}

/// What happened, for the application.
///
/// ```
/// use socketwire::engineio::{ProtocolVersion, ServerEvent};
/// let e = ServerEvent::Open { sid: "s".into(), version: ProtocolVersion::V4 };
/// assert_eq!(e.sid(), "s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A new session.
    Open {
        /// Its id.
        sid: String,
        /// Its protocol version.
        version: ProtocolVersion,
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
}

/// A WebSocket message (or close) for the glue to send on a session's socket.
///
/// ```
/// use socketwire::engineio::WebSocketOutput;
/// assert_eq!(WebSocketOutput::Text("3probe".into()), WebSocketOutput::Text(String::from("3probe")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebSocketOutput {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// Close the WebSocket (normal closure).
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Polling,
    WebSocket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    None,
    /// A WebSocket with this sid is open; waiting for `2probe`.
    Opened {
        deadline: Duration,
    },
    /// `3probe` sent; waiting for `5`.
    Probed {
        deadline: Duration,
    },
}

#[derive(Debug)]
struct Session {
    version: ProtocolVersion,
    transport: Transport,
    upgrade: Upgrade,
    /// `false` when the client sent `b64` on the active transport.
    supports_binary: bool,
    /// `b64` on the WebSocket being probed.
    probe_supports_binary: bool,
    /// JSONP index (`j`), when the polling transport is JSONP.
    jsonp: Option<String>,
    outbox: VecDeque<OwnedPacket>,
    get_waiting: bool,
    /// Marked in `Server::ready` (a waiting GET has data).
    ready_marked: bool,
    /// v4: when to send the next ping.
    next_ping: Option<Duration>,
    /// v4: pong expected before; v3: ping expected before.
    heartbeat_deadline: Option<Duration>,
    /// Server close requested on polling with no GET waiting.
    closing_deadline: Option<Duration>,
    /// The deadline under which this session is in `Server::timers`.
    indexed_deadline: Option<Duration>,
}

impl Session {
    fn next_deadline(&self) -> Option<Duration> {
        let upgrade = match self.upgrade {
            Upgrade::None => None,
            Upgrade::Opened { deadline } | Upgrade::Probed { deadline } => Some(deadline),
        };
        [
            self.next_ping,
            self.heartbeat_deadline,
            self.closing_deadline,
            upgrade,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn polling_format(&self) -> PayloadFormat {
        match self.version {
            ProtocolVersion::V4 => PayloadFormat::V4,
            ProtocolVersion::V3
                if self.supports_binary
                    && self.jsonp.is_none()
                    && self
                        .outbox
                        .iter()
                        .any(|p| matches!(p, OwnedPacket::Binary(_))) =>
            {
                PayloadFormat::V3Binary
            }
            ProtocolVersion::V3 => PayloadFormat::V3Text,
        }
    }

    /// Encodes `packets` as a polling response for this session.
    fn poll_response(&self, packets: &[Packet<'_>], format: PayloadFormat) -> Response {
        let mut body = BytesMut::new();
        encode_payload(packets, format, &mut body);
        match &self.jsonp {
            Some(index) => {
                let mut wrapped = BytesMut::with_capacity(body.len() + 16);
                // The payload is text (JSONP never uses the binary format).
                let text = core::str::from_utf8(&body).unwrap_or("");
                encode_jsonp_response(index, text, &mut wrapped);
                Response {
                    status: 200,
                    content_type: JSONP_CONTENT_TYPE,
                    body: wrapped.freeze(),
                }
            }
            None => Response {
                status: 200,
                content_type: format.content_type(),
                body: body.freeze(),
            },
        }
    }

    /// Drains the outbox into a polling response.
    fn drain_response(&mut self) -> Response {
        let format = self.polling_format();
        let owned: Vec<OwnedPacket> = self.outbox.drain(..).collect();
        let packets: Vec<Packet<'_>> = owned.iter().map(OwnedPacket::borrowed).collect();
        self.poll_response(&packets, format)
    }

    fn single_response(&self, packet: Packet<'_>) -> Response {
        let format = match self.version {
            ProtocolVersion::V4 => PayloadFormat::V4,
            ProtocolVersion::V3 => PayloadFormat::V3Text,
        };
        self.poll_response(&[packet], format)
    }
}

/// Encodes one packet as a WebSocket output.
fn websocket_output(
    packet: &Packet<'_>,
    version: ProtocolVersion,
    supports_binary: bool,
) -> WebSocketOutput {
    let mut out = BytesMut::new();
    match packet.encode_websocket(version, supports_binary, &mut out) {
        MessageKind::Binary => WebSocketOutput::Binary(out.freeze()),
        // Text encodings are built from `&str` and base64, so always UTF-8.
        MessageKind::Text => {
            WebSocketOutput::Text(String::from_utf8(out.to_vec()).unwrap_or_default())
        }
    }
}

/// The Engine.IO server: all sessions, keyed by sid, with no I/O.
///
/// # Driving it
///
/// * **Input** — [`Server::handle_request`] for every HTTP request on the
///   Engine.IO path; [`Server::handle_websocket_open`] when a WebSocket upgrade
///   request arrives (before accepting it), then
///   [`Server::handle_websocket_text`] / [`Server::handle_websocket_binary`] for
///   each message and [`Server::handle_websocket_closed`] when it ends;
///   [`Server::handle_poll_aborted`] when a waiting GET's connection drops;
///   [`Server::handle_timeout`] when [`Server::poll_timeout`] expires.
/// * **Commands** — [`Server::send_text`], [`Server::send_binary`], [`Server::close`].
/// * **Output** — after every input or command, drain [`Server::poll_event`]
///   (application events), [`Server::poll_long_poll`] (responses for GETs that
///   were told to [`Reply::Wait`]) and [`Server::poll_websocket`] (messages to
///   write on WebSockets), then re-arm the timer from [`Server::poll_timeout`].
///
/// Time is a [`Duration`] since an origin the caller picks; session ids come
/// from the caller's generator.
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
/// let Reply::Respond(open) = server.handle_request(&get("EIO=4&transport=polling"), now, || "s1".into())
/// else { unreachable!() };
/// assert!(open.body.starts_with(b"0{\"sid\":\"s1\""));
/// assert!(matches!(server.poll_event(), Some(ServerEvent::Open { .. })));
///
/// // A long poll with nothing queued waits…
/// let reply = server.handle_request(&get("EIO=4&transport=polling&sid=s1"), now, || unreachable!());
/// assert_eq!(reply, Reply::Wait { sid: "s1".into() });
/// // …until the application sends something.
/// server.send_text("s1", "hello").unwrap();
/// let (sid, response) = server.poll_long_poll().unwrap();
/// assert_eq!((sid.as_str(), &response.body[..]), ("s1", &b"4hello"[..]));
///
/// // The client posts a message.
/// let body = Bytes::from_static(b"4hi");
/// let post = RequestInfo { method: Method::Post, query: "EIO=4&transport=polling&sid=s1", content_type: None, body: &body };
/// let Reply::Respond(ok) = server.handle_request(&post, now, || unreachable!()) else { unreachable!() };
/// assert_eq!(&ok.body[..], b"ok");
/// assert!(matches!(server.poll_event(), Some(ServerEvent::Message { .. })));
///
/// // Heartbeat: the server pings after pingInterval.
/// let t = server.poll_timeout().unwrap();
/// server.handle_timeout(t);
/// let reply = server.handle_request(&get("EIO=4&transport=polling&sid=s1"), t, || unreachable!());
/// let Reply::Respond(ping) = reply else { unreachable!() };
/// assert_eq!(&ping.body[..], b"2");
/// ```
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    sessions: BTreeMap<String, Session>,
    timers: BTreeSet<(Duration, String)>,
    events: VecDeque<ServerEvent>,
    /// Sids whose waiting GET has data.
    ready: VecDeque<String>,
    /// Responses already built (final responses of closed sessions, noops).
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

    /// The protocol version of a session, if it exists.
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert_eq!(Server::new(ServerConfig::default()).session_version("x"), None);
    /// ```
    pub fn session_version(&self, sid: &str) -> Option<ProtocolVersion> {
        self.sessions.get(sid).map(|s| s.version)
    }

    fn limits(&self) -> PayloadLimits {
        PayloadLimits {
            max_payload: self.config.max_payload,
            max_packets: self.config.max_packets_per_payload,
        }
    }

    /// Re-files a session's next deadline in the timer index.
    fn reindex(&mut self, sid: &str) {
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        let next = session.next_deadline();
        if next == session.indexed_deadline {
            return;
        }
        if let Some(old) = session.indexed_deadline.take() {
            self.timers.remove(&(old, String::from(sid)));
        }
        if let Some(new) = next {
            self.timers.insert((new, String::from(sid)));
        }
        session.indexed_deadline = next;
    }

    fn remove(&mut self, sid: &str, reason: CloseReason) {
        if let Some(session) = self.sessions.remove(sid)
            && let Some(old) = session.indexed_deadline
        {
            self.timers.remove(&(old, String::from(sid)));
        }
        self.events.push_back(ServerEvent::Closed {
            sid: String::from(sid),
            reason,
        });
    }

    /// Closes a session: a waiting GET receives `final_packet` (`1`, or `6` when
    /// the client closed), a WebSocket is closed, and the session is removed.
    fn terminate(&mut self, sid: &str, reason: CloseReason, final_packet: PacketType) {
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        if session.get_waiting {
            session.get_waiting = false;
            let response = session.single_response(OwnedPacket::simple(final_packet).borrowed());
            self.finished_polls.push_back((String::from(sid), response));
        }
        if session.transport == Transport::WebSocket || session.upgrade != Upgrade::None {
            self.websocket_out
                .push_back((String::from(sid), WebSocketOutput::Close));
        }
        self.remove(sid, reason);
    }

    /// Queues a packet on a session's active transport.
    fn enqueue(&mut self, sid: &str, packet: OwnedPacket) -> Result<(), Error> {
        let Some(session) = self.sessions.get_mut(sid) else {
            return Err(Error::UnknownSid);
        };
        if session.closing_deadline.is_some() {
            return Err(Error::ApiMisuse("session is closing"));
        }
        if session.transport == Transport::WebSocket {
            let output =
                websocket_output(&packet.borrowed(), session.version, session.supports_binary);
            self.websocket_out.push_back((String::from(sid), output));
            return Ok(());
        }
        if session.outbox.len() >= self.config.max_buffered_packets {
            return Err(Error::BufferFull);
        }
        session.outbox.push_back(packet);
        let probed = matches!(session.upgrade, Upgrade::Probed { .. });
        if session.get_waiting && !session.ready_marked && !probed {
            session.ready_marked = true;
            self.ready.push_back(String::from(sid));
        }
        Ok(())
    }

    /// Queues a packet the peer's input made necessary (a pong); a full buffer
    /// closes the session instead of growing.
    fn enqueue_reply(&mut self, sid: &str, packet: OwnedPacket) {
        if self.enqueue(sid, packet) == Err(Error::BufferFull) {
            self.terminate(
                sid,
                CloseReason::TransportError("send buffer full"),
                PacketType::Close,
            );
        }
    }

    /// Sends a text message to a session.
    ///
    /// ```
    /// use socketwire::engineio::{Error, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// assert_eq!(server.send_text("nope", "hi"), Err(Error::UnknownSid));
    /// ```
    pub fn send_text(&mut self, sid: &str, text: &str) -> Result<(), Error> {
        let result = self.enqueue(
            sid,
            OwnedPacket::Text(PacketType::Message, String::from(text)),
        );
        self.reindex(sid);
        result
    }

    /// Sends a binary message to a session.
    ///
    /// ```
    /// use socketwire::engineio::{Error, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// assert_eq!(server.send_binary("nope", bytes::Bytes::new()), Err(Error::UnknownSid));
    /// ```
    pub fn send_binary(&mut self, sid: &str, data: Bytes) -> Result<(), Error> {
        let result = self.enqueue(sid, OwnedPacket::Binary(data));
        self.reindex(sid);
        result
    }

    /// Closes a session from the server side. On WebSocket the buffered
    /// messages were already handed out, so the socket is closed now. On
    /// polling the buffer and a `close` packet go to the waiting GET, or to the
    /// next GET if it comes within `ping_timeout`.
    ///
    /// ```
    /// use socketwire::engineio::{Error, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// assert_eq!(server.close("nope", core::time::Duration::ZERO), Err(Error::UnknownSid));
    /// ```
    pub fn close(&mut self, sid: &str, now: Duration) -> Result<(), Error> {
        let Some(session) = self.sessions.get_mut(sid) else {
            return Err(Error::UnknownSid);
        };
        if session.closing_deadline.is_some() {
            return Ok(());
        }
        if session.transport == Transport::Polling && !session.get_waiting {
            session
                .outbox
                .push_back(OwnedPacket::simple(PacketType::Close));
            session.closing_deadline = Some(now + self.config.ping_timeout);
            session.next_ping = None;
            session.heartbeat_deadline = None;
            self.events.push_back(ServerEvent::Closed {
                sid: String::from(sid),
                reason: CloseReason::ForcedClose,
            });
            self.reindex(sid);
            return Ok(());
        }
        if session.transport == Transport::Polling {
            session
                .outbox
                .push_back(OwnedPacket::simple(PacketType::Close));
            session.get_waiting = false;
            let response = session.drain_response();
            self.finished_polls.push_back((String::from(sid), response));
        }
        self.terminate(sid, CloseReason::ForcedClose, PacketType::Close);
        Ok(())
    }

    /// Handles one HTTP request on the Engine.IO path. `new_sid` is called once
    /// for a handshake and must return an id not in use.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::engineio::{Method, Reply, RequestInfo, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// let body = Bytes::new();
    /// let req = RequestInfo { method: Method::Get, query: "EIO=3&transport=polling", content_type: None, body: &body };
    /// let Reply::Respond(r) = server.handle_request(&req, core::time::Duration::ZERO, || "s".into()) else { panic!() };
    /// assert_eq!(&r.body[..], br#"{"code":5,"message":"Unsupported protocol version"}"#);
    /// ```
    pub fn handle_request(
        &mut self,
        request: &RequestInfo<'_>,
        now: Duration,
        new_sid: impl FnOnce() -> String,
    ) -> Reply {
        match self.route_request(request, now, new_sid) {
            Ok(reply) => reply,
            Err(error) => Reply::Respond(Response::error(&error)),
        }
    }

    fn check_transport(&self, transport: Option<&str>) -> Result<Transport, Error> {
        // server.ts verify: unknown or disabled transport → code 0.
        match transport {
            Some("polling") if self.config.polling => Ok(Transport::Polling),
            Some("websocket") if self.config.websocket => Ok(Transport::WebSocket),
            _ => Err(Error::UnknownTransport),
        }
    }

    fn check_version(&self, eio: Option<&str>) -> Result<ProtocolVersion, Error> {
        // server.ts handshake: `EIO === "4"` is v4, anything else is v3, refused
        // with code 5 unless allowEIO3.
        match eio {
            Some("4") => Ok(ProtocolVersion::V4),
            _ if self.config.allow_eio3 => Ok(ProtocolVersion::V3),
            _ => Err(Error::UnsupportedProtocolVersion),
        }
    }

    fn route_request(
        &mut self,
        request: &RequestInfo<'_>,
        now: Duration,
        new_sid: impl FnOnce() -> String,
    ) -> Result<Reply, Error> {
        let transport = self.check_transport(request.query_param("transport"))?;
        let Some(sid) = request.query_param("sid") else {
            // EIOP4 §1.11: "Bad handshake method" when no sid and method ≠ GET.
            if request.method != Method::Get {
                return Err(Error::BadHandshakeMethod);
            }
            // A WebSocket handshake must come as an upgrade request, not plain HTTP.
            if transport == Transport::WebSocket {
                return Err(Error::BadRequest);
            }
            let version = self.check_version(request.query_param("EIO"))?;
            return self.open_polling(request, version, now, new_sid);
        };
        let Some(session) = self.sessions.get(sid) else {
            return Err(Error::UnknownSid);
        };
        // server.ts verify: a request whose transport differs from the session's
        // (e.g. polling after the upgrade) is a bad request.
        if transport != Transport::Polling || session.transport != Transport::Polling {
            return Err(Error::BadRequest);
        }
        let sid = String::from(sid);
        match request.method {
            Method::Get => Ok(self.poll_get(&sid)),
            Method::Post => Ok(Reply::Respond(self.poll_post(&sid, request, now))),
            Method::Other => Ok(Reply::Respond(Response::bare(500))),
        }
    }

    fn new_session(
        &self,
        version: ProtocolVersion,
        transport: Transport,
        b64: bool,
        now: Duration,
    ) -> Session {
        let (next_ping, heartbeat_deadline) = match version {
            ProtocolVersion::V4 => (Some(now + self.config.ping_interval), None),
            ProtocolVersion::V3 => (
                None,
                Some(now + self.config.ping_interval + self.config.ping_timeout),
            ),
        };
        Session {
            version,
            transport,
            upgrade: Upgrade::None,
            supports_binary: !b64,
            probe_supports_binary: true,
            jsonp: None,
            outbox: VecDeque::new(),
            get_waiting: false,
            ready_marked: false,
            next_ping,
            heartbeat_deadline,
            closing_deadline: None,
            indexed_deadline: None,
        }
    }

    fn open_packet(&self, sid: &str, transport: Transport) -> OpenPacket {
        let upgrades = if transport == Transport::Polling && self.config.websocket {
            vec![String::from("websocket")]
        } else {
            Vec::new()
        };
        OpenPacket {
            sid: String::from(sid),
            upgrades,
            ping_interval: u64::try_from(self.config.ping_interval.as_millis()).unwrap_or(u64::MAX),
            ping_timeout: u64::try_from(self.config.ping_timeout.as_millis()).unwrap_or(u64::MAX),
            max_payload: Some(self.config.max_payload as u64),
        }
    }

    fn claim_sid(&self, new_sid: impl FnOnce() -> String) -> Result<String, Error> {
        let sid = new_sid();
        if self.sessions.contains_key(&sid) {
            return Err(Error::ApiMisuse("the sid generator returned an id in use"));
        }
        Ok(sid)
    }

    fn open_polling(
        &mut self,
        request: &RequestInfo<'_>,
        version: ProtocolVersion,
        now: Duration,
        new_sid: impl FnOnce() -> String,
    ) -> Result<Reply, Error> {
        let sid = self.claim_sid(new_sid)?;
        let mut session = self.new_session(
            version,
            Transport::Polling,
            request.query_param("b64").is_some(),
            now,
        );
        session.jsonp = request.query_param("j").map(String::from);
        if session.jsonp.is_some() {
            session.supports_binary = false;
        }
        let mut json = BytesMut::new();
        self.open_packet(&sid, Transport::Polling)
            .encode_json(&mut json);
        let text = core::str::from_utf8(&json).unwrap_or("{}");
        let response = session.single_response(Packet::Open(text));
        self.sessions.insert(sid.clone(), session);
        self.reindex(&sid);
        self.events.push_back(ServerEvent::Open { sid, version });
        Ok(Reply::Respond(response))
    }

    fn poll_get(&mut self, sid: &str) -> Reply {
        let Some(session) = self.sessions.get_mut(sid) else {
            return Reply::Respond(Response::error(&Error::UnknownSid));
        };
        if session.get_waiting {
            // polling.ts onPollRequest: overlapping GET → 400 and the session
            // closes ("overlap from client"); the first GET gets `close`.
            self.terminate(
                sid,
                CloseReason::TransportError("overlap from client"),
                PacketType::Close,
            );
            return Reply::Respond(Response::bare(400));
        }
        if session.closing_deadline.is_some() {
            let response = session.drain_response();
            self.remove_silently(sid);
            return Reply::Respond(response);
        }
        if matches!(session.upgrade, Upgrade::Probed { .. }) {
            // EIOP4 "Upgrade": polls during the upgrade end with a noop.
            return Reply::Respond(session.single_response(Packet::Noop));
        }
        if session.outbox.is_empty() {
            session.get_waiting = true;
            return Reply::Wait {
                sid: String::from(sid),
            };
        }
        Reply::Respond(session.drain_response())
    }

    /// Removes a session whose `Closed` event was already reported.
    fn remove_silently(&mut self, sid: &str) {
        if let Some(session) = self.sessions.remove(sid)
            && let Some(old) = session.indexed_deadline
        {
            self.timers.remove(&(old, String::from(sid)));
        }
    }

    fn poll_post(&mut self, sid: &str, request: &RequestInfo<'_>, now: Duration) -> Response {
        let limits = self.limits();
        let Some(session) = self.sessions.get(sid) else {
            return Response::error(&Error::UnknownSid);
        };
        if request.body.len() > limits.max_payload {
            // polling.ts onDataRequest: a body over maxHttpBufferSize gets 413.
            return Response::error(&Error::PayloadTooLarge {
                len: request.body.len() as u64,
                max: limits.max_payload as u64,
            });
        }
        if session.closing_deadline.is_some() {
            return Response::ok();
        }
        let binary_body = request.content_type == Some("application/octet-stream");
        let version = session.version;
        if binary_body && version == ProtocolVersion::V4 {
            // polling.ts onDataRequest: binary bodies are "invalid content" in v4.
            self.terminate(
                sid,
                CloseReason::TransportError("invalid content"),
                PacketType::Close,
            );
            return Response::bare(400);
        }
        let jsonp_text;
        let decoder = if session.jsonp.is_some() {
            match decode_jsonp_body(request.body) {
                Ok(text) => {
                    jsonp_text = text;
                    PayloadDecoder::from_text(&jsonp_text, version, limits)
                }
                Err(_) => {
                    self.terminate(sid, CloseReason::ParseError, PacketType::Close);
                    return Response::ok();
                }
            }
        } else if binary_body {
            PayloadDecoder::new(request.body, PayloadFormat::V3Binary, limits)
        } else {
            PayloadDecoder::new(request.body, PayloadFormat::text(version), limits)
        };
        for item in decoder {
            match item {
                Ok(packet) => {
                    if !self.handle_packet(sid, packet, now) {
                        break;
                    }
                }
                Err(_) => {
                    // A payload that does not decode closes the session ("parse
                    // error"); the POST itself still gets `200 ok` like the JS server.
                    self.terminate(sid, CloseReason::ParseError, PacketType::Close);
                    break;
                }
            }
        }
        self.reindex(sid);
        Response::ok()
    }

    /// Handles one packet from the client on its active transport. Returns
    /// `false` when the session is gone.
    fn handle_packet(&mut self, sid: &str, packet: Packet<'_>, now: Duration) -> bool {
        let Some(session) = self.sessions.get_mut(sid) else {
            return false;
        };
        match packet {
            Packet::Ping(_) => {
                if session.version == ProtocolVersion::V4 {
                    // EIOP4 "Heartbeat": the server sends the pings; socket.ts
                    // closes on "invalid heartbeat direction".
                    self.terminate(
                        sid,
                        CloseReason::TransportError("invalid heartbeat direction"),
                        PacketType::Close,
                    );
                    return false;
                }
                // EIOP3 "Timeouts": the server answers each ping and expects the
                // next within pingInterval + pingTimeout.
                session.heartbeat_deadline =
                    Some(now + self.config.ping_interval + self.config.ping_timeout);
                self.enqueue_reply(sid, OwnedPacket::simple(PacketType::Pong));
            }
            Packet::Pong(_) => {
                if session.version == ProtocolVersion::V3 {
                    // EIOP3: pongs go server → client only.
                    self.terminate(
                        sid,
                        CloseReason::TransportError("invalid heartbeat direction"),
                        PacketType::Close,
                    );
                    return false;
                }
                if session.heartbeat_deadline.take().is_some() {
                    session.next_ping = Some(now + self.config.ping_interval);
                }
            }
            Packet::Message(text) => self.events.push_back(ServerEvent::Message {
                sid: String::from(sid),
                data: MessageData::Text(String::from(text)),
            }),
            Packet::Binary(data) => self.events.push_back(ServerEvent::Message {
                sid: String::from(sid),
                data: MessageData::Binary(data),
            }),
            Packet::Close => {
                // EIOP4 "Close": on polling the pending GET ends with a noop.
                self.terminate(sid, CloseReason::TransportClose, PacketType::Noop);
                return false;
            }
            // The reference server ignores these from a client.
            Packet::Open(_) | Packet::Upgrade | Packet::Noop => {}
        }
        self.sessions.contains_key(sid)
    }

    /// Reports that a waiting GET's connection dropped: the session closes
    /// (`transport error`, "poll connection closed prematurely").
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// server.handle_poll_aborted("nope"); // unknown sids are ignored
    /// ```
    pub fn handle_poll_aborted(&mut self, sid: &str) {
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        if !session.get_waiting {
            return;
        }
        session.get_waiting = false;
        self.terminate(
            sid,
            CloseReason::TransportError("poll connection closed prematurely"),
            PacketType::Close,
        );
    }

    /// Checks a WebSocket upgrade request (query string only) before the glue
    /// accepts it. Without `sid` it opens a WebSocket-only session (the open
    /// packet is queued on [`Server::poll_websocket`]) and returns its sid; with
    /// a `sid` it starts the upgrade of that polling session. On `Err`, refuse
    /// the upgrade with [`Response::error`].
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig, WebSocketOutput};
    /// let mut server = Server::new(ServerConfig::default());
    /// let sid = server.handle_websocket_open("EIO=4&transport=websocket", core::time::Duration::ZERO, || "w".into()).unwrap();
    /// let (_, open) = server.poll_websocket().unwrap();
    /// assert!(matches!(open, WebSocketOutput::Text(t) if t.starts_with("0{\"sid\":\"w\"")));
    /// # let _ = sid;
    /// ```
    pub fn handle_websocket_open(
        &mut self,
        query: &str,
        now: Duration,
        new_sid: impl FnOnce() -> String,
    ) -> Result<String, Error> {
        if self.check_transport(query_param(query, "transport"))? != Transport::WebSocket {
            return Err(Error::BadRequest);
        }
        let b64 = query_param(query, "b64").is_some();
        let Some(sid) = query_param(query, "sid") else {
            let version = self.check_version(query_param(query, "EIO"))?;
            let sid = self.claim_sid(new_sid)?;
            let session = self.new_session(version, Transport::WebSocket, b64, now);
            let mut json = BytesMut::new();
            self.open_packet(&sid, Transport::WebSocket)
                .encode_json(&mut json);
            let text = core::str::from_utf8(&json).unwrap_or("{}");
            self.websocket_out.push_back((
                sid.clone(),
                websocket_output(&Packet::Open(text), version, true),
            ));
            self.sessions.insert(sid.clone(), session);
            self.reindex(&sid);
            self.events.push_back(ServerEvent::Open {
                sid: sid.clone(),
                version,
            });
            return Ok(sid);
        };
        let Some(session) = self.sessions.get_mut(sid) else {
            return Err(Error::UnknownSid);
        };
        // EIOP4 "Upgrade": a second WebSocket with the same sid (after or during
        // an upgrade) is refused.
        if session.transport != Transport::Polling
            || session.upgrade != Upgrade::None
            || session.closing_deadline.is_some()
        {
            return Err(Error::BadRequest);
        }
        session.upgrade = Upgrade::Opened {
            deadline: now + self.config.upgrade_timeout,
        };
        session.probe_supports_binary = !b64;
        let sid = String::from(sid);
        self.reindex(&sid);
        Ok(sid)
    }

    /// A text message arrived on the session's WebSocket.
    ///
    /// ```
    /// use socketwire::engineio::{Error, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// let now = core::time::Duration::ZERO;
    /// assert_eq!(server.handle_websocket_text("nope", "4x", now), Err(Error::UnknownSid));
    /// ```
    pub fn handle_websocket_text(
        &mut self,
        sid: &str,
        text: &str,
        now: Duration,
    ) -> Result<(), Error> {
        let version = self.sessions.get(sid).ok_or(Error::UnknownSid)?.version;
        let packet = Packet::decode_text(text, version);
        self.handle_websocket_packet(sid, packet, now)
    }

    /// A binary message arrived on the session's WebSocket.
    ///
    /// ```
    /// use socketwire::engineio::{Error, Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// let now = core::time::Duration::ZERO;
    /// assert_eq!(server.handle_websocket_binary("nope", bytes::Bytes::new(), now), Err(Error::UnknownSid));
    /// ```
    pub fn handle_websocket_binary(
        &mut self,
        sid: &str,
        data: Bytes,
        now: Duration,
    ) -> Result<(), Error> {
        let version = self.sessions.get(sid).ok_or(Error::UnknownSid)?.version;
        let packet = Packet::decode_binary(&data, version);
        self.handle_websocket_packet(sid, packet, now)
    }

    fn handle_websocket_packet(
        &mut self,
        sid: &str,
        packet: Result<Packet<'_>, Error>,
        now: Duration,
    ) -> Result<(), Error> {
        let session = self.sessions.get_mut(sid).ok_or(Error::UnknownSid)?;
        if session.transport == Transport::WebSocket {
            match packet {
                Ok(packet) => {
                    self.handle_packet(sid, packet, now);
                }
                Err(_) => self.terminate(sid, CloseReason::ParseError, PacketType::Close),
            }
            self.reindex(sid);
            return Ok(());
        }
        match (session.upgrade, packet) {
            (Upgrade::Opened { deadline }, Ok(Packet::Ping("probe"))) => {
                // EIOP4 "Upgrade": answer `2probe` with `3probe` on the new
                // transport and end the pending GET with a noop.
                session.upgrade = Upgrade::Probed { deadline };
                let output = websocket_output(&Packet::Pong("probe"), session.version, true);
                self.websocket_out.push_back((String::from(sid), output));
                if session.get_waiting {
                    session.get_waiting = false;
                    let response = session.single_response(Packet::Noop);
                    self.finished_polls.push_back((String::from(sid), response));
                }
            }
            (Upgrade::Opened { .. } | Upgrade::Probed { .. }, Ok(Packet::Upgrade)) => {
                session.transport = Transport::WebSocket;
                session.upgrade = Upgrade::None;
                session.supports_binary = session.probe_supports_binary;
                session.jsonp = None;
                if session.get_waiting {
                    session.get_waiting = false;
                    let response = session.single_response(Packet::Noop);
                    self.finished_polls.push_back((String::from(sid), response));
                }
                // Flush what was buffered for polling on the new transport.
                let (version, binary) = (session.version, session.supports_binary);
                for packet in session.outbox.drain(..) {
                    let output = websocket_output(&packet.borrowed(), version, binary);
                    self.websocket_out.push_back((String::from(sid), output));
                }
                self.events.push_back(ServerEvent::Upgraded {
                    sid: String::from(sid),
                });
            }
            (Upgrade::Opened { .. } | Upgrade::Probed { .. }, _) => {
                // socket.ts _maybeUpgrade: any other packet aborts the upgrade.
                self.abort_upgrade(sid);
            }
            (Upgrade::None, _) => {
                return Err(Error::ApiMisuse("no WebSocket is open for this session"));
            }
        }
        self.reindex(sid);
        Ok(())
    }

    fn abort_upgrade(&mut self, sid: &str) {
        if let Some(session) = self.sessions.get_mut(sid) {
            session.upgrade = Upgrade::None;
            self.websocket_out
                .push_back((String::from(sid), WebSocketOutput::Close));
            if session.get_waiting && !session.outbox.is_empty() && !session.ready_marked {
                session.ready_marked = true;
                self.ready.push_back(String::from(sid));
            }
        }
    }

    /// The session's WebSocket closed (by the peer or the network).
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// let mut server = Server::new(ServerConfig::default());
    /// server.handle_websocket_closed("nope"); // unknown sids are ignored
    /// ```
    pub fn handle_websocket_closed(&mut self, sid: &str) {
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        if session.transport == Transport::WebSocket {
            self.remove(sid, CloseReason::TransportClose);
        } else if session.upgrade != Upgrade::None {
            session.upgrade = Upgrade::None;
            if session.get_waiting && !session.outbox.is_empty() && !session.ready_marked {
                session.ready_marked = true;
                self.ready.push_back(String::from(sid));
            }
            self.reindex(sid);
        }
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
        while let Some((deadline, sid)) = self.timers.first().cloned() {
            if deadline > now {
                break;
            }
            self.timers.pop_first();
            if let Some(session) = self.sessions.get_mut(&sid) {
                session.indexed_deadline = None;
            }
            self.fire(&sid, now);
            self.reindex(&sid);
        }
    }

    fn fire(&mut self, sid: &str, now: Duration) {
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        if session.closing_deadline.is_some_and(|d| d <= now) {
            self.remove_silently(sid);
            return;
        }
        if session.heartbeat_deadline.is_some_and(|d| d <= now) {
            self.terminate(sid, CloseReason::PingTimeout, PacketType::Close);
            return;
        }
        if let Upgrade::Opened { deadline } | Upgrade::Probed { deadline } = session.upgrade
            && deadline <= now
        {
            self.abort_upgrade(sid);
        }
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        if session.next_ping.is_some_and(|d| d <= now) {
            // EIOP4 "Heartbeat": ping every pingInterval, expect a pong within pingTimeout.
            session.next_ping = None;
            session.heartbeat_deadline = Some(now + self.config.ping_timeout);
            self.enqueue_reply(sid, OwnedPacket::Text(PacketType::Ping, String::new()));
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
            let Some(session) = self.sessions.get_mut(&sid) else {
                continue;
            };
            session.ready_marked = false;
            if !session.get_waiting || session.outbox.is_empty() {
                continue;
            }
            session.get_waiting = false;
            let response = session.drain_response();
            return Some((sid, response));
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

    /// Packets buffered for a session's next GET (for monitoring and tests).
    ///
    /// ```
    /// use socketwire::engineio::{Server, ServerConfig};
    /// assert_eq!(Server::new(ServerConfig::default()).buffered_packets("x"), 0);
    /// ```
    pub fn buffered_packets(&self, sid: &str) -> usize {
        self.sessions.get(sid).map_or(0, |s| s.outbox.len())
    }
}
