//! Connection state recovery in `socketio::server`, driven by a client that
//! writes the Engine.IO / Socket.IO packets itself over a WebSocket (so the
//! test sees the wire: `pid` in the CONNECT reply, offsets as the last
//! argument, the replay right after the recovered CONNECT).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketwire_tokio::socketio::Value;
use socketwire_tokio::socketio::server::{
    AckSender, ConnectError, SocketIo, SocketIoConfig, SocketRef, serve,
};
use socketwire_tokio::socketio::{DisconnectReason, server::SocketIoBuilder};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(5);

/// Messages looked at, at most, while waiting for one.
const MAX_MESSAGES: usize = 200;

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

/// What the server's handlers report to the test.
#[derive(Debug, PartialEq)]
enum Seen {
    Connected { id: String, recovered: bool },
    Disconnected(DisconnectReason),
}

struct Server {
    addr: String,
    seen: mpsc::UnboundedReceiver<Seen>,
}

async fn server(builder: SocketIoBuilder) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (service, io) = builder.build();
    let (tx, seen) = mpsc::unbounded_channel();
    io.ns("/", move |socket: SocketRef, _auth: Value| {
        let tx = tx.clone();
        async move { on_connect(socket, tx) }
    });
    tokio::spawn(serve(listener, service));
    Server { addr, seen }
}

fn on_connect(socket: SocketRef, seen: mpsc::UnboundedSender<Seen>) -> Result<(), ConnectError> {
    socket.on(
        "join",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            s.join(args[0].as_str().unwrap()).unwrap();
        },
    );
    socket.on(
        "to-room",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            s.to(args[0].as_str().unwrap())
                .emit("new messages", args[1..].to_vec());
        },
    );
    socket.on(
        "message",
        |s: SocketRef, args: Vec<Value>, _: AckSender| async move {
            s.emit("message-back", args).unwrap();
        },
    );
    socket.on(
        "sync",
        |_: SocketRef, _: Vec<Value>, ack: AckSender| async move {
            ack.send(vec![]).unwrap();
        },
    );
    let on_gone = seen.clone();
    socket.on_disconnect(move |_: SocketRef, reason: DisconnectReason| {
        let on_gone = on_gone.clone();
        async move {
            let _ = on_gone.send(Seen::Disconnected(reason));
        }
    });
    let _ = seen.send(Seen::Connected {
        id: socket.id().to_string(),
        recovered: socket.recovered(),
    });
    socket
        .emit("hello", vec![socket.recovered().into()])
        .map_err(|e| ConnectError::new(e.to_string()))
}

async fn seen(server: &mut Server) -> Seen {
    tokio::time::timeout(WAIT, server.seen.recv())
        .await
        .expect("the server reports")
        .expect("the server runs")
}

/// Opens an Engine.IO v4 WebSocket session (the open packet is read).
async fn open(addr: &str) -> Ws {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    assert!(recv(&mut ws).await.starts_with("0{"));
    ws
}

/// The next Engine.IO text message that is not a ping (pings are answered).
async fn recv(ws: &mut Ws) -> String {
    for _ in 0..MAX_MESSAGES {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            if text.as_str() == "2" {
                ws.send(Message::text("3")).await.unwrap();
                continue;
            }
            return text.as_str().to_string();
        }
    }
    panic!("no message in {MAX_MESSAGES}");
}

/// Sends one Socket.IO packet (an Engine.IO message `4…`).
async fn send(ws: &mut Ws, packet: &str) {
    ws.send(Message::text(format!("4{packet}"))).await.unwrap();
}

/// A Socket.IO EVENT as the server sent it: its data array.
fn event(message: &str) -> Vec<Value> {
    let data = message.strip_prefix("42").expect("an EVENT");
    Value::from_json_str(data)
        .unwrap()
        .as_array()
        .unwrap()
        .to_vec()
}

/// The CONNECT reply's `sid` and `pid`.
fn connect_reply(message: &str) -> (String, Option<String>) {
    let data = Value::from_json_str(message.strip_prefix("40").expect("a CONNECT")).unwrap();
    (
        data.get("sid").and_then(Value::as_str).unwrap().to_string(),
        data.get("pid").and_then(Value::as_str).map(String::from),
    )
}

/// The offset a packet carries: its last argument.
fn offset(data: &[Value]) -> String {
    data.last().unwrap().as_str().unwrap().to_string()
}

fn v(text: &str) -> Value {
    Value::from(text)
}

/// Connects, reads the CONNECT reply and the `hello`: (sid, pid, last offset).
async fn connect(ws: &mut Ws, auth: &str) -> (String, Option<String>, String) {
    send(ws, &format!("0{auth}")).await;
    let (sid, pid) = connect_reply(&recv(ws).await);
    let hello = event(&recv(ws).await);
    assert_eq!(hello[0], v("hello"));
    (sid, pid, offset(&hello))
}

async fn sync(ws: &mut Ws) {
    send(ws, r#"21["sync"]"#).await;
    assert_eq!(recv(ws).await, "431[]");
}

fn recovering() -> SocketIoBuilder {
    SocketIo::builder().connection_state_recovery(Duration::from_secs(60))
}

#[tokio::test]
async fn a_dropped_client_recovers_its_id_rooms_and_missed_events_in_order() {
    let mut server = server(recovering()).await;
    let mut a = open(&server.addr).await;
    let (sid, pid, _) = connect(&mut a, "").await;
    let pid = pid.expect("a pid with recovery on");
    assert_ne!(sid, pid);
    assert_eq!(
        seen(&mut server).await,
        Seen::Connected {
            id: sid.clone(),
            recovered: false
        }
    );
    send(&mut a, r#"2["join","r"]"#).await;
    send(&mut a, r#"2["message","live"]"#).await;
    let live = event(&recv(&mut a).await);
    assert_eq!(live[..2], [v("message-back"), v("live")]);
    let last = offset(&live);
    sync(&mut a).await;

    // The transport drops without a DISCONNECT.
    drop(a);
    assert_eq!(
        seen(&mut server).await,
        Seen::Disconnected(DisconnectReason::TransportClose)
    );

    // Meanwhile another client makes the server emit to the room and to the socket.
    let mut b = open(&server.addr).await;
    let (b_sid, _, _) = connect(&mut b, "").await;
    assert!(matches!(seen(&mut server).await, Seen::Connected { id, .. } if id == b_sid));
    const N: u64 = 20;
    for i in 0..N {
        send(&mut b, &format!(r#"2["to-room","r",{i}]"#)).await;
        send(&mut b, &format!(r#"2["to-room","{sid}",{}]"#, 100 + i)).await;
    }
    sync(&mut b).await;

    // A comes back with its pid and the offset of the last packet it handled.
    let mut a = open(&server.addr).await;
    send(&mut a, &format!(r#"0{{"pid":"{pid}","offset":"{last}"}}"#)).await;
    assert_eq!(connect_reply(&recv(&mut a).await), (sid.clone(), Some(pid)));
    let mut offsets = Vec::new();
    for i in 0..N {
        for expected in [i, 100 + i] {
            let missed = event(&recv(&mut a).await);
            assert_eq!(missed[..2], [v("new messages"), expected.into()]);
            offsets.push(offset(&missed).parse::<u64>().unwrap());
        }
    }
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "in offset order");
    // Then what the connect handler emitted, after the replay.
    let hello = event(&recv(&mut a).await);
    assert_eq!(hello[..2], [v("hello"), true.into()]);
    assert_eq!(
        seen(&mut server).await,
        Seen::Connected {
            id: sid.clone(),
            recovered: true
        }
    );
    // Still in its room.
    send(&mut b, r#"2["to-room","r","after"]"#).await;
    assert_eq!(
        event(&recv(&mut a).await)[..2],
        [v("new messages"), v("after")]
    );
}

#[tokio::test]
async fn unknown_stale_or_hostile_resumes_are_new_sockets() {
    let mut server = server(recovering()).await;
    let long = "p".repeat(10_000);
    // Kept open, so no disconnect is reported in between.
    let mut open_sockets = Vec::new();
    for auth in [
        r#"{"pid":"nobody","offset":"0"}"#.to_string(),
        format!(r#"{{"pid":"{long}","offset":"0"}}"#),
        r#"{"pid":"x","offset":"99999999999999999999999"}"#.to_string(),
        r#"{"pid":"x","offset":1}"#.to_string(),
        r#"{"pid":"x"}"#.to_string(),
    ] {
        let mut ws = open(&server.addr).await;
        let (sid, pid, _) = connect(&mut ws, &auth).await;
        assert!(pid.is_some_and(|pid| pid != "x" && pid != "nobody"));
        assert_eq!(
            seen(&mut server).await,
            Seen::Connected {
                id: sid,
                recovered: false
            }
        );
        open_sockets.push(ws);
    }

    // A pid is good once: a second resume with it is a new socket.
    let mut a = open(&server.addr).await;
    let (sid, pid, last) = connect(&mut a, "").await;
    let pid = pid.unwrap();
    let _ = seen(&mut server).await;
    drop(a);
    let _ = seen(&mut server).await;
    let resume = format!(r#"{{"pid":"{pid}","offset":"{last}"}}"#);
    let mut again = open(&server.addr).await;
    send(&mut again, &format!("0{resume}")).await;
    assert_eq!(connect_reply(&recv(&mut again).await).0, sid);
    let _ = seen(&mut server).await;
    let mut third = open(&server.addr).await;
    let (other, _, _) = connect(&mut third, &resume).await;
    assert_ne!(other, sid, "restored once only");
}

#[tokio::test]
async fn past_max_disconnection_duration_the_client_is_a_new_socket() {
    let builder = SocketIo::builder().connection_state_recovery(Duration::from_millis(50));
    let mut server = server(builder).await;
    let mut a = open(&server.addr).await;
    let (sid, pid, last) = connect(&mut a, "").await;
    let _ = seen(&mut server).await;
    drop(a);
    let _ = seen(&mut server).await;
    // Well past the window (a wait, not a timed assertion).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut a = open(&server.addr).await;
    let resume = format!(r#"{{"pid":"{}","offset":"{last}"}}"#, pid.unwrap());
    let (new_sid, _, _) = connect(&mut a, &resume).await;
    assert_ne!(new_sid, sid);
    assert_eq!(
        seen(&mut server).await,
        Seen::Connected {
            id: new_sid,
            recovered: false
        }
    );
}

#[tokio::test]
async fn a_client_disconnect_is_not_kept_and_without_recovery_nothing_changes() {
    let mut server = server(recovering()).await;
    let mut a = open(&server.addr).await;
    let (sid, pid, last) = connect(&mut a, "").await;
    let _ = seen(&mut server).await;
    send(&mut a, "1").await;
    assert_eq!(
        seen(&mut server).await,
        Seen::Disconnected(DisconnectReason::ClientDisconnect)
    );
    let resume = format!(r#"{{"pid":"{}","offset":"{last}"}}"#, pid.unwrap());
    let (again, _, _) = connect(&mut a, &resume).await;
    assert_ne!(again, sid);

    let config = SocketIoConfig::default();
    assert!(config.recovery.is_none());
    let mut plain = server_plain().await;
    let mut ws = open(&plain.addr).await;
    send(&mut ws, "0").await;
    let (_, pid) = connect_reply(&recv(&mut ws).await);
    assert_eq!(pid, None);
    assert_eq!(recv(&mut ws).await, r#"42["hello",false]"#, "no offset");
    let _ = seen(&mut plain).await;
}

async fn server_plain() -> Server {
    server(SocketIo::builder()).await
}
