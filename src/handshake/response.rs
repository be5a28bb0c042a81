//! The head of the server's response, as the client side reads it (RFC 6455 §4.1).

use bytes::Bytes;

use super::HandshakeError;
use super::fields::{FieldList, HandshakeFieldIndex, HeaderBlock, header_accessors, span_of};
use super::head::{HeaderLimits, HttpVersion, Slot};
use super::parser::{ChunkBuffer, HeadAt, HeadKind, HeadScanner, complete_len};
use crate::Status;

/// The head of an HTTP/1.x response: status line and header fields (the client side
/// of the handshake reads one, with the scanner and caps of
/// [`RequestParser`](super::RequestParser)).
///
/// ```
/// use socketwire::handshake::{ClientHandshake, ClientRequest};
/// let mut client = ClientHandshake::new(&ClientRequest::new("example.com", "/", [0; 16])).unwrap();
/// let accepted = client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n").unwrap().complete().unwrap();
/// let response = &accepted.response;
/// assert_eq!((response.status(), response.reason()), (101, "Switching Protocols"));
/// assert_eq!(response.version(), socketwire::handshake::HttpVersion::HTTP_1_1);
/// assert!(response.headers().any(|(n, _)| n == "Sec-WebSocket-Accept"));
/// assert_eq!(response.header("upgrade"), Some(&b"websocket"[..]));
/// assert_eq!(response.header_values("connection").count(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct ResponseHead {
    block: HeaderBlock,
    status: u16,
    reason: (usize, usize),
    version: HttpVersion,
}

impl ResponseHead {
    /// The status code, e.g. 101 (see the type's example).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// let error = client.handle_input(b"HTTP/1.1 403 Forbidden\r\n\r\n").unwrap_err();
    /// assert_eq!(error, HandshakeError::UnexpectedStatus(403));
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, e.g. `Switching Protocols` (see the type's example).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// # let accepted = client.handle_input(b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n").unwrap().complete().unwrap();
    /// assert_eq!(accepted.response.reason(), "OK");
    /// ```
    pub fn reason(&self) -> &str {
        self.block.str(self.reason)
    }

    /// The HTTP version of the status line (see the type's example).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// # let accepted = client.handle_input(b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n").unwrap().complete().unwrap();
    /// assert_eq!(accepted.response.version().minor, 1);
    /// ```
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    header_accessors!(
        block,
        r#" # let mut client = socketwire::handshake::ClientHandshake::new(&socketwire::handshake::ClientRequest::new("a", "/", [0; 16])).unwrap();
 # let accepted = client.handle_input(b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\nX: 1\r\nx: 2\r\n\r\n").unwrap().complete().unwrap();
 # let head = &accepted.response;"#
    );

    /// A head from parts a host HTTP client (hyper…) already parsed: status, reason
    /// phrase, version and the header fields as (name, value).
    #[cfg(feature = "http")]
    pub(super) fn from_parts<N, V>(
        status: u16,
        reason: &str,
        version: HttpVersion,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> ResponseHead
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let index = &mut HandshakeFieldIndex::default();
        let (block, [reason]) = HeaderBlock::from_fields([reason.as_bytes()], headers, index);
        ResponseHead {
            block,
            status,
            reason,
            version,
        }
    }

    /// Every field as (name, value) bytes, in order.
    pub(super) fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.block.raw_fields()
    }
}

/// A response head parsed in place.
pub(super) struct ParsedResponse<'h> {
    text: &'h [u8],
    status: u16,
    reason: &'h str,
    minor: u8,
    headers: &'h [httparse::Header<'h>],
    len: usize,
}

/// Response heads, for the [`ResponseReader`].
struct ResponseKind;

impl HeadKind for ResponseKind {
    type Parsed<'h> = ParsedResponse<'h>;
    type Owned = (ResponseHead, Bytes);

    fn parse<'h, 'b: 'h>(
        at: HeadAt<'b>,
        slots: &'h mut [Slot<'b>],
    ) -> Result<Option<ParsedResponse<'h>>, HandshakeError> {
        let config = httparse::ParserConfig::default();
        let mut response = httparse::Response::new(&mut []);
        let parsed = config.parse_response_with_uninit_headers(&mut response, at.head, slots);
        let Some(len) = complete_len(parsed)? else {
            return Ok(None);
        };
        let headers: &'h mut [httparse::Header<'b>] = core::mem::take(&mut response.headers);
        Ok(Some(ParsedResponse {
            text: at.head.get(..len).unwrap_or_default(),
            status: response.code.unwrap_or_default(),
            reason: response.reason.unwrap_or_default(),
            minor: response.version.unwrap_or_default(),
            headers,
            len: at.skipped + len,
        }))
    }

    fn len(head: &ParsedResponse<'_>) -> usize {
        head.len
    }

    fn to_owned(head: &ParsedResponse<'_>, leftover: &[u8]) -> (ResponseHead, Bytes) {
        let block =
            HeaderBlock::from_parsed(head.text, head.headers, &mut HandshakeFieldIndex::default());
        let response = ResponseHead {
            block,
            status: head.status,
            reason: span_of(head.text, head.reason.as_bytes()),
            version: HttpVersion {
                major: 1,
                minor: head.minor,
            },
        };
        (response, Bytes::copy_from_slice(leftover))
    }
}

/// Reads a response head incrementally, owned, with the request parser's scanner.
#[derive(Debug)]
pub(super) struct ResponseReader {
    scanner: HeadScanner,
    chunks: ChunkBuffer,
}

impl ResponseReader {
    pub(super) fn new(limits: HeaderLimits) -> Self {
        ResponseReader {
            scanner: HeadScanner::new(limits),
            chunks: ChunkBuffer::default(),
        }
    }

    /// Feeds the next chunk: the head and the bytes after it once complete.
    pub(super) fn handle_input(
        &mut self,
        input: &[u8],
    ) -> Result<Status<(ResponseHead, Bytes)>, HandshakeError> {
        self.chunks.feed::<ResponseKind>(&mut self.scanner, input)
    }
}
