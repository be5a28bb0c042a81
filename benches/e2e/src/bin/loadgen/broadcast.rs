//! Socket.IO room broadcast load (`scripts/broadcast-bench.sh`): N clients join room `r`
//! (`join` "r"); one emitter, not in the room, sends `to-room` ("r", {"s":SEQ,"t":µs,"p":PAD})
//! and the server emits `new messages` ({…}) to every member. At most `--window` broadcasts
//! are in flight (sent and not yet received by every member). After a warm-up it measures
//! for `--duration` seconds: deliveries/s (messages received, summed over clients), latency
//! from emit to receipt (one process, one clock), the server's CPU per delivery and RSS.
//! Every client must receive every broadcast exactly once; broadcasts that overtake an
//! earlier one are counted apart (`reordered`), as the protocol orders packets per connection
//! but a server may run one socket's event handlers concurrently.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::{Notify, Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::echo::json_string;
use crate::proc_stat::{cpu_time, rss_kib};
use crate::socketio::{Ws, handshake};
use crate::{authority, wait_listening};

const CONNECTING_AT_ONCE: usize = 256;
/// Per-broadcast delivery counters, indexed by sequence number modulo this (> any window).
const RING: usize = 4096;

#[derive(Args)]
pub(crate) struct BroadcastArgs {
    /// e.g. ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket
    #[arg(long)]
    url: String,
    /// Members of the room.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Bytes of padding in each broadcast's payload.
    #[arg(long, default_value_t = 16)]
    size: usize,
    /// Broadcasts in flight at most (sent and not yet received by every member).
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// Seconds of warm-up before the measured window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// The server's pid, for CPU time and RSS from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The server's name in the JSON line.
    #[arg(long, default_value = "server")]
    label: String,
}

struct Shared {
    clients: u32,
    epoch: Instant,
    /// Deliveries so far, over all clients.
    delivered: AtomicU64,
    /// Broadcasts every member has received.
    completed: AtomicU64,
    per_seq: Vec<AtomicU32>,
    progress: Notify,
    measuring: AtomicBool,
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    /// Every broadcast below this arrived.
    next: u64,
    /// Broadcasts at or above `next` that arrived (at most a window's worth).
    ahead: std::collections::BTreeSet<u64>,
    /// Broadcasts that arrived twice or could not be read.
    duplicated: u64,
    /// Broadcasts that arrived before an earlier one.
    reordered: u64,
    histogram: Option<Histogram<u64>>,
    error: Option<String>,
}

impl Seen {
    /// Counts broadcast `seq`; false when it arrived before (a duplicate).
    fn record(&mut self, seq: u64) -> bool {
        if seq < self.next || !self.ahead.insert(seq) {
            self.duplicated += 1;
            return false;
        }
        if seq != self.next {
            self.reordered += 1;
        }
        while self.ahead.remove(&self.next) {
            self.next += 1;
        }
        true
    }

    /// Broadcasts that arrived, each counted once.
    fn received(&self) -> u64 {
        self.next + self.ahead.len() as u64
    }
}

/// The unsigned number after `"key":` in `text`.
fn field(text: &str, key: &str) -> Option<u64> {
    let digits = text.split_once(key)?.1;
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

async fn member(mut ws: Ws, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) -> Seen {
    let mut seen = Seen {
        histogram: Histogram::new_with_bounds(1, 60_000_000, 3).ok(),
        ..Seen::default()
    };
    loop {
        let next = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            next = ws.next() => next,
        };
        let text = match next {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                seen.error = Some(e.to_string());
                break;
            }
            None => {
                seen.error = Some("closed".into());
                break;
            }
        };
        if text.as_str() == "2" {
            if let Err(e) = ws.send(Message::Text("3".into())).await {
                seen.error = Some(e.to_string());
                break;
            }
            continue;
        }
        if !text.starts_with("42[\"new messages\"") {
            continue;
        }
        let (Some(seq), Some(sent)) = (field(&text, "\"s\":"), field(&text, "\"t\":")) else {
            seen.duplicated += 1;
            continue;
        };
        if !seen.record(seq) {
            continue;
        }
        shared.delivered.fetch_add(1, Ordering::Relaxed);
        if shared.measuring.load(Ordering::Relaxed) {
            let now = shared.epoch.elapsed().as_micros() as u64;
            if let Some(h) = seen.histogram.as_mut() {
                let _ = h.record(now.saturating_sub(sent).max(1));
            }
        }
        let slot = &shared.per_seq[seq as usize % RING];
        if slot.fetch_add(1, Ordering::AcqRel) + 1 == shared.clients {
            slot.store(0, Ordering::Release);
            shared.completed.fetch_add(1, Ordering::AcqRel);
            shared.progress.notify_one();
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    seen
}

/// Sends broadcasts while fewer than `window` are in flight, until `stop`; returns how many.
async fn emit(
    mut ws: Ws,
    shared: &Shared,
    args: &BroadcastArgs,
    stop: &AtomicBool,
) -> Result<u64, String> {
    let pad = "x".repeat(args.size);
    let window = args.window.clamp(1, RING / 2) as u64;
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        while seq - shared.completed.load(Ordering::Acquire) >= window {
            if tokio::time::timeout(Duration::from_secs(10), shared.progress.notified())
                .await
                .is_err()
            {
                return Err(format!("stalled at broadcast {seq}"));
            }
        }
        let t = shared.epoch.elapsed().as_micros();
        let packet = format!("42[\"to-room\",\"r\",{{\"s\":{seq},\"t\":{t},\"p\":\"{pad}\"}}]");
        ws.send(Message::Text(packet.into()))
            .await
            .map_err(|e| e.to_string())?;
        seq += 1;
    }
    // Closing now could cancel a server's handlers still running for the last events.
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.completed.load(Ordering::Acquire) < seq && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    Ok(seq)
}

pub(crate) async fn run(args: BroadcastArgs) -> bool {
    let addr = authority(&args.url).to_owned();
    if !wait_listening(&addr, Duration::from_secs(10)).await {
        eprintln!("loadgen: nothing listens on {addr}");
        return false;
    }
    let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
    let shared = Arc::new(Shared {
        clients: args.clients as u32,
        epoch: Instant::now(),
        delivered: AtomicU64::new(0),
        completed: AtomicU64::new(0),
        per_seq: (0..RING).map(|_| AtomicU32::new(0)).collect(),
        progress: Notify::new(),
        measuring: AtomicBool::new(false),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let connects: Vec<_> = (0..args.clients)
        .map(|_| {
            let (url, gate) = (args.url.clone(), gate.clone());
            tokio::spawn(async move {
                let mut ws = handshake(&url, &gate).await?;
                ws.send(Message::Text("42[\"join\",\"r\"]".into()))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<Ws, String>(ws)
            })
        })
        .collect();
    let mut members = Vec::with_capacity(args.clients);
    let mut first_error: Option<String> = None;
    for c in connects {
        match c.await {
            Ok(Ok(ws)) => members.push(tokio::spawn(member(ws, shared.clone(), stop_rx.clone()))),
            Ok(Err(e)) => drop(first_error.get_or_insert(e)),
            Err(e) => drop(first_error.get_or_insert(e.to_string())),
        }
    }
    let connected = members.len();
    let mut ok = connected == args.clients;
    let emitter = match handshake(&args.url, &gate).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("loadgen: emitter: {e}");
            return false;
        }
    };
    // The joins were sent before the emitter connected; give the server time to apply them.
    // A millisecond per member on top: 1.5 s for a room of 1 000.
    tokio::time::sleep(Duration::from_millis(500 + args.clients as u64)).await;
    let shared_emit = shared.clone();
    let stop_emit = Arc::new(AtomicBool::new(false));
    let emitter = {
        let stop = stop_emit.clone();
        let args_emit = BroadcastArgs {
            url: String::new(),
            label: String::new(),
            ..args
        };
        tokio::spawn(async move { emit(emitter, &shared_emit, &args_emit, &stop).await })
    };
    tokio::time::sleep(Duration::from_secs_f64(args.warmup.clamp(0.0, 60.0))).await;
    shared.measuring.store(true, Ordering::Relaxed);
    let (d0, c0, t0) = (
        shared.delivered.load(Ordering::Relaxed),
        args.server_pid.and_then(cpu_time),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(args.duration.clamp(0.1, 600.0))).await;
    let (d1, c1, elapsed) = (
        shared.delivered.load(Ordering::Relaxed),
        args.server_pid.and_then(cpu_time),
        t0.elapsed(),
    );
    shared.measuring.store(false, Ordering::Relaxed);
    let rss = args.server_pid.and_then(rss_kib);
    stop_emit.store(true, Ordering::Relaxed);
    let sent = match emitter.await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            first_error.get_or_insert(format!("emitter: {e}"));
            ok = false;
            0
        }
        Err(e) => {
            first_error.get_or_insert(e.to_string());
            0
        }
    };
    // The emitter waited (bounded) for the last broadcasts to arrive.
    let _ = stop_tx.send(true);
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
    let (mut missing, mut duplicated, mut reordered) = (0u64, 0u64, 0u64);
    for m in members {
        let Ok(Ok(seen)) = tokio::time::timeout(Duration::from_secs(10), m).await else {
            missing += sent;
            continue;
        };
        missing += sent.saturating_sub(seen.received());
        duplicated += seen.duplicated;
        reordered += seen.reordered;
        if let Some(h) = seen.histogram.as_ref() {
            let _ = histogram.add(h);
        }
        if let Some(e) = seen.error {
            first_error.get_or_insert(e);
        }
    }
    missing += (args.clients - connected) as u64 * sent;
    ok &= missing == 0 && duplicated == 0;
    let deliveries = d1 - d0;
    let per_s = deliveries as f64 / elapsed.as_secs_f64();
    let cpu_ns = match (c0, c1) {
        (Some(a), Some(b)) if deliveries > 0 => {
            format!("{:.1}", (b - a).as_nanos() as f64 / deliveries as f64)
        }
        _ => "null".into(),
    };
    let q = |p: f64| histogram.value_at_quantile(p);
    println!(
        "{{\"mode\":\"broadcast\",\"label\":{},\"clients\":{},\"size\":{},\"window\":{},\
         \"deliveries_per_s\":{:.0},\"p50_us\":{},\"p99_us\":{},\"server_cpu_ns_per_delivery\":{},\
         \"server_rss_kib\":{},\"broadcasts\":{},\"connected\":{},\"missing\":{},\
         \"duplicated\":{},\"reordered\":{},\"ok\":{},\"first_error\":{}}}",
        json_string(Some(&args.label)),
        args.clients,
        args.size,
        args.window,
        per_s,
        q(0.5),
        q(0.99),
        cpu_ns,
        rss.map_or("null".into(), |r| r.to_string()),
        sent,
        connected,
        missing,
        duplicated,
        reordered,
        ok,
        json_string(first_error.as_deref()),
    );
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_any_key_order() {
        let text = r#"42["new messages",{"p":"xx","s":12,"t":345}]"#;
        assert_eq!(field(text, "\"s\":"), Some(12));
        assert_eq!(field(text, "\"t\":"), Some(345));
        assert_eq!(field(text, "\"n\":"), None);
    }

    #[test]
    fn exactly_once_with_reorders_counted_apart() {
        let mut seen = Seen::default();
        for seq in [0, 2, 1, 1, 3, 0, 5] {
            seen.record(seq);
        }
        assert_eq!(seen.next, 4);
        assert_eq!(seen.received(), 5);
        assert_eq!(seen.duplicated, 2);
        assert_eq!(seen.reordered, 2);
    }
}
