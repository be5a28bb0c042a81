//! Echo server for Autobahn|Testsuite: `cargo run -p socketwire-tokio --example echo_server -- --addr 127.0.0.1:9002`
use futures_util::{SinkExt, StreamExt};
use socketwire_tokio::{Config, Deflate, Error, Message, accept_async_with_config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let addr = match args.iter().position(|a| a == "--addr") {
        Some(i) => args.get(i + 1).cloned().expect("--addr needs HOST:PORT"),
        None => "127.0.0.1:9002".to_owned(),
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("echo server on ws://{addr}");
    let config = Config {
        deflate: Deflate::Enabled(Default::default()),
        ..Config::default()
    };
    loop {
        let (tcp, _) = listener.accept().await?;
        let config = config.clone();
        tokio::spawn(async move {
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
