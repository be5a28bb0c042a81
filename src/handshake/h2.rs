//! WebSockets over HTTP/2 (RFC 8441) and HTTP/3 (RFC 9220): the extended CONNECT
//! that replaces the HTTP/1.1 `GET` + `Upgrade`, on both sides, from and to the
//! `http` crate's types.
//!
//! The request carries `:method = CONNECT`, `:protocol = websocket`, `:scheme`,
//! `:path` and `:authority`, and the fields RFC 6455 defines, with the same meaning:
//! `Sec-WebSocket-Version`, `-Protocol`, `-Extensions` and `Origin`. There is no
//! `Sec-WebSocket-Key`, `Upgrade` or `Connection`; a `2xx` answers it, and the
//! stream then carries WebSocket frames exactly as a TCP connection does (masking
//! included: RFC 8441 §5 changes nothing of the framing).
//!
//! One set of rules: [`ExtendedConnect`] checks what is new in RFC 8441 (the pseudo
//! fields, the forbidden connection fields) and hands the rest to
//! [`ServerHandshake::new`], the RFC 6455 §4.2.1 validation, on the head an HTTP/1.1
//! client would have sent for the same WebSocket. The client side
//! ([`ExtendedConnectClient`]) likewise builds its request from
//! [`ClientHandshake`] and checks the `2xx` with the §4.1 code. The accepting `200`
//! carries the fields the HTTP/1.1 `101` carries but for `Upgrade`, `Connection`
//! and `Sec-WebSocket-Accept`.
//!
//! HTTP/2 libraries hand `:protocol` over outside the header map (hyper's
//! `hyper::ext::Protocol`, the `h2` and `h3` crates' `ext::Protocol` in the
//! request's extensions), so it is an argument here. The HTTP/3 form (RFC 9220)
//! is the same request on an HTTP/3 request stream: RFC 9220 §3 "the extended
//! CONNECT method ... can be used ... with HTTP/3 in the same way as with HTTP/2".

use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;
use core::fmt;
use http::header::{
    CONNECTION, HOST, HeaderMap, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{Method, Request, Response, StatusCode, Uri};

use super::http::{append_accept_options, http_version, response_head_of};
use super::response::ResponseHead;
use super::{
    AcceptOptions, AcceptedResponse, ClientHandshake, ClientRequest, ExtensionOffer,
    HandshakeError, HandshakeMisuse, HttpVersion, RequestHead, ServerHandshake,
};

/// The `:protocol` value that asks for a WebSocket (RFC 8441 §5, the HTTP Upgrade
/// Token of RFC 6455 §11.2).
///
/// ```
/// assert_eq!(socketwire::handshake::WEBSOCKET_PROTOCOL, "websocket");
/// ```
pub const WEBSOCKET_PROTOCOL: &str = "websocket";

/// A key that stands in for the `Sec-WebSocket-Key` an extended CONNECT does not
/// carry, so that the RFC 6455 rules run unchanged; nothing derived from it leaves
/// this module.
const PLACEHOLDER_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAA==";

/// Why an extended CONNECT request (RFC 8441 §4–§5) is refused, and the status to
/// refuse it with ([`status`](ExtendedConnectError::status),
/// [`to_response`](ExtendedConnectError::to_response)).
///
/// The RFC 6455 rules it shares with the HTTP/1.1 handshake (the version, the
/// subprotocol and extension lists, `Origin` as text) fail as
/// [`ExtendedConnectError::Handshake`], with the same [`HandshakeError`].
///
/// ```
/// use socketwire::handshake::{ExtendedConnectError, HandshakeError};
/// assert_eq!(ExtendedConnectError::UnsupportedProtocol.status(), 501);
/// assert_eq!(ExtendedConnectError::MissingPath.status(), 400);
/// // No 426 in HTTP/2: a 400 that names the version.
/// let refusal = ExtendedConnectError::Handshake(HandshakeError::UnsupportedVersion).to_response();
/// assert_eq!(refusal.status(), 400);
/// assert_eq!(refusal.headers()["sec-websocket-version"], "13");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExtendedConnectError {
    /// The method is not `CONNECT`: not a WebSocket request over HTTP/2 (a `GET`
    /// with `Upgrade` has no meaning there). Answered with 400.
    MethodNotConnect,
    /// A `CONNECT` without `:protocol`: a plain CONNECT, which asks for a TCP tunnel
    /// to `:authority` (RFC 9113 §8.5), a proxy's job. Answered with 501.
    MissingProtocol,
    /// A `:protocol` other than `websocket`. Answered with 501 (RFC 9110 §15.6.2:
    /// the server "does not support the functionality required").
    UnsupportedProtocol,
    /// No `:scheme` (RFC 8441 §4).
    MissingScheme,
    /// A `:scheme` other than `https` or `http` (RFC 8441 §5).
    InvalidScheme,
    /// No `:path`, or an empty one (RFC 8441 §4).
    MissingPath,
    /// No `:authority` (RFC 8441 §5, which replaces RFC 6455's `Host` with it).
    MissingAuthority,
    /// An `Upgrade` or `Connection` field, which RFC 8441 §5 forbids (and RFC 9113
    /// §8.2.2 makes a malformed HTTP/2 message).
    ConnectionSpecificField(&'static str),
    /// A rule the HTTP/1.1 handshake shares: the version (missing, or not 13), the
    /// subprotocol or extension list, a repeated `Sec-WebSocket-Version`, an
    /// `Origin` that is not text.
    Handshake(HandshakeError),
}

impl ExtendedConnectError {
    /// The status to refuse the request with: 501 for a CONNECT that is not
    /// `:protocol = websocket`, 400 otherwise, a version error included (HTTP/2 has
    /// no 426: see [`to_response`](ExtendedConnectError::to_response)).
    ///
    /// ```
    /// use socketwire::handshake::{ExtendedConnectError, HandshakeError};
    /// assert_eq!(ExtendedConnectError::MissingProtocol.status(), 501);
    /// assert_eq!(ExtendedConnectError::Handshake(HandshakeError::MissingVersion).status(), 400);
    /// ```
    pub fn status(&self) -> u16 {
        match self {
            ExtendedConnectError::MissingProtocol | ExtendedConnectError::UnsupportedProtocol => {
                501
            }
            ExtendedConnectError::Handshake(
                HandshakeError::MissingVersion | HandshakeError::UnsupportedVersion,
            ) => 400,
            ExtendedConnectError::Handshake(error) => error.status(),
            _ => 400,
        }
    }

    /// `true` for a missing or unsupported `Sec-WebSocket-Version`, whose refusal
    /// names the version this server speaks.
    fn is_version_error(&self) -> bool {
        matches!(
            self,
            ExtendedConnectError::Handshake(
                HandshakeError::MissingVersion | HandshakeError::UnsupportedVersion
            )
        )
    }

    /// The refusal as an [`http::Response`]: the [`status`](ExtendedConnectError::status)
    /// and, for a version error, `Sec-WebSocket-Version: 13`. No `Connection` field
    /// (HTTP/2 has none); the HTTP/2 server resets or ends the stream, not the
    /// connection.
    ///
    /// ```
    /// use socketwire::handshake::ExtendedConnectError;
    /// let refusal = ExtendedConnectError::MissingProtocol.to_response();
    /// assert_eq!(refusal.status(), http::StatusCode::NOT_IMPLEMENTED);
    /// assert!(refusal.headers().is_empty());
    /// ```
    pub fn to_response(&self) -> Response<()> {
        let mut response = Response::new(());
        *response.status_mut() =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        if self.is_version_error() {
            // https://www.rfc-editor.org/rfc/rfc6455#section-4.4
            // "the server MUST abort the WebSocket handshake described in this section
            // and instead send an appropriate HTTP error code (such as 426 Upgrade
            // Required) and a |Sec-WebSocket-Version| header field indicating the
            // version(s) the server is capable of understanding."
            // 426 needs an `Upgrade` field (RFC 9110 §15.5.22), which HTTP/2 forbids
            // (RFC 9113 §8.2.2): the code here is 400.
            response
                .headers_mut()
                .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        response
    }
}

impl From<HandshakeError> for ExtendedConnectError {
    fn from(error: HandshakeError) -> ExtendedConnectError {
        ExtendedConnectError::Handshake(error)
    }
}

impl fmt::Display for ExtendedConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtendedConnectError::MethodNotConnect => f.write_str("request method is not CONNECT"),
            ExtendedConnectError::MissingProtocol => {
                f.write_str("CONNECT without :protocol (a plain CONNECT)")
            }
            ExtendedConnectError::UnsupportedProtocol => f.write_str(":protocol is not websocket"),
            ExtendedConnectError::MissingScheme => f.write_str("extended CONNECT without :scheme"),
            ExtendedConnectError::InvalidScheme => f.write_str(":scheme is not https or http"),
            ExtendedConnectError::MissingPath => f.write_str("extended CONNECT without :path"),
            ExtendedConnectError::MissingAuthority => {
                f.write_str("extended CONNECT without :authority")
            }
            ExtendedConnectError::ConnectionSpecificField(name) => {
                write!(f, "{name} field in an extended CONNECT")
            }
            ExtendedConnectError::Handshake(error) => fmt::Display::fmt(error, f),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ExtendedConnectError {}

/// A validated extended CONNECT request for a WebSocket (RFC 8441 §4–§5, RFC 9220),
/// ready to be answered with [`accept_response`](ExtendedConnect::accept_response)
/// (a `200`), after which the stream carries the WebSocket (a server
/// [`Connection`](crate::ws::Connection), with no leftover bytes).
///
/// ```
/// use socketwire::handshake::{AcceptOptions, ExtendedConnect};
/// // RFC 8441 §5.1, the example.
/// let request = http::Request::connect("https://server.example.com/chat")
///     .version(http::Version::HTTP_2)
///     .header("sec-websocket-protocol", "chat, superchat")
///     .header("sec-websocket-extensions", "permessage-deflate")
///     .header("sec-websocket-version", "13")
///     .header("origin", "http://www.example.com")
///     .body(())
///     .unwrap();
/// let (parts, ()) = request.into_parts();
/// let connect = ExtendedConnect::from_http(&parts, Some("websocket")).unwrap();
/// assert_eq!((connect.authority(), connect.path()), ("server.example.com", "/chat"));
/// assert_eq!(connect.origin(), Some("http://www.example.com"));
/// let options = AcceptOptions { protocol: Some("chat"), ..AcceptOptions::default() };
/// let response = connect.accept_response(&options).unwrap();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
/// ```
#[must_use = "a validated extended CONNECT is to be answered with accept_response"]
#[derive(Debug, Clone)]
pub struct ExtendedConnect {
    /// The RFC 6455 view of the request, which the shared rules validated.
    handshake: ServerHandshake,
}

impl ExtendedConnect {
    /// Validates an extended CONNECT from the parts an HTTP/2 (or HTTP/3) server
    /// parsed, and `protocol`, the `:protocol` pseudo field (`None` when absent;
    /// hyper: `parts.extensions.get::<hyper::ext::Protocol>()`).
    ///
    /// The checks, in order: `CONNECT`; `:protocol` present and `websocket`;
    /// `:scheme` (`https` or `http`), `:path`, `:authority`; no `Upgrade` or
    /// `Connection`; then every RFC 6455 §4.2.1 rule that applies (the version, the
    /// subprotocol and extension lists, `Origin`), by [`ServerHandshake::new`].
    /// A `Sec-WebSocket-Key` is ignored, as RFC 8441 §5 says.
    ///
    /// ```
    /// use socketwire::handshake::{ExtendedConnect, ExtendedConnectError};
    /// let request = http::Request::connect("https://example.com/chat")
    ///     .header("sec-websocket-version", "13")
    ///     .body(())
    ///     .unwrap();
    /// let (parts, ()) = request.into_parts();
    /// assert!(ExtendedConnect::from_http(&parts, Some("websocket")).is_ok());
    /// assert_eq!(ExtendedConnect::from_http(&parts, None).unwrap_err(), ExtendedConnectError::MissingProtocol);
    /// ```
    pub fn from_http(
        parts: &http::request::Parts,
        protocol: Option<&str>,
    ) -> Result<ExtendedConnect, ExtendedConnectError> {
        validate(
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            protocol,
        )
    }

    /// [`from_http`](ExtendedConnect::from_http) for a whole request, borrowed, so
    /// that it stays available for the server's upgrade (hyper:
    /// `hyper::upgrade::on(&mut request)`). The body is not read.
    ///
    /// ```
    /// use socketwire::handshake::{ExtendedConnect, ExtendedConnectError};
    /// let request = http::Request::get("https://example.com/chat").body(()).unwrap();
    /// let error = ExtendedConnect::from_http_request(&request, None).unwrap_err();
    /// assert_eq!(error, ExtendedConnectError::MethodNotConnect);
    /// ```
    pub fn from_http_request<B>(
        request: &Request<B>,
        protocol: Option<&str>,
    ) -> Result<ExtendedConnect, ExtendedConnectError> {
        validate(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
            protocol,
        )
    }

    /// The `:path` (path and query), e.g. `/chat?room=1`.
    ///
    /// ```
    /// # let parts = http::Request::connect("https://example.com/chat?room=1").header("sec-websocket-version", "13").body(()).unwrap().into_parts().0;
    /// # let connect = socketwire::handshake::ExtendedConnect::from_http(&parts, Some("websocket")).unwrap();
    /// assert_eq!(connect.path(), "/chat?room=1");
    /// ```
    pub fn path(&self) -> &str {
        self.handshake.path()
    }

    /// The `:authority`, which stands for RFC 6455's `Host` (RFC 8441 §5).
    ///
    /// ```
    /// # let parts = http::Request::connect("https://example.com:8443/chat").header("sec-websocket-version", "13").body(()).unwrap().into_parts().0;
    /// # let connect = socketwire::handshake::ExtendedConnect::from_http(&parts, Some("websocket")).unwrap();
    /// assert_eq!(connect.authority(), "example.com:8443");
    /// ```
    pub fn authority(&self) -> &str {
        self.handshake.host()
    }

    /// The `Origin` field, if any (browsers send one; check it).
    ///
    /// ```
    /// # let parts = http::Request::connect("https://example.com/").header("sec-websocket-version", "13").body(()).unwrap().into_parts().0;
    /// # let connect = socketwire::handshake::ExtendedConnect::from_http(&parts, Some("websocket")).unwrap();
    /// assert_eq!(connect.origin(), None);
    /// ```
    pub fn origin(&self) -> Option<&str> {
        self.handshake.origin()
    }

    /// The subprotocols offered, in the client's order of preference.
    ///
    /// ```
    /// # let parts = http::Request::connect("https://example.com/").header("sec-websocket-version", "13")
    /// #     .header("sec-websocket-protocol", "chat, superchat").body(()).unwrap().into_parts().0;
    /// # let connect = socketwire::handshake::ExtendedConnect::from_http(&parts, Some("websocket")).unwrap();
    /// assert!(connect.protocols().eq(["chat", "superchat"]));
    /// ```
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        self.handshake.protocols()
    }

    /// The extensions offered, parsed (RFC 6455 §9.1), e.g. for
    /// `DeflateConfig::accept_offers`.
    ///
    /// ```
    /// # let parts = http::Request::connect("https://example.com/").header("sec-websocket-version", "13")
    /// #     .header("sec-websocket-extensions", "permessage-deflate").body(()).unwrap().into_parts().0;
    /// # let connect = socketwire::handshake::ExtendedConnect::from_http(&parts, Some("websocket")).unwrap();
    /// assert_eq!(connect.extensions()[0].name, "permessage-deflate");
    /// ```
    pub fn extensions(&self) -> Vec<ExtensionOffer<'_>> {
        self.handshake.extensions()
    }

    /// The request as the RFC 6455 rules saw it: a [`ServerHandshake`] whose
    /// `Host` is the `:authority`, for code written against the HTTP/1.1 handshake
    /// (subprotocol choice, extension negotiation). Its method, `Upgrade`,
    /// `Connection` and key are stand-ins: do not answer with its `101`.
    ///
    /// ```
    /// # let parts = http::Request::connect("https://example.com/").header("sec-websocket-version", "13").body(()).unwrap().into_parts().0;
    /// # let connect = socketwire::handshake::ExtendedConnect::from_http(&parts, Some("websocket")).unwrap();
    /// assert_eq!(connect.handshake().host(), "example.com");
    /// ```
    pub fn handshake(&self) -> &ServerHandshake {
        &self.handshake
    }

    /// The `200` that accepts the WebSocket (RFC 8441 §5), with the subprotocol,
    /// extensions and extra fields of `options`, checked as the HTTP/1.1 `101` is
    /// (the subprotocol was offered, the extensions follow §9.1, the fields cannot
    /// break the head). No `Sec-WebSocket-Accept`: RFC 8441 §5 drops it.
    ///
    /// ```
    /// use socketwire::handshake::{AcceptOptions, ExtendedConnect, HandshakeMisuse};
    /// # let parts = http::Request::connect("https://example.com/").header("sec-websocket-version", "13").body(()).unwrap().into_parts().0;
    /// let connect = ExtendedConnect::from_http(&parts, Some("websocket")).unwrap();
    /// let response = connect.accept_response(&AcceptOptions::default()).unwrap();
    /// assert_eq!(response.status(), http::StatusCode::OK);
    /// assert!(response.headers().is_empty());
    /// let unoffered = AcceptOptions { protocol: Some("chat"), ..AcceptOptions::default() };
    /// assert_eq!(connect.accept_response(&unoffered).unwrap_err(), HandshakeMisuse::SubprotocolNotOffered);
    /// ```
    pub fn accept_response(
        &self,
        options: &AcceptOptions<'_>,
    ) -> Result<Response<()>, HandshakeMisuse> {
        self.handshake.check_accept(options)?;
        let mut response = Response::new(());
        append_accept_options(response.headers_mut(), options)?;
        Ok(response)
    }
}

/// The checks of [`ExtendedConnect::from_http`].
fn validate(
    method: &Method,
    uri: &Uri,
    version: http::Version,
    headers: &HeaderMap,
    protocol: Option<&str>,
) -> Result<ExtendedConnect, ExtendedConnectError> {
    // https://www.rfc-editor.org/rfc/rfc8441#section-4
    // "A new pseudo-header field :protocol MAY be included on request HEADERS
    // indicating the desired protocol to be spoken on the tunnel created by CONNECT."
    if method != Method::CONNECT {
        return Err(ExtendedConnectError::MethodNotConnect);
    }
    // https://www.rfc-editor.org/rfc/rfc8441#section-5
    // "The :protocol pseudo-header field MUST be included in the CONNECT request, and
    // it MUST have a value of "websocket" to initiate a WebSocket connection"
    match protocol {
        None => return Err(ExtendedConnectError::MissingProtocol),
        Some(protocol) if !protocol.eq_ignore_ascii_case(WEBSOCKET_PROTOCOL) => {
            return Err(ExtendedConnectError::UnsupportedProtocol);
        }
        Some(_) => {}
    }
    // https://www.rfc-editor.org/rfc/rfc8441#section-4
    // "On requests that contain the :protocol pseudo-header field, the :scheme and
    // :path pseudo-header fields of the target URI (see Section 5) MUST also be
    // included."
    let scheme = uri
        .scheme_str()
        .ok_or(ExtendedConnectError::MissingScheme)?;
    // https://www.rfc-editor.org/rfc/rfc8441#section-5
    // "The scheme of the target URI ... MUST be "https" for "wss"-schemed WebSockets
    // and "http" for "ws"-schemed WebSockets."
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(ExtendedConnectError::InvalidScheme);
    }
    let path = uri
        .path_and_query()
        .map(|path| path.as_str())
        .filter(|path| !path.is_empty())
        .ok_or(ExtendedConnectError::MissingPath)?;
    // https://www.rfc-editor.org/rfc/rfc8441#section-5
    // "The Host information is conveyed as part of the :authority pseudo-header
    // field, which is required on every HTTP/2 transaction."
    let authority = uri
        .authority()
        .map(|authority| authority.as_str())
        .ok_or(ExtendedConnectError::MissingAuthority)?;
    // https://www.rfc-editor.org/rfc/rfc8441#section-5
    // "[RFC6455] requires the use of Connection and Upgrade header fields that are
    // not part of HTTP/2. They MUST NOT be included in the CONNECT request"
    if headers.contains_key(UPGRADE) {
        return Err(ExtendedConnectError::ConnectionSpecificField("Upgrade"));
    }
    if headers.contains_key(CONNECTION) {
        return Err(ExtendedConnectError::ConnectionSpecificField("Connection"));
    }
    // The RFC 6455 rules, on the head an HTTP/1.1 client would have sent for this
    // WebSocket. https://www.rfc-editor.org/rfc/rfc8441#section-5
    // "Implementations using this extended CONNECT to bootstrap WebSockets do not do
    // the processing of the Sec-WebSocket-Key and Sec-WebSocket-Accept header fields"
    // (so a key sent is dropped, and a stand-in takes its place); "The Origin,
    // Sec-WebSocket-Version, Sec-WebSocket-Protocol, and Sec-WebSocket-Extensions
    // header fields are used in the CONNECT request and response header fields as
    // defined in [RFC6455]."
    let stand_ins = [
        (HOST.as_str(), authority.as_bytes()),
        (UPGRADE.as_str(), WEBSOCKET_PROTOCOL.as_bytes()),
        (CONNECTION.as_str(), b"Upgrade".as_slice()),
        (SEC_WEBSOCKET_KEY.as_str(), PLACEHOLDER_KEY.as_bytes()),
    ];
    let fields = headers
        .iter()
        .filter(|(name, _)| **name != HOST && **name != SEC_WEBSOCKET_KEY)
        .map(|(name, value)| (name.as_str(), value.as_bytes()));
    let version = match http_version(version) {
        // An HTTP/1.x CONNECT carries no `:protocol`; the rules are those of HTTP/2.
        older if older < HttpVersion::HTTP_1_1 => HttpVersion::HTTP_1_1,
        version => version,
    };
    let head = RequestHead::from_parts("GET", version, path, stand_ins.into_iter().chain(fields));
    let handshake = ServerHandshake::new(head)?;
    Ok(ExtendedConnect { handshake })
}

/// The client side of an extended CONNECT (RFC 8441 §4–§5): the request to send on a
/// new HTTP/2 (or HTTP/3) stream, once the server's `SETTINGS_ENABLE_CONNECT_PROTOCOL`
/// is 1, and the check of the response.
///
/// Built from the same [`ClientRequest`] as the HTTP/1.1 handshake: `host` becomes
/// the `:authority`, `path` the `:path`; the nonce is not used (no key is sent).
/// The subprotocol and extension offers are checked by [`ClientHandshake::new`],
/// and the response's choices by the code that checks a `101`.
///
/// ```
/// use socketwire::handshake::{ClientRequest, ExtendedConnectClient};
/// let request = ClientRequest { protocols: &["chat"], ..ClientRequest::new("example.com", "/chat", [0; 16]) };
/// let client = ExtendedConnectClient::new(&request, "https").unwrap();
/// let request = client.to_request().unwrap();
/// assert_eq!(request.method(), http::Method::CONNECT);
/// assert_eq!(request.uri(), "https://example.com/chat");
/// assert_eq!(request.headers()["sec-websocket-version"], "13");
/// // Send it with `:protocol = websocket` (hyper: the `hyper::ext::Protocol` extension).
///
/// let response = http::Response::builder().status(200).header("sec-websocket-protocol", "chat").body(()).unwrap();
/// let accepted = client.check_response(&response.into_parts().0).unwrap();
/// assert_eq!(accepted.protocol.as_deref(), Some("chat"));
/// ```
#[must_use = "the client builds the request and checks the response"]
#[derive(Debug)]
pub struct ExtendedConnectClient {
    handshake: ClientHandshake,
    /// The request, as `to_request` gives it.
    request: Request<()>,
    /// What the shared §4.1 check expects in `Sec-WebSocket-Accept` (never sent).
    stand_in_accept: [u8; 28],
}

impl ExtendedConnectClient {
    /// Checks `request` as [`ClientHandshake::new`] does and builds the extended
    /// CONNECT for `scheme` (`"https"`, or `"http"` for a `ws://` WebSocket over
    /// cleartext HTTP/2). Fails on a caller mistake only; an `Upgrade` or
    /// `Connection` among the extra fields is dropped (RFC 8441 §5).
    ///
    /// ```
    /// use socketwire::handshake::{ClientRequest, ExtendedConnectClient, HandshakeMisuse};
    /// let request = ClientRequest::new("example.com", "/", [0; 16]);
    /// assert_eq!(ExtendedConnectClient::new(&request, "ftp").unwrap_err(), HandshakeMisuse::InvalidPath);
    /// ```
    pub fn new(
        request: &ClientRequest<'_>,
        scheme: &str,
    ) -> Result<ExtendedConnectClient, HandshakeMisuse> {
        // https://www.rfc-editor.org/rfc/rfc8441#section-5
        // "The scheme of the target URI ... MUST be "https" for "wss"-schemed
        // WebSockets and "http" for "ws"-schemed WebSockets."
        if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
            return Err(HandshakeMisuse::InvalidPath);
        }
        let nonce = [0; 16];
        let handshake = ClientHandshake::new(&ClientRequest { nonce, ..*request })?;
        let upgrade_request = handshake.to_request()?;
        let stand_in_accept = super::accept_key(
            upgrade_request
                .headers()
                .get(SEC_WEBSOCKET_KEY)
                .map_or(&[][..], HeaderValue::as_bytes),
        );
        let mut uri =
            String::with_capacity(scheme.len() + 3 + request.host.len() + request.path.len());
        uri.push_str(scheme);
        uri.push_str("://");
        uri.push_str(request.host);
        uri.push_str(request.path);
        let uri = Uri::try_from(uri).map_err(|_| HandshakeMisuse::InvalidPath)?;
        let (parts, ()) = upgrade_request.into_parts();
        let mut extended = Request::new(());
        *extended.method_mut() = Method::CONNECT;
        *extended.uri_mut() = uri;
        *extended.version_mut() = http::Version::HTTP_2;
        // https://www.rfc-editor.org/rfc/rfc8441#section-5
        // Connection and Upgrade "MUST NOT be included in the CONNECT request"; the
        // `Host` is the `:authority`, and no key is sent.
        let dropped = [HOST, UPGRADE, CONNECTION, SEC_WEBSOCKET_KEY];
        let headers = extended.headers_mut();
        let mut name = None;
        for (field, value) in parts.headers {
            name = field.or(name);
            match &name {
                Some(name) if !dropped.contains(name) => {
                    headers.append(name.clone(), value);
                }
                _ => {}
            }
        }
        Ok(ExtendedConnectClient {
            handshake,
            request: extended,
            stand_in_accept,
        })
    }

    /// The extended CONNECT as an [`http::Request`]: `CONNECT`, HTTP/2, the URI
    /// `scheme://authority/path`, and the fields `Sec-WebSocket-Version: 13`, the
    /// subprotocols, the extension offer and the extra fields. `:protocol` is not in
    /// it (the `http` crate has no place for it): set it to
    /// [`WEBSOCKET_PROTOCOL`] the way the HTTP/2 library takes it.
    ///
    /// ```
    /// # use socketwire::handshake::{ClientRequest, ExtendedConnectClient};
    /// let request = ClientRequest { extensions: Some("permessage-deflate"), ..ClientRequest::new("a:8443", "/ws", [0; 16]) };
    /// let request = ExtendedConnectClient::new(&request, "https").unwrap().to_request().unwrap();
    /// assert_eq!(request.headers()["sec-websocket-extensions"], "permessage-deflate");
    /// assert!(request.headers().get("sec-websocket-key").is_none());
    /// assert!(request.headers().get("host").is_none());
    /// ```
    pub fn to_request(&self) -> Result<Request<()>, HandshakeMisuse> {
        Ok(self.request.clone())
    }

    /// Checks the response's parts: a `2xx`, then the subprotocol and extensions
    /// as RFC 6455 §4.1 checks them in a `101` (the one code for both). The
    /// [`AcceptedResponse`] holds the response as received; `leftover` is empty
    /// (the WebSocket's bytes are the stream's DATA).
    ///
    /// ```
    /// use socketwire::handshake::{ClientRequest, ExtendedConnectClient, HandshakeError};
    /// let client = ExtendedConnectClient::new(&ClientRequest::new("example.com", "/", [0; 16]), "https").unwrap();
    /// let refused = http::Response::builder().status(400).header("sec-websocket-version", "13").body(()).unwrap();
    /// assert_eq!(client.check_response(&refused.into_parts().0).unwrap_err(), HandshakeError::UnexpectedStatus(400));
    /// let chose = http::Response::builder().status(200).header("sec-websocket-protocol", "chat").body(()).unwrap();
    /// assert_eq!(client.check_response(&chose.into_parts().0).unwrap_err(), HandshakeError::UnofferedSubprotocol);
    /// ```
    pub fn check_response(
        &self,
        parts: &http::response::Parts,
    ) -> Result<AcceptedResponse, HandshakeError> {
        self.check(parts.status, parts.version, &parts.headers)
    }

    /// [`check_response`](ExtendedConnectClient::check_response) for a whole
    /// response, borrowed (hyper: `hyper::upgrade::on(&mut response)` next). The body
    /// is not read.
    ///
    /// ```
    /// # use socketwire::handshake::{ClientRequest, ExtendedConnectClient};
    /// let client = ExtendedConnectClient::new(&ClientRequest::new("example.com", "/", [0; 16]), "https").unwrap();
    /// let response = http::Response::builder().status(200).body(()).unwrap();
    /// assert!(client.check_http_response(&response).is_ok());
    /// ```
    pub fn check_http_response<B>(
        &self,
        response: &Response<B>,
    ) -> Result<AcceptedResponse, HandshakeError> {
        self.check(response.status(), response.version(), response.headers())
    }

    fn check(
        &self,
        status: StatusCode,
        version: http::Version,
        headers: &HeaderMap,
    ) -> Result<AcceptedResponse, HandshakeError> {
        // https://www.rfc-editor.org/rfc/rfc9110#section-9.3.6
        // "Any 2xx (Successful) response indicates that the sender (and all inbound
        // proxies) will switch to tunnel mode immediately after the response header
        // section"
        if !status.is_success() {
            return Err(HandshakeError::UnexpectedStatus(status.as_u16()));
        }
        // The §4.1 checks of the subprotocol and the extensions, on the `101` an
        // HTTP/1.1 server would have sent; RFC 8441 §5 drops the accept value, so a
        // stand-in is checked and any `Sec-WebSocket-Accept` received is ignored.
        let stand_ins = [
            (UPGRADE.as_str(), WEBSOCKET_PROTOCOL.as_bytes()),
            (CONNECTION.as_str(), b"Upgrade".as_slice()),
            (
                SEC_WEBSOCKET_ACCEPT.as_str(),
                self.stand_in_accept.as_slice(),
            ),
        ];
        let received = headers
            .iter()
            .filter(|(name, _)| {
                **name != UPGRADE && **name != CONNECTION && **name != SEC_WEBSOCKET_ACCEPT
            })
            .map(|(name, value)| (name.as_str(), value.as_bytes()));
        let as_upgrade = ResponseHead::from_parts(
            101,
            "Switching Protocols",
            HttpVersion::HTTP_1_1,
            stand_ins.into_iter().chain(received),
        );
        let mut accepted = self.handshake.check(as_upgrade, Bytes::new())?;
        accepted.response = response_head_of(status, version, headers);
        Ok(accepted)
    }
}
