//! RFC 6455 WebSocket: frames, masking, message reassembly and the connection
//! state machine.
//!
//! Layers, lowest first: [`frame`] (bytes ↔ [`FrameHeader`], [`mask`]),
//! [`message`] (reassembly and incremental UTF-8), [`connection`] (close
//! handshake, ping/pong, timers). Lower layers never import higher ones.

pub mod close;
pub mod connection;
pub mod error;
pub mod extension;
pub mod frame;
pub mod mask;
pub mod message;
mod role;

pub use close::CloseCode;
pub use connection::{Config, Connection, Event, MaskSource, State};
pub use error::{ApiMisuse, ProtocolError};
pub use frame::{FrameHeader, Opcode};
pub use role::Role;
