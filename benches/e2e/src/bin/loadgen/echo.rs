//! WebSocket echo load: `echo`, `idle` and `churn`.
//!
//! Every message carries its sequence number (bytes 0..8) and its send time in nanoseconds
//! since the run started (bytes 8..16); the rest is a fill derived from the sequence number,
//! so a reply is checked for order, size and content, and its round trip is measured from
//! the bytes it carries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::proc_stat;

/// Handshakes in progress at once (the listen backlog is finite).
const CONNECTING_AT_ONCE: usize = 256;
/// How long a reply may take before the connection counts as failed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);
/// Smallest message: sequence number and send time.
const HEADER: usize = 16;

#[derive(Args)]
pub(crate) struct EchoArgs {
    /// Server URL, e.g. ws://127.0.0.1:3000/echo
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 100)]
    connections: usize,
    /// Message size in bytes (at least 16).
    #[arg(long, default_value_t = 16)]
    size: usize,
    /// Messages each connection keeps in flight.
    #[arg(long, default_value_t = 1)]
    inflight: usize,
    /// Seconds of warm-up before the measured window.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// The server's pid, for CPU time per message and RSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A label copied into the JSON line (the server's name).
    #[arg(long, default_value = "")]
    label: String,
}

#[derive(Args)]
pub(crate) struct IdleArgs {
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Seconds to hold the connections after the last one opened.
    #[arg(long, default_value_t = 2.0)]
    hold: f64,
    #[arg(long)]
    server_pid: Option<u32>,
}

#[derive(Args)]
pub(crate) struct ChurnArgs {
    #[arg(long)]
    url: String,
    /// Measured cycles (after as many warm-up cycles as `--warmup-cycles`).
    #[arg(long, default_value_t = 20_000)]
    cycles: usize,
    #[arg(long, default_value_t = 2_000)]
    warmup_cycles: usize,
    /// Cycles in progress at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    #[arg(long)]
    server_pid: Option<u32>,
}

/// Where the run is: connections open in `Connecting`, messages flow in `Warmup` and
/// `Measure` (counted only in `Measure`), and `Stop` lets the ones in flight come back.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Connecting,
    Warmup,
    Measure,
    Stop,
}

/// What one connection saw.
struct ConnResult {
    sent: u64,
    received: u64,
    measured: u64,
    rtt: Histogram<u64>,
    error: Option<String>,
}

fn message(seq: u64, sent_at: u64, size: usize) -> Message {
    let mut payload = vec![0u8; size.max(HEADER)];
    payload[..8].copy_from_slice(&seq.to_le_bytes());
    payload[8..16].copy_from_slice(&sent_at.to_le_bytes());
    for (i, b) in payload[HEADER..].iter_mut().enumerate() {
        *b = (seq as usize).wrapping_add(i) as u8;
    }
    Message::Binary(payload.into())
}

/// Checks a reply against the sequence number expected; returns its send time.
fn check_reply(payload: &[u8], expect_seq: u64, size: usize) -> Result<u64, String> {
    if payload.len() != size.max(HEADER) {
        return Err(format!(
            "reply {expect_seq}: {} bytes, sent {size}",
            payload.len()
        ));
    }
    let seq = u64::from_le_bytes(payload[..8].try_into().expect("8 bytes"));
    if seq != expect_seq {
        return Err(format!(
            "reply out of order: got {seq}, expected {expect_seq}"
        ));
    }
    let intact = payload[HEADER..]
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (seq as usize).wrapping_add(i) as u8);
    if !intact {
        return Err(format!("reply {seq}: payload corrupted"));
    }
    Ok(u64::from_le_bytes(
        payload[8..16].try_into().expect("8 bytes"),
    ))
}

fn client_config() -> WebSocketConfig {
    // Big enough for the 64 KiB cells; tungstenite's defaults otherwise.
    WebSocketConfig::default().max_message_size(Some(16 << 20))
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, gate: &Semaphore) -> Result<Ws, String> {
    let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
    let connecting = tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true);
    match tokio::time::timeout(REPLY_TIMEOUT, connecting).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(format!("connect: {e}")),
        Err(_) => Err("connect: timed out".into()),
    }
}

/// Sends the close frame and waits (bounded) for the server's close and TCP close.
async fn close(mut ws: Ws) {
    let _ = ws.close(None).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

async fn echo_connection(
    url: Arc<str>,
    size: usize,
    inflight: usize,
    start: Instant,
    gate: Arc<Semaphore>,
    connected: Arc<AtomicUsize>,
    mut phase: watch::Receiver<Phase>,
) -> ConnResult {
    let mut result = ConnResult {
        sent: 0,
        received: 0,
        measured: 0,
        rtt: Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("histogram bounds"),
        error: None,
    };
    let ws = match connect(&url, &gate).await {
        Ok(ws) => ws,
        Err(e) => {
            connected.fetch_add(1, Ordering::Relaxed);
            result.error = Some(e);
            return result;
        }
    };
    connected.fetch_add(1, Ordering::Relaxed);
    let _ = phase.wait_for(|p| *p >= Phase::Warmup).await;
    let (mut sink, mut stream) = ws.split();
    let outcome: Result<(), String> = async {
        loop {
            let now_phase = *phase.borrow();
            while result.sent - result.received < inflight as u64 && now_phase < Phase::Stop {
                let at = start.elapsed().as_nanos() as u64;
                sink.feed(message(result.sent, at, size))
                    .await
                    .map_err(|e| e.to_string())?;
                result.sent += 1;
            }
            sink.flush().await.map_err(|e| e.to_string())?;
            if result.sent == result.received {
                return Ok(());
            }
            let next = tokio::time::timeout(REPLY_TIMEOUT, stream.next())
                .await
                .map_err(|_| format!("no reply to {} within {REPLY_TIMEOUT:?}", result.received))?;
            match next {
                Some(Ok(Message::Binary(payload))) => {
                    let sent_at = check_reply(&payload, result.received, size)?;
                    result.received += 1;
                    if *phase.borrow() == Phase::Measure {
                        result.measured += 1;
                        let rtt = (start.elapsed().as_nanos() as u64).saturating_sub(sent_at);
                        let _ = result.rtt.record(rtt.max(1));
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(other)) => return Err(format!("unexpected {other:?}")),
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("server closed the connection".into()),
            }
        }
    }
    .await;
    if let Err(e) = outcome {
        result.error = Some(e);
    }
    match sink.reunite(stream) {
        Ok(ws) => close(ws).await,
        Err(_) => unreachable!("halves of one stream"),
    }
    result
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.clamp(0.0, 3600.0))
}

pub(crate) async fn run_echo(args: EchoArgs) -> bool {
    let start = Instant::now();
    let url: Arc<str> = args.url.clone().into();
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let connected = Arc::new(AtomicUsize::new(0));
    let (phase_tx, phase_rx) = watch::channel(Phase::Connecting);
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            tokio::spawn(echo_connection(
                url.clone(),
                args.size,
                args.inflight.max(1),
                start,
                gate.clone(),
                connected.clone(),
                phase_rx.clone(),
            ))
        })
        .collect();
    // Every connection is open (or failed) before the clock starts.
    let open_deadline = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < args.connections && Instant::now() < open_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let open_s = start.elapsed().as_secs_f64();
    let _ = phase_tx.send(Phase::Warmup);
    tokio::time::sleep(seconds(args.warmup)).await;
    let cpu_before = args.server_pid.and_then(proc_stat::cpu_time);
    let window = Instant::now();
    let _ = phase_tx.send(Phase::Measure);
    tokio::time::sleep(seconds(args.duration)).await;
    let _ = phase_tx.send(Phase::Stop);
    let window = window.elapsed();
    let cpu_after = args.server_pid.and_then(proc_stat::cpu_time);
    let rss = args.server_pid.and_then(proc_stat::rss_kib);

    let mut rtt = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    let (mut sent, mut received, mut measured, mut failed) = (0u64, 0u64, 0u64, 0usize);
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(r) => {
                sent += r.sent;
                received += r.received;
                measured += r.measured;
                let _ = rtt.add(&r.rtt);
                if let Some(e) = r.error {
                    failed += 1;
                    first_error.get_or_insert(e);
                }
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let per_s = measured as f64 / window.as_secs_f64();
    let cpu_per_msg = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) if measured > 0 => {
            format!("{:.2}", (a - b).as_secs_f64() * 1e6 / measured as f64)
        }
        _ => "null".into(),
    };
    println!(
        "{{\"mode\":\"echo\",\"label\":\"{}\",\"connections\":{},\"size\":{},\"inflight\":{},\
         \"open_s\":{open_s:.2},\"window_s\":{:.2},\"msgs\":{measured},\"msgs_per_s\":{per_s:.0},\
         \"p50_us\":{:.1},\"p99_us\":{:.1},\"server_cpu_us_per_msg\":{cpu_per_msg},\
         \"server_rss_kib\":{},\"sent\":{sent},\"received\":{received},\"lost\":{},\
         \"failed_connections\":{failed},\"first_error\":{}}}",
        args.label,
        args.connections,
        args.size,
        args.inflight,
        window.as_secs_f64(),
        rtt.value_at_quantile(0.5) as f64 / 1e3,
        rtt.value_at_quantile(0.99) as f64 / 1e3,
        rss.map_or("null".into(), |r| r.to_string()),
        sent - received,
        json_string(first_error.as_deref()),
    );
    failed == 0 && sent == received && measured > 0
}

pub(crate) fn json_string(s: Option<&str>) -> String {
    match s {
        None => "null".into(),
        Some(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

/// One echo on a fresh connection; the connection is returned open.
async fn prove(url: &str, gate: &Semaphore) -> Result<Ws, String> {
    let mut ws = connect(url, gate).await?;
    ws.send(message(0, 0, HEADER))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match tokio::time::timeout(REPLY_TIMEOUT, ws.next()).await {
            Ok(Some(Ok(Message::Binary(p)))) => {
                check_reply(&p, 0, HEADER)?;
                return Ok(ws);
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => return Err(format!("echo: {other:?}")),
            Err(_) => return Err("echo: timed out".into()),
        }
    }
}

pub(crate) async fn run_idle(args: IdleArgs) -> bool {
    let rss_before = args.server_pid.and_then(proc_stat::rss_kib);
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let url: Arc<str> = args.url.into();
    let tasks: Vec<_> = (0..args.connections)
        .map(|_| {
            let (url, gate) = (url.clone(), gate.clone());
            tokio::spawn(async move { prove(&url, &gate).await })
        })
        .collect();
    let mut open = Vec::with_capacity(args.connections);
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(ws)) => open.push(ws),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    tokio::time::sleep(seconds(args.hold)).await;
    let rss_after = args.server_pid.and_then(proc_stat::rss_kib);
    let held = open.len();
    let per_conn = match (rss_before, rss_after) {
        (Some(b), Some(a)) if held > 0 => {
            format!("{:.0}", (a.saturating_sub(b) * 1024) as f64 / held as f64)
        }
        _ => "null".into(),
    };
    let closes: Vec<_> = open.into_iter().map(|ws| tokio::spawn(close(ws))).collect();
    for c in closes {
        let _ = c.await;
    }
    println!(
        "{{\"mode\":\"idle\",\"connections\":{},\"held\":{held},\"server_rss_before_kib\":{},\
         \"server_rss_held_kib\":{},\"server_bytes_per_connection\":{per_conn},\"first_error\":{}}}",
        args.connections,
        rss_before.map_or("null".into(), |r| r.to_string()),
        rss_after.map_or("null".into(), |r| r.to_string()),
        json_string(first_error.as_deref()),
    );
    held == args.connections
}

/// `n` cycles, `concurrency` at a time; returns (completed, first error).
async fn cycles(url: Arc<str>, n: usize, concurrency: usize) -> (usize, Option<String>) {
    let next = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let workers: Vec<_> = (0..concurrency.clamp(1, n.max(1)))
        .map(|_| {
            let (url, next, gate) = (url.clone(), next.clone(), gate.clone());
            tokio::spawn(async move {
                let (mut done, mut error) = (0usize, None);
                while next.fetch_add(1, Ordering::Relaxed) < n as u64 {
                    match prove(&url, &gate).await {
                        Ok(ws) => {
                            close(ws).await;
                            done += 1;
                        }
                        Err(e) => {
                            error.get_or_insert(e);
                        }
                    }
                }
                (done, error)
            })
        })
        .collect();
    let (mut done, mut error) = (0, None);
    for w in workers {
        if let Ok((d, e)) = w.await {
            done += d;
            if let Some(e) = e {
                error.get_or_insert(e);
            }
        }
    }
    (done, error)
}

pub(crate) async fn run_churn(args: ChurnArgs) -> bool {
    let url: Arc<str> = args.url.into();
    let started = Instant::now();
    let rss_start = args.server_pid.and_then(proc_stat::rss_kib);
    let (warm, warm_error) = cycles(url.clone(), args.warmup_cycles, args.concurrency).await;
    // The server has seen every kind of allocation once: this is the baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_base = args.server_pid.and_then(proc_stat::rss_kib);
    let (done, error) = cycles(url, args.cycles, args.concurrency).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_end = args.server_pid.and_then(proc_stat::rss_kib);
    let growth = match (rss_base, rss_end) {
        (Some(b), Some(e)) if b > 0 => format!("{:.1}", (e as f64 - b as f64) * 100.0 / b as f64),
        _ => "null".into(),
    };
    let show = |r: Option<u64>| r.map_or("null".into(), |r| r.to_string());
    println!(
        "{{\"mode\":\"churn\",\"warmup_cycles\":{warm},\"cycles\":{done},\"concurrency\":{},\
         \"seconds\":{:.1},\"server_rss_start_kib\":{},\"server_rss_base_kib\":{},\
         \"server_rss_end_kib\":{},\"growth_percent\":{growth},\"first_error\":{}}}",
        args.concurrency,
        started.elapsed().as_secs_f64(),
        show(rss_start),
        show(rss_base),
        show(rss_end),
        json_string(error.as_deref().or(warm_error.as_deref())),
    );
    warm == args.warmup_cycles && done == args.cycles
}
