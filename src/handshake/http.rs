//! The opening handshake from and to the [`http`] crate's types: what a host HTTP
//! server or client (hyper, axum…) hands over on an upgrade, and what it sends.
//!
//! Nothing here validates or writes a handshake of its own:
//!
//! - in: a request's [`Parts`](http::request::Parts) become an owned [`RequestHead`]
//!   ([`RequestHead::from_http`]), which [`ServerHandshake::new`] validates with every
//!   §4.2.1 rule, as it does a head read from bytes; a response's
//!   [`Parts`](http::response::Parts) become a [`ResponseHead`] that the client's §4.1
//!   checks read ([`ClientHandshake::check_response`]);
//! - out: a refusal ([`HandshakeError::to_response`]) and the client's request
//!   ([`ClientHandshake::to_request`]) are the bytes the byte path writes
//!   ([`HandshakeError::write_response`], [`ClientHandshake::write_request`]), parsed
//!   back into `http` types: one writer, so the two forms carry the same fields in the
//!   same order. The `101` ([`ServerHandshake::accept_response`]), which answers every
//!   accepted connection, is built directly, after the checks
//!   [`ServerHandshake::write_accept`] makes (one function); the tests and the fuzz
//!   harness hold its fields equal to the bytes `write_accept` writes.
//!
//! Two things a head built from `http` types cannot tell, and how they show:
//!
//! - [`HeaderMap`] keeps the order of the values of one name, not the order across
//!   names, so fields arrive grouped by name. No rule depends on that order, except
//!   which of two field errors is found first: which of two different repeated
//!   fields (say `Host` and `Sec-WebSocket-Key`) a
//!   [`HandshakeError::DuplicateHeader`] names, or, in a response, whether a repeated
//!   field or malformed extensions. The head is refused either way.
//! - The [`HeaderLimits`](super::HeaderLimits) caps are the byte reader's: a host
//!   server applied its own while it read the head, so none is applied again here.

use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use http::header::{
    CONNECTION, HeaderMap, HeaderName, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS,
    SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use http::{Method, Request, Response, StatusCode, Uri, Version};

use super::head::{HeadStorage, HttpVersion, RequestHead};
use super::response::ResponseHead;
use super::server::AcceptOptions;
use super::{AcceptedResponse, ClientHandshake, HandshakeError, HandshakeMisuse, ServerHandshake};

impl RequestHead {
    /// Builds a head from the parts of a request a host HTTP server (hyper, axum…)
    /// already parsed: its method, version, target and every header field, repeated
    /// ones included, values without their leading and trailing whitespace. Values
    /// stay bytes ([`HeaderValue`] takes obs-text), so a `Host` or `Origin` that is not
    /// UTF-8 is refused by the validation as when read from bytes
    /// ([`HandshakeError::MalformedHttp`]).
    ///
    /// The target is the path and query of an origin-form URI (`/chat?room=1`, what
    /// hyper gives for HTTP/1.1); any other URI is kept whole, as the byte reader
    /// keeps an absolute-form target.
    ///
    /// ```
    /// use socketwire::handshake::{HttpVersion, RequestHead};
    /// let request = http::Request::get("/chat?room=1")
    ///     .header("host", "example.com")
    ///     .header("upgrade", "websocket")
    ///     .body(())
    ///     .unwrap();
    /// let (parts, ()) = request.into_parts();
    /// let head = RequestHead::from_http(&parts);
    /// assert_eq!((head.method(), head.path()), ("GET", "/chat?room=1"));
    /// assert_eq!(head.version(), HttpVersion::HTTP_1_1);
    /// assert!(head.is_websocket_upgrade());
    /// ```
    pub fn from_http(parts: &http::request::Parts) -> RequestHead {
        head_of(&parts.method, &parts.uri, parts.version, &parts.headers)
    }
}

/// The owned head of a request given as `http` parts.
fn head_of(method: &Method, uri: &Uri, version: Version, headers: &HeaderMap) -> RequestHead {
    let target = match uri.path_and_query() {
        Some(origin_form) if uri.scheme().is_none() && uri.authority().is_none() => {
            origin_form.as_str().into()
        }
        _ => uri.to_string(),
    };
    RequestHead::from_parts(method.as_str(), http_version(version), &target, headers)
}

/// The `major.minor` of an `http` version. HTTP/2 and HTTP/3 heads cannot carry the
/// `Connection` field, so their upgrade requests are refused by the validation
/// (`MissingConnectionUpgrade`); WebSockets over them (RFC 8441 / RFC 9220 extended
/// CONNECT) are [`ExtendedConnect`](super::ExtendedConnect)'s.
// https://www.rfc-editor.org/rfc/rfc9113#section-8.2.2
// "An endpoint MUST NOT generate an HTTP/2 message containing connection-specific
// header fields." (RFC 9114 §4.2 says the same of HTTP/3.)
pub(super) fn http_version(version: Version) -> HttpVersion {
    let (major, minor) = match version {
        Version::HTTP_09 => (0, 9),
        Version::HTTP_10 => (1, 0),
        Version::HTTP_11 => (1, 1),
        Version::HTTP_2 => (2, 0),
        Version::HTTP_3 => (3, 0),
        // No other version exists; one would be refused as too old.
        _ => (0, 0),
    };
    HttpVersion { major, minor }
}

impl ServerHandshake {
    /// Validates the parts of an upgrade request a host HTTP server (hyper, axum…)
    /// already parsed, with every rule of RFC 6455 §4.2.1: the head is built by
    /// [`RequestHead::from_http`] and validated by [`ServerHandshake::new`], the code
    /// that validates a head read from bytes, so the outcome is the same. Answer with
    /// [`accept_response`](ServerHandshake::accept_response), or refuse with
    /// [`HandshakeError::to_response`].
    ///
    /// Two differences a `HeaderMap` makes: its fields come grouped by name, which
    /// changes nothing but which of two different repeated fields a
    /// [`HandshakeError::DuplicateHeader`] names; and the
    /// [`HeaderLimits`](super::HeaderLimits) are not applied again (the host server's
    /// parser applied its own caps).
    ///
    /// ```
    /// use socketwire::handshake::{HandshakeError, ServerHandshake};
    /// let request = http::Request::get("/chat")
    ///     .header("host", "example.com")
    ///     .header("upgrade", "websocket")
    ///     .header("connection", "keep-alive, Upgrade")
    ///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    ///     .header("sec-websocket-version", "13")
    ///     .body(())
    ///     .unwrap();
    /// let (mut parts, ()) = request.into_parts();
    /// let handshake = ServerHandshake::from_http(&parts).unwrap();
    /// assert_eq!(&handshake.accept_key(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    ///
    /// parts.version = http::Version::HTTP_10;
    /// let error = ServerHandshake::from_http(&parts).unwrap_err();
    /// assert_eq!(error, HandshakeError::HttpVersionTooOld);
    /// ```
    pub fn from_http(parts: &http::request::Parts) -> Result<ServerHandshake, HandshakeError> {
        ServerHandshake::new(RequestHead::from_http(parts))
    }

    /// [`from_http`](ServerHandshake::from_http) for a whole request, borrowed, so
    /// that it stays available for the host server's upgrade (e.g.
    /// `hyper::upgrade::on(&mut request)`). The body is not read.
    ///
    /// ```
    /// use socketwire::handshake::{HandshakeError, ServerHandshake};
    /// let request = http::Request::post("/chat")
    ///     .header("host", "example.com")
    ///     .body("a body")
    ///     .unwrap();
    /// let error = ServerHandshake::from_http_request(&request).unwrap_err();
    /// assert_eq!(error, HandshakeError::MethodNotGet);
    /// assert_eq!(error.status(), 400);
    /// ```
    pub fn from_http_request<B>(request: &Request<B>) -> Result<ServerHandshake, HandshakeError> {
        let head = head_of(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
        );
        ServerHandshake::new(head)
    }
}

impl<S: HeadStorage> ServerHandshake<S> {
    /// The `101 Switching Protocols` response (§4.2.2) as an [`http::Response`]: the
    /// status and header fields [`write_accept`](ServerHandshake::write_accept)
    /// writes (`Upgrade`, `Connection`, `Sec-WebSocket-Accept`, the chosen
    /// subprotocol and extensions, the extra headers), in its order. Fails as
    /// `write_accept` does.
    ///
    /// ```
    /// use socketwire::handshake::{AcceptOptions, HandshakeMisuse, ServerHandshake};
    /// let request = http::Request::get("/chat")
    ///     .header("host", "example.com")
    ///     .header("upgrade", "websocket")
    ///     .header("connection", "Upgrade")
    ///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    ///     .header("sec-websocket-version", "13")
    ///     .header("sec-websocket-protocol", "chat, superchat")
    ///     .body(())
    ///     .unwrap();
    /// let handshake = ServerHandshake::from_http_request(&request).unwrap();
    /// let options = AcceptOptions { protocol: Some("chat"), ..AcceptOptions::default() };
    /// let response = handshake.accept_response(&options).unwrap();
    /// assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    /// assert_eq!(response.headers()["upgrade"], "websocket");
    /// assert_eq!(response.headers()["connection"], "Upgrade");
    /// assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    ///
    /// let other = AcceptOptions { protocol: Some("other"), ..AcceptOptions::default() };
    /// assert_eq!(handshake.accept_response(&other).unwrap_err(), HandshakeMisuse::SubprotocolNotOffered);
    /// ```
    pub fn accept_response(
        &self,
        options: &AcceptOptions<'_>,
    ) -> Result<Response<()>, HandshakeMisuse> {
        self.check_accept(options)?;
        // The fields `write_accept` writes, in its order (the tests hold the two
        // forms equal), built directly: a 101 answers every accepted connection.
        let mut fields = HeaderMap::new();
        fields.append(UPGRADE, HeaderValue::from_static("websocket"));
        fields.append(CONNECTION, HeaderValue::from_static("Upgrade"));
        fields.append(SEC_WEBSOCKET_ACCEPT, field_value(&self.accept_key())?);
        append_accept_options(&mut fields, options)?;
        let mut response = Response::new(());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        *response.version_mut() = Version::HTTP_11;
        *response.headers_mut() = fields;
        Ok(response)
    }
}

/// A field value the caller chose, or [`HandshakeMisuse::InvalidHeaderValue`].
fn field_value(text: &[u8]) -> Result<HeaderValue, HandshakeMisuse> {
    HeaderValue::from_bytes(text).map_err(|_| HandshakeMisuse::InvalidHeaderValue)
}

/// Appends what an accepting response carries besides its status, after
/// [`ServerHandshake::check_accept`]: the chosen subprotocol, the extensions and the
/// extra fields, in [`write_accept`](ServerHandshake::write_accept)'s order. The
/// HTTP/1.1 `101` and the HTTP/2 and HTTP/3 `200` of an extended CONNECT
/// ([`ExtendedConnect::accept_response`](super::ExtendedConnect::accept_response))
/// both add them here.
pub(super) fn append_accept_options(
    fields: &mut HeaderMap,
    options: &AcceptOptions<'_>,
) -> Result<(), HandshakeMisuse> {
    let mut add = |name: HeaderName, value: HeaderValue| {
        fields
            .try_append(name, value)
            .map_err(|_| HandshakeMisuse::InvalidHeaderValue)
    };
    if let Some(protocol) = options.protocol {
        add(SEC_WEBSOCKET_PROTOCOL, field_value(protocol.as_bytes())?)?;
    }
    if let Some(extensions) = options.extensions {
        add(
            SEC_WEBSOCKET_EXTENSIONS,
            field_value(extensions.as_bytes())?,
        )?;
    }
    for (name, text) in options.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HandshakeMisuse::InvalidHeaderName)?;
        add(name, field_value(text.as_bytes())?)?;
    }
    Ok(())
}

impl HandshakeError {
    /// The reply a server refuses a request with, as an [`http::Response`]: the status
    /// ([`status`](HandshakeError::status)) and header fields
    /// [`write_response`](HandshakeError::write_response) writes (426 carries
    /// `Sec-WebSocket-Version: 13` and `Upgrade: websocket`; every reply
    /// `Connection: close` and `Content-Length: 0`). Close the connection after
    /// sending it.
    ///
    /// ```
    /// use socketwire::handshake::HandshakeError;
    /// let response = HandshakeError::UnsupportedVersion.to_response();
    /// assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
    /// assert_eq!(response.headers()["sec-websocket-version"], "13");
    /// assert_eq!(response.headers()["upgrade"], "websocket");
    /// assert_eq!(HandshakeError::MissingKey.to_response().status(), 400);
    /// ```
    pub fn to_response(&self) -> Response<()> {
        let mut out = BytesMut::new();
        self.write_response(&mut out);
        response_of(&out).unwrap_or_else(|_| {
            // The reply is one of a few fixed heads, which parse; were one not to, the
            // status alone still says why.
            debug_assert!(false, "error reply does not parse: {out:?}");
            let mut response = Response::new(());
            *response.status_mut() =
                StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
            response
        })
    }
}

impl ClientHandshake {
    /// The opening handshake request as an [`http::Request`], to send through a host
    /// HTTP client (e.g. hyper's `client::conn::http1`, which writes the target as
    /// given): `GET`, HTTP/1.1, the path as an origin-form URI, and the header fields
    /// [`write_request`](ClientHandshake::write_request) writes (`Host` first), in
    /// its order. Fails with [`HandshakeMisuse::InvalidPath`] when the `http` crate
    /// does not take the path as a URI.
    ///
    /// ```
    /// use socketwire::handshake::{ClientHandshake, ClientRequest};
    /// let request = ClientRequest { protocols: &["chat"], ..ClientRequest::new("example.com", "/chat", [0; 16]) };
    /// let client = ClientHandshake::new(&request).unwrap();
    /// let request = client.to_request().unwrap();
    /// assert_eq!((request.method(), request.uri().path()), (&http::Method::GET, "/chat"));
    /// assert_eq!(request.headers()["host"], "example.com");
    /// assert_eq!(request.headers()["sec-websocket-key"], "AAAAAAAAAAAAAAAAAAAAAA==");
    /// assert_eq!(request.headers()["sec-websocket-protocol"], "chat");
    /// ```
    pub fn to_request(&self) -> Result<Request<()>, HandshakeMisuse> {
        let mut out = BytesMut::new();
        self.write_request(&mut out);
        let mut slots = slots_for(&out);
        let mut parsed = httparse::Request::new(&mut slots);
        let parsed_whole = matches!(parsed.parse(&out), Ok(httparse::Status::Complete(_)));
        debug_assert!(parsed_whole, "the request written does not parse: {out:?}");
        let uri = Uri::try_from(parsed.path.unwrap_or_default())
            .map_err(|_| HandshakeMisuse::InvalidPath)?;
        let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
            .map_err(|_| HandshakeMisuse::InvalidPath)?;
        let mut request = Request::new(());
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = header_map(parsed.headers)?;
        Ok(request)
    }

    /// Checks the parts of the server's response a host HTTP client (hyper…) already
    /// parsed, as §4.1 requires: the checks [`handle_input`](ClientHandshake::handle_input)
    /// applies to a response read from bytes (status 101, `Upgrade: websocket`,
    /// `Connection: Upgrade`, the `Sec-WebSocket-Accept` value, a subprotocol and
    /// extensions we offered), run on a [`ResponseHead`] built from the parts. The
    /// reason phrase is the status code's canonical one; the
    /// [`leftover`](AcceptedResponse::leftover) is empty (the host client holds the
    /// upgraded connection's bytes).
    ///
    /// ```
    /// use socketwire::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// let client = ClientHandshake::new(&ClientRequest::new("example.com", "/chat", [0; 16])).unwrap();
    /// let response = http::Response::builder()
    ///     .status(101)
    ///     .header("upgrade", "websocket")
    ///     .header("connection", "Upgrade")
    ///     .header("sec-websocket-accept", "ICX+Yqv66kxgM0FcWaLWlFLwTAI=")
    ///     .body(())
    ///     .unwrap();
    /// let (parts, ()) = response.into_parts();
    /// let accepted = client.check_response(&parts).unwrap();
    /// assert_eq!(accepted.protocol, None);
    /// assert!(accepted.leftover.is_empty());
    ///
    /// let refused = http::Response::builder().status(403).body(()).unwrap().into_parts().0;
    /// assert_eq!(client.check_response(&refused).unwrap_err(), HandshakeError::UnexpectedStatus(403));
    /// ```
    pub fn check_response(
        &self,
        parts: &http::response::Parts,
    ) -> Result<AcceptedResponse, HandshakeError> {
        self.check(
            response_head_of(parts.status, parts.version, &parts.headers),
            Bytes::new(),
        )
    }

    /// [`check_response`](ClientHandshake::check_response) for a whole response,
    /// borrowed, so that it stays available for the host client's upgrade (e.g.
    /// `hyper::upgrade::on(&mut response)`). The body is not read.
    ///
    /// ```
    /// use socketwire::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// let client = ClientHandshake::new(&ClientRequest::new("example.com", "/chat", [0; 16])).unwrap();
    /// let response = http::Response::builder()
    ///     .status(101)
    ///     .header("upgrade", "websocket")
    ///     .header("connection", "Upgrade")
    ///     .header("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    ///     .body(())
    ///     .unwrap();
    /// assert_eq!(client.check_http_response(&response).unwrap_err(), HandshakeError::AcceptMismatch);
    /// ```
    pub fn check_http_response<B>(
        &self,
        response: &Response<B>,
    ) -> Result<AcceptedResponse, HandshakeError> {
        let head = response_head_of(response.status(), response.version(), response.headers());
        self.check(head, Bytes::new())
    }
}

/// The response head of a response given as `http` parts.
pub(super) fn response_head_of(
    status: StatusCode,
    version: Version,
    headers: &HeaderMap,
) -> ResponseHead {
    let reason = status.canonical_reason().unwrap_or_default();
    ResponseHead::from_parts(status.as_u16(), reason, http_version(version), headers)
}

/// A response head this crate wrote, parsed back into an [`http::Response`].
fn response_of(head: &[u8]) -> Result<Response<()>, HandshakeMisuse> {
    let mut slots = slots_for(head);
    let mut parsed = httparse::Response::new(&mut slots);
    let parsed_whole = matches!(parsed.parse(head), Ok(httparse::Status::Complete(_)));
    debug_assert!(
        parsed_whole,
        "the response written does not parse: {head:?}"
    );
    let mut response = Response::new(());
    *response.status_mut() = StatusCode::from_u16(parsed.code.unwrap_or_default())
        .map_err(|_| HandshakeMisuse::InvalidHeaderValue)?;
    *response.version_mut() = Version::HTTP_11;
    *response.headers_mut() = header_map(parsed.headers)?;
    Ok(response)
}

/// Header slots for parsing `head` back: one per line is always enough.
fn slots_for(head: &[u8]) -> Vec<httparse::Header<'_>> {
    vec![httparse::EMPTY_HEADER; head.iter().filter(|&&b| b == b'\n').count()]
}

/// The fields of a head this crate wrote, in order. Its names are tokens and its
/// values hold field-value bytes only (checked before writing), which is what
/// [`HeaderName`] and [`HeaderValue`] accept.
fn header_map(fields: &[httparse::Header<'_>]) -> Result<HeaderMap, HandshakeMisuse> {
    let mut map = HeaderMap::new();
    for field in fields {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| HandshakeMisuse::InvalidHeaderName)?;
        let value = HeaderValue::from_bytes(field.value)
            .map_err(|_| HandshakeMisuse::InvalidHeaderValue)?;
        map.try_append(name, value)
            .map_err(|_| HandshakeMisuse::InvalidHeaderValue)?;
    }
    Ok(map)
}
