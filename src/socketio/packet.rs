//! The Socket.IO string packet codec (the "default parser"), v4 and v5.
//!
//! ```text
//! packet      = type [ attachments "-" ] [ nsp "," ] [ ackid ] [ json ]
//! type        = "0" .. "6"
//! attachments = decimal, only for types 5 and 6
//! nsp         = "/" *( any char except "," )   ; omitted when the namespace is "/"
//! ackid       = 1*DIGIT
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::error::{Error, InvalidPayload};

/// The Socket.IO protocol revision (named apart from
/// `engineio::EngineIoVersion`: Socket.IO v4 runs over Engine.IO v3, v5 over
/// Engine.IO v4). Non-exhaustive: a later revision may be added.
///
/// ```
/// use socketwire::socketio::SocketIoVersion;
/// assert_eq!(SocketIoVersion::default(), SocketIoVersion::V5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SocketIoVersion {
    /// Socket.IO protocol 4 (socket.io 1.x/2.x, over Engine.IO v3).
    V4,
    /// Socket.IO protocol 5 (socket.io 3.x/4.x, over Engine.IO v4).
    #[default]
    V5,
}

/// The seven packet types (v5 names; v4 calls type 4 ERROR).
///
/// ```
/// use socketwire::socketio::PacketType;
/// assert_eq!(PacketType::from_digit(b'5'), Some(PacketType::BinaryEvent));
/// assert_eq!(PacketType::Ack.digit(), b'3');
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0: connect to a namespace (client: optional auth; server: `{"sid":…}`).
    Connect,
    /// 1: leave a namespace.
    Disconnect,
    /// 2: an event `[name, ...args]`.
    Event,
    /// 3: an acknowledgement `[...args]`.
    Ack,
    /// 4: CONNECT_ERROR (v5) / ERROR (v4).
    ConnectError,
    /// 5: an event with binary attachments.
    BinaryEvent,
    /// 6: an acknowledgement with binary attachments.
    BinaryAck,
}

impl PacketType {
    /// The type for an ASCII digit `0`–`6`.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::PacketType::from_digit(b'7'), None);
    /// ```
    pub fn from_digit(digit: u8) -> Option<PacketType> {
        Some(match digit {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// The ASCII digit of this type.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::PacketType::Connect.digit(), b'0');
    /// ```
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// `true` for BINARY_EVENT and BINARY_ACK.
    ///
    /// ```
    /// assert!(socketwire::socketio::PacketType::BinaryAck.is_binary());
    /// ```
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }

    /// EVENT for BINARY_EVENT, ACK for BINARY_ACK, itself otherwise (what the
    /// v5 decoder reports once the attachments are in).
    ///
    /// ```
    /// use socketwire::socketio::PacketType;
    /// assert_eq!(PacketType::BinaryEvent.without_binary(), PacketType::Event);
    /// ```
    pub fn without_binary(self) -> PacketType {
        match self {
            PacketType::BinaryEvent => PacketType::Event,
            PacketType::BinaryAck => PacketType::Ack,
            other => other,
        }
    }

    fn is_event(self) -> bool {
        matches!(self, PacketType::Event | PacketType::BinaryEvent)
    }

    fn is_ack(self) -> bool {
        matches!(self, PacketType::Ack | PacketType::BinaryAck)
    }
}

/// Limits and strictness of the decoder.
///
/// The default is strict (see the module docs, "Lenient inputs"): each
/// `lenient_*` flag restores one JS reading that a real peer may rely on.
/// [`DecoderConfig::js_compatible`] turns them all on.
///
/// ```
/// use socketwire::socketio::{DecoderConfig, SocketIoVersion};
/// let config = DecoderConfig { version: SocketIoVersion::V4, max_attachments: 32, ..Default::default() };
/// assert!(!config.lenient_missing_data);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Protocol revision (payload rules differ, §2.3).
    pub version: SocketIoVersion,
    /// Largest attachment count accepted in a binary header (JS default 10,
    /// CVE-2026-33151).
    pub max_attachments: usize,
    /// Largest total size of one packet's attachments, in bytes.
    pub max_attachment_bytes: usize,
    /// Accept EVENT/ACK/CONNECT_ERROR without data (Q1, Q2); the data is `None`.
    pub lenient_missing_data: bool,
    /// Accept an attachment count of 0 (`50-[…]`, socket.io-parser ≤ 4.2.6; X11).
    pub lenient_zero_attachments: bool,
    /// Accept ACK without an id (X19); the id is `None`.
    pub lenient_ack_without_id: bool,
    /// Accept an ack id on CONNECT, DISCONNECT and CONNECT_ERROR (Q6).
    pub lenient_id_on_any_type: bool,
    /// A placeholder with a fractional `num` in range becomes `null` (Q10).
    pub lenient_placeholder_num: bool,
    /// Nesting bound of the msgpack parser ([`Parser::Msgpack`](super::Parser::Msgpack)).
    #[cfg(feature = "msgpack")]
    pub msgpack: super::msgpack::MsgpackLimits,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            version: SocketIoVersion::V5,
            max_attachments: 10,
            max_attachment_bytes: 16 * 1024 * 1024,
            lenient_missing_data: false,
            lenient_zero_attachments: false,
            lenient_ack_without_id: false,
            lenient_id_on_any_type: false,
            lenient_placeholder_num: false,
            #[cfg(feature = "msgpack")]
            msgpack: super::msgpack::MsgpackLimits::default(),
        }
    }
}

impl DecoderConfig {
    /// Every `lenient_*` flag on: the readings of socket.io-parser 4.2.6 that are
    /// not pure coercion accidents.
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Packet};
    /// let config = DecoderConfig::js_compatible();
    /// assert_eq!(Packet::decode("3", &config).unwrap().id, None);
    /// ```
    pub fn js_compatible() -> Self {
        DecoderConfig {
            lenient_missing_data: true,
            lenient_zero_attachments: true,
            lenient_ack_without_id: true,
            lenient_id_on_any_type: true,
            lenient_placeholder_num: true,
            ..DecoderConfig::default()
        }
    }

    /// Strict defaults for `version`.
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, SocketIoVersion};
    /// assert_eq!(DecoderConfig::for_version(SocketIoVersion::V4).version, SocketIoVersion::V4);
    /// ```
    pub fn for_version(version: SocketIoVersion) -> Self {
        DecoderConfig {
            version,
            ..DecoderConfig::default()
        }
    }
}

/// Largest ack id: JS numbers are exact up to 2^53 − 1 (`Number.MAX_SAFE_INTEGER`).
/// The decoder refuses a larger id; the sessions allocate ids below it.
///
/// ```
/// use socketwire::socketio::{DecoderConfig, Error, MAX_ACK_ID, Packet};
/// let config = DecoderConfig::default();
/// let ok = format!("3{MAX_ACK_ID}[]");
/// assert_eq!(Packet::decode(&ok, &config).unwrap().id, Some(MAX_ACK_ID));
/// let too_big = format!("3{}[]", MAX_ACK_ID + 1);
/// assert_eq!(Packet::decode(&too_big, &config), Err(Error::InvalidAckId));
/// ```
pub const MAX_ACK_ID: u64 = (1 << 53) - 1;

/// One decoded Socket.IO string packet, borrowing from the input.
///
/// `data` is the raw JSON text (zero-copy); read it typed with
/// [`Packet::data_as`] or as a [`Value`](super::Value) with
/// [`Packet::data_value`]. A binary packet's data still holds its
/// placeholders; the [`Reassembler`](super::Reassembler) resolves them.
///
/// ```
/// use socketwire::socketio::{DecoderConfig, Packet, PacketType};
/// let p = Packet::decode(r#"2/admin,456["project:delete",123]"#, &DecoderConfig::default()).unwrap();
/// assert_eq!((p.kind, p.namespace, p.id), (PacketType::Event, "/admin", Some(456)));
/// assert_eq!(p.data, Some(r#"["project:delete",123]"#));
/// let mut out = String::new();
/// p.encode(&mut out);
/// assert_eq!(out, r#"2/admin,456["project:delete",123]"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The packet type, as on the wire (binary types stay 5/6 here).
    pub kind: PacketType,
    /// Announced binary attachments (0 for non-binary types).
    pub attachments: usize,
    /// The namespace, `/` when omitted.
    pub namespace: &'a str,
    /// The ack id.
    pub id: Option<u64>,
    /// The raw JSON data, if any.
    pub data: Option<&'a str>,
}

impl<'a> Packet<'a> {
    /// A packet with no attachments, id or data.
    ///
    /// ```
    /// use socketwire::socketio::{Packet, PacketType};
    /// let mut out = String::new();
    /// Packet::new(PacketType::Disconnect, "/admin").encode(&mut out);
    /// assert_eq!(out, "1/admin,");
    /// ```
    pub fn new(kind: PacketType, namespace: &'a str) -> Packet<'a> {
        Packet {
            kind,
            attachments: 0,
            namespace,
            id: None,
            data: None,
        }
    }

    /// Decodes and validates one text packet (header rules of §2.3 plus the
    /// JSON payload rules of `isPayloadValid`).
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Error, InvalidPayload, Packet};
    /// let config = DecoderConfig::default();
    /// assert!(Packet::decode(r#"2["foo"]"#, &config).is_ok());
    /// assert_eq!(Packet::decode(r#"2["connect"]"#, &config),
    ///            Err(Error::InvalidPayload(InvalidPayload::ReservedEventName)));
    /// ```
    pub fn decode(text: &'a str, config: &DecoderConfig) -> Result<Packet<'a>, Error> {
        let packet = Packet::decode_header(text, config)?;
        packet.validate_data(config)?;
        Ok(packet)
    }

    /// Decodes the header only: type, attachment count, namespace and ack id,
    /// every count bounded before use. The JSON data is not looked at.
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Error, Packet};
    /// let config = DecoderConfig::default();
    /// let p = Packet::decode_header(r#"51-["baz",{"_placeholder":true,"num":0}]"#, &config).unwrap();
    /// assert_eq!(p.attachments, 1);
    /// assert_eq!(Packet::decode_header("511-[\"a\"]", &config), Err(Error::TooManyAttachments { max: 10 }));
    /// ```
    pub fn decode_header(text: &'a str, config: &DecoderConfig) -> Result<Packet<'a>, Error> {
        let bytes = text.as_bytes();
        let first = *bytes.first().ok_or(Error::UnknownPacketType(None))?;
        // https://github.com/socketio/socket.io-protocol#packet-types
        // Seven types, 0 to 6; socket.io-parser decodeString: "unknown packet type" otherwise.
        let kind = PacketType::from_digit(first).ok_or(Error::UnknownPacketType(Some(first)))?;
        let mut i = 1;

        let mut attachments: usize = 0;
        if kind.is_binary() {
            // https://github.com/socketio/socket.io-protocol#packet-encoding
            // A binary packet starts with "<# of binary attachments>-"; a count above
            // maxAttachments is refused before anything is allocated for it.
            let start = i;
            while let Some(&b) = bytes.get(i) {
                if !b.is_ascii_digit() {
                    break;
                }
                let next = attachments
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(usize::from(b - b'0')));
                attachments = match next {
                    Some(n) if n <= config.max_attachments => n,
                    _ => {
                        return Err(Error::TooManyAttachments {
                            max: config.max_attachments,
                        });
                    }
                };
                i += 1;
            }
            if i == start || bytes.get(i) != Some(&b'-') {
                return Err(Error::IllegalAttachments);
            }
            // socket.io-parser 4.2.7: a binary packet with zero attachments is illegal.
            if attachments == 0 && !config.lenient_zero_attachments {
                return Err(Error::IllegalAttachments);
            }
            i += 1;
        }

        // https://github.com/socketio/socket.io-protocol#packet-encoding
        // "Format": `<packet type>[<# of binary attachments>-]
        // [<namespace>,][<acknowledgment id>][JSON-stringified payload without binary]`;
        // the namespace runs to the first `,` or, without one, to the end (§2.3 step 3).
        let mut namespace = "/";
        if bytes.get(i) == Some(&b'/') {
            let rest = &text[i..];
            match rest.find(',') {
                Some(comma) => {
                    namespace = &rest[..comma];
                    i += comma + 1;
                }
                None => {
                    namespace = rest;
                    i = bytes.len();
                }
            }
        }

        // https://github.com/socketio/socket.io-protocol#acknowledgement
        // The ack id is the digit run after the namespace; bounded here to JS's
        // exact integers (Q5) before it is used.
        let mut id = None;
        if bytes.get(i).is_some_and(u8::is_ascii_digit) {
            let mut value: u64 = 0;
            while let Some(&b) = bytes.get(i) {
                if !b.is_ascii_digit() {
                    break;
                }
                value = value * 10 + u64::from(b - b'0');
                if value > MAX_ACK_ID {
                    return Err(Error::InvalidAckId);
                }
                i += 1;
            }
            id = Some(value);
        }
        check_ack_id(kind, id, config)?;

        let data = if i < bytes.len() {
            Some(&text[i..])
        } else {
            None
        };
        Ok(Packet {
            kind,
            attachments,
            namespace,
            id,
            data,
        })
    }

    /// Checks the data against the payload rules of its type and version
    /// (JS `isPayloadValid`), without allocating for well-formed input.
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Packet, SocketIoVersion};
    /// let header = Packet::decode_header("0[]", &DecoderConfig::default()).unwrap();
    /// assert!(header.validate_data(&DecoderConfig::default()).is_err());
    /// assert!(header.validate_data(&DecoderConfig::for_version(SocketIoVersion::V4)).is_ok());
    /// ```
    pub fn validate_data(&self, config: &DecoderConfig) -> Result<(), Error> {
        let Some(data) = self.precheck_data(config)? else {
            return Ok(());
        };
        let shape: JsonShape = serde_json::from_str(data)
            .map_err(|_| Error::InvalidPayload(InvalidPayload::InvalidJson))?;
        check_shape(self.kind, shape, config)
    }

    /// Decodes, validates and builds the data as a [`Value`](super::Value) with a
    /// single JSON parse (what the sessions use).
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Packet};
    /// let (p, data) = Packet::decode_value(r#"2/chat,["msg","hi"]"#, &DecoderConfig::default()).unwrap();
    /// assert_eq!(p.namespace, "/chat");
    /// assert_eq!(data.unwrap().as_array().unwrap()[1].as_str(), Some("hi"));
    /// ```
    pub fn decode_value(
        text: &'a str,
        config: &DecoderConfig,
    ) -> Result<(Packet<'a>, Option<super::Value>), Error> {
        let packet = Packet::decode_header(text, config)?;
        let Some(data) = packet.precheck_data(config)? else {
            return Ok((packet, None));
        };
        let value = super::Value::from_json_str(data)?;
        check_value(packet.kind, &value, config)?;
        Ok((packet, Some(value)))
    }

    /// The checks that need no JSON parse; `None` if there is no data.
    fn precheck_data(&self, config: &DecoderConfig) -> Result<Option<&'a str>, Error> {
        let Some(data) = self.data else {
            check_data_presence(self.kind, false, config)?;
            return Ok(None);
        };
        // JS reads a leading space as an ack-id digit (Q3); refuse it rather than
        // give the packet a different meaning.
        if data.starts_with([' ', '\t', '\n', '\r']) {
            return Err(InvalidPayload::LeadingWhitespace.into());
        }
        check_data_presence(self.kind, true, config)?;
        Ok(Some(data))
    }

    /// The raw JSON data as a slice of `source`, the `Bytes` this packet was
    /// decoded from (no copy). `None` without data or if `source` is not the
    /// buffer the packet borrows from.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::{DecoderConfig, Packet};
    /// let message = Bytes::from_static(br#"2["foo",1]"#);
    /// let text = core::str::from_utf8(&message).unwrap();
    /// let p = Packet::decode(text, &DecoderConfig::default()).unwrap();
    /// assert_eq!(p.data_bytes(&message).unwrap(), Bytes::from_static(br#"["foo",1]"#));
    /// ```
    pub fn data_bytes(&self, source: &bytes::Bytes) -> Option<bytes::Bytes> {
        let data = self.data?.as_bytes();
        let start = (data.as_ptr() as usize).checked_sub(source.as_ptr() as usize)?;
        let end = start.checked_add(data.len())?;
        (end <= source.len()).then(|| source.slice(start..end))
    }

    /// The data deserialized into `T` (borrowing from the packet where `T` allows).
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Packet};
    /// let p = Packet::decode(r#"2["foo",1]"#, &DecoderConfig::default()).unwrap();
    /// let (name, n): (&str, u32) = p.data_as().unwrap().unwrap();
    /// assert_eq!((name, n), ("foo", 1));
    /// ```
    pub fn data_as<T: Deserialize<'a>>(&self) -> Option<Result<T, serde_json::Error>> {
        self.data.map(serde_json::from_str)
    }

    /// The data as a [`Value`](super::Value) (placeholders left as objects).
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Packet};
    /// let p = Packet::decode(r#"0{"token":"123"}"#, &DecoderConfig::default()).unwrap();
    /// assert_eq!(p.data_value().unwrap().unwrap().get("token").unwrap().as_str(), Some("123"));
    /// ```
    pub fn data_value(&self) -> Option<Result<super::Value, Error>> {
        self.data.map(super::Value::from_json_str)
    }

    /// Appends the wire form to `out`.
    ///
    /// Attachments before namespace before id (the JS encoder's order); the
    /// namespace is written only if it is not `/`, always followed by `,`.
    ///
    /// ```
    /// use socketwire::socketio::{Packet, PacketType};
    /// let mut p = Packet::new(PacketType::BinaryEvent, "/admin");
    /// p.attachments = 1;
    /// p.id = Some(7);
    /// p.data = Some(r#"["foo",{"_placeholder":true,"num":0}]"#);
    /// let mut out = String::new();
    /// p.encode(&mut out);
    /// assert_eq!(out, r#"51-/admin,7["foo",{"_placeholder":true,"num":0}]"#);
    /// ```
    pub fn encode(&self, out: &mut String) {
        let mut header = HeaderWriter(out);
        header.write(self.kind, self.attachments, self.namespace, self.id);
        if let Some(data) = self.data {
            out.push_str(data);
        }
    }

    /// The encoded length in bytes.
    ///
    /// ```
    /// use socketwire::socketio::{Packet, PacketType};
    /// assert_eq!(Packet::new(PacketType::Connect, "/").encoded_len(), 1);
    /// ```
    pub fn encoded_len(&self) -> usize {
        let mut n = 1;
        if self.kind.is_binary() {
            n += decimal_len(self.attachments as u64) + 1;
        }
        if self.namespace != "/" && !self.namespace.is_empty() {
            n += self.namespace.len() + 1;
        }
        if let Some(id) = self.id {
            n += decimal_len(id);
        }
        n + self.data.map_or(0, str::len)
    }
}

/// The ack id rules of both parsers: an id only on EVENT and ACK (Q6), up to
/// [`MAX_ACK_ID`] (Q5), and an ACK always has one (X19).
pub(crate) fn check_ack_id(
    kind: PacketType,
    id: Option<u64>,
    config: &DecoderConfig,
) -> Result<(), Error> {
    match id {
        // https://github.com/socketio/socket.io-protocol#acknowledgement
        // Ids are JS numbers, exact up to 2^53 - 1.
        Some(id) if id > MAX_ACK_ID => Err(Error::InvalidAckId),
        Some(_) if !(kind.is_event() || kind.is_ack() || config.lenient_id_on_any_type) => {
            Err(Error::InvalidAckId)
        }
        // An ACK answers an id; without one it can match nothing (X19).
        None if kind.is_ack() && !config.lenient_ack_without_id => Err(Error::InvalidAckId),
        _ => Ok(()),
    }
}

/// Whether a packet of `kind` may have data or may lack it, for both parsers
/// (`has_data`: the packet carries data).
pub(crate) fn check_data_presence(
    kind: PacketType,
    has_data: bool,
    config: &DecoderConfig,
) -> Result<(), Error> {
    if has_data {
        // socket.io-parser isPayloadValid: DISCONNECT carries nothing.
        if kind == PacketType::Disconnect {
            return Err(InvalidPayload::DisconnectWithData.into());
        }
    } else {
        let needs_data = kind.is_event() || kind.is_ack() || kind == PacketType::ConnectError;
        if needs_data && !config.lenient_missing_data {
            return Err(InvalidPayload::MissingData.into());
        }
    }
    Ok(())
}

/// socket.io-parser `isPayloadValid` on decoded data, for both parsers.
pub(crate) fn check_value(
    kind: PacketType,
    data: &super::Value,
    config: &DecoderConfig,
) -> Result<(), Error> {
    check_shape(kind, JsonShape::of(data), config)
}

/// socket.io-parser `isPayloadValid`, per type and version.
fn check_shape(kind: PacketType, shape: JsonShape, config: &DecoderConfig) -> Result<(), Error> {
    let v5 = config.version == SocketIoVersion::V5;
    let reason = match (kind, shape.kind) {
        // https://github.com/socketio/socket.io-protocol#0---connect
        // v5: the CONNECT payload is an object; v4 also lets arrays and null through.
        (PacketType::Connect, JsonKind::Object) => None,
        (PacketType::Connect, JsonKind::Array | JsonKind::Null) if !v5 => None,
        (PacketType::Connect, _) => Some(InvalidPayload::ConnectNotObject),
        // https://github.com/socketio/socket.io-protocol#1---disconnect
        (PacketType::Disconnect, _) => Some(InvalidPayload::DisconnectWithData),
        // https://github.com/socketio/socket.io-protocol#2---event
        // The payload is a non-empty array whose first element is the event name.
        (PacketType::Event | PacketType::BinaryEvent, JsonKind::Array) => match shape.first {
            None => Some(InvalidPayload::EventEmpty),
            Some(JsonKind::Number) => None,
            Some(JsonKind::String { reserved }) => {
                (reserved && v5).then_some(InvalidPayload::ReservedEventName)
            }
            Some(_) => Some(InvalidPayload::EventNameNotString),
        },
        (PacketType::Event | PacketType::BinaryEvent, _) => Some(InvalidPayload::EventNotArray),
        // https://github.com/socketio/socket.io-protocol#3---ack
        (PacketType::Ack | PacketType::BinaryAck, JsonKind::Array) => None,
        (PacketType::Ack | PacketType::BinaryAck, _) => Some(InvalidPayload::AckNotArray),
        // https://github.com/socketio/socket.io-protocol#4---connect_error
        (PacketType::ConnectError, JsonKind::String { .. } | JsonKind::Object) => None,
        (PacketType::ConnectError, JsonKind::Array | JsonKind::Null) if !v5 => None,
        (PacketType::ConnectError, _) => Some(InvalidPayload::ConnectErrorNotObject),
    };
    reason.map_or(Ok(()), |r| Err(r.into()))
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Writes `type [attachments "-"] [nsp ","] [id]`.
pub(crate) struct HeaderWriter<'o>(pub(crate) &'o mut String);

impl HeaderWriter<'_> {
    pub(crate) fn write(
        &mut self,
        kind: PacketType,
        attachments: usize,
        namespace: &str,
        id: Option<u64>,
    ) {
        self.0.push(char::from(kind.digit()));
        // Writing into a String cannot fail.
        if kind.is_binary() {
            let _ = write!(self.0, "{attachments}-");
        }
        if namespace != "/" && !namespace.is_empty() {
            self.0.push_str(namespace);
            self.0.push(',');
        }
        if let Some(id) = id {
            let _ = write!(self.0, "{id}");
        }
    }
}

/// Byte-level variant for the attachment encoder.
pub(crate) fn write_header_bytes(
    out: &mut Vec<u8>,
    kind: PacketType,
    attachments: usize,
    namespace: &str,
    id: Option<u64>,
) {
    let mut s = String::new();
    HeaderWriter(&mut s).write(kind, attachments, namespace, id);
    out.extend_from_slice(s.as_bytes());
}

/// Event names the v5 server refuses (socket.io-parser `RESERVED_EVENTS`).
///
/// ```
/// use socketwire::socketio::{DecoderConfig, Error, InvalidPayload, Packet, RESERVED_EVENTS};
/// assert!(RESERVED_EVENTS.contains(&"disconnect"));
/// let e = Packet::decode(r#"2["disconnect"]"#, &DecoderConfig::default()).unwrap_err();
/// assert_eq!(e, Error::InvalidPayload(InvalidPayload::ReservedEventName));
/// ```
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// The kind of one JSON value, as the payload rules see it.
#[derive(Clone, Copy)]
enum JsonKind {
    Object,
    Array,
    /// `reserved`: one of [`RESERVED_EVENTS`] (what matters for an event name).
    String {
        reserved: bool,
    },
    Number,
    Null,
    /// A boolean (or, in a [`Value`](super::Value), bytes).
    Other,
}

impl JsonKind {
    fn string(text: &str) -> JsonKind {
        JsonKind::String {
            reserved: RESERVED_EVENTS.contains(&text),
        }
    }

    fn of(value: &super::Value) -> JsonKind {
        use super::Value;
        match value {
            Value::Object(_) => JsonKind::Object,
            Value::Array(_) => JsonKind::Array,
            Value::String(text) => JsonKind::string(text),
            Value::Number(_) => JsonKind::Number,
            Value::Null => JsonKind::Null,
            Value::Bool(_) | Value::Bytes(_) => JsonKind::Other,
        }
    }
}

/// The outline of a JSON document the payload rules look at: its kind and,
/// for an array, the kind of its first element (the event name). Read
/// without allocating.
struct JsonShape {
    kind: JsonKind,
    first: Option<JsonKind>,
}

impl JsonShape {
    fn of(value: &super::Value) -> JsonShape {
        JsonShape {
            kind: JsonKind::of(value),
            first: value.as_array().and_then(<[_]>::first).map(JsonKind::of),
        }
    }
}

impl<'de> Deserialize<'de> for JsonShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ShapeVisitor { outer: true }.deserialize(d)
    }
}

/// Reads a [`JsonShape`]; for the first element of the outer array
/// (`outer: false`) only its kind is read, the rest is skipped.
#[derive(Clone, Copy)]
struct ShapeVisitor {
    outer: bool,
}

impl<'de> DeserializeSeed<'de> for ShapeVisitor {
    type Value = JsonShape;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<JsonShape, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = JsonShape;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<JsonShape, E> {
        Ok(JsonKind::Other.into())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<JsonShape, E> {
        Ok(JsonKind::Number.into())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<JsonShape, E> {
        Ok(JsonKind::Number.into())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<JsonShape, E> {
        Ok(JsonKind::Number.into())
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<JsonShape, E> {
        Ok(JsonKind::string(text).into())
    }
    fn visit_unit<E: de::Error>(self) -> Result<JsonShape, E> {
        Ok(JsonKind::Null.into())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonShape, A::Error> {
        let first = if self.outer {
            let inner = ShapeVisitor { outer: false };
            seq.next_element_seed(inner)?.map(|shape| shape.kind)
        } else {
            None
        };
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JsonShape {
            kind: JsonKind::Array,
            first,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonShape, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JsonKind::Object.into())
    }
}

impl From<JsonKind> for JsonShape {
    fn from(kind: JsonKind) -> JsonShape {
        JsonShape { kind, first: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_len_matches_formatting() {
        for n in [0u64, 9, 10, 99, 100, MAX_ACK_ID, u64::MAX] {
            assert_eq!(decimal_len(n), alloc::format!("{n}").len());
        }
    }

    #[test]
    fn encoded_len_matches_encode() {
        let config = DecoderConfig::default();
        for text in [
            "0",
            "1/admin,",
            r#"2/a,12["x"]"#,
            r#"51-/b,3["x",{"_placeholder":true,"num":0}]"#,
        ] {
            let p = Packet::decode_header(text, &config).unwrap();
            let mut out = String::new();
            p.encode(&mut out);
            assert_eq!(out, text);
            assert_eq!(p.encoded_len(), text.len());
        }
    }

    #[test]
    fn huge_attachment_count_stops_early() {
        let text = alloc::format!("5{}-[\"a\"]", "9".repeat(100_000));
        let e = Packet::decode_header(&text, &DecoderConfig::default()).unwrap_err();
        assert_eq!(e, Error::TooManyAttachments { max: 10 });
    }

    #[test]
    fn streaming_shape_agrees_with_value_shape() {
        // `validate_data` reads a `JsonShape` without building the document,
        // `decode_value` from the built `Value`: both must judge alike.
        let payloads = [
            "{}",
            "[]",
            "null",
            "1",
            "true",
            r#""s""#,
            r#"["a",1]"#,
            "[1]",
            r#"["connect"]"#,
            "[null]",
            "[[1]]",
            r#"[{"a":1}]"#,
            "[true]",
            r#"[["connect"]]"#,
            r#"{"a":["b"]}"#,
        ];
        for version in [SocketIoVersion::V4, SocketIoVersion::V5] {
            let config = DecoderConfig::for_version(version);
            for kind in ['0', '2', '3', '4'] {
                for payload in payloads {
                    let text = match kind {
                        '3' => alloc::format!("{kind}1{payload}"),
                        _ => alloc::format!("{kind}{payload}"),
                    };
                    let streaming = Packet::decode(&text, &config).err();
                    let built = Packet::decode_value(&text, &config).err();
                    assert_eq!(streaming, built, "{text} ({version:?})");
                }
            }
        }
    }

    #[test]
    fn ack_id_bound() {
        let config = DecoderConfig::default();
        let ok = alloc::format!("2{MAX_ACK_ID}[\"a\"]");
        assert_eq!(Packet::decode(&ok, &config).unwrap().id, Some(MAX_ACK_ID));
        let too_big = alloc::format!("2{}[\"a\"]", MAX_ACK_ID + 1);
        assert_eq!(Packet::decode(&too_big, &config), Err(Error::InvalidAckId));
    }
}
