//! Fuzz harnesses, one function per target; the `fuzz/` targets call these.
//! Each asserts the invariants of its layer (no panic, consumed ≤ input, round trips).
#![allow(missing_docs)]

pub mod handshake;
pub mod ws;
