//! socketwire Engine.IO example client: the sans-IO `ClientSession` driven over
//! real HTTP long-polling (a small HTTP/1.1 client on tokio) and upgraded to
//! WebSocket (`socketwire::handshake` + `socketwire::ws`).
//!
//! ```text
//! cargo run --example engineio_client -- http://127.0.0.1:3000/engine.io/
//!     [--polling-only | --websocket-only] [--eio 3|4] [--binary] [--reconnect]
//! ```
//!
//! It prints `open sid=… transport=…`, then `upgraded to websocket` when the
//! upgrade completes, sends each line of stdin as a text message (as a binary
//! message of the line's bytes with `--binary`), prints every message that
//! arrives (`< text` or `< [N bytes]`) and answers heartbeats. At the end of
//! stdin it closes the session and exits 0. With `--reconnect` it opens a new
//! session after the server goes away, waiting as socket.io-client's backoff
//! says (`reconnecting in N ms`).
//!
//! How the pieces fit, on one task (`tokio::select!` over every source):
//!
//! ```text
//!  stdin line ─────► ClientSession::send_text
//!  GET  response ──► PayloadDecoder ──► ClientSession::handle_packet
//!  POST response ──► ClientSession::handle_post_done
//!  WS message ─────► Packet::decode_* ─► handle_packet (or handle_probe_packet while probing)
//!  timer ──────────► ClientSession::handle_timeout (and the WebSocket's close timer)
//!                       │
//!                       ├─► poll_event     Open / Message / Upgraded / Closed → print
//!                       └─► poll_transmit  Post → a POST; WebSocket / Probe → a WS message;
//!                                          CloseTransport → WS close
//! ```
//!
//! The upgrade follows the reference client: once the probe WebSocket answers
//! `3probe`, polling is paused (no new GET) and the answer is handed to the
//! session only after the GET and POST in flight have returned, so no packet
//! still travelling on polling is lost and the reference server never sees
//! `5` while a GET is parked (it would answer that GET with `close`).

#[path = "shared/random.rs"]
mod random;
#[path = "shared/url.rs"]
mod url;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use random::Random;
use socketwire::Status;
use socketwire::engineio::{
    Backoff, ClientEvent, ClientSession, ClientTransmit, ClientTransport, CloseReason,
    EngineIoVersion, MessageData, MessageKind, Packet, PayloadDecoder, PayloadFormat,
    PayloadLimits,
};
use socketwire::handshake::{ClientHandshake, ClientRequest};
use socketwire::ws::{CloseCode, Config, Connection, Event};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines, Stdin};
use tokio::net::TcpStream;

const USAGE: &str = "usage: engineio_client http://HOST:PORT/PATH/ \
[--polling-only | --websocket-only] [--eio 3|4] [--binary] [--reconnect]";

/// The largest HTTP response head and body this client reads.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 << 20;

/// Which transports to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transports {
    /// Open on polling, upgrade to WebSocket when the server offers it.
    Upgrade,
    /// Stay on polling.
    PollingOnly,
    /// Open directly on WebSocket.
    WebSocketOnly,
}

/// Command-line options.
#[derive(Debug, Clone)]
struct Options {
    endpoint: Endpoint,
    transports: Transports,
    version: EngineIoVersion,
    binary: bool,
    reconnect: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut url = None;
    let mut transports = Transports::Upgrade;
    let mut version = EngineIoVersion::V4;
    let mut binary = false;
    let mut reconnect = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--polling-only" => transports = Transports::PollingOnly,
            "--websocket-only" => transports = Transports::WebSocketOnly,
            "--eio" => {
                version = match args.next().as_deref() {
                    Some("3") => EngineIoVersion::V3,
                    Some("4") => EngineIoVersion::V4,
                    _ => return Err("--eio needs 3 or 4".into()),
                }
            }
            "--binary" => binary = true,
            "--reconnect" => reconnect = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other if other.starts_with('-') => return Err(format!("unknown flag {other:?}")),
            other if url.is_none() => url = Some(other.to_string()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let url = url.ok_or("missing the server URL")?;
    Ok(Options {
        endpoint: Endpoint::parse(&url)?,
        transports,
        version,
        binary,
        reconnect,
    })
}

/// Where the Engine.IO server lives: `http://HOST[:PORT]/PATH`.
#[derive(Debug, Clone)]
struct Endpoint {
    /// `host:port` to connect to.
    addr: String,
    /// The `Host` header value.
    host: String,
    /// The Engine.IO path, e.g. `/engine.io/`.
    path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Endpoint, String> {
        let (addr, host, path) = url::split(url, "http", "/engine.io/")?;
        Ok(Endpoint { addr, host, path })
    }

    /// The request target for an Engine.IO query string.
    fn target(&self, query: &str) -> String {
        let separator = if self.path.contains('?') { '&' } else { '?' };
        format!("{}{separator}{query}", self.path)
    }
}

/// A uniform sample in `[0, 1)` (32 random bits).
fn next_unit(random: &mut Random) -> f64 {
    let high = u32::try_from(random.next_u64() >> 32).unwrap_or(0);
    f64::from(high) / 4_294_967_296.0
}

// ------------------------------------------------------------------ HTTP/1.1

/// One HTTP response, body read whole.
#[derive(Debug)]
struct HttpResponse {
    status: u16,
    content_type: String,
    body: Bytes,
    /// The server keeps the connection open for another request.
    keep_alive: bool,
}

/// A keep-alive HTTP/1.1 connection carrying one request at a time.
struct HttpConnection {
    stream: TcpStream,
    buffer: BytesMut,
    /// Whether any byte of the current response arrived: a reused connection that
    /// fails before that was closed by the server while idle, and the request is
    /// safe to retry on a fresh one.
    response_started: bool,
}

fn invalid(message: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.into())
}

impl HttpConnection {
    async fn connect(addr: &str) -> std::io::Result<HttpConnection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(HttpConnection {
            stream,
            buffer: BytesMut::with_capacity(8192),
            response_started: false,
        })
    }

    /// Sends a request (with `Content-Length` when there is a body) and reads
    /// the whole response.
    async fn request(
        &mut self,
        method: &str,
        host: &str,
        target: &str,
        body: &[u8],
    ) -> std::io::Result<HttpResponse> {
        self.response_started = false;
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n");
        if method == "POST" {
            head.push_str("Content-Type: text/plain;charset=UTF-8\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut request = Vec::with_capacity(head.len() + body.len());
        request.extend_from_slice(head.as_bytes());
        request.extend_from_slice(body);
        self.stream.write_all(&request).await?;
        self.read_response(method == "HEAD").await
    }

    /// Reads into the buffer; EOF is an error here (a response is incomplete).
    async fn fill(&mut self) -> std::io::Result<()> {
        if self.stream.read_buf(&mut self.buffer).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.response_started = true;
        Ok(())
    }

    async fn read_response(&mut self, no_body: bool) -> std::io::Result<HttpResponse> {
        let (status, content_type, length, chunked, keep_alive, head_len) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buffer) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let status = response.code.unwrap_or(0);
                    let mut content_type = String::new();
                    let mut length = None;
                    let mut chunked = false;
                    // HTTP/1.1 defaults to keep-alive, HTTP/1.0 to close.
                    let mut keep_alive = response.version == Some(1);
                    for header in response.headers.iter() {
                        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
                        if header.name.eq_ignore_ascii_case("content-type") {
                            content_type = value.to_string();
                        } else if header.name.eq_ignore_ascii_case("content-length") {
                            let n: usize =
                                value.parse().map_err(|_| invalid("bad Content-Length"))?;
                            length = Some(n);
                        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                            chunked = value.to_ascii_lowercase().ends_with("chunked");
                        } else if header.name.eq_ignore_ascii_case("connection") {
                            let value = value.to_ascii_lowercase();
                            keep_alive = !value.contains("close")
                                && (keep_alive || value.contains("keep-alive"));
                        }
                    }
                    break (status, content_type, length, chunked, keep_alive, head_len);
                }
                Ok(httparse::Status::Partial) if self.buffer.len() < MAX_HEAD => {
                    self.fill().await?
                }
                Ok(httparse::Status::Partial) => return Err(invalid("response head too large")),
                Err(e) => return Err(invalid(format!("bad response head: {e}"))),
            }
        };
        let _ = self.buffer.split_to(head_len);
        let (body, keep_alive) = if no_body || status == 204 || status == 304 {
            (Bytes::new(), keep_alive)
        } else if chunked {
            (self.read_chunked().await?, keep_alive)
        } else if let Some(length) = length {
            if length > MAX_BODY {
                return Err(invalid(format!(
                    "response body of {length} bytes is too large"
                )));
            }
            while self.buffer.len() < length {
                self.buffer.reserve(length - self.buffer.len());
                self.fill().await?;
            }
            (self.buffer.split_to(length).freeze(), keep_alive)
        } else {
            // No length: the body runs to the end of the connection.
            loop {
                if self.buffer.len() > MAX_BODY {
                    return Err(invalid("response body too large"));
                }
                if self.stream.read_buf(&mut self.buffer).await? == 0 {
                    break;
                }
            }
            (self.buffer.split().freeze(), false)
        };
        Ok(HttpResponse {
            status,
            content_type,
            body,
            keep_alive,
        })
    }

    /// Reads a `Transfer-Encoding: chunked` body (trailers are skipped).
    async fn read_chunked(&mut self) -> std::io::Result<Bytes> {
        let mut body = BytesMut::new();
        loop {
            let (size_len, size) = loop {
                match httparse::parse_chunk_size(&self.buffer) {
                    Ok(httparse::Status::Complete(found)) => break found,
                    Ok(httparse::Status::Partial) if self.buffer.len() < MAX_HEAD => {
                        self.fill().await?;
                    }
                    _ => return Err(invalid("bad chunk size line")),
                }
            };
            let size = usize::try_from(size)
                .ok()
                .filter(|size| body.len().saturating_add(*size) <= MAX_BODY)
                .ok_or_else(|| invalid("chunked body too large"))?;
            if size == 0 {
                let _ = self.buffer.split_to(size_len);
                // Trailer fields, then the empty line.
                loop {
                    if let Some(end) = self.buffer.windows(2).position(|w| w == b"\r\n") {
                        let _ = self.buffer.split_to(end + 2);
                        if end == 0 {
                            return Ok(body.freeze());
                        }
                    } else if self.buffer.len() < MAX_HEAD {
                        self.fill().await?;
                    } else {
                        return Err(invalid("chunked trailer too large"));
                    }
                }
            }
            while self.buffer.len() < size_len + size + 2 {
                self.fill().await?;
            }
            let _ = self.buffer.split_to(size_len);
            body.extend_from_slice(&self.buffer.split_to(size));
            if &self.buffer[..2] != b"\r\n" {
                return Err(invalid("chunk not followed by CRLF"));
            }
            let _ = self.buffer.split_to(2);
        }
    }
}

/// A request in flight; it gives the connection back with the response.
type PendingRequest = Pending<std::io::Result<(HttpConnection, HttpResponse)>>;

/// A boxed future kept across loop iterations (so it is never cancelled).
type Pending<T> = Pin<Box<dyn Future<Output = T>>>;

/// Starts a request on `idle` (retrying once on a fresh connection if the idle
/// one turns out to be closed) or on a new connection.
fn start_request(
    endpoint: &Endpoint,
    idle: Option<HttpConnection>,
    method: &'static str,
    target: String,
    body: Bytes,
) -> PendingRequest {
    let (addr, host) = (endpoint.addr.clone(), endpoint.host.clone());
    Box::pin(async move {
        if let Some(mut conn) = idle {
            match conn.request(method, &host, &target, &body).await {
                Ok(response) => return Ok((conn, response)),
                Err(e) if conn.response_started => return Err(e),
                Err(_) => {} // closed while idle: retry on a new connection
            }
        }
        let mut conn = HttpConnection::connect(&addr).await?;
        let response = conn.request(method, &host, &target, &body).await?;
        Ok((conn, response))
    })
}

/// Waits for the future in `slot`, or forever if there is none.
async fn in_flight<T>(slot: &mut Option<Pending<T>>) -> T {
    match slot {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

// ----------------------------------------------------------------- WebSocket

/// A WebSocket: the TCP stream and the sans-IO connection.
struct WebSocket {
    stream: TcpStream,
    conn: Connection,
    out: BytesMut,
}

impl WebSocket {
    /// Connects and runs the opening handshake for `target`.
    async fn connect(
        endpoint: Endpoint,
        target: String,
        random: &mut Random,
    ) -> Result<WebSocket, Box<dyn std::error::Error>> {
        let mut stream = TcpStream::connect(&endpoint.addr).await?;
        stream.set_nodelay(true)?;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&random.next_u64().to_le_bytes());
        nonce[8..].copy_from_slice(&random.next_u64().to_le_bytes());
        let mut handshake =
            ClientHandshake::new(&ClientRequest::new(&endpoint.host, &target, nonce))?;
        let mut out = BytesMut::new();
        handshake.write_request(&mut out);
        stream.write_all(&out).await?;
        let mut buf = BytesMut::with_capacity(4096);
        let accepted = loop {
            buf.clear();
            if stream.read_buf(&mut buf).await? == 0 {
                return Err("connection closed during the WebSocket handshake".into());
            }
            match handshake.handle_input(&buf)? {
                Status::Complete(accepted) => break accepted,
                Status::Partial => continue,
            }
        };
        let mut masks = Random::new();
        let mut conn = Connection::client(Config::default(), move || {
            let r = masks.next_u64().to_le_bytes();
            [r[0], r[1], r[2], r[3]]
        });
        conn.handle_input(&accepted.leftover);
        Ok(WebSocket {
            stream,
            conn,
            out: BytesMut::new(),
        })
    }

    /// Sends one Engine.IO packet as a WebSocket message.
    fn send(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
        match kind {
            MessageKind::Text => self.conn.send_text(std::str::from_utf8(data)?)?,
            MessageKind::Binary => self.conn.send_binary(data)?,
        }
        Ok(())
    }

    /// Writes what the connection queued.
    async fn flush(&mut self) -> std::io::Result<()> {
        if self.conn.poll_transmit(&mut self.out) > 0 {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }
}

/// Reads from the WebSocket in `slot` into its connection, or waits forever.
async fn read_websocket(slot: &mut Option<WebSocket>) -> std::io::Result<usize> {
    match slot {
        Some(ws) => {
            let input = ws.conn.input_buffer();
            input.reserve(16 * 1024);
            ws.stream.read_buf(input).await
        }
        None => std::future::pending().await,
    }
}

// ------------------------------------------------------------------- session

/// How one session ended.
enum Outcome {
    /// Stdin ended and the session was closed cleanly.
    Finished,
    /// The server went away or closed the session.
    Lost {
        /// Why.
        reason: String,
        /// Whether the session had opened (resets the backoff).
        opened: bool,
    },
}

/// One Engine.IO session and the transports under it.
struct Client<'a> {
    options: &'a Options,
    session: ClientSession,
    origin: Instant,
    random: Random,
    /// Idle keep-alive connections for the long-poll GETs and for POSTs.
    get_connection: Option<HttpConnection>,
    post_connection: Option<HttpConnection>,
    /// Requests in flight: at most one GET and one POST.
    get: Option<PendingRequest>,
    post: Option<PendingRequest>,
    /// The handshake GET was sent (only one GET before the session opens).
    handshake_sent: bool,
    /// A WebSocket being opened for the upgrade.
    connecting: Option<Pending<Result<WebSocket, String>>>,
    /// The session's WebSocket: being probed while the session is on polling,
    /// the active transport after the upgrade (or from the start).
    websocket: Option<WebSocket>,
    /// `3probe` arrived; polling is paused until the GET and POST in flight return.
    probe_answered: bool,
    opened: bool,
    /// Stdin ended before the session opened: close right after the open.
    close_on_open: bool,
    /// The session is over (our close or the server's).
    closed: Option<CloseReason>,
    /// Reusable buffer for `poll_transmit`.
    out: BytesMut,
}

impl<'a> Client<'a> {
    fn new(options: &'a Options, origin: Instant) -> Client<'a> {
        let transport = match options.transports {
            Transports::WebSocketOnly => ClientTransport::WebSocket,
            _ => ClientTransport::Polling,
        };
        Client {
            options,
            session: ClientSession::new(options.version, transport),
            origin,
            random: Random::new(),
            get_connection: None,
            post_connection: None,
            get: None,
            post: None,
            handshake_sent: false,
            connecting: None,
            websocket: None,
            probe_answered: false,
            opened: false,
            close_on_open: false,
            closed: None,
            out: BytesMut::new(),
        }
    }

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn lost(&self, reason: impl Into<String>) -> Outcome {
        Outcome::Lost {
            reason: reason.into(),
            opened: self.opened,
        }
    }

    /// Runs the session until stdin ends (clean close) or the session is lost.
    async fn run(&mut self, stdin: &mut Lines<BufReader<Stdin>>, stdin_open: &mut bool) -> Outcome {
        if self.session.transport() == ClientTransport::WebSocket {
            let target = self
                .options
                .endpoint
                .target(&self.session.query(ClientTransport::WebSocket));
            match WebSocket::connect(self.options.endpoint.clone(), target, &mut self.random).await
            {
                Ok(ws) => self.websocket = Some(ws),
                Err(e) => return self.lost(format!("websocket: {e}")),
            }
        }
        loop {
            if let Err(e) = self.drive().await {
                self.session.handle_transport_error();
                if self.closed.is_none() {
                    return self.lost(e.to_string());
                }
                // Failed while closing: the socket is gone, nothing more to flush.
                self.websocket = None;
            }
            if let Some(outcome) = self.finished() {
                return outcome;
            }
            let deadline = [
                self.session.poll_timeout(),
                self.websocket
                    .as_ref()
                    .and_then(|ws| ws.conn.poll_timeout()),
            ]
            .into_iter()
            .flatten()
            .min();
            let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(
                self.origin + deadline.unwrap_or_default(),
            ));
            tokio::select! {
                result = in_flight(&mut self.get) => {
                    self.get = None;
                    self.on_get(result);
                }
                result = in_flight(&mut self.post) => {
                    self.post = None;
                    self.on_post(result);
                }
                result = in_flight(&mut self.connecting) => {
                    self.connecting = None;
                    self.on_websocket_connected(result);
                }
                read = read_websocket(&mut self.websocket) => match read {
                    Ok(0) | Err(_) => {
                        if let Some(ws) = &mut self.websocket {
                            ws.conn.handle_eof();
                        }
                    }
                    Ok(_) => {}
                },
                line = stdin.next_line(), if *stdin_open && self.closed.is_none() => match line {
                    Ok(Some(line)) => {
                        let sent = if self.options.binary {
                            self.session.send_binary(Bytes::from(line.into_bytes()))
                        } else {
                            self.session.send_text(&line)
                        };
                        if let Err(e) = sent {
                            eprintln!("engineio_client: {e}");
                        }
                    }
                    Ok(None) | Err(_) => {
                        *stdin_open = false;
                        if self.opened {
                            self.session.close();
                        } else {
                            // Send what was typed first: close once the session opens.
                            self.close_on_open = true;
                        }
                    }
                },
                () = sleep, if deadline.is_some() => {
                    let now = self.now();
                    self.session.handle_timeout(now);
                    if let Some(ws) = &mut self.websocket {
                        ws.conn.handle_timeout(now);
                    }
                }
            }
        }
    }

    /// After every input: WebSocket events, the held probe answer, session
    /// events, transmissions, and the next long-poll GET.
    async fn drive(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        self.websocket_events().await?;
        // Pause polling for the upgrade: hand `3probe` over once polling is idle.
        if self.probe_answered && self.get.is_none() && self.post.is_none() {
            self.probe_answered = false;
            self.session.handle_probe_packet(Packet::Pong("probe"));
        }
        self.session_events();
        self.transmit()?;
        if let Some(ws) = &mut self.websocket {
            ws.flush().await?;
        }
        let polling = self.session.transport() == ClientTransport::Polling
            && self.options.transports != Transports::WebSocketOnly;
        if polling
            && self.get.is_none()
            && self.closed.is_none()
            && !self.probe_answered
            && (self.opened || !self.handshake_sent)
        {
            self.handshake_sent = true;
            let target = self
                .options
                .endpoint
                .target(&self.session.query(ClientTransport::Polling));
            self.get = Some(start_request(
                &self.options.endpoint,
                self.get_connection.take(),
                "GET",
                target,
                Bytes::new(),
            ));
        }
        Ok(())
    }

    /// Hands WebSocket messages to the session (or to the probe) and handles
    /// the socket's end.
    async fn websocket_events(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        let Some(ws) = &mut self.websocket else {
            return Ok(());
        };
        let version = self.session.version();
        let now = self.origin.elapsed();
        let active = self.session.transport() == ClientTransport::WebSocket;
        while let Some(event) = ws.conn.poll_event() {
            let decoded = match &event {
                Event::Text(text) => Packet::decode_text(text, version),
                Event::Binary(data) => Packet::decode_binary(data, version),
                Event::Closed { .. } => {
                    ws.flush().await?;
                    self.websocket = None;
                    if active {
                        self.session.handle_transport_error();
                    } else {
                        // The probe socket died: the upgrade is off, polling goes on.
                        self.probe_answered = false;
                        self.session.handle_probe_packet(Packet::Close);
                    }
                    return Ok(());
                }
                _ => continue,
            };
            let packet = match decoded {
                Ok(packet) => packet,
                Err(e) => {
                    eprintln!("engineio_client: bad packet on websocket: {e}");
                    self.session.handle_transport_error();
                    continue;
                }
            };
            if active {
                // An undecodable open packet ends the session (reported as an event).
                let _ = self.session.handle_packet(packet, now);
            } else if packet == Packet::Pong("probe") {
                self.probe_answered = true;
            } else {
                self.session.handle_probe_packet(packet);
                self.websocket = None;
                return Ok(());
            }
        }
        Ok(())
    }

    /// Prints what the session reports and starts the upgrade when it can.
    fn session_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                ClientEvent::Open(open) => {
                    self.opened = true;
                    println!(
                        "open sid={} transport={}",
                        open.sid,
                        self.session.transport().query_value()
                    );
                    if self.close_on_open {
                        self.session.close();
                    } else if self.options.transports == Transports::Upgrade
                        && self.session.can_upgrade()
                    {
                        let target = self
                            .options
                            .endpoint
                            .target(&self.session.query(ClientTransport::WebSocket));
                        let endpoint = self.options.endpoint.clone();
                        let mut random = Random::new();
                        self.connecting = Some(Box::pin(async move {
                            WebSocket::connect(endpoint, target, &mut random)
                                .await
                                .map_err(|e| e.to_string())
                        }));
                    }
                }
                ClientEvent::Message(MessageData::Text(text)) => println!("< {text}"),
                ClientEvent::Message(MessageData::Binary(data)) => {
                    println!("< [{} bytes]", data.len());
                }
                ClientEvent::Upgraded => println!("upgraded to websocket"),
                ClientEvent::Closed(reason) => self.closed = Some(reason),
                _ => {}
            }
        }
    }

    /// Sends everything the session has queued.
    fn transmit(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        while let Some(transmit) = self.session.poll_transmit(&mut self.out) {
            let data = self.out.split().freeze();
            match transmit {
                ClientTransmit::Post => {
                    let target = self
                        .options
                        .endpoint
                        .target(&self.session.query(ClientTransport::Polling));
                    self.post = Some(start_request(
                        &self.options.endpoint,
                        self.post_connection.take(),
                        "POST",
                        target,
                        data,
                    ));
                }
                ClientTransmit::WebSocket(kind) | ClientTransmit::Probe(kind) => {
                    if let Some(ws) = &mut self.websocket {
                        ws.send(kind, &data)?;
                    }
                }
                ClientTransmit::CloseTransport => {
                    if let Some(ws) = &mut self.websocket {
                        ws.conn.close(CloseCode::NORMAL, "")?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A long-poll GET (or the handshake GET) returned.
    fn on_get(&mut self, result: std::io::Result<(HttpConnection, HttpResponse)>) {
        let response = match result {
            Ok((conn, response)) => {
                if response.keep_alive {
                    self.get_connection = Some(conn);
                }
                response
            }
            Err(e) => {
                eprintln!("engineio_client: GET failed: {e}");
                self.session.handle_transport_error();
                return;
            }
        };
        if self.session.transport() == ClientTransport::WebSocket {
            // The last GET of an upgraded session (a noop, or a close the
            // reference server writes to a GET it discards): polling is over.
            return;
        }
        if response.status != 200 {
            eprintln!(
                "engineio_client: GET answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            );
            self.session.handle_transport_error();
            return;
        }
        let format = if response
            .content_type
            .starts_with("application/octet-stream")
        {
            PayloadFormat::V3Binary
        } else {
            PayloadFormat::text(self.session.version())
        };
        let limits = PayloadLimits {
            max_payload: MAX_BODY,
            max_packets: usize::MAX,
        };
        let now = self.now();
        for packet in PayloadDecoder::new(&response.body, format, limits) {
            match packet {
                Ok(packet) => {
                    if self.session.handle_packet(packet, now).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    eprintln!("engineio_client: bad payload: {e}");
                    self.session.handle_transport_error();
                    break;
                }
            }
        }
    }

    /// A POST returned.
    fn on_post(&mut self, result: std::io::Result<(HttpConnection, HttpResponse)>) {
        match result {
            Ok((conn, response)) if response.status == 200 => {
                if response.keep_alive {
                    self.post_connection = Some(conn);
                }
                self.session.handle_post_done();
            }
            Ok((_, response)) => {
                eprintln!("engineio_client: POST answered {}", response.status);
                self.session.handle_transport_error();
            }
            Err(e) => {
                eprintln!("engineio_client: POST failed: {e}");
                self.session.handle_transport_error();
            }
        }
    }

    /// The upgrade's WebSocket is open (or failed): start probing.
    fn on_websocket_connected(&mut self, result: Result<WebSocket, String>) {
        match result {
            Ok(ws) if self.session.can_upgrade() && self.websocket.is_none() => {
                self.websocket = Some(ws);
                // `can_upgrade` was checked: this cannot fail.
                let _ = self.session.start_upgrade();
            }
            Ok(_) => {} // the session moved on; drop the socket
            Err(e) => eprintln!("engineio_client: upgrade failed, staying on polling: {e}"),
        }
    }

    /// Whether the session is done: closed, and everything sent.
    fn finished(&mut self) -> Option<Outcome> {
        let reason = self.closed?;
        if reason != CloseReason::ForcedClose {
            return Some(self.lost(reason.as_str()));
        }
        // Our close: wait for the last POST and the WebSocket close handshake.
        let done = self.post.is_none() && self.websocket.is_none();
        done.then_some(Outcome::Finished)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("engineio_client: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let origin = Instant::now();
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut backoff = Backoff::socket_io_default();
    let mut random = Random::new();
    loop {
        let outcome = Client::new(&options, origin)
            .run(&mut stdin, &mut stdin_open)
            .await;
        match outcome {
            Outcome::Finished => return,
            Outcome::Lost { reason, opened } => {
                eprintln!("engineio_client: session lost: {reason}");
                if !options.reconnect || !stdin_open {
                    std::process::exit(1);
                }
                if opened {
                    backoff.reset();
                }
                let Some(delay) = backoff.next_delay(next_unit(&mut random)) else {
                    std::process::exit(1);
                };
                println!("reconnecting in {} ms", delay.as_millis());
                tokio::time::sleep(delay).await;
            }
        }
    }
}
