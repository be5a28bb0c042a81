//! The HTTP/1.1 opening handshake (RFC 6455 §4), server and client side.
//!
//! Hands the bytes that follow the handshake to the connection.

mod error;
mod extensions;
pub use error::HandshakeError;
pub use extensions::{ExtensionOffer, ExtensionParam, parse_extensions};
