//! WebSocket plumbing for the example server: the upgrade (with permessage-deflate)
//! answered through hyper, then the drive loop around a `socketwire::ws::Connection`
//! on the TCP stream hyper hands back; the `/echo` and `/chat` routes.

use std::io::IoSlice;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use socketwire::deflate::DeflateConfig;
use socketwire::handshake::{AcceptOptions, ServerHandshake};
use socketwire::ws::PreparedMessage;
use socketwire::ws::message::MessageKind;
use socketwire::ws::{CloseCode, Config, Connection, Event, Limits};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;

use crate::write_deadline::WriteDeadline;
use crate::{Options, Reply, Shared};

/// Slots of the `/chat` broadcast ring: a reader that falls this many messages
/// behind is closed (1008). With [`CHAT_MAX_MESSAGE`] the ring pins at most
/// 64 × 32 KiB = 2 MiB, however many readers stop reading.
pub const CHAT_SLOTS: usize = 64;

/// The largest `/chat` message (after inflation), and frame: a larger one closes
/// the sender's connection with 1009, checked on the frame header.
pub const CHAT_MAX_MESSAGE: u64 = 32 << 10;

/// Most frames in one `/chat` message.
const CHAT_MAX_FRAGMENTS: usize = 1024;

/// The WebSocket configuration of `/echo`: the default limits (16 MiB frames,
/// 64 MiB messages), a keepalive ping every `--ws-ping-interval`, closed after
/// `--ws-idle-timeout` without input.
pub fn echo_config(options: &Options) -> Config {
    Config {
        keepalive_interval: Some(Duration::from_millis(options.ws_ping_interval_ms)),
        idle_timeout: Some(Duration::from_millis(options.ws_idle_timeout_ms)),
        ..Config::default()
    }
}

/// The WebSocket configuration of `/chat`: `/echo`'s, with messages and frames of
/// at most [`CHAT_MAX_MESSAGE`].
pub fn chat_config(options: &Options) -> Config {
    Config {
        limits: Limits {
            max_frame_size: CHAT_MAX_MESSAGE,
            max_message_size: CHAT_MAX_MESSAGE,
            max_fragments: CHAT_MAX_FRAGMENTS,
        },
        ..echo_config(options)
    }
}

/// A message for a connection to send, from elsewhere in the server.
#[derive(Clone, Debug)]
pub enum Outgoing {
    /// Valid UTF-8 text.
    Text(Bytes),
    Binary(Bytes),
    /// A `/chat` message for every reader: compressed once when the readers'
    /// permessage-deflate has no context takeover (`--deflate-no-context-takeover`).
    Prepared(PreparedMessage),
    Close,
}

impl Outgoing {
    /// The bytes it counts for in an [`OutputGauge`]: its payload.
    pub fn len(&self) -> usize {
        match self {
            Outgoing::Text(b) | Outgoing::Binary(b) => b.len(),
            Outgoing::Prepared(m) => m.payload().len(),
            Outgoing::Close => 0,
        }
    }
}

/// The bytes the server holds for one peer outside its sessions: the
/// messages in the channel to its WebSocket writer (added by the sender
/// before it sends, taken off by the writer as it receives) and its
/// WebSocket connection's output (`Connection::buffered_amount`, published
/// by the drive loop). The drive loop stops reading while it is over
/// `--max-backpressure`; a Socket.IO broadcast reads it to find slow members.
#[derive(Debug, Default)]
pub struct OutputGauge(AtomicUsize);

impl OutputGauge {
    pub fn add(&self, n: usize) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn sub(&self, n: usize) {
        self.0.fetch_sub(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// What the server asks of permessage-deflate: the defaults, or with
/// `--deflate-no-context-takeover` both sides reset their compressor after
/// every message (RFC 7692 §7.1.1), so a connection borrows its compression
/// state from the server's pool for one message at a time and a `/chat`
/// message is compressed once for all its readers.
pub fn deflate_config(options: &Options) -> DeflateConfig {
    DeflateConfig {
        server_no_context_takeover: options.deflate_no_context_takeover,
        client_no_context_takeover: options.deflate_no_context_takeover,
        ..DeflateConfig::default()
    }
}

/// Answers an upgrade request: the `101` and the connection (running with
/// `config`) to drive once hyper hands the stream over ([`upgraded`]), or the
/// refusal (`426` with `Sec-WebSocket-Version: 13` for a wrong version, `400`
/// otherwise).
pub fn accept<B>(
    request: &http::Request<B>,
    shared: &Shared,
    config: Config,
) -> Result<(Reply, Connection), Box<Reply>> {
    let refused = |response: http::Response<()>| Box::new(response.map(|()| Full::default()));
    let handshake = ServerHandshake::from_http_request(request)
        .map_err(|error| refused(error.to_response()))?;
    // permessage-deflate: accept the first offer we can (unless --no-deflate).
    let deflate = if shared.options.deflate {
        deflate_config(&shared.options).accept_offers(&handshake.extensions())
    } else {
        None
    };
    let options = AcceptOptions {
        extensions: deflate.as_ref().map(|d| d.response.as_str()),
        ..AcceptOptions::default()
    };
    let response = handshake
        .accept_response(&options)
        .map_err(|_| Box::new(crate::reply(500, "text/plain", "", true)))?;
    let mut conn = Connection::server(config);
    if let Some(accepted) = deflate {
        conn = conn.with_extension(accepted.extension.with_pool(&shared.deflate_pool));
    }
    Ok((response.map(|()| Full::default()), conn))
}

/// A WebSocket the request asked for, once hyper has sent the `101`: the TCP
/// stream underneath (the drive loop writes it vectored, with its own write
/// deadline) with the bytes hyper read past the head handed to `conn`, and
/// the connection's place under `--max-connections`.
pub struct Upgrading {
    on: hyper::upgrade::OnUpgrade,
}

impl Upgrading {
    pub fn new(request: &mut http::Request<Incoming>) -> Self {
        Upgrading {
            on: hyper::upgrade::on(request),
        }
    }

    /// The upgraded stream; `None` if the peer went away first.
    pub async fn upgraded(self, conn: &mut Connection) -> Option<(TcpStream, Upgraded)> {
        let upgraded = self.on.await.ok()?;
        let parts = upgraded
            .downcast::<TokioIo<WriteDeadline<TcpStream>>>()
            .ok()?;
        conn.handle_input(&parts.read_buf);
        let (stream, slot) = parts.io.into_inner().into_parts();
        Some((stream, Upgraded(slot)))
    }
}

/// Held while an upgraded WebSocket runs: its connection's place under
/// `--max-connections`.
pub struct Upgraded(#[allow(dead_code)] Option<tokio::sync::OwnedSemaphorePermit>);

/// `/echo` and `/chat`: the `101` (or the refusal); the WebSocket runs on a
/// task of its own.
pub fn serve(mut request: http::Request<Incoming>, path: &str, shared: Arc<Shared>) -> Reply {
    let chat = path == "/chat";
    let config = if chat {
        chat_config(&shared.options)
    } else {
        echo_config(&shared.options)
    };
    let (response, mut conn) = match accept(&request, &shared, config) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    let upgrading = Upgrading::new(&mut request);
    tokio::spawn(async move {
        let Some((mut stream, _held)) = upgrading.upgraded(&mut conn).await else {
            return;
        };
        crate::log_error(run(&mut stream, conn, chat, &shared).await);
    });
    response
}

async fn run(
    stream: &mut TcpStream,
    mut conn: Connection,
    chat: bool,
    shared: &Shared,
) -> std::io::Result<()> {
    let drive = Drive {
        stream,
        write_timeout: shared.options.write_timeout(),
        max_backpressure: shared.options.max_backpressure,
        gauge: Arc::default(),
    };
    if chat {
        let mut rx = shared.chat.subscribe();
        let chat = shared.chat.clone();
        let cluster = shared.chat_cluster.clone();
        // A message lent from the input buffer shares that buffer's allocation;
        // the ring keeps an exact copy, so each slot pins only the message. It
        // is prepared once (checked, and compressed when the readers' deflate
        // resets per message) and every reader sends the same bytes.
        let on_event = |conn: &mut Connection, event: Event| {
            let (kind, payload) = match event {
                Event::Text(t) => (MessageKind::Text, Bytes::copy_from_slice(&t)),
                Event::Binary(b) => (MessageKind::Binary, Bytes::copy_from_slice(&b)),
                _ => return,
            };
            if let Ok(message) = conn.prepare(kind, payload) {
                // With `--redis`, to the other nodes too (see chat_cluster.rs).
                if let Some(cluster) = &cluster {
                    cluster.publish(kind, message.payload());
                }
                drop(chat.send(Outgoing::Prepared(message)));
            }
        };
        drive
            .run(&mut conn, on_event, Source::Broadcast(&mut rx))
            .await
    } else {
        let on_event = |conn: &mut Connection, event: Event| {
            let _ = match event {
                Event::Text(t) => send(conn, Outgoing::Text(t)),
                Event::Binary(b) => send(conn, Outgoing::Binary(b)),
                _ => Ok(()),
            };
        };
        drive.run(&mut conn, on_event, Source::Nothing).await
    }
}

fn send(conn: &mut Connection, message: Outgoing) -> Result<(), socketwire::ws::ApiMisuse> {
    match message {
        // Payloads are shared `Bytes`: large ones go out without being copied.
        Outgoing::Text(t) => conn.send_shared(MessageKind::Text, t),
        Outgoing::Binary(b) => conn.send_shared(MessageKind::Binary, b),
        Outgoing::Prepared(m) => conn.send_prepared(&m),
        Outgoing::Close => conn.close(CloseCode::NORMAL, ""),
    }
}

/// Where a connection's messages from elsewhere in the server come from.
pub enum Source<'a> {
    Nothing,
    /// A bounded ring shared by every reader; a reader that falls behind by more
    /// than its capacity is closed with 1008.
    Broadcast(&'a mut tokio::sync::broadcast::Receiver<Outgoing>),
}

/// What a [`Source`] gave.
enum Next {
    Message(Outgoing),
    /// The source has ended.
    Ended,
    /// The ring moved past messages this reader had not taken yet.
    Lagged,
}

impl Source<'_> {
    async fn next(&mut self) -> Next {
        match self {
            Source::Nothing => Next::Ended,
            Source::Broadcast(rx) => match rx.recv().await {
                Ok(message) => Next::Message(message),
                Err(RecvError::Lagged(_)) => Next::Lagged,
                Err(RecvError::Closed) => Next::Ended,
            },
        }
    }

    /// The next message if one is waiting, without waiting.
    fn try_next(&mut self) -> Option<Next> {
        use tokio::sync::broadcast::error::TryRecvError as Ring;
        match self {
            Source::Nothing => Some(Next::Ended),
            Source::Broadcast(rx) => match rx.try_recv() {
                Ok(message) => Some(Next::Message(message)),
                Err(Ring::Empty) => None,
                Err(Ring::Lagged(_)) => Some(Next::Lagged),
                Err(Ring::Closed) => Some(Next::Ended),
            },
        }
    }

    /// Hands what the source gave to `conn`; `false` once the source is done.
    fn deliver(conn: &mut Connection, next: Next) -> bool {
        match next {
            Next::Message(message) => {
                let _ = send(conn, message);
                true
            }
            Next::Ended => false,
            Next::Lagged => {
                // Messages this reader never took are gone from the ring: close
                // rather than skip them silently.
                let _ = conn.close(CloseCode::POLICY_VIOLATION, "fell behind the broadcast");
                false
            }
        }
    }
}

/// Most events the drive loop takes from the connection in one turn, and most
/// waiting messages it takes from its source: each turn takes from the source
/// at least as many as its events can have put there (a peer's burst goes to
/// the ring this reader reads too, so it cannot lap its own reader), and at
/// most this many (what a reader whose writes stall holds is bounded). Also
/// caps the echoes queued before they are written.
const EVENTS_PER_TURN: usize = 32;

/// The drive loop's transport: the socket, its write deadline and its
/// backpressure cap.
pub struct Drive<'a> {
    pub stream: &'a mut TcpStream,
    /// Output the peer does not take any of within this closes the connection.
    pub write_timeout: Duration,
    /// `--max-backpressure`: while `gauge` is over it, the loop stops reading
    /// the socket, taking its events and taking from its source, and only
    /// writes; it resumes once the peer drained enough. The connection's
    /// output stays within the cap plus one turn: one echo on `/echo`, at
    /// most [`EVENTS_PER_TURN`] ring messages on `/chat` (the catch-up that
    /// keeps a sender from lapping its own reader).
    pub max_backpressure: usize,
    /// What the server holds for this peer; the loop publishes its
    /// connection's output here.
    pub gauge: Arc<OutputGauge>,
}

/// Publishes `conn`'s output in `gauge` (the change since `published`) and
/// returns the peer's whole figure.
fn publish(conn: &Connection, gauge: &OutputGauge, published: &mut usize) -> usize {
    let now = conn.buffered_amount();
    if now > *published {
        gauge.add(now - *published);
    } else {
        gauge.sub(*published - now);
    }
    *published = now;
    gauge.get()
}

impl Drive<'_> {
    /// The drive loop: socket bytes in, events to `on_event`, messages from
    /// `outgoing` out, the connection's timers (keepalive, idle, close) fired when
    /// due, until the connection closes.
    pub async fn run(
        self,
        conn: &mut Connection,
        mut on_event: impl FnMut(&mut Connection, Event),
        mut outgoing: Source<'_>,
    ) -> std::io::Result<()> {
        let Drive {
            stream,
            write_timeout,
            max_backpressure,
            gauge,
        } = self;
        let mut published = 0;
        let mut over = |conn: &Connection| publish(conn, &gauge, &mut published) > max_backpressure;
        let result = drive(
            stream,
            write_timeout,
            max_backpressure,
            conn,
            &mut on_event,
            &mut outgoing,
            &mut over,
        )
        .await;
        // What this connection still holds leaves the gauge with it.
        gauge.sub(published);
        result
    }
}

/// The loop of [`Drive::run`]; `over` publishes the connection's output and
/// says whether the peer's whole figure is over the cap. Reading (and taking
/// events) waits on the whole figure; taking from the source waits only on
/// the connection's own output, since it moves bytes from the channel into
/// the connection without changing the figure.
#[allow(clippy::too_many_arguments)]
async fn drive(
    stream: &mut TcpStream,
    write_timeout: Duration,
    max_backpressure: usize,
    conn: &mut Connection,
    on_event: &mut impl FnMut(&mut Connection, Event),
    outgoing: &mut Source<'_>,
    over: &mut impl FnMut(&Connection) -> bool,
) -> std::io::Result<()> {
    let room = |conn: &Connection| conn.buffered_amount() <= max_backpressure;
    // The connection's clock: time since the loop started.
    let origin = tokio::time::Instant::now();
    let mut outgoing_open = true;
    // When the output last stopped moving while some was pending.
    let mut stalled_since: Option<tokio::time::Instant> = None;
    // The connection's timer lives across turns and is moved only when its
    // deadline does: a timer made and dropped every turn costs a timer-wheel
    // insert and removal per message.
    let connection_timer = tokio::time::sleep_until(far_future());
    tokio::pin!(connection_timer);
    let mut armed_at: Option<tokio::time::Instant> = None;
    loop {
        let mut closed = false;
        let mut taken = 0;
        // Over the cap, the events wait in the connection's input (bounded
        // by what one read brought), like the bytes not yet read.
        while taken < EVENTS_PER_TURN
            && !over(conn)
            && let Some(event) = conn.poll_event()
        {
            taken += 1;
            closed |= matches!(event, Event::Closed { .. });
            on_event(conn, event);
        }
        let held_back = over(conn);
        // Catch up with the source (see EVENTS_PER_TURN): at least as many
        // as this turn's events may have put there, more while under the cap.
        let mut pulled = 0;
        while outgoing_open
            && pulled < EVENTS_PER_TURN
            && (pulled < taken || room(conn))
            && let Some(next) = outgoing.try_next()
        {
            pulled += 1;
            outgoing_open = Source::deliver(conn, next);
        }
        if closed {
            // Flush what is left (the close frame), then end.
            while conn.wants_transmit() {
                write_some(stream, conn, write_timeout).await?;
            }
            let _ = stream.shutdown().await;
            return Ok(());
        }
        // Write what the socket takes now; a partial write is resumed.
        while conn.wants_transmit() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let count = transmit_slices(conn, &mut slices);
            match stream.try_write_vectored(&slices[..count]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    conn.advance_transmit(n);
                    stalled_since = None;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let pending = conn.wants_transmit();
        if !pending {
            stalled_since = None;
        } else if stalled_since.is_none() {
            stalled_since = Some(tokio::time::Instant::now());
        }
        let stall_deadline = stalled_since.map_or_else(far_future, |t| t + write_timeout);
        let over_now = over(conn);
        let take_more = outgoing_open && room(conn);
        if (taken == EVENTS_PER_TURN || held_back) && !over_now {
            continue; // the connection may hold more events
        }
        let timer = conn
            .poll_timeout()
            .map(|at| origin.checked_add(at).unwrap_or_else(far_future));
        if let Some(at) = timer
            && armed_at != Some(at)
        {
            connection_timer.as_mut().reset(at);
            armed_at = Some(at);
        }
        tokio::select! {
            // In this order, no random pick per turn: the deadlines first, so a
            // peer that keeps the socket readable cannot starve them.
            biased;
            () = tokio::time::sleep_until(stall_deadline), if pending => {
                return Err(std::io::ErrorKind::TimedOut.into());
            }
            () = &mut connection_timer, if timer.is_some() => {
                armed_at = None;
                conn.handle_timeout(origin.elapsed());
            }
            // Readiness first, then a read into the connection's own buffer:
            // the buffer is only touched when bytes are there. Not while the
            // peer is over its cap: it must drain first.
            ready = stream.readable(), if !over_now => {
                ready?;
                let input = conn.input_buffer();
                input.reserve(64 * 1024);
                match stream.try_read_buf(input) {
                    Ok(0) => conn.handle_eof(),
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            ready = stream.writable(), if pending => {
                ready?;
            }
            next = outgoing.next(), if take_more => {
                outgoing_open = Source::deliver(conn, next);
            }
        }
    }
}

/// Writes some of `conn`'s output, waiting at most `write_timeout`.
async fn write_some(
    stream: &mut TcpStream,
    conn: &mut Connection,
    write_timeout: Duration,
) -> std::io::Result<()> {
    let mut slices = [IoSlice::new(&[]); MAX_SLICES];
    let count = transmit_slices(conn, &mut slices);
    let n = match tokio::time::timeout(write_timeout, stream.write_vectored(&slices[..count])).await
    {
        Ok(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
        Ok(n) => n?,
        Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
    };
    conn.advance_transmit(n);
    Ok(())
}

/// The most slices one vectored write takes.
const MAX_SLICES: usize = 64;

/// Fills `slices` with the connection's pending output (at most their count)
/// and returns how many it filled: no allocation per write.
fn transmit_slices<'a>(conn: &'a Connection, slices: &mut [IoSlice<'a>; MAX_SLICES]) -> usize {
    let mut count = 0;
    for (slot, chunk) in slices.iter_mut().zip(conn.transmit_chunks()) {
        *slot = IoSlice::new(chunk);
        count += 1;
    }
    count
}

/// A deadline so far away it never fires (for a timer past `Instant`'s range).
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365)
}
