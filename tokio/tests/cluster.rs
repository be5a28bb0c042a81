//! Two `SocketIo` servers in one cluster over a real Redis (feature `redis`),
//! in each adapter mode: a broadcast to a room on one node reaches the
//! other's client; fetchSockets, serverSideEmit with ack, a broadcast with
//! acks, socketsJoin and disconnectSockets act across nodes; after Redis
//! restarts, the nodes reconnect and broadcasts flow again. Each test starts
//! its own `redis-server` on a free loopback port, and is skipped (with the
//! reason printed) when `/usr/bin/redis-server` is missing.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt;
use socketwire_tokio::socketio::adapter::{AdapterMode, RedisAdapter};
use socketwire_tokio::socketio::server::{SocketIo, SocketRef, serve};
use socketwire_tokio::socketio::{Client, ClientConfig, DisconnectReason, Event, Transport, Value};

const REDIS: &str = "/usr/bin/redis-server";

/// Every single wait is bounded by this.
const WAIT: Duration = Duration::from_secs(5);

/// Tries of a check that waits for the cluster to settle (subscriptions,
/// heartbeats), each after a pause.
const TRIES: usize = 40;
const PAUSE: Duration = Duration::from_millis(250);

/// Events looked at, at most, while waiting for one.
const MAX_EVENTS: usize = 100;

/// A redis-server child, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(port: u16) -> Redis {
        let mut child = Command::new(REDIS)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        for _ in 0..200 {
            // Listening, and it is this child that listens: a redis-server
            // that could not bind the port has exited (another process took
            // it), and whatever answered there is not ours.
            if let Ok(Some(status)) = child.try_wait() {
                panic!("redis-server on {port} exited: {status}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(25));
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("redis-server on {port} exited: {status}");
                }
                return Redis { child, port };
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        panic!("redis-server does not listen on {port}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on, never handed out before in this process: the
/// tests run at once, and one restarts its Redis on its port, so a port
/// freed for a moment must not go to another test's Redis.
fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap();
    for _ in 0..100 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
    panic!("no fresh port in 100 tries");
}

fn redis_available() -> bool {
    let found = std::path::Path::new(REDIS).exists();
    if !found {
        eprintln!("skipped: {REDIS} is missing (Debian package redis-server)");
    }
    found
}

/// A node: sockets join the room `r` on connect, then get `ready`; `ping`
/// from other servers is answered with `pong`.
async fn node(redis: &str, mode: AdapterMode) -> (String, SocketIo) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (service, io) = SocketIo::builder()
        .adapter(RedisAdapter::new(redis, mode))
        .build();
    io.on_server_side_emit("ping", |_args: Vec<Value>| async { Value::from("pong") });
    io.ns("/", |socket: SocketRef, _auth: Value| async move {
        socket.join("r").unwrap();
        let _ = socket.emit("ready", vec![socket.id().into()]);
        Ok(())
    });
    tokio::spawn(serve(listener, service));
    (url, io)
}

async fn next(client: &mut Client) -> Event {
    tokio::time::timeout(WAIT, client.next())
        .await
        .expect("an event")
        .expect("the client is open")
}

/// Connects and returns the client with its socket id.
async fn connected(url: &str) -> (Client, String) {
    let config = ClientConfig {
        transport: Transport::WebSocket,
        reconnection: None,
        ..ClientConfig::default()
    };
    let mut client = Client::connect(url, config).unwrap();
    for _ in 0..MAX_EVENTS {
        if let Event::Message { name, args, .. } = next(&mut client).await {
            assert_eq!(name, "ready");
            return (client, args[0].as_str().unwrap().to_string());
        }
    }
    panic!("no ready event");
}

/// Runs `emit` until `client` gets `event` (at most TRIES times); its args.
async fn received_after(client: &mut Client, event: &str, emit: impl Fn()) -> Vec<Value> {
    for _ in 0..TRIES {
        emit();
        while let Ok(Some(e)) = tokio::time::timeout(PAUSE, client.next()).await {
            if let Event::Message { name, args, .. } = e
                && name == event
            {
                return args;
            }
        }
    }
    panic!("{event} never arrived");
}

fn ids(sockets: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = sockets
        .iter()
        .filter_map(|s| s.get("id").and_then(Value::as_str).map(String::from))
        .collect();
    ids.sort();
    ids
}

async fn cluster_in(mode: AdapterMode) {
    if !redis_available() {
        return;
    }
    let redis = Redis::start(free_port());
    let (url_a, io_a) = node(&redis.url(), mode).await;
    let (_url_b, io_b) = node(&redis.url(), mode).await;
    let (mut client, id) = connected(&url_a).await;

    // B's broadcast to `r` reaches A's member.
    let args = received_after(&mut client, "news", || {
        io_b.to("r").emit("news", vec![1u64.into()])
    })
    .await;
    assert_eq!(args, [Value::from(1u64)]);

    // B sees A's socket, with its rooms.
    let mut fetched = Vec::new();
    for _ in 0..TRIES {
        fetched = io_b.fetch_sockets().await;
        if ids(&fetched) == std::slice::from_ref(&id) {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    assert_eq!(ids(&fetched), std::slice::from_ref(&id));
    let rooms = fetched[0].get("rooms").unwrap();
    assert!(matches!(rooms, Value::Array(r) if r.contains(&Value::from("r"))));

    // serverSideEmit with ack: A answers.
    let mut answers = Vec::new();
    for _ in 0..TRIES {
        answers = io_b.server_side_emit_with_ack("ping", vec![]).await;
        if !answers.is_empty() {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    assert_eq!(answers, [Value::from("pong")]);
    // Nobody answers an event without a handler.
    assert!(
        io_a.server_side_emit_with_ack("nobody-listens", vec![])
            .await
            .is_empty()
    );

    // A broadcast with acks from B collects A's client's ack.
    let b = io_b.clone();
    let acks = tokio::spawn(async move {
        b.of("/")
            .emit_with_ack("question", vec![], Duration::from_secs(3))
            .await
    });
    for _ in 0..MAX_EVENTS {
        if let Event::Message {
            name,
            ack: Some(ack),
            ..
        } = next(&mut client).await
            && name == "question"
        {
            ack.send(vec!["yes".into()]).unwrap();
            break;
        }
    }
    assert_eq!(acks.await.unwrap(), [Value::from("yes")]);

    // socketsJoin from B puts A's socket in `s`.
    io_b.to("r").sockets_join("s");
    let mut in_s = Vec::new();
    for _ in 0..TRIES {
        in_s = io_b.to("s").fetch_sockets().await;
        if !in_s.is_empty() {
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    assert_eq!(ids(&in_s), std::slice::from_ref(&id));

    // disconnectSockets from B disconnects A's socket.
    io_b.to("s").disconnect_sockets(false);
    for _ in 0..MAX_EVENTS {
        if let Event::Disconnected { reason, .. } = next(&mut client).await {
            assert_eq!(reason, DisconnectReason::ServerDisconnect);
            return;
        }
    }
    panic!("not disconnected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_nodes_share_rooms_requests_and_acks() {
    cluster_in(AdapterMode::Classic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_nodes_share_rooms_requests_and_acks() {
    cluster_in(AdapterMode::Sharded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_nodes_share_rooms_requests_and_acks() {
    cluster_in(AdapterMode::Streams).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_reconnect_after_redis_restarts() {
    if !redis_available() {
        return;
    }
    let port = free_port();
    let redis = Redis::start(port);
    let url = redis.url();
    let (url_a, _io_a) = node(&url, AdapterMode::Classic).await;
    let (_url_b, io_b) = node(&url, AdapterMode::Classic).await;
    let (mut client, _) = connected(&url_a).await;
    received_after(&mut client, "news", || io_b.to("r").emit("news", vec![])).await;
    drop(redis);
    let _redis = Redis::start(port);
    // Both nodes reconnect (backoff) and subscribe again.
    let args = received_after(&mut client, "after", || {
        io_b.to("r").emit("after", vec![2u64.into()])
    })
    .await;
    assert_eq!(args, [Value::from(2u64)]);
}

// Connection state recovery across nodes (streams mode): a client drops from
// A and resumes on B, with every event emitted meanwhile, once and in order.

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A streams node with recovery on: `join` puts the socket in a room and
/// answers `joined` (through the stream, so with an offset).
async fn recovering_node(redis: &str) -> (String, SocketIo) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = listener.local_addr().unwrap().to_string();
    let (service, io) = SocketIo::builder()
        .connection_state_recovery(Duration::from_secs(60))
        .adapter(RedisAdapter::new(redis, AdapterMode::Streams).namespace("/other"))
        .build();
    io.ns("/", |socket: SocketRef, _auth: Value| async move {
        socket.on(
            "join",
            |socket: SocketRef, args: Vec<Value>, _ack| async move {
                socket.join(args[0].as_str().unwrap()).unwrap();
                socket.emit("joined", vec![]).unwrap();
            },
        );
        if socket.recovered() {
            socket.emit("recovered", vec![]).unwrap();
        }
        Ok(())
    });
    // A second clustered namespace on the same stream: "/" must not get its
    // entries twice.
    io.ns("/other", |_socket: SocketRef, _auth: Value| async {
        Ok(())
    });
    tokio::spawn(serve(listener, service));
    (url, io)
}

/// An Engine.IO v4 WebSocket session on `addr`, its open packet read.
async fn websocket(addr: &str) -> Ws {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    assert!(text(&mut ws).await.starts_with("0{"));
    ws
}

/// The next text message that is not an Engine.IO ping (answered).
async fn text(ws: &mut Ws) -> String {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    for _ in 0..MAX_EVENTS {
        let message = tokio::time::timeout(WAIT, ws.next()).await;
        match message.expect("a message").expect("open").unwrap() {
            Message::Text(t) if t.as_str() == "2" => ws.send(Message::text("3")).await.unwrap(),
            Message::Text(t) => return t.as_str().to_string(),
            _ => {}
        }
    }
    panic!("no text message in {MAX_EVENTS}");
}

async fn packet(ws: &mut Ws, packet: &str) {
    use futures_util::SinkExt;
    let message = tokio_tungstenite::tungstenite::Message::text(format!("4{packet}"));
    ws.send(message).await.unwrap();
}

/// The data of the next EVENT.
async fn event_data(ws: &mut Ws) -> Vec<Value> {
    let message = text(ws).await;
    let data = message.strip_prefix("42").expect("an EVENT");
    Value::from_json_str(data)
        .unwrap()
        .as_array()
        .unwrap()
        .to_vec()
}

/// The CONNECT reply's `{sid, pid}`.
async fn connect_reply(ws: &mut Ws, auth: &str) -> (String, String) {
    packet(ws, &format!("0{auth}")).await;
    let message = text(ws).await;
    let data = Value::from_json_str(message.strip_prefix("40").expect("a CONNECT")).unwrap();
    let field = |name: &str| data.get(name).and_then(Value::as_str).unwrap().to_string();
    (field("sid"), field("pid"))
}

/// A stream id's `(millis, seq)`, so ids compare in stream order.
fn stream_id(value: &Value) -> (u64, u64) {
    let (millis, seq) = value
        .as_str()
        .unwrap()
        .split_once('-')
        .expect("a stream id");
    (millis.parse().unwrap(), seq.parse().unwrap())
}

/// Runs `cmd` until Redis answers `want` (at most TRIES times).
async fn until_redis(con: &mut redis::aio::MultiplexedConnection, cmd: redis::Cmd, want: i64) {
    for _ in 0..TRIES {
        let got: i64 = cmd.query_async(con).await.unwrap();
        if got == want {
            return;
        }
        tokio::time::sleep(PAUSE).await;
    }
    panic!("{cmd:?} never gave {want}");
}

/// The broadcasts in the stream `socket.io` (entries of type 3): its length
/// alone also counts the nodes' heartbeats (types 1 and 2), which land at
/// startup in no fixed order and then every 5 s.
async fn stream_broadcasts(con: &mut redis::aio::MultiplexedConnection) -> usize {
    let entries: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
        .arg("socket.io")
        .arg("-")
        .arg("+")
        .query_async(con)
        .await
        .unwrap();
    entries
        .iter()
        .filter(|(_, fields)| fields.get("type").map(String::as_str) == Some("3"))
        .count()
}

/// Waits until the stream holds `want` broadcasts (at most TRIES looks).
async fn until_stream_broadcasts(con: &mut redis::aio::MultiplexedConnection, want: usize) {
    let mut got = 0;
    for _ in 0..TRIES {
        got = stream_broadcasts(con).await;
        if got == want {
            return;
        }
        tokio::time::sleep(PAUSE).await;
    }
    panic!("the stream holds {got} broadcasts, never {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_dropped_from_one_node_recovers_on_another_with_every_missed_event() {
    if !redis_available() {
        return;
    }
    let redis = Redis::start(free_port());
    let (addr_a, io_a) = recovering_node(&redis.url()).await;
    let (addr_b, io_b) = recovering_node(&redis.url()).await;
    let mut con = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    let mut ws = websocket(&addr_a).await;
    let (sid, pid) = connect_reply(&mut ws, "").await;
    packet(&mut ws, r#"2["join","r"]"#).await;
    let joined = event_data(&mut ws).await;
    assert_eq!(joined[0], Value::from("joined"));
    let last = joined.last().unwrap().as_str().unwrap().to_string();

    // The transport drops: A keeps the session in Redis.
    drop(ws);
    let key = format!("sio:session:{pid}");
    until_redis(&mut con, redis::cmd("EXISTS").arg(&key).clone(), 1).await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(
        ttl > 0 && ttl <= 60_000,
        "kept for maxDisconnectionDuration: {ttl}"
    );

    // Meanwhile B and A emit to the room, to everyone, and elsewhere.
    const N: u64 = 10;
    let broadcasts_before = stream_broadcasts(&mut con).await;
    for i in 0..N {
        io_b.to("r").emit("news", vec![i.into()]);
    }
    io_b.to("elsewhere").emit("news", vec!["not for it".into()]);
    io_b.of("/")
        .except("r")
        .emit("news", vec!["not for it either".into()]);
    io_b.emit("all", vec!["b".into()]);
    // All of B's 13 are in the stream before A emits (the order asserted below).
    until_stream_broadcasts(&mut con, broadcasts_before + N as usize + 3).await;
    io_a.to("r").emit("from-a", vec![1u64.into()]);
    io_a.to("r").emit("from-a", vec![2u64.into()]);

    // It comes back on B, with its pid and the last offset it handled.
    let mut ws = websocket(&addr_b).await;
    let auth = format!(r#"{{"pid":"{pid}","offset":"{last}"}}"#);
    assert_eq!(
        connect_reply(&mut ws, &auth).await,
        (sid.clone(), pid.clone())
    );
    let mut expected: Vec<Vec<Value>> = (0..N).map(|i| vec!["news".into(), i.into()]).collect();
    expected.push(vec!["all".into(), "b".into()]);
    expected.push(vec!["from-a".into(), 1u64.into()]);
    expected.push(vec!["from-a".into(), 2u64.into()]);
    let mut offsets = vec![stream_id(&Value::from(last.as_str()))];
    for want in &expected {
        let got = event_data(&mut ws).await;
        assert_eq!(&got[..got.len() - 1], &want[..], "in order, once each");
        offsets.push(stream_id(got.last().unwrap()));
    }
    assert!(
        offsets.windows(2).all(|w| w[0] < w[1]),
        "stream order: {offsets:?}"
    );
    // The connect handler saw `recovered()`; the record is gone from Redis.
    assert_eq!(event_data(&mut ws).await[..1], [Value::from("recovered")]);
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&key)
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(exists, 0);
    // Still in its room on B, live: the next event, nothing replayed twice.
    io_a.to("r").emit("live", vec![]);
    let live = event_data(&mut ws).await;
    assert_eq!(live[0], Value::from("live"));
    assert!(stream_id(live.last().unwrap()) > *offsets.last().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_node_answers_the_legacy_sockets_request() {
    if !redis_available() {
        return;
    }
    let redis = Redis::start(free_port());
    let (url, _io) = node(&redis.url(), AdapterMode::Classic).await;
    let (_client, id) = connected(&url).await;
    let client = redis::Client::open(format!("{}?protocol=resp3", redis.url())).unwrap();
    let (tx, mut pushes) = tokio::sync::mpsc::unbounded_channel();
    let config = redis::AsyncConnectionConfig::new().set_push_sender(tx);
    let mut con = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    con.subscribe("socket.io-response#/#").await.unwrap();
    // What a socket.io-redis 5.x node publishes for `adapter.clients(["r"])`.
    let request = r#"{"uid":"legacy","requestId":"q1","type":0,"rooms":["r"]}"#;
    for _ in 0..TRIES {
        let _: i64 = redis::cmd("PUBLISH")
            .arg("socket.io-request#/#")
            .arg(request)
            .query_async(&mut con)
            .await
            .unwrap();
        while let Ok(Some(push)) = tokio::time::timeout(PAUSE, pushes.recv()).await {
            if push.kind != redis::PushKind::Message {
                continue;
            }
            let payload: Vec<u8> = redis::from_redis_value(push.data[1].clone()).unwrap();
            let want = format!(r#"{{"requestId":"q1","sockets":["{id}"]}}"#);
            assert_eq!(String::from_utf8(payload).unwrap(), want);
            return;
        }
    }
    panic!("no answer to SOCKETS");
}
