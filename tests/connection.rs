//! RFC 6455 connection behaviour: spec vectors, every rejection rule with its
//! close code, the close handshake, ping/pong, limits, timers and a client/server pair.

mod util;

use core::time::Duration;

use bytes::BytesMut;
use socketwire::ws::{CloseCode, Config, Connection, Event, ProtocolError, State};
use socketwire::ws::{ClosedBy, EventRef};
use socketwire::ws::{Limits, MessageKind};
use util::{Pair, client_frame, drain, frame};

fn server_events(input: &[u8]) -> (Vec<Event>, Vec<u8>) {
    let mut s = Connection::server(Config::default());
    s.handle_input(input);
    let events = drain(&mut s);
    let mut out = BytesMut::new();
    s.poll_transmit(&mut out);
    (events, out.to_vec())
}

#[test]
fn rfc_5_7_masked_hello() {
    let (events, _) = server_events(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    assert_eq!(events, vec![Event::Text("Hello".into())]);
}

#[test]
fn rfc_5_7_unmasked_hello_and_fragments_to_client() {
    let mut c = Connection::client(Config::default(), || [0; 4]);
    c.handle_input(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    c.handle_input(&[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    c.handle_input(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    let events = drain(&mut c);
    assert_eq!(
        events,
        vec![
            Event::Text("Hello".into()),
            Event::Text("Hello".into()),
            Event::Ping("Hello".into())
        ]
    );
    let mut out = BytesMut::new();
    c.poll_transmit(&mut out);
    // Masked pong "Hello" with the key [0; 4].
    assert_eq!(
        &out[..],
        &[0x8a, 0x85, 0, 0, 0, 0, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
}

#[test]
fn rfc_5_7_binary_256_and_64k() {
    let mut s = Connection::client(Config::default(), || [0; 4]);
    let mut input = vec![0x82, 0x7e, 0x01, 0x00];
    input.extend(std::iter::repeat_n(7u8, 256));
    input.extend([0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
    input.extend(std::iter::repeat_n(9u8, 65536));
    s.handle_input(&input);
    let events = drain(&mut s);
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[0], Event::Binary(b) if b.len() == 256 && b.iter().all(|&x| x == 7)));
    assert!(
        matches!(&events[1], Event::Binary(b) if b.len() == 65536 && b.iter().all(|&x| x == 9))
    );
}

/// Every §5 violation, with the close code it must produce.
#[test]
fn rejection_table() {
    let m = Some([1, 2, 3, 4]);
    let long = [b'a'; 126];
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("reserved opcode 3", frame(true, 0, 0x3, m, b""), 1002),
        ("reserved opcode 7", frame(true, 0, 0x7, m, b""), 1002),
        ("reserved opcode B", frame(true, 0, 0xB, m, b""), 1002),
        ("reserved opcode F", frame(true, 0, 0xF, m, b""), 1002),
        ("RSV1 without extension", frame(true, 4, 0x1, m, b"a"), 1002),
        ("RSV2", frame(true, 2, 0x2, m, b"a"), 1002),
        ("RSV3", frame(true, 1, 0x9, m, b""), 1002),
        (
            "unmasked client frame",
            frame(true, 0, 0x1, None, b"a"),
            1002,
        ),
        ("ping > 125", frame(true, 0, 0x9, m, &long), 1002),
        ("fragmented ping", frame(false, 0, 0x9, m, b""), 1002),
        (
            "fragmented close",
            frame(false, 0, 0x8, m, &[3, 0xe8]),
            1002,
        ),
        (
            "continuation without message",
            frame(true, 0, 0x0, m, b"a"),
            1002,
        ),
        (
            "text inside fragmented text",
            [frame(false, 0, 0x1, m, b"a"), frame(true, 0, 0x1, m, b"b")].concat(),
            1002,
        ),
        ("close with 1 byte", frame(true, 0, 0x8, m, &[3]), 1002),
        (
            "close code 999",
            frame(true, 0, 0x8, m, &999u16.to_be_bytes()),
            1002,
        ),
        (
            "close code 1004",
            frame(true, 0, 0x8, m, &1004u16.to_be_bytes()),
            1002,
        ),
        (
            "close code 1005",
            frame(true, 0, 0x8, m, &1005u16.to_be_bytes()),
            1002,
        ),
        (
            "close code 1006",
            frame(true, 0, 0x8, m, &1006u16.to_be_bytes()),
            1002,
        ),
        (
            "close code 1015",
            frame(true, 0, 0x8, m, &1015u16.to_be_bytes()),
            1002,
        ),
        (
            "close code 2999",
            frame(true, 0, 0x8, m, &2999u16.to_be_bytes()),
            1002,
        ),
        (
            "close code 5000",
            frame(true, 0, 0x8, m, &5000u16.to_be_bytes()),
            1002,
        ),
        (
            "close reason bad UTF-8",
            frame(true, 0, 0x8, m, &[0x03, 0xe8, 0xff]),
            1007,
        ),
        (
            "text bad UTF-8",
            frame(true, 0, 0x1, m, &[0xce, 0xba, 0xff]),
            1007,
        ),
        (
            "text truncated code point",
            frame(true, 0, 0x1, m, &[0xce]),
            1007,
        ),
        (
            "fragmented text ends mid code point",
            [
                frame(false, 0, 0x1, m, &[0xe2, 0x82]),
                frame(true, 0, 0x0, m, b""),
            ]
            .concat(),
            1007,
        ),
        (
            "non-minimal 16-bit length",
            vec![0x82, 0xfe, 0x00, 0x05, 1, 2, 3, 4],
            1002,
        ),
        (
            "non-minimal 64-bit length",
            vec![0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x01, 0x00],
            1002,
        ),
        (
            "64-bit length top bit",
            vec![0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0],
            1002,
        ),
        (
            "frame over max_frame_size",
            vec![
                0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4,
            ],
            1009,
        ),
    ];
    for (name, input, code) in cases {
        let (events, out) = server_events(&input);
        let closed = events.iter().find_map(|e| match e {
            Event::Closed {
                code,
                by: ClosedBy::ProtocolError(_),
            } => Some(code.0),
            _ => None,
        });
        assert_eq!(closed, Some(code), "{name}: events {events:?}");
        // The close frame we sent carries the same code and nothing follows it.
        let tail = &out[out.len() - 4..];
        assert_eq!(
            tail,
            [&[0x88, 0x02][..], &code.to_be_bytes()].concat(),
            "{name}: sent {out:02x?}"
        );
    }
}

#[test]
fn masked_frame_to_client_is_rejected() {
    let mut c = Connection::client(Config::default(), || [0; 4]);
    c.handle_input(&frame(true, 0, 0x1, Some([1, 1, 1, 1]), b"x"));
    let events = drain(&mut c);
    assert_eq!(
        events,
        vec![Event::Closed {
            code: CloseCode::PROTOCOL_ERROR,
            by: ClosedBy::ProtocolError(ProtocolError::MaskedFrame)
        }]
    );
}

#[test]
fn invalid_utf8_fails_before_the_message_ends() {
    let mut s = Connection::server(Config::default());
    // First fragment valid, second fragment invalid, no final fragment ever sent.
    s.handle_input(&client_frame(false, 0x1, "κόσμε".as_bytes()));
    assert_eq!(drain(&mut s), vec![]);
    s.handle_input(&client_frame(false, 0x0, &[0xed, 0xa0, 0x80]));
    assert!(matches!(
        drain(&mut s)[..],
        [Event::Closed {
            code: CloseCode::INVALID_PAYLOAD,
            ..
        }]
    ));
}

#[test]
fn invalid_utf8_fails_inside_a_partial_frame() {
    let mut s = Connection::server(Config::default());
    let f = client_frame(true, 0x1, &[b'a', b'b', 0xff, b'c', b'd', b'e']);
    // Only part of the payload has arrived: the bad byte is already seen.
    s.handle_input(&f[..9]);
    assert!(matches!(
        drain(&mut s)[..],
        [Event::Closed {
            code: CloseCode::INVALID_PAYLOAD,
            ..
        }]
    ));
}

#[test]
fn control_frames_interleave_with_fragments() {
    let mut s = Connection::server(Config::default());
    let input = [
        client_frame(false, 0x1, b"Hel"),
        client_frame(true, 0x9, b"p"),
        client_frame(false, 0x0, b"l"),
        client_frame(true, 0xA, b"q"),
        client_frame(true, 0x0, b"o"),
    ]
    .concat();
    s.handle_input(&input);
    assert_eq!(
        drain(&mut s),
        vec![
            Event::Ping("p".into()),
            Event::Pong("q".into()),
            Event::Text("Hello".into())
        ]
    );
}

#[test]
fn close_handshake_server_initiated() {
    let mut p = Pair::new(Config::default());
    p.server.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(p.server.state(), State::LocalClosing);
    assert!(p.server.send_binary(b"x").is_err());
    let ev = p.deliver_to_client();
    assert_eq!(
        ev,
        vec![
            Event::Close {
                code: CloseCode::NORMAL,
                reason: "done".into()
            },
            Event::Closed {
                code: CloseCode::NORMAL,
                by: ClosedBy::Handshake
            }
        ]
    );
    assert_eq!(p.client.state(), State::Closed);
    let ev = p.deliver_to_server();
    assert!(matches!(
        ev[..],
        [
            Event::Close { .. },
            Event::Closed {
                by: ClosedBy::Handshake,
                ..
            }
        ]
    ));
    assert_eq!(p.server.state(), State::Closed);
    // Nothing more is sent by either side.
    let mut out = BytesMut::new();
    assert_eq!(
        p.server.poll_transmit(&mut out) + p.client.poll_transmit(&mut out),
        0
    );
}

#[test]
fn empty_close_is_echoed_empty_and_reported_as_1005() {
    let (events, out) = server_events(&client_frame(true, 0x8, b""));
    assert_eq!(
        events[0],
        Event::Close {
            code: CloseCode::NO_STATUS,
            reason: String::new()
        }
    );
    assert_eq!(out, [0x88, 0x00]);
}

#[test]
fn data_after_close_is_ignored() {
    let input = [
        client_frame(true, 0x8, &[3, 0xe8]),
        client_frame(true, 0x1, b"late"),
    ]
    .concat();
    let (events, out) = server_events(&input);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(out, [0x88, 0x02, 3, 0xe8]); // the echo
}

#[test]
fn eof_is_a_local_1006() {
    let mut s = Connection::server(Config::default());
    s.handle_input(&client_frame(false, 0x2, b"partial"));
    s.handle_eof();
    assert_eq!(
        drain(&mut s),
        vec![Event::Closed {
            code: CloseCode::ABNORMAL,
            by: ClosedBy::Eof
        }]
    );
    let mut out = BytesMut::new();
    assert_eq!(s.poll_transmit(&mut out), 0, "1006 is never sent");
}

#[test]
fn ping_flood_queues_bounded_pongs() {
    let mut s = Connection::server(Config::default());
    let ping = client_frame(true, 0x9, b"0123456789");
    for _ in 0..10_000 {
        s.handle_input(&ping);
    }
    let events = drain(&mut s);
    assert_eq!(events.len(), 10_000);
    let mut out = BytesMut::new();
    let n = s.poll_transmit(&mut out);
    assert_eq!(n, socketwire::ws::connection::MAX_QUEUED_PONGS * 12);

    // The same flood while the transport is stuck or takes a byte at a time:
    // the pongs waiting in the output stay bounded.
    for per_write in [0, 1] {
        let mut s = Connection::server(Config::default());
        for _ in 0..10_000 {
            s.handle_input(&ping);
            drain(&mut s);
            s.advance_transmit(per_write);
        }
        let pending: usize = s.transmit_chunks().map(<[u8]>::len).sum();
        assert_eq!(s.buffered_amount(), pending);
        assert!(
            pending <= (socketwire::ws::connection::MAX_QUEUED_PONGS + 1) * 12,
            "{pending} bytes pending after writes of {per_write}"
        );
    }
}

#[test]
fn pongs_keep_their_place_in_the_output() {
    let mut s = Connection::server(Config::default());
    s.send_text("a").unwrap();
    s.handle_input(&client_frame(true, 0x9, b"p"));
    drain(&mut s);
    s.send_text("b").unwrap();
    let mut out = BytesMut::new();
    s.poll_transmit(&mut out);
    assert_eq!(&out[..], &[0x81, 1, b'a', 0x8a, 1, b'p', 0x81, 1, b'b']);
}

#[test]
fn api_misuse_is_reported_not_panicked() {
    let mut s = Connection::server(Config::default());
    assert!(s.close(CloseCode::ABNORMAL, "").is_err());
    assert!(s.close(CloseCode(1005), "").is_err());
    assert!(s.close(CloseCode::NORMAL, &"x".repeat(124)).is_err());
    assert!(s.pong(&[0; 126]).is_err());
    s.send_fragment(MessageKind::Text, b"a", false).unwrap();
    assert!(
        s.send_text("b").is_err(),
        "a whole message inside a streamed one"
    );
    s.send_fragment(MessageKind::Text, b"c", true).unwrap();
    s.close(CloseCode::NORMAL, "").unwrap();
    assert!(s.close(CloseCode::NORMAL, "").is_err());
    assert!(s.ping(b"").is_err());
}

#[test]
fn message_limits() {
    let limits = Limits {
        max_frame_size: 100,
        max_message_size: 150,
        max_fragments: 3,
    };
    let cfg = Config {
        limits,
        ..Config::default()
    };
    let run = |input: Vec<u8>| {
        let mut s = Connection::server(cfg.clone());
        s.handle_input(&input);
        drain(&mut s)
    };
    let too_big_frame = run(client_frame(true, 0x2, &[0; 101]));
    assert!(matches!(
        too_big_frame[..],
        [Event::Closed {
            code: CloseCode::MESSAGE_TOO_BIG,
            ..
        }]
    ));
    let too_big_message = run([
        client_frame(false, 0x2, &[0; 100]),
        client_frame(true, 0x0, &[0; 51]),
    ]
    .concat());
    assert!(matches!(
        too_big_message[..],
        [Event::Closed {
            code: CloseCode::MESSAGE_TOO_BIG,
            ..
        }]
    ));
    let too_many = run([
        client_frame(false, 0x2, b""),
        client_frame(false, 0x0, b""),
        client_frame(false, 0x0, b""),
        client_frame(true, 0x0, b""),
    ]
    .concat());
    assert!(matches!(
        too_many[..],
        [Event::Closed {
            by: ClosedBy::ProtocolError(ProtocolError::TooManyFragments { max: 3 }),
            ..
        }]
    ));
    let fits = run([
        client_frame(false, 0x2, &[1; 100]),
        client_frame(true, 0x0, &[2; 50]),
    ]
    .concat());
    assert!(matches!(&fits[..], [Event::Binary(b)] if b.len() == 150));

    // A frame over the message limit fails as soon as its header is in, not once
    // all of it has arrived.
    let mut s = Connection::server(Config {
        limits: Limits {
            max_frame_size: 1000,
            max_message_size: 150,
            max_fragments: 3,
        },
        ..Config::default()
    });
    let frame = client_frame(true, 0x2, &[0; 200]);
    s.handle_input(&frame[..8 + 10]);
    assert!(matches!(
        drain(&mut s)[..],
        [Event::Closed {
            code: CloseCode::MESSAGE_TOO_BIG,
            ..
        }]
    ));
    // A small binary frame in pieces: nothing until it is whole, then one event.
    let mut s = Connection::server(Config::default());
    let frame = client_frame(true, 0x2, &[7; 1000]);
    for piece in frame.chunks(300) {
        assert!(drain(&mut s).is_empty());
        s.handle_input(piece);
    }
    assert!(matches!(&drain(&mut s)[..], [Event::Binary(b)] if b[..] == [7; 1000]));
}

#[test]
fn streaming_mode_hands_out_chunks() {
    let cfg = Config {
        streaming: true,
        ..Config::default()
    };
    let mut s = Connection::server(cfg);
    let f1 = client_frame(false, 0x1, b"Hello, ");
    let f2 = client_frame(true, 0x0, "wörld".as_bytes());
    s.handle_input(&f1);
    s.handle_input(&f2[..8]); // part of the second frame
    let mut events = drain(&mut s);
    s.handle_input(&f2[8..]);
    events.extend(drain(&mut s));
    let mut text = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Event::Fragment(f) = e else {
            panic!("{e:?}")
        };
        assert_eq!(f.kind, MessageKind::Text);
        assert_eq!(f.first, i == 0);
        assert_eq!(f.last, i == events.len() - 1);
        text.extend_from_slice(&f.data);
    }
    assert_eq!(text, "Hello, wörld".as_bytes());
    // Streaming mode still validates UTF-8 as it goes.
    let mut s = Connection::server(Config {
        streaming: true,
        ..Config::default()
    });
    s.handle_input(&client_frame(false, 0x1, &[0xff]));
    assert!(matches!(
        drain(&mut s)[..],
        [Event::Closed {
            code: CloseCode::INVALID_PAYLOAD,
            ..
        }]
    ));
}

#[test]
fn keepalive_and_idle_timeout() {
    let cfg = Config {
        keepalive_interval: Some(Duration::from_secs(10)),
        idle_timeout: Some(Duration::from_secs(25)),
        ..Config::default()
    };
    let mut s = Connection::server(cfg);
    s.handle_timeout(Duration::ZERO);
    assert_eq!(s.poll_timeout(), Some(Duration::from_secs(10)));
    s.handle_timeout(Duration::from_secs(10));
    let mut out = BytesMut::new();
    s.poll_transmit(&mut out);
    assert_eq!(&out[..], &[0x89, 0x00]);
    // Input at 12 s is stamped at the next timer call and pushes the idle deadline.
    s.handle_input(&client_frame(true, 0xA, b""));
    drain(&mut s);
    s.handle_timeout(Duration::from_secs(12));
    s.handle_timeout(Duration::from_secs(30));
    assert_eq!(s.state(), State::Open);
    s.handle_timeout(Duration::from_secs(37));
    assert!(matches!(
        drain(&mut s)[..],
        [Event::Closed {
            code: CloseCode::ABNORMAL,
            by: ClosedBy::IdleTimeout
        }]
    ));
    assert_eq!(s.poll_timeout(), None);
}

/// Taking the input buffer is not input: a read that would block (nothing
/// appended) leaves the idle deadline where it was; bytes appended move it,
/// whether they are read by the fast path, the owned path or the general path.
#[test]
fn idle_timeout_counts_only_bytes_appended_to_the_input_buffer() {
    let cfg = Config {
        idle_timeout: Some(Duration::from_secs(10)),
        ..Config::default()
    };
    let idle_closed = |s: &mut Connection| {
        drain(s).iter().any(|e| {
            matches!(
                e,
                Event::Closed {
                    by: ClosedBy::IdleTimeout,
                    ..
                }
            )
        })
    };
    // Nothing appended: the connection goes idle on time, however often the
    // buffer was taken.
    let mut s = Connection::server(cfg.clone());
    s.handle_timeout(Duration::ZERO);
    for t in 1..10 {
        let _ = s.input_buffer();
        s.handle_timeout(Duration::from_secs(t));
        assert!(s.poll_event().is_none());
    }
    let _ = s.input_buffer();
    s.handle_timeout(Duration::from_secs(10));
    assert!(idle_closed(&mut s));

    // Bytes appended at 5 s push the deadline to 15 s, read by each path.
    let ping = client_frame(true, 0x9, b"");
    let binary = client_frame(true, 0x2, b"abc");
    for (frame, borrowed) in [(&ping, false), (&binary, true), (&binary, false)] {
        let mut s = Connection::server(cfg.clone());
        s.handle_timeout(Duration::ZERO);
        s.input_buffer().extend_from_slice(frame);
        if borrowed {
            assert!(matches!(
                s.poll_event_borrowed(),
                Some(EventRef::Binary(b"abc"))
            ));
        } else {
            assert!(s.poll_event().is_some());
        }
        let _ = s.input_buffer(); // a later read that would block
        s.handle_timeout(Duration::from_secs(5));
        s.handle_timeout(Duration::from_secs(14));
        assert!(!idle_closed(&mut s), "{frame:?}, borrowed: {borrowed}");
        s.handle_timeout(Duration::from_secs(15));
        assert!(idle_closed(&mut s), "{frame:?}, borrowed: {borrowed}");
    }
}

#[test]
fn close_timeout() {
    let mut s = Connection::server(Config {
        close_timeout: Some(Duration::from_secs(5)),
        ..Config::default()
    });
    s.close(CloseCode::GOING_AWAY, "").unwrap();
    s.handle_timeout(Duration::from_secs(100));
    assert_eq!(s.poll_timeout(), Some(Duration::from_secs(105)));
    s.handle_timeout(Duration::from_secs(105));
    assert!(matches!(
        drain(&mut s)[..],
        [Event::Closed {
            by: ClosedBy::CloseTimeout,
            ..
        }]
    ));
}

#[test]
fn timers_saturate_near_duration_max() {
    // Deadlines past Duration::MAX saturate instead of overflowing.
    let huge = Duration::MAX - Duration::from_secs(1);
    let mut s = Connection::server(Config {
        keepalive_interval: Some(Duration::MAX),
        idle_timeout: Some(Duration::MAX),
        close_timeout: Some(Duration::MAX),
        ..Config::default()
    });
    s.handle_timeout(huge);
    assert_eq!(s.poll_timeout(), Some(Duration::MAX));
    s.close(CloseCode::NORMAL, "").unwrap();
    s.handle_timeout(huge);
    assert_eq!(s.state(), State::LocalClosing);
    assert_eq!(s.poll_timeout(), Some(Duration::MAX));
    s.handle_timeout(Duration::MAX);
    assert!(matches!(
        drain(&mut s)[..],
        [Event::Closed {
            by: ClosedBy::CloseTimeout,
            ..
        }]
    ));
    // A keepalive that comes due at Duration::MAX pings and stays armed.
    let mut s = Connection::server(Config {
        keepalive_interval: Some(Duration::from_secs(5)),
        ..Config::default()
    });
    s.handle_timeout(huge);
    s.handle_timeout(Duration::MAX);
    assert_eq!(s.poll_timeout(), Some(Duration::MAX));
    let mut out = BytesMut::new();
    s.poll_transmit(&mut out);
    assert_eq!(&out[..], &[0x89, 0x00]);
    assert_eq!(s.state(), State::Open);
}

#[test]
fn pair_exchanges_messages_both_ways() {
    let mut p = Pair::new(Config::default());
    p.client.send_text("hello server").unwrap();
    p.client.send_binary(&[0u8; 70_000]).unwrap();
    p.client.ping(b"?").unwrap();
    let ev = p.deliver_to_server();
    assert_eq!(ev[0], Event::Text("hello server".into()));
    assert!(matches!(&ev[1], Event::Binary(b) if b.len() == 70_000));
    assert_eq!(ev[2], Event::Ping("?".into()));
    p.server.send_text("hello client").unwrap();
    let ev = p.deliver_to_client();
    assert_eq!(
        ev,
        vec![Event::Pong("?".into()), Event::Text("hello client".into())]
    );
}

#[test]
fn client_send_owned_masks_in_place_and_arrives_intact() {
    let mut p = Pair::new(Config::default());
    let text: String = (0..3000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let binary: Vec<u8> = (0..5000u32).map(|i| (i * 7).to_le_bytes()[0]).collect();
    p.client.send_text("before").unwrap();
    p.client
        .send_owned(MessageKind::Text, BytesMut::from(text.as_bytes()))
        .unwrap();
    p.client
        .send_owned(MessageKind::Binary, BytesMut::from(&binary[..]))
        .unwrap();
    // Short payloads are copied, as send_binary does.
    p.client
        .send_owned(MessageKind::Binary, BytesMut::from(&b"short"[..]))
        .unwrap();
    assert!(
        p.client
            .send_owned(MessageKind::Text, BytesMut::from(&b"\xff\xfe"[..]))
            .is_err()
    );
    let ev = p.deliver_to_server();
    assert_eq!(ev.len(), 4, "{ev:?}");
    assert_eq!(ev[0], Event::Text("before".into()));
    assert!(matches!(&ev[1], Event::Text(t) if t.as_bytes() == text.as_bytes()));
    assert!(matches!(&ev[2], Event::Binary(b) if b[..] == binary[..]));
    assert!(matches!(&ev[3], Event::Binary(b) if &b[..] == b"short"));
    // A server queues the buffer as it is.
    p.server
        .send_owned(MessageKind::Binary, BytesMut::from(&binary[..]))
        .unwrap();
    let ev = p.deliver_to_client();
    assert!(matches!(&ev[..], [Event::Binary(b)] if b[..] == binary[..]));
}
