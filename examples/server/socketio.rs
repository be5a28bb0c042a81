//! `/socket.io/`: the example's Socket.IO handlers on socketwire-tokio's
//! `SocketIo` server (its tower service is mounted at `/socket.io/`).
//!
//! Behaviour: on a connection to `/`, emit `auth` with the handshake auth payload;
//! `message` is echoed as `message-back` (binary included); `message-with-ack` is
//! acknowledged with its args; `/custom` emits `auth` on connect; other namespaces
//! are refused with `{"message":"Invalid namespace"}`. Chat: `channel` (data) goes to
//! everyone as `broadcast` (data); `join` (room; acked once joined) / `leave` (room); `to-room` (room, data)
//! reaches the other members of the room as `new messages` (data).
//! For tests: `request-ack` (args) makes the server emit `ack-request` (args) with
//! an ack id, and the client's ack comes back as `ack-received` (ack args);
//! `drop-transport` makes the server close the Engine.IO session. With `--recovery`,
//! a socket connection state recovery brought back gets `recovered` (its id)
//! instead of `auth`; every socket is in the room of its own id, so `to-room`
//! with a socket id reaches that socket.
//!
//! The bounds are the server's (`SocketIoConfig`, each with its test in
//! socketwire-tokio): sessions each lock only themselves; a broadcast skips and
//! closes a member over `--max-backpressure`; a session whose command or event
//! queue is full is closed; socket ids are 128 CSPRNG bits independent of the
//! Engine.IO sid; a WebSocket write that misses `--write-timeout` drops the socket.

use std::time::Duration;

use socketwire_tokio::socketio::Value;
use socketwire_tokio::socketio::adapter::RedisAdapter;
use socketwire_tokio::socketio::server::{
    AckSender, ConnectError, SocketIo, SocketIoConfig, SocketIoService, SocketRef,
};
use socketwire_tokio::{Config, Deflate};

use crate::Options;
use crate::websocket::deflate_config;

/// The events the `/` namespace answers (see the module docs).
const EVENTS: [&str; 8] = [
    "message",
    "message-with-ack",
    "request-ack",
    "drop-transport",
    "channel",
    "join",
    "leave",
    "to-room",
];

/// The server's settings from the command line.
pub fn config(options: &Options) -> SocketIoConfig {
    let deflate = if options.deflate {
        Deflate::Enabled(deflate_config(options))
    } else {
        Deflate::Disabled
    };
    SocketIoConfig {
        engineio: options.engineio_config(),
        socketio: socketwire::socketio::ServerConfig {
            connect_timeout: Duration::from_millis(options.connect_timeout_ms),
            ..Default::default()
        },
        websocket: Config {
            deflate,
            ..Config::default()
        },
        max_backpressure: options.max_backpressure,
        max_http_body: options.max_payload,
        request_timeout: Duration::from_millis(options.body_timeout_ms),
        write_timeout: options.write_timeout(),
        recovery: options
            .recovery
            .then(|| socketwire::socketio::RecoveryConfig {
                max_disconnection_duration: Duration::from_millis(options.max_disconnection_ms),
                ..Default::default()
            }),
    }
}

/// The namespaces the server serves, all shared with the cluster under `--redis`.
const NAMESPACES: [&str; 3] = ["/", "/custom", crate::chat::NAMESPACE];

/// The Socket.IO server with the example's namespaces (and the chat page's);
/// with `--redis`, in a cluster over Redis (see [`clustered`]).
pub fn server(options: &Options) -> (SocketIoService, SocketIo) {
    let (service, io) = match &options.redis {
        None => SocketIo::new(config(options)),
        Some(url) => clustered(options, url),
    };
    io.ns("/", |socket: SocketRef, auth: Value| async move {
        for event in EVENTS {
            socket.on(
                event,
                move |s: SocketRef, args: Vec<Value>, ack: AckSender| on_event(event, s, args, ack),
            );
        }
        greet(&socket, auth)
    });
    io.ns("/custom", |socket: SocketRef, auth: Value| async move {
        greet(&socket, auth)
    });
    crate::chat::register(&io);
    (service, io)
}

/// Emits `auth` with the handshake's auth payload to a new socket, and
/// `recovered` with its id to one connection state recovery brought back
/// (`--recovery`).
fn greet(socket: &SocketRef, auth: Value) -> Result<(), ConnectError> {
    let (event, args) = if socket.recovered() {
        ("recovered", vec![socket.id().into()])
    } else {
        ("auth", vec![auth])
    };
    socket
        .emit(event, args)
        .map_err(|e| ConnectError::new(e.to_string()))
}

/// One of [`EVENTS`] on `/`. Emits fail only on a closed session.
async fn on_event(event: &str, s: SocketRef, args: Vec<Value>, ack: AckSender) {
    let room = args.first().and_then(Value::as_str).map(str::to_string);
    match (event, room) {
        ("message", _) => drop(s.emit("message-back", args)),
        ("message-with-ack", _) => drop(ack.send(args)),
        ("request-ack", _) => {
            // Awaited on a task of its own, so the socket's next events run meanwhile.
            tokio::spawn(async move {
                if let Ok(answer) = s.emit_with_ack("ack-request", args).await {
                    let _ = s.emit("ack-received", answer);
                }
            });
        }
        ("drop-transport", _) => drop(s.close_transport()),
        ("channel", _) => {
            s.broadcast().emit("broadcast", args.clone());
            let _ = s.emit("broadcast", args);
        }
        // Past the rooms-per-socket cap a join is refused (the socket keeps its rooms).
        ("join", Some(room)) => {
            let _ = s.join(&room);
            let _ = ack.send(Vec::new());
        }
        ("leave", Some(room)) => s.leave(&room),
        ("to-room", Some(room)) => s
            .to(&room)
            .emit("new messages", args.get(1..).unwrap_or_default().to_vec()),
        _ => {}
    }
}

/// The server in a cluster over the Redis at `url`, every one of
/// [`NAMESPACES`] shared, through `--adapter`.
fn clustered(options: &Options, url: &str) -> (SocketIoService, SocketIo) {
    let adapter = NAMESPACES
        .iter()
        .fold(RedisAdapter::new(url, options.adapter.mode()), |a, ns| {
            a.namespace(ns)
        });
    SocketIo::builder()
        .config(config(options))
        .adapter(adapter)
        .build()
}
