//! The socket.io chat demo on socketwire-tokio, in axum 0.8: the chat page at
//! `/` (nicknames, rooms, who is online, "typing…", reconnect status and a
//! panel of the Engine.IO / Socket.IO packets), the socket.io-client browser
//! build it loads at `/socket.io.min.js`, and the Socket.IO server (namespace
//! `/chat`) under `/socket.io/`. The chat itself is `examples/server/chat.rs`,
//! which the example server at the repository root serves too.
//! `cargo run -p socketwire-tokio --features socketio-server --example chat_demo -- --addr 127.0.0.1:3000`
use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::Html;
use axum::routing::get;
use socketwire_tokio::socketio::server::SocketIo;

// One copy of the chat: the example server's.
#[path = "../../examples/server/chat.rs"]
#[allow(unreachable_pub)] // `pub` for the example server, which allows it crate-wide.
mod chat;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut addr = String::from("127.0.0.1:3000");
    while let Some(arg) = args.next() {
        if arg == "--addr" {
            addr = args.next().unwrap_or(addr);
        }
    }
    let (layer, io) = SocketIo::builder().build_layer();
    chat::register(&io);
    let bundle = || async {
        (
            [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
            chat::CLIENT_BUNDLE,
        )
    };
    let app = Router::new()
        .route("/", get(|| async { Html(chat::PAGE) }))
        .route(chat::CLIENT_BUNDLE_PATH, get(bundle))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("chat on http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await
}
