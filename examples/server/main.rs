//! socketwire example server: WebSocket echo and chat, a browser chat page.
//!
//! ```text
//! cargo run --release --example server -- [--addr 127.0.0.1:3000] [--no-deflate]
//! ```
//!
//! Routes: `/echo` (WebSocket echo), `/chat` (WebSocket chat room: every message
//! goes to every `/chat` client), `/` (an HTML chat page using `/chat`).

#![allow(missing_docs, unreachable_pub)]

mod http;
mod websocket;

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

/// Command-line options.
#[derive(Debug, Clone)]
pub struct Options {
    pub addr: String,
    pub deflate: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut opts = Options {
        addr: "127.0.0.1:3000".into(),
        deflate: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => opts.addr = args.next().ok_or("--addr needs a value")?,
            "--no-deflate" => opts.deflate = false,
            "-h" | "--help" => {
                println!("usage: server [--addr HOST:PORT] [--no-deflate]");
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
    pub chat: tokio::sync::broadcast::Sender<websocket::ChatMessage>,
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
    let (chat, _) = tokio::sync::broadcast::channel(1024);
    let shared = Arc::new(Shared { options, chat });
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
            if let Err(e) = serve(stream, shared).await {
                if e.kind() != std::io::ErrorKind::ConnectionReset {
                    eprintln!("server: connection: {e}");
                }
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
            "/echo" | "/chat" => return websocket::serve(conn, request, &path, shared).await,
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
