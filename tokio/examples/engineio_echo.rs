//! A bare Engine.IO echo server: every message a client sends, text or
//! binary, comes back. Polling, WebSocket and upgrades, Engine.IO 3 and 4.
//!
//! ```text
//! cargo run -p socketwire-tokio --features engineio-server --example engineio_echo
//! ```

use socketwire_tokio::engineio::{EngineIo, EngineSocket, MessageData};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (service, io) = EngineIo::builder().allow_eio3(true).build();
    io.on_connection(|socket: EngineSocket| async move {
        socket.on_message(|socket: EngineSocket, message: MessageData| async move {
            // Full: the client takes its echoes too slowly; the session is closed.
            let _ = socket.send(message);
        });
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "Engine.IO echo on http://{}/engine.io/",
        listener.local_addr()?
    );
    socketwire_tokio::engineio::serve(listener, service).await
}
