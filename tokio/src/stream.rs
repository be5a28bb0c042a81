//! [`WebSocketStream`]: a [`Connection`] driven over an `AsyncRead + AsyncWrite`
//! transport, as a `Stream` of messages and a `Sink` for them.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker, ready};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_core::stream::FusedStream;
use futures_sink::Sink;
use socketwire::ws::{
    CloseCode, ClosedBy, Connection, Event, MessageKind, OsRandomMask, PreparedMessage, Role, State,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep};

use crate::{CloseFrame, Config, Error, Message};

/// Most slices handed to one vectored write.
const MAX_SLICES: usize = 64;

/// Room reserved in the input buffer before each read.
const READ_CHUNK: usize = 32 * 1024;

/// Most messages `poll_close` keeps for the reader while it waits for the
/// peer's close; later ones are dropped.
///
/// ```
/// assert_eq!(socketwire_tokio::CLOSING_STASH, 16);
/// ```
pub const CLOSING_STASH: usize = 16;

/// How long the last frames may take to go out once the connection closed,
/// when no `close_timeout` is configured.
const FINISH_TIMEOUT: Duration = Duration::from_secs(10);

/// A WebSocket over any `AsyncRead + AsyncWrite + Unpin` transport: read it as a
/// [`Stream`] of [`Message`]s, write to it as a [`Sink`] of them (with
/// `futures_util`'s `StreamExt` / `SinkExt`), like tokio-tungstenite's type of the
/// same name. The protocol is the sans-IO [`socketwire::ws::Connection`]; this
/// type moves bytes and time.
///
/// - **Reading** reads straight into the connection's input buffer (no copy)
///   and yields whole messages. Pings are answered by the connection, and the
///   answers are written while you read, even if you never write. The stream
///   ends (`None`) after the close handshake; a protocol error, end of file or
///   timeout ends it with one `Err` first.
/// - **Writing** queues frames in the connection and writes them with
///   vectored writes. At most [`Config::max_write_buffer`] bytes (plus the
///   message being queued) wait: `poll_ready` writes and waits while more are
///   pending, `start_send` past the bound fails with
///   [`Error::WriteBufferFull`]. What is queued goes out on a flush, or on the
///   next read once the input is used up: a loop that answers what it reads
///   can `feed` its answers (no flush each) and have them written together,
///   one vectored write per read, as the example below does.
/// - **Prepared messages** ([`prepare`](Self::prepare), then
///   [`feed_prepared`](Self::feed_prepared) or
///   [`send_prepared`](Self::send_prepared)) are checked and compressed once
///   and sent to many connections as the same bytes.
/// - **Timers** (keepalive pings, the idle and close timeouts) run on a tokio
///   [`Sleep`] polled from `poll_next` and the `Sink` methods; the connection is
///   given the time since this stream was made.
/// - **Closing** with `SinkExt::close` sends a close (1000), waits for the peer's
///   up to [`Config::close_timeout`], then shuts the transport down. Messages
///   that arrive meanwhile are kept for the reader (at most [`CLOSING_STASH`]).
///
/// [`StreamExt::split`](https://docs.rs/futures-util/0.3/futures_util/stream/trait.StreamExt.html#method.split)
/// gives halves that can live on two tasks; either one's I/O wakes both.
///
/// ```no_run
/// use futures_util::{SinkExt, StreamExt};
/// use socketwire_tokio::{Message, accept_async};
/// # async fn run() -> Result<(), socketwire_tokio::Error> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9002").await?;
/// let (tcp, _) = listener.accept().await?;
/// let mut ws = accept_async(tcp).await?;
/// while let Some(message) = ws.next().await {
///     if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
///         // Written by the next `next()`, with every other echo queued by then.
///         ws.feed(m).await?;
///     }
/// }
/// # Ok(()) }
/// ```
pub struct WebSocketStream<S> {
    stream: S,
    conn: Connection,
    max_write_buffer: usize,
    close_timeout: Option<Duration>,
    /// The connection's clock starts here.
    origin: Instant,
    /// The next deadline of the connection (then, once closed, of the last
    /// writes).
    timer: Option<Pin<Box<Sleep>>>,
    /// The deadline on the connection's clock `timer` was armed for, while
    /// it is armed for one of the connection's (not the last writes').
    timer_at: Option<Duration>,
    /// `timer` was polled (with the waker inner polls use now) and is pending
    /// at its current deadline: it wakes us when due, so until then a look at
    /// whether it has elapsed replaces polling it again.
    timer_waiting: bool,
    /// Which tasks poll the stream: one (its waker goes to the transport and
    /// the timer as it is) or two (they go through `wakers`).
    pollers: Pollers,
    /// The tasks to wake on any readiness of the transport or the timer, once
    /// two tasks poll the stream.
    wakers: Arc<TaskWakers>,
    /// Wakes `wakers`: the waker every inner poll registers once two tasks
    /// poll the stream.
    waker: Waker,
    /// Messages `poll_close` read for the reader.
    stash: VecDeque<Message>,
    /// How the connection ended, once it has.
    closed: Option<ClosedBy>,
    /// The stream has given its last item (the error that ended it, if any).
    end_reported: bool,
    /// The stream has given `None`.
    terminated: bool,
    /// The transport was shut down (or given up on).
    shut_down: bool,
    /// The deadline of the last writes was armed.
    finish_armed: bool,
    /// The application queued output that has not all gone out yet: it
    /// writes (a flush, or its next read does), so a read need not write it
    /// for it.
    fed: bool,
}

impl<S> fmt::Debug for WebSocketStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketStream")
            .field("connection", &self.conn)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl<S> WebSocketStream<S> {
    /// Wraps a connection whose handshake is done.
    pub(crate) fn new(stream: S, mut conn: Connection, config: &Config) -> Self {
        let wakers = Arc::new(TaskWakers::default());
        // The connection's clock starts now, not at the first poll: an idle
        // timeout counts from here even if nobody polls for a while.
        conn.handle_timeout(Duration::ZERO);
        WebSocketStream {
            stream,
            conn,
            max_write_buffer: config.max_write_buffer,
            close_timeout: config.close_timeout,
            origin: Instant::now(),
            timer: None,
            timer_at: None,
            timer_waiting: false,
            pollers: Pollers::None,
            waker: Waker::from(wakers.clone()),
            wakers,
            stash: VecDeque::new(),
            closed: None,
            end_reported: false,
            terminated: false,
            shut_down: false,
            finish_armed: false,
            fed: false,
        }
    }

    /// A WebSocket over a transport whose opening handshake was done elsewhere
    /// (no extension is used). A client masks with keys from the OS's random
    /// source.
    ///
    /// ```no_run
    /// use socketwire::ws::Role;
    /// use socketwire_tokio::{Config, WebSocketStream};
    /// # async fn run(tcp: tokio::net::TcpStream) {
    /// let ws = WebSocketStream::from_raw_socket(tcp, Role::Server, &Config::default());
    /// # let _ = ws; }
    /// ```
    pub fn from_raw_socket(stream: S, role: Role, config: &Config) -> Self {
        let core = config.connection_config();
        let conn = match role {
            Role::Client => Connection::client(core, OsRandomMask),
            Role::Server => Connection::server(core),
        };
        WebSocketStream::new(stream, conn, config)
    }

    /// The transport.
    ///
    /// ```no_run
    /// # fn f(ws: &socketwire_tokio::WebSocketStream<tokio::net::TcpStream>) {
    /// let peer = ws.get_ref().peer_addr();
    /// # }
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The transport, mutably (writing to it directly breaks the framing).
    ///
    /// ```no_run
    /// # fn f(ws: &mut socketwire_tokio::WebSocketStream<tokio::net::TcpStream>) {
    /// ws.get_mut().set_nodelay(true).unwrap();
    /// # }
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The sans-IO connection, for its state, role and extension.
    ///
    /// ```no_run
    /// # fn f(ws: &socketwire_tokio::WebSocketStream<tokio::net::TcpStream>) {
    /// let compressed = ws.connection().has_extension();
    /// # }
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Bytes of output waiting to be written (frames queued, pongs, the close).
    ///
    /// ```no_run
    /// # fn f(ws: &socketwire_tokio::WebSocketStream<tokio::net::TcpStream>) {
    /// println!("{} bytes not written yet", ws.write_buffer_len());
    /// # }
    /// ```
    pub fn write_buffer_len(&self) -> usize {
        self.conn.buffered_amount()
    }

    /// Prepares a message to send to many connections: checked (UTF-8 for
    /// text) and, when this connection's permessage-deflate resets after every
    /// message, compressed, once. Send it here and to every connection that
    /// negotiated the same parameters with [`send_prepared`](Self::send_prepared): each
    /// sends the same compressed bytes (a connection with other parameters, or
    /// none, sends the payload its own way).
    ///
    /// ```no_run
    /// use socketwire::ws::MessageKind;
    /// # async fn f(mut readers: Vec<socketwire_tokio::WebSocketStream<tokio::net::TcpStream>>) -> Result<(), socketwire_tokio::Error> {
    /// let message = readers[0].prepare(MessageKind::Text, "hello, all".into())?;
    /// for ws in &mut readers {
    ///     ws.send_prepared(&message).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn prepare(&self, kind: MessageKind, payload: Bytes) -> Result<PreparedMessage, Error> {
        self.conn.prepare(kind, payload).map_err(Error::from_misuse)
    }

    /// Time on the connection's clock.
    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }

    /// Turns a core event into what the reader gets, and notes the end.
    fn on_event(&mut self, event: Event) -> Option<Message> {
        if let Event::Closed { by, .. } = &event {
            self.closed = Some(by.clone());
        }
        message_of(event)
    }

    /// The connection has closed, whether or not the reader has seen it yet
    /// (a timer can close it while only the writer polls).
    fn is_closed(&self) -> bool {
        self.closed.is_some() || self.conn.state() == State::Closed
    }

    /// The transport failed: the connection is over, nothing more is written.
    fn abort(&mut self) {
        self.conn.handle_eof();
        while self.conn.poll_event().is_some() {}
        self.closed = Some(ClosedBy::Eof);
        self.end_reported = true;
        self.shut_down = true;
    }

    /// Queues what `send` puts in the connection, unless more than
    /// `max_write_buffer` bytes wait already or the connection is closed.
    fn start_send_with(
        &mut self,
        send: impl FnOnce(&mut Connection) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if self.is_closed() {
            return Err(Error::AlreadyClosed);
        }
        let buffered = self.write_buffer_len();
        if buffered > self.max_write_buffer {
            return Err(Error::WriteBufferFull {
                buffered,
                max: self.max_write_buffer,
            });
        }
        send(&mut self.conn)?;
        self.fed = true;
        Ok(())
    }
}

/// The message a core event gives the reader (`None` for `Closed`, which ends
/// the stream: see [`end_of`]). One mapping for the stream and the codec.
pub(crate) fn message_of(event: Event) -> Option<Message> {
    match event {
        Event::Text(text) => Some(Message::Text(text)),
        Event::Binary(data) => Some(Message::Binary(data)),
        Event::Ping(data) => Some(Message::Ping(data)),
        Event::Pong(data) => Some(Message::Pong(data)),
        Event::Close { code, reason } => {
            Some(Message::Close((code != CloseCode::NO_STATUS).then(|| {
                CloseFrame {
                    code,
                    reason: reason.into(),
                }
            })))
        }
        // `Closed` ends the stream; fragments come only in streaming mode, which
        // is off.
        _ => None,
    }
}

/// The error a connection that closed `by` ends with: none after the close
/// handshake.
pub(crate) fn end_of(by: ClosedBy) -> Option<Error> {
    match by {
        ClosedBy::Handshake => None,
        ClosedBy::ProtocolError(e) => Some(Error::Protocol(e)),
        other => Some(Error::Aborted(other)),
    }
}

/// Queues a message in `conn` (sending when not open is
/// [`Error::AlreadyClosed`]).
pub(crate) fn queue(conn: &mut Connection, message: Message) -> Result<(), Error> {
    let result = match message {
        Message::Text(text) => conn.send_text_shared(text),
        Message::Binary(data) => conn.send_shared(MessageKind::Binary, data),
        Message::Ping(data) => conn.ping(&data),
        Message::Pong(data) => conn.pong(&data),
        Message::Close(Some(frame)) => conn.close(frame.code, frame.reason.as_str()),
        Message::Close(None) => conn.close(CloseCode::NORMAL, ""),
    };
    result.map_err(Error::from_misuse)
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Fires the connection's due timers and arms the sleep for the next one.
    fn poll_timers(&mut self, cx: &mut Context<'_>) {
        // Each call moves the connection's deadlines past `now`; two turns suffice.
        for _ in 0..4 {
            let Some(at) = self.conn.poll_timeout() else {
                if !self.finish_armed {
                    self.timer = None;
                    self.timer_at = None;
                    self.timer_waiting = false;
                }
                return;
            };
            // Armed for this deadline already (the common case: most polls
            // move no deadline), or armed now.
            if self.timer_at != Some(at) || self.timer.is_none() {
                let deadline = self.origin.checked_add(at).unwrap_or_else(far_future);
                self.timer_at = Some(at);
                self.timer_waiting = false;
                match self.timer.as_mut() {
                    Some(timer) if timer.deadline() == deadline => {}
                    Some(timer) => timer.as_mut().reset(deadline),
                    None => self.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
                }
            }
            let Some(timer) = self.timer.as_mut() else {
                return;
            };
            // Polled with the waker inner polls use already and not due: it
            // wakes us when it is (every poll of a message would otherwise
            // re-register the same waker with the timer).
            if self.timer_waiting && !timer.is_elapsed() {
                return;
            }
            if timer.as_mut().poll(cx).is_pending() {
                self.timer_waiting = true;
                return;
            }
            self.timer_waiting = false;
            let now = self.now();
            self.conn.handle_timeout(now);
        }
        cx.waker().wake_by_ref();
    }

    /// Writes all pending output (vectored, resuming partial writes) and flushes
    /// the transport.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.wants_transmit() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut count = 0;
            for (slot, chunk) in slices.iter_mut().zip(self.conn.transmit_chunks()) {
                *slot = IoSlice::new(chunk);
                count += 1;
            }
            // One chunk (what a request/response loop writes) goes out with
            // a plain write: the kernel's `send` path is shorter than `writev`'s.
            let stream = Pin::new(&mut self.stream);
            let n = ready!(match count {
                1 => stream.poll_write(cx, &slices[0]),
                _ => stream.poll_write_vectored(cx, &slices[..count]),
            })?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_transmit(n);
        }
        self.fed = false;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    /// Reads from the transport straight into the connection's input buffer.
    fn poll_read_in(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let input = self.conn.input_buffer();
        input.reserve(READ_CHUNK);
        tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, input)
    }

    /// Once the connection closed: writes the last frames (the close), then
    /// shuts the transport down. Gives up on a peer that does not let them out
    /// within the close timeout; write errors are ignored (the peer is gone).
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.shut_down {
            return Poll::Ready(());
        }
        match self.poll_write_out(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => {
                self.shut_down = true;
                return Poll::Ready(());
            }
            Poll::Pending => {
                if !self.finish_armed {
                    self.finish_armed = true;
                    let wait = self.close_timeout.unwrap_or(FINISH_TIMEOUT);
                    self.timer = Some(Box::pin(tokio::time::sleep(wait)));
                    self.timer_at = None;
                    self.timer_waiting = false;
                }
                if let Some(timer) = self.timer.as_mut()
                    && timer.as_mut().poll(cx).is_ready()
                {
                    self.shut_down = true;
                    return Poll::Ready(());
                }
                return Poll::Pending;
            }
        }
        // Shutdown errors mean the peer is gone already.
        let _ = ready!(Pin::new(&mut self.stream).poll_shutdown(cx));
        self.shut_down = true;
        Poll::Ready(())
    }

    /// Notes `task` as the reader's or the writer's, fires due timers, and
    /// returns the waker every inner poll uses when it is not `task`'s own.
    /// While one task polls the stream (reading, writing or both), inner polls
    /// register its waker directly: the transport and the timer wake it with
    /// no indirection and nothing is locked. Once a second task polls it (a
    /// split stream's halves on two tasks), every inner poll registers
    /// `waker`, which wakes both the reader and the writer, whichever
    /// registered last with the transport or the timer; that lasts.
    fn enter(&mut self, task: &Waker, side: Side) -> Option<Waker> {
        match &self.pollers {
            Pollers::One(one) if one.will_wake(task) => {}
            Pollers::None => self.pollers = Pollers::One(task.clone()),
            Pollers::One(_) | Pollers::Two => {
                if let Pollers::One(first) = std::mem::replace(&mut self.pollers, Pollers::Two) {
                    // The first task may wait on what it registered itself:
                    // whatever now wakes through `wakers` wakes it too, and
                    // the timer is polled again with `waker`.
                    self.wakers.register_reader(&first);
                    self.wakers.register_writer(&first);
                    self.timer_waiting = false;
                }
                match side {
                    Side::Reader => self.wakers.register_reader(task),
                    Side::Writer => self.wakers.register_writer(task),
                }
            }
        }
        let shared = matches!(self.pollers, Pollers::Two).then(|| self.waker.clone());
        self.poll_timers(&mut Context::from_waker(shared.as_ref().unwrap_or(task)));
        shared
    }

    /// One turn on the transport: writes what is pending, then reads (end of
    /// file goes to the connection). `Pending` when there is nothing to read;
    /// an I/O error ends the connection.
    fn poll_transport(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = match self.poll_write_out(cx) {
            Poll::Ready(Err(e)) => Err(e),
            _ => match ready!(self.poll_read_in(cx)) {
                Ok(0) => {
                    self.conn.handle_eof();
                    Ok(())
                }
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            },
        };
        if result.is_err() {
            self.abort();
        }
        Poll::Ready(result)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocketStream<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let task = cx.waker();
        let shared = this.enter(task, Side::Reader);
        let cx = &mut Context::from_waker(shared.as_ref().unwrap_or(task));
        loop {
            if let Some(message) = this.stash.pop_front() {
                return Poll::Ready(Some(Ok(message)));
            }
            if let Some(by) = this.closed.clone() {
                ready!(this.poll_finish(cx));
                let last = match by {
                    _ if this.end_reported => None,
                    by => end_of(by).map(Err),
                };
                this.end_reported = true;
                this.terminated = last.is_none();
                return Poll::Ready(last);
            }
            // The timers were polled on entry; reading does not move them.
            while let Some(event) = this.conn.poll_event() {
                if let Some(message) = this.on_event(event) {
                    // Answers to pings go out with the last message of what
                    // was read, so a reader that never writes still pongs.
                    // While more input waits the reader polls again at once,
                    // and once it queued messages of its own it writes them
                    // (its flush or its next read), answers included: then
                    // one write takes everything.
                    if this.conn.buffered_input() == 0 && !this.fed {
                        let _ = this.poll_write_out(cx);
                    }
                    return Poll::Ready(Some(Ok(message)));
                }
                if this.closed.is_some() {
                    break;
                }
            }
            if this.closed.is_some() {
                continue;
            }
            if let Err(e) = ready!(this.poll_transport(cx)) {
                return Poll::Ready(Some(Err(Error::Io(e))));
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> FusedStream for WebSocketStream<S> {
    /// `true` once the stream has given `None`.
    fn is_terminated(&self) -> bool {
        self.terminated
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// `poll_ready` of the sink: ready while at most `max_write_buffer`
    /// bytes wait; otherwise writes, and waits until enough went out.
    fn poll_ready_to_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let task = cx.waker();
        let shared = self.enter(task, Side::Writer);
        let cx = &mut Context::from_waker(shared.as_ref().unwrap_or(task));
        if self.is_closed() {
            return Poll::Ready(Err(Error::AlreadyClosed));
        }
        if self.write_buffer_len() <= self.max_write_buffer {
            return Poll::Ready(Ok(()));
        }
        match self.poll_write_out(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(Error::Io(e))),
            Poll::Pending if self.write_buffer_len() <= self.max_write_buffer => {
                Poll::Ready(Ok(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Queues a message made by [`prepare`](Self::prepare) (its shared
    /// compressed bytes when this connection's permessage-deflate parameters
    /// match those it was prepared with), waiting first while more than
    /// [`Config::max_write_buffer`] bytes wait, as `SinkExt::feed` does: it goes
    /// out on the next flush or read.
    ///
    /// ```no_run
    /// use socketwire::ws::MessageKind;
    /// # async fn f(ws: &mut socketwire_tokio::WebSocketStream<tokio::net::TcpStream>) -> Result<(), socketwire_tokio::Error> {
    /// let message = ws.prepare(MessageKind::Binary, vec![1, 2, 3].into())?;
    /// ws.feed_prepared(&message).await?;
    /// # Ok(()) }
    /// ```
    pub async fn feed_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_ready_to_send(cx)).await?;
        self.start_send_with(|conn| conn.send_prepared(message).map_err(Error::from_misuse))
    }

    /// [`feed_prepared`](Self::feed_prepared), then a flush, as `SinkExt::send`
    /// does.
    ///
    /// ```no_run
    /// use socketwire::ws::MessageKind;
    /// # async fn f(ws: &mut socketwire_tokio::WebSocketStream<tokio::net::TcpStream>) -> Result<(), socketwire_tokio::Error> {
    /// let message = ws.prepare(MessageKind::Text, "hi".into())?;
    /// ws.send_prepared(&message).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        self.feed_prepared(message).await?;
        std::future::poll_fn(|cx| self.poll_flush_out(cx)).await
    }

    /// `poll_flush` of the sink.
    fn poll_flush_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let task = cx.waker();
        let shared = self.enter(task, Side::Writer);
        let cx = &mut Context::from_waker(shared.as_ref().unwrap_or(task));
        if self.is_closed() {
            ready!(self.poll_finish(cx));
            return Poll::Ready(Ok(()));
        }
        self.poll_write_out(cx).map_err(Error::Io)
    }

    /// `poll_close` of the sink: sends a close (1000) unless one was sent,
    /// writes it, waits for the peer's close (up to the close timeout), then
    /// shuts the transport down.
    fn poll_close_handshake(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let task = cx.waker();
        let shared = self.enter(task, Side::Writer);
        let cx = &mut Context::from_waker(shared.as_ref().unwrap_or(task));
        if self.closed.is_none() && self.conn.state() == State::Open {
            let _ = self.conn.close(CloseCode::NORMAL, "");
        }
        loop {
            self.poll_timers(cx);
            while self.closed.is_none()
                && let Some(event) = self.conn.poll_event()
            {
                if let Some(message) = self.on_event(event)
                    && self.stash.len() < CLOSING_STASH
                {
                    self.stash.push_back(message);
                    self.wakers.wake_reader();
                }
            }
            if self.closed.is_some() {
                ready!(self.poll_finish(cx));
                self.wakers.wake_reader();
                return Poll::Ready(Ok(()));
            }
            if let Err(e) = ready!(self.poll_transport(cx)) {
                return Poll::Ready(Err(Error::Io(e)));
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocketStream<S> {
    type Error = Error;

    /// Ready while at most `max_write_buffer` bytes wait; otherwise writes, and
    /// waits until enough went out.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_ready_to_send(cx)
    }

    /// Queues the message; fails with [`Error::WriteBufferFull`] if more than
    /// `max_write_buffer` bytes wait already.
    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.get_mut().start_send_with(|conn| queue(conn, message))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_flush_out(cx)
    }

    /// Sends a close (1000) unless one was sent, writes it, waits for the
    /// peer's close (up to the close timeout), then shuts the transport down.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_close_handshake(cx)
    }
}

/// Which tasks poll a stream: see [`WebSocketStream::enter`].
enum Pollers {
    /// Not polled yet.
    None,
    /// Polled by one task only, with this waker.
    One(Waker),
    /// Polled by two tasks (or by one whose waker changed).
    Two,
}

/// Which half of the stream a task is polling.
#[derive(Clone, Copy)]
enum Side {
    Reader,
    Writer,
}

/// A deadline so far away it never fires (for one past `Instant`'s range).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// The reader's and the writer's wakers: a `split` stream has two tasks, and
/// the transport and the timer keep only the last waker they were polled with.
#[derive(Default)]
struct TaskWakers {
    reader: Mutex<Option<Waker>>,
    writer: Mutex<Option<Waker>>,
}

impl TaskWakers {
    fn register(slot: &Mutex<Option<Waker>>, waker: &Waker) {
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    fn register_reader(&self, waker: &Waker) {
        TaskWakers::register(&self.reader, waker);
    }

    fn register_writer(&self, waker: &Waker) {
        TaskWakers::register(&self.writer, waker);
    }

    fn wake_slot(slot: &Mutex<Option<Waker>>) {
        let waker = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn wake_reader(&self) {
        TaskWakers::wake_slot(&self.reader);
    }
}

impl Wake for TaskWakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        TaskWakers::wake_slot(&self.reader);
        TaskWakers::wake_slot(&self.writer);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use futures_util::{SinkExt, StreamExt};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Echoes that a loop `feed`s (no flush each) while the messages of one
    /// read are still coming go out together: 16 messages read at once are
    /// answered in one write (before the next read), not sixteen.
    #[tokio::test]
    async fn fed_echoes_of_one_read_go_out_in_one_write() {
        const BURST: u8 = 16;
        let (mut ws, mut far, writes) = crate::test_io::counted_websocket();
        let mut burst = Vec::new();
        let mut expected = Vec::new();
        for i in 0..BURST {
            // Masked with a zero key; the echo is the same frame unmasked.
            burst.extend([0x82, 0x80 | 20, 0, 0, 0, 0]);
            burst.extend([i; 20]);
            expected.extend([0x82, 20]);
            expected.extend([i; 20]);
        }
        // All of it is in the pipe before the stream reads once.
        far.write_all(&burst).await.unwrap();
        for _ in 0..BURST {
            let message = ws.next().await.unwrap().unwrap();
            ws.feed(message).await.unwrap();
        }
        // The read after the last message writes the echoes.
        let echoes = async {
            let mut got = vec![0; expected.len()];
            far.read_exact(&mut got).await.unwrap();
            got
        };
        let got = tokio::select! {
            got = echoes => got,
            _ = ws.next() => panic!("the stream ended"),
        };
        assert_eq!(got, expected);
        assert_eq!(writes.load(Ordering::Relaxed), 1);
    }

    /// A stream polled by one task registers that task's waker with the
    /// transport directly. When a second task starts polling, the first
    /// one's waits must still end: here the writer waits for room in a full
    /// pipe, then the reader, on another task, writes too (taking the pipe's
    /// one write waker); draining the pipe must wake the writer as well.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_writer_is_woken_after_a_second_task_takes_the_transport() {
        let (near, mut far) = tokio::io::duplex(64);
        let config = crate::Config {
            max_write_buffer: 0,
            ..crate::Config::default()
        };
        let ws =
            super::WebSocketStream::from_raw_socket(near, socketwire::ws::Role::Server, &config);
        let (mut sink, mut stream) = ws.split();
        let writer = tokio::spawn(async move {
            // The second waits until the first went out (the bound is 0).
            sink.feed(crate::Message::binary(vec![1u8; 1000]))
                .await
                .unwrap();
            sink.feed(crate::Message::binary(vec![2u8; 1000]))
                .await
                .unwrap();
            sink.flush().await.unwrap();
            sink
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!writer.is_finished(), "the pipe holds 64 bytes");
        let reader = tokio::spawn(async move { stream.next().await.map(|m| m.is_ok()) });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        // Two frames of 4 + 1000 bytes.
        let mut got = vec![0; 2 * 1004];
        tokio::time::timeout(std::time::Duration::from_secs(5), far.read_exact(&mut got))
            .await
            .expect("the writer was woken")
            .unwrap();
        assert_eq!((got[4], got[1004 + 4]), (1, 2));
        let _sink = writer.await.unwrap();
        reader.abort();
    }
}
