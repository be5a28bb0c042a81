//! socketwire example client: connects to a `ws://` URL, sends each line of stdin as
//! a text message and prints every message that arrives.
//!
//! ```text
//! cargo run --example client -- ws://127.0.0.1:3000/echo
//! ```
//!
//! At the end of stdin it closes with 1000 and waits for the server's close.
//!
//! With `--autobahn URL` it is instead the testee of Autobahn|Testsuite's
//! fuzzingserver: it runs every case the server has, echoing each message, and
//! asks the server to write its reports (see `autobahn.rs`).
//!
//! ```text
//! cargo run --release --example client -- --autobahn ws://127.0.0.1:9001
//! ```

mod autobahn;
#[path = "../shared/random.rs"]
mod random;
#[path = "../shared/url.rs"]
mod url;

use bytes::BytesMut;
use random::Random;
use socketwire::Status;
use socketwire::deflate::DeflateConfig;
use socketwire::handshake::{ClientHandshake, ClientRequest};
use socketwire::ws::{CloseCode, Config, Connection, Event};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn parse_url(url: &str) -> Result<(String, String, String), String> {
    url::split(url, "ws", "/")
}

type Error = Box<dyn std::error::Error>;

/// An open WebSocket connection: the socket and the sans-IO connection over it.
struct Connected {
    stream: TcpStream,
    conn: Connection,
    /// The permessage-deflate parameters in force, as a header value, if negotiated.
    extension: Option<String>,
}

/// Connects to `url` and runs the opening handshake. With `deflate`, offers the
/// given `Sec-WebSocket-Extensions` value and checks the server's answer against
/// the config; the extension it returns is installed on the connection.
async fn connect(
    url: &str,
    config: Config,
    deflate: Option<(&str, &DeflateConfig)>,
) -> Result<Connected, Error> {
    let (addr, host, path) = parse_url(url)?;
    let mut stream = TcpStream::connect(&addr).await?;
    stream.set_nodelay(true)?;
    let mut random = Random::new();
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&random.next_u64().to_le_bytes());
    nonce[8..].copy_from_slice(&random.next_u64().to_le_bytes());

    // Opening handshake.
    let mut request = ClientRequest::new(&host, &path, nonce);
    request.extensions = deflate.map(|(offer, _)| offer);
    let mut handshake = ClientHandshake::new(&request)?;
    let mut out = BytesMut::new();
    handshake.write_request(&mut out);
    stream.write_all(&out).await?;
    let mut buf = BytesMut::with_capacity(4096);
    let accepted = loop {
        buf.clear();
        if stream.read_buf(&mut buf).await? == 0 {
            return Err("connection closed during the handshake".into());
        }
        match handshake.handle_input(&buf)? {
            Status::Complete(accepted) => break accepted,
            Status::Partial => continue,
        }
    };
    let conn = Connection::client(config, move || {
        let r = random.next_u64().to_le_bytes();
        [r[0], r[1], r[2], r[3]]
    });
    // A response naming parameters we did not offer fails the connection (RFC 7692 §5).
    let extension = match deflate {
        Some((_, deflate_config)) => deflate_config.accept_response(&accepted.extensions())?,
        None => None,
    };
    let (mut conn, extension) = match extension {
        Some(ext) => {
            let params = ext.params().to_header_value();
            (conn.with_extension(ext), Some(params))
        }
        None => (conn, None),
    };
    conn.handle_input(&accepted.leftover);
    Ok(Connected {
        stream,
        conn,
        extension,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let deflate = args.iter().any(|a| a == "--deflate");
    let autobahn = args.iter().any(|a| a == "--autobahn");
    let help = args.iter().any(|a| a == "-h" || a == "--help");
    let url = match args.iter().find(|a| !a.starts_with("--")) {
        Some(u) if !help => u.clone(),
        _ => {
            eprintln!("usage: client ws://HOST:PORT/PATH [--deflate]");
            eprintln!(
                "       client --autobahn ws://HOST:PORT   (Autobahn|Testsuite fuzzingserver)"
            );
            std::process::exit(2);
        }
    };
    let result = if autobahn {
        autobahn::run(&url).await
    } else {
        run(&url, deflate).await
    };
    if let Err(e) = result {
        eprintln!("client: {e}");
        std::process::exit(1);
    }
}

async fn run(url: &str, deflate: bool) -> Result<(), Error> {
    let deflate_config = DeflateConfig::default();
    let offer = if deflate {
        deflate_config.client_offer()
    } else {
        None
    };
    let Connected {
        mut stream,
        mut conn,
        extension,
    } = connect(
        url,
        Config::default(),
        offer.as_deref().map(|offer| (offer, &deflate_config)),
    )
    .await?;
    match extension {
        Some(params) => println!("connected to {url} (extensions: {params})"),
        None => println!("connected to {url}"),
    }
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut out = BytesMut::new();
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Text(text) => println!("< {text}"),
                Event::Binary(data) => println!("< [{} bytes of binary]", data.len()),
                Event::Close { code, reason } => println!("server closed: {code} {reason}"),
                Event::Closed { code, by } => {
                    if conn.poll_transmit(&mut out) > 0 {
                        stream.write_all(&out).await?;
                    }
                    let _ = stream.shutdown().await;
                    return if code == CloseCode::NORMAL {
                        Ok(())
                    } else {
                        Err(format!("connection closed: {code} ({by:?})").into())
                    };
                }
                _ => {}
            }
        }
        if conn.poll_transmit(&mut out) > 0 {
            stream.write_all(&out).await?;
            out.clear();
        }
        let input = conn.input_buffer();
        input.reserve(16 * 1024);
        tokio::select! {
            n = stream.read_buf(input) => {
                if n? == 0 {
                    conn.handle_eof();
                }
            }
            line = stdin.next_line(), if stdin_open => match line? {
                Some(line) => conn.send_text(&line)?,
                None => {
                    stdin_open = false;
                    conn.close(CloseCode::NORMAL, "")?;
                }
            },
        }
    }
}
