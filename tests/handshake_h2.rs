//! WebSockets over HTTP/2 (RFC 8441): the extended CONNECT, server and client side.
//! The RFC's example, every refusal with its status, and properties: the RFC 6455
//! rules decide an extended CONNECT as they decide the HTTP/1.1 request for the same
//! WebSocket, and what the client builds the server accepts.
#![cfg(feature = "http")]

use proptest::prelude::*;
use socketwire::handshake::{
    AcceptOptions, ClientRequest, ExtendedConnect, ExtendedConnectClient, ExtendedConnectError,
    HandshakeError, HandshakeMisuse, ServerHandshake, WEBSOCKET_PROTOCOL,
};

/// An extended CONNECT to `uri` with `fields`, as an HTTP/2 server hands it over.
fn connect(uri: &str, fields: &[(&str, &str)]) -> http::request::Parts {
    let mut request = http::Request::connect(uri).version(http::Version::HTTP_2);
    for (name, value) in fields {
        request = request.header(*name, *value);
    }
    request.body(()).unwrap().into_parts().0
}

fn validated(
    uri: &str,
    fields: &[(&str, &str)],
    protocol: Option<&str>,
) -> Result<ExtendedConnect, ExtendedConnectError> {
    ExtendedConnect::from_http(&connect(uri, fields), protocol)
}

const VERSION: (&str, &str) = ("sec-websocket-version", "13");

/// Header fields as (name, value).
type Fields<'a> = &'a [(&'a str, &'a str)];

/// A refused request: method, URI, fields, `:protocol`, the error and its status.
type Refusal<'a> = (
    &'a str,
    &'a str,
    Fields<'a>,
    Option<&'a str>,
    ExtendedConnectError,
    u16,
);

// https://www.rfc-editor.org/rfc/rfc8441#section-5.1
#[test]
fn the_rfc_8441_example() {
    let fields = [
        ("sec-websocket-protocol", "chat, superchat"),
        ("sec-websocket-extensions", "permessage-deflate"),
        VERSION,
        ("origin", "http://www.example.com"),
    ];
    let connect = validated(
        "https://server.example.com/chat",
        &fields,
        Some("websocket"),
    )
    .unwrap();
    assert_eq!(connect.authority(), "server.example.com");
    assert_eq!(connect.path(), "/chat");
    assert_eq!(connect.origin(), Some("http://www.example.com"));
    assert!(connect.protocols().eq(["chat", "superchat"]));
    assert_eq!(connect.extensions()[0].name, "permessage-deflate");
    let options = AcceptOptions {
        protocol: Some("chat"),
        ..AcceptOptions::default()
    };
    let response = connect.accept_response(&options).unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers().len(), 1);
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
}

// https://www.rfc-editor.org/rfc/rfc9220#section-3
// The extended CONNECT of RFC 8441 on an HTTP/3 request stream: the same checks.
#[test]
fn the_same_request_over_http3() {
    let mut parts = connect("https://server.example.com/chat", &[VERSION]);
    parts.version = http::Version::HTTP_3;
    let connect = ExtendedConnect::from_http(&parts, Some("websocket")).unwrap();
    assert_eq!(connect.path(), "/chat");
    let response = connect.accept_response(&AcceptOptions::default()).unwrap();
    assert_eq!(response.status(), 200);
    parts
        .headers
        .insert("connection", "Upgrade".parse().unwrap());
    assert_eq!(
        ExtendedConnect::from_http(&parts, Some("websocket")).unwrap_err(),
        ExtendedConnectError::ConnectionSpecificField("Connection")
    );
}

#[test]
fn the_client_builds_the_rfc_example_and_reads_its_answer() {
    let request = ClientRequest {
        protocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate"),
        headers: &[("origin", "http://www.example.com")],
        ..ClientRequest::new("server.example.com", "/chat", [7; 16])
    };
    let client = ExtendedConnectClient::new(&request, "https").unwrap();
    let built = client.to_request().unwrap();
    assert_eq!(built.method(), http::Method::CONNECT);
    assert_eq!(built.version(), http::Version::HTTP_2);
    assert_eq!(built.uri(), "https://server.example.com/chat");
    let names: Vec<_> = built.headers().keys().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "sec-websocket-version",
            "sec-websocket-protocol",
            "sec-websocket-extensions",
            "origin"
        ]
    );
    assert_eq!(built.headers()["sec-websocket-protocol"], "chat, superchat");

    // The server takes what the client built.
    let (parts, ()) = built.into_parts();
    let connect = ExtendedConnect::from_http(&parts, Some(WEBSOCKET_PROTOCOL)).unwrap();
    let options = AcceptOptions {
        protocol: Some("chat"),
        extensions: Some("permessage-deflate"),
        headers: &[("set-cookie", "a=b")],
    };
    let response = connect.accept_response(&options).unwrap();
    let accepted = client.check_http_response(&response).unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("chat"));
    assert_eq!(accepted.extensions()[0].name, "permessage-deflate");
    assert_eq!(accepted.response.status(), 200);
    assert_eq!(
        accepted.response.header_values("set-cookie").next(),
        Some(&b"a=b"[..])
    );
    assert!(accepted.leftover.is_empty());
}

#[test]
fn every_refusal_has_its_status() {
    let cases: &[Refusal<'_>] = &[
        (
            "GET",
            "https://a/chat",
            &[VERSION],
            Some("websocket"),
            ExtendedConnectError::MethodNotConnect,
            400,
        ),
        (
            "CONNECT",
            "https://a/chat",
            &[VERSION],
            None,
            ExtendedConnectError::MissingProtocol,
            501,
        ),
        (
            "CONNECT",
            "https://a/chat",
            &[VERSION],
            Some("connect-udp"),
            ExtendedConnectError::UnsupportedProtocol,
            501,
        ),
        (
            "CONNECT",
            "a:443",
            &[VERSION],
            Some("websocket"),
            ExtendedConnectError::MissingScheme,
            400,
        ),
        (
            "CONNECT",
            "ftp://a/chat",
            &[VERSION],
            Some("websocket"),
            ExtendedConnectError::InvalidScheme,
            400,
        ),
        (
            "CONNECT",
            "/chat",
            &[VERSION],
            Some("websocket"),
            ExtendedConnectError::MissingScheme,
            400,
        ),
        (
            "CONNECT",
            "https://a/chat",
            &[VERSION, ("upgrade", "websocket")],
            Some("websocket"),
            ExtendedConnectError::ConnectionSpecificField("Upgrade"),
            400,
        ),
        (
            "CONNECT",
            "https://a/chat",
            &[VERSION, ("connection", "Upgrade")],
            Some("websocket"),
            ExtendedConnectError::ConnectionSpecificField("Connection"),
            400,
        ),
        (
            "CONNECT",
            "https://a/chat",
            &[],
            Some("websocket"),
            ExtendedConnectError::Handshake(HandshakeError::MissingVersion),
            400,
        ),
        (
            "CONNECT",
            "https://a/chat",
            &[("sec-websocket-version", "8")],
            Some("websocket"),
            ExtendedConnectError::Handshake(HandshakeError::UnsupportedVersion),
            400,
        ),
        (
            "CONNECT",
            "https://a/chat",
            &[VERSION, VERSION],
            Some("websocket"),
            ExtendedConnectError::Handshake(HandshakeError::DuplicateHeader(
                "Sec-WebSocket-Version",
            )),
            400,
        ),
        (
            "CONNECT",
            "https://a/chat",
            &[VERSION, ("sec-websocket-protocol", "a b")],
            Some("websocket"),
            ExtendedConnectError::Handshake(HandshakeError::InvalidSubprotocolList),
            400,
        ),
        (
            "CONNECT",
            "https://a/chat",
            &[VERSION, ("sec-websocket-extensions", "x;=")],
            Some("websocket"),
            ExtendedConnectError::Handshake(HandshakeError::InvalidExtensionList { offset: 2 }),
            400,
        ),
    ];
    for (method, uri, fields, protocol, error, status) in cases {
        let mut request = http::Request::builder()
            .method(*method)
            .uri(*uri)
            .version(http::Version::HTTP_2);
        for (name, value) in *fields {
            request = request.header(*name, *value);
        }
        let request = request.body(()).unwrap();
        let got = ExtendedConnect::from_http_request(&request, *protocol).unwrap_err();
        assert_eq!(&got, error, "{method} {uri} {fields:?}");
        assert_eq!(got.status(), *status, "{got}");
        let response = got.to_response();
        assert_eq!(response.status(), *status);
        let names_version = response.headers().get("sec-websocket-version");
        let is_version = matches!(
            got,
            ExtendedConnectError::Handshake(
                HandshakeError::MissingVersion | HandshakeError::UnsupportedVersion
            )
        );
        assert_eq!(names_version.is_some(), is_version, "{got}");
        // No connection-specific field in an HTTP/2 response (RFC 9113 §8.2.2).
        assert!(response.headers().get("connection").is_none());
        assert!(response.headers().get("upgrade").is_none());
    }
}

#[test]
fn an_origin_that_is_not_text_is_refused_as_over_http_1_1() {
    let mut parts = connect("https://a/", &[VERSION]);
    parts.headers.insert(
        "origin",
        http::HeaderValue::from_bytes(b"http://caf\xe9").unwrap(),
    );
    let error = ExtendedConnect::from_http(&parts, Some("websocket")).unwrap_err();
    assert_eq!(
        error,
        ExtendedConnectError::Handshake(HandshakeError::MalformedHttp("Origin is not UTF-8"))
    );
}

#[test]
fn a_key_is_ignored_and_a_host_gives_way_to_the_authority() {
    let fields = [
        VERSION,
        ("sec-websocket-key", "not a key"),
        ("host", "other.example"),
    ];
    let connect = validated("https://a.example:8443/x?y=1", &fields, Some("WebSocket")).unwrap();
    assert_eq!(connect.authority(), "a.example:8443");
    assert_eq!(connect.path(), "/x?y=1");
    let response = connect.accept_response(&AcceptOptions::default()).unwrap();
    assert!(response.headers().get("sec-websocket-accept").is_none());
}

#[test]
fn the_accept_is_checked_as_the_101_is() {
    let connect = validated("https://a/", &[VERSION], Some("websocket")).unwrap();
    let bad = [
        (
            AcceptOptions {
                protocol: Some("chat"),
                ..AcceptOptions::default()
            },
            HandshakeMisuse::SubprotocolNotOffered,
        ),
        (
            AcceptOptions {
                extensions: Some("x;="),
                ..AcceptOptions::default()
            },
            HandshakeMisuse::InvalidExtensions,
        ),
        (
            AcceptOptions {
                headers: &[("a b", "c")],
                ..AcceptOptions::default()
            },
            HandshakeMisuse::InvalidHeaderName,
        ),
        (
            AcceptOptions {
                headers: &[("a", "c\r\nd: e")],
                ..AcceptOptions::default()
            },
            HandshakeMisuse::InvalidHeaderValue,
        ),
    ];
    for (options, misuse) in bad {
        assert_eq!(connect.accept_response(&options).unwrap_err(), misuse);
    }
}

#[test]
fn the_client_refuses_what_a_101_check_refuses() {
    let request = ClientRequest {
        protocols: &["chat"],
        extensions: Some("permessage-deflate"),
        ..ClientRequest::new("a", "/", [0; 16])
    };
    let client = ExtendedConnectClient::new(&request, "https").unwrap();
    let response = |status: u16, fields: &[(&str, &str)]| {
        let mut response = http::Response::builder().status(status);
        for (name, value) in fields {
            response = response.header(*name, *value);
        }
        response.body(()).unwrap().into_parts().0
    };
    let cases: &[(u16, Fields<'_>, HandshakeError)] = &[
        (101, &[], HandshakeError::UnexpectedStatus(101)),
        (400, &[VERSION], HandshakeError::UnexpectedStatus(400)),
        (501, &[], HandshakeError::UnexpectedStatus(501)),
        (
            200,
            &[("sec-websocket-protocol", "other")],
            HandshakeError::UnofferedSubprotocol,
        ),
        (
            200,
            &[
                ("sec-websocket-protocol", "chat"),
                ("sec-websocket-protocol", "chat"),
            ],
            HandshakeError::DuplicateHeader("Sec-WebSocket-Protocol"),
        ),
        (
            200,
            &[("sec-websocket-extensions", "x-other")],
            HandshakeError::UnofferedExtension,
        ),
        (
            200,
            &[("sec-websocket-extensions", "permessage-deflate;=")],
            HandshakeError::InvalidExtensionList { offset: 19 },
        ),
    ];
    for (status, fields, error) in cases {
        assert_eq!(
            &client
                .check_response(&response(*status, fields))
                .unwrap_err(),
            error,
            "{status} {fields:?}"
        );
    }
    // A 2xx other than 200 also opens the tunnel; an accept value is not processed.
    let ok = response(204, &[("sec-websocket-accept", "anything")]);
    assert!(client.check_response(&ok).is_ok());
}

#[test]
fn client_mistakes_are_misuse() {
    let repeated = ClientRequest {
        protocols: &["chat", "chat"],
        ..ClientRequest::new("a", "/", [0; 16])
    };
    assert_eq!(
        ExtendedConnectClient::new(&repeated, "https").unwrap_err(),
        HandshakeMisuse::InvalidSubprotocol
    );
    let spaced = ClientRequest::new("a", "/a b", [0; 16]);
    assert_eq!(
        ExtendedConnectClient::new(&spaced, "http").unwrap_err(),
        HandshakeMisuse::InvalidPath
    );
    let upgrade = ClientRequest {
        headers: &[("upgrade", "websocket"), ("x-a", "1")],
        ..ClientRequest::new("a", "/", [0; 16])
    };
    let request = ExtendedConnectClient::new(&upgrade, "https")
        .unwrap()
        .to_request()
        .unwrap();
    assert!(request.headers().get("upgrade").is_none());
    assert_eq!(request.headers()["x-a"], "1");
}

fn field() -> impl Strategy<Value = (&'static str, &'static str)> {
    let name = prop::sample::select(
        &[
            "sec-websocket-version",
            "sec-websocket-protocol",
            "sec-websocket-extensions",
            "sec-websocket-key",
            "origin",
            "user-agent",
        ][..],
    );
    let value = prop::sample::select(
        &[
            "13",
            "8",
            "chat, superchat",
            "a b",
            "permessage-deflate; client_max_window_bits",
            "x;=",
            "dGhlIHNhbXBsZSBub25jZQ==",
            "http://example.com",
            "",
        ][..],
    );
    (name, value)
}

proptest! {
    /// The extended CONNECT is judged as the HTTP/1.1 request for the same WebSocket
    /// (the same fields plus `Host`, `Upgrade`, `Connection` and a key), by the same
    /// rules: accepted with the same view, or refused with the same error.
    #[test]
    fn extended_connect_agrees_with_the_http_1_1_upgrade(
        fields in proptest::collection::vec(field(), 0..8),
    ) {
        let without_key: Vec<_> = fields.iter().copied().filter(|(n, _)| *n != "sec-websocket-key").collect();
        let h2 = validated("https://example.com/chat", &fields, Some("websocket"));
        let mut upgrade = vec![
            ("host", "example.com"),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        upgrade.extend(without_key);
        let mut request = http::Request::get("/chat");
        for (name, value) in &upgrade {
            request = request.header(*name, *value);
        }
        let h1 = ServerHandshake::from_http_request(&request.body(()).unwrap());
        match (h2, h1) {
            (Ok(h2), Ok(h1)) => {
                prop_assert!(h2.protocols().eq(h1.protocols()));
                prop_assert_eq!(h2.extensions(), h1.extensions());
                prop_assert_eq!(h2.origin(), h1.origin());
            }
            (Err(ExtendedConnectError::Handshake(h2)), Err(h1)) => prop_assert_eq!(h2, h1),
            (h2, h1) => prop_assert!(false, "h2 {:?} vs h1 {:?}", h2.map(|_| ()), h1.map(|_| ())),
        }
    }

    /// What the client builds, the server accepts, and the server's 200 for an
    /// offered subprotocol the client takes.
    #[test]
    fn client_and_server_agree(
        protocols in proptest::sample::subsequence(&["chat", "superchat", "graphql-ws", "v1.proto"][..], 0..4),
        pick in any::<prop::sample::Index>(),
        deflate in any::<bool>(),
        path in "/[a-z0-9/?=&]{0,20}",
    ) {
        let request = ClientRequest {
            protocols: &protocols,
            extensions: deflate.then_some("permessage-deflate; client_max_window_bits"),
            ..ClientRequest::new("example.com:443", &path, [0; 16])
        };
        let client = ExtendedConnectClient::new(&request, "https").unwrap();
        let (parts, ()) = client.to_request().unwrap().into_parts();
        let connect = ExtendedConnect::from_http(&parts, Some(WEBSOCKET_PROTOCOL)).unwrap();
        prop_assert_eq!(connect.path(), path.as_str());
        prop_assert!(connect.protocols().eq(protocols.iter().copied()));
        let chosen = (!protocols.is_empty()).then(|| *pick.get(&protocols));
        let options = AcceptOptions {
            protocol: chosen,
            extensions: deflate.then_some("permessage-deflate"),
            ..AcceptOptions::default()
        };
        let response = connect.accept_response(&options).unwrap();
        let accepted = client.check_http_response(&response).unwrap();
        prop_assert_eq!(accepted.protocol.as_deref(), chosen);
        prop_assert_eq!(accepted.extensions().len(), usize::from(deflate));
    }
}
