//! `socketio::Client` against a server written by hand in each test: the
//! Engine.IO open packet and the Socket.IO packets are spelled out on an
//! `accept_async` WebSocket, so each test states the exact wire traffic.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use socketwire_tokio::socketio::{
    AckError, ApiMisuse, Backoff, Client, ClientConfig, DisconnectReason, EmitError, Event, Value,
};
use socketwire_tokio::{
    ErrorResponse, Message, Request, Response, WebSocketStream, accept_async, accept_hdr_async,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(5);

const OPEN: &str =
    r#"0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// The client's next TCP connection.
async fn accept_tcp(listener: &TcpListener) -> TcpStream {
    let (tcp, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("a connection")
        .unwrap();
    tcp
}

/// Runs the server handshake on `stream` and sends the Engine.IO open packet.
async fn open<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> WebSocketStream<S> {
    let mut ws = tokio::time::timeout(WAIT, accept_async(stream))
        .await
        .expect("a handshake")
        .unwrap();
    ws.send(Message::text(OPEN)).await.unwrap();
    ws
}

/// Accepts one WebSocket and sends the Engine.IO open packet.
async fn accept(listener: &TcpListener) -> WebSocketStream<TcpStream> {
    open(accept_tcp(listener).await).await
}

/// The next data message the client sent.
async fn recv<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> Message {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message")
            .expect("the stream is open")
            .unwrap();
        if message.is_text() || message.is_binary() || message.is_close() {
            return message;
        }
    }
}

async fn recv_text<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> String {
    let message = recv(ws).await;
    message.to_text().expect("a text message").to_string()
}

async fn send_text<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, text: &str) {
    ws.send(Message::text(text)).await.unwrap();
}

/// Accepts the client and connects its `/` namespace as `sid`.
async fn accept_connected(listener: &TcpListener, sid: &str) -> WebSocketStream<TcpStream> {
    let mut ws = accept(listener).await;
    assert_eq!(recv_text(&mut ws).await, "40");
    send_text(&mut ws, &format!(r#"40{{"sid":"{sid}"}}"#)).await;
    ws
}

/// The next event.
async fn next_event(client: &mut Client) -> Event {
    tokio::time::timeout(WAIT, client.next())
        .await
        .expect("an event")
        .expect("the stream is open")
}

/// A client whose `/` the hand-written server has connected (the event taken).
async fn connected(config: ClientConfig) -> (TcpListener, Client, WebSocketStream<TcpStream>) {
    let (listener, url) = listener().await;
    let mut client = Client::connect(&url, config).unwrap();
    let ws = accept_connected(&listener, "s1").await;
    match next_event(&mut client).await {
        Event::Connected { namespace, sid } => {
            assert_eq!((namespace.as_str(), sid.as_deref()), ("/", Some("s1")));
        }
        other => panic!("{other:?}"),
    }
    (listener, client, ws)
}

fn fast_reconnect() -> ClientConfig {
    ClientConfig {
        reconnection: Some(Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(50),
            0.0,
            None,
        )),
        ..ClientConfig::default()
    }
}

#[tokio::test]
async fn emits_before_the_connection_are_bounded_per_namespace() {
    // A listener that never answers the handshake: the client stays connecting.
    let (_listener, url) = listener().await;
    let config = ClientConfig {
        session: socketwire::socketio::ClientConfig {
            max_buffered_emits: 3,
            ..Default::default()
        },
        ..ClientConfig::default()
    };
    let client = Client::connect(&url, config).unwrap();
    let socket = client.socket();
    for i in 0..2u64 {
        socket.emit("e", vec![i.into()]).unwrap();
    }
    let _pending = socket
        .emit_with_ack("q", vec![], Duration::from_secs(30))
        .unwrap();
    assert_eq!(
        socket.emit("e", vec![]).unwrap_err(),
        EmitError::BufferFull { max: 3 }
    );
    assert!(matches!(
        socket.emit_with_ack("q", vec![], Duration::from_secs(30)),
        Err(EmitError::BufferFull { max: 3 })
    ));
    // The bound is per namespace.
    let other = client.of("/other", None).unwrap();
    for _ in 0..3 {
        other.emit("e", vec![]).unwrap();
    }
    assert_eq!(
        other.emit("e", vec![]).unwrap_err(),
        EmitError::BufferFull { max: 3 }
    );
    // Misuse is told apart from the bound.
    let third = client.of("/third", None).unwrap();
    assert_eq!(
        third.emit("connect", vec![]).unwrap_err(),
        EmitError::Misuse(ApiMisuse::ReservedEventName)
    );
}

#[tokio::test]
async fn buffered_emits_are_sent_in_order_once_connected() {
    let (listener, url) = listener().await;
    let config = ClientConfig {
        auth: Some(Value::from_json_str(r#"{"token":"t"}"#).unwrap()),
        session: socketwire::socketio::ClientConfig {
            max_buffered_emits: 3,
            ..Default::default()
        },
        ..ClientConfig::default()
    };
    let mut client = Client::connect(&url, config).unwrap();
    for i in 0..3u64 {
        client.socket().emit("e", vec![i.into()]).unwrap();
    }
    let mut ws = accept(&listener).await;
    assert_eq!(recv_text(&mut ws).await, r#"40{"token":"t"}"#);
    send_text(&mut ws, r#"40{"sid":"s1"}"#).await;
    match next_event(&mut client).await {
        Event::Connected { namespace, sid } => {
            assert_eq!(namespace, "/");
            assert_eq!(sid.as_deref(), Some("s1"));
        }
        other => panic!("{other:?}"),
    }
    for i in 0..3 {
        assert_eq!(recv_text(&mut ws).await, format!(r#"42["e",{i}]"#));
    }
    // Connected: emits go out at once and the bound no longer applies.
    for i in 3..10u64 {
        client.socket().emit("e", vec![i.into()]).unwrap();
    }
    for i in 3..10 {
        assert_eq!(recv_text(&mut ws).await, format!(r#"42["e",{i}]"#));
    }
}

#[tokio::test]
async fn acks_both_ways() {
    let (_listener, mut client, mut ws) = connected(ClientConfig::default()).await;

    // The server asks; the client answers.
    send_text(&mut ws, r#"427["question",1]"#).await;
    match next_event(&mut client).await {
        Event::Message {
            name, args, ack, ..
        } => {
            assert_eq!(name, "question");
            assert_eq!(args, vec![Value::from(1u64)]);
            let ack = ack.expect("an ack is awaited");
            assert_eq!(ack.id(), 7);
            ack.send(vec!["yes".into()]).unwrap();
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(recv_text(&mut ws).await, r#"437["yes"]"#);

    // The client asks; the server answers.
    let pending = client
        .socket()
        .emit_with_ack("sum", vec![1u64.into(), 2u64.into()], WAIT)
        .unwrap();
    assert_eq!(recv_text(&mut ws).await, r#"420["sum",1,2]"#);
    send_text(&mut ws, "430[3]").await;
    assert_eq!(pending.await.unwrap(), vec![Value::from(3u64)]);

    // No answer: the timeout given to the call.
    let unanswered = client
        .socket()
        .emit_with_ack("sum", vec![], Duration::from_millis(20))
        .unwrap();
    assert_eq!(recv_text(&mut ws).await, r#"421["sum"]"#);
    assert_eq!(unanswered.await, Err(AckError::Timeout));
}

#[tokio::test]
async fn binary_both_ways() {
    let (_listener, mut client, mut ws) = connected(ClientConfig::default()).await;

    send_text(&mut ws, r#"451-["file",{"_placeholder":true,"num":0}]"#).await;
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    match next_event(&mut client).await {
        Event::Message { name, args, .. } => {
            assert_eq!(name, "file");
            assert_eq!(args, vec![Value::Bytes(Bytes::from_static(&[1, 2, 3]))]);
        }
        other => panic!("{other:?}"),
    }

    client
        .socket()
        .emit("up", vec![Value::Bytes(Bytes::from_static(&[9, 8]))])
        .unwrap();
    assert_eq!(
        recv_text(&mut ws).await,
        r#"451-["up",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(&recv(&mut ws).await.into_data()[..], &[9, 8]);
}

#[tokio::test]
async fn a_refused_namespace_is_dropped() {
    let (_listener, mut client, mut ws) = connected(ClientConfig::default()).await;
    let admin = client
        .of("/admin", Some(Value::from_json_str(r#"{"k":1}"#).unwrap()))
        .unwrap();
    admin.emit("early", vec![]).unwrap();
    assert_eq!(recv_text(&mut ws).await, r#"40/admin,{"k":1}"#);
    send_text(&mut ws, r#"44/admin,{"message":"nope"}"#).await;
    match next_event(&mut client).await {
        Event::ConnectError { namespace, data } => {
            assert_eq!(namespace, "/admin");
            assert_eq!(data.get("message").and_then(Value::as_str), Some("nope"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        admin.emit("late", vec![]).unwrap_err(),
        EmitError::Misuse(ApiMisuse::NotConnected)
    );
    // The buffered `early` was dropped with the namespace: the next message is this one.
    client.socket().emit("main", vec![]).unwrap();
    assert_eq!(recv_text(&mut ws).await, r#"42["main"]"#);
}

#[tokio::test]
async fn reconnects_every_namespace_and_flushes_what_was_emitted_while_away() {
    let (listener, mut client, mut ws) = connected(fast_reconnect()).await;
    let admin = client.of("/admin", None).unwrap();
    assert_eq!(recv_text(&mut ws).await, "40/admin,");
    send_text(&mut ws, r#"40/admin,{"sid":"a1"}"#).await;
    assert!(
        matches!(next_event(&mut client).await, Event::Connected { namespace, .. } if namespace == "/admin")
    );

    drop(ws);
    let mut lost = Vec::new();
    for _ in 0..2 {
        match next_event(&mut client).await {
            Event::Disconnected { namespace, reason } => {
                assert_eq!(reason, DisconnectReason::TransportClose);
                lost.push(namespace);
            }
            other => panic!("{other:?}"),
        }
    }
    lost.sort();
    assert_eq!(lost, ["/", "/admin"]);
    assert!(matches!(
        next_event(&mut client).await,
        Event::Reconnecting { attempt: 1, .. }
    ));
    admin.emit("while-away", vec![]).unwrap();

    let mut ws = accept(&listener).await;
    let mut connects = vec![recv_text(&mut ws).await, recv_text(&mut ws).await];
    connects.sort();
    assert_eq!(connects, ["40", "40/admin,"]);
    send_text(&mut ws, r#"40/admin,{"sid":"a2"}"#).await;
    assert_eq!(recv_text(&mut ws).await, r#"42/admin,["while-away"]"#);
    assert!(
        matches!(next_event(&mut client).await, Event::Connected { sid, .. } if sid.as_deref() == Some("a2"))
    );
}

#[tokio::test]
async fn without_reconnection_a_lost_transport_ends_the_client() {
    let (_listener, mut client, ws) = connected(ClientConfig {
        reconnection: None,
        ..ClientConfig::default()
    })
    .await;
    drop(ws);
    assert!(matches!(
        next_event(&mut client).await,
        Event::Disconnected { .. }
    ));
    assert!(matches!(
        next_event(&mut client).await,
        Event::Closed { gave_up: true }
    ));
    assert!(client.next().await.is_none());
    assert_eq!(
        client.socket().emit("x", vec![]).unwrap_err(),
        EmitError::Closed
    );
}

#[tokio::test]
async fn a_server_disconnect_is_final_for_the_namespace() {
    let (_listener, mut client, mut ws) = connected(fast_reconnect()).await;
    send_text(&mut ws, "41").await;
    match next_event(&mut client).await {
        Event::Disconnected { namespace, reason } => {
            assert_eq!(namespace, "/");
            assert_eq!(reason, DisconnectReason::ServerDisconnect);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        client.socket().emit("x", vec![]).unwrap_err(),
        EmitError::Misuse(ApiMisuse::NotConnected)
    );
}

#[tokio::test]
async fn close_leaves_the_namespaces_then_closes() {
    let (_listener, mut client, mut ws) = connected(ClientConfig::default()).await;
    let pending = client
        .socket()
        .emit_with_ack("q", vec![], Duration::from_secs(30))
        .unwrap();
    assert_eq!(recv_text(&mut ws).await, r#"420["q"]"#);
    client.close();
    assert_eq!(recv_text(&mut ws).await, "41");
    assert!(recv(&mut ws).await.is_close());
    assert!(matches!(
        next_event(&mut client).await,
        Event::Disconnected {
            reason: DisconnectReason::ClientDisconnect,
            ..
        }
    ));
    assert!(matches!(
        next_event(&mut client).await,
        Event::Closed { gave_up: false }
    ));
    assert_eq!(pending.await, Err(AckError::Closed));
    assert_eq!(
        client.socket().emit("x", vec![]).unwrap_err(),
        EmitError::Closed
    );
}

#[tokio::test]
async fn the_handshake_asks_for_the_websocket_transport_on_the_path() {
    let (listener, url) = listener().await;
    let config = ClientConfig {
        path: "/realtime".into(),
        ..ClientConfig::default()
    };
    let client = Client::connect(&format!("{url}/admin?room=1"), config).unwrap();
    assert_eq!(client.socket().namespace(), "/admin");
    let (tcp, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("a connection")
        .unwrap();
    let (seen_tx, seen_rx) = std::sync::mpsc::channel();
    // The refusal type is the crate's (a whole response, as tokio-tungstenite's).
    #[allow(clippy::result_large_err)]
    let callback =
        move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
            let offer = request
                .headers()
                .get("sec-websocket-extensions")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            seen_tx.send((request.uri().to_string(), offer)).unwrap();
            Ok(response)
        };
    let mut ws = tokio::time::timeout(WAIT, accept_hdr_async(tcp, callback))
        .await
        .expect("a handshake")
        .unwrap();
    let (uri, offer) = seen_rx.recv().unwrap();
    assert_eq!(uri, "/realtime/?room=1&EIO=4&transport=websocket");
    assert!(offer.starts_with("permessage-deflate"), "{offer}");
    send_text(&mut ws, OPEN).await;
    // The URL's path is the main namespace.
    assert_eq!(recv_text(&mut ws).await, "40/admin,");
}

/// `https://` URLs over rustls, with a connector that trusts a certificate made
/// for the test.
#[cfg(feature = "rustls")]
mod tls {
    use std::sync::Arc;

    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use socketwire_tokio::Connector;

    use super::*;

    #[tokio::test]
    async fn https_url_runs_the_websocket_over_tls() {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = CertificateDer::from(made.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        let mut trusted = rustls::RootCertStore::empty();
        trusted.add(cert.clone()).unwrap();
        // The process-wide default provider: the one crypto feature enabled (ring).
        let client_tls = rustls::ClientConfig::builder()
            .with_root_certificates(trusted)
            .with_no_client_auth();
        let server_tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = ClientConfig {
            tls: Some(Connector::Rustls(Arc::new(client_tls))),
            ..ClientConfig::default()
        };
        let mut client = Client::connect(&format!("https://localhost:{port}"), config).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_tls));
        let tls = tokio::time::timeout(WAIT, acceptor.accept(accept_tcp(&listener).await))
            .await
            .expect("a TLS handshake")
            .unwrap();
        let mut ws = open(tls).await;
        assert_eq!(recv_text(&mut ws).await, "40");
        send_text(&mut ws, r#"40{"sid":"t1"}"#).await;
        assert!(matches!(
            next_event(&mut client).await,
            Event::Connected { sid: Some(sid), .. } if sid == "t1"
        ));
        client.socket().emit("secure", vec![]).unwrap();
        assert_eq!(recv_text(&mut ws).await, r#"42["secure"]"#);
    }
}

#[cfg(not(feature = "rustls"))]
#[test]
fn an_https_url_is_refused_up_front_without_tls() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    assert!(matches!(
        Client::connect("https://localhost:1", ClientConfig::default()),
        Err(socketwire_tokio::Error::TlsNotSupported)
    ));
}
