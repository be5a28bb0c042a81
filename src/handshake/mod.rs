//! The HTTP/1.1 opening handshake (RFC 6455 §4), server and client side.
//!
//! Sans-IO like the rest of the crate: bytes read from the socket go in through
//! `handle_input`, responses are written into the caller's [`BytesMut`](bytes::BytesMut),
//! and the bytes that arrived after the head (the first WebSocket frames) come back as
//! `leftover` [`Bytes`](bytes::Bytes), to be handed to the WebSocket connection.
//!
//! - [`RequestParser`] reads any HTTP/1.x request head from chunks of any size, in
//!   linear time, with caps ([`HeaderLimits`]), into one of two storages:
//!   [`handle_input`](RequestParser::handle_input) gives an owned [`RequestHead`] (a
//!   copy in one allocation, to keep after the input is gone), and
//!   [`parse_borrowed`](RequestParser::parse_borrowed) (or the one-shot
//!   [`RequestHeadRef::parse`]) a borrowed [`RequestHeadRef`] that points into your
//!   buffer and a [`HeaderSlots`] array on your stack (nothing copied or allocated).
//!   Both are [`RequestHead<S>`](RequestHead) over a [`HeadStorage`] ([`Owned`],
//!   [`Borrowed`]): one scanner, one set of accessors. A head also serves plain
//!   `GET`/`POST` routes ([`RequestHead::content_length`] frames a body, and refuses
//!   one framed by `Transfer-Encoding`: 501, or 400 when the length is ambiguous).
//! - [`ServerHandshake`] (owned) and [`ServerHandshakeRef`] (borrowed), again one
//!   generic type, validate an upgrade request (every §4.2.1 rule, written once),
//!   expose what the client offered, and write the `101`
//!   ([`ServerHandshake::write_accept`]). A [`HandshakeError`] says which status to
//!   answer with ([`HandshakeError::status`], [`HandshakeError::write_response`]).
//!   A host HTTP server (hyper, axum…) that parsed the head already uses
//!   [`ServerHandshake::from_parts`].
//! - [`ClientHandshake`] writes the request from a caller-supplied nonce and checks the
//!   response (§4.1).
//! - With the `http` feature, both sides also speak the `http` crate's types, on the
//!   same code: `ServerHandshake::from_http` validates the `Parts` of a request hyper
//!   or axum hands over, `ServerHandshake::accept_response` and
//!   `HandshakeError::to_response` give the `101` or the refusal as an
//!   `http::Response<()>`, and `ClientHandshake::to_request` /
//!   `ClientHandshake::check_response` give the request as an `http::Request<()>` and
//!   check the response's `Parts`.
//! - [`parse_extensions`] parses `Sec-WebSocket-Extensions` (§9.1) in linear time;
//!   [`accept_key`] computes `Sec-WebSocket-Accept`.
//!
//! Mistakes by the caller (choosing a subprotocol the client did not offer, a header
//! value with a line break) are [`HandshakeMisuse`], never a [`HandshakeError`].
//!
//! ## Server flow
//!
//! ```
//! use bytes::BytesMut;
//! use socketwire::Status;
//! use socketwire::handshake::{AcceptOptions, RequestParser, ServerHandshake};
//!
//! // Bytes as they come from the socket, in two reads; the client sent a frame early.
//! let reads: [&[u8]; 2] = [
//!     b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upg",
//!     b"rade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x80",
//! ];
//! let mut parser = RequestParser::new();
//! let mut out = BytesMut::new(); // bytes to write to the socket
//! for chunk in reads {
//!     let head = match parser.handle_input(chunk) {
//!         Ok(Status::Partial) => continue, // read more
//!         Ok(Status::Complete(head)) => head,
//!         Err(error) => { error.write_response(&mut out); break } // then close
//!     };
//!     match head.path() {
//!         "/chat" => match ServerHandshake::new(head) {
//!             Ok(handshake) => {
//!                 handshake.write_accept(&AcceptOptions::default(), &mut out).unwrap();
//!                 let leftover = handshake.into_leftover();
//!                 assert_eq!(&leftover[..], b"\x81\x80"); // feed to the ws connection first
//!             }
//!             Err(error) => error.write_response(&mut out), // 400 or 426, then close
//!         },
//!         _ => out.extend_from_slice(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
//!     }
//! }
//! assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! ```
//!
//! ## Client flow
//!
//! ```
//! use bytes::BytesMut;
//! use socketwire::Status;
//! use socketwire::handshake::{ClientHandshake, ClientRequest};
//!
//! let nonce = [0u8; 16]; // use 16 fresh random bytes per connection
//! let mut client = ClientHandshake::new(&ClientRequest::new("example.com", "/chat", nonce)).unwrap();
//! let mut out = BytesMut::new();
//! client.write_request(&mut out); // write `out` to the socket
//!
//! let response: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Accept: ICX+Yqv66kxgM0FcWaLWlFLwTAI=\r\n\r\n\x81\x00";
//! for chunk in response.chunks(32) {
//!     match client.handle_input(chunk) {
//!         Ok(Status::Partial) => continue,
//!         Ok(Status::Complete(accepted)) => {
//!             assert_eq!(&accepted.leftover[..], b"\x81\x00"); // feed to the ws connection
//!         }
//!         Err(error) => panic!("handshake failed: {error}"), // close the socket
//!     }
//! }
//! ```

mod client;
mod error;
mod extensions;
mod fields;
/// WebSockets over HTTP/2 and HTTP/3: the extended CONNECT (feature `http`).
#[cfg(feature = "http")]
mod h2;
mod head;
mod headers;
/// The handshake from and to the `http` crate's types (feature `http`).
#[cfg(feature = "http")]
mod http;
mod parser;
mod response;
mod server;
mod tokens;

pub use client::{AcceptedResponse, ClientHandshake, ClientRequest};
pub use error::{HandshakeError, HandshakeMisuse};
pub use extensions::{ExtensionOffer, ExtensionParam, parse_extensions};
#[cfg(feature = "http")]
pub use h2::{ExtendedConnect, ExtendedConnectClient, ExtendedConnectError, WEBSOCKET_PROTOCOL};
pub use head::{
    Borrowed, HeadStorage, HeaderLimits, HeaderSlots, HttpVersion, Owned, RequestHead,
    RequestHeadRef,
};
pub use parser::RequestParser;

pub use response::ResponseHead;
pub use server::{AcceptOptions, ServerHandshake, ServerHandshakeRef, validate_request};

use sha1::{Digest, Sha1};

/// The GUID appended to the key before hashing (§1.3).
///
/// ```
/// assert_eq!(socketwire::handshake::WEBSOCKET_GUID.len(), 36);
/// ```
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key`:
/// base64(SHA-1(key ‖ [`WEBSOCKET_GUID`])) (§1.3, §4.2.2). No allocation.
///
/// ```
/// let accept = socketwire::handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ==");
/// assert_eq!(&accept, b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// assert_eq!(std::str::from_utf8(&accept).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[must_use]
pub fn accept_key(key: &[u8]) -> [u8; 28] {
    encode_digest(&key_digest(key))
}

/// SHA-1 of `key ‖ WEBSOCKET_GUID`.
fn key_digest(key: &[u8]) -> [u8; 20] {
    let Ok(key) = <&[u8; 24]>::try_from(key) else {
        let mut sha1 = Sha1::new();
        sha1.update(key);
        sha1.update(WEBSOCKET_GUID.as_bytes());
        return sha1.finalize().into();
    };
    // Every valid key has 24 characters, so the message is 60 bytes and its padding
    // (FIPS 180-4 §5.1.1: a 1 bit, zeros, the length in bits as 64 bits big-endian)
    // makes exactly two blocks; compressing them directly skips the hasher's buffering.
    const INITIAL_HASH: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    const MESSAGE_BITS: u64 = 60 * 8;
    /// The two blocks but for the key: the GUID, the 1 bit, zeros, the length.
    const TEMPLATE: [u8; 128] = {
        let mut blocks = [0u8; 128];
        let guid = WEBSOCKET_GUID.as_bytes();
        let mut i = 0;
        while i < guid.len() {
            blocks[24 + i] = guid[i];
            i += 1;
        }
        blocks[60] = 0x80;
        let bits = MESSAGE_BITS.to_be_bytes();
        let mut i = 0;
        while i < 8 {
            blocks[120 + i] = bits[i];
            i += 1;
        }
        blocks
    };
    let mut blocks: [sha1::digest::generic_array::GenericArray<u8, sha1::digest::consts::U64>; 2] =
        Default::default();
    for (block, template) in blocks.iter_mut().zip(TEMPLATE.chunks_exact(64)) {
        block.copy_from_slice(template);
    }
    blocks[0][..24].copy_from_slice(key);
    let mut state = INITIAL_HASH;
    sha1::compress(&mut state, &blocks);
    let mut digest = [0u8; 20];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// Standard base64 (RFC 4648 §4) of a 20-byte SHA-1 digest: six full 3-byte groups,
/// then two bytes as three characters and one `=`.
fn encode_digest(digest: &[u8; 20]) -> [u8; 28] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let char_at = |sextet: u32| ALPHABET[(sextet & 63) as usize];
    let byte = |i: usize| u32::from(digest.get(i).copied().unwrap_or(0));
    let mut out = [0u8; 28];
    for (group, chars) in out.chunks_exact_mut(4).enumerate() {
        let bits = (byte(3 * group) << 16) | (byte(3 * group + 1) << 8) | byte(3 * group + 2);
        chars.copy_from_slice(&[
            char_at(bits >> 18),
            char_at(bits >> 12),
            char_at(bits >> 6),
            char_at(bits),
        ]);
    }
    // The last group has two bytes: three characters, then padding.
    out[27] = b'=';
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn key_digest_matches_the_hasher(key in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut sha1 = Sha1::new();
            sha1.update(&key);
            sha1.update(WEBSOCKET_GUID.as_bytes());
            let expected: [u8; 20] = sha1.finalize().into();
            prop_assert_eq!(key_digest(&key), expected);
        }

        #[test]
        fn key_digest_of_24_bytes_matches_the_hasher(key in any::<[u8; 24]>()) {
            let mut sha1 = Sha1::new();
            sha1.update(key);
            sha1.update(WEBSOCKET_GUID.as_bytes());
            let expected: [u8; 20] = sha1.finalize().into();
            prop_assert_eq!(key_digest(&key), expected);
        }

        #[test]
        fn digest_encoding_matches_the_base64_crate(digest in any::<[u8; 20]>()) {
            let mut expected = [0u8; 28];
            prop_assert_eq!(STANDARD.encode_slice(digest, &mut expected), Ok(28));
            prop_assert_eq!(encode_digest(&digest), expected);
        }
    }
}
