//! The server side: validating an upgrade request (RFC 6455 §4.2.1) and writing the
//! `101 Switching Protocols` response (§4.2.2).

use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};

use super::extensions::{parse_extensions_into, validate_extensions};
use super::head::{HandshakeField, HandshakeFieldIndex, HttpVersion, RequestHead};
use super::head_ref::RequestHeadRef;
use super::tokens::{
    UPGRADE, WEBSOCKET, is_field_value_byte, is_token, list_contains, list_elements,
};
use super::{ExtensionOffer, HandshakeError, HandshakeMisuse, accept_key};

/// What the server answers a valid upgrade request with: the chosen subprotocol, the
/// negotiated extensions, and any extra headers (cookies…).
///
/// ```
/// use socketwire::handshake::AcceptOptions;
/// let options = AcceptOptions {
///     protocol: Some("chat"),
///     extensions: Some("permessage-deflate; server_no_context_takeover"),
///     ..AcceptOptions::default()
/// };
/// assert!(options.headers.is_empty());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcceptOptions<'a> {
    /// The subprotocol to select; it must be one the client offered.
    pub protocol: Option<&'a str>,
    /// The `Sec-WebSocket-Extensions` response value (e.g. from the deflate
    /// negotiation); it must follow the §9.1 grammar.
    pub extensions: Option<&'a str>,
    /// Extra header fields to add to the response, as (name, value).
    pub headers: &'a [(&'a str, &'a str)],
}

/// Indices into the head's fields found while validating.
#[derive(Debug, Clone, Copy)]
struct ValidatedFields {
    host: usize,
    origin: Option<usize>,
    key: [u8; 24],
}

/// A validated WebSocket upgrade request (RFC 6455 §4.2.1), ready to be answered.
///
/// Build it from a [`RequestHead`] read by [`RequestReader`](super::RequestReader)
/// ([`ServerHandshake::new`]) or from parts a host HTTP server already parsed
/// ([`ServerHandshake::from_parts`]). Then look at what the client offered (path,
/// origin, subprotocols, extensions), and either write the 101 response with
/// [`ServerHandshake::write_accept`] and hand [`ServerHandshake::into_leftover`] to the
/// WebSocket connection, or refuse with an HTTP error of your own.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::Status;
/// use socketwire::handshake::{AcceptOptions, RequestReader, ServerHandshake};
///
/// let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let mut reader = RequestReader::new();
/// let Status::Complete(head) = reader.handle_input(request).unwrap() else { unreachable!() };
/// let mut out = BytesMut::new();
/// match ServerHandshake::new(head) {
///     Ok(handshake) => {
///         assert!(handshake.protocols().eq(["chat", "superchat"]));
///         let options = AcceptOptions { protocol: Some("chat"), ..Default::default() };
///         handshake.write_accept(&options, &mut out).unwrap();
///         let _leftover = handshake.into_leftover(); // give to the WebSocket connection
///     }
///     Err(error) => error.write_response(&mut out), // then close
/// }
/// assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
/// assert!(std::str::from_utf8(&out).unwrap()
///     .contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
/// ```
#[derive(Debug, Clone)]
pub struct ServerHandshake {
    head: RequestHead,
    fields: ValidatedFields,
}

/// Checks every rule of RFC 6455 §4.2.1 without consuming the head.
///
/// ```
/// use socketwire::handshake::{HandshakeError, HttpVersion, RequestHead, validate_request};
/// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("host", "a")]);
/// assert_eq!(validate_request(&head), Err(HandshakeError::MissingUpgradeWebsocket));
/// ```
pub fn validate_request(head: &RequestHead) -> Result<(), HandshakeError> {
    validate(head).map(|_| ())
}

/// A request head the §4.2.1 rules are checked on: [`RequestHead`] (owned) and
/// [`RequestHeadRef`] (borrowed) both give the same view, so both take the one
/// [`validate`] below.
pub(crate) trait UpgradeRequest {
    /// The method's bytes.
    fn method_bytes(&self) -> &[u8];
    /// The version of the request line.
    fn http_version(&self) -> HttpVersion;
    /// Where the handshake's fields are, if recorded when the head was read.
    fn handshake_fields(&self) -> Option<&HandshakeFieldIndex>;
    /// The field at `index` as (name, value).
    fn field(&self, index: usize) -> Option<(&[u8], &[u8])>;
    /// Every field as (name, value), in order.
    fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])>;
}

impl UpgradeRequest for RequestHead {
    fn method_bytes(&self) -> &[u8] {
        RequestHead::method_bytes(self)
    }
    fn http_version(&self) -> HttpVersion {
        self.version()
    }
    fn handshake_fields(&self) -> Option<&HandshakeFieldIndex> {
        Some(RequestHead::handshake_fields(self))
    }
    fn field(&self, index: usize) -> Option<(&[u8], &[u8])> {
        self.block().field(index)
    }
    fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.block().raw_fields()
    }
}

impl UpgradeRequest for RequestHeadRef<'_> {
    fn method_bytes(&self) -> &[u8] {
        self.method().as_bytes()
    }
    fn http_version(&self) -> HttpVersion {
        self.version()
    }
    /// The borrowed head keeps no index: building one would cost a pass over the
    /// fields as long as the scan that validation makes instead.
    fn handshake_fields(&self) -> Option<&HandshakeFieldIndex> {
        None
    }
    fn field(&self, index: usize) -> Option<(&[u8], &[u8])> {
        RequestHeadRef::field(self, index)
    }
    fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        RequestHeadRef::raw_fields(self)
    }
}

fn validate(head: &impl UpgradeRequest) -> Result<ValidatedFields, HandshakeError> {
    // §4.2.1: "1. An HTTP/1.1 or higher GET request, including a "Request-URI""
    if head.method_bytes() != b"GET" {
        return Err(HandshakeError::MethodNotGet);
    }
    if head.http_version() < HttpVersion::HTTP_1_1 {
        return Err(HandshakeError::HttpVersionTooOld);
    }
    let found = match find_fields_indexed(head) {
        Some(found) => found,
        None => find_fields_scanning(head)?,
    };
    found.check()
}

/// What the header fields say, gathered in one pass; [`FoundFields::check`] applies
/// the rules that need all of them.
struct FoundFields<'a> {
    host: Option<usize>,
    origin: Option<usize>,
    upgrade: bool,
    connection: bool,
    key: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    protocols_valid: bool,
    extensions_error: Option<HandshakeError>,
}

/// The common case, straight from the index the head recorded while it was parsed
/// (an owned head has one): every handshake field at most once, `Host` and `Origin`
/// ASCII. Anything else (`None`, and every borrowed head) takes
/// [`find_fields_scanning`], which reports the first problem in field order; in this
/// case there is none to report before [`FoundFields::check`].
fn find_fields_indexed(head: &impl UpgradeRequest) -> Option<FoundFields<'_>> {
    let index = head.handshake_fields()?;
    if !index.each_at_most_once() {
        return None;
    }
    let at = |field| index.first(field).and_then(|i| Some((i, head.field(i)?.1)));
    let host = at(HandshakeField::Host);
    let origin = at(HandshakeField::Origin);
    if host.is_some_and(|(_, v)| !v.is_ascii()) || origin.is_some_and(|(_, v)| !v.is_ascii()) {
        return None;
    }
    let value = |field| at(field).map(|(_, v)| v);
    Some(FoundFields {
        host: host.map(|(i, _)| i),
        origin: origin.map(|(i, _)| i),
        upgrade: value(HandshakeField::Upgrade).is_some_and(|v| list_contains(v, &WEBSOCKET)),
        connection: value(HandshakeField::Connection).is_some_and(|v| list_contains(v, &UPGRADE)),
        key: value(HandshakeField::Key),
        version: value(HandshakeField::Version),
        // §4.1: subprotocol names are tokens (§11.3.4: 1#token).
        protocols_valid: value(HandshakeField::Protocol)
            .is_none_or(|v| list_elements(v).all(is_token)),
        extensions_error: value(HandshakeField::Extensions)
            .and_then(|v| validate_extensions(v).err()),
    })
}

/// The general case: one pass over every field, failing at the first repeated field
/// that must be unique or non-UTF-8 `Host`/`Origin`.
fn find_fields_scanning(head: &impl UpgradeRequest) -> Result<FoundFields<'_>, HandshakeError> {
    let mut found = FoundFields {
        host: None,
        origin: None,
        upgrade: false,
        connection: false,
        key: None,
        version: None,
        protocols_valid: true,
        extensions_error: None,
    };
    let duplicate = |name| Err(HandshakeError::DuplicateHeader(name));
    for (index, (name, value)) in head.raw_fields().enumerate() {
        let Some(field) = HandshakeField::of(name) else {
            continue;
        };
        match field {
            HandshakeField::Host => {
                // RFC 7230 §5.4: a request with more than one Host field gets a 400.
                if found.host.is_some() {
                    return duplicate("Host");
                }
                if !value.is_ascii() && core::str::from_utf8(value).is_err() {
                    return Err(HandshakeError::MalformedHttp("Host is not UTF-8"));
                }
                found.host = Some(index);
            }
            HandshakeField::Origin => {
                if found.origin.is_none() {
                    if !value.is_ascii() && core::str::from_utf8(value).is_err() {
                        return Err(HandshakeError::MalformedHttp("Origin is not UTF-8"));
                    }
                    found.origin = Some(index);
                }
            }
            HandshakeField::Upgrade => found.upgrade |= list_contains(value, &WEBSOCKET),
            HandshakeField::Connection => found.connection |= list_contains(value, &UPGRADE),
            HandshakeField::Key => {
                // §11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT appear more
                // than once in an HTTP request."
                if found.key.replace(value).is_some() {
                    return duplicate("Sec-WebSocket-Key");
                }
            }
            HandshakeField::Version => {
                // §11.3.5: "The |Sec-WebSocket-Version| header field MUST NOT appear
                // more than once in an HTTP request."
                if found.version.replace(value).is_some() {
                    return duplicate("Sec-WebSocket-Version");
                }
            }
            HandshakeField::Protocol => {
                // §4.1: subprotocol names are tokens (§11.3.4: 1#token).
                found.protocols_valid &= list_elements(value).all(is_token);
            }
            HandshakeField::Extensions => {
                if found.extensions_error.is_none() {
                    found.extensions_error = validate_extensions(value).err();
                }
            }
        }
    }
    Ok(found)
}

impl FoundFields<'_> {
    fn check(self) -> Result<ValidatedFields, HandshakeError> {
        // §4.2.1: "2. A |Host| header field containing the server's authority."
        let Some(host) = self.host else {
            return Err(HandshakeError::MissingHost);
        };
        // §4.2.1: "3. An |Upgrade| header field containing the value "websocket",
        // treated as an ASCII case-insensitive value."
        if !self.upgrade {
            return Err(HandshakeError::MissingUpgradeWebsocket);
        }
        // §4.2.1: "4. A |Connection| header field that includes the token "Upgrade",
        // treated as an ASCII case-insensitive value."
        if !self.connection {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        // §4.2.1: "6. A |Sec-WebSocket-Version| header field, with a value of 13."
        // (Checked before the key so that an old client learns the version: §4.4.)
        match self.version {
            None => return Err(HandshakeError::MissingVersion),
            Some(b"13") => {}
            Some(_) => return Err(HandshakeError::UnsupportedVersion),
        }
        // §4.2.1: "5. A |Sec-WebSocket-Key| header field with a base64-encoded value
        // that, when decoded, is 16 bytes in length."
        let key = decode_key(self.key.ok_or(HandshakeError::MissingKey)?)?;
        if !self.protocols_valid {
            return Err(HandshakeError::InvalidSubprotocolList);
        }
        if let Some(error) = self.extensions_error {
            return Err(error);
        }
        Ok(ValidatedFields {
            host,
            origin: self.origin,
            key: *key,
        })
    }
}

/// Checks that `value` is the canonical base64 of exactly 16 bytes: 22 alphabet
/// characters, the last of which carries only 2 data bits, then `==`.
fn decode_key(value: &[u8]) -> Result<&[u8; 24], HandshakeError> {
    let key: &[u8; 24] = value.try_into().map_err(|_| HandshakeError::InvalidKey)?;
    static ALPHABET: [bool; 256] = {
        let mut table = [false; 256];
        let chars = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut i = 0;
        while i < chars.len() {
            table[chars[i] as usize] = true;
            i += 1;
        }
        table
    };
    // No early exit: a fold without branches is faster on the 22 bytes.
    let alphabet_only = key[..22]
        .iter()
        .fold(true, |valid, &b| valid & ALPHABET[usize::from(b)]);
    let valid =
        alphabet_only && matches!(key[21], b'A' | b'Q' | b'g' | b'w') && key[22..] == *b"==";
    if valid {
        Ok(key)
    } else {
        Err(HandshakeError::InvalidKey)
    }
}

impl ServerHandshake {
    /// Validates `head` against every rule of RFC 6455 §4.2.1. On error, answer with
    /// [`HandshakeError::write_response`] (400, or 426 for a missing or unsupported
    /// version) and close the connection.
    ///
    /// ```
    /// use socketwire::handshake::{HandshakeError, HttpVersion, RequestHead, ServerHandshake};
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [
    ///     ("host", "a"), ("upgrade", "websocket"), ("connection", "Upgrade"),
    ///     ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), ("sec-websocket-version", "8"),
    /// ]);
    /// let error = ServerHandshake::new(head).unwrap_err();
    /// assert_eq!(error, HandshakeError::UnsupportedVersion);
    /// assert_eq!(error.status(), 426);
    /// ```
    pub fn new(head: RequestHead) -> Result<ServerHandshake, HandshakeError> {
        let fields = validate(&head)?;
        Ok(ServerHandshake { head, fields })
    }

    /// Validates a request a host HTTP server (hyper, axum…) already parsed: method,
    /// version, request target and the header fields as (name, value) pairs.
    ///
    /// ```
    /// use socketwire::handshake::{HttpVersion, ServerHandshake};
    /// let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/ws", [
    ///     ("host", "example.com"), ("upgrade", "websocket"), ("connection", "keep-alive, Upgrade"),
    ///     ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), ("sec-websocket-version", "13"),
    /// ]).unwrap();
    /// // A host server writes its own 101 with this value:
    /// assert_eq!(&handshake.accept_key(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// ```
    pub fn from_parts<N, V>(
        method: &str,
        version: HttpVersion,
        target: &str,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> Result<ServerHandshake, HandshakeError>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        ServerHandshake::new(RequestHead::from_parts(method, version, target, headers))
    }

    /// The request target (path and query), e.g. `/chat?room=1`.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// assert_eq!(handshake.path(), "/chat");
    /// ```
    pub fn path(&self) -> &str {
        self.head.path()
    }

    /// The `Host` header's value.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// assert_eq!(handshake.host(), "server.example.com");
    /// ```
    pub fn host(&self) -> &str {
        self.field_str(self.fields.host)
    }

    /// The `Origin` header's value, if any (browsers always send one; check it
    /// against the origins you serve).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// assert_eq!(handshake.origin(), Some("http://example.com"));
    /// ```
    pub fn origin(&self) -> Option<&str> {
        self.fields.origin.map(|i| self.field_str(i))
    }

    /// The `Sec-WebSocket-Key` value (24 base64 characters).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// assert_eq!(handshake.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    /// ```
    pub fn key(&self) -> &str {
        core::str::from_utf8(&self.fields.key).unwrap_or_default()
    }

    /// The `Sec-WebSocket-Accept` value for this request's key.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// assert_eq!(&handshake.accept_key(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// ```
    pub fn accept_key(&self) -> [u8; 28] {
        accept_key(&self.fields.key)
    }

    /// The subprotocols the client offered, in its order of preference, across all
    /// `Sec-WebSocket-Protocol` headers.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// assert!(handshake.protocols().eq(["chat", "superchat"]));
    /// ```
    pub fn protocols(&self) -> impl Iterator<Item = &str> {
        protocol_names(self.head.header_values("sec-websocket-protocol"))
    }

    /// `true` if the client offered subprotocol `name` (compared exactly).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// assert!(handshake.offers_protocol("chat"));
    /// assert!(!handshake.offers_protocol("Chat"));
    /// ```
    pub fn offers_protocol(&self, name: &str) -> bool {
        self.protocols().any(|p| p == name)
    }

    /// The extensions the client offered, parsed (§9.1), across all
    /// `Sec-WebSocket-Extensions` headers, in order.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// let offers = handshake.extensions();
    /// assert_eq!(offers[0].name, "permessage-deflate");
    /// assert_eq!(offers[0].params[0].name, "client_max_window_bits");
    /// ```
    pub fn extensions(&self) -> Vec<ExtensionOffer> {
        extension_offers(self.head.header_values("sec-websocket-extensions"))
    }

    /// The whole request head, for any other header (cookies, authorization…).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// assert_eq!(handshake.head().header("user-agent"), Some(&b"test"[..]));
    /// ```
    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    /// Writes the `101 Switching Protocols` response (§4.2.2) into `out`, with
    /// `Sec-WebSocket-Accept`, the chosen subprotocol and extensions, and extra headers.
    /// Fails, writing nothing, if the subprotocol was not offered or a value would
    /// not be a valid header.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use socketwire::handshake::{AcceptOptions, HandshakeMisuse};
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// let mut out = BytesMut::new();
    /// let bad = AcceptOptions { protocol: Some("other"), ..Default::default() };
    /// assert_eq!(handshake.write_accept(&bad, &mut out), Err(HandshakeMisuse::SubprotocolNotOffered));
    /// assert!(out.is_empty());
    /// let options = AcceptOptions { protocol: Some("chat"), headers: &[("Set-Cookie", "a=b")], ..Default::default() };
    /// handshake.write_accept(&options, &mut out).unwrap();
    /// assert_eq!(&out[..], &b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
    ///     Sec-WebSocket-Protocol: chat\r\nSet-Cookie: a=b\r\n\r\n"[..]);
    /// ```
    pub fn write_accept(
        &self,
        options: &AcceptOptions<'_>,
        out: &mut BytesMut,
    ) -> Result<(), HandshakeMisuse> {
        write_accept_checked(|p| self.offers_protocol(p), &self.fields.key, options, out)
    }

    /// The bytes that followed the request head (the first WebSocket frames, if the
    /// client did not wait for the 101): hand them to the WebSocket connection.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// assert!(handshake.leftover().is_empty());
    /// ```
    pub fn leftover(&self) -> &Bytes {
        self.head.leftover()
    }

    /// Consumes the handshake, returning the leftover bytes.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let handshake = ServerHandshake::from_parts("GET", HttpVersion::HTTP_1_1, "/chat", [
    /// #     ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    /// #     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Origin", "http://example.com"),
    /// #     ("Sec-WebSocket-Protocol", "chat, superchat"), ("Sec-WebSocket-Version", "13"),
    /// #     ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    /// #     ("User-Agent", "test"),
    /// # ]).unwrap();
    /// let leftover: bytes::Bytes = handshake.into_leftover();
    /// assert!(leftover.is_empty());
    /// ```
    pub fn into_leftover(mut self) -> Bytes {
        self.head.take_leftover()
    }

    fn field_str(&self, index: usize) -> &str {
        field_str(&self.head, index)
    }
}

/// The value of the field at `index` as text (validated as UTF-8 in `validate`).
fn field_str(head: &impl UpgradeRequest, index: usize) -> &str {
    head.field(index)
        .and_then(|(_, v)| core::str::from_utf8(v).ok())
        .unwrap_or_default()
}

/// The subprotocol names in `Sec-WebSocket-Protocol` values (validated as tokens).
fn protocol_names<'a>(values: impl Iterator<Item = &'a [u8]>) -> impl Iterator<Item = &'a str> {
    values
        .flat_map(list_elements)
        .map(|p| core::str::from_utf8(p).unwrap_or_default())
}

/// The offers in `Sec-WebSocket-Extensions` values (validated), in order.
fn extension_offers<'a>(values: impl Iterator<Item = &'a [u8]>) -> Vec<ExtensionOffer> {
    let mut offers = Vec::new();
    for value in values {
        // Validated with the request, so this cannot fail.
        let _ = parse_extensions_into(value, &mut offers);
    }
    offers
}

/// Checks `options` against what the client offered, then writes the 101 for `key`.
fn write_accept_checked(
    offers_protocol: impl FnOnce(&str) -> bool,
    key: &[u8; 24],
    options: &AcceptOptions<'_>,
    out: &mut BytesMut,
) -> Result<(), HandshakeMisuse> {
    if let Some(protocol) = options.protocol {
        // §4.2.2: the selected subprotocol must be one the client offered.
        if !offers_protocol(protocol) {
            return Err(HandshakeMisuse::SubprotocolNotOffered);
        }
    }
    if let Some(extensions) = options.extensions {
        validate_extensions(extensions.as_bytes())
            .map_err(|_| HandshakeMisuse::InvalidExtensions)?;
    }
    check_extra_headers(options.headers)?;
    write_switching_protocols(&accept_key(key), options, out);
    Ok(())
}

/// A validated WebSocket upgrade request that borrows its head
/// ([`RequestHeadRef`]): the zero-copy, zero-allocation twin of [`ServerHandshake`].
///
/// [`ServerHandshakeRef::new`] checks exactly the rules [`ServerHandshake::new`] checks
/// (the same code), with the same errors; [`ServerHandshakeRef::write_accept`] writes
/// the same 101 for the same [`AcceptOptions`].
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::Status;
/// use socketwire::handshake::{
///     AcceptOptions, HeaderLimits, HeaderSlots, RequestHeadRef, ServerHandshakeRef,
/// };
///
/// let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x80";
/// let mut slots = HeaderSlots::new();
/// let mut out = BytesMut::new();
/// match RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT) {
///     Ok(Status::Partial) => { /* read more, then parse again */ }
///     Ok(Status::Complete(head)) => match ServerHandshakeRef::new(head) {
///         Ok(handshake) => {
///             let options = AcceptOptions { protocol: Some("chat"), ..Default::default() };
///             handshake.write_accept(&options, &mut out).unwrap();
///             assert_eq!(handshake.leftover(), b"\x81\x80"); // feed to the ws connection
///         }
///         Err(error) => error.write_response(&mut out), // 400 or 426, then close
///     },
///     Err(error) => error.write_response(&mut out), // then close
/// }
/// assert!(std::str::from_utf8(&out).unwrap()
///     .contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ServerHandshakeRef<'a> {
    head: RequestHeadRef<'a>,
    fields: ValidatedFields,
}

impl<'a> ServerHandshakeRef<'a> {
    /// Validates `head` against every rule of RFC 6455 §4.2.1, like
    /// [`ServerHandshake::new`]. On error, answer with
    /// [`HandshakeError::write_response`] and close the connection.
    ///
    /// ```
    /// use socketwire::handshake::*;
    /// let request = b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n";
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// let error = ServerHandshakeRef::new(head).unwrap_err();
    /// assert_eq!(error, HandshakeError::UnsupportedVersion);
    /// assert_eq!(error.status(), 426);
    /// ```
    pub fn new(head: RequestHeadRef<'a>) -> Result<ServerHandshakeRef<'a>, HandshakeError> {
        let fields = validate(&head)?;
        Ok(ServerHandshakeRef { head, fields })
    }

    /// The request target (path and query), e.g. `/chat?room=1`.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert_eq!(handshake.path(), "/chat");
    /// ```
    pub fn path(&self) -> &'a str {
        self.head.path()
    }

    /// The `Host` header's value.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert_eq!(handshake.host(), "server.example.com");
    /// ```
    pub fn host(&self) -> &str {
        field_str(&self.head, self.fields.host)
    }

    /// The `Origin` header's value, if any.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert_eq!(handshake.origin(), Some("http://example.com"));
    /// ```
    pub fn origin(&self) -> Option<&str> {
        self.fields.origin.map(|i| field_str(&self.head, i))
    }

    /// The `Sec-WebSocket-Key` value (24 base64 characters).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert_eq!(handshake.key(), "dGhlIHNhbXBsZSBub25jZQ==");
    /// ```
    pub fn key(&self) -> &str {
        core::str::from_utf8(&self.fields.key).unwrap_or_default()
    }

    /// The `Sec-WebSocket-Accept` value for this request's key.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert_eq!(&handshake.accept_key(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /// ```
    pub fn accept_key(&self) -> [u8; 28] {
        accept_key(&self.fields.key)
    }

    /// The subprotocols the client offered, in its order of preference.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert!(handshake.protocols().eq(["chat", "superchat"]));
    /// ```
    pub fn protocols(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        protocol_names(self.head.header_values("sec-websocket-protocol"))
    }

    /// `true` if the client offered subprotocol `name` (compared exactly).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert!(handshake.offers_protocol("chat"));
    /// assert!(!handshake.offers_protocol("Chat"));
    /// ```
    pub fn offers_protocol(&self, name: &str) -> bool {
        self.protocols().any(|p| p == name)
    }

    /// The extensions the client offered, parsed (§9.1), in order.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert_eq!(handshake.extensions()[0].name, "permessage-deflate");
    /// ```
    pub fn extensions(&self) -> Vec<ExtensionOffer> {
        extension_offers(self.head.header_values("sec-websocket-extensions"))
    }

    /// The whole request head, for any other header.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert_eq!(handshake.head().header("user-agent"), Some(&b"test"[..]));
    /// ```
    pub fn head(&self) -> &RequestHeadRef<'a> {
        &self.head
    }

    /// Writes the `101 Switching Protocols` response (§4.2.2) into `out`, exactly as
    /// [`ServerHandshake::write_accept`] does. Fails, writing nothing, if the
    /// subprotocol was not offered or a value would not be a valid header.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// let mut out = bytes::BytesMut::new();
    /// let bad = AcceptOptions { protocol: Some("other"), ..Default::default() };
    /// assert_eq!(handshake.write_accept(&bad, &mut out), Err(HandshakeMisuse::SubprotocolNotOffered));
    /// let options = AcceptOptions { protocol: Some("chat"), ..Default::default() };
    /// handshake.write_accept(&options, &mut out).unwrap();
    /// assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    /// ```
    pub fn write_accept(
        &self,
        options: &AcceptOptions<'_>,
        out: &mut BytesMut,
    ) -> Result<(), HandshakeMisuse> {
        write_accept_checked(|p| self.offers_protocol(p), &self.fields.key, options, out)
    }

    /// The bytes of the input after the request head (the first WebSocket frames, if
    /// the client did not wait for the 101): hand them to the WebSocket connection.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
    /// #     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
    /// #     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\
    /// #     Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nUser-Agent: test\r\n\r\n";
    /// # let mut slots = HeaderSlots::new();
    /// # let head = RequestHeadRef::parse(request, &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// # let handshake = ServerHandshakeRef::new(head).unwrap();
    /// assert!(handshake.leftover().is_empty());
    /// ```
    pub fn leftover(&self) -> &'a [u8] {
        self.head.leftover()
    }
}

/// Rejects extra header fields that would break the response (header injection).
pub(crate) fn check_extra_headers(headers: &[(&str, &str)]) -> Result<(), HandshakeMisuse> {
    for (name, value) in headers {
        if !is_token(name.as_bytes()) {
            return Err(HandshakeMisuse::InvalidHeaderName);
        }
        if !value.bytes().all(is_field_value_byte) {
            return Err(HandshakeMisuse::InvalidHeaderValue);
        }
    }
    Ok(())
}

fn write_switching_protocols(accept: &[u8; 28], options: &AcceptOptions<'_>, out: &mut BytesMut) {
    const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: ";
    let mut len = HEAD.len() + accept.len() + 4;
    if let Some(p) = options.protocol {
        len += 26 + p.len();
    }
    if let Some(e) = options.extensions {
        len += 28 + e.len();
    }
    for (n, v) in options.headers {
        len += n.len() + v.len() + 4;
    }
    out.reserve(len);
    out.put_slice(HEAD);
    out.put_slice(accept);
    out.put_slice(b"\r\n");
    if let Some(protocol) = options.protocol {
        out.put_slice(b"Sec-WebSocket-Protocol: ");
        out.put_slice(protocol.as_bytes());
        out.put_slice(b"\r\n");
    }
    if let Some(extensions) = options.extensions {
        out.put_slice(b"Sec-WebSocket-Extensions: ");
        out.put_slice(extensions.as_bytes());
        out.put_slice(b"\r\n");
    }
    for (name, value) in options.headers {
        out.put_slice(name.as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use proptest::prelude::*;

    /// Outcome of the whole validation from what one of the two paths found.
    fn outcome(
        found: Result<FoundFields<'_>, HandshakeError>,
    ) -> Result<(usize, Option<usize>, [u8; 24]), HandshakeError> {
        found
            .and_then(FoundFields::check)
            .map(|v| (v.host, v.origin, v.key))
    }

    fn field_strategy() -> impl Strategy<Value = (String, String)> {
        let name = prop::sample::select(
            &[
                "Host",
                "HOST",
                "Origin",
                "Upgrade",
                "connection",
                "Sec-WebSocket-Key",
                "sec-websocket-version",
                "Sec-WebSocket-Protocol",
                "Sec-WebSocket-Extensions",
                "User-Agent",
                "Hosts",
            ][..],
        );
        let value = prop::sample::select(
            &[
                "websocket",
                "Upgrade",
                "keep-alive, upgrade",
                "dGhlIHNhbXBsZSBub25jZQ==",
                "13",
                "8",
                "chat, superchat",
                "a b",
                "permessage-deflate; client_max_window_bits",
                "x;=",
                "example.com",
                "caf\u{e9}",
                "",
            ][..],
        );
        (name, value).prop_map(|(n, v)| (String::from(n), String::from(v)))
    }

    proptest! {
        #[test]
        fn indexed_fields_agree_with_the_full_scan(
            fields in proptest::collection::vec(field_strategy(), 0..12),
        ) {
            let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", fields);
            let scanned = outcome(find_fields_scanning(&head));
            if let Some(found) = find_fields_indexed(&head) {
                prop_assert_eq!(outcome(Ok(found)), scanned);
            }
        }
    }

    #[test]
    fn the_index_is_used_for_a_typical_request_and_not_for_repeats() {
        let fields = [
            ("Host", "a"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ];
        let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", fields);
        assert!(find_fields_indexed(&head).is_some());
        let repeated = fields.iter().chain(&[("connection", "keep-alive")]);
        let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", repeated.copied());
        assert!(find_fields_indexed(&head).is_none());
        assert!(validate(&head).is_ok());
    }
}
