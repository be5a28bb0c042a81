//! Autobahn|Testsuite client mode: the testee of `wstest -m fuzzingserver`.
//!
//! The fuzzing server numbers its cases from 1. The client asks for the number
//! (`/getCaseCount`, answered with one text message), then opens
//! `/runCase?case=N&agent=socketwire` for each case and echoes every text and
//! binary message as it arrives until the connection closes, and finally opens
//! `/updateReports?agent=socketwire` so the server writes its reports. Pings are
//! answered by the connection itself; a peer that breaks the protocol is failed
//! by it too (a close with the error's code), which is what many cases test.
//!
//! Every case connection offers permessage-deflate twice, in order of preference:
//! `permessage-deflate; client_max_window_bits` (what Node's `ws` client offers),
//! then the same with `client_no_context_takeover`, for servers that take
//! compression only from a client that resets its context per message (the
//! suite's 13.2, 13.5 and 13.6). The response says which terms apply: we reset
//! our compressor per message exactly when it names `client_no_context_takeover`.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use socketwire::deflate::DeflateConfig;
use socketwire::ws::{CloseCode, ClosedBy, Config, Connection, Event, MessageKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Connected, Error, connect};

/// The name the reports list this client under.
const AGENT: &str = "socketwire";

/// After the close handshake the server closes TCP first (RFC 6455 §7.1.1); a
/// server that does not within this long is not waited for any longer.
const LINGER: Duration = Duration::from_secs(5);

/// Runs every case of the fuzzing server at `base` (`ws://HOST:PORT`), then has
/// it write the reports. A case whose connection fails is reported on stderr and
/// the run goes on: the server's report says whether that was right.
pub(crate) async fn run(base: &str) -> Result<(), Error> {
    let base = base.trim_end_matches('/');
    let count = case_count(base).await?;
    eprintln!("autobahn: {count} cases");
    let deflate = DeflateConfig::default();
    let offer = offers(&deflate);
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        match echo_case(&url, &offer, &deflate).await {
            Ok((code, by)) => eprintln!("autobahn: case {case}/{count}: closed {code} ({by:?})"),
            Err(e) => eprintln!("autobahn: case {case}/{count}: {e}"),
        }
    }
    let url = format!("{base}/updateReports?agent={AGENT}");
    let Connected {
        mut stream,
        mut conn,
        ..
    } = connect(&url, Config::default(), None).await?;
    drive(&mut stream, &mut conn, |_, _, _| {}).await?;
    eprintln!("autobahn: reports updated");
    Ok(())
}

/// The `Sec-WebSocket-Extensions` offer: the default one, then the same with a
/// promise to reset our context per message.
fn offers(deflate: &DeflateConfig) -> String {
    let no_context_takeover = DeflateConfig {
        client_no_context_takeover: true,
        ..deflate.clone()
    };
    [deflate.client_offer(), no_context_takeover.client_offer()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

/// `/getCaseCount`: the server sends the number as one text message and closes.
async fn case_count(base: &str) -> Result<u32, Error> {
    let Connected {
        mut stream,
        mut conn,
        ..
    } = connect(&format!("{base}/getCaseCount"), Config::default(), None).await?;
    let mut count = None;
    drive(&mut stream, &mut conn, |_, kind, payload| {
        if kind == MessageKind::Text {
            count = std::str::from_utf8(&payload)
                .ok()
                .and_then(|text| text.trim().parse().ok());
        }
    })
    .await?;
    count.ok_or_else(|| "the server sent no case count".into())
}

/// One case: echo every message until the connection closes.
async fn echo_case(
    url: &str,
    offer: &str,
    deflate: &DeflateConfig,
) -> Result<(CloseCode, ClosedBy), Error> {
    let Connected {
        mut stream,
        mut conn,
        ..
    } = connect(url, Config::default(), Some((offer, deflate))).await?;
    drive(&mut stream, &mut conn, |conn, kind, payload| {
        // The payload is the message split off the input buffer, not a copy.
        // Sending fails only once the connection is closing: nothing to echo then.
        let _ = conn.send_shared(kind, payload);
    })
    .await
}

/// The drive loop: socket bytes in, every whole message to `on_message`, output
/// written, until the connection closes; then waits (bounded) for the server to
/// close TCP.
async fn drive(
    stream: &mut TcpStream,
    conn: &mut Connection,
    mut on_message: impl FnMut(&mut Connection, MessageKind, Bytes),
) -> Result<(CloseCode, ClosedBy), Error> {
    let mut out = BytesMut::new();
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Text(text) => on_message(conn, MessageKind::Text, text.into_bytes()),
                Event::Binary(data) => on_message(conn, MessageKind::Binary, data),
                Event::Closed { code, by } => {
                    flush(stream, conn, &mut out).await?;
                    linger(stream).await;
                    return Ok((code, by));
                }
                _ => {}
            }
        }
        flush(stream, conn, &mut out).await?;
        let input = conn.input_buffer();
        input.reserve(64 * 1024);
        if stream.read_buf(input).await? == 0 {
            conn.handle_eof();
        }
    }
}

/// Writes all pending output.
async fn flush(
    stream: &mut TcpStream,
    conn: &mut Connection,
    out: &mut BytesMut,
) -> std::io::Result<()> {
    if conn.poll_transmit(out) > 0 {
        stream.write_all(out).await?;
        out.clear();
    }
    Ok(())
}

/// Reads and drops whatever still arrives until the server closes TCP, at most
/// for [`LINGER`].
async fn linger(stream: &mut TcpStream) {
    let mut scratch = vec![0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(stream.read(&mut scratch).await, Ok(n) if n > 0) {}
    })
    .await;
}
