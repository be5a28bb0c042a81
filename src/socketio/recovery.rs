//! Connection state recovery (socket.io ≥ 4.6, Socket.IO v5), sans-IO: the
//! log of recoverable packets with their offsets, and the sessions of sockets
//! that went away, kept for `max_disconnection_duration`.
//! See [`RecoveryStore`] for the whole flow.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use super::binary::EncodedPacket;
use super::parser::Parser;
use super::rooms::Broadcast;
use super::value::Value;

/// The longest `pid` a CONNECT may carry (bytes); a longer one is
/// [`InvalidResume::PidTooLong`] and the CONNECT is an ordinary one.
///
/// ```
/// use socketwire::socketio::{InvalidResume, MAX_PID_LEN, ResumeRequest, Value};
/// let pid = "p".repeat(MAX_PID_LEN + 1);
/// let auth = Value::Object(vec![("pid".into(), pid.into()), ("offset".into(), "0".into())]);
/// assert_eq!(ResumeRequest::from_auth(&auth), Err(InvalidResume::PidTooLong));
/// ```
pub const MAX_PID_LEN: usize = 64;

/// The longest offset a CONNECT may carry (bytes): two `u64` in decimal and
/// a dash (a stream id).
///
/// ```
/// use socketwire::socketio::{MAX_OFFSET_LEN, Offset};
/// let longest = format!("{}-{}", u64::MAX, u64::MAX);
/// assert_eq!(longest.len(), MAX_OFFSET_LEN);
/// assert!(Offset::parse(&longest).is_ok());
/// ```
pub const MAX_OFFSET_LEN: usize = 41;

/// The position of a recorded packet: what the client sends back as `offset`.
///
/// ```
/// use socketwire::socketio::Offset;
/// assert_eq!(Offset::parse("42"), Ok(Offset::Sequence(42)));
/// assert_eq!(Offset::parse("1700000000000-3"), Ok(Offset::Stream { millis: 1_700_000_000_000, seq: 3 }));
/// assert_eq!(Offset::Sequence(7).to_string(), "7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Offset {
    /// A per-server counter ([`RecoveryStore`], the in-memory log), decimal.
    Sequence(u64),
    /// A Redis stream entry id `<millis>-<seq>` (the streams adapter).
    Stream {
        /// The entry's milliseconds part.
        millis: u64,
        /// The entry's sequence part.
        seq: u64,
    },
}

/// Why a string is not an [`Offset`].
///
/// ```
/// use socketwire::socketio::{Offset, OffsetError};
/// assert_eq!(Offset::parse("01"), Err(OffsetError::NotCanonical));
/// assert_eq!(Offset::parse("99999999999999999999"), Err(OffsetError::Overflow));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetError {
    /// Empty, or an empty part around the dash.
    Empty,
    /// Longer than [`MAX_OFFSET_LEN`].
    TooLong,
    /// A character other than a decimal digit (and one dash).
    NotDigits,
    /// A leading zero: one offset has one spelling, so offsets compare as tokens.
    NotCanonical,
    /// A number past `u64::MAX`.
    Overflow,
}

impl fmt::Display for OffsetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OffsetError::Empty => "empty offset",
            OffsetError::TooLong => "offset too long",
            OffsetError::NotDigits => "offset is not decimal digits",
            OffsetError::NotCanonical => "offset has a leading zero",
            OffsetError::Overflow => "offset past u64::MAX",
        })
    }
}

impl core::error::Error for OffsetError {}

/// One canonical decimal `u64`, read digit by digit.
fn parse_decimal(text: &str) -> Result<u64, OffsetError> {
    let bytes = text.as_bytes();
    match bytes {
        [] => return Err(OffsetError::Empty),
        [b'0', _, ..] => return Err(OffsetError::NotCanonical),
        _ => {}
    }
    bytes.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(OffsetError::NotDigits);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(OffsetError::Overflow)
    })
}

impl Offset {
    /// Reads an offset: `<u64>` or `<u64>-<u64>`, canonical decimal, at most
    /// [`MAX_OFFSET_LEN`] bytes (checked before anything else is read).
    ///
    /// ```
    /// use socketwire::socketio::{Offset, OffsetError};
    /// assert_eq!(Offset::parse("1-2-3"), Err(OffsetError::NotDigits));
    /// assert_eq!(Offset::parse(&"9".repeat(1000)), Err(OffsetError::TooLong));
    /// ```
    pub fn parse(text: &str) -> Result<Offset, OffsetError> {
        if text.len() > MAX_OFFSET_LEN {
            return Err(OffsetError::TooLong);
        }
        match text.split_once('-') {
            None => parse_decimal(text).map(Offset::Sequence),
            Some((millis, seq)) => Ok(Offset::Stream {
                millis: parse_decimal(millis)?,
                seq: parse_decimal(seq)?,
            }),
        }
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Offset::Sequence(n) => write!(f, "{n}"),
            Offset::Stream { millis, seq } => write!(f, "{millis}-{seq}"),
        }
    }
}

/// Why a CONNECT's `pid` / `offset` were not read as a resume (the CONNECT
/// is then an ordinary one, as socket.io does when they are not strings).
///
/// ```
/// use socketwire::socketio::{InvalidResume, ResumeRequest, Value};
/// let auth: Value = serde_json::json!({"pid": 1, "offset": "0"}).into();
/// assert_eq!(ResumeRequest::from_auth(&auth), Err(InvalidResume::NotAString));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidResume {
    /// `pid` or `offset` is not a string.
    NotAString,
    /// `pid` is empty or longer than [`MAX_PID_LEN`].
    PidTooLong,
    /// `offset` is not an [`Offset`].
    Offset(OffsetError),
}

impl fmt::Display for InvalidResume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidResume::NotAString => f.write_str("pid or offset is not a string"),
            InvalidResume::PidTooLong => f.write_str("pid is empty or too long"),
            InvalidResume::Offset(e) => write!(f, "bad offset: {e}"),
        }
    }
}

impl core::error::Error for InvalidResume {}

/// What a returning client asks for: its private session id and the offset
/// of the last packet it handled.
///
/// ```
/// use socketwire::socketio::{Offset, ResumeRequest, Value};
/// let auth: Value = serde_json::json!({"pid": "p", "offset": "12", "token": "t"}).into();
/// let request = ResumeRequest::from_auth(&auth).unwrap().unwrap();
/// assert_eq!((request.pid.as_str(), request.offset), ("p", Offset::Sequence(12)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRequest {
    /// The `pid` the server gave in its CONNECT reply.
    pub pid: String,
    /// The offset of the last packet the client handled.
    pub offset: Offset,
}

impl ResumeRequest {
    /// Reads `pid` and `offset` from a v5 CONNECT's auth: `Ok(None)` when
    /// either is absent (a first connection, or a client that never got a
    /// recorded packet: socket.io-client then sends no offset), an error when
    /// they are there but unusable. Bounded: the lengths are checked before
    /// anything is copied.
    ///
    /// ```
    /// use socketwire::socketio::{ResumeRequest, Value};
    /// assert_eq!(ResumeRequest::from_auth(&Value::object()), Ok(None));
    /// ```
    pub fn from_auth(auth: &Value) -> Result<Option<ResumeRequest>, InvalidResume> {
        let (Some(pid), Some(offset)) = (auth.get("pid"), auth.get("offset")) else {
            return Ok(None);
        };
        let (Some(pid), Some(offset)) = (pid.as_str(), offset.as_str()) else {
            return Err(InvalidResume::NotAString);
        };
        if pid.is_empty() || pid.len() > MAX_PID_LEN {
            return Err(InvalidResume::PidTooLong);
        }
        let offset = Offset::parse(offset).map_err(InvalidResume::Offset)?;
        Ok(Some(ResumeRequest {
            pid: pid.into(),
            offset,
        }))
    }
}

/// Who a recorded packet was for, in room names: the members of any of
/// `rooms` (none: the whole namespace) who are in none of `except`. Every
/// socket counts as a member of the room named by its own id, so a packet for
/// one socket is `PacketTarget::socket(sid)` and "everyone but the sender"
/// excepts the sender's id (socket.io's rooms `{socket.id}`).
///
/// ```
/// use socketwire::socketio::PacketTarget;
/// let target = PacketTarget::all().to("r").except("muted");
/// assert!(target.includes("a", ["r"]));
/// assert!(!target.includes("b", ["r", "muted"]));
/// assert!(PacketTarget::socket("a").includes("a", [] as [&str; 0]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketTarget {
    rooms: Vec<String>,
    except: Vec<String>,
}

impl PacketTarget {
    /// The whole namespace.
    ///
    /// ```
    /// assert!(socketwire::socketio::PacketTarget::all().includes("x", ["y"]));
    /// ```
    pub fn all() -> Self {
        PacketTarget::default()
    }

    /// One socket, by its id.
    ///
    /// ```
    /// assert!(!socketwire::socketio::PacketTarget::socket("a").includes("b", ["a2"]));
    /// ```
    pub fn socket(sid: &str) -> Self {
        PacketTarget::all().to(sid)
    }

    /// Adds `room` to the rooms reached.
    ///
    /// ```
    /// assert!(socketwire::socketio::PacketTarget::all().to("r").includes("a", ["r"]));
    /// ```
    #[must_use = "returns the narrowed target"]
    pub fn to(mut self, room: impl Into<String>) -> Self {
        self.rooms.push(room.into());
        self
    }

    /// Leaves out the members of `room` (a socket id: that socket).
    ///
    /// ```
    /// assert!(!socketwire::socketio::PacketTarget::all().except("a").includes("a", ["r"]));
    /// ```
    #[must_use = "returns the narrowed target"]
    pub fn except(mut self, room: impl Into<String>) -> Self {
        self.except.push(room.into());
        self
    }

    /// The same addressees as a [`Broadcast`] of a [`RoomRegistry`], with the
    /// excepted socket (if any) named by its id through `socket_id`.
    ///
    /// [`RoomRegistry`]: super::RoomRegistry
    ///
    /// ```
    /// use socketwire::socketio::{Broadcast, PacketTarget};
    /// let b = Broadcast::all().to("r").except_socket(7u32);
    /// let t = PacketTarget::from_broadcast(&b, |id| format!("sid-{id}"));
    /// assert_eq!(t, PacketTarget::all().to("r").except("sid-7"));
    /// ```
    pub fn from_broadcast<S>(target: &Broadcast<S>, socket_id: impl Fn(&S) -> String) -> Self {
        PacketTarget {
            rooms: target.rooms().to_vec(),
            except: target
                .except_rooms()
                .iter()
                .cloned()
                .chain(target.excepted_socket().map(socket_id))
                .collect(),
        }
    }

    /// The rule of what a socket is sent, live and on replay (socket.io's
    /// `shouldIncludePacket`): socket `sid`, in `rooms`, is a recipient if the
    /// target names no room or one of its rooms (its id included), and names
    /// none of them in `except`.
    ///
    /// ```
    /// use socketwire::socketio::PacketTarget;
    /// assert!(!PacketTarget::all().to("r").includes("a", ["s"]));
    /// ```
    pub fn includes<'a>(
        &self,
        sid: &str,
        rooms: impl IntoIterator<Item = &'a str> + Clone,
    ) -> bool {
        self.includes_member(|room| room == sid || rooms.clone().into_iter().any(|r| r == room))
    }

    /// [`includes`](Self::includes) with the membership test given (the
    /// socket's own id counts as one of its rooms).
    fn includes_member(&self, is_member: impl Fn(&str) -> bool) -> bool {
        let member = |room: &String| is_member(room);
        (self.rooms.is_empty() || self.rooms.iter().any(member)) && !self.except.iter().any(member)
    }

    /// The bytes this target holds (its room names).
    fn bytes(&self) -> usize {
        self.rooms.iter().chain(&self.except).map(String::len).sum()
    }
}

/// A socket that went away for a recoverable reason, as it was: what
/// [`RecoveryStore::persist`] keeps and [`RecoveryStore::restore`] gives
/// back.
///
/// ```
/// use socketwire::socketio::DisconnectedSession;
/// let s = DisconnectedSession::new("/", "sid", "pid", vec!["room".into()]);
/// assert_eq!(s.data, socketwire::socketio::Value::Null);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DisconnectedSession {
    /// The namespace.
    pub namespace: String,
    /// The socket id (restored as the new socket's id).
    pub sid: String,
    /// The private session id.
    pub pid: String,
    /// The rooms it was in (its own id may be among them or not).
    pub rooms: Vec<String>,
    /// The application's data attached to the socket (socket.io `socket.data`).
    pub data: Value,
}

impl DisconnectedSession {
    /// A session with no data.
    ///
    /// ```
    /// let s = socketwire::socketio::DisconnectedSession::new("/", "s", "p", vec![]);
    /// assert_eq!(s.pid, "p");
    /// ```
    pub fn new(namespace: &str, sid: &str, pid: &str, rooms: Vec<String>) -> Self {
        DisconnectedSession {
            namespace: namespace.into(),
            sid: sid.into(),
            pid: pid.into(),
            rooms,
            data: Value::Null,
        }
    }

    fn bytes(&self) -> usize {
        self.namespace.len()
            + self.sid.len()
            + self.pid.len()
            + self.rooms.iter().map(String::len).sum::<usize>()
    }
}

/// A restored session: accept it with
/// [`ServerSession::accept_recovered`](super::ServerSession::accept_recovered),
/// which sends `missed` after the CONNECT reply; put the socket back in `rooms`.
///
/// ```
/// use core::time::Duration;
/// use socketwire::socketio::{DisconnectedSession, Offset, RecoveryConfig, RecoveryStore, ResumeRequest};
/// let mut store = RecoveryStore::new(RecoveryConfig::default(), 5);
/// store.persist(DisconnectedSession::new("/", "s", "p", vec![]), Duration::ZERO);
/// let request = ResumeRequest { pid: "p".into(), offset: Offset::Sequence(4) };
/// let restored = store.restore("/", &request, Duration::ZERO).unwrap();
/// assert!(restored.missed.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredSession {
    /// The socket id.
    pub sid: String,
    /// The private session id (the client compares it to set `recovered`).
    pub pid: String,
    /// The rooms to rejoin.
    pub rooms: Vec<String>,
    /// The application's data.
    pub data: Value,
    /// The packets recorded after the client's offset that target it, in order.
    pub missed: Vec<EncodedPacket>,
}

/// Why [`RecoveryStore::restore`] gave nothing back: the client is accepted
/// as a new socket.
///
/// ```
/// use socketwire::socketio::NotRecovered;
/// assert_ne!(NotRecovered::UnknownSession, NotRecovered::Expired);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotRecovered {
    /// No session with this pid on this namespace (never, already restored,
    /// or dropped by the sessions cap).
    UnknownSession,
    /// The session went away more than `max_disconnection_duration` ago.
    Expired,
    /// Packets after the offset are no longer in the log (expired or dropped
    /// by a cap), the offset is ahead of the log, or it is of a kind this
    /// store does not issue.
    OffsetUnavailable,
}

impl fmt::Display for NotRecovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotRecovered::UnknownSession => "unknown session",
            NotRecovered::Expired => "session expired",
            NotRecovered::OffsetUnavailable => "offset no longer available",
        })
    }
}

impl core::error::Error for NotRecovered {}

/// What the store dropped to stay within its caps or its window.
///
/// ```
/// assert!(socketwire::socketio::Evicted::default().is_empty());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Evicted {
    /// Packets dropped from the log (the oldest first).
    pub packets: usize,
    /// Sessions dropped.
    pub sessions: usize,
}

impl Evicted {
    /// Nothing was dropped.
    ///
    /// ```
    /// let e = socketwire::socketio::Evicted { packets: 1, sessions: 0 };
    /// assert!(!e.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.packets == 0 && self.sessions == 0
    }
}

/// A packet recorded by [`RecoveryStore::record_event`]: send `packet` to the
/// live recipients (it carries `offset`).
///
/// ```
/// use core::time::Duration;
/// use socketwire::socketio::{Offset, PacketTarget, RecoveryConfig, RecoveryStore};
/// let mut store = RecoveryStore::new(RecoveryConfig::default(), 0);
/// let r = store.record_event("/", PacketTarget::all(), "tick", vec![], Duration::ZERO);
/// assert_eq!((r.offset, r.packet.text()), (Offset::Sequence(0), r#"2["tick","0"]"#));
/// ```
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The packet, offset included, encoded once.
    pub packet: EncodedPacket,
    /// Its offset.
    pub offset: Offset,
    /// What recording it dropped (a packet over `max_bytes` on its own is
    /// sent but not kept: it counts here).
    pub evicted: Evicted,
}

/// The store's bounds.
///
/// ```
/// use core::time::Duration;
/// use socketwire::socketio::RecoveryConfig;
/// let c = RecoveryConfig::default();
/// assert_eq!(c.max_disconnection_duration, Duration::from_secs(120));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a session and a recorded packet are kept (socket.io
    /// `maxDisconnectionDuration`, default 2 min).
    pub max_disconnection_duration: Duration,
    /// Most packets in the log (default 10 000, the streams adapter's `MAXLEN`).
    pub max_packets: usize,
    /// Most bytes in the log: each packet's text and attachments plus its
    /// target's room names (default 16 MiB).
    pub max_bytes: usize,
    /// Most sessions kept (default 10 000).
    pub max_sessions: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            max_packets: 10_000,
            max_bytes: 16 << 20,
            max_sessions: 10_000,
        }
    }
}

#[derive(Debug)]
struct LogEntry {
    namespace: String,
    target: PacketTarget,
    packet: EncodedPacket,
    emitted_at: Duration,
    bytes: usize,
}

#[derive(Debug)]
struct KeptSession {
    session: DisconnectedSession,
    disconnected_at: Duration,
}

/// The in-memory recovery store of one server: the log of recorded packets
/// ([`Offset::Sequence`] offsets, consecutive) and the sessions of sockets
/// that went away.
///
/// Every call that ages something takes `now` and first drops what is older
/// than `max_disconnection_duration`; a `now` earlier than one seen before
/// counts as that one, so the log stays in time order. Costs: recording is
/// O(1) amortized, restoring is O(log sessions + packets after the offset),
/// expiry visits only what expires.
///
/// How it goes, as in socket.io's `SessionAwareAdapter`:
///
/// 1. The server accepts a socket with a private session id `pid` as well as
///    its `sid` ([`ServerSession::accept_with_pid`]); `pid` is never shown to
///    other clients.
/// 2. Each packet eligible for recovery (an EVENT that is not volatile and
///    asks for no ack) is recorded before it is sent
///    ([`RecoveryStore::record_event`]): it gets the next offset, written as
///    the **last element of its data**, so the client remembers the offset of
///    the last packet it handled. The packet is encoded once, offset included,
///    and the same [`EncodedPacket`] goes to the live recipients and into the
///    log.
/// 3. A socket that goes away for a recoverable reason (its transport closed)
///    is kept as a [`DisconnectedSession`] ([`RecoveryStore::persist`]).
/// 4. The client reconnects with `0{"pid":…,"offset":…,…auth}`; with
///    [`ServerConfig::connection_state_recovery`] on, the session reports it
///    as [`ServerEvent::Resume`] with a parsed [`ResumeRequest`].
///    [`RecoveryStore::restore`] takes the session out and collects, in
///    order, every packet after the offset that targeted the socket's rooms;
///    [`ServerSession::accept_recovered`] answers with the old `sid` and `pid`
///    and queues them. The client sees `socket.recovered === true`. If the
///    store cannot restore ([`NotRecovered`]), the application accepts an
///    ordinary new socket (new `sid`, new `pid`) and the client sees
///    `recovered === false`.
///
/// The client (socket.io-client 4.x) does not strip the offset: its event
/// handlers see it as one more argument.
///
/// # Offsets and other stores
///
/// An offset is an [`Offset`]: this in-memory store numbers its packets with
/// consecutive integers ([`Offset::Sequence`], written in decimal), starting
/// at a value the caller picks; a store on Redis Streams (the
/// `@socket.io/redis-streams-adapter` format) uses the stream entry ids
/// ([`Offset::Stream`], `^\d+-\d+$`). [`Offset::parse`] tells the two apart,
/// so a CONNECT's offset is typed before any store looks at it, and a store
/// refuses the kind it does not issue. Such a store keeps the same records
/// ([`DisconnectedSession`], a [`PacketTarget`] per packet) and the same rule
/// for what a session is sent back ([`PacketTarget::includes`]); only where
/// they live changes (`XADD`, `GETDEL sio:session:<pid>`, `XRANGE` from the
/// offset), which is why this module offers types and one in-memory store
/// rather than a trait: a network-backed store answers asynchronously and
/// lives in the runtime crate.
///
/// # Limits
///
/// Everything is bounded ([`RecoveryConfig`]): the log holds at most
/// `max_packets` packets and `max_bytes` bytes (the oldest go first, as a
/// stream's `MAXLEN`); at most `max_sessions` sessions are kept (the oldest
/// go first); both expire after `max_disconnection_duration`. What a cap
/// drops is reported as [`Evicted`]. A session whose packets were dropped
/// can no longer be recovered ([`NotRecovered::OffsetUnavailable`]) and
/// reconnects as a new socket. A CONNECT's `pid` and `offset` are bounded
/// ([`MAX_PID_LEN`], [`MAX_OFFSET_LEN`]) and parsed digit by digit before any
/// lookup.
///
/// There is no clock and no RNG here: every call that ages something takes
/// `now`, and `pid`s come from the caller (a CSPRNG, as socket ids).
///
/// ```
/// use core::time::Duration;
/// use socketwire::socketio::{
///     DisconnectedSession, PacketTarget, RecoveryConfig, RecoveryStore, ServerConfig, ServerEvent,
///     ServerSession, Value,
/// };
/// let config = ServerConfig { connection_state_recovery: true, ..Default::default() };
/// let mut store = RecoveryStore::new(RecoveryConfig::default(), 0);
/// let t = Duration::from_secs(1);
///
/// // First connection: accepted with a pid; one event recorded and sent.
/// let mut s = ServerSession::new(config.clone(), t);
/// s.handle_text("0", t).unwrap();
/// let _ = s.poll_event();
/// s.accept_with_pid("/", "sid-1", "pid-1").unwrap();
/// let first = store.record_event("/", PacketTarget::socket("sid-1"), "news", vec![1u64.into()], t);
/// s.send_encoded(&first.packet).unwrap();
/// let sent: Vec<_> = std::iter::from_fn(|| s.poll_message()).collect();
/// assert_eq!(sent[0].as_text(), Some(r#"0{"sid":"sid-1","pid":"pid-1"}"#));
/// assert_eq!(sent[1].as_text(), Some(r#"2["news",1,"0"]"#));
///
/// // The transport drops; the socket is kept; an event is emitted meanwhile.
/// s.handle_transport_closed();
/// store.persist(DisconnectedSession::new("/", "sid-1", "pid-1", vec!["room".into()]), t);
/// let _missed = store.record_event("/", PacketTarget::all().to("room"), "news", vec![2u64.into()], t);
///
/// // The client comes back with its pid and last offset.
/// let mut s = ServerSession::new(config, t);
/// s.handle_text(r#"0{"pid":"pid-1","offset":"0"}"#, t).unwrap();
/// let Some(ServerEvent::Resume { namespace, request, .. }) = s.poll_event() else { panic!() };
/// let restored = store.restore(&namespace, &request, t).unwrap();
/// assert_eq!(restored.rooms, ["room"]);
/// s.accept_recovered(&namespace, &restored).unwrap();
/// let sent: Vec<_> = std::iter::from_fn(|| s.poll_message()).collect();
/// assert_eq!(sent[0].as_text(), Some(r#"0{"sid":"sid-1","pid":"pid-1"}"#));
/// assert_eq!(sent[1].as_text(), Some(r#"2["news",2,"1"]"#));
/// ```
///
/// [`ServerSession::accept_with_pid`]: super::ServerSession::accept_with_pid
/// [`ServerSession::accept_recovered`]: super::ServerSession::accept_recovered
/// [`ServerConfig::connection_state_recovery`]: super::ServerConfig::connection_state_recovery
/// [`ServerEvent::Resume`]: super::ServerEvent::Resume
///
#[derive(Debug)]
pub struct RecoveryStore {
    config: RecoveryConfig,
    log: VecDeque<LogEntry>,
    log_bytes: usize,
    /// The offset of `log[0]` (or of the next packet when the log is empty).
    first: u64,
    /// The offset the next recorded packet gets.
    next: u64,
    sessions: BTreeMap<(String, String), KeptSession>,
    by_time: BTreeSet<(Duration, String, String)>,
    latest: Duration,
}

impl RecoveryStore {
    /// An empty store whose first packet gets offset `first_offset`. Pick it
    /// at random (any `u64` below 2^63 leaves room for more packets than a
    /// server ever sends) so offsets say nothing about how many packets were
    /// sent since the server started.
    ///
    /// ```
    /// use socketwire::socketio::{RecoveryConfig, RecoveryStore};
    /// let _ = RecoveryStore::new(RecoveryConfig::default(), 0);
    /// ```
    pub fn new(config: RecoveryConfig, first_offset: u64) -> Self {
        RecoveryStore {
            config,
            log: VecDeque::new(),
            log_bytes: 0,
            first: first_offset,
            next: first_offset,
            sessions: BTreeMap::new(),
            by_time: BTreeSet::new(),
            latest: Duration::ZERO,
        }
    }

    /// The configuration.
    ///
    /// ```
    /// use socketwire::socketio::{RecoveryConfig, RecoveryStore};
    /// assert_eq!(RecoveryStore::new(RecoveryConfig::default(), 0).config().max_packets, 10_000);
    /// ```
    pub fn config(&self) -> &RecoveryConfig {
        &self.config
    }

    /// Packets in the log.
    ///
    /// ```
    /// # use socketwire::socketio::{RecoveryConfig, RecoveryStore};
    /// assert_eq!(RecoveryStore::new(RecoveryConfig::default(), 0).packets(), 0);
    /// ```
    pub fn packets(&self) -> usize {
        self.log.len()
    }

    /// Bytes the log counts against `max_bytes`.
    ///
    /// ```
    /// # use socketwire::socketio::{RecoveryConfig, RecoveryStore};
    /// assert_eq!(RecoveryStore::new(RecoveryConfig::default(), 0).bytes(), 0);
    /// ```
    pub fn bytes(&self) -> usize {
        self.log_bytes
    }

    /// Sessions kept.
    ///
    /// ```
    /// # use socketwire::socketio::{RecoveryConfig, RecoveryStore};
    /// assert_eq!(RecoveryStore::new(RecoveryConfig::default(), 0).sessions(), 0);
    /// ```
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// The offset the next recorded packet gets.
    ///
    /// ```
    /// # use socketwire::socketio::{Offset, RecoveryConfig, RecoveryStore};
    /// assert_eq!(RecoveryStore::new(RecoveryConfig::default(), 9).next_offset(), Offset::Sequence(9));
    /// ```
    pub fn next_offset(&self) -> Offset {
        Offset::Sequence(self.next)
    }

    /// `now`, never earlier than a `now` seen before.
    fn clock(&mut self, now: Duration) -> Duration {
        self.latest = self.latest.max(now);
        self.latest
    }

    /// `true` if something stamped `at` is past the window at `now`.
    fn expired(&self, at: Duration, now: Duration) -> bool {
        at.saturating_add(self.config.max_disconnection_duration) < now
    }

    fn pop_packet(&mut self) -> bool {
        let Some(entry) = self.log.pop_front() else {
            return false;
        };
        self.log_bytes -= entry.bytes;
        self.first += 1;
        true
    }

    fn remove_session(&mut self, namespace: &str, pid: &str) -> Option<KeptSession> {
        let kept = self
            .sessions
            .remove(&(String::from(namespace), String::from(pid)))?;
        self.by_time
            .remove(&(kept.disconnected_at, namespace.into(), pid.into()));
        Some(kept)
    }

    /// Drops every packet and session older than `max_disconnection_duration`
    /// at `now` (the other calls do it first themselves).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{PacketTarget, RecoveryConfig, RecoveryStore};
    /// let mut store = RecoveryStore::new(RecoveryConfig::default(), 0);
    /// let _ = store.record_event("/", PacketTarget::all(), "a", vec![], Duration::ZERO);
    /// assert_eq!(store.prune(Duration::from_secs(121)).packets, 1);
    /// ```
    pub fn prune(&mut self, now: Duration) -> Evicted {
        let now = self.clock(now);
        let mut evicted = Evicted::default();
        while self
            .log
            .front()
            .is_some_and(|entry| self.expired(entry.emitted_at, now))
        {
            self.pop_packet();
            evicted.packets += 1;
        }
        while let Some((at, namespace, pid)) = self.by_time.first().cloned() {
            if !self.expired(at, now) {
                break;
            }
            self.remove_session(&namespace, &pid);
            evicted.sessions += 1;
        }
        evicted
    }

    /// Records EVENT `[name, ...args, offset]` for `target` of `namespace`
    /// and returns it encoded once: send [`Recorded::packet`] to the live
    /// recipients (the same packet is replayed to a recovered socket). Only
    /// for packets eligible for recovery: not volatile, no ack.
    ///
    /// Past `max_packets` or `max_bytes` the oldest packets are dropped
    /// ([`Recorded::evicted`]). When the offsets run out (`u64::MAX`), the
    /// log starts again at 0 and every session kept becomes unrecoverable.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{PacketTarget, RecoveryConfig, RecoveryStore};
    /// let config = RecoveryConfig { max_packets: 1, ..RecoveryConfig::default() };
    /// let mut store = RecoveryStore::new(config, 0);
    /// let _ = store.record_event("/", PacketTarget::all(), "a", vec![], Duration::ZERO);
    /// let second = store.record_event("/", PacketTarget::all(), "b", vec![], Duration::ZERO);
    /// assert_eq!((second.evicted.packets, store.packets()), (1, 1));
    /// ```
    pub fn record_event(
        &mut self,
        namespace: &str,
        target: PacketTarget,
        name: &str,
        args: Vec<Value>,
        now: Duration,
    ) -> Recorded {
        self.record_event_in(Parser::Json, namespace, target, name, args, now)
    }

    /// [`record_event`](Self::record_event) encoded in `parser`'s wire
    /// format (the sessions' [`ServerConfig::parser`](super::ServerConfig::parser)).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{PacketTarget, Parser, RecoveryConfig, RecoveryStore};
    /// let mut store = RecoveryStore::new(RecoveryConfig::default(), 7);
    /// let recorded = store.record_event_in(Parser::Json, "/", PacketTarget::all(), "a", vec![], Duration::ZERO);
    /// assert_eq!(recorded.packet.text(), r#"2["a","7"]"#);
    /// ```
    pub fn record_event_in(
        &mut self,
        parser: Parser,
        namespace: &str,
        target: PacketTarget,
        name: &str,
        mut args: Vec<Value>,
        now: Duration,
    ) -> Recorded {
        self.record(namespace, target, now, |offset| {
            // https://socket.io/docs/v4/connection-state-recovery
            // The offset is the last element of the data, so that the client
            // knows the id of the last packet it handled (socket.io-adapter
            // `SessionAwareAdapter.broadcast`).
            args.push(Value::String(offset.to_string()));
            parser.event(namespace, name, &args, None)
        })
    }

    /// [`record_event`](Self::record_event) with the encoding left to
    /// `encode`, which gets the packet's offset: for an encoder other than
    /// [`EncodedPacket::event`] (another wire format). It must put the
    /// offset, as a string, as the last element of the EVENT's data, and is
    /// called once.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{EncodedPacket, PacketTarget, RecoveryConfig, RecoveryStore};
    /// let mut store = RecoveryStore::new(RecoveryConfig::default(), 7);
    /// let recorded = store.record("/", PacketTarget::all(), Duration::ZERO, |offset| {
    ///     EncodedPacket::event("/", "tick", &[offset.to_string().into()], None)
    /// });
    /// assert_eq!(recorded.packet.text(), r#"2["tick","7"]"#);
    /// ```
    pub fn record(
        &mut self,
        namespace: &str,
        target: PacketTarget,
        now: Duration,
        encode: impl FnOnce(Offset) -> EncodedPacket,
    ) -> Recorded {
        let mut evicted = self.prune(now);
        let now = self.latest;
        if self.next == u64::MAX {
            evicted.packets += self.log.len();
            evicted.sessions += self.sessions.len();
            self.log.clear();
            self.log_bytes = 0;
            self.sessions.clear();
            self.by_time.clear();
            self.first = 0;
            self.next = 0;
        }
        let offset = Offset::Sequence(self.next);
        self.next += 1;
        let packet = encode(offset);
        let bytes = packet.buffered_len() + namespace.len() + target.bytes();
        if bytes > self.config.max_bytes || self.config.max_packets == 0 {
            // Too big to keep: sent, not kept; the packets before it can no
            // longer be told apart from it, so they go too.
            evicted.packets += self.log.len() + 1;
            while self.pop_packet() {}
            self.first = self.next;
            return Recorded {
                packet,
                offset,
                evicted,
            };
        }
        while self.log.len() >= self.config.max_packets
            || self.log_bytes + bytes > self.config.max_bytes
        {
            self.pop_packet();
            evicted.packets += 1;
        }
        self.log_bytes += bytes;
        self.log.push_back(LogEntry {
            namespace: namespace.into(),
            target,
            packet: packet.clone(),
            emitted_at: now,
            bytes,
        });
        Recorded {
            packet,
            offset,
            evicted,
        }
    }

    /// Keeps the session of a socket that went away for a recoverable reason
    /// (its transport closed), stamped `now`. A session already kept with the
    /// same namespace and pid is replaced; past `max_sessions` the oldest is
    /// dropped. Sessions count against `max_sessions` only (their rooms are
    /// bounded by the caller's rooms-per-socket cap); one whose names alone
    /// exceed `max_bytes` is not kept.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{DisconnectedSession, RecoveryConfig, RecoveryStore};
    /// let config = RecoveryConfig { max_sessions: 1, ..RecoveryConfig::default() };
    /// let mut store = RecoveryStore::new(config, 0);
    /// store.persist(DisconnectedSession::new("/", "a", "pa", vec![]), Duration::ZERO);
    /// let evicted = store.persist(DisconnectedSession::new("/", "b", "pb", vec![]), Duration::ZERO);
    /// assert_eq!((evicted.sessions, store.sessions()), (1, 1));
    /// ```
    pub fn persist(&mut self, session: DisconnectedSession, now: Duration) -> Evicted {
        let mut evicted = self.prune(now);
        let now = self.latest;
        if self.config.max_sessions == 0 || session.bytes() > self.config.max_bytes {
            evicted.sessions += 1;
            return evicted;
        }
        let _ = self.remove_session(&session.namespace, &session.pid);
        while self.sessions.len() >= self.config.max_sessions {
            let Some((_, namespace, pid)) = self.by_time.first().cloned() else {
                break;
            };
            self.remove_session(&namespace, &pid);
            evicted.sessions += 1;
        }
        let key = (session.namespace.clone(), session.pid.clone());
        self.by_time.insert((now, key.0.clone(), key.1.clone()));
        self.sessions.insert(
            key,
            KeptSession {
                session,
                disconnected_at: now,
            },
        );
        evicted
    }

    /// Takes out the session `request.pid` of `namespace` and the packets
    /// after `request.offset` that target it (by its rooms and id at the
    /// time it went away), in order. A session is restored once; a request
    /// that finds it but cannot be served (expired, offset unavailable)
    /// drops it too.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{NotRecovered, Offset, RecoveryConfig, RecoveryStore, ResumeRequest};
    /// let mut store = RecoveryStore::new(RecoveryConfig::default(), 0);
    /// let request = ResumeRequest { pid: "nope".into(), offset: Offset::Sequence(0) };
    /// assert_eq!(store.restore("/", &request, Duration::ZERO), Err(NotRecovered::UnknownSession));
    /// ```
    pub fn restore(
        &mut self,
        namespace: &str,
        request: &ResumeRequest,
        now: Duration,
    ) -> Result<RecoveredSession, NotRecovered> {
        let now = self.clock(now);
        let kept = self
            .remove_session(namespace, &request.pid)
            .ok_or(NotRecovered::UnknownSession)?;
        let _ = self.prune(now);
        if self.expired(kept.disconnected_at, now) {
            return Err(NotRecovered::Expired);
        }
        let Offset::Sequence(offset) = request.offset else {
            return Err(NotRecovered::OffsetUnavailable);
        };
        // Everything after `offset` must still be here: the log holds
        // `first..next`, so `offset` is `first - 1` at the oldest.
        if offset >= self.next || offset.saturating_add(1) < self.first {
            return Err(NotRecovered::OffsetUnavailable);
        }
        let session = kept.session;
        let skip = usize::try_from(offset + 1 - self.first).unwrap_or(usize::MAX);
        // Looked up, not scanned: a session may hold many rooms.
        let rooms: BTreeSet<&str> = session.rooms.iter().map(String::as_str).collect();
        let is_member = |room: &str| room == session.sid || rooms.contains(room);
        let missed = self
            .log
            .iter()
            .skip(skip)
            .filter(|entry| entry.namespace == namespace && entry.target.includes_member(is_member))
            .map(|entry| entry.packet.clone())
            .collect();
        Ok(RecoveredSession {
            sid: session.sid,
            pid: session.pid,
            rooms: session.rooms,
            data: session.data,
            missed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const T0: Duration = Duration::ZERO;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn texts(session: &RecoveredSession) -> Vec<&str> {
        session.missed.iter().map(EncodedPacket::text).collect()
    }

    fn resume(pid: &str, offset: u64) -> ResumeRequest {
        ResumeRequest {
            pid: pid.into(),
            offset: Offset::Sequence(offset),
        }
    }

    #[test]
    fn offsets_table() {
        let cases: &[(&str, Result<Offset, OffsetError>)] = &[
            ("0", Ok(Offset::Sequence(0))),
            ("18446744073709551615", Ok(Offset::Sequence(u64::MAX))),
            ("18446744073709551616", Err(OffsetError::Overflow)),
            ("0-0", Ok(Offset::Stream { millis: 0, seq: 0 })),
            ("1-", Err(OffsetError::Empty)),
            ("-1", Err(OffsetError::Empty)),
            ("", Err(OffsetError::Empty)),
            ("00", Err(OffsetError::NotCanonical)),
            ("+1", Err(OffsetError::NotDigits)),
            (" 1", Err(OffsetError::NotDigits)),
            ("1e3", Err(OffsetError::NotDigits)),
            ("١", Err(OffsetError::NotDigits)),
            ("MzY0NTE", Err(OffsetError::NotDigits)),
        ];
        for (text, expected) in cases {
            assert_eq!(Offset::parse(text), *expected, "{text:?}");
            if let Ok(offset) = expected {
                assert_eq!(offset.to_string(), *text);
            }
        }
        let long = "1".repeat(MAX_OFFSET_LEN + 1);
        assert_eq!(Offset::parse(&long), Err(OffsetError::TooLong));
    }

    #[test]
    fn hostile_resume_requests_are_typed() {
        let auth = |json: serde_json::Value| Value::from(json);
        let long_pid = "p".repeat(MAX_PID_LEN + 1);
        assert_eq!(
            ResumeRequest::from_auth(&auth(serde_json::json!({"pid": long_pid, "offset": "1"}))),
            Err(InvalidResume::PidTooLong)
        );
        assert_eq!(
            ResumeRequest::from_auth(&auth(serde_json::json!({"pid": "", "offset": "1"}))),
            Err(InvalidResume::PidTooLong)
        );
        assert_eq!(
            ResumeRequest::from_auth(&auth(serde_json::json!({"pid": "p", "offset": ["1"]}))),
            Err(InvalidResume::NotAString)
        );
        assert_eq!(
            ResumeRequest::from_auth(&auth(serde_json::json!({"pid": "p", "offset": "x"}))),
            Err(InvalidResume::Offset(OffsetError::NotDigits))
        );
        assert_eq!(
            ResumeRequest::from_auth(&auth(serde_json::json!({"pid": "p"}))),
            Ok(None)
        );
    }

    #[test]
    fn replay_follows_rooms_except_and_order() {
        let mut store = RecoveryStore::new(RecoveryConfig::default(), 100);
        let r0 = store.record_event("/", PacketTarget::all(), "e", vec![0u64.into()], T0);
        assert_eq!(r0.packet.text(), r#"2["e",0,"100"]"#);
        store.persist(
            DisconnectedSession::new("/", "me", "pid", vec!["r".into(), "s".into()]),
            T0,
        );
        let events = [
            PacketTarget::all().to("r"),         // 101 yes
            PacketTarget::all().to("x"),         // 102 no
            PacketTarget::all().except("s"),     // 103 no
            PacketTarget::socket("me"),          // 104 yes
            PacketTarget::socket("other"),       // 105 no
            PacketTarget::all().except("me"),    // 106 no (the sender)
            PacketTarget::all(),                 // 107 yes
            PacketTarget::all().to("x").to("s"), // 108 yes
        ];
        for (i, target) in events.into_iter().enumerate() {
            let _ = store.record_event("/", target, "e", vec![(i as u64 + 1).into()], T0);
        }
        let _ = store.record_event("/other", PacketTarget::all(), "e", vec![], T0);
        let restored = store.restore("/", &resume("pid", 100), secs(1)).unwrap();
        assert_eq!(
            texts(&restored),
            [
                r#"2["e",1,"101"]"#,
                r#"2["e",4,"104"]"#,
                r#"2["e",7,"107"]"#,
                r#"2["e",8,"108"]"#
            ]
        );
        // Once only.
        assert_eq!(
            store.restore("/", &resume("pid", 100), secs(1)),
            Err(NotRecovered::UnknownSession)
        );
    }

    #[test]
    fn sessions_and_packets_expire_after_the_window() {
        let config = RecoveryConfig {
            max_disconnection_duration: secs(10),
            ..RecoveryConfig::default()
        };
        let mut store = RecoveryStore::new(config, 0);
        let _ = store.record_event("/", PacketTarget::all(), "e", vec![], T0);
        store.persist(DisconnectedSession::new("/", "a", "pa", vec![]), secs(5));
        store.persist(DisconnectedSession::new("/", "b", "pb", vec![]), secs(5));
        // At exactly the window's end it still counts (JS: `<`).
        let restored = store.restore("/", &resume("pa", 0), secs(10)).unwrap();
        assert!(restored.missed.is_empty());
        assert_eq!(
            store.restore("/", &resume("pb", 0), secs(16)),
            Err(NotRecovered::Expired)
        );
        assert_eq!(store.packets(), 0);
        // A clock going back counts as the latest one.
        store.persist(DisconnectedSession::new("/", "c", "pc", vec![]), secs(1));
        assert_eq!(store.prune(secs(26)).sessions, 0);
        assert_eq!(store.prune(secs(27)).sessions, 1);
    }

    #[test]
    fn caps_drop_the_oldest_and_make_older_offsets_unavailable() {
        let config = RecoveryConfig {
            max_packets: 3,
            ..RecoveryConfig::default()
        };
        let mut store = RecoveryStore::new(config, 0);
        for _ in 0..5 {
            let _ = store.record_event("/", PacketTarget::all(), "e", vec![], T0);
        }
        assert_eq!(store.packets(), 3); // offsets 2, 3, 4
        store.persist(DisconnectedSession::new("/", "a", "pa", vec![]), T0);
        store.persist(DisconnectedSession::new("/", "b", "pb", vec![]), T0);
        store.persist(DisconnectedSession::new("/", "c", "pc", vec![]), T0);
        assert_eq!(
            store.restore("/", &resume("pa", 0), T0),
            Err(NotRecovered::OffsetUnavailable)
        );
        // Offset 1 was dropped, but nothing after it was.
        assert_eq!(
            texts(&store.restore("/", &resume("pb", 1), T0).unwrap()).len(),
            3
        );
        assert_eq!(
            store.restore("/", &resume("pc", 5), T0),
            Err(NotRecovered::OffsetUnavailable),
            "ahead of the log"
        );

        let config = RecoveryConfig {
            max_bytes: 64,
            ..RecoveryConfig::default()
        };
        let mut store = RecoveryStore::new(config, 0);
        let small = store.record_event("/", PacketTarget::all(), "e", vec![], T0);
        assert!(small.evicted.is_empty());
        let big = store.record_event(
            "/",
            PacketTarget::all(),
            "e",
            vec!["x".repeat(100).into()],
            T0,
        );
        assert_eq!(big.evicted.packets, 2, "the old one and itself");
        assert_eq!((store.packets(), store.bytes()), (0, 0));
        store.persist(DisconnectedSession::new("/", "a", "pa", vec![]), T0);
        assert_eq!(
            store.restore("/", &resume("pa", 0), T0),
            Err(NotRecovered::OffsetUnavailable)
        );
        let mut total = 0;
        for _ in 0..100 {
            let r = store.record_event("/", PacketTarget::all(), "e", vec![], T0);
            total += r.evicted.packets;
            assert!(store.bytes() <= 64);
        }
        assert_eq!(total + store.packets(), 100);
    }

    #[test]
    fn foreign_offsets_and_wrap() {
        let mut store = RecoveryStore::new(RecoveryConfig::default(), u64::MAX - 1);
        store.persist(DisconnectedSession::new("/", "a", "pa", vec![]), T0);
        let stream = ResumeRequest {
            pid: "pa".into(),
            offset: Offset::Stream { millis: 1, seq: 0 },
        };
        assert_eq!(
            store.restore("/", &stream, T0),
            Err(NotRecovered::OffsetUnavailable)
        );
        store.persist(DisconnectedSession::new("/", "a", "pa", vec![]), T0);
        let last = store.record_event("/", PacketTarget::all(), "e", vec![], T0);
        assert_eq!(last.offset, Offset::Sequence(u64::MAX - 1));
        let wrapped = store.record_event("/", PacketTarget::all(), "e", vec![], T0);
        assert_eq!(wrapped.offset, Offset::Sequence(0));
        assert_eq!(
            wrapped.evicted,
            Evicted {
                packets: 1,
                sessions: 1
            }
        );
    }
}
