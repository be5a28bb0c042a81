//! Single Engine.IO packets, v3 and v4: the text form, the base64 `b` form and
//! the WebSocket binary form.
//!
//! | | v3 | v4 |
//! |---|---|---|
//! | text | `<type digit><data>` | same |
//! | binary over WebSocket | type byte (`0x04`) + bytes | raw bytes (always a message) |
//! | binary as text | `b<type digit><base64>` | `b<base64>` |

use alloc::string::String;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::{BufMut, Bytes, BytesMut};

use super::Error;
use crate::Utf8Bytes;

/// Standard alphabet; padding optional on decode, always written on encode.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The Engine.IO protocol revision, from the `EIO` query parameter.
///
/// ```
/// use socketwire::engineio::EngineIoVersion;
/// assert_eq!(EngineIoVersion::V4.query_value(), "4");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineIoVersion {
    /// Engine.IO 3 (socket.io 1.x/2.x, `EIO=3`).
    V3,
    /// Engine.IO 4 (socket.io 3.x/4.x, `EIO=4`).
    V4,
}

impl EngineIoVersion {
    /// The `EIO` query value for this version.
    ///
    /// ```
    /// use socketwire::engineio::EngineIoVersion;
    /// assert_eq!(EngineIoVersion::V3.query_value(), "3");
    /// ```
    pub fn query_value(self) -> &'static str {
        match self {
            EngineIoVersion::V3 => "3",
            EngineIoVersion::V4 => "4",
        }
    }
}

/// The seven packet types; the ids are the same in v3 and v4.
///
/// ```
/// use socketwire::engineio::PacketType;
/// assert_eq!(PacketType::from_id(4), Some(PacketType::Message));
/// assert_eq!(PacketType::Noop.id(), 6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0: the handshake (server to client).
    Open,
    /// 1: close the session (or, on polling, the transport).
    Close,
    /// 2: ping (v4 server→client heartbeat, v3 client→server, and the `probe`).
    Ping,
    /// 3: pong.
    Pong,
    /// 4: an application message.
    Message,
    /// 5: switch to the probed transport.
    Upgrade,
    /// 6: no operation (ends a long poll).
    Noop,
}

impl PacketType {
    /// The type for an id 0–6.
    ///
    /// ```
    /// use socketwire::engineio::PacketType;
    /// assert_eq!(PacketType::from_id(7), None);
    /// ```
    pub fn from_id(id: u8) -> Option<PacketType> {
        Some(match id {
            0 => PacketType::Open,
            1 => PacketType::Close,
            2 => PacketType::Ping,
            3 => PacketType::Pong,
            4 => PacketType::Message,
            5 => PacketType::Upgrade,
            6 => PacketType::Noop,
            _ => return None,
        })
    }

    /// The numeric id 0–6.
    ///
    /// ```
    /// use socketwire::engineio::PacketType;
    /// assert_eq!(PacketType::Ping.id(), 2);
    /// ```
    pub const fn id(self) -> u8 {
        match self {
            PacketType::Open => 0,
            PacketType::Close => 1,
            PacketType::Ping => 2,
            PacketType::Pong => 3,
            PacketType::Message => 4,
            PacketType::Upgrade => 5,
            PacketType::Noop => 6,
        }
    }

    /// The ASCII digit used in the text form.
    ///
    /// ```
    /// use socketwire::engineio::PacketType;
    /// assert_eq!(PacketType::Message.digit(), b'4');
    /// ```
    pub fn digit(self) -> u8 {
        b'0' + self.id()
    }
}

/// Whether an encoded packet goes in a WebSocket text or binary message.
///
/// ```
/// use socketwire::engineio::{MessageKind, Packet, EngineIoVersion};
/// let mut out = bytes::BytesMut::new();
/// let kind = Packet::Message("hi").encode_websocket(EngineIoVersion::V4, true, &mut out);
/// assert_eq!(kind, MessageKind::Text);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// A text message (UTF-8).
    Text,
    /// A binary message.
    Binary,
}

/// One Engine.IO packet. Text data borrows from the input; binary data is a
/// [`Bytes`] (a slice of the input when it arrived raw, a fresh buffer when it
/// arrived as base64).
///
/// Data after the type digit of `close`, `upgrade` and `noop` is ignored on
/// decode, as the reference parsers do nothing with it.
///
/// ```
/// use socketwire::engineio::{Packet, EngineIoVersion};
/// let p = Packet::decode_text("4hello", EngineIoVersion::V4).unwrap();
/// assert_eq!(p, Packet::Message("hello"));
/// let mut out = bytes::BytesMut::new();
/// p.encode_text(EngineIoVersion::V4, &mut out);
/// assert_eq!(&out[..], b"4hello");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0` + handshake JSON.
    Open(&'a str),
    /// `1`.
    Close,
    /// `2` + optional data (`probe`).
    Ping(&'a str),
    /// `3` + optional data (`probe`).
    Pong(&'a str),
    /// `4` + text.
    Message(&'a str),
    /// A binary message (always type `message`).
    Binary(Bytes),
    /// `5`.
    Upgrade,
    /// `6`.
    Noop,
}

impl<'a> Packet<'a> {
    /// The packet's type.
    ///
    /// ```
    /// use socketwire::engineio::{Packet, PacketType};
    /// assert_eq!(Packet::Binary(bytes::Bytes::new()).packet_type(), PacketType::Message);
    /// ```
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Open(_) => PacketType::Open,
            Packet::Close => PacketType::Close,
            Packet::Ping(_) => PacketType::Ping,
            Packet::Pong(_) => PacketType::Pong,
            Packet::Message(_) | Packet::Binary(_) => PacketType::Message,
            Packet::Upgrade => PacketType::Upgrade,
            Packet::Noop => PacketType::Noop,
        }
    }

    /// The text data (empty for packets without data and for binary packets).
    ///
    /// ```
    /// use socketwire::engineio::Packet;
    /// assert_eq!(Packet::Ping("probe").text(), "probe");
    /// ```
    pub fn text(&self) -> &'a str {
        match self {
            Packet::Open(s) | Packet::Ping(s) | Packet::Pong(s) | Packet::Message(s) => s,
            _ => "",
        }
    }

    /// Decodes the text form: `<digit><data>`, or `b…` base64 binary.
    ///
    /// ```
    /// use socketwire::engineio::{Error, Packet, EngineIoVersion};
    /// let v3 = Packet::decode_text("b4AQIDBA==", EngineIoVersion::V3).unwrap();
    /// assert_eq!(v3, Packet::Binary(bytes::Bytes::from_static(&[1, 2, 3, 4])));
    /// assert_eq!(Packet::decode_text("7", EngineIoVersion::V4), Err(Error::InvalidPacketType(b'7')));
    /// ```
    pub fn decode_text(text: &'a str, version: EngineIoVersion) -> Result<Packet<'a>, Error> {
        let bytes = text.as_bytes();
        let Some(&first) = bytes.first() else {
            return Err(Error::EmptyPacket);
        };
        // The data after the type digit; the first byte is ASCII so index 1 is a boundary.
        let rest = text.get(1..).unwrap_or("");
        match first {
            b'b' => {
                let encoded = match version {
                    EngineIoVersion::V4 => rest,
                    EngineIoVersion::V3 => {
                        // v3 (EP2): "b" + packet type + base64.
                        let Some(&digit) = rest.as_bytes().first() else {
                            return Err(Error::EmptyPacket);
                        };
                        check_binary_type(digit.wrapping_sub(b'0'), digit)?;
                        rest.get(1..).unwrap_or("")
                    }
                };
                decode_base64(encoded.as_bytes()).map(Packet::Binary)
            }
            b'0' => Ok(Packet::Open(rest)),
            b'1' => Ok(Packet::Close),
            b'2' => Ok(Packet::Ping(rest)),
            b'3' => Ok(Packet::Pong(rest)),
            b'4' => Ok(Packet::Message(rest)),
            b'5' => Ok(Packet::Upgrade),
            b'6' => Ok(Packet::Noop),
            other => Err(Error::InvalidPacketType(other)),
        }
    }

    /// Decodes a WebSocket binary message: v4 raw bytes are a message; v3 starts
    /// with the packet type as a raw byte (only `0x04`, message, is accepted).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::engineio::{Packet, EngineIoVersion};
    /// let frame = Bytes::from_static(&[4, 1, 2, 3, 4]);
    /// let p = Packet::decode_binary(&frame, EngineIoVersion::V3).unwrap();
    /// assert_eq!(p, Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])));
    /// ```
    pub fn decode_binary(
        frame: &Bytes,
        version: EngineIoVersion,
    ) -> Result<Packet<'static>, Error> {
        match version {
            EngineIoVersion::V4 => Ok(Packet::Binary(frame.clone())),
            EngineIoVersion::V3 => {
                let Some(&type_byte) = frame.first() else {
                    return Err(Error::EmptyPacket);
                };
                check_binary_type(type_byte, type_byte)?;
                Ok(Packet::Binary(frame.slice(1..)))
            }
        }
    }

    /// Whether the packet carries binary data.
    ///
    /// ```
    /// use socketwire::engineio::Packet;
    /// assert!(!Packet::Message("x").is_binary());
    /// ```
    pub fn is_binary(&self) -> bool {
        matches!(self, Packet::Binary(_))
    }

    /// The length of [`Packet::encode_text`]'s output, in bytes.
    ///
    /// ```
    /// use socketwire::engineio::{Packet, EngineIoVersion};
    /// assert_eq!(Packet::Message("€").encoded_text_len(EngineIoVersion::V4), 4);
    /// ```
    pub fn encoded_text_len(&self, version: EngineIoVersion) -> usize {
        match self {
            Packet::Binary(data) => {
                let prefix = match version {
                    EngineIoVersion::V3 => 2,
                    EngineIoVersion::V4 => 1,
                };
                prefix + base64_len(data.len())
            }
            other => 1 + other.text().len(),
        }
    }

    /// The length of [`Packet::encode_text`]'s output in UTF-16 code units, the
    /// unit of v3 text payload lengths.
    ///
    /// ```
    /// use socketwire::engineio::{Packet, EngineIoVersion};
    /// assert_eq!(Packet::Message("😀").encoded_utf16_len(EngineIoVersion::V3), 3);
    /// ```
    pub fn encoded_utf16_len(&self, version: EngineIoVersion) -> usize {
        match self {
            // base64 is ASCII: one unit per byte.
            Packet::Binary(_) => self.encoded_text_len(version),
            other => 1 + utf16_len(other.text()),
        }
    }

    /// Writes the text form: `<digit><data>`, binary as `b<base64>` (v4) or
    /// `b4<base64>` (v3).
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use socketwire::engineio::{Packet, EngineIoVersion};
    /// let mut out = BytesMut::new();
    /// Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])).encode_text(EngineIoVersion::V4, &mut out);
    /// assert_eq!(&out[..], b"bAQIDBA==");
    /// ```
    pub fn encode_text(&self, version: EngineIoVersion, out: &mut BytesMut) {
        match self {
            Packet::Binary(data) => {
                out.put_u8(b'b');
                if version == EngineIoVersion::V3 {
                    out.put_u8(PacketType::Message.digit());
                }
                encode_base64(data, out);
            }
            other => {
                out.reserve(1 + other.text().len());
                out.put_u8(other.packet_type().digit());
                out.put_slice(other.text().as_bytes());
            }
        }
    }

    /// Writes the packet as one WebSocket message and says which kind. Binary
    /// packets go raw (v4) or after a `0x04` type byte (v3) when the client
    /// supports binary (no `b64=1`), else as base64 text.
    ///
    /// ```
    /// use bytes::{Bytes, BytesMut};
    /// use socketwire::engineio::{MessageKind, Packet, EngineIoVersion};
    /// let mut out = BytesMut::new();
    /// let p = Packet::Binary(Bytes::from_static(&[1, 2, 3]));
    /// assert_eq!(p.encode_websocket(EngineIoVersion::V3, true, &mut out), MessageKind::Binary);
    /// assert_eq!(&out[..], &[4, 1, 2, 3]);
    /// ```
    pub fn encode_websocket(
        &self,
        version: EngineIoVersion,
        supports_binary: bool,
        out: &mut BytesMut,
    ) -> MessageKind {
        if let Packet::Binary(data) = self
            && let Some(prefix) = websocket_binary_prefix(version, supports_binary)
        {
            out.reserve(prefix.len() + data.len());
            out.put_slice(prefix);
            out.put_slice(data);
            return MessageKind::Binary;
        }
        self.encode_text(version, out);
        MessageKind::Text
    }
}

/// How a binary message goes on WebSocket: as a binary frame when the client
/// supports binary (no `b64=1`), its data after the `0x04` type byte in v3 and
/// as it is in v4 (the bytes returned go first); `None`: as base64 text.
/// https://github.com/socketio/engine.io-protocol#packet-encoding
pub(crate) fn websocket_binary_prefix(
    version: EngineIoVersion,
    supports_binary: bool,
) -> Option<&'static [u8]> {
    match version {
        _ if !supports_binary => None,
        EngineIoVersion::V3 => Some(&const { [PacketType::Message.id()] }),
        EngineIoVersion::V4 => Some(&[]),
    }
}

/// Binary packets must be messages; other valid types are refused, unknown ones reported.
fn check_binary_type(type_id: u8, seen: u8) -> Result<(), Error> {
    match PacketType::from_id(type_id) {
        Some(PacketType::Message) => Ok(()),
        Some(other) => Err(Error::BinaryNotMessage(other.id())),
        None => Err(Error::InvalidPacketType(seen)),
    }
}

/// Bytes of padded base64 for `n` input bytes.
pub(crate) fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Appends the padded base64 of `data` to `out`.
pub(crate) fn encode_base64(data: &[u8], out: &mut BytesMut) {
    let start = out.len();
    let len = base64_len(data.len());
    out.resize(start + len, 0);
    // The slice has exactly the encoded length, so this cannot fail.
    let _ = BASE64.encode_slice(data, &mut out[start..]);
}

/// Decodes base64 into a fresh buffer (its size is bounded by the input's).
pub(crate) fn decode_base64(encoded: &[u8]) -> Result<Bytes, Error> {
    BASE64
        .decode(encoded)
        .map(Bytes::from)
        .map_err(|_| Error::InvalidBase64)
}

/// The number of UTF-16 code units in `text` (JavaScript's `String.length`).
///
/// ```
/// assert_eq!(socketwire::engineio::utf16_len("4😀"), 3);
/// assert_eq!(socketwire::engineio::utf16_len("4€"), 2);
/// ```
pub fn utf16_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    if bytes.is_ascii() {
        return bytes.len();
    }
    // One unit per scalar, two for 4-byte sequences: count lead bytes, add one per 4-byte lead.
    bytes
        .iter()
        .map(|&b| usize::from((b & 0xC0) != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

/// An owned packet for buffers that outlive their input (session queues).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnedPacket {
    /// A packet type with owned text data.
    Text(PacketType, String),
    /// A binary message.
    Binary(Bytes),
    /// A text message encoded once for many sessions ([`FramedMessage`]).
    Framed(FramedMessage),
}

/// A text message encoded once as the Engine.IO packet `4<text>`, for many
/// sessions: [`ServerSession::send_framed`](super::ServerSession::send_framed)
/// queues a reference to the same bytes, and on WebSocket they become the
/// frame's payload as they are ([`WebSocketOutput::SharedText`](super::WebSocketOutput::SharedText)),
/// so a broadcast to a room costs one encoding, not one per member. The
/// message packet is the same in Engine.IO v3 and v4.
///
/// ```
/// use socketwire::engineio::FramedMessage;
/// let m = FramedMessage::new(r#"2["news","hi"]"#);
/// assert_eq!(&m.as_bytes()[..], br#"42["news","hi"]"#);
/// assert_eq!(m.text(), r#"2["news","hi"]"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramedMessage(Utf8Bytes);

impl FramedMessage {
    /// Encodes `text` as a message packet.
    ///
    /// ```
    /// assert_eq!(socketwire::engineio::FramedMessage::new("").as_bytes().len(), 1);
    /// ```
    pub fn new(text: &str) -> FramedMessage {
        let mut out = BytesMut::with_capacity(1 + text.len());
        out.put_u8(PacketType::Message.digit());
        out.put_slice(text.as_bytes());
        // Built from `4` and a `&str` only.
        FramedMessage(Utf8Bytes::from_validated(out.freeze()))
    }

    /// The packet's bytes: `4` and the text (valid UTF-8).
    ///
    /// ```
    /// assert_eq!(&socketwire::engineio::FramedMessage::new("a").as_bytes()[..], b"4a");
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_shared()
    }

    /// The packet's bytes as text (`4` and the text).
    ///
    /// ```
    /// assert_eq!(socketwire::engineio::FramedMessage::new("a").as_utf8_bytes(), "4a");
    /// ```
    pub fn as_utf8_bytes(&self) -> &Utf8Bytes {
        &self.0
    }

    /// The packet's bytes as text, taken out.
    ///
    /// ```
    /// let m = socketwire::engineio::FramedMessage::new("a");
    /// assert_eq!(&m.clone().into_utf8_bytes(), m.as_utf8_bytes());
    /// ```
    pub fn into_utf8_bytes(self) -> Utf8Bytes {
        self.0
    }

    /// The message's text, without the packet type.
    ///
    /// ```
    /// assert_eq!(socketwire::engineio::FramedMessage::new("a").text(), "a");
    /// ```
    pub fn text(&self) -> &str {
        // After the one-byte packet type.
        self.0.as_str().get(1..).unwrap_or_default()
    }
}

impl OwnedPacket {
    pub(crate) fn borrowed(&self) -> Packet<'_> {
        match self {
            OwnedPacket::Binary(b) => Packet::Binary(b.clone()),
            OwnedPacket::Framed(m) => Packet::Message(m.text()),
            OwnedPacket::Text(t, s) => match t {
                PacketType::Open => Packet::Open(s),
                PacketType::Close => Packet::Close,
                PacketType::Ping => Packet::Ping(s),
                PacketType::Pong => Packet::Pong(s),
                PacketType::Message => Packet::Message(s),
                PacketType::Upgrade => Packet::Upgrade,
                PacketType::Noop => Packet::Noop,
            },
        }
    }

    pub(crate) fn simple(packet_type: PacketType) -> OwnedPacket {
        OwnedPacket::Text(packet_type, String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EngineIoVersion::{V3, V4};

    #[test]
    fn text_table() {
        let cases: &[(&str, EngineIoVersion, Result<Packet<'_>, Error>)] = &[
            ("0{}", V4, Ok(Packet::Open("{}"))),
            ("1", V4, Ok(Packet::Close)),
            ("2probe", V3, Ok(Packet::Ping("probe"))),
            ("3", V4, Ok(Packet::Pong(""))),
            ("4", V4, Ok(Packet::Message(""))),
            ("5", V4, Ok(Packet::Upgrade)),
            ("6", V3, Ok(Packet::Noop)),
            ("", V4, Err(Error::EmptyPacket)),
            ("7", V4, Err(Error::InvalidPacketType(b'7'))),
            ("a123", V4, Err(Error::InvalidPacketType(b'a'))),
            ("b", V4, Ok(Packet::Binary(Bytes::new()))),
            ("b", V3, Err(Error::EmptyPacket)),
            ("b2AQ==", V3, Err(Error::BinaryNotMessage(2))),
            ("b9AQ==", V3, Err(Error::InvalidPacketType(b'9'))),
            ("b!!!", V4, Err(Error::InvalidBase64)),
            (
                "bAQID",
                V4,
                Ok(Packet::Binary(Bytes::from_static(&[1, 2, 3]))),
            ),
        ];
        for (input, version, expected) in cases {
            assert_eq!(&Packet::decode_text(input, *version), expected, "{input:?}");
        }
    }

    #[test]
    fn binary_frames() {
        let empty = Bytes::new();
        assert_eq!(Packet::decode_binary(&empty, V3), Err(Error::EmptyPacket));
        assert_eq!(
            Packet::decode_binary(&empty, V4),
            Ok(Packet::Binary(Bytes::new()))
        );
        let ping = Bytes::from_static(&[2, 1]);
        assert_eq!(
            Packet::decode_binary(&ping, V3),
            Err(Error::BinaryNotMessage(2))
        );
        let bad = Bytes::from_static(&[200]);
        assert_eq!(
            Packet::decode_binary(&bad, V3),
            Err(Error::InvalidPacketType(200))
        );
    }

    #[test]
    fn utf16_counts() {
        assert_eq!(utf16_len(""), 0);
        assert_eq!(utf16_len("é€😀"), 4);
    }
}
