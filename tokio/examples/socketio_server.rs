//! A Socket.IO server in axum 0.8: the layer takes `/socket.io/`, the router
//! the rest (a line of text at `/`).
//! `-- --addr 127.0.0.1:3000 [--allow-eio3] [--parser json|msgpack]
//! [--recovery [--max-disconnection-ms N]]` (`--allow-eio3`: socket.io 2.x
//! clients too; `--parser msgpack`: clients with
//! `parser: require("socket.io-msgpack-parser")`; `--recovery`: connection
//! state recovery, for `N` ms, default 120 000: every event then carries its
//! offset as a last argument).
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
//! namespaces are refused with `Invalid namespace`.
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
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            "--allow-eio3" => allow_eio3 = true,
            "--recovery" => recovery = true,
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
    let (layer, io) = builder.build_layer();
    io.ns("/", on_connect);
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
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            if let Some(room) = args.first().and_then(Value::as_str) {
                let _ = s.join(room);
            }
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
