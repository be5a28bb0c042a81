//! An HTTP/1.1 server with its limits (feature `hyper`): [`serve`] runs a
//! hyper 1.x service on a [`TcpListener`] with a connection cap, a deadline on
//! every request head and on every write, and an accept loop that backs off on
//! errors instead of spinning or returning. [`engineio::serve`] and
//! `socketio::server::serve` run on it.
//!
//! ```no_run
//! use std::convert::Infallible;
//! use socketwire_tokio::server::{ServerConfig, serve};
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! let service = hyper::service::service_fn(|_request| async {
//!     Ok::<_, Infallible>(http::Response::new(http_body_util::Full::new(bytes::Bytes::from("hello\n"))))
//! });
//! serve(listener, ServerConfig::default(), service).await
//! # }
//! ```
//!
//! A WebSocket upgraded (with [`upgrade`](crate::upgrade)) on a connection of
//! [`serve`] runs on the connection's own [`ServerIo`] (its TCP stream, write
//! deadline and place under the cap), not through hyper's boxed upgraded
//! connection: see [`UpgradedIo`](crate::UpgradedIo).
//!
//! [`engineio::serve`]: crate::engineio

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// The limits of [`serve`]. Every queue has a cap and every wait a deadline:
///
/// | field | bounds | when it is hit |
/// |-------|--------|----------------|
/// | `max_connections` | connections served at once (a WebSocket upgraded from one keeps its place until it ends) | a connection past it is accepted, answered `503 Service Unavailable` and closed at once (it does not wait in the kernel's queue) |
/// | `head_timeout` | a request head, from when hyper starts reading it (after the previous response on a kept-alive connection) | `408 Request Timeout` and close if part of a head arrived; closed without a reply if nothing did (an idle keep-alive connection) |
/// | `write_timeout` | each write (and flush) the peer keeps waiting, responses and [`UpgradedIo::Direct`](crate::UpgradedIo::Direct) WebSockets alike | the write fails with [`TimedOut`](std::io::ErrorKind::TimedOut) and the connection is closed |
///
/// Accept errors (out of file descriptors: `EMFILE`, `ENFILE`) are not a
/// field: the accept loop sleeps [`accept_backoff`] (10 ms doubling to 1 s)
/// before it tries again.
///
/// Request bodies are the service's to bound (hyper reads them only as the
/// service asks, so a body nobody reads holds no memory): the Engine.IO and
/// Socket.IO services cap and time theirs.
///
/// ```
/// use std::time::Duration;
/// use socketwire_tokio::server::ServerConfig;
/// let config = ServerConfig { max_connections: 1000, ..ServerConfig::default() };
/// assert_eq!(config.head_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Most connections served at once (default 10 000). Each one also holds
    /// a second descriptor of its socket, for the `408` (see `head_timeout`).
    pub max_connections: usize,
    /// How long a request head may take (default 10 s); also how long a
    /// kept-alive connection may stay idle between requests.
    pub head_timeout: Duration,
    /// How long one write may wait on the peer (default 30 s).
    pub write_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 10_000,
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// What a connection past [`ServerConfig::max_connections`] is sent before it
/// is closed.
const TOO_MANY_CONNECTIONS: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// What a connection whose request head is not complete within
/// [`ServerConfig::head_timeout`] is sent before it is closed.
const HEAD_TIMEOUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\
Content-Type: text/plain\r\nContent-Length: 21\r\n\r\nrequest head timeout\n";

/// How long the accept loop of [`serve`] sleeps after `consecutive_errors`
/// failed accepts in a row (0 for the first): 10 ms doubling up to 1 s.
/// Accept fails at once while file descriptors are exhausted (`EMFILE`,
/// `ENFILE`), so without a pause the loop would spin.
///
/// ```
/// use std::time::Duration;
/// use socketwire_tokio::server::accept_backoff;
/// assert_eq!(accept_backoff(0), Duration::from_millis(10));
/// assert_eq!(accept_backoff(1), Duration::from_millis(20));
/// assert_eq!(accept_backoff(u32::MAX), Duration::from_secs(1));
/// ```
#[must_use]
pub fn accept_backoff(consecutive_errors: u32) -> Duration {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);
    let factor = 1u32.checked_shl(consecutive_errors).unwrap_or(u32::MAX);
    FIRST.saturating_mul(factor).min(MAX)
}

/// Serves `service` on every connection `listener` accepts, with hyper 1.x's
/// HTTP/1.1 server (upgrades on, so [`upgrade`](crate::upgrade) works in it;
/// `TCP_NODELAY` set), within the limits of `config` (see [`ServerConfig`]).
///
/// Each connection runs on a task of its own over a [`ServerIo`]. A failed
/// accept is not logged (this crate writes nothing to stderr) and does not
/// end the loop: it sleeps [`accept_backoff`] and tries again, so the server
/// comes back by itself once descriptors are free. The function never
/// returns; the `io::Result` lets `serve(..).await?` read like the other
/// `serve` functions of this crate. Drop (or abort) its task to stop it;
/// connections already accepted run on.
///
/// A service error makes hyper close the connection without an answer.
///
/// ```no_run
/// use std::convert::Infallible;
/// use std::time::Duration;
/// use socketwire_tokio::server::{ServerConfig, serve};
///
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// let config = ServerConfig { head_timeout: Duration::from_secs(5), ..ServerConfig::default() };
/// let service = hyper::service::service_fn(|mut request: http::Request<hyper::body::Incoming>| async move {
///     let response = match socketwire_tokio::upgrade(&mut request) {
///         Ok((response, websocket)) => {
///             tokio::spawn(async move {
///                 let ws = websocket.await?;
///                 // The connection's own stream, not hyper's boxed one.
///                 assert!(ws.get_ref().is_direct());
///                 Ok::<_, socketwire_tokio::Error>(())
///             });
///             response
///         }
///         Err(error) => error.to_response(),
///     };
///     Ok::<_, Infallible>(response)
/// });
/// serve(listener, config, service).await
/// # }
/// ```
pub async fn serve<S, B>(listener: TcpListener, config: ServerConfig, service: S) -> io::Result<()>
where
    S: hyper::service::Service<http::Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let places = Arc::new(Semaphore::new(config.max_connections));
    let mut errors: u32 = 0;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                errors = 0;
                stream
            }
            Err(_) => {
                tokio::time::sleep(accept_backoff(errors)).await;
                errors = errors.saturating_add(1);
                continue;
            }
        };
        let Ok(place) = places.clone().try_acquire_owned() else {
            refuse(stream);
            continue;
        };
        let (config, service) = (config.clone(), service.clone());
        tokio::spawn(async move {
            // The error ends this connection only; there is nobody to tell.
            let _ = serve_connection(stream, place, &config, service).await;
        });
    }
}

/// Answers a connection past the cap with `503` and closes it.
fn refuse(stream: TcpStream) {
    // A fresh socket's send buffer is empty, so this small write on the
    // (non-blocking) socket completes at once; dropping it closes.
    let _ = stream.try_write(TOO_MANY_CONNECTIONS);
}

/// Serves one connection: its heads within `head_timeout` (with the `408` hyper
/// does not write), every write within `write_timeout`, upgrades on; `place` is
/// held by the [`ServerIo`] until hyper (or the WebSocket it upgraded to) drops it.
async fn serve_connection<S, B>(
    stream: TcpStream,
    place: OwnedSemaphorePermit,
    config: &ServerConfig,
    service: S,
) -> io::Result<()>
where
    S: hyper::service::Service<http::Request<Incoming>, Response = http::Response<B>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    stream.set_nodelay(true)?;
    // A second handle on the socket, for the 408 after hyper gives up on a
    // head (hyper has dropped the stream by then).
    let stream = stream.into_std()?;
    let spare = stream.try_clone()?;
    let stream = TcpStream::from_std(stream)?;
    let io = ServerIo::new(stream, config.write_timeout, Some(place));
    let heard = io.heard();
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(config.head_timeout)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades()
        .await;
    match served {
        Ok(()) => Ok(()),
        // hyper closes a connection whose head is late without a word: a
        // partial head gets 408 first (on the socket's non-blocking fd: an
        // empty send buffer takes it at once), an idle connection is closed
        // silently.
        Err(error) if error.is_timeout() => {
            if heard.load(Ordering::Relaxed) {
                let _ = io::Write::write(&mut &spare, HEAD_TIMEOUT);
            }
            Ok(())
        }
        Err(error) => Err(io::Error::other(error)),
    }
}

/// The stream of one connection of [`serve`], as hyper (and a WebSocket
/// upgraded from it) sees it: `S` with a deadline on every write, holding the
/// connection's place under [`ServerConfig::max_connections`].
///
/// - **Write deadline**: a write (or flush, or shutdown) that the peer keeps
///   pending for `write_timeout` fails with
///   [`TimedOut`](std::io::ErrorKind::TimedOut), which closes the connection
///   (hyper has no write deadline of its own, so a peer that stops reading
///   would hold a response's writer forever). The clock starts when a write
///   first waits and stops when it completes; a connection that writes nothing
///   never times out here.
/// - **Place under the cap**: the permit is released when the stream is
///   dropped: by hyper at the end of the connection, or by the WebSocket it
///   upgraded to, however long that runs. [`into_parts`](ServerIo::into_parts)
///   hands it over to a loop of your own.
/// - **`heard`**: whether the peer has sent bytes since our last write (set
///   when a read brings bytes, cleared when a write takes some): at the head
///   deadline, which runs only while hyper waits for a head, it tells a
///   partial head (`408`) from a connection idle since its last response
///   (closed silently), whatever body the last request had.
///
/// Vectored writes are passed through (`is_write_vectored` is `S`'s).
///
/// ```
/// use std::time::Duration;
/// use socketwire_tokio::server::ServerIo;
/// use tokio::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (near, _far) = tokio::io::duplex(64);
/// let mut io = ServerIo::new(near, Duration::from_millis(10), None);
/// io.write_all(&[0; 64]).await.unwrap(); // fits in the pipe
/// let late = io.write_all(&[0; 1]).await.unwrap_err(); // nobody reads the far end
/// assert_eq!(late.kind(), std::io::ErrorKind::TimedOut);
/// # }
/// ```
#[derive(Debug)]
pub struct ServerIo<S> {
    inner: S,
    write_timeout: Duration,
    /// The deadline of the write that is waiting, if one is.
    armed: Option<Pin<Box<Sleep>>>,
    place: Option<OwnedSemaphorePermit>,
    heard: Arc<AtomicBool>,
}

impl<S> ServerIo<S> {
    /// `inner` with a deadline of `write_timeout` on each write, holding
    /// `place` (a permit of the semaphore that caps the connections, if any)
    /// until it is dropped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::sync::Arc;
    /// let places = Arc::new(tokio::sync::Semaphore::new(1));
    /// let (near, _far) = tokio::io::duplex(64);
    /// let place = places.clone().try_acquire_owned().unwrap();
    /// let io = socketwire_tokio::server::ServerIo::new(near, std::time::Duration::from_secs(30), Some(place));
    /// assert_eq!(places.available_permits(), 0);
    /// drop(io);
    /// assert_eq!(places.available_permits(), 1);
    /// # }
    /// ```
    pub fn new(inner: S, write_timeout: Duration, place: Option<OwnedSemaphorePermit>) -> Self {
        ServerIo {
            inner,
            write_timeout,
            armed: None,
            place,
            heard: Arc::default(),
        }
    }

    /// Whether the peer has sent bytes since our last write: set when a read
    /// brings bytes, cleared when a write takes some.
    ///
    /// ```
    /// use std::sync::atomic::Ordering;
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let (near, mut far) = tokio::io::duplex(64);
    /// let mut io = socketwire_tokio::server::ServerIo::new(near, std::time::Duration::from_secs(30), None);
    /// let heard = io.heard();
    /// assert!(!heard.load(Ordering::Relaxed));
    /// far.write_all(b"GET").await.unwrap();
    /// io.read(&mut [0; 8]).await.unwrap();
    /// assert!(heard.load(Ordering::Relaxed));
    /// io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
    /// assert!(!heard.load(Ordering::Relaxed));
    /// # }
    /// ```
    pub fn heard(&self) -> Arc<AtomicBool> {
        self.heard.clone()
    }

    /// The deadline of each write.
    ///
    /// ```
    /// # let (near, _far) = tokio::io::duplex(64);
    /// let io = socketwire_tokio::server::ServerIo::new(near, std::time::Duration::from_secs(30), None);
    /// assert_eq!(io.write_timeout().as_secs(), 30);
    /// ```
    pub fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// The stream underneath.
    ///
    /// ```no_run
    /// # fn f(io: &socketwire_tokio::server::ServerIo<tokio::net::TcpStream>) {
    /// let peer = io.get_ref().peer_addr();
    /// # }
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream underneath, mutably (reads and writes on it bypass the
    /// deadline).
    ///
    /// ```no_run
    /// # fn f(io: &mut socketwire_tokio::server::ServerIo<tokio::net::TcpStream>) {
    /// io.get_mut().set_nodelay(true).unwrap();
    /// # }
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The stream underneath and the connection's place under the cap, for a
    /// loop of your own after an upgrade (which then applies its own write
    /// deadline; the place is free once the permit is dropped).
    ///
    /// ```
    /// # let (near, _far) = tokio::io::duplex(64);
    /// let io = socketwire_tokio::server::ServerIo::new(near, std::time::Duration::from_secs(30), None);
    /// let (stream, place) = io.into_parts();
    /// assert!(place.is_none());
    /// # let _ = stream;
    /// ```
    pub fn into_parts(self) -> (S, Option<OwnedSemaphorePermit>) {
        (self.inner, self.place)
    }

    /// [`watch`](ServerIo::watch) for a write: one that takes bytes answers
    /// whatever the peer sent before (clears `heard`).
    fn watch_write(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = poll
            && n > 0
        {
            self.heard.store(false, Ordering::Relaxed);
        }
        self.watch(cx, poll)
    }

    /// Passes a ready result through (disarming the clock); on `Pending`, arms
    /// the clock and fails with `TimedOut` once it has run out.
    fn watch<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.armed = None;
            return poll;
        }
        let limit = self.write_timeout;
        let sleep = self
            .armed
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        ready!(sleep.as_mut().poll(cx));
        self.armed = None;
        Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ServerIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.heard.store(true, Ordering::Relaxed);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ServerIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch_write(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch_write(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// The accept loop's backoff: 10 ms, doubling, at most 1 s, for any count.
    #[test]
    fn accept_backoff_doubles_from_10_ms_to_1_s() {
        let ms = |n| accept_backoff(n).as_millis();
        assert_eq!(
            [0, 1, 2, 3, 4, 5, 6, 7].map(ms),
            [10, 20, 40, 80, 160, 320, 640, 1000]
        );
        assert_eq!(ms(31), 1000);
        assert_eq!(ms(32), 1000);
        assert_eq!(ms(u32::MAX), 1000);
    }

    /// Bound: a write the peer never takes fails with `TimedOut` after the
    /// limit (a duplex pipe of 64 bytes that nobody reads); what fits goes
    /// through.
    #[tokio::test]
    async fn a_write_the_peer_never_takes_times_out() {
        let (near, _far) = tokio::io::duplex(64);
        let mut stream = ServerIo::new(near, Duration::from_millis(100), None);
        stream.write_all(&[1; 64]).await.unwrap();
        let error = stream.write_all(&[2; 1]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    /// Vectored writes reach the stream underneath as they are.
    #[tokio::test]
    async fn vectored_writes_are_passed_through() {
        let (near, _far) = tokio::io::duplex(64);
        let mut stream = ServerIo::new(near, Duration::from_secs(30), None);
        assert_eq!(
            stream.is_write_vectored(),
            stream.get_ref().is_write_vectored()
        );
        let slices = [io::IoSlice::new(b"ab"), io::IoSlice::new(b"cd")];
        let n = stream.write_vectored(&slices).await.unwrap();
        assert!(n > 0 && n <= 4);
    }
}
