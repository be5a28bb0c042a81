//! Deterministic simulation of Engine.IO + Socket.IO: one server (the
//! `engineio::Server` registry plus one `socketio::ServerSession` per Engine.IO
//! session) and a few clients (`engineio::ClientSession` +
//! `socketio::ClientSession` + `Backoff`), joined by a simulated network
//! ([`net`]) under a virtual clock, every choice drawn from one seeded [`Rng`].
//!
//! The glue on both sides is what a runtime crate would do, written the way
//! the core's docs ask (drain every queue after every input, run the
//! application after each message, hold `3probe` until polling is paused).
//! The invariants are checked as the schedule runs ([`World::fail`] panics
//! with the message); `tests/simulation.rs` runs the seeds and replays a
//! failing one with its trace.
//!
//! # Invariants
//!
//! * Per Engine.IO session and namespace connection, each direction's
//!   numbered messages arrive once, in order, without a gap ([`Stream`]); no
//!   client message reaches the server twice, on any session.
//! * Each ack asked for is answered (with its own payload) or times out,
//!   exactly once; none is left awaited when a session ends or at the end.
//! * After the faults stop, every client is open and joined (on both sides)
//!   to every namespace it asked for, and a final message each way on every
//!   live stream arrives ([`World::finish`]).
//! * Once every client has closed, the server holds no session, no parked
//!   GET and no socket.
//! * No panic; no protocol or parse error between these peers; no
//!   `ApiMisuse` from a call the glue could not have known to be wrong.
//!
//! # Losses that are by design (not counted)
//!
//! * What is in flight or queued on a session when it ends (lost requests,
//!   broken sockets, heartbeat timeouts, restarts), and what a server sends on
//!   a session its client has left before the heartbeat notices.
//! * What a client sends on a namespace the server has just left: the server
//!   closes the connection, as socket.io's `client.ts` does ([`kicked_race`]).
//! * Leaving a namespace whose CONNECT is unanswered is not scheduled (see
//!   `leave_while_connecting_then_rejoin` in tests/simulation.rs).
#![allow(dead_code, unreachable_pub)]

pub mod net;
pub mod rng;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use bytes::{Bytes, BytesMut};
use core::time::Duration;
use socketwire::engineio::{
    self, Backoff, ClientEvent as EioClientEvent, ClientSession as EioClient, ClientTransmit,
    ClientTransport, CloseReason as EioCloseReason, EngineIoVersion, MessageData, Method, Packet,
    PayloadDecoder, PayloadFormat, PayloadLimits, Reply, RequestInfo, Server, ServerConfig,
    ServerEvent as EioServerEvent, WebSocketOpen, WebSocketOutput,
};
use socketwire::socketio::{
    self, ApiMisuse, ClientConfig, ClientEvent, ClientSession as SioClient, DecoderConfig,
    DisconnectReason, EngineMessage, ServerEvent, ServerSession as SioServer, SocketIoVersion,
    Value,
};

use net::{HttpKind, LinkId, Net, Payload, ToClient, ToServer, Ws};
use rng::Rng;

const MS: Duration = Duration::from_millis(1);
/// The namespaces clients use; the server refuses the last one.
const NAMESPACES: [&str; 4] = ["/", "/a", "/b", "/forbidden"];
const REFUSED: &str = "/forbidden";

/// The knobs of one schedule.
#[derive(Debug, Clone)]
pub struct Params {
    pub clients: usize,
    pub steps: usize,
}

/// What a schedule did, for the summary line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub s2c_delivered: u64,
    pub c2s_delivered: u64,
    pub acks: u64,
    pub ack_timeouts: u64,
    pub reconnects: u64,
    pub upgrades: u64,
    pub restarts: u64,
    pub kicks: u64,
    pub kicked_races: u64,
}

impl Stats {
    pub fn add(&mut self, other: &Stats) {
        self.s2c_delivered += other.s2c_delivered;
        self.c2s_delivered += other.c2s_delivered;
        self.acks += other.acks;
        self.ack_timeouts += other.ack_timeouts;
        self.reconnects += other.reconnects;
        self.upgrades += other.upgrades;
        self.restarts += other.restarts;
        self.kicks += other.kicks;
        self.kicked_races += other.kicked_races;
    }
}

/// The order check of one stream (one direction, one session, one namespace
/// connection): sequence numbers must come contiguous, each once.
#[derive(Debug, Default)]
struct Stream {
    last: Option<u64>,
    /// The next number may skip ahead once (a new namespace connection on the
    /// same session: what was in flight for the old one is gone by design).
    gap_ok: bool,
}

impl Stream {
    fn accept(&mut self, seq: u64) -> Result<(), String> {
        match self.last {
            Some(last) if seq == last + 1 => {}
            Some(last) if self.gap_ok && seq > last => {}
            None => {}
            Some(last) => return Err(format!("got #{seq} after #{last}")),
        }
        self.gap_ok = false;
        self.last = Some(seq);
        Ok(())
    }
}

/// One Engine.IO connection attempt of a client.
struct Conn {
    id: u64,
    eio: EioClient,
    sid: Option<String>,
    get_in_flight: bool,
    post_in_flight: bool,
    /// The WebSocket the session runs on (initial or upgraded).
    ws: Option<LinkId>,
    /// The WebSocket being probed.
    probe: Option<LinkId>,
    /// `3probe` arrived and waits until no GET or POST is in flight.
    held_probe: bool,
    upgrade_at: Option<Duration>,
    /// The session reported `Closed`; the connection goes once its last
    /// packets (a polling `close`) are out.
    closed: Option<EioCloseReason>,
}

struct Client {
    id: usize,
    sio: SioClient,
    conn: Option<Conn>,
    backoff: Backoff,
    reconnect_at: Option<Duration>,
    transport: ClientTransport,
    /// Engine.IO v4 with Socket.IO v5, or Engine.IO v3 with Socket.IO v4.
    version: EngineIoVersion,
    /// The application closed for good.
    closing: bool,
    /// The Socket.IO session was told the transport closed and waits for
    /// `handle_transport_reconnected`.
    sio_interrupted: bool,
    /// Namespaces the application joined and did not leave.
    joined: BTreeSet<String>,
    next_seq: BTreeMap<String, u64>,
    /// Server-to-client streams by (sid, namespace).
    streams: BTreeMap<(String, String), Stream>,
    /// Acks awaited: id → (namespace, seq).
    acks: BTreeMap<u64, (String, u64)>,
    /// Final markers expected: namespace → seq.
    markers_seen: BTreeMap<(String, String), u64>,
}

struct SessionApp {
    sio: SioServer,
    client: usize,
    next_seq: BTreeMap<String, u64>,
    /// Client-to-server streams by namespace.
    streams: BTreeMap<String, Stream>,
    acks: BTreeMap<u64, (String, u64)>,
    /// The application disconnected the client from a namespace on this
    /// session.
    kicked: bool,
}

/// What the client has in flight on a namespace the server just left reaches
/// a server with no such namespace, which closes the whole connection (as
/// socket.io `client.ts` `ondecoded` does, "invalid state"): by design.
fn kicked_race(app: &SessionApp, error: &socketio::Error) -> bool {
    app.kicked && *error == socketio::Error::NamespaceNotConnected
}

struct ServerSide {
    eio: Server,
    apps: BTreeMap<String, SessionApp>,
    /// Parked GETs: sid → (client, conn).
    parked: BTreeMap<String, (usize, u64)>,
    /// The current WebSocket link of each session.
    ws: BTreeMap<String, LinkId>,
    epoch: u64,
}

pub struct World {
    rng: Rng,
    now: Duration,
    net: Net,
    server: ServerSide,
    clients: Vec<Client>,
    config: ServerConfig,
    next_conn: u64,
    /// Faults and application actions on (off while settling).
    chaos: bool,
    /// While `chaos`: the sessions' timers fire late (see `fire_timers`).
    lazy_timers: bool,
    /// Client-to-server numbers seen per (client, namespace): none twice.
    c2s_seen: BTreeMap<(usize, String), BTreeSet<u64>>,
    pub stats: Stats,
    pub trace: Option<Vec<String>>,
    /// While settling at the end: the final messages not yet delivered.
    markers: Option<Missing>,
}

/// The final messages not yet delivered, as a check run while settling.
type Missing = Box<dyn Fn(&World) -> Vec<String>>;

macro_rules! trace {
    ($world:expr, $($arg:tt)*) => {
        if let Some(trace) = $world.trace.as_mut() {
            let mut line = String::new();
            let _ = write!(line, "{:>8.3}s ", $world.now.as_secs_f64());
            let _ = write!(line, $($arg)*);
            trace.push(line);
        }
    };
}

fn eio_config() -> ServerConfig {
    ServerConfig {
        ping_interval: 300 * MS,
        ping_timeout: 200 * MS,
        upgrade_timeout: 400 * MS,
        allow_eio3: true,
        ..ServerConfig::default()
    }
}

/// The Socket.IO revision carried by an Engine.IO version.
fn sio_version(version: EngineIoVersion) -> SocketIoVersion {
    match version {
        EngineIoVersion::V3 => SocketIoVersion::V4,
        _ => SocketIoVersion::V5,
    }
}

fn sio_server_config(version: EngineIoVersion) -> socketio::ServerConfig {
    socketio::ServerConfig {
        decoder: DecoderConfig {
            version: sio_version(version),
            ..DecoderConfig::default()
        },
        connect_timeout: 2000 * MS,
        ack_timeout: 1000 * MS,
        ..socketio::ServerConfig::default()
    }
}

fn sio_client_config(version: EngineIoVersion) -> ClientConfig {
    ClientConfig {
        decoder: DecoderConfig {
            version: sio_version(version),
            ..DecoderConfig::default()
        },
        ack_timeout: 1000 * MS,
        ..ClientConfig::default()
    }
}

/// `[a, b, ...]` as numbers, if every element is one.
fn numbers(args: &[Value]) -> Option<Vec<u64>> {
    args.iter()
        .map(|v| match v {
            Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .collect()
}

/// The next number of a stream.
fn next_seq(counters: &mut BTreeMap<String, u64>, namespace: &str) -> u64 {
    let seq = counters.entry(namespace.into()).or_insert(0);
    *seq += 1;
    *seq
}

/// The emits both session kinds offer: with `ack_from`, an emit whose ack
/// is awaited from then (its id is returned).
trait Emitter {
    fn send(
        &mut self,
        event: (&str, &str),
        args: Vec<Value>,
        ack_from: Option<Duration>,
    ) -> Result<Option<u64>, ApiMisuse>;
}

macro_rules! emitter {
    ($session:ty) => {
        impl Emitter for $session {
            fn send(
                &mut self,
                (namespace, name): (&str, &str),
                args: Vec<Value>,
                ack_from: Option<Duration>,
            ) -> Result<Option<u64>, ApiMisuse> {
                match ack_from {
                    Some(now) => self.emit_with_ack(namespace, name, args, now).map(Some),
                    None => self.emit(namespace, name, args).map(|()| None),
                }
            }
        }
    };
}
emitter!(SioClient);
emitter!(SioServer);

/// One session's side of the emits: its stream counters and awaited acks.
struct EmitState<'a, S> {
    session: &'a mut S,
    counters: &'a mut BTreeMap<String, u64>,
    acks: &'a mut BTreeMap<u64, (String, u64)>,
}

impl<S: Emitter> EmitState<'_, S> {
    /// Emits the next number of `namespace`'s stream after `head`, then
    /// `bytes` one time in ten, asking for an ack three times in ten (awaited
    /// in `acks`). Returns the number and whether an ack was asked for.
    fn emit_next(
        self,
        rng: &mut Rng,
        now: Duration,
        (namespace, name): (&str, &str),
        mut args: Vec<Value>,
        bytes: Bytes,
    ) -> (u64, bool, Result<(), ApiMisuse>) {
        let (with_ack, binary) = (rng.chance(300), rng.chance(100));
        let seq = next_seq(self.counters, namespace);
        args.push(Value::from(seq));
        if binary {
            args.push(Value::Bytes(bytes));
        }
        let result = self
            .session
            .send((namespace, name), args, with_ack.then_some(now))
            .map(|id| {
                if let Some(id) = id {
                    self.acks.insert(id, (namespace.into(), seq));
                }
            });
        (seq, with_ack, result)
    }
}

impl World {
    pub fn new(seed: u64, traced: bool) -> (World, Params) {
        let mut rng = Rng::new(seed);
        let params = Params {
            clients: usize::try_from(rng.range(1, 3)).unwrap_or(1),
            steps: usize::try_from(rng.range(40, 180)).unwrap_or(40),
        };
        let mut config = eio_config();
        if rng.chance(200) {
            // A small send buffer (room for a rejoin: four CONNECT replies
            // and a ping): sends past it fail and our glue closes
            // the session; a heartbeat past it closes the session itself.
            config.max_buffered_packets = usize::try_from(rng.range(8, 16)).unwrap_or(8);
        }
        let mut world = World {
            rng,
            now: Duration::ZERO,
            net: Net::default(),
            server: ServerSide {
                eio: Server::new(config.clone()),
                apps: BTreeMap::new(),
                parked: BTreeMap::new(),
                ws: BTreeMap::new(),
                epoch: 0,
            },
            clients: Vec::new(),
            config,
            next_conn: 0,
            chaos: true,
            lazy_timers: false,
            c2s_seen: BTreeMap::new(),
            stats: Stats::default(),
            trace: traced.then(Vec::new),
            markers: None,
        };
        world.lazy_timers = world.rng.chance(300);
        trace!(
            world,
            "seed {seed:#x}: {params:?} lazy timers: {}", world.lazy_timers
        );
        for id in 0..params.clients {
            let version = if world.rng.chance(250) {
                EngineIoVersion::V3
            } else {
                EngineIoVersion::V4
            };
            let transport = if world.rng.chance(300) {
                ClientTransport::WebSocket
            } else {
                ClientTransport::Polling
            };
            let mut client = Client {
                id,
                sio: SioClient::new(sio_client_config(version)),
                version,
                conn: None,
                backoff: Backoff::new(100 * MS, 1000 * MS, 0.5, None),
                reconnect_at: None,
                transport,
                closing: false,
                sio_interrupted: false,
                joined: BTreeSet::new(),
                next_seq: BTreeMap::new(),
                streams: BTreeMap::new(),
                acks: BTreeMap::new(),
                markers_seen: BTreeMap::new(),
            };
            client.sio.connect("/", None).unwrap();
            client.joined.insert("/".into());
            world.clients.push(client);
            world.connect(id);
        }
        (world, params)
    }

    /// An invariant failed: panics with the message (the runner prints the
    /// seed and, on replay, the trace).
    #[track_caller]
    fn fail(&mut self, message: String) -> ! {
        trace!(self, "INVARIANT FAILED: {message}");
        panic!("invariant failed at {:?}: {message}", self.now);
    }

    fn delay(&mut self) -> Duration {
        // Mostly LAN-fast, sometimes slow, rarely slower than a heartbeat;
        // always fast while settling (a stall then would only test the stall).
        if !self.chaos {
            return self.now + Duration::from_millis(self.rng.range(0, 15));
        }
        let ms = match self.rng.below(100) {
            0..=79 => self.rng.range(0, 15),
            80..=97 => self.rng.range(15, 80),
            _ => self.rng.range(80, 700),
        };
        self.now + Duration::from_millis(ms)
    }

    fn send(&mut self, payload: Payload) {
        let at = self.delay();
        self.net.send(at, payload);
    }

    fn fresh_sid(&mut self) -> String {
        // Opaque and unique; a real server draws these from a CSPRNG.
        format!(
            "{:016x}{:06x}",
            self.rng.next_u64(),
            self.rng.below(1 << 24)
        )
    }

    // ---------------------------------------------------------------- client

    /// Opens a new Engine.IO connection for client `id`.
    fn connect(&mut self, id: usize) {
        self.next_conn += 1;
        let conn_id = self.next_conn;
        let transport = self.clients[id].transport;
        let eio = EioClient::new(self.clients[id].version, transport);
        let query = eio.query(transport);
        let mut conn = Conn {
            id: conn_id,
            eio,
            sid: None,
            get_in_flight: false,
            post_in_flight: false,
            ws: None,
            probe: None,
            held_probe: false,
            upgrade_at: None,
            closed: None,
        };
        trace!(self, "client {id} conn {conn_id}: connect on {transport:?}");
        match transport {
            ClientTransport::Polling => {
                conn.get_in_flight = true;
                self.send(Payload::ToServer(ToServer::Http {
                    client: id,
                    conn: conn_id,
                    kind: HttpKind::Handshake,
                    method: Method::Get,
                    query,
                    body: Bytes::new(),
                }));
            }
            ClientTransport::WebSocket => {
                let link = self.net.new_link(id, conn_id, false);
                conn.ws = Some(link);
                self.send(Payload::ToServer(ToServer::WsOpen { link, query }));
            }
        }
        self.clients[id].conn = Some(conn);
        self.clients[id].reconnect_at = None;
    }

    /// Drops client `id`'s connection (its session is over) and plans the
    /// reconnect.
    fn teardown(&mut self, id: usize) {
        let Some(conn) = self.clients[id].conn.take() else {
            return;
        };
        trace!(self, "client {id} conn {}: torn down", conn.id);
        for link in [conn.ws, conn.probe].into_iter().flatten() {
            self.client_close_link(link);
        }
        if conn.get_in_flight {
            self.send(Payload::ToServer(ToServer::PollAborted {
                client: id,
                conn: conn.id,
            }));
        }
        let client = &mut self.clients[id];
        client.sio.handle_transport_closed();
        client.sio_interrupted = true;
        if !client.closing {
            let random = self.rng.unit();
            let client = &mut self.clients[id];
            let delay = client.backoff.next_delay(random).unwrap_or(1000 * MS);
            client.reconnect_at = Some(self.now + delay);
        }
        self.pump_client(id);
    }

    fn client_close_link(&mut self, link: LinkId) {
        if self.net.links[link].client_open {
            self.net.links[link].client_open = false;
            self.send(Payload::ToServer(ToServer::Ws {
                link,
                message: Ws::Close,
            }));
        }
    }

    /// Runs client `id`'s glue until nothing moves: events, Socket.IO output
    /// into Engine.IO, Engine.IO output onto the network, the next GET.
    fn pump_client(&mut self, id: usize) {
        for _ in 0..10_000 {
            if !self.pump_client_once(id) {
                return;
            }
        }
        self.fail(format!("client {id} glue did not settle"));
    }

    fn pump_client_once(&mut self, id: usize) -> bool {
        let mut moved = false;
        // Engine.IO events.
        loop {
            let Some(event) = self.clients[id]
                .conn
                .as_mut()
                .and_then(|c| c.eio.poll_event())
            else {
                break;
            };
            moved = true;
            self.client_eio_event(id, event);
        }
        // Socket.IO events.
        while let Some(event) = self.clients[id].sio.poll_event() {
            moved = true;
            self.client_sio_event(id, event);
        }
        // Socket.IO output into the Engine.IO session.
        while let Some(message) = self.clients[id].sio.poll_message() {
            moved = true;
            let Some(conn) = self.clients[id].conn.as_mut() else {
                trace!(
                    self,
                    "client {id}: Socket.IO message with no connection, dropped"
                );
                continue;
            };
            let sent = match &message {
                EngineMessage::Text(_) => conn.eio.send_text(message.as_text().unwrap_or("")),
                EngineMessage::Binary(data) => conn.eio.send_binary(data.clone()),
            };
            if sent.is_err() {
                trace!(
                    self,
                    "client {id}: Engine.IO session closed, message dropped"
                );
            }
        }
        // Engine.IO output onto the network.
        let Some(conn) = self.clients[id].conn.as_mut() else {
            return moved;
        };
        let conn_id = conn.id;
        let mut out = BytesMut::new();
        let mut transmits = Vec::new();
        while let Some(transmit) = conn.eio.poll_transmit(&mut out) {
            if transmit == ClientTransmit::Post {
                conn.post_in_flight = true;
            }
            transmits.push((transmit, out.split().freeze()));
        }
        for (transmit, bytes) in transmits {
            moved = true;
            self.client_transmit(id, conn_id, transmit, bytes);
        }
        let Some(conn) = self.clients[id].conn.as_mut() else {
            return true;
        };
        // The pause rule: hand `3probe` over once polling is idle.
        if conn.held_probe && !conn.get_in_flight && !conn.post_in_flight {
            conn.held_probe = false;
            conn.eio.handle_probe_packet(Packet::Pong("probe"));
            trace!(self, "client {id}: 3probe handed over");
            return true;
        }
        if let Some(reason) = &conn.closed {
            // A closed session's last packets are out: the connection goes.
            if !conn.post_in_flight || *reason != EioCloseReason::ForcedClose {
                self.teardown(id);
                return true;
            }
            return moved;
        }
        // Keep one GET in flight while polling.
        if conn.sid.is_some()
            && conn.eio.transport() == ClientTransport::Polling
            && !conn.get_in_flight
            && !conn.held_probe
        {
            conn.get_in_flight = true;
            let query = conn.eio.query(ClientTransport::Polling);
            self.send(Payload::ToServer(ToServer::Http {
                client: id,
                conn: conn_id,
                kind: HttpKind::Get,
                method: Method::Get,
                query,
                body: Bytes::new(),
            }));
            moved = true;
        }
        moved
    }

    fn client_transmit(&mut self, id: usize, conn_id: u64, transmit: ClientTransmit, bytes: Bytes) {
        let conn = self.clients[id].conn.as_ref().expect("connection");
        let (ws, probe) = (conn.ws, conn.probe);
        let query = conn.eio.query(ClientTransport::Polling);
        let on_link = |link: Option<LinkId>, world: &mut World, what: &str| -> Option<LinkId> {
            match link {
                Some(link) if world.net.links[link].client_open => Some(link),
                _ => {
                    trace!(
                        world,
                        "client {id}: {what} transmit with no open link, dropped"
                    );
                    None
                }
            }
        };
        match transmit {
            ClientTransmit::Post => {
                trace!(
                    self,
                    "client {id}: POST {:?}",
                    String::from_utf8_lossy(&bytes)
                );
                self.send(Payload::ToServer(ToServer::Http {
                    client: id,
                    conn: conn_id,
                    kind: HttpKind::Post,
                    method: Method::Post,
                    query,
                    body: bytes,
                }));
            }
            ClientTransmit::WebSocket(kind) | ClientTransmit::Probe(kind) => {
                let target = if matches!(transmit, ClientTransmit::Probe(_)) {
                    // After the upgrade the probe is the session's socket.
                    probe.or(ws)
                } else {
                    ws
                };
                let Some(link) = on_link(target, self, "WebSocket") else {
                    return;
                };
                let payload = match kind {
                    engineio::MessageKind::Text => ToServer::Ws {
                        link,
                        message: Ws::Text(
                            String::from_utf8(bytes.to_vec()).expect("text is UTF-8"),
                        ),
                    },
                    engineio::MessageKind::Binary => ToServer::Ws {
                        link,
                        message: Ws::Binary(bytes),
                    },
                };
                trace!(self, "client {id}: sends {payload:?}");
                self.send(Payload::ToServer(payload));
            }
            ClientTransmit::CloseTransport => {
                if let Some(link) = ws {
                    self.client_close_link(link);
                }
            }
        }
    }

    fn client_eio_event(&mut self, id: usize, event: EioClientEvent) {
        trace!(self, "client {id}: engine.io {event:?}");
        let now = self.now;
        match event {
            EioClientEvent::Open(open) => {
                let client = &mut self.clients[id];
                let conn = client.conn.as_mut().expect("connection");
                conn.sid = Some(open.sid.clone());
                if conn.eio.transport() == ClientTransport::Polling
                    && open.upgrades.iter().any(|u| u == "websocket")
                {
                    let after = self.rng.range(0, 600);
                    let conn = self.clients[id].conn.as_mut().expect("connection");
                    conn.upgrade_at = Some(now + Duration::from_millis(after));
                }
                let client = &mut self.clients[id];
                client.backoff.reset();
                if client.sio_interrupted {
                    client.sio.handle_transport_reconnected();
                    client.sio_interrupted = false;
                    self.stats.reconnects += 1;
                }
            }
            EioClientEvent::Message(data) => {
                let result = match data {
                    MessageData::Text(text) => self.clients[id].sio.handle_text(&text, now),
                    MessageData::Binary(data) => self.clients[id].sio.handle_binary(data, now),
                };
                if let Err(error) = result {
                    self.fail(format!(
                        "client {id}: Socket.IO error from our server: {error:?}"
                    ));
                }
                while let Some(event) = self.clients[id].sio.poll_event() {
                    self.client_sio_event(id, event);
                }
            }
            EioClientEvent::Upgraded => {
                let conn = self.clients[id].conn.as_mut().expect("connection");
                conn.ws = conn.probe.take();
                self.stats.upgrades += 1;
            }
            EioClientEvent::Closed(reason) => {
                let conn = self.clients[id].conn.as_mut().expect("connection");
                if matches!(reason, EioCloseReason::ParseError) {
                    self.fail(format!(
                        "client {id}: Engine.IO parse error from our server"
                    ));
                }
                conn.closed = Some(reason);
            }
            _ => {}
        }
    }

    fn client_sio_event(&mut self, id: usize, event: ClientEvent) {
        trace!(self, "client {id}: socket.io {event:?}");
        let sid = self.clients[id]
            .conn
            .as_ref()
            .and_then(|c| c.sid.clone())
            .unwrap_or_default();
        match event {
            ClientEvent::Connected { .. } => {}
            ClientEvent::ConnectError { namespace, .. } => {
                if namespace != REFUSED {
                    self.fail(format!("client {id}: {namespace} refused"));
                }
                self.clients[id].joined.remove(&namespace);
            }
            ClientEvent::Event {
                namespace,
                name,
                args,
                ack_id,
            } => {
                let Some(nums) = numbers(&args[..args.len().min(1)]) else {
                    self.fail(format!("client {id}: bad event args {args:?}"));
                };
                let seq = nums[0];
                if name == "marker" {
                    self.clients[id]
                        .markers_seen
                        .insert((sid.clone(), namespace.clone()), seq);
                }
                let stream = self.clients[id]
                    .streams
                    .entry((sid.clone(), namespace.clone()))
                    .or_default();
                if let Err(e) = stream.accept(seq) {
                    self.fail(format!(
                        "client {id}: server-to-client order on {sid} {namespace}: {e}"
                    ));
                }
                self.stats.s2c_delivered += 1;
                if let Some(ack) = ack_id {
                    let answer = vec![Value::from(seq)];
                    if let Err(e) = self.clients[id].sio.ack(&namespace, ack, answer) {
                        self.fail(format!("client {id}: ack refused: {e:?}"));
                    }
                }
            }
            ClientEvent::Ack {
                namespace,
                id: ack,
                args,
            } => {
                let Some((ns, seq)) = self.clients[id].acks.remove(&ack) else {
                    self.fail(format!(
                        "client {id}: ack {ack} not awaited (twice, or after its timeout)"
                    ));
                };
                if ns != namespace || numbers(&args) != Some(vec![seq]) {
                    self.fail(format!(
                        "client {id}: ack {ack} on {namespace} {args:?}, expected {ns} [{seq}]"
                    ));
                }
                self.stats.acks += 1;
            }
            ClientEvent::AckTimeout { namespace, id: ack } => {
                match self.clients[id].acks.remove(&ack) {
                    Some((ns, _)) if ns == namespace => {}
                    other => self.fail(format!(
                        "client {id}: timeout of ack {ack} on {namespace}, awaited: {other:?}"
                    )),
                }
                self.stats.ack_timeouts += 1;
            }
            ClientEvent::Disconnected {
                namespace,
                reason: DisconnectReason::ServerDisconnect,
            } => {
                // The server left the namespace; the application joins it
                // again later (a join action).
                self.clients[id].joined.remove(&namespace);
            }
            ClientEvent::Disconnected { namespace, reason }
                if reason != DisconnectReason::TransportClose =>
            {
                self.fail(format!("client {id}: {namespace} disconnected: {reason:?}"));
            }
            ClientEvent::Close(reason) => {
                self.fail(format!("client {id}: Socket.IO close {reason:?}"));
            }
            _ => {}
        }
    }

    fn client_receive(&mut self, message: ToClient) {
        let now = self.now;
        match message {
            ToClient::Http {
                client: id,
                conn: conn_id,
                kind,
                response,
            } => {
                let Some(conn) = self.clients[id].conn.as_mut().filter(|c| c.id == conn_id) else {
                    return;
                };
                match kind {
                    HttpKind::Handshake | HttpKind::Get => conn.get_in_flight = false,
                    HttpKind::Post => {
                        conn.post_in_flight = false;
                        conn.eio.handle_post_done();
                    }
                }
                trace!(
                    self,
                    "client {id}: {kind:?} response {:?}",
                    response
                        .as_ref()
                        .map(|r| (r.status, String::from_utf8_lossy(&r.body).into_owned()))
                );
                let version = self.clients[id].version;
                let conn = self.clients[id].conn.as_mut().expect("connection");
                let failed = response.as_ref().is_none_or(|r| r.status != 200);
                if conn.eio.transport() != ClientTransport::Polling {
                    // The polling transport is gone: its late answers do not count.
                    self.pump_client(id);
                    return;
                }
                if conn.closed.is_some() {
                    // Closed, maybe still flushing `close`: only a failure counts.
                    if failed {
                        conn.eio.handle_transport_error();
                    }
                    self.pump_client(id);
                    return;
                }
                match response {
                    Some(r) if r.status == 200 => {
                        if kind != HttpKind::Post {
                            let limits = PayloadLimits::default();
                            let mut failed = None;
                            let format = if r.content_type == "application/octet-stream" {
                                PayloadFormat::V3Binary
                            } else {
                                PayloadFormat::text(version)
                            };
                            for packet in PayloadDecoder::new(&r.body, format, limits) {
                                match packet {
                                    Ok(packet) => {
                                        if let Err(e) = conn.eio.handle_packet(packet, now) {
                                            failed = Some(format!("{e:?}"));
                                        }
                                    }
                                    Err(e) => failed = Some(format!("{e:?}")),
                                }
                            }
                            if let Some(e) = failed {
                                self.fail(format!(
                                    "client {id}: bad poll body from our server: {e}"
                                ));
                            }
                        }
                    }
                    _ => conn.eio.handle_transport_error(),
                }
            }
            ToClient::WsOpened { link, accepted } => {
                let id = self.net.links[link].client;
                let Some(conn) = self.clients[id].conn.as_mut() else {
                    return;
                };
                if !self.net.links[link].client_open {
                    return;
                }
                if conn.probe == Some(link) {
                    if !accepted {
                        conn.probe = None;
                        self.net.links[link].client_open = false;
                    } else if conn.eio.start_upgrade().is_err() {
                        conn.probe = None;
                        self.client_close_link(link);
                    } else {
                        trace!(self, "client {id}: probing on ws {link}");
                    }
                } else if conn.ws == Some(link) && !accepted {
                    self.net.links[link].client_open = false;
                    conn.eio.handle_transport_error();
                }
            }
            ToClient::Ws {
                link,
                message: Ws::Text(text),
            } => {
                let version = self.clients[self.net.links[link].client].version;
                self.client_ws_packet(link, Packet::decode_text(&text, version));
            }
            ToClient::Ws {
                link,
                message: Ws::Binary(data),
            } => {
                let version = self.clients[self.net.links[link].client].version;
                self.client_ws_packet(link, Packet::decode_binary(&data, version));
            }
            ToClient::Ws {
                link,
                message: Ws::Close,
            } => {
                let id = self.net.links[link].client;
                if !self.net.links[link].client_open {
                    return;
                }
                self.net.links[link].client_open = false;
                let Some(conn) = self.clients[id].conn.as_mut() else {
                    return;
                };
                if conn.ws == Some(link) {
                    conn.eio.handle_transport_error();
                } else if conn.probe == Some(link) {
                    // No call says "the probe socket closed": any packet other
                    // than `3probe` aborts the probe, so a noop stands for it.
                    conn.probe = None;
                    conn.held_probe = false;
                    conn.eio.handle_probe_packet(Packet::Noop);
                }
            }
        }
    }

    fn client_ws_packet(&mut self, link: LinkId, packet: Result<Packet<'_>, engineio::Error>) {
        let id = self.net.links[link].client;
        if !self.net.links[link].client_open {
            return;
        }
        let now = self.now;
        let Some(conn) = self.clients[id].conn.as_mut() else {
            return;
        };
        let packet = match packet {
            Ok(packet) => packet,
            Err(e) => self.fail(format!(
                "client {id}: bad ws message from our server: {e:?}"
            )),
        };
        if conn.ws == Some(link) {
            if let Err(e) = conn.eio.handle_packet(packet, now) {
                self.fail(format!("client {id}: ws packet refused: {e:?}"));
            }
        } else if conn.probe == Some(link) {
            if packet == Packet::Pong("probe") {
                conn.held_probe = true;
            } else {
                conn.probe = None;
                conn.held_probe = false;
                conn.eio.handle_probe_packet(packet);
                self.client_close_link(link);
            }
        }
    }

    /// Client `id` starts an upgrade: opens a WebSocket with its sid.
    fn start_upgrade(&mut self, id: usize) {
        let Some(conn) = self.clients[id].conn.as_mut() else {
            return;
        };
        conn.upgrade_at = None;
        if conn.probe.is_some() || !conn.eio.can_upgrade() || conn.closed.is_some() {
            return;
        }
        let query = conn.eio.query(ClientTransport::WebSocket);
        let conn_id = conn.id;
        let link = self.net.new_link(id, conn_id, false);
        self.clients[id].conn.as_mut().expect("connection").probe = Some(link);
        trace!(self, "client {id}: opening ws {link} to upgrade");
        self.send(Payload::ToServer(ToServer::WsOpen { link, query }));
    }

    // ---------------------------------------------------------------- server

    fn server_receive(&mut self, message: ToServer) {
        let now = self.now;
        match message {
            ToServer::Http {
                client,
                conn,
                kind,
                method,
                query,
                body,
            } => {
                let sid = self.fresh_sid();
                let info = RequestInfo {
                    method,
                    query: &query,
                    content_type: None,
                    body: &body,
                };
                let reply = self.server.eio.handle_request(&info, now, || sid.clone());
                trace!(
                    self,
                    "server: {kind:?} {query} {:?} -> {reply:?}",
                    String::from_utf8_lossy(&body)
                );
                let query_sid = query
                    .split('&')
                    .find_map(|p| p.strip_prefix("sid="))
                    .map(String::from);
                match reply {
                    Reply::Respond(response) => {
                        if query_sid.is_none() && response.status == 200 {
                            self.server_opened(&sid, client);
                        }
                        self.send(Payload::ToClient(ToClient::Http {
                            client,
                            conn,
                            kind,
                            response: Some(response),
                        }));
                    }
                    Reply::Wait => {
                        let sid = query_sid.expect("only a session's GET waits");
                        if let Some(old) = self.server.parked.insert(sid.clone(), (client, conn)) {
                            self.fail(format!(
                                "server: second GET parked on {sid} (first {old:?})"
                            ));
                        }
                    }
                }
            }
            ToServer::PollAborted { client, conn } => {
                let found = self
                    .server
                    .parked
                    .iter()
                    .find(|(_, v)| **v == (client, conn))
                    .map(|(k, _)| k.clone());
                if let Some(sid) = found {
                    self.server.parked.remove(&sid);
                    trace!(self, "server: parked GET on {sid} aborted");
                    self.server.eio.handle_poll_aborted(&sid);
                }
            }
            ToServer::WsOpen { link, query } => {
                let sid = self.fresh_sid();
                let result = self
                    .server
                    .eio
                    .handle_websocket_open(&query, now, || sid.clone());
                trace!(self, "server: ws {link} open {query} -> {result:?}");
                let accepted = result.is_ok();
                let epoch = self.server.epoch;
                let client = self.net.links[link].client;
                // The handshake answer goes first on the link.
                self.net.links[link].epoch = epoch;
                self.send(Payload::ToClient(ToClient::WsOpened { link, accepted }));
                match result {
                    Ok((sid, WebSocketOpen::Attach(ws))) => {
                        if !query.contains("sid=") {
                            self.server_opened(&sid, client);
                        }
                        let l = &mut self.net.links[link];
                        l.server = Some((sid.clone(), ws));
                        l.server_open = true;
                        self.server.ws.insert(sid, link);
                    }
                    Ok((_, _)) => {
                        self.send(Payload::ToClient(ToClient::Ws {
                            link,
                            message: Ws::Close,
                        }));
                    }
                    Err(_) => {}
                }
            }
            ToServer::Ws {
                link,
                message: Ws::Text(text),
            } => {
                let Some((sid, ws)) = self.server_link(link) else {
                    return;
                };
                trace!(self, "server: ws {link} of {sid} got {text:?}");
                let result = self.server.eio.handle_websocket_text(&sid, ws, &text, now);
                self.check_websocket_input(&sid, result);
            }
            ToServer::Ws {
                link,
                message: Ws::Binary(data),
            } => {
                let Some((sid, ws)) = self.server_link(link) else {
                    return;
                };
                let result = self.server.eio.handle_websocket_binary(&sid, ws, data, now);
                self.check_websocket_input(&sid, result);
            }
            ToServer::Ws {
                link,
                message: Ws::Close,
            } => {
                let Some((sid, ws)) = self.server_link(link) else {
                    return;
                };
                trace!(self, "server: ws {link} of {sid} closed by the client");
                self.net.links[link].server_open = false;
                if self.server.ws.get(&sid) == Some(&link) {
                    self.server.ws.remove(&sid);
                }
                self.server.eio.handle_websocket_closed(&sid, ws);
            }
        }
        self.pump_server();
    }

    /// A WebSocket message must be taken, except by a session that its own
    /// deadline (fired by this very input, when the timer ran late) has just
    /// closed: the registry then answers `UnknownSid`, as it does when the
    /// timer ran first, so the outcome does not depend on the timer
    /// (tests/deadlines.rs). The session's `Closed` event and final close are
    /// queued; the glue takes the error as "gone".
    fn check_websocket_input(&mut self, sid: &str, result: Result<(), engineio::Error>) {
        let gone = engineio::Error::ApiMisuse(engineio::ApiMisuse::UnknownSid);
        match result {
            Ok(()) => {}
            Err(e) if e == gone && self.server.apps.contains_key(sid) => {
                trace!(
                    self,
                    "server: {sid} ended by its own deadline before this message"
                );
            }
            Err(e) => self.fail(format!("server: WebSocket message refused: {e:?}")),
        }
    }

    /// The server side of a link, if this server incarnation still has it open.
    fn server_link(&self, link: LinkId) -> Option<(String, engineio::WebSocketId)> {
        let l = &self.net.links[link];
        if !l.server_open || l.epoch != self.server.epoch {
            return None;
        }
        l.server.clone()
    }

    fn server_opened(&mut self, sid: &str, client: usize) {
        trace!(self, "server: session {sid} for client {client}");
        let app = SessionApp {
            sio: SioServer::new(sio_server_config(self.clients[client].version), self.now),
            client,
            next_seq: BTreeMap::new(),
            streams: BTreeMap::new(),
            acks: BTreeMap::new(),
            kicked: false,
        };
        if self.server.apps.insert(sid.into(), app).is_some() {
            self.fail(format!("server: sid {sid} handed out twice"));
        }
    }

    fn pump_server(&mut self) {
        for _ in 0..10_000 {
            if !self.pump_server_once() {
                return;
            }
        }
        self.fail("server glue did not settle".into());
    }

    fn pump_server_once(&mut self) -> bool {
        let now = self.now;
        let mut moved = false;
        while let Some(event) = self.server.eio.poll_event() {
            moved = true;
            trace!(self, "server: engine.io {event:?}");
            match event {
                EioServerEvent::Open { sid, .. } if !self.server.apps.contains_key(&sid) => {
                    self.fail(format!("server: Open of {sid} with no request"));
                }
                EioServerEvent::Message { sid, data } => {
                    let Some(app) = self.server.apps.get_mut(&sid) else {
                        self.fail(format!("server: message for unknown {sid}"));
                    };
                    let result = match data {
                        MessageData::Text(text) => app.sio.handle_text(&text, now),
                        MessageData::Binary(data) => app.sio.handle_binary(data, now),
                    };
                    match result {
                        Err(e) if kicked_race(app, &e) => {
                            trace!(self, "server: {sid}: a packet for a namespace it left");
                            self.stats.kicked_races += 1;
                        }
                        Err(e) => {
                            self.fail(format!("server: Socket.IO error from our client: {e:?}"));
                        }
                        Ok(()) => {}
                    }
                    // The application runs after each message, before the next
                    // one (a DISCONNECT later in the same POST must not
                    // overtake the events before it).
                    self.drain_app_events(&sid);
                }
                EioServerEvent::Closed { sid, reason } => {
                    if matches!(reason, EioCloseReason::ParseError) {
                        self.fail(format!("server: {sid} parse error from our client"));
                    }
                    if let Some(reason) = match reason {
                        EioCloseReason::TransportError(why)
                            if why != "poll connection closed prematurely"
                                && why != "send buffer full" =>
                        {
                            Some(why)
                        }
                        _ => None,
                    } {
                        self.fail(format!("server: {sid} transport error: {reason}"));
                    }
                    if let Some(app) = self.server.apps.get_mut(&sid) {
                        app.sio.handle_transport_closed();
                    }
                    self.drain_app_events(&sid);
                    if let Some(app) = self.server.apps.remove(&sid)
                        && !app.acks.is_empty()
                    {
                        self.fail(format!(
                            "server: {sid} closed with acks neither answered nor timed out: {:?}",
                            app.acks
                        ));
                    }
                }
                _ => {}
            }
        }
        let sids: Vec<String> = self.server.apps.keys().cloned().collect();
        for sid in &sids {
            if self.drain_app_events(sid) {
                moved = true;
            }
            // Socket.IO output into the Engine.IO session.
            while let Some(message) = self
                .server
                .apps
                .get_mut(sid)
                .and_then(|app| app.sio.poll_message())
            {
                moved = true;
                let sent = match &message {
                    EngineMessage::Text(_) => self
                        .server
                        .eio
                        .send_text(sid, message.as_text().unwrap_or("")),
                    EngineMessage::Binary(data) => self.server.eio.send_binary(sid, data.clone()),
                };
                if let Err(e) = sent {
                    // Our glue's policy: a session that cannot take a message is
                    // closed (what was queued after it is lost with the session).
                    trace!(self, "server: send on {sid} failed ({e:?}), closing");
                    let _ = self.server.eio.close(sid, now);
                }
            }
        }
        while let Some((sid, response)) = self.server.eio.poll_long_poll() {
            moved = true;
            let Some((client, conn)) = self.server.parked.remove(&sid) else {
                self.fail(format!(
                    "server: poll response for {sid} with no GET parked"
                ));
            };
            trace!(
                self,
                "server: parked GET of {sid} answered {:?}",
                String::from_utf8_lossy(&response.body)
            );
            self.send(Payload::ToClient(ToClient::Http {
                client,
                conn,
                kind: HttpKind::Get,
                response: Some(response),
            }));
        }
        while let Some((sid, output)) = self.server.eio.poll_websocket() {
            moved = true;
            let Some(&link) = self.server.ws.get(&sid) else {
                self.fail(format!(
                    "server: ws output {output:?} for {sid} with no socket"
                ));
            };
            trace!(self, "server: sends on ws {link} of {sid}: {output:?}");
            match output {
                WebSocketOutput::Text(text) => {
                    self.send(Payload::ToClient(ToClient::Ws {
                        link,
                        message: Ws::Text(text),
                    }));
                }
                WebSocketOutput::SharedText(bytes) => {
                    let text = String::from(bytes.as_str());
                    self.send(Payload::ToClient(ToClient::Ws {
                        link,
                        message: Ws::Text(text),
                    }));
                }
                WebSocketOutput::Binary(data) => {
                    self.send(Payload::ToClient(ToClient::Ws {
                        link,
                        message: Ws::Binary(data),
                    }));
                }
                WebSocketOutput::Close => {
                    self.net.links[link].server_open = false;
                    self.server.ws.remove(&sid);
                    self.send(Payload::ToClient(ToClient::Ws {
                        link,
                        message: Ws::Close,
                    }));
                }
            }
        }
        moved
    }

    /// Runs the server application on one session's Socket.IO events.
    fn drain_app_events(&mut self, sid: &str) -> bool {
        let now = self.now;
        let mut moved = false;
        loop {
            let Some(app) = self.server.apps.get_mut(sid) else {
                return moved;
            };
            let Some(event) = app.sio.poll_event() else {
                return moved;
            };
            moved = true;
            trace!(self, "server: {sid} socket.io {event:?}");
            let app = self.server.apps.get_mut(sid).expect("app");
            let client = app.client;
            match event {
                ServerEvent::Connect { namespace, .. } => {
                    let result = if namespace == REFUSED {
                        app.sio.refuse(&namespace, "refused", None)
                    } else {
                        app.streams.entry(namespace.clone()).or_default().gap_ok = true;
                        let socket_id = format!("{:x}", self.rng.next_u64());
                        let app = self.server.apps.get_mut(sid).expect("app");
                        app.sio.accept(&namespace, &socket_id)
                    };
                    if let Err(e) = result {
                        self.fail(format!("server: accept {namespace} on {sid}: {e:?}"));
                    }
                }
                ServerEvent::Event {
                    namespace,
                    args,
                    ack_id,
                    ..
                } => {
                    let Some(nums) = numbers(&args[..args.len().min(2)]).filter(|n| n.len() == 2)
                    else {
                        self.fail(format!("server: bad event args {args:?}"));
                    };
                    let (from, seq) = (usize::try_from(nums[0]).unwrap_or(usize::MAX), nums[1]);
                    if from != client {
                        self.fail(format!(
                            "server: {sid} is client {client}'s, got client {from}'s"
                        ));
                    }
                    if let Err(e) = app
                        .streams
                        .entry(namespace.clone())
                        .or_default()
                        .accept(seq)
                    {
                        self.fail(format!(
                            "server: client-to-server order on {sid} {namespace}: {e}"
                        ));
                    }
                    if !self
                        .c2s_seen
                        .entry((client, namespace.clone()))
                        .or_default()
                        .insert(seq)
                    {
                        self.fail(format!(
                            "server: client {client} #{seq} on {namespace} delivered twice"
                        ));
                    }
                    self.stats.c2s_delivered += 1;
                    if let Some(ack) = ack_id {
                        let app = self.server.apps.get_mut(sid).expect("app");
                        if let Err(e) = app.sio.ack(&namespace, ack, vec![Value::from(seq)]) {
                            self.fail(format!("server: ack refused: {e:?}"));
                        }
                    }
                }
                ServerEvent::Ack {
                    namespace,
                    id,
                    args,
                } => {
                    let Some((ns, seq)) = app.acks.remove(&id) else {
                        self.fail(format!("server: {sid} ack {id} not awaited"));
                    };
                    if ns != namespace || numbers(&args) != Some(vec![seq]) {
                        self.fail(format!(
                            "server: {sid} ack {id} {namespace} {args:?}, expected {ns} [{seq}]"
                        ));
                    }
                    self.stats.acks += 1;
                }
                ServerEvent::AckTimeout { namespace, id } => {
                    match app.acks.remove(&id) {
                        Some((ns, _)) if ns == namespace => {}
                        other => self.fail(format!(
                            "server: {sid} timeout of ack {id} on {namespace}, awaited {other:?}"
                        )),
                    }
                    self.stats.ack_timeouts += 1;
                }
                ServerEvent::Disconnected { .. } => {}
                ServerEvent::Close(reason) => {
                    let by_design = match &reason {
                        socketio::CloseReason::ConnectTimeout => true,
                        socketio::CloseReason::ProtocolError(e) => kicked_race(app, e),
                        _ => false,
                    };
                    if !by_design {
                        self.fail(format!("server: {sid} Socket.IO close {reason:?}"));
                    }
                    let _ = self.server.eio.close(sid, now);
                }
                _ => {}
            }
        }
    }

    // ----------------------------------------------------------- the world

    /// Fires every deadline at or before `now`, on every side.
    fn fire_timers(&mut self) {
        let now = self.now;
        // Lazy: the sessions' timers run late, or only through the inputs
        // (each input applies the deadlines before it, so the outcome must
        // be the same).
        let sessions = !self.lazy_timers || !self.chaos || self.rng.chance(300);
        if sessions {
            self.fire_session_timers();
        }
        for id in 0..self.clients.len() {
            let client = &self.clients[id];
            if client.conn.is_none()
                && !client.closing
                && client.reconnect_at.is_some_and(|t| t <= now)
            {
                self.connect(id);
                self.pump_client(id);
            }
            if self.clients[id]
                .conn
                .as_ref()
                .and_then(|c| c.upgrade_at)
                .is_some_and(|t| t <= now)
            {
                self.start_upgrade(id);
                self.pump_client(id);
            }
        }
    }

    fn fire_session_timers(&mut self) {
        let now = self.now;
        self.server.eio.handle_timeout(now);
        let sids: Vec<String> = self.server.apps.keys().cloned().collect();
        for sid in &sids {
            let app = self.server.apps.get_mut(sid).expect("app");
            if app.sio.poll_timeout().is_some_and(|t| t <= now) {
                app.sio.handle_timeout(now);
            }
        }
        self.pump_server();
        for id in 0..self.clients.len() {
            let client = &mut self.clients[id];
            client.sio.handle_timeout(now);
            if let Some(conn) = client.conn.as_mut() {
                conn.eio.handle_timeout(now);
            }
            self.pump_client(id);
        }
    }

    /// The earliest deadline anywhere.
    fn next_timer(&self) -> Option<Duration> {
        let mut all = vec![self.server.eio.poll_timeout()];
        all.extend(self.server.apps.values().map(|a| a.sio.poll_timeout()));
        for client in &self.clients {
            all.push(client.sio.poll_timeout());
            all.push(
                client
                    .reconnect_at
                    .filter(|_| client.conn.is_none() && !client.closing),
            );
            if let Some(conn) = &client.conn {
                all.push(conn.eio.poll_timeout());
                all.push(conn.upgrade_at);
            }
        }
        // Lazy, a deadline already due may stay unfired: look past it.
        let lazy = self.lazy_timers && self.chaos;
        all.into_iter()
            .flatten()
            .filter(|t| !lazy || *t > self.now)
            .min()
    }

    fn advance_to(&mut self, to: Duration) {
        if to > self.now {
            self.now = to;
        }
        self.fire_timers();
    }

    /// Moves time forward by up to `max`, stopping at the first deadline.
    fn advance(&mut self, max: Duration) {
        let target = self.now + max;
        let next = self.next_timer().map_or(target, |t| t.min(target));
        self.advance_to(next.max(self.now));
    }

    /// Delivers one ready network item, chosen at random (so HTTP exchanges
    /// and different links reorder); `false` if none is ready.
    fn deliver_one(&mut self) -> bool {
        let ready = self.net.ready(self.now);
        if ready.is_empty() {
            return false;
        }
        let index = *self.rng.pick(&ready);
        match self.net.take(index) {
            Payload::ToServer(message) => self.server_receive(message),
            Payload::ToClient(ToClient::WsOpened { link, .. } | ToClient::Ws { link, .. })
                if self.net.links[link].stray =>
            {
                // No one reads a stray socket; its end just sees it close.
                trace!(self, "stray ws {link}: output dropped");
            }
            Payload::ToClient(message) => {
                let id = match &message {
                    ToClient::Http { client, .. } => *client,
                    ToClient::WsOpened { link, .. } | ToClient::Ws { link, .. } => {
                        self.net.links[*link].client
                    }
                };
                self.client_receive(message);
                self.pump_client(id);
            }
        }
        true
    }

    /// One random step of the schedule.
    pub fn step(&mut self) {
        match self.rng.below(1000) {
            0..=469 => {
                if !self.deliver_one() {
                    let to = self.net.next_at().unwrap_or(self.now + 10 * MS);
                    let max = to.saturating_sub(self.now).max(MS);
                    self.advance(max);
                }
            }
            470..=619 => {
                let max = Duration::from_millis(self.rng.range(1, 40));
                self.advance(max);
            }
            620..=789 => self.client_action(),
            790..=959 => self.server_action(),
            960..=971 => self.drop_http(),
            972..=979 => self.reset_parked_poll(),
            980..=987 => self.reset_link(),
            988..=993 => {
                // A stall: both sides sleep past pingInterval + pingTimeout.
                let jump = self.config.ping_interval
                    + self.config.ping_timeout
                    + Duration::from_millis(self.rng.range(1, 400));
                trace!(self, "time jump by {jump:?}");
                self.advance_to(self.now + jump);
            }
            994..=995 => self.restart_server(),
            996..=997 => self.stray_websocket(),
            _ => self.advance(5 * MS),
        }
    }

    fn client_action(&mut self) {
        let id = usize::try_from(self.rng.below(self.clients.len() as u64)).unwrap_or(0);
        match self.rng.below(100) {
            0..=79 => {
                let joined: Vec<String> = self.clients[id].joined.iter().cloned().collect();
                let namespace = self.rng.pick(&joined).clone();
                if namespace == REFUSED {
                    return;
                }
                self.client_emit(id, &namespace, "c2s");
            }
            80..=82 => {
                // The application closes its connection; the client then
                // reconnects as after any other end (Socket.IO rejoins).
                if let Some(conn) = self.clients[id].conn.as_mut() {
                    trace!(self, "client {id}: closes its connection");
                    conn.eio.close();
                }
            }
            83..=92 => {
                let namespace = *self.rng.pick(&NAMESPACES);
                let client = &mut self.clients[id];
                if client.joined.insert(namespace.into()) {
                    trace!(self, "client {id}: join {namespace}");
                    self.clients[id]
                        .sio
                        .connect(namespace, None)
                        .expect("connect");
                }
            }
            _ => {
                let namespace = *self.rng.pick(&NAMESPACES[1..3]);
                let client = &mut self.clients[id];
                // Leaving a namespace whose CONNECT is still unanswered is left
                // out: see `leave_while_connecting_then_rejoin` in
                // tests/simulation.rs.
                if client.sio.is_connected(namespace) && client.joined.remove(namespace) {
                    trace!(self, "client {id}: leave {namespace}");
                    client.sio.disconnect(namespace).expect("disconnect");
                    // What the server had in flight on that namespace is gone:
                    // the next connection of it may skip ahead.
                    for ((_, ns), stream) in client.streams.iter_mut() {
                        if ns == namespace {
                            stream.gap_ok = true;
                        }
                    }
                }
            }
        }
        self.pump_client(id);
    }

    fn client_emit(&mut self, id: usize, namespace: &str, name: &str) {
        let client = &mut self.clients[id];
        let state = EmitState {
            session: &mut client.sio,
            counters: &mut client.next_seq,
            acks: &mut client.acks,
        };
        let bytes = Bytes::from(vec![u8::try_from(id).unwrap_or(0); 3]);
        let head = vec![Value::from(id as u64)];
        let (seq, with_ack, result) =
            state.emit_next(&mut self.rng, self.now, (namespace, name), head, bytes);
        if let Err(e) = result {
            self.fail(format!("client {id}: emit on {namespace}: {e:?}"));
        }
        trace!(
            self,
            "client {id}: emit {name} #{seq} on {namespace} ack={with_ack}"
        );
    }

    fn server_action(&mut self) {
        let targets: Vec<(String, String)> = self
            .server
            .apps
            .iter()
            .flat_map(|(sid, app)| {
                app.sio
                    .connected_namespaces()
                    .map(|ns| (sid.clone(), ns.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        if targets.is_empty() {
            return;
        }
        let (sid, namespace) = self.rng.pick(&targets).clone();
        if namespace != "/" && self.rng.chance(60) {
            trace!(self, "server: disconnects {sid} from {namespace}");
            let app = self.server.apps.get_mut(&sid).expect("app");
            app.kicked = true;
            self.stats.kicks += 1;
            if let Err(e) = app.sio.disconnect(&namespace) {
                self.fail(format!("server: disconnect {namespace}: {e:?}"));
            }
        } else if self.rng.chance(20) {
            trace!(self, "server: closing {sid}");
            let _ = self.server.eio.close(&sid, self.now);
        } else {
            self.server_emit(&sid, &namespace, "s2c");
        }
        self.pump_server();
    }

    fn server_emit(&mut self, sid: &str, namespace: &str, name: &str) {
        let app = self.server.apps.get_mut(sid).expect("app");
        let state = EmitState {
            session: &mut app.sio,
            counters: &mut app.next_seq,
            acks: &mut app.acks,
        };
        let bytes = Bytes::from_static(&[0xde, 0xad]);
        let (seq, with_ack, result) = state.emit_next(
            &mut self.rng,
            self.now,
            (namespace, name),
            Vec::new(),
            bytes,
        );
        if let Err(e) = result {
            self.fail(format!("server: emit on {sid} {namespace}: {e:?}"));
        }
        trace!(
            self,
            "server: emit {name} #{seq} on {sid} {namespace} ack={with_ack}"
        );
    }

    /// Loses one HTTP request or response: the client sees its request fail.
    fn drop_http(&mut self) {
        let http: Vec<usize> = (0..self.net.items.len())
            .filter(|&i| self.net.items[i].payload.is_http())
            .collect();
        if http.is_empty() {
            return;
        }
        let index = *self.rng.pick(&http);
        let at = self.delay();
        let item = &mut self.net.items[index];
        item.payload = match &item.payload {
            Payload::ToServer(ToServer::Http {
                client, conn, kind, ..
            })
            | Payload::ToClient(ToClient::Http {
                client, conn, kind, ..
            }) => Payload::ToClient(ToClient::Http {
                client: *client,
                conn: *conn,
                kind: *kind,
                response: None,
            }),
            _ => unreachable!(),
        };
        item.at = at;
        trace!(self, "fault: HTTP item {index} lost");
    }

    /// A parked GET's connection resets: both ends see it.
    fn reset_parked_poll(&mut self) {
        let parked: Vec<String> = self.server.parked.keys().cloned().collect();
        if parked.is_empty() {
            return;
        }
        let sid = self.rng.pick(&parked).clone();
        let (client, conn) = self.server.parked.remove(&sid).expect("parked");
        trace!(self, "fault: parked GET of {sid} reset");
        self.server.eio.handle_poll_aborted(&sid);
        self.pump_server();
        self.send(Payload::ToClient(ToClient::Http {
            client,
            conn,
            kind: HttpKind::Get,
            response: None,
        }));
    }

    /// A WebSocket connection breaks: both ends see it close.
    fn reset_link(&mut self) {
        let open: Vec<LinkId> = (0..self.net.links.len())
            .filter(|&l| self.net.links[l].client_open && self.net.links[l].server_open)
            .collect();
        if open.is_empty() {
            return;
        }
        let link = *self.rng.pick(&open);
        trace!(self, "fault: ws {link} reset");
        self.send(Payload::ToClient(ToClient::Ws {
            link,
            message: Ws::Close,
        }));
        self.send(Payload::ToServer(ToServer::Ws {
            link,
            message: Ws::Close,
        }));
    }

    /// Someone else opens a WebSocket with a client's sid: while the session
    /// polls it becomes the probe (and times out), otherwise it is accepted
    /// and closed; the client's own upgrade must cope either way.
    fn stray_websocket(&mut self) {
        let live: Vec<(usize, u64, String)> = self
            .clients
            .iter()
            .filter_map(|c| {
                let conn = c.conn.as_ref().filter(|conn| conn.sid.is_some())?;
                Some((c.id, conn.id, conn.eio.query(ClientTransport::WebSocket)))
            })
            .collect();
        if live.is_empty() {
            return;
        }
        let (id, conn, query) = self.rng.pick(&live).clone();
        let link = self.net.new_link(id, conn, true);
        trace!(self, "fault: stray ws {link} with client {id}'s sid");
        self.send(Payload::ToServer(ToServer::WsOpen { link, query }));
    }

    /// The server process restarts: every session is lost, every connection
    /// to it breaks.
    fn restart_server(&mut self) {
        trace!(self, "fault: server restart");
        self.stats.restarts += 1;
        self.server.epoch += 1;
        self.server.eio = Server::new(self.config.clone());
        self.server.apps.clear();
        self.server.ws.clear();
        for (_, (client, conn)) in std::mem::take(&mut self.server.parked) {
            self.send(Payload::ToClient(ToClient::Http {
                client,
                conn,
                kind: HttpKind::Get,
                response: None,
            }));
        }
        for link in 0..self.net.links.len() {
            if self.net.links[link].server_open {
                self.net.links[link].server_open = false;
                self.send(Payload::ToClient(ToClient::Ws {
                    link,
                    message: Ws::Close,
                }));
            }
        }
    }

    // ------------------------------------------------------------- the end

    /// Runs without faults until `done` holds and nothing is in flight, for at
    /// most `limit` of virtual time.
    fn settle(&mut self, what: &str, limit: Duration, done: impl Fn(&World) -> bool) {
        let chaos = std::mem::replace(&mut self.chaos, false);
        let deadline = self.now + limit;
        for _ in 0..200_000 {
            if done(self) && self.net.items.is_empty() {
                self.chaos = chaos;
                return;
            }
            if self.now > deadline {
                break;
            }
            if !self.deliver_one() {
                let max = self
                    .net
                    .next_at()
                    .map_or(50 * MS, |t| t.saturating_sub(self.now))
                    .max(MS);
                self.advance(max);
            }
        }
        let state = self.describe();
        self.fail(format!(
            "did not settle ({what}) within {limit:?}:\n{state}"
        ));
    }

    fn describe(&self) -> String {
        let mut out = String::new();
        for c in &self.clients {
            let _ = writeln!(
                out,
                "client {}: conn {:?} joined {:?} connected {:?} reconnect_at {:?}",
                c.id,
                c.conn.as_ref().map(|c| (
                    c.id,
                    &c.sid,
                    c.eio.transport(),
                    c.closed,
                    c.get_in_flight,
                    c.post_in_flight,
                    c.probe,
                    c.held_probe
                )),
                c.joined,
                c.joined
                    .iter()
                    .filter(|ns| c.sio.is_connected(ns))
                    .collect::<Vec<_>>(),
                c.reconnect_at,
            );
        }
        let _ = writeln!(
            out,
            "server sessions {} apps {:?}",
            self.server.eio.session_count(),
            self.server.apps.keys().collect::<Vec<_>>()
        );
        let _ = writeln!(out, "in flight: {:?}", self.net.items);
        if let Some(markers) = &self.markers {
            let _ = writeln!(out, "missing: {:?}", markers(self));
        }
        out
    }

    /// Every client is open on a session the server has, and joined to every
    /// namespace it asked for, on both sides.
    fn all_joined(&self) -> bool {
        self.clients.iter().all(|c| {
            let Some(conn) = &c.conn else { return false };
            let Some(sid) = &conn.sid else { return false };
            let Some(app) = self.server.apps.get(sid) else {
                return false;
            };
            conn.closed.is_none()
                && !conn.held_probe
                && c.joined
                    .iter()
                    .filter(|ns| *ns != REFUSED)
                    .all(|ns| c.sio.is_connected(ns) && app.sio.is_connected(ns))
                && !c.joined.contains(REFUSED)
        })
    }

    /// The end of a schedule: heal, check rejoin, send markers both ways and
    /// check they arrive on the live sessions, close everything and check
    /// nothing leaks.
    /// Each client's current Engine.IO session.
    fn current_sids(&self) -> Vec<Option<String>> {
        self.clients
            .iter()
            .map(|c| c.conn.as_ref().and_then(|c| c.sid.clone()))
            .collect()
    }

    /// Sends one final message each way on every live stream and waits for
    /// them; `false` if a session ended meanwhile.
    fn marker_round(&mut self) -> bool {
        // Markers: the last message of every live stream must arrive.
        let mut expect_c2s = Vec::new();
        for id in 0..self.clients.len() {
            let joined: Vec<String> = self.clients[id].joined.iter().cloned().collect();
            for ns in joined {
                self.client_emit(id, &ns, "c2s");
                expect_c2s.push((id, ns.clone(), self.clients[id].next_seq[&ns]));
            }
            self.pump_client(id);
        }
        let mut expect_s2c = Vec::new();
        // Only on each client's current session: a session its client has
        // left lives on until its heartbeat times out, and what is sent on it
        // is lost (by design: the server cannot know yet).
        let sids: Vec<String> = self
            .clients
            .iter()
            .filter_map(|c| c.conn.as_ref().and_then(|c| c.sid.clone()))
            .collect();
        for sid in sids {
            // A namespace the client left while its CONNECT was in flight
            // stays connected on the server (the client sends DISCONNECT only
            // for a connected namespace, as socket.io-client's `disconnect()`
            // does; it ignores the late CONNECT reply): by design, it gets no
            // marker.
            let client = self.server.apps[&sid].client;
            let joined = &self.clients[client].joined;
            let namespaces: Vec<String> = self.server.apps[&sid]
                .sio
                .connected_namespaces()
                .filter(|ns| joined.contains(*ns))
                .map(String::from)
                .collect();
            for ns in namespaces {
                self.server_emit(&sid, &ns, "marker");
                let app = &self.server.apps[&sid];
                expect_s2c.push((app.client, sid.clone(), ns.clone(), app.next_seq[&ns]));
            }
        }
        self.pump_server();
        let missing = move |w: &World| -> Vec<String> {
            let mut missing = Vec::new();
            for (id, ns, seq) in &expect_c2s {
                if !w
                    .c2s_seen
                    .get(&(*id, ns.clone()))
                    .is_some_and(|s| s.contains(seq))
                {
                    missing.push(format!("client {id} #{seq} on {ns} to the server"));
                }
            }
            for (id, sid, ns, seq) in &expect_s2c {
                if w.clients[*id].markers_seen.get(&(sid.clone(), ns.clone())) != Some(seq) {
                    missing.push(format!("server #{seq} on {sid} {ns} to client {id}"));
                }
            }
            missing
        };
        let sessions = self.current_sids();
        self.markers = Some(Box::new(missing));
        self.settle("markers", 10_000 * MS, |w| {
            w.markers.as_ref().is_some_and(|m| m(w).is_empty()) || w.current_sids() != sessions
        });
        let delivered = self.markers.take().is_some_and(|m| m(self).is_empty());
        if !delivered {
            // A session ended during the round (a heartbeat that a delay of
            // the faulty phase had already doomed): what it carried is lost
            // with it, by design. Again on the new sessions.
            trace!(self, "a session ended during the marker round; again");
        }
        delivered
    }

    pub fn finish(&mut self) {
        self.chaos = false;
        trace!(self, "---- settle");
        let mut rounds = 0;
        loop {
            self.settle("rejoin", 30_000 * MS, World::all_joined);
            if self.marker_round() {
                break;
            }
            rounds += 1;
            if rounds == 5 {
                self.fail("sessions keep ending while settling".into());
            }
        }
        // Acks: once their timeout has passed, each is answered or timed out.
        self.settle("acks", 5_000 * MS, |w| {
            w.clients.iter().all(|c| c.acks.is_empty())
                && w.server.apps.values().all(|a| a.acks.is_empty())
        });
        // Close every client; the server must forget every session.
        trace!(self, "---- close");
        for id in 0..self.clients.len() {
            self.clients[id].closing = true;
            self.clients[id].reconnect_at = None;
            if let Some(conn) = self.clients[id].conn.as_mut() {
                conn.eio.close();
            }
            self.pump_client(id);
        }
        let limit = 10 * (self.config.ping_interval + self.config.ping_timeout);
        self.settle("close", limit, |w| {
            w.clients.iter().all(|c| c.conn.is_none()) && w.server.eio.session_count() == 0
        });
        if !self.server.apps.is_empty()
            || !self.server.parked.is_empty()
            || !self.server.ws.is_empty()
        {
            let state = self.describe();
            self.fail(format!("server state left after close:\n{state}"));
        }
    }
}
