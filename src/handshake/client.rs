//! The client side: writing the opening handshake request (RFC 6455 §4.1) and reading
//! and checking the server's response.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};

use super::extensions::{ExtensionEvent, checked_offers, walk_extensions};
use super::head::HeaderLimits;
use super::headers::{check_extra_headers, put_optional_fields};
use super::response::{ResponseHead, ResponseReader};
use super::tokens::{UPGRADE, WEBSOCKET, ascii_str, is_token, list_contains, list_elements};
use super::{ExtensionOffer, HandshakeError, HandshakeMisuse, accept_key};
use crate::Status;

/// What the client asks for. The 16-byte nonce must be random for each connection
/// (§4.1: "a randomly selected 16-byte value"); the library has no RNG, so the caller
/// supplies it.
///
/// ```
/// use socketwire::handshake::ClientRequest;
/// let request = ClientRequest {
///     protocols: &["chat", "superchat"],
///     extensions: Some("permessage-deflate; client_max_window_bits"),
///     ..ClientRequest::new("example.com", "/chat", [0x42; 16])
/// };
/// assert_eq!(request.host, "example.com");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRequest<'a> {
    /// The `Host` value (`host` or `host:port`).
    pub host: &'a str,
    /// The request target: path and query, e.g. `/chat?room=1`.
    pub path: &'a str,
    /// The random nonce; its base64 is the `Sec-WebSocket-Key`.
    pub nonce: [u8; 16],
    /// Subprotocols to offer, in order of preference (tokens, unique).
    pub protocols: &'a [&'a str],
    /// The `Sec-WebSocket-Extensions` offer, e.g. from the deflate layer.
    pub extensions: Option<&'a str>,
    /// Extra header fields (`Origin`, cookies, authorization…), as (name, value).
    pub headers: &'a [(&'a str, &'a str)],
    /// Caps on the response head.
    pub limits: HeaderLimits,
}

impl<'a> ClientRequest<'a> {
    /// A request with no subprotocols, extensions or extra headers, and default limits.
    ///
    /// ```
    /// let request = socketwire::handshake::ClientRequest::new("example.com", "/", [1; 16]);
    /// assert!(request.protocols.is_empty());
    /// ```
    pub fn new(host: &'a str, path: &'a str, nonce: [u8; 16]) -> ClientRequest<'a> {
        ClientRequest {
            host,
            path,
            nonce,
            protocols: &[],
            extensions: None,
            headers: &[],
            limits: HeaderLimits::DEFAULT,
        }
    }
}

/// A successful handshake as the client sees it.
///
/// ```
/// # use socketwire::handshake::*;
/// # let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
/// # let accepted = client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n\x81\x00").unwrap().complete().unwrap();
/// assert_eq!(accepted.protocol, None);
/// assert!(accepted.extensions().is_empty());
/// assert_eq!(&accepted.leftover[..], b"\x81\x00");
/// ```
#[must_use = "the accepted response holds the first frames (leftover) and the extensions"]
#[derive(Debug, Clone)]
pub struct AcceptedResponse {
    /// The subprotocol the server chose, if any (always one we offered).
    pub protocol: Option<String>,
    /// The whole response head, for any other header; its extensions are
    /// [`AcceptedResponse::extensions`].
    pub response: ResponseHead,
    /// Bytes that arrived after the response head: the first WebSocket frames. Hand
    /// them to the connection.
    pub leftover: Bytes,
}

impl AcceptedResponse {
    /// The extensions the server accepted, parsed (§9.1), borrowing the response; every
    /// name is one we offered. Checking their parameters is the extension's job.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let request = ClientRequest { extensions: Some("permessage-deflate"), ..ClientRequest::new("a", "/", [0; 16]) };
    /// let mut client = ClientHandshake::new(&request).unwrap();
    /// let accepted = client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\
    ///     Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n").unwrap().complete().unwrap();
    /// let extensions = accepted.extensions();
    /// assert_eq!(extensions[0].name, "permessage-deflate");
    /// assert_eq!(extensions[0].params[0].name, "server_no_context_takeover");
    /// ```
    pub fn extensions(&self) -> Vec<ExtensionOffer<'_>> {
        checked_offers(self.response.header_values("sec-websocket-extensions"))
    }
}

/// The client side of the opening handshake.
///
/// Build it from a [`ClientRequest`], send what [`ClientHandshake::write_request`]
/// writes, then feed the bytes read from the socket to
/// [`ClientHandshake::handle_input`] until it returns [`Status::Complete`] with the
/// [`AcceptedResponse`]. The response head is read with the same linear scan and caps
/// as [`RequestParser`](super::RequestParser), and checked as §4.1 requires: status
/// 101, `Upgrade: websocket`, `Connection: Upgrade`, the `Sec-WebSocket-Accept` value,
/// and that the subprotocol and extensions chosen were offered.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::Status;
/// use socketwire::handshake::{ClientHandshake, ClientRequest};
///
/// let request = ClientRequest { protocols: &["chat"], ..ClientRequest::new("example.com", "/chat", [0; 16]) };
/// let mut client = ClientHandshake::new(&request).unwrap();
/// let mut out = BytesMut::new();
/// client.write_request(&mut out);
/// assert!(out.starts_with(b"GET /chat HTTP/1.1\r\nHost: example.com\r\n"));
///
/// let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///     Sec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\nSec-WebSocket-Protocol: chat\r\n\r\n";
/// assert_eq!(client.handle_input(&response[..20]).unwrap().is_complete(), false);
/// let Status::Complete(accepted) = client.handle_input(&response[20..]).unwrap() else { unreachable!() };
/// assert_eq!(accepted.protocol.as_deref(), Some("chat"));
/// ```
#[must_use = "the handshake writes the request and checks the response"]
#[derive(Debug)]
pub struct ClientHandshake {
    request: Bytes,
    expected_accept: [u8; 28],
    protocols: Vec<String>,
    extension_names: Vec<String>,
    reader: ResponseReader,
}

/// A request target must be non-empty visible ASCII (no spaces or controls).
fn is_request_target(path: &str) -> bool {
    !path.is_empty() && path.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

impl ClientHandshake {
    /// Checks the request and prepares it. Fails on caller mistakes only: an empty or
    /// spaced path, a host or header value with control bytes, a subprotocol that is
    /// not a token or is repeated, an extension offer that does not follow §9.1.
    ///
    /// ```
    /// use socketwire::handshake::{ClientHandshake, ClientRequest, HandshakeMisuse};
    /// let bad = ClientRequest { protocols: &["chat", "chat"], ..ClientRequest::new("a", "/", [0; 16]) };
    /// assert_eq!(ClientHandshake::new(&bad).unwrap_err(), HandshakeMisuse::InvalidSubprotocol);
    /// ```
    pub fn new(request: &ClientRequest<'_>) -> Result<ClientHandshake, HandshakeMisuse> {
        if !is_request_target(request.path) {
            return Err(HandshakeMisuse::InvalidPath);
        }
        if request.host.is_empty() || !request.host.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
            return Err(HandshakeMisuse::InvalidHeaderValue);
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.1
        // subprotocol values "MUST all be unique strings" and be tokens.
        for (i, protocol) in request.protocols.iter().enumerate() {
            if !is_token(protocol.as_bytes()) || request.protocols[..i].contains(protocol) {
                return Err(HandshakeMisuse::InvalidSubprotocol);
            }
        }
        let mut extension_names = Vec::new();
        if let Some(offer) = request.extensions {
            walk_extensions(offer.as_bytes(), |event| {
                if let ExtensionEvent::Extension(name) = event {
                    extension_names.push(ascii_str(name).into());
                }
            })
            .map_err(|_| HandshakeMisuse::InvalidExtensions)?;
        }
        check_extra_headers(request.headers)?;

        let mut key = [0u8; 24];
        let _ = STANDARD.encode_slice(request.nonce, &mut key);
        let mut out = BytesMut::with_capacity(256);
        out.put_slice(b"GET ");
        out.put_slice(request.path.as_bytes());
        out.put_slice(b" HTTP/1.1\r\nHost: ");
        out.put_slice(request.host.as_bytes());
        out.put_slice(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
        out.put_slice(&key);
        out.put_slice(b"\r\nSec-WebSocket-Version: 13\r\n");
        if !request.protocols.is_empty() {
            out.put_slice(b"Sec-WebSocket-Protocol: ");
            for (i, protocol) in request.protocols.iter().enumerate() {
                if i > 0 {
                    out.put_slice(b", ");
                }
                out.put_slice(protocol.as_bytes());
            }
            out.put_slice(b"\r\n");
        }
        put_optional_fields(&mut out, request.extensions, request.headers);
        out.put_slice(b"\r\n");

        Ok(ClientHandshake {
            request: out.freeze(),
            expected_accept: accept_key(&key),
            protocols: request.protocols.iter().map(|&p| p.into()).collect(),
            extension_names,
            reader: ResponseReader::new(request.limits),
        })
    }

    /// Appends the request bytes to `out`.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use socketwire::handshake::{ClientHandshake, ClientRequest};
    /// let client = ClientHandshake::new(&ClientRequest::new("example.com", "/chat", [0; 16])).unwrap();
    /// let mut out = BytesMut::new();
    /// client.write_request(&mut out);
    /// assert_eq!(&out[..], &b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\
    ///     Sec-WebSocket-Version: 13\r\n\r\n"[..]);
    /// ```
    pub fn write_request(&self, out: &mut BytesMut) {
        out.extend_from_slice(&self.request);
    }

    /// Feeds bytes of the server's response. Returns [`Status::Partial`] until the
    /// response head is complete, then the checked [`AcceptedResponse`] or the reason
    /// the handshake failed (the connection must then be closed: §4.1 "_Fail the
    /// WebSocket Connection_").
    ///
    /// ```
    /// use socketwire::handshake::{ClientHandshake, ClientRequest, HandshakeError};
    /// let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// let response = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
    ///     Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    /// assert_eq!(client.handle_input(response).unwrap_err(), HandshakeError::AcceptMismatch);
    /// ```
    pub fn handle_input(
        &mut self,
        input: &[u8],
    ) -> Result<Status<AcceptedResponse>, HandshakeError> {
        let Status::Complete((response, leftover)) = self.reader.handle_input(input)? else {
            return Ok(Status::Partial);
        };
        self.check(response, leftover).map(Status::Complete)
    }

    /// The §4.1 checks of a response head, read from bytes or built from a host
    /// client's parts: one implementation for both.
    pub(super) fn check(
        &self,
        response: ResponseHead,
        leftover: Bytes,
    ) -> Result<AcceptedResponse, HandshakeError> {
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.1
        // "If the status code received from the server is not 101, the client
        // handles the response per HTTP [RFC2616] procedures."
        if response.status() != 101 {
            return Err(HandshakeError::UnexpectedStatus(response.status()));
        }
        let mut upgrade = false;
        let mut connection = false;
        let mut accept: Option<&[u8]> = None;
        let mut protocol: Option<&[u8]> = None;
        let mut unoffered_extension = false;
        for (name, value) in response.raw_fields() {
            if name.eq_ignore_ascii_case(b"upgrade") {
                upgrade |= list_contains(value, &WEBSOCKET);
            } else if name.eq_ignore_ascii_case(b"connection") {
                connection |= list_contains(value, &UPGRADE);
            } else if name.eq_ignore_ascii_case(b"sec-websocket-accept") {
                // https://www.rfc-editor.org/rfc/rfc6455#section-11.3.3
                // "The |Sec-WebSocket-Accept| header MUST NOT appear more than
                // once in an HTTP response."
                if accept.replace(value).is_some() {
                    return Err(HandshakeError::DuplicateHeader("Sec-WebSocket-Accept"));
                }
            } else if name.eq_ignore_ascii_case(b"sec-websocket-protocol") {
                // https://www.rfc-editor.org/rfc/rfc6455#section-11.3.4
                // "The |Sec-WebSocket-Protocol| header field MUST NOT appear
                // more than once in an HTTP response."
                if protocol.replace(value).is_some() {
                    return Err(HandshakeError::DuplicateHeader("Sec-WebSocket-Protocol"));
                }
            } else if name.eq_ignore_ascii_case(b"sec-websocket-extensions") {
                walk_extensions(value, |event| {
                    if let ExtensionEvent::Extension(name) = event {
                        unoffered_extension |= !self.offered_extension(name);
                    }
                })
                .map_err(|offset| HandshakeError::InvalidExtensionList { offset })?;
            }
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.1
        // "If the response lacks an |Upgrade| header field or the |Upgrade| header
        // field contains a value that is not an ASCII case-insensitive match for the
        // value "websocket", the client MUST _Fail the WebSocket Connection_."
        if !upgrade {
            return Err(HandshakeError::MissingUpgradeWebsocket);
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.1
        // "If the response lacks a |Connection| header field or the |Connection|
        // header field doesn't contain a token that is an ASCII case-insensitive match
        // for the value "Upgrade", the client MUST _Fail the WebSocket Connection_."
        if !connection {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.1
        // "If the response lacks a |Sec-WebSocket-Accept| header field or the
        // |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1
        // of the concatenation of the |Sec-WebSocket-Key| ... the client MUST _Fail_"
        match accept {
            None => return Err(HandshakeError::MissingAccept),
            Some(value) if value != self.expected_accept => {
                return Err(HandshakeError::AcceptMismatch);
            }
            Some(_) => {}
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.1
        // "If the response includes a |Sec-WebSocket-Extensions| header field and
        // this header field indicates the use of an extension that was not present in
        // the client's handshake ..., the client MUST _Fail the WebSocket Connection_."
        if unoffered_extension {
            return Err(HandshakeError::UnofferedExtension);
        }
        // https://www.rfc-editor.org/rfc/rfc6455#section-4.1
        // "If the response includes a |Sec-WebSocket-Protocol| header field and
        // this header field indicates the use of a subprotocol that was not present in
        // the client's handshake ..., the client MUST _Fail the WebSocket Connection_."
        let protocol = match protocol {
            None => None,
            Some(value) => {
                let mut elements = list_elements(value);
                let chosen = match (elements.next(), elements.next()) {
                    (Some(chosen), None) if is_token(chosen) => chosen,
                    (None, None) => &[][..],
                    _ => return Err(HandshakeError::InvalidSubprotocolList),
                };
                if chosen.is_empty() {
                    None
                } else {
                    let offered = self.protocols.iter().find(|p| p.as_bytes() == chosen);
                    Some(offered.ok_or(HandshakeError::UnofferedSubprotocol)?.clone())
                }
            }
        };
        Ok(AcceptedResponse {
            protocol,
            response,
            leftover,
        })
    }

    /// `true` if we offered the extension `name` (ASCII case-insensitive).
    fn offered_extension(&self, name: &[u8]) -> bool {
        self.extension_names
            .iter()
            .any(|offered| offered.as_bytes().eq_ignore_ascii_case(name))
    }
}
