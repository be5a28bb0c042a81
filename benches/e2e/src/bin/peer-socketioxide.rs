//! The socketioxide server of `scripts/broadcast-bench.sh`, on axum, with socketioxide's
//! defaults (WebSocket and polling, ping 25 s / 20 s, no compression). It answers the same
//! two events as the example server's `/` namespace: `join` (room) adds the socket to the
//! room, and `to-room` (room, data) emits `new messages` (data) to the room's members but
//! the sender.
//!
//!     peer-socketioxide --addr 127.0.0.1:PORT

use axum::serve::ListenerExt;
use socketioxide::SocketIo;
use socketioxide::extract::{Data, SocketRef};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "127.0.0.1:9006".into());
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", async |socket: SocketRef| {
        socket.on("join", async |s: SocketRef, Data::<String>(room)| {
            s.join(room);
        });
        socket.on(
            "to-room",
            async |s: SocketRef, Data::<(String, serde_json::Value)>((room, data))| {
                let _ = s.to(room).emit("new messages", &data).await;
            },
        );
    });
    let app = axum::Router::new().layer(layer);
    // Nagle off, as the example server and Node's `ws` have it for their WebSockets.
    let listener = tokio::net::TcpListener::bind(&addr).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("socketioxide on http://{addr}/socket.io/");
    axum::serve(listener, app).await
}
