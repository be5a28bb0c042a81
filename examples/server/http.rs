//! A small HTTP/1.1 layer for the example server on top of
//! `socketwire::handshake::RequestParser`: request heads, bodies, simple replies,
//! each under a deadline.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use socketwire::Status;
use socketwire::handshake::{RequestHead, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

/// The deadlines of one HTTP connection.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// For a request head, from when the server starts waiting for it (so an idle
    /// keep-alive connection is closed after this long too).
    pub head: Duration,
    /// For a request body, from the end of its head.
    pub body: Duration,
    /// For each write to the peer.
    pub write: Duration,
}

/// After a refusal, how long (and how many bytes) the peer's further input is
/// read and dropped before the connection is closed.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 << 10;

/// One request: its head and body.
pub struct Request {
    pub head: RequestHead,
    #[allow(dead_code)] // read by the Engine.IO routes
    pub body: Bytes,
}

/// Reads requests from one connection, keeping the bytes that follow each one.
pub struct RequestStream {
    pub stream: TcpStream,
    carry: Bytes,
    deadlines: Deadlines,
}

/// How reading a request head ended.
enum HeadRead {
    Head(RequestHead),
    /// EOF, or a malformed head (already answered).
    Done,
}

impl RequestStream {
    pub fn new(stream: TcpStream, deadlines: Deadlines) -> Self {
        RequestStream {
            stream,
            carry: Bytes::new(),
            deadlines,
        }
    }

    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }

    /// The bytes received after the last request (e.g. the first WebSocket frames).
    pub fn take_carry(&mut self) -> Bytes {
        std::mem::take(&mut self.carry)
    }

    /// Reads the next request; `None` on EOF or after answering a request that is
    /// refused. Refused, each answered and then closed: a head not complete within
    /// [`Deadlines::head`] (`408`; silently if not one byte of it arrived), a
    /// `Transfer-Encoding` (`501`, or `400` when the body length is ambiguous: the
    /// library's `content_length` says which), a `Content-Length` over
    /// `max_body(&head)` (`413`, before any of the body is read), a body not complete
    /// within [`Deadlines::body`] (`408`).
    pub async fn next(
        &mut self,
        max_body: impl FnOnce(&RequestHead) -> u64,
    ) -> std::io::Result<Option<Request>> {
        let mut received = !self.carry.is_empty();
        let deadline = Instant::now() + self.deadlines.head;
        let read = timeout_at(deadline, self.read_head(&mut received)).await;
        let mut head = match read {
            Ok(read) => match read? {
                HeadRead::Head(head) => head,
                HeadRead::Done => return Ok(None),
            },
            Err(_) if received => {
                return self.refuse(408, b"request head timeout\n").await;
            }
            // An idle keep-alive connection: nothing to answer.
            Err(_) => return Ok(None),
        };
        let length = match head.content_length() {
            Ok(n) => n.unwrap_or(0),
            Err(error) => {
                // 400 for a bad Content-Length or an ambiguous body length, 501 for
                // a Transfer-Encoding; the reply says `Connection: close`.
                let mut out = BytesMut::new();
                error.write_response(&mut out);
                return self.close_with(&out).await;
            }
        };
        if length > max_body(&head) {
            return self.refuse(413, b"body too large\n").await;
        }
        // `length` is at most `max_body`, which is what the server is willing to hold.
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        let mut body = BytesMut::from(&head.take_leftover()[..]);
        let deadline = Instant::now() + self.deadlines.body;
        let read = timeout_at(deadline, async {
            while body.len() < length {
                if self.stream.read_buf(&mut body).await? == 0 {
                    return Ok(false);
                }
            }
            Ok::<bool, std::io::Error>(true)
        })
        .await;
        match read {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Ok(None),
            Ok(Err(e)) => return Err(e),
            Err(_) => return self.refuse(408, b"request body timeout\n").await,
        }
        self.carry = body.split_off(length).freeze();
        Ok(Some(Request {
            head,
            body: body.freeze(),
        }))
    }

    /// Reads one head; `received` is set once a byte of it has arrived.
    async fn read_head(&mut self, received: &mut bool) -> std::io::Result<HeadRead> {
        let mut parser = RequestParser::new();
        let mut input = std::mem::take(&mut self.carry);
        let mut buf = BytesMut::with_capacity(8192);
        loop {
            match parser.handle_input(&input) {
                Ok(Status::Complete(head)) => return Ok(HeadRead::Head(head)),
                Ok(Status::Partial) => {}
                Err(error) => {
                    let mut out = BytesMut::new();
                    error.write_response(&mut out);
                    self.close_with(&out).await?;
                    return Ok(HeadRead::Done);
                }
            }
            buf.clear();
            if self.stream.read_buf(&mut buf).await? == 0 {
                return Ok(HeadRead::Done);
            }
            *received = true;
            input = buf.split().freeze();
        }
    }

    /// Writes `bytes`, within [`Deadlines::write`] (else `TimedOut`).
    pub async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        write_within(&mut self.stream, self.deadlines.write, bytes).await
    }

    /// Sends a complete response; the connection stays open for the next request.
    pub async fn respond(
        &mut self,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) -> std::io::Result<()> {
        let out = response(status, content_type, body, false);
        self.write_all(&out).await
    }

    /// Refuses the request with a plain-text error response that says
    /// `Connection: close`, and closes the connection ([`Self::close_with`]).
    async fn refuse(&mut self, status: u16, body: &[u8]) -> std::io::Result<Option<Request>> {
        let out = response(status, "text/plain", body, true);
        self.close_with(&out).await
    }

    /// Sends `reply` (a response saying `Connection: close`), then closes
    /// gently: our side first, then what the peer still sends (the rest of a
    /// refused body) is read and dropped for at most `LINGER` and `LINGER_BYTES`,
    /// so the peer reads the reply rather than a reset. Always `Ok(None)`.
    async fn close_with(&mut self, reply: &[u8]) -> std::io::Result<Option<Request>> {
        self.write_all(reply).await?;
        let _ = self.stream.shutdown().await;
        let mut scratch = [0u8; 4096];
        let mut dropped = 0;
        let _ = timeout(LINGER, async {
            while dropped < LINGER_BYTES {
                match self.stream.read(&mut scratch).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => dropped += n,
                }
            }
        })
        .await;
        Ok(None)
    }
}

/// Writes `bytes` to `stream`, failing with `TimedOut` if the peer does not take
/// them within `limit` (a peer that never reads cannot hold a writer forever).
pub async fn write_within(
    stream: &mut TcpStream,
    limit: Duration,
    bytes: &[u8],
) -> std::io::Result<()> {
    match timeout(limit, stream.write_all(bytes)).await {
        Ok(result) => result,
        Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// A complete response: status line, `Content-Type`, `Content-Length` (and
/// `Connection: close` if `close`), then the body.
fn response(status: u16, content_type: &str, body: &[u8], close: bool) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\n{connection}Content-Length: {}\r\n\r\n",
        reason(status),
        body.len()
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    out
}
