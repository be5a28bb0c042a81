//! Binary attachments: the encoder that turns blobs into placeholders
//! ([`EncodedPacket`]) and the sans-IO [`Reassembler`] that puts them back.

use alloc::string::String;
use alloc::vec::Vec;

use bytes::Bytes;

use super::error::{ApiMisuse, Error};
use super::packet::{DecoderConfig, Packet, PacketType, SocketIoVersion, write_header_bytes};
use super::parser::Parser;
use super::value::{Value, write_args_with_placeholders};

/// One decoded Engine.IO message payload, as the Socket.IO layer sends or
/// receives it: a text message (always UTF-8) or a binary one.
///
/// Both variants hold `Bytes`, so a packet encoded once for a broadcast is
/// shared by every recipient without copying.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::EngineMessage;
/// let m = EngineMessage::Text(Bytes::from_static(b"2[\"foo\"]"));
/// assert_eq!(m.as_text(), Some("2[\"foo\"]"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineMessage {
    /// A text message; the bytes are UTF-8.
    Text(Bytes),
    /// A binary message (an attachment).
    Binary(Bytes),
}

impl EngineMessage {
    /// The text, for a text message.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::EngineMessage;
    /// assert_eq!(EngineMessage::Binary(Bytes::new()).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            EngineMessage::Text(b) => core::str::from_utf8(b).ok(),
            EngineMessage::Binary(_) => None,
        }
    }
}

/// A packet encoded once: the text header packet and its attachments in
/// `num` order, or (built by [`Parser::Msgpack`](super::Parser)) the one
/// binary msgpack message. Cheap to clone (reference-counted buffers), which is
/// how a broadcast is encoded once for all recipients.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::{EncodedPacket, Value};
/// let p = EncodedPacket::event("/admin", "foo", &[Value::Bytes(Bytes::from_static(&[1, 2, 3]))], Some(7));
/// assert_eq!(p.text(), r#"51-/admin,7["foo",{"_placeholder":true,"num":0}]"#);
/// assert_eq!(p.attachments(), &[Bytes::from_static(&[1, 2, 3])]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPacket {
    /// The text packet, or the msgpack packet.
    text: Bytes,
    attachments: Vec<Bytes>,
    namespace: String,
    parser: Parser,
}

impl EncodedPacket {
    /// Encodes EVENT `[name, ...args]`; BINARY_EVENT when an argument holds
    /// bytes (as the v5 encoder's `hasBinary`).
    ///
    /// ```
    /// use socketwire::socketio::EncodedPacket;
    /// assert_eq!(EncodedPacket::event("/", "foo", &[], None).text(), r#"2["foo"]"#);
    /// ```
    #[must_use = "queue the encoded packet on a session"]
    pub fn event(namespace: &str, name: &str, args: &[Value], id: Option<u64>) -> EncodedPacket {
        EncodedPacket::build(PacketType::BinaryEvent, namespace, id, |out, att| {
            write_args_with_placeholders(out, Some(name), args, att);
        })
    }

    /// Encodes ACK `[...args]` for `id`; BINARY_ACK when an argument holds bytes.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::{EncodedPacket, Value};
    /// let args = [Value::Bytes(Bytes::from_static(&[1])),
    ///             Value::Object(vec![("a".into(), Value::Bytes(Bytes::from_static(&[2])))])];
    /// let p = EncodedPacket::ack("/", 7, &args);
    /// assert_eq!(p.text(), r#"62-7[{"_placeholder":true,"num":0},{"a":{"_placeholder":true,"num":1}}]"#);
    /// ```
    #[must_use = "queue the encoded packet on a session"]
    pub fn ack(namespace: &str, id: u64, args: &[Value]) -> EncodedPacket {
        EncodedPacket::build(PacketType::BinaryAck, namespace, Some(id), |out, att| {
            write_args_with_placeholders(out, None, args, att);
        })
    }

    /// Encodes a packet with arbitrary data (CONNECT, CONNECT_ERROR, …). In
    /// EVENT/ACK data, blobs become placeholders and the type is promoted to
    /// BINARY_EVENT/BINARY_ACK; only those types carry attachments, so in any
    /// other type a blob is written as an array of byte values.
    ///
    /// ```
    /// use socketwire::socketio::{EncodedPacket, PacketType, Value};
    /// let data = Value::Object(vec![("sid".into(), "oSO0OpakMV_3jnilAAAA".into())]);
    /// let p = EncodedPacket::new(PacketType::Connect, "/admin", None, Some(&data));
    /// assert_eq!(p.text(), r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#);
    /// ```
    #[must_use = "queue the encoded packet on a session"]
    pub fn new(
        kind: PacketType,
        namespace: &str,
        id: Option<u64>,
        data: Option<&Value>,
    ) -> EncodedPacket {
        let kind = match kind {
            PacketType::Event => PacketType::BinaryEvent,
            PacketType::Ack => PacketType::BinaryAck,
            other => other,
        };
        let attachments_allowed = kind.is_binary();
        EncodedPacket::build(kind, namespace, id, |out, att| match data {
            Some(data) if attachments_allowed => data.write_with_placeholders(out, att),
            Some(data) => out.extend_from_slice(data.to_json_string().as_bytes()),
            None => {}
        })
    }

    /// Writes the data, then the header: `kind` is a binary type whenever the
    /// data may hold blobs, and is sent as one only if it did.
    fn build(
        kind: PacketType,
        namespace: &str,
        id: Option<u64>,
        write_data: impl FnOnce(&mut Vec<u8>, &mut Vec<Bytes>),
    ) -> EncodedPacket {
        let mut data = Vec::new();
        let mut attachments = Vec::new();
        write_data(&mut data, &mut attachments);
        let mut out = Vec::with_capacity(data.len() + namespace.len() + 24);
        // https://github.com/socketio/socket.io-protocol#5---binary_event
        // Data with binary is sent as BINARY_EVENT/BINARY_ACK plus one message
        // per attachment; data without stays a plain EVENT/ACK (`hasBinary`).
        let kind = if kind.is_binary() && attachments.is_empty() {
            kind.without_binary()
        } else {
            kind
        };
        write_header_bytes(&mut out, kind, attachments.len(), namespace, id);
        out.extend_from_slice(&data);
        EncodedPacket {
            text: Bytes::from(out),
            attachments,
            namespace: namespace.into(),
            parser: Parser::Json,
        }
    }

    /// One socket.io-msgpack-parser packet.
    #[cfg(feature = "msgpack")]
    pub(crate) fn msgpack(
        kind: PacketType,
        namespace: &str,
        id: Option<u64>,
        data: Option<super::msgpack::PacketData<'_>>,
    ) -> EncodedPacket {
        let mut out = Vec::new();
        super::msgpack::encode_packet(&mut out, kind, namespace, id, data);
        EncodedPacket {
            text: Bytes::from(out),
            attachments: Vec::new(),
            namespace: namespace.into(),
            parser: Parser::Msgpack,
        }
    }

    /// The wire format this packet was encoded in; a session queues only
    /// packets of its own.
    ///
    /// ```
    /// use socketwire::socketio::{EncodedPacket, Parser};
    /// assert_eq!(EncodedPacket::event("/", "a", &[], None).parser(), Parser::Json);
    /// ```
    pub fn parser(&self) -> Parser {
        self.parser
    }

    /// The text packet (empty for a msgpack packet, which is binary).
    ///
    /// ```
    /// use socketwire::socketio::EncodedPacket;
    /// assert_eq!(EncodedPacket::ack("/", 12, &[]).text(), "312[]");
    /// ```
    pub fn text(&self) -> &str {
        if self.parser != Parser::Json {
            return "";
        }
        // Built only from `str` pieces and serde_json output, so always UTF-8.
        core::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// The first message's payload as shared bytes: the text packet, or the
    /// msgpack packet.
    ///
    /// ```
    /// use socketwire::socketio::EncodedPacket;
    /// assert_eq!(&EncodedPacket::ack("/", 1, &[]).text_bytes()[..], b"31[]");
    /// ```
    pub fn text_bytes(&self) -> &Bytes {
        &self.text
    }

    /// The attachments, in `num` order.
    ///
    /// ```
    /// use socketwire::socketio::EncodedPacket;
    /// assert!(EncodedPacket::event("/", "a", &[], None).attachments().is_empty());
    /// ```
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The namespace this packet is addressed to.
    ///
    /// ```
    /// use socketwire::socketio::EncodedPacket;
    /// assert_eq!(EncodedPacket::event("/chat", "a", &[], None).namespace(), "/chat");
    /// assert_eq!(EncodedPacket::event("/", "a", &[], None).namespace(), "/");
    /// ```
    pub fn namespace(&self) -> &str {
        if self.namespace.is_empty() {
            "/"
        } else {
            &self.namespace
        }
    }

    /// The Engine.IO messages to send, in order: the text packet, then each
    /// attachment as a binary message; a msgpack packet is one binary message.
    ///
    /// ```
    /// use socketwire::socketio::{EncodedPacket, EngineMessage};
    /// let msgs: Vec<_> = EncodedPacket::event("/", "a", &[], None).messages().collect();
    /// assert!(matches!(msgs[..], [EngineMessage::Text(_)]));
    /// ```
    pub fn messages(&self) -> impl Iterator<Item = EngineMessage> + '_ {
        self.payloads()
            .enumerate()
            .map(|(i, payload)| match self.parser {
                Parser::Json if i == 0 => EngineMessage::Text(payload.clone()),
                _ => EngineMessage::Binary(payload.clone()),
            })
    }

    /// The payloads of [`EncodedPacket::messages`], in the same order,
    /// borrowed: the first message's, then each attachment.
    fn payloads(&self) -> impl Iterator<Item = &Bytes> + '_ {
        core::iter::once(&self.text).chain(&self.attachments)
    }

    /// The backpressure rule of a broadcast, for one recipient whose output
    /// holds `buffered_amount` bytes: whether this packet would take it past
    /// `max_buffered` (see [`BroadcastPacket::take_over_cap`](super::BroadcastPacket::take_over_cap),
    /// which applies it to every recipient).
    ///
    /// ```
    /// use socketwire::socketio::EncodedPacket;
    /// let packet = EncodedPacket::event("/", "a", &[], None);
    /// let len = packet.buffered_len();
    /// assert!(!packet.would_exceed(1000 - len, 1000));
    /// assert!(packet.would_exceed(1001 - len, 1000));
    /// assert!(packet.would_exceed(usize::MAX, 1000));
    /// ```
    #[must_use]
    pub fn would_exceed(&self, buffered_amount: usize, max_buffered: usize) -> bool {
        buffered_amount
            .checked_add(self.buffered_len())
            .is_none_or(|total| total > max_buffered)
    }

    /// The bytes this packet adds to a session's `buffered_amount` once
    /// queued: its text plus its attachments (each message counted as the
    /// sessions count queued messages).
    ///
    /// ```
    /// use socketwire::socketio::EncodedPacket;
    /// assert_eq!(EncodedPacket::event("/", "a", &[], None).buffered_len(), r#"2["a"]"#.len());
    /// ```
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        // A queued message counts its payload's length (`session::message_len`);
        // summed over the borrowed payloads, so that a broadcast's recipients
        // do not clone and drop its shared bytes to count them.
        self.payloads().map(Bytes::len).sum()
    }
}

/// A binary packet with its attachments restored.
///
/// `kind` is EVENT/ACK for v5 (the JS v5 decoder rewrites 5/6 to 2/3) and stays
/// BINARY_EVENT/BINARY_ACK for v4.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::{DecoderConfig, Reassembled, Reassembler};
/// let mut r = Reassembler::new(DecoderConfig::default());
/// assert!(matches!(r.handle_text(r#"51-["baz",{"_placeholder":true,"num":0}]"#), Ok(Reassembled::Pending)));
/// let p = r.handle_binary(Bytes::from_static(&[1, 2, 3, 4])).unwrap().unwrap();
/// assert_eq!(p.data.as_array().unwrap()[1].as_bytes().unwrap(), &Bytes::from_static(&[1, 2, 3, 4]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryPacket {
    /// The packet type (see above).
    pub kind: PacketType,
    /// The namespace.
    pub namespace: String,
    /// The ack id.
    pub id: Option<u64>,
    /// The data with every placeholder replaced by its attachment.
    pub data: Value,
    /// The raw JSON data of the header, placeholders included (zero-copy view).
    pub raw_data: String,
    /// The attachments in `num` order.
    pub attachments: Vec<Bytes>,
}

/// What one message fed to the [`Reassembler`] produced.
///
/// ```
/// use socketwire::socketio::{DecoderConfig, Reassembled, Reassembler};
/// let mut r = Reassembler::new(DecoderConfig::default());
/// assert!(matches!(r.handle_text(r#"2["foo"]"#), Ok(Reassembled::Text(_))));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Reassembled<'a> {
    /// A complete text packet (no attachments), borrowing the input.
    Text(Packet<'a>),
    /// A binary packet whose attachments are all in.
    Binary(BinaryPacket),
    /// A binary header was stored; attachments are expected.
    Pending,
}

#[derive(Debug)]
struct PendingPacket {
    kind: PacketType,
    namespace: String,
    id: Option<u64>,
    raw_data: String,
    expected: usize,
    attachments: Vec<Bytes>,
    total_bytes: usize,
}

/// Sans-IO reconstruction of binary packets: feed every decoded Engine.IO
/// message (text through [`handle_text`](Reassembler::handle_text), binary
/// through [`handle_binary`](Reassembler::handle_binary)) in arrival order.
///
/// A BINARY_EVENT/BINARY_ACK header is validated at once, then exactly
/// `attachments` binary messages complete it; placeholders are resolved by
/// their `num`. Limits: the count is refused above `max_attachments` before
/// anything is stored, and the attachments' total size above
/// `max_attachment_bytes`. After any error the partial packet is dropped (JS
/// `destroy()`), so the reassembler is idle again.
///
/// ```
/// use bytes::Bytes;
/// use socketwire::socketio::{DecoderConfig, Error, Reassembler};
/// let mut r = Reassembler::new(DecoderConfig::default());
/// assert_eq!(r.handle_binary(Bytes::from_static(b"x")), Err(Error::BinaryWhileNotReconstructing));
/// ```
#[derive(Debug)]
pub struct Reassembler {
    config: DecoderConfig,
    pending: Option<PendingPacket>,
}

impl Reassembler {
    /// An idle reassembler.
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Reassembler};
    /// assert!(!Reassembler::new(DecoderConfig::default()).is_reconstructing());
    /// ```
    pub fn new(config: DecoderConfig) -> Reassembler {
        Reassembler {
            config,
            pending: None,
        }
    }

    /// The configuration.
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Reassembler};
    /// assert_eq!(Reassembler::new(DecoderConfig::default()).config().max_attachments, 10);
    /// ```
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// `true` while attachments are expected.
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Reassembler};
    /// let mut r = Reassembler::new(DecoderConfig::default());
    /// r.handle_text(r#"51-["a",{"_placeholder":true,"num":0}]"#).unwrap();
    /// assert!(r.is_reconstructing());
    /// ```
    pub fn is_reconstructing(&self) -> bool {
        self.pending.is_some()
    }

    /// Drops a partial packet (JS `destroy()`).
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Reassembler};
    /// let mut r = Reassembler::new(DecoderConfig::default());
    /// r.handle_text(r#"51-["a",{"_placeholder":true,"num":0}]"#).unwrap();
    /// r.reset();
    /// assert!(!r.is_reconstructing());
    /// ```
    pub fn reset(&mut self) {
        self.pending = None;
    }

    /// Feeds a text message.
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Error, Reassembler};
    /// let mut r = Reassembler::new(DecoderConfig::default());
    /// r.handle_text(r#"51-["a",{"_placeholder":true,"num":0}]"#).unwrap();
    /// assert_eq!(r.handle_text(r#"2["b"]"#), Err(Error::PlaintextWhileReconstructing));
    /// ```
    pub fn handle_text<'a>(&mut self, text: &'a str) -> Result<Reassembled<'a>, Error> {
        if self.pending.take().is_some() {
            // https://github.com/socketio/socket.io-protocol#5---binary_event
            // The attachments follow their header, one binary message each, before
            // any other packet; socket.io-parser: "got plaintext data when
            // reconstructing a packet".
            return Err(Error::PlaintextWhileReconstructing);
        }
        let packet = Packet::decode(text, &self.config)?;
        if !packet.kind.is_binary() {
            return Ok(Reassembled::Text(packet));
        }
        self.start(packet)
    }

    /// Like [`handle_text`](Self::handle_text), but a text packet comes with its
    /// data as a [`Value`], parsed once (what the sessions use).
    ///
    /// ```
    /// use socketwire::socketio::{DecoderConfig, Reassembled, Reassembler};
    /// let mut r = Reassembler::new(DecoderConfig::default());
    /// let (Reassembled::Text(p), Some(data)) = r.handle_text_value(r#"2["a",1]"#).unwrap() else { panic!() };
    /// assert_eq!(data.as_array().unwrap().len(), 2);
    /// ```
    pub fn handle_text_value<'a>(
        &mut self,
        text: &'a str,
    ) -> Result<(Reassembled<'a>, Option<Value>), Error> {
        if self.pending.take().is_some() {
            return Err(Error::PlaintextWhileReconstructing);
        }
        if text
            .as_bytes()
            .first()
            .is_some_and(|&b| b == b'5' || b == b'6')
        {
            let packet = Packet::decode(text, &self.config)?;
            return Ok((self.start(packet)?, None));
        }
        let (packet, data) = Packet::decode_value(text, &self.config)?;
        Ok((Reassembled::Text(packet), data))
    }

    fn start<'a>(&mut self, packet: Packet<'a>) -> Result<Reassembled<'a>, Error> {
        let pending = PendingPacket {
            kind: packet.kind,
            namespace: packet.namespace.into(),
            id: packet.id,
            raw_data: packet.data.unwrap_or_default().into(),
            expected: packet.attachments,
            // Grows one attachment at a time, however large `max_attachments` is.
            attachments: Vec::with_capacity(packet.attachments.min(16)),
            total_bytes: 0,
        };
        if pending.expected == 0 {
            // Only reachable with `lenient_zero_attachments` (socket.io-parser ≤ 4.2.6).
            return self.finish(pending).map(Reassembled::Binary);
        }
        self.pending = Some(pending);
        Ok(Reassembled::Pending)
    }

    /// Feeds a binary message; returns the packet once its last attachment is in.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::socketio::{DecoderConfig, Reassembler};
    /// let mut r = Reassembler::new(DecoderConfig::default());
    /// r.handle_text(r#"52-["baz",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]"#).unwrap();
    /// assert!(r.handle_binary(Bytes::from_static(&[1, 2])).unwrap().is_none());
    /// let p = r.handle_binary(Bytes::from_static(&[3, 4])).unwrap().unwrap();
    /// let args = p.data.as_array().unwrap();
    /// assert_eq!(&args[1].as_bytes().unwrap()[..], &[3, 4]);
    /// assert_eq!(&args[2].as_bytes().unwrap()[..], &[1, 2]);
    /// ```
    pub fn handle_binary(&mut self, data: Bytes) -> Result<Option<BinaryPacket>, Error> {
        let Some(pending) = self.pending.as_mut() else {
            // https://github.com/socketio/socket.io-protocol#5---binary_event
            // A binary message is an attachment of the header before it; socket.io-parser:
            // "got binary data when not reconstructing a packet".
            return Err(Error::BinaryWhileNotReconstructing);
        };
        // Checked on the length first, so an oversized attachment is never copied.
        if pending.total_bytes.saturating_add(data.len()) > self.config.max_attachment_bytes {
            self.pending = None;
            return Err(Error::AttachmentsTooLarge {
                max: self.config.max_attachment_bytes,
            });
        }
        let (data, pinned) = own_allocation(data);
        let total = pending.total_bytes.saturating_add(pinned);
        if total > self.config.max_attachment_bytes {
            self.pending = None;
            return Err(Error::AttachmentsTooLarge {
                max: self.config.max_attachment_bytes,
            });
        }
        pending.total_bytes = total;
        pending.attachments.push(data);
        if pending.attachments.len() < pending.expected {
            return Ok(None);
        }
        match self.pending.take() {
            Some(pending) => self.finish(pending).map(Some),
            None => Ok(None),
        }
    }

    fn finish(&self, pending: PendingPacket) -> Result<BinaryPacket, Error> {
        let mut data = Value::from_json_str(&pending.raw_data)?;
        data.resolve_placeholders(&pending.attachments, self.config.lenient_placeholder_num)?;
        let kind = match self.config.version {
            SocketIoVersion::V5 => pending.kind.without_binary(),
            SocketIoVersion::V4 => pending.kind,
        };
        Ok(BinaryPacket {
            kind,
            namespace: pending.namespace,
            id: pending.id,
            data,
            raw_data: pending.raw_data,
            attachments: pending.attachments,
        })
    }
}

/// An attachment in an allocation of its own, with that allocation's size.
///
/// A `Bytes` slice keeps its whole backing buffer alive: a 1-byte attachment
/// cut from a 1 MB polling body (or a WebSocket read buffer) would pin the
/// megabyte while the packet waits for its other attachments, so counting
/// slice lengths against `max_attachment_bytes` would undercount what a
/// half-received packet holds. `Vec::from` reuses a buffer that only this
/// slice references (no copy) and copies the bytes out of a shared one;
/// `shrink_to_fit` hands back any spare capacity. The attachment then pins
/// exactly the capacity returned, which is what the cap counts. The cost is at
/// most one copy of each attachment, bounded by `max_attachment_bytes` per
/// packet.
fn own_allocation(data: Bytes) -> (Bytes, usize) {
    let mut owned = Vec::from(data);
    owned.shrink_to_fit();
    let pinned = owned.capacity();
    (Bytes::from(owned), pinned)
}

/// Serializes any `T` into a [`Value`] for an event argument (helper for
/// typed emits).
///
/// ```
/// let v = socketwire::socketio::to_value(&[1, 2]).unwrap();
/// assert_eq!(v.to_json_string(), "[1,2]");
/// ```
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Value, ApiMisuse> {
    Value::from_serialize(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_outside_event_and_ack_are_not_attachments() {
        let data = Value::Object(alloc::vec![(
            "b".into(),
            Value::Bytes(Bytes::from_static(&[1, 2]))
        )]);
        let p = EncodedPacket::new(PacketType::Connect, "/", None, Some(&data));
        assert_eq!(p.text(), r#"0{"b":[1,2]}"#);
        assert!(p.attachments().is_empty());
        let p = EncodedPacket::new(
            PacketType::Ack,
            "/",
            Some(1),
            Some(&Value::Array(alloc::vec![data])),
        );
        assert_eq!(p.text(), r#"61-1[{"b":{"_placeholder":true,"num":0}}]"#);
    }

    /// `buffered_len` sums borrowed payloads; it must count what a session
    /// queues: the messages' lengths, text and every attachment.
    #[test]
    fn buffered_len_counts_every_message() {
        let args = [
            Value::from("x"),
            Value::Bytes(Bytes::from_static(&[1, 2, 3])),
            Value::Bytes(Bytes::from_static(&[4; 10])),
        ];
        let mut packets = alloc::vec![
            EncodedPacket::event("/", "a", &args, None),
            EncodedPacket::event("/chat", "a", &args[..1], Some(7)),
        ];
        #[cfg(feature = "msgpack")]
        packets.push(Parser::Msgpack.event("/", "a", &args, None));
        for p in &packets {
            let from_messages: usize = p
                .messages()
                .map(|m| super::super::session::message_len(&m))
                .sum();
            assert_eq!(p.buffered_len(), from_messages, "{p:?}");
        }
        let binary = &packets[0];
        assert_eq!(binary.attachments().len(), 2);
        assert_eq!(binary.buffered_len(), binary.text().len() + 3 + 10);
    }
}
