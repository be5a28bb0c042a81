//! # socketwire
//!
//! Sans-IO codecs and state machines for the real-time web's wire protocols:
//! RFC 6455 WebSocket (with RFC 7692 permessage-deflate), Engine.IO v3/v4 and
//! Socket.IO v4/v5. Bytes in, events out, bytes out: no sockets, no async runtime,
//! no clock and no random number generator inside the library. Time and mask keys
//! are passed in by the caller.
//!
//! ## Layers
//!
//! ```text
//!   bytes from the socket                                   bytes to the socket
//!          │                                                          ▲
//!          ▼                                                          │
//!   handshake::ServerHandshake ── leftover bytes ──┐                  │
//!                                                  ▼                  │
//!   ws::frame   (FrameHeader, masking)  ◄──  ws::connection  ──► poll_transmit
//!   ws::message (reassembly, UTF-8)            │   ▲
//!                                              ▼   │ send_text / ping / close
//!                                         poll_event (Text, Binary, Ping, Close…)
//! ```
//!
//! `engineio` and `socketio` are siblings of `ws`: they import neither `ws` nor
//! each other, so they can sit on any transport.
//!
//! ## Features
//!
//! | feature    | default | what it adds |
//! |------------|---------|--------------|
//! | `std`      | yes     | `std::error::Error` impls; without it the crate is `no_std` + `alloc` |
//! | `deflate`  | yes     | RFC 7692 permessage-deflate (flate2 on zlib-rs) |
//! | `json`     | yes     | serde / serde_json for Engine.IO open packets and Socket.IO data |
//! | `getrandom`| no      | an OS-random [`ws::MaskSource`] default |
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod status;
pub use status::Status;

pub mod handshake;
pub mod ws;

#[cfg(feature = "deflate")]
pub mod deflate;

pub mod engineio;
pub mod socketio;

#[doc(hidden)]
pub mod fuzzing;
