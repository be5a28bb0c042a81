//! Fuzz harnesses for the opening handshake.

use alloc::string::String;
use alloc::vec::Vec;
use bytes::BytesMut;

use crate::Status;
use crate::handshake::{
    AcceptOptions, ClientHandshake, ClientRequest, HandshakeError, HeadStorage, HeaderLimits,
    HeaderSlots, HttpVersion, RequestHead, RequestParser, ServerHandshake,
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

/// What a server made of one request: the head as read, and every byte it wrote
/// (the 101 or the error response). Equal for the owned and the borrowed storage.
#[derive(Debug, PartialEq)]
struct Served {
    method: String,
    path: String,
    version: HttpVersion,
    headers: Vec<(String, Vec<u8>)>,
    leftover: Vec<u8>,
    content_length: Result<Option<u64>, HandshakeError>,
    is_websocket_upgrade: bool,
    protocols: Vec<String>,
    extensions: Vec<OwnedOffer>,
    out: BytesMut,
}

/// An extension offer as (name, parameters as (name, value)), owned.
type OwnedOffer = (String, Vec<(String, Option<String>)>);

const LIMITS: HeaderLimits = HeaderLimits {
    max_header_bytes: 4096,
    max_headers: 32,
};

/// Server side: one parser fed random chunks (owned heads), another fed the growing
/// buffer at the same boundaries (borrowed heads), small limits to reach the caps;
/// then validation and the 101 or error response. Both storages must agree on
/// everything, call after call.
pub fn request(data: &[u8]) {
    let input = data.get(1..).unwrap_or_default();
    let mut owned = RequestParser::with_limits(LIMITS);
    let mut borrowed = RequestParser::with_limits(LIMITS);
    let mut end = 0;
    for chunk in chunks(data) {
        end += chunk.len();
        let from_owned = owned.handle_input(chunk).map(|status| {
            assert!(owned.buffered_len() <= LIMITS.max_header_bytes);
            status.complete().map(|head| {
                assert!(head.leftover().len() <= chunk.len());
                serve(head)
            })
        });
        let buffer = input.get(..end).unwrap_or_default();
        let mut slots = HeaderSlots::new();
        let from_borrowed = borrowed.parse_borrowed(buffer, &mut slots).map(|status| {
            status.complete().map(|head| {
                assert_eq!(head.len() + head.leftover().len(), buffer.len());
                serve(head)
            })
        });
        assert_eq!(from_owned, from_borrowed);
        match from_owned {
            Ok(None) => {}
            Ok(Some(_)) => return,
            Err(error) => {
                assert!(matches!(error.status(), 400 | 426 | 431));
                let mut out = BytesMut::new();
                error.write_response(&mut out);
                assert!(out.ends_with(b"\r\n\r\n"));
                return;
            }
        }
    }
}

/// Reads everything the API shows of `head`, validates it and answers it.
fn serve<S: HeadStorage>(head: RequestHead<S>) -> Served {
    let mut served = Served {
        method: head.method().into(),
        path: head.path().into(),
        version: head.version(),
        headers: head
            .headers()
            .map(|(n, v)| (n.into(), v.to_vec()))
            .collect(),
        leftover: head.leftover().to_vec(),
        content_length: head.content_length(),
        is_websocket_upgrade: head.is_websocket_upgrade(),
        protocols: Vec::new(),
        extensions: Vec::new(),
        out: BytesMut::new(),
    };
    let leftover_len = head.leftover().len();
    match ServerHandshake::new(head) {
        Ok(handshake) => {
            served.protocols = handshake.protocols().map(String::from).collect();
            served.extensions = handshake
                .extensions()
                .into_iter()
                .map(|offer| {
                    let params = offer.params.into_iter();
                    let params = params.map(|p| (p.name.into(), p.value.map(String::from)));
                    (offer.name.into(), params.collect())
                })
                .collect();
            let options = AcceptOptions {
                protocol: handshake.protocols().next(),
                extensions: Some("permessage-deflate"),
                headers: &[],
            };
            assert!(handshake.write_accept(&options, &mut served.out).is_ok());
            assert!(served.out.starts_with(b"HTTP/1.1 101 "));
            assert_eq!(handshake.into_leftover().len(), leftover_len);
        }
        Err(error) => {
            assert!(matches!(error.status(), 400 | 426 | 431));
            error.write_response(&mut served.out);
        }
    }
    served
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
