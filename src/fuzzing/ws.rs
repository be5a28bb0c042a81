//! Harnesses for the WebSocket frame and connection fuzz targets.

use alloc::vec::Vec;

use bytes::BytesMut;

use crate::Status;
use crate::ws::frame::MAX_HEADER_LEN;
use crate::ws::{Config, Connection, Event, EventRef, FrameHeader, Limits, MessageKind, State};

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

/// Feeds the input to two identical connections in chunks whose sizes come from
/// the input's first bytes, and checks the connection's invariants. The two are
/// driven through different APIs that must agree: one gets `handle_input` and
/// `poll_event` and answers messages with `send_binary` + `poll_transmit`; the
/// other reads into `input_buffer` and takes `poll_event_borrowed`, answers with
/// `send_shared` and writes with `transmit_chunks` + `advance_transmit` in
/// partial writes until drained. Events and output bytes must be the same, and
/// no message (whole, or the sum of its fragments in streaming mode) is longer
/// than the limit, inflated or not. Both connections are built by `make` from
/// `config`.
pub(crate) fn drive(config: &Config, make: impl Fn(Config) -> Connection, data: &[u8]) {
    let (sizes, input) = data.split_at(data.len().min(4));
    let max_message_size = config.limits.max_message_size;
    let mut message_len = 0u64;
    let (mut plain, mut fast) = (make(config.clone()), make(config.clone()));
    let mut rest = input;
    let mut i = 0;
    let mut events = 0;
    let mut out_plain = BytesMut::new();
    let mut out_fast: Vec<u8> = Vec::new();
    while !rest.is_empty() {
        let size = |k: usize| usize::from(sizes.get(k % sizes.len().max(1)).copied().unwrap_or(0));
        let step = size(i) + 1;
        let (chunk, tail) = rest.split_at(step.min(rest.len()));
        plain.handle_input(chunk);
        fast.input_buffer().extend_from_slice(chunk);
        loop {
            let a = plain.poll_event();
            let b = fast.poll_event_borrowed().map(EventRef::into_owned);
            assert_eq!(a, b);
            let Some(event) = a else { break };
            match &event {
                Event::Text(text) => message_len = text.len() as u64,
                Event::Binary(data) => message_len = data.len() as u64,
                Event::Fragment(f) => {
                    message_len = if f.first { 0 } else { message_len };
                    message_len += f.data.len() as u64;
                }
                _ => {}
            }
            assert!(message_len <= max_message_size, "{message_len} bytes");
            if let Event::Binary(data) = &event
                && plain.send_binary(data).is_ok()
            {
                fast.send_shared(MessageKind::Binary, data.clone()).unwrap();
            }
            if matches!(event, Event::Closed { .. }) {
                assert_eq!(plain.state(), State::Closed);
                assert_eq!(fast.state(), State::Closed);
            }
            events += 1;
            assert!(events < 1 << 20);
        }
        plain.poll_transmit(&mut out_plain);
        // A transport that takes at most `limit` bytes per vectored write, written
        // to until the output is drained (as `poll_transmit` drains the other).
        let limit = size(i + 1) * 64 + 1;
        while fast.wants_transmit() {
            let pending: usize = fast.transmit_chunks().map(<[u8]>::len).sum();
            assert_eq!(fast.buffered_amount(), pending);
            let mut taken = 0;
            for chunk in fast.transmit_chunks() {
                let n = chunk.len().min(limit - taken);
                out_fast.extend_from_slice(&chunk[..n]);
                taken += n;
                if taken == limit {
                    break;
                }
            }
            assert!(taken > 0);
            fast.advance_transmit(taken);
        }
        assert_eq!(fast.buffered_amount(), 0);
        assert_eq!(out_fast, out_plain);
        out_fast.clear();
        out_plain.clear();
        rest = tail;
        i += 1;
    }
    for conn in [&mut plain, &mut fast] {
        conn.handle_eof();
        while conn.poll_event().is_some() {}
        assert_eq!(conn.state(), State::Closed);
        assert!(conn.send_text("x").is_err());
    }
}

/// A server connection (expects masked frames) under fuzzed input.
pub fn connection_server(data: &[u8]) {
    drive(&small_config(), Connection::server, data);
}

/// A client connection (expects unmasked frames) under fuzzed input.
pub fn connection_client(data: &[u8]) {
    drive(
        &small_config(),
        |c| Connection::client(c, || [1, 2, 3, 4]),
        data,
    );
}

/// The configuration of the connection targets: small limits, so that the
/// fuzzer reaches them.
pub(crate) fn small_config() -> Config {
    Config {
        limits: Limits {
            max_frame_size: 1 << 16,
            max_message_size: 1 << 18,
            max_fragments: 64,
        },
        ..Config::default()
    }
}
