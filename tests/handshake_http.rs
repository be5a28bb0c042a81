//! The opening handshake through the `http` crate's types agrees with the byte path:
//! the same requests, given as bytes and as `http::request::Parts`, are accepted with
//! the same 101 or refused with the same error; the client's `http::Request` carries
//! the fields of the bytes it writes, and a response given as `http` parts is judged
//! as the same response read from bytes.
#![cfg(feature = "http")]

use bytes::BytesMut;
use proptest::prelude::*;
use socketwire::Status;
use socketwire::handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, HandshakeError, HeadStorage, RequestHead,
    RequestParser, ServerHandshake,
};

/// A header field as (lowercase name, value): how `http` names fields.
type Field = (String, Vec<u8>);

/// What a server made of one request: what the handshake shows, and the fields of the
/// response it answers with (the 101, or the refusal).
#[derive(Debug, PartialEq)]
struct Outcome {
    upgrade: Result<Upgrade, HandshakeError>,
    status: u16,
    response: Vec<Field>,
}

#[derive(Debug, PartialEq)]
struct Upgrade {
    path: String,
    host: String,
    origin: Option<String>,
    key: String,
    protocols: Vec<String>,
    extensions: Vec<String>,
}

/// The fields of an `http` head, in order.
fn fields_of(headers: &http::HeaderMap) -> Vec<Field> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}

/// The status and fields (names lowercased) of a response head written as bytes.
fn parse_response(bytes: &[u8]) -> (u16, Vec<Field>) {
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut slots);
    assert!(matches!(
        response.parse(bytes),
        Ok(httparse::Status::Complete(_))
    ));
    let fields = response
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    (response.code.unwrap_or_default(), fields)
}

/// The extension answer a server with default deflate settings gives.
fn deflate_answer<S: HeadStorage>(handshake: &ServerHandshake<S>) -> Option<String> {
    #[cfg(feature = "deflate")]
    {
        let offers = handshake.extensions();
        socketwire::deflate::DeflateConfig::default()
            .accept_offers(&offers)
            .map(|accepted| accepted.response)
    }
    #[cfg(not(feature = "deflate"))]
    {
        let _ = handshake;
        None
    }
}

const EXTRA: &[(&str, &str)] = &[("Set-Cookie", "session=1")];

/// Validates and answers, the 101 or the refusal, in both forms: the bytes the byte
/// path writes and the `http::Response` of the http path, which must agree.
fn serve<S: HeadStorage>(handshake: Result<ServerHandshake<S>, HandshakeError>) -> Outcome {
    let mut out = BytesMut::new();
    let (upgrade, response) = match handshake {
        Ok(handshake) => {
            let extensions = deflate_answer(&handshake);
            let options = AcceptOptions {
                protocol: handshake.protocols().next(),
                extensions: extensions.as_deref(),
                headers: EXTRA,
            };
            handshake.write_accept(&options, &mut out).unwrap();
            let response = handshake.accept_response(&options).unwrap();
            let upgrade = Upgrade {
                path: handshake.path().into(),
                host: handshake.host().into(),
                origin: handshake.origin().map(String::from),
                key: handshake.key().into(),
                protocols: handshake.protocols().map(String::from).collect(),
                extensions: handshake
                    .extensions()
                    .iter()
                    .map(|e| e.name.to_string())
                    .collect(),
            };
            (Ok(upgrade), response)
        }
        Err(error) => {
            error.write_response(&mut out);
            (Err(error.clone()), error.to_response())
        }
    };
    let (status, fields) = parse_response(&out);
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.version(), http::Version::HTTP_11);
    assert_eq!(fields_of(response.headers()), fields);
    Outcome {
        upgrade,
        status,
        response: fields,
    }
}

/// The byte path: the request read by the parser, validated, answered.
fn by_bytes(request: &[u8]) -> Outcome {
    let head = RequestParser::new()
        .handle_input(request)
        .expect("request parses")
        .complete()
        .expect("request complete");
    serve(ServerHandshake::new(head))
}

/// The request's head as `http` parts, as a host server would hand it over; `None`
/// if the `http` crate refuses a name, value or target.
fn parts_of(request: &[u8]) -> Option<http::request::Parts> {
    let head = RequestParser::new()
        .handle_input(request)
        .ok()?
        .complete()?;
    let version = match head.version().minor {
        0 => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    };
    let mut builder = http::Request::builder()
        .method(head.method())
        .uri(head.path())
        .version(version);
    for (name, value) in head.headers() {
        builder = builder.header(name, http::HeaderValue::from_bytes(value).ok()?);
    }
    Some(builder.body(()).ok()?.into_parts().0)
}

/// The http path: `from_http` on the parts, and `from_http_request` on the request,
/// which must agree.
fn by_http(parts: &http::request::Parts) -> Outcome {
    let outcome = serve(ServerHandshake::from_http(parts));
    let mut request = http::Request::new("body");
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = parts.uri.clone();
    *request.version_mut() = parts.version;
    *request.headers_mut() = parts.headers.clone();
    assert_eq!(serve(ServerHandshake::from_http_request(&request)), outcome);
    outcome
}

/// A request line and header lines, as bytes.
fn request(start: &str, fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = format!("{start}\r\n").into_bytes();
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

const VALID: &[(&str, &[u8])] = &[
    ("Host", b"server.example.com"),
    ("Upgrade", b"websocket"),
    ("Connection", b"Upgrade"),
    ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", b"13"),
];

/// `VALID` with the field `name` replaced by `value` (`None`: removed), or added.
fn valid_with(start: &str, name: &str, value: Option<&[u8]>) -> Vec<u8> {
    let mut fields: Vec<(&str, &[u8])> = VALID
        .iter()
        .copied()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
        .collect();
    if let Some(value) = value {
        fields.push((name, value));
    }
    request(start, &fields)
}

/// `VALID` plus `extra` fields, after it.
fn valid_plus(extra: &[(&str, &[u8])]) -> Vec<u8> {
    let fields: Vec<(&str, &[u8])> = VALID.iter().chain(extra).copied().collect();
    request("GET /chat HTTP/1.1", &fields)
}

const GET: &str = "GET /chat HTTP/1.1";

/// Requests and what both paths must make of them: accepted (`Ok`) or the error.
fn table() -> Vec<(&'static str, Vec<u8>, Result<(), HandshakeError>)> {
    use HandshakeError as E;
    vec![
        (
            "RFC 6455 §1.3 sample",
            request(
                GET,
                &[
                    ("Host", b"server.example.com"),
                    ("Upgrade", b"websocket"),
                    ("Connection", b"Upgrade"),
                    ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
                    ("Origin", b"http://example.com"),
                    ("Sec-WebSocket-Protocol", b"chat, superchat"),
                    ("Sec-WebSocket-Version", b"13"),
                ],
            ),
            Ok(()),
        ),
        (
            "query",
            valid_with("GET /chat?room=1&x=%20 HTTP/1.1", "", None),
            Ok(()),
        ),
        (
            "absolute-form target",
            valid_with("GET http://server.example.com/chat HTTP/1.1", "", None),
            Ok(()),
        ),
        (
            "repeated Connection",
            valid_plus(&[("Connection", b"keep-alive")]),
            Ok(()),
        ),
        (
            "Connection: Upgrade in the second field",
            request(
                GET,
                &[
                    VALID[0],
                    VALID[1],
                    ("Connection", b"keep-alive"),
                    VALID[3],
                    VALID[4],
                    ("Connection", b"Upgrade"),
                ],
            ),
            Ok(()),
        ),
        (
            "repeated Sec-WebSocket-Protocol",
            valid_plus(&[
                ("Sec-WebSocket-Protocol", b"chat"),
                ("Sec-WebSocket-Protocol", b"superchat"),
            ]),
            Ok(()),
        ),
        (
            "deflate offered twice",
            valid_plus(&[
                (
                    "Sec-WebSocket-Extensions",
                    b"permessage-deflate; client_max_window_bits; server_max_window_bits=10",
                ),
                ("Sec-WebSocket-Extensions", b"permessage-deflate, x-other"),
            ]),
            Ok(()),
        ),
        (
            "repeated Origin: the first counts",
            valid_plus(&[
                ("Origin", b"http://a.example"),
                ("Origin", b"http://b.example"),
            ]),
            Ok(()),
        ),
        (
            "OWS around values",
            valid_with(GET, "Upgrade", Some(b"  websocket \t")),
            Ok(()),
        ),
        (
            "other fields kept",
            valid_plus(&[("User-Agent", b"test"), ("Cookie", b"a=b")]),
            Ok(()),
        ),
        (
            "HTTP/1.0",
            valid_with("GET /chat HTTP/1.0", "", None),
            Err(E::HttpVersionTooOld),
        ),
        (
            "POST",
            valid_with("POST /chat HTTP/1.1", "", None),
            Err(E::MethodNotGet),
        ),
        (
            "lowercase get",
            valid_with("get /chat HTTP/1.1", "", None),
            Err(E::MethodNotGet),
        ),
        (
            "no Host",
            valid_with(GET, "Host", None),
            Err(E::MissingHost),
        ),
        (
            "two Hosts",
            valid_plus(&[("Host", b"other.example.com")]),
            Err(E::DuplicateHeader("Host")),
        ),
        (
            "Host not UTF-8",
            valid_with(GET, "Host", Some(b"caf\xe9")),
            Err(E::MalformedHttp("Host is not UTF-8")),
        ),
        (
            "Origin not UTF-8",
            valid_plus(&[("Origin", b"http://\xff.example")]),
            Err(E::MalformedHttp("Origin is not UTF-8")),
        ),
        (
            "UTF-8 Host",
            valid_with(GET, "Host", Some("café.example".as_bytes())),
            Ok(()),
        ),
        (
            "no Upgrade",
            valid_with(GET, "Upgrade", None),
            Err(E::MissingUpgradeWebsocket),
        ),
        (
            "Upgrade: h2c",
            valid_with(GET, "Upgrade", Some(b"h2c")),
            Err(E::MissingUpgradeWebsocket),
        ),
        (
            "no Connection",
            valid_with(GET, "Connection", None),
            Err(E::MissingConnectionUpgrade),
        ),
        (
            "no version",
            valid_with(GET, "Sec-WebSocket-Version", None),
            Err(E::MissingVersion),
        ),
        (
            "version 8",
            valid_with(GET, "Sec-WebSocket-Version", Some(b"8")),
            Err(E::UnsupportedVersion),
        ),
        (
            "two versions",
            valid_plus(&[("Sec-WebSocket-Version", b"13")]),
            Err(E::DuplicateHeader("Sec-WebSocket-Version")),
        ),
        (
            "no key",
            valid_with(GET, "Sec-WebSocket-Key", None),
            Err(E::MissingKey),
        ),
        (
            "short key",
            valid_with(GET, "Sec-WebSocket-Key", Some(b"dGhlIHNhbXBsZQ==")),
            Err(E::InvalidKey),
        ),
        (
            "two keys",
            valid_plus(&[("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ==")]),
            Err(E::DuplicateHeader("Sec-WebSocket-Key")),
        ),
        (
            "subprotocols not tokens",
            valid_plus(&[("Sec-WebSocket-Protocol", b"chat, super chat")]),
            Err(E::InvalidSubprotocolList),
        ),
        (
            "extensions malformed",
            valid_plus(&[("Sec-WebSocket-Extensions", b"permessage-deflate;;")]),
            Err(E::InvalidExtensionList { offset: 19 }),
        ),
    ]
}

#[test]
fn both_paths_agree_on_the_table() {
    for (name, bytes, expected) in table() {
        let from_bytes = by_bytes(&bytes);
        assert_eq!(
            from_bytes
                .upgrade
                .as_ref()
                .map(|_| ())
                .map_err(Clone::clone),
            expected,
            "{name}: byte path"
        );
        let parts = parts_of(&bytes).unwrap_or_else(|| panic!("{name}: http refuses it"));
        assert_eq!(by_http(&parts), from_bytes, "{name}");
    }
}

#[test]
fn rfc_sample_key_gives_the_rfc_accept_value() {
    let (_, bytes, _) = table().swap_remove(0);
    let parts = parts_of(&bytes).unwrap();
    let handshake = ServerHandshake::from_http(&parts).unwrap();
    assert_eq!(&handshake.accept_key(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(handshake.origin(), Some("http://example.com"));
    let options = AcceptOptions {
        protocol: Some("chat"),
        ..AcceptOptions::default()
    };
    let response = handshake.accept_response(&options).unwrap();
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    let expected: &[(&str, &str)] = &[
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ("sec-websocket-protocol", "chat"),
    ];
    let fields: Vec<(&str, &str)> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
        .collect();
    assert_eq!(fields, expected);
}

#[test]
fn repeated_fields_reach_the_handshake_in_order() {
    let bytes = valid_plus(&[
        ("Sec-WebSocket-Protocol", b"chat"),
        ("X-Other", b"1"),
        ("Sec-WebSocket-Protocol", b"superchat, v2"),
    ]);
    let handshake = ServerHandshake::from_http(&parts_of(&bytes).unwrap()).unwrap();
    assert!(handshake.protocols().eq(["chat", "superchat", "v2"]));
    let values: Vec<&[u8]> = handshake
        .head()
        .header_values("sec-websocket-protocol")
        .collect();
    assert_eq!(values, [&b"chat"[..], b"superchat, v2"]);
}

#[test]
fn http_1_0_and_non_get_are_refused_with_their_status() {
    for (start, error) in [
        ("GET /chat HTTP/1.0", HandshakeError::HttpVersionTooOld),
        ("PUT /chat HTTP/1.1", HandshakeError::MethodNotGet),
        ("CONNECT /chat HTTP/1.1", HandshakeError::MethodNotGet),
    ] {
        let parts = parts_of(&valid_with(start, "", None)).unwrap();
        assert_eq!(ServerHandshake::from_http(&parts).unwrap_err(), error);
        let response = error.to_response();
        assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["connection"], "close");
        assert_eq!(response.headers()["content-length"], "0");
    }
    let mut parts = parts_of(&valid_with(GET, "", None)).unwrap();
    parts.version = http::Version::HTTP_09;
    let error = ServerHandshake::from_http(&parts).unwrap_err();
    assert_eq!(error, HandshakeError::HttpVersionTooOld);
}

#[test]
fn an_http_2_request_cannot_carry_connection_and_is_refused() {
    let mut parts = parts_of(&valid_with(GET, "Connection", None)).unwrap();
    parts.version = http::Version::HTTP_2;
    let error = ServerHandshake::from_http(&parts).unwrap_err();
    assert_eq!(error, HandshakeError::MissingConnectionUpgrade);
}

#[test]
fn a_version_refusal_is_426_with_the_version_we_speak() {
    let parts = parts_of(&valid_with(GET, "Sec-WebSocket-Version", Some(b"8"))).unwrap();
    let error = ServerHandshake::from_http(&parts).unwrap_err();
    let response = error.to_response();
    assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert_eq!(response.headers()["upgrade"], "websocket");
    assert_eq!(response.headers()["connection"], "Upgrade, close");
}

#[test]
fn every_refusal_matches_its_bytes() {
    use HandshakeError as E;
    for error in [
        E::HeadTooLarge { max: 1 },
        E::TooManyHeaders { max: 1 },
        E::UnsupportedTransferEncoding,
        E::AmbiguousBodyLength,
        E::MissingVersion,
        E::MissingKey,
    ] {
        let mut out = BytesMut::new();
        error.write_response(&mut out);
        let response = error.to_response();
        assert_eq!(
            (response.status().as_u16(), fields_of(response.headers())),
            parse_response(&out)
        );
        assert_eq!(response.status().as_u16(), error.status());
    }
}

#[test]
fn accept_response_misuse_is_the_byte_path_misuse() {
    let parts = parts_of(&valid_with(GET, "", None)).unwrap();
    let handshake = ServerHandshake::from_http(&parts).unwrap();
    for options in [
        AcceptOptions {
            protocol: Some("chat"),
            ..AcceptOptions::default()
        },
        AcceptOptions {
            extensions: Some("permessage-deflate;;"),
            ..AcceptOptions::default()
        },
        AcceptOptions {
            headers: &[("Bad Name", "x")],
            ..AcceptOptions::default()
        },
        AcceptOptions {
            headers: &[("X", "a\r\nInjected: 1")],
            ..AcceptOptions::default()
        },
    ] {
        let mut out = BytesMut::new();
        let bytes = handshake.write_accept(&options, &mut out).unwrap_err();
        assert_eq!(handshake.accept_response(&options).unwrap_err(), bytes);
    }
}

// ---- client ----

/// A client offering two subprotocols and two extensions, with an extra field.
fn client() -> ClientHandshake {
    let request = ClientRequest {
        protocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate; client_max_window_bits, x-test"),
        headers: &[("Origin", "http://example.com"), ("Cookie", "a=b")],
        ..ClientRequest::new("example.com:8080", "/chat?room=1", [0; 16])
    };
    ClientHandshake::new(&request).unwrap()
}

#[test]
fn client_request_carries_the_fields_of_the_bytes() {
    let client = client();
    let mut out = BytesMut::new();
    client.write_request(&mut out);
    let mut slots = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Request::new(&mut slots);
    assert!(matches!(
        parsed.parse(&out),
        Ok(httparse::Status::Complete(_))
    ));
    let request = client.to_request().unwrap();
    assert_eq!(request.method().as_str(), parsed.method.unwrap());
    assert_eq!(request.uri().to_string(), parsed.path.unwrap());
    assert_eq!(request.uri().path(), "/chat");
    assert_eq!(request.uri().query(), Some("room=1"));
    assert_eq!(request.version(), http::Version::HTTP_11);
    let fields: Vec<Field> = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    assert_eq!(fields_of(request.headers()), fields);
    assert_eq!(request.headers()["sec-websocket-version"], "13");
    assert_eq!(
        request.headers()["sec-websocket-key"],
        "AAAAAAAAAAAAAAAAAAAAAA=="
    );

    // And a server given that request accepts it.
    let handshake = ServerHandshake::from_http_request(&request).unwrap();
    assert!(handshake.protocols().eq(["chat", "superchat"]));
    assert_eq!(handshake.origin(), Some("http://example.com"));
}

#[test]
fn client_paths_the_http_crate_refuses_are_misuse() {
    for byte in b'!'..=b'~' {
        let path = format!("/a{}b", char::from(byte));
        let client = ClientHandshake::new(&ClientRequest::new("example.com", &path, [0; 16]))
            .expect("visible ASCII is a request target");
        match (client.to_request(), http::Uri::try_from(path.as_str())) {
            (Ok(request), Ok(uri)) => assert_eq!(request.uri(), &uri),
            (Err(error), Err(_)) => {
                assert_eq!(error, socketwire::handshake::HandshakeMisuse::InvalidPath);
            }
            (request, uri) => panic!("{path}: {request:?} but {uri:?}"),
        }
    }
}

/// The response's head as `http` parts.
fn response_parts(bytes: &[u8]) -> http::response::Parts {
    let mut slots = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut slots);
    assert!(matches!(
        parsed.parse(bytes),
        Ok(httparse::Status::Complete(_))
    ));
    let mut builder = http::Response::builder().status(parsed.code.unwrap());
    for h in parsed.headers.iter() {
        builder = builder.header(h.name, h.value);
    }
    builder.body(()).unwrap().into_parts().0
}

/// What a client made of a response.
#[derive(Debug, PartialEq)]
struct Judged {
    protocol: Option<String>,
    extensions: Vec<String>,
    fields: Vec<Field>,
}

/// The subprotocol, the extensions' names and the fields of an accepted response.
fn judged(
    accepted: Result<socketwire::handshake::AcceptedResponse, HandshakeError>,
) -> Result<Judged, HandshakeError> {
    accepted.map(|a| Judged {
        extensions: a.extensions().iter().map(|e| e.name.to_string()).collect(),
        fields: a
            .response
            .headers()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
            .collect(),
        protocol: a.protocol,
    })
}

const ACCEPT: &[u8] = b"Sec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n";

fn response(status: &str, fields: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for field in fields {
        out.extend_from_slice(field);
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[test]
fn client_response_checks_agree_with_the_byte_path() {
    use HandshakeError as E;
    let up: &[u8] = b"Upgrade: websocket\r\n";
    let conn: &[u8] = b"Connection: Upgrade\r\n";
    let switching = "101 Switching Protocols";
    let cases: Vec<(&str, Vec<u8>, Result<(), E>)> =
        vec![
        ("plain", response(switching, &[up, conn, ACCEPT]), Ok(())),
        (
            "subprotocol and extension",
            response(
                switching,
                &[
                    up,
                    conn,
                    ACCEPT,
                    b"Sec-WebSocket-Protocol: superchat\r\n",
                    b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n",
                    b"Sec-WebSocket-Extensions: x-test\r\n",
                ],
            ),
            Ok(()),
        ),
        (
            "status 200",
            response("200 OK", &[up, conn, ACCEPT]),
            Err(E::UnexpectedStatus(200)),
        ),
        (
            "no Upgrade",
            response(switching, &[conn, ACCEPT]),
            Err(E::MissingUpgradeWebsocket),
        ),
        (
            "no Connection",
            response(switching, &[up, ACCEPT]),
            Err(E::MissingConnectionUpgrade),
        ),
        (
            "no accept",
            response(switching, &[up, conn]),
            Err(E::MissingAccept),
        ),
        (
            "wrong accept",
            response(
                switching,
                &[up, conn, b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"],
            ),
            Err(E::AcceptMismatch),
        ),
        (
            "two accepts",
            response(switching, &[up, conn, ACCEPT, ACCEPT]),
            Err(E::DuplicateHeader("Sec-WebSocket-Accept")),
        ),
        (
            "unoffered subprotocol",
            response(switching, &[up, conn, ACCEPT, b"Sec-WebSocket-Protocol: other\r\n"]),
            Err(E::UnofferedSubprotocol),
        ),
        (
            "two subprotocols in one",
            response(
                switching,
                &[up, conn, ACCEPT, b"Sec-WebSocket-Protocol: chat, superchat\r\n"],
            ),
            Err(E::InvalidSubprotocolList),
        ),
        (
            "two subprotocol fields",
            response(
                switching,
                &[
                    up,
                    conn,
                    ACCEPT,
                    b"Sec-WebSocket-Protocol: chat\r\n",
                    b"Sec-WebSocket-Protocol: chat\r\n",
                ],
            ),
            Err(E::DuplicateHeader("Sec-WebSocket-Protocol")),
        ),
        (
            "unoffered extension",
            response(
                switching,
                &[up, conn, ACCEPT, b"Sec-WebSocket-Extensions: x-other\r\n"],
            ),
            Err(E::UnofferedExtension),
        ),
        (
            "malformed extensions",
            response(
                switching,
                &[up, conn, ACCEPT, b"Sec-WebSocket-Extensions: x-test;\r\n"],
            ),
            Err(E::InvalidExtensionList { offset: 7 }),
        ),
    ];
    for (name, bytes, expected) in cases {
        let from_bytes = match client().handle_input(&bytes) {
            Ok(Status::Complete(accepted)) => Ok(accepted),
            Ok(Status::Partial) => panic!("{name}: partial"),
            Err(error) => Err(error),
        };
        let from_bytes = judged(from_bytes);
        assert_eq!(
            from_bytes.as_ref().map(|_| ()).map_err(Clone::clone),
            expected,
            "{name}: byte path"
        );
        let parts = response_parts(&bytes);
        let from_parts = client().check_response(&parts);
        if let Ok(accepted) = &from_parts {
            assert!(accepted.leftover.is_empty(), "{name}");
            assert_eq!(accepted.response.status(), 101);
        }
        assert_eq!(judged(from_parts), from_bytes, "{name}");
        let whole = http::Response::from_parts(parts, ());
        assert_eq!(
            judged(client().check_http_response(&whole)),
            from_bytes,
            "{name}"
        );
    }
}

#[test]
fn a_server_101_passes_the_client_checks() {
    let client = client();
    let request = client.to_request().unwrap();
    let handshake = ServerHandshake::from_http_request(&request).unwrap();
    let options = AcceptOptions {
        protocol: Some("superchat"),
        extensions: Some("x-test"),
        ..AcceptOptions::default()
    };
    let response = handshake.accept_response(&options).unwrap();
    let accepted = client.check_http_response(&response).unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("superchat"));
    assert_eq!(accepted.extensions()[0].name, "x-test");
}

// ---- random header sets ----

/// Values for the random header sets: valid and invalid handshake values, text
/// that is UTF-8 and text that is not.
const VALUES: &[&[u8]] = &[
    b"websocket",
    b"Upgrade",
    b"keep-alive, upgrade",
    b"dGhlIHNhbXBsZSBub25jZQ==",
    b"dGhlIHNhbXBsZSBub25jZR==",
    b"13",
    b"8",
    b"chat, superchat",
    b"a b",
    b"permessage-deflate; client_max_window_bits",
    b"permessage-deflate; server_max_window_bits=8",
    b"x;=",
    b"example.com",
    b"caf\xc3\xa9",
    b"caf\xe9",
    b"",
];

fn field_strategy() -> impl Strategy<Value = (String, Vec<u8>)> {
    let name = prop::sample::select(
        &[
            "Host",
            "host",
            "Origin",
            "Upgrade",
            "connection",
            "Connection",
            "Sec-WebSocket-Key",
            "sec-websocket-version",
            "Sec-WebSocket-Protocol",
            "Sec-WebSocket-Extensions",
            "User-Agent",
            "Hosts",
        ][..],
    );
    let value = prop::sample::select(VALUES);
    (name, value).prop_map(|(n, v)| (n.to_owned(), v.to_vec()))
}

/// `fields` in the order a `HeaderMap` keeps them: grouped by name, names in the
/// order they first appear.
fn grouped(fields: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<String> = Vec::new();
    for (name, _) in fields {
        let name = name.to_ascii_lowercase();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
        .iter()
        .flat_map(|name| {
            fields
                .iter()
                .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
                .cloned()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random header sets: the http path gives the outcome of the byte path fed the
    /// fields in the `HeaderMap`'s order, and of the byte path fed them as sent, but
    /// for which repeated field a `DuplicateHeader` names.
    #[test]
    fn random_header_sets_agree(
        start in prop::sample::select(&[
            "GET /chat HTTP/1.1", "GET / HTTP/1.0", "POST /chat HTTP/1.1", "GET /a?b=c HTTP/1.1",
        ][..]),
        fields in proptest::collection::vec(field_strategy(), 0..10),
    ) {
        let as_fields = |fields: &[(String, Vec<u8>)]| {
            let fields: Vec<(&str, &[u8])> =
                fields.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
            request(start, &fields)
        };
        let sent = as_fields(&fields);
        let parts = parts_of(&sent).expect("the http crate takes these fields");
        let from_http = by_http(&parts);
        prop_assert_eq!(&from_http, &by_bytes(&as_fields(&grouped(&fields))));
        let from_bytes = by_bytes(&sent);
        match (&from_http.upgrade, &from_bytes.upgrade) {
            (Err(HandshakeError::DuplicateHeader(_)), Err(HandshakeError::DuplicateHeader(_))) => {
                prop_assert_eq!(from_http.status, from_bytes.status);
                prop_assert_eq!(&from_http.response, &from_bytes.response);
            }
            _ => prop_assert_eq!(&from_http, &from_bytes),
        }
    }
}

#[test]
fn owned_head_from_http_equals_the_head_read_from_bytes() {
    let bytes = valid_plus(&[("X-A", b"1"), ("x-a", b"2"), ("X-B", b" padded ")]);
    let read = RequestParser::new()
        .handle_input(&bytes)
        .unwrap()
        .complete()
        .unwrap();
    let built = RequestHead::from_http(&parts_of(&bytes).unwrap());
    assert_eq!((built.method(), built.path()), (read.method(), read.path()));
    assert_eq!(built.version(), read.version());
    let lower = |head: &RequestHead| -> Vec<Field> {
        head.headers()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec()))
            .collect()
    };
    assert_eq!(lower(&built), lower(&read));
    assert_eq!(built.header("x-b"), Some(&b"padded"[..]));
}
