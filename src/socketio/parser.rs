//! [`Parser`]: which wire format a session speaks, the JSON text format
//! (socket.io-parser, the default) or socket.io-msgpack-parser's.

use super::binary::EncodedPacket;
use super::packet::PacketType;
use super::value::Value;

/// The wire format of a session's packets; both ends must use the same one
/// (socket.io's `parser` option).
///
/// | | `Json` (socket.io-parser) | `Msgpack` (socket.io-msgpack-parser) |
/// |---|---|---|
/// | one packet is | a text message, plus one binary message per attachment | one binary message: a msgpack map `{type, data, nsp, id}` |
/// | binary data | placeholders + attachments, BINARY_EVENT/BINARY_ACK | inline `bin` |
/// | input refused | — | text messages ([`MsgpackError::TextMessage`](super::msgpack::MsgpackError::TextMessage)) |
///
/// Both decode under the same rules (payload shape per type and version,
/// reserved event names, ack ids, namespaces). The encoding methods build an
/// [`EncodedPacket`] in this format, encoded once however many sessions it is
/// queued on.
///
/// ```
/// use socketwire::socketio::{EngineMessage, Parser};
/// let p = Parser::default().event("/", "hi", &[1u64.into()], None);
/// assert_eq!(p.text(), r#"2["hi",1]"#);
/// # #[cfg(feature = "msgpack")] {
/// let p = Parser::Msgpack.event("/", "hi", &[1u64.into()], None);
/// let messages: Vec<_> = p.messages().collect();
/// assert!(matches!(&messages[..], [EngineMessage::Binary(_)]));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Parser {
    /// socket.io-parser: text packets and binary attachments.
    #[default]
    Json,
    /// socket.io-msgpack-parser 3.x: one msgpack map per packet, binary inline,
    /// nesting bounded by [`DecoderConfig::msgpack`](super::DecoderConfig::msgpack).
    #[cfg(feature = "msgpack")]
    Msgpack,
}

impl Parser {
    /// Encodes EVENT `[name, ...args]` (as [`EncodedPacket::event`] does for JSON).
    ///
    /// ```
    /// use socketwire::socketio::Parser;
    /// assert_eq!(Parser::Json.event("/chat", "a", &[], Some(3)).text(), r#"2/chat,3["a"]"#);
    /// ```
    #[must_use = "queue the encoded packet on a session"]
    pub fn event(
        self,
        namespace: &str,
        name: &str,
        args: &[Value],
        id: Option<u64>,
    ) -> EncodedPacket {
        match self {
            Parser::Json => EncodedPacket::event(namespace, name, args, id),
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => EncodedPacket::msgpack(
                PacketType::Event,
                namespace,
                id,
                Some(super::msgpack::PacketData::Args {
                    name: Some(name),
                    args,
                }),
            ),
        }
    }

    /// Encodes ACK `[...args]` for `id` (as [`EncodedPacket::ack`] does for JSON).
    ///
    /// ```
    /// use socketwire::socketio::Parser;
    /// assert_eq!(Parser::Json.ack("/", 3, &[]).text(), "33[]");
    /// ```
    #[must_use = "queue the encoded packet on a session"]
    pub fn ack(self, namespace: &str, id: u64, args: &[Value]) -> EncodedPacket {
        match self {
            Parser::Json => EncodedPacket::ack(namespace, id, args),
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => EncodedPacket::msgpack(
                PacketType::Ack,
                namespace,
                Some(id),
                Some(super::msgpack::PacketData::Args { name: None, args }),
            ),
        }
    }

    /// Encodes a packet with arbitrary data (as [`EncodedPacket::new`] does for
    /// JSON).
    ///
    /// ```
    /// use socketwire::socketio::{PacketType, Parser};
    /// assert_eq!(Parser::Json.packet(PacketType::Disconnect, "/a", None, None).text(), "1/a,");
    /// ```
    #[must_use = "queue the encoded packet on a session"]
    pub fn packet(
        self,
        kind: PacketType,
        namespace: &str,
        id: Option<u64>,
        data: Option<&Value>,
    ) -> EncodedPacket {
        match self {
            Parser::Json => EncodedPacket::new(kind, namespace, id, data),
            #[cfg(feature = "msgpack")]
            Parser::Msgpack => EncodedPacket::msgpack(
                kind,
                namespace,
                id,
                data.map(super::msgpack::PacketData::Value),
            ),
        }
    }
}
