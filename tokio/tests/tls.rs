//! `wss://` through rustls (feature `rustls`): a TLS echo server on loopback with a
//! self-signed certificate made for the test, `connect_async_tls_with_config` trusting it,
//! the default roots refusing it, and the reconnecting client over TLS.
#![cfg(feature = "rustls")]

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use socketwire_tokio::{
    Config, Connector, Event, MaybeTlsStream, Message, ReconnectConfig, ReconnectingWebSocket,
    accept_async, connect_async, connect_async_tls_with_config,
};
use tokio::net::TcpListener;

const BOUND: Duration = Duration::from_secs(10);

/// A certificate for `localhost`, and a client configuration that trusts only it.
fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>, Connector) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = CertificateDer::from(made.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (cert, key, Connector::Rustls(Arc::new(client)))
}

/// A TLS echo server on 127.0.0.1; returns its port.
async fn tls_echo_server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> u16 {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        for _ in 0..8 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) = accept_async(tls).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if m.is_text() || m.is_binary() {
                        let _ = ws.send(m).await;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn wss_echoes_text_binary_and_a_mebibyte_through_rustls() {
    let (cert, key, connector) = certificate();
    let port = tls_echo_server(cert, key).await;
    let url = format!("wss://localhost:{port}/echo");
    let (mut ws, response) = tokio::time::timeout(
        BOUND,
        connect_async_tls_with_config(url, Config::default(), Some(connector)),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(response.status(), 101);
    assert!(matches!(ws.get_ref(), MaybeTlsStream::Rustls(_)));
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    for message in [
        Message::text("κόσμε"),
        Message::binary(vec![0, 1, 2]),
        Message::binary(big),
    ] {
        ws.send(message.clone()).await.unwrap();
        let echo = tokio::time::timeout(BOUND, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(echo, message);
    }
    ws.close().await.unwrap();
}

#[tokio::test]
async fn the_default_roots_refuse_a_self_signed_certificate() {
    let (cert, key, _) = certificate();
    let port = tls_echo_server(cert, key).await;
    let error = tokio::time::timeout(BOUND, connect_async(format!("wss://localhost:{port}/")))
        .await
        .unwrap()
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, socketwire_tokio::Error::Io(_)), "{error:?}");
    assert!(
        text.contains("certificate") || text.contains("Certificate"),
        "{text}"
    );
}

#[tokio::test]
async fn the_reconnecting_client_runs_over_tls() {
    let (cert, key, connector) = certificate();
    let port = tls_echo_server(cert, key).await;
    let config = ReconnectConfig {
        connector: Some(connector),
        ..ReconnectConfig::default()
    };
    let mut ws =
        ReconnectingWebSocket::connect(format!("wss://localhost:{port}/"), config).unwrap();
    ws.send(Message::text("over tls")).unwrap();
    let first = tokio::time::timeout(BOUND, ws.next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, Event::Connected(_)), "{first:?}");
    let echo = tokio::time::timeout(BOUND, ws.next())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(echo, Event::Message(Message::Text(ref t)) if t.as_str() == "over tls"),
        "{echo:?}"
    );
    ws.close(None);
    let closed = tokio::time::timeout(BOUND, ws.next())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(closed, Event::Closed { gave_up: false }),
        "{closed:?}"
    );
}
