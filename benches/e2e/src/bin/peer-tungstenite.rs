//! The tokio-tungstenite echo server of `scripts/e2e-bench.sh`: its own idiom (split, then
//! forward the data messages back), on a multi-threaded runtime like the other servers.
//!
//!     peer-tungstenite --addr 127.0.0.1:PORT

use futures_util::{StreamExt, TryStreamExt, future};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "127.0.0.1:9003".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("tokio-tungstenite echo on ws://{addr}/");
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let config = WebSocketConfig::default().max_message_size(Some(64 << 20));
            let ws = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await?;
            let (write, read) = ws.split();
            read.try_filter(|m| future::ready(m.is_text() || m.is_binary()))
                .forward(write)
                .await
        });
    }
}
