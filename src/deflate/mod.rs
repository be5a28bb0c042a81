//! RFC 7692 permessage-deflate: negotiation and per-message compression.
//!
//! This module plugs into the connection through the RSV1 hook,
//! [`PerMessageExtension`](crate::ws::extension::PerMessageExtension). It has
//! three parts:
//!
//! - [`DeflateConfig`]: what this endpoint wants (enable, the four RFC 7692
//!   parameters, compression level, a size threshold below which messages are
//!   sent uncompressed).
//! - Negotiation over the parsed `Sec-WebSocket-Extensions` list
//!   ([`ExtensionOffer`](crate::handshake::ExtensionOffer)):
//!   - client: [`DeflateConfig::client_offer`] builds the offer,
//!     [`DeflateConfig::accept_response`] validates the server's answer and
//!     returns a client-role [`PerMessageDeflate`];
//!   - server: [`DeflateConfig::accept_offers`] picks the first acceptable offer
//!     and returns the response entry plus a server-role [`PerMessageDeflate`]
//!     ([`DeflateConfig::accept_offer`] judges a single offer and says why it
//!     declines).
//! - [`PerMessageDeflate`]: the per-connection compressor and decompressor.
//!
//! ```
//! use socketwire::deflate::DeflateConfig;
//! use socketwire::handshake::{ExtensionOffer, ExtensionParam};
//! use socketwire::ws::extension::PerMessageExtension;
//! use bytes::BytesMut;
//!
//! let client_config = DeflateConfig::default();
//! let server_config = DeflateConfig::default();
//! // Client → server: the offer (normally parsed from the request header).
//! assert_eq!(
//!     client_config.client_offer().as_deref(),
//!     Some("permessage-deflate; client_max_window_bits")
//! );
//! let offers = [ExtensionOffer {
//!     name: "permessage-deflate".into(),
//!     params: vec![ExtensionParam { name: "client_max_window_bits".into(), value: None }],
//! }];
//! let accepted = server_config.accept_offers(&offers).unwrap();
//! assert_eq!(accepted.response, "permessage-deflate");
//! let mut server = accepted.extension;
//! // Server → client: the response, validated by the client.
//! let response = [ExtensionOffer { name: "permessage-deflate".into(), params: vec![] }];
//! let mut client = client_config.accept_response(&response).unwrap().unwrap();
//!
//! let mut wire = BytesMut::new();
//! client.encode(b"Hello, Hello, Hello", true, &mut wire);
//! let mut message = BytesMut::new();
//! server.decode(&wire, true, &mut message, 1 << 20).unwrap();
//! assert_eq!(&message[..], b"Hello, Hello, Hello");
//! ```
//!
//! # Window bits 8
//!
//! RFC 7692 allows window bits 8–15, but zlib (and zlib-rs, flate2's backend
//! here) cannot run a raw deflate stream with a 256-byte window: zlib turns a
//! request for 8 into 9 (`deflateInit2` documentation) and flate2 only accepts
//! 9–15. socketwire handles it as follows (RFC 7692 §7.1.2.1 practice, as in
//! several peers):
//!
//! - Negotiation is faithful: a `server_max_window_bits=8` offer is accepted and
//!   answered with `8`; a client accepts `client_max_window_bits=8`. We never
//!   upgrade 8 to 9 on the wire (the RFC forbids answering with a larger value).
//! - Inflating: a peer limited to 8 is inflated with a 9-bit window. A larger
//!   inflate window accepts every stream a smaller one does. (zlib-rs in fact
//!   keeps a 32 KiB inflate window whatever the bits, so a peer that refers
//!   further back than it agreed is tolerated, not rejected; memory use is the
//!   same either way.)
//! - Deflating: when our window is limited to 8 we compress with a 9-bit
//!   zlib-rs state. zlib's matcher never emits a distance larger than
//!   `window − 262` (`MAX_DIST`, here 512 − 262 = 250 bytes), so the stream
//!   only references the last 256 bytes and a peer with a 256-byte window can
//!   inflate it. `tests/deflate_window_bits.rs` checks this with an independent
//!   deflate parser that records the largest distance used.

mod config;
mod error;
mod negotiation;
mod per_message;
mod pool;

pub use config::DeflateConfig;
pub use error::NegotiationError;
pub use negotiation::{AcceptedOffer, DeflateParams, EXTENSION_NAME};
pub use per_message::PerMessageDeflate;
pub use pool::DeflatePool;
