//! The sans-IO Engine.IO client session (needs the `json` feature to read the
//! open packet).
//!
//! | state | entered by | leaves on |
//! |---|---|---|
//! | Opening | [`ClientSession::new`] | open packet (→ Open), close, error |
//! | Open, polling | open packet on polling | [`ClientSession::start_upgrade`] (→ Probing), close |
//! | Probing | `2probe` queued on the new WebSocket | `3probe` (→ Open on WebSocket, `5` sent), anything else (→ polling) |
//! | Open, WebSocket | upgrade, or open packet on WebSocket | close |
//! | Closed | close from either side, heartbeat timeout, parse error | — |

use alloc::collections::VecDeque;
use alloc::string::String;
use core::time::Duration;

use bytes::{Bytes, BytesMut};

use super::error::{ApiMisuse, Error};
use super::message::{CloseReason, MessageData};
use super::open::OpenPacket;
use super::packet::{EngineIoVersion, MessageKind, OwnedPacket, Packet, PacketType};
use super::payload::PayloadFormat;
use super::session::CountedQueue;

/// The transport a client session is on.
///
/// ```
/// use socketwire::engineio::ClientTransport;
/// assert_eq!(ClientTransport::Polling.query_value(), "polling");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientTransport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl ClientTransport {
    /// The `transport` query value.
    ///
    /// ```
    /// use socketwire::engineio::ClientTransport;
    /// assert_eq!(ClientTransport::WebSocket.query_value(), "websocket");
    /// ```
    pub fn query_value(self) -> &'static str {
        match self {
            ClientTransport::Polling => "polling",
            ClientTransport::WebSocket => "websocket",
        }
    }
}

/// What happened, for the application.
///
/// ```
/// use socketwire::engineio::ClientEvent;
/// assert_eq!(ClientEvent::Upgraded, ClientEvent::Upgraded);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The handshake arrived.
    Open(OpenPacket),
    /// A message from the server.
    Message(MessageData),
    /// The session now runs on WebSocket; stop polling.
    Upgraded,
    /// The session is over.
    Closed(CloseReason),
}

/// Where the bytes [`ClientSession::poll_transmit`] wrote must go.
///
/// ```
/// use socketwire::engineio::{ClientTransmit, MessageKind};
/// assert_ne!(ClientTransmit::Post, ClientTransmit::WebSocket(MessageKind::Text));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientTransmit {
    /// POST the bytes as a polling payload (`text/plain; charset=UTF-8`); call
    /// [`ClientSession::handle_post_done`] when its response arrives.
    Post,
    /// Send the bytes as one message on the session's WebSocket.
    WebSocket(MessageKind),
    /// Send the bytes as one message on the WebSocket being probed.
    Probe(MessageKind),
    /// Close the active transport (nothing was written).
    CloseTransport,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Opening,
    Open,
    Closed,
}

/// An Engine.IO client session without I/O.
///
/// * **Input** — decode what the transport delivers with [`Packet::decode_text`],
///   [`Packet::decode_binary`] or [`PayloadDecoder`](super::PayloadDecoder), and
///   feed each packet to [`ClientSession::handle_packet`] (or
///   [`ClientSession::handle_probe_packet`] for the WebSocket being probed);
///   [`ClientSession::handle_post_done`], [`ClientSession::handle_transport_error`],
///   [`ClientSession::handle_timeout`].
/// * **Commands** — [`ClientSession::send_text`], [`ClientSession::send_binary`],
///   [`ClientSession::start_upgrade`], [`ClientSession::close`].
/// * **Output** — [`ClientSession::poll_event`], [`ClientSession::poll_transmit`],
///   [`ClientSession::poll_timeout`]; [`ClientSession::query`] builds the query
///   string for the next request.
///
/// ```
/// use bytes::BytesMut;
/// use core::time::Duration;
/// use socketwire::engineio::{ClientEvent, ClientSession, ClientTransmit, ClientTransport, Packet, EngineIoVersion};
///
/// let mut client = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
/// assert_eq!(client.query(ClientTransport::Polling), "EIO=4&transport=polling");
/// let open = r#"{"sid":"s1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
/// client.handle_packet(Packet::Open(open), Duration::ZERO).unwrap();
/// assert!(matches!(client.poll_event(), Some(ClientEvent::Open(_))));
/// assert_eq!(client.query(ClientTransport::Polling), "EIO=4&transport=polling&sid=s1");
///
/// // The server pings; the client answers in its next POST.
/// client.handle_packet(Packet::Ping(""), Duration::from_secs(25)).unwrap();
/// client.send_text("hello").unwrap();
/// let mut out = BytesMut::new();
/// assert_eq!(client.poll_transmit(&mut out), Some(ClientTransmit::Post));
/// assert_eq!(&out[..], b"3\x1e4hello");
/// ```
#[derive(Debug)]
pub struct ClientSession {
    version: EngineIoVersion,
    transport: ClientTransport,
    state: State,
    open: Option<OpenPacket>,
    probing: bool,
    outbox: CountedQueue<OwnedPacket>,
    probe_out: CountedQueue<OwnedPacket>,
    close_transport: bool,
    post_in_flight: bool,
    supports_binary: bool,
    events: VecDeque<ClientEvent>,
    /// v4: the server is dead if no ping arrives before this; v3: pong expected before.
    liveness_deadline: Option<Duration>,
    /// v3: when to send the next ping.
    next_ping: Option<Duration>,
}

impl ClientSession {
    /// A session about to handshake on `transport`.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// let c = ClientSession::new(EngineIoVersion::V3, ClientTransport::WebSocket);
    /// assert_eq!(c.transport(), ClientTransport::WebSocket);
    /// ```
    pub fn new(version: EngineIoVersion, transport: ClientTransport) -> ClientSession {
        ClientSession {
            version,
            transport,
            state: State::Opening,
            open: None,
            probing: false,
            outbox: CountedQueue::default(),
            probe_out: CountedQueue::default(),
            close_transport: false,
            post_in_flight: false,
            supports_binary: true,
            events: VecDeque::new(),
            liveness_deadline: None,
            next_ping: None,
        }
    }

    /// The protocol version.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// assert_eq!(ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling).version(), EngineIoVersion::V4);
    /// ```
    pub fn version(&self) -> EngineIoVersion {
        self.version
    }

    /// The active transport.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// assert_eq!(ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling).transport(), ClientTransport::Polling);
    /// ```
    pub fn transport(&self) -> ClientTransport {
        self.transport
    }

    /// The handshake, once received.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// assert!(ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling).handshake().is_none());
    /// ```
    pub fn handshake(&self) -> Option<&OpenPacket> {
        self.open.as_ref()
    }

    /// The query string for a request on `transport` (`EIO`, `transport`, and
    /// `sid` once known). Cache-busting parameters are the caller's.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// let c = ClientSession::new(EngineIoVersion::V3, ClientTransport::Polling);
    /// assert_eq!(c.query(ClientTransport::WebSocket), "EIO=3&transport=websocket");
    /// ```
    pub fn query(&self, transport: ClientTransport) -> String {
        let mut query = String::from("EIO=");
        query.push_str(self.version.query_value());
        query.push_str("&transport=");
        query.push_str(transport.query_value());
        if let Some(open) = &self.open {
            query.push_str("&sid=");
            query.push_str(&open.sid);
        }
        query
    }

    /// Whether the server offered WebSocket and an upgrade can start now.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// assert!(!ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling).can_upgrade());
    /// ```
    pub fn can_upgrade(&self) -> bool {
        self.state == State::Open
            && self.transport == ClientTransport::Polling
            && !self.probing
            && self
                .open
                .as_ref()
                .is_some_and(|open| open.upgrades.iter().any(|u| u == "websocket"))
    }

    /// Starts the upgrade: call after opening a WebSocket with
    /// [`ClientSession::query`]`(WebSocket)`; queues `2probe` on it.
    ///
    /// ```
    /// use socketwire::engineio::{ApiMisuse, ClientSession, ClientTransport, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// assert_eq!(c.start_upgrade(), Err(ApiMisuse::NoUpgrade));
    /// ```
    pub fn start_upgrade(&mut self) -> Result<(), ApiMisuse> {
        if !self.can_upgrade() {
            return Err(ApiMisuse::NoUpgrade);
        }
        self.probing = true;
        self.probe_out
            .push_back(OwnedPacket::Text(PacketType::Ping, String::from("probe")));
        Ok(())
    }

    /// Handles a packet from the active transport.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, Error, Packet, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// assert_eq!(c.handle_packet(Packet::Open("nope"), core::time::Duration::ZERO), Err(Error::InvalidOpenPacket));
    /// ```
    pub fn handle_packet(&mut self, packet: Packet<'_>, now: Duration) -> Result<(), Error> {
        // The deadlines at or before `now` come first: a packet that arrives
        // after the server was declared dead finds the session closed.
        self.handle_timeout(now);
        match (self.state, packet) {
            (State::Closed, _) => Ok(()),
            (State::Opening, Packet::Open(json)) => {
                let open = match OpenPacket::decode_json(json) {
                    Ok(open) => open,
                    Err(e) => {
                        self.finish(CloseReason::ParseError);
                        return Err(e);
                    }
                };
                let (interval, timeout) = heartbeat(&open);
                match self.version {
                    // https://github.com/socketio/engine.io-protocol#heartbeat — the
                    // client treats silence for pingInterval + pingTimeout as a dead
                    // server.
                    EngineIoVersion::V4 => {
                        self.liveness_deadline =
                            Some(now.saturating_add(interval).saturating_add(timeout));
                    }
                    // https://github.com/socketio/engine.io-protocol/tree/v3#timeouts —
                    // the client pings every pingInterval.
                    EngineIoVersion::V3 => self.next_ping = Some(now.saturating_add(interval)),
                }
                if self.transport == ClientTransport::WebSocket {
                    self.supports_binary = true;
                }
                self.state = State::Open;
                self.events.push_back(ClientEvent::Open(open.clone()));
                self.open = Some(open);
                Ok(())
            }
            (State::Opening, _) => {
                self.finish(CloseReason::ParseError);
                Err(Error::InvalidOpenPacket)
            }
            (State::Open, packet) => {
                self.handle_open_packet(packet, now);
                Ok(())
            }
        }
    }

    fn handle_open_packet(&mut self, packet: Packet<'_>, now: Duration) {
        if let Some(data) = MessageData::of_packet(&packet) {
            self.events.push_back(ClientEvent::Message(data));
            return;
        }
        let (interval, timeout) = self.heartbeat();
        match packet {
            Packet::Ping(_) if self.version == EngineIoVersion::V4 => {
                self.liveness_deadline = Some(now.saturating_add(interval).saturating_add(timeout));
                self.outbox.push_back(OwnedPacket::simple(PacketType::Pong));
            }
            Packet::Pong(_) if self.version == EngineIoVersion::V3 => {
                self.liveness_deadline = None;
                self.next_ping = Some(now.saturating_add(interval));
            }
            Packet::Close => self.finish(CloseReason::TransportClose),
            // Wrong-direction heartbeats, noops and stray opens are ignored by the JS client.
            _ => {}
        }
    }

    fn heartbeat(&self) -> (Duration, Duration) {
        self.open
            .as_ref()
            .map_or((Duration::ZERO, Duration::ZERO), heartbeat)
    }

    /// Handles a packet from the WebSocket being probed: `3probe` completes the
    /// upgrade (`5` is queued on the WebSocket, pending packets move to it and
    /// [`ClientEvent::Upgraded`] is reported); anything else aborts it.
    ///
    /// Pause rule: like the JS client, hand `3probe` over only once no polling
    /// GET or POST is in flight (hold it and start no new GET meanwhile). A
    /// server that sees `5` while a GET is parked may answer that GET with a
    /// close instead of its data. `examples/engineio_client.rs` does this.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, Packet, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// c.handle_probe_packet(Packet::Pong("probe")); // no upgrade running: ignored
    /// assert_eq!(c.transport(), ClientTransport::Polling);
    /// ```
    pub fn handle_probe_packet(&mut self, packet: Packet<'_>) {
        if !self.probing || self.state != State::Open {
            return;
        }
        self.probing = false;
        if packet == Packet::Pong("probe") {
            // EIOP4 "Upgrade": after `3probe` the client sends `5` on the new
            // transport and uses it from then on.
            self.transport = ClientTransport::WebSocket;
            self.probe_out
                .push_back(OwnedPacket::simple(PacketType::Upgrade));
            for packet in self.outbox.take_all() {
                self.probe_out.push_back(packet);
            }
            self.events.push_back(ClientEvent::Upgraded);
        } else {
            self.probe_out.take_all();
        }
    }

    /// The response to the last [`ClientTransmit::Post`] arrived.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling).handle_post_done();
    /// ```
    pub fn handle_post_done(&mut self) {
        self.post_in_flight = false;
    }

    /// The active transport failed (HTTP error, WebSocket closed).
    ///
    /// ```
    /// use socketwire::engineio::{ClientEvent, ClientSession, ClientTransport, CloseReason, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// c.handle_transport_error();
    /// assert_eq!(c.poll_event(), Some(ClientEvent::Closed(CloseReason::TransportError("transport error"))));
    /// ```
    pub fn handle_transport_error(&mut self) {
        self.finish(CloseReason::TransportError("transport error"));
    }

    fn finish(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.probing = false;
        self.liveness_deadline = None;
        self.next_ping = None;
        self.events.push_back(ClientEvent::Closed(reason));
    }

    fn queue(&mut self, packet: OwnedPacket) -> Result<(), ApiMisuse> {
        if self.state == State::Closed {
            return Err(ApiMisuse::Closed);
        }
        self.outbox.push_back(packet);
        Ok(())
    }

    /// Queues a text message (sent once the session is open).
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// c.send_text("early").unwrap();
    /// ```
    pub fn send_text(&mut self, text: &str) -> Result<(), ApiMisuse> {
        self.queue(OwnedPacket::Text(PacketType::Message, String::from(text)))
    }

    /// Queues a binary message.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// c.send_binary(bytes::Bytes::from_static(&[1])).unwrap();
    /// ```
    pub fn send_binary(&mut self, data: Bytes) -> Result<(), ApiMisuse> {
        self.queue(OwnedPacket::Binary(data))
    }

    /// Closes the session: on polling a `close` packet is POSTed; on WebSocket
    /// the socket is closed.
    ///
    /// ```
    /// use socketwire::engineio::{ClientEvent, ClientSession, ClientTransport, CloseReason, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::WebSocket);
    /// c.close();
    /// assert_eq!(c.poll_event(), Some(ClientEvent::Closed(CloseReason::ForcedClose)));
    /// ```
    pub fn close(&mut self) {
        if self.state == State::Closed {
            return;
        }
        if self.state == State::Open && self.transport == ClientTransport::Polling {
            self.outbox
                .push_back(OwnedPacket::simple(PacketType::Close));
        } else {
            self.close_transport = true;
        }
        self.finish(CloseReason::ForcedClose);
    }

    /// Fires heartbeat deadlines: v3 pings, and the dead-server timeouts.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// c.handle_timeout(core::time::Duration::from_secs(1));
    /// ```
    pub fn handle_timeout(&mut self, now: Duration) {
        // Each deadline fires at its own time, earliest first, so one late call
        // has the outcome of timely calls (a ping clears `next_ping`, an
        // expiry closes: at most two rounds).
        while self.state == State::Open
            && let Some(due) = self.poll_timeout().filter(|due| *due <= now)
        {
            if self.liveness_deadline.is_some_and(|d| d <= due) {
                self.finish(CloseReason::PingTimeout);
                return;
            }
            if self.next_ping.is_some_and(|d| d <= due) {
                let (_, timeout) = self.heartbeat();
                self.next_ping = None;
                self.liveness_deadline = Some(due.saturating_add(timeout));
                self.outbox
                    .push_back(OwnedPacket::Text(PacketType::Ping, String::new()));
            }
        }
    }

    /// When to call [`ClientSession::handle_timeout`].
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// assert_eq!(ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling).poll_timeout(), None);
    /// ```
    pub fn poll_timeout(&self) -> Option<Duration> {
        [self.liveness_deadline, self.next_ping]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next event.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// assert_eq!(ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling).poll_event(), None);
    /// ```
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Packets queued and not yet written by
    /// [`ClientSession::poll_transmit`] (the probe's included). Constant time.
    ///
    /// ```
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// c.send_text("early").unwrap();
    /// assert_eq!(c.buffered_packets(), 1);
    /// ```
    #[must_use]
    pub fn buffered_packets(&self) -> usize {
        self.outbox.len() + self.probe_out.len()
    }

    /// Bytes queued and not yet written by [`ClientSession::poll_transmit`],
    /// in constant time, counted as the server session counts them
    /// ([`ServerSession::buffered_amount`](super::ServerSession::buffered_amount)):
    /// each packet's type character plus its data, no transport framing.
    /// The client has no cap of its own: only the application and the
    /// server's pings (one pong each) queue packets, so the application
    /// compares this with its own cap before sending.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// c.send_text("hello").unwrap(); // "4hello"
    /// c.send_binary(Bytes::from_static(&[1, 2, 3])).unwrap();
    /// assert_eq!(c.buffered_amount(), 6 + 3);
    /// ```
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.outbox.bytes() + self.probe_out.bytes()
    }

    /// Writes the next thing to send into `out` and says where it goes. On
    /// polling, everything queued goes into one POST (at most `maxPayload`
    /// bytes, at least one packet) and nothing more is POSTed until
    /// [`ClientSession::handle_post_done`].
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use socketwire::engineio::{ClientSession, ClientTransport, EngineIoVersion};
    /// let mut c = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    /// assert_eq!(c.poll_transmit(&mut BytesMut::new()), None); // not open yet
    /// ```
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> Option<ClientTransmit> {
        if let Some(packet) = self.probe_out.pop_front() {
            let kind = packet
                .borrowed()
                .encode_websocket(self.version, self.supports_binary, out);
            return Some(ClientTransmit::Probe(kind));
        }
        if self.state == State::Opening || self.outbox.is_empty() {
            if self.close_transport {
                self.close_transport = false;
                return Some(ClientTransmit::CloseTransport);
            }
            return None;
        }
        match self.transport {
            ClientTransport::WebSocket => {
                let packet = self.outbox.pop_front()?;
                let kind =
                    packet
                        .borrowed()
                        .encode_websocket(self.version, self.supports_binary, out);
                Some(ClientTransmit::WebSocket(kind))
            }
            ClientTransport::Polling => {
                if self.post_in_flight || self.probing {
                    return None;
                }
                let max = self
                    .open
                    .as_ref()
                    .and_then(|o| o.max_payload)
                    .and_then(|m| usize::try_from(m).ok())
                    .unwrap_or(usize::MAX);
                let mut take = 0;
                let mut size = 0usize;
                for packet in self.outbox.iter() {
                    // The packet plus an upper bound on its framing (v4: one
                    // separator; v3: up to 20 length digits and `:`).
                    let len = packet.borrowed().encoded_text_len(self.version) + 21;
                    if take > 0 && size.saturating_add(len) > max {
                        break;
                    }
                    size = size.saturating_add(len);
                    take += 1;
                }
                let owned = self.outbox.take_front(take);
                let packets: alloc::vec::Vec<Packet<'_>> =
                    owned.iter().map(OwnedPacket::borrowed).collect();
                PayloadFormat::text(self.version).encode(&packets, out);
                self.post_in_flight = true;
                Some(ClientTransmit::Post)
            }
        }
    }
}

/// The peer's heartbeat settings. A hostile server may announce any `u64`, so
/// every deadline built from them saturates.
fn heartbeat(open: &OpenPacket) -> (Duration, Duration) {
    (
        Duration::from_millis(open.ping_interval),
        Duration::from_millis(open.ping_timeout),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_heartbeat_saturates() {
        let open = r#"{"sid":"s","upgrades":[],"pingInterval":18446744073709551615,"pingTimeout":18446744073709551615}"#;
        let late = Duration::from_secs(u64::MAX - 1);
        for version in [EngineIoVersion::V3, EngineIoVersion::V4] {
            let mut client = ClientSession::new(version, ClientTransport::WebSocket);
            client.handle_packet(Packet::Open(open), late).unwrap();
            assert!(client.poll_timeout().is_some());
            client.handle_packet(Packet::Ping(""), late).unwrap();
            client.handle_packet(Packet::Pong(""), late).unwrap();
            client.handle_timeout(Duration::MAX);
            assert!(client.poll_timeout().is_none_or(|t| t >= late));
        }
    }
}
