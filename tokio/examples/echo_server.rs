//! Echo server for Autobahn|Testsuite, permessage-deflate on: `-- --addr 127.0.0.1:9002`.
use futures_util::{SinkExt, StreamExt};
use socketwire_tokio::{Config, Deflate, Error, Message, accept_async_with_config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .windows(2)
        .find(|w| w[0] == "--addr")
        .map_or("127.0.0.1:9002", |w| &w[1]);
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
                    ws.send(m).await?;
                }
            }
            Ok::<_, Error>(())
        });
    }
}
