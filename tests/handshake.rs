//! Spec vectors, rejection tables, caps, chunking invariance and round trips for the
//! opening handshake (RFC 6455 §4).

use bytes::BytesMut;
use proptest::prelude::*;
use socketwire::Status;
use socketwire::handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, HandshakeError, HandshakeMisuse, HeadStorage,
    HeaderLimits, HeaderSlots, HttpVersion, RequestHead, RequestHeadRef, RequestParser,
    ServerHandshake, ServerHandshakeRef, accept_key, parse_extensions,
};

const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// A valid request with one header replaced (`Some`) or removed (`None`), and optional
/// method/version overrides.
fn request_with(method: &str, version: &str, replace: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut headers: Vec<(String, String)> = [
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    for (name, value) in replace {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if let Some(v) = value {
            headers.push((name.to_string(), v.to_string()));
        }
    }
    let mut out = format!("{method} /chat {version}\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// Everything a server sees of one request, from either storage: the head, then the
/// upgrade's validation and the 101 written for it (or the error).
#[derive(Debug, PartialEq)]
struct RequestOutcome {
    method: String,
    path: String,
    version: HttpVersion,
    headers: Vec<(String, Vec<u8>)>,
    leftover: Vec<u8>,
    content_length: Result<Option<u64>, HandshakeError>,
    is_websocket_upgrade: bool,
    upgrade: Result<UpgradeOutcome, HandshakeError>,
}

#[derive(Debug, PartialEq)]
struct UpgradeOutcome {
    path: String,
    host: String,
    origin: Option<String>,
    key: String,
    accept_key: [u8; 28],
    protocols: Vec<String>,
    /// The parsed offers, as their `Debug` text (they borrow the head).
    extensions: String,
    leftover: Vec<u8>,
    /// The 101 for the first offered subprotocol and a deflate answer, and the
    /// outcome of a refused option.
    response: Result<Vec<u8>, HandshakeMisuse>,
    misuse: Result<Vec<u8>, HandshakeMisuse>,
}

fn responses(
    first_protocol: Option<&str>,
    write: impl Fn(&AcceptOptions<'_>, &mut BytesMut) -> Result<(), HandshakeMisuse>,
) -> [Result<Vec<u8>, HandshakeMisuse>; 2] {
    let options = AcceptOptions {
        protocol: first_protocol,
        extensions: Some("permessage-deflate"),
        headers: &[("Set-Cookie", "a=b")],
    };
    let bad = AcceptOptions {
        protocol: Some("not-offered"),
        ..options
    };
    [options, bad].map(|options| {
        let mut out = BytesMut::new();
        write(&options, &mut out).map(|()| out.to_vec())
    })
}

/// Reads everything the API shows of `head`, the same code for both storages.
fn outcome<S: HeadStorage>(head: RequestHead<S>) -> RequestOutcome {
    let owned = |s: &str| s.to_string();
    let summary = RequestOutcome {
        method: owned(head.method()),
        path: owned(head.path()),
        version: head.version(),
        headers: head
            .headers()
            .map(|(n, v)| (owned(n), v.to_vec()))
            .collect(),
        leftover: head.leftover().to_vec(),
        content_length: head.content_length(),
        is_websocket_upgrade: head.is_websocket_upgrade(),
        upgrade: Err(HandshakeError::MissingHost),
    };
    let upgrade = ServerHandshake::new(head).map(|h| {
        let [response, misuse] = responses(h.protocols().next(), |o, out| h.write_accept(o, out));
        UpgradeOutcome {
            path: owned(h.path()),
            host: owned(h.host()),
            origin: h.origin().map(owned),
            key: owned(h.key()),
            accept_key: h.accept_key(),
            protocols: h.protocols().map(owned).collect(),
            extensions: format!("{:?}", h.extensions()),
            leftover: h.leftover().to_vec(),
            response,
            misuse,
        }
    });
    RequestOutcome { upgrade, ..summary }
}

type Outcome = Result<Status<RequestOutcome>, HandshakeError>;

fn map_status<T, U>(status: Status<T>, f: impl FnOnce(T) -> U) -> Status<U> {
    match status {
        Status::Complete(t) => Status::Complete(f(t)),
        Status::Partial => Status::Partial,
    }
}

/// A new `RequestParser` fed `input` in one chunk, owned.
fn owned_storage(input: &[u8], limits: HeaderLimits) -> Outcome {
    let status = RequestParser::with_limits(limits).handle_input(input)?;
    Ok(map_status(status, outcome))
}

/// `RequestHeadRef::parse` over `input`, borrowed.
fn borrowed_storage(input: &[u8], limits: HeaderLimits) -> Outcome {
    let mut slots = HeaderSlots::new();
    let status = RequestHeadRef::parse(input, &mut slots, limits)?;
    Ok(map_status(status, outcome))
}

/// Runs `input` through both storages, asserts they agree and returns the outcome.
fn both_storages(input: &[u8], limits: HeaderLimits) -> Outcome {
    let owned = owned_storage(input, limits);
    let borrowed = borrowed_storage(input, limits);
    assert_eq!(
        owned,
        borrowed,
        "input {:?}",
        String::from_utf8_lossy(input)
    );
    owned
}

fn read_request(bytes: &[u8]) -> Result<RequestHead, HandshakeError> {
    let _agree = both_storages(bytes, HeaderLimits::DEFAULT)?; // asserts the storages agree
    match RequestParser::new().handle_input(bytes)? {
        Status::Complete(head) => Ok(head),
        Status::Partial => panic!("incomplete request"),
    }
}

fn server_result(bytes: &[u8]) -> Result<ServerHandshake, HandshakeError> {
    ServerHandshake::new(read_request(bytes)?)
}

#[test]
fn accept_key_vectors() {
    let vectors = [
        ("dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ("x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="),
        ("w4v7O6xFTi36lq3RNcgctw==", "Oy4NRAQ13jhfONC7bP8dTKb4PTU="),
        ("ovv/5Eehx5xZATgU2Av4qA==", "dOV1w5K5vmsGIHTQUalJeb04Wlg="),
    ];
    for (key, accept) in vectors {
        assert_eq!(&accept_key(key.as_bytes()), accept.as_bytes(), "{key}");
        let request = request_with("GET", "HTTP/1.1", &[("Sec-WebSocket-Key", Some(key))]);
        let handshake = server_result(&request).unwrap();
        let mut out = BytesMut::new();
        handshake
            .write_accept(&AcceptOptions::default(), &mut out)
            .unwrap();
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.contains(&format!("\r\nSec-WebSocket-Accept: {accept}\r\n")));
    }
}

#[test]
fn rfc_request_is_accepted() {
    let handshake = server_result(RFC_REQUEST).unwrap();
    assert_eq!(handshake.path(), "/chat");
    assert_eq!(handshake.host(), "server.example.com");
    assert_eq!(handshake.origin(), Some("http://example.com"));
    assert_eq!(handshake.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    assert!(handshake.protocols().eq(["chat", "superchat"]));
    let mut out = BytesMut::new();
    let options = AcceptOptions {
        protocol: Some("chat"),
        ..Default::default()
    };
    handshake.write_accept(&options, &mut out).unwrap();
    assert_eq!(
        &out[..],
        &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n"[..]
    );
}

#[test]
fn every_rejection_rule_with_its_status() {
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a [(&'a str, Option<&'a str>)],
        u16,
    );
    let cases: &[Case<'_>] = &[
        (
            "version 12",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Version", Some("12"))],
            426,
        ),
        (
            "version 14",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Version", Some("14"))],
            426,
        ),
        (
            "version abc",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Version", Some("abc"))],
            426,
        ),
        (
            "version 8",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Version", Some("8"))],
            426,
        ),
        (
            "version 13, 8",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Version", Some("13, 8"))],
            426,
        ),
        (
            "missing version",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Version", None)],
            426,
        ),
        (
            "missing key",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Key", None)],
            400,
        ),
        // base64 of 15 bytes (20 chars) and of 17 bytes (24 chars, one '=').
        (
            "key of 15 bytes",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Key", Some("AAAAAAAAAAAAAAAAAAAA"))],
            400,
        ),
        (
            "key of 17 bytes",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Key", Some("AAAAAAAAAAAAAAAAAAAAAAA="))],
            400,
        ),
        (
            "non-base64 key",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Key", Some("!!!!!!!!!!!!!!!!!!!!!!=="))],
            400,
        ),
        (
            "missing upgrade",
            "GET",
            "HTTP/1.1",
            &[("Upgrade", None)],
            400,
        ),
        (
            "upgrade h2c",
            "GET",
            "HTTP/1.1",
            &[("Upgrade", Some("h2c"))],
            400,
        ),
        (
            "connection keep-alive",
            "GET",
            "HTTP/1.1",
            &[("Connection", Some("keep-alive"))],
            400,
        ),
        (
            "missing connection",
            "GET",
            "HTTP/1.1",
            &[("Connection", None)],
            400,
        ),
        ("POST", "POST", "HTTP/1.1", &[], 400),
        ("HTTP/1.0", "GET", "HTTP/1.0", &[], 400),
        ("missing host", "GET", "HTTP/1.1", &[("Host", None)], 400),
        (
            "bad protocol list",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Protocol", Some("a b"))],
            400,
        ),
        (
            "bad extensions",
            "GET",
            "HTTP/1.1",
            &[("Sec-WebSocket-Extensions", Some("x; y=\""))],
            400,
        ),
    ];
    for (what, method, version, replace, status) in cases {
        let request = request_with(method, version, replace);
        let error = server_result(&request).expect_err(what);
        assert_eq!(error.status(), *status, "{what}: {error:?}");
        let mut out = BytesMut::new();
        error.write_response(&mut out);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{what}");
        assert!(text.contains("\r\nContent-Length: 0\r\n"), "{what}");
        assert!(text.contains("close\r\n"), "{what}");
        assert_eq!(
            text.contains("\r\nSec-WebSocket-Version: 13\r\n"),
            *status == 426,
            "{what}"
        );
    }
}

#[test]
fn repeated_key_or_host_is_rejected() {
    let mut request = request_with("GET", "HTTP/1.1", &[]);
    request.truncate(request.len() - 2);
    request.extend_from_slice(b"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\r\n");
    assert_eq!(
        server_result(&request).unwrap_err(),
        HandshakeError::DuplicateHeader("Sec-WebSocket-Key")
    );
    let mut request = request_with("GET", "HTTP/1.1", &[]);
    request.truncate(request.len() - 2);
    request.extend_from_slice(b"Host: other\r\n\r\n");
    assert_eq!(server_result(&request).unwrap_err().status(), 400);
}

#[test]
fn repeated_and_comma_joined_headers_are_lists() {
    let request = b"GET /ws HTTP/1.1\r\nhost: a\r\nUPGRADE: h2c, WebSocket\r\n\
connection: keep-alive\r\nConnection: foo, upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
sec-websocket-version: 13\r\nSec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b,c\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
Sec-WebSocket-Extensions: x-foo\r\n\r\n";
    let handshake = server_result(request).unwrap();
    assert!(handshake.protocols().eq(["a", "b", "c"]));
    let names: Vec<&str> = handshake.extensions().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["permessage-deflate", "x-foo"]);
    assert_eq!(handshake.origin(), None);
}

#[test]
fn http_2_0_style_versions_are_later_than_1_1() {
    let head = RequestHead::from_parts(
        "GET",
        HttpVersion { major: 2, minor: 0 },
        "/",
        [
            ("host", "a"),
            ("upgrade", "websocket"),
            ("connection", "upgrade"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("sec-websocket-version", "13"),
        ],
    );
    assert!(ServerHandshake::new(head).is_ok());
}

#[test]
fn write_accept_misuse_writes_nothing() {
    let handshake = server_result(RFC_REQUEST).unwrap();
    let mut out = BytesMut::new();
    let cases = [
        (
            AcceptOptions {
                protocol: Some("superchat2"),
                ..Default::default()
            },
            HandshakeMisuse::SubprotocolNotOffered,
        ),
        (
            AcceptOptions {
                extensions: Some("permessage-deflate\r\nX-Evil: 1"),
                ..Default::default()
            },
            HandshakeMisuse::InvalidExtensions,
        ),
        (
            AcceptOptions {
                headers: &[("X-Evil", "a\r\nb: c")],
                ..Default::default()
            },
            HandshakeMisuse::InvalidHeaderValue,
        ),
        (
            AcceptOptions {
                headers: &[("X Evil", "a")],
                ..Default::default()
            },
            HandshakeMisuse::InvalidHeaderName,
        ),
    ];
    for (options, misuse) in cases {
        assert_eq!(handshake.write_accept(&options, &mut out), Err(misuse));
        assert!(out.is_empty());
    }
}

#[test]
fn header_cap_refuses_without_reading_more() {
    let limits = HeaderLimits {
        max_header_bytes: 1024,
        max_headers: 64,
    };
    // One byte at a time: the error comes with the 1024th byte, never later.
    let mut long = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 4096));
    let mut parser = RequestParser::with_limits(limits);
    let mut failed_at = None;
    for (i, &b) in long.iter().enumerate() {
        match parser.handle_input(&[b]) {
            Ok(Status::Partial) => assert!(parser.buffered_len() <= 1024),
            Ok(Status::Complete(_)) => panic!("no blank line"),
            Err(error) => {
                assert_eq!(error, HandshakeError::HeadTooLarge { max: 1024 });
                assert_eq!(error.status(), 431);
                failed_at = Some(i);
                break;
            }
        }
    }
    assert_eq!(failed_at, Some(1023));
    // The borrowed storage, fed the growing buffer, fails at the same byte.
    let every: Vec<usize> = (1..long.len()).collect();
    let (error, failed_at) = borrowed_split(&long, &every, limits);
    assert_eq!(error, Err(HandshakeError::HeadTooLarge { max: 1024 }));
    assert_eq!(failed_at, 1024);
    // One big chunk: refused at once, nothing beyond the cap buffered.
    let mut parser = RequestParser::with_limits(limits);
    assert_eq!(
        parser.handle_input(&long),
        Err(HandshakeError::HeadTooLarge { max: 1024 })
    );
    assert_eq!(parser.buffered_len(), 0);
    assert_eq!(
        both_storages(&long, limits),
        Err(HandshakeError::HeadTooLarge { max: 1024 })
    );
    // The default cap is 16 KiB.
    let mut huge = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 20_000));
    assert_eq!(
        both_storages(&huge, HeaderLimits::DEFAULT),
        Err(HandshakeError::HeadTooLarge { max: 16 * 1024 })
    );
    // Too many headers, refused as the 65th arrives.
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..65 {
        many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
    }
    let error = both_storages(&many, HeaderLimits::DEFAULT).unwrap_err();
    assert_eq!(error, HandshakeError::TooManyHeaders { max: 64 });
    assert_eq!(error.status(), 431);
}

#[test]
fn malformed_heads_are_400() {
    for bad in [
        &b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\nHost: a\r\n\r\n",
        b"GET\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
    ] {
        let error = both_storages(bad, HeaderLimits::DEFAULT).unwrap_err();
        assert!(
            matches!(error, HandshakeError::MalformedHttp(_)),
            "{error:?}"
        );
        assert_eq!(error.status(), 400);
    }
}

#[test]
fn plain_post_with_body_and_keep_alive() {
    let mut parser = RequestParser::new();
    let input = b"POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    let _agree = both_storages(input, HeaderLimits::DEFAULT).unwrap(); // asserts the storages agree
    let mut head = parser.handle_input(input).unwrap().complete().unwrap();
    assert_eq!(head.method(), "POST");
    assert!(!head.is_websocket_upgrade());
    let length = usize::try_from(head.content_length().unwrap().unwrap()).unwrap();
    let leftover = head.take_leftover();
    assert_eq!(&leftover[..length], b"hello");
    // The borrowed storage reads the next request from the same buffer.
    let mut slots = HeaderSlots::new();
    let next = parser
        .parse_borrowed(&leftover[length..], &mut slots)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(next.path(), "/next");
    let next = parser
        .handle_input(&leftover[length..])
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(next.path(), "/next");
    assert!(next.leftover().is_empty());
    assert!(matches!(
        ServerHandshake::new(head),
        Err(HandshakeError::MethodNotGet)
    ));
}

/// A request with `Transfer-Encoding` is refused, never framed by `Content-Length`
/// (RFC 9112 §6.1, §6.3): 501 for a coding this parser does not decode, 400 when the
/// length is ambiguous (with `Content-Length`, on HTTP/1.0, `chunked` not last). Both
/// storages agree.
#[test]
fn transfer_encoding_is_refused_not_framed_by_content_length() {
    type BodyLength = Result<Option<u64>, HandshakeError>;
    let cases: [(&[u8], BodyLength); 6] = [
        (
            b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            Ok(Some(5)),
        ),
        (
            b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            Err(HandshakeError::UnsupportedTransferEncoding),
        ),
        // The smuggling shape: one reader takes the Content-Length, another the chunks.
        (
            b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n",
            Err(HandshakeError::AmbiguousBodyLength),
        ),
        (
            b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            Err(HandshakeError::AmbiguousBodyLength),
        ),
        (
            b"POST /p HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
            Err(HandshakeError::AmbiguousBodyLength),
        ),
        (
            b"POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
            Err(HandshakeError::UnsupportedTransferEncoding),
        ),
    ];
    for (input, expected) in cases {
        let outcome = both_storages(input, HeaderLimits::DEFAULT) // asserts the storages agree
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(
            outcome.content_length,
            expected,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    let statuses = [
        HandshakeError::UnsupportedTransferEncoding,
        HandshakeError::AmbiguousBodyLength,
    ]
    .map(|error| {
        let mut out = BytesMut::new();
        error.write_response(&mut out);
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
        (
            error.status(),
            text.lines().next().unwrap_or("").to_string(),
        )
    });
    assert_eq!(
        statuses,
        [
            (501, "HTTP/1.1 501 Not Implemented".to_string()),
            (400, "HTTP/1.1 400 Bad Request".to_string()),
        ]
    );
}

#[test]
fn leftover_frames_are_preserved_across_chunks() {
    let mut input = RFC_REQUEST.to_vec();
    let frame = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    input.extend_from_slice(&frame);
    for split in 1..input.len() {
        let mut parser = RequestParser::new();
        let first = parser.handle_input(&input[..split]).unwrap();
        let (head, rest) = match first {
            Status::Complete(head) => (head, &input[split..]),
            Status::Partial => match parser.handle_input(&input[split..]).unwrap() {
                Status::Complete(head) => (head, &[][..]),
                Status::Partial => panic!("split {split}: incomplete"),
            },
        };
        let handshake = ServerHandshake::new(head).unwrap();
        let mut all = handshake.into_leftover().to_vec();
        all.extend_from_slice(rest);
        assert_eq!(all, frame, "split {split}");
    }
}

// ---- client side ----

const NONCE: [u8; 16] = [0; 16];
const NONCE_ACCEPT: &str = "ICX+Yqv66kxgM0FcWaLWlFLwTAI=";

fn client(protocols: &'static [&'static str], extensions: Option<&'static str>) -> ClientHandshake {
    let request = ClientRequest {
        protocols,
        extensions,
        ..ClientRequest::new("example.com", "/chat", NONCE)
    };
    ClientHandshake::new(&request).unwrap()
}

fn response(extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Accept: {NONCE_ACCEPT}\r\n{extra}\r\n"
    )
    .into_bytes()
}

#[test]
fn client_request_bytes() {
    let request = ClientRequest {
        protocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate; client_max_window_bits"),
        headers: &[("Origin", "http://example.com")],
        ..ClientRequest::new("server.example.com", "/chat", NONCE)
    };
    let mut out = BytesMut::new();
    ClientHandshake::new(&request)
        .unwrap()
        .write_request(&mut out);
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\
Origin: http://example.com\r\n\r\n"
    );
}

#[test]
fn client_accepts_valid_responses() {
    let mut c = client(
        &["chat", "superchat"],
        Some("permessage-deflate; client_max_window_bits"),
    );
    let mut input = response(
        "Sec-WebSocket-Protocol: superchat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n",
    );
    input.extend_from_slice(b"\x81\x02hi");
    let accepted = c.handle_input(&input).unwrap().complete().unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("superchat"));
    assert_eq!(
        accepted.extensions(),
        parse_extensions("permessage-deflate; client_max_window_bits=10").unwrap()
    );
    assert_eq!(&accepted.leftover[..], b"\x81\x02hi");
    assert_eq!(accepted.response.status(), 101);
}

#[test]
fn client_rejection_rules() {
    let cases: &[(&str, Vec<u8>, HandshakeError)] = &[
        (
            "status 200",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
            HandshakeError::UnexpectedStatus(200),
        ),
        (
            "no upgrade",
            format!("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {NONCE_ACCEPT}\r\n\r\n").into_bytes(),
            HandshakeError::MissingUpgradeWebsocket,
        ),
        (
            "no connection",
            format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {NONCE_ACCEPT}\r\n\r\n").into_bytes(),
            HandshakeError::MissingConnectionUpgrade,
        ),
        (
            "no accept",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec(),
            HandshakeError::MissingAccept,
        ),
        (
            "wrong accept",
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".to_vec(),
            HandshakeError::AcceptMismatch,
        ),
        (
            "two accepts",
            response(&format!("Sec-WebSocket-Accept: {NONCE_ACCEPT}\r\n")),
            HandshakeError::DuplicateHeader("Sec-WebSocket-Accept"),
        ),
        (
            "unoffered protocol",
            response("Sec-WebSocket-Protocol: other\r\n"),
            HandshakeError::UnofferedSubprotocol,
        ),
        (
            "two protocols",
            response("Sec-WebSocket-Protocol: chat, superchat\r\n"),
            HandshakeError::InvalidSubprotocolList,
        ),
        (
            "unoffered extension",
            response("Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n"),
            HandshakeError::UnofferedExtension,
        ),
        (
            "malformed extension",
            response("Sec-WebSocket-Extensions: permessage-deflate;\r\n"),
            HandshakeError::InvalidExtensionList { offset: 19 },
        ),
    ];
    for (what, input, expected) in cases {
        let mut c = client(&["chat", "superchat"], Some("permessage-deflate"));
        assert_eq!(c.handle_input(input).unwrap_err(), *expected, "{what}");
    }
    // With no protocols offered, any chosen protocol is unoffered.
    let mut c = client(&[], None);
    assert_eq!(
        c.handle_input(&response("Sec-WebSocket-Protocol: chat\r\n"))
            .unwrap_err(),
        HandshakeError::UnofferedSubprotocol
    );
}

#[test]
fn client_misuse() {
    let base = ClientRequest::new("example.com", "/", NONCE);
    let cases = [
        (
            ClientRequest { path: "", ..base },
            HandshakeMisuse::InvalidPath,
        ),
        (
            ClientRequest {
                path: "/a b",
                ..base
            },
            HandshakeMisuse::InvalidPath,
        ),
        (
            ClientRequest {
                host: "a\r\nb",
                ..base
            },
            HandshakeMisuse::InvalidHeaderValue,
        ),
        (
            ClientRequest {
                protocols: &["a b"],
                ..base
            },
            HandshakeMisuse::InvalidSubprotocol,
        ),
        (
            ClientRequest {
                extensions: Some("x;"),
                ..base
            },
            HandshakeMisuse::InvalidExtensions,
        ),
        (
            ClientRequest {
                headers: &[("A", "\n")],
                ..base
            },
            HandshakeMisuse::InvalidHeaderValue,
        ),
    ];
    for (request, misuse) in cases {
        assert_eq!(ClientHandshake::new(&request).unwrap_err(), misuse);
    }
}

#[test]
fn client_response_cap() {
    let request = ClientRequest {
        limits: HeaderLimits {
            max_header_bytes: 128,
            max_headers: 4,
        },
        ..ClientRequest::new("example.com", "/", NONCE)
    };
    let mut c = ClientHandshake::new(&request).unwrap();
    let mut input = b"HTTP/1.1 101 Switching Protocols\r\nX: ".to_vec();
    input.extend(std::iter::repeat_n(b'y', 200));
    assert_eq!(
        c.handle_input(&input).unwrap_err(),
        HandshakeError::HeadTooLarge { max: 128 }
    );
}

// ---- properties ----

/// Feeds `input` split at `splits` (sorted positions) to a fresh parser; returns the
/// head (leftover taken out) and everything after the head.
type SplitRead = Result<Option<(RequestHead, Vec<u8>)>, HandshakeError>;

fn read_split(input: &[u8], splits: &[usize]) -> SplitRead {
    let mut parser = RequestParser::with_limits(HeaderLimits {
        max_header_bytes: 512,
        max_headers: 8,
    });
    let mut start = 0;
    for &end in splits.iter().chain(std::iter::once(&input.len())) {
        if end < start {
            continue;
        }
        if let Status::Complete(mut head) = parser.handle_input(&input[start..end])? {
            let mut leftover = head.take_leftover().to_vec();
            leftover.extend_from_slice(&input[end..]);
            return Ok(Some((head, leftover)));
        }
        start = end;
    }
    Ok(None)
}

fn request_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(RFC_REQUEST.to_vec()),
        // Valid-looking heads with random extra headers and trailing frames.
        (
            proptest::collection::vec(("[A-Za-z-]{1,12}", "[ -~]{0,40}"), 0..10),
            proptest::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(headers, tail)| {
                let mut r = RFC_REQUEST[..RFC_REQUEST.len() - 2].to_vec();
                for (n, v) in headers {
                    r.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                }
                r.extend_from_slice(b"\r\n");
                r.extend_from_slice(&tail);
                r
            }),
        // Arbitrary bytes, with CR/LF likely.
        proptest::collection::vec(
            prop_oneof![
                Just(b'\r'),
                Just(b'\n'),
                Just(b':'),
                Just(b' '),
                any::<u8>()
            ],
            0..600
        ),
    ]
}

proptest! {
    #[test]
    fn chunking_invariance(input in request_strategy(), mut splits in proptest::collection::vec(0usize..700, 0..20)) {
        splits.iter_mut().for_each(|s| *s = (*s).min(input.len()));
        splits.sort_unstable();
        splits.dedup();
        let whole = read_split(&input, &[]);
        let split = read_split(&input, &splits);
        prop_assert_eq!(&whole, &split);
        let every: Vec<usize> = (1..input.len()).collect();
        let bytewise = read_split(&input, &every);
        prop_assert_eq!(&whole, &bytewise);
        if let (Ok(Some((head, _))), Ok(Some((other, _)))) = (whole, split) {
            let server = ServerHandshake::new(head).map(|h| h.accept_key());
            prop_assert_eq!(server, ServerHandshake::new(other).map(|h| h.accept_key()));
        }
    }

    #[test]
    fn client_server_round_trip(
        nonce in any::<[u8; 16]>(),
        protocols in proptest::collection::btree_set("[a-z][a-z0-9.]{0,8}", 0..4),
        pick in any::<prop::sample::Index>(),
        deflate in any::<bool>(),
        frames in proptest::collection::vec(any::<u8>(), 0..32),
        split in any::<prop::sample::Index>(),
    ) {
        let protocols: Vec<&str> = protocols.iter().map(String::as_str).collect();
        let offer = deflate.then_some("permessage-deflate; client_max_window_bits");
        let request = ClientRequest {
            protocols: &protocols,
            extensions: offer,
            headers: &[("Origin", "http://example.com")],
            ..ClientRequest::new("example.com:8080", "/chat?room=1", nonce)
        };
        let mut client = ClientHandshake::new(&request).unwrap();
        let mut wire = BytesMut::new();
        client.write_request(&mut wire);

        let head = RequestParser::new().handle_input(&wire).unwrap().complete().unwrap();
        let server = ServerHandshake::new(head).unwrap();
        prop_assert_eq!(server.host(), "example.com:8080");
        prop_assert_eq!(server.path(), "/chat?room=1");
        prop_assert!(server.protocols().eq(protocols.iter().copied()));
        prop_assert_eq!(server.extensions().len(), usize::from(deflate));
        let chosen = (!protocols.is_empty()).then(|| protocols[pick.index(protocols.len())]);
        let answer = deflate.then_some("permessage-deflate; client_max_window_bits=12");
        let mut response = BytesMut::new();
        server.write_accept(&AcceptOptions { protocol: chosen, extensions: answer, headers: &[] }, &mut response).unwrap();
        response.extend_from_slice(&frames);

        let at = split.index(response.len() + 1);
        let accepted = match client.handle_input(&response[..at]).unwrap() {
            Status::Complete(mut accepted) => {
                let mut leftover = accepted.leftover.to_vec();
                leftover.extend_from_slice(&response[at..]);
                accepted.leftover = leftover.into();
                accepted
            }
            Status::Partial => client.handle_input(&response[at..]).unwrap().complete().unwrap(),
        };
        prop_assert_eq!(accepted.protocol.as_deref(), chosen);
        prop_assert_eq!(accepted.extensions().len(), usize::from(deflate));
        prop_assert_eq!(&accepted.leftover[..], &frames[..]);
    }

    #[test]
    fn extension_parser_never_panics_and_round_trips(s in "[a-z;=, \"\\\\\t-]{0,80}") {
        if let Ok(list) = parse_extensions(&s) {
            // Re-serialise with quoted values and parse again: same list.
            let text: Vec<String> = list.iter().map(|e| {
                let mut t = e.name.to_string();
                for p in &e.params {
                    t.push_str("; ");
                    t.push_str(p.name);
                    if let Some(v) = &p.value {
                        t.push_str(&format!("=\"{v}\""));
                    }
                }
                t
            }).collect();
            let text = text.join(", ");
            prop_assert_eq!(parse_extensions(&text).unwrap(), list);
        }
    }
}

// ---- the borrowed storage agrees with the owned one ----

/// Feeds `RequestParser::parse_borrowed` the growing prefixes of `input` ending at `ends`
/// (sorted), then the whole input. Returns the outcome and the prefix length at which
/// it stopped being `Partial`.
fn borrowed_split(input: &[u8], ends: &[usize], limits: HeaderLimits) -> (Outcome, usize) {
    let mut parser = RequestParser::with_limits(limits);
    for &end in ends.iter().chain(std::iter::once(&input.len())) {
        let mut slots = HeaderSlots::new();
        match parser.parse_borrowed(&input[..end], &mut slots) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete(head)) => {
                // The head is read from the prefix: its leftover is the rest of it.
                assert_eq!(head.len() + head.leftover().len(), end);
                let mut outcome = outcome(head);
                outcome.leftover.extend_from_slice(&input[end..]);
                if let Ok(upgrade) = &mut outcome.upgrade {
                    upgrade.leftover.extend_from_slice(&input[end..]);
                }
                return (Ok(Status::Complete(outcome)), end);
            }
            Err(error) => return (Err(error), end),
        }
    }
    (Ok(Status::Partial), input.len())
}

#[test]
fn both_storages_agree_on_every_vector() {
    let small = HeaderLimits {
        max_header_bytes: 64,
        max_headers: 3,
    };
    let mut long = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 20_000));
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..65 {
        many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
    }
    let mut at_cap = many.clone();
    at_cap.truncate(at_cap.len() - "X-64: 1\r\n".len());
    at_cap.extend_from_slice(b"\r\n\x81\x00");
    let mut with_frames = RFC_REQUEST.to_vec();
    with_frames.extend_from_slice(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
    let vectors: Vec<(&[u8], HeaderLimits)> = vec![
        (RFC_REQUEST, HeaderLimits::DEFAULT),
        (&with_frames, HeaderLimits::DEFAULT),
        (&RFC_REQUEST[..40], HeaderLimits::DEFAULT),
        (b"", HeaderLimits::DEFAULT),
        (b"\r\n\r\n", HeaderLimits::DEFAULT),
        (b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", HeaderLimits::DEFAULT),
        (b"GET / HTTP/1.1\nHost: a\n\nrest", HeaderLimits::DEFAULT),
        (b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", HeaderLimits::DEFAULT),
        (b"GET / HTTP/9.9\r\nHost: a\r\n\r\n", HeaderLimits::DEFAULT),
        (b"GET\r\n\r\n", HeaderLimits::DEFAULT),
        (b"\x00\x01\x02\r\n\r\n", HeaderLimits::DEFAULT),
        (b"GET / HTTP/1.1\r\nBad Header: x\r\n", HeaderLimits::DEFAULT),
        (b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", HeaderLimits::DEFAULT),
        (b"GET / HTTP/1.1\r\nHost: caf\xe9\r\n\r\n", HeaderLimits::DEFAULT),
        (b"GET / HTTP/1.1\r\nHost: a\r\nOrigin: \xff\r\n\r\n", HeaderLimits::DEFAULT),
        (b"GET / HTTP/1.0\r\nHost: a\r\n\r\n", HeaderLimits::DEFAULT),
        (
            b"POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
            HeaderLimits::DEFAULT,
        ),
        (
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            HeaderLimits::DEFAULT,
        ),
        (&long, HeaderLimits::DEFAULT),
        (&many, HeaderLimits::DEFAULT),
        (&at_cap, HeaderLimits::DEFAULT),
        (RFC_REQUEST, small),
        (b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n", small),
        (b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n", small),
        (b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", small),
    ];
    for (input, limits) in vectors {
        let whole = both_storages(input, limits);
        let every: Vec<usize> = (0..input.len()).collect();
        assert_eq!(borrowed_split(input, &every, limits).0, whole);
        assert_eq!(borrowed_split(input, &[], limits).0, whole);
    }
}

#[test]
fn borrowed_storage_caps_fields_at_the_slot_count() {
    // With `max_headers` above `HeaderSlots::CAPACITY` the borrowed storage refuses what
    // does not fit its slots, as documented; up to the capacity both storages agree.
    let limits = HeaderLimits {
        max_header_bytes: 1 << 20,
        max_headers: 200,
    };
    let mut request = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..HeaderSlots::CAPACITY {
        request.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    assert!(matches!(
        both_storages(&request, limits),
        Ok(Status::Complete(_))
    ));
    request.truncate(request.len() - 2);
    request.extend_from_slice(b"X-last: 1\r\n\r\n");
    assert!(matches!(
        owned_storage(&request, limits),
        Ok(Status::Complete(_))
    ));
    assert_eq!(
        borrowed_storage(&request, limits),
        Err(HandshakeError::TooManyHeaders { max: 64 })
    );
}

#[test]
fn parser_restarts_after_a_complete_head_or_a_shorter_buffer() {
    let mut parser = RequestParser::new();
    let mut slots = HeaderSlots::new();
    assert_eq!(
        parser.parse_borrowed(&RFC_REQUEST[..50], &mut slots),
        Ok(Status::Partial)
    );
    // A different, shorter buffer: read from its start.
    let mut slots = HeaderSlots::new();
    let head = parser
        .parse_borrowed(b"GET /x HTTP/1.1\r\n\r\n", &mut slots)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(head.path(), "/x");
    // After a complete head the next buffer is a new request; switching entry points
    // drops what the other one held.
    for held_by_the_owned_entry in [false, true] {
        if held_by_the_owned_entry {
            assert_eq!(parser.handle_input(&RFC_REQUEST[..50]), Ok(Status::Partial));
        }
        let mut slots = HeaderSlots::new();
        let head = parser
            .parse_borrowed(RFC_REQUEST, &mut slots)
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(head.len(), RFC_REQUEST.len());
        assert!(ServerHandshakeRef::new(head).is_ok());
    }
    let mut slots = HeaderSlots::new();
    assert_eq!(
        parser.parse_borrowed(&RFC_REQUEST[..50], &mut slots),
        Ok(Status::Partial)
    );
    let head = parser
        .handle_input(RFC_REQUEST)
        .unwrap()
        .complete()
        .unwrap();
    assert_eq!(head.path(), "/chat");
}

proptest! {
    #[test]
    fn borrowed_storage_chunking_invariance(
        input in request_strategy(),
        mut splits in proptest::collection::vec(0usize..700, 0..20),
    ) {
        let limits = HeaderLimits { max_header_bytes: 512, max_headers: 8 };
        splits.iter_mut().for_each(|s| *s = (*s).min(input.len()));
        splits.sort_unstable();
        splits.dedup();
        let whole = both_storages(&input, limits);
        prop_assert_eq!(&borrowed_split(&input, &splits, limits).0, &whole);
        // Byte by byte: Partial until the head is complete, then the same result.
        let every: Vec<usize> = (0..input.len()).collect();
        let (bytewise, stopped_at) = borrowed_split(&input, &every, limits);
        prop_assert_eq!(&bytewise, &whole);
        if let Ok(Status::Complete(outcome)) = &whole {
            prop_assert_eq!(stopped_at, input.len() - outcome.leftover.len());
        }
        // Every prefix, read at once by each storage, gives the same outcome.
        for end in 0..input.len() {
            prop_assert_eq!(borrowed_storage(&input[..end], limits), owned_storage(&input[..end], limits));
        }
    }
}

#[test]
fn fuzz_seed_corpus_runs_through_both_storages() {
    // Every seed (a chunk-size byte, then the request) gives the same outcome owned and
    // borrowed, read whole or byte by byte.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/handshake_request");
    let limits = HeaderLimits {
        max_header_bytes: 4096,
        max_headers: 32,
    };
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let input = data.get(1..).unwrap_or_default();
        let whole = both_storages(input, limits);
        let every: Vec<usize> = (1..input.len()).collect();
        assert_eq!(borrowed_split(input, &every, limits).0, whole);
        seeds += 1;
    }
    assert!(seeds >= 10);
}
