//! Fuzz harnesses for the opening handshake.

use bytes::BytesMut;

use crate::Status;
use crate::handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, HeaderLimits, RequestReader, ServerHandshake,
};

/// Splits `data` into a chunk-size seed (first byte) and the input, and yields chunks
/// of pseudo-random sizes derived from the seed.
fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let (seed, mut rest) = match data.split_first() {
        Some((&s, rest)) => (s, rest),
        None => (0, data),
    };
    let mut state = u32::from(seed) | 1;
    core::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        // xorshift; chunk sizes 1..=64, or everything when the seed is 0.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = if seed == 0 {
            rest.len()
        } else {
            (state % 64) as usize + 1
        };
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        Some(chunk)
    })
}

/// Server side: reader (in random chunks, small limits to reach the caps), validation,
/// and the 101 or error response.
pub fn request(data: &[u8]) {
    let input_len = data.len();
    let limits = HeaderLimits {
        max_header_bytes: 4096,
        max_headers: 32,
    };
    let mut reader = RequestReader::with_limits(limits);
    let mut out = BytesMut::new();
    let mut fed = 0;
    for chunk in chunks(data) {
        fed += chunk.len();
        match reader.handle_input(chunk) {
            Ok(Status::Partial) => {
                assert!(reader.buffered_len() <= limits.max_header_bytes);
            }
            Ok(Status::Complete(head)) => {
                assert!(head.leftover().len() <= chunk.len());
                assert!(head.leftover().len() <= input_len);
                let _ = head.content_length();
                let _ = head.is_websocket_upgrade();
                match ServerHandshake::new(head) {
                    Ok(handshake) => {
                        let _ = handshake.extensions();
                        let protocol = handshake.protocols().next();
                        let options = AcceptOptions {
                            protocol,
                            extensions: Some("permessage-deflate"),
                            headers: &[],
                        };
                        assert!(handshake.write_accept(&options, &mut out).is_ok());
                        assert!(out.starts_with(b"HTTP/1.1 101 "));
                        assert!(handshake.into_leftover().len() <= input_len);
                    }
                    Err(error) => {
                        assert!(matches!(error.status(), 400 | 426 | 431));
                        error.write_response(&mut out);
                    }
                }
                return;
            }
            Err(error) => {
                error.write_response(&mut out);
                return;
            }
        }
    }
    assert!(fed <= input_len);
}

/// Client side: the response reader and §4.1 checks, fed in random chunks.
pub fn response(data: &[u8]) {
    let input_len = data.len();
    let request = ClientRequest {
        protocols: &["chat", "superchat"],
        extensions: Some("permessage-deflate; client_max_window_bits, x-test"),
        limits: HeaderLimits {
            max_header_bytes: 4096,
            max_headers: 32,
        },
        ..ClientRequest::new("example.com", "/chat", [0; 16])
    };
    let Ok(mut client) = ClientHandshake::new(&request) else {
        panic!("the fixed request is valid");
    };
    let mut out = BytesMut::new();
    client.write_request(&mut out);
    for chunk in chunks(data) {
        match client.handle_input(chunk) {
            Ok(Status::Partial) => {}
            Ok(Status::Complete(accepted)) => {
                assert!(accepted.leftover.len() <= input_len);
                assert_eq!(accepted.response.status(), 101);
                if let Some(p) = &accepted.protocol {
                    assert!(p == "chat" || p == "superchat");
                }
                return;
            }
            Err(_) => return,
        }
    }
}
