//! WebSockets over HTTP/2 (RFC 8441, feature `http2`): many WebSockets on one
//! HTTP/2 connection, each on a stream of its own.
//!
//! The server side is [`upgrade`](crate::upgrade): serve HTTP/2 with hyper's
//! `http2::Builder::enable_connect_protocol()` and the same call accepts an
//! extended CONNECT as it accepts an HTTP/1.1 upgrade. The client side is
//! [`Http2Connection`]: one HTTP/2 connection (over TLS with ALPN `h2`, or
//! cleartext with prior knowledge), on which [`Http2Connection::open`] sends an
//! extended CONNECT per WebSocket. The requests and responses are the core's
//! ([`ExtendedConnectClient`]); the frames on each stream are the same as over
//! TCP (RFC 8441 §5: masking and all).
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use socketwire_tokio::{Config, Message, h2::Http2Connection};
//!
//! # async fn run() -> Result<(), socketwire_tokio::Error> {
//! let tcp = tokio::net::TcpStream::connect("127.0.0.1:8443").await?; // TLS with ALPN h2 in practice
//! let h2 = Http2Connection::handshake(tcp, "https", "127.0.0.1:8443", Config::default()).await?;
//! let (mut chat, _response) = h2.open("/chat", &[]).await?;
//! let (mut feed, _response) = h2.open("/feed", &[]).await?; // the same connection
//! chat.send(Message::text("hello")).await?;
//! let _ = (chat.next().await, feed.next().await);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::client::conn::http2::SendRequest;
use hyper::ext::Protocol;
use hyper_util::rt::{TokioExecutor, TokioIo};
use socketwire::handshake::{ClientRequest, ExtendedConnectClient, WEBSOCKET_PROTOCOL};
use socketwire::ws::{Connection, OsRandomMask, Role};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

use crate::{Config, Error, Response, UpgradedIo, UpgradedStream, WebSocketStream};

/// One HTTP/2 connection to a server that speaks RFC 8441, on which
/// [`open`](Http2Connection::open) opens WebSockets, each on its own stream, as
/// many at once as the server's `SETTINGS_MAX_CONCURRENT_STREAMS` allows (hyper
/// waits for a stream beyond it). Cloning is cheap: the clones share the
/// connection, which a task of its own drives until every clone and every
/// WebSocket is gone.
///
/// Every wait has a deadline: [`Config::handshake_timeout`] bounds the wait for
/// the server's `SETTINGS_ENABLE_CONNECT_PROTOCOL` and each opening handshake.
///
/// ```no_run
/// # async fn run(tls: tokio::net::TcpStream) -> Result<(), socketwire_tokio::Error> {
/// use socketwire_tokio::h2::Http2Connection;
/// let h2 = Http2Connection::handshake(tls, "https", "example.com", Default::default()).await?;
/// let sockets = futures_util::future::try_join_all((0..10).map(|_| h2.open("/echo", &[]))).await?;
/// assert_eq!(sockets.len(), 10);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Http2Connection {
    send: SendRequest<Empty<Bytes>>,
    /// The server's `SETTINGS_ENABLE_CONNECT_PROTOCOL`, as last seen by the task
    /// that drives the connection; closed when the connection ends.
    connect_protocol: watch::Receiver<bool>,
    scheme: String,
    authority: String,
    config: Config,
}

impl Http2Connection {
    /// Runs the HTTP/2 connection preface over `io` (a TLS stream that negotiated
    /// ALPN `h2`, or a cleartext stream to a server with prior knowledge) and
    /// spawns the task that drives the connection. `scheme` (`"https"`, or
    /// `"http"` for `ws://` over cleartext HTTP/2) and `authority` (`host:port`)
    /// are the `:scheme` and `:authority` of every WebSocket opened on it.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), socketwire_tokio::Error> {
    /// let tcp = tokio::net::TcpStream::connect("127.0.0.1:8080").await?;
    /// let h2 = socketwire_tokio::h2::Http2Connection::handshake(tcp, "http", "127.0.0.1:8080", Default::default()).await?;
    /// # let _ = h2; Ok(()) }
    /// ```
    pub async fn handshake<S>(
        io: S,
        scheme: &str,
        authority: &str,
        config: Config,
    ) -> Result<Http2Connection, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let reads = Arc::new(Mutex::new(None));
        let io = ReadWaker {
            io,
            reads: reads.clone(),
        };
        let (send, mut connection) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
            TokioExecutor::new(),
            TokioIo::new(io),
        )
        .await
        .map_err(io::Error::other)?;
        let (setting, connect_protocol) = watch::channel(false);
        tokio::spawn(async move {
            std::future::poll_fn(|cx| {
                // hyper reads frames on a task of its own: it wakes this one each
                // time it reads, so the setting is seen once its frame is applied.
                if let Ok(mut waker) = reads.lock() {
                    *waker = Some(cx.waker().clone());
                }
                let driven = Pin::new(&mut connection).poll(cx);
                let enabled = connection.is_extended_connect_protocol_enabled();
                setting.send_if_modified(|seen| std::mem::replace(seen, enabled) != enabled);
                driven
            })
            .await
        });
        Ok(Http2Connection {
            send,
            connect_protocol,
            scheme: scheme.to_owned(),
            authority: authority.to_owned(),
            config,
        })
    }

    /// Whether the server has sent `SETTINGS_ENABLE_CONNECT_PROTOCOL = 1` (RFC 8441
    /// §3) by now.
    ///
    /// ```no_run
    /// # fn f(h2: &socketwire_tokio::h2::Http2Connection) {
    /// if !h2.is_connect_protocol_enabled() { /* open() waits for it */ }
    /// # }
    /// ```
    #[must_use]
    pub fn is_connect_protocol_enabled(&self) -> bool {
        *self.connect_protocol.borrow()
    }

    /// Opens a WebSocket to `path` on a new stream: waits for the server's
    /// `SETTINGS_ENABLE_CONNECT_PROTOCOL`, sends the extended CONNECT (offering
    /// `protocols` and permessage-deflate as [`Config::deflate`] says), checks the
    /// `200` and gives the client WebSocket with the response.
    ///
    /// Fails with [`Error::Io`] (kind `Unsupported`) when the server has not
    /// enabled the extended CONNECT within [`Config::handshake_timeout`] (RFC
    /// 8441 §3: the client "MUST NOT send a CONNECT request with the :protocol
    /// pseudo-header" before), [`Error::Handshake`] when it refuses (for example
    /// `UnexpectedStatus(400)`), [`Error::HandshakeTimeout`] past the timeout.
    ///
    /// ```no_run
    /// # async fn run(h2: socketwire_tokio::h2::Http2Connection) -> Result<(), socketwire_tokio::Error> {
    /// let (ws, response) = h2.open("/chat", &["chat.v1"]).await?;
    /// assert_eq!(response.status(), 200);
    /// # let _ = ws; Ok(()) }
    /// ```
    pub async fn open(
        &self,
        path: &str,
        protocols: &[&str],
    ) -> Result<(UpgradedStream, Response), Error> {
        self.wait_for_connect_protocol().await?;
        match self.config.handshake_timeout {
            Some(timeout) => tokio::time::timeout(timeout, self.extended_connect(path, protocols))
                .await
                .unwrap_or(Err(Error::HandshakeTimeout)),
            None => self.extended_connect(path, protocols).await,
        }
    }

    async fn wait_for_connect_protocol(&self) -> Result<(), Error> {
        let mut setting = self.connect_protocol.clone();
        let wait = setting.wait_for(|enabled| *enabled);
        let waited = match self.config.handshake_timeout {
            Some(timeout) => tokio::time::timeout(timeout, wait).await.ok(),
            None => Some(wait.await),
        };
        match waited {
            Some(Ok(_)) => Ok(()),
            Some(Err(_)) => Err(Error::Io(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the HTTP/2 connection ended",
            ))),
            // https://www.rfc-editor.org/rfc/rfc8441#section-3
            // "A sender MUST NOT send a CONNECT request with the :protocol pseudo-header
            // unless it has received this setting parameter with a value of 1."
            None => Err(Error::Io(io::Error::new(
                io::ErrorKind::Unsupported,
                "the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3)",
            ))),
        }
    }

    async fn extended_connect(
        &self,
        path: &str,
        protocols: &[&str],
    ) -> Result<(UpgradedStream, Response), Error> {
        let deflate = self.config.deflate.for_role(Role::Client);
        let offer = deflate.as_ref().and_then(|d| d.client_offer());
        let client = ExtendedConnectClient::new(
            &ClientRequest {
                protocols,
                extensions: offer.as_deref(),
                limits: self.config.header_limits,
                ..ClientRequest::new(&self.authority, path, [0; 16])
            },
            &self.scheme,
        )?;
        let mut request = client.to_request()?.map(|()| Empty::new());
        request
            .extensions_mut()
            .insert(Protocol::from_static(WEBSOCKET_PROTOCOL));
        let mut send = self.send.clone();
        send.ready().await.map_err(io::Error::other)?;
        let mut response = send.send_request(request).await.map_err(io::Error::other)?;
        let accepted = client.check_http_response(&response)?;
        let extension = match &deflate {
            Some(deflate) => deflate.accept_response(&accepted.extensions())?,
            None => None,
        };
        let upgraded = hyper::upgrade::on(&mut response)
            .await
            .map_err(io::Error::other)?;
        let (parts, _) = response.into_parts();
        let mut conn = Connection::client(self.config.connection_config(), OsRandomMask);
        if let Some(extension) = extension {
            conn = conn.with_extension(self.config.extension(extension));
        }
        let response = http::Response::from_parts(parts, ());
        Ok((
            WebSocketStream::new(UpgradedIo::from(upgraded), conn, &self.config),
            response,
        ))
    }
}

/// The transport of an [`Http2Connection`]: wakes the task that watches the
/// connection's settings whenever HTTP/2 reads, which it does after it applied
/// every frame read before (the server's `SETTINGS` among them).
struct ReadWaker<S> {
    io: S,
    reads: Arc<Mutex<Option<Waker>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadWaker<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(waker) = self.reads.lock().ok().and_then(|mut waker| waker.take()) {
            waker.wake();
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadWaker<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
