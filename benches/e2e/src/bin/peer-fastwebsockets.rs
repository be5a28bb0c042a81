//! The fastwebsockets echo server of `scripts/e2e-bench.sh`: hyper 1.x upgrade, then the
//! crate's fragment collector reading frames and writing the data frames back, on a
//! multi-threaded runtime like the other servers.
//!
//!     peer-fastwebsockets --addr 127.0.0.1:PORT

use fastwebsockets::{FragmentCollector, OpCode, WebSocketError, upgrade};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::net::TcpListener;

async fn echo(upgrading: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(upgrading.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}

async fn handle(mut request: Request<Incoming>) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, upgrading) = upgrade::upgrade(&mut request)?;
    tokio::spawn(async move {
        let _ = echo(upgrading).await;
    });
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "127.0.0.1:9004".into());
    let listener = TcpListener::bind(&addr).await?;
    println!("fastwebsockets echo on ws://{addr}/");
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(tcp);
            let _ = http1::Builder::new()
                .serve_connection(io, service_fn(handle))
                .with_upgrades()
                .await;
        });
    }
}
