//! Reading a request head in place: the head borrows the caller's buffer and a header
//! array on the caller's stack, so nothing is copied and nothing is allocated.
//!
//! The rules are those of [`RequestReader`](super::RequestReader): the same caps,
//! the same errors, the same result for any input. [`RequestHeadParser`] keeps the
//! same progress state as the reader (empty lines skipped, bytes scanned, lines
//! counted), minus the buffer: the caller's buffer holds the bytes instead, so each
//! byte is still scanned once however the head arrives.

use core::mem::MaybeUninit;

use super::HandshakeError;
use super::head::{
    HEADERS_ON_STACK, HeaderLimits, HttpVersion, asks_for_websocket, content_length_of, http_error,
    scan_for_head_end,
};
use crate::Status;

/// Room for the header fields of one request head, for [`RequestHeadRef`] to borrow:
/// [`HeaderSlots::CAPACITY`] fields, on the caller's stack, never initialised before
/// use (creating one costs nothing).
///
/// A head read into these slots holds at most `CAPACITY` fields: a
/// [`HeaderLimits::max_headers`] above it counts as `CAPACITY`.
///
/// ```
/// use socketwire::Status;
/// use socketwire::handshake::{HeaderLimits, HeaderSlots, RequestHeadRef};
/// let mut slots = HeaderSlots::new();
/// let status = RequestHeadRef::parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut slots, HeaderLimits::DEFAULT);
/// assert!(matches!(status, Ok(Status::Complete(_))));
/// ```
pub struct HeaderSlots<'b> {
    slots: [MaybeUninit<httparse::Header<'b>>; HEADERS_ON_STACK],
}

impl HeaderSlots<'_> {
    /// How many header fields the slots hold: 64, the default
    /// [`HeaderLimits::max_headers`].
    ///
    /// ```
    /// assert_eq!(socketwire::handshake::HeaderSlots::CAPACITY, 64);
    /// ```
    pub const CAPACITY: usize = HEADERS_ON_STACK;

    /// Empty slots (uninitialised memory: free to create).
    ///
    /// ```
    /// let slots = socketwire::handshake::HeaderSlots::new();
    /// # let _ = slots;
    /// ```
    #[inline]
    pub fn new() -> Self {
        HeaderSlots {
            slots: [const { MaybeUninit::uninit() }; HEADERS_ON_STACK],
        }
    }
}

impl Default for HeaderSlots<'_> {
    fn default() -> Self {
        HeaderSlots::new()
    }
}

impl core::fmt::Debug for HeaderSlots<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HeaderSlots")
            .field("capacity", &HeaderSlots::CAPACITY)
            .finish()
    }
}

/// An HTTP/1.x request head that borrows the bytes it was read from: the zero-copy,
/// zero-allocation twin of [`RequestHead`](super::RequestHead), with the same
/// accessors. Validate it as an upgrade with
/// [`ServerHandshakeRef::new`](super::ServerHandshakeRef::new).
///
/// Read it with [`RequestHeadRef::parse`] when the buffer already holds the whole head
/// (one read, the usual case), or with a [`RequestHeadParser`] while bytes keep arriving.
///
/// ```
/// use socketwire::Status;
/// use socketwire::handshake::{HeaderLimits, HeaderSlots, HttpVersion, RequestHeadRef};
/// let input = b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
/// let mut slots = HeaderSlots::new();
/// let Ok(Status::Complete(head)) = RequestHeadRef::parse(input, &mut slots, HeaderLimits::DEFAULT)
/// else { panic!() };
/// assert_eq!(head.method(), "POST");
/// assert_eq!(head.path(), "/echo");
/// assert_eq!(head.version(), HttpVersion::HTTP_1_1);
/// assert_eq!(head.header("host"), Some(&b"a"[..]));
/// assert_eq!(head.content_length(), Ok(Some(2)));
/// assert_eq!(head.leftover(), b"hi");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestHeadRef<'a> {
    method: &'a str,
    path: &'a str,
    version: HttpVersion,
    headers: &'a [httparse::Header<'a>],
    len: usize,
    leftover: &'a [u8],
}

impl<'a> RequestHeadRef<'a> {
    /// Reads the request head at the start of `input`, which holds every byte received
    /// so far: [`Status::Partial`] if the head is not complete yet, else the head, whose
    /// [`leftover`](RequestHeadRef::leftover) is the rest of `input`. The outcome is
    /// exactly that of a new [`RequestReader`](super::RequestReader) with the same
    /// `limits` fed `input` (in one chunk or in any pieces): same caps, same errors.
    ///
    /// Each call starts from the beginning of `input`; when the head may arrive in many
    /// small reads, use a [`RequestHeadParser`], which scans each byte once.
    ///
    /// ```
    /// use socketwire::Status;
    /// use socketwire::handshake::{HandshakeError, HeaderLimits, HeaderSlots, RequestHeadRef};
    /// let limits = HeaderLimits::DEFAULT;
    /// let mut slots = HeaderSlots::new();
    /// assert_eq!(RequestHeadRef::parse(b"GET / HTTP/1.1\r\nHo", &mut slots, limits), Ok(Status::Partial));
    /// let mut slots = HeaderSlots::new();
    /// assert_eq!(
    ///     RequestHeadRef::parse(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &mut slots, limits),
    ///     Err(HandshakeError::MalformedHttp("invalid header name"))
    /// );
    /// ```
    pub fn parse<'b: 'a>(
        input: &'b [u8],
        slots: &'a mut HeaderSlots<'b>,
        limits: HeaderLimits,
    ) -> Result<Status<RequestHeadRef<'a>>, HandshakeError> {
        RequestHeadParser::with_limits(limits).parse(input, slots)
    }

    /// The request method, e.g. `GET`.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"GET / HTTP/1.1\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.method(), "GET");
    /// ```
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request target as sent (path and query, e.g. `/chat?room=1`).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"GET /a?b HTTP/1.1\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.path(), "/a?b");
    /// ```
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The HTTP version of the request line.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"GET / HTTP/1.0\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.version(), HttpVersion::HTTP_1_0);
    /// ```
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// All header fields as (name, value), in order, repeats included.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"GET / HTTP/1.1\r\nhost: a\r\nx: 1\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// let names: Vec<&str> = head.headers().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["host", "x"]);
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + use<'a> {
        self.headers.iter().map(|h| (h.name, h.value))
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.header("HOST"), Some(&b"a"[..]));
    /// assert_eq!(head.header("origin"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.header_values(name).next()
    }

    /// The values of every header named `name` (ASCII case-insensitive), in order.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"GET / HTTP/1.1\r\na: 1\r\nA: 2\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.header_values("a").count(), 2);
    /// ```
    pub fn header_values<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// The request's `Content-Length`, if any, by the rules of
    /// [`RequestHead::content_length`](super::RequestHead::content_length).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"POST / HTTP/1.1\r\ncontent-length: 5, 6\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.content_length(), Err(HandshakeError::InvalidContentLength));
    /// ```
    pub fn content_length(&self) -> Result<Option<u64>, HandshakeError> {
        content_length_of(self.header_values("content-length"))
    }

    /// `true` if an `Upgrade` header lists the token `websocket`.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"GET / HTTP/1.1\r\nupgrade: h2c, WebSocket\r\n\r\n", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert!(head.is_websocket_upgrade());
    /// ```
    pub fn is_websocket_upgrade(&self) -> bool {
        asks_for_websocket(self.header_values("upgrade"))
    }

    /// The bytes of the input after the head's blank line: a request body, or the
    /// first WebSocket frames.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"GET / HTTP/1.1\r\n\r\n\x81", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.leftover(), b"\x81");
    /// ```
    pub fn leftover(&self) -> &'a [u8] {
        self.leftover
    }

    /// How many bytes at the start of the input the head takes (empty lines skipped
    /// before it included): the leftover starts there.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let mut slots = HeaderSlots::new();
    /// let head = RequestHeadRef::parse(b"\r\nGET / HTTP/1.1\r\n\r\nrest", &mut slots, HeaderLimits::DEFAULT).unwrap().complete().unwrap();
    /// assert_eq!(head.len(), 20);
    /// ```
    #[allow(clippy::len_without_is_empty)] // a head is never empty
    pub fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn field(&self, index: usize) -> Option<(&'a [u8], &'a [u8])> {
        self.headers
            .get(index)
            .map(|h| (h.name.as_bytes(), h.value))
    }

    pub(crate) fn raw_fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + use<'a> {
        self.headers.iter().map(|h| (h.name.as_bytes(), h.value))
    }
}

impl PartialEq for RequestHeadRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.path == other.path
            && self.version == other.version
            && self.headers().eq(other.headers())
            && self.leftover == other.leftover
    }
}

impl Eq for RequestHeadRef<'_> {}

/// Reads a request head in place while its bytes keep arriving: the caller appends each
/// read to its own buffer and passes the whole buffer to [`RequestHeadParser::parse`]
/// every time. The parser remembers how far it scanned, so each byte is scanned once
/// and the head parsed once (plus one attempt on the first call), in linear time
/// however it is split, with the caps and errors of
/// [`RequestReader`](super::RequestReader). After [`Status::Complete`] or an error the
/// parser starts afresh; a buffer shorter than the last one also starts afresh.
///
/// ```
/// use socketwire::Status;
/// use socketwire::handshake::{HeaderSlots, RequestHeadParser};
///
/// let reads: [&[u8]; 2] = [b"GET /chat HTTP/1.1\r\nHo", b"st: example.com\r\n\r\n\x81"];
/// let mut parser = RequestHeadParser::new();
/// let mut buffer = Vec::new();
/// for read in reads {
///     buffer.extend_from_slice(read);
///     let mut slots = HeaderSlots::new();
///     match parser.parse(&buffer, &mut slots) {
///         Ok(Status::Partial) => continue,
///         Ok(Status::Complete(head)) => {
///             assert_eq!(head.path(), "/chat");
///             assert_eq!(head.leftover(), b"\x81");
///         }
///         Err(error) => panic!("{error}"),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RequestHeadParser {
    limits: HeaderLimits,
    /// Empty lines skipped before the start line (RFC 7230 §3.5), counted in the cap.
    skipped: usize,
    /// Bytes after the skipped ones already scanned (never more than the cap allows).
    held: usize,
    /// Line ends seen so far; the first ends the start line, the others header fields.
    lines: usize,
}

impl Default for RequestHeadParser {
    fn default() -> Self {
        RequestHeadParser::new()
    }
}

impl RequestHeadParser {
    /// A parser with the default [`HeaderLimits`] (16 KiB, 64 fields).
    ///
    /// ```
    /// let parser = socketwire::handshake::RequestHeadParser::new();
    /// # let _ = parser;
    /// ```
    pub fn new() -> RequestHeadParser {
        RequestHeadParser::with_limits(HeaderLimits::DEFAULT)
    }

    /// A parser with the given limits (`max_headers` at most [`HeaderSlots::CAPACITY`]).
    ///
    /// ```
    /// use socketwire::handshake::{HandshakeError, HeaderLimits, HeaderSlots, RequestHeadParser};
    /// let mut parser = RequestHeadParser::with_limits(HeaderLimits { max_header_bytes: 16, max_headers: 4 });
    /// let mut slots = HeaderSlots::new();
    /// assert_eq!(
    ///     parser.parse(b"GET /a-long-path HTTP/1.1\r\n", &mut slots),
    ///     Err(HandshakeError::HeadTooLarge { max: 16 })
    /// );
    /// ```
    pub fn with_limits(limits: HeaderLimits) -> RequestHeadParser {
        RequestHeadParser {
            limits: HeaderLimits {
                max_headers: limits.max_headers.min(HeaderSlots::CAPACITY),
                ..limits
            },
            skipped: 0,
            held: 0,
            lines: 0,
        }
    }

    /// Reads the head from `input`, every byte received so far (the previous call's
    /// input followed by the new bytes). See the type's documentation.
    ///
    /// ```
    /// use socketwire::Status;
    /// use socketwire::handshake::{HeaderSlots, RequestHeadParser};
    /// let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    /// let mut parser = RequestHeadParser::new();
    /// for end in 1..request.len() {
    ///     let mut slots = HeaderSlots::new();
    ///     assert_eq!(parser.parse(&request[..end], &mut slots), Ok(Status::Partial));
    /// }
    /// let mut slots = HeaderSlots::new();
    /// assert!(parser.parse(request, &mut slots).unwrap().is_complete());
    /// ```
    pub fn parse<'h, 'b: 'h>(
        &mut self,
        input: &'b [u8],
        slots: &'h mut HeaderSlots<'b>,
    ) -> Result<Status<RequestHeadRef<'h>>, HandshakeError> {
        if input.len() < self.skipped.saturating_add(self.held) {
            // Not the buffer the previous calls saw: start afresh.
            self.reset();
        }
        let result = if self.held == 0 {
            self.parse_first(input, slots)
        } else {
            self.parse_more(input, slots)
        };
        if !matches!(result, Ok(Status::Partial)) {
            // Complete or failed: start afresh for the next head.
            self.reset();
        }
        result
    }

    fn reset(&mut self) {
        self.skipped = 0;
        self.held = 0;
        self.lines = 0;
    }

    /// Nothing held yet: skip empty lines, then try the whole input in one httparse
    /// pass; anything but a complete head falls back to the scan.
    fn parse_first<'h, 'b: 'h>(
        &mut self,
        input: &'b [u8],
        slots: &'h mut HeaderSlots<'b>,
    ) -> Result<Status<RequestHeadRef<'h>>, HandshakeError> {
        let max = self.limits.max_header_bytes;
        let unskipped = input.get(self.skipped..).unwrap_or_default();
        // RFC 7230 §3.5: a server SHOULD ignore at least one empty line (CRLF)
        // received prior to the request-line.
        let empty = unskipped
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        self.skipped = self.skipped.saturating_add(empty);
        if self.skipped >= max {
            return Err(HandshakeError::HeadTooLarge { max });
        }
        let rest = input.get(self.skipped..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(Status::Partial);
        }
        let window = rest.get(..max - self.skipped).unwrap_or(rest);
        let slot_count = self.limits.max_headers;
        if let Ok(Some(head)) = parse_in_place(input, self.skipped, window, slots, slot_count) {
            return Ok(Status::Complete(head));
        }
        self.first_parse_failed(input)
    }

    /// The whole input did not parse as a complete head: scan it, and if the head's
    /// end is there, parse up to it for the error. (It cannot parse: httparse reads
    /// the same bytes the same way, so spare slots do and the caller's stay free.)
    #[cold]
    #[inline(never)]
    fn first_parse_failed<'h>(
        &mut self,
        input: &[u8],
    ) -> Result<Status<RequestHeadRef<'h>>, HandshakeError> {
        let Some(end) = self.scan_new_bytes(input)? else {
            return Ok(Status::Partial);
        };
        let rest = input.get(self.skipped..).unwrap_or_default();
        let raw = rest.get(..end).unwrap_or_default();
        let mut spare = HeaderSlots::new();
        let slot_count = self.lines.saturating_sub(1);
        match parse_in_place(input, self.skipped, raw, &mut spare, slot_count) {
            Err(error) => Err(error),
            Ok(_) => Err(HandshakeError::MalformedHttp("incomplete head")),
        }
    }

    /// Some bytes held: scan the new ones for the end of the head, then parse it once.
    fn parse_more<'h, 'b: 'h>(
        &mut self,
        input: &'b [u8],
        slots: &'h mut HeaderSlots<'b>,
    ) -> Result<Status<RequestHeadRef<'h>>, HandshakeError> {
        let Some(end) = self.scan_new_bytes(input)? else {
            return Ok(Status::Partial);
        };
        let rest = input.get(self.skipped..).unwrap_or_default();
        let raw = rest.get(..end).unwrap_or_default();
        let slot_count = self.lines.saturating_sub(1);
        match parse_in_place(input, self.skipped, raw, slots, slot_count)? {
            Some(head) if head.len == self.skipped + end => Ok(Status::Complete(head)),
            _ => Err(HandshakeError::MalformedHttp("incomplete head")),
        }
    }

    /// Scans the bytes not scanned yet, up to the cap. Returns where the head ends
    /// (just past its blank line), counted from the first byte after the skipped lines.
    fn scan_new_bytes(&mut self, input: &[u8]) -> Result<Option<usize>, HandshakeError> {
        let max = self.limits.max_header_bytes;
        let rest = input.get(self.skipped..).unwrap_or_default();
        let room = max.saturating_sub(self.skipped + self.held);
        let take = rest.len().saturating_sub(self.held).min(room);
        let from = self.held;
        self.held += take;
        let held = rest.get(..self.held).unwrap_or_default();
        match scan_for_head_end(held, from, &mut self.lines, self.limits.max_headers)? {
            Some(end) => Ok(Some(end)),
            // The cap is reached without the blank line: no complete head can fit.
            None if self.skipped + self.held >= max => Err(HandshakeError::HeadTooLarge { max }),
            None => Ok(None),
        }
    }
}

/// Parses the head at the start of `head_bytes` (which starts `skipped` bytes into
/// `input`) into the first `slot_count` of `slots`, recording where the handshake's
/// fields are. `Ok(None)` if the head is incomplete.
fn parse_in_place<'h, 'b: 'h>(
    input: &'b [u8],
    skipped: usize,
    head_bytes: &'b [u8],
    slots: &'h mut HeaderSlots<'b>,
    slot_count: usize,
) -> Result<Option<RequestHeadRef<'h>>, HandshakeError> {
    let slots = slots.slots.get_mut(..slot_count).unwrap_or_default();
    let mut request = httparse::Request::new(&mut []);
    let len = match request.parse_with_uninit_headers(head_bytes, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(http_error(e)),
    };
    let headers: &'h mut [httparse::Header<'b>] = core::mem::take(&mut request.headers);
    let headers: &'h [httparse::Header<'b>] = headers;
    let len = skipped + len;
    Ok(Some(RequestHeadRef {
        method: request.method.unwrap_or_default(),
        path: request.path.unwrap_or_default(),
        version: HttpVersion {
            major: 1,
            minor: request.version.unwrap_or_default(),
        },
        headers,
        len,
        leftover: input.get(len..).unwrap_or_default(),
    }))
}
