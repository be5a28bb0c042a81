//! The WebSocket connection state machine, both roles (RFC 6455 §5–§7).
//!
//! [`Connection`] holds the states and every transition between them; its doc
//! comment says which methods to call and in which order. Reading frames lives
//! in `read.rs` (one gate for every header), pending output in `transmit.rs`.
//!
//! # States
//!
//! | state | on peer close frame | on `close()` | on protocol error | on EOF | on idle timeout | on close timeout |
//! |-------|---------------------|--------------|-------------------|--------|-----------------|------------------|
//! | `Open` | echo the close → `Closed` | send close → `LocalClosing` | send close with the error's code → `Closed` | → `Closed` (1006) | send close 1001 → `Closed` (1006) | — |
//! | `LocalClosing` | → `Closed` | misuse | → `Closed` | → `Closed` (1006) | → `Closed` (1006) | → `Closed` (1006) |
//! | `Closed` | input ignored | misuse | — | — | — | — |
//!
//! Every transition into `Closed` queues one [`Event::Closed`]. In
//! `LocalClosing` data frames from the peer are still delivered (§7.1.2: the
//! peer may send before it sees our close); nothing but the close goes out.
//! Sending in any state but `Open` is [`ApiMisuse::NotOpen`], never a panic.
//!
//! ```
//! use bytes::BytesMut;
//! use socketwire::ws::{Config, Connection, Event};
//! let mut server = Connection::server(Config::default());
//! // A masked "Hello" from a client (RFC 6455 §5.7).
//! server.handle_input(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! let Some(Event::Text(text)) = server.poll_event() else { panic!() };
//! assert_eq!(text, "Hello");
//! server.send_text("Hello").unwrap();
//! let mut out = BytesMut::new();
//! server.poll_transmit(&mut out);
//! assert_eq!(&out[..], &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
//! ```

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use core::time::Duration;

use bytes::{Bytes, BytesMut};

use super::close::CloseCode;
use super::error::{ApiMisuse, ProtocolError};
use super::extension::PerMessageExtension;
use super::frame::{FrameHeader, Opcode};
use super::message::{Limits, MessageAssembler, MessageKind, Utf8Validator};
use super::prepared::PreparedMessage;
use super::read::{ReadingFrame, Ready, message_event};
use super::role::Role;
use super::transmit::TransmitQueue;
pub use super::transmit::{MAX_QUEUED_PONGS, SHARED_MIN_LEN};
use crate::Utf8Bytes;

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
    /// at most [`MAX_QUEUED_PONGS`] wait in the output at once (one more when
    /// the application's messages come between the pings), the last
    /// answering the most recent ping: a peer that pings without reading
    /// gets its extra pongs coalesced, never an output that grows.
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
#[non_exhaustive]
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
/// use socketwire::ws::ClosedBy;
/// assert_ne!(ClosedBy::Handshake, ClosedBy::Eof);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
/// use socketwire::ws::{Fragment, MessageKind};
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
#[non_exhaustive]
pub enum Event {
    /// A whole text message, checked as UTF-8 (send it on with
    /// [`Connection::send_text_shared`]: no copy, no second check).
    Text(Utf8Bytes),
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
/// use socketwire::ws::EventRef;
/// let e = EventRef::Binary(&[1, 2, 3]);
/// assert!(matches!(e, EventRef::Binary(b) if b.len() == 3));
/// ```
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventRef<'a> {
    /// A whole text message; the bytes are valid UTF-8.
    Text(&'a [u8]),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// Any other event (including messages that were fragmented or compressed).
    Owned(Event),
}

impl EventRef<'_> {
    /// The same event as [`Connection::poll_event`] would have given: a lent
    /// message is copied into [`Bytes`].
    ///
    /// ```
    /// use socketwire::ws::{Event, EventRef};
    /// assert_eq!(EventRef::Text(b"hi").into_owned(), Event::Text(socketwire::Utf8Bytes::from_static("hi")));
    /// ```
    #[must_use]
    pub fn into_owned(self) -> Event {
        match self {
            EventRef::Text(text) => {
                Event::Text(Utf8Bytes::from_validated(Bytes::copy_from_slice(text)))
            }
            EventRef::Binary(data) => Event::Binary(Bytes::copy_from_slice(data)),
            EventRef::Owned(event) => event,
        }
    }
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
/// use socketwire::ws::{MaskSource, OsRandomMask};
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

/// The most [`Connection::input_buffer`] reserves ahead for the rest of a frame
/// in progress: a peer that announces a large frame gets no more memory than
/// this before it sends the bytes.
const RESERVE_AHEAD: usize = 1 << 20;

/// A sans-IO WebSocket connection, after the opening handshake: the state
/// machine of the [module docs](self), which does no I/O. The caller moves
/// bytes and time.
///
/// # Methods by kind
///
/// | kind | methods |
/// |------|---------|
/// | build | [`server`](Self::server), [`client`](Self::client), [`with_extension`](Self::with_extension) |
/// | input (`handle_*`) | [`handle_input`](Self::handle_input) or [`input_buffer`](Self::input_buffer), [`handle_eof`](Self::handle_eof), [`handle_timeout`](Self::handle_timeout) |
/// | output (`poll_*`) | [`poll_event`](Self::poll_event) or [`poll_event_borrowed`](Self::poll_event_borrowed); [`poll_transmit`](Self::poll_transmit) or [`transmit_chunks`](Self::transmit_chunks) + [`advance_transmit`](Self::advance_transmit), with [`wants_transmit`](Self::wants_transmit); [`poll_timeout`](Self::poll_timeout) |
/// | commands | [`send_text`](Self::send_text), [`send_binary`](Self::send_binary), [`send_shared`](Self::send_shared), [`send_fragment`](Self::send_fragment), [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close) |
/// | queries | [`state`](Self::state), [`role`](Self::role), [`has_extension`](Self::has_extension) |
///
/// # Which to use
///
/// | need | use | instead of |
/// |------|-----|------------|
/// | the fastest receive; the message is handled before the next call | [`poll_event_borrowed`](Self::poll_event_borrowed): whole single-frame messages lent from the input buffer, no reference count, no copy | [`poll_event`](Self::poll_event): every message as owned [`Bytes`], to keep or send elsewhere |
/// | write with one call, or into a buffer you own | [`poll_transmit`](Self::poll_transmit): all pending output appended to your `BytesMut` (a buffer swap when it is empty) | — |
/// | vectored writes (`writev`), partial writes, large shared payloads | [`transmit_chunks`](Self::transmit_chunks) + [`advance_transmit`](Self::advance_transmit): the pending output as slices, then how much the transport took | `poll_transmit`, which copies shared payloads into one buffer |
/// | a payload you send often, or already hold as `Bytes` (broadcast) | [`send_shared`](Self::send_shared): a large payload is queued as it is, not copied (server, uncompressed) | [`send_text`](Self::send_text) / [`send_binary`](Self::send_binary), which copy the payload behind its header |
/// | a message whose length is not known up front | [`send_fragment`](Self::send_fragment) | — |
///
/// # The order to poll
///
/// 1. Feed what the transport read: [`handle_input`](Self::handle_input), or
///    read straight into [`input_buffer`](Self::input_buffer); at end of file
///    [`handle_eof`](Self::handle_eof); when the timer fires
///    [`handle_timeout`](Self::handle_timeout).
/// 2. Call [`poll_event`](Self::poll_event) (or `poll_event_borrowed`) until it
///    returns `None`; commands may be issued in between.
/// 3. Write the output: [`poll_transmit`](Self::poll_transmit), or
///    [`transmit_chunks`](Self::transmit_chunks) +
///    [`advance_transmit`](Self::advance_transmit) while
///    [`wants_transmit`](Self::wants_transmit).
/// 4. Arm a timer for [`poll_timeout`](Self::poll_timeout).
///
/// When [`Event::Closed`] comes out, flush the output once more and close the
/// transport.
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
    pub(super) role: Role,
    pub(super) config: Config,
    /// [`read::first_frame_bound`] of `config.limits`.
    pub(super) first_frame_bound: u64,
    pub(super) state: State,
    masks: Option<Box<dyn MaskSource>>,
    pub(super) extension: Option<Box<dyn PerMessageExtension>>,
    pub(super) input: BytesMut,
    /// Bytes at the front of `input` already read by the fast path (frame headers
    /// and lent payloads), dropped at the next call that reads any other way.
    pub(super) lent: usize,
    transmit: TransmitQueue,
    /// Scratch for outgoing compressed payloads, kept between messages.
    compressed: BytesMut,
    pub(super) reading: Option<ReadingFrame>,
    pub(super) message: MessageAssembler,
    /// Streaming mode: whether the next fragment is the first of its message.
    pub(super) stream_first: bool,
    /// Outgoing streamed message in progress, and whether it is compressed.
    sending: Option<bool>,
    pub(super) events: VecDeque<Event>,
    received_since_timer: bool,
    /// `input.len()` when [`input_buffer`](Self::input_buffer) last handed the
    /// buffer out, or `usize::MAX`: bytes appended since count as received.
    input_len_lent: usize,
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
            .field("buffered_output", &self.transmit.len())
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
    #[must_use]
    pub fn server(config: Config) -> Self {
        Self::new(Role::Server, config, None)
    }

    /// A client-side connection; every frame is masked with a key from `masks`.
    ///
    /// ```
    /// let c = socketwire::ws::Connection::client(Default::default(), || [0x37, 0xfa, 0x21, 0x3d]);
    /// assert_eq!(c.role(), socketwire::ws::Role::Client);
    /// ```
    #[must_use]
    pub fn client(config: Config, masks: impl MaskSource + 'static) -> Self {
        Self::new(Role::Client, config, Some(Box::new(masks)))
    }

    fn new(role: Role, config: Config, masks: Option<Box<dyn MaskSource>>) -> Self {
        Connection {
            role,
            first_frame_bound: super::read::first_frame_bound(&config.limits),
            config,
            state: State::Open,
            masks,
            extension: None,
            input: BytesMut::new(),
            lent: 0,
            transmit: TransmitQueue::default(),
            compressed: BytesMut::new(),
            reading: None,
            message: MessageAssembler::default(),
            stream_first: true,
            sending: None,
            events: VecDeque::new(),
            received_since_timer: false,
            input_len_lent: usize::MAX,
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
    /// use socketwire::deflate::{DeflateConfig, DeflateParams, PerMessageDeflate};
    /// use socketwire::ws::{Connection, Role};
    /// let deflate =
    ///     PerMessageDeflate::new(Role::Server, DeflateParams::default(), &DeflateConfig::default());
    /// let c = Connection::server(Default::default()).with_extension(deflate);
    /// assert!(c.has_extension());
    /// # }
    /// ```
    #[must_use = "the connection with the extension installed is returned"]
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
    /// The bytes are copied into the connection's buffer; where they continue
    /// the masked payload of a binary (or compressed, or streamed) frame
    /// already being read, they are unmasked in the same pass. Reading into
    /// [`input_buffer`](Self::input_buffer) avoids the copy altogether.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.handle_input(&[0x89, 0x80, 0, 0, 0, 0]); // masked empty ping
    /// assert!(matches!(c.poll_event(), Some(socketwire::ws::Event::Ping(_))));
    /// ```
    pub fn handle_input(&mut self, data: &[u8]) {
        self.release_lent();
        if self.state != State::Closed && !data.is_empty() {
            self.append_input(data);
            self.received_since_timer = true;
        }
    }

    /// The input buffer, for reading from the transport straight into it (no copy):
    /// append to it, then call [`poll_event`](Self::poll_event). While a frame is
    /// only partly buffered, the buffer has room reserved for the rest of it (up
    /// to 1 MiB at a time), so reading into its spare capacity completes the frame
    /// without moving the bytes already there.
    ///
    /// Only bytes actually appended count as input for the idle timer: taking
    /// the buffer and appending nothing (a read that would block) does not.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.input_buffer().extend_from_slice(&[0x8a, 0x80, 0, 0, 0, 0]);
    /// assert!(matches!(c.poll_event(), Some(socketwire::ws::Event::Pong(_))));
    /// ```
    pub fn input_buffer(&mut self) -> &mut BytesMut {
        self.release_lent();
        // Room for the rest of a frame in progress (its length passed the limits
        // when its header was read; at most RESERVE_AHEAD at a time), so a read
        // into the spare capacity can complete it without moving what is buffered.
        if let Some(frame) = &self.reading {
            let missing = frame.payload_len.saturating_sub(self.input.len());
            self.input.reserve(missing.min(RESERVE_AHEAD));
        }
        self.input_len_lent = self.input.len();
        &mut self.input
    }

    /// Counts what the caller appended to [`input_buffer`](Self::input_buffer)
    /// since it was handed out as input received. Called before anything reads
    /// the flag or takes bytes off the front of the buffer.
    #[inline]
    pub(super) fn note_appended_input(&mut self) {
        if self.input.len() > self.input_len_lent {
            self.received_since_timer = true;
        }
        self.input_len_lent = usize::MAX;
    }

    /// Frees the buffers a quiet connection keeps for reuse: the input
    /// buffer once everything in it was read, the output buffers once
    /// everything went out, the scratch for compressed payloads and the
    /// reassembly buffer between messages, the event queue once it is empty.
    /// Nothing pending is lost, and the next message allocates what it needs
    /// again. A connection keeps them otherwise, so that messages of a steady
    /// size allocate nothing; call this when a connection goes quiet (for
    /// instance when a read finds nothing to read), so that many idle
    /// connections hold only their inline size plus a few dozen bytes.
    ///
    /// ```
    /// use socketwire::ws::{Connection, Event};
    /// let mut c = Connection::server(Default::default());
    /// c.handle_input(&[0x82, 0x83, 0, 0, 0, 0, 1, 2, 3]); // masked binary [1, 2, 3]
    /// assert!(matches!(c.poll_event(), Some(Event::Binary(_))));
    /// c.send_binary(&[4; 200]).unwrap();
    /// c.release_buffers(); // keeps the 204 bytes still to send
    /// let mut out = bytes::BytesMut::new();
    /// c.poll_transmit(&mut out);
    /// assert_eq!(out.len(), 204);
    /// c.release_buffers(); // now frees the output buffer too
    /// ```
    pub fn release_buffers(&mut self) {
        self.release_lent();
        if self.input.is_empty() {
            self.input = BytesMut::new();
        }
        self.transmit.release_if_empty();
        self.compressed = BytesMut::new();
        self.message.release_buffer();
        if self.events.is_empty() {
            self.events = VecDeque::new();
        }
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
    /// sends keepalive pings, enforces the idle and close timeouts. Deadlines
    /// saturate at `Duration::MAX` instead of overflowing.
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
        self.note_appended_input();
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
            && now >= last.saturating_add(idle)
        {
            self.finish_closed(CloseCode::ABNORMAL, ClosedBy::IdleTimeout);
            return;
        }
        if let Some(interval) = self.config.keepalive_interval {
            let due = *self.next_ping.get_or_insert(now.saturating_add(interval));
            if now >= due {
                if self.state == State::Open {
                    self.write_frame(Opcode::Ping, false, true, &[]);
                }
                self.next_ping = Some(now.saturating_add(interval));
            }
        }
        if self.state == State::LocalClosing && self.close_deadline.is_none() {
            self.close_deadline = self.config.close_timeout.map(|t| now.saturating_add(t));
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    ///
    /// ```
    /// let c = socketwire::ws::Connection::server(Default::default());
    /// assert_eq!(c.poll_timeout(), None);
    /// ```
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.state == State::Closed {
            return None;
        }
        let idle = match (self.config.idle_timeout, self.last_received) {
            (Some(idle), Some(last)) => Some(last.saturating_add(idle)),
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
    #[must_use = "an event not taken is lost"]
    pub fn poll_event(&mut self) -> Option<Event> {
        Some(match self.poll_ready()? {
            Ready::Event(event) => event,
            Ready::Lent { kind, start, len } => {
                // Hand the lent message out as `Bytes`: drop what precedes it, split it off.
                self.note_appended_input();
                bytes::Buf::advance(&mut self.input, start);
                self.lent = 0;
                message_event(kind, self.input.split_to(len).freeze())
            }
        })
    }

    /// Like [`poll_event`](Self::poll_event), but a whole single-frame message is
    /// lent straight from the input buffer (unmasked and validated in place)
    /// instead of being handed out as `Bytes`: no reference counting, no copy.
    /// The loan ends at the next call into the connection. Other events, and
    /// messages that arrived in fragments or compressed, come as
    /// [`EventRef::Owned`].
    ///
    /// ```
    /// use socketwire::ws::{Config, Connection, EventRef};
    /// let mut server = Connection::server(Config::default());
    /// server.handle_input(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    /// match server.poll_event_borrowed() {
    ///     Some(EventRef::Text(text)) => assert_eq!(text, b"Hello"),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert!(server.poll_event_borrowed().is_none());
    /// ```
    #[must_use = "an event not taken is lost"]
    pub fn poll_event_borrowed(&mut self) -> Option<EventRef<'_>> {
        Some(match self.poll_ready()? {
            Ready::Event(event) => EventRef::Owned(event),
            Ready::Lent { kind, start, len } => {
                let data = &self.input[start..start + len];
                match kind {
                    MessageKind::Text => EventRef::Text(data),
                    MessageKind::Binary => EventRef::Binary(data),
                }
            }
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
        self.transmit.poll(out)
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
    /// use socketwire::ws::{Connection, MessageKind};
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
    #[must_use = "iterators are lazy; report what was written with advance_transmit"]
    pub fn transmit_chunks(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.transmit.chunks()
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
    pub fn advance_transmit(&mut self, n: usize) {
        self.transmit.advance(n);
    }

    /// Whether output is waiting for [`poll_transmit`](Self::poll_transmit).
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// c.ping(b"").unwrap();
    /// assert!(c.wants_transmit());
    /// ```
    pub fn wants_transmit(&self) -> bool {
        !self.transmit.is_empty()
    }

    /// Bytes of output not yet handed to the transport (frames and shared
    /// payloads, in constant time): what a caller compares with its own cap to
    /// stop sending, or stop reading, while a slow peer drains it (the
    /// browser's `WebSocket.bufferedAmount`).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::ws::{Connection, MessageKind};
    /// let mut c = Connection::server(Default::default());
    /// c.send_binary(&[1, 2, 3]).unwrap();
    /// c.send_shared(MessageKind::Binary, Bytes::from(vec![0u8; 4096])).unwrap();
    /// assert_eq!(c.buffered_amount(), 5 + 4 + 4096);
    /// c.advance_transmit(5 + 4 + 100);
    /// assert_eq!(c.buffered_amount(), 3996);
    /// ```
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.transmit.len()
    }

    /// Bytes received and not yet taken as events: the rest of what was read
    /// (`0` once every complete frame in it was handed out and nothing of a
    /// next frame arrived). A driver can tell from it whether more events may
    /// follow without reading, e.g. to write its replies once per read.
    ///
    /// ```
    /// let mut c = socketwire::ws::Connection::server(Default::default());
    /// // Two masked pings (empty payloads) in one read.
    /// c.handle_input(&[0x89, 0x80, 0, 0, 0, 0, 0x89, 0x80, 0, 0, 0, 0]);
    /// assert!(c.poll_event().is_some());
    /// assert_eq!(c.buffered_input(), 6);
    /// assert!(c.poll_event().is_some());
    /// assert_eq!(c.buffered_input(), 0);
    /// ```
    #[must_use]
    pub fn buffered_input(&self) -> usize {
        self.input.len().saturating_sub(self.lent)
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
    /// use socketwire::ws::{Connection, MessageKind};
    /// let mut c = Connection::server(Default::default());
    /// c.send_shared(MessageKind::Text, Bytes::from_static(b"hi")).unwrap();
    /// assert!(c.send_shared(MessageKind::Text, Bytes::from_static(b"\xff")).is_err());
    /// let mut out = bytes::BytesMut::new();
    /// c.poll_transmit(&mut out);
    /// assert_eq!(&out[..], &[0x81, 2, b'h', b'i']);
    /// ```
    pub fn send_shared(&mut self, kind: MessageKind, payload: Bytes) -> Result<(), ApiMisuse> {
        super::message::check_outgoing(kind, &payload)?;
        self.send_validated(opcode_of(kind), payload)
    }

    /// [`send_shared`](Self::send_shared) of a text message already known to
    /// be UTF-8 ([`Utf8Bytes`]: a received [`Event::Text`], a broadcast framed
    /// once): it is not checked again, so a message sent to many connections
    /// is checked once, not once per connection.
    ///
    /// ```
    /// use socketwire::{Utf8Bytes, ws::Connection};
    /// let mut c = Connection::server(Default::default());
    /// c.send_text_shared(Utf8Bytes::from_static("hi")).unwrap();
    /// let mut out = bytes::BytesMut::new();
    /// c.poll_transmit(&mut out);
    /// assert_eq!(&out[..], &[0x81, 2, b'h', b'i']);
    /// ```
    pub fn send_text_shared(&mut self, text: Utf8Bytes) -> Result<(), ApiMisuse> {
        self.send_validated(Opcode::Text, text.into_bytes())
    }

    /// Sends a whole message whose payload the caller hands over, to be
    /// changed in place: a client masks it where it lies (RFC 6455 §5.3) and
    /// queues it without copying, as a server queues a
    /// [`send_shared`](Self::send_shared) payload. Below [`SHARED_MIN_LEN`]
    /// bytes, or when the message is compressed, it is copied as
    /// [`send_binary`](Self::send_binary) copies. Text must be valid UTF-8
    /// ([`ApiMisuse::InvalidUtf8`] if not, and nothing is changed).
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use socketwire::ws::{Connection, MessageKind, connection::SHARED_MIN_LEN};
    /// let mut c = Connection::client(Default::default(), || [1, 2, 3, 4]);
    /// let payload = BytesMut::from(&vec![0u8; SHARED_MIN_LEN][..]);
    /// c.send_owned(MessageKind::Binary, payload)?;
    /// // The header, then the payload masked in place: two chunks, no copy.
    /// let chunks: Vec<&[u8]> = c.transmit_chunks().collect();
    /// assert_eq!(chunks[0], [0x82, 0xfe, 0x04, 0x00, 1, 2, 3, 4]);
    /// assert_eq!(&chunks[1][..4], [1, 2, 3, 4]); // zeros masked with the key
    /// # Ok::<(), socketwire::ws::ApiMisuse>(())
    /// ```
    pub fn send_owned(
        &mut self,
        kind: MessageKind,
        mut payload: BytesMut,
    ) -> Result<(), ApiMisuse> {
        super::message::check_outgoing(kind, &payload)?;
        let opcode = opcode_of(kind);
        let compress = self
            .extension
            .as_ref()
            .is_some_and(|e| e.should_encode(payload.len()));
        if compress || payload.len() < SHARED_MIN_LEN {
            return self.send_message(opcode, &payload);
        }
        self.check_can_start_message()?;
        let header = self.frame_header(opcode, false, true, payload.len());
        if let Some(key) = header.mask {
            super::mask::apply_mask(&mut payload, key, 0);
        }
        self.transmit.write_shared(&header, payload.freeze());
        Ok(())
    }

    /// Prepares `payload` for sending to many connections: checked once and,
    /// when this connection's extension compresses whole messages without
    /// context ([`PerMessageExtension::shared_encoding`]), compressed once with
    /// a state of its own. Send it with [`send_prepared`](Self::send_prepared)
    /// on every recipient (this one included).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::ws::{Connection, MessageKind};
    /// let mut c = Connection::server(Default::default());
    /// let message = c.prepare(MessageKind::Binary, Bytes::from_static(&[1, 2, 3]))?;
    /// assert!(message.encoded().is_none()); // no extension: sent as it is
    /// c.send_prepared(&message)?;
    /// # Ok::<(), socketwire::ws::ApiMisuse>(())
    /// ```
    pub fn prepare(&self, kind: MessageKind, payload: Bytes) -> Result<PreparedMessage, ApiMisuse> {
        let mut message = PreparedMessage::new(kind, payload)?;
        if let Some(extension) = self.extension.as_deref() {
            message.encode_with(extension);
        }
        Ok(message)
    }

    /// Sends a [`PreparedMessage`]. Where this connection's extension names
    /// the key the message was encoded under, the encoded bytes go out as
    /// they are (RSV1 set, RFC 7692 §6): the broadcast was compressed once.
    /// Otherwise this is [`send_shared`](Self::send_shared) of the plain
    /// payload (compressed here if the extension wants it), without checking
    /// the UTF-8 again.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::ws::{Connection, MessageKind, PreparedMessage};
    /// let message = PreparedMessage::new(MessageKind::Text, Bytes::from_static(b"hi"))?;
    /// let mut c = Connection::server(Default::default());
    /// c.send_prepared(&message)?;
    /// let mut out = bytes::BytesMut::new();
    /// c.poll_transmit(&mut out);
    /// assert_eq!(&out[..], &[0x81, 2, b'h', b'i']);
    /// # Ok::<(), socketwire::ws::ApiMisuse>(())
    /// ```
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), ApiMisuse> {
        let opcode = opcode_of(message.kind());
        let len = message.payload().len();
        let shared = self
            .extension
            .as_ref()
            .and_then(|e| e.shared_encoding(len))
            .and_then(|key| message.encoded_for(key));
        if let Some(encoded) = shared {
            self.check_can_start_message()?;
            // RFC 7692 §6: RSV1 is set on the first frame of a compressed message.
            // https://www.rfc-editor.org/rfc/rfc7692#section-6
            self.write_whole_frame(opcode, true, encoded.clone());
            return Ok(());
        }
        self.send_validated(opcode, message.payload().clone())
    }

    /// Sends a whole message whose text (if text) is known to be UTF-8.
    fn send_validated(&mut self, opcode: Opcode, payload: Bytes) -> Result<(), ApiMisuse> {
        let compress = self
            .extension
            .as_ref()
            .is_some_and(|e| e.should_encode(payload.len()));
        if compress {
            return self.send_message(opcode, &payload);
        }
        self.check_can_start_message()?;
        self.write_whole_frame(opcode, false, payload);
        Ok(())
    }

    /// Writes a one-frame message whose payload goes out as it is. A server
    /// does not copy a payload of [`SHARED_MIN_LEN`] bytes or more: it is
    /// queued as its own chunk; a client masks a copy (RFC 6455 §5.3).
    fn write_whole_frame(&mut self, opcode: Opcode, rsv1: bool, payload: Bytes) {
        if self.role.masks_outgoing() || payload.len() < SHARED_MIN_LEN {
            self.write_frame(opcode, rsv1, true, &payload);
        } else {
            let header = self.frame_header(opcode, rsv1, true, payload.len());
            self.transmit.write_shared(&header, payload);
        }
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
    /// use socketwire::ws::{Connection, MessageKind};
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
                let op = opcode_of(kind);
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

    // ------------------------------------------------------- state machine

    pub(super) fn handle_control(
        &mut self,
        opcode: Opcode,
        payload: Bytes,
    ) -> Result<(), ProtocolError> {
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
                    // https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1
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
    pub(super) fn fail(&mut self, error: ProtocolError) {
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

    /// Answers a ping in order with the rest of the output; at most
    /// [`MAX_QUEUED_PONGS`] wait at once, plus one owed at the end (RFC 6455
    /// §5.5.3 allows answering only the most recent ping).
    fn queue_pong(&mut self, payload: &[u8]) {
        let header = self.frame_header(Opcode::Pong, false, true, payload.len());
        self.transmit.write_pong(&header, payload);
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
            // https://www.rfc-editor.org/rfc/rfc7692#section-6
            self.write_frame(opcode, opcode != Opcode::Continuation, fin, &encoded);
            self.compressed = encoded;
            return;
        }
        self.write_frame(opcode, false, fin, data);
    }

    fn write_frame(&mut self, opcode: Opcode, rsv1: bool, fin: bool, payload: &[u8]) {
        if opcode == Opcode::Close {
            // Nothing goes out after a close: an owed pong goes before it.
            self.transmit.settle_owed_pong();
        }
        let header = self.frame_header(opcode, rsv1, fin, payload.len());
        self.transmit.write_frame(&header, payload);
    }

    /// The header of an outgoing frame, masked as our role requires.
    fn frame_header(&mut self, opcode: Opcode, rsv1: bool, fin: bool, len: usize) -> FrameHeader {
        // Who masks is the role's rule (Role::masks_outgoing, RFC 6455 §5.1).
        let mask = match (self.role.masks_outgoing(), self.masks.as_mut()) {
            (true, Some(source)) => Some(source.next_mask()),
            _ => None,
        };
        FrameHeader {
            fin,
            rsv1,
            rsv2: false,
            rsv3: false,
            opcode,
            mask,
            payload_len: len as u64,
        }
    }
}

/// The opcode of the first frame of a `kind` message.
fn opcode_of(kind: MessageKind) -> Opcode {
    match kind {
        MessageKind::Text => Opcode::Text,
        MessageKind::Binary => Opcode::Binary,
    }
}

/// Splits and validates a close frame's payload (§5.5.1, §7.4).
fn parse_close_payload(payload: &[u8]) -> Result<(CloseCode, &str), ProtocolError> {
    match payload {
        [] => Ok((CloseCode::NO_STATUS, "")),
        // RFC 6455 §5.5.1: "the first two bytes of the body MUST be a 2-byte unsigned integer"
        // https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1
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
