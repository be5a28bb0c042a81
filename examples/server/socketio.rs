//! `/socket.io/`: the Socket.IO server of the example, an `App` per Engine.IO
//! session on the Engine.IO glue. One `socketwire::socketio::ServerSession` per
//! Engine.IO session; one `Rooms` for the process.
//!
//! Behaviour: on a connection to `/`, emit `auth` with the handshake auth payload;
//! `message` is echoed as `message-back` (binary included); `message-with-ack` is
//! acknowledged with its args; `/custom` emits `auth` on connect; other namespaces
//! are refused with `{"message":"Invalid namespace"}`. Chat: `channel` (data) goes to
//! everyone as `broadcast` (data); `join` / `leave` (room); `to-room` (room, data)
//! reaches the other members of the room as `new messages` (data).
//! For tests: `request-ack` (args) makes the server emit `ack-request` (args) with
//! an ack id, and the client's ack comes back as `ack-received` (ack args);
//! `drop-transport` makes the server close the Engine.IO session.
//!
//! Cross-session delivery: a broadcast looks up its recipients in the room
//! registry (its own lock, taken only by join/leave/connect/disconnect and
//! broadcast lookups, never while waiting on anything), encodes the packet once,
//! and drops it into each recipient's mailbox (a channel of `MAILBOX_SLOTS`
//! found in a lock-free `papaya` map), then wakes the recipient's timer task,
//! which moves the mailbox into that session under that session's own lock. No
//! session lock is ever taken by another session. A recipient whose mailbox is
//! full has fallen that far behind: it is flagged and its timer task closes its
//! session, rather than letting the mailbox grow.
//!
//! Backpressure: a broadcast skips every recipient whose figure (the bytes in
//! its mailbox plus its WebSocket writer's [`OutputGauge`]) the packet would
//! take past `--max-backpressure` (`BroadcastPacket::take_over_cap`): that
//! member gets no copy and is flagged like a full mailbox, so its session is
//! closed; the others get the packet. A packet the Engine.IO session refuses
//! (its `max_buffered_packets` / `max_buffered_bytes`) closes the session too:
//! a member never silently misses a packet and stays connected.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketwire::engineio::{self, EngineIoVersion, MessageData, SessionEvent};
use socketwire::socketio::{
    Broadcast, DecoderConfig, EncodedPacket, EngineMessage, RoomRegistry, ServerConfig,
    ServerEvent, ServerSession, SocketIoVersion, Value,
};
use tokio::sync::{Notify, mpsc};

use crate::engineio::{App, random_id};
use crate::websocket::OutputGauge;

/// Packets from other sessions a session may have waiting at once.
const MAILBOX_SLOTS: usize = 1024;

/// Where other sessions drop packets for one session.
struct Mailbox {
    tx: mpsc::Sender<Arc<EncodedPacket>>,
    wake: Arc<Notify>,
    /// Set when a packet found the mailbox full, or the recipient over its
    /// cap: the session is closed.
    overflowed: Arc<AtomicBool>,
    /// The bytes of the packets in the mailbox.
    queued: Arc<OutputGauge>,
    /// The recipient's WebSocket writer: its channel and connection output.
    transport: Arc<OutputGauge>,
}

impl Mailbox {
    /// The bytes held for the recipient outside its sessions.
    fn buffered_amount(&self) -> usize {
        self.queued.get() + self.transport.get()
    }
}

/// What every Socket.IO session of the process shares.
pub struct Rooms {
    config: ServerConfig,
    /// `--max-backpressure`: a broadcast skips and closes a member over it.
    max_backpressure: usize,
    /// Namespaces and rooms, keyed by Engine.IO sid.
    registry: Mutex<RoomRegistry<String>>,
    /// Engine.IO sid → mailbox.
    mailboxes: papaya::HashMap<String, Mailbox>,
}

impl Rooms {
    pub fn new(connect_timeout: Duration, max_backpressure: usize) -> Arc<Self> {
        Arc::new(Rooms {
            config: ServerConfig {
                connect_timeout,
                ..ServerConfig::default()
            },
            max_backpressure,
            registry: Mutex::new(RoomRegistry::default()),
            mailboxes: papaya::HashMap::new(),
        })
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, RoomRegistry<String>> {
        self.registry.lock().expect("room registry")
    }

    /// The app of a new Engine.IO session.
    pub fn new_app(
        self: &Arc<Self>,
        eio: &engineio::ServerSession,
        wake: Arc<Notify>,
        transport: Arc<OutputGauge>,
        now: Duration,
    ) -> Box<dyn App> {
        // Engine.IO 3 carries Socket.IO v4 (socket.io 2.x), Engine.IO 4 carries v5.
        let version = match eio.version() {
            EngineIoVersion::V3 => SocketIoVersion::V4,
            EngineIoVersion::V4 => SocketIoVersion::V5,
        };
        let config = ServerConfig {
            decoder: DecoderConfig::for_version(version),
            ..self.config.clone()
        };
        let (tx, inbox) = mpsc::channel(MAILBOX_SLOTS);
        let overflowed = Arc::new(AtomicBool::new(false));
        let queued = Arc::new(OutputGauge::default());
        let sid = eio.sid().to_string();
        self.mailboxes.pin().insert(
            sid.clone(),
            Mailbox {
                tx,
                wake,
                overflowed: overflowed.clone(),
                queued: queued.clone(),
                transport: transport.clone(),
            },
        );
        Box::new(SocketIo {
            rooms: self.clone(),
            sid,
            session: ServerSession::new(config, now),
            inbox,
            overflowed,
            queued,
            transport,
        })
    }
}

/// The Socket.IO side of one Engine.IO session.
pub struct SocketIo {
    rooms: Arc<Rooms>,
    sid: String,
    session: ServerSession,
    inbox: mpsc::Receiver<Arc<EncodedPacket>>,
    /// A broadcast found the inbox full: close the session.
    overflowed: Arc<AtomicBool>,
    /// The bytes in `inbox` (this session's `Mailbox::queued`).
    queued: Arc<OutputGauge>,
    /// This session's WebSocket writer (its `Mailbox::transport`).
    transport: Arc<OutputGauge>,
}

impl SocketIo {
    /// Runs the handler over every pending event, then flushes the session's
    /// output to Engine.IO.
    fn run(&mut self, eio: &mut engineio::ServerSession, now: Duration) {
        while let Some(event) = self.session.poll_event() {
            self.handle(eio, event, now);
        }
        self.flush(eio, now);
    }

    fn handle(&mut self, eio: &mut engineio::ServerSession, event: ServerEvent, now: Duration) {
        let sid = self.sid.clone();
        let session = &mut self.session;
        // Commands fail only on a closed session, which is being removed anyway.
        let _ = match event {
            ServerEvent::Connect { namespace, auth }
                if namespace == "/" || namespace == "/custom" =>
            {
                self.rooms.registry().add_socket(&namespace, sid.clone());
                // An independent random id: socket ids are shown to other
                // clients, so they must not reveal the Engine.IO sid.
                let socket_id = random_id();
                session
                    .accept(&namespace, &socket_id)
                    .and_then(|()| session.emit(&namespace, "auth", vec![auth]))
            }
            ServerEvent::Connect { namespace, .. } => {
                session.refuse(&namespace, "Invalid namespace", None)
            }
            ServerEvent::Event {
                namespace,
                name,
                args,
                ack_id,
            } => match (name.as_str(), ack_id) {
                ("message", _) => session.emit(&namespace, "message-back", args),
                ("message-with-ack", Some(id)) => session.ack(&namespace, id, args),
                ("request-ack", _) => session
                    .emit_with_ack(&namespace, "ack-request", args, now)
                    .map(|_| ()),
                ("drop-transport", _) => {
                    eio.close(now);
                    Ok(())
                }
                ("channel", _) => {
                    self.broadcast(&namespace, Broadcast::all(), "broadcast", &args);
                    Ok(())
                }
                ("join", _) | ("leave", _) => {
                    let room = args.first().and_then(Value::as_str).unwrap_or_default();
                    if name == "join" {
                        // Past the rooms-per-socket cap the join is refused
                        // (the socket keeps the rooms it has).
                        self.rooms.registry().join(&namespace, sid, room)
                    } else {
                        self.rooms.registry().leave(&namespace, &sid, room);
                        Ok(())
                    }
                }
                ("to-room", _) => {
                    let room = args
                        .first()
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    let target = Broadcast::all().to(&room).except_socket(sid);
                    let data = args.get(1..).unwrap_or_default().to_vec();
                    self.broadcast(&namespace, target, "new messages", &data);
                    Ok(())
                }
                _ => Ok(()),
            },
            ServerEvent::Ack {
                namespace, args, ..
            } => session.emit(&namespace, "ack-received", args),
            ServerEvent::Disconnected { namespace, .. } => {
                self.rooms.registry().remove_socket(&namespace, &sid);
                Ok(())
            }
            ServerEvent::Close(_) => {
                // The Socket.IO session failed (e.g. a parse error): drop the transport.
                eio.close(now);
                Ok(())
            }
            _ => Ok(()),
        };
    }

    /// Encodes once and delivers the packet to every recipient: straight into
    /// this session, through the mailbox for the others.
    fn broadcast(
        &mut self,
        namespace: &str,
        target: Broadcast<String>,
        name: &str,
        args: &[Value],
    ) {
        let mut out = self
            .rooms
            .registry()
            .broadcast_event(namespace, &target, name, args);
        let mailboxes = self.rooms.mailboxes.pin();
        // This session's figure: its own sessions' output plus its writer's.
        let own = self.session.buffered_amount() + self.transport.get();
        let over = out.take_over_cap(self.rooms.max_backpressure, |recipient| {
            if *recipient == self.sid {
                own
            } else {
                mailboxes.get(recipient).map_or(0, Mailbox::buffered_amount)
            }
        });
        for recipient in over {
            // Too slow for this broadcast: no copy, and the session is closed.
            if let Some(mailbox) = mailboxes.get(&recipient) {
                mailbox.overflowed.store(true, Ordering::Relaxed);
                mailbox.wake.notify_one();
            }
        }
        let len = out.packet.buffered_len();
        let packet = Arc::new(out.packet);
        for recipient in out.recipients {
            if recipient == self.sid {
                let _ = self.session.send_encoded(&packet);
            } else if let Some(mailbox) = mailboxes.get(&recipient) {
                // Counted before it is sent, so the recipient never takes off
                // the gauge what is not on it yet.
                mailbox.queued.add(len);
                if let Err(mpsc::error::TrySendError::Full(_)) = mailbox.tx.try_send(packet.clone())
                {
                    mailbox.queued.sub(len);
                    mailbox.overflowed.store(true, Ordering::Relaxed);
                }
                mailbox.wake.notify_one();
            }
        }
    }

    /// Moves the session's queued Socket.IO messages onto its Engine.IO
    /// session. One that does not fit there (its packet or byte cap) closes
    /// the session: a packet is never dropped from a session that stays.
    fn flush(&mut self, eio: &mut engineio::ServerSession, now: Duration) {
        while let Some(message) = self.session.poll_message() {
            let sent = match message {
                EngineMessage::Text(t) => eio.send_text(std::str::from_utf8(&t).unwrap_or("")),
                EngineMessage::Binary(b) => eio.send_binary(b),
            };
            if sent == Err(engineio::ApiMisuse::BufferFull) {
                eio.close(now);
            }
        }
    }

    /// Leaves every namespace and room and closes the mailbox.
    fn remove(&mut self) {
        self.session.handle_transport_closed();
        self.rooms.mailboxes.pin().remove(&self.sid);
        let mut registry = self.rooms.registry();
        for namespace in ["/", "/custom"] {
            registry.remove_socket(namespace, &self.sid);
        }
    }
}

impl App for SocketIo {
    fn on_event(&mut self, eio: &mut engineio::ServerSession, event: SessionEvent, now: Duration) {
        match event {
            SessionEvent::Message(data) => {
                let result = match data {
                    MessageData::Text(t) => self.session.handle_text(&t, now),
                    MessageData::Binary(b) => self.session.handle_binary(b, now),
                };
                if result.is_err() {
                    // Invalid Socket.IO input: the session is closed; drop the transport.
                    eio.close(now);
                }
                self.run(eio, now);
            }
            SessionEvent::Closed(_) => self.remove(),
            _ => {}
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.session.poll_timeout()
    }

    fn handle_timeout(&mut self, eio: &mut engineio::ServerSession, now: Duration) {
        // Deliveries from other sessions first.
        while let Ok(packet) = self.inbox.try_recv() {
            self.queued.sub(packet.buffered_len());
            let _ = self.session.send_encoded(&packet);
        }
        if self.overflowed.load(Ordering::Relaxed) {
            // Too far behind the broadcasts it is sent: drop it.
            eio.close(now);
        }
        if self.session.poll_timeout().is_some_and(|t| t <= now) {
            self.session.handle_timeout(now);
        }
        self.run(eio, now);
        if self.session.is_closed() {
            eio.close(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socketwire::engineio::WebSocketOutput;

    const CAP: usize = 1 << 20;

    fn connected_app(rooms: &Arc<Rooms>) -> (engineio::ServerSession, Box<dyn App>) {
        connected_app_with(rooms, Arc::default())
    }

    /// A session connected to `/` whose WebSocket writer reports to `transport`.
    fn connected_app_with(
        rooms: &Arc<Rooms>,
        transport: Arc<OutputGauge>,
    ) -> (engineio::ServerSession, Box<dyn App>) {
        let config = engineio::ServerConfig::default();
        let mut eio = engineio::ServerSession::open_websocket(
            &config,
            "EIO=4&transport=websocket",
            Duration::ZERO,
            crate::engineio::random_id,
        )
        .unwrap();
        let mut app = rooms.new_app(&eio, Arc::new(Notify::new()), transport, Duration::ZERO);
        app.on_event(
            &mut eio,
            SessionEvent::Message(MessageData::Text("0".into())),
            Duration::ZERO,
        );
        while eio.poll_websocket().is_some() {}
        (eio, app)
    }

    /// The broadcast policy: a member whose writer holds the cap already
    /// gets no copy and is closed; the fast member and the sender get the
    /// packet. Counted in bytes: nothing is queued for the slow member.
    #[test]
    fn broadcast_skips_and_closes_a_member_over_the_cap() {
        let rooms = Rooms::new(Duration::from_secs(45), CAP);
        let (mut sender_eio, mut sender) = connected_app(&rooms);
        let (mut fast_eio, mut fast) = connected_app(&rooms);
        let slow_transport = Arc::new(OutputGauge::default());
        let (mut slow_eio, mut slow) = connected_app_with(&rooms, slow_transport.clone());
        slow_transport.add(CAP); // its socket holds the cap, unsent
        sender.on_event(
            &mut sender_eio,
            SessionEvent::Message(MessageData::Text(r#"2["channel","hi"]"#.into())),
            Duration::ZERO,
        );
        let broadcast = WebSocketOutput::Text(r#"42["broadcast","hi"]"#.into());
        assert_eq!(sender_eio.poll_websocket(), Some(broadcast.clone()));
        let slow_mailbox = rooms
            .mailboxes
            .pin()
            .get(slow_eio.sid())
            .map(Mailbox::buffered_amount);
        assert_eq!(
            slow_mailbox,
            Some(CAP),
            "nothing was queued for the slow member"
        );
        fast.handle_timeout(&mut fast_eio, Duration::ZERO);
        assert_eq!(fast_eio.poll_websocket(), Some(broadcast));
        assert!(!fast_eio.is_closed());
        slow.handle_timeout(&mut slow_eio, Duration::ZERO);
        assert!(slow_eio.is_closed());
        assert_eq!(slow_eio.poll_websocket(), Some(WebSocketOutput::Close));
    }

    /// A Socket.IO packet the Engine.IO session refuses (its byte cap)
    /// closes the session: it is never dropped from a session that stays.
    #[test]
    fn packet_refused_by_engineio_closes_the_session() {
        let rooms = Rooms::new(Duration::from_secs(45), CAP);
        let (mut eio, mut app) = connected_app(&rooms);
        let big = "x".repeat(16 << 20);
        app.on_event(
            &mut eio,
            SessionEvent::Message(MessageData::Text(format!(r#"2["message","{big}"]"#))),
            Duration::ZERO,
        );
        assert!(eio.is_closed());
        assert_eq!(eio.buffered_amount(), 0);
    }

    /// A recipient that falls `MAILBOX_SLOTS` broadcasts behind is closed
    /// instead of its mailbox growing: bound, `MAILBOX_SLOTS` packets queued.
    #[test]
    fn lagging_recipient_is_closed() {
        let rooms = Rooms::new(Duration::from_secs(45), CAP);
        let (mut sender_eio, mut sender) = connected_app(&rooms);
        let (mut lagging_eio, mut lagging) = connected_app(&rooms);
        for _ in 0..MAILBOX_SLOTS + 10 {
            sender.on_event(
                &mut sender_eio,
                SessionEvent::Message(MessageData::Text(r#"2["channel","hi"]"#.into())),
                Duration::ZERO,
            );
            while sender_eio.poll_websocket().is_some() {}
        }
        assert!(!lagging_eio.is_closed());
        lagging.handle_timeout(&mut lagging_eio, Duration::ZERO);
        assert!(lagging_eio.is_closed());
        assert!(!sender_eio.is_closed());
    }

    /// The socket id in the CONNECT reply is a fresh random value, not the
    /// Engine.IO sid plus a suffix (knowing a socket id must not give the sid).
    #[test]
    fn socket_id_is_independent_of_the_sid() {
        let rooms = Rooms::new(Duration::from_secs(45), CAP);
        let config = engineio::ServerConfig::default();
        let sid = "0123456789abcdef0123456789abcdef";
        let mut ids = Vec::new();
        for _ in 0..2 {
            let mut eio = engineio::ServerSession::open_websocket(
                &config,
                "EIO=4&transport=websocket",
                Duration::ZERO,
                || sid.into(),
            )
            .unwrap();
            let _open = eio.poll_websocket();
            let mut app = rooms.new_app(
                &eio,
                Arc::new(Notify::new()),
                Arc::default(),
                Duration::ZERO,
            );
            app.on_event(
                &mut eio,
                SessionEvent::Message(MessageData::Text("0".into())),
                Duration::ZERO,
            );
            let Some(WebSocketOutput::Text(reply)) = eio.poll_websocket() else {
                panic!("no CONNECT reply");
            };
            let socket_id = reply
                .strip_prefix("40{\"sid\":\"")
                .and_then(|rest| rest.strip_suffix("\"}"))
                .expect("CONNECT reply with a sid")
                .to_string();
            assert!(!socket_id.contains(sid) && !sid.contains(&socket_id));
            assert_eq!(socket_id.len(), 32);
            ids.push(socket_id);
            app.on_event(
                &mut eio,
                SessionEvent::Closed(engineio::CloseReason::TransportClose),
                Duration::ZERO,
            );
        }
        // The same sid twice gives two unrelated socket ids.
        assert_ne!(ids[0], ids[1]);
    }
}
