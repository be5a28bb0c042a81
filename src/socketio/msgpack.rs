//! MessagePack for [`Value`]: the value codec under the socket.io-msgpack-parser
//! wire format (and the Redis adapters' messages).
//!
//! The JS side is `notepack.io` 3.0 (what `socket.io-msgpack-parser` 3.0.2 and
//! `@socket.io/redis-adapter` use); this module decodes what it emits and
//! emits what it would emit for the same JS value.
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
//! | nil, fixext1 type 0 (`d4 00 00`, notepack's `undefined`) | `Null` | |
//! | bool, int (any width) | `Bool`, `Number` (exact, up to 64 bits) | |
//! | float32, float64 | `Number` (f64) | |
//! | float NaN, ±infinity | `Null` | JSON cannot hold them; `JSON.stringify` writes `null` |
//! | str | `String` | UTF-8 checked: invalid UTF-8 is [`MsgpackError::InvalidUtf8`] (notepack would put U+FFFD) |
//! | bin, ext 8/16/32 type 0 (notepack's old ArrayBuffer) | `Bytes`, a zero-copy slice of the input | |
//! | array | `Array` | |
//! | map | `Object`, keys in input order, duplicates kept | keys must be str; int keys become their decimal string (JS does `String(key)`); any other key is [`MsgpackError::InvalidMapKey`] |
//! | timestamp ext −1 (32, 64, 96 bit), fixext8 type 0 (notepack's old Date) | `Number`: milliseconds since the epoch, truncated; `Null` outside JS's Date range (±8.64e15 ms) | what `date.getTime()` gives; an invalid Date is `null` in JSON |
//! | any other ext | `Array([type, Bytes(data)])` | what notepack returns |
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
            | Marker::Ext32 => self.ext(marker)?,
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

    /// An extension value, read the way notepack.io 3.0 reads it.
    fn ext(&mut self, marker: Marker) -> Result<Value, MsgpackError> {
        let meta = rd::read_ext_meta(&mut self.reader).map_err(short)?;
        let len = self.check_len(meta.size, 1)?;
        let data = self.take(len)?;
        let fixed = !matches!(marker, Marker::Ext8 | Marker::Ext16 | Marker::Ext32);
        Ok(match (meta.typeid, len, fixed) {
            // notepack: fixext1 type 0 is `undefined`.
            (0, 1, true) => Value::Null,
            // notepack: fixext8 type 0 is its old Date, i64 ms since the epoch.
            (0, 8, true) => date_ms(i128::from(i64::from_be_bytes(array(&data)))),
            // notepack: ext 8/16/32 type 0 is its old ArrayBuffer.
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
            (typeid, _, _) => Value::Array(alloc::vec![
                Value::Number(i64::from(typeid).into()),
                Value::Bytes(data)
            ]),
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
/// `null` (what `JSON.stringify` writes for them).
fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
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
        Value::String(s) => match u32::try_from(s.len()) {
            Ok(_) => {
                let _ = wr::write_str(buf, s);
            }
            Err(_) => {
                let _ = wr::write_nil(buf);
            }
        },
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

/// notepack: `Math.floor(v) !== v || !isFinite(v)` is a float64, anything else
/// the smallest integer format.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn write_number(buf: &mut ByteBuf, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        let _ = wr::write_uint(buf, u);
    } else if let Some(i) = n.as_i64() {
        let _ = wr::write_sint(buf, i);
    } else {
        let f = n.as_f64().unwrap_or(f64::NAN);
        if f.is_finite() && f.floor() == f && (0.0..TWO_POW_64).contains(&f) {
            // Integral and in range: the cast is exact.
            let _ = wr::write_uint(buf, f as u64);
        } else if f.is_finite() && f.floor() == f && (-TWO_POW_63..0.0).contains(&f) {
            let _ = wr::write_sint(buf, f as i64);
        } else {
            let _ = wr::write_f64(buf, f);
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

    /// What notepack.io 3.0.1's decoder reads that its encoder no longer writes
    /// (hand-made: notepack 2.x wrote Dates and ArrayBuffers this way), plus the
    /// other extension types.
    #[test]
    fn notepack_decoder_quirks() {
        let cases: [(&str, &str, Value); 9] = [
            ("undefined (fixext1 type 0)", "d40000", Value::Null),
            (
                "old Date (fixext8 type 0, i64 ms)",
                "d7000000018bcfe5687b",
                json("1700000000123"),
            ),
            (
                "old Date before 1970",
                "d700fffffffffffffa24",
                json("-1500"),
            ),
            (
                "old ArrayBuffer (ext8 type 0)",
                "c70300010203",
                Value::Bytes(Bytes::from_static(&[1, 2, 3])),
            ),
            (
                "old ArrayBuffer (ext16 type 0)",
                "c80002000909",
                Value::Bytes(Bytes::from_static(&[9, 9])),
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
        // old Date of i64::MAX ms; timestamp 96 of i64::MIN seconds
        assert_eq!(decode(&hex("d7007fffffffffffffff")), Ok(Value::Null));
        assert_eq!(
            decode(&hex("c70cff000000008000000000000000")),
            Ok(Value::Null)
        );
        // exactly the JS maximum, 8.64e15 ms, as an old Date
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
