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
mod read;
mod role;
mod transmit;

pub use close::CloseCode;
#[cfg(feature = "getrandom")]
pub use connection::OsRandomMask;
pub use connection::{ClosedBy, Config, Connection, Event, EventRef, Fragment, MaskSource, State};
pub use error::{ApiMisuse, ProtocolError};
pub use frame::{FrameHeader, Opcode};
pub use message::{Limits, MessageKind};
pub use role::Role;
