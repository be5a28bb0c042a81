//! A Socket.IO server in axum 0.8: the layer takes `/socket.io/`, the router
//! the rest (a line of text at `/`).
//! `-- --addr 127.0.0.1:3000 [--allow-eio3] [--parser json|msgpack]
//! [--recovery [--max-disconnection-ms N]]` (`--allow-eio3`: socket.io 2.x
//! clients too; `--parser msgpack`: clients with
//! `parser: require("socket.io-msgpack-parser")`; `--recovery`: connection
//! state recovery, for `N` ms, default 120 000: every event then carries its
//! offset as a last argument).
//! Built with the `redis` feature, `--redis redis://127.0.0.1:6379 --adapter
//! redis|redis-sharded|redis-streams` joins a cluster over Redis, with
//! Node.js nodes on `@socket.io/redis-adapter` (`createAdapter`,
//! `createShardedAdapter`) or `@socket.io/redis-streams-adapter`.
//!
//! Behaviour: on a connection to `/`, emit `auth` with the handshake auth;
//! `message` is echoed as `message-back` (binary included); `message-with-ack`
//! is acknowledged with its args; `join` / `leave` (room); `to-room` (room,
//! data) reaches the other members of the room as `new messages` (data);
//! `channel` (data) goes to everyone as `broadcast` (data); `request-ack`
//! (args) emits `ack-request` (args) asking for an ack, and the client's ack
//! comes back as `ack-received` (ack args). An auth of `{"refuse":true}` is
//! refused with `not allowed`. Every socket is in the room of its own id, so
//! `to-room` with a socket id reaches that socket. With `--recovery`, `auth`
//! is only emitted to a new socket, and a recovered one gets `recovered`
//! (its id). `/custom` emits `auth` on connect; other
//! namespaces are refused with `Invalid namespace`. `join` acks once joined.
//!
//! Cluster events (they act on the whole cluster with `--redis`): `cluster-emit`
//! (room, event, ...args) emits `event` (args) to `room`; `cluster-fetch`
//! acks with the ids of every socket; `cluster-server-side-emit` acks with
//! the other servers' answers to a serverSideEmit `ping`;
//! `cluster-ack-broadcast` emits `question` to everyone asking for acks and
//! acks with them. Other servers' serverSideEmit `ping` is answered with
//! `pong`, and `relay` (args) is sent to this node's sockets as `relayed`.
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use socketwire_tokio::socketio::server::{AckSender, ConnectError, SocketIo, SocketRef};
use socketwire_tokio::socketio::{Parser, Value};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:3000");
    let mut allow_eio3 = false;
    let mut recovery = false;
    let mut max_disconnection = Duration::from_secs(120);
    let mut parser = Parser::Json;
    let mut redis: Option<String> = None;
    let mut adapter = String::from("redis");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            "--allow-eio3" => allow_eio3 = true,
            "--recovery" => recovery = true,
            "--redis" => redis = args.next(),
            "--adapter" => adapter = args.next().unwrap_or(adapter),
            "--max-disconnection-ms" => {
                if let Some(ms) = args.next().and_then(|ms| ms.parse().ok()) {
                    max_disconnection = Duration::from_millis(ms);
                }
            }
            "--parser" => match args.next().as_deref() {
                Some("json") => parser = Parser::Json,
                Some("msgpack") => parser = Parser::Msgpack,
                _ => {
                    eprintln!("--parser needs json or msgpack");
                    std::process::exit(2);
                }
            },
            _ => {}
        }
    }
    let mut builder = SocketIo::builder().allow_eio3(allow_eio3).parser(parser);
    if recovery {
        builder = builder.connection_state_recovery(max_disconnection);
    }
    if let Some(url) = redis {
        builder = with_cluster(builder, &url, &adapter);
    }
    let (layer, io) = builder.build_layer();
    let relay = io.clone();
    io.on_server_side_emit(
        "ping",
        |_args: Vec<Value>| async move { Value::from("pong") },
    );
    io.on_server_side_emit("relay", move |args: Vec<Value>| {
        let io = relay.clone();
        async move {
            io.of("/").local().emit("relayed", args);
            Value::Null
        }
    });
    let cluster = io.clone();
    io.ns("/", move |socket: SocketRef, auth: Value| {
        let io = cluster.clone();
        async move {
            on_cluster_events(&socket, io);
            on_connect(socket, auth).await
        }
    });
    io.ns("/custom", |socket: SocketRef, auth: Value| async move {
        socket
            .emit("auth", vec![auth])
            .map_err(|e| ConnectError::new(e.to_string()))
    });
    let app = Router::new()
        .route("/", get(|| async { "Socket.IO at /socket.io/\n" }))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}

#[cfg(feature = "redis")]
fn with_cluster(
    builder: socketwire_tokio::socketio::server::SocketIoBuilder,
    url: &str,
    adapter: &str,
) -> socketwire_tokio::socketio::server::SocketIoBuilder {
    use socketwire_tokio::socketio::adapter::{AdapterMode, RedisAdapter};
    let mode = match adapter {
        "redis" => AdapterMode::Classic,
        "redis-sharded" => AdapterMode::Sharded,
        "redis-streams" => AdapterMode::Streams,
        _ => {
            eprintln!("--adapter needs redis, redis-sharded or redis-streams");
            std::process::exit(2);
        }
    };
    builder.adapter(RedisAdapter::new(url, mode))
}

#[cfg(not(feature = "redis"))]
fn with_cluster(
    _: socketwire_tokio::socketio::server::SocketIoBuilder,
    _: &str,
    _: &str,
) -> socketwire_tokio::socketio::server::SocketIoBuilder {
    eprintln!("--redis needs the example built with the `redis` feature");
    std::process::exit(2);
}

/// The events that act on the cluster.
fn on_cluster_events(socket: &SocketRef, io: SocketIo) {
    let emitter = io.clone();
    socket.on(
        "cluster-emit",
        move |_: SocketRef, args: Vec<Value>, _: AckSender| {
            let io = emitter.clone();
            async move {
                if let (Some(room), Some(event)) = (
                    args.first().and_then(Value::as_str),
                    args.get(1).and_then(Value::as_str),
                ) {
                    io.to(room).emit(event, args[2..].to_vec());
                }
            }
        },
    );
    let fetcher = io.clone();
    socket.on(
        "cluster-fetch",
        move |_: SocketRef, _: Vec<Value>, ack: AckSender| {
            let io = fetcher.clone();
            async move {
                let ids = io
                    .fetch_sockets()
                    .await
                    .iter()
                    .filter_map(|s| s.get("id").cloned())
                    .collect();
                let _ = ack.send(vec![Value::Array(ids)]);
            }
        },
    );
    let emitter = io.clone();
    socket.on(
        "cluster-server-side-emit",
        move |_: SocketRef, _: Vec<Value>, ack: AckSender| {
            let io = emitter.clone();
            async move {
                let answers = io.server_side_emit_with_ack("ping", vec![]).await;
                let _ = ack.send(vec![Value::Array(answers)]);
            }
        },
    );
    socket.on(
        "cluster-ack-broadcast",
        move |_: SocketRef, _: Vec<Value>, ack: AckSender| {
            let io = io.clone();
            async move {
                // On a task of its own: this socket answers `question` meanwhile.
                tokio::spawn(async move {
                    let acks = io
                        .of("/")
                        .emit_with_ack("question", vec![], Duration::from_secs(3))
                        .await;
                    let _ = ack.send(vec![Value::Array(acks)]);
                });
            }
        },
    );
}

async fn on_connect(socket: SocketRef, auth: Value) -> Result<(), ConnectError> {
    if auth.get("refuse") == Some(&Value::Bool(true)) {
        return Err(ConnectError::new("not allowed"));
    }
    socket.on(
        "message",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            let _ = s.emit("message-back", args);
        },
    );
    socket.on(
        "message-with-ack",
        |_: SocketRef, args: Vec<Value>, ack: AckSender| async move {
            let _ = ack.send(args);
        },
    );
    socket.on(
        "join",
        |s: SocketRef, args: Vec<Value>, ack: AckSender| async move {
            if let Some(room) = args.first().and_then(Value::as_str) {
                let _ = s.join(room);
            }
            let _ = ack.send(vec![]);
        },
    );
    socket.on(
        "leave",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            if let Some(room) = args.first().and_then(Value::as_str) {
                s.leave(room);
            }
        },
    );
    socket.on(
        "to-room",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            if let Some(room) = args.first().and_then(Value::as_str) {
                s.to(room).emit("new messages", args[1..].to_vec());
            }
        },
    );
    socket.on(
        "channel",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            s.broadcast().emit("broadcast", args.clone());
            let _ = s.emit("broadcast", args);
        },
    );
    socket.on(
        "request-ack",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            // Awaited on a task of its own, so this socket's next events run meanwhile.
            tokio::spawn(async move {
                if let Ok(answer) = s.emit_with_ack("ack-request", args).await {
                    let _ = s.emit("ack-received", answer);
                }
            });
        },
    );
    let greeting = if socket.recovered() {
        ("recovered", vec![socket.id().into()])
    } else {
        ("auth", vec![auth])
    };
    socket
        .emit(greeting.0, greeting.1)
        .map_err(|e| ConnectError::new(e.to_string()))?;
    Ok(())
}
