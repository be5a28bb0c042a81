//! permessage-deflate at scale: a message sent to 1 000 connections without
//! context takeover is compressed once (counted: every compressor call of
//! every connection goes through a counting wrapper), every recipient's peer
//! inflates it; recipients whose compressor differs, or keeps its context,
//! compress for themselves. And the pool: connections without context
//! takeover borrow compressors and decompressors per message, so however
//! many messages pass, the pool builds no more states than were in use at once.
#![cfg(feature = "deflate")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use socketwire::deflate::{DeflateConfig, DeflateParams, DeflatePool, PerMessageDeflate};
use socketwire::ws::extension::{EncodingKey, PerMessageExtension};
use socketwire::ws::{Config, Connection, Event, MessageKind, ProtocolError, Role};

/// Calls into the compressor, across every connection that shares it.
#[derive(Default)]
struct Counts {
    encode: AtomicUsize,
    encode_shared: AtomicUsize,
}

/// permessage-deflate with its compressor calls counted.
struct Counted {
    inner: PerMessageDeflate,
    counts: Arc<Counts>,
}

impl PerMessageExtension for Counted {
    fn should_encode(&self, len: usize) -> bool {
        self.inner.should_encode(len)
    }
    fn encode(&mut self, input: &[u8], fin: bool, out: &mut BytesMut) {
        self.counts.encode.fetch_add(1, Ordering::Relaxed);
        self.inner.encode(input, fin, out)
    }
    fn decode(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        max_out: u64,
    ) -> Result<(), ProtocolError> {
        self.inner.decode(input, fin, out, max_out)
    }
    fn shared_encoding(&self, len: usize) -> Option<EncodingKey> {
        self.inner.shared_encoding(len)
    }
    fn encode_shared(&self, input: &[u8], out: &mut BytesMut) -> bool {
        self.counts.encode_shared.fetch_add(1, Ordering::Relaxed);
        self.inner.encode_shared(input, out)
    }
}

const NO_TAKEOVER: DeflateParams = DeflateParams {
    server_no_context_takeover: true,
    client_no_context_takeover: true,
    server_max_window_bits: None,
    client_max_window_bits: None,
};

fn server(params: DeflateParams, counts: &Arc<Counts>, pool: Option<&DeflatePool>) -> Connection {
    let mut ext = PerMessageDeflate::new(Role::Server, params, &DeflateConfig::default());
    if let Some(pool) = pool {
        ext = ext.with_pool(pool);
    }
    Connection::server(Config::default()).with_extension(Counted {
        inner: ext,
        counts: counts.clone(),
    })
}

fn client(params: DeflateParams, pool: Option<&DeflatePool>) -> Connection {
    let mut ext = PerMessageDeflate::new(Role::Client, params, &DeflateConfig::default());
    if let Some(pool) = pool {
        ext = ext.with_pool(pool);
    }
    Connection::client(Config::default(), || [7, 1, 9, 3]).with_extension(ext)
}

/// Moves what `from` has to send into `to` and returns `to`'s events.
fn deliver(from: &mut Connection, to: &mut Connection) -> Vec<Event> {
    let mut wire = BytesMut::new();
    from.poll_transmit(&mut wire);
    to.handle_input(&wire);
    std::iter::from_fn(|| to.poll_event()).collect()
}

/// Whether the first frame of what `c` has to send has RSV1 set (compressed).
fn first_frame_compressed(c: &Connection) -> bool {
    c.transmit_chunks().next().is_some_and(|f| f[0] & 0x40 != 0)
}

fn payload() -> Bytes {
    Bytes::from(
        (0..200)
            .map(|i| format!("{{\"user\":\"u{}\",\"text\":\"hello room\"}}", i % 7))
            .collect::<String>(),
    )
}

#[test]
fn broadcast_to_a_thousand_no_takeover_connections_compresses_once() {
    let counts = Arc::new(Counts::default());
    let mut servers: Vec<Connection> = (0..1000)
        .map(|_| server(NO_TAKEOVER, &counts, None))
        .collect();
    let mut clients: Vec<Connection> = (0..1000).map(|_| client(NO_TAKEOVER, None)).collect();
    let text = payload();
    let message = servers[0].prepare(MessageKind::Text, text.clone()).unwrap();
    let encoded = message.encoded().expect("compressed once").clone();
    assert!(
        encoded.len() * 4 < text.len(),
        "{} of {}",
        encoded.len(),
        text.len()
    );
    for (s, c) in servers.iter_mut().zip(clients.iter_mut()) {
        s.send_prepared(&message).unwrap();
        assert!(first_frame_compressed(s));
        let events = deliver(s, c);
        assert!(
            matches!(&events[..], [Event::Text(t)] if t.as_bytes() == &text[..]),
            "{events:?}"
        );
    }
    assert_eq!(counts.encode_shared.load(Ordering::Relaxed), 1);
    assert_eq!(counts.encode.load(Ordering::Relaxed), 0);
    // The same prepared message again: still no compression.
    for (s, c) in servers.iter_mut().zip(clients.iter_mut()).take(10) {
        s.send_prepared(&message).unwrap();
        assert_eq!(deliver(s, c).len(), 1);
    }
    assert_eq!(counts.encode_shared.load(Ordering::Relaxed), 1);
    assert_eq!(counts.encode.load(Ordering::Relaxed), 0);
}

#[test]
fn recipients_with_another_key_or_context_takeover_compress_for_themselves() {
    let counts = Arc::new(Counts::default());
    let shared = server(NO_TAKEOVER, &counts, None);
    let text = payload();
    let message = shared.prepare(MessageKind::Text, text.clone()).unwrap();
    assert_eq!(counts.encode_shared.load(Ordering::Relaxed), 1);

    let takeover = DeflateParams::default();
    let small_window = DeflateParams {
        server_max_window_bits: Some(10),
        ..NO_TAKEOVER
    };
    for params in [takeover, small_window] {
        let mut s = server(params, &counts, None);
        let mut c = client(params, None);
        let before = counts.encode.load(Ordering::Relaxed);
        s.send_prepared(&message).unwrap();
        assert_eq!(
            counts.encode.load(Ordering::Relaxed),
            before + 1,
            "{params:?}"
        );
        let events = deliver(&mut s, &mut c);
        assert!(matches!(&events[..], [Event::Text(t)] if t.as_bytes() == &text[..]));
    }
    // No extension: the plain payload.
    let mut plain = Connection::server(Config::default());
    let mut peer = Connection::client(Config::default(), || [0; 4]);
    plain.send_prepared(&message).unwrap();
    assert!(!first_frame_compressed(&plain));
    let events = deliver(&mut plain, &mut peer);
    assert!(matches!(&events[..], [Event::Text(t)] if t.as_bytes() == &text[..]));
    // Below the threshold nothing is compressed, prepared or not.
    let short = shared
        .prepare(MessageKind::Binary, Bytes::from_static(b"hi"))
        .unwrap();
    assert!(short.encoded().is_none());
    assert_eq!(counts.encode_shared.load(Ordering::Relaxed), 1);
}

#[test]
fn a_client_sends_the_shared_bytes_masked() {
    let counts = Arc::new(Counts::default());
    let ext = PerMessageDeflate::new(Role::Client, NO_TAKEOVER, &DeflateConfig::default());
    let mut sender = Connection::client(Config::default(), || [0xa5, 0x5a, 0x01, 0xff])
        .with_extension(Counted {
            inner: ext,
            counts: counts.clone(),
        });
    let mut receiver = server(NO_TAKEOVER, &Arc::new(Counts::default()), None);
    let text = payload();
    let message = sender.prepare(MessageKind::Binary, text.clone()).unwrap();
    sender.send_prepared(&message).unwrap();
    let events = deliver(&mut sender, &mut receiver);
    assert!(
        matches!(&events[..], [Event::Binary(b)] if b[..] == text[..]),
        "{events:?}"
    );
    assert_eq!(counts.encode.load(Ordering::Relaxed), 0);
}

#[test]
fn a_prepared_message_does_not_disturb_a_message_being_streamed() {
    let counts = Arc::new(Counts::default());
    let mut s = server(NO_TAKEOVER, &counts, None);
    let mut c = client(NO_TAKEOVER, None);
    s.send_fragment(
        MessageKind::Text,
        b"first half of a streamed message, ",
        false,
    )
    .unwrap();
    // Preparing runs its own compressor; sending must wait for the stream's end.
    let message = s.prepare(MessageKind::Text, payload()).unwrap();
    assert!(s.send_prepared(&message).is_err());
    s.send_fragment(MessageKind::Text, b"second half", true)
        .unwrap();
    s.send_prepared(&message).unwrap();
    let events = deliver(&mut s, &mut c);
    let texts: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::Text(t) => String::from(t.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts[0], "first half of a streamed message, second half");
    assert_eq!(texts[1].as_bytes(), &payload()[..]);
}

#[test]
fn pooled_connections_borrow_states_per_message() {
    let pool = DeflatePool::new(8);
    let counts = Arc::new(Counts::default());
    let mut pairs: Vec<(Connection, Connection)> = (0..100)
        .map(|_| {
            (
                server(NO_TAKEOVER, &counts, Some(&pool)),
                client(NO_TAKEOVER, Some(&pool)),
            )
        })
        .collect();
    let text = payload();
    for round in 0..3 {
        for (s, c) in pairs.iter_mut() {
            // Each side sends its own message (no prepared bytes here).
            s.send_text(std::str::from_utf8(&text).unwrap()).unwrap();
            let events = deliver(s, c);
            assert!(
                matches!(&events[..], [Event::Text(t)] if t.as_bytes() == &text[..]),
                "round {round}"
            );
            c.send_binary(&text).unwrap();
            let events = deliver(c, s);
            assert!(matches!(&events[..], [Event::Binary(b)] if b[..] == text[..]));
        }
    }
    // 600 messages, one at a time: one compressor and one decompressor at a
    // time, and they always go back.
    assert_eq!(counts.encode.load(Ordering::Relaxed), 300);
    assert_eq!(pool.built(), 2);
    assert_eq!(pool.idle(), (1, 1));
}

#[test]
fn the_pool_keeps_at_most_max_idle_states() {
    let pool = DeflatePool::new(2);
    let mut senders: Vec<PerMessageDeflate> = (0..5)
        .map(|_| {
            PerMessageDeflate::new(Role::Server, NO_TAKEOVER, &DeflateConfig::default())
                .with_pool(&pool)
        })
        .collect();
    let mut out = BytesMut::new();
    // Five messages in flight at once (first frames only), then all end.
    for s in senders.iter_mut() {
        s.encode(b"part one of a long message ", false, &mut out);
    }
    assert_eq!(pool.built(), 5);
    assert_eq!(pool.idle(), (0, 0));
    for s in senders.iter_mut() {
        s.encode(b"and its end", true, &mut out);
    }
    assert_eq!(pool.idle(), (2, 0));
}
