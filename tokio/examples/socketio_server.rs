//! A Socket.IO server in axum 0.8: the layer takes `/socket.io/`, the router
//! the rest (a line of text at `/`).
//! `-- --addr 127.0.0.1:3000 [--allow-eio3] [--parser json|msgpack]`
//! (`--allow-eio3`: socket.io 2.x clients too; `--parser msgpack`: clients with
//! `parser: require("socket.io-msgpack-parser")`).
//!
//! Behaviour: on a connection to `/`, emit `auth` with the handshake auth;
//! `message` is echoed as `message-back` (binary included); `message-with-ack`
//! is acknowledged with its args; `join` / `leave` (room); `to-room` (room,
//! data) reaches the other members of the room as `new messages` (data);
//! `channel` (data) goes to everyone as `broadcast` (data); `request-ack`
//! (args) emits `ack-request` (args) asking for an ack, and the client's ack
//! comes back as `ack-received` (ack args). An auth of `{"refuse":true}` is
//! refused with `not allowed`. `/custom` emits `auth` on connect; other
//! namespaces are refused with `Invalid namespace`.
use axum::Router;
use axum::routing::get;
use socketwire_tokio::socketio::server::{AckSender, ConnectError, SocketIo, SocketRef};
use socketwire_tokio::socketio::{Parser, Value};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:3000");
    let mut allow_eio3 = false;
    let mut parser = Parser::Json;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().unwrap_or(addr),
            "--allow-eio3" => allow_eio3 = true,
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
    let (layer, io) = SocketIo::builder()
        .allow_eio3(allow_eio3)
        .parser(parser)
        .build_layer();
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
    socket
        .emit("auth", vec![auth])
        .map_err(|e| ConnectError::new(e.to_string()))?;
    Ok(())
}
