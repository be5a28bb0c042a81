//! The `ClusterAdapter` messages of `socket.io-adapter` 2.5 (`{uid, nsp, type,
//! data}`), spoken by the sharded Redis adapter, the Redis streams adapter and
//! every `ClusterAdapterWithHeartbeat` (heartbeats).
//!
//! | type | [`ClusterBody`] | `data` |
//! |---|---|---|
//! | 1 | `InitialHeartbeat` | none |
//! | 2 | `Heartbeat` | none |
//! | 3 | `Broadcast` | `{packet, requestId?, opts}` |
//! | 4 / 5 | `SocketsJoin` / `SocketsLeave` | `{opts, rooms}` |
//! | 6 | `DisconnectSockets` | `{opts, close?}` |
//! | 7 | `FetchSockets` | `{opts, requestId}` |
//! | 8 | `FetchSocketsResponse` | `{requestId, sockets}` |
//! | 9 | `ServerSideEmit` | `{requestId?, packet}` |
//! | 10 | `ServerSideEmitResponse` | `{requestId, packet}` |
//! | 11 | `BroadcastClientCount` | `{requestId, clientCount}` |
//! | 12 | `BroadcastAck` | `{requestId, packet}` |
//! | 13 | `AdapterClose` | none |
//!
//! On pub/sub a message is JSON, or msgpack when its `data` holds binary
//! (sharded adapter; [`ClusterMessage::encoding`]); the streams adapter always
//! uses msgpack on pub/sub and writes stream entries as [`StreamEntry`] fields.

use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;

use super::error::Error;
use super::payload::{
    AdapterPacket, BroadcastOptions, DecodeLimits, Encoding, Fields, decode_payload,
    encode_payload, object, string_list,
};
use crate::socketio::Value;

/// One ClusterAdapter message: sender, namespace, body.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::adapter::{DecodeLimits, cluster::{ClusterBody, ClusterMessage}};
/// let raw = Bytes::from_static(br#"{"type":2,"uid":"5fe0cad735ca2cc7","nsp":"/"}"#);
/// let m = ClusterMessage::decode(&raw, &DecodeLimits::default()).unwrap();
/// assert_eq!(m.body, ClusterBody::Heartbeat);
/// assert_eq!(m.encode(m.encoding()), raw);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMessage {
    /// The sender's uid (16 hex digits), or `"emitter"`.
    pub uid: String,
    /// The namespace.
    pub nsp: String,
    /// The message.
    pub body: ClusterBody,
}

/// What a [`ClusterMessage`] says (see the [module table](self)).
///
/// ```
/// use socketwire::socketio::adapter::cluster::ClusterBody;
/// assert_eq!(ClusterBody::AdapterClose.message_type(), 13);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClusterBody {
    /// 1: a node starts; everyone answers with a heartbeat.
    InitialHeartbeat,
    /// 2: a node is alive.
    Heartbeat,
    /// 3: a broadcast; with `request_id`, one that waits for the clients' acks.
    Broadcast {
        /// The packet.
        packet: AdapterPacket,
        /// Set when acks are expected.
        request_id: Option<String>,
        /// Who.
        opts: BroadcastOptions,
    },
    /// 4: the addressed sockets join `rooms`.
    SocketsJoin {
        /// Who.
        opts: BroadcastOptions,
        /// The rooms.
        rooms: Vec<String>,
    },
    /// 5: the addressed sockets leave `rooms`.
    SocketsLeave {
        /// Who.
        opts: BroadcastOptions,
        /// The rooms.
        rooms: Vec<String>,
    },
    /// 6: the addressed sockets are disconnected.
    DisconnectSockets {
        /// Who.
        opts: BroadcastOptions,
        /// Whether the underlying connection is closed too.
        close: Option<bool>,
    },
    /// 7: the addressed sockets' details are asked for.
    FetchSockets {
        /// Who.
        opts: BroadcastOptions,
        /// The request.
        request_id: String,
    },
    /// 8: one node's sockets (`{id, handshake, rooms, data}` each).
    FetchSocketsResponse {
        /// The request answered.
        request_id: String,
        /// The sockets.
        sockets: Vec<Value>,
    },
    /// 9: `[event, ...args]` for the other servers; with `request_id`, acked.
    ServerSideEmit {
        /// Set when an ack is expected.
        request_id: Option<String>,
        /// `[event, ...args]`.
        packet: Vec<Value>,
    },
    /// 10: one server's ack (`packet` is the ack's argument, `None` when absent).
    ServerSideEmitResponse {
        /// The request answered.
        request_id: String,
        /// The ack's argument.
        packet: Option<Value>,
    },
    /// 11: how many clients of one node got a broadcast with ack.
    BroadcastClientCount {
        /// The request answered.
        request_id: String,
        /// Acks to wait for from that node.
        client_count: u64,
    },
    /// 12: one client's ack of a broadcast.
    BroadcastAck {
        /// The request answered.
        request_id: String,
        /// The ack's argument (`None` when absent).
        packet: Option<Value>,
    },
    /// 13: a node leaves.
    AdapterClose,
}

impl ClusterBody {
    /// The `type` number on the wire.
    ///
    /// ```
    /// assert_eq!(socketwire::socketio::adapter::cluster::ClusterBody::Heartbeat.message_type(), 2);
    /// ```
    pub fn message_type(&self) -> u64 {
        match self {
            ClusterBody::InitialHeartbeat => 1,
            ClusterBody::Heartbeat => 2,
            ClusterBody::Broadcast { .. } => 3,
            ClusterBody::SocketsJoin { .. } => 4,
            ClusterBody::SocketsLeave { .. } => 5,
            ClusterBody::DisconnectSockets { .. } => 6,
            ClusterBody::FetchSockets { .. } => 7,
            ClusterBody::FetchSocketsResponse { .. } => 8,
            ClusterBody::ServerSideEmit { .. } => 9,
            ClusterBody::ServerSideEmitResponse { .. } => 10,
            ClusterBody::BroadcastClientCount { .. } => 11,
            ClusterBody::BroadcastAck { .. } => 12,
            ClusterBody::AdapterClose => 13,
        }
    }

    /// The request id a response answers (types 8, 10, 11, 12).
    ///
    /// ```
    /// use socketwire::socketio::adapter::cluster::ClusterBody;
    /// let b = ClusterBody::BroadcastClientCount { request_id: "r".into(), client_count: 2 };
    /// assert_eq!(b.response_to(), Some("r"));
    /// assert_eq!(ClusterBody::Heartbeat.response_to(), None);
    /// ```
    pub fn response_to(&self) -> Option<&str> {
        match self {
            ClusterBody::FetchSocketsResponse { request_id, .. }
            | ClusterBody::ServerSideEmitResponse { request_id, .. }
            | ClusterBody::BroadcastClientCount { request_id, .. }
            | ClusterBody::BroadcastAck { request_id, .. } => Some(request_id),
            _ => None,
        }
    }

    /// Reads a body from its `type` and `data` (`None`: no `data` field).
    fn from_parts(
        message_type: u64,
        data: Option<&Value>,
        limits: &DecodeLimits,
    ) -> Result<ClusterBody, Error> {
        let no_data = || Value::object();
        let empty = no_data();
        let data_value = data.unwrap_or(&empty);
        if !(1..=13).contains(&message_type) {
            return Err(Error::UnknownType(message_type));
        }
        let needs_data = !matches!(message_type, 1 | 2 | 13);
        if needs_data && data.is_none() {
            return Err(Error::MissingField("data"));
        }
        let f = Fields::new(data_value, limits).map_err(|_| Error::InvalidField("data"))?;
        let opts = || f.opts(limits);
        Ok(match message_type {
            1 => ClusterBody::InitialHeartbeat,
            2 => ClusterBody::Heartbeat,
            3 => ClusterBody::Broadcast {
                packet: AdapterPacket::from_value(f.required("packet")?, limits)?,
                request_id: f.opt_string("requestId")?,
                opts: opts()?,
            },
            4 => ClusterBody::SocketsJoin {
                opts: opts()?,
                rooms: f.rooms("rooms")?,
            },
            5 => ClusterBody::SocketsLeave {
                opts: opts()?,
                rooms: f.rooms("rooms")?,
            },
            6 => ClusterBody::DisconnectSockets {
                opts: opts()?,
                close: f.opt_bool("close")?,
            },
            7 => ClusterBody::FetchSockets {
                opts: opts()?,
                request_id: f.string("requestId")?,
            },
            8 => ClusterBody::FetchSocketsResponse {
                request_id: f.string("requestId")?,
                sockets: f.list("sockets")?,
            },
            9 => ClusterBody::ServerSideEmit {
                request_id: f.opt_string("requestId")?,
                packet: f.list("packet")?,
            },
            10 => ClusterBody::ServerSideEmitResponse {
                request_id: f.string("requestId")?,
                packet: f.value("packet").cloned(),
            },
            11 => ClusterBody::BroadcastClientCount {
                request_id: f.string("requestId")?,
                client_count: f.u64("clientCount")?,
            },
            12 => ClusterBody::BroadcastAck {
                request_id: f.string("requestId")?,
                packet: f.value("packet").cloned(),
            },
            13 => ClusterBody::AdapterClose,
            other => return Err(Error::UnknownType(other)),
        })
    }

    /// The `data` object, keys in the JS order (`None` for the heartbeats and close).
    fn data(&self) -> Option<Value> {
        let id = |s: &String| Value::from(s.as_str());
        Some(match self {
            ClusterBody::InitialHeartbeat | ClusterBody::Heartbeat | ClusterBody::AdapterClose => {
                return None;
            }
            ClusterBody::Broadcast {
                packet,
                request_id,
                opts,
            } => {
                let mut pairs = vec![("packet", packet.to_value())];
                if let Some(r) = request_id {
                    pairs.push(("requestId", id(r)));
                }
                pairs.push(("opts", opts.to_value()));
                object(pairs)
            }
            ClusterBody::SocketsJoin { opts, rooms }
            | ClusterBody::SocketsLeave { opts, rooms } => object(vec![
                ("opts", opts.to_value()),
                ("rooms", string_list(rooms)),
            ]),
            ClusterBody::DisconnectSockets { opts, close } => {
                let mut pairs = vec![("opts", opts.to_value())];
                if let Some(close) = close {
                    pairs.push(("close", (*close).into()));
                }
                object(pairs)
            }
            ClusterBody::FetchSockets { opts, request_id } => object(vec![
                ("opts", opts.to_value()),
                ("requestId", id(request_id)),
            ]),
            ClusterBody::FetchSocketsResponse {
                request_id,
                sockets,
            } => object(vec![
                ("requestId", id(request_id)),
                ("sockets", Value::Array(sockets.clone())),
            ]),
            ClusterBody::ServerSideEmit { request_id, packet } => {
                let mut pairs = Vec::new();
                if let Some(r) = request_id {
                    pairs.push(("requestId", id(r)));
                }
                pairs.push(("packet", Value::Array(packet.clone())));
                object(pairs)
            }
            ClusterBody::ServerSideEmitResponse { request_id, packet }
            | ClusterBody::BroadcastAck { request_id, packet } => {
                let mut pairs = vec![("requestId", id(request_id))];
                if let Some(p) = packet {
                    pairs.push(("packet", p.clone()));
                }
                object(pairs)
            }
            ClusterBody::BroadcastClientCount {
                request_id,
                client_count,
            } => object(vec![
                ("requestId", id(request_id)),
                ("clientCount", (*client_count).into()),
            ]),
        })
    }

    /// The types whose `data` may hold binary (the adapters' `mayContainBinary`).
    fn may_contain_binary(&self) -> bool {
        matches!(self.message_type(), 3 | 8 | 9 | 10 | 12)
    }
}

impl ClusterMessage {
    /// Decodes a pub/sub payload (JSON, or msgpack when it does not start with `{`).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::adapter::{DecodeLimits, Error, cluster::ClusterMessage};
    /// let e = ClusterMessage::decode(&Bytes::from_static(br#"{"type":99,"uid":"u","nsp":"/"}"#), &DecodeLimits::default());
    /// assert_eq!(e, Err(Error::UnknownType(99)));
    /// ```
    pub fn decode(payload: &Bytes, limits: &DecodeLimits) -> Result<ClusterMessage, Error> {
        let value = decode_payload(payload, limits)?;
        let f = Fields::new(&value, limits)?;
        let uid = f.string("uid")?;
        let nsp = f.string("nsp")?;
        let body = ClusterBody::from_parts(f.u64("type")?, f.value("data"), limits)?;
        Ok(ClusterMessage { uid, nsp, body })
    }

    /// The message as a value: `{type, data?, uid, nsp}`, the order
    /// `publishAndReturnOffset` leaves the keys in.
    ///
    /// ```
    /// use socketwire::socketio::adapter::cluster::{ClusterBody, ClusterMessage};
    /// let m = ClusterMessage { uid: "u".into(), nsp: "/".into(), body: ClusterBody::AdapterClose };
    /// assert_eq!(m.to_value().to_json_string(), r#"{"type":13,"uid":"u","nsp":"/"}"#);
    /// ```
    pub fn to_value(&self) -> Value {
        let mut pairs = vec![("type", Value::from(self.body.message_type()))];
        if let Some(data) = self.body.data() {
            pairs.push(("data", data));
        }
        pairs.push(("uid", self.uid.as_str().into()));
        pairs.push(("nsp", self.nsp.as_str().into()));
        object(pairs)
    }

    /// The sharded adapter's choice: msgpack when the type may carry binary and
    /// `data` does, JSON otherwise. (The streams adapter always uses msgpack on
    /// pub/sub: pass [`Encoding::Msgpack`] to [`ClusterMessage::encode`].)
    ///
    /// ```
    /// use socketwire::socketio::adapter::{Encoding, cluster::{ClusterBody, ClusterMessage}};
    /// let m = ClusterMessage { uid: "u".into(), nsp: "/".into(), body: ClusterBody::Heartbeat };
    /// assert_eq!(m.encoding(), Encoding::Json);
    /// ```
    pub fn encoding(&self) -> Encoding {
        let binary =
            self.body.may_contain_binary() && self.body.data().is_some_and(|d| d.contains_bytes());
        if binary {
            Encoding::Msgpack
        } else {
            Encoding::Json
        }
    }

    /// Encodes the message with `encoding`.
    ///
    /// ```
    /// use socketwire::socketio::adapter::{Encoding, cluster::{ClusterBody, ClusterMessage}};
    /// let m = ClusterMessage { uid: "u".into(), nsp: "/".into(), body: ClusterBody::InitialHeartbeat };
    /// assert_eq!(&m.encode(Encoding::Json)[..], br#"{"type":1,"uid":"u","nsp":"/"}"#);
    /// ```
    pub fn encode(&self, encoding: Encoding) -> Bytes {
        encode_payload(&self.to_value(), encoding)
    }

    /// The stream entry the streams adapter `XADD`s for this message.
    ///
    /// ```
    /// use socketwire::socketio::adapter::cluster::{ClusterBody, ClusterMessage};
    /// let m = ClusterMessage { uid: "u".into(), nsp: "/".into(), body: ClusterBody::Heartbeat };
    /// let e = m.to_stream_entry();
    /// assert_eq!((e.message_type.as_str(), e.data), ("2", None));
    /// ```
    pub fn to_stream_entry(&self) -> StreamEntry {
        let data = self.body.data().map(|data| {
            if self.body.may_contain_binary() && data.contains_bytes() {
                super::base64::encode(&encode_payload(&data, Encoding::Msgpack))
            } else {
                data.to_json_string()
            }
        });
        StreamEntry {
            uid: self.uid.clone(),
            nsp: self.nsp.clone(),
            message_type: self.body.message_type().to_string(),
            data,
        }
    }

    /// Reads a stream entry (`type` a decimal string; `data` JSON when it starts
    /// with `{`, base64 of msgpack otherwise).
    ///
    /// ```
    /// use socketwire::socketio::adapter::{DecodeLimits, cluster::{ClusterBody, ClusterMessage, StreamEntry}};
    /// let e = StreamEntry { uid: "u".into(), nsp: "/".into(), message_type: "13".into(), data: None };
    /// let m = ClusterMessage::from_stream_entry(&e, &DecodeLimits::default()).unwrap();
    /// assert_eq!(m.body, ClusterBody::AdapterClose);
    /// ```
    pub fn from_stream_entry(
        entry: &StreamEntry,
        limits: &DecodeLimits,
    ) -> Result<ClusterMessage, Error> {
        let message_type = parse_decimal(&entry.message_type).ok_or(Error::InvalidField("type"))?;
        let data = match &entry.data {
            None => None,
            Some(text) if text.len() > limits.max_payload_len => {
                return Err(Error::TooLarge {
                    len: text.len(),
                    max: limits.max_payload_len,
                });
            }
            Some(text) if text.starts_with('{') => Some(decode_payload(
                &Bytes::copy_from_slice(text.as_bytes()),
                limits,
            )?),
            Some(text) => {
                let raw = super::base64::decode(text.as_bytes()).ok_or(Error::InvalidBase64)?;
                Some(decode_payload(&Bytes::from(raw), limits)?)
            }
        };
        Ok(ClusterMessage {
            uid: entry.uid.clone(),
            nsp: entry.nsp.clone(),
            body: ClusterBody::from_parts(message_type, data.as_ref(), limits)?,
        })
    }
}

/// `parseInt(type, 10)` for the digits-only strings the adapter writes.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The fields of one streams-adapter entry (`XADD <stream> MAXLEN ~ <n> * uid … nsp … type … data …`).
///
/// ```
/// use socketwire::socketio::adapter::cluster::StreamEntry;
/// let e = StreamEntry { uid: "u".into(), nsp: "/".into(), message_type: "2".into(), data: None };
/// assert_eq!(e.fields().count(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    /// Field `uid`.
    pub uid: String,
    /// Field `nsp`.
    pub nsp: String,
    /// Field `type`, the decimal message type.
    pub message_type: String,
    /// Field `data`: JSON, or base64 of msgpack when it holds binary.
    pub data: Option<String>,
}

impl StreamEntry {
    /// The `(field, value)` pairs in `XADD` order.
    ///
    /// ```
    /// use socketwire::socketio::adapter::cluster::StreamEntry;
    /// let e = StreamEntry { uid: "u".into(), nsp: "/".into(), message_type: "2".into(), data: None };
    /// assert_eq!(e.fields().next(), Some(("uid", "u")));
    /// ```
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        [
            ("uid", Some(self.uid.as_str())),
            ("nsp", Some(&self.nsp)),
            ("type", Some(&self.message_type)),
            ("data", self.data.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }
}
