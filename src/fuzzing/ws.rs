//! Harnesses for the WebSocket frame and connection fuzz targets.

use alloc::vec::Vec;

use bytes::BytesMut;

use crate::Status;
use crate::ws::frame::MAX_HEADER_LEN;
use crate::ws::{Config, Connection, Event, FrameHeader, State};

/// Decodes a header; a complete one must re-encode to the same bytes (decoding is
/// strict, so the encoding is the unique minimal one).
pub fn frame_header(data: &[u8]) {
    match FrameHeader::decode(data) {
        Ok(Status::Complete((header, len))) => {
            assert!(len <= data.len() && len <= MAX_HEADER_LEN);
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut out);
            assert_eq!(&out[..n], &data[..len]);
            assert_eq!(header.encoded_len(), len);
        }
        Ok(Status::Partial) => assert!(data.len() < MAX_HEADER_LEN),
        Err(_) => {}
    }
}

/// Feeds the input to a connection in chunks whose sizes come from the input's
/// first bytes, and checks the connection's invariants.
fn drive(mut conn: Connection, data: &[u8]) {
    let (sizes, input) = data.split_at(data.len().min(4));
    let mut rest = input;
    let mut i = 0;
    let mut events = Vec::new();
    let mut out = BytesMut::new();
    while !rest.is_empty() {
        let step = usize::from(sizes.get(i % sizes.len().max(1)).copied().unwrap_or(0)) + 1;
        let (chunk, tail) = rest.split_at(step.min(rest.len()));
        conn.handle_input(chunk);
        while let Some(e) = conn.poll_event() {
            let closed = matches!(e, Event::Closed { .. });
            events.push(e);
            if closed {
                assert_eq!(conn.state(), State::Closed);
            }
            if events.len() > 64 {
                events.clear();
            }
        }
        conn.poll_transmit(&mut out);
        out.clear();
        rest = tail;
        i += 1;
    }
    conn.handle_eof();
    while conn.poll_event().is_some() {}
    assert_eq!(conn.state(), State::Closed);
    assert!(conn.send_text("x").is_err());
}

/// A server connection (expects masked frames) under fuzzed input.
pub fn connection_server(data: &[u8]) {
    let config = Config {
        limits: small_limits(),
        ..Config::default()
    };
    drive(Connection::server(config), data);
}

/// A client connection (expects unmasked frames) under fuzzed input.
pub fn connection_client(data: &[u8]) {
    let config = Config {
        limits: small_limits(),
        ..Config::default()
    };
    drive(Connection::client(config, || [1, 2, 3, 4]), data);
}

fn small_limits() -> crate::ws::message::Limits {
    crate::ws::message::Limits {
        max_frame_size: 1 << 16,
        max_message_size: 1 << 18,
        max_fragments: 64,
    }
}
