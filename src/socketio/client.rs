//! The client side of a Socket.IO connection, sans-IO.

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
    self, Dispatch, IncomingPacket, Input, SessionCore, check_event_name, is_valid_namespace,
    session_event,
};
use super::value::Value;

/// Settings of a [`ClientSession`].
///
/// ```
/// use socketwire::socketio::ClientConfig;
/// assert_eq!(ClientConfig::default().decoder.max_attachments, 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Decoder limits, strictness and protocol version.
    pub decoder: DecoderConfig,
    /// How long [`ClientSession::emit_with_ack`] waits (counted from the emit,
    /// even while the emit is buffered, as the JS client's `timeout()`).
    pub ack_timeout: Duration,
    /// Most acks awaited at once: an
    /// [`emit_with_ack`](ClientSession::emit_with_ack) past it fails with
    /// [`ApiMisuse::TooManyPendingAcks`]. Default 1024.
    pub max_pending_acks: usize,
    /// How long a binary packet may stay half-received before the session
    /// fails with [`Error::AttachmentTimeout`]; the timer starts at the `now`
    /// of the input that brought the header.
    /// Default 30 s.
    pub attachment_timeout: Duration,
    /// Most emits (and acked emits) buffered per namespace while it is not
    /// connected: past it they fail with [`ApiMisuse::BufferFull`] and nothing
    /// is buffered. Default 1024.
    pub max_buffered_emits: usize,
    /// The wire format, as the peer's `parser` option: [`Parser::Json`]
    /// (default) or `Parser::Msgpack` (socket.io-msgpack-parser, feature
    /// `msgpack`). Every packet is sent and read in it.
    pub parser: Parser,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            decoder: DecoderConfig::default(),
            parser: Parser::Json,
            ack_timeout: Duration::from_secs(30),
            max_pending_acks: 1024,
            attachment_timeout: Duration::from_secs(30),
            max_buffered_emits: 1024,
        }
    }
}

/// What a [`ClientSession`] reports to the application.
///
/// ```
/// use socketwire::socketio::ClientEvent;
/// let e = ClientEvent::Connected { namespace: "/".into(), sid: Some("x".into()) };
/// assert!(matches!(e, ClientEvent::Connected { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The server accepted the namespace; buffered emits were flushed.
    Connected {
        /// The namespace.
        namespace: String,
        /// The socket id the server gave (v5; `None` in v4).
        sid: Option<String>,
    },
    /// The server refused the namespace (CONNECT_ERROR / v4 ERROR); the
    /// namespace and its buffered emits are dropped.
    ConnectError {
        /// The namespace.
        namespace: String,
        /// `{"message":…,"data":…}` (v5) or any JSON (v4).
        data: Value,
    },
    /// An event from the server.
    Event {
        /// The namespace.
        namespace: String,
        /// The event name.
        name: String,
        /// The arguments after the name.
        args: Vec<Value>,
        /// Present if the server wants an ack: answer with [`ClientSession::ack`].
        ack_id: Option<u64>,
    },
    /// The server acknowledged an [`emit_with_ack`](ClientSession::emit_with_ack).
    Ack {
        /// The namespace.
        namespace: String,
        /// The id returned by `emit_with_ack`.
        id: u64,
        /// The ack arguments.
        args: Vec<Value>,
    },
    /// No ack arrived for `id` in time (or its namespace went away: a
    /// DISCONNECT or CONNECT_ERROR from the server, or [`ClientSession::disconnect`]).
    AckTimeout {
        /// The namespace.
        namespace: String,
        /// The id returned by `emit_with_ack`.
        id: u64,
    },
    /// A connected namespace is no longer connected.
    Disconnected {
        /// The namespace.
        namespace: String,
        /// Why; after [`DisconnectReason::TransportClose`] the namespace is
        /// re-connected by [`ClientSession::handle_transport_reconnected`].
        reason: DisconnectReason,
    },
    /// Close the Engine.IO connection (protocol error by the server).
    Close(CloseReason),
}

#[derive(Debug, PartialEq, Eq)]
enum ClientState {
    Connecting,
    Connected,
    /// The transport is down; reconnect on `handle_transport_reconnected`.
    Interrupted,
}

#[derive(Debug)]
struct ClientNamespace {
    auth: Option<Value>,
    state: ClientState,
    buffer: Vec<EncodedPacket>,
}

/// The client side of a Socket.IO connection over one Engine.IO session (that
/// may reconnect), with no I/O and no clock.
///
/// * **Input**: [`handle_message`](Self::handle_message) per Engine.IO message,
///   [`handle_timeout`](Self::handle_timeout),
///   [`handle_transport_closed`](Self::handle_transport_closed) and
///   [`handle_transport_reconnected`](Self::handle_transport_reconnected) (the
///   Engine.IO layer owns the reconnect backoff).
/// * **Output**: [`poll_event`](Self::poll_event), [`poll_message`](Self::poll_message),
///   [`poll_timeout`](Self::poll_timeout).
/// * **Commands**: [`connect`](Self::connect), [`emit`](Self::emit),
///   [`emit_with_ack`](Self::emit_with_ack), [`ack`](Self::ack),
///   [`disconnect`](Self::disconnect).
///
/// Emits made before a namespace is connected are buffered and flushed in
/// order when the server's CONNECT arrives.
///
/// ```
/// use core::time::Duration;
/// use socketwire::socketio::{ClientConfig, ClientEvent, ClientSession, Value};
/// let mut c = ClientSession::new(ClientConfig::default());
/// c.connect("/", Some(Value::from_json_str(r#"{"token":"123"}"#).unwrap())).unwrap();
/// c.emit("/", "hello", vec![]).unwrap(); // buffered
/// assert_eq!(c.poll_message().unwrap().as_text(), Some(r#"0{"token":"123"}"#));
/// assert_eq!(c.poll_message(), None);
/// c.handle_text(r#"0{"sid":"abc"}"#, Duration::ZERO).unwrap();
/// assert!(matches!(c.poll_event(), Some(ClientEvent::Connected { .. })));
/// assert_eq!(c.poll_message().unwrap().as_text(), Some(r#"2["hello"]"#));
/// ```
#[derive(Debug)]
pub struct ClientSession {
    core: SessionCore<ClientEvent>,
    namespaces: BTreeMap<String, ClientNamespace>,
    transport_open: bool,
    max_buffered_emits: usize,
}

impl ClientSession {
    /// A client on an open Engine.IO session. In v4, `/` is connecting
    /// implicitly (the server sends `40` by itself).
    ///
    /// ```
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// let c = ClientSession::new(ClientConfig::default());
    /// assert!(!c.is_connected("/"));
    /// ```
    pub fn new(config: ClientConfig) -> ClientSession {
        let mut session = ClientSession {
            core: SessionCore::new(
                config.decoder,
                config.parser,
                config.ack_timeout,
                config.max_pending_acks,
                config.attachment_timeout,
            ),
            namespaces: BTreeMap::new(),
            transport_open: true,
            max_buffered_emits: config.max_buffered_emits,
        };
        if session.version() == SocketIoVersion::V4 {
            // https://github.com/socketio/socket.io-protocol/tree/v4#connection-to-the-default-namespace
            // v4: the server connects the client to `/` without a CONNECT from it.
            session.namespaces.insert(
                "/".into(),
                ClientNamespace {
                    auth: None,
                    state: ClientState::Connecting,
                    buffer: Vec::new(),
                },
            );
        }
        session
    }

    /// The protocol version.
    ///
    /// ```
    /// use socketwire::socketio::{ClientConfig, ClientSession, SocketIoVersion};
    /// assert_eq!(ClientSession::new(ClientConfig::default()).version(), SocketIoVersion::V5);
    /// ```
    pub fn version(&self) -> SocketIoVersion {
        self.core.version()
    }

    /// `true` if `namespace` is connected.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/", None).unwrap();
    /// c.handle_text(r#"0{"sid":"a"}"#, Duration::ZERO).unwrap();
    /// assert!(c.is_connected("/"));
    /// ```
    pub fn is_connected(&self, namespace: &str) -> bool {
        self.namespaces
            .get(namespace)
            .is_some_and(|ns| ns.state == ClientState::Connected)
    }

    fn connect_packet(&self, namespace: &str, auth: Option<&Value>) -> EncodedPacket {
        match self.version() {
            SocketIoVersion::V5 => {
                self.core
                    .parser()
                    .packet(PacketType::Connect, namespace, None, auth)
            }
            SocketIoVersion::V4 => {
                // SIO v4: CONNECT carries no JSON; auth goes into the `?query`.
                let mut with_query = String::from(namespace);
                if let Some(Value::Object(pairs)) = auth {
                    let mut sep = '?';
                    for (k, v) in pairs {
                        let v = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_json_string(),
                        };
                        with_query.push(sep);
                        form_encode(&mut with_query, k);
                        with_query.push('=');
                        form_encode(&mut with_query, &v);
                        sep = '&';
                    }
                }
                self.core
                    .parser()
                    .packet(PacketType::Connect, &with_query, None, None)
            }
        }
    }

    /// Starts connecting `namespace` with an optional auth payload (v5) or
    /// query (v4, from an object's entries). Sent now if the transport is up,
    /// else on [`handle_transport_reconnected`](Self::handle_transport_reconnected).
    ///
    /// ```
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/admin", None).unwrap();
    /// assert_eq!(c.poll_message().unwrap().as_text(), Some("0/admin,"));
    /// ```
    pub fn connect(&mut self, namespace: &str, auth: Option<Value>) -> Result<(), ApiMisuse> {
        if !is_valid_namespace(namespace) {
            return Err(ApiMisuse::InvalidNamespace);
        }
        if self.namespaces.contains_key(namespace) {
            return Ok(());
        }
        if self.transport_open {
            let packet = self.connect_packet(namespace, auth.as_ref());
            self.core.queue(&packet);
        }
        let state = if self.transport_open {
            ClientState::Connecting
        } else {
            ClientState::Interrupted
        };
        self.namespaces.insert(
            namespace.into(),
            ClientNamespace {
                auth,
                state,
                buffer: Vec::new(),
            },
        );
        Ok(())
    }

    /// Whether `namespace` can take one more packet: connected (sent at once)
    /// or with room in its buffer.
    fn check_room(&self, namespace: &str) -> Result<(), ApiMisuse> {
        let ns = self
            .namespaces
            .get(namespace)
            .ok_or(ApiMisuse::NotConnected)?;
        if ns.state != ClientState::Connected && ns.buffer.len() >= self.max_buffered_emits {
            return Err(ApiMisuse::BufferFull);
        }
        Ok(())
    }

    fn send_or_buffer(&mut self, namespace: &str, packet: EncodedPacket) -> Result<(), ApiMisuse> {
        self.check_room(namespace)?;
        let ns = self
            .namespaces
            .get_mut(namespace)
            .ok_or(ApiMisuse::NotConnected)?;
        if ns.state == ClientState::Connected {
            self.core.queue(&packet);
        } else {
            ns.buffer.push(packet);
        }
        Ok(())
    }

    /// Sends EVENT `[name, ...args]`, or buffers it until `namespace` connects
    /// (the namespace must have been [`connect`](Self::connect)ed).
    ///
    /// ```
    /// use socketwire::socketio::{ApiMisuse, ClientConfig, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// assert_eq!(c.emit("/", "x", vec![]), Err(ApiMisuse::NotConnected));
    /// ```
    pub fn emit(&mut self, namespace: &str, name: &str, args: Vec<Value>) -> Result<(), ApiMisuse> {
        check_event_name(name)?;
        let packet = self.core.parser().event(namespace, name, &args, None);
        self.send_or_buffer(namespace, packet)
    }

    /// Sends (or buffers) an event that asks for an ack; returns its id. The
    /// ack timer starts at `now`.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ClientConfig, ClientEvent, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/", None).unwrap();
    /// let id = c.emit_with_ack("/", "q", vec![], Duration::ZERO).unwrap();
    /// c.handle_timeout(Duration::from_secs(30));
    /// assert_eq!(c.poll_event(), Some(ClientEvent::AckTimeout { namespace: "/".into(), id }));
    /// ```
    pub fn emit_with_ack(
        &mut self,
        namespace: &str,
        name: &str,
        args: Vec<Value>,
        now: Duration,
    ) -> Result<u64, ApiMisuse> {
        // The deadlines at or before `now` first, as if the timer had run.
        self.handle_timeout(now);
        check_event_name(name)?;
        // Before the ack is registered, so a full buffer leaves no ack behind.
        self.check_room(namespace)?;
        let (id, packet) = self.core.event_with_ack(namespace, name, &args, now)?;
        self.send_or_buffer(namespace, packet)?;
        Ok(id)
    }

    /// Answers a server event's ack id.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/", None).unwrap();
    /// c.handle_text(r#"0{"sid":"a"}"#, Duration::ZERO).unwrap();
    /// let _ = c.poll_message();
    /// c.ack("/", 5, vec![1u64.into()]).unwrap();
    /// assert_eq!(c.poll_message().unwrap().as_text(), Some("35[1]"));
    /// ```
    pub fn ack(&mut self, namespace: &str, id: u64, args: Vec<Value>) -> Result<(), ApiMisuse> {
        if !self.is_connected(namespace) {
            return Err(ApiMisuse::NotConnected);
        }
        let packet = self.core.parser().ack(namespace, id, &args);
        self.core.queue(&packet);
        Ok(())
    }

    /// Leaves `namespace` (DISCONNECT if connected); it is not re-connected.
    /// Acks still awaited on it are reported as [`ClientEvent::AckTimeout`].
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/", None).unwrap();
    /// c.handle_text(r#"0{"sid":"a"}"#, Duration::ZERO).unwrap();
    /// let _ = c.poll_message();
    /// c.disconnect("/").unwrap();
    /// assert_eq!(c.poll_message().unwrap().as_text(), Some("1"));
    /// ```
    pub fn disconnect(&mut self, namespace: &str) -> Result<(), ApiMisuse> {
        let ns = self
            .namespaces
            .remove(namespace)
            .ok_or(ApiMisuse::NotConnected)?;
        if ns.state == ClientState::Connected && self.transport_open {
            let packet = self
                .core
                .parser()
                .packet(PacketType::Disconnect, namespace, None, None);
            self.core.queue(&packet);
        }
        self.core.leave_namespace(namespace, None);
        Ok(())
    }

    /// The transport closed: connected namespaces report
    /// [`ClientEvent::Disconnected`] and wait for a reconnect; pending ack
    /// timers keep running.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ClientConfig, ClientEvent, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/", None).unwrap();
    /// c.handle_text(r#"0{"sid":"a"}"#, Duration::ZERO).unwrap();
    /// let _ = c.poll_event();
    /// c.handle_transport_closed();
    /// assert!(matches!(c.poll_event(), Some(ClientEvent::Disconnected { .. })));
    /// ```
    pub fn handle_transport_closed(&mut self) {
        self.transport_open = false;
        self.core.reset_reassembly();
        self.core.clear_messages();
        for (namespace, ns) in self.namespaces.iter_mut() {
            if ns.state == ClientState::Connected {
                self.core.report(ClientEvent::Disconnected {
                    namespace: namespace.clone(),
                    reason: DisconnectReason::TransportClose,
                });
            }
            ns.state = ClientState::Interrupted;
        }
    }

    /// The Engine.IO layer reconnected: every namespace sends CONNECT again
    /// (with its auth) and buffers emits until the server answers.
    ///
    /// ```
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/admin", None).unwrap();
    /// let _ = c.poll_message();
    /// c.handle_transport_closed();
    /// c.handle_transport_reconnected();
    /// assert_eq!(c.poll_message().unwrap().as_text(), Some("0/admin,"));
    /// ```
    pub fn handle_transport_reconnected(&mut self) {
        self.transport_open = true;
        let mut packets = Vec::new();
        for (namespace, ns) in &self.namespaces {
            if self.version() == SocketIoVersion::V4 && namespace == "/" {
                // The v4 server connects `/` by itself.
                continue;
            }
            packets.push(self.connect_packet(namespace, ns.auth.as_ref()));
        }
        for ns in self.namespaces.values_mut() {
            ns.state = ClientState::Connecting;
        }
        for packet in &packets {
            self.core.queue(packet);
        }
    }

    /// Feeds one decoded Engine.IO message that arrived at `now`: the
    /// deadlines at or before `now` fire first, as
    /// [`handle_timeout`](Self::handle_timeout) would (an ACK after its
    /// deadline finds it timed out). On `Err`, a
    /// [`ClientEvent::Close`] is queued: close the transport.
    ///
    /// ```
    /// use core::time::Duration;
    /// use bytes::Bytes;
    /// use socketwire::socketio::{ClientConfig, ClientSession, EngineMessage};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// assert!(c.handle_message(EngineMessage::Binary(Bytes::from_static(b"x")), Duration::ZERO).is_err());
    /// ```
    pub fn handle_message(&mut self, message: EngineMessage, now: Duration) -> Result<(), Error> {
        session::handle(self, Input::Message(message), now)
    }

    /// Feeds one text message that arrived at `now` (deadlines as in
    /// [`handle_message`](Self::handle_message)).
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ClientConfig, ClientEvent, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/secret", None).unwrap();
    /// c.handle_text(r#"4/secret,{"message":"Not authorized","data":{"code":42}}"#, Duration::ZERO).unwrap();
    /// assert!(matches!(c.poll_event(), Some(ClientEvent::ConnectError { .. })));
    /// ```
    pub fn handle_text(&mut self, text: &str, now: Duration) -> Result<(), Error> {
        session::handle(self, Input::Text(text), now)
    }

    /// Feeds one binary message that arrived at `now` (deadlines as in
    /// [`handle_message`](Self::handle_message)).
    ///
    /// ```
    /// use core::time::Duration;
    /// use bytes::Bytes;
    /// use socketwire::socketio::{ClientConfig, ClientEvent, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/", None).unwrap();
    /// c.handle_text(r#"0{"sid":"a"}"#, Duration::ZERO).unwrap();
    /// let _ = c.poll_event();
    /// c.handle_text(r#"51-["file",{"_placeholder":true,"num":0}]"#, Duration::ZERO).unwrap();
    /// c.handle_binary(Bytes::from_static(&[1, 2]), Duration::ZERO).unwrap();
    /// assert!(matches!(c.poll_event(), Some(ClientEvent::Event { name, .. }) if name == "file"));
    /// ```
    pub fn handle_binary(&mut self, data: Bytes, now: Duration) -> Result<(), Error> {
        session::handle(self, Input::Binary(data), now)
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    ///
    /// ```
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// assert_eq!(ClientSession::new(ClientConfig::default()).poll_timeout(), None);
    /// ```
    #[must_use = "arm a timer for this deadline"]
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.core.next_deadline()
    }

    /// Fires every deadline at or before `now`, earliest first: expired acks
    /// become [`ClientEvent::AckTimeout`]; a binary packet half-received for
    /// `attachment_timeout` fails the session.
    /// [`emit_with_ack`](Self::emit_with_ack) calls it first itself.
    ///
    /// ```
    /// use core::time::Duration;
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.handle_timeout(Duration::from_secs(1));
    /// assert_eq!(c.poll_event(), None);
    /// ```
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.core.fire_deadlines(now) {
            let _ = session::fail(self, Error::AttachmentTimeout);
            // The client outlives the failure (its acks stay awaited): the
            // acks due after the attachment deadline, up to `now`, fire too,
            // as a timely call at each deadline would.
            self.core.fire_deadlines(now);
        }
    }

    /// The next event for the application.
    ///
    /// ```
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// assert_eq!(ClientSession::new(ClientConfig::default()).poll_event(), None);
    /// ```
    #[must_use = "a polled event is taken off the queue"]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.core.poll_event()
    }

    /// The next Engine.IO message to send.
    ///
    /// ```
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// assert_eq!(ClientSession::new(ClientConfig::default()).poll_message(), None);
    /// ```
    #[must_use = "a polled message is taken off the queue: send it"]
    pub fn poll_message(&mut self) -> Option<EngineMessage> {
        self.core.poll_message()
    }

    /// Engine.IO messages queued and not yet taken with
    /// [`ClientSession::poll_message`].
    ///
    /// ```
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/", None).unwrap();
    /// assert_eq!(c.buffered_messages(), 1);
    /// ```
    #[must_use]
    pub fn buffered_messages(&self) -> usize {
        self.core.buffered_messages()
    }

    /// Bytes queued and not yet taken with [`ClientSession::poll_message`],
    /// in constant time: counted, and added to the layers' below, as
    /// [`ServerSession::buffered_amount`](super::ServerSession::buffered_amount)
    /// says.
    ///
    /// ```
    /// use socketwire::socketio::{ClientConfig, ClientSession};
    /// let mut c = ClientSession::new(ClientConfig::default());
    /// c.connect("/", None).unwrap();
    /// assert_eq!(c.buffered_amount(), 1); // "0"
    /// let _connect = c.poll_message();
    /// assert_eq!(c.buffered_amount(), 0);
    /// ```
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.core.buffered_amount()
    }
}

impl Dispatch for ClientSession {
    type Event = ClientEvent;

    fn fire_timers(&mut self, now: Duration) {
        self.handle_timeout(now);
    }

    fn core(&mut self) -> &mut SessionCore<ClientEvent> {
        &mut self.core
    }

    /// A client stays usable after a protocol error: the caller closes the
    /// transport and may reconnect it.
    fn ignores_input(&self) -> bool {
        false
    }

    fn dispatch(&mut self, packet: IncomingPacket) -> Result<(), Error> {
        let v4 = self.version() == SocketIoVersion::V4;
        let namespace = packet.namespace;
        let Some(ns) = self.namespaces.get_mut(&namespace) else {
            // Packets for namespaces this client does not use are ignored, as
            // each JS client socket filters on its own namespace.
            return Ok(());
        };
        match packet.kind {
            PacketType::Connect if ns.state == ClientState::Connecting => {
                let sid = match packet.data.as_ref().and_then(|d| d.get("sid")) {
                    Some(Value::String(sid)) => Some(sid.clone()),
                    // https://github.com/socketio/socket.io-protocol#connection-to-a-namespace
                    // The v5 server answers CONNECT with `{"sid":…}`; socket.io-client:
                    // a v5 CONNECT reply without `sid` means a
                    // v2.x server answered.
                    _ if !v4 => return session::fail(self, Error::MissingSid),
                    _ => None,
                };
                ns.state = ClientState::Connected;
                let buffered = core::mem::take(&mut ns.buffer);
                for packet in &buffered {
                    self.core.queue(packet);
                }
                self.core.report(ClientEvent::Connected { namespace, sid });
            }
            PacketType::Connect => {}
            PacketType::ConnectError => {
                self.namespaces.remove(&namespace);
                self.core.leave_namespace(&namespace, None);
                self.core.report(ClientEvent::ConnectError {
                    namespace,
                    data: packet.data.unwrap_or_default(),
                });
            }
            // The server ends only a namespace it accepted, and its accept
            // comes first on the ordered transport: a DISCONNECT that finds
            // the namespace (re)connecting was for an earlier connection of
            // it (the client left and joined again), and the current
            // attempt goes on.
            PacketType::Disconnect if ns.state == ClientState::Connected => {
                self.namespaces.remove(&namespace);
                self.core
                    .leave_namespace(&namespace, Some(DisconnectReason::ServerDisconnect));
            }
            PacketType::Event if ns.state == ClientState::Connected => {
                self.core.deliver_event(namespace, packet.id, packet.data);
            }
            PacketType::Ack => self.core.deliver_ack(namespace, packet.id, packet.data),
            _ => {}
        }
        Ok(())
    }

    /// The namespaces stay as they are: closing the transport reports them
    /// disconnected ([`ClientSession::handle_transport_closed`]).
    fn end_on_error(&mut self, _: &Error) {}
}

session_event!(ClientEvent);

/// Percent-encodes a query component (everything but unreserved characters).
fn form_encode(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}
