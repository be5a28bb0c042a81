//! The load generator of `scripts/load.sh` and `scripts/e2e-bench.sh`: tokio-tungstenite
//! clients driving a WebSocket or Socket.IO server over loopback. Every mode is bounded in
//! connections, messages and time, checks what it gets back (order, size, content), and
//! prints one JSON line of figures; the exit status is non-zero when a message was lost or
//! a connection failed.
//!
//! Modes:
//! - `echo`: N connections, each keeping K messages of S bytes in flight for a warm-up and a
//!   measured window; messages/s, round-trip p50/p99, and (with `--server-pid`) the server's
//!   CPU time per message and RSS from `/proc`.
//! - `idle`: N connections opened, each proven alive with one echo, then held; the server's
//!   RSS per connection.
//! - `churn`: C connect / echo / close cycles, P at a time; the server's RSS after a warm-up
//!   and after the cycles.
//! - `socketio`: N Socket.IO clients (WebSocket transport) receive every `broadcast`; with
//!   `--server-cmd` the server is killed and restarted between two rounds and every client
//!   must reconnect and receive the second round too.
//! - `broadcast`: N Socket.IO clients in one room, one emitter keeping W room broadcasts in
//!   flight; deliveries/s, emit-to-receipt p50/p99, the server's CPU per delivery and RSS;
//!   every member must receive every broadcast exactly once, in order.

mod broadcast;
mod echo;
mod proc_stat;
mod socketio;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Bounded WebSocket / Socket.IO load against a server on loopback")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Echo a stream of messages on many connections.
    Echo(echo::EchoArgs),
    /// Open connections, prove each with one echo, hold them; report RSS per connection.
    Idle(echo::IdleArgs),
    /// Connect / echo / close cycles; report RSS growth.
    Churn(echo::ChurnArgs),
    /// Socket.IO clients receiving broadcasts, optionally across a server restart.
    Socketio(socketio::SocketIoArgs),
    /// Room broadcasts to N Socket.IO clients; deliveries/s, latency, server CPU per delivery.
    Broadcast(broadcast::BroadcastArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ok = runtime.block_on(async move {
        match cli.mode {
            Mode::Echo(args) => echo::run_echo(args).await,
            Mode::Idle(args) => echo::run_idle(args).await,
            Mode::Churn(args) => echo::run_churn(args).await,
            Mode::Socketio(args) => socketio::run(args).await,
            Mode::Broadcast(args) => broadcast::run(args).await,
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A small deterministic generator for jitter and payload bytes (xorshift64*).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A duration in `[base, 2 * base)`.
    pub(crate) fn jitter(&mut self, base: Duration) -> Duration {
        let ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(ms + self.next() % ms)
    }
}

/// Waits until `addr` accepts TCP connections, for at most `limit`.
pub(crate) async fn wait_listening(addr: &str, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// `host:port` of a `ws://host:port/...` URL.
pub(crate) fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}
