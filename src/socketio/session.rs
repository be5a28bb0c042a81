//! What the client and server sessions share, so that each rule exists once:
//! reading Engine.IO messages into whole packets (binary attachments
//! included), the outbound message queue, ack ids and their deadlines, EVENT
//! and ACK delivery, a namespace going away, and failing on a peer error.
//!
//! Each session keeps only its own rules (namespace states, CONNECT handling,
//! timers of its own) and implements [`Dispatch`]; [`handle`] is the one
//! input path of both.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use super::binary::{BinaryPacket, EncodedPacket, EngineMessage, Reassembled, Reassembler};
use super::error::{ApiMisuse, Error};
use super::packet::{DecoderConfig, MAX_ACK_ID, PacketType, RESERVED_EVENTS, SocketIoVersion};
use super::parser::Parser;
use super::reason::{CloseReason, DisconnectReason};
use super::value::Value;

/// One complete incoming packet, owned, binary types folded into EVENT/ACK.
pub(crate) struct IncomingPacket {
    pub(crate) kind: PacketType,
    pub(crate) namespace: String,
    pub(crate) id: Option<u64>,
    pub(crate) data: Option<Value>,
}

impl IncomingPacket {
    fn from_binary(packet: BinaryPacket) -> IncomingPacket {
        IncomingPacket {
            kind: packet.kind.without_binary(),
            namespace: packet.namespace,
            id: packet.id,
            data: Some(packet.data),
        }
    }
}

#[cfg(feature = "msgpack")]
impl From<super::msgpack::MsgpackPacket> for IncomingPacket {
    fn from(packet: super::msgpack::MsgpackPacket) -> IncomingPacket {
        IncomingPacket {
            kind: packet.kind,
            namespace: packet.namespace,
            id: packet.id,
            data: packet.data,
        }
    }
}

/// One input of a session: a decoded Engine.IO message, or the content of one.
pub(crate) enum Input<'a> {
    Message(EngineMessage),
    Text(&'a str),
    Binary(Bytes),
}

/// The events both sessions report, built by the shared code.
pub(crate) trait SessionEvent {
    fn event(namespace: String, name: String, args: Vec<Value>, ack_id: Option<u64>) -> Self;
    fn ack(namespace: String, id: u64, args: Vec<Value>) -> Self;
    fn ack_timeout(namespace: String, id: u64) -> Self;
    fn disconnected(namespace: String, reason: DisconnectReason) -> Self;
    fn close(reason: CloseReason) -> Self;
}

/// Implements [`SessionEvent`] for an event enum with the variants `Event`,
/// `Ack`, `AckTimeout`, `Disconnected` and `Close` (both sessions' events).
macro_rules! session_event {
    ($event:ident) => {
        impl $crate::socketio::session::SessionEvent for $event {
            fn event(
                namespace: ::alloc::string::String,
                name: ::alloc::string::String,
                args: ::alloc::vec::Vec<$crate::socketio::Value>,
                ack_id: Option<u64>,
            ) -> Self {
                $event::Event {
                    namespace,
                    name,
                    args,
                    ack_id,
                }
            }
            fn ack(
                namespace: ::alloc::string::String,
                id: u64,
                args: ::alloc::vec::Vec<$crate::socketio::Value>,
            ) -> Self {
                $event::Ack {
                    namespace,
                    id,
                    args,
                }
            }
            fn ack_timeout(namespace: ::alloc::string::String, id: u64) -> Self {
                $event::AckTimeout { namespace, id }
            }
            fn disconnected(
                namespace: ::alloc::string::String,
                reason: $crate::socketio::DisconnectReason,
            ) -> Self {
                $event::Disconnected { namespace, reason }
            }
            fn close(reason: $crate::socketio::CloseReason) -> Self {
                $event::Close(reason)
            }
        }
    };
}
pub(crate) use session_event;

/// The limits both sessions apply (each config documents its defaults).
#[derive(Debug, Clone, Copy)]
struct CoreLimits {
    ack_timeout: Duration,
    max_pending_acks: usize,
    attachment_timeout: Duration,
}

/// The timer of a half-received binary packet: it starts at the `now` of
/// the input that brought the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AttachmentTimer {
    Idle,
    Due(Duration),
}

/// The state both sessions hold: the reassembler, the queues and the acks.
#[derive(Debug)]
pub(crate) struct SessionCore<E> {
    reassembler: Reassembler,
    /// The wire format of every packet in and out.
    parser: Parser,
    acks: AckTable,
    limits: CoreLimits,
    attachment_timer: AttachmentTimer,
    events: VecDeque<E>,
    messages: VecDeque<EngineMessage>,
    /// The bytes of `messages` ([`message_len`]), kept on every push and pop.
    message_bytes: usize,
}

/// The bytes one queued message counts for in `buffered_amount`: its
/// payload, the Engine.IO message data (text or attachment).
pub(crate) fn message_len(message: &EngineMessage) -> usize {
    match message {
        EngineMessage::Text(bytes) | EngineMessage::Binary(bytes) => bytes.len(),
    }
}

impl<E: SessionEvent> SessionCore<E> {
    /// A core with the acks' timeout and cap and the half-received packet timeout.
    pub(crate) fn new(
        decoder: DecoderConfig,
        parser: Parser,
        ack_timeout: Duration,
        max_pending_acks: usize,
        attachment_timeout: Duration,
    ) -> Self {
        SessionCore {
            reassembler: Reassembler::new(decoder),
            parser,
            acks: AckTable::default(),
            limits: CoreLimits {
                ack_timeout,
                max_pending_acks,
                attachment_timeout,
            },
            attachment_timer: AttachmentTimer::Idle,
            events: VecDeque::new(),
            messages: VecDeque::new(),
            message_bytes: 0,
        }
    }

    pub(crate) fn version(&self) -> SocketIoVersion {
        self.reassembler.config().version
    }

    /// The wire format this session encodes its packets in.
    pub(crate) fn parser(&self) -> Parser {
        self.parser
    }

    /// Reads one input that arrived at `now`; `Ok(None)` while binary
    /// attachments are awaited.
    fn read(&mut self, input: Input<'_>, now: Duration) -> Result<Option<IncomingPacket>, Error> {
        let packet = self.read_packet(input);
        self.attachment_timer = match (self.reassembler.is_reconstructing(), self.attachment_timer)
        {
            (false, _) => AttachmentTimer::Idle,
            (true, AttachmentTimer::Idle) => {
                AttachmentTimer::Due(now.saturating_add(self.limits.attachment_timeout))
            }
            (true, timer) => timer,
        };
        packet
    }

    fn read_packet(&mut self, input: Input<'_>) -> Result<Option<IncomingPacket>, Error> {
        #[cfg(feature = "msgpack")]
        if self.parser == Parser::Msgpack {
            // socket.io-msgpack-parser: every packet is one binary message.
            return match input {
                Input::Message(EngineMessage::Binary(data)) | Input::Binary(data) => {
                    let packet =
                        super::msgpack::MsgpackPacket::decode(&data, self.reassembler.config())?;
                    Ok(Some(packet.into()))
                }
                Input::Message(EngineMessage::Text(_)) | Input::Text(_) => {
                    Err(super::msgpack::MsgpackError::TextMessage.into())
                }
            };
        }
        match input {
            Input::Text(text) => self.read_text(text),
            Input::Message(EngineMessage::Text(bytes)) => match core::str::from_utf8(&bytes) {
                Ok(text) => self.read_text(text),
                Err(_) => Err(Error::UnknownPacketType(bytes.first().copied())),
            },
            Input::Message(EngineMessage::Binary(data)) | Input::Binary(data) => {
                let packet = self.reassembler.handle_binary(data)?;
                Ok(packet.map(IncomingPacket::from_binary))
            }
        }
    }

    fn read_text(&mut self, text: &str) -> Result<Option<IncomingPacket>, Error> {
        let (reassembled, data) = self.reassembler.handle_text_value(text)?;
        Ok(match reassembled {
            Reassembled::Text(packet) => Some(IncomingPacket {
                kind: packet.kind,
                namespace: packet.namespace.into(),
                id: packet.id,
                data,
            }),
            Reassembled::Binary(packet) => Some(IncomingPacket::from_binary(packet)),
            Reassembled::Pending => None,
        })
    }

    /// Forgets a half-received binary packet (the transport it came on is gone).
    pub(crate) fn reset_reassembly(&mut self) {
        self.reassembler.reset();
        self.attachment_timer = AttachmentTimer::Idle;
    }

    /// When the half-received binary packet's timer expires.
    fn next_attachment_deadline(&self) -> Option<Duration> {
        match self.attachment_timer {
            AttachmentTimer::Idle => None,
            AttachmentTimer::Due(deadline) => Some(deadline),
        }
    }

    /// Fires the shared deadlines at or before `now` in time order: the acks
    /// due by then are reported as timed out, and a half-received packet's
    /// timer expires. `true` when it expired (the caller fails the
    /// session with [`Error::AttachmentTimeout`]); the acks due after that
    /// deadline are left to the failure, which ends them (server), or to a
    /// second call once the packet is forgotten (client, which goes on).
    pub(crate) fn fire_deadlines(&mut self, now: Duration) -> bool {
        match self.attachment_timer {
            AttachmentTimer::Idle => {
                self.expire_acks(now);
                false
            }
            AttachmentTimer::Due(deadline) if deadline <= now => {
                self.expire_acks(deadline);
                true
            }
            AttachmentTimer::Due(_) => {
                self.expire_acks(now);
                false
            }
        }
    }

    pub(crate) fn pending_acks(&self) -> usize {
        self.acks.len()
    }

    /// The earliest of the shared deadlines (acks, a half-received packet).
    pub(crate) fn next_deadline(&self) -> Option<Duration> {
        [self.acks.next_deadline(), self.next_attachment_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    pub(crate) fn report(&mut self, event: E) {
        self.events.push_back(event);
    }

    pub(crate) fn poll_event(&mut self) -> Option<E> {
        self.events.pop_front()
    }

    pub(crate) fn queue(&mut self, packet: &EncodedPacket) {
        for message in packet.messages() {
            self.message_bytes += message_len(&message);
            self.messages.push_back(message);
        }
    }

    /// Queues a packet encoded elsewhere (a broadcast), if it is in this
    /// session's wire format.
    pub(crate) fn queue_encoded(&mut self, packet: &EncodedPacket) -> Result<(), ApiMisuse> {
        if packet.parser() != self.parser {
            return Err(ApiMisuse::ParserMismatch);
        }
        self.queue(packet);
        Ok(())
    }

    /// Drops every message not yet polled (the transport they were for is gone).
    pub(crate) fn clear_messages(&mut self) {
        self.messages.clear();
        self.message_bytes = 0;
    }

    pub(crate) fn poll_message(&mut self) -> Option<EngineMessage> {
        let message = self.messages.pop_front()?;
        self.message_bytes -= message_len(&message);
        Some(message)
    }

    /// Messages queued and not yet polled.
    pub(crate) fn buffered_messages(&self) -> usize {
        self.messages.len()
    }

    /// Bytes of the messages queued and not yet polled (constant time).
    pub(crate) fn buffered_amount(&self) -> usize {
        self.message_bytes
    }

    /// Encodes an EVENT that asks for an ack and starts its timer: the ack is
    /// awaited until `now + ack_timeout` (saturating, so a clock near
    /// `Duration::MAX` never overflows). With `max_pending_acks` awaited
    /// already it is [`ApiMisuse::TooManyPendingAcks`] and nothing changes.
    pub(crate) fn event_with_ack(
        &mut self,
        namespace: &str,
        name: &str,
        args: &[Value],
        now: Duration,
    ) -> Result<(u64, EncodedPacket), ApiMisuse> {
        if self.acks.len() >= self.limits.max_pending_acks {
            return Err(ApiMisuse::TooManyPendingAcks);
        }
        let id = self
            .acks
            .register(namespace, now.saturating_add(self.limits.ack_timeout));
        Ok((id, self.parser.event(namespace, name, args, Some(id))))
    }

    /// An EVENT `[name, ...args]` for the application.
    pub(crate) fn deliver_event(
        &mut self,
        namespace: String,
        id: Option<u64>,
        data: Option<Value>,
    ) {
        if let Some((name, args)) = split_event(data) {
            self.report(E::event(namespace, name, args, id));
        }
    }

    /// An ACK: reported if its id is awaited on `namespace`, else ignored.
    pub(crate) fn deliver_ack(&mut self, namespace: String, id: Option<u64>, data: Option<Value>) {
        // https://github.com/socketio/socket.io-protocol#acknowledgement
        // An ACK answers the EVENT with the same id on the same namespace; an
        // unknown id is ignored (socket.io `socket.ts` `onack`).
        if let Some(id) = id
            && self.acks.complete(&namespace, id)
        {
            let args = match data {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            self.report(E::ack(namespace, id, args));
        }
    }

    /// A namespace went away: each ack still awaited on it is reported as
    /// timed out (none can arrive any more), then, if it was connected,
    /// `Disconnected` with `reason`.
    pub(crate) fn leave_namespace(&mut self, namespace: &str, reason: Option<DisconnectReason>) {
        for id in self.acks.drop_namespace(namespace) {
            self.report(E::ack_timeout(namespace.into(), id));
        }
        if let Some(reason) = reason {
            self.report(E::disconnected(namespace.into(), reason));
        }
    }

    /// Reports every ack whose deadline is at or before `now` as timed out.
    fn expire_acks(&mut self, now: Duration) {
        for (namespace, id) in self.acks.expire(now) {
            self.report(E::ack_timeout(namespace, id));
        }
    }
}

/// A session's own handling of whole packets; [`handle`] and [`fail`] do the rest.
pub(crate) trait Dispatch {
    type Event: SessionEvent;

    fn core(&mut self) -> &mut SessionCore<Self::Event>;

    /// Fires every deadline at or before `now` (the session's `handle_timeout`).
    fn fire_timers(&mut self, now: Duration);

    /// `true` once input is ignored (a closed server session).
    fn ignores_input(&self) -> bool;

    /// Handles one complete packet.
    fn dispatch(&mut self, packet: IncomingPacket) -> Result<(), Error>;

    /// Ends what a peer error ends, before `Close` is reported.
    fn end_on_error(&mut self, error: &Error);
}

/// The input path of both sessions, for an input that arrived at `now`: the
/// deadlines at or before `now` fire first (so the outcome does not depend on
/// whether the caller's timer ran before the input), then a whole packet goes
/// to [`Dispatch::dispatch`] and a peer error fails the session.
pub(crate) fn handle<S: Dispatch>(
    session: &mut S,
    input: Input<'_>,
    now: Duration,
) -> Result<(), Error> {
    session.fire_timers(now);
    if session.ignores_input() {
        return Ok(());
    }
    match session.core().read(input, now) {
        Ok(Some(packet)) => session.dispatch(packet),
        Ok(None) => Ok(()),
        Err(error) => fail(session, error),
    }
}

/// A peer error: the session ends its own state, forgets any half-received
/// packet and reports `Close` as its last event; the caller closes the
/// transport (socket.io `client.ts`: a decoding error closes the connection).
pub(crate) fn fail<S: Dispatch>(session: &mut S, error: Error) -> Result<(), Error> {
    session.end_on_error(&error);
    let core = session.core();
    core.reset_reassembly();
    core.report(S::Event::close(CloseReason::ProtocolError(error.clone())));
    Err(error)
}

/// Splits EVENT data `[name, ...args]`. Numeric names become their decimal
/// text (JS event emitters key listeners by string). `None` if there is no
/// usable name (only reachable with lenient decoding).
fn split_event(data: Option<Value>) -> Option<(String, Vec<Value>)> {
    let Some(Value::Array(mut items)) = data else {
        return None;
    };
    if items.is_empty() {
        return None;
    }
    let name = match items.remove(0) {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some((name, items))
}

/// Refuses an event name the protocol reserves, for either side's emits.
pub(crate) fn check_event_name(name: &str) -> Result<(), ApiMisuse> {
    // https://github.com/socketio/socket.io-protocol#2---event
    // v5 reserves the names of the socket's own events (socket.io-parser
    // `RESERVED_EVENTS`); the receiving side refuses them.
    if RESERVED_EVENTS.contains(&name) {
        Err(ApiMisuse::ReservedEventName)
    } else {
        Ok(())
    }
}

/// `true` if `namespace` can be written in a packet header.
pub(crate) fn is_valid_namespace(namespace: &str) -> bool {
    // https://github.com/socketio/socket.io-protocol#packet-encoding
    // The namespace starts with `/` and is ended by the `,` before the id/data.
    namespace.starts_with('/') && !namespace.contains(',')
}

/// Acks this side is waiting for, indexed three ways so that no operation
/// scans the pending acks: by id (an ACK arriving), by `(deadline, id)` (the
/// next deadline is the first entry; expiring visits only what expires) and
/// by `(namespace, id)` (a namespace going away visits only its own acks).
#[derive(Debug, Default)]
struct AckTable {
    next_id: u64,
    waiting: BTreeMap<u64, (String, Duration)>,
    by_deadline: BTreeSet<(Duration, u64)>,
    by_namespace: BTreeSet<(String, u64)>,
    /// Entries looked at by `expire` and `drop_namespace` (tests count work).
    #[cfg(test)]
    visited: usize,
}

impl AckTable {
    fn register(&mut self, namespace: &str, deadline: Duration) -> u64 {
        let id = self.next_id;
        // Ids stay below 2^53 (JS number precision); wrapping after 2^53 acks.
        self.next_id = (self.next_id + 1) & MAX_ACK_ID;
        // A wrapped id still waiting (2^53 acks later) is replaced, not duplicated.
        self.remove(id);
        self.waiting.insert(id, (namespace.into(), deadline));
        self.by_deadline.insert((deadline, id));
        self.by_namespace.insert((namespace.into(), id));
        id
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }

    /// Removes `id` from every index; its namespace, if it was waiting.
    fn remove(&mut self, id: u64) -> Option<String> {
        let (namespace, deadline) = self.waiting.remove(&id)?;
        self.by_deadline.remove(&(deadline, id));
        self.by_namespace.remove(&(namespace.clone(), id));
        Some(namespace)
    }

    /// Removes and reports whether `id` was awaited on `namespace`.
    fn complete(&mut self, namespace: &str, id: u64) -> bool {
        match self.waiting.get(&id) {
            Some((ns, _)) if ns == namespace => self.remove(id).is_some(),
            _ => false,
        }
    }

    fn next_deadline(&self) -> Option<Duration> {
        self.by_deadline.first().map(|&(deadline, _)| deadline)
    }

    /// Removes every ack whose deadline is at or before `now`, earliest first.
    fn expire(&mut self, now: Duration) -> Vec<(String, u64)> {
        let mut expired = Vec::new();
        while let Some(&(deadline, id)) = self.by_deadline.first() {
            #[cfg(test)]
            {
                self.visited += 1;
            }
            if deadline > now {
                break;
            }
            if let Some(namespace) = self.remove(id) {
                expired.push((namespace, id));
            }
        }
        expired
    }

    fn drop_namespace(&mut self, namespace: &str) -> Vec<u64> {
        let ids: Vec<u64> = self
            .by_namespace
            .range((String::from(namespace), 0)..)
            .take_while(|(ns, _)| ns == namespace)
            .map(|&(_, id)| id)
            .collect();
        #[cfg(test)]
        {
            self.visited += ids.len();
        }
        for &id in &ids {
            self.remove(id);
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_rule() {
        assert!(is_valid_namespace("/a"));
        assert!(!is_valid_namespace("a"));
        assert!(!is_valid_namespace("/a,b"));
    }

    #[test]
    fn ack_ids_wrap_below_2_pow_53() {
        let mut acks = AckTable {
            next_id: MAX_ACK_ID,
            ..AckTable::default()
        };
        assert_eq!(acks.register("/", Duration::ZERO), MAX_ACK_ID);
        assert_eq!(acks.register("/", Duration::ZERO), 0);
    }

    /// Finding: the ack table scanned every pending ack for the next deadline
    /// and on every expiry. Bound: with 100 000 acks pending, finding the next
    /// deadline reads one entry, expiring k acks visits k + 1 entries, and a
    /// namespace going away visits only that namespace's acks.
    #[test]
    fn ack_timers_do_not_scan() {
        let mut acks = AckTable::default();
        for i in 0..100_000u64 {
            let namespace = if i % 1000 == 0 { "/rare" } else { "/" };
            acks.register(namespace, Duration::from_millis(1000 + i));
        }
        assert_eq!(acks.next_deadline(), Some(Duration::from_millis(1000)));
        let expired = acks.expire(Duration::from_millis(1004));
        assert_eq!(expired.len(), 5);
        assert_eq!(acks.visited, 6);
        acks.visited = 0;
        assert_eq!(acks.drop_namespace("/rare").len(), 99);
        assert_eq!(acks.visited, 99);
        assert_eq!(acks.len(), 100_000 - 5 - 99);
        assert_eq!(acks.next_deadline(), Some(Duration::from_millis(1005)));
        assert!(acks.complete("/", 50_001));
        assert!(!acks.complete("/", 50_001));
        assert_eq!(acks.by_deadline.len(), acks.len());
        assert_eq!(acks.by_namespace.len(), acks.len());
    }
}
