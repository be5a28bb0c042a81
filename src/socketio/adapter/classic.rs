//! The messages of the classic Redis adapter (`@socket.io/redis-adapter` 8.x
//! `createAdapter`): broadcasts, requests and responses.
//!
//! | message | channel | encoding | shape |
//! |---|---|---|---|
//! | [`ClassicBroadcast`] | `<key>#<nsp>#[<room>#]` | msgpack | `[uid, packet, {rooms, except, flags}]` |
//! | [`ClassicRequest`] | `<key>-request#<nsp>#` | JSON; msgpack for [`RequestBody::Broadcast`] | `{uid, requestId?, type, …}` |
//! | [`ClassicResponse`] | `<key>-response#<nsp>#[<uid>#]` | JSON; msgpack for [`ClassicResponse::BroadcastAck`] | `{type?, requestId, …}` |
//!
//! The request types are those of the adapter's `RequestType` enum:
//! SOCKETS 0, ALL_ROOMS 1, REMOTE_JOIN 2, REMOTE_LEAVE 3, REMOTE_DISCONNECT 4,
//! REMOTE_FETCH 5, SERVER_SIDE_EMIT 6, BROADCAST 7, BROADCAST_CLIENT_COUNT 8,
//! BROADCAST_ACK 9.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use bytes::Bytes;

use super::error::Error;
use super::payload::{
    AdapterPacket, BroadcastOptions, DecodeLimits, Encoding, Fields, decode_payload,
    encode_payload, object, string_list,
};
use crate::socketio::Value;

/// The uid `@socket.io/redis-emitter` publishes with (never a node's).
pub const EMITTER_UID: &str = "emitter";

/// A broadcast on `<key>#<nsp>#` (or `<key>#<nsp>#<room>#` when it targets
/// exactly one room): msgpack `[uid, packet, opts]`.
///
/// ```
/// use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions, DecodeLimits, classic::ClassicBroadcast};
/// let b = ClassicBroadcast {
///     uid: "abc123".into(),
///     packet: AdapterPacket { nsp: Some("/".into()), ..AdapterPacket::event(vec!["ev".into()]) },
///     opts: BroadcastOptions::default(),
/// };
/// let bytes = b.encode();
/// assert_eq!(ClassicBroadcast::decode(&bytes, &DecodeLimits::default()).unwrap(), b);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClassicBroadcast {
    /// The sender's uid (6 characters), or [`EMITTER_UID`].
    pub uid: String,
    /// The packet; a missing `nsp` means `/` (see [`ClassicBroadcast::namespace`]).
    pub packet: AdapterPacket,
    /// Rooms, except, flags.
    pub opts: BroadcastOptions,
}

impl ClassicBroadcast {
    /// Decodes the msgpack array `[uid, packet, opts]`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::adapter::{DecodeLimits, Error, classic::ClassicBroadcast};
    /// let e = ClassicBroadcast::decode(&Bytes::from_static(&[0x90]), &DecodeLimits::default());
    /// assert_eq!(e, Err(Error::NotAnObject));
    /// ```
    pub fn decode(payload: &Bytes, limits: &DecodeLimits) -> Result<ClassicBroadcast, Error> {
        let value = decode_payload(payload, limits)?;
        let Value::Array(items) = value else {
            return Err(Error::NotAnObject);
        };
        let [uid, packet, opts] = <[Value; 3]>::try_from(items).map_err(|_| Error::NotAnObject)?;
        let Value::String(uid) = uid else {
            return Err(Error::InvalidField("uid"));
        };
        Ok(ClassicBroadcast {
            uid,
            packet: AdapterPacket::from_value(&packet, limits)?,
            opts: BroadcastOptions::from_value(&opts, limits)?,
        })
    }

    /// Encodes the msgpack array `[uid, packet, opts]`.
    ///
    /// ```
    /// use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions, classic::ClassicBroadcast};
    /// let b = ClassicBroadcast { uid: "u".into(), packet: AdapterPacket::event(vec![]), opts: BroadcastOptions::default() };
    /// assert_eq!(b.encode()[0], 0x93); // fixarray of 3
    /// ```
    pub fn encode(&self) -> Bytes {
        let value = Value::Array(vec![
            self.uid.as_str().into(),
            self.packet.to_value(),
            self.opts.to_value(),
        ]);
        encode_payload(&value, Encoding::Msgpack)
    }

    /// The packet's namespace (`/` when the sender left it out).
    ///
    /// ```
    /// use socketwire::socketio::adapter::{AdapterPacket, BroadcastOptions, classic::ClassicBroadcast};
    /// let b = ClassicBroadcast { uid: "u".into(), packet: AdapterPacket::event(vec![]), opts: BroadcastOptions::default() };
    /// assert_eq!(b.namespace(), "/");
    /// ```
    pub fn namespace(&self) -> &str {
        self.packet.nsp.as_deref().unwrap_or("/")
    }
}

/// A request on `<key>-request#<nsp>#`: who asks, the request id when an answer
/// is expected, and what is asked.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::adapter::{DecodeLimits, classic::{ClassicRequest, RequestBody}};
/// let raw = Bytes::from_static(br#"{"uid":"EJl19D","requestId":"_AHRI7","type":1}"#);
/// let r = ClassicRequest::decode(&raw, &DecodeLimits::default()).unwrap();
/// assert_eq!(r.body, RequestBody::AllRooms);
/// assert_eq!(r.encode(), raw);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClassicRequest {
    /// The requester's uid.
    pub uid: String,
    /// The request id (6 characters), when an answer is expected.
    pub request_id: Option<String>,
    /// What is asked.
    pub body: RequestBody,
}

/// What a [`ClassicRequest`] asks.
///
/// ```
/// use socketwire::socketio::adapter::classic::RequestBody;
/// assert_eq!(RequestBody::AllRooms.request_type(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RequestBody {
    /// SOCKETS (0, socket.io < 4): the ids of the sockets in `rooms`.
    Sockets {
        /// The rooms (empty: all).
        rooms: Vec<String>,
    },
    /// ALL_ROOMS (1): every room of every node.
    AllRooms,
    /// REMOTE_JOIN (2): the addressed sockets join `rooms`.
    Join {
        /// Who.
        opts: BroadcastOptions,
        /// The rooms to join.
        rooms: Vec<String>,
    },
    /// REMOTE_LEAVE (3): the addressed sockets leave `rooms`.
    Leave {
        /// Who.
        opts: BroadcastOptions,
        /// The rooms to leave.
        rooms: Vec<String>,
    },
    /// REMOTE_DISCONNECT (4): the addressed sockets are disconnected.
    Disconnect {
        /// Who.
        opts: BroadcastOptions,
        /// Whether the underlying connection is closed too.
        close: Option<bool>,
    },
    /// REMOTE_FETCH (5): the addressed sockets' id, handshake, rooms and data.
    Fetch {
        /// Who.
        opts: BroadcastOptions,
    },
    /// SERVER_SIDE_EMIT (6): `[event, ...args]` for the other servers.
    ServerSideEmit {
        /// `[event, ...args]`.
        data: Vec<Value>,
    },
    /// BROADCAST (7): a broadcast that waits for the clients' acks.
    Broadcast {
        /// The packet.
        packet: AdapterPacket,
        /// Who.
        opts: BroadcastOptions,
    },
}

impl RequestBody {
    /// The `type` number on the wire.
    ///
    /// ```
    /// use socketwire::socketio::adapter::{BroadcastOptions, classic::RequestBody};
    /// assert_eq!(RequestBody::Fetch { opts: BroadcastOptions::default() }.request_type(), 5);
    /// ```
    pub fn request_type(&self) -> u64 {
        match self {
            RequestBody::Sockets { .. } => 0,
            RequestBody::AllRooms => 1,
            RequestBody::Join { .. } => 2,
            RequestBody::Leave { .. } => 3,
            RequestBody::Disconnect { .. } => 4,
            RequestBody::Fetch { .. } => 5,
            RequestBody::ServerSideEmit { .. } => 6,
            RequestBody::Broadcast { .. } => 7,
        }
    }
}

impl ClassicRequest {
    /// Decodes a request (JSON, or msgpack when it does not start with `{`).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::adapter::{DecodeLimits, Error, classic::ClassicRequest};
    /// let e = ClassicRequest::decode(&Bytes::from_static(br#"{"uid":"u","type":42}"#), &DecodeLimits::default());
    /// assert_eq!(e, Err(Error::UnknownType(42)));
    /// ```
    pub fn decode(payload: &Bytes, limits: &DecodeLimits) -> Result<ClassicRequest, Error> {
        let value = decode_payload(payload, limits)?;
        let f = Fields::new(&value, limits)?;
        let opts = || f.opts(limits);
        let body = match f.u64("type")? {
            0 => RequestBody::Sockets {
                rooms: f.rooms("rooms")?,
            },
            1 => RequestBody::AllRooms,
            2 => RequestBody::Join {
                opts: opts()?,
                rooms: f.rooms("rooms")?,
            },
            3 => RequestBody::Leave {
                opts: opts()?,
                rooms: f.rooms("rooms")?,
            },
            4 => RequestBody::Disconnect {
                opts: opts()?,
                close: f.opt_bool("close")?,
            },
            5 => RequestBody::Fetch { opts: opts()? },
            6 => RequestBody::ServerSideEmit {
                data: f.list("data")?,
            },
            7 => RequestBody::Broadcast {
                packet: AdapterPacket::from_value(f.required("packet")?, limits)?,
                opts: opts()?,
            },
            other => return Err(Error::UnknownType(other)),
        };
        let request_id = f.opt_string("requestId")?;
        let needs_id = matches!(
            body,
            RequestBody::Sockets { .. }
                | RequestBody::AllRooms
                | RequestBody::Fetch { .. }
                | RequestBody::Broadcast { .. }
        );
        if needs_id && request_id.is_none() {
            return Err(Error::MissingField("requestId"));
        }
        Ok(ClassicRequest {
            uid: f.string("uid")?,
            request_id,
            body,
        })
    }

    /// The encoding the JS adapter uses for this request: msgpack for a
    /// broadcast with ack (its packet may hold binary), JSON otherwise.
    ///
    /// ```
    /// use socketwire::socketio::adapter::{Encoding, classic::{ClassicRequest, RequestBody}};
    /// let r = ClassicRequest { uid: "u".into(), request_id: Some("r".into()), body: RequestBody::AllRooms };
    /// assert_eq!(r.encoding(), Encoding::Json);
    /// ```
    pub fn encoding(&self) -> Encoding {
        match self.body {
            RequestBody::Broadcast { .. } => Encoding::Msgpack,
            _ => Encoding::Json,
        }
    }

    /// The request as a value, keys in the JS order (`uid`, `requestId`, `type`, …).
    ///
    /// ```
    /// use socketwire::socketio::adapter::classic::{ClassicRequest, RequestBody};
    /// let r = ClassicRequest { uid: "u".into(), request_id: None, body: RequestBody::ServerSideEmit { data: vec!["e".into()] } };
    /// assert_eq!(r.to_value().to_json_string(), r#"{"uid":"u","type":6,"data":["e"]}"#);
    /// ```
    pub fn to_value(&self) -> Value {
        let mut pairs = vec![("uid", Value::from(self.uid.as_str()))];
        if let Some(id) = &self.request_id {
            pairs.push(("requestId", id.as_str().into()));
        }
        pairs.push(("type", self.body.request_type().into()));
        // The classic requests carry `{rooms, except}` without flags, except the broadcast.
        match &self.body {
            RequestBody::Sockets { rooms } => pairs.push(("rooms", string_list(rooms))),
            RequestBody::AllRooms => {}
            RequestBody::Join { opts, rooms } | RequestBody::Leave { opts, rooms } => {
                pairs.push(("opts", opts.to_value()));
                pairs.push(("rooms", string_list(rooms)));
            }
            RequestBody::Disconnect { opts, close } => {
                pairs.push(("opts", opts.to_value()));
                if let Some(close) = close {
                    pairs.push(("close", (*close).into()));
                }
            }
            RequestBody::Fetch { opts } => pairs.push(("opts", opts.to_value())),
            RequestBody::ServerSideEmit { data } => {
                pairs.push(("data", Value::Array(data.clone())))
            }
            RequestBody::Broadcast { packet, opts } => {
                pairs.push(("packet", packet.to_value()));
                pairs.push(("opts", opts.to_value()));
            }
        }
        object(pairs)
    }

    /// Encodes the request as the JS adapter does ([`ClassicRequest::encoding`]).
    ///
    /// ```
    /// use socketwire::socketio::adapter::classic::{ClassicRequest, RequestBody};
    /// let r = ClassicRequest { uid: "u".into(), request_id: Some("r".into()), body: RequestBody::AllRooms };
    /// assert_eq!(&r.encode()[..], br#"{"uid":"u","requestId":"r","type":1}"#);
    /// ```
    pub fn encode(&self) -> Bytes {
        encode_payload(&self.to_value(), self.encoding())
    }
}

/// A response on `<key>-response#<nsp>#` (or the requester's specific channel).
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::adapter::{DecodeLimits, classic::ClassicResponse};
/// let raw = Bytes::from_static(br#"{"type":8,"requestId":"_9Mywa","clientCount":1}"#);
/// let r = ClassicResponse::decode(&raw, &DecodeLimits::default()).unwrap();
/// assert_eq!(r, ClassicResponse::BroadcastClientCount { request_id: "_9Mywa".into(), client_count: 1 });
/// assert_eq!(r.encode(), raw);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClassicResponse {
    /// `{requestId, sockets}`: the answer to SOCKETS (ids) and REMOTE_FETCH
    /// (`{id, handshake, rooms, data}` objects).
    Sockets {
        /// The request answered.
        request_id: String,
        /// One entry per socket.
        sockets: Vec<Value>,
    },
    /// `{requestId, rooms}`: the answer to ALL_ROOMS.
    AllRooms {
        /// The request answered.
        request_id: String,
        /// The node's rooms.
        rooms: Vec<String>,
    },
    /// `{type: 6, requestId, data}`: one server's ack of a server-side emit
    /// (`data` is the ack's first argument, `None` when there was none).
    ServerSideEmit {
        /// The request answered.
        request_id: String,
        /// The ack's argument.
        data: Option<Value>,
    },
    /// `{type: 8, requestId, clientCount}`: how many clients of that node got
    /// a broadcast with ack.
    BroadcastClientCount {
        /// The request answered.
        request_id: String,
        /// The number of acks to wait for from that node.
        client_count: u64,
    },
    /// `{type: 9, requestId, packet}` (msgpack): one client's ack.
    BroadcastAck {
        /// The request answered.
        request_id: String,
        /// The ack's argument (`Null` when there was none).
        packet: Value,
    },
}

impl ClassicResponse {
    /// Decodes a response. The typed ones (6, 8, 9) carry `type`; the others
    /// are told apart by their `sockets` or `rooms` field.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::adapter::{DecodeLimits, classic::ClassicResponse};
    /// let r = ClassicResponse::decode(&Bytes::from_static(br#"{"requestId":"r","rooms":["a"]}"#), &DecodeLimits::default());
    /// assert_eq!(r.unwrap(), ClassicResponse::AllRooms { request_id: "r".into(), rooms: vec!["a".into()] });
    /// ```
    pub fn decode(payload: &Bytes, limits: &DecodeLimits) -> Result<ClassicResponse, Error> {
        let value = decode_payload(payload, limits)?;
        let f = Fields::new(&value, limits)?;
        let request_id = f.string("requestId")?;
        Ok(match f.opt_u64("type")? {
            Some(6) => ClassicResponse::ServerSideEmit {
                request_id,
                data: f.value("data").cloned(),
            },
            Some(8) => ClassicResponse::BroadcastClientCount {
                request_id,
                client_count: f.u64("clientCount")?,
            },
            Some(9) => ClassicResponse::BroadcastAck {
                request_id,
                packet: f.value("packet").cloned().unwrap_or_default(),
            },
            Some(other) => return Err(Error::UnknownType(other)),
            None if f.value("sockets").is_some() => ClassicResponse::Sockets {
                request_id,
                sockets: f.list("sockets")?,
            },
            None if f.value("rooms").is_some() => ClassicResponse::AllRooms {
                request_id,
                rooms: f.rooms("rooms")?,
            },
            None => return Err(Error::MissingField("sockets")),
        })
    }

    /// The request this answers.
    ///
    /// ```
    /// use socketwire::socketio::adapter::classic::ClassicResponse;
    /// let r = ClassicResponse::BroadcastClientCount { request_id: "r".into(), client_count: 0 };
    /// assert_eq!(r.request_id(), "r");
    /// ```
    pub fn request_id(&self) -> &str {
        match self {
            ClassicResponse::Sockets { request_id, .. }
            | ClassicResponse::AllRooms { request_id, .. }
            | ClassicResponse::ServerSideEmit { request_id, .. }
            | ClassicResponse::BroadcastClientCount { request_id, .. }
            | ClassicResponse::BroadcastAck { request_id, .. } => request_id,
        }
    }

    /// The response as a value, keys in the JS order.
    ///
    /// ```
    /// use socketwire::socketio::adapter::classic::ClassicResponse;
    /// let r = ClassicResponse::Sockets { request_id: "r".into(), sockets: vec![] };
    /// assert_eq!(r.to_value().to_json_string(), r#"{"requestId":"r","sockets":[]}"#);
    /// ```
    pub fn to_value(&self) -> Value {
        match self {
            ClassicResponse::Sockets {
                request_id,
                sockets,
            } => object(vec![
                ("requestId", request_id.as_str().into()),
                ("sockets", Value::Array(sockets.clone())),
            ]),
            ClassicResponse::AllRooms { request_id, rooms } => object(vec![
                ("requestId", request_id.as_str().into()),
                ("rooms", string_list(rooms)),
            ]),
            ClassicResponse::ServerSideEmit { request_id, data } => {
                let mut pairs = vec![
                    ("type", Value::from(6u64)),
                    ("requestId", request_id.as_str().into()),
                ];
                if let Some(data) = data {
                    pairs.push(("data", data.clone()));
                }
                object(pairs)
            }
            ClassicResponse::BroadcastClientCount {
                request_id,
                client_count,
            } => object(vec![
                ("type", 8u64.into()),
                ("requestId", request_id.as_str().into()),
                ("clientCount", (*client_count).into()),
            ]),
            ClassicResponse::BroadcastAck { request_id, packet } => object(vec![
                ("type", 9u64.into()),
                ("requestId", request_id.as_str().into()),
                ("packet", packet.clone()),
            ]),
        }
    }

    /// Encodes as the JS adapter does: msgpack for [`ClassicResponse::BroadcastAck`],
    /// JSON for the others.
    ///
    /// ```
    /// use socketwire::socketio::adapter::classic::ClassicResponse;
    /// let r = ClassicResponse::BroadcastAck { request_id: "r".into(), packet: "ok".into() };
    /// assert_eq!(r.encode()[0], 0x83); // a msgpack fixmap of 3
    /// ```
    pub fn encode(&self) -> Bytes {
        let encoding = match self {
            ClassicResponse::BroadcastAck { .. } => Encoding::Msgpack,
            _ => Encoding::Json,
        };
        encode_payload(&self.to_value(), encoding)
    }
}
