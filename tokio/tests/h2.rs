//! WebSockets over HTTP/2 (RFC 8441): a hyper HTTP/2 server with
//! `enable_connect_protocol` whose handler calls `upgrade()`, and `Http2Connection`
//! opening WebSockets on one connection. 100 concurrent WebSockets on one connection,
//! permessage-deflate, the refusals (a server without the setting, no `:protocol`,
//! a wrong or missing version), Autobahn-style frame cases driven as raw bytes over
//! an HTTP/2 stream, and one TLS server (ALPN `h2` and `http/1.1`) serving both.
#![cfg(all(feature = "http2", feature = "rustls"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Empty;
use hyper::client::conn::http2::SendRequest;
use hyper::ext::Protocol;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use socketwire_tokio::h2::Http2Connection;
use socketwire_tokio::{
    Config, Connector, Deflate, Error, Message, Upgrade, UpgradeResponse,
    connect_async_tls_with_config, is_upgrade_request,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every wait in these tests ends within this.
const BOUND: Duration = Duration::from_secs(20);

/// What the server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    extended_connects: AtomicUsize,
    upgrades: AtomicUsize,
}

/// The handler: `/echo` echoes text and binary on a WebSocket from either an
/// HTTP/1.1 upgrade or an HTTP/2 extended CONNECT; refusals as `upgrade` says.
async fn handle(
    mut request: http::Request<hyper::body::Incoming>,
    config: Config,
    seen: Arc<Seen>,
) -> Result<UpgradeResponse, Error> {
    // A CONNECT of any kind goes to `upgrade`, which knows the RFC's answers.
    let websocket = request.method() == http::Method::CONNECT
        || request.uri().path() == "/echo" && is_upgrade_request(&request);
    if !websocket {
        let mut response = UpgradeResponse::default();
        *response.status_mut() = http::StatusCode::NOT_FOUND;
        return Ok(response);
    }
    let version = request.version();
    let (response, websocket) = match Upgrade::new(config).upgrade(&mut request) {
        Ok(upgrade) => upgrade,
        Err(error) => return Ok(error.to_response_for(version)),
    };
    let counter = if version == http::Version::HTTP_2 {
        &seen.extended_connects
    } else {
        &seen.upgrades
    };
    counter.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(async move {
        let mut ws = websocket.await?;
        while let Some(message) = ws.next().await {
            if let m @ (Message::Text(_) | Message::Binary(_)) = message? {
                ws.send(m).await?;
            }
        }
        Ok::<_, Error>(())
    });
    Ok(response)
}

/// A cleartext HTTP/2 (prior knowledge) server on 127.0.0.1 for up to `accepts`
/// connections, with or without `SETTINGS_ENABLE_CONNECT_PROTOCOL`.
async fn h2c_server(connect_protocol: bool, config: Config, accepts: usize) -> (u16, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let server_seen = seen.clone();
    tokio::spawn(async move {
        for _ in 0..accepts {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            server_seen.connections.fetch_add(1, Ordering::SeqCst);
            let (config, seen) = (config.clone(), server_seen.clone());
            tokio::spawn(async move {
                let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                if connect_protocol {
                    builder.enable_connect_protocol();
                }
                let service = hyper::service::service_fn(move |request| {
                    handle(request, config.clone(), seen.clone())
                });
                let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    });
    (port, seen)
}

async fn h2_client(port: u16, config: Config) -> Http2Connection {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    Http2Connection::handshake(tcp, "http", &format!("127.0.0.1:{port}"), config)
        .await
        .unwrap()
}

async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, future)
        .await
        .expect("bounded wait")
}

#[tokio::test]
async fn a_hundred_websockets_on_one_http2_connection_all_echo() {
    let (port, seen) = h2c_server(true, Config::default(), 1).await;
    let h2 = h2_client(port, Config::default()).await;
    let sockets = within(futures_util::future::try_join_all(
        (0..100).map(|_| h2.open("/echo", &[])),
    ))
    .await
    .unwrap();
    assert!(h2.is_connect_protocol_enabled());
    let echoes = sockets
        .into_iter()
        .enumerate()
        .map(|(i, (mut ws, response))| async move {
            assert_eq!(response.status(), 200);
            let text = format!("socket {i}");
            ws.send(Message::text(text.clone())).await.unwrap();
            ws.send(Message::binary(vec![i as u8; i + 1]))
                .await
                .unwrap();
            assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(text));
            assert_eq!(
                ws.next().await.unwrap().unwrap(),
                Message::binary(vec![i as u8; i + 1])
            );
            ws.close().await.unwrap();
        });
    within(futures_util::future::join_all(echoes)).await;
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    assert_eq!(seen.extended_connects.load(Ordering::SeqCst), 100);
    assert_eq!(seen.upgrades.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn permessage_deflate_over_http2() {
    let deflate = Config {
        deflate: Deflate::Enabled(Default::default()),
        ..Config::default()
    };
    let (port, _) = h2c_server(true, deflate.clone(), 1).await;
    let h2 = h2_client(port, deflate).await;
    let (mut ws, response) = within(h2.open("/echo", &[])).await.unwrap();
    let extensions = response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap();
    assert!(extensions.starts_with("permessage-deflate"), "{extensions}");
    assert!(ws.connection().has_extension());
    let text = "compressible ".repeat(10_000);
    ws.send(Message::text(text.clone())).await.unwrap();
    assert_eq!(
        within(ws.next()).await.unwrap().unwrap(),
        Message::text(text)
    );
}

#[tokio::test]
async fn a_server_without_the_setting_is_not_sent_a_protocol() {
    let (port, seen) = h2c_server(false, Config::default(), 2).await;
    let short = Config {
        handshake_timeout: Some(Duration::from_millis(300)),
        ..Config::default()
    };
    let h2 = h2_client(port, short).await;
    let Err(Error::Io(error)) = within(h2.open("/echo", &[])).await else {
        panic!("opened without SETTINGS_ENABLE_CONNECT_PROTOCOL");
    };
    assert_eq!(error.kind(), std::io::ErrorKind::Unsupported);
    assert!(!h2.is_connect_protocol_enabled());

    // Sent anyway, the server's HTTP/2 layer resets the stream (RFC 8441 §3) and
    // the request never reaches the handler.
    let mut send = raw_client(port).await;
    let request = extended_connect(port, &[("sec-websocket-version", "13")], true);
    let result = within(async {
        send.ready().await?;
        send.send_request(request).await
    })
    .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(seen.extended_connects.load(Ordering::SeqCst), 0);
}

/// A bare hyper HTTP/2 client, for requests `Http2Connection` would never send.
async fn raw_client(port: u16) -> SendRequest<Empty<Bytes>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (send, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    send
}

fn extended_connect(
    port: u16,
    fields: &[(&str, &str)],
    protocol: bool,
) -> http::Request<Empty<Bytes>> {
    let mut request = http::Request::connect(format!("http://127.0.0.1:{port}/echo"))
        .version(http::Version::HTTP_2);
    for (name, value) in fields {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Empty::new()).unwrap();
    if protocol {
        request
            .extensions_mut()
            .insert(Protocol::from_static("websocket"));
    }
    request
}

/// A bad request and its answer: (fields, `:protocol` sent, status, the
/// `Sec-WebSocket-Version` of the answer).
type BadConnect<'a> = (&'a [(&'a str, &'a str)], bool, u16, Option<&'a str>);

#[tokio::test]
async fn bad_extended_connects_get_the_rfc_answer() {
    let (port, seen) = h2c_server(true, Config::default(), 1).await;
    // The server checks `:protocol` against its own setting, so a raw client need
    // not wait for the server's SETTINGS.
    let raw = raw_client(port).await;
    let cases: [BadConnect<'_>; 4] = [
        // No `:protocol`: a plain CONNECT (authority only), which is not ours.
        (&[("sec-websocket-version", "13")], false, 501, None),
        // A version this server does not speak: 400 naming 13 (no 426 in HTTP/2).
        (&[("sec-websocket-version", "8")], true, 400, Some("13")),
        (&[], true, 400, Some("13")),
        (
            &[
                ("sec-websocket-version", "13"),
                ("sec-websocket-protocol", "a b"),
            ],
            true,
            400,
            None,
        ),
    ];
    for (fields, protocol, status, version) in cases {
        let mut send = raw.clone();
        let response = within(async {
            send.ready().await?;
            send.send_request(extended_connect(port, fields, protocol))
                .await
        })
        .await
        .unwrap();
        assert_eq!(response.status(), status, "{fields:?} {protocol}");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-version")
                .map(|v| v.to_str().unwrap()),
            version
        );
        assert!(response.headers().get("connection").is_none());
    }
    assert_eq!(seen.extended_connects.load(Ordering::SeqCst), 0);
}

/// A raw HTTP/2 stream after a `200`, for frames a well-behaved client never sends.
async fn raw_websocket(port: u16) -> TokioIo<hyper::upgrade::Upgraded> {
    let mut send = raw_client(port).await;
    let request = extended_connect(port, &[("sec-websocket-version", "13")], true);
    let mut response = within(async {
        send.ready().await?;
        send.send_request(request).await
    })
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    TokioIo::new(within(hyper::upgrade::on(&mut response)).await.unwrap())
}

/// A masked client frame.
fn frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![first_byte];
    match payload.len() {
        len @ 0..=125 => out.push(0x80 | len as u8),
        len @ 126..=65535 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// Reads one server frame: (first byte, payload); asserts the server did not mask.
async fn read_frame<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> (u8, Vec<u8>) {
    within(async {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await.unwrap();
        assert_eq!(head[1] & 0x80, 0, "a server frame is never masked");
        let len = match head[1] & 0x7f {
            126 => u64::from(stream.read_u16().await.unwrap()),
            127 => stream.read_u64().await.unwrap(),
            len => u64::from(len),
        };
        assert!(len <= 1 << 20);
        let mut payload = vec![0; len as usize];
        stream.read_exact(&mut payload).await.unwrap();
        (head[0], payload)
    })
    .await
}

/// Reads until the server's close frame, and returns its code.
async fn close_code<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> u16 {
    for _ in 0..8 {
        let (first, payload) = read_frame(stream).await;
        if first & 0x0f == 0x8 {
            return payload
                .get(..2)
                .map_or(1005, |code| u16::from_be_bytes([code[0], code[1]]));
        }
    }
    panic!("no close frame");
}

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const FIN: u8 = 0x80;

#[tokio::test]
async fn autobahn_style_frame_cases_over_an_http2_stream() {
    let (port, _) = h2c_server(true, Config::default(), 64).await;

    // 1.1.x / 1.2.x: text and binary of the length boundaries echo whole.
    let mut stream = raw_websocket(port).await;
    for len in [0usize, 125, 126, 127, 65535, 65536] {
        let text = "*".repeat(len);
        stream
            .write_all(&frame(FIN | TEXT, text.as_bytes()))
            .await
            .unwrap();
        assert_eq!(
            read_frame(&mut stream).await,
            (FIN | TEXT, text.into_bytes())
        );
        let binary = vec![0xfe; len];
        stream
            .write_all(&frame(FIN | BINARY, &binary))
            .await
            .unwrap();
        assert_eq!(read_frame(&mut stream).await, (FIN | BINARY, binary));
    }

    // 2.x: a ping is answered with a pong carrying its payload.
    stream
        .write_all(&frame(FIN | PING, b"hello"))
        .await
        .unwrap();
    assert_eq!(
        read_frame(&mut stream).await,
        (FIN | 0xa, b"hello".to_vec())
    );

    // 5.x: a fragmented text with a ping between the fragments.
    stream.write_all(&frame(TEXT, b"frag")).await.unwrap();
    stream.write_all(&frame(FIN | PING, b"mid")).await.unwrap();
    stream
        .write_all(&frame(CONTINUATION, b"men"))
        .await
        .unwrap();
    stream
        .write_all(&frame(FIN | CONTINUATION, b"ted"))
        .await
        .unwrap();
    assert_eq!(read_frame(&mut stream).await, (FIN | 0xa, b"mid".to_vec()));
    assert_eq!(
        read_frame(&mut stream).await,
        (FIN | TEXT, b"fragmented".to_vec())
    );

    // 7.1.x: a normal close is answered with the same code.
    stream
        .write_all(&frame(FIN | CLOSE, &1000u16.to_be_bytes()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut stream).await, 1000);

    // The failures: each on a stream of its own, answered by a close with the code.
    let failures: [(&str, Vec<Vec<u8>>, u16); 8] = [
        // 3.x: a reserved bit with no extension.
        ("3.1 RSV1", vec![frame(FIN | 0x40 | TEXT, b"x")], 1002),
        // 4.x: reserved opcodes.
        ("4.1.1 opcode 3", vec![frame(FIN | 0x3, b"")], 1002),
        ("4.2.1 opcode 11", vec![frame(FIN | 0xb, b"")], 1002),
        // 5.x: a continuation with nothing to continue; a fragmented ping.
        (
            "5.9 lone continuation",
            vec![frame(FIN | CONTINUATION, b"x")],
            1002,
        ),
        ("5.2 fragmented ping", vec![frame(PING, b"x")], 1002),
        // 6.x: invalid UTF-8, whole and across fragments.
        (
            "6.3.1 bad UTF-8",
            vec![frame(
                FIN | TEXT,
                b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80",
            )],
            1007,
        ),
        (
            "6.4.x bad UTF-8 fragment",
            vec![frame(TEXT, b"ok"), frame(FIN | CONTINUATION, b"\xff")],
            1007,
        ),
        // 7.x: a close code that may not be sent.
        (
            "7.9.1 close code 999",
            vec![frame(FIN | CLOSE, &999u16.to_be_bytes())],
            1002,
        ),
    ];
    for (case, frames, code) in failures {
        let mut stream = raw_websocket(port).await;
        for frame in frames {
            stream.write_all(&frame).await.unwrap();
        }
        assert_eq!(close_code(&mut stream).await, code, "{case}");
    }
}

/// A certificate for `localhost` and 127.0.0.1, and the client roots that trust it.
fn certificate() -> (
    CertificateDer<'static>,
    PrivateKeyDer<'static>,
    rustls::RootCertStore,
) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = CertificateDer::from(made.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    (cert, key, roots)
}

fn client_tls(roots: rustls::RootCertStore, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(client)
}

#[tokio::test]
async fn one_tls_server_serves_http2_and_http1_1_websockets() {
    let (cert, key, roots) = certificate();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let server_seen = seen.clone();
    tokio::spawn(async move {
        for _ in 0..2 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, seen) = (acceptor.clone(), server_seen.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut builder =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder.http2().enable_connect_protocol();
                let service = hyper::service::service_fn(move |request| {
                    handle(request, Config::default(), seen.clone())
                });
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tls), service)
                    .await;
            });
        }
    });

    // HTTP/2, chosen by ALPN.
    let connector = tokio_rustls::TlsConnector::from(client_tls(roots.clone(), &[b"h2"]));
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let h2 = Http2Connection::handshake(
        tls,
        "https",
        &format!("localhost:{port}"),
        Config::default(),
    )
    .await
    .unwrap();
    let (mut ws, _) = within(h2.open("/echo", &[])).await.unwrap();
    ws.send(Message::text("over h2")).await.unwrap();
    assert_eq!(
        within(ws.next()).await.unwrap().unwrap(),
        Message::text("over h2")
    );

    // HTTP/1.1 upgrade to the same server.
    let tls = Connector::Rustls(client_tls(roots, &[b"http/1.1"]));
    let url = format!("wss://localhost:{port}/echo");
    let (mut ws, response) = within(connect_async_tls_with_config(
        url,
        Config::default(),
        Some(tls),
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 101);
    ws.send(Message::text("over http/1.1")).await.unwrap();
    assert_eq!(
        within(ws.next()).await.unwrap().unwrap(),
        Message::text("over http/1.1")
    );

    assert_eq!(seen.extended_connects.load(Ordering::SeqCst), 1);
    assert_eq!(seen.upgrades.load(Ordering::SeqCst), 1);
}
