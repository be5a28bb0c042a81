//! Connection state recovery over the Redis streams adapter, sans-IO: the
//! session record a node keeps at `sio:session:<pid>` when a socket goes
//! away, and the restore step that turns that record and the stream entries
//! after the client's offset into a [`RecoveredSession`].
//!
//! Facts from `@socket.io/redis-streams-adapter` 0.3.1 (`dist/adapter.js`):
//!
//! - `persistSession`: `SET sio:session:<pid> <base64(msgpack {sid, pid, rooms, data})> PX <maxDisconnectionDuration>`.
//! - `restoreSession(pid, offset)`: the offset must match `^[0-9]+-[0-9]+$`;
//!   `GETDEL` the record and `XRANGE <stream> <offset> <offset>` (the entry must
//!   still be there); then `XRANGE <stream> <next id> +` until an empty reply
//!   (at most 100 calls), keeping the BROADCAST entries of the namespace whose
//!   options reach the session's rooms, each packet's `data` with the entry id
//!   appended.
//!
//! The glue runs the Redis commands; [`StreamRestore`] says which and reads
//! their replies:
//!
//! ```text
//!  ResumeRequest ──► StreamRestore::new ──► session_key() / offset()  ── GETDEL, XRANGE o o ──►
//!  handle_lookup(record, found) ──► next_range() ── XRANGE <start> + COUNT n ──► handle_range(entries) ⟲
//!  finish() ──► RecoveredSession { sid, rooms, data, missed }
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use super::cluster::{ClusterBody, ClusterMessage, StreamEntry};
use super::error::Error;
use super::payload::{DecodeLimits, Encoding, Fields, encode_payload, object, string_list};
use crate::socketio::{
    DisconnectedSession, EncodedPacket, Offset, PacketTarget, Parser, RecoveredSession,
    ResumeRequest, Value,
};

/// The key prefix of the session records (the adapter's `sessionKeyPrefix`).
///
/// ```
/// assert_eq!(socketwire::socketio::adapter::recovery::SESSION_KEY_PREFIX, "sio:session:");
/// ```
pub const SESSION_KEY_PREFIX: &str = "sio:session:";

/// The stream's message type of a broadcast, as the entry's `type` field.
const BROADCAST_TYPE: &str = "3";

/// The Redis key of the session record of `pid`.
///
/// ```
/// use socketwire::socketio::adapter::recovery::session_key;
/// assert_eq!(session_key("abc"), "sio:session:abc");
/// ```
pub fn session_key(pid: &str) -> String {
    let mut key = String::from(SESSION_KEY_PREFIX);
    key.push_str(pid);
    key
}

/// The first stream id after `offset` (the adapter's `nextOffset`, for Redis
/// before 6.2 without exclusive ranges): the sequence plus one, or the next
/// millisecond at sequence 0 when the sequence is `u64::MAX`. `None` past the
/// last id there is, or for an offset that is not a stream id.
///
/// ```
/// use socketwire::socketio::{Offset, adapter::recovery::next_stream_id};
/// assert_eq!(next_stream_id(Offset::Stream { millis: 5, seq: 1 }).as_deref(), Some("5-2"));
/// assert_eq!(next_stream_id(Offset::Stream { millis: 5, seq: u64::MAX }).as_deref(), Some("6-0"));
/// assert_eq!(next_stream_id(Offset::Sequence(3)), None);
/// ```
pub fn next_stream_id(offset: Offset) -> Option<String> {
    let Offset::Stream { millis, seq } = offset else {
        return None;
    };
    let next = match seq.checked_add(1) {
        Some(seq) => Offset::Stream { millis, seq },
        None => Offset::Stream {
            millis: millis.checked_add(1)?,
            seq: 0,
        },
    };
    Some(next.to_string())
}

/// What a node keeps of a socket that went away: socket.io's
/// `{sid, pid, rooms, data}` (`rooms` holds the socket's own id too), as
/// `base64(msgpack)` with the keys in that order, byte for byte what a
/// Node.js node writes (`@msgpack/msgpack` `encode`, then
/// `Buffer.toString("base64")`).
///
/// ```
/// use socketwire::socketio::{Value, adapter::{DecodeLimits, recovery::PersistedSession}};
/// let session = PersistedSession { sid: "s".into(), pid: "p".into(), rooms: vec!["s".into()], data: Value::Object(vec![]) };
/// let text = session.encode();
/// assert_eq!(PersistedSession::decode(text.as_bytes(), &DecodeLimits::default()), Ok(session));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PersistedSession {
    /// The socket id.
    pub sid: String,
    /// The private session id (the key's suffix).
    pub pid: String,
    /// The rooms it was in.
    pub rooms: Vec<String>,
    /// `socket.data` (`{}` unless the application set it).
    pub data: Value,
}

impl PersistedSession {
    /// The record of a session the core's server kept.
    ///
    /// ```
    /// use socketwire::socketio::{DisconnectedSession, adapter::recovery::PersistedSession};
    /// let s = PersistedSession::from_disconnected(&DisconnectedSession::new("/", "s", "p", vec!["s".into()]));
    /// assert_eq!((s.sid.as_str(), s.pid.as_str()), ("s", "p"));
    /// ```
    pub fn from_disconnected(session: &DisconnectedSession) -> PersistedSession {
        PersistedSession {
            sid: session.sid.clone(),
            pid: session.pid.clone(),
            rooms: session.rooms.clone(),
            data: session.data.clone(),
        }
    }

    /// The Redis key it goes to.
    ///
    /// ```
    /// use socketwire::socketio::{Value, adapter::recovery::PersistedSession};
    /// let s = PersistedSession { sid: "s".into(), pid: "p".into(), rooms: vec![], data: Value::Null };
    /// assert_eq!(s.key(), "sio:session:p");
    /// ```
    pub fn key(&self) -> String {
        session_key(&self.pid)
    }

    /// `base64(msgpack {sid, pid, rooms, data})`, the value to `SET`.
    ///
    /// ```
    /// use socketwire::socketio::{Value, adapter::recovery::PersistedSession};
    /// let s = PersistedSession { sid: "a".into(), pid: "b".into(), rooms: vec![], data: Value::Object(vec![]) };
    /// assert_eq!(s.encode(), "hKNzaWShYaNwaWShYqVyb29tc5CkZGF0YYA=");
    /// ```
    pub fn encode(&self) -> String {
        let value = object(alloc::vec![
            ("sid", self.sid.as_str().into()),
            ("pid", self.pid.as_str().into()),
            ("rooms", string_list(&self.rooms)),
            ("data", self.data.clone()),
        ]);
        super::base64::encode(&encode_payload(&value, Encoding::Msgpack))
    }

    /// Reads a record (the `GETDEL` reply): its length is checked against
    /// `limits.max_payload_len` before it is decoded, the msgpack nesting and
    /// the room count against the rest of `limits`. A missing `data` is
    /// `Null` (`@msgpack/msgpack` leaves out nothing, but an emitter might).
    ///
    /// ```
    /// use socketwire::socketio::adapter::{DecodeLimits, Error, recovery::PersistedSession};
    /// assert_eq!(PersistedSession::decode(b"not base64!", &DecodeLimits::default()), Err(Error::InvalidBase64));
    /// ```
    pub fn decode(text: &[u8], limits: &DecodeLimits) -> Result<PersistedSession, Error> {
        if text.len() > limits.max_payload_len {
            return Err(Error::TooLarge {
                len: text.len(),
                max: limits.max_payload_len,
            });
        }
        let raw = super::base64::decode(text).ok_or(Error::InvalidBase64)?;
        if raw.first() == Some(&b'{') {
            // A JSON record is none a node writes.
            return Err(Error::NotAnObject);
        }
        let value = super::payload::decode_payload(&Bytes::from(raw), limits)?;
        let fields = Fields::new(&value, limits)?;
        Ok(PersistedSession {
            sid: fields.string("sid")?,
            pid: fields.string("pid")?,
            rooms: fields.rooms("rooms")?,
            data: fields.value("data").cloned().unwrap_or(Value::Null),
        })
    }
}

/// Bounds of one restore: what a stream full of entries can make it hold.
///
/// ```
/// use socketwire::socketio::adapter::recovery::RestoreLimits;
/// let limits = RestoreLimits::default();
/// assert_eq!((limits.max_ranges, limits.range_count), (100, 1000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreLimits {
    /// Missed packets kept; one more is [`RestoreError::TooManyPackets`] (default 10 000, the stream's `maxLen`).
    pub max_packets: usize,
    /// Bytes of the encoded missed packets; past it [`RestoreError::TooManyBytes`] (default 16 MiB).
    pub max_bytes: usize,
    /// `XRANGE` calls after the lookup; one more is [`RestoreError::TooManyRanges`]
    /// (default 100, the adapter's `RESTORE_SESSION_MAX_XRANGE_CALLS`).
    pub max_ranges: usize,
    /// `COUNT` of each `XRANGE` ([`StreamRestore::handle_range`] refuses a longer reply).
    pub range_count: usize,
    /// Bounds on the record and on each entry.
    pub decode: DecodeLimits,
}

impl Default for RestoreLimits {
    fn default() -> Self {
        RestoreLimits {
            max_packets: 10_000,
            max_bytes: 16 << 20,
            max_ranges: 100,
            range_count: 1000,
            decode: DecodeLimits::default(),
        }
    }
}

/// Why a restore gave no session back: the client is accepted as a new socket.
///
/// ```
/// use socketwire::socketio::adapter::recovery::RestoreError;
/// assert_ne!(RestoreError::SessionNotFound, RestoreError::OffsetNotFound);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// The client's offset is not a stream id (`^[0-9]+-[0-9]+$`).
    NotStreamOffset,
    /// No record for the pid (never kept, expired, or taken by another node).
    SessionNotFound,
    /// The offset's entry is no longer in the stream (trimmed by `MAXLEN`):
    /// what came after it cannot be told complete.
    OffsetNotFound,
    /// The record is not one a node writes.
    Session(Error),
    /// The record is of another socket than the pid asked (a record under a key it does not name).
    PidMismatch,
    /// An entry after the offset could not be read (the packets after it
    /// would be handed out with one missing).
    Entry(Error),
    /// An entry id that is not a stream id, or not after the one before it.
    EntryOutOfOrder,
    /// More missed packets than [`RestoreLimits::max_packets`].
    TooManyPackets,
    /// More bytes than [`RestoreLimits::max_bytes`].
    TooManyBytes,
    /// More `XRANGE` calls than [`RestoreLimits::max_ranges`], or a reply
    /// longer than [`RestoreLimits::range_count`].
    TooManyRanges,
    /// A method called out of order ([`StreamRestore::handle_range`] before
    /// the lookup, or after the end). Never caused by Redis.
    ApiMisuse,
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::NotStreamOffset => f.write_str("offset is not a stream id"),
            RestoreError::SessionNotFound => f.write_str("no session kept for this pid"),
            RestoreError::OffsetNotFound => f.write_str("offset no longer in the stream"),
            RestoreError::Session(e) => write!(f, "session record: {e}"),
            RestoreError::PidMismatch => f.write_str("session record of another pid"),
            RestoreError::Entry(e) => write!(f, "stream entry: {e}"),
            RestoreError::EntryOutOfOrder => f.write_str("stream entry ids out of order"),
            RestoreError::TooManyPackets => f.write_str("too many missed packets"),
            RestoreError::TooManyBytes => f.write_str("missed packets over the byte limit"),
            RestoreError::TooManyRanges => f.write_str("too many XRANGE calls"),
            RestoreError::ApiMisuse => f.write_str("restore step called out of order"),
        }
    }
}

impl core::error::Error for RestoreError {}

/// Where a restore is.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Waiting for the GETDEL and the XRANGE of the offset.
    Lookup,
    /// Reading the entries after `after`.
    Ranges { after: Offset },
    /// The last XRANGE came back empty.
    Done,
    /// A reply was refused: nothing comes of it.
    Failed,
}

/// Entries from other nodes after this id reach the socket live.
#[derive(Debug, Clone, PartialEq)]
struct LiveCut {
    last_read: Offset,
    own_uid: String,
}

/// One `restoreSession(pid, offset)`, sans-IO: the Redis replies in, the
/// resumed socket and its missed packets (in stream order, each with its entry
/// id appended) out. Every reply is bounded by [`RestoreLimits`] and checked
/// (entry ids must rise), so a hostile stream or record ends in a
/// [`RestoreError`], never in a panic or an unbounded buffer.
///
/// | kind | methods |
/// |---|---|
/// | what to ask Redis | [`session_key`](Self::session_key) (`GETDEL`), [`offset`](Self::offset) (`XRANGE o o`), [`next_range`](Self::next_range) (`XRANGE <start> + COUNT n`) |
/// | replies | [`handle_lookup`](Self::handle_lookup), [`handle_range`](Self::handle_range) |
/// | glue input | [`live_after`](Self::live_after) |
/// | result | [`finish`](Self::finish) |
///
/// ```
/// use socketwire::socketio::{Offset, Parser, ResumeRequest, Value};
/// use socketwire::socketio::adapter::cluster::StreamEntry;
/// use socketwire::socketio::adapter::recovery::{PersistedSession, RestoreLimits, StreamRestore};
///
/// let request = ResumeRequest { pid: "p".into(), offset: Offset::Stream { millis: 10, seq: 0 } };
/// let mut restore = StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap();
/// assert_eq!((restore.session_key().as_str(), restore.offset().as_str()), ("sio:session:p", "10-0"));
/// let record = PersistedSession { sid: "s".into(), pid: "p".into(), rooms: vec!["s".into(), "r".into()], data: Value::Object(vec![]) };
/// restore.handle_lookup(Some(record.encode().as_bytes()), true).unwrap();
/// assert_eq!(restore.next_range().as_deref(), Some("10-1"));
/// let data = r#"{"opts":{"rooms":["r"],"except":[],"flags":{}},"packet":{"type":2,"data":["ev",1],"nsp":"/"}}"#;
/// let entry = StreamEntry { uid: "b".into(), nsp: "/".into(), message_type: "3".into(), data: Some(data.into()) };
/// restore.handle_range(&[("11-0".into(), entry)]).unwrap();
/// restore.handle_range(&[]).unwrap();
/// let session = restore.finish().unwrap();
/// assert_eq!(session.sid, "s");
/// assert_eq!(session.missed[0].text(), r#"2["ev",1,"11-0"]"#);
/// ```
#[derive(Debug, Clone)]
pub struct StreamRestore {
    namespace: String,
    pid: String,
    offset: Offset,
    parser: Parser,
    limits: RestoreLimits,
    phase: Phase,
    session: Option<PersistedSession>,
    missed: Vec<EncodedPacket>,
    bytes: usize,
    ranges: usize,
    live: Option<LiveCut>,
}

impl StreamRestore {
    /// Starts the restore of `request` on `namespace`; the missed packets
    /// will be encoded with `parser`. An offset that is not a stream id is
    /// [`RestoreError::NotStreamOffset`], before anything is asked of Redis.
    ///
    /// ```
    /// use socketwire::socketio::{Offset, Parser, ResumeRequest};
    /// use socketwire::socketio::adapter::recovery::{RestoreError, RestoreLimits, StreamRestore};
    /// let request = ResumeRequest { pid: "p".into(), offset: Offset::Sequence(3) };
    /// let error = StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap_err();
    /// assert_eq!(error, RestoreError::NotStreamOffset);
    /// ```
    pub fn new(
        namespace: &str,
        request: &ResumeRequest,
        parser: Parser,
        limits: RestoreLimits,
    ) -> Result<StreamRestore, RestoreError> {
        // https://github.com/socketio/socket.io-redis-streams-adapter (adapter.ts `restoreSession`):
        // `if (!/^[0-9]+-[0-9]+$/.test(offset)) return Promise.reject("invalid offset")`.
        if !matches!(request.offset, Offset::Stream { .. }) {
            return Err(RestoreError::NotStreamOffset);
        }
        Ok(StreamRestore {
            namespace: namespace.into(),
            pid: request.pid.clone(),
            offset: request.offset,
            parser,
            limits,
            phase: Phase::Lookup,
            session: None,
            missed: Vec::new(),
            bytes: 0,
            ranges: 0,
            live: None,
        })
    }

    /// The key to `GETDEL`.
    ///
    /// ```
    /// # use socketwire::socketio::{Offset, Parser, ResumeRequest};
    /// # use socketwire::socketio::adapter::recovery::{RestoreLimits, StreamRestore};
    /// let request = ResumeRequest { pid: "p".into(), offset: Offset::Stream { millis: 1, seq: 0 } };
    /// let restore = StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap();
    /// assert_eq!(restore.session_key(), "sio:session:p");
    /// ```
    pub fn session_key(&self) -> String {
        session_key(&self.pid)
    }

    /// The client's offset, for `XRANGE <stream> <offset> <offset>`.
    ///
    /// ```
    /// # use socketwire::socketio::{Offset, Parser, ResumeRequest};
    /// # use socketwire::socketio::adapter::recovery::{RestoreLimits, StreamRestore};
    /// let request = ResumeRequest { pid: "p".into(), offset: Offset::Stream { millis: 1, seq: 2 } };
    /// let restore = StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap();
    /// assert_eq!(restore.offset(), "1-2");
    /// ```
    pub fn offset(&self) -> String {
        self.offset.to_string()
    }

    /// The glue delivers entries live too: the other nodes' entries after
    /// `last_read` (the last id its reader handed to the cluster node) reach
    /// the socket live once it is back in its rooms, so the restore leaves
    /// them out; this node's own entries (uid `own_uid`) were delivered when
    /// their `XADD` returned and stay in. Without it every entry is taken,
    /// as socket.io does. A `last_read` that is not a stream id is ignored.
    ///
    /// ```
    /// # use socketwire::socketio::{Offset, Parser, ResumeRequest};
    /// # use socketwire::socketio::adapter::recovery::{RestoreLimits, StreamRestore};
    /// let request = ResumeRequest { pid: "p".into(), offset: Offset::Stream { millis: 1, seq: 0 } };
    /// let mut restore = StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap();
    /// restore.live_after("5-0", "0011223344556677");
    /// ```
    pub fn live_after(&mut self, last_read: &str, own_uid: &str) {
        if let Ok(last_read @ Offset::Stream { .. }) = Offset::parse(last_read) {
            self.live = Some(LiveCut {
                last_read,
                own_uid: own_uid.into(),
            });
        }
    }

    /// The replies of `GETDEL <key>` (`None`: nil) and of `XRANGE <stream>
    /// <offset> <offset>` (`offset_found`: not empty). Both must be there.
    ///
    /// ```
    /// # use socketwire::socketio::{Offset, Parser, ResumeRequest};
    /// # use socketwire::socketio::adapter::recovery::{RestoreError, RestoreLimits, StreamRestore};
    /// let request = ResumeRequest { pid: "p".into(), offset: Offset::Stream { millis: 1, seq: 0 } };
    /// let mut restore = StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap();
    /// assert_eq!(restore.handle_lookup(None, true), Err(RestoreError::SessionNotFound));
    /// ```
    pub fn handle_lookup(
        &mut self,
        record: Option<&[u8]>,
        offset_found: bool,
    ) -> Result<(), RestoreError> {
        if self.phase != Phase::Lookup {
            return Err(RestoreError::ApiMisuse);
        }
        self.phase = Phase::Failed;
        let record = record.ok_or(RestoreError::SessionNotFound)?;
        if !offset_found {
            return Err(RestoreError::OffsetNotFound);
        }
        let session =
            PersistedSession::decode(record, &self.limits.decode).map_err(RestoreError::Session)?;
        if session.pid != self.pid {
            return Err(RestoreError::PidMismatch);
        }
        self.session = Some(session);
        self.phase = Phase::Ranges { after: self.offset };
        Ok(())
    }

    /// The start of the next `XRANGE <stream> <start> + COUNT <range_count>`,
    /// or `None` when the restore is complete (or failed).
    ///
    /// ```
    /// # use socketwire::socketio::{Offset, Parser, ResumeRequest};
    /// # use socketwire::socketio::adapter::recovery::{RestoreLimits, StreamRestore};
    /// let request = ResumeRequest { pid: "p".into(), offset: Offset::Stream { millis: 1, seq: 0 } };
    /// let restore = StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap();
    /// assert_eq!(restore.next_range(), None); // the lookup first
    /// ```
    pub fn next_range(&self) -> Option<String> {
        match self.phase {
            Phase::Ranges { after } => next_stream_id(after),
            _ => None,
        }
    }

    /// One `XRANGE` reply, `(id, entry)` in the order Redis gave them. An
    /// empty reply ends the restore. BROADCAST entries of this namespace
    /// whose options reach the session (socket.io's `shouldIncludePacket`)
    /// become missed packets with the entry id appended (as socket.io does,
    /// whatever their flags); every other entry is passed over (its id still
    /// counts for the order). A packet whose first element is not an event
    /// name is passed over too.
    ///
    /// ```
    /// # use socketwire::socketio::{Offset, Parser, ResumeRequest};
    /// # use socketwire::socketio::adapter::recovery::{RestoreError, RestoreLimits, StreamRestore};
    /// let request = ResumeRequest { pid: "p".into(), offset: Offset::Stream { millis: 1, seq: 0 } };
    /// let mut restore = StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap();
    /// assert_eq!(restore.handle_range(&[]), Err(RestoreError::ApiMisuse));
    /// ```
    pub fn handle_range(&mut self, entries: &[(String, StreamEntry)]) -> Result<(), RestoreError> {
        let Phase::Ranges { mut after } = self.phase else {
            return Err(RestoreError::ApiMisuse);
        };
        if entries.is_empty() {
            self.phase = Phase::Done;
            return Ok(());
        }
        self.phase = Phase::Failed;
        self.ranges += 1;
        if self.ranges > self.limits.max_ranges || entries.len() > self.limits.range_count {
            return Err(RestoreError::TooManyRanges);
        }
        for (id, entry) in entries {
            let id_offset = match Offset::parse(id) {
                Ok(offset @ Offset::Stream { .. }) if offset > after => offset,
                _ => return Err(RestoreError::EntryOutOfOrder),
            };
            after = id_offset;
            self.take_entry(id, id_offset, entry)?;
        }
        self.phase = Phase::Ranges { after };
        Ok(())
    }

    /// One entry: kept as a missed packet when it is for the session.
    fn take_entry(
        &mut self,
        id: &str,
        id_offset: Offset,
        entry: &StreamEntry,
    ) -> Result<(), RestoreError> {
        if entry.nsp != self.namespace || entry.message_type != BROADCAST_TYPE {
            return Ok(());
        }
        if let Some(live) = &self.live
            && id_offset > live.last_read
            && entry.uid != live.own_uid
        {
            return Ok(());
        }
        let message = ClusterMessage::from_stream_entry(entry, &self.limits.decode)
            .map_err(RestoreError::Entry)?;
        let ClusterBody::Broadcast {
            mut packet, opts, ..
        } = message.body
        else {
            return Ok(());
        };
        let Some(session) = &self.session else {
            return Err(RestoreError::ApiMisuse);
        };
        let target = PacketTarget::from_broadcast(&opts.target::<String>(), String::clone);
        let rooms = session.rooms.iter().map(String::as_str);
        if !target.includes(&session.sid, rooms) {
            return Ok(());
        }
        // restoreSession appends the id to every broadcast it replays
        // (`packet.data.push(entry.id)`), volatile ones included: a client
        // gets the same packets back from either kind of node.
        packet.data.push(Value::String(id.into()));
        let mut data = packet.data.into_iter();
        let Some(Value::String(name)) = data.next() else {
            return Ok(());
        };
        let args: Vec<Value> = data.collect();
        let encoded = self.parser.event(&self.namespace, &name, &args, None);
        self.bytes = self.bytes.saturating_add(encoded.buffered_len());
        if self.missed.len() >= self.limits.max_packets {
            return Err(RestoreError::TooManyPackets);
        }
        if self.bytes > self.limits.max_bytes {
            return Err(RestoreError::TooManyBytes);
        }
        self.missed.push(encoded);
        Ok(())
    }

    /// The resumed socket, once the last `XRANGE` came back empty; before,
    /// [`RestoreError::ApiMisuse`].
    ///
    /// ```
    /// # use socketwire::socketio::{Offset, Parser, ResumeRequest};
    /// # use socketwire::socketio::adapter::recovery::{RestoreError, RestoreLimits, StreamRestore};
    /// let request = ResumeRequest { pid: "p".into(), offset: Offset::Stream { millis: 1, seq: 0 } };
    /// let restore = StreamRestore::new("/", &request, Parser::Json, RestoreLimits::default()).unwrap();
    /// assert_eq!(restore.finish().unwrap_err(), RestoreError::ApiMisuse);
    /// ```
    pub fn finish(self) -> Result<RecoveredSession, RestoreError> {
        match (self.phase, self.session) {
            (Phase::Done, Some(session)) => Ok(RecoveredSession {
                sid: session.sid,
                pid: session.pid,
                rooms: session.rooms,
                data: session.data,
                missed: self.missed,
            }),
            _ => Err(RestoreError::ApiMisuse),
        }
    }
}
