//! A small HTTP/1.1 layer for the example server on top of
//! `socketwire::handshake::RequestParser`: request heads, bodies, simple replies.

use bytes::{Bytes, BytesMut};
use socketwire::Status;
use socketwire::handshake::{RequestHead, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest request body the example server reads.
pub const MAX_BODY: u64 = 16 << 20;

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
}

impl RequestStream {
    pub fn new(stream: TcpStream) -> Self {
        RequestStream {
            stream,
            carry: Bytes::new(),
        }
    }

    /// The bytes received after the last request (e.g. the first WebSocket frames).
    pub fn take_carry(&mut self) -> Bytes {
        std::mem::take(&mut self.carry)
    }

    /// Reads the next request; `None` on EOF or after answering a malformed one.
    /// Bodies are read up to `max_body`; a larger `Content-Length` gets `413`.
    pub async fn next(&mut self, max_body: u64) -> std::io::Result<Option<Request>> {
        let mut parser = RequestParser::new();
        let mut input = std::mem::take(&mut self.carry);
        let mut buf = BytesMut::with_capacity(8192);
        let mut head = loop {
            match parser.handle_input(&input) {
                Ok(Status::Complete(head)) => break head,
                Ok(Status::Partial) => {}
                Err(error) => {
                    let mut out = BytesMut::new();
                    error.write_response(&mut out);
                    self.stream.write_all(&out).await?;
                    return Ok(None);
                }
            }
            buf.clear();
            if self.stream.read_buf(&mut buf).await? == 0 {
                return Ok(None);
            }
            input = buf.split().freeze();
        };
        let length = match head.content_length() {
            Ok(n) => n.unwrap_or(0),
            Err(_) => {
                write_response(&mut self.stream, 400, "text/plain", b"bad content-length\n")
                    .await?;
                return Ok(None);
            }
        };
        if length > max_body {
            write_response(&mut self.stream, 413, "text/plain", b"body too large\n").await?;
            return Ok(None);
        }
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        let mut body = BytesMut::from(&head.take_leftover()[..]);
        while body.len() < length {
            if self.stream.read_buf(&mut body).await? == 0 {
                return Ok(None);
            }
        }
        self.carry = body.split_off(length).freeze();
        Ok(Some(Request {
            head,
            body: body.freeze(),
        }))
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        _ => "",
    }
}

pub async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        reason(status),
        body.len()
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    stream.write_all(&out).await
}
