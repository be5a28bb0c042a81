#![doc = include_str!("../README.md")]
//!
//! ## Data flow
//!
//! ```text
//!   bytes from the socket                                   bytes to the socket
//!          │                                                          ▲
//!          ▼                                                          │
//!   handshake::RequestParser ─► ServerHandshake ─ leftover bytes ─┐   │ write_accept (101)
//!                                                                 ▼   │
//!   ws::frame   (FrameHeader, masking)  ◄──  ws::connection  ──► poll_transmit
//!   ws::message (reassembly, UTF-8)            │   ▲
//!                                              ▼   │ send_text / ping / close
//!                                         poll_event (Text, Binary, Ping, Close…)
//! ```
//!
//! `engineio` and `socketio` are siblings of `ws`: they import neither `ws` nor
//! each other, so they can sit on any transport.
//!
//! ## Cargo features
//!
//! The features follow the layers; all are on by default, and each builds alone.
//!
//! | feature | module | needs |
//! |---|---|---|
//! | (always) | [`ws`]: frames, masking, messages, the connection state machine | `bytes`, `simdutf8` |
//! | `std` | error trait impls, OS-backed helpers; without it the crate is `no_std` + `alloc` | |
//! | `handshake` | `handshake`: the HTTP/1.1 opening handshake, server and client | `httparse`, `sha1`, `base64` |
//! | `deflate` | `deflate`: RFC 7692 permessage-deflate (implies `std`, `handshake`) | `flate2` (zlib-rs) |
//! | `engineio` | `engineio`: Engine.IO v3/v4 packets, payloads, sessions | `base64` |
//! | `json` | typed Engine.IO open packets; required by `socketio` | `serde`, `serde_json` |
//! | `socketio` | `socketio`: Socket.IO v4/v5 packets, attachments, sessions (implies `json`) | |
//! | `getrandom` | `ws::OsRandomMask`, an OS-random mask source for clients | `getrandom` |
//! | `http` | `handshake` from and to the `http` crate's types (hyper, axum): `ServerHandshake::from_http`, `accept_response`, `HandshakeError::to_response`, `ClientHandshake::to_request` / `check_response` (implies `std`, `handshake`) | `http` |
#![no_std]
#![deny(unsafe_code)] // ws::mask::simd alone allows it (SIMD dispatch)
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod status;
pub use status::Status;
mod utf8_bytes;
pub use utf8_bytes::Utf8Bytes;

#[cfg(feature = "handshake")]
pub mod handshake;
pub mod ws;

#[cfg(feature = "deflate")]
pub mod deflate;

#[cfg(feature = "engineio")]
pub mod engineio;
#[cfg(feature = "socketio")]
pub mod socketio;

// The harnesses behind `fuzz/`: built when cargo-fuzz sets `cfg(fuzzing)`, and in the
// crate's own tests; never part of the public API.
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod fuzzing;
