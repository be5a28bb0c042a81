//! [`Value`]: JSON plus binary blobs, the data model of Socket.IO arguments.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;

use bytes::Bytes;
use serde::de::{self, Deserialize, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::error::{ApiMisuse, Error};

/// A JSON value that may also hold binary blobs, the data of one Socket.IO
/// packet (event name and arguments, ack arguments, auth payload).
///
/// Why a type of our own rather than `serde_json::Value` plus a list of blobs:
/// a blob's position in the data *is* its meaning, so it lives in the tree
/// ([`Value::Bytes`]); objects keep their key order (`Vec` of pairs, as
/// JavaScript objects do), which fixes the depth-first numbering of
/// placeholders. The encoder replaces each [`Value::Bytes`] by
/// `{"_placeholder":true,"num":N}` (N in depth-first order) and returns the
/// blobs as attachments; the reassembler does the reverse.
///
/// Typed access goes through serde: [`Value::from_serialize`] and
/// [`Value::deserialize_into`] (blobs become arrays of byte values there, which
/// is how serde represents `Vec<u8>`).
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::Value;
/// let v = Value::Array(vec!["foo".into(), Value::Bytes(Bytes::from_static(&[1, 2, 3]))]);
/// assert!(v.contains_bytes());
/// assert_eq!(v.as_array().unwrap()[0].as_str(), Some("foo"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// JSON `null`.
    #[default]
    Null,
    /// JSON `true` / `false`.
    Bool(bool),
    /// A JSON number.
    Number(serde_json::Number),
    /// A JSON string.
    String(String),
    /// A binary blob: an attachment on the wire.
    Bytes(Bytes),
    /// A JSON array.
    Array(Vec<Value>),
    /// A JSON object, keys in order of appearance.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The string, if this is a [`Value::String`].
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::Value::from("a").as_str(), Some("a"));
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The blob, if this is a [`Value::Bytes`].
    ///
    /// ```
    /// use bytes::Bytes;
    /// let v = socketwire::socketio::Value::Bytes(Bytes::from_static(b"x"));
    /// assert_eq!(v.as_bytes().map(|b| &b[..]), Some(&b"x"[..]));
    /// ```
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if this is a [`Value::Array`].
    ///
    /// ```
    /// let v = socketwire::socketio::Value::Array(vec![1u64.into()]);
    /// assert_eq!(v.as_array().map(|a| a.len()), Some(1));
    /// ```
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The value of `key`, if this is an object that has it (first match).
    ///
    /// ```
    /// use socketwire::socketio::Value;
    /// let v = Value::Object(vec![("sid".into(), "abc".into())]);
    /// assert_eq!(v.get("sid").and_then(Value::as_str), Some("abc"));
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// An empty JSON object `{}`.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::Value::object().to_json_string(), "{}");
    /// ```
    pub fn object() -> Value {
        Value::Object(Vec::new())
    }

    /// `true` if a [`Value::Bytes`] occurs anywhere in the tree.
    ///
    /// ```
    /// assert!(!socketwire::socketio::Value::from("a").contains_bytes());
    /// ```
    pub fn contains_bytes(&self) -> bool {
        match self {
            Value::Bytes(_) => true,
            Value::Array(items) => items.iter().any(Value::contains_bytes),
            Value::Object(pairs) => pairs.iter().any(|(_, v)| v.contains_bytes()),
            _ => false,
        }
    }

    /// Parses JSON text (never yields [`Value::Bytes`]).
    ///
    /// ```
    /// let v = socketwire::socketio::Value::from_json_str(r#"{"a":[1,"b"]}"#).unwrap();
    /// assert_eq!(v.get("a").unwrap().as_array().unwrap()[1].as_str(), Some("b"));
    /// ```
    pub fn from_json_str(text: &str) -> Result<Value, Error> {
        serde_json::from_str(text)
            .map_err(|_| Error::InvalidPayload(super::InvalidPayload::InvalidJson))
    }

    /// Serializes to JSON text; blobs become arrays of byte values.
    ///
    /// ```
    /// use socketwire::socketio::Value;
    /// let v = Value::Array(vec!["é€😀".into(), "\u{1e}".into()]);
    /// assert_eq!(v.to_json_string(), "[\"é€😀\",\"\\u001e\"]");
    /// ```
    pub fn to_json_string(&self) -> String {
        // Serializing a `Value` into a `Vec` cannot fail: every number is finite
        // and every key is a string.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Converts any serializable value (through `serde_json`).
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Auth { token: &'static str }
    /// let v = socketwire::socketio::Value::from_serialize(&Auth { token: "123" }).unwrap();
    /// assert_eq!(v.to_json_string(), r#"{"token":"123"}"#);
    /// ```
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Value, ApiMisuse> {
        serde_json::to_value(value)
            .map(Value::from)
            .map_err(|_| ApiMisuse::Unserializable)
    }

    /// Deserializes into `T`; blobs are seen as sequences of `u8`.
    ///
    /// ```
    /// #[derive(serde::Deserialize, PartialEq, Debug)]
    /// struct Auth { token: String }
    /// let v = socketwire::socketio::Value::from_json_str(r#"{"token":"123"}"#).unwrap();
    /// assert_eq!(v.deserialize_into::<Auth>().unwrap(), Auth { token: "123".into() });
    /// ```
    pub fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.to_json())
    }

    /// Converts to a `serde_json::Value`; blobs become arrays of byte values.
    ///
    /// ```
    /// let v = socketwire::socketio::Value::from(3u64);
    /// assert_eq!(v.to_json(), serde_json::json!(3));
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Bytes(b) => {
                serde_json::Value::Array(b.iter().map(|&x| serde_json::Value::from(x)).collect())
            }
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Object(pairs) => serde_json::Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Appends every blob in depth-first order (array index order, object key
    /// order): the attachment order of the encoder.
    pub(crate) fn collect_bytes(&self, out: &mut Vec<Bytes>) {
        match self {
            Value::Bytes(b) => out.push(b.clone()),
            Value::Array(items) => items.iter().for_each(|v| v.collect_bytes(out)),
            Value::Object(pairs) => pairs.iter().for_each(|(_, v)| v.collect_bytes(out)),
            _ => {}
        }
    }

    /// Serializes as JSON with every blob replaced by a numbered placeholder,
    /// appending to `out` and the blobs to `attachments` (same numbering).
    pub(crate) fn write_with_placeholders(&self, out: &mut Vec<u8>, attachments: &mut Vec<Bytes>) {
        let first = attachments.len();
        self.collect_bytes(attachments);
        let counter = Cell::new(first);
        // Serializing into a Vec cannot fail (see `to_json_string`).
        let json = serde_json::to_vec(&WithPlaceholders {
            value: self,
            counter: &counter,
        })
        .unwrap_or_default();
        append_json(out, json);
    }

    /// Replaces every placeholder object by its attachment (by `num`, not by
    /// arrival order). `lenient`: a non-integer `num` becomes `null` as in JS.
    pub(crate) fn resolve_placeholders(
        &mut self,
        attachments: &[Bytes],
        lenient: bool,
    ) -> Result<(), Error> {
        match self {
            Value::Array(items) => {
                for item in items {
                    item.resolve_placeholders(attachments, lenient)?;
                }
                Ok(())
            }
            Value::Object(pairs) => {
                // https://github.com/socketio/socket.io-protocol#5---binary_event
                // Each blob is replaced by `{"_placeholder":true,"num":N}`, N its
                // attachment's index; a placeholder iff `_placeholder === true`.
                let is_placeholder = pairs
                    .iter()
                    .any(|(k, v)| k == "_placeholder" && *v == Value::Bool(true));
                if !is_placeholder {
                    for (_, v) in pairs.iter_mut() {
                        v.resolve_placeholders(attachments, lenient)?;
                    }
                    return Ok(());
                }
                // socket.io-parser binary.ts: `num` must be a number with
                // 0 <= num < buffers.length, else "illegal attachments".
                let num = pairs.iter().rev().find(|(k, _)| k == "num").map(|(_, v)| v);
                let replacement = match num {
                    Some(Value::Number(n)) => match n.as_u64() {
                        Some(i) => usize::try_from(i)
                            .ok()
                            .and_then(|i| attachments.get(i))
                            .map(|b| Value::Bytes(b.clone()))
                            .ok_or(Error::IllegalPlaceholder)?,
                        None if lenient => lenient_placeholder(n, attachments)?,
                        None => return Err(Error::IllegalPlaceholder),
                    },
                    _ => return Err(Error::IllegalPlaceholder),
                };
                *self = replacement;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// JS reading of a non-integer or float `num`: any number in `0..len` is
/// accepted; `buffers[0.5]` is `undefined`, which becomes `null`.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn lenient_placeholder(n: &serde_json::Number, attachments: &[Bytes]) -> Result<Value, Error> {
    let f = n.as_f64().ok_or(Error::IllegalPlaceholder)?;
    if !(f >= 0.0 && f < attachments.len() as f64) {
        return Err(Error::IllegalPlaceholder);
    }
    // In range and non-negative, so the cast only drops a fractional part.
    let index = f as u64;
    if index as f64 == f {
        return Ok(usize::try_from(index)
            .ok()
            .and_then(|i| attachments.get(i))
            .map_or(Value::Null, |b| Value::Bytes(b.clone())));
    }
    Ok(Value::Null)
}

/// Appends serialized JSON, moving it when `out` is still empty.
fn append_json(out: &mut Vec<u8>, json: Vec<u8>) {
    if out.is_empty() {
        *out = json;
    } else {
        out.extend_from_slice(&json);
    }
}

/// Writes `[name, ...args]` (or `[...args]` without a name) with placeholders,
/// numbering blobs from `attachments.len()` on and appending them there.
pub(crate) fn write_args_with_placeholders(
    out: &mut Vec<u8>,
    name: Option<&str>,
    args: &[Value],
    attachments: &mut Vec<Bytes>,
) {
    let first = attachments.len();
    for arg in args {
        arg.collect_bytes(attachments);
    }
    let counter = Cell::new(first);
    // Serializing into a Vec cannot fail (see `Value::to_json_string`).
    let json = serde_json::to_vec(&ArgsWithPlaceholders {
        name,
        args,
        counter: &counter,
    })
    .unwrap_or_default();
    append_json(out, json);
}

struct ArgsWithPlaceholders<'a> {
    name: Option<&'a str>,
    args: &'a [Value],
    counter: &'a Cell<usize>,
}

impl Serialize for ArgsWithPlaceholders<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = self.args.len() + usize::from(self.name.is_some());
        let mut seq = serializer.serialize_seq(Some(len))?;
        if let Some(name) = self.name {
            seq.serialize_element(name)?;
        }
        for arg in self.args {
            seq.serialize_element(&WithPlaceholders {
                value: arg,
                counter: self.counter,
            })?;
        }
        seq.end()
    }
}

struct WithPlaceholders<'a> {
    value: &'a Value,
    counter: &'a Cell<usize>,
}

impl Serialize for WithPlaceholders<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Bytes(_) => {
                let num = self.counter.get();
                self.counter.set(num + 1);
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("_placeholder", &true)?;
                map.serialize_entry("num", &num)?;
                map.end()
            }
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&WithPlaceholders {
                        value: item,
                        counter: self.counter,
                    })?;
                }
                seq.end()
            }
            Value::Object(pairs) => {
                let mut map = serializer.serialize_map(Some(pairs.len()))?;
                for (k, v) in pairs {
                    map.serialize_entry(
                        k,
                        &WithPlaceholders {
                            value: v,
                            counter: self.counter,
                        },
                    )?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(s) => serializer.serialize_str(s),
            Value::Bytes(b) => serializer.serialize_bytes(b),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(pairs) => {
                let mut map = serializer.serialize_map(Some(pairs.len()))?;
                for (k, v) in pairs {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(Bytes::copy_from_slice(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut pairs = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            pairs.push((k, v));
        }
        Ok(Value::Object(pairs))
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => {
                Value::Array(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Value {
        Value::Number(n.into())
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Number(n.into())
    }
}

impl From<Bytes> for Value {
    fn from(b: Bytes) -> Value {
        Value::Bytes(b)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}
