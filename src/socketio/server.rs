//! The server side of one Socket.IO connection (one Engine.IO session), sans-IO.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use super::binary::{EncodedPacket, EngineMessage};
use super::error::{ApiMisuse, Error};
use super::packet::{DecoderConfig, PacketType, SocketIoVersion};
use super::parser::Parser;
use super::reason::{CloseReason, DisconnectReason};
use super::session::{
    self, Dispatch, IncomingPacket, Input, SessionCore, check_event_name, session_event,
};
use super::value::Value;

/// Settings of a [`ServerSession`].
///
/// ```
/// use core::time::Duration;
/// use socketwire::socketio::ServerConfig;
/// let config = ServerConfig { connect_timeout: Duration::from_secs(10), ..Default::default() };
/// assert_eq!(config.ack_timeout, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Decoder limits, strictness and protocol version.
    pub decoder: DecoderConfig,
    /// Close the connection if no namespace is connected within this time
    /// (JS `connectTimeout`, default 45 s).
    pub connect_timeout: Duration,
    /// How long [`ServerSession::emit_with_ack`] waits for the client's ACK.
    pub ack_timeout: Duration,
    /// Most acks awaited at once (all namespaces of the session): an
    /// [`emit_with_ack`](ServerSession::emit_with_ack) past it fails with
    /// [`ApiMisuse::TooManyPendingAcks`] and sends nothing. Default 1024.
    pub max_pending_acks: usize,
    /// How long a binary packet may stay half-received: when its attachments
    /// have not all arrived in time the session fails with
    /// [`Error::AttachmentTimeout`] ([`ServerEvent::Close`]; close the
    /// transport). The timer starts at the `now` of the input that brought
    /// the header. One half-received packet per session at
    /// most, its attachments bounded by the decoder's `max_attachments` and
    /// `max_attachment_bytes`. Default 30 s.
    pub attachment_timeout: Duration,
    /// Most namespaces connected or awaiting [`accept`](ServerSession::accept) /
    /// [`refuse`](ServerSession::refuse) at once: a CONNECT past it fails the
    /// session with [`Error::TooManyNamespaces`] ([`ServerEvent::Close`]; close
    /// the transport), so a client cannot queue an unbounded number of
    /// CONNECTs for an application that answers them later. Default 64.
    pub max_namespaces: usize,
    /// The wire format, as the peer's `parser` option: [`Parser::Json`]
    /// (default) or `Parser::Msgpack` (socket.io-msgpack-parser, feature
    /// `msgpack`). Every packet is sent and read in it.
    pub parser: Parser,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            decoder: DecoderConfig::default(),
            parser: Parser::Json,
            connect_timeout: Duration::from_secs(45),
            ack_timeout: Duration::from_secs(30),
            max_pending_acks: 1024,
            attachment_timeout: Duration::from_secs(30),
            max_namespaces: 64,
        }
    }
}

/// What a [`ServerSession`] reports to the application.
///
/// ```
/// use socketwire::socketio::{ServerEvent, Value};
/// let e = ServerEvent::Connect { namespace: "/".into(), auth: Value::object() };
/// assert!(matches!(e, ServerEvent::Connect { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The client asks to join `namespace`: answer with
    /// [`ServerSession::accept`] or [`ServerSession::refuse`]. `auth` is the
    /// CONNECT payload (v5; `{}` when absent) or the parsed `?query` (v4).
    Connect {
        /// The namespace, without any v4 query.
        namespace: String,
        /// The auth payload.
        auth: Value,
    },
    /// An event from the client.
    Event {
        /// The namespace.
        namespace: String,
        /// The event name (a numeric name is given as its decimal text).
        name: String,
        /// The arguments after the name.
        args: Vec<Value>,
        /// Present if the client wants an ack: answer with [`ServerSession::ack`].
        ack_id: Option<u64>,
    },
    /// The client acknowledged an [`emit_with_ack`](ServerSession::emit_with_ack).
    Ack {
        /// The namespace.
        namespace: String,
        /// The id returned by `emit_with_ack`.
        id: u64,
        /// The ack arguments.
        args: Vec<Value>,
    },
    /// No ack arrived for `id` in time (or its namespace went away).
    AckTimeout {
        /// The namespace.
        namespace: String,
        /// The id returned by `emit_with_ack`.
        id: u64,
    },
    /// A connected namespace socket is gone (leave its rooms).
    Disconnected {
        /// The namespace.
        namespace: String,
        /// Why.
        reason: DisconnectReason,
    },
    /// Close the Engine.IO connection; the session is finished.
    Close(CloseReason),
}

#[derive(Debug)]
enum NamespaceState {
    Pending,
    Connected,
}

/// The server side of one client connection: Socket.IO packets over one
/// Engine.IO session, with no I/O and no clock.
///
/// * **Input**: [`handle_message`](Self::handle_message) (or `handle_text` /
///   `handle_binary`) for each decoded Engine.IO message,
///   [`handle_timeout`](Self::handle_timeout) when [`poll_timeout`](Self::poll_timeout)
///   expires, [`handle_transport_closed`](Self::handle_transport_closed) when the
///   Engine.IO session ends.
/// * **Output**: [`poll_event`](Self::poll_event) until `None`, then
///   [`poll_message`](Self::poll_message) until `None` (send each on the
///   Engine.IO session), then re-arm the timer from `poll_timeout`.
/// * **Commands**: [`accept`](Self::accept), [`refuse`](Self::refuse),
///   [`emit`](Self::emit), [`emit_with_ack`](Self::emit_with_ack),
///   [`ack`](Self::ack), [`send_encoded`](Self::send_encoded),
///   [`disconnect`](Self::disconnect).
///
/// Limits: at most [`ServerConfig::max_pending_acks`] acks awaited
/// ([`ApiMisuse::TooManyPendingAcks`]); one half-received binary packet, with
/// at most the decoder's `max_attachments` attachments of `max_attachment_bytes`
/// in all (counted as the memory they hold), for at most
/// [`ServerConfig::attachment_timeout`] (then [`Error::AttachmentTimeout`]);
/// no namespace connected within `connect_timeout` closes the session.
///
/// v4 (socket.io 2.x) differences: the session starts with a
/// [`ServerEvent::Connect`] for `/` (the implicit connection, answered with
/// `40`), CONNECT carries its auth in the namespace `?query`, the accept reply
/// has no payload, and a refusal is an ERROR whose payload is the data, or else
/// the message string.
///
/// ```
/// use core::time::Duration;
/// use socketwire::socketio::{EngineMessage, ServerConfig, ServerEvent, ServerSession};
/// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
/// s.handle_text(r#"0{"token":"123"}"#, Duration::ZERO).unwrap();
/// let Some(ServerEvent::Connect { namespace, auth }) = s.poll_event() else { panic!() };
/// s.accept(&namespace, "sid-1").unwrap();
/// s.emit(&namespace, "auth", vec![auth]).unwrap();
/// let sent: Vec<_> = std::iter::from_fn(|| s.poll_message()).collect();
/// assert_eq!(sent[0].as_text(), Some(r#"0{"sid":"sid-1"}"#));
/// assert_eq!(sent[1].as_text(), Some(r#"2["auth",{"token":"123"}]"#));
/// ```
#[derive(Debug)]
pub struct ServerSession {
    core: SessionCore<ServerEvent>,
    namespaces: BTreeMap<String, NamespaceState>,
    max_namespaces: usize,
    connect_deadline: Option<Duration>,
    closed: bool,
}

impl ServerSession {
    /// A session for a freshly opened Engine.IO connection; `now` starts the
    /// connect timeout. A v4 session queues the implicit CONNECT of `/`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{DecoderConfig, SocketIoVersion, ServerConfig, ServerEvent, ServerSession};
    /// let config = ServerConfig { decoder: DecoderConfig::for_version(SocketIoVersion::V4), ..Default::default() };
    /// let mut s = ServerSession::new(config, Duration::ZERO);
    /// assert!(matches!(s.poll_event(), Some(ServerEvent::Connect { namespace, .. }) if namespace == "/"));
    /// ```
    pub fn new(config: ServerConfig, now: Duration) -> ServerSession {
        let mut session = ServerSession {
            // Saturating: a clock near `Duration::MAX` never overflows.
            connect_deadline: Some(now.saturating_add(config.connect_timeout)),
            core: SessionCore::new(
                config.decoder,
                config.parser,
                config.ack_timeout,
                config.max_pending_acks,
                config.attachment_timeout,
            ),
            namespaces: BTreeMap::new(),
            max_namespaces: config.max_namespaces,
            closed: false,
        };
        if session.version() == SocketIoVersion::V4 {
            // https://github.com/socketio/socket.io-protocol/tree/v4#connection-to-the-default-namespace
            // v4: the client is connected to the default namespace `/` implicitly.
            session
                .namespaces
                .insert("/".into(), NamespaceState::Pending);
            session.core.report(ServerEvent::Connect {
                namespace: "/".into(),
                auth: Value::object(),
            });
        }
        session
    }

    /// The protocol version.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{SocketIoVersion, ServerConfig, ServerSession};
    /// let s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// assert_eq!(s.version(), SocketIoVersion::V5);
    /// ```
    pub fn version(&self) -> SocketIoVersion {
        self.core.version()
    }

    /// `true` once the session has closed (after [`ServerEvent::Close`] or
    /// [`handle_transport_closed`](Self::handle_transport_closed)).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_transport_closed();
    /// assert!(s.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// `true` if `namespace` is connected (accepted).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0", Duration::ZERO).unwrap();
    /// s.accept("/", "a").unwrap();
    /// assert!(s.is_connected("/"));
    /// ```
    pub fn is_connected(&self, namespace: &str) -> bool {
        matches!(
            self.namespaces.get(namespace),
            Some(NamespaceState::Connected)
        )
    }

    /// The connected namespaces.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// assert_eq!(s.connected_namespaces().count(), 0);
    /// ```
    pub fn connected_namespaces(&self) -> impl Iterator<Item = &str> + '_ {
        self.namespaces
            .iter()
            .filter(|(_, s)| matches!(s, NamespaceState::Connected))
            .map(|(ns, _)| ns.as_str())
    }

    /// Feeds one decoded Engine.IO message that arrived at `now`: the
    /// deadlines at or before `now` fire first, as
    /// [`handle_timeout`](Self::handle_timeout) would, so a CONNECT after
    /// `connect_timeout` finds the session closed and an ACK after its
    /// deadline finds it timed out.
    ///
    /// On `Err` the session has closed: the queued events end with
    /// [`ServerEvent::Close`].
    ///
    /// ```
    /// use bytes::Bytes;
    /// use core::time::Duration;
    /// use socketwire::socketio::{EngineMessage, ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// assert!(s.handle_message(EngineMessage::Text(Bytes::from_static(b"0")), Duration::ZERO).is_ok());
    /// ```
    pub fn handle_message(&mut self, message: EngineMessage, now: Duration) -> Result<(), Error> {
        session::handle(self, Input::Message(message), now)
    }

    /// Feeds one text message that arrived at `now` (deadlines as in
    /// [`handle_message`](Self::handle_message)).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{Error, ServerConfig, ServerEvent, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// // An event before any CONNECT closes the connection, as in JS.
    /// assert_eq!(s.handle_text(r#"2["x"]"#, Duration::ZERO), Err(Error::NamespaceNotConnected));
    /// assert!(matches!(s.poll_event(), Some(ServerEvent::Close(_))));
    /// ```
    pub fn handle_text(&mut self, text: &str, now: Duration) -> Result<(), Error> {
        session::handle(self, Input::Text(text), now)
    }

    /// Feeds one binary message (an attachment) that arrived at `now`
    /// (deadlines as in [`handle_message`](Self::handle_message)).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use core::time::Duration;
    /// use socketwire::socketio::{Error, ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// assert_eq!(s.handle_binary(Bytes::from_static(b"x"), Duration::ZERO), Err(Error::BinaryWhileNotReconstructing));
    /// ```
    pub fn handle_binary(&mut self, data: Bytes, now: Duration) -> Result<(), Error> {
        session::handle(self, Input::Binary(data), now)
    }

    /// Ends the session: every namespace goes away (connected ones report
    /// `Disconnected` with `reason`) and no timer stays armed.
    fn close_namespaces(&mut self, reason: DisconnectReason) {
        let namespaces = core::mem::take(&mut self.namespaces);
        for (namespace, state) in namespaces {
            let connected = matches!(state, NamespaceState::Connected);
            self.core
                .leave_namespace(&namespace, connected.then(|| reason.clone()));
        }
        self.core.reset_reassembly();
        self.connect_deadline = None;
        self.closed = true;
    }

    /// The Engine.IO transport closed: every connected namespace gets a
    /// [`ServerEvent::Disconnected`] with [`DisconnectReason::TransportClose`].
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerEvent, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0", Duration::ZERO).unwrap();
    /// let _ = s.poll_event();
    /// s.accept("/", "a").unwrap();
    /// s.handle_transport_closed();
    /// assert!(matches!(s.poll_event(), Some(ServerEvent::Disconnected { .. })));
    /// ```
    pub fn handle_transport_closed(&mut self) {
        if !self.closed {
            self.close_namespaces(DisconnectReason::TransportClose);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let s = ServerSession::new(ServerConfig::default(), Duration::from_secs(1));
    /// assert_eq!(s.poll_timeout(), Some(Duration::from_secs(46)));
    /// ```
    #[must_use = "arm a timer for this deadline"]
    pub fn poll_timeout(&self) -> Option<Duration> {
        if self.closed {
            return None;
        }
        match (self.connect_deadline, self.core.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires every deadline at or before `now`, earliest first: the connect
    /// timeout closes the connection; expired acks become
    /// [`ServerEvent::AckTimeout`]; a binary packet half-received for
    /// `attachment_timeout` fails the session.
    /// [`emit_with_ack`](Self::emit_with_ack) calls it first itself.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{CloseReason, ServerConfig, ServerEvent, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_timeout(Duration::from_secs(45));
    /// assert_eq!(s.poll_event(), Some(ServerEvent::Close(CloseReason::ConnectTimeout)));
    /// ```
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.closed {
            return;
        }
        // In time order: what is due by the connect timeout (when that is
        // due) fires before it.
        let connect_due = self.connect_deadline.filter(|d| *d <= now);
        if self.core.fire_deadlines(connect_due.unwrap_or(now)) {
            let _ = session::fail(self, Error::AttachmentTimeout);
            return;
        }
        if connect_due.is_some() {
            // https://github.com/socketio/socket.io-protocol#connection-to-a-namespace
            // The client must CONNECT; socket.io `client.ts`: no namespace
            // connected within `connectTimeout` closes the connection.
            self.close_namespaces(DisconnectReason::ConnectionClosed);
            self.core
                .report(ServerEvent::Close(CloseReason::ConnectTimeout));
        }
    }

    /// How many [`emit_with_ack`](Self::emit_with_ack) acks are awaited (at
    /// most [`ServerConfig::max_pending_acks`]).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// assert_eq!(s.pending_acks(), 0);
    /// ```
    pub fn pending_acks(&self) -> usize {
        self.core.pending_acks()
    }

    /// The next event for the application.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// assert_eq!(s.poll_event(), None);
    /// ```
    #[must_use = "a polled event is taken off the queue"]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.core.poll_event()
    }

    /// The next Engine.IO message to send.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// assert_eq!(s.poll_message(), None);
    /// ```
    #[must_use = "a polled message is taken off the queue: send it"]
    pub fn poll_message(&mut self) -> Option<EngineMessage> {
        self.core.poll_message()
    }

    /// Engine.IO messages queued and not yet taken with
    /// [`ServerSession::poll_message`] (a binary packet is its text message
    /// plus one per attachment).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// assert_eq!(s.buffered_messages(), 0);
    /// ```
    #[must_use]
    pub fn buffered_messages(&self) -> usize {
        self.core.buffered_messages()
    }

    /// Bytes queued and not yet taken with [`ServerSession::poll_message`],
    /// in constant time: each Engine.IO message's data (the packet's text,
    /// each attachment's bytes).
    /// The connection's whole figure is this plus what the layers below
    /// hold, each counted once where it is queued: the Engine.IO session's
    /// `buffered_amount` (the messages taken from here and handed to it) and
    /// the transport's (`ws::Connection::buffered_amount`). The modules do not
    /// import each other, so the glue adds the three.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{EngineMessage, ServerConfig, ServerEvent, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0", Duration::ZERO).unwrap();
    /// assert!(matches!(s.poll_event(), Some(ServerEvent::Connect { .. })));
    /// s.accept("/", "abc").unwrap();
    /// assert_eq!(s.buffered_amount(), r#"0{"sid":"abc"}"#.len());
    /// let _connect = s.poll_message();
    /// assert_eq!(s.buffered_amount(), 0);
    /// ```
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.core.buffered_amount()
    }

    fn take_pending(&mut self, namespace: &str) -> Result<(), ApiMisuse> {
        if self.closed {
            return Err(ApiMisuse::Closed);
        }
        match self.namespaces.get_mut(namespace) {
            Some(state @ NamespaceState::Pending) => {
                *state = NamespaceState::Connected;
                Ok(())
            }
            _ => Err(ApiMisuse::NoPendingConnect),
        }
    }

    /// Accepts a pending CONNECT: replies `0[/nsp,]{"sid":…}` (v5) or
    /// `0[/nsp,]` (v4). `sid` is the namespace socket's id, chosen by the caller.
    ///
    /// Socket ids are shown to other clients (rooms, presence lists), so `sid`
    /// must be drawn on its own from a CSPRNG (at least 120 bits) and never
    /// derived from the Engine.IO sid: a client that learns a socket id must
    /// learn nothing that lets it open the Engine.IO session (upstream
    /// Socket.IO made the two independent for this reason).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0/admin,", Duration::ZERO).unwrap();
    /// s.accept("/admin", "oSO0OpakMV_3jnilAAAA").unwrap();
    /// assert_eq!(s.poll_message().unwrap().as_text(), Some(r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#));
    /// ```
    pub fn accept(&mut self, namespace: &str, sid: &str) -> Result<(), ApiMisuse> {
        self.take_pending(namespace)?;
        self.connect_deadline = None;
        let packet = match self.version() {
            SocketIoVersion::V5 => {
                let data = Value::Object(alloc::vec![("sid".into(), sid.into())]);
                self.core
                    .parser()
                    .packet(PacketType::Connect, namespace, None, Some(&data))
            }
            SocketIoVersion::V4 => {
                self.core
                    .parser()
                    .packet(PacketType::Connect, namespace, None, None)
            }
        };
        self.core.queue(&packet);
        Ok(())
    }

    /// Refuses a pending CONNECT: `4[/nsp,]{"message":…,"data":…}` (v5; `data`
    /// only if given) or the v4 ERROR `4[/nsp,]<data or "message">`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0/random,", Duration::ZERO).unwrap();
    /// s.refuse("/random", "Invalid namespace", None).unwrap();
    /// assert_eq!(s.poll_message().unwrap().as_text(), Some(r#"4/random,{"message":"Invalid namespace"}"#));
    /// ```
    pub fn refuse(
        &mut self,
        namespace: &str,
        message: &str,
        data: Option<Value>,
    ) -> Result<(), ApiMisuse> {
        self.take_pending(namespace)?;
        self.namespaces.remove(namespace);
        let payload = match self.version() {
            SocketIoVersion::V5 => {
                let mut pairs = alloc::vec![("message".into(), Value::from(message))];
                if let Some(data) = data {
                    pairs.push(("data".into(), data));
                }
                Value::Object(pairs)
            }
            SocketIoVersion::V4 => data.unwrap_or_else(|| message.into()),
        };
        let packet =
            self.core
                .parser()
                .packet(PacketType::ConnectError, namespace, None, Some(&payload));
        self.core.queue(&packet);
        Ok(())
    }

    fn check_connected(&self, namespace: &str) -> Result<(), ApiMisuse> {
        if self.closed {
            Err(ApiMisuse::Closed)
        } else if self.is_connected(namespace) {
            Ok(())
        } else {
            Err(ApiMisuse::NotConnected)
        }
    }

    /// Sends EVENT `[name, ...args]` (BINARY_EVENT if any argument holds bytes).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession, Value};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0", Duration::ZERO).unwrap();
    /// s.accept("/", "a").unwrap();
    /// let _ = s.poll_message();
    /// s.emit("/", "message-back", vec![Value::Bytes(Bytes::from_static(&[1, 2, 3]))]).unwrap();
    /// assert_eq!(s.poll_message().unwrap().as_text(), Some(r#"51-["message-back",{"_placeholder":true,"num":0}]"#));
    /// ```
    pub fn emit(&mut self, namespace: &str, name: &str, args: Vec<Value>) -> Result<(), ApiMisuse> {
        self.check_connected(namespace)?;
        check_event_name(name)?;
        let packet = self.core.parser().event(namespace, name, &args, None);
        self.core.queue(&packet);
        Ok(())
    }

    /// Sends an event that asks for an ack; returns its id. The answer comes as
    /// [`ServerEvent::Ack`], or [`ServerEvent::AckTimeout`] after
    /// `ack_timeout` from `now`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerEvent, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0", Duration::ZERO).unwrap();
    /// let _ = s.poll_event();
    /// s.accept("/", "a").unwrap();
    /// let id = s.emit_with_ack("/", "ping", vec![], Duration::ZERO).unwrap();
    /// s.handle_text(&format!("3{id}[\"pong\"]"), Duration::ZERO).unwrap();
    /// assert!(matches!(s.poll_event(), Some(ServerEvent::Ack { id: i, .. }) if i == id));
    /// ```
    pub fn emit_with_ack(
        &mut self,
        namespace: &str,
        name: &str,
        args: Vec<Value>,
        now: Duration,
    ) -> Result<u64, ApiMisuse> {
        // The deadlines at or before `now` first (the connect timeout may
        // have closed the session), as if the timer had run.
        self.handle_timeout(now);
        self.check_connected(namespace)?;
        check_event_name(name)?;
        let (id, packet) = self.core.event_with_ack(namespace, name, &args, now)?;
        self.core.queue(&packet);
        Ok(id)
    }

    /// Answers an event's ack id with ACK `[...args]` (BINARY_ACK with bytes).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerEvent, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0", Duration::ZERO).unwrap();
    /// let _ = s.poll_event();
    /// s.accept("/", "a").unwrap();
    /// let _ = s.poll_message();
    /// s.handle_text(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#, Duration::ZERO).unwrap();
    /// let Some(ServerEvent::Event { namespace, args, ack_id: Some(id), .. }) = s.poll_event() else { panic!() };
    /// s.ack(&namespace, id, args).unwrap();
    /// assert_eq!(s.poll_message().unwrap().as_text(), Some(r#"3456[1,"2",{"3":[false]}]"#));
    /// ```
    pub fn ack(&mut self, namespace: &str, id: u64, args: Vec<Value>) -> Result<(), ApiMisuse> {
        self.check_connected(namespace)?;
        let packet = self.core.parser().ack(namespace, id, &args);
        self.core.queue(&packet);
        Ok(())
    }

    /// Queues a packet encoded once elsewhere (a broadcast); its namespace must
    /// be connected on this session.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{EncodedPacket, ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0", Duration::ZERO).unwrap();
    /// s.accept("/", "a").unwrap();
    /// let _ = s.poll_message();
    /// s.send_encoded(&EncodedPacket::event("/", "broadcast", &[], None)).unwrap();
    /// assert_eq!(s.poll_message().unwrap().as_text(), Some(r#"2["broadcast"]"#));
    /// ```
    pub fn send_encoded(&mut self, packet: &EncodedPacket) -> Result<(), ApiMisuse> {
        self.check_connected(packet.namespace())?;
        self.core.queue_encoded(packet)
    }

    /// Disconnects the client from `namespace` (sends DISCONNECT). No
    /// [`ServerEvent::Disconnected`] follows: the caller initiated it.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ServerConfig, ServerSession};
    /// let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    /// s.handle_text("0/admin,", Duration::ZERO).unwrap();
    /// s.accept("/admin", "a").unwrap();
    /// let _ = s.poll_message();
    /// s.disconnect("/admin").unwrap();
    /// assert_eq!(s.poll_message().unwrap().as_text(), Some("1/admin,"));
    /// ```
    pub fn disconnect(&mut self, namespace: &str) -> Result<(), ApiMisuse> {
        self.check_connected(namespace)?;
        self.namespaces.remove(namespace);
        self.core.leave_namespace(namespace, None);
        let packet = self
            .core
            .parser()
            .packet(PacketType::Disconnect, namespace, None, None);
        self.core.queue(&packet);
        Ok(())
    }
}

impl Dispatch for ServerSession {
    type Event = ServerEvent;

    fn fire_timers(&mut self, now: Duration) {
        self.handle_timeout(now);
    }

    fn core(&mut self) -> &mut SessionCore<ServerEvent> {
        &mut self.core
    }

    fn ignores_input(&self) -> bool {
        self.closed
    }

    fn dispatch(&mut self, packet: IncomingPacket) -> Result<(), Error> {
        let v4 = self.version() == SocketIoVersion::V4;
        match packet.kind {
            PacketType::Connect => {
                let (namespace, auth) = if v4 {
                    split_v4_query(&packet.namespace)
                } else {
                    (packet.namespace, packet.data.unwrap_or_else(Value::object))
                };
                if self.namespaces.contains_key(&namespace) {
                    if v4 && namespace == "/" {
                        // A 2.x client may repeat the implicit root CONNECT.
                        return Ok(());
                    }
                    // https://github.com/socketio/socket.io-protocol#connection-to-a-namespace
                    // One CONNECT per namespace; socket.io `client.ts`: a CONNECT for
                    // a joined namespace closes the connection.
                    return session::fail(self, Error::AlreadyConnected);
                }
                if self.namespaces.len() >= self.max_namespaces {
                    return session::fail(
                        self,
                        Error::TooManyNamespaces {
                            max: self.max_namespaces,
                        },
                    );
                }
                self.namespaces
                    .insert(namespace.clone(), NamespaceState::Pending);
                self.core.report(ServerEvent::Connect { namespace, auth });
                Ok(())
            }
            kind => {
                // https://github.com/socketio/socket.io-protocol#connection-to-a-namespace
                // Packets flow on a namespace once it is connected; socket.io
                // `client.ts` `ondecoded`: a packet for a namespace with no
                // socket closes the whole connection.
                if !self.is_connected(&packet.namespace) {
                    return session::fail(self, Error::NamespaceNotConnected);
                }
                match kind {
                    PacketType::Disconnect => {
                        self.namespaces.remove(&packet.namespace);
                        self.core.leave_namespace(
                            &packet.namespace,
                            Some(DisconnectReason::ClientDisconnect),
                        );
                    }
                    PacketType::Event => {
                        self.core
                            .deliver_event(packet.namespace, packet.id, packet.data);
                    }
                    PacketType::Ack => {
                        self.core
                            .deliver_ack(packet.namespace, packet.id, packet.data);
                    }
                    other => return session::fail(self, Error::UnexpectedPacket(other)),
                }
                Ok(())
            }
        }
    }

    fn end_on_error(&mut self, error: &Error) {
        self.close_namespaces(DisconnectReason::ProtocolError(error.clone()));
    }
}

session_event!(ServerEvent);

/// v4: `/admin?token=abc&x=1` → (`/admin`, `{"token":"abc","x":"1"}`), as the JS
/// server's `new URL()` reading (`+` is a space, `%XX` is decoded).
fn split_v4_query(namespace: &str) -> (String, Value) {
    let Some((path, query)) = namespace.split_once('?') else {
        return (namespace.into(), Value::object());
    };
    let pairs = query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (form_decode(k), Value::String(form_decode(v)))
        })
        .collect();
    (path.into(), Value::Object(pairs))
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| core::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_query_is_parsed_like_url_search_params() {
        let (ns, auth) = split_v4_query("/admin?token=abc&x=1&y=a+b%21&z");
        assert_eq!(ns, "/admin");
        assert_eq!(
            auth.to_json_string(),
            r#"{"token":"abc","x":"1","y":"a b!","z":""}"#
        );
        assert_eq!(split_v4_query("/").0, "/");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
    }
}
