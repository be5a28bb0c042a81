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

/// The chat end to end: two and three crate clients on `/chat` of a server on
/// a loopback port.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt;
    use socketwire_tokio::socketio::server::{SocketIo, serve};
    use socketwire_tokio::socketio::{Client, ClientConfig, Event, Socket, Value};

    use super::chat;

    /// Every wait here is bounded by this.
    const WAIT: Duration = Duration::from_secs(5);

    /// Events looked at, at most, while waiting for one.
    const MAX_EVENTS: usize = 50;

    async fn server() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (service, io) = SocketIo::new(Default::default());
        chat::register(&io);
        tokio::spawn(serve(listener, service));
        url
    }

    /// A client and its `/chat` socket (its `/` is refused: the chat serves only `/chat`).
    fn user(url: &str) -> (Client, Socket) {
        let config = ClientConfig {
            reconnection: None,
            ..ClientConfig::default()
        };
        let client = Client::connect(url, config).unwrap();
        let socket = client.of(chat::NAMESPACE, None).unwrap();
        (client, socket)
    }

    /// The first argument of the next `name` event on `/chat`.
    async fn event(client: &mut Client, name: &str) -> Value {
        for _ in 0..MAX_EVENTS {
            let next = tokio::time::timeout(WAIT, client.next()).await;
            let event = next.expect("an event in time").expect("the client is open");
            if let Event::Message {
                namespace,
                name: got,
                mut args,
                ..
            } = event
                && namespace == chat::NAMESPACE
                && got == name
            {
                return args.swap_remove(0);
            }
        }
        panic!("no {name} in {MAX_EVENTS} events");
    }

    /// Emits with an ack and returns the reply.
    async fn ask(socket: &Socket, event: &str, args: Vec<Value>) -> Value {
        let pending = socket.emit_with_ack(event, args, WAIT).unwrap();
        pending.await.unwrap().swap_remove(0)
    }

    fn json(value: &Value) -> String {
        value.to_json_string()
    }

    #[tokio::test]
    async fn two_users_chat_type_move_and_leave() {
        let url = server().await;
        let (mut a, alice) = user(&url);
        let (mut b, bob) = user(&url);
        let reply = ask(&alice, "add user", vec!["Alice".into(), "rust".into()]).await;
        assert_eq!(
            json(&reply),
            r#"{"ok":true,"username":"Alice","room":"rust","numUsers":1,"online":["Alice"]}"#
        );
        let reply = ask(&bob, "add user", vec![" Bob ".into(), "rust".into()]).await;
        assert_eq!(reply.get("numUsers"), Some(&2u64.into()));
        assert_eq!(
            json(&event(&mut a, "user joined").await),
            r#"{"username":"Bob","room":"rust","numUsers":2,"online":["Alice","Bob"]}"#
        );

        // Typing and messages reach the others in the room, with the name.
        bob.emit("typing", vec![]).unwrap();
        assert_eq!(
            json(&event(&mut a, "typing").await),
            r#"{"username":"Bob"}"#
        );
        bob.emit("stop typing", vec![]).unwrap();
        assert_eq!(
            json(&event(&mut a, "stop typing").await),
            r#"{"username":"Bob"}"#
        );
        // Bound: a message over MAX_MESSAGE characters is dropped; the next one arrives.
        let long = "x".repeat(chat::MAX_MESSAGE + 1);
        bob.emit("new message", vec![long.into()]).unwrap();
        bob.emit("new message", vec!["hi Alice".into()]).unwrap();
        assert_eq!(
            json(&event(&mut a, "new message").await),
            r#"{"username":"Bob","message":"hi Alice"}"#
        );

        // Refusals come back in the ack.
        let again = ask(&bob, "add user", vec!["Bobby".into()]).await;
        assert_eq!(again.get("ok"), Some(&false.into()));
        let bad_room = ask(&bob, "join room", vec!["no spaces".into()]).await;
        assert_eq!(bad_room.get("ok"), Some(&false.into()));

        // Alice moves: Bob sees her leave his room.
        let moved = ask(&alice, "join room", vec!["random".into()]).await;
        assert_eq!(
            json(&moved),
            r#"{"ok":true,"username":"Alice","room":"random","numUsers":1,"online":["Alice"]}"#
        );
        assert_eq!(
            json(&event(&mut b, "user left").await),
            r#"{"username":"Alice","room":"rust","numUsers":1,"online":["Bob"]}"#
        );
        // Bob's messages no longer reach her; after he follows, they do.
        bob.emit("new message", vec!["alone".into()]).unwrap();
        ask(&bob, "join room", vec!["random".into()]).await;
        assert_eq!(
            event(&mut a, "user joined").await.get("numUsers"),
            Some(&2u64.into())
        );
        bob.emit("new message", vec!["together".into()]).unwrap();
        let message = event(&mut a, "new message").await;
        assert_eq!(message.get("message"), Some(&"together".into()));

        // `leave room` takes Bob back to the lobby; then he disconnects.
        let back = ask(&bob, "leave room", vec![]).await;
        assert_eq!(back.get("room"), Some(&chat::LOBBY.into()));
        assert_eq!(
            event(&mut a, "user left").await.get("numUsers"),
            Some(&1u64.into())
        );
        ask(&bob, "join room", vec!["random".into()]).await;
        event(&mut a, "user joined").await;
        b.close();
        assert_eq!(
            json(&event(&mut a, "user left").await),
            r#"{"username":"Bob","room":"random","numUsers":1,"online":["Alice"]}"#
        );
    }

    #[tokio::test]
    async fn without_an_ack_the_reply_is_an_event() {
        let url = server().await;
        let (mut c, carol) = user(&url);
        carol.emit("add user", vec!["".into()]).unwrap();
        let refused = event(&mut c, "refused").await;
        assert_eq!(refused.get("ok"), Some(&false.into()));
        // Nothing but `add user` works before a nickname.
        carol.emit("join room", vec!["rust".into()]).unwrap();
        event(&mut c, "refused").await;
        carol.emit("add user", vec!["Carol".into()]).unwrap();
        let login = event(&mut c, "login").await;
        assert_eq!(
            json(&login),
            r#"{"ok":true,"username":"Carol","room":"lobby","numUsers":1,"online":["Carol"]}"#
        );
        carol.emit("join room", vec!["Rust".into()]).unwrap();
        assert_eq!(
            event(&mut c, "room").await.get("room"),
            Some(&"rust".into())
        );
    }
}
