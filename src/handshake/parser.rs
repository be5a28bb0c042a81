//! Finding and parsing an HTTP/1.1 head (request or response) in bytes that arrive in
//! chunks, for both storages.
//!
//! One [`HeadScanner`] does it all: the end of the head is found by scanning only the
//! bytes that are new in each call (looking back at most two bytes), so a head that
//! arrives one byte at a time costs linear work in total, unlike re-parsing the growing
//! buffer from the start (tungstenite CVE-2023-43669). Once the blank line is found the
//! head is parsed once with `httparse`, in place. When a head arrives whole in the first
//! call (the usual case) one httparse pass finds and parses it, and nothing is scanned;
//! any other outcome of that single attempt falls back to the scan, so results never
//! depend on how the input was split. Header bytes and header count are capped, and the
//! cap is enforced as the bytes arrive.
//!
//! The scanner reads a buffer that holds every byte received so far. For a borrowed
//! head that buffer is the caller's; for an owned head it is the chunk just received
//! when nothing is held yet (no copy on the fast path), else a [`ChunkBuffer`] that
//! keeps the bytes between calls, never more than the cap. The owned head is then
//! copied from the borrowed one.

use alloc::vec::Vec;

use super::HandshakeError;
use super::head::{
    HEADERS_ON_STACK, HeaderLimits, HeaderSlots, RequestHead, RequestHeadRef, RequestKind, Slot,
};
use crate::Status;

/// A kind of head (request or response): how to parse one in place and how to copy it
/// into its owned form.
pub(super) trait HeadKind {
    /// The head parsed in place, borrowing the input and the slots.
    type Parsed<'h>;
    /// The head copied out of the input.
    type Owned;

    /// Parses the head at the start of `at.head` into `slots`. `Ok(None)` if the head
    /// is incomplete.
    fn parse<'h, 'b: 'h>(
        at: HeadAt<'b>,
        slots: &'h mut [Slot<'b>],
    ) -> Result<Option<Self::Parsed<'h>>, HandshakeError>;

    /// How many bytes of the input the head takes, skipped empty lines included.
    fn len(head: &Self::Parsed<'_>) -> usize;

    /// A copy of `head` that owns its bytes, with `leftover` after it.
    fn to_owned(head: &Self::Parsed<'_>, leftover: &[u8]) -> Self::Owned;
}

/// Where the head to parse sits in the input.
#[derive(Clone, Copy)]
pub(super) struct HeadAt<'b> {
    /// Every byte received so far.
    pub(super) input: &'b [u8],
    /// Empty lines skipped before the head.
    pub(super) skipped: usize,
    /// The input from the head's first byte on (up to the cap, or to its end).
    pub(super) head: &'b [u8],
}

/// Finds the end of a head in a buffer that grows between calls, scanning each byte
/// once, with caps; then parses it once.
#[derive(Debug, Clone)]
pub(super) struct HeadScanner {
    limits: HeaderLimits,
    /// Empty lines skipped before the start line (RFC 7230 §3.5), counted in the cap.
    skipped: usize,
    /// Bytes after the skipped ones already scanned (never more than the cap allows).
    held: usize,
    /// Line ends seen so far; the first ends the start line, the others header fields.
    lines: usize,
    /// Bytes inspected by the scan, to prove it is linear.
    #[cfg(test)]
    pub(super) scanned: usize,
    /// Calls to httparse, to prove the head is parsed a bounded number of times.
    #[cfg(test)]
    pub(super) parses: usize,
}

impl HeadScanner {
    pub(super) fn new(limits: HeaderLimits) -> HeadScanner {
        HeadScanner {
            limits,
            skipped: 0,
            held: 0,
            lines: 0,
            #[cfg(test)]
            scanned: 0,
            #[cfg(test)]
            parses: 0,
        }
    }

    pub(super) fn limits(&self) -> HeaderLimits {
        self.limits
    }

    pub(super) fn reset(&mut self) {
        self.skipped = 0;
        self.held = 0;
        self.lines = 0;
    }

    /// Reads the head from `input`, every byte received so far (the previous call's
    /// input followed by the new bytes), parsing it into `slots`. At most
    /// `slots.len()` header fields are read (a lower `max_headers` wins). After
    /// `Complete` or an error the scanner starts afresh; an input shorter than the last
    /// one also starts afresh.
    #[inline(always)]
    pub(super) fn advance<'h, 'b: 'h, K: HeadKind>(
        &mut self,
        input: &'b [u8],
        slots: &'h mut [Slot<'b>],
    ) -> Result<Status<K::Parsed<'h>>, HandshakeError> {
        if input.len() < self.skipped.saturating_add(self.held) {
            // Not the buffer the previous calls saw: start afresh.
            self.reset();
        }
        let result = if self.held == 0 {
            self.advance_first::<K>(input, slots)
        } else {
            self.advance_more::<K>(input, slots)
        };
        if !matches!(result, Ok(Status::Partial)) {
            // Complete or failed: start afresh for the next head.
            self.reset();
        }
        result
    }

    /// Nothing scanned yet: skip empty lines, then try the whole input in one httparse
    /// pass; anything but a complete head falls back to the scan.
    #[inline]
    fn advance_first<'h, 'b: 'h, K: HeadKind>(
        &mut self,
        input: &'b [u8],
        slots: &'h mut [Slot<'b>],
    ) -> Result<Status<K::Parsed<'h>>, HandshakeError> {
        let max = self.limits.max_header_bytes;
        let unskipped = input.get(self.skipped..).unwrap_or_default();
        // https://www.rfc-editor.org/rfc/rfc7230#section-3.5
        // "a server that is expecting to receive and parse a request-line SHOULD
        // ignore at least one empty line (CRLF) received prior to the request-line."
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
        let max_headers = self.max_headers(slots.len());
        let slots = slots.get_mut(..max_headers).unwrap_or_default();
        #[cfg(test)]
        {
            self.parses += 1;
        }
        let at = HeadAt {
            input,
            skipped: self.skipped,
            head: window,
        };
        if let Ok(Some(head)) = K::parse(at, slots) {
            return Ok(Status::Complete(head));
        }
        self.first_parse_failed::<K>(input, max_headers)
    }

    /// The whole input did not parse as a complete head: scan it, and if the head's
    /// end is there, parse up to it for the error. (It cannot parse: httparse reads
    /// the same bytes the same way with at least as many slots, so spare slots do and
    /// the caller's stay free.)
    #[cold]
    #[inline(never)]
    fn first_parse_failed<'h, K: HeadKind>(
        &mut self,
        input: &[u8],
        max_headers: usize,
    ) -> Result<Status<K::Parsed<'h>>, HandshakeError> {
        let Some(end) = self.scan_new_bytes(input, max_headers)? else {
            return Ok(Status::Partial);
        };
        let at = self.head_at(input, end);
        #[cfg(test)]
        {
            self.parses += 1;
        }
        with_header_array(self.lines.saturating_sub(1), |spare| {
            match K::parse(at, spare) {
                Err(error) => Err(error),
                Ok(_) => Err(HandshakeError::MalformedHttp("incomplete head")),
            }
        })
    }

    /// Some bytes scanned: scan the new ones for the end of the head, then parse it once.
    fn advance_more<'h, 'b: 'h, K: HeadKind>(
        &mut self,
        input: &'b [u8],
        slots: &'h mut [Slot<'b>],
    ) -> Result<Status<K::Parsed<'h>>, HandshakeError> {
        let max_headers = self.max_headers(slots.len());
        let Some(end) = self.scan_new_bytes(input, max_headers)? else {
            return Ok(Status::Partial);
        };
        let at = self.head_at(input, end);
        let slots = slots
            .get_mut(..self.lines.saturating_sub(1))
            .unwrap_or_default();
        #[cfg(test)]
        {
            self.parses += 1;
        }
        match K::parse(at, slots)? {
            Some(head) if K::len(&head) == at.skipped + end => Ok(Status::Complete(head)),
            _ => Err(HandshakeError::MalformedHttp("incomplete head")),
        }
    }

    /// The most header fields to read into `slot_count` slots.
    fn max_headers(&self, slot_count: usize) -> usize {
        self.limits.max_headers.min(slot_count)
    }

    /// The head, `end` bytes long after the skipped lines.
    fn head_at<'b>(&self, input: &'b [u8], end: usize) -> HeadAt<'b> {
        let rest = input.get(self.skipped..).unwrap_or_default();
        HeadAt {
            input,
            skipped: self.skipped,
            head: rest.get(..end).unwrap_or_default(),
        }
    }

    /// Scans the bytes not scanned yet, up to the cap. Returns where the head ends
    /// (just past its blank line), counted from the first byte after the skipped lines.
    fn scan_new_bytes(
        &mut self,
        input: &[u8],
        max_headers: usize,
    ) -> Result<Option<usize>, HandshakeError> {
        let max = self.limits.max_header_bytes;
        let rest = input.get(self.skipped..).unwrap_or_default();
        let room = max.saturating_sub(self.skipped + self.held);
        let take = rest.len().saturating_sub(self.held).min(room);
        let from = self.held;
        self.held += take;
        #[cfg(test)]
        {
            self.scanned += take;
        }
        let held = rest.get(..self.held).unwrap_or_default();
        match scan_for_head_end(held, from, &mut self.lines, max_headers)? {
            Some(end) => Ok(Some(end)),
            // The cap is reached without the blank line: no complete head can fit.
            None if self.skipped + self.held >= max => Err(HandshakeError::HeadTooLarge { max }),
            None => Ok(None),
        }
    }
}

/// Scans `buf[from..]` for the end of a head (`\n\n` or `\n\r\n`), counting in `lines`
/// the line ends seen (the first ends the start line) and failing as soon as the
/// header fields would be more than `max_headers`. Returns the index just past the
/// blank line. `buf[..from]` was scanned before with the same `lines`.
fn scan_for_head_end(
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

/// The length of a head httparse found complete, `None` if it is incomplete.
pub(super) fn complete_len(
    parsed: Result<httparse::Status<usize>, httparse::Error>,
) -> Result<Option<usize>, HandshakeError> {
    match parsed {
        Ok(httparse::Status::Complete(len)) => Ok(Some(len)),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(http_error(e)),
    }
}

fn http_error(e: httparse::Error) -> HandshakeError {
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

/// Runs `parse` with an (uninitialised) header array of exactly `count` entries, on
/// the stack when small.
fn with_header_array<'b, R>(count: usize, parse: impl FnOnce(&mut [Slot<'b>]) -> R) -> R {
    if count <= HEADERS_ON_STACK {
        let mut headers = [const { Slot::uninit() }; HEADERS_ON_STACK];
        parse(headers.get_mut(..count).unwrap_or_default())
    } else {
        let mut headers = Vec::with_capacity(count);
        headers.resize_with(count, Slot::uninit);
        parse(&mut headers)
    }
}

/// The bytes an owned reader keeps between calls while a head is incomplete (never
/// more than `max_header_bytes`).
#[derive(Debug, Default)]
pub(super) struct ChunkBuffer {
    buf: Vec<u8>,
}

impl ChunkBuffer {
    /// Feeds `chunk`, the next bytes read, to `scanner`, and copies a complete head out
    /// with the rest of `chunk` as its leftover. Nothing is copied into the buffer
    /// while no bytes are held and the chunk holds a whole head.
    pub(super) fn feed<K: HeadKind>(
        &mut self,
        scanner: &mut HeadScanner,
        chunk: &[u8],
    ) -> Result<Status<K::Owned>, HandshakeError> {
        let limits = scanner.limits();
        let from = self.buf.len();
        if from == 0 {
            // Nothing held: whatever the scanner remembers is from another buffer.
            scanner.reset();
        } else {
            let take = chunk
                .len()
                .min(limits.max_header_bytes.saturating_sub(from));
            self.buf
                .extend_from_slice(chunk.get(..take).unwrap_or_default());
        }
        let input = if from == 0 { chunk } else { &self.buf[..] };
        let result = with_header_array(limits.max_headers, |slots| {
            Ok(match scanner.advance::<K>(input, slots)? {
                Status::Partial => Status::Partial,
                Status::Complete(head) => {
                    // The head ends in this chunk: what follows it there is the leftover.
                    let leftover = chunk.get(K::len(&head).saturating_sub(from)..);
                    Status::Complete(K::to_owned(&head, leftover.unwrap_or_default()))
                }
            })
        });
        match result {
            Ok(Status::Partial) if from == 0 => {
                let keep = chunk.len().min(limits.max_header_bytes);
                self.buf.reserve_exact(keep);
                self.buf
                    .extend_from_slice(chunk.get(..keep).unwrap_or_default());
            }
            Ok(Status::Partial) => {}
            _ => self.clear(),
        }
        result
    }

    /// Number of bytes held.
    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Drops the bytes held.
    pub(super) fn clear(&mut self) {
        self.buf = Vec::new();
    }
}

/// Reads an HTTP/1.x request head from bytes arriving in chunks of any size, into an
/// owned [`RequestHead`] or a borrowed [`RequestHeadRef`].
///
/// - Owned: feed every chunk read from the socket to [`RequestParser::handle_input`].
///   The parser keeps what it needs between calls; the head it returns owns a copy of
///   its bytes and its [`leftover`](RequestHead::leftover) holds the bytes of the chunk
///   that followed the head.
/// - Borrowed: append every read to your own buffer and pass the whole buffer to
///   [`RequestParser::parse_borrowed`]. Nothing is copied; the head borrows the buffer
///   and a [`HeaderSlots`] array on your stack.
///
/// Both return [`Status::Partial`] until the blank line that ends the head has arrived.
/// Each byte is scanned once and the head parsed once (plus one attempt on the first
/// call), so the total work is linear in the head's size however it is split; both
/// entry points run the same scanner, so their outcomes are equal for any input and
/// any split. After `Complete` or an error the parser is empty and ready for the next
/// request (feed it what follows the previous request's body). Use one entry point
/// per head: switching drops what the other one held.
///
/// The head is refused with [`HandshakeError::HeadTooLarge`] as soon as
/// `max_header_bytes` bytes have arrived without its end (nothing beyond the cap is
/// stored or scanned), and with [`HandshakeError::TooManyHeaders`] as soon as the field
/// count goes over `max_headers` (for a borrowed head, at most
/// [`HeaderSlots::CAPACITY`]). Answer errors with [`HandshakeError::write_response`]
/// and close the connection.
///
/// ```
/// use socketwire::Status;
/// use socketwire::handshake::{HeaderSlots, RequestParser};
///
/// // Owned: chunk by chunk.
/// let mut parser = RequestParser::new();
/// assert_eq!(parser.handle_input(b"GET /chat HTTP/1.1\r\nHo").unwrap(), Status::Partial);
/// let head = parser.handle_input(b"st: example.com\r\n\r\n").unwrap().complete().unwrap();
/// assert_eq!(head.path(), "/chat");
///
/// // Borrowed: the growing buffer.
/// let reads: [&[u8]; 2] = [b"GET /chat HTTP/1.1\r\nHo", b"st: example.com\r\n\r\n\x81"];
/// let mut buffer = Vec::new();
/// for read in reads {
///     buffer.extend_from_slice(read);
///     let mut slots = HeaderSlots::new();
///     match parser.parse_borrowed(&buffer, &mut slots) {
///         Ok(Status::Partial) => continue,
///         Ok(Status::Complete(head)) => assert_eq!(head.leftover(), b"\x81"),
///         Err(error) => panic!("{error}"),
///     }
/// }
/// ```
#[derive(Debug)]
pub struct RequestParser {
    scanner: HeadScanner,
    chunks: ChunkBuffer,
}

impl Default for RequestParser {
    fn default() -> Self {
        RequestParser::new()
    }
}

impl RequestParser {
    /// A parser with the default [`HeaderLimits`] (16 KiB, 64 fields).
    ///
    /// ```
    /// let parser = socketwire::handshake::RequestParser::new();
    /// assert_eq!(parser.buffered_len(), 0);
    /// ```
    pub fn new() -> RequestParser {
        RequestParser::with_limits(HeaderLimits::DEFAULT)
    }

    /// A parser with the given limits.
    ///
    /// ```
    /// use socketwire::handshake::{HandshakeError, HeaderLimits, RequestParser};
    /// let mut parser = RequestParser::with_limits(HeaderLimits { max_header_bytes: 16, max_headers: 4 });
    /// assert_eq!(
    ///     parser.handle_input(b"GET /a-long-path HTTP/1.1\r\n"),
    ///     Err(HandshakeError::HeadTooLarge { max: 16 })
    /// );
    /// ```
    pub fn with_limits(limits: HeaderLimits) -> RequestParser {
        RequestParser {
            scanner: HeadScanner::new(limits),
            chunks: ChunkBuffer::default(),
        }
    }

    /// Owned: feeds the next chunk of bytes. See the type's documentation.
    ///
    /// ```
    /// use socketwire::Status;
    /// use socketwire::handshake::RequestParser;
    /// let mut parser = RequestParser::new();
    /// let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    /// for &byte in &request[..request.len() - 1] {
    ///     assert_eq!(parser.handle_input(&[byte]).unwrap(), Status::Partial);
    /// }
    /// assert!(parser.handle_input(b"\n").unwrap().is_complete());
    /// ```
    pub fn handle_input(&mut self, chunk: &[u8]) -> Result<Status<RequestHead>, HandshakeError> {
        self.chunks.feed::<RequestKind>(&mut self.scanner, chunk)
    }

    /// Borrowed: reads the head from `buffer`, every byte received so far (the previous
    /// call's buffer followed by the new bytes), into `slots`. See the type's
    /// documentation. A buffer shorter than the last one starts afresh.
    ///
    /// ```
    /// use socketwire::Status;
    /// use socketwire::handshake::{HeaderSlots, RequestParser};
    /// let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    /// let mut parser = RequestParser::new();
    /// for end in 1..request.len() {
    ///     let mut slots = HeaderSlots::new();
    ///     assert_eq!(parser.parse_borrowed(&request[..end], &mut slots), Ok(Status::Partial));
    /// }
    /// let mut slots = HeaderSlots::new();
    /// assert!(parser.parse_borrowed(request, &mut slots).unwrap().is_complete());
    /// ```
    pub fn parse_borrowed<'h, 'b: 'h>(
        &mut self,
        buffer: &'b [u8],
        slots: &'h mut HeaderSlots<'b>,
    ) -> Result<Status<RequestHeadRef<'h>>, HandshakeError> {
        if self.chunks.len() > 0 {
            // Bytes held for `handle_input`: the scanner's progress is in them.
            self.chunks.clear();
            self.scanner.reset();
        }
        self.scanner
            .advance::<RequestKind>(buffer, slots.as_mut_slice())
    }

    /// Number of bytes [`handle_input`](RequestParser::handle_input) holds while
    /// waiting for the end of the head (empty lines before it included).
    ///
    /// ```
    /// let mut parser = socketwire::handshake::RequestParser::new();
    /// parser.handle_input(b"GET / HTTP/1.1\r\n").unwrap();
    /// assert_eq!(parser.buffered_len(), 16);
    /// ```
    pub fn buffered_len(&self) -> usize {
        self.chunks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::HandshakeError;
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
        let mut parser = RequestParser::new();
        let (last, body) = request.split_last().unwrap();
        for &b in body {
            assert_eq!(parser.handle_input(&[b]), Ok(Status::Partial));
        }
        assert_eq!(parser.scanner.scanned, request.len() - 1);
        assert_eq!(parser.scanner.parses, 1);
        let head = parser.handle_input(&[*last]).unwrap().complete().unwrap();
        assert_eq!(head.block().text(), request);
        assert_eq!(head.block().len(), 61);
        assert_eq!(
            parser.scanner.scanned,
            request.len(),
            "every byte scanned exactly once"
        );
        assert_eq!(parser.scanner.parses, 2);
        // The borrowed entry point, fed the growing buffer, does the same work.
        let mut parser = RequestParser::new();
        for end in 1..request.len() {
            let mut slots = HeaderSlots::new();
            let status = parser.parse_borrowed(&request[..end], &mut slots);
            assert_eq!(status, Ok(Status::Partial));
        }
        let mut slots = HeaderSlots::new();
        assert!(
            parser
                .parse_borrowed(&request, &mut slots)
                .unwrap()
                .is_complete()
        );
        assert_eq!(
            (parser.scanner.scanned, parser.scanner.parses),
            (request.len(), 2)
        );
    }

    #[test]
    fn whole_head_in_one_chunk_is_parsed_once_without_scanning() {
        let request = request_with_headers(10, 20);
        let mut parser = RequestParser::new();
        assert!(parser.handle_input(&request).unwrap().is_complete());
        assert_eq!((parser.scanner.scanned, parser.scanner.parses), (0, 1));
        assert_eq!(parser.buffered_len(), 0, "nothing copied but the head");
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let mut parser = RequestParser::new();
        assert_eq!(parser.handle_input(b"\r\n").unwrap(), Status::Partial);
        let head = parser
            .handle_input(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(head.path(), "/");
    }

    #[test]
    fn bare_lf_line_endings() {
        let mut parser = RequestParser::new();
        let head = parser
            .handle_input(b"GET / HTTP/1.1\nHost: a\n\nrest")
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(head.header("host"), Some(&b"a"[..]));
        assert_eq!(head.leftover(), b"rest");
    }

    #[test]
    fn header_count_cap_is_enforced_while_scanning() {
        let limits = HeaderLimits {
            max_header_bytes: 1 << 20,
            max_headers: 3,
        };
        let mut parser = RequestParser::with_limits(limits);
        let r = parser.handle_input(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n");
        assert_eq!(r, Err(HandshakeError::TooManyHeaders { max: 3 }));
        let mut parser = RequestParser::with_limits(limits);
        let r = parser.handle_input(b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n");
        assert_eq!(r.unwrap().complete().unwrap().headers().count(), 3);
    }

    #[test]
    fn over_64_headers_use_the_heap_array() {
        let limits = HeaderLimits {
            max_header_bytes: 1 << 20,
            max_headers: 200,
        };
        let request = request_with_headers(150, 3);
        let mut parser = RequestParser::with_limits(limits);
        let head = parser.handle_input(&request).unwrap().complete().unwrap();
        assert_eq!(head.headers().count(), 151);
    }

    #[test]
    fn cap_exactly_fits() {
        let request = request_with_headers(2, 10);
        let limits = HeaderLimits {
            max_header_bytes: request.len(),
            max_headers: 64,
        };
        let mut parser = RequestParser::with_limits(limits);
        assert!(parser.handle_input(&request).unwrap().is_complete());
        let limits = HeaderLimits {
            max_header_bytes: request.len() - 1,
            max_headers: 64,
        };
        let mut parser = RequestParser::with_limits(limits);
        assert_eq!(
            parser.handle_input(&request),
            Err(HandshakeError::HeadTooLarge {
                max: request.len() - 1
            })
        );
    }
}
