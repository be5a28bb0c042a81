//! A `wss://` echo server on HTTP/2 and HTTP/1.1 at once: TLS through rustls with a
//! self-signed certificate made at start (rcgen), ALPN `h2` and `http/1.1`, and
//! `/echo` answering both an HTTP/2 extended CONNECT (RFC 8441) and an HTTP/1.1
//! upgrade through the same `upgrade()` call, with permessage-deflate.
//!
//! Each WebSocket prints one line saying how it came (`h2 extended CONNECT` or
//! `http/1.1 upgrade`), and `GET /stats` answers the counts as JSON
//! (`{"h2_extended_connect":1,"http1_upgrade":0}`), so a test can prove which way a
//! browser came.
//!
//! ```text
//! cargo run -p socketwire-tokio --features http2,rustls --example h2_server -- --addr 127.0.0.1:8443
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use socketwire_tokio::{Config, Deflate, Error, Message, Upgrade, is_upgrade_request};
use tokio::net::TcpListener;

/// How many WebSockets came each way.
#[derive(Default)]
struct Counts {
    h2_extended_connect: AtomicUsize,
    http1_upgrade: AtomicUsize,
}

type Body = Full<Bytes>;

async fn serve(
    mut request: http::Request<hyper::body::Incoming>,
    upgrade: Arc<Upgrade>,
    counts: Arc<Counts>,
) -> Result<http::Response<Body>, Error> {
    let path = request.uri().path().to_owned();
    if path == "/stats" {
        let json = format!(
            "{{\"h2_extended_connect\":{},\"http1_upgrade\":{}}}",
            counts.h2_extended_connect.load(Ordering::SeqCst),
            counts.http1_upgrade.load(Ordering::SeqCst)
        );
        return Ok(http::Response::builder()
            .header("content-type", "application/json")
            .header("access-control-allow-origin", "*")
            .body(Full::new(Bytes::from(json)))
            .unwrap_or_default());
    }
    let version = request.version();
    let is_connect = request.method() == http::Method::CONNECT;
    let echo = path == "/echo" && (is_connect || is_upgrade_request(&request));
    // A plain CONNECT (no `:path`) goes to `upgrade` too, which refuses it with 501.
    let plain_connect = is_connect && path.is_empty();
    if !(echo || plain_connect) {
        let mut response = http::Response::new(Full::new(Bytes::from_static(b"not found\n")));
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        return Ok(response);
    }
    let (response, websocket) = match upgrade.upgrade(&mut request) {
        Ok(upgrade) => upgrade,
        Err(error) => return Ok(error.to_response_for(version).map(|_| Full::default())),
    };
    let how = if version >= http::Version::HTTP_2 {
        counts.h2_extended_connect.fetch_add(1, Ordering::SeqCst);
        "h2 extended CONNECT"
    } else {
        counts.http1_upgrade.fetch_add(1, Ordering::SeqCst);
        "http/1.1 upgrade"
    };
    println!("websocket {path} over {how}");
    tokio::spawn(async move {
        let mut ws = websocket.await?;
        while let Some(message) = ws.next().await {
            if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
                ws.send(m).await?;
            }
        }
        Ok::<_, Error>(())
    });
    Ok(response.map(|_| Full::default()))
}

/// A TLS configuration with a fresh self-signed certificate for `localhost` and
/// 127.0.0.1, offering `h2` then `http/1.1`.
fn tls_config() -> Result<rustls::ServerConfig, Box<dyn std::error::Error>> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])?;
    let cert = CertificateDer::from(made.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut addr: SocketAddr = "127.0.0.1:8443".parse()?;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().ok_or("--addr needs a value")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls_config()?));
    let listener = TcpListener::bind(addr).await?;
    println!("listening on wss://{}", listener.local_addr()?);
    let config = Config {
        deflate: Deflate::Enabled(Default::default()),
        ..Config::default()
    };
    let upgrade = Arc::new(Upgrade::new(config));
    let counts = Arc::new(Counts::default());
    loop {
        let (tcp, _) = listener.accept().await?;
        let (acceptor, upgrade, counts) = (acceptor.clone(), upgrade.clone(), counts.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            // RFC 8441 §3: SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
            builder.http2().enable_connect_protocol();
            let service = hyper::service::service_fn(move |request| {
                serve(request, upgrade.clone(), counts.clone())
            });
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), service)
                .await;
        });
    }
}
