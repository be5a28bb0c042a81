//! The server side of the opening handshake on a typical browser request: read the head,
//! validate it, compute the accept key and write the 101.
//!
//! - `handshake/socketwire/0`: the borrowed storage - `RequestHeadRef::parse` (the head
//!   borrows the input and a `HeaderSlots` array on the stack) + `ServerHandshakeRef::new`
//!   (every RFC 6455 §4.2.1 check, the same code as the owned storage) + `write_accept`.
//! - `handshake/socketwire-owned/0`: the owned storage - `RequestParser::handle_input`
//!   (copies the head into one allocation) + `ServerHandshake::new` + `write_accept`.
//! - `handshake/bare/0`: the floor - httparse into a stack array, find the key,
//!   SHA-1 + base64, write the response by hand. No validation.
//! - `handshake/tungstenite/0`: `tungstenite::accept` over an in-memory stream.
//!
//! With the `http` feature, the same request as the `http::request::Parts` a host server
//! (hyper, axum) hands over, answered with an `http::Response<()>`:
//!
//! - `handshake-http/socketwire/0`: `ServerHandshake::from_http` (copies the parts into
//!   an owned head; the same §4.2.1 checks) + `accept_response`.
//! - `handshake-http/socketwire-bytes/0`: `from_http` + `write_accept` (the 101 as bytes).
//! - `handshake-http/tungstenite/0`: `tungstenite::handshake::server::create_response`.

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};

use base64::Engine;
use bytes::{BufMut, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput};
use sha1::{Digest, Sha1};
use socketwire::Status;
use socketwire::handshake::{
    AcceptOptions, HeaderLimits, HeaderSlots, RequestHeadRef, RequestParser, ServerHandshake,
    ServerHandshakeRef,
};

/// What Chrome sends (about 500 bytes).
const BROWSER_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: example.com:8080\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://example.com:8080\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

fn socketwire_accept(input: &[u8], out: &mut BytesMut) {
    let mut slots = HeaderSlots::new();
    let Ok(Status::Complete(head)) =
        RequestHeadRef::parse(input, &mut slots, HeaderLimits::DEFAULT)
    else {
        panic!("complete request");
    };
    let handshake = ServerHandshakeRef::new(head).expect("valid request");
    handshake
        .write_accept(&AcceptOptions::default(), out)
        .expect("valid options");
}

fn socketwire_owned_accept(input: &[u8], out: &mut BytesMut) {
    let mut parser = RequestParser::new();
    let Ok(Status::Complete(head)) = parser.handle_input(input) else {
        panic!("complete request");
    };
    let handshake = ServerHandshake::new(head).expect("valid request");
    handshake
        .write_accept(&AcceptOptions::default(), out)
        .expect("valid options");
}

fn bare_accept(input: &[u8], out: &mut BytesMut) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let Ok(httparse::Status::Complete(_)) = request.parse(input) else {
        panic!("complete request");
    };
    let key = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
        .expect("key")
        .value;
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let mut accept = [0u8; 28];
    base64::engine::general_purpose::STANDARD
        .encode_slice(sha1.finalize(), &mut accept)
        .expect("28 bytes");
    out.put_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    out.put_slice(&accept);
    out.put_slice(b"\r\n\r\n");
}

/// An in-memory duplex stream for tungstenite: reads from a cursor, writes to a Vec.
struct MemoryStream<'a> {
    input: Cursor<&'a [u8]>,
    output: Vec<u8>,
}

impl Read for MemoryStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for MemoryStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Bytes(BROWSER_REQUEST.len() as u64));
    let mut out = BytesMut::with_capacity(1024);

    group.bench_function(BenchmarkId::new("socketwire", 0), |b| {
        b.iter(|| {
            out.clear();
            socketwire_accept(black_box(BROWSER_REQUEST), &mut out);
            black_box(&out);
        })
    });
    group.bench_function(BenchmarkId::new("socketwire-owned", 0), |b| {
        b.iter(|| {
            out.clear();
            socketwire_owned_accept(black_box(BROWSER_REQUEST), &mut out);
            black_box(&out);
        })
    });
    group.bench_function(BenchmarkId::new("bare", 0), |b| {
        b.iter(|| {
            out.clear();
            bare_accept(black_box(BROWSER_REQUEST), &mut out);
            black_box(&out);
        })
    });
    group.bench_function(BenchmarkId::new("tungstenite", 0), |b| {
        b.iter(|| {
            let stream = MemoryStream {
                input: Cursor::new(black_box(BROWSER_REQUEST)),
                output: Vec::with_capacity(1024),
            };
            let socket = tungstenite::accept(stream).expect("accepted");
            black_box(socket.get_ref().output.len());
        })
    });
    group.finish();
}

/// `BROWSER_REQUEST` as the request a host HTTP server hands over.
#[cfg(feature = "http")]
fn browser_request() -> http::Request<()> {
    let mut slots = HeaderSlots::new();
    let Ok(Status::Complete(head)) =
        RequestHeadRef::parse(BROWSER_REQUEST, &mut slots, HeaderLimits::DEFAULT)
    else {
        panic!("complete request");
    };
    let mut request = http::Request::builder()
        .method(head.method())
        .uri(head.path());
    for (name, value) in head.headers() {
        request = request.header(name, value);
    }
    request.body(()).expect("a valid request")
}

#[cfg(feature = "http")]
fn handshake_http(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake-http");
    group.throughput(Throughput::Bytes(BROWSER_REQUEST.len() as u64));
    let request = browser_request();
    let (parts, ()) = request.clone().into_parts();
    let mut out = BytesMut::with_capacity(1024);

    group.bench_function(BenchmarkId::new("socketwire", 0), |b| {
        b.iter(|| {
            let handshake = ServerHandshake::from_http(black_box(&parts)).expect("valid request");
            let response = handshake
                .accept_response(&AcceptOptions::default())
                .expect("valid options");
            black_box(response);
        })
    });
    group.bench_function(BenchmarkId::new("socketwire-bytes", 0), |b| {
        b.iter(|| {
            out.clear();
            let handshake = ServerHandshake::from_http(black_box(&parts)).expect("valid request");
            handshake
                .write_accept(&AcceptOptions::default(), &mut out)
                .expect("valid options");
            black_box(&out);
        })
    });
    group.bench_function(BenchmarkId::new("tungstenite", 0), |b| {
        b.iter(|| {
            let response = tungstenite::handshake::server::create_response(black_box(&request))
                .expect("valid request");
            black_box(response);
        })
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    handshake(&mut criterion);
    #[cfg(feature = "http")]
    handshake_http(&mut criterion);
    criterion.final_summary();
}
