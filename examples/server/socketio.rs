//! `/socket.io/`: the Socket.IO server of the example, an `App` on the Engine.IO
//! glue. One `socketwire::socketio::ServerSession` per Engine.IO session, one
//! `RoomRegistry` for the process.
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

use std::collections::HashMap;
use std::time::Duration;

use socketwire::engineio::{
    self, MessageData, ProtocolVersion as EioVersion, ServerEvent as EioEvent,
};
use socketwire::socketio::{
    Broadcast, DecoderConfig, EngineMessage, RoomRegistry, ServerConfig, ServerEvent,
    ServerSession, SocketIoVersion, Value,
};

use crate::engineio::App;

pub struct SocketIo {
    config: ServerConfig,
    sessions: HashMap<String, ServerSession>,
    rooms: RoomRegistry<String>,
}

impl SocketIo {
    pub fn new(connect_timeout: Duration) -> Self {
        SocketIo {
            config: ServerConfig {
                connect_timeout,
                ..ServerConfig::default()
            },
            sessions: HashMap::new(),
            rooms: RoomRegistry::default(),
        }
    }

    /// Runs the handler over every pending event of `sid`, then flushes every
    /// session's output to Engine.IO.
    fn run(&mut self, eio: &mut engineio::Server, sid: &str, now: Duration) {
        while let Some(event) = self
            .sessions
            .get_mut(sid)
            .and_then(ServerSession::poll_event)
        {
            self.handle(eio, sid, event, now);
        }
        self.flush(eio);
    }

    fn handle(&mut self, eio: &mut engineio::Server, sid: &str, event: ServerEvent, now: Duration) {
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        // Commands fail only on a closed session, which is being removed anyway.
        let _ = match event {
            ServerEvent::Connect { namespace, auth }
                if namespace == "/" || namespace == "/custom" =>
            {
                self.rooms.add_socket(&namespace, sid.to_string());
                let socket_id = format!("{sid}{}", namespace.len());
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
                    let _ = eio.close(sid, now);
                    Ok(())
                }
                ("channel", _) => {
                    self.broadcast(&namespace, Broadcast::all(), "broadcast", &args);
                    Ok(())
                }
                ("join", _) | ("leave", _) => {
                    let room = args.first().and_then(Value::as_str).unwrap_or_default();
                    if name == "join" {
                        self.rooms.join(&namespace, sid.to_string(), room);
                    } else {
                        self.rooms.leave(&namespace, &sid.to_string(), room);
                    }
                    Ok(())
                }
                ("to-room", _) => {
                    let room = args
                        .first()
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    let target = Broadcast::all().to(&room).except_socket(sid.to_string());
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
                self.rooms.remove_socket(&namespace, &sid.to_string());
                Ok(())
            }
            ServerEvent::Close(_) => {
                // The Socket.IO session failed (e.g. a parse error): drop the transport.
                let _ = eio.close(sid, Duration::ZERO);
                Ok(())
            }
            _ => Ok(()),
        };
    }

    /// Encodes once and queues the packet on every recipient's session.
    fn broadcast(
        &mut self,
        namespace: &str,
        target: Broadcast<String>,
        name: &str,
        args: &[Value],
    ) {
        let out = self.rooms.broadcast_event(namespace, &target, name, args);
        for recipient in out.recipients {
            if let Some(session) = self.sessions.get_mut(&recipient) {
                let _ = session.send_encoded(&out.packet);
            }
        }
    }

    /// Moves every session's queued Socket.IO messages onto its Engine.IO session.
    fn flush(&mut self, eio: &mut engineio::Server) {
        for (sid, session) in &mut self.sessions {
            while let Some(message) = session.poll_message() {
                let _ = match message {
                    EngineMessage::Text(t) => {
                        eio.send_text(sid, std::str::from_utf8(&t).unwrap_or(""))
                    }
                    EngineMessage::Binary(b) => eio.send_binary(sid, b),
                };
            }
        }
    }

    fn remove(&mut self, sid: &str) {
        if let Some(mut session) = self.sessions.remove(sid) {
            session.handle_transport_closed();
            let namespaces: Vec<String> =
                session.connected_namespaces().map(String::from).collect();
            for namespace in namespaces {
                self.rooms.remove_socket(&namespace, &sid.to_string());
            }
        }
        for namespace in ["/", "/custom"] {
            self.rooms.remove_socket(namespace, &sid.to_string());
        }
    }
}

impl App for SocketIo {
    fn on_event(&mut self, eio: &mut engineio::Server, event: EioEvent, now: Duration) {
        match event {
            EioEvent::Open { sid, version } => {
                // Engine.IO 3 carries Socket.IO v4 (socket.io 2.x), Engine.IO 4 carries v5.
                let version = match version {
                    EioVersion::V3 => SocketIoVersion::V4,
                    EioVersion::V4 => SocketIoVersion::V5,
                };
                let config = ServerConfig {
                    decoder: DecoderConfig::for_version(version),
                    ..self.config.clone()
                };
                self.sessions
                    .insert(sid.clone(), ServerSession::new(config, now));
                self.run(eio, &sid, now);
            }
            EioEvent::Message { sid, data } => {
                let Some(session) = self.sessions.get_mut(&sid) else {
                    return;
                };
                let result = match data {
                    MessageData::Text(t) => session.handle_text(&t),
                    MessageData::Binary(b) => session.handle_binary(b),
                };
                if result.is_err() {
                    // Invalid Socket.IO input: the session is closed; drop the transport.
                    let _ = eio.close(&sid, now);
                }
                self.run(eio, &sid, now);
            }
            EioEvent::Closed { sid, .. } => self.remove(&sid),
            _ => {}
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.sessions
            .values()
            .filter_map(ServerSession::poll_timeout)
            .min()
    }

    fn handle_timeout(&mut self, eio: &mut engineio::Server, now: Duration) {
        let due: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.poll_timeout().is_some_and(|t| t <= now))
            .map(|(sid, _)| sid.clone())
            .collect();
        for sid in due {
            if let Some(session) = self.sessions.get_mut(&sid) {
                session.handle_timeout(now);
            }
            self.run(eio, &sid, now);
            if self
                .sessions
                .get(&sid)
                .is_some_and(ServerSession::is_closed)
            {
                let _ = eio.close(&sid, now);
            }
        }
    }
}
