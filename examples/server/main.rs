//! socketwire example server: WebSocket echo and chat, a browser chat page, an
//! Engine.IO echo server.
//!
//! ```text
//! cargo run --release --example server -- [--addr 127.0.0.1:3000] [--no-deflate]
//!     [--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES] [--allow-eio3]
//! ```
//!
//! Routes: `/echo` (WebSocket echo), `/chat` (WebSocket chat room: every message
//! goes to every `/chat` client), `/` (an HTML chat page using `/chat`),
//! `/engine.io/` (Engine.IO echo: every message, text or binary, is sent back),
//! `/socket.io/` (Socket.IO: echo, acks, namespaces, rooms, broadcast; see socketio.rs).

#![allow(missing_docs, unreachable_pub)]

mod engineio;
mod http;
mod socketio;
mod websocket;

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

/// Command-line options.
#[derive(Debug, Clone)]
pub struct Options {
    pub addr: String,
    pub deflate: bool,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub max_payload: usize,
    pub connect_timeout_ms: u64,
    pub allow_eio3: bool,
}

const USAGE: &str = "usage: server [--addr HOST:PORT] [--no-deflate] [--ping-interval MS] \
[--ping-timeout MS] [--max-payload BYTES] [--connect-timeout MS] [--allow-eio3]";

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    value
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{flag} needs a number"))
}

fn parse_args() -> Result<Options, String> {
    let mut opts = Options {
        addr: "127.0.0.1:3000".into(),
        deflate: true,
        ping_interval_ms: 25_000,
        ping_timeout_ms: 20_000,
        max_payload: 1_000_000,
        connect_timeout_ms: 45_000,
        allow_eio3: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => opts.addr = args.next().ok_or("--addr needs a value")?,
            "--no-deflate" => opts.deflate = false,
            "--ping-interval" => opts.ping_interval_ms = number(&arg, args.next())?,
            "--ping-timeout" => opts.ping_timeout_ms = number(&arg, args.next())?,
            "--max-payload" => opts.max_payload = number(&arg, args.next())?,
            "--connect-timeout" => opts.connect_timeout_ms = number(&arg, args.next())?,
            "--allow-eio3" => opts.allow_eio3 = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(opts)
}

/// State shared by all connections.
pub struct Shared {
    pub options: Options,
    pub chat: tokio::sync::broadcast::Sender<websocket::Outgoing>,
    pub engineio: Arc<engineio::EngineIo>,
    pub socketio: Arc<engineio::EngineIo>,
}

impl Options {
    pub fn engineio_config(&self) -> socketwire::engineio::ServerConfig {
        socketwire::engineio::ServerConfig {
            ping_interval: std::time::Duration::from_millis(self.ping_interval_ms),
            ping_timeout: std::time::Duration::from_millis(self.ping_timeout_ms),
            max_payload: self.max_payload,
            allow_eio3: self.allow_eio3,
            ..Default::default()
        }
    }
}

#[tokio::main]
async fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("server: {e}");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(&options.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("server: cannot listen on {}: {e}", options.addr);
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().expect("local address");
    println!("socketwire example server listening on {addr}");
    println!("  chat page:          http://{addr}/");
    println!("  WebSocket echo:     ws://{addr}/echo");
    println!("  WebSocket chat:     ws://{addr}/chat");
    println!("  Engine.IO echo:     http://{addr}/engine.io/");
    println!("  Socket.IO:          http://{addr}/socket.io/");
    let (chat, _) = tokio::sync::broadcast::channel(1024);
    let engineio = engineio::EngineIo::new(
        options.engineio_config(),
        Box::new(|_, _, _| Box::new(engineio::Echo)),
    );
    let rooms = socketio::Rooms::new(std::time::Duration::from_millis(options.connect_timeout_ms));
    let socketio = engineio::EngineIo::new(
        options.engineio_config(),
        Box::new(move |session, wake, now| rooms.new_app(session, wake, now)),
    );
    let shared = Arc::new(Shared {
        options,
        chat,
        engineio,
        socketio,
    });
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("server: accept: {e}");
                continue;
            }
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(stream, shared).await
                && e.kind() != std::io::ErrorKind::ConnectionReset
            {
                eprintln!("server: connection: {e}");
            }
        });
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut conn = http::RequestStream::new(stream);
    loop {
        let Some(request) = conn.next(http::MAX_BODY).await? else {
            return Ok(());
        };
        let path = request
            .head
            .path()
            .split('?')
            .next()
            .unwrap_or("")
            .to_string();
        match path.as_str() {
            "/echo" | "/chat" => return websocket::serve(conn, request.head, &path, shared).await,
            "/engine.io/" | "/engine.io" | "/socket.io/" | "/socket.io" => {
                let endpoint = if path.starts_with("/engine.io") {
                    shared.engineio.clone()
                } else {
                    shared.socketio.clone()
                };
                match endpoint.handle(conn, request, &shared).await? {
                    Some(c) => conn = c,
                    None => return Ok(()),
                }
            }
            "/" | "/index.html" => {
                let page = CHAT_PAGE.as_bytes();
                http::write_response(&mut conn.stream, 200, "text/html; charset=utf-8", page)
                    .await?
            }
            _ => http::write_response(&mut conn.stream, 404, "text/plain", b"not found\n").await?,
        }
    }
}

const CHAT_PAGE: &str = include_str!("chat.html");
