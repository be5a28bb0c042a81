//! Autobahn|Testsuite echo server, permessage-deflate on: `-- --addr 127.0.0.1:9002`.
use futures_util::{SinkExt, StreamExt};
use socketwire_tokio::{Config, Deflate, Error, Message, accept_async_with_config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let addr = std::env::args().nth(2).unwrap_or("127.0.0.1:9002".into());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let config = Config {
                deflate: Deflate::Enabled(Default::default()),
                ..Config::default()
            };
            let mut ws = accept_async_with_config(tcp, config).await?;
            while let Some(message) = ws.next().await {
                if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
                    ws.feed(m).await?; // written by the next read, with the other echoes
                }
            }
            Ok::<_, Error>(())
        });
    }
}
