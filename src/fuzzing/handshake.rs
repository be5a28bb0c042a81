//! Fuzz harnesses for the opening handshake.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::BytesMut;

use crate::Status;
use crate::handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, HandshakeError, HeadStorage, HeaderLimits,
    HeaderSlots, HttpVersion, RequestHead, RequestParser, ServerHandshake,
};

/// Splits `data` into a chunk-size seed (first byte) and the input, and yields chunks
/// of pseudo-random sizes derived from the seed.
fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let (seed, mut rest) = match data.split_first() {
        Some((&s, rest)) => (s, rest),
        None => (0, data),
    };
    let mut state = u32::from(seed) | 1;
    core::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        // xorshift; chunk sizes 1..=64, or everything when the seed is 0.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = if seed == 0 {
            rest.len()
        } else {
            (state % 64) as usize + 1
        };
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        Some(chunk)
    })
}

/// What a server made of one request: the head as read, and every byte it wrote
/// (the 101 or the error response). Equal for the owned and the borrowed storage.
#[derive(Debug, PartialEq)]
struct Served {
    method: String,
    path: String,
    version: HttpVersion,
    headers: Vec<(String, Vec<u8>)>,
    leftover: Vec<u8>,
    content_length: Result<Option<u64>, HandshakeError>,
    is_websocket_upgrade: bool,
    protocols: Vec<String>,
    extensions: Vec<OwnedOffer>,
    out: BytesMut,
}

/// An extension offer as (name, parameters as (name, value)), owned.
type OwnedOffer = (String, Vec<(String, Option<String>)>);

const LIMITS: HeaderLimits = HeaderLimits {
    max_header_bytes: 4096,
    max_headers: 32,
};

/// Server side: one parser fed random chunks (owned heads), another fed the growing
/// buffer at the same boundaries (borrowed heads), small limits to reach the caps;
/// then validation and the 101 or error response. Both storages must agree on
/// everything, call after call.
pub fn request(data: &[u8]) {
    let input = data.get(1..).unwrap_or_default();
    let mut owned = RequestParser::with_limits(LIMITS);
    let mut borrowed = RequestParser::with_limits(LIMITS);
    let mut end = 0;
    for chunk in chunks(data) {
        end += chunk.len();
        let from_owned = owned.handle_input(chunk).map(|status| {
            assert!(owned.buffered_len() <= LIMITS.max_header_bytes);
            status.complete().map(|head| {
                assert!(head.leftover().len() <= chunk.len());
                serve(head)
            })
        });
        let buffer = input.get(..end).unwrap_or_default();
        let mut slots = HeaderSlots::new();
        let from_borrowed = borrowed.parse_borrowed(buffer, &mut slots).map(|status| {
            status.complete().map(|head| {
                assert_eq!(head.len() + head.leftover().len(), buffer.len());
                serve(head)
            })
        });
        assert_eq!(from_owned, from_borrowed);
        match from_owned {
            Ok(None) => {}
            Ok(Some(_)) => return,
            Err(error) => {
                assert!(matches!(error.status(), 400 | 426 | 431));
                let mut out = BytesMut::new();
                error.write_response(&mut out);
                assert!(out.ends_with(b"\r\n\r\n"));
                return;
            }
        }
    }
}

/// Reads everything the API shows of `head`, validates it and answers it.
fn serve<S: HeadStorage>(head: RequestHead<S>) -> Served {
    #[cfg(feature = "http")]
    let from_http = http_upgrade(&head);
    let mut served = Served {
        method: head.method().into(),
        path: head.path().into(),
        version: head.version(),
        headers: head
            .headers()
            .map(|(n, v)| (n.into(), v.to_vec()))
            .collect(),
        leftover: head.leftover().to_vec(),
        content_length: head.content_length(),
        is_websocket_upgrade: head.is_websocket_upgrade(),
        protocols: Vec::new(),
        extensions: Vec::new(),
        out: BytesMut::new(),
    };
    let leftover_len = head.leftover().len();
    let handshake = ServerHandshake::new(head);
    #[cfg(feature = "http")]
    if let Some(from_http) = from_http {
        let from_bytes = upgrade(&handshake, false);
        match (&from_http, &from_bytes) {
            (Err(HandshakeError::DuplicateHeader(_)), Err(HandshakeError::DuplicateHeader(_))) => {}
            _ => assert_eq!(from_http, from_bytes),
        }
    }
    match handshake {
        Ok(handshake) => {
            served.protocols = handshake.protocols().map(String::from).collect();
            served.extensions = handshake
                .extensions()
                .into_iter()
                .map(|offer| {
                    let params = offer.params.into_iter();
                    let params = params.map(|p| (p.name.into(), p.value.map(String::from)));
                    (offer.name.into(), params.collect())
                })
                .collect();
            let options = AcceptOptions {
                protocol: handshake.protocols().next(),
                extensions: Some("permessage-deflate"),
                headers: &[],
            };
            assert!(handshake.write_accept(&options, &mut served.out).is_ok());
            assert!(served.out.starts_with(b"HTTP/1.1 101 "));
            assert_eq!(handshake.into_leftover().len(), leftover_len);
        }
        Err(error) => {
            assert!(matches!(error.status(), 400 | 426 | 431));
            error.write_response(&mut served.out);
        }
    }
    served
}

/// What validating and answering a request showed, in either form of the request.
#[cfg(feature = "http")]
type Upgrade = Result<(String, String, Option<String>, Vec<String>, BytesMut), HandshakeError>;

/// The http path on `head`: the same head given as `http::request::Parts` (when the
/// `http` crate takes its method, target, names and values), validated and answered.
/// The caller checks it agrees with the byte path, but for which repeated field a
/// `DuplicateHeader` names (a `HeaderMap` groups fields by name).
#[cfg(feature = "http")]
fn http_upgrade<S: HeadStorage>(head: &RequestHead<S>) -> Option<Upgrade> {
    let parts = http_parts(head)?;
    let built = RequestHead::from_http(&parts);
    if built.path() != head.path() {
        return None; // the http crate rewrote the target (e.g. a scheme's case)
    }
    assert_eq!(built.method(), head.method());
    assert_eq!(built.version(), head.version());
    // The same fields, grouped by name in the order names first appear.
    let mut grouped: Vec<(String, &[u8])> = Vec::new();
    for (name, _) in head.headers() {
        let name = name.to_ascii_lowercase();
        if grouped.iter().all(|(n, _)| *n != name) {
            let values: Vec<&[u8]> = head.header_values(&name).collect();
            grouped.extend(values.into_iter().map(|v| (name.clone(), v)));
        }
    }
    assert!(
        built
            .headers()
            .map(|(n, v)| (String::from(n), v))
            .eq(grouped)
    );
    Some(upgrade(&ServerHandshake::from_http(&parts), true))
}

/// `head` as `http` request parts, if the `http` crate takes it.
#[cfg(feature = "http")]
fn http_parts<S: HeadStorage>(head: &RequestHead<S>) -> Option<http::request::Parts> {
    let version = match head.version() {
        HttpVersion::HTTP_1_0 => http::Version::HTTP_10,
        HttpVersion::HTTP_1_1 => http::Version::HTTP_11,
        _ => return None,
    };
    let mut request = http::Request::new(());
    *request.method_mut() = http::Method::from_bytes(head.method().as_bytes()).ok()?;
    *request.uri_mut() = http::Uri::try_from(head.path()).ok()?;
    *request.version_mut() = version;
    for (name, value) in head.headers() {
        let name = http::HeaderName::from_bytes(name.as_bytes()).ok()?;
        let value = http::HeaderValue::from_bytes(value).ok()?;
        request.headers_mut().try_append(name, value).ok()?;
    }
    Some(request.into_parts().0)
}

/// Validates and answers; with `check_http`, also checks that the `http` forms of the
/// answer carry the status and fields of its bytes.
#[cfg(feature = "http")]
fn upgrade<S: HeadStorage>(
    handshake: &Result<ServerHandshake<S>, HandshakeError>,
    check_http: bool,
) -> Upgrade {
    let mut out = BytesMut::new();
    let handshake = match handshake {
        Ok(handshake) => handshake,
        Err(error) => {
            error.write_response(&mut out);
            if check_http {
                same_head(&error.to_response(), &out);
            }
            return Err(error.clone());
        }
    };
    let options = AcceptOptions {
        protocol: handshake.protocols().next(),
        extensions: Some("permessage-deflate"),
        headers: &[],
    };
    assert!(handshake.write_accept(&options, &mut out).is_ok());
    if check_http {
        let Ok(response) = handshake.accept_response(&options) else {
            panic!("accept_response fails where write_accept does not");
        };
        same_head(&response, &out);
    }
    Ok((
        handshake.path().into(),
        handshake.host().into(),
        handshake.origin().map(String::from),
        handshake.protocols().map(String::from).collect(),
        out,
    ))
}

/// `response` has the status and the fields, in order, of the head `bytes`.
#[cfg(feature = "http")]
fn same_head(response: &http::Response<()>, bytes: &[u8]) {
    let mut slots = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut slots);
    assert!(matches!(
        parsed.parse(bytes),
        Ok(httparse::Status::Complete(_))
    ));
    assert_eq!(Some(response.status().as_u16()), parsed.code);
    let expected: Vec<(String, &[u8])> = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value))
        .collect();
    let fields: Vec<(String, &[u8])> = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().into(), v.as_bytes()))
        .collect();
    assert_eq!(fields, expected);
}

/// Client side: the response reader and §4.1 checks, fed in random chunks.
pub fn response(data: &[u8]) {
    let input_len = data.len();
    let request = ClientRequest {
        protocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate; client_max_window_bits, x-test"),
        limits: HeaderLimits {
            max_header_bytes: 4096,
            max_headers: 32,
        },
        ..ClientRequest::new("example.com", "/chat", [0; 16])
    };
    let Ok(mut client) = ClientHandshake::new(&request) else {
        panic!("the fixed request is valid");
    };
    let mut out = BytesMut::new();
    client.write_request(&mut out);
    for chunk in chunks(data) {
        let result = match client.handle_input(chunk) {
            Ok(Status::Partial) => continue,
            Ok(Status::Complete(accepted)) => {
                assert!(accepted.leftover.len() <= input_len);
                assert_eq!(accepted.response.status(), 101);
                if let Some(p) = &accepted.protocol {
                    assert!(p == "chat" || p == "superchat");
                }
                Ok(accepted)
            }
            Err(error) => Err(error),
        };
        #[cfg(feature = "http")]
        http_response_agrees(&client, data.get(1..).unwrap_or_default(), result);
        #[cfg(not(feature = "http"))]
        let _ = result;
        return;
    }
}

/// The client's checks on a response given as `http::response::Parts` (the head at
/// the start of `input`, when httparse reads it whole and the `http` crate takes it)
/// agree with its checks on the bytes, which gave `from_bytes`. The one difference
/// allowed: which of two field errors (a repeated field, malformed extensions) comes
/// first, since a `HeaderMap` groups fields by name.
#[cfg(feature = "http")]
fn http_response_agrees(
    client: &ClientHandshake,
    input: &[u8],
    from_bytes: Result<crate::handshake::AcceptedResponse, HandshakeError>,
) {
    if let Err(
        HandshakeError::MalformedHttp(_)
        | HandshakeError::HeadTooLarge { .. }
        | HandshakeError::TooManyHeaders { .. },
    ) = from_bytes
    {
        return; // the head was not read: nothing to convert
    }
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut slots);
    let Ok(httparse::Status::Complete(_)) = parsed.parse(input) else {
        return;
    };
    let Ok(status) = http::StatusCode::from_u16(parsed.code.unwrap_or_default()) else {
        return;
    };
    let mut response = http::Response::new(());
    *response.status_mut() = status;
    for field in parsed.headers.iter() {
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(field.name.as_bytes()),
            http::HeaderValue::from_bytes(field.value),
        ) else {
            return;
        };
        response.headers_mut().append(name, value);
    }
    let judge = |accepted: Result<crate::handshake::AcceptedResponse, HandshakeError>| {
        accepted.map(|accepted| {
            let extensions = accepted.extensions();
            let names: Vec<String> = extensions.iter().map(|e| e.name.into()).collect();
            (accepted.response.status(), accepted.protocol, names)
        })
    };
    let from_http = judge(client.check_http_response(&response));
    let from_bytes = judge(from_bytes);
    let field_error = |result: &Result<_, HandshakeError>| {
        matches!(
            result,
            Err(HandshakeError::DuplicateHeader(_) | HandshakeError::InvalidExtensionList { .. })
        )
    };
    if !(field_error(&from_http) && field_error(&from_bytes)) {
        assert_eq!(from_http, from_bytes);
    }
}

/// WebSockets over HTTP/2 (RFC 8441): an extended CONNECT from bytes, as lines: the
/// method, the URI, the `:protocol` (empty for none), then `name: value` fields.
/// Never panics; a refusal has a 400 or 501 and names the version exactly when the
/// version is wrong; an acceptance answers a 200 without connection fields, and
/// agrees with the HTTP/1.1 upgrade of the same fields (the one set of RFC 6455
/// rules); the same fields as a `200` for an offering client are judged without
/// panic and only ever choose what was offered.
#[cfg(feature = "http")]
pub fn extended_connect(data: &[u8]) {
    use crate::handshake::{ExtendedConnect, ExtendedConnectClient, ExtendedConnectError};

    let mut lines = data.split(|&b| b == b'\n');
    let (Some(method), Some(uri), Some(protocol)) = (lines.next(), lines.next(), lines.next())
    else {
        return;
    };
    let (Ok(method), Ok(uri)) = (http::Method::from_bytes(method), http::Uri::try_from(uri)) else {
        return;
    };
    let protocol = core::str::from_utf8(protocol)
        .ok()
        .filter(|p| !p.is_empty());
    let mut request = http::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = http::Version::HTTP_2;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii();
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(&line[..colon]),
            http::HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        request.headers_mut().append(name, value);
    }

    let judged = ExtendedConnect::from_http_request(&request, protocol);
    match &judged {
        Ok(connect) => {
            let response = connect
                .accept_response(&AcceptOptions::default())
                .expect("the default answer is valid");
            assert_eq!(response.status(), 200);
            for name in ["connection", "upgrade", "sec-websocket-accept"] {
                assert!(response.headers().get(name).is_none());
            }
        }
        Err(error) => {
            assert!(matches!(error.status(), 400 | 501), "{error}");
            let is_version = matches!(
                error,
                ExtendedConnectError::Handshake(
                    HandshakeError::MissingVersion | HandshakeError::UnsupportedVersion
                )
            );
            let response = error.to_response();
            assert_eq!(
                response.headers().get("sec-websocket-version").is_some(),
                is_version
            );
        }
    }

    // The one set of rules: the HTTP/1.1 upgrade of the same fields decides alike.
    let authority = request.uri().authority().map(|a| String::from(a.as_str()));
    let path = request
        .uri()
        .path_and_query()
        .map(|p| String::from(p.as_str()));
    let passed_h2_checks = match &judged {
        Ok(_) => true,
        Err(ExtendedConnectError::Handshake(_)) => true,
        Err(_) => false,
    };
    if let (true, Some(authority), Some(path)) = (passed_h2_checks, authority, path) {
        let mut upgrade = http::Request::get(path.as_str());
        upgrade = upgrade
            .header("host", authority.as_str())
            .header("upgrade", "websocket")
            .header("connection", "Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        for (name, value) in request.headers() {
            if name != "host" && name != "sec-websocket-key" {
                upgrade = upgrade.header(name, value);
            }
        }
        if let Ok(upgrade) = upgrade.body(()) {
            let h1 = ServerHandshake::from_http_request(&upgrade);
            match (&judged, &h1) {
                (Ok(h2), Ok(h1)) => {
                    assert!(h2.protocols().eq(h1.protocols()));
                    assert_eq!(h2.extensions(), h1.extensions());
                }
                // A field-order difference: which of two repeated fields is named.
                (
                    Err(ExtendedConnectError::Handshake(HandshakeError::DuplicateHeader(_))),
                    Err(_),
                )
                | (Err(_), Err(HandshakeError::DuplicateHeader(_))) => {}
                (Err(ExtendedConnectError::Handshake(h2)), Err(h1)) => assert_eq!(h2, h1),
                (h2, h1) => panic!("h2 {:?} but h1 {:?}", h2.as_ref().err(), h1.as_ref().err()),
            }
        }
    }

    // The client side: the fields as the server's 200 to a client that offered.
    let offer = ClientRequest {
        protocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate"),
        ..ClientRequest::new("example.com", "/", [0; 16])
    };
    let client = ExtendedConnectClient::new(&offer, "https").expect("a valid offer");
    let mut response = http::Response::new(());
    *response.headers_mut() = request.headers().clone();
    if let Ok(accepted) = client.check_http_response(&response) {
        assert!(matches!(
            accepted.protocol.as_deref(),
            None | Some("chat" | "superchat")
        ));
        assert!(
            accepted
                .extensions()
                .iter()
                .all(|e| e.name.eq_ignore_ascii_case("permessage-deflate"))
        );
    }
}

#[cfg(all(test, feature = "http"))]
mod extended_connect_mixed {
    // The seeds are the corpus in fuzz/corpus/handshake_extended_connect/ (the RFC 8441
    // §5.1 example and the refusals), run by the corpus test in src/fuzzing/mod.rs.

    proptest::proptest! {
        /// Requests put together from the seeds' lines pass the harness.
        #[test]
        fn mixed_requests_pass_the_harness(
            head in proptest::sample::select(&["CONNECT\nhttps://a/chat\nwebsocket", "CONNECT\nhttp://a:80/?q\nWebSocket", "CONNECT\nhttps://a/\n", "CONNECT\na:1\nwebsocket"][..]),
            fields in proptest::collection::vec(proptest::sample::select(&[
                "sec-websocket-version: 13", "sec-websocket-version: 8", "sec-websocket-protocol: chat",
                "sec-websocket-protocol: a b", "sec-websocket-protocol: ", "sec-websocket-extensions: permessage-deflate",
                "sec-websocket-extensions: x;=", "sec-websocket-extensions: other", "origin: http://o", "host: b",
                "sec-websocket-key: k", "connection: Upgrade", "upgrade: websocket", "sec-websocket-accept: x",
            ][..]), 0..8),
        ) {
            let mut data = alloc::string::String::from(head);
            for field in fields {
                data.push('\n');
                data.push_str(field);
            }
            super::extended_connect(data.as_bytes());
        }
    }
}
