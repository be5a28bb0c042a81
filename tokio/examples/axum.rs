//! An axum 0.8 server: a WebSocket echo at `/ws` and `/echo` (the path the
//! Autobahn|Testsuite client uses), and a line of text at `/`. permessage-deflate
//! on; the message limits are the core's defaults (16 MiB frames, 64 MiB
//! messages), as in the echo server. `-- --addr 127.0.0.1:9002`.
use axum::Router;
use axum::extract::{Request, State};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use socketwire_tokio::{Config, Deflate, Error, Message, Upgrade, UpgradeResponse, UpgradedStream};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let addr = std::env::args().nth(2).unwrap_or("127.0.0.1:9002".into());
    let upgrade = Upgrade::new(Config {
        deflate: Deflate::Enabled(Default::default()),
        ..Config::default()
    });
    let app = Router::new()
        .route("/", get(|| async { "WebSocket echo at /ws\n" }))
        .route("/ws", get(websocket))
        .route("/echo", get(websocket))
        .with_state(upgrade);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

/// Answers the upgrade (or refuses it: 400, 426) and echoes on a task of its own.
async fn websocket(State(upgrade): State<Upgrade>, mut request: Request) -> UpgradeResponse {
    match upgrade.upgrade(&mut request) {
        Ok((response, websocket)) => {
            tokio::spawn(async move { echo(websocket.await?).await });
            response
        }
        Err(error) => error.to_response(),
    }
}

async fn echo(mut ws: UpgradedStream) -> Result<(), Error> {
    while let Some(message) = ws.next().await {
        if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
            ws.send(m).await?;
        }
    }
    Ok(())
}
