//! Incremental reading of an HTTP/1.1 head (request or response) from bytes that arrive
//! in arbitrary chunks.
//!
//! The end of the head is found by scanning only the bytes that are new in each call
//! (looking back at most two bytes), so a head that arrives one byte at a time costs
//! linear work in total, unlike re-parsing the growing buffer from the start
//! (tungstenite CVE-2023-43669). Once the blank line is found the head is parsed once
//! with `httparse`. When a head arrives whole in its first chunk (the usual case) one
//! httparse pass over that chunk finds and parses it, and nothing is scanned; any other
//! outcome of that single attempt falls back to the scan, so results never depend on
//! how the input was split. Header bytes and header count are capped, and the cap is
//! enforced as the bytes arrive, before they are stored.

use alloc::vec::Vec;
use bytes::Bytes;
use core::mem::MaybeUninit;

use super::HandshakeError;
use super::tokens::{KnownName, WEBSOCKET, list_contains, trim_ows};
use crate::Status;

/// Caps on the size of an HTTP head, enforced while reading.
///
/// ```
/// use socketwire::handshake::HeaderLimits;
/// let limits = HeaderLimits { max_header_bytes: 8 * 1024, ..HeaderLimits::default() };
/// assert_eq!(limits.max_headers, 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderLimits {
    /// Most bytes the head may have, request line and final blank line included
    /// (default 16 KiB). Reading fails as soon as this many bytes arrived without the
    /// end of the head.
    pub max_header_bytes: usize,
    /// Most header fields the head may have (default 64).
    pub max_headers: usize,
}

impl HeaderLimits {
    /// The default limits: 16 KiB and 64 header fields.
    ///
    /// ```
    /// use socketwire::handshake::HeaderLimits;
    /// assert_eq!(HeaderLimits::DEFAULT.max_header_bytes, 16 * 1024);
    /// ```
    pub const DEFAULT: HeaderLimits = HeaderLimits {
        max_header_bytes: 16 * 1024,
        max_headers: 64,
    };
}

impl Default for HeaderLimits {
    fn default() -> Self {
        HeaderLimits::DEFAULT
    }
}

/// An HTTP version as `major.minor`.
///
/// ```
/// use socketwire::handshake::HttpVersion;
/// assert!(HttpVersion::HTTP_1_1 > HttpVersion::HTTP_1_0);
/// assert_eq!(HttpVersion { major: 1, minor: 1 }, HttpVersion::HTTP_1_1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HttpVersion {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl HttpVersion {
    /// HTTP/1.0.
    ///
    /// ```
    /// assert_eq!(socketwire::handshake::HttpVersion::HTTP_1_0.minor, 0);
    /// ```
    pub const HTTP_1_0: HttpVersion = HttpVersion { major: 1, minor: 0 };
    /// HTTP/1.1.
    ///
    /// ```
    /// assert_eq!(socketwire::handshake::HttpVersion::HTTP_1_1.minor, 1);
    /// ```
    pub const HTTP_1_1: HttpVersion = HttpVersion { major: 1, minor: 1 };
}

/// Where one header field sits in the head's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldSpan {
    name: (usize, usize),
    value: (usize, usize),
}

/// Bytes of one field's entry in a [`HeaderBlock`] table: four native-endian offsets.
const OFFSET_BYTES: usize = core::mem::size_of::<usize>();
const FIELD_ENTRY_BYTES: usize = 4 * OFFSET_BYTES;

/// The text of a head and where its header fields are, in one allocation: the text,
/// then a table with one entry per field (name start, name end, value start, value
/// end, as offsets into the text).
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderBlock {
    storage: Vec<u8>,
    text_len: usize,
}

impl HeaderBlock {
    /// Copies `text` and the spans of the fields httparse found in it.
    /// Also records in `index` where the handshake's fields are.
    fn from_parsed(
        text: &[u8],
        headers: &[httparse::Header<'_>],
        index: &mut HandshakeFieldIndex,
    ) -> HeaderBlock {
        let table_len = headers.len().saturating_mul(FIELD_ENTRY_BYTES);
        let mut storage = Vec::with_capacity(text.len().saturating_add(table_len));
        storage.extend_from_slice(text);
        for (at, header) in headers.iter().enumerate() {
            index.record(at, header.name.as_bytes());
            let name = span_of(text, header.name.as_bytes());
            let value = span_of(text, header.value);
            push_entry(&mut storage, FieldSpan { name, value });
        }
        HeaderBlock {
            storage,
            text_len: text.len(),
        }
    }

    /// Appends the table for `spans` (offsets into `text`) to `text`.
    fn from_text_and_spans(mut text: Vec<u8>, spans: &[FieldSpan]) -> HeaderBlock {
        let text_len = text.len();
        text.reserve_exact(spans.len().saturating_mul(FIELD_ENTRY_BYTES));
        for &span in spans {
            push_entry(&mut text, span);
        }
        HeaderBlock {
            storage: text,
            text_len,
        }
    }

    fn text(&self) -> &[u8] {
        self.storage.get(..self.text_len).unwrap_or_default()
    }

    fn slice(&self, (a, b): (usize, usize)) -> &[u8] {
        self.text().get(a..b).unwrap_or_default()
    }

    fn str(&self, span: (usize, usize)) -> &str {
        core::str::from_utf8(self.slice(span)).unwrap_or_default()
    }

    fn table(&self) -> &[u8] {
        self.storage.get(self.text_len..).unwrap_or_default()
    }

    /// Number of header fields.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.table().len() / FIELD_ENTRY_BYTES
    }

    /// The field at `index` as (name, value) bytes.
    pub(crate) fn field(&self, index: usize) -> Option<(&[u8], &[u8])> {
        let start = index.checked_mul(FIELD_ENTRY_BYTES)?;
        let entry = self
            .table()
            .get(start..start.checked_add(FIELD_ENTRY_BYTES)?)?;
        Some(self.entry_fields(entry))
    }

    fn entry_fields(&self, entry: &[u8]) -> (&[u8], &[u8]) {
        let span = read_entry(entry);
        (self.slice(span.name), self.slice(span.value))
    }

    /// All fields as (name, value) bytes, in order.
    pub(crate) fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.table()
            .chunks_exact(FIELD_ENTRY_BYTES)
            .map(|entry| self.entry_fields(entry))
    }

    fn fields(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.table().chunks_exact(FIELD_ENTRY_BYTES).map(|entry| {
            let span = read_entry(entry);
            (self.str(span.name), self.slice(span.value))
        })
    }

    fn first_value(&self, name: &str) -> Option<&[u8]> {
        self.raw_fields()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.raw_fields()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }
}

fn push_entry(storage: &mut Vec<u8>, span: FieldSpan) {
    let mut entry = [0; FIELD_ENTRY_BYTES];
    write_entry(&mut entry, span);
    storage.extend_from_slice(&entry);
}

/// Writes `span` into `entry` (`FIELD_ENTRY_BYTES` long).
#[inline]
fn write_entry(entry: &mut [u8], span: FieldSpan) {
    let offsets = [span.name.0, span.name.1, span.value.0, span.value.1];
    for (slot, offset) in entry.chunks_exact_mut(OFFSET_BYTES).zip(offsets) {
        slot.copy_from_slice(&offset.to_ne_bytes());
    }
}

/// Reads back an entry written by `push_entry` (`entry` is `FIELD_ENTRY_BYTES` long).
fn read_entry(entry: &[u8]) -> FieldSpan {
    let offset = |i: usize| {
        entry
            .get(i * OFFSET_BYTES..(i + 1) * OFFSET_BYTES)
            .and_then(|b| <[u8; OFFSET_BYTES]>::try_from(b).ok())
            .map_or(0, usize::from_ne_bytes)
    };
    FieldSpan {
        name: (offset(0), offset(1)),
        value: (offset(2), offset(3)),
    }
}

/// The request header fields that RFC 6455 §4.2.1 looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeField {
    Host,
    Origin,
    Upgrade,
    Connection,
    Key,
    Version,
    Protocol,
    Extensions,
}

impl HandshakeField {
    const COUNT: usize = 8;
    const ALL: [HandshakeField; HandshakeField::COUNT] = [
        HandshakeField::Host,
        HandshakeField::Origin,
        HandshakeField::Upgrade,
        HandshakeField::Connection,
        HandshakeField::Key,
        HandshakeField::Version,
        HandshakeField::Protocol,
        HandshakeField::Extensions,
    ];
    /// The names, in the order of [`HandshakeField::ALL`].
    const NAMES: [KnownName; HandshakeField::COUNT] = [
        KnownName::new(b"host"),
        KnownName::new(b"origin"),
        KnownName::new(b"upgrade"),
        KnownName::new(b"connection"),
        KnownName::new(b"sec-websocket-key"),
        KnownName::new(b"sec-websocket-version"),
        KnownName::new(b"sec-websocket-protocol"),
        KnownName::new(b"sec-websocket-extensions"),
    ];
    /// The position in [`HandshakeField::ALL`] of the one name of each length
    /// (the eight names all have different lengths), `u8::MAX` for none.
    const BY_LENGTH: [u8; 32] = {
        let mut table = [u8::MAX; 32];
        let mut kind = 0;
        while kind < HandshakeField::COUNT {
            let len = HandshakeField::NAMES[kind].len();
            assert!(table[len] == u8::MAX, "two names of the same length");
            #[allow(clippy::cast_possible_truncation)] // kind < 8
            {
                table[len] = kind as u8;
            }
            kind += 1;
        }
        table
    };

    /// Which handshake field `name` names, ignoring ASCII case: its position in
    /// [`HandshakeField::ALL`]. The length picks the one candidate to compare.
    #[inline]
    fn position_of(name: &[u8]) -> Option<usize> {
        let kind = usize::from(*HandshakeField::BY_LENGTH.get(name.len())?);
        HandshakeField::NAMES
            .get(kind)
            .is_some_and(|known| known.matches(name))
            .then_some(kind)
    }

    /// Which handshake field `name` names, ignoring ASCII case.
    #[inline]
    pub(crate) fn of(name: &[u8]) -> Option<HandshakeField> {
        HandshakeField::ALL
            .get(HandshakeField::position_of(name)?)
            .copied()
    }
}

/// Where the [`HandshakeField`]s are among a request's header fields, recorded while
/// the head is built so that validating an upgrade needs no second pass over all the
/// fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HandshakeFieldIndex {
    /// Index of the first field of each kind; `NONE` if absent.
    first: [u16; HandshakeField::COUNT],
    /// Fields of each kind, saturating; `u8::MAX` also when an index does not fit.
    count: [u8; HandshakeField::COUNT],
}

impl Default for HandshakeFieldIndex {
    fn default() -> Self {
        HandshakeFieldIndex {
            first: [HandshakeFieldIndex::NONE; HandshakeField::COUNT],
            count: [0; HandshakeField::COUNT],
        }
    }
}

impl HandshakeFieldIndex {
    const NONE: u16 = u16::MAX;

    /// Records that the field at `index` is named `name`.
    #[inline]
    fn record(&mut self, index: usize, name: &[u8]) {
        let Some(kind) = HandshakeField::position_of(name) else {
            return;
        };
        match u16::try_from(index) {
            Ok(at) if at != HandshakeFieldIndex::NONE => {
                if self.count[kind] == 0 {
                    self.first[kind] = at;
                }
                self.count[kind] = self.count[kind].saturating_add(1);
            }
            // Beyond what the index holds: mark it so that users take the full scan.
            _ => self.count[kind] = u8::MAX,
        }
    }

    /// `true` if no handshake field appears more than once.
    pub(crate) fn each_at_most_once(&self) -> bool {
        self.count.iter().all(|&c| c <= 1)
    }

    /// The index of the first field of kind `field`, if any.
    pub(crate) fn first(&self, field: HandshakeField) -> Option<usize> {
        let at = self.first[field as usize];
        (at != HandshakeFieldIndex::NONE).then_some(usize::from(at))
    }
}

/// Finds the end of a head by scanning each byte once, with caps.
#[derive(Debug)]
struct HeadScanner {
    /// The head bytes so far (never more than `max_header_bytes`).
    buf: Vec<u8>,
    /// Empty lines skipped before the start line (RFC 7230 §3.5), counted in the cap.
    skipped: usize,
    /// Line ends seen so far; the first ends the start line, the others header fields.
    lines: usize,
    limits: HeaderLimits,
    /// Bytes inspected by the scan, to prove it is linear.
    #[cfg(test)]
    scanned: usize,
    /// Calls to httparse, to prove the head is parsed a bounded number of times.
    #[cfg(test)]
    parses: usize,
}

/// A complete head found by the scanner, with what `parse` made of it.
struct ScannedHead<P> {
    parts: P,
    leftover: Bytes,
}

/// Parses a head at the start of a buffer with room for `header_slots` fields:
/// `Ok(Some((head length, parts)))` (the parts own a copy of the head),
/// `Ok(None)` if incomplete.
type ParseHead<P> = fn(&[u8], usize) -> Result<Option<(usize, P)>, HandshakeError>;

impl HeadScanner {
    fn new(limits: HeaderLimits) -> Self {
        HeadScanner {
            buf: Vec::new(),
            skipped: 0,
            lines: 0,
            limits,
            #[cfg(test)]
            scanned: 0,
            #[cfg(test)]
            parses: 0,
        }
    }

    fn reset(&mut self) {
        self.buf = Vec::new();
        self.skipped = 0;
        self.lines = 0;
    }

    fn feed<P>(
        &mut self,
        mut input: &[u8],
        parse: ParseHead<P>,
    ) -> Result<Option<ScannedHead<P>>, HandshakeError> {
        let result = self.feed_inner(&mut input, parse);
        if !matches!(result, Ok(None)) {
            // Complete or failed: start afresh for the next head.
            self.reset();
        }
        result
    }

    fn feed_inner<P>(
        &mut self,
        input: &mut &[u8],
        parse: ParseHead<P>,
    ) -> Result<Option<ScannedHead<P>>, HandshakeError> {
        let max = self.limits.max_header_bytes;
        if self.buf.is_empty() {
            // RFC 7230 §3.5: a server SHOULD ignore at least one empty line (CRLF)
            // received prior to the request-line.
            let n = input
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            self.skipped = self.skipped.saturating_add(n);
            *input = &input[n..];
            if self.skipped >= max {
                return Err(HandshakeError::HeadTooLarge { max });
            }
            if input.is_empty() {
                return Ok(None);
            }
            // Fast path for a head that arrives whole in its first chunk (the common
            // case): one httparse pass over the chunk, within the caps, and no scan.
            // Anything else (incomplete, malformed, over a cap) takes the scanning path
            // below, so the outcome never depends on how the input was split.
            let window = &input[..input.len().min(max - self.skipped)];
            let slots = self.limits.max_headers.min(HEADERS_ON_STACK);
            #[cfg(test)]
            {
                self.parses += 1;
            }
            if let Ok(Some((len, parts))) = parse(window, slots) {
                return Ok(Some(ScannedHead {
                    parts,
                    leftover: Bytes::copy_from_slice(&input[len..]),
                }));
            }
        }
        let room = max - self.skipped - self.buf.len();
        let take = input.len().min(room);
        let from = self.buf.len();
        if self.buf.is_empty() {
            self.buf.reserve_exact(take);
        }
        self.buf.extend_from_slice(&input[..take]);
        match self.scan(from)? {
            Some(end) => {
                // Bytes after the blank line came in this call: they start at
                // `end - from` in this input and belong to the next layer.
                let leftover_start = end - from;
                let leftover = Bytes::copy_from_slice(input.get(leftover_start..).unwrap_or(&[]));
                let mut raw = core::mem::take(&mut self.buf);
                raw.truncate(end);
                let raw_len = raw.len();
                #[cfg(test)]
                {
                    self.parses += 1;
                }
                match parse(&raw, self.lines.saturating_sub(1))? {
                    Some((len, parts)) if len == raw_len => {
                        Ok(Some(ScannedHead { parts, leftover }))
                    }
                    _ => Err(HandshakeError::MalformedHttp("incomplete head")),
                }
            }
            None if self.skipped + self.buf.len() >= max => {
                // The cap is reached without the blank line: no complete head can fit.
                Err(HandshakeError::HeadTooLarge { max })
            }
            None => Ok(None),
        }
    }

    /// Scans `buf[from..]` for the end of the head, counting lines.
    fn scan(&mut self, from: usize) -> Result<Option<usize>, HandshakeError> {
        #[cfg(test)]
        {
            self.scanned += self.buf.len() - from;
        }
        scan_for_head_end(&self.buf, from, &mut self.lines, self.limits.max_headers)
    }
}

/// Scans `buf[from..]` for the end of a head (`\n\n` or `\n\r\n`), counting in `lines`
/// the line ends seen (the first ends the start line) and failing as soon as the
/// header fields would be more than `max_headers`. Returns the index just past the
/// blank line. `buf[..from]` was scanned before with the same `lines`.
pub(super) fn scan_for_head_end(
    buf: &[u8],
    from: usize,
    lines: &mut usize,
    max_headers: usize,
) -> Result<Option<usize>, HandshakeError> {
    const LF: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const LOW7: u64 = u64::from_ne_bytes([0x7f; 8]);
    let len = buf.len();
    let mut base = from;
    // Eight bytes at a time: a mask with 0x80 at each '\n' byte, exact (no carry
    // crosses a byte because (x & 0x7f) + 0x7f <= 0xfe).
    while let Some(chunk) = buf.get(base..base + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ LF;
        let mut newlines = !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7);
        while newlines != 0 {
            let at = base + (newlines.trailing_zeros() / 8) as usize;
            newlines &= newlines - 1;
            if let Some(end) = line_end(buf, at, lines, max_headers)? {
                return Ok(Some(end));
            }
        }
        base += 8;
    }
    for at in base..len {
        if buf.get(at) == Some(&b'\n')
            && let Some(end) = line_end(buf, at, lines, max_headers)?
        {
            return Ok(Some(end));
        }
    }
    Ok(None)
}

/// Handles the '\n' at `at`: the end of the head if it closes an empty line, else
/// one more line, checked against the header count cap.
fn line_end(
    buf: &[u8],
    at: usize,
    lines: &mut usize,
    max_headers: usize,
) -> Result<Option<usize>, HandshakeError> {
    let before = |back: usize| at.checked_sub(back).and_then(|i| buf.get(i)).copied();
    let blank_line =
        before(1) == Some(b'\n') || (before(1) == Some(b'\r') && before(2) == Some(b'\n'));
    if blank_line {
        return Ok(Some(at + 1));
    }
    *lines += 1;
    if *lines - 1 > max_headers {
        return Err(HandshakeError::TooManyHeaders { max: max_headers });
    }
    Ok(None)
}

pub(super) fn http_error(e: httparse::Error) -> HandshakeError {
    HandshakeError::MalformedHttp(match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    })
}

fn span_of(base: &[u8], part: &[u8]) -> (usize, usize) {
    let start = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    (start, start + part.len())
}

/// Heads with at most this many fields are parsed with a header array on the stack.
pub(super) const HEADERS_ON_STACK: usize = 64;

/// Runs `parse` with an (uninitialised) header array of exactly `count` entries, on
/// the stack when small.
fn with_header_array<'b, R>(
    count: usize,
    parse: impl FnOnce(&mut [MaybeUninit<httparse::Header<'b>>]) -> R,
) -> R {
    if count <= HEADERS_ON_STACK {
        let mut headers = [const { MaybeUninit::uninit() }; HEADERS_ON_STACK];
        parse(&mut headers[..count])
    } else {
        let mut headers = Vec::with_capacity(count);
        headers.resize_with(count, MaybeUninit::uninit);
        parse(&mut headers)
    }
}

fn parse_request(buf: &[u8], slots: usize) -> Result<Option<(usize, RequestHead)>, HandshakeError> {
    with_header_array(slots, |headers| {
        let mut request = httparse::Request::new(&mut []);
        let len = match request.parse_with_uninit_headers(buf, headers) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(http_error(e)),
        };
        let text = buf.get(..len).unwrap_or_default();
        let mut handshake_fields = HandshakeFieldIndex::default();
        let block = HeaderBlock::from_parsed(text, request.headers, &mut handshake_fields);
        Ok(Some((
            len,
            RequestHead {
                block,
                method: span_of(text, request.method.unwrap_or_default().as_bytes()),
                target: span_of(text, request.path.unwrap_or_default().as_bytes()),
                version: HttpVersion {
                    major: 1,
                    minor: request.version.unwrap_or_default(),
                },
                handshake_fields,
                leftover: Bytes::new(),
            },
        )))
    })
}

fn parse_response(
    buf: &[u8],
    slots: usize,
) -> Result<Option<(usize, ResponseHead)>, HandshakeError> {
    with_header_array(slots, |headers| {
        let mut response = httparse::Response::new(&mut []);
        let config = httparse::ParserConfig::default();
        let len = match config.parse_response_with_uninit_headers(&mut response, buf, headers) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(http_error(e)),
        };
        let text = buf.get(..len).unwrap_or_default();
        Ok(Some((
            len,
            ResponseHead {
                block: HeaderBlock::from_parsed(
                    text,
                    response.headers,
                    &mut HandshakeFieldIndex::default(),
                ),
                status: response.code.unwrap_or_default(),
                reason: span_of(text, response.reason.unwrap_or_default().as_bytes()),
                version: HttpVersion {
                    major: 1,
                    minor: response.version.unwrap_or_default(),
                },
            },
        )))
    })
}

/// The head of an HTTP/1.x request: request line, header fields, and the bytes that
/// followed the blank line (a body, or WebSocket frames after an upgrade).
///
/// Header values are bytes (HTTP allows non-UTF-8 `obs-text`); names are tokens.
///
/// ```
/// use socketwire::Status;
/// use socketwire::handshake::{HttpVersion, RequestReader};
/// let mut reader = RequestReader::new();
/// let Ok(Status::Complete(head)) =
///     reader.handle_input(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
/// else { panic!() };
/// assert_eq!(head.method(), "POST");
/// assert_eq!(head.path(), "/echo");
/// assert_eq!(head.version(), HttpVersion::HTTP_1_1);
/// assert_eq!(head.header("host"), Some(&b"a"[..]));
/// assert_eq!(head.content_length(), Ok(Some(2)));
/// assert_eq!(&head.leftover()[..], b"hi");
/// ```
#[derive(Debug, Clone)]
pub struct RequestHead {
    block: HeaderBlock,
    method: (usize, usize),
    target: (usize, usize),
    version: HttpVersion,
    handshake_fields: HandshakeFieldIndex,
    leftover: Bytes,
}

impl RequestHead {
    fn from_scanned(scanned: ScannedHead<RequestHead>) -> RequestHead {
        let ScannedHead {
            parts: mut head,
            leftover,
        } = scanned;
        head.leftover = leftover;
        head
    }

    /// Builds a head from parts a host HTTP server (hyper, axum…) already parsed, to
    /// drive [`ServerHandshake`](super::ServerHandshake) without re-parsing.
    ///
    /// ```
    /// use socketwire::handshake::{HttpVersion, RequestHead};
    /// let head = RequestHead::from_parts(
    ///     "GET",
    ///     HttpVersion::HTTP_1_1,
    ///     "/chat?room=1",
    ///     [("host", &b"example.com"[..]), ("upgrade", b"websocket")],
    /// );
    /// assert_eq!(head.path(), "/chat?room=1");
    /// assert!(head.is_websocket_upgrade());
    /// assert!(head.leftover().is_empty());
    /// ```
    pub fn from_parts<N, V>(
        method: &str,
        version: HttpVersion,
        target: &str,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> RequestHead
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let mut raw = Vec::new();
        let push = |raw: &mut Vec<u8>, bytes: &[u8]| {
            let start = raw.len();
            raw.extend_from_slice(bytes);
            (start, raw.len())
        };
        let method = push(&mut raw, method.as_bytes());
        let target = push(&mut raw, target.as_bytes());
        let mut handshake_fields = HandshakeFieldIndex::default();
        let spans: Vec<FieldSpan> = headers
            .into_iter()
            .enumerate()
            .map(|(index, (n, v))| {
                let name = n.as_ref().as_bytes();
                handshake_fields.record(index, name);
                FieldSpan {
                    name: push(&mut raw, name),
                    value: push(&mut raw, trim_ows(v.as_ref())),
                }
            })
            .collect();
        RequestHead {
            block: HeaderBlock::from_text_and_spans(raw, &spans),
            method,
            target,
            version,
            handshake_fields,
            leftover: Bytes::new(),
        }
    }

    /// The request method, e.g. `GET`.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("host", "a")]);
    /// assert_eq!(head.method(), "GET");
    /// ```
    pub fn method(&self) -> &str {
        self.block.str(self.method)
    }

    /// The request target as sent (path and query, e.g. `/chat?room=1`).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/a?b", [("host", "a")]);
    /// assert_eq!(head.path(), "/a?b");
    /// ```
    pub fn path(&self) -> &str {
        self.block.str(self.target)
    }

    /// The HTTP version of the request line.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_0, "/", [("host", "a")]);
    /// assert_eq!(head.version(), HttpVersion::HTTP_1_0);
    /// ```
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// All header fields as (name, value), in order, repeats included.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("host", "a"), ("x", "1")]);
    /// let names: Vec<&str> = head.headers().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["host", "x"]);
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.block.fields()
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("Host", "a")]);
    /// assert_eq!(head.header("HOST"), Some(&b"a"[..]));
    /// assert_eq!(head.header("origin"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.block.first_value(name)
    }

    /// The values of every header named `name` (ASCII case-insensitive), in order.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("a", "1"), ("A", "2")]);
    /// assert_eq!(head.header_values("a").count(), 2);
    /// ```
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.block.values(name)
    }

    /// The request's `Content-Length`, if any. Several equal values are accepted;
    /// differing values, or a value that is not a decimal number, are an error
    /// (RFC 7230 §3.3.2). (`Transfer-Encoding` is not handled here.)
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("POST", HttpVersion::HTTP_1_1, "/", [("content-length", "5")]);
    /// assert_eq!(head.content_length(), Ok(Some(5)));
    /// let bad = RequestHead::from_parts("POST", HttpVersion::HTTP_1_1, "/", [("content-length", "5, 6")]);
    /// assert_eq!(bad.content_length(), Err(HandshakeError::InvalidContentLength));
    /// ```
    pub fn content_length(&self) -> Result<Option<u64>, HandshakeError> {
        content_length_of(self.block.values("content-length"))
    }

    /// `true` if an `Upgrade` header lists the token `websocket`: the request asks for
    /// a WebSocket (whether it is a valid one is for
    /// [`ServerHandshake::new`](super::ServerHandshake::new) to say).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// let head = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("upgrade", "h2c, WebSocket")]);
    /// assert!(head.is_websocket_upgrade());
    /// ```
    pub fn is_websocket_upgrade(&self) -> bool {
        asks_for_websocket(self.block.values("upgrade"))
    }

    /// The bytes that arrived after the head's blank line: a request body, or the
    /// first WebSocket frames.
    ///
    /// ```
    /// # use socketwire::{Status, handshake::*};
    /// let mut reader = RequestReader::new();
    /// let head = reader.handle_input(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\x81").unwrap().complete().unwrap();
    /// assert_eq!(&head.leftover()[..], b"\x81");
    /// ```
    pub fn leftover(&self) -> &Bytes {
        &self.leftover
    }

    /// Takes the leftover bytes out, leaving an empty buffer.
    ///
    /// ```
    /// # use socketwire::{Status, handshake::*};
    /// let mut reader = RequestReader::new();
    /// let mut head = reader.handle_input(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nxy").unwrap().complete().unwrap();
    /// assert_eq!(&head.take_leftover()[..], b"xy");
    /// assert!(head.leftover().is_empty());
    /// ```
    pub fn take_leftover(&mut self) -> Bytes {
        core::mem::take(&mut self.leftover)
    }

    pub(crate) fn block(&self) -> &HeaderBlock {
        &self.block
    }

    pub(crate) fn method_bytes(&self) -> &[u8] {
        self.block.slice(self.method)
    }

    pub(crate) fn handshake_fields(&self) -> &HandshakeFieldIndex {
        &self.handshake_fields
    }
}

/// The `Content-Length` the values of every `Content-Length` field say: several equal
/// values are accepted, differing or non-decimal ones are an error (RFC 7230 §3.3.2).
pub(super) fn content_length_of<'a>(
    values: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<u64>, HandshakeError> {
    let mut found = None;
    for value in values {
        for element in value.split(|&b| b == b',') {
            let element = trim_ows(element);
            if element.is_empty() || element.len() > 19 {
                return Err(HandshakeError::InvalidContentLength);
            }
            let mut n: u64 = 0;
            for &b in element {
                if !b.is_ascii_digit() {
                    return Err(HandshakeError::InvalidContentLength);
                }
                n = n * 10 + u64::from(b - b'0');
            }
            match found {
                Some(previous) if previous != n => {
                    return Err(HandshakeError::InvalidContentLength);
                }
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// `true` if one of the `Upgrade` values lists the token `websocket`.
pub(super) fn asks_for_websocket<'a>(mut upgrade_values: impl Iterator<Item = &'a [u8]>) -> bool {
    upgrade_values.any(|v| list_contains(v, &WEBSOCKET))
}

/// Reads an HTTP/1.x request head from bytes arriving in chunks of any size.
///
/// Feed every chunk read from the socket to [`RequestReader::handle_input`]; it returns
/// [`Status::Partial`] until the blank line that ends the head has arrived, then
/// [`Status::Complete`] with the parsed [`RequestHead`] (whose
/// [`leftover`](RequestHead::leftover) holds the bytes of the chunk that followed the
/// head). Each byte is scanned once and the head parsed once (plus one attempt on the
/// first chunk), so the total work is linear in the head's size however it is split. After `Complete` or an error the reader is empty and ready for
/// the next request (feed it what follows the previous request's body).
///
/// The head is refused with [`HandshakeError::HeadTooLarge`] as soon as
/// `max_header_bytes` bytes have arrived without its end (nothing beyond the cap is
/// stored), and with [`HandshakeError::TooManyHeaders`] as soon as the field count
/// goes over `max_headers`. Answer errors with
/// [`HandshakeError::write_response`] and close the connection.
///
/// ```
/// use socketwire::Status;
/// use socketwire::handshake::RequestReader;
///
/// let mut reader = RequestReader::new();
/// assert_eq!(reader.handle_input(b"GET /chat HTTP/1.1\r\nHo").unwrap(), Status::Partial);
/// let head = match reader.handle_input(b"st: example.com\r\n\r\n").unwrap() {
///     Status::Complete(head) => head,
///     Status::Partial => unreachable!(),
/// };
/// assert_eq!(head.path(), "/chat");
/// ```
#[derive(Debug)]
pub struct RequestReader {
    scanner: HeadScanner,
}

impl Default for RequestReader {
    fn default() -> Self {
        RequestReader::new()
    }
}

impl RequestReader {
    /// A reader with the default [`HeaderLimits`] (16 KiB, 64 fields).
    ///
    /// ```
    /// let reader = socketwire::handshake::RequestReader::new();
    /// # let _ = reader;
    /// ```
    pub fn new() -> RequestReader {
        RequestReader::with_limits(HeaderLimits::DEFAULT)
    }

    /// A reader with the given limits.
    ///
    /// ```
    /// use socketwire::handshake::{HandshakeError, HeaderLimits, RequestReader};
    /// let mut reader = RequestReader::with_limits(HeaderLimits { max_header_bytes: 16, max_headers: 4 });
    /// assert_eq!(
    ///     reader.handle_input(b"GET /a-long-path HTTP/1.1\r\n"),
    ///     Err(HandshakeError::HeadTooLarge { max: 16 })
    /// );
    /// ```
    pub fn with_limits(limits: HeaderLimits) -> RequestReader {
        RequestReader {
            scanner: HeadScanner::new(limits),
        }
    }

    /// Feeds the next chunk of bytes. See the type's documentation.
    ///
    /// ```
    /// use socketwire::Status;
    /// use socketwire::handshake::RequestReader;
    /// let mut reader = RequestReader::new();
    /// let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    /// for &byte in &request[..request.len() - 1] {
    ///     assert_eq!(reader.handle_input(&[byte]).unwrap(), Status::Partial);
    /// }
    /// assert!(reader.handle_input(b"\n").unwrap().is_complete());
    /// ```
    pub fn handle_input(&mut self, input: &[u8]) -> Result<Status<RequestHead>, HandshakeError> {
        match self.scanner.feed(input, parse_request)? {
            None => Ok(Status::Partial),
            Some(scanned) => Ok(Status::Complete(RequestHead::from_scanned(scanned))),
        }
    }

    /// Number of bytes held while waiting for the end of the head.
    ///
    /// ```
    /// let mut reader = socketwire::handshake::RequestReader::new();
    /// reader.handle_input(b"GET / HTTP/1.1\r\n").unwrap();
    /// assert_eq!(reader.buffered_len(), 16);
    /// ```
    pub fn buffered_len(&self) -> usize {
        self.scanner.buf.len()
    }
}

impl PartialEq for RequestHead {
    fn eq(&self, other: &Self) -> bool {
        self.method() == other.method()
            && self.path() == other.path()
            && self.version == other.version
            && self.headers().eq(other.headers())
            && self.leftover == other.leftover
    }
}

impl Eq for RequestHead {}

/// The head of an HTTP/1.x response: status line and header fields (the client side
/// of the handshake reads one).
///
/// ```
/// use socketwire::handshake::{ClientHandshake, ClientRequest};
/// let mut client = ClientHandshake::new(&ClientRequest::new("example.com", "/", [7; 16])).unwrap();
/// let err = client.handle_input(b"HTTP/1.1 403 Forbidden\r\nX: y\r\n\r\n").unwrap_err();
/// assert_eq!(err, socketwire::handshake::HandshakeError::UnexpectedStatus(403));
/// ```
#[derive(Debug, Clone)]
pub struct ResponseHead {
    block: HeaderBlock,
    status: u16,
    reason: (usize, usize),
    version: HttpVersion,
}

impl ResponseHead {
    /// The status code, e.g. 101.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// # let accepted = client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n").unwrap().complete().unwrap();
    /// assert_eq!(accepted.response.status(), 101);
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, e.g. `Switching Protocols`.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// # let accepted = client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n").unwrap().complete().unwrap();
    /// assert_eq!(accepted.response.reason(), "Switching Protocols");
    /// ```
    pub fn reason(&self) -> &str {
        self.block.str(self.reason)
    }

    /// The HTTP version of the status line.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// # let accepted = client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n").unwrap().complete().unwrap();
    /// assert_eq!(accepted.response.version(), HttpVersion::HTTP_1_1);
    /// ```
    pub fn version(&self) -> HttpVersion {
        self.version
    }

    /// All header fields as (name, value), in order.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// # let accepted = client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n").unwrap().complete().unwrap();
    /// assert!(accepted.response.headers().any(|(n, _)| n == "Sec-WebSocket-Accept"));
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.block.fields()
    }

    /// The value of the first header named `name` (ASCII case-insensitive).
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// # let accepted = client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n").unwrap().complete().unwrap();
    /// assert_eq!(accepted.response.header("upgrade"), Some(&b"websocket"[..]));
    /// ```
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.block.first_value(name)
    }

    /// The values of every header named `name` (ASCII case-insensitive), in order.
    ///
    /// ```
    /// # use socketwire::handshake::*;
    /// # let mut client = ClientHandshake::new(&ClientRequest::new("a", "/", [0; 16])).unwrap();
    /// # let accepted = client.handle_input(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n").unwrap().complete().unwrap();
    /// assert_eq!(accepted.response.header_values("connection").count(), 1);
    /// ```
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.block.values(name)
    }

    pub(crate) fn block(&self) -> &HeaderBlock {
        &self.block
    }
}

/// Reads a response head incrementally; the client side's twin of [`RequestReader`].
#[derive(Debug)]
pub(crate) struct ResponseReader {
    scanner: HeadScanner,
}

impl ResponseReader {
    pub(crate) fn new(limits: HeaderLimits) -> Self {
        ResponseReader {
            scanner: HeadScanner::new(limits),
        }
    }

    pub(crate) fn handle_input(
        &mut self,
        input: &[u8],
    ) -> Result<Status<(ResponseHead, Bytes)>, HandshakeError> {
        let Some(ScannedHead {
            parts: head,
            leftover,
        }) = self.scanner.feed(input, parse_response)?
        else {
            return Ok(Status::Partial);
        };
        Ok(Status::Complete((head, leftover)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn request_with_headers(count: usize, value_len: usize) -> Vec<u8> {
        let mut r = Vec::from(&b"GET /chat HTTP/1.1\r\nHost: example.com\r\n"[..]);
        for i in 0..count {
            r.extend_from_slice(alloc::format!("X-Filler-{i}: ").as_bytes());
            r.extend(core::iter::repeat_n(b'v', value_len));
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"\r\n");
        r
    }

    #[test]
    fn byte_at_a_time_scan_is_linear() {
        // A ~16 KiB head fed one byte at a time: each byte is scanned exactly once
        // and httparse runs twice in all (the first-chunk attempt and the final parse),
        // so the total work is linear, not quadratic (CVE-2023-43669).
        let request = request_with_headers(60, 250);
        assert!(request.len() > 15_000 && request.len() < 16 * 1024);
        let mut scanner = HeadScanner::new(HeaderLimits::DEFAULT);
        let (last, body) = request.split_last().unwrap();
        for &b in body {
            assert!(scanner.feed(&[b], parse_request).unwrap().is_none());
        }
        assert_eq!(scanner.scanned, request.len() - 1);
        assert_eq!(scanner.parses, 1);
        let head = scanner.feed(&[*last], parse_request).unwrap().unwrap();
        assert_eq!(head.parts.block.text(), request);
        assert_eq!(head.parts.block.len(), 61);
        assert_eq!(
            scanner.scanned,
            request.len(),
            "every byte scanned exactly once"
        );
        assert_eq!(scanner.parses, 2);
    }

    #[test]
    fn whole_head_in_one_chunk_is_parsed_once_without_scanning() {
        let request = request_with_headers(10, 20);
        let mut scanner = HeadScanner::new(HeaderLimits::DEFAULT);
        assert!(scanner.feed(&request, parse_request).unwrap().is_some());
        assert_eq!((scanner.scanned, scanner.parses), (0, 1));
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let mut reader = RequestReader::new();
        assert_eq!(reader.handle_input(b"\r\n").unwrap(), Status::Partial);
        let head = reader
            .handle_input(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(head.path(), "/");
    }

    #[test]
    fn bare_lf_line_endings() {
        let mut reader = RequestReader::new();
        let head = reader
            .handle_input(b"GET / HTTP/1.1\nHost: a\n\nrest")
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(head.header("host"), Some(&b"a"[..]));
        assert_eq!(&head.leftover()[..], b"rest");
    }

    #[test]
    fn header_count_cap_is_enforced_while_scanning() {
        let limits = HeaderLimits {
            max_header_bytes: 1 << 20,
            max_headers: 3,
        };
        let mut reader = RequestReader::with_limits(limits);
        let r = reader.handle_input(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n");
        assert_eq!(r, Err(HandshakeError::TooManyHeaders { max: 3 }));
        let mut reader = RequestReader::with_limits(limits);
        let r = reader.handle_input(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n");
        assert_eq!(r.unwrap().complete().unwrap().headers().count(), 3);
    }

    #[test]
    fn over_64_headers_use_the_heap_array() {
        let limits = HeaderLimits {
            max_header_bytes: 1 << 20,
            max_headers: 200,
        };
        let request = request_with_headers(150, 3);
        let mut reader = RequestReader::with_limits(limits);
        let head = reader.handle_input(&request).unwrap().complete().unwrap();
        assert_eq!(head.headers().count(), 151);
    }

    #[test]
    fn cap_exactly_fits() {
        let request = request_with_headers(2, 10);
        let limits = HeaderLimits {
            max_header_bytes: request.len(),
            max_headers: 64,
        };
        let mut reader = RequestReader::with_limits(limits);
        assert!(reader.handle_input(&request).unwrap().is_complete());
        let limits = HeaderLimits {
            max_header_bytes: request.len() - 1,
            max_headers: 64,
        };
        let mut reader = RequestReader::with_limits(limits);
        assert_eq!(
            reader.handle_input(&request),
            Err(HandshakeError::HeadTooLarge {
                max: request.len() - 1
            })
        );
    }

    #[test]
    fn content_length_forms() {
        let head = |v: &str| {
            RequestHead::from_parts("POST", HttpVersion::HTTP_1_1, "/", [("Content-Length", v)])
        };
        assert_eq!(head("0").content_length(), Ok(Some(0)));
        assert_eq!(head("7, 7").content_length(), Ok(Some(7)));
        assert!(head("-1").content_length().is_err());
        assert!(head("").content_length().is_err());
        assert!(head("99999999999999999999").content_length().is_err());
        let none = RequestHead::from_parts("GET", HttpVersion::HTTP_1_1, "/", [("a", "b")]);
        assert_eq!(none.content_length(), Ok(None));
    }
}
