#![doc = include_str!("../README.md")]
//!
//! ## Data flow
//!
//! ```text
//!   bytes from the socket                                   bytes to the socket
//!          │                                                          ▲
//!          ▼                                                          │
//!   handshake::RequestReader ─► ServerHandshake ─ leftover bytes ─┐   │ write_accept (101)
//!                                                                 ▼   │
//!   ws::frame   (FrameHeader, masking)  ◄──  ws::connection  ──► poll_transmit
//!   ws::message (reassembly, UTF-8)            │   ▲
//!                                              ▼   │ send_text / ping / close
//!                                         poll_event (Text, Binary, Ping, Close…)
//! ```
//!
//! `engineio` and `socketio` are siblings of `ws`: they import neither `ws` nor
//! each other, so they can sit on any transport.
#![no_std]
#![deny(unsafe_code)] // ws::mask::simd alone allows it (SIMD dispatch)
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
