//! WebSocket upgrades inside a hyper 1.x service or an axum handler (feature
//! `hyper`): [`upgrade`] checks the request with the core's `http` handshake
//! functions, gives back the `101` to answer with and an [`UpgradeFut`] that
//! resolves, once hyper has handed the connection over, to a
//! [`WebSocketStream`].
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//! use socketwire_tokio::{Message, UpgradeResponse};
//!
//! // A hyper `service_fn` (or an axum handler taking `axum::extract::Request`).
//! async fn serve(mut request: http::Request<hyper::body::Incoming>) -> Result<UpgradeResponse, socketwire_tokio::Error> {
//!     let (response, websocket) = match socketwire_tokio::upgrade(&mut request) {
//!         Ok(upgrade) => upgrade,
//!         // 400, or 426 with `Sec-WebSocket-Version: 13`, as the core says.
//!         Err(error) => return Ok(error.to_response()),
//!     };
//!     tokio::spawn(async move {
//!         let mut ws = websocket.await?;
//!         while let Some(message) = ws.next().await {
//!             if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
//!                 ws.send(m).await?;
//!             }
//!         }
//!         Ok::<_, socketwire_tokio::Error>(())
//!     });
//!     Ok(response)
//! }
//! ```
//!
//! The server must serve its HTTP/1.1 connections with upgrades on (hyper's
//! `serve_connection(..).with_upgrades()`; axum's `serve` and
//! [`server::serve`](crate::server::serve) do). On a connection of
//! `server::serve` the WebSocket runs on the connection's own stream
//! ([`UpgradedIo::Direct`]). Nothing is
//! validated here: [`ServerHandshake::from_http_request`] runs every rule of RFC
//! 6455 §4.2.1, and the subprotocol, extra fields and permessage-deflate are
//! settled by the code [`accept_hdr_async`](crate::accept_hdr_async) uses.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body_util::Empty;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
#[cfg(feature = "http2")]
use socketwire::handshake::{ExtendedConnect, ExtendedConnectError};
use socketwire::handshake::{HttpVersion, RequestHead, ServerHandshake};
use socketwire::ws::Connection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::handshake::ServerAnswer;
use crate::server::ServerIo;
use crate::{Config, Error, Response, WebSocketStream};

/// What [`upgrade`] answers with: the `101 Switching Protocols` (or, from
/// [`Error::to_response`], a refusal), with an empty body. Return it from the
/// hyper service or axum handler (axum takes it as an `IntoResponse`).
///
/// ```
/// let refusal: socketwire_tokio::UpgradeResponse =
///     socketwire_tokio::Error::Handshake(socketwire::handshake::HandshakeError::MissingKey).to_response();
/// assert_eq!(refusal.status(), 400);
/// ```
pub type UpgradeResponse = http::Response<Empty<Bytes>>;

/// The WebSocket over an upgraded connection, as [`UpgradeFut`] gives it (its
/// transport: [`UpgradedIo`]).
///
/// ```no_run
/// # async fn run(websocket: socketwire_tokio::UpgradeFut) -> Result<(), socketwire_tokio::Error> {
/// let ws: socketwire_tokio::UpgradedStream = websocket.await?;
/// # let _ = ws; Ok(()) }
/// ```
pub type UpgradedStream = WebSocketStream<UpgradedIo>;

/// The transport of an [`UpgradedStream`]: the connection's own stream when it
/// came from [`server::serve`](crate::server::serve), else hyper's upgraded
/// connection. Reads and writes go to the variant's stream.
///
/// ```no_run
/// # async fn run(websocket: socketwire_tokio::UpgradeFut) -> Result<(), socketwire_tokio::Error> {
/// let ws = websocket.await?;
/// match ws.get_ref() {
///     socketwire_tokio::UpgradedIo::Direct(io) => {
///         let peer = io.get_ref().peer_addr();
///         # let _ = peer;
///     }
///     socketwire_tokio::UpgradedIo::Hyper(_) => {}
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub enum UpgradedIo {
    /// A connection of [`server::serve`](crate::server::serve): its TCP stream
    /// with the server's write deadline and the connection's place under its
    /// cap (held until this is dropped). Writes are vectored, with no boxing
    /// in between.
    Direct(ServerIo<TcpStream>),
    /// Any other server's connection (hyper's own `serve_connection`, axum,
    /// an HTTP/2 stream): hyper's boxed upgraded connection.
    Hyper(TokioIo<Upgraded>),
}

impl UpgradedIo {
    /// Whether this is the connection's own stream ([`UpgradedIo::Direct`]).
    ///
    /// ```no_run
    /// # async fn run(websocket: socketwire_tokio::UpgradeFut) -> Result<(), socketwire_tokio::Error> {
    /// let ws = websocket.await?;
    /// let direct = ws.get_ref().is_direct();
    /// # let _ = direct; Ok(()) }
    /// ```
    #[must_use]
    pub fn is_direct(&self) -> bool {
        matches!(self, UpgradedIo::Direct(_))
    }

    /// The upgraded stream of `upgraded`, and the bytes hyper read past the
    /// request, which come first (empty for hyper's own: it replays them).
    fn from_hyper(upgraded: Upgraded) -> (UpgradedIo, Bytes) {
        match upgraded.downcast::<TokioIo<ServerIo<TcpStream>>>() {
            Ok(parts) => (UpgradedIo::Direct(parts.io.into_inner()), parts.read_buf),
            Err(upgraded) => (UpgradedIo::Hyper(TokioIo::new(upgraded)), Bytes::new()),
        }
    }
}

impl From<Upgraded> for UpgradedIo {
    /// hyper's upgraded connection as it is ([`UpgradedIo::Hyper`]).
    ///
    /// ```no_run
    /// # async fn run(mut response: http::Response<hyper::body::Incoming>) -> Result<(), hyper::Error> {
    /// let upgraded = hyper::upgrade::on(&mut response).await?;
    /// let io = socketwire_tokio::UpgradedIo::from(upgraded);
    /// assert!(!io.is_direct());
    /// # Ok(()) }
    /// ```
    fn from(upgraded: Upgraded) -> UpgradedIo {
        UpgradedIo::Hyper(TokioIo::new(upgraded))
    }
}

/// Calls `$call` on the variant's stream, pinned.
macro_rules! each_variant {
    ($self:ident, $io:ident => $call:expr) => {
        match $self.get_mut() {
            UpgradedIo::Direct(io) => {
                let $io = Pin::new(io);
                $call
            }
            UpgradedIo::Hyper(io) => {
                let $io = Pin::new(io);
                $call
            }
        }
    };
}

impl AsyncRead for UpgradedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_variant!(self, io => io.poll_read(cx, buf))
    }
}

impl AsyncWrite for UpgradedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_variant!(self, io => io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each_variant!(self, io => io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            UpgradedIo::Direct(io) => io.is_write_vectored(),
            UpgradedIo::Hyper(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_variant!(self, io => io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_variant!(self, io => io.poll_shutdown(cx))
    }
}

/// Whether `request` asks for a WebSocket (`Upgrade: websocket`, RFC 6455
/// §4.2.1 item 3; with the `http2` feature also an HTTP/2 `CONNECT` with
/// `:protocol = websocket`, RFC 8441 §5), to route it to [`upgrade`]. A request
/// that asks may still be refused by `upgrade` (no key, another version, not
/// `GET`…).
///
/// ```
/// let request = http::Request::get("/ws").header("upgrade", "WebSocket").body(()).unwrap();
/// assert!(socketwire_tokio::is_upgrade_request(&request));
/// assert!(!socketwire_tokio::is_upgrade_request(&http::Request::get("/").body(()).unwrap()));
/// ```
pub fn is_upgrade_request<B>(request: &http::Request<B>) -> bool {
    // An HTTP/2 extended CONNECT asks with `:protocol = websocket` (RFC 8441 §5).
    #[cfg(feature = "http2")]
    if request.method() == http::Method::CONNECT {
        return request
            .extensions()
            .get::<hyper::ext::Protocol>()
            .is_some_and(|protocol| {
                protocol
                    .as_str()
                    .eq_ignore_ascii_case(socketwire::handshake::WEBSOCKET_PROTOCOL)
            });
    }
    // The core's rule, on a head holding only the `Upgrade` fields.
    let upgrade = request.headers().get_all(http::header::UPGRADE);
    let fields = upgrade.iter().map(|value| ("upgrade", value.as_bytes()));
    RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", fields).is_websocket_upgrade()
}

/// Upgrades `request` to a WebSocket with the default [`Config`] (no
/// permessage-deflate, no subprotocol): `Ok` with the `101` to answer with and
/// the future of the stream; `Err(`[`Error::Handshake`]`)` for a bad request,
/// whose [`Error::to_response`] is the core's refusal (400, or 426 with
/// `Sec-WebSocket-Version: 13`).
///
/// To refuse a valid request (a path, an `Origin`, a missing cookie), answer it
/// with a response of your own instead.
///
/// ```no_run
/// # async fn handler(mut request: http::Request<hyper::body::Incoming>) -> socketwire_tokio::UpgradeResponse {
/// match socketwire_tokio::upgrade(&mut request) {
///     Ok((response, websocket)) => {
///         tokio::spawn(async move {
///             let ws = websocket.await?;
///             # let _ = ws;
///             Ok::<_, socketwire_tokio::Error>(())
///         });
///         response
///     }
///     Err(error) => error.to_response(),
/// }
/// # }
/// ```
pub fn upgrade<B>(request: &mut http::Request<B>) -> Result<(UpgradeResponse, UpgradeFut), Error> {
    Upgrade::new(Config::default()).upgrade(request)
}

/// [`upgrade`] with a [`Config`] (permessage-deflate, limits, timers, the write
/// buffer bound; the handshake's head caps and timeout are the HTTP server's).
///
/// ```no_run
/// use socketwire_tokio::{Config, Deflate, upgrade_with_config};
/// # fn f(mut request: http::Request<()>) -> Result<(), socketwire_tokio::Error> {
/// let config = Config { deflate: Deflate::Enabled(Default::default()), ..Config::default() };
/// let (response, websocket) = upgrade_with_config(&mut request, config)?;
/// # let _ = (response, websocket); Ok(()) }
/// ```
pub fn upgrade_with_config<B>(
    request: &mut http::Request<B>,
    config: Config,
) -> Result<(UpgradeResponse, UpgradeFut), Error> {
    Upgrade::new(config).upgrade(request)
}

/// An upgrade with its settings: a [`Config`] and the subprotocols the server
/// speaks. Build it once and use it for every request.
///
/// ```no_run
/// use socketwire_tokio::{Config, Upgrade};
/// # fn f(mut request: http::Request<()>) -> Result<(), socketwire_tokio::Error> {
/// let chat = Upgrade::new(Config::default()).protocols(["chat.v2", "chat.v1"]);
/// let (response, websocket) = chat.upgrade(&mut request)?;
/// let chosen = response.headers().get("sec-websocket-protocol"); // None: the client offered neither
/// # let _ = (chosen, websocket); Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Upgrade {
    config: Config,
    protocols: Vec<String>,
}

impl Upgrade {
    /// An upgrade with `config` and no subprotocol.
    ///
    /// ```
    /// let upgrade = socketwire_tokio::Upgrade::new(socketwire_tokio::Config::default());
    /// # let _ = upgrade;
    /// ```
    #[must_use]
    pub fn new(config: Config) -> Upgrade {
        Upgrade {
            config,
            protocols: Vec::new(),
        }
    }

    /// The subprotocols this server speaks. The `101` selects the first one in
    /// the client's `Sec-WebSocket-Protocol` list (the client's order of
    /// preference, RFC 6455 §4.1) that is among them; when none is, the `101`
    /// names no subprotocol and the client decides whether to go on.
    ///
    /// ```
    /// let upgrade = socketwire_tokio::Upgrade::default().protocols(["graphql-transport-ws"]);
    /// # let _ = upgrade;
    /// ```
    #[must_use]
    pub fn protocols<I, P>(mut self, protocols: I) -> Upgrade
    where
        I: IntoIterator<Item = P>,
        P: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Upgrades `request` (see [`upgrade`]): validates it with
    /// [`ServerHandshake::from_http_request`], selects the subprotocol,
    /// negotiates permessage-deflate as [`Config::deflate`] allows, and takes
    /// hyper's pending upgrade out of the request's extensions.
    ///
    /// ```no_run
    /// # fn f(mut request: http::Request<()>) -> Result<(), socketwire_tokio::Error> {
    /// let (response, websocket) = socketwire_tokio::Upgrade::default().upgrade(&mut request)?;
    /// assert_eq!(response.status(), 101);
    /// # let _ = websocket; Ok(()) }
    /// ```
    pub fn upgrade<B>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<(UpgradeResponse, UpgradeFut), Error> {
        #[cfg(feature = "http2")]
        if request.method() == http::Method::CONNECT {
            return self.extended_connect(request);
        }
        let handshake = ServerHandshake::from_http_request(request)?;
        let chosen = self.choose_protocol(&handshake)?;
        let answer = ServerAnswer::new(&handshake, &chosen, &self.config)?;
        let response = handshake.accept_response(&answer.options())?;
        Ok((
            response.map(|()| Empty::new()),
            self.future(request, answer),
        ))
    }

    /// An HTTP/2 extended CONNECT (RFC 8441): validated by the core's
    /// [`ExtendedConnect`], answered with a `200`; the same subprotocol choice and
    /// permessage-deflate negotiation as the HTTP/1.1 upgrade.
    #[cfg(feature = "http2")]
    fn extended_connect<B>(
        &self,
        request: &mut http::Request<B>,
    ) -> Result<(UpgradeResponse, UpgradeFut), Error> {
        let protocol = request.extensions().get::<hyper::ext::Protocol>();
        let connect = ExtendedConnect::from_http_request(request, protocol.map(|p| p.as_str()))
            .map_err(|error| match error {
                ExtendedConnectError::Handshake(error) => Error::Handshake(error),
                refused => Error::Refused(
                    http::StatusCode::from_u16(refused.status())
                        .unwrap_or(http::StatusCode::BAD_REQUEST),
                ),
            })?;
        let chosen = self.choose_protocol(connect.handshake())?;
        let answer = ServerAnswer::new(connect.handshake(), &chosen, &self.config)?;
        let response = connect.accept_response(&answer.options())?;
        Ok((
            response.map(|()| Empty::new()),
            self.future(request, answer),
        ))
    }

    /// The first subprotocol of the client's list that this server speaks, in a
    /// response's `Sec-WebSocket-Protocol` (empty when none is).
    fn choose_protocol(&self, handshake: &ServerHandshake) -> Result<Response, Error> {
        let mut chosen = Response::new(());
        if let Some(protocol) = handshake
            .protocols()
            .find(|offered| self.protocols.iter().any(|ours| ours == offered))
        {
            let value = http::HeaderValue::from_str(protocol)
                .map_err(|_| socketwire::handshake::HandshakeMisuse::InvalidHeaderValue)?;
            chosen
                .headers_mut()
                .insert(http::header::SEC_WEBSOCKET_PROTOCOL, value);
        }
        Ok(chosen)
    }

    /// The WebSocket once hyper hands the connection (or the HTTP/2 stream) over.
    fn future<B>(&self, request: &mut http::Request<B>, answer: ServerAnswer<'_>) -> UpgradeFut {
        UpgradeFut {
            on_upgrade: hyper::upgrade::on(request),
            connection: Some(answer.into_connection(&self.config)),
            config: self.config.clone(),
        }
    }
}

/// The WebSocket of an accepted [`upgrade`]: resolves once hyper has sent the
/// `101` (or, over HTTP/2, the `200`) and handed the connection (the stream)
/// over, so the response must be returned to hyper first; await this on a task
/// of its own. Fails with [`Error::Io`] when the connection cannot be upgraded
/// (an HTTP/1.1 server without upgrades).
///
/// ```no_run
/// # async fn run(websocket: socketwire_tokio::UpgradeFut) -> Result<(), socketwire_tokio::Error> {
/// let ws = websocket.await?;
/// let compressed = ws.connection().has_extension();
/// # let _ = compressed; Ok(()) }
/// ```
#[must_use = "the WebSocket is there once this future is awaited"]
pub struct UpgradeFut {
    on_upgrade: OnUpgrade,
    /// The connection the `101` set up; taken when the future resolves.
    connection: Option<Connection>,
    config: Config,
}

impl fmt::Debug for UpgradeFut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpgradeFut")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl Future for UpgradeFut {
    type Output = Result<UpgradedStream, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let upgraded = ready!(Pin::new(&mut this.on_upgrade).poll(cx)).map_err(io::Error::other)?;
        let Some(mut connection) = this.connection.take() else {
            return Poll::Ready(Err(Error::Io(io::Error::other(
                "UpgradeFut polled after it resolved",
            ))));
        };
        // The bytes hyper read past the request: handed to the connection
        // when we take the stream out of `Upgraded`; otherwise `Upgraded`
        // gives them first.
        let (io, read_past) = UpgradedIo::from_hyper(upgraded);
        connection.handle_input(&read_past);
        Poll::Ready(Ok(WebSocketStream::new(io, connection, &this.config)))
    }
}

impl Error {
    /// The reply to a failed [`upgrade`] of a request of `version`: over HTTP/2
    /// and HTTP/3 (feature `http2`) a handshake error is the core's
    /// [`ExtendedConnectError::to_response`](socketwire::handshake::ExtendedConnectError::to_response)
    /// (a version error is a 400 with `Sec-WebSocket-Version: 13`: HTTP/2 has no
    /// 426, and no `Connection` field); otherwise as
    /// [`to_response`](Error::to_response).
    ///
    /// ```
    /// use socketwire::handshake::HandshakeError;
    /// let error = socketwire_tokio::Error::Handshake(HandshakeError::UnsupportedVersion);
    /// assert_eq!(error.to_response_for(http::Version::HTTP_11).status(), 426);
    /// # #[cfg(feature = "http2")] {
    /// let response = error.to_response_for(http::Version::HTTP_2);
    /// assert_eq!(response.status(), 400);
    /// assert_eq!(response.headers()["sec-websocket-version"], "13");
    /// # }
    /// ```
    #[must_use]
    pub fn to_response_for(&self, version: http::Version) -> UpgradeResponse {
        // Without the `http2` feature every request is answered as HTTP/1.1.
        #[cfg(not(feature = "http2"))]
        let _ = version;
        match self {
            #[cfg(feature = "http2")]
            Error::Handshake(error) if version >= http::Version::HTTP_2 => {
                ExtendedConnectError::Handshake(error.clone())
                    .to_response()
                    .map(|()| Empty::new())
            }
            _ => self.to_response(),
        }
    }

    /// The reply to a failed [`upgrade`] of an HTTP/1.1 request: for
    /// [`Error::Handshake`] the core's
    /// ([`HandshakeError::to_response`](socketwire::handshake::HandshakeError::to_response):
    /// 400, or 426 with `Sec-WebSocket-Version: 13`, and `Connection: close`);
    /// for [`Error::Refused`] its status; for anything else (our own mistake,
    /// such as an invalid header value in the `101`) 500. For a request of any
    /// version, use [`to_response_for`](Error::to_response_for).
    ///
    /// ```
    /// use socketwire::handshake::HandshakeError;
    /// let response = socketwire_tokio::Error::Handshake(HandshakeError::UnsupportedVersion).to_response();
    /// assert_eq!(response.status(), 426);
    /// assert_eq!(response.headers()["sec-websocket-version"], "13");
    /// ```
    #[must_use]
    pub fn to_response(&self) -> UpgradeResponse {
        let mut response = match self {
            Error::Handshake(error) => return error.to_response().map(|()| Empty::new()),
            _ => http::Response::new(Empty::new()),
        };
        *response.status_mut() = match self {
            Error::Refused(status) => *status,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        };
        response
    }
}
