//! Fuzz harnesses, one function per target; the `fuzz/` targets call these.
//! Each asserts the invariants of its layer (no panic, consumed ≤ input, round trips).
#![allow(missing_docs)]

#[cfg(feature = "deflate")]
pub mod deflate;
pub mod engineio;
pub mod handshake;
pub mod socketio;
pub mod ws;
