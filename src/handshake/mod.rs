//! The HTTP/1.1 opening handshake (RFC 6455 §4), server and client side.
//!
//! Hands the bytes that follow the handshake to the connection.

mod extensions;
pub use extensions::{ExtensionOffer, ExtensionParam};
