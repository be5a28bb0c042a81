//! What an idle WebSocket connection costs after it has received and sent a
//! message, counted by a global allocator over 1 000 server connections:
//! - a plain `ws::Connection` holds at most 128 bytes of heap;
//! - with permessage-deflate without context takeover and a shared
//!   [`DeflatePool`], it costs (inline size + heap) at most twice a plain one:
//!   the compressor and decompressor went back to the pool when the message
//!   ended;
//! - without the pool, and with context takeover, the figures are printed
//!   for comparison (about 80 KiB to 350 KiB: the states stay).
//!
//! This file holds a single test so no other test thread allocates while it
//! measures. Heap use is counted by `peak_alloc` (the crate forbids `unsafe`,
//! so the allocator comes from a dev-dependency).
#![cfg(feature = "deflate")]

use bytes::BytesMut;
use peak_alloc::PeakAlloc;
use socketwire::deflate::{DeflateConfig, DeflateParams, DeflatePool, PerMessageDeflate};
use socketwire::ws::{Config, Connection, Event, Role};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const N: usize = 1000;

const NO_TAKEOVER: DeflateParams = DeflateParams {
    server_no_context_takeover: true,
    client_no_context_takeover: true,
    server_max_window_bits: None,
    client_max_window_bits: None,
};

/// One masked text message of `text` as a client with `params` (or none) sends it.
fn client_frame(params: Option<DeflateParams>, text: &str) -> Vec<u8> {
    let mut client = Connection::client(Config::default(), || [3, 1, 4, 1]);
    if let Some(params) = params {
        client = client.with_extension(PerMessageDeflate::new(
            Role::Client,
            params,
            &DeflateConfig::default(),
        ));
    }
    client.send_text(text).unwrap();
    let mut wire = BytesMut::new();
    client.poll_transmit(&mut wire);
    wire.to_vec()
}

/// Heap bytes per connection held by `N` server connections made by `make`,
/// after each received `frame` and sent a reply, their output drained (and,
/// with `release`, [`Connection::release_buffers`] called).
fn heap_per_connection(frame: &[u8], release: bool, make: impl Fn() -> Connection) -> usize {
    let mut connections: Vec<Connection> = Vec::with_capacity(N);
    let mut out = BytesMut::with_capacity(64 << 10);
    let before = HEAP.current_usage();
    for _ in 0..N {
        let mut c = make();
        c.handle_input(frame);
        match c.poll_event() {
            Some(Event::Text(text)) => c.send_text(&text).unwrap(),
            other => panic!("{other:?}"),
        }
        out.clear();
        c.poll_transmit(&mut out);
        if release {
            c.release_buffers();
        }
        connections.push(c);
    }
    let per = HEAP.current_usage().saturating_sub(before) / N;
    drop(connections);
    per
}

#[test]
fn idle_connection_heap_plain_and_deflate() {
    let inline = std::mem::size_of::<Connection>();
    let chat = "a chat message, repeated; ".repeat(8);
    let plain_frame = client_frame(None, &chat);
    let tiny_frame = client_frame(None, "sixteen bytes!!!");
    let plain_tiny =
        heap_per_connection(&tiny_frame, false, || Connection::server(Config::default()));
    let plain_kept =
        heap_per_connection(
            &plain_frame,
            false,
            || Connection::server(Config::default()),
        );
    let plain = heap_per_connection(&plain_frame, true, || Connection::server(Config::default()));

    let pool = DeflatePool::new(4);
    let pooled_server = || {
        Connection::server(Config::default()).with_extension(
            PerMessageDeflate::new(Role::Server, NO_TAKEOVER, &DeflateConfig::default())
                .with_pool(&pool),
        )
    };
    let no_takeover_frame = client_frame(Some(NO_TAKEOVER), &chat);
    // Warm the pool: the states it lends are counted once, before the measure.
    let _ = heap_per_connection(&no_takeover_frame, true, pooled_server);
    let pooled_kept = heap_per_connection(&no_takeover_frame, false, pooled_server);
    let pooled = heap_per_connection(&no_takeover_frame, true, pooled_server);
    assert_eq!(
        pool.built(),
        2,
        "one compressor and one decompressor served 3 000 connections"
    );

    let unpooled = heap_per_connection(&no_takeover_frame, true, || {
        Connection::server(Config::default()).with_extension(PerMessageDeflate::new(
            Role::Server,
            NO_TAKEOVER,
            &DeflateConfig::default(),
        ))
    });
    let takeover_frame = client_frame(Some(DeflateParams::default()), &chat);
    let takeover = heap_per_connection(&takeover_frame, true, || {
        Connection::server(Config::default()).with_extension(PerMessageDeflate::new(
            Role::Server,
            DeflateParams::default(),
            &DeflateConfig::default(),
        ))
    });

    println!("ws::Connection inline size: {inline} B");
    println!("heap per idle connection after one message each way:");
    println!("  plain, 16 B messages, buffers kept:          {plain_tiny} B");
    println!(
        "  plain, {} B messages, buffers kept:         {plain_kept} B",
        chat.len()
    );
    println!("  plain, after release_buffers:                 {plain} B");
    println!("  deflate, no context takeover, pooled, kept:   {pooled_kept} B");
    println!("  deflate, no context takeover, pooled:         {pooled} B");
    println!("  deflate, no context takeover, owned states:   {unpooled} B");
    println!("  deflate, context takeover:                    {takeover} B");
    println!(
        "  cost (inline + heap): plain {} B, pooled deflate {} B ({:.2}x)",
        inline + plain,
        inline + pooled,
        (inline + pooled) as f64 / (inline + plain) as f64
    );
    assert!(
        plain_tiny <= 128,
        "plain connection holds {plain_tiny} B of heap"
    );
    assert!(
        plain <= 128,
        "plain connection holds {plain} B of heap after release_buffers"
    );
    assert!(
        inline + pooled <= 2 * (inline + plain),
        "pooled deflate {pooled} B heap against plain {plain} B"
    );
    // The states stay without the pool: that is what the pool saves.
    assert!(
        unpooled > 16 * 1024 && takeover > 16 * 1024,
        "{unpooled} {takeover}"
    );
}
