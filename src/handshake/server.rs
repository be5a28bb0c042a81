//! The server side: validating an upgrade request (RFC 6455 §4.2.1) and writing the
//! `101 Switching Protocols` response (§4.2.2), once for both head storages.

use alloc::vec::Vec;
use bytes::{BufMut, BytesMut};

use super::extensions::{checked_offers, validate_extensions};
use super::fields::HandshakeField;
use super::head::{HeadStorage, HttpVersion, Owned, RequestHead};
use super::headers::{check_extra_headers, optional_fields_len, put_optional_fields};
use super::tokens::{UPGRADE, WEBSOCKET, ascii_str, is_token, list_contains, list_elements};
use super::{Borrowed, ExtensionOffer, HandshakeError, HandshakeMisuse, accept_key};

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
/// One type over both head storages: `ServerHandshake` validates an owned
/// [`RequestHead`] (read by [`RequestParser::handle_input`](super::RequestParser::handle_input),
/// or built from parts a host HTTP server already parsed: [`ServerHandshake::from_parts`]),
/// and [`ServerHandshakeRef<'a>`](ServerHandshakeRef) a borrowed
/// [`RequestHeadRef`](super::RequestHeadRef). Same rules, same errors, same 101.
///
/// Look at what the client offered (path, origin, subprotocols, extensions), then
/// either write the 101 response with [`ServerHandshake::write_accept`] and hand
/// [`ServerHandshake::into_leftover`] to the WebSocket connection, or refuse with an
/// HTTP error of your own.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::Status;
/// use socketwire::handshake::{AcceptOptions, RequestParser, ServerHandshake};
///
/// let request = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let mut parser = RequestParser::new();
/// let Status::Complete(head) = parser.handle_input(request).unwrap() else { unreachable!() };
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
#[must_use = "a validated upgrade is to be answered with write_accept"]
#[derive(Debug, Clone)]
pub struct ServerHandshake<S: HeadStorage = Owned> {
    head: RequestHead<S>,
    fields: ValidatedFields,
}

/// A validated upgrade request that borrows its head: [`ServerHandshake`] over a
/// [`RequestHeadRef`](super::RequestHeadRef). Nothing is copied or allocated.
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
pub type ServerHandshakeRef<'a> = ServerHandshake<Borrowed<'a>>;

impl Copy for ServerHandshake<Borrowed<'_>> {}

/// Checks every rule of RFC 6455 §4.2.1 without consuming the head.
///
/// ```
/// use socketwire::handshake::{HandshakeError, HttpVersion, RequestHead, validate_request};
/// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("host", "a")]);
/// assert_eq!(validate_request(&head), Err(HandshakeError::MissingUpgradeWebsocket));
/// ```
pub fn validate_request<S: HeadStorage>(head: &RequestHead<S>) -> Result<(), HandshakeError> {
    validate(head).map(|_| ())
}

#[inline]
fn validate<S: HeadStorage>(head: &RequestHead<S>) -> Result<ValidatedFields, HandshakeError> {
    // https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
    // "1. An HTTP/1.1 or higher GET request, including a "Request-URI""
    let storage = head.storage();
    if storage.method_bytes() != b"GET" {
        return Err(HandshakeError::MethodNotGet);
    }
    if head.version() < HttpVersion::HTTP_1_1 {
        return Err(HandshakeError::HttpVersionTooOld);
    }
    let found = match indexed_fields(storage) {
        Some(fields) => FoundFields::walk(fields),
        None => FoundFields::walk(all_fields(storage)),
    };
    found?.check()
}

/// The handshake's fields (at, which, value) straight from the index an owned head
/// recorded while it was copied, when no field is repeated: then they are all the walk
/// needs to see.
fn indexed_fields<S: HeadStorage>(
    storage: &S,
) -> Option<impl Iterator<Item = (usize, HandshakeField, &[u8])>> {
    let index = storage.handshake_index()?;
    let fields = index
        .recorded()
        .filter_map(|(at, field)| Some((at, field, storage.value(at)?)));
    index.each_at_most_once().then_some(fields)
}

/// The handshake's fields (at, which, value), found among all the fields.
fn all_fields<S: HeadStorage>(storage: &S) -> impl Iterator<Item = (usize, HandshakeField, &[u8])> {
    storage
        .raw_fields()
        .enumerate()
        .filter_map(|(at, (name, value))| Some((at, HandshakeField::of(name)?, value)))
}

/// What the header fields say, gathered in one pass over them; [`FoundFields::check`]
/// applies the rules that need all of them.
struct FoundFields<'a> {
    host: Option<(usize, &'a [u8])>,
    origin: Option<(usize, &'a [u8])>,
    upgrade: bool,
    connection: bool,
    key: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    protocols_valid: bool,
    extensions_error: Option<HandshakeError>,
}

impl<'a> FoundFields<'a> {
    /// One pass over the handshake's fields (at, which, value), in field order, failing
    /// at the first repeated field that must be unique.
    fn walk(
        fields: impl Iterator<Item = (usize, HandshakeField, &'a [u8])>,
    ) -> Result<FoundFields<'a>, HandshakeError> {
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
        for (at, field, value) in fields {
            match field {
                HandshakeField::Host => {
                    // https://www.rfc-editor.org/rfc/rfc7230#section-5.4
                    // "A server MUST respond with a 400 (Bad Request) status code to any
                    // HTTP/1.1 request message that ... contains more than one Host
                    // header field"
                    if found.host.replace((at, value)).is_some() {
                        return duplicate("Host");
                    }
                }
                HandshakeField::Origin => {
                    found.origin.get_or_insert((at, value));
                }
                HandshakeField::Upgrade => found.upgrade |= list_contains(value, &WEBSOCKET),
                HandshakeField::Connection => found.connection |= list_contains(value, &UPGRADE),
                HandshakeField::Key => {
                    // https://www.rfc-editor.org/rfc/rfc6455#section-11.3.1
                    // "The |Sec-WebSocket-Key| header field MUST NOT appear more than
                    // once in an HTTP request."
                    if found.key.replace(value).is_some() {
                        return duplicate("Sec-WebSocket-Key");
                    }
                }
                HandshakeField::Version => {
                    // https://www.rfc-editor.org/rfc/rfc6455#section-11.3.5
                    // "The |Sec-WebSocket-Version| header field MUST NOT appear more
                    // than once in an HTTP request."
                    if found.version.replace(value).is_some() {
                        return duplicate("Sec-WebSocket-Version");
                    }
                }
                HandshakeField::Protocol => {
                    // https://www.rfc-editor.org/rfc/rfc6455#section-4.1
                    // The subprotocol values "MUST all be unique strings" and be tokens
                    // (§11.3.4: 1#token).
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

    #[inline]
    fn check(self) -> Result<ValidatedFields, HandshakeError> {
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
        // "2. A |Host| header field containing the server's authority."
        let Some((host, host_value)) = self.host else {
            return Err(HandshakeError::MissingHost);
        };
        // `host()` and `origin()` hand these out as text.
        if !is_text(host_value) {
            return Err(HandshakeError::MalformedHttp("Host is not UTF-8"));
        }
        if self.origin.is_some_and(|(_, value)| !is_text(value)) {
            return Err(HandshakeError::MalformedHttp("Origin is not UTF-8"));
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
        // "3. An |Upgrade| header field containing the value "websocket", treated as
        // an ASCII case-insensitive value."
        if !self.upgrade {
            return Err(HandshakeError::MissingUpgradeWebsocket);
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
        // "4. A |Connection| header field that includes the token "Upgrade", treated
        // as an ASCII case-insensitive value."
        if !self.connection {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
        // "6. A |Sec-WebSocket-Version| header field, with a value of 13."
        // (Checked before the key so that an old client learns the version: §4.4.)
        match self.version {
            None => return Err(HandshakeError::MissingVersion),
            Some(b"13") => {}
            Some(_) => return Err(HandshakeError::UnsupportedVersion),
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
        // "5. A |Sec-WebSocket-Key| header field with a base64-encoded value that,
        // when decoded, is 16 bytes in length."
        let key = decode_key(self.key.ok_or(HandshakeError::MissingKey)?)?;
        if !self.protocols_valid {
            return Err(HandshakeError::InvalidSubprotocolList);
        }
        if let Some(error) = self.extensions_error {
            return Err(error);
        }
        Ok(ValidatedFields {
            host,
            origin: self.origin.map(|(at, _)| at),
            key: *key,
        })
    }
}

/// `true` if `value` is UTF-8 (ASCII, in practice).
fn is_text(value: &[u8]) -> bool {
    value.is_ascii() || core::str::from_utf8(value).is_ok()
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

impl<S: HeadStorage> ServerHandshake<S> {
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
    pub fn new(head: RequestHead<S>) -> Result<ServerHandshake<S>, HandshakeError> {
        let fields = validate(&head)?;
        Ok(ServerHandshake { head, fields })
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
        self.field_text(self.fields.host)
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
        self.fields.origin.map(|at| self.field_text(at))
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
        ascii_str(&self.fields.key)
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
        // Validated as lists of tokens.
        self.head
            .header_values("sec-websocket-protocol")
            .flat_map(list_elements)
            .map(ascii_str)
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
    /// `Sec-WebSocket-Extensions` headers, in order. They borrow the head.
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
    pub fn extensions(&self) -> Vec<ExtensionOffer<'_>> {
        checked_offers(self.head.header_values("sec-websocket-extensions"))
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
    pub fn head(&self) -> &RequestHead<S> {
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
        self.check_accept(options)?;
        write_switching_protocols(&self.accept_key(), options, out);
        Ok(())
    }

    /// Checks `options` for a 101 answering this request: the subprotocol was
    /// offered, the extensions follow §9.1, the extra fields cannot break the head.
    /// Every form of the 101 is checked here.
    pub(super) fn check_accept(&self, options: &AcceptOptions<'_>) -> Result<(), HandshakeMisuse> {
        if let Some(protocol) = options.protocol {
            // https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2
            // The selected subprotocol is "one of the values ... the client sent".
            if !self.offers_protocol(protocol) {
                return Err(HandshakeMisuse::SubprotocolNotOffered);
            }
        }
        if let Some(extensions) = options.extensions {
            validate_extensions(extensions.as_bytes())
                .map_err(|_| HandshakeMisuse::InvalidExtensions)?;
        }
        check_extra_headers(options.headers)
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
    pub fn leftover(&self) -> &[u8] {
        self.head.leftover()
    }

    /// Consumes the handshake, returning the leftover bytes ([`Bytes`](bytes::Bytes)
    /// when owned, `&'a [u8]` when borrowed).
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
    pub fn into_leftover(self) -> S::Leftover {
        self.head.into_leftover()
    }

    /// The value of the field at `at`, checked as UTF-8 by the validation.
    fn field_text(&self, at: usize) -> &str {
        let value = self.head.storage().value(at).map(core::str::from_utf8);
        debug_assert!(
            matches!(value, Some(Ok(_))),
            "validated field {at} is not text"
        );
        value.and_then(Result::ok).unwrap_or_default()
    }
}

impl ServerHandshake {
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
}

fn write_switching_protocols(accept: &[u8; 28], options: &AcceptOptions<'_>, out: &mut BytesMut) {
    const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Accept: ";
    const PROTOCOL: &[u8] = b"Sec-WebSocket-Protocol: ";
    let protocol_len = options.protocol.map_or(0, |p| PROTOCOL.len() + p.len() + 2);
    out.reserve(
        HEAD.len()
            + accept.len()
            + 4
            + protocol_len
            + optional_fields_len(options.extensions, options.headers),
    );
    out.put_slice(HEAD);
    out.put_slice(accept);
    out.put_slice(b"\r\n");
    if let Some(protocol) = options.protocol {
        out.put_slice(PROTOCOL);
        out.put_slice(protocol.as_bytes());
        out.put_slice(b"\r\n");
    }
    put_optional_fields(out, options.extensions, options.headers);
    out.put_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use proptest::prelude::*;

    /// Outcome of the whole validation from what one walk found.
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
        fn indexed_fields_agree_with_all_fields(
            fields in proptest::collection::vec(field_strategy(), 0..12),
        ) {
            let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", fields);
            let all = outcome(FoundFields::walk(all_fields(head.storage())));
            if let Some(indexed) = indexed_fields(head.storage()) {
                prop_assert_eq!(outcome(FoundFields::walk(indexed)), all);
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
        assert!(indexed_fields(head.storage()).is_some());
        let repeated = fields.iter().chain(&[("connection", "keep-alive")]);
        let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", repeated.copied());
        assert!(indexed_fields(head.storage()).is_none());
        assert!(validate(&head).is_ok());
    }
}
