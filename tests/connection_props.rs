//! Property tests: masking equals the naive oracle, messages round trip through a
//! client/server pair under any fragmentation, and the events do not depend on how
//! the input is chunked (whole, byte by byte, or at random cuts).

mod util;

use bytes::BytesMut;
use proptest::prelude::*;
use socketwire::ws::MessageKind;
use socketwire::ws::mask::{Masker, apply_mask, apply_mask_naive};
use socketwire::ws::{Config, Connection, Event};
use util::{Pair, drain};

#[derive(Debug, Clone)]
enum Send {
    Message(MessageKind, Vec<u8>, Vec<usize>),
    Ping(Vec<u8>),
}

fn send_strategy() -> impl Strategy<Value = Send> {
    prop_oneof![
        (any::<String>(), prop::collection::vec(0usize..40, 0..4))
            .prop_map(|(s, cuts)| Send::Message(MessageKind::Text, s.into_bytes(), cuts)),
        (
            prop::collection::vec(any::<u8>(), 0..300),
            prop::collection::vec(0usize..300, 0..4)
        )
            .prop_map(|(b, cuts)| Send::Message(MessageKind::Binary, b, cuts)),
        prop::collection::vec(any::<u8>(), 0..=125).prop_map(Send::Ping),
    ]
}

/// Sends `item` from the client, fragmenting at `cuts` (which may split code points).
fn send(c: &mut Connection, item: &Send) {
    match item {
        Send::Ping(p) => c.ping(p).unwrap(),
        Send::Message(kind, data, cuts) => {
            let mut points: Vec<usize> = cuts.iter().map(|&x| x.min(data.len())).collect();
            points.sort_unstable();
            let mut start = 0;
            for p in points {
                c.send_fragment(*kind, &data[start..p], false).unwrap();
                start = p;
            }
            c.send_fragment(*kind, &data[start..], true).unwrap();
        }
    }
}

fn expected(item: &Send) -> Event {
    match item {
        Send::Ping(p) => Event::Ping(p.clone().into()),
        Send::Message(MessageKind::Text, d, _) => {
            Event::Text(socketwire::Utf8Bytes::try_from(bytes::Bytes::from(d.clone())).unwrap())
        }
        Send::Message(MessageKind::Binary, d, _) => Event::Binary(d.clone().into()),
    }
}

fn feed_in_pieces(input: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut s = Connection::server(Config::default());
    let mut events = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut start = 0;
    for p in points.into_iter().chain([input.len()]) {
        s.handle_input(&input[start..p]);
        events.extend(drain(&mut s));
        start = p;
    }
    events
}

/// The same as `feed_in_pieces`, through `poll_event_borrowed`, with lent
/// messages turned into owned events.
fn feed_in_pieces_borrowed(input: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut s = Connection::server(Config::default());
    let mut events = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut start = 0;
    for p in points.into_iter().chain([input.len()]) {
        s.handle_input(&input[start..p]);
        while let Some(e) = s.poll_event_borrowed() {
            events.push(e.into_owned());
        }
        start = p;
    }
    events
}

/// The same as `feed_in_pieces`, each piece handed over either with
/// `handle_input` (which unmasks a frame's payload as it copies it) or by
/// appending to `input_buffer` (unmasked in place when read), and events polled
/// after a piece only where `poll` says so.
fn feed_mixed(input: &[u8], cuts: &[usize], via_buffer: &[bool], poll: &[bool]) -> Vec<Event> {
    let mut s = Connection::server(Config::default());
    let mut events = Vec::new();
    let mut points: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut start = 0;
    for (i, p) in points.into_iter().chain([input.len()]).enumerate() {
        let piece = &input[start..p];
        if via_buffer.get(i).copied().unwrap_or(false) {
            s.input_buffer().extend_from_slice(piece);
        } else {
            s.handle_input(piece);
        }
        if poll.get(i).copied().unwrap_or(true) || p == input.len() {
            events.extend(drain(&mut s));
        }
        start = p;
    }
    events
}

proptest! {
    #[test]
    fn mask_equals_naive(data in prop::collection::vec(any::<u8>(), 0..2000),
                         key in any::<[u8; 4]>(), phase in 0usize..4, offset in 0usize..16) {
        let offset = offset.min(data.len());
        let mut fast = data.clone();
        let mut slow = data.clone();
        apply_mask(&mut fast[offset..], key, phase);
        apply_mask_naive(&mut slow[offset..], key, phase);
        prop_assert_eq!(&fast, &slow);
        // Chunked masking carries the key phase.
        let mut chunked = data.clone();
        let mut m = Masker::new(key);
        let (a, b) = chunked.split_at_mut(offset);
        m.apply(a);
        m.apply(b);
        let mut whole = data;
        apply_mask(&mut whole, key, 0);
        prop_assert_eq!(chunked, whole);
    }

    #[test]
    fn round_trip_through_a_pair(items in prop::collection::vec(send_strategy(), 0..12)) {
        let mut p = Pair::new(Config::default());
        for item in &items {
            send(&mut p.client, item);
        }
        let got = p.deliver_to_server();
        let want: Vec<Event> = items.iter().map(expected).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn chunking_invariance(items in prop::collection::vec(send_strategy(), 0..8),
                           garbage in prop::collection::vec(any::<u8>(), 0..64),
                           cuts in prop::collection::vec(any::<usize>(), 0..20)) {
        let mut p = Pair::new(Config::default());
        for item in &items {
            send(&mut p.client, item);
        }
        let mut wire = BytesMut::new();
        p.client.poll_transmit(&mut wire);
        // Random trailing bytes exercise the error paths too.
        wire.extend_from_slice(&garbage);
        let whole = feed_in_pieces(&wire, &[]);
        let byte_by_byte = feed_in_pieces(&wire, &(0..wire.len()).collect::<Vec<_>>());
        let random = feed_in_pieces(&wire, &cuts);
        prop_assert_eq!(&whole, &byte_by_byte);
        prop_assert_eq!(&whole, &random);
        // The borrowing read path gives the same events, however the input is cut.
        prop_assert_eq!(&whole, &feed_in_pieces_borrowed(&wire, &[]));
        prop_assert_eq!(&whole, &feed_in_pieces_borrowed(&wire, &cuts));
    }

    /// Unmasking while copying (`handle_input`) and unmasking in place
    /// (`input_buffer`) give the same events, in any mix and whenever the
    /// connection is polled, for frames of every size and fragmentation.
    #[test]
    fn copying_input_equals_input_buffer(
        items in prop::collection::vec(send_strategy(), 0..8),
        big in prop::collection::vec(any::<u8>(), 0..40_000),
        garbage in prop::collection::vec(any::<u8>(), 0..64),
        cuts in prop::collection::vec(any::<usize>(), 0..24),
        via_buffer in prop::collection::vec(any::<bool>(), 0..25),
        poll in prop::collection::vec(any::<bool>(), 0..25),
    ) {
        let mut p = Pair::new(Config::default());
        for item in &items {
            send(&mut p.client, item);
        }
        // One message past the size a binary message waits to be whole for.
        p.client.send_binary(&big).unwrap();
        let mut wire = BytesMut::new();
        p.client.poll_transmit(&mut wire);
        wire.extend_from_slice(&garbage);
        let all_buffer = vec![true; cuts.len() + 1];
        let reference = feed_mixed(&wire, &cuts, &all_buffer, &[]);
        prop_assert_eq!(&feed_mixed(&wire, &cuts, &[], &[]), &reference);
        prop_assert_eq!(&feed_mixed(&wire, &cuts, &via_buffer, &poll), &reference);
        prop_assert_eq!(&feed_in_pieces(&wire, &[]), &reference);
    }

    /// The chunks of `transmit_chunks` concatenate to exactly the bytes
    /// `poll_transmit` gives for the same calls, in either role, whatever mix of
    /// shared, copied and control frames was sent, however often it was drained
    /// and however the transport split its vectored writes.
    #[test]
    fn vectored_output_equals_flat_output(
        client in any::<bool>(),
        ops in prop::collection::vec((0u8..4, 0usize..3000, any::<bool>()), 0..24),
        write_sizes in prop::collection::vec(1usize..5000, 1..8),
    ) {
        use bytes::Bytes;
        let make = || if client {
            let mut n = 0u32;
            Connection::client(Config::default(), move || {
                n = n.wrapping_add(0x9e37_79b9);
                n.to_be_bytes()
            })
        } else {
            Connection::server(Config::default())
        };
        let (mut flat_conn, mut vec_conn) = (make(), make());
        let mut flat = BytesMut::new();
        let mut written: Vec<u8> = Vec::new();
        let mut writes = write_sizes.iter().cycle();
        // A transport that takes at most `max` bytes per vectored write.
        let write_some = |c: &mut Connection, written: &mut Vec<u8>, max: usize| {
            let mut n = 0;
            for chunk in c.transmit_chunks() {
                let take = chunk.len().min(max - n);
                written.extend_from_slice(&chunk[..take]);
                n += take;
                if n == max {
                    break;
                }
            }
            c.advance_transmit(n);
            n
        };
        for (i, &(op, len, drain_now)) in ops.iter().enumerate() {
            let payload: Vec<u8> = (0..len).map(|j| (i * 31 + j).to_le_bytes()[0]).collect();
            for c in [&mut flat_conn, &mut vec_conn] {
                match op {
                    0 => c.send_shared(MessageKind::Binary, Bytes::from(payload.clone())).unwrap(),
                    1 => c.send_binary(&payload).unwrap(),
                    2 => c.ping(&payload[..len.min(125)]).unwrap(),
                    _ => c.pong(&payload[..len.min(125)]).unwrap(),
                }
            }
            if drain_now {
                flat_conn.poll_transmit(&mut flat);
                write_some(&mut vec_conn, &mut written, *writes.next().unwrap());
            }
        }
        flat_conn.poll_transmit(&mut flat);
        while vec_conn.wants_transmit() {
            prop_assert!(write_some(&mut vec_conn, &mut written, *writes.next().unwrap()) > 0);
        }
        prop_assert_eq!(&written[..], &flat[..]);
    }

    #[test]
    fn arbitrary_input_never_panics(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut s = Connection::server(Config::default());
        s.handle_input(&input);
        let _ = drain(&mut s);
        let mut c = Connection::client(Config::default(), || [1, 2, 3, 4]);
        c.handle_input(&input);
        let _ = drain(&mut c);
    }
}
