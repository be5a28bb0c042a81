//! The opening handshake on a transport: [`accept_hdr_async_with_config`] for a
//! server, [`client_async_with_config`] for a client, over the core's
//! `RequestParser` / `ServerHandshake` / `ClientHandshake`.

use std::future::Future;
use std::io;

use bytes::{BufMut, BytesMut};
use socketwire::Status;
use socketwire::deflate::AcceptedOffer;
use socketwire::handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, HandshakeError, HandshakeMisuse, HttpVersion,
    RequestHead, RequestParser, ResponseHead, ServerHandshake,
};
use socketwire::ws::{Connection, MaskSource, OsRandomMask, Role};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Config, Connector, Error, MaybeTlsStream, WebSocketStream};

/// The request a server's [`Callback`] sees, and a client sends.
///
/// ```
/// let request: socketwire_tokio::Request =
///     http::Request::builder().uri("ws://example.com/chat").body(()).unwrap();
/// assert_eq!(request.uri().path(), "/chat");
/// ```
pub type Request = http::Request<()>;

/// The `101 Switching Protocols` a [`Callback`] may add headers to; what a
/// client gets back.
///
/// ```
/// let mut response = socketwire_tokio::Response::new(());
/// response.headers_mut().insert("set-cookie", "session=1".parse().unwrap());
/// assert_eq!(response.headers().len(), 1);
/// ```
pub type Response = http::Response<()>;

/// A refusal from a [`Callback`]: its status, headers and body are written.
///
/// ```
/// let mut refusal = socketwire_tokio::ErrorResponse::new(Some("login first".into()));
/// *refusal.status_mut() = http::StatusCode::UNAUTHORIZED;
/// assert_eq!(refusal.status(), 401);
/// ```
pub type ErrorResponse = http::Response<Option<String>>;

/// Looks at an upgrade request on a server: refuse it, or add headers to the
/// `101` (a `Sec-WebSocket-Protocol` header picks the subprotocol; it must be
/// one the client offered). Closures `FnOnce(&Request, Response) ->
/// Result<Response, ErrorResponse>` are callbacks.
///
/// ```
/// use socketwire_tokio::{Callback, ErrorResponse, Request, Response};
/// let callback = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
///     if request.uri().path() != "/chat" {
///         let mut refusal = ErrorResponse::new(Some("no such room".into()));
///         *refusal.status_mut() = http::StatusCode::NOT_FOUND;
///         return Err(refusal);
///     }
///     response.headers_mut().insert("sec-websocket-protocol", "chat".parse().unwrap());
///     Ok(response)
/// };
/// # fn is_callback(_: impl Callback) {}
/// # is_callback(callback);
/// ```
pub trait Callback: Sized {
    /// Judges the request: `Ok` with the response to send, or `Err` with a
    /// refusal.
    ///
    /// ```
    /// use socketwire_tokio::{Callback, Response};
    /// let request = http::Request::builder().uri("/chat").body(()).unwrap();
    /// let check = |request: &http::Request<()>, response: Response| {
    ///     assert_eq!(request.uri().path(), "/chat");
    ///     Ok(response)
    /// };
    /// assert!(check.on_request(&request, Response::new(())).is_ok());
    /// ```
    // The refusal is a whole response, as in tokio-tungstenite; it is built once
    // per refused handshake, so its size does not matter.
    #[allow(clippy::result_large_err)]
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse>;
}

impl<F> Callback for F
where
    F: FnOnce(&Request, Response) -> Result<Response, ErrorResponse>,
{
    #[allow(clippy::result_large_err)]
    fn on_request(self, request: &Request, response: Response) -> Result<Response, ErrorResponse> {
        self(request, response)
    }
}

/// The callback that accepts every request as it is.
///
/// ```
/// use socketwire_tokio::{Callback, NoCallback, Response};
/// let request = http::Request::new(());
/// assert!(NoCallback.on_request(&request, Response::new(())).is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCallback;

impl Callback for NoCallback {
    #[allow(clippy::result_large_err)]
    fn on_request(self, _: &Request, response: Response) -> Result<Response, ErrorResponse> {
        Ok(response)
    }
}

/// Accepts a WebSocket on a server-side transport with the default [`Config`]
/// (no permessage-deflate): reads the request head (bounded, with a timeout),
/// answers `101`, and returns the stream. A bad request is answered with its
/// status (400, 426 with `Sec-WebSocket-Version: 13`, 431) before the error is
/// returned.
///
/// ```no_run
/// # async fn run() -> Result<(), socketwire_tokio::Error> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9002").await?;
/// let (tcp, _) = listener.accept().await?;
/// let ws = socketwire_tokio::accept_async(tcp).await?;
/// # let _ = ws; Ok(()) }
/// ```
pub async fn accept_async<S>(stream: S) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_hdr_async_with_config(stream, NoCallback, Config::default()).await
}

/// [`accept_async`] with a [`Config`] (to enable permessage-deflate, set
/// limits, timers, the write buffer bound).
///
/// ```no_run
/// use socketwire_tokio::{Config, Deflate, accept_async_with_config};
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), socketwire_tokio::Error> {
/// let config = Config { deflate: Deflate::Enabled(Default::default()), ..Config::default() };
/// let ws = accept_async_with_config(tcp, config).await?;
/// # let _ = ws; Ok(()) }
/// ```
pub async fn accept_async_with_config<S>(
    stream: S,
    config: Config,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_hdr_async_with_config(stream, NoCallback, config).await
}

/// [`accept_async`] with a [`Callback`] that sees the request and may refuse it
/// or add headers to the `101`.
///
/// ```no_run
/// use socketwire_tokio::{ErrorResponse, Request, Response, accept_hdr_async};
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), socketwire_tokio::Error> {
/// let ws = accept_hdr_async(tcp, |request: &Request, response: Response| {
///     println!("upgrade to {}", request.uri());
///     Ok::<_, ErrorResponse>(response)
/// })
/// .await?;
/// # let _ = ws; Ok(()) }
/// ```
pub async fn accept_hdr_async<S, C>(stream: S, callback: C) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Callback,
{
    accept_hdr_async_with_config(stream, callback, Config::default()).await
}

/// [`accept_hdr_async`] with a [`Config`].
///
/// ```no_run
/// use socketwire_tokio::{Config, NoCallback, accept_hdr_async_with_config};
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), socketwire_tokio::Error> {
/// let ws = accept_hdr_async_with_config(tcp, NoCallback, Config::default()).await?;
/// # let _ = ws; Ok(()) }
/// ```
pub async fn accept_hdr_async_with_config<S, C>(
    mut stream: S,
    callback: C,
    config: Config,
) -> Result<WebSocketStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Callback,
{
    let conn = within(
        config.handshake_timeout,
        server_handshake(&mut stream, callback, &config),
    )
    .await?;
    Ok(WebSocketStream::new(stream, conn, &config))
}

/// Runs `future` within `timeout`, if there is one.
async fn within<T>(
    timeout: Option<std::time::Duration>,
    future: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match timeout {
        Some(timeout) => tokio::time::timeout(timeout, future)
            .await
            .unwrap_or(Err(Error::HandshakeTimeout)),
        None => future.await,
    }
}

/// Writes a refusal and shuts the transport down (errors ignored: the
/// handshake failed already).
async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, response: &[u8]) {
    let _ = stream.write_all(response).await;
    let _ = stream.shutdown().await;
}

/// Answers a handshake error with its status, and returns it.
async fn refuse_with<S: AsyncWrite + Unpin>(stream: &mut S, error: HandshakeError) -> Error {
    let mut out = BytesMut::new();
    error.write_response(&mut out);
    refuse(stream, &out).await;
    Error::Handshake(error)
}

/// Reads a request head, at most `header_limits` of it.
async fn read_request<S>(stream: &mut S, config: &Config) -> Result<RequestHead, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut parser = RequestParser::with_limits(config.header_limits);
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(Error::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        match parser.handle_input(&buf[..n]) {
            Ok(Status::Complete(head)) => return Ok(head),
            Ok(Status::Partial) => {}
            Err(error) => return Err(refuse_with(stream, error).await),
        }
    }
}

async fn server_handshake<S, C>(
    stream: &mut S,
    callback: C,
    config: &Config,
) -> Result<Connection, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    C: Callback,
{
    let head = read_request(stream, config).await?;
    let handshake = match ServerHandshake::new(head) {
        Ok(handshake) => handshake,
        Err(error) => return Err(refuse_with(stream, error).await),
    };
    let Ok(request) = http_request(handshake.head()) else {
        return Err(refuse_with(stream, HandshakeError::MalformedHttp("header")).await);
    };
    let mut switching = Response::new(());
    *switching.status_mut() = http::StatusCode::SWITCHING_PROTOCOLS;
    let response = match callback.on_request(&request, switching) {
        Ok(response) => response,
        Err(refusal) => {
            let status = refusal.status();
            refuse(stream, &write_refusal(&refusal)).await;
            return Err(Error::Refused(status));
        }
    };
    let answer = match ServerAnswer::new(&handshake, &response, config) {
        Ok(answer) => answer,
        Err(error) => return Err(misuse(stream, error).await),
    };
    let mut out = BytesMut::new();
    if let Err(error) = handshake.write_accept(&answer.options(), &mut out) {
        return Err(misuse(stream, error).await);
    }
    stream.write_all(&out).await?;
    stream.flush().await?;
    let mut conn = answer.into_connection(config);
    conn.handle_input(&handshake.into_leftover());
    Ok(conn)
}

/// How a server answers a validated request, for both forms of the `101` (the
/// bytes [`accept_hdr_async`] writes, the `http::Response` of the hyper
/// upgrade): the subprotocol and extra fields a [`Callback`] (or the upgrade's
/// protocol choice) put in `response`, and permessage-deflate negotiated from
/// the request's offers as [`Config::deflate`] allows.
pub(crate) struct ServerAnswer<'r> {
    protocol: Option<&'r str>,
    headers: Vec<(&'r str, &'r str)>,
    deflate: Option<AcceptedOffer>,
}

impl<'r> ServerAnswer<'r> {
    /// The answer to `handshake`, with the fields of `response`. Fails on a
    /// field value that is not text.
    pub(crate) fn new(
        handshake: &ServerHandshake,
        response: &'r Response,
        config: &Config,
    ) -> Result<ServerAnswer<'r>, HandshakeMisuse> {
        let deflate = config
            .deflate
            .for_role(Role::Server)
            .and_then(|deflate| deflate.accept_offers(&handshake.extensions()));
        let mut protocol = None;
        let mut headers = Vec::new();
        for (name, value) in response.headers() {
            let value = value
                .to_str()
                .map_err(|_| HandshakeMisuse::InvalidHeaderValue)?;
            if name == http::header::SEC_WEBSOCKET_PROTOCOL {
                protocol = Some(value);
            } else if !is_handshake_field(name) {
                headers.push((name.as_str(), value));
            }
        }
        Ok(ServerAnswer {
            protocol,
            headers,
            deflate,
        })
    }

    /// What the core writes the `101` from.
    pub(crate) fn options(&self) -> AcceptOptions<'_> {
        AcceptOptions {
            protocol: self.protocol,
            extensions: self.deflate.as_ref().map(|d| d.response.as_str()),
            headers: &self.headers,
        }
    }

    /// The server connection, with the negotiated extension.
    pub(crate) fn into_connection(self, config: &Config) -> Connection {
        let conn = Connection::server(config.connection_config());
        match self.deflate {
            Some(deflate) => conn.with_extension(config.extension(deflate.extension)),
            None => conn,
        }
    }
}

/// Our own mistake in the `101`: answer 500 and report it.
async fn misuse<S: AsyncWrite + Unpin>(stream: &mut S, error: HandshakeMisuse) -> Error {
    refuse(
        stream,
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    Error::HandshakeMisuse(error)
}

/// Fields the handshake writes itself; a callback's copies are dropped.
fn is_handshake_field(name: &http::HeaderName) -> bool {
    use http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, UPGRADE};
    [
        CONNECTION,
        UPGRADE,
        SEC_WEBSOCKET_ACCEPT,
        SEC_WEBSOCKET_EXTENSIONS,
    ]
    .contains(name)
}

/// The core's request head as an `http::Request<()>`.
fn http_request(head: &RequestHead) -> Result<Request, http::Error> {
    let mut builder = http::Request::builder()
        .method(head.method())
        .uri(head.path())
        .version(http_version(head.version()));
    for (name, value) in head.headers() {
        builder = builder.header(name, value);
    }
    builder.body(())
}

fn http_version(version: HttpVersion) -> http::Version {
    if version == HttpVersion::HTTP_1_0 {
        http::Version::HTTP_10
    } else {
        http::Version::HTTP_11
    }
}

/// A callback's refusal as HTTP/1.1 bytes, with `Content-Length` and
/// `Connection: close`.
fn write_refusal(refusal: &ErrorResponse) -> BytesMut {
    let status = refusal.status();
    let body = refusal.body().as_deref().unwrap_or("");
    let mut out = BytesMut::with_capacity(128 + body.len());
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.put_slice(b"\r\n");
    for (name, value) in refusal.headers() {
        if name == http::header::CONTENT_LENGTH || name == http::header::CONNECTION {
            continue;
        }
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.put_slice(body.as_bytes());
    out
}

/// What a client can connect with: a `ws://host:port/path` URL (`&str`,
/// `String`, [`http::Uri`]) or a whole [`Request`] (to add headers, or offer
/// subprotocols with `Sec-WebSocket-Protocol`).
///
/// ```
/// use socketwire_tokio::IntoClientRequest;
/// let request = "ws://127.0.0.1:9002/chat".into_client_request().unwrap();
/// assert_eq!(request.uri().path(), "/chat");
/// ```
pub trait IntoClientRequest {
    /// The request.
    ///
    /// ```
    /// use socketwire_tokio::IntoClientRequest;
    /// let request = http::Uri::from_static("ws://example.com/").into_client_request().unwrap();
    /// assert_eq!(request.uri().host(), Some("example.com"));
    /// ```
    fn into_client_request(self) -> Result<Request, Error>;
}

impl IntoClientRequest for Request {
    fn into_client_request(self) -> Result<Request, Error> {
        Ok(self)
    }
}

impl IntoClientRequest for http::Uri {
    fn into_client_request(self) -> Result<Request, Error> {
        let mut request = Request::new(());
        *request.uri_mut() = self;
        Ok(request)
    }
}

impl IntoClientRequest for &str {
    fn into_client_request(self) -> Result<Request, Error> {
        self.parse::<http::Uri>()
            .map_err(|_| Error::InvalidUrl("not a URL"))?
            .into_client_request()
    }
}

impl IntoClientRequest for &String {
    fn into_client_request(self) -> Result<Request, Error> {
        self.as_str().into_client_request()
    }
}

impl IntoClientRequest for String {
    fn into_client_request(self) -> Result<Request, Error> {
        self.as_str().into_client_request()
    }
}

/// Connects to a `ws://` URL over TCP, or a `wss://` URL over TLS (feature
/// `rustls`, the Mozilla roots), and runs the client handshake with the default
/// [`Config`] (permessage-deflate offered). Without the `rustls` feature a
/// `wss://` URL fails with [`Error::TlsNotSupported`].
///
/// ```no_run
/// use futures_util::{SinkExt, StreamExt};
/// # async fn run() -> Result<(), socketwire_tokio::Error> {
/// let (mut ws, response) = socketwire_tokio::connect_async("ws://127.0.0.1:9002/").await?;
/// assert_eq!(response.status(), 101);
/// ws.send("hello".into()).await?;
/// let echo = ws.next().await;
/// # let _ = echo; Ok(()) }
/// ```
pub async fn connect_async(
    request: impl IntoClientRequest,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    connect_async_with_config(request, Config::default()).await
}

/// [`connect_async`] with a [`Config`].
///
/// ```no_run
/// use socketwire_tokio::{Config, Deflate, connect_async_with_config};
/// # async fn run() -> Result<(), socketwire_tokio::Error> {
/// let config = Config { deflate: Deflate::Disabled, ..Config::default() };
/// let (ws, _) = connect_async_with_config("ws://127.0.0.1:9002/", config).await?;
/// # let _ = ws; Ok(()) }
/// ```
pub async fn connect_async_with_config(
    request: impl IntoClientRequest,
    config: Config,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    connect_async_tls_with_config(request, config, None).await
}

/// [`connect_async`] with a [`Config`] and the [`Connector`] for `wss://`
/// (`None`: [`Connector::default_for_wss`]). A custom rustls `ClientConfig`
/// brings your own roots, client certificates or ALPN.
///
/// ```no_run
/// use socketwire_tokio::{Config, Connector, connect_async_tls_with_config};
/// # async fn run() -> Result<(), socketwire_tokio::Error> {
/// let connector = Connector::default_for_wss();
/// let (ws, _) =
///     connect_async_tls_with_config("wss://example.com/", Config::default(), Some(connector)).await?;
/// # let _ = ws; Ok(()) }
/// ```
pub async fn connect_async_tls_with_config(
    request: impl IntoClientRequest,
    config: Config,
    connector: Option<Connector>,
) -> Result<(WebSocketStream<MaybeTlsStream<TcpStream>>, Response), Error> {
    let request = request.into_client_request()?;
    let uri = request.uri();
    let tls = Connector::websocket_tls(uri)?;
    let host = uri.host().ok_or(Error::InvalidUrl("no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let connector = Connector::resolve(connector, tls)?;
    // The TCP connect and the TLS handshake count against the handshake timeout too.
    let stream = within(config.handshake_timeout, async {
        let tcp = TcpStream::connect((host, port)).await?;
        tcp.set_nodelay(true)?;
        connector.wrap(tcp, host, tls).await
    })
    .await?;
    client_async_with_config(request, stream, config).await
}

/// Runs the client handshake on a connected transport with the default
/// [`Config`] (permessage-deflate offered): writes the request, reads the
/// response head (bounded, with a timeout) and checks it (RFC 6455 §4.1).
///
/// ```no_run
/// # async fn run() -> Result<(), socketwire_tokio::Error> {
/// let tcp = tokio::net::TcpStream::connect("127.0.0.1:9002").await?;
/// let (ws, response) = socketwire_tokio::client_async("ws://127.0.0.1:9002/chat", tcp).await?;
/// # let _ = (ws, response); Ok(()) }
/// ```
pub async fn client_async<S>(
    request: impl IntoClientRequest,
    stream: S,
) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    client_async_with_config(request, stream, Config::default()).await
}

/// [`client_async`] with a [`Config`].
///
/// ```no_run
/// use socketwire_tokio::{Config, client_async_with_config};
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), socketwire_tokio::Error> {
/// let request = http::Request::builder()
///     .uri("ws://127.0.0.1:9002/chat")
///     .header("sec-websocket-protocol", "chat")
///     .body(())
///     .unwrap();
/// let (ws, response) = client_async_with_config(request, tcp, Config::default()).await?;
/// # let _ = (ws, response); Ok(()) }
/// ```
pub async fn client_async_with_config<S>(
    request: impl IntoClientRequest,
    mut stream: S,
    config: Config,
) -> Result<(WebSocketStream<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let request = request.into_client_request()?;
    let (conn, response) = within(
        config.handshake_timeout,
        client_handshake(&request, &mut stream, &config),
    )
    .await?;
    Ok((WebSocketStream::new(stream, conn, &config), response))
}

async fn client_handshake<S>(
    request: &Request,
    stream: &mut S,
    config: &Config,
) -> Result<(Connection, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let uri = request.uri();
    if !matches!(uri.scheme_str(), Some("ws" | "wss")) {
        return Err(Error::InvalidUrl("the scheme must be ws:// or wss://"));
    }
    let authority = uri.authority().ok_or(Error::InvalidUrl("no host"))?;
    // The Host field is the authority without any user information.
    let host = authority.as_str().rsplit('@').next().unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut protocols = Vec::new();
    let mut headers = Vec::new();
    for (name, value) in request.headers() {
        let value = value
            .to_str()
            .map_err(|_| HandshakeMisuse::InvalidHeaderValue)?;
        if name == http::header::SEC_WEBSOCKET_PROTOCOL {
            protocols.extend(value.split(',').map(str::trim).filter(|p| !p.is_empty()));
        } else if !is_client_handshake_field(name) {
            headers.push((name.as_str(), value));
        }
    }
    let deflate = config.deflate.for_role(Role::Client);
    let offer = deflate.as_ref().and_then(|d| d.client_offer());
    // The nonce comes from the same OS random source as the mask keys.
    let mut nonce = [0u8; 16];
    for chunk in nonce.chunks_exact_mut(4) {
        chunk.copy_from_slice(&OsRandomMask.next_mask());
    }
    let mut handshake = ClientHandshake::new(&ClientRequest {
        protocols: &protocols,
        extensions: offer.as_deref(),
        headers: &headers,
        limits: config.header_limits,
        ..ClientRequest::new(host, path, nonce)
    })?;
    let mut out = BytesMut::new();
    handshake.write_request(&mut out);
    stream.write_all(&out).await?;
    stream.flush().await?;
    let mut buf = [0u8; 4096];
    let accepted = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(Error::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        if let Status::Complete(accepted) = handshake.handle_input(&buf[..n])? {
            break accepted;
        }
    };
    let extension = match &deflate {
        Some(deflate) => deflate.accept_response(&accepted.extensions())?,
        None => None,
    };
    let response = http_response(&accepted.response)
        .map_err(|_| HandshakeError::MalformedHttp("response header"))?;
    let mut conn = Connection::client(config.connection_config(), OsRandomMask);
    if let Some(extension) = extension {
        conn = conn.with_extension(config.extension(extension));
    }
    conn.handle_input(&accepted.leftover);
    Ok((conn, response))
}

/// Fields the client handshake writes itself; a request's copies are dropped.
fn is_client_handshake_field(name: &http::HeaderName) -> bool {
    use http::header::{
        CONNECTION, HOST, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
        UPGRADE,
    };
    [
        CONNECTION,
        HOST,
        UPGRADE,
        SEC_WEBSOCKET_KEY,
        SEC_WEBSOCKET_VERSION,
        SEC_WEBSOCKET_EXTENSIONS,
    ]
    .contains(name)
}

/// The core's response head as an `http::Response<()>`.
fn http_response(head: &ResponseHead) -> Result<Response, http::Error> {
    let mut builder = http::Response::builder()
        .status(head.status())
        .version(http_version(head.version()));
    for (name, value) in head.headers() {
        builder = builder.header(name, value);
    }
    builder.body(())
}
