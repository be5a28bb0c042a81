//! The WebSocket connection state machine, both roles (RFC 6455 §5–§7).
//!
//! # Driving a connection
//!
//! [`Connection`] does no I/O. The caller moves bytes and time:
//!
//! | kind | methods |
//! |------|---------|
//! | input | [`handle_input`](Connection::handle_input), [`input_buffer`](Connection::input_buffer), [`handle_eof`](Connection::handle_eof), [`handle_timeout`](Connection::handle_timeout) |
//! | output | [`poll_event`](Connection::poll_event) (or [`poll_event_borrowed`](Connection::poll_event_borrowed), which lends whole messages from the input buffer), [`poll_transmit`](Connection::poll_transmit), [`poll_timeout`](Connection::poll_timeout) |
//! | commands | [`send_text`](Connection::send_text), [`send_binary`](Connection::send_binary), [`send_fragment`](Connection::send_fragment), [`ping`](Connection::ping), [`pong`](Connection::pong), [`close`](Connection::close) |
//!
//! After each input, call `poll_event` until it returns `None`, then
//! `poll_transmit` and write what it gave to the transport, then arm a timer
//! for `poll_timeout`. When [`Event::Closed`] comes out, flush the output once
//! more and close the transport.
//!
//! # States
//!
//! | state | on peer close frame | on `close()` | on protocol error / EOF / timeout |
//! |-------|---------------------|--------------|-----------------------------------|
//! | `Open` | echo the close → `Closed` | send close → `LocalClosing` | send close (not on EOF) → `Closed` |
//! | `LocalClosing` | → `Closed` | misuse | → `Closed` |
//! | `Closed` | input ignored | misuse | — |
//!
//! In `LocalClosing` data frames from the peer are still delivered (§7.1.2: the
//! peer may send before it sees our close); nothing but the close goes out.
//!
//! ```
//! use bytes::BytesMut;
//! use socketwire::ws::{Config, Connection, Event};
//! let mut server = Connection::server(Config::default());
//! // A masked "Hello" from a client (RFC 6455 §5.7).
//! server.handle_input(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! let Some(Event::Text(text)) = server.poll_event() else { panic!() };
//! assert_eq!(&text[..], b"Hello");
//! server.send_text("Hello").unwrap();
//! let mut out = BytesMut::new();
//! server.poll_transmit(&mut out);
//! assert_eq!(&out[..], &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use core::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

use super::close::CloseCode;
use super::error::{ApiMisuse, ProtocolError};
use super::extension::PerMessageExtension;
use super::frame::{FrameHeader, Opcode};
use super::mask::Masker;
use super::message::{Limits, MessageAssembler, MessageKind, Utf8Validator};
use super::role::Role;
use crate::Status;

/// Limits and behaviour of a connection.
///
/// ```
/// use core::time::Duration;
/// use socketwire::ws::Config;
/// let c = Config { keepalive_interval: Some(Duration::from_secs(30)), ..Config::default() };
/// assert!(c.auto_pong);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Size limits on incoming frames and messages.
    pub limits: Limits,
    /// Answer pings with pongs automatically (default on). Pongs go out in order;
    /// a flood of pings between two `poll_transmit` calls queues at most
    /// [`MAX_QUEUED_PONGS`] pongs, the last answering the most recent ping.
    pub auto_pong: bool,
    /// Hand out data frame by frame as [`Event::Fragment`] instead of whole messages.
    pub streaming: bool,
    /// Send a ping after this long without receiving anything.
    pub keepalive_interval: Option<Duration>,
    /// Close (1006, locally) after this long without receiving anything. Measured
    /// between [`Connection::handle_timeout`] calls: input is stamped with the time
    /// of the next timer call.
    pub idle_timeout: Option<Duration>,
    /// After sending a close frame, give up waiting for the peer's after this long.
    pub close_timeout: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            auto_pong: true,
            streaming: false,
            keepalive_interval: None,
            idle_timeout: None,
            close_timeout: Some(Duration::from_secs(10)),
        }
    }
}

/// Connection state; see the table in the [module docs](self).
///
/// ```
/// use socketwire::ws::{Config, Connection, State};
/// assert_eq!(Connection::server(Config::default()).state(), State::Open);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Data flows both ways.
    Open,
    /// We sent a close frame and wait for the peer's.
    LocalClosing,
    /// Done: no more events except those queued; close the transport.
    Closed,
}

/// Why the connection closed, carried by [`Event::Closed`].
///
/// ```
/// use socketwire::ws::connection::ClosedBy;
/// assert_ne!(ClosedBy::Handshake, ClosedBy::Eof);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosedBy {
    /// Both close frames were exchanged.
    Handshake,
    /// The peer broke the protocol; we sent a close with the error's code.
    ProtocolError(ProtocolError),
    /// The transport ended without a close handshake.
    Eof,
    /// Nothing was received for `idle_timeout`.
    IdleTimeout,
    /// The peer did not answer our close within `close_timeout`.
    CloseTimeout,
}

/// A chunk of a message in streaming mode.
///
/// ```
/// use socketwire::ws::{connection::Fragment, message::MessageKind};
/// let f = Fragment { kind: MessageKind::Binary, data: bytes::Bytes::new(), first: true, last: true };
/// assert!(f.first && f.last);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The message's kind.
    pub kind: MessageKind,
    /// Payload bytes (validated UTF-8 so far for text, but a code point may be
    /// split between two fragments).
    pub data: Bytes,
    /// The first chunk of the message.
    pub first: bool,
    /// The last chunk of the message.
    pub last: bool,
}

/// Something that happened on the connection.
///
/// ```
/// use socketwire::ws::Event;
/// let e = Event::Binary(bytes::Bytes::from_static(&[1, 2]));
/// assert!(matches!(e, Event::Binary(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole text message; the bytes are valid UTF-8.
    Text(Bytes),
    /// A whole binary message.
    Binary(Bytes),
    /// Part of a message (streaming mode only).
    Fragment(Fragment),
    /// A ping (already answered if `auto_pong` is on).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer sent a close frame (`NO_STATUS` if it carried no code).
    Close {
        /// The peer's code.
        code: CloseCode,
        /// The peer's reason.
        reason: String,
    },
    /// The connection is closed: flush `poll_transmit`, then close the transport.
    Closed {
        /// The code that ended the connection (1006 for EOF and timeouts).
        code: CloseCode,
        /// How it ended.
        by: ClosedBy,
    },
}

/// An event from [`Connection::poll_event_borrowed`]: a whole message lent from
/// the input buffer, or any other event.
///
/// ```
/// use socketwire::ws::connection::EventRef;
/// let e = EventRef::Binary(&[1, 2, 3]);
/// assert!(matches!(e, EventRef::Binary(b) if b.len() == 3));
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum EventRef<'a> {
    /// A whole text message; the bytes are valid UTF-8.
    Text(&'a [u8]),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// Any other event (including messages that were fragmented or compressed).
    Owned(Event),
}

/// Unmasks a whole message in place and, for text, validates it as UTF-8.
#[inline(always)]
fn unmask_whole_message(
    payload: &mut [u8],
    kind: MessageKind,
    key: Option<[u8; 4]>,
) -> Result<(), ProtocolError> {
    match (kind, key) {
        (MessageKind::Binary, Some(key)) => {
            super::mask::apply_mask(payload, key, 0);
            Ok(())
        }
        (MessageKind::Binary, None) => Ok(()),
        (MessageKind::Text, _) => unmask_whole_text(payload, key),
    }
}

/// Unmasks a whole text message and validates it as UTF-8, in cache-sized
/// pieces, each validated right after it is unmasked; pieces found all ASCII
/// while unmasking need no further check.
#[inline(never)]
fn unmask_whole_text(payload: &mut [u8], key: Option<[u8; 4]>) -> Result<(), ProtocolError> {
    // RFC 6455 §8.1: text "MUST" be valid UTF-8; the whole message is here.
    let mut utf8 = Utf8Validator::default();
    let mut masker = key.map(Masker::new);
    for piece in payload.chunks_mut(CACHE_PIECE) {
        // An all-ASCII piece is valid UTF-8 on its own when no code point is left open.
        let ascii = match masker.as_mut() {
            Some(m) => m.apply_is_ascii(piece),
            None => piece.is_ascii(),
        };
        if !(ascii && utf8.is_boundary()) {
            utf8.feed(piece)?;
        }
    }
    utf8.finish()?;
    Ok(())
}

/// From this payload length on, [`Connection::send_shared`] queues the payload
/// itself instead of copying it behind its header; below it a copy is cheaper
/// than one more chunk in a vectored write.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::ws::{Connection, connection::SHARED_MIN_LEN, message::MessageKind};
/// let mut c = Connection::server(Default::default());
/// c.send_shared(MessageKind::Binary, Bytes::from(vec![0u8; SHARED_MIN_LEN - 1])).unwrap();
/// assert_eq!(c.transmit_chunks().count(), 1); // copied behind its header
/// ```
pub const SHARED_MIN_LEN: usize = 1024;

/// A single-frame binary message up to this long waits in the input buffer,
/// header included, until it is complete, and is then read whole by the fast
/// path.
const DEFER_MAX: usize = 16 << 10;

/// The most [`Connection::input_buffer`] reserves ahead for the rest of a frame
/// in progress: a peer that announces a large frame gets no more memory than
/// this before it sends the bytes.
const RESERVE_AHEAD: usize = 1 << 20;

/// A run of pending output: see `Connection::segments`.
#[derive(Debug)]
enum Segment {
    /// The next this many bytes of the output buffer.
    Output(usize),
    /// A payload handed over by `send_shared`.
    Shared(Bytes),
}

/// What one step of the read path did.
enum Step {
    /// An event may have been queued; keep going.
    Progress,
    /// The input holds no complete next step.
    NeedInput,
    /// A whole message of this kind and length sits unmasked at the front of the input.
    Lent(MessageKind, usize),
}

/// A source of masking keys for a client. They must be unpredictable (§10.3):
/// back this with a CSPRNG.
///
/// ```
/// use socketwire::ws::MaskSource;
/// let mut counter = 0u32;
/// let mut source = move || { counter += 1; counter.to_be_bytes() };
/// assert_eq!(source.next_mask(), [0, 0, 0, 1]);
/// ```
pub trait MaskSource: Send {
    /// The next masking key.
    fn next_mask(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskSource for F {
    fn next_mask(&mut self) -> [u8; 4] {
        self()
    }
}

/// Mask keys from the operating system's random source (feature `getrandom`).
///
/// ```
/// # #[cfg(feature = "getrandom")] {
/// use socketwire::ws::{MaskSource, connection::OsRandomMask};
/// let _key = OsRandomMask.next_mask();
/// # }
/// ```
#[cfg(feature = "getrandom")]
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandomMask;

#[cfg(feature = "getrandom")]
impl MaskSource for OsRandomMask {
    fn next_mask(&mut self) -> [u8; 4] {
        let mut key = [0u8; 4];
        // An OS RNG failure leaves no safe way to mask; fall back is not acceptable.
        getrandom::fill(&mut key).expect("operating system random source failed");
        key
    }
}

/// The most pongs queued between two [`Connection::poll_transmit`] calls.
pub const MAX_QUEUED_PONGS: usize = 16;

/// Payloads are unmasked and validated in pieces of this size, so that UTF-8
/// validation reads bytes the unmasking just left in the L1 cache.
const CACHE_PIECE: usize = 8 << 10;

/// The frame being read.
#[derive(Debug)]
struct ReadingFrame {
    header: FrameHeader,
    payload_len: usize,
    /// Payload bytes at the front of `input` already unmasked (and validated).
    ready: usize,
    masker: Option<Masker>,
}

/// A sans-IO WebSocket connection, after the opening handshake. See the
/// [module docs](self) for the drive loop and the state table.
///
/// ```
/// use socketwire::ws::{Config, Connection, Event, Role};
/// let mut client = Connection::client(Config::default(), || [1, 2, 3, 4]);
/// assert_eq!(client.role(), Role::Client);
/// client.ping(b"hi").unwrap();
/// let mut out = bytes::BytesMut::new();
/// client.poll_transmit(&mut out);
/// assert_eq!(&out[..2], &[0x89, 0x82]); // masked ping
/// ```
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    masks: Option<Box<dyn MaskSource>>,
    extension: Option<Box<dyn PerMessageExtension>>,
    input: BytesMut,
    /// Bytes at the front of `input` already read by the fast path (frame headers
    /// and lent payloads), dropped at the next call that reads any other way.
    lent: usize,
    output: BytesMut,
    /// The order of pending output once [`send_shared`](Self::send_shared) queued
    /// a payload: runs of bytes from the front of `output` and shared payloads,
    /// followed by whatever of `output` no run covers. Empty: all of `output`.
    segments: VecDeque<Segment>,
    /// Bytes of `output` covered by `Segment::Output` runs.
    output_in_segments: usize,
    /// Scratch for outgoing compressed payloads, kept between messages.
    compressed: BytesMut,
    reading: Option<ReadingFrame>,
    message: MessageAssembler,
    /// Streaming mode: whether the next fragment is the first of its message.
    stream_first: bool,
    /// Outgoing streamed message in progress, and whether it is compressed.
    sending: Option<bool>,
    /// Pongs written since the last `poll_transmit`, and where the last one starts.
    queued_pongs: usize,
    last_pong_at: Option<(usize, usize)>,
    events: VecDeque<Event>,
    received_since_timer: bool,
    last_received: Option<Duration>,
    next_ping: Option<Duration>,
    close_deadline: Option<Duration>,
    close_sent: bool,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered_input", &self.input.len())
            .field("buffered_output", &self.pending_output_len())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server-side connection (expects masked frames, sends unmasked ones).
    ///
    /// ```
    /// let c = socketwire::ws::Connection::server(Default::default());
    /// assert_eq!(c.role(), socketwire::ws::Role::Server);
    /// ```
    pub fn server(config: Config) -> Self {
        Self::new(Role::Server, config, None)
    }

    /// A client-side connection; every frame is masked with a key from `masks`.
    ///
    /// ```
    /// let c = socketwire::ws::Connection::client(Default::default(), || [0x37, 0xfa, 0x21, 0x3d]);
    /// assert_eq!(c.role(), socketwire::ws::Role::Client);
    /// ```
    pub fn client(config: Config, masks: impl MaskSource + 'static) -> Self {
        Self::new(Role::Client, config, Some(Box::new(masks)))
    }

    fn new(role: Role, config: Config, masks: Option<Box<dyn MaskSource>>) -> Self {
        Connection {
            role,
            message: MessageAssembler::new(config.limits),
            config,
            state: State::Open,
            masks,
            extension: None,
            input: BytesMut::new(),
            lent: 0,
            output: BytesMut::new(),
            segments: VecDeque::new(),
            output_in_segments: 0,
            compressed: BytesMut::new(),
            reading: None,
            stream_first: true,
            sending: None,
            queued_pongs: 0,
            last_pong_at: None,
            events: VecDeque::new(),
            received_since_timer: false,
            last_received: None,
            next_ping: None,
            close_deadline: None,
            close_sent: false,
        }
    }

    /// Installs the per-message extension negotiated in the handshake (RSV1 hook).
    ///
    /// ```
    /// # #[cfg(feature = "deflate")] {
    /// # }
    /// let c = socketwire::ws::Connection::server(Default::default());
    /// assert!(!c.has_extension());
    /// ```
    pub fn with_extension(mut self, extension: impl PerMessageExtension + 'static) -> Self {
        self.extension = Some(Box::new(extension));
        self
    }

    /// Whether a per-message extension is installed.
    ///
    /// ```
    /// assert!(!socketwire::ws::Connection::server(Default::default()).has_extension());
    /// ```
    pub fn has_extension(&self) -> bool {
        self.extension.is_some()
    }

    /// Our role.
    ///
    /// ```
    /// let c = socketwire::ws::Connection::server(Default::default());
    /// assert_eq!(c.role(), socketwire::ws::Role::Server);
    /// ```
    pub fn role(&self) -> Role {
        self.role
    }

    /// The current state.
    ///
    /// ```
    /// let c = socketwire::ws::Connection::server(Default::default());
    /// assert_eq!(c.state(), socketwire::ws::State::Open);
    /// ```
    pub fn state(&self) -> State {
        self.state
    }

    // ----------------------------------------------------------------- input

    /// Feeds bytes received from the transport. Call [`poll_event`](Self::poll_event)
    /// afterwards. Input after the connection closed is ignored.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.handle_input(&[0x89, 0x80, 0, 0, 0, 0]); // masked empty ping
    /// assert!(matches!(c.poll_event(), Some(socketwire::ws::Event::Ping(_))));
    /// ```
    pub fn handle_input(&mut self, data: &[u8]) {
        self.release_lent();
        if self.state != State::Closed && !data.is_empty() {
            self.input.extend_from_slice(data);
            self.received_since_timer = true;
        }
    }

    /// The input buffer, for reading from the transport straight into it (no copy):
    /// append to it, then call [`poll_event`](Self::poll_event). While a frame is
    /// only partly buffered, the buffer has room reserved for the rest of it (up
    /// to 1 MiB at a time), so reading into its spare capacity completes the frame
    /// without moving the bytes already there.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.input_buffer().extend_from_slice(&[0x8a, 0x80, 0, 0, 0, 0]);
    /// assert!(matches!(c.poll_event(), Some(socketwire::ws::Event::Pong(_))));
    /// ```
    pub fn input_buffer(&mut self) -> &mut BytesMut {
        self.release_lent();
        self.received_since_timer = true;
        // Room for the rest of a frame in progress (its length passed the limits
        // when its header was read; at most RESERVE_AHEAD at a time), so a read
        // into the spare capacity can complete it without moving what is buffered.
        if let Some(frame) = &self.reading {
            let missing = frame.payload_len.saturating_sub(self.input.len());
            self.input.reserve(missing.min(RESERVE_AHEAD));
        }
        &mut self.input
    }

    /// The transport reached end of file. Unless the close handshake finished,
    /// this yields `Event::Closed` with code 1006 (reported locally, never sent).
    ///
    /// ```
    /// use socketwire::ws::{CloseCode, Event};
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.handle_eof();
    /// assert!(matches!(c.poll_event(), Some(Event::Closed { code: CloseCode::ABNORMAL, .. })));
    /// ```
    pub fn handle_eof(&mut self) {
        if self.state != State::Closed {
            self.finish_closed(CloseCode::ABNORMAL, ClosedBy::Eof);
        }
    }

    /// Advances timers to `now` (time since any fixed origin the caller chooses):
    /// sends keepalive pings, enforces the idle and close timeouts.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::ws::{Config, Connection};
    /// let cfg = Config { keepalive_interval: Some(Duration::from_secs(1)), ..Config::default() };
    /// let mut c = Connection::server(cfg);
    /// c.handle_timeout(Duration::ZERO);
    /// c.handle_timeout(Duration::from_secs(1));
    /// let mut out = bytes::BytesMut::new();
    /// c.poll_transmit(&mut out);
    /// assert_eq!(out[0], 0x89); // a keepalive ping
    /// ```
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.state == State::Closed {
            return;
        }
        if self.received_since_timer || self.last_received.is_none() {
            self.received_since_timer = false;
            self.last_received = Some(now);
        }
        if let Some(deadline) = self.close_deadline
            && now >= deadline
        {
            self.finish_closed(CloseCode::ABNORMAL, ClosedBy::CloseTimeout);
            return;
        }
        if let (Some(idle), Some(last)) = (self.config.idle_timeout, self.last_received)
            && now >= last + idle
        {
            self.finish_closed(CloseCode::ABNORMAL, ClosedBy::IdleTimeout);
            return;
        }
        if let Some(interval) = self.config.keepalive_interval {
            let due = *self.next_ping.get_or_insert(now + interval);
            if now >= due {
                if self.state == State::Open {
                    self.write_frame(Opcode::Ping, false, true, &[]);
                }
                self.next_ping = Some(now + interval);
            }
        }
        if self.state == State::LocalClosing && self.close_deadline.is_none() {
            self.close_deadline = self.config.close_timeout.map(|t| now + t);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    ///
    /// ```
    /// let c = socketwire::ws::Connection::server(Default::default());
    /// assert_eq!(c.poll_timeout(), None);
    /// ```
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.state == State::Closed {
            return None;
        }
        let idle = match (self.config.idle_timeout, self.last_received) {
            (Some(idle), Some(last)) => Some(last + idle),
            (Some(_), None) => Some(Duration::ZERO),
            _ => None,
        };
        let ping = self
            .config
            .keepalive_interval
            .map(|_| self.next_ping.unwrap_or(Duration::ZERO));
        let close = if self.state == State::LocalClosing && self.config.close_timeout.is_some() {
            Some(self.close_deadline.unwrap_or(Duration::ZERO))
        } else {
            None
        };
        [idle, ping, close].into_iter().flatten().min()
    }

    // ---------------------------------------------------------------- output

    /// The next event, decoding buffered input as needed.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// assert_eq!(c.poll_event(), None);
    /// ```
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some((kind, start, len)) = self.lend_next() {
            bytes::Buf::advance(&mut self.input, start);
            self.lent = 0;
            let payload = self.input.split_to(len).freeze();
            return Some(match kind {
                MessageKind::Text => Event::Text(payload),
                MessageKind::Binary => Event::Binary(payload),
            });
        }
        self.release_lent();
        loop {
            if let Some(e) = self.events.pop_front() {
                return Some(e);
            }
            if self.state == State::Closed {
                return None;
            }
            match self.read_step(false) {
                Ok(Step::Progress | Step::Lent(..)) => continue,
                Ok(Step::NeedInput) => return None,
                Err(error) => self.fail(error),
            }
        }
    }

    /// Like [`poll_event`](Self::poll_event), but a whole single-frame message is
    /// lent straight from the input buffer (unmasked and validated in place)
    /// instead of being handed out as `Bytes`: no reference counting, no copy.
    /// The loan ends at the next call into the connection. Other events, and
    /// messages that arrived in fragments or compressed, come as
    /// [`EventRef::Owned`].
    ///
    /// ```
    /// use socketwire::ws::{Config, Connection, connection::EventRef};
    /// let mut server = Connection::server(Config::default());
    /// server.handle_input(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    /// match server.poll_event_borrowed() {
    ///     Some(EventRef::Text(text)) => assert_eq!(text, b"Hello"),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert!(server.poll_event_borrowed().is_none());
    /// ```
    pub fn poll_event_borrowed(&mut self) -> Option<EventRef<'_>> {
        if let Some((kind, start, len)) = self.lend_next() {
            let data = &self.input[start..start + len];
            return Some(match kind {
                MessageKind::Text => EventRef::Text(data),
                MessageKind::Binary => EventRef::Binary(data),
            });
        }
        self.release_lent();
        let (kind, len) = loop {
            if let Some(e) = self.events.pop_front() {
                return Some(EventRef::Owned(e));
            }
            if self.state == State::Closed {
                return None;
            }
            match self.read_step(true) {
                Ok(Step::Progress) => continue,
                Ok(Step::NeedInput) => return None,
                Ok(Step::Lent(kind, len)) => break (kind, len),
                Err(error) => self.fail(error),
            }
        };
        self.lent = len;
        let data = &self.input[..len];
        Some(match kind {
            MessageKind::Text => EventRef::Text(data),
            MessageKind::Binary => EventRef::Binary(data),
        })
    }

    /// Appends all pending output to `out` (swapping buffers when `out` is empty
    /// and nothing was queued by [`send_shared`](Self::send_shared), so no copy is
    /// made). Returns the number of bytes added.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.send_binary(&[1, 2, 3]).unwrap();
    /// let mut out = bytes::BytesMut::new();
    /// assert_eq!(c.poll_transmit(&mut out), 5);
    /// assert_eq!(c.poll_transmit(&mut out), 0);
    /// ```
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> usize {
        let n = self.pending_output_len();
        if out.is_empty() && self.segments.is_empty() {
            core::mem::swap(out, &mut self.output);
        } else {
            out.reserve(n);
            for chunk in self.transmit_chunks() {
                out.extend_from_slice(chunk);
            }
            self.segments.clear();
            self.output_in_segments = 0;
            self.output.clear();
        }
        self.queued_pongs = 0;
        self.last_pong_at = None;
        n
    }

    /// The pending output as a sequence of slices, for a vectored write
    /// (`writev`, `write_vectored`), without copying: frame headers and small
    /// frames come from the connection's output buffer, payloads given to
    /// [`send_shared`](Self::send_shared) come as they were given, so a large
    /// payload is never copied to put a header in front of it. After writing,
    /// report how many bytes went out with
    /// [`advance_transmit`](Self::advance_transmit) (a partial write is fine).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::ws::{Connection, message::MessageKind};
    /// let mut c = Connection::server(Default::default());
    /// let payload = Bytes::from(vec![7u8; 4096]);
    /// c.send_shared(MessageKind::Binary, payload.clone()).unwrap();
    /// c.ping(b"").unwrap();
    /// let chunks: Vec<&[u8]> = c.transmit_chunks().collect();
    /// assert_eq!(chunks.len(), 3);
    /// assert_eq!(chunks[0], &[0x82, 126, 0x10, 0x00]);
    /// assert_eq!(chunks[1].as_ptr(), payload.as_ptr()); // the same bytes, not a copy
    /// assert_eq!(chunks[2], &[0x89, 0x00]);
    /// // The transport took the header and half the payload.
    /// c.advance_transmit(4 + 2048);
    /// assert_eq!(c.transmit_chunks().map(<[u8]>::len).sum::<usize>(), 2048 + 2);
    /// ```
    pub fn transmit_chunks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut start = 0;
        let runs = self.segments.iter().map(move |segment| match segment {
            Segment::Output(len) => {
                let run = &self.output[start..start + len];
                start += len;
                run
            }
            Segment::Shared(payload) => &payload[..],
        });
        let rest = &self.output[self.output_in_segments..];
        runs.chain(core::iter::once(rest))
            .filter(|chunk| !chunk.is_empty())
    }

    /// Drops the first `n` bytes of pending output: the transport took them from
    /// [`transmit_chunks`](Self::transmit_chunks). `n` larger than what is pending
    /// drops it all.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.send_binary(b"abc").unwrap(); // frame: 0x82 0x03 a b c
    /// c.advance_transmit(3);
    /// assert_eq!(c.transmit_chunks().collect::<Vec<_>>(), [&b"bc"[..]]);
    /// c.advance_transmit(2);
    /// assert!(!c.wants_transmit());
    /// ```
    pub fn advance_transmit(&mut self, mut n: usize) {
        let mut output_taken = 0;
        while n > 0 {
            let Some(segment) = self.segments.front_mut() else {
                let m = n.min(self.output.len());
                bytes::Buf::advance(&mut self.output, m);
                output_taken += m;
                break;
            };
            let (m, done) = match segment {
                Segment::Output(len) => {
                    let m = n.min(*len);
                    bytes::Buf::advance(&mut self.output, m);
                    output_taken += m;
                    self.output_in_segments -= m;
                    *len -= m;
                    (m, *len == 0)
                }
                Segment::Shared(payload) => {
                    let m = n.min(payload.len());
                    bytes::Buf::advance(payload, m);
                    (m, payload.is_empty())
                }
            };
            if done {
                self.segments.pop_front();
            }
            n -= m;
        }
        // The pong bound counts pongs still waiting in the output: it restarts
        // only once everything went out. A pong that started going out can no
        // longer be replaced; one still wholly queued moves with the output.
        if !self.wants_transmit() {
            self.queued_pongs = 0;
            self.last_pong_at = None;
        } else if let Some((start, end)) = self.last_pong_at {
            self.last_pong_at =
                (start >= output_taken).then(|| (start - output_taken, end - output_taken));
        }
    }

    /// Bytes waiting for [`poll_transmit`](Self::poll_transmit).
    fn pending_output_len(&self) -> usize {
        let shared: usize = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Shared(payload) => payload.len(),
                Segment::Output(_) => 0,
            })
            .sum();
        shared + self.output.len()
    }

    /// Whether output is waiting for [`poll_transmit`](Self::poll_transmit).
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.ping(b"").unwrap();
    /// assert!(c.wants_transmit());
    /// ```
    pub fn wants_transmit(&self) -> bool {
        !self.output.is_empty() || !self.segments.is_empty()
    }

    // -------------------------------------------------------------- commands

    /// Sends a whole text message.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.send_text("hi").unwrap();
    /// ```
    pub fn send_text(&mut self, text: &str) -> Result<(), ApiMisuse> {
        self.send_message(Opcode::Text, text.as_bytes())
    }

    /// Sends a whole binary message.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.send_binary(&[0u8; 300]).unwrap();
    /// ```
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), ApiMisuse> {
        self.send_message(Opcode::Binary, data)
    }

    /// Sends a whole message whose payload the caller already holds as [`Bytes`].
    /// Where the payload goes out as it is (a server, which does not mask, and no
    /// compression for this message), a payload of [`SHARED_MIN_LEN`] bytes or
    /// more is not copied: only the frame header is written, and the payload
    /// follows as its own chunk in [`transmit_chunks`](Self::transmit_chunks).
    /// Otherwise this is
    /// [`send_binary`](Self::send_binary) / [`send_text`](Self::send_text). Text
    /// must be valid UTF-8 ([`ApiMisuse::InvalidUtf8`] if not).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::ws::{Connection, message::MessageKind};
    /// let mut c = Connection::server(Default::default());
    /// c.send_shared(MessageKind::Text, Bytes::from_static(b"hi")).unwrap();
    /// assert!(c.send_shared(MessageKind::Text, Bytes::from_static(b"\xff")).is_err());
    /// let mut out = bytes::BytesMut::new();
    /// c.poll_transmit(&mut out);
    /// assert_eq!(&out[..], &[0x81, 2, b'h', b'i']);
    /// ```
    pub fn send_shared(&mut self, kind: MessageKind, payload: Bytes) -> Result<(), ApiMisuse> {
        let opcode = match kind {
            MessageKind::Text => {
                if simdutf8::basic::from_utf8(&payload).is_err() {
                    return Err(ApiMisuse::InvalidUtf8);
                }
                Opcode::Text
            }
            MessageKind::Binary => Opcode::Binary,
        };
        let compress = self
            .extension
            .as_ref()
            .is_some_and(|e| e.should_encode(payload.len()));
        if compress || self.role.masks_outgoing() || payload.len() < SHARED_MIN_LEN {
            return self.send_message(opcode, &payload);
        }
        self.check_can_start_message()?;
        let header = FrameHeader::new(opcode, payload.len() as u64);
        header.write(&mut self.output);
        // A pong written before this payload can no longer be replaced.
        self.last_pong_at = None;
        let run = self.output.len() - self.output_in_segments;
        self.segments.push_back(Segment::Output(run));
        self.output_in_segments += run;
        self.segments.push_back(Segment::Shared(payload));
        Ok(())
    }

    fn send_message(&mut self, opcode: Opcode, data: &[u8]) -> Result<(), ApiMisuse> {
        self.check_can_start_message()?;
        let compress = self
            .extension
            .as_ref()
            .is_some_and(|e| e.should_encode(data.len()));
        self.write_data_frame(opcode, compress, true, data);
        Ok(())
    }

    /// Sends one frame of a message streamed in pieces: `kind` is used on the
    /// first call, `fin` ends the message. Control frames may be sent in between.
    ///
    /// ```
    /// use socketwire::ws::{Connection, message::MessageKind};
    /// let mut c = Connection::server(Default::default());
    /// c.send_fragment(MessageKind::Text, b"Hel", false).unwrap();
    /// c.send_fragment(MessageKind::Text, b"lo", true).unwrap();
    /// let mut out = bytes::BytesMut::new();
    /// c.poll_transmit(&mut out);
    /// assert_eq!(&out[..], &[0x01, 0x03, b'H', b'e', b'l', 0x80, 0x02, b'l', b'o']);
    /// ```
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), ApiMisuse> {
        self.check_can_send()?;
        let (opcode, compress) = match self.sending {
            Some(compress) => (Opcode::Continuation, compress),
            None => {
                let op = match kind {
                    MessageKind::Text => Opcode::Text,
                    MessageKind::Binary => Opcode::Binary,
                };
                // The length of a streamed message is unknown until its last frame.
                let len = if fin { data.len() } else { usize::MAX };
                let compress = self
                    .extension
                    .as_ref()
                    .is_some_and(|e| e.should_encode(len));
                (op, compress)
            }
        };
        self.sending = if fin { None } else { Some(compress) };
        self.write_data_frame(opcode, compress, fin, data);
        Ok(())
    }

    /// Sends a ping (payload ≤ 125 bytes, §5.5).
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// assert!(c.ping(&[0; 126]).is_err());
    /// ```
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), ApiMisuse> {
        self.send_control(Opcode::Ping, payload)
    }

    /// Sends an unsolicited pong (payload ≤ 125 bytes).
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.pong(b"beat").unwrap();
    /// ```
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), ApiMisuse> {
        self.send_control(Opcode::Pong, payload)
    }

    fn send_control(&mut self, opcode: Opcode, payload: &[u8]) -> Result<(), ApiMisuse> {
        self.check_can_send()?;
        if payload.len() > 125 {
            return Err(ApiMisuse::ControlPayloadTooLong);
        }
        self.write_frame(opcode, false, true, payload);
        Ok(())
    }

    /// Starts the close handshake with `code` and `reason` (≤ 123 bytes). Nothing
    /// else can be sent afterwards (§5.5.1).
    ///
    /// ```
    /// use socketwire::ws::{CloseCode, Connection, State};
    /// let mut c = Connection::server(Default::default());
    /// c.close(CloseCode::NORMAL, "bye").unwrap();
    /// assert_eq!(c.state(), State::LocalClosing);
    /// assert!(c.send_text("late").is_err());
    /// ```
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), ApiMisuse> {
        self.check_can_send()?;
        if !code.is_valid_on_wire() {
            return Err(ApiMisuse::InvalidCloseCode(code.0));
        }
        if reason.len() > 123 {
            return Err(ApiMisuse::ControlPayloadTooLong);
        }
        self.write_close(code, reason);
        self.state = State::LocalClosing;
        Ok(())
    }

    /// A whole message may be sent: the connection is open and no streamed
    /// message is in progress.
    fn check_can_start_message(&self) -> Result<(), ApiMisuse> {
        self.check_can_send()?;
        if self.sending.is_some() {
            return Err(ApiMisuse::StreamOrder);
        }
        Ok(())
    }

    fn check_can_send(&self) -> Result<(), ApiMisuse> {
        if self.state == State::Open {
            Ok(())
        } else {
            Err(ApiMisuse::NotOpen)
        }
    }

    // -------------------------------------------------------------- internals

    /// Processes buffered input. `Ok(true)` when progress was made (an event may be
    /// queued), `Ok(false)` when more input is needed.
    fn read_step(&mut self, lend: bool) -> Result<Step, ProtocolError> {
        if self.reading.is_none() {
            let Status::Complete((header, header_len)) = FrameHeader::decode(&self.input)? else {
                return Ok(Step::NeedInput);
            };
            self.check_header(&header)?;
            // A small whole binary message still arriving: wait for the rest
            // and take it whole (the fast path) instead of starting to assemble
            // it. Text is not deferred: its UTF-8 is checked as it arrives.
            if self.whole_message_kind(&header) == Some(MessageKind::Binary)
                && header.payload_len <= DEFER_MAX as u64
                // Over a limit: the general path fails it now.
                && header.payload_len <= self.config.limits.max_message_size
                && self.config.limits.max_fragments > 0
                && header.payload_len > (self.input.len() - header_len) as u64
            {
                return Ok(Step::NeedInput);
            }
            // Drop the header bytes in place (no reference-count traffic).
            bytes::Buf::advance(&mut self.input, header_len);
            if let Some((kind, len)) = self.read_whole_message(&header)? {
                if lend {
                    return Ok(Step::Lent(kind, len));
                }
                let payload = self.input.split_to(len).freeze();
                self.events.push_back(match kind {
                    MessageKind::Text => Event::Text(payload),
                    MessageKind::Binary => Event::Binary(payload),
                });
                return Ok(Step::Progress);
            }
            self.begin_frame(header)?;
        }
        Ok(if self.read_payload()? {
            Step::Progress
        } else {
            Step::NeedInput
        })
    }

    /// Drops the bytes of a message lent by [`poll_event_borrowed`](Self::poll_event_borrowed).
    fn release_lent(&mut self) {
        if self.lent > 0 {
            bytes::Buf::advance(&mut self.input, self.lent);
            self.lent = 0;
        }
    }

    /// The fast path for the common case: a single-frame (FIN set), uncompressed text
    /// or binary message, outside streaming mode, with no message open and the whole
    /// payload already buffered. It is unmasked in place at the front of the input
    /// (text in cache-sized pieces, each validated right after it is unmasked, ASCII
    /// pieces for free); the caller splits it off or lends it. Makes exactly the
    /// checks `begin_frame` and the [`MessageAssembler`] would make; returns `None`
    /// (nothing touched) for every other frame, which then takes the general path.
    fn read_whole_message(
        &mut self,
        header: &FrameHeader,
    ) -> Result<Option<(MessageKind, usize)>, ProtocolError> {
        let Some(kind) = self.whole_message_kind(header) else {
            return Ok(None);
        };
        let len = match usize::try_from(header.payload_len) {
            Ok(len) if len <= self.input.len() => len,
            _ => return Ok(None),
        };
        let limits = &self.config.limits;
        if limits.max_fragments == 0 {
            return Err(ProtocolError::TooManyFragments {
                max: limits.max_fragments,
            });
        }
        if header.payload_len > limits.max_message_size {
            return Err(ProtocolError::MessageTooBig {
                len: header.payload_len,
                max: limits.max_message_size,
            });
        }
        unmask_whole_message(&mut self.input[..len], kind, header.mask)?;
        Ok(Some((kind, len)))
    }

    /// The kind of message this frame is, when it is a whole message by itself
    /// that the fast path may take: text or binary, FIN set, not compressed,
    /// outside streaming mode, with no fragmented message open.
    fn whole_message_kind(&self, header: &FrameHeader) -> Option<MessageKind> {
        let kind = match header.opcode {
            Opcode::Text => MessageKind::Text,
            Opcode::Binary => MessageKind::Binary,
            _ => return None,
        };
        let whole = header.fin && !header.rsv1 && !self.config.streaming && !self.message.is_open();
        whole.then_some(kind)
    }

    /// The fastest path, for [`poll_event_borrowed`](Self::poll_event_borrowed)
    /// and [`poll_event`](Self::poll_event): the next frame, read straight from the
    /// bytes after those already lent, is a whole single-frame text or binary
    /// message with no RSV bit, masked as the role requires, with a 7- or 16-bit
    /// length within the limits, and nothing else is in progress. It is unmasked
    /// (and validated) in place and its place in the input returned; the lent
    /// prefix grows over it, so a run of small messages costs no buffer
    /// bookkeeping at all. Any other frame returns `None` untouched, and the
    /// general path (which reports every error) takes it.
    /// A frame that breaks a rule fails the connection here (the `Closed` event
    /// then waits in the queue) and returns `None`.
    #[inline(always)]
    fn lend_next(&mut self) -> Option<(MessageKind, usize, usize)> {
        if self.state != State::Open
            || self.reading.is_some()
            || !self.events.is_empty()
            || self.config.streaming
            || self.message.is_open()
        {
            return None;
        }
        let input = &self.input[self.lent..];
        let &[b0, b1, ref rest @ ..] = input else {
            return None;
        };
        // FIN set, RSV1-3 clear, a text or binary opcode.
        let kind = match b0 {
            0x81 => MessageKind::Text,
            0x82 => MessageKind::Binary,
            _ => return None,
        };
        // RFC 6455 §5.1: server input MUST be masked, client input MUST NOT be.
        let masked = b1 & 0x80 != 0;
        if masked != self.role.expects_masked_input() {
            return None;
        }
        let (len, rest) = match b1 & 0x7f {
            126 => {
                let &[high, low, ref rest @ ..] = rest else {
                    return None;
                };
                let len = usize::from(u16::from_be_bytes([high, low]));
                // RFC 6455 §5.2: "the minimal number of bytes MUST be used".
                if len < 126 {
                    return None;
                }
                (len, rest)
            }
            127 => return None,
            short => (usize::from(short), rest),
        };
        let (key, rest) = if masked {
            let (key, rest) = rest.split_first_chunk::<4>()?;
            (Some(*key), rest)
        } else {
            (None, rest)
        };
        let limits = &self.config.limits;
        if rest.len() < len
            || len as u64 > limits.max_frame_size
            || len as u64 > limits.max_message_size
            || limits.max_fragments == 0
        {
            return None;
        }
        let start = self.lent + (input.len() - rest.len());
        if let Err(error) = unmask_whole_message(&mut self.input[start..start + len], kind, key) {
            self.fail(error);
            return None;
        }
        self.lent = start + len;
        Some((kind, start, len))
    }

    /// Every per-frame rule of §5 that the header alone decides.
    fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        // RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail_"
        if let Opcode::Reserved(op) = h.opcode {
            return Err(ProtocolError::ReservedOpcode(op));
        }
        // RFC 6455 §5.2: RSV bits "MUST be 0 unless an extension is negotiated that defines"
        // them. RSV1 (RFC 7692 §6) may be set only on the first frame of a data message.
        let rsv1_allowed =
            self.extension.is_some() && matches!(h.opcode, Opcode::Text | Opcode::Binary);
        if h.rsv2 || h.rsv3 || (h.rsv1 && !rsv1_allowed) {
            return Err(ProtocolError::ReservedBits(h.rsv_bits()));
        }
        // RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that
        // is not masked" / "A client MUST close a connection if it detects a masked frame".
        match (self.role.expects_masked_input(), h.mask.is_some()) {
            (true, false) => return Err(ProtocolError::UnmaskedFrame),
            (false, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            // RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or
            // less and MUST NOT be fragmented."
            if h.payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooLong(h.payload_len));
            }
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
        } else if h.payload_len > self.config.limits.max_frame_size {
            return Err(ProtocolError::FrameTooBig {
                len: h.payload_len,
                max: self.config.limits.max_frame_size,
            });
        }
        Ok(())
    }

    fn begin_frame(&mut self, header: FrameHeader) -> Result<(), ProtocolError> {
        match header.opcode {
            Opcode::Text | Opcode::Binary => {
                let kind = MessageKind::from_opcode(header.opcode).unwrap_or(MessageKind::Binary);
                // RFC 6455 §5.4: a new data frame inside a fragmented message is an error.
                self.message.start(kind, header.rsv1)?;
                self.stream_first = true;
                self.message.begin_frame(header.payload_len)?;
            }
            Opcode::Continuation => self.message.begin_frame(header.payload_len)?,
            _ => {}
        }
        // Bounded by max_frame_size (data) or 125 (control), checked in check_header.
        let payload_len =
            usize::try_from(header.payload_len).map_err(|_| ProtocolError::FrameTooBig {
                len: header.payload_len,
                max: usize::MAX as u64,
            })?;
        self.reading = Some(ReadingFrame {
            header,
            payload_len,
            ready: 0,
            masker: header.mask.map(Masker::new),
        });
        Ok(())
    }

    fn read_payload(&mut self) -> Result<bool, ProtocolError> {
        let Some(frame) = self.reading.as_mut() else {
            return Ok(false);
        };
        let available = self.input.len().min(frame.payload_len);
        let is_control = frame.header.opcode.is_control();
        // Unmask the newly arrived part in place.
        if available > frame.ready {
            let validate = !is_control && !self.message.is_compressed() && !self.config.streaming;
            let text = validate && self.message.kind() == Some(MessageKind::Text);
            // In cache-sized pieces, so each piece is validated while still in L1.
            for piece in self.input[frame.ready..available].chunks_mut(CACHE_PIECE) {
                let ascii = match frame.masker.as_mut() {
                    // Unmasking text also tells whether the piece is all ASCII.
                    Some(m) if text => m.apply_is_ascii(piece),
                    Some(m) => {
                        m.apply(piece);
                        false
                    }
                    None => false,
                };
                if validate {
                    // Fail fast: validate text as it arrives, before the frame completes.
                    self.message.validate_with_ascii_hint(piece, ascii)?;
                }
            }
            frame.ready = available;
        }
        let frame_done = frame.ready == frame.payload_len;
        if is_control {
            if !frame_done {
                return Ok(false);
            }
            let header = frame.header;
            let payload = self.input.split_to(frame.payload_len).freeze();
            self.reading = None;
            self.handle_control(header.opcode, payload)?;
            return Ok(true);
        }
        let fin = frame.header.fin;
        let ready = frame.ready;
        if self.message.is_compressed() {
            if ready == 0 && !frame_done {
                return Ok(false);
            }
            let chunk = self.input.split_to(ready);
            let frame = self.reading.as_mut().expect("reading");
            frame.payload_len -= ready;
            frame.ready = 0;
            self.inflate(&chunk, frame_done && fin)?;
        } else if self.config.streaming {
            if ready == 0 && !frame_done {
                return Ok(false);
            }
            let chunk = self.input.split_to(ready);
            let frame = self.reading.as_mut().expect("reading");
            frame.payload_len -= ready;
            frame.ready = 0;
            self.message.validate(&chunk)?;
            let last = frame_done && fin;
            self.emit_fragment(chunk.freeze(), last)?;
        } else {
            if !frame_done {
                return Ok(false);
            }
            let chunk = self.input.split_to(ready);
            self.message.push_chunk(chunk);
        }
        if frame_done {
            self.reading = None;
            if fin && !self.config.streaming {
                let (kind, data) = self.message.finish()?;
                self.events.push_back(match kind {
                    MessageKind::Text => Event::Text(data),
                    MessageKind::Binary => Event::Binary(data),
                });
            }
        }
        Ok(true)
    }

    fn emit_fragment(&mut self, data: Bytes, last: bool) -> Result<(), ProtocolError> {
        let kind = self.message.kind().unwrap_or(MessageKind::Binary);
        let first = core::mem::replace(&mut self.stream_first, last);
        if last {
            let _ = self.message.finish()?;
        }
        if !data.is_empty() || first || last {
            self.events.push_back(Event::Fragment(Fragment {
                kind,
                data,
                first,
                last,
            }));
        }
        Ok(())
    }

    fn inflate(&mut self, chunk: &[u8], end: bool) -> Result<(), ProtocolError> {
        let ext = self
            .extension
            .as_mut()
            .ok_or(ProtocolError::ReservedBits(0b100))?;
        let (buffer, max) = self.message.decompress_target();
        let before = buffer.len();
        ext.decode(chunk, end, buffer, max)?;
        if buffer.len() as u64 > max {
            return Err(ProtocolError::MessageTooBig {
                len: buffer.len() as u64,
                max,
            });
        }
        self.message.validate_buffered_from(before)?;
        if self.config.streaming {
            let (buffer, _) = self.message.decompress_target();
            let data = buffer.split().freeze();
            self.emit_fragment(data, end)?;
        }
        Ok(())
    }

    fn handle_control(&mut self, opcode: Opcode, payload: Bytes) -> Result<(), ProtocolError> {
        match opcode {
            Opcode::Ping => {
                if self.config.auto_pong && self.state == State::Open {
                    self.queue_pong(&payload);
                }
                self.events.push_back(Event::Ping(payload));
            }
            Opcode::Pong => self.events.push_back(Event::Pong(payload)),
            Opcode::Close => {
                let (code, reason) = parse_close_payload(&payload)?;
                if self.state == State::Open {
                    // RFC 6455 §5.5.1: "the endpoint MUST send a Close frame in response",
                    // typically echoing the status code it received (we echo the reason too).
                    if code == CloseCode::NO_STATUS {
                        self.write_frame(Opcode::Close, false, true, &[]);
                        self.close_sent = true;
                    } else {
                        self.write_close(code, reason);
                    }
                }
                self.events.push_back(Event::Close {
                    code,
                    reason: String::from(reason),
                });
                self.state = State::Closed;
                self.events.push_back(Event::Closed {
                    code,
                    by: ClosedBy::Handshake,
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// §7.1.7 Fail the WebSocket Connection: send a close with the error's code
    /// (unless one was sent already) and stop.
    fn fail(&mut self, error: ProtocolError) {
        let code = error.close_code();
        if !self.close_sent {
            self.write_close(code, "");
        }
        self.finish_closed(code, ClosedBy::ProtocolError(error));
    }

    fn finish_closed(&mut self, code: CloseCode, by: ClosedBy) {
        if matches!(by, ClosedBy::IdleTimeout) && !self.close_sent {
            self.write_close(CloseCode::GOING_AWAY, "");
        }
        self.state = State::Closed;
        self.reading = None;
        self.input.clear();
        self.lent = 0;
        self.events.push_back(Event::Closed { code, by });
    }

    /// Answers a ping in order with the rest of the output. At most
    /// [`MAX_QUEUED_PONGS`] pongs wait in the output between two `poll_transmit`
    /// calls; past that, the newest ping's pong replaces the last queued one
    /// (RFC 6455 §5.5.3 allows answering only the most recent ping).
    fn queue_pong(&mut self, payload: &[u8]) {
        if self.queued_pongs >= MAX_QUEUED_PONGS {
            // Replace the last pong only if nothing was written after it.
            if let Some((start, end)) = self.last_pong_at
                && end == self.output.len()
            {
                self.output.truncate(start);
                self.queued_pongs -= 1;
            }
        }
        let start = self.output.len();
        self.write_frame(Opcode::Pong, false, true, payload);
        self.last_pong_at = Some((start, self.output.len()));
        self.queued_pongs += 1;
    }

    fn write_close(&mut self, code: CloseCode, reason: &str) {
        let mut payload = [0u8; 125];
        payload[..2].copy_from_slice(&code.0.to_be_bytes());
        let n = reason.len().min(123);
        payload[2..2 + n].copy_from_slice(&reason.as_bytes()[..n]);
        self.write_frame(Opcode::Close, false, true, &payload[..2 + n]);
        self.close_sent = true;
    }

    fn write_data_frame(&mut self, opcode: Opcode, compress: bool, fin: bool, data: &[u8]) {
        if compress && let Some(ext) = self.extension.as_mut() {
            // Reuse one buffer for compressed payloads: no allocation per message.
            let mut encoded = core::mem::take(&mut self.compressed);
            encoded.clear();
            ext.encode(data, fin, &mut encoded);
            // RFC 7692 §6: RSV1 is set on the first frame of a compressed message only.
            self.write_frame(opcode, opcode != Opcode::Continuation, fin, &encoded);
            self.compressed = encoded;
            return;
        }
        self.write_frame(opcode, false, fin, data);
    }

    fn write_frame(&mut self, opcode: Opcode, rsv1: bool, fin: bool, payload: &[u8]) {
        let mask = match (self.role.masks_outgoing(), self.masks.as_mut()) {
            (true, Some(source)) => Some(source.next_mask()),
            _ => None,
        };
        let header = FrameHeader {
            fin,
            rsv1,
            rsv2: false,
            rsv3: false,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        self.output.reserve(header.encoded_len() + payload.len());
        header.write(&mut self.output);
        let start = self.output.len();
        self.output.put_slice(payload);
        if let Some(key) = mask {
            super::mask::apply_mask(&mut self.output[start..], key, 0);
        }
    }
}

/// Splits and validates a close frame's payload (§5.5.1, §7.4).
fn parse_close_payload(payload: &[u8]) -> Result<(CloseCode, &str), ProtocolError> {
    match payload {
        [] => Ok((CloseCode::NO_STATUS, "")),
        // RFC 6455 §5.5.1: "the first two bytes of the body MUST be a 2-byte unsigned integer"
        [_] => Err(ProtocolError::CloseFrameOneByte),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(ProtocolError::InvalidCloseCode(code.0));
            }
            let mut v = Utf8Validator::default();
            v.feed(reason)?;
            v.finish()?;
            core::str::from_utf8(reason)
                .map(|r| (code, r))
                .map_err(|_| ProtocolError::InvalidUtf8)
        }
    }
}
