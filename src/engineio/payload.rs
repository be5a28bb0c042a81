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
//! decoder (packets before the error are delivered). The `encode_*` functions
//! append to the caller's [`BytesMut`].

use alloc::borrow::Cow;
use alloc::string::String;
use bytes::{BufMut, Bytes, BytesMut};

use super::Error;
use super::packet::{Packet, ProtocolVersion};

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
/// use socketwire::engineio::{PayloadFormat, ProtocolVersion};
/// assert_eq!(PayloadFormat::text(ProtocolVersion::V4), PayloadFormat::V4);
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
    /// use socketwire::engineio::{PayloadFormat, ProtocolVersion};
    /// assert_eq!(PayloadFormat::text(ProtocolVersion::V3), PayloadFormat::V3Text);
    /// ```
    pub fn text(version: ProtocolVersion) -> PayloadFormat {
        match version {
            ProtocolVersion::V3 => PayloadFormat::V3Text,
            ProtocolVersion::V4 => PayloadFormat::V4,
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
        let mut decoder = PayloadDecoder {
            cursor: Cursor::Done,
            pending_error: None,
            limits,
            count: 0,
        };
        if body.len() > limits.max_payload {
            decoder.pending_error = Some(Error::PayloadTooLarge {
                len: body.len() as u64,
                max: limits.max_payload as u64,
            });
            return decoder;
        }
        if body.is_empty() {
            decoder.pending_error = Some(Error::EmptyPayload);
            return decoder;
        }
        decoder.cursor = match format {
            PayloadFormat::V3Binary => Cursor::V3Binary(body, 0),
            text_format => match simdutf8::basic::from_utf8(body) {
                Err(_) => {
                    decoder.pending_error = Some(Error::InvalidUtf8);
                    Cursor::Done
                }
                Ok(text) if text_format == PayloadFormat::V4 => Cursor::V4(Some(text)),
                Ok(text) => Cursor::V3Text(text),
            },
        };
        decoder
    }

    /// Decodes a text body (v4 or v3 text) that is already a `&str`; no binary
    /// framing, so nothing is sliced from a [`Bytes`].
    ///
    /// ```
    /// use socketwire::engineio::{Packet, PayloadDecoder, PayloadLimits, ProtocolVersion};
    /// let mut d = PayloadDecoder::from_text("3:4😀", ProtocolVersion::V3, PayloadLimits::default());
    /// assert_eq!(d.next(), Some(Ok(Packet::Message("😀"))));
    /// assert_eq!(d.next(), None);
    /// ```
    pub fn from_text(body: &'a str, version: ProtocolVersion, limits: PayloadLimits) -> Self {
        let mut decoder = PayloadDecoder {
            cursor: Cursor::Done,
            pending_error: None,
            limits,
            count: 0,
        };
        if body.len() > limits.max_payload {
            decoder.pending_error = Some(Error::PayloadTooLarge {
                len: body.len() as u64,
                max: limits.max_payload as u64,
            });
        } else if body.is_empty() {
            decoder.pending_error = Some(Error::EmptyPayload);
        } else {
            decoder.cursor = match version {
                ProtocolVersion::V4 => Cursor::V4(Some(body)),
                ProtocolVersion::V3 => Cursor::V3Text(body),
            };
        }
        decoder
    }

    fn fail(&mut self, error: Error) -> Option<Result<Packet<'a>, Error>> {
        self.cursor = Cursor::Done;
        Some(Err(error))
    }

    fn next_v4(&mut self, rest: Option<&'a str>) -> Option<Result<Packet<'a>, Error>> {
        let rest = rest?;
        let (record, remaining) = match rest.as_bytes().iter().position(|&b| b == RECORD_SEPARATOR)
        {
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
        Some(Packet::decode_text(record, ProtocolVersion::V4))
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
            return Some(Packet::decode_text(record, ProtocolVersion::V3));
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
                Ok(text) => Some(Packet::decode_text(text, ProtocolVersion::V3)),
                Err(_) => self.fail(Error::InvalidUtf8),
            }
        } else {
            Some(Packet::decode_binary(
                &body.slice(start..end),
                ProtocolVersion::V3,
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

/// Appends a v4 payload: packets joined by 0x1E, binary as `b<base64>`.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::engineio::{encode_payload_v4, Packet};
/// let mut out = BytesMut::new();
/// encode_payload_v4(&[Packet::Message("hello"), Packet::Ping("")], &mut out);
/// assert_eq!(&out[..], b"4hello\x1e2");
/// ```
pub fn encode_payload_v4(packets: &[Packet<'_>], out: &mut BytesMut) {
    let total: usize = packets
        .iter()
        .map(|p| p.encoded_text_len(ProtocolVersion::V4) + 1)
        .sum();
    out.reserve(total);
    for (index, packet) in packets.iter().enumerate() {
        if index > 0 {
            out.put_u8(RECORD_SEPARATOR);
        }
        packet.encode_text(ProtocolVersion::V4, out);
    }
}

/// Appends a v3 text payload: `<len>:<packet>` per packet with lengths in
/// UTF-16 code units; binary as `b4<base64>`; no packets encode as `0:`.
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::engineio::{encode_payload_v3_text, Packet};
/// let mut out = BytesMut::new();
/// encode_payload_v3_text(&[Packet::Message("hello"), Packet::Message("€")], &mut out);
/// assert_eq!(&out[..], "6:4hello2:4€".as_bytes());
/// ```
pub fn encode_payload_v3_text(packets: &[Packet<'_>], out: &mut BytesMut) {
    if packets.is_empty() {
        out.put_slice(b"0:");
        return;
    }
    for packet in packets {
        let units = packet.encoded_utf16_len(ProtocolVersion::V3);
        write_decimal(units as u64, out, |d| b'0' + d);
        out.put_u8(b':');
        packet.encode_text(ProtocolVersion::V3, out);
    }
}

/// Appends a v3 binary (XHR2) payload: marker `0x00` (text) or `0x01`
/// (binary), the byte length as one byte per digit (values 0–9), `0xFF`, then
/// the packet (text: `<digit><data>`; binary: `0x04` + bytes).
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use socketwire::engineio::{encode_payload_v3_binary, Packet};
/// let mut out = BytesMut::new();
/// let packets = [Packet::Message("hello"), Packet::Binary(Bytes::from_static(&[1, 2, 3, 4]))];
/// encode_payload_v3_binary(&packets, &mut out);
/// assert_eq!(&out[..], &[0, 6, 0xFF, b'4', b'h', b'e', b'l', b'l', b'o', 1, 5, 0xFF, 4, 1, 2, 3, 4]);
/// ```
pub fn encode_payload_v3_binary(packets: &[Packet<'_>], out: &mut BytesMut) {
    for packet in packets {
        let (marker, len) = match packet {
            Packet::Binary(data) => (1u8, data.len() + 1),
            other => (0u8, 1 + other.text().len()),
        };
        out.put_u8(marker);
        write_decimal(len as u64, out, |d| d);
        out.put_u8(0xFF);
        packet.encode_websocket(ProtocolVersion::V3, true, out);
    }
}

/// Appends a payload in `format` (a v3 binary payload as written by
/// [`encode_payload_v3_binary`]).
///
/// ```
/// use bytes::BytesMut;
/// use socketwire::engineio::{encode_payload, Packet, PayloadFormat};
/// let mut out = BytesMut::new();
/// encode_payload(&[Packet::Message("😀")], PayloadFormat::V3Text, &mut out);
/// assert_eq!(&out[..], "3:4😀".as_bytes());
/// ```
pub fn encode_payload(packets: &[Packet<'_>], format: PayloadFormat, out: &mut BytesMut) {
    match format {
        PayloadFormat::V4 => encode_payload_v4(packets, out),
        PayloadFormat::V3Text => encode_payload_v3_text(packets, out),
        PayloadFormat::V3Binary => encode_payload_v3_binary(packets, out),
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
///
/// ```
/// use bytes::BytesMut;
/// let mut out = BytesMut::new();
/// socketwire::engineio::write_json_string("a\"b\n\u{1e}", &mut out);
/// assert_eq!(&out[..], br#""a\"b\n\u001e""#);
/// ```
pub fn write_json_string(text: &str, out: &mut BytesMut) {
    out.reserve(text.len() + 2);
    out.put_u8(b'"');
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

/// Appends a JSONP response: `___eio[<index digits>]("<payload as JSON string>");`.
/// Non-digits in `index` are dropped, as the reference server does.
///
/// ```
/// use bytes::BytesMut;
/// let mut out = BytesMut::new();
/// socketwire::engineio::encode_jsonp_response("0", r#"4"hi""#, &mut out);
/// assert_eq!(&out[..], br#"___eio[0]("4\"hi\"");"#);
/// ```
pub fn encode_jsonp_response(index: &str, payload: &str, out: &mut BytesMut) {
    out.put_slice(b"___eio[");
    for b in index.bytes().filter(u8::is_ascii_digit) {
        out.put_u8(b);
    }
    out.put_slice(b"](");
    write_json_string(payload, out);
    out.put_slice(b");");
}

/// The JSONP response content type.
pub const JSONP_CONTENT_TYPE: &str = "text/javascript; charset=UTF-8";

/// Decodes a JSONP POST body (`application/x-www-form-urlencoded`, field `d`):
/// percent-decoding and `+`, then the client's newline escaping (`\n` → newline,
/// `\\n` → `\n`). Borrows when nothing needs decoding.
///
/// ```
/// use socketwire::engineio::decode_jsonp_body;
/// assert_eq!(decode_jsonp_body(b"d=4hello").unwrap(), "4hello");
/// assert_eq!(decode_jsonp_body(b"d=4a%20b\\n").unwrap(), "4a b\n");
/// ```
pub fn decode_jsonp_body(body: &[u8]) -> Result<Cow<'_, str>, Error> {
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
        PayloadDecoder::from_text(body, ProtocolVersion::V3, PayloadLimits::default()).collect()
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
            PayloadDecoder::from_text(&long, ProtocolVersion::V3, PayloadLimits::default())
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
            PayloadDecoder::from_text("4hello", ProtocolVersion::V4, limits).collect();
        assert_eq!(got, [Err(Error::PayloadTooLarge { len: 6, max: 5 })]);
        let got: Vec<_> =
            PayloadDecoder::from_text("2\x1e2\x1e2", ProtocolVersion::V4, limits).collect();
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
            decode_jsonp_body(b"x=1").unwrap_err(),
            Error::InvalidJsonpBody
        );
        assert_eq!(decode_jsonp_body(b"d=a\\\\nb").unwrap(), "a\\nb");
        assert_eq!(decode_jsonp_body(b"d=%E2%82%AC+%zz").unwrap(), "€ %zz");
        let mut out = BytesMut::new();
        encode_jsonp_response("a1b2", "\u{2028}\u{1}", &mut out);
        assert_eq!(&out[..], br#"___eio[12]("\u2028\u0001");"#);
    }
}
