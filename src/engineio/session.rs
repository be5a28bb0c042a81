//! One server session (one sid), sans-IO: polling GET/POST, long-poll parking,
//! WebSocket attach, probe/upgrade, heartbeats, close and the output queues.
//!
//! # Session states
//!
//! | state | entered by | leaves on |
//! |---|---|---|
//! | Polling | handshake GET ([`ServerSession::open_polling`]) | WebSocket open with the sid (→ Probing), close |
//! | Probing (`upgrade` = Opened) | [`ServerSession::handle_websocket_open`] | `2probe` (→ Probed), other packet / WS close / timeout (→ Polling) |
//! | Probed | `2probe` answered with `3probe` (a second one too); the pending GET gets `6`, new GETs what is buffered or `6` | `5` (→ WebSocket; a GET still parked gets `1`), abort (→ Polling) |
//! | WebSocket | `5` on the probe, or a WebSocket handshake ([`ServerSession::open_websocket`]) | close |
//! | Closing | [`ServerSession::close`] on polling with no GET waiting | next GET (gets the buffer + `1`), or `ping_timeout` |
//! | Closed | every other end: [`ServerSession::is_closed`] | — |

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::{Bytes, BytesMut};

use super::error::{ApiMisuse, Error};
use super::http::{Method, Reply, RequestInfo, Response, query_param};
use super::message::{CloseReason, MessageData};
use super::open::OpenPacket;
use super::packet::{
    EngineIoVersion, FramedMessage, MessageKind, OwnedPacket, Packet, PacketType,
    websocket_binary_prefix,
};
use super::payload::{Jsonp, PayloadDecoder, PayloadFormat, PayloadLimits};
use crate::Utf8Bytes;

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
    /// Most packets buffered for a session on either transport: on polling,
    /// those waiting for the next GET; on WebSocket, the messages not yet taken
    /// with [`ServerSession::poll_websocket`]. A send past it fails with
    /// [`ApiMisuse::BufferFull`] (nothing is queued); a packet the peer's
    /// input makes necessary (a pong, a ping) past it closes the
    /// session instead (`transport error`, "send buffer full"). The final
    /// close of a session is always queued. Default 1024.
    pub max_buffered_packets: usize,
    /// Most bytes buffered for a session, as
    /// [`ServerSession::buffered_amount`] counts them: a send that would take
    /// the figure past it fails with [`ApiMisuse::BufferFull`] (nothing is
    /// queued, so a message larger than the cap can never be sent); a packet
    /// the peer's input makes necessary past it closes the session, as for
    /// `max_buffered_packets`. Default 16 MiB.
    pub max_buffered_bytes: usize,
    /// Most sessions open at once: a handshake past it is refused with
    /// [`Error::TooManySessions`] (HTTP 403, `{"code":4,"message":"Too many
    /// sessions"}`). Enforced by [`Server`](super::Server); a glue with its own
    /// sid map calls [`ServerConfig::check_session_count`]. Default 100 000.
    pub max_sessions: usize,
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
            max_buffered_bytes: 16 << 20,
            max_sessions: 100_000,
            allow_eio3: false,
            polling: true,
            websocket: true,
        }
    }
}

impl ServerConfig {
    /// The session cap, for a handshake while `open_sessions` sessions are
    /// open: past [`ServerConfig::max_sessions`] it is
    /// [`Error::TooManySessions`] (answer it with [`Response::error`]).
    ///
    /// ```
    /// use socketwire::engineio::{Error, ServerConfig};
    /// let config = ServerConfig { max_sessions: 2, ..ServerConfig::default() };
    /// assert_eq!(config.check_session_count(1), Ok(()));
    /// assert_eq!(config.check_session_count(2), Err(Error::TooManySessions));
    /// ```
    pub fn check_session_count(&self, open_sessions: usize) -> Result<(), Error> {
        if open_sessions >= self.max_sessions {
            return Err(Error::TooManySessions);
        }
        Ok(())
    }

    /// The transport a request asks for.
    pub(crate) fn check_transport(&self, transport: Option<&str>) -> Result<Transport, Error> {
        // server.ts verify: unknown or disabled transport → code 0 (EIOP4 §1.11).
        match transport {
            Some("polling") if self.polling => Ok(Transport::Polling),
            Some("websocket") if self.websocket => Ok(Transport::WebSocket),
            _ => Err(Error::UnknownTransport),
        }
    }

    fn check_version(&self, eio: Option<&str>) -> Result<EngineIoVersion, Error> {
        // https://github.com/socketio/engine.io-protocol#handshake (server.ts
        // handshake): `EIO === "4"` is v4, anything else is v3, refused with
        // code 5 unless allowEIO3.
        match eio {
            Some("4") => Ok(EngineIoVersion::V4),
            _ if self.allow_eio3 => Ok(EngineIoVersion::V3),
            _ => Err(Error::UnsupportedProtocolVersion),
        }
    }

    fn limits(&self) -> PayloadLimits {
        PayloadLimits {
            max_payload: self.max_payload,
            max_packets: self.max_packets_per_payload,
        }
    }
}

/// A session id from the operating system's CSPRNG (feature `getrandom`):
/// 128 random bits as 22 base64url characters, what the [Session
/// ids](ServerSession#session-ids) rules ask of a `new_sid` source. Draw a
/// Socket.IO socket id with a separate call; never derive one from the other.
///
/// ```
/// # #[cfg(feature = "getrandom")] {
/// use socketwire::engineio::os_random_sid;
/// let (a, b) = (os_random_sid(), os_random_sid());
/// assert_eq!(a.len(), 22);
/// assert_ne!(a, b);
/// # }
/// ```
#[cfg(feature = "getrandom")]
pub fn os_random_sid() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 16];
    // A sid that is not random grants access to someone else's session: no fallback.
    getrandom::fill(&mut bytes).expect("operating system random source failed");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The transport a request or session uses.
///
/// ```
/// use socketwire::engineio::{Transport, ServerSession, ServerConfig};
/// let session = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
/// assert_eq!(session.transport(), Transport::WebSocket);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

/// What happened on one session, for the application.
///
/// ```
/// use socketwire::engineio::{CloseReason, SessionEvent};
/// assert_ne!(SessionEvent::Upgraded, SessionEvent::Closed(CloseReason::PingTimeout));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A message from the client.
    Message(MessageData),
    /// The session moved from polling to WebSocket.
    Upgraded,
    /// The session is over (a Closing session still answers its next GET).
    Closed(CloseReason),
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
    /// A text message whose bytes are shared with other sessions: a
    /// [`FramedMessage`](super::FramedMessage) sent to many, to be sent as it
    /// is (e.g. with `ws::Connection::send_text_shared`, which does not check
    /// its UTF-8 again).
    SharedText(Utf8Bytes),
    /// Close the WebSocket (normal closure).
    Close,
}

/// Names one WebSocket attached to a session: [`ServerSession::open_websocket`]
/// (see [`ServerSession::websocket`]) and [`ServerSession::handle_websocket_open`]
/// hand out a new one per socket, counted per session. Messages and closes
/// are reported with it, and those from a socket that is no longer the
/// session's current one (an aborted probe, a replaced socket) are ignored, so
/// a stale connection can neither drive nor tear down a newer one.
///
/// ```
/// use core::time::Duration;
/// use socketwire::engineio::{ServerConfig, ServerSession};
/// let s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
/// let ws = s.websocket().unwrap();
/// assert_eq!(ws, ws);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WebSocketId(u64);

/// What to do with a WebSocket upgrade request that names an existing session
/// ([`ServerSession::handle_websocket_open`]); refusals (unknown or closed
/// session, wrong transport) are the `Err` of that call instead.
///
/// ```
/// use core::time::Duration;
/// use socketwire::engineio::{ServerConfig, ServerSession, WebSocketOpen};
/// let q = "EIO=4&transport=websocket&sid=ZmTr8qX2vN5kL0bW7pYc3A";
/// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
/// // The session already has its WebSocket: accept the new one, then close it.
/// assert_eq!(s.handle_websocket_open(q, Duration::ZERO), Ok(WebSocketOpen::AcceptThenClose));
/// assert_eq!(WebSocketOpen::AcceptThenClose.id(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "the WebSocket must be attached or closed"]
pub enum WebSocketOpen {
    /// Accept the upgrade: the socket is the session's new (probing) one,
    /// with this id for its messages and its close.
    Attach(WebSocketId),
    /// Accept the upgrade at the HTTP level (101), then close the socket at
    /// once without writing a packet on it, as the reference server does
    /// (server.ts `onWebSocket`: "transport has already been trying to
    /// upgrade" / "had already been upgraded"): the session already has a
    /// WebSocket (probing, upgraded, or opened on one) or is closing. The
    /// session and its current socket are unaffected.
    AcceptThenClose,
}

impl WebSocketOpen {
    /// The new socket's id, when it is attached.
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession, WebSocketOpen};
    /// let s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let ws = s.websocket().unwrap();
    /// assert_eq!(WebSocketOpen::Attach(ws).id(), Some(ws));
    /// ```
    pub fn id(self) -> Option<WebSocketId> {
        match self {
            WebSocketOpen::Attach(id) => Some(id),
            WebSocketOpen::AcceptThenClose => None,
        }
    }
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

/// [`websocket_output`] of a queued packet, which it consumes: a framed
/// message goes out as the bytes it shares and a v4 binary message as its own
/// bytes, moved (no copy, no reference-count traffic).
fn websocket_output_owned(
    packet: OwnedPacket,
    version: EngineIoVersion,
    supports_binary: bool,
) -> WebSocketOutput {
    match packet {
        OwnedPacket::Framed(m) => WebSocketOutput::SharedText(m.into_utf8_bytes()),
        // Nothing goes before the data: the frame is the data, moved.
        OwnedPacket::Binary(data)
            if websocket_binary_prefix(version, supports_binary) == Some(&[]) =>
        {
            WebSocketOutput::Binary(data)
        }
        other => websocket_output(&other.borrowed(), version, supports_binary),
    }
}

fn websocket_output(
    packet: &Packet<'_>,
    version: EngineIoVersion,
    supports_binary: bool,
) -> WebSocketOutput {
    let mut out = BytesMut::new();
    match packet.encode_websocket(version, supports_binary, &mut out) {
        MessageKind::Binary => WebSocketOutput::Binary(out.freeze()),
        // Text encodings are built from `&str` and base64, so always UTF-8.
        MessageKind::Text => {
            WebSocketOutput::Text(String::from_utf8(Vec::from(out)).unwrap_or_default())
        }
    }
}

/// An item of an output queue, and the bytes it counts for in
/// [`ServerSession::buffered_amount`] (and the client's).
pub(super) trait QueuedLen {
    /// The bytes this item holds for the peer.
    fn queued_len(&self) -> usize;
}

impl QueuedLen for OwnedPacket {
    /// The packet's own encoding: the type character and the data (binary
    /// data as it is); no transport framing.
    fn queued_len(&self) -> usize {
        match self {
            OwnedPacket::Text(_, text) => 1 + text.len(),
            OwnedPacket::Binary(data) => data.len(),
            OwnedPacket::Framed(m) => m.as_bytes().len(),
        }
    }
}

impl QueuedLen for WebSocketOutput {
    /// The WebSocket message's payload; a close counts for nothing.
    fn queued_len(&self) -> usize {
        match self {
            WebSocketOutput::Text(text) => text.len(),
            WebSocketOutput::Binary(data) => data.len(),
            WebSocketOutput::SharedText(text) => text.len(),
            WebSocketOutput::Close => 0,
        }
    }
}

impl QueuedLen for Response {
    /// The response body.
    fn queued_len(&self) -> usize {
        self.body.len()
    }
}

/// A first-in first-out queue that keeps the sum of its items'
/// [`QueuedLen`]: every push and pop goes through it, so the bytes buffered
/// are known in constant time and never recounted.
#[derive(Debug)]
pub(super) struct CountedQueue<T> {
    items: VecDeque<T>,
    bytes: usize,
}

impl<T> Default for CountedQueue<T> {
    fn default() -> Self {
        CountedQueue {
            items: VecDeque::new(),
            bytes: 0,
        }
    }
}

impl<T: QueuedLen> CountedQueue<T> {
    pub(super) fn push_back(&mut self, item: T) {
        self.bytes += item.queued_len();
        self.items.push_back(item);
    }

    pub(super) fn pop_front(&mut self) -> Option<T> {
        let item = self.items.pop_front()?;
        self.bytes -= item.queued_len();
        Some(item)
    }

    /// Takes every item out, in order.
    pub(super) fn take_all(&mut self) -> VecDeque<T> {
        self.bytes = 0;
        core::mem::take(&mut self.items)
    }

    /// Takes the first `n` items (all if fewer), in order.
    #[cfg(feature = "json")] // used by the client only
    pub(super) fn take_front(&mut self, n: usize) -> Vec<T> {
        let taken: Vec<T> = self.items.drain(..n.min(self.items.len())).collect();
        self.bytes -= taken.iter().map(QueuedLen::queued_len).sum::<usize>();
        taken
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.items.iter()
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The sum of the items' [`QueuedLen`].
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// One Engine.IO server session (one sid) with no I/O: the state machine of
/// one client, whatever transport it is on.
///
/// A multi-threaded glue keeps each session behind its own lock and finds it by
/// sid in a concurrent map; [`Server`](super::Server) is the single-threaded
/// registry built on this type.
///
/// # Driving it
///
/// * **Open** — [`ServerSession::open_polling`] for a handshake GET (answer it
///   with the returned response) or [`ServerSession::open_websocket`] for a
///   WebSocket handshake (the open packet waits on
///   [`ServerSession::poll_websocket`]). Route a request first with
///   [`Route`](super::Route) to tell a handshake from a request for a session.
/// * **Input** — [`ServerSession::handle_request`] for every HTTP request with
///   this sid; [`ServerSession::handle_websocket_open`] when a WebSocket with
///   this sid arrives (before accepting it; it returns the socket's
///   [`WebSocketId`], as [`ServerSession::websocket`] does for a session opened
///   on a WebSocket), then [`ServerSession::handle_websocket_text`] /
///   [`ServerSession::handle_websocket_binary`] per message and
///   [`ServerSession::handle_websocket_closed`] when it ends, each with that
///   id (input from a socket that is no longer current is ignored);
///   [`ServerSession::handle_poll_aborted`] when a parked GET's connection
///   drops; [`ServerSession::handle_timeout`] when
///   [`ServerSession::poll_timeout`] expires.
/// * **Commands** — [`ServerSession::send_text`],
///   [`ServerSession::send_binary`], [`ServerSession::close`].
/// * **Output** — after every input or command, drain
///   [`ServerSession::poll_event`], [`ServerSession::poll_long_poll`] (the
///   response for a GET that got [`Reply::Wait`]) and
///   [`ServerSession::poll_websocket`] (for the WebSocket attached when each
///   was queued, so drain it before the next input: a later socket may
///   replace that one), then re-arm the timer from
///   [`ServerSession::poll_timeout`]. Once [`ServerSession::is_closed`] and
///   drained, drop the session.
///
/// Time is a [`Duration`] since an origin the caller picks; deadlines saturate
/// instead of overflowing. Every input and command that takes `now` first
/// applies the deadlines at or before `now` (as [`ServerSession::handle_timeout`]
/// would), so a request that arrives after a deadline meets the same session
/// whether or not the caller's timer fired first.
///
/// # Limits
///
/// Every queue has a cap and every wait a deadline ([`ServerConfig`] fields):
///
/// | limit | when hit |
/// |---|---|
/// | `max_payload` | a larger POST is 413; a larger WebSocket message closes the session ([`Error::PayloadTooLarge`], close the socket with 1009) |
/// | `max_packets_per_payload` | the POST closes the session (parse error) |
/// | `max_buffered_packets` (both transports) | a send is [`ApiMisuse::BufferFull`]; a reply the peer forces closes the session |
/// | `max_buffered_bytes` ([`ServerSession::buffered_amount`], both transports) | a send that would pass it is [`ApiMisuse::BufferFull`] (nothing queued); a reply the peer forces closes the session (`transport error`, "send buffer full") |
/// | one parked GET | an overlapping GET is 400 and closes the session; the parked one gets `1` |
/// | `ping_timeout` | no heartbeat answer in time closes the session |
/// | `upgrade_timeout` | an unfinished upgrade is aborted (the probing socket is closed) |
/// | one WebSocket at a time | a second one is accepted, then closed ([`WebSocketOpen::AcceptThenClose`]) while one probes or after the upgrade; a stale socket's input is ignored ([`WebSocketId`]) |
///
/// [`Server`](super::Server) adds `max_sessions` ([`Error::TooManySessions`]).
///
/// # Session ids
///
/// A sid is the session's only credential: whoever knows it can read the
/// session's messages, post as its client, or attach a WebSocket to it. The
/// `new_sid` source given to [`ServerSession::open_polling`] and
/// [`ServerSession::open_websocket`] (and to [`Server`](super::Server)) must
/// therefore return values from a cryptographically secure random generator
/// (the operating system's, e.g. through `getrandom`) carrying at least 120
/// bits of entropy (e.g. 16 random bytes as 22 base64url characters or 32 hex
/// digits), URL-safe (sids travel in query strings), unique among live
/// sessions, and never derived from a counter, a clock or another identifier —
/// in particular, Socket.IO socket ids are drawn separately and never derived
/// from the sid. With the `getrandom` feature, `engineio::os_random_sid` is such a
/// source. The library treats sids as opaque strings.
///
/// ```
/// use bytes::Bytes;
/// use core::time::Duration;
/// use socketwire::engineio::{
///     Method, Reply, RequestInfo, ServerConfig, ServerSession, SessionEvent, MessageData,
/// };
///
/// let config = ServerConfig::default();
/// let empty = Bytes::new();
/// let get = |query| RequestInfo { method: Method::Get, query, content_type: None, body: &empty };
/// let now = Duration::ZERO;
///
/// // Handshake: the open packet comes back at once.
/// let (mut session, open) =
///     ServerSession::open_polling(&config, &get("EIO=4&transport=polling"), now, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
/// assert!(open.body.starts_with(b"0{\"sid\":\"ZmTr8qX2vN5kL0bW7pYc3A\""));
///
/// // A long poll with nothing queued waits…
/// assert_eq!(session.handle_request(&get("EIO=4&transport=polling&sid=ZmTr8qX2vN5kL0bW7pYc3A"), now), Reply::Wait);
/// // …until the application sends something.
/// session.send_text("hello").unwrap();
/// assert_eq!(&session.poll_long_poll().unwrap().body[..], b"4hello");
///
/// // The client posts a message.
/// let body = Bytes::from_static(b"4hi");
/// let post = RequestInfo { method: Method::Post, query: "EIO=4&transport=polling&sid=ZmTr8qX2vN5kL0bW7pYc3A", content_type: None, body: &body };
/// let Reply::Respond(ok) = session.handle_request(&post, now) else { unreachable!() };
/// assert_eq!(&ok.body[..], b"ok");
/// assert_eq!(session.poll_event(), Some(SessionEvent::Message(MessageData::Text("hi".into()))));
///
/// // Heartbeat: the server pings after pingInterval.
/// let t = session.poll_timeout().unwrap();
/// session.handle_timeout(t);
/// let Reply::Respond(ping) = session.handle_request(&get("EIO=4&transport=polling&sid=ZmTr8qX2vN5kL0bW7pYc3A"), t)
/// else { unreachable!() };
/// assert_eq!(&ping.body[..], b"2");
/// ```
#[derive(Debug)]
pub struct ServerSession {
    config: ServerConfig,
    sid: String,
    version: EngineIoVersion,
    transport: Transport,
    upgrade: Upgrade,
    /// `false` when the client sent `b64` on the active transport.
    supports_binary: bool,
    /// `b64` on the WebSocket being probed.
    probe_supports_binary: bool,
    /// JSONP index (`j`), when the polling transport is JSONP.
    jsonp: Option<String>,
    outbox: CountedQueue<OwnedPacket>,
    get_waiting: bool,
    /// v4: when to send the next ping.
    next_ping: Option<Duration>,
    /// v4: pong expected before; v3: ping expected before.
    heartbeat_deadline: Option<Duration>,
    /// Server close requested on polling with no GET waiting.
    closing_deadline: Option<Duration>,
    closed: bool,
    events: VecDeque<SessionEvent>,
    /// Responses already built for the parked GET (its final packet, a noop).
    finished_polls: CountedQueue<Response>,
    websocket_out: CountedQueue<WebSocketOutput>,
    /// The WebSocket whose input counts (the probing one during an upgrade).
    websocket: Option<WebSocketId>,
    /// WebSocket ids handed out so far.
    websockets_opened: u64,
}

impl ServerSession {
    fn new(
        config: &ServerConfig,
        sid: String,
        version: EngineIoVersion,
        transport: Transport,
        b64: bool,
        now: Duration,
    ) -> ServerSession {
        let (next_ping, heartbeat_deadline) = match version {
            EngineIoVersion::V4 => (Some(now.saturating_add(config.ping_interval)), None),
            EngineIoVersion::V3 => (None, Some(v3_heartbeat_deadline(config, now))),
        };
        ServerSession {
            config: config.clone(),
            sid,
            version,
            transport,
            upgrade: Upgrade::None,
            supports_binary: !b64,
            probe_supports_binary: true,
            jsonp: None,
            outbox: CountedQueue::default(),
            get_waiting: false,
            next_ping,
            heartbeat_deadline,
            closing_deadline: None,
            closed: false,
            events: VecDeque::new(),
            finished_polls: CountedQueue::default(),
            websocket_out: CountedQueue::default(),
            websocket: None,
            websockets_opened: 0,
        }
    }

    /// Hands out the id of a newly attached WebSocket; it becomes the current one.
    fn attach_websocket(&mut self) -> WebSocketId {
        let id = WebSocketId(self.websockets_opened);
        self.websockets_opened += 1;
        self.websocket = Some(id);
        id
    }

    /// Whether input from `ws` counts: it must be the current WebSocket. A
    /// stale one is ignored (`Ok(false)`); an id this session never handed
    /// out is a caller error.
    fn accepts_from(&self, ws: WebSocketId) -> Result<bool, ApiMisuse> {
        if ws.0 >= self.websockets_opened {
            return Err(ApiMisuse::NoWebSocket);
        }
        Ok(self.websocket == Some(ws))
    }

    /// The WebSocket currently attached (the one opened with the session by
    /// [`ServerSession::open_websocket`], or the probing/upgraded one), if any.
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let ws = s.websocket().unwrap();
    /// s.handle_websocket_closed(ws);
    /// assert_eq!(s.websocket(), None);
    /// ```
    pub fn websocket(&self) -> Option<WebSocketId> {
        self.websocket
    }

    /// Opens a session from a handshake request (an HTTP request without
    /// `sid`): checks transport, method and `EIO`, calls `new_sid` once, and
    /// returns the session with the response carrying the open packet. On `Err`,
    /// answer [`Response::error`]. `new_sid` must return a fresh CSPRNG value
    /// of at least 120 bits, unique among live sessions (see [Session
    /// ids](ServerSession#session-ids)).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::engineio::{Error, Method, RequestInfo, ServerConfig, ServerSession};
    /// let body = Bytes::new();
    /// let req = RequestInfo { method: Method::Get, query: "EIO=3&transport=polling", content_type: None, body: &body };
    /// let refused = ServerSession::open_polling(&ServerConfig::default(), &req, core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into());
    /// assert_eq!(refused.unwrap_err(), Error::UnsupportedProtocolVersion);
    /// ```
    pub fn open_polling(
        config: &ServerConfig,
        request: &RequestInfo<'_>,
        now: Duration,
        new_sid: impl FnOnce() -> String,
    ) -> Result<(ServerSession, Response), Error> {
        let transport = config.check_transport(request.query_param("transport"))?;
        // https://github.com/socketio/engine.io-protocol#handshake — the
        // handshake is a GET; server.ts verify: "Bad handshake method" otherwise.
        if request.method != Method::Get {
            return Err(Error::BadHandshakeMethod);
        }
        // A WebSocket handshake must come as an upgrade request, not plain HTTP.
        if transport == Transport::WebSocket {
            return Err(Error::BadRequest);
        }
        let version = config.check_version(request.query_param("EIO"))?;
        let b64 = request.query_param("b64").is_some();
        let mut session =
            ServerSession::new(config, new_sid(), version, Transport::Polling, b64, now);
        session.jsonp = request.query_param("j").map(String::from);
        if session.jsonp.is_some() {
            session.supports_binary = false;
        }
        let open = session.open_json();
        let response = session.single_response(Packet::Open(&open));
        Ok((session, response))
    }

    /// Opens a WebSocket-only session from a WebSocket upgrade request without
    /// `sid` (query string only), before the glue accepts the upgrade. The open
    /// packet waits on [`ServerSession::poll_websocket`]. On `Err`, refuse the
    /// upgrade with [`Response::upgrade_error`]. `new_sid` as for
    /// [`ServerSession::open_polling`] (see [Session ids](ServerSession#session-ids)).
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession, WebSocketOutput};
    /// let mut session = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert!(matches!(session.poll_websocket(), Some(WebSocketOutput::Text(t)) if t.starts_with("0{\"sid\":\"ZmTr8qX2vN5kL0bW7pYc3A\"")));
    /// ```
    pub fn open_websocket(
        config: &ServerConfig,
        query: &str,
        now: Duration,
        new_sid: impl FnOnce() -> String,
    ) -> Result<ServerSession, Error> {
        if config.check_transport(query_param(query, "transport"))? != Transport::WebSocket {
            return Err(Error::BadRequest);
        }
        let version = config.check_version(query_param(query, "EIO"))?;
        let b64 = query_param(query, "b64").is_some();
        let mut session =
            ServerSession::new(config, new_sid(), version, Transport::WebSocket, b64, now);
        session.attach_websocket();
        let open = session.open_json();
        let output = websocket_output(&Packet::Open(&open), version, true);
        session.websocket_out.push_back(output);
        Ok(session)
    }

    /// The handshake JSON of this session.
    fn open_json(&self) -> String {
        let upgrades = if self.transport == Transport::Polling && self.config.websocket {
            vec![String::from("websocket")]
        } else {
            Vec::new()
        };
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let open = OpenPacket {
            sid: self.sid.clone(),
            upgrades,
            ping_interval: millis(self.config.ping_interval),
            ping_timeout: millis(self.config.ping_timeout),
            max_payload: Some(self.config.max_payload as u64),
        };
        let mut json = BytesMut::new();
        open.encode_json(&mut json);
        String::from_utf8(json.to_vec()).unwrap_or_default()
    }

    /// The session id.
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert_eq!(s.sid(), "ZmTr8qX2vN5kL0bW7pYc3A");
    /// ```
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The protocol version.
    ///
    /// ```
    /// use socketwire::engineio::{EngineIoVersion, ServerConfig, ServerSession};
    /// let s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert_eq!(s.version(), EngineIoVersion::V4);
    /// ```
    pub fn version(&self) -> EngineIoVersion {
        self.version
    }

    /// The active transport (polling until an upgrade completes).
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession, Transport};
    /// let s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert_eq!(s.transport(), Transport::WebSocket);
    /// ```
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Whether the session is over: it takes no more input; drain its outputs
    /// and drop it.
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// s.handle_websocket_closed(s.websocket().unwrap());
    /// assert!(s.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Packets buffered for the peer on either transport: those waiting for
    /// the next GET, and the WebSocket messages (and close) not yet taken with
    /// [`ServerSession::poll_websocket`]. Constant time.
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert_eq!(s.buffered_packets(), 1); // the open packet
    /// let _open = s.poll_websocket();
    /// assert_eq!(s.buffered_packets(), 0);
    /// ```
    pub fn buffered_packets(&self) -> usize {
        self.outbox.len() + self.websocket_out.len()
    }

    /// Bytes buffered for the peer, in constant time: what a glue compares
    /// with its own cap (the session enforces
    /// [`ServerConfig::max_buffered_bytes`] with it). It counts, kept as each
    /// item is queued and taken:
    ///
    /// * packets waiting for the next GET: each packet's own encoding, the
    ///   type character plus its data (binary data as it is; the payload's
    ///   separators, length prefixes and base64 are not counted);
    /// * responses built for a parked GET and not yet taken with
    ///   [`ServerSession::poll_long_poll`]: their bodies;
    /// * WebSocket messages not yet taken with
    ///   [`ServerSession::poll_websocket`]: their payloads (a close counts 0).
    ///
    /// What the glue already took (a response being written, a WebSocket
    /// connection's own output) is the glue's to count, e.g. with
    /// `ws::Connection::buffered_amount`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let _open = s.poll_websocket();
    /// s.send_text("hello").unwrap(); // "4hello"
    /// s.send_binary(Bytes::from_static(&[1, 2, 3])).unwrap();
    /// assert_eq!(s.buffered_amount(), 6 + 3);
    /// let _text = s.poll_websocket();
    /// assert_eq!(s.buffered_amount(), 3);
    /// ```
    pub fn buffered_amount(&self) -> usize {
        self.outbox.bytes() + self.finished_polls.bytes() + self.websocket_out.bytes()
    }

    fn polling_format(&self) -> PayloadFormat {
        match self.version {
            EngineIoVersion::V4 => PayloadFormat::V4,
            EngineIoVersion::V3
                if self.supports_binary
                    && self.jsonp.is_none()
                    && self
                        .outbox
                        .iter()
                        .any(|p| matches!(p, OwnedPacket::Binary(_))) =>
            {
                PayloadFormat::V3Binary
            }
            EngineIoVersion::V3 => PayloadFormat::V3Text,
        }
    }

    /// Encodes `packets` as a polling response for this session.
    fn poll_response(&self, packets: &[Packet<'_>], format: PayloadFormat) -> Response {
        let mut body = BytesMut::new();
        let content_type = match &self.jsonp {
            // JSONP never uses the binary format (`supports_binary` is off).
            Some(index) => {
                Jsonp::new(index).encode(packets, self.version, &mut body);
                Jsonp::CONTENT_TYPE
            }
            None => {
                format.encode(packets, &mut body);
                format.content_type()
            }
        };
        Response {
            status: 200,
            content_type,
            body: body.freeze(),
        }
    }

    /// Drains the outbox into a polling response.
    fn drain_response(&mut self) -> Response {
        let format = self.polling_format();
        let owned = self.outbox.take_all();
        let packets: Vec<Packet<'_>> = owned.iter().map(OwnedPacket::borrowed).collect();
        self.poll_response(&packets, format)
    }

    fn single_response(&self, packet: Packet<'_>) -> Response {
        self.poll_response(&[packet], PayloadFormat::text(self.version))
    }

    /// Ends the session and reports why (no final packets).
    fn finish(&mut self, reason: CloseReason) {
        self.closed = true;
        self.get_waiting = false;
        self.upgrade = Upgrade::None;
        self.events.push_back(SessionEvent::Closed(reason));
    }

    /// Closes the session: a waiting GET receives `final_packet` (`1`, or `6`
    /// when the client closed), a WebSocket is closed.
    fn terminate(&mut self, reason: CloseReason, final_packet: PacketType) {
        if self.get_waiting {
            let response = self.single_response(OwnedPacket::simple(final_packet).borrowed());
            self.finished_polls.push_back(response);
        }
        if self.transport == Transport::WebSocket || self.upgrade != Upgrade::None {
            self.websocket_out.push_back(WebSocketOutput::Close);
        }
        self.finish(reason);
    }

    /// Queues a packet on the active transport.
    fn enqueue(&mut self, packet: OwnedPacket) -> Result<(), ApiMisuse> {
        if self.closed || self.closing_deadline.is_some() {
            return Err(ApiMisuse::Closed);
        }
        // One cap for both transports: the queue the packet would join.
        let queued = match self.transport {
            Transport::WebSocket => self.websocket_out.len(),
            Transport::Polling => self.outbox.len(),
        };
        if queued >= self.config.max_buffered_packets {
            return Err(ApiMisuse::BufferFull);
        }
        if self.transport == Transport::WebSocket {
            let output = websocket_output_owned(packet, self.version, self.supports_binary);
            self.check_byte_cap(output.queued_len())?;
            self.websocket_out.push_back(output);
        } else {
            self.check_byte_cap(packet.queued_len())?;
            self.outbox.push_back(packet);
        }
        Ok(())
    }

    /// The byte cap: `len` more bytes must keep
    /// [`ServerSession::buffered_amount`] within `max_buffered_bytes`.
    fn check_byte_cap(&self, len: usize) -> Result<(), ApiMisuse> {
        match self.buffered_amount().checked_add(len) {
            Some(total) if total <= self.config.max_buffered_bytes => Ok(()),
            _ => Err(ApiMisuse::BufferFull),
        }
    }

    /// Queues a packet the peer's input made necessary (a pong, a ping); a
    /// full buffer closes the session instead of growing.
    fn enqueue_reply(&mut self, packet: OwnedPacket) {
        if self.enqueue(packet) == Err(ApiMisuse::BufferFull) {
            self.terminate(
                CloseReason::TransportError("send buffer full"),
                PacketType::Close,
            );
        }
    }

    /// Sends a text message.
    ///
    /// ```
    /// use socketwire::engineio::{ApiMisuse, ServerConfig, ServerSession};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// s.handle_websocket_closed(s.websocket().unwrap());
    /// assert_eq!(s.send_text("late"), Err(ApiMisuse::Closed));
    /// ```
    pub fn send_text(&mut self, text: &str) -> Result<(), ApiMisuse> {
        self.enqueue(OwnedPacket::Text(PacketType::Message, String::from(text)))
    }

    /// Sends a text message encoded once for many sessions: the session
    /// queues a reference to its bytes (on WebSocket they come out as
    /// [`WebSocketOutput::SharedText`], not copied).
    ///
    /// ```
    /// use socketwire::engineio::{FramedMessage, ServerConfig, ServerSession, WebSocketOutput};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let _open = s.poll_websocket();
    /// let news = FramedMessage::new("hi all");
    /// s.send_framed(&news).unwrap();
    /// assert_eq!(s.poll_websocket(), Some(WebSocketOutput::SharedText(news.as_utf8_bytes().clone())));
    /// ```
    pub fn send_framed(&mut self, message: &FramedMessage) -> Result<(), ApiMisuse> {
        self.enqueue(OwnedPacket::Framed(message.clone()))
    }

    /// Sends a binary message.
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession, WebSocketOutput};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let _open = s.poll_websocket();
    /// s.send_binary(bytes::Bytes::from_static(&[1])).unwrap();
    /// assert_eq!(s.poll_websocket(), Some(WebSocketOutput::Binary(bytes::Bytes::from_static(&[1]))));
    /// ```
    pub fn send_binary(&mut self, data: Bytes) -> Result<(), ApiMisuse> {
        self.enqueue(OwnedPacket::Binary(data))
    }

    /// Closes the session from the server side. On WebSocket the buffered
    /// messages were already handed out, so the socket is closed now. On
    /// polling the buffer and a `close` packet go to the waiting GET, or to the
    /// next GET if it comes within `ping_timeout`. Closing twice does nothing.
    ///
    /// ```
    /// use socketwire::engineio::{CloseReason, ServerConfig, ServerSession, SessionEvent};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// s.close(core::time::Duration::ZERO);
    /// assert_eq!(s.poll_event(), Some(SessionEvent::Closed(CloseReason::ForcedClose)));
    /// ```
    pub fn close(&mut self, now: Duration) {
        self.handle_timeout(now);
        if self.closed || self.closing_deadline.is_some() {
            return;
        }
        if self.transport == Transport::Polling && self.upgrade != Upgrade::None {
            // A session that is closing does not move to a new transport.
            self.abort_upgrade();
        }
        // https://github.com/socketio/engine.io-protocol#closing — the server
        // sends a `close` packet on polling.
        if self.transport == Transport::Polling && !self.get_waiting {
            self.outbox
                .push_back(OwnedPacket::simple(PacketType::Close));
            self.closing_deadline = Some(now.saturating_add(self.config.ping_timeout));
            self.next_ping = None;
            self.heartbeat_deadline = None;
            self.events
                .push_back(SessionEvent::Closed(CloseReason::ForcedClose));
            return;
        }
        if self.transport == Transport::Polling {
            self.outbox
                .push_back(OwnedPacket::simple(PacketType::Close));
            self.get_waiting = false;
            let response = self.drain_response();
            self.finished_polls.push_back(response);
        }
        self.terminate(CloseReason::ForcedClose, PacketType::Close);
    }

    /// Handles one HTTP request that carries this session's sid. A request
    /// that does not fit the session (another transport, after an upgrade, a
    /// closed session) is answered with the reference server's error.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::engineio::{Method, Reply, RequestInfo, ServerConfig, ServerSession};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let body = Bytes::new();
    /// let req = RequestInfo { method: Method::Get, query: "EIO=4&transport=polling&sid=ZmTr8qX2vN5kL0bW7pYc3A", content_type: None, body: &body };
    /// let Reply::Respond(r) = s.handle_request(&req, core::time::Duration::ZERO) else { panic!() };
    /// assert_eq!(&r.body[..], br#"{"code":3,"message":"Bad request"}"#);
    /// ```
    pub fn handle_request(&mut self, request: &RequestInfo<'_>, now: Duration) -> Reply {
        self.handle_timeout(now);
        match self.route_request(request, now) {
            Ok(reply) => reply,
            Err(error) => Reply::Respond(Response::error(&error)),
        }
    }

    fn route_request(&mut self, request: &RequestInfo<'_>, now: Duration) -> Result<Reply, Error> {
        let transport = self
            .config
            .check_transport(request.query_param("transport"))?;
        if self.closed {
            return Err(Error::UnknownSid);
        }
        // server.ts verify: a request whose transport differs from the session's
        // (e.g. polling after the upgrade) is a bad request (EIOP4 "Upgrade").
        if transport != Transport::Polling || self.transport != Transport::Polling {
            return Err(Error::BadRequest);
        }
        Ok(match request.method {
            Method::Get => self.poll_get(),
            Method::Post => Reply::Respond(self.poll_post(request, now)),
            Method::Other => Reply::Respond(Response::bare(500)),
        })
    }

    fn poll_get(&mut self) -> Reply {
        // A parked GET whose answer the glue has not taken yet is answered,
        // so this one is no overlap.
        self.answer_parked_get();
        if self.get_waiting {
            // polling.ts onPollRequest: overlapping GET → 400 and the session
            // closes ("overlap from client"); the first GET gets `close`.
            self.terminate(
                CloseReason::TransportError("overlap from client"),
                PacketType::Close,
            );
            return Reply::Respond(Response::bare(400));
        }
        if self.closing_deadline.is_some() {
            let response = self.drain_response();
            // The `Closed` event went out with `close`.
            self.closed = true;
            return Reply::Respond(response);
        }
        if matches!(self.upgrade, Upgrade::Probed { .. }) && self.outbox.is_empty() {
            // https://github.com/socketio/engine.io-protocol#upgrade — polls
            // during the upgrade end with a noop (socket.ts writes it within
            // 100 ms; here at once). What is buffered still goes out on
            // polling, as socket.ts flushes to a writable polling transport.
            return Reply::Respond(self.single_response(Packet::Noop));
        }
        if self.outbox.is_empty() {
            self.get_waiting = true;
            return Reply::Wait;
        }
        Reply::Respond(self.drain_response())
    }

    fn poll_post(&mut self, request: &RequestInfo<'_>, now: Duration) -> Response {
        let limits = self.config.limits();
        if request.body.len() > limits.max_payload {
            // polling.ts onDataRequest: a body over maxHttpBufferSize gets 413.
            return Response::error(&Error::PayloadTooLarge {
                len: request.body.len() as u64,
                max: limits.max_payload as u64,
            });
        }
        if self.closing_deadline.is_some() {
            return Response::ok();
        }
        let binary_body = request.content_type == Some("application/octet-stream");
        let version = self.version;
        if binary_body && version == EngineIoVersion::V4 {
            // https://github.com/socketio/engine.io-protocol#http-long-polling-1
            // — v4 polling bodies are text; polling.ts: "invalid content".
            self.terminate(
                CloseReason::TransportError("invalid content"),
                PacketType::Close,
            );
            return Response::bare(400);
        }
        let jsonp_text;
        let decoder = if self.jsonp.is_some() {
            match Jsonp::decode_body(request.body) {
                Ok(text) => {
                    jsonp_text = text;
                    PayloadDecoder::from_text(&jsonp_text, version, limits)
                }
                Err(_) => {
                    self.terminate(CloseReason::ParseError, PacketType::Close);
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
                    self.handle_packet(packet, now);
                    if self.closed {
                        break;
                    }
                }
                Err(_) => {
                    // A payload that does not decode closes the session ("parse
                    // error"); the POST itself still gets `200 ok` like the JS server.
                    self.terminate(CloseReason::ParseError, PacketType::Close);
                    break;
                }
            }
        }
        Response::ok()
    }

    /// Handles one packet from the client on its active transport.
    fn handle_packet(&mut self, packet: Packet<'_>, now: Duration) {
        if let Some(data) = MessageData::of_packet(&packet) {
            self.events.push_back(SessionEvent::Message(data));
            return;
        }
        // https://github.com/socketio/engine.io-protocol#heartbeat — in v4 the
        // server pings and the client answers; v3 goes the other way
        // (https://github.com/socketio/engine.io-protocol/tree/v3#timeouts).
        // socket.ts closes on "invalid heartbeat direction".
        let client_heartbeat = match self.version {
            EngineIoVersion::V4 => PacketType::Pong,
            EngineIoVersion::V3 => PacketType::Ping,
        };
        match packet {
            Packet::Ping(_) | Packet::Pong(_) if packet.packet_type() != client_heartbeat => {
                self.terminate(
                    CloseReason::TransportError("invalid heartbeat direction"),
                    PacketType::Close,
                );
            }
            Packet::Ping(_) => {
                // v3: the server answers each ping and expects the next within
                // pingInterval + pingTimeout.
                self.heartbeat_deadline = Some(v3_heartbeat_deadline(&self.config, now));
                self.enqueue_reply(OwnedPacket::simple(PacketType::Pong));
            }
            Packet::Pong(_) => {
                if self.heartbeat_deadline.take().is_some() {
                    self.next_ping = Some(now.saturating_add(self.config.ping_interval));
                }
            }
            Packet::Close => {
                // https://github.com/socketio/engine.io-protocol#closing — on
                // polling the pending GET ends with a noop.
                self.terminate(CloseReason::TransportClose, PacketType::Noop);
            }
            // The reference server ignores these from a client.
            Packet::Open(_)
            | Packet::Upgrade
            | Packet::Noop
            | Packet::Message(_)
            | Packet::Binary(_) => {}
        }
    }

    /// Reports that the parked GET's connection dropped: the session closes
    /// (`transport error`, "poll connection closed prematurely").
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// s.handle_poll_aborted(); // no GET parked: ignored
    /// assert!(!s.is_closed());
    /// ```
    pub fn handle_poll_aborted(&mut self) {
        if !self.get_waiting {
            return;
        }
        self.get_waiting = false;
        self.terminate(
            CloseReason::TransportError("poll connection closed prematurely"),
            PacketType::Close,
        );
    }

    /// A WebSocket upgrade request carries this session's sid (query string
    /// only), before the glue accepts it. [`WebSocketOpen::Attach`] starts the
    /// upgrade of this polling session with a new socket (pass its id with
    /// that socket's messages and close); [`WebSocketOpen::AcceptThenClose`]
    /// (the session already has a WebSocket — probing, upgraded, or opened on
    /// one — or is closing) asks the glue to complete the WebSocket handshake
    /// and close the socket at once, leaving the session alone, as the
    /// reference server does. On `Err` (a closed session, another transport),
    /// refuse the upgrade with [`Response::upgrade_error`]. Once a probe is
    /// aborted a new socket may try, and the aborted socket's late input is
    /// ignored. Deadlines at or before `now` are applied first
    /// ([`ServerSession::handle_timeout`]).
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession, WebSocketOpen};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// // A second WebSocket for a WebSocket session is accepted, then closed.
    /// assert_eq!(s.handle_websocket_open("EIO=4&transport=websocket&sid=ZmTr8qX2vN5kL0bW7pYc3A", core::time::Duration::ZERO), Ok(WebSocketOpen::AcceptThenClose));
    /// ```
    pub fn handle_websocket_open(
        &mut self,
        query: &str,
        now: Duration,
    ) -> Result<WebSocketOpen, Error> {
        self.handle_timeout(now);
        if self
            .config
            .check_transport(query_param(query, "transport"))?
            != Transport::WebSocket
        {
            return Err(Error::BadRequest);
        }
        if self.closed {
            // server.ts verify: the sid of a closed session is unknown.
            return Err(Error::UnknownSid);
        }
        // server.ts onWebSocket: a WebSocket for a session that is upgrading or
        // has upgraded is accepted, then closed ("transport has already been
        // trying to upgrade", "transport had already been upgraded"). A
        // session opened on a WebSocket, or closing, is treated the same way:
        // it never moves to another socket.
        if self.transport != Transport::Polling
            || self.upgrade != Upgrade::None
            || self.closing_deadline.is_some()
        {
            return Ok(WebSocketOpen::AcceptThenClose);
        }
        self.upgrade = Upgrade::Opened {
            deadline: now.saturating_add(self.config.upgrade_timeout),
        };
        self.probe_supports_binary = query_param(query, "b64").is_none();
        Ok(WebSocketOpen::Attach(self.attach_websocket()))
    }

    /// A text message arrived on WebSocket `ws` (ignored unless it is the
    /// session's current one). A message over
    /// [`ServerConfig::max_payload`] closes the session and returns
    /// [`Error::PayloadTooLarge`] (close the socket with 1009).
    ///
    /// ```
    /// use socketwire::engineio::{MessageData, ServerConfig, ServerSession, SessionEvent};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let ws = s.websocket().unwrap();
    /// s.handle_websocket_text(ws, "4hi", core::time::Duration::ZERO).unwrap();
    /// assert_eq!(s.poll_event(), Some(SessionEvent::Message(MessageData::Text("hi".into()))));
    /// ```
    pub fn handle_websocket_text(
        &mut self,
        ws: WebSocketId,
        text: &str,
        now: Duration,
    ) -> Result<(), Error> {
        self.handle_timeout(now);
        if !self.accepts_from(ws)? {
            return Ok(());
        }
        self.check_websocket_message(text.len())?;
        let packet = Packet::decode_text(text, self.version);
        self.handle_websocket_packet(packet, now)
    }

    /// A binary message arrived on WebSocket `ws` (ignored unless it is the
    /// session's current one).
    ///
    /// ```
    /// use socketwire::engineio::{MessageData, ServerConfig, ServerSession, SessionEvent};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let ws = s.websocket().unwrap();
    /// s.handle_websocket_binary(ws, bytes::Bytes::from_static(&[7]), core::time::Duration::ZERO).unwrap();
    /// assert!(matches!(s.poll_event(), Some(SessionEvent::Message(MessageData::Binary(_)))));
    /// ```
    pub fn handle_websocket_binary(
        &mut self,
        ws: WebSocketId,
        data: Bytes,
        now: Duration,
    ) -> Result<(), Error> {
        self.handle_timeout(now);
        if !self.accepts_from(ws)? {
            return Ok(());
        }
        self.check_websocket_message(data.len())?;
        let packet = Packet::decode_binary(&data, self.version);
        self.handle_websocket_packet(packet, now)
    }

    /// Checks a WebSocket message against `max_payload` (the reference
    /// server's WebSocket `maxPayload`): a larger message closes the session.
    fn check_websocket_message(&mut self, len: usize) -> Result<(), Error> {
        if len > self.config.max_payload && !self.closed {
            self.terminate(
                CloseReason::TransportError("message too big"),
                PacketType::Close,
            );
            return Err(Error::PayloadTooLarge {
                len: len as u64,
                max: self.config.max_payload as u64,
            });
        }
        Ok(())
    }

    fn handle_websocket_packet(
        &mut self,
        packet: Result<Packet<'_>, Error>,
        now: Duration,
    ) -> Result<(), Error> {
        if self.closed {
            // The socket is being closed; late messages are dropped.
            return Ok(());
        }
        if self.transport == Transport::WebSocket {
            match packet {
                Ok(packet) => self.handle_packet(packet, now),
                Err(_) => self.terminate(CloseReason::ParseError, PacketType::Close),
            }
            return Ok(());
        }
        match (self.upgrade, packet) {
            (
                Upgrade::Opened { deadline } | Upgrade::Probed { deadline },
                Ok(Packet::Ping("probe")),
            ) => {
                // https://github.com/socketio/engine.io-protocol#upgrade — answer
                // `2probe` with `3probe` on the new transport and end the pending
                // GET with a noop. socket.ts _maybeUpgrade answers every probe,
                // a second one too, and keeps the upgrade timer running.
                self.upgrade = Upgrade::Probed { deadline };
                let output = websocket_output(&Packet::Pong("probe"), self.version, true);
                self.websocket_out.push_back(output);
                self.end_parked_get(PacketType::Noop);
            }
            (Upgrade::Opened { .. } | Upgrade::Probed { .. }, Ok(Packet::Upgrade)) => {
                self.transport = Transport::WebSocket;
                self.upgrade = Upgrade::None;
                self.supports_binary = self.probe_supports_binary;
                self.jsonp = None;
                // socket.ts clearTransport closes the polling transport; a GET
                // still parked gets its `close` packet (polling.ts doClose).
                self.end_parked_get(PacketType::Close);
                // Flush what was buffered for polling on the new transport.
                let (version, binary) = (self.version, self.supports_binary);
                for packet in self.outbox.take_all() {
                    let output = websocket_output_owned(packet, version, binary);
                    self.websocket_out.push_back(output);
                }
                self.events.push_back(SessionEvent::Upgraded);
            }
            (Upgrade::Opened { .. } | Upgrade::Probed { .. }, _) => {
                // socket.ts _maybeUpgrade: any other packet aborts the upgrade.
                self.abort_upgrade();
            }
            (Upgrade::None, _) => return Err(ApiMisuse::NoWebSocket.into()),
        }
        Ok(())
    }

    /// Ends the parked GET, if any, with one packet of `kind`.
    fn end_parked_get(&mut self, kind: PacketType) {
        if self.get_waiting {
            self.get_waiting = false;
            let response = self.single_response(OwnedPacket::simple(kind).borrowed());
            self.finished_polls.push_back(response);
        }
    }

    fn abort_upgrade(&mut self) {
        self.upgrade = Upgrade::None;
        // The probing socket is being closed: nothing more from it counts.
        self.websocket = None;
        self.websocket_out.push_back(WebSocketOutput::Close);
    }

    /// WebSocket `ws` closed (by the peer or the network). If it is the
    /// session's current one, a WebSocket session ends and a probing WebSocket
    /// aborts the upgrade; the close of a stale socket is ignored.
    ///
    /// ```
    /// use socketwire::engineio::{CloseReason, ServerConfig, ServerSession, SessionEvent};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// s.handle_websocket_closed(s.websocket().unwrap());
    /// assert_eq!(s.poll_event(), Some(SessionEvent::Closed(CloseReason::TransportClose)));
    /// ```
    pub fn handle_websocket_closed(&mut self, ws: WebSocketId) {
        if self.closed || self.accepts_from(ws) != Ok(true) {
            return;
        }
        self.websocket = None;
        if self.transport == Transport::WebSocket {
            self.finish(CloseReason::TransportClose);
        } else if self.upgrade != Upgrade::None {
            self.upgrade = Upgrade::None;
        }
    }

    /// Fires every deadline at or before `now`, earliest first and each at its
    /// own time: v4 pings (whose pong is due `ping_timeout` after the ping was
    /// due), heartbeat timeouts, the upgrade timeout, and the end of a closing
    /// session. Inputs and commands taking `now` call it first themselves.
    ///
    /// ```
    /// use socketwire::engineio::{CloseReason, ServerConfig, ServerSession, SessionEvent, WebSocketOutput};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// let _open = s.poll_websocket();
    /// let ping_at = s.poll_timeout().unwrap();
    /// s.handle_timeout(ping_at);
    /// assert_eq!(s.poll_websocket(), Some(WebSocketOutput::Text("2".into())));
    /// s.handle_timeout(s.poll_timeout().unwrap()); // no pong in time
    /// assert_eq!(s.poll_event(), Some(SessionEvent::Closed(CloseReason::PingTimeout)));
    /// ```
    pub fn handle_timeout(&mut self, now: Duration) {
        // Each deadline fires at its own time, earliest first, so one late
        // call has the outcome of timely calls at every deadline. Each firing
        // closes the session or clears the deadline it fired (a ping arms the
        // heartbeat instead), so this ends within four rounds.
        while let Some(due) = self.poll_timeout().filter(|due| *due <= now) {
            self.fire_deadline(due);
            // What a deadline queued (a ping) answers a parked GET at once,
            // so what follows sees the same session as after a timer call
            // at `due` whose output was drained.
            self.answer_parked_get();
        }
    }

    /// Moves what is buffered into the parked GET's response, if both exist:
    /// socket.ts flushes to a waiting GET at once, so a GET with an answer
    /// ready counts as answered (taken with [`ServerSession::poll_long_poll`]).
    fn answer_parked_get(&mut self) {
        if self.get_waiting && !self.outbox.is_empty() {
            self.get_waiting = false;
            let response = self.drain_response();
            self.finished_polls.push_back(response);
        }
    }

    /// Fires the deadline(s) due at `due`, the earliest one.
    fn fire_deadline(&mut self, due: Duration) {
        if self.closing_deadline.is_some_and(|d| d <= due) {
            // The `Closed` event went out with `close`.
            self.closed = true;
            return;
        }
        if self.heartbeat_deadline.is_some_and(|d| d <= due) {
            self.terminate(CloseReason::PingTimeout, PacketType::Close);
            return;
        }
        if let Upgrade::Opened { deadline } | Upgrade::Probed { deadline } = self.upgrade
            && deadline <= due
        {
            self.abort_upgrade();
        }
        if self.next_ping.is_some_and(|d| d <= due) {
            // https://github.com/socketio/engine.io-protocol#heartbeat — ping
            // every pingInterval, expect a pong within pingTimeout (counted
            // from when the ping was due, not from when the timer ran).
            self.next_ping = None;
            self.heartbeat_deadline = Some(due.saturating_add(self.config.ping_timeout));
            self.enqueue_reply(OwnedPacket::Text(PacketType::Ping, String::new()));
        }
    }

    /// The next deadline: call [`ServerSession::handle_timeout`] then.
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert_eq!(s.poll_timeout(), Some(core::time::Duration::from_secs(25)));
    /// ```
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.closed {
            return None;
        }
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

    /// The next application event.
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert_eq!(s.poll_event(), None);
    /// ```
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Whether [`ServerSession::poll_long_poll`] has a response now.
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert!(!s.has_long_poll());
    /// ```
    pub fn has_long_poll(&self) -> bool {
        !self.finished_polls.is_empty() || (self.get_waiting && !self.outbox.is_empty())
    }

    /// The response for the GET that was told to [`Reply::Wait`], once it has
    /// one (everything buffered so far goes into it).
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert_eq!(s.poll_long_poll(), None);
    /// ```
    pub fn poll_long_poll(&mut self) -> Option<Response> {
        if let Some(done) = self.finished_polls.pop_front() {
            return Some(done);
        }
        if !self.get_waiting || self.outbox.is_empty() {
            return None;
        }
        self.get_waiting = false;
        Some(self.drain_response())
    }

    /// The next message (or close) to write on the session's WebSocket (the
    /// probing one during an upgrade).
    ///
    /// ```
    /// use socketwire::engineio::{ServerConfig, ServerSession, WebSocketOutput};
    /// let mut s = ServerSession::open_websocket(&ServerConfig::default(), "EIO=4&transport=websocket", core::time::Duration::ZERO, || "ZmTr8qX2vN5kL0bW7pYc3A".into()).unwrap();
    /// assert!(matches!(s.poll_websocket(), Some(WebSocketOutput::Text(_)))); // the open packet
    /// assert_eq!(s.poll_websocket(), None);
    /// ```
    pub fn poll_websocket(&mut self) -> Option<WebSocketOutput> {
        self.websocket_out.pop_front()
    }
}

/// v3: the next client ping is due within pingInterval + pingTimeout.
fn v3_heartbeat_deadline(config: &ServerConfig, now: Duration) -> Duration {
    // https://github.com/socketio/engine.io-protocol/tree/v3#timeouts
    now.saturating_add(config.ping_interval)
        .saturating_add(config.ping_timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_saturate() {
        let config = ServerConfig {
            ping_interval: Duration::MAX,
            ping_timeout: Duration::MAX,
            upgrade_timeout: Duration::MAX,
            allow_eio3: true,
            ..ServerConfig::default()
        };
        let now = Duration::from_secs(5);
        let v4 =
            ServerSession::open_websocket(&config, "EIO=4&transport=websocket", now, || "a".into())
                .unwrap();
        assert_eq!(v4.poll_timeout(), Some(Duration::MAX));
        let mut v3 =
            ServerSession::open_websocket(&config, "EIO=3&transport=websocket", now, || "b".into())
                .unwrap();
        v3.handle_websocket_text(v3.websocket().unwrap(), "2", now)
            .unwrap();
        assert_eq!(v3.poll_timeout(), Some(Duration::MAX));
        v3.close(now);
        assert!(v3.is_closed());
    }
}
