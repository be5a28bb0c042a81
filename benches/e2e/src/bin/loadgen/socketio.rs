//! Socket.IO broadcast load over the WebSocket transport (`EIO=4&transport=websocket`),
//! spoken by hand on tokio-tungstenite so the client is not socketwire: Engine.IO open
//! `0{…}`, Socket.IO CONNECT `40` and its reply, pings `2` answered `3`, events `42[…]`.
//!
//! One emitter sends `channel` events `{"n":K}`; the server delivers each to every client as
//! `broadcast`; every client must see every K exactly once. With `--server-cmd` the load
//! generator runs the server itself, kills it after the first round, starts it again, and
//! every client must reconnect (backoff with jitter, as socket.io-client) and receive the
//! second round too.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::{SinkExt, StreamExt};
use tokio::process::{Child, Command};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::echo::json_string;
use crate::{Rng, authority, wait_listening};

const CONNECTING_AT_ONCE: usize = 256;
const STEP: Duration = Duration::from_secs(20);

#[derive(Args)]
pub(crate) struct SocketIoArgs {
    /// e.g. ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 2000)]
    clients: usize,
    /// Broadcasts per round.
    #[arg(long, default_value_t = 20)]
    broadcasts: usize,
    /// Run the server with `sh -c 'exec CMD'`, and kill and restart it between two rounds.
    #[arg(long)]
    server_cmd: Option<String>,
    /// Seconds any one step (all connected, all delivered) may take.
    #[arg(long, default_value_t = 60.0)]
    step_timeout: f64,
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Per client: how many times each broadcast number arrived.
struct Client {
    seen: Mutex<Vec<u16>>,
}

struct Shared {
    /// Clients connected in round 0 and (re)connected in round 1.
    connected: [AtomicUsize; 2],
    /// Set for the restart: a client that loses its connection now counts in round 1.
    restarted: AtomicBool,
    gate: Semaphore,
}

/// Opens a Socket.IO connection to the main namespace; returns it after the CONNECT reply.
pub(crate) async fn handshake(url: &str, gate: &Semaphore) -> Result<Ws, String> {
    let mut ws = {
        let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
        // Nagle off, as browsers and the echo load's clients have it: an emitter's
        // small packets go out at once instead of waiting for the last one's ACK.
        let connecting = tokio_tungstenite::connect_async_with_config(url, None, true);
        match tokio::time::timeout(STEP, connecting).await {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => return Err(format!("connect: {e}")),
            Err(_) => return Err("connect: timed out".into()),
        }
    };
    let mut opened = false;
    loop {
        let next = tokio::time::timeout(STEP, ws.next())
            .await
            .map_err(|_| "handshake timed out")?;
        let text = match next {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed during the handshake".into()),
        };
        if !opened && text.starts_with('0') {
            opened = true;
            ws.send(Message::Text("40".into()))
                .await
                .map_err(|e| e.to_string())?;
        } else if opened && text.starts_with("40") {
            return Ok(ws);
        } else if text.starts_with("44") {
            return Err(format!("connect refused: {text}"));
        }
    }
}

/// The number K of a `42["broadcast",{"n":K}]` packet.
fn broadcast_number(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("42[\"broadcast\",")?;
    let digits = rest.split_once("\"n\":")?.1;
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Resolves once `stop` is set.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// One connection's life: answer pings, count broadcasts, until it ends or `stop`.
async fn live(mut ws: Ws, client: &Client, stop: &mut watch::Receiver<bool>) -> Result<(), String> {
    loop {
        tokio::select! {
            () = stopped(stop) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                return Ok(());
            }
            next = ws.next() => match next {
                Some(Ok(Message::Text(text))) => {
                    if text.as_str() == "2" {
                        ws.send(Message::Text("3".into())).await.map_err(|e| e.to_string())?;
                    } else if let Some(k) = broadcast_number(&text) {
                        let mut seen = client.seen.lock().expect("not poisoned");
                        if let Some(count) = seen.get_mut(k) {
                            *count = count.saturating_add(1);
                        }
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("closed".into()),
            }
        }
    }
}

async fn client_task(
    url: Arc<str>,
    index: u64,
    client: Arc<Client>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let mut rng = Rng::new(index + 1);
    let mut backoff = Duration::from_millis(100);
    let mut counted = [false; 2];
    loop {
        if *stop.borrow() {
            return;
        }
        match handshake(&url, &shared.gate).await {
            Ok(ws) => {
                backoff = Duration::from_millis(100);
                let round = usize::from(shared.restarted.load(Ordering::SeqCst));
                if !counted[round] {
                    counted[round] = true;
                    shared.connected[round].fetch_add(1, Ordering::SeqCst);
                }
                if live(ws, &client, &mut stop).await.is_ok() {
                    return;
                }
            }
            Err(_) => {
                // Reconnect as socket.io-client does: exponential backoff with jitter.
                let wait = rng.jitter(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(2));
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    () = stopped(&mut stop) => return,
                }
            }
        }
    }
}

async fn emit_round(
    url: &str,
    gate: &Semaphore,
    range: std::ops::Range<usize>,
) -> Result<(), String> {
    let mut ws = handshake(url, gate).await?;
    for k in range {
        let packet = format!("42[\"channel\",{{\"n\":{k}}}]");
        ws.send(Message::Text(packet.into()))
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Read (and drop) whatever comes back until the server has had time to fan out.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
    let _ = ws.close(None).await;
    Ok(())
}

/// Waits until `done()` or `limit`; returns whether it was done.
async fn until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

fn spawn_server(cmd: &str) -> Result<Child, String> {
    Command::new("sh")
        .arg("-c")
        .arg(format!("exec {cmd}"))
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("server: {e}"))
}

/// (missing, duplicated) deliveries of broadcasts `range` over all clients.
fn tally(clients: &[Arc<Client>], range: std::ops::Range<usize>) -> (usize, usize) {
    let (mut missing, mut duplicated) = (0, 0);
    for c in clients {
        let seen = c.seen.lock().expect("not poisoned");
        for &count in &seen[range.clone()] {
            match count {
                0 => missing += 1,
                1 => {}
                n => duplicated += usize::from(n - 1),
            }
        }
    }
    (missing, duplicated)
}

pub(crate) async fn run(args: SocketIoArgs) -> bool {
    let started = Instant::now();
    let limit = Duration::from_secs_f64(args.step_timeout.clamp(1.0, 600.0));
    let rounds = if args.server_cmd.is_some() { 2 } else { 1 };
    let mut server = match args.server_cmd.as_deref().map(spawn_server).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return false;
        }
    };
    let addr = authority(&args.url).to_owned();
    if !wait_listening(&addr, limit).await {
        eprintln!("loadgen: nothing listens on {addr}");
        return false;
    }
    let url: Arc<str> = args.url.as_str().into();
    let shared = Arc::new(Shared {
        connected: [AtomicUsize::new(0), AtomicUsize::new(0)],
        restarted: AtomicBool::new(false),
        gate: Semaphore::new(CONNECTING_AT_ONCE),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let clients: Vec<Arc<Client>> = (0..args.clients)
        .map(|_| {
            Arc::new(Client {
                seen: Mutex::new(vec![0; args.broadcasts * rounds]),
            })
        })
        .collect();
    let tasks: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(i, c)| {
            tokio::spawn(client_task(
                url.clone(),
                i as u64,
                c.clone(),
                shared.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();

    let mut report = Vec::new();
    let mut ok = true;
    let mut first_error: Option<String> = None;
    for round in 0..rounds {
        if round == 1 {
            let old = server.take();
            if let Some(mut old) = old {
                shared.restarted.store(true, Ordering::SeqCst);
                let _ = old.kill().await;
            }
            match spawn_server(
                args.server_cmd
                    .as_deref()
                    .expect("two rounds need a command"),
            ) {
                Ok(s) => server = Some(s),
                Err(e) => {
                    first_error.get_or_insert(e);
                    ok = false;
                    break;
                }
            }
        }
        let round_start = Instant::now();
        let all = until(limit, || {
            shared.connected[round].load(Ordering::SeqCst) == args.clients
        })
        .await;
        let connected = shared.connected[round].load(Ordering::SeqCst);
        let connect_s = round_start.elapsed().as_secs_f64();
        let range = round * args.broadcasts..(round + 1) * args.broadcasts;
        if let Err(e) = emit_round(&url, &shared.gate, range.clone()).await {
            first_error.get_or_insert(format!("emitter: {e}"));
        }
        until(limit, || tally(&clients, range.clone()).0 == 0).await;
        let (missing, duplicated) = tally(&clients, range.clone());
        ok &= all && missing == 0 && duplicated == 0;
        report.push(format!(
            "{{\"round\":{round},\"connected\":{connected},\"connect_s\":{connect_s:.2},\
             \"deliveries\":{},\"missing\":{missing},\"duplicated\":{duplicated}}}",
            args.clients * args.broadcasts - missing
        ));
    }
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    if let Some(mut s) = server {
        let _ = s.kill().await;
    }
    println!(
        "{{\"mode\":\"socketio\",\"clients\":{},\"broadcasts_per_round\":{},\"restart\":{},\
         \"seconds\":{:.1},\"rounds\":[{}],\"first_error\":{}}}",
        args.clients,
        args.broadcasts,
        rounds == 2,
        started.elapsed().as_secs_f64(),
        report.join(","),
        json_string(first_error.as_deref()),
    );
    ok
}
