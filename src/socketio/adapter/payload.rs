//! What the classic and the ClusterAdapter messages share: the payload codec
//! (JSON when it starts with `{`, MessagePack otherwise), the broadcast options,
//! the broadcast packet, and typed reads of a message's fields.

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::error::Error;
use crate::socketio::Value;
use crate::socketio::msgpack::{MsgpackLimits, decode_value, encode_value};

/// Bounds on one incoming message, checked before anything is allocated for it.
///
/// ```
/// use socketwire::socketio::adapter::DecodeLimits;
/// let limits = DecodeLimits { max_payload_len: 1 << 16, ..DecodeLimits::default() };
/// assert_eq!(DecodeLimits::default().max_list_len, 10_000);
/// assert_eq!(limits.max_payload_len, 65_536);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Longer payloads are refused with [`Error::TooLarge`] before decoding.
    /// Default 16 MiB (a fetchSockets answer lists every socket of a node).
    pub max_payload_len: usize,
    /// Nesting bound of the MessagePack decoder (JSON: serde_json's 128).
    pub msgpack: MsgpackLimits,
    /// Longest `rooms`, `except` and `sockets` list accepted ([`Error::TooMany`]).
    pub max_list_len: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_payload_len: 16 << 20,
            msgpack: MsgpackLimits::default(),
            max_list_len: 10_000,
        }
    }
}

/// Decodes one payload: JSON text when its first byte is `{` (both adapters test
/// `msg[0] === 0x7b`), MessagePack otherwise; the length is checked first.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::adapter::{DecodeLimits, decode_payload};
/// let v = decode_payload(&Bytes::from_static(b"{\"type\":2}"), &DecodeLimits::default()).unwrap();
/// assert_eq!(v.get("type").and_then(|t| t.to_json().as_u64()), Some(2));
/// let v = decode_payload(&Bytes::from_static(&[0x81, 0xa1, b'a', 0x01]), &DecodeLimits::default()).unwrap();
/// assert!(v.get("a").is_some());
/// ```
pub fn decode_payload(payload: &Bytes, limits: &DecodeLimits) -> Result<Value, Error> {
    if payload.len() > limits.max_payload_len {
        return Err(Error::TooLarge {
            len: payload.len(),
            max: limits.max_payload_len,
        });
    }
    if payload.first() == Some(&b'{') {
        let text = core::str::from_utf8(payload).map_err(|_| Error::InvalidJson)?;
        return Value::from_json_str(text).map_err(|_| Error::InvalidJson);
    }
    Ok(decode_value(payload, &limits.msgpack)?)
}

/// How a message is put on the wire.
///
/// ```
/// use socketwire::socketio::adapter::{Encoding, encode_payload};
/// use socketwire::socketio::Value;
/// let v = Value::Object(vec![("a".into(), 1u64.into())]);
/// assert_eq!(&encode_payload(&v, Encoding::Json)[..], b"{\"a\":1}");
/// assert_eq!(&encode_payload(&v, Encoding::Msgpack)[..], [0x81, 0xa1, b'a', 0x01]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `JSON.stringify`.
    Json,
    /// MessagePack (notepack.io / @msgpack/msgpack).
    Msgpack,
}

/// Encodes `value` as `encoding` says.
///
/// ```
/// use socketwire::socketio::adapter::{Encoding, encode_payload};
/// assert_eq!(&encode_payload(&"x".into(), Encoding::Json)[..], b"\"x\"");
/// ```
pub fn encode_payload(value: &Value, encoding: Encoding) -> Bytes {
    match encoding {
        Encoding::Json => Bytes::from(value.to_json_string()),
        Encoding::Msgpack => {
            let mut out = Vec::new();
            encode_value(value, &mut out);
            Bytes::from(out)
        }
    }
}

/// Reads the named fields of a decoded message, each check in one place.
pub(crate) struct Fields<'a> {
    value: &'a Value,
    max_list_len: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(value: &'a Value, limits: &DecodeLimits) -> Result<Fields<'a>, Error> {
        match value {
            Value::Object(_) => Ok(Fields {
                value,
                max_list_len: limits.max_list_len,
            }),
            _ => Err(Error::NotAnObject),
        }
    }

    pub(crate) fn value(&self, name: &'static str) -> Option<&'a Value> {
        self.value.get(name)
    }

    pub(crate) fn required(&self, name: &'static str) -> Result<&'a Value, Error> {
        self.value(name).ok_or(Error::MissingField(name))
    }

    pub(crate) fn u64(&self, name: &'static str) -> Result<u64, Error> {
        value_u64(self.required(name)?).ok_or(Error::InvalidField(name))
    }

    pub(crate) fn opt_u64(&self, name: &'static str) -> Result<Option<u64>, Error> {
        self.value(name)
            .map(|v| value_u64(v).ok_or(Error::InvalidField(name)))
            .transpose()
    }

    pub(crate) fn string(&self, name: &'static str) -> Result<String, Error> {
        self.opt_string(name)?.ok_or(Error::MissingField(name))
    }

    pub(crate) fn opt_string(&self, name: &'static str) -> Result<Option<String>, Error> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::InvalidField(name)),
        }
    }

    pub(crate) fn opt_bool(&self, name: &'static str) -> Result<Option<bool>, Error> {
        match self.value(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Error::InvalidField(name)),
        }
    }

    /// The `opts` field (`{rooms, except, flags?}`), required.
    pub(crate) fn opts(&self, limits: &DecodeLimits) -> Result<BroadcastOptions, Error> {
        BroadcastOptions::from_value(self.required("opts")?, limits)
    }

    /// A list of room names; missing means empty (JS `new Set(undefined)`).
    pub(crate) fn rooms(&self, name: &'static str) -> Result<Vec<String>, Error> {
        match self.value(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                if items.len() > self.max_list_len {
                    return Err(Error::TooMany(name));
                }
                items
                    .iter()
                    .map(|v| room_name(v).ok_or(Error::InvalidField(name)))
                    .collect()
            }
            Some(_) => Err(Error::InvalidField(name)),
        }
    }

    /// A list of values (sockets, rooms of an answer), capped.
    pub(crate) fn list(&self, name: &'static str) -> Result<Vec<Value>, Error> {
        match self.required(name)? {
            Value::Array(items) if items.len() > self.max_list_len => Err(Error::TooMany(name)),
            Value::Array(items) => Ok(items.clone()),
            _ => Err(Error::InvalidField(name)),
        }
    }
}

/// A room is a string; socket.io also accepts numbers as room names
/// (`hasRoom` tries `parseFloat`), written here in their decimal form.
fn room_name(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(alloc::format!("{n}")),
        _ => None,
    }
}

pub(crate) fn value_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            // notepack writes every non-integer as float64, and some encoders
            // write small integers as floats too: accept exact integral floats.
            // In [0, 2^53) the cast truncates toward zero, and the float was
            // an integer exactly when casting back gives it again (no_std has
            // no `f64::fract`).
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            n.as_f64()
                .filter(|f| (0.0..9_007_199_254_740_992.0).contains(f))
                .map(|f| (f, f as u64))
                .filter(|&(f, n)| n as f64 == f)
                .map(|(_, n)| n)
        }),
        _ => None,
    }
}

pub(crate) fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

pub(crate) fn string_list(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
}

/// Who a broadcast (or socketsJoin, fetchSockets, …) addresses, as the adapters
/// publish it: `{rooms, except, flags}`.
///
/// `except` lists room names; socket.io puts every socket in the room named by
/// its id, so `except: [sid]` leaves out one socket on every node. The glue does
/// the same with [`RoomRegistry`](crate::socketio::RoomRegistry) for the
/// exclusion to work across nodes.
///
/// ```
/// use socketwire::socketio::adapter::BroadcastOptions;
/// let opts = BroadcastOptions { rooms: vec!["r".into()], ..BroadcastOptions::default() };
/// assert_eq!(opts.to_value().to_json_string(), r#"{"rooms":["r"],"except":[],"flags":{}}"#);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastOptions {
    /// Members of any of these rooms (empty: the whole namespace).
    pub rooms: Vec<String>,
    /// Minus the members of these rooms.
    pub except: Vec<String>,
    /// The emit flags (`None`: the field is absent, as in the classic
    /// adapter's socketsJoin and fetchSockets requests).
    pub flags: Option<Flags>,
}

/// Everyone, no flags: `{rooms: [], except: [], flags: {}}`, what socket.io's
/// `io.emit` hands its adapter.
impl Default for BroadcastOptions {
    fn default() -> Self {
        BroadcastOptions {
            rooms: Vec::new(),
            except: Vec::new(),
            flags: Some(Flags::new()),
        }
    }
}

impl BroadcastOptions {
    /// Reads `{rooms, except, flags?}`.
    ///
    /// ```
    /// use socketwire::socketio::{Value, adapter::{BroadcastOptions, DecodeLimits}};
    /// let v = Value::from_json_str(r#"{"rooms":["a"],"except":[]}"#).unwrap();
    /// let opts = BroadcastOptions::from_value(&v, &DecodeLimits::default()).unwrap();
    /// assert_eq!(opts.rooms, ["a"]);
    /// assert!(opts.flags.is_none());
    /// ```
    pub fn from_value(value: &Value, limits: &DecodeLimits) -> Result<BroadcastOptions, Error> {
        let fields = Fields::new(value, limits).map_err(|_| Error::InvalidField("opts"))?;
        let flags = match fields.value("flags") {
            None => None,
            Some(v @ Value::Object(_)) => Some(Flags::from_value(v)?),
            Some(_) => return Err(Error::InvalidField("flags")),
        };
        Ok(BroadcastOptions {
            rooms: fields.rooms("rooms")?,
            except: fields.rooms("except")?,
            flags,
        })
    }

    /// Writes `{rooms, except, flags?}` in the JS key order.
    ///
    /// ```
    /// use socketwire::socketio::adapter::BroadcastOptions;
    /// assert_eq!(BroadcastOptions::default().to_value().to_json_string(), r#"{"rooms":[],"except":[],"flags":{}}"#);
    /// ```
    pub fn to_value(&self) -> Value {
        let mut pairs = alloc::vec![
            ("rooms", string_list(&self.rooms)),
            ("except", string_list(&self.except))
        ];
        if let Some(flags) = &self.flags {
            pairs.push(("flags", flags.to_value()));
        }
        object(pairs)
    }

    /// Whether `flags.local` is set (a local-only emit is never published).
    ///
    /// ```
    /// assert!(!socketwire::socketio::adapter::BroadcastOptions::default().is_local());
    /// ```
    pub fn is_local(&self) -> bool {
        self.flags
            .as_ref()
            .is_some_and(|f| f.get_bool("local") == Some(true))
    }

    /// The [`Broadcast`](crate::socketio::Broadcast) target these options name,
    /// for [`RoomRegistry::recipients`](crate::socketio::RoomRegistry::recipients).
    ///
    /// ```
    /// use socketwire::socketio::adapter::BroadcastOptions;
    /// let opts = BroadcastOptions { rooms: vec!["r".into()], ..BroadcastOptions::default() };
    /// assert_eq!(opts.target::<u32>().rooms(), ["r".to_string()]);
    /// ```
    pub fn target<S>(&self) -> crate::socketio::Broadcast<S> {
        let mut target = crate::socketio::Broadcast::all();
        for room in &self.rooms {
            target = target.to(room.as_str());
        }
        for room in &self.except {
            target = target.except(room.as_str());
        }
        target
    }
}

/// The emit flags of a broadcast (`volatile`, `compress`, `local`, `timeout`, …),
/// kept in their order so a message re-encodes to the same bytes.
///
/// ```
/// use socketwire::socketio::adapter::Flags;
/// let flags = Flags::new().with("timeout", 1000u64.into());
/// assert_eq!(flags.timeout_ms(), Some(1000));
/// assert_eq!(flags.to_value().to_json_string(), r#"{"timeout":1000}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flags(Vec<(String, Value)>);

impl Flags {
    /// No flags: `{}`.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::adapter::Flags::new().to_value().to_json_string(), "{}");
    /// ```
    pub fn new() -> Flags {
        Flags::default()
    }

    /// Sets `name` (replacing an earlier value).
    ///
    /// ```
    /// let f = socketwire::socketio::adapter::Flags::new().with("volatile", true.into());
    /// assert_eq!(f.get_bool("volatile"), Some(true));
    /// ```
    #[must_use = "returns the flags with the new one"]
    pub fn with(mut self, name: &str, value: Value) -> Flags {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.into(), value)),
        }
        self
    }

    /// A boolean flag.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::adapter::Flags::new().get_bool("local"), None);
    /// ```
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match self.0.iter().find(|(k, _)| k == name) {
            Some((_, Value::Bool(b))) => Some(*b),
            _ => None,
        }
    }

    /// Whether `name` is set at all, whatever its value.
    ///
    /// ```
    /// let f = socketwire::socketio::adapter::Flags::new().with("volatile", false.into());
    /// assert!(f.contains("volatile"));
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// `timeout` in milliseconds (set by `io.timeout(ms)`).
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::adapter::Flags::new().timeout_ms(), None);
    /// ```
    pub fn timeout_ms(&self) -> Option<u64> {
        self.0
            .iter()
            .find(|(k, _)| k == "timeout")
            .and_then(|(_, v)| value_u64(v))
    }

    fn from_value(value: &Value) -> Result<Flags, Error> {
        match value {
            Value::Object(pairs) => Ok(Flags(pairs.clone())),
            _ => Err(Error::InvalidField("flags")),
        }
    }

    /// The flags as an object.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::adapter::Flags::new().to_value().to_json_string(), "{}");
    /// ```
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }
}

/// The Socket.IO packet a broadcast carries: `{type, data, nsp?, id?}` with
/// binary inline ([`Value::Bytes`]), as socket.io hands it to its adapter.
///
/// ```
/// use socketwire::socketio::adapter::AdapterPacket;
/// let p = AdapterPacket::event(vec!["ev".into(), 1u64.into()]);
/// assert_eq!(p.to_value().to_json_string(), r#"{"type":2,"data":["ev",1]}"#);
/// assert_eq!(p.event_name(), Some("ev"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AdapterPacket {
    /// 2 (EVENT) or 5 (BINARY_EVENT, older senders).
    pub packet_type: u8,
    /// `[event, ...args]`.
    pub data: Vec<Value>,
    /// The namespace, when the sender wrote it (the classic adapter does).
    pub nsp: Option<String>,
    /// An ack id (socket.io never sets one on a broadcast; kept if present).
    pub id: Option<u64>,
}

impl AdapterPacket {
    /// An EVENT packet with `data` = `[event, ...args]`.
    ///
    /// ```
    /// let p = socketwire::socketio::adapter::AdapterPacket::event(vec!["a".into()]);
    /// assert_eq!(p.packet_type, 2);
    /// ```
    pub fn event(data: Vec<Value>) -> AdapterPacket {
        AdapterPacket {
            packet_type: 2,
            data,
            nsp: None,
            id: None,
        }
    }

    /// Whether a broadcast of this packet with `opts` carries its stream
    /// offset, live and on replay (socket.io-adapter's `addOffsetIfNecessary`):
    /// an EVENT (type 2) without ack id whose flags have no `volatile` at all.
    ///
    /// ```
    /// use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions, Flags};
    /// let packet = AdapterPacket::event(vec!["e".into()]);
    /// assert!(packet.is_recoverable(&BroadcastOptions::default()));
    /// let volatile = BroadcastOptions { flags: Some(Flags::new().with("volatile", true.into())), ..BroadcastOptions::default() };
    /// assert!(!packet.is_recoverable(&volatile));
    /// ```
    pub fn is_recoverable(&self, opts: &BroadcastOptions) -> bool {
        // https://github.com/socketio/socket.io-adapter (cluster-adapter.ts
        // `addOffsetIfNecessary`): packets with an ack are not stored, the ack
        // function cannot be restored on another server.
        let volatile = opts.flags.as_ref().is_some_and(|f| f.contains("volatile"));
        self.packet_type == 2 && self.id.is_none() && !volatile
    }

    /// Appends `offset` as the last element of `data` when the packet
    /// [`is_recoverable`](Self::is_recoverable) with `opts`; tells whether it did.
    ///
    /// ```
    /// use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions};
    /// let mut packet = AdapterPacket::event(vec!["e".into()]);
    /// assert!(packet.push_offset(&BroadcastOptions::default(), "1-0"));
    /// assert_eq!(packet.data.last().and_then(|v| v.as_str()), Some("1-0"));
    /// ```
    pub fn push_offset(&mut self, opts: &BroadcastOptions, offset: &str) -> bool {
        let recoverable = self.is_recoverable(opts);
        if recoverable {
            self.data.push(Value::String(offset.into()));
        }
        recoverable
    }

    /// The event name (the first element of `data`, when a string).
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::adapter::AdapterPacket::event(vec![]).event_name(), None);
    /// ```
    pub fn event_name(&self) -> Option<&str> {
        self.data.first().and_then(Value::as_str)
    }

    /// Reads `{type, data, nsp?, id?}`.
    ///
    /// ```
    /// use socketwire::socketio::{Value, adapter::{AdapterPacket, DecodeLimits}};
    /// let v = Value::from_json_str(r#"{"type":2,"data":["a"],"nsp":"/chat"}"#).unwrap();
    /// let p = AdapterPacket::from_value(&v, &DecodeLimits::default()).unwrap();
    /// assert_eq!(p.nsp.as_deref(), Some("/chat"));
    /// ```
    pub fn from_value(value: &Value, limits: &DecodeLimits) -> Result<AdapterPacket, Error> {
        let fields = Fields::new(value, limits).map_err(|_| Error::InvalidField("packet"))?;
        let packet_type =
            u8::try_from(fields.u64("type")?).map_err(|_| Error::InvalidField("type"))?;
        let data = match fields.required("data")? {
            Value::Array(items) => items.clone(),
            _ => return Err(Error::InvalidField("data")),
        };
        Ok(AdapterPacket {
            packet_type,
            data,
            nsp: fields.opt_string("nsp")?,
            id: fields.opt_u64("id")?,
        })
    }

    /// Writes `{type, data, nsp?, id?}`.
    ///
    /// ```
    /// let p = socketwire::socketio::adapter::AdapterPacket::event(vec![]);
    /// assert_eq!(p.to_value().to_json_string(), r#"{"type":2,"data":[]}"#);
    /// ```
    pub fn to_value(&self) -> Value {
        let mut pairs = alloc::vec![
            ("type", Value::from(u64::from(self.packet_type))),
            ("data", Value::Array(self.data.clone()))
        ];
        if let Some(nsp) = &self.nsp {
            pairs.push(("nsp", nsp.as_str().into()));
        }
        if let Some(id) = self.id {
            pairs.push(("id", id.into()));
        }
        object(pairs)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use bytes::Bytes;

    use super::{
        AdapterPacket, BroadcastOptions, DecodeLimits, Error, Fields, decode_payload, value_u64,
    };
    use crate::socketio::Value;

    fn json(text: &str) -> Value {
        Value::from_json_str(text).unwrap()
    }

    #[test]
    fn numbers_read_as_u64_only_when_exact() {
        for (text, expected) in [
            ("0", Some(0)),
            ("42", Some(42)),
            ("42.0", Some(42)),
            ("42.5", None),
            ("-1", None),
            ("-0.0", Some(0)),
            ("9007199254740992.0", None),
            ("18446744073709551615", Some(u64::MAX)),
            ("\"1\"", None),
        ] {
            assert_eq!(value_u64(&json(text)), expected, "{text}");
        }
    }

    #[test]
    fn fields_say_what_is_wrong() {
        let limits = DecodeLimits::default();
        let v = json(r#"{"s":"x","n":1,"b":true,"l":["a",2],"bad":[{}]}"#);
        let f = Fields::new(&v, &limits).unwrap();
        assert_eq!(f.string("missing"), Err(Error::MissingField("missing")));
        assert_eq!(f.string("n"), Err(Error::InvalidField("n")));
        assert_eq!(f.u64("s"), Err(Error::InvalidField("s")));
        assert_eq!(f.opt_bool("b"), Ok(Some(true)));
        assert_eq!(f.rooms("l"), Ok(vec!["a".into(), "2".into()]));
        assert_eq!(f.rooms("bad"), Err(Error::InvalidField("bad")));
        assert_eq!(f.rooms("missing"), Ok(vec![]));
        assert!(matches!(
            Fields::new(&json("[1]"), &limits),
            Err(Error::NotAnObject)
        ));
    }

    #[test]
    fn payloads_are_bounded_and_typed() {
        let limits = DecodeLimits {
            max_payload_len: 8,
            ..DecodeLimits::default()
        };
        assert_eq!(
            decode_payload(&Bytes::from_static(b"{\"a\":12345}"), &limits),
            Err(Error::TooLarge { len: 11, max: 8 })
        );
        assert_eq!(
            decode_payload(&Bytes::from_static(b"{nope"), &limits),
            Err(Error::InvalidJson)
        );
        assert_eq!(
            decode_payload(&Bytes::from_static(&[b'{', 0xff]), &limits),
            Err(Error::InvalidJson)
        );
        assert!(matches!(
            decode_payload(&Bytes::from_static(&[0xc1]), &limits),
            Err(Error::Msgpack(_))
        ));
        let deep = DecodeLimits {
            msgpack: crate::socketio::msgpack::MsgpackLimits { max_depth: 2 },
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode_payload(&Bytes::from_static(&[0x91, 0x91, 0x91, 0x01]), &deep),
            Err(Error::Msgpack(_))
        ));
    }

    #[test]
    fn options_and_packets_refuse_wrong_shapes() {
        let limits = DecodeLimits::default();
        assert_eq!(
            BroadcastOptions::from_value(&json("[]"), &limits),
            Err(Error::InvalidField("opts"))
        );
        assert_eq!(
            BroadcastOptions::from_value(&json(r#"{"flags":1}"#), &limits),
            Err(Error::InvalidField("flags"))
        );
        assert_eq!(
            BroadcastOptions::from_value(&json(r#"{"rooms":"r"}"#), &limits),
            Err(Error::InvalidField("rooms"))
        );
        assert_eq!(
            AdapterPacket::from_value(&json(r#"{"type":300,"data":[]}"#), &limits),
            Err(Error::InvalidField("type"))
        );
        assert_eq!(
            AdapterPacket::from_value(&json(r#"{"type":2,"data":{}}"#), &limits),
            Err(Error::InvalidField("data"))
        );
        assert_eq!(
            AdapterPacket::from_value(&json(r#"{"type":2}"#), &limits),
            Err(Error::MissingField("data"))
        );
        let opts = BroadcastOptions::from_value(
            &json(r#"{"rooms":["a"],"except":["b"],"flags":{"local":true}}"#),
            &limits,
        )
        .unwrap();
        assert!(opts.is_local());
        assert_eq!(
            opts.to_value().to_json_string(),
            r#"{"rooms":["a"],"except":["b"],"flags":{"local":true}}"#
        );
    }
}
