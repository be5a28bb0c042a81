//! HTTP long-polling payloads: several packets in one body.
//!
//! | format | grammar | lengths |
//! |---|---|---|
//! | v4 | `packet ( 0x1E packet )*` | none |
//! | v3 text | `( <len> ":" packet )*` | UTF-16 code units |
//! | v3 binary (XHR2) | `( 00\|01 <digit bytes 0-9> FF packet )*` | bytes |
//! | JSONP | `___eio[<j>]("<escaped payload>");` / `d=<payload>` | — |
//!
//! [`PayloadDecoder`] is an iterator over a complete body that borrows text and
//! slices binary data out of the body; it checks the body size and the packet
//! count as it goes and stops after the first error, like the reference
//! decoder (packets before the error are delivered). [`PayloadFormat::encode`]
//! and [`Jsonp::encode`] append to the caller's [`BytesMut`].
//!
//! Strictness: v3 lengths are plain decimal digits (leading zeros allowed; the
//! JS decoder's loose ` 6:` and `6.0:` are refused) of at most 20 digits, so a
//! 310-digit length is [`Error::LengthTooLong`], never an overflow; a v4 empty
//! record or trailing separator is [`Error::EmptyRecord`], as in the JS decoder.

use alloc::borrow::Cow;
use alloc::string::String;
use bytes::{BufMut, Bytes, BytesMut};

use super::Error;
use super::packet::{EngineIoVersion, Packet};

/// The v4 record separator.
pub const RECORD_SEPARATOR: u8 = 0x1E;

/// More digits than any length that fits a body needs (u64 has 20); the JS
/// decoder gives up past 310.
const MAX_LENGTH_DIGITS: usize = 20;

/// Bounds checked while decoding a payload.
///
/// ```
/// use socketwire::engineio::PayloadLimits;
/// let limits = PayloadLimits { max_payload: 1_000_000, max_packets: 64 };
/// assert_eq!(PayloadLimits::default(), limits);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadLimits {
    /// Largest body in bytes (`maxPayload` / `maxHttpBufferSize`, JS default 1 000 000).
    pub max_payload: usize,
    /// Most packets in one body.
    pub max_packets: usize,
}

impl Default for PayloadLimits {
    fn default() -> Self {
        PayloadLimits {
            max_payload: 1_000_000,
            max_packets: 64,
        }
    }
}

/// Which framing a body uses.
///
/// ```
/// use socketwire::engineio::{PayloadFormat, EngineIoVersion};
/// assert_eq!(PayloadFormat::text(EngineIoVersion::V4), PayloadFormat::V4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    /// v4: record-separated text.
    V4,
    /// v3: `<len>:<packet>` text.
    V3Text,
    /// v3: XHR2 binary framing.
    V3Binary,
}

impl PayloadFormat {
    /// The text format of a protocol version.
    ///
    /// ```
    /// use socketwire::engineio::{PayloadFormat, EngineIoVersion};
    /// assert_eq!(PayloadFormat::text(EngineIoVersion::V3), PayloadFormat::V3Text);
    /// ```
    pub fn text(version: EngineIoVersion) -> PayloadFormat {
        match version {
            EngineIoVersion::V3 => PayloadFormat::V3Text,
            EngineIoVersion::V4 => PayloadFormat::V4,
        }
    }

    /// The HTTP `Content-Type` a server answers with for this format.
    ///
    /// ```
    /// use socketwire::engineio::PayloadFormat;
    /// assert_eq!(PayloadFormat::V3Binary.content_type(), "application/octet-stream");
    /// ```
    pub fn content_type(self) -> &'static str {
        match self {
            PayloadFormat::V3Binary => "application/octet-stream",
            _ => "text/plain; charset=UTF-8",
        }
    }

    /// Appends `packets` as one body in this format: the only payload encoder.
    ///
    /// | format | output |
    /// |---|---|
    /// | [`V4`](PayloadFormat::V4) | packets joined by 0x1E; binary as `b<base64>` |
    /// | [`V3Text`](PayloadFormat::V3Text) | `<len>:<packet>` per packet, lengths in UTF-16 code units; binary as `b4<base64>`; no packets encode as `0:` |
    /// | [`V3Binary`](PayloadFormat::V3Binary) | marker `0x00` (text) / `0x01` (binary), the byte length as one byte per digit (values 0–9), `0xFF`, then the packet (text: `<digit><data>`; binary: `0x04` + bytes) |
    ///
    /// JSONP wraps a text payload: see [`Jsonp::encode`].
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use socketwire::engineio::{Packet, PayloadFormat};
    /// let mut out = BytesMut::new();
    /// PayloadFormat::V4.encode(&[Packet::Message("hello"), Packet::Ping("")], &mut out);
    /// assert_eq!(&out[..], b"4hello\x1e2");
    ///
    /// out.clear();
    /// PayloadFormat::V3Text.encode(&[Packet::Message("hello"), Packet::Message("€")], &mut out);
    /// assert_eq!(&out[..], "6:4hello2:4€".as_bytes());
    ///
    /// out.clear();
    /// let packets = [Packet::Message("hello"), Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))];
    /// PayloadFormat::V3Binary.encode(&packets, &mut out);
    /// assert_eq!(&out[..], &[0, 6, 0xFF, b'4', b'h', b'e', b'l', b'l', b'o', 1, 5, 0xFF, 4, 1, 2, 3, 4]);
    /// ```
    pub fn encode(self, packets: &[Packet<'_>], out: &mut BytesMut) {
        match self {
            PayloadFormat::V4 => encode_v4(packets, out),
            PayloadFormat::V3Text => encode_v3_text(packets, out),
            PayloadFormat::V3Binary => encode_v3_binary(packets, out),
        }
    }
}

// https://github.com/socketio/engine.io-protocol#http-long-polling-1
// "the packets are separated by the 'record separator' character: \x1e".
fn encode_v4(packets: &[Packet<'_>], out: &mut BytesMut) {
    let total: usize = packets
        .iter()
        .map(|p| p.encoded_text_len(EngineIoVersion::V4) + 1)
        .sum();
    out.reserve(total);
    for (index, packet) in packets.iter().enumerate() {
        if index > 0 {
            out.put_u8(RECORD_SEPARATOR);
        }
        packet.encode_text(EngineIoVersion::V4, out);
    }
}

// https://github.com/socketio/engine.io-protocol/tree/v3#payload
// "<length1>:<packet1>[<length2>:<packet2>[...]]" — the length in characters
// (JS `String.length`, UTF-16 code units).
fn encode_v3_text(packets: &[Packet<'_>], out: &mut BytesMut) {
    if packets.is_empty() {
        out.put_slice(b"0:");
        return;
    }
    for packet in packets {
        let units = packet.encoded_utf16_len(EngineIoVersion::V3);
        write_decimal(units as u64, out, |d| b'0' + d);
        out.put_u8(b':');
        packet.encode_text(EngineIoVersion::V3, out);
    }
}

// https://github.com/socketio/engine.io-protocol/tree/v3#payload
// "<0 for string data, 1 for binary data><Any number of numbers between 0 and 9>
// <The number 255><packet1 (first type, then data)>".
fn encode_v3_binary(packets: &[Packet<'_>], out: &mut BytesMut) {
    for packet in packets {
        let (marker, len) = match packet {
            Packet::Binary(data) => (1u8, data.len() + 1),
            other => (0u8, 1 + other.text().len()),
        };
        out.put_u8(marker);
        write_decimal(len as u64, out, |d| d);
        out.put_u8(0xFF);
        packet.encode_websocket(EngineIoVersion::V3, true, out);
    }
}

#[derive(Debug, Clone)]
enum Cursor<'a> {
    /// v4: the text not yet split; `None` once the last record was taken.
    V4(Option<&'a str>),
    V3Text(&'a str),
    V3Binary(&'a Bytes, usize),
    Done,
}

/// An iterator over the packets of one polling body. Yields `Ok(packet)` for
/// each packet, then at most one `Err`, then stops.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::engineio::{Packet, PayloadDecoder, PayloadFormat, PayloadLimits};
/// let body = Bytes::from_static(b"4hello\x1e2\x1e4world");
/// let packets: Result<Vec<_>, _> =
///     PayloadDecoder::new(&body, PayloadFormat::V4, PayloadLimits::default()).collect();
/// assert_eq!(packets.unwrap(), [Packet::Message("hello"), Packet::Ping(""), Packet::Message("world")]);
/// ```
#[derive(Debug, Clone)]
pub struct PayloadDecoder<'a> {
    cursor: Cursor<'a>,
    pending_error: Option<Error>,
    limits: PayloadLimits,
    count: usize,
}

impl<'a> PayloadDecoder<'a> {
    /// Decodes `body` in the given format. A text body that is not UTF-8, an
    /// empty body and a body over `max_payload` are reported as the first item.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::engineio::{Error, PayloadDecoder, PayloadFormat, PayloadLimits};
    /// let body = Bytes::from_static(b"");
    /// let mut d = PayloadDecoder::new(&body, PayloadFormat::V4, PayloadLimits::default());
    /// assert_eq!(d.next(), Some(Err(Error::EmptyPayload)));
    /// assert_eq!(d.next(), None);
    /// ```
    pub fn new(body: &'a Bytes, format: PayloadFormat, limits: PayloadLimits) -> Self {
        PayloadDecoder::checked(body.len(), limits, || match format {
            PayloadFormat::V3Binary => Ok(Cursor::V3Binary(body, 0)),
            text_format => match simdutf8::basic::from_utf8(body) {
                Err(_) => Err(Error::InvalidUtf8),
                Ok(text) if text_format == PayloadFormat::V4 => Ok(Cursor::V4(Some(text))),
                Ok(text) => Ok(Cursor::V3Text(text)),
            },
        })
    }

    /// Checks the body size (before looking at the body) and the emptiness,
    /// then starts at the cursor `start` builds.
    fn checked(
        len: usize,
        limits: PayloadLimits,
        start: impl FnOnce() -> Result<Cursor<'a>, Error>,
    ) -> Self {
        let started = if len > limits.max_payload {
            Err(Error::PayloadTooLarge {
                len: len as u64,
                max: limits.max_payload as u64,
            })
        } else if len == 0 {
            Err(Error::EmptyPayload)
        } else {
            start()
        };
        let (cursor, pending_error) = match started {
            Ok(cursor) => (cursor, None),
            Err(error) => (Cursor::Done, Some(error)),
        };
        PayloadDecoder {
            cursor,
            pending_error,
            limits,
            count: 0,
        }
    }

    /// Decodes a text body (v4 or v3 text) that is already a `&str`; no binary
    /// framing, so nothing is sliced from a [`Bytes`].
    ///
    /// ```
    /// use socketwire::engineio::{Packet, PayloadDecoder, PayloadLimits, EngineIoVersion};
    /// let mut d = PayloadDecoder::from_text("3:4😀", EngineIoVersion::V3, PayloadLimits::default());
    /// assert_eq!(d.next(), Some(Ok(Packet::Message("😀"))));
    /// assert_eq!(d.next(), None);
    /// ```
    pub fn from_text(body: &'a str, version: EngineIoVersion, limits: PayloadLimits) -> Self {
        PayloadDecoder::checked(body.len(), limits, || {
            Ok(match version {
                EngineIoVersion::V4 => Cursor::V4(Some(body)),
                EngineIoVersion::V3 => Cursor::V3Text(body),
            })
        })
    }

    fn fail(&mut self, error: Error) -> Option<Result<Packet<'a>, Error>> {
        self.cursor = Cursor::Done;
        Some(Err(error))
    }

    fn next_v4(&mut self, rest: Option<&'a str>) -> Option<Result<Packet<'a>, Error>> {
        let rest = rest?;
        let (record, remaining) = match rest.find(char::from(RECORD_SEPARATOR)) {
            // The separator is ASCII, so both sides are char boundaries.
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        self.cursor = Cursor::V4(remaining);
        if record.is_empty() {
            // EIOP4: packets are separated by the record separator; an empty record
            // (or a trailing separator) is a parse error in the reference decoder.
            return self.fail(Error::EmptyRecord);
        }
        Some(Packet::decode_text(record, EngineIoVersion::V4))
    }

    fn next_v3_text(&mut self, mut rest: &'a str) -> Option<Result<Packet<'a>, Error>> {
        loop {
            if rest.is_empty() {
                self.cursor = Cursor::Done;
                return None;
            }
            let bytes = rest.as_bytes();
            let Some(colon) = bytes
                .iter()
                .take(MAX_LENGTH_DIGITS + 1)
                .position(|&b| b == b':')
            else {
                return if bytes
                    .iter()
                    .take(MAX_LENGTH_DIGITS + 1)
                    .all(u8::is_ascii_digit)
                {
                    if bytes.len() > MAX_LENGTH_DIGITS {
                        self.fail(Error::LengthTooLong)
                    } else {
                        self.fail(Error::TruncatedRecord)
                    }
                } else {
                    self.fail(Error::InvalidLength)
                };
            };
            let digits = &bytes[..colon];
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return self.fail(Error::InvalidLength);
            }
            let Some(units) = parse_decimal(digits.iter().map(|d| d - b'0')) else {
                return self.fail(Error::LengthTooLong);
            };
            let body = &rest[colon + 1..];
            // Each UTF-16 unit takes at least one UTF-8 byte: check before scanning.
            let units = match usize::try_from(units) {
                Ok(units) if units <= body.len() => units,
                _ => return self.fail(Error::TruncatedRecord),
            };
            let end = match utf16_prefix_len(body, units) {
                Ok(end) => end,
                Err(e) => return self.fail(e),
            };
            let record = &body[..end];
            rest = &body[end..];
            self.cursor = Cursor::V3Text(rest);
            if record.is_empty() {
                // EP2 skips zero-length records (`0:` is the empty payload).
                continue;
            }
            return Some(Packet::decode_text(record, EngineIoVersion::V3));
        }
    }

    fn next_v3_binary(&mut self, body: &'a Bytes, pos: usize) -> Option<Result<Packet<'a>, Error>> {
        let bytes = &body[..];
        let Some(&marker) = bytes.get(pos) else {
            self.cursor = Cursor::Done;
            return None;
        };
        if marker > 1 {
            return self.fail(Error::InvalidRecordMarker(marker));
        }
        let digits_start = pos + 1;
        let window = &bytes[digits_start..];
        let Some(terminator) = window
            .iter()
            .take(MAX_LENGTH_DIGITS + 1)
            .position(|&b| b == 0xFF)
        else {
            return if window.len() > MAX_LENGTH_DIGITS {
                self.fail(Error::LengthTooLong)
            } else if window.iter().all(|&d| d <= 9) {
                self.fail(Error::TruncatedRecord)
            } else {
                self.fail(Error::InvalidLength)
            };
        };
        let digits = &window[..terminator];
        if digits.is_empty() || digits.iter().any(|&d| d > 9) {
            return self.fail(Error::InvalidLength);
        }
        let Some(len) = parse_decimal(digits.iter().copied()) else {
            return self.fail(Error::LengthTooLong);
        };
        let start = digits_start + terminator + 1;
        let len = match usize::try_from(len) {
            Ok(len) if len <= bytes.len() - start => len,
            _ => return self.fail(Error::TruncatedRecord),
        };
        let end = start + len;
        self.cursor = Cursor::V3Binary(body, end);
        let record = &bytes[start..end];
        if marker == 0 {
            match core::str::from_utf8(record) {
                Ok(text) => Some(Packet::decode_text(text, EngineIoVersion::V3)),
                Err(_) => self.fail(Error::InvalidUtf8),
            }
        } else {
            Some(Packet::decode_binary(
                &body.slice(start..end),
                EngineIoVersion::V3,
            ))
        }
    }
}

impl<'a> Iterator for PayloadDecoder<'a> {
    type Item = Result<Packet<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.pending_error.take() {
            return self.fail(error);
        }
        let item = match core::mem::replace(&mut self.cursor, Cursor::Done) {
            Cursor::V4(rest) => self.next_v4(rest),
            Cursor::V3Text(rest) => self.next_v3_text(rest),
            Cursor::V3Binary(body, pos) => self.next_v3_binary(body, pos),
            Cursor::Done => None,
        };
        match item {
            Some(Ok(packet)) => {
                self.count += 1;
                if self.count > self.limits.max_packets {
                    return self.fail(Error::TooManyPackets {
                        max: self.limits.max_packets,
                    });
                }
                Some(Ok(packet))
            }
            Some(Err(e)) => self.fail(e),
            None => None,
        }
    }
}

/// A decimal from digit values 0–9, `None` on overflow.
fn parse_decimal(digits: impl Iterator<Item = u8>) -> Option<u64> {
    let mut value: u64 = 0;
    for d in digits {
        value = value.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(value)
}

/// The byte length of the prefix of `text` that is `units` UTF-16 code units long.
fn utf16_prefix_len(text: &str, units: usize) -> Result<usize, Error> {
    let bytes = text.as_bytes();
    if units <= bytes.len() && bytes[..units].is_ascii() {
        return Ok(units);
    }
    let mut counted = 0usize;
    for (index, &b) in bytes.iter().enumerate() {
        if (b & 0xC0) == 0x80 {
            continue;
        }
        if counted == units {
            return Ok(index);
        }
        counted += if b >= 0xF0 { 2 } else { 1 };
        if counted > units {
            return Err(Error::SplitSurrogate);
        }
    }
    if counted == units {
        Ok(bytes.len())
    } else {
        Err(Error::TruncatedRecord)
    }
}

fn write_decimal(value: u64, out: &mut BytesMut, map: impl Fn(u8) -> u8) {
    let mut digits = [0u8; 20];
    let mut n = value;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.put_u8(map(d));
    }
}

/// Appends `text` as a JSON string literal (quotes included), escaped like
/// `JSON.stringify` plus U+2028/U+2029 as the JSONP transport does.
pub(crate) fn write_json_string(text: &str, out: &mut BytesMut) {
    out.reserve(text.len() + 2);
    out.put_u8(b'"');
    // Fast path: nothing to escape (0xE2 starts U+2028/U+2029 and other characters).
    if text
        .bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b != 0xE2)
    {
        out.put_slice(text.as_bytes());
        out.put_u8(b'"');
        return;
    }
    let mut clean_from = 0;
    for (index, ch) in text.char_indices() {
        let escape: Option<&[u8]> = match ch {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\n' => Some(b"\\n"),
            '\r' => Some(b"\\r"),
            '\t' => Some(b"\\t"),
            '\u{8}' => Some(b"\\b"),
            '\u{c}' => Some(b"\\f"),
            '\u{2028}' => Some(b"\\u2028"),
            '\u{2029}' => Some(b"\\u2029"),
            c if (c as u32) < 0x20 => Some(b""),
            _ => None,
        };
        let Some(escape) = escape else { continue };
        out.put_slice(&text.as_bytes()[clean_from..index]);
        clean_from = index + ch.len_utf8();
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let code = u8::try_from(u32::from(ch)).unwrap_or(0);
            out.put_slice(b"\\u00");
            out.put_u8(HEX[usize::from(code >> 4)]);
            out.put_u8(HEX[usize::from(code & 0xF)]);
        } else {
            out.put_slice(escape);
        }
    }
    out.put_slice(&text.as_bytes()[clean_from..]);
    out.put_u8(b'"');
}

/// JSONP polling (query parameter `j`, for browsers without CORS): a text
/// payload (v4 or v3 text) inside a JavaScript call, and form-encoded POSTs.
///
/// <https://github.com/socketio/engine.io-protocol/tree/v3#jsonp> — response
/// `___eio[<j>]("<payload>");`, request body `d=<payload>`.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::engineio::{EngineIoVersion, Jsonp, Packet};
/// let mut out = BytesMut::new();
/// Jsonp::new("0").encode(&[Packet::Message(r#""hi""#)], EngineIoVersion::V4, &mut out);
/// assert_eq!(&out[..], br#"___eio[0]("4\"hi\"");"#);
/// assert_eq!(Jsonp::decode_body(b"d=4hello").unwrap(), "4hello");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jsonp<'a> {
    index: &'a str,
}

impl<'a> Jsonp<'a> {
    /// The response content type.
    pub const CONTENT_TYPE: &'static str = "text/javascript; charset=UTF-8";

    /// JSONP with the client's index (the `j` query value). Non-digits in it are
    /// dropped when encoding, as the reference server does.
    ///
    /// ```
    /// use socketwire::engineio::Jsonp;
    /// assert_eq!(Jsonp::new("3"), Jsonp::new("3"));
    /// ```
    pub fn new(index: &'a str) -> Jsonp<'a> {
        Jsonp { index }
    }

    /// Appends a JSONP response: `___eio[<index digits>]("<payload as JSON string>");`
    /// where the payload is `packets` in the text format of `version`, escaped
    /// like `JSON.stringify` plus U+2028/U+2029.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use socketwire::engineio::{EngineIoVersion, Jsonp, Packet};
    /// let mut out = BytesMut::new();
    /// Jsonp::new("a1b2").encode(&[Packet::Message("\u{2028}\u{1}")], EngineIoVersion::V3, &mut out);
    /// assert_eq!(&out[..], br#"___eio[12]("3:4\u2028\u0001");"#);
    /// ```
    pub fn encode(&self, packets: &[Packet<'_>], version: EngineIoVersion, out: &mut BytesMut) {
        let mut payload = BytesMut::new();
        PayloadFormat::text(version).encode(packets, &mut payload);
        // Text formats are built from `&str`, decimal digits and base64.
        let text = core::str::from_utf8(&payload).unwrap_or_default();
        debug_assert_eq!(text.len(), payload.len(), "text payloads are UTF-8");
        out.reserve(text.len() + 16);
        out.put_slice(b"___eio[");
        for b in self.index.bytes().filter(u8::is_ascii_digit) {
            out.put_u8(b);
        }
        out.put_slice(b"](");
        write_json_string(text, out);
        out.put_slice(b");");
    }

    /// Decodes a JSONP POST body (`application/x-www-form-urlencoded`, field `d`):
    /// percent-decoding and `+`, then the client's newline escaping (`\n` → newline,
    /// `\\n` → `\n`). Borrows when nothing needs decoding.
    ///
    /// ```
    /// use socketwire::engineio::Jsonp;
    /// assert_eq!(Jsonp::decode_body(b"d=4hello").unwrap(), "4hello");
    /// assert_eq!(Jsonp::decode_body(b"d=4a%20b\\n").unwrap(), "4a b\n");
    /// ```
    pub fn decode_body(body: &[u8]) -> Result<Cow<'_, str>, Error> {
        let text = core::str::from_utf8(body).map_err(|_| Error::InvalidUtf8)?;
        let value = text
            .split('&')
            .find_map(|pair| pair.strip_prefix("d="))
            .ok_or(Error::InvalidJsonpBody)?;
        let decoded = percent_decode(value)?;
        if !decoded.contains("\\n") {
            return Ok(decoded);
        }
        // Reference server: `(\\)?\\n` → newline unless the backslash was escaped,
        // then `\\\\n` → `\\n`.
        let mut out = String::with_capacity(decoded.len());
        let mut rest: &str = &decoded;
        while let Some(at) = rest.find("\\n") {
            if rest[..at].ends_with('\\') {
                out.push_str(&rest[..at - 1]);
                out.push_str("\\n");
            } else {
                out.push_str(&rest[..at]);
                out.push('\n');
            }
            rest = &rest[at + 2..];
        }
        out.push_str(rest);
        Ok(Cow::Owned(out))
    }
}

fn percent_decode(value: &str) -> Result<Cow<'_, str>, Error> {
    if !value.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(value));
    }
    let bytes = value.as_bytes();
    let mut out = alloc::vec::Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).and_then(|&b| hex(b)),
                    bytes.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                        i += 2;
                    }
                    // querystring keeps malformed escapes verbatim.
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| Error::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn v3(body: &'static str) -> Vec<Result<Packet<'static>, Error>> {
        PayloadDecoder::from_text(body, EngineIoVersion::V3, PayloadLimits::default()).collect()
    }

    #[test]
    fn v3_text_errors() {
        assert_eq!(v3("abc"), [Err(Error::InvalidLength)]);
        assert_eq!(v3(":4"), [Err(Error::InvalidLength)]);
        assert_eq!(
            v3("6:4hello1"),
            [Ok(Packet::Message("hello")), Err(Error::TruncatedRecord)]
        );
        assert_eq!(v3("1:😀"), [Err(Error::SplitSurrogate)]);
        assert_eq!(v3("06:4hello"), [Ok(Packet::Message("hello"))]);
        let long = alloc::format!("{}:4", "9".repeat(310));
        let got: Vec<_> =
            PayloadDecoder::from_text(&long, EngineIoVersion::V3, PayloadLimits::default())
                .collect();
        assert_eq!(got, [Err(Error::LengthTooLong)]);
        assert_eq!(v3("99999999999999999999:4"), [Err(Error::LengthTooLong)]);
    }

    #[test]
    fn v3_binary_errors() {
        let decode = |b: &'static [u8]| {
            let body = Bytes::from_static(b);
            PayloadDecoder::new(&body, PayloadFormat::V3Binary, PayloadLimits::default())
                .map(|r| r.map(|p| OwnedCheck::from(&p)))
                .collect::<Vec<_>>()
        };
        assert_eq!(decode(&[2]), [Err(Error::InvalidRecordMarker(2))]);
        assert_eq!(decode(&[0, 1]), [Err(Error::TruncatedRecord)]);
        assert_eq!(decode(&[0, 0xA, 0xFF]), [Err(Error::InvalidLength)]);
        assert_eq!(decode(&[0, 0xFF]), [Err(Error::InvalidLength)]);
        assert_eq!(decode(&[0, 5, 0xFF, b'4']), [Err(Error::TruncatedRecord)]);
        let mut long = Vec::from([0u8]);
        long.extend(core::iter::repeat_n(9u8, 310));
        long.push(0xFF);
        let body = Bytes::from(long);
        let got: Vec<_> =
            PayloadDecoder::new(&body, PayloadFormat::V3Binary, PayloadLimits::default()).collect();
        assert_eq!(got, [Err(Error::LengthTooLong)]);
    }

    #[derive(Debug, PartialEq)]
    struct OwnedCheck(String);
    impl From<&Packet<'_>> for OwnedCheck {
        fn from(p: &Packet<'_>) -> Self {
            OwnedCheck(alloc::format!("{p:?}"))
        }
    }

    #[test]
    fn limits() {
        let limits = PayloadLimits {
            max_payload: 5,
            max_packets: 2,
        };
        let got: Vec<_> =
            PayloadDecoder::from_text("4hello", EngineIoVersion::V4, limits).collect();
        assert_eq!(got, [Err(Error::PayloadTooLarge { len: 6, max: 5 })]);
        let got: Vec<_> =
            PayloadDecoder::from_text("2\x1e2\x1e2", EngineIoVersion::V4, limits).collect();
        assert_eq!(
            got,
            [
                Ok(Packet::Ping("")),
                Ok(Packet::Ping("")),
                Err(Error::TooManyPackets { max: 2 })
            ]
        );
    }

    #[test]
    fn jsonp() {
        assert_eq!(
            Jsonp::decode_body(b"x=1").unwrap_err(),
            Error::InvalidJsonpBody
        );
        assert_eq!(Jsonp::decode_body(b"d=a\\\\nb").unwrap(), "a\\nb");
        assert_eq!(Jsonp::decode_body(b"d=%E2%82%AC+%zz").unwrap(), "€ %zz");
        let mut out = BytesMut::new();
        Jsonp::new("a1b2").encode(
            &[Packet::Message("\u{2028}\u{1}")],
            EngineIoVersion::V4,
            &mut out,
        );
        assert_eq!(&out[..], br#"___eio[12]("4\u2028\u0001");"#);
    }
}
