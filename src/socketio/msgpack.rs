//! MessagePack for [`Value`]: the value codec under the socket.io-msgpack-parser
//! wire format (and the Redis adapters' messages).
//!
//! The JS side is `notepack.io`: 2.2 under `socket.io-msgpack-parser` 3.0.2,
//! 3.0 under `@socket.io/redis-adapter` 8.3. This module decodes what either
//! emits (and what notepack 3.0's decoder reads), and emits what both emit
//! alike for the same JS value (no `undefined`, Dates or ArrayBuffers in a
//! [`Value`]).
//!
//! # Decoding
//!
//! [`decode_value`] reads exactly one value spanning the whole input,
//! [`decode_value_prefix`] one value from the front. Both are bounded:
//!
//! - every length read from the input is checked against the bytes left before
//!   anything is allocated (an array of n elements needs at least n bytes, a map
//!   of n entries 2n, a str or bin of n bytes n), and no collection reserves more
//!   than a small fixed capacity up front, so memory stays proportional to the
//!   input;
//! - nesting is counted and refused past [`MsgpackLimits::max_depth`] before the
//!   decoder descends, so a 10 000-deep array is a [`MsgpackError::TooDeep`],
//!   never a stack overflow (socketioxide's msgpack parser had both problems:
//!   GHSA-c6g7-r2mf-pf5g, GHSA-7xpx-rcqc-8qjh).
//!
//! How each MessagePack type becomes a [`Value`] (the JSON-facing decisions are
//! those a JS app sees when it passes the decoded value on as JSON):
//!
//! | MessagePack | [`Value`] | why |
//! |---|---|---|
//! | nil | `Null` | |
//! | fixext1 type 0 (`d4 00 00`, notepack 2.x's `undefined`) | a map entry with it is left out; elsewhere `Null` | what JS reads (`obj.key === undefined`) and `JSON.stringify` writes |
//! | bool, int (any width) | `Bool`, `Number` (exact, up to 64 bits) | |
//! | float32, float64 | `Number` (f64); an integral one in 64-bit range is the integer (−0 is 0) | one JS number type: `JSON.stringify(0.0)` is `0`, and notepack writes it back as an integer |
//! | float NaN, ±infinity | `Null` | JSON cannot hold them; `JSON.stringify` writes `null` |
//! | str | `String` | UTF-8 checked: invalid UTF-8 is [`MsgpackError::InvalidUtf8`] (notepack would put U+FFFD) |
//! | bin, ext 8/16/32 type 0 (notepack 2.x's ArrayBuffer and typed arrays) | `Bytes`, a zero-copy slice of the input | |
//! | array | `Array` | |
//! | map | `Object`, keys in input order, duplicates kept | keys must be str; int keys become their decimal string (JS does `String(key)`); any other key is [`MsgpackError::InvalidMapKey`] |
//! | timestamp ext −1 (32, 64, 96 bit), fixext8 type 0 (notepack 2.x's Date: i64 ms) | `Number`: milliseconds since the epoch, truncated; `Null` outside JS's Date range (±8.64e15 ms) | what `date.getTime()` gives; an invalid Date is `null` in JSON |
//! | any other ext | `Array([type, Bytes(data)])` (a nesting level) | what notepack returns |
//! | `0xc1` | [`MsgpackError::ReservedMarker`] | never used by MessagePack |
//!
//! # Encoding
//!
//! [`encode_value`] writes what notepack writes for the same JS value: the
//! smallest integer format, float64 for anything that is not an integer, the
//! smallest str/bin/array/map header, bin for [`Value::Bytes`], map keys in
//! order.
//!
//! ```
//! use bytes::Bytes;
//! use socketwire::socketio::Value;
//! use socketwire::socketio::msgpack::{MsgpackLimits, decode_value, encode_value};
//!
//! let value = Value::Array(vec!["hello".into(), Value::Bytes(Bytes::from_static(&[1, 2]))]);
//! let mut out = Vec::new();
//! encode_value(&value, &mut out);
//! assert_eq!(out, [0x92, 0xa5, b'h', b'e', b'l', b'l', b'o', 0xc4, 0x02, 1, 2]);
//! assert_eq!(decode_value(&Bytes::from(out), &MsgpackLimits::default()).unwrap(), value);
//! ```

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;
use rmp::Marker;
use rmp::decode as rd;
use rmp::encode::{self as wr, ByteBuf};

use super::Value;
use super::error::Error;
use super::packet::{DecoderConfig, PacketType, check_ack_id, check_data_presence, check_value};
use super::session::is_valid_namespace;

/// Bounds the decoder applies to untrusted MessagePack.
///
/// Sizes need no separate limit: every length is checked against the bytes
/// that are left, so the decoded value is never more than a constant factor
/// larger than its input. Bound the input itself (the Engine.IO
/// `max_payload`) to bound memory.
///
/// ```
/// use socketwire::socketio::msgpack::MsgpackLimits;
/// let limits = MsgpackLimits { max_depth: 8, ..MsgpackLimits::default() };
/// assert_eq!(MsgpackLimits::default().max_depth, 32);
/// assert_eq!(limits.max_depth, 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsgpackLimits {
    /// Arrays and maps nested deeper than this are refused with
    /// [`MsgpackError::TooDeep`]: a top-level scalar has depth 0, a top-level
    /// array or map depth 1, its elements' containers depth 2, and so on.
    /// Default 32 (a Socket.IO packet uses two levels: the packet map and its
    /// data array).
    pub max_depth: usize,
}

impl Default for MsgpackLimits {
    fn default() -> Self {
        MsgpackLimits { max_depth: 32 }
    }
}

/// Why MessagePack input was refused (a peer error).
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::msgpack::{MsgpackError, MsgpackLimits, decode_value};
/// let e = decode_value(&Bytes::from_static(&[0x92, 0x01]), &MsgpackLimits::default()).unwrap_err();
/// assert_eq!(e, MsgpackError::LengthExceedsInput);
/// assert_eq!(e.to_string(), "msgpack length larger than the input left");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MsgpackError {
    /// The input ends inside a value (or is empty).
    UnexpectedEnd,
    /// A str, bin, ext, array or map announces more than the bytes left.
    LengthExceedsInput,
    /// Arrays and maps nested deeper than [`MsgpackLimits::max_depth`].
    TooDeep {
        /// The configured limit.
        max: usize,
    },
    /// Bytes follow the one value the input must hold.
    TrailingBytes,
    /// A str that is not UTF-8.
    InvalidUtf8,
    /// A map key that is neither a str nor an integer.
    InvalidMapKey,
    /// The marker byte `0xc1`, which MessagePack never uses.
    ReservedMarker,
    /// A timestamp extension (type −1) whose length is not 4, 8 or 12 bytes.
    InvalidTimestamp,
    /// A packet that is not a map (socket.io-msgpack-parser sends one map per packet).
    NotAPacket,
    /// A packet whose `type` is missing or not an integer 0–4 (this format has
    /// no BINARY_EVENT/BINARY_ACK: binary is inline).
    InvalidPacketType,
    /// A packet whose `nsp` is missing, not a str, or not a namespace (a `/`
    /// first and no `,`).
    InvalidNamespace,
    /// A text message where the msgpack parser takes binary messages only.
    TextMessage,
}

impl fmt::Display for MsgpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgpackError::UnexpectedEnd => f.write_str("msgpack input ends inside a value"),
            MsgpackError::LengthExceedsInput => {
                f.write_str("msgpack length larger than the input left")
            }
            MsgpackError::TooDeep { max } => write!(f, "msgpack nested deeper than {max}"),
            MsgpackError::TrailingBytes => f.write_str("bytes after the msgpack value"),
            MsgpackError::InvalidUtf8 => f.write_str("msgpack str is not UTF-8"),
            MsgpackError::InvalidMapKey => f.write_str("msgpack map key is not a string"),
            MsgpackError::ReservedMarker => f.write_str("reserved msgpack marker 0xc1"),
            MsgpackError::InvalidTimestamp => f.write_str("msgpack timestamp of a bad length"),
            MsgpackError::NotAPacket => f.write_str("msgpack packet is not a map"),
            MsgpackError::InvalidPacketType => f.write_str("invalid packet type"),
            MsgpackError::InvalidNamespace => f.write_str("invalid namespace"),
            MsgpackError::TextMessage => f.write_str("text message under the msgpack parser"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for MsgpackError {}

/// Decodes exactly one value that spans the whole of `input`.
///
/// `bin` becomes a [`Value::Bytes`] sharing `input`'s buffer (no copy). See the
/// [module docs](self) for every type's mapping.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::Value;
/// use socketwire::socketio::msgpack::{MsgpackError, MsgpackLimits, decode_value};
/// let limits = MsgpackLimits::default();
/// // {"a": 1} from notepack.io
/// let v = decode_value(&Bytes::from_static(&[0x81, 0xa1, b'a', 0x01]), &limits).unwrap();
/// assert_eq!(v.get("a"), Some(&Value::from(1u64)));
/// // notepack's `undefined` is null
/// assert_eq!(decode_value(&Bytes::from_static(&[0xd4, 0, 0]), &limits), Ok(Value::Null));
/// assert_eq!(decode_value(&Bytes::from_static(&[0xc0, 0xc0]), &limits),
///            Err(MsgpackError::TrailingBytes));
/// ```
pub fn decode_value(input: &Bytes, limits: &MsgpackLimits) -> Result<Value, MsgpackError> {
    let (value, used) = decode_value_prefix(input, limits)?;
    if used != input.len() {
        return Err(MsgpackError::TrailingBytes);
    }
    Ok(value)
}

/// Decodes one value from the front of `input` and returns it with the number
/// of bytes it took; what follows is left alone.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::Value;
/// use socketwire::socketio::msgpack::{MsgpackLimits, decode_value_prefix};
/// let input = Bytes::from_static(&[0xa2, b'h', b'i', 0xc3]);
/// let (v, used) = decode_value_prefix(&input, &MsgpackLimits::default()).unwrap();
/// assert_eq!((v, used), (Value::from("hi"), 3));
/// ```
pub fn decode_value_prefix(
    input: &Bytes,
    limits: &MsgpackLimits,
) -> Result<(Value, usize), MsgpackError> {
    let mut decoder = Decoder {
        input,
        reader: rd::Bytes::new(&input[..]),
        max_depth: limits.max_depth,
    };
    let value = decoder.value(0)?;
    Ok((value, decoder.offset()))
}

/// Appends the MessagePack encoding of `value` to `out`, as notepack.io would
/// encode the same JS value.
///
/// Integers take the smallest format; a number that is not an integer (or is
/// outside the 64-bit integer range) is a float64; an integral float in range is
/// written as an integer, as JS cannot tell `1.0` from `1`. MessagePack cannot
/// hold a str, bin, array or map of 2^32 or more elements: such a value is
/// written as nil.
///
/// ```
/// use socketwire::socketio::Value;
/// use socketwire::socketio::msgpack::encode_value;
/// let mut out = Vec::new();
/// encode_value(&Value::Object(vec![("n".into(), 300u64.into())]), &mut out);
/// assert_eq!(out, [0x81, 0xa1, b'n', 0xcd, 0x01, 0x2c]);
/// ```
pub fn encode_value(value: &Value, out: &mut Vec<u8>) {
    let mut buf = ByteBuf::from_vec(core::mem::take(out));
    write_value(&mut buf, value);
    *out = buf.into_vec();
}

/// One socket.io-msgpack-parser packet: a map `{type, data, nsp, id}`, binary
/// inline as `bin` (no attachments, no BINARY_EVENT/BINARY_ACK on the wire).
///
/// Decoding applies the rules of the JSON parser (the same functions):
/// `isPayloadValid` per type and [`DecoderConfig::version`], reserved event
/// names, the ack id rules and bound ([`MAX_ACK_ID`](super::MAX_ACK_ID)), the
/// `lenient_*` flags; plus what socket.io-msgpack-parser's `checkPacket` asks:
/// `type` an integer 0–4 and `nsp` a string (here: a namespace, `/` first and no
/// `,`, as the sessions require). Other keys (socket.io-client sends `options`)
/// are ignored; of a repeated key the last counts, as in a JS object.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::{DecoderConfig, PacketType, Value};
/// use socketwire::socketio::msgpack::MsgpackPacket;
/// // socket.io-client 4.8.1 with socket.io-msgpack-parser 3.0.2:
/// // socket.emit("hi", Buffer.from([1])) on "/"
/// let wire = b"\x84\xa4type\x02\xa4data\x92\xa2hi\xc4\x01\x01\xa7options\x81\xa8compress\xc3\xa3nsp\xa1/";
/// let p = MsgpackPacket::decode(&Bytes::from_static(wire), &DecoderConfig::default()).unwrap();
/// assert_eq!((p.kind, p.namespace.as_str(), p.id), (PacketType::Event, "/", None));
/// let data = p.data.as_ref().unwrap().as_array().unwrap();
/// assert_eq!(data[1], Value::Bytes(Bytes::from_static(&[1])));
/// let mut out = Vec::new();
/// p.encode(&mut out);
/// assert_eq!(out, b"\x83\xa4type\x02\xa4data\x92\xa2hi\xc4\x01\x01\xa3nsp\xa1/");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MsgpackPacket {
    /// The packet type: CONNECT to CONNECT_ERROR, never a binary type.
    pub kind: PacketType,
    /// The namespace.
    pub namespace: String,
    /// The ack id.
    pub id: Option<u64>,
    /// The data, blobs in place.
    pub data: Option<Value>,
}

impl MsgpackPacket {
    /// Decodes and validates one packet that spans the whole of `input`, under
    /// the nesting bound [`DecoderConfig::msgpack`].
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::{DecoderConfig, Error, InvalidPayload};
    /// use socketwire::socketio::msgpack::{MsgpackError, MsgpackPacket};
    /// let config = DecoderConfig::default();
    /// // {type: 2, data: ["connect"], nsp: "/"}
    /// let reserved = Bytes::from_static(b"\x83\xa4type\x02\xa4data\x91\xa7connect\xa3nsp\xa1/");
    /// assert_eq!(MsgpackPacket::decode(&reserved, &config),
    ///            Err(Error::InvalidPayload(InvalidPayload::ReservedEventName)));
    /// // {type: 5, data: [], nsp: "/"}
    /// let binary_type = Bytes::from_static(b"\x83\xa4type\x05\xa4data\x90\xa3nsp\xa1/");
    /// assert_eq!(MsgpackPacket::decode(&binary_type, &config),
    ///            Err(Error::Msgpack(MsgpackError::InvalidPacketType)));
    /// ```
    pub fn decode(input: &Bytes, config: &DecoderConfig) -> Result<MsgpackPacket, Error> {
        let value = decode_value(input, &config.msgpack)?;
        MsgpackPacket::from_value(value, config)
    }

    /// Validates a packet map already decoded (for formats that carry packets
    /// inside a larger message, such as the Redis adapter's).
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, PacketType, Value};
    /// use socketwire::socketio::msgpack::MsgpackPacket;
    /// let map = Value::Object(vec![
    ///     ("type".into(), 1u64.into()),
    ///     ("nsp".into(), "/admin".into()),
    /// ]);
    /// let p = MsgpackPacket::from_value(map, &DecoderConfig::default()).unwrap();
    /// assert_eq!((p.kind, p.namespace.as_str(), p.data), (PacketType::Disconnect, "/admin", None));
    /// ```
    pub fn from_value(value: Value, config: &DecoderConfig) -> Result<MsgpackPacket, Error> {
        let Value::Object(pairs) = value else {
            return Err(MsgpackError::NotAPacket.into());
        };
        let (mut kind, mut namespace, mut id, mut data) = (None, None, None, None);
        for (key, value) in pairs {
            match key.as_str() {
                "type" => kind = Some(value),
                "nsp" => namespace = Some(value),
                "id" => id = Some(value),
                "data" => data = Some(value),
                _ => {}
            }
        }
        // socket.io-msgpack-parser checkPacket: "invalid packet type" unless
        // `type` is an integer from CONNECT (0) to CONNECT_ERROR (4).
        let kind = kind
            .as_ref()
            .and_then(packet_type)
            .ok_or(MsgpackError::InvalidPacketType)?;
        // checkPacket: "invalid namespace" unless `nsp` is a string.
        let namespace = match namespace {
            Some(Value::String(ns)) if is_valid_namespace(&ns) => ns,
            _ => return Err(MsgpackError::InvalidNamespace.into()),
        };
        // checkPacket: "invalid packet id" unless `id` is absent or an integer.
        let id = match id {
            None => None,
            Some(Value::Number(n)) => Some(n.as_u64().ok_or(Error::InvalidAckId)?),
            Some(_) => return Err(Error::InvalidAckId),
        };
        check_ack_id(kind, id, config)?;
        check_data_presence(kind, data.is_some(), config)?;
        if let Some(data) = &data {
            check_value(kind, data, config)?;
        }
        Ok(MsgpackPacket {
            kind,
            namespace,
            id,
            data,
        })
    }

    /// Appends the packet as socket.io-msgpack-parser encodes it: a map of
    /// `type`, `data` (if any), `nsp` and `id` (if any). A binary type is
    /// written as EVENT/ACK.
    ///
    /// ```
    /// use socketwire::socketio::PacketType;
    /// use socketwire::socketio::msgpack::MsgpackPacket;
    /// let p = MsgpackPacket { kind: PacketType::Ack, namespace: "/".into(), id: Some(1), data: Some(vec![].into()) };
    /// let mut out = Vec::new();
    /// p.encode(&mut out);
    /// assert_eq!(out, b"\x84\xa4type\x03\xa4data\x90\xa3nsp\xa1/\xa2id\x01");
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode_packet(
            out,
            self.kind,
            &self.namespace,
            self.id,
            self.data.as_ref().map(PacketData::Value),
        );
    }
}

/// The packet type of a `type` value: an integer 0–4.
fn packet_type(value: &Value) -> Option<PacketType> {
    let n = match value {
        Value::Number(n) => n.as_u64()?,
        _ => return None,
    };
    let digit = u8::try_from(n).ok().filter(|&n| n <= 4)?;
    PacketType::from_digit(b'0' + digit)
}

/// The data of a packet to encode: a value, or an event's name and arguments
/// (written as one array without building it).
#[derive(Clone, Copy)]
pub(crate) enum PacketData<'a> {
    Value(&'a Value),
    Args {
        name: Option<&'a str>,
        args: &'a [Value],
    },
}

/// Appends one packet map `{type, data?, nsp, id?}`.
pub(crate) fn encode_packet(
    out: &mut Vec<u8>,
    kind: PacketType,
    namespace: &str,
    id: Option<u64>,
    data: Option<PacketData<'_>>,
) {
    let mut buf = ByteBuf::from_vec(core::mem::take(out));
    let len = 2 + u32::from(data.is_some()) + u32::from(id.is_some());
    // Writing to a `ByteBuf` cannot fail (its error type is `Infallible`).
    let _ = wr::write_map_len(&mut buf, len);
    let _ = wr::write_str(&mut buf, "type");
    let _ = wr::write_uint(&mut buf, u64::from(kind.without_binary().digit() - b'0'));
    match data {
        Some(PacketData::Value(value)) => {
            let _ = wr::write_str(&mut buf, "data");
            write_value(&mut buf, value);
        }
        Some(PacketData::Args { name, args }) => {
            let _ = wr::write_str(&mut buf, "data");
            let len = args.len() + usize::from(name.is_some());
            match u32::try_from(len) {
                Ok(len) => {
                    let _ = wr::write_array_len(&mut buf, len);
                    if let Some(name) = name {
                        write_string(&mut buf, name);
                    }
                    args.iter().for_each(|arg| write_value(&mut buf, arg));
                }
                Err(_) => {
                    let _ = wr::write_nil(&mut buf);
                }
            }
        }
        None => {}
    }
    let _ = wr::write_str(&mut buf, "nsp");
    write_string(&mut buf, namespace);
    if let Some(id) = id {
        let _ = wr::write_str(&mut buf, "id");
        let _ = wr::write_uint(&mut buf, id);
    }
    *out = buf.into_vec();
}

/// notepack.io's `undefined`: fixext1 (`d4`) of type 0 (2.x writes data 0;
/// the decoders ignore the data byte).
const UNDEFINED: [u8; 2] = [0xd4, 0x00];

/// No collection reserves more than this many elements before they are read:
/// the rest grows as elements actually arrive, so a large announced length
/// costs nothing until the bytes behind it are there.
const MAX_PREALLOCATED: usize = 1024;

/// JS Dates hold ±8.64e15 ms around the epoch; outside that `getTime()` is NaN.
// https://tc39.es/ecma262/#sec-time-values-and-time-range
const MAX_DATE_MS: i128 = 8_640_000_000_000_000;

struct Decoder<'a> {
    input: &'a Bytes,
    reader: rd::Bytes<'a>,
    max_depth: usize,
}

impl Decoder<'_> {
    fn offset(&self) -> usize {
        self.input.len() - self.reader.remaining_slice().len()
    }

    fn remaining(&self) -> usize {
        self.reader.remaining_slice().len()
    }

    /// Refuses a length that needs more than the bytes left (`per_item` bytes
    /// at least for each of `len` items).
    fn check_len(&self, len: u32, per_item: usize) -> Result<usize, MsgpackError> {
        let len = usize::try_from(len).map_err(|_| MsgpackError::LengthExceedsInput)?;
        match len.checked_mul(per_item) {
            Some(needed) if needed <= self.remaining() => Ok(len),
            _ => Err(MsgpackError::LengthExceedsInput),
        }
    }

    /// Takes `len` raw bytes (already checked against the input) as a slice of
    /// the input.
    fn take(&mut self, len: usize) -> Result<Bytes, MsgpackError> {
        let start = self.offset();
        let rest = self.reader.remaining_slice();
        if len > rest.len() {
            return Err(MsgpackError::LengthExceedsInput);
        }
        self.reader = rd::Bytes::new(&rest[len..]);
        Ok(self.input.slice(start..start + len))
    }

    fn value(&mut self, depth: usize) -> Result<Value, MsgpackError> {
        // Peek at the marker; the rmp reader is `Copy`, so the typed read below
        // starts again from the marker byte.
        let mut peek = self.reader;
        let marker = rd::read_marker(&mut peek).map_err(|_| MsgpackError::UnexpectedEnd)?;
        let r = &mut self.reader;
        Ok(match marker {
            Marker::Null => {
                self.reader = peek;
                Value::Null
            }
            Marker::True | Marker::False => Value::Bool(rd::read_bool(r).map_err(short)?),
            Marker::FixPos(_) | Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => {
                Value::Number(rd::read_int::<u64, _>(r).map_err(short_num)?.into())
            }
            Marker::FixNeg(_) | Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => {
                Value::Number(rd::read_int::<i64, _>(r).map_err(short_num)?.into())
            }
            Marker::F32 => float(f64::from(rd::read_f32(r).map_err(short)?)),
            Marker::F64 => float(rd::read_f64(r).map_err(short)?),
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                Value::String(self.string()?)
            }
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
                let len = rd::read_bin_len(r).map_err(short)?;
                let len = self.check_len(len, 1)?;
                Value::Bytes(self.take(len)?)
            }
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
                let len = rd::read_array_len(r).map_err(short)?;
                let len = self.check_len(len, 1)?;
                let depth = self.descend(depth)?;
                let mut items = Vec::with_capacity(len.min(MAX_PREALLOCATED));
                for _ in 0..len {
                    items.push(self.value(depth)?);
                }
                Value::Array(items)
            }
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
                let len = rd::read_map_len(r).map_err(short)?;
                let len = self.check_len(len, 2)?;
                let depth = self.descend(depth)?;
                let mut pairs = Vec::with_capacity(len.min(MAX_PREALLOCATED));
                for _ in 0..len {
                    let key = self.key()?;
                    // notepack 2.x writes `{a: undefined}` with the key and
                    // fixext1 type 0 as the value; JS then reads `a` as
                    // undefined, as if it were absent (and JSON drops it).
                    if self.reader.remaining_slice().starts_with(&UNDEFINED) {
                        self.take(UNDEFINED.len() + 1)?;
                        continue;
                    }
                    pairs.push((key, self.value(depth)?));
                }
                Value::Object(pairs)
            }
            Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32 => self.ext(marker, depth)?,
            Marker::Reserved => return Err(MsgpackError::ReservedMarker),
        })
    }

    /// The depth of the elements of a container at `depth`, if allowed.
    fn descend(&self, depth: usize) -> Result<usize, MsgpackError> {
        if depth >= self.max_depth {
            return Err(MsgpackError::TooDeep {
                max: self.max_depth,
            });
        }
        Ok(depth + 1)
    }

    fn string(&mut self) -> Result<String, MsgpackError> {
        let len = rd::read_str_len(&mut self.reader).map_err(short)?;
        let len = self.check_len(len, 1)?;
        let rest = self.reader.remaining_slice();
        let text =
            simdutf8::basic::from_utf8(&rest[..len]).map_err(|_| MsgpackError::InvalidUtf8)?;
        let text = String::from(text);
        self.reader = rd::Bytes::new(&rest[len..]);
        Ok(text)
    }

    /// A map key: a str, or an integer read as its decimal string (JS object
    /// keys are strings; notepack's `value[key] = …` converts them).
    fn key(&mut self) -> Result<String, MsgpackError> {
        let mut peek = self.reader;
        let marker = rd::read_marker(&mut peek).map_err(|_| MsgpackError::UnexpectedEnd)?;
        match marker {
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => self.string(),
            Marker::FixPos(_) | Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => {
                let n: u64 = rd::read_int(&mut self.reader).map_err(short_num)?;
                Ok(n.to_string())
            }
            Marker::FixNeg(_) | Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => {
                let n: i64 = rd::read_int(&mut self.reader).map_err(short_num)?;
                Ok(n.to_string())
            }
            Marker::Reserved => Err(MsgpackError::ReservedMarker),
            _ => Err(MsgpackError::InvalidMapKey),
        }
    }

    /// An extension value, read the way notepack.io 3.0 reads it (at `depth`:
    /// an unknown type becomes an array, which counts as a level).
    fn ext(&mut self, marker: Marker, depth: usize) -> Result<Value, MsgpackError> {
        let meta = rd::read_ext_meta(&mut self.reader).map_err(short)?;
        let len = self.check_len(meta.size, 1)?;
        let data = self.take(len)?;
        let fixed = !matches!(marker, Marker::Ext8 | Marker::Ext16 | Marker::Ext32);
        Ok(match (meta.typeid, len, fixed) {
            // notepack: fixext1 type 0 is `undefined`.
            (0, 1, true) => Value::Null,
            // fixext8 type 0 is notepack 2.x's Date, i64 ms since the epoch.
            (0, 8, true) => date_ms(i128::from(i64::from_be_bytes(array(&data)))),
            // ext 8/16/32 type 0 is notepack 2.x's ArrayBuffer (and typed arrays).
            (0, _, false) => Value::Bytes(data),
            // https://github.com/msgpack/msgpack/blob/master/spec.md#timestamp-extension-type
            // timestamp 32: u32 seconds.
            (-1, 4, true) => date_ms(i128::from(u32::from_be_bytes(array(&data))) * 1000),
            // timestamp 64: 30-bit nanoseconds, then 34-bit seconds.
            (-1, 8, true) => {
                let raw = u64::from_be_bytes(array(&data));
                let seconds = i128::from(raw & 0x3_ffff_ffff);
                let nanos = i128::from(raw >> 34);
                date_ms(seconds * 1000 + nanos / 1_000_000)
            }
            // timestamp 96: u32 nanoseconds, then i64 seconds.
            (-1, 12, false) => {
                let nanos = i128::from(u32::from_be_bytes(array(&data[..4])));
                let seconds = i128::from(i64::from_be_bytes(array(&data[4..])));
                date_ms((seconds * 1_000_000_000 + nanos) / 1_000_000)
            }
            (-1, _, _) => return Err(MsgpackError::InvalidTimestamp),
            (typeid, _, _) => {
                self.descend(depth)?;
                Value::Array(alloc::vec![
                    Value::Number(i64::from(typeid).into()),
                    Value::Bytes(data)
                ])
            }
        })
    }
}

/// The first `N` bytes of `data` (the caller has checked the length).
fn array<const N: usize>(data: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&data[..N]);
    out
}

/// A date in milliseconds since the epoch, `null` where JS has an invalid Date.
fn date_ms(ms: i128) -> Value {
    if !(-MAX_DATE_MS..=MAX_DATE_MS).contains(&ms) {
        return Value::Null;
    }
    // In range, so it fits an i64.
    i64::try_from(ms).map_or(Value::Null, |ms| Value::Number(ms.into()))
}

/// A float as a JSON number; NaN and ±infinity, which JSON cannot hold, are
/// `null` (what `JSON.stringify` writes for them). An integral float is the
/// integer (JS has one number type: `JSON.stringify(0.0)` is `0`, and
/// notepack writes it back as an integer), so a decoded value encodes and
/// decodes to itself.
fn float(f: f64) -> Value {
    integral(f)
        .map(Value::Number)
        .or_else(|| serde_json::Number::from_f64(f).map(Value::Number))
        .unwrap_or(Value::Null)
}

/// `f` as an integer when it is one and fits 64 bits (−0 is 0): notepack's
/// rule for writing a number as an integer, in one place for both ways.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn integral(f: f64) -> Option<serde_json::Number> {
    // In range, the casts truncate toward zero: they give `f` back iff it is
    // an integer (no `floor` in `core`).
    if (0.0..TWO_POW_64).contains(&f) && (f as u64) as f64 == f {
        Some((f as u64).into())
    } else if (-TWO_POW_63..0.0).contains(&f) && (f as i64) as f64 == f {
        Some((f as i64).into())
    } else {
        None
    }
}

/// A typed read after a peeked marker can only fail for lack of bytes.
fn short<E: rd::RmpReadErr>(_: rd::ValueReadError<E>) -> MsgpackError {
    MsgpackError::UnexpectedEnd
}

fn short_num<E: rd::RmpReadErr>(_: rd::NumValueReadError<E>) -> MsgpackError {
    MsgpackError::UnexpectedEnd
}

/// 2^63 and 2^64 as floats: the integral floats notepack writes as integers.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

fn write_value(buf: &mut ByteBuf, value: &Value) {
    // Writing to a `ByteBuf` cannot fail (its error type is `Infallible`).
    match value {
        Value::Null => {
            let _ = wr::write_nil(buf);
        }
        Value::Bool(b) => {
            let _ = wr::write_bool(buf, *b);
        }
        Value::Number(n) => write_number(buf, n),
        Value::String(s) => write_string(buf, s),
        Value::Bytes(b) => match u32::try_from(b.len()) {
            Ok(_) => {
                let _ = wr::write_bin(buf, b);
            }
            Err(_) => {
                let _ = wr::write_nil(buf);
            }
        },
        Value::Array(items) => match u32::try_from(items.len()) {
            Ok(len) => {
                let _ = wr::write_array_len(buf, len);
                items.iter().for_each(|item| write_value(buf, item));
            }
            Err(_) => {
                let _ = wr::write_nil(buf);
            }
        },
        Value::Object(pairs) => match u32::try_from(pairs.len()) {
            Ok(len) if pairs.iter().all(|(k, _)| u32::try_from(k.len()).is_ok()) => {
                let _ = wr::write_map_len(buf, len);
                for (key, value) in pairs {
                    let _ = wr::write_str(buf, key);
                    write_value(buf, value);
                }
            }
            _ => {
                let _ = wr::write_nil(buf);
            }
        },
    }
}

/// A str, or nil for one that msgpack cannot hold (2^32 bytes or more).
fn write_string(buf: &mut ByteBuf, s: &str) {
    // Writing to a `ByteBuf` cannot fail (its error type is `Infallible`).
    if u32::try_from(s.len()).is_ok() {
        let _ = wr::write_str(buf, s);
    } else {
        let _ = wr::write_nil(buf);
    }
}

/// notepack: `Math.floor(v) !== v || !isFinite(v)` is a float64, anything else
/// the smallest integer format.
fn write_number(buf: &mut ByteBuf, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        let _ = wr::write_uint(buf, u);
    } else if let Some(i) = n.as_i64() {
        let _ = wr::write_sint(buf, i);
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        match integral(f) {
            // An integer now: one of the two branches above.
            Some(i) => write_number(buf, &i),
            None => {
                let _ = wr::write_f64(buf, f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode(bytes: &[u8]) -> Result<Value, MsgpackError> {
        decode_value(&Bytes::copy_from_slice(bytes), &MsgpackLimits::default())
    }

    fn encode(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(value, &mut out);
        out
    }

    fn json(text: &str) -> Value {
        Value::from_json_str(text).unwrap()
    }

    /// `notepack.io` 3.0.1 (under socket.io-msgpack-parser 3.0.2), `encode(js)`
    /// in node 20, against the value we decode it to; the last column says
    /// whether our encoder writes the same bytes back.
    #[test]
    fn notepack_vectors() {
        let event = Value::Object(vec![
            ("type".into(), 2u64.into()),
            (
                "data".into(),
                Value::Array(vec![
                    "message".into(),
                    json(r#"{"a":1,"b":[true,null,-1.5]}"#),
                    Value::Bytes(Bytes::from_static(&[0xde, 0xad])),
                ]),
            ),
            ("nsp".into(), "/".into()),
            ("id".into(), 12u64.into()),
        ]);
        let cases: [(&str, &str, Value, bool); 9] = [
            // [undefined]
            ("undefined in array", "91c0", json("[null]"), true),
            // {a: undefined, b: 1}: undefined keys are skipped
            ("undefined in object", "81a16201", json(r#"{"b":1}"#), true),
            // new Date(1700000000123): timestamp 64
            ("date", "d7ff1d5353006553f100", json("1700000000123"), false),
            // new Date(-1500): timestamp 96
            (
                "date before 1970",
                "c70cff1dcd6500fffffffffffffffe",
                json("-1500"),
                false,
            ),
            // new Uint8Array([1, 2, 3]).buffer
            (
                "ArrayBuffer",
                "c403010203",
                Value::Bytes(Bytes::from_static(&[1, 2, 3])),
                true,
            ),
            (
                "packet",
                "84a47479706502a46461746193a76d65737361676582a16101a16293c3c0cbbff8000000000000c402deada36e7370a12fa269640c",
                event,
                true,
            ),
            (
                "integers",
                "dc0012007fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000ffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffff",
                json(
                    "[0,127,128,255,256,65535,65536,4294967295,4294967296,-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649]",
                ),
                true,
            ),
            // [1.5, -0.25]
            (
                "floats",
                "92cb3ff8000000000000cbbfd0000000000000",
                json("[1.5,-0.25]"),
                true,
            ),
            // ["", "a" x 31, "a" x 32, "é€😀"]
            (
                "strings",
                "94a0bf61616161616161616161616161616161616161616161616161616161616161d9206161616161616161616161616161616161616161616161616161616161616161a9c3a9e282acf09f9880",
                Value::Array(vec![
                    "".into(),
                    "a".repeat(31).into(),
                    "a".repeat(32).into(),
                    "é€😀".into(),
                ]),
                true,
            ),
        ];
        for (name, wire, value, same_bytes) in cases {
            let bytes = hex(wire);
            assert_eq!(decode(&bytes).as_ref(), Ok(&value), "{name}");
            if same_bytes {
                assert_eq!(encode(&value), bytes, "{name}");
            }
        }
    }

    /// An integral float is decoded as the integer (what a JS app gets), so
    /// the packet it is in encodes and decodes to itself: float64 0.0 in an
    /// ACK's data (once a fuzzing find: it came back as the integer 0), −0.0,
    /// a float32 3.0, and 2^53 as float64; 0.5 stays a float.
    #[test]
    fn integral_floats_are_integers() {
        let limits = MsgpackLimits::default();
        for (bytes, want) in [
            ("cb0000000000000000", "0"),
            ("cb8000000000000000", "0"),
            ("ca40400000", "3"),
            ("cbc008000000000000", "-3"),
            ("cb4340000000000000", "9007199254740992"),
            ("cb3fe0000000000000", "0.5"),
        ] {
            let value = decode_value(&Bytes::from(hex(bytes)), &limits).unwrap();
            assert_eq!(value, json(want), "{bytes}");
        }
        let ack = hex(
            "84a26964 07a474797065 03a464617461 92a26f6bcb0000000000000000 a36e7370a62f61646d696e"
                .replace(' ', "")
                .as_str(),
        );
        let config = crate::socketio::DecoderConfig::default();
        let packet = MsgpackPacket::decode(&Bytes::from(ack), &config).unwrap();
        let mut out = Vec::new();
        packet.encode(&mut out);
        assert_eq!(
            MsgpackPacket::decode(&Bytes::from(out), &config).unwrap(),
            packet
        );
    }

    /// `notepack.io` 2.2.0 (what socket.io-msgpack-parser 3.0.2 depends on),
    /// `encode(js)` in node 20, in the first rows; the rest hand-made for what
    /// notepack 3.0.1's decoder reads: timestamps and other extension types.
    #[test]
    fn notepack_decoder_quirks() {
        let cases: [(&str, &str, Value); 13] = [
            // [undefined]
            ("undefined in array", "91d40000", json("[null]")),
            // {a: undefined, b: 1}
            (
                "undefined in object",
                "82a161d40000a16201",
                json(r#"{"b":1}"#),
            ),
            // undefined
            ("undefined at the top", "d40000", Value::Null),
            // new Date(1700000000123)
            (
                "Date (fixext8 type 0, i64 ms)",
                "d7000000018bcfe5687b",
                json("1700000000123"),
            ),
            // new Date(-1500)
            ("Date before 1970", "d700fffffffffffffa24", json("-1500")),
            // new Uint8Array([1, 2, 3]) and its .buffer
            (
                "ArrayBuffer (ext8 type 0)",
                "c70300010203",
                Value::Bytes(Bytes::from_static(&[1, 2, 3])),
            ),
            // Buffer.from([1, 2, 3])
            (
                "Buffer",
                "c403010203",
                Value::Bytes(Bytes::from_static(&[1, 2, 3])),
            ),
            (
                "ArrayBuffer (ext16 type 0)",
                "c80002000909",
                Value::Bytes(Bytes::from_static(&[9, 9])),
            ),
            (
                "undefined with a data byte, in an object",
                "81a161d40007",
                json("{}"),
            ),
            ("timestamp 32", "d6ff00000001", json("1000")),
            (
                "other fixext",
                "d5050102",
                json("[5,[1,2]]").with_bytes_at_1(&[1, 2]),
            ),
            (
                "other fixext1",
                "d40709",
                json("[7,[9]]").with_bytes_at_1(&[9]),
            ),
            (
                "negative ext type",
                "c701fe07",
                json("[-2,[7]]").with_bytes_at_1(&[7]),
            ),
        ];
        for (name, wire, value) in cases {
            assert_eq!(decode(&hex(wire)), Ok(value), "{name}");
        }
    }

    impl Value {
        /// `[type, _]` with `_` replaced by a blob.
        fn with_bytes_at_1(mut self, data: &'static [u8]) -> Value {
            if let Value::Array(items) = &mut self {
                items[1] = Value::Bytes(Bytes::from_static(data));
            }
            self
        }
    }

    #[test]
    fn floats_json_cannot_hold_are_null() {
        // float64 NaN, +inf, -inf; float32 NaN
        for wire in [
            "cb7ff8000000000000",
            "cb7ff0000000000000",
            "cbfff0000000000000",
            "ca7fc00000",
        ] {
            assert_eq!(decode(&hex(wire)), Ok(Value::Null), "{wire}");
        }
        // float32 1.5
        assert_eq!(decode(&hex("ca3fc00000")), Ok(json("1.5")));
    }

    #[test]
    fn dates_outside_the_js_range_are_null() {
        // a 2.x Date of i64::MAX ms; timestamp 96 of i64::MIN seconds
        assert_eq!(decode(&hex("d7007fffffffffffffff")), Ok(Value::Null));
        assert_eq!(
            decode(&hex("c70cff000000008000000000000000")),
            Ok(Value::Null)
        );
        // exactly the JS maximum, 8.64e15 ms, as a 2.x Date
        assert_eq!(
            decode(&hex("d700001eb208c2dc0000")),
            Ok(json("8640000000000000"))
        );
    }

    #[test]
    fn map_keys() {
        // {1: "a", -2: "b"}: JS turns them into "1" and "-2"
        assert_eq!(
            decode(&hex("8201a161fea162")),
            Ok(json(r#"{"1":"a","-2":"b"}"#))
        );
        for wire in [
            "81c001",
            "81c301",
            "8190a0",
            "81cb3ff800000000000001",
            "81c40101c0",
        ] {
            assert_eq!(
                decode(&hex(wire)),
                Err(MsgpackError::InvalidMapKey),
                "{wire}"
            );
        }
        // duplicates are kept in order, as the JSON path keeps them
        assert_eq!(
            decode(&hex("82a16101a16102")).unwrap(),
            Value::Object(vec![("a".into(), 1u64.into()), ("a".into(), 2u64.into())])
        );
    }

    #[test]
    fn refused_input() {
        let cases: [(&str, MsgpackError); 13] = [
            ("", MsgpackError::UnexpectedEnd),
            ("c1", MsgpackError::ReservedMarker),
            ("81c1c0", MsgpackError::ReservedMarker),
            ("cd01", MsgpackError::UnexpectedEnd),
            ("a3616263c0", MsgpackError::TrailingBytes),
            ("a4616263", MsgpackError::LengthExceedsInput),
            ("c4ff00", MsgpackError::LengthExceedsInput),
            ("ddffffffff", MsgpackError::LengthExceedsInput),
            ("dfffffffff", MsgpackError::LengthExceedsInput),
            // a map of 2 entries needs 4 bytes at least
            ("82a161c0", MsgpackError::LengthExceedsInput),
            ("c9ffffffff00", MsgpackError::LengthExceedsInput),
            ("a2c328", MsgpackError::InvalidUtf8),
            ("d5ff0000", MsgpackError::InvalidTimestamp),
        ];
        for (wire, error) in cases {
            assert_eq!(decode(&hex(wire)), Err(error), "{wire}");
        }
    }

    #[test]
    fn depth_is_bounded_before_descending() {
        let limits = MsgpackLimits { max_depth: 3 };
        let ok = Bytes::from(hex("919191c0"));
        assert_eq!(decode_value(&ok, &limits), Ok(json("[[[null]]]")));
        let deep = Bytes::from(hex("91919191c0"));
        assert_eq!(
            decode_value(&deep, &limits),
            Err(MsgpackError::TooDeep { max: 3 })
        );
        // 10 000 nested arrays and maps: a typed error, not a stack overflow
        let mut arrays = vec![0x91; 10_000];
        arrays.push(0xc0);
        assert_eq!(decode(&arrays), Err(MsgpackError::TooDeep { max: 32 }));
        let mut maps = [0x81, 0xa0].repeat(10_000);
        maps.push(0xc0);
        assert_eq!(decode(&maps), Err(MsgpackError::TooDeep { max: 32 }));
        // scalars at depth 0 need no nesting budget
        assert_eq!(
            decode_value(&Bytes::from_static(&[1]), &MsgpackLimits { max_depth: 0 }),
            Ok(1u64.into())
        );
    }

    #[test]
    fn bin_is_a_slice_of_the_input() {
        let input = Bytes::from(hex("91c403010203"));
        let v = decode_value(&input, &MsgpackLimits::default()).unwrap();
        let blob = v.as_array().unwrap()[0].as_bytes().unwrap();
        assert_eq!(blob.as_ptr(), input[3..].as_ptr());
    }

    #[test]
    fn numbers_encode_as_notepack() {
        let cases: [(Value, &str); 8] = [
            (json("1.0"), "01"),
            (json("-0.0"), "00"),
            (json("-3.0"), "fd"),
            (json("4294967296.0"), "cf0000000100000000"),
            (json("-9223372036854775808.0"), "d38000000000000000"),
            (json("18446744073709551615"), "cfffffffffffffffff"),
            // integral, but beyond 64 bits: notepack would write garbage, we write a float
            (json("1e300"), "cb7e37e43c8800759c"),
            (json("0.1"), "cb3fb999999999999a"),
        ];
        for (value, wire) in cases {
            assert_eq!(encode(&value), hex(wire), "{value:?}");
        }
    }

    #[test]
    fn prefix_leaves_the_rest() {
        let input = Bytes::from(hex("92010203"));
        let (v, used) = decode_value_prefix(&input, &MsgpackLimits::default()).unwrap();
        assert_eq!((v, used), (json("[1,2]"), 3));
    }
}
