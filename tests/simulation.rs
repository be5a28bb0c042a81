//! Deterministic simulation of the Engine.IO and Socket.IO sessions: seeded
//! schedules of polling, WebSocket, upgrades, lost requests, broken sockets,
//! server restarts, stalls and emits with and without acks, over a virtual
//! clock, with the invariants of `tests/sim` checked on each.
//!
//! * `cargo test --all-features --test simulation` runs 10 000 schedules;
//! * `SIM_SCHEDULES=N` runs N instead (seeds `SIM_FIRST..SIM_FIRST+N`);
//! * `SIM_SEED=S` replays one schedule and prints its trace.
//!
//! A failing schedule is replayed at once with its trace, and the report
//! names the seed and the command that replays it.
#![cfg(feature = "json")]

mod sim;

use std::panic::{AssertUnwindSafe, catch_unwind};

use sim::{Stats, World};

/// Schedules in the default run, split over [`SHARDS`] tests so the harness
/// runs them in parallel.
const DEFAULT_SCHEDULES: u64 = 10_000;
const SHARDS: u64 = 4;

/// Runs one schedule; `Err` holds the failure message.
fn run(seed: u64, traced: bool) -> (Result<Stats, String>, Vec<String>) {
    let mut trace = Vec::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (mut world, params) = World::new(seed, traced);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            for _ in 0..params.steps {
                world.step();
            }
            world.finish();
        }));
        trace = world.trace.take().unwrap_or_default();
        match outcome {
            Ok(()) => world.stats,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }));
    let result = result.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "panic".into())
    });
    (result, trace)
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={text} is not a number")))
}

/// Replays `seed` with its trace and fails with the report.
fn report_failure(seed: u64, message: &str) -> ! {
    let (_, trace) = run(seed, true);
    let shown = trace.len().saturating_sub(400);
    eprintln!(
        "---- trace of seed {seed} (last {} of {} lines)",
        trace.len() - shown,
        trace.len()
    );
    for line in &trace[shown..] {
        eprintln!("{line}");
    }
    panic!(
        "schedule {seed} failed: {message}\n\
         replay: SIM_SEED={seed} cargo test --all-features --test simulation -- --nocapture replay"
    );
}

fn run_shard(shard: u64) {
    if std::env::var("SIM_SEED").is_ok() {
        return; // `replay` runs it
    }
    let total = env_u64("SIM_SCHEDULES").unwrap_or(DEFAULT_SCHEDULES);
    let first = env_u64("SIM_FIRST").unwrap_or(0);
    let mut stats = Stats::default();
    let mut count = 0;
    for seed in (first..first + total).filter(|s| s % SHARDS == shard) {
        match run(seed, false) {
            (Ok(s), _) => stats.add(&s),
            (Err(message), _) => report_failure(seed, &message),
        }
        count += 1;
    }
    eprintln!("shard {shard}: {count} schedules passed: {stats:?}");
}

#[test]
fn schedules_shard_0() {
    run_shard(0);
}

#[test]
fn schedules_shard_1() {
    run_shard(1);
}

#[test]
fn schedules_shard_2() {
    run_shard(2);
}

#[test]
fn schedules_shard_3() {
    run_shard(3);
}

/// `SIM_SEED=S`: replays one schedule and prints its trace.
#[test]
fn replay() {
    let Some(seed) = env_u64("SIM_SEED") else {
        return;
    };
    let (result, trace) = run(seed, true);
    for line in &trace {
        eprintln!("{line}");
    }
    match result {
        Ok(stats) => eprintln!("seed {seed} passed: {stats:?}"),
        Err(message) => panic!("seed {seed} failed: {message}"),
    }
}

/// The same seed gives the same schedule, trace line for line.
#[test]
fn a_seed_replays_exactly() {
    let (first, trace_a) = run(7, true);
    let (second, trace_b) = run(7, true);
    assert_eq!(first.is_ok(), second.is_ok());
    assert!(trace_a.len() > 50, "a schedule does something");
    assert_eq!(trace_a, trace_b);
}

/// Left out of the schedules, by design of the reference implementation: a
/// client that leaves a namespace while its CONNECT is unanswered sends no
/// DISCONNECT (socket.io-client's `disconnect()` sends one only when
/// connected) and ignores the late CONNECT reply, so the server keeps that
/// namespace connected. Joining it again sends a second CONNECT, and the
/// server closes the whole connection for a CONNECT on a namespace it has
/// (socket.io `client.ts` `ondecoded`: "invalid state"). Found by the
/// first version of the simulation (its seeds 170 and 253); the schedules
/// now leave only namespaces that are connected.
#[test]
fn leave_while_connecting_then_rejoin() {
    use core::time::Duration;
    use socketwire::socketio::{
        ClientConfig, ClientSession, Error, ServerConfig, ServerEvent, ServerSession,
    };
    let now = Duration::ZERO;
    let mut client = ClientSession::new(ClientConfig::default());
    let mut server = ServerSession::new(ServerConfig::default(), now);
    let to_server = |client: &mut ClientSession, server: &mut ServerSession| {
        let mut last = Ok(());
        while let Some(message) = client.poll_message() {
            last = server.handle_message(message, now);
        }
        last
    };
    client.connect("/a", None).unwrap();
    to_server(&mut client, &mut server).unwrap();
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::Connect { .. })
    ));
    server.accept("/a", "socket-1").unwrap();
    // The reply is on its way when the client leaves and joins again.
    client.disconnect("/a").unwrap();
    client.connect("/a", None).unwrap();
    assert_eq!(
        to_server(&mut client, &mut server),
        Err(Error::AlreadyConnected)
    );
}
